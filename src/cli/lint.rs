//! `bp lint`: the security rules over a blueprint, with no AWS call.

use super::ScriptArgs;
use anyhow::Result;
use blueprint::lint::{self, render, Date, Severity};
use clap::{Args, ValueEnum};

#[derive(Args, Debug)]
pub struct LintArgs {
    #[command(flatten)]
    pub script: ScriptArgs,
    /// Output: human (with source snippets), json, or sarif (SARIF 2.1.0, for CI annotations)
    #[arg(long, value_enum, default_value = "human")]
    pub format: LintFormat,
    /// Exit 1 when a finding not allowed reaches this level
    #[arg(long, value_enum, default_value = "error")]
    pub deny: DenyLevel,
    /// Also show the findings the blueprint allows, with their reasons
    #[arg(long)]
    pub show_suppressed: bool,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum LintFormat {
    Human,
    Json,
    Sarif,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum DenyLevel {
    Note,
    Warning,
    Error,
}

pub fn run(a: &LintArgs) -> Result<i32> {
    let eval = blueprint::script::evaluate(&a.script.file, &a.script.options()?)?;
    super::note_placeholders(&eval, "bp lint");
    let findings = lint::lint(&eval.graph, &eval.lint, &eval.sources, Date::today());
    let unused = lint::unused_allows(&eval.graph, &eval.lint, &findings, &eval.sources);
    match a.format {
        LintFormat::Human => print!(
            "{}",
            super::report_text(render::human(
                &findings,
                &unused,
                &eval.sources,
                eval.graph.len(),
                a.show_suppressed
            ))
        ),
        LintFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(&render::json(&findings, &unused, eval.graph.len()))?
        ),
        LintFormat::Sarif => println!(
            "{}",
            serde_json::to_string_pretty(&render::sarif(&findings))?
        ),
    }
    let level = match a.deny {
        DenyLevel::Note => Severity::Note,
        DenyLevel::Warning => Severity::Warning,
        DenyLevel::Error => Severity::Error,
    };
    Ok(if lint::denied(&findings, level) > 0 {
        1
    } else {
        0
    })
}
