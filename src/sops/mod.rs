//! SOPS-compatible encrypted files (format 3.x). See docs/SOPS-FORMAT.md
//! for the format facts this follows.
//!
//! The value cipher, the tree with its rules and MAC, the metadata block,
//! age and KMS key wrapping, and whole documents in YAML (comments kept and
//! encrypted) and JSON. YAML documents are encrypted, decrypted and
//! re-encrypted as text (`encrypt_yaml`, `decrypt_yaml`, `reencrypt_yaml`):
//! only values, comments and the `sops` entry change, and after an edit
//! only what was edited. Not supported: several key groups (Shamir), PGP
//! and the other master-key kinds, dotenv, and several YAML documents per
//! file.

pub mod cipher;
pub mod json;
pub mod keys;
pub mod metadata;
pub mod tree;
pub mod yaml;
#[cfg(test)]
mod yaml_suite;

pub use cipher::{Plain, SopsError};
pub use keys::KmsAccess;
pub use metadata::Metadata;
pub use tree::{Node, Rule};

use std::collections::{BTreeMap, HashMap, VecDeque};

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
    #[error(transparent)]
    Yaml(#[from] yaml::YamlError),
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

/// A plaintext document can be encrypted for `recipients`: its top level
/// is a mapping without a `sops` entry, and there is a master key.
fn check_plain(plain: &Node, recipients: &Recipients) -> Result<(), SecretsError> {
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
    Ok(())
}

/// The metadata of a newly encrypted document: the MAC sealed under a new
/// `lastmodified`, the data key wrapped for every recipient.
async fn new_metadata(
    mac: &str,
    key: &[u8; 32],
    rule: Rule,
    recipients: &Recipients,
    access: &KmsAccess,
) -> Result<Metadata, SecretsError> {
    let now = keys::rfc3339_now();
    let mut meta = Metadata {
        lastmodified: now.clone(),
        mac: tree::seal_mac(key, mac, &now),
        version: metadata::VERSION.to_string(),
        rule,
        ..Metadata::default()
    };
    for r in &recipients.age {
        meta.age.push(keys::age_wrap(r, key)?);
    }
    for (arn, context) in &recipients.kms {
        meta.kms
            .push(keys::kms_wrap(access, arn, context, key, &now).await?);
    }
    Ok(meta)
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
    check_plain(plain, recipients)?;
    let key = data_key.unwrap_or_else(random_key);
    let (tree, mac) = tree::encrypt(plain, &key, &rule, false)?;
    let meta = new_metadata(&mac, &key, rule, recipients, access).await?;
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

/// The encrypted text of each value of a file, by key path and plaintext.
/// A value encrypted again at the same key path with the same plaintext
/// takes its old text, as sops keeps the IV of unchanged values, so that
/// re-encrypting after an edit changes only what was edited. Each old text
/// is used once, in document order.
#[derive(Default)]
pub struct Stash(HashMap<(String, &'static str, Vec<u8>), VecDeque<String>>);

impl Stash {
    fn slot(aad: &str, plain: &Plain) -> (String, &'static str, Vec<u8>) {
        (aad.to_string(), plain.type_name(), plain.to_bytes())
    }

    fn keep(&mut self, aad: &str, plain: &Plain, sealed: &str) {
        self.0
            .entry(Self::slot(aad, plain))
            .or_default()
            .push_back(sealed.to_string());
    }

    fn take(&mut self, aad: &str, plain: &Plain) -> Option<String> {
        self.0.get_mut(&Self::slot(aad, plain))?.pop_front()
    }
}

/// A YAML document decrypted as text, by [`decrypt_yaml`].
pub struct DecryptedYaml {
    /// The file's text without its `sops` entry, each encrypted value and
    /// comment replaced by its plaintext.
    pub text: String,
    pub key: [u8; 32],
    pub meta: Metadata,
    /// The `sops` entry as the file had it.
    pub sops: String,
    /// The encrypted text of every value, for [`reencrypt_yaml`].
    pub stash: Stash,
}

/// Replaces each value the rule selects, and each comment, by its
/// encrypted text, in place (see `yaml::rewrite`); a value the stash has
/// keeps its old text.
fn seal_yaml(
    text: &str,
    key: &[u8; 32],
    rule: &Rule,
    stash: &mut Stash,
) -> Result<String, SecretsError> {
    yaml::rewrite(text, |path, p| {
        if !rule.encrypts(path)? {
            return Ok(None);
        }
        let aad = tree::aad(path);
        let sealed = stash
            .take(&aad, p)
            .unwrap_or_else(|| cipher::encrypt(key, p, &aad, None));
        Ok(Some(match p {
            Plain::Comment(_) => Plain::Comment(sealed),
            _ => Plain::Str(sealed),
        }))
    })
}

/// Whether two trees hold the same values (NaN equal to NaN).
fn same(a: &Node, b: &Node) -> bool {
    match (a, b) {
        (Node::Map(x), Node::Map(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|((kx, vx), (ky, vy))| kx == ky && same(vx, vy))
        }
        (Node::List(x), Node::List(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same(p, q))
        }
        (Node::Leaf(p), Node::Leaf(q)) => {
            p.type_name() == q.type_name() && p.to_bytes() == q.to_bytes()
        }
        (Node::Null, Node::Null) => true,
        _ => false,
    }
}

/// Checks that a YAML text written by this module reads back, with `key`,
/// as `plain`: a file that would not is never written.
fn check_yaml(text: &str, key: &[u8; 32], plain: &Node) -> Result<(), SecretsError> {
    let mut doc = yaml::parse(text)?;
    let meta = Metadata::extract(&mut doc)?;
    if !same(&decrypt_with(&doc, &meta, key)?, plain) {
        return Err(SecretsError::Unsupported(
            "this YAML layout: the encrypted text does not read back as the plaintext (please report it)".into(),
        ));
    }
    Ok(())
}

/// Encrypts a plaintext YAML document for `recipients`, as text: each
/// value the rule selects and each comment is replaced in place by its
/// `ENC[…]`, so block scalars, blank lines, comments, quotes, indentation
/// and key order stay as they are; the `sops` entry is added at the end.
pub async fn encrypt_yaml(
    text: &str,
    recipients: &Recipients,
    rule: Rule,
    access: &KmsAccess,
) -> Result<String, SecretsError> {
    let plain = yaml::parse(text)?;
    check_plain(&plain, recipients)?;
    let key = random_key();
    let mac = tree::mac(&plain, &rule, false)?;
    let body = seal_yaml(text, &key, &rule, &mut Stash::default())?;
    let meta = new_metadata(&mac, &key, rule, recipients, access).await?;
    let out = yaml::append_entry(&body, "sops", &meta.to_node())?;
    check_yaml(&out, &key, &plain)?;
    Ok(out)
}

/// Decrypts a YAML document as text, once its MAC is checked: the `sops`
/// entry is taken out and each encrypted value and comment is replaced in
/// place by its plaintext; the rest of the text stays as it is.
pub async fn decrypt_yaml(text: &str, access: &KmsAccess) -> Result<DecryptedYaml, SecretsError> {
    let doc = yaml::parse(text)?;
    let (plain, key, meta) = decrypt(&doc, access).await?;
    let (body, sops) = yaml::remove_entry(text, "sops")?;
    let sops = sops.ok_or(SecretsError::NotSops)?;
    let mut stash = Stash::default();
    let opened = yaml::rewrite(&body, |path, p| {
        let sealed = match p {
            Plain::Str(s) if cipher::is_encrypted(s) && meta.rule.encrypts(path)? => s,
            Plain::Comment(s) if cipher::is_encrypted(s) => s,
            _ => return Ok(None),
        };
        let aad = tree::aad(path);
        let value = cipher::decrypt(&key, sealed, &aad)?;
        stash.keep(&aad, &value, sealed);
        Ok::<_, SecretsError>(Some(value))
    })?;
    if !same(&yaml::parse(&opened)?, &plain) {
        return Err(SecretsError::Unsupported(
            "this YAML layout: the decrypted text does not read back as the plaintext (please report it)".into(),
        ));
    }
    Ok(DecryptedYaml {
        text: opened,
        key,
        meta,
        sops,
        stash,
    })
}

/// Encrypts an edited plaintext from [`decrypt_yaml`] again, with the same
/// data key (the wrapped keys stay valid): a value whose key path and
/// plaintext did not change keeps its old encrypted text, a new or changed
/// one is encrypted anew, and the old `sops` entry follows with a new `mac`
/// and `lastmodified`. So the file changes only where the plaintext did.
pub fn reencrypt_yaml(edited: &str, old: DecryptedYaml) -> Result<String, SecretsError> {
    let DecryptedYaml {
        key,
        meta,
        sops,
        mut stash,
        ..
    } = old;
    let plain = yaml::parse(edited)?;
    if matches!(&plain, Node::Map(m) if m.iter().any(|(k, _)| k == "sops")) {
        return Err(SecretsError::AlreadyEncrypted);
    }
    let mac = tree::mac(&plain, &meta.rule, meta.mac_only_encrypted)?;
    let body = seal_yaml(edited, &key, &meta.rule, &mut stash)?;
    let with_sops = yaml::append_text(&body, &sops)?;
    let now = keys::rfc3339_now();
    let sealed_mac = tree::seal_mac(&key, &mac, &now);
    let out = yaml::rewrite(&with_sops, |path, _| {
        Ok::<_, SecretsError>(match path {
            [s, k] if s == "sops" && k == "mac" => Some(Plain::Str(sealed_mac.clone())),
            [s, k] if s == "sops" && k == "lastmodified" => Some(Plain::Str(now.clone())),
            _ => None,
        })
    })?;
    check_yaml(&out, &key, &plain)?;
    Ok(out)
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
