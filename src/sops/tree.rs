//! The document tree of a SOPS file and its encryption: which leaves are
//! encrypted (suffix and regex rules), each under its key path, and the MAC
//! over every plaintext leaf.

use super::cipher::{self, Plain, SopsError};
use sha2::{Digest, Sha512};

/// An ordered document: mappings keep their key order.
#[derive(Clone, Debug, PartialEq)]
pub enum Node {
    Map(Vec<(String, Node)>),
    List(Vec<Node>),
    Leaf(Plain),
    Null,
}

/// Which leaves are encrypted. At most one rule is set; with none, the
/// default `unencrypted_suffix: _unencrypted` applies.
#[derive(Clone, Debug, PartialEq, Default)]
pub enum Rule {
    #[default]
    Default,
    UnencryptedSuffix(String),
    EncryptedSuffix(String),
    UnencryptedRegex(String),
    EncryptedRegex(String),
}

impl Rule {
    /// Whether a leaf under `path` (its mapping keys) is encrypted.
    pub fn encrypts(&self, path: &[String]) -> Result<bool, SopsError> {
        Ok(match self {
            Rule::Default => !path.iter().any(|k| k.ends_with("_unencrypted")),
            Rule::UnencryptedSuffix(s) => !path.iter().any(|k| k.ends_with(s.as_str())),
            Rule::EncryptedSuffix(s) => path.iter().any(|k| k.ends_with(s.as_str())),
            Rule::UnencryptedRegex(r) => !any_match(r, path)?,
            Rule::EncryptedRegex(r) => any_match(r, path)?,
        })
    }
}

/// An unanchored search, as sops does (Go RE2; the `regex` crate's syntax
/// is the same for the rules files use).
fn matches(pattern: &str, text: &str) -> Result<bool, SopsError> {
    regex::Regex::new(pattern)
        .map(|r| r.is_match(text))
        .map_err(|_| SopsError::BadRule(pattern.to_string()))
}

fn any_match(pattern: &str, path: &[String]) -> Result<bool, SopsError> {
    for k in path {
        if matches(pattern, k)? {
            return Ok(true);
        }
    }
    Ok(false)
}

/// A leaf's key path as the additional data of its encryption: `db:user:`,
/// and `:` for the top level.
pub fn aad(path: &[String]) -> String {
    let mut s = String::new();
    for k in path {
        s.push_str(k);
        s.push(':');
    }
    if s.is_empty() {
        s.push(':');
    }
    s
}

/// The MAC input: every non-null, non-comment leaf's plaintext bytes in
/// document order; unencrypted leaves too unless `only_encrypted`.
struct Mac {
    hash: Sha512,
    only_encrypted: bool,
}

impl Mac {
    fn new(only_encrypted: bool) -> Mac {
        let mut hash = Sha512::new();
        if only_encrypted {
            hash.update(Sha256Marker::BYTES);
        }
        Mac {
            hash,
            only_encrypted,
        }
    }

    fn add(&mut self, p: &Plain, encrypted: bool) {
        if matches!(p, Plain::Comment(_)) || (self.only_encrypted && !encrypted) {
            return;
        }
        self.hash.update(p.to_bytes());
    }

    fn hex(self) -> String {
        hex::encode_upper(self.hash.finalize())
    }
}

/// SHA-256 of the ASCII string `sops`, which starts the MAC when it covers
/// encrypted values only.
struct Sha256Marker;

impl Sha256Marker {
    const BYTES: [u8; 32] = [
        0x8a, 0x3f, 0xd2, 0xad, 0x54, 0xce, 0x66, 0x52, 0x7b, 0x10, 0x34, 0xf3, 0xd1, 0x47, 0xbe,
        0x0b, 0x0b, 0x97, 0x5b, 0x3b, 0xf4, 0x4f, 0x72, 0xc6, 0xfd, 0xad, 0xec, 0x81, 0x76, 0xf2,
        0x7d, 0x69,
    ];
}

/// What is done to each leaf, given its key path.
type LeafFn<'a> = dyn FnMut(&Plain, &[String]) -> Result<Plain, SopsError> + 'a;

