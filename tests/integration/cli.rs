//! Command-line conveniences: shell completions, the man page, and showing
//! a saved plan without touching AWS.

use crate::harness::Test;
use crate::moto::Moto;
use std::process::Command;

/// The completion script loads in bash and registers `bp`.
#[test]
fn bash_completion_loads() {
    let out = Command::new("bash")
        .args([
            "-c",
            &format!(
                "source <('{}' completions bash) && complete -p bp",
                crate::harness::bp().display()
            ),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("complete "), "{text}");
    assert!(text.trim_end().ends_with(" bp"), "{text}");
    for shell in ["zsh", "fish", "powershell", "elvish"] {
        let out = Test::new().args(["completions", shell]).run();
        let script = String::from_utf8_lossy(&out.stdout);
        assert!(
            script.contains("COMPLETE")
                && script.contains(&*crate::harness::bp().to_string_lossy()),
            "{shell} completion does not ask bp:\n{script}"
        );
    }
}

/// What bash completes, through the script `bp completions bash` prints:
/// subcommands, blueprint files (`*.rhai` and folders, not other files),
/// and for `--var` the names of the vars the blueprint reads.
#[test]
fn bash_completes_blueprints_and_their_vars() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("platform.rhai"),
        "let env = var(\"env\", \"dev\");\nlet n = var(\"desired\", 3);\nvpc(env, #{ cidr: \"10.0.0.0/16\" });\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("notes.txt"), "x").unwrap();
    std::fs::create_dir(dir.path().join("more")).unwrap();
    let complete = |words: &[&str]| -> Vec<String> {
        let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
        let script = format!(
            "source <('{bp}' completions bash)\nCOMP_WORDS=({words})\nCOMP_CWORD={cword}\n_clap_complete_bp bp '{cur}'\nprintf '%s\\n' \"${{COMPREPLY[@]}}\"",
            bp = crate::harness::bp().display(),
            words = quoted.join(" "),
            cword = words.len() - 1,
            cur = words.last().unwrap(),
        );
        let out = Command::new("bash")
            .args(["-c", &script])
            .current_dir(dir.path())
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| l.trim().to_string())
            .filter(|l| !l.is_empty())
            .collect()
    };
    let subcommands = complete(&["bp", "ad"]);
    assert_eq!(subcommands, ["adopt"], "{subcommands:?}");
    let files = complete(&["bp", "check", ""]);
    assert!(files.contains(&"platform.rhai".to_string()), "{files:?}");
    assert!(files.contains(&"more/".to_string()), "{files:?}");
    assert!(!files.iter().any(|f| f.contains("notes")), "{files:?}");
    let vars = complete(&["bp", "plan", "platform.rhai", "--var", ""]);
    assert_eq!(vars, ["desired=", "env="], "{vars:?}");
    let vars = complete(&["bp", "plan", "platform.rhai", "--var", "e"]);
    assert_eq!(vars, ["env="], "{vars:?}");
}

/// `bp man` is a roff page that `man -l` renders.
#[test]
fn the_man_page_renders() {
    let out = Test::new().args(["man"]).run();
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("bp.1");
    std::fs::write(&page, &out.stdout).unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).starts_with(".ie \\n(.g .ds Aq"));
    let rendered = Command::new("man")
        .arg("-l")
        .arg(&page)
        .env("MANPAGER", "cat")
        .env("MANWIDTH", "100")
        .output()
        .expect("man: run scripts/setup.sh");
    assert!(
        rendered.status.success(),
        "{}",
        String::from_utf8_lossy(&rendered.stderr)
    );
    let text = String::from_utf8_lossy(&rendered.stdout);
    for part in ["NAME", "SYNOPSIS", "SUBCOMMANDS", "kubeconfig", "backup"] {
        assert!(
            text.contains(part),
            "{part} missing from the man page:\n{text}"
        );
    }
}

/// A saved plan is shown for people, or as JSON, with no AWS call.
#[test]
fn show_renders_a_saved_plan_without_aws() {
    let moto = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bp.rhai"),
        "kms_key(\"k\", #{ rotation: true });\n",
    )
    .unwrap();
    let planned = Test::new()
        .current_dir(dir.path())
        .moto(&moto)
        .args(["plan", "bp.rhai", "-o", "plan.json"])
        .run();
    drop(moto);
    let human = String::from_utf8_lossy(&planned.stdout).to_string();
    // No emulator any more: show needs none.
    let out = Test::new()
        .current_dir(dir.path())
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .args(["show", "plan.json"])
        .run();
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(shown.contains("+ kms_key.k"), "{shown}");
    assert!(human.contains(shown.trim_end()), "{human}\n---\n{shown}");
    let out = Test::new()
        .current_dir(dir.path())
        .args(["show", "plan.json", "--json"])
        .run();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["summary"]["add"], 1);
    Test::new()
        .current_dir(dir.path())
        .args(["show", "bp.rhai"])
        .status(1)
        .stderr_contains("bp.rhai: it is not a plan saved by `bp plan -o`")
        .run();
}

