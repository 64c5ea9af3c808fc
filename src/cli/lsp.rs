//! `bp lsp`: the language server over stdio (see `blueprint::lsp`).

use anyhow::Result;
use clap::Args;

/// `bp lsp --version` is clap's, as for every command.
#[derive(Args, Debug)]
pub struct LspArgs {
    /// Accepted for editors that pass it; stdio is the only transport
    #[arg(long, hide = true)]
    pub stdio: bool,
}

pub fn run(_: &LspArgs) -> Result<i32> {
    let stdin = std::io::stdin();
    let stdout = std::io::stdout();
    Ok(blueprint::lsp::serve(stdin.lock(), stdout.lock()))
}
