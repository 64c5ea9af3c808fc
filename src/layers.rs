//! The layer rule, checked on the sources: the lower layers (`model`,
//! `plan`, `providers`, `script`, `lint`, `cost`, `sops`) never reach up
//! into `kinds`, the one list of every kind. A few files still do while
//! the restructure of issue 23 moves the vocabulary down and hands
//! behaviour in; they are listed here, and the list only shrinks: a new
//! file that reaches for `kinds` fails, and so does a listed file that no
//! longer needs to be listed.

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    /// Files of the lower layers that still name `crate::kinds` in code.
    const STILL_REACHING_UP: &[&str] = &[
        "src/model/address.rs",
        "src/model/validate.rs",
        "src/plan/mod.rs",
        "src/providers/inventory.rs",
        "src/providers/kube.rs",
        "src/providers/mod.rs",
        "src/script/api/mod.rs",
        "src/script/handles.rs",
        "src/script/schema.rs",
    ];

    const LOWER: &[&str] = &[
        "src/model",
        "src/plan",
        "src/providers",
        "src/script",
        "src/lint",
        "src/cost",
        "src/sops",
        "src/diagnostic.rs",
        "src/redact.rs",
        "src/private.rs",
    ];

    fn rust_files(p: &Path, out: &mut Vec<PathBuf>) {
        if p.is_dir() {
            for e in std::fs::read_dir(p).unwrap().flatten() {
                rust_files(&e.path(), out);
            }
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p.to_path_buf());
        }
    }

    /// Whether the file names `crate::kinds` outside comments.
    fn reaches_up(text: &str) -> bool {
        text.lines()
            .map(str::trim_start)
            .filter(|l| !l.starts_with("//"))
            .any(|l| l.contains("crate::kinds"))
    }

    #[test]
    fn lower_layers_reach_up_into_kinds_only_where_listed() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut files = Vec::new();
        for l in LOWER {
            rust_files(&root.join(l), &mut files);
        }
        let mut offenders: Vec<String> = files
            .iter()
            .filter(|f| reaches_up(&std::fs::read_to_string(f).unwrap()))
            .map(|f| f.strip_prefix(root).unwrap().to_string_lossy().into_owned())
            .collect();
        offenders.sort();
        let new: Vec<&String> = offenders
            .iter()
            .filter(|f| !STILL_REACHING_UP.contains(&f.as_str()))
            .collect();
        assert!(
            new.is_empty(),
            "{new:?} reach up into crate::kinds: take what they need as model types or hand it in"
        );
        let done: Vec<&&str> = STILL_REACHING_UP
            .iter()
            .filter(|f| !offenders.iter().any(|o| o == *f))
            .collect();
        assert!(
            done.is_empty(),
            "{done:?} no longer reach up into crate::kinds: take them off STILL_REACHING_UP"
        );
    }

    #[test]
    fn comments_do_not_count() {
        assert!(!reaches_up("//! see [`crate::kinds`]\nfn f() {}"));
        assert!(reaches_up("use crate::kinds::Read;"));
    }
}
