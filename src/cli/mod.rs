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
mod graph;
mod kubeconfig;
mod lint;
mod lock;
mod plan;
mod progress;
mod repl;
mod secrets;
mod show;

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

/// Logs to stderr: `RUST_LOG` when set, else Blueprint's warnings, `-v`
/// info and `-vv` every request (debug); as JSON lines with `--log-json`.
pub fn init_logging(verbosity: u8, json: bool) {
    use tracing_subscriber::EnvFilter;
    let filter = match std::env::var("RUST_LOG") {
        Ok(v) if !v.is_empty() => EnvFilter::new(v),
        // Blueprint's own events only: libraries speak under RUST_LOG.
        _ => EnvFilter::new(match verbosity {
            0 => "off,blueprint=warn",
            1 => "off,blueprint=info",
            _ => "off,blueprint=debug",
        }),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false);
    if json {
        builder.json().init();
    } else {
        builder.init();
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
    if blueprint::style::enabled(choice(), std::io::stdout().is_terminal()) {
        blueprint::style::plan(&text)
    } else {
        text
    }
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
    /// Change AWS to match a blueprint, or apply a saved plan exactly
    Apply(apply::ApplyArgs),
    /// Delete everything a blueprint owns
    Destroy(destroy::DestroyArgs),
    /// The blueprint's apply lock: who holds it, and removing a stale one
    Lock(lock::LockArgs),
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
    /// Target region [default: AWS_REGION, AWS_DEFAULT_REGION, else us-east-1]
    #[arg(long)]
    pub region: Option<String>,
}

impl ScriptArgs {
    pub fn options(&self) -> Result<Options> {
        let mut vars = BTreeMap::new();
        for v in &self.vars {
            let Some((k, val)) = v.split_once('=') else {
                bail!("--var `{v}` is not KEY=VALUE");
            };
            let k = k.trim();
            if k.is_empty()
                || !k
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            {
                bail!("--var `{v}`: the name must be letters, digits, `_` or `-`");
            }
            vars.insert(k.to_string(), val.to_string());
        }
        Ok(Options {
            vars,
            region: resolve_region(self.region.as_deref()),
            secrets: blueprint::script::Secrets::Sealed,
        })
    }
}

/// --region, then the environment, then us-east-1.
pub fn resolve_region(flag: Option<&str>) -> String {
    flag.map(str::to_string)
        .or_else(|| std::env::var("AWS_REGION").ok().filter(|s| !s.is_empty()))
        .or_else(|| {
            std::env::var("AWS_DEFAULT_REGION")
                .ok()
                .filter(|s| !s.is_empty())
        })
        .unwrap_or_else(|| "us-east-1".to_string())
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
        Command::Apply(a) => apply::run(&a),
        Command::Destroy(a) => destroy::run(&a),
        Command::Adopt(a) => adopt::run(&a),
        Command::Lock(a) => lock::run(&a),
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
        eprintln!(
            "note: {p} stands for a placeholder here: {command} reads no AWS; plan and apply read the real value"
        );
    }
}
