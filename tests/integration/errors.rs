//! Golden outputs for malformed blueprints: every `tests/cases/errors/*.rhai`
//! must fail `bp check` with exit code 1, print nothing on stdout, and print
//! exactly its `.stderr` file. A first line `// args: ...` adds arguments.
//! `BLESS=1 cargo test` rewrites the golden files.

use crate::harness::{bp, repo};
use std::process::Command;

#[test]
fn malformed_blueprints_match_their_golden_errors() {
    let dir = repo().join("tests/cases/errors");
    let mut cases: Vec<_> = std::fs::read_dir(&dir)
        .expect("cases dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "rhai"))
        .collect();
    cases.sort();
    assert!(cases.len() >= 25, "only {} error cases", cases.len());
    let bless = std::env::var_os("BLESS").is_some();
    let mut failures = Vec::new();
    for case in &cases {
        let name = case.file_name().unwrap().to_string_lossy().to_string();
        let text = std::fs::read_to_string(case).unwrap();
        let extra: Vec<String> = text
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("// args:"))
            .map(|a| a.split_whitespace().map(String::from).collect())
            .unwrap_or_default();
        let out = Command::new(bp())
            .arg("check")
            .arg(&name)
            .args(&extra)
            .current_dir(&dir)
            .env_remove("AWS_REGION")
            .env_remove("AWS_DEFAULT_REGION")
            .output()
            .expect("run bp");
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        let golden = case.with_extension("stderr");
        if bless {
            std::fs::write(&golden, &stderr).unwrap();
        }
        let want = std::fs::read_to_string(&golden).unwrap_or_default();
        if out.status.code() != Some(1) {
            failures.push(format!(
                "{name}: exit {:?}, want 1\n{stderr}",
                out.status.code()
            ));
        } else if !out.stdout.is_empty() {
            failures.push(format!("{name}: printed on stdout"));
        } else if stderr != want {
            failures.push(format!("{name}:\n--- want\n{want}--- got\n{stderr}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ:\n\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn every_error_case_names_a_position_and_the_file() {
    let dir = repo().join("tests/cases/errors");
    for e in std::fs::read_dir(&dir).unwrap().flatten() {
        let p = e.path();
        if p.extension().is_some_and(|x| x == "stderr") {
            let text = std::fs::read_to_string(&p).unwrap();
            assert!(text.starts_with("error: "), "{}: {text}", p.display());
            assert!(
                text.contains(" --> "),
                "{} has no position: {text}",
                p.display()
            );
            assert!(text.contains('^'), "{} has no caret: {text}", p.display());
        }
    }
}
