//! `bp cost`: the monthly on-demand estimate of a blueprint, with no AWS call.

use super::ScriptArgs;
use anyhow::Result;
use blueprint::cost::{self, render};
use clap::Args;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct CostArgs {
    #[command(flatten)]
    pub script: ScriptArgs,
    /// Print the estimate as JSON
    #[arg(long)]
    pub json: bool,
    /// A price table (from scripts/update-prices) [default: the one built in]
    #[arg(long, value_name = "FILE.json")]
    pub prices: Option<PathBuf>,
}

pub fn run(a: &CostArgs) -> Result<i32> {
    let prices = super::cloud::prices(a.prices.as_deref())?;
    let eval = blueprint::script::evaluate(&a.script.file, &a.script.options()?)?;
    super::note_placeholders(&eval, "bp cost");
    let b = cost::breakdown_in(
        eval.graph.iter().map(|r| (&r.address, &r.spec)),
        |a| eval.graph.region_of(a, &eval.region),
        &prices,
        blueprint::lint::Date::today(),
    );
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&render::json(&b, &eval.region, &prices))?
        );
    } else {
        print!(
            "{}",
            render::human(
                &b,
                &a.script.file.display().to_string(),
                &eval.region,
                &prices
            )
        );
    }
    Ok(0)
}
