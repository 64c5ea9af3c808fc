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
        let mut out = format!("error: {}\n", self.message);
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
