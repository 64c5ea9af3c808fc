//! `kms_key`.

use super::super::handles::{KmsKey, Output};
use super::super::schema;
use super::super::state::{check_name, check_tags, declare, fail, Deps, Fallible, Opts, Shared};
use super::{name_arg, opts_arg};
use crate::model::{Address, Kind, Map, Problem, Value};
use rhai::{Dynamic, Engine, NativeCallContext};

pub fn register(engine: &mut Engine, state: &Shared) {
    let s = state.clone();
    engine.register_fn(
        "kms_key",
        move |ctx: NativeCallContext, name: Dynamic, opts: Dynamic| kms_key(&s, &ctx, &name, &opts),
    );
    let s = state.clone();
    engine.register_fn("kms_key", move |ctx: NativeCallContext, name: Dynamic| {
        kms_key(&s, &ctx, &name, &Dynamic::from(rhai::Map::new()))
    });
    engine.register_get("name", |k: &mut KmsKey| {
        Output::attr(&k.0, "name", Some(k.0.name.clone()))
    });
    engine.register_get("arn", |k: &mut KmsKey| Output::attr(&k.0, "arn", None));
    engine.register_get("id", |k: &mut KmsKey| Output::attr(&k.0, "id", None));
}

fn kms_key(
    state: &Shared,
    ctx: &NativeCallContext,
    name: &Dynamic,
    opts: &Dynamic,
) -> Fallible<KmsKey> {
    let name = name_arg(ctx, "kms_key", name)?;
    let map = opts_arg(ctx, "kms_key", opts, schema::KMS_KEY)?;
    let o = Opts(&map);
    check_name(ctx, Kind::KmsKey, &name)?;
    check_tags(ctx, o.get("tags"))?;
    let mut spec = Map::new();
    spec.insert("name".into(), Value::str(&name));
    spec.insert(
        "description".into(),
        Value::str(
            o.str("description")
                .unwrap_or_else(|| format!("Blueprint key {name}")),
        ),
    );
    spec.insert("rotation".into(), Value::Bool(o.bool_or("rotation", true)));
    if let Some(alias) = o.str("alias") {
        let full = if alias.starts_with("alias/") {
            alias.clone()
        } else {
            format!("alias/{alias}")
        };
        let body = &full["alias/".len()..];
        let ok = !body.is_empty()
            && body.len() <= 250
            && body
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '_' | '-'))
            && !full.starts_with("alias/aws/");
        if !ok {
            return Err(fail(
                ctx,
                Problem::new(format!("`{alias}` is not a valid KMS alias")).hint(
                    "aliases hold letters, digits, `/`, `_` and `-`, and must not start with aws/",
                ),
            ));
        }
        spec.insert("alias".into(), Value::str(full));
    } else {
        spec.insert("alias".into(), Value::Null);
    }
    let mut deps = Deps::default();
    if let Some(t) = state.borrow().tags(o.get("tags"), &mut deps) {
        spec.insert("tags".into(), t);
    }
    let addr = Address::new(Kind::KmsKey, &name);
    declare(state, ctx, addr.clone(), spec, deps)?;
    Ok(KmsKey(addr))
}
