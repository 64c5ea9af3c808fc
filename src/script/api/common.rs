//! `var`, `region`, `tags` and `ref`.

use super::super::handles;
use super::super::handles::SecretValue;
use super::super::state::{check_tags, fail, origin, Fallible, Shared, State};
use crate::model::{names::suggest, Address, Problem};
use rhai::{Dynamic, Engine, NativeCallContext};

pub fn register(engine: &mut Engine, state: &Shared) {
    let s = state.clone();
    engine.register_fn(
        "var",
        move |ctx: NativeCallContext, name: Dynamic| -> Fallible<Dynamic> {
            let name = name.to_string();
            let mut st = s.borrow_mut();
            match given(&mut st, &name, false) {
                Some(v) => Ok(v),
                None => Err(not_set(&ctx, &st, &name)),
            }
        },
    );
    let s = state.clone();
    engine.register_fn(
        "var",
        move |ctx: NativeCallContext, name: Dynamic, default: Dynamic| -> Fallible<Dynamic> {
            let name = name.to_string();
            let mut st = s.borrow_mut();
            // var(name, #{ sensitive: true, default? }): options, not a
            // default value.
            if let Some(opts) = var_options(&default) {
                let sensitive = match opts.get("sensitive") {
                    Some(b) if b.is_bool() => b.as_bool().unwrap_or(false),
                    _ => {
                        return Err(fail(
                            &ctx,
                            Problem::new(format!(
                                "var(\"{name}\", #{{ ... }}): sensitive must be true or false"
                            )),
                        ))
                    }
                };
                if let Some(k) = opts
                    .keys()
                    .find(|k| !matches!(k.as_str(), "sensitive" | "default"))
                {
                    return Err(fail(
                        &ctx,
                        Problem::new(format!("var(\"{name}\", #{{ ... }}): unknown option `{k}`"))
                            .hint("a variable's options are sensitive and default"),
                    ));
                }
                if sensitive {
                    st.vars_sensitive.insert(name.clone());
                }
                if let Some(v) = given(&mut st, &name, sensitive) {
                    return Ok(v);
                }
                return match opts.get("default") {
                    Some(d) if sensitive && d.is_string() => {
                        Ok(Dynamic::from(secret_var(&name, &d.to_string())))
                    }
                    Some(d) => Ok(d.clone()),
                    None => Err(not_set(&ctx, &st, &name)),
                };
            }
            if let Some(v) = st.secret_vars.get(&name).cloned() {
                st.vars_read.insert(name, crate::redact::MASK.to_string());
                return Ok(Dynamic::from(v));
            }
            let Some(raw) = st.vars.get(&name).cloned() else {
                st.vars_read.insert(name, default.to_string());
                return Ok(default);
            };
            st.vars_read.insert(name.clone(), raw.clone());
            // The value is not repeated: it may be a secret.
            typed_like(&raw, &default).ok_or_else(|| {
                fail(
                    &ctx,
                    Problem::new(format!(
                        "variable `{name}` is not of its default's type ({})",
                        super::schema::describe_value(&default)
                    ))
                    .hint(format!(
                        "pass a value of the default's type: --var {name}=..."
                    )),
                )
            })
        },
    );
    let s = state.clone();
    engine.register_fn("region", move || s.borrow().region.clone());

    let s = state.clone();
    engine.register_fn(
        "allow",
        move |ctx: NativeCallContext, id: Dynamic, reason: Dynamic| -> Fallible<()> {
            let id = id.to_string();
            let reason = crate::lint::check_allow(&id, &reason).map_err(|p| fail(&ctx, p))?;
            let at = origin(&ctx).primary().cloned();
            s.borrow_mut().allows.push(crate::lint::Allow {
                rule: id,
                reason,
                at,
            });
            Ok(())
        },
    );

    let s = state.clone();
    engine.register_fn(
        "moved",
        move |ctx: NativeCallContext, from: Dynamic, to: Dynamic| -> Fallible<()> {
            let parse = |d: &Dynamic| -> Fallible<crate::model::Address> {
                let text = crate::script::handles::address_of(d)
                    .map(|a| a.to_string())
                    .unwrap_or_else(|| d.to_string());
                text.parse().map_err(|e| {
                    fail(
                        &ctx,
                        Problem::new(format!("moved(...): `{text}` is not an address: {e}"))
                            .hint("addresses read kind.name, e.g. \"node_group.pms-prod/app\""),
                    )
                })
            };
            let (from, to) = (parse(&from)?, parse(&to)?);
            if from.kind != to.kind {
                return Err(fail(
                    &ctx,
                    Problem::new(format!(
                        "moved({from}, {to}) moves a {} onto a {}: a resource keeps its kind",
                        from.kind, to.kind
                    ))
                    .hint("declare the new kind's resource instead; the old one is deleted"),
                ));
            }
            if from == to {
                return Err(fail(
                    &ctx,
                    Problem::new(format!("moved({from}, {to}) moves nothing")),
                ));
            }
            // An in-cluster address is the object's Kubernetes identity
            // (cluster, namespace, name; a Helm release's name), which
            // Kubernetes and Helm never change: a "renamed" object is
            // another object.
            if from.kind.schema().scope == crate::model::schema::Scope::InCluster {
                return Err(fail(
                    &ctx,
                    Problem::new(format!(
                        "moved({from}, {to}): a {}'s address is its Kubernetes identity (cluster, namespace and name), and Kubernetes cannot rename an object, so nothing can keep it across this move",
                        from.kind
                    ))
                    .hint("keep the old name to keep the object; or declare the new name without moved(...), and the plan makes the new object and deletes the old one"),
                ));
            }
            let mut st = s.borrow_mut();
            if st.graph.moves().iter().any(|(f, _)| *f == from) {
                return Err(fail(&ctx, Problem::new(format!("{from} is moved twice"))));
            }
            st.graph.add_move(from, to);
            Ok(())
        },
    );

    let s = state.clone();
    engine.register_fn(
        "blueprint_name",
        move |ctx: NativeCallContext, name: Dynamic| -> Fallible<()> {
            let name = name.to_string();
            crate::model::names::check_blueprint_name(&name).map_err(|p| fail(&ctx, p))?;
            s.borrow_mut().blueprint_name = Some(name);
            Ok(())
        },
    );

    let s = state.clone();
    engine.register_fn(
        "tags",
        move |ctx: NativeCallContext, tags: Dynamic| -> Fallible<()> {
            let Some(m) = tags.read_lock::<rhai::Map>().map(|m| m.clone()) else {
                return Err(fail(
                    &ctx,
                    Problem::new(format!(
                        "tags(...) takes a map of strings, but got {}",
                        super::schema::describe_value(&tags)
                    )),
                ));
            };
            if let Some((k, v)) = m.iter().find(|(_, v)| !v.is_string()) {
                return Err(fail(
                    &ctx,
                    Problem::new(format!(
                        "tag `{k}` must be a string, but it is {}",
                        super::schema::describe_value(v)
                    )),
                ));
            }
            check_tags(&ctx, Some(&tags))?;
            let mut st = s.borrow_mut();
            for (k, v) in m {
                st.default_tags.insert(k.to_string(), v.to_string());
            }
            Ok(())
        },
    );

    let s = state.clone();
    engine.register_fn(
        "ref",
        move |ctx: NativeCallContext, address: Dynamic| -> Fallible<Dynamic> {
            let text = address.to_string();
            let a: Address = text.parse().map_err(|e: String| {
                fail(
                    &ctx,
                    Problem::new(e).hint("addresses look like \"security_group.pms-prod/bastion\""),
                )
            })?;
            s.borrow_mut().forward_refs.push((a.clone(), origin(&ctx)));
            Ok(handles::handle_for(a))
        },
    );
}

