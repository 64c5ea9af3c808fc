//! The plan as one self-contained HTML file (`bp plan --html FILE`, `bp
//! show PLAN --html FILE`): the summary, the changes with their field
//! diffs, the dependency graph of the changes as SVG (laid out here, in
//! layers: each change right of what it waits on), the monthly cost per
//! kind before and after as a bar chart, and the lint findings with their
//! places. No network access at view time: styles and the SVG are inline.
//! Everything shows with JavaScript off; the small inline script only adds
//! filtering by action and kind.

use super::render::{shape, Shape};
use super::{Action, Change, FieldDiff, Plan};
use crate::model::Address;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn action_name(a: Action) -> &'static str {
    match a {
        Action::Create => "create",
        Action::Update => "update",
        Action::Replace => "replace",
        Action::Delete => "delete",
    }
}

fn colour(a: Action) -> &'static str {
    match a {
        Action::Create => "#1a7f37",
        Action::Update => "#9a6700",
        Action::Replace => "#8250df",
        Action::Delete => "#cf222e",
    }
}

const STYLE: &str = "body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:24px;color:#1f2328;max-width:1400px}\
code,pre{font:12px/1.4 ui-monospace,SFMono-Regular,Menlo,monospace}\
h1{font-size:20px;margin:0 0 6px}h2{font-size:16px;margin:28px 0 8px;border-bottom:1px solid #d0d7de;padding-bottom:4px}\
.summary{font-weight:600}table{border-collapse:collapse;width:100%}\
th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #eaeef2;vertical-align:top}\
.sym{font-family:ui-monospace,monospace;font-weight:700}\
.create .sym{color:#1a7f37}.update .sym{color:#9a6700}.replace .sym{color:#8250df}.delete .sym{color:#cf222e}\
pre{background:#f6f8fa;padding:8px;overflow:auto;margin:4px 0}\
.add{color:#1a7f37}.del{color:#cf222e}\
#filters{margin:8px 0}#filters label{margin-right:12px}\
svg text{font:11px ui-monospace,monospace}.finding{margin:4px 0}\
.sev-error{color:#cf222e}.sev-warning{color:#9a6700}.sev-note{color:#57606a}\
.scroll{overflow:auto;max-height:600px;border:1px solid #eaeef2;padding:4px}";

/// Lines of one field's diff, marked for colour.
fn field_html(out: &mut String, f: &FieldDiff, action: Action) {
    let note = esc(&super::render::marker(f));
    let path = esc(&f.path);
    let line = |out: &mut String, sign: char, text: &str| {
        let text = esc(text);
        let _ = match sign {
            '-' => writeln!(out, "<span class=\"del\">-   {text}</span>"),
            '+' => writeln!(out, "<span class=\"add\">+   {text}</span>"),
            _ => writeln!(out, "    {text}"),
        };
    };
    match shape(f, action) {
        Shape::Set(v) => {
            let _ = writeln!(out, "<span class=\"add\">+ {path} = {}</span>", esc(&v));
        }
        Shape::Items { gone, new } => {
            let _ = writeln!(out, "  {path}:{note}");
            gone.iter().for_each(|g| line(out, '-', g));
            new.iter().for_each(|n| line(out, '+', n));
        }
        Shape::Lines(lines) => {
            let _ = writeln!(out, "  {path}:{note}");
            lines.iter().for_each(|(sign, text)| line(out, *sign, text));
        }
        Shape::Change(before, after) => {
            let _ = writeln!(
                out,
                "<span class=\"del\">- {path}: {}</span>\n<span class=\"add\">+ {path}: {}</span>{note}",
                esc(&before),
                esc(&after)
            );
        }
    }
}

/// A node's column and row, or an edge's two ends (indices of changes).
type Pair = (usize, usize);

