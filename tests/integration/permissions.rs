//! `bp permissions` against moto's IAM enforcement: a user with exactly the
//! generated policy runs the command it was generated for; without one
//! action, the command fails naming it, or, for a kind the blueprint does
//! not declare, warns and goes on; and the policy holds no action beyond
//! what the command calls (compared with the actions Blueprint's own
//! request log shows it sent).
//!
//! moto checks each request's action against the caller's policies; it
//! takes every request's resource as "*" and evaluates no conditions, so
//! these tests use `--any-resource` (the same actions, on "*"). The
//! narrowed ARNs and tag conditions are checked by the unit tests in
//! src/permissions/tests.rs. tests/support/awsemu fixes moto's signature
//! check of bodiless REST requests (EKS, Backup, EFS GETs) and its name for
//! the tagging API's actions, so that every service Blueprint calls is
//! enforced.

use crate::harness::{repo, Test};
use crate::moto::Moto;
use serde_json::Value as Json;
use std::collections::BTreeSet;

/// `bp permissions FILE --for COMMAND --any-resource`, parsed.
fn policy(file: &str, command: &str, vars: &[&str]) -> Json {
    let mut args = vec![
        "permissions",
        file,
        "--for",
        command,
        "--any-resource",
        "--account",
        "123456789012",
    ];
    for v in vars {
        args.push("--var");
        args.push(v);
    }
    let out = Test::new().current_dir(repo()).args(args).run();
    serde_json::from_slice(&out.stdout).expect("a JSON policy")
}

/// The documents of a policy (one, or a list).
fn documents(p: &Json) -> Vec<Json> {
    match p {
        Json::Array(d) => d.clone(),
        d => vec![d.clone()],
    }
}

fn actions(p: &Json) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for d in documents(p) {
        for s in d["Statement"].as_array().unwrap() {
            match &s["Action"] {
                Json::String(a) => {
                    out.insert(a.clone());
                }
                Json::Array(l) => out.extend(l.iter().map(|a| a.as_str().unwrap().to_string())),
                other => panic!("{other}"),
            }
        }
    }
    out
}

/// The policy without one action.
fn without(p: &Json, action: &str) -> Json {
    let mut docs = documents(p);
    for d in &mut docs {
        for s in d["Statement"].as_array_mut().unwrap() {
            if let Json::Array(l) = &mut s["Action"] {
                l.retain(|a| a != action);
            }
        }
    }
    Json::Array(docs)
}

/// An IAM user with exactly `policy`; from now on moto enforces IAM.
/// Its access key id and secret.
fn user(m: &Moto, name: &str, policy: &Json) -> (String, String) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("policy.json");
    std::fs::write(&file, policy.to_string()).unwrap();
    let k = m.python_json(&["support:iam_user.py", &m.url, name, file.to_str().unwrap()]);
    (
        k["id"].as_str().unwrap().to_string(),
        k["secret"].as_str().unwrap().to_string(),
    )
}

/// moto stops enforcing IAM (for the test's own checks).
fn open(m: &Moto) {
    m.python(&["support:iam_user.py", &m.url, "--off"]);
}

/// The IAM actions a run sent, from Blueprint's request log.
fn sent(stderr: &str) -> BTreeSet<String> {
    stderr
        .lines()
        .filter(|l| l.contains("blueprint::aws: request"))
        .filter_map(|l| l.split("action=\"").nth(1)?.split('"').next())
        .map(String::from)
        .collect()
}

/// `bp ARGS` as the user with `keys`, logging each AWS request.
fn as_user(t: Test, keys: &(String, String)) -> Test {
    t.env("AWS_ACCESS_KEY_ID", &keys.0)
        .env("AWS_SECRET_ACCESS_KEY", &keys.1)
        .env("RUST_LOG", "blueprint::aws=debug")
}

