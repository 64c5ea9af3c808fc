//! Secrets never leave the process: a canary secret goes in through every
//! channel a user has (`--var`, `BP_VAR_<name>`, a plain var file, a
//! sops-encrypted var file, `sops_file` with KMS, an RDS password) and is
//! searched for, in plain, base64, URL-encoded and JSON-escaped forms, in
//! everything Blueprint writes: stdout and stderr of check, plan (human and
//! JSON), apply and errors, logs at `RUST_LOG=trace` (plain and
//! `--log-json`) and saved plans.

use crate::harness::Test;
use crate::moto::Moto;
use std::path::Path;

/// The forms in which a secret can be written out.
fn forms(secret: &str) -> Vec<String> {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let url: String = secret
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect();
    vec![
        secret.to_string(),
        b64.encode(secret),
        url,
        serde_json::to_string(secret)
            .unwrap()
            .trim_matches('"')
            .to_string(),
    ]
}

/// Panics naming the channel and the form when `text` holds a secret.
fn assert_no_leak(channel: &str, text: &str, secrets: &[(&str, &str)]) {
    for (name, secret) in secrets {
        for form in forms(secret) {
            assert!(
                !text.contains(&form),
                "{channel} shows the secret {name} (as {form:?}):\n{text}"
            );
        }
    }
}

const BP: &str = r#"
let v = vpc("leak", #{ cidr: "10.0.0.0/16", azs: 2,
    public_subnets: ["10.0.1.0/24", "10.0.2.0/24"], private_subnets: ["10.0.10.0/24", "10.0.11.0/24"] });
// Passed in plain with --var, and used as a password: sensitive by use.
rds_postgres("orders", #{ vpc: v, subnets: v.private_subnets, instance_class: "db.t4g.medium",
    engine_version: "16.4", storage_gb: 20, username: "orders", password: var("db_password") });
let s = sops_file("secrets.enc.json");
kms_key("leak", #{ tags: #{
    // Declared sensitive, given as BP_VAR_api_token.
    token: var("api_token", #{ sensitive: true }),
    // From a sops-encrypted var file: sensitive.
    file: var("file_secret"),
    // From sops_file, decrypted with KMS.
    sops: s.password,
    env: var("env"),
} });
"#;

const DB_PASSWORD: &str = "Canary-db-PW_7f3a&q+x";
const API_TOKEN: &str = "canary token/+=&?9d1c";
const FILE_SECRET: &str = "canary-varfile-4e2b";
const SOPS_SECRET: &str = "canary-sops-kms-55aa";

fn secrets() -> Vec<(&'static str, &'static str)> {
    vec![
        ("db_password", DB_PASSWORD),
        ("api_token", API_TOKEN),
        ("file_secret", FILE_SECRET),
        ("sops", SOPS_SECRET),
    ]
}

/// The sops file's data key, as KMS gives it back in clear (base64): what a
/// trace of the SDK's wire would show.
fn data_key(m: &Moto, file: &Path) -> String {
    let out = m.python(&[
        "-c",
        &format!(
            "import boto3, json, base64; d = json.load(open('{}')); \
             k = {}.decrypt(CiphertextBlob=base64.b64decode(d['sops']['kms'][0]['enc']))['Plaintext']; \
             print(base64.b64encode(k).decode())",
            file.display(),
            m.boto3("kms")
        ),
    ]);
    String::from_utf8(out).unwrap().trim().to_string()
}

fn args(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

struct Run<'a> {
    m: &'a Moto,
    dir: &'a Path,
    age_key: String,
}

impl Run<'_> {
    /// `bp ARGS` with the canary passed as `--var`, `BP_VAR_api_token`
    /// and the two var files, and `extra` environment; stdout and stderr,
    /// checked for leaks.
    fn bp(&self, args: &[&str], env: &[(&str, &str)], status: i32) -> (String, String) {
        let mut t = Test::new()
            .current_dir(self.dir)
            .moto(self.m)
            .env("SOPS_AGE_KEY", &self.age_key)
            .args(args.iter().copied())
            .status(status);
        for (k, v) in env {
            t = t.env(k, v);
        }
        let out = t.run();
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        let channel = format!("bp {} (env {env:?})", args.join(" "));
        assert_no_leak(&format!("stdout of {channel}"), &stdout, &secrets());
        assert_no_leak(&format!("stderr of {channel}"), &stderr, &secrets());
        (stdout, stderr)
    }
}

