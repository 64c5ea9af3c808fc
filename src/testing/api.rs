//! The functions a test file (`*.test.rhai`) calls, registered on top of
//! the blueprint language (so `import "net" as net;` and its pure helpers
//! work as in a blueprint):
//! - `blueprint(path, vars?)` and `script(source, vars?)` evaluate a
//!   blueprint (a file beside the test, or inline source that can import
//!   stdlib modules) into a [`Bp`], with no AWS call: sops values stay
//!   sealed, `account_id()` and `existing_*` are placeholders, as in
//!   `bp check`;
//! - a `Bp`'s `count`, `addresses`, `resource`, `depends_on`, `findings`,
//!   `cost`, `no_price`, `plan` and `as_live` look at what it declares;
//! - `mock_live(kind, #{ name, id?, attrs?, outputs? })` is a live resource
//!   for `plan`;
//! - `assert`, `assert_eq`, `assert_ne`, `assert_contains` and
//!   `expect_error` fail the test at their own line and column, with both
//!   values.

use crate::model::{Address, Graph, Kind, Live, Map, Value};
use crate::script::Evaluation;
use rhai::{Array, Dynamic, Engine, EvalAltResult, FnPtr, ImmutableString, NativeCallContext};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::rc::Rc;

type Result<T> = std::result::Result<T, Box<EvalAltResult>>;

/// An assertion that did not hold, where it was made.
#[derive(Clone, Debug)]
pub struct Failure {
    pub message: String,
    /// Both sides of a comparison, as shown.
    pub left: Option<String>,
    pub right: Option<String>,
    pub line: usize,
    pub col: usize,
}

/// A blueprint that did not evaluate: its rendered errors, and the first
/// one's message and place.
#[derive(Clone, Debug)]
pub struct ScriptError {
    pub rendered: String,
    pub message: String,
    pub file: String,
    pub line: usize,
    pub col: usize,
}

/// An evaluated blueprint, as a test sees it.
#[derive(Clone)]
pub struct Bp(Rc<Evaluation>);

/// What the functions need to know about the test file.
#[derive(Clone)]
pub struct Context {
    /// The test file's folder: blueprint paths and imports resolve in it.
    pub dir: PathBuf,
    pub region: String,
    pub today: crate::lint::Date,
    pub prices: Rc<crate::cost::Prices>,
}

fn fail<T>(ctx: &NativeCallContext, f: Failure) -> Result<T> {
    let _ = ctx;
    Err(Box::new(EvalAltResult::ErrorRuntime(
        Dynamic::from(f),
        rhai::Position::NONE,
    )))
}

fn failure(ctx: &NativeCallContext, message: impl Into<String>) -> Failure {
    let pos = ctx.call_position();
    Failure {
        message: message.into(),
        left: None,
        right: None,
        line: pos.line().unwrap_or(0),
        col: pos.position().unwrap_or(0),
    }
}

/// A value as a test shows it: strings quoted, maps and arrays as Rhai
/// writes them.
pub fn show(d: &Dynamic) -> String {
    if let Some(b) = d.read_lock::<Bp>() {
        return format!("blueprint {} ({} resources)", b.0.name, b.0.graph.len());
    }
    if let Some(s) = d.read_lock::<ImmutableString>() {
        return format!("{:?}", s.as_str());
    }
    if let Some(a) = d.read_lock::<Array>() {
        return format!("[{}]", a.iter().map(show).collect::<Vec<_>>().join(", "));
    }
    if let Some(m) = d.read_lock::<rhai::Map>() {
        let items: Vec<String> = m.iter().map(|(k, v)| format!("{k}: {}", show(v))).collect();
        return format!("#{{{}}}", items.join(", "));
    }
    if d.is_unit() {
        return "()".into();
    }
    d.to_string()
}

