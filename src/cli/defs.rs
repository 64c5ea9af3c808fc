//! `bp defs [-o DIR]`: Rhai definition files for editors (see
//! `blueprint::defs`).

use anyhow::{Context, Result};
use clap::Args;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct DefsArgs {
    /// The folder to write them to (created if needed)
    #[arg(short = 'o', long = "out", value_name = "DIR", default_value = "defs")]
    pub out: PathBuf,
}

pub fn run(a: &DefsArgs) -> Result<i32> {
    std::fs::create_dir_all(&a.out)
        .with_context(|| format!("cannot create {}", a.out.display()))?;
    let files = blueprint::defs::generate();
    for (name, text) in &files {
        let path = a.out.join(name);
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    }
    println!(
        "Wrote {} definition files to {}: {}.",
        files.len(),
        a.out.display(),
        files
            .iter()
            .map(|(n, _)| n.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(0)
}
