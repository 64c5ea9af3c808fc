//! Generated bad input: a seeded mutator changes the seed blueprints and the
//! error corpus (deletes, duplicates or swaps tokens, turns numbers negative
//! or huge, truncates strings, changes option keys) and evaluates each case
//! in process, as `bp check` does, with no AWS access at all (sealed
//! secrets, placeholders for AWS facts). Every case must end in success or
//! in an error that names a file:line:col, never in a panic, and within the
//! engine's operation limit. The same mutator truncates, flips bytes in and
//! removes fields from sops files: each is refused clearly, never with a
//! panic or with a secret's plain text.
//!
//! `BP_GENERATED_CASES=N` runs N cases instead of 5,000 (`scripts/soak.sh`).

use crate::harness::repo;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// xorshift64*: small, seeded, and the same on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn tokens(text: &str) -> Vec<String> {
    let re = regex::Regex::new(r#""(?:[^"\\\n]|\\.)*"|//[^\n]*|[A-Za-z_][A-Za-z0-9_]*|\d+|\s+|."#)
        .unwrap();
    re.find_iter(text).map(|m| m.as_str().to_string()).collect()
}

const KEYS: &[&str] = &[
    "cidr",
    "azs",
    "version",
    "min",
    "max",
    "desired",
    "subnets",
    "vpc",
    "name",
    "tags",
    "instance_types",
    "protect",
    "policies",
    "namespace",
    "values",
    "chart",
    "rules",
];

/// One to three mutations of the tokens of `text`.
fn mutate(text: &str, rng: &mut Rng) -> String {
    let mut t = tokens(text);
    let solid = |t: &[String]| -> Vec<usize> {
        (0..t.len())
            .filter(|&i| !t[i].trim().is_empty() && !t[i].starts_with("//"))
            .collect()
    };
    for _ in 0..1 + rng.below(3) {
        let s = solid(&t);
        if s.is_empty() {
            break;
        }
        let i = s[rng.below(s.len())];
        match rng.below(6) {
            0 => t[i].clear(),
            1 => {
                let dup = t[i].clone();
                t.insert(i, dup);
            }
            2 => {
                if let Some(&j) = s.iter().find(|&&j| j > i) {
                    t.swap(i, j);
                }
            }
            3 => {
                let nums: Vec<usize> = s
                    .iter()
                    .copied()
                    .filter(|&k| t[k].chars().all(|c| c.is_ascii_digit()))
                    .collect();
                if !nums.is_empty() {
                    let k = nums[rng.below(nums.len())];
                    t[k] = ["-1", "-999", "0", "99999999999999999", "4294967296"][rng.below(5)]
                        .to_string();
                }
            }
            4 => {
                let strs: Vec<usize> = s
                    .iter()
                    .copied()
                    .filter(|&k| t[k].starts_with('"'))
                    .collect();
                if !strs.is_empty() {
                    let k = strs[rng.below(strs.len())];
                    let cut = 1 + rng.below(t[k].len());
                    t[k] = t[k].chars().take(cut).collect();
                    if rng.below(2) == 0 && !t[k].ends_with('"') {
                        t[k].push('"');
                    }
                }
            }
            _ => {
                // An option key: an identifier followed by `:`.
                let keys: Vec<usize> = s
                    .windows(2)
                    .filter(|w| {
                        t[w[1]] == ":" && t[w[0]].chars().all(|c| c.is_alphanumeric() || c == '_')
                    })
                    .map(|w| w[0])
                    .collect();
                if !keys.is_empty() {
                    let k = keys[rng.below(keys.len())];
                    t[k] = match rng.below(3) {
                        0 => format!("{}x", t[k]),
                        1 => KEYS[rng.below(KEYS.len())].to_string(),
                        _ => t[k].chars().rev().collect(),
                    };
                }
            }
        }
    }
    t.concat()
}

/// The texts to mutate: the seed blueprints and the error corpus.
fn corpus() -> Vec<(String, String)> {
    let mut out = Vec::new();
    for dir in ["blueprints", "tests/cases/errors"] {
        let mut files: Vec<PathBuf> = std::fs::read_dir(repo().join(dir))
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "rhai"))
            .filter(|p| !p.to_string_lossy().ends_with(".test.rhai"))
            .collect();
        files.sort();
        for f in files {
            let name = f.file_name().unwrap().to_string_lossy().to_string();
            out.push((name, std::fs::read_to_string(&f).unwrap()));
        }
    }
    out
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

