//! Redaction of secrets from text that leaves the process: logs, error
//! messages and plans. A secret is matched in every form in which it is
//! commonly written out: as it is, each of its lines, base64 (standard and
//! URL-safe, with and without padding), percent-encoded (URLs and forms)
//! and JSON-escaped.
//!
//! Secrets known to the whole process (sops values, sensitive variables, a
//! database password) are registered once with [`register`]; [`redact`]
//! replaces them in any text, and [`Redactor`] does the same for a set of
//! secrets of its own (one resource's).

use std::sync::RwLock;

/// What a secret is replaced with.
pub const MASK: &str = "(sensitive)";

/// Secrets shorter than this are matched only as a whole value elsewhere
/// (a plan's `(sensitive)`), not searched for in free text, where they
/// would mask ordinary words and numbers.
const SHORTEST: usize = 4;

/// The forms of `secret` to search for, longest first.
pub fn forms(secret: &str) -> Vec<String> {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    use base64::Engine as _;
    if secret.len() < SHORTEST {
        return Vec::new();
    }
    let mut out: Vec<String> = Vec::new();
    let mut add = |s: &str| {
        out.push(s.to_string());
        for engine in [&STANDARD, &STANDARD_NO_PAD, &URL_SAFE, &URL_SAFE_NO_PAD] {
            out.push(engine.encode(s.as_bytes()));
        }
        if let Ok(escaped) = serde_json::to_string(s) {
            out.push(escaped.trim_matches('"').to_string());
        }
        // Query strings and form bodies (spaces as `+`) and URL paths
        // (spaces as `%20`).
        out.push(url::form_urlencoded::byte_serialize(s.as_bytes()).collect());
        out.push(
            url::form_urlencoded::byte_serialize(s.as_bytes())
                .collect::<String>()
                .replace('+', "%20"),
        );
    };
    add(secret);
    for line in secret.lines().map(str::trim) {
        if line.len() >= SHORTEST && line != secret {
            add(line);
        }
    }
    out.retain(|s| s.len() >= SHORTEST);
    out.sort_by_key(|s| std::cmp::Reverse(s.len()));
    out.dedup();
    out
}

/// A set of secrets to take out of text.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Redactor {
    forms: Vec<String>,
}

impl Redactor {
    pub fn add(&mut self, secret: &str) {
        let mut more = forms(secret);
        more.retain(|f| !self.forms.contains(f));
        self.forms.extend(more);
        self.forms.sort_by_key(|s| std::cmp::Reverse(s.len()));
    }

    pub fn is_empty(&self) -> bool {
        self.forms.is_empty()
    }

    /// `text` with every form of every secret replaced by [`MASK`].
    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_string();
        for f in &self.forms {
            if out.contains(f.as_str()) {
                out = out.replace(f.as_str(), MASK);
            }
        }
        out
    }
}

static KNOWN: RwLock<Redactor> = RwLock::new(Redactor { forms: Vec::new() });

/// Remembers a secret for the rest of the process: every later [`redact`]
/// takes it out.
pub fn register(secret: &str) {
    if secret.len() < SHORTEST {
        return;
    }
    let mut known = KNOWN.write().unwrap_or_else(|e| e.into_inner());
    known.add(secret);
}

/// `text` with every registered secret taken out.
pub fn redact(text: &str) -> String {
    let known = KNOWN.read().unwrap_or_else(|e| e.into_inner());
    if known.is_empty() {
        return text.to_string();
    }
    known.redact(text)
}

/// A writer that redacts registered secrets from what goes through it
/// (the log subscriber writes each event in one piece).
pub struct Writer<W: std::io::Write>(pub W);

impl<W: std::io::Write> std::io::Write for Writer<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        self.0.write_all(redact(&text).as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_form_of_a_secret_is_masked() {
        let mut r = Redactor::default();
        let secret = "canary \"pw\"/+?&=é";
        r.add(secret);
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD.encode(secret);
        let url_safe = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret);
        let json = serde_json::to_string(secret).unwrap();
        let form: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
        let path = form.replace('+', "%20");
        for text in [
            secret.to_string(),
            b64,
            url_safe,
            json.trim_matches('"').to_string(),
            form,
            path,
        ] {
            let out = r.redact(&format!("before {text} after"));
            assert_eq!(out, "before (sensitive) after", "{text}");
        }
    }

    #[test]
    fn lines_of_a_multi_line_secret_are_masked_alone() {
        let mut r = Redactor::default();
        r.add("-----BEGIN KEY-----\nAAAABBBBCCCC\n-----END KEY-----");
        assert_eq!(r.redact("got AAAABBBBCCCC here"), "got (sensitive) here");
    }

    #[test]
    fn short_values_are_not_searched_for() {
        let mut r = Redactor::default();
        r.add("1");
        assert!(r.is_empty());
        assert_eq!(r.redact("1 2 3"), "1 2 3");
    }

    #[test]
    fn registered_secrets_leave_logs_through_the_writer() {
        use std::io::Write;
        register("registered-canary-42");
        let mut out = Writer(Vec::new());
        out.write_all(b"level=TRACE body=registered-canary-42\n")
            .unwrap();
        assert_eq!(
            String::from_utf8(out.0).unwrap(),
            "level=TRACE body=(sensitive)\n"
        );
    }
}
