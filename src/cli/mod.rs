//! The command line: one file per subcommand; `main.rs` only dispatches.

mod adopt;
mod apply;
mod backup;
mod check;
mod cloud;
mod completions;
mod cost;
mod defs;
mod destroy;
mod eks_token;
mod fleet;
mod fmt;
mod graph;
mod kubeconfig;
mod lint;
mod lock;
mod lsp;
mod output;
mod permissions;
mod plan;
mod progress;
mod repl;
mod secrets;
mod show;
mod test;

use anyhow::{bail, Result};
use blueprint::script::Options;
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "bp",
    version,
    about = "Describe AWS EKS platforms as Rhai scripts, then plan and apply them",
    propagate_version = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Colour: auto (on a terminal, unless NO_COLOR; CLICOLOR_FORCE forces it), always, never
    #[arg(long, global = true, value_enum, default_value = "auto")]
    pub color: ColorArg,
    /// Write logs as JSON lines (for CI systems)
    #[arg(long, global = true)]
    pub log_json: bool,
}

impl Cli {
    /// How many `-v` the command was given.
    pub fn verbosity(&self) -> u8 {
        match &self.command {
            Command::Plan(a) => a.aws.verbose,
            Command::Apply(a) => a.aws.verbose,
            Command::Destroy(a) => a.aws.verbose,
            Command::Adopt(a) => a.aws.verbose,
            _ => 0,
        }
    }
}

/// Where libraries log what crosses the wire, and the most they may say
/// there whatever `RUST_LOG` asks: the AWS SDK's request and response
/// bodies (an RDS password, a KMS data key in clear) at TRACE, the request
/// before signing, values of the shared config files, and kube-client's
/// echo of a response body it could not decode (WARN).
const WIRE_LOGS: &[(&str, tracing::Level)] = &[
    (
        "aws_smithy_runtime::client::orchestrator",
        tracing::Level::DEBUG,
    ),
    ("aws_smithy_runtime::client::http", tracing::Level::DEBUG),
    ("aws_smithy_runtime_api", tracing::Level::DEBUG),
    ("aws_smithy_http_client", tracing::Level::DEBUG),
    ("aws_sigv4", tracing::Level::DEBUG),
    ("aws_runtime::env_config", tracing::Level::DEBUG),
    ("kube_client::client", tracing::Level::ERROR),
    ("hyper", tracing::Level::DEBUG),
    ("hyper_util", tracing::Level::DEBUG),
    ("h2", tracing::Level::INFO),
];

/// Logs to stderr: `RUST_LOG` when set, else Blueprint's warnings, `-v`
/// info and `-vv` every request (debug); as JSON lines with `--log-json`.
/// No level prints a secret: the libraries' wire logs are capped
/// ([`WIRE_LOGS`]) and every line goes through the redactor of the
/// secrets this process knows.
pub fn init_logging(verbosity: u8, json: bool) {
    use tracing_subscriber::filter::{FilterExt, LevelFilter, Targets};
    use tracing_subscriber::prelude::*;
    use tracing_subscriber::EnvFilter;
    let asked = match std::env::var("RUST_LOG") {
        Ok(v) if !v.is_empty() => EnvFilter::new(v),
        // Blueprint's own events only: libraries speak under RUST_LOG.
        _ => EnvFilter::new(match verbosity {
            0 => "off,blueprint=warn",
            1 => "off,blueprint=info",
            _ => "off,blueprint=debug",
        }),
    };
    let caps = Targets::new()
        .with_default(LevelFilter::TRACE)
        .with_targets(WIRE_LOGS.iter().copied());
    let filter = asked.and(caps);
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(|| blueprint::redact::Writer(std::io::stderr()))
        .with_ansi(false);
    if json {
        tracing_subscriber::registry()
            .with(layer.json().with_filter(filter))
            .init();
    } else {
        tracing_subscriber::registry()
            .with(layer.with_filter(filter))
            .init();
    }
}

#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum ColorArg {
    Auto,
    Always,
    Never,
}

static COLOR: std::sync::OnceLock<blueprint::style::Choice> = std::sync::OnceLock::new();

