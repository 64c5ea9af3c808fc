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
    let cloud = rt.block_on(cloud::connect(aws, &eval.region, &eval.name))?;
    let holder = rt.block_on(lock::status(&cloud))?;
    match (&a.command, holder) {
        (_, None) => {
            println!("Blueprint {} is not locked.", eval.name);
            Ok(0)
        }
        (LockCommand::Status { .. }, Some(h)) => {
            let gone = if h.is_dead_here() {
                " That process is not running on this host."
            } else {
                ""
            };
            println!("Blueprint {} is locked by {h}.{gone}", eval.name);
            Ok(0)
        }
        (LockCommand::Break { auto_approve, .. }, Some(h)) => {
            println!("Blueprint {} is locked by {h}.", eval.name);
            if !cloud::confirm(
                "remove this lock (only if that process is gone)",
                *auto_approve,
            )? {
                println!("Lock kept.");
                return Ok(1);
            }
            rt.block_on(lock::break_lock(&cloud))?;
            println!("Removed the lock of blueprint {}.", eval.name);
            Ok(0)
        }
    }
}
