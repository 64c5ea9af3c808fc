//! EKS Fargate profiles: immutable, so any change replaces them, the new
//! one first (under the declared name with a suffix while the old one
//! holds it), so pods that match keep a profile to schedule on.

use super::cluster::{owned_tags, tag_map};
use crate::cost::Pricing;
use crate::kinds::{Field, KindDef, Lifecycle};
use crate::model::names::{alnum_dash_underscore, NameRule};
use crate::model::schema::{ReplaceStrategy, Schema};
use crate::model::Kind;
use crate::model::{Live, Map, Value};
use crate::providers::AwsResult as _;
use crate::providers::Row;
use crate::providers::{wait_for, Cloud, Planned, ProviderError};
use crate::{handle, ops};
use aws_sdk_eks::types::{FargateProfile, FargateProfileSelector, FargateProfileStatus};

fn live_of(cloud: &Cloud, p: &FargateProfile) -> Option<Live> {
    let (address, tags) = owned_tags(cloud, p.tags())?;
    let name = p.fargate_profile_name()?;
    let cluster = p.cluster_name().unwrap_or_default();
    let selectors: Vec<Value> = p
        .selectors()
        .iter()
        .map(|s| {
            let labels: Map = s
                .labels()
                .map(|m| m.iter().map(|(k, v)| (k.clone(), Value::str(v))).collect())
                .unwrap_or_default();
            Value::Map(Map::from([
                (
                    "namespace".into(),
                    Value::str(s.namespace().unwrap_or_default()),
                ),
                ("labels".into(), Value::Map(labels)),
            ]))
        })
        .collect();
    // The declared name: a replacement's EKS name carries a suffix.
    let declared = address.name.rsplit('/').next().unwrap_or(name).to_string();
    let mut l = Live::new(address, format!("{cluster}/{name}"))
        .attr("cluster", Value::str(cluster))
        .attr("name", Value::str(declared))
        .attr("selectors", Value::List(selectors))
        .attr(
            "subnets",
            Value::List(p.subnets().iter().map(Value::str).collect()),
        )
        .attr(
            "role",
            Value::str(p.pod_execution_role_arn().unwrap_or_default()),
        )
        .output("name", name)
        .output("arn", p.fargate_profile_arn().unwrap_or_default());
    if !tags.is_empty() {
        l.attrs.insert("tags".into(), Value::Map(tags));
    }
    Some(l)
}

async fn describe(
    cloud: &Cloud,
    cluster: &str,
    name: &str,
) -> Result<Option<FargateProfile>, ProviderError> {
    describe_in_cluster!(
        cloud,
        cluster,
        describe_fargate_profile,
        fargate_profile_name(name),
        "DescribeFargateProfile",
        fargate_profile
    )
}

pub async fn read(cloud: &Cloud, clusters: &[String]) -> Result<Vec<Live>, ProviderError> {
    read_per_cluster!(
        cloud,
        clusters,
        list_fargate_profiles,
        "ListFargateProfiles",
        FargateProfileStatus
    )
}

pub async fn create(cloud: &Cloud, r: &Planned) -> Result<Live, ProviderError> {
    let cluster = r.str("cluster")?;
    let declared = r.str("name")?;
    let holder = describe(cloud, cluster, declared)
        .await?
        .map(|p| live_of(cloud, &p).map(|l| l.address));
    let name = super::free_name("Fargate profile", r, declared, holder)?;
    let name = name.as_str();
    let selectors: Vec<FargateProfileSelector> = r
        .spec
        .get("selectors")
        .and_then(Value::as_list)
        .unwrap_or_default()
        .iter()
        .map(|s| {
            let labels = s.get("labels").and_then(Value::as_map).map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                    .collect()
            });
            FargateProfileSelector::builder()
                .namespace(
                    s.get("namespace")
                        .and_then(Value::as_str)
                        .unwrap_or_default(),
                )
                .set_labels(labels)
                .build()
        })
        .collect();
    if let Err(e) = cloud
        .eks()
        .create_fargate_profile()
        .cluster_name(cluster)
        .fargate_profile_name(name)
        .pod_execution_role_arn(r.str("role")?)
        .set_subnets(Some(r.strs("subnets")?))
        .set_selectors(Some(selectors))
        .client_request_token(cloud.client_token(&r.address))
        .set_tags(Some(tag_map(cloud, r)))
        .send()
        .await
    {
        let e = ProviderError::api("CreateFargateProfile")(e);
        if e.code() != Some("ResourceInUseException") {
            return Err(e);
        }
    }
    wait_for(
        cloud,
        &format!("Fargate profile {cluster}/{name} to become ACTIVE"),
        || async {
            match describe(cloud, cluster, name).await? {
                Some(p) if p.status() == Some(&FargateProfileStatus::Active) => {
                    Ok(Some(live_of(cloud, &p).ok_or_else(|| {
                        ProviderError::Unexpected(format!("Fargate profile {name} lost its tags"))
                    })?))
                }
                Some(p) if p.status() == Some(&FargateProfileStatus::CreateFailed) => {
                    Err(ProviderError::Unexpected(format!(
                        "Fargate profile {cluster}/{name} failed to create"
                    )))
                }
                _ => Ok(None),
            }
        },
    )
    .await
}

