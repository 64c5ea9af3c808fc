//! A loopback HTTP proxy (tests/support/connect_proxy.py) per test: CONNECT
//! tunnels and plain-http forwarding, logging each target, stopped when
//! the test ends.

use crate::harness::repo;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

pub struct Proxy {
    child: Child,
    _dir: tempfile::TempDir,
    log: PathBuf,
    pub url: String,
}

impl Proxy {
    pub fn start() -> Proxy {
        let dir = tempfile::tempdir().unwrap();
        let port_file = dir.path().join("port");
        let log = dir.path().join("log");
        let child = Command::new(repo().join(".venv/bin/python"))
            .arg(repo().join("tests/support/connect_proxy.py"))
            .arg(&port_file)
            .arg(&log)
            .stdin(Stdio::null())
            .spawn()
            .expect("start the proxy");
        let start = std::time::Instant::now();
        while !port_file.exists() {
            assert!(
                start.elapsed() < std::time::Duration::from_secs(20),
                "the proxy did not start"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let url = format!(
            "http://127.0.0.1:{}",
            std::fs::read_to_string(&port_file).unwrap()
        );
        Proxy {
            child,
            _dir: dir,
            log,
            url,
        }
    }

    /// How many requests went through with a log line starting `what`
    /// (`CONNECT 127.0.0.1:`, `FORWARD 127.0.0.1:`).
    pub fn count(&self, what: &str) -> usize {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter(|l| l.starts_with(what))
            .count()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
