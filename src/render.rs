//! Renderers of the desired-state graph: Graphviz dot, Mermaid and JSON.
//! Edges point from a resource to what it depends on; dashed edges are
//! references that only need both resources to exist.

use crate::model::{Graph, Resource};
use std::fmt::Write;

fn edges(r: &Resource) -> impl Iterator<Item = (&crate::model::Address, bool)> {
    r.depends_on
        .iter()
        .map(|a| (a, false))
        .chain(r.after_create.iter().map(|a| (a, true)))
}

pub fn dot(g: &Graph) -> String {
    let mut out = String::from("digraph blueprint {\n  rankdir=LR;\n  node [shape=box];\n");
    for r in g.iter() {
        let _ = writeln!(out, "  \"{}\";", r.address);
    }
    for r in g.iter() {
        for (to, soft) in edges(r) {
            let style = if soft { " [style=dashed]" } else { "" };
            let _ = writeln!(out, "  \"{}\" -> \"{to}\"{style};", r.address);
        }
    }
    out.push_str("}\n");
    out
}

pub fn mermaid(g: &Graph) -> String {
    let ids: std::collections::HashMap<_, _> =
        g.iter().enumerate().map(|(i, r)| (&r.address, i)).collect();
    let mut out = String::from("graph LR\n");
    for (i, r) in g.iter().enumerate() {
        let _ = writeln!(out, "  n{i}[\"{}\"]", r.address);
    }
    for (i, r) in g.iter().enumerate() {
        for (to, soft) in edges(r) {
            let arrow = if soft { "-.->" } else { "-->" };
            match ids.get(to) {
                Some(j) => {
                    let _ = writeln!(out, "  n{i} {arrow} n{j}");
                }
                None => {
                    let _ = writeln!(out, "  n{i} {arrow} missing[\"{to} (not declared)\"]");
                }
            }
        }
    }
    out
}

pub fn json(g: &Graph) -> serde_json::Value {
    let nodes: Vec<_> = g
        .iter()
        .map(|r| serde_json::json!({ "address": r.address, "kind": r.kind().as_str() }))
        .collect();
    let edges: Vec<_> = g
        .iter()
        .flat_map(|r| {
            edges(r).map(move |(to, soft)| {
                serde_json::json!({
                    "from": r.address,
                    "to": to,
                    "kind": if soft { "after_create" } else { "depends_on" },
                })
            })
        })
        .collect();
    serde_json::json!({ "nodes": nodes, "edges": edges })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Address, Kind, Map};

    fn sample() -> Graph {
        let mut g = Graph::new();
        g.insert(Resource::new(
            Address::new(Kind::new("widget"), "v"),
            Map::new(),
        ))
        .unwrap();
        let mut s = Resource::new(Address::new(Kind::new("gadget"), "v/a"), Map::new());
        s.depends_on.insert(Address::new(Kind::new("widget"), "v"));
        s.after_create
            .insert(Address::new(Kind::new("gadget"), "v/b"));
        g.insert(s).unwrap();
        g
    }

    #[test]
    fn dot_and_mermaid_show_both_edge_kinds() {
        let g = sample();
        let d = dot(&g);
        assert!(d.contains("\"gadget.v/a\" -> \"widget.v\";"));
        assert!(d.contains("\"gadget.v/a\" -> \"gadget.v/b\" [style=dashed];"));
        let m = mermaid(&g);
        assert!(m.contains("n1 --> n0"));
        assert!(m.contains("n1 -.-> missing[\"gadget.v/b (not declared)\"]"));
        assert_eq!(json(&g)["edges"].as_array().unwrap().len(), 2);
    }
}
