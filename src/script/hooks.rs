//! What each kind gives the language: its handle type, its functions and
//! their docs, and its checks over the whole graph. The kind registry hands
//! the list down (linked in, see [`KINDS`]); this layer never names a kind.

use super::schema::FnDoc;
use super::state::Shared;
use crate::model::validate::GraphCheck;
use crate::model::{Address, Kind};
use rhai::Dynamic;
use std::sync::OnceLock;

/// One kind's part of the language.
#[derive(Clone, Copy)]
pub struct ScriptKind {
    pub kind: Kind,
    /// Properties and methods of the handle, for completion and `:help`.
    pub members: &'static [&'static str],
    /// Constructors and methods, with their option schemas and docs.
    pub functions: &'static [FnDoc],
    /// Registers the handle type, constructors, methods and getters.
    pub register: fn(&mut rhai::Engine, &Shared),
    /// Wraps an address in this kind's handle type.
    pub wrap: fn(Address) -> Dynamic,
    /// The address of a handle of this kind.
    pub unwrap: fn(&Dynamic) -> Option<Address>,
    /// Checks over the whole desired graph (CIDR blocks inside their VPC).
    pub validate: Option<GraphCheck>,
}

/// Where the kind registry hands its list to the language: one element,
/// every kind's part in registry order.
#[linkme::distributed_slice]
pub static KINDS: [fn() -> Vec<ScriptKind>];

/// Every kind's part of the language, in registry order.
pub fn kinds() -> &'static [ScriptKind] {
    static ALL: OnceLock<Vec<ScriptKind>> = OnceLock::new();
    ALL.get_or_init(|| KINDS.iter().flat_map(|list| list()).collect())
}

/// The part of one kind.
pub fn of(kind: Kind) -> &'static ScriptKind {
    kinds()
        .iter()
        .find(|k| k.kind == kind)
        .unwrap_or_else(|| panic!("kind `{kind}` has no script hooks"))
}

/// The kind whose handle type scripts see as `type_name` (`Cluster`).
pub fn by_handle(type_name: &str) -> Option<&'static ScriptKind> {
    kinds().iter().find(|k| k.kind.schema().handle == type_name)
}

/// Every kind's whole-graph checks.
pub fn graph_checks() -> &'static [GraphCheck] {
    static ALL: OnceLock<Vec<GraphCheck>> = OnceLock::new();
    ALL.get_or_init(|| kinds().iter().filter_map(|k| k.validate).collect())
}
