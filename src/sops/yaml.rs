//! YAML documents for sops files, read with granit-parser (a YAML 1.2
//! parser that reports comments and the source span of every event).
//!
//! Two ways to use a document:
//!
//! * [`parse`] gives the [`Node`] tree (comments kept, as `Plain::Comment`
//!   leaves: in a mapping under [`COMMENT_KEY`], in a sequence as items) and
//!   [`emit`] writes a tree in the layout sops writes.
//! * [`rewrite`] replaces scalar values and comment texts in the text itself
//!   and leaves every other byte as it was, so block scalars, blank lines,
//!   comments, quoting, indentation and key order survive; [`remove_entry`]
//!   takes a top-level entry (the `sops` metadata) out, [`append_entry`]
//!   and [`append_text`] add one, the same way.
//!
//! Refused, with an error that gives the line and column: anchors, aliases
//! and tags (`anchors, aliases and tags are not supported`), several
//! documents in one file, directives (`%YAML`, `%TAG`), keys that are not
//! scalars (`? [a, b]: x`) or empty, keys that appear twice, and a top level
//! that is not a mapping (an empty document is an empty mapping); and what
//! is not YAML, with the parser's message. Everything else YAML 1.2 allows
//! is read: block scalars with every header (`|`, `>`, `|-`, `>+`, `|2`),
//! flow collections over several lines, multi-line plain and quoted
//! scalars, comments anywhere, a leading `---` and a final `...`.
//!
//! Plain scalars are typed as YAML 1.2's core schema types them (null,
//! bool, int, float), except that `+1` and `012` stay text and timestamps
//! are text; quoted and block scalars are text. Keys are the scalar's text.
//!
//! Where a comment goes in the tree (this also gives the key path it is
//! encrypted under): an own-line comment belongs to the innermost block
//! collection whose indentation is at most the comment's column, among
//! those open at that point of the text; a comment after content on the
//! same line (`key: value # c`, `key: | # c`, `- # c`) belongs to the
//! collection of the entry on that line and comes just before that entry,
//! which is where sops puts an inline comment.

use super::cipher::{format_float, Plain};
use super::tree::Node;
use granit_parser::{Event, Parser, ScalarStyle, ScanError, StructureStyle};
use std::collections::HashSet;

/// The key under which a comment sits inside a mapping (no YAML key can be
/// this: it holds a NUL).
pub const COMMENT_KEY: &str = "\u{0}#";

/// The indentation step [`emit`] uses, and [`rewrite`] when the document
/// shows none.
const STEP: usize = 4;

#[derive(Debug, thiserror::Error)]
#[error("YAML line {line}, column {col}: {message}")]
pub struct YamlError {
    /// 1-based.
    pub line: usize,
    /// 1-based, in characters.
    pub col: usize,
    pub message: String,
}

/// The 1-based line and column of a byte offset.
fn position(text: &str, pos: usize) -> (usize, usize) {
    let pos = pos.min(text.len());
    let line = text[..pos].bytes().filter(|&b| b == b'\n').count() + 1;
    (line, column(text, pos) + 1)
}

fn err_at<T>(text: &str, pos: usize, message: impl Into<String>) -> Result<T, YamlError> {
    let (line, col) = position(text, pos);
    Err(YamlError {
        line,
        col,
        message: message.into(),
    })
}

fn scan_error(e: &ScanError) -> YamlError {
    let info = e.info();
    let message = if info.contains("directive") {
        "directives (%YAML, %TAG) are not supported".to_string()
    } else {
        info
    };
    YamlError {
        line: e.marker().line(),
        col: e.marker().col() + 1,
        message,
    }
}

fn line_start(text: &str, pos: usize) -> usize {
    text[..pos].rfind('\n').map_or(0, |i| i + 1)
}

/// The offset of the line break ending the line of `pos` (or the end).
fn line_end(text: &str, pos: usize) -> usize {
    text[pos..].find('\n').map_or(text.len(), |i| pos + i)
}

/// The offset just past the line break ending the line of `pos`.
fn next_line(text: &str, pos: usize) -> usize {
    let e = line_end(text, pos);
    if e < text.len() {
        e + 1
    } else {
        e
    }
}

/// The 0-based column (in characters) of a byte offset.
fn column(text: &str, pos: usize) -> usize {
    text[line_start(text, pos)..pos].chars().count()
}

/// The line at `pos`, without its line break (and `\r`).
fn line_text(text: &str, pos: usize) -> &str {
    let s = line_start(text, pos);
    text[s..line_end(text, s)].trim_end_matches('\r')
}

// ---------------------------------------------------------------------
// The document with source positions.

struct Comment {
    /// The text after `#`.
    text: String,
    /// The span of `#…`, without the line break.
    start: usize,
    end: usize,
    /// Nothing but blanks before it on its line.
    own_line: bool,
}

/// Where a block scalar's parts are in the text.
#[derive(Clone, Copy)]
struct Block {
    /// The header token (`|`, `>-`, `|2+`), comment excluded.
    header: (usize, usize),
    /// The content lines: from the line after the header to the end of the
    /// last line that is content (for `+`, trailing blank lines included).
    body: (usize, usize),
    /// The content's column, when there is content.
    indent: Option<usize>,
}

struct Scalar {
    /// The value after escapes, folding and chomping.
    text: String,
    style: ScalarStyle,
    /// The source of the token: quotes included; for a block scalar the
    /// parser's content span (see `block`).
    start: usize,
    end: usize,
    block: Option<Block>,
}

enum Value {
    /// An empty node or a plain `null`/`~`: at its offset.
    Null(usize),
    Scalar(Scalar),
    Coll(Coll),
}

struct Entry {
    key: Option<String>,
    /// The key's offset (mappings) or the dash's (block sequences) or the
    /// node's (flow sequences).
    start: usize,
    /// The column of `start`.
    col: usize,
    /// Where the value's node starts.
    value_start: usize,
    value: Value,
}

#[derive(Clone, Copy)]
enum Item {
    Entry(usize),
    Comment(usize),
}

struct Coll {
    map: bool,
    block: bool,
    /// First key or dash (block), or the opening bracket (flow).
    start: usize,
    /// End of the last content (block) or past the closing bracket (flow).
    end: usize,
    /// Column of the keys or dashes (block).
    indent: usize,
    entries: Vec<Entry>,
    /// Entries and the comments attached here, in document order.
    order: Vec<((usize, u8, usize), Item)>,
}

struct Doc<'t> {
    text: &'t str,
    root: Option<Value>,
    comments: Vec<Comment>,
    /// The indentation step the document uses (for new block scalars).
    step: usize,
    /// Where the document end marker `...` is, if there is one.
    end_marker: Option<usize>,
    /// `\r\n` when the document's lines end so.
    newline: &'static str,
}

struct Frame {
    coll: Coll,
    key: Option<(String, usize)>,
    keys: HashSet<String>,
}

/// The value of a plain scalar, typed as YAML 1.2's core schema types it;
/// `None` for null. `+1` and `012` are read as text: other YAML readers
/// differ on them.
fn plain_type(v: &str) -> Option<Plain> {
    Some(match v {
        "null" | "Null" | "NULL" | "~" | "" => return None,
        "true" | "True" | "TRUE" => Plain::Bool(true),
        "false" | "False" | "FALSE" => Plain::Bool(false),
        _ => {
            if let Ok(i) = v.parse::<i64>() {
                let ambiguous = v.starts_with('+') || (v.len() > 1 && v.starts_with('0'));
                if !ambiguous {
                    return Some(Plain::Int(i));
                }
            }
            let looks_numeric = v
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_digit() || c == '-' || c == '.')
                && v.chars().all(|c| c.is_ascii_digit() || "-+.eE".contains(c));
            if looks_numeric {
                if let Ok(f) = v.parse::<f64>() {
                    return Some(Plain::Float(f));
                }
            }
            match v {
                ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
                    Plain::Float(f64::INFINITY)
                }
                "-.inf" | "-.Inf" | "-.INF" => Plain::Float(f64::NEG_INFINITY),
                ".nan" | ".NaN" | ".NAN" => Plain::Float(f64::NAN),
                _ => Plain::Str(v.to_string()),
            }
        }
    })
}

impl Scalar {
    fn plain(&self) -> Plain {
        match self.style {
            ScalarStyle::Plain => plain_type(&self.text).unwrap_or(Plain::Str(String::new())),
            _ => Plain::Str(self.text.clone()),
        }
    }

    fn is_block(&self) -> bool {
        matches!(self.style, ScalarStyle::Literal | ScalarStyle::Folded)
    }
}

impl Value {
    fn end(&self) -> usize {
        match self {
            Value::Null(e) => *e,
            Value::Scalar(s) => match s.block {
                Some(b) if b.body.1 > b.body.0 => b.body.1,
                Some(b) => b.header.1,
                None => s.end,
            },
            Value::Coll(c) => c.end,
        }
    }
}

