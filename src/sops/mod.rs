//! SOPS-compatible encrypted files (format 3.x). See docs/SOPS-FORMAT.md
//! for the format facts this follows.
//!
//! The value cipher, the tree with its rules and MAC, the metadata block,
//! age and KMS key wrapping, and whole documents in YAML (comments kept and
//! encrypted) and JSON. Not supported: several key groups (Shamir), PGP and
//! the other master-key kinds, dotenv, and several YAML documents per file.

pub mod cipher;
pub mod json;
pub mod keys;
pub mod metadata;
pub mod tree;
pub mod yaml;

pub use cipher::{Plain, SopsError};
pub use keys::KmsAccess;
pub use metadata::Metadata;
pub use tree::{Node, Rule};

use std::collections::BTreeMap;

/// Errors of encrypted documents. None of them carries plaintext.
#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    #[error(transparent)]
    Value(#[from] SopsError),
    #[error("this is not a sops file: it has no `sops` metadata")]
    NotSops,
    #[error("the file is already encrypted (it has `sops` metadata)")]
    AlreadyEncrypted,
    #[error("bad sops metadata: {0}")]
    Metadata(String),
    #[error("{0}")]
    Key(String),
    #[error("none of the file's master keys could be used:\n{0}")]
    NoKey(String),
    #[error("the MAC does not match: the file was altered, or decrypted with the wrong key")]
    MacMismatch,
    #[error("not supported: {0}")]
    Unsupported(String),
}

/// Who can read a file: age recipients and KMS keys with their contexts.
#[derive(Clone, Debug, Default)]
pub struct Recipients {
    pub age: Vec<String>,
    pub kms: Vec<(String, BTreeMap<String, String>)>,
}

