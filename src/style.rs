//! Colour for people at a terminal: plans (create green, update yellow,
//! replace magenta, delete red, context dim) and errors (`error:` red, the
//! caret and hints). The renderers write plain text; these functions colour
//! it line by line, so JSON and what goes to files or pipes never carry
//! escape codes.

const RESET: &str = "\x1b[0m";
const BOLD: &str = "\x1b[1m";
const DIM: &str = "\x1b[2m";
const RED: &str = "\x1b[31m";
const GREEN: &str = "\x1b[32m";
const YELLOW: &str = "\x1b[33m";
const MAGENTA: &str = "\x1b[35m";
const CYAN: &str = "\x1b[36m";

/// `--color auto|always|never`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Choice {
    Auto,
    Always,
    Never,
}

/// Whether to colour a stream: `always` and `never` decide; under `auto`,
/// `CLICOLOR_FORCE` (set, not `0`) forces colour, `NO_COLOR` (set, not
/// empty) turns it off, and otherwise colour goes only to a terminal.
pub fn enabled(choice: Choice, is_terminal: bool) -> bool {
    let set = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    match choice {
        Choice::Always => true,
        Choice::Never => false,
        Choice::Auto => {
            if set("CLICOLOR_FORCE").is_some_and(|v| v != "0") {
                true
            } else if set("NO_COLOR").is_some() {
                false
            } else {
                is_terminal
            }
        }
    }
}

fn paint(out: &mut String, color: &str, line: &str) {
    out.push_str(color);
    out.push_str(line);
    out.push_str(RESET);
    out.push('\n');
}

/// A human plan, coloured.
pub fn plan(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        let t = line.trim_start();
        let indent = line.len() - t.len();
        let color = if indent == 2 && t.starts_with("-/+ ") {
            MAGENTA
        } else if indent == 2 && t.starts_with("+ ") {
            GREEN
        } else if indent == 2 && t.starts_with("~ ") {
            YELLOW
        } else if indent == 2 && t.starts_with("- ") {
            RED
        } else if indent >= 8 && t.starts_with("+ ") {
            GREEN
        } else if indent >= 8 && t.starts_with("- ") {
            RED
        } else if indent >= 6 {
            DIM
        } else if t.starts_with("Plan:") || t.starts_with("Apply complete") {
            BOLD
        } else if t.starts_with("No changes.") {
            GREEN
        } else if t.starts_with("Apply failed") || t.starts_with("Not read:") {
            YELLOW
        } else {
            ""
        };
        if color.is_empty() {
            out.push_str(line);
            out.push('\n');
        } else {
            paint(&mut out, color, line);
        }
    }
    out
}

/// An error report, coloured: `error:` red and bold, carets red, hints cyan,
/// notes bold.
pub fn error(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        let t = line.trim_start();
        let finding = ["error[", "warning[", "note["]
            .iter()
            .find(|p| line.starts_with(*p))
            .and_then(|_| line.split_once(':'));
        if let Some(rest) = line.strip_prefix("error:") {
            out.push_str(&format!("{BOLD}{RED}error:{RESET}{BOLD}{rest}{RESET}\n"));
        } else if let Some((label, rest)) = finding {
            let color = match label.split('[').next() {
                Some("error") => RED,
                Some("warning") => YELLOW,
                _ => CYAN,
            };
            out.push_str(&format!(
                "{BOLD}{color}{label}:{RESET}{BOLD}{rest}{RESET}\n"
            ));
        } else if t.starts_with("= allowed:") {
            paint(&mut out, DIM, line);
        } else if t.starts_with("= hint:") {
            paint(&mut out, CYAN, line);
        } else if t.starts_with("note:") {
            paint(&mut out, BOLD, line);
        } else if t.starts_with('|') && t.contains('^') {
            paint(&mut out, RED, line);
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// The REPL's prompt: bold cyan.
pub fn prompt(text: &str) -> String {
    format!("{BOLD}{CYAN}{text}{RESET}")
}

/// A REPL result: a plan coloured as plans are, any other value cyan.
pub fn result(text: &str) -> String {
    if text.contains("\nPlan: ")
        || text.starts_with("No changes.")
        || text.contains("\nNo changes.")
    {
        return plan(text).trim_end_matches('\n').to_string();
    }
    text.lines()
        .map(|l| format!("{CYAN}{l}{RESET}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A hint shown after the cursor: dim.
pub fn hint(text: &str) -> String {
    format!("{DIM}{text}{RESET}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repl_prompt_results_and_hints_are_coloured() {
        assert_eq!(prompt("bp> "), "\x1b[1m\x1b[36mbp> \x1b[0m");
        assert_eq!(result("Vpc(vpc.a)"), "\x1b[36mVpc(vpc.a)\x1b[0m");
        assert!(
            result("Blueprint b in r: ...\n\n  + vpc.a\n\nPlan: 1 to add.\n")
                .contains("\x1b[32m  + vpc.a\x1b[0m")
        );
        assert_eq!(hint("  x"), "\x1b[2m  x\x1b[0m");
    }

    #[test]
    fn plans_are_coloured_by_action() {
        let text = "Blueprint b in r: ...\n\n  + vpc.a\n      cidr = \"10.0.0.0/16\"\n  ~ subnet.a/b\n  -/+ node_group.c/d  (replace: x)\n  - kms_key.k  (id: not declared)\n\nPlan: 1 to add.\n";
        let out = plan(text);
        assert!(out.contains("\x1b[32m  + vpc.a\x1b[0m"), "{out:?}");
        assert!(
            out.contains("\x1b[2m      cidr = \"10.0.0.0/16\"\x1b[0m"),
            "{out:?}"
        );
        assert!(out.contains("\x1b[33m  ~ subnet.a/b\x1b[0m"), "{out:?}");
        assert!(out.contains("\x1b[35m  -/+ node_group.c/d"), "{out:?}");
        assert!(out.contains("\x1b[31m  - kms_key.k"), "{out:?}");
        assert!(out.contains("\x1b[1mPlan: 1 to add.\x1b[0m"), "{out:?}");
    }

    #[test]
    fn errors_are_coloured() {
        let out = error("error: bad\n  |\n1 | x\n  | ^^^\n  = hint: fix it\n");
        assert!(
            out.starts_with("\x1b[1m\x1b[31merror:\x1b[0m\x1b[1m bad\x1b[0m\n"),
            "{out:?}"
        );
        assert!(out.contains("\x1b[31m  | ^^^\x1b[0m"), "{out:?}");
        assert!(out.contains("\x1b[36m  = hint: fix it\x1b[0m"), "{out:?}");
    }

    #[test]
    fn always_and_never_decide_whatever_the_terminal() {
        // Auto and the environment: `cli::colour_follows_the_flag_and_the_environment`.
        assert!(enabled(Choice::Always, false));
        assert!(!enabled(Choice::Never, true));
    }
}
