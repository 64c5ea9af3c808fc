//! How the REPL prints values: handles as their address and spec, outputs
//! as their text (or the reference), data as Rhai would write it.

use crate::model::{Graph, Value};
use crate::script::handles::{self, Output, SecretValue};
use rhai::Dynamic;

pub fn value(v: &Dynamic, graph: &Graph) -> String {
    if v.is_unit() {
        return String::new();
    }
    if let Some(a) = handles::address_of(v) {
        return match graph.get(&a) {
            Some(r) => {
                let spec = serde_json::to_string_pretty(&Value::Map(r.spec.clone()).to_json())
                    .unwrap_or_default();
                format!("{a}\n{spec}")
            }
            None => format!("{a} (not declared yet)"),
        };
    }
    inline(v)
}

fn inline(v: &Dynamic) -> String {
    if let Some(a) = handles::address_of(v) {
        return a.to_string();
    }
    if let Some(o) = v.read_lock::<Output>() {
        return o.to_string();
    }
    if v.is::<SecretValue>() {
        return "(sensitive)".into();
    }
    if let Some(shown) = crate::kinds::show_value(v) {
        return shown;
    }
    if v.is_string() {
        return format!("{:?}", v.to_string());
    }
    if let Some(a) = v.read_lock::<rhai::Array>() {
        return format!("[{}]", a.iter().map(inline).collect::<Vec<_>>().join(", "));
    }
    if let Some(m) = v.read_lock::<rhai::Map>() {
        return format!(
            "#{{ {} }}",
            m.iter()
                .map(|(k, x)| format!("{k}: {}", inline(x)))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    v.to_string()
}

/// The graph as indented text: each resource and what it depends on.
pub fn graph_text(g: &Graph) -> String {
    if g.is_empty() {
        return "nothing declared yet".into();
    }
    let mut out = String::new();
    for r in g.iter() {
        out.push_str(&r.address.to_string());
        out.push('\n');
        for d in &r.depends_on {
            out.push_str(&format!("  -> {d}\n"));
        }
        for d in &r.after_create {
            out.push_str(&format!("  -> {d} (after create)\n"));
        }
    }
    out.trim_end().to_string()
}
