//! YAML documents in the block style sops files use, comments kept (they
//! are encrypted like values): mappings, sequences, plain, quoted and
//! literal scalars, and flow collections of scalars. Anchors, tags and
//! several documents in one file are refused with a clear error.

use super::cipher::{format_float, Plain};
use super::tree::Node;

/// The key under which a comment sits inside a mapping (no YAML key can be
/// this: it holds a NUL).
pub const COMMENT_KEY: &str = "\u{0}#";

#[derive(Debug, thiserror::Error)]
#[error("YAML line {line}: {message}")]
pub struct YamlError {
    pub line: usize,
    pub message: String,
}

struct Line<'a> {
    no: usize,
    indent: usize,
    text: &'a str,
}

struct Parser<'a> {
    lines: Vec<Line<'a>>,
    pos: usize,
}

fn err<T>(line: usize, message: impl Into<String>) -> Result<T, YamlError> {
    Err(YamlError {
        line,
        message: message.into(),
    })
}

pub fn parse(text: &str) -> Result<Node, YamlError> {
    let mut lines = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let trimmed = raw.trim_end();
        if trimmed.trim().is_empty() {
            continue;
        }
        if trimmed == "---" && lines.is_empty() {
            continue;
        }
        if trimmed == "---" || trimmed == "..." {
            return err(i + 1, "several documents in one file are not supported");
        }
        if raw.starts_with('\t') {
            return err(i + 1, "tabs cannot indent YAML");
        }
        let indent = trimmed.len() - trimmed.trim_start().len();
        lines.push(Line {
            no: i + 1,
            indent,
            text: trimmed.trim_start(),
        });
    }
    let mut p = Parser { lines, pos: 0 };
    if p.lines.is_empty() {
        return Ok(Node::Map(Vec::new()));
    }
    let first = p.lines[0].indent;
    let node = p.block(first)?;
    if let Some(l) = p.lines.get(p.pos) {
        return err(l.no, "unexpected indentation");
    }
    match node {
        Node::Map(_) => Ok(node),
        _ => err(1, "the top level must be a mapping"),
    }
}

/// Splits `key: rest` at the first `: ` (or a final `:`) outside quotes.
fn split_key(text: &str) -> Option<(String, &str)> {
    let bytes = text.as_bytes();
    if text.starts_with('"') || text.starts_with('\'') {
        let q = bytes[0];
        let mut i = 1;
        while i < bytes.len() {
            if bytes[i] == b'\\' && q == b'"' {
                i += 2;
                continue;
            }
            if bytes[i] == q {
                if q == b'\'' && bytes.get(i + 1) == Some(&b'\'') {
                    i += 2;
                    continue;
                }
                break;
            }
            i += 1;
        }
        let rest = text.get(i + 1..)?;
        let rest = rest.strip_prefix(':')?;
        if !(rest.is_empty() || rest.starts_with(' ')) {
            return None;
        }
        let key = match scalar(&text[..=i]) {
            Ok(Plain::Str(s)) => s,
            _ => return None,
        };
        return Some((key, rest.trim_start()));
    }
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b':' && (i + 1 == bytes.len() || bytes[i + 1] == b' ') {
            return Some((text[..i].trim_end().to_string(), text[i + 1..].trim_start()));
        }
        if bytes[i] == b'#' && i > 0 && bytes[i - 1] == b' ' {
            return None;
        }
        i += 1;
    }
    None
}