fn run(t: Test, status: i32) -> (String, String) {
    let out = t.status(status).run();
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const INTRO: &str = "blueprints/eks-intro.rhai";

/// The actions of `policy` the run did not send, but for those `allowed`
/// to go unsent in this run, each with its reason.
fn unsent(policy: &Json, sent: &BTreeSet<String>, allowed: &[(&str, &str)]) -> Vec<String> {
    actions(policy)
        .into_iter()
        .filter(|a| !sent.contains(a))
        .filter(|a| {
            !allowed
                .iter()
                .any(|(p, _)| a == p || (p.ends_with('*') && a.starts_with(&p[..p.len() - 1])))
        })
        .collect()
}

/// What a plan of eks-intro does not send while the blueprint's resources
/// exist: per-resource reads of kinds it has none of, which a plan sends
/// only when it finds one.
const PLAN_UNSENT: &[(&str, &str)] = &[
    (
        "backup:GetBackupPlan",
        "per backup plan; eks-intro has none",
    ),
    ("backup:GetBackupSelection", "per selection; none"),
    ("backup:ListBackupSelections", "per backup plan; none"),
    ("backup:ListTags", "per vault and plan; none"),
    (
        "dynamodb:DescribeContinuousBackups",
        "per owned table; none (the lock table is not the blueprint's)",
    ),
    (
        "dynamodb:BatchGetItem",
        "the records of the last apply, of what a plan would change; a plan without changes reads none",
    ),
    ("ec2:DescribeInstanceAttribute", "per instance; none"),
    // Kinds the tagging API finds: listed only when the blueprint declares
    // them or owns one, and eks-intro does neither.
    ("ec2:DescribeInstances", "instances: found by tag; none"),
    ("ec2:DescribeSecurityGroups", "security groups: found by tag; none"),
    ("rds:DescribeDBInstances", "RDS instances: found by tag; none"),
    ("sqs:ListQueues", "queues: found by tag; none"),
    ("ssm:GetParametersByPath", "outputs: found by tag; none"),
    ("dynamodb:ListTables", "tables: found by tag; none"),
    ("dynamodb:DescribeTable", "tables: found by tag; none"),
    ("dynamodb:ListTagsOfResource", "tables: found by tag; none"),
    ("events:ListTagsForResource", "per rule; the emulator has none"),
    ("events:ListTargetsByRule", "per owned rule; none"),
    ("sqs:GetQueueAttributes", "per owned queue; none"),
    ("ec2:DescribeVolumes", "per instance; none"),
    (
        "ec2:DescribeLaunchTemplateVersions",
        "per launch template; none",
    ),
    ("eks:DescribeAccessEntry", "per access entry; none"),
    ("eks:ListAssociatedAccessPolicies", "per access entry; none"),
    ("eks:DescribeAddon", "per add-on; none"),
    (
        "eks:DescribePodIdentityAssociation",
        "per Pod Identity association; none",
    ),
    (
        "eks:ListInsights",
        "only when a plan steps a cluster's Kubernetes version; this one steps none",
    ),
    (
        "eks:DescribeInsight",
        "per upgrade insight in ERROR or WARNING of a version step; none",
    ),
    (
        "ssm:ListTagsForResource",
        "per output a plan would delete (who reads it), and per output of the blueprints it reads; none",
    ),
    ("eks:DescribeFargateProfile", "per Fargate profile; none"),
    (
        "elasticfilesystem:DescribeLifecycleConfiguration",
        "per file system; none",
    ),
    (
        "elasticfilesystem:DescribeMountTargets",
        "per file system; none",
    ),
    (
        "elasticfilesystem:DescribeMountTargetSecurityGroups",
        "per mount target; none",
    ),
    (
        "elasticfilesystem:DescribeAccessPoints",
        "per file system; none",
    ),
    (
        "iam:GetAccountPasswordPolicy",
        "only once the lock table holds a claim; none",
    ),
    ("iam:GetInstanceProfile", "per instance profile; none"),
    ("logs:ListTagsForResource", "per log group; none"),
    ("rds:DescribeDBParameters", "per parameter group; none"),
    ("rds:ListTagsForResource", "per subnet group; none"),
    ("s3:Get*", "per bucket; none"),
];

#[test]
fn eks_intro_plans_applies_and_destroys_with_exactly_its_policy() {
    let m = Moto::start();
    let bp = || Test::new().current_dir(repo()).moto(&m);

    // Plan, from nothing, as a user with the plan policy.
    let plan = policy(INTRO, "plan", &[]);
    let reader = user(&m, "ci-plan", &plan);
    let (out, err) = run(as_user(bp().args(["plan", INTRO]), &reader), 0);
    assert!(out.contains("Plan: 24 to add"), "{out}{err}");
    assert!(!err.contains("Warning"), "{err}");

    // Apply, as a user with the apply policy.
    open(&m);
    let apply = policy(INTRO, "apply", &[]);
    let applier = user(&m, "ci-apply", &apply);
    let (out, err) = run(
        as_user(bp().args(["apply", INTRO, "--auto-approve"]), &applier),
        0,
    );
    assert!(
        out.contains("Apply complete: 24 created, 0 updated, 0 deleted."),
        "{out}{err}"
    );

    // The no-op plan, as the reader; it sends every read of what exists.
    let (out, err) = run(
        as_user(bp().args(["plan", INTRO, "--detailed-exitcode"]), &reader),
        0,
    );
    assert!(out.contains("No changes. 24 resources match"), "{out}");
    let read = sent(&err);
    let extra = unsent(&plan, &read, PLAN_UNSENT);
    assert!(
        extra.is_empty(),
        "the plan policy allows what a plan never sends: {extra:?}"
    );
    // And each exception is one: the plan did not send it.
    let matches =
        |a: &str, x: &str| x == a || (a.ends_with('*') && x.starts_with(a.trim_end_matches('*')));
    let wrong: Vec<&str> = PLAN_UNSENT
        .iter()
        .map(|(a, _)| *a)
        .filter(|a| {
            read.iter().any(|r| matches(a, r)) || !actions(&plan).iter().any(|p| matches(a, p))
        })
        .collect();
    assert!(wrong.is_empty(), "sent, or not in the policy: {wrong:?}");

    // Without one action of a kind it declares, the plan fails naming it;
    // without one of a kind it does not declare, it warns and goes on.
    open(&m);
    let narrow = user(&m, "ci-narrow", &without(&plan, "ec2:DescribeVpcs"));
    let (_, err) = run(as_user(bp().args(["plan", INTRO]), &narrow), 1);
    assert!(err.contains("cannot list vpc (ec2:DescribeVpcs:"), "{err}");
    assert!(err.contains("allow ec2:DescribeVpcs"), "{err}");
    open(&m);
    let narrow = user(&m, "ci-narrow2", &without(&plan, "backup:ListBackupVaults"));
    let (out, err) = run(
        as_user(bp().args(["plan", INTRO, "--detailed-exitcode"]), &narrow),
        0,
    );
    assert!(
        format!("{out}{err}").contains("cannot list backup_vault (backup:ListBackupVaults:"),
        "{out}{err}"
    );

    // Destroy, as a user with the destroy policy.
    open(&m);
    let destroy = policy(INTRO, "destroy", &[]);
    let destroyer = user(&m, "ci-destroy", &destroy);
    let (out, err) = run(
        as_user(bp().args(["destroy", INTRO, "--auto-approve"]), &destroyer),
        0,
    );
    assert!(
        out.contains("Apply complete: 0 created, 0 updated, 24 deleted."),
        "{out}{err}"
    );
    open(&m);
    assert_eq!(
        crate::lifecycle::owned_nonzero(&m, "eks-intro"),
        Default::default()
    );
}

/// README's "Running in CI with least privilege" shows the policy
/// `bp permissions` prints for eks-intro, for plan (JSON) and apply (text).
#[test]
fn the_readme_shows_eks_intros_policy_as_bp_permissions_prints_it() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let between = |start: &str, end: &str| -> String {
        let from = readme.find(start).unwrap_or_else(|| panic!("{start}")) + start.len();
        let to = from + readme[from..].find(end).unwrap();
        readme[from..to].to_string()
    };
    let plan = between("--for plan`):\n\n```json\n", "```\n");
    let apply = between(
        "--for apply --format text</code>)</summary>\n\n```\n",
        "```\n",
    );
    let printed = |args: &[&str]| {
        let out = Test::new()
            .current_dir(repo())
            .args(args.iter().copied())
            .run();
        String::from_utf8(out.stdout).unwrap()
    };
    assert_eq!(
        plan,
        printed(&["permissions", INTRO, "--for", "plan"]),
        "README's plan policy"
    );
    assert_eq!(
        apply,
        printed(&["permissions", INTRO, "--for", "apply", "--format", "text"]),
        "README's apply policy"
    );
}