/// The whole analysis: events into a tree with offsets, then block scalar
/// parts, dashes, and where each comment belongs.
fn analyze(text: &str) -> Result<Doc<'_>, YamlError> {
    let options = granit_parser::options! {
        disallow_directives: true,
        // An anchor comes as its own event, with the span of `&name`; an
        // alias to no anchor too (refused the same way as any alias).
        emit_anchor_events: true,
        emit_unresolved_aliases: true,
    };
    let mut stack: Vec<Frame> = Vec::new();
    let mut root: Option<Value> = None;
    let mut comments: Vec<Comment> = Vec::new();
    let mut documents = 0;
    let mut end_marker = None;
    for next in Parser::new_from_str_with_options(text, options) {
        let (event, span) = next.map_err(|e| scan_error(&e))?;
        let (s, e) = span
            .byte_range()
            .map_or((0, 0), |r| (r.start.min(text.len()), r.end.min(text.len())));
        match event {
            Event::DocumentStart(..) => {
                documents += 1;
                if documents > 1 {
                    return err_at(text, s, "several documents in one file are not supported");
                }
            }
            Event::DocumentEnd if e > s => end_marker = Some(s),
            Event::Comment(c, _) => comments.push(Comment {
                text: c.trim_end_matches('\r').to_string(),
                start: s,
                end: e,
                own_line: text[line_start(text, s)..s].trim().is_empty(),
            }),
            Event::Alias(_) | Event::UnresolvedAlias(_) | Event::Anchor(..) => {
                return err_at(text, s, "anchors, aliases and tags are not supported");
            }
            Event::Scalar(v, style, _, tag) => {
                if tag.is_some() {
                    return err_at(
                        text,
                        tag_at(&span, s),
                        "anchors, aliases and tags are not supported",
                    );
                }
                let raw = v.into_owned();
                let value = if style == ScalarStyle::Plain && (s == e || plain_type(&raw).is_none())
                {
                    Value::Null(e)
                } else {
                    Value::Scalar(Scalar {
                        text: raw.clone(),
                        style,
                        start: s,
                        end: e,
                        block: None,
                    })
                };
                add(text, &mut stack, &mut root, value, s, Some((raw, s == e)))?;
            }
            Event::SequenceStart(style, _, tag) => {
                if tag.is_some() {
                    return err_at(
                        text,
                        tag_at(&span, s),
                        "anchors, aliases and tags are not supported",
                    );
                }
                open(text, &mut stack, false, style, s, e)?;
            }
            Event::MappingStart(style, _, tag) => {
                if tag.is_some() {
                    return err_at(
                        text,
                        tag_at(&span, s),
                        "anchors, aliases and tags are not supported",
                    );
                }
                open(text, &mut stack, true, style, s, e)?;
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let Some(f) = stack.pop() else {
                    return err_at(text, s, "unbalanced collection");
                };
                let mut coll = f.coll;
                if !coll.block {
                    coll.end = e;
                }
                let start = coll.start;
                add(text, &mut stack, &mut root, Value::Coll(coll), start, None)?;
            }
            _ => {}
        }
    }
    comments.sort_by_key(|c| c.start);
    let mut doc = Doc {
        text,
        root,
        comments,
        step: 0,
        end_marker,
        newline: if text.contains("\r\n") { "\r\n" } else { "\n" },
    };
    if let Some(root) = doc.root.as_mut() {
        finish(text, &doc.comments, root, &mut doc.step)?;
    }
    if doc.step == 0 {
        doc.step = STEP;
    }
    for i in 0..doc.comments.len() {
        if let Some(Value::Coll(root)) = doc.root.as_mut() {
            attach(text, root, i, &doc.comments[i]);
        }
    }
    if let Some(root) = doc.root.as_mut() {
        order(root);
    }
    Ok(doc)
}

/// Where a node's tag starts (its start when that is unknown).
fn tag_at(span: &granit_parser::Span, or: usize) -> usize {
    span.tag_start().and_then(|m| m.byte_offset()).unwrap_or(or)
}

/// Starts reading a collection.
fn open(
    text: &str,
    stack: &mut Vec<Frame>,
    map: bool,
    style: StructureStyle,
    s: usize,
    e: usize,
) -> Result<(), YamlError> {
    if let Some(f) = stack.last() {
        if f.coll.map && f.key.is_none() {
            return err_at(text, s, "only scalars can be mapping keys");
        }
    }
    stack.push(Frame {
        coll: Coll {
            map,
            block: style == StructureStyle::Block,
            start: s,
            end: e,
            indent: 0,
            entries: Vec::new(),
            order: Vec::new(),
        },
        key: None,
        keys: HashSet::new(),
    });
    Ok(())
}

/// Adds a finished node to the collection being read (or makes it the
/// root). `raw` is a scalar's text and whether its span is empty, for keys.
fn add(
    text: &str,
    stack: &mut [Frame],
    root: &mut Option<Value>,
    value: Value,
    node_start: usize,
    raw: Option<(String, bool)>,
) -> Result<(), YamlError> {
    let Some(f) = stack.last_mut() else {
        *root = Some(value);
        return Ok(());
    };
    if f.coll.map {
        match f.key.take() {
            None => {
                let Some((key, empty)) = raw else {
                    return err_at(text, node_start, "only scalars can be mapping keys");
                };
                if empty {
                    return err_at(text, node_start, "a mapping key cannot be empty");
                }
                if !f.keys.insert(key.clone()) {
                    return err_at(text, node_start, format!("the key `{key}` appears twice"));
                }
                f.key = Some((key, node_start));
            }
            Some((key, start)) => f.coll.entries.push(Entry {
                key: Some(key),
                start,
                col: column(text, start),
                value_start: node_start,
                value,
            }),
        }
    } else {
        f.coll.entries.push(Entry {
            key: None,
            start: node_start,
            col: column(text, node_start),
            value_start: node_start,
            value,
        });
    }
    Ok(())
}

/// The dash of the block sequence entry whose node starts at `pos`: the
/// first `-` before it, past blanks, line breaks and comments.
fn dash_before(text: &str, comments: &[Comment], pos: usize) -> Option<usize> {
    let b = text.as_bytes();
    let mut i = pos;
    while i > 0 {
        match b[i - 1] {
            b' ' | b'\t' | b'\r' | b'\n' => i -= 1,
            b'-' => return Some(i - 1),
            _ => {
                let k = comments.partition_point(|c| c.start < i);
                match k.checked_sub(1).map(|k| &comments[k]) {
                    Some(c) if c.end > i - 1 => i = c.start,
                    _ => return None,
                }
            }
        }
    }
    None
}

/// Finds where a block scalar's header and content lines are.
fn block_parts(text: &str, comments: &[Comment], s: &Scalar) -> Result<Block, YamlError> {
    let empty = s.start == s.end;
    // At the end of the text, an empty block scalar's span starts at its
    // header; otherwise the header is on the last non-blank line before the
    // content (or before the next token, when there is no content).
    let b = text.as_bytes();
    let at_header = s.text.chars().all(|c| c == '\n')
        && matches!(b.get(s.start), Some(b'|' | b'>'))
        && text[s.start + 1..line_end(text, s.start)]
            .trim_start_matches(|c: char| c.is_ascii_digit() || c == '+' || c == '-')
            .trim_start()
            .chars()
            .next()
            .is_none_or(|c| c == '#' || c == '\r');
    let mut line = line_start(text, s.start);
    if !(at_header || (empty && line != s.start)) {
        // Content (or the next token) starts a later line: go back.
        loop {
            if line == 0 {
                return err_at(text, s.start, "a block scalar without its header");
            }
            line = line_start(text, line - 1);
            if !line_text(text, line).trim().is_empty() {
                break;
            }
        }
    }
    let mut end = line + line_text(text, line).len();
    if let Some(c) = comments.iter().find(|c| c.start >= line && c.start < end) {
        end = c.start;
    }
    let head = text[line..end].trim_end();
    let ind = head
        .trim_end_matches(|c: char| c.is_ascii_digit() || c == '+' || c == '-')
        .len();
    if !(head[..ind].ends_with('|') || head[..ind].ends_with('>')) {
        return err_at(text, line, "cannot find the block scalar's header");
    }
    let header = (line + ind - 1, line + head.len());
    let keep = text[header.0..header.1].contains('+');
    let body_start = next_line(text, line);
    let empty = empty || at_header;
    let indent = (!empty).then(|| column(text, s.start));
    // The span can reach into the next line's indentation.
    let ls = line_start(text, s.end);
    let limit = if text[ls..s.end].trim().is_empty() {
        ls
    } else {
        s.end
    }
    .max(body_start);
    let body_end = if empty && !keep {
        body_start
    } else if keep {
        limit
    } else {
        // The end of the last line longer than the indentation.
        let n = indent.unwrap_or(0);
        let mut last = body_start;
        let mut at = body_start;
        while at < limit {
            let next = next_line(text, at);
            if line_text(text, at).chars().count() > n {
                last = next;
            }
            if next == at {
                break;
            }
            at = next;
        }
        last
    };
    Ok(Block {
        header,
        body: (body_start, body_end.max(body_start)),
        indent,
    })
}

