//! EKS access entries: `c.access_entry(principal, #{ policies: [#{ policy,
//! scope }], kubernetes_groups?, type? })` grants an IAM role or user
//! access to the cluster's Kubernetes API, the successor of the aws-auth
//! ConfigMap. The cluster's `authentication_mode` must allow them (API or
//! API_AND_CONFIG_MAP). Groups and access policies change in place; the
//! principal and type cannot.

use super::cluster::{owned_tags, sync_tags, tag_map};
use super::Cluster;
use crate::cost::Pricing;
use crate::kinds::k8s::{ClusterRef, ExistingCluster};
use crate::kinds::{Diff, Field, KindDef, TAGS};
use crate::model::names::NameRule;
use crate::model::schema::Schema;
use crate::model::{Address, Kind, Live, Map, Problem, Value};
use crate::plan::{touches, FieldDiff};
use crate::providers::AwsResult as _;
use crate::providers::{Cloud, Planned, ProviderError, Row};
use crate::script::schema::{def, opt, req, FnDoc, Opt, Ty, TAGS_OPT};
use crate::script::state::{check_tags, declare, fail, ref_to, Deps, Fallible, Opts, Shared};
use crate::{handle, ops};
use aws_sdk_eks::types::{AccessEntry, AccessScope, AccessScopeType};
use rhai::{Dynamic, Engine, NativeCallContext};

crate::handle_type!(AccessEntryHandle);

pub const KIND: Kind = Kind::of(&SCHEMA);

/// Where EKS's access policies live.
pub const POLICY_PREFIX: &str = "arn:aws:eks::aws:cluster-access-policy/";

const TYPES: &[&str] = &["STANDARD", "EC2_LINUX", "EC2_WINDOWS", "FARGATE_LINUX"];

fn is_scope(v: &Dynamic) -> bool {
    v.clone().into_string().is_ok_and(|s| s == "cluster")
        || v.read_lock::<rhai::Array>()
            .is_some_and(|a| !a.is_empty() && a.iter().all(|n| n.is_string()))
}

const POLICY: &[Opt] = &[
    req(
        "policy",
        Ty::Str,
        "an EKS access policy: its name (\"AmazonEKSClusterAdminPolicy\") or ARN",
    ),
    def(
        "scope",
        Ty::Check("\"cluster\" or a list of namespaces", is_scope),
        "\"cluster\"",
        "\"cluster\", or the namespaces it applies in",
    ),
];

fn is_principal(v: &Dynamic) -> bool {
    crate::script::handles::address_of(v).is_some_and(|a| a.kind == crate::kinds::iam::role::KIND)
        || v.clone().into_string().is_ok_and(|s| s.starts_with("arn:"))
}

pub const OPTIONS: &[Opt] = &[
    opt(
        "policies",
        Ty::NestedList(POLICY),
        "access policies to associate: #{ policy, scope }",
    ),
    opt(
        "kubernetes_groups",
        Ty::StrList,
        "Kubernetes groups the principal is in (for RBAC bindings of your own)",
    ),
    def(
        "type",
        Ty::Enum(TYPES),
        "\"STANDARD\"",
        "STANDARD for people and tools; EC2_LINUX and the others for nodes",
    ),
    TAGS_OPT,
];

pub const DOC: FnDoc = FnDoc {
    name: "access_entry",
    signature: "cluster.access_entry(principal, #{ policies?: [#{ policy, scope? }], kubernetes_groups?, type?, tags? }) -> AccessEntry",
    doc: "An EKS access entry: an IAM role (handle) or principal ARN allowed into the cluster's Kubernetes API, with access policies.",
    options: OPTIONS,
    method_of: Some("Cluster"),
};

pub static SCHEMA: Schema = Schema::new("access_entry", "AccessEntry", FIELDS)
    .attr("arn")
    .names(NameRule::chars(1, 512, |c| c != ' ', "no spaces"));

