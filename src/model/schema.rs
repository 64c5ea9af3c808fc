//! The vocabulary every layer shares about a kind's spec: how each field
//! compares with its live value and whether changing it replaces the
//! resource, how a kind is replaced and protected, and a field's change.
//! Pure data: no kind is named here.

use super::Value;
use serde::{Deserialize, Serialize};

/// How a replacement runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplaceStrategy {
    /// Delete the old resource, then create the new one (names are unique).
    DeleteThenCreate,
    /// Create the new resource first, then delete the old one (ids differ,
    /// names may repeat): no gap while dependents switch over.
    CreateThenDelete,
}

/// How one spec field compares with its live value.
#[derive(Clone, Copy, Debug)]
pub enum Diff {
    /// The whole value compares as one.
    Atomic,
    /// A list whose order does not matter.
    Set,
    /// A map compared key by key over the keys of both sides: a key that is
    /// no longer declared is removed (tags, labels).
    Map,
    /// A map compared over the declared keys only, each with its own
    /// semantics (a node group's `scaling`).
    Struct(&'static [Field]),
    /// A list of maps matched by one of their keys, order ignored.
    ListByKey(&'static str),
    /// A value never shown, only whether it changed.
    Sensitive,
    /// A map compared key by key, each value never shown (Secret data).
    SensitiveMap,
    /// A map compared key by key over the keys of both sides, nested maps
    /// likewise (Kubernetes specs), so that changes show by path.
    Tree,
    /// A setting of the declaration, not of the resource: never compared
    /// (`adopt`).
    Local,
    /// A secret AWS never returns (a database password): the live side is
    /// a verifier ([`super::verifier`]) the kind keeps on the
    /// resource; they match when the declared secret verifies against it.
    /// Never shown.
    Verified,
}

/// One field of a kind's spec: how it diffs, and whether changing it
/// forces a replacement (and why).
#[derive(Clone, Copy, Debug)]
pub struct Field {
    pub name: &'static str,
    pub diff: Diff,
    /// Why a change cannot happen in place, shown in plans.
    pub replace: Option<&'static str>,
    /// The field refers to other resources (ids, ARNs, names): a live
    /// resource depends on the resources its value names.
    pub reference: bool,
    /// A check of a change of this field against what exists, made when
    /// planning: a message refuses the plan (a major engine upgrade that
    /// was not asked for).
    pub guard: Option<GuardFn>,
    /// With `replace`: setting the field where it had no value happens in
    /// place; only changing or removing a value replaces (EKS associates a
    /// secrets key with a cluster that has none, once).
    pub set_in_place: bool,
}

/// Checks a changed field: the declared spec and the live attributes;
/// `Some(why)` refuses the change.
pub type GuardFn = fn(&super::Map, &super::Map) -> Option<String>;

impl Field {
    pub const fn new(name: &'static str) -> Field {
        Field {
            name,
            diff: Diff::Atomic,
            replace: None,
            reference: false,
            guard: None,
            set_in_place: false,
        }
    }
    pub const fn diff(mut self, d: Diff) -> Field {
        self.diff = d;
        self
    }
    pub const fn set(self) -> Field {
        self.diff(Diff::Set)
    }
    pub const fn map(self) -> Field {
        self.diff(Diff::Map)
    }
    pub const fn replaces(mut self, why: &'static str) -> Field {
        self.replace = Some(why);
        self
    }
    /// Marks the field as set in place where it had no value (see the
    /// field of the same name). Only for top-level fields of plain values
    /// that also `replaces`.
    pub const fn set_in_place(mut self) -> Field {
        self.set_in_place = true;
        self
    }
    pub const fn refers(mut self) -> Field {
        self.reference = true;
        self
    }
    pub const fn guarded(mut self, g: GuardFn) -> Field {
        self.guard = Some(g);
        self
    }
}

/// The `tags` field every AWS kind has.
pub const TAGS: Field = Field::new("tags").map();
/// The `protect` field of kinds that hold data.
pub const PROTECT: Field = Field::new("protect");

/// Whether and how resources of a kind are protected from deletion.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lifecycle {
    pub replace: ReplaceStrategy,
    /// `Some(default)` for kinds that take `protect`.
    pub protect: Option<bool>,
    /// Whether a resource of the kind changes in place at all; a kind
    /// that never does is replaced for any change.
    pub in_place: bool,
}

impl Lifecycle {
    pub const PLAIN: Lifecycle = Lifecycle {
        replace: ReplaceStrategy::DeleteThenCreate,
        protect: None,
        in_place: true,
    };
    /// A kind that is replaced for any change (AWS has no update call).
    pub const REPLACED: Lifecycle = Lifecycle {
        in_place: false,
        ..Lifecycle::PLAIN
    };
    pub const DATA: Lifecycle = Lifecycle {
        replace: ReplaceStrategy::DeleteThenCreate,
        protect: Some(true),
        in_place: true,
    };
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FieldDiff {
    /// `scaling.desired`, `tags.team`, `ingress`.
    pub path: String,
    pub before: Value,
    pub after: Value,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub forces_replacement: bool,
    /// Whose difference it is, when the last apply's record tells.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<DiffOrigin>,
}

/// Where a difference comes from, told by the record of what the last
/// apply declared: someone changed the live resource since (`drift`), the
/// blueprint changed (`declared`), or both.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DiffOrigin {
    Drift,
    Declared,
    Both,
}

impl DiffOrigin {
    /// The label of several differences together.
    pub fn join(a: Option<DiffOrigin>, b: Option<DiffOrigin>) -> Option<DiffOrigin> {
        match (a, b) {
            (None, x) | (x, None) => x,
            (Some(x), Some(y)) if x == y => Some(x),
            _ => Some(DiffOrigin::Both),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            DiffOrigin::Drift => "drift",
            DiffOrigin::Declared => "declared",
            DiffOrigin::Both => "drift and declared",
        }
    }