/// Remembers `--color` for the whole command.
pub fn set_color(c: ColorArg) {
    use blueprint::style::Choice;
    let _ = COLOR.set(match c {
        ColorArg::Auto => Choice::Auto,
        ColorArg::Always => Choice::Always,
        ColorArg::Never => Choice::Never,
    });
}

fn choice() -> blueprint::style::Choice {
    COLOR
        .get()
        .copied()
        .unwrap_or(blueprint::style::Choice::Auto)
}

/// Answers a shell's completion request and exits, if there is one.
pub fn completions_answer_if_asked() {
    completions::answer_if_asked();
}

/// Whether colour is on for this stream (`--color`, the environment, and
/// whether it is a terminal).
pub fn colour_on(stream: &impl std::io::IsTerminal) -> bool {
    blueprint::style::enabled(choice(), stream.is_terminal())
}

/// A human plan as printed to stdout: coloured when colour is on there.
pub fn plan_text(text: String) -> String {
    use std::io::IsTerminal;
    // A secret that reached a field not marked sensitive is still masked.
    let text = blueprint::redact::redact(&text);
    if blueprint::style::enabled(choice(), std::io::stdout().is_terminal()) {
        blueprint::style::plan(&text)
    } else {
        text
    }
}

/// A plan as JSON, for stdout or a saved plan, with every secret this
/// process knows masked.
pub fn plan_json(plan: &blueprint::plan::Plan) -> Result<String> {
    let text = serde_json::to_string_pretty(&blueprint::plan::render::json(plan))?;
    Ok(blueprint::redact::redact(&text))
}

/// A report with source snippets (lint findings) as printed to stdout:
/// coloured as errors are when colour is on there.
pub fn report_text(text: String) -> String {
    use std::io::IsTerminal;
    if blueprint::style::enabled(choice(), std::io::stdout().is_terminal()) {
        blueprint::style::error(&text)
    } else {
        text
    }
}

/// An error report as printed to stderr: coloured when colour is on there.
pub fn error_text(text: String) -> String {
    use std::io::IsTerminal;
    if blueprint::style::enabled(choice(), std::io::stderr().is_terminal()) {
        blueprint::style::error(&text)
    } else {
        text
    }
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Evaluate and validate a blueprint, with no AWS call
    Check(check::CheckArgs),
    /// Check a blueprint against the security rules (docs/RULES.md), with no AWS call
    Lint(lint::LintArgs),
    /// Estimate a blueprint's monthly on-demand cost, with no AWS call
    Cost(cost::CostArgs),
    /// Print the dependency graph of a blueprint
    Graph(graph::GraphArgs),
    /// Show what must change in AWS to match a blueprint
    Plan(plan::PlanArgs),
    /// Print the least-privilege IAM policy a blueprint needs for plan, apply or destroy, with no AWS call
    Permissions(permissions::PermissionsArgs),
    /// Run the tests of blueprints and stdlib modules (`*.test.rhai`), with no AWS call
    Test(test::TestArgs),
    /// Format blueprints, stdlib modules and test files; --check for CI
    Fmt(fmt::FmtArgs),
    /// A language server over stdio for editors: diagnostics, completion, hover, definitions
    Lsp(lsp::LspArgs),
    /// Change AWS to match a blueprint, or apply a saved plan exactly
    Apply(apply::ApplyArgs),
    /// Delete everything a blueprint owns
    Destroy(destroy::DestroyArgs),
    /// The blueprint's apply lock: who holds it, and removing a stale one
    Lock(lock::LockArgs),
    /// The outputs a blueprint published (output(key, value)), as its last apply left them
    Output(output::OutputArgs),
    /// Take over a resource that exists, at an address the blueprint declares (Terraform's import)
    Adopt(adopt::AdoptArgs),
    /// Explore interactively: evaluate lines, complete names, see the plan
    Repl(repl::ReplArgs),
    /// Encrypt, decrypt, edit and rotate sops-format secret files
    Secrets(secrets::SecretsArgs),
    /// Velero backups on demand: list, run, restore
    Backup(backup::BackupArgs),
    /// Write or merge kubeconfig entries for the blueprint's clusters
    Kubeconfig(kubeconfig::KubeconfigArgs),
    /// Print a bearer token for an EKS cluster (kubectl's credential plugin)
    EksToken(eks_token::EksTokenArgs),
    /// Render a plan saved with `bp plan -o`, with no AWS call
    Show(show::ShowArgs),
    /// Print shell completions (bash, zsh, fish, powershell, elvish)
    Completions(completions::CompletionsArgs),
    /// Print the man page (roff)
    Man,
    /// Write Rhai definition files (*.d.rhai) for editors
    Defs(defs::DefsArgs),
}

