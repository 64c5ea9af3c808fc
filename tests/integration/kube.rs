//! A private Kubernetes API emulator (tests/support/kubemu/kubemu.py) per test,
//! over TLS on a free loopback port with a CA of its own, stopped when the
//! test ends; and the real kubectl to check what Blueprint did.

use crate::harness::repo;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::Stdio as ChildIo;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

pub struct Kube {
    child: Child,
    dir: tempfile::TempDir,
}

fn installed(rel: &str) -> PathBuf {
    let p = repo().join(rel);
    assert!(
        p.exists(),
        "{} is missing: run scripts/setup.sh",
        p.display()
    );
    p
}

impl Kube {
    /// Starts the emulator with a kubeconfig context named after each of
    /// `clusters`.
    pub fn start(clusters: &[&str]) -> Kube {
        Kube::start_with(clusters, &[])
    }

    /// [`Kube::start`] with more emulator options
    /// (`--namespace-finalize-seconds 4`).
    pub fn start_with(clusters: &[&str], options: &[&str]) -> Kube {
        let dir = tempfile::tempdir().unwrap();
        let mut cmd = Command::new(installed(".venv-kube/bin/python"));
        cmd.arg(repo().join("tests/support/kubemu/kubemu.py"))
            .arg("--dir")
            .arg(dir.path())
            .args(["--port", "0", "--host", "127.0.0.1"]);
        for c in clusters {
            cmd.args(["--cluster", c]);
        }
        cmd.args(options);
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the Kubernetes emulator");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("kubemu listening on ") {
                    let _ = tx.send(url.to_string());
                }
            }
        });
        match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(url) => {
                assert!(url.starts_with("https://127.0.0.1:"), "{url}");
                Kube { child, dir }
            }
            Err(_) => {
                let _ = child.kill();
                panic!("the Kubernetes emulator did not start");
            }
        }
    }

    pub fn kubeconfig(&self) -> PathBuf {
        self.dir.path().join("kubeconfig")
    }

    pub fn kubeconfig_arg(&self) -> String {
        self.kubeconfig().to_string_lossy().into_owned()
    }

    /// Runs the real kubectl against the emulator; asserts success.
    pub fn kubectl(&self, args: &[&str]) -> String {
        let out = self.kubectl_output(args);
        assert!(
            out.status.success(),
            "kubectl {args:?} failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn kubectl_output(&self, args: &[&str]) -> Output {
        Command::new(installed(".tools/kubectl"))
            .arg("--kubeconfig")
            .arg(self.kubeconfig())
            .args(args)
            .output()
            .expect("run kubectl")
    }

    /// `kubectl get ... -o json`, parsed.
    pub fn get_json(&self, args: &[&str]) -> serde_json::Value {
        let mut all = vec!["get"];
        all.extend_from_slice(args);
        all.extend(["-o", "json"]);
        serde_json::from_str(&self.kubectl(&all)).unwrap()
    }

    /// The requests served so far, one line each (`METHOD PATH STATUS`).
    pub fn requests(&self) -> Vec<String> {
        std::fs::read_to_string(self.dir.path().join("requests.log"))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }
}

impl Drop for Kube {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The emulator agrees with the real kubectl 1.33 and helm 3.18 (server-side
/// apply, conflicts, selectors, CRDs, namespace deletion, helm's protobuf
/// release records) and with the raw API checks of test_ssa.py.
#[test]
fn the_emulator_serves_kubectl_and_helm() {
    let out = Command::new(repo().join("tests/support/kubemu/test_kubemu.sh"))
        .env("PYTHON", installed(".venv-kube/bin/python"))
        .env("KUBECTL", installed(".tools/kubectl"))
        .env("HELM", installed(".tools/helm"))
        .output()
        .expect("run test_kubemu.sh");
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The stand-in chart repository.
pub struct Charts {
    child: std::process::Child,
    _dir: tempfile::TempDir,
    pub url: String,
}

impl Drop for Charts {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Charts {
    /// Serves stand-ins for `charts` (`name@version`).
    pub fn start(charts: &[&str]) -> Charts {
        let dir = tempfile::tempdir().unwrap();
        let mut child = Command::new(repo().join(".venv-kube/bin/python"))
            .arg(repo().join("tests/support/chart_repo.py"))
            .arg("--helm")
            .arg(repo().join(".tools/helm"))
            .arg("--dir")
            .arg(dir.path())
            .args(charts)
            .stdin(ChildIo::null())
            .stdout(ChildIo::piped())
            .stderr(ChildIo::null())
            .spawn()
            .expect("start the chart repository");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line
            .trim()
            .strip_prefix("chart repository at ")
            .unwrap_or_else(|| panic!("the chart repository did not start: {line:?}"))
            .to_string();
        Charts {
            child,
            _dir: dir,
            url,
        }
    }
}
