//! What the language server knows about a document: its diagnostics, the
//! completions and hover text at a position, and where a name is defined.
//! Positions are LSP's: 0-based lines, UTF-16 columns.

use crate::repl::complete::{self, Names};
use crate::script::schema::{self, FnDoc, Opt};
use serde_json::{json, Value as Json};
use std::path::PathBuf;

/// The file a URI names (`file:///x/bp.rhai`), and its folder, where
/// imports resolve.
fn file_of(uri: &str) -> (String, PathBuf) {
    let path = uri.strip_prefix("file://").unwrap_or(uri);
    let path = percent_decode(path);
    let p = PathBuf::from(&path);
    let root = p
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."));
    (path, root)
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn options() -> crate::script::Options {
    crate::script::Options {
        region: "us-east-1".into(),
        ..Default::default()
    }
}

/// The byte offset of an LSP position in `text`.
fn offset(text: &str, line: usize, utf16: usize) -> usize {
    let mut start = 0;
    for (i, l) in text.split_inclusive('\n').enumerate() {
        if i == line {
            let mut units = 0;
            for (b, c) in l.char_indices() {
                if units >= utf16 || c == '\n' {
                    return start + b;
                }
                units += c.len_utf16();
            }
            return start + l.trim_end_matches('\n').len();
        }
        start += l.len();
    }
    text.len()
}

/// The LSP position of a 1-based line and 1-based character column.
fn position(text: &str, line: usize, col: usize) -> Json {
    let l = text.lines().nth(line.saturating_sub(1)).unwrap_or_default();
    let units: usize = l
        .chars()
        .take(col.saturating_sub(1))
        .map(char::len_utf16)
        .sum();
    json!({"line": line.saturating_sub(1), "character": units})
}

/// The range of the word starting at a 1-based line and column (one
/// character when no word starts there).
fn range(text: &str, line: usize, col: usize) -> Json {
    let l = text.lines().nth(line.saturating_sub(1)).unwrap_or_default();
    let word = l
        .chars()
        .skip(col.saturating_sub(1))
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .count()
        .max(1);
    json!({"start": position(text, line, col), "end": position(text, line, col + word)})
}

/// The errors `bp check` gives, and the lint findings as warnings.
pub fn diagnostics(uri: &str, text: &str) -> Json {
    let (name, root) = file_of(uri);
    let mut out = Vec::new();
    match crate::script::evaluate_text(&name, text, &root, &options()) {
        Err(crate::Error::Script { diagnostics, .. }) => {
            for d in diagnostics {
                // Where it is in this document: the first frame here (an
                // error inside a stdlib function points at its call).
                let at = d
                    .frames
                    .iter()
                    .find(|s| s.source == name)
                    .or(d.frames.first());
                let (line, col) = at.map(|s| (s.line, s.col)).unwrap_or((1, 1));
                let mut message = d.message.clone();
                if let Some(h) = &d.hint {
                    message.push_str(&format!("\nhint: {h}"));
                }
                out.push(json!({
                    "range": range(text, line, col),
                    "severity": 1,
                    "source": "bp",
                    "message": crate::redact::redact(&message),
                }));
            }
        }
        // A name the file would get (a test file's) is not the document's
        // mistake; other errors have no place in it.
        Err(_) => {}
        Ok(eval) => {
            let today = crate::lint::Date::today();
            for f in crate::lint::lint(&eval.graph, &eval.lint, &eval.sources, today) {
                if f.suppressed.is_some() {
                    continue;
                }
                let Some(at) = f.location.as_ref().filter(|s| s.source == name) else {
                    continue;
                };
                out.push(json!({
                    "range": range(text, at.line, at.col),
                    "severity": 2,
                    "source": "bp lint",
                    "code": f.rule,
                    "message": f.message,
                }));
            }
        }
    }
    Json::Array(out)
}

/// The variables the document defines, with their handle types, for
/// member completion.
fn names(uri: &str, text: &str) -> Names {
    let (name, root) = file_of(uri);
    let mut session = crate::script::Session::new(&options(), &root);
    let _ = session.eval(&name, text);
    Names {
        vars: session
            .scope()
            .iter_raw()
            .map(|(n, _, value)| {
                let t = crate::script::handles::kind_of(value)
                    .map(|k| crate::script::handles::type_name(k).to_string())
                    .unwrap_or_else(|| value.type_name().to_string());
                (n.to_string(), t)
            })
            .collect(),
    }
}

fn option_of(f: &FnDoc, name: &str) -> Option<&'static Opt> {
    let all: Vec<&'static Opt> = f
        .options
        .iter()
        .flat_map(|o| {
            let inner: &'static [Opt] = match o.ty {
                schema::Ty::Nested(i) | schema::Ty::NestedList(i) => i,
                _ => &[],
            };
            std::iter::once(o).chain(inner.iter())
        })
        .collect();
    all.into_iter().find(|o| o.name == name)
}

