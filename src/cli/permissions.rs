//! `bp permissions`: the least-privilege IAM policy a blueprint needs for
//! plan, apply or destroy, with no AWS call.

use super::ScriptArgs;
use anyhow::{anyhow, Result};
use blueprint::permissions::{self, Command, Format, Request};
use clap::Args;

#[derive(Args, Debug)]
pub struct PermissionsArgs {
    #[command(flatten)]
    pub script: ScriptArgs,
    /// The command the policy is for: plan, apply or destroy
    #[arg(long = "for", value_name = "COMMAND", default_value = "apply")]
    pub command: String,
    /// json (an IAM policy document, or a list of them when it passes
    /// IAM's 6,144-character limit), terraform (aws_iam_policy_document
    /// data sources) or text
    #[arg(long, default_value = "json")]
    pub format: String,
    /// The account id in ARNs [default: *]
    #[arg(long, value_name = "ID")]
    pub account: Option<String>,
    /// Every statement on Resource "*", with no conditions: the actions
    /// only (for emulators that check actions and nothing else)
    #[arg(long)]
    pub any_resource: bool,
}

pub fn run(a: &PermissionsArgs) -> Result<i32> {
    let command: Command = a.command.parse().map_err(|e: String| anyhow!(e))?;
    let format: Format = a.format.parse().map_err(|e: String| anyhow!(e))?;
    if let Some(id) = &a.account {
        if id.len() != 12 || !id.chars().all(|c| c.is_ascii_digit()) {
            return Err(anyhow!("`{id}` is not an AWS account id (12 digits)"));
        }
    }
    let eval = blueprint::script::evaluate(&a.script.file, &a.script.options()?)?;
    super::note_placeholders(&eval, "bp permissions");
    let req = Request {
        blueprint: &eval.name,
        region: &eval.region,
        account: a.account.as_deref().unwrap_or("*"),
        command,
        any_resource: a.any_resource,
    };
    let p = permissions::compute(&eval.graph, &eval.existing, &req);
    if p.documents.len() > 1 && format == Format::Json {
        eprintln!(
            "note: the policy passes IAM's 6,144-character limit for a managed policy: it is split into {} documents, printed as a JSON list",
            p.documents.len()
        );
    }
    if format == Format::Json {
        for note in &p.notes {
            eprintln!("note: {note}");
        }
    }
    let name = format!("blueprint_{}_{}", eval.name.replace('-', "_"), a.command);
    print!("{}", permissions::render(&p, format, &name));
    Ok(0)
}
