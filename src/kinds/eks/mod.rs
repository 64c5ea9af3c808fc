//! The EKS family: clusters (with their OIDC provider for IRSA), managed
//! node groups and Fargate profiles. This file holds the family's script
//! functions (`cluster`, its methods `node_group`, `fargate_profile` and
//! `irsa_role`, and `taint`), their option schemas, and the family's read;
//! each kind's own module holds its registry entry and its calls.

/// The read of an EKS sub-resource kind (node groups, Fargate profiles,
/// add-ons): its list operation in each cluster, then the module's own
/// `describe` of each item, concurrently, keeping those not being deleted
/// that the module's `live_of` owns.
macro_rules! read_per_cluster {
    ($cloud:expr, $clusters:expr, $list:ident, $op:literal, $status:ident) => {
        crate::providers::aws::described_per_cluster(
            $clusters,
            |c| async move {
                $cloud
                    .eks()
                    .$list()
                    .cluster_name(c)
                    .into_paginator()
                    .items()
                    .send()
                    .collect::<Result<Vec<_>, _>>()
                    .await
                    .map_err(ProviderError::api($op))
            },
            |c, n| async move { describe($cloud, &c, &n).await },
            |x| {
                (x.status() != Some(&$status::Deleting))
                    .then(|| live_of($cloud, x))
                    .flatten()
            },
        )
        .await
    };
}

/// The description of one of a cluster's sub-resources, `None` when EKS
/// does not find it: `describe_in_cluster!(cloud, cluster, describe_addon,
/// addon_name(name), "DescribeAddon", addon)`.
macro_rules! describe_in_cluster {
    ($cloud:expr, $cluster:expr, $op:ident, $key:ident($name:expr), $label:literal, $get:ident) => {{
        let out = $cloud
            .eks()
            .$op()
            .cluster_name($cluster)
            .$key($name)
            .send()
            .await
            .map_err(ProviderError::api($label));
        Ok(ProviderError::absent_ok(out)?.and_then(|o| o.$get().cloned()))
    }};
}

/// The cluster and name in the id (`cluster/name`) of a cluster's
/// sub-resource; `what` names its kind in the error.
fn id_parts<'a>(live: &'a Live, what: &str) -> Result<(&'a str, &'a str), ProviderError> {
    live.id
        .split_once('/')
        .ok_or_else(|| ProviderError::Unexpected(format!("bad {what} id {}", live.id)))
}

/// The `:live` rows of a kind EKS lists per cluster, for every cluster in
/// the region: `rows` gives one cluster's, or `None` where it cannot list
/// them (a cluster whose mode has no access entries).
async fn rows_per_cluster<F, Fut>(
    cloud: &Cloud,
    rows: F,
) -> Result<Vec<crate::providers::Row>, ProviderError>
where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = Option<Vec<crate::providers::Row>>>,
{
    let mut out = Vec::new();
    for c in cluster::all_names(cloud).await? {
        out.extend(rows(c).await.unwrap_or_default());
    }
    Ok(out)
}

/// Waits until `describe` no longer finds `what`, which is being deleted.
async fn wait_gone<T, F, Fut>(cloud: &Cloud, what: &str, describe: F) -> Result<(), ProviderError>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<Option<T>, ProviderError>>,
{
    crate::providers::wait_for(cloud, &format!("{what} to be deleted"), || async {
        Ok(describe().await?.is_none().then_some(()))
    })
    .await
}

pub mod access_entry;
pub mod addon;
pub mod addon_schema;
pub mod auto_mode;
pub mod cluster;
pub mod fargate_profile;
pub mod insights;
pub mod leftovers;
pub mod lint;
pub mod node_group;
pub mod pod_identity;

use super::iam::{
    declare_role, inline_policies, oidc_provider, role, service_trust, IamRole, RoleSpec,
    AWS_POLICY,
};
use super::k8s::{ClusterRef, ExistingCluster};
use super::network::{security_group, subnet, vpc};
use crate::model::{names, validate, Address, Live, Map, Problem, Value};
use crate::providers::{Cloud, ProviderError};
use crate::script::api::{name_arg, opts_arg};
use crate::script::handles::Output;
use crate::script::schema::{self, def, opt, req, FnDoc, Opt, Ty, TAGS_OPT};
use crate::script::state::{
    check_name, check_tags, declare, fail, ref_to, str_list, Deps, Fallible, Opts, Shared,
};
use rhai::{Dynamic, Engine, NativeCallContext};
use std::collections::BTreeSet;

crate::handle_type!(Cluster);
crate::handle_type!(NodeGroup);
crate::handle_type!(FargateProfile);

/// What a cluster's constructor declared: its subnets, whether it has an
/// OIDC provider, and the roles its node groups and profiles share.
#[derive(Debug, Default, Clone)]
pub struct ClusterInfo {
    pub subnets: Vec<Address>,
    pub node_role: Option<Address>,
    pub fargate_role: Option<Address>,
    pub irsa: bool,
    /// Its subnets, and its node groups', are tagged as its own
    /// (`kubernetes.io/cluster/<name>`).
    pub tag_subnets: bool,
}

/// A node taint made by `taint(key, value, effect)`.
#[derive(Clone, Debug, PartialEq)]
pub struct Taint {
    pub key: String,
    pub value: String,
    pub effect: String,
}

/// A taint as the REPL shows it.
pub fn show_value(v: &Dynamic) -> Option<String> {
    v.read_lock::<Taint>()
        .map(|t| format!("taint({:?}, {:?}, {:?})", t.key, t.value, t.effect))
}

pub(crate) fn is_taint(d: &Dynamic) -> bool {
    d.is::<Taint>()
}

pub const LOG_TYPES: &[&str] = &[
    "api",
    "audit",
    "authenticator",
    "controllerManager",
    "scheduler",
];
pub const EFFECTS: &[&str] = &["NoSchedule", "PreferNoSchedule", "NoExecute"];
pub const AMI_TYPES: &[&str] = &[
    "AL2_x86_64",
    "AL2_x86_64_GPU",
    "AL2_ARM_64",
    "AL2023_x86_64_STANDARD",
    "AL2023_ARM_64_STANDARD",
    "AL2023_x86_64_NVIDIA",
    "AL2023_x86_64_NEURON",
    "BOTTLEROCKET_x86_64",
    "BOTTLEROCKET_ARM_64",
    "BOTTLEROCKET_x86_64_NVIDIA",
    "BOTTLEROCKET_ARM_64_NVIDIA",
    "CUSTOM",
];

