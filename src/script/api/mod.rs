//! The functions scripts call, one file per resource family.

mod common;
mod eks;
mod iam;
mod kms;
mod network;
mod s3;
mod secrets;

use super::schema::{self, Opt};
use super::state::{fail, Fallible, Shared};
use crate::model::Problem;
use rhai::{Dynamic, Engine, NativeCallContext};

pub fn register(engine: &mut Engine, state: &Shared) {
    common::register(engine, state);
    common::register_helpers(engine);
    network::register(engine, state);
    iam::register(engine, state);
    kms::register(engine, state);
    eks::register(engine, state);
    s3::register(engine, state);
    secrets::register(engine, state);
}

/// The name argument of a constructor: it must be a string.
fn name_arg(ctx: &NativeCallContext, what: &str, name: &Dynamic) -> Fallible<String> {
    if name.is_string() {
        return Ok(name.to_string());
    }
    Err(fail(
        ctx,
        Problem::new(format!(
            "the name given to {what} must be a string, but it is {}",
            schema::describe_value(name)
        )),
    ))
}

/// The options argument of a constructor: a map, checked against its schema.
fn opts_arg(
    ctx: &NativeCallContext,
    what: &str,
    opts: &Dynamic,
    schema: &[Opt],
) -> Fallible<rhai::Map> {
    let Some(map) = opts.read_lock::<rhai::Map>().map(|m| m.clone()) else {
        return Err(fail(
            ctx,
            Problem::new(format!(
                "the options of {what} must be a map `#{{ ... }}`, but they are {}",
                schema::describe_value(opts)
            )),
        ));
    };
    schema::check(schema, &map, what).map_err(|p| fail(ctx, p))?;
    Ok(map)
}
