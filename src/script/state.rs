//! What a running script has declared so far, shared by the functions the
//! engine exposes, plus the helpers every constructor uses: positions,
//! errors, tags and declaring a resource.

use super::api::facts::Pending;
use super::handles::{self, Output};
use crate::model::{names, Address, Graph, Kind, Map, Origin, Problem, Resource, Span, Value};
use rhai::{Dynamic, EvalAltResult, NativeCallContext, Position};
use std::any::{Any, TypeId};
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::rc::Rc;

pub type Shared = Rc<RefCell<State>>;
pub type Fallible<T> = Result<T, Box<EvalAltResult>>;

#[derive(Default)]
pub struct State {
    pub graph: Graph,
    pub region: String,
    pub vars: BTreeMap<String, String>,
    /// Every `var(...)` the script read, with the value it got (the
    /// default when none was passed): lint tells production by it.
    pub vars_read: BTreeMap<String, String>,
    /// Variables given as secrets (an encrypted `--var-file`): `var(...)`
    /// returns them as sensitive values.
    pub secret_vars: BTreeMap<String, handles::SecretValue>,
    /// Variables the script declared sensitive (`var(name, #{ sensitive: true })`).
    pub vars_sensitive: BTreeSet<String>,
    /// `allow("BP004", "why")` calls: lint rules allowed for the whole
    /// blueprint, with their reasons and where they were allowed.
    pub allows: Vec<crate::lint::Allow>,
    pub default_tags: BTreeMap<String, String>,
    /// What kind modules remember about what they declared (a VPC's
    /// subnets by role, a cluster's shared roles), by type and address.
    pub facts: HashMap<(TypeId, Address), Box<dyn Any>>,
    /// Set by `blueprint_name(...)`: the owner tag of everything declared.
    pub blueprint_name: Option<String>,
    /// `ref(...)` calls, checked once the script has finished.
    pub forward_refs: Vec<(Address, Origin)>,
    /// The blueprint's folder: `sops_file` reads only inside it.
    pub root: std::path::PathBuf,
    /// Whether `sops_file` decrypts, and with which AWS access; the same
    /// access reads `account_id()` and `azs()`.
    pub secrets: super::Secrets,
    /// `account_id()` and `azs()` as read in this run.
    pub aws_facts: super::api::facts::Facts,
}

/// An error raised by a Blueprint function, carrying where it happened.
#[derive(Debug, Clone)]
pub struct Fault {
    pub problem: Problem,
    pub frames: Vec<Span>,
    pub notes: Vec<(String, Span)>,
}

fn span(source: Option<&str>, pos: Position) -> Option<Span> {
    Some(Span {
        source: source.unwrap_or("<script>").to_string(),
        line: pos.line()?,
        col: pos.position().unwrap_or(1),
    })
}

/// The call that is running now, then the script functions that led to it.
///
/// Each frame of Rhai's call stack holds the position of a call in its
/// caller and the source of the callee, so the caller's source of frame `i`
/// is the callee source of frame `i - 1` (the main script for the first).
pub fn origin(ctx: &NativeCallContext) -> Origin {
    let main = ctx.tag().and_then(|t| {
        t.read_lock::<rhai::ImmutableString>()
            .map(|s| s.to_string())
    });
    let mut frames: Vec<Span> = Vec::new();
    if let Some(dbg) = ctx.debugger() {
        let mut caller = main;
        for f in dbg.call_stack() {
            frames.extend(span(caller.as_deref(), f.pos));
            caller = f.source.as_ref().map(|s| s.to_string()).or(caller);
        }
    }
    if frames.is_empty() {
        frames.extend(span(ctx.call_source(), ctx.call_position()));
    }
    frames.reverse();
    frames.dedup();
    Origin { frames }
}

pub fn fail(ctx: &NativeCallContext, problem: Problem) -> Box<EvalAltResult> {
    fail_with(ctx, problem, Vec::new())
}

pub fn fail_with(
    ctx: &NativeCallContext,
    problem: Problem,
    notes: Vec<(String, Span)>,
) -> Box<EvalAltResult> {
    let fault = Fault {
        problem,
        frames: origin(ctx).frames,
        notes,
    };
    Box::new(EvalAltResult::ErrorRuntime(
        Dynamic::from(fault),
        ctx.call_position(),
    ))
}

