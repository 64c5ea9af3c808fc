//! The `sops` block of an encrypted document: the wrapped data keys, the
//! sealed MAC, lastmodified, the version and the encryption rule. Written
//! with keys sorted, as current sops writes it.

use super::cipher::Plain;
use super::tree::{Node, Rule};
use super::SecretsError;
use std::collections::BTreeMap;

/// The version written into files: sops checks it is valid semver.
pub const VERSION: &str = "3.10.2";

#[derive(Clone, Debug, PartialEq, Default)]
pub struct KmsKey {
    pub arn: String,
    pub created_at: String,
    pub enc: String,
    pub aws_profile: String,
    pub role: Option<String>,
    pub context: BTreeMap<String, String>,
}

#[derive(Clone, Debug, PartialEq, Default)]
pub struct AgeKey {
    pub recipient: String,
    pub enc: String,
}

#[derive(Clone, Debug, PartialEq, Default)]
pub struct Metadata {
    pub kms: Vec<KmsKey>,
    pub age: Vec<AgeKey>,
    pub lastmodified: String,
    pub mac: String,
    pub version: String,
    pub rule: Rule,
    pub mac_only_encrypted: bool,
}

fn s(v: &str) -> Node {
    Node::Leaf(Plain::Str(v.to_string()))
}

fn get<'a>(m: &'a [(String, Node)], k: &str) -> Option<&'a Node> {
    m.iter().find(|(x, _)| x == k).map(|(_, v)| v)
}

fn text(n: Option<&Node>) -> Option<String> {
    match n {
        Some(Node::Leaf(Plain::Str(s))) => Some(s.clone()),
        Some(Node::Leaf(p)) => Some(String::from_utf8_lossy(&p.to_bytes()).to_string()),
        _ => None,
    }
}

