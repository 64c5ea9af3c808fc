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

pub fn from_parse(source: &str, e: &ParseError) -> Diagnostic {
    let msg = e.err_type().to_string();
    let hint = parse_hint(&msg);
    Diagnostic::new(format!("syntax error: {msg}"))
        .at(span(source, e.position()).into_iter().collect())
        .with_hint(hint)
}

fn parse_hint(msg: &str) -> Option<String> {
    if msg.contains("eval") {
        return Some("`eval` is disabled in blueprints".into());
    }
    if msg.contains("Expecting ';'") {
        return Some("statements end with `;`".into());
    }
    if msg.contains("Expecting '}'") || msg.contains("Expecting ')'") || msg.contains("Expecting ']'") {
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
            let frames = if f.frames.is_empty() { frames_from_chain() } else { f.frames.clone() };
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

fn describe(e: &EvalAltResult) -> (String, Option<String>) {
    use EvalAltResult as E;
    match e {
        E::ErrorParsing(p, _) => (format!("syntax error: {p}"), None),
        E::ErrorTooManyOperations(_) => (
            format!("the script ran more than {} operations", limits::OPERATIONS),
            Some("is there an endless loop? blueprints only declare resources".into()),
        ),
        E::ErrorDataTooLarge(what, _) => (
            format!("{what} is over the limit"),
            Some(format!(
                "strings hold at most {} bytes, lists {} items, maps {} entries",
                limits::STRING_SIZE,
                limits::ARRAY_SIZE,
                limits::MAP_SIZE
            )),
        ),
        E::ErrorStackOverflow(_) => (
            format!("functions call each other more than {} levels deep", limits::CALL_LEVELS),
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
            let name = sig.split(['(', ' ']).next().unwrap_or(sig);
            let known = super::schema::FUNCTIONS.iter().map(|f| f.name);
            let hint = match crate::model::names::suggest(name, known) {
                Some(s) if s != name => Some(format!("did you mean `{s}`?")),
                Some(s) => super::schema::function(s).map(|f| format!("usage: {}", f.signature)),
                None => None,
            };
            (format!("no function matches `{sig}`"), hint)
        }
        E::ErrorPropertyNotFound(p, _) => (
            format!("unknown property `{p}`"),
            None,
        ),
        E::ErrorDotExpr(..) | E::ErrorIndexingType(..) => (bare(e), None),
        E::ErrorRuntime(v, _) => (format!("script error: {v}"), None),
        _ => (bare(e), None),
    }
}
