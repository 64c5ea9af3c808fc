//! `bp plan`: the difference between the blueprint and AWS.

use super::cloud::{self, AwsArgs};
use super::ScriptArgs;
use anyhow::Result;
use blueprint::plan::render;
use clap::Args;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct PlanArgs {
    #[command(flatten)]
    pub script: ScriptArgs,
    #[command(flatten)]
    pub aws: AwsArgs,
    /// Print the plan as JSON
    #[arg(long)]
    pub json: bool,
    /// Save the plan (JSON, under any name), to apply exactly this later
    /// with `bp apply FILE`
    #[arg(short = 'o', long = "out", value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Exit 0 when there is nothing to do, 2 when there are changes, 1 on errors
    #[arg(long)]
    pub detailed_exitcode: bool,
    #[command(flatten)]
    pub choice: cloud::ChoiceArgs,
    /// Let --replace replace protected resources
    #[arg(long)]
    pub include_protected: bool,
}

pub fn run(a: &PlanArgs) -> Result<i32> {
    let rt = cloud::runtime()?;
    let choice = a.choice.parse(a.include_protected)?;
    let plan = cloud::make_plan(&rt, &a.script, &a.aws, &choice)?.plan;
    if a.json {
        println!("{}", super::plan_json(&plan)?);
    } else {
        print!("{}", super::plan_text(render::human(&plan)));
    }
    if let Some(out) = &a.out {
        cloud::write_private(out, &super::plan_json(&plan)?)?;
        if !a.json {
            println!(
                "Saved the plan to {}: apply it with `bp apply {}`.",
                out.display(),
                out.display()
            );
        }
    }
    Ok(if a.detailed_exitcode && plan.has_changes() {
        2
    } else {
        0
    })
}