impl Recipients {
    pub fn of(meta: &Metadata) -> Recipients {
        Recipients {
            age: meta.age.iter().map(|a| a.recipient.clone()).collect(),
            kms: meta
                .kms
                .iter()
                .map(|k| (k.arn.clone(), k.context.clone()))
                .collect(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.age.is_empty() && self.kms.is_empty()
    }
}

fn random_key() -> [u8; 32] {
    use aes_gcm::aead::rand_core::RngCore;
    let mut k = [0u8; 32];
    aes_gcm::aead::OsRng.fill_bytes(&mut k);
    k
}

/// Encrypts a plaintext document for `recipients`. `data_key` keeps an
/// existing key (editing); otherwise a new random one is made.
pub async fn encrypt(
    plain: &Node,
    recipients: &Recipients,
    rule: Rule,
    access: &KmsAccess,
    data_key: Option<[u8; 32]>,
) -> Result<Node, SecretsError> {
    let Node::Map(entries) = plain else {
        return Err(SecretsError::Unsupported(
            "a document whose top level is not a mapping".into(),
        ));
    };
    if entries.iter().any(|(k, _)| k == "sops") {
        return Err(SecretsError::AlreadyEncrypted);
    }
    if recipients.is_empty() {
        return Err(SecretsError::Key(
            "no master key: give --age RECIPIENT or --kms ARN".into(),
        ));
    }
    let key = data_key.unwrap_or_else(random_key);
    let (tree, mac) = tree::encrypt(plain, &key, &rule, false)?;
    let now = keys::rfc3339_now();
    let mut meta = Metadata {
        lastmodified: now.clone(),
        mac: tree::seal_mac(&key, &mac, &now),
        version: metadata::VERSION.to_string(),
        rule,
        ..Metadata::default()
    };
    for r in &recipients.age {
        meta.age.push(keys::age_wrap(r, &key)?);
    }
    for (arn, context) in &recipients.kms {
        meta.kms
            .push(keys::kms_wrap(access, arn, context, &key, &now).await?);
    }
    let Node::Map(mut out) = tree else {
        unreachable!("encrypting a mapping gives a mapping")
    };
    out.push(("sops".into(), meta.to_node()));
    Ok(Node::Map(out))
}

/// The data key of a file, from the first master key that opens it.
pub async fn data_key(meta: &Metadata, access: &KmsAccess) -> Result<[u8; 32], SecretsError> {
    let mut failures = Vec::new();
    if !meta.age.is_empty() {
        let ids = keys::age_identities()?;
        for a in &meta.age {
            match keys::age_unwrap(a, &ids) {
                Some(k) => return Ok(k),
                None if ids.is_empty() => failures.push(format!(
                    "  age {}: no age identity (set SOPS_AGE_KEY_FILE or SOPS_AGE_KEY)",
                    a.recipient
                )),
                None => failures.push(format!(
                    "  age {}: none of the {} identities matches",
                    a.recipient,
                    ids.len()
                )),
            }
        }
    }
    for k in &meta.kms {
        match keys::kms_unwrap(access, k).await {
            Ok(key) => return Ok(key),
            Err(e) => failures.push(format!("  kms {}: {e}", k.arn)),
        }
    }
    Err(SecretsError::NoKey(failures.join("\n")))
}

/// Decrypts a document and checks its MAC. Returns the plaintext, the
/// data key and the metadata (for editing and rotating).
pub async fn decrypt(
    doc: &Node,
    access: &KmsAccess,
) -> Result<(Node, [u8; 32], Metadata), SecretsError> {
    let mut doc = doc.clone();
    let meta = Metadata::extract(&mut doc)?;
    let key = data_key(&meta, access).await?;
    let plain = decrypt_with(&doc, &meta, &key)?;
    Ok((plain, key, meta))
}

/// Decrypts a document (without its `sops` entry) with a known data key.
pub fn decrypt_with(doc: &Node, meta: &Metadata, key: &[u8; 32]) -> Result<Node, SecretsError> {
    let (plain, mac) = tree::decrypt(doc, key, &meta.rule, meta.mac_only_encrypted)?;
    let stored = tree::open_mac(key, &meta.mac, &meta.lastmodified)
        .map_err(|_| SecretsError::MacMismatch)?;
    if stored != mac {
        return Err(SecretsError::MacMismatch);
    }
    Ok(plain)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc() -> Node {
        json::parse(r#"{"db": {"user": "admin", "password": "hunter2", "port": 5432}, "hosts": ["a", "b"], "note_unencrypted": "hi"}"#).unwrap()
    }

    fn with_identity<T>(id: &age::x25519::Identity, f: impl FnOnce() -> T) -> T {
        use age::secrecy::ExposeSecret;
        // Tests in this module share the process environment: keep it to this one.
        static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
        std::env::set_var("SOPS_AGE_KEY", id.to_string().expose_secret());
        std::env::set_var("XDG_CONFIG_HOME", "/nonexistent");
        let out = f();
        std::env::remove_var("SOPS_AGE_KEY");
        out
    }

    fn block<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn age_round_trip_and_tamper_detection() {
        let id = age::x25519::Identity::generate();
        let recipients = Recipients {
            age: vec![id.to_public().to_string()],
            kms: vec![],
        };
        let access = KmsAccess::default();
        let enc = block(encrypt(&doc(), &recipients, Rule::Default, &access, None)).unwrap();
        let text = json::emit(&enc);
        assert!(
            !text.contains("hunter2") && !text.contains("admin"),
            "{text}"
        );
        assert!(text.contains("\"note_unencrypted\": \"hi\""));
        let (plain, _, meta) = with_identity(&id, || block(decrypt(&enc, &access))).unwrap();
        assert_eq!(plain, doc());
        assert_eq!(meta.age.len(), 1);

        // A value moved to another key fails (its key path is the AAD).
        let swapped = text.replacen("\"user\"", "\"userx\"", 1);
        let err = with_identity(&id, || {
            block(decrypt(&json::parse(&swapped).unwrap(), &access))
        })
        .unwrap_err();
        assert!(
            matches!(err, SecretsError::Value(SopsError::Decrypt)),
            "{err}"
        );
        // An unencrypted value changed breaks the MAC.
        let changed = text.replace(
            "\"note_unencrypted\": \"hi\"",
            "\"note_unencrypted\": \"ho\"",
        );
        let err = with_identity(&id, || {
            block(decrypt(&json::parse(&changed).unwrap(), &access))
        })
        .unwrap_err();
        assert!(matches!(err, SecretsError::MacMismatch), "{err}");
        // Without the identity, the error names the key and the remedy.
        let other = age::x25519::Identity::generate();
        let err = with_identity(&other, || block(decrypt(&enc, &access))).unwrap_err();
        assert!(
            err.to_string().contains("none of the 1 identities matches"),
            "{err}"
        );
        // Encrypting twice is refused; a file without metadata is not sops.
        assert!(matches!(
            block(encrypt(&enc, &recipients, Rule::Default, &access, None)),
            Err(SecretsError::AlreadyEncrypted)
        ));
        assert!(matches!(
            block(decrypt(&doc(), &access)),
            Err(SecretsError::NotSops)
        ));
    }
}
