//! Finding owned resources by tag through the Resource Groups Tagging API:
//! which kinds hold any (one call across services, before a plan lists
//! them), and the owned KMS keys, S3 buckets and SQS queues, one paginated
//! call per kind.

use crate::model::{Address, Map};
use crate::providers::{Cloud, ProviderError, TAG_NAME};
use aws_sdk_resourcegroupstagging::types::{ResourceTagMapping, TagFilter};

/// An owned resource: its ARN, address and the user's tags.
pub struct Tagged {
    pub arn: String,
    pub address: Address,
    pub tags: Map,
    /// It carries the protection tag.
    pub protected: bool,
}

/// The resource type of an ARN as the tagging API's filters name it:
/// `ec2:vpc`, `logs:log-group`, `rds:db`; the service alone where its ARNs
/// carry no type (`s3`, `sqs`).
pub fn arn_type(arn: &str) -> Option<String> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let (service, resource) = (*parts.get(2)?, *parts.get(5)?);
    Some(match resource.split_once(['/', ':']) {
        Some((t, _)) if !matches!(service, "s3" | "sqs") => format!("{service}:{t}"),
        _ => service.to_string(),
    })
}

/// Everything of `types` tagged with this blueprint: one paginated call.
async fn tagged(cloud: &Cloud, types: &[&str]) -> Result<Vec<ResourceTagMapping>, ProviderError> {
    cloud
        .tagging()
        .get_resources()
        .tag_filters(
            TagFilter::builder()
                .key(TAG_NAME)
                .values(&cloud.blueprint)
                .build(),
        )
        .set_resource_type_filters(Some(types.iter().map(|t| t.to_string()).collect()))
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .map_err(ProviderError::api("GetResources"))
}

/// Which of `types` hold resources tagged with this blueprint: one
/// paginated call across services.
pub async fn owned_types(
    cloud: &Cloud,
    types: &[&str],
) -> Result<std::collections::BTreeSet<String>, ProviderError> {
    Ok(tagged(cloud, types)
        .await?
        .iter()
        .filter_map(|m| arn_type(m.resource_arn()?))
        .collect())
}

/// Resources of `resource_type` (`kms:key`, `s3`) tagged with this blueprint.
pub async fn owned(cloud: &Cloud, resource_type: &str) -> Result<Vec<Tagged>, ProviderError> {
    let items = tagged(cloud, &[resource_type]).await?;
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

#[cfg(test)]
mod tests {
    use super::arn_type;

    #[test]
    fn arns_name_their_type_as_the_filters_do() {
        for (arn, t) in [
            ("arn:aws:ec2:us-east-1:123456789012:vpc/vpc-1", "ec2:vpc"),
            (
                "arn:aws:ec2:us-east-1:123456789012:natgateway/nat-1",
                "ec2:natgateway",
            ),
            (
                "arn:aws:logs:us-east-1:123456789012:log-group:/aws/eks/x/cluster",
                "logs:log-group",
            ),
            ("arn:aws:rds:us-east-1:123456789012:db:orders", "rds:db"),
            (
                "arn:aws:ssm:us-east-1:123456789012:parameter/blueprint/x/outputs/a",
                "ssm:parameter",
            ),
            (
                "arn:aws:backup:us-east-1:123456789012:backup-vault:v",
                "backup:backup-vault",
            ),
            ("arn:aws:s3:::bucket", "s3"),
            ("arn:aws:sqs:us-east-1:123456789012:queue", "sqs"),
        ] {
            assert_eq!(arn_type(arn).as_deref(), Some(t), "{arn}");
        }
        assert_eq!(arn_type("not an arn"), None);
    }
}