/// The IAM actions of its operations (`bp permissions`).
pub const IAM: crate::permissions::Iam = crate::permissions::Iam::reads(&[
    "eks:ListAccessEntries",
    "eks:DescribeAccessEntry",
    "eks:ListAssociatedAccessPolicies",
])
.create(&[
    "eks:CreateAccessEntry",
    "eks:UpdateAccessEntry",
    "eks:AssociateAccessPolicy",
    "eks:TagResource",
])
.update(&[
    "eks:UpdateAccessEntry",
    "eks:AssociateAccessPolicy",
    "eks:DisassociateAccessPolicy",
    "eks:TagResource",
    "eks:UntagResource",
])
.delete(&["eks:DeleteAccessEntry"])
.arns(&[
    "arn:aws:eks:{region}:{account}:cluster/{cluster}",
    "arn:aws:eks:{region}:{account}:access-entry/{cluster}/*",
])
.tag_condition();

pub static DEF: KindDef = KindDef::new(
    KIND,
    Pricing::Free,
    handle!(AccessEntryHandle; &[DOC], register; ["address"]),
    ops!(with super::cluster::KIND),
)
.iam(IAM);

const FIELDS: &[Field] = &[
    Field::new("cluster")
        .replaces("an access entry belongs to one cluster")
        .refers(),
    Field::new("principal")
        .replaces("an access entry is for one principal")
        .refers(),
    Field::new("type").replaces("an access entry's type cannot change"),
    Field::new("kubernetes_groups").set(),
    Field::new("policies").diff(Diff::ListByKey("policy")),
    TAGS,
];

/// An access policy's full ARN.
fn policy_arn(p: &str) -> String {
    if p.starts_with("arn:") {
        p.to_string()
    } else {
        format!("{POLICY_PREFIX}{p}")
    }
}

pub(crate) fn access_entry(
    state: &Shared,
    ctx: &NativeCallContext,
    c: &ClusterRef,
    principal: &Dynamic,
    opts: &Dynamic,
) -> Fallible<AccessEntryHandle> {
    if !is_principal(principal) {
        return Err(fail(
            ctx,
            Problem::new("access_entry takes an iam_role handle or a principal ARN")
                .hint("e.g. c.access_entry(admin_role, ...) or c.access_entry(\"arn:aws:iam::123456789012:role/admin\", ...)"),
        ));
    }
    let map = crate::script::api::opts_arg(ctx, "access_entry", opts, OPTIONS)?;
    let o = Opts(&map);
    check_tags(ctx, o.get("tags"))?;
    let mode = c.resource.as_ref().and_then(|a| {
        state
            .borrow()
            .graph
            .get(a)
            .and_then(|r| r.str("authentication_mode").map(String::from))
    });
    if mode.as_deref() == Some("CONFIG_MAP") {
        return Err(fail(
            ctx,
            Problem::new(format!(
                "cluster {} uses authentication_mode CONFIG_MAP, which has no access entries",
                c.name
            ))
            .hint(
                "declare the cluster with authentication_mode: \"API_AND_CONFIG_MAP\" or \"API\"",
            ),
        ));
    }
    let mut deps = Deps::default();
    // A cluster of this blueprint's is waited for; an existing one is
    // named as it is.
    let cluster = match &c.resource {
        Some(a) => {
            deps.add(a);
            ref_to(a)
        }
        None => Value::str(&c.name),
    };
    // Named after the principal: `<cluster>/role/<name>` for a role.
    let (principal_value, key) = match crate::script::handles::address_of(principal) {
        Some(role) => {
            let name = state
                .borrow()
                .graph
                .get(&role)
                .and_then(|r| r.str("name").map(String::from))
                .unwrap_or_else(|| role.name.clone());
            deps.add(&role);
            (
                Value::Ref(crate::model::Ref {
                    address: role,
                    attr: "arn".into(),
                }),
                format!("role/{name}"),
            )
        }
        None => {
            let arn = principal.to_string();
            let key = arn.splitn(6, ':').nth(5).unwrap_or(&arn).to_string();
            (Value::Str(arn), key)
        }
    };
    let mut policies = Vec::new();
    for p in o.list("policies") {
        let Some(m) = p.read_lock::<rhai::Map>().map(|m| m.clone()) else {
            continue;
        };
        let po = Opts(&m);
        let arn = policy_arn(&po.str("policy").unwrap_or_default());
        if !arn.starts_with(POLICY_PREFIX) {
            return Err(fail(
                ctx,
                Problem::new(format!("`{arn}` is not an EKS access policy"))
                    .hint("e.g. \"AmazonEKSClusterAdminPolicy\", \"AmazonEKSAdminPolicy\", \"AmazonEKSEditPolicy\", \"AmazonEKSViewPolicy\""),
            ));
        }
        let scope = match po.get("scope") {
            Some(s) if s.is_array() => {
                Value::List(po.strs("scope").iter().map(Value::str).collect())
            }
            _ => Value::str("cluster"),
        };
        policies.push(Value::Map(Map::from([
            ("policy".into(), Value::Str(arn)),
            ("scope".into(), scope),
        ])));
    }
    let mut spec = Map::new();
    spec.insert("cluster".into(), cluster);
    spec.insert("principal".into(), principal_value);
    spec.insert(
        "type".into(),
        Value::str(o.str("type").unwrap_or_else(|| "STANDARD".into())),
    );
    // EKS sets the groups of node entries itself (system:nodes).
    let kind = o.str("type").unwrap_or_else(|| "STANDARD".into());
    if kind == "STANDARD" || o.has("kubernetes_groups") {
        let mut groups = o.strs("kubernetes_groups");
        groups.sort();
        spec.insert(
            "kubernetes_groups".into(),
            Value::List(groups.iter().map(Value::str).collect()),
        );
    }
    spec.insert("policies".into(), Value::List(policies));
    if let Some(t) = state.borrow().tags(o.get("tags"), &mut deps) {
        spec.insert("tags".into(), t);
    }
    let addr = Address::new(KIND, format!("{}/{key}", c.name))
        .in_provider(c.resource.as_ref().and_then(|a| a.provider.clone()));
    declare(state, ctx, addr.clone(), spec, deps)?;
    Ok(AccessEntryHandle(addr))
}

