//! `bp completions SHELL` and `bp man`: shell completions (clap_complete)
//! and a roff man page (clap_mangen), both generated from the command line
//! definition itself.

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
    use clap_complete::Shell as S;
    let shell = match a.shell {
        Shell::Bash => S::Bash,
        Shell::Zsh => S::Zsh,
        Shell::Fish => S::Fish,
        Shell::Powershell => S::PowerShell,
        Shell::Elvish => S::Elvish,
    };
    let mut cmd = super::Cli::command();
    clap_complete::generate(shell, &mut cmd, "bp", &mut std::io::stdout());
    Ok(0)
}

pub fn man() -> Result<i32> {
    clap_mangen::Man::new(super::Cli::command()).render(&mut std::io::stdout())?;
    Ok(0)
}
