//! The functions scripts call that belong to no kind (`var`, `tags`,
//! `ref`, `sops_file`, the stdlib helpers), the registration of every kind's
//! functions from the registry, and the argument checks constructors share.

mod common;
pub mod facts;
pub mod providers;
pub(crate) mod secrets;

use super::schema::{self, Opt};
use super::state::{fail, Fallible, Shared};
use crate::model::Problem;
use rhai::{Dynamic, Engine, NativeCallContext};

pub fn register(engine: &mut Engine, state: &Shared) {
    common::register(engine, state);
    common::register_helpers(engine);
    providers::register(engine, state);
    for k in super::hooks::kinds() {
        (k.register)(engine, state);
    }
    secrets::register(engine, state);
    facts::register(engine, state);
}

/// The name argument of a constructor: it must be a string.
pub fn name_arg(ctx: &NativeCallContext, what: &str, name: &Dynamic) -> Fallible<String> {
    if name.is_string() {
        return Ok(name.to_string());
    }
    if let Some(text) = facts::pending_text(name) {
        return Ok(text);
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
pub fn opts_arg(
    ctx: &NativeCallContext,
    what: &str,
    opts: &Dynamic,
    schema: &[Opt],
) -> Fallible<rhai::Map> {
    let Some(mut map) = opts.read_lock::<rhai::Map>().map(|m| m.clone()) else {
        return Err(fail(
            ctx,
            Problem::new(format!(
                "the options of {what} must be a map `#{{ ... }}`, but they are {}",
                schema::describe_value(opts)
            )),
        ));
    };
    crate::script::state::take_allow(ctx, what, &mut map)?;
    crate::script::state::take_ignore(ctx, what, &mut map)?;
    schema::check(schema, &map, what).map_err(|p| fail(ctx, p))?;
    Ok(map)
}
