//! `sops_file(path)`: a sops-encrypted file inside the blueprint's folder,
//! decrypted into a map whose leaves are sensitive values.

use super::super::handles::SecretValue;
use super::super::resolver;
use super::super::state::{fail, Fallible, Shared};
use super::super::Secrets;
use crate::model::{Problem, Value};
use crate::sops::{self, json, yaml, Node, Plain};
use rhai::{Dynamic, Engine, NativeCallContext};
use sha2::Sha256;

pub fn register(engine: &mut Engine, state: &Shared) {
    let s = state.clone();
    engine.register_fn(
        "sops_file",
        move |ctx: NativeCallContext, path: Dynamic| -> Fallible<Dynamic> {
            let rel = path.to_string();
            let root = s.borrow().root.clone();
            let file = resolver::inside(&root, &rel).map_err(|m| {
                fail(
                    &ctx,
                    Problem::new(format!("sops_file: {m}"))
                        .hint("secrets files live in the blueprint's folder"),
                )
            })?;
            let text = std::fs::read_to_string(&file).map_err(|e| {
                fail(
                    &ctx,
                    Problem::new(format!("sops_file: cannot read \"{rel}\": {e}")),
                )
            })?;
            let parsed = match file.extension().and_then(|e| e.to_str()) {
                Some("json") => json::parse(&text).map_err(|e| e.to_string()),
                Some("yaml" | "yml") => yaml::parse(&text).map_err(|e| e.to_string()),
                _ => {
                    return Err(fail(
                        &ctx,
                        Problem::new(format!("sops_file \"{rel}\": unsupported format"))
                            .hint("sops files are YAML (.yaml, .yml) or JSON (.json)"),
                    ))
                }
            };
            let doc = parsed
                .map_err(|e| fail(&ctx, Problem::new(format!("sops_file \"{rel}\": {e}"))))?;
            let access = match &s.borrow().secrets {
                Secrets::Sealed => None,
                Secrets::Decrypt(access) => Some(access.clone()),
            };
            let Some(access) = access else {
                let mut doc = doc;
                sops::Metadata::extract(&mut doc)
                    .map_err(|e| fail(&ctx, Problem::new(format!("sops_file \"{rel}\": {e}"))))?;
                return Ok(to_dynamic(&doc, &mut Vec::new(), &|leaf, _| sealed(leaf)));
            };
            if tokio::runtime::Handle::try_current().is_ok() {
                return Err(fail(
                    &ctx,
                    Problem::new("sops_file cannot run inside an async runtime"),
                ));
            }
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| fail(&ctx, Problem::new(format!("sops_file: {e}"))))?;
            let (plain, key, _) = rt
                .block_on(sops::decrypt(&doc, &access))
                .map_err(|e| fail(&ctx, Problem::new(format!("sops_file \"{rel}\": {e}"))))?;
            Ok(to_dynamic(&plain, &mut Vec::new(), &|leaf, path| {
                decrypted(leaf, path, &key)
            }))
        },
    );
}

/// One variable of a `--var-file`.
pub enum VarValue {
    Plain(String),
    /// From a sops-encrypted file: sensitive (unknown when read sealed).
    Secret(SecretValue),
}

/// Reads a `--var-file`: a YAML or JSON map of names to strings, numbers or
/// booleans. A sops-encrypted file (a `sops` key at the top) is decrypted
/// as `secrets` says, and all its values are sensitive.
pub fn var_file(
    path: &std::path::Path,
    secrets: &Secrets,
) -> Result<Vec<(String, VarValue)>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let is_json = path.extension().and_then(|e| e.to_str()) == Some("json");
    let doc = if is_json {
        json::parse(&text).map_err(|e| e.to_string())?
    } else {
        yaml::parse(&text).map_err(|e| e.to_string())?
    };
    let Node::Map(entries) = &doc else {
        return Err("a var file is a map of names to values".into());
    };
    let encrypted = entries.iter().any(|(k, _)| k == "sops");
    let leaves = |doc: &Node, leaf: Leaf| -> Result<Vec<(String, VarValue)>, String> {
        let Node::Map(entries) = doc else {
            return Err("a var file is a map of names to values".into());
        };
        let mut out = Vec::new();
        for (k, v) in entries
            .iter()
            .filter(|(k, _)| k != yaml::COMMENT_KEY && k != "sops")
        {
            let value = match v {
                Node::Leaf(Plain::Comment(_)) => continue,
                Node::Leaf(p) if encrypted => VarValue::Secret(leaf(p, std::slice::from_ref(k))),
                Node::Leaf(Plain::Str(t)) => VarValue::Plain(t.clone()),
                Node::Leaf(p) => {
                    VarValue::Plain(String::from_utf8_lossy(&p.to_bytes()).into_owned())
                }
                _ => return Err(format!("`{k}` must be a string, a number or a boolean")),
            };
            out.push((k.clone(), value));
        }
        Ok(out)
    };
    if !encrypted {
        return leaves(&doc, &|p, _| sealed(p));
    }
    let access = match secrets {
        Secrets::Sealed => {
            let mut doc = doc.clone();
            sops::Metadata::extract(&mut doc).map_err(|e| e.to_string())?;
            return leaves(&doc, &|p, _| sealed(p));
        }
        Secrets::Decrypt(access) => access.clone(),
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let (plain, key, _) = std::thread::scope(|scope| {
        scope
            .spawn(|| rt.block_on(sops::decrypt(&doc, &access)))
            .join()
            .map_err(|_| "decrypting failed".to_string())
    })?
    .map_err(|e| e.to_string())?;
    leaves(&plain, &|p, path| decrypted(p, path, &key))
}

