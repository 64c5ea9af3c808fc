//! The operator's controls: `--target` and `--exclude` (Terraform's
//! `-target`, OpenTofu's `-exclude`) on plan, apply and destroy,
//! `--replace` (Terraform's `-replace`), and saved plans known by their
//! content whatever their file's name.

use crate::moto::Moto;
use serde_json::Value as Json;
use std::collections::BTreeSet;

const BP: &str = r#"
let v = vpc("demo", #{ cidr: "10.0.0.0/16", azs: 2, private_subnets: ["10.0.10.0/24", "10.0.11.0/24"] });
security_group(v, "web", #{ description: "web", ingress: [rule(#{ protocol: "tcp", port: 443, cidr: "10.0.0.0/16" })] });
s3_bucket("demo-files-ctl", #{});
log_group("/app/ctl", #{ retention_days: 7 });
"#;

fn addresses(plan: &Json, key: &str) -> BTreeSet<String> {
    plan[key]
        .as_array()
        .map(|l| {
            l.iter()
                .map(|c| c["address"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}

fn json(m: &Moto, d: &std::path::Path, args: &[&str]) -> Json {
    let mut all = vec!["plan", "bp.rhai", "--json"];
    all.extend(args);
    serde_json::from_str(&m.bp(d, &all, 0)).unwrap()
}

#[test]
fn target_and_exclude_plan_apply_and_destroy_part_of_a_blueprint() {
    let m = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("bp.rhai"), BP).unwrap();

    // A target takes in what it depends on.
    let out = m.bp(
        d,
        &["plan", "bp.rhai", "--target", "security_group.demo/web"],
        0,
    );
    assert!(out.contains("  + vpc.demo\n"), "{out}");
    assert!(out.contains("  + security_group.demo/web\n"), "{out}");
    assert!(out.contains("Left out by --target/--exclude:"), "{out}");
    assert!(
        out.contains("  + s3_bucket.demo-files-ctl  (not targeted)"),
        "{out}"
    );
    assert!(
        out.contains(
            "Note: this plan covers part of the blueprint (--target security_group.demo/web)"
        ),
        "{out}"
    );
    assert!(out.contains("Plan: 2 to add, 0 to change"), "{out}");
    let p = json(&m, d, &["--target", "security_group.demo/web"]);
    assert_eq!(p["targets"], serde_json::json!(["security_group.demo/web"]));
    assert_eq!(
        addresses(&p, "changes"),
        BTreeSet::from([
            "vpc.demo".to_string(),
            "security_group.demo/web".to_string()
        ])
    );
    assert!(
        addresses(&p, "left_out").contains("log_group.app/ctl"),
        "{p}"
    );

    // Saved under any name, the plan is applied as made: the targets only.
    let out = m.bp(
        d,
        &[
            "plan",
            "bp.rhai",
            "--target",
            "security_group.demo/web",
            "-o",
            "tfplan",
        ],
        0,
    );
    assert!(out.contains("Saved the plan to tfplan"), "{out}");
    let out = m.bp(d, &["apply", "tfplan", "--auto-approve"], 0);
    assert!(
        out.contains("Apply complete: 2 created, 0 updated, 0 deleted."),
        "{out}"
    );
    // The targeted part has converged; the rest has not.
    m.bp(
        d,
        &[
            "plan",
            "bp.rhai",
            "--detailed-exitcode",
            "--target",
            "security_group.demo/web",
        ],
        0,
    );
    m.bp(d, &["plan", "bp.rhai", "--detailed-exitcode"], 2);
    // A saved plan's choices are in it.
    m.bp(d, &["plan", "bp.rhai", "-o", "whole"], 0);
    let out = m.bp(
        d,
        &["apply", "whole", "--auto-approve", "--target", "vpc.demo"],
        1,
    );
    assert!(
        out.contains("a saved plan is applied as it was made"),
        "{out}"
    );

    // An exclude leaves out what depends on it; globs select.
    let p = json(&m, d, &["--exclude", "subnet.demo/*"]);
    let left = p["left_out"].as_array().unwrap();
    let why = |a: &str| {
        left.iter()
            .find(|l| l["address"] == a)
            .map(|l| l["why"].as_str().unwrap().to_string())
    };
    assert_eq!(why("subnet.demo/private-a").as_deref(), Some("excluded"));
    let route = left
        .iter()
        .find(|l| l["address"].as_str().unwrap().starts_with("route_table."))
        .unwrap_or_else(|| panic!("{p}"));
    assert!(
        route["why"]
            .as_str()
            .unwrap()
            .starts_with("depends on subnet.demo/private-"),
        "{route}"
    );
    assert!(addresses(&p, "changes").contains("s3_bucket.demo-files-ctl"));
    let out = m.bp(
        d,
        &[
            "apply",
            "bp.rhai",
            "--auto-approve",
            "--exclude",
            "subnet.demo/*",
        ],
        0,
    );
    assert!(out.contains("+ s3_bucket.demo-files-ctl: created"), "{out}");
    assert!(!out.contains("+ subnet.demo/private-a: created"), "{out}");

    // What matches nothing is named, with the nearest address.
    let out = m.bp(
        d,
        &["plan", "bp.rhai", "--target", "subnet.demo/privat-a"],
        1,
    );
    assert!(
        out.contains("--target subnet.demo/privat-a matches no address of the blueprint or of what it owns; the nearest is subnet.demo/private-a"),
        "{out}"
    );

    // The rest, then a destroy of one part: what depends on it goes too.
    m.bp(d, &["apply", "bp.rhai", "--auto-approve"], 0);
    let out = m.bp(
        d,
        &[
            "destroy",
            "bp.rhai",
            "--auto-approve",
            "--target",
            "security_group.demo/web",
        ],
        0,
    );
    assert!(
        out.contains("Apply complete: 0 created, 0 updated, 1 deleted."),
        "{out}"
    );
    let out = m.bp(d, &["plan", "bp.rhai"], 0);
    assert!(out.contains("  + security_group.demo/web"), "{out}");
    assert!(out.contains("Plan: 1 to add, 0 to change"), "{out}");
}

#[test]
fn replace_forces_a_replacement_with_the_kinds_strategy() {
    let m = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("bp.rhai"), BP).unwrap();
    m.bp(d, &["apply", "bp.rhai", "--auto-approve"], 0);

    let out = m.bp(
        d,
        &[
            "plan",
            "bp.rhai",
            "--replace",
            "log_group.app/ctl",
            "--detailed-exitcode",
        ],
        2,
    );
    assert!(out.contains("-/+ log_group.app/ctl"), "{out}");
    assert!(out.contains("requested with --replace"), "{out}");
    assert!(
        out.contains("Plan: 0 to add, 0 to change, 1 to replace"),
        "{out}"
    );
    let p = json(&m, d, &["--replace", "log_group.app/ctl"]);
    assert_eq!(p["changes"][0]["reason"]["type"], "requested", "{p}");
    let out = m.bp(
        d,
        &[
            "apply",
            "bp.rhai",
            "--auto-approve",
            "--replace",
            "log_group.app/ctl",
        ],
        0,
    );
    assert!(
        out.contains("Apply complete: 1 created, 0 updated, 1 deleted."),
        "{out}"
    );
    m.bp(d, &["plan", "bp.rhai", "--detailed-exitcode"], 0);

    // A protected resource only with --include-protected.
    let out = m.bp(
        d,
        &["plan", "bp.rhai", "--replace", "s3_bucket.demo-files-ctl"],
        1,
    );
    assert!(out.contains("protected"), "{out}");
    let out = m.bp(
        d,
        &[
            "plan",
            "bp.rhai",
            "--replace",
            "s3_bucket.demo-files-ctl",
            "--include-protected",
        ],
        0,
    );
    assert!(out.contains("-/+ s3_bucket.demo-files-ctl"), "{out}");
    // It lets --replace take a protected resource, and nothing else: a
    // protected bucket no longer declared is still refused.
    std::fs::write(
        d.join("bp.rhai"),
        BP.replace("s3_bucket(\"demo-files-ctl\", #{});\n", ""),
    )
    .unwrap();
    let out = m.bp(
        d,
        &[
            "plan",
            "bp.rhai",
            "--replace",
            "log_group.app/ctl",
            "--include-protected",
        ],
        1,
    );
    assert!(
        out.contains(
            "s3_bucket.demo-files-ctl would delete it: no longer declared in the blueprint"
        ),
        "{out}"
    );
    std::fs::write(d.join("bp.rhai"), BP).unwrap();

    // Only what is declared and exists.
    let out = m.bp(d, &["plan", "bp.rhai", "--replace", "log_group.app/ct"], 1);
    assert!(
        out.contains("--replace log_group.app/ct: the blueprint declares no such address; the nearest is log_group.app/ctl"),
        "{out}"
    );
    std::fs::write(
        d.join("bp.rhai"),
        format!("{BP}\nlog_group(\"/app/new\", #{{}});\n"),
    )
    .unwrap();
    let out = m.bp(d, &["plan", "bp.rhai", "--replace", "log_group.app/new"], 1);
    assert!(
        out.contains(
            "--replace log_group.app/new: it does not exist yet, so there is nothing to replace"
        ),
        "{out}"
    );
    let out = m.bp(
        d,
        &["destroy", "bp.rhai", "--replace", "log_group.app/ctl"],
        1,
    );
    assert!(out.contains("destroy replaces nothing"), "{out}");
}

/// `moved(from, to)`: a node group renamed in the blueprint keeps its EKS
/// node group (its id), re-tagged at the new address; the line can stay.
#[test]
fn moved_keeps_a_renamed_resource() {
    let m = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let base = r#"
let v = vpc("demo", #{ cidr: "10.0.0.0/16", azs: 2, private_subnets: ["10.0.10.0/24", "10.0.11.0/24"] });
let c = cluster("demo", #{ version: "1.32", vpc: v, subnets: v.private_subnets, irsa: false });
"#;
    std::fs::write(
        d.join("bp.rhai"),
        format!("{base}c.node_group(\"app\", #{{ instance_types: [\"m6i.large\"], min: 1, max: 3, desired: 1 }});\n"),
    )
    .unwrap();
    m.bp(d, &["apply", "bp.rhai", "--auto-approve"], 0);
    let groups = || {
        m.python_json(&[
            "-c",
            &format!(
                "import boto3, json\neks = {}\nprint(json.dumps([eks.describe_nodegroup(clusterName='demo', nodegroupName=n)['nodegroup']['nodegroupArn'] for n in eks.list_nodegroups(clusterName='demo')['nodegroups']]))",
                m.boto3("eks")
            ),
        ])
    };
    let before = groups();

    let renamed = format!(
        "{base}c.node_group(\"apps\", #{{ instance_types: [\"m6i.large\"], min: 1, max: 3, desired: 1 }});\nmoved(\"node_group.demo/app\", \"node_group.demo/apps\");\n"
    );
    std::fs::write(d.join("bp.rhai"), &renamed).unwrap();
    let out = m.bp(d, &["plan", "bp.rhai", "--detailed-exitcode"], 2);
    assert!(
        out.contains("  moved: node_group.demo/app → node_group.demo/apps"),
        "{out}"
    );
    assert!(!out.contains("+ node_group"), "{out}");
    assert!(!out.contains("- node_group"), "{out}");
    assert!(
        out.contains("Plan: 0 to add, 0 to change, 0 to replace, 0 to destroy. 1 to move."),
        "{out}"
    );
    let p: Json = serde_json::from_str(&m.bp(d, &["plan", "bp.rhai", "--json"], 0)).unwrap();
    assert_eq!(p["moved"][0]["from"], "node_group.demo/app", "{p}");
    // Saved, the plan applies its move (the live state it checks is read
    // as moved).
    m.bp(d, &["plan", "bp.rhai", "-o", "moving"], 0);
    let out = m.bp(d, &["apply", "moving", "--auto-approve"], 0);
    assert!(
        out.contains("> node_group.demo/app: moved to node_group.demo/apps"),
        "{out}"
    );
    assert!(
        out.contains("Apply complete: 0 created, 0 updated, 0 deleted. 1 moved."),
        "{out}"
    );
    assert_eq!(groups(), before, "the same node group");
    // The line can stay: a note, no change.
    let out = m.bp(d, &["plan", "bp.rhai", "--detailed-exitcode"], 0);
    assert!(
        out.contains("Note: moved(node_group.demo/app, node_group.demo/apps): nothing is at node_group.demo/app any more"),
        "{out}"
    );

    // A move onto what exists, or onto what is not declared, is refused;
    // so are two moves of one resource, and one onto another kind, at bp
    // check.
    let other = format!(
        "{renamed}c.node_group(\"other\", #{{ instance_types: [\"m6i.large\"], min: 1, max: 3, desired: 1 }});\n"
    );
    std::fs::write(d.join("bp.rhai"), &other).unwrap();
    m.bp(d, &["apply", "bp.rhai", "--auto-approve"], 0);
    std::fs::write(
        d.join("bp.rhai"),
        format!("{other}moved(\"node_group.demo/apps\", \"node_group.demo/other\");\n"),
    )
    .unwrap();
    let out = m.bp(d, &["plan", "bp.rhai"], 1);
    assert!(
        out.contains("moved(node_group.demo/apps, node_group.demo/other): node_group.demo/other exists already, so node_group.demo/apps cannot move there"),
        "{out}"
    );
    std::fs::write(
        d.join("bp.rhai"),
        format!("{renamed}moved(\"node_group.demo/app\", \"node_group.demo/x\");\n"),
    )
    .unwrap();
    let out = m.bp(d, &["check", "bp.rhai"], 1);
    assert!(out.contains("node_group.demo/app is moved twice"), "{out}");
    std::fs::write(
        d.join("bp.rhai"),
        format!("{base}c.node_group(\"apps\", #{{ instance_types: [\"m6i.large\"], min: 1, max: 3, desired: 1 }});\nmoved(\"node_group.demo/apps\", \"node_group.demo/other\");\n"),
    )
    .unwrap();
    let out = m.bp(d, &["plan", "bp.rhai"], 1);
    assert!(
        out.contains("moved(node_group.demo/apps, node_group.demo/other): the blueprint declares nothing at node_group.demo/other"),
        "{out}"
    );
    std::fs::write(
        d.join("bp.rhai"),
        format!("{base}moved(\"node_group.demo/apps\", \"security_group.demo/apps\");\n"),
    )
    .unwrap();
    let out = m.bp(d, &["check", "bp.rhai"], 1);
    assert!(
        out.contains("moves a node_group onto a security_group: a resource keeps its kind"),
        "{out}"
    );
    assert!(out.contains("bp.rhai:4:1"), "{out}");
    // An in-cluster object's address is its Kubernetes identity.
    std::fs::write(
        d.join("bp.rhai"),
        format!("{base}let ns = c.namespace(\"apps\");\nns.config_map(\"settings\", #{{ data: #{{ a: \"1\" }} }});\nmoved(\"config_map.demo/apps/old-settings\", \"config_map.demo/apps/settings\");\n"),
    )
    .unwrap();
    let out = m.bp(d, &["check", "bp.rhai"], 1);
    assert!(
        out.contains("moved(config_map.demo/apps/old-settings, config_map.demo/apps/settings): a config_map's address is its Kubernetes identity"),
        "{out}"
    );
    assert!(out.contains("bp.rhai:6:1"), "{out}");
}

/// Each difference is told drift (changed outside Blueprint since the last
/// apply), declared (the blueprint changed) or both, from the record the
/// apply keeps; `bp plan --drift` shows only drift, for a nightly job.
#[test]
fn drift_is_told_apart_from_declared_changes() {
    let m = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("bp.rhai"),
        r#"
let team = var("team", "a");
log_group("/app/drift", #{ retention_days: 7, tags: #{ team: team } });
log_group("/app/gone", #{ retention_days: 7 });
"#,
    )
    .unwrap();
    m.bp(d, &["apply", "bp.rhai", "--auto-approve"], 0);
    let logs = |code: &str| {
        m.python(&[
            "-c",
            &format!("import boto3\nlogs = {}\n{code}", m.boto3("logs")),
        ]);
    };
    // Someone edits a tag in the console, and deletes a log group.
    logs("logs.tag_log_group(logGroupName='/app/drift', tags={'team': 'console'})\nlogs.delete_log_group(logGroupName='/app/gone')");
    let out = m.bp(d, &["plan", "bp.rhai"], 0);
    assert!(
        out.contains("  ~ log_group.app/drift  (/app/drift)  # drift\n"),
        "{out}"
    );
    assert!(
        out.contains("      tags.team: \"console\" -> \"a\"  # drift\n"),
        "{out}"
    );
    assert!(
        out.contains("  + log_group.app/gone  # drift: deleted since the last apply\n"),
        "{out}"
    );
    assert!(
        out.contains(
            "Origin of the changes: 2 drift (changed outside Blueprint since the last apply)."
        ),
        "{out}"
    );
    let p = json(&m, d, &[]);
    let change = |p: &Json, a: &str| -> Json {
        p["changes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["address"] == a)
            .cloned()
            .unwrap_or_else(|| panic!("no change of {a}: {p}"))
    };
    assert_eq!(change(&p, "log_group.app/drift")["origin"], "drift", "{p}");
    assert_eq!(
        change(&p, "log_group.app/drift")["fields"][0]["origin"],
        "drift",
        "{p}"
    );
    assert_eq!(change(&p, "log_group.app/gone")["origin"], "drift", "{p}");
    let out = m.bp(d, &["plan", "bp.rhai", "--drift"], 2);
    assert!(
        out.contains("Drift: 2 resource(s) changed outside Blueprint since the last apply"),
        "{out}"
    );

    // The blueprint changes the tag too, and someone the retention: the tag
    // is both, the retention drift, the change both.
    logs("logs.put_retention_policy(logGroupName='/app/drift', retentionInDays=14)");
    let p = json(&m, d, &["--var", "team=b"]);
    let c = change(&p, "log_group.app/drift");
    assert_eq!(c["origin"], "both", "{p}");
    let origin = |path: &str| {
        c["fields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["path"] == path)
            .map(|f| f["origin"].clone())
            .unwrap_or_else(|| panic!("no field {path}: {c}"))
    };
    assert_eq!(origin("tags.team"), "both");
    assert_eq!(origin("retention_days"), "drift");
    let p: Json = serde_json::from_str(&m.bp(
        d,
        &["plan", "bp.rhai", "--drift", "--json", "--var", "team=b"],
        2,
    ))
    .unwrap();
    assert_eq!(p["drift"]["changes"], 2, "{p}");

    // Applied, the record is the new declaration: going back to team=a is
    // declared, and no drift.
    m.bp(
        d,
        &["apply", "bp.rhai", "--auto-approve", "--var", "team=b"],
        0,
    );
    m.bp(
        d,
        &["plan", "bp.rhai", "--var", "team=b", "--detailed-exitcode"],
        0,
    );
    let p = json(&m, d, &[]);
    let c = change(&p, "log_group.app/drift");
    assert_eq!(c["origin"], "declared", "{p}");
    assert_eq!(c["fields"][0]["path"], "tags.team", "{p}");
    assert_eq!(c["fields"][0]["origin"], "declared", "{p}");
    let out = m.bp(d, &["plan", "bp.rhai", "--drift"], 0);
    assert!(
        out.contains("No drift: nothing changed outside Blueprint since the last apply."),
        "{out}"
    );
    assert!(
        out.contains("Not shown: 1 change(s) the blueprint itself declares."),
        "{out}"
    );
    // Without its record, a difference is not told.
    m.python(&[
        "-c",
        &format!(
            "import boto3\ndb = {}\ndb.delete_item(TableName='blueprint-locks', Key={{'blueprint': {{'S': 'applied:bp:log_group.app/drift'}}}})",
            m.boto3("dynamodb")
        ),
    ]);
    let out = m.bp(d, &["plan", "bp.rhai", "--drift"], 0);
    assert!(
        out.contains("Not told: 1 change(s) have no record of their last apply"),
        "{out}"
    );
    assert!(!out.contains("Not shown:"), "{out}");
    // --drift cannot be saved: it is a view, not the plan.
    let out = m.bp(d, &["plan", "bp.rhai", "--drift", "-o", "p.json"], 1);
    assert!(out.contains("cannot be used with"), "{out}");

    // Destroy forgets the records with the resources.
    m.bp(d, &["destroy", "bp.rhai", "--auto-approve"], 0);
    let left = m.python_json(&[
        "-c",
        &format!(
            "import boto3, json\ndb = {}\nprint(json.dumps([i['blueprint']['S'] for i in db.scan(TableName='blueprint-locks')['Items']]))",
            m.boto3("dynamodb")
        ),
    ]);
    assert!(
        !left.to_string().contains("applied:"),
        "records left after destroy: {left}"
    );
}
