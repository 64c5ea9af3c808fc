//! What the AWS kinds share: the owner-tag filter, tag specifications and
//! tag reconciliation of EC2, per-cluster listings, retries of deletes
//! while something still depends on a resource. Each kind's own calls live
//! in its module under [`crate::kinds`].

pub mod clients;
pub mod tagging;

use super::{Cloud, Planned, ProviderError, TAG_NAME};
use crate::model::{Address, Live, Map, Value};
use aws_sdk_ec2::types::{Filter, ResourceType, Tag, TagSpecification};
use std::future::Future;

/// `(cluster, name)` for every item `list` finds in each cluster, the
/// clusters listed concurrently (node groups, Fargate profiles).
pub async fn per_cluster<F, Fut>(
    clusters: &[String],
    list: F,
) -> Result<Vec<(String, String)>, ProviderError>
where
    F: Fn(String) -> Fut,
    Fut: Future<Output = Result<Vec<String>, ProviderError>>,
{
    let lists = futures::future::join_all(clusters.iter().map(|c| list(c.clone()))).await;
    let mut pairs = Vec::new();
    for (c, names) in clusters.iter().zip(lists) {
        pairs.extend(names?.into_iter().map(|n| (c.clone(), n)));
    }
    Ok(pairs)
}

/// Every item `list` finds in each cluster, described one by one with
/// `describe` (EKS has no batched read of node groups, Fargate profiles or
/// add-ons), all concurrently; `live` turns each into an owned live
/// resource, or leaves it out (another owner's, or being deleted).
pub async fn described_per_cluster<T, F, Fut, D, DFut>(
    clusters: &[String],
    list: F,
    describe: D,
    live: impl Fn(&T) -> Option<crate::model::Live>,
) -> Result<Vec<crate::model::Live>, ProviderError>
where
    F: Fn(String) -> Fut,
    Fut: Future<Output = Result<Vec<String>, ProviderError>>,
    D: Fn(String, String) -> DFut,
    DFut: Future<Output = Result<Option<T>, ProviderError>>,
{
    let pairs = per_cluster(clusters, list).await?;
    let described = futures::future::join_all(pairs.into_iter().map(|(c, n)| describe(c, n))).await;
    let mut out = Vec::new();
    for d in described {
        if let Some(d) = d? {
            out.extend(live(&d));
        }
    }
    Ok(out)
}

/// `tag:blueprint:name = <blueprint>`.
pub fn owned(cloud: &Cloud) -> Filter {
    Filter::builder()
        .name(format!("tag:{TAG_NAME}"))
        .values(&cloud.blueprint)
        .build()
}

/// Every resource an EC2 describe call returns, page by page: the owned
/// ones (`ec2_pages!(cloud, describe_vpcs, "DescribeVpcs", owned)`) or all
/// of them (`..., all)`, for `:live`); or with filters of one's own
/// (`ec2_pages!(@ cloud, describe_x, "DescribeX", set_filters = Some(..))`,
/// `set_filter` for the calls that name it so).
#[macro_export]
macro_rules! ec2_pages {
    ($cloud:expr, $op:ident, $name:literal, owned) => {
        $crate::ec2_pages!(@ $cloud, $op, $name, set_filters = Some(vec![$crate::providers::aws::owned($cloud)]))
    };
    ($cloud:expr, $op:ident, $name:literal, all) => {
        $crate::ec2_pages!(@ $cloud, $op, $name, set_filters = None)
    };
    (@ $cloud:expr, $op:ident, $name:literal, $set:ident = $filters:expr) => {
        $cloud
            .ec2()
            .$op()
            .$set($filters)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err($crate::providers::ProviderError::api($name))
    };
}

pub fn ec2_tag(k: &str, v: &str) -> Tag {
    Tag::builder().key(k).value(v).build()
}

