//! The one place the Rhai engine is built: limits, sandboxing, output
//! routing, Ctrl-C, the module resolver and every Blueprint function.

use super::resolver::Resolver;
use super::state::Shared;
use super::{api, handles};
use crate::diagnostic::Sources;
use rhai::{Dynamic, Engine};
use std::path::Path;

/// Limits that keep a script from running away. A 1,000-resource blueprint
/// stays far below every one of them.
pub mod limits {
    pub const OPERATIONS: u64 = 5_000_000;
    pub const CALL_LEVELS: usize = 64;
    pub const EXPR_DEPTH: usize = 64;
    pub const FN_EXPR_DEPTH: usize = 32;
    pub const STRING_SIZE: usize = 1 << 20;
    pub const ARRAY_SIZE: usize = 100_000;
    pub const MAP_SIZE: usize = 100_000;
    pub const MODULES: usize = 64;
}

pub fn build(state: &Shared, sources: &Sources, root: &Path) -> Engine {
    let mut engine = Engine::new();
    engine
        .set_max_operations(limits::OPERATIONS)
        .set_max_call_levels(limits::CALL_LEVELS)
        .set_max_expr_depths(limits::EXPR_DEPTH, limits::FN_EXPR_DEPTH)
        .set_max_string_size(limits::STRING_SIZE)
        .set_max_array_size(limits::ARRAY_SIZE)
        .set_max_map_size(limits::MAP_SIZE)
        .set_max_modules(limits::MODULES)
        .set_strict_variables(true)
        .set_fail_on_invalid_map_property(true);
    engine.disable_symbol("eval");
    // Rhai reserves words it does not use (`var`, `public`, `default`, ...)
    // and has `private` for module functions. Blueprints need them as plain
    // names: `var("env")`, `#{ public: true, private: true }`. So every
    // reserved word becomes an identifier, and `private fn` is not available.
    #[allow(deprecated)] // volatile, not deprecated
    engine.on_parse_token(|token, _, _| match token {
        rhai::Token::Reserved(s) if s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') => {
            rhai::Token::Identifier(s)
        }
        rhai::Token::Private => rhai::Token::Identifier(Box::new("private".into())),
        other => other,
    });
    engine.on_print(|s| eprintln!("{s}"));
    engine.on_debug(|s, src, pos| match src {
        Some(src) => eprintln!("[{src}:{pos}] {s}"),
        None => eprintln!("[{pos}] {s}"),
    });
    engine.on_progress(|_| crate::interrupt::requested().then(|| Dynamic::from("interrupted")));
    // The debugger keeps the script call stack, so that a resource declared
    // inside a stdlib function knows which blueprint line called it.
    #[allow(deprecated)] // volatile, not deprecated: rhai marks internals this way
    engine.register_debugger(
        |_, dbg| dbg,
        |_, _, _, _, _| Ok(rhai::debugger::DebuggerCommand::Continue),
    );
    engine.set_module_resolver(Resolver::new(root, sources.clone()));
    handles::register_values(&mut engine);
    api::register(&mut engine, state);
    engine
}
