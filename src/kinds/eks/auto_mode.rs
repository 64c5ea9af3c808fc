//! EKS Auto Mode: `cluster(..., #{ auto_mode: #{ node_pools?, node_role?
//! } })`. EKS then runs the cluster's compute (its own Karpenter, with the
//! built-in node pools `general-purpose` and `system`), block storage and
//! load balancing, which the API turns on and off together: Blueprint
//! always sends the three. Without `node_role`, a role `<cluster>-auto-nodes`
//! is declared (EC2 trust, AmazonEKSWorkerNodeMinimalPolicy and
//! AmazonEC2ContainerRegistryPullOnly); a cluster role Blueprint declares
//! gains the Auto Mode policies and `sts:TagSession`. `#{ enabled: false }`
//! turns it off, in place, as turning it on is. Compared only where
//! declared. Managed node groups may run beside it, as AWS allows.

use crate::kinds::iam::{declare_role, service_trust, RoleSpec, AWS_POLICY};
use crate::model::{Address, Map, Problem, Value};
use crate::providers::{Planned, ProviderError};
use crate::script::schema::{def, opt, Opt, Ty};
use crate::script::state::{fail, Deps, Fallible, Opts, Shared};
use aws_sdk_eks::types::{
    BlockStorage, ComputeConfigRequest, ElasticLoadBalancing, KubernetesNetworkConfigRequest,
    StorageConfigRequest,
};
use rhai::NativeCallContext;

/// The node pools EKS builds in.
pub const POOLS: &[&str] = &["general-purpose", "system"];

pub const OPTIONS: &[Opt] = &[
    def(
        "enabled",
        Ty::Bool,
        "true",
        "false turns Auto Mode off (in place)",
    ),
    def(
        "node_pools",
        Ty::EnumList(POOLS),
        "[\"general-purpose\", \"system\"]",
        "EKS's built-in node pools to run; none: only the node pools of your own",
    ),
    opt(
        "node_role",
        Ty::Handle(crate::kinds::iam::role::KIND),
        "the nodes' role; a role \"<cluster>-auto-nodes\" is declared when absent",
    ),
];

/// The policies the cluster role needs beside AmazonEKSClusterPolicy.
pub const CLUSTER_POLICIES: &[&str] = &[
    "AmazonEKSComputePolicy",
    "AmazonEKSBlockStoragePolicy",
    "AmazonEKSLoadBalancingPolicy",
    "AmazonEKSNetworkingPolicy",
];

/// The trust of a cluster role for Auto Mode: EKS also tags its sessions.
pub fn cluster_trust() -> Value {
    let mut trust = service_trust(&["eks.amazonaws.com".into()]);
    if let Some(Value::List(statements)) = trust.as_map().and_then(|m| m.get("Statement")).cloned()
    {
        let statements: Vec<Value> = statements
            .into_iter()
            .map(|mut s| {
                if let Value::Map(m) = &mut s {
                    m.insert(
                        "Action".into(),
                        Value::List(vec![
                            Value::str("sts:AssumeRole"),
                            Value::str("sts:TagSession"),
                        ]),
                    );
                }
                s
            })
            .collect();
        if let Value::Map(m) = &mut trust {
            m.insert("Statement".into(), Value::List(statements));
        }
    }
    trust
}

