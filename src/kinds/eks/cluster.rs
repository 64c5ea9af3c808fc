//! EKS clusters: created with a client token and waited for until ACTIVE;
//! logging and endpoint access update in place, the version is upgraded in
//! place (where the endpoint supports it).

use crate::cost::Pricing;
use crate::kinds::{Diff, Field, KindDef, TAGS};
use crate::model::names::{alnum_dash_underscore, NameRule};
use crate::model::schema::{Schema, Scope};
use crate::model::Kind;
use crate::model::{Live, Map, Value};
use crate::plan::{touches, FieldDiff};
use crate::providers::inventory::tag_owner;
use crate::providers::AwsResult as _;
use crate::providers::Row;
use crate::providers::{wait_for, Cloud, Planned, ProviderError};
use crate::{handle, ops};
use aws_sdk_eks::types::{
    Cluster, ClusterStatus, EncryptionConfig, LogSetup, LogType, Logging, Provider,
    VpcConfigRequest,
};
use std::collections::HashMap;

/// The owner's tags minus ownership; `None` when the cluster is not ours.
pub fn owned_tags(
    cloud: &Cloud,
    tags: Option<&HashMap<String, String>>,
) -> Option<(crate::model::Address, Map)> {
    let pairs = tags?.iter().map(|(k, v)| (k.as_str(), v.as_str()));
    let o = cloud.owned(pairs, crate::providers::NameTag::IsATag)?;
    Some((o.address, o.tags))
}

pub fn tag_map(cloud: &Cloud, r: &Planned) -> HashMap<String, String> {
    cloud.tags_for(&r.address, &r.spec).into_iter().collect()
}

fn strs(items: &[String]) -> Value {
    Value::List(items.iter().map(Value::str).collect())
}

fn live_of(cloud: &Cloud, c: &Cluster) -> Option<Live> {
    let (address, tags) = owned_tags(cloud, c.tags())?;
    let name = c.name()?;
    let vpc = c.resources_vpc_config();
    let logging: Vec<Value> = c
        .logging()
        .map(|l| l.cluster_logging())
        .unwrap_or_default()
        .iter()
        .filter(|s| s.enabled() == Some(true))
        .flat_map(|s| s.types().iter().map(|t| Value::str(t.as_str())))
        .collect();
    let key = c
        .encryption_config()
        .iter()
        .find_map(|e| e.provider().and_then(|p| p.key_arn()));
    let mut l = Live::new(address, name)
        .attr("name", Value::str(name))
        .attr("version", Value::str(c.version().unwrap_or_default()))
        .attr("role", Value::str(c.role_arn().unwrap_or_default()))
        .attr(
            "subnets",
            vpc.map(|v| strs(v.subnet_ids())).unwrap_or(Value::Null),
        )
        .attr(
            "security_groups",
            vpc.map(|v| strs(v.security_group_ids()))
                .unwrap_or(Value::Null),
        )
        .attr(
            "endpoint",
            Value::Map(Map::from([
                (
                    "public".into(),
                    Value::Bool(vpc.is_some_and(|v| v.endpoint_public_access())),
                ),
                (
                    "private".into(),
                    Value::Bool(vpc.is_some_and(|v| v.endpoint_private_access())),
                ),
                (
                    "public_cidrs".into(),
                    vpc.map(|v| strs(v.public_access_cidrs()))
                        .unwrap_or(Value::Null),
                ),
            ])),
        )
        .attr("logging", Value::List(logging))
        .attr("secrets_key", key.map(Value::str).unwrap_or(Value::Null))
        .attr("auto_mode", super::auto_mode::live(c))
        .attr(
            "authentication_mode",
            Value::str(
                c.access_config()
                    .and_then(|a| a.authentication_mode())
                    .map(|m| m.as_str())
                    .unwrap_or("CONFIG_MAP"),
            ),
        )
        .output("name", name)
        .output("arn", c.arn().unwrap_or_default())
        .output("endpoint", c.endpoint().unwrap_or_default())
        .output("version", c.version().unwrap_or_default())
        .output(
            "oidc_issuer",
            c.identity()
                .and_then(|i| i.oidc())
                .and_then(|o| o.issuer())
                .unwrap_or_default(),
        )
        .output(
            "security_group_id",
            vpc.and_then(|v| v.cluster_security_group_id())
                .unwrap_or_default(),
        )
        .output(
            "certificate_authority",
            c.certificate_authority()
                .and_then(|a| a.data())
                .unwrap_or_default(),
        );
    if !tags.is_empty() {
        l.attrs.insert("tags".into(), Value::Map(tags));
    }
    Some(l)
}

