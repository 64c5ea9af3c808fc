use super::{Address, Kind, Map, Value};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;

/// A place in a script: the file (or stdlib module) name, 1-based line and column.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Span {
    pub source: String,
    pub line: usize,
    pub col: usize,
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.source, self.line, self.col)
    }
}

/// Where a resource was declared: the innermost call first, then the calls
/// that led to it (a stdlib function called from the blueprint).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Origin {
    pub frames: Vec<Span>,
}

impl Origin {
    pub fn primary(&self) -> Option<&Span> {
        self.frames.first()
    }
}

/// Something wrong with the desired state, in words a user can act on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub message: String,
    pub hint: Option<String>,
}

impl Problem {
    pub fn new(message: impl Into<String>) -> Problem {
        Problem {
            message: message.into(),
            hint: None,
        }
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Problem {
        self.hint = Some(hint.into());
        self
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// The spec key that marks a reference to something that exists and that
/// the blueprint does not manage (`existing_vpc(id)`): read while the script
/// runs, never created, changed or deleted. Its value is the id.
pub const EXISTING: &str = "existing";

/// One declared resource.
#[derive(Clone, Debug, PartialEq)]
pub struct Resource {
    pub address: Address,
    /// The declared fields and the defaults Blueprint sets explicitly.
    pub spec: Map,
    /// Resources that must exist before this one is created.
    pub depends_on: BTreeSet<Address>,
    /// Resources this one refers to only once both exist (security-group
    /// rules naming another group); these never form a blocking cycle.
    pub after_create: BTreeSet<Address>,
    pub origin: Origin,
    /// Lint rules this resource's declaration allows (`allow: #{ BP004:
    /// "why" }` in its options), by rule id, with the reason given.
    pub allow: std::collections::BTreeMap<String, String>,
    /// Fields left to others once it exists (`ignore: [...]`, see
    /// [`super::ignore`]), by path.
    pub ignore: BTreeSet<String>,
}

impl Resource {
    pub fn new(address: Address, spec: Map) -> Resource {
        Resource {
            address,
            spec,
            depends_on: BTreeSet::new(),
            after_create: BTreeSet::new(),
            origin: Origin::default(),
            allow: Default::default(),
            ignore: BTreeSet::new(),
        }
    }

    /// Whether this stands for something that exists and that the
    /// blueprint does not manage (see [`EXISTING`]).
    pub fn is_existing(&self) -> bool {
        self.spec.contains_key(EXISTING)
    }

    pub fn kind(&self) -> Kind {
        self.address.kind
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        self.spec.get(key)
    }

    pub fn str(&self, key: &str) -> Option<&str> {
        self.get(key).and_then(Value::as_str)
    }

    /// Every address this resource refers to, blocking or not.
    pub fn references(&self) -> impl Iterator<Item = &Address> {
        self.depends_on.iter().chain(self.after_create.iter())
    }

    /// The JSON shape of `bp check --json`.
    pub fn to_json(&self) -> serde_json::Value {
        let mut j = serde_json::json!({
            "address": self.address,
            "kind": self.address.kind.as_str(),
            "depends_on": self.depends_on,
            "after_create": self.after_create,
            "spec": Value::Map(self.spec.clone()).to_json(),
        });
        if !self.ignore.is_empty() {
            j["ignore"] = serde_json::json!(self.ignore);
        }
        j
    }
}
