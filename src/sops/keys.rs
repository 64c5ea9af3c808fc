//! Wrapping the 32-byte data key for master keys: age X25519 recipients
//! (one armored age file each) and AWS KMS keys (`Encrypt` of the raw key,
//! with an optional encryption context).

use super::metadata::{AgeKey, KmsKey};
use super::SecretsError;
use aws_sdk_kms::primitives::Blob;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use std::collections::{BTreeMap, HashMap};

/// age identities from `SOPS_AGE_KEY`, `SOPS_AGE_KEY_FILE` and the default
/// key file (`$XDG_CONFIG_HOME/sops/age/keys.txt`), all merged, as sops does.
pub fn age_identities() -> Result<Vec<age::x25519::Identity>, SecretsError> {
    let mut texts = Vec::new();
    if let Ok(k) = std::env::var("SOPS_AGE_KEY") {
        texts.push(k);
    }
    if let Some(f) = std::env::var_os("SOPS_AGE_KEY_FILE") {
        let t = std::fs::read_to_string(&f).map_err(|e| {
            SecretsError::Key(format!(
                "cannot read SOPS_AGE_KEY_FILE {}: {e}",
                f.to_string_lossy()
            ))
        })?;
        texts.push(t);
    }
    let config = std::env::var_os("XDG_CONFIG_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join(".config")));
    if let Some(c) = config {
        if let Ok(t) = std::fs::read_to_string(c.join("sops/age/keys.txt")) {
            texts.push(t);
        }
    }
    let mut out = Vec::new();
    for t in texts {
        for line in t
            .lines()
            .map(str::trim)
            .filter(|l| l.starts_with("AGE-SECRET-KEY-"))
        {
            out.push(
                line.parse::<age::x25519::Identity>()
                    .map_err(|_| SecretsError::Key("an age identity is malformed".into()))?,
            );
        }
    }
    Ok(out)
}

pub fn age_wrap(recipient: &str, data_key: &[u8; 32]) -> Result<AgeKey, SecretsError> {
    let r: age::x25519::Recipient = recipient.parse().map_err(|e| {
        SecretsError::Key(format!("`{recipient}` is not an age X25519 recipient: {e}"))
    })?;
    let enc = age::encrypt_and_armor(&r, data_key)
        .map_err(|e| SecretsError::Key(format!("age encryption failed: {e}")))?;
    Ok(AgeKey {
        recipient: recipient.to_string(),
        enc,
    })
}

/// The data key from an age entry, with the first identity that opens it.
pub fn age_unwrap(key: &AgeKey, identities: &[age::x25519::Identity]) -> Option<[u8; 32]> {
    identities.iter().find_map(|id| {
        age::decrypt(id, key.enc.as_bytes())
            .ok()
            .and_then(|k| <[u8; 32]>::try_from(k.as_slice()).ok())
    })
}

/// How to reach KMS: the standard chain, optionally a profile and endpoint.
#[derive(Clone, Debug, Default)]
pub struct KmsAccess {
    pub profile: Option<String>,
    pub endpoint_url: Option<String>,
}

/// The region of a KMS key or alias ARN.
pub fn arn_region(arn: &str) -> Result<String, SecretsError> {
    let parts: Vec<&str> = arn.split(':').collect();
    if parts.len() >= 6 && parts[0] == "arn" && parts[2] == "kms" && !parts[3].is_empty() {
        return Ok(parts[3].to_string());
    }
    Err(SecretsError::Key(format!(
        "`{arn}` is not a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID)"
    )))
}

impl KmsAccess {
    pub async fn client(&self, arn: &str) -> Result<aws_sdk_kms::Client, SecretsError> {
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new(arn_region(arn)?));
        if let Some(p) = &self.profile {
            loader = loader.profile_name(p);
        }
        if let Some(e) = &self.endpoint_url {
            loader = loader.endpoint_url(e);
        }
        Ok(aws_sdk_kms::Client::new(&loader.load().await))
    }
}