async fn describe(cloud: &Cloud, name: &str) -> Result<Option<Cluster>, ProviderError> {
    let out = cloud
        .eks()
        .describe_cluster()
        .name(name)
        .send()
        .await
        .map_err(ProviderError::api("DescribeCluster"));
    Ok(ProviderError::absent_ok(out)?.and_then(|o| o.cluster().cloned()))
}

pub async fn read(cloud: &Cloud) -> Result<Vec<Live>, ProviderError> {
    let names = all_names(cloud).await?;
    let described = futures::future::join_all(names.iter().map(|n| describe(cloud, n))).await;
    let mut out = Vec::new();
    for c in described {
        if let Some(c) = c? {
            if c.status() != Some(&ClusterStatus::Deleting) {
                out.extend(live_of(cloud, &c));
            }
        }
    }
    Ok(out)
}

fn logging(r: &Planned) -> Result<Logging, ProviderError> {
    let on = r.strs("logging")?;
    let all = [
        "api",
        "audit",
        "authenticator",
        "controllerManager",
        "scheduler",
    ];
    let enabled = LogSetup::builder()
        .set_types(Some(on.iter().map(|t| LogType::from(t.as_str())).collect()))
        .enabled(true)
        .build();
    let disabled = LogSetup::builder()
        .set_types(Some(
            all.iter()
                .filter(|t| !on.iter().any(|o| o == *t))
                .map(|t| LogType::from(*t))
                .collect(),
        ))
        .enabled(false)
        .build();
    Ok(Logging::builder()
        .cluster_logging(enabled)
        .cluster_logging(disabled)
        .build())
}