/// A value without a trailing ` # comment` (outside quotes).
fn strip_comment(v: &str) -> (&str, Option<&str>) {
    let bytes = v.as_bytes();
    let mut quote: Option<u8> = None;
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        match quote {
            Some(q) if c == b'\\' && q == b'"' => i += 1,
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == b'"' || c == b'\'' => quote = Some(c),
            None if c == b'#' && (i == 0 || bytes[i - 1] == b' ') => {
                return (v[..i].trim_end(), Some(&v[i + 1..]));
            }
            None => {}
        }
        i += 1;
    }
    (v, None)
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<&Line<'a>> {
        self.lines.get(self.pos)
    }

    /// A block (mapping or sequence) whose lines start at `indent`.
    fn block(&mut self, indent: usize) -> Result<Node, YamlError> {
        // Leading comments belong to whatever block follows.
        let mut pending: Vec<Node> = Vec::new();
        while let Some(l) = self.peek() {
            if l.text.starts_with('#') && l.indent >= indent {
                pending.push(Node::Leaf(Plain::Comment(l.text[1..].to_string())));
                self.pos += 1;
            } else {
                break;
            }
        }
        let Some(l) = self.peek() else {
            return Ok(Node::Map(
                pending
                    .into_iter()
                    .map(|c| (COMMENT_KEY.to_string(), c))
                    .collect(),
            ));
        };
        if l.text == "-" || l.text.starts_with("- ") {
            self.sequence(l.indent, pending)
        } else {
            self.mapping(l.indent, pending)
        }
    }

    fn mapping(&mut self, indent: usize, mut pending: Vec<Node>) -> Result<Node, YamlError> {
        let mut entries: Vec<(String, Node)> = pending
            .drain(..)
            .map(|c| (COMMENT_KEY.to_string(), c))
            .collect();
        while let Some(l) = self.peek() {
            if l.indent < indent {
                break;
            }
            if l.text.starts_with('#') {
                entries.push((
                    COMMENT_KEY.to_string(),
                    Node::Leaf(Plain::Comment(l.text[1..].to_string())),
                ));
                self.pos += 1;
                continue;
            }
            if l.indent > indent {
                return err(l.no, "unexpected indentation");
            }
            let no = l.no;
            let Some((key, rest)) = split_key(l.text) else {
                return err(no, format!("expected `key: value`, found `{}`", l.text));
            };
            if entries.iter().any(|(k, _)| *k == key) {
                return err(no, format!("the key `{key}` appears twice"));
            }
            self.pos += 1;
            let value = self.value(rest, indent, no)?;
            entries.push((key, value));
        }
        Ok(Node::Map(entries))
    }

    fn sequence(&mut self, indent: usize, pending: Vec<Node>) -> Result<Node, YamlError> {
        let mut items = pending;
        while let Some(l) = self.peek() {
            if l.indent < indent {
                break;
            }
            if l.text.starts_with('#') {
                items.push(Node::Leaf(Plain::Comment(l.text[1..].to_string())));
                self.pos += 1;
                continue;
            }
            if l.indent > indent || !(l.text == "-" || l.text.starts_with("- ")) {
                if l.indent == indent {
                    break;
                }
                return err(l.no, "unexpected indentation");
            }
            let no = l.no;
            let rest = l.text[1..].trim_start();
            self.pos += 1;
            if rest.is_empty() {
                items.push(self.nested_or_null(indent)?);
            } else if rest.starts_with("- ")
                || split_key(rest).is_some_and(|_| !rest.starts_with('[') && !rest.starts_with('{'))
            {
                // `- key: value` opens a mapping whose keys sit after the dash.
                let inner = indent + (l_text_offset(rest, self.lines[self.pos - 1].text));
                self.lines[self.pos - 1] = Line {
                    no,
                    indent: inner,
                    text: rest,
                };
                self.pos -= 1;
                items.push(self.block(inner)?);
            } else {
                items.push(self.value(rest, indent, no)?);
            }
        }
        Ok(Node::List(items))
    }

    fn nested_or_null(&mut self, indent: usize) -> Result<Node, YamlError> {
        match self.peek() {
            Some(next) if next.indent > indent => {
                let i = next.indent;
                self.block(i)
            }
            // A sequence may sit at its key's own indentation.
            Some(next)
                if next.indent == indent && (next.text == "-" || next.text.starts_with("- ")) =>
            {
                Ok(Node::Null)
            }
            _ => Ok(Node::Null),
        }
    }

    /// The value after `key:` (or `- `) on line `no`.
    fn value(&mut self, rest: &str, indent: usize, no: usize) -> Result<Node, YamlError> {
        let (v, comment) = strip_comment(rest);
        let _ = comment;
        if v.is_empty() {
            return match self.peek() {
                Some(next) if next.indent > indent => {
                    let i = next.indent;
                    self.block(i)
                }
                Some(next)
                    if next.indent == indent
                        && (next.text == "-" || next.text.starts_with("- ")) =>
                {
                    self.sequence(indent, Vec::new())
                }
                _ => Ok(Node::Null),
            };
        }
        if v.starts_with('&') || v.starts_with('*') || v.starts_with('!') {
            return err(no, "anchors, aliases and tags are not supported");
        }
        if v.starts_with('|') || v.starts_with('>') {
            return Ok(Node::Leaf(Plain::Str(self.block_scalar(v, indent, no)?)));
        }
        if v.starts_with('[') || v.starts_with('{') {
            return flow(v, no);
        }
        // A plain scalar may go on over more-indented lines (folded by spaces).
        let mut text = v.to_string();
        if !v.starts_with('"') && !v.starts_with('\'') {
            while let Some(next) = self.peek() {
                if next.indent <= indent || next.text.starts_with('#') {
                    break;
                }
                text.push(' ');
                text.push_str(strip_comment(next.text).0);
                self.pos += 1;
            }
        }
        let typed = scalar(&text).map_err(|m| YamlError {
            line: no,
            message: m,
        })?;
        Ok(match typed {
            Plain::Str(s) if s == "\u{0}null" => Node::Null,
            p => Node::Leaf(p),
        })
    }

    fn block_scalar(
        &mut self,
        header: &str,
        indent: usize,
        no: usize,
    ) -> Result<String, YamlError> {
        let folded = header.starts_with('>');
        let chomp = &header[1..];
        let (strip, keep) = (chomp.contains('-'), chomp.contains('+'));
        let mut body: Vec<String> = Vec::new();
        let mut block_indent: Option<usize> = None;
        // Blank lines were dropped while reading lines: block scalars keep
        // them, so re-read from the source positions.
        while let Some(l) = self.peek() {
            if l.indent <= indent {
                break;
            }
            let bi = *block_indent.get_or_insert(l.indent);
            if l.indent < bi {
                return err(l.no, "a block scalar's lines must keep their indentation");
            }
            body.push(format!("{}{}", " ".repeat(l.indent - bi), l.text));
            self.pos += 1;
        }
        if body.is_empty() {
            return err(no, "an empty block scalar");
        }
        let mut s = if folded {
            body.join(" ")
        } else {
            body.join("\n")
        };
        if !strip {
            s.push('\n');
        }
        let _ = keep;
        Ok(s)
    }
}