pub const ENDPOINT: &[Opt] = &[
    def("public", Ty::Bool, "true", "public API endpoint"),
    def(
        "private",
        Ty::Bool,
        "false",
        "private API endpoint inside the VPC",
    ),
    def(
        "public_cidrs",
        Ty::CidrList,
        "[\"0.0.0.0/0\"]",
        "who may reach the public endpoint",
    ),
];

pub const CLUSTER: &[Opt] = &[
    req("version", Ty::Str, "Kubernetes version, e.g. \"1.29\""),
    req("vpc", Ty::Handle(vpc::KIND), "the cluster's VPC"),
    req(
        "subnets",
        Ty::HandleList(subnet::KIND),
        "subnets for the control plane ENIs (two AZs at least)",
    ),
    opt(
        "role",
        Ty::Handle(role::KIND),
        "cluster role; a role \"<name>-cluster\" is declared when absent",
    ),
    opt(
        "endpoint",
        Ty::Nested(ENDPOINT),
        "API endpoint access: #{ public, private, public_cidrs }",
    ),
    opt(
        "logging",
        Ty::EnumList(LOG_TYPES),
        "control-plane log types sent to CloudWatch",
    ),
    opt(
        "secrets_key",
        Ty::Handle(super::kms_key::KIND),
        "KMS key for envelope encryption of Kubernetes secrets",
    ),
    opt(
        "security_groups",
        Ty::HandleList(security_group::KIND),
        "extra security groups for the control plane",
    ),
    def(
        "irsa",
        Ty::Bool,
        "true",
        "declare the cluster's IAM OIDC provider (IAM roles for service accounts)",
    ),
    def(
        "authentication_mode",
        Ty::Enum(cluster::AUTH_MODES),
        "\"API_AND_CONFIG_MAP\"",
        "who may use the cluster: access entries (API), the aws-auth ConfigMap (CONFIG_MAP), or both; moves forward only",
    ),
    def(
        "tag_subnets",
        Ty::Bool,
        "true",
        "tag its subnets and its node groups' kubernetes.io/cluster/<name>: shared, for the load balancer controller",
    ),
    opt(
        "auto_mode",
        Ty::Nested(auto_mode::OPTIONS),
        "EKS Auto Mode: #{ node_pools?, node_role?, enabled? }; EKS runs the compute, block storage and load balancing",
    ),
    opt(
        "allow_upgrade_insights",
        Ty::StrList,
        "ids of EKS upgrade insights in ERROR that a version step may go past (the plan refuses the step otherwise)",
    ),
    TAGS_OPT,
    crate::script::api::providers::PROVIDER_OPT,
];

pub const NODE_GROUP: &[Opt] = &[
    req(
        "instance_types",
        Ty::StrList,
        "EC2 instance types, e.g. [\"m6i.large\"]",
    ),
    req("min", Ty::Int, "minimum size"),
    req("max", Ty::Int, "maximum size"),
    req(
        "desired",
        Ty::Int,
        "desired size at creation; then the cluster autoscaler's (see scaling)",
    ),
    opt(
        "scaling",
        Ty::Nested(SCALING),
        "#{ manage_desired: true } keeps desired as declared on every apply",
    ),
    def("disk_size", Ty::Int, "20", "root volume size in GiB"),
    opt(
        "ami_type",
        Ty::Enum(AMI_TYPES),
        "AMI type; EKS picks one for the version when absent",
    ),
    def(
        "spot",
        Ty::Bool,
        "false",
        "spot capacity instead of on-demand",
    ),
    opt("labels", Ty::StrMap, "Kubernetes node labels"),
    opt(
        "taints",
        Ty::Values("taint(...)", is_taint),
        "Kubernetes taints, made with taint(key, value, effect)",
    ),
    opt(
        "subnets",
        Ty::HandleList(subnet::KIND),
        "subnets for the nodes; the cluster's when absent",
    ),
    opt(
        "role",
        Ty::Handle(role::KIND),
        "node role; a shared role \"<cluster>-node\" is declared when absent",
    ),
    opt(
        "security_groups",
        Ty::HandleList(security_group::KIND),
        "the nodes' security groups (a launch template is declared for them)",
    ),
    opt(
        "disk",
        Ty::Nested(DISK),
        "the nodes' root volume, instead of disk_size (a launch template is declared for it)",
    ),
    opt(
        "imds",
        Ty::Nested(IMDS),
        "instance metadata: #{ v2_required: true, hop_limit: 2 } (a launch template is declared for it)",
    ),
    opt(
        "user_data",
        Ty::Str,
        "extra user data, e.g. an AL2023 nodeadm NodeConfig in MIME form (a launch template is declared for it)",
    ),
    TAGS_OPT,
];

/// A node group's root volume.
pub const DISK: &[Opt] = &[
    def("size", Ty::Int, "20", "size in GiB"),
    def(
        "type",
        Ty::Enum(&["gp3", "gp2", "io1", "io2"]),
        "\"gp3\"",
        "EBS volume type",
    ),
    opt("iops", Ty::Int, "provisioned IOPS (gp3, io1, io2)"),
    def("encrypted", Ty::Bool, "true", "encrypted at rest"),
    opt(
        "kms_key",
        Ty::Handle(super::kms_key::KIND),
        "the KMS key; AWS's own EBS key when absent",
    ),
];

/// A node group's instance metadata service settings.
pub const IMDS: &[Opt] = &[
    def(
        "v2_required",
        Ty::Bool,
        "true",
        "require IMDSv2 session tokens",
    ),
    def(
        "hop_limit",
        Ty::Int,
        "2",
        "hops a metadata response may travel; 2 lets pods reach it, 1 keeps it to the node",
    ),
];

/// How a node group's size is managed.
pub const SCALING: &[Opt] = &[def(
    "manage_desired",
    Ty::Bool,
    "false",
    "compare and set desired on every plan; by default it is set at creation and then left to the cluster autoscaler",
)];

pub const SELECTOR: &[Opt] = &[
    req("namespace", Ty::Str, "namespace whose pods run on Fargate"),
    opt("labels", Ty::StrMap, "only pods with these labels"),
];

pub const FARGATE_PROFILE: &[Opt] = &[
    req(
        "selectors",
        Ty::NestedList(SELECTOR),
        "which pods run on Fargate: [#{ namespace, labels? }]",
    ),
    opt(
        "subnets",
        Ty::HandleList(subnet::KIND),
        "private subnets; the cluster's private subnets when absent",
    ),
    opt(
        "role",
        Ty::Handle(role::KIND),
        "pod execution role; \"<cluster>-fargate\" is declared when absent",
    ),
    TAGS_OPT,
];

