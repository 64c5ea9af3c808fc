//! Claims on account singletons: things an account has one of and that
//! carry no tags (the IAM account password policy), so nothing on them can
//! say which blueprint keeps them. A claim is an item of the lock table
//! (`blueprint-locks`, key `claim:<what>`) holding the ownership tags the
//! resource would carry if it could: the claiming blueprint's name and the
//! address. It is written before the singleton is first set, so an
//! interrupted apply is found by the next plan, and removed after the
//! singleton is deleted. Blueprint names hold only letters, digits, `-`
//! and `_`, so a claim's key is never a blueprint's lock.

use super::lock::{create_table, dynamodb, TABLE};
use super::{Cloud, ProviderError};
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;

fn key(what: &str) -> AttributeValue {
    AttributeValue::S(format!("claim:{what}"))
}

/// The tags of the claim on `what`, if anyone holds it (none when the lock
/// table does not exist yet).
pub async fn get(
    cloud: &Cloud,
    what: &str,
) -> Result<Option<Vec<(String, String)>>, ProviderError> {
    let out = dynamodb(cloud)
        .get_item()
        .table_name(TABLE)
        .key("blueprint", key(what))
        .consistent_read(true)
        .send()
        .await;
    let item = match out {
        Ok(o) => o.item,
        Err(e) if e.code() == Some("ResourceNotFoundException") => None,
        Err(e) => return Err(ProviderError::api("GetItem")(e)),
    };
    Ok(item.map(|i| tags_of(&i)))
}

fn tags_of(item: &HashMap<String, AttributeValue>) -> Vec<(String, String)> {
    let mut tags: Vec<(String, String)> = item
        .get("tags")
        .and_then(|t| t.as_m().ok())
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_s().ok()?.clone())))
                .collect()
        })
        .unwrap_or_default();
    tags.sort();
    tags
}

/// The blueprint a claim's tags name.
pub fn holder(tags: &[(String, String)]) -> Option<&str> {
    tags.iter()
        .find(|(k, _)| k == super::TAG_NAME)
        .map(|(_, v)| v.as_str())
}

/// Claims `what` for the cloud's blueprint with `tags` (its ownership tags
/// among them). Fails, naming the holder, when another blueprint holds it.
pub async fn put(
    cloud: &Cloud,
    what: &str,
    tags: &[(String, String)],
) -> Result<(), ProviderError> {
    let map: HashMap<String, AttributeValue> = tags
        .iter()
        .map(|(k, v)| (k.clone(), AttributeValue::S(v.clone())))
        .collect();
    let mut made_table = false;
    loop {
        let out = dynamodb(cloud)
            .put_item()
            .table_name(TABLE)
            .item("blueprint", key(what))
            .item("owner", AttributeValue::S(cloud.blueprint.clone()))
            .item("tags", AttributeValue::M(map.clone()))
            .condition_expression("attribute_not_exists(#b) OR #o = :me")
            .expression_attribute_names("#b", "blueprint")
            .expression_attribute_names("#o", "owner")
            .expression_attribute_values(":me", AttributeValue::S(cloud.blueprint.clone()))
            .send()
            .await;
        match out {
            Ok(_) => return Ok(()),
            Err(e) if e.code() == Some("ResourceNotFoundException") && !made_table => {
                create_table(cloud).await?;
                made_table = true;
            }
            Err(e) if e.code() == Some("ConditionalCheckFailedException") => {
                let other = get(cloud, what).await?.unwrap_or_default();
                return Err(ProviderError::Spec(format!(
                    "the account's {} is blueprint {}'s; only one blueprint in an account may declare it",
                    what.replace('-', " "),
                    holder(&other).unwrap_or("?")
                )));
            }
            Err(e) => return Err(ProviderError::api("PutItem")(e)),
        }
    }
}

/// Gives up the cloud's blueprint's claim on `what` (no-op if it holds
/// none).
pub async fn drop(cloud: &Cloud, what: &str) -> Result<(), ProviderError> {
    super::lock::delete_if(cloud, key(what), "owner", &cloud.blueprint).await
}
