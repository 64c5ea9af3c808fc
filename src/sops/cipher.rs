//! One encrypted value: `ENC[AES256_GCM,data:…,iv:…,tag:…,type:…]`.
//!
//! AES-256-GCM under the file's 32-byte data key, with a 32-byte random
//! nonce (sops' size, not GCM's usual 12), a 16-byte tag, standard padded
//! base64, and the value's key path (`db:user:`) as additional data.

use aes_gcm::aead::consts::U32;
use aes_gcm::aead::generic_array::GenericArray;
use aes_gcm::aead::rand_core::RngCore;
use aes_gcm::aead::{Aead, KeyInit, OsRng, Payload};
use aes_gcm::aes::Aes256;
use aes_gcm::AesGcm;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;

type Gcm32 = AesGcm<Aes256, U32>;

pub const NONCE_LEN: usize = 32;
const TAG_LEN: usize = 16;

/// What can go wrong with SOPS data. Messages never contain plaintext.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SopsError {
    #[error("a value does not match the sops format ENC[AES256_GCM,data:…,iv:…,tag:…,type:…]")]
    Format,
    #[error("a value has the unknown type `{0}`")]
    UnknownType(String),
    #[error("a value could not be decrypted: wrong key, or the value, its IV, tag or key path was altered")]
    Decrypt,
    #[error("a decrypted value is not a valid {0}")]
    BadPlaintext(&'static str),
    #[error("`{0}` is not a valid regular expression")]
    BadRule(String),
}

/// A plaintext leaf with its sops type.
#[derive(Clone, Debug, PartialEq)]
pub enum Plain {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    /// A YAML comment's text after `#`.
    Comment(String),
}

impl Plain {
    pub fn type_name(&self) -> &'static str {
        match self {
            Plain::Str(_) => "str",
            Plain::Int(_) => "int",
            Plain::Float(_) => "float",
            Plain::Bool(_) => "bool",
            Plain::Comment(_) => "comment",
        }
    }

    /// The bytes that are encrypted and hashed into the MAC.
    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            Plain::Str(s) | Plain::Comment(s) => s.as_bytes().to_vec(),
            Plain::Int(i) => i.to_string().into_bytes(),
            Plain::Float(f) => format_float(*f).into_bytes(),
            Plain::Bool(true) => b"True".to_vec(),
            Plain::Bool(false) => b"False".to_vec(),
        }
    }

    fn from_bytes(ty: &str, bytes: Vec<u8>) -> Result<Plain, SopsError> {
        let text =
            |what| String::from_utf8(bytes.clone()).map_err(|_| SopsError::BadPlaintext(what));
        Ok(match ty {
            "str" => Plain::Str(text("string")?),
            "comment" => Plain::Comment(text("comment")?),
            "int" => Plain::Int(
                text("int")?
                    .trim()
                    .parse()
                    .map_err(|_| SopsError::BadPlaintext("int"))?,
            ),
            "float" => {
                Plain::Float(parse_float(&text("float")?).ok_or(SopsError::BadPlaintext("float"))?)
            }
            "bool" => Plain::Bool(match text("bool")?.as_str() {
                "1" | "t" | "T" | "TRUE" | "true" | "True" => true,
                "0" | "f" | "F" | "FALSE" | "false" | "False" => false,
                _ => return Err(SopsError::BadPlaintext("bool")),
            }),
            other => return Err(SopsError::UnknownType(other.to_string())),
        })
    }
}

/// The shortest decimal that reads back as the same float, never with an
/// exponent (`1` for 1.0, `+Inf`, `NaN`), as sops writes floats.
pub fn format_float(f: f64) -> String {
    if f.is_nan() {
        "NaN".into()
    } else if f.is_infinite() {
        if f > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        }
    } else {
        format!("{f}")
    }
}

fn parse_float(s: &str) -> Option<f64> {
    match s {
        "+Inf" | "Inf" | "inf" | "+inf" => Some(f64::INFINITY),
        "-Inf" | "-inf" => Some(f64::NEG_INFINITY),
        "NaN" | "nan" => Some(f64::NAN),
        other => other.parse().ok(),
    }
}