pub const IRSA_ROLE: &[Opt] = &[
    req(
        "namespace",
        Ty::Str,
        "Kubernetes namespace of the service account",
    ),
    req("service_account", Ty::Str, "name of the service account"),
    super::iam::MANAGED_POLICIES_OPT,
    super::iam::INLINE_POLICIES_OPT,
    TAGS_OPT,
];

pub const CLUSTER_FUNCTIONS: &[FnDoc] = &[
    FnDoc { name: "cluster", signature: "cluster(name, #{ version, vpc, subnets, ... }) -> Cluster", doc: "An EKS cluster.", options: CLUSTER, method_of: None },
    FnDoc { name: "irsa_role", signature: "cluster.irsa_role(name, #{ namespace, service_account, ... }) -> IamRole", doc: "An IAM role that one Kubernetes service account assumes through the cluster's OIDC provider; on existing_cluster(name), the provider that exists for the cluster's issuer, looked up when planning.", options: IRSA_ROLE, method_of: Some("Cluster") },
];
pub const NODE_GROUP_FUNCTIONS: &[FnDoc] = &[
    FnDoc {
        name: "node_group",
        signature:
            "cluster.node_group(name, #{ instance_types, min, max, desired, ... }) -> NodeGroup",
        doc: "A managed node group of the cluster.",
        options: NODE_GROUP,
        method_of: Some("Cluster"),
    },
    FnDoc {
        name: "taint",
        signature: "taint(key, value, effect) -> Taint",
        doc: "A node taint; effect is NoSchedule, PreferNoSchedule or NoExecute.",
        options: &[],
        method_of: None,
    },
];
pub const FARGATE_PROFILE_FUNCTIONS: &[FnDoc] = &[FnDoc {
    name: "fargate_profile",
    signature: "cluster.fargate_profile(name, #{ selectors, ... }) -> FargateProfile",
    doc: "A Fargate profile of the cluster.",
    options: FARGATE_PROFILE,
    method_of: Some("Cluster"),
}];

/// Every owned EKS resource: clusters, then their node groups, Fargate
/// profiles, add-ons, access entries and Pod Identity associations (which
/// can only be listed per cluster), in parallel.
pub async fn read(cloud: &Cloud) -> Result<Vec<Live>, ProviderError> {
    let clusters = cluster::read(cloud).await?;
    let names: Vec<String> = clusters
        .iter()
        .filter_map(|c| c.outputs.get("name").cloned())
        .collect();
    // Access entries may also be declared on clusters of others.
    let mut with_entries = names.clone();
    for c in cloud.existing_clusters() {
        if !with_entries.contains(&c) {
            with_entries.push(c);
        }
    }
    let (groups, profiles, addons, entries, pods) = tokio::join!(
        cloud.timed(node_group::KIND.as_str(), node_group::read(cloud, &names)),
        cloud.timed(
            fargate_profile::KIND.as_str(),
            fargate_profile::read(cloud, &names)
        ),
        cloud.timed(addon::KIND.as_str(), addon::read(cloud, &names)),
        cloud.timed(
            access_entry::KIND.as_str(),
            access_entry::read(cloud, &with_entries)
        ),
        cloud.timed(
            pod_identity::KIND.as_str(),
            pod_identity::read(cloud, &with_entries)
        )
    );
    let mut all = clusters;
    all.extend(cloud.listed(node_group::KIND, groups)?);
    all.extend(cloud.listed(fargate_profile::KIND, profiles)?);
    all.extend(cloud.listed(addon::KIND, addons)?);
    all.extend(cloud.listed(access_entry::KIND, entries)?);
    all.extend(cloud.listed(pod_identity::KIND, pods)?);
    Ok(all)
}

pub fn register_cluster(engine: &mut Engine, state: &Shared) {
    Cluster::register_type(engine);
    let s = state.clone();
    engine.register_fn(
        "cluster",
        move |ctx: NativeCallContext, name: Dynamic, opts: Dynamic| cluster(&s, &ctx, &name, &opts),
    );
    let s = state.clone();
    engine.register_fn(
        "irsa_role",
        move |ctx: NativeCallContext, c: &mut Cluster, name: Dynamic, opts: Dynamic| {
            let c = ClusterRef {
                name: c.0.name.clone(),
                resource: Some(c.0.clone()),
            };
            irsa_role(&s, &ctx, &c, &name, &opts)
        },
    );
    let s = state.clone();
    engine.register_fn(
        "irsa_role",
        move |ctx: NativeCallContext, c: &mut ExistingCluster, name: Dynamic, opts: Dynamic| {
            let c = ClusterRef {
                name: c.0.clone(),
                resource: None,
            };
            irsa_role(&s, &ctx, &c, &name, &opts)
        },
    );
    register_cluster_getters(engine, state);
}

pub fn register_node_group(engine: &mut Engine, state: &Shared) {
    NodeGroup::register_type(engine);
    engine
        .register_type_with_name::<Taint>("Taint")
        .register_fn("to_string", |t: &mut Taint| {
            format!("{}={}:{}", t.key, t.value, t.effect)
        })
        .register_fn("to_debug", |t: &mut Taint| {
            format!("taint({}={}:{})", t.key, t.value, t.effect)
        });
    let s = state.clone();
    engine.register_fn(
        "node_group",
        move |ctx: NativeCallContext, c: &mut Cluster, name: Dynamic, opts: Dynamic| {
            node_group(&s, &ctx, &c.0, &name, &opts)
        },
    );
    engine.register_fn(
        "taint",
        |ctx: NativeCallContext, key: Dynamic, value: Dynamic, effect: Dynamic| {
            taint(&ctx, &key, &value, &effect)
        },
    );
    engine.register_get("name", |n: &mut NodeGroup| {
        Output::attr(&n.0, "name", Some(n.0.leaf().to_string()))
    });
    engine.register_get("arn", |n: &mut NodeGroup| Output::attr(&n.0, "arn", None));
}

pub fn register_fargate_profile(engine: &mut Engine, state: &Shared) {
    FargateProfile::register_type(engine);
    engine.register_get("name", |f: &mut FargateProfile| {
        Output::attr(&f.0, "name", Some(f.0.leaf().to_string()))
    });
    engine.register_get("arn", |f: &mut FargateProfile| {
        Output::attr(&f.0, "arn", None)
    });
    let s = state.clone();
    engine.register_fn(
        "fargate_profile",
        move |ctx: NativeCallContext, c: &mut Cluster, name: Dynamic, opts: Dynamic| {
            fargate_profile(&s, &ctx, &c.0, &name, &opts)
        },
    );
}

