//! Verifiers of secrets that AWS never returns (a database's master
//! password): a salted PBKDF2-HMAC-SHA256 of the secret, kept in a tag on
//! the resource, so that a plan can tell whether the declared password is
//! the one set last, without storing or printing it. The form uses only the
//! characters AWS tags allow: `pbkdf2-sha256:<rounds>:<salt hex>:<hash hex>`.

use sha2::Sha256;

/// OWASP's current work factor for PBKDF2-HMAC-SHA256 (Password Storage
/// Cheat Sheet, 2023). Verifiers made with fewer rounds still verify.
const ROUNDS: u32 = 600_000;
const PREFIX: &str = "pbkdf2-sha256";

/// PBKDF2-HMAC-SHA256 by AWS-LC (already linked for TLS): compiled
/// optimised in every build, so that OWASP's rounds cost tens of
/// milliseconds in tests too.
fn derive(secret: &str, salt: &[u8], rounds: u32) -> [u8; 32] {
    let mut out = [0u8; 32];
    aws_lc_rs::pbkdf2::derive(
        aws_lc_rs::pbkdf2::PBKDF2_HMAC_SHA256,
        std::num::NonZeroU32::new(rounds.max(1)).expect("at least one round"),
        salt,
        secret.as_bytes(),
        &mut out,
    );
    out
}

/// A new verifier of `secret`, with a random salt.
pub fn verifier(secret: &str) -> String {
    let mut salt = [0u8; 16];
    getrandom::getrandom(&mut salt).expect("the operating system gives random bytes");
    format!(
        "{PREFIX}:{ROUNDS}:{}:{}",
        hex::encode(salt),
        hex::encode(derive(secret, &salt, ROUNDS))
    )
}

/// A deterministic, slow hash of a secret written in a script (not from a
/// sops file, so there is no file key to make it keyed), for saved plans:
/// PBKDF2-HMAC-SHA256 salted with where the secret belongs, so that a
/// plan's reader cannot test guesses quickly, and the same declaration
/// gives the same hash on every evaluation.
pub fn script_secret_hash(secret: &str, context: &[&str]) -> String {
    use sha2::Digest;
    let mut salt = Sha256::new();
    for part in context {
        salt.update(part.as_bytes());
        salt.update([0]);
    }
    let salt = salt.finalize();
    format!(
        "pbkdf2-sha256:{}",
        hex::encode(derive(secret, &salt, ROUNDS))
    )
}

/// Whether `secret` is the secret `verifier` was made from. A verifier in
/// another form never verifies.
pub fn verify(secret: &str, verifier: &str) -> bool {
    let mut parts = verifier.split(':');
    let (Some(PREFIX), Some(rounds), Some(salt), Some(hash), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return false;
    };
    let (Ok(rounds), Ok(salt), Ok(hash)) =
        (rounds.parse::<u32>(), hex::decode(salt), hex::decode(hash))
    else {
        return false;
    };
    if !(1_000..=10_000_000).contains(&rounds) {
        return false;
    }
    use subtle_eq::eq;
    eq(&derive(secret, &salt, rounds), &hash)
}

mod subtle_eq {
    /// Compares without stopping at the first difference.
    pub fn eq(a: &[u8], b: &[u8]) -> bool {
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_verifier_verifies_its_secret_only() {
        let v = verifier("correct horse");
        assert!(v.starts_with("pbkdf2-sha256:600000:"));
        // Verifiers of earlier versions (100,000 rounds) still verify.
        let salt = [7u8; 16];
        let old = format!(
            "pbkdf2-sha256:100000:{}:{}",
            hex::encode(salt),
            hex::encode(derive("pw", &salt, 100_000))
        );
        assert!(verify("pw", &old) && !verify("pw2", &old));
        assert!(!v.contains("correct"));
        assert!(verify("correct horse", &v));
        assert!(!verify("correct horse ", &v));
        assert!(!verify("", &v));
        // Salted: the same secret gives another verifier each time.
        assert_ne!(v, verifier("correct horse"));
        assert!(!verify("x", "plain:x"));
        assert!(!verify("x", "pbkdf2-sha256:1:00:00"));
    }

    #[test]
    fn script_secret_hashes_are_stable_salted_and_slow() {
        let a = script_secret_hash("hunter22", &["rds_postgres", "db", "password"]);
        assert_eq!(
            a,
            script_secret_hash("hunter22", &["rds_postgres", "db", "password"])
        );
        assert_ne!(
            a,
            script_secret_hash("hunter22", &["rds_postgres", "db2", "password"])
        );
        assert_ne!(
            a,
            script_secret_hash("hunter23", &["rds_postgres", "db", "password"])
        );
        assert!(a.starts_with("pbkdf2-sha256:") && !a.contains("hunter"));
        // Not the one fast SHA-256 of the value and its place.
        use sha2::Digest;
        let fast = hex::encode(Sha256::digest(b"rds_postgres\0db\0password\0hunter22\0"));
        assert!(!a.contains(&fast));
    }

    /// RFC 7914's PBKDF2-HMAC-SHA256 test vector (P = "passwd",
    /// S = "salt", c = 1), first 32 bytes.
    #[test]
    fn derivation_matches_the_standard_vector() {
        assert_eq!(
            hex::encode(derive("passwd", b"salt", 1)),
            "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc"
        );
    }

    /// AWS tag values allow letters, digits, spaces and `_ . : / = + - @`.
    #[test]
    fn verifiers_fit_in_an_aws_tag() {
        let v = verifier("p");
        assert!(v.len() <= 256);
        assert!(v
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.:/=+-@ ".contains(c)));
    }
}