    /// Whether someone changed the live resource.
    pub fn drifted(self) -> bool {
        matches!(self, DiffOrigin::Drift | DiffOrigin::Both)
    }
}

/// Whether any of `fields` is `field` or inside it (`scaling` covers
/// `scaling.desired`).
pub fn touches(fields: &[FieldDiff], field: &str) -> bool {
    fields.iter().any(|f| {
        f.path == field
            || f.path
                .strip_prefix(field)
                .is_some_and(|rest| rest.starts_with('.'))
    })
}

/// Where a kind's resources live, and so which provider instance reads and
/// changes them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// In the AWS region the blueprint targets.
    Aws,
    /// An AWS resource that is a Kubernetes cluster: in-cluster objects
    /// name one as the first segment of their address.
    AwsCluster,
    /// Inside a Kubernetes cluster (the first segment of the address).
    InCluster,
}

/// What every layer knows about a kind: its names, its handle, its spec's
/// fields and how they diff, how it is replaced and protected, and where it
/// lives. Pure data; its behaviour (reads, creates, script functions) is
/// handed to the layers that need it by the kind registry.
#[derive(Debug)]
pub struct Schema {
    /// `vpc`, `node_group`: the first part of an address.
    pub name: &'static str,
    /// The handle type scripts see (`type_of(x)`), e.g. `Cluster`.
    pub handle: &'static str,
    /// The attribute a handle stands for where another resource expects it
    /// (a subnet handle stands for its id, a role handle for its ARN).
    pub default_attr: &'static str,
    /// What AWS accepts as a name.
    pub names: super::names::NameRule,
    /// The spec's fields and how each diffs.
    pub fields: &'static [Field],
    pub lifecycle: Lifecycle,
    pub scope: Scope,
    /// Outputs an update changes (a launch template's `version`): while
    /// one is planned, what refers to them is planned as unknown until
    /// applied, so it changes in the same apply.
    pub outputs_on_update: &'static [&'static str],
    /// Its `name` is its address's last part, whatever AWS calls it (a
    /// node group replaced new one first carries a suffix): a move
    /// (`moved(from, to)`) renames it with the address.
    pub name_from_address: bool,
}

impl Schema {
    /// A kind named `name` whose handle type scripts see as `handle`: an
    /// AWS resource whose handles stand for its `id`, whose names are Name
    /// tags, replaced delete-then-create and not protected, unless the
    /// builder methods say otherwise.
    pub const fn new(name: &'static str, handle: &'static str, fields: &'static [Field]) -> Schema {
        Schema {
            name,
            handle,
            default_attr: "id",
            names: super::names::NameRule::TAG,
            fields,
            lifecycle: Lifecycle::PLAIN,
            scope: Scope::Aws,
            outputs_on_update: &[],
            name_from_address: false,
        }
    }

    /// Its `name` is its address's last part (see the field).
    pub const fn name_from_address(mut self) -> Schema {
        self.name_from_address = true;
        self
    }

    /// The attribute a handle stands for (`arn`, `name`).
    pub const fn attr(mut self, default_attr: &'static str) -> Schema {
        self.default_attr = default_attr;
        self
    }

    /// What AWS (or Kubernetes) accepts as a name.
    pub const fn names(mut self, names: super::names::NameRule) -> Schema {
        self.names = names;
        self
    }

    pub const fn lifecycle(mut self, lifecycle: Lifecycle) -> Schema {
        self.lifecycle = lifecycle;
        self
    }

    pub const fn outputs_on_update(mut self, outputs: &'static [&'static str]) -> Schema {
        self.outputs_on_update = outputs;
        self
    }

    pub const fn scope(mut self, scope: Scope) -> Schema {
        self.scope = scope;
        self
    }

    /// The field at `path` (`scaling.desired` finds `desired` inside
    /// `scaling`), if the schema has it.
    pub fn field(&self, path: &str) -> Option<&'static Field> {
        let mut fields = self.fields;
        let mut found = None;
        for part in path.split('.') {
            let f = fields.iter().find(|f| f.name == part)?;
            found = Some(f);
            fields = match f.diff {
                Diff::Struct(inner) => inner,
                _ => &[],
            };
        }
        found
    }

    /// The provider instance a resource of this kind belongs to:
    /// `aws:<region>`, or `kubernetes:<cluster>`.
    pub fn provider(&self, address: &super::Address, region: &str) -> String {
        match self.scope {
            Scope::InCluster => format!("kubernetes:{}", address.parent_name()),
            Scope::Aws | Scope::AwsCluster => format!("aws:{region}"),
        }
    }
}

/// Where the kind registry hands its list to this layer: one element, the
/// kinds in the order `bp check` lists them. The list is linked in, never
/// named here, so nothing below the registry depends on it.
#[linkme::distributed_slice]
pub static REGISTERED: [fn() -> Vec<super::Kind>];

/// Every registered kind, in registry order.
pub fn registered() -> &'static [super::Kind] {
    static ALL: std::sync::OnceLock<Vec<super::Kind>> = std::sync::OnceLock::new();
    ALL.get_or_init(|| REGISTERED.iter().flat_map(|list| list()).collect())
}
