//! EKS Pod Identity: `c.pod_identity(namespace, service_account, role, #{
//! target_role?, session_tags?, tags? })` associates a Kubernetes service
//! account with an IAM role, which its pods get through the EKS Pod
//! Identity agent: no OIDC provider, no trust policy per cluster. The role
//! trusts `pods.eks.amazonaws.com` (`pod_identity_role(name, #{ ... })`
//! declares one). The first association of a cluster of the blueprint's
//! adds the `eks-pod-identity-agent` add-on unless the script declares it.
//! Also on `existing_cluster(name)`. The role, target role and session
//! tags change in place; the cluster, namespace and service account cannot.
//!
//! Associations an add-on owns (its `pod_identity` option) are the
//! add-on's, and read with it.

use super::cluster::{owned_tags, sync_tags, tag_map};
use super::Cluster;
use crate::cost::Pricing;
use crate::kinds::iam::{declare_role, inline_policies, IamRole, RoleSpec};
use crate::kinds::k8s::{ClusterRef, ExistingCluster};
use crate::kinds::{Field, KindDef, TAGS};
use crate::model::names::NameRule;
use crate::model::schema::Schema;
use crate::model::{Address, Kind, Live, Map, Problem, Value};
use crate::plan::{touches, FieldDiff};
use crate::providers::AwsResult as _;
use crate::providers::{Cloud, Planned, ProviderError, Row};
use crate::script::api::{name_arg, opts_arg};
use crate::script::schema::{def, opt, FnDoc, Opt, Ty, TAGS_OPT};
use crate::script::state::{check_tags, declare, fail, ref_to, Deps, Fallible, Opts, Shared};
use crate::{handle, ops};
use aws_sdk_eks::types::PodIdentityAssociation;
use rhai::{Dynamic, Engine, NativeCallContext};

crate::handle_type!(PodIdentity);

pub const KIND: Kind = Kind::of(&SCHEMA);

/// The service principal a Pod Identity role trusts.
pub const PRINCIPAL: &str = "pods.eks.amazonaws.com";

/// The add-on whose agent hands the pods their credentials.
pub const AGENT: &str = "eks-pod-identity-agent";

pub static SCHEMA: Schema = Schema::new("pod_identity", "PodIdentity", FIELDS)
    .attr("arn")
    .names(NameRule::chars(
        1,
        400,
        |c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '.' | '/'),
        "lowercase letters, digits, `-`, `.` and `/`",
    ));

/// The IAM actions of its operations (`bp permissions`).
pub const IAM: crate::permissions::Iam = crate::permissions::Iam::reads(&[
    "eks:ListPodIdentityAssociations",
    "eks:DescribePodIdentityAssociation",
])
.create(&["eks:CreatePodIdentityAssociation", "eks:TagResource"])
.update(&[
    "eks:UpdatePodIdentityAssociation",
    "eks:TagResource",
    "eks:UntagResource",
])
.delete(&["eks:DeletePodIdentityAssociation"])
.arns(&[
    "arn:aws:eks:{region}:{account}:cluster/{cluster}",
    "arn:aws:eks:{region}:{account}:podidentityassociation/{cluster}/*",
])
.tag_condition()
.passes_role();

pub static DEF: KindDef = KindDef::new(
    KIND,
    Pricing::Free,
    handle!(PodIdentity; FUNCTIONS, register; ["address", "arn"]),
    ops!(with super::cluster::KIND),
)
.iam(IAM);

const FIELDS: &[Field] = &[
    Field::new("cluster")
        .replaces("an association belongs to one cluster")
        .refers(),
    Field::new("namespace").replaces("an association is for one namespace"),
    Field::new("service_account").replaces("an association is for one service account"),
    Field::new("role").refers(),
    Field::new("target_role").refers(),
    Field::new("session_tags"),
    TAGS,
];

fn is_role(v: &Dynamic) -> bool {
    crate::script::handles::address_of(v).is_some_and(|a| a.kind == crate::kinds::iam::role::KIND)
        || v.clone()
            .into_string()
            .is_ok_and(|s| s.starts_with("arn:aws") && s.contains(":role/"))
}

