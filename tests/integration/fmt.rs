//! `bp fmt`: every seed blueprint, stdlib module, test file and error case
//! is formatted idempotently, the seeds declare the same graph after it,
//! the repository's own files are formatted, `--check` shows a diff and
//! exits 1, and what does not parse is reported and left alone.

use crate::harness::{repo, Test};
use std::path::{Path, PathBuf};

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let p = e.path();
        let dest = to.join(e.file_name());
        if p.is_dir() {
            copy_dir(&p, &dest);
        } else {
            std::fs::copy(&p, &dest).unwrap();
        }
    }
}

fn rhai_files(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "rhai"))
        .collect();
    out.sort();
    out
}

/// What a blueprint declares, without where (lines move when blank lines
/// go): addresses, specs and dependencies.
fn graph(dir: &Path, file: &str, vars: &[&str]) -> serde_json::Value {
    let mut args = vec!["check", file, "--json"];
    for v in vars {
        args.extend(["--var", v]);
    }
    let out = Test::new().current_dir(dir).args(args).run();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    serde_json::Value::Array(
        v["resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                serde_json::json!({
                    "address": r["address"], "spec": r["spec"], "depends_on": r["depends_on"],
                })
            })
            .collect(),
    )
}

#[test]
fn formatting_is_idempotent_and_keeps_every_seeds_graph() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    copy_dir(&repo().join("blueprints"), &d.join("blueprints"));
    copy_dir(&repo().join("stdlib"), &d.join("stdlib"));
    copy_dir(&repo().join("tests/stdlib"), &d.join("tests/stdlib"));
    copy_dir(&repo().join("tests/cases/errors"), &d.join("errors"));
    let seeds: &[(&str, &[&str])] = &[
        ("blueprints/eks-intro.rhai", &[]),
        ("blueprints/pms.rhai", &["env=prod"]),
        ("blueprints/digibee.rhai", &[]),
        ("blueprints/harmonix.rhai", &[]),
        ("blueprints/naas.rhai", &["env=prod"]),
    ];

    // Scramble the layout of every file first, so that formatting has
    // something to do: indentation gone, spaces after commas gone.
    for sub in ["blueprints", "stdlib", "tests/stdlib"] {
        for f in rhai_files(&d.join(sub)) {
            let text = std::fs::read_to_string(&f).unwrap();
            let flat: String = text
                .lines()
                .map(|l| {
                    let t = l.trim_start();
                    // Keep strings and comments as they are: only code
                    // lines without quotes get their commas squeezed.
                    if t.starts_with("//") || t.contains('"') || t.contains('`') {
                        t.to_string()
                    } else {
                        t.replace(", ", ",")
                    }
                })
                .collect::<Vec<_>>()
                .join("\n")
                + "\n";
            std::fs::write(&f, flat).unwrap();
        }
    }
    let before: Vec<serde_json::Value> = seeds.iter().map(|(f, v)| graph(d, f, v)).collect();
    let out = Test::new()
        .current_dir(d)
        .args(["fmt", "blueprints", "stdlib", "tests/stdlib"])
        .stdout_contains("Formatted ")
        .run();
    let said = String::from_utf8(out.stdout).unwrap();
    let n: usize = said
        .trim_start_matches("Formatted ")
        .split(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(n >= 15, "the scrambled files were formatted: {said}");
    // Idempotent: a second pass changes nothing.
    Test::new()
        .current_dir(d)
        .args(["fmt", "--check", "blueprints", "stdlib", "tests/stdlib"])
        .stdout_contains("file(s) formatted as bp fmt formats them.")
        .run();
    // The seeds declare what they declared before formatting.
    let after: Vec<serde_json::Value> = seeds.iter().map(|(f, v)| graph(d, f, v)).collect();
    for ((f, _), (b, a)) in seeds.iter().zip(before.iter().zip(&after)) {
        assert_eq!(b, a, "{f} declares something else after bp fmt");
    }
    // Error cases: formatted and idempotent, or refused with their parse
    // error and left as they are.
    for f in rhai_files(&d.join("errors")) {
        let before = std::fs::read_to_string(&f).unwrap();
        let out = Test::new()
            .current_dir(d)
            .args(["fmt", f.to_str().unwrap()])
            .any_status()
            .run();
        if out.status.success() {
            Test::new()
                .current_dir(d)
                .args(["fmt", "--check", f.to_str().unwrap()])
                .run();
        } else {
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(
                err.contains("syntax error") || err.contains("error:"),
                "{err}"
            );
            assert_eq!(
                std::fs::read_to_string(&f).unwrap(),
                before,
                "left as it was"
            );
        }
    }
}

#[test]
fn check_shows_a_diff_and_what_does_not_parse_is_left_alone() {
    Test::new()
        .file(
            "a.rhai",
            "let v = vpc(\"x\", #{\ncidr:\"10.0.0.0/16\"\n});\n",
        )
        .args(["fmt", "--check", "a.rhai"])
        .status(1)
        .stdout_contains("--- a.rhai\n+++ a.rhai (formatted)\n")
        .stdout_contains("-cidr:\"10.0.0.0/16\"\n+    cidr: \"10.0.0.0/16\",\n")
        .stdout_contains("not formatted: a.rhai")
        .run();
    Test::new()
        .file(
            "a.rhai",
            "let v = vpc(\"x\", #{\ncidr:\"10.0.0.0/16\"\n});\n",
        )
        .args(["fmt", "a.rhai"])
        .stdout_contains("Formatted 1 of 1 file(s).")
        .run();
    Test::new()
        .file(
            "broken.rhai",
            "let v = vpc(\"x\", #{ cidr: \"10.0.0.0/16\" );\n",
        )
        .args(["fmt", "broken.rhai"])
        .status(1)
        .stderr_contains("error: syntax error")
        .stderr_contains("--> broken.rhai:1:")
        .stdout_contains("Formatted 0 of 1 file(s); 1 could not be.")
        .run();
}

/// CI can run `bp fmt --check` on the repository: its blueprints, stdlib
/// modules and test files are formatted.
#[test]
fn the_repositorys_own_files_are_formatted() {
    Test::new()
        .current_dir(repo())
        .args(["fmt", "--check", "blueprints", "stdlib", "tests/stdlib"])
        .stdout_contains("file(s) formatted as bp fmt formats them.")
        .run();
}