/// Whether two values are equal as a test means it: numbers by value
/// (`1 == 1.0`), arrays and maps item by item.
fn equal(a: &Dynamic, b: &Dynamic) -> bool {
    let num = |d: &Dynamic| -> Option<f64> {
        d.as_int()
            .map(|i| i as f64)
            .ok()
            .or_else(|| d.as_float().ok())
    };
    if let (Some(x), Some(y)) = (num(a), num(b)) {
        return (x - y).abs() < 1e-9;
    }
    if let (Some(x), Some(y)) = (a.read_lock::<Array>(), b.read_lock::<Array>()) {
        return x.len() == y.len() && x.iter().zip(y.iter()).all(|(p, q)| equal(p, q));
    }
    if let (Some(x), Some(y)) = (a.read_lock::<rhai::Map>(), b.read_lock::<rhai::Map>()) {
        return x.len() == y.len()
            && x.iter()
                .all(|(k, v)| y.get(k.as_str()).is_some_and(|w| equal(v, w)));
    }
    if a.type_id() != b.type_id() {
        return false;
    }
    show(a) == show(b)
}

pub use crate::script::handles::to_dynamic;

/// A value a test wrote (a mock's attributes) as a spec value.
fn to_value(d: &Dynamic) -> Value {
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
    if let Some(a) = d.read_lock::<Array>() {
        return Value::List(a.iter().map(to_value).collect());
    }
    if let Some(m) = d.read_lock::<rhai::Map>() {
        return Value::Map(
            m.iter()
                .map(|(k, v)| (k.to_string(), to_value(v)))
                .collect(),
        );
    }
    Value::Str(d.to_string())
}

fn kind_of(ctx: &NativeCallContext, name: &str) -> Result<Kind> {
    name.parse::<Kind>().map_err(|_| {
        let near = Kind::all()
            .map(|k| k.as_str())
            .min_by_key(|k| crate::plan::select::distance(name, k))
            .unwrap_or_default();
        rt(
            ctx,
            format!("unknown resource kind `{name}`; the nearest is `{near}`"),
        )
    })
}

fn rt(ctx: &NativeCallContext, msg: String) -> Box<EvalAltResult> {
    Box::new(EvalAltResult::ErrorRuntime(
        Dynamic::from(msg),
        ctx.call_position(),
    ))
}

fn vars_of(m: &rhai::Map) -> BTreeMap<String, String> {
    m.iter()
        .map(|(k, v)| {
            let text = match v.read_lock::<ImmutableString>() {
                Some(s) => s.to_string(),
                None => v.to_string(),
            };
            (k.to_string(), text)
        })
        .collect()
}

fn evaluated(
    ctx: &NativeCallContext,
    result: std::result::Result<Evaluation, crate::Error>,
) -> Result<Bp> {
    match result {
        Ok(e) => Ok(Bp(Rc::new(e))),
        Err(e) => {
            let (message, span) = match &e {
                crate::Error::Script { diagnostics, .. } => {
                    let d = diagnostics.first();
                    (
                        d.map(|d| d.message.clone()).unwrap_or_default(),
                        d.and_then(|d| d.frames.first().cloned()),
                    )
                }
                other => (other.to_string(), None),
            };
            let err = ScriptError {
                rendered: crate::redact::redact(&e.render()),
                message,
                file: span.as_ref().map(|s| s.source.clone()).unwrap_or_default(),
                line: span.as_ref().map(|s| s.line).unwrap_or(0),
                col: span.as_ref().map(|s| s.col).unwrap_or(0),
            };
            Err(Box::new(EvalAltResult::ErrorRuntime(
                Dynamic::from(err),
                ctx.call_position(),
            )))
        }
    }
}

fn options(c: &Context, vars: BTreeMap<String, String>) -> crate::script::Options {
    crate::script::Options {
        vars,
        var_files: Vec::new(),
        region: c.region.clone(),
        secrets: crate::script::Secrets::Sealed,
    }
}

