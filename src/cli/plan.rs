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
    pub fleet: super::fleet::FleetArgs,
    #[command(flatten)]
    pub aws: AwsArgs,
    /// Print the plan as JSON (the same as --format json)
    #[arg(long, conflicts_with = "format")]
    pub json: bool,
    /// How to print the plan: human (default), json, or markdown for a
    /// pull-request comment
    #[arg(long, value_enum)]
    pub format: Option<super::PlanFormat>,
    /// Also write the plan as one self-contained HTML report (changes,
    /// dependency graph, cost per kind, findings) to this file
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
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
    /// Show only drift: what changed outside Blueprint since the last
    /// apply. Exit 2 when there is any, 0 when there is none (a nightly
    /// CI job)
    #[arg(long, conflicts_with_all = ["out", "detailed_exitcode"])]
    pub drift: bool,
}

pub fn run(a: &PlanArgs) -> Result<i32> {
    let rt = cloud::runtime()?;
    let choice = a.choice.parse(a.include_protected)?;
    if let Some(files) = a.fleet.files(&a.script.file)? {
        if a.out.is_some()
            || a.html.is_some()
            || a.drift
            || a.format == Some(super::PlanFormat::Markdown)
        {
            anyhow::bail!(
                "-o, --html, --drift and --format markdown are for one blueprint: plan each alone for them"
            );
        }
        let members = super::fleet::members(&files, &a.script, &a.aws)?;
        let json = super::PlanFormat::chosen(a.format, a.json) == super::PlanFormat::Json;
        let changes = super::fleet::plan(&rt, &members, &a.script, &a.aws, &choice, json)?;
        return Ok(if a.detailed_exitcode && changes { 2 } else { 0 });
    }
    let plan = cloud::make_plan(&rt, &a.script, &a.aws, &choice)?.plan;
    let format = super::PlanFormat::chosen(a.format, a.json);
    if a.drift {
        return drift(plan, format == super::PlanFormat::Json);
    }
    super::print_plan(&plan, format)?;
    if let Some(path) = &a.html {
        super::write_html(&plan, path)?;
    }
    if let Some(out) = &a.out {
        cloud::write_private(out, &super::plan_json(&plan)?)?;
        if format == super::PlanFormat::Human {
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

/// `bp plan --drift`: only the changes that undo edits made outside
/// Blueprint.
fn drift(plan: blueprint::plan::Plan, json: bool) -> Result<i32> {
    let view = blueprint::plan::origin::only_drift(plan);
    let drifted = view.plan.changes.len();
    if json {
        let mut v = render::json(&view.plan);
        v["drift"] = serde_json::json!({
            "changes": drifted,
            "declared": view.declared,
            "unlabelled": view.unlabelled,
        });
        println!(
            "{}",
            blueprint::redact::redact(&serde_json::to_string_pretty(&v)?)
        );
    } else {
        let mut text = String::new();
        if drifted > 0 {
            text.push_str(&render::human(&view.plan));
            text.push_str(&format!(
                "Drift: {drifted} resource(s) changed outside Blueprint since the last apply; `bp apply` puts them back as declared.\n"
            ));
        } else {
            text.push_str("No drift: nothing changed outside Blueprint since the last apply.\n");
        }
        if view.declared > 0 {
            text.push_str(&format!(
                "Not shown: {} change(s) the blueprint itself declares.\n",
                view.declared
            ));
        }
        if view.unlabelled > 0 {
            text.push_str(&format!(
                "Not told: {} change(s) have no record of their last apply, so whether they are drift is unknown.\n",
                view.unlabelled
            ));
        }
        print!("{}", super::plan_text(text));
    }
    Ok(if drifted > 0 { 2 } else { 0 })
}