/// How far the text after `- ` sits from the dash.
fn l_text_offset(rest: &str, line_text: &str) -> usize {
    line_text.len() - rest.len()
}

/// A flow collection of scalars: `[a, "b"]`, `{a: 1}`, `[]`, `{}`.
fn flow(v: &str, no: usize) -> Result<Node, YamlError> {
    let inner = &v[1..v.len().saturating_sub(1)];
    let closing = if v.starts_with('[') { ']' } else { '}' };
    if !v.ends_with(closing) {
        return err(no, "flow collections must close on the same line");
    }
    let mut parts = Vec::new();
    let (mut depth, mut quote, mut start) = (0, None::<char>, 0);
    for (i, c) in inner.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '[' | '{') => depth += 1,
            (None, ']' | '}') => depth -= 1,
            (None, ',') if depth == 0 => {
                parts.push(inner[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    if !inner[start..].trim().is_empty() {
        parts.push(inner[start..].trim());
    }
    let one = |p: &str| -> Result<Node, YamlError> {
        if p.starts_with('[') || p.starts_with('{') {
            return flow(p, no);
        }
        Ok(
            match scalar(p).map_err(|m| YamlError {
                line: no,
                message: m,
            })? {
                Plain::Str(s) if s == "\u{0}null" => Node::Null,
                x => Node::Leaf(x),
            },
        )
    };
    if closing == ']' {
        return Ok(Node::List(
            parts.into_iter().map(one).collect::<Result<_, _>>()?,
        ));
    }
    let mut entries = Vec::new();
    for p in parts {
        let (k, val) = split_key(p).ok_or_else(|| YamlError {
            line: no,
            message: format!("expected `key: value` in `{p}`"),
        })?;
        entries.push((k, one(val)?));
    }
    Ok(Node::Map(entries))
}

/// A scalar, typed as YAML 1.2's core schema types it; `null` is returned
/// as the marker string "\0null".
fn scalar(v: &str) -> Result<Plain, String> {
    if let Some(inner) = v.strip_prefix('"') {
        let inner = inner
            .strip_suffix('"')
            .ok_or("a double-quoted string is not closed")?;
        let mut out = String::new();
        let mut chars = inner.chars();
        while let Some(c) = chars.next() {
            if c != '\\' {
                out.push(c);
                continue;
            }
            match chars.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some('r') => out.push('\r'),
                Some('0') => out.push('\0'),
                Some('"') => out.push('"'),
                Some('\\') => out.push('\\'),
                Some('/') => out.push('/'),
                Some('u') => {
                    let hex: String = chars.by_ref().take(4).collect();
                    let code = u32::from_str_radix(&hex, 16).map_err(|_| "a bad \\u escape")?;
                    out.push(char::from_u32(code).ok_or("a bad \\u escape")?);
                }
                other => {
                    return Err(format!(
                        "the escape \\{} is not supported",
                        other.unwrap_or(' ')
                    ))
                }
            }
        }
        return Ok(Plain::Str(out));
    }
    if let Some(inner) = v.strip_prefix('\'') {
        let inner = inner
            .strip_suffix('\'')
            .ok_or("a single-quoted string is not closed")?;
        return Ok(Plain::Str(inner.replace("''", "'")));
    }
    Ok(match v {
        "null" | "Null" | "NULL" | "~" => Plain::Str("\u{0}null".into()),
        "true" | "True" | "TRUE" => Plain::Bool(true),
        "false" | "False" | "FALSE" => Plain::Bool(false),
        _ => {
            if let Ok(i) = v.parse::<i64>() {
                // `+1` and `012` are read as text: other YAML readers differ.
                let ambiguous = v.starts_with('+') || (v.len() > 1 && v.starts_with('0'));
                if !ambiguous {
                    return Ok(Plain::Int(i));
                }
            }
            let looks_numeric = v
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_digit() || c == '-' || c == '.')
                && v.chars().all(|c| c.is_ascii_digit() || "-+.eE".contains(c));
            if looks_numeric {
                if let Ok(f) = v.parse::<f64>() {
                    return Ok(Plain::Float(f));
                }
            }
            match v {
                ".inf" | ".Inf" | "+.inf" => Plain::Float(f64::INFINITY),
                "-.inf" | "-.Inf" => Plain::Float(f64::NEG_INFINITY),
                ".nan" | ".NaN" => Plain::Float(f64::NAN),
                _ => Plain::Str(v.to_string()),
            }
        }
    })
}

