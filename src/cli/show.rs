//! `bp show plan.json [--json]`: a plan saved with `bp plan -o`, rendered
//! for people (a CI review comment) or as the plan JSON, with no AWS or
//! Kubernetes call.

use anyhow::{Context, Result};
use blueprint::plan::{render, Plan};
use clap::Args;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct ShowArgs {
    /// A plan saved with `bp plan -o`
    #[arg(value_hint = clap::ValueHint::FilePath)]
    pub plan: PathBuf,
    /// Print the plan JSON (as `bp plan --json`)
    #[arg(long)]
    pub json: bool,
}

pub fn run(a: &ShowArgs) -> Result<i32> {
    let text = std::fs::read_to_string(&a.plan)
        .with_context(|| format!("cannot read {}", a.plan.display()))?;
    let plan: Plan = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a plan saved by `bp plan -o`", a.plan.display()))?;
    if a.json {
        println!("{}", super::plan_json(&plan)?);
    } else {
        print!("{}", super::plan_text(render::human(&plan)));
    }
    Ok(0)
}
