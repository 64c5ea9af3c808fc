//! Helm releases on the Kubernetes emulator with the real helm 3.18: a
//! local chart folder, and a chart repository served over loopback with two
//! versions of a fixture chart. What Blueprint did is checked with
//! `helm list`, `helm get values` and `helm history`.

use crate::harness::{repo, Test};
use crate::kube::Kube;
use crate::moto::Moto;
use age::secrecy::ExposeSecret;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

fn helm_bin() -> PathBuf {
    repo().join(".tools/helm")
}

/// A chart repository over loopback holding the fixture chart `demo` at
/// 0.1.0 and 0.2.0 (whose default greeting differs).
struct ChartRepo {
    server: Child,
    _dir: tempfile::TempDir,
    url: String,
}

impl Drop for ChartRepo {
    fn drop(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
    }
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.path().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

impl ChartRepo {
    fn start() -> ChartRepo {
        let dir = tempfile::tempdir().unwrap();
        let charts = dir.path().join("repo");
        let fixture = repo().join("tests/fixtures/charts/demo");
        let v2 = dir.path().join("demo-0.2.0");
        copy_dir(&fixture, &v2);
        let chart = std::fs::read_to_string(v2.join("Chart.yaml")).unwrap();
        std::fs::write(
            v2.join("Chart.yaml"),
            chart.replace("version: 0.1.0", "version: 0.2.0"),
        )
        .unwrap();
        let values = std::fs::read_to_string(v2.join("values.yaml")).unwrap();
        std::fs::write(
            v2.join("values.yaml"),
            values.replace("greeting: hello", "greeting: hello-v2"),
        )
        .unwrap();
        for c in [fixture.as_path(), v2.as_path()] {
            run(Command::new(helm_bin())
                .arg("package")
                .arg(c)
                .arg("-d")
                .arg(&charts));
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = format!("http://127.0.0.1:{port}");
        run(Command::new(helm_bin())
            .args(["repo", "index"])
            .arg(&charts)
            .args(["--url", &url]));
        let server = Command::new(repo().join(".venv-kube/bin/python"))
            .args([
                "-m",
                "http.server",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--directory",
            ])
            .arg(&charts)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let start = std::time::Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                start.elapsed().as_secs() < 20,
                "the chart repository did not start"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        ChartRepo {
            server,
            _dir: dir,
            url,
        }
    }
}

struct Env {
    moto: Moto,
    kube: Kube,
    charts: ChartRepo,
    dir: tempfile::TempDir,
    /// The age identity that opens `s.enc.yaml`, and its recipient.
    key: (String, String),
    /// A helm wrapper that logs its argv and the private folder's files.
    spy: PathBuf,
    spy_log: PathBuf,
}

const BP: &str = r#"
let c = existing_cluster("demo");
c.namespace("apps");
let s = sops_file("s.enc.yaml");
c.helm_release("web", #{
    namespace: "apps", create_namespace: true,
    chart: "demo", repo: var("repo"), version: var("version", "0.1.0"),
    values: #{ greeting: var("greeting", "hi"), password: s.password },
});
if var("local", "yes") == "yes" {
    c.helm_release("local", #{ namespace: "apps", chart: "./charts/demo",
        values_files: ["values/local.yaml"], values: #{ replicas: 2 } });
}
if var("broken", "no") == "yes" {
    c.helm_release("broken", #{ namespace: "apps", chart: "./charts/demo", values: #{ fail: true } });
}
"#;

impl Env {
    fn new() -> Env {
        let dir = tempfile::tempdir().unwrap();
        copy_dir(
            &repo().join("tests/fixtures/charts/demo"),
            &dir.path().join("charts/demo"),
        );
        std::fs::create_dir_all(dir.path().join("values")).unwrap();
        std::fs::write(
            dir.path().join("values/local.yaml"),
            "greeting: from-file\nreplicas: 1\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("bp.rhai"), BP).unwrap();
        let id = age::x25519::Identity::generate();
        let key = (
            id.to_string().expose_secret().to_string(),
            id.to_public().to_string(),
        );
        let spy = dir.path().join("helm-spy");
        let spy_log = dir.path().join("helm-spy.log");
        crate::harness::executable(
            &spy,
            &format!(
                "#!/bin/sh\n\
                 echo \"ARGV $*\" >> '{log}'\n\
                 for a in \"$@\"; do a=\"${{a#--*=}}\"; case \"$a\" in */kubeconfig|*/values.json) ls -l \"$a\" >> '{log}'; echo \"DIR $(dirname \"$a\")\" >> '{log}';; esac; done\n\
                 exec '{helm}' \"$@\"\n",
                log = spy_log.display(),
                helm = helm_bin().display()
            ),
        );
        let env = Env {
            moto: Moto::start(),
            kube: Kube::start(&["demo"]),
            charts: ChartRepo::start(),
            dir,
            key,
            spy,
            spy_log,
        };
        env.set_password("pw-PLAIN-1");
        env
    }

    fn set_password(&self, pw: &str) {
        let plain = self.dir.path().join("s.yaml");
        std::fs::write(&plain, format!("password: {pw}\n")).unwrap();
        Test::new()
            .current_dir(self.dir.path())
            .args([
                "secrets",
                "encrypt",
                "s.yaml",
                "--age",
                &self.key.1,
                "-o",
                "s.enc.yaml",
            ])
            .run();
        std::fs::remove_file(plain).unwrap();
    }

    /// Runs `bp` with the emulators, the chart repository and the spy.
    fn bp(&self, args: &[&str], status: i32) -> String {
        self.bp_with(args, &[], status)
    }

    /// [`Env::bp`] with more environment.
    fn bp_with(&self, args: &[&str], env: &[(&str, &str)], status: i32) -> String {
        let mut all: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        if matches!(args[0], "plan" | "apply" | "destroy") {
            all.extend(["--kubeconfig".into(), self.kube.kubeconfig_arg()]);
            all.extend(["--helm".into(), self.spy.to_string_lossy().into_owned()]);
        }
        all.extend(["--var".into(), format!("repo={}", self.charts.url)]);
        let mut t = Test::new();
        for (k, v) in env {
            t = t.env(k, v);
        }
        let out = t
            .current_dir(self.dir.path())
            .moto(&self.moto)
            .env("SOPS_AGE_KEY", &self.key.0)
            .env(
                "HELM_CACHE_HOME",
                &self.dir.path().join(".helm-cache").to_string_lossy(),
            )
            .env(
                "HELM_CONFIG_HOME",
                &self.dir.path().join(".helm-config").to_string_lossy(),
            )
            .args(all)
            .status(status)
            .run();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            !text.contains("pw-PLAIN"),
            "a secret in the output:\n{text}"
        );
        text
    }

    fn helm(&self, args: &[&str]) -> String {
        run(Command::new(helm_bin())
            .args(["--kubeconfig", &self.kube.kubeconfig_arg()])
            .args(args))
    }

    fn helm_json(&self, args: &[&str]) -> serde_json::Value {
        serde_json::from_str(&self.helm(args)).unwrap()
    }

    /// `helm list -A`: release name to `chart-version` and status.
    fn releases(&self) -> Vec<(String, String, String)> {
        let list = self.helm_json(&["list", "-A", "-a", "-o", "json"]);
        let mut out: Vec<(String, String, String)> = list
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["name"].as_str().unwrap().to_string(),
                    r["chart"].as_str().unwrap().to_string(),
                    r["status"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        out.sort();
        out
    }
}

fn r(name: &str, chart: &str, status: &str) -> (String, String, String) {
    (name.into(), chart.into(), status.into())
}

#[test]
fn releases_install_change_upgrade_fail_and_uninstall() {
    let env = Env::new();

    // Install: the plan reads no helm process and shows the values, the
    // secret among them as (sensitive).
    let out = env.bp(&["plan", "bp.rhai", "--detailed-exitcode"], 2);
    assert!(out.contains("+ helm_release.demo/apps/web"), "{out}");
    assert!(out.contains("values.password = (sensitive)"), "{out}");
    assert!(out.contains("version = \"0.1.0\""), "{out}");
    env.bp(&["apply", "bp.rhai", "--auto-approve"], 0);
    assert_eq!(
        env.releases(),
        [
            r("local", "demo-0.1.0", "deployed"),
            r("web", "demo-0.1.0", "deployed")
        ]
    );
    let values = env.helm_json(&["get", "values", "web", "-n", "apps", "-o", "json"]);
    assert_eq!(values["greeting"], "hi");
    assert_eq!(values["password"], "pw-PLAIN-1");
    let values = env.helm_json(&["get", "values", "local", "-n", "apps", "-o", "json"]);
    assert_eq!(
        values,
        serde_json::json!({"greeting": "from-file", "replicas": 2})
    );
    let cm = env
        .kube
        .get_json(&["configmap", "local-config", "-n", "apps"]);
    assert_eq!(cm["data"]["greeting"], "from-file");

    // The secret reached helm through a private 0600 file, never argv, and
    // the folder is gone.
    let log = std::fs::read_to_string(&env.spy_log).unwrap();
    assert!(!log.contains("pw-PLAIN"), "{log}");
    assert!(log.contains("-rw-------"), "{log}");
    for line in log.lines().filter_map(|l| l.strip_prefix("DIR ")) {
        assert!(!Path::new(line).exists(), "{line} is still there");
    }

    // No-op.
    let out = env.bp(&["plan", "bp.rhai", "--detailed-exitcode"], 0);
    assert!(out.contains("No changes. 3 resources match"), "{out}");

    // A values change shows exactly that key.
    let out = env.bp(&["plan", "bp.rhai", "--var", "greeting=yo"], 0);
    assert!(out.contains("~ helm_release.demo/apps/web"), "{out}");
    assert!(out.contains("values.greeting: \"hi\" -> \"yo\""), "{out}");
    // The manifest diff, like helm-diff: the chart rendered with the new
    // values, object by object against the release's stored manifest.
    assert!(out.contains("ConfigMap apps/web-config (changed)"), "{out}");
    assert!(out.contains("-   greeting: hi"), "{out}");
    assert!(out.contains("+   greeting: yo"), "{out}");
    // Hooks are not part of the stored manifest: not in the diff either.
    assert!(!out.contains("post-upgrade-hook"), "{out}");
    assert!(
        out.contains("Plan: 0 to add, 1 to change, 0 to replace, 0 to destroy."),
        "{out}"
    );
    env.bp(
        &["apply", "bp.rhai", "--auto-approve", "--var", "greeting=yo"],
        0,
    );
    assert_eq!(
        env.helm_json(&["get", "values", "web", "-n", "apps", "-o", "json"])["greeting"],
        "yo"
    );
    let history = env.helm_json(&["history", "web", "-n", "apps", "-o", "json"]);
    assert_eq!(history.as_array().unwrap().len(), 2, "{history:#}");

    // A chart version upgrade.
    let vars = ["--var", "greeting=yo", "--var", "version=0.2.0"];
    let mut args = vec!["plan", "bp.rhai"];
    args.extend(vars);
    let out = env.bp(&args, 0);
    assert!(out.contains("version: \"0.1.0\" -> \"0.2.0\""), "{out}");
    let mut args = vec!["apply", "bp.rhai", "--auto-approve"];
    args.extend(vars);
    env.bp(&args, 0);
    assert!(env.releases().contains(&r("web", "demo-0.2.0", "deployed")));

    // A sensitive value changes: shown as changed, never in clear.
    env.set_password("pw-PLAIN-2");
    let mut args = vec!["plan", "bp.rhai"];
    args.extend(vars);
    let out = env.bp(&args, 0);
    assert!(
        out.contains("values.password: (sensitive) -> (sensitive)"),
        "{out}"
    );
    assert!(
        out.contains("Secret apps/web-credentials (changed)"),
        "{out}"
    );
    assert!(out.contains("+   password: (sensitive, changed)"), "{out}");
    let mut args = vec!["apply", "bp.rhai", "--auto-approve"];
    args.extend(vars);
    env.bp(&args, 0);
    assert_eq!(
        env.helm_json(&["get", "values", "web", "-n", "apps", "-o", "json"])["password"],
        "pw-PLAIN-2"
    );

    // A release that fails: helm's error is reported for it, and the plan
    // then shows it as needing action.
    let mut args = vec!["apply", "bp.rhai", "--auto-approve", "--var", "broken=yes"];
    args.extend(vars);
    let out = env.bp(&args, 1);
    assert!(out.contains("helm_release.demo/apps/broken"), "{out}");
    assert!(out.contains("helm failed"), "{out}");
    assert!(out.contains("does-not-exist"), "{out}");
    assert!(env
        .releases()
        .contains(&r("broken", "demo-0.1.0", "failed")));
    let mut args = vec!["plan", "bp.rhai", "--var", "broken=yes"];
    args.extend(vars);
    let out = env.bp(&args, 0);
    assert!(out.contains("~ helm_release.demo/apps/broken"), "{out}");
    assert!(out.contains("status: \"failed\" -> \"deployed\""), "{out}");

    // Without the chart repository the manifests cannot be rendered: the
    // plan says so and still shows the values.
    let mut args = vec!["plan", "bp.rhai"];
    args.extend(vars);
    args.extend(["--var", "greeting=offline", "--var", "broken=yes"]);
    let mut env = env;
    let _ = env.charts.server.kill();
    let _ = env.charts.server.wait();
    let out = env.bp(&args, 0);
    assert!(
        out.contains("values.greeting: \"yo\" -> \"offline\""),
        "{out}"
    );
    assert!(
        out.contains("manifests not compared: helm template failed"),
        "{out}"
    );

    // Removal uninstalls; destroy uninstalls the rest.
    let mut args = vec!["apply", "bp.rhai", "--auto-approve", "--var", "local=no"];
    args.extend(vars);
    let out = env.bp(&args, 0);
    assert!(out.contains("- helm_release.demo/apps/local"), "{out}");
    assert!(out.contains("- helm_release.demo/apps/broken"), "{out}");
    assert_eq!(env.releases(), [r("web", "demo-0.2.0", "deployed")]);
    let mut args = vec!["destroy", "bp.rhai", "--auto-approve"];
    args.extend(vars);
    env.bp(&args, 0);
    assert_eq!(env.releases(), []);
}

/// A release of the same name that is not this blueprint's is never taken
/// over silently.
#[test]
fn foreign_releases_are_not_taken_over() {
    let env = Env::new();
    env.helm(&[
        "install",
        "local",
        &env.dir.path().join("charts/demo").to_string_lossy(),
        "-n",
        "apps",
        "--create-namespace",
    ]);
    let out = env.bp(&["plan", "bp.rhai"], 1);
    assert!(
        out.contains(
            "the Helm release apps/local exists in cluster demo and is not this blueprint's"
        ),
        "{out}"
    );
    assert!(out.contains("adopt: true"), "{out}");
}

/// Chart settings are checked before any call.
#[test]
fn helm_release_options_are_checked() {
    for (script, message) in [
        (
            r#"existing_cluster("d").helm_release("x", #{ namespace: "a", chart: "autoscaler", repo: "https://charts.example" });"#,
            "helm_release: the chart \"autoscaler\" has no version",
        ),
        (
            r#"existing_cluster("d").helm_release("x", #{ namespace: "a", chart: "autoscaler", repo: "http://charts.example", version: "1" });"#,
            "is not an https URL",
        ),
        (
            r#"existing_cluster("d").helm_release("x", #{ namespace: "a", chart: "./missing" });"#,
            "helm_release: cannot open \"./missing\"",
        ),
        (
            r#"existing_cluster("d").helm_release("x", #{ namespace: "a", chart: "oci://r.example/c" });"#,
            "pin versions",
        ),
        (
            r#"existing_cluster("d").helm_release("X", #{ namespace: "a", chart: "oci://r.example/c", version: "1" });"#,
            "helm_release",
        ),
    ] {
        Test::new()
            .file("bp.rhai", script)
            .args(["check", "bp.rhai"])
            .status(1)
            .stderr_contains(message)
            .run();
    }
}

/// Chart names, versions and repositories that helm could read as flags,
/// or that reach past loopback over plain http, are refused by `bp check`
/// at the call's file:line:col.
#[test]
fn hostile_chart_sources_are_refused_where_they_are_written() {
    let call = |opts: &str| {
        format!("let c = existing_cluster(\"d\");\nc.helm_release(\"x\", #{{ namespace: \"a\", {opts} }});\n")
    };
    for (opts, message) in [
        (
            r#"chart: "--post-renderer=bash", repo: "https://charts.example", version: "1""#,
            "\"--post-renderer=bash\" is not a chart name",
        ),
        (
            r#"chart: "-x", repo: "https://charts.example", version: "1""#,
            "\"-x\" is not a chart name",
        ),
        (
            r#"chart: "c", repo: "https://charts.example", version: "--devel""#,
            "\"--devel\" is not a chart version",
        ),
        (
            r#"chart: "c", repo: "http://localhost.attacker.example/charts", version: "1""#,
            "the repo \"http://localhost.attacker.example/charts\" is not an https URL",
        ),
        (
            r#"chart: "c", repo: "http://localhost@attacker.example/charts", version: "1""#,
            "holds credentials",
        ),
        (
            r#"chart: "c", repo: "http://127.0.0.1.attacker.example/", version: "1""#,
            "is not an https URL",
        ),
        (
            r#"chart: "c", repo: "--repo=https://x", version: "1""#,
            "is not a URL",
        ),
        (
            r#"chart: "oci://registry.example/--post-renderer=bash", version: "1""#,
            "names no chart",
        ),
    ] {
        Test::new()
            .file("bp.rhai", &call(opts))
            .args(["check", "bp.rhai"])
            .status(1)
            .stderr_contains(message)
            .stderr_contains("bp.rhai:2:")
            .run();
    }
}

/// Without a usable helm, a plan with releases to install says so.
#[test]
fn a_missing_helm_is_a_clear_error() {
    let env = Env::new();
    let out = Test::new()
        .current_dir(env.dir.path())
        .moto(&env.moto)
        .env("SOPS_AGE_KEY", &env.key.0)
        .args([
            "plan",
            "bp.rhai",
            "--kubeconfig",
            &env.kube.kubeconfig_arg(),
            "--helm",
            "/nonexistent/helm",
            "--var",
            &format!("repo={}", env.charts.url),
        ])
        .status(1)
        .run();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot run helm at /nonexistent/helm"),
        "{err}"
    );
}

/// On a terminal, a release installed with `wait` shows on the live view
/// what it waits for while helm waits (here for a Deployment the emulator
/// never makes ready, until the release's timeout).
#[test]
fn a_release_with_wait_shows_its_wait_on_the_live_view() {
    let moto = Moto::start();
    let kube = Kube::start(&["demo"]);
    let dir = tempfile::tempdir().unwrap();
    let chart = dir.path().join("charts/slow");
    std::fs::create_dir_all(chart.join("templates")).unwrap();
    std::fs::write(
        chart.join("Chart.yaml"),
        "apiVersion: v2\nname: slow\nversion: 0.1.0\n",
    )
    .unwrap();
    std::fs::write(
        chart.join("templates/deployment.yaml"),
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\nspec:\n  replicas: 1\n  selector:\n    matchLabels: {app: slow}\n  template:\n    metadata:\n      labels: {app: slow}\n    spec:\n      containers:\n        - name: app\n          image: registry.example/slow:1\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("bp.rhai"),
        "let c = existing_cluster(\"demo\");\nc.namespace(\"apps\");\nc.helm_release(\"slow\", #{ namespace: \"apps\", chart: \"./charts/slow\", wait: true, timeout: \"4s\" });\nc.helm_release(\"undone\", #{ namespace: \"apps\", chart: \"./charts/slow\", atomic: true, timeout: \"4s\" });\n",
    )
    .unwrap();
    let args = [
        "apply".to_string(),
        "bp.rhai".into(),
        "--auto-approve".into(),
        "--kubeconfig".into(),
        kube.kubeconfig_arg(),
        "--helm".into(),
        helm_bin().to_string_lossy().into_owned(),
    ];
    let mut p = crate::harness::on_terminal(dir.path(), &args, &moto.env());
    // Both wait at once; the view redraws both lines at every tick.
    p.exp_string("waiting for helm to see release apps/slow ready (--wait, up to 4s)")
        .unwrap();
    p.exp_string("waiting for helm to see release apps/undone ready (--atomic, up to 4s)")
        .unwrap();
    p.exp_string("+ helm_release.demo/apps/slow: FAILED")
        .unwrap();
    // It failed because helm's wait ran out, not for another reason.
    let rest = p.exp_eof().unwrap();
    assert!(
        rest.contains("context deadline exceeded") || rest.contains("timed out waiting"),
        "{rest}"
    );
    let status = p.process().wait().unwrap();
    assert!(
        matches!(status, rexpect::process::WaitStatus::Exited(_, 1)),
        "{status:?}"
    );
}

/// A canary passed with `--var` into a Secret's data (so the variable is
/// sensitive) and into a Helm value: no output, saved plan, helm argv or
/// private folder shows it, in plain, base64 or JSON-escaped form, though
/// both reach the cluster; helm is not pointed elsewhere by `HELM_*`
/// variables in the environment.
#[test]
fn a_sensitive_variable_reaches_helm_and_a_secret_without_leaking() {
    const CANARY: &str = "canary-helm-PW-31c7";
    let env = Env::new();
    std::fs::write(
        env.dir.path().join("bp.rhai"),
        r#"
let c = existing_cluster("demo");
let ns = c.namespace("apps");
ns.secret("db", #{ data: #{ password: var("db_password") } });
c.helm_release("local", #{ namespace: "apps", chart: "./charts/demo",
    values: #{ password: var("db_password"), replicas: 1 } });
"#,
    )
    .unwrap();
    let private = env.dir.path().join("run");
    std::fs::create_dir_all(&private).unwrap();
    let forms = {
        use base64::Engine as _;
        vec![
            CANARY.to_string(),
            base64::engine::general_purpose::STANDARD.encode(CANARY),
        ]
    };
    let clean = |what: &str, text: &str| {
        for f in &forms {
            assert!(
                !text.contains(f.as_str()),
                "{what} shows the canary:\n{text}"
            );
        }
    };
    let var = format!("db_password={CANARY}");
    let private_dir = private.to_string_lossy().into_owned();
    let bp = |args: &[&str], status: i32| {
        let mut all = args.to_vec();
        all.extend(["--var", &var]);
        let text = env.bp_with(
            &all,
            &[
                ("XDG_RUNTIME_DIR", &private_dir),
                ("HELM_KUBEAPISERVER", "https://127.0.0.1:9"),
                ("HELM_KUBETOKEN", "not-this-one"),
                ("HELM_NAMESPACE", "elsewhere"),
                ("HELM_DRIVER", "memory"),
            ],
            status,
        );
        clean(&args.join(" "), &text);
        text
    };
    let out = bp(&["plan", "bp.rhai", "--detailed-exitcode"], 2);
    assert!(out.contains("values.password = (sensitive)"), "{out}");
    bp(&["plan", "bp.rhai", "--json"], 0);
    bp(&["plan", "bp.rhai", "-o", "plan.json"], 0);
    clean(
        "the saved plan",
        &std::fs::read_to_string(env.dir.path().join("plan.json")).unwrap(),
    );
    bp(&["apply", "plan.json"], 0);
    let out = bp(&["plan", "bp.rhai", "--detailed-exitcode"], 0);
    assert!(out.contains("No changes."), "{out}");
    // It reached the cluster, in the right namespace, through helm's
    // records in Secrets (not the memory driver).
    let values = env.helm_json(&["get", "values", "local", "-n", "apps", "-o", "json"]);
    assert_eq!(values["password"], CANARY);
    let secret = env.kube.get_json(&["secret", "db", "-n", "apps"]);
    use base64::Engine as _;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(secret["data"]["password"].as_str().unwrap())
        .unwrap();
    assert_eq!(decoded, CANARY.as_bytes());
    // helm's argv, and what is left in the private folders.
    let log = std::fs::read_to_string(&env.spy_log).unwrap();
    clean("helm's argv", &log);
    // Its values and kubeconfig went through private folders on the memory
    // filesystem (here the test's XDG_RUNTIME_DIR), gone now.
    let dirs: Vec<&str> = log.lines().filter_map(|l| l.strip_prefix("DIR ")).collect();
    assert!(!dirs.is_empty(), "{log}");
    for d in &dirs {
        assert!(
            Path::new(d).starts_with(&private),
            "{d} is not private:\n{log}"
        );
    }
    assert!(
        log.contains(" -- local ./charts/demo") || log.contains(" -- local /"),
        "{log}"
    );
    let mut left = Vec::new();
    for e in std::fs::read_dir(&private).unwrap().flatten() {
        left.push(e.path());
    }
    assert!(left.is_empty(), "private folders left: {left:?}");
}

/// A release an interrupted helm left `pending-upgrade` (played here by
/// writing the record helm writes when an upgrade starts) blocks every
/// later upgrade; the plan shows its recovery, and apply rolls it back to
/// the last deployed revision before upgrading.
#[test]
fn a_release_left_pending_is_recovered_before_the_upgrade() {
    let env = Env::new();
    env.bp(
        &["apply", "bp.rhai", "--auto-approve", "--var", "local=no"],
        0,
    );
    // Revision 2 of web, as helm writes it when an upgrade begins.
    let record = env.kube.kubectl(&[
        "get",
        "secret",
        "sh.helm.release.v1.web.v1",
        "-n",
        "apps",
        "-o",
        "json",
    ]);
    let file = env.dir.path().join("pending.json");
    std::fs::write(env.dir.path().join("v1.json"), record).unwrap();
    env.moto.python(&[
        "-c",
        &format!(
            "import base64, gzip, json\n\
s = json.load(open('{v1}'))\n\
body = json.loads(gzip.decompress(base64.b64decode(base64.b64decode(s['data']['release']))))\n\
body['version'] = 2\n\
body['info']['status'] = 'pending-upgrade'\n\
s['data']['release'] = base64.b64encode(base64.b64encode(gzip.compress(json.dumps(body).encode()))).decode()\n\
meta = s['metadata']\n\
s['metadata'] = {{'name': 'sh.helm.release.v1.web.v2', 'namespace': meta['namespace'], 'labels': dict(meta['labels'], version='2', status='pending-upgrade')}}\n\
json.dump(s, open('{out}', 'w'))",
            v1 = env.dir.path().join("v1.json").display(),
            out = file.display()
        ),
    ]);
    env.kube.kubectl(&["create", "-f", &file.to_string_lossy()]);
    let status = |env: &Env| {
        env.releases()
            .into_iter()
            .find(|r| r.0 == "web")
            .map(|r| r.2)
            .unwrap()
    };
    assert_eq!(status(&env), "pending-upgrade");

    let out = env.bp(
        &[
            "plan",
            "bp.rhai",
            "--var",
            "local=no",
            "--var",
            "greeting=hello",
        ],
        0,
    );
    assert!(
        out.contains("recovery: the release is pending-upgrade; apply first rolls it back to revision 1, the last deployed"),
        "{out}"
    );
    let out = env.bp(
        &[
            "apply",
            "bp.rhai",
            "--auto-approve",
            "--var",
            "local=no",
            "--var",
            "greeting=hello",
        ],
        0,
    );
    assert!(out.contains("1 updated"), "{out}");
    assert_eq!(status(&env), "deployed");
    let history = env.helm_json(&["history", "web", "-n", "apps", "-o", "json"]);
    let descriptions: Vec<&str> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["description"].as_str().unwrap_or_default())
        .collect();
    assert!(
        descriptions.iter().any(|d| d.starts_with("Rollback to 1")),
        "{history}"
    );
    env.bp(
        &[
            "plan",
            "bp.rhai",
            "--detailed-exitcode",
            "--var",
            "local=no",
            "--var",
            "greeting=hello",
        ],
        0,
    );
}

/// Edits made behind Helm's back (a ConfigMap value, a Secret's value) show
/// in the plan as drift, the Secret's without its value; apply's upgrade
/// reverts them, and the plan after is a no-op.
#[test]
fn edits_behind_helms_back_are_drift_that_apply_reverts() {
    let env = Env::new();
    let vars = ["--var", "local=no"];
    let with = |args: &[&'static str]| -> Vec<&'static str> {
        args.iter().chain(vars.iter()).copied().collect()
    };
    env.bp(&with(&["apply", "bp.rhai", "--auto-approve"]), 0);
    env.bp(&with(&["plan", "bp.rhai", "--detailed-exitcode"]), 0);
    env.kube.kubectl(&[
        "patch",
        "configmap",
        "web-config",
        "-n",
        "apps",
        "--type",
        "merge",
        "-p",
        r#"{"data":{"greeting":"by-hand"}}"#,
    ]);
    env.kube.kubectl(&[
        "patch",
        "secret",
        "web-credentials",
        "-n",
        "apps",
        "--type",
        "merge",
        "-p",
        r#"{"data":{"password":"ZWRpdGVkLVNFQ1JFVA=="}}"#,
    ]);
    // The Deployment's replicas, as `kubectl scale` sets them.
    env.kube.kubectl(&[
        "scale",
        "deployment",
        "web-server",
        "-n",
        "apps",
        "--replicas=3",
    ]);
    let out = env.bp(&with(&["plan", "bp.rhai", "--detailed-exitcode"]), 2);
    assert!(out.contains("  ~ helm_release.demo/apps/web"), "{out}");
    assert!(
        out.contains(
            "        - Deployment apps/web-server spec.replicas: 3 live, 1 in the release"
        ),
        "{out}"
    );
    assert!(
        out.contains(
            r#"        - ConfigMap apps/web-config data.greeting: "by-hand" live, "hi" in the release"#
        ),
        "{out}"
    );
    assert!(
        out.contains("        - Secret apps/web-credentials data.password: (sensitive) changed"),
        "{out}"
    );
    assert!(!out.contains("edited-SECRET"), "{out}");
    env.bp(&with(&["apply", "bp.rhai", "--auto-approve"]), 0);
    assert_eq!(
        env.kube
            .get_json(&["configmap", "web-config", "-n", "apps"])["data"]["greeting"],
        "hi"
    );
    assert_eq!(
        env.kube
            .get_json(&["deployment", "web-server", "-n", "apps"])["spec"]["replicas"],
        1
    );
    env.bp(&with(&["plan", "bp.rhai", "--detailed-exitcode"]), 0);
}
