//! Field-level comparison of a desired spec with live attributes.

use super::FieldDiff;
use crate::model::schema::{Diff, Field};
use crate::model::{Address, Map, Part, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap};

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
/// fields the spec declares, each compared as the kind's schema says.
pub fn diff_fields(fields: &[Field], desired: &Value, live: &Value) -> Vec<FieldDiff> {
    let mut out = Vec::new();
    let empty = Map::new();
    let d = desired.as_map().unwrap_or(&empty);
    // Tags under `aws:` are AWS's own (CloudFormation's, say): never
    // declared, never removable, so never a difference.
    let mut live_map = live.as_map().cloned().unwrap_or_default();
    if let Some(Value::Map(tags)) = live_map.get_mut("tags") {
        tags.retain(|k, _| !k.starts_with("aws:"));
    }
    let l = &live_map;
    for (k, dv) in d {
        let lv = l.get(k).unwrap_or(&Value::Null);
        let field = fields.iter().find(|f| f.name == k.as_str());
        debug_assert!(
            field.is_some(),
            "spec field `{k}` is not in the kind's field schema"
        );
        let field = field.copied().unwrap_or(Field::new("?"));
        walk(&field, k, dv, lv, field.replace, &mut out);
    }
    // Undeclared tags are no tags: an update writes the declared ones
    // only, so the tags a resource has beyond them (one adopted with its
    // own) show as removed.
    if !d.contains_key("tags") {
        if let (Some(f), Some(Value::Map(had))) = (
            fields
                .iter()
                .find(|f| f.name == "tags" && matches!(f.diff, Diff::Map)),
            l.get("tags"),
        ) {
            if !had.is_empty() {
                walk(
                    f,
                    "tags",
                    &Value::Map(Map::new()),
                    &Value::Map(had.clone()),
                    None,
                    &mut out,
                );
            }
        }
    }
    out
}

fn walk(
    field: &Field,
    path: &str,
    d: &Value,
    l: &Value,
    replace: Option<&'static str>,
    out: &mut Vec<FieldDiff>,
) {
    let empty = Map::new();
    match field.diff {
        Diff::Local => {}
        Diff::Map | Diff::Struct(_) | Diff::SensitiveMap | Diff::Tree if d.as_map().is_some() => {
            let dm = d.as_map().unwrap_or(&empty);
            let lm = l.as_map().unwrap_or(&empty);
            let mut keys: BTreeSet<&String> = dm.keys().collect();
            if !matches!(field.diff, Diff::Struct(_)) {
                keys.extend(lm.keys());
            }
            for k in keys {
                let inner = match field.diff {
                    Diff::Struct(fields) => fields
                        .iter()
                        .find(|f| f.name == k.as_str())
                        .copied()
                        .unwrap_or(Field::new("?")),
                    Diff::SensitiveMap => Field::new("?").diff(Diff::Sensitive),
                    Diff::Tree => Field::new("?").diff(Diff::Tree),
                    _ => Field::new("?"),
                };
                let dv = dm.get(k).unwrap_or(&Value::Null);
                let lv = lm.get(k).unwrap_or(&Value::Null);
                walk(
                    &inner,
                    &format!("{path}.{k}"),
                    dv,
                    lv,
                    inner.replace.or(replace),
                    out,
                );
            }
        }
        Diff::Atomic if is_policy(d) && (is_policy(l) || matches!(l, Value::Null)) => {
            policy(path, d, l, replace, out)
        }
        _ => {
            let equal = match field.diff {
                Diff::ListByKey(key) => same_by_key(d, l, key),
                Diff::Verified => verified(d, l),
                Diff::Set => same(d, l, true),
                _ => same(d, l, false),
            };
            if equal {
                return;
            }
            // What stands where a secret is declared is never shown either,
            // nor what a tree (Helm values, manifests) no longer declares:
            // it may have been a secret before.
            let removed_from_tree = matches!(field.diff, Diff::Tree) && matches!(d, Value::Null);
            let hide = d.is_sensitive()
                || matches!(field.diff, Diff::Sensitive | Diff::Verified)
                || removed_from_tree;
            let hidden = || {
                Value::Sensitive(crate::model::Secret {
                    hash: "live".into(),
                    value: None,
                })
            };
            let before = if hide && !matches!(l, Value::Null) {
                hidden()
            } else {
                l.clone()
            };
            let after =
                if matches!(field.diff, Diff::Sensitive | Diff::Verified) && !d.is_sensitive() {
                    hidden()
                } else {
                    d.clone()
                };
            let set_where_none = field.set_in_place && matches!(l, Value::Null);
            out.push(FieldDiff {
                path: path.to_string(),
                before,
                after,
                forces_replacement: replace.is_some() && !set_where_none,
                origin: None,
            });
        }
    }
}

