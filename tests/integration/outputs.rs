//! Outputs shared between blueprints: `output(key, value)` publishes to SSM
//! Parameter Store, `bp output` reads them, `blueprint_outputs(name)` reads
//! them in another blueprint at plan time and records it as their reader,
//! and deleting what a reader reads is refused. Checked with boto3 against
//! the emulator, on PMS split in two (pms-network.rhai, pms-cluster.rhai).

use crate::harness::{repo, Test};
use crate::lifecycle::{bp, Emulators};
use crate::moto::Moto;
use serde_json::{json, Value};

/// Every parameter under /blueprint/ with its value and tags.
fn parameters(m: &Moto) -> Value {
    m.python_json(&[
        "-c",
        &format!(
            "import boto3, json\n\
ssm = {}\n\
tags = lambda n: {{t['Key']: t['Value'] for t in ssm.list_tags_for_resource(ResourceType='Parameter', ResourceId=n)['TagList']}}\n\
params = ssm.get_parameters_by_path(Path='/blueprint', Recursive=True)['Parameters']\n\
print(json.dumps({{p['Name']: {{'value': json.loads(p['Value']), 'type': p['Type'], 'tags': tags(p['Name'])}} for p in params}}))",
            m.boto3("ssm")
        ),
    ])
}

fn vpcs(m: &Moto) -> Vec<String> {
    let script = format!(
        "import boto3, json\nprint(json.dumps([v['VpcId'] for v in {}.describe_vpcs()['Vpcs'] if not v['IsDefault']]))",
        m.boto3("ec2")
    );
    serde_json::from_value(m.python_json(&["-c", &script])).unwrap()
}

