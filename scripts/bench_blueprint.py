"""A generated blueprint for the benchmarks (scripts/bench-apply.sh,
scripts/bench-paced.sh): a VPC with SUBNETS subnets over two zones, all in
its private route table, GROUPS security groups with a rule each, and a
cluster with NODE_GROUPS node groups.

    python scripts/bench_blueprint.py PATH NAME SUBNETS GROUPS NODE_GROUPS
"""
import sys

path, name = sys.argv[1], sys.argv[2]
subnets, groups, node_groups = map(int, sys.argv[3:6])
lines = [
    f'blueprint_name("{name}");',
    f'let v = vpc("{name}", #{{ cidr: "10.0.0.0/16", azs: 2, public_subnets: ["10.0.0.0/24", "10.0.1.0/24"], '
    'private_subnets: ["10.0.2.0/24", "10.0.3.0/24"], nat: "single" });',
]
zones = ["us-east-1a", "us-east-1b"]
for i in range(subnets):
    lines.append(f'subnet(v, "s{i}", #{{ cidr: "10.0.{8 + i // 4}.{(i % 4) * 64}/26", az: "{zones[i % 2]}" }});')
for i in range(groups):
    lines.append(
        f'security_group(v, "g{i}", #{{ ingress: [rule(#{{ protocol: "tcp", port: {1000 + i}, cidr: "10.0.0.0/8" }})] }});'
    )
lines.append(f'let c = cluster("{name}", #{{ version: "1.29", vpc: v, subnets: v.private_subnets, irsa: false }});')
for i in range(node_groups):
    lines.append(f'c.node_group("ng{i}", #{{ instance_types: ["m6i.large"], min: 0, max: 3, desired: 1 }});')
with open(path, "w") as f:
    f.write("\n".join(lines) + "\n")
