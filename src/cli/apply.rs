//! `bp apply`: make AWS match a blueprint, or apply a saved plan exactly;
//! `bp destroy`: delete everything a blueprint owns.

use super::cloud::{self, AwsArgs};
use super::ScriptArgs;
use anyhow::{bail, Context, Result};
use blueprint::apply::{self, OpKind, Report};
use blueprint::model::Graph;
use blueprint::plan::{self, render, Plan};
use clap::Args;
use std::time::Instant;

#[derive(Args, Debug)]
pub struct ApplyArgs {
    #[command(flatten)]
    pub script: ScriptArgs,
    #[command(flatten)]
    pub aws: AwsArgs,
    /// Apply without asking
    #[arg(long)]
    pub auto_approve: bool,
    /// How many changes run at once
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u16).range(1..=100))]
    pub parallelism: u16,
}

#[derive(Args, Debug)]
pub struct DestroyArgs {
    #[command(flatten)]
    pub script: ScriptArgs,
    #[command(flatten)]
    pub aws: AwsArgs,
    /// Destroy without asking
    #[arg(long)]
    pub auto_approve: bool,
    /// How many deletions run at once
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u16).range(1..=100))]
    pub parallelism: u16,
}

fn is_saved_plan(path: &std::path::Path) -> bool {
    path.extension().is_some_and(|e| e == "json")
}

pub fn run(a: &ApplyArgs) -> Result<i32> {
    let rt = cloud::runtime()?;
    rt.block_on(async {
        let (plan, cloud) = if is_saved_plan(&a.script.file) {
            saved(a).await?
        } else {
            let (plan, cloud) = cloud::make_plan(&a.script, &a.aws).await?;
            print!("{}", render::human(&plan));
            if plan.has_changes() && !cloud::confirm("apply these changes", a.auto_approve)? {
                println!("Apply cancelled.");
                return Ok(1);
            }
            (plan, cloud)
        };
        if !plan.has_changes() {
            return Ok(0);
        }
        execute(&cloud, &plan, a.parallelism.into(), a.aws.verbose).await
    })
}

/// Loads a saved plan and checks that live state has not moved since.
async fn saved(a: &ApplyArgs) -> Result<(Plan, blueprint::providers::Cloud)> {
    let text = std::fs::read_to_string(&a.script.file)
        .with_context(|| format!("cannot read {}", a.script.file.display()))?;
    let plan: Plan = serde_json::from_str(&text).with_context(|| {
        format!(
            "{} is not a plan saved by `bp plan -o`",
            a.script.file.display()
        )
    })?;
    let cloud = cloud::connect(&a.aws, &plan.region, &plan.blueprint).await;
    let live = cloud::read_live(&cloud, &a.aws).await?;
    if plan::fingerprint(&live) != plan.fingerprint {
        bail!(
            "the saved plan {} is stale: what exists in AWS changed since it was made; run `bp plan` again",
            a.script.file.display()
        );
    }
    let s = plan.summary();
    println!(
        "Applying the saved plan {}: {} to add, {} to change, {} to replace, {} to destroy.",
        a.script.file.display(),
        s.add,
        s.change,
        s.replace,
        s.destroy
    );
    Ok((plan, cloud))
}

async fn execute(
    cloud: &blueprint::providers::Cloud,
    plan: &Plan,
    parallelism: usize,
    verbose: bool,
) -> Result<i32> {
    let start = Instant::now();
    let before = cloud.requests.get();
    let report = apply::apply(cloud, plan, parallelism, |line| println!("{line}")).await;
    print_report(&report);
    if verbose {
        eprintln!(
            "applied in {:.1} s with {} AWS requests",
            start.elapsed().as_secs_f64(),
            cloud.requests.get() - before
        );
    }
    Ok(if report.ok() { 0 } else { 1 })
}

fn print_report(r: &Report) {
    let count = |k: OpKind| r.done.iter().filter(|d| d.kind == k).count();
    if r.ok() {
        println!(
            "\nApply complete: {} created, {} updated, {} deleted.",
            count(OpKind::Create),
            count(OpKind::Update),
            count(OpKind::Delete)
        );
        return;
    }
    println!("\nApply failed.");
    for (a, k, e) in &r.failed {
        println!("  failed:      {} {a}: {e}", k.verb().0);
    }
    for d in &r.done {
        println!("  done:        {} {}", d.kind.verb().1, d.address);
    }
    for (a, k) in &r.not_started {
        println!("  not started: {} {a}", k.verb().0);
    }
    if r.interrupted {
        println!("Interrupted. Run the same command again to finish: what was created is tagged and will be found.");
    } else {
        println!("Fix the cause and run the same command again: what was created is tagged and will be found.");
    }
}

pub fn destroy(a: &DestroyArgs) -> Result<i32> {
    let eval = blueprint::script::evaluate(&a.script.file, &a.script.options()?)?;
    let rt = cloud::runtime()?;
    rt.block_on(async {
        let cloud = cloud::connect(&a.aws, &eval.region, &eval.name).await;
        let live = cloud::read_live(&cloud, &a.aws).await?;
        let mut plan = plan::compute(&eval.name, &eval.region, &Graph::new(), &live);
        for c in &mut plan.changes {
            c.reason = Some("destroy".into());
        }
        print!("{}", render::human(&plan));
        if !plan.has_changes() {
            return Ok(0);
        }
        if !cloud::confirm(
            &format!("destroy everything blueprint {} owns", eval.name),
            a.auto_approve,
        )? {
            println!("Destroy cancelled.");
            return Ok(1);
        }
        execute(&cloud, &plan, a.parallelism.into(), a.aws.verbose).await
    })
}
