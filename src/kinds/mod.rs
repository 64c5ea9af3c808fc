//! The kinds. Each resource kind lives in one module (or one folder for a
//! family) that holds everything about it: its schema (names, fields and
//! how they diff, lifecycle, scope), its constructor(s) and option schema,
//! handle properties and methods, its live read, create, update and delete,
//! its listing for the REPL's `:live`, its lint rules, its pricing and its
//! other hooks ([`KindDef`]).
//!
//! [`registry`] is the one list of them. The engine dispatches through it;
//! the layers below are handed what they need from it (see
//! docs/ARCHITECTURE.md). Adding a kind is its module plus one line there.

pub mod aws_backup;
pub mod backups;
pub mod compute;
pub mod dynamodb_table;
pub mod efs;
pub mod eks;
pub mod event_rule;
pub mod helm_release;
pub mod iam;
pub mod k8s;
pub mod karpenter;
pub mod kms_key;
pub mod log_group;
pub mod network;
pub mod output;
pub mod rds;
pub mod registry;
pub mod s3_bucket;
pub mod sqs_queue;

pub use registry::REGISTRY;

pub use crate::model::schema::{
    Diff, Field, FieldDiff, GuardFn, Lifecycle, ReplaceStrategy, PROTECT, TAGS,
};
use crate::model::{Address, Kind, Live};
use crate::providers::{Cloud, Planned, ProviderError};
use crate::script::schema::FnDoc;
use crate::script::state::Shared;
use futures::future::BoxFuture;

/// How the REPL shows the values families define (`rule(...)`, `taint(...)`).
pub fn show_value(v: &rhai::Dynamic) -> Option<String> {
    network::show_value(v).or_else(|| eks::show_value(v))
}

/// The registry entry of a kind name, if there is one.
pub fn lookup(name: &str) -> Option<&'static KindDef> {
    REGISTRY.iter().copied().find(|d| d.kind.as_str() == name)
}

/// The registry entry of a kind: its behaviour.
pub fn def(kind: Kind) -> &'static KindDef {
    lookup(kind.as_str()).unwrap_or_else(|| panic!("kind `{kind}` is not registered"))
}

/// The registry entry of a handle type name (`Cluster`).
pub fn by_handle(type_name: &str) -> Option<&'static KindDef> {
    REGISTRY
        .iter()
        .copied()
        .find(|d| d.kind.schema().handle == type_name)
}

pub use crate::model::validate::GraphCheck as ValidateFn;
pub type ReadFn = for<'a> fn(&'a Cloud) -> BoxFuture<'a, Result<Vec<Live>, ProviderError>>;
pub type CreateFn =
    for<'a> fn(&'a Cloud, &'a Planned) -> BoxFuture<'a, Result<Live, ProviderError>>;
pub type UpdateFn = for<'a> fn(
    &'a Cloud,
    &'a Planned,
    &'a Live,
    &'a [FieldDiff],
) -> BoxFuture<'a, Result<Live, ProviderError>>;
pub type DeleteFn = for<'a> fn(&'a Cloud, &'a Live) -> BoxFuture<'a, Result<(), ProviderError>>;
/// What checking a planned change found: notes shown under it, and
/// refusals (`field`, why) that stop the plan.
#[derive(Debug, Default)]
pub struct Checked {
    pub notes: Vec<String>,
    pub refused: Vec<(String, String)>,
}
pub type CheckChangeFn = for<'a> fn(
    &'a Cloud,
    &'a crate::plan::Change,
    &'a crate::model::Resource,
) -> BoxFuture<'a, Result<Checked, ProviderError>>;
pub type ReadByFn =
    for<'a> fn(&'a Cloud, &'a Live) -> BoxFuture<'a, Result<Vec<String>, ProviderError>>;
pub type ListFn =
    for<'a> fn(&'a Cloud) -> BoxFuture<'a, Result<Vec<crate::providers::Row>, ProviderError>>;

