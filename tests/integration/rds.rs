//! RDS PostgreSQL (`rds_postgres(...)`) through the lifecycle against the
//! emulator, checked independently with boto3: the password never shows
//! and changes in place, a major upgrade needs to be asked for, and destroy
//! keeps the instance with what it uses until asked to delete it, after a
//! final snapshot.

use crate::harness::Test;
use crate::moto::Moto;
use serde_json::Value as Json;

const BP: &str = r#"
let v = vpc("demo", #{ cidr: "10.0.0.0/16", azs: 2,
    public_subnets: ["10.0.1.0/24", "10.0.2.0/24"], private_subnets: ["10.0.10.0/24", "10.0.11.0/24"] });
let opts = #{ vpc: v, subnets: v.private_subnets, instance_class: var("class", "db.t4g.medium"),
    engine_version: var("version", "16.4"), allow_major_upgrade: var("major", "no") == "yes",
    storage_gb: 50, max_storage_gb: 200, multi_az: var("multi", "no") == "yes",
    backup_retention_days: parse_int(var("keep", "7")), username: var("user", "orders"), password: var("pw", "first-Passw0rd"),
    tags: #{ team: "orders" } };
if var("params", "yes") == "yes" {
    opts.parameters = #{ log_min_duration_statement: var("slow", "500") };
}
rds_postgres("orders-db", opts);
"#;

fn rds_state(m: &Moto) -> Json {
    m.python_json(&["support:rds_state.py", &m.url])
}

