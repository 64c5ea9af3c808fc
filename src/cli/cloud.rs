//! What every command that talks to AWS shares: connection flags, the
//! runtime, reading live state and making a plan.

use super::ScriptArgs;
use anyhow::{Context, Result};
use blueprint::plan::{self, Plan};
use blueprint::providers::{self, Cloud, Target};
use clap::Args;
use std::io::IsTerminal;
use std::time::Instant;

#[derive(Args, Debug, Clone)]
pub struct AwsArgs {
    /// AWS profile from the shared config files
    #[arg(long, env = "AWS_PROFILE")]
    pub profile: Option<String>,
    /// Send every AWS request to this endpoint (an emulator such as moto)
    #[arg(long, env = "AWS_ENDPOINT_URL")]
    pub endpoint_url: Option<String>,
    /// Print timings and the number of AWS requests to stderr
    #[arg(short, long)]
    pub verbose: bool,
}

pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// `sops_file` decrypts with the same AWS settings as the command's other
/// AWS calls.
pub fn decrypting(aws: &AwsArgs) -> blueprint::script::Secrets {
    blueprint::script::Secrets::Decrypt(blueprint::sops::KmsAccess {
        profile: aws.profile.clone(),
        endpoint_url: aws.endpoint_url.clone(),
    })
}

pub async fn connect(aws: &AwsArgs, region: &str, blueprint: &str) -> Cloud {
    Cloud::connect(
        &Target {
            region: region.to_string(),
            profile: aws.profile.clone(),
            endpoint_url: aws.endpoint_url.clone(),
        },
        blueprint,
    )
    .await
}

/// Reads what the blueprint owns, reporting the cost with `-v`.
pub async fn read_live(cloud: &Cloud, aws: &AwsArgs) -> Result<Vec<blueprint::model::Live>> {
    let start = Instant::now();
    let before = cloud.requests.get();
    let live = providers::read_all(cloud)
        .await
        .context("cannot read the live state from AWS")?;
    if aws.verbose {
        eprintln!(
            "read {} owned resources in {:.0} ms with {} AWS requests",
            live.len(),
            start.elapsed().as_secs_f64() * 1e3,
            cloud.requests.get() - before
        );
        if let Ok(times) = cloud.read_times.lock() {
            let parts: Vec<String> = times
                .iter()
                .map(|(k, d)| format!("{k} {:.0} ms", d.as_secs_f64() * 1e3))
                .collect();
            eprintln!("  by kind: {}", parts.join(", "));
        }
    }
    Ok(live)
}

/// A plan with everything needed to apply it.
pub struct Planned {
    pub plan: Plan,
    pub cloud: Cloud,
    pub live: Vec<blueprint::model::Live>,
    /// The desired state with its secrets.
    pub graph: blueprint::model::Graph,
}

/// Evaluates the blueprint (outside the async runtime: `sops_file` may
/// call KMS), then reads live state and compares them.
pub fn make_plan(
    rt: &tokio::runtime::Runtime,
    script: &ScriptArgs,
    aws: &AwsArgs,
) -> Result<Planned> {
    let options = blueprint::script::Options {
        secrets: decrypting(aws),
        ..script.options()?
    };
    let eval = blueprint::script::evaluate(&script.file, &options)?;
    rt.block_on(async {
        let cloud = connect(aws, &eval.region, &eval.name).await;
        let live = read_live(&cloud, aws).await?;
        let mut plan = plan::compute(&eval.name, &eval.region, &eval.graph, &live);
        refuse_protected(&plan)?;
        plan.source = Some(plan::Source {
            file: script.file.clone(),
            vars: options.vars.clone(),
        });
        Ok(Planned {
            plan,
            cloud,
            live,
            graph: eval.graph,
        })
    })
}

/// A plan that would delete or replace a protected resource is an error
/// naming each one and why.
pub fn refuse_protected(plan: &Plan) -> Result<()> {
    if plan.protected.is_empty() {
        return Ok(());
    }
    let lines: Vec<String> = plan
        .protected
        .iter()
        .map(|p| {
            let what = match p.action {
                plan::Action::Replace => "replace",
                _ => "delete",
            };
            format!("  {} would {what} it: {}", p.address, p.reason)
        })
        .collect();
    anyhow::bail!(
        "the plan would delete or replace protected resources:\n{}\n  = hint: protection is recorded on the resource itself; to remove one, first apply it declared with protect: false",
        lines.join("\n")
    )
}

/// Asks for "yes" on a terminal; without one, refuses unless auto-approved.
pub fn confirm(question: &str, auto_approve: bool) -> Result<bool> {
    if auto_approve {
        return Ok(true);
    }
    if !std::io::stdin().is_terminal() {
        anyhow::bail!(
            "no terminal to ask for approval: pass --auto-approve to {question} without asking"
        );
    }
    eprint!("Do you want to {question}? Only 'yes' is accepted: ");
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer)?;
    Ok(answer.trim() == "yes")
}

/// Writes a file atomically (temporary file, then rename), readable by the owner only.
pub fn write_private(path: &std::path::Path, text: &str) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("plan"),
        std::process::id()
    ));
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}
