//! Storage classes: `c.storage_class(name, #{ provisioner?, parameters?, default?,
//! reclaim_policy?, volume_binding_mode?, allow_expansion? })`. Everything
//! but `allow_expansion` and the default marker is fixed once created.

use super::object::{ObjectKind, ADOPT, ANNOTATIONS, LABELS, WHERE};
use super::{args, on_clusters, ClusterRef};
use super::{ADOPT_OPT, ANNOTATIONS_OPT, LABELS_OPT};
use crate::kinds::Field;
use crate::model::{Map, Value};
use crate::script::schema::{def, opt, FnDoc, Opt, Ty};
use std::borrow::Cow;

use crate::script::state::{Deps, Fallible, Opts, Shared};
use rhai::{Dynamic, Engine, NativeCallContext};

pub static OBJ: ObjectKind = ObjectKind {
    kind: KIND,
    api_version: Cow::Borrowed("storage.k8s.io/v1"),
    k8s_kind: Cow::Borrowed("StorageClass"),
    plural: Cow::Borrowed("storageclasses"),
    namespaced: false,
    body: &[
        "provisioner",
        "parameters",
        "reclaimPolicy",
        "volumeBindingMode",
        "allowVolumeExpansion",
    ],
    base64_data: false,
    content: false,
};

crate::handle_type!(StorageClass);

const OPTS: &[Opt] = &[
    def(
        "provisioner",
        Ty::Str,
        "ebs.csi.aws.com",
        "the CSI driver (efs.csi.aws.com for EFS)",
    ),
    opt(
        "parameters",
        Ty::StrMap,
        "the driver's parameters (#{ type: \"gp3\", encrypted: \"true\" })",
    ),
    def("default", Ty::Bool, "false", "the cluster's default class"),
    opt(
        "reclaim_policy",
        Ty::Enum(&["Delete", "Retain"]),
        "what happens to a volume when its claim goes",
    ),
    opt(
        "volume_binding_mode",
        Ty::Enum(&["Immediate", "WaitForFirstConsumer"]),
        "when volumes are provisioned",
    ),
    opt("allow_expansion", Ty::Bool, "whether claims may grow"),
    LABELS_OPT,
    ANNOTATIONS_OPT,
    ADOPT_OPT,
];

const FUNCTIONS: &[FnDoc] = &[FnDoc {
    name: "storage_class",
    signature: "cluster.storage_class(name, #{ provisioner?, parameters?, default?, reclaim_policy?, volume_binding_mode?, allow_expansion?, labels?, annotations?, adopt? }) -> StorageClass",
    doc: "A StorageClass (storage.k8s.io/v1); the EBS CSI driver by default.",
    options: OPTS,
    method_of: Some("Cluster"),
}];

fn storage_class(
    state: &Shared,
    ctx: &NativeCallContext,
    c: &ClusterRef,
    name: &Dynamic,
    opts: &Dynamic,
) -> Fallible<StorageClass> {
    let (name, opts) = args(ctx, "storage_class", name, opts, OPTS)?;
    let mut deps = Deps::default();
    let o = Opts(&opts);
    let mut body = Map::new();
    body.insert(
        "provisioner".into(),
        Value::Str(
            o.str("provisioner")
                .unwrap_or_else(|| "ebs.csi.aws.com".into()),
        ),
    );
    for (opt, key) in [
        ("parameters", "parameters"),
        ("reclaim_policy", "reclaimPolicy"),
        ("volume_binding_mode", "volumeBindingMode"),
        ("allow_expansion", "allowVolumeExpansion"),
    ] {
        if let Some(v) = super::value(&mut deps, o.get(opt)) {
            body.insert(key.into(), v);
        }
    }
    let mut annotations = Map::new();
    if o.bool_or("default", false) {
        annotations.insert(DEFAULT_CLASS.into(), Value::str("true"));
    }
    let address = c.declare(state, ctx, &OBJ, &name, &opts, body, annotations, deps)?;
    Ok(StorageClass(address))
}

/// The annotation that makes a class the cluster's default.
pub const DEFAULT_CLASS: &str = "storageclass.kubernetes.io/is-default-class";

fn register(engine: &mut Engine, state: &Shared) {
    StorageClass::register_type(engine);
    on_clusters(engine, state, "storage_class", storage_class);
}

crate::object_kind!(OBJ, wait_on_delete = false, kind: "storage_class", def: StorageClass, names: super::SUBDOMAIN_NAME);

const FIELDS: &[Field] = &[
    Field::new("provisioner").replaces("a StorageClass's provisioner cannot change"),
    Field::new("parameters")
        .map()
        .replaces("a StorageClass's parameters cannot change"),
    Field::new("reclaimPolicy").replaces("a StorageClass's reclaim policy cannot change"),
    Field::new("volumeBindingMode").replaces("a StorageClass's volume binding mode cannot change"),
    Field::new("allowVolumeExpansion"),
    LABELS,
    ANNOTATIONS,
    ADOPT,
    WHERE,
];