/// Whether a value is an IAM policy document (a trust policy, an inline
/// policy, a bucket or key policy).
fn is_policy(v: &Value) -> bool {
    v.as_map()
        .is_some_and(|m| m.contains_key("Statement") && !v.is_sensitive())
}

/// A policy document compared statement by statement, so that a plan shows
/// the statement that changed rather than the whole document as one value:
/// statements with the same `Sid` on both sides are one statement changed
/// (`policy.Statement[DenyInsecure]`); others match when they are equal,
/// and the rest are removed or added (`policy.Statement[2]`, their place
/// in their own document). The other keys (`Version`) compare as values.
fn policy(
    path: &str,
    d: &Value,
    l: &Value,
    replace: Option<&'static str>,
    out: &mut Vec<FieldDiff>,
) {
    let empty = Map::new();
    let (dm, lm) = (d.as_map().unwrap_or(&empty), l.as_map().unwrap_or(&empty));
    let statements = |m: &Map| -> Vec<Value> {
        match m.get("Statement") {
            Some(Value::List(l)) => l.clone(),
            Some(Value::Null) | None => Vec::new(),
            Some(one) => vec![one.clone()],
        }
    };
    let keys: BTreeSet<&String> = dm
        .keys()
        .chain(lm.keys())
        .filter(|k| *k != "Statement")
        .collect();
    for k in keys {
        let (dv, lv) = (
            dm.get(k).unwrap_or(&Value::Null),
            lm.get(k).unwrap_or(&Value::Null),
        );
        walk(
            &Field::new("?"),
            &format!("{path}.{k}"),
            dv,
            lv,
            replace,
            out,
        );
    }
    let (want, have) = (statements(dm), statements(lm));
    let sid = |s: &Value| s.get("Sid").and_then(Value::as_str).map(String::from);
    let mut matched_have = vec![false; have.len()];
    let mut pending: Vec<(usize, &Value)> = Vec::new();
    for (i, s) in want.iter().enumerate() {
        let same_sid = sid(s).and_then(|id| {
            have.iter()
                .enumerate()
                .find(|(j, h)| !matched_have[*j] && sid(h).as_deref() == Some(id.as_str()))
        });
        let equal = have
            .iter()
            .enumerate()
            .find(|(j, h)| !matched_have[*j] && same(s, h, false));
        match (equal, same_sid) {
            (Some((j, _)), _) => matched_have[j] = true,
            (None, Some((j, h))) => {
                matched_have[j] = true;
                walk(
                    &Field::new("?"),
                    &format!("{path}.Statement[{}]", sid(s).unwrap_or_default()),
                    s,
                    h,
                    replace,
                    out,
                );
            }
            (None, None) => pending.push((i, s)),
        }
    }
    let label = |i: usize, s: &Value| sid(s).unwrap_or_else(|| (i + 1).to_string());
    for (j, h) in have.iter().enumerate().filter(|(j, _)| !matched_have[*j]) {
        walk(
            &Field::new("?"),
            &format!("{path}.Statement[{}]", label(j, h)),
            &Value::Null,
            h,
            replace,
            out,
        );
    }
    for (i, s) in pending {
        walk(
            &Field::new("?"),
            &format!("{path}.Statement[{}]", label(i, s)),
            s,
            &Value::Null,
            replace,
            out,
        );
    }
}

/// Whether the declared secret verifies against the live verifier. A
/// secret whose value is unknown (read sealed, or from a saved plan) never
/// does.
fn verified(d: &Value, l: &Value) -> bool {
    let secret = if d.is_sensitive() {
        match d.reveal() {
            Ok(v) => v,
            Err(_) => return false,
        }
    } else {
        d.clone()
    };
    match (secret.as_str(), l.as_str()) {
        // A setting in place of a secret (an RDS-managed password) is
        // compared as it is.
        (Some(s), Some(v)) if !d.is_sensitive() && s == v => true,
        (Some(s), Some(v)) => crate::model::verifier::verify(s, v),
        _ => false,
    }
}

