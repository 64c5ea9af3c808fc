//! `bp fmt [--check] PATH...`: formats blueprints, stdlib modules and test
//! files in place, or with `--check` lists (with a diff) those that are
//! not formatted and exits 1, for CI. A file that does not parse is
//! reported with its positioned error and left as it is.

use anyhow::{Context, Result};
use blueprint::script::format::format;
use clap::Args;
use std::path::{Path, PathBuf};

#[derive(Args, Debug)]
pub struct FmtArgs {
    /// Files (*.rhai), or folders searched for them
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Change nothing: show what is not formatted, as a diff, and exit 1 if anything is
    #[arg(long)]
    pub check: bool,
}

fn collect(p: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    if p.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(p)
            .with_context(|| format!("cannot read {}", p.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        entries.sort();
        for e in entries {
            let name = e
                .file_name()
                .map(|n| n.to_string_lossy().to_string())
                .unwrap_or_default();
            if e.is_dir() {
                if !name.starts_with('.') && name != "target" && name != "node_modules" {
                    collect(&e, out)?;
                }
            } else if name.ends_with(".rhai") {
                out.push(e);
            }
        }
        Ok(())
    } else if p.exists() {
        out.push(p.to_path_buf());
        Ok(())
    } else {
        anyhow::bail!("{}: no such file or folder", p.display())
    }
}

/// Writes `text` to `path` through a file beside it, renamed over it.
fn replace(path: &Path, text: &str) -> Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("cannot write beside {}", path.display()))?;
    use std::io::Write;
    tmp.write_all(text.as_bytes())?;
    if let Ok(meta) = std::fs::metadata(path) {
        let _ = std::fs::set_permissions(tmp.path(), meta.permissions());
    }
    tmp.persist(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

pub fn run(a: &FmtArgs) -> Result<i32> {
    let mut files = Vec::new();
    for p in &a.paths {
        collect(p, &mut files)?;
    }
    let (mut changed, mut failed) = (Vec::new(), 0usize);
    for f in &files {
        let name = f.to_string_lossy().to_string();
        let text = std::fs::read_to_string(f).with_context(|| format!("cannot read {name}"))?;
        // What does not parse is not formatted.
        let root = f.parent().unwrap_or(Path::new("."));
        let session = blueprint::script::Session::new(&Default::default(), root);
        if let Err(e) = session.engine().compile(&text) {
            let sources = blueprint::diagnostic::Sources::default();
            sources.insert(&name, &text);
            let d = blueprint::script::parse_diagnostic(&name, &text, &e);
            eprint!("{}", super::error_text(d.render(&sources)));
            failed += 1;
            continue;
        }
        let formatted = match format(&text) {
            Ok(t) => t,
            Err(e) => {
                eprintln!(
                    "{}",
                    super::error_text(format!("error: {name}: cannot format: {e}"))
                );
                failed += 1;
                continue;
            }
        };
        if formatted == text {
            continue;
        }
        if a.check {
            let diff = similar::TextDiff::from_lines(&text, &formatted);
            print!(
                "{}",
                diff.unified_diff()
                    .context_radius(2)
                    .header(&name, &format!("{name} (formatted)"))
            );
        } else {
            replace(f, &formatted)?;
        }
        changed.push(name);
    }
    if a.check {
        if changed.is_empty() && failed == 0 {
            println!("{} file(s) formatted as bp fmt formats them.", files.len());
        } else {
            for c in &changed {
                println!("not formatted: {c}");
            }
        }
        return Ok(if changed.is_empty() && failed == 0 {
            0
        } else {
            1
        });
    }
    println!(
        "Formatted {} of {} file(s){}.",
        changed.len(),
        files.len(),
        if failed > 0 {
            format!("; {failed} could not be")
        } else {
            String::new()
        }
    );
    Ok(if failed > 0 { 1 } else { 0 })
}