const OPTIONS: &[Opt] = &[
    opt(
        "target_role",
        Ty::Check("an iam_role handle or a role ARN", is_role),
        "a role in another account that the pods' role then assumes (EKS chains the two)",
    ),
    def(
        "session_tags",
        Ty::Bool,
        "true",
        "whether EKS tags the pods' sessions (cluster, namespace, service account, pod), for ABAC",
    ),
    TAGS_OPT,
];

const ROLE_OPTIONS: &[Opt] = &[
    crate::kinds::iam::MANAGED_POLICIES_OPT,
    crate::kinds::iam::INLINE_POLICIES_OPT,
    TAGS_OPT,
    crate::script::api::providers::PROVIDER_OPT,
];

const FUNCTIONS: &[FnDoc] = &[
    FnDoc {
        name: "pod_identity",
        signature: "cluster.pod_identity(namespace, service_account, role, #{ target_role?, session_tags?, tags? }) -> PodIdentity",
        doc: "An EKS Pod Identity association: the service account's pods get the role (one trusting pods.eks.amazonaws.com, e.g. from pod_identity_role) through the Pod Identity agent, which the first association adds as an add-on unless the script declares it.",
        options: OPTIONS,
        method_of: Some("Cluster"),
    },
    FnDoc {
        name: "pod_identity_role",
        signature: "pod_identity_role(name, #{ managed_policies?, inline_policies?, tags? }) -> IamRole",
        doc: "An IAM role for EKS Pod Identity: it trusts pods.eks.amazonaws.com with sts:AssumeRole and sts:TagSession, in any cluster of the account.",
        options: ROLE_OPTIONS,
        method_of: None,
    },
];

/// The trust policy of a Pod Identity role.
pub fn trust() -> Value {
    let statement = Value::Map(Map::from([
        ("Effect".into(), Value::str("Allow")),
        (
            "Principal".into(),
            Value::Map(Map::from([("Service".into(), Value::str(PRINCIPAL))])),
        ),
        (
            "Action".into(),
            Value::List(vec![
                Value::str("sts:AssumeRole"),
                Value::str("sts:TagSession"),
            ]),
        ),
    ]));
    Value::Map(Map::from([
        ("Version".into(), Value::str("2012-10-17")),
        ("Statement".into(), Value::List(vec![statement])),
    ]))
}

/// Whether the role `a` trusts Pod Identity: `Some(true)` or `Some(false)`
/// for a role the blueprint declares, `None` for one it does not manage
/// (its trust is its own).
pub fn trusts_pods(state: &Shared, a: &Address) -> Option<bool> {
    let st = state.borrow();
    let r = st.graph.get(a)?;
    if r.is_existing() {
        return None;
    }
    Some(
        r.spec
            .get("trust_policy")
            .is_some_and(|t| t.to_json().to_string().contains(PRINCIPAL)),
    )
}

pub(crate) fn pod_identity_role(
    state: &Shared,
    ctx: &NativeCallContext,
    name: &Dynamic,
    opts: &Dynamic,
) -> Fallible<IamRole> {
    let name = name_arg(ctx, "pod_identity_role", name)?;
    let map = opts_arg(ctx, "pod_identity_role", opts, ROLE_OPTIONS)?;
    let o = Opts(&map);
    check_tags(ctx, o.get("tags"))?;
    let mut deps = Deps::default();
    let inline = inline_policies(&o, &mut deps);
    let tags = state.borrow().tags(o.get("tags"), &mut deps);
    let addr = declare_role(
        state,
        ctx,
        &name,
        RoleSpec {
            trust: ("trust_policy", trust()),
            managed: o.strs("managed_policies"),
            inline,
            tags,
            provider: crate::script::api::providers::alias(&map),
        },
        deps,
    )?;
    Ok(IamRole(addr))
}