/// Inputs shared by every command that evaluates a blueprint.
#[derive(Args, Debug, Clone)]
pub struct ScriptArgs {
    /// The blueprint (*.rhai); for `apply`, also a plan saved with `bp plan -o`
    #[arg(
        value_hint = clap::ValueHint::FilePath,
        add = clap_complete::ArgValueCompleter::new(completions::rhai_files)
    )]
    pub file: PathBuf,
    /// An input for the script, read with var("key"); repeatable
    #[arg(
        long = "var",
        value_name = "KEY=VALUE",
        add = clap_complete::ArgValueCompleter::new(completions::var_names)
    )]
    pub vars: Vec<String>,
    /// Variables from a YAML or JSON file of names and values; a
    /// sops-encrypted one is decrypted and all its values are sensitive;
    /// repeatable (--var and BP_VAR_<name> win)
    #[arg(long = "var-file", value_name = "FILE", value_hint = clap::ValueHint::FilePath)]
    pub var_files: Vec<PathBuf>,
    /// Target region [default: AWS_REGION, AWS_DEFAULT_REGION, the profile's, else us-east-1]
    #[arg(long)]
    pub region: Option<String>,
}

impl ScriptArgs {
    pub fn options(&self) -> Result<Options> {
        self.options_in(None)
    }

    /// [`ScriptArgs::options`] for a command run with `--profile`, whose
    /// region may come from that profile.
    pub fn options_in(&self, profile: Option<&str>) -> Result<Options> {
        // BP_VAR_<name> from the environment (how CI passes secrets), then
        // --var, which wins.
        let mut vars: BTreeMap<String, String> = std::env::vars_os()
            .filter_map(|(k, v)| {
                let k = k.to_str()?.strip_prefix("BP_VAR_")?.to_string();
                let v = v.into_string().ok()?;
                valid_var_name(&k).then_some((k, v))
            })
            .collect();
        for v in &self.vars {
            let Some((k, val)) = v.split_once('=') else {
                // Not repeated: it may be a secret written without its name.
                bail!("a --var is not KEY=VALUE (it has no `=`)");
            };
            let k = k.trim();
            if !valid_var_name(k) {
                bail!("--var {k}=...: the name must be letters, digits, `_` or `-`");
            }
            vars.insert(k.to_string(), val.to_string());
        }
        Ok(Options {
            vars,
            var_files: self.var_files.clone(),
            region: resolve_region(self.region.as_deref(), profile),
            secrets: blueprint::script::Secrets::Sealed,
        })
    }
}

fn valid_var_name(k: &str) -> bool {
    !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// aws-config's own region chain: --region, then the environment
/// (`AWS_REGION`, `AWS_DEFAULT_REGION`), then the profile (`AWS_PROFILE` in
/// `AWS_CONFIG_FILE`), else us-east-1. Instance metadata is not asked: a
/// command run off EC2 would wait for it.
pub fn resolve_region(flag: Option<&str>, profile: Option<&str>) -> String {
    use aws_config::meta::region::RegionProviderChain;
    use aws_config::{profile::ProfileFileRegionProvider, Region};
    let given = flag.map(str::to_string).into_iter().chain(
        ["AWS_REGION", "AWS_DEFAULT_REGION"]
            .iter()
            .filter_map(|k| std::env::var(k).ok()),
    );
    if let Some(r) = given.into_iter().find(|r| !r.is_empty()) {
        return r;
    }
    let mut from_profile = ProfileFileRegionProvider::builder();
    if let Some(p) = profile.filter(|p| !p.is_empty()) {
        from_profile = from_profile.profile_name(p);
    }
    let chain = RegionProviderChain::first_try(from_profile.build())
        .or_else(Region::from_static("us-east-1"));
    // The profile is read by an async provider: on its own thread, so that
    // this works inside and outside a runtime alike.
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .ok()
            .and_then(|rt| rt.block_on(chain.region()))
    })
    .join()
    .ok()
    .flatten()
    .map(|r| r.to_string())
    .unwrap_or_else(|| "us-east-1".to_string())
}