/// Whether a string can be written without quotes and read back the same.
fn plain_safe(s: &str) -> bool {
    if s.is_empty() || s.trim() != s || s.contains('\n') {
        return false;
    }
    let first = s.chars().next().unwrap_or(' ');
    if "-?:,[]{}#&*!|>'\"%@`".contains(first)
        && !(first == '-' && s.len() > 1 && !s.starts_with("- "))
    {
        return false;
    }
    if s.contains(": ") || s.contains(" #") || s.ends_with(':') {
        return false;
    }
    // Dates and times would read back as timestamps in other YAML readers.
    let b = s.as_bytes();
    if b.len() >= 10 && b[..4].iter().all(u8::is_ascii_digit) && b[4] == b'-' {
        return false;
    }
    matches!(scalar(s), Ok(Plain::Str(ref t)) if t == s)
}

fn quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn scalar_text(p: &Plain) -> String {
    match p {
        Plain::Str(s) if plain_safe(s) => s.clone(),
        Plain::Str(s) | Plain::Comment(s) => quote(s),
        Plain::Int(i) => i.to_string(),
        Plain::Float(f) if f.is_nan() => ".nan".into(),
        Plain::Float(f) if f.is_infinite() => {
            if *f > 0.0 {
                ".inf".into()
            } else {
                "-.inf".into()
            }
        }
        Plain::Float(f) => {
            let t = format_float(*f);
            if t.contains('.') {
                t
            } else {
                format!("{t}.0")
            }
        }
        Plain::Bool(b) => b.to_string(),
    }
}