#[test]
fn a_canary_secret_leaks_through_no_channel() {
    let m = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let identity = age::x25519::Identity::generate();
    use age::secrecy::ExposeSecret;
    let age_key = identity.to_string().expose_secret().to_string();
    let recipient = identity.to_public().to_string();
    let key = m.create_kms_key();
    let run = Run {
        m: &m,
        dir: d,
        age_key,
    };
    std::fs::write(d.join("bp.rhai"), BP).unwrap();
    std::fs::write(
        d.join("secrets.json"),
        format!("{{\"password\": \"{SOPS_SECRET}\"}}\n"),
    )
    .unwrap();
    run.bp(
        &[
            "secrets",
            "encrypt",
            "secrets.json",
            "--kms",
            &key,
            "-o",
            "secrets.enc.json",
        ],
        &[],
        0,
    );
    std::fs::write(
        d.join("secret-vars.yaml"),
        format!("file_secret: {FILE_SECRET}\n"),
    )
    .unwrap();
    run.bp(
        &[
            "secrets",
            "encrypt",
            "secret-vars.yaml",
            "--age",
            &recipient,
            "-o",
            "secret-vars.enc.yaml",
        ],
        &[],
        0,
    );
    std::fs::remove_file(d.join("secrets.json")).unwrap();
    std::fs::remove_file(d.join("secret-vars.yaml")).unwrap();
    std::fs::write(d.join("vars.json"), "{\"env\": \"prod\"}\n").unwrap();
    let data_key = data_key(&m, &d.join("secrets.enc.json"));
    let pw_var = format!("db_password={DB_PASSWORD}");
    let with_vars = |cmd: &[&str]| -> Vec<String> {
        let mut a: Vec<String> = cmd.iter().map(|s| s.to_string()).collect();
        a.extend(
            [
                "--var",
                &pw_var,
                "--var-file",
                "vars.json",
                "--var-file",
                "secret-vars.enc.yaml",
            ]
            .iter()
            .map(|s| s.to_string()),
        );
        a
    };
    let token = [("BP_VAR_api_token", API_TOKEN)];

    // check: sealed, so the encrypted var file and sops values stay unknown.
    run.bp(
        &args(&with_vars(&["check", "bp.rhai", "--json"])),
        &token,
        0,
    );
    // plan, human and JSON; the saved plan.
    let (out, _) = run.bp(&args(&with_vars(&["plan", "bp.rhai"])), &token, 0);
    assert!(out.contains("password = (sensitive)"), "{out}");
    assert!(out.contains("tags.token = (sensitive)"), "{out}");
    let (out, _) = run.bp(&args(&with_vars(&["plan", "bp.rhai", "--json"])), &token, 0);
    let plan: serde_json::Value = serde_json::from_str(&out).unwrap();
    let vars = &plan["source"]["vars"];
    assert_eq!(vars["env"], "prod", "{vars}");
    for name in ["db_password", "api_token", "file_secret"] {
        let v = vars[name]["sensitive"].as_str().unwrap_or_default();
        assert!(v.starts_with("pbkdf2-sha256:600000:"), "{name}: {vars}");
    }
    // A BP_VAR_ the blueprint does not read (another team's) is not
    // recorded either.
    run.bp(
        &args(&with_vars(&["plan", "bp.rhai", "-o", "plan.json"])),
        &[
            ("BP_VAR_api_token", API_TOKEN),
            ("BP_VAR_other_team_secret", "canary-other-team-77"),
        ],
        0,
    );
    let saved = std::fs::read_to_string(d.join("plan.json")).unwrap();
    assert_no_leak("the saved plan", &saved, &secrets());
    assert!(!saved.contains("canary-other-team-77"), "{saved}");

    // Applying the saved plan needs the sensitive variables again: refused,
    // naming the variable, when one is missing or another value.
    let (_, err) = run.bp(&["apply", "plan.json"], &[], 1);
    assert!(
        err.contains("made with the sensitive variable `api_token`"),
        "{err}"
    );
    let (_, err) = run.bp(
        &args(&with_vars(&["apply", "plan.json"])),
        &[("BP_VAR_api_token", "another token")],
        1,
    );
    assert!(
        err.contains("the sensitive variable `api_token` is not the value the plan"),
        "{err}"
    );
    let (_, err) = run.bp(
        &[
            "apply",
            "plan.json",
            "--var-file",
            "secret-vars.enc.yaml",
            "--var",
            "db_password=wrong-password-1",
        ],
        &token,
        1,
    );
    assert!(
        err.contains("the sensitive variable `db_password` is not the value the plan"),
        "{err}"
    );

    // Applied with every log on, and the SDK asked to print the bodies of
    // sensitive answers too (LOG_SENSITIVE_BODIES: KMS Decrypt's plaintext
    // data key): Blueprint's caps keep them out of the logs.
    let trace = [
        ("BP_VAR_api_token", API_TOKEN),
        ("RUST_LOG", "trace"),
        ("LOG_SENSITIVE_BODIES", "true"),
    ];
    let (_, err) = run.bp(&args(&with_vars(&["apply", "plan.json"])), &trace, 0);
    assert!(err.contains("TRACE"), "no trace logs were written:\n{err}");
    // The records of what was applied (drift or declared) hold secrets as
    // hashes only.
    let table = String::from_utf8(m.python(&[
        "-c",
        &format!(
            "import boto3, json\ndb = {}\nprint(json.dumps(db.scan(TableName='blueprint-locks')['Items']))",
            m.boto3("dynamodb")
        ),
    ]))
    .unwrap();
    assert!(table.contains("applied:"), "no records: {table}");
    assert!(table.contains("$sensitive"), "{table}");
    assert_no_leak("the records of the last apply", &table, &secrets());
    assert!(
        !err.contains(&data_key),
        "the KMS data key is in the trace log"
    );
    let (_, err) = run.bp(
        &args(&with_vars(&[
            "plan",
            "bp.rhai",
            "--log-json",
            "--detailed-exitcode",
        ])),
        &trace,
        0,
    );
    assert!(err.contains("\"level\":\"TRACE\""), "{err}");
    assert!(
        !err.contains(&data_key),
        "the KMS data key is in the JSON log"
    );

    // Errors that would repeat a value do not.
    let (_, err) = run.bp(
        &[
            "check",
            "bp.rhai",
            "--var",
            &format!("novalue{DB_PASSWORD}"),
        ],
        &[],
        1,
    );
    assert!(err.contains("is not KEY=VALUE"), "{err}");
    std::fs::write(
        d.join("typed.rhai"),
        "let n = var(\"replicas\", 3);\nkms_key(\"k\");\n",
    )
    .unwrap();
    let (_, err) = run.bp(
        &[
            "check",
            "typed.rhai",
            "--var",
            &format!("replicas={DB_PASSWORD}"),
        ],
        &[],
        1,
    );
    assert!(err.contains("variable `replicas` is not"), "{err}");
}