/// How live resources of a kind are found.
#[derive(Clone, Copy)]
pub enum Read {
    /// By its own batched read.
    Own(ReadFn),
    /// By the read of another kind, which returns both (IAM roles and OIDC
    /// providers come from one set of IAM calls).
    With(Kind),
    /// In each Kubernetes cluster the blueprint declares objects in: the
    /// kind's provider instance is one cluster.
    InCluster(&'static InCluster),
}

/// One cluster's objects of a kind; the desired graph tells kinds of many
/// Kubernetes kinds (manifests) which ones to list.
pub type ClusterReadFn = for<'a> fn(
    &'a Cloud,
    &'a crate::providers::kube::Conn,
    &'a crate::model::Graph,
) -> BoxFuture<'a, Result<Vec<Live>, ProviderError>>;
/// A check of a planned create or update against the server (a dry run);
/// what it returns is shown under the change (a Helm manifest diff).
pub type CheckFn = for<'a> fn(
    &'a Cloud,
    &'a Planned,
    Option<&'a Live>,
) -> BoxFuture<'a, Result<Vec<String>, ProviderError>>;

/// How an in-cluster kind is read and checked.
pub struct InCluster {
    pub read: ClusterReadFn,
    pub check: CheckFn,
    /// The check needs neither the resources it depends on nor values
    /// known only after apply (Helm: the tool and the release's owner), so
    /// it runs for every create and update; otherwise (a server dry run)
    /// those are checked when applied.
    pub independent: bool,
}

impl KindDef {
    /// The batched AWS read that returns this kind's resources: its own, or
    /// that of the kind it is read with; `None` for in-cluster kinds.
    pub fn aws_read(&self) -> Option<ReadFn> {
        match self.read {
            Read::Own(f) => Some(f),
            Read::With(k) => match def(k).read {
                Read::Own(f) => Some(f),
                _ => None,
            },
            Read::InCluster(_) => None,
        }
    }
}

/// The behaviour of one kind; what every layer knows about it is its
/// schema (`kind.schema()`).
pub struct KindDef {
    pub kind: Kind,
    /// Properties and methods of the handle, for completion and `:help`.
    pub members: &'static [&'static str],
    /// Constructors and methods, with their option schemas and docs.
    pub functions: &'static [FnDoc],
    /// Registers the handle type, constructors, methods and getters.
    pub register: fn(&mut rhai::Engine, &Shared),
    /// Wraps an address in this kind's handle type.
    pub wrap: fn(Address) -> rhai::Dynamic,
    /// The address of a handle of this kind.
    pub unwrap: fn(&rhai::Dynamic) -> Option<Address>,
    /// Checks over the whole desired graph (CIDR blocks inside their VPC).
    pub validate: Option<ValidateFn>,
    pub read: Read,
    pub create: CreateFn,
    /// `None` when the kind never changes in place.
    pub update: Option<UpdateFn>,
    pub delete: DeleteFn,
    /// Every live resource of the kind, owned or not, for `:live`.
    pub list: ListFn,
    /// Whether `bp adopt` takes over one that exists.
    pub adopt: Adopt,
    /// The lint rules about resources of this kind (`&[]`: none).
    pub rules: &'static [crate::lint::Rule],
    /// How a resource of this kind is priced.
    pub price: crate::cost::Pricing,
    /// Whether AWS Backup backs it up: its handle may be listed in a
    /// backup plan's `resources`.
    pub backed_up: bool,
    /// The AWS operations of its create that carry no idempotency token:
    /// sent again after a lost answer, they would make a second resource,
    /// so the SDK never resends them (see `engine::ops::create`).
    pub unsafe_to_resend: &'static [&'static str],
    /// The IAM actions its operations call, for `bp permissions`.
    pub iam: crate::permissions::Iam,
    /// Who outside the blueprint relies on a resource of this kind (the
    /// blueprints reading an output): the engine refuses to delete or
    /// replace one that has any, unless asked to (`--ignore-readers`).
    pub read_by: Option<ReadByFn>,
    /// A check of its planned changes against what the service says of
    /// them (a cluster's upgrade insights), made when planning.
    pub check_change: Option<CheckChangeFn>,
    /// Its resource type in the Resource Groups Tagging API (`ec2:vpc`,
    /// `sqs`), when that API finds its resources by their owner tag: a
    /// plan then lists the kind only when the blueprint declares it or the
    /// tagging API finds one of its own. `None`: always listed.
    pub tagged_as: Option<&'static str>,
}