/// Encrypts a value. An empty string (or comment) stays empty, as in sops.
/// `nonce` is for tests and for keeping unchanged values stable; normally
/// a fresh random one is used.
pub fn encrypt(key: &[u8; 32], plain: &Plain, aad: &str, nonce: Option<[u8; NONCE_LEN]>) -> String {
    let bytes = plain.to_bytes();
    if bytes.is_empty() && matches!(plain, Plain::Str(_) | Plain::Comment(_)) {
        return String::new();
    }
    let nonce = nonce.unwrap_or_else(|| {
        let mut n = [0u8; NONCE_LEN];
        OsRng.fill_bytes(&mut n);
        n
    });
    let cipher = Gcm32::new(GenericArray::from_slice(key));
    let sealed = cipher
        .encrypt(
            GenericArray::from_slice(&nonce),
            Payload {
                msg: &bytes,
                aad: aad.as_bytes(),
            },
        )
        .expect("AES-GCM encryption of an in-memory value cannot fail");
    let (data, tag) = sealed.split_at(sealed.len() - TAG_LEN);
    format!(
        "ENC[AES256_GCM,data:{},iv:{},tag:{},type:{}]",
        STANDARD.encode(data),
        STANDARD.encode(nonce),
        STANDARD.encode(tag),
        plain.type_name()
    )
}

/// The parts of an encrypted value.
struct Parts {
    data: Vec<u8>,
    iv: Vec<u8>,
    tag: Vec<u8>,
    ty: String,
}

fn parse(value: &str) -> Result<Parts, SopsError> {
    let inner = value
        .strip_prefix("ENC[AES256_GCM,data:")
        .and_then(|v| v.strip_suffix(']'))
        .ok_or(SopsError::Format)?;
    let (data, rest) = inner.split_once(",iv:").ok_or(SopsError::Format)?;
    let (iv, rest) = rest.split_once(",tag:").ok_or(SopsError::Format)?;
    let (tag, ty) = rest.split_once(",type:").ok_or(SopsError::Format)?;
    let b64 = |s: &str| STANDARD.decode(s).map_err(|_| SopsError::Format);
    let parts = Parts {
        data: b64(data)?,
        iv: b64(iv)?,
        tag: b64(tag)?,
        ty: ty.to_string(),
    };
    if parts.tag.len() != TAG_LEN || parts.iv.is_empty() {
        return Err(SopsError::Format);
    }
    Ok(parts)
}

/// Whether a string is an encrypted sops value.
pub fn is_encrypted(value: &str) -> bool {
    value.starts_with("ENC[AES256_GCM,")
}

