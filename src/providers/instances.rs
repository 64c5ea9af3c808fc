//! The provider instances a blueprint has resources with, recorded where
//! its lock lives (an item of the lock table, key `instances:<blueprint>`,
//! in the command line's account and region), so that an instance the
//! script no longer makes is still read: what the blueprint put there is
//! pruned rather than forgotten, and a destroy finds it. A plan reads the
//! record with one GetItem; an apply writes it only when the instances
//! holding its resources change.

use super::lock::{dynamodb, TABLE};
use super::{Cloud, ProviderError};
use crate::model::ProviderSpec;
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::BTreeMap;

fn key(blueprint: &str) -> AttributeValue {
    AttributeValue::S(format!("instances:{blueprint}"))
}

/// The instances recorded for the cloud's blueprint, by alias; none when
/// nothing was recorded (or the lock table does not exist yet).
pub async fn recorded(cloud: &Cloud) -> Result<BTreeMap<String, ProviderSpec>, ProviderError> {
    let item = match dynamodb(cloud)
        .get_item()
        .table_name(TABLE)
        .key("blueprint", key(&cloud.blueprint))
        .consistent_read(true)
        .send()
        .await
    {
        Ok(out) => out.item,
        Err(e) if e.code() == Some("ResourceNotFoundException") => None,
        Err(e) => return Err(ProviderError::api("GetItem")(e)),
    };
    let Some(text) = item
        .as_ref()
        .and_then(|i| i.get("instances"))
        .and_then(|v| v.as_s().ok())
    else {
        return Ok(BTreeMap::new());
    };
    serde_json::from_str(text).map_err(|e| {
        ProviderError::Unexpected(format!(
            "the record of the provider instances of blueprint {} in the lock table {TABLE} is damaged: {e}",
            cloud.blueprint
        ))
    })
}

/// Records `instances` (none: removes the record).
pub async fn record(
    cloud: &Cloud,
    instances: &BTreeMap<String, ProviderSpec>,
) -> Result<(), ProviderError> {
    if instances.is_empty() {
        return match dynamodb(cloud)
            .delete_item()
            .table_name(TABLE)
            .key("blueprint", key(&cloud.blueprint))
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if e.code() == Some("ResourceNotFoundException") => Ok(()),
            Err(e) => Err(ProviderError::api("DeleteItem")(e)),
        };
    }
    let text =
        serde_json::to_string(instances).map_err(|e| ProviderError::Unexpected(e.to_string()))?;
    dynamodb(cloud)
        .put_item()
        .table_name(TABLE)
        .item("blueprint", key(&cloud.blueprint))
        .item("instances", AttributeValue::S(text))
        .send()
        .await
        .map_err(ProviderError::api("PutItem"))?;
    Ok(())
}
