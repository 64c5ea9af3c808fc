//! `bp check`: evaluate and validate, print resources per kind.

use super::ScriptArgs;
use anyhow::Result;
use clap::Args;

#[derive(Args, Debug)]
pub struct CheckArgs {
    #[command(flatten)]
    pub script: ScriptArgs,
    /// Print the resources as JSON
    #[arg(long)]
    pub json: bool,
}

pub fn run(a: &CheckArgs) -> Result<i32> {
    let eval = blueprint::script::evaluate(&a.script.file, &a.script.options()?)?;
    super::note_placeholders(&eval, "bp check");
    if a.json {
        let resources: Vec<_> = eval.graph.iter().map(|r| r.to_json()).collect();
        let existing: Vec<_> = eval.existing.iter().map(|r| r.to_json()).collect();
        println!(
            "{}",
            serde_json::to_string_pretty(
                &serde_json::json!({ "resources": resources, "existing": existing })
            )?
        );
        return Ok(0);
    }
    for (kind, n) in eval.graph.count_by_kind() {
        println!("{n:>5} {kind}");
    }
    for r in &eval.existing {
        println!(
            "      uses existing {} {}",
            r.kind(),
            r.str(blueprint::model::EXISTING).unwrap_or_default()
        );
    }
    println!(
        "ok: {} resources in {}",
        eval.graph.len(),
        a.script.file.display()
    );
    Ok(0)
}