/// References collected while turning script values into spec values.
#[derive(Default)]
pub struct Deps {
    pub hard: BTreeSet<Address>,
    pub after_create: BTreeSet<Address>,
}

impl Deps {
    pub fn add(&mut self, a: &Address) {
        self.hard.insert(a.clone());
    }

    /// The spec value of a script value; handles and outputs become
    /// references and are recorded as dependencies.
    pub fn value(&mut self, d: &Dynamic) -> Value {
        if let Some(a) = handles::address_of(d) {
            let attr = a.kind.default_attr().to_string();
            self.hard.insert(a.clone());
            return Value::Ref(crate::model::Ref { address: a, attr });
        }
        if let Some(s) = d.read_lock::<handles::SecretValue>() {
            return Value::Sensitive(crate::model::Secret {
                hash: s.hash.clone(),
                value: s.value.clone().map(Box::new),
            });
        }
        if let Some(o) = d.read_lock::<Output>() {
            for a in o.deps() {
                self.hard.insert(a.clone());
            }
            return o.to_value();
        }
        if let Some(a) = d.read_lock::<rhai::Array>() {
            return Value::List(a.iter().map(|x| self.value(x)).collect());
        }
        if let Some(m) = d.read_lock::<rhai::Map>() {
            return Value::Map(
                m.iter()
                    .map(|(k, v)| (k.to_string(), self.value(v)))
                    .collect(),
            );
        }
        if let Some(p) = d.read_lock::<Pending>() {
            return Value::Str(p.0.clone());
        }
        if d.is_unit() {
            return Value::Null;
        }
        if let Ok(b) = d.as_bool() {
            return Value::Bool(b);
        }
        if let Ok(i) = d.as_int() {
            return Value::Int(i);
        }
        if let Ok(f) = d.as_float() {
            return Value::Float(f);
        }
        Value::Str(d.to_string())
    }
}

/// The text of a script value: an output's as the script knows it now, a
/// placeholder's, else the value's own.
fn text(v: &Dynamic) -> String {
    if let Some(o) = v.read_lock::<Output>() {
        return o.to_string();
    }
    if let Some(p) = v.read_lock::<Pending>() {
        return p.0.clone();
    }
    v.to_string()
}

/// Reads typed options out of a map that the schema has already checked.
pub struct Opts<'a>(pub &'a rhai::Map);

impl Opts<'_> {
    /// The alias of the `provider` option, if given.
    pub fn provider(&self) -> Option<String> {
        crate::script::api::providers::alias(self.0)
    }

    pub fn has(&self, k: &str) -> bool {
        self.0.contains_key(k)
    }
    pub fn get(&self, k: &str) -> Option<&Dynamic> {
        self.0.get(k)
    }
    /// A string option, or the text of an output the script knows now.
    pub fn str(&self, k: &str) -> Option<String> {
        self.0.get(k).map(text)
    }
    pub fn int(&self, k: &str) -> Option<i64> {
        self.0.get(k).and_then(|v| v.as_int().ok())
    }
    pub fn bool_or(&self, k: &str, default: bool) -> bool {
        self.0
            .get(k)
            .and_then(|v| v.as_bool().ok())
            .unwrap_or(default)
    }
    pub fn strs(&self, k: &str) -> Vec<String> {
        match self.0.get(k) {
            Some(v) if v.is_string() || v.is::<Pending>() => vec![text(v)],
            Some(v) => v
                .read_lock::<rhai::Array>()
                .map(|a| a.iter().map(text).collect())
                .unwrap_or_default(),
            None => Vec::new(),
        }
    }
    pub fn list(&self, k: &str) -> Vec<Dynamic> {
        self.0
            .get(k)
            .and_then(|v| v.read_lock::<rhai::Array>().map(|a| a.clone()))
            .unwrap_or_default()
    }
    pub fn addresses(&self, k: &str) -> Vec<Address> {
        self.list(k)
            .iter()
            .filter_map(handles::address_of)
            .collect()
    }
    pub fn address(&self, k: &str) -> Option<Address> {
        self.0.get(k).and_then(handles::address_of)
    }
}

