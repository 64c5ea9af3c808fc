//! The plan as GitHub-flavoured Markdown, for a pull-request comment
//! (`bp plan --format markdown`, `bp show PLAN --format markdown`): a
//! summary line, a table of the changes by provider (replacements and
//! deletions first, each with its reason), and a collapsible `<details>`
//! per resource with its field diff (a policy document's statements one by
//! one, as the plan compares them). Secrets read `(sensitive)`.
//!
//! A comment holds at most 65,536 characters. A larger plan folds, least
//! important first: the field diffs of updates, then every field diff,
//! then the rows of the table past what fits, and says what it left out.

use super::render::{shape, Shape};
use super::{Action, Change, DiffOrigin, FieldDiff, Plan};
use std::fmt::Write;

/// GitHub's limit on a comment's body.
pub const GITHUB_LIMIT: usize = 65_536;

/// Text in a table cell or inline code: pipes and newlines would break it.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace(['\n', '\r'], " ")
}

/// Text inside `<summary>` and other HTML: markup escaped.
fn html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn verb(c: &Change, create_first: bool) -> &'static str {
    match c.action {
        Action::Create => "create",
        Action::Update => "update in place",
        Action::Replace if create_first => "replace (new one first)",
        Action::Replace => "replace",
        Action::Delete => "delete",
    }
}

/// The order of the table: what cannot be undone first.
fn rank(a: Action) -> u8 {
    match a {
        Action::Replace => 0,
        Action::Delete => 1,
        Action::Update => 2,
        Action::Create => 3,
    }
}

fn why(c: &Change) -> String {
    let mut parts = Vec::new();
    if let Some(r) = &c.reason {
        parts.push(r.to_string());
    }
    match (c.action, c.origin) {
        (Action::Create, Some(DiffOrigin::Drift)) => {
            parts.push("drift: deleted since the last apply".into())
        }
        (Action::Create | Action::Delete, _) | (_, None) => {}
        (_, Some(o)) => parts.push(o.as_str().to_string()),
    }
    parts.join("; ")
}

/// The diff of one field, as lines of a ```diff block.
fn field_lines(out: &mut String, f: &FieldDiff, action: Action) {
    let note = super::render::marker(f);
    match shape(f, action) {
        Shape::Set(v) => {
            let _ = writeln!(out, "+ {} = {v}", f.path);
        }
        Shape::Items { gone, new } => {
            let _ = writeln!(out, "  {}:{note}", f.path);
            for g in gone {
                let _ = writeln!(out, "-   {g}");
            }
            for n in new {
                let _ = writeln!(out, "+   {n}");
            }
        }
        Shape::Lines(lines) => {
            let _ = writeln!(out, "  {}:{note}", f.path);
            for (sign, line) in lines {
                let _ = writeln!(out, "{sign}   {line}");
            }
        }
        Shape::Change(before, after) => {
            let _ = writeln!(out, "- {}: {before}", f.path);
            let _ = writeln!(out, "+ {}: {after}{note}", f.path);
        }
    }
}

/// One resource's `<details>`: its field diff, or a line saying it was
/// folded.
fn details(c: &Change, create_first: bool, folded: bool) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "<details><summary><code>{} {}</code> {}</summary>\n",
        if c.action == Action::Replace && create_first {
            "+/-"
        } else {
            c.action.symbol()
        },
        html(&c.address.to_string()),
        verb(c, create_first)
    );
    if folded {
        out.push_str("(field diff folded to stay under the comment limit)\n");
    } else {
        out.push_str("```diff\n");
        for f in &c.fields {
            field_lines(&mut out, f, c.action);
        }
        for n in &c.notes {
            for line in n.lines() {
                let _ = writeln!(out, "  {line}");
            }
        }
        out.push_str("```\n");
    }
    out.push_str("\n</details>\n");
    out
}

/// The summary line: counts by action, the cost delta, findings by
/// severity, drift.
pub fn summary(p: &Plan) -> String {
    if !p.has_changes() {
        return format!(
            "**No changes.** {} resources match the blueprint.",
            p.unchanged
        );
    }
    let s = p.summary();
    let mut out = format!(
        "**Plan: {} to add, {} to change, {} to replace, {} to destroy.**",
        s.add, s.change, s.replace, s.destroy
    );
    let moves = p.moved.iter().filter(|m| m.id.is_some()).count();
    if moves > 0 {
        let _ = write!(out, " {moves} to move.");
    }
    if let Some(c) = &p.cost {
        let _ = write!(
            out,
            " Cost: {} → {} ({}) a month.",
            crate::cost::render::money(c.before),
            crate::cost::render::money(c.after),
            crate::cost::render::signed(c.delta())
        );
    }
    let open: Vec<_> = p
        .findings
        .iter()
        .filter(|f| f.suppressed.is_none())
        .collect();
    if !open.is_empty() {
        let count = |sev: crate::lint::Severity| open.iter().filter(|f| f.severity == sev).count();
        let parts: Vec<String> = [
            (crate::lint::Severity::Error, "error"),
            (crate::lint::Severity::Warning, "warning"),
            (crate::lint::Severity::Note, "note"),
        ]
        .iter()
        .filter(|(s, _)| count(*s) > 0)
        .map(|(s, name)| {
            let n = count(*s);
            format!("{n} {name}{}", if n == 1 { "" } else { "s" })
        })
        .collect();
        let _ = write!(out, " Findings: {}.", parts.join(", "));
    }
    let drifted = p
        .changes
        .iter()
        .filter(|c| c.origin.is_some_and(|o| o.drifted()))
        .count();
    if drifted > 0 {
        let _ = write!(out, " Drift: {drifted} changed outside Blueprint.");
    }
    out
}

