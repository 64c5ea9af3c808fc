//! Security checks over the desired state, before any AWS call: a rule set
//! with stable ids (`BP001`...), each with a severity, a rationale and a fix
//! (docs/RULES.md is generated from [`rules()`], which the kinds hand down). Findings point at the
//! option that causes them, in the same renderer as errors. A blueprint
//! allows a rule with a reason, for itself (`allow("BP004", "why")`) or for
//! one resource (`allow: #{ BP004: "why" }` in its options); the reason is
//! kept and shown by `bp lint --show-suppressed`.

pub mod check;
pub mod date;
pub mod render;
pub mod rules;
pub mod versions;

pub use date::Date;
pub use rules::{rules, Rule, RULE_LISTS};

/// Whether a cluster of a Kubernetes version is billed for EKS extended
/// support on a day (in it, or past it).
pub fn versions_extended(version: &str, today: Date) -> bool {
    versions::extended(version, today)
}

use crate::diagnostic::Sources;
use crate::model::{names::suggest, Address, Graph, Problem, Span};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How much a finding matters; `--deny` takes a level.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Note,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Note => "note",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// A rule allowed for the whole blueprint by `allow(rule, reason)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Allow {
    pub rule: String,
    pub reason: String,
    pub at: Option<Span>,
}

/// What lint needs from a script's run beyond the graph.
#[derive(Clone, Debug, Default)]
pub struct Facts {
    /// Every `var(...)` read, with the value it got.
    pub vars: BTreeMap<String, String>,
    /// `tags(...)`: the blueprint's default tags at the end of the run.
    pub default_tags: BTreeMap<String, String>,
    pub allows: Vec<Allow>,
    /// What exists outside the blueprint and it refers to
    /// (`existing_vpc(...).subnets(...)`): references to them are ids in
    /// the graph.
    pub existing: Vec<crate::model::Resource>,
}

/// One rule's finding about one resource.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub rule: String,
    pub severity: Severity,
    pub title: String,
    pub address: Address,
    pub message: String,
    /// The option that causes it, or the resource's declaration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Span>,
    /// The calls that led to the declaration (a stdlib function's caller).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub called_from: Vec<Span>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// Why the blueprint allows it, when it does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suppressed: Option<String>,
}

/// What a rule's check reports: the resource, what is wrong, and the
/// option that causes it (to point at).
#[derive(Clone, Debug, PartialEq)]
pub struct Hit {
    pub address: Address,
    pub message: String,
    pub option: Option<&'static str>,
    pub hint: Option<String>,
}

impl Hit {
    pub fn new(address: &Address, message: impl Into<String>) -> Hit {
        Hit {
            address: address.clone(),
            message: message.into(),
            option: None,
            hint: None,
        }
    }

    pub fn at(mut self, option: &'static str) -> Hit {
        self.option = Some(option);
        self
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Hit {
        self.hint = Some(hint.into());
        self
    }
}

/// What every check sees.
pub struct Ctx<'a> {
    pub graph: &'a Graph,
    pub facts: &'a Facts,
    pub today: Date,
    /// Why the blueprint looks like production, if it does.
    pub production: Option<String>,
}

/// Runs every rule over a desired graph. Findings are in rule order, then
/// in the graph's order; suppressed ones carry their reason.
pub fn lint(graph: &Graph, facts: &Facts, sources: &Sources, today: Date) -> Vec<Finding> {
    let ctx = Ctx {
        graph,
        facts,
        today,
        production: production(graph, facts),
    };
    let mut out = Vec::new();
    for rule in rules() {
        let mut hits = Vec::new();
        (rule.check)(&ctx, &mut hits);
        for h in hits {
            out.push(finding(rule, h, &ctx, sources));
        }
    }
    out
}

fn finding(rule: &Rule, h: Hit, ctx: &Ctx, sources: &Sources) -> Finding {
    let resource = ctx.graph.get(&h.address);
    let mut frames = resource
        .map(|r| r.origin.frames.clone())
        .unwrap_or_default();
    if let (Some(first), Some(option)) = (frames.first_mut(), h.option) {
        if let Some(at) = sources.locate_option(first, option) {
            *first = at;
        }
    }
    let suppressed = resource
        .and_then(|r| r.allow.get(rule.id).cloned())
        .or_else(|| {
            ctx.facts
                .allows
                .iter()
                .find(|a| a.rule == rule.id)
                .map(|a| a.reason.clone())
        });
    let mut frames = frames.into_iter();
    Finding {
        rule: rule.id.to_string(),
        severity: rule.severity,
        title: rule.title.to_string(),
        address: h.address,
        message: h.message,
        location: frames.next(),
        called_from: frames.collect(),
        hint: h.hint,
        suppressed,
    }
}

