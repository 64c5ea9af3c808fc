//! Findings for people (the error renderer), for scripts (JSON), for CI
//! systems (SARIF 2.1.0), for plans (one line each), and the rule reference
//! (docs/RULES.md).

use super::{rules, Finding, Severity};
use crate::diagnostic::{Diagnostic, Sources};
use std::fmt::Write;

fn label(f: &Finding) -> String {
    format!("{}[{}]", f.severity.as_str(), f.rule)
}

/// One finding as the error renderer shows errors: message, the option's
/// line with a caret, the calls that led there, the hint, and the reason
/// it is allowed.
pub fn finding(f: &Finding, sources: &Sources) -> String {
    let mut frames: Vec<_> = f.location.iter().cloned().collect();
    frames.extend(f.called_from.iter().cloned());
    let mut out = Diagnostic::new(&f.message)
        .at(frames)
        .with_hint(f.hint.clone())
        .render_as(sources, &label(f));
    if let Some(reason) = &f.suppressed {
        let _ = writeln!(out, "  = allowed: {reason}");
    }
    out
}

/// Counts by severity of the findings not allowed, and how many are allowed.
pub fn counts(findings: &[Finding]) -> (usize, usize, usize, usize) {
    let open = || findings.iter().filter(|f| f.suppressed.is_none());
    let n = |s| open().filter(|f| f.severity == s).count();
    (
        n(Severity::Error),
        n(Severity::Warning),
        n(Severity::Note),
        findings.len() - open().count(),
    )
}

fn plural(n: usize, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

pub fn summary(findings: &[Finding], resources: usize) -> String {
    let (e, w, n, allowed) = counts(findings);
    let allowed = if allowed > 0 {
        format!(" ({} allowed)", allowed)
    } else {
        String::new()
    };
    if e + w + n == 0 {
        format!(
            "No findings: {} checked against {}{allowed}.",
            plural(resources, "resource"),
            plural(rules().len(), "rule")
        )
    } else {
        format!(
            "{}: {}, {}, {}{allowed}.",
            plural(e + w + n, "finding"),
            plural(e, "error"),
            plural(w, "warning"),
            plural(n, "note")
        )
    }
}

/// `bp lint`: each finding (allowed ones with `show_suppressed`), then the
/// summary, then the allows that suppress nothing.
pub fn human(
    findings: &[Finding],
    unused: &[super::Unused],
    sources: &Sources,
    resources: usize,
    show_suppressed: bool,
) -> String {
    let mut out = String::new();
    for f in findings
        .iter()
        .filter(|f| show_suppressed || f.suppressed.is_none())
    {
        out.push_str(&finding(f, sources));
        out.push('\n');
    }
    out.push_str(&summary(findings, resources));
    out.push('\n');
    for u in unused {
        let at = u
            .location
            .as_ref()
            .map(|s| format!(" ({s})"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "note: the allow of {} suppresses nothing{at}: remove it if the risk is gone",
            u.rule
        );
    }
    out
}

/// The findings under a plan: one line each, with where.
pub fn plan_lines(findings: &[Finding]) -> String {
    let mut out = String::new();
    let open: Vec<&Finding> = findings.iter().filter(|f| f.suppressed.is_none()).collect();
    if open.is_empty() {
        return out;
    }
    let _ = writeln!(
        out,
        "Findings for what this plan creates or changes (bp lint shows them in full):"
    );
    for f in open {
        let at = f
            .location
            .as_ref()
            .map(|s| format!("  ({s})"))
            .unwrap_or_default();
        let _ = writeln!(out, "  {}: {}{at}", label(f), f.message);
    }
    out
}

pub fn json(findings: &[Finding], unused: &[super::Unused], resources: usize) -> serde_json::Value {
    let (e, w, n, allowed) = counts(findings);
    serde_json::json!({
        "format_version": 1,
        "findings": findings,
        "unused_allows": unused,
        "summary": { "error": e, "warning": w, "note": n, "allowed": allowed },
        "resources": resources,
        "rules": rules().len(),
    })
}

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Note => "note",
    }
}

/// A path as a SARIF artifact URI: relative to the current folder when it
/// is inside it (code-scanning systems resolve those against the
/// repository), else a `file://` URI; percent-encoded.
fn uri(source: &str) -> String {
    let path = std::path::Path::new(source);
    let relative = if path.is_absolute() {
        std::env::current_dir()
            .ok()
            .and_then(|cwd| path.strip_prefix(cwd).ok().map(|p| p.to_path_buf()))
    } else {
        Some(path.to_path_buf())
    };
    let (prefix, path) = match relative {
        Some(p) => ("", p),
        None => ("file://", path.to_path_buf()),
    };
    let text = path.to_string_lossy().replace('\\', "/");
    let text = text.trim_start_matches("./");
    let mut out = String::from(prefix);
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"/-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A rule's title as an identifier (`EksApiEndpointOpenToTheInternet`).
fn rule_name(title: &str) -> String {
    title
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| {
                    format!(
                        "{}{}",
                        f.to_ascii_uppercase(),
                        c.as_str().to_ascii_lowercase()
                    )
                })
                .unwrap_or_default()
        })
        .collect()
}

fn physical(s: &crate::model::Span) -> serde_json::Value {
    serde_json::json!({
        "artifactLocation": { "uri": uri(&s.source) },
        "region": { "startLine": s.line, "startColumn": s.col },
    })
}

