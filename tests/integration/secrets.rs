//! `bp secrets`: sops-format files with age and KMS (on the emulator).

use crate::harness::Test;
use crate::moto::Moto;
use age::secrecy::ExposeSecret;
use std::process::Command;

const PLAIN: &str = "{\n\t\"db\": {\n\t\t\"user\": \"admin\",\n\t\t\"password\": \"hunter2-secret\",\n\t\t\"port\": 5432,\n\t\t\"tls\": true\n\t},\n\t\"hosts\": [\n\t\t\"a.example\",\n\t\t\"b.example\"\n\t],\n\t\"note_unencrypted\": \"visible\"\n}\n";

/// What the independent Python reader (age CLI + cryptography) makes of
/// an encrypted file in `dir`, decrypted with `dir/key.txt`.
fn independent_reading(dir: &std::path::Path, file: &str) -> serde_json::Value {
    let out = Command::new(crate::harness::repo().join(".venv/bin/python"))
        .arg(crate::harness::repo().join("tests/support/sops_check.py"))
        .arg(dir.join(file))
        .arg(dir.join("key.txt"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// A folder with files that lives until the returned guard is dropped.
fn workdir(files: &[(&str, &str)]) -> (tempfile::TempDir, std::path::PathBuf) {
    let d = tempfile::tempdir().unwrap();
    for (name, text) in files {
        std::fs::write(d.path().join(name), text).unwrap();
    }
    let p = d.path().to_path_buf();
    (d, p)
}

fn identity() -> (String, String) {
    let id = age::x25519::Identity::generate();
    (
        id.to_string().expose_secret().to_string(),
        id.to_public().to_string(),
    )
}

#[test]
fn age_round_trip_extract_and_outputs() {
    let (secret, recipient) = identity();
    let (_keep, dir) = workdir(&[("s.json", PLAIN)]);
    let out = Test::new()
        .current_dir(&dir)
        .args([
            "secrets",
            "encrypt",
            "s.json",
            "--age",
            &recipient,
            "-o",
            "s.enc.json",
        ])
        .run();
    assert!(out.stdout.is_empty());
    let enc = std::fs::read_to_string(dir.join("s.enc.json")).unwrap();
    for secret_text in ["hunter2-secret", "admin", "a.example"] {
        assert!(!enc.contains(secret_text), "{secret_text} in {enc}");
    }
    assert!(enc.contains("\"note_unencrypted\": \"visible\""));
    assert!(
        enc.contains("\"recipient\": \"") && enc.contains("-----BEGIN AGE ENCRYPTED FILE-----")
    );
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(dir.join("s.enc.json"))
            .unwrap()
            .permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);

    Test::new()
        .file("s.enc.json", &enc)
        .env("SOPS_AGE_KEY", &secret)
        .args(["secrets", "decrypt", "s.enc.json"])
        .stdout(PLAIN)
        .run();
    Test::new()
        .file("s.enc.json", &enc)
        .env("SOPS_AGE_KEY", &secret)
        .args([
            "secrets",
            "decrypt",
            "s.enc.json",
            "--extract",
            "[\"db\"][\"password\"]",
        ])
        .stdout("hunter2-secret")
        .run();
    // Without the identity: a clear error, and no plaintext anywhere.
    let (other, _) = identity();
    Test::new()
        .file("s.enc.json", &enc)
        .env("SOPS_AGE_KEY", &other)
        .args(["secrets", "decrypt", "s.enc.json"])
        .status(1)
        .stdout("")
        .stderr_contains("none of the file's master keys could be used")
        .stderr_contains("none of the 1 identities matches")
        .run();
}

#[test]
fn tampering_and_bad_input_fail_without_plaintext() {
    let (secret, recipient) = identity();
    let t = Test::new().file("s.json", PLAIN);
    let out = t
        .args(["secrets", "encrypt", "s.json", "--age", &recipient])
        .run();
    let enc = String::from_utf8(out.stdout).unwrap();
    // Flip one character inside the first encrypted value's data.
    let at = enc.find("data:").unwrap() + 6;
    let mut bytes = enc.clone().into_bytes();
    bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(bytes).unwrap();
    Test::new()
        .file("t.json", &tampered)
        .env("SOPS_AGE_KEY", &secret)
        .args(["secrets", "decrypt", "t.json", "-o", "out.json"])
        .status(1)
        .stdout("")
        .stderr_contains("could not be decrypted")
        .run();
    // An unencrypted value changed: the MAC no longer matches.
    Test::new()
        .file("t.json", &enc.replace("\"visible\"", "\"changed\""))
        .env("SOPS_AGE_KEY", &secret)
        .args(["secrets", "decrypt", "t.json"])
        .status(1)
        .stdout("")
        .stderr_contains("the MAC does not match")
        .run();
    Test::new()
        .file("p.json", PLAIN)
        .args(["secrets", "decrypt", "p.json"])
        .status(1)
        .stderr_contains("not a sops file")
        .run();
    Test::new()
        .file("p.json", &enc)
        .args(["secrets", "encrypt", "p.json", "--age", &recipient])
        .status(1)
        .stderr_contains("already encrypted")
        .run();
    Test::new()
        .file("p.txt", "a=1\n")
        .args(["secrets", "encrypt", "p.txt", "--age", &recipient])
        .status(1)
        .stderr_contains("unsupported format: use a .yaml, .yml or .json file")
        .run();
    Test::new()
        .file("p.yaml", "a: &anchor 1\n")
        .args(["secrets", "encrypt", "p.yaml", "--age", &recipient])
        .status(1)
        .stderr_contains("anchors, aliases and tags are not supported")
        .run();
    Test::new()
        .file("p.json", PLAIN)
        .args(["secrets", "encrypt", "p.json", "--age", "age1notarecipient"])
        .status(1)
        .stderr_contains("is not an age X25519 recipient")
        .run();
}

#[test]
fn rotate_and_edit() {
    let (secret, recipient) = identity();
    let (_keep, dir) = workdir(&[("s.json", PLAIN)]);
    Test::new()
        .current_dir(&dir)
        .args(["secrets", "encrypt", "s.json", "--age", &recipient, "-i"])
        .run();
    let first = std::fs::read_to_string(dir.join("s.json")).unwrap();
    Test::new()
        .current_dir(&dir)
        .env("SOPS_AGE_KEY", &secret)
        .args(["secrets", "rotate", "s.json", "-i"])
        .run();
    let rotated = std::fs::read_to_string(dir.join("s.json")).unwrap();
    assert_ne!(first, rotated);
    let enc_of = |t: &str| {
        t.lines()
            .find(|l| l.contains("-----BEGIN AGE"))
            .map(String::from)
    };
    assert_ne!(
        enc_of(&first),
        enc_of(&rotated),
        "a new data key is wrapped again"
    );
    // An editor that changes nothing leaves the file as it is.
    Test::new()
        .current_dir(&dir)
        .env("SOPS_AGE_KEY", &secret)
        .env("EDITOR", "true")
        .args(["secrets", "edit", "s.json"])
        .stderr_contains("no changes")
        .run();
    assert_eq!(
        std::fs::read_to_string(dir.join("s.json")).unwrap(),
        rotated
    );
    // An editor that changes a value: re-encrypted, readable, and no
    // plaintext left behind in the temporary folder.
    let script = dir.join("ed.sh");
    crate::harness::executable(&script, "#!/bin/sh\necho \"$1\" > \"$(dirname \"$0\")/edited-path\"\nsed -i 's/hunter2-secret/n3w-s3cret/' \"$1\"\n");
    Test::new()
        .current_dir(&dir)
        .env("SOPS_AGE_KEY", &secret)
        .env("EDITOR", script.to_str().unwrap())
        .args(["secrets", "edit", "s.json"])
        .stderr_contains("re-encrypted")
        .run();
    let edited = std::fs::read_to_string(dir.join("s.json")).unwrap();
    assert!(!edited.contains("n3w-s3cret"));
    let tmp = std::fs::read_to_string(dir.join("edited-path")).unwrap();
    assert!(
        !std::path::Path::new(tmp.trim()).exists(),
        "temporary plaintext left at {tmp}"
    );
    Test::new()
        .current_dir(&dir)
        .env("SOPS_AGE_KEY", &secret)
        .args([
            "secrets",
            "decrypt",
            "s.json",
            "--extract",
            "[\"db\"][\"password\"]",
        ])
        .stdout("n3w-s3cret")
        .run();
}

#[test]
fn kms_with_and_without_an_encryption_context() {
    let moto = Moto::start();
    let arn = moto.create_kms_key();
    assert!(arn.starts_with("arn:aws:kms:us-east-1:"), "{arn}");
    for context in [None, Some("app=blueprint")] {
        let mut args = vec![
            "secrets",
            "encrypt",
            "s.json",
            "--kms",
            &arn,
            "-o",
            "s.enc.json",
        ];
        if let Some(c) = context {
            args.extend(["--encryption-context", c]);
        }
        let (_keep, dir) = workdir(&[("s.json", PLAIN)]);
        Test::new().current_dir(&dir).moto(&moto).args(args).run();
        let enc = std::fs::read_to_string(dir.join("s.enc.json")).unwrap();
        assert!(enc.contains(&format!("\"arn\": \"{arn}\"")));
        Test::new()
            .current_dir(&dir)
            .moto(&moto)
            .args(["secrets", "decrypt", "s.enc.json"])
            .stdout(PLAIN)
            .run();
        if context.is_some() {
            // A different context is refused by KMS.
            std::fs::write(
                dir.join("bad.json"),
                enc.replace("\"app\": \"blueprint\"", "\"app\": \"other\""),
            )
            .unwrap();
            Test::new()
                .current_dir(&dir)
                .moto(&moto)
                .args(["secrets", "decrypt", "bad.json"])
                .status(1)
                .stdout("")
                .stderr_contains("KMS Decrypt with")
                .run();
        }
    }
}

/// A file made by `bp secrets` reads back with independent tools: the
/// `age` command line unwraps the data key, and a small Python reader
/// (the `cryptography` package) decrypts every value and checks the MAC.
#[test]
fn interoperates_with_age_and_an_independent_reader() {
    let (secret, recipient) = identity();
    let (_keep, dir) = workdir(&[("s.json", PLAIN), ("key.txt", &format!("{secret}\n"))]);
    Test::new()
        .current_dir(&dir)
        .args([
            "secrets",
            "encrypt",
            "s.json",
            "--age",
            &recipient,
            "-o",
            "s.enc.json",
        ])
        .run();
    let age_cli = Command::new("age").arg("--version").output();
    assert!(
        age_cli.is_ok(),
        "the age command is missing: run scripts/setup.sh"
    );
    let theirs = independent_reading(&dir, "s.enc.json");
    let ours: serde_json::Value = serde_json::from_str(PLAIN).unwrap();
    assert_eq!(theirs, ours);
}

const SECRET_DOC: &str = "{\"owner\": \"owner-PLAINTEXT-1\", \"token\": \"token-PLAINTEXT-2\", \"db\": {\"password\": \"password-PLAINTEXT-3\"}}";
const LEAK_BP: &str = r#"
let s = sops_file("secrets.enc.json");
print(s);
debug(s.db.password);
s3_bucket("leak-test-bucket", #{ tags: #{ owner: s.owner, token: "x-" + s.token } });
kms_key("leak-key", #{ tags: #{ db: s.db.password } });
"#;

fn assert_clean(what: &str, text: &str) {
    for p in ["PLAINTEXT", "owner-P", "token-P", "password-P"] {
        assert!(!text.contains(p), "{what} shows a secret:\n{text}");
    }
}

/// Secrets from sops_file never appear in check, graph, plan (human,
/// JSON, saved), apply, the REPL or error messages; a changed secret still
/// shows as a change; a saved plan with secrets applies by re-evaluating.
#[test]
fn secrets_never_leak() {
    let moto = Moto::start();
    let (secret, recipient) = identity();
    let (_keep, dir) = workdir(&[("secrets.json", SECRET_DOC), ("bp.rhai", LEAK_BP)]);
    let run = |args: &[&str], status: i32| {
        let out = Test::new()
            .current_dir(&dir)
            .moto(&moto)
            .env("SOPS_AGE_KEY", &secret)
            .args(args.iter().copied())
            .status(status)
            .run();
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_clean(&args.join(" "), &all);
        all
    };
    run(
        &[
            "secrets",
            "encrypt",
            "secrets.json",
            "--age",
            &recipient,
            "-o",
            "secrets.enc.json",
        ],
        0,
    );
    std::fs::remove_file(dir.join("secrets.json")).unwrap();

    let out = run(&["check", "bp.rhai"], 0);
    assert!(out.contains("(sensitive)"), "{out}");
    // check reads the file sealed: values stay encrypted and unknown.
    let out = run(&["check", "bp.rhai", "--json"], 0);
    assert!(out.contains("\"$sensitive\": \"sealed-sha256:"), "{out}");
    let out = run(&["plan", "bp.rhai", "--json"], 0);
    assert!(out.contains("hmac-sha256:"), "{out}");
    run(&["graph", "bp.rhai"], 0);
    let out = run(&["plan", "bp.rhai", "--detailed-exitcode"], 2);
    assert!(out.contains("tags.db = (sensitive)"), "{out}");
    run(&["plan", "bp.rhai", "--json"], 0);
    run(&["plan", "bp.rhai", "-o", "plan.json"], 0);
    assert_clean(
        "the saved plan",
        &std::fs::read_to_string(dir.join("plan.json")).unwrap(),
    );
    // The saved plan holds only hashes: applying it evaluates the blueprint
    // again and checks them.
    run(&["apply", "plan.json"], 0);
    let out = run(&["plan", "bp.rhai", "--detailed-exitcode"], 0);
    assert!(out.contains("No changes."), "{out}");

    // The REPL echoes secrets as (sensitive), and errors do not show them.
    let out = Test::new()
        .current_dir(&dir)
        .env("SOPS_AGE_KEY", &secret)
        .args(["repl"])
        .stdin("let s = sops_file(\"secrets.enc.json\");\ns\ns.db.password\ns.owner + \"!\"\nkms_key(s.token);\n")
        .status(1)
        .run();
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_clean("the REPL", &all);
    assert!(
        all.contains("the name given to kms_key must be a string, but it is a sensitive value"),
        "{all}"
    );

    // A changed secret is a change, shown without its values.
    let changed = SECRET_DOC.replace("password-PLAINTEXT-3", "password-PLAINTEXT-4");
    std::fs::write(dir.join("secrets.json"), changed).unwrap();
    run(
        &[
            "secrets",
            "encrypt",
            "secrets.json",
            "--age",
            &recipient,
            "-o",
            "secrets.enc.json",
        ],
        0,
    );
    let out = run(&["plan", "bp.rhai", "--detailed-exitcode"], 2);
    assert!(out.contains("~ kms_key.leak-key"), "{out}");
    assert!(out.contains("tags.db: (sensitive) -> (sensitive)"), "{out}");
    // The old saved plan no longer matches the blueprint's secrets.
    let out = run(&["apply", "plan.json"], 1);
    assert!(
        out.contains("or its secrets changed since the plan"),
        "{out}"
    );
}

const PLAIN_YAML: &str = "\
# database settings
db:
    user: admin
    password: hunter2-secret
    port: 5432
    ratio: 0.25
    tls: true
    # the API key
    api: \"k: v\"
hosts:
    - a.example
    # the second host
    - name: b
      pw_unencrypted: visible
nothing: null
";

/// YAML with comments: values and comments are encrypted (comments as
/// `#ENC[...]`), the text comes back byte for byte, and the independent
/// reader agrees on every value and the MAC.
#[test]
fn yaml_with_comments_round_trips_and_interoperates() {
    let (secret, recipient) = identity();
    let (_keep, dir) = workdir(&[("s.yaml", PLAIN_YAML), ("key.txt", &format!("{secret}\n"))]);
    Test::new()
        .current_dir(&dir)
        .args([
            "secrets",
            "encrypt",
            "s.yaml",
            "--age",
            &recipient,
            "-o",
            "s.enc.yaml",
        ])
        .run();
    let enc = std::fs::read_to_string(dir.join("s.enc.yaml")).unwrap();
    for plain in [
        "hunter2-secret",
        "database settings",
        "the API key",
        "second host",
        "admin",
    ] {
        assert!(!enc.contains(plain), "{plain} in {enc}");
    }
    assert!(enc.starts_with("#ENC[AES256_GCM,"), "{enc}");
    assert!(enc.contains("type:comment]"));
    assert!(enc.contains("      pw_unencrypted: visible\n"));
    assert!(
        enc.contains("\nsops:\n    age:\n        - enc: |\n"),
        "{enc}"
    );
    Test::new()
        .current_dir(&dir)
        .env("SOPS_AGE_KEY_FILE", dir.join("key.txt").to_str().unwrap())
        .args(["secrets", "decrypt", "s.enc.yaml"])
        .stdout(PLAIN_YAML)
        .run();
    let theirs = independent_reading(&dir, "s.enc.yaml");
    assert_eq!(theirs["db"]["password"], "hunter2-secret");
    assert_eq!(theirs["db"]["ratio"], 0.25);
    assert_eq!(theirs["hosts"][1]["pw_unencrypted"], "visible");
}

const BLOCKS_YAML: &str = "\
# deploy settings
app:
    name: demo   # shown in the console
    password: hunter2-secret
    motd: |
        Welcome!

        Be nice.
    banner: |-
        no final
        line break
    padding: |+
        two breaks

    quoted: 'single'
    note_unencrypted: |
        stays

        in clear
hosts:
    - a.example # primary
    - b.example
";

/// YAML is encrypted and decrypted in place: block scalars with blank lines
/// in them, `|-` and `|+`, trailing comments and quotes come back byte for
/// byte; editing one value changes only that value's line, the MAC and
/// lastmodified in the encrypted file.
#[test]
fn yaml_keeps_its_layout_and_edits_change_only_what_was_edited() {
    let (secret, recipient) = identity();
    let (_keep, dir) = workdir(&[("s.yaml", BLOCKS_YAML), ("key.txt", &format!("{secret}\n"))]);
    Test::new()
        .current_dir(&dir)
        .args(["secrets", "encrypt", "s.yaml", "--age", &recipient, "-i"])
        .run();
    let enc = std::fs::read_to_string(dir.join("s.yaml")).unwrap();
    for plain in [
        "hunter2",
        "Welcome",
        "shown in the console",
        "primary",
        "a.example",
        "single",
    ] {
        assert!(!enc.contains(plain), "{plain} in {enc}");
    }
    assert!(enc.contains("\n    name: ENC[AES256_GCM,"), "{enc}");
    assert!(enc.contains(",type:str]   #ENC[AES256_GCM,"), "{enc}");
    assert!(enc.contains("\n    quoted: 'ENC[AES256_GCM,"), "{enc}");
    assert!(
        enc.contains("\n    note_unencrypted: |\n        stays\n\n        in clear\nhosts:\n"),
        "{enc}"
    );
    Test::new()
        .current_dir(&dir)
        .env("SOPS_AGE_KEY", &secret)
        .args(["secrets", "decrypt", "s.yaml"])
        .stdout(BLOCKS_YAML)
        .run();
    let theirs = independent_reading(&dir, "s.yaml");
    assert_eq!(theirs["app"]["motd"], "Welcome!\n\nBe nice.\n");
    assert_eq!(theirs["app"]["padding"], "two breaks\n\n");

    let script = dir.join("ed.sh");
    crate::harness::executable(
        &script,
        "#!/bin/sh\nsed -i 's/hunter2-secret/n3w-s3cret/' \"$1\"\n",
    );
    Test::new()
        .current_dir(&dir)
        .env("SOPS_AGE_KEY", &secret)
        .env("EDITOR", script.to_str().unwrap())
        .args(["secrets", "edit", "s.yaml"])
        .stderr_contains("re-encrypted")
        .run();
    let edited = std::fs::read_to_string(dir.join("s.yaml")).unwrap();
    assert_eq!(enc.lines().count(), edited.lines().count());
    let changed: Vec<(&str, &str)> = enc
        .lines()
        .zip(edited.lines())
        .filter(|(a, b)| a != b)
        .collect();
    // lastmodified has seconds: it may not change within one second.
    assert!(changed.len() == 2 || changed.len() == 3, "{changed:#?}");
    assert!(
        changed[0].0.starts_with("    password: ENC["),
        "{changed:#?}"
    );
    for (before, _) in &changed[1..] {
        assert!(
            before.starts_with("    lastmodified: ") || before.starts_with("    mac: "),
            "{changed:#?}"
        );
    }
    Test::new()
        .current_dir(&dir)
        .env("SOPS_AGE_KEY", &secret)
        .args(["secrets", "decrypt", "s.yaml"])
        .stdout(&BLOCKS_YAML.replace("hunter2-secret", "n3w-s3cret"))
        .run();
}

/// Files made by the original sops (1.18, the Python implementation of the
/// format) decrypt with Blueprint, and the other way round, with KMS keys on
/// the emulator.
#[test]
fn interoperates_with_the_original_sops() {
    let sops = crate::harness::repo().join(".venv-sops/bin/sops");
    assert!(
        sops.exists(),
        "{} is missing: run scripts/setup.sh",
        sops.display()
    );
    let moto = Moto::start();
    let arn = moto.create_kms_key();
    let plain = "db:\n    user: admin\n    password: hunter2-secret\n    port: 5432\n    ratio: 0.5\n    tls: true\nhosts:\n    - a\n    - b\n";
    let (_keep, dir) = workdir(&[("p.yaml", plain)]);
    let sops_cmd = |args: &[&str]| {
        let mut c = Command::new(&sops);
        c.args(args).current_dir(&dir);
        for (k, v) in moto.env() {
            c.env(k, v);
        }
        c.env("AWS_DEFAULT_REGION", "us-east-1");
        c.output().unwrap()
    };
    // sops encrypts, Blueprint decrypts.
    let out = sops_cmd(&["--kms", &arn, "-e", "p.yaml"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::write(dir.join("theirs.enc.yaml"), &out.stdout).unwrap();
    // Decrypted in place, the text keeps sops' layout (`-   a` items):
    // compare what it says.
    let out = Test::new()
        .current_dir(&dir)
        .moto(&moto)
        .args(["secrets", "decrypt", "theirs.enc.yaml"])
        .run();
    let ours = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        blueprint::sops::yaml::parse(&ours).unwrap(),
        blueprint::sops::yaml::parse(plain).unwrap(),
        "{ours}"
    );
    // Blueprint encrypts, sops decrypts.
    Test::new()
        .current_dir(&dir)
        .moto(&moto)
        .args([
            "secrets",
            "encrypt",
            "p.yaml",
            "--kms",
            &arn,
            "-o",
            "ours.enc.yaml",
        ])
        .run();
    let out = sops_cmd(&["-d", "ours.enc.yaml"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("password: hunter2-secret") && text.contains("ratio: 0.5"),
        "{text}"
    );
}

/// The tag values of every KMS key on the emulator, read with boto3.
fn kms_tags(moto: &Moto) -> serde_json::Value {
    let script = format!(
        "import boto3, json\n\
c = boto3.client('kms', endpoint_url='{}', region_name='us-east-1', aws_access_key_id='t', aws_secret_access_key='t')\n\
print(json.dumps({{t['TagKey']: t['TagValue'] for k in c.list_keys()['Keys'] for t in c.list_resource_tags(KeyId=k['KeyId'])['Tags']}}))",
        moto.url
    );
    let out = Command::new(crate::harness::repo().join(".venv/bin/python"))
        .args(["-c", &script])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// sops_file reads YAML files (the usual form of sops and helm-secrets
/// files), comments and block scalars included: their values stay
/// sensitive in the output and reach AWS exactly.
#[test]
fn sops_file_reads_yaml() {
    let moto = Moto::start();
    let (secret, recipient) = identity();
    let plain = "# database access\ndb:\n  user: app  # the role\n  password: yaml-PLAINTEXT-9\ncert: |\n  line one\n\n  line three\n";
    let (_keep, dir) = workdir(&[("s.yaml", plain)]);
    Test::new()
        .current_dir(&dir)
        .args([
            "secrets",
            "encrypt",
            "s.yaml",
            "--age",
            &recipient,
            "-o",
            "s.enc.yaml",
        ])
        .run();
    std::fs::write(
        dir.join("bp.rhai"),
        r#"
let s = sops_file("s.enc.yaml");
kms_key("k", #{ tags: #{ user: s.db.user, password: s.db.password, cert: s.cert } });
"#,
    )
    .unwrap();
    let out = Test::new()
        .current_dir(&dir)
        .moto(&moto)
        .env("SOPS_AGE_KEY", &secret)
        .args(["apply", "bp.rhai", "--auto-approve"])
        .run();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!text.contains("yaml-PLAINTEXT-9"), "{text}");
    let tags = kms_tags(&moto);
    assert_eq!(tags["user"], "app", "{tags}");
    assert_eq!(tags["password"], "yaml-PLAINTEXT-9", "{tags}");
    assert_eq!(tags["cert"], "line one\n\nline three\n", "{tags}");
}

/// `bp check` and `bp graph` need no key and no AWS: a KMS-encrypted file
/// is read sealed (its form and metadata checked, nothing decrypted).
/// `bp plan` decrypts with the command's own AWS settings: an
/// `--endpoint-url` flag wins over the environment, as for every other call.
#[test]
fn check_needs_no_aws_and_plan_decrypts_with_the_commands_settings() {
    let moto = Moto::start();
    let arn = moto.create_kms_key();
    let (_keep, dir) = workdir(&[
        ("s.json", "{\"token\": \"kms-PLAINTEXT-7\"}"),
        (
            "bp.rhai",
            "let s = sops_file(\"s.enc.json\");\nkms_key(\"k\", #{ tags: #{ token: s.token } });\n",
        ),
    ]);
    Test::new()
        .current_dir(&dir)
        .moto(&moto)
        .args([
            "secrets",
            "encrypt",
            "s.json",
            "--kms",
            &arn,
            "-o",
            "s.enc.json",
        ])
        .run();
    // A dead endpoint: any AWS call would fail.
    let dead = "http://127.0.0.1:9";
    for args in [["check", "bp.rhai"], ["graph", "bp.rhai"]] {
        Test::new()
            .current_dir(&dir)
            .env("AWS_ENDPOINT_URL", dead)
            .env("AWS_ACCESS_KEY_ID", "t")
            .env("AWS_SECRET_ACCESS_KEY", "t")
            .args(args)
            .run();
    }
    // A file that is not sops is still an error in check.
    std::fs::write(dir.join("plain.json"), "{\"a\": 1}").unwrap();
    std::fs::write(dir.join("bad.rhai"), "let s = sops_file(\"plain.json\");\n").unwrap();
    Test::new()
        .current_dir(&dir)
        .args(["check", "bad.rhai"])
        .status(1)
        .stderr_contains("sops_file \"plain.json\"")
        .run();

    let mut plan = Test::new().current_dir(&dir);
    for (k, v) in moto.env() {
        if k != "AWS_ENDPOINT_URL" {
            plan = plan.env(k, &v);
        }
    }
    let out = plan
        .env("AWS_ENDPOINT_URL", dead)
        .args(["plan", "bp.rhai", "--json", "--endpoint-url", &moto.url])
        .run();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("hmac-sha256:"), "{text}");
    assert!(!text.contains("kms-PLAINTEXT-7"), "{text}");
}