/// Where each change's node sits: its layer (right of everything it
/// waits on) and its row in the layer; and the edges, from what is waited
/// on to the change that waits.
fn layout(p: &Plan) -> (Vec<Pair>, Vec<Pair>) {
    let index: HashMap<&Address, usize> = p
        .changes
        .iter()
        .enumerate()
        .map(|(i, c)| (&c.address, i))
        .collect();
    let deps_of: HashMap<&Address, BTreeSet<&Address>> = p
        .desired
        .iter()
        .map(|d| {
            (
                &d.address,
                d.depends_on.iter().chain(&d.after_create).collect(),
            )
        })
        .collect();
    // Edges (from what is waited on, to the change that waits).
    let mut edges = Vec::new();
    for (i, c) in p.changes.iter().enumerate() {
        if c.action == Action::Delete {
            continue;
        }
        for d in deps_of.get(&c.address).into_iter().flatten() {
            if let Some(&j) = index.get(d) {
                if j != i && p.changes[j].action != Action::Delete {
                    edges.push((j, i));
                }
            }
        }
    }
    // Changes are listed dependencies first, so one pass gives layers.
    let mut layer = vec![0usize; p.changes.len()];
    for _ in 0..p.changes.len().min(64) {
        let mut moved = false;
        for &(from, to) in &edges {
            if layer[to] < layer[from] + 1 {
                layer[to] = layer[from] + 1;
                moved = true;
            }
        }
        if !moved {
            break;
        }
    }
    // Deletes go last, in a column of their own.
    let last = layer.iter().copied().max().unwrap_or(0) + 1;
    for (i, c) in p.changes.iter().enumerate() {
        if c.action == Action::Delete {
            layer[i] = last;
        }
    }
    let mut rows: BTreeMap<usize, usize> = BTreeMap::new();
    let places = layer
        .iter()
        .map(|&l| {
            let r = rows.entry(l).or_default();
            *r += 1;
            (l, *r - 1)
        })
        .collect();
    (places, edges)
}

const NODE_W: usize = 230;
const NODE_H: usize = 26;
const COL: usize = 290;
const ROW: usize = 36;

fn graph_svg(p: &Plan) -> String {
    let (places, edges) = layout(p);
    let cols = places.iter().map(|(l, _)| l + 1).max().unwrap_or(0);
    let rows = places.iter().map(|(_, r)| r + 1).max().unwrap_or(0);
    let (w, h) = (cols * COL + 20, rows * ROW + 20);
    let at = |i: usize| -> (usize, usize) {
        let (l, r) = places[i];
        (10 + l * COL, 10 + r * ROW)
    };
    let mut out = format!(
        "<svg id=\"graph-svg\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" role=\"img\" aria-label=\"dependency graph of the changes\">\
<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto-start-reverse\"><path d=\"M0,0L10,5L0,10z\" fill=\"#8c959f\"/></marker></defs>\n"
    );
    for &(from, to) in &edges {
        let ((x1, y1), (x2, y2)) = (at(from), at(to));
        let (sx, sy, ex, ey) = (x1 + NODE_W, y1 + NODE_H / 2, x2, y2 + NODE_H / 2);
        let mid = (sx + ex) / 2;
        let _ = writeln!(
            out,
            "<path class=\"edge\" d=\"M{sx},{sy} C{mid},{sy} {mid},{ey} {ex},{ey}\" fill=\"none\" stroke=\"#8c959f\" stroke-width=\"1\" marker-end=\"url(#arrow)\" data-from=\"{}\" data-to=\"{}\"/>",
            esc(&p.changes[from].address.to_string()),
            esc(&p.changes[to].address.to_string())
        );
    }
    for (i, c) in p.changes.iter().enumerate() {
        let (x, y) = at(i);
        let name = c.address.to_string();
        let label: String = if name.chars().count() > 34 {
            format!("{}…", name.chars().take(33).collect::<String>())
        } else {
            name.clone()
        };
        let _ = writeln!(
            out,
            "<g class=\"node\" data-action=\"{a}\" data-kind=\"{k}\" data-address=\"{n}\"><title>{sym} {n}</title>\
<rect x=\"{x}\" y=\"{y}\" width=\"{NODE_W}\" height=\"{NODE_H}\" rx=\"4\" fill=\"#fff\" stroke=\"{col}\" stroke-width=\"2\"/>\
<text x=\"{tx}\" y=\"{ty}\" fill=\"{col}\">{sym} {l}</text></g>",
            a = action_name(c.action),
            k = esc(c.address.kind.as_str()),
            n = esc(&name),
            sym = esc(c.action.symbol()),
            col = colour(c.action),
            tx = x + 6,
            ty = y + 17,
            l = esc(&label),
        );
    }
    out.push_str("</svg>");
    out
}

