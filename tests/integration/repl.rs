//! `bp repl` through a pseudo-terminal (completion, multi-line input,
//! errors, meta-commands, Ctrl-D) and through plain stdin.

use crate::harness::{bp, repo, Test};
use crate::moto::Moto;
use rexpect::session::{spawn_command, PtySession};
use std::process::Command;

const TIMEOUT_MS: u64 = 20_000;

fn repl(args: &[&str], moto: Option<&Moto>, state: &std::path::Path) -> PtySession {
    let mut cmd = Command::new(bp());
    cmd.arg("repl")
        .args(args)
        .current_dir(repo())
        .env("TERM", "xterm")
        .env("NO_COLOR", "1")
        .env("XDG_STATE_HOME", state)
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_REGION");
    if let Some(m) = moto {
        for (k, v) in m.env() {
            cmd.env(k, v);
        }
    }
    let mut p = spawn_command(cmd, Some(TIMEOUT_MS)).expect("spawn bp repl");
    p.exp_string("Ctrl-D leaves.").expect("banner");
    p
}

/// Types without pressing Enter.
fn type_keys(p: &mut PtySession, keys: &str) {
    p.send(keys).unwrap();
    p.flush().unwrap();
}

/// Waits for a prompt: input sent before the editor is reading is dropped.
fn ready(p: &mut PtySession, prompt: &str) {
    p.exp_string(prompt)
        .unwrap_or_else(|e| panic!("no prompt {prompt:?}: {e}"));
    // The editor switches the terminal to raw mode around printing the
    // prompt; give it a moment so that typed keys are not flushed away.
    std::thread::sleep(std::time::Duration::from_millis(150));
}

fn eof(mut p: PtySession) {
    p.send_control('d').unwrap();
    let status = p.process().wait().unwrap();
    assert!(
        matches!(status, rexpect::process::WaitStatus::Exited(_, 0)),
        "{status:?}"
    );
}

#[test]
fn completes_functions_methods_and_option_keys() {
    let state = tempfile::tempdir().unwrap();
    let mut p = repl(&["tests/cases/repl/base.rhai"], None, state.path());
    ready(&mut p, "bp> ");
    type_keys(&mut p, "kms_k\t");
    p.exp_string("kms_key").unwrap();
    p.send_control('c').unwrap();
    ready(&mut p, "bp> ");
    type_keys(&mut p, "c.node_g\t");
    p.exp_string("c.node_group").unwrap();
    type_keys(
        &mut p,
        "(\"app\", #{ instance_types: [\"m6i.large\"], desi\t",
    );
    p.exp_string("desired").unwrap();
    p.send_control('c').unwrap();
    ready(&mut p, "bp> ");
    type_keys(&mut p, "netw\t");
    p.exp_string("network").unwrap();
    p.send_control('c').unwrap();
    ready(&mut p, "bp> ");
    type_keys(&mut p, ":res\t");
    p.exp_string(":resources").unwrap();
    p.send_line("").unwrap();
    p.exp_string("cluster (1):").unwrap();
    ready(&mut p, "bp> ");
    eof(p);
}

#[test]
fn multi_line_input_errors_and_help() {
    let state = tempfile::tempdir().unwrap();
    let mut p = repl(&[], None, state.path());
    ready(&mut p, "bp> ");
    p.send_line("let v = vpc(\"multi\", #{").unwrap();
    ready(&mut p, "..> ");
    p.send_line("    cidr: \"10.9.0.0/16\",").unwrap();
    ready(&mut p, "..> ");
    p.send_line("});").unwrap();
    ready(&mut p, "bp> ");
    p.send_line("v.cidr").unwrap();
    p.exp_string("10.9.0.0/16").unwrap();
    ready(&mut p, "bp> ");
    p.send_line("vpc(\"bad\", #{ cidr: 5 });").unwrap();
    p.exp_string("error: option `cidr` of vpc must be a CIDR block string")
        .unwrap();
    p.exp_string("--> repl#").unwrap();
    ready(&mut p, "bp> ");
    p.send_line("40 + 2").unwrap();
    p.exp_string("42").unwrap();
    ready(&mut p, "bp> ");
    p.send_line(":help node_group").unwrap();
    p.exp_string("cluster.node_group(name, #{ instance_types, min, max, desired, ... })")
        .unwrap();
    p.exp_string("desired").unwrap();
    ready(&mut p, "bp> ");
    p.send_line(":resources").unwrap();
    p.exp_string("vpc.multi").unwrap();
    ready(&mut p, "bp> ");
    eof(p);
    assert!(
        state.path().join("blueprint/history").exists(),
        "history file"
    );
}

