//! `bp repl`: the same engine, schemas and renderers as `bp check` and
//! `bp plan`, one scope across lines, meta-commands, and a line editor with
//! completion on a terminal (plain line reading without one).

pub mod complete;
pub mod input;
pub mod live;
mod show;

use crate::model::Kind;
use crate::plan;
use crate::providers::{Cloud, Target};
use crate::script::{handles, schema, Options, Session};
use complete::Names;
use std::path::{Path, PathBuf};

/// Where AWS is, for `:plan` and `:live`.
#[derive(Clone, Debug, Default)]
pub struct AwsTarget {
    pub profile: Option<String>,
    pub endpoint_url: Option<String>,
    pub kube: crate::providers::kube::KubeTarget,
    /// A price table for `:plan`'s cost (`--prices`), else the one built in.
    pub prices: Option<PathBuf>,
}

/// One REPL: a script session plus what the meta-commands need.
pub struct Repl {
    session: Session,
    aws: AwsTarget,
    runtime: Option<tokio::runtime::Runtime>,
    /// The file loaded at start or with `:load`, for the blueprint's name.
    file: Option<PathBuf>,
    counter: usize,
}

/// What handling one input produced.
pub enum Outcome {
    /// Text for stdout (may be empty).
    Output(String),
    /// An error, already rendered like `bp check` does.
    Error(String),
    Quit,
}

const HELP: &str = "\
Evaluate Blueprint (Rhai) code line by line; declared resources persist.
Meta-commands:
  :help [name]        functions, or one function's signature and options
  :resources          what is declared so far, by kind
  :graph [mermaid]    the dependency graph
  :plan               the plan of what is declared against AWS (reads only)
  :live KIND [filter] live resources of a kind in AWS, owned or not
  :load FILE          evaluate a file into this session
  :reset              forget everything declared
  :vars               variables in scope
  :quit               leave (Ctrl-D also does)
";

impl Repl {
    pub fn new(options: &Options, aws: AwsTarget, root: &Path) -> Repl {
        Repl {
            session: Session::new(options, root),
            aws,
            runtime: None,
            file: None,
            counter: 0,
        }
    }

    /// Names and types in scope, for completion.
    pub fn names(&self) -> Names {
        Names {
            vars: self
                .session
                .scope()
                .iter_raw()
                .map(|(name, _, value)| {
                    let t = handles::kind_of(value)
                        .map(|k| handles::type_name(k).to_string())
                        .unwrap_or_else(|| value.type_name().to_string());
                    (name.to_string(), t)
                })
                .collect(),
        }
    }

    /// Evaluates a file into the session.
    pub fn load(&mut self, path: &Path) -> Outcome {
        match self.session.eval_file(path) {
            Ok(()) => {
                if let Ok(text) = std::fs::read_to_string(path) {
                    self.session.remember_imports(&text);
                }
                self.file = Some(path.to_path_buf());
                Outcome::Output(format!(
                    "loaded {}: {} resources declared",
                    path.display(),
                    self.session.graph().len()
                ))
            }
            Err(e) => Outcome::Error(e.render()),
        }
    }