fn register_cluster_getters(engine: &mut Engine, state: &Shared) {
    engine.register_get("name", |c: &mut Cluster| {
        Output::attr(&c.0, "name", Some(c.0.name.clone()))
    });
    for attr in [
        "arn",
        "endpoint",
        "oidc_issuer",
        "security_group_id",
        "certificate_authority",
    ] {
        engine.register_get(attr, move |c: &mut Cluster| Output::attr(&c.0, attr, None));
    }
    let s = state.clone();
    engine.register_get("authentication_mode", move |c: &mut Cluster| {
        s.borrow()
            .graph
            .get(&c.0)
            .and_then(|r| r.str("authentication_mode").map(String::from))
            .unwrap_or_default()
    });
    let s = state.clone();
    engine.register_get("version", move |c: &mut Cluster| {
        let known = s
            .borrow()
            .graph
            .get(&c.0)
            .and_then(|r| r.str("version").map(String::from));
        Output::attr(&c.0, "version", known)
    });
    let s = state.clone();
    engine.register_get(
        "oidc_provider_arn",
        move |ctx: NativeCallContext, c: &mut Cluster| -> Fallible<Output> {
            let provider = oidc_provider(&s, &ctx, &c.0)?;
            Ok(Output::attr(&provider, "arn", None))
        },
    );
}

/// The OIDC provider of a declared cluster with `irsa: true`.
pub fn oidc_provider(
    state: &Shared,
    ctx: &NativeCallContext,
    cluster: &Address,
) -> Fallible<Address> {
    let st = state.borrow();
    match st.fact::<ClusterInfo>(cluster) {
        Some(info) if info.irsa => Ok(cluster.sibling(oidc_provider::KIND, &cluster.name)),
        Some(_) => Err(fail(
            ctx,
            Problem::new(format!(
                "{cluster} has irsa: false, so it has no OIDC provider"
            ))
            .hint("set irsa: true on the cluster to use IAM roles for service accounts"),
        )),
        None => Err(fail(
            ctx,
            Problem::new(format!("{cluster} is not declared (yet)"))
                .hint("declare the cluster before using it"),
        )),
    }
}

/// How a role trusts service accounts of a cluster: the cluster's IAM OIDC
/// provider and issuer as spec values, and what the role then waits for.
pub struct OidcTrust {
    pub provider: Value,
    pub issuer: Value,
    pub deps: Vec<Address>,
}

impl OidcTrust {
    /// The role's `irsa` (or one of its `service_accounts`) entry.
    pub fn entry(&self, namespace: &str, service_account: &str) -> Value {
        Value::Map(Map::from([
            ("provider".into(), self.provider.clone()),
            ("issuer".into(), self.issuer.clone()),
            ("namespace".into(), Value::str(namespace)),
            ("service_account".into(), Value::str(service_account)),
        ]))
    }
}

/// The OIDC trust of a cluster: the provider this blueprint declares for
/// it, or, for `existing_cluster(name)`, the one that exists for its
/// issuer, looked up when planning (placeholders in `bp check`).
pub fn oidc_trust(state: &Shared, ctx: &NativeCallContext, c: &ClusterRef) -> Fallible<OidcTrust> {
    let Some(cluster) = &c.resource else {
        let (arn, issuer) = existing_oidc(state, ctx, &c.name)?;
        return Ok(OidcTrust {
            provider: Value::Str(arn),
            issuer: Value::Str(issuer),
            deps: Vec::new(),
        });
    };
    let provider = oidc_provider(state, ctx, cluster)?;
    Ok(OidcTrust {
        provider: ref_to(&provider),
        issuer: Value::Ref(crate::model::Ref {
            address: cluster.clone(),
            attr: "oidc_issuer".into(),
        }),
        deps: vec![provider, cluster.clone()],
    })
}

/// The IAM OIDC provider (ARN) and issuer of a cluster this blueprint
/// does not manage, read once: its issuer from DescribeCluster, its
/// provider the one ListOpenIDConnectProviders has for that issuer.
#[derive(Default)]
struct ExistingOidc(Option<(String, String)>);

fn existing_oidc(
    state: &Shared,
    ctx: &NativeCallContext,
    name: &str,
) -> Fallible<(String, String)> {
    let key = Address::new(cluster::KIND, name);
    if let Some(ExistingOidc(Some(found))) = state.borrow().fact::<ExistingOidc>(&key) {
        return Ok(found.clone());
    }
    let region = state.borrow().region.clone();
    let asked = name.to_string();
    let in_region = region.clone();
    let read = crate::script::api::facts::read_aws(
        state,
        ctx,
        "existing_cluster(...) IRSA",
        |conf| async move {
            let eks = aws_sdk_eks::Client::new(&conf);
            let issuer = match eks.describe_cluster().name(&asked).send().await {
                Ok(out) => out
                    .cluster()
                    .and_then(|c| c.identity())
                    .and_then(|i| i.oidc())
                    .and_then(|o| o.issuer())
                    .map(String::from),
                Err(e)
                    if crate::script::api::facts::error_code(&e).as_deref()
                        == Some("ResourceNotFoundException") =>
                {
                    return Ok(Err(Problem::new(format!(
                        "cluster {asked} does not exist in {in_region}"
                    ))
                    .hint("check the name and the region (--region) of this command")));
                }
                Err(e) => {
                    return Err(crate::script::api::facts::api_problem(
                        "existing_cluster(...)",
                        "EKS DescribeCluster",
                        &e,
                    ))
                }
            };
            let Some(issuer) = issuer else {
                return Ok(Err(Problem::new(format!(
                    "cluster {asked} has no OIDC issuer"
                ))));
            };
            let iam = aws_sdk_iam::Client::new(&conf);
            let providers = iam
                .list_open_id_connect_providers()
                .send()
                .await
                .map_err(|e| {
                    crate::script::api::facts::api_problem(
                        "existing_cluster(...)",
                        "IAM ListOpenIDConnectProviders",
                        &e,
                    )
                })?;
            let host = issuer.trim_start_matches("https://").to_string();
            let arn = providers
                .open_id_connect_provider_list()
                .iter()
                .filter_map(|p| p.arn())
                .find(|a| a.ends_with(&format!(":oidc-provider/{host}")))
                .map(String::from);
            Ok(match arn {
            Some(arn) => Ok((arn, issuer)),
            None => Err(Problem::new(format!(
                "cluster {asked} has no IAM OIDC provider for its issuer {issuer}, so no role can trust its service accounts"
            ))
            .hint("create the provider for the cluster's issuer (its owners' blueprint, or `eksctl utils associate-iam-oidc-provider`), then plan again")),
        })
        },
    )?;
    let found = match read {
        Some(Ok(found)) => found,
        Some(Err(problem)) => return Err(fail(ctx, problem)),
        None => {
            let host = format!("oidc.eks.{region}.amazonaws.com/id/PLACEHOLDER");
            (
                format!("arn:aws:iam::000000000000:oidc-provider/{host}"),
                format!("https://{host}"),
            )
        }
    };
    state.borrow_mut().fact_mut::<ExistingOidc>(&key).0 = Some(found.clone());
    Ok(found)
}

