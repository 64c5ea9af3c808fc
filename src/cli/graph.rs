//! `bp graph`: the dependency graph as dot, Mermaid or JSON.

use super::{GraphFormat, ScriptArgs};
use anyhow::Result;
use blueprint::render;
use clap::Args;

#[derive(Args, Debug)]
pub struct GraphArgs {
    #[command(flatten)]
    pub script: ScriptArgs,
    /// Output format
    #[arg(long, value_enum, default_value = "dot")]
    pub format: GraphFormat,
}

pub fn run(a: &GraphArgs) -> Result<i32> {
    let eval = blueprint::script::evaluate(&a.script.file, &a.script.options()?)?;
    super::note_placeholders(&eval, "bp graph");
    match a.format {
        GraphFormat::Dot => print!("{}", render::dot(&eval.graph)),
        GraphFormat::Mermaid => print!("{}", render::mermaid(&eval.graph)),
        GraphFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(&render::json(&eval.graph))?
        ),
    }
    Ok(0)
}
