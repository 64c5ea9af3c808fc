//! The account's IAM password policy (`password_policy(...)`): an account
//! singleton with no tags, kept by the one blueprint that claims it. A
//! policy set by hand is taken over only with `bp adopt`; a second
//! blueprint cannot take it; edits behind Blueprint's back come back; and
//! no longer declaring it deletes it and gives up the claim.

use crate::moto::Moto;
use serde_json::Value as Json;

const STRICT: &str = r#"
password_policy(#{
    min_length: 14,
    require: ["symbols", "numbers", "uppercase", "lowercase"],
    max_age_days: 90,
    reuse_prevention: 24,
    allow_users_to_change: true,
});
"#;

/// The account's policy (null when it has none) and who claims it.
fn state(m: &Moto) -> Json {
    m.python_json(&[
        "-c",
        &format!(
            "import boto3, json\niam = {}\nddb = {}\n\
try:\n    p = iam.get_account_password_policy()['PasswordPolicy']\n\
except iam.exceptions.NoSuchEntityException:\n    p = None\n\
try:\n    c = ddb.get_item(TableName='blueprint-locks', Key={{'blueprint': {{'S': 'claim:account-password-policy'}}}}).get('Item')\n\
except ddb.exceptions.ResourceNotFoundException:\n    c = None\n\
print(json.dumps({{'policy': p, 'claim': c and c['owner']['S']}}))",
            m.boto3("iam"),
            m.boto3("dynamodb")
        ),
    ])
}

fn set_by_hand(m: &Moto, min_length: u32) {
    m.python(&[
        "-c",
        &format!(
            "import boto3\niam = {}\niam.update_account_password_policy(MinimumPasswordLength={min_length}, RequireSymbols=True)",
            m.boto3("iam")
        ),
    ]);
}

#[test]
fn the_account_password_policy_is_claimed_kept_and_given_back() {
    let m = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("bp.rhai"), STRICT).unwrap();
    std::fs::write(d.join("other.rhai"), STRICT).unwrap();

    // Someone set a policy by hand: it is not silently overwritten.
    set_by_hand(&m, 8);
    let out = m.bp(d, &["plan", "bp.rhai"], 0);
    assert!(out.contains("  + iam_password_policy.account"), "{out}");
    let out = m.bp(d, &["apply", "bp.rhai", "--auto-approve"], 1);
    assert!(
        out.contains("the account has a password policy that is not this blueprint's: `bp adopt iam_password_policy.account account` takes it over"),
        "{out}"
    );
    let s = state(&m);
    assert_eq!(s["policy"]["MinimumPasswordLength"], 8, "{s}");
    assert_eq!(s["claim"], Json::Null, "nothing half-done: {s}");

    // Adopted, the plan shows how it differs; apply sets it.
    m.bp(
        d,
        &["adopt", "bp.rhai", "iam_password_policy.account", "account"],
        0,
    );
    let out = m.bp(d, &["plan", "bp.rhai", "--detailed-exitcode"], 2);
    assert!(out.contains("  ~ iam_password_policy.account"), "{out}");
    assert!(out.contains("min_length: 8 -> 14"), "{out}");
    assert!(out.contains("max_age_days: null -> 90"), "{out}");
    m.bp(d, &["apply", "bp.rhai", "--auto-approve"], 0);
    let s = state(&m);
    assert_eq!(s["claim"], "bp", "{s}");
    let p = &s["policy"];
    assert_eq!(p["MinimumPasswordLength"], 14, "{s}");
    assert_eq!(p["RequireLowercaseCharacters"], true, "{s}");
    assert_eq!(p["MaxPasswordAge"], 90, "{s}");
    assert_eq!(p["PasswordReusePrevention"], 24, "{s}");
    assert_eq!(p["AllowUsersToChangePassword"], true, "{s}");
    m.bp(d, &["plan", "bp.rhai", "--detailed-exitcode"], 0);
    crate::harness::Test::new()
        .current_dir(d)
        .moto(&m)
        .args(["repl"])
        .stdin(":live iam_password_policy\n")
        .stdout_contains("min length 14, expires after 90 days  bp iam_password_policy.account\n")
        .run();

    // A second blueprint in the account cannot take it.
    let out = m.bp(d, &["apply", "other.rhai", "--auto-approve"], 1);
    assert!(
        out.contains("the account's account password policy is blueprint bp's"),
        "{out}"
    );
    assert_eq!(state(&m)["claim"], "bp");

    // Changed behind Blueprint's back: exactly that, and back.
    set_by_hand(&m, 10);
    let out = m.bp(d, &["plan", "bp.rhai", "--detailed-exitcode"], 2);
    assert!(out.contains("min_length: 10 -> 14"), "{out}");
    assert!(out.contains("require_numbers: false -> true"), "{out}");
    m.bp(d, &["apply", "bp.rhai", "--auto-approve"], 0);
    m.bp(d, &["plan", "bp.rhai", "--detailed-exitcode"], 0);

    // No longer declared: pruned, and the claim is given up, so the other
    // blueprint may declare it now.
    std::fs::write(d.join("bp.rhai"), "tags(#{ team: \"x\" });\n").unwrap();
    let out = m.bp(d, &["plan", "bp.rhai"], 0);
    assert!(out.contains("  - iam_password_policy.account"), "{out}");
    m.bp(d, &["apply", "bp.rhai", "--auto-approve"], 0);
    let s = state(&m);
    assert_eq!(s["policy"], Json::Null, "{s}");
    assert_eq!(s["claim"], Json::Null, "{s}");
    m.bp(d, &["apply", "other.rhai", "--auto-approve"], 0);
    assert_eq!(state(&m)["claim"], "other");
}

#[test]
fn a_password_policy_iam_would_refuse_is_an_error_at_check() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for (script, says) in [
        (
            "password_policy(#{ min_length: 4 });",
            "min_length is 4, outside what IAM accepts",
        ),
        (
            "password_policy(#{ reuse_prevention: 30 });",
            "reuse_prevention is 30, outside what IAM accepts",
        ),
        (
            "password_policy(#{ hard_expiry: true });",
            "hard_expiry is set, but passwords never expire",
        ),
        ("password_policy(#{ require: [\"emoji\"] });", "emoji"),
        (
            "password_policy(#{});\npassword_policy(#{});",
            "iam_password_policy.account",
        ),
    ] {
        std::fs::write(d.join("bp.rhai"), script).unwrap();
        let out = crate::harness::Test::new()
            .current_dir(d)
            .args(["check", "bp.rhai"])
            .status(1)
            .run();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{script}: {err}");
        assert!(err.contains("bp.rhai:"), "{script}: a position: {err}");
    }
}