fn kms_error<E: std::error::Error + aws_smithy_types::error::metadata::ProvideErrorMetadata>(
    what: &str,
    arn: &str,
    e: &E,
) -> SecretsError {
    let code = e.code().unwrap_or("Error");
    let msg = e.message().unwrap_or_default();
    SecretsError::Key(format!("KMS {what} with {arn} failed: {code}: {msg}"))
}

pub async fn kms_wrap(
    access: &KmsAccess,
    arn: &str,
    context: &BTreeMap<String, String>,
    data_key: &[u8; 32],
    now: &str,
) -> Result<KmsKey, SecretsError> {
    let client = access.client(arn).await?;
    let ctx: HashMap<String, String> = context.clone().into_iter().collect();
    let out = client
        .encrypt()
        .key_id(arn)
        .plaintext(Blob::new(data_key.to_vec()))
        .set_encryption_context((!ctx.is_empty()).then_some(ctx))
        .send()
        .await
        .map_err(|e| kms_error("Encrypt", arn, &e))?;
    let blob = out.ciphertext_blob().ok_or_else(|| {
        SecretsError::Key(format!("KMS Encrypt with {arn} returned no ciphertext"))
    })?;
    Ok(KmsKey {
        arn: arn.to_string(),
        created_at: now.to_string(),
        enc: STANDARD.encode(blob.as_ref()),
        aws_profile: access.profile.clone().unwrap_or_default(),
        role: None,
        context: context.clone(),
    })
}

pub async fn kms_unwrap(access: &KmsAccess, key: &KmsKey) -> Result<[u8; 32], SecretsError> {
    if key.role.is_some() {
        return Err(SecretsError::Unsupported(format!(
            "assuming the role of KMS entry {}",
            key.arn
        )));
    }
    let blob = STANDARD.decode(&key.enc).map_err(|_| {
        SecretsError::Metadata(format!("the enc of KMS entry {} is not base64", key.arn))
    })?;
    let access = KmsAccess {
        profile: access
            .profile
            .clone()
            .or_else(|| (!key.aws_profile.is_empty()).then(|| key.aws_profile.clone())),
        endpoint_url: access.endpoint_url.clone(),
    };
    let client = access.client(&key.arn).await?;
    let ctx: HashMap<String, String> = key.context.clone().into_iter().collect();
    let out = client
        .decrypt()
        .key_id(&key.arn)
        .ciphertext_blob(Blob::new(blob))
        .set_encryption_context((!ctx.is_empty()).then_some(ctx))
        .send()
        .await
        .map_err(|e| kms_error("Decrypt", &key.arn, &e))?;
    out.plaintext()
        .and_then(|p| <[u8; 32]>::try_from(p.as_ref()).ok())
        .ok_or_else(|| {
            SecretsError::Key(format!(
                "KMS Decrypt with {} did not return a 32-byte data key",
                key.arn
            ))
        })
}

/// Now as RFC 3339 in UTC with whole seconds and `Z`.
pub fn rfc3339_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    rfc3339(secs)
}

pub fn rfc3339(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Days to civil date (proleptic Gregorian), after Howard Hinnant.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_735_725_605), "2025-01-01T10:00:05Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn age_wrap_and_unwrap() {
        let id = age::x25519::Identity::generate();
        let other = age::x25519::Identity::generate();
        let key = [42u8; 32];
        let wrapped = age_wrap(&id.to_public().to_string(), &key).unwrap();
        assert!(wrapped
            .enc
            .starts_with("-----BEGIN AGE ENCRYPTED FILE-----\n"));
        assert_eq!(age_unwrap(&wrapped, &[other.clone(), id]), Some(key));
        assert_eq!(age_unwrap(&wrapped, &[other]), None);
    }

    #[test]
    fn kms_arns_name_their_region() {
        assert_eq!(
            arn_region("arn:aws:kms:eu-west-1:111122223333:key/abc").unwrap(),
            "eu-west-1"
        );
        assert!(arn_region("alias/x").is_err());
    }
}