/// Colour: on with --color always or CLICOLOR_FORCE, off with --color
/// never, NO_COLOR or no terminal; JSON never carries it.
#[test]
fn colour_follows_the_flag_and_the_environment() {
    let bad = "vpc(\"x\", #{ cidr: \"10.0.0.0/33\" });\n";
    let coloured = "\x1b[1m\x1b[31merror:\x1b[0m";
    let stderr = |t: Test| String::from_utf8_lossy(&t.status(1).run().stderr).into_owned();
    // The harness sets NO_COLOR=1 and there is no terminal: plain.
    let plain = stderr(Test::new().file("bp.rhai", bad).args(["check", "bp.rhai"]));
    assert!(plain.starts_with("error: "), "{plain:?}");
    let forced = stderr(
        Test::new()
            .file("bp.rhai", bad)
            .env("CLICOLOR_FORCE", "1")
            .args(["check", "bp.rhai"]),
    );
    assert!(forced.starts_with(coloured), "{forced:?}");
    assert!(forced.contains("\x1b[36m  = hint:"), "{forced:?}");
    let always = stderr(
        Test::new()
            .file("bp.rhai", bad)
            .args(["check", "bp.rhai", "--color", "always"]),
    );
    assert!(always.starts_with(coloured), "{always:?}");
    let never = stderr(
        Test::new()
            .file("bp.rhai", bad)
            .env("CLICOLOR_FORCE", "1")
            .args(["check", "bp.rhai", "--color", "never"]),
    );
    assert!(!never.contains('\x1b'), "{never:?}");

    // A coloured plan, and its JSON without colour.
    let moto = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bp.rhai"),
        "kms_key(\"k\", #{ rotation: true });\n",
    )
    .unwrap();
    let out = Test::new()
        .current_dir(dir.path())
        .moto(&moto)
        .args(["plan", "bp.rhai", "--color", "always"])
        .run();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("\x1b[32m  + kms_key.k\x1b[0m\n"), "{text:?}");
    assert!(
        text.contains("\x1b[2m      rotation = true\x1b[0m\n"),
        "{text:?}"
    );
    assert!(
        text.contains("\x1b[1mPlan: 1 to add, 0 to change, 0 to replace, 0 to destroy.\x1b[0m\n"),
        "{text:?}"
    );
    let out = Test::new()
        .current_dir(dir.path())
        .moto(&moto)
        .args(["plan", "bp.rhai", "--json", "--color", "always"])
        .run();
    assert!(!String::from_utf8_lossy(&out.stdout).contains('\x1b'));
}

/// Logs: RUST_LOG filters them, -vv logs every request, --log-json writes
/// JSON lines, and no request log carries a secret.
#[test]
fn logs_follow_rust_log_and_carry_no_secret() {
    let moto = Moto::start();
    let kube = crate::kube::Kube::start(&["demo"]);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bp.rhai"),
        "kms_key(\"k\");\nexisting_cluster(\"demo\").namespace(\"logs\").secret(\"s\", #{ data: #{ pw: \"log-PLAIN-1\" } });\n",
    )
    .unwrap();
    let kubeconfig = kube.kubeconfig_arg();
    let run = |extra: &[&str], rust_log: Option<&str>| -> String {
        let mut t = Test::new().current_dir(dir.path()).moto(&moto);
        if let Some(f) = rust_log {
            t = t.env("RUST_LOG", f);
        }
        let mut args = vec![
            "apply",
            "bp.rhai",
            "--auto-approve",
            "--kubeconfig",
            &kubeconfig,
        ];
        args.extend_from_slice(extra);
        let out = t.args(args).run();
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(!err.contains("log-PLAIN"), "{err}");
        err
    };
    let err = run(&[], Some("blueprint::kube=debug"));
    assert!(err.contains("blueprint::kube: request"), "{err}");
    assert!(
        err.contains("method=PATCH path=/api/v1/namespaces/logs/secrets/s?fieldManager=blueprint"),
        "{err}"
    );
    assert!(!err.contains("blueprint::aws"), "{err}");
    let err = run(&["-vv"], None);
    assert!(
        err.contains("blueprint::aws: request service=\"KMS\""),
        "{err}"
    );
    assert!(err.contains("blueprint::kube: request"), "{err}");
    let err = run(&["-vv", "--log-json"], None);
    let events: Vec<serde_json::Value> = err
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(
        events
            .iter()
            .any(|e| e["target"] == "blueprint::aws" && e["fields"]["operation"] == "ListAliases"),
        "{err}"
    );
    let quiet = run(&[], None);
    assert!(!quiet.contains("request"), "{quiet}");
}

/// On a terminal, apply shows what is in flight above a running count;
/// without one (every other test), one line per event.
#[test]
fn apply_on_a_terminal_shows_progress() {
    let moto = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bp.rhai"),
        "let k = kms_key(\"k\");\nlet v = vpc(\"p\", #{ cidr: \"10.9.0.0/16\", azs: 2, public_subnets: [\"10.9.1.0/24\", \"10.9.2.0/24\"] });\n",
    )
    .unwrap();
    let args = ["apply", "bp.rhai", "--auto-approve"].map(String::from);
    let mut p = crate::harness::on_terminal(dir.path(), &args, &moto.env());
    // The count line, while operations run, then the events and the result.
    p.exp_regex(r"\d+ done, 0 failed, \d+ running, \d+ pending")
        .unwrap();
    p.exp_string("+ vpc.p: created").unwrap();
    p.exp_string("Apply complete").unwrap();
    p.exp_eof().unwrap();
}