fn cost_svg(p: &Plan) -> String {
    let Some(cost) = &p.cost else {
        return "<p>No cost estimate.</p>".into();
    };
    let mut kinds: Vec<&crate::cost::KindCost> = cost.by_kind.iter().collect();
    if kinds.is_empty() {
        return "<p>Nothing the blueprint declares is priced.</p>".into();
    }
    kinds.sort_by(|a, b| {
        b.before
            .max(b.after)
            .partial_cmp(&a.before.max(a.after))
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    let top = kinds
        .iter()
        .map(|k| k.before.max(k.after))
        .fold(0.0_f64, f64::max)
        .max(0.01);
    let (label_w, bar_w, h) = (180.0, 420.0, kinds.len() * 34 + 30);
    let mut out = format!(
        "<svg id=\"cost-svg\" xmlns=\"http://www.w3.org/2000/svg\" width=\"760\" height=\"{h}\" role=\"img\" aria-label=\"monthly cost per kind, before and after\">\
<rect x=\"{label_w}\" y=\"4\" width=\"10\" height=\"10\" fill=\"#afb8c1\"/><text x=\"{}\" y=\"13\">before</text>\
<rect x=\"{}\" y=\"4\" width=\"10\" height=\"10\" fill=\"#0969da\"/><text x=\"{}\" y=\"13\">after</text>\n",
        label_w + 14.0,
        label_w + 80.0,
        label_w + 94.0
    );
    for (i, k) in kinds.iter().enumerate() {
        let y = 24 + i * 34;
        let (b, a) = (bar_w * k.before / top, bar_w * k.after / top);
        let _ = writeln!(
            out,
            "<g class=\"bar\" data-kind=\"{kind}\"><text x=\"0\" y=\"{ty}\">{kind}</text>\
<rect x=\"{label_w}\" y=\"{y}\" width=\"{b:.1}\" height=\"12\" fill=\"#afb8c1\"><title>before {mb}</title></rect>\
<rect x=\"{label_w}\" y=\"{y2}\" width=\"{a:.1}\" height=\"12\" fill=\"#0969da\"><title>after {ma}</title></rect>\
<text x=\"{tx:.1}\" y=\"{ty}\">{mb} → {ma}</text></g>",
            kind = esc(&k.kind),
            ty = y + 15,
            y2 = y + 13,
            mb = crate::cost::render::money(k.before),
            ma = crate::cost::render::money(k.after),
            tx = label_w + b.max(a) + 8.0,
        );
    }
    out.push_str("</svg>");
    out
}

const SCRIPT: &str = "(function(){var f=document.getElementById('filters');if(!f)return;f.hidden=false;\
function apply(){var acts=[].slice.call(f.querySelectorAll('input[name=action]:checked')).map(function(i){return i.value});\
var kind=f.querySelector('select').value,n=0;\
[].forEach.call(document.querySelectorAll('[data-action]'),function(e){var on=acts.indexOf(e.getAttribute('data-action'))>=0&&(!kind||e.getAttribute('data-kind')===kind);\
if(e.tagName.toLowerCase()==='g'){e.style.opacity=on?1:0.15}else{e.hidden=!on}if(on&&e.classList.contains('change'))n++});\
document.getElementById('count').textContent=n}f.addEventListener('change',apply)})();";

/// The plan as one HTML document.
pub fn render(p: &Plan) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\">\
<title>Plan of {bp}</title><style>{STYLE}</style></head><body>\n\
<header><h1>Blueprint <code>{bp}</code> in {region}</h1><p class=\"summary\" id=\"summary\">{summary}</p></header>\n",
        bp = esc(&p.blueprint),
        region = esc(&p.region),
        summary = esc(&super::render::summary_line(p)),
    );
    if let Some(c) = &p.cost {
        let _ = writeln!(
            out,
            "<p id=\"cost-line\">Monthly cost: {} → {} ({}), on demand.</p>",
            crate::cost::render::money(c.before),
            crate::cost::render::money(c.after),
            crate::cost::render::signed(c.delta())
        );
    }
    let _ = writeln!(
        out,
        "<section id=\"graph\"><h2>What each change waits on</h2><p>Each change sits right of the changes it waits on; deletes come last.</p><div class=\"scroll\">{}</div></section>",
        graph_svg(p)
    );
    let _ = writeln!(
        out,
        "<section id=\"cost\"><h2>Monthly cost per kind</h2>{}</section>",
        cost_svg(p)
    );
    // The changes, with their diffs.
    let kinds: BTreeSet<&str> = p.changes.iter().map(|c| c.address.kind.as_str()).collect();
    let _ = write!(
        out,
        "<section id=\"changes\"><h2>Changes (<span id=\"count\">{}</span>)</h2>\n<form id=\"filters\" hidden>",
        p.changes.len()
    );
    for a in [
        Action::Create,
        Action::Update,
        Action::Replace,
        Action::Delete,
    ] {
        let _ = write!(
            out,
            "<label><input type=\"checkbox\" name=\"action\" value=\"{n}\" checked> {n}</label>",
            n = action_name(a)
        );
    }
    out.push_str("<label>kind <select name=\"kind\"><option value=\"\">all</option>");
    for k in &kinds {
        let _ = write!(out, "<option>{}</option>", esc(k));
    }
    out.push_str("</select></label></form>\n<table><thead><tr><th></th><th>Resource</th><th>Provider</th><th>Why</th></tr></thead><tbody>\n");
    for c in &p.changes {
        change_rows(&mut out, p, c);
    }
    out.push_str("</tbody></table></section>\n");
    out.push_str("<section id=\"findings\"><h2>Findings</h2>\n");
    let open: Vec<_> = p
        .findings
        .iter()
        .filter(|f| f.suppressed.is_none())
        .collect();
    if open.is_empty() {
        out.push_str("<p>No findings for what this plan creates or changes.</p>\n");
    }
    for f in open {
        let at = f
            .location
            .as_ref()
            .map(|s| format!(" <code class=\"at\">{}</code>", esc(&s.to_string())))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "<p class=\"finding sev-{sev}\"><b>{sev}[{rule}]</b> <code>{a}</code>: {m}{at}</p>",
            sev = f.severity.as_str(),
            rule = esc(&f.rule),
            a = esc(&f.address.to_string()),
            m = esc(&f.message),
        );
    }
    let _ = write!(
        out,
        "</section>\n<script>{SCRIPT}</script>\n</body></html>\n"
    );
    out
}

