//! `s3_bucket`.

use super::super::handles::{Output, S3Bucket};
use super::super::schema;
use super::super::state::{
    check_name, check_tags, declare, fail, ref_to, Deps, Fallible, Opts, Shared,
};
use super::{name_arg, opts_arg};
use crate::model::{Address, Kind, Map, Problem, Value};
use rhai::{Dynamic, Engine, NativeCallContext};

pub fn register(engine: &mut Engine, state: &Shared) {
    let s = state.clone();
    engine.register_fn(
        "s3_bucket",
        move |ctx: NativeCallContext, name: Dynamic, opts: Dynamic| {
            s3_bucket(&s, &ctx, &name, &opts)
        },
    );
    let s = state.clone();
    engine.register_fn("s3_bucket", move |ctx: NativeCallContext, name: Dynamic| {
        s3_bucket(&s, &ctx, &name, &Dynamic::from(rhai::Map::new()))
    });
    engine.register_get("name", |b: &mut S3Bucket| {
        Output::attr(&b.0, "name", Some(b.0.name.clone()))
    });
    engine.register_get("arn", |b: &mut S3Bucket| {
        Output::attr(&b.0, "arn", Some(format!("arn:aws:s3:::{}", b.0.name)))
    });
}

fn s3_bucket(
    state: &Shared,
    ctx: &NativeCallContext,
    name: &Dynamic,
    opts: &Dynamic,
) -> Fallible<S3Bucket> {
    let name = name_arg(ctx, "s3_bucket", name)?;
    let map = opts_arg(ctx, "s3_bucket", opts, schema::S3_BUCKET)?;
    let o = Opts(&map);
    check_name(ctx, Kind::S3Bucket, &name)?;
    check_tags(ctx, o.get("tags"))?;
    let mut deps = Deps::default();
    let mut spec = Map::new();
    spec.insert("name".into(), Value::str(&name));
    spec.insert(
        "versioning".into(),
        Value::Bool(o.bool_or("versioning", false)),
    );
    match o.address("encryption_key") {
        Some(k) => {
            deps.add(&k);
            spec.insert("encryption_key".into(), ref_to(&k));
        }
        None => {
            spec.insert("encryption_key".into(), Value::Null);
        }
    }
    if let Some(days) = o.int("expire_days") {
        if days < 1 {
            return Err(fail(
                ctx,
                Problem::new(format!("expire_days is {days}; it must be at least 1"))
                    .hint("leave expire_days out to keep objects forever"),
            ));
        }
        spec.insert("expire_days".into(), Value::Int(days));
    } else {
        spec.insert("expire_days".into(), Value::Null);
    }
    spec.insert(
        "public_access_block".into(),
        Value::Bool(o.bool_or("public_access_block", true)),
    );
    if let Some(t) = state.borrow().tags(o.get("tags"), &mut deps) {
        spec.insert("tags".into(), t);
    }
    let addr = Address::new(Kind::S3Bucket, &name);
    declare(state, ctx, addr.clone(), spec, deps)?;
    Ok(S3Bucket(addr))
}