fn text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn split_pms_shares_its_network_through_outputs_and_the_reader_guards_them() {
    let emu = Emulators::start();
    let m = &emu.moto;
    let env = ["env=dev"];
    let network = "blueprints/pms-network.rhai";
    let cluster = "blueprints/pms-cluster.rhai";

    // The cluster cannot be planned before the network has published.
    let out = bp(&emu, &["plan", cluster], &env).status(1).run();
    let said = text(&out);
    assert!(
        said.contains("blueprint \"pms-dev-network\" has published no outputs in us-east-1")
            && said.contains("pms-cluster.rhai:18:11"),
        "{said}"
    );

    // As a fleet (in any order on the command line): the network is
    // planned first, and the cluster waits for it to be applied.
    let fleet = bp(
        &emu,
        &["plan", cluster, network, "--detailed-exitcode"],
        &env,
    )
    .status(2)
    .run();
    let said = text(&fleet);
    assert!(
        said.contains("== pms-dev-network (blueprints/pms-network.rhai)\n")
            && !said.contains("== pms-dev-cluster")
            && said.contains("Fleet of 2 blueprints, in order:\n  blueprint        account       region     changes                           cost / month\n  pms-dev-network  123456789012  us-east-1  +14 ~0 -/+0 -0                    +$41.00\n")
            && said.contains("\n  pms-dev-cluster  -             us-east-1  after pms-dev-network is applied  -\n"),
        "{said}"
    );
    let fleet = bp(&emu, &["plan", "--json", cluster, network], &env).run();
    let fleet: Value = serde_json::from_slice(&fleet.stdout).unwrap();
    assert_eq!(fleet["fleet"][0]["blueprint"], "pms-dev-network");
    assert_eq!(fleet["fleet"][0]["plan"]["blueprint"], "pms-dev-network");
    assert_eq!(fleet["fleet"][1]["waits_for"], json!(["pms-dev-network"]));
    assert_eq!(fleet["fleet"][1]["reads"], json!(["pms-dev-network"]));
    assert_eq!(fleet["fleet"][1]["plan"], Value::Null);

    bp(&emu, &["apply", network, "--auto-approve"], &env).run();
    let params = parameters(m);
    let vpc = &vpcs(m)[0];
    let vpc_id = &params["/blueprint/pms-dev-network/outputs/vpc_id"];
    assert_eq!(vpc_id["value"], json!(vpc), "{params}");
    assert_eq!(vpc_id["type"], "String");
    assert_eq!(vpc_id["tags"]["blueprint:name"], "pms-dev-network");
    assert_eq!(vpc_id["tags"]["blueprint:address"], "output.vpc_id");
    let private = params["/blueprint/pms-dev-network/outputs/private_subnets"]["value"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(private.len(), 2, "{params}");
    assert!(private
        .iter()
        .all(|s| s.as_str().unwrap().starts_with("subnet-")));
    assert_eq!(
        params["/blueprint/pms-dev-network/outputs/cidr"]["value"],
        "10.1.0.0/16"
    );

    // bp output: every output, one as it is, JSON.
    let shown = bp(&emu, &["output", network], &env).run();
    let shown = String::from_utf8_lossy(&shown.stdout).into_owned();
    assert!(
        shown.starts_with("Outputs of blueprint pms-dev-network in us-east-1:\n")
            && shown.contains(&format!(
                "  vpc_id          = \"{vpc}\"  # the platform's VPC\n"
            )),
        "{shown}"
    );
    bp(&emu, &["output", network, "vpc_id"], &env)
        .stdout(&format!("{vpc}\n"))
        .run();
    let all = bp(&emu, &["output", network, "--json"], &env).run();
    let all: Value = serde_json::from_slice(&all.stdout).unwrap();
    assert_eq!(all["private_subnets"], json!(private));
    let out = bp(&emu, &["output", network, "vpc"], &env).status(1).run();
    assert!(
        text(&out).contains(
            "blueprint pms-dev-network has no output \"vpc\"\n  = hint: it publishes: cidr, private_subnets, public_subnets, vpc_id"
        ),
        "{}",
        text(&out)
    );
    bp(&emu, &["plan", network, "--detailed-exitcode"], &env)
        .stdout_contains("No changes.")
        .run();

    // The cluster reads them: the plan says which, the apply records it.
    let plan = bp(&emu, &["plan", cluster, "--json"], &env).status(0).run();
    let plan: Value = serde_json::from_slice(&plan.stdout).unwrap();
    let uses = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["address"] == "output_use.pms-dev-network")
        .expect("the plan records what it reads");
    assert_eq!(uses["action"], "create");
    let desired = plan["desired"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["address"] == "output_use.pms-dev-network")
        .unwrap();
    assert_eq!(
        desired["spec"]["keys"],
        json!(["private_subnets", "vpc_id"])
    );
    // Applied as a fleet: the network (no changes), then the cluster.
    let applied = bp(&emu, &["apply", cluster, network, "--auto-approve"], &env).run();
    let said = text(&applied);
    assert!(
        said.starts_with(
            "Fleet of 2 blueprints, in this order: pms-dev-network, pms-dev-cluster\n"
        ) && said.contains("Apply complete: 41 created"),
        "{said}"
    );
    bp(
        &emu,
        &["plan", network, cluster, "--detailed-exitcode"],
        &env,
    )
    .stdout_contains("  pms-dev-cluster  123456789012  us-east-1  no changes  +$0.00\n")
    .run();
    let params = parameters(m);
    for key in ["vpc_id", "private_subnets"] {
        let tags = &params[format!("/blueprint/pms-dev-network/outputs/{key}")]["tags"];
        assert_eq!(tags["blueprint:reader:pms-dev-cluster"], "true", "{params}");
    }
    assert_eq!(
        params["/blueprint/pms-dev-network/outputs/cidr"]["tags"]
            .get("blueprint:reader:pms-dev-cluster"),
        None,
        "an output it does not use"
    );
    // The cluster is on the network's VPC and private subnets.
    let on = m.python_json(&[
        "-c",
        &format!(
            "import boto3, json\nc = {}.describe_cluster(name='pms-dev')['cluster']['resourcesVpcConfig']\nvpcs = {{s['VpcId'] for s in {}.describe_subnets(SubnetIds=c['subnetIds'])['Subnets']}}\nprint(json.dumps([sorted(vpcs), sorted(c['subnetIds'])]))",
            m.boto3("eks"),
            m.boto3("ec2")
        ),
    ]);
    let mut want: Vec<String> = private
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect();
    want.sort();
    assert_eq!(on, json!([[vpc], want]));

    // Destroying the network while the cluster reads it is refused, and
    // nothing is deleted.
    let out = bp(&emu, &["destroy", network, "--auto-approve"], &env)
        .status(1)
        .run();
    let said = text(&out);
    assert!(
        said.contains("the plan would delete what other blueprints read:\n  output.private_subnets is read by blueprint pms-dev-cluster\n  output.vpc_id is read by blueprint pms-dev-cluster\n")
            && said.contains("--ignore-readers"),
        "{said}"
    );
    assert_eq!(vpcs(m).len(), 1);
    assert_eq!(parameters(m).as_object().unwrap().len(), 4);

    // The fleet's destroy takes them in reverse: the cluster (its reader
    // tags go), then the network.
    let destroyed = bp(&emu, &["destroy", network, cluster, "--auto-approve"], &env).run();
    let said = text(&destroyed);
    assert!(
        said.starts_with(
            "Fleet of 2 blueprints, in this order: pms-dev-cluster, pms-dev-network\n"
        ),
        "{said}"
    );
    assert_eq!(parameters(m), json!({}));
    assert!(vpcs(m).is_empty());
}

