//! AWS Backup plans (`backup_plan(...)`): vault, plan and selection through
//! the lifecycle against the emulator (moto plus the operations
//! tests/support/awsemu adds), checked independently with boto3; recovery
//! points in `bp backup list`; bad declarations refused before any call.

use crate::harness::Test;
use crate::moto::Moto;
use serde_json::Value as Json;

const BP: &str = r#"
let orders = dynamodb_table("orders", #{ hash_key: "id", attributes: #{ id: "S" }, billing: "pay_per_request" });
let resources = [orders];
if var("more", "no") == "yes" {
    resources.push(dynamodb_table("invoices", #{ hash_key: "id", attributes: #{ id: "S" }, billing: "pay_per_request" }));
}
let key = kms_key("backup", #{});
let plan = backup_plan("nightly", #{
    kms_key: key,
    rules: [#{ name: "daily", cron: "0 3 * * *", retain_days: parse_int(var("days", "35")) },
            #{ name: "monthly", cron: "0 4 1 * *", retain_days: 365, cold_after_days: 30 }],
    resources: resources,
});
"#;

struct Env {
    moto: Moto,
    dir: tempfile::TempDir,
}

impl Env {
    fn new() -> Env {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("bp.rhai"), BP).unwrap();
        Env {
            moto: Moto::start(),
            dir,
        }
    }

    fn bp(&self, args: &[&str], status: i32) -> String {
        self.moto.bp(self.dir.path(), args, status)
    }

    /// AWS Backup's state, read with boto3.
    fn state(&self, extra: &[&str]) -> Json {
        let args = [
            &["support:aws_backup_state.py", self.moto.url.as_str()][..],
            extra,
        ]
        .concat();
        self.moto.python_json(&args)
    }
}

#[test]
fn backup_plan_lifecycle() {
    let env = Env::new();
    let out = env.bp(&["plan", "bp.rhai"], 0);
    for want in [
        "+ backup_vault.nightly",
        "+ backup_plan.nightly",
        "+ backup_selection.nightly",
        "+ iam_role.nightly-backup",
        "cron(0 3 * * ? *)",
    ] {
        assert!(out.contains(want), "plan lacks {want}:\n{out}");
    }
    env.bp(&["apply", "bp.rhai", "--auto-approve"], 0);
    env.bp(&["plan", "bp.rhai", "--detailed-exitcode"], 0);

    let s = env.state(&[]);
    let vault = &s["vaults"]["nightly"];
    let key = vault["key"].as_str().expect("the vault has a key");
    assert_eq!(s["keys"][key], "Enabled", "{s}");
    assert_eq!(vault["tags"]["blueprint:address"], "backup_vault.nightly");
    let plan = &s["plans"]["nightly"];
    let plan_id = plan["id"].clone();
    assert_eq!(plan["rules"]["daily"]["schedule"], "cron(0 3 * * ? *)");
    assert_eq!(plan["rules"]["daily"]["vault"], "nightly");
    assert_eq!(plan["rules"]["daily"]["lifecycle"]["DeleteAfterDays"], 35);
    assert_eq!(plan["rules"]["monthly"]["schedule"], "cron(0 4 1 * ? *)");
    assert_eq!(
        plan["rules"]["monthly"]["lifecycle"]["MoveToColdStorageAfterDays"],
        30
    );
    let sel = &plan["selections"][0];
    assert_eq!(
        sel["resources"],
        serde_json::json!(["arn:aws:dynamodb:us-east-1:123456789012:table/orders"])
    );
    assert_eq!(
        sel["role_trusts"],
        serde_json::json!(["backup.amazonaws.com"])
    );

    // A changed rule is an in-place change of the same plan.
    let out = env.bp(&["plan", "bp.rhai", "--var", "days=40"], 0);
    assert!(out.contains("~ backup_plan.nightly"), "{out}");
    assert!(out.contains("0 to add, 1 to change, 0 to replace"), "{out}");
    env.bp(
        &["apply", "bp.rhai", "--var", "days=40", "--auto-approve"],
        0,
    );
    let s = env.state(&[]);
    assert_eq!(s["plans"]["nightly"]["id"], plan_id);
    assert_eq!(
        s["plans"]["nightly"]["rules"]["daily"]["lifecycle"]["DeleteAfterDays"],
        40
    );
    env.bp(
        &["plan", "bp.rhai", "--var", "days=40", "--detailed-exitcode"],
        0,
    );

    // Another resource replaces the selection, and says why.
    let more = ["--var", "days=40", "--var", "more=yes"];
    let out = env.bp(&[&["plan", "bp.rhai"][..], &more].concat(), 0);
    assert!(out.contains("-/+ backup_selection.nightly"), "{out}");
    assert!(
        out.contains("AWS Backup cannot change a selection in place"),
        "{out}"
    );
    env.bp(
        &[&["apply", "bp.rhai", "--auto-approve"][..], &more].concat(),
        0,
    );
    env.bp(
        &[&["plan", "bp.rhai", "--detailed-exitcode"][..], &more].concat(),
        0,
    );
    let s = env.state(&[]);
    let sels = s["plans"]["nightly"]["selections"].as_array().unwrap();
    assert_eq!(sels.len(), 1, "{s}");
    assert_eq!(sels[0]["resources"].as_array().unwrap().len(), 2);

    // Recovery points show in `bp backup list`.
    let out = env.bp(&["backup", "list", "bp.rhai"], 0);
    assert!(
        out.contains("No recovery points in AWS Backup vault nightly."),
        "{out}"
    );
    env.state(&[
        "start-job",
        "nightly",
        "arn:aws:dynamodb:us-east-1:123456789012:table/orders",
    ]);
    let out = env.bp(&["backup", "list", "bp.rhai"], 0);
    assert!(
        out.contains("Recovery points in AWS Backup vault nightly:"),
        "{out}"
    );
    assert!(out.contains("table/orders  DynamoDB  COMPLETED"), "{out}");
    let listed: Json =
        serde_json::from_str(&env.bp(&["backup", "list", "bp.rhai", "--json"], 0)).unwrap();
    assert_eq!(listed["cluster"], Json::Null);
    assert_eq!(listed["vaults"][0]["name"], "nightly");
    let p = &listed["recovery_points"][0];
    assert_eq!(p["status"], "COMPLETED");
    assert_eq!(p["type"], "DynamoDB");
    assert!(p["expires"].as_str().is_some(), "{listed}");

    // Destroy: the plan, its selection and role go; the vault (with its
    // recovery point) stays, protected, and so does the key it needs.
    let out = env.bp(
        &[&["destroy", "bp.rhai", "--auto-approve"][..], &more].concat(),
        0,
    );
    assert!(out.contains("  backup_vault.nightly\n"), "{out}");
    assert!(
        out.contains("  kms_key.backup (the protected backup_vault.nightly uses it)"),
        "{out}"
    );
    let s = env.state(&[]);
    assert_eq!(s["plans"], serde_json::json!({}), "{s}");
    assert_eq!(s["vaults"]["nightly"]["points"], 1);
    let key = s["vaults"]["nightly"]["key"].as_str().unwrap();
    assert_eq!(
        s["keys"][key], "Enabled",
        "the kept vault's key was deleted: {s}"
    );
}

/// S3 needs AWS Backup policies of its own: the default role gets them
/// when a bucket is selected, and only then.
#[test]
fn the_default_role_carries_the_s3_policies_for_buckets() {
    let policies = |resources: &str| -> Vec<String> {
        let script = format!(
            r#"let b = s3_bucket("pp-data-1", #{{ versioning: true }});
let t = dynamodb_table("tb1", #{{ hash_key: "id", attributes: #{{ id: "S" }}, billing: "pay_per_request" }});
backup_plan("pp", #{{ rules: [#{{ name: "r", cron: "0 3 * * *", retain_days: 7 }}], resources: {resources} }});"#
        );
        let out = Test::new()
            .file("bp.rhai", &script)
            .args(["check", "bp.rhai", "--json"])
            .run();
        let v: Json = serde_json::from_slice(&out.stdout).unwrap();
        v["resources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["address"] == "iam_role.pp-backup")
            .unwrap()["spec"]["managed_policies"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.as_str().unwrap().rsplit('/').next().unwrap().to_string())
            .collect()
    };
    let with_bucket = policies("[b, t]");
    assert!(
        with_bucket.contains(&"AWSBackupServiceRolePolicyForS3Backup".to_string()),
        "{with_bucket:?}"
    );
    assert!(with_bucket.contains(&"AWSBackupServiceRolePolicyForS3Restore".to_string()));
    let without = policies("[t]");
    assert!(!without.iter().any(|p| p.contains("S3")), "{without:?}");
}

/// Plans naming the same vault share it, with one key.
#[test]
fn plans_naming_the_same_vault_share_it() {
    let plans = |key2: &str| {
        format!(
            r#"let k = kms_key("vault", #{{}});
let t = dynamodb_table("tb1", #{{ hash_key: "id", attributes: #{{ id: "S" }}, billing: "pay_per_request" }});
backup_plan("daily", #{{ vault: "shared", kms_key: k, rules: [#{{ name: "r", cron: "0 3 * * *", retain_days: 7 }}], resources: [t] }});
backup_plan("weekly", #{{ vault: "shared", {key2} rules: [#{{ name: "r", cron: "0 4 * * 0", retain_days: 60 }}], resources: [t] }});"#
        )
    };
    let out = Test::new()
        .file("bp.rhai", &plans("kms_key: k,"))
        .args(["check", "bp.rhai", "--json"])
        .run();
    let v: Json = serde_json::from_slice(&out.stdout).unwrap();
    let vaults: Vec<&Json> = v["resources"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["kind"] == "backup_vault")
        .collect();
    assert_eq!(vaults.len(), 1, "{v}");
    assert_eq!(vaults[0]["address"], "backup_vault.shared");
    Test::new()
        .file("bp.rhai", &plans(""))
        .args(["check", "bp.rhai"])
        .status(1)
        .stderr_contains("vault `shared` is declared with another kms_key")
        .run();
}

#[test]
fn backup_plan_mistakes_are_refused_before_any_call() {
    let cases = [
        (
            r#"backup_plan("pp", #{ rules: [#{ name: "r", cron: "0 3 1 * 1", retain_days: 7 }], resources: ["arn:aws:rds:us-east-1:1:db:x"] });"#,
            "sets both a day of month and a day of week",
        ),
        (
            r#"backup_plan("pp", #{ rules: [#{ name: "r", cron: "0 3 * * *", retain_days: 100, cold_after_days: 30 }], resources: ["arn:aws:rds:us-east-1:1:db:x"] });"#,
            "retain_days must be at least 120",
        ),
        (
            r#"let b = s3_bucket("p-data-1", #{}); backup_plan("pp", #{ rules: [#{ name: "r", cron: "0 3 * * *", retain_days: 7 }], resources: [b] });"#,
            "backs up versioned S3 buckets only",
        ),
        (
            r#"backup_plan("pp", #{ rules: [#{ name: "r", cron: "0 3 * * *", retain_days: 7 }], resources: [vpc("v", #{ cidr: "10.0.0.0/16" })] });"#,
            "a list of handles (dynamodb_table, efs, rds_postgres, s3_bucket) or ARNs",
        ),
    ];
    for (script, want) in cases {
        Test::new()
            .file("bp.rhai", script)
            .args(["check", "bp.rhai"])
            .status(1)
            .stderr_contains(want)
            .stderr_contains("bp.rhai:1:")
            .run();
    }
}