/// A role option: a reference to a declared role's ARN (which must trust
/// Pod Identity when `pods`), or an ARN as given.
fn role_value(
    state: &Shared,
    ctx: &NativeCallContext,
    what: &str,
    v: &Dynamic,
    pods: bool,
    deps: &mut Deps,
) -> Fallible<Value> {
    if let Some(a) = crate::script::handles::address_of(v) {
        if pods && trusts_pods(state, &a) == Some(false) {
            let irsa = state
                .borrow()
                .graph
                .get(&a)
                .is_some_and(|r| r.spec.contains_key("irsa"));
            return Err(fail(
                ctx,
                Problem::new(format!(
                    "{what}: {a} does not trust {PRINCIPAL}{}",
                    if irsa {
                        " (it is an IRSA role, assumed through the cluster's OIDC provider)"
                    } else {
                        ""
                    }
                ))
                .hint("declare it with pod_identity_role(name, #{ ... }), or wire the service account by IRSA"),
            ));
        }
        deps.add(&a);
        return Ok(Value::Ref(crate::model::Ref {
            address: a,
            attr: "arn".into(),
        }));
    }
    match v.clone().into_string() {
        Ok(arn) if arn.starts_with("arn:aws") && arn.contains(":role/") => Ok(Value::Str(arn)),
        _ => Err(fail(
            ctx,
            Problem::new(format!(
                "{what} takes an iam_role handle or a role ARN, not {}",
                crate::script::schema::describe_value(v)
            ))
            .hint("e.g. pod_identity_role(\"app\", #{ ... }) or \"arn:aws:iam::123456789012:role/app\""),
        )),
    }
}

/// A Kubernetes name (namespace, service account) as EKS takes it.
fn check_k8s_name(ctx: &NativeCallContext, what: &str, name: &str) -> Fallible<()> {
    let ok = !name.is_empty()
        && name.len() <= 253
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '.'))
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric());
    if ok {
        return Ok(());
    }
    Err(fail(
        ctx,
        Problem::new(format!("`{name}` is not a Kubernetes {what} name")).hint(
            "lowercase letters, digits, `-` and `.`, starting and ending with a letter or digit",
        ),
    ))
}

/// Declares the association of `service_account` in `namespace` with
/// `role`; the service account's `via: "pod_identity"` comes here too.
pub fn associate(
    state: &Shared,
    ctx: &NativeCallContext,
    c: &ClusterRef,
    namespace: &str,
    service_account: &str,
    role: &Dynamic,
    map: &rhai::Map,
) -> Fallible<PodIdentity> {
    check_k8s_name(ctx, "namespace", namespace)?;
    check_k8s_name(ctx, "service account", service_account)?;
    let o = Opts(map);
    check_tags(ctx, o.get("tags"))?;
    let mut deps = Deps::default();
    let cluster = match &c.resource {
        Some(a) => {
            deps.add(a);
            ref_to(a)
        }
        None => Value::str(&c.name),
    };
    let role = role_value(state, ctx, "pod_identity", role, true, &mut deps)?;
    let target = match o.get("target_role") {
        Some(t) => role_value(state, ctx, "target_role", t, false, &mut deps)?,
        None => Value::Null,
    };
    if let Some(a) = &c.resource {
        deps.add(&agent(state, ctx, a)?);
    }
    let mut spec = Map::new();
    spec.insert("cluster".into(), cluster);
    spec.insert("namespace".into(), Value::str(namespace));
    spec.insert("service_account".into(), Value::str(service_account));
    spec.insert("role".into(), role);
    spec.insert("target_role".into(), target);
    spec.insert(
        "session_tags".into(),
        Value::Bool(o.bool_or("session_tags", true)),
    );
    if let Some(t) = state.borrow().tags(o.get("tags"), &mut deps) {
        spec.insert("tags".into(), t);
    }
    let addr = Address::new(KIND, format!("{}/{namespace}/{service_account}", c.name))
        .in_provider(c.resource.as_ref().and_then(|a| a.provider.clone()));
    declare(state, ctx, addr.clone(), spec, deps)?;
    Ok(PodIdentity(addr))
}