pub fn str_list(items: &[String]) -> Value {
    Value::List(items.iter().map(Value::str).collect())
}

pub fn ref_to(a: &Address) -> Value {
    Value::Ref(crate::model::Ref {
        address: a.clone(),
        attr: a.kind.default_attr().to_string(),
    })
}

impl State {
    /// What a kind module recorded about `a`.
    pub fn fact<T: 'static>(&self, a: &Address) -> Option<&T> {
        self.facts
            .get(&(TypeId::of::<T>(), a.clone()))
            .and_then(|b| b.downcast_ref())
    }

    /// The record of type `T` about `a`, made on first use.
    pub fn fact_mut<T: Default + 'static>(&mut self, a: &Address) -> &mut T {
        self.facts
            .entry((TypeId::of::<T>(), a.clone()))
            .or_insert_with(|| Box::new(T::default()))
            .downcast_mut()
            .expect("facts are stored under their own type")
    }

    /// Default tags merged with the resource's own.
    pub fn tags(&self, own: Option<&Dynamic>, deps: &mut Deps) -> Option<Value> {
        let mut m: Map = self
            .default_tags
            .iter()
            .map(|(k, v)| (k.clone(), Value::str(v)))
            .collect();
        if let Some(own) = own.and_then(|d| d.read_lock::<rhai::Map>().map(|m| m.clone())) {
            for (k, v) in own {
                m.insert(k.to_string(), deps.value(&v));
            }
        }
        (!m.is_empty()).then_some(Value::Map(m))
    }
}

/// Checks a name against the kind's rules, failing at the call.
pub fn check_name(ctx: &NativeCallContext, kind: Kind, name: &str) -> Fallible<()> {
    // A name made with another blueprint's output is checked at plan time,
    // when the output is read.
    if super::api::facts::holds_placeholder(name) {
        return Ok(());
    }
    names::check_name(kind, name).map_err(|p| fail(ctx, p))
}

/// Checks user tags: string keys and values, no reserved prefixes.
pub fn check_tags(ctx: &NativeCallContext, tags: Option<&Dynamic>) -> Fallible<()> {
    let Some(m) = tags.and_then(|d| d.read_lock::<rhai::Map>().map(|m| m.clone())) else {
        return Ok(());
    };
    for k in m.keys() {
        let lower = k.to_ascii_lowercase();
        if lower.starts_with("blueprint:") || lower.starts_with("aws:") {
            return Err(fail(
                ctx,
                Problem::new(format!("tag key `{k}` uses a reserved prefix"))
                    .hint("`blueprint:` tags mark ownership and `aws:` tags belong to AWS"),
            ));
        }
        if k.is_empty() || k.chars().count() > 128 {
            return Err(fail(
                ctx,
                Problem::new(format!("tag key `{k}` must be 1 to 128 characters")),
            ));
        }
    }
    Ok(())
}

/// Adds a reference to something that exists (see
/// [`crate::model::EXISTING`]) to the graph; naming it again is no error
/// (`existing_vpc(id)` twice is one VPC).
pub fn declare_existing(
    state: &Shared,
    ctx: &NativeCallContext,
    address: Address,
    mut spec: Map,
    depends_on: BTreeSet<Address>,
    id: &str,
) -> Fallible<()> {
    if let Some(r) = state.borrow().graph.get(&address) {
        if r.is_existing() {
            return Ok(());
        }
    }
    spec.insert(crate::model::EXISTING.into(), Value::str(id));
    let deps = Deps {
        hard: depends_on,
        ..Deps::default()
    };
    declare(state, ctx, address, spec, deps)
}

