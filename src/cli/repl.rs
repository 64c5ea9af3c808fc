//! `bp repl`: rustyline on a terminal, plain line reading otherwise.

use super::cloud::AwsArgs;
use anyhow::Result;
use blueprint::repl::complete::{self, Names};
use blueprint::repl::input::is_complete;
use blueprint::repl::{AwsTarget, Outcome, Repl};
use blueprint::script::Options;
use clap::Args;
use rustyline::completion::{Completer, Pair};
use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::{Context, Editor, Helper, Validator};
use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;
use std::rc::Rc;

#[derive(Args, Debug)]
pub struct ReplArgs {
    /// A blueprint to evaluate first
    #[arg(add = clap_complete::ArgValueCompleter::new(super::completions::rhai_files))]
    pub file: Option<PathBuf>,
    /// An input for the script, read with var("key"); repeatable
    #[arg(
        long = "var",
        value_name = "KEY=VALUE",
        add = clap_complete::ArgValueCompleter::new(super::completions::var_names)
    )]
    pub vars: Vec<String>,
    /// Target region [default: AWS_REGION, AWS_DEFAULT_REGION, the profile's, else us-east-1]
    #[arg(long)]
    pub region: Option<String>,
    #[command(flatten)]
    pub aws: AwsArgs,
}

/// Completion and hints over the whole pending input (earlier lines of a
/// multi-line entry included).
#[derive(Helper, Validator)]
struct BpHelper {
    names: Rc<RefCell<Names>>,
    pending: Rc<RefCell<String>>,
    /// Colour the prompt and hints (`--color`, on a terminal by default).
    colour: bool,
}

impl Highlighter for BpHelper {
    fn highlight_prompt<'b, 's: 'b, 'p: 'b>(&'s self, prompt: &'p str, _: bool) -> Cow<'b, str> {
        if self.colour {
            Cow::Owned(blueprint::style::prompt(prompt))
        } else {
            Cow::Borrowed(prompt)
        }
    }

    fn highlight_hint<'h>(&self, hint: &'h str) -> Cow<'h, str> {
        if self.colour {
            Cow::Owned(blueprint::style::hint(hint))
        } else {
            Cow::Borrowed(hint)
        }
    }
}

impl Completer for BpHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let before = format!("{}{}", self.pending.borrow(), &line[..pos]);
        let (len, candidates) = complete::complete(&before, &self.names.borrow());
        let start = pos.saturating_sub(len.min(pos));
        Ok((
            start,
            candidates
                .into_iter()
                .map(|c| Pair {
                    display: c.clone(),
                    replacement: c,
                })
                .collect(),
        ))
    }
}

impl Hinter for BpHelper {
    type Hint = String;

    fn hint(&self, line: &str, pos: usize, _: &Context<'_>) -> Option<String> {
        if pos < line.len() || !line.ends_with(['(', ',', ' ']) {
            return None;
        }
        let before = format!("{}{line}", self.pending.borrow());
        complete::signature_hint(&before).map(|s| format!("   {s}"))
    }
}

fn history_path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))?;
    Some(base.join("blueprint").join("history"))
}

