//! A private AWS emulator (moto, with the additions of
//! tests/support/awsemu/awsemu.py) per test, on a free loopback port, stopped
//! when the test ends, even when it fails.

use crate::harness::repo;
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Moto {
    child: Child,
    pub url: String,
}

fn venv_bin(name: &str) -> PathBuf {
    let p = repo().join(".venv/bin").join(name);
    assert!(
        p.exists(),
        "{} is missing: run scripts/setup.sh to install the AWS emulator",
        p.display()
    );
    p
}

impl Moto {
    /// The project's AWS emulator: moto plus what it lacks
    /// (tests/support/awsemu).
    pub fn start() -> Moto {
        let script = repo().join("tests/support/awsemu/awsemu.py");
        Moto::launch(|| {
            let mut c = Command::new(venv_bin("python"));
            c.arg(&script);
            c
        })
    }

    /// Plain moto (`moto_server`), without the project's additions: what a
    /// user who points Blueprint at moto gets.
    pub fn start_plain() -> Moto {
        Moto::launch(|| {
            let mut c = Command::new(venv_bin("moto_server"));
            c.env("MOTO_IAM_LOAD_MANAGED_POLICIES", "true");
            c
        })
    }

    fn launch(program: impl Fn() -> Command) -> Moto {
        for _ in 0..5 {
            let port = TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("free port")
                .port();
            let mut child = program()
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .env("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start the AWS emulator");
            let start = Instant::now();
            while start.elapsed() < Duration::from_secs(30) {
                if let Ok(Some(_)) = child.try_wait() {
                    break; // the port was taken meanwhile: try another
                }
                if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return Moto {
                        child,
                        url: format!("http://127.0.0.1:{port}"),
                    };
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("the AWS emulator (moto) did not start");
    }

    /// The environment that points `bp` (and nothing else) at this emulator.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.url.clone()),
            ("AWS_ACCESS_KEY_ID", "test".into()),
            ("AWS_SECRET_ACCESS_KEY", "test".into()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_CONFIG_FILE", "/nonexistent".into()),
            ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent".into()),
            ("AWS_EC2_METADATA_DISABLED", "true".into()),
        ]
    }

    /// `bp ARGS` in `dir` against this emulator, which must exit with
    /// `status`: what it printed, stdout then stderr.
    pub fn bp(&self, dir: &std::path::Path, args: &[&str], status: i32) -> String {
        let out = crate::harness::Test::new()
            .current_dir(dir)
            .moto(self)
            .args(args.iter().copied())
            .status(status)
            .run();
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    }

    /// The Python expression of a boto3 client of `service` for this
    /// emulator, for checks written inline.
    pub fn boto3(&self, service: &str) -> String {
        format!(
            "boto3.client('{service}', endpoint_url='{}', region_name='us-east-1', aws_access_key_id='t', aws_secret_access_key='t')",
            self.url
        )
    }

    /// A KMS key made on the emulator with boto3 (not with Blueprint): its ARN.
    pub fn create_kms_key(&self) -> String {
        let out = self.python(&[
            "-c",
            &format!(
                "import boto3; print({}.create_key()['KeyMetadata']['Arn'])",
                self.boto3("kms")
            ),
        ]);
        String::from_utf8(out).unwrap().trim().to_string()
    }

    /// Runs a Python program with the project's boto3 (`args` as for
    /// `python`: a script under tests/support and its arguments, or `-c`
    /// and code), which must succeed; its stdout.
    pub fn python(&self, args: &[&str]) -> Vec<u8> {
        let args: Vec<std::ffi::OsString> = args
            .iter()
            .map(|a| match a.strip_prefix("support:") {
                Some(script) => repo().join("tests/support").join(script).into_os_string(),
                None => a.into(),
            })
            .collect();
        let out = Command::new(venv_bin("python"))
            .args(&args)
            .output()
            .expect("run python");
        assert!(
            out.status.success(),
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }

    /// What a Python check prints, as JSON.
    pub fn python_json(&self, args: &[&str]) -> serde_json::Value {
        serde_json::from_slice(&self.python(args)).expect("JSON from the check")
    }

    /// What `blueprint` owns, per kind, counted through the APIs with boto3.
    pub fn owned(&self, blueprint: &str) -> serde_json::Value {
        let out = Command::new(venv_bin("python"))
            .arg(repo().join("tests/support/count_owned.py"))
            .args([&self.url, blueprint])
            .output()
            .expect("run count_owned.py");
        assert!(
            out.status.success(),
            "count_owned.py failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("counts")
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// tests/support/faultproxy.py in front of an emulator: a seeded fraction
/// of requests fails as AWS fails (throttling, 5xx, dropped connections),
/// and a fraction of create calls loses its answer after it was made.
pub struct FaultProxy {
    child: Child,
    pub url: String,
    /// One line per injected fault: service, operation, fault.
    pub log: PathBuf,
    count: PathBuf,
    _dir: tempfile::TempDir,
}

impl FaultProxy {
    pub fn start(moto: &Moto, seed: u64, rate: f64, drop_creates: f64) -> FaultProxy {
        FaultProxy::launch(
            moto,
            &[
                "--seed",
                &seed.to_string(),
                "--rate",
                &rate.to_string(),
                "--drop-creates",
                &drop_creates.to_string(),
            ],
        )
    }

    /// The proxy throttling as AWS's request-rate buckets do, each scaled
    /// by `scale`, and nothing else; every request is logged with its
    /// bucket (`ec2 CreateVpc pass change`).
    pub fn with_buckets(moto: &Moto, scale: f64) -> FaultProxy {
        FaultProxy::launch(moto, &["--rate", "0", "--buckets", &scale.to_string()])
    }

    /// The log's lines: service, operation, and the fault or `pass CLASS`.
    pub fn log_lines(&self) -> Vec<String> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(String::from)
            .collect()
    }

    fn launch(moto: &Moto, args: &[&str]) -> FaultProxy {
        use std::io::{BufRead, BufReader};
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("faults.log");
        let count = dir.path().join("requests");
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let mut child = Command::new(venv_bin("python"))
            .arg(repo().join("tests/support/faultproxy.py"))
            .args(["--port", &port.to_string(), "--upstream", &moto.url])
            .args(args)
            .arg("--log")
            .arg(&log)
            .arg("--count")
            .arg(&count)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the fault proxy");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert!(line.starts_with("ready"), "fault proxy: {line}");
        FaultProxy {
            child,
            url: format!("http://127.0.0.1:{port}"),
            log,
            count,
            _dir: dir,
        }
    }

    /// How many requests came through so far, and how many of them
    /// changed something (not Describe, List, Get, ...).
    pub fn requests(&self) -> (usize, usize) {
        let text = std::fs::read_to_string(&self.count).unwrap_or_default();
        let mut n = text.split_whitespace().map(|x| x.parse().unwrap_or(0));
        (n.next().unwrap_or(0), n.next().unwrap_or(0))
    }

    /// The faults injected so far, by kind (`throttle`, `http-500`,
    /// `http-503`, `drop-before`, `drop-after`).
    pub fn faults(&self) -> std::collections::BTreeMap<String, usize> {
        let mut out = std::collections::BTreeMap::new();
        for line in std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
        {
            if let Some(kind) = line.split_whitespace().last() {
                *out.entry(kind.to_string()).or_insert(0) += 1;
            }
        }
        out
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The emulator's additions to moto answer as AWS does, to boto3.
#[test]
fn the_emulator_adds_what_moto_lacks() {
    let m = Moto::start();
    let out = Command::new(venv_bin("python"))
        .arg(repo().join("tests/support/awsemu/test_awsemu.py"))
        .arg(&m.url)
        .output()
        .expect("run test_awsemu.py");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("ok: "));
}
