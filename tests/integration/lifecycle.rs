//! Every seed blueprint against a private AWS emulator: plan from empty,
//! apply, a no-op plan, an in-place update, a replacement, a removal, and
//! destroy, with what exists counted independently through the APIs.

use crate::harness::{repo, Test};
use crate::kube::{Charts, Kube};
use crate::moto::Moto;
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

struct Case {
    file: &'static str,
    blueprint: &'static str,
    /// Vars and the lines the plan must show for each step.
    update: (&'static [&'static str], &'static [&'static str]),
    replace: (&'static [&'static str], &'static [&'static str]),
    remove: (&'static [&'static str], &'static [&'static str]),
    /// The removal touches a protected resource: the plan refuses it.
    remove_refused: bool,
}

/// The AWS emulator, a Kubernetes emulator with a kubeconfig context named
/// after each seed's cluster, and a chart repository serving stand-ins for
/// the charts the seeds install (tests/support/chart_repo.py).
pub(crate) struct Emulators {
    pub(crate) moto: Moto,
    pub(crate) kube: Kube,
    charts: Charts,
}

/// The charts the seed blueprints install, at their pinned versions.
const SEED_CHARTS: &[&str] = &[
    "cluster-autoscaler@9.37.0",
    "prometheus@25.27.0",
    "grafana@8.5.1",
    "fluent-bit@0.47.7",
    "aws-load-balancer-controller@1.8.1",
    "jupyterhub@3.3.7",
    "velero@7.2.1",
    "karpenter@1.14.1",
];

impl Emulators {
    pub(crate) fn start() -> Emulators {
        Emulators {
            moto: Moto::start(),
            kube: Kube::start(&[
                "pms-prod",
                "pms-dev",
                "naas-prod",
                "naas-dev",
                "digibee",
                "eks-intro",
                "harmonix",
                // The platform team's cluster Harmonix may provide on.
                "platform",
            ]),
            charts: Charts::start(SEED_CHARTS),
        }
    }
}

/// The demo age identity that opens the seed blueprints' secrets files.
fn demo_key() -> String {
    repo()
        .join("blueprints/secrets/demo.agekey")
        .to_string_lossy()
        .into_owned()
}

pub(crate) fn bp(emu: &Emulators, args: &[&str], vars: &[&str]) -> Test {
    let mut all: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    if matches!(args[0], "plan" | "apply" | "destroy") {
        all.push("--kubeconfig".into());
        all.push(emu.kube.kubeconfig_arg());
        all.push("--helm".into());
        all.push(repo().join(".tools/helm").to_string_lossy().into_owned());
        all.push("--var".into());
        all.push(format!("chart_repo={}", emu.charts.url));
    }
    for v in vars {
        all.push("--var".into());
        all.push(v.to_string());
    }
    Test::new()
        .current_dir(repo())
        .moto(&emu.moto)
        .env("SOPS_AGE_KEY_FILE", &demo_key())
        .args(all)
}

/// The kinds of what lives inside a cluster.
pub(crate) const IN_CLUSTER: &[&str] = &[
    "namespace",
    "config_map",
    "secret",
    "service_account",
    "network_policy",
    "role",
    "role_binding",
    "cluster_role",
    "cluster_role_binding",
    "storage_class",
    "manifest",
    "helm_release",
];