/// What marks the agent add-on as added by an association rather than
/// declared: a later `c.addon("eks-pod-identity-agent", ...)` takes it over.
pub struct AddedAgent;

/// The cluster's Pod Identity agent add-on: the declared one, or one added
/// now.
fn agent(state: &Shared, ctx: &NativeCallContext, cluster: &Address) -> Fallible<Address> {
    let addr = cluster.child(super::addon::KIND, AGENT);
    if state.borrow().graph.contains(&addr) {
        return Ok(addr);
    }
    super::addon::addon(
        state,
        ctx,
        cluster,
        &Dynamic::from(AGENT.to_string()),
        &Dynamic::from(rhai::Map::new()),
    )?;
    state.borrow_mut().facts.insert(
        (std::any::TypeId::of::<AddedAgent>(), addr.clone()),
        Box::new(AddedAgent),
    );
    Ok(addr)
}

fn register(engine: &mut Engine, state: &Shared) {
    PodIdentity::register_type(engine);
    engine.register_get("arn", |p: &mut PodIdentity| {
        crate::script::handles::Output::attr(&p.0, "arn", None)
    });
    let s = state.clone();
    engine.register_fn(
        "pod_identity_role",
        move |ctx: NativeCallContext, name: Dynamic, opts: Dynamic| {
            pod_identity_role(&s, &ctx, &name, &opts)
        },
    );
    let s = state.clone();
    engine.register_fn(
        "pod_identity_role",
        move |ctx: NativeCallContext, name: Dynamic| {
            pod_identity_role(&s, &ctx, &name, &Dynamic::from(rhai::Map::new()))
        },
    );
    fn call(
        state: &Shared,
        ctx: &NativeCallContext,
        c: ClusterRef,
        args: (Dynamic, Dynamic, Dynamic, Dynamic),
    ) -> Fallible<PodIdentity> {
        let (ns, sa, role, opts) = args;
        let ns = name_arg(ctx, "pod_identity", &ns)?;
        let sa = name_arg(ctx, "pod_identity", &sa)?;
        let map = opts_arg(ctx, "pod_identity", &opts, OPTIONS)?;
        associate(state, ctx, &c, &ns, &sa, &role, &map)
    }
    // On a cluster of the blueprint's and on `existing_cluster(name)`, with
    // options or without.
    macro_rules! on {
        ($ty:ty) => {
            let s = state.clone();
            engine.register_fn(
                "pod_identity",
                move |ctx: NativeCallContext,
                      c: &mut $ty,
                      ns: Dynamic,
                      sa: Dynamic,
                      role: Dynamic,
                      opts: Dynamic| {
                    let c = ClusterRef::of(&Dynamic::from(c.clone())).expect("a cluster");
                    call(&s, &ctx, c, (ns, sa, role, opts))
                },
            );
            let s = state.clone();
            engine.register_fn(
                "pod_identity",
                move |ctx: NativeCallContext,
                      c: &mut $ty,
                      ns: Dynamic,
                      sa: Dynamic,
                      role: Dynamic| {
                    let c = ClusterRef::of(&Dynamic::from(c.clone())).expect("a cluster");
                    call(&s, &ctx, c, (ns, sa, role, Dynamic::from(rhai::Map::new())))
                },
            );
        };
    }
    on!(Cluster);
    on!(ExistingCluster);
}

// Live state ------------------------------------------------------------------

async fn describe(
    cloud: &Cloud,
    cluster: &str,
    id: &str,
) -> Result<Option<PodIdentityAssociation>, ProviderError> {
    describe_in_cluster!(
        cloud,
        cluster,
        describe_pod_identity_association,
        association_id(id),
        "DescribePodIdentityAssociation",
        association
    )
}

