//! Every rule fires on a blueprint that breaks it and stays quiet on one
//! that does not; allows suppress with their reasons.

use super::*;
use crate::script::{Options, Session};
use std::path::Path;

const TODAY: Date = Date::ymd(2026, 11, 21);

/// A VPC with two zones and a private cluster that no rule objects to;
/// `o` is the cluster's options, for cases to change before `cluster(...)`.
const BASE: &str = r#"
let v = vpc("demo", #{ cidr: "10.0.0.0/16", azs: 2, nat: "one_per_az",
    public_subnets: ["10.0.1.0/24", "10.0.2.0/24"], private_subnets: ["10.0.11.0/24", "10.0.12.0/24"] });
let k = kms_key("demo-key", #{});
let o = #{ version: "1.35", vpc: v, subnets: v.private_subnets,
    endpoint: #{ public: false, private: true }, logging: ["api", "audit", "authenticator"], secrets_key: k };
"#;

fn run(script: &str) -> Result<Vec<Finding>, String> {
    let mut s = Session::new(
        &Options {
            region: "us-east-1".into(),
            ..Options::default()
        },
        Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/blueprints")),
    );
    let _ = s.eval("case.rhai", script).map_err(|e| e.to_string())?;
    let g = s.validate().map_err(|e| e.to_string())?;
    Ok(lint(&g, &s.lint_facts(), s.sources(), TODAY))
}

/// Each finding's rule and, when allowed, the reason.
fn reasons(f: &[Finding]) -> Vec<(&str, Option<&str>)> {
    f.iter()
        .map(|f| (f.rule.as_str(), f.suppressed.as_deref()))
        .collect()
}

fn rules_of(script: &str) -> Vec<String> {
    run(script)
        .unwrap_or_else(|e| panic!("{e}\n{script}"))
        .into_iter()
        .filter(|f| f.suppressed.is_none())
        .map(|f| f.rule)
        .collect()
}

/// (rule, a script that breaks it, one that does not); both start from BASE.
const CASES: &[(&str, &str, &str)] = &[
    (
        "BP001",
        r#"o.endpoint = #{ public: true, private: true }; cluster("demo", o);"#,
        r#"o.endpoint = #{ public: true, private: true, public_cidrs: ["203.0.113.0/24"] }; cluster("demo", o);"#,
    ),
    (
        "BP002",
        r#"o.remove("secrets_key"); cluster("demo", o);"#,
        r#"cluster("demo", o);"#,
    ),
    (
        "BP003",
        r#"o.logging = ["api"]; cluster("demo", o);"#,
        r#"cluster("demo", o);"#,
    ),
    (
        "BP004",
        r#"security_group(v, "ssh", #{ ingress: [rule(#{ protocol: "tcp", port: 22, cidr: "0.0.0.0/0" })] });"#,
        r#"security_group(v, "ssh", #{ ingress: [rule(#{ protocol: "tcp", port: 22, cidr: "10.0.0.0/16" }),
                                            rule(#{ protocol: "tcp", port: 443, cidr: "0.0.0.0/0" })] });"#,
    ),
    (
        "BP005",
        r#"o.version = "1.29"; cluster("demo", o);"#,
        r#"cluster("demo", o);"#,
    ),
    (
        "BP006",
        r#"let c = cluster("demo", o); c.node_group("ng", #{ instance_types: ["t3.medium"], min: 1, max: 2, desired: 1, subnets: v.public_subnets });"#,
        r#"let c = cluster("demo", o); c.node_group("ng", #{ instance_types: ["t3.medium"], min: 1, max: 2, desired: 1, subnets: v.private_subnets });"#,
    ),
    (
        "BP007",
        r#"let env = var("env", "prod"); vpc("two", #{ cidr: "10.1.0.0/16", azs: 2, public_subnets: ["10.1.1.0/24", "10.1.2.0/24"], private_subnets: ["10.1.11.0/24", "10.1.12.0/24"], nat: "single" });"#,
        r#"let env = var("env", "prod"); vpc("two", #{ cidr: "10.1.0.0/16", azs: 2, public_subnets: ["10.1.1.0/24", "10.1.2.0/24"], private_subnets: ["10.1.11.0/24", "10.1.12.0/24"], nat: "one_per_az" });"#,
    ),
    (
        "BP008",
        r#"s3_bucket("demo-data-x", #{});"#,
        r#"s3_bucket("demo-data-x", #{ encryption_key: k });"#,
    ),
    (
        "BP009",
        r#"s3_bucket("demo-backups-x", #{ encryption_key: k });"#,
        r#"s3_bucket("demo-backups-x", #{ encryption_key: k, versioning: true });"#,
    ),
    (
        "BP010",
        r#"s3_bucket("demo-x", #{ encryption_key: k, public_access_block: false });"#,
        r#"s3_bucket("demo-x", #{ encryption_key: k });"#,
    ),
    (
        "BP011",
        r#"efs("fs", #{ vpc: v, subnets: v.private_subnets, encrypted: false });"#,
        r#"efs("fs", #{ vpc: v, subnets: v.private_subnets });"#,
    ),
    (
        "BP012",
        r#"rds_postgres("db", #{ vpc: v, subnets: v.private_subnets, instance_class: "db.t4g.medium", engine_version: "16.4", storage_gb: 20, username: "u", password: "p4ssw0rd-long-enough", encrypted: false });"#,
        r#"rds_postgres("db", #{ vpc: v, subnets: v.private_subnets, instance_class: "db.t4g.medium", engine_version: "16.4", storage_gb: 20, username: "u", password: "p4ssw0rd-long-enough" });"#,
    ),
    (
        "BP013",
        r#"tags(#{ environment: "production" }); rds_postgres("db", #{ vpc: v, subnets: v.private_subnets, instance_class: "db.t4g.medium", engine_version: "16.4", storage_gb: 20, username: "u", password: "p4ssw0rd-long-enough" });"#,
        r#"tags(#{ environment: "production" }); rds_postgres("db", #{ vpc: v, subnets: v.private_subnets, instance_class: "db.t4g.medium", engine_version: "16.4", storage_gb: 20, username: "u", password: "p4ssw0rd-long-enough", multi_az: true });"#,
    ),
    (
        "BP014",
        r#"efs("fs", #{ vpc: v, subnets: v.private_subnets });"#,
        r#"let fs = efs("fs", #{ vpc: v, subnets: v.private_subnets }); backup_plan("fs", #{ rules: [#{ name: "daily", cron: "0 2 * * *", retain_days: 7 }], resources: [fs] });"#,
    ),
    (
        "BP015",
        r#"iam_role("r", #{ service: "ec2.amazonaws.com", inline_policies: #{ p: #{ Version: "2012-10-17", Statement: [#{ Effect: "Allow", Action: "*", Resource: "arn:aws:s3:::b" }] } } });"#,
        r#"iam_role("r", #{ service: "ec2.amazonaws.com", inline_policies: #{ p: #{ Version: "2012-10-17", Statement: [#{ Effect: "Allow", Action: ["s3:PutObject"], Resource: "arn:aws:s3:::b/*" }, #{ Effect: "Allow", Action: ["ec2:Describe*"], Resource: "*" }] } } });"#,
    ),
    (
        "BP016",
        r#"iam_role("r", #{ trust_policy: #{ Version: "2012-10-17", Statement: [#{ Effect: "Allow", Principal: #{ AWS: "*" }, Action: "sts:AssumeRole" }] } });"#,
        r#"iam_role("r", #{ trust_policy: #{ Version: "2012-10-17", Statement: [#{ Effect: "Allow", Principal: #{ AWS: "*" }, Action: "sts:AssumeRole", Condition: #{ StringEquals: #{ "aws:PrincipalOrgID": "o-123" } } }] } });"#,
    ),
    (
        "BP017",
        r#"let c = cluster("demo", o); c.namespace("app").secret("db", #{ data: #{ password: "hunter2" } });"#,
        r#"let c = cluster("demo", o); c.namespace("app").secret("db", #{ data: sops_file("secrets/pms-postgres.enc.yaml") });"#,
    ),
    (
        "BP018",
        r#"import "k8s" as k8s; let c = cluster("demo", o); let a = c.namespace("a"); k8s::default_deny(a); c.namespace("b");"#,
        r#"import "k8s" as k8s; let c = cluster("demo", o); let a = c.namespace("a"); k8s::default_deny(a); let b = c.namespace("b"); k8s::default_deny(b);"#,
    ),
    (
        "BP019",
        r#"instance("i", #{ subnet: v.private_subnets[0], instance_type: "t3.small", ami: "al2023", metadata_v2_required: false });"#,
        r#"instance("i", #{ subnet: v.private_subnets[0], instance_type: "t3.small", ami: "al2023" });"#,
    ),
    (
        "BP021",
        r#"let c = cluster("demo", o); let r = iam_role("kn", #{ service: "ec2.amazonaws.com" }); let sg = security_group(v, "kn", #{}); let nc = c.node_class("d", #{ subnets: v.private_subnets, security_groups: [sg], role: r }); c.node_pool("p", #{ node_class: nc, requirements: [] });"#,
        r#"let c = cluster("demo", o); let r = iam_role("kn", #{ service: "ec2.amazonaws.com" }); let sg = security_group(v, "kn", #{}); let nc = c.node_class("d", #{ subnets: v.private_subnets, security_groups: [sg], role: r }); c.node_pool("p", #{ node_class: nc, requirements: [], limits: #{ cpu: 100 } });"#,
    ),
    (
        "BP022",
        r#"let c = cluster("demo", o); pod_identity_role("kc", #{ inline_policies: #{ k: #{ Version: "2012-10-17", Statement: [#{ Effect: "Allow", Action: ["ec2:CreateFleet", "ec2:TerminateInstances"], Resource: "arn:aws:ec2:*:*:instance/*" }] } } });"#,
        r#"let c = cluster("demo", o); pod_identity_role("kc", #{ inline_policies: #{ k: #{ Version: "2012-10-17", Statement: [#{ Effect: "Allow", Action: ["ec2:CreateFleet", "ec2:TerminateInstances"], Resource: "arn:aws:ec2:*:*:instance/*", Condition: #{ StringEquals: #{ "aws:ResourceTag/kubernetes.io/cluster/demo": "owned" } } }] } } });"#,
    ),
    (
        "BP020",
        r#"let c = cluster("demo", o); c.pod_identity("shop", "orders", pod_identity_role("orders")); let r = c.irsa_role("legacy", #{ namespace: "shop", service_account: "legacy" }); c.namespace("shop").service_account("legacy", #{ role: r });"#,
        r#"let c = cluster("demo", o); c.pod_identity("shop", "orders", pod_identity_role("orders")); c.namespace("shop").service_account("legacy", #{ role: pod_identity_role("legacy") });"#,
    ),
];

#[test]
fn the_base_is_clean() {
    assert_eq!(
        rules_of(&format!("{BASE}cluster(\"demo\", o);")),
        Vec::<String>::new()
    );
}

#[test]
fn every_rule_fires_on_a_breaking_blueprint_and_not_on_a_fixed_one() {
    assert_eq!(CASES.len(), rules().len(), "every rule has a case");
    for (rule, bad, good) in CASES {
        let fired = rules_of(&format!("{BASE}{bad}"));
        assert!(
            fired.iter().any(|r| r == rule),
            "{rule} did not fire: {fired:?}\n{bad}"
        );
        let fired = rules_of(&format!("{BASE}{good}"));
        assert!(
            !fired.iter().any(|r| r == rule),
            "{rule} fired on the fixed blueprint: {fired:?}\n{good}"
        );
    }
}

#[test]
fn remote_access_fires_for_ranges_and_all_traffic_and_rdp() {
    let f = rules_of(&format!(
        "{BASE}security_group(v, \"a\", #{{ ingress: [rule(#{{ protocol: \"tcp\", from: 3000, to: 4000, cidr: \"0.0.0.0/0\" }})] }});"
    ));
    assert_eq!(f, ["BP004"]);
    let all = run(&format!(
        "{BASE}security_group(v, \"a\", #{{ ingress: [rule(#{{ protocol: \"all\", cidr: \"0.0.0.0/0\" }})] }});"
    ))
    .unwrap();
    let messages: Vec<&str> = all.iter().map(|f| f.message.as_str()).collect();
    assert_eq!(
        messages,
        [
            "security group demo/a lets SSH (port 22) in from 0.0.0.0/0",
            "security group demo/a lets RDP (port 3389) in from 0.0.0.0/0"
        ]
        .map(|m| m.replace("demo/a", "a"))
    );
}

#[test]
fn wildcard_access_in_every_form() {
    for policy in [
        r#"managed_policies: ["arn:aws:iam::aws:policy/AdministratorAccess"]"#,
        r#"inline_policies: #{ p: #{ Version: "2012-10-17", Statement: [#{ Effect: "Allow", NotAction: ["iam:*"], Resource: "*" }] } }"#,
        r#"inline_policies: #{ p: #{ Version: "2012-10-17", Statement: [#{ Effect: "Allow", Action: "*:*", Resource: "arn:aws:s3:::b" }] } }"#,
    ] {
        let f = rules_of(&format!(
            "{BASE}iam_role(\"r\", #{{ service: \"ec2.amazonaws.com\", {policy} }});"
        ));
        assert_eq!(f, ["BP015"], "{policy}");
    }
}

/// A value passed with --var is no SOPS value either.
#[test]
fn secrets_from_vars_are_plaintext_too() {
    let f = run(&format!(
        "{BASE}let c = cluster(\"demo\", o); c.namespace(\"app\").secret(\"db\", #{{ data: #{{ password: var(\"pw\", \"x\") }} }});"
    ))
    .unwrap();
    assert_eq!(f.len(), 1);
    assert_eq!(
        f[0].message,
        "Secret db has values that come from no SOPS file (written in the blueprint or passed with --var): password"
    );
}

#[test]
fn rdp_over_udp_counts_and_ssh_over_udp_does_not() {
    let sg = |proto: &str, port: u16| {
        rules_of(&format!(
            "{BASE}security_group(v, \"a\", #{{ ingress: [rule(#{{ protocol: \"{proto}\", port: {port}, cidr: \"0.0.0.0/0\" }})] }});"
        ))
    };
    assert_eq!(sg("udp", 3389), ["BP004"]);
    assert_eq!(sg("udp", 22), Vec::<String>::new());
}

#[test]
fn production_rules_need_a_production_blueprint() {
    let single = "vpc(\"two\", #{ cidr: \"10.1.0.0/16\", azs: 2, public_subnets: [\"10.1.1.0/24\", \"10.1.2.0/24\"], private_subnets: [\"10.1.11.0/24\", \"10.1.12.0/24\"], nat: \"single\" });";
    assert_eq!(
        rules_of(&format!("{BASE}let env = var(\"env\", \"dev\");{single}")),
        Vec::<String>::new()
    );
    let f = run(&format!(
        "{BASE}let env = var(\"environment\", \"production\");{single}"
    ))
    .unwrap();
    assert_eq!(f.len(), 1);
    assert!(
        f[0].message
            .ends_with("(var `environment` is \"production\")"),
        "{}",
        f[0].message
    );
}

#[test]
fn allows_suppress_with_their_reasons() {
    let f = run(&format!(
        "{BASE}allow(\"BP003\", \"logs go to the SIEM\"); o.logging = []; o.remove(\"secrets_key\"); o.allow = #{{ BP002: \"test cluster\" }}; cluster(\"demo\", o);"
    ))
    .unwrap();
    let got = reasons(&f);
    assert_eq!(
        got,
        [
            ("BP002", Some("test cluster")),
            ("BP003", Some("logs go to the SIEM"))
        ]
    );
    assert_eq!(denied(&f, Severity::Note), 0);
}

#[test]
fn an_allow_covers_only_the_call_it_is_given_to() {
    let f = rules_of(&format!(
        "{BASE}s3_bucket(\"demo-a\", #{{ allow: #{{ BP008: \"public data\" }} }}); s3_bucket(\"demo-b\", #{{}});"
    ));
    assert_eq!(f, ["BP008"]);
}

/// A constructor that declares through others (an RDS instance its
/// security group; `backups` Velero's role, which carries an allow of its
/// own) keeps the allow it was given for everything it declares.
#[test]
fn an_allow_covers_what_a_constructor_declares_through_others() {
    let f = run(&format!(
        "{BASE}tags(#{{ environment: \"prod\" }}); rds_postgres(\"db\", #{{ vpc: v, subnets: v.private_subnets, instance_class: \"db.t4g.medium\", engine_version: \"16.4\", storage_gb: 20, username: \"u\", password: \"p4ssw0rd-long-enough\", allow: #{{ BP013: \"a replica elsewhere\" }} }});"
    ))
    .unwrap();
    let got = reasons(&f);
    assert_eq!(got, [("BP013", Some("a replica elsewhere"))]);

    let velero = |allow: &str| {
        let f = run(&format!(
            "{BASE}let c = cluster(\"demo\", o); let b = s3_bucket(\"demo-velero\", #{{ encryption_key: k }}); c.backups(#{{ bucket: b, schedules: [#{{ name: \"daily\", cron: \"0 2 * * *\" }}]{allow} }});"
        ))
        .unwrap();
        f.into_iter()
            .find(|f| f.rule == "BP015")
            .expect("Velero's policy is found")
            .suppressed
            .unwrap()
    };
    assert!(velero("").starts_with("Velero's documented AWS policy"));
    assert_eq!(
        velero(", allow: #{ BP015: \"reviewed in ADR-7\" }"),
        "reviewed in ADR-7"
    );
    // A later call at another place does not inherit it.
    let f = rules_of(&format!(
        "{BASE}s3_bucket(\"demo-a\", #{{ allow: #{{ BP008: \"public data\" }} }});\nlet r = rule(#{{ protocol: \"tcp\", port: 443, cidr: \"10.0.0.0/8\" }});\ns3_bucket(\"demo-b\", #{{}});"
    ));
    assert_eq!(f, ["BP008"]);
}

/// The stdlib preset passes `allow` on to the cluster it declares.
#[test]
fn presets_pass_allows_to_their_cluster() {
    let f = run("import \"eks\" as eks;\nlet p = eks::standard_cluster(\"demo\", #{ azs: 2, allow: #{ BP001: \"a lab\", BP002: \"no secrets\" } });")
        .unwrap();
    let got = reasons(&f);
    assert_eq!(
        got,
        [("BP001", Some("a lab")), ("BP002", Some("no secrets"))]
    );
}

#[test]
fn allows_that_suppress_nothing_are_reported() {
    let script = format!(
        "{BASE}allow(\"BP019\", \"no instances yet\");\ns3_bucket(\"demo-a\", #{{ encryption_key: k, allow: #{{ BP008: \"old\" }} }});\nvpc(\"two\", #{{ cidr: \"10.1.0.0/16\", azs: 2, public_subnets: [\"10.1.1.0/24\", \"10.1.2.0/24\"], private_subnets: [\"10.1.11.0/24\", \"10.1.12.0/24\"], allow: #{{ BP007: \"staging\" }} }});\nlet env = var(\"env\", \"prod\");"
    );
    let mut s = Session::new(
        &Options {
            region: "us-east-1".into(),
            ..Options::default()
        },
        Path::new("."),
    );
    let _ = s.eval("case.rhai", &script).unwrap();
    let g = s.validate().unwrap();
    let facts = s.lint_facts();
    let f = lint(&g, &facts, s.sources(), TODAY);
    let unused: Vec<(String, usize)> = unused_allows(&g, &facts, &f, s.sources())
        .into_iter()
        .map(|u| (u.rule, u.location.unwrap().line))
        .collect();
    // BP007's allow is used (the VPC's single NAT gateway in production),
    // though it sits on every resource the call declares.
    let line = BASE.lines().count() + 1;
    assert_eq!(
        unused,
        [("BP019".to_string(), line), ("BP008".to_string(), line + 1)]
    );
}

#[test]
fn allow_is_refused_where_nothing_is_declared() {
    let e = run(&format!(
        "{BASE}rule(#{{ protocol: \"tcp\", port: 22, cidr: \"0.0.0.0/0\", allow: #{{ BP004: \"x\" }} }});"
    ))
    .unwrap_err();
    assert!(
        e.contains("rule(...) declares no resource: `allow` would allow nothing"),
        "{e}"
    );
}

#[test]
fn allows_name_a_rule_and_give_a_reason() {
    let e = run(&format!("{BASE}allow(\"BP04\", \"x\");")).unwrap_err();
    assert!(e.contains("`BP04` is not a lint rule"), "{e}");
    let e = run(&format!("{BASE}allow(\"BP004\", \"  \");")).unwrap_err();
    assert!(e.contains("allowing BP004 needs a reason"), "{e}");
    let e = run(&format!(
        "{BASE}s3_bucket(\"demo-a\", #{{ allow: [\"BP008\"] }});"
    ))
    .unwrap_err();
    assert!(
        e.contains("option `allow` must be a map of rule id to reason"),
        "{e}"
    );
}

#[test]
fn findings_point_at_the_option_that_causes_them() {
    let f = run(&format!(
        "{BASE}cluster(\"demo\", #{{ version: \"1.35\", vpc: v, subnets: v.private_subnets, endpoint: #{{ public: false, private: true }},\n    secrets_key: k,\n    logging: [\"api\"] }});"
    ))
    .unwrap();
    assert_eq!(f.len(), 1, "{f:?}");
    let at = f[0].location.clone().unwrap();
    let line = BASE.lines().count() + 3;
    assert_eq!((at.line, at.col), (line, 5), "{at}");
}
