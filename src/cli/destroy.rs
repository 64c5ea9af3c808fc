//! `bp destroy`: delete everything a blueprint owns, except what is
//! protected unless `--include-protected` is given.

use super::apply::execute;
use super::cloud::{self, AwsArgs};
use super::ScriptArgs;
use anyhow::Result;
use blueprint::model::Graph;
use blueprint::plan::{render, Mode};
use clap::Args;

#[derive(Args, Debug, Clone)]
pub struct DestroyArgs {
    #[command(flatten)]
    pub script: ScriptArgs,
    #[command(flatten)]
    pub fleet: super::fleet::FleetArgs,
    #[command(flatten)]
    pub aws: AwsArgs,
    #[command(flatten)]
    pub lock: cloud::LockArgs,
    /// Destroy without asking
    #[arg(long)]
    pub auto_approve: bool,
    /// Delete protected resources too (S3 buckets, DynamoDB tables, ...)
    #[arg(long)]
    pub include_protected: bool,
    /// How many deletions run at once
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u16).range(1..=100))]
    pub parallelism: u16,
    #[command(flatten)]
    pub choice: cloud::ChoiceArgs,
}

pub fn run(a: &DestroyArgs) -> Result<i32> {
    if let Some(files) = a.fleet.files(&a.script.file)? {
        // Readers first: what a blueprint reads goes after it.
        let members = super::fleet::members(&files, &a.script, &a.aws)?;
        return super::fleet::each(&members, true, |file| {
            run(&DestroyArgs {
                script: ScriptArgs {
                    file: file.to_path_buf(),
                    ..a.script.clone()
                },
                fleet: Default::default(),
                ..a.clone()
            })
        });
    }
    let rt = cloud::runtime()?;
    let held = cloud::Held::default();
    let _released_on_panic = held.on_panic();
    let out = run_locked(&rt, a, &held);
    held.release(&rt);
    out
}

fn run_locked(rt: &tokio::runtime::Runtime, a: &DestroyArgs, held: &cloud::Held) -> Result<i32> {
    let eval = blueprint::script::evaluate(
        &a.script.file,
        &a.script.options_in(a.aws.profile.as_deref())?,
    )?;
    let command = format!("bp destroy {}", a.script.file.display());
    let mode = Mode {
        destroy: true,
        include_protected: a.include_protected,
    };
    if !a.choice.replace.is_empty() {
        anyhow::bail!("--replace is for plan and apply: destroy replaces nothing");
    }
    let choice = a.choice.parse(a.include_protected)?;
    let made = cloud::plan_evaluated(
        rt,
        &eval,
        &a.aws,
        Some((held, &a.lock, &command)),
        mode,
        &choice,
    )?;
    let (plan, cloud, live) = (made.plan, made.cloud, made.live);
    let graph = Graph::new();
    print!("{}", super::plan_text(render::human(&plan)));
    if !plan.protected.is_empty() && !a.include_protected {
        println!(
            "Protected, left in place (declare them with protect: false and apply, or pass --include-protected):"
        );
        for p in &plan.protected {
            match &p.kept_for {
                Some(by) => println!("  {} (the protected {by} uses it)", p.address),
                None => println!("  {}", p.address),
            }
        }
    }
    if !plan.has_changes() {
        rt.block_on(blueprint::kinds::k8s::manifest::forget(&cloud))?;
        return Ok(0);
    }
    if !cloud::confirm(
        &format!("destroy everything blueprint {} owns", eval.name),
        a.auto_approve,
    )? {
        println!("Destroy cancelled.");
        return Ok(1);
    }
    let planned = cloud::Planned {
        plan,
        cloud,
        live,
        graph,
    };
    let code = rt.block_on(execute(&planned, a.parallelism.into(), a.aws.verbose > 0))?;
    if code == 0 {
        // Everything the blueprint owned in its clusters is gone: so is the
        // index of the kinds of its manifests.
        rt.block_on(blueprint::kinds::k8s::manifest::forget(&planned.cloud))?;
    }
    Ok(code)
}