/// The document as YAML: 4 spaces per level, sequences indented under
/// their key, multi-line strings as literal blocks, comments as `#` lines.
pub fn emit(n: &Node) -> String {
    let mut out = String::new();
    if let Node::Map(entries) = n {
        emit_map(entries, 0, &mut out);
    }
    out
}

fn pad(n: usize) -> String {
    " ".repeat(n)
}

fn emit_value_after_key(v: &Node, indent: usize, out: &mut String) {
    match v {
        Node::Null => out.push_str(" null\n"),
        Node::Leaf(Plain::Str(s)) if s.contains('\n') && !s.contains('\r') => {
            let (header, body) = match s.strip_suffix('\n') {
                Some(b) if !b.ends_with('\n') => ("|", b),
                _ => ("|-", s.as_str()),
            };
            out.push(' ');
            out.push_str(header);
            out.push('\n');
            for line in body.split('\n') {
                if line.is_empty() {
                    out.push('\n');
                } else {
                    out.push_str(&pad(indent + 4));
                    out.push_str(line);
                    out.push('\n');
                }
            }
        }
        Node::Leaf(p) => {
            out.push(' ');
            out.push_str(&scalar_text(p));
            out.push('\n');
        }
        Node::Map(m) if m.is_empty() => out.push_str(" {}\n"),
        Node::List(l) if l.is_empty() => out.push_str(" []\n"),
        Node::Map(m) => {
            out.push('\n');
            emit_map(m, indent + 4, out);
        }
        Node::List(l) => {
            out.push('\n');
            emit_list(l, indent + 4, out);
        }
    }
}

fn emit_map(entries: &[(String, Node)], indent: usize, out: &mut String) {
    for (k, v) in entries {
        if k == COMMENT_KEY {
            if let Node::Leaf(Plain::Comment(c)) | Node::Leaf(Plain::Str(c)) = v {
                out.push_str(&pad(indent));
                out.push('#');
                out.push_str(c);
                out.push('\n');
            }
            continue;
        }
        out.push_str(&pad(indent));
        out.push_str(&if plain_safe(k) { k.clone() } else { quote(k) });
        out.push(':');
        emit_value_after_key(v, indent, out);
    }
}

