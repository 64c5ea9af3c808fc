//! Turns Rhai's errors into Blueprint diagnostics with the chain of
//! positions from the blueprint down into stdlib modules.

use super::engine::limits;
use super::state::Fault;
use crate::diagnostic::Diagnostic;
use crate::model::Span;
use rhai::{EvalAltResult, ParseError, Position};

fn span(source: &str, pos: Position) -> Option<Span> {
    Some(Span {
        source: source.to_string(),
        line: pos.line()?,
        col: pos.position().unwrap_or(1),
    })
}

/// Rhai's message without its trailing "(line N, position M)".
fn bare(e: &EvalAltResult) -> String {
    let s = e.to_string();
    let first = s.lines().next().unwrap_or_default().to_string();
    match first.rfind(" (line ") {
        Some(i) => first[..i].to_string(),
        None => first,
    }
}

/// `text` is the script, for suggestions of variable names.
pub fn from_parse(source: &str, text: &str, e: &ParseError) -> Diagnostic {
    if let rhai::ParseErrorType::VariableUndefined(name) = e.err_type() {
        let declared = declared_names(text);
        let hint = crate::model::names::suggest(name, declared.iter().map(String::as_str))
            .map(|s| format!("did you mean `{s}`?"))
            .unwrap_or_else(|| "declare it with `let` before using it".into());
        return Diagnostic::new(format!("unknown variable `{name}`"))
            .at(span(source, e.position()).into_iter().collect())
            .with_hint(Some(hint));
    }
    let msg = e.err_type().to_string();
    let hint = parse_hint(&msg);
    Diagnostic::new(format!("syntax error: {msg}"))
        .at(span(source, e.position()).into_iter().collect())
        .with_hint(hint)
}

/// Names declared with `let`, `const`, `fn` parameters aside, in a script.
fn declared_names(text: &str) -> Vec<String> {
    let words: Vec<&str> = text
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .collect();
    words
        .windows(2)
        .filter(|w| w[0] == "let" || w[0] == "const" || w[0] == "as")
        .map(|w| w[1].to_string())
        .collect()
}

fn parse_hint(msg: &str) -> Option<String> {
    if msg.contains("eval") {
        return Some("`eval` is disabled in blueprints".into());
    }
    if msg.contains("Expecting ';'") {
        return Some("statements end with `;`".into());
    }
    if msg.contains("Expecting '}'")
        || msg.contains("Expecting ')'")
        || msg.contains("Expecting ']'")
    {
        return Some("a bracket is not closed".into());
    }
    None
}

/// `source` is the script the evaluation started in.
pub fn from_eval(source: &str, e: &EvalAltResult) -> Diagnostic {
    // Outermost call first while unwrapping, innermost first in the result.
    let mut outer: Vec<Span> = Vec::new();
    let mut cur_source = source.to_string();
    let mut e = e;
    loop {
        match e {
            EvalAltResult::ErrorInFunctionCall(_, src, inner, pos) => {
                outer.extend(span(&cur_source, *pos));
                if !src.is_empty() {
                    cur_source = src.clone();
                }
                e = inner;
            }
            EvalAltResult::ErrorInModule(name, inner, pos) => {
                outer.extend(span(&cur_source, *pos));
                cur_source = name.clone();
                e = inner;
            }
            _ => break,
        }
    }
    let frames_from_chain = || {
        let mut frames: Vec<Span> = span(&cur_source, e.position()).into_iter().collect();
        frames.extend(outer.iter().rev().cloned());
        frames.dedup();
        frames
    };
    if let EvalAltResult::ErrorRuntime(v, _) = e {
        if let Some(f) = v.read_lock::<Fault>() {
            let frames = if f.frames.is_empty() {
                frames_from_chain()
            } else {
                f.frames.clone()
            };
            let mut d = Diagnostic::new(&f.problem.message)
                .at(frames)
                .with_hint(f.problem.hint.clone());
            d.notes = f.notes.clone();
            return d;
        }
    }
    let frames = frames_from_chain();
    let (message, hint) = describe(e);
    Diagnostic::new(message).at(frames).with_hint(hint)
}

/// Rhai's signature with Rust type names replaced by the script's.
fn friendly_signature(sig: &str) -> String {
    sig.replace("&str | ImmutableString | String", "string")
        .replace("ImmutableString", "string")
        .replace("blueprint::script::handles::", "")
        .replace("i64", "integer")
        .replace("f64", "number")
        .replace(" (", "(")
}

fn describe(e: &EvalAltResult) -> (String, Option<String>) {
    use EvalAltResult as E;
    match e {
        E::ErrorParsing(p, _) => (format!("syntax error: {p}"), None),
        E::ErrorTooManyOperations(_) => (
            format!("the script ran more than {} operations", limits::OPERATIONS),
            Some("is there an endless loop? blueprints only declare resources".into()),
        ),
        E::ErrorDataTooLarge(what, _) => (
            format!(
                "{} grew past the size limit",
                if what.contains("string") {
                    "a string"
                } else if what.contains("array") {
                    "a list"
                } else if what.contains("map") || what.contains("object") {
                    "a map"
                } else {
                    what.as_str()
                }
            ),
            Some(format!(
                "strings hold at most {} bytes, lists {} items, maps {} entries",
                limits::STRING_SIZE,
                limits::ARRAY_SIZE,
                limits::MAP_SIZE
            )),
        ),
        E::ErrorStackOverflow(_) => (
            format!(
                "functions call each other more than {} levels deep",
                limits::CALL_LEVELS
            ),
            Some("is there an endless recursion?".into()),
        ),
        E::ErrorTooManyModules(_) => (
            format!("more than {} modules imported", limits::MODULES),
            Some("do modules import each other in a loop?".into()),
        ),
        E::ErrorTerminated(..) => ("interrupted".into(), None),
        E::ErrorVariableNotFound(name, _) => (
            format!("unknown variable `{name}`"),
            Some("declare it with `let` first".into()),
        ),
        E::ErrorFunctionNotFound(sig, _) => {
            let name = sig.split(['(', ' ']).next().unwrap_or(sig).trim();
            if let Some(f) = super::schema::function(name) {
                return (
                    format!(
                        "{name} does not take these arguments: {}",
                        friendly_signature(sig)
                    ),
                    Some(format!("usage: {}", f.signature)),
                );
            }
            let known = super::schema::functions().map(|f| f.name);
            let hint =
                crate::model::names::suggest(name, known).map(|s| format!("did you mean `{s}`?"));
            (
                format!(
                    "unknown function `{name}` (called as {})",
                    friendly_signature(sig)
                ),
                hint,
            )
        }
        E::ErrorPropertyNotFound(p, _) => (format!("unknown property `{p}`"), None),
        E::ErrorDotExpr(..) | E::ErrorIndexingType(..) => (bare(e), None),
        E::ErrorRuntime(v, _) => (format!("script error: {v}"), None),
        _ => (bare(e), None),
    }
}