/// A keyed hash of one secret value for saved plans: HMAC-SHA256 under a
/// key derived from the file's data key with HKDF-SHA256, so the data key
/// itself never keys anything but the file's own cipher.
fn hmac(key: &[u8; 32], message: &[u8]) -> String {
    use hmac::Mac;
    let mut derived = [0u8; 32];
    hkdf::Hkdf::<Sha256>::new(None, key)
        .expand(b"blueprint: sops_file value hash", &mut derived)
        .expect("32 bytes is a valid HKDF-SHA256 output length");
    let mut mac =
        hmac::Hmac::<Sha256>::new_from_slice(&derived).expect("HMAC takes keys of any length");
    mac.update(message);
    format!("hmac-sha256:{}", hex::encode(mac.finalize().into_bytes()))
}

/// A value of a file read sealed: sensitive and unknown. Its hash is that
/// of its encrypted text, which changes whenever the value is written anew.
fn sealed(leaf: &Plain) -> SecretValue {
    use sha2::Digest;
    let text = match leaf {
        Plain::Str(s) | Plain::Comment(s) => s.clone(),
        other => String::from_utf8_lossy(&other.to_bytes()).into_owned(),
    };
    SecretValue {
        hash: format!("sealed-sha256:{}", hex::encode(Sha256::digest(text))),
        value: None,
    }
}

/// A decrypted value, with its hash keyed by the file's data key.
fn decrypted(leaf: &Plain, path: &[String], key: &[u8; 32]) -> SecretValue {
    let mut message = path.join(":").into_bytes();
    message.push(0);
    message.extend(leaf.to_bytes());
    let value = match leaf {
        Plain::Str(s) | Plain::Comment(s) => {
            // Out of every log line and error from now on.
            crate::redact::register(s);
            Value::Str(s.clone())
        }
        Plain::Int(i) => Value::Int(*i),
        Plain::Float(f) => Value::Float(*f),
        Plain::Bool(b) => Value::Bool(*b),
    };
    SecretValue {
        hash: hmac(key, &message),
        value: Some(value),
    }
}

type Leaf<'a> = &'a dyn Fn(&Plain, &[String]) -> SecretValue;

fn to_dynamic(n: &Node, path: &mut Vec<String>, leaf: Leaf) -> Dynamic {
    match n {
        Node::Map(entries) => {
            let mut m = rhai::Map::new();
            for (k, v) in entries.iter().filter(|(k, _)| k != yaml::COMMENT_KEY) {
                path.push(k.clone());
                m.insert(k.as_str().into(), to_dynamic(v, path, leaf));
                path.pop();
            }
            Dynamic::from(m)
        }
        Node::List(items) => Dynamic::from(
            items
                .iter()
                .filter(|i| !matches!(i, Node::Leaf(Plain::Comment(_))))
                .map(|i| to_dynamic(i, path, leaf))
                .collect::<rhai::Array>(),
        ),
        Node::Null => Dynamic::UNIT,
        Node::Leaf(p) => Dynamic::from(leaf(p, path)),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn hmac_matches_an_independent_implementation() {
        // The expected value comes from Python (the `cryptography` package's
        // HKDF and the standard hmac module) with the same key and message.
        let key = [0x0bu8; 32];
        assert_eq!(
            super::hmac(&key, b"Hi There"),
            "hmac-sha256:0355ad555cf35ba187c003f456fdce402e9866bfcc03ad9e346a6a036b256d90"
        );
    }
}