fn endpoint(r: &Planned) -> (bool, bool, Vec<String>) {
    let e = r.spec.get("endpoint");
    let flag = |k: &str| {
        e.and_then(|m| m.get(k))
            .and_then(Value::as_bool)
            .unwrap_or(false)
    };
    let cidrs = e
        .and_then(|m| m.get("public_cidrs"))
        .and_then(Value::as_list)
        .map(|l| {
            l.iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    (flag("public"), flag("private"), cidrs)
}

fn vpc_config(r: &Planned) -> Result<VpcConfigRequest, ProviderError> {
    let (public, private, cidrs) = endpoint(r);
    Ok(VpcConfigRequest::builder()
        .set_subnet_ids(Some(r.strs("subnets")?))
        .set_security_group_ids(Some(r.strs("security_groups")?))
        .endpoint_public_access(public)
        .endpoint_private_access(private)
        .set_public_access_cidrs(Some(cidrs))
        .build())
}

async fn wait_active(cloud: &Cloud, name: &str) -> Result<Live, ProviderError> {
    wait_for(
        cloud,
        &format!("cluster {name} to become ACTIVE"),
        || async {
            match describe(cloud, name).await? {
                Some(c) if c.status() == Some(&ClusterStatus::Active) => {
                    Ok(Some(live_of(cloud, &c).ok_or_else(|| {
                        ProviderError::Unexpected(format!("cluster {name} lost its tags"))
                    })?))
                }
                Some(c) if c.status() == Some(&ClusterStatus::Failed) => Err(
                    ProviderError::Unexpected(format!("cluster {name} failed to create")),
                ),
                _ => Ok(None),
            }
        },
    )
    .await
}

pub async fn create(cloud: &Cloud, r: &Planned) -> Result<Live, ProviderError> {
    let name = r.str("name")?;
    let vpc = vpc_config(r)?;
    let mut call = cloud
        .eks()
        .create_cluster()
        .name(name)
        .version(r.str("version")?)
        .role_arn(r.str("role")?)
        .resources_vpc_config(vpc)
        .logging(logging(r)?)
        .client_request_token(cloud.client_token(&r.address))
        .set_tags(Some(tag_map(cloud, r)));
    let mode = r
        .get("authentication_mode")?
        .and_then(Value::as_str)
        .unwrap_or("API_AND_CONFIG_MAP");
    call = call.access_config(
        aws_sdk_eks::types::CreateAccessConfigRequest::builder()
            .authentication_mode(mode.into())
            .build(),
    );
    if let Some(key) = r.spec.get("secrets_key").and_then(Value::as_str) {
        call = call.encryption_config(secrets_encryption(key));
    }
    if let Some((compute, storage, network)) = super::auto_mode::requests(r)? {
        call = call
            .compute_config(compute)
            .storage_config(storage)
            .kubernetes_network_config(network);
    }
    match call.send().await {
        Ok(_) => {}
        Err(e) => {
            let e = ProviderError::api("CreateCluster")(e);
            // A re-run after an interrupted apply finds the cluster created.
            if e.code() != Some("ResourceInUseException") {
                return Err(e);
            }
        }
    }
    wait_active(cloud, name).await
}

/// Envelope encryption with a KMS key of the customer's. (EKS no longer
/// reads which resources: the SDK deprecates `resources`.)
fn secrets_encryption(key: &str) -> EncryptionConfig {
    EncryptionConfig::builder()
        .provider(Provider::builder().key_arn(key).build())
        .build()
}

/// EKS upgrades a cluster one minor version at a time, and never down.
fn one_minor_step(spec: &crate::model::Map, live: &crate::model::Map) -> Option<String> {
    let want = spec.get("version")?.as_str()?;
    let had = live.get("version")?.as_str()?;
    let minor = |v: &str| -> Option<(u32, u32)> {
        let (a, b) = v.split_once('.')?;
        Some((a.parse().ok()?, b.parse().ok()?))
    };
    let (w, h) = (minor(want)?, minor(had)?);
    if w < h {
        return Some(format!(
            "{had} -> {want} is a downgrade; EKS clusters only move to newer versions"
        ));
    }
    (w.0 != h.0 || w.1 > h.1 + 1).then(|| {
        format!(
            "{had} -> {want} skips a minor version; EKS upgrades one at a time: apply {}.{} first",
            h.0,
            h.1 + 1
        )
    })
}

pub async fn update(
    cloud: &Cloud,
    r: &Planned,
    live: &Live,
    fields: &[FieldDiff],
) -> Result<Live, ProviderError> {
    let changed = |p: &str| touches(fields, p);
    let name = live.id.as_str();
    // EKS refuses an update while another one runs (one left by a killed
    // apply, or made elsewhere).
    wait_active(cloud, name).await?;
    if changed("version") {
        let out = cloud
            .eks()
            .update_cluster_version()
            .name(name)
            .version(r.str("version")?)
            .send()
            .await
            .map_err(ProviderError::api("UpdateClusterVersion"))?;
        settled_after(cloud, name, out.update()).await?;
    }
    if changed("logging") {
        update_config(cloud, name, |u| Ok(u.logging(logging(r)?))).await?;
    }
    if changed("endpoint") {
        // The whole VPC configuration, unchanged subnets and groups included:
        // some endpoints (the emulator) replace it rather than merge it.
        update_config(cloud, name, |u| Ok(u.resources_vpc_config(vpc_config(r)?))).await?;
    }
    if changed("authentication_mode") {
        let mode = r.str("authentication_mode")?;
        update_config(cloud, name, |u| {
            Ok(u.access_config(
                aws_sdk_eks::types::UpdateAccessConfigRequest::builder()
                    .authentication_mode(mode.into())
                    .build(),
            ))
        })
        .await?;
    }
    if changed("auto_mode") {
        // Compute, storage and load balancing go on and off together.
        if let Some((compute, storage, network)) = super::auto_mode::requests(r)? {
            update_config(cloud, name, |u| {
                Ok(u.compute_config(compute)
                    .storage_config(storage)
                    .kubernetes_network_config(network))
            })
            .await?;
        }
    }
    if changed("secrets_key") {
        // Only ever from no key to one: anything else is a replacement.
        let out = cloud
            .eks()
            .associate_encryption_config()
            .cluster_name(name)
            .encryption_config(secrets_encryption(r.str("secrets_key")?))
            .send()
            .await
            .map_err(ProviderError::api("AssociateEncryptionConfig"))?;
        settled_after(cloud, name, out.update()).await?;
    }
    if changed("tags") {
        let arn = live.outputs.get("arn").cloned().unwrap_or_default();
        sync_tags(cloud, &arn, r, live).await?;
    }
    wait_active(cloud, name).await
}

type ConfigUpdate =
    aws_sdk_eks::operation::update_cluster_config::builders::UpdateClusterConfigFluentBuilder;

/// One UpdateClusterConfig call (logging, the endpoint, the authentication
/// mode), waited for.
async fn update_config(
    cloud: &Cloud,
    name: &str,
    set: impl FnOnce(ConfigUpdate) -> Result<ConfigUpdate, ProviderError>,
) -> Result<(), ProviderError> {
    let out = set(cloud.eks().update_cluster_config().name(name))?
        .send()
        .await
        .map_err(ProviderError::api("UpdateClusterConfig"))?;
    settled_after(cloud, name, out.update()).await
}

/// Waits for a cluster update to finish and the cluster to be ACTIVE again.
async fn settled_after(
    cloud: &Cloud,
    name: &str,
    update: Option<&aws_sdk_eks::types::Update>,
) -> Result<(), ProviderError> {
    wait_update(cloud, name, update, None, None).await?;
    wait_active(cloud, name).await.map(|_| ())
}

/// Waits for an EKS update (of the cluster, a node group or an add-on) to
/// finish: a cluster can read ACTIVE before an update has started.
pub async fn wait_update(
    cloud: &Cloud,
    cluster: &str,
    update: Option<&aws_sdk_eks::types::Update>,
    nodegroup: Option<&str>,
    addon: Option<&str>,
) -> Result<(), ProviderError> {
    use aws_sdk_eks::types::UpdateStatus;
    let Some(id) = update.and_then(|u| u.id()) else {
        return Ok(());
    };
    wait_for(
        cloud,
        &format!("update {id} of {cluster} to finish"),
        || async {
            let out = cloud
                .eks()
                .describe_update()
                .name(cluster)
                .update_id(id)
                .set_nodegroup_name(nodegroup.map(String::from))
                .set_addon_name(addon.map(String::from))
                .send()
                .await
                .map_err(ProviderError::api("DescribeUpdate"))?;
            let Some(u) = out.update() else {
                return Ok(None);
            };
            match u.status() {
                Some(UpdateStatus::Successful) => Ok(Some(())),
                Some(UpdateStatus::Failed | UpdateStatus::Cancelled) => {
                    let errors: Vec<String> = u
                        .errors()
                        .iter()
                        .map(|e| e.error_message().unwrap_or_default().to_string())
                        .collect();
                    Err(ProviderError::Unexpected(format!(
                        "update {id} of {cluster} {:?}: {}",
                        u.status(),
                        errors.join("; ")
                    )))
                }
                _ => Ok(None),
            }
        },
    )
    .await
}

/// Tags an EKS resource by ARN and removes user tags no longer declared.
pub async fn sync_tags(
    cloud: &Cloud,
    arn: &str,
    r: &Planned,
    live: &Live,
) -> Result<(), ProviderError> {
    let want = tag_map(cloud, r);
    cloud
        .eks()
        .tag_resource()
        .resource_arn(arn)
        .set_tags(Some(want))
        .send()
        .await
        .map_err(ProviderError::api("TagResource"))?;
    let stale = crate::providers::stale_tag_keys(r, live);
    if !stale.is_empty() {
        cloud
            .eks()
            .untag_resource()
            .resource_arn(arn)
            .set_tag_keys(Some(stale))
            .send()
            .await
            .map_err(ProviderError::api("UntagResource"))?;
    }
    Ok(())
}

/// The cluster's VPC: as EKS says it, or that of its first subnet (an
/// endpoint that does not say it).
async fn vpc_of(
    cloud: &Cloud,
    c: &aws_sdk_eks::types::Cluster,
) -> Result<Option<String>, ProviderError> {
    let config = c.resources_vpc_config();
    if let Some(vpc) = config.and_then(|v| v.vpc_id()) {
        return Ok(Some(vpc.to_string()));
    }
    let Some(subnet) = config.and_then(|v| v.subnet_ids().first()) else {
        return Ok(None);
    };
    let out = cloud
        .ec2()
        .describe_subnets()
        .subnet_ids(subnet)
        .send()
        .await
        .map_err(ProviderError::api("DescribeSubnets"))?;
    Ok(out
        .subnets()
        .first()
        .and_then(|s| s.vpc_id())
        .map(String::from))
}

pub async fn delete(cloud: &Cloud, live: &Live) -> Result<(), ProviderError> {
    let vpc = match describe(cloud, &live.id).await? {
        Some(c) => vpc_of(cloud, &c).await?,
        None => None,
    };
    crate::providers::aws::retry_in_use(cloud, "DeleteCluster", || async {
        cloud
            .eks()
            .delete_cluster()
            .name(&live.id)
            .send()
            .await
            .done("DeleteCluster")
    })
    .await?;
    wait_for(
        cloud,
        &format!("cluster {} to be deleted", live.id),
        || async { Ok(describe(cloud, &live.id).await?.is_none().then_some(())) },
    )
    .await?;
    // What its controllers made in the VPC would stop the VPC's deletion.
    match vpc {
        Some(vpc) => super::leftovers::sweep(cloud, &live.id, &vpc).await,
        None => Ok(()),
    }
}

pub const KIND: Kind = Kind::of(&SCHEMA);

pub static SCHEMA: Schema = Schema::new("cluster", "Cluster", FIELDS)
    .attr("name")
    .names(NameRule::chars(
        1,
        100,
        alnum_dash_underscore,
        "letters, digits, `-` and `_`",
    ))
    .scope(Scope::AwsCluster);

/// The IAM actions of its operations (`bp permissions`).
pub const IAM: crate::permissions::Iam =
    crate::permissions::Iam::reads(&["eks:ListClusters", "eks:DescribeCluster"])
        .plan(&[
            "ec2:DescribeSubnets",
            "eks:ListInsights",
            "eks:DescribeInsight",
        ])
        .create(&["eks:CreateCluster", "eks:TagResource", "eks:DescribeUpdate"])
        .update(&[
            "eks:UpdateClusterVersion",
            "eks:UpdateClusterConfig",
            "eks:AssociateEncryptionConfig",
            "eks:DescribeUpdate",
            "eks:TagResource",
            "eks:UntagResource",
        ])
        .delete(&["eks:DeleteCluster"])
        // What the Load Balancer Controller left in its VPC.
        .sweep(&[
            "elasticloadbalancing:DescribeLoadBalancers",
            "elasticloadbalancing:DescribeTargetGroups",
            "elasticloadbalancing:DescribeTags",
            "elasticloadbalancing:DeleteLoadBalancer",
            "elasticloadbalancing:DeleteTargetGroup",
            "ec2:DescribeSecurityGroups",
            "ec2:DeleteSecurityGroup",
        ])
        .arns(&["arn:aws:eks:{region}:{account}:cluster/{name}"])
        .tag_condition()
        .passes_role()
        .service_linked(&["eks.amazonaws.com"])
        .when(secrets_key_grants);

pub static DEF: KindDef = KindDef::new(
    KIND,
    Pricing::Priced(price),
    handle!(super::Cluster; super::CLUSTER_FUNCTIONS, super::register_cluster;
        ["access_entry", "addon", "address", "arn", "authentication_mode",
        "certificate_authority", "endpoint", "fargate_profile", "irsa_role", "name",
        "node_group", "oidc_issuer", "oidc_provider_arn", "security_group_id", "version"]),
    ops!(own super::read),
)
.rules(super::lint::CLUSTER)
.adopt(crate::boxed!(adopt adopt))
.check_change(crate::boxed!(check_change super::insights::check))
.iam(IAM);

const FIELDS: &[Field] = &[
    Field::new("name"),
    Field::new("version").guarded(one_minor_step),
    Field::new("role")
        .replaces("a cluster's IAM role cannot change")
        .refers(),
    Field::new("subnets")
        .set()
        .replaces("a cluster's subnets cannot change in place")
        .refers(),
    Field::new("endpoint").diff(Diff::Struct(&[
        Field::new("public"),
        Field::new("private"),
        Field::new("public_cidrs").set(),
    ])),
    Field::new("logging").set(),
    Field::new("security_groups")
        .set()
        .replaces("a cluster's extra security groups cannot change in place")
        .refers(),
    Field::new("secrets_key")
        .replaces("a cluster's secrets key cannot be changed once set")
        .set_in_place()
        .refers(),
    Field::new("authentication_mode").guarded(forward_mode),
    Field::new("allow_upgrade_insights").diff(Diff::Local),
    Field::new("auto_mode").diff(Diff::Struct(&[
        Field::new("enabled"),
        Field::new("node_pools").set(),
        Field::new("node_role").refers(),
    ])),
    TAGS,
];

/// The authentication modes, in the only order EKS moves through them.
pub const AUTH_MODES: &[&str] = &["CONFIG_MAP", "API_AND_CONFIG_MAP", "API"];

/// EKS moves a cluster's authentication mode towards API only.
fn forward_mode(spec: &crate::model::Map, live: &crate::model::Map) -> Option<String> {
    let want = spec.get("authentication_mode")?.as_str()?;
    let had = live.get("authentication_mode")?.as_str()?;
    let at = |m: &str| AUTH_MODES.iter().position(|x| *x == m);
    (at(want)? < at(had)?).then(|| {
        format!("{had} -> {want} goes back; EKS only moves CONFIG_MAP -> API_AND_CONFIG_MAP -> API")
    })
}

/// Every cluster in the region, owned or not, for `:live`.
pub async fn list(cloud: &Cloud) -> Result<Vec<Row>, ProviderError> {
    let names = all_names(cloud).await?;
    let described = futures::future::join_all(names.iter().map(|n| describe(cloud, n))).await;
    let mut rows = Vec::new();
    for (n, d) in names.iter().zip(described) {
        let Some(c) = d? else { continue };
        let tags = c.tags().cloned().unwrap_or_default();
        rows.push(Row {
            id: n.clone(),
            name: n.clone(),
            details: format!(
                "{} {}",
                c.version().unwrap_or_default(),
                c.status().map(|s| s.as_str()).unwrap_or_default()
            ),
            owner: tag_owner(|k| tags.get(k).cloned()),
        });
    }
    Ok(rows)
}

/// Every cluster's name, for listing what lives inside clusters.
pub async fn all_names(cloud: &Cloud) -> Result<Vec<String>, ProviderError> {
    cloud
        .eks()
        .list_clusters()
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .map_err(ProviderError::api("ListClusters"))
}

/// What an EKS cluster costs a month (see [`crate::cost`]).
pub fn price(q: &crate::cost::Quote) -> crate::cost::Estimate {
    use crate::cost::{rate, Cost, Estimate, HOURS};
    let version = q.str("version").unwrap_or("");
    let (hour, what) = if crate::lint::versions_extended(version, q.today) {
        (
            q.prices.eks_extended_hour,
            format!("EKS extended support (Kubernetes {version})"),
        )
    } else {
        (q.prices.eks_cluster_hour, "EKS control plane".to_string())
    };
    let auto = q
        .spec
        .get("auto_mode")
        .and_then(|a| a.get("enabled"))
        .and_then(Value::as_bool)
        == Some(true);
    let usage = if auto {
        "; EKS Auto Mode: usage-billed, not estimated (the instances it launches, and its management fee per instance-hour)"
    } else {
        ""
    };
    match hour {
        Some(h) => Estimate::Priced(Cost::fixed(
            h * HOURS,
            format!("{what}: {HOURS} h × {}{usage}", rate(h)),
        )),
        None => q.missing(what),
    }
}

/// `bp adopt`: tags the cluster named `id` (one made with eksctl or
/// Terraform) as the blueprint's.
async fn adopt(cloud: &Cloud, id: &str, tags: &[(String, String)]) -> Result<(), ProviderError> {
    let c = describe(cloud, id).await?;
    super::tag_found(
        cloud,
        c.as_ref().and_then(|c| c.arn()),
        &format!("cluster {id}"),
        tags,
    )
    .await
}

/// EKS encrypts Secrets with the declared key through a grant the caller
/// makes on it.
fn secrets_key_grants(r: &crate::model::Resource) -> Vec<&'static str> {
    match r.spec.get("secrets_key") {
        Some(v) if *v != Value::Null => vec!["kms:CreateGrant", "kms:DescribeKey"],
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use crate::model::names::check_name;

    #[test]
    fn names() {
        assert!(check_name(super::KIND, "pms-prod").is_ok());
        assert!(check_name(super::KIND, "pms prod").is_err());
        assert!(check_name(super::KIND, "-pms").is_err());
    }
}
