//! Blueprint: describe AWS EKS platforms as Rhai scripts, then plan and
//! apply them.
//!
//! The layers: [`script`] evaluates a blueprint into the desired-state
//! [`model`] (no I/O), [`diagnostic`] renders errors with source positions.

pub mod apply;
pub mod cost;
pub mod defs;
pub mod diagnostic;
pub mod engine;
pub mod interrupt;
pub mod kinds;
mod layers;
pub mod lint;
pub mod lsp;
pub mod model;
pub mod permissions;
pub mod plan;
pub mod private;
pub mod providers;
pub mod redact;
pub mod render;
pub mod repl;
pub mod script;
pub mod sops;
pub mod style;
pub mod testing;

use std::path::PathBuf;

/// Every error the library reports.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Mistakes in a blueprint, each with its position.
    #[error("{}", diagnostics.first().map(ToString::to_string).unwrap_or_default())]
    Script {
        diagnostics: Vec<diagnostic::Diagnostic>,
        sources: diagnostic::Sources,
    },
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    Usage(String),
}

impl Error {
    /// The full, user-facing text: snippets and hints for script errors.
    pub fn render(&self) -> String {
        match self {
            Error::Script {
                diagnostics,
                sources,
            } => diagnostics
                .iter()
                .map(|d| d.render(sources))
                .collect::<Vec<_>>()
                .join("\n"),
            other => format!("error: {other}\n"),
        }
    }
}
