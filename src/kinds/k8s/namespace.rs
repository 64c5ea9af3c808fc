//! Namespaces: `c.namespace(name, #{ labels?, annotations?, adopt? })`
//! returns the handle that namespaced kinds are methods of;
//! `c.existing_namespace(name)` is one this blueprint does not manage.
//! Deleting a namespace waits until it and its contents are gone.

use super::object::{self, ObjectKind, ADOPT, ANNOTATIONS, LABELS, WHERE};
use super::{args, declare_object, on_clusters, ClusterRef, Declaration, NamespaceRef};
use super::{ADOPT_OPT, ANNOTATIONS_OPT, LABELS_OPT, SYSTEM_NAMESPACES};
use crate::handle;
use crate::kinds::{Field, KindDef};
use crate::model::schema::{Schema, Scope};
use crate::model::{Address, Kind, Map, Problem};
use crate::script::api::name_arg;
use crate::script::schema::{FnDoc, Opt};
use crate::script::state::{fail, Deps, Fallible, Shared};
use rhai::{Dynamic, Engine, NativeCallContext};
use std::borrow::Cow;

pub const KIND: Kind = Kind::of(&SCHEMA);

pub static OBJ: ObjectKind = ObjectKind {
    kind: KIND,
    api_version: Cow::Borrowed("v1"),
    k8s_kind: Cow::Borrowed("Namespace"),
    plural: Cow::Borrowed("namespaces"),
    namespaced: false,
    body: &[],
    base64_data: false,
    content: false,
};

/// A namespace handle.
#[derive(Clone, Debug)]
pub struct Namespace(pub NamespaceRef);

impl Namespace {
    fn wrap(a: Address) -> Dynamic {
        let cluster = object::cluster_of(&a).to_string();
        let name = a.name.rsplit('/').next().unwrap_or_default().to_string();
        Dynamic::from(Namespace(NamespaceRef {
            cluster: ClusterRef {
                name: cluster,
                resource: None,
            },
            name,
            resource: Some(a),
        }))
    }
    fn unwrap(d: &Dynamic) -> Option<Address> {
        d.read_lock::<Namespace>()
            .and_then(|n| n.0.resource.clone())
    }
}

const OPTS: &[Opt] = &[LABELS_OPT, ANNOTATIONS_OPT, ADOPT_OPT];

const FUNCTIONS: &[FnDoc] = &[
    FnDoc { name: "existing_cluster", signature: "existing_cluster(name) -> ExistingCluster", doc: "An EKS cluster this blueprint does not manage: never created, changed or deleted; it has the same in-cluster methods as a cluster handle.", options: &[], method_of: None },
    FnDoc { name: "namespace", signature: "cluster.namespace(name, #{ labels?, annotations?, adopt? }) -> Namespace", doc: "A Kubernetes namespace; namespaced objects are methods of the handle it returns.", options: OPTS, method_of: Some("Cluster") },
    FnDoc { name: "existing_namespace", signature: "cluster.existing_namespace(name) -> Namespace", doc: "A namespace this blueprint does not manage (default, kube-system, ...), to declare objects in.", options: &[], method_of: Some("Cluster") },
];

fn namespace(
    state: &Shared,
    ctx: &NativeCallContext,
    c: &ClusterRef,
    name: &Dynamic,
    opts: &Dynamic,
) -> Fallible<Namespace> {
    let (name, opts) = args(ctx, "namespace", name, opts, OPTS)?;
    if SYSTEM_NAMESPACES.contains(&name.as_str()) {
        return Err(fail(
            ctx,
            Problem::new(format!("the namespace `{name}` belongs to Kubernetes")).hint(format!(
                "use c.existing_namespace(\"{name}\") to declare objects in it"
            )),
        ));
    }
    let address = declare_object(
        state,
        ctx,
        Declaration {
            obj: &OBJ,
            cluster: c,
            namespace: None,
            name: &name,
            opts: &opts,
            body: Map::new(),
            annotations: Map::new(),
            deps: Deps::default(),
        },
    )?;
    // Manifests declared earlier in this namespace come after it.
    {
        let mut st = state.borrow_mut();
        let prefix = format!("{}/{name}/", c.name);
        let inside: Vec<Address> = st
            .graph
            .iter()
            .filter(|r| {
                r.address.kind == super::manifest::KIND && r.address.name.starts_with(&prefix)
            })
            .map(|r| r.address.clone())
            .collect();
        for a in inside {
            if let Some(r) = st.graph.get_mut(&a) {
                r.depends_on.insert(address.clone());
            }
        }
    }
    Ok(Namespace(NamespaceRef {
        cluster: c.clone(),
        name,
        resource: Some(address),
    }))
}

fn existing_namespace(
    _state: &Shared,
    ctx: &NativeCallContext,
    c: &ClusterRef,
    name: &Dynamic,
    _opts: &Dynamic,
) -> Fallible<Namespace> {
    let name = name_arg(ctx, "existing_namespace", name)?;
    crate::script::state::check_name(ctx, KIND, &name)?;
    Ok(Namespace(NamespaceRef {
        cluster: c.clone(),
        name,
        resource: None,
    }))
}

fn register(engine: &mut Engine, state: &Shared) {
    super::register_family(engine, state);
    engine
        .register_type_with_name::<Namespace>("Namespace")
        .register_fn("to_string", |n: &mut Namespace| n.0.name.clone())
        .register_get("name", |n: &mut Namespace| n.0.name.clone())
        .register_get("cluster", |n: &mut Namespace| n.0.cluster.name.clone())
        .register_get("address", |n: &mut Namespace| {
            n.0.resource
                .as_ref()
                .map(|a| a.to_string())
                .unwrap_or_default()
        });
    on_clusters(engine, state, "namespace", namespace);
    on_clusters(engine, state, "existing_namespace", existing_namespace);
}

crate::object_kind!(OBJ, wait_on_delete = true);

const FIELDS: &[Field] = &[LABELS, ANNOTATIONS, ADOPT, WHERE];

pub static SCHEMA: Schema = Schema::new("namespace", "Namespace", FIELDS)
    .attr("name")
    .names(super::LABEL_NAME)
    .scope(Scope::InCluster);

pub static DEF: KindDef = KindDef::in_cluster(
    KIND,
    handle!(Namespace; FUNCTIONS, register; ["address", "cluster", "name"]),
    crate::ops!(in_cluster),
)
.rules(super::lint::NAMESPACE);
