//! The layer rule, checked on the sources (test code aside: tests may use
//! anything):
//! - the lower layers (`model`, `plan`, `providers`, `script`, `lint`,
//!   `cost`, `sops` and the small shared modules) never name `kinds`, the
//!   one list of every kind: what they need of a kind is its schema
//!   (`kind.schema()`), or behaviour the registry hands down;
//! - no cycle exists among the top-level modules, so each one can be read
//!   knowing only the ones below it (docs/ARCHITECTURE.md draws the order).

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};
    use std::path::{Path, PathBuf};

    const LOWER: &[&str] = &[
        "model",
        "plan",
        "providers",
        "script",
        "lint",
        "cost",
        "permissions",
        "sops",
        "diagnostic",
        "redact",
        "private",
        "interrupt",
        "render",
        "style",
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

    /// The lines of a file that are not comments or test code, and the
    /// names of modules it declares as test-only (`#[cfg(test)] mod x;`).
    fn code(text: &str) -> (Vec<&str>, Vec<String>) {
        let mut lines = Vec::new();
        let mut test_mods = Vec::new();
        let mut it = text.lines().map(str::trim);
        while let Some(l) = it.next() {
            if l.starts_with("//") {
                continue;
            }
            if l != "#[cfg(test)]" {
                lines.push(l);
                continue;
            }
            // Skip the item the attribute applies to.
            let Some(item) = it.next() else { break };
            if let Some(m) = item.strip_prefix("mod ").and_then(|m| m.strip_suffix(';')) {
                test_mods.push(m.to_string());
                continue;
            }
            let mut depth = item.matches('{').count() as i64 - item.matches('}').count() as i64;
            while depth > 0 {
                let Some(l) = it.next() else { break };
                depth += l.matches('{').count() as i64 - l.matches('}').count() as i64;
            }
        }
        (lines, test_mods)
    }

    /// Each source file outside test code, with its top-level module.
    fn sources() -> Vec<(String, PathBuf, String)> {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        rust_files(&src, &mut files);
        let texts: BTreeMap<PathBuf, String> = files
            .iter()
            .map(|f| (f.clone(), std::fs::read_to_string(f).unwrap()))
            .collect();
        let mut test_files = BTreeSet::new();
        for (f, t) in &texts {
            let dir = if f
                .file_name()
                .is_some_and(|n| n == "mod.rs" || n == "lib.rs")
            {
                f.parent().unwrap().to_path_buf()
            } else {
                f.with_extension("")
            };
            for m in code(t).1 {
                test_files.insert(dir.join(format!("{m}.rs")));
                test_files.insert(dir.join(&m).join("mod.rs"));
            }
        }
        texts
            .into_iter()
            .filter(|(f, _)| !test_files.contains(f))
            .map(|(f, t)| {
                let rel = f.strip_prefix(&src).unwrap();
                let top = rel
                    .components()
                    .next()
                    .unwrap()
                    .as_os_str()
                    .to_string_lossy();
                let top = top.trim_end_matches(".rs").to_string();
                let code = code(&t).0.join("\n");
                (top, rel.to_path_buf(), code)
            })
            .collect()
    }

    /// The top-level modules a piece of code names (`crate::plan::...`).
    fn named(code: &str) -> BTreeSet<String> {
        code.match_indices("crate::")
            .map(|(i, _)| {
                code[i + 7..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect()
            })
            .collect()
    }

    #[test]
    fn lower_layers_never_name_kinds() {
        let offenders: Vec<String> = sources()
            .into_iter()
            .filter(|(top, _, code)| LOWER.contains(&top.as_str()) && named(code).contains("kinds"))
            .map(|(_, f, _)| f.display().to_string())
            .collect();
        assert!(
            offenders.is_empty(),
            "{offenders:?} name crate::kinds: take what they need from the kind's schema, or have it handed in"
        );
    }

    #[test]
    fn the_top_level_modules_form_no_cycle() {
        let mut deps: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (top, _, code) in sources() {
            let entry = deps.entry(top.clone()).or_default();
            entry.extend(named(&code).into_iter().filter(|m| *m != top));
        }
        // Macros exported at the crate root are not modules.
        let modules: BTreeSet<String> = deps.keys().cloned().collect();
        for d in deps.values_mut() {
            d.retain(|m| modules.contains(m));
        }
        // Peel off modules that depend on nothing left; a cycle remains.
        let mut left = deps.clone();
        loop {
            let free: Vec<String> = left
                .iter()
                .filter(|(_, d)| d.iter().all(|m| !left.contains_key(m)))
                .map(|(m, _)| m.clone())
                .collect();
            if free.is_empty() {
                break;
            }
            for m in free {
                left.remove(&m);
            }
        }
        assert!(
            left.is_empty(),
            "these modules depend on each other in a cycle: {left:?}"
        );
        // The scan sees the edges it should.
        assert!(deps["engine"].contains("kinds"));
        assert!(deps["kinds"].contains("model"));
    }

    #[test]
    fn test_code_is_not_scanned() {
        let (lines, mods) = code(
            "use crate::model;\n#[cfg(test)]\nmod tests;\n#[cfg(test)]\nfn f() {\n    crate::kinds::x();\n}\n#[cfg(test)]\nmod t {\n    use crate::kinds;\n}\n// crate::kinds\n",
        );
        assert_eq!(lines, ["use crate::model;"]);
        assert_eq!(mods, ["tests"]);
        assert!(named("use crate::kinds::{a, b}; crate::model::X").contains("kinds"));
    }
}