/// The plan as Markdown, within `limit` characters.
pub fn render(p: &Plan, limit: usize) -> String {
    let mut order: Vec<&Change> = p.changes.iter().collect();
    order.sort_by_key(|c| (c.provider.clone(), rank(c.action)));
    // Fold step by step until it fits: 0 nothing, 1 updates' diffs, 2 all
    // diffs, 3 the details too (the table only), then fewer rows.
    for fold in 0..4 {
        let text = build(p, &order, fold, order.len());
        if text.len() <= limit {
            return text;
        }
    }
    // Rows until it fits, the most important first.
    let mut rows = order.len();
    loop {
        rows = rows * 3 / 4;
        let text = build(p, &order, 3, rows);
        if text.len() <= limit || rows == 0 {
            return text;
        }
    }
}

/// The first line of every rendering: invisible on GitHub, it names the
/// blueprint, so that a CI job finds and updates its own earlier comment.
pub fn marker(p: &Plan) -> String {
    format!("<!-- bp plan {} -->", html(&p.blueprint))
}

fn build(p: &Plan, order: &[&Change], fold: u8, rows: usize) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}\n### Blueprint `{}` in {}\n\n{}\n",
        marker(p),
        cell(&p.blueprint),
        cell(&p.region),
        summary(p)
    );
    for m in p.moved.iter().filter(|m| m.id.is_some()) {
        let _ = writeln!(out, "- moved: `{}` → `{}`", m.from, m.to);
    }
    if !p.selection.is_empty() {
        let _ = writeln!(
            out,
            "> This plan covers part of the blueprint (--target/--exclude): {} change(s) left out.\n",
            p.left_out.len()
        );
    }
    if !order.is_empty() {
        out.push_str("| | Resource | Provider | Action | Why |\n|---|---|---|---|---|\n");
        for c in order.iter().take(rows) {
            let first = p.create_first.contains(&c.address);
            let _ = writeln!(
                out,
                "| `{}` | `{}` | {} | {} | {} |",
                if c.action == Action::Replace && first {
                    "+/-"
                } else {
                    c.action.symbol()
                },
                cell(&c.address.to_string()),
                cell(&c.provider),
                verb(c, first),
                cell(&why(c))
            );
        }
        if rows < order.len() {
            let _ = writeln!(
                out,
                "| | … and {} more change(s) | | | |",
                order.len() - rows
            );
        }
        out.push('\n');
    }
    if fold < 3 {
        for c in order.iter().take(rows) {
            let folded = match fold {
                0 => false,
                1 => c.action == Action::Update,
                _ => true,
            };
            out.push_str(&details(c, p.create_first.contains(&c.address), folded));
        }
        out.push('\n');
    }
    let open: Vec<_> = p
        .findings
        .iter()
        .filter(|f| f.suppressed.is_none())
        .collect();
    if !open.is_empty() {
        out.push_str("**Findings** for what this plan creates or changes:\n\n");
        for f in open {
            let at = f
                .location
                .as_ref()
                .map(|s| format!(" ({s})"))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "- {}[{}] `{}`: {}{}",
                f.severity.as_str(),
                f.rule,
                f.address,
                cell(&f.message),
                cell(&at)
            );
        }
        out.push('\n');
    }
    if fold > 0 || rows < order.len() {
        let what = match (fold, rows < order.len()) {
            (_, true) => "the field diffs and some rows of the table",
            (1, _) => "the field diffs of updates",
            (2, _) => "the field diffs",
            _ => "the field diffs",
        };
        let _ = writeln!(
            out,
            "> Folded to stay under GitHub's {GITHUB_LIMIT}-character comment limit: {what} are left out. `bp show PLAN` shows the whole plan.\n"
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Address, Kind, Value};
    use crate::plan::Reason;

    fn change(name: &str, action: Action, fields: Vec<FieldDiff>) -> Change {
        Change {
            address: Address::new(Kind::new("widget"), name),
            action,
            provider: "aws:eu-west-1".into(),
            reason: (action == Action::Replace).then(|| Reason::Immutable {
                field: "size".into(),
                message: "size cannot change in place".into(),
            }),
            fields,
            id: None,
            notes: vec![],
            origin: None,
        }
    }

    fn fd(path: &str, before: Value, after: Value) -> FieldDiff {
        FieldDiff {
            path: path.into(),
            before,
            after,
            forces_replacement: false,
            origin: None,
        }
    }

    fn plan(changes: Vec<Change>) -> Plan {
        let mut p = crate::plan::compute("demo", "eu-west-1", &crate::model::Graph::new(), &[]);
        p.changes = changes;
        p
    }

    #[test]
    fn replacements_and_deletes_lead_the_table_and_secrets_stay_hidden() {
        let secret = Value::Sensitive(crate::model::Secret {
            hash: "h".into(),
            value: Some(Box::new(Value::str("hunter2"))),
        });
        let p = plan(vec![
            change(
                "a",
                Action::Create,
                vec![fd("size", Value::Null, Value::Int(1))],
            ),
            change(
                "b",
                Action::Update,
                vec![fd("password", Value::Null, secret)],
            ),
            change(
                "c",
                Action::Replace,
                vec![fd("size", Value::Int(1), Value::Int(2))],
            ),
        ]);
        let md = render(&p, GITHUB_LIMIT);
        let c = md.find("| `-/+` | `widget.c`").unwrap();
        let b = md.find("| `~` | `widget.b`").unwrap();
        let a = md.find("| `+` | `widget.a`").unwrap();
        assert!(c < b && b < a, "{md}");
        assert!(
            md.contains("| replace | size cannot change in place |"),
            "{md}"
        );
        assert!(md.contains("+ password: (sensitive)"), "{md}");
        assert!(!md.contains("hunter2"), "{md}");
        assert!(md.contains("<details><summary><code>-/+ widget.c</code> replace</summary>"));
    }

    #[test]
    fn a_policy_statement_shows_as_a_line_diff_under_its_path() {
        let stmt = |action: &str| {
            Value::Map(
                [
                    ("Sid".to_string(), Value::str("Read")),
                    ("Effect".to_string(), Value::str("Allow")),
                    ("Action".to_string(), Value::List(vec![Value::str(action)])),
                    ("Resource".to_string(), Value::str("*")),
                ]
                .into_iter()
                .collect(),
            )
        };
        let p = plan(vec![change(
            "role",
            Action::Update,
            vec![fd(
                "inline_policies.read.Statement[Read]",
                stmt("s3:*"),
                stmt("s3:GetObject"),
            )],
        )]);
        let md = render(&p, GITHUB_LIMIT);
        assert!(
            md.contains("  inline_policies.read.Statement[Read]:\n"),
            "{md}"
        );
        assert!(md.contains("-       \"s3:*\"\n"), "{md}");
        assert!(md.contains("+       \"s3:GetObject\"\n"), "{md}");
        assert!(md.contains("\n      \"Effect\": \"Allow\",\n"), "{md}");
    }

    #[test]
    fn the_summary_counts_findings_by_severity_and_drift() {
        let mut drifted = change("d", Action::Update, vec![]);
        drifted.origin = Some(DiffOrigin::Drift);
        let mut p = plan(vec![drifted]);
        let finding = |sev, suppressed: Option<&str>| crate::lint::Finding {
            rule: "BP001".into(),
            severity: sev,
            title: "t".into(),
            address: Address::new(Kind::new("widget"), "d"),
            message: "m".into(),
            location: None,
            called_from: vec![],
            hint: None,
            suppressed: suppressed.map(String::from),
        };
        p.findings = vec![
            finding(crate::lint::Severity::Warning, None),
            finding(crate::lint::Severity::Note, None),
            finding(crate::lint::Severity::Note, None),
            finding(crate::lint::Severity::Error, Some("allowed")),
        ];
        assert_eq!(
            summary(&p),
            "**Plan: 0 to add, 1 to change, 0 to replace, 0 to destroy.** Findings: 1 warning, 2 notes. Drift: 1 changed outside Blueprint."
        );
        let md = render(&p, GITHUB_LIMIT);
        assert!(md.contains("| update in place | drift |"), "{md}");
        assert!(md.contains("- warning[BP001] `widget.d`: m"), "{md}");
    }

    #[test]
    fn a_plan_too_large_for_a_comment_folds_and_says_so() {
        let big = |i: usize| {
            change(
                &format!("w{i:05}"),
                Action::Update,
                vec![fd(
                    "doc",
                    Value::str("x".repeat(400)),
                    Value::str("y".repeat(400)),
                )],
            )
        };
        let p = plan((0..400).map(big).collect());
        let md = render(&p, GITHUB_LIMIT);
        assert!(md.len() <= GITHUB_LIMIT, "{}", md.len());
        assert!(md.contains("Folded to stay under GitHub's 65536-character comment limit"));
        // Every change still has its row.
        assert_eq!(md.matches("| `~` | `widget.w").count(), 400);
        let p = plan((0..3000).map(big).collect());
        let md = render(&p, GITHUB_LIMIT);
        assert!(md.len() <= GITHUB_LIMIT, "{}", md.len());
        assert!(md.contains("more change(s)"), "{}", &md[md.len() - 400..]);
        assert!(md.contains("some rows of the table are left out"));
    }
}
