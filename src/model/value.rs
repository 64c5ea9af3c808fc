//! The value tree of a resource spec: plain data plus references to
//! attributes of other resources that are only known once those exist.

use super::Address;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::json;
use std::collections::BTreeMap;
use std::fmt;

pub type Map = BTreeMap<String, Value>;

/// A reference to an attribute of another resource, e.g. `vpc.pms-prod` `id`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ref {
    pub address: Address,
    pub attr: String,
}

impl fmt::Display for Ref {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.address, self.attr)
    }
}

impl std::str::FromStr for Ref {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (addr, attr) = s
            .rsplit_once('.')
            .ok_or_else(|| format!("`{s}` is not a reference"))?;
        Ok(Ref {
            address: addr.parse()?,
            attr: attr.to_string(),
        })
    }
}

/// A value that must never be shown: only its keyed hash is ever written
/// out. `value` is absent when it was read back from a saved plan.
#[derive(Clone, Debug)]
pub struct Secret {
    /// `hmac-sha256:<hex>`, keyed with the data key of the file it came from.
    pub hash: String,
    pub value: Option<Box<Value>>,
}

impl PartialEq for Secret {
    fn eq(&self, other: &Secret) -> bool {
        self.hash == other.hash
    }
}

/// One piece of a string built from literals and references.
#[derive(Clone, Debug, PartialEq)]
pub enum Part {
    Lit(String),
    Ref(Ref),
}

#[derive(Clone, Debug, PartialEq, Default)]
pub enum Value {
    #[default]
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    List(Vec<Value>),
    Map(Map),
    /// An attribute of another resource, known after that resource exists.
    Ref(Ref),
    /// A string with references inside, e.g. `"arn:aws:iam::" + c.arn`.
    Template(Vec<Part>),
    /// A secret (from `sops_file`): shown as `(sensitive)`, saved as a hash.
    Sensitive(Secret),
}

impl Value {
    pub fn str(s: impl Into<String>) -> Value {
        Value::Str(s.into())
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    pub fn as_list(&self) -> Option<&[Value]> {
        match self {
            Value::List(l) => Some(l),
            _ => None,
        }
    }

    pub fn as_map(&self) -> Option<&Map> {
        match self {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    pub fn as_ref(&self) -> Option<&Ref> {
        match self {
            Value::Ref(r) => Some(r),
            _ => None,
        }
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        self.as_map().and_then(|m| m.get(key))
    }

    /// Whether a sensitive value is inside.
    pub fn is_sensitive(&self) -> bool {
        match self {
            Value::Sensitive(_) => true,
            Value::List(l) => l.iter().any(Value::is_sensitive),
            Value::Map(m) => m.values().any(Value::is_sensitive),
            _ => false,
        }
    }

    /// The value with secrets in clear, for API calls only. `Err` names a
    /// secret whose value is not known (a plan read back from a file).
    pub fn reveal(&self) -> Result<Value, String> {
        Ok(match self {
            Value::Sensitive(s) => match &s.value {
                Some(v) => v.reveal()?,
                None => {
                    return Err(format!(
                        "the value of sensitive {} is not available",
                        s.hash
                    ))
                }
            },
            Value::List(l) => Value::List(l.iter().map(Value::reveal).collect::<Result<_, _>>()?),
            Value::Map(m) => Value::Map(
                m.iter()
                    .map(|(k, v)| Ok((k.clone(), v.reveal()?)))
                    .collect::<Result<_, String>>()?,
            ),
            other => other.clone(),
        })
    }

    /// The clear text of every secret inside whose value is known, depth
    /// first: what must be kept out of everything printed.
    pub fn secrets_in_clear(&self) -> Vec<String> {
        fn collect(v: &Value, out: &mut Vec<String>) {
            match v {
                Value::Sensitive(s) => match s.value.as_deref().map(Value::reveal) {
                    Some(Ok(Value::Str(t))) => out.push(t),
                    Some(Ok(other)) => out.push(other.to_string()),
                    _ => {}
                },
                Value::List(l) => l.iter().for_each(|x| collect(x, out)),
                Value::Map(m) => m.values().for_each(|x| collect(x, out)),
                _ => {}
            }
        }
        let mut out = Vec::new();
        collect(self, &mut out);
        out
    }

    /// Every reference inside this value, depth first.
    pub fn refs(&self) -> Vec<&Ref> {
        let mut out = Vec::new();
        self.collect_refs(&mut out);
        out
    }

    fn collect_refs<'a>(&'a self, out: &mut Vec<&'a Ref>) {
        match self {
            Value::Ref(r) => out.push(r),
            Value::Template(parts) => out.extend(parts.iter().filter_map(|p| match p {
                Part::Ref(r) => Some(r),
                Part::Lit(_) => None,
            })),
            Value::List(l) => l.iter().for_each(|v| v.collect_refs(out)),
            Value::Map(m) => m.values().for_each(|v| v.collect_refs(out)),
            _ => {}
        }
    }

    /// The JSON form used by `--json` output and saved plans.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => json!(b),
            Value::Int(i) => json!(i),
            Value::Float(f) => json!(f),
            Value::Str(s) => json!(s),
            Value::List(l) => serde_json::Value::Array(l.iter().map(Value::to_json).collect()),
            Value::Map(m) => {
                serde_json::Value::Object(m.iter().map(|(k, v)| (k.clone(), v.to_json())).collect())
            }
            Value::Ref(r) => json!({ "$ref": r.to_string() }),
            Value::Sensitive(s) => json!({ "$sensitive": s.hash }),
            Value::Template(parts) => json!({
                "$template": parts
                    .iter()
                    .map(|p| match p {
                        Part::Lit(s) => json!(s),
                        Part::Ref(r) => json!({ "$ref": r.to_string() }),
                    })
                    .collect::<Vec<_>>()
            }),
        }
    }