fn cluster(
    state: &Shared,
    ctx: &NativeCallContext,
    name: &Dynamic,
    opts: &Dynamic,
) -> Fallible<Cluster> {
    let name = name_arg(ctx, "cluster", name)?;
    let map = opts_arg(ctx, "cluster", opts, CLUSTER)?;
    let o = Opts(&map);
    check_name(ctx, cluster::KIND, &name)?;
    check_tags(ctx, o.get("tags"))?;
    let version = o.str("version").unwrap_or_default();
    let version_ok = version.split_once('.').is_some_and(|(a, b)| {
        !a.is_empty() && !b.is_empty() && (a.to_owned() + b).bytes().all(|c| c.is_ascii_digit())
    });
    if !version_ok {
        return Err(fail(
            ctx,
            Problem::new(format!("`{version}` is not a Kubernetes version"))
                .hint("EKS versions look like \"1.29\""),
        ));
    }
    // Its provider instance, else its VPC's.
    let addr = Address::new(cluster::KIND, &name).in_provider(
        crate::script::api::providers::alias(&map)
            .or_else(|| o.address("vpc").and_then(|v| v.provider)),
    );
    let subnets = o.addresses("subnets");
    check_subnet_zones(state, ctx, &subnets)?;
    let mut deps = Deps::default();
    let tags = state.borrow().tags(o.get("tags"), &mut deps);

    let auto = o
        .get("auto_mode")
        .and_then(|a| a.read_lock::<rhai::Map>().map(|m| m.clone()));
    let auto_on = auto
        .as_ref()
        .is_some_and(|a| Opts(a).bool_or("enabled", true));
    let role = match o.address("role") {
        Some(r) => r,
        None if auto_on => auto_mode::cluster_role(state, ctx, &addr, tags.clone())?,
        None => declare_role(
            state,
            ctx,
            &format!("{name}-cluster"),
            RoleSpec {
                trust: ("trust_policy", service_trust(&["eks.amazonaws.com".into()])),
                managed: vec![format!("{AWS_POLICY}AmazonEKSClusterPolicy")],
                inline: Map::new(),
                tags: tags.clone(),
                provider: addr.provider.clone(),
            },
            Deps::default(),
        )?,
    };
    deps.add(&role);

    let endpoint = o
        .get("endpoint")
        .and_then(|e| e.read_lock::<rhai::Map>().map(|m| m.clone()))
        .unwrap_or_default();
    let e = Opts(&endpoint);
    let (public, private) = (e.bool_or("public", true), e.bool_or("private", false));
    if !public && !private {
        return Err(fail(
            ctx,
            Problem::new("the cluster endpoint is neither public nor private")
                .hint("set endpoint: #{ public: true } or #{ private: true }"),
        ));
    }
    let public_cidrs = if e.has("public_cidrs") {
        e.strs("public_cidrs")
    } else {
        vec!["0.0.0.0/0".into()]
    };
    let mut logging: Vec<String> = o.strs("logging");
    logging.sort();
    logging.dedup();

    let mut spec = Map::new();
    spec.insert("name".into(), Value::str(&name));
    spec.insert("version".into(), Value::str(&version));
    spec.insert("role".into(), ref_to(&role));
    spec.insert(
        "subnets".into(),
        Value::List(subnets.iter().map(ref_to).collect()),
    );
    spec.insert(
        "endpoint".into(),
        Value::Map(Map::from([
            ("public".into(), Value::Bool(public)),
            ("private".into(), Value::Bool(private)),
            ("public_cidrs".into(), str_list(&public_cidrs)),
        ])),
    );
    spec.insert("logging".into(), str_list(&logging));
    // Compared only when declared: clusters made before this option keep
    // their mode (a change is irreversible). New ones get the default.
    if let Some(mode) = o.str("authentication_mode") {
        spec.insert("authentication_mode".into(), Value::Str(mode));
    }
    if let Some(a) = &auto {
        let mode = o.str("authentication_mode");
        let spec_value = auto_mode::spec(
            state,
            ctx,
            &addr,
            a,
            (&version, mode.as_deref()),
            &mut deps,
            tags.clone(),
        )?;
        spec.insert("auto_mode".into(), spec_value);
    }
    if o.has("allow_upgrade_insights") {
        spec.insert(
            "allow_upgrade_insights".into(),
            str_list(&o.strs("allow_upgrade_insights")),
        );
    }
    let sgs = o.addresses("security_groups");
    spec.insert(
        "security_groups".into(),
        Value::List(sgs.iter().map(ref_to).collect()),
    );
    if let Some(k) = o.address("secrets_key") {
        deps.add(&k);
        spec.insert("secrets_key".into(), ref_to(&k));
    }
    if let Some(t) = tags.clone() {
        spec.insert("tags".into(), t);
    }
    for a in subnets.iter().chain(sgs.iter()) {
        deps.add(a);
    }
    if let Some(v) = o.address("vpc") {
        deps.add(&v);
    }
    declare(state, ctx, addr.clone(), spec, deps)?;

    let irsa = o.bool_or("irsa", true);
    if irsa {
        let mut spec = Map::new();
        spec.insert(
            "url".into(),
            Value::Ref(crate::model::Ref {
                address: addr.clone(),
                attr: "oidc_issuer".into(),
            }),
        );
        spec.insert(
            "client_ids".into(),
            str_list(&["sts.amazonaws.com".to_string()]),
        );
        if let Some(t) = tags {
            spec.insert("tags".into(), t);
        }
        let mut d = Deps::default();
        d.add(&addr);
        declare(
            state,
            ctx,
            addr.sibling(oidc_provider::KIND, &name),
            spec,
            d,
        )?;
    }
    let tag_subnets = o.bool_or("tag_subnets", true);
    if tag_subnets {
        tag_cluster_subnets(state, &name, &subnets);
    }
    *state.borrow_mut().fact_mut::<ClusterInfo>(&addr) = ClusterInfo {
        subnets,
        irsa,
        tag_subnets,
        ..ClusterInfo::default()
    };
    Ok(Cluster(addr))
}