impl Bp {
    fn graph(&self) -> &Graph {
        &self.0.graph
    }

    fn resource(&self, ctx: &NativeCallContext, address: &str) -> Result<&crate::model::Resource> {
        let found = address
            .parse::<Address>()
            .ok()
            .and_then(|a| self.graph().get(&a));
        found.ok_or_else(|| {
            let near =
                crate::plan::select::nearest(address, self.graph().iter().map(|r| &r.address));
            rt(
                ctx,
                format!(
                    "the blueprint declares no {address}{}",
                    near.map(|n| format!("; the nearest is {n}"))
                        .unwrap_or_default()
                ),
            )
        })
    }

    /// The graph with every secret as its hash, in plain text: a mock
    /// plan compares secrets by hash, as none is revealed here.
    fn masked(&self) -> Graph {
        let mut g = Graph::new();
        for r in self.graph().iter() {
            let mut r = r.clone();
            r.spec = match masked(&Value::Map(r.spec)) {
                Value::Map(m) => m,
                _ => Map::new(),
            };
            let _ = g.insert(r);
        }
        g
    }
}

fn masked(v: &Value) -> Value {
    match v {
        Value::Sensitive(s) => Value::Str(format!("(sensitive {})", s.hash)),
        Value::List(l) => Value::List(l.iter().map(masked).collect()),
        Value::Map(m) => Value::Map(m.iter().map(|(k, x)| (k.clone(), masked(x))).collect()),
        other => other.clone(),
    }
}

/// The outputs every reference in `graph` reads, made up per resource, so
/// that a mock of what is declared resolves them.
fn mock_outputs(graph: &Graph) -> HashMap<Address, BTreeMap<String, String>> {
    let mut out: HashMap<Address, BTreeMap<String, String>> = HashMap::new();
    for r in graph.iter() {
        let entry = out.entry(r.address.clone()).or_default();
        entry.insert("id".into(), mock_id(&r.address));
        entry
            .entry(r.address.kind.schema().default_attr.to_string())
            .or_insert_with(|| mock_id(&r.address));
        for v in r.spec.values() {
            for reference in v.refs() {
                // A resource's id is its mock's id; other outputs are made up.
                let value = if reference.attr == "id" {
                    mock_id(&reference.address)
                } else {
                    format!("mock-{}-{}", reference.attr, reference.address)
                };
                out.entry(reference.address.clone())
                    .or_default()
                    .entry(reference.attr.clone())
                    .or_insert(value);
            }
        }
    }
    out
}

fn mock_id(a: &Address) -> String {
    format!("mock-{a}")
}

/// A mock (`mock_live(...)` or `as_live()`) as live state.
fn live_of(ctx: &NativeCallContext, d: &Dynamic) -> Result<Live> {
    let m = d.read_lock::<rhai::Map>().ok_or_else(|| {
        rt(
            ctx,
            format!("plan(...) takes mocks made with mock_live, not {}", show(d)),
        )
    })?;
    let text = |k: &str| {
        m.get(k)
            .and_then(|v| v.read_lock::<ImmutableString>().map(|s| s.to_string()))
    };
    let (Some(kind), Some(name)) = (text("kind"), text("name")) else {
        return Err(rt(
            ctx,
            "a mock needs a kind and a name (mock_live(kind, #{ name }))".into(),
        ));
    };
    let kind = kind_of(ctx, &kind)?;
    let address = Address::new(kind, name);
    let id = text("id").unwrap_or_else(|| mock_id(&address));
    let mut l = Live::new(address, id.clone());
    if let Some(Value::Map(attrs)) = m.get("attrs").map(to_value) {
        l.attrs = attrs;
    }
    l.outputs.insert("id".into(), id);
    if let Some(Value::Map(outputs)) = m.get("outputs").map(to_value) {
        for (k, v) in outputs {
            l.outputs.insert(
                k,
                v.as_str()
                    .map(String::from)
                    .unwrap_or_else(|| v.to_string()),
            );
        }
    }
    Ok(l)
}