/// Fills what needs the whole text: sequence dashes and indentation, block
/// scalar parts, block collection ends, and the indentation step.
fn finish(
    text: &str,
    comments: &[Comment],
    v: &mut Value,
    step: &mut usize,
) -> Result<(), YamlError> {
    match v {
        Value::Scalar(s) if s.is_block() => {
            s.block = Some(block_parts(text, comments, s)?);
        }
        Value::Coll(c) => {
            for e in &mut c.entries {
                finish(text, comments, &mut e.value, step)?;
                if let Value::Scalar(Scalar { block: Some(b), .. }) = &e.value {
                    // A block scalar's node starts at its header.
                    e.value_start = b.header.0;
                }
            }
            if c.block && !c.map {
                for e in &mut c.entries {
                    let Some(d) = dash_before(text, comments, e.value_start) else {
                        return err_at(text, e.value_start, "cannot find this entry's dash");
                    };
                    e.start = d;
                    e.col = column(text, d);
                }
            }
            if c.block {
                if let Some(first) = c.entries.first() {
                    c.start = first.start;
                    c.indent = first.col;
                } else {
                    c.indent = column(text, c.start);
                }
            }
            if *step == 0 && c.map && c.block {
                for e in &c.entries {
                    if let Value::Coll(y) = &e.value {
                        if y.block && y.indent > e.col && *step == 0 {
                            *step = y.indent - e.col;
                        }
                    }
                }
            }
            if c.block {
                c.end = c
                    .entries
                    .iter()
                    .map(|e| e.value.end().max(e.start))
                    .max()
                    .unwrap_or(c.start);
            }
        }
        _ => {}
    }
    Ok(())
}

/// Puts comment `ci` into the collection it belongs to (see the module
/// documentation).
fn attach(text: &str, coll: &mut Coll, ci: usize, c: &Comment) {
    let Some(i) = coll.entries.iter().rposition(|e| e.start <= c.start) else {
        coll.order.push(((c.start, 0, c.start), Item::Comment(ci)));
        return;
    };
    let (start, value_start) = (coll.entries[i].start, coll.entries[i].value_start);
    if let Value::Coll(y) = &mut coll.entries[i].value {
        let inside = if c.own_line {
            column(text, c.start) >= y.indent
        } else {
            y.start <= c.start && line_start(text, c.start) <= y.end
        };
        if y.block && inside {
            attach(text, y, ci, c);
            return;
        }
    }
    if !c.own_line || value_start > c.start {
        // On the entry's line, or between its key and its value: before it.
        coll.order.push(((start, 0, c.start), Item::Comment(ci)));
    } else {
        coll.order.push(((c.start, 0, c.start), Item::Comment(ci)));
    }
}

fn order(v: &mut Value) {
    if let Value::Coll(c) = v {
        for (i, e) in c.entries.iter().enumerate() {
            c.order.push(((e.start, 1, 0), Item::Entry(i)));
        }
        c.order.sort_by_key(|(k, _)| *k);
        for e in &mut c.entries {
            order(&mut e.value);
        }
    }
}

// ---------------------------------------------------------------------
// Reading.

/// Reads a document whose top level is a mapping (an empty document is an
/// empty mapping).
pub fn parse(text: &str) -> Result<Node, YamlError> {
    let doc = analyze(text)?;
    top_level(&doc)?;
    Ok(match &doc.root {
        Some(v) => to_node(&doc, v),
        None => Node::Map(
            doc.comments
                .iter()
                .map(|c| {
                    (
                        COMMENT_KEY.to_string(),
                        Node::Leaf(Plain::Comment(c.text.clone())),
                    )
                })
                .collect(),
        ),
    })
}

/// Reads a document of any top level (for tests against the YAML test
/// suite, whose documents are often a lone scalar).
#[doc(hidden)]
pub fn parse_any(text: &str) -> Result<Node, YamlError> {
    let doc = analyze(text)?;
    Ok(doc.root.as_ref().map_or(Node::Null, |v| to_node(&doc, v)))
}

fn top_level(doc: &Doc) -> Result<(), YamlError> {
    match &doc.root {
        None => Ok(()),
        Some(Value::Coll(c)) if c.map => Ok(()),
        Some(Value::Null(..)) => Ok(()),
        Some(_) => err_at(doc.text, 0, "the top level must be a mapping"),
    }
}

fn to_node(doc: &Doc, v: &Value) -> Node {
    match v {
        Value::Null(..) => Node::Null,
        Value::Scalar(s) => Node::Leaf(s.plain()),
        Value::Coll(c) => {
            let comment = |ci: usize| Node::Leaf(Plain::Comment(doc.comments[ci].text.clone()));
            if c.map {
                Node::Map(
                    c.order
                        .iter()
                        .map(|(_, item)| match *item {
                            Item::Entry(i) => (
                                c.entries[i].key.clone().unwrap_or_default(),
                                to_node(doc, &c.entries[i].value),
                            ),
                            Item::Comment(ci) => (COMMENT_KEY.to_string(), comment(ci)),
                        })
                        .collect(),
                )
            } else {
                Node::List(
                    c.order
                        .iter()
                        .map(|(_, item)| match *item {
                            Item::Entry(i) => to_node(doc, &c.entries[i].value),
                            Item::Comment(ci) => comment(ci),
                        })
                        .collect(),
                )
            }
        }
    }
}

// ---------------------------------------------------------------------
// Rewriting in place.

struct Edit {
    start: usize,
    end: usize,
    text: String,
}

/// Replaces scalar values and comment texts in `original` and keeps every
/// other byte.
///
/// `leaf` is called for every scalar value that is not null and for every
/// comment, in document order (the order of [`parse`]'s tree), with its key
/// path (a comment gets the path of the mapping or sequence it sits in, as
/// in sops) and its value; it returns the new value, or `None` to keep the
/// leaf as it is. A new value equal to the old one also keeps the old text.
///
/// A new value is written in the leaf's old style when that style can hold
/// it (plain, single- or double-quoted), otherwise plain when plain reads
/// back as the same value, as a literal block scalar (`|`, `|-` or `|+`)
/// when it has several lines and the place allows one, or double-quoted.
/// A block scalar that gets a one-line value becomes that value on its
/// header's line (a comment after the header stays). A comment gets `#`
/// and its new text in place; a `Plain::Comment` in place of a block
/// sequence item (sops writes encrypted sequence comments as items)
/// replaces the `- item` with `#text`.
pub fn rewrite<E: From<YamlError>>(
    original: &str,
    mut leaf: impl FnMut(&[String], &Plain) -> Result<Option<Plain>, E>,
) -> Result<String, E> {
    let doc = analyze(original)?;
    top_level(&doc)?;
    let mut edits = Vec::new();
    let mut path = Vec::new();
    match &doc.root {
        Some(Value::Coll(c)) => {
            rewrite_coll(&doc, c, &mut path, &mut leaf, &mut edits)?;
        }
        _ => {
            for (i, c) in doc.comments.iter().enumerate() {
                if let Some(new) = leaf(&[], &Plain::Comment(c.text.clone()))? {
                    edits.push(comment_edit(&doc, i, &new)?);
                }
            }
        }
    }
    Ok(apply(&doc, edits)?)
}

/// Like [`rewrite`] for a document of any top level (tests only).
#[doc(hidden)]
pub fn rewrite_any<E: From<YamlError>>(
    original: &str,
    mut leaf: impl FnMut(&[String], &Plain) -> Result<Option<Plain>, E>,
) -> Result<String, E> {
    let doc = analyze(original)?;
    let mut edits = Vec::new();
    if let Some(Value::Coll(c)) = &doc.root {
        rewrite_coll(&doc, c, &mut Vec::new(), &mut leaf, &mut edits)?;
    }
    Ok(apply(&doc, edits)?)
}

fn apply(doc: &Doc, mut edits: Vec<Edit>) -> Result<String, YamlError> {
    edits.sort_by_key(|e| (e.start, e.end));
    let mut out = String::with_capacity(doc.text.len());
    let mut at = 0;
    for e in &edits {
        if e.start < at {
            return err_at(
                doc.text,
                e.start,
                "overlapping edits (a bug in yaml::rewrite)",
            );
        }
        out.push_str(&doc.text[at..e.start]);
        out.push_str(&e.text);
        at = e.end;
    }
    out.push_str(&doc.text[at..]);
    Ok(out)
}