fn live_of(cloud: &Cloud, p: &PodIdentityAssociation) -> Option<Live> {
    if p.owner_arn().is_some() {
        return None; // an add-on's
    }
    let (address, tags) = owned_tags(cloud, p.tags())?;
    let cluster = p.cluster_name()?;
    let id = p.association_id()?;
    let mut l = Live::new(address, format!("{cluster}|{id}"))
        .attr("cluster", Value::str(cluster))
        .attr("namespace", Value::str(p.namespace().unwrap_or_default()))
        .attr(
            "service_account",
            Value::str(p.service_account().unwrap_or_default()),
        )
        .attr("role", Value::str(p.role_arn().unwrap_or_default()))
        .attr(
            "target_role",
            p.target_role_arn().map_or(Value::Null, Value::str),
        )
        .attr(
            "session_tags",
            Value::Bool(!p.disable_session_tags().unwrap_or(false)),
        )
        .output("arn", p.association_arn().unwrap_or_default())
        .output("id", id);
    if !tags.is_empty() {
        l.attrs.insert("tags".into(), Value::Map(tags));
    }
    Some(l)
}

/// The associations of these clusters, (cluster, id), those of add-ons
/// left out: one paginated list per cluster.
async fn ids(cloud: &Cloud, clusters: &[String]) -> Result<Vec<(String, String)>, ProviderError> {
    crate::providers::aws::per_cluster(clusters, |c| async move {
        let out = cloud
            .eks()
            .list_pod_identity_associations()
            .cluster_name(c)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(ProviderError::api("ListPodIdentityAssociations"));
        match out {
            // An existing cluster the blueprint names may be gone.
            Err(e) if e.is_not_found() => Ok(Vec::new()),
            Ok(found) => Ok(found
                .into_iter()
                .filter(|a| a.owner_arn().is_none())
                .filter_map(|a| a.association_id().map(String::from))
                .collect()),
            Err(e) => Err(e),
        }
    })
    .await
}

/// The associations of the owned clusters and of the clusters of others
/// the blueprint declares them in: one list per cluster, then each
/// association's description (which carries its tags).
pub async fn read(cloud: &Cloud, clusters: &[String]) -> Result<Vec<Live>, ProviderError> {
    let pairs = ids(cloud, clusters).await?;
    let described =
        futures::future::join_all(pairs.iter().map(|(c, id)| describe(cloud, c, id))).await;
    let mut out = Vec::new();
    for d in described {
        if let Some(p) = d? {
            out.extend(live_of(cloud, &p));
        }
    }
    Ok(out)
}

fn arn_of(r: &Planned, field: &str) -> Result<Option<String>, ProviderError> {
    Ok(r.get(field)?.and_then(Value::as_str).map(String::from))
}

async fn settled(
    cloud: &Cloud,
    r: &Planned,
    cluster: &str,
    id: &str,
) -> Result<Live, ProviderError> {
    let p = describe(cloud, cluster, id).await?.ok_or_else(|| {
        ProviderError::Unexpected(format!("{}: the association is gone", r.address))
    })?;
    live_of(cloud, &p).ok_or_else(|| {
        ProviderError::Unexpected(format!("{}: the association lost its tags", r.address))
    })
}

/// The association of the service account that exists, if any: (its id,
/// whether it is this resource's).
async fn existing(
    cloud: &Cloud,
    r: &Planned,
    cluster: &str,
) -> Result<Option<(String, bool)>, ProviderError> {
    let out = cloud
        .eks()
        .list_pod_identity_associations()
        .cluster_name(cluster)
        .namespace(r.str("namespace")?)
        .service_account(r.str("service_account")?)
        .send()
        .await
        .map_err(ProviderError::api("ListPodIdentityAssociations"))?;
    let Some(id) = out
        .associations()
        .first()
        .and_then(|a| a.association_id().map(String::from))
    else {
        return Ok(None);
    };
    let mine = describe(cloud, cluster, &id)
        .await?
        .and_then(|p| owned_tags(cloud, p.tags()))
        .is_some_and(|(a, _)| a == r.address);
    Ok(Some((id, mine)))
}