pub fn run(a: &ReplArgs) -> Result<i32> {
    let mut vars = BTreeMap::new();
    for v in &a.vars {
        let Some((k, val)) = v.split_once('=') else {
            anyhow::bail!("a --var is not KEY=VALUE (it has no `=`)");
        };
        vars.insert(k.trim().to_string(), val.to_string());
    }
    let options = Options {
        vars,
        region: super::resolve_region(a.region.as_deref(), a.aws.profile.as_deref()),
        secrets: super::cloud::decrypting(&a.aws),
        ..Options::default()
    };
    let root = a
        .file
        .as_ref()
        .and_then(|f| f.parent())
        .filter(|p| !p.as_os_str().is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."));
    let aws = AwsTarget {
        profile: a.aws.profile.clone(),
        endpoint_url: a.aws.endpoint_url.clone(),
        kube: a.aws.kube_target()?,
        prices: a.aws.prices.clone(),
    };
    let mut repl = Repl::new(&options, aws, &root);
    // Ctrl-C stops a running evaluation; at the prompt the editor takes it.
    blueprint::interrupt::set_graceful(true);
    let mut failed = false;
    if let Some(f) = &a.file {
        match repl.load(f) {
            Outcome::Output(s) => eprintln!("{s}"),
            Outcome::Error(e) => {
                eprint!("{}", super::error_text(e.clone()));
                failed = true;
            }
            Outcome::Quit => return Ok(0),
        }
    }
    if std::io::stdin().is_terminal() {
        interactive(&mut repl)
    } else {
        Ok(if plain(&mut repl)? || failed { 1 } else { 0 })
    }
}

/// Prints an outcome, coloured where colour is on; true when it was an
/// error.
fn report(o: &Outcome) -> bool {
    match o {
        Outcome::Output(s) if !s.is_empty() => {
            if super::colour_on(&std::io::stdout()) {
                println!("{}", blueprint::style::result(s));
            } else {
                println!("{s}");
            }
            false
        }
        Outcome::Error(e) => {
            eprint!("{}", super::error_text(e.clone()));
            true
        }
        _ => false,
    }
}

/// Without a terminal: lines from stdin with the same multi-line rules;
/// returns whether any input failed.
fn plain(repl: &mut Repl) -> Result<bool> {
    let mut failed = false;
    let mut pending = String::new();
    for line in std::io::stdin().lock().lines() {
        let line = line?;
        pending.push_str(&line);
        pending.push('\n');
        if !pending.trim_start().starts_with(':') && !is_complete(&pending) {
            continue;
        }
        let input = std::mem::take(&mut pending);
        let outcome = repl.handle(&input);
        if matches!(outcome, Outcome::Quit) {
            return Ok(failed);
        }
        failed |= report(&outcome);
    }
    if !pending.trim().is_empty() {
        eprintln!("error: the input ends inside an unfinished expression");
        failed = true;
    }
    Ok(failed)
}

fn interactive(repl: &mut Repl) -> Result<i32> {
    let names = Rc::new(RefCell::new(repl.names()));
    let pending = Rc::new(RefCell::new(String::new()));
    let mut editor: Editor<BpHelper, rustyline::history::DefaultHistory> = Editor::new()?;
    editor.set_helper(Some(BpHelper {
        names: names.clone(),
        pending: pending.clone(),
        colour: super::colour_on(&std::io::stdout()),
    }));
    let history = history_path();
    if let Some(h) = &history {
        let _ = editor.load_history(h);
    }
    println!("Blueprint REPL: :help for commands, Tab completes, Ctrl-D leaves.");
    loop {
        let prompt = if pending.borrow().is_empty() {
            "bp> "
        } else {
            "..> "
        };
        match editor.readline(prompt) {
            Ok(line) => {
                pending.borrow_mut().push_str(&line);
                pending.borrow_mut().push('\n');
                let text = pending.borrow().clone();
                if !text.trim_start().starts_with(':') && !is_complete(&text) {
                    continue;
                }
                pending.borrow_mut().clear();
                let _ = editor.add_history_entry(text.trim_end());
                blueprint::interrupt::clear();
                let outcome = repl.handle(&text);
                if matches!(outcome, Outcome::Quit) {
                    break;
                }
                report(&outcome);
                *names.borrow_mut() = repl.names();
            }
            Err(ReadlineError::Interrupted) => {
                // Ctrl-C drops the line (and an unfinished entry).
                pending.borrow_mut().clear();
            }
            Err(ReadlineError::Eof) => break,
            Err(e) => return Err(e.into()),
        }
    }
    if let Some(h) = &history {
        if let Some(dir) = h.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let _ = editor.save_history(h);
    }
    Ok(0)
}
