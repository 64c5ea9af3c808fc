//! User-facing errors with source positions, rendered the way `just` does:
//!
//! ```text
//! error: min (5) is greater than max (3)
//!   --> blueprints/pms.rhai:12:5
//!    |
//! 12 | eks.node_group("app", #{ min: 5, max: 3, desired: 4 });
//!    |     ^^^^^^^^^^
//!    = hint: a node group needs min <= desired <= max
//! ```

use crate::model::Span;
use std::collections::HashMap;
use std::fmt::Write;
use std::sync::{Arc, Mutex};

/// An error in a blueprint: a message, where it happened (innermost call
/// first, then the calls that led there), and a hint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub message: String,
    pub frames: Vec<Span>,
    pub hint: Option<String>,
    /// Extra positions worth showing, such as the first declaration of a duplicate.
    pub notes: Vec<(String, Span)>,
}

impl Diagnostic {
    pub fn new(message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            message: message.into(),
            frames: Vec::new(),
            hint: None,
            notes: Vec::new(),
        }
    }

    pub fn with_hint(mut self, hint: Option<String>) -> Diagnostic {
        self.hint = hint;
        self
    }

    pub fn at(mut self, frames: Vec<Span>) -> Diagnostic {
        self.frames = frames;
        self
    }

    pub fn render(&self, sources: &Sources) -> String {
        self.render_as(sources, "error")
    }

    /// Rendered under another label (`warning[BP001]` for a lint finding).
    pub fn render_as(&self, sources: &Sources, label: &str) -> String {
        let mut out = format!("{label}: {}\n", self.message);
        let mut frames = self.frames.iter();
        if let Some(first) = frames.next() {
            sources.snippet(&mut out, first);
        }
        for f in frames {
            let _ = writeln!(out, "note: called from here");
            sources.snippet(&mut out, f);
        }
        for (text, span) in &self.notes {
            let _ = writeln!(out, "note: {text}");
            sources.snippet(&mut out, span);
        }
        if let Some(h) = &self.hint {
            let _ = writeln!(out, "  = hint: {h}");
        }
        out
    }
}

impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)?;
        if let Some(s) = self.frames.first() {
            write!(f, " (at {s})")?;
        }
        Ok(())
    }
}

/// The text of every script and module seen, by the name used in spans.
/// Shared between the engine's module resolver and the error renderer.
#[derive(Clone, Debug, Default)]
pub struct Sources(Arc<Mutex<HashMap<String, Arc<str>>>>);

impl Sources {
    pub fn insert(&self, name: &str, text: &str) {
        if let Ok(mut m) = self.0.lock() {
            m.insert(name.to_string(), Arc::from(text));
        }
    }

    pub fn get(&self, name: &str) -> Option<Arc<str>> {
        self.0.lock().ok()?.get(name).cloned()
    }

    /// Where the option `key` is written in the call at `call` (`key:`
    /// inside the call's parentheses, outside strings and comments), if it
    /// is written there rather than built elsewhere.
    pub fn locate_option(&self, call: &Span, key: &str) -> Option<Span> {
        let text = self.get(&call.source)?;
        let (line, col) = option_position(&text, call.line, call.col, key)?;
        Some(Span {
            source: call.source.clone(),
            line,
            col,
        })
    }

    fn snippet(&self, out: &mut String, span: &Span) {
        let gutter = span.line.to_string().len().max(1);
        let pad = " ".repeat(gutter);
        let _ = writeln!(out, "{pad}--> {span}");
        let Some(text) = self.get(&span.source) else {
            return;
        };
        let Some(line) = text.lines().nth(span.line.saturating_sub(1)) else {
            return;
        };
        let line = line.trim_end();
        let col = span.col.max(1);
        let width = token_width(line, col - 1);
        let lead: String = line
            .chars()
            .take(col - 1)
            .map(|c| if c == '\t' { '\t' } else { ' ' })
            .collect();
        let _ = writeln!(out, "{pad} |");
        let _ = writeln!(out, "{} | {line}", span.line);
        let _ = writeln!(out, "{pad} | {lead}{}", "^".repeat(width));
    }
}