/// Fails when `a` stands for something that exists: the blueprint does not
/// manage it, so it cannot be changed (`what` says how).
pub fn refuse_existing(
    state: &Shared,
    ctx: &NativeCallContext,
    a: &Address,
    what: &str,
) -> Fallible<()> {
    let id = state
        .borrow()
        .graph
        .get(a)
        .filter(|r| r.is_existing())
        .and_then(|r| r.str(crate::model::EXISTING).map(String::from));
    match id {
        Some(id) => Err(fail(
            ctx,
            Problem::new(format!(
                "{id} exists outside this blueprint, which does not manage it: it cannot {what}"
            ))
            .hint("declare a resource of the blueprint's own for this, or change the existing one where it is managed"),
        )),
        None => Ok(()),
    }
}

impl State {
    /// The region a resource is made in: its provider instance's, else
    /// the blueprint's.
    pub fn region_of(&self, a: &Address) -> String {
        self.graph.region_of(a, &self.region).to_string()
    }
}

/// The value of `prop` of a declared resource, when the script knows it
/// now (a name, or any value of an existing resource).
pub fn known(state: &Shared, a: &Address, prop: &str) -> Option<String> {
    state
        .borrow()
        .graph
        .get(a)
        .and_then(|r| r.str(prop).map(String::from))
}

/// Adds a resource to the graph; a second declaration of the same address
/// is an error that points at both.
pub fn declare(
    state: &Shared,
    ctx: &NativeCallContext,
    address: Address,
    spec: Map,
    deps: Deps,
) -> Fallible<()> {
    let origin = origin(ctx);
    let mut r = Resource::new(address, spec);
    r.allow = PENDING_ALLOW.with(|p| match &*p.borrow() {
        Some((o, allow)) if *o == origin => allow.clone(),
        _ => BTreeMap::new(),
    });
    r.ignore = PENDING_IGNORE.with(|p| match &*p.borrow() {
        Some((o, kinds, paths)) if *o == origin && kinds.contains(&r.address.kind) => paths.clone(),
        _ => BTreeSet::new(),
    });
    r.depends_on = deps.hard;
    r.after_create = deps.after_create;
    r.depends_on.remove(&r.address);
    r.after_create.remove(&r.address);
    let after: Vec<Address> = r.after_create.iter().cloned().collect();
    for a in after {
        r.depends_on.remove(&a);
    }
    r.origin = origin;
    let mut st = state.borrow_mut();
    let addr = r.address.clone();
    match st.graph.insert(r) {
        Ok(()) => Ok(()),
        Err(first) => {
            let notes = first
                .origin
                .primary()
                .map(|s| vec![("first declared here".to_string(), s.clone())])
                .unwrap_or_default();
            drop(st);
            Err(fail_with(
                ctx,
                Problem::new(format!("{addr} is declared twice"))
                    .hint("every resource needs its own name within its kind"),
                notes,
            ))
        }
    }
}

thread_local! {
    /// The `allow` option of the constructor call running now, with the
    /// call's origin: every resource that call declares carries it.
    static PENDING_ALLOW: RefCell<Option<(Origin, BTreeMap<String, String>)>> =
        const { RefCell::new(None) };
}

/// The `ignore` option of a constructor call: its origin, the kinds the
/// constructor declares, and the field paths.
type PendingIgnore = (Origin, Vec<Kind>, BTreeSet<String>);

thread_local! {
    /// The `ignore` option of the constructor call running now.
    static PENDING_IGNORE: RefCell<Option<PendingIgnore>> = const { RefCell::new(None) };
}

/// Forgets the `allow` and `ignore` of the last constructor call (a new
/// evaluation).
pub fn reset_allow() {
    PENDING_ALLOW.with(|p| *p.borrow_mut() = None);
    PENDING_IGNORE.with(|p| *p.borrow_mut() = None);
}