/// Tags the subnets a cluster uses that this blueprint declares with
/// `kubernetes.io/cluster/<name>: shared`: the AWS Load Balancer Controller
/// and the cloud provider look for it. Subnets that exist outside the
/// blueprint are not its to tag.
fn tag_cluster_subnets(state: &Shared, cluster: &str, subnets: &[Address]) {
    let mut st = state.borrow_mut();
    for s in subnets {
        let Some(r) = st.graph.get_mut(s).filter(|r| !r.is_existing()) else {
            continue;
        };
        let tags = r
            .spec
            .entry("tags".into())
            .or_insert_with(|| Value::Map(Map::new()));
        if let Value::Map(t) = tags {
            t.insert(
                format!("kubernetes.io/cluster/{cluster}"),
                Value::str("shared"),
            );
        }
    }
}

/// EKS wants subnets in two zones at least.
fn check_subnet_zones(
    state: &Shared,
    ctx: &NativeCallContext,
    subnets: &[Address],
) -> Fallible<()> {
    let st = state.borrow();
    let known: Vec<&str> = subnets
        .iter()
        .filter_map(|s| st.graph.get(s)?.str("az"))
        .collect();
    let zones: BTreeSet<&str> = known.iter().copied().collect();
    if subnets.is_empty() || (known.len() == subnets.len() && zones.len() < 2) {
        return Err(fail(
            ctx,
            Problem::new(format!(
                "an EKS cluster needs subnets in two availability zones at least; these are in {}",
                if zones.is_empty() { "none".to_string() } else { zones.into_iter().collect::<Vec<_>>().join(", ") }
            ))
            .hint("pass subnets from two or more zones, e.g. vpc.private_subnets of a VPC with azs: 2"),
        ));
    }
    Ok(())
}

fn cluster_info(state: &Shared, ctx: &NativeCallContext, c: &Address) -> Fallible<ClusterInfo> {
    state
        .borrow()
        .fact::<ClusterInfo>(c)
        .cloned()
        .ok_or_else(|| {
            fail(
                ctx,
                Problem::new(format!("{c} is not declared (yet)"))
                    .hint("declare the cluster first"),
            )
        })
}

/// The role shared by a cluster's node groups (or Fargate profiles) that
/// name none, declared on first use.
fn shared_role(
    state: &Shared,
    ctx: &NativeCallContext,
    c: &Address,
    fargate: bool,
) -> Fallible<Address> {
    let info = cluster_info(state, ctx, c)?;
    let existing = if fargate {
        &info.fargate_role
    } else {
        &info.node_role
    };
    if let Some(r) = existing {
        return Ok(r.clone());
    }
    let tags = {
        let st = state.borrow();
        st.graph.get(c).and_then(|r| r.get("tags").cloned())
    };
    let (suffix, service, policies) = if fargate {
        (
            "fargate",
            "eks-fargate-pods.amazonaws.com",
            vec![format!(
                "{AWS_POLICY}AmazonEKSFargatePodExecutionRolePolicy"
            )],
        )
    } else {
        (
            "node",
            "ec2.amazonaws.com",
            vec![
                format!("{AWS_POLICY}AmazonEKSWorkerNodePolicy"),
                format!("{AWS_POLICY}AmazonEKS_CNI_Policy"),
                format!("{AWS_POLICY}AmazonEC2ContainerRegistryReadOnly"),
            ],
        )
    };
    let role = declare_role(
        state,
        ctx,
        &format!("{}-{suffix}", c.name),
        RoleSpec {
            trust: ("trust_policy", service_trust(&[service.to_string()])),
            managed: policies,
            inline: Map::new(),
            tags,
            provider: c.provider.clone(),
        },
        Deps::default(),
    )?;
    let mut st = state.borrow_mut();
    {
        let info = st.fact_mut::<ClusterInfo>(c);
        if fargate {
            info.fargate_role = Some(role.clone());
        } else {
            info.node_role = Some(role.clone());
        }
    }
    Ok(role)
}

fn node_group(
    state: &Shared,
    ctx: &NativeCallContext,
    c: &Address,
    name: &Dynamic,
    opts: &Dynamic,
) -> Fallible<NodeGroup> {
    let name = name_arg(ctx, "node_group", name)?;
    let map = opts_arg(ctx, "node_group", opts, NODE_GROUP)?;
    let o = Opts(&map);
    check_name(ctx, node_group::KIND, &name)?;
    check_tags(ctx, o.get("tags"))?;
    let types = o.strs("instance_types");
    if types.is_empty() {
        return Err(fail(
            ctx,
            Problem::new("instance_types is empty")
                .hint("name one type at least, e.g. [\"m6i.large\"]"),
        ));
    }
    for t in &types {
        names::check_instance_type(t).map_err(|p| fail(ctx, p))?;
    }
    let (min, max, desired) = (
        o.int("min").unwrap_or_default(),
        o.int("max").unwrap_or_default(),
        o.int("desired").unwrap_or_default(),
    );
    validate::scaling(min, desired, max).map_err(|p| fail(ctx, p))?;
    let disk = o.int("disk_size").unwrap_or(20);
    if !(1..=16384).contains(&disk) {
        return Err(fail(
            ctx,
            Problem::new(format!("disk_size {disk} GiB is outside 1..16384")),
        ));
    }
    let info = cluster_info(state, ctx, c)?;
    let subnets = if o.has("subnets") {
        o.addresses("subnets")
    } else {
        info.subnets.clone()
    };
    let role = match o.address("role") {
        Some(r) => r,
        None => shared_role(state, ctx, c, false)?,
    };
    if info.tag_subnets {
        tag_cluster_subnets(state, &c.name, &subnets);
    }
    let mut deps = Deps::default();
    deps.add(c);
    deps.add(&role);
    for s in &subnets {
        deps.add(s);
    }
    let labels = o
        .get("labels")
        .map(|l| deps.value(l))
        .unwrap_or(Value::Map(Map::new()));
    let taints: Vec<Value> = o
        .list("taints")
        .iter()
        .filter_map(|t| t.read_lock::<Taint>().map(|t| taint_value(&t)))
        .collect();
    let mut spec = Map::new();
    spec.insert("cluster".into(), ref_to(c));
    spec.insert("name".into(), Value::str(&name));
    // The group runs the cluster's Kubernetes version: an upgrade of the
    // cluster is followed by one of its groups.
    let version = state
        .borrow()
        .graph
        .get(c)
        .and_then(|r| r.str("version").map(String::from));
    if let Some(v) = version {
        spec.insert("version".into(), Value::Str(v));
    }
    spec.insert("instance_types".into(), str_list(&types));
    spec.insert(
        "scaling".into(),
        Value::Map(Map::from([
            ("min".into(), Value::Int(min)),
            ("max".into(), Value::Int(max)),
            ("desired".into(), Value::Int(desired)),
        ])),
    );
    spec.insert("disk_size".into(), Value::Int(disk));
    if let Some(ami) = o.str("ami_type") {
        spec.insert("ami_type".into(), Value::str(ami));
    }
    let capacity = if o.bool_or("spot", false) {
        "SPOT"
    } else {
        "ON_DEMAND"
    };
    spec.insert("capacity_type".into(), Value::str(capacity));
    spec.insert("labels".into(), labels);
    spec.insert("taints".into(), Value::List(taints));
    spec.insert(
        "subnets".into(),
        Value::List(subnets.iter().map(ref_to).collect()),
    );
    spec.insert("role".into(), ref_to(&role));
    if let Some(t) = state.borrow().tags(o.get("tags"), &mut deps) {
        spec.insert("tags".into(), t);
    }
    if let Some(t) = node_launch_template(state, ctx, c, &name, &o, disk)? {
        deps.add(&t);
        spec.remove("disk_size");
        spec.insert(
            "launch_template".into(),
            Value::Map(Map::from([
                ("id".into(), ref_to(&t)),
                (
                    "version".into(),
                    Value::Ref(crate::model::Ref {
                        address: t.clone(),
                        attr: "version".into(),
                    }),
                ),
            ])),
        );
    }
    let addr = c.child(node_group::KIND, &name);
    declare(state, ctx, addr.clone(), spec, deps)?;
    // The autoscaler moves the desired size: after creation it is its.
    let manage_desired = o
        .get("scaling")
        .and_then(|s| {
            s.read_lock::<rhai::Map>()
                .map(|m| Opts(&m).bool_or("manage_desired", false))
        })
        .unwrap_or(false);
    if !manage_desired {
        if let Some(r) = state.borrow_mut().graph.get_mut(&addr) {
            r.ignore.insert("scaling.desired".into());
        }
    }
    Ok(NodeGroup(addr))
}