fn mock(kind: &str, name: &str, id: &str, attrs: Dynamic, outputs: Dynamic) -> Dynamic {
    let mut m = rhai::Map::new();
    m.insert("kind".into(), Dynamic::from(kind.to_string()));
    m.insert("name".into(), Dynamic::from(name.to_string()));
    m.insert("id".into(), Dynamic::from(id.to_string()));
    m.insert("attrs".into(), attrs);
    m.insert("outputs".into(), outputs);
    Dynamic::from_map(m)
}

/// The plan as a test sees it.
fn plan_map(p: &crate::plan::Plan) -> Dynamic {
    let s = p.summary();
    let changes: Array = p
        .changes
        .iter()
        .map(|c| {
            let mut m = rhai::Map::new();
            m.insert("address".into(), Dynamic::from(c.address.to_string()));
            m.insert(
                "action".into(),
                Dynamic::from(format!("{:?}", c.action).to_lowercase()),
            );
            m.insert(
                "reason".into(),
                c.reason
                    .as_ref()
                    .map(|r| Dynamic::from(r.to_string()))
                    .unwrap_or(Dynamic::UNIT),
            );
            m.insert(
                "fields".into(),
                Dynamic::from_array(
                    c.fields
                        .iter()
                        .map(|f| Dynamic::from(f.path.clone()))
                        .collect(),
                ),
            );
            Dynamic::from_map(m)
        })
        .collect();
    let mut m = rhai::Map::new();
    m.insert("add".into(), Dynamic::from(s.add as i64));
    m.insert("change".into(), Dynamic::from(s.change as i64));
    m.insert("replace".into(), Dynamic::from(s.replace as i64));
    m.insert("destroy".into(), Dynamic::from(s.destroy as i64));
    m.insert("changes".into(), Dynamic::from_array(changes));
    // What `bp plan` would refuse: deletes and replacements of protected
    // resources, and changes a field's guard refuses (a minor version
    // skipped, a major engine upgrade not allowed).
    let protected: Array = p
        .protected
        .iter()
        .map(|x| {
            let mut m = rhai::Map::new();
            m.insert("address".into(), Dynamic::from(x.address.to_string()));
            m.insert(
                "action".into(),
                Dynamic::from(format!("{:?}", x.action).to_lowercase()),
            );
            m.insert("reason".into(), Dynamic::from(x.reason.to_string()));
            Dynamic::from_map(m)
        })
        .collect();
    let refused: Array = p
        .refused
        .iter()
        .map(|x| {
            let mut m = rhai::Map::new();
            m.insert("address".into(), Dynamic::from(x.address.to_string()));
            m.insert("field".into(), Dynamic::from(x.field.clone()));
            m.insert("message".into(), Dynamic::from(x.message.clone()));
            Dynamic::from_map(m)
        })
        .collect();
    m.insert("protected".into(), Dynamic::from_array(protected));
    m.insert("refused".into(), Dynamic::from_array(refused));
    m.insert(
        "text".into(),
        Dynamic::from(crate::redact::redact(&crate::plan::render::human(p))),
    );
    Dynamic::from_map(m)
}