/// A blueprint with mistakes gets bp check's positioned errors, and no AWS
/// call is made (the endpoint is one nothing listens on).
#[test]
fn permissions_of_a_blueprint_with_errors_are_its_errors() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bp.rhai"),
        "let v = vpc(\"x\", #{ cidr: \"10.0.0.0/33\" });\n",
    )
    .unwrap();
    let check = Test::new()
        .current_dir(dir.path())
        .args(["check", "bp.rhai"])
        .status(1)
        .run();
    let out = Test::new()
        .current_dir(dir.path())
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .env("RUST_LOG", "blueprint::aws=debug")
        .args(["permissions", "bp.rhai"])
        .status(1)
        .run();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err, String::from_utf8_lossy(&check.stderr));
    assert!(err.contains("bp.rhai:1:"), "{err}");
    assert!(!err.contains("blueprint::aws"), "{err}");
    assert!(out.stdout.is_empty());
    // Nor does a good one: the policy comes from the blueprint alone.
    std::fs::write(
        dir.path().join("bp.rhai"),
        "vpc(\"x\", #{ cidr: \"10.0.0.0/16\" });\n",
    )
    .unwrap();
    let out = Test::new()
        .current_dir(dir.path())
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .env("RUST_LOG", "blueprint::aws=debug")
        .args(["permissions", "bp.rhai", "--for", "destroy"])
        .run();
    assert!(!String::from_utf8_lossy(&out.stderr).contains("blueprint::aws"));
    let p: Json = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(p["Version"], "2012-10-17");
    // Bad options are named.
    let out = Test::new()
        .current_dir(dir.path())
        .args(["permissions", "bp.rhai", "--for", "deploy"])
        .status(1)
        .run();
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("`deploy` is not a command with a policy: plan, apply or destroy"));
}