pub async fn create(cloud: &Cloud, r: &Planned) -> Result<Live, ProviderError> {
    let cluster = r.str("cluster")?;
    let id = match existing(cloud, r, cluster).await? {
        // Made by an interrupted apply: brought to the declaration.
        Some((id, true)) => {
            update_association(cloud, r, cluster, &id).await?;
            id
        }
        Some((id, false)) => {
            return Err(ProviderError::Unsupported(format!(
                "{}: service account {}/{} of cluster {cluster} has an association ({id}) that is not this blueprint's; delete it, or give the service account another name",
                r.address,
                r.str("namespace")?,
                r.str("service_account")?
            )))
        }
        None => cloud
            .eks()
            .create_pod_identity_association()
            .cluster_name(cluster)
            .namespace(r.str("namespace")?)
            .service_account(r.str("service_account")?)
            .role_arn(r.str("role")?)
            .set_target_role_arn(arn_of(r, "target_role")?)
            .disable_session_tags(!r.bool("session_tags")?)
            .client_request_token(cloud.client_token(&r.address))
            .set_tags(Some(tag_map(cloud, r)))
            .send()
            .await
            .map_err(ProviderError::api("CreatePodIdentityAssociation"))?
            .association()
            .and_then(|a| a.association_id().map(String::from))
            .ok_or_else(|| {
                ProviderError::Unexpected(format!("{}: EKS returned no association", r.address))
            })?,
    };
    settled(cloud, r, cluster, &id).await
}

async fn update_association(
    cloud: &Cloud,
    r: &Planned,
    cluster: &str,
    id: &str,
) -> Result<(), ProviderError> {
    cloud
        .eks()
        .update_pod_identity_association()
        .cluster_name(cluster)
        .association_id(id)
        .role_arn(r.str("role")?)
        // An empty target role takes it away.
        .target_role_arn(arn_of(r, "target_role")?.unwrap_or_default())
        .disable_session_tags(!r.bool("session_tags")?)
        .send()
        .await
        .done("UpdatePodIdentityAssociation")
}

pub async fn update(
    cloud: &Cloud,
    r: &Planned,
    live: &Live,
    fields: &[FieldDiff],
) -> Result<Live, ProviderError> {
    let cluster = r.str("cluster")?;
    let id = live.outputs.get("id").cloned().unwrap_or_default();
    if touches(fields, "role") || touches(fields, "target_role") || touches(fields, "session_tags")
    {
        update_association(cloud, r, cluster, &id).await?;
    }
    if touches(fields, "tags") {
        let arn = live.outputs.get("arn").cloned().unwrap_or_default();
        sync_tags(cloud, &arn, r, live).await?;
    }
    settled(cloud, r, cluster, &id).await
}

pub async fn delete(cloud: &Cloud, live: &Live) -> Result<(), ProviderError> {
    let (cluster, id) = live
        .id
        .split_once('|')
        .ok_or_else(|| ProviderError::Unexpected(format!("bad association id {}", live.id)))?;
    cloud
        .eks()
        .delete_pod_identity_association()
        .cluster_name(cluster)
        .association_id(id)
        .send()
        .await
        .gone("DeletePodIdentityAssociation")
}

/// The associations of every cluster in the region, for `:live`.
pub async fn list(cloud: &Cloud) -> Result<Vec<Row>, ProviderError> {
    super::rows_per_cluster(cloud, |c| async move {
        let out = cloud
            .eks()
            .list_pod_identity_associations()
            .cluster_name(&c)
            .send()
            .await
            .ok()?;
        let row = |a: &aws_sdk_eks::types::PodIdentityAssociationSummary| {
            let sa = format!(
                "{}/{}",
                a.namespace().unwrap_or_default(),
                a.service_account().unwrap_or_default()
            );
            let id = format!("{c}|{}", a.association_id().unwrap_or_default());
            Row::new(id, sa, format!("cluster {c}"))
        };
        Some(out.associations().iter().map(row).collect())
    })
    .await
}