/// Tags set at creation: ownership, the resource's tags, and Name.
pub fn tag_spec(cloud: &Cloud, kind: ResourceType, r: &Planned) -> TagSpecification {
    let mut b = TagSpecification::builder().resource_type(kind);
    for (k, v) in cloud.tags_for(&r.address, &r.spec) {
        b = b.tags(ec2_tag(&k, &v));
    }
    if let Some(name) = r.spec.get("name").and_then(Value::as_str) {
        b = b.tags(ec2_tag("Name", name));
    }
    b.build()
}

/// The owner address and the user's tags of an EC2 resource (without the
/// ownership tags and Name); `None` when it is not ours.
pub fn read_tags(cloud: &Cloud, tags: &[Tag]) -> Option<(Address, Map, Option<String>)> {
    let pairs = tags
        .iter()
        .filter_map(|t| Some((t.key()?, t.value().unwrap_or_default())));
    let o = cloud.owned(pairs, crate::providers::NameTag::IsTheName)?;
    Some((o.address, o.tags, o.name))
}

/// A Live entry for an EC2 resource with its common attributes.
pub fn ec2_live(address: Address, id: &str, tags: Map, name: Option<String>) -> Live {
    let mut l = Live::new(address, id);
    if !tags.is_empty() {
        l.attrs.insert("tags".into(), Value::Map(tags));
    }
    if let Some(n) = name {
        l.attrs.insert("name".into(), Value::str(&n));
        l.outputs.insert("name".into(), n);
    }
    l
}

/// Brings an EC2 resource's tags (and Name) to the desired ones.
pub async fn sync_ec2_tags(
    cloud: &Cloud,
    id: &str,
    r: &Planned,
    live: &Live,
) -> Result<(), ProviderError> {
    let want: Vec<(String, String)> = cloud
        .tags_for(&r.address, &r.spec)
        .into_iter()
        .chain(
            r.spec
                .get("name")
                .and_then(Value::as_str)
                .map(|n| ("Name".to_string(), n.to_string())),
        )
        .collect();
    let had = live
        .attrs
        .get("tags")
        .and_then(Value::as_map)
        .cloned()
        .unwrap_or_default();
    let mut set = cloud.ec2().create_tags().resources(id);
    for (k, v) in &want {
        set = set.tags(ec2_tag(k, v));
    }
    set.send().await.map_err(ProviderError::api("CreateTags"))?;
    let stale: Vec<&String> = had
        .keys()
        .filter(|k| !want.iter().any(|(w, _)| w == *k))
        .collect();
    if !stale.is_empty() {
        let mut del = cloud.ec2().delete_tags().resources(id);
        for k in stale {
            del = del.tags(Tag::builder().key(k).build());
        }
        del.send().await.map_err(ProviderError::api("DeleteTags"))?;
    }
    Ok(())
}

/// Retries a delete while AWS says something still depends on the resource
/// (another deletion in flight), up to the cloud's wait timeout.
pub async fn retry_in_use<F, Fut>(
    cloud: &Cloud,
    what: &str,
    mut call: F,
) -> Result<(), ProviderError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<(), ProviderError>>,
{
    let start = std::time::Instant::now();
    loop {
        match call().await {
            Ok(()) => return Ok(()),
            Err(e) if e.is_not_found() => return Ok(()),
            Err(e) => {
                let busy = e.code().is_some_and(|c| {
                    c == "DependencyViolation"
                        || c.ends_with("InUse")
                        || c == "ResourceInUseException"
                        || c == "DeleteConflict"
                });
                if !busy || start.elapsed() > cloud.wait_timeout {
                    return Err(e);
                }
                let _ = what;
                tokio::time::sleep(cloud.poll_interval).await;
            }
        }
    }
}

pub fn bool_attr(v: Option<bool>) -> Value {
    Value::Bool(v.unwrap_or(false))
}

/// `bp adopt` of an EC2 resource: the ownership tags on its id.
pub async fn adopt_ec2(
    cloud: &Cloud,
    id: &str,
    tags: &[(String, String)],
) -> Result<(), ProviderError> {
    let mut set = cloud.ec2().create_tags().resources(id);
    for (k, v) in tags {
        set = set.tags(ec2_tag(k, v));
    }
    set.send().await.map_err(ProviderError::api("CreateTags"))?;
    Ok(())
}
