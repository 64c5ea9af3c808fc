//! `bp apply`: make AWS match a blueprint, or apply a saved plan exactly.

use super::cloud::{self, AwsArgs};
use super::ScriptArgs;
use anyhow::{bail, Context, Result};
use blueprint::apply::{self, OpKind, Report};
use blueprint::plan::{self, render, Plan};
use clap::Args;
use std::time::Instant;

#[derive(Args, Debug, Clone)]
pub struct ApplyArgs {
    #[command(flatten)]
    pub script: ScriptArgs,
    #[command(flatten)]
    pub fleet: super::fleet::FleetArgs,
    #[command(flatten)]
    pub aws: AwsArgs,
    #[command(flatten)]
    pub lock: cloud::LockArgs,
    /// Apply without asking
    #[arg(long)]
    pub auto_approve: bool,
    /// How many changes run at once
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u16).range(1..=100))]
    pub parallelism: u16,
    #[command(flatten)]
    pub choice: cloud::ChoiceArgs,
    /// Let --replace replace protected resources
    #[arg(long)]
    pub include_protected: bool,
}

/// Whether the file is a plan saved by `bp plan -o`, whatever its name
/// (`tfplan`, `plan.json`): a JSON object with the plan's format version.
/// A blueprint is Rhai, which never parses as such.
fn is_saved_plan(path: &std::path::Path) -> bool {
    let Ok(text) = std::fs::read_to_string(path) else {
        return false;
    };
    if !text.trim_start().starts_with('{') {
        return false;
    }
    serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .is_some_and(|v| v.get("format_version").is_some() && v.get("fingerprint").is_some())
}

