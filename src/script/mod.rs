//! From a blueprint script to a validated desired-state graph, with no AWS
//! call: the engine, the typed functions, option schemas and error mapping.

pub mod api;
pub mod engine;
mod error;
pub mod format;
pub mod handles;
pub mod hooks;
pub(crate) mod resolver;
pub mod schema;
pub mod state;

pub use resolver::STDLIB;

use crate::diagnostic::{Diagnostic, Sources};
use crate::model::{validate, Graph, Value};
use crate::Error;
use rhai::{Dynamic, Engine, Scope, AST};
use state::{Shared, State};
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::rc::Rc;

/// Inputs of an evaluation.
#[derive(Clone, Debug, Default)]
pub struct Options {
    pub vars: BTreeMap<String, String>,
    /// `--var-file` files (YAML or JSON maps of names to values), read in
    /// order before `vars`, which win. A sops-encrypted one is decrypted as
    /// `secrets` says, and all its values are sensitive.
    pub var_files: Vec<PathBuf>,
    pub region: String,
    pub secrets: Secrets,
}

/// What `sops_file` does with a file's values.
#[derive(Clone, Debug, Default)]
pub enum Secrets {
    /// Check the file's form and metadata but decrypt nothing: every value
    /// stays sensitive and unknown, and no key or AWS access is needed
    /// (`bp check`, `bp graph`, `bp destroy`).
    #[default]
    Sealed,
    /// Decrypt with the age identities and this AWS access, the same as
    /// every other AWS call of the command (`bp plan`, `bp apply`, the REPL).
    Decrypt(crate::sops::KmsAccess),
}

/// A script engine with one scope that lives across evaluations (the REPL
/// evaluates line after line into the same session).
pub struct Session {
    engine: Engine,
    scope: Scope<'static>,
    state: Shared,
    sources: Sources,
    /// Functions defined so far, kept so that later lines can call them.
    functions: AST,
    options: Options,
    root: PathBuf,
}

impl Session {
    /// `root` is the blueprint's folder: imports resolve inside it.
    pub fn new(options: &Options, root: &Path) -> Session {
        let sources = Sources::default();
        let state: Shared = Rc::new(RefCell::new(State {
            region: options.region.clone(),
            vars: options.vars.clone(),
            root: root.to_path_buf(),
            secrets: options.secrets.clone(),
            ..State::default()
        }));
        let engine = engine::build(&state, &sources, root);
        Session {
            engine,
            scope: Scope::new(),
            state,
            sources,
            functions: AST::empty(),
            options: options.clone(),
            root: root.to_path_buf(),
        }
    }

