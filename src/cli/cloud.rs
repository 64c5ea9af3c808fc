//! What every command that talks to AWS shares: connection flags, the
//! runtime, reading live state and making a plan.

use super::ScriptArgs;
use anyhow::{Context, Result};
use blueprint::engine::pipeline::{self, LockRequest, Made, Options, ReadStats};
use blueprint::plan::{self, Plan};
use blueprint::providers::{self, Cloud, Target};
use clap::Args;
use std::io::IsTerminal;

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
    /// Refuse to plan when a kind cannot be listed, even one the blueprint
    /// does not declare (by default the plan goes on with a warning, and
    /// what the blueprint owned of that kind is not pruned)
    #[arg(long)]
    pub strict: bool,
}

/// What the operator chooses of a plan: part of the blueprint, and
/// replacements (plan, apply; destroy takes the part only).
#[derive(Args, Debug, Default, Clone)]
pub struct ChoiceArgs {
    /// Plan only this address and what it depends on (for destroy: what
    /// depends on it); a glob such as 'node_group.pms-prod/*'; repeatable
    #[arg(long = "target", value_name = "ADDRESS")]
    pub targets: Vec<String>,
    /// Leave out this address and what depends on it (for destroy: what it
    /// depends on); a glob; repeatable
    #[arg(long = "exclude", value_name = "ADDRESS")]
    pub excludes: Vec<String>,
    /// Replace this resource whatever its differences, the new one first
    /// where its kind allows; repeatable
    #[arg(long = "replace", value_name = "ADDRESS")]
    pub replace: Vec<String>,
    /// Delete outputs other blueprints read all the same (they are told by
    /// the reader tags their applies left)
    #[arg(long)]
    pub ignore_readers: bool,
}

/// [`ChoiceArgs`], parsed.
#[derive(Clone, Debug, Default)]
pub struct Choice {
    pub selection: blueprint::plan::select::Selection,
    pub replace: std::collections::BTreeSet<blueprint::model::Address>,
    /// `--include-protected`: replace protected resources too.
    pub include_protected: bool,
    /// `--ignore-readers`: delete what other blueprints read too.
    pub ignore_readers: bool,
}

impl ChoiceArgs {
    pub fn parse(&self, include_protected: bool) -> Result<Choice> {
        let mut replace = std::collections::BTreeSet::new();
        for r in &self.replace {
            let a: blueprint::model::Address = r
                .parse()
                .map_err(|e| anyhow::anyhow!("--replace {r}: {e}"))?;
            replace.insert(a);
        }
        Ok(Choice {
            selection: blueprint::plan::select::Selection {
                targets: self.targets.clone(),
                excludes: self.excludes.clone(),
            },
            replace,
            include_protected,
            ignore_readers: self.ignore_readers,
        })
    }
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

/// The locks this command holds (one per account and region it
/// touches), if any: given back on every way out of the command, Ctrl-C
/// included.
#[derive(Clone, Default)]
pub struct Held(std::sync::Arc<std::sync::Mutex<Vec<providers::lock::Lock>>>);

impl Held {
    /// The lock request for `command`, for the pipeline: once it holds a
    /// lock, [`Held::keep`] keeps it here for [`Held::release`].
    pub fn keep(&self, lock: providers::lock::Lock) {
        let mut held = self.0.lock().unwrap_or_else(|e| e.into_inner());
        held.push(lock);
        let on_exit = held.clone();
        blueprint::interrupt::on_exit(Some(Box::new(move || {
            for l in &on_exit {
                let _ = l.release_blocking();
            }
        })));
    }

    /// A guard that gives the lock back if the command panics (the
    /// unwinding drops it); on every other way out, [`Held::release`] does.
    pub fn on_panic(&self) -> ReleaseOnPanic {
        ReleaseOnPanic(self.clone())
    }