fn register(engine: &mut Engine, state: &Shared) {
    AccessEntryHandle::register_type(engine);
    let s = state.clone();
    engine.register_fn(
        "access_entry",
        move |ctx: NativeCallContext, c: &mut Cluster, principal: Dynamic, opts: Dynamic| {
            let c = ClusterRef {
                name: c.0.name.clone(),
                resource: Some(c.0.clone()),
            };
            access_entry(&s, &ctx, &c, &principal, &opts)
        },
    );
    let s = state.clone();
    engine.register_fn(
        "access_entry",
        move |ctx: NativeCallContext,
              c: &mut ExistingCluster,
              principal: Dynamic,
              opts: Dynamic| {
            let c = ClusterRef {
                name: c.0.clone(),
                resource: None,
            };
            access_entry(&s, &ctx, &c, &principal, &opts)
        },
    );
}

// Live state ------------------------------------------------------------------

async fn describe(
    cloud: &Cloud,
    cluster: &str,
    principal: &str,
) -> Result<Option<AccessEntry>, ProviderError> {
    describe_in_cluster!(
        cloud,
        cluster,
        describe_access_entry,
        principal_arn(principal),
        "DescribeAccessEntry",
        access_entry
    )
}

async fn policies(
    cloud: &Cloud,
    cluster: &str,
    principal: &str,
) -> Result<Vec<Value>, ProviderError> {
    let out = cloud
        .eks()
        .list_associated_access_policies()
        .cluster_name(cluster)
        .principal_arn(principal)
        .send()
        .await
        .map_err(ProviderError::api("ListAssociatedAccessPolicies"))?;
    Ok(out
        .associated_access_policies()
        .iter()
        .map(|p| {
            let scope = p.access_scope();
            let scope = match scope.and_then(|s| s.r#type()) {
                Some(AccessScopeType::Namespace) => Value::List(
                    scope
                        .map(|s| s.namespaces().iter().map(Value::str).collect())
                        .unwrap_or_default(),
                ),
                _ => Value::str("cluster"),
            };
            Value::Map(Map::from([
                (
                    "policy".into(),
                    Value::str(p.policy_arn().unwrap_or_default()),
                ),
                ("scope".into(), scope),
            ]))
        })
        .collect())
}