fn option_detail(o: &Opt) -> String {
    let mut d = o.ty.describe();
    if o.required {
        d.push_str(", required");
    }
    if let Some(v) = o.default {
        d.push_str(&format!(", default {v}"));
    }
    d
}

/// Completions at a position: the REPL's, with what each one is.
pub fn completion(uri: &str, text: &str, line: usize, ch: usize) -> Json {
    let before = &text[..offset(text, line, ch)];
    // `import "` + a stdlib module's name.
    if let Some(q) = before.rfind("import \"") {
        let typed = &before[q + "import \"".len()..];
        if !typed.contains('"') && !typed.contains('\n') {
            let items: Vec<Json> = crate::script::STDLIB
                .iter()
                .filter(|(m, _)| m.starts_with(typed))
                .map(|(m, _)| json!({"label": m, "kind": 9, "detail": "stdlib module"}))
                .collect();
            return json!({"isIncomplete": false, "items": items});
        }
    }
    let (_, candidates) = complete::complete(before, &names(uri, text));
    let owner = complete::enclosing_function(before);
    let items: Vec<Json> = candidates
        .into_iter()
        .map(|c| {
            if let Some(o) = owner.and_then(|f| option_of(f, &c)) {
                return json!({"label": c, "kind": 10, "detail": option_detail(o), "documentation": o.doc});
            }
            if let Some(f) = schema::function(&c) {
                let kind = if f.method_of.is_some() { 2 } else { 3 };
                return json!({"label": c, "kind": kind, "detail": f.signature, "documentation": f.doc});
            }
            let kind = if c.contains("::") { 3 } else { 6 };
            json!({"label": c, "kind": kind})
        })
        .collect();
    json!({"isIncomplete": false, "items": items})
}

/// The word at a position, and the text before it.
fn word_at(text: &str, line: usize, ch: usize) -> (String, usize) {
    let at = offset(text, line, ch);
    let is_word = |c: char| c.is_alphanumeric() || c == '_' || c == ':';
    let start = text[..at]
        .char_indices()
        .rev()
        .take_while(|(_, c)| is_word(*c))
        .last()
        .map(|(i, _)| i)
        .unwrap_or(at);
    let end = text[at..]
        .char_indices()
        .find(|(_, c)| !is_word(*c))
        .map(|(i, _)| at + i)
        .unwrap_or(text.len());
    (text[start..end].trim_matches(':').to_string(), start)
}

/// The documentation comment (`///`) above a stdlib function.
fn stdlib_doc(qualified: &str) -> Option<String> {
    let (module, name) = qualified.split_once("::")?;
    let (_, src) = crate::script::STDLIB.iter().find(|(m, _)| *m == module)?;
    let lines: Vec<&str> = src.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.trim_start().starts_with(&format!("fn {name}(")))?;
    let mut doc: Vec<&str> = lines[..at]
        .iter()
        .rev()
        .take_while(|l| l.trim_start().starts_with("///"))
        .map(|l| l.trim_start().trim_start_matches("///").trim())
        .collect();
    doc.reverse();
    Some(format!(
        "```rhai\n{}\n```\n{}",
        lines[at].trim().trim_end_matches('{').trim(),
        doc.join(" ")
    ))
}