fn emit_list(items: &[Node], indent: usize, out: &mut String) {
    for item in items {
        match item {
            Node::Leaf(Plain::Comment(c)) => {
                out.push_str(&pad(indent));
                out.push('#');
                out.push_str(c);
                out.push('\n');
            }
            Node::Map(m) if !m.is_empty() => {
                // `- key: value`, the other keys aligned after the dash.
                let mut inner = String::new();
                emit_map(m, indent + 2, &mut inner);
                let first = inner.get(indent + 2..).unwrap_or_default();
                out.push_str(&pad(indent));
                out.push_str("- ");
                out.push_str(first);
            }
            Node::List(l) if !l.is_empty() => {
                out.push_str(&pad(indent));
                out.push_str("-\n");
                emit_list(l, indent + 4, out);
            }
            other => {
                out.push_str(&pad(indent));
                out.push('-');
                emit_value_after_key(other, indent, out);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "\
# db settings
db:
    user: admin
    port: 5432
    ratio: 0.5
    enabled: true
    # the password
    password: \"p: w#d\"
hosts:
    - a.example
    - name: b
      pw_unencrypted: visible
    # a list comment
    - [1, 2]
empty: \"\"
nothing: null
multi: |
    line one
    line two
flow: {a: 1, b: [x, y]}
";

    #[test]
    fn parses_types_comments_and_structure() {
        let n = parse(DOC).unwrap();
        let Node::Map(m) = &n else { panic!() };
        assert_eq!(
            m[0],
            (
                COMMENT_KEY.to_string(),
                Node::Leaf(Plain::Comment(" db settings".into()))
            )
        );
        let Node::Map(db) = &m[1].1 else { panic!() };
        assert_eq!(db[1].1, Node::Leaf(Plain::Int(5432)));
        assert_eq!(db[2].1, Node::Leaf(Plain::Float(0.5)));
        assert_eq!(db[3].1, Node::Leaf(Plain::Bool(true)));
        assert_eq!(db[4].1, Node::Leaf(Plain::Comment(" the password".into())));
        assert_eq!(db[5].1, Node::Leaf(Plain::Str("p: w#d".into())));
        let Node::List(hosts) = &m[2].1 else { panic!() };
        assert_eq!(hosts.len(), 4);
        assert!(matches!(&hosts[1], Node::Map(e) if e.len() == 2));
        assert_eq!(
            hosts[2],
            Node::Leaf(Plain::Comment(" a list comment".into()))
        );
        assert_eq!(m[4].1, Node::Null);
        assert_eq!(
            m[5].1,
            Node::Leaf(Plain::Str("line one\nline two\n".into()))
        );
    }

    #[test]
    fn round_trips_through_the_emitter() {
        let n = parse(DOC).unwrap();
        let text = emit(&n);
        assert_eq!(parse(&text).unwrap(), n, "{text}");
        assert!(
            text.starts_with("# db settings\ndb:\n    user: admin\n"),
            "{text}"
        );
        assert!(
            text.contains("\n    - name: b\n      pw_unencrypted: visible\n"),
            "{text}"
        );
        assert!(
            text.contains("multi: |\n    line one\n    line two\n"),
            "{text}"
        );
    }

    #[test]
    fn strings_that_look_like_other_types_are_quoted() {
        let n = Node::Map(vec![
            ("a".into(), Node::Leaf(Plain::Str("true".into()))),
            ("b".into(), Node::Leaf(Plain::Str("12".into()))),
            ("c".into(), Node::Leaf(Plain::Str("x: y".into()))),
            (
                "d".into(),
                Node::Leaf(Plain::Str(
                    "ENC[AES256_GCM,data:YQ==,iv:YQ==,tag:YQ==,type:str]".into(),
                )),
            ),
            (
                "e".into(),
                Node::Leaf(Plain::Str("2025-01-01T10:00:05Z".into())),
            ),
        ]);
        let t = emit(&n);
        assert!(
            t.contains("a: \"true\"\nb: \"12\"\nc: \"x: y\"\nd: ENC[AES256_GCM,"),
            "{t}"
        );
        assert!(t.contains("e: \"2025-01-01T10:00:05Z\""), "{t}");
        assert_eq!(parse(&t).unwrap(), n);
    }

    /// The layout the original (Python) sops writes: list items at their
    /// key's indentation, single quotes, a plain scalar over two lines.
    #[test]
    fn reads_the_python_sops_layout() {
        let text = "hosts:\n-   a\n-   b\nsops:\n    attention: This section holds\n        key material.\n    version: '1.18'\n    kms:\n    -   arn: x\n        enc: y\n";
        let n = parse(text).unwrap();
        let Node::Map(m) = &n else { panic!() };
        assert_eq!(
            m[0].1,
            Node::List(vec![
                Node::Leaf(Plain::Str("a".into())),
                Node::Leaf(Plain::Str("b".into()))
            ])
        );
        let Node::Map(sops) = &m[1].1 else { panic!() };
        assert_eq!(
            sops[0].1,
            Node::Leaf(Plain::Str("This section holds key material.".into()))
        );
        assert_eq!(sops[1].1, Node::Leaf(Plain::Str("1.18".into())));
        assert!(
            matches!(&sops[2].1, Node::List(l) if matches!(&l[0], Node::Map(e) if e.len() == 2))
        );
    }

    #[test]
    fn refuses_what_it_does_not_read() {
        assert!(parse("a: &x 1\n").is_err());
        assert!(parse("a: 1\n---\nb: 2\n").is_err());
        assert!(parse("- 1\n").is_err());
        assert!(parse("a: 1\na: 2\n").is_err());
    }
}