    /// Handles one complete input: a meta-command or code.
    pub fn handle(&mut self, text: &str) -> Outcome {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Outcome::Output(String::new());
        }
        if let Some(meta) = trimmed.strip_prefix(':') {
            return self.meta(meta);
        }
        self.counter += 1;
        let name = format!("repl#{}", self.counter);
        match self.session.eval(&name, text) {
            Ok(v) => {
                self.session.remember_imports(text);
                Outcome::Output(show::value(&v, &self.session.graph()))
            }
            Err(e) => Outcome::Error(e.render()),
        }
    }

    fn meta(&mut self, meta: &str) -> Outcome {
        let mut words = meta.split_whitespace();
        let cmd = words.next().unwrap_or_default();
        let args: Vec<&str> = words.collect();
        match cmd {
            "help" | "h" => Outcome::Output(help(args.first().copied())),
            "resources" | "r" => Outcome::Output(self.resources()),
            "graph" | "g" => {
                let g = self.session.graph();
                Outcome::Output(if args.first() == Some(&"mermaid") {
                    crate::render::mermaid(&g)
                } else {
                    show::graph_text(&g)
                })
            }
            "plan" | "p" => self.plan(),
            "live" | "l" => self.live(args.first().copied(), args.get(1).copied()),
            "load" => match args.first() {
                Some(f) => self.load(Path::new(f)),
                None => Outcome::Error("error: :load needs a file\n".into()),
            },
            "reset" => {
                self.session.reset();
                self.file = None;
                Outcome::Output("reset: nothing declared".into())
            }
            "vars" | "v" => Outcome::Output(
                self.names()
                    .vars
                    .iter()
                    .map(|(n, t)| format!("{n}: {t}"))
                    .collect::<Vec<_>>()
                    .join("\n"),
            ),
            "quit" | "q" | "exit" => Outcome::Quit,
            other => {
                let hint =
                    crate::model::names::suggest(other, complete::META.iter().map(|m| &m[1..]))
                        .map(|s| format!("\n  = hint: did you mean :{s}?"))
                        .unwrap_or_default();
                Outcome::Error(format!("error: unknown command :{other}{hint}\n"))
            }
        }
    }

    fn resources(&self) -> String {
        let g = self.session.graph();
        if g.is_empty() {
            return "nothing declared yet".into();
        }
        let mut out = String::new();
        for kind in Kind::all() {
            let of: Vec<String> = g.of_kind(kind).map(|r| r.address.to_string()).collect();
            if !of.is_empty() {
                out.push_str(&format!("{kind} ({}):\n", of.len()));
                for a in of {
                    out.push_str(&format!("  {a}\n"));
                }
            }
        }
        out.trim_end().to_string()
    }

    fn runtime(&mut self) -> Result<&tokio::runtime::Runtime, String> {
        if self.runtime.is_none() {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .map_err(|e| format!("error: cannot start the async runtime: {e}\n"))?;
            self.runtime = Some(rt);
        }
        Ok(self.runtime.as_ref().expect("just set"))
    }

    fn connect(&mut self, blueprint: &str) -> Result<Cloud, String> {
        let target = Target {
            region: self.session.options().region.clone(),
            profile: self.aws.profile.clone(),
            endpoint_url: self.aws.endpoint_url.clone(),
            kube: self.aws.kube.clone(),
            static_credentials: None,
        };
        let rt = self.runtime()?;
        Ok(rt.block_on(Cloud::connect(&target, blueprint)))
    }

    fn plan(&mut self) -> Outcome {
        let graph = match self.session.validate() {
            Ok(g) => g,
            Err(e) => return Outcome::Error(e.render()),
        };
        let path = self
            .file
            .clone()
            .unwrap_or_else(|| PathBuf::from("repl.rhai"));
        let name = match self.session.blueprint_name(&path) {
            Ok(n) => n,
            Err(e) => return Outcome::Error(e.render()),
        };
        let prices = match &self.aws.prices {
            Some(f) => match crate::cost::Prices::from_file(f) {
                Ok(p) => p,
                Err(e) => return Outcome::Error(format!("error: {e}\n")),
            },
            None => crate::cost::Prices::embedded(),
        };
        let cloud = match self.connect(&name) {
            Ok(c) => c,
            Err(e) => return Outcome::Error(e),
        };
        let region = self.session.options().region.clone();
        let lint = self.session.lint_facts();
        let sources = self.session.sources().clone();
        let rt = match self.runtime() {
            Ok(rt) => rt,
            Err(e) => return Outcome::Error(e),
        };
        // The same pipeline as `bp plan`: findings, cost, refusals and the
        // clusters' own checks included.
        let desired = crate::engine::pipeline::Desired {
            name: &name,
            region: &region,
            graph: &graph,
            lint: &lint,
            sources: &sources,
        };
        let made = rt.block_on(crate::engine::pipeline::plan(
            &cloud,
            &desired,
            &prices,
            crate::lint::Date::today(),
        ));
        match made {
            Ok((plan, _)) => Outcome::Output(plan::render::human(&plan).trim_end().to_string()),
            Err(e) => Outcome::Error(format!("error: {e}\n")),
        }
    }

    fn live(&mut self, kind: Option<&str>, filter: Option<&str>) -> Outcome {
        let Some(kind) = kind else {
            return Outcome::Error(format!(
                "error: :live needs a kind: {}\n",
                live::kinds().collect::<Vec<_>>().join(", ")
            ));
        };
        let cloud = match self.connect("repl") {
            Ok(c) => c,
            Err(e) => return Outcome::Error(e),
        };
        // In-cluster kinds list the clusters the session declares objects in.
        let in_cluster = kind
            .parse::<Kind>()
            .is_ok_and(|k| k.schema().scope == crate::model::schema::Scope::InCluster);
        let clusters: Vec<String> = if in_cluster {
            crate::providers::kube::clusters(&self.session.graph())
                .into_keys()
                .collect()
        } else {
            Vec::new()
        };
        if in_cluster && clusters.is_empty() {
            return Outcome::Error(format!(
                "error: :live {kind} lists the clusters this session declares objects in, and it declares none\n  = hint: declare one first, e.g. existing_cluster(\"name\").namespace(\"x\")\n"
            ));
        }
        let rt = match self.runtime() {
            Ok(rt) => rt,
            Err(e) => return Outcome::Error(e),
        };
        for c in &clusters {
            if let Err(e) = rt.block_on(cloud.kube(c)) {
                return Outcome::Error(format!("error: {e}\n"));
            }
        }
        match rt.block_on(live::list(&cloud, kind, filter)) {
            Ok(rows) => Outcome::Output(live::table(kind, &rows)),
            Err(e) => Outcome::Error(format!("error: {e}\n")),
        }
    }
}

/// `:help` and `:help name`, from the schemas that validate.
pub fn help(name: Option<&str>) -> String {
    let Some(name) = name else {
        let mut out = String::from(HELP);
        out.push_str("Functions:\n");
        for f in schema::functions() {
            out.push_str(&format!("  {}\n", f.signature));
        }
        out.push_str("Stdlib: ");
        out.push_str(&complete::stdlib_functions().join(", "));
        return out;
    };
    match schema::function(name) {
        Some(f) => {
            let mut out = format!("{}\n  {}\n", f.signature, f.doc);
            if !f.options.is_empty() {
                out.push_str("Options:\n");
                for o in f.options {
                    let default = match (o.required, o.default) {
                        (true, _) => "required".to_string(),
                        (false, Some(d)) => format!("default {d}"),
                        (false, None) => "optional".to_string(),
                    };
                    out.push_str(&format!(
                        "  {:<18} {} ({default}): {}\n",
                        o.name,
                        o.ty.describe(),
                        o.doc
                    ));
                }
            }
            out.trim_end().to_string()
        }
        None => {
            let hint = crate::model::names::suggest(name, schema::functions().map(|f| f.name))
                .map(|s| format!(" (did you mean {s}?)"))
                .unwrap_or_default();
            format!("no function named {name}{hint}")
        }
    }
}
