//! Fields a resource leaves to others once it exists (`ignore: [...]` in
//! its options, Terraform's `ignore_changes`): a node group's desired size
//! that the cluster autoscaler moves, say. The declared value is used when
//! the resource is created or replaced; afterwards the live value stands
//! in for it, so a difference there is never a change, and an update of
//! other fields sends the live value back unchanged.

use super::schema::{Diff, Schema};
use super::{Map, Value};
use std::collections::BTreeSet;

/// A field left to others whose live value differs from the declared one:
/// what the plan shows as information.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Ignored {
    pub address: super::Address,
    /// `scaling.desired`.
    pub field: String,
    pub declared: Value,
    pub live: Value,
}

/// Checks a path given to `ignore` against the kind's fields: it names a
/// field, or a field inside a structured one (`scaling.desired`), or one
/// key of a map field (`tags.team`).
pub fn check(schema: &Schema, path: &str) -> Result<(), String> {
    let mut fields = schema.fields;
    let mut parts = path.split('.').peekable();
    while let Some(part) = parts.next() {
        let Some(f) = fields.iter().find(|f| f.name == part) else {
            let names: Vec<&str> = fields.iter().map(|f| f.name).collect();
            return Err(format!(
                "`{path}` is not a field of {}: `{part}` is none of {}",
                schema.name,
                names.join(", ")
            ));
        };
        match f.diff {
            Diff::Struct(inner) => fields = inner,
            Diff::Map if parts.peek().is_some() => {
                // One key of a map (a tag): the rest is the key itself.
                return Ok(());
            }
            _ if parts.peek().is_some() => {
                return Err(format!(
                    "`{path}` is not a field of {}: `{}` has no fields inside",
                    schema.name, f.name
                ))
            }
            _ => {}
        }
    }
    Ok(())
}

/// The value at a dotted path of a map, if any. A map key may itself hold
/// dots (`tags.kubernetes.io/role`): the first part that names a key wins,
/// and the rest is looked up inside it whole when nothing else matches.
pub fn get<'a>(map: &'a Map, path: &str) -> Option<&'a Value> {
    if let Some(v) = map.get(path) {
        return Some(v);
    }
    let (head, rest) = path.split_once('.')?;
    match map.get(head)? {
        Value::Map(inner) => get(inner, rest),
        _ => None,
    }
}

/// Sets the value at a dotted path, making the maps on the way; `None`
/// removes it (the field is absent live).
fn set(map: &mut Map, path: &str, value: Option<Value>) {
    if map.contains_key(path) || !path.contains('.') {
        match value {
            Some(v) => map.insert(path.to_string(), v),
            None => map.remove(path),
        };
        return;
    }
    let Some((head, rest)) = path.split_once('.') else {
        return;
    };
    let entry = map
        .entry(head.to_string())
        .or_insert_with(|| Value::Map(Map::new()));
    if let Value::Map(inner) = entry {
        set(inner, rest, value);
    }
}

/// Puts the live value of every ignored field into `spec`, and returns
/// those that differed (`path`, declared, live).
pub fn keep_live(
    spec: &mut Map,
    ignore: &BTreeSet<String>,
    live: &Map,
) -> Vec<(String, Value, Value)> {
    let mut differed = Vec::new();
    for path in ignore {
        let declared = get(spec, path).cloned();
        let now = get(live, path).cloned();
        if declared != now {
            differed.push((
                path.clone(),
                declared.clone().unwrap_or_default(),
                now.clone().unwrap_or_default(),
            ));
            set(spec, path, now);
        }
    }
    differed
}

/// `map` without the ignored fields: what a saved plan's check of the
/// live state compares, so that the autoscaler moving a node group between
/// plan and apply does not make the plan stale.
pub fn without(map: &Map, ignore: &BTreeSet<String>) -> Map {
    let mut out = map.clone();
    for path in ignore {
        set(&mut out, path, None);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::schema::Field;

    const FIELDS: &[Field] = &[
        Field::new("name"),
        Field::new("scaling").diff(Diff::Struct(&[Field::new("min"), Field::new("desired")])),
        crate::model::schema::TAGS,
    ];
    static SCHEMA: Schema = Schema::new("pool", "Pool", FIELDS);

    fn map(pairs: &[(&str, Value)]) -> Map {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    #[test]
    fn paths_are_checked_against_the_fields() {
        assert!(check(&SCHEMA, "scaling.desired").is_ok());
        assert!(check(&SCHEMA, "scaling").is_ok());
        assert!(check(&SCHEMA, "tags.team").is_ok());
        let e = check(&SCHEMA, "scaling.wanted").unwrap_err();
        assert!(e.contains("`wanted` is none of min, desired"), "{e}");
        let e = check(&SCHEMA, "name.first").unwrap_err();
        assert!(e.contains("`name` has no fields inside"), "{e}");
    }

    #[test]
    fn the_live_value_stands_in_for_an_ignored_field() {
        let scaling = |min, desired| {
            Value::Map(map(&[
                ("min", Value::Int(min)),
                ("desired", Value::Int(desired)),
            ]))
        };
        let mut spec = map(&[("name", Value::str("a")), ("scaling", scaling(1, 2))]);
        let live = map(&[("name", Value::str("b")), ("scaling", scaling(3, 5))]);
        let ignore = BTreeSet::from(["scaling.desired".to_string()]);
        let differed = keep_live(&mut spec, &ignore, &live);
        assert_eq!(
            differed,
            vec![("scaling.desired".into(), Value::Int(2), Value::Int(5))]
        );
        // Only the ignored field took the live value.
        assert_eq!(spec["scaling"], scaling(1, 5));
        assert_eq!(spec["name"], Value::str("a"));
        // A field absent live is absent from the spec too.
        let mut spec = map(&[("tags", Value::Map(map(&[("team", Value::str("x"))])))]);
        let ignore = BTreeSet::from(["tags.team".to_string()]);
        keep_live(&mut spec, &ignore, &Map::new());
        assert_eq!(spec["tags"], Value::Map(Map::new()));
    }
}