/// The launch template of a node group that takes security groups, a disk,
/// metadata settings or user data (`launch_template.<cluster>/<group>`),
/// with the disk from `disk_size` when no `disk` is given: EKS takes the
/// disk from the template then.
fn node_launch_template(
    state: &Shared,
    ctx: &NativeCallContext,
    c: &Address,
    group: &str,
    o: &Opts,
    disk_size: i64,
) -> Fallible<Option<Address>> {
    if !["security_groups", "disk", "imds", "user_data"]
        .iter()
        .any(|k| o.has(k))
    {
        return Ok(None);
    }
    if o.has("disk") && o.has("disk_size") {
        return Err(fail(
            ctx,
            Problem::new("node_group takes disk or disk_size, not both")
                .hint("give the size inside disk: #{ size: 50 }"),
        ));
    }
    let mut deps = Deps::default();
    let nested = |k: &str| {
        o.get(k)
            .and_then(|d| d.read_lock::<rhai::Map>().map(|m| m.clone()))
            .unwrap_or_default()
    };
    let d = nested("disk");
    let d = Opts(&d);
    // Bottlerocket keeps its data on the second volume.
    let bottlerocket = o
        .str("ami_type")
        .is_some_and(|a| a.starts_with("BOTTLEROCKET"));
    let mut disk = Map::from([
        (
            "device".into(),
            Value::str(if bottlerocket {
                "/dev/xvdb"
            } else {
                "/dev/xvda"
            }),
        ),
        (
            "size".into(),
            Value::Int(d.int("size").unwrap_or(disk_size)),
        ),
        (
            "type".into(),
            Value::str(d.str("type").unwrap_or_else(|| "gp3".into())),
        ),
        (
            "encrypted".into(),
            Value::Bool(d.bool_or("encrypted", true)),
        ),
    ]);
    if let Some(iops) = d.int("iops") {
        disk.insert("iops".into(), Value::Int(iops));
    }
    if let Some(k) = d.address("kms_key") {
        deps.add(&k);
        disk.insert(
            "kms_key".into(),
            Value::Ref(crate::model::Ref {
                address: k,
                attr: "arn".into(),
            }),
        );
    }
    let i = nested("imds");
    let i = Opts(&i);
    let hop_limit = i.int("hop_limit").unwrap_or(2);
    if !(1..=64).contains(&hop_limit) {
        return Err(fail(
            ctx,
            Problem::new(format!("imds hop_limit {hop_limit} is outside 1..64")),
        ));
    }
    let groups = o.addresses("security_groups");
    for g in &groups {
        deps.add(g);
    }
    let mut spec = Map::new();
    spec.insert("name".into(), Value::str(format!("{}-{group}", c.name)));
    spec.insert(
        "security_groups".into(),
        Value::List(groups.iter().map(ref_to).collect()),
    );
    spec.insert("disk".into(), Value::Map(disk));
    spec.insert(
        "imds".into(),
        Value::Map(Map::from([
            (
                "v2_required".into(),
                Value::Bool(i.bool_or("v2_required", true)),
            ),
            ("hop_limit".into(), Value::Int(hop_limit)),
        ])),
    );
    spec.insert(
        "user_data".into(),
        o.str("user_data").map(Value::Str).unwrap_or_default(),
    );
    if let Some(t) = state.borrow().tags(o.get("tags"), &mut deps) {
        spec.insert("tags".into(), t);
    }
    let addr = c.child(crate::kinds::compute::launch_template::KIND, group);
    declare(state, ctx, addr.clone(), spec, deps)?;
    Ok(Some(addr))
}

pub(crate) fn taint_value(t: &Taint) -> Value {
    Value::Map(Map::from([
        ("key".into(), Value::str(&t.key)),
        ("value".into(), Value::str(&t.value)),
        ("effect".into(), Value::str(&t.effect)),
    ]))
}

fn taint(
    ctx: &NativeCallContext,
    key: &Dynamic,
    value: &Dynamic,
    effect: &Dynamic,
) -> Fallible<Taint> {
    for (what, v) in [("key", key), ("value", value), ("effect", effect)] {
        if !v.is_string() {
            return Err(fail(
                ctx,
                Problem::new(format!(
                    "the taint {what} must be a string, but it is {}",
                    schema::describe_value(v)
                )),
            ));
        }
    }
    let (key, value, effect) = (key.to_string(), value.to_string(), effect.to_string());
    if key.is_empty() || key.len() > 253 || key.contains(char::is_whitespace) {
        return Err(fail(
            ctx,
            Problem::new(format!("`{key}` is not a valid taint key")),
        ));
    }
    if value.len() > 63 {
        return Err(fail(
            ctx,
            Problem::new("a taint value is at most 63 characters"),
        ));
    }
    if !EFFECTS.contains(&effect.as_str()) {
        let hint = match names::suggest(&effect, EFFECTS.iter().copied()) {
            Some(s) => format!("did you mean \"{s}\"?"),
            None => "use \"NoSchedule\", \"PreferNoSchedule\" or \"NoExecute\"".into(),
        };
        return Err(fail(
            ctx,
            Problem::new(format!("`{effect}` is not a taint effect")).hint(hint),
        ));
    }
    Ok(Taint { key, value, effect })
}

