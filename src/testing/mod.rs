//! `bp test`: tests of blueprints and stdlib modules, written in Rhai
//! (`*.test.rhai`), run with no AWS call. Each function of a test file
//! whose name starts with `test_` is a test; it passes when it returns,
//! and fails at the first assertion that does not hold (with its file,
//! line, column and both values) or the first error. Files run in
//! parallel, each on its own engine; the tests of a file run one after
//! another, each from a fresh evaluation of the file's top level.

pub mod api;
pub mod junit;

use crate::diagnostic::Sources;
use rhai::{CallFnOptions, Dynamic, Scope};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::{Duration, Instant};

/// How a test ended.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    Passed,
    /// An assertion did not hold.
    Failed {
        message: String,
        left: Option<String>,
        right: Option<String>,
        line: usize,
        col: usize,
    },
    /// The test did not run to an assertion: an error in it or in a
    /// blueprint it evaluated without `expect_error`.
    Error {
        message: String,
        line: usize,
        col: usize,
    },
}

/// One test's result.
#[derive(Clone, Debug)]
pub struct Case {
    pub name: String,
    pub outcome: Outcome,
    pub elapsed: Duration,
}

/// One file's results; `error` when the file itself does not compile.
#[derive(Clone, Debug)]
pub struct FileResult {
    /// As given or found, relative to where `bp test` runs.
    pub path: PathBuf,
    pub cases: Vec<Case>,
    pub error: Option<String>,
    pub elapsed: Duration,
}

/// What to run.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Only tests whose name contains this.
    pub filter: Option<String>,
    /// The region blueprints are evaluated for.
    pub region: String,
    /// How many files run at once.
    pub jobs: usize,
}

/// The test files under `paths` (files as given; folders searched for
/// `*.test.rhai`, skipping hidden folders, `target` and `node_modules`),
/// sorted.
pub fn discover(paths: &[PathBuf]) -> std::io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            walk(p, &mut out)?;
        } else if p.exists() {
            out.push(p.clone());
        } else {
            return Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("{}: no such file or folder", p.display()),
            ));
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        if path.is_dir() {
            if !name.starts_with('.') && name != "target" && name != "node_modules" {
                walk(&path, out)?;
            }
        } else if name.ends_with(".test.rhai") {
            // `./x.test.rhai` reads as `x.test.rhai`.
            out.push(
                path.strip_prefix(".")
                    .map(Path::to_path_buf)
                    .unwrap_or(path),
            );
        }
    }
    Ok(())
}

/// Runs every file, `opts.jobs` at a time; results in the files' order.
pub fn run(files: &[PathBuf], opts: &Options) -> Vec<FileResult> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..opts.jobs.max(1).min(files.len().max(1)) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(f) = files.get(i) else { break };
                // A thread per file keeps a deep script's stack its own.
                let r = run_file(f, opts);
                results
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push((i, r));
            });
        }
    });
    let mut all = results.into_inner().unwrap_or_else(|e| e.into_inner());
    all.sort_by_key(|(i, _)| *i);
    all.into_iter().map(|(_, r)| r).collect()
}

