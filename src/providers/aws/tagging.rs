//! Finding owned KMS keys and S3 buckets by tag, one paginated call per
//! kind, through the Resource Groups Tagging API.

use crate::model::{Address, Map};
use crate::providers::{Cloud, ProviderError, TAG_NAME};
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
            let pairs = m.tags().iter().map(|t| (t.key(), t.value()));
            let o = cloud.owned(pairs, crate::providers::NameTag::IsATag)?;
            Some(Tagged {
                arn: m.resource_arn()?.to_string(),
                address: o.address,
                tags: o.tags,
                protected: o.protected,
            })
        })
        .collect())
}
