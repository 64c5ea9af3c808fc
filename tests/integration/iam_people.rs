//! IAM groups and users (`iam_group`, `iam_user`) against the emulator:
//! made under the blueprint's path, read with the roles, kept as declared
//! (a membership removed behind Blueprint's back comes back), and deleted
//! with what a person made for the user (a console password, access keys).

use crate::moto::Moto;
use serde_json::Value as Json;

const BP: &str = r#"
let team = iam_group("naas-team", #{ inline_policies: #{ require_mfa: #{ Version: "2012-10-17", Statement: [
    #{ Sid: "DenyWithoutMfa", Effect: "Deny", NotAction: ["iam:*MFADevice*", "sts:GetSessionToken"], Resource: "*",
       Condition: #{ BoolIfExists: #{ "aws:MultiFactorAuthPresent": "false" } } },
] } } });
iam_user("ana", #{ groups: [team], tags: #{ team: "naas" } });
"#;

fn state(m: &Moto) -> Json {
    m.python_json(&[
        "-c",
        &format!(
            "import boto3, json\niam = {}\n\
groups = {{g['GroupName']: g['Path'] for g in iam.list_groups()['Groups']}}\n\
users = {{u['UserName']: {{'path': u['Path'], 'groups': sorted(g['GroupName'] for g in iam.list_groups_for_user(UserName=u['UserName'])['Groups']), 'tags': {{t['Key']: t['Value'] for t in iam.list_user_tags(UserName=u['UserName'])['Tags']}}}} for u in iam.list_users()['Users']}}\n\
policies = {{g: iam.list_group_policies(GroupName=g)['PolicyNames'] for g in groups}}\n\
print(json.dumps({{'groups': groups, 'users': users, 'policies': policies}}))",
            m.boto3("iam")
        ),
    ])
}

#[test]
fn groups_and_users_are_kept_as_declared_and_deleted_whole() {
    let m = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bp.rhai"), BP).unwrap();
    let d = dir.path();
    m.bp(d, &["apply", "bp.rhai", "--auto-approve"], 0);
    m.bp(d, &["plan", "bp.rhai", "--detailed-exitcode"], 0);
    let s = state(&m);
    assert_eq!(s["groups"]["naas-team"], "/blueprint/bp/", "{s}");
    assert_eq!(s["users"]["ana"]["path"], "/blueprint/bp/", "{s}");
    assert_eq!(
        s["users"]["ana"]["groups"],
        serde_json::json!(["naas-team"]),
        "{s}"
    );
    assert_eq!(s["users"]["ana"]["tags"]["team"], "naas", "{s}");
    assert_eq!(
        s["policies"]["naas-team"],
        serde_json::json!(["require_mfa"]),
        "{s}"
    );

    // Someone takes her out of the group, and gives her a password and a key.
    m.python(&[
        "-c",
        &format!(
            "import boto3\niam = {}\niam.remove_user_from_group(GroupName='naas-team', UserName='ana')\n\
iam.create_login_profile(UserName='ana', Password='Passw0rd!-long')\niam.create_access_key(UserName='ana')",
            m.boto3("iam")
        ),
    ]);
    let out = m.bp(d, &["plan", "bp.rhai", "--detailed-exitcode"], 2);
    assert!(out.contains("  ~ iam_user.ana"), "{out}");
    assert!(out.contains("      groups: [] -> [\"naas-team\"]"), "{out}");
    m.bp(d, &["apply", "bp.rhai", "--auto-approve"], 0);
    assert_eq!(
        state(&m)["users"]["ana"]["groups"],
        serde_json::json!(["naas-team"])
    );
    m.bp(d, &["plan", "bp.rhai", "--detailed-exitcode"], 0);

    let out = m.bp(d, &["destroy", "bp.rhai", "--auto-approve"], 0);
    assert!(
        out.contains("Apply complete: 0 created, 0 updated, 2 deleted."),
        "{out}"
    );
    let s = state(&m);
    assert_eq!(s["groups"], serde_json::json!({}), "{s}");
    assert_eq!(s["users"], serde_json::json!({}), "{s}");
}