/// The value of a variable given to the run, if it was: a sensitive value
/// when it came from an encrypted var file or the script declared it so.
fn given(st: &mut State, name: &str, sensitive: bool) -> Option<Dynamic> {
    if let Some(v) = st.secret_vars.get(name).cloned() {
        st.vars_read
            .insert(name.to_string(), crate::redact::MASK.to_string());
        return Some(Dynamic::from(v));
    }
    let raw = st.vars.get(name).cloned()?;
    st.vars_read.insert(name.to_string(), raw.clone());
    Some(if sensitive {
        Dynamic::from(secret_var(name, &raw))
    } else {
        Dynamic::from(raw)
    })
}

/// A variable's value held as a secret: hashed where it belongs, never
/// shown, and taken out of every log line and error from now on.
fn secret_var(name: &str, raw: &str) -> SecretValue {
    crate::redact::register(raw);
    SecretValue {
        hash: crate::model::verifier::script_secret_hash(raw, &["var", name]),
        value: Some(crate::model::Value::Str(raw.to_string())),
    }
}

/// The options map of `var(name, #{ sensitive: ..., default: ... })`: a map
/// with the key `sensitive`.
fn var_options(arg: &Dynamic) -> Option<rhai::Map> {
    let m = arg.read_lock::<rhai::Map>()?;
    m.contains_key("sensitive").then(|| m.clone())
}