/// The 1-based line and column of `key:` in the options map of the call
/// that starts at `line`:`col`: a key of a map written directly among the
/// call's arguments, not one nested deeper (a tag named like an option).
fn option_position(text: &str, line: usize, col: usize, key: &str) -> Option<(usize, usize)> {
    let chars: Vec<char> = text.chars().collect();
    // The call's first character.
    let mut i = 0;
    let (mut l, mut c) = (1, 1);
    while i < chars.len() && (l, c) != (line, col) {
        if chars[i] == '\n' {
            l += 1;
            c = 1;
        } else {
            c += 1;
        }
        i += 1;
    }
    let at = |i: usize| -> (usize, usize) {
        let before = &chars[..i];
        let line = before.iter().filter(|c| **c == '\n').count() + 1;
        let col = before.iter().rev().take_while(|c| **c != '\n').count() + 1;
        (line, col)
    };
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    let mut depth = 0usize;
    let mut opened = false;
    while i < chars.len() {
        let ch = chars[i];
        match ch {
            '/' if chars.get(i + 1) == Some(&'/') => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
                continue;
            }
            '/' if chars.get(i + 1) == Some(&'*') => {
                i += 2;
                while i + 1 < chars.len() && !(chars[i] == '*' && chars[i + 1] == '/') {
                    i += 1;
                }
                i += 2;
                continue;
            }
            '"' | '`' | '\'' => {
                let start = i;
                i += 1;
                while i < chars.len() && chars[i] != ch {
                    if chars[i] == '\\' {
                        i += 1;
                    }
                    i += 1;
                }
                let word: String = chars[start + 1..i.min(chars.len())].iter().collect();
                i += 1;
                if depth == 2 && ch == '"' && word == key && followed_by_colon(&chars, i) {
                    return Some(at(start));
                }
                continue;
            }
            '(' | '[' | '{' => {
                depth += 1;
                opened = true;
            }
            ')' | ']' | '}' => {
                depth = depth.saturating_sub(1);
                if opened && depth == 0 {
                    return None;
                }
            }
            ';' if !opened => return None,
            _ if ident(ch) && (i == 0 || !ident(chars[i - 1])) => {
                let start = i;
                while i < chars.len() && ident(chars[i]) {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                if depth == 2 && word == key && followed_by_colon(&chars, i) {
                    return Some(at(start));
                }
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// Whether a `:` (not `::`) follows position `i`, after spaces.
fn followed_by_colon(chars: &[char], mut i: usize) -> bool {
    while i < chars.len() && chars[i].is_whitespace() {
        i += 1;
    }
    chars.get(i) == Some(&':') && chars.get(i + 1) != Some(&':')
}

/// Width of the identifier, string literal or single character starting at
/// `col` (0-based, in chars).
fn token_width(line: &str, col: usize) -> usize {
    let rest: Vec<char> = line.chars().skip(col).collect();
    if rest.first() == Some(&'"') {
        if let Some(end) = rest.iter().skip(1).position(|c| *c == '"') {
            return end + 2;
        }
    }
    let ident = rest
        .iter()
        .take_while(|c| c.is_alphanumeric() || **c == '_')
        .count();
    ident.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_are_located_inside_their_call() {
        let text = "let x = net::split(\"a\", 2);\nlet c = cluster(\"x\", #{\n    // version: here is a comment\n    note: \"version: in a string\",\n    tags: #{ version: \"a tag\" },\n    version: \"1.29\",\n    \"logging\": [],\n});\nlet d = other(#{ endpoint: 1 });\n";
        assert_eq!(option_position(text, 2, 9, "version"), Some((6, 5)));
        assert_eq!(option_position(text, 2, 9, "logging"), Some((7, 5)));
        // Not in this call: in the next one.
        assert_eq!(option_position(text, 2, 9, "endpoint"), None);
        // `net::split` is a path, not an option.
        assert_eq!(option_position(text, 1, 9, "net"), None);
    }

    #[test]
    fn renders_snippet_caret_and_hint() {
        let sources = Sources::default();
        sources.insert("bp.rhai", "let a = 1;\nlet c = cluster(\"x\", #{});\n");
        let d = Diagnostic::new("missing required option `version`")
            .at(vec![Span {
                source: "bp.rhai".into(),
                line: 2,
                col: 9,
            }])
            .with_hint(Some("add `version: \"1.29\"`".into()));
        assert_eq!(
            d.render(&sources),
            "error: missing required option `version`\n \
             --> bp.rhai:2:9\n  |\n2 | let c = cluster(\"x\", #{});\n  |         ^^^^^^^\n  \
             = hint: add `version: \"1.29\"`\n"
        );
    }
}