/// Rebuilds a tree, leaf by leaf: `leaf` gets each leaf and its key path
/// (comments take the path of the mapping or list they sit in).
fn map_leaves(n: &Node, path: &mut Vec<String>, leaf: &mut LeafFn) -> Result<Node, SopsError> {
    Ok(match n {
        Node::Map(entries) => {
            let mut out = Vec::with_capacity(entries.len());
            for (k, v) in entries {
                let comment = k == super::yaml::COMMENT_KEY;
                if !comment {
                    path.push(k.clone());
                }
                let mapped = map_leaves(v, path, leaf);
                if !comment {
                    path.pop();
                }
                out.push((k.clone(), mapped?));
            }
            Node::Map(out)
        }
        Node::List(items) => Node::List(
            items
                .iter()
                .map(|i| map_leaves(i, path, leaf))
                .collect::<Result<_, _>>()?,
        ),
        Node::Null => Node::Null,
        Node::Leaf(p) => Node::Leaf(leaf(p, path)?),
    })
}

/// Encrypts every leaf the rule selects; returns the encrypted tree and the
/// MAC (uppercase hex) of the plaintext.
pub fn encrypt(
    tree: &Node,
    key: &[u8; 32],
    rule: &Rule,
    mac_only_encrypted: bool,
) -> Result<(Node, String), SopsError> {
    let mut mac = Mac::new(mac_only_encrypted);
    let out = map_leaves(tree, &mut Vec::new(), &mut |p, path| {
        let encrypt = rule.encrypts(path)?;
        mac.add(p, encrypt);
        if !encrypt {
            return Ok(p.clone());
        }
        let sealed = cipher::encrypt(key, p, &aad(path), None);
        Ok(match p {
            Plain::Comment(_) => Plain::Comment(sealed),
            _ => Plain::Str(sealed),
        })
    })?;
    Ok((out, mac.hex()))
}

/// The MAC (uppercase hex) of a plaintext tree, as `encrypt` computes it.
pub fn mac(tree: &Node, rule: &Rule, mac_only_encrypted: bool) -> Result<String, SopsError> {
    let mut mac = Mac::new(mac_only_encrypted);
    map_leaves(tree, &mut Vec::new(), &mut |p, path| {
        mac.add(p, rule.encrypts(path)?);
        Ok(p.clone())
    })?;
    Ok(mac.hex())
}

/// Decrypts every encrypted leaf; returns the plaintext tree and the MAC
/// computed over it.
pub fn decrypt(
    tree: &Node,
    key: &[u8; 32],
    rule: &Rule,
    mac_only_encrypted: bool,
) -> Result<(Node, String), SopsError> {
    let mut mac = Mac::new(mac_only_encrypted);
    let out = map_leaves(tree, &mut Vec::new(), &mut |p, path| {
        let encrypted = rule.encrypts(path)?;
        let plain = match p {
            Plain::Str(s) if encrypted && cipher::is_encrypted(s) => {
                cipher::decrypt(key, s, &aad(path))?
            }
            Plain::Comment(s) if cipher::is_encrypted(s) => cipher::decrypt(key, s, &aad(path))?,
            other => other.clone(),
        };
        mac.add(&plain, encrypted);
        Ok(plain)
    })?;
    Ok((out, mac.hex()))
}

/// Encrypts the MAC for storage: a `str` value with `lastmodified` as AAD.
pub fn seal_mac(key: &[u8; 32], mac: &str, lastmodified: &str) -> String {
    cipher::encrypt(key, &Plain::Str(mac.to_string()), lastmodified, None)
}