fn list(n: Option<&Node>) -> Vec<&[(String, Node)]> {
    match n {
        Some(Node::List(items)) => items
            .iter()
            .filter_map(|i| match i {
                Node::Map(m) => Some(m.as_slice()),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

impl Metadata {
    /// Takes the `sops` entry out of a document.
    pub fn extract(doc: &mut Node) -> Result<Metadata, SecretsError> {
        let Node::Map(entries) = doc else {
            return Err(SecretsError::NotSops);
        };
        let at = entries
            .iter()
            .position(|(k, _)| k == "sops")
            .ok_or(SecretsError::NotSops)?;
        let (_, block) = entries.remove(at);
        let Node::Map(m) = block else {
            return Err(SecretsError::Metadata(
                "the `sops` entry is not a mapping".into(),
            ));
        };
        let kms = list(get(&m, "kms"))
            .into_iter()
            .map(|k| KmsKey {
                arn: text(get(k, "arn")).unwrap_or_default(),
                created_at: text(get(k, "created_at")).unwrap_or_default(),
                enc: text(get(k, "enc")).unwrap_or_default(),
                aws_profile: text(get(k, "aws_profile")).unwrap_or_default(),
                role: text(get(k, "role")).filter(|r| !r.is_empty()),
                context: match get(k, "context") {
                    Some(Node::Map(c)) => c
                        .iter()
                        .filter_map(|(ck, cv)| Some((ck.clone(), text(Some(cv))?)))
                        .collect(),
                    _ => BTreeMap::new(),
                },
            })
            .collect();
        let age = list(get(&m, "age"))
            .into_iter()
            .map(|k| AgeKey {
                recipient: text(get(k, "recipient")).unwrap_or_default(),
                enc: text(get(k, "enc")).unwrap_or_default(),
            })
            .collect();
        let rules: Vec<Rule> = [
            (
                "unencrypted_suffix",
                Rule::UnencryptedSuffix as fn(String) -> Rule,
            ),
            ("encrypted_suffix", Rule::EncryptedSuffix),
            ("unencrypted_regex", Rule::UnencryptedRegex),
            ("encrypted_regex", Rule::EncryptedRegex),
        ]
        .into_iter()
        .filter_map(|(k, make)| text(get(&m, k)).filter(|v| !v.is_empty()).map(make))
        .collect();
        if rules.len() > 1 {
            return Err(SecretsError::Metadata(
                "more than one of unencrypted_suffix, encrypted_suffix, unencrypted_regex, encrypted_regex".into(),
            ));
        }
        for k in ["encrypted_comment_regex", "unencrypted_comment_regex"] {
            if text(get(&m, k)).is_some_and(|v| !v.is_empty()) {
                return Err(SecretsError::Unsupported(format!("the `{k}` rule")));
            }
        }
        if list(get(&m, "key_groups")).len() > 1 || text(get(&m, "shamir_threshold")).is_some() {
            return Err(SecretsError::Unsupported(
                "several key groups (Shamir sharing)".into(),
            ));
        }
        for k in ["pgp", "gcp_kms", "azure_kv", "hc_vault"] {
            if !list(get(&m, k)).is_empty() {
                return Err(SecretsError::Unsupported(format!("`{k}` master keys")));
            }
        }
        let meta = Metadata {
            kms,
            age,
            lastmodified: text(get(&m, "lastmodified")).unwrap_or_default(),
            mac: text(get(&m, "mac")).unwrap_or_default(),
            version: text(get(&m, "version")).unwrap_or_default(),
            rule: rules.into_iter().next().unwrap_or_default(),
            mac_only_encrypted: matches!(
                get(&m, "mac_only_encrypted"),
                Some(Node::Leaf(Plain::Bool(true)))
            ),
        };
        if meta.kms.is_empty() && meta.age.is_empty() {
            return Err(SecretsError::Metadata(
                "no master keys (kms or age) in the file".into(),
            ));
        }
        Ok(meta)
    }

    /// The `sops` entry, keys sorted.
    pub fn to_node(&self) -> Node {
        let mut m: Vec<(String, Node)> = Vec::new();
        if !self.age.is_empty() {
            m.push((
                "age".into(),
                Node::List(
                    self.age
                        .iter()
                        .map(|a| {
                            Node::Map(vec![
                                ("enc".into(), s(&a.enc)),
                                ("recipient".into(), s(&a.recipient)),
                            ])
                        })
                        .collect(),
                ),
            ));
        }
        if !self.kms.is_empty() {
            m.push((
                "kms".into(),
                Node::List(
                    self.kms
                        .iter()
                        .map(|k| {
                            let mut e = vec![
                                ("arn".to_string(), s(&k.arn)),
                                ("aws_profile".into(), s(&k.aws_profile)),
                            ];
                            if !k.context.is_empty() {
                                e.push((
                                    "context".into(),
                                    Node::Map(
                                        k.context.iter().map(|(a, b)| (a.clone(), s(b))).collect(),
                                    ),
                                ));
                            }
                            e.push(("created_at".into(), s(&k.created_at)));
                            e.push(("enc".into(), s(&k.enc)));
                            if let Some(r) = &k.role {
                                e.push(("role".into(), s(r)));
                            }
                            Node::Map(e)
                        })
                        .collect(),
                ),
            ));
        }
        m.push(("lastmodified".into(), s(&self.lastmodified)));
        m.push(("mac".into(), s(&self.mac)));
        if self.mac_only_encrypted {
            m.push(("mac_only_encrypted".into(), Node::Leaf(Plain::Bool(true))));
        }
        match &self.rule {
            Rule::Default => m.push(("unencrypted_suffix".into(), s("_unencrypted"))),
            Rule::UnencryptedSuffix(v) => m.push(("unencrypted_suffix".into(), s(v))),
            Rule::EncryptedSuffix(v) => m.push(("encrypted_suffix".into(), s(v))),
            Rule::UnencryptedRegex(v) => m.push(("unencrypted_regex".into(), s(v))),
            Rule::EncryptedRegex(v) => m.push(("encrypted_regex".into(), s(v))),
        }
        m.push(("version".into(), s(&self.version)));
        m.sort_by(|a, b| a.0.cmp(&b.0));
        Node::Map(m)
    }
}
