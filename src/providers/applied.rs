//! The record of what each resource was last applied with, so that a plan
//! can tell drift (the live resource changed since) from intent (the
//! blueprint changed). One item of the lock table (`blueprint-locks`) per
//! resource, key `applied:<blueprint>:<address>`, holding the declared
//! spec as applied: references resolved, sensitive values as their keyed
//! hashes only (as in saved plans), never in clear.
//!
//! It lives in the lock table rather than on the resources: many kinds
//! carry no tags (route table associations, access entries, the account
//! password policy), a tag value holds 256 characters, and the labels are
//! per field, which needs the fields' values. A plan reads only the
//! records of the resources it would change (one `BatchGetItem` per 100),
//! so a plan without changes reads none; an apply writes them at its end
//! (one `BatchWriteItem` per 25). Blueprint names hold no `:`, so a
//! record's key is never a lock's or a claim's.

use super::lock::{create_table, dynamodb, TABLE};
use super::{Cloud, ProviderError};
use crate::model::{Address, Value};
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::{
    AttributeValue, DeleteRequest, KeysAndAttributes, PutRequest, WriteRequest,
};
use std::collections::HashMap;

/// DynamoDB's largest item, less room for the key and owner.
const MAX_SPEC: usize = 390 * 1024;
/// How many times unprocessed keys or items are sent again.
const ATTEMPTS: u32 = 5;

fn key(blueprint: &str, address: &Address) -> HashMap<String, AttributeValue> {
    HashMap::from([(
        "blueprint".to_string(),
        AttributeValue::S(format!("applied:{blueprint}:{address}")),
    )])
}

fn built(e: aws_sdk_dynamodb::error::BuildError) -> ProviderError {
    ProviderError::Unexpected(e.to_string())
}

/// The records of `addresses` that exist: the spec each was last applied
/// with. None at all when the lock table does not exist yet.
pub async fn read(
    cloud: &Cloud,
    addresses: &[&Address],
) -> Result<HashMap<Address, Value>, ProviderError> {
    let mut out = HashMap::new();
    let by_key: HashMap<String, &Address> = addresses
        .iter()
        .map(|a| (format!("applied:{}:{a}", cloud.blueprint), *a))
        .collect();
    for chunk in addresses.chunks(100) {
        let mut keys: Vec<HashMap<String, AttributeValue>> =
            chunk.iter().map(|a| key(&cloud.blueprint, a)).collect();
        let mut attempt = 0;
        while !keys.is_empty() {
            attempt += 1;
            let request = KeysAndAttributes::builder()
                .set_keys(Some(std::mem::take(&mut keys)))
                .consistent_read(true)
                .build()
                .map_err(built)?;
            let answer = match dynamodb(cloud)
                .batch_get_item()
                .request_items(TABLE, request)
                .send()
                .await
            {
                Ok(a) => a,
                Err(e) if e.code() == Some("ResourceNotFoundException") => return Ok(out),
                Err(e) => return Err(ProviderError::api("BatchGetItem")(e)),
            };
            for item in answer
                .responses
                .unwrap_or_default()
                .remove(TABLE)
                .unwrap_or_default()
            {
                let (Some(AttributeValue::S(k)), Some(AttributeValue::S(spec))) =
                    (item.get("blueprint"), item.get("spec"))
                else {
                    continue;
                };
                let (Some(address), Ok(json)) = (
                    by_key.get(k),
                    serde_json::from_str::<serde_json::Value>(spec),
                ) else {
                    continue;
                };
                if let Ok(v) = Value::from_json(&json) {
                    out.insert((*address).clone(), v);
                }
            }
            keys = answer
                .unprocessed_keys
                .and_then(|mut u| u.remove(TABLE))
                .map(|k| k.keys)
                .unwrap_or_default();
            if !keys.is_empty() && attempt >= ATTEMPTS {
                return Err(ProviderError::Unexpected(format!(
                    "BatchGetItem left {} records of {TABLE} unread after {ATTEMPTS} attempts",
                    keys.len()
                )));
            }
            if !keys.is_empty() {
                tokio::time::sleep(
                    cloud
                        .poll_interval
                        .min(std::time::Duration::from_millis(200)),
                )
                .await;
            }
        }
    }
    Ok(out)
}

/// Records what `put` were applied with, and forgets `forget` (deleted,
/// no longer declared). The table is made when it does not exist. A spec
/// too large for an item is not recorded: its differences go unlabelled.
pub async fn write(
    cloud: &Cloud,
    put: &[(Address, Value)],
    forget: &[Address],
) -> Result<(), ProviderError> {
    // One request per key in a batch: the last spec of an address (a
    // resource created, then finished) is the one applied.
    let last: HashMap<&Address, &Value> = put.iter().map(|(a, v)| (a, v)).collect();
    let mut requests = Vec::new();
    for (address, spec) in last {
        let text = spec.to_json().to_string();
        if text.len() > MAX_SPEC {
            tracing::debug!(target: "blueprint::apply", %address, bytes = text.len(), "the applied spec is too large to record");
            continue;
        }
        let mut item = key(&cloud.blueprint, address);
        item.insert("owner".into(), AttributeValue::S(cloud.blueprint.clone()));
        item.insert("spec".into(), AttributeValue::S(text));
        requests.push(
            WriteRequest::builder()
                .put_request(
                    PutRequest::builder()
                        .set_item(Some(item))
                        .build()
                        .map_err(built)?,
                )
                .build(),
        );
    }
    for address in forget {
        requests.push(
            WriteRequest::builder()
                .delete_request(
                    DeleteRequest::builder()
                        .set_key(Some(key(&cloud.blueprint, address)))
                        .build()
                        .map_err(built)?,
                )
                .build(),
        );
    }
    let mut made_table = false;
    for chunk in requests.chunks(25) {
        let mut pending = chunk.to_vec();
        let mut attempt = 0;
        while !pending.is_empty() {
            attempt += 1;
            let answer = dynamodb(cloud)
                .batch_write_item()
                .request_items(TABLE, pending.clone())
                .send()
                .await;
            let answer = match answer {
                Ok(a) => a,
                Err(e) if e.code() == Some("ResourceNotFoundException") && !made_table => {
                    create_table(cloud).await?;
                    made_table = true;
                    continue;
                }
                Err(e) => return Err(ProviderError::api("BatchWriteItem")(e)),
            };
            pending = answer
                .unprocessed_items
                .and_then(|mut u| u.remove(TABLE))
                .unwrap_or_default();
            if !pending.is_empty() && attempt >= ATTEMPTS {
                return Err(ProviderError::Unexpected(format!(
                    "BatchWriteItem left {} records of {TABLE} unwritten after {ATTEMPTS} attempts",
                    pending.len()
                )));
            }
            if !pending.is_empty() {
                tokio::time::sleep(
                    cloud
                        .poll_interval
                        .min(std::time::Duration::from_millis(200)),
                )
                .await;
            }
        }
    }
    Ok(())
}