/// Runs the tests of one file.
pub fn run_file(path: &Path, opts: &Options) -> FileResult {
    let start = Instant::now();
    let mut result = FileResult {
        path: path.to_path_buf(),
        cases: Vec::new(),
        error: None,
        elapsed: Duration::ZERO,
    };
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            result.error = Some(format!("cannot read {}: {e}", path.display()));
            return result;
        }
    };
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let script_opts = crate::script::Options {
        region: opts.region.clone(),
        ..Default::default()
    };
    let mut session = crate::script::Session::new(&script_opts, &dir);
    let context = api::Context {
        dir: dir.clone(),
        region: opts.region.clone(),
        today: crate::lint::Date::today(),
        prices: Rc::new(crate::cost::Prices::embedded()),
    };
    let name = path.to_string_lossy().to_string();
    let engine = session.engine_mut();
    api::register(engine, &context);
    engine.set_default_tag(Dynamic::from(rhai::ImmutableString::from(name.as_str())));
    let mut ast = match engine.compile(&text) {
        Ok(a) => a,
        Err(e) => {
            let sources = Sources::default();
            sources.insert(&name, &text);
            let d = crate::script::parse_diagnostic(&name, &text, &e);
            result.error = Some(d.render(&sources));
            return result;
        }
    };
    ast.set_source(name.as_str());
    let mut tests: Vec<String> = ast
        .iter_functions()
        .filter(|f| f.name.starts_with("test_") && f.params.is_empty())
        .map(|f| f.name.to_string())
        .filter(|n| opts.filter.as_deref().is_none_or(|want| n.contains(want)))
        .collect();
    // In the order they are written.
    tests.sort_by_key(|n| text.find(&format!("fn {n}(")).unwrap_or(usize::MAX));
    let engine = session.engine();
    for t in tests {
        let began = Instant::now();
        let mut scope = Scope::new();
        let called = engine.call_fn_with_options::<Dynamic>(
            CallFnOptions::new().eval_ast(true).rewind_scope(true),
            &mut scope,
            &ast,
            &t,
            (),
        );
        let outcome = match called {
            Ok(_) => Outcome::Passed,
            Err(e) => match api::caught(&e) {
                api::Caught::Failure(f) => Outcome::Failed {
                    message: f.message,
                    left: f.left,
                    right: f.right,
                    line: f.line,
                    col: f.col,
                },
                api::Caught::Script(s) => Outcome::Error {
                    message: format!(
                        "a blueprint did not evaluate (when that is what the test means, wrap the call in expect_error(|| ..., \"what the error says\")):\n{}",
                        s.rendered.trim_end()
                    ),
                    line: e.position().line().unwrap_or(0),
                    col: e.position().position().unwrap_or(0),
                },
                api::Caught::Other { message, line, col } => Outcome::Error {
                    message: crate::redact::redact(&message),
                    line,
                    col,
                },
            },
        };
        result.cases.push(Case {
            name: t,
            outcome,
            elapsed: began.elapsed(),
        });
    }
    result.elapsed = start.elapsed();
    result
}

/// Counts over all files.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    pub passed: usize,
    pub failed: usize,
    pub errors: usize,
}

impl Totals {
    pub fn of(results: &[FileResult]) -> Totals {
        let mut t = Totals::default();
        for r in results {
            if r.error.is_some() {
                t.errors += 1;
            }
            for c in &r.cases {
                match c.outcome {
                    Outcome::Passed => t.passed += 1,
                    Outcome::Failed { .. } => t.failed += 1,
                    Outcome::Error { .. } => t.errors += 1,
                }
            }
        }
        t
    }

    pub fn ok(&self) -> bool {
        self.failed == 0 && self.errors == 0
    }
}

/// The human report: a line per test, then each failure with its place
/// and both values, then the totals.
pub fn human(results: &[FileResult], elapsed: Duration) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let mut failures = Vec::new();
    for r in results {
        let file = r.path.display();
        if let Some(e) = &r.error {
            let _ = writeln!(out, "test {file} ... ERROR (the file does not compile)");
            failures.push(format!("{file}:\n{e}"));
            continue;
        }
        if r.cases.is_empty() {
            let _ = writeln!(out, "test {file}: no test_ functions");
        }
        for c in &r.cases {
            let status = match c.outcome {
                Outcome::Passed => "ok",
                Outcome::Failed { .. } => "FAILED",
                Outcome::Error { .. } => "ERROR",
            };
            let _ = writeln!(
                out,
                "test {file}::{} ... {status} ({} ms)",
                c.name,
                c.elapsed.as_millis()
            );
            match &c.outcome {
                Outcome::Passed => {}
                Outcome::Failed {
                    message,
                    left,
                    right,
                    line,
                    col,
                } => {
                    let mut f = format!("{file}:{line}:{col}: {}: {message}", c.name);
                    if let Some(l) = left {
                        let _ = write!(f, "\n  left:  {l}");
                    }
                    if let Some(r) = right {
                        let _ = write!(f, "\n  right: {r}");
                    }
                    failures.push(f);
                }
                Outcome::Error { message, line, col } => {
                    failures.push(format!("{file}:{line}:{col}: {}: error: {message}", c.name));
                }
            }
        }
    }
    if !failures.is_empty() {
        out.push_str("\nfailures:\n\n");
        for f in &failures {
            let _ = writeln!(out, "{f}\n");
        }
    }
    let t = Totals::of(results);
    let _ = writeln!(
        out,
        "test result: {}. {} passed; {} failed; {} errors; {} files; finished in {:.2}s",
        if t.ok() { "ok" } else { "FAILED" },
        t.passed,
        t.failed,
        t.errors,
        results.len(),
        elapsed.as_secs_f64()
    );
    out
}
