//! `bp fmt`: a conservative formatter for blueprints, stdlib modules and
//! test files, in the style the seeds use. It keeps every comment and
//! string as written and changes only layout:
//! - indentation: the lines inside a bracket opened at the end of a line
//!   (a block, a map, an array, a call's arguments) are indented four
//!   spaces past that line, and the closing bracket's line comes back to
//!   it; lines aligned under a bracket opened mid-line, and continuation
//!   lines, keep their alignment and move with the line they follow;
//! - spacing: none before `,`, `;` and a map's `:`, at least one after `,`
//!   and `:` (more are kept: they align values), none at the end of a line;
//! - a trailing comma after the last item of a map or array written over
//!   several lines;
//! - one blank line at most between lines, none at the end, and a final
//!   newline.
//!
//! Formatting never changes what a script means: the tokens of the result,
//! comments aside and trailing commas aside, are checked to be those of
//! the input, and the result must parse, or the file is left as it was.

use std::fmt;

/// Why a file was not formatted.
#[derive(Debug, Clone, PartialEq)]
pub struct FormatError(pub String);

impl fmt::Display for FormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Space(String),
    Newline,
    /// `// ...` (to the end of the line) or `/* ... */`.
    Comment(String),
    /// A string or character literal, quotes included, as written.
    Str(String),
    Word(String),
    Punct(String),
}

impl Tok {
    fn text(&self) -> &str {
        match self {
            Tok::Space(s) | Tok::Comment(s) | Tok::Str(s) | Tok::Word(s) | Tok::Punct(s) => s,
            Tok::Newline => "\n",
        }
    }

    fn is(&self, p: &str) -> bool {
        matches!(self, Tok::Punct(x) if x == p)
    }

    fn opener(&self) -> Option<char> {
        match self {
            Tok::Punct(p) if p == "(" => Some(')'),
            Tok::Punct(p) if p == "[" => Some(']'),
            Tok::Punct(p) if p == "{" || p == "#{" => Some('}'),
            _ => None,
        }
    }

    fn closer(&self) -> Option<char> {
        match self {
            Tok::Punct(p) if p == ")" || p == "]" || p == "}" => p.chars().next(),
            _ => None,
        }
    }
}

const PUNCT2: &[&str] = &[
    "::", "#{", "=>", "==", "!=", "<=", ">=", "&&", "||", "+=", "-=", "*=", "/=", "%=", "**", "<<",
    ">>", "..", "?.", "??", "?[",
];