/// `bp defs -o DIR` writes the definition files that docs/defs holds.
#[test]
fn defs_writes_the_definition_files() {
    let dir = tempfile::tempdir().unwrap();
    let out = Test::new()
        .current_dir(dir.path())
        .args(["defs", "-o", "editor/defs"])
        .stdout_contains("definition files to editor/defs")
        .run();
    assert!(out.status.success());
    for name in ["blueprint.d.rhai", "__static__.d.rhai", "k8s.d.rhai"] {
        let written = std::fs::read_to_string(dir.path().join("editor/defs").join(name)).unwrap();
        let committed =
            std::fs::read_to_string(crate::harness::repo().join("docs/defs").join(name)).unwrap();
        assert_eq!(written, committed, "{name}");
    }
    let text = std::fs::read_to_string(dir.path().join("editor/defs/blueprint.d.rhai")).unwrap();
    assert!(text.contains("fn existing_vpc(id: ?) -> Vpc;"), "{text}");
}

/// The `rust-version` in Cargo.toml is true: no locked dependency needs a
/// newer Rust.
#[test]
fn rust_version_covers_every_locked_dependency() {
    let out = std::process::Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--locked",
            "--offline",
            "--format-version",
            "1",
            "--filter-platform",
            "x86_64-unknown-linux-gnu",
        ])
        .current_dir(crate::harness::repo())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let parse = |v: &str| -> Vec<u64> { v.split('.').map(|p| p.parse().unwrap_or(0)).collect() };
    let packages = meta["packages"].as_array().unwrap();
    let ours = packages
        .iter()
        .find(|p| p["name"] == "blueprint")
        .and_then(|p| p["rust_version"].as_str())
        .expect("Cargo.toml states a rust-version");
    let (name, needed) = packages
        .iter()
        .filter_map(|p| Some((p["name"].as_str()?, p["rust_version"].as_str()?)))
        .max_by_key(|(_, v)| parse(v))
        .unwrap();
    assert!(
        parse(ours) >= parse(needed),
        "rust-version {ours} is older than {needed}, which {name} needs"
    );
}

/// AWS calls go through the proxy that `HTTP_PROXY` names (the emulator is
/// plain http), and straight to the endpoint when `NO_PROXY` names it.
#[test]
fn aws_calls_go_through_http_proxy_unless_no_proxy_names_the_endpoint() {
    let m = Moto::start();
    let proxy = crate::proxy::Proxy::start();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bp.rhai"), "kms_key(\"proxied\");\n").unwrap();
    let bp = |args: &[&str], no_proxy: Option<&str>| {
        let mut t = Test::new()
            .current_dir(dir.path())
            .moto(&m)
            .env("HTTP_PROXY", &proxy.url)
            .args(args.iter().copied());
        if let Some(n) = no_proxy {
            t = t.env("NO_PROXY", n);
        }
        t.run();
    };
    bp(&["apply", "bp.rhai", "--auto-approve"], None);
    let through = proxy.count("FORWARD 127.0.0.1:");
    assert!(through > 0, "no AWS request went through the proxy");
    bp(
        &["plan", "bp.rhai", "--detailed-exitcode"],
        Some("127.0.0.1"),
    );
    assert_eq!(
        proxy.count("FORWARD 127.0.0.1:"),
        through,
        "NO_PROXY was not honoured"
    );
}

/// `examples/embed.rs` (built by `cargo test` with the other targets)
/// plans through the same pipeline as `bp plan`: what `bp apply` then
/// makes, the example finds, and its plan is empty.
#[test]
fn the_embedding_example_plans_through_the_engine() {
    let example = std::env::current_exe()
        .unwrap()
        .parent()
        .and_then(|deps| deps.parent())
        .map(|debug| debug.join("examples/embed"))
        .unwrap();
    assert!(
        example.exists(),
        "{} is missing: cargo test builds the examples",
        example.display()
    );
    let m = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bp.rhai");
    std::fs::write(
        &file,
        "kms_key(\"embedded\", #{ tags: #{ team: var(\"team\") } });\n",
    )
    .unwrap();
    let run = || {
        let out = Command::new(&example)
            .arg(&file)
            .arg("team=core")
            .envs(m.env())
            .env("BP_TODAY", crate::harness::TODAY)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let out = run();
    assert!(out.contains("+ kms_key.embedded"), "{out}");
    assert!(out.contains("Monthly cost:"), "{out}");
    assert!(out.contains("Plan: 1 to add"), "{out}");
    m.bp(
        dir.path(),
        &["apply", "bp.rhai", "--auto-approve", "--var", "team=core"],
        0,
    );
    let out = run();
    assert!(out.contains("No changes. 1 resources match"), "{out}");
}