pub fn run(a: &ApplyArgs) -> Result<i32> {
    if let Some(files) = a.fleet.files(&a.script.file)? {
        if files.iter().any(|f| is_saved_plan(f)) {
            bail!("a fleet is applied from its blueprints; apply a saved plan alone");
        }
        // Sources first: each is planned once what it reads is applied.
        let members = super::fleet::members(&files, &a.script, &a.aws)?;
        return super::fleet::each(&members, false, |file| {
            run(&ApplyArgs {
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

fn run_locked(rt: &tokio::runtime::Runtime, a: &ApplyArgs, held: &cloud::Held) -> Result<i32> {
    let command = format!("bp apply {}", a.script.file.display());
    let planned = if is_saved_plan(&a.script.file) {
        if !a.choice.targets.is_empty()
            || !a.choice.excludes.is_empty()
            || !a.choice.replace.is_empty()
        {
            anyhow::bail!(
                "a saved plan is applied as it was made: its --target, --exclude and --replace are in it; make a new plan to change them"
            );
        }
        saved(rt, a, held, &command)?
    } else {
        let choice = a.choice.parse(a.include_protected)?;
        let planned = cloud::make_plan_locked(
            rt,
            &a.script,
            &a.aws,
            Some((held, &a.lock, &command)),
            &choice,
        )?;
        print!("{}", super::plan_text(render::human(&planned.plan)));
        if planned.plan.has_changes() && !cloud::confirm("apply these changes", a.auto_approve)? {
            println!("Apply cancelled.");
            return Ok(1);
        }
        planned
    };
    if !planned.plan.has_changes() {
        return Ok(0);
    }
    rt.block_on(execute(&planned, a.parallelism.into(), a.aws.verbose > 0))
}

/// Loads a saved plan and checks that live state has not moved since. A
/// plan holding secrets (saved as keyed hashes only) evaluates its
/// blueprint again and must find the same desired state.
fn saved(
    rt: &tokio::runtime::Runtime,
    a: &ApplyArgs,
    held: &cloud::Held,
    command: &str,
) -> Result<cloud::Planned> {
    let text = std::fs::read_to_string(&a.script.file)
        .with_context(|| format!("cannot read {}", a.script.file.display()))?;
    let plan: Plan =
        plan::load(&text).map_err(|e| anyhow::anyhow!("{}: {e}", a.script.file.display()))?;
    let graph = if plan.needs_secrets() {
        let Some(source) = &plan.source else {
            bail!("the saved plan holds secrets but not the blueprint they came from; run `bp plan` again");
        };
        // Plain variables as recorded; sensitive ones as given now
        // (--var, BP_VAR_<name>, --var-file), checked against the plan's
        // verifiers.
        let given = a.script.options_in(a.aws.profile.as_deref())?;
        if given.var_files.is_empty() {
            let missing = source.vars.iter().find(|(k, v)| {
                matches!(v, plan::SourceVar::Sensitive { .. }) && !given.vars.contains_key(*k)
            });
            if let Some((k, _)) = missing {
                bail!(
                    "the saved plan {} was made with the sensitive variable `{k}`, which it does not keep: pass it again with --var {k}=..., BP_VAR_{k} or --var-file",
                    a.script.file.display()
                );
            }
        }
        let mut vars = given.vars.clone();
        for (k, v) in &source.vars {
            if let plan::SourceVar::Plain(v) = v {
                vars.insert(k.clone(), v.clone());
            }
        }
        let options = blueprint::script::Options {
            vars,
            var_files: given.var_files,
            region: plan.region.clone(),
            secrets: cloud::decrypting(&a.aws),
        };
        let eval = blueprint::script::evaluate(&source.file, &options)?;
        for (k, v) in &source.vars {
            let plan::SourceVar::Sensitive { sensitive } = v else {
                continue;
            };
            match eval.vars_given.get(k) {
                None => bail!(
                    "the saved plan {} was made with the sensitive variable `{k}`, which it does not keep: pass it again with --var {k}=..., BP_VAR_{k} or --var-file",
                    a.script.file.display()
                ),
                Some(value) if !blueprint::model::verifier::verify(value, sensitive) => bail!(
                    "the sensitive variable `{k}` is not the value the plan {} was made with; pass the same value, or run `bp plan` again",
                    a.script.file.display()
                ),
                Some(_) => {}
            }
        }
        if Plan::desired_json(&eval.graph) != Plan::desired_json(&plan.desired_graph()) {
            bail!(
                "{} or its secrets changed since the plan {} was made; run `bp plan` again",
                source.file.display(),
                a.script.file.display()
            );
        }
        eval.graph
    } else {
        plan.desired_graph()
    };
    let target = cloud::target(&a.aws, &plan.region)?;
    let keep = |l| held.keep(l);
    let lock = cloud::lock_request(&keep, &a.lock, command);
    let (cloud, reading, read) = rt.block_on(blueprint::engine::pipeline::connect_and_read(
        &target,
        &plan.blueprint,
        &graph,
        Some(&lock),
        a.aws.strict,
    ))?;
    cloud::report_read(&a.aws, &read);
    let mut live = reading.live;
    // The plan was made with its moves applied to what it read.
    plan::moves::rewrite(&mut live, &plan.moved);
    if plan::fingerprint(&live, &graph) != plan.fingerprint {
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
    Ok(cloud::Planned {
        plan,
        cloud,
        live,
        graph,
    })
}

pub async fn execute(p: &cloud::Planned, parallelism: usize, verbose: bool) -> Result<i32> {
    let start = Instant::now();
    let before = p.cloud.requests_sent();
    // On a terminal, a live view of what is in flight; otherwise one line
    // per event, as CI logs want them.
    let view = std::io::IsTerminal::is_terminal(&std::io::stdout()).then(|| {
        std::sync::Arc::new(super::progress::View::new(
            apply::operations(&p.plan, &p.live).len(),
        ))
    });
    let events = view.clone();
    let report = apply::apply(
        &p.cloud,
        &p.plan,
        &p.graph,
        &p.live,
        parallelism,
        move |line| match &events {
            Some(v) => v.event(line),
            // Without a terminal, one line per event, as before: what an
            // operation waits for shows on a terminal only.
            None => {
                let wait = line
                    .split_once(": ")
                    .is_some_and(|(_, rest)| super::progress::is_wait(rest));
                if !wait {
                    println!("{line}");
                }
            }
        },
    )
    .await;
    if let Some(v) = &view {
        v.finish();
    }
    print_report(&report);
    if report.interrupted {
        // Ctrl-C: what was in flight finished, and the caller gives back
        // the lock; 130 as shells expect after SIGINT.
        return Ok(130);
    }
    if verbose {
        eprintln!(
            "applied in {:.1} s with {} AWS requests",
            start.elapsed().as_secs_f64(),
            p.cloud.requests_sent() - before
        );
    }
    Ok(if report.ok() { 0 } else { 1 })
}

fn print_report(r: &Report) {
    let count = |k: OpKind| r.done.iter().filter(|d| d.kind == k).count();
    if r.ok() {
        let moved = if r.moved > 0 {
            format!(" {} moved.", r.moved)
        } else {
            String::new()
        };
        println!(
            "\nApply complete: {} created, {} updated, {} deleted.{moved}",
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