/// A kind's handle type in scripts, as [`KindDef::new`] takes it: made by
/// [`crate::handle!`].
#[derive(Clone, Copy)]
pub struct Handle {
    pub members: &'static [&'static str],
    pub functions: &'static [FnDoc],
    pub register: fn(&mut rhai::Engine, &Shared),
    pub wrap: fn(Address) -> rhai::Dynamic,
    pub unwrap: fn(&rhai::Dynamic) -> Option<Address>,
}

/// A kind's live operations, as [`KindDef::new`] takes them: made by
/// [`crate::ops!`] for a module with the usual `read`, `create`, `update`,
/// `delete` and `list`.
#[derive(Clone, Copy)]
pub struct Ops {
    pub read: Read,
    pub create: CreateFn,
    pub update: Option<UpdateFn>,
    pub delete: DeleteFn,
    pub list: ListFn,
}

impl KindDef {
    /// A kind with its handle and operations, and how it is priced. Until
    /// the builders below say otherwise, it checks nothing over the graph,
    /// has no lint rules, is not backed up, every call of its create may
    /// be resent, and `bp adopt` does not take it over yet.
    pub const fn new(kind: Kind, price: crate::cost::Pricing, handle: Handle, ops: Ops) -> Self {
        KindDef {
            kind,
            members: handle.members,
            functions: handle.functions,
            register: handle.register,
            wrap: handle.wrap,
            unwrap: handle.unwrap,
            validate: None,
            read: ops.read,
            create: ops.create,
            update: ops.update,
            delete: ops.delete,
            list: ops.list,
            adopt: Adopt::NotYet,
            rules: &[],
            price,
            backed_up: false,
            unsafe_to_resend: &[],
            iam: crate::permissions::Iam::NONE,
            read_by: None,
            check_change: None,
            tagged_as: None,
        }
    }

    /// The Resource Groups Tagging API finds its resources as `resource_type`.
    pub const fn tagged_as(mut self, resource_type: &'static str) -> Self {
        self.tagged_as = Some(resource_type);
        self
    }

    /// An in-cluster kind: it costs nothing in AWS, and is adopted in the
    /// script ([`ADOPT_IN_CLUSTER`]).
    pub const fn in_cluster(kind: Kind, handle: Handle, ops: Ops) -> Self {
        Self::new(kind, crate::cost::Pricing::Free, handle, ops).adopt(Adopt::No(ADOPT_IN_CLUSTER))
    }

    /// How `bp adopt` takes one over, or why it does not.
    pub const fn adopt(mut self, adopt: Adopt) -> Self {
        self.adopt = adopt;
        self
    }

    /// Its checks over the whole desired graph.
    pub const fn validate(mut self, check: ValidateFn) -> Self {
        self.validate = Some(check);
        self
    }

    /// Its lint rules.
    pub const fn rules(mut self, rules: &'static [crate::lint::Rule]) -> Self {
        self.rules = rules;
        self
    }

    /// AWS Backup backs it up.
    pub const fn backed_up(mut self) -> Self {
        self.backed_up = true;
        self
    }

    /// The IAM actions of its operations.
    pub const fn iam(mut self, iam: crate::permissions::Iam) -> Self {
        self.iam = iam;
        self
    }

    /// How it is priced, for a kind made with a default (in-cluster kinds
    /// cost nothing in AWS, but Karpenter's node pools launch instances).
    pub const fn priced(mut self, price: crate::cost::Pricing) -> Self {
        self.price = price;
        self
    }

    /// A check of its planned changes made when planning.
    pub const fn check_change(mut self, check: CheckChangeFn) -> Self {
        self.check_change = Some(check);
        self
    }