/// Why the blueprint looks like production: a var named env, environment
/// or stage read as prod or production, or such a tag.
pub fn production(graph: &Graph, facts: &Facts) -> Option<String> {
    let env_key = |k: &str| {
        matches!(
            k.to_ascii_lowercase().as_str(),
            "env" | "environment" | "stage"
        )
    };
    let prod = |v: &str| matches!(v.to_ascii_lowercase().as_str(), "prod" | "production");
    if let Some((k, v)) = facts.vars.iter().find(|(k, v)| env_key(k) && prod(v)) {
        return Some(format!("var `{k}` is \"{v}\""));
    }
    if let Some((k, v)) = facts
        .default_tags
        .iter()
        .find(|(k, v)| env_key(k) && prod(v))
    {
        return Some(format!("the blueprint's tag {k}={v}"));
    }
    for r in graph.iter() {
        if let Some(tags) = r.get("tags").and_then(|t| t.as_map()) {
            for (k, v) in tags {
                if let Some(v) = v.as_str().filter(|v| env_key(k) && prod(v)) {
                    return Some(format!("{} has the tag {k}={v}", r.address));
                }
            }
        }
    }
    None
}

/// Checks an `allow` entry: a known rule id and a reason.
pub fn check_allow(id: &str, reason: &rhai::Dynamic) -> Result<String, Problem> {
    if !rules().iter().any(|r| r.id == id) {
        let hint = match suggest(id, rules().iter().map(|r| r.id)) {
            Some(s) => format!("did you mean `{s}`? docs/RULES.md lists the rules"),
            None => "rules are BP001 to BP0NN; docs/RULES.md lists them"
                .replace("BP0NN", rules().last().map(|r| r.id).unwrap_or("BP001")),
        };
        return Err(Problem::new(format!("`{id}` is not a lint rule")).hint(hint));
    }
    match reason.read_lock::<rhai::ImmutableString>() {
        Some(s) if !s.trim().is_empty() => Ok(s.trim().to_string()),
        _ => Err(Problem::new(format!(
            "allowing {id} needs a reason, as a non-empty string"
        ))
        .hint(format!(
            "say why it is fine here: allow(\"{id}\", \"bastion SSH is restricted by the VPN, see ADR-12\")"
        ))),
    }
}

/// An allow that suppresses nothing (the risk it accepted is gone, or the
/// blueprint changed): worth removing, so that it hides nothing later.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Unused {
    pub rule: String,
    /// Where it is written: the `allow(...)` call, or the `allow` option.
    pub location: Option<Span>,
}

/// The blueprint's allows that suppress no finding.
pub fn unused_allows(
    graph: &Graph,
    facts: &Facts,
    findings: &[Finding],
    sources: &Sources,
) -> Vec<Unused> {
    let mut out = Vec::new();
    for a in &facts.allows {
        if !findings.iter().any(|f| f.rule == a.rule) {
            out.push(Unused {
                rule: a.rule.clone(),
                location: a.at.clone(),
            });
        }
    }
    // A constructor's allow covers every resource its call declares: it is
    // used when a finding about any of them carries it.
    let call = |a: &Address| graph.get(a).and_then(|r| r.origin.primary().cloned());
    let mut seen = std::collections::BTreeSet::new();
    for r in graph.iter() {
        let at = r.origin.primary().cloned();
        for rule in r.allow.keys() {
            let key = (rule.clone(), at.as_ref().map(|s| s.to_string()));
            if !seen.insert(key) {
                continue;
            }
            let used = findings
                .iter()
                .any(|f| &f.rule == rule && f.suppressed.is_some() && call(&f.address) == at);
            if !used {
                out.push(Unused {
                    rule: rule.clone(),
                    location: at.as_ref().map(|s| {
                        sources
                            .locate_option(s, "allow")
                            .unwrap_or_else(|| s.clone())
                    }),
                });
            }
        }
    }
    out
}

/// The findings that fail a `--deny` level: unsuppressed, at or above it.
pub fn denied(findings: &[Finding], level: Severity) -> usize {
    findings
        .iter()
        .filter(|f| f.suppressed.is_none() && f.severity >= level)
        .count()
}

#[cfg(test)]
mod tests;
