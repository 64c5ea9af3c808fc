//! Drift told apart from intent. Each difference of a plan is labelled by
//! comparing three things: what the blueprint declares now, what the last
//! apply declared (its record, [`crate::providers::applied`]), and what is
//! live:
//! - **declared**: the declaration changed since the last apply;
//! - **drift**: it did not, so the live resource changed since;
//! - **both**: the declaration changed, and the live value is not the one
//!   the last apply set either.
//!
//! Each comparison uses the kind's own field semantics ([`diff_fields`]),
//! so an unordered list read back in another order is no drift. A create
//! of something the last apply made is drift (it was deleted); a delete
//! of something no longer declared is declared. Without a record (applied
//! before records were kept, or too large to keep) nothing is labelled.

use super::diff::diff_fields;
use super::{resolve, Action, Change, DiffOrigin, FieldDiff, Plan, Reason};
use crate::model::{Address, Graph, Live, Value};
use std::collections::{BTreeMap, HashMap};

/// The spec each resource was last applied with, by address.
pub type Records = HashMap<Address, Value>;

/// The addresses whose records a plan needs: what it creates, changes or
/// replaces.
pub fn wanted(plan: &Plan) -> Vec<&Address> {
    plan.changes
        .iter()
        .filter(|c| c.action != Action::Delete && c.reason != Some(Reason::Requested))
        .map(|c| &c.address)
        .collect()
}

/// What `bp plan --drift` shows: the changes that undo something done
/// outside Blueprint, with only their drifted fields.
pub struct DriftView {
    pub plan: Plan,
    /// Changes from the blueprint itself, left out.
    pub declared: usize,
    /// Changes with no record of their last apply: whether they are drift
    /// cannot be told.
    pub unlabelled: usize,
}

/// `plan` cut down to its drift.
pub fn only_drift(mut plan: Plan) -> DriftView {
    let unlabelled = plan.changes.iter().filter(|c| c.origin.is_none()).count();
    let declared = plan
        .changes
        .iter()
        .filter(|c| c.origin == Some(DiffOrigin::Declared))
        .count();
    plan.changes
        .retain(|c| c.origin.is_some_and(|o| o.drifted()));
    for c in &mut plan.changes {
        if c.action != Action::Create {
            c.fields.retain(|f| f.origin.is_some_and(|o| o.drifted()));
        }
    }
    let kept: std::collections::BTreeSet<Address> =
        plan.changes.iter().map(|c| c.address.clone()).collect();
    plan.findings.retain(|f| kept.contains(&f.address));
    plan.create_first.retain(|a| kept.contains(a));
    plan.moved.clear();
    // The bill of the whole plan is not the bill of its drift.
    plan.cost = None;
    DriftView {
        plan,
        declared,
        unlabelled,
    }
}

/// Labels every change of `plan` and its fields.
pub fn label(plan: &mut Plan, records: &Records, desired: &Graph, live: &[Live]) {
    let outputs: HashMap<Address, &BTreeMap<String, String>> = live
        .iter()
        .map(|l| (l.address.clone(), &l.outputs))
        .collect();
    let live_at: HashMap<&Address, &Live> = live.iter().map(|l| (&l.address, l)).collect();
    // Changes come dependencies first: a value known only after another
    // change takes that change's origin.
    let mut so_far: HashMap<Address, Option<DiffOrigin>> = HashMap::new();
    for c in &mut plan.changes {
        c.origin = match (c.action, &c.reason) {
            (Action::Delete, Some(Reason::NotDeclared)) => Some(DiffOrigin::Declared),
            (Action::Delete, _) | (_, Some(Reason::Requested)) => None,
            (Action::Create, _) => Some(if records.contains_key(&c.address) {
                DiffOrigin::Drift
            } else {
                DiffOrigin::Declared
            }),
            (Action::Update | Action::Replace, _) => {
                let (Some(record), Some(r), Some(l)) = (
                    records.get(&c.address),
                    desired.get(&c.address),
                    live_at.get(&c.address),
                ) else {
                    continue;
                };
                let now = resolve(&Value::Map(r.spec.clone()), &outputs);
                fields(c, record, &now, &Value::Map(l.attrs.clone()), &so_far);
                c.fields
                    .iter()
                    .fold(None, |acc, f| DiffOrigin::join(acc, f.origin))
            }
        };
        so_far.insert(c.address.clone(), c.origin);
    }
}

