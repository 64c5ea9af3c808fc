//! The apply lock against the emulator: an apply waiting at its approval
//! prompt holds the blueprint's lock, so a second apply fails at once
//! naming the holder (or waits with --lock-timeout); the lock is given back
//! on every way out, Ctrl-C included; one whose holder was killed stays
//! visible until `bp lock break` removes it.

use crate::harness::bp;
use crate::moto::Moto;
use rexpect::session::PtySession;
use std::process::Command;

const BP: &str = "vpc(\"l\", #{ cidr: \"10.11.0.0/16\" });\n";

/// `bp apply` on a terminal, stopped at its approval prompt, holding the lock.
fn apply_at_prompt(m: &Moto, dir: &std::path::Path) -> PtySession {
    let mut cmd = Command::new(bp());
    cmd.args(["apply", "bp.rhai"])
        .current_dir(dir)
        .env("TERM", "dumb")
        .env("USER", "alice")
        .env_remove("AWS_PROFILE");
    for (k, v) in m.env() {
        cmd.env(k, v);
    }
    let mut p = rexpect::session::spawn_command(cmd, Some(30_000)).unwrap();
    p.exp_string("Do you want to apply these changes?").unwrap();
    p
}

/// The pid in `bp lock status`'s "(process N)".
fn holder_pid(status: &str) -> i32 {
    let rest = status.split("(process ").nth(1).expect(status);
    rest.split(')').next().unwrap().parse().unwrap()
}

#[test]
fn a_second_apply_fails_naming_the_holder_or_waits() {
    let m = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bp.rhai"), BP).unwrap();
    let d = dir.path();

    let mut first = apply_at_prompt(&m, d);
    let out = m.bp(d, &["apply", "bp.rhai", "--auto-approve"], 1);
    assert!(out.contains("blueprint bp is locked by alice on "), "{out}");
    assert!(out.contains("running `bp apply bp.rhai` since 20"), "{out}");
    assert!(out.contains("--lock-timeout"), "{out}");
    let out = m.bp(d, &["destroy", "bp.rhai", "--auto-approve"], 1);
    assert!(out.contains("blueprint bp is locked by alice"), "{out}");
    // Planning never takes the lock.
    m.bp(d, &["plan", "bp.rhai"], 0);
    let status = m.bp(d, &["lock", "status", "bp.rhai"], 0);
    assert!(
        status.contains("Blueprint bp is locked by alice"),
        "{status}"
    );

    // With --lock-timeout, a second apply waits for the first to finish.
    let mut cmd = Command::new(bp());
    cmd.args([
        "apply",
        "bp.rhai",
        "--auto-approve",
        "--lock-timeout",
        "60s",
    ])
    .current_dir(d);
    for (k, v) in m.env() {
        cmd.env(k, v);
    }
    let waiting = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_secs(3));
    first.send_line("no").unwrap();
    first.exp_string("Apply cancelled.").unwrap();
    first.exp_eof().unwrap();
    let out = waiting.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("Apply complete: 1 created"));
    let status = m.bp(d, &["lock", "status", "bp.rhai"], 0);
    assert!(status.contains("Blueprint bp is not locked."), "{status}");
}

#[test]
fn ctrl_c_gives_the_lock_back() {
    let m = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bp.rhai"), BP).unwrap();
    let d = dir.path();
    let mut first = apply_at_prompt(&m, d);
    first.send_control('c').unwrap();
    first.exp_string("interrupted").unwrap();
    first.exp_eof().unwrap();
    let status = m.bp(d, &["lock", "status", "bp.rhai"], 0);
    assert!(status.contains("Blueprint bp is not locked."), "{status}");
    m.bp(d, &["apply", "bp.rhai", "--auto-approve"], 0);
}

#[test]
fn a_killed_holders_lock_stays_until_broken() {
    let m = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bp.rhai"), BP).unwrap();
    let d = dir.path();
    let _first = apply_at_prompt(&m, d);
    let status = m.bp(d, &["lock", "status", "bp.rhai"], 0);
    let pid = holder_pid(&status);
    assert_eq!(unsafe { libc::kill(pid, libc::SIGKILL) }, 0, "{status}");
    std::thread::sleep(std::time::Duration::from_millis(300));

    // It stays, and says whose it was.
    let status = m.bp(d, &["lock", "status", "bp.rhai"], 0);
    assert!(status.contains(&format!("(process {pid})")), "{status}");
    assert!(
        status.contains("That process is not running on this host."),
        "{status}"
    );
    m.bp(d, &["apply", "bp.rhai", "--auto-approve"], 1);
    // Breaking it asks; without a terminal it needs --auto-approve.
    let out = m.bp(d, &["lock", "break", "bp.rhai"], 1);
    assert!(out.contains("pass --auto-approve"), "{out}");
    let out = m.bp(d, &["lock", "break", "bp.rhai", "--auto-approve"], 0);
    assert!(out.contains("Removed the lock of blueprint bp."), "{out}");
    m.bp(d, &["apply", "bp.rhai", "--auto-approve"], 0);
    let status = m.bp(d, &["lock", "status", "bp.rhai"], 0);
    assert!(status.contains("Blueprint bp is not locked."), "{status}");
}

/// Ctrl-C during an apply: what runs finishes, nothing new starts, the
/// report says so, the lock is given back, and the exit code is 130.
#[test]
fn ctrl_c_during_an_apply_finishes_what_runs_and_exits_130() {
    interrupted_apply(libc::SIGINT);
}

