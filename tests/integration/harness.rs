//! A fluent builder for running `bp`, in the style of `just`'s tests:
//!
//! ```ignore
//! Test::new()
//!     .file("bp.rhai", "kms_key(\"k\");")
//!     .args(["check", "bp.rhai"])
//!     .stdout_contains("ok: 1 resources")
//!     .run();
//! ```

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

pub fn bp() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_bp"))
}

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub struct Test {
    dir: tempfile::TempDir,
    cwd: Option<PathBuf>,
    args: Vec<String>,
    env: BTreeMap<String, String>,
    stdin: Option<String>,
    status: i32,
    stdout: Option<String>,
    stderr: Option<String>,
    stdout_contains: Vec<String>,
    stderr_contains: Vec<String>,
    any_status: bool,
}

impl Test {
    pub fn new() -> Test {
        Test {
            dir: tempfile::tempdir().expect("tempdir"),
            cwd: None,
            args: Vec::new(),
            env: BTreeMap::new(),
            stdin: None,
            status: 0,
            stdout: None,
            stderr: None,
            stdout_contains: Vec::new(),
            stderr_contains: Vec::new(),
            any_status: false,
        }
    }

    /// Writes a file into the test's temporary folder.
    pub fn file(self, path: &str, text: &str) -> Test {
        let full = self.dir.path().join(path);
        if let Some(parent) = full.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(full, unindent(text)).expect("write");
        self
    }

    /// Runs in this folder instead of the temporary one.
    pub fn current_dir(mut self, dir: impl Into<PathBuf>) -> Test {
        self.cwd = Some(dir.into());
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Test
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    pub fn env(mut self, k: &str, v: &str) -> Test {
        self.env.insert(k.into(), v.into());
        self
    }

    /// Leaves `k` out of the environment (one the emulator sets, say).
    pub fn env_remove(mut self, k: &str) -> Test {
        self.env.remove(k);
        self
    }

    pub fn stdin(mut self, s: &str) -> Test {
        self.stdin = Some(s.into());
        self
    }

    /// Accepts any exit status (the caller checks it).
    pub fn any_status(mut self) -> Test {
        self.any_status = true;
        self
    }

    pub fn status(mut self, code: i32) -> Test {
        self.status = code;
        self
    }

    /// Points `bp` at a private AWS emulator.
    pub fn moto(mut self, m: &crate::moto::Moto) -> Test {
        for (k, v) in m.env() {
            self.env.insert(k.into(), v);
        }
        self
    }

    pub fn stdout(mut self, s: &str) -> Test {
        self.stdout = Some(unindent(s));
        self
    }

    pub fn stderr(mut self, s: &str) -> Test {
        self.stderr = Some(unindent(s));
        self
    }

    pub fn stdout_contains(mut self, s: &str) -> Test {
        self.stdout_contains.push(s.into());
        self
    }

    pub fn stderr_contains(mut self, s: &str) -> Test {
        self.stderr_contains.push(s.into());
        self
    }

    /// Runs `bp` and checks everything that was asked; returns the output
    /// for further checks.
    pub fn run(self) -> Output {
        let cwd = self
            .cwd
            .clone()
            .unwrap_or_else(|| self.dir.path().to_path_buf());
        let mut cmd = Command::new(bp());
        cmd.args(&self.args)
            .current_dir(&cwd)
            .env_remove("AWS_REGION")
            .env_remove("AWS_DEFAULT_REGION")
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_ENDPOINT_URL")
            .env("NO_COLOR", "1")
            // Lint's support calendar and cost's support pricing depend on
            // the date: tests fix it so that they do not change with time.
            .env("BP_TODAY", TODAY)
            .stdin(if self.stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawn bp");
        if let Some(input) = &self.stdin {
            use std::io::Write;
            child
                .stdin
                .take()
                .expect("stdin")
                .write_all(input.as_bytes())
                .expect("write stdin");
        }
        let out = child.wait_with_output().expect("wait bp");
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        let context = format!(
            "bp {}\n--- status: {:?}\n--- stdout:\n{stdout}\n--- stderr:\n{stderr}",
            self.args.join(" "),
            out.status.code()
        );
        if !self.any_status {
            assert_eq!(
                out.status.code(),
                Some(self.status),
                "unexpected status\n{context}"
            );
        }
        // Every plan the suite prints as JSON or saves is checked against
        // the documented schema.
        if out.status.success() {
            let args: Vec<&str> = self.args.iter().map(String::as_str).collect();
            let printed_plan =
                matches!(args.first(), Some(&"plan") | Some(&"show")) && args.contains(&"--json");
            if printed_plan {
                let plan: serde_json::Value = serde_json::from_str(&stdout)
                    .unwrap_or_else(|e| panic!("the plan JSON does not parse: {e}\n{context}"));
                crate::plan_schema::check_printed(&plan);
            }
            if args.first() == Some(&"plan") {
                if let Some(i) = args.iter().position(|a| *a == "-o") {
                    let file = cwd.join(args[i + 1]);
                    let text = std::fs::read_to_string(&file).unwrap();
                    crate::plan_schema::check(&serde_json::from_str(&text).unwrap());
                }
            }
        }
        if let Some(want) = &self.stdout {
            assert_eq!(&stdout, want, "unexpected stdout\n{context}");
        }
        if let Some(want) = &self.stderr {
            assert_eq!(&stderr, want, "unexpected stderr\n{context}");
        }
        for want in &self.stdout_contains {
            assert!(
                stdout.contains(want.as_str()),
                "stdout lacks {want:?}\n{context}"
            );
        }
        for want in &self.stderr_contains {
            assert!(
                stderr.contains(want.as_str()),
                "stderr lacks {want:?}\n{context}"
            );
        }
        out
    }
}

/// `bp ARGS` on a terminal (a pty, TERM=xterm) in `dir`, with the given
/// environment (an emulator's): for what only a terminal shows.
pub fn on_terminal(
    dir: &std::path::Path,
    args: &[String],
    env: &[(&str, String)],
) -> rexpect::session::PtySession {
    let mut cmd = Command::new(bp());
    cmd.args(args)
        .current_dir(dir)
        .env("TERM", "xterm")
        .env("BP_TODAY", TODAY)
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_REGION");
    for (k, v) in env {
        cmd.env(k, v);
    }
    rexpect::session::spawn_command(cmd, Some(30_000)).unwrap()
}

/// Writes an executable script (a scripted editor, a helm wrapper).
pub fn executable(path: &std::path::Path, text: &str) {
    std::fs::write(path, text).expect("write script");
    std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod script");
}

/// The date every `bp` the harness runs takes as today (`BP_TODAY`).
pub const TODAY: &str = "2026-11-21";

/// Removes the common leading indentation and a leading newline, so that
/// expected texts can be written indented in the test source.
pub fn unindent(s: &str) -> String {
    let s = s.strip_prefix('\n').unwrap_or(s);
    let indent = s
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    let mut out: String = s
        .lines()
        .map(|l| {
            if l.len() >= indent {
                &l[indent..]
            } else {
                l.trim_start()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    if s.ends_with('\n') {
        out.push('\n');
    }
    out
}