/// Labels the fields of `c`: `record` is what the last apply declared,
/// `now` what is declared (references resolved), `live` what is there.
fn fields(
    c: &mut Change,
    record: &Value,
    now: &Value,
    live: &Value,
    so_far: &HashMap<Address, Option<DiffOrigin>>,
) {
    let schema = c.address.kind.schema().fields;
    let declared: Vec<String> = diff_fields(schema, &masked(now), &masked(record))
        .into_iter()
        .map(|f| f.path)
        .collect();
    let drifted: Vec<String> = diff_fields(schema, record, live)
        .into_iter()
        .map(|f| f.path)
        .collect();
    for f in &mut c.fields {
        // Known after another change: that change's origin (declared when
        // it has none).
        let refs = f.after.refs();
        if !refs.is_empty() {
            f.origin = refs
                .iter()
                .map(|r| so_far.get(&r.address).copied().flatten())
                .fold(None, DiffOrigin::join)
                .or(Some(DiffOrigin::Declared));
            continue;
        }
        let is_declared = declared.iter().any(|p| related(p, &f.path));
        // A secret's last value is known by hash only: whether it also
        // changed live cannot be told.
        let is_drifted = !hidden(f) && drifted.iter().any(|p| related(p, &f.path));
        f.origin = Some(match (is_declared, is_drifted) {
            (true, true) => DiffOrigin::Both,
            (true, false) => DiffOrigin::Declared,
            (false, _) => DiffOrigin::Drift,
        });
    }
}

fn hidden(f: &FieldDiff) -> bool {
    matches!(f.before, Value::Sensitive(_)) || matches!(f.after, Value::Sensitive(_))
}

/// A value with each secret replaced by its hash, so that two declarations
/// compare by hash (a record holds no secret in clear).
fn masked(v: &Value) -> Value {
    match v {
        Value::Sensitive(s) => Value::Str(format!("(sensitive {})", s.hash)),
        Value::List(l) => Value::List(l.iter().map(masked).collect()),
        Value::Map(m) => Value::Map(m.iter().map(|(k, x)| (k.clone(), masked(x))).collect()),
        other => other.clone(),
    }
}

