//! Backups: `c.backups(...)` declared through the usual lifecycle, the
//! PostgreSQL dump CronJob from the stdlib, and `bp backup list|run|restore`
//! against the Kubernetes emulator. Velero's controller does not run there,
//! so the tests play its part: they read the Backup or Restore `bp` made and
//! set its status through the API.

use crate::harness::{repo, Test};
use crate::kube::{Charts, Kube};
use crate::moto::Moto;
use std::process::{Command, Stdio};

const BP: &str = r#"
import "backup" as backup;
let v = vpc("demo", #{ cidr: "10.0.0.0/16", azs: 2,
    public_subnets: ["10.0.1.0/24", "10.0.2.0/24"], private_subnets: ["10.0.10.0/24", "10.0.11.0/24"] });
let c = cluster("demo", #{ version: "1.29", vpc: v, subnets: v.private_subnets });
c.node_group("app", #{ instance_types: ["m6i.large"], min: 1, max: 3, desired: 1 });
let bucket = s3_bucket("demo-backups-7f3a", #{});
let schedules = [#{ name: "daily", cron: var("cron", "0 2 * * *"), ttl_days: 14 }];
if var("apps", "yes") == "yes" {
    schedules.push(#{ name: "apps", cron: "0 */6 * * *", namespaces: ["apps"], snapshot_volumes: false });
}
c.backups(#{ bucket: bucket, schedules: schedules, velero: #{ repo: var("repo") } });
let ns = c.namespace("apps");
let db = ns.secret("db", #{ data: #{ POSTGRES_USER: "pms", POSTGRES_PASSWORD: "pw", POSTGRES_DB: "pms" } });
let dump_role = c.irsa_role("pg-backup", #{ namespace: "apps", service_account: "postgres-backup" });
backup::postgres(ns, #{ schedule: "0 3 * * *", secret: db, host: "db.apps.svc", bucket: bucket,
                        prefix: "pms", role: dump_role, retain_days: 7 });
"#;

struct Env {
    moto: Moto,
    kube: Kube,
    charts: Charts,
    dir: tempfile::TempDir,
}

impl Env {
    fn new() -> Env {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("bp.rhai"), BP).unwrap();
        Env {
            moto: Moto::start(),
            kube: Kube::start(&["demo"]),
            charts: Charts::start(&["velero@7.2.1"]),
            dir,
        }
    }

    fn args(&self, args: &[&str]) -> Vec<String> {
        let mut all: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        all.extend(["--kubeconfig".into(), self.kube.kubeconfig_arg()]);
        if matches!(args[0], "plan" | "apply" | "destroy") {
            all.extend([
                "--helm".into(),
                repo().join(".tools/helm").to_string_lossy().into_owned(),
            ]);
        }
        all.extend(["--var".into(), format!("repo={}", self.charts.url)]);
        all
    }

    fn bp(&self, args: &[&str], status: i32) -> String {
        let out = Test::new()
            .current_dir(self.dir.path())
            .moto(&self.moto)
            .args(self.args(args))
            .status(status)
            .run();
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    }

    /// `bp` in the background, for `--wait`.
    fn spawn(&self, args: &[&str]) -> std::process::Child {
        let mut cmd = Command::new(crate::harness::bp());
        cmd.args(self.args(args))
            .current_dir(self.dir.path())
            .env_remove("AWS_PROFILE")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in self.moto.env() {
            cmd.env(k, v);
        }
        cmd.spawn().unwrap()
    }

    /// Waits until a Velero object of `kind` other than `except` exists.
    fn created(&self, kind: &str, except: &[String]) -> serde_json::Value {
        for _ in 0..200 {
            let list = self.kube.get_json(&[kind, "-n", "velero"]);
            if let Some(o) =
                list["items"].as_array().unwrap().iter().find(|o| {
                    !except.contains(&o["metadata"]["name"].as_str().unwrap().to_string())
                })
            {
                return o.clone();
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("bp made no {kind}");
    }

    /// Plays Velero: sets the status of a Backup or Restore.
    fn finish(&self, kind: &str, name: &str, phase: &str, errors: u64, warnings: u64) {
        let status = serde_json::json!({ "status": {
            "phase": phase, "errors": errors, "warnings": warnings,
            "startTimestamp": "2026-11-21T02:00:00Z", "completionTimestamp": "2026-11-21T02:03:00Z",
            "expiration": "2026-12-05T02:00:00Z", "progress": { "itemsBackedUp": 42, "totalItems": 42 },
        }});
        self.kube.kubectl(&[
            "patch",
            kind,
            name,
            "-n",
            "velero",
            "--subresource=status",
            "--type=merge",
            "-p",
            &status.to_string(),
        ]);
    }

    fn bucket(&self) -> serde_json::Value {
        let script = format!(
            "import boto3, json\n\
s3 = boto3.client('s3', endpoint_url='{}', region_name='us-east-1', aws_access_key_id='t', aws_secret_access_key='t')\n\
b = 'demo-backups-7f3a'\n\
print(json.dumps({{'versioning': s3.get_bucket_versioning(Bucket=b).get('Status'), \
'block': s3.get_public_access_block(Bucket=b)['PublicAccessBlockConfiguration'], \
'tags': {{t['Key']: t['Value'] for t in s3.get_bucket_tagging(Bucket=b)['TagSet']}}}}))",
            self.moto.url
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
        serde_json::from_slice(&out.stdout).unwrap()
    }
}

#[test]
fn declared_backups_through_their_lifecycle() {
    let env = Env::new();
    let k = &env.kube;
    env.bp(&["apply", "bp.rhai", "--auto-approve"], 0);

    // The bucket: versioned, private, protected.
    let b = env.bucket();
    assert_eq!(b["versioning"], "Enabled", "{b}");
    assert_eq!(b["block"]["BlockPublicAcls"], true, "{b}");
    assert_eq!(b["tags"]["blueprint:protect"], "true", "{b}");
    // Velero's release, configured for the bucket and its role.
    let releases = String::from_utf8(
        Command::new(repo().join(".tools/helm"))
            .args([
                "--kubeconfig",
                &k.kubeconfig_arg(),
                "list",
                "-n",
                "velero",
                "-o",
                "json",
            ])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert!(
        releases.contains("\"chart\":\"velero-7.2.1\""),
        "{releases}"
    );
    let settings = k.get_json(&["configmap", "velero-settings", "-n", "velero"]);
    let values: serde_json::Value =
        serde_json::from_str(settings["data"]["values.json"].as_str().unwrap()).unwrap();
    assert_eq!(
        values["configuration"]["backupStorageLocation"][0]["bucket"],
        "demo-backups-7f3a"
    );
    assert_eq!(
        values["configuration"]["backupStorageLocation"][0]["config"]["region"],
        "us-east-1"
    );
    assert!(
        values["serviceAccount"]["server"]["annotations"]["eks.amazonaws.com/role-arn"]
            .as_str()
            .unwrap()
            .ends_with("/demo-velero")
    );
    // The schedules.
    let daily = k.get_json(&["schedules.velero.io", "daily", "-n", "velero"]);
    assert_eq!(daily["spec"]["schedule"], "0 2 * * *");
    assert_eq!(daily["spec"]["template"]["ttl"], "336h0m0s");
    assert_eq!(
        daily["spec"]["template"]["includedNamespaces"],
        serde_json::json!(["*"])
    );
    let apps = k.get_json(&["schedules.velero.io", "apps", "-n", "velero"]);
    assert_eq!(
        apps["spec"]["template"]["includedNamespaces"],
        serde_json::json!(["apps"])
    );
    assert_eq!(apps["spec"]["template"]["snapshotVolumes"], false);
    // The PostgreSQL dump: a CronJob with the role's service account and
    // the credentials from the Secret, streaming to the bucket.
    let job = k.get_json(&["cronjob", "postgres-backup", "-n", "apps"]);
    assert_eq!(job["spec"]["schedule"], "0 3 * * *");
    let pod = &job["spec"]["jobTemplate"]["spec"]["template"]["spec"];
    assert_eq!(pod["serviceAccountName"], "postgres-backup");
    let container = &pod["containers"][0];
    assert!(container["command"][2]
        .as_str()
        .unwrap()
        .contains("pg_dump"));
    // A failed pg_dump fails the job instead of uploading an empty dump.
    assert!(container["command"][2]
        .as_str()
        .unwrap()
        .starts_with("set -euo pipefail\n"));
    assert!(container["command"][2]
        .as_str()
        .unwrap()
        .contains("aws s3 cp - \"s3://$BUCKET/$key\""));
    let env_of = |name: &str| {
        container["env"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("no {name} in {container:#}"))
    };
    assert_eq!(env_of("BUCKET")["value"], "demo-backups-7f3a");
    assert_eq!(env_of("PGHOST")["value"], "db.apps.svc");
    assert_eq!(
        env_of("PGPASSWORD")["valueFrom"]["secretKeyRef"]["key"],
        "POSTGRES_PASSWORD"
    );
    assert!(pod["volumes"].is_null(), "no volume: {pod:#}");

    let out = env.bp(&["plan", "bp.rhai", "--detailed-exitcode"], 0);
    assert!(out.contains("No changes."), "{out}");

    // A changed schedule is an in-place change of the same object.
    let uid = daily["metadata"]["uid"].clone();
    let out = env.bp(
        &[
            "apply",
            "bp.rhai",
            "--auto-approve",
            "--var",
            "cron=30 1 * * *",
        ],
        0,
    );
    assert!(
        out.contains("~ manifest.demo/velero/Schedule/daily"),
        "{out}"
    );
    assert!(
        out.contains("content.spec.schedule: \"0 2 * * *\" -> \"30 1 * * *\""),
        "{out}"
    );
    let daily = k.get_json(&["schedules.velero.io", "daily", "-n", "velero"]);
    assert_eq!(daily["spec"]["schedule"], "30 1 * * *");
    assert_eq!(daily["metadata"]["uid"], uid);

    // A removed schedule goes.
    let out = env.bp(
        &[
            "apply",
            "bp.rhai",
            "--auto-approve",
            "--var",
            "cron=30 1 * * *",
            "--var",
            "apps=no",
        ],
        0,
    );
    assert!(
        out.contains("- manifest.demo/velero/Schedule/apps"),
        "{out}"
    );
    assert!(!k
        .kubectl_output(&["get", "schedules.velero.io", "apps", "-n", "velero"])
        .status
        .success());

    // Destroy leaves the protected bucket, says so, and exits 0.
    let out = env.bp(
        &[
            "destroy",
            "bp.rhai",
            "--auto-approve",
            "--var",
            "cron=30 1 * * *",
            "--var",
            "apps=no",
        ],
        0,
    );
    assert!(out.contains("Protected, left in place"), "{out}");
    assert!(out.contains("s3_bucket.demo-backups-7f3a"), "{out}");
    assert_eq!(env.bucket()["tags"]["blueprint:protect"], "true");
}

#[test]
fn backups_on_demand() {
    let env = Env::new();
    // Before Velero is installed.
    let out = env.bp(&["backup", "list", "bp.rhai"], 1);
    assert!(
        out.contains("Velero is not installed in cluster demo"),
        "{out}"
    );
    env.bp(&["apply", "bp.rhai", "--auto-approve"], 0);
    let out = env.bp(&["backup", "list", "bp.rhai"], 0);
    assert!(out.contains("No Velero backups in cluster demo."), "{out}");

    // run --wait: exits 0 only on Completed.
    let mut seen: Vec<String> = Vec::new();
    for (phase, errors, code) in [
        ("Completed", 0, 0),
        ("PartiallyFailed", 2, 1),
        ("Failed", 0, 1),
    ] {
        let child = env.spawn(&["backup", "run", "bp.rhai", "--schedule", "daily", "--wait"]);
        let backup = env.created("backups.velero.io", &seen);
        let name = backup["metadata"]["name"].as_str().unwrap().to_string();
        assert!(name.starts_with("daily-"), "{name}");
        assert_eq!(backup["spec"]["ttl"], "336h0m0s");
        assert_eq!(
            backup["spec"]["includedNamespaces"],
            serde_json::json!(["*"])
        );
        assert_eq!(backup["spec"]["storageLocation"], "default");
        assert_eq!(
            backup["metadata"]["labels"]["velero.io/schedule-name"],
            "daily"
        );
        env.finish("backups.velero.io", &name, phase, errors, 1);
        let out = child.wait_with_output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert_eq!(
            out.status.code(),
            Some(code),
            "{text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        if phase == "PartiallyFailed" {
            assert!(
                text.contains("finished PartiallyFailed: 2 errors, 1 warnings"),
                "{text}"
            );
        }
        seen.push(name);
        std::thread::sleep(std::time::Duration::from_millis(1100)); // names carry the second
    }

    // On a terminal, a live line says what run --wait waits for.
    let mut p = crate::harness::on_terminal(
        env.dir.path(),
        &env.args(&["backup", "run", "bp.rhai", "--schedule", "daily", "--wait"]),
        &env.moto.env(),
    );
    p.exp_string("waiting for backup daily-").unwrap();
    p.exp_string("to finish: New,").unwrap();
    let backup = env.created("backups.velero.io", &seen);
    let name = backup["metadata"]["name"].as_str().unwrap().to_string();
    env.finish("backups.velero.io", &name, "Completed", 0, 0);
    p.exp_string(&format!("Backup {name} completed")).unwrap();
    p.exp_eof().unwrap();
    seen.push(name);
    std::thread::sleep(std::time::Duration::from_millis(1100));

    // list: newest first, with phases and counts.
    let out = env.bp(&["backup", "list", "bp.rhai", "--json"], 0);
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    let phases: Vec<&str> = v["backups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["phase"].as_str().unwrap())
        .collect();
    assert_eq!(
        phases,
        ["Completed", "Failed", "PartiallyFailed", "Completed"]
    );
    assert_eq!(v["backups"][3]["items_backed_up"], 42);
    let out = env.bp(&["backup", "list", "bp.rhai"], 0);
    assert!(
        out.contains("NAME") && out.contains("PartiallyFailed"),
        "{out}"
    );

    // restore: unknown names get the nearest; no terminal needs approval.
    let good = seen[0].clone();
    let typo = format!("{}x", &good);
    let out = env.bp(&["backup", "restore", "bp.rhai", &typo], 1);
    assert!(out.contains(&format!("did you mean {good}?")), "{out}");
    let out = env.bp(&["backup", "restore", "bp.rhai", &good], 1);
    assert!(out.contains("pass --auto-approve"), "{out}");
    // On a terminal, the restore's wait shows on a live line too.
    let mut p = crate::harness::on_terminal(
        env.dir.path(),
        &env.args(&[
            "backup",
            "restore",
            "bp.rhai",
            &good,
            "--namespace-mapping",
            "apps=apps-drill",
            "--auto-approve",
            "--wait",
        ]),
        &env.moto.env(),
    );
    p.exp_regex("waiting for [Rr]estore [^ ]+ to finish: New,")
        .unwrap();
    let restore = env.created("restores.velero.io", &[]);
    assert_eq!(restore["spec"]["backupName"], good.as_str());
    assert_eq!(
        restore["spec"]["includedNamespaces"],
        serde_json::json!(["apps"])
    );
    assert_eq!(
        restore["spec"]["namespaceMapping"],
        serde_json::json!({"apps": "apps-drill"})
    );
    env.finish(
        "restores.velero.io",
        restore["metadata"]["name"].as_str().unwrap(),
        "Completed",
        0,
        0,
    );
    p.exp_regex("[Rr]estore [^ ]+ completed").unwrap();
    p.exp_eof().unwrap();
    let status = p.process().wait().unwrap();
    assert!(
        matches!(status, rexpect::process::WaitStatus::Exited(_, 0)),
        "{status:?}"
    );
}
