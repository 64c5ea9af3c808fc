use super::*;
use crate::script::{evaluate, Options};

const BP: &str = r#"
let admin = existing_role("arn:aws:iam::123456789012:role/platform-admin");
let v = vpc("demo", #{ cidr: "10.0.0.0/16", azs: 2, private_subnets: ["10.0.10.0/24", "10.0.11.0/24"] });
let c = cluster("demo", #{ version: "1.32", vpc: v, subnets: v.private_subnets, irsa: false,
                           secrets_key: kms_key("demo-secrets", #{}) });
c.node_group("app", #{ instance_types: ["m6i.large"], min: 1, max: 3, desired: 1,
                       role: existing_role("arn:aws:iam::123456789012:role/shared-nodes") });
c.access_entry(admin, #{ policies: [#{ policy: "AmazonEKSClusterAdminPolicy" }] });
s3_bucket("demo-files-123", #{});
log_group("/app/demo", #{ retention_days: 7 });
"#;

fn policies(src: &str, command: Command) -> Policies {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("demo.rhai");
    std::fs::write(&file, src).unwrap();
    let options = Options {
        region: "eu-west-1".into(),
        ..Options::default()
    };
    let eval = evaluate(&file, &options).unwrap_or_else(|e| panic!("{}", e.render()));
    let req = Request {
        blueprint: &eval.name,
        region: &eval.region,
        account: "123456789012",
        command,
        any_resource: false,
    };
    compute(&eval.graph, &eval.existing, &req)
}

fn statements(p: &Policies) -> Vec<&Statement> {
    p.documents.iter().flatten().collect()
}

/// The statement allowing `action` on `resource`.
fn allowing<'a>(p: &'a Policies, action: &str, resource: &str) -> Option<&'a Statement> {
    statements(p)
        .into_iter()
        .find(|s| s.actions.contains(action) && s.resources.contains(resource))
}

#[test]
fn changes_are_narrowed_to_the_arns_the_blueprints_names_make_known() {
    let p = policies(BP, Command::Apply);
    let acct = "123456789012";
    let on = |action: &str, resource: &str| {
        allowing(&p, action, resource)
            .unwrap_or_else(|| panic!("{action} on {resource}:\n{}", render(&p, Format::Text, "x")))
    };
    on(
        "eks:CreateCluster",
        &format!("arn:aws:eks:eu-west-1:{acct}:cluster/demo"),
    );
    on(
        "eks:UpdateNodegroupConfig",
        &format!("arn:aws:eks:eu-west-1:{acct}:nodegroup/demo/app*/*"),
    );
    on(
        "eks:AssociateAccessPolicy",
        &format!("arn:aws:eks:eu-west-1:{acct}:access-entry/demo/*"),
    );
    on("s3:PutBucketPolicy", "arn:aws:s3:::demo-files-123");
    on(
        "logs:PutRetentionPolicy",
        &format!("arn:aws:logs:eu-west-1:{acct}:log-group:/app/demo"),
    );
    on(
        "iam:CreateRole",
        &format!("arn:aws:iam::{acct}:role/blueprint/demo/*"),
    );
    // Roles passed: the blueprint's own, and the existing one it names.
    let pass = on(
        "iam:PassRole",
        &format!("arn:aws:iam::{acct}:role/blueprint/demo/*"),
    );
    assert!(
        pass.resources
            .contains("arn:aws:iam::123456789012:role/shared-nodes"),
        "{pass:?}"
    );
    // Secrets encryption with the declared key: a grant for EKS only.
    let grant = on("kms:CreateGrant", "*");
    assert_eq!(
        grant.condition.as_ref().map(|c| c.key.as_str()),
        Some("kms:GrantIsForAWSResource")
    );
    // Nothing that names a resource is allowed everywhere.
    assert!(allowing(&p, "eks:CreateCluster", "*").is_none());
    assert!(allowing(&p, "iam:CreateRole", "*").is_none());
    assert!(allowing(&p, "s3:PutBucketPolicy", "*").is_none());
}

#[test]
fn pruning_is_narrowed_by_the_ownership_tag_or_the_blueprints_path() {
    let p = policies(BP, Command::Destroy);
    let tagged = statements(&p)
        .into_iter()
        .find(|s| s.actions.contains("ec2:DeleteVpc"))
        .expect("DeleteVpc");
    assert_eq!(
        tagged.condition,
        Some(Condition {
            test: "StringEquals",
            key: "aws:ResourceTag/blueprint:name".into(),
            values: vec!["demo".into()],
        })
    );
    assert!(tagged.actions.contains("eks:DeleteNodegroup"));
    assert!(allowing(
        &p,
        "iam:DeleteRole",
        "arn:aws:iam::123456789012:role/blueprint/demo/*"
    )
    .is_some());
    // Destroy creates nothing (but the lock's item).
    for s in statements(&p).into_iter().filter(|s| s.sid != "Lock") {
        for a in &s.actions {
            let verb = a.split(':').nth(1).unwrap_or_default();
            let makes =
                verb.starts_with("Create") || verb.starts_with("Put") || verb.starts_with("Run");
            assert!(
                !makes || a == "dynamodb:CreateTable",
                "{a} in a destroy policy"
            );
        }
    }
}

#[test]
fn a_plan_policy_only_reads() {
    let p = policies(BP, Command::Plan);
    for s in statements(&p) {
        for a in &s.actions {
            let verb = a.split(':').nth(1).unwrap_or_default();
            assert!(
                ["Describe", "List", "Get", "BatchGet"]
                    .iter()
                    .any(|v| verb.starts_with(v)),
                "{a} in a plan policy"
            );
        }
    }
    // The lock's table is read (the claims on account singletons, the
    // records of the last apply), and narrowed to it.
    for read in ["dynamodb:GetItem", "dynamodb:BatchGetItem"] {
        allowing(
            &p,
            read,
            "arn:aws:dynamodb:eu-west-1:123456789012:table/blueprint-locks",
        )
        .expect("reads of the lock table");
    }
    // Every kind is listed, declared or not: undeclared ones are pruned.
    allowing(&p, "backup:ListBackupVaults", "*").expect("an undeclared kind's list");
}

#[test]
fn a_large_policy_is_split_into_documents_iam_accepts() {
    // Many clusters make many narrowed statements.
    let mut src = String::from(
        "let v = vpc(\"big\", #{ cidr: \"10.0.0.0/16\", azs: 2, private_subnets: [\"10.0.10.0/24\", \"10.0.11.0/24\"] });\n",
    );
    for i in 0..40 {
        src.push_str(&format!(
            "let c{i} = cluster(\"a-rather-long-cluster-name-{i}\", #{{ version: \"1.32\", vpc: v, subnets: v.private_subnets, irsa: false }});\n\
             c{i}.node_group(\"workers-{i}\", #{{ instance_types: [\"m6i.large\"], min: 1, max: 3, desired: 1 }});\n"
        ));
    }
    let p = policies(&src, Command::Apply);
    assert!(p.documents.len() > 1, "{}", p.documents.len());
    let mut all = BTreeSet::new();
    for d in &p.documents {
        let size = render::document_json(d).to_string().len();
        assert!(size <= MAX_POLICY_CHARS, "{size}");
        for s in d {
            all.extend(s.actions.iter().cloned());
        }
    }
    // Nothing was lost in the split.
    let one = compute_any(&src);
    assert_eq!(all.len(), one.len());
    let json = render(&p, Format::Json, "x");
    let parsed: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(parsed.as_array().map(Vec::len), Some(p.documents.len()));
}

/// Every action of the apply policy of `src`, on `*`.
fn compute_any(src: &str) -> BTreeSet<String> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("big.rhai");
    std::fs::write(&file, src).unwrap();
    let eval = evaluate(&file, &Options::default()).unwrap();
    let req = Request {
        blueprint: &eval.name,
        region: "us-east-1",
        account: "*",
        command: Command::Apply,
        any_resource: true,
    };
    let p = compute(&eval.graph, &eval.existing, &req);
    p.documents
        .iter()
        .flatten()
        .flat_map(|s| s.actions.iter().cloned())
        .collect()
}

#[test]
fn terraform_and_text_say_the_same() {
    let p = policies(BP, Command::Apply);
    let tf = render(&p, Format::Terraform, "blueprint_demo_apply");
    assert!(tf.contains("data \"aws_iam_policy_document\" \"blueprint_demo_apply"));
    assert!(tf.contains("variable = \"aws:ResourceTag/blueprint:name\""));
    let text = render(&p, Format::Text, "x");
    for s in statements(&p) {
        for a in &s.actions {
            assert!(tf.contains(&format!("\"{a}\"")), "{a} in terraform");
            assert!(text.contains(&format!("  {a}\n")), "{a} in text");
        }
    }
    // The cluster's Kubernetes side is a note: IAM does not grant it.
    let p = policies(&format!("{BP}\nc.namespace(\"apps\");\n"), Command::Apply);
    assert!(
        p.notes.iter().any(|n| n.starts_with("cluster demo:")),
        "{:?}",
        p.notes
    );
}
