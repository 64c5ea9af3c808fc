//! `bp output FILE [KEY] [--json]`: the outputs a blueprint published
//! (`output(key, value)` in its script) as its last apply left them in SSM
//! Parameter Store, for people and for shell scripts.

use super::cloud::{self, AwsArgs};
use super::ScriptArgs;
use anyhow::{bail, Result};
use clap::Args;

#[derive(Args, Debug)]
pub struct OutputArgs {
    #[command(flatten)]
    pub script: ScriptArgs,
    /// Only this output: a string printed as it is, anything else as JSON
    pub key: Option<String>,
    /// JSON: an object of every output, or the one value asked for
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub aws: AwsArgs,
}

pub fn run(a: &OutputArgs) -> Result<i32> {
    // The blueprint's name and region; no AWS is read to evaluate it.
    let eval = blueprint::script::evaluate(
        &a.script.file,
        &a.script.options_in(a.aws.profile.as_deref())?,
    )?;
    let rt = cloud::runtime()?;
    let cloud = rt.block_on(cloud::connect(&a.aws, &eval.region, &eval.name))?;
    let outputs = rt.block_on(blueprint::kinds::output::outputs_of(&cloud, &eval.name))?;
    if outputs.is_empty() {
        bail!(
            "blueprint {} has published no outputs in {} (nothing under {})\n  = hint: declare them with output(key, value) and apply",
            eval.name,
            eval.region,
            blueprint::kinds::output::path_of(&eval.name)
        );
    }
    let json = |v: &blueprint::model::Value| v.to_json().to_string();
    if let Some(key) = &a.key {
        let Some(o) = outputs.iter().find(|o| &o.key == key) else {
            let known: Vec<&str> = outputs.iter().map(|o| o.key.as_str()).collect();
            bail!(
                "blueprint {} has no output \"{key}\"\n  = hint: it publishes: {}",
                eval.name,
                known.join(", ")
            );
        };
        match (&o.value, a.json) {
            (blueprint::model::Value::Str(s), false) => println!("{s}"),
            (v, _) => println!("{}", json(v)),
        }
        return Ok(0);
    }
    if a.json {
        let all: serde_json::Map<String, serde_json::Value> = outputs
            .iter()
            .map(|o| (o.key.clone(), o.value.to_json()))
            .collect();
        println!("{}", serde_json::to_string_pretty(&all)?);
        return Ok(0);
    }
    println!("Outputs of blueprint {} in {}:", eval.name, eval.region);
    let width = outputs.iter().map(|o| o.key.len()).max().unwrap_or(0);
    for o in &outputs {
        let described = o
            .description
            .as_deref()
            .map(|d| format!("  # {d}"))
            .unwrap_or_default();
        println!("  {:width$} = {}{described}", o.key, json(&o.value));
    }
    Ok(0)
}