/// A region from the profile: with `AWS_PROFILE` naming a profile of
/// `AWS_CONFIG_FILE` whose region is eu-west-1, and no region in the
/// environment, everything is planned and made in eu-west-1.
#[test]
fn the_region_comes_from_the_profile() {
    let m = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("bp.rhai"), "kms_key(\"eu\");\n").unwrap();
    std::fs::write(
        d.join("config"),
        "[default]\nregion = us-west-2\n\n[profile eu]\nregion = eu-west-1\n",
    )
    .unwrap();
    let config = d.join("config").display().to_string();
    let bp = |args: &[&str], extra: &[(&str, &str)]| {
        let mut t = Test::new()
            .current_dir(d)
            .moto(&m)
            .env_remove("AWS_REGION")
            .env("AWS_CONFIG_FILE", &config)
            .args(args.iter().copied());
        for (k, v) in extra {
            t = t.env(k, v);
        }
        let out = t.run();
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    // An empty AWS_REGION counts as none.
    let out = bp(
        &["plan", "bp.rhai", "--json"],
        &[("AWS_PROFILE", "eu"), ("AWS_REGION", "")],
    );
    let plan: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(plan["region"], "eu-west-1", "{out}");
    bp(
        &["apply", "bp.rhai", "--auto-approve"],
        &[("AWS_PROFILE", "eu")],
    );
    // --profile says the same; --region and AWS_REGION win over it.
    let out = bp(&["plan", "bp.rhai", "--json", "--profile", "eu"], &[]);
    assert!(out.contains("\"region\": \"eu-west-1\""), "{out}");
    let out = bp(&["plan", "bp.rhai", "--json"], &[]);
    assert!(out.contains("\"region\": \"us-west-2\""), "{out}");
    let out = bp(
        &["plan", "bp.rhai", "--json", "--region", "ap-south-1"],
        &[("AWS_PROFILE", "eu")],
    );
    assert!(out.contains("\"region\": \"ap-south-1\""), "{out}");
    // The key exists in eu-west-1 and nowhere else.
    let keys = |region: &str| {
        let out = m.python(&[
            "-c",
            &format!(
                "import boto3; c = boto3.client('kms', endpoint_url='{}', region_name='{region}', aws_access_key_id='t', aws_secret_access_key='t'); print(len(c.list_keys()['Keys']))",
                m.url
            ),
        ]);
        String::from_utf8(out).unwrap().trim().to_string()
    };
    assert_eq!(keys("eu-west-1"), "1");
    assert_eq!(keys("us-east-1"), "0");
}

