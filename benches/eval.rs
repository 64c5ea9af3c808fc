//! Benchmark: evaluate and validate a generated blueprint of about 1,000
//! resources (`cargo bench --bench eval`). Prints the timings; no assertion.

use blueprint::script::{evaluate, Options};
use std::fmt::Write;
use std::time::{Duration, Instant};

/// A VPC with two blocks, 400 subnets, 300 security groups with rules,
/// 40 KMS keys, a cluster with 200 node groups and 50 buckets.
fn generate() -> String {
    let mut s = String::new();
    s.push_str("tags(#{ team: \"bench\" });\n");
    s.push_str(
        "let v = vpc(\"bench\", #{ cidr: \"10.0.0.0/16\", secondary_cidrs: [\"10.1.0.0/16\"], azs: 3,\n\
         public_subnets: [\"10.0.0.0/24\", \"10.0.1.0/24\", \"10.0.2.0/24\"],\n\
         private_subnets: [\"10.0.4.0/22\", \"10.0.8.0/22\", \"10.0.12.0/22\"], nat: \"one_per_az\" });\n",
    );
    let zones = ["us-east-1a", "us-east-1b", "us-east-1c"];
    for i in 0..400 {
        let (block, n) = if i < 200 { (1, i) } else { (0, i - 200 + 64) };
        let cidr = format!("10.{block}.{}.{}/26", n / 4, (n % 4) * 64);
        let _ = writeln!(
            s,
            "let s{i} = subnet(v, \"extra-{i}\", #{{ cidr: \"{cidr}\", az: \"{}\" }});",
            zones[i % 3]
        );
    }
    for i in 0..300 {
        let src = if i == 0 {
            "\"self\"".to_string()
        } else {
            format!("g{}", i - 1)
        };
        let _ = writeln!(
            s,
            "let g{i} = security_group(v, \"group-{i}\", #{{ ingress: [rule(#{{ protocol: \"tcp\", port: {}, cidr: \"10.0.0.0/8\" }}), rule(#{{ protocol: \"tcp\", port: 443, source: {src} }})] }});",
            1000 + i
        );
    }
    for i in 0..40 {
        let _ = writeln!(
            s,
            "let k{i} = kms_key(\"key-{i}\", #{{ alias: \"bench/key-{i}\" }});"
        );
    }
    s.push_str("let c = cluster(\"bench\", #{ version: \"1.29\", vpc: v, subnets: v.private_subnets, secrets_key: k0 });\n");
    for i in 0..200 {
        let _ = writeln!(
            s,
            "c.node_group(\"ng-{i}\", #{{ instance_types: [\"m6i.large\"], min: 0, max: {}, desired: 1, labels: #{{ pool: \"p{i}\" }}, subnets: [s{}, s{}] }});",
            2 + i % 5,
            i,
            i + 1
        );
    }
    for i in 0..50 {
        let _ = writeln!(
            s,
            "s3_bucket(\"bench-bucket-{i}\", #{{ versioning: true, encryption_key: k{} }});",
            i % 40
        );
    }
    s
}

fn main() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("bench.rhai");
    std::fs::write(&path, generate()).expect("write");
    let options = Options {
        region: "us-east-1".into(),
        ..Options::default()
    };
    let first = evaluate(&path, &options).unwrap_or_else(|e| panic!("{}", e.render()));
    let resources = first.graph.len();
    let runs = 20;
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            let e = evaluate(&path, &options).expect("evaluates");
            assert_eq!(e.graph.len(), resources);
            t.elapsed()
        })
        .collect();
    report("evaluate + validate", resources, &mut times);

    // Lint (19 rules) and the cost estimate of the same graph.
    let today = blueprint::lint::Date::ymd(2026, 11, 21);
    let prices = blueprint::cost::Prices::embedded();
    let mut lint_times = Vec::new();
    let mut cost_times = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        let findings = blueprint::lint::lint(&first.graph, &first.lint, &first.sources, today);
        std::hint::black_box(findings);
        lint_times.push(t.elapsed());
        let t = Instant::now();
        let b = blueprint::cost::breakdown(
            first.graph.iter().map(|r| (&r.address, &r.spec)),
            "us-east-1",
            &prices,
            today,
        );
        std::hint::black_box(b.total());
        cost_times.push(t.elapsed());
    }
    report("lint", resources, &mut lint_times);
    report("cost estimate", resources, &mut cost_times);
}

fn report(what: &str, resources: usize, times: &mut [Duration]) {
    times.sort();
    let runs = times.len();
    println!(
        "{what}, {resources} resources, {runs} runs: min {:.1} ms, median {:.1} ms, max {:.1} ms",
        times[0].as_secs_f64() * 1e3,
        times[runs / 2].as_secs_f64() * 1e3,
        times[runs - 1].as_secs_f64() * 1e3
    );
}
