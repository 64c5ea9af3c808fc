//! JUnit XML for CI (`bp test --junit FILE`), the common shape that
//! GitHub, GitLab and Jenkins read: one `<testsuite>` per file, one
//! `<testcase>` per test, `<failure>` for an assertion and `<error>` for
//! anything else, with the place and both values in the text.

use super::{FileResult, Outcome, Totals};
use std::fmt::Write;

/// Text as XML character data or an attribute value; characters XML 1.0
/// cannot hold are left out.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

/// The report of `results` as JUnit XML.
pub fn render(results: &[FileResult]) -> String {
    let t = Totals::of(results);
    let total: usize = results
        .iter()
        .map(|r| r.cases.len().max(usize::from(r.error.is_some())))
        .sum();
    let time: f64 = results.iter().map(|r| r.elapsed.as_secs_f64()).sum();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"bp test\" tests=\"{total}\" failures=\"{}\" errors=\"{}\" time=\"{time:.3}\">",
        t.failed, t.errors
    );
    for r in results {
        let file = escape(&r.path.to_string_lossy());
        let failures = r
            .cases
            .iter()
            .filter(|c| matches!(c.outcome, Outcome::Failed { .. }))
            .count();
        let errors = r
            .cases
            .iter()
            .filter(|c| matches!(c.outcome, Outcome::Error { .. }))
            .count()
            + usize::from(r.error.is_some());
        let tests = r.cases.len().max(usize::from(r.error.is_some()));
        let _ = writeln!(
            out,
            "  <testsuite name=\"{file}\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\" time=\"{:.3}\">",
            r.elapsed.as_secs_f64()
        );
        if let Some(e) = &r.error {
            let _ = writeln!(
                out,
                "    <testcase classname=\"{file}\" name=\"(compile)\" time=\"0.000\">\n      <error message=\"the file does not compile\">{}</error>\n    </testcase>",
                escape(e)
            );
        }
        for c in &r.cases {
            let _ = write!(
                out,
                "    <testcase classname=\"{file}\" name=\"{}\" time=\"{:.3}\"",
                escape(&c.name),
                c.elapsed.as_secs_f64()
            );
            match &c.outcome {
                Outcome::Passed => out.push_str("/>\n"),
                Outcome::Failed {
                    message,
                    left,
                    right,
                    line,
                    col,
                } => {
                    let mut text = format!("{file}:{line}:{col}: {message}");
                    if let Some(l) = left {
                        let _ = write!(text, "\nleft:  {l}");
                    }
                    if let Some(r) = right {
                        let _ = write!(text, "\nright: {r}");
                    }
                    let _ = writeln!(
                        out,
                        ">\n      <failure message=\"{}\" type=\"assertion\">{}</failure>\n    </testcase>",
                        escape(message),
                        escape(&text)
                    );
                }
                Outcome::Error { message, line, col } => {
                    let first = message.lines().next().unwrap_or_default();
                    let _ = writeln!(
                        out,
                        ">\n      <error message=\"{}\" type=\"error\">{}</error>\n    </testcase>",
                        escape(first),
                        escape(&format!("{file}:{line}:{col}: {message}"))
                    );
                }
            }
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_and_control_characters_never_break_the_document() {
        assert_eq!(escape("a<b & \"c\"\u{1}"), "a&lt;b &amp; &quot;c&quot;");
    }
}