/// Every file under `dir` (recursively) whose content holds `needle`.
fn files_holding(dir: &Path, needle: &str) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files_holding(&p, needle));
        } else if std::fs::read(&p)
            .map(|b| String::from_utf8_lossy(&b).contains(needle))
            .unwrap_or(false)
        {
            out.push(p);
        }
    }
    out
}

/// Whether process `pid` still runs (not gone, not a zombie).
fn running(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            let state = s
                .rsplit_once(')')
                .and_then(|(_, r)| r.trim_start().chars().next());
            !matches!(state, Some('Z' | 'X'))
        })
        .unwrap_or(false)
}

/// `bp secrets edit`, interrupted with SIGINT, SIGTERM or SIGHUP while the
/// editor runs: the editor is ended, the file is unchanged, and no
/// plaintext is left in the temporary folder or on the memory filesystem.
#[test]
fn an_interrupted_edit_leaves_no_plaintext() {
    const CANARY: &str = "edit-canary-0b9f";
    let identity = age::x25519::Identity::generate();
    use age::secrecy::ExposeSecret;
    let age_key = identity.to_string().expose_secret().to_string();
    let recipient = identity.to_public().to_string();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let tmp = d.join("tmp");
    let memory = d.join("run");
    std::fs::create_dir_all(&tmp).unwrap();
    std::fs::create_dir_all(&memory).unwrap();
    std::fs::write(d.join("s.yaml"), format!("password: {CANARY}\n")).unwrap();
    Test::new()
        .current_dir(d)
        .args(["secrets", "encrypt", "s.yaml", "--age", &recipient, "-i"])
        .run();
    let encrypted = std::fs::read_to_string(d.join("s.yaml")).unwrap();
    // An editor that says where the plaintext is and which process it is,
    // then waits.
    let editor = d.join("ed.sh");
    crate::harness::executable(&editor, "#!/bin/sh\necho \"$1\" > \"$(dirname \"$0\")/path.tmp\"\necho $$ > \"$(dirname \"$0\")/pid.tmp\"\nmv \"$(dirname \"$0\")/path.tmp\" \"$(dirname \"$0\")/path\"\nexec sleep 60\n");
    for (signal, name) in [
        (libc::SIGINT, "SIGINT"),
        (libc::SIGTERM, "SIGTERM"),
        (libc::SIGHUP, "SIGHUP"),
    ] {
        let _ = std::fs::remove_file(d.join("path"));
        let mut child = std::process::Command::new(crate::harness::bp())
            .args(["secrets", "edit", "s.yaml"])
            .current_dir(d)
            .env("SOPS_AGE_KEY", &age_key)
            .env("EDITOR", &editor)
            .env_remove("VISUAL")
            .env("TMPDIR", &tmp)
            .env("XDG_RUNTIME_DIR", &memory)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let start = std::time::Instant::now();
        while !d.join("path").exists() {
            assert!(
                start.elapsed() < std::time::Duration::from_secs(20),
                "the editor did not start"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let plaintext = std::fs::read_to_string(d.join("path")).unwrap();
        let plaintext = Path::new(plaintext.trim()).to_path_buf();
        assert!(
            plaintext.starts_with(&memory),
            "{name}: the plaintext is not on the memory filesystem: {}",
            plaintext.display()
        );
        assert!(std::fs::read_to_string(&plaintext)
            .unwrap()
            .contains(CANARY));
        let editor_pid: i32 = std::fs::read_to_string(d.join("pid"))
            .or_else(|_| std::fs::read_to_string(d.join("pid.tmp")))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        // SAFETY: signalling the child this test started.
        unsafe {
            libc::kill(child.id() as i32, signal);
        }
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(130), "{name}");
        let start = std::time::Instant::now();
        while running(editor_pid) && start.elapsed() < std::time::Duration::from_secs(5) {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        assert!(!running(editor_pid), "{name}: the editor still runs");
        assert!(
            !plaintext.exists(),
            "{name}: {} is left",
            plaintext.display()
        );
        for place in [&tmp, &memory] {
            let left = files_holding(place, CANARY);
            assert!(left.is_empty(), "{name}: plaintext left in {left:?}");
        }
        assert_eq!(
            std::fs::read_to_string(d.join("s.yaml")).unwrap(),
            encrypted,
            "{name}: the file changed"
        );
    }
}

/// Where variables come from, and which wins: `--var-file` files in order
/// (YAML or JSON, the later wins), then `BP_VAR_<name>`, then `--var`; a
/// declared-sensitive variable with a default is a sensitive value.
#[test]
fn var_files_bp_var_and_var_win_in_that_order() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("bp.rhai"),
        "kms_key(var(\"a\"));\nkms_key(var(\"b\"));\nkms_key(var(\"c\"));\n\
         kms_key(\"k\", #{ tags: #{ s: var(\"s\", #{ sensitive: true, default: \"default-secret-1\" }) } });\n",
    )
    .unwrap();
    std::fs::write(
        d.join("one.json"),
        "{\"a\": \"json-a\", \"b\": \"json-b\", \"c\": \"json-c\"}\n",
    )
    .unwrap();
    std::fs::write(d.join("two.yaml"), "# later file\na: yaml-a\nb: yaml-b\n").unwrap();
    let out = Test::new()
        .current_dir(d)
        .env("BP_VAR_b", "env-b")
        .env("BP_VAR_a", "env-a")
        .args([
            "check",
            "bp.rhai",
            "--json",
            "--var-file",
            "one.json",
            "--var-file",
            "two.yaml",
            "--var",
            "a=flag-a",
        ])
        .run();
    let out = String::from_utf8_lossy(&out.stdout).to_string();
    for address in ["kms_key.flag-a", "kms_key.env-b", "kms_key.json-c"] {
        assert!(out.contains(address), "{address}:\n{out}");
    }
    assert!(!out.contains("default-secret-1"), "{out}");
    assert!(out.contains("\"$sensitive\": \"pbkdf2-sha256:"), "{out}");
    // Without BP_VAR_ and --var, the later file wins.
    let out = Test::new()
        .current_dir(d)
        .args([
            "check",
            "bp.rhai",
            "--json",
            "--var-file",
            "one.json",
            "--var-file",
            "two.yaml",
        ])
        .run();
    let out = String::from_utf8_lossy(&out.stdout).to_string();
    for address in ["kms_key.yaml-a", "kms_key.yaml-b", "kms_key.json-c"] {
        assert!(out.contains(address), "{address}:\n{out}");
    }
}