/// Registers the test functions on `engine`, for a test file in `c.dir`.
pub fn register(engine: &mut Engine, c: &Context) {
    engine.register_type_with_name::<Bp>("Blueprint");
    engine.register_type_with_name::<Failure>("Failure");
    engine.register_type_with_name::<ScriptError>("ScriptError");

    let cx = c.clone();
    engine.register_fn(
        "blueprint",
        move |ctx: NativeCallContext, path: &str, vars: rhai::Map| -> Result<Bp> {
            evaluated(
                &ctx,
                crate::script::evaluate(&cx.dir.join(path), &options(&cx, vars_of(&vars))),
            )
        },
    );
    let cx = c.clone();
    engine.register_fn(
        "blueprint",
        move |ctx: NativeCallContext, path: &str| -> Result<Bp> {
            evaluated(
                &ctx,
                crate::script::evaluate(&cx.dir.join(path), &options(&cx, BTreeMap::new())),
            )
        },
    );
    let cx = c.clone();
    engine.register_fn(
        "script",
        move |ctx: NativeCallContext, text: &str, vars: rhai::Map| -> Result<Bp> {
            evaluated(
                &ctx,
                crate::script::evaluate_text(
                    "inline.rhai",
                    text,
                    &cx.dir,
                    &options(&cx, vars_of(&vars)),
                ),
            )
        },
    );
    let cx = c.clone();
    engine.register_fn(
        "script",
        move |ctx: NativeCallContext, text: &str| -> Result<Bp> {
            evaluated(
                &ctx,
                crate::script::evaluate_text(
                    "inline.rhai",
                    text,
                    &cx.dir,
                    &options(&cx, BTreeMap::new()),
                ),
            )
        },
    );

    engine.register_get("name", |b: &mut Bp| b.0.name.clone());
    engine.register_fn("count", |b: &mut Bp| b.graph().len() as i64);
    engine.register_fn(
        "count",
        |ctx: NativeCallContext, b: &mut Bp, kind: &str| -> Result<i64> {
            let k = kind_of(&ctx, kind)?;
            Ok(b.graph().of_kind(k).count() as i64)
        },
    );
    engine.register_fn("addresses", |b: &mut Bp| -> Array {
        b.graph()
            .iter()
            .map(|r| Dynamic::from(r.address.to_string()))
            .collect()
    });
    engine.register_fn(
        "addresses",
        |ctx: NativeCallContext, b: &mut Bp, kind: &str| -> Result<Array> {
            let k = kind_of(&ctx, kind)?;
            Ok(b.graph()
                .of_kind(k)
                .map(|r| Dynamic::from(r.address.to_string()))
                .collect())
        },
    );
    engine.register_fn("has", |b: &mut Bp, address: &str| -> bool {
        address
            .parse::<Address>()
            .is_ok_and(|a| b.graph().contains(&a))
    });
    engine.register_fn(
        "resource",
        |ctx: NativeCallContext, b: &mut Bp, address: &str| -> Result<Dynamic> {
            let r = b.resource(&ctx, address)?;
            let mut m = rhai::Map::new();
            m.insert("address".into(), Dynamic::from(r.address.to_string()));
            m.insert(
                "kind".into(),
                Dynamic::from(r.address.kind.as_str().to_string()),
            );
            m.insert("spec".into(), to_dynamic(&Value::Map(r.spec.clone())));
            m.insert(
                "depends_on".into(),
                Dynamic::from_array(
                    r.depends_on
                        .iter()
                        .map(|a| Dynamic::from(a.to_string()))
                        .collect(),
                ),
            );
            if let Some(s) = r.origin.primary() {
                m.insert("line".into(), Dynamic::from(s.line as i64));
            }
            Ok(Dynamic::from_map(m))
        },
    );
    engine.register_fn(
        "depends_on",
        |ctx: NativeCallContext, b: &mut Bp, from: &str, on: &str| -> Result<bool> {
            let start = b.resource(&ctx, from)?.address.clone();
            let target = b.resource(&ctx, on)?.address.clone();
            // What `from` waits for, directly or through others.
            let mut seen: BTreeSet<Address> = BTreeSet::new();
            let mut todo = vec![start];
            while let Some(a) = todo.pop() {
                let Some(r) = b.graph().get(&a) else { continue };
                for d in r.depends_on.iter().chain(r.after_create.iter()) {
                    if d == &target {
                        return Ok(true);
                    }
                    if seen.insert(d.clone()) {
                        todo.push(d.clone());
                    }
                }
            }
            Ok(false)
        },
    );
    let cx = c.clone();
    engine.register_fn("findings", move |b: &mut Bp| -> Array {
        crate::lint::lint(b.graph(), &b.0.lint, &b.0.sources, cx.today)
            .into_iter()
            .map(|f| {
                let mut m = rhai::Map::new();
                m.insert("rule".into(), Dynamic::from(f.rule.clone()));
                m.insert(
                    "severity".into(),
                    Dynamic::from(
                        serde_json::to_value(f.severity)
                            .ok()
                            .and_then(|v| v.as_str().map(String::from))
                            .unwrap_or_default(),
                    ),
                );
                m.insert("address".into(), Dynamic::from(f.address.to_string()));
                m.insert("message".into(), Dynamic::from(f.message.clone()));
                m.insert("suppressed".into(), Dynamic::from(f.suppressed.is_some()));
                if let Some(s) = &f.location {
                    m.insert("file".into(), Dynamic::from(s.source.clone()));
                    m.insert("line".into(), Dynamic::from(s.line as i64));
                }
                Dynamic::from_map(m)
            })
            .collect()
    });
    let cx = c.clone();
    engine.register_fn("cost", move |b: &mut Bp| -> f64 {
        let g = b.graph();
        let total = crate::cost::breakdown(
            g.iter().map(|r| (&r.address, &r.spec)),
            &b.0.region,
            &cx.prices,
            cx.today,
        )
        .total();
        (total * 100.0).round() / 100.0
    });
    let cx = c.clone();
    engine.register_fn(
        "cost",
        move |ctx: NativeCallContext, b: &mut Bp, address: &str| -> Result<f64> {
            let r = b.resource(&ctx, address)?;
            let monthly = crate::cost::breakdown(
                std::iter::once((&r.address, &r.spec)),
                &b.0.region,
                &cx.prices,
                cx.today,
            )
            .total();
            Ok((monthly * 100.0).round() / 100.0)
        },
    );
    let cx = c.clone();
    engine.register_fn("no_price", move |b: &mut Bp| -> Array {
        let g = b.graph();
        crate::cost::breakdown(
            g.iter().map(|r| (&r.address, &r.spec)),
            &b.0.region,
            &cx.prices,
            cx.today,
        )
        .no_price
        .into_iter()
        .map(|(a, why)| {
            let mut m = rhai::Map::new();
            m.insert("address".into(), Dynamic::from(a.to_string()));
            m.insert("why".into(), Dynamic::from(why));
            Dynamic::from_map(m)
        })
        .collect()
    });
    engine.register_fn("as_live", |b: &mut Bp| -> Array {
        let outputs = mock_outputs(b.graph());
        let known: HashMap<Address, &BTreeMap<String, String>> =
            outputs.iter().map(|(a, o)| (a.clone(), o)).collect();
        b.masked()
            .iter()
            .map(|r| {
                let attrs = crate::plan::resolve(&Value::Map(r.spec.clone()), &known);
                let outs = outputs.get(&r.address).cloned().unwrap_or_default();
                let outs = Value::Map(outs.into_iter().map(|(k, v)| (k, Value::Str(v))).collect());
                mock(
                    r.address.kind.as_str(),
                    &r.address.name,
                    &mock_id(&r.address),
                    to_dynamic(&attrs),
                    to_dynamic(&outs),
                )
            })
            .collect()
    });
    engine.register_fn("plan", |b: &mut Bp| -> Dynamic {
        plan_map(&crate::plan::compute(
            &b.0.name,
            &b.0.region,
            &b.masked(),
            &[],
        ))
    });
    engine.register_fn(
        "plan",
        |ctx: NativeCallContext, b: &mut Bp, live: Array| -> Result<Dynamic> {
            let live: Vec<Live> = live
                .iter()
                .map(|d| live_of(&ctx, d))
                .collect::<Result<_>>()?;
            Ok(plan_map(&crate::plan::compute(
                &b.0.name,
                &b.0.region,
                &b.masked(),
                &live,
            )))
        },
    );
    engine.register_fn(
        "mock_live",
        |ctx: NativeCallContext, kind: &str, m: rhai::Map| -> Result<Dynamic> {
            let k = kind_of(&ctx, kind)?;
            let Some(name) = m
                .get("name")
                .and_then(|v| v.read_lock::<ImmutableString>().map(|s| s.to_string()))
            else {
                return Err(rt(
                    &ctx,
                    "mock_live(kind, #{ name, id?, attrs?, outputs? }) needs a name".into(),
                ));
            };
            for key in m.keys() {
                if !["name", "id", "attrs", "outputs"].contains(&key.as_str()) {
                    return Err(rt(
                        &ctx,
                        format!("mock_live: unknown option `{key}` (name, id, attrs, outputs)"),
                    ));
                }
            }
            let address = Address::new(k, name.clone());
            let id = m
                .get("id")
                .map(|v| v.to_string())
                .unwrap_or_else(|| mock_id(&address));
            Ok(mock(
                kind,
                &name,
                &id,
                m.get("attrs")
                    .cloned()
                    .unwrap_or_else(|| Dynamic::from_map(rhai::Map::new())),
                m.get("outputs")
                    .cloned()
                    .unwrap_or_else(|| Dynamic::from_map(rhai::Map::new())),
            ))
        },
    );

    engine.register_fn("assert", |ctx: NativeCallContext, ok: bool| -> Result<()> {
        if ok {
            Ok(())
        } else {
            fail(&ctx, failure(&ctx, "assertion failed"))
        }
    });
    engine.register_fn(
        "assert",
        |ctx: NativeCallContext, ok: bool, msg: &str| -> Result<()> {
            if ok {
                Ok(())
            } else {
                fail(&ctx, failure(&ctx, format!("assertion failed: {msg}")))
            }
        },
    );
    fn compare(
        ctx: &NativeCallContext,
        left: &Dynamic,
        right: &Dynamic,
        want_equal: bool,
        msg: &str,
    ) -> Result<()> {
        if equal(left, right) == want_equal {
            return Ok(());
        }
        let what = if want_equal { "assert_eq" } else { "assert_ne" };
        let mut f = failure(
            ctx,
            if msg.is_empty() {
                format!("{what} failed")
            } else {
                format!("{what} failed: {msg}")
            },
        );
        f.left = Some(show(left));
        f.right = Some(show(right));
        fail(ctx, f)
    }
    engine.register_fn(
        "assert_eq",
        |ctx: NativeCallContext, l: Dynamic, r: Dynamic| compare(&ctx, &l, &r, true, ""),
    );
    engine.register_fn(
        "assert_eq",
        |ctx: NativeCallContext, l: Dynamic, r: Dynamic, msg: &str| {
            compare(&ctx, &l, &r, true, msg)
        },
    );
    engine.register_fn(
        "assert_ne",
        |ctx: NativeCallContext, l: Dynamic, r: Dynamic| compare(&ctx, &l, &r, false, ""),
    );
    engine.register_fn(
        "assert_ne",
        |ctx: NativeCallContext, l: Dynamic, r: Dynamic, msg: &str| {
            compare(&ctx, &l, &r, false, msg)
        },
    );
    engine.register_fn(
        "assert_contains",
        |ctx: NativeCallContext, hay: Dynamic, needle: Dynamic| -> Result<()> {
            let found = if let Some(s) = hay.read_lock::<ImmutableString>() {
                s.contains(needle.to_string().as_str())
            } else if let Some(a) = hay.read_lock::<Array>() {
                a.iter().any(|x| equal(x, &needle))
            } else if let Some(m) = hay.read_lock::<rhai::Map>() {
                m.contains_key(needle.to_string().as_str())
            } else {
                false
            };
            if found {
                return Ok(());
            }
            let mut f = failure(&ctx, "assert_contains failed");
            f.left = Some(show(&hay));
            f.right = Some(show(&needle));
            fail(&ctx, f)
        },
    );
    engine.register_fn(
        "expect_error",
        |ctx: NativeCallContext, f: FnPtr, text: &str| -> Result<Dynamic> {
            let err = match f.call_within_context::<Dynamic>(&ctx, ()) {
                Ok(v) => {
                    let mut fl = failure(
                        &ctx,
                        format!("expect_error failed: no error (expected one saying {text:?})"),
                    );
                    fl.left = Some(show(&v));
                    return fail(&ctx, fl);
                }
                Err(e) => e,
            };
            let seen = caught(&err);
            if let Caught::Failure(fl) = seen {
                // An assertion inside the function: that is its own failure.
                return fail(&ctx, fl);
            }
            let (message, whole, file, line, col) = match seen {
                Caught::Script(s) => (s.message.clone(), s.rendered.clone(), s.file, s.line, s.col),
                Caught::Other { message, line, col } => {
                    (message.clone(), message, String::new(), line, col)
                }
                Caught::Failure(_) => unreachable!("returned above"),
            };
            if !whole.contains(text) {
                let mut fl = failure(
                    &ctx,
                    format!("expect_error failed: the error does not say {text:?}"),
                );
                fl.left = Some(whole);
                fl.right = Some(format!("{text:?}"));
                return fail(&ctx, fl);
            }
            let mut m = rhai::Map::new();
            m.insert("message".into(), Dynamic::from(message));
            m.insert("file".into(), Dynamic::from(file));
            m.insert("line".into(), Dynamic::from(line as i64));
            m.insert("col".into(), Dynamic::from(col as i64));
            Ok(Dynamic::from_map(m))
        },
    );
}

