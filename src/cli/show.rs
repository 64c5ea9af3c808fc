//! `bp show plan.json [--json | --format human|json|markdown]`: a plan
//! saved with `bp plan -o`, rendered for people (a CI log, a pull-request
//! comment) or as the plan JSON, with no AWS or Kubernetes call.

use anyhow::{Context, Result};
use blueprint::plan;
use clap::Args;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct ShowArgs {
    /// A plan saved with `bp plan -o`
    #[arg(value_hint = clap::ValueHint::FilePath)]
    pub plan: PathBuf,
    /// Print the plan JSON (as `bp plan --json`; the same as --format json)
    #[arg(long, conflicts_with = "format")]
    pub json: bool,
    /// How to print the plan: human (default), json, or markdown for a
    /// pull-request comment
    #[arg(long, value_enum)]
    pub format: Option<super::PlanFormat>,
    /// Also write the plan as one self-contained HTML report to this file
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
}

pub fn run(a: &ShowArgs) -> Result<i32> {
    let text = std::fs::read_to_string(&a.plan)
        .with_context(|| format!("cannot read {}", a.plan.display()))?;
    let plan = plan::load(&text).map_err(|e| anyhow::anyhow!("{}: {e}", a.plan.display()))?;
    super::print_plan(&plan, super::PlanFormat::chosen(a.format, a.json))?;
    if let Some(path) = &a.html {
        super::write_html(&plan, path)?;
    }
    Ok(0)
}
