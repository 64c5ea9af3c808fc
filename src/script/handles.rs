//! The typed values scripts hold: handles of resources (each kind defines
//! its own handle type), outputs of resources (known now or after apply)
//! and sensitive values.

use crate::model::{Address, Kind, Part, Ref, Value};
use rhai::Dynamic;
use std::fmt;

/// The kind of resource a script value is a handle of, if it is one.
pub fn kind_of(v: &Dynamic) -> Option<Kind> {
    address_of(v).map(|a| a.kind)
}

/// The address a handle stands for, whatever its kind.
pub fn address_of(v: &Dynamic) -> Option<Address> {
    super::hooks::kinds().iter().find_map(|k| (k.unwrap)(v))
}

/// Wraps an address in the handle type of its kind.
pub fn handle_for(a: Address) -> Dynamic {
    (super::hooks::of(a.kind).wrap)(a)
}

/// The type name a script sees (`type_of(x)`), per kind.
pub fn type_name(k: Kind) -> &'static str {
    k.schema().handle
}

/// The type name of any script value, for messages.
pub fn display_type_name(v: &Dynamic) -> String {
    if let Some(k) = kind_of(v) {
        return format!("{} handle", type_name(k));
    }
    if v.is::<Output>() {
        return "resource output".into();
    }
    if v.is::<SecretValue>() {
        return "sensitive value".into();
    }
    v.type_name()
        .rsplit("::")
        .next()
        .unwrap_or("value")
        .to_string()
}

/// One piece of an output string.
#[derive(Clone, Debug, PartialEq)]
pub enum OutPart {
    Lit(String),
    /// An attribute of a resource; `known` when the script already knows it
    /// (a name), `None` when only AWS will tell (an ARN).
    Attr {
        r: Ref,
        known: Option<String>,
    },
}

/// A value that comes from a resource: using it in another resource makes
/// that resource depend on this one.
#[derive(Clone, Debug, PartialEq)]
pub struct Output(pub Vec<OutPart>);

impl Output {
    pub fn attr(address: &Address, attr: &str, known: Option<String>) -> Output {
        Output(vec![OutPart::Attr {
            r: Ref {
                address: address.clone(),
                attr: attr.to_string(),
            },
            known,
        }])
    }

    pub fn concat(mut self, other: Output) -> Output {
        self.0.extend(other.0);
        self
    }

    pub fn lit(s: &str) -> Output {
        Output(vec![OutPart::Lit(s.to_string())])
    }

    /// The addresses this output depends on.
    pub fn deps(&self) -> impl Iterator<Item = &Address> {
        self.0.iter().filter_map(|p| match p {
            OutPart::Attr { r, .. } => Some(&r.address),
            OutPart::Lit(_) => None,
        })
    }

    /// The text, when every part is known now.
    pub fn known(&self) -> Option<String> {
        let mut s = String::new();
        for p in &self.0 {
            match p {
                OutPart::Lit(l) => s.push_str(l),
                OutPart::Attr { known: Some(k), .. } => s.push_str(k),
                OutPart::Attr { known: None, .. } => return None,
            }
        }
        Some(s)
    }

    /// The spec value: a plain string when known, a reference, or a template.
    pub fn to_value(&self) -> Value {
        if let Some(s) = self.known() {
            return Value::Str(s);
        }
        if let [OutPart::Attr { r, .. }] = self.0.as_slice() {
            return Value::Ref(r.clone());
        }
        let mut parts: Vec<Part> = Vec::new();
        for p in &self.0 {
            let piece = match p {
                OutPart::Lit(l) => Part::Lit(l.clone()),
                OutPart::Attr { known: Some(k), .. } => Part::Lit(k.clone()),
                OutPart::Attr { r, known: None } => Part::Ref(r.clone()),
            };
            match (parts.last_mut(), piece) {
                (Some(Part::Lit(prev)), Part::Lit(next)) => prev.push_str(&next),
                (_, piece) => parts.push(piece),
            }
        }
        Value::Template(parts)
    }
}

impl fmt::Display for Output {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for p in &self.0 {
            match p {
                OutPart::Lit(l) => f.write_str(l)?,
                OutPart::Attr { known: Some(k), .. } => f.write_str(k)?,
                OutPart::Attr { r, known: None } => write!(f, "${{{r}}}")?,
            }
        }
        Ok(())
    }
}

/// A secret from `sops_file(...)`: prints as `(sensitive)` and reaches
/// specs as a sensitive value. `hash` is keyed with the file's data key;
/// `value` is `None` when the file was read sealed (`bp check`).
#[derive(Clone, Debug)]
pub struct SecretValue {
    pub hash: String,
    pub value: Option<Value>,
}