/// Decrypts a value; `aad` must be the same key path it was encrypted under.
/// An empty string decrypts to an empty string.
pub fn decrypt(key: &[u8; 32], value: &str, aad: &str) -> Result<Plain, SopsError> {
    if value.is_empty() {
        return Ok(Plain::Str(String::new()));
    }
    let p = parse(value)?;
    if !matches!(p.ty.as_str(), "str" | "int" | "float" | "bool" | "comment") {
        return Err(SopsError::UnknownType(p.ty));
    }
    if p.iv.len() != NONCE_LEN {
        // sops reads other nonce sizes too; Blueprint writes and reads 32.
        return Err(SopsError::Format);
    }
    let cipher = Gcm32::new(GenericArray::from_slice(key));
    let mut sealed = p.data;
    sealed.extend_from_slice(&p.tag);
    let plain = cipher
        .decrypt(
            GenericArray::from_slice(&p.iv),
            Payload {
                msg: &sealed,
                aad: aad.as_bytes(),
            },
        )
        .map_err(|_| SopsError::Decrypt)?;
    Plain::from_bytes(&p.ty, plain)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The vector of the sops repository's cipher tests: key of 32 ASCII
    /// `f`, additional data `bar:`, plaintext `foo`.
    #[test]
    fn decrypts_the_sops_reference_vector() {
        let key = [b'f'; 32];
        let value = "ENC[AES256_GCM,data:oYyi,iv:MyIDYbT718JRr11QtBkcj3Dwm4k1aCGZBVeZf0EyV8o=,tag:t5z2Z023Up0kxwCgw1gNxg==,type:str]";
        assert_eq!(decrypt(&key, value, "bar:"), Ok(Plain::Str("foo".into())));
        assert_eq!(decrypt(&key, value, ""), Err(SopsError::Decrypt));
        // Encrypting with the same nonce gives the same text back.
        let nonce: [u8; 32] = STANDARD
            .decode("MyIDYbT718JRr11QtBkcj3Dwm4k1aCGZBVeZf0EyV8o=")
            .unwrap()
            .try_into()
            .unwrap();
        assert_eq!(
            encrypt(&key, &Plain::Str("foo".into()), "bar:", Some(nonce)),
            value
        );
    }

    #[test]
    fn every_type_round_trips() {
        let key = [7u8; 32];
        for p in [
            Plain::Str("hunter2 ✓".into()),
            Plain::Int(-12),
            Plain::Float(0.5),
            Plain::Float(1234.56789),
            Plain::Bool(true),
            Plain::Bool(false),
            Plain::Comment(" a comment".into()),
        ] {
            let enc = encrypt(&key, &p, "db:user:", None);
            assert!(enc.ends_with(&format!("type:{}]", p.type_name())), "{enc}");
            assert_eq!(decrypt(&key, &enc, "db:user:").unwrap(), p);
        }
        assert_eq!(encrypt(&key, &Plain::Str(String::new()), "a:", None), "");
        assert_eq!(decrypt(&key, "", "a:").unwrap(), Plain::Str(String::new()));
    }

    #[test]
    fn plaintext_bytes_follow_sops() {
        assert_eq!(Plain::Bool(true).to_bytes(), b"True");
        assert_eq!(Plain::Float(1.0).to_bytes(), b"1");
        assert_eq!(Plain::Float(1e21).to_bytes(), b"1000000000000000000000");
        assert_eq!(Plain::Float(f64::INFINITY).to_bytes(), b"+Inf");
        assert_eq!(Plain::Int(5432).to_bytes(), b"5432");
    }

    /// Changing any part of a value (data, IV, tag, type) or its key path,
    /// or using another key, is detected.
    #[test]
    fn tampering_is_detected_in_every_part() {
        let key = [9u8; 32];
        let enc = encrypt(
            &key,
            &Plain::Str("secret-value".into()),
            "db:password:",
            None,
        );
        let p = parse(&enc).unwrap();
        let rebuild = |data: &[u8], iv: &[u8], tag: &[u8], ty: &str| {
            format!(
                "ENC[AES256_GCM,data:{},iv:{},tag:{},type:{ty}]",
                STANDARD.encode(data),
                STANDARD.encode(iv),
                STANDARD.encode(tag)
            )
        };
        for i in 0..p.data.len() {
            let mut d = p.data.clone();
            d[i] ^= 1;
            assert_eq!(
                decrypt(&key, &rebuild(&d, &p.iv, &p.tag, "str"), "db:password:"),
                Err(SopsError::Decrypt)
            );
        }
        for i in 0..p.iv.len() {
            let mut iv = p.iv.clone();
            iv[i] ^= 0x80;
            assert_eq!(
                decrypt(&key, &rebuild(&p.data, &iv, &p.tag, "str"), "db:password:"),
                Err(SopsError::Decrypt)
            );
        }
        for i in 0..p.tag.len() {
            let mut t = p.tag.clone();
            t[i] ^= 0x01;
            assert_eq!(
                decrypt(&key, &rebuild(&p.data, &p.iv, &t, "str"), "db:password:"),
                Err(SopsError::Decrypt)
            );
        }
        assert_eq!(decrypt(&key, &enc, "db:user:"), Err(SopsError::Decrypt));
        assert_eq!(
            decrypt(&[8u8; 32], &enc, "db:password:"),
            Err(SopsError::Decrypt)
        );
        // A changed type decrypts but does not parse as that type.
        assert_eq!(
            decrypt(
                &key,
                &rebuild(&p.data, &p.iv, &p.tag, "int"),
                "db:password:"
            ),
            Err(SopsError::BadPlaintext("int"))
        );
        assert_eq!(
            decrypt(
                &key,
                &rebuild(&p.data, &p.iv, &p.tag, "blob"),
                "db:password:"
            ),
            Err(SopsError::UnknownType("blob".into()))
        );
    }

    #[test]
    fn malformed_values_are_format_errors() {
        let key = [1u8; 32];
        for bad in [
            "ENC[AES256_GCM,data:abc]",
            "ENC[AES256_GCM,data:@@,iv:AAAA,tag:AAAAAAAAAAAAAAAAAAAAAA==,type:str]",
            "plain text",
            "ENC[AES256_GCM,data:YQ==,iv:YQ==,tag:YQ==,type:str]",
        ] {
            assert_eq!(decrypt(&key, bad, "a:"), Err(SopsError::Format), "{bad}");
        }
        // Error messages never hold the value.
        assert!(!SopsError::Decrypt.to_string().contains("secret"));
    }
}
