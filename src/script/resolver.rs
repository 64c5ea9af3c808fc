//! `import "name"`: the stdlib (embedded in the binary) or a file inside the
//! blueprint's folder. Nothing outside that folder is ever read.

use super::state::Fault;
use crate::diagnostic::Sources;
use crate::model::{Problem, Span};
use rhai::{Dynamic, Engine, EvalAltResult, Module, ModuleResolver, Position, Scope, Shared};
use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The stdlib modules, by import name.
pub const STDLIB: &[(&str, &str)] = &[
    ("net", include_str!("../../stdlib/net.rhai")),
    ("eks", include_str!("../../stdlib/eks.rhai")),
    ("k8s", include_str!("../../stdlib/k8s.rhai")),
    ("backup", include_str!("../../stdlib/backup.rhai")),
];

pub struct Resolver {
    /// The blueprint's folder, as the user wrote it (for display) and canonical.
    root: PathBuf,
    display_root: PathBuf,
    sources: Sources,
    cache: RefCell<HashMap<String, Shared<Module>>>,
}

impl Resolver {
    pub fn new(display_root: &Path, sources: Sources) -> Resolver {
        let root = display_root
            .canonicalize()
            .unwrap_or_else(|_| display_root.to_path_buf());
        Resolver {
            root,
            display_root: display_root.to_path_buf(),
            sources,
            cache: RefCell::new(HashMap::new()),
        }
    }

    fn fault(source: Option<&str>, pos: Position, problem: Problem) -> Box<EvalAltResult> {
        let frames = pos
            .line()
            .map(|line| Span {
                source: source.unwrap_or("<script>").to_string(),
                line,
                col: pos.position().unwrap_or(1),
            })
            .into_iter()
            .collect();
        Box::new(EvalAltResult::ErrorRuntime(
            Dynamic::from(Fault {
                problem,
                frames,
                notes: Vec::new(),
            }),
            pos,
        ))
    }

    /// Finds the module's text and the name it is shown under.
    fn locate(
        &self,
        source: Option<&str>,
        path: &str,
        pos: Position,
    ) -> Result<(String, String), Box<EvalAltResult>> {
        if let Some((_, text)) = STDLIB.iter().find(|(n, _)| *n == path) {
            return Ok((format!("stdlib/{path}.rhai"), text.to_string()));
        }
        let is_plain_name = !path.contains('/') && !path.contains('.') && !path.contains('\\');
        if is_plain_name && !self.root.join(format!("{path}.rhai")).exists() {
            let names: Vec<&str> = STDLIB.iter().map(|(n, _)| *n).collect();
            let hint = match crate::model::names::suggest(path, names.iter().copied()) {
                Some(s) => format!("did you mean the stdlib module \"{s}\"?"),
                None => format!(
                    "stdlib modules: {}; or give a path relative to the blueprint's folder",
                    names.join(", ")
                ),
            };
            return Err(Self::fault(
                source,
                pos,
                Problem::new(format!("no module named \"{path}\"")).hint(hint),
            ));
        }
        let rel = if path.ends_with(".rhai") {
            path.to_string()
        } else {
            format!("{path}.rhai")
        };
        let outside = || {
            Self::fault(
                source,
                pos,
                Problem::new(format!(
                    "import \"{path}\" is outside the blueprint's folder"
                ))
                .hint("blueprints may import the stdlib and files in their own folder only"),
            )
        };
        if escapes(Path::new(&rel)) {
            return Err(outside());
        }
        let full = self.root.join(&rel);
        let canonical = full.canonicalize().map_err(|e| {
            Self::fault(
                source,
                pos,
                Problem::new(format!("cannot import \"{path}\": {e}")),
            )
        })?;
        if !canonical.starts_with(&self.root) {
            return Err(outside());
        }
        let text = std::fs::read_to_string(&canonical).map_err(|e| {
            Self::fault(
                source,
                pos,
                Problem::new(format!("cannot read \"{path}\": {e}")),
            )
        })?;
        let shown = self.display_root.join(&rel).to_string_lossy().to_string();
        Ok((shown, text))
    }
}

/// A file inside `root` named by a path relative to it; `Err` says why not
/// (it leaves the folder, by its words or through a symlink, or is missing).
pub fn inside(root: &Path, rel: &str) -> Result<PathBuf, String> {
    if escapes(Path::new(rel)) {
        return Err(format!("\"{rel}\" is outside the blueprint's folder"));
    }
    let root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    let full = root
        .join(rel)
        .canonicalize()
        .map_err(|e| format!("cannot open \"{rel}\": {e}"))?;
    if !full.starts_with(&root) {
        return Err(format!("\"{rel}\" is outside the blueprint's folder"));
    }
    Ok(full)
}

/// Whether a relative path leaves its folder by its own words (absolute, or
/// more `..` than names at some point). Symlinks are checked after this.
fn escapes(p: &Path) -> bool {
    use std::path::Component;
    let mut depth = 0i32;
    for c in p.components() {
        match c {
            Component::Normal(_) => depth += 1,
            Component::ParentDir => depth -= 1,
            Component::CurDir => {}
            Component::RootDir | Component::Prefix(_) => return true,
        }
        if depth < 0 {
            return true;
        }
    }
    false
}

impl ModuleResolver for Resolver {
    fn resolve(
        &self,
        engine: &Engine,
        source: Option<&str>,
        path: &str,
        pos: Position,
    ) -> Result<Shared<Module>, Box<EvalAltResult>> {
        let (name, text) = self.locate(source, path, pos)?;
        if let Some(m) = self.cache.borrow().get(&name) {
            return Ok(m.clone());
        }
        self.sources.insert(&name, &text);
        let mut ast = engine
            .compile(&text)
            .map_err(|e| Box::new(EvalAltResult::ErrorInModule(name.clone(), e.into(), pos)))?;
        ast.set_source(name.as_str());
        let mut module = Module::eval_ast_as_new(Scope::new(), &ast, engine)
            .map_err(|e| Box::new(EvalAltResult::ErrorInModule(name.clone(), e, pos)))?;
        module.set_id(name.as_str());
        let module: Shared<Module> = module.into();
        self.cache.borrow_mut().insert(name, module.clone());
        Ok(module)
    }
}