fn comment_edit(doc: &Doc, ci: usize, new: &Plain) -> Result<Edit, YamlError> {
    let c = &doc.comments[ci];
    let Plain::Comment(t) = new else {
        return err_at(
            doc.text,
            c.start,
            "a comment can only be replaced by a comment",
        );
    };
    if t.contains(['\n', '\r']) {
        return err_at(doc.text, c.start, "a comment cannot hold a line break");
    }
    Ok(Edit {
        start: c.start,
        end: c.end,
        text: format!("#{t}"),
    })
}

fn rewrite_coll<E: From<YamlError>>(
    doc: &Doc,
    c: &Coll,
    path: &mut Vec<String>,
    leaf: &mut impl FnMut(&[String], &Plain) -> Result<Option<Plain>, E>,
    edits: &mut Vec<Edit>,
) -> Result<(), E> {
    for (_, item) in &c.order {
        match *item {
            Item::Comment(ci) => {
                let old = Plain::Comment(doc.comments[ci].text.clone());
                if let Some(new) = leaf(path, &old)? {
                    if new != old {
                        edits.push(comment_edit(doc, ci, &new)?);
                    }
                }
            }
            Item::Entry(i) => {
                let e = &c.entries[i];
                if let Some(k) = &e.key {
                    path.push(k.clone());
                }
                let done = match &e.value {
                    Value::Null(..) => Ok(()),
                    Value::Coll(y) => rewrite_coll(doc, y, path, leaf, edits),
                    Value::Scalar(s) => {
                        let old = s.plain();
                        match leaf(path, &old) {
                            Ok(Some(new)) if new != old => {
                                scalar_edits(doc, c, e, s, &new, edits).map_err(E::from)
                            }
                            Ok(_) => Ok(()),
                            Err(x) => Err(x),
                        }
                    }
                };
                if e.key.is_some() {
                    path.pop();
                }
                done?;
            }
        }
    }
    Ok(())
}

/// How a new value is written.
enum Form {
    Inline(String),
    Block(String),
}

fn scalar_edits(
    doc: &Doc,
    c: &Coll,
    e: &Entry,
    s: &Scalar,
    new: &Plain,
    edits: &mut Vec<Edit>,
) -> Result<(), YamlError> {
    let text = doc.text;
    let flow = !c.block;
    // sops stores a sequence comment as the item `- ENC[…,type:comment]`.
    if let Plain::Comment(t) = new {
        let one_line = !text[s.start..s.end].contains('\n') && s.block.is_none();
        let eol = line_end(text, s.end);
        let commented = doc
            .comments
            .iter()
            .any(|k| k.start >= s.end && k.start < eol);
        if c.block && !c.map && one_line && !commented && !t.contains(['\n', '\r']) {
            edits.push(Edit {
                start: e.start,
                end: s.end,
                text: format!("#{t}"),
            });
            return Ok(());
        }
    }
    // The content column a new block scalar would take.
    let indent = s.block.and_then(|b| b.indent).unwrap_or(e.col + doc.step);
    let form = form(
        doc,
        s,
        new,
        flow,
        indent,
        s.block.map_or_else(|| next_line(text, s.end), |b| b.body.1),
    );
    match (s.block, form) {
        (None, Form::Inline(t)) => edits.push(Edit {
            start: s.start,
            end: s.end,
            text: t,
        }),
        (None, Form::Block(v)) => {
            let (header, body) = literal(&v, indent, doc.newline);
            edits.push(Edit {
                start: s.start,
                end: s.end,
                text: header,
            });
            let at = next_line(text, s.end);
            let body = if at == text.len() && !text.ends_with('\n') {
                format!("{}{body}", doc.newline)
            } else {
                body
            };
            edits.push(Edit {
                start: at,
                end: at,
                text: body,
            });
        }
        (Some(b), Form::Inline(t)) => {
            edits.push(Edit {
                start: b.header.0,
                end: b.header.1,
                text: t,
            });
            edits.push(Edit {
                start: b.body.0,
                end: b.body.1,
                text: String::new(),
            });
        }
        (Some(b), Form::Block(v)) => {
            let (header, body) = literal(&v, indent, doc.newline);
            edits.push(Edit {
                start: b.header.0,
                end: b.header.1,
                text: header,
            });
            let body = if b.body.0 == text.len() && !text.ends_with('\n') {
                format!("{}{body}", doc.newline)
            } else {
                body
            };
            edits.push(Edit {
                start: b.body.0,
                end: b.body.1,
                text: body,
            });
        }
    }
    Ok(())
}

/// Chooses how to write `new` in place of `s`; `after` is where the text
/// goes on after a block scalar written there.
fn form(doc: &Doc, s: &Scalar, new: &Plain, flow: bool, indent: usize, after: usize) -> Form {
    let string = match new {
        Plain::Str(v) | Plain::Comment(v) => v,
        other => return Form::Inline(scalar_text(other)),
    };
    match s.style {
        ScalarStyle::SingleQuoted if single_quotable(string) => {
            return Form::Inline(format!("'{}'", string.replace('\'', "''")))
        }
        ScalarStyle::DoubleQuoted => return Form::Inline(quote(string)),
        _ => {}
    }
    if string.contains('\n')
        && !flow
        && block_safe(string)
        && room_for_block(doc, string, indent, after)
    {
        return Form::Block(string.clone());
    }
    if plain_safe(string) && !(flow && string.contains([',', '[', ']', '{', '}'])) {
        return Form::Inline(string.clone());
    }
    Form::Inline(quote(string))
}

/// Whether a literal block scalar with content column `indent` can go
/// before the text at `after`: the comment lines there must be less
/// indented (or they would become content), and `|+` must not be followed
/// by blank lines (they would become content too).
fn room_for_block(doc: &Doc, v: &str, indent: usize, after: usize) -> bool {
    let keep = v.ends_with("\n\n");
    let mut at = after;
    while at < doc.text.len() {
        let line = line_text(doc.text, at);
        let t = line.trim_start();
        if t.is_empty() {
            if keep {
                return false;
            }
        } else if t.starts_with('#') {
            if line.len() - t.len() >= indent {
                return false;
            }
        } else {
            return true;
        }
        let next = next_line(doc.text, at);
        if next == at {
            break;
        }
        at = next;
    }
    true
}

/// Whether a string can be a literal block scalar (auto-detected
/// indentation, so its first non-empty line cannot start with a blank).
fn block_safe(s: &str) -> bool {
    let body = s.trim_end_matches('\n');
    !body.is_empty()
        && s.chars().all(|c| c == '\n' || c == '\t' || printable(c))
        && !body.trim_start_matches('\n').starts_with([' ', '\t'])
}

/// A literal block scalar: the header and the content lines (each ending
/// with a line break).
fn literal(v: &str, indent: usize, newline: &str) -> (String, String) {
    let body = v.trim_end_matches('\n');
    let trailing = v.len() - body.len();
    let header = match trailing {
        0 => "|-",
        1 => "|",
        _ => "|+",
    };
    let mut out = String::new();
    for line in body.split('\n') {
        if !line.is_empty() {
            out.push_str(&" ".repeat(indent));
            out.push_str(line);
        }
        out.push_str(newline);
    }
    for _ in 1..trailing {
        out.push_str(newline);
    }
    (header.to_string(), out)
}

fn printable(c: char) -> bool {
    !(c.is_control()
        || matches!(
            c,
            '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}'
        ))
}

fn single_quotable(s: &str) -> bool {
    !s.is_empty() && s.chars().all(printable) && s.trim() == s
}

// ---------------------------------------------------------------------
// Whole top-level entries (the `sops` metadata).

/// Takes a top-level entry out of the text: from the start of its key's
/// line to the end of the last line of its value (comments inside it and
/// on its lines included). Returns the text without it and the removed
/// text (`None`, and the text as it was, when there is no such key).
pub fn remove_entry(text: &str, key: &str) -> Result<(String, Option<String>), YamlError> {
    let doc = analyze(text)?;
    top_level(&doc)?;
    let Some(Value::Coll(root)) = &doc.root else {
        return Ok((text.to_string(), None));
    };
    let Some(e) = root.entries.iter().find(|e| e.key.as_deref() == Some(key)) else {
        return Ok((text.to_string(), None));
    };
    if !root.block {
        return err_at(text, e.start, "cannot take an entry out of a flow mapping");
    }
    let start = line_start(text, e.start);
    if !text[start..e.start].trim().is_empty() {
        return err_at(text, e.start, format!("`{key}` does not start its line"));
    }
    let mut end = e.value.end().max(e.start);
    let next = root
        .entries
        .iter()
        .map(|x| x.start)
        .filter(|&s| s > e.start)
        .min()
        .unwrap_or(text.len());
    for c in &doc.comments {
        let inside = c.start > e.start && c.start < next && (!c.own_line || owned_by(text, e, c));
        if inside {
            end = end.max(c.end);
        }
    }
    let end = next_line(text, end.max(start));
    let mut out = text[..start].to_string();
    out.push_str(&text[end..]);
    Ok((out, Some(text[start..end].to_string())))
}

