//! Finding owned KMS keys and S3 buckets by tag, one paginated call per
//! kind, through the Resource Groups Tagging API.

use crate::model::{Address, Map, Value};
use crate::providers::{Cloud, ProviderError, TAG_ADDRESS, TAG_NAME};
use aws_sdk_resourcegroupstagging::types::TagFilter;

/// An owned resource: its ARN, address and the user's tags.
pub struct Tagged {
    pub arn: String,
    pub address: Address,
    pub tags: Map,
    /// It carries the protection tag.
    pub protected: bool,
}

/// Resources of `resource_type` (`kms:key`, `s3`) tagged with this blueprint.
pub async fn owned(cloud: &Cloud, resource_type: &str) -> Result<Vec<Tagged>, ProviderError> {
    let items = cloud
        .tagging()
        .get_resources()
        .tag_filters(
            TagFilter::builder()
                .key(TAG_NAME)
                .values(&cloud.blueprint)
                .build(),
        )
        .resource_type_filters(resource_type)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .map_err(ProviderError::api("GetResources"))?;
    Ok(items
        .iter()
        .filter_map(|m| {
            let tags = m.tags();
            let get = |k: &str| tags.iter().find(|t| t.key() == k).map(|t| t.value());
            if get(TAG_NAME) != Some(cloud.blueprint.as_str()) {
                return None;
            }
            let address = get(TAG_ADDRESS)?.parse().ok()?;
            let user = tags
                .iter()
                .filter(|t| !t.key().starts_with("blueprint:"))
                .map(|t| (t.key().to_string(), Value::str(t.value())))
                .collect();
            Some(Tagged {
                arn: m.resource_arn()?.to_string(),
                address,
                tags: user,
                protected: crate::providers::protected_by(
                    tags.iter().map(|t| (t.key(), t.value())),
                ),
            })
        })
        .collect())
}
