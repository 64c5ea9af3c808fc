//! `bp test`: runs the tests of blueprints and stdlib modules
//! (`*.test.rhai`), with no AWS call.

use anyhow::{Context, Result};
use blueprint::testing;
use clap::Args;
use std::path::PathBuf;
use std::time::Instant;

#[derive(Args, Debug)]
pub struct TestArgs {
    /// Test files, or folders searched for `*.test.rhai` (default: the
    /// current folder)
    pub paths: Vec<PathBuf>,
    /// Run only the tests whose name contains this
    #[arg(long)]
    pub filter: Option<String>,
    /// Also write the results as JUnit XML to this file, for CI
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// How many files run at once (default: the machine's cores)
    #[arg(long, short = 'j')]
    pub jobs: Option<usize>,
    /// The AWS region blueprints are evaluated for
    #[arg(long, default_value = "us-east-1")]
    pub region: String,
}

pub fn run(a: &TestArgs) -> Result<i32> {
    let start = Instant::now();
    let paths = if a.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        a.paths.clone()
    };
    let files = testing::discover(&paths)?;
    if files.is_empty() {
        anyhow::bail!(
            "no test files (*.test.rhai) under {}",
            paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let jobs = a.jobs.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    });
    let results = testing::run(
        &files,
        &testing::Options {
            filter: a.filter.clone(),
            region: a.region.clone(),
            jobs,
        },
    );
    print!(
        "{}",
        blueprint::redact::redact(&testing::human(&results, start.elapsed()))
    );
    if let Some(path) = &a.junit {
        std::fs::write(
            path,
            blueprint::redact::redact(&testing::junit::render(&results)),
        )
        .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(if testing::Totals::of(&results).ok() {
        0
    } else {
        1
    })
}