fn cases() -> usize {
    std::env::var("BP_GENERATED_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5_000)
}

#[test]
fn mutated_blueprints_end_in_success_or_a_located_error() {
    let dir = tempfile::tempdir().unwrap();
    // The blueprints' secrets files and charts, where `sops_file` looks.
    copy_dir(
        &repo().join("blueprints/secrets"),
        &dir.path().join("secrets"),
    );
    copy_dir(
        &repo().join("blueprints/charts"),
        &dir.path().join("charts"),
    );
    // And the modules they import from their folder.
    copy_dir(&repo().join("blueprints/pms"), &dir.path().join("pms"));
    let texts = corpus();
    let located = regex::Regex::new(r"\.rhai:\d+:\d+").unwrap();
    let options = blueprint::script::Options {
        region: "us-east-1".into(),
        ..Default::default()
    };
    // The corpus's blueprints evaluate as they are.
    // The blueprints come first in the corpus, then the error cases.
    let seeds = std::fs::read_dir(repo().join("blueprints"))
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".rhai") && !n.ends_with(".test.rhai"))
        .count();
    let names: Vec<&str> = texts[..seeds].iter().map(|(n, _)| n.as_str()).collect();
    for seed in [
        "digibee.rhai",
        "eks-intro.rhai",
        "harmonix.rhai",
        "naas.rhai",
        "pms.rhai",
        "pms-network.rhai",
        "pms-cluster.rhai",
    ] {
        assert!(names.contains(&seed), "{names:?}");
    }
    for (name, text) in &texts[..seeds] {
        let file = dir.path().join(name);
        std::fs::write(&file, text).unwrap();
        if let Err(e) = blueprint::script::evaluate(&file, &options) {
            panic!("{name} as it is: {}", e.render());
        }
    }
    let mut rng = Rng(0x5eed_b10e_9417 ^ 0x9e37_79b9_7f4a_7c15);
    let (mut ok, mut errors, mut slowest) = (0, 0, Duration::ZERO);
    let n = cases();
    for case in 0..n {
        // Half the cases from the seed blueprints (first in the corpus),
        // half from the error corpus.
        let pick = if rng.below(2) == 0 {
            rng.below(seeds)
        } else {
            seeds + rng.below(texts.len() - seeds)
        };
        let (name, text) = &texts[pick];
        let mutated = mutate(text, &mut rng);
        let file = dir.path().join(format!("case-{}.rhai", case % 8));
        std::fs::write(&file, &mutated).unwrap();
        let start = Instant::now();
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            blueprint::script::evaluate(&file, &options)
        }));
        slowest = slowest.max(start.elapsed());
        match result {
            Err(_) => panic!("case {case} (from {name}) panicked:\n{mutated}"),
            Ok(Ok(_)) => ok += 1,
            Ok(Err(e)) => {
                errors += 1;
                let text = e.render();
                assert!(
                    located.is_match(&text)
                        || matches!(e, blueprint::Error::Usage(ref m) if m.contains("blueprint_name")),
                    "case {case} (from {name}): an error without file:line:col:\n{text}\n--- the case:\n{mutated}"
                );
            }
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "case {case} (from {name}) ran {:?}:\n{mutated}",
            start.elapsed()
        );
    }
    eprintln!("{n} generated cases: {ok} evaluated, {errors} located errors, 0 panics, slowest {slowest:?}");
    assert_eq!(ok + errors, n);
    assert!(
        errors > n / 4,
        "too few mutations broke anything: {errors} of {n}"
    );
}

/// Mutated sops files are refused clearly by the sops reader (`bp secrets
/// decrypt`, with the demo age identity and no AWS): never a panic, never a
/// secret's plain text in the error.
#[test]
fn mutated_sops_files_are_refused_without_plaintext() {
    let dir = tempfile::tempdir().unwrap();
    let key = repo().join("blueprints/secrets/demo.agekey");
    let original = std::fs::read(repo().join("blueprints/secrets/naas.enc.yaml")).unwrap();
    // The plain values, to look for in errors.
    let decrypt = |path: &Path| {
        crate::harness::Test::new()
            .args(["secrets", "decrypt", &path.to_string_lossy()])
            .env("SOPS_AGE_KEY_FILE", &key.to_string_lossy())
            .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
            .any_status()
            .run()
    };
    // The plain values, to look for in errors.
    let plain = decrypt(&repo().join("blueprints/secrets/naas.enc.yaml"));
    let plain = String::from_utf8_lossy(&plain.stdout).to_string();
    let secrets: Vec<String> = plain
        .lines()
        .filter_map(|l| {
            l.split_once(": ")
                .map(|(_, v)| v.trim().trim_matches('"').to_string())
        })
        .filter(|v| v.len() >= 6)
        .collect();
    assert!(!secrets.is_empty(), "{plain}");
    let mut rng = Rng(0x50b5_f11e);
    let n = (cases() / 20).max(100);
    let mut refused = 0;
    for case in 0..n {
        let mut bytes = original.clone();
        match rng.below(3) {
            0 => bytes.truncate(rng.below(bytes.len())),
            1 => {
                for _ in 0..1 + rng.below(4) {
                    let i = rng.below(bytes.len());
                    bytes[i] ^= 1 << rng.below(8);
                }
            }
            _ => {
                // A line (a field) removed.
                let text = String::from_utf8_lossy(&bytes).to_string();
                let lines: Vec<&str> = text.lines().collect();
                let drop = rng.below(lines.len());
                bytes = lines
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| *i != drop)
                    .map(|(_, l)| *l)
                    .collect::<Vec<_>>()
                    .join("\n")
                    .into_bytes();
            }
        }
        let file = dir.path().join("s.enc.yaml");
        std::fs::write(&file, &bytes).unwrap();
        let out = decrypt(&file);
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        let code = out.status.code();
        assert!(
            code == Some(0) || code == Some(1),
            "case {case}: exit {code:?} (a panic is 101):\n{stderr}"
        );
        for s in &secrets {
            assert!(
                !stderr.contains(s.as_str()),
                "case {case}: plain text in:\n{stderr}"
            );
        }
        if code == Some(0) {
            continue; // a flipped bit in a comment or a removed blank line
        }
        if code == Some(1) {
            refused += 1;
            assert!(stderr.contains("error"), "case {case}: {stderr}");
        }
    }
    assert!(refused > n / 2, "{refused} of {n} refused");
}