/// The `auto_mode` spec of cluster `name` from its option, declaring the
/// node role when absent; `version` and `mode` are the cluster's, checked
/// against what Auto Mode needs.
pub fn spec(
    state: &Shared,
    ctx: &NativeCallContext,
    cluster: &Address,
    opt: &rhai::Map,
    (version, mode): (&str, Option<&str>),
    deps: &mut Deps,
    tags: Option<Value>,
) -> Fallible<Value> {
    let name = &cluster.name;
    let o = Opts(opt);
    let enabled = o.bool_or("enabled", true);
    if !enabled {
        return Ok(off());
    }
    let minor = version
        .split_once('.')
        .and_then(|(a, b)| Some((a.parse::<u32>().ok()?, b.parse::<u32>().ok()?)));
    if minor.is_some_and(|v| v < (1, 29)) {
        return Err(fail(
            ctx,
            Problem::new(format!(
                "EKS Auto Mode needs Kubernetes 1.29 or later, and cluster {name} is {version}"
            ))
            .hint("declare version: \"1.29\" or later"),
        ));
    }
    if mode == Some("CONFIG_MAP") {
        return Err(fail(
            ctx,
            Problem::new(format!(
                "EKS Auto Mode needs access entries, and cluster {name} uses authentication_mode CONFIG_MAP"
            ))
            .hint("declare authentication_mode: \"API_AND_CONFIG_MAP\" or \"API\""),
        ));
    }
    let pools = if o.has("node_pools") {
        o.strs("node_pools")
    } else {
        POOLS.iter().map(|p| p.to_string()).collect()
    };
    let role = match o.address("node_role") {
        Some(r) => Value::Ref(crate::model::Ref {
            address: r,
            attr: "arn".into(),
        }),
        // EKS needs a node role only for its built-in pools.
        None if pools.is_empty() => Value::Null,
        None => {
            let r = declare_role(
                state,
                ctx,
                &format!("{name}-auto-nodes"),
                RoleSpec {
                    trust: ("trust_policy", service_trust(&["ec2.amazonaws.com".into()])),
                    managed: vec![
                        format!("{AWS_POLICY}AmazonEKSWorkerNodeMinimalPolicy"),
                        format!("{AWS_POLICY}AmazonEC2ContainerRegistryPullOnly"),
                    ],
                    inline: Map::new(),
                    tags,
                    provider: cluster.provider.clone(),
                },
                Deps::default(),
            )?;
            Value::Ref(crate::model::Ref {
                address: r,
                attr: "arn".into(),
            })
        }
    };
    if let Some(r) = role.as_ref().map(|r| r.address.clone()) {
        deps.add(&r);
    }
    Ok(Value::Map(Map::from([
        ("enabled".into(), Value::Bool(true)),
        (
            "node_pools".into(),
            Value::List(pools.iter().map(Value::str).collect()),
        ),
        ("node_role".into(), role),
    ])))
}

/// Auto Mode off, as declared and as read.
fn off() -> Value {
    Value::Map(Map::from([
        ("enabled".into(), Value::Bool(false)),
        ("node_pools".into(), Value::List(Vec::new())),
        ("node_role".into(), Value::Null),
    ]))
}

/// The cluster role Blueprint declares, for Auto Mode.
pub fn cluster_role(
    state: &Shared,
    ctx: &NativeCallContext,
    cluster: &Address,
    tags: Option<Value>,
) -> Fallible<Address> {
    let name = &cluster.name;
    let mut managed = vec![format!("{AWS_POLICY}AmazonEKSClusterPolicy")];
    managed.extend(CLUSTER_POLICIES.iter().map(|p| format!("{AWS_POLICY}{p}")));
    declare_role(
        state,
        ctx,
        &format!("{name}-cluster"),
        RoleSpec {
            trust: ("trust_policy", cluster_trust()),
            managed,
            inline: Map::new(),
            tags,
            provider: cluster.provider.clone(),
        },
        Deps::default(),
    )
}

/// What a cluster reads as: its compute configuration (storage and load
/// balancing go with it).
pub fn live(c: &aws_sdk_eks::types::Cluster) -> Value {
    match c.compute_config() {
        Some(cc) if cc.enabled() == Some(true) => {
            let mut pools: Vec<Value> = cc.node_pools().iter().map(Value::str).collect();
            pools.sort_by_key(|p| p.to_string());
            Value::Map(Map::from([
                ("enabled".into(), Value::Bool(true)),
                ("node_pools".into(), Value::List(pools)),
                (
                    "node_role".into(),
                    cc.node_role_arn().map_or(Value::Null, Value::str),
                ),
            ]))
        }
        _ => off(),
    }
}

/// The three configurations, as CreateCluster and UpdateClusterConfig take
/// them: all on, or all off.
pub fn requests(
    r: &Planned,
) -> Result<
    Option<(
        ComputeConfigRequest,
        StorageConfigRequest,
        KubernetesNetworkConfigRequest,
    )>,
    ProviderError,
> {
    let Some(a) = r.get("auto_mode")? else {
        return Ok(None);
    };
    let on = a.get("enabled").and_then(Value::as_bool) == Some(true);
    let pools: Vec<String> = a
        .get("node_pools")
        .and_then(Value::as_list)
        .unwrap_or_default()
        .iter()
        .filter_map(|p| p.as_str().map(String::from))
        .collect();
    let compute = ComputeConfigRequest::builder()
        .enabled(on)
        .set_node_pools(on.then_some(pools))
        .set_node_role_arn(
            a.get("node_role")
                .and_then(Value::as_str)
                .filter(|_| on)
                .map(String::from),
        )
        .build();
    let storage = StorageConfigRequest::builder()
        .block_storage(BlockStorage::builder().enabled(on).build())
        .build();
    let network = KubernetesNetworkConfigRequest::builder()
        .elastic_load_balancing(ElasticLoadBalancing::builder().enabled(on).build())
        .build();
    Ok(Some((compute, storage, network)))
}