/// Hover text: a function's signature and documentation, an option's type
/// and documentation, a stdlib function's signature and comment.
pub fn hover(text: &str, line: usize, ch: usize) -> Json {
    let (word, start) = word_at(text, line, ch);
    if word.is_empty() {
        return Json::Null;
    }
    let value = if word.contains("::") {
        stdlib_doc(&word)
    } else if let Some(o) = complete::enclosing_function(&text[..start]).and_then(|f| {
        // An option key: followed by `:`.
        let after = text[start + word.len()..].trim_start();
        (after.starts_with(':') && !after.starts_with("::"))
            .then(|| option_of(f, &word))
            .flatten()
    }) {
        Some(format!("`{}`: {}\n\n{}", o.name, option_detail(o), o.doc))
    } else {
        schema::function(&word).map(|f| format!("```rhai\n{}\n```\n{}", f.signature, f.doc))
    };
    match value {
        Some(v) => json!({"contents": {"kind": "markdown", "value": v}}),
        None => Json::Null,
    }
}

/// Where a stdlib function (`net::split`) is defined: the module, as the
/// binary embeds it, copied into a folder of the user's own under the
/// temporary folder (per version), at the function's line.
fn stdlib_definition(qualified: &str) -> Option<Json> {
    let (module, name) = qualified.split_once("::")?;
    let (_, src) = crate::script::STDLIB.iter().find(|(m, _)| *m == module)?;
    let line = src
        .lines()
        .position(|l| l.trim_start().starts_with(&format!("fn {name}(")))?;
    // The user's own folder (0700), never one another user made or a
    // link to elsewhere.
    // SAFETY: getuid has no preconditions and cannot fail.
    let uid = unsafe { libc::getuid() };
    let dir = std::env::temp_dir().join(format!("bp-stdlib-{}-{uid}", env!("CARGO_PKG_VERSION")));
    let file = dir.join(format!("{module}.rhai"));
    if std::fs::read_to_string(&file).ok().as_deref() != Some(*src) {
        use std::os::unix::fs::{DirBuilderExt, MetadataExt};
        let _ = std::fs::DirBuilder::new().mode(0o700).create(&dir);
        let meta = std::fs::symlink_metadata(&dir).ok()?;
        if !meta.is_dir() || meta.uid() != uid {
            return None;
        }
        if std::fs::symlink_metadata(&file).is_ok_and(|m| !m.is_file()) {
            return None;
        }
        std::fs::write(&file, src).ok()?;
    }
    let col = src.lines().nth(line)?.find("fn ")? + 4;
    Some(json!({
        "uri": format!("file://{}", file.display()),
        "range": range(src, line + 1, col),
    }))
}

/// Where a variable or function the document defines is defined, or a
/// stdlib function.
pub fn definition(uri: &str, text: &str, line: usize, ch: usize) -> Json {
    let (word, _) = word_at(text, line, ch);
    if word.contains("::") {
        return stdlib_definition(&word).unwrap_or(Json::Null);
    }
    if word.is_empty() {
        return Json::Null;
    }
    for (i, l) in text.lines().enumerate() {
        for intro in ["let ", "const ", "fn "] {
            let mut from = 0;
            while let Some(p) = l[from..].find(intro) {
                let p = from + p;
                from = p + intro.len();
                let boundary =
                    p == 0 || !l[..p].ends_with(|c: char| c.is_alphanumeric() || c == '_');
                let rest = &l[p + intro.len()..];
                let named = rest.starts_with(word.as_str())
                    && !rest[word.len()..].starts_with(|c: char| c.is_alphanumeric() || c == '_');
                if boundary && named {
                    let col = l[..p + intro.len()].chars().count() + 1;
                    return json!({"uri": uri, "range": range(text, i + 1, col)});
                }
            }
        }
    }
    Json::Null
}