    /// Who outside the blueprint relies on one of its resources.
    pub const fn read_by(mut self, read_by: ReadByFn) -> Self {
        self.read_by = Some(read_by);
        self
    }

    /// The operations of its create that must never be resent.
    pub const fn unsafe_to_resend(mut self, operations: &'static [&'static str]) -> Self {
        self.unsafe_to_resend = operations;
        self
    }
}

/// Writes tags on the resource with this id: `bp adopt` marks it as the
/// blueprint's with the ownership tags.
pub type AdoptFn = for<'a> fn(
    &'a Cloud,
    &'a str,
    &'a [(String, String)],
) -> BoxFuture<'a, Result<(), ProviderError>>;

/// Whether `bp adopt` can take over a resource of a kind that exists
/// outside the blueprint.
#[derive(Clone, Copy)]
pub enum Adopt {
    /// By writing the ownership tags on it; the next plan reads it as the
    /// blueprint's and shows how it differs.
    ByTags(AdoptFn),
    /// Not, and why (with what to do instead).
    No(&'static str),
    /// Not yet: `bp adopt` says which kinds it takes over so far.
    NotYet,
}

/// Why in-cluster kinds are adopted in the script.
pub const ADOPT_IN_CLUSTER: &str =
    "declare it with adopt: true in its options: the next apply takes it over";

/// Defines a handle type for a kind: a Rhai custom type holding the
/// resource's address, with `address`, `to_string` and equality.
#[macro_export]
macro_rules! handle_type {
    ($ty:ident) => {
        #[derive(Clone, Debug, PartialEq)]
        pub struct $ty(pub $crate::model::Address);

        impl $ty {
            pub fn wrap(a: $crate::model::Address) -> rhai::Dynamic {
                rhai::Dynamic::from($ty(a))
            }
            pub fn unwrap(d: &rhai::Dynamic) -> Option<$crate::model::Address> {
                d.read_lock::<$ty>().map(|h| h.0.clone())
            }
            pub fn register_type(engine: &mut rhai::Engine) {
                engine.register_type_with_name::<$ty>(stringify!($ty));
                engine.register_fn("to_string", |h: &mut $ty| h.0.to_string());
                engine.register_fn("to_debug", |h: &mut $ty| {
                    format!("{}({})", stringify!($ty), h.0)
                });
                engine.register_get("address", |h: &mut $ty| h.0.to_string());
                engine.register_fn("==", |a: $ty, b: $ty| a == b);
                engine.register_fn("!=", |a: $ty, b: $ty| a != b);
            }
        }
    };
}

/// A kind's [`Handle`]: its handle type (made by [`crate::handle_type!`]),
/// then optionally its functions, its register function and its members:
/// `handle!(Vpc; FUNCTIONS, register; ["address", "cidr", "id"])`. Without
/// them the handle has no functions, only its type is registered and its
/// one member is `address`.
#[macro_export]
macro_rules! handle {
    ($ty:path) => {
        $crate::kinds::Handle {
            members: &["address"],
            functions: &[],
            register: |e, _| <$ty>::register_type(e),
            wrap: <$ty>::wrap,
            unwrap: <$ty>::unwrap,
        }
    };
    ($ty:path; $functions:expr, $register:expr; $members:expr) => {
        $crate::kinds::Handle {
            members: &$members,
            functions: $functions,
            register: $register,
            wrap: <$ty>::wrap,
            unwrap: <$ty>::unwrap,
        }
    };
}

/// A kind's [`Ops`] from the `create`, `update`, `delete` and `list` of the
/// module it is written in, read by its own `read` (`ops!(own)`), by
/// another function (`ops!(own super::read)`) or with another kind
/// (`ops!(with super::cluster::KIND)`); `, no_update` after it for kinds
/// that never change in place. `ops!(in_cluster)` takes the module's
/// `IN_CLUSTER` and its functions themselves (they return boxed futures).
#[macro_export]
macro_rules! ops {
    (@ $read:expr, $update:expr) => {
        $crate::kinds::Ops {
            read: $read,
            create: $crate::boxed!(create create),
            update: $update,
            delete: $crate::boxed!(delete delete),
            list: $crate::boxed!(read list),
        }
    };
    (@read own) => { $crate::kinds::Read::Own($crate::boxed!(read read)) };
    (@read own $f:path) => { $crate::kinds::Read::Own($crate::boxed!(read $f)) };
    (@read with $k:path) => { $crate::kinds::Read::With($k) };
    (in_cluster) => {
        $crate::kinds::Ops {
            read: $crate::kinds::Read::InCluster(&IN_CLUSTER),
            create,
            update: Some(update),
            delete,
            list,
        }
    };
    ($how:ident $($what:path)?) => {
        $crate::ops!(@ $crate::ops!(@read $how $($what)?), Some($crate::boxed!(update update)))
    };
    ($how:ident $($what:path)?, no_update) => {
        $crate::ops!(@ $crate::ops!(@read $how $($what)?), None)
    };
}

/// Boxes an async provider function for the registry.
#[macro_export]
macro_rules! boxed {
    (read $f:path) => {
        |c| Box::pin($f(c))
    };
    (create $f:path) => {
        |c, r| Box::pin($f(c, r))
    };
    (update $f:path) => {
        |c, r, l, f| Box::pin($f(c, r, l, f))
    };
    (delete $f:path) => {
        |c, l| Box::pin($f(c, l))
    };
    (read_by $f:path) => {
        |c, l| Box::pin($f(c, l))
    };
    (check_change $f:path) => {
        |c, ch, r| Box::pin($f(c, ch, r))
    };
    (adopt $f:path) => {
        $crate::kinds::Adopt::ByTags(|c, id, t| Box::pin($f(c, id, t)))
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn names_and_handles_are_unique() {
        let names: BTreeSet<&str> = REGISTRY.iter().map(|d| d.kind.as_str()).collect();
        assert_eq!(names.len(), REGISTRY.len());
        let handles: BTreeSet<&str> = REGISTRY.iter().map(|d| d.kind.schema().handle).collect();
        assert_eq!(handles.len(), REGISTRY.len());
    }

    /// A kind whose live resources nobody reads would look foreign on every
    /// plan: recreated each apply, never destroyed.
    #[test]
    fn every_kind_is_read_by_a_kind_with_its_own_read() {
        for d in REGISTRY {
            match d.read {
                Read::Own(_) | Read::InCluster(_) => {}
                Read::With(other) => assert!(
                    matches!(def(other).read, Read::Own(_)),
                    "{} is read with {other}, which has no read of its own",
                    d.kind
                ),
            }
        }
    }

    /// Each kind's hooks reach the layers below through the registry
    /// alone: the creates the SDK must not resend, the rules, the prices.
    #[test]
    fn the_registry_hands_each_kinds_hooks_down() {
        let mut resend = crate::providers::unsafe_to_resend().to_vec();
        resend.sort();
        assert_eq!(
            resend,
            [
                "AllocateAddress",
                "CreateInternetGateway",
                "CreateKey",
                "CreateRouteTable",
                "CreateSecurityGroup",
                "CreateSubnet",
                "CreateVpc"
            ]
        );
        assert_eq!(crate::lint::rules().len(), 22);
        let priced: Vec<&str> = REGISTRY
            .iter()
            .filter(|d| {
                matches!(
                    crate::cost::pricing(d.kind),
                    crate::cost::Pricing::Priced(_)
                )
            })
            .map(|d| d.kind.as_str())
            .collect();
        assert_eq!(
            priced,
            [
                "elastic_ip",
                "nat_gateway",
                "kms_key",
                "instance",
                "cluster",
                "node_group",
                "s3_bucket",
                "dynamodb_table",
                "efs",
                "rds_postgres",
                "manifest"
            ]
        );
    }

    /// The planner reads from the schema whether a kind changes in place;
    /// a kind with an update must say so, and one without must not.
    #[test]
    fn the_schema_says_whether_a_kind_updates_in_place() {
        for d in REGISTRY {
            assert_eq!(
                d.update.is_some(),
                d.kind.schema().lifecycle.in_place,
                "{}",
                d.kind
            );
        }
    }

    #[test]
    fn every_kind_declares_its_tags_and_a_handle_round_trip() {
        for d in REGISTRY {
            let a = Address::new(d.kind, "x");
            assert_eq!((d.unwrap)(&(d.wrap)(a.clone())), Some(a));
            if d.kind.schema().lifecycle.protect.is_some() {
                assert!(d.kind.schema().field("protect").is_some(), "{}", d.kind);
            }
        }
    }

    /// The AWS operations a kind's source calls (`api("X")`, `done("X")`,
    /// `gone("X")`), outside its `:live` listings and `bp adopt`, which no
    /// plan, apply or destroy sends.
    fn operations_called(text: &str) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        let mut current = String::new();
        for line in text.lines() {
            let t = line.trim_start();
            if let Some(rest) = t
                .strip_prefix("pub async fn ")
                .or_else(|| t.strip_prefix("async fn "))
                .or_else(|| t.strip_prefix("pub fn "))
                .or_else(|| t.strip_prefix("fn "))
            {
                current = rest
                    .split(['(', '<'])
                    .next()
                    .unwrap_or_default()
                    .to_string();
            }
            if current.starts_with("list") || current.starts_with("adopt") || t.starts_with("//") {
                continue;
            }
            for marker in ["api(\"", "done(\"", "gone(\""] {
                for piece in line.split(marker).skip(1) {
                    let op: String = piece
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric())
                        .collect();
                    if op.chars().next().is_some_and(|c| c.is_ascii_uppercase()) {
                        out.insert(op);
                    }
                }
            }
        }
        out
    }

