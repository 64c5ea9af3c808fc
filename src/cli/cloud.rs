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
    /// Print timings and request counts to stderr; -vv logs every request
    /// (RUST_LOG filters logs finely, e.g. RUST_LOG=blueprint=debug,aws_sdk_ec2=trace)
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// The kubeconfig for in-cluster objects [default: $KUBECONFIG, then ~/.kube/config]
    #[arg(long, value_name = "PATH")]
    pub kubeconfig: Option<std::path::PathBuf>,
    /// The kubeconfig context of a cluster (else one named after the
    /// cluster or its ARN); repeatable
    #[arg(long = "kube-context", value_name = "CLUSTER=CONTEXT")]
    pub kube_contexts: Vec<String>,
    /// Take over Kubernetes fields that another field manager owns
    #[arg(long)]
    pub force_conflicts: bool,
    /// The helm for Helm releases [default: helm on PATH]
    #[arg(long, env = "BP_HELM", value_name = "PATH")]
    pub helm: Option<std::path::PathBuf>,
    /// A price table for the plan's cost estimate (from scripts/update-prices) [default: the one built in]
    #[arg(long, value_name = "FILE.json")]
    pub prices: Option<std::path::PathBuf>,
}

/// The price table: `--prices FILE`, else the one built in.
pub fn prices(file: Option<&std::path::Path>) -> Result<blueprint::cost::Prices> {
    Ok(match file {
        Some(f) => blueprint::cost::Prices::from_file(f)?,
        None => blueprint::cost::Prices::embedded(),
    })
}

impl AwsArgs {
    /// How to reach the clusters.
    pub fn kube_target(&self) -> Result<blueprint::providers::kube::KubeTarget> {
        let mut contexts = std::collections::BTreeMap::new();
        for m in &self.kube_contexts {
            let Some((cluster, context)) = m.split_once('=') else {
                anyhow::bail!("--kube-context `{m}` is not CLUSTER=CONTEXT");
            };
            contexts.insert(cluster.trim().to_string(), context.trim().to_string());
        }
        Ok(blueprint::providers::kube::KubeTarget {
            kubeconfig: self.kubeconfig.clone(),
            contexts,
            force_conflicts: self.force_conflicts,
            helm: self.helm.clone(),
        })
    }
}

/// How `apply` and `destroy` wait for the blueprint's lock.
#[derive(Args, Debug, Clone)]
pub struct LockArgs {
    /// Wait this long for another apply or destroy of the blueprint to
    /// finish (30s, 5m, 1h) instead of failing at once
    #[arg(long, value_name = "DURATION", default_value = "0s", value_parser = parse_duration)]
    pub lock_timeout: std::time::Duration,
}

/// `90s`, `5m`, `1h` or plain seconds.
pub fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    let s = s.trim();
    let (num, unit) = match s.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let n: u64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a duration such as 30s, 5m or 1h"))?;
    let secs = match unit {
        "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        _ => return Err(format!("`{s}` is not a duration such as 30s, 5m or 1h")),
    };
    Ok(std::time::Duration::from_secs(secs))
}

/// The lock this command holds, if any: given back on every way out of
/// the command, Ctrl-C included.
#[derive(Clone, Default)]
pub struct Held(std::sync::Arc<std::sync::Mutex<Option<providers::lock::Lock>>>);

impl Held {
    /// Takes the blueprint's lock for `command`, before anything is read.
    pub async fn take(&self, cloud: &Cloud, args: &LockArgs, command: &str) -> Result<()> {
        use providers::lock::{acquire, Holder, LockError};
        let lock = match acquire(cloud, Holder::me(command), args.lock_timeout).await {
            Ok(l) => l,
            Err(LockError::Held { blueprint, holder }) => {
                let gone = if holder.is_dead_here() {
                    " (that process is not running on this host)"
                } else {
                    ""
                };
                anyhow::bail!(
                    "blueprint {blueprint} is locked by {holder}{gone}\n  = hint: wait for it (--lock-timeout 5m); if that process is gone, `bp lock status FILE` shows the lock and `bp lock break FILE` removes it"
                )
            }
            Err(LockError::Provider(e)) => {
                return Err(anyhow::Error::new(e).context("cannot take the blueprint's lock"))
            }
        };
        let on_exit = lock.clone();
        blueprint::interrupt::on_exit(Some(Box::new(move || {
            let _ = on_exit.release_blocking();
        })));
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(lock);
        Ok(())
    }