const SOURCE: &str = r#"
blueprint_name("source");
output("name", "shared", #{ description: "a name" });
output("sizes", #{ small: 1, large: [2, 3] });
output("flag", true);
"#;

const READER: &str = r#"
blueprint_name("reader");
let o = blueprint_outputs("source");
let g = log_group("/reader/" + o.name, #{ tags: #{ large: "" + o["sizes"].large[1] } });
if var("flag", false) { log_group("/reader/flag-" + o.flag, #{}); }
"#;

#[test]
fn a_reader_uses_what_it_names_and_its_tags_follow_what_it_reads() {
    let m = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("source.rhai"), SOURCE).unwrap();
    std::fs::write(dir.path().join("reader.rhai"), READER).unwrap();
    // The folder as a fleet: the source first, its reader after it.
    let fleet = m.bp(
        dir.path(),
        &["plan", "--all", ".", "--detailed-exitcode"],
        2,
    );
    assert!(
        fleet.contains("  source     123456789012  us-east-1  +3 ~0 -/+0 -0            +$0.00\n")
            && fleet.contains("  reader     -             us-east-1  after source is applied  -\n"),
        "{fleet}"
    );
    let refused = m.bp(dir.path(), &["plan", "--all", "source.rhai"], 1);
    assert!(
        refused.contains("--all takes a folder, and source.rhai is not one"),
        "{refused}"
    );
    // A fleet apply stops at the first blueprint that fails: a log group
    // of the source's name that is someone else's fails its apply, and the
    // reader is not run.
    std::fs::write(
        dir.path().join("source.rhai"),
        format!("{SOURCE}log_group(\"/taken\", #{{}});\n"),
    )
    .unwrap();
    m.python(&[
        "-c",
        &format!(
            "import boto3\n{}.create_log_group(logGroupName='/taken')",
            m.boto3("logs")
        ),
    ]);
    let stopped = m.bp(dir.path(), &["apply", "--all", ".", "--auto-approve"], 1);
    assert!(
        stopped.contains("Stopped at source: not run: reader."),
        "{stopped}"
    );
    std::fs::write(dir.path().join("source.rhai"), SOURCE).unwrap();
    m.bp(dir.path(), &["apply", "--all", ".", "--auto-approve"], 0);
    m.bp(
        dir.path(),
        &["plan", "--all", ".", "--detailed-exitcode"],
        0,
    );
    let groups = m.python_json(&[
        "-c",
        &format!(
            "import boto3, json\nprint(json.dumps({{g['logGroupName']: {}.list_tags_log_group(logGroupName=g['logGroupName'])['tags'] for g in {}.describe_log_groups()['logGroups']}}))",
            m.boto3("logs"),
            m.boto3("logs")
        ),
    ]);
    assert_eq!(groups["/reader/shared"]["large"], "3", "{groups}");
    let readers = |m: &Moto| -> Vec<String> {
        let params = parameters(m);
        let mut read: Vec<String> = params
            .as_object()
            .unwrap()
            .iter()
            .filter(|(_, p)| p["tags"].get("blueprint:reader:reader").is_some())
            .map(|(k, _)| k.clone())
            .collect();
        read.sort();
        read
    };
    assert_eq!(
        readers(&m),
        [
            "/blueprint/source/outputs/name",
            "/blueprint/source/outputs/sizes"
        ]
    );
    // Reading one more output is a change to its record; the plan says so.
    let plan = m.bp(
        dir.path(),
        &["plan", "reader.rhai", "--var", "flag=true"],
        0,
    );
    assert!(
        plan.contains("  ~ output_use.source  (source)  # declared\n")
            && plan.contains("keys: [\"name\", \"sizes\"] -> [\"flag\", \"name\", \"sizes\"]")
            && plan.contains("  + log_group.reader/flag-true\n"),
        "{plan}"
    );
    m.bp(
        dir.path(),
        &[
            "apply",
            "reader.rhai",
            "--var",
            "flag=true",
            "--auto-approve",
        ],
        0,
    );
    assert_eq!(readers(&m).len(), 3);
    m.bp(dir.path(), &["apply", "reader.rhai", "--auto-approve"], 0);
    assert_eq!(
        readers(&m).len(),
        2,
        "the one it stopped reading is untagged"
    );

    // A change of the source is seen by the reader's next plan.
    let changed = SOURCE.replace("\"shared\"", "\"moved\"");
    std::fs::write(dir.path().join("source.rhai"), changed).unwrap();
    let plan = m.bp(dir.path(), &["plan", "source.rhai"], 0);
    assert!(
        plan.contains("  ~ output.name  (/blueprint/source/outputs/name)")
            && plan.contains("value: \"shared\" -> \"moved\""),
        "{plan}"
    );
    m.bp(dir.path(), &["apply", "source.rhai", "--auto-approve"], 0);
    let plan = m.bp(dir.path(), &["plan", "reader.rhai"], 0);
    assert!(
        plan.contains("-/+ log_group.reader/shared") || plan.contains("  + log_group.reader/moved"),
        "{plan}"
    );

    // Pruning an output someone reads is refused like destroying it, and
    // --ignore-readers goes on.
    std::fs::write(
        dir.path().join("source.rhai"),
        "blueprint_name(\"source\");\noutput(\"flag\", true);\n",
    )
    .unwrap();
    let refused = m.bp(dir.path(), &["apply", "source.rhai", "--auto-approve"], 1);
    assert!(
        refused.contains("  output.name is read by blueprint reader\n")
            && refused.contains("  output.sizes is read by blueprint reader\n"),
        "{refused}"
    );
    m.bp(
        dir.path(),
        &["apply", "source.rhai", "--auto-approve", "--ignore-readers"],
        0,
    );
    let gone = m.bp(dir.path(), &["plan", "reader.rhai"], 1);
    assert!(
        gone.contains("blueprint \"source\" has no output \"name\"\n")
            && gone.contains("reader.rhai:4:")
            && gone.contains("= hint: it publishes: flag"),
        "{gone}"
    );
    // Read again; then a reader that no longer names the source at all:
    // its record of reading it is pruned, and its tags go.
    std::fs::write(dir.path().join("source.rhai"), SOURCE).unwrap();
    std::fs::write(dir.path().join("reader.rhai"), READER).unwrap();
    m.bp(dir.path(), &["apply", "source.rhai", "--auto-approve"], 0);
    m.bp(dir.path(), &["apply", "reader.rhai", "--auto-approve"], 0);
    assert_eq!(readers(&m).len(), 2);
    std::fs::write(
        dir.path().join("reader.rhai"),
        "blueprint_name(\"reader\");\nlog_group(\"/reader/alone\", #{});\n",
    )
    .unwrap();
    let plan = m.bp(dir.path(), &["plan", "reader.rhai"], 0);
    assert!(
        plan.contains("  - output_use.source  (source: no longer declared in the blueprint)"),
        "{plan}"
    );
    m.bp(dir.path(), &["apply", "reader.rhai", "--auto-approve"], 0);
    assert!(readers(&m).is_empty());
    m.bp(dir.path(), &["destroy", "reader.rhai", "--auto-approve"], 0);
}

/// `bp check` reads no outputs: each is a placeholder that options, ids,
/// names and joins take, and that can be looked into.
#[test]
fn a_reader_checks_with_placeholders() {
    let out = Test::new()
        .file("reader.rhai", READER)
        .args(["check", "reader.rhai", "--var", "flag=true"])
        .run();
    let said = text(&out);
    assert!(
        said.contains("note: blueprint_outputs(...) stands for a placeholder here")
            && said.contains("1 output_use")
            && said.contains("ok: 3 resources"),
        "{said}"
    );
    let out = Test::new()
        .file("reader.rhai", READER)
        .args(["graph", "reader.rhai", "--format", "json"])
        .run();
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("log_group.reader/(output name of source)"),
        "{}",
        text(&out)
    );
}

#[test]
fn outputs_that_would_leak_or_cannot_be_stored_are_errors_at_check() {
    let cases: &[(&str, &str)] = &[
        (
            "output(\"db\", sops_file(\"s.enc.yaml\").POSTGRES_PASSWORD);",
            "output \"db\" would publish a secret in plain text",
        ),
        (
            "output(\"db\", \"x\", #{ sensitive: true });",
            "output \"db\" is declared sensitive, but outputs are published in plain text",
        ),
        ("output(\"a/b\", 1);", "a/b"),
        (
            "let s = \"x\";\ns.pad(5000, \"x\");\noutput(\"big\", s);",
            "output \"big\" is 5002 bytes as JSON, more than SSM's 4096",
        ),
        ("output(\"a\", 1);\noutput(\"a\", 2);", "output.a"),
        ("let o = blueprint_outputs(\"no such\");", "no such"),
        ("output(\"k\", 1, #{ colour: 1 });", "colour"),
    ];
    for (script, said) in cases {
        let out = Test::new()
            .file("b.rhai", script)
            .file(
                "s.enc.yaml",
                &std::fs::read_to_string(repo().join("blueprints/secrets/pms-postgres.enc.yaml"))
                    .unwrap(),
            )
            .env(
                "SOPS_AGE_KEY_FILE",
                repo()
                    .join("blueprints/secrets/demo.agekey")
                    .to_str()
                    .unwrap(),
            )
            .args(["check", "b.rhai"])
            .status(1)
            .run();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(said) && err.contains("b.rhai:"),
            "{script}: {err}"
        );
    }
}