#[test]
fn rds_postgres_lifecycle() {
    let m = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bp.rhai"), BP).unwrap();
    let d = dir.path();
    let out = m.bp(d, &["plan", "bp.rhai"], 0);
    assert!(out.contains("+ rds_postgres.orders-db"), "{out}");
    assert!(out.contains("+ db_subnet_group.orders-db"), "{out}");
    assert!(
        out.contains("+ db_parameter_group.orders-db-postgres16"),
        "{out}"
    );
    assert!(out.contains("password = (sensitive)"), "{out}");
    assert!(
        !out.contains("first-Passw0rd"),
        "the password shows:\n{out}"
    );
    m.bp(d, &["apply", "bp.rhai", "--auto-approve"], 0);
    m.bp(d, &["plan", "bp.rhai", "--detailed-exitcode"], 0);

    let s = rds_state(&m);
    let db = &s["instances"]["orders-db"];
    assert_eq!(db["engine"], "postgres", "{s}");
    assert_eq!(db["version"], "16.4");
    assert_eq!(db["class"], "db.t4g.medium");
    assert_eq!(db["storage"], 50);
    assert_eq!(db["max_storage"], 200);
    assert_eq!(db["user"], "orders");
    assert_eq!(db["encrypted"], true);
    assert_eq!(db["deletion_protection"], true);
    assert_eq!(db["auto_minor_upgrade"], false);
    assert_eq!(db["subnet_group"], "orders-db");
    assert_eq!(
        db["parameter_groups"],
        serde_json::json!(["orders-db-postgres16"])
    );
    assert_eq!(db["rules"], serde_json::json!(["tcp:5432:10.0.0.0/16"]));
    assert_eq!(db["tags"]["team"], "orders");
    let verifier = db["tags"]["blueprint:password"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(verifier.starts_with("pbkdf2-sha256:"), "{verifier}");
    assert!(!s.to_string().contains("first-Passw0rd"));
    assert_eq!(s["subnet_groups"]["orders-db"], 2);
    assert_eq!(
        s["parameter_groups"]["orders-db-postgres16"]["parameters"]["log_min_duration_statement"],
        "500"
    );

    // Class, Multi-AZ, backups, password and a parameter change in place;
    // the password shows only as (sensitive), in the plan and in its JSON.
    let change = [
        "--var",
        "class=db.m6g.large",
        "--var",
        "pw=second-Passw0rd",
        "--var",
        "slow=250",
        "--var",
        "multi=yes",
        "--var",
        "keep=14",
    ];
    let out = m.bp(d, &[&["plan", "bp.rhai"][..], &change].concat(), 0);
    assert!(
        out.contains("instance_class: \"db.t4g.medium\" -> \"db.m6g.large\""),
        "{out}"
    );
    assert!(
        out.contains("password: (sensitive) -> (sensitive)"),
        "{out}"
    );
    assert!(out.contains("0 to add, 2 to change, 0 to replace"), "{out}");
    let json = m.bp(
        d,
        &[&["plan", "bp.rhai", "--json"][..], &change].concat(),
        0,
    );
    let mut plan: Json = serde_json::from_str(&json).unwrap();
    // (`source.vars` records the --var values the plan was made with.)
    plan.as_object_mut().unwrap().remove("source");
    let plan = plan.to_string();
    assert!(
        !plan.contains("Passw0rd") && !plan.contains(&verifier),
        "{plan}"
    );
    m.bp(
        d,
        &[&["apply", "bp.rhai", "--auto-approve"][..], &change].concat(),
        0,
    );
    m.bp(
        d,
        &[&["plan", "bp.rhai", "--detailed-exitcode"][..], &change].concat(),
        0,
    );
    let s = rds_state(&m);
    let db = &s["instances"]["orders-db"];
    assert_eq!(db["class"], "db.m6g.large");
    assert_eq!(db["multi_az"], true);
    assert_eq!(db["retention"], 14);
    assert_ne!(db["tags"]["blueprint:password"].as_str().unwrap(), verifier);
    assert_eq!(
        s["parameter_groups"]["orders-db-postgres16"]["parameters"]["log_min_duration_statement"],
        "250"
    );

    // A major upgrade is refused unless asked for; asked for, the instance
    // moves to a parameter group of the new family and the old one goes.
    let major = [&change[..], &["--var", "version=17.2"]].concat();
    let out = m.bp(d, &[&["plan", "bp.rhai"][..], &major].concat(), 1);
    assert!(
        out.contains("16.4 -> 17.2 is a major version upgrade; declare allow_major_upgrade: true"),
        "{out}"
    );
    m.bp(
        d,
        &[&["apply", "bp.rhai", "--auto-approve"][..], &major].concat(),
        1,
    );
    assert_eq!(rds_state(&m)["instances"]["orders-db"]["version"], "16.4");
    let major = [&major[..], &["--var", "major=yes"]].concat();
    m.bp(
        d,
        &[&["apply", "bp.rhai", "--auto-approve"][..], &major].concat(),
        0,
    );
    m.bp(
        d,
        &[&["plan", "bp.rhai", "--detailed-exitcode"][..], &major].concat(),
        0,
    );
    let s = rds_state(&m);
    assert_eq!(s["instances"]["orders-db"]["version"], "17.2");
    assert_eq!(
        s["instances"]["orders-db"]["parameter_groups"],
        serde_json::json!(["orders-db-postgres17"])
    );
    assert_eq!(
        s["parameter_groups"]
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        ["orders-db-postgres17"]
    );

    // Without parameters, the instance moves to the family's default group
    // before its own group goes.
    let major = [&major[..], &["--var", "params=no"]].concat();
    let out = m.bp(d, &[&["plan", "bp.rhai"][..], &major].concat(), 0);
    assert!(
        out.contains("- db_parameter_group.orders-db-postgres17"),
        "{out}"
    );
    assert!(out.contains("~ rds_postgres.orders-db"), "{out}");
    m.bp(
        d,
        &[&["apply", "bp.rhai", "--auto-approve"][..], &major].concat(),
        0,
    );
    m.bp(
        d,
        &[&["plan", "bp.rhai", "--detailed-exitcode"][..], &major].concat(),
        0,
    );
    let s = rds_state(&m);
    assert_eq!(s["parameter_groups"], serde_json::json!({}), "{s}");
    assert_eq!(
        s["instances"]["orders-db"]["parameter_groups"],
        serde_json::json!(["default.postgres17"])
    );

    // A new user name needs a new instance: the plan says why, and refuses
    // it while the instance is protected.
    let out = m.bp(
        d,
        &[&["plan", "bp.rhai"][..], &major, &["--var", "user=admin2"]].concat(),
        1,
    );
    assert!(
        out.contains(
            "rds_postgres.orders-db would replace it: the master user's name cannot change"
        ),
        "{out}"
    );

    // Destroy keeps the instance and what it uses; with --include-protected
    // it lifts RDS's deletion protection and leaves a final snapshot.
    let out = m.bp(
        d,
        &[&["destroy", "bp.rhai", "--auto-approve"][..], &major].concat(),
        0,
    );
    assert!(out.contains("  rds_postgres.orders-db\n"), "{out}");
    assert!(
        out.contains("  db_subnet_group.orders-db (the protected rds_postgres.orders-db uses it)"),
        "{out}"
    );
    assert_eq!(
        rds_state(&m)["instances"]["orders-db"]["class"],
        "db.m6g.large"
    );
    m.bp(
        d,
        &[
            &[
                "destroy",
                "bp.rhai",
                "--auto-approve",
                "--include-protected",
            ][..],
            &major,
        ]
        .concat(),
        0,
    );
    let s = rds_state(&m);
    assert_eq!(s["instances"], serde_json::json!({}), "{s}");
    assert_eq!(s["subnet_groups"], serde_json::json!({}), "{s}");
    let snaps = s["snapshots"].as_array().unwrap();
    assert!(
        snaps
            .iter()
            .any(|x| x.as_str().unwrap().starts_with("orders-db-final-")),
        "{s}"
    );
}

#[test]
fn rds_mistakes_are_refused_before_any_call() {
    let vpc = r#"let v = vpc("demo", #{ cidr: "10.0.0.0/16", azs: 2, public_subnets: ["10.0.1.0/24", "10.0.2.0/24"], private_subnets: ["10.0.10.0/24", "10.0.11.0/24"] });"#;
    let base = r#"vpc: v, subnets: v.private_subnets, instance_class: "db.t4g.micro", engine_version: "16.4", username: "app""#;
    let cases = [
        (format!(r#"rds_postgres("db", #{{ {base}, storage_gb: 10, password: "long-enough-1" }});"#), "RDS PostgreSQL takes 20 to 65536 GB"),
        (format!(r#"rds_postgres("db", #{{ {base}, storage_gb: 50, max_storage_gb: 40, password: "long-enough-1" }});"#), "is not above storage_gb 50"),
        (format!(r#"rds_postgres("db", #{{ {base}, storage_gb: 50, password: "short" }});"#), "the password is not one RDS accepts"),
        (
            r#"rds_postgres("db", #{ vpc: v, subnets: [v.private_subnets[0]], instance_class: "db.t4g.micro", engine_version: "16.4", username: "app", storage_gb: 50, password: "long-enough-1" });"#.to_string(),
            "RDS needs subnets in at least two availability zones",
        ),
        (
            r#"rds_postgres("db", #{ vpc: v, subnets: v.private_subnets, instance_class: "db.t4g.micro", engine_version: "sixteen", username: "app", storage_gb: 50, password: "long-enough-1" });"#.to_string(),
            "is not a PostgreSQL version",
        ),
        (
            r#"rds_postgres("db", #{ vpc: v, subnets: v.private_subnets, instance_class: "db.t4g.micro", engine_version: "16", username: "app", storage_gb: 50, password: "long-enough-1" });"#.to_string(),
            "a major and minor version",
        ),
        (
            r#"rds_postgres("db", #{ vpc: v, subnets: v.private_subnets, instance_class: "db.t4g.micro", engine_version: "16.4", username: "postgres", storage_gb: 50, password: "long-enough-1" });"#.to_string(),
            "cannot be the master user's name",
        ),
    ];
    for (script, want) in cases {
        Test::new()
            .file("bp.rhai", &format!("{vpc}\n{script}"))
            .args(["check", "bp.rhai"])
            .status(1)
            .stderr_contains(want)
            .stderr_contains("bp.rhai:2:")
            .run();
    }
}

/// `password: "managed"`: RDS makes the master password and keeps it in
/// Secrets Manager, and Blueprint keeps no password and no verifier; a
/// declared password and "managed" change into each other in place.
#[test]
fn rds_managed_master_password() {
    let m = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    // The handle names the secret RDS keeps the password in.
    let bp = BP.replace(
        "rds_postgres(\"orders-db\", opts);",
        "let db = rds_postgres(\"orders-db\", opts);\nkms_key(\"ref\", #{ tags: #{ secret: db.password_secret_arn } });",
    );
    std::fs::write(dir.path().join("bp.rhai"), bp).unwrap();
    let d = dir.path();
    // `bp ARGS --var pw=PW`, which must exit with `status`.
    let bp = |args: &[&str], pw: &str, status: i32| {
        let var = format!("pw={pw}");
        let mut all = args.to_vec();
        all.extend(["--var", &var]);
        m.bp(d, &all, status)
    };
    let out = bp(&["plan", "bp.rhai"], "managed", 0);
    assert!(out.contains("password = \"managed\""), "{out}");
    bp(&["apply", "bp.rhai", "--auto-approve"], "managed", 0);
    bp(&["plan", "bp.rhai", "--detailed-exitcode"], "managed", 0);
    let db = |s: &Json| s["instances"]["orders-db"].clone();
    let s = db(&rds_state(&m));
    assert_eq!(s["managed_password"], true, "{s}");
    assert!(s["tags"].get("blueprint:password").is_none(), "{s}");
    let tags = m.python_json(&[
        "-c",
        &format!(
            "import boto3, json; k = {0}; \
             tags = [{{t['TagKey']: t['TagValue'] for t in k.list_resource_tags(KeyId=x['KeyId'])['Tags']}} for x in k.list_keys()['Keys']]; \
             print(json.dumps([t for t in tags if 'secret' in t][0]))",
            m.boto3("kms")
        ),
    ]);
    assert!(
        tags["secret"]
            .as_str()
            .is_some_and(|a| a.starts_with("arn:aws:secretsmanager:")),
        "{tags}"
    );
    // (An output that an in-place update changes is not foreseen by the
    // plan of what refers to it: the reference goes before the switch.)
    std::fs::write(dir.path().join("bp.rhai"), BP).unwrap();

    // To a declared password, in place: the secret goes, a verifier comes.
    let out = bp(
        &["plan", "bp.rhai", "--detailed-exitcode"],
        "Declared-Passw0rd",
        2,
    );
    assert!(out.contains("~ rds_postgres.orders-db"), "{out}");
    assert!(!out.contains("Declared-Passw0rd"), "{out}");
    bp(
        &["apply", "bp.rhai", "--auto-approve"],
        "Declared-Passw0rd",
        0,
    );
    let s = db(&rds_state(&m));
    assert_eq!(s["managed_password"], false, "{s}");
    assert!(
        s["tags"]["blueprint:password"]
            .as_str()
            .is_some_and(|v| v.starts_with("pbkdf2-sha256:600000:")),
        "{s}"
    );
    bp(
        &["plan", "bp.rhai", "--detailed-exitcode"],
        "Declared-Passw0rd",
        0,
    );
    // And back.
    bp(&["apply", "bp.rhai", "--auto-approve"], "managed", 0);
    let s = db(&rds_state(&m));
    assert_eq!(s["managed_password"], true, "{s}");
    assert!(s["tags"].get("blueprint:password").is_none(), "{s}");
    bp(&["plan", "bp.rhai", "--detailed-exitcode"], "managed", 0);
}