/// Whether an own-line comment after entry `e` belongs to its value.
fn owned_by(text: &str, e: &Entry, c: &Comment) -> bool {
    match &e.value {
        Value::Coll(y) if y.block => column(text, c.start) >= y.indent,
        v => c.start < v.end(),
    }
}

/// Adds a top-level entry after the last line, written as [`emit`] writes
/// it, at the top-level mapping's indentation (before a final `...`).
pub fn append_entry(text: &str, key: &str, value: &Node) -> Result<String, YamlError> {
    let doc = analyze(text)?;
    let indent = end_of_top_level(&doc, Some(key))?.1;
    let mut entry = String::new();
    emit_map(&[(key.to_string(), value.clone())], indent, &mut entry);
    insert_at_end(&doc, &entry.replace('\n', doc.newline))
}

/// Adds YAML lines (a whole top-level entry, such as the text
/// [`remove_entry`] took out) at the end of the document, before a final
/// `...`. The result must read: the entry's key must be new, and its
/// lines at the top-level mapping's indentation.
pub fn append_text(text: &str, entry: &str) -> Result<String, YamlError> {
    let doc = analyze(text)?;
    end_of_top_level(&doc, None)?;
    let out = insert_at_end(&doc, entry)?;
    // What was there must read the same, with entries after it.
    let entries = |n: Node| match n {
        Node::Map(m) => m.into_iter().filter(|(k, _)| k != COMMENT_KEY).collect(),
        _ => Vec::new(),
    };
    let before = entries(parse(text)?);
    let after = entries(parse(&out)?);
    if after.len() <= before.len() || after[..before.len()] != before[..] {
        return err_at(
            &out,
            text.len(),
            "the added lines are not a new top-level entry",
        );
    }
    Ok(out)
}

/// Checks that entries can be added at the end of the top level (a block
/// mapping, or an empty document), and `key` is not there yet; returns
/// where they go and their indentation.
fn end_of_top_level(doc: &Doc, key: Option<&str>) -> Result<(usize, usize), YamlError> {
    top_level(doc)?;
    let at = doc
        .end_marker
        .map_or(doc.text.len(), |m| line_start(doc.text, m));
    match &doc.root {
        Some(Value::Coll(root)) => {
            if !root.block {
                return err_at(
                    doc.text,
                    root.start,
                    "cannot add an entry to a flow mapping",
                );
            }
            if let Some(key) = key {
                if root.entries.iter().any(|e| e.key.as_deref() == Some(key)) {
                    return err_at(
                        doc.text,
                        root.start,
                        format!("the key `{key}` appears twice"),
                    );
                }
            }
            Ok((at, root.indent))
        }
        _ => Ok((at, 0)),
    }
}

fn insert_at_end(doc: &Doc, entry: &str) -> Result<String, YamlError> {
    let (at, _) = end_of_top_level(doc, None)?;
    let mut out = doc.text[..at].to_string();
    if !out.is_empty() && !out.ends_with('\n') {
        out.push_str(doc.newline);
    }
    out.push_str(entry);
    if !out.is_empty() && !out.ends_with('\n') && at < doc.text.len() {
        out.push_str(doc.newline);
    }
    out.push_str(&doc.text[at..]);
    Ok(out)
}

// ---------------------------------------------------------------------
// Writing a tree.

/// Whether a string can be written without quotes and read back the same.
fn plain_safe(s: &str) -> bool {
    if s.is_empty() || s.trim() != s || !s.chars().all(printable) || s.contains('\t') {
        return false;
    }
    let first = s.chars().next().unwrap_or(' ');
    // `-x` is plain text; `- x`, `-` and `---` are not.
    let dash_text = first == '-' && s.len() > 1 && !s.starts_with("- ") && !s.starts_with("---");
    if "-?:,[]{}#&*!|>'\"%@`".contains(first) && !dash_text {
        return false;
    }
    if s.contains(": ") || s.contains(" #") || s.ends_with(':') || s.starts_with("...") {
        return false;
    }
    // Dates and times would read back as timestamps in other YAML readers.
    let b = s.as_bytes();
    if b.len() >= 10 && b[..4].iter().all(u8::is_ascii_digit) && b[4] == b'-' {
        return false;
    }
    matches!(plain_type(s), Some(Plain::Str(ref t)) if t == s)
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
            c if !printable(c) => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
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
        Node::Leaf(Plain::Str(s)) if s.contains('\n') && block_safe(s) => {
            let (header, body) = literal(s, indent + STEP, "\n");
            out.push(' ');
            out.push_str(&header);
            out.push('\n');
            out.push_str(&body);
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
            emit_map(m, indent + STEP, out);
        }
        Node::List(l) => {
            out.push('\n');
            emit_list(l, indent + STEP, out);
        }
    }
}

fn emit_comment(c: &str, indent: usize, out: &mut String) {
    out.push_str(&pad(indent));
    out.push('#');
    out.push_str(c);
    out.push('\n');
}