fn not_set(ctx: &NativeCallContext, st: &State, name: &str) -> Box<rhai::EvalAltResult> {
    let known: Vec<&str> = st
        .vars
        .keys()
        .chain(st.secret_vars.keys())
        .map(String::as_str)
        .collect();
    let hint = match suggest(name, known) {
        Some(m) => format!("did you mean `{m}`? or pass --var {name}=VALUE"),
        None => format!(
            "pass --var {name}=VALUE (or BP_VAR_{name}), or give a default: var(\"{name}\", ...)"
        ),
    };
    fail(
        ctx,
        Problem::new(format!("variable `{name}` is not set")).hint(hint),
    )
}

/// Parses a `--var` string into the type of the default value.
fn typed_like(raw: &str, default: &Dynamic) -> Option<Dynamic> {
    if default.is_int() {
        return raw.trim().parse::<i64>().ok().map(Dynamic::from);
    }
    if default.is_bool() {
        return match raw.trim() {
            "true" => Some(Dynamic::from(true)),
            "false" => Some(Dynamic::from(false)),
            _ => None,
        };
    }
    if default.is_float() {
        return raw.trim().parse::<f64>().ok().map(Dynamic::from);
    }
    Some(Dynamic::from(raw.to_string()))
}

/// Helpers the stdlib is written with: CIDR maths and option checking.
pub fn register_helpers(engine: &mut Engine) {
    engine.register_fn(
        "cidr_split",
        |ctx: NativeCallContext, cidr: &str, n: i64| -> Fallible<rhai::Array> {
            let c = parse_cidr(&ctx, cidr)?;
            let n = u32::try_from(n)
                .map_err(|_| fail(&ctx, Problem::new(format!("cannot split into {n} blocks"))))?;
            let parts = c.split(n).map_err(|m| fail(&ctx, Problem::new(m)))?;
            Ok(parts.iter().map(|p| Dynamic::from(p.to_string())).collect())
        },
    );
    engine.register_fn(
        "cidr_subnet",
        |ctx: NativeCallContext, cidr: &str, newbits: i64, num: i64| -> Fallible<String> {
            let c = parse_cidr(&ctx, cidr)?;
            let prefix = i64::from(c.prefix) + newbits;
            if newbits < 0 || prefix > 32 {
                return Err(fail(
                    &ctx,
                    Problem::new(format!("{c} cannot take {newbits} more prefix bits")),
                ));
            }
            let all = c
                .subdivide(prefix as u8)
                .map_err(|m| fail(&ctx, Problem::new(m)))?;
            usize::try_from(num)
                .ok()
                .and_then(|i| all.get(i))
                .map(|p| p.to_string())
                .ok_or_else(|| {
                    fail(
                        &ctx,
                        Problem::new(format!(
                            "{c} has {} blocks of /{prefix}; number {num} is out of range",
                            all.len()
                        )),
                    )
                })
        },
    );
    engine.register_fn(
        "cidr_contains",
        |ctx: NativeCallContext, outer: &str, inner: &str| -> Fallible<bool> {
            Ok(parse_cidr(&ctx, outer)?.contains(&parse_cidr(&ctx, inner)?))
        },
    );
    engine.register_fn(
        "check_options",
        |ctx: NativeCallContext,
         opts: rhai::Map,
         allowed: rhai::Array,
         what: &str|
         -> Fallible<()> {
            let allowed: Vec<String> = allowed.iter().map(|a| a.to_string()).collect();
            for k in opts.keys() {
                if !allowed.iter().any(|a| a == k.as_str()) {
                    let hint = match suggest(k, allowed.iter().map(String::as_str)) {
                        Some(s) => format!("did you mean `{s}`?"),
                        None => format!("{what} takes: {}", allowed.join(", ")),
                    };
                    return Err(fail(
                        &ctx,
                        Problem::new(format!("unknown option `{k}` for {what}")).hint(hint),
                    ));
                }
            }
            Ok(())
        },
    );
}

fn parse_cidr(ctx: &NativeCallContext, s: &str) -> Fallible<crate::model::Cidr> {
    s.parse::<crate::model::Cidr>()
        .map_err(|e| fail(ctx, Problem::new(e.to_string()).hint(e.hint())))
}