/// Lists of maps compared as maps keyed by `key`: order does not matter.
fn same_by_key(d: &Value, l: &Value, key: &str) -> bool {
    let keyed = |v: &Value| -> Option<Map> {
        let mut m = Map::new();
        for item in v.as_list()? {
            let k = item.get(key)?.as_str()?.to_string();
            m.insert(k, item.clone());
        }
        Some(m)
    };
    match (keyed(d), keyed(l)) {
        (Some(a), Some(b)) if d.refs().is_empty() => {
            a.len() == b.len()
                && a.iter()
                    .all(|(k, v)| b.get(k).is_some_and(|w| same(v, w, false)))
        }
        _ => same(d, l, true),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::schema::TAGS;
    use crate::model::{Kind, Ref};

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

    const SUBNETISH: &[Field] = &[
        Field::new("cidr").replaces("a subnet's CIDR block cannot change"),
        Field::new("vpc").replaces("a subnet cannot move").refers(),
    ];

    #[test]
    fn verified_secrets_compare_against_the_verifier_and_never_show() {
        const FIELDS: &[Field] = &[Field::new("password").diff(Diff::Verified)];
        let v = crate::model::verifier::verifier("s3cret-pw");
        let secret = |p: &str| {
            Value::Sensitive(crate::model::Secret {
                hash: "hmac-sha256:00".into(),
                value: Some(Box::new(s(p))),
            })
        };
        let live = map(&[("password", s(&v))]);
        assert!(diff_fields(FIELDS, &map(&[("password", secret("s3cret-pw"))]), &live).is_empty());
        // A plain string in the script verifies the same way.
        assert!(diff_fields(FIELDS, &map(&[("password", s("s3cret-pw"))]), &live).is_empty());
        let changed = diff_fields(FIELDS, &map(&[("password", secret("new-pw-123"))]), &live);
        assert_eq!(changed.len(), 1);
        let shown = serde_json::to_string(&changed[0]).unwrap();
        assert!(
            !shown.contains("new-pw-123") && !shown.contains(&v),
            "{shown}"
        );
        // A new value in clear in the script is not shown either.
        let changed = diff_fields(FIELDS, &map(&[("password", s("plain-new"))]), &live);
        assert!(!serde_json::to_string(&changed[0])
            .unwrap()
            .contains("plain-new"));
        // No verifier yet (an instance made elsewhere): a change.
        assert_eq!(
            diff_fields(
                FIELDS,
                &map(&[("password", secret("s3cret-pw"))]),
                &map(&[])
            )
            .len(),
            1
        );
    }

    #[test]
    fn only_declared_fields_are_compared() {
        let d = map(&[("cidr", s("10.0.0.0/24"))]);
        let l = map(&[("cidr", s("10.0.0.0/24")), ("owner_id", s("123"))]);
        assert!(diff_fields(SUBNETISH, &d, &l).is_empty());
    }

    #[test]
    fn replacement_fields_are_flagged() {
        let d = map(&[("cidr", s("10.0.1.0/24"))]);
        let l = map(&[("cidr", s("10.0.0.0/24"))]);
        let f = diff_fields(SUBNETISH, &d, &l);
        assert_eq!(f.len(), 1);
        assert!(f[0].forces_replacement);
    }

    #[test]
    #[should_panic(expected = "not in the kind's field schema")]
    fn an_undeclared_spec_field_is_an_error_in_tests() {
        let d = map(&[("cird", s("10.0.1.0/24"))]);
        diff_fields(SUBNETISH, &d, &Value::Null);
    }

    /// Undeclared tags show as removed, except AWS's own `aws:*` tags,
    /// which can never be removed.
    #[test]
    fn undeclared_tags_are_removed_but_never_aws_ones() {
        const FIELDS: &[Field] = &[Field::new("name"), TAGS];
        let live = map(&[
            ("name", s("x")),
            (
                "tags",
                map(&[
                    ("team", s("net")),
                    ("aws:cloudformation:stack-name", s("old")),
                ]),
            ),
        ]);
        let undeclared = diff_fields(FIELDS, &map(&[("name", s("x"))]), &live);
        let paths: Vec<&str> = undeclared.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(paths, ["tags.team"]);
        assert_eq!(undeclared[0].after, Value::Null);
        let declared = diff_fields(
            FIELDS,
            &map(&[("name", s("x")), ("tags", map(&[("team", s("net"))]))]),
            &live,
        );
        assert!(declared.is_empty(), "{declared:?}");
    }

    #[test]
    fn structs_compare_per_key_and_maps_over_both_sides() {
        const FIELDS: &[Field] = &[
            Field::new("scaling").diff(Diff::Struct(&[
                Field::new("min"),
                Field::new("desired"),
                Field::new("max"),
            ])),
            TAGS,
        ];
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
        let f = diff_fields(FIELDS, &d, &l);
        let paths: Vec<&str> = f.iter().map(|x| x.path.as_str()).collect();
        assert_eq!(paths, ["scaling.desired", "tags.old"]);
        assert!(!f[0].forces_replacement);
        assert_eq!(f[1].after, Value::Null);
    }

    #[test]
    fn set_in_place_fields_replace_only_when_a_value_changes() {
        const FIELDS: &[Field] = &[Field::new("key").replaces("once set").set_in_place()];
        let with = |k: Option<&str>| match k {
            Some(k) => map(&[("key", s(k))]),
            None => map(&[("key", Value::Null)]),
        };
        let f = diff_fields(FIELDS, &with(Some("a")), &with(None));
        assert_eq!(f.len(), 1);
        assert!(!f[0].forces_replacement, "none -> a happens in place");
        let f = diff_fields(FIELDS, &with(Some("b")), &with(Some("a")));
        assert!(f[0].forces_replacement, "a -> b replaces");
        let f = diff_fields(FIELDS, &with(None), &with(Some("a")));
        assert!(f[0].forces_replacement, "a -> none replaces");
    }

    #[test]
    fn nested_fields_take_their_own_semantics_and_inherit_replacement() {
        const FIELDS: &[Field] = &[Field::new("endpoint")
            .diff(Diff::Struct(&[
                Field::new("public_cidrs").set(),
                Field::new("public"),
            ]))
            .replaces("cannot change")];
        let d = map(&[(
            "endpoint",
            map(&[
                ("public_cidrs", Value::List(vec![s("a"), s("b")])),
                ("public", Value::Bool(true)),
            ]),
        )]);
        let l = map(&[(
            "endpoint",
            map(&[
                ("public_cidrs", Value::List(vec![s("b"), s("a")])),
                ("public", Value::Bool(false)),
            ]),
        )]);
        let f = diff_fields(FIELDS, &d, &l);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].path, "endpoint.public");
        assert!(f[0].forces_replacement);
    }

    #[test]
    fn sets_ignore_order_and_empties_match() {
        const FIELDS: &[Field] = &[
            Field::new("logging").set(),
            Field::new("security_groups").set(),
            Field::new("steps"),
        ];
        let d = map(&[
            ("logging", Value::List(vec![s("api"), s("audit")])),
            ("security_groups", Value::List(vec![])),
        ]);
        let l = map(&[("logging", Value::List(vec![s("audit"), s("api")]))]);
        assert!(diff_fields(FIELDS, &d, &l).is_empty());
        let d = map(&[("steps", Value::List(vec![s("a"), s("b")]))]);
        let l = map(&[("steps", Value::List(vec![s("b"), s("a")]))]);
        assert_eq!(
            diff_fields(FIELDS, &d, &l).len(),
            1,
            "atomic lists keep order"
        );
    }

    #[test]
    fn lists_by_key_ignore_order_but_not_content() {
        const FIELDS: &[Field] = &[Field::new("attrs").diff(Diff::ListByKey("name"))];
        let item = |n: &str, t: &str| map(&[("name", s(n)), ("type", s(t))]);
        let d = map(&[("attrs", Value::List(vec![item("a", "S"), item("b", "N")]))]);
        let l = map(&[("attrs", Value::List(vec![item("b", "N"), item("a", "S")]))]);
        assert!(diff_fields(FIELDS, &d, &l).is_empty());
        let l = map(&[("attrs", Value::List(vec![item("b", "S"), item("a", "S")]))]);
        assert_eq!(diff_fields(FIELDS, &d, &l).len(), 1);
    }

    #[test]
    fn trees_show_changes_by_path_and_local_fields_never_compare() {
        const FIELDS: &[Field] = &[
            Field::new("spec").diff(Diff::Tree),
            Field::new("adopt").diff(Diff::Local),
        ];
        let d = map(&[
            (
                "spec",
                map(&[("podSelector", map(&[("app", s("api"))])), ("x", s("1"))]),
            ),
            ("adopt", Value::Bool(true)),
        ]);
        let l = map(&[(
            "spec",
            map(&[
                ("podSelector", map(&[("app", s("web"))])),
                ("x", s("1")),
                ("gone", s("y")),
            ]),
        )]);
        let diffs = diff_fields(FIELDS, &d, &l);
        let paths: Vec<&str> = diffs.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(paths, ["spec.gone", "spec.podSelector.app"]);
        // What a tree no longer declares may have been a secret: not shown.
        assert!(matches!(diffs[0].before, Value::Sensitive(_)));
        assert_eq!(diffs[1].before, s("web"));
    }

    #[test]
    fn sensitive_maps_show_which_keys_changed_but_no_value() {
        const FIELDS: &[Field] = &[Field::new("data").diff(Diff::SensitiveMap)];
        let d = map(&[("data", map(&[("a", s("same")), ("b", s("new"))]))]);
        let l = map(&[("data", map(&[("a", s("same")), ("b", s("old"))]))]);
        let f = diff_fields(FIELDS, &d, &l);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].path, "data.b");
        assert!(matches!(f[0].before, Value::Sensitive(_)));
        assert!(matches!(f[0].after, Value::Sensitive(_)));
    }

    #[test]
    fn sensitive_fields_never_show_their_values() {
        const FIELDS: &[Field] = &[Field::new("password").diff(Diff::Sensitive)];
        let d = map(&[("password", s("new"))]);
        let l = map(&[("password", s("old"))]);
        let f = diff_fields(FIELDS, &d, &l);
        assert!(matches!(f[0].before, Value::Sensitive(_)));
        assert!(matches!(f[0].after, Value::Sensitive(_)));
    }

    #[test]
    fn references_resolve_when_known_and_differ_when_not() {
        let vpc = Address::new(Kind::new("vpcish"), "v");
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
        assert!(diff_fields(SUBNETISH, &resolve(&d, &known), &l).is_empty());
        let f = diff_fields(SUBNETISH, &resolve(&d, &HashMap::new()), &l);
        assert!(f[0].forces_replacement);
    }

    #[test]
    fn templates_resolve_to_strings() {
        let c = Address::new(Kind::new("clusterish"), "c");
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

    #[test]
    fn policies_differ_statement_by_statement() {
        const FIELDS: &[Field] = &[Field::new("policy")];
        let stmt = |sid: &str, action: &str| {
            let mut m = vec![
                ("Effect", s("Allow")),
                ("Action", s(action)),
                ("Resource", s("*")),
            ];
            if !sid.is_empty() {
                m.push(("Sid", s(sid)));
            }
            map(&m)
        };
        let doc = |statements: Vec<Value>| {
            map(&[(
                "policy",
                map(&[
                    ("Version", s("2012-10-17")),
                    ("Statement", Value::List(statements)),
                ]),
            )])
        };
        let want = doc(vec![
            stmt("Read", "s3:GetObject"),
            stmt("", "s3:ListBucket"),
        ]);
        // Order does not matter.
        let reordered = doc(vec![
            stmt("", "s3:ListBucket"),
            stmt("Read", "s3:GetObject"),
        ]);
        assert!(diff_fields(FIELDS, &want, &reordered).is_empty());
        // One statement changed (same Sid), one added behind our back.
        let live = doc(vec![
            stmt("Read", "s3:*"),
            stmt("", "s3:ListBucket"),
            stmt("", "s3:DeleteObject"),
        ]);
        let changes = diff_fields(FIELDS, &want, &live);
        let paths: Vec<&str> = changes.iter().map(|c| c.path.as_str()).collect();
        assert_eq!(paths, ["policy.Statement[Read]", "policy.Statement[3]"]);
        assert_eq!(changes[0].before.get("Action"), Some(&s("s3:*")));
        assert_eq!(changes[0].after.get("Action"), Some(&s("s3:GetObject")));
        assert_eq!(changes[1].before.get("Action"), Some(&s("s3:DeleteObject")));
        assert_eq!(changes[1].after, Value::Null);
        // No policy live: every declared statement is added.
        let changes = diff_fields(FIELDS, &want, &map(&[]));
        assert_eq!(changes.len(), 3, "{changes:?}");
        assert_eq!(changes[0].path, "policy.Version");
    }
}