fn change_rows(out: &mut String, p: &Plan, c: &Change) {
    let a = action_name(c.action);
    let k = esc(c.address.kind.as_str());
    let mut why: Vec<String> = c.reason.iter().map(|r| r.to_string()).collect();
    if let Some(o) = c.origin {
        if c.action != Action::Delete {
            why.push(o.as_str().to_string());
        }
    }
    if c.action == Action::Replace && p.create_first.contains(&c.address) {
        why.push("the new one first".into());
    }
    let mut diff = String::new();
    for f in &c.fields {
        field_html(&mut diff, f, c.action);
    }
    for n in &c.notes {
        let _ = writeln!(diff, "{}", esc(n));
    }
    let id =
        c.id.as_ref()
            .map(|i| format!(" <small>({})</small>", esc(i)))
            .unwrap_or_default();
    let resource = if diff.is_empty() {
        format!("<code>{}</code>{id}", esc(&c.address.to_string()))
    } else {
        format!(
            "<details><summary><code>{}</code>{id} <small>{} field(s)</small></summary><pre>{diff}</pre></details>",
            esc(&c.address.to_string()),
            c.fields.len()
        )
    };
    let _ = writeln!(
        out,
        "<tr class=\"change {a}\" data-action=\"{a}\" data-kind=\"{k}\"><td class=\"sym\">{sym}</td><td>{resource}</td><td>{prov}</td><td>{why}</td></tr>",
        sym = esc(c.action.symbol()),
        prov = esc(&c.provider),
        why = esc(&why.join("; ")),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Graph, Kind, Resource};

    #[test]
    fn each_change_is_a_row_and_a_node_and_waits_on_what_it_depends_on() {
        let (net, sub) = (Kind::new("net"), Kind::new("sub"));
        let mut g = Graph::new();
        g.insert(Resource::new(Address::new(net, "a"), Default::default()))
            .unwrap();
        let mut s = Resource::new(Address::new(sub, "a/x"), Default::default());
        s.depends_on.insert(Address::new(net, "a"));
        g.insert(s).unwrap();
        let p = crate::plan::compute("demo<&>", "eu-west-1", &g, &[]);
        let html = render(&p);
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(html.contains("<code>demo&lt;&amp;&gt;</code>"), "escaped");
        assert_eq!(html.matches("<tr class=\"change create\"").count(), 2);
        assert_eq!(html.matches("<g class=\"node\"").count(), 2);
        assert!(
            html.contains("data-from=\"net.a\" data-to=\"sub.a/x\""),
            "{html}"
        );
        // No script or style from elsewhere.
        assert!(!html.contains("src=") && !html.contains("href=\"http"));
    }
}