/// What an error that ended a test was.
pub enum Caught {
    /// An assertion did not hold.
    Failure(Failure),
    /// A blueprint did not evaluate.
    Script(ScriptError),
    /// Anything else: a mistake in the test itself, at its place.
    Other {
        message: String,
        line: usize,
        col: usize,
    },
}

/// The error under the calls it went through.
pub fn caught(e: &EvalAltResult) -> Caught {
    match e {
        EvalAltResult::ErrorInFunctionCall(_, _, inner, _)
        | EvalAltResult::ErrorInModule(_, inner, _) => caught(inner),
        EvalAltResult::ErrorRuntime(d, pos) => {
            if let Some(f) = d.read_lock::<Failure>() {
                return Caught::Failure(f.clone());
            }
            if let Some(s) = d.read_lock::<ScriptError>() {
                return Caught::Script(s.clone());
            }
            // A Blueprint function's own error, called from the test.
            if let Some(f) = d.read_lock::<crate::script::state::Fault>() {
                let at = f.frames.first();
                let hint = f
                    .problem
                    .hint
                    .as_ref()
                    .map(|h| format!("\n  = hint: {h}"))
                    .unwrap_or_default();
                return Caught::Script(ScriptError {
                    rendered: format!("{}{hint}", f.problem.message),
                    message: f.problem.message.clone(),
                    file: at.map(|s| s.source.clone()).unwrap_or_default(),
                    line: at.map(|s| s.line).unwrap_or(pos.line().unwrap_or(0)),
                    col: at.map(|s| s.col).unwrap_or(pos.position().unwrap_or(0)),
                });
            }
            Caught::Other {
                message: match d.read_lock::<ImmutableString>() {
                    Some(s) => s.to_string(),
                    None => d.to_string(),
                },
                line: pos.line().unwrap_or(0),
                col: pos.position().unwrap_or(0),
            }
        }
        other => Caught::Other {
            message: other.to_string(),
            line: other.position().line().unwrap_or(0),
            col: other.position().position().unwrap_or(0),
        },
    }
}