fn emit_map(entries: &[(String, Node)], indent: usize, out: &mut String) {
    for (k, v) in entries {
        if k == COMMENT_KEY {
            if let Node::Leaf(Plain::Comment(c)) | Node::Leaf(Plain::Str(c)) = v {
                emit_comment(c, indent, out);
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
            Node::Leaf(Plain::Comment(c)) => emit_comment(c, indent, out),
            Node::Map(m) if m.first().is_some_and(|(k, _)| k == COMMENT_KEY) => {
                // A comment cannot follow the dash: the mapping goes below it.
                out.push_str(&pad(indent));
                out.push_str("-\n");
                emit_map(m, indent + 2, out);
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
                emit_list(l, indent + STEP, out);
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

    fn s(v: &str) -> Node {
        Node::Leaf(Plain::Str(v.into()))
    }

    fn c(v: &str) -> Node {
        Node::Leaf(Plain::Comment(v.into()))
    }

    fn comment(v: &str) -> (String, Node) {
        (COMMENT_KEY.to_string(), c(v))
    }

    fn entry(k: &str, v: Node) -> (String, Node) {
        (k.to_string(), v)
    }

    /// The entries of a mapping without its comments.
    fn values(n: &Node) -> Vec<(String, Node)> {
        match n {
            Node::Map(m) => m
                .iter()
                .filter(|(k, _)| k != COMMENT_KEY)
                .cloned()
                .collect(),
            _ => panic!("not a mapping: {n:?}"),
        }
    }

    fn comments(n: &Node) -> Vec<String> {
        let mut out = Vec::new();
        fn walk(n: &Node, out: &mut Vec<String>) {
            match n {
                Node::Map(m) => m.iter().for_each(|(_, v)| walk(v, out)),
                Node::List(l) => l.iter().for_each(|v| walk(v, out)),
                Node::Leaf(Plain::Comment(t)) => out.push(t.clone()),
                _ => {}
            }
        }
        walk(n, &mut out);
        out
    }

    /// Replaces the leaves at one key path.
    fn set(text: &str, at: &[&str], to: Plain) -> String {
        rewrite(text, |path, _| {
            Ok::<_, YamlError>((path == at).then(|| to.clone()))
        })
        .unwrap()
    }

    /// The lines of `a` and `b` that differ (they must have as many).
    fn changed_lines(a: &str, b: &str) -> Vec<(usize, String, String)> {
        assert_eq!(a.lines().count(), b.lines().count(), "{a}\n---\n{b}");
        a.lines()
            .zip(b.lines())
            .enumerate()
            .filter(|(_, (x, y))| x != y)
            .map(|(i, (x, y))| (i + 1, x.to_string(), y.to_string()))
            .collect()
    }

    // -----------------------------------------------------------------
    // Block scalars and comments: the values from the YAML 1.2 spec
    // examples, as the YAML test suite (github.com/yaml/yaml-test-suite)
    // has them; the case ids are the suite's.

    /// Spec example 8.4, Chomping Final Line Break (suite A6F9).
    #[test]
    fn chomping_final_line_break_a6f9() {
        let n = parse("strip: |-\n  text\nclip: |\n  text\nkeep: |+\n  text\n").unwrap();
        assert_eq!(
            values(&n),
            vec![
                entry("strip", s("text")),
                entry("clip", s("text\n")),
                entry("keep", s("text\n")),
            ]
        );
    }

    /// Spec example 8.5, Chomping Trailing Lines (suite F8F9): trailing
    /// blank lines go with `|+` only, and the `#` lines inside the blocks
    /// are content while the less indented ones are comments.
    #[test]
    fn chomping_trailing_lines_and_comments_f8f9() {
        let text = " # Strip\n  # Comments:\nstrip: |-\n  # text\n  \n # Clip\n  # comments:\n\nclip: |\n  # text\n \n # Keep\n  # comments:\n\nkeep: |+\n  # text\n\n # Trail\n  # comments.\n";
        let n = parse(text).unwrap();
        assert_eq!(
            values(&n),
            vec![
                entry("strip", s("# text")),
                entry("clip", s("# text\n")),
                entry("keep", s("# text\n\n")),
            ]
        );
        assert_eq!(
            comments(&n),
            [
                " Strip",
                " Comments:",
                " Clip",
                " comments:",
                " Keep",
                " comments:",
                " Trail",
                " comments."
            ]
        );
    }

    /// Spec example 8.6, Empty Scalar Chomping (suite K858): `>-`, `>`, `|+`.
    #[test]
    fn empty_scalar_chomping_k858() {
        let n = parse("strip: >-\n\nclip: >\n\nkeep: |+\n\n").unwrap();
        assert_eq!(
            values(&n),
            vec![
                entry("strip", s("")),
                entry("clip", s("")),
                entry("keep", s("\n")),
            ]
        );
    }

    /// Spec examples 8.7 Literal Scalar (suite M9B4), 8.8 Literal Content
    /// (DWX9: blank lines inside and around the content), 8.9 Folded Scalar
    /// (G992), 8.10–8.13 Folded Lines (7T8X), 6.6 Line Folding with `>-`
    /// (K527), 2.13 literal newlines (6JQW). Their top level is a scalar.
    #[test]
    fn literal_and_folded_scalars_with_blank_lines() {
        for (id, text, value) in [
            ("M9B4", "|\n literal\n \ttext\n\n\n", "literal\n\ttext\n"),
            (
                "DWX9",
                "|\n \n  \n  literal\n   \n  \n  text\n\n # Comment\n",
                "\n\nliteral\n \n\ntext\n",
            ),
            ("G992", ">\n folded\n text\n\n\n", "folded text\n"),
            (
                "7T8X",
                ">\n\n folded\n line\n\n next\n line\n   * bullet\n\n   * list\n   * lines\n\n last\n line\n\n# Comment\n",
                "\nfolded line\nnext line\n  * bullet\n\n  * list\n  * lines\n\nlast line\n",
            ),
            (
                "K527",
                ">-\n  trimmed\n  \n \n\n  as\n  space\n",
                "trimmed\n\n\nas space",
            ),
            (
                "6JQW",
                "# ASCII Art\n--- |\n  \\//||\\/||\n  // ||  ||__\n",
                "\\//||\\/||\n// ||  ||__\n",
            ),
        ] {
            assert_eq!(parse_any(text).unwrap(), s(value), "{id}");
        }
    }

    /// Spec example 8.2, Block Indentation Indicator (suite R4YG).
    #[test]
    fn block_indentation_indicator_r4yg() {
        let text =
            "- |\n detected\n- >\n \n  \n  # detected\n- |1\n  explicit\n- >\n \t\n detected\n";
        assert_eq!(
            parse_any(text).unwrap(),
            Node::List(vec![
                s("detected\n"),
                s("\n\n# detected\n"),
                s(" explicit\n"),
                s("\t\ndetected\n"),
            ])
        );
    }

    /// Trailing comments: spec examples 2.2 (suite SYW4), 6.9 Separated
    /// Comment (5NYZ), 6.11 Multi-Line Comments (P94K), 2.9 (J9HZ). The
    /// values are the suite's; each comment sits just before its entry.
    #[test]
    fn trailing_comments() {
        let n = parse(
            "hr:  65    # Home runs\navg: 0.278 # Batting average\nrbi: 147   # Runs Batted In\n",
        )
        .unwrap();
        assert_eq!(
            n,
            Node::Map(vec![
                comment(" Home runs"),
                entry("hr", Node::Leaf(Plain::Int(65))),
                comment(" Batting average"),
                entry("avg", Node::Leaf(Plain::Float(0.278))),
                comment(" Runs Batted In"),
                entry("rbi", Node::Leaf(Plain::Int(147))),
            ])
        );
        assert_eq!(
            parse("key:    # Comment\n  value\n").unwrap(),
            Node::Map(vec![comment(" Comment"), entry("key", s("value"))])
        );
        assert_eq!(
            parse("key:    # Comment\n        # lines\n  value\n\n\n").unwrap(),
            Node::Map(vec![
                comment(" Comment"),
                comment(" lines"),
                entry("key", s("value"))
            ])
        );
        let n = parse("---\nhr: # 1998 hr ranking\n  - Mark McGwire\n  - Sammy Sosa\nrbi:\n  # 1998 rbi ranking\n  - Sammy Sosa\n  - Ken Griffey\n").unwrap();
        assert_eq!(
            n,
            Node::Map(vec![
                comment(" 1998 hr ranking"),
                entry("hr", Node::List(vec![s("Mark McGwire"), s("Sammy Sosa")])),
                entry(
                    "rbi",
                    Node::List(vec![
                        c(" 1998 rbi ranking"),
                        s("Sammy Sosa"),
                        s("Ken Griffey")
                    ])
                ),
            ])
        );
        // A `#` inside quotes or a block scalar is not a comment; one after
        // a block scalar's header is.
        let n =
            parse("a: \"x # y\"  # c1\nb: 'p#q' # c2\nc: |-  # c3\n  # not a comment\n").unwrap();
        assert_eq!(
            n,
            Node::Map(vec![
                comment(" c1"),
                entry("a", s("x # y")),
                comment(" c2"),
                entry("b", s("p#q")),
                comment(" c3"),
                entry("c", s("# not a comment")),
            ])
        );
    }

    // -----------------------------------------------------------------
    // Rewriting in place.

    const FILE: &str = "\
# Database settings
db:
  user: admin          # the login
  password: 'hunter2'
  port: 5432
  note: >
    folded
    text

  cert: |
    -----BEGIN CERT-----

    MIIB...
    -----END CERT-----
  keep: |+
    kept


  strip: |-
    no final break
hosts: [a.example, \"b.example\"]   # two hosts
list:
  - one
  # between
  - two: 2
    three: \"3\"
empty: ''
nothing: ~
";

    /// Changing one value changes one line, and nothing else.
    #[test]
    fn changing_one_value_changes_one_line() {
        let out = set(FILE, &["db", "password"], Plain::Str("n3w s3cret".into()));
        assert_eq!(
            changed_lines(FILE, &out),
            [(
                4,
                "  password: 'hunter2'".into(),
                "  password: 'n3w s3cret'".into()
            )]
        );
        let out = set(FILE, &["db", "user"], Plain::Str("root".into()));
        assert_eq!(
            changed_lines(FILE, &out),
            [(
                3,
                "  user: admin          # the login".into(),
                "  user: root          # the login".into()
            )]
        );
        let out = set(FILE, &["db", "port"], Plain::Int(6543));
        assert_eq!(changed_lines(FILE, &out).len(), 1);
        let out = set(FILE, &["hosts"], Plain::Str("c.example".into()));
        assert_eq!(
            changed_lines(FILE, &out),
            [(
                21,
                "hosts: [a.example, \"b.example\"]   # two hosts".into(),
                "hosts: [c.example, \"c.example\"]   # two hosts".into()
            )]
        );
        // A comment's text, in place.
        let out = rewrite(FILE, |path, p| {
            Ok::<_, YamlError>(match p {
                Plain::Comment(t) if t == " between" && path == ["list"] => {
                    Some(Plain::Comment(" in between".into()))
                }
                _ => None,
            })
        })
        .unwrap();
        assert_eq!(
            changed_lines(FILE, &out),
            [(24, "  # between".into(), "  # in between".into())]
        );
        // Every value set to what it is: not one byte changes.
        let same = rewrite(FILE, |_, p| Ok::<_, YamlError>(Some(p.clone()))).unwrap();
        assert_eq!(same, FILE);
    }

    /// A block scalar's new text takes the lines of its old text; the blank
    /// lines and entries around it stay.
    #[test]
    fn a_block_scalar_keeps_its_place() {
        let out = set(FILE, &["db", "cert"], Plain::Str("A\n\nB\n".into()));
        assert!(
            out.contains("  cert: |\n    A\n\n    B\n  keep: |+\n"),
            "{out}"
        );
        assert_eq!(
            out.replace("    A\n\n    B\n", ""),
            FILE.replace(
                "    -----BEGIN CERT-----\n\n    MIIB...\n    -----END CERT-----\n",
                ""
            )
        );
        let n = parse(&out).unwrap();
        let Node::Map(db) = &values(&n)[0].1 else {
            panic!()
        };
        assert_eq!(
            db.iter().find(|(k, _)| k == "cert").unwrap().1,
            s("A\n\nB\n")
        );
        assert_eq!(
            db.iter().find(|(k, _)| k == "keep").unwrap().1,
            s("kept\n\n\n")
        );
        assert_eq!(
            db.iter().find(|(k, _)| k == "note").unwrap().1,
            s("folded text\n")
        );
    }

    /// Encrypting replaces a block scalar with one line; decrypting puts a
    /// block scalar back: `|`, `|-` or `|+` as the value needs.
    #[test]
    fn block_scalars_to_one_line_and_back() {
        let enc = rewrite(FILE, |path, p| {
            Ok::<_, YamlError>(match p {
                Plain::Str(v) if v.contains('\n') => {
                    Some(Plain::Str(format!("ENC[{}]", path.join(":"))))
                }
                _ => None,
            })
        })
        .unwrap();
        assert!(
            enc.contains(
                "  note: ENC[db:note]\n\n  cert: ENC[db:cert]\n  keep: ENC[db:keep]\n  strip: |-\n"
            ),
            "{enc}"
        );
        let original = parse(FILE).unwrap();
        let dec = rewrite(&enc, |_, p| {
            Ok::<_, YamlError>(match p {
                Plain::Str(v) if v.starts_with("ENC[") => {
                    let key = v.trim_start_matches("ENC[db:").trim_end_matches(']');
                    let Node::Map(db) = &values(&original)[0].1 else {
                        panic!()
                    };
                    match &db.iter().find(|(k, _)| k == key).unwrap().1 {
                        Node::Leaf(p) => Some(p.clone()),
                        _ => None,
                    }
                }
                _ => None,
            })
        })
        .unwrap();
        assert_eq!(parse(&dec).unwrap(), original, "{dec}");
        // The literal blocks come back as they were; the folded one as a
        // literal block of the same value, the blank line after it kept.
        assert!(dec.contains("  note: |\n    folded text\n\n  cert: |\n    -----BEGIN CERT-----\n\n    MIIB...\n    -----END CERT-----\n  keep: |+\n    kept\n\n\n  strip: |-\n"), "{dec}");
    }

    #[test]
    fn new_values_take_a_style_that_reads_back() {
        let text = "a: x\nb: 'y'\nc: \"z\"\nd: [p, q]\ne: {k: v}\n- x\n";
        let text = &text[..text.len() - 4];
        for (at, to, expect) in [
            (&["a"][..], Plain::Str("true".into()), "a: \"true\""),
            (&["a"], Plain::Str("x: y".into()), "a: \"x: y\""),
            (&["a"], Plain::Bool(false), "a: false"),
            (&["a"], Plain::Float(1.0), "a: 1.0"),
            (&["b"], Plain::Str("it's".into()), "b: 'it''s'"),
            (&["b"], Plain::Str("tab\there".into()), "b: \"tab\\there\""),
            (&["c"], Plain::Str("plain".into()), "c: \"plain\""),
            (&["d"], Plain::Str("a, b".into()), "d: [\"a, b\", \"a, b\"]"),
            (
                &["e", "k"],
                Plain::Str("two\nlines".into()),
                "e: {k: \"two\\nlines\"}",
            ),
            (&["a"], Plain::Str("2025-01-01".into()), "a: \"2025-01-01\""),
        ] {
            let out = set(text, at, to.clone());
            assert!(out.contains(expect), "{at:?} {to:?}: {out}");
            let mut cur = parse(&out).unwrap();
            for k in at {
                cur = values(&cur).into_iter().find(|(x, _)| x == k).unwrap().1;
            }
            match cur {
                Node::List(l) => assert!(l.iter().all(|i| *i == Node::Leaf(to.clone()))),
                other => assert_eq!(other, Node::Leaf(to.clone())),
            }
        }
    }

    /// A block scalar is not written where what follows would become its
    /// content: a more indented comment, or blank lines after `|+`.
    #[test]
    fn block_scalars_only_where_they_fit() {
        let text = "a: x\n      # deep comment\nb: y\n\nc: z\n";
        let out = set(text, &["a"], Plain::Str("1\n2\n".into()));
        assert!(out.starts_with("a: \"1\\n2\\n\"\n      # deep"), "{out}");
        let out = set(text, &["b"], Plain::Str("1\n2\n\n".into()));
        assert!(out.contains("b: \"1\\n2\\n\\n\"\n\nc: z"), "{out}");
        let out = set(text, &["b"], Plain::Str("1\n2\n".into()));
        assert!(out.contains("b: |\n    1\n    2\n\nc: z"), "{out}");
        // At the end of a text without a final line break.
        let out = set("a: x", &["a"], Plain::Str("1\n2".into()));
        assert_eq!(out, "a: |-\n    1\n    2\n");
        assert_eq!(parse(&out).unwrap(), Node::Map(vec![entry("a", s("1\n2"))]));
    }

    /// The indentation of new block scalars follows the document's.
    #[test]
    fn block_scalars_follow_the_documents_indentation() {
        let out = set(
            "db:\n  pw: x\nl:\n- y\n",
            &["db", "pw"],
            Plain::Str("1\n2\n".into()),
        );
        assert_eq!(out, "db:\n  pw: |\n    1\n    2\nl:\n- y\n");
        let out = set(
            "db:\n  pw: x\nl:\n- y\n",
            &["l"],
            Plain::Str("1\n2\n".into()),
        );
        assert_eq!(out, "db:\n  pw: x\nl:\n- |\n  1\n  2\n");
    }

    #[test]
    fn lines_ending_in_crlf_stay_so() {
        let text = "a: 1 # c\r\nb: |\r\n  x\r\n  y\r\nc: 2\r\n";
        let n = parse(text).unwrap();
        assert_eq!(
            n,
            Node::Map(vec![
                comment(" c"),
                entry("a", Node::Leaf(Plain::Int(1))),
                entry("b", s("x\ny\n")),
                entry("c", Node::Leaf(Plain::Int(2))),
            ])
        );
        let out = set(text, &["a"], Plain::Str("p\nq\n".into()));
        assert_eq!(
            out,
            "a: | # c\r\n    p\r\n    q\r\nb: |\r\n  x\r\n  y\r\nc: 2\r\n"
        );
        let out = set(text, &["b"], Plain::Str("z".into()));
        assert_eq!(out, "a: 1 # c\r\nb: z\r\nc: 2\r\n");
    }

    /// sops writes an encrypted sequence comment as an item; decrypted, it
    /// is a comment line again.
    #[test]
    fn sequence_items_that_decrypt_to_comments() {
        let text = "l:\n    - ENC[c]\n    - a\n";
        let out = rewrite(text, |_, p| {
            Ok::<_, YamlError>(match p {
                Plain::Str(v) if v == "ENC[c]" => Some(Plain::Comment(" note".into())),
                _ => None,
            })
        })
        .unwrap();
        assert_eq!(out, "l:\n    # note\n    - a\n");
        assert_eq!(
            parse(&out).unwrap(),
            Node::Map(vec![entry("l", Node::List(vec![c(" note"), s("a")]))])
        );
    }

    #[test]
    fn the_sops_entry_comes_out_and_goes_in_whole() {
        let meta = Node::Map(vec![
            entry("age", Node::List(vec![Node::Map(vec![
                entry("enc", s("-----BEGIN AGE ENCRYPTED FILE-----\nYWdl\n-----END AGE ENCRYPTED FILE-----\n")),
                entry("recipient", s("age1xyz")),
            ])])),
            entry("lastmodified", s("2025-01-01T10:00:05Z")),
            entry("version", s("3.10.2")),
        ]);
        let with = append_entry(FILE, "sops", &meta).unwrap();
        assert!(with.starts_with(FILE));
        assert!(
            with.ends_with("nothing: ~\nsops:\n    age:\n        - enc: |\n              -----BEGIN AGE ENCRYPTED FILE-----\n              YWdl\n              -----END AGE ENCRYPTED FILE-----\n          recipient: age1xyz\n    lastmodified: \"2025-01-01T10:00:05Z\"\n    version: 3.10.2\n"),
            "{with}"
        );
        let (without, removed) = remove_entry(&with, "sops").unwrap();
        assert_eq!(without, FILE);
        assert_eq!(removed.as_deref(), Some(&with[FILE.len()..]));
        assert_eq!(
            remove_entry(FILE, "sops").unwrap(),
            (FILE.to_string(), None)
        );
        // In the middle, with comments inside and after it.
        let text = "a: 1\nsops:\n    mac: x # m\n    # inside\n# after\nb: 2\n";
        assert_eq!(
            remove_entry(text, "sops").unwrap(),
            (
                "a: 1\n# after\nb: 2\n".to_string(),
                Some("sops:\n    mac: x # m\n    # inside\n".to_string())
            )
        );
        // Before a document end marker; after a text without a final break.
        assert_eq!(
            append_entry("a: 1\n...\n", "b", &s("x")).unwrap(),
            "a: 1\nb: x\n...\n"
        );
        assert_eq!(append_entry("a: 1", "b", &s("x")).unwrap(), "a: 1\nb: x\n");
        assert_eq!(append_entry("", "b", &s("x")).unwrap(), "b: x\n");
        assert_eq!(
            append_entry("  a: 1\n", "b", &s("x")).unwrap(),
            "  a: 1\n  b: x\n"
        );
        assert!(append_entry("{a: 1}", "b", &s("x")).is_err());
        assert!(append_entry("a: 1\n", "a", &s("x")).is_err());
        // The text taken out goes back as it was.
        let (without, removed) = remove_entry(&with, "sops").unwrap();
        assert_eq!(append_text(&without, &removed.unwrap()).unwrap(), with);
        assert_eq!(
            append_text("a: 1\n...\n", "b: x").unwrap(),
            "a: 1\nb: x\n...\n"
        );
        assert!(append_text("a: 1\n", "a: 2\n").is_err());
        assert!(append_text("a: 1\n", "  - b\n").is_err());
    }

    /// The key path a comment is encrypted under is its collection's, as
    /// in sops (docs/SOPS-FORMAT.md §2) and as the old reader gave it for
    /// the layout it wrote (comments at their block's indentation); a
    /// trailing comment takes the path of its entry's collection.
    #[test]
    fn comments_take_the_path_of_their_collection() {
        let text = "\
# top
db:
    user: admin # db
    # in db
    nested:
        # in nested
        k: v
    # in db again
hosts:
    - a.example # hosts
    # in hosts
    - name: b # in item
      # in item too
      pw_unencrypted: visible
    # in hosts again
# top again
last: x
";
        let mut seen = Vec::new();
        rewrite(text, |path, p| {
            if let Plain::Comment(t) = p {
                seen.push((t.trim().to_string(), path.join(":")));
            }
            Ok::<_, YamlError>(None)
        })
        .unwrap();
        let expected = [
            ("top", ""),
            ("db", "db"),
            ("in db", "db"),
            ("in nested", "db:nested"),
            ("in db again", "db"),
            ("hosts", "hosts"),
            ("in hosts", "hosts"),
            ("in item", "hosts"),
            ("in item too", "hosts"),
            ("in hosts again", "hosts"),
            ("top again", ""),
        ];
        let seen: Vec<(&str, &str)> = seen.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
        assert_eq!(seen, expected);
        // And where they sit in the tree.
        let n = parse(text).unwrap();
        let Node::Map(m) = &n else { panic!() };
        let Node::List(hosts) = &m[2].1 else { panic!() };
        assert_eq!(hosts[0], c(" hosts"));
        assert_eq!(hosts[2], c(" in hosts"));
        assert_eq!(hosts[4], c(" in hosts again"));
        assert_eq!(
            hosts[3],
            Node::Map(vec![
                comment(" in item"),
                entry("name", s("b")),
                comment(" in item too"),
                entry("pw_unencrypted", s("visible"))
            ])
        );
    }

    #[test]
    fn errors_give_line_and_column() {
        let e = parse("a: 1\nb: &x 2\n").unwrap_err();
        assert_eq!((e.line, e.col), (2, 4));
        assert_eq!(
            e.to_string(),
            "YAML line 2, column 4: anchors, aliases and tags are not supported"
        );
        let e = parse("a: 1\na: 2\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "YAML line 2, column 1: the key `a` appears twice"
        );
        let e = parse("a: [1, 2\n").unwrap_err();
        assert!(e.line >= 1 && e.col >= 1, "{e}");
    }

    // -----------------------------------------------------------------
    // The tests of the reader this one replaces.

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
        assert_eq!(m[0], comment(" db settings"));
        let Node::Map(db) = &m[1].1 else { panic!() };
        assert_eq!(db[1].1, Node::Leaf(Plain::Int(5432)));
        assert_eq!(db[2].1, Node::Leaf(Plain::Float(0.5)));
        assert_eq!(db[3].1, Node::Leaf(Plain::Bool(true)));
        assert_eq!(db[4].1, c(" the password"));
        assert_eq!(db[5].1, s("p: w#d"));
        let Node::List(hosts) = &m[2].1 else { panic!() };
        assert_eq!(hosts.len(), 4);
        assert!(matches!(&hosts[1], Node::Map(e) if e.len() == 2));
        assert_eq!(hosts[2], c(" a list comment"));
        assert_eq!(m[4].1, Node::Null);
        assert_eq!(m[5].1, s("line one\nline two\n"));
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

    /// emit's output reads back as the same tree: block scalars of every
    /// chomping, blank lines, comments in mappings and lists, strings that
    /// need quotes.
    #[test]
    fn emit_output_reads_back_the_same() {
        let n = Node::Map(vec![
            comment(" head"),
            entry("clip", s("a\n\nb\n")),
            entry("strip", s("a\n\nb")),
            entry("keep", s("a\n\n\n")),
            entry("lead", s("  indented\nfirst line\n")),
            entry("crlf", s("a\r\nb\n")),
            entry("only_breaks", s("\n\n")),
            entry("quoted", s("x: y # z")),
            entry("int", Node::Leaf(Plain::Int(-3))),
            entry("nan", Node::Leaf(Plain::Float(f64::INFINITY))),
            entry(
                "list",
                Node::List(vec![
                    c(" first"),
                    s("a\nb\n"),
                    Node::Map(vec![comment(" in item"), entry("k", s("v"))]),
                    Node::Map(vec![
                        entry("k", s("v")),
                        comment(" after k"),
                        entry("j", Node::Null),
                    ]),
                    Node::List(vec![s("x"), Node::Leaf(Plain::Bool(true))]),
                    Node::Map(vec![]),
                ]),
            ),
            entry(
                "nested",
                Node::Map(vec![
                    comment(" n"),
                    entry("deep", Node::Map(vec![entry("x", s("1\n2"))])),
                ]),
            ),
        ]);
        let text = emit(&n);
        assert_eq!(parse(&text).unwrap(), n, "{text}");
        assert_eq!(
            parse(&emit(&parse(FILE).unwrap())).unwrap(),
            parse(FILE).unwrap()
        );
    }

    #[test]
    fn strings_that_look_like_other_types_are_quoted() {
        let n = Node::Map(vec![
            ("a".into(), s("true")),
            ("b".into(), s("12")),
            ("c".into(), s("x: y")),
            (
                "d".into(),
                s("ENC[AES256_GCM,data:YQ==,iv:YQ==,tag:YQ==,type:str]"),
            ),
            ("e".into(), s("2025-01-01T10:00:05Z")),
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
        assert_eq!(m[0].1, Node::List(vec![s("a"), s("b")]));
        let Node::Map(sops) = &m[1].1 else { panic!() };
        assert_eq!(sops[0].1, s("This section holds key material."));
        assert_eq!(sops[1].1, s("1.18"));
        assert!(
            matches!(&sops[2].1, Node::List(l) if matches!(&l[0], Node::Map(e) if e.len() == 2))
        );
    }

    #[test]
    fn refuses_what_it_does_not_read() {
        for (text, message) in [
            ("a: &x 1\n", "anchors, aliases and tags are not supported"),
            (
                "a: !!str 1\n",
                "anchors, aliases and tags are not supported",
            ),
            (
                "a: &x 1\nb: *x\n",
                "anchors, aliases and tags are not supported",
            ),
            (
                "a: 1\n---\nb: 2\n",
                "several documents in one file are not supported",
            ),
            (
                "%YAML 1.2\n---\na: 1\n",
                "directives (%YAML, %TAG) are not supported",
            ),
            ("- 1\n", "the top level must be a mapping"),
            ("text\n", "the top level must be a mapping"),
            ("a: 1\na: 2\n", "the key `a` appears twice"),
            ("[a, b]: 1\n", "only scalars can be mapping keys"),
            ("a: b: c\n", ""),
            ("a:\n\tb: 1\n", ""),
        ] {
            let e = parse(text).unwrap_err();
            assert!(e.to_string().contains(message), "{text:?}: {e}");
        }
        assert_eq!(parse("").unwrap(), Node::Map(vec![]));
        assert_eq!(
            parse("# only\n").unwrap(),
            Node::Map(vec![comment(" only")])
        );
        assert_eq!(
            parse("---\na: 1\n...\n").unwrap(),
            Node::Map(vec![entry("a", Node::Leaf(Plain::Int(1)))])
        );
    }
}