/// Digibee, whose blueprint also declares in-cluster objects and Helm
/// releases (on the Kubernetes emulator, which IAM does not guard): apply,
/// the no-op plan and destroy, each as a user with exactly its policy.
#[test]
fn digibee_applies_plans_and_destroys_with_exactly_its_policies() {
    use crate::lifecycle::{bp, Emulators};
    const FILE: &str = "blueprints/digibee.rhai";
    let emu = Emulators::start();
    let m = &emu.moto;
    let applier = user(m, "ci-apply", &policy(FILE, "apply", &[]));
    let (out, err) = run(
        as_user(bp(&emu, &["apply", FILE, "--auto-approve"], &[]), &applier),
        0,
    );
    assert!(out.contains("Apply complete: 55 created"), "{out}{err}");
    open(m);
    let reader = user(m, "ci-plan", &policy(FILE, "plan", &[]));
    let (out, err) = run(
        as_user(
            bp(&emu, &["plan", FILE, "--detailed-exitcode"], &[]),
            &reader,
        ),
        0,
    );
    assert!(out.contains("No changes. 55 resources match"), "{out}{err}");
    open(m);
    let destroyer = user(m, "ci-destroy", &policy(FILE, "destroy", &[]));
    let (out, err) = run(
        as_user(
            bp(
                &emu,
                &["destroy", FILE, "--auto-approve", "--include-protected"],
                &[],
            ),
            &destroyer,
        ),
        0,
    );
    assert!(
        out.contains("0 created, 0 updated, 55 deleted."),
        "{out}{err}"
    );
    open(m);
    assert_eq!(
        crate::lifecycle::owned_nonzero(m, "digibee"),
        Default::default()
    );
}