    /// A guard that gives the lock back if the command panics (the
    /// unwinding drops it); on every other way out, [`Held::release`] does.
    pub fn on_panic(&self) -> ReleaseOnPanic {
        ReleaseOnPanic(self.clone())
    }

    /// Gives the lock back, if it was taken.
    pub fn release(&self, rt: &tokio::runtime::Runtime) {
        blueprint::interrupt::on_exit(None);
        let lock = self.0.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(l) = lock {
            if let Err(e) = rt.block_on(l.release()) {
                eprintln!(
                    "warning: could not give back the blueprint's lock (taken for `{}`): {e}; `bp lock break` removes it",
                    l.holder().command
                );
            }
        }
    }
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

pub async fn connect(aws: &AwsArgs, region: &str, blueprint: &str) -> Result<Cloud> {
    Ok(Cloud::connect(
        &Target {
            region: region.to_string(),
            profile: aws.profile.clone(),
            endpoint_url: aws.endpoint_url.clone(),
            kube: aws.kube_target()?,
            static_credentials: None,
        },
        blueprint,
    )
    .await)
}

/// Reads what the blueprint owns, reporting the cost with `-v`.
pub async fn read_live(
    cloud: &Cloud,
    aws: &AwsArgs,
    desired: &blueprint::model::Graph,
) -> Result<providers::Reading> {
    let start = Instant::now();
    let before = cloud.requests.get();
    let kube_before = cloud
        .kube
        .requests
        .load(std::sync::atomic::Ordering::Relaxed);
    let reading = blueprint::engine::ops::read_all(cloud, desired)
        .await
        .context("cannot read the live state")?;
    if aws.verbose > 0 {
        eprintln!(
            "read {} owned resources in {:.0} ms with {} AWS requests and {} Kubernetes requests",
            reading.live.len(),
            start.elapsed().as_secs_f64() * 1e3,
            cloud.requests.get() - before,
            cloud
                .kube
                .requests
                .load(std::sync::atomic::Ordering::Relaxed)
                - kube_before
        );
        if let Ok(times) = cloud.read_times.lock() {
            let parts: Vec<String> = times
                .iter()
                .map(|(k, d)| format!("{k} {:.0} ms", d.as_secs_f64() * 1e3))
                .collect();
            eprintln!("  by kind: {}", parts.join(", "));
        }
    }
    Ok(reading)
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
    make_plan_locked(rt, script, aws, None)
}

/// [`make_plan`], taking the blueprint's lock first when `lock` says so
/// (`apply`: the lock, its wait, and the command it is taken for).
pub fn make_plan_locked(
    rt: &tokio::runtime::Runtime,
    script: &ScriptArgs,
    aws: &AwsArgs,
    lock: Option<(&Held, &LockArgs, &str)>,
) -> Result<Planned> {
    let options = blueprint::script::Options {
        secrets: decrypting(aws),
        ..script.options_in(aws.profile.as_deref())?
    };
    let eval = blueprint::script::evaluate(&script.file, &options)?;
    rt.block_on(async {
        let cloud = connect(aws, &eval.region, &eval.name).await?;
        if let Some((held, args, command)) = lock {
            held.take(&cloud, args, command).await?;
        }
        let reading = read_live(&cloud, aws, &eval.graph).await?;
        let live = reading.live;
        let prices = prices(aws.prices.as_deref())?;
        let mut plan = blueprint::engine::pipeline::plan_from(
            &cloud,
            &(&eval).into(),
            &live,
            reading.unread,
            &prices,
            blueprint::lint::Date::today(),
        )
        .await?;
        plan.source = Some(plan::Source::new(
            script.file.clone(),
            &eval.vars_given,
            &eval.sensitive_vars,
        ));
        Ok(Planned {
            plan,
            cloud,
            live,
            graph: eval.graph,
        })
    })
}

/// See [`Held::on_panic`].
pub struct ReleaseOnPanic(Held);

impl Drop for ReleaseOnPanic {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            return;
        }
        blueprint::interrupt::on_exit(None);
        let lock = (self.0).0.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(l) = lock {
            let _ = l.release_blocking();
        }
    }
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
