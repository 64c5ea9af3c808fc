//! What the benchmarks share: the emulators, started on free loopback ports
//! and stopped when dropped.

#![allow(dead_code)] // each benchmark uses part of it

use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub struct Moto(std::process::Child, pub String);

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn moto() -> Moto {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let python = concat!(env!("CARGO_MANIFEST_DIR"), "/.venv/bin/python");
    let launcher = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/support/awsemu/awsemu.py"
    );
    let child = Command::new(python)
        .arg(launcher)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .env("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the AWS emulator: run scripts/setup.sh first");
    let start = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "moto did not start"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    Moto(child, format!("http://127.0.0.1:{port}"))
}

/// The project's Kubernetes API emulator, with a kubeconfig context per
/// cluster name.
pub struct Kube {
    child: std::process::Child,
    pub dir: tempfile::TempDir,
}

impl Drop for Kube {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Kube {
    pub fn kubeconfig(&self) -> std::path::PathBuf {
        self.dir.path().join("kubeconfig")
    }
}

pub fn kube(clusters: &[&str]) -> Kube {
    let dir = tempfile::tempdir().unwrap();
    let python = concat!(env!("CARGO_MANIFEST_DIR"), "/.venv-kube/bin/python");
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/support/kubemu/kubemu.py"
    );
    let mut cmd = Command::new(python);
    cmd.arg(script).arg("--dir").arg(dir.path());
    for c in clusters {
        cmd.args(["--cluster", c]);
    }
    let child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the Kubernetes emulator: run scripts/setup.sh first");
    let start = Instant::now();
    while !dir.path().join("kubeconfig").exists() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the Kubernetes emulator did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Kube { child, dir }
}
