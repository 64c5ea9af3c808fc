//! When is typed input complete? An open `(`, `[`, `{` / `#{`, a string or a
//! block comment means more lines follow.

/// Whether `text` can be evaluated as it is (or is broken beyond repair, in
/// which case evaluating it reports the error).
pub fn is_complete(text: &str) -> bool {
    let mut depth: i64 = 0;
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '/' if chars.get(i + 1) == Some(&'/') => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            '/' if chars.get(i + 1) == Some(&'*') => {
                i += 2;
                loop {
                    if i + 1 >= chars.len() {
                        return false;
                    }
                    if chars[i] == '*' && chars[i + 1] == '/' {
                        i += 1;
                        break;
                    }
                    i += 1;
                }
            }
            '"' | '`' => {
                let quote = c;
                i += 1;
                loop {
                    if i >= chars.len() {
                        return false;
                    }
                    if chars[i] == '\\' {
                        i += 1;
                    } else if chars[i] == quote {
                        break;
                    }
                    i += 1;
                }
            }
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth -= 1,
            _ => {}
        }
        i += 1;
    }
    depth <= 0
}

/// The unclosed brackets before the end of `text`, innermost last, each with
/// its position.
pub fn open_brackets(text: &str) -> Vec<(char, usize)> {
    let mut stack = Vec::new();
    let bytes: Vec<(usize, char)> = text.char_indices().collect();
    let mut i = 0;
    while i < bytes.len() {
        let (pos, c) = bytes[i];
        match c {
            '"' | '`' => {
                i += 1;
                while i < bytes.len() && bytes[i].1 != c {
                    if bytes[i].1 == '\\' {
                        i += 1;
                    }
                    i += 1;
                }
            }
            '/' if bytes.get(i + 1).map(|b| b.1) == Some('/') => {
                while i < bytes.len() && bytes[i].1 != '\n' {
                    i += 1;
                }
            }
            '(' | '[' | '{' => stack.push((c, pos)),
            ')' | ']' | '}' => {
                stack.pop();
            }
            _ => {}
        }
        i += 1;
    }
    stack
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brackets_strings_and_comments() {
        assert!(is_complete("let x = 1;"));
        assert!(!is_complete("let v = vpc(\"a\", #{"));
        assert!(!is_complete("let s = \"open"));
        assert!(is_complete("let s = \"(\";"));
        assert!(is_complete("// (\nlet a = 1;"));
        assert!(!is_complete("/* (\n"));
        assert!(is_complete("f(\"a\\\"b\")"));
        assert!(
            is_complete("x)"),
            "too many closers is an error for the evaluator"
        );
        assert!(!is_complete("fn f() {\n  1"));
    }

    #[test]
    fn open_brackets_innermost_last() {
        let t = "c.node_group(\"x\", #{ min: 1, ";
        let open = open_brackets(t);
        assert_eq!(open.iter().map(|(c, _)| *c).collect::<String>(), "({");
        assert_eq!(&t[..open[0].1], "c.node_group");
    }
}
