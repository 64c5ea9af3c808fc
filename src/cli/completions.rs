//! `bp completions SHELL` and `bp man`: shell completions (clap_complete)
//! and a roff man page (clap_mangen), both generated from the command line
//! definition itself.
//!
//! Completions are dynamic: the script `bp completions SHELL` prints asks
//! `bp` itself (with `COMPLETE=SHELL` set) for candidates, so that a
//! blueprint argument completes to `*.rhai` files and `--var` to the names
//! of the vars the blueprint on the command line reads.

use anyhow::Result;
use clap::{Args, CommandFactory, ValueEnum};

#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
    Powershell,
    Elvish,
}

#[derive(Args, Debug)]
pub struct CompletionsArgs {
    /// The shell to complete in
    pub shell: Shell,
}

pub fn completions(a: &CompletionsArgs) -> Result<i32> {
    let name = match a.shell {
        Shell::Bash => "bash",
        Shell::Zsh => "zsh",
        Shell::Fish => "fish",
        Shell::Powershell => "powershell",
        Shell::Elvish => "elvish",
    };
    let shells = clap_complete::env::Shells::builtins();
    let shell = shells
        .completer(name)
        .ok_or_else(|| anyhow::anyhow!("no completions for {name}"))?;
    let exe = std::env::current_exe()
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_else(|_| "bp".into());
    shell.write_registration("COMPLETE", "bp", "bp", &exe, &mut std::io::stdout())?;
    Ok(0)
}

/// Answers a shell's completion request (`COMPLETE=SHELL bp -- WORDS`)
/// and exits; does nothing otherwise.
pub fn answer_if_asked() {
    clap_complete::CompleteEnv::with_factory(super::Cli::command).complete();
}

/// Candidates for a blueprint argument: `*.rhai` files and folders.
pub fn rhai_files(current: &std::ffi::OsStr) -> Vec<clap_complete::CompletionCandidate> {
    let current = current.to_string_lossy();
    let (dir, prefix) = match current.rfind('/') {
        Some(i) => (&current[..=i], &current[i + 1..]),
        None => ("", current.as_ref()),
    };
    let read = if dir.is_empty() { "." } else { dir };
    let Ok(entries) = std::fs::read_dir(read) else {
        return Vec::new();
    };
    let mut out: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            if !name.starts_with(prefix) || (name.starts_with('.') && !prefix.starts_with('.')) {
                return None;
            }
            let is_dir = e.file_type().is_ok_and(|t| t.is_dir());
            if is_dir {
                Some(format!("{dir}{name}/"))
            } else if name.ends_with(".rhai") || name.ends_with(".json") {
                Some(format!("{dir}{name}"))
            } else {
                None
            }
        })
        .collect();
    out.sort();
    out.into_iter()
        .map(clap_complete::CompletionCandidate::new)
        .collect()
}

/// Candidates for `--var`: `name=` for each var the blueprint on the
/// command line reads (`var("name")`, `var("name", default)`).
pub fn var_names(current: &std::ffi::OsStr) -> Vec<clap_complete::CompletionCandidate> {
    let current = current.to_string_lossy();
    if current.contains('=') {
        return Vec::new();
    }
    let Some(text) = std::env::args()
        .filter(|a| a.ends_with(".rhai"))
        .find_map(|a| std::fs::read_to_string(a).ok())
    else {
        return Vec::new();
    };
    let re = regex::Regex::new(r#"\bvar\(\s*"([A-Za-z0-9_-]+)""#).expect("a valid pattern");
    let mut names: Vec<String> = re
        .captures_iter(&text)
        .map(|c| c[1].to_string())
        .filter(|n| n.starts_with(current.as_ref()))
        .collect();
    names.sort();
    names.dedup();
    names
        .into_iter()
        .map(|n| clap_complete::CompletionCandidate::new(format!("{n}=")))
        .collect()
}

pub fn man() -> Result<i32> {
    clap_mangen::Man::new(super::Cli::command()).render(&mut std::io::stdout())?;
    Ok(0)
}