/// SARIF 2.1.0: one run, the rule table as the driver's rules, allowed
/// findings as results with an in-source suppression and its reason.
pub fn sarif(findings: &[Finding]) -> serde_json::Value {
    let table: Vec<_> = rules()
        .iter()
        .map(|r| {
            serde_json::json!({
                "id": r.id,
                "name": rule_name(r.title),
                "shortDescription": { "text": r.title },
                "fullDescription": { "text": r.rationale },
                "help": { "text": r.fix, "markdown": r.fix },
                "defaultConfiguration": { "level": level(r.severity) },
                "properties": { "tags": ["security"] },
            })
        })
        .collect();
    let results: Vec<_> = findings
        .iter()
        .map(|f| {
            let index = rules().iter().position(|r| r.id == f.rule).unwrap_or(0);
            let mut message = f.message.clone();
            if let Some(h) = &f.hint {
                message.push_str(&format!(" (hint: {h})"));
            }
            let mut v = serde_json::json!({
                "ruleId": f.rule,
                "ruleIndex": index,
                "level": level(f.severity),
                "message": { "text": message },
            });
            // The annotation goes on the user's file: a finding about a
            // resource a stdlib function declares points at the call of it,
            // with the stdlib line as a related location.
            let frames: Vec<&crate::model::Span> =
                f.location.iter().chain(f.called_from.iter()).collect();
            let primary = frames
                .iter()
                .position(|s| !s.source.starts_with("stdlib/"))
                .unwrap_or(0);
            if let Some(s) = frames.get(primary) {
                v["locations"] = serde_json::json!([{
                    "physicalLocation": physical(s),
                    "logicalLocations": [{ "name": f.address.to_string(), "kind": "resource" }],
                }]);
            }
            let related: Vec<_> = frames
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != primary)
                .map(|(i, s)| serde_json::json!({
                    "id": i,
                    "physicalLocation": physical(s),
                    "message": { "text": if i == 0 { "where the resource is declared" } else { "called from here" } },
                }))
                .collect();
            if !related.is_empty() {
                v["relatedLocations"] = serde_json::json!(related);
            }
            if let Some(reason) = &f.suppressed {
                v["suppressions"] =
                    serde_json::json!([{ "kind": "inSource", "justification": reason }]);
            }
            v
        })
        .collect();
    serde_json::json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "blueprint",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": table,
            }},
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    })
}

/// docs/RULES.md.
pub fn rules_markdown() -> String {
    let mut out = String::from(
        "# Lint rules\n\n\
         Generated from `src/lint/rules.rs`; `BLESS=1 cargo test --lib rules_doc` refreshes it.\n\n\
         `bp lint FILE` checks a blueprint's desired state against these rules without any AWS call \
         (`--format human|json|sarif`, `--deny warning|error`, `--show-suppressed`). `bp plan` shows the \
         findings about what it would create or change, after the diff, and `bp plan --json` carries them.\n\n\
         A finding points at the option that causes it (or at the declaration when the option is missing). \
         To accept one, say why in the blueprint:\n\n\
         ```rhai\n\
         allow(\"BP004\", \"bastion SSH is restricted by the VPN, see ADR-12\");       // the whole blueprint\n\
         security_group(vpc, \"bastion\", #{ ingress: [...], allow: #{ BP004: \"VPN only, ADR-12\" } });  // one call\n\
         ```\n\n\
         An `allow` in a constructor's options covers every resource that call declares (a VPC's NAT gateways). \
         Allowed findings are left out of the output and the exit code; `bp lint --show-suppressed` lists them \
         with their reasons, and SARIF carries them as suppressed results.\n\n\
         Severities: `error`, `warning`, `note`. `bp lint` exits 1 when a finding not allowed reaches the \
         `--deny` level (default `error`).\n\n\
         Rules about production (BP007, BP013) apply when the blueprint looks like production: a `var` named \
         `env`, `environment` or `stage` read as `prod` or `production`, or a tag with such a key and value.\n\n\
         | Rule | Title | Severity |\n|---|---|---|\n",
    );
    for r in rules() {
        let _ = writeln!(
            out,
            "| [{}](#{}) | {} | {} |",
            r.id,
            r.id.to_ascii_lowercase(),
            r.title,
            r.severity.as_str()
        );
    }
    for r in rules() {
        let _ = write!(
            out,
            "\n## {}\n\n**{}** ({})\n\n{}\n\n**Fix:** {}\n",
            r.id,
            r.title,
            r.severity.as_str(),
            r.rationale,
            r.fix
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_doc_is_current() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/RULES.md");
        let text = rules_markdown();
        if std::env::var_os("BLESS").is_some() {
            std::fs::write(path, &text).unwrap();
        }
        let current = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            current == text,
            "docs/RULES.md is out of date: run BLESS=1 cargo test --lib rules_doc"
        );
    }

    #[test]
    fn sarif_names_and_uris() {
        assert_eq!(
            rule_name("EKS API endpoint open to the internet"),
            "EksApiEndpointOpenToTheInternet"
        );
        assert_eq!(
            rule_name("SSH or RDP open to the internet"),
            "SshOrRdpOpenToTheInternet"
        );
        assert_eq!(uri("blueprints/my pms.rhai"), "blueprints/my%20pms.rhai");
        let cwd = std::env::current_dir().unwrap();
        assert_eq!(uri(&cwd.join("b/x.rhai").to_string_lossy()), "b/x.rhai");
        assert_eq!(uri("/elsewhere/x.rhai"), "file:///elsewhere/x.rhai");
    }

    #[test]
    fn rule_ids_are_unique_and_in_order() {
        for (i, r) in rules().iter().enumerate() {
            assert_eq!(r.id, format!("BP{:03}", i + 1));
        }
    }
}