fn lex(src: &str) -> Result<Vec<Tok>, FormatError> {
    let chars: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let text = |a: usize, b: usize| chars[a..b].iter().collect::<String>();
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        if c == '\n' {
            out.push(Tok::Newline);
            i += 1;
        } else if c == '\r' && chars.get(i + 1) == Some(&'\n') {
            out.push(Tok::Newline);
            i += 2;
        } else if c == ' ' || c == '\t' || c == '\r' {
            while i < chars.len() && matches!(chars[i], ' ' | '\t' | '\r') {
                if chars[i] == '\r' && chars.get(i + 1) == Some(&'\n') {
                    break;
                }
                i += 1;
            }
            out.push(Tok::Space(text(start, i)));
        } else if c == '/' && chars.get(i + 1) == Some(&'/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
            out.push(Tok::Comment(text(start, i).trim_end().to_string()));
        } else if c == '/' && chars.get(i + 1) == Some(&'*') {
            // Block comments nest in Rhai.
            let mut depth = 0;
            loop {
                if i + 1 >= chars.len() {
                    return Err(FormatError("a block comment is not closed".into()));
                }
                if chars[i] == '/' && chars[i + 1] == '*' {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && chars[i + 1] == '/' {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            out.push(Tok::Comment(text(start, i)));
        } else if c == '"' || c == '\'' {
            i += 1;
            while i < chars.len() && chars[i] != c {
                if chars[i] == '\\' {
                    i += 1;
                }
                i += 1;
            }
            if i >= chars.len() {
                return Err(FormatError("a string is not closed".into()));
            }
            i += 1;
            out.push(Tok::Str(text(start, i)));
        } else if c == '`' {
            i = backtick(&chars, i)?;
            out.push(Tok::Str(text(start, i)));
        } else if c == '#' && matches!(chars.get(i + 1), Some('"') | Some('#')) {
            // A raw string: #"..."#, ##"..."##.
            let mut hashes = 0;
            while i < chars.len() && chars[i] == '#' {
                hashes += 1;
                i += 1;
            }
            if chars.get(i) != Some(&'"') {
                return Err(FormatError(
                    "a raw string is not opened with a quote".into(),
                ));
            }
            i += 1;
            loop {
                if i >= chars.len() {
                    return Err(FormatError("a raw string is not closed".into()));
                }
                if chars[i] == '"' && (1..=hashes).all(|k| chars.get(i + k) == Some(&'#')) {
                    i += 1 + hashes;
                    break;
                }
                i += 1;
            }
            out.push(Tok::Str(text(start, i)));
        } else if c.is_alphanumeric() || c == '_' {
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            // Numbers with a fraction or an exponent stay one word.
            while i + 1 < chars.len()
                && chars[i] == '.'
                && chars[i + 1].is_ascii_digit()
                && chars[start].is_ascii_digit()
            {
                i += 1;
                while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
            }
            out.push(Tok::Word(text(start, i)));
        } else {
            let two = text(i, (i + 2).min(chars.len()));
            if PUNCT2.contains(&two.as_str()) {
                i += 2;
                out.push(Tok::Punct(two));
            } else {
                i += 1;
                out.push(Tok::Punct(c.to_string()));
            }
        }
    }
    Ok(out)
}

/// The end of a back-tick string starting at `i` (interpolations `${...}`
/// may hold code, strings and braces).
fn backtick(chars: &[char], mut i: usize) -> Result<usize, FormatError> {
    i += 1;
    while i < chars.len() {
        match chars[i] {
            '`' => return Ok(i + 1),
            '\\' => i += 2,
            '$' if chars.get(i + 1) == Some(&'{') => {
                i += 2;
                let mut depth = 1;
                while i < chars.len() && depth > 0 {
                    match chars[i] {
                        '{' => depth += 1,
                        '}' => depth -= 1,
                        '"' => {
                            i += 1;
                            while i < chars.len() && chars[i] != '"' {
                                if chars[i] == '\\' {
                                    i += 1;
                                }
                                i += 1;
                            }
                        }
                        '`' => {
                            i = backtick(chars, i)? - 1;
                        }
                        _ => {}
                    }
                    i += 1;
                }
            }
            _ => i += 1,
        }
    }
    Err(FormatError("a back-tick string is not closed".into()))
}

fn width(indent: &str) -> usize {
    indent.chars().map(|c| if c == '\t' { 4 } else { 1 }).sum()
}

/// A bracket open at the start of a line.
struct Open {
    closer: char,
    /// Opened at the end of its line: what follows is indented under it.
    hanging: bool,
    /// The target indentation of the line that opened it.
    base: usize,
    /// How far that line moved (target - original).
    shift: isize,
    /// A map or an array (trailing commas), not a block or a call.
    literal: bool,
}

/// Whether a line (its tokens, indentation left out) ends a statement or
/// an item, so that the next line starts afresh rather than continuing.
fn ends_item(line: &[Tok]) -> bool {
    match line
        .iter()
        .rev()
        .find(|t| !matches!(t, Tok::Space(_) | Tok::Comment(_)))
    {
        None => true,
        Some(t) => t.is(";") || t.is(",") || t.opener().is_some() || t.closer().is_some(),
    }
}

/// Spacing inside a line: none before `,` `;` `:`, at least one after `,`
/// and `:` (unless a closing bracket or the end of the line follows; more
/// than one is kept, for alignment), none at the end.
fn space(line: Vec<Tok>) -> Vec<Tok> {
    let mut out: Vec<Tok> = Vec::new();
    for (k, t) in line.iter().enumerate() {
        let tight = t.is(",") || t.is(";") || t.is(":");
        if tight && matches!(out.last(), Some(Tok::Space(_))) {
            out.pop();
        }
        out.push(t.clone());
        if t.is(",") || t.is(":") {
            let next = line.get(k + 1);
            let spaced = matches!(next, None | Some(Tok::Space(_)))
                || next.is_some_and(|n| n.closer().is_some());
            if !spaced {
                out.push(Tok::Space(" ".into()));
            }
        }
    }
    while let Some(Tok::Space(_)) = out.last() {
        out.pop();
    }
    out
}

/// The tokens that carry meaning: no layout, no comments, and no comma
/// just before a closing bracket.
fn meaning(toks: &[Tok]) -> Vec<String> {
    let sig: Vec<&Tok> = toks
        .iter()
        .filter(|t| !matches!(t, Tok::Space(_) | Tok::Newline | Tok::Comment(_)))
        .collect();
    let mut out = Vec::new();
    for (k, t) in sig.iter().enumerate() {
        if t.is(",") && sig.get(k + 1).is_some_and(|n| n.closer().is_some()) {
            continue;
        }
        out.push(t.text().to_string());
    }
    out
}

/// `src` formatted; an error when it cannot be read as Rhai tokens or its
/// brackets do not match.
pub fn format(src: &str) -> Result<String, FormatError> {
    let toks = lex(src)?;
    // Lines of tokens, each with its original indentation apart.
    let mut lines: Vec<(usize, Vec<Tok>)> = Vec::new();
    let mut current: Vec<Tok> = Vec::new();
    for t in toks.iter().cloned().chain(std::iter::once(Tok::Newline)) {
        if t == Tok::Newline {
            let (indent, rest) = match current.first() {
                Some(Tok::Space(s)) => (width(s), current[1..].to_vec()),
                _ => (0, current.clone()),
            };
            lines.push((indent, rest));
            current.clear();
        } else {
            current.push(t);
        }
    }
    // The source's final newline made one empty line too many.
    if lines.last().is_some_and(|(_, l)| l.is_empty()) {
        lines.pop();
    }

    let mut stack: Vec<Open> = Vec::new();
    let mut out: Vec<(usize, Vec<Tok>)> = Vec::new();
    // The last line with code at the current level: whether it ended an
    // item, and how far it moved (for continuation lines).
    let mut prev_ended = true;
    let mut prev_shift: isize = 0;
    for (orig, toks) in lines {
        if toks.is_empty() {
            if out.last().is_some_and(|(_, l)| !l.is_empty()) {
                out.push((0, Vec::new()));
            }
            continue;
        }
        let first = &toks[0];
        let closes = first.closer();
        // A line that starts with a method call or an operator continues
        // the one before, whatever that one ended with.
        let continues = [".", "?.", "+", "*", "/", "&&", "||", "??"]
            .iter()
            .any(|p| first.is(p));
        let fresh = prev_ended && !continues;
        let target: usize = match (stack.last(), closes) {
            (Some(o), Some(_)) if o.hanging => o.base,
            (Some(o), None) if o.hanging && fresh => o.base + 4,
            (Some(o), _) if !o.hanging => (orig as isize + o.shift).max(0) as usize,
            (None, None) if fresh => 0,
            // A continuation line moves with the line it continues.
            _ => (orig as isize + prev_shift).max(0) as usize,
        };
        // Trailing comma: a multi-line literal's last item before its
        // closing line.
        if let (Some(c), Some(o)) = (closes, stack.last()) {
            if o.literal && o.hanging && c == o.closer {
                if let Some((_, prev)) = out.iter_mut().rev().find(|(_, l)| {
                    l.iter()
                        .any(|t| !matches!(t, Tok::Space(_) | Tok::Comment(_)))
                }) {
                    let last = prev
                        .iter()
                        .rposition(|t| !matches!(t, Tok::Space(_) | Tok::Comment(_)));
                    if let Some(k) = last {
                        let t = &prev[k];
                        if !t.is(",") && t.opener().is_none() {
                            prev.insert(k + 1, Tok::Punct(",".into()));
                        }
                    }
                }
            }
        }
        let shift = target as isize - orig as isize;
        // Brackets this line opens and closes.
        let last_code = toks
            .iter()
            .rposition(|t| !matches!(t, Tok::Space(_) | Tok::Comment(_)));
        for (k, t) in toks.iter().enumerate() {
            if let Some(closer) = t.opener() {
                stack.push(Open {
                    closer,
                    hanging: Some(k) == last_code,
                    base: target,
                    shift,
                    literal: t.is("[") || t.is("#{"),
                });
            } else if let Some(c) = t.closer() {
                match stack.pop() {
                    Some(o) if o.closer == c => {}
                    _ => {
                        return Err(FormatError(format!(
                            "`{c}` does not close the bracket that is open there"
                        )))
                    }
                }
            }
        }
        // A line of comments only says nothing about the code around it.
        if toks
            .iter()
            .any(|t| !matches!(t, Tok::Space(_) | Tok::Comment(_)))
        {
            prev_ended = ends_item(&toks);
            prev_shift = shift;
        }
        out.push((target, space(toks)));
    }
    if !stack.is_empty() {
        return Err(FormatError("a bracket is not closed".into()));
    }
    while out.last().is_some_and(|(_, l)| l.is_empty()) {
        out.pop();
    }
    let mut text = String::new();
    for (indent, toks) in &out {
        if !toks.is_empty() {
            text.push_str(&" ".repeat(*indent));
            for t in toks {
                text.push_str(t.text());
            }
        }
        text.push('\n');
    }
    // The meaning is the input's, or nothing is written.
    let again = lex(&text)?;
    if meaning(&again) != meaning(&toks) {
        return Err(FormatError(
            "formatting would change the script's tokens (a bug in bp fmt): the file is left as it is".into(),
        ));
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::format;

    #[test]
    fn blocks_maps_and_arrays_indent_four_past_their_line() {
        let src = "let v = vpc(\"x\", #{\n  cidr:\"10.0.0.0/16\" ,\n      azs : 3\n});\nif true {\nprint(1);\n}\n";
        assert_eq!(
            format(src).unwrap(),
            "let v = vpc(\"x\", #{\n    cidr: \"10.0.0.0/16\",\n    azs: 3,\n});\nif true {\n    print(1);\n}\n"
        );
    }

    #[test]
    fn alignment_comments_and_strings_are_kept() {
        let src = "let x = #{\n    public:  [\"a\",\n              \"b\"],   // aligned\n    s: \"a , b :c\",\n    t: `x ${ f(1,2) } y`,\n};\n";
        assert_eq!(format(src).unwrap(), src);
    }

    #[test]
    fn aligned_lines_move_with_their_block() {
        let src = "fn f() {\n  let x = g(1,\n            2);\n}\n";
        assert_eq!(
            format(src).unwrap(),
            "fn f() {\n    let x = g(1,\n              2);\n}\n"
        );
    }

    #[test]
    fn continuation_lines_keep_their_extra_indent() {
        let src = "let s = \"a\"\n    + \"b\";\nlet t = 1;\n";
        assert_eq!(format(src).unwrap(), src);
        let chain = "fn f() {\n    let e = g(1)\n        .filter(|x| x)\n        .map(|x| x);\n}\n";
        assert_eq!(format(chain).unwrap(), chain);
    }

    #[test]
    fn blank_lines_collapse_and_the_file_ends_with_one_newline() {
        assert_eq!(format("a();\n\n\n\nb();\n\n\n").unwrap(), "a();\n\nb();\n");
    }

    #[test]
    fn it_is_idempotent_and_refuses_what_does_not_balance() {
        let once = format("let m = #{ a:1,b:[1,2] };\n").unwrap();
        assert_eq!(once, "let m = #{ a: 1, b: [1, 2] };\n");
        assert_eq!(format(&once).unwrap(), once);
        assert!(format("let a = [1, 2;\n").is_err());
        assert!(format("let s = \"open;\n").is_err());
        assert!(format("let m = #{ a: 1 ];\n").is_err());
    }
}