    pub fn sources(&self) -> &Sources {
        &self.sources
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The engine, to register more functions on (`bp test`'s).
    pub fn engine_mut(&mut self) -> &mut Engine {
        &mut self.engine
    }

    pub fn scope(&self) -> &Scope<'static> {
        &self.scope
    }

    pub fn options(&self) -> &Options {
        &self.options
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn script_error(&self, d: Diagnostic) -> Error {
        Error::Script {
            diagnostics: vec![d],
            sources: self.sources.clone(),
        }
    }

    /// Compiles and runs `text`, shown in errors as `name`.
    pub fn eval(&mut self, name: &str, text: &str) -> Result<Dynamic, Error> {
        crate::interrupt::clear();
        state::reset_allow();
        self.sources.insert(name, text);
        let mut ast = self
            .engine
            .compile_with_scope(&self.scope, text)
            .map_err(|e| self.script_error(error::from_parse(name, text, &e)))?;
        ast.set_source(name);
        let merged = self.functions.merge(&ast);
        // The tag tells constructors which script the call stack starts in.
        self.engine
            .set_default_tag(Dynamic::from(rhai::ImmutableString::from(name)));
        let result = self
            .engine
            .eval_ast_with_scope::<Dynamic>(&mut self.scope, &merged)
            .map_err(|e| self.script_error(error::from_eval(name, &e)));
        // Keep the functions this text defined for later evaluations.
        self.functions = self.functions.merge(&ast.clone_functions_only());
        result
    }

    /// Keeps the modules that `text` imported (`import "net" as net;`) for
    /// later evaluations, as the REPL evaluates line after line.
    pub fn remember_imports(&mut self, text: &str) {
        for stmt in text.split(';') {
            let stmt = stmt.trim();
            let Some(rest) = stmt.strip_prefix("import") else {
                continue;
            };
            let rest = rest.trim_start();
            let Some(rest) = rest.strip_prefix('"') else {
                continue;
            };
            let Some((path, tail)) = rest.split_once('"') else {
                continue;
            };
            let Some(alias) = tail.trim().strip_prefix("as") else {
                continue;
            };
            let alias = alias.trim();
            if alias.is_empty() || !alias.chars().all(|c| c.is_alphanumeric() || c == '_') {
                continue;
            }
            let resolved = self.engine.module_resolver().resolve(
                &self.engine,
                None,
                path,
                rhai::Position::NONE,
            );
            if let Ok(module) = resolved {
                self.engine.register_static_module(alias, module);
            }
        }
    }

    /// Reads and evaluates a blueprint file.
    pub fn eval_file(&mut self, path: &Path) -> Result<(), Error> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        self.eval(&path.to_string_lossy(), &text).map(|_| ())
    }

    /// The resources declared so far, unvalidated.
    pub fn graph(&self) -> Graph {
        self.state.borrow().graph.clone()
    }

    /// The whole-graph checks: references, cycles, CIDRs, zones.
    pub fn validate(&self) -> Result<Graph, Error> {
        let st = self.state.borrow();
        let mut diagnostics = Vec::new();
        let mut reported = std::collections::BTreeSet::new();
        for (a, origin) in &st.forward_refs {
            if !st.graph.contains(a) && reported.insert(a.clone()) {
                diagnostics.push(
                    Diagnostic::new(format!(
                        "ref(\"{a}\") names a resource that is not declared"
                    ))
                    .at(origin.frames.clone())
                    .with_hint(Some(format!("declare {a}, or fix the address"))),
                );
            }
        }
        for (a, p) in validate::graph(&st.graph, &st.region, &reported, hooks::graph_checks()) {
            let frames = st
                .graph
                .get(&a)
                .map(|r| r.origin.frames.clone())
                .unwrap_or_default();
            diagnostics.push(Diagnostic::new(p.message).at(frames).with_hint(p.hint));
        }
        if diagnostics.is_empty() {
            Ok(st.graph.split_existing().0)
        } else {
            Err(Error::Script {
                diagnostics,
                sources: self.sources.clone(),
            })
        }
    }

    /// Reads the options' `--var-file` files into the variables; `--var`
    /// values win over them.
    pub fn load_var_files(&mut self) -> Result<(), Error> {
        let secrets = self.options.secrets.clone();
        for file in &self.options.var_files {
            let loaded = api::secrets::var_file(file, &secrets)
                .map_err(|e| Error::Usage(format!("--var-file {}: {e}", file.display())))?;
            let mut st = self.state.borrow_mut();
            for (name, value) in loaded {
                if self.options.vars.contains_key(&name) {
                    continue;
                }
                match value {
                    api::secrets::VarValue::Plain(v) => {
                        st.secret_vars.remove(&name);
                        st.vars.insert(name, v);
                    }
                    api::secrets::VarValue::Secret(v) => {
                        st.vars.remove(&name);
                        st.secret_vars.insert(name, v);
                    }
                }
            }
        }
        Ok(())
    }

    /// The variables whose values are secrets: declared so
    /// (`var(name, #{ sensitive: true })`), given in an encrypted var file,
    /// or passed in plain text and used whole as a secret (a password, a
    /// Secret's data value). Their values never leave the process; saved plans
    /// keep verifiers of them.
    /// `secrets` are the clear texts of the secrets the graph holds
    /// ([`graph_secrets`]).
    pub fn sensitive_vars(&self, secrets: &BTreeSet<String>) -> BTreeSet<String> {
        let st = self.state.borrow();
        let mut out: BTreeSet<String> = st.secret_vars.keys().cloned().collect();
        out.extend(st.vars_sensitive.iter().cloned());
        for (name, value) in &st.vars_read {
            let passed = st.vars.get(name) == Some(value);
            // The whole secret, not a part of one: a host name inside a
            // connection string a sops file holds is not a secret itself.
            let used_as_secret = secrets.contains(value);
            if passed && !value.is_empty() && used_as_secret {
                out.insert(name.clone());
            }
        }
        out
    }

    /// The variables given to the run that the script read, with their
    /// values in clear (those of an encrypted var file only when it was
    /// decrypted). Variables it did not read (a `BP_VAR_*` meant for another
    /// blueprint) are left out: a saved plan never records them.
    pub fn vars_given(&self) -> BTreeMap<String, String> {
        let st = self.state.borrow();
        let mut out: BTreeMap<String, String> = st
            .vars
            .iter()
            .filter(|(k, _)| st.vars_read.contains_key(*k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for (k, v) in st
            .secret_vars
            .iter()
            .filter(|(k, _)| st.vars_read.contains_key(*k))
        {
            if let Some(Value::Str(t)) = &v.value {
                out.insert(k.clone(), t.clone());
            } else if let Some(other) = &v.value {
                out.insert(k.clone(), other.to_string());
            }
        }
        out
    }

    /// The existing resources the script refers to (`existing_vpc(id)`),
    /// which the validated graph leaves out.
    pub fn existing(&self) -> Vec<crate::model::Resource> {
        self.state.borrow().graph.split_existing().1
    }

    /// What lint needs from the run beyond the graph.
    pub fn lint_facts(&self) -> crate::lint::Facts {
        let st = self.state.borrow();
        crate::lint::Facts {
            vars: st.vars_read.clone(),
            default_tags: st.default_tags.clone(),
            allows: st.allows.clone(),
            existing: st.graph.split_existing().1,
        }
    }

    /// The name set with `blueprint_name(...)`, else the file's stem.
    pub fn blueprint_name(&self, path: &Path) -> Result<String, Error> {
        if let Some(n) = &self.state.borrow().blueprint_name {
            return Ok(n.clone());
        }
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().to_string())
            .unwrap_or_default();
        crate::model::names::check_blueprint_name(&stem).map_err(|p| {
            Error::Usage(format!(
                "{}: {} (the name comes from the file name unless the script calls blueprint_name)",
                path.display(),
                p.message
            ))
        })?;
        Ok(stem)
    }

    /// Forgets everything declared and defined.
    pub fn reset(&mut self) {
        *self = Session::new(&self.options.clone(), &self.root.clone());
    }
}

/// The result of evaluating a blueprint file.
pub struct Evaluation {
    /// The blueprint's name: `blueprint_name(...)`, else the file's stem.
    pub name: String,
    pub region: String,
    pub graph: Graph,
    pub sources: Sources,
    /// AWS facts that stood for placeholders (`account_id()` in `bp
    /// check`), for the command to say so.
    pub placeholders: Vec<String>,
    /// What exists outside the blueprint and the script refers to
    /// (`existing_vpc(id)`), read while it ran.
    pub existing: Vec<crate::model::Resource>,
    /// What lint needs beyond the graph: vars read, default tags and
    /// blueprint-wide `allow(...)`s.
    pub lint: crate::lint::Facts,
    /// The variables read whose values are secrets ([`Session::sensitive_vars`]).
    pub sensitive_vars: BTreeSet<String>,
    /// Every variable the run was given (`--var`, var files, `BP_VAR_*`)
    /// and the script read, sensitive ones included: what a saved plan
    /// records.
    pub vars_given: BTreeMap<String, String>,
}

/// The positioned error of a script that does not parse.
pub fn parse_diagnostic(name: &str, text: &str, e: &rhai::ParseError) -> Diagnostic {
    error::from_parse(name, text, e)
}

/// Evaluates a blueprint and validates the graph it declares.
pub fn evaluate(path: &Path, options: &Options) -> Result<Evaluation, Error> {
    let root = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let name = path.to_string_lossy().to_string();
    let mut session = Session::new(options, &root);
    session.load_var_files()?;
    if let Err(e) = session.eval(&name, &text) {
        return Err(every_error(e, options, &root, &name, &text));
    }
    finish(session, path, options)
}

/// A failed evaluation's error, with every other independent mistake of
/// the script beside the first, as `terraform validate` reports them: the
/// script is run again statement by statement (top-level statements), and
/// a statement's error is kept unless the statement uses a variable that
/// an earlier failed statement was to define (that error follows from
/// the first). Only the errors of Blueprint's functions (an unknown
/// option, a bad CIDR block, min above max) let it go on; anything else
/// (a `throw`, a type error) ends it there.
fn every_error(first: Error, options: &Options, root: &Path, name: &str, text: &str) -> Error {
    let Error::Script { diagnostics, .. } = &first else {
        return first;
    };
    let (all, sources) = statement_by_statement(options, root, name, text);
    let same_first = all
        .first()
        .zip(diagnostics.first())
        .is_some_and(|(a, b)| a.message == b.message && a.frames == b.frames);
    if all.len() > 1 && same_first {
        Error::Script {
            diagnostics: all,
            sources,
        }
    } else {
        first
    }
}

/// Whether `text` holds `word` as a whole identifier.
fn mentions(text: &str, word: &str) -> bool {
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    text.match_indices(word)
        .any(|(i, _)| !text[..i].ends_with(ident) && !text[i + word.len()..].starts_with(ident))
}

fn statement_by_statement(
    options: &Options,
    root: &Path,
    name: &str,
    text: &str,
) -> (Vec<Diagnostic>, Sources) {
    let mut session = Session::new(options, root);
    let mut out = Vec::new();
    if session.load_var_files().is_err() {
        return (out, session.sources.clone());
    }
    state::reset_allow();
    session.sources.insert(name, text);
    let Ok(ast) = session.engine.compile_with_scope(&session.scope, text) else {
        return (out, session.sources.clone());
    };
    session
        .engine
        .set_default_tag(Dynamic::from(rhai::ImmutableString::from(name)));
    let lib = ast.shared_lib().clone();
    let statements = ast.statements().to_vec();
    let lines: Vec<&str> = text.lines().collect();
    let line_of = |s: &rhai::Stmt| s.position().line().unwrap_or(1);
    let mut failed: Vec<String> = Vec::new();
    // The imports run again before each statement, in their order: the
    // compiled script finds modules by their place among the imports.
    let mut imports: Vec<rhai::Stmt> = Vec::new();
    for (i, stmt) in statements.iter().enumerate() {
        let from = line_of(stmt).saturating_sub(1);
        let to = statements
            .get(i + 1)
            .map(|n| line_of(n).saturating_sub(1).max(from + 1))
            .unwrap_or(lines.len());
        let own = lines
            .get(from..to.min(lines.len()))
            .unwrap_or_default()
            .join(
                "
",
            );
        let follows = failed.iter().any(|v| mentions(&own, v));
        let is_import = matches!(stmt, rhai::Stmt::Import(..));
        let one = AST::new_with_source(
            imports.iter().cloned().chain(std::iter::once(stmt.clone())),
            lib.clone(),
            name,
        );
        if is_import {
            imports.push(stmt.clone());
        }
        let Err(e) = session
            .engine
            .eval_ast_with_scope::<Dynamic>(&mut session.scope, &one)
        else {
            continue;
        };
        if let rhai::Stmt::Var(x, ..) = stmt {
            // The compiled script finds variables by their place in the
            // scope: the variable still takes its place, as unit.
            session.scope.push(x.0.name.clone(), ());
            failed.push(x.0.name.to_string());
        }
        if follows {
            continue;
        }
        out.push(error::from_eval(name, &e));
        if !is_fault(&e) {
            break;
        }
    }
    (out, session.sources.clone())
}

/// Whether an error is a Blueprint function's (a mistake in one call),
/// not one that ends the script (`throw`, a type error).
fn is_fault(e: &rhai::EvalAltResult) -> bool {
    match e {
        rhai::EvalAltResult::ErrorInFunctionCall(_, _, inner, _)
        | rhai::EvalAltResult::ErrorInModule(_, inner, _) => is_fault(inner),
        rhai::EvalAltResult::ErrorRuntime(d, _) => d.is::<state::Fault>(),
        _ => false,
    }
}

/// Evaluates blueprint source `text`, shown in errors as `name` and named
/// after it, with imports resolved in `root`: a blueprint written inline
/// (`bp test`'s `script(...)`).
pub fn evaluate_text(
    name: &str,
    text: &str,
    root: &Path,
    options: &Options,
) -> Result<Evaluation, Error> {
    let mut session = Session::new(options, root);
    session.load_var_files()?;
    if let Err(e) = session.eval(name, text) {
        return Err(every_error(e, options, root, name, text));
    }
    finish(session, Path::new(name), options)
}

/// What an evaluated session declares, validated.
fn finish(session: Session, path: &Path, options: &Options) -> Result<Evaluation, Error> {
    let graph = session.validate()?;
    let name = session.blueprint_name(path)?;
    let placeholders: Vec<String> = session
        .state
        .borrow()
        .aws_facts
        .placeholders
        .iter()
        .map(|p| p.to_string())
        .collect();
    let lint = session.lint_facts();
    let secrets = graph_secrets(&graph);
    let sensitive_vars = session.sensitive_vars(&secrets);
    let vars_given = session.vars_given();
    let mut graph = graph;
    seal_sensitive_vars(&mut graph, &secrets, &sensitive_vars, &vars_given);
    Ok(Evaluation {
        name,
        region: options.region.clone(),
        graph,
        sources: session.sources.clone(),
        placeholders,
        existing: session.existing(),
        lint,
        sensitive_vars,
        vars_given,
    })
}

/// The clear text of every secret the graph's specs hold.
pub fn graph_secrets(graph: &Graph) -> BTreeSet<String> {
    graph
        .iter()
        .flat_map(|r| r.spec.values().flat_map(Value::secrets_in_clear))
        .collect()
}

/// Every secret the evaluation holds (`secrets`, and the values of the
/// sensitive variables) is registered with the redactor, and every copy of
/// a sensitive variable's value that reached a field not marked sensitive
/// (a Helm value, a tag) becomes sensitive there too: no plan shows it,
/// and saved plans keep only a hash of it.
fn seal_sensitive_vars(
    graph: &mut Graph,
    secrets: &BTreeSet<String>,
    sensitive: &BTreeSet<String>,
    given: &BTreeMap<String, String>,
) {
    let values: Vec<&str> = sensitive
        .iter()
        .filter_map(|k| given.get(k))
        .map(String::as_str)
        .filter(|v| !v.is_empty())
        .collect();
    for s in secrets
        .iter()
        .map(String::as_str)
        .chain(values.iter().copied())
    {
        crate::redact::register(s);
    }
    if values.is_empty() {
        return;
    }
    let addresses: Vec<crate::model::Address> = graph.iter().map(|r| r.address.clone()).collect();
    for a in addresses {
        let Some(r) = graph.get_mut(&a) else { continue };
        let context = a.to_string();
        for (k, v) in r.spec.iter_mut() {
            seal(v, &values, &[&context, k]);
        }
    }
}

fn seal(v: &mut Value, secrets: &[&str], path: &[&str]) {
    match v {
        Value::Str(s)
            if secrets
                .iter()
                .any(|x| s == x || (x.len() >= 8 && s.contains(x))) =>
        {
            let hash = crate::model::verifier::script_secret_hash(s, path);
            *v = Value::Sensitive(crate::model::Secret {
                hash,
                value: Some(Box::new(Value::Str(std::mem::take(s)))),
            });
        }
        Value::List(l) => {
            for (i, x) in l.iter_mut().enumerate() {
                let i = i.to_string();
                let mut p = path.to_vec();
                p.push(&i);
                seal(x, secrets, &p);
            }
        }
        Value::Map(m) => {
            for (k, x) in m.iter_mut() {
                let mut p = path.to_vec();
                p.push(k);
                seal(x, secrets, &p);
            }
        }
        _ => {}
    }
}
