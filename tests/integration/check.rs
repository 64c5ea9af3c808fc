//! `bp check`: what a user sees for good blueprints, and the usage errors.

use crate::harness::{repo, Test};

const SMALL: &str = r#"
    let v = vpc("demo", #{
        cidr: "10.0.0.0/16",
        azs: 2,
        public_subnets: ["10.0.1.0/24", "10.0.2.0/24"],
        private_subnets: ["10.0.10.0/24", "10.0.11.0/24"],
    });
    let c = cluster("demo", #{ version: "1.29", vpc: v, subnets: v.private_subnets, irsa: false });
    c.node_group("app", #{ instance_types: ["m6i.large"], min: 1, max: 3, desired: var("desired", 2) });
"#;

#[test]
fn counts_resources_per_kind_and_says_ok() {
    Test::new()
        .file("bp.rhai", SMALL)
        .args(["check", "bp.rhai"])
        .stdout(
            "
                1 vpc
                4 subnet
                1 internet_gateway
                1 elastic_ip
                1 nat_gateway
                2 route_table
                2 iam_role
                1 cluster
                1 node_group
            ok: 14 resources in bp.rhai
            ",
        )
        .stderr("")
        .run();
}

#[test]
fn json_lists_addresses_kinds_dependencies_and_specs() {
    let out = Test::new()
        .file("bp.rhai", SMALL)
        .args(["check", "bp.rhai", "--json", "--var", "desired=3"])
        .run();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let resources = v["resources"].as_array().expect("resources");
    let find = |a: &str| {
        resources
            .iter()
            .find(|r| r["address"] == a)
            .unwrap_or_else(|| panic!("no {a}"))
    };
    let subnet = find("subnet.demo/private-a");
    assert_eq!(subnet["kind"], "subnet");
    assert_eq!(subnet["spec"]["cidr"], "10.0.10.0/24");
    assert_eq!(subnet["spec"]["az"], "us-east-1a");
    assert_eq!(subnet["spec"]["vpc"]["$ref"], "vpc.demo.id");
    assert_eq!(subnet["depends_on"], serde_json::json!(["vpc.demo"]));
    let ng = find("node_group.demo/app");
    assert_eq!(
        ng["spec"]["scaling"],
        serde_json::json!({"min": 1, "max": 3, "desired": 3})
    );
    assert_eq!(ng["spec"]["capacity_type"], "ON_DEMAND");
    let deps: Vec<&str> = ng["depends_on"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_str().unwrap())
        .collect();
    assert!(
        deps.contains(&"cluster.demo") && deps.contains(&"iam_role.demo-node"),
        "{deps:?}"
    );
    let rt = find("route_table.demo/private");
    assert_eq!(
        rt["spec"]["routes"][0]["nat_gateway"]["$ref"],
        "nat_gateway.demo/a.id"
    );
    assert_eq!(
        find("cluster.demo")["spec"]["role"]["$ref"],
        "iam_role.demo-cluster.arn"
    );
}

#[test]
fn every_seed_blueprint_checks() {
    let dir = repo().join("blueprints");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).unwrap().flatten() {
        let p = e.path();
        let test_file = p.to_string_lossy().ends_with(".test.rhai");
        if p.extension().is_some_and(|x| x == "rhai") && !test_file {
            Test::new()
                .current_dir(repo())
                .args(["check".to_string(), p.to_string_lossy().to_string()])
                .stdout_contains("ok: ")
                .run();
            n += 1;
        }
    }
    assert!(n >= 1, "no blueprints found");
}

#[test]
fn pms_blueprint_switches_environment_with_a_var() {
    Test::new()
        .current_dir(repo())
        .args(["check", "blueprints/pms.rhai", "--var", "env=dev"])
        .stdout_contains("    1 node_group\n")
        .stdout_contains("    4 subnet\n")
        .run();
    Test::new()
        .current_dir(repo())
        .args(["check", "blueprints/pms.rhai"])
        .stdout_contains("    3 node_group\n")
        .stdout_contains("    3 nat_gateway\n")
        .run();
}

#[test]
fn security_groups_may_refer_to_each_other() {
    let out = Test::new()
        .file(
            "bp.rhai",
            r#"
            let v = vpc("demo", #{ cidr: "10.0.0.0/16" });
            let cp = security_group(v, "control-plane");
            let workers = security_group(v, "workers", #{
                ingress: [rule(#{ protocol: "tcp", port: 10250, source: cp }),
                          rule(#{ protocol: "all", source: "self" })],
            });
            cp.add_ingress(rule(#{ protocol: "tcp", port: 443, source: workers }));
            "#,
        )
        .args(["check", "bp.rhai", "--json"])
        .run();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let cp = v["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["address"] == "security_group.demo/control-plane")
        .unwrap();
    assert_eq!(
        cp["after_create"],
        serde_json::json!(["security_group.demo/workers"])
    );
    assert_eq!(cp["depends_on"], serde_json::json!(["vpc.demo"]));
    assert_eq!(cp["spec"]["ingress"][0]["from_port"], 443);
    assert_eq!(cp["spec"]["egress"][0]["protocol"], "all");
}

#[test]
fn imports_stdlib_and_local_modules() {
    Test::new()
        .file(
            "lib/naming.rhai",
            r#"
            fn bucket(env) { "demo-" + env + "-backups" }
            "#,
        )
        .file(
            "bp.rhai",
            r#"
            import "net" as net;
            import "lib/naming" as naming;
            let cidrs = net::split("10.0.8.0/21", 3);
            print(cidrs);
            let v = vpc("demo", #{ cidr: "10.0.0.0/16", private_subnets: cidrs, nat: "none" });
            s3_bucket(naming::bucket("prod"), #{ versioning: true });
            "#,
        )
        .args(["check", "bp.rhai"])
        .stdout_contains("    3 subnet\n")
        .stdout_contains("    1 s3_bucket\n")
        .stderr("[\"10.0.8.0/23\", \"10.0.10.0/23\", \"10.0.12.0/23\"]\n")
        .run();
}

#[test]
fn the_standard_cluster_preset_builds_a_platform() {
    let out = Test::new()
        .file(
            "bp.rhai",
            r#"
            import "eks" as eks;
            let p = eks::standard_cluster("demo", #{ version: "1.30", azs: 2 });
            p.cluster.node_group("batch", #{ instance_types: ["c6i.large"], min: 0, max: 4, desired: 0 });
            "#,
        )
        .args(["check", "bp.rhai", "--json"])
        .run();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let addrs: Vec<&str> = v["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["address"].as_str().unwrap())
        .collect();
    for a in [
        "vpc.demo",
        "subnet.demo/private-b",
        "cluster.demo",
        "node_group.demo/default",
        "node_group.demo/batch",
        "oidc_provider.demo",
    ] {
        assert!(addrs.contains(&a), "{a} missing from {addrs:?}");
    }
}

#[test]
fn region_comes_from_the_flag_then_the_environment() {
    let bp = r#"
        vpc("demo", #{ cidr: "10.0.0.0/16", azs: 2, private_subnets: ["10.0.1.0/24", "10.0.2.0/24"], tags: #{ region: region() } });
    "#;
    let t = Test::new().file("bp.rhai", bp).args([
        "check",
        "bp.rhai",
        "--json",
        "--region",
        "eu-west-1",
    ]);
    let out = t.run();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("\"az\": \"eu-west-1b\""), "{text}");
    let out = Test::new()
        .file("bp.rhai", bp)
        .env("AWS_REGION", "ap-south-1")
        .args(["check", "bp.rhai", "--json"])
        .run();
    assert!(String::from_utf8_lossy(&out.stdout).contains("\"region\": \"ap-south-1\""));
}

#[test]
fn usage_errors_exit_1() {
    Test::new()
        .args(["check"])
        .status(1)
        .stderr_contains("FILE")
        .run();
    Test::new()
        .args(["frobnicate"])
        .status(1)
        .stderr_contains("unrecognized subcommand")
        .run();
    Test::new()
        .file("bp.rhai", "kms_key(\"k\");")
        .args(["check", "bp.rhai", "--var", "novalue"])
        .status(1)
        .stderr("error: a --var is not KEY=VALUE (it has no `=`)\n")
        .run();
    Test::new()
        .args(["check", "missing.rhai"])
        .status(1)
        .stderr_contains("error: cannot read missing.rhai: No such file")
        .run();
    Test::new()
        .args(["--help"])
        .stdout_contains("Usage: bp")
        .run();
}

#[test]
fn print_goes_to_stderr_and_stdout_stays_clean() {
    Test::new()
        .file("bp.rhai", "print(\"hello\"); kms_key(\"k\");")
        .args(["check", "bp.rhai", "--json"])
        .stderr("hello\n")
        .stdout_contains("\"address\": \"kms_key.k\"")
        .run();
}

#[test]
fn reserved_rhai_words_work_as_option_keys_and_functions() {
    Test::new()
        .file(
            "bp.rhai",
            r#"
            let v = vpc("demo", #{ cidr: "10.0.0.0/16", azs: 2, private_subnets: ["10.0.1.0/24", "10.0.2.0/24"] });
            let c = cluster("demo", #{ version: "1.29", vpc: v, subnets: v.private_subnets,
                                       endpoint: #{ public: false, private: true } });
            let default = var("default", "x");
            "#,
        )
        .args(["check", "bp.rhai"])
        .stdout_contains("ok: ")
        .run();
}

#[test]
fn several_validation_errors_are_all_reported() {
    Test::new()
        .file(
            "bp.rhai",
            r#"
            let v = vpc("demo", #{ cidr: "10.0.0.0/16", azs: 2, private_subnets: ["10.0.1.0/24", "10.9.0.0/24"] });
            subnet(v, "x", #{ cidr: "10.0.1.128/25", az: "us-east-1a" });
            "#,
        )
        .args(["check", "bp.rhai"])
        .status(1)
        .stderr_contains("error: subnet 10.9.0.0/24 of subnet.demo/private-b is outside")
        .stderr_contains("error: subnet 10.0.1.128/25 of subnet.demo/x overlaps subnet 10.0.1.0/24")
        .run();
}

/// `account_id()` and `azs()` read AWS in plan (once per run), and stand
/// for placeholders in `bp check`, which says so.
#[test]
fn account_id_and_azs_are_read_from_aws_in_plan_and_placeholders_in_check() {
    let script = r#"
let zones = azs();
vpc("net", #{ cidr: "10.0.0.0/16", azs: [zones[0], zones[1]], private_subnets: ["10.0.1.0/24", "10.0.2.0/24"] });
iam_role("ops", #{ trust_policy: #{ Version: "2012-10-17", Statement: [#{ Effect: "Allow",
    Principal: #{ AWS: "arn:aws:iam::" + account_id() + ":root" }, Action: "sts:AssumeRole" }] } });
let again = account_id();
"#;
    Test::new()
        .file("bp.rhai", script)
        .args(["check", "bp.rhai", "--json"])
        .stdout_contains("arn:aws:iam::000000000000:root")
        .stdout_contains("us-east-1a")
        .stderr_contains("note: account_id() stands for a placeholder here: bp check reads no AWS")
        .stderr_contains("note: azs() stands for a placeholder here")
        .run();
    Test::new()
        .file("bp.rhai", script)
        .args(["graph", "bp.rhai"])
        .stderr_contains("note: account_id() stands for a placeholder here: bp graph reads no AWS")
        .run();
    let m = crate::moto::Moto::start();
    let out = Test::new()
        .file("bp.rhai", script)
        .moto(&m)
        .args(["plan", "bp.rhai"])
        .stdout_contains("arn:aws:iam::123456789012:root")
        .stdout_contains("subnet.net/private-a")
        .run();
    assert!(String::from_utf8_lossy(&out.stderr).is_empty());
}

/// The stdlib's EFS StorageClass: the EFS CSI driver's provisioner, one
/// access point per claim, the file system's id from its handle.
#[test]
fn stdlib_efs_storage_class() {
    let script = r#"
import "k8s" as k8s;
let v = vpc("demo", #{ cidr: "10.0.0.0/16", azs: 2, private_subnets: ["10.0.10.0/24", "10.0.11.0/24"] });
let c = cluster("demo", #{ version: "1.29", vpc: v, subnets: v.private_subnets });
let fs = efs("shared", #{ vpc: v, subnets: v.private_subnets });
k8s::efs_storage_class(c, "efs", fs, #{ uid: 1001, default: true });
"#;
    let out = Test::new()
        .file("bp.rhai", script)
        .args(["check", "bp.rhai", "--json"])
        .run();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let sc = v["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["kind"] == "storage_class")
        .expect("a storage class");
    let spec = &sc["spec"];
    assert_eq!(spec["provisioner"], "efs.csi.aws.com");
    assert_eq!(spec["parameters"]["provisioningMode"], "efs-ap");
    assert_eq!(spec["parameters"]["fileSystemId"]["$ref"], "efs.shared.id");
    assert_eq!(spec["parameters"]["uid"], "1001");
    assert_eq!(spec["parameters"]["gid"], "1000");
    assert_eq!(spec["parameters"]["directoryPerms"], "700");
    assert_eq!(spec["parameters"]["basePath"], "/dynamic");
    assert_eq!(
        spec["annotations"]["storageclass.kubernetes.io/is-default-class"], "true",
        "{spec}"
    );
}

/// The README's figures for the main job come from `bp check`: how many
/// resources the PMS seed declares, in AWS, in the cluster and as Helm
/// releases.
#[test]
fn the_readme_counts_the_main_jobs_resources_as_bp_check_does() {
    let out = Test::new()
        .current_dir(repo())
        .args([
            "check",
            "blueprints/pms.rhai",
            "--var",
            "env=prod",
            "--json",
        ])
        .run();
    let checked: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let kinds: Vec<&str> = checked["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["kind"].as_str().unwrap())
        .collect();
    let helm = kinds.iter().filter(|k| **k == "helm_release").count();
    let objects = kinds
        .iter()
        .filter(|k| **k != "helm_release" && crate::lifecycle::IN_CLUSTER.contains(k))
        .count();
    let aws = kinds.len() - helm - objects;
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let said = format!(
        "{} resources, {aws} in AWS, {objects} in-cluster objects and {helm} Helm releases",
        kinds.len()
    );
    assert!(readme.contains(&said), "README.md should say `{said}`");
}

/// `bp check` reports every independent mistake at once, as `terraform
/// validate` does: an unknown option, a bad CIDR block and min above max,
/// in three resources, each at its place; what only follows from one of
/// them (a group in the VPC that failed) is not reported.
#[test]
fn every_independent_error_is_reported_at_once() {
    let out = Test::new()
        .file(
            "bp.rhai",
            r#"
            let a = vpc("a", #{ cidr: "10.0.0.0/16", colour: "blue" });
            let b = vpc("b", #{ cidr: "10.1.0.0/33" });
            let net = vpc("c", #{ cidr: "10.2.0.0/16", azs: 2, private_subnets: ["10.2.1.0/24", "10.2.2.0/24"] });
            let k = cluster("k", #{ version: "1.35", vpc: net, subnets: net.private_subnets });
            k.node_group("n", #{ instance_types: ["m6i.large"], min: 5, max: 2, desired: 3 });
            security_group(a, "web", #{ description: "uses a" });
            "#,
        )
        .args(["check", "bp.rhai"])
        .status(1)
        .stderr_contains("error: unknown option `colour` for vpc\n --> bp.rhai:1:9")
        .stderr_contains("is not an IPv4 CIDR block (expected a.b.c.d/n)\n --> bp.rhai:2:9")
        .stderr_contains("error: min (5) is greater than max (2)\n --> bp.rhai:5:3")
        .run();
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.matches("error:").count(), 3, "{err}");
    // A `throw` ends the script: nothing after it is run.
    Test::new()
        .file(
            "t.rhai",
            "vpc(\"a\", #{ cidr: \"10.0.0.0/33\" });\nthrow \"stop here\";\nvpc(\"b\", #{ cidr: \"10.1.0.0/33\" });\n",
        )
        .args(["check", "t.rhai"])
        .status(1)
        .stderr_contains("--> t.rhai:1:1")
        .stderr_contains("stop here")
        .run();
}