#[test]
fn plan_and_live_against_the_emulator() {
    let moto = Moto::start();
    let state = tempfile::tempdir().unwrap();
    let mut p = repl(&["tests/cases/repl/base.rhai"], Some(&moto), state.path());
    ready(&mut p, "bp> ");
    p.send_line(":plan").unwrap();
    p.exp_string("+ cluster.repl").unwrap();
    // The same pipeline as `bp plan`: lint findings and the cost too.
    p.exp_string("Findings for what this plan creates or changes")
        .unwrap();
    p.exp_string("Monthly cost:").unwrap();
    p.exp_string("Plan: 6 to add, 0 to change, 0 to replace, 0 to destroy.")
        .unwrap();
    ready(&mut p, "bp> ");
    p.send_line(":live vpc").unwrap();
    p.exp_string("172.31.0.0/16 (default)").unwrap();
    p.exp_string("1 vpc").unwrap();
    ready(&mut p, "bp> ");
    eof(p);
}

#[test]
fn plain_stdin_evaluates_and_reports_failures() {
    Test::new()
        .current_dir(repo())
        .args(["repl", "tests/cases/repl/base.rhai"])
        .stdin("let n = network.name;\nn + \"-x\"\n:resources\nlet m = #{\n  a: 1,\n};\nm.a\n")
        .stdout_contains("repl-x\n")
        .stdout_contains("vpc (1):\n  vpc.repl\n")
        .stdout_contains("1\n")
        .run();
    Test::new()
        .current_dir(repo())
        .args(["repl"])
        .stdin("let x = 1;\nx + undefined_thing\nx + 1\n")
        .status(1)
        .stdout("2\n")
        .stderr_contains("error: unknown variable `undefined_thing`")
        .run();
}

/// `:live` lists in-cluster kinds in the clusters the session declares
/// objects in, owned or not, filtered by namespace.
#[test]
fn live_lists_kubernetes_objects() {
    let moto = Moto::start();
    let kube = crate::kube::Kube::start(&["demo"]);
    kube.kubectl(&["create", "namespace", "shop"]);
    kube.kubectl(&[
        "create",
        "configmap",
        "foreign",
        "-n",
        "shop",
        "--from-literal=a=1",
    ]);
    kube.kubectl(&[
        "create",
        "configmap",
        "elsewhere",
        "-n",
        "default",
        "--from-literal=a=1",
    ]);
    let kubeconfig = kube.kubeconfig_arg();
    Test::new()
        .current_dir(repo())
        .moto(&moto)
        .args(["repl", "--kubeconfig", &kubeconfig])
        .stdin(":live config_map\nlet ns = existing_cluster(\"demo\").existing_namespace(\"shop\");\nns.config_map(\"mine\", #{ data: #{ a: \"1\" } });\n:live config_map shop\n")
        .status(1)
        .stderr_contains("error: :live config_map lists the clusters this session declares objects in, and it declares none")
        .stdout_contains("shop/foreign")
        .stdout_contains("cluster demo, namespace shop")
        .stdout_contains("1 config_map")
        .run();
}

/// On a terminal the prompt is bold cyan, results cyan and errors red, as
/// `--color` says; the other tests here run with NO_COLOR.
#[test]
fn the_repl_is_coloured_on_a_terminal() {
    let state = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(bp());
    cmd.args(["repl", "--color", "always"])
        .current_dir(repo())
        .env("TERM", "xterm")
        .env("XDG_STATE_HOME", state.path())
        .env_remove("NO_COLOR");
    let mut p = spawn_command(cmd, Some(TIMEOUT_MS)).expect("spawn bp repl");
    p.exp_string("Ctrl-D leaves.").unwrap();
    p.exp_string("\x1b[1m\x1b[36mbp> \x1b[0m").unwrap();
    std::thread::sleep(std::time::Duration::from_millis(150));
    p.send_line("40 + 2").unwrap();
    p.exp_string("\x1b[36m42\x1b[0m").unwrap();
    p.exp_string("\x1b[1m\x1b[36mbp> \x1b[0m").unwrap();
    std::thread::sleep(std::time::Duration::from_millis(150));
    p.send_line("vpc(\"x\", #{ cidr: 1 })").unwrap();
    p.exp_string("\x1b[1m\x1b[31merror:\x1b[0m").unwrap();
    // Ctrl-D once the prompt is back, as a person would press it (sent
    // while the error is still being written, it can be lost).
    p.exp_string("\x1b[1m\x1b[36mbp> \x1b[0m").unwrap();
    std::thread::sleep(std::time::Duration::from_millis(150));
    p.send_control('d').unwrap();
    p.exp_eof().unwrap();
}