/// SIGTERM (a CI job cancelled, a pod stopped) is taken as Ctrl-C is.
#[test]
fn sigterm_during_an_apply_is_taken_as_ctrl_c() {
    interrupted_apply(libc::SIGTERM);
}

/// So is SIGHUP (the terminal closed).
#[test]
fn sighup_during_an_apply_is_taken_as_ctrl_c() {
    interrupted_apply(libc::SIGHUP);
}

fn interrupted_apply(signal: i32) {
    use std::io::{BufRead, BufReader};
    let m = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("let v = vpc(\"l\", #{ cidr: \"10.11.0.0/16\" });\n");
    for i in 0..40 {
        text.push_str(&format!("security_group(v, \"g{i}\");\n"));
    }
    std::fs::write(dir.path().join("bp.rhai"), text).unwrap();
    let d = dir.path();
    let mut cmd = Command::new(bp());
    cmd.args(["apply", "bp.rhai", "--auto-approve", "--parallelism", "1"])
        .current_dir(d)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    for (k, v) in m.env() {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut seen = Vec::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        let created = line.contains(": created");
        seen.push(line);
        if created {
            assert_eq!(unsafe { libc::kill(child.id() as i32, signal) }, 0);
            break;
        }
    }
    seen.extend(lines.map(|l| l.unwrap()));
    let status = child.wait().unwrap();
    let out = seen.join("\n");
    assert_eq!(status.code(), Some(130), "{out}");
    assert!(
        out.contains("Interrupted. Run the same command again to finish"),
        "{out}"
    );
    assert!(
        out.contains("not started: creating security_group."),
        "{out}"
    );
    let status = m.bp(d, &["lock", "status", "bp.rhai"], 0);
    assert!(status.contains("Blueprint bp is not locked."), "{status}");
    // Running it again finishes the job.
    let out = m.bp(d, &["apply", "bp.rhai", "--auto-approve"], 0);
    assert!(!out.contains("+ vpc.l"), "{out}");
}

/// Two applies of one blueprint started at the same moment: exactly one
/// makes the changes; the other is refused by the lock (or, had the first
/// finished already, finds nothing to do). Five races, one VPC each.
#[test]
fn concurrent_applies_of_one_blueprint_one_proceeds() {
    let m = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for race in 0..5 {
        let file = format!("race{race}.rhai");
        std::fs::write(
            d.join(&file),
            format!("vpc(\"r\", #{{ cidr: \"10.{}.0.0/16\", azs: 2, public_subnets: [\"10.{0}.1.0/24\", \"10.{0}.2.0/24\"] }});\n", 20 + race),
        )
        .unwrap();
        let spawn = || {
            let mut cmd = Command::new(bp());
            cmd.args(["apply", &file, "--auto-approve"])
                .current_dir(d)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped());
            for (k, v) in m.env() {
                cmd.env(k, v);
            }
            cmd.spawn().unwrap()
        };
        let (a, b) = (spawn(), spawn());
        let outs = [a.wait_with_output().unwrap(), b.wait_with_output().unwrap()];
        let text = |o: &std::process::Output| {
            format!(
                "{}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            )
        };
        let applied = outs
            .iter()
            .filter(|o| o.status.success() && text(o).contains("Apply complete: 5 created"))
            .count();
        let other_ok = outs.iter().all(|o| {
            let t = text(o);
            t.contains("Apply complete: 5 created")
                || (o.status.code() == Some(1) && t.contains("is locked by"))
                || (o.status.success() && t.contains("No changes."))
        });
        assert!(
            applied == 1 && other_ok,
            "race {race}:\n--- first:\n{}\n--- second:\n{}",
            text(&outs[0]),
            text(&outs[1])
        );
        let owned = m.owned(&format!("race{race}"));
        assert_eq!(owned["vpc"], 1, "race {race}: {owned}");
        assert_eq!(owned["subnet"], 2, "race {race}: {owned}");
    }
}

/// Giving the lock back and breaking-then-taking it race in a tight loop:
/// the release is conditional on the holding's own token, so it never
/// deletes a lock that another process took meanwhile.
#[test]
fn a_release_never_deletes_the_next_holders_lock() {
    use blueprint::providers::lock::{acquire, break_lock, status, Holder};
    use blueprint::providers::{Cloud, Target};
    let m = Moto::start();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let target = Target {
            region: "us-east-1".into(),
            endpoint_url: Some(m.url.clone()),
            static_credentials: Some(("test".into(), "test".into())),
            ..Target::default()
        };
        let cloud = Cloud::connect(&target, "race").await;
        let wait = std::time::Duration::from_secs(0);
        for round in 0..40 {
            let a = acquire(&cloud, Holder::me(&format!("a {round}")), wait)
                .await
                .unwrap();
            // A gives its lock back while B breaks it and takes its own.
            let release = async { a.release().await.unwrap() };
            let take = async {
                break_lock(&cloud).await.unwrap();
                loop {
                    match acquire(&cloud, Holder::me(&format!("b {round}")), wait).await {
                        Ok(b) => return b,
                        Err(_) => tokio::task::yield_now().await,
                    }
                }
            };
            let ((), b) = tokio::join!(release, take);
            let held = status(&cloud).await.unwrap();
            assert_eq!(
                held.map(|h| h.command),
                Some(format!("b {round}")),
                "round {round}: B's lock was deleted by A's release"
            );
            b.release().await.unwrap();
            assert_eq!(status(&cloud).await.unwrap(), None, "round {round}");
        }
    });
}