/// Whether two field paths name the same value or one holds the other.
/// A list item's place (`Statement[2]`) can differ between two
/// comparisons, so items compare by their list.
fn related(a: &str, b: &str) -> bool {
    let base = |p: &str| p.split('[').next().unwrap_or(p).to_string();
    let (a, b) = (base(a), base(b));
    let holds = |outer: &str, inner: &str| {
        inner
            .strip_prefix(outer)
            .is_some_and(|rest| rest.starts_with('.'))
    };
    a == b || holds(&a, &b) || holds(&b, &a)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::names::NameRule;
    use crate::model::schema::{Diff, Field, Lifecycle, Schema, Scope};
    use crate::model::{Kind, Map, Resource};

    /// A made-up kind with a plain field and tags.
    static NET: Schema = Schema {
        name: "net",
        handle: "Net",
        default_attr: "id",
        names: NameRule::TAG,
        fields: &[
            Field::new("cidr").replaces("a network's block cannot change"),
            Field::new("tags").diff(Diff::Map),
        ],
        lifecycle: Lifecycle::PLAIN,
        scope: Scope::Aws,
        outputs_on_update: &[],
        name_from_address: false,
    };
    const NET_KIND: Kind = Kind::of(&NET);

    fn map(pairs: &[(&str, Value)]) -> Value {
        Value::Map(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        )
    }

    fn tags(pairs: &[(&str, &str)]) -> Value {
        map(&pairs
            .iter()
            .map(|(k, v)| (*k, Value::str(*v)))
            .collect::<Vec<_>>())
    }

    /// A VPC planned from `declared` against `live`, labelled with `record`.
    fn planned(declared: &Value, live: &Value, record: Option<&Value>) -> Change {
        let kind = NET_KIND;
        let address = Address::new(kind, "main");
        let mut graph = Graph::new();
        graph
            .insert(Resource::new(
                address.clone(),
                declared.as_map().cloned().unwrap_or_default(),
            ))
            .unwrap();
        let mut l = Live::new(address.clone(), "vpc-1");
        l.attrs = live.as_map().cloned().unwrap_or_else(Map::new);
        let live = vec![l];
        let mut plan = crate::plan::compute("bp", "eu-west-1", &graph, &live);
        let records: Records = record.map(|r| (address, r.clone())).into_iter().collect();
        label(&mut plan, &records, &graph, &live);
        plan.changes.remove(0)
    }

    fn spec(cidr: &str, t: Value) -> Value {
        map(&[("cidr", Value::str(cidr)), ("tags", t)])
    }

    #[test]
    fn a_live_change_under_an_unchanged_declaration_is_drift() {
        let applied = spec("10.0.0.0/16", tags(&[("team", "a")]));
        let c = planned(
            &applied,
            &spec("10.0.0.0/16", tags(&[("team", "edited")])),
            Some(&applied),
        );
        assert_eq!(c.origin, Some(DiffOrigin::Drift));
        assert_eq!(c.fields[0].origin, Some(DiffOrigin::Drift));
    }

    #[test]
    fn a_changed_declaration_is_declared_and_with_a_live_change_both() {
        let applied = spec("10.0.0.0/16", tags(&[("team", "a")]));
        let now = spec("10.0.0.0/16", tags(&[("team", "b")]));
        let c = planned(&now, &applied, Some(&applied));
        assert_eq!(c.origin, Some(DiffOrigin::Declared));
        let c = planned(
            &now,
            &spec("10.0.0.0/16", tags(&[("team", "console")])),
            Some(&applied),
        );
        assert_eq!(c.origin, Some(DiffOrigin::Both));
        // One field of each: the change is both, each field its own.
        let now = spec("10.0.0.0/16", tags(&[("team", "a"), ("env", "prod")]));
        let live = spec("10.0.0.0/16", tags(&[("team", "console")]));
        let c = planned(&now, &live, Some(&applied));
        assert_eq!(c.origin, Some(DiffOrigin::Both));
        let by_path: BTreeMap<&str, Option<DiffOrigin>> = c
            .fields
            .iter()
            .map(|f| (f.path.as_str(), f.origin))
            .collect();
        assert_eq!(by_path["tags.team"], Some(DiffOrigin::Drift));
        assert_eq!(by_path["tags.env"], Some(DiffOrigin::Declared));
    }

    #[test]
    fn without_a_record_nothing_is_labelled() {
        let c = planned(
            &spec("10.0.0.0/16", tags(&[("team", "b")])),
            &spec("10.0.0.0/16", tags(&[("team", "a")])),
            None,
        );
        assert_eq!(c.origin, None);
        assert!(c.fields.iter().all(|f| f.origin.is_none()));
    }

    #[test]
    fn secrets_compare_by_hash() {
        let secret = |h: &str, clear: Option<&str>| {
            Value::Sensitive(crate::model::Secret {
                hash: h.into(),
                value: clear.map(|c| Box::new(Value::str(c))),
            })
        };
        let record = masked(&map(&[("tags", map(&[("token", secret("h1", None))]))]));
        let same = map(&[("tags", map(&[("token", secret("h1", Some("x")))]))]);
        let other = map(&[("tags", map(&[("token", secret("h2", Some("y")))]))]);
        assert!(diff_fields(NET.fields, &masked(&same), &record).is_empty());
        assert_eq!(diff_fields(NET.fields, &masked(&other), &record).len(), 1);
    }

    #[test]
    fn paths_relate_by_holding_and_by_list() {
        assert!(related("tags", "tags.team"));
        assert!(related("policy.Statement[2]", "policy.Statement[Deny]"));
        assert!(!related("tags.team", "tags.env"));
        assert!(!related("tag", "tags.team"));
    }
}
