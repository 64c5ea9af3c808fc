//! Renderers of a plan: the human diff and JSON. No colour: output is the
//! same on a terminal and in CI.

use super::{Action, Change, DiffOrigin, FieldDiff, Plan};
use crate::model::Value;
use std::fmt::Write;

/// A value as shown in a plan; references not yet known read "(known after apply)".
pub(super) fn show(v: &Value) -> String {
    match v {
        Value::Sensitive(_) => "(sensitive)".into(),
        Value::Ref(_) | Value::Template(_) => "(known after apply)".into(),
        Value::List(l) => format!("[{}]", l.iter().map(show).collect::<Vec<_>>().join(", ")),
        Value::Map(m) => format!(
            "{{{}}}",
            m.iter()
                .map(|(k, x)| format!("{k}: {}", show(x)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => other.to_string(),
    }
}

/// The JSON shown in multi-line diffs, with unknown references spelled out.
fn shown_json(v: &Value) -> serde_json::Value {
    match v {
        Value::Sensitive(_) => serde_json::Value::String("(sensitive)".into()),
        Value::Ref(_) | Value::Template(_) => {
            serde_json::Value::String("(known after apply)".into())
        }
        Value::List(l) => serde_json::Value::Array(l.iter().map(shown_json).collect()),
        Value::Map(m) => {
            serde_json::Value::Object(m.iter().map(|(k, x)| (k.clone(), shown_json(x))).collect())
        }
        other => other.to_json(),
    }
}

pub(super) fn is_large(v: &Value) -> bool {
    matches!(v, Value::Map(_) | Value::List(_)) && v.to_string().len() > 60
}

/// The items of a list of plain strings (empty for null), if it is one.
pub(super) fn strings(v: &Value) -> Option<Vec<&str>> {
    match v {
        Value::Null => Some(Vec::new()),
        Value::List(l) => l.iter().map(Value::as_str).collect(),
        _ => None,
    }
}

pub(super) fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(&shown_json(v)).unwrap_or_default()
}

/// The comment after a field: whose difference it is, and whether it
/// forces a replacement (every renderer writes it the same way).
pub(super) fn marker(f: &FieldDiff) -> String {
    let mut notes: Vec<&str> = f.origin.map(|o| o.as_str()).into_iter().collect();
    if f.forces_replacement {
        notes.push("forces replacement");
    }
    if notes.is_empty() {
        String::new()
    } else {
        format!("  # {}", notes.join(", "))
    }
}

/// How a field's difference is shown, in every renderer.
pub(super) enum Shape {
    /// The value a resource is created with.
    Set(String),
    /// A large list of sentences (a Helm release's drift), item by item.
    Items { gone: Vec<String>, new: Vec<String> },
    /// A large value, as a line diff: each line (without its newline) with
    /// `-`, `+` or ` `.
    Lines(Vec<(char, String)>),
    /// `before -> after`.
    Change(String, String),
}

pub(super) fn shape(f: &FieldDiff, action: Action) -> Shape {
    if action == Action::Create {
        return Shape::Set(show(&f.after));
    }
    let large = is_large(&f.before) || is_large(&f.after);
    if let (Some(before), Some(after), true) = (strings(&f.before), strings(&f.after), large) {
        return Shape::Items {
            gone: before
                .iter()
                .filter(|s| !after.contains(s))
                .map(|s| s.to_string())
                .collect(),
            new: after
                .iter()
                .filter(|s| !before.contains(s))
                .map(|s| s.to_string())
                .collect(),
        };
    }
    if large {
        let (a, b) = (pretty(&f.before) + "\n", pretty(&f.after) + "\n");
        let lines = similar::TextDiff::from_lines(&a, &b)
            .iter_all_changes()
            .map(|c| {
                let sign = match c.tag() {
                    similar::ChangeTag::Delete => '-',
                    similar::ChangeTag::Insert => '+',
                    similar::ChangeTag::Equal => ' ',
                };
                (
                    sign,
                    c.as_str()
                        .unwrap_or_default()
                        .trim_end_matches('\n')
                        .to_string(),
                )
            })
            .collect();
        return Shape::Lines(lines);
    }
    Shape::Change(show(&f.before), show(&f.after))
}

fn field(out: &mut String, f: &FieldDiff, action: Action) {
    let marker = marker(f);
    match shape(f, action) {
        Shape::Set(v) => {
            let _ = writeln!(out, "      {} = {v}", f.path);
        }
        Shape::Items { gone, new } => {
            let _ = writeln!(out, "      {}:{marker}", f.path);
            for g in gone {
                let _ = writeln!(out, "        - {g}");
            }
            for n in new {
                let _ = writeln!(out, "        + {n}");
            }
        }
        Shape::Lines(lines) => {
            let _ = writeln!(out, "      {}:{marker}", f.path);
            for (sign, line) in lines {
                let _ = writeln!(out, "        {sign} {line}");
            }
        }
        Shape::Change(before, after) => {
            let _ = writeln!(out, "      {}: {before} -> {after}{marker}", f.path);
        }
    }
}

/// One change; `create_first` are the replacements that make the new
/// resource before deleting the old one (`+/-`, not `-/+`).
fn change(out: &mut String, c: &Change, create_first: &[crate::model::Address]) {
    let symbol = if c.action == Action::Replace && create_first.contains(&c.address) {
        "+/-"
    } else {
        c.action.symbol()
    };
    let _ = write!(out, "  {symbol} {}", c.address);
    match (&c.action, &c.reason, &c.id) {
        (Action::Replace, Some(r), _) if create_first.contains(&c.address) => {
            let _ = write!(out, "  (replace, the new one first: {r})");
        }
        (Action::Replace, Some(r), _) => {
            let _ = write!(out, "  (replace: {r})");
        }
        (Action::Delete, Some(r), Some(id)) => {
            let _ = write!(out, "  ({id}: {r})");
        }
        (Action::Update, _, Some(id)) => {
            let _ = write!(out, "  ({id})");
        }
        _ => {}
    }
    match (c.action, c.origin) {
        (Action::Create, Some(DiffOrigin::Drift)) => {
            out.push_str("  # drift: deleted since the last apply")
        }
        (Action::Create | Action::Delete, _) | (_, None) => {}
        (_, Some(o)) => {
            let _ = write!(out, "  # {}", o.as_str());
        }
    }
    out.push('\n');
    for f in &c.fields {
        field(out, f, c.action);
    }
    for n in &c.notes {
        for line in n.lines() {
            let _ = writeln!(out, "      {line}");
        }
    }
}

/// How many changes are drift, declared or both, when the records of the
/// last apply tell and something drifted.
pub fn origins_line(p: &Plan) -> Option<String> {
    let count = |o: DiffOrigin| p.changes.iter().filter(|c| c.origin == Some(o)).count();
    let parts: Vec<String> = [
        (
            DiffOrigin::Drift,
            "drift (changed outside Blueprint since the last apply)",
        ),
        (DiffOrigin::Declared, "declared (the blueprint changed)"),
        (DiffOrigin::Both, "both"),
    ]
    .iter()
    .filter(|(o, _)| count(*o) > 0)
    .map(|(o, what)| format!("{} {what}", count(*o)))
    .collect();
    // Worth a line when something was changed outside Blueprint: that
    // every change of a first plan is declared goes without saying.
    let drifted = count(DiffOrigin::Drift) + count(DiffOrigin::Both) > 0;
    drifted.then(|| format!("Origin of the changes: {}.", parts.join(", ")))
}

/// The summary line.
pub fn summary_line(p: &Plan) -> String {
    if !p.has_changes() {
        return format!("No changes. {} resources match the blueprint.", p.unchanged);
    }
    let s = p.summary();
    let moves = p.moved.iter().filter(|m| m.id.is_some()).count();
    let moved = if moves > 0 {
        format!(" {moves} to move.")
    } else {
        String::new()
    };
    format!(
        "Plan: {} to add, {} to change, {} to replace, {} to destroy.{moved}",
        s.add, s.change, s.replace, s.destroy
    )
}

pub fn human(p: &Plan) -> String {
    let mut out = String::new();
    if p.has_changes() {
        let _ = writeln!(
            out,
            "Blueprint {} in {}: + create, ~ update in place, -/+ replace, - destroy\n",
            p.blueprint, p.region
        );
        for m in p.moved.iter().filter(|m| m.id.is_some()) {
            let _ = writeln!(out, "  moved: {} → {}", m.from, m.to);
        }
        if p.providers.is_empty() {
            for c in &p.changes {
                change(&mut out, c, &p.create_first);
            }
        } else {
            // With provider instances: the changes of each account and
            // region together, in the order the plan lists them.
            let mut places: Vec<&str> = Vec::new();
            for c in &p.changes {
                if !places.contains(&c.provider.as_str()) {
                    places.push(&c.provider);
                }
            }
            for place in places {
                let _ = writeln!(out, "  in {place}:");
                for c in p.changes.iter().filter(|c| c.provider == place) {
                    change(&mut out, c, &p.create_first);
                }
            }
        }
        out.push('\n');
        if let Some(line) = origins_line(p) {
            let _ = writeln!(out, "{line}\n");
        }
        let findings = crate::lint::render::plan_lines(&p.findings);
        if !findings.is_empty() {
            out.push_str(&findings);
            out.push('\n');
        }
        if let Some(cost) = &p.cost {
            out.push_str(&crate::cost::render::plan_lines(cost));
            out.push('\n');
        }
    }
    for u in &p.unread {
        let _ = writeln!(
            out,
            "Not read: {} ({}): its resources are planned as creates, checked when applied.",
            u.provider, u.why
        );
    }
    for u in &p.unlisted {
        let call = match &u.action {
            Some(a) => format!("{a}: {}", u.why),
            None => u.why.clone(),
        };
        let _ = writeln!(
            out,
            "Warning: cannot list {} ({call}); resources of this kind that the blueprint no longer declares will not be pruned.",
            u.kind
        );
    }
    for i in &p.ignored {
        let _ = writeln!(
            out,
            "Left to others: {} {} is {} live, declared {} (ignored: not a change).",
            i.address,
            i.field,
            show(&i.live),
            show(&i.declared)
        );
    }
    for m in p.moved.iter().filter(|m| m.id.is_none()) {
        let _ = writeln!(
            out,
            "Note: moved({}, {}): nothing is at {} any more; the line can stay, or go.",
            m.from, m.to, m.from
        );
    }
    if !p.selection.is_empty() {
        if !p.left_out.is_empty() {
            out.push_str("Left out by --target/--exclude:\n");
            for l in &p.left_out {
                let _ = writeln!(out, "  {} {}  ({})", l.action.symbol(), l.address, l.why);
            }
        }
        let mut asked: Vec<String> = p
            .selection
            .targets
            .iter()
            .map(|t| format!("--target {t}"))
            .collect();
        asked.extend(
            p.selection
                .excludes
                .iter()
                .map(|e| format!("--exclude {e}")),
        );
        let _ = writeln!(
            out,
            "Note: this plan covers part of the blueprint ({}): {} change(s) left out; a plan without them shows the whole.",
            asked.join(" "),
            p.left_out.len()
        );
    }
    out.push_str(&summary_line(p));
    out.push('\n');
    out
}

/// The JSON form of `bp plan --json` (the saved plan file is the same shape).
pub fn json(p: &Plan) -> serde_json::Value {
    let mut v = serde_json::to_value(p).unwrap_or_default();
    // Each change names its kind, so that readers need not parse addresses.
    if let Some(changes) = v["changes"].as_array_mut() {
        for (c, change) in changes.iter_mut().zip(&p.changes) {
            c["kind"] = serde_json::json!(change.address.kind.as_str());
        }
    }
    if let Some(cost) = &p.cost {
        v["cost"]["delta"] = serde_json::json!((cost.delta() * 100.0).round() / 100.0);
    }
    let s = p.summary();
    v["summary"] = serde_json::json!({
        "add": s.add, "change": s.change, "replace": s.replace, "destroy": s.destroy,
    });
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Address, Kind};
    use crate::plan::Reason;

    fn plan(changes: Vec<Change>) -> Plan {
        Plan {
            format_version: 1,
            blueprint: "demo".into(),
            region: "us-east-1".into(),
            providers: Default::default(),
            protected: vec![],
            unread: vec![],
            unlisted: vec![],
            refused: vec![],
            ignored: vec![],
            create_first: vec![],
            selection: Default::default(),
            left_out: Vec::new(),
            moved: Vec::new(),
            changes,
            unchanged: 3,
            fingerprint: String::new(),
            desired: vec![],
            source: None,
            findings: Vec::new(),
            cost: None,
        }
    }

    #[test]
    fn providers_not_read_yet_are_named() {
        let mut p = plan(vec![]);
        p.unread.push(crate::plan::Unread {
            provider: "kubernetes:pms".into(),
            why: "cluster pms does not exist yet".into(),
        });
        assert!(human(&p).starts_with(
            "Not read: kubernetes:pms (cluster pms does not exist yet): its resources are planned as creates, checked when applied.\n"
        ));
    }

    #[test]
    fn no_changes() {
        assert_eq!(
            human(&plan(vec![])),
            "No changes. 3 resources match the blueprint.\n"
        );
    }

    #[test]
    fn actions_fields_and_summary() {
        let p = plan(vec![
            Change {
                address: Address::new(Kind::new("gadget"), "demo/app"),
                action: Action::Update,
                provider: "aws:us-east-1".into(),
                reason: None,
                fields: vec![FieldDiff {
                    path: "scaling.desired".into(),
                    before: Value::Int(2),
                    after: Value::Int(4),
                    forces_replacement: false,
                    origin: None,
                }],
                id: Some("app".into()),
                notes: vec![],
                origin: None,
            },
            Change {
                address: Address::new(Kind::new("widget"), "demo/private-a"),
                action: Action::Replace,
                provider: "aws:us-east-1".into(),
                reason: Some(Reason::Immutable {
                    field: "cidr".into(),
                    message: "a widget's CIDR block cannot change".into(),
                }),
                fields: vec![FieldDiff {
                    path: "cidr".into(),
                    before: Value::str("10.0.1.0/24"),
                    after: Value::str("10.0.9.0/24"),
                    forces_replacement: true,
                    origin: None,
                }],
                id: Some("subnet-1".into()),
                notes: vec![],
                origin: None,
            },
            Change {
                address: Address::new(Kind::new("lock"), "old"),
                action: Action::Delete,
                provider: "aws:us-east-1".into(),
                reason: Some(Reason::NotDeclared),
                fields: vec![],
                id: Some("k-1".into()),
                notes: vec![],
                origin: None,
            },
        ]);
        let text = human(&p);
        assert!(
            text.contains("  ~ gadget.demo/app  (app)\n      scaling.desired: 2 -> 4\n"),
            "{text}"
        );
        assert!(text.contains("  -/+ widget.demo/private-a  (replace: a widget's CIDR block cannot change)\n      cidr: \"10.0.1.0/24\" -> \"10.0.9.0/24\"  # forces replacement\n"), "{text}");
        assert!(
            text.contains("  - lock.old  (k-1: no longer declared in the blueprint)\n"),
            "{text}"
        );
        assert!(
            text.ends_with("Plan: 0 to add, 1 to change, 1 to replace, 1 to destroy.\n"),
            "{text}"
        );
    }

    #[test]
    fn lists_of_sentences_show_item_by_item() {
        let mut out = String::new();
        let f = FieldDiff {
            path: "drift".into(),
            before: Value::List(vec![Value::str(
                r#"ConfigMap apps/web data.greeting: "by-hand" live, "hi" in the release"#,
            )]),
            after: Value::List(vec![]),
            forces_replacement: false,
            origin: None,
        };
        field(&mut out, &f, Action::Update);
        assert_eq!(
            out,
            "      drift:\n        - ConfigMap apps/web data.greeting: \"by-hand\" live, \"hi\" in the release\n"
        );
    }
}