    /// Gives the lock back, if it was taken.
    pub fn release(&self, rt: &tokio::runtime::Runtime) {
        blueprint::interrupt::on_exit(None);
        let locks = std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()));
        for l in locks {
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

/// Where the command's AWS and Kubernetes calls go, in `region`.
pub fn target(aws: &AwsArgs, region: &str) -> Result<Target> {
    Ok(Target {
        region: region.to_string(),
        profile: aws.profile.clone(),
        endpoint_url: aws.endpoint_url.clone(),
        kube: aws.kube_target()?,
        static_credentials: None,
    })
}

pub async fn connect(aws: &AwsArgs, region: &str, blueprint: &str) -> Result<Cloud> {
    Ok(Cloud::connect(&target(aws, region)?, blueprint).await)
}

/// With `-v`, what reading the live state cost.
pub fn report_read(aws: &AwsArgs, read: &ReadStats) {
    if aws.verbose == 0 {
        return;
    }
    eprintln!(
        "read {} owned resources in {:.0} ms with {} AWS requests and {} Kubernetes requests",
        read.owned,
        read.elapsed.as_secs_f64() * 1e3,
        read.aws_requests,
        read.kube_requests
    );
    let parts: Vec<String> = read
        .by_kind
        .iter()
        .map(|(k, d)| format!("{k} {:.0} ms", d.as_secs_f64() * 1e3))
        .collect();
    eprintln!("  by kind: {}", parts.join(", "));
}

/// The lock request of `command` for the pipeline, kept by `held`.
pub fn lock_request<'a>(
    held: &'a (dyn Fn(providers::lock::Lock) + Send + Sync),
    args: &LockArgs,
    command: &str,
) -> LockRequest<'a> {
    LockRequest {
        holder: providers::lock::Holder::me(command),
        wait: args.lock_timeout,
        taken: held,
    }
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
/// call KMS), then runs the engine's pipeline: read live state and compare.
pub fn make_plan(
    rt: &tokio::runtime::Runtime,
    script: &ScriptArgs,
    aws: &AwsArgs,
    choice: &Choice,
) -> Result<Planned> {
    make_plan_locked(rt, script, aws, None, choice)
}

/// [`make_plan`], taking the blueprint's lock first when `lock` says so
/// (`apply`: the lock, its wait, and the command it is taken for).
pub fn make_plan_locked(
    rt: &tokio::runtime::Runtime,
    script: &ScriptArgs,
    aws: &AwsArgs,
    lock: Option<(&Held, &LockArgs, &str)>,
    choice: &Choice,
) -> Result<Planned> {
    let options = blueprint::script::Options {
        secrets: decrypting(aws),
        ..script.options_in(aws.profile.as_deref())?
    };
    let eval = blueprint::script::evaluate(&script.file, &options)?;
    let made = plan_evaluated(rt, &eval, aws, lock, plan::Mode::default(), choice)?;
    let mut plan = made.plan;
    plan.source = Some(plan::Source::new(
        script.file.clone(),
        &eval.vars_given,
        &eval.sensitive_vars,
    ));
    Ok(Planned {
        plan,
        cloud: made.cloud,
        live: made.live,
        graph: eval.graph,
    })
}

/// The pipeline over an evaluated blueprint, for `plan`, `apply` and
/// `destroy` (by `mode`).
pub fn plan_evaluated(
    rt: &tokio::runtime::Runtime,
    eval: &blueprint::script::Evaluation,
    aws: &AwsArgs,
    lock: Option<(&Held, &LockArgs, &str)>,
    mode: plan::Mode,
    choice: &Choice,
) -> Result<Made> {
    let prices = prices(aws.prices.as_deref())?;
    let target = target(aws, &eval.region)?;
    let keep = |l: providers::lock::Lock| {
        if let Some((held, ..)) = lock {
            held.keep(l);
        }
    };
    let options = Options {
        target: &target,
        lock: lock.map(|(_, args, command)| lock_request(&keep, args, command)),
        prices: &prices,
        today: blueprint::lint::Date::today(),
        mode,
        strict: aws.strict,
        selection: choice.selection.clone(),
        replace: choice.replace.clone(),
        replace_protected: choice.include_protected,
        ignore_readers: choice.ignore_readers,
    };
    let made = rt.block_on(pipeline::run(&eval.into(), &options))?;
    report_read(aws, &made.read);
    Ok(made)
}

/// See [`Held::on_panic`].
pub struct ReleaseOnPanic(Held);

impl Drop for ReleaseOnPanic {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            return;
        }
        blueprint::interrupt::on_exit(None);
        let locks = std::mem::take(&mut *(self.0).0.lock().unwrap_or_else(|e| e.into_inner()));
        for l in locks {
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