/// Takes the `ignore` option out of the options of `what`: the fields the
/// resource it declares leaves to others once it exists (see
/// [`crate::model::ignore`]), each checked against the kind's fields. It
/// applies to the resources of the kind the constructor is written for
/// (`node_group(...)`: the node group), not to others the call declares
/// with it.
pub fn take_ignore(ctx: &NativeCallContext, what: &str, map: &mut rhai::Map) -> Fallible<()> {
    let value = map.remove("ignore");
    if ctx.fn_name() != what {
        // A constructor calling another one: the script's call decides.
        return Ok(());
    }
    let o = origin(ctx);
    let Some(v) = value else {
        PENDING_IGNORE.with(|p| *p.borrow_mut() = Some((o, Vec::new(), BTreeSet::new())));
        return Ok(());
    };
    let hint = "ignore: [\"scaling.desired\"], the paths of fields as the plan shows them";
    let paths: Option<Vec<String>> = v.read_lock::<rhai::Array>().and_then(|a| {
        a.iter()
            .map(|x| {
                x.clone()
                    .into_immutable_string()
                    .ok()
                    .map(|s| s.to_string())
            })
            .collect()
    });
    let Some(paths) = paths else {
        return Err(fail(
            ctx,
            Problem::new(format!(
                "option `ignore` must be a list of field paths, but it is {}",
                super::schema::describe_value(&v)
            ))
            .hint(hint),
        ));
    };
    let kinds: Vec<Kind> = super::hooks::kinds()
        .iter()
        .filter(|k| k.functions.iter().any(|f| f.name == what))
        .map(|k| k.kind)
        .collect();
    let Some(first) = kinds.first().filter(|_| !DECLARES_NOTHING.contains(&what)) else {
        return Err(fail(
            ctx,
            Problem::new(format!(
                "{what}(...) declares no resource of its own: `ignore` would leave nothing alone"
            ))
            .hint("give `ignore` to the constructor of the resource whose fields others change"),
        ));
    };
    for path in &paths {
        if kinds
            .iter()
            .all(|k| crate::model::ignore::check(k.schema(), path).is_err())
        {
            let why = crate::model::ignore::check(first.schema(), path).unwrap_err();
            return Err(fail(ctx, Problem::new(format!("ignore: {why}")).hint(hint)));
        }
    }
    let paths = paths.into_iter().collect();
    PENDING_IGNORE.with(|p| *p.borrow_mut() = Some((o, kinds, paths)));
    Ok(())
}

/// Functions with options that declare nothing themselves: `allow` there
/// would allow nothing.
const DECLARES_NOTHING: &[&str] = &["rule", "subnets"];

/// Takes the `allow` option out of the options of `what`: a map of rule id
/// to the reason it is allowed, for every resource the call declares.
///
/// A constructor may declare through other constructors (an RDS instance
/// its security group, `backups` Velero's role), which parse options of
/// their own with the same call context. The call the script made is the
/// one whose name is `what`; it sets the allows. The calls it makes add to
/// them and never clear them.
pub fn take_allow(ctx: &NativeCallContext, what: &str, map: &mut rhai::Map) -> Fallible<()> {
    let outermost = ctx.fn_name() == what;
    let Some(v) = map.remove("allow") else {
        if outermost {
            let o = origin(ctx);
            PENDING_ALLOW.with(|p| *p.borrow_mut() = Some((o, BTreeMap::new())));
        }
        return Ok(());
    };
    if DECLARES_NOTHING.contains(&what) {
        return Err(fail(
            ctx,
            Problem::new(format!("{what}(...) declares no resource: `allow` would allow nothing"))
                .hint("give `allow` to the constructor that declares the resource, or use allow(rule, reason) for the whole blueprint"),
        ));
    }
    let Some(m) = v.read_lock::<rhai::Map>().map(|m| m.clone()) else {
        return Err(fail(
            ctx,
            Problem::new(format!(
                "option `allow` must be a map of rule id to reason, but it is {}",
                super::schema::describe_value(&v)
            ))
            .hint("allow: #{ BP004: \"why this is fine here\" }"),
        ));
    };
    let mut allow = BTreeMap::new();
    for (id, reason) in m {
        let reason = crate::lint::check_allow(id.as_str(), &reason).map_err(|p| fail(ctx, p))?;
        allow.insert(id.to_string(), reason);
    }
    let o = origin(ctx);
    PENDING_ALLOW.with(|p| {
        let mut p = p.borrow_mut();
        match p.as_mut() {
            Some((at, pending)) if !outermost && *at == o => {
                // The script's own reasons win over a nested call's.
                for (rule, reason) in allow {
                    pending.entry(rule).or_insert(reason);
                }
            }
            _ => *p = Some((o, allow)),
        }
    });
    Ok(())
}
