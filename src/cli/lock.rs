//! `bp lock status|break FILE`: the blueprint's apply lock, for when the
//! process that held it died (a CI job killed mid-apply).

use super::cloud::{self, AwsArgs};
use super::ScriptArgs;
use anyhow::Result;
use blueprint::providers::lock;
use clap::{Args, Subcommand};

#[derive(Args, Debug)]
pub struct LockArgs {
    #[command(subcommand)]
    pub command: LockCommand,
}

#[derive(Subcommand, Debug)]
pub enum LockCommand {
    /// Show who holds the blueprint's lock, if anyone
    Status {
        #[command(flatten)]
        script: ScriptArgs,
        #[command(flatten)]
        aws: AwsArgs,
    },
    /// Remove the blueprint's lock, whoever holds it (asks on a terminal)
    Break {
        #[command(flatten)]
        script: ScriptArgs,
        #[command(flatten)]
        aws: AwsArgs,
        /// Remove it without asking
        #[arg(long)]
        auto_approve: bool,
    },
}

pub fn run(a: &LockArgs) -> Result<i32> {
    let (script, aws) = match &a.command {
        LockCommand::Status { script, aws } | LockCommand::Break { script, aws, .. } => {
            (script, aws)
        }
    };
    // The blueprint's name and region; no AWS is read to evaluate it.
    let eval =
        blueprint::script::evaluate(&script.file, &script.options_in(aws.profile.as_deref())?)?;
    let rt = cloud::runtime()?;
    // The lock of each account and region the blueprint touches: the
    // command line's, and each provider instance's that reaches another.
    let target = cloud::target(aws, &eval.region)?;
    let all = rt.block_on(blueprint::providers::Cloud::connect_all(
        &target,
        &eval.name,
        eval.graph.providers(),
    ));
    let places = blueprint::engine::pipeline::lock_places(&all, &target);
    let many = places.len() > 1;
    let mut code = 0;
    for place in places {
        let at = match (many, place.spec()) {
            (false, _) => String::new(),
            (true, Some(spec)) => format!(" in aws:{}", spec.location()),
            (true, None) => format!(" in aws:{}", eval.region),
        };
        code = code.max(one(&rt, a, place, &eval.name, &at)?);
    }
    Ok(code)
}

/// The lock in one account and region (`at` names it when there are
/// several).
fn one(
    rt: &tokio::runtime::Runtime,
    a: &LockArgs,
    cloud: &blueprint::providers::Cloud,
    name: &str,
    at: &str,
) -> Result<i32> {
    let holder = rt.block_on(lock::status(cloud))?;
    match (&a.command, holder) {
        (_, None) => {
            println!("Blueprint {name} is not locked{at}.");
            Ok(0)
        }
        (LockCommand::Status { .. }, Some(h)) => {
            let gone = if h.is_dead_here() {
                " That process is not running on this host."
            } else {
                ""
            };
            println!("Blueprint {name} is locked{at} by {h}.{gone}");
            Ok(0)
        }
        (LockCommand::Break { auto_approve, .. }, Some(h)) => {
            println!("Blueprint {name} is locked{at} by {h}.");
            if !cloud::confirm(
                "remove this lock (only if that process is gone)",
                *auto_approve,
            )? {
                println!("Lock kept.");
                return Ok(1);
            }
            rt.block_on(lock::break_lock(cloud))?;
            println!("Removed the lock of blueprint {name}{at}.");
            Ok(0)
        }
    }
}