impl SecretValue {
    /// A string built from this secret and plain text stays secret.
    fn join(parts: &[(&str, Option<&SecretValue>)]) -> SecretValue {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        let mut text = Some(String::new());
        for (lit, secret) in parts {
            match secret {
                Some(s) => {
                    h.update(s.hash.as_bytes());
                    text = match (text, &s.value) {
                        (Some(t), Some(Value::Str(x))) => Some(t + x.as_str()),
                        (Some(t), Some(other)) => Some(t + other.to_string().as_str()),
                        _ => None,
                    };
                }
                None => {
                    h.update(lit.as_bytes());
                    if let Some(t) = &mut text {
                        t.push_str(lit);
                    }
                }
            }
            h.update([0]);
        }
        SecretValue {
            hash: format!("derived-sha256:{}", hex::encode(h.finalize())),
            value: text.map(Value::Str),
        }
    }
}

pub fn register_values(engine: &mut rhai::Engine) {
    engine
        .register_type_with_name::<SecretValue>("Sensitive")
        .register_fn("to_string", |_: &mut SecretValue| "(sensitive)".to_string())
        .register_fn("to_debug", |_: &mut SecretValue| "(sensitive)".to_string())
        .register_fn("+", |a: SecretValue, b: rhai::ImmutableString| {
            SecretValue::join(&[("", Some(&a)), (b.as_str(), None)])
        })
        .register_fn("+", |a: rhai::ImmutableString, b: SecretValue| {
            SecretValue::join(&[(a.as_str(), None), ("", Some(&b))])
        })
        .register_fn("+", |a: SecretValue, b: SecretValue| {
            SecretValue::join(&[("", Some(&a)), ("", Some(&b))])
        });
    engine
        .register_type_with_name::<Output>("Output")
        .register_fn("to_string", |o: &mut Output| o.to_string())
        .register_fn("to_debug", |o: &mut Output| format!("Output({o})"))
        .register_fn("+", |a: Output, b: Output| a.concat(b))
        .register_fn("+", |a: Output, b: rhai::ImmutableString| {
            a.concat(Output::lit(&b))
        })
        .register_fn("+", |a: rhai::ImmutableString, b: Output| {
            Output::lit(&a).concat(b)
        })
        .register_fn("==", |a: Output, b: rhai::ImmutableString| {
            a.known().is_some_and(|k| k == b.as_str())
        })
        .register_fn("==", |a: rhai::ImmutableString, b: Output| {
            b.known().is_some_and(|k| k == a.as_str())
        })
        .register_fn("==", |a: Output, b: Output| a == b);
}

/// The properties and methods of each handle type, for completion and `:help`.
pub fn members(type_name: &str) -> &'static [&'static str] {
    super::hooks::by_handle(type_name)
        .map(|d| d.members)
        .unwrap_or(&["address"])
}

/// A spec value as a script value: secrets as "(sensitive)", references as
/// "${kind.name.attr}" (what they point at, as the plan writes them).
pub fn to_dynamic(v: &Value) -> Dynamic {
    match v {
        Value::Null => Dynamic::UNIT,
        Value::Bool(b) => Dynamic::from(*b),
        Value::Int(i) => Dynamic::from(*i),
        Value::Float(f) => Dynamic::from(*f),
        Value::Str(s) => Dynamic::from(s.clone()),
        Value::List(l) => Dynamic::from_array(l.iter().map(to_dynamic).collect()),
        Value::Map(m) => Dynamic::from_map(
            m.iter()
                .map(|(k, x)| (k.as_str().into(), to_dynamic(x)))
                .collect(),
        ),
        Value::Sensitive(_) => Dynamic::from("(sensitive)".to_string()),
        Value::Ref(_) | Value::Template(_) => Dynamic::from(v.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_collapse_to_strings_refs_or_templates() {
        let c = Address::new(Kind::new("clusterish"), "pms");
        let name = Output::attr(&c, "name", Some("pms".into()));
        let arn = Output::attr(&c, "arn", None);
        assert_eq!(
            Output::lit("x-").concat(name.clone()).to_value(),
            Value::str("x-pms")
        );
        assert!(matches!(arn.to_value(), Value::Ref(_)));
        let t = Output::lit("a")
            .concat(name)
            .concat(Output::lit("/"))
            .concat(arn);
        match t.to_value() {
            Value::Template(parts) => {
                assert_eq!(parts.len(), 2);
                assert_eq!(parts[0], Part::Lit("apms/".into()));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(t.deps().count(), 2);
    }
}