pub async fn delete(cloud: &Cloud, live: &Live) -> Result<(), ProviderError> {
    let (cluster, name) = super::id_parts(live, "Fargate profile")?;
    crate::providers::aws::retry_in_use(cloud, "DeleteFargateProfile", || async {
        cloud
            .eks()
            .delete_fargate_profile()
            .cluster_name(cluster)
            .fargate_profile_name(name)
            .send()
            .await
            .done("DeleteFargateProfile")
    })
    .await?;
    super::wait_gone(cloud, &format!("Fargate profile {}", live.id), || {
        describe(cloud, cluster, name)
    })
    .await
}

pub const KIND: Kind = Kind::of(&SCHEMA);

pub static SCHEMA: Schema = Schema::new("fargate_profile", "FargateProfile", FIELDS)
    .attr("name")
    .names(NameRule::chars(
        1,
        63,
        alnum_dash_underscore,
        "letters, digits, `-` and `_`",
    ))
    .lifecycle(Lifecycle {
        replace: ReplaceStrategy::CreateThenDelete,
        ..Lifecycle::REPLACED
    })
    .name_from_address();

/// The IAM actions of its operations (`bp permissions`).
pub const IAM: crate::permissions::Iam =
    crate::permissions::Iam::reads(&["eks:ListFargateProfiles", "eks:DescribeFargateProfile"])
        .create(&["eks:CreateFargateProfile", "eks:TagResource"])
        .delete(&["eks:DeleteFargateProfile"])
        .arns(&[
            "arn:aws:eks:{region}:{account}:cluster/{cluster}",
            "arn:aws:eks:{region}:{account}:fargateprofile/{cluster}/{name}*/*",
        ])
        .tag_condition()
        .passes_role()
        .service_linked(&["eks-fargate.amazonaws.com"]);

pub static DEF: KindDef = KindDef::new(
    KIND,
    Pricing::Free,
    handle!(super::FargateProfile;
        super::FARGATE_PROFILE_FUNCTIONS, super::register_fargate_profile;
        ["address", "arn", "name"]),
    ops!(with super::cluster::KIND, no_update),
)
.adopt(crate::boxed!(adopt adopt))
.iam(IAM);

const CHANGED: &str = "a Fargate profile cannot be changed, only replaced";

const FIELDS: &[Field] = &[
    Field::new("cluster").refers(),
    Field::new("name"),
    Field::new("selectors").replaces(CHANGED),
    Field::new("subnets").set().replaces(CHANGED).refers(),
    Field::new("role").replaces(CHANGED).refers(),
    Field::new("tags").map().replaces(CHANGED),
];

/// Every fargate_profile of every cluster in the region, owned or not, for `:live`.
pub async fn list(cloud: &Cloud) -> Result<Vec<Row>, ProviderError> {
    let clusters = super::cluster::all_names(cloud).await?;
    let pairs = crate::providers::aws::per_cluster(&clusters, |c| async move {
        cloud
            .eks()
            .list_fargate_profiles()
            .cluster_name(c)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(ProviderError::api("ListFargateProfiles"))
    })
    .await?;
    Ok(pairs
        .into_iter()
        .map(|(c, n)| Row::new(format!("{c}/{n}"), n, format!("cluster {c}")))
        .collect())
}

/// `bp adopt`: tags the Fargate profile `cluster/name` as the blueprint's.
async fn adopt(cloud: &Cloud, id: &str, tags: &[(String, String)]) -> Result<(), ProviderError> {
    let (cluster, name) = super::child_id("Fargate profile", id)?;
    let found = describe(cloud, cluster, name).await?;
    super::tag_found(
        cloud,
        found.as_ref().and_then(|x| x.fargate_profile_arn()),
        &format!("Fargate profile {id}"),
        tags,
    )
    .await
}
