//! What the rules share: the resources of a kind, flags, strings and
//! references of a spec, and the rule for protections turned off.

use super::{Ctx, Hit};
use crate::model::{Address, Kind, Resource, Value};

pub fn of<'a>(ctx: &'a Ctx, kind: Kind) -> impl Iterator<Item = &'a Resource> {
    ctx.graph.iter().filter(move |r| r.kind() == kind)
}

pub fn flag(r: &Resource, key: &str) -> Option<bool> {
    r.get(key).and_then(Value::as_bool)
}

pub fn strs(v: Option<&Value>) -> Vec<&str> {
    match v {
        Some(Value::Str(s)) => vec![s.as_str()],
        Some(Value::List(l)) => l.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    }
}

/// The addresses a value refers to.
pub fn refs(v: Option<&Value>) -> Vec<&Address> {
    v.map(|v| v.refs().into_iter().map(|r| &r.address).collect())
        .unwrap_or_default()
}

pub fn name(r: &Resource) -> &str {
    r.str("name").unwrap_or_else(|| r.address.leaf())
}

pub const ANYWHERE: &[&str] = &["0.0.0.0/0", "::/0"];

/// Resources of `kind` that turn off a protection on by default
/// (`key: false`), each a hit at that option whose fix is `key: true`.
pub fn turned_off(
    ctx: &Ctx,
    out: &mut Vec<Hit>,
    kind: Kind,
    key: &'static str,
    message: fn(&str) -> String,
) {
    for r in of(ctx, kind) {
        if flag(r, key) == Some(false) {
            out.push(
                Hit::new(&r.address, message(name(r)))
                    .at(key)
                    .hint(format!("{key}: true")),
            );
        }
    }
}