/// How `bp plan` and `bp show` print a plan.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlanFormat {
    /// For a terminal or a CI log
    Human,
    /// The plan JSON (docs/PLAN-JSON.md)
    Json,
    /// GitHub-flavoured Markdown for a pull-request comment, under GitHub's comment limit
    Markdown,
}

impl PlanFormat {
    /// `--format`, with `--json` as its shorthand.
    pub fn chosen(format: Option<PlanFormat>, json: bool) -> PlanFormat {
        match (format, json) {
            (Some(f), _) => f,
            (None, true) => PlanFormat::Json,
            (None, false) => PlanFormat::Human,
        }
    }
}

/// A plan printed in `format`.
pub fn print_plan(plan: &blueprint::plan::Plan, format: PlanFormat) -> Result<()> {
    use blueprint::plan::{markdown, render};
    match format {
        PlanFormat::Human => print!("{}", plan_text(render::human(plan))),
        PlanFormat::Json => println!("{}", plan_json(plan)?),
        PlanFormat::Markdown => print!(
            "{}",
            blueprint::redact::redact(&markdown::render(plan, markdown::GITHUB_LIMIT))
        ),
    }
    Ok(())
}

/// The plan's HTML report, written to `path` (secrets redacted as
/// everywhere).
pub fn write_html(plan: &blueprint::plan::Plan, path: &std::path::Path) -> Result<()> {
    let html = blueprint::redact::redact(&blueprint::plan::html::render(plan));
    std::fs::write(path, html).map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))
}

#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum GraphFormat {
    Dot,
    Mermaid,
    Json,
}

pub fn run(cli: Cli) -> Result<i32> {
    match cli.command {
        Command::Check(a) => check::run(&a),
        Command::Lint(a) => lint::run(&a),
        Command::Cost(a) => cost::run(&a),
        Command::Graph(a) => graph::run(&a),
        Command::Plan(a) => plan::run(&a),
        Command::Permissions(a) => permissions::run(&a),
        Command::Test(a) => test::run(&a),
        Command::Fmt(a) => fmt::run(&a),
        Command::Lsp(a) => lsp::run(&a),
        Command::Apply(a) => apply::run(&a),
        Command::Destroy(a) => destroy::run(&a),
        Command::Adopt(a) => adopt::run(&a),
        Command::Lock(a) => lock::run(&a),
        Command::Output(a) => output::run(&a),
        Command::Repl(a) => repl::run(&a),
        Command::Secrets(a) => secrets::run(&a),
        Command::Backup(a) => backup::run_command(&a),
        Command::Kubeconfig(a) => kubeconfig::run(&a),
        Command::EksToken(a) => eks_token::run(&a),
        Command::Show(a) => show::run(&a),
        Command::Completions(a) => completions::completions(&a),
        Command::Man => completions::man(),
        Command::Defs(a) => defs::run(&a),
    }
}

/// Says which AWS facts (`account_id()`, `azs()`) stood for placeholders in
/// a command that reads no AWS.
pub fn note_placeholders(eval: &blueprint::script::Evaluation, command: &str) {
    for p in &eval.placeholders {
        match p.strip_prefix("check:") {
            Some(what) => eprintln!(
                "note: {what} could not be checked: {command} reads no AWS; plan checks it"
            ),
            None => eprintln!(
                "note: {p} stands for a placeholder here: {command} reads no AWS; plan and apply read the real value"
            ),
        }
    }
}