fn live_of(cloud: &Cloud, e: &AccessEntry, policies: Vec<Value>) -> Option<Live> {
    let (address, tags) = owned_tags(cloud, e.tags())?;
    let cluster = e.cluster_name()?;
    let principal = e.principal_arn()?;
    let mut groups: Vec<String> = e.kubernetes_groups().to_vec();
    groups.sort();
    let mut l = Live::new(address, format!("{cluster}|{principal}"))
        .attr("cluster", Value::str(cluster))
        .attr("principal", Value::str(principal))
        .attr("type", Value::str(e.r#type().unwrap_or("STANDARD")))
        .attr(
            "kubernetes_groups",
            Value::List(groups.iter().map(Value::str).collect()),
        )
        .attr("policies", Value::List(policies))
        .output("arn", e.access_entry_arn().unwrap_or_default());
    if !tags.is_empty() {
        l.attrs.insert("tags".into(), Value::Map(tags));
    }
    Some(l)
}

/// The access entries of the owned clusters: one list per cluster (none
/// where the cluster's mode has no entries), then each entry and its
/// policies.
pub async fn read(cloud: &Cloud, clusters: &[String]) -> Result<Vec<Live>, ProviderError> {
    let pairs = crate::providers::aws::per_cluster(clusters, |c| async move {
        let out = cloud
            .eks()
            .list_access_entries()
            .cluster_name(c)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(ProviderError::api("ListAccessEntries"));
        match out {
            // CONFIG_MAP clusters answer that they have no entries; an
            // existing cluster the blueprint names may be gone.
            Err(e) if e.code() == Some("InvalidRequestException") || e.is_not_found() => {
                Ok(Vec::new())
            }
            other => other,
        }
    })
    .await?;
    let described = futures::future::join_all(pairs.iter().map(|(c, p)| async move {
        let Some(e) = describe(cloud, c, p).await? else {
            return Ok(None);
        };
        if owned_tags(cloud, e.tags()).is_none() {
            return Ok(None);
        }
        let pols = policies(cloud, c, p).await?;
        Ok::<_, ProviderError>(live_of(cloud, &e, pols))
    }))
    .await;
    let mut out = Vec::new();
    for d in described {
        out.extend(d?);
    }
    Ok(out)
}

fn scope(v: &Value) -> AccessScope {
    match v.as_list() {
        Some(ns) => AccessScope::builder()
            .r#type(AccessScopeType::Namespace)
            .set_namespaces(Some(
                ns.iter()
                    .filter_map(|n| n.as_str().map(String::from))
                    .collect(),
            ))
            .build(),
        None => AccessScope::builder()
            .r#type(AccessScopeType::Cluster)
            .build(),
    }
}

/// Associates the declared policies and disassociates the others.
async fn sync_policies(
    cloud: &Cloud,
    r: &Planned,
    cluster: &str,
    principal: &str,
    had: &[Value],
) -> Result<(), ProviderError> {
    let want = r
        .get("policies")?
        .and_then(Value::as_list)
        .unwrap_or_default();
    let key = |v: &Value| {
        v.get("policy")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    for p in want {
        if had.iter().any(|h| h == p) {
            continue;
        }
        cloud
            .eks()
            .associate_access_policy()
            .cluster_name(cluster)
            .principal_arn(principal)
            .policy_arn(key(p))
            .access_scope(scope(p.get("scope").unwrap_or(&Value::Null)))
            .send()
            .await
            .map_err(ProviderError::api("AssociateAccessPolicy"))?;
    }
    for h in had {
        if want.iter().any(|w| key(w) == key(h)) {
            continue;
        }
        cloud
            .eks()
            .disassociate_access_policy()
            .cluster_name(cluster)
            .principal_arn(principal)
            .policy_arn(key(h))
            .send()
            .await
            .map_err(ProviderError::api("DisassociateAccessPolicy"))?;
    }
    Ok(())
}

async fn settled(
    cloud: &Cloud,
    r: &Planned,
    cluster: &str,
    principal: &str,
) -> Result<Live, ProviderError> {
    let e = describe(cloud, cluster, principal).await?.ok_or_else(|| {
        ProviderError::Unexpected(format!("{}: the access entry is gone", r.address))
    })?;
    let pols = policies(cloud, cluster, principal).await?;
    live_of(cloud, &e, pols).ok_or_else(|| {
        ProviderError::Unexpected(format!("{}: the access entry lost its tags", r.address))
    })
}

pub async fn create(cloud: &Cloud, r: &Planned) -> Result<Live, ProviderError> {
    let cluster = r.str("cluster")?;
    let principal = r.str("principal")?;
    let had =
        if let Some(existing) = describe(cloud, cluster, principal).await? {
            // An entry made before (by EKS for the cluster's creator, by hand,
            // or by an interrupted apply) is taken over: tagged as the
            // blueprint's, its groups and policies brought to the declaration.
            cloud
                .eks()
                .tag_resource()
                .resource_arn(existing.access_entry_arn().unwrap_or_default())
                .set_tags(Some(tag_map(cloud, r)))
                .send()
                .await
                .map_err(ProviderError::api("TagResource"))?;
            if let Some(groups) = r.get("kubernetes_groups")?.and_then(Value::as_list) {
                cloud
                    .eks()
                    .update_access_entry()
                    .cluster_name(cluster)
                    .principal_arn(principal)
                    .set_kubernetes_groups(Some(
                        groups
                            .iter()
                            .filter_map(|g| g.as_str().map(String::from))
                            .collect(),
                    ))
                    .send()
                    .await
                    .map_err(ProviderError::api("UpdateAccessEntry"))?;
            }
            policies(cloud, cluster, principal).await?
        } else {
            cloud
                .eks()
                .create_access_entry()
                .cluster_name(cluster)
                .principal_arn(principal)
                .r#type(r.str("type")?)
                .set_kubernetes_groups(r.get("kubernetes_groups")?.and_then(Value::as_list).map(
                    |g| {
                        g.iter()
                            .filter_map(|x| x.as_str().map(String::from))
                            .collect()
                    },
                ))
                .client_request_token(cloud.client_token(&r.address))
                .set_tags(Some(tag_map(cloud, r)))
                .send()
                .await
                .map_err(ProviderError::api("CreateAccessEntry"))?;
            Vec::new()
        };
    sync_policies(cloud, r, cluster, principal, &had).await?;
    settled(cloud, r, cluster, principal).await
}

pub async fn update(
    cloud: &Cloud,
    r: &Planned,
    live: &Live,
    fields: &[FieldDiff],
) -> Result<Live, ProviderError> {
    let cluster = r.str("cluster")?;
    let principal = r.str("principal")?;
    if touches(fields, "kubernetes_groups") {
        cloud
            .eks()
            .update_access_entry()
            .cluster_name(cluster)
            .principal_arn(principal)
            .set_kubernetes_groups(Some(r.strs("kubernetes_groups")?))
            .send()
            .await
            .map_err(ProviderError::api("UpdateAccessEntry"))?;
    }
    if touches(fields, "policies") {
        let had = live
            .attrs
            .get("policies")
            .and_then(Value::as_list)
            .unwrap_or_default()
            .to_vec();
        sync_policies(cloud, r, cluster, principal, &had).await?;
    }
    if touches(fields, "tags") {
        let arn = live.outputs.get("arn").cloned().unwrap_or_default();
        sync_tags(cloud, &arn, r, live).await?;
    }
    settled(cloud, r, cluster, principal).await
}

pub async fn delete(cloud: &Cloud, live: &Live) -> Result<(), ProviderError> {
    let (cluster, principal) = live
        .id
        .split_once('|')
        .ok_or_else(|| ProviderError::Unexpected(format!("bad access entry id {}", live.id)))?;
    cloud
        .eks()
        .delete_access_entry()
        .cluster_name(cluster)
        .principal_arn(principal)
        .send()
        .await
        .gone("DeleteAccessEntry")
}

/// The access entries of every cluster in the region, for `:live`.
pub async fn list(cloud: &Cloud) -> Result<Vec<Row>, ProviderError> {
    super::rows_per_cluster(cloud, |c| async move {
        let out = cloud
            .eks()
            .list_access_entries()
            .cluster_name(&c)
            .send()
            .await
            .ok()?;
        let row = |p: &String| Row::new(format!("{c}|{p}"), p.clone(), format!("cluster {c}"));
        Some(out.access_entries().iter().map(row).collect())
    })
    .await
}