/// What a blueprint owns in the Kubernetes emulator, per kind, as the real
/// kubectl lists it (by the owner label, across namespaces).
fn in_cluster(kube: &Kube, blueprint: &str) -> BTreeMap<String, u64> {
    let selector = format!("blueprint.dev/name={blueprint}");
    let list = kube.get_json(&[
        "namespaces,configmaps,secrets,serviceaccounts,networkpolicies,roles,rolebindings,clusterroles,clusterrolebindings,storageclasses,horizontalpodautoscalers,cronjobs",
        "-A",
        "-l",
        &selector,
    ]);
    let mut counts = BTreeMap::new();
    for item in list["items"].as_array().unwrap() {
        let Some(address) = item["metadata"]["annotations"]["blueprint.dev/address"].as_str()
        else {
            continue; // the index of manifest kinds
        };
        let kind = address.split('.').next().unwrap().to_string();
        *counts.entry(kind).or_insert(0) += 1;
    }
    // Velero's Schedules, once its chart installed their CRD.
    let schedules = kube.kubectl_output(&[
        "get",
        "schedules.velero.io",
        "-A",
        "-l",
        &selector,
        "-o",
        "json",
    ]);
    if schedules.status.success() {
        let list: Value = serde_json::from_slice(&schedules.stdout).unwrap();
        let n = list["items"].as_array().map(Vec::len).unwrap_or(0) as u64;
        if n > 0 {
            *counts.entry("manifest".to_string()).or_insert(0) += n;
        }
    }
    // Helm releases, as helm itself lists them.
    let out = Command::new(repo().join(".tools/helm"))
        .args([
            "--kubeconfig",
            &kube.kubeconfig_arg(),
            "list",
            "-A",
            "-a",
            "-o",
            "json",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let releases: Value = serde_json::from_slice(&out.stdout).unwrap();
    let n = releases.as_array().map(Vec::len).unwrap_or(0) as u64;
    if n > 0 {
        counts.insert("helm_release".into(), n);
    }
    counts
}

/// The declared kinds that live in AWS, and those that live in a cluster.
fn split(counts: BTreeMap<String, u64>) -> (BTreeMap<String, u64>, BTreeMap<String, u64>) {
    counts
        .into_iter()
        .partition(|(k, _)| !IN_CLUSTER.contains(&k.as_str()))
}

/// How many declared resources are protected (`protect: true` in the spec).
fn protected(file: &str) -> u64 {
    let out = Test::new()
        .current_dir(repo())
        .args(["check", file, "--json"])
        .run();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v["resources"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["spec"]["protect"] == Value::Bool(true))
        .count() as u64
}

/// Resources per kind that `bp check` says the blueprint declares.
fn declared(file: &str, vars: &[&str]) -> BTreeMap<String, u64> {
    let mut args = vec!["check", file, "--json"];
    for v in vars {
        args.push("--var");
        args.push(v);
    }
    let out = Test::new().current_dir(repo()).args(args).run();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut counts = BTreeMap::new();
    for r in v["resources"].as_array().unwrap() {
        *counts
            .entry(r["kind"].as_str().unwrap().to_string())
            .or_insert(0) += 1;
    }
    counts
}

pub(crate) fn owned_nonzero(moto: &Moto, blueprint: &str) -> BTreeMap<String, u64> {
    moto.owned(blueprint)
        .as_object()
        .unwrap()
        .iter()
        .filter_map(|(k, v)| Some((k.clone(), v.as_u64()?)))
        .filter(|(_, n)| *n > 0)
        .collect()
}

fn lifecycle(c: &Case) {
    let emu = Emulators::start();
    let moto = &emu.moto;
    let want = declared(c.file, &[]);
    let total: u64 = want.values().sum();

    // 1. plan from empty
    bp(&emu, &["plan", c.file, "--detailed-exitcode"], &[])
        .status(2)
        .stdout_contains(&format!(
            "Plan: {total} to add, 0 to change, 0 to replace, 0 to destroy."
        ))
        .run();
    // 2. apply
    bp(&emu, &["apply", c.file, "--auto-approve"], &[])
        .stdout_contains(&format!(
            "Apply complete: {total} created, 0 updated, 0 deleted."
        ))
        .run();
    let (want_aws, want_k8s) = split(want.clone());
    assert_eq!(
        owned_nonzero(moto, c.blueprint),
        want_aws,
        "{}: what exists in AWS after apply",
        c.file
    );
    assert_eq!(
        in_cluster(&emu.kube, c.blueprint),
        want_k8s,
        "{}: what exists in the cluster after apply",
        c.file
    );
    // 3. a plan right after shows no changes
    bp(&emu, &["plan", c.file, "--detailed-exitcode"], &[])
        .stdout(&format!(
            "No changes. {total} resources match the blueprint.\n"
        ))
        .run();
    // 3b. the cluster autoscaler moves every node group's desired size:
    // still no changes
    let moved = moto.python(&["support:autoscale.py", &moto.url, c.blueprint]);
    let moved: u64 = String::from_utf8_lossy(&moved).trim().parse().unwrap();
    assert_eq!(
        moved,
        want.get("node_group").copied().unwrap_or(0),
        "{}",
        c.file
    );
    if moved > 0 {
        bp(&emu, &["plan", c.file, "--detailed-exitcode"], &[])
            .stdout_contains("Left to others: node_group.")
            .stdout_contains(&format!(
                "No changes. {total} resources match the blueprint.\n"
            ))
            .run();
    }
    // 4. an in-place update shows exactly that, and apply converges
    let (vars, lines) = c.update;
    let mut t = bp(&emu, &["plan", c.file, "--detailed-exitcode"], vars)
        .status(2)
        .stdout_contains("Plan: 0 to add, 1 to change, 0 to replace, 0 to destroy.");
    for l in lines {
        t = t.stdout_contains(l);
    }
    t.run();
    bp(&emu, &["apply", c.file, "--auto-approve"], vars)
        .stdout_contains("Apply complete: 0 created, 1 updated, 0 deleted.")
        .run();
    bp(&emu, &["plan", c.file, "--detailed-exitcode"], vars)
        .stdout_contains("No changes.")
        .run();
    // 5. a change that forces a replacement, with its reason
    let (rvars, rlines) = c.replace;
    let all: Vec<&str> = vars.iter().chain(rvars.iter()).copied().collect();
    let mut t = bp(&emu, &["plan", c.file, "--detailed-exitcode"], &all)
        .status(2)
        .stdout_contains("1 to replace");
    for l in rlines {
        t = t.stdout_contains(l);
    }
    t.run();
    // 6. removing a resource plans its deletion (or, for a protected one,
    // refuses to)
    let (dvars, dlines) = c.remove;
    let all: Vec<&str> = vars.iter().chain(dvars.iter()).copied().collect();
    let mut t = bp(&emu, &["plan", c.file, "--detailed-exitcode"], &all);
    for l in dlines {
        t = if c.remove_refused {
            t.status(1).stderr_contains(l)
        } else {
            t.status(2).stdout_contains(l)
        };
    }
    t.run();
    // 7. destroy leaves the protected resources and lists them; with
    // --include-protected it leaves nothing tagged with the blueprint
    // Left in place: the protected resources, and what a kept one uses
    // (listed as "(the protected X uses it)").
    let out = bp(&emu, &["destroy", c.file, "--auto-approve"], vars).run();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let listed: Vec<&str> = stdout
        .lines()
        .skip_while(|l| !l.starts_with("Protected, left in place"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .collect();
    let kept = listed.len() as u64;
    assert_eq!(
        listed.iter().filter(|l| !l.contains("uses it)")).count() as u64,
        protected(c.file),
        "{}: the protected resources are listed as left in place:\n{stdout}",
        c.file
    );
    assert!(
        stdout.contains(&format!(
            "Apply complete: 0 created, 0 updated, {} deleted.",
            total - kept
        )),
        "{}: destroy deletes all but what it leaves:\n{stdout}",
        c.file
    );
    if kept > 0 {
        assert_eq!(
            owned_nonzero(moto, c.blueprint).values().sum::<u64>(),
            kept,
            "{}: protected resources left after destroy",
            c.file
        );
        bp(
            &emu,
            &["destroy", c.file, "--auto-approve", "--include-protected"],
            vars,
        )
        .stdout_contains(&format!(
            "Apply complete: 0 created, 0 updated, {kept} deleted."
        ))
        .run();
    }
    assert_eq!(
        owned_nonzero(moto, c.blueprint),
        BTreeMap::new(),
        "{}: left after destroy",
        c.file
    );
    assert_eq!(
        in_cluster(&emu.kube, c.blueprint),
        BTreeMap::new(),
        "{}: left in the cluster after destroy",
        c.file
    );
    bp(&emu, &["plan", c.file, "--detailed-exitcode"], &[])
        .status(2)
        .stdout_contains(&format!("Plan: {total} to add"))
        .run();
}

#[test]
fn pms_prod() {
    lifecycle(&Case {
        file: "blueprints/pms.rhai",
        blueprint: "pms-prod",
        update: (&["app_max=30"], &["  ~ node_group.pms-prod/app-nodes", "      scaling.max: 20 -> 30  # declared\n"]),
        replace: (
            &["app_instance_type=m6i.xlarge"],
            &["  +/- node_group.pms-prod/app-nodes  (replace, the new one first: a node group's instance types cannot change in place)"],
        ),
        remove: (&["spot=false"], &["  - node_group.pms-prod/spot-nodes", "  - launch_template.pms-prod/spot-nodes", "2 to destroy."]),
        remove_refused: false,
    });
}

#[test]
fn digibee() {
    lifecycle(&Case {
        file: "blueprints/digibee.rhai",
        blueprint: "digibee",
        update: (&["platform_max=12"], &["  ~ node_group.digibee/platform", "      scaling.max: 9 -> 12  # declared\n"]),
        replace: (
            &["jobs_spot=false"],
            &["  +/- node_group.digibee/jobs  (replace, the new one first: a node group's capacity type (spot or on-demand) cannot change in place)"],
        ),
        remove: (&["pipelines_test=false"], &["  - node_group.digibee/pipelines-test", "1 to destroy."]),
        remove_refused: false,
    });
}

#[test]
fn eks_intro() {
    lifecycle(&Case {
        file: "blueprints/eks-intro.rhai",
        blueprint: "eks-intro",
        update: (
            &["max=8"],
            &[
                "  ~ node_group.eks-intro/workers",
                "      scaling.max: 6 -> 8  # declared\n",
            ],
        ),
        replace: (
            &["instance_type=t3.large"],
            &["  +/- node_group.eks-intro/workers"],
        ),
        remove: (
            &["nat=single"],
            &[
                "  - nat_gateway.eks-intro/c",
                "  - elastic_ip.eks-intro/nat-c",
            ],
        ),
        remove_refused: false,
    });
}

#[test]
fn harmonix() {
    lifecycle(&Case {
        file: "blueprints/harmonix.rhai",
        blueprint: "harmonix",
        update: (
            &["max=4"],
            &[
                "  ~ node_group.harmonix/custom-node-group",
                "      scaling.max: 3 -> 4  # declared\n",
            ],
        ),
        replace: (
            &["instance_type=m5.xlarge"],
            &["  +/- node_group.harmonix/custom-node-group"],
        ),
        remove: (
            &["nodes=fargate"],
            &[
                "  - node_group.harmonix/custom-node-group",
                "  + fargate_profile.harmonix/default",
            ],
        ),
        remove_refused: false,
    });
}

/// Harmonix in a VPC and with an admin role that exist already: the
/// blueprint makes what it declares inside them, and leaves them as they
/// are, destroy included.
#[test]
fn harmonix_in_an_existing_vpc_with_an_existing_admin_role() {
    let emu = Emulators::start();
    let moto = &emu.moto;
    let script = format!(
        "import boto3, json\n\
ec2 = {}\n\
iam = {}\n\
vpc = ec2.create_vpc(CidrBlock='10.70.0.0/16')['Vpc']['VpcId']\n\
tag = lambda s: (ec2.create_tags(Resources=[s], Tags=[{{'Key': 'kubernetes.io/role/internal-elb', 'Value': '1'}}]), s)[1]\n\
private = [tag(ec2.create_subnet(VpcId=vpc, CidrBlock=f'10.70.{{i}}.0/24', AvailabilityZone=az)['Subnet']['SubnetId']) for i, az in enumerate(['us-east-1a', 'us-east-1b', 'us-east-1c'])]\n\
ec2.create_subnet(VpcId=vpc, CidrBlock='10.70.100.0/24', AvailabilityZone='us-east-1a')\n\
role = iam.create_role(RoleName='platform-admin', AssumeRolePolicyDocument=json.dumps({{'Version': '2012-10-17', 'Statement': []}}))['Role']['Arn']\n\
print(json.dumps({{'vpc': vpc, 'private': private, 'role': role}}))",
        moto.boto3("ec2"),
        moto.boto3("iam")
    );
    let made = moto.python_json(&["-c", &script]);
    let vpc_var = format!("vpc_id={}", made["vpc"].as_str().unwrap());
    let role_var = format!("admin_role_arn={}", made["role"].as_str().unwrap());
    let vars: &[&str] = &[&vpc_var, &role_var];
    let file = "blueprints/harmonix.rhai";

    let out = bp(&emu, &["plan", file], vars).run();
    let plan = String::from_utf8_lossy(&out.stdout);
    for absent in [
        "+ vpc.",
        "+ subnet.",
        "+ nat_gateway.",
        "+ internet_gateway.",
        "+ iam_role.harmonix-cluster-admin",
    ] {
        assert!(!plan.contains(absent), "{absent} in\n{plan}");
    }
    bp(&emu, &["apply", file, "--auto-approve"], vars).run();
    bp(&emu, &["plan", file, "--detailed-exitcode"], vars)
        .stdout_contains("No changes.")
        .run();
    let owned = owned_nonzero(moto, "harmonix");
    for kind in [
        "vpc",
        "subnet",
        "nat_gateway",
        "internet_gateway",
        "route_table",
    ] {
        assert!(!owned.contains_key(kind), "{kind}: {owned:?}");
    }
    let check = format!(
        "import boto3, json\n\
eks = {}\n\
c = eks.describe_cluster(name='harmonix')['cluster']['resourcesVpcConfig']\n\
print(json.dumps({{'subnets': c['subnetIds'], 'entries': eks.list_access_entries(clusterName='harmonix')['accessEntries']}}))",
        moto.boto3("eks")
    );
    let s = moto.python_json(&["-c", &check]);
    assert_eq!(s["subnets"], made["private"], "{s}");
    assert!(
        s["entries"].as_array().unwrap().contains(&made["role"]),
        "{s}"
    );

    bp(
        &emu,
        &["destroy", file, "--auto-approve", "--include-protected"],
        vars,
    )
    .run();
    assert_eq!(owned_nonzero(moto, "harmonix"), BTreeMap::new());
    let left = format!(
        "import boto3, json, sys\n\
ec2 = {}\n\
iam = {}\n\
print(json.dumps([len(ec2.describe_subnets(Filters=[{{'Name': 'vpc-id', 'Values': [sys.argv[1]]}}])['Subnets']), iam.get_role(RoleName='platform-admin')['Role']['Arn']]))",
        moto.boto3("ec2"),
        moto.boto3("iam")
    );
    let left = moto.python_json(&["-c", &left, made["vpc"].as_str().unwrap()]);
    assert_eq!(left, serde_json::json!([4, made["role"]]));
}

#[test]
fn naas_prod() {
    lifecycle(&Case {
        file: "blueprints/naas.rhai",
        blueprint: "naas-prod",
        update: (
            &["naas_max=12"],
            &[
                "  ~ node_group.naas-prod/naas",
                "      scaling.max: 10 -> 12  # declared\n",
            ],
        ),
        replace: (
            &["naas_instance_type=m6i.xlarge"],
            &["  +/- node_group.naas-prod/naas"],
        ),
        remove: (
            &["files_bucket=false"],
            &["  s3_bucket.naas-prod-files-us-east-1 would delete it: no longer declared in the blueprint"],
        ),
        remove_refused: true,
    });
}

/// A killed apply leaves tagged resources; running it again converges with
/// no duplicates.
#[test]
fn killed_apply_converges_without_duplicates() {
    let emu = Emulators::start();
    let moto = &emu.moto;
    let file = "blueprints/pms.rhai";
    let mut cmd = Command::new(crate::harness::bp());
    cmd.args(["apply", file, "--auto-approve", "--parallelism", "1"])
        .current_dir(repo())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    for (k, v) in moto.env() {
        cmd.env(k, v);
    }
    cmd.arg("--kubeconfig")
        .arg(emu.kube.kubeconfig())
        .arg("--helm")
        .arg(repo().join(".tools/helm"))
        .args(["--var", &format!("chart_repo={}", emu.charts.url)])
        .env("SOPS_AGE_KEY_FILE", demo_key());
    let mut child = cmd.spawn().unwrap();
    let reader = BufReader::new(child.stdout.take().unwrap());
    let mut created = 0;
    for line in reader.lines() {
        let line = line.unwrap();
        if line.contains(": created") {
            created += 1;
        }
        if created == 12 {
            break;
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(created, 12, "apply ended before it could be killed");
    let partial = owned_nonzero(moto, "pms-prod");
    assert!(partial.values().sum::<u64>() >= 12, "{partial:?}");

    bp(&emu, &["plan", file, "--detailed-exitcode"], &[])
        .status(2)
        .run();
    // The killed apply still holds the lock: a new apply says so (and that
    // its process is gone), and runs once the lock is broken.
    bp(&emu, &["apply", file, "--auto-approve"], &[])
        .status(1)
        .stderr_contains("blueprint pms-prod is locked by")
        .stderr_contains("that process is not running on this host")
        .run();
    bp(&emu, &["lock", "break", file, "--auto-approve"], &[])
        .stdout_contains("Removed the lock of blueprint pms-prod.")
        .run();
    bp(&emu, &["apply", file, "--auto-approve"], &[])
        .stdout_contains("Apply complete")
        .run();
    bp(&emu, &["plan", file, "--detailed-exitcode"], &[])
        .stdout_contains("No changes.")
        .run();
    let (want_aws, want_k8s) = split(declared(file, &[]));
    assert_eq!(owned_nonzero(moto, "pms-prod"), want_aws);
    assert_eq!(in_cluster(&emu.kube, "pms-prod"), want_k8s);
}

/// With 10% of AWS requests failing as AWS fails (throttling, 5xx,
/// dropped connections, through tests/support/faultproxy.py) and 20% of
/// create calls losing their answer after the resource was made, an apply
/// either succeeds or fails with an error naming the resource and the
/// operation, and running it again converges: a no-op plan, no duplicates
/// and no untagged orphans, counted with boto3.
fn converges_under_faults(file: &str, blueprint: &str, seed: u64) {
    let emu = Emulators::start();
    let proxy = crate::moto::FaultProxy::start(&emu.moto, seed, 0.1, 0.2);
    let mut runs = Vec::new();
    for _ in 0..4 {
        let out = bp(&emu, &["apply", file, "--auto-approve"], &[])
            .env("AWS_ENDPOINT_URL", &proxy.url)
            .any_status()
            .run();
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        let ok = out.status.success();
        if !ok {
            // A clear error: what failed and which call, or a lock or read
            // error that says what it could not do.
            assert!(
                stdout.contains("failed:") || stderr.contains("failed"),
                "{file}: an apply failed without saying what:\n{stdout}\n{stderr}"
            );
        }
        runs.push((ok, stdout, stderr));
        if ok {
            break;
        }
    }
    assert!(
        runs.last().is_some_and(|r| r.0),
        "{file}: no apply succeeded in {} runs: {runs:#?}",
        runs.len()
    );
    let faults = proxy.faults();
    assert!(
        faults.get("drop-after").copied().unwrap_or(0) > 0 && faults.len() >= 3,
        "{file}: too few faults to prove anything: {faults:?}"
    );
    bp(&emu, &["plan", file, "--detailed-exitcode"], &[])
        .stdout_contains("No changes.")
        .run();
    let (want_aws, _) = split(declared(file, &[]));
    assert_eq!(
        owned_nonzero(&emu.moto, blueprint),
        want_aws,
        "{file}: what the blueprint owns after faults ({faults:?})"
    );
    let orphans = emu.moto.python_json(&["support:orphans.py", &emu.moto.url]);
    assert!(
        orphans.as_object().unwrap().values().all(|n| n == 0),
        "{file}: untagged orphans after faults ({faults:?}): {orphans}"
    );
}

#[test]
fn pms_converges_under_faults() {
    converges_under_faults("blueprints/pms.rhai", "pms-prod", 11);
}

#[test]
fn digibee_converges_under_faults() {
    converges_under_faults("blueprints/digibee.rhai", "digibee", 12);
}

#[test]
fn eks_intro_converges_under_faults() {
    converges_under_faults("blueprints/eks-intro.rhai", "eks-intro", 13);
}

#[test]
fn harmonix_converges_under_faults() {
    converges_under_faults("blueprints/harmonix.rhai", "harmonix", 14);
}

#[test]
fn naas_converges_under_faults() {
    converges_under_faults("blueprints/naas.rhai", "naas-prod", 15);
}

/// `bp ARGS` as `bp()` runs it, but through `proxy`, as a child process
/// killed with SIGKILL once the proxy has seen `at` requests that change
/// something; whether it was killed (false: it ended first).
fn run_killed(emu: &Emulators, proxy: &crate::moto::FaultProxy, args: &[&str], at: usize) -> bool {
    let mut cmd = Command::new(crate::harness::bp());
    cmd.args(args)
        .args(["--kubeconfig", &emu.kube.kubeconfig_arg()])
        .arg("--helm")
        .arg(repo().join(".tools/helm"))
        .args(["--var", &format!("chart_repo={}", emu.charts.url)])
        .current_dir(repo())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .env_remove("AWS_PROFILE");
    for (k, v) in emu.moto.env() {
        cmd.env(k, v);
    }
    cmd.env("AWS_ENDPOINT_URL", &proxy.url)
        .env("SOPS_AGE_KEY_FILE", demo_key());
    let mut child = cmd.spawn().unwrap();
    loop {
        if child.try_wait().unwrap().is_some() {
            return false;
        }
        if proxy.requests().1 >= at {
            child.kill().unwrap();
            child.wait().unwrap();
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
}

/// An apply of PMS killed with SIGKILL at ten points spread over its AWS
/// calls that change something (counted by the proxy: a kill every
/// `step` of them), each time run again after breaking the lock the killed
/// one left, converges: a no-op plan, no duplicates, no untagged orphans.
/// Then the same for destroy.
#[test]
fn apply_and_destroy_killed_at_ten_points_converge() {
    let emu = Emulators::start();
    let proxy = crate::moto::FaultProxy::start(&emu.moto, 1, 0.0, 0.0);
    let file = "blueprints/pms.rhai";
    let run = |args: &[&str], step: usize| -> usize {
        let mut kills = 0;
        for _ in 0..10 {
            // The lock's own put is one change; then `step` of the work.
            let at = proxy.requests().1 + 1 + step;
            if !run_killed(&emu, &proxy, args, at) {
                break;
            }
            kills += 1;
            bp(&emu, &["lock", "break", file, "--auto-approve"], &[]).run();
        }
        kills
    };
    let kills = run(&["apply", file, "--auto-approve"], 7);
    assert!(kills >= 8, "the apply ended after {kills} kills");
    bp(&emu, &["apply", file, "--auto-approve"], &[]).run();
    bp(&emu, &["plan", file, "--detailed-exitcode"], &[])
        .stdout_contains("No changes.")
        .run();
    let (want_aws, want_k8s) = split(declared(file, &[]));
    assert_eq!(owned_nonzero(&emu.moto, "pms-prod"), want_aws);
    assert_eq!(in_cluster(&emu.kube, "pms-prod"), want_k8s);
    let orphans = emu.moto.python_json(&["support:orphans.py", &emu.moto.url]);
    assert!(
        orphans.as_object().unwrap().values().all(|n| n == 0),
        "untagged orphans after killed applies: {orphans}"
    );

    let kills = run(
        &["destroy", file, "--auto-approve", "--include-protected"],
        5,
    );
    assert!(kills >= 8, "the destroy ended after {kills} kills");
    bp(
        &emu,
        &["destroy", file, "--auto-approve", "--include-protected"],
        &[],
    )
    .run();
    assert_eq!(owned_nonzero(&emu.moto, "pms-prod"), BTreeMap::new());
    let orphans = emu.moto.python_json(&["support:orphans.py", &emu.moto.url]);
    assert!(
        orphans.as_object().unwrap().values().all(|n| n == 0),
        "untagged orphans after killed destroys: {orphans}"
    );
}

/// Cluster endpoint access and logging change in place.
#[test]
fn cluster_settings_update_in_place() {
    let emu = Emulators::start();
    let file = "blueprints/eks-intro.rhai";
    bp(&emu, &["apply", file, "--auto-approve"], &[]).run();
    bp(&emu, &["plan", file], &["api_cidr=203.0.113.0/24"])
        .stdout_contains("  ~ cluster.eks-intro")
        .stdout_contains(
            "      endpoint.public_cidrs: [\"0.0.0.0/0\"] -> [\"203.0.113.0/24\"]  # declared\n",
        )
        .stdout_contains("Plan: 0 to add, 1 to change, 0 to replace, 0 to destroy.")
        .run();
    bp(
        &emu,
        &["apply", file, "--auto-approve"],
        &["api_cidr=203.0.113.0/24"],
    )
    .run();
    bp(
        &emu,
        &["plan", file, "--detailed-exitcode"],
        &["api_cidr=203.0.113.0/24"],
    )
    .stdout_contains("No changes.")
    .run();
}

/// The emulator has no UpdateClusterVersion: the upgrade is planned in
/// place, and apply says clearly what it could not do.
/// An upgrade moves one minor version at a time: the cluster, then its node
/// groups, then the add-ons that follow it (to EKS's default version for the
/// new Kubernetes), each shown in the plan; a skipped minor version is
/// refused before anything changes. Checked with boto3.
#[test]
fn pms_upgrades_cluster_node_groups_and_add_ons_one_minor_version_at_a_time() {
    let emu = Emulators::start();
    let file = "blueprints/pms.rhai";
    bp(
        &emu,
        &["apply", file, "--auto-approve"],
        &["k8s_version=1.32"],
    )
    .run();
    bp(&emu, &["plan", file], &["k8s_version=1.34"])
        .status(1)
        .stderr_contains("cluster.pms-prod (version): 1.32 -> 1.34 skips a minor version; EKS upgrades one at a time: apply 1.33 first")
        .run();
    bp(&emu, &["plan", file, "--detailed-exitcode"], &["k8s_version=1.33"])
        .status(2)
        .stdout_contains("  ~ cluster.pms-prod  (pms-prod)  # declared\n      version: \"1.32\" -> \"1.33\"  # declared\n")
        .stdout_contains("  ~ node_group.pms-prod/app-nodes  (pms-prod/app-nodes)  # declared\n      version: \"1.32\" -> \"1.33\"  # declared\n")
        .stdout_contains("  ~ eks_addon.pms-prod/aws-ebs-csi-driver  (pms-prod/aws-ebs-csi-driver)  # declared\n      k8s_version: \"1.32\" -> \"1.33\"  # declared\n")
        .stdout_contains("Plan: 0 to add, 5 to change, 0 to replace, 0 to destroy.")
        .run();
    bp(
        &emu,
        &["apply", file, "--auto-approve"],
        &["k8s_version=1.33"],
    )
    .stdout_contains("Apply complete: 0 created, 5 updated, 0 deleted.")
    .run();
    bp(
        &emu,
        &["plan", file, "--detailed-exitcode"],
        &["k8s_version=1.33"],
    )
    .stdout_contains("No changes.")
    .run();
    let script = format!(
        "import boto3, json\n\
eks = boto3.client('eks', endpoint_url='{}', region_name='us-east-1', aws_access_key_id='t', aws_secret_access_key='t')\n\
groups = {{n: eks.describe_nodegroup(clusterName='pms-prod', nodegroupName=n)['nodegroup']['version'] for n in eks.list_nodegroups(clusterName='pms-prod')['nodegroups']}}\n\
a = eks.describe_addon(clusterName='pms-prod', addonName='aws-ebs-csi-driver')['addon']\n\
default = [v['addonVersion'] for v in eks.describe_addon_versions(addonName='aws-ebs-csi-driver', kubernetesVersion='1.33')['addons'][0]['addonVersions'] if any(c['defaultVersion'] for c in v['compatibilities'])]\n\
print(json.dumps({{'cluster': eks.describe_cluster(name='pms-prod')['cluster']['version'], 'groups': groups, 'addon': a['addonVersion'], 'role': a.get('serviceAccountRoleArn'), 'k8s_tag': a['tags'].get('blueprint:k8s-version'), 'default': default}}))",
        emu.moto.url
    );
    let out = Command::new(repo().join(".venv/bin/python"))
        .args(["-c", &script])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["cluster"], "1.33", "{v}");
    assert_eq!(
        v["groups"],
        serde_json::json!({ "app-nodes": "1.33", "db-nodes": "1.33", "spot-nodes": "1.33" })
    );
    assert_eq!(v["k8s_tag"], "1.33");
    assert_eq!(v["addon"], v["default"][0]);
    assert!(
        v["role"].as_str().unwrap().ends_with("/pms-prod-ebs-csi"),
        "{v}"
    );
}

/// A saved plan applies exactly, and is refused once live state moved.
#[test]
fn saved_plans_apply_exactly_or_not_at_all() {
    let emu = Emulators::start();
    let file = "blueprints/eks-intro.rhai";
    let dir = tempfile::tempdir().unwrap();
    let saved = dir.path().join("plan.json");
    let saved = saved.to_str().unwrap();
    bp(&emu, &["plan", file, "-o", saved], &[])
        .stdout_contains("Saved the plan")
        .run();
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(saved).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600);
    bp(&emu, &["apply", saved], &[])
        .stdout_contains("Apply complete: 24 created")
        .run();
    bp(&emu, &["plan", file, "--detailed-exitcode"], &[])
        .stdout_contains("No changes.")
        .run();

    bp(&emu, &["plan", file, "-o", saved], &["max=8"]).run();
    bp(&emu, &["apply", file, "--auto-approve"], &["max=7"]).run();
    bp(&emu, &["apply", saved], &[])
        .status(1)
        .stderr_contains("is stale: what exists in AWS changed since it was made")
        .run();
}

#[test]
fn apply_without_a_terminal_needs_auto_approve() {
    let emu = Emulators::start();
    let moto = &emu.moto;
    bp(&emu, &["apply", "blueprints/eks-intro.rhai"], &[])
        .status(1)
        .stdout_contains("Plan: 24 to add")
        .stderr_contains("no terminal to ask for approval: pass --auto-approve")
        .run();
    assert_eq!(owned_nonzero(moto, "eks-intro"), BTreeMap::new());
}

#[test]
fn plan_json_lists_actions_and_counts_requests() {
    let emu = Emulators::start();
    let out = bp(
        &emu,
        &["plan", "blueprints/eks-intro.rhai", "--json", "-v"],
        &[],
    )
    .run();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["summary"]["add"], 24);
    assert_eq!(v["changes"][0]["action"], "create");
    assert_eq!(v["blueprint"], "eks-intro");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("AWS requests"), "{err}");
}

/// A DynamoDB table end to end, and the protection of data-holding kinds:
/// removing a protected table from the blueprint is refused, `protect:
/// false` is applied in place (the tag comes off), and only then does the
/// table go; destroy leaves protected resources unless told otherwise.
#[test]
fn dynamodb_tables_and_protection() {
    let emu = Emulators::start();
    let moto = &emu.moto;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("audit.rhai");
    let write = |body: &str| std::fs::write(&file, body).unwrap();
    let table = |protect: bool, billing: &str| {
        format!(
            r#"dynamodb_table("audit", #{{ hash_key: "id", range_key: "at",
                attributes: #{{ id: "S", at: "N" }}, billing: "{billing}", protect: {protect} }});
            "#
        )
    };
    let run = |args: &[&str]| {
        Test::new()
            .current_dir(dir.path())
            .moto(moto)
            .args(args.iter().copied())
    };
    write(&(table(true, "pay_per_request") + r#"kms_key("k");"#));
    run(&["apply", "audit.rhai", "--auto-approve"])
        .stdout_contains("+ dynamodb_table.audit")
        .stdout_contains("Apply complete: 2 created, 0 updated, 0 deleted.")
        .run();
    assert_eq!(moto.owned("audit")["dynamodb_table"], 1);
    run(&["plan", "audit.rhai", "--detailed-exitcode"])
        .stdout("No changes. 2 resources match the blueprint.\n")
        .run();
    // Billing changes in place.
    write(&(table(true, "provisioned") + r#"kms_key("k");"#));
    run(&["apply", "audit.rhai", "--auto-approve"])
        .stdout_contains("      billing: \"pay_per_request\" -> \"provisioned\"")
        .stdout_contains("Apply complete: 0 created, 1 updated, 0 deleted.")
        .run();
    // A key change would replace the table: refused while it is protected.
    write(
        &(table(true, "provisioned")
            .replace("range_key: \"at\"", "range_key: \"id2\"")
            .replace("at: \"N\"", "id2: \"S\"")
            + r#"kms_key("k");"#),
    );
    run(&["plan", "audit.rhai"])
        .status(1)
        .stderr_contains(
            "dynamodb_table.audit would replace it: a DynamoDB table's key schema cannot change",
        )
        .run();
    // Removing it from the blueprint does not unprotect it.
    write(r#"kms_key("k");"#);
    run(&["plan", "audit.rhai"])
        .status(1)
        .stderr_contains(
            "dynamodb_table.audit would delete it: no longer declared in the blueprint",
        )
        .stderr_contains("first apply it declared with protect: false")
        .run();
    // Unprotect in place, then it can go.
    write(&(table(false, "provisioned") + r#"kms_key("k");"#));
    run(&["apply", "audit.rhai", "--auto-approve"])
        .stdout_contains("      protect: true -> false")
        .stdout_contains("Apply complete: 0 created, 1 updated, 0 deleted.")
        .run();
    write(r#"kms_key("k");"#);
    run(&["apply", "audit.rhai", "--auto-approve"])
        .stdout_contains("  - dynamodb_table.audit  (audit: no longer declared in the blueprint)")
        .stdout_contains("Apply complete: 0 created, 0 updated, 1 deleted.")
        .run();
    assert_eq!(moto.owned("audit")["dynamodb_table"], 0);
    // destroy lists and leaves what is protected.
    write(&(table(true, "pay_per_request") + r#"kms_key("k");"#));
    run(&["apply", "audit.rhai", "--auto-approve"]).run();
    run(&["destroy", "audit.rhai", "--auto-approve"])
        .stdout_contains("Protected, left in place")
        .stdout_contains("  dynamodb_table.audit")
        .stdout_contains("Apply complete: 0 created, 0 updated, 1 deleted.")
        .run();
    assert_eq!(moto.owned("audit")["dynamodb_table"], 1);
    run(&[
        "destroy",
        "audit.rhai",
        "--auto-approve",
        "--include-protected",
    ])
    .stdout_contains("Apply complete: 0 created, 0 updated, 1 deleted.")
    .run();
    assert_eq!(moto.owned("audit")["dynamodb_table"], 0);
}

/// A variant of a seed that the other lifecycle tests only check: applied
/// from nothing, what exists matches what `bp check` declares, the plan
/// after is a no-op (also once the autoscaler has moved), and destroy
/// leaves nothing.
fn variant_converges(file: &str, blueprint: &str, vars: &[&str]) {
    variant_converges_on(&Emulators::start(), file, blueprint, vars);
}

fn variant_converges_on(emu: &Emulators, file: &str, blueprint: &str, vars: &[&str]) {
    let moto = &emu.moto;
    let want = declared(file, vars);
    let total: u64 = want.values().sum();
    bp(emu, &["apply", file, "--auto-approve"], vars)
        .stdout_contains(&format!(
            "Apply complete: {total} created, 0 updated, 0 deleted."
        ))
        .run();
    let (want_aws, want_k8s) = split(want.clone());
    assert_eq!(
        owned_nonzero(moto, blueprint),
        want_aws,
        "{file} {vars:?}: in AWS"
    );
    assert_eq!(
        in_cluster(&emu.kube, blueprint),
        want_k8s,
        "{file} {vars:?}: in the cluster"
    );
    bp(emu, &["plan", file, "--detailed-exitcode"], vars)
        .stdout(&format!(
            "No changes. {total} resources match the blueprint.\n"
        ))
        .run();
    moto.python(&["support:autoscale.py", &moto.url, blueprint]);
    bp(emu, &["plan", file, "--detailed-exitcode"], vars)
        .stdout_contains(&format!(
            "No changes. {total} resources match the blueprint.\n"
        ))
        .run();
    bp(
        emu,
        &["destroy", file, "--auto-approve", "--include-protected"],
        vars,
    )
    .stdout_contains(&format!(
        "Apply complete: 0 created, 0 updated, {total} deleted."
    ))
    .run();
    assert_eq!(
        owned_nonzero(moto, blueprint),
        BTreeMap::new(),
        "{file} {vars:?}: left after destroy"
    );
    assert_eq!(
        in_cluster(&emu.kube, blueprint),
        BTreeMap::new(),
        "{file} {vars:?}: left in the cluster"
    );
}

#[test]
fn pms_dev() {
    variant_converges("blueprints/pms.rhai", "pms-dev", &["env=dev"]);
}

#[test]
fn naas_dev() {
    variant_converges("blueprints/naas.rhai", "naas-dev", &["env=dev"]);
}

#[test]
fn harmonix_on_fargate_with_a_private_endpoint() {
    variant_converges(
        "blueprints/harmonix.rhai",
        "harmonix",
        &["nodes=fargate", "endpoint=private"],
    );
}

/// Harmonix as a provider on a cluster the platform team runs: the
/// cluster, its VPC and OIDC provider exist (made here with boto3), and
/// the blueprint declares only its own part on them, service accounts with
/// roles and an access entry among them.
#[test]
fn harmonix_on_an_existing_cluster() {
    let emu = Emulators::start();
    let m = &emu.moto;
    let made = m.python_json(&[
        "-c",
        &format!(
            "import boto3, json\n\
ec2, eks, iam = {}, {}, {}\n\
vpc = ec2.create_vpc(CidrBlock='10.60.0.0/16')['Vpc']['VpcId']\n\
subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=c, AvailabilityZone=z)['Subnet']['SubnetId'] for c, z in [('10.60.1.0/24', 'us-east-1a'), ('10.60.2.0/24', 'us-east-1b')]]\n\
role = iam.create_role(RoleName='platform-eks', AssumeRolePolicyDocument='{{}}')['Role']['Arn']\n\
issuer = eks.create_cluster(name='platform', roleArn=role, resourcesVpcConfig={{'subnetIds': subnets}}, accessConfig={{'authenticationMode': 'API_AND_CONFIG_MAP'}})['cluster']['identity']['oidc']['issuer']\n\
iam.create_open_id_connect_provider(Url=issuer, ClientIDList=['sts.amazonaws.com'], ThumbprintList=['9e99a48a9960b14926bb7f3b02e22da2b0ab7280'])\n\
print(json.dumps({{'vpc': vpc}}))",
            m.boto3("ec2"),
            m.boto3("eks"),
            m.boto3("iam")
        ),
    ]);
    let vpc = format!("vpc_id={}", made["vpc"].as_str().unwrap());
    let vars = ["cluster=existing", "cluster_name=platform", vpc.as_str()];
    let want = declared("blueprints/harmonix.rhai", &vars);
    assert_eq!(want.get("cluster"), None, "{want:?}");
    assert_eq!(want.get("access_entry"), Some(&1), "{want:?}");
    assert_eq!(want.get("helm_release"), Some(&2), "{want:?}");
    variant_converges_on(&emu, "blueprints/harmonix.rhai", "harmonix", &vars);
    // The platform's cluster is still there.
    let left = m.python_json(&[
        "-c",
        &format!(
            "import boto3, json\nprint(json.dumps({}.list_clusters()['clusters']))",
            m.boto3("eks")
        ),
    ]);
    assert_eq!(left, serde_json::json!(["platform"]));
}
