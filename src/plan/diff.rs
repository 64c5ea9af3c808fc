//! Field-level comparison of a desired spec with live attributes.

use super::FieldDiff;
use crate::model::{rules::Rules, Address, Map, Part, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Maps compared key by key over the keys of both sides (a tag that is no
/// longer declared is removed).
const KEYED: &[&str] = &["tags", "labels", "inline_policies"];
/// Maps compared key by key over the declared keys only.
const STRUCTS: &[&str] = &["scaling", "endpoint", "irsa"];

/// Replaces references whose target is known with their values; the rest
/// stay references ("known after apply").
pub fn resolve(v: &Value, known: &HashMap<Address, &BTreeMap<String, String>>) -> Value {
    let lookup =
        |r: &crate::model::Ref| known.get(&r.address).and_then(|o| o.get(&r.attr)).cloned();
    match v {
        Value::Ref(r) => lookup(r).map(Value::Str).unwrap_or_else(|| v.clone()),
        Value::Template(parts) => {
            let mut out: Vec<Part> = Vec::new();
            for p in parts {
                let piece = match p {
                    Part::Ref(r) => lookup(r).map(Part::Lit).unwrap_or_else(|| p.clone()),
                    lit => lit.clone(),
                };
                match (out.last_mut(), piece) {
                    (Some(Part::Lit(prev)), Part::Lit(next)) => prev.push_str(&next),
                    (_, piece) => out.push(piece),
                }
            }
            match out.as_slice() {
                [Part::Lit(s)] => Value::Str(s.clone()),
                [] => Value::Str(String::new()),
                _ => Value::Template(out),
            }
        }
        Value::List(l) => Value::List(l.iter().map(|x| resolve(x, known)).collect()),
        Value::Map(m) => Value::Map(
            m.iter()
                .map(|(k, x)| (k.clone(), resolve(x, known)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::List(l) => l.is_empty(),
        Value::Map(m) => m.is_empty(),
        _ => false,
    }
}

fn canonical(v: &Value, as_set: bool) -> String {
    match v {
        Value::List(l) if as_set => {
            let mut items: Vec<String> = l.iter().map(|x| canonical(x, false)).collect();
            items.sort();
            items.dedup();
            items.join("\u{1}")
        }
        Value::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => (*f as i64).to_string(),
        other => other.to_json().to_string(),
    }
}

/// Whether a desired value matches a live one. Unresolved references never
/// match: they stand for values that only exist after apply.
pub fn same(desired: &Value, live: &Value, as_set: bool) -> bool {
    if !desired.refs().is_empty() {
        return false;
    }
    let revealed;
    let desired = if desired.is_sensitive() {
        match desired.reveal() {
            Ok(v) => {
                revealed = v;
                &revealed
            }
            Err(_) => return false,
        }
    } else {
        desired
    };
    if is_empty(desired) && is_empty(live) {
        return true;
    }
    canonical(desired, as_set) == canonical(live, as_set)
}

/// The differences between a desired spec and live attributes, over the
/// fields the spec declares.
pub fn diff_fields(rules: &Rules, desired: &Value, live: &Value) -> Vec<FieldDiff> {
    let mut out = Vec::new();
    let empty = Map::new();
    let d = desired.as_map().unwrap_or(&empty);
    let l = live.as_map().unwrap_or(&empty);
    for (k, dv) in d {
        let lv = l.get(k).unwrap_or(&Value::Null);
        walk(rules, k, dv, lv, &mut out);
    }
    out
}

fn walk(rules: &Rules, path: &str, d: &Value, l: &Value, out: &mut Vec<FieldDiff>) {
    let top = path.split('.').next().unwrap_or(path);
    let nested = path.contains('.');
    let empty = Map::new();
    if !nested && (KEYED.contains(&top) || STRUCTS.contains(&top)) {
        if let (Some(dm), lm) = (d.as_map(), l.as_map().unwrap_or(&empty)) {
            let mut keys: BTreeSet<&String> = dm.keys().collect();
            if KEYED.contains(&top) {
                keys.extend(lm.keys());
            }
            for k in keys {
                let dv = dm.get(k).unwrap_or(&Value::Null);
                let lv = lm.get(k).unwrap_or(&Value::Null);
                walk(rules, &format!("{path}.{k}"), dv, lv, out);
            }
            return;
        }
    }
    if !same(d, l, rules.is_set(path)) {
        // What stands where a secret is declared is never shown either.
        let before = if d.is_sensitive() && !matches!(l, Value::Null) {
            Value::Sensitive(crate::model::Secret {
                hash: "live".into(),
                value: None,
            })
        } else {
            l.clone()
        };
        out.push(FieldDiff {
            path: path.to_string(),
            before,
            after: d.clone(),
            forces_replacement: rules.replacement_reason(path).is_some(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{rules, Kind, Ref};

    fn map(pairs: &[(&str, Value)]) -> Value {
        Value::Map(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        )
    }

    fn s(x: &str) -> Value {
        Value::str(x)
    }

    #[test]
    fn only_declared_fields_are_compared() {
        let d = map(&[("cidr", s("10.0.0.0/24"))]);
        let l = map(&[("cidr", s("10.0.0.0/24")), ("owner_id", s("123"))]);
        assert!(diff_fields(rules::of(Kind::Subnet), &d, &l).is_empty());
    }

    #[test]
    fn replacement_fields_are_flagged() {
        let d = map(&[("cidr", s("10.0.1.0/24"))]);
        let l = map(&[("cidr", s("10.0.0.0/24"))]);
        let f = diff_fields(rules::of(Kind::Subnet), &d, &l);
        assert_eq!(f.len(), 1);
        assert!(f[0].forces_replacement);
    }

    #[test]
    fn structs_compare_per_key_and_tags_over_both_sides() {
        let d = map(&[
            (
                "scaling",
                map(&[("min", Value::Int(1)), ("desired", Value::Int(3))]),
            ),
            ("tags", map(&[("team", s("a"))])),
        ]);
        let l = map(&[
            (
                "scaling",
                map(&[
                    ("min", Value::Int(1)),
                    ("desired", Value::Int(2)),
                    ("max", Value::Int(9)),
                ]),
            ),
            ("tags", map(&[("team", s("a")), ("old", s("x"))])),
        ]);
        let f = diff_fields(rules::of(Kind::NodeGroup), &d, &l);
        let paths: Vec<&str> = f.iter().map(|x| x.path.as_str()).collect();
        assert_eq!(paths, ["scaling.desired", "tags.old"]);
        assert!(!f[0].forces_replacement);
        assert_eq!(f[1].after, Value::Null);
    }

    #[test]
    fn sets_ignore_order_and_empties_match() {
        let d = map(&[
            ("logging", Value::List(vec![s("api"), s("audit")])),
            ("security_groups", Value::List(vec![])),
        ]);
        let l = map(&[("logging", Value::List(vec![s("audit"), s("api")]))]);
        assert!(diff_fields(rules::of(Kind::Cluster), &d, &l).is_empty());
        let d = map(&[("instance_types", Value::List(vec![s("a"), s("b")]))]);
        let l = map(&[("instance_types", Value::List(vec![s("b"), s("a")]))]);
        assert!(diff_fields(rules::of(Kind::NodeGroup), &d, &l).is_empty());
    }

    #[test]
    fn references_resolve_when_known_and_differ_when_not() {
        let vpc = Address::new(Kind::Vpc, "v");
        let d = map(&[(
            "vpc",
            Value::Ref(Ref {
                address: vpc.clone(),
                attr: "id".into(),
            }),
        )]);
        let l = map(&[("vpc", s("vpc-1"))]);
        let outputs = BTreeMap::from([("id".to_string(), "vpc-1".to_string())]);
        let known = HashMap::from([(vpc, &outputs)]);
        assert!(diff_fields(rules::of(Kind::Subnet), &resolve(&d, &known), &l).is_empty());
        let f = diff_fields(rules::of(Kind::Subnet), &resolve(&d, &HashMap::new()), &l);
        assert!(f[0].forces_replacement);
    }

    #[test]
    fn templates_resolve_to_strings() {
        let c = Address::new(Kind::Cluster, "c");
        let t = Value::Template(vec![
            Part::Lit("arn:".into()),
            Part::Ref(Ref {
                address: c.clone(),
                attr: "arn".into(),
            }),
            Part::Lit("/x".into()),
        ]);
        let outputs = BTreeMap::from([("arn".to_string(), "A".to_string())]);
        let known = HashMap::from([(c, &outputs)]);
        assert_eq!(resolve(&t, &known), s("arn:A/x"));
    }
}
