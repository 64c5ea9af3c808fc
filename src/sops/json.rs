//! JSON documents: key order kept, integers as int (when they fit 64
//! bits), other numbers as float; written with one tab per level as sops does.

use super::cipher::{format_float, Plain};
use super::tree::Node;
use serde_json::Value as J;

#[derive(Debug, thiserror::Error)]
#[error("not a JSON document: {0}")]
pub struct JsonError(String);

pub fn parse(text: &str) -> Result<Node, JsonError> {
    let v: J = serde_json::from_str(text).map_err(|e| JsonError(e.to_string()))?;
    if !v.is_object() {
        return Err(JsonError("the top level must be an object".into()));
    }
    Ok(to_node(&v))
}

fn to_node(v: &J) -> Node {
    match v {
        J::Null => Node::Null,
        J::Bool(b) => Node::Leaf(Plain::Bool(*b)),
        J::Number(n) => match n.as_i64() {
            Some(i) => Node::Leaf(Plain::Int(i)),
            None => Node::Leaf(Plain::Float(n.as_f64().unwrap_or_default())),
        },
        J::String(s) => Node::Leaf(Plain::Str(s.clone())),
        J::Array(a) => Node::List(a.iter().map(to_node).collect()),
        J::Object(o) => Node::Map(o.iter().map(|(k, v)| (k.clone(), to_node(v))).collect()),
    }
}

fn to_json(n: &Node) -> J {
    match n {
        Node::Null => J::Null,
        Node::Leaf(Plain::Bool(b)) => J::Bool(*b),
        Node::Leaf(Plain::Int(i)) => J::from(*i),
        // As Go's encoding/json writes a float64 (sops 3 reads every JSON
        // number as one): a whole number has no fraction, `5432` not
        // `5432.0`.
        Node::Leaf(Plain::Float(f)) if f.fract() == 0.0 && f.abs() < 9.0e15 => J::from(*f as i64),
        Node::Leaf(Plain::Float(f)) => serde_json::Number::from_f64(*f)
            .map(J::Number)
            .unwrap_or_else(|| J::String(format_float(*f))),
        Node::Leaf(Plain::Str(s)) | Node::Leaf(Plain::Comment(s)) => J::String(s.clone()),
        Node::List(l) => J::Array(l.iter().map(to_json).collect()),
        Node::Map(m) => J::Object(m.iter().map(|(k, v)| (k.clone(), to_json(v))).collect()),
    }
}

/// The document as text, indented with tabs, ending with a newline.
pub fn emit(n: &Node) -> String {
    let mut out = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"\t");
    let mut ser = serde_json::Serializer::with_formatter(&mut out, fmt);
    serde::Serialize::serialize(&to_json(n), &mut ser).expect("serialising JSON to memory");
    let mut s = String::from_utf8(out).expect("serde_json writes UTF-8");
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_floats_are_written_as_go_writes_them() {
        let n = Node::Map(vec![
            ("port".into(), Node::Leaf(Plain::Float(5432.0))),
            ("neg".into(), Node::Leaf(Plain::Float(-3.0))),
            ("ratio".into(), Node::Leaf(Plain::Float(1.5))),
        ]);
        assert_eq!(
            emit(&n),
            "{\n\t\"port\": 5432,\n\t\"neg\": -3,\n\t\"ratio\": 1.5\n}\n"
        );
    }

    #[test]
    fn round_trip_keeps_order_and_types() {
        let text = "{\n\t\"b\": 1,\n\t\"a\": {\n\t\t\"x\": [\n\t\t\ttrue,\n\t\t\t2.5,\n\t\t\tnull,\n\t\t\t\"s\"\n\t\t]\n\t}\n}\n";
        let n = parse(text).unwrap();
        let Node::Map(m) = &n else { panic!() };
        assert_eq!(m[0].0, "b");
        assert_eq!(m[0].1, Node::Leaf(Plain::Int(1)));
        assert_eq!(emit(&n), text);
        assert!(parse("[1]").is_err());
        assert!(parse("{").is_err());
    }
}