fn fargate_profile(
    state: &Shared,
    ctx: &NativeCallContext,
    c: &Address,
    name: &Dynamic,
    opts: &Dynamic,
) -> Fallible<FargateProfile> {
    let name = name_arg(ctx, "fargate_profile", name)?;
    let map = opts_arg(ctx, "fargate_profile", opts, FARGATE_PROFILE)?;
    let o = Opts(&map);
    check_name(ctx, fargate_profile::KIND, &name)?;
    check_tags(ctx, o.get("tags"))?;
    let selectors = o.list("selectors");
    if selectors.is_empty() || selectors.len() > 5 {
        return Err(fail(
            ctx,
            Problem::new(format!(
                "a Fargate profile takes 1 to 5 selectors, not {}",
                selectors.len()
            )),
        ));
    }
    let info = cluster_info(state, ctx, c)?;
    let subnets: Vec<Address> = if o.has("subnets") {
        o.addresses("subnets")
    } else {
        let st = state.borrow();
        info.subnets
            .iter()
            .filter(|s| {
                st.graph
                    .get(s)
                    .and_then(|r| r.get("public"))
                    .and_then(Value::as_bool)
                    != Some(true)
            })
            .cloned()
            .collect()
    };
    if subnets.is_empty() {
        return Err(fail(
            ctx,
            Problem::new("a Fargate profile needs private subnets, and the cluster has none")
                .hint("pass subnets: [...] with private subnets"),
        ));
    }
    let role = match o.address("role") {
        Some(r) => r,
        None => shared_role(state, ctx, c, true)?,
    };
    let mut deps = Deps::default();
    deps.add(c);
    deps.add(&role);
    for s in &subnets {
        deps.add(s);
    }
    let selectors: Vec<Value> = selectors
        .iter()
        .map(|s| {
            let m = s
                .read_lock::<rhai::Map>()
                .map(|m| m.clone())
                .unwrap_or_default();
            let so = Opts(&m);
            let mut sel = Map::new();
            sel.insert(
                "namespace".into(),
                Value::str(so.str("namespace").unwrap_or_default()),
            );
            sel.insert(
                "labels".into(),
                so.get("labels")
                    .map(|l| deps.value(l))
                    .unwrap_or(Value::Map(Map::new())),
            );
            Value::Map(sel)
        })
        .collect();
    let mut spec = Map::new();
    spec.insert("cluster".into(), ref_to(c));
    spec.insert("name".into(), Value::str(&name));
    spec.insert("selectors".into(), Value::List(selectors));
    spec.insert(
        "subnets".into(),
        Value::List(subnets.iter().map(ref_to).collect()),
    );
    spec.insert("role".into(), ref_to(&role));
    if let Some(t) = state.borrow().tags(o.get("tags"), &mut deps) {
        spec.insert("tags".into(), t);
    }
    let addr = c.child(fargate_profile::KIND, &name);
    declare(state, ctx, addr.clone(), spec, deps)?;
    Ok(FargateProfile(addr))
}

pub(crate) fn irsa_role(
    state: &Shared,
    ctx: &NativeCallContext,
    c: &ClusterRef,
    name: &Dynamic,
    opts: &Dynamic,
) -> Fallible<IamRole> {
    let name = name_arg(ctx, "irsa_role", name)?;
    let map = opts_arg(ctx, "irsa_role", opts, IRSA_ROLE)?;
    let o = Opts(&map);
    check_tags(ctx, o.get("tags"))?;
    let trust = oidc_trust(state, ctx, c)?;
    let mut deps = Deps::default();
    for d in &trust.deps {
        deps.add(d);
    }
    let irsa = trust.entry(
        &o.str("namespace").unwrap_or_default(),
        &o.str("service_account").unwrap_or_default(),
    );
    let inline = inline_policies(&o, &mut deps);
    let tags = state.borrow().tags(o.get("tags"), &mut deps);
    let addr = declare_role(
        state,
        ctx,
        &name,
        RoleSpec {
            trust: ("irsa", irsa),
            managed: o.strs("managed_policies"),
            inline,
            tags,
            provider: c.resource.as_ref().and_then(|a| a.provider.clone()),
        },
        deps,
    )?;
    Ok(IamRole(addr))
}

/// The EKS name of a new node group or Fargate profile: the declared one,
/// or, while the old one of a replacement that makes the new one first
/// holds it (`holder` is the address the one of that name is tagged
/// with), the declared one with a random 4-hex suffix, within EKS's 63
/// characters. Identity is the address tag, so the plan reads either as
/// the declared resource. One of that name that is not this resource's is
/// refused.
pub fn free_name(
    what: &str,
    r: &crate::providers::Planned,
    declared: &str,
    holder: Option<Option<crate::model::Address>>,
) -> Result<String, crate::providers::ProviderError> {
    match holder {
        None => Ok(declared.to_string()),
        Some(Some(a)) if a == r.address => {
            let mut bytes = [0u8; 2];
            let _ = getrandom::getrandom(&mut bytes);
            let stem: String = declared.chars().take(58).collect();
            Ok(format!("{stem}-{}", hex::encode(bytes)))
        }
        Some(_) => Err(crate::providers::ProviderError::Spec(format!(
            "{what} {declared} exists and is not {}'s: rename it in the blueprint, or delete that one",
            r.address
        ))),
    }
}

/// `bp adopt` of an EKS resource: the ownership tags written on its ARN
/// (TagResource), found by a describe; `what` names it when it is not there.
pub async fn tag_found(
    cloud: &Cloud,
    arn: Option<&str>,
    what: &str,
    tags: &[(String, String)],
) -> Result<(), ProviderError> {
    let arn = arn.ok_or_else(|| ProviderError::Spec(format!("no {what}")))?;
    cloud
        .eks()
        .tag_resource()
        .resource_arn(arn)
        .set_tags(Some(tags.iter().cloned().collect()))
        .send()
        .await
        .map(|_| ())
        .map_err(ProviderError::api("TagResource"))
}

/// A cluster child's adopt id, `cluster/name`.
pub fn child_id<'a>(what: &str, id: &'a str) -> Result<(&'a str, &'a str), ProviderError> {
    id.split_once('/').ok_or_else(|| {
        ProviderError::Spec(format!("a {what} is adopted by `cluster/name`, not `{id}`"))
    })
}