    #[test]
    fn every_aws_operation_a_kind_calls_is_in_some_kinds_iam_actions() {
        let declared: BTreeSet<String> = REGISTRY
            .iter()
            .flat_map(|d| d.iam.all())
            .map(|a| a.split(':').nth(1).unwrap_or_default().to_string())
            .collect();
        // The lock and the claims, which every policy has (see
        // permissions::LOCK), are not a kind's.
        let providers = [
            "GetItem",
            "PutItem",
            "DeleteItem",
            "CreateTable",
            "DescribeTable",
        ];
        let mut files = Vec::new();
        fn walk(p: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
            for e in std::fs::read_dir(p).unwrap().flatten() {
                let p = e.path();
                if p.is_dir() {
                    walk(&p, out);
                } else if p.extension().is_some_and(|x| x == "rs") {
                    out.push(p);
                }
            }
        }
        walk(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/kinds"),
            &mut files,
        );
        let mut missing = Vec::new();
        for f in &files {
            let text = std::fs::read_to_string(f).unwrap();
            for op in operations_called(&text) {
                let s3 = crate::providers::iam_action("S3", &op);
                let s3 = s3.trim_start_matches("s3:");
                if !declared.contains(&op)
                    && !declared.contains(s3)
                    && !providers.contains(&op.as_str())
                {
                    missing.push(format!("{}: {op}", f.display()));
                }
            }
        }
        assert!(
            missing.is_empty(),
            "operations no kind declares in its IAM actions (bp permissions would leave them out):\n{}",
            missing.join("\n")
        );
    }

    #[test]
    fn every_aws_kind_declares_its_iam_actions() {
        for d in REGISTRY {
            if matches!(d.read, Read::InCluster(_)) {
                // Their reads and writes are Kubernetes'; only a delete may
                // wait on AWS (a Karpenter NodePool's instances).
                assert!(d.iam.all().all(|a| d.iam.delete.contains(&a)), "{}", d.kind);
                continue;
            }
            assert!(
                !d.iam.create.is_empty() && !d.iam.delete.is_empty(),
                "{} declares no IAM actions of its create and delete",
                d.kind
            );
            if matches!(d.read, Read::Own(_)) {
                assert!(
                    !d.iam.read.is_empty(),
                    "{} declares no read actions",
                    d.kind
                );
            }
        }
    }
}