/// Opens a stored MAC.
pub fn open_mac(key: &[u8; 32], sealed: &str, lastmodified: &str) -> Result<String, SopsError> {
    match cipher::decrypt(key, sealed, lastmodified)? {
        Plain::Str(s) => Ok(s),
        _ => Err(SopsError::BadPlaintext("MAC")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> Node {
        Node::Leaf(Plain::Str(v.into()))
    }

    fn sample() -> Node {
        Node::Map(vec![
            (
                "db".into(),
                Node::Map(vec![
                    ("user".into(), s("admin")),
                    ("port".into(), Node::Leaf(Plain::Int(5432))),
                    ("ratio".into(), Node::Leaf(Plain::Float(0.5))),
                    ("enabled".into(), Node::Leaf(Plain::Bool(true))),
                ]),
            ),
            (
                "hosts".into(),
                Node::List(vec![
                    s("a.example"),
                    Node::Map(vec![
                        ("name".into(), s("b")),
                        ("pw_unencrypted".into(), s("visible")),
                    ]),
                ]),
            ),
            ("empty".into(), s("")),
            ("nothing".into(), Node::Null),
        ])
    }

    fn leaf<'a>(n: &'a Node, path: &[&str]) -> &'a Node {
        let mut cur = n;
        for k in path {
            cur = match cur {
                Node::Map(e) => &e.iter().find(|(x, _)| x == k).unwrap().1,
                Node::List(l) => &l[k.parse::<usize>().unwrap()],
                _ => panic!("no {k}"),
            };
        }
        cur
    }

    #[test]
    fn encrypts_leaves_under_their_paths_and_keeps_the_rest() {
        let key = [3u8; 32];
        let (enc, mac) = encrypt(&sample(), &key, &Rule::Default, false).unwrap();
        let Node::Leaf(Plain::Str(user)) = leaf(&enc, &["db", "user"]) else {
            panic!()
        };
        assert!(user.ends_with("type:str]"));
        assert_eq!(
            cipher::decrypt(&key, user, "db:user:").unwrap(),
            Plain::Str("admin".into())
        );
        let Node::Leaf(Plain::Str(name)) = leaf(&enc, &["hosts", "1", "name"]) else {
            panic!()
        };
        assert_eq!(
            cipher::decrypt(&key, name, "hosts:name:").unwrap(),
            Plain::Str("b".into())
        );
        let Node::Leaf(Plain::Str(first)) = leaf(&enc, &["hosts", "0"]) else {
            panic!()
        };
        assert_eq!(
            cipher::decrypt(&key, first, "hosts:").unwrap(),
            Plain::Str("a.example".into())
        );
        assert_eq!(leaf(&enc, &["hosts", "1", "pw_unencrypted"]), &s("visible"));
        assert_eq!(leaf(&enc, &["empty"]), &s(""));
        assert_eq!(leaf(&enc, &["nothing"]), &Node::Null);
        // The MAC covers every plaintext leaf, unencrypted ones included.
        let mut h = Sha512::new();
        for part in ["admin", "5432", "0.5", "True", "a.example", "b", "visible"] {
            h.update(part.as_bytes());
        }
        assert_eq!(mac, hex::encode_upper(h.finalize()));
        let (back, mac2) = decrypt(&enc, &key, &Rule::Default, false).unwrap();
        assert_eq!(back, sample());
        assert_eq!(mac, mac2);
        assert_eq!(super::mac(&sample(), &Rule::Default, false).unwrap(), mac);
    }

    #[test]
    fn rules_select_leaves() {
        let p = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(!Rule::Default.encrypts(&p(&["a_unencrypted", "b"])).unwrap());
        assert!(Rule::EncryptedRegex("^(data|stringData)$".into())
            .encrypts(&p(&["data", "x"]))
            .unwrap());
        assert!(!Rule::EncryptedRegex("^(data|stringData)$".into())
            .encrypts(&p(&["metadata", "x"]))
            .unwrap());
        assert!(Rule::EncryptedSuffix("_secret".into())
            .encrypts(&p(&["db_secret"]))
            .unwrap());
        assert!(!Rule::UnencryptedRegex("^public".into())
            .encrypts(&p(&["public_key"]))
            .unwrap());
    }

    #[test]
    fn the_mac_seals_under_lastmodified() {
        let key = [5u8; 32];
        let sealed = seal_mac(&key, "ABCDEF", "2025-01-01T10:00:05Z");
        assert_eq!(
            open_mac(&key, &sealed, "2025-01-01T10:00:05Z").unwrap(),
            "ABCDEF"
        );
        assert_eq!(
            open_mac(&key, &sealed, "2025-01-01T10:00:06Z"),
            Err(SopsError::Decrypt)
        );
    }
}