    pub fn from_json(v: &serde_json::Value) -> Result<Value, String> {
        Ok(match v {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => match n.as_i64() {
                Some(i) => Value::Int(i),
                None => Value::Float(n.as_f64().unwrap_or_default()),
            },
            serde_json::Value::String(s) => Value::Str(s.clone()),
            serde_json::Value::Array(a) => {
                Value::List(a.iter().map(Value::from_json).collect::<Result<_, _>>()?)
            }
            serde_json::Value::Object(o) => {
                if o.len() == 1 {
                    if let Some(serde_json::Value::String(r)) = o.get("$ref") {
                        return Ok(Value::Ref(r.parse()?));
                    }
                    if let Some(serde_json::Value::String(h)) = o.get("$sensitive") {
                        return Ok(Value::Sensitive(Secret {
                            hash: h.clone(),
                            value: None,
                        }));
                    }
                    if let Some(serde_json::Value::Array(parts)) = o.get("$template") {
                        let parts = parts
                            .iter()
                            .map(|p| match p {
                                serde_json::Value::String(s) => Ok(Part::Lit(s.clone())),
                                other => match Value::from_json(other)? {
                                    Value::Ref(r) => Ok(Part::Ref(r)),
                                    _ => Err("a template part must be a string or a $ref".into()),
                                },
                            })
                            .collect::<Result<_, String>>()?;
                        return Ok(Value::Template(parts));
                    }
                }
                Value::Map(
                    o.iter()
                        .map(|(k, v)| Ok((k.clone(), Value::from_json(v)?)))
                        .collect::<Result<_, String>>()?,
                )
            }
        })
    }
}

/// A compact, single-line rendering used in plans and the REPL.
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("null"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) => write!(f, "{x}"),
            Value::Str(s) => write!(f, "{s:?}"),
            Value::List(l) => {
                f.write_str("[")?;
                for (i, v) in l.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{v}")?;
                }
                f.write_str("]")
            }
            Value::Map(m) => {
                f.write_str("{")?;
                for (i, (k, v)) in m.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{k}: {v}")?;
                }
                f.write_str("}")
            }
            Value::Ref(r) => write!(f, "${{{r}}}"),
            Value::Sensitive(_) => f.write_str("(sensitive)"),
            Value::Template(parts) => {
                f.write_str("\"")?;
                for p in parts {
                    match p {
                        Part::Lit(s) => f.write_str(s)?,
                        Part::Ref(r) => write!(f, "${{{r}}}")?,
                    }
                }
                f.write_str("\"")
            }
        }
    }
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(s)
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = serde_json::Value::deserialize(d)?;
        Value::from_json(&v).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Kind;

    fn vpc_id() -> Ref {
        Ref {
            address: Address::new(Kind::all().next().expect("a registered kind"), "pms-prod"),
            attr: "id".into(),
        }
    }

    #[test]
    fn json_round_trip_keeps_references() {
        let mut m = Map::new();
        m.insert("vpc".into(), Value::Ref(vpc_id()));
        m.insert(
            "arn".into(),
            Value::Template(vec![Part::Lit("arn:".into()), Part::Ref(vpc_id())]),
        );
        m.insert("n".into(), Value::Int(3));
        m.insert("f".into(), Value::Float(1.5));
        m.insert(
            "l".into(),
            Value::List(vec![Value::Bool(true), Value::Null]),
        );
        let v = Value::Map(m);
        let back = Value::from_json(&v.to_json()).unwrap();
        assert_eq!(v, back);
        assert_eq!(back.refs().len(), 2);
    }

    #[test]
    fn secrets_show_and_save_only_their_hash() {
        let s = Value::Sensitive(Secret {
            hash: "hmac-sha256:ab".into(),
            value: Some(Box::new(Value::str("hunter2"))),
        });
        let v = Value::List(vec![s.clone()]);
        assert_eq!(v.to_string(), "[(sensitive)]");
        assert!(!v.to_json().to_string().contains("hunter2"));
        let back = Value::from_json(&v.to_json()).unwrap();
        assert_eq!(back, v, "equal by hash");
        assert_eq!(
            v.reveal().unwrap(),
            Value::List(vec![Value::str("hunter2")])
        );
        assert!(back.reveal().is_err());
        assert!(v.is_sensitive());
    }

    #[test]
    fn display_is_compact() {
        let v = Value::List(vec![Value::str("a"), Value::Ref(vpc_id())]);
        let kind = vpc_id().address.kind;
        assert_eq!(v.to_string(), format!(r#"["a", ${{{kind}.pms-prod.id}}]"#));
    }
}
