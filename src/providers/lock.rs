//! The apply lock: one `apply` or `destroy` of a blueprint at a time in an
//! account and region. It is an item of the DynamoDB table
//! `blueprint-locks` (key `blueprint`, on-demand, made on first use), so
//! that taking and giving it back are both atomic:
//! - taken with a conditional put (`attribute_not_exists`), which a second
//!   taker loses;
//! - given back with a conditional delete on this holding's random token,
//!   so a process whose lock was broken and taken by another never deletes
//!   the other's;
//! - broken (`bp lock break`) with a plain delete.
//!
//! The item says who holds it: user, host, process, command and start time.
//!
//! (SSM parameters, used before, can be created atomically but not deleted
//! conditionally: giving one back was read-then-delete, which could delete
//! the next holder's lock.)

use super::{Cloud, ProviderError};
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Who holds a lock.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    pub user: String,
    pub host: String,
    pub pid: u32,
    pub command: String,
    /// When it was taken, RFC 3339 in UTC.
    pub started: String,
}

impl Holder {
    /// This process, running `command`.
    pub fn me(command: &str) -> Holder {
        let user = ["USER", "LOGNAME", "USERNAME"]
            .iter()
            .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
            .unwrap_or_else(|| "unknown".into());
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .ok()
            .map(|h| h.trim().to_string())
            .filter(|h| !h.is_empty())
            .or_else(|| std::env::var("HOSTNAME").ok())
            .unwrap_or_else(|| "unknown".into());
        let started = aws_smithy_types::DateTime::from(std::time::SystemTime::now())
            .fmt(aws_smithy_types::date_time::Format::DateTime)
            .unwrap_or_default();
        Holder {
            user,
            host,
            pid: std::process::id(),
            command: command.to_string(),
            started,
        }
    }
}

impl Holder {
    /// Whether the holder ran on this host and its process is gone (a
    /// killed apply): the lock is stale, though only the user can say so.
    pub fn is_dead_here(&self) -> bool {
        let me = Holder::me("");
        self.host == me.host && self.pid != 0 && !running(self.pid)
    }
}

/// Whether process `pid` runs here: it exists and is not a zombie.
fn running(pid: u32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // "pid (comm) S ...": the state follows the command's closing paren.
    let state = stat
        .rsplit_once(')')
        .and_then(|(_, rest)| rest.trim_start().chars().next());
    !matches!(state, Some('Z' | 'X'))
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} on {} (process {}) running `{}` since {}",
            self.user, self.host, self.pid, self.command, self.started
        )
    }
}

/// Why a lock could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("blueprint {blueprint} is locked by {holder}")]
    Held { blueprint: String, holder: Holder },
    #[error(transparent)]
    Provider(#[from] ProviderError),
}

/// A lock this process holds; [`Lock::release`] gives it back.
#[derive(Clone, Debug)]
pub struct Lock {
    cloud: Cloud,
    holder: Holder,
    /// This holding's own token: only it can give the lock back.
    token: String,
}

/// The table that holds every blueprint's lock in an account and region.
pub const TABLE: &str = "blueprint-locks";

pub(super) fn dynamodb(cloud: &Cloud) -> aws_sdk_dynamodb::Client {
    cloud.client(|conf, counter| {
        aws_sdk_dynamodb::Client::from_conf(
            aws_sdk_dynamodb::config::Builder::from(conf)
                .interceptor(counter)
                .build(),
        )
    })
}

use aws_sdk_dynamodb::types::AttributeValue;

fn key(cloud: &Cloud) -> AttributeValue {
    AttributeValue::S(cloud.blueprint.clone())
}

fn holder_of(item: &std::collections::HashMap<String, AttributeValue>) -> Holder {
    let value = item
        .get("holder")
        .and_then(|v| v.as_s().ok())
        .cloned()
        .unwrap_or_default();
    serde_json::from_str(&value).unwrap_or_else(|_| Holder {
        user: "?".into(),
        host: "?".into(),
        pid: 0,
        command: "(unreadable lock)".into(),
        started: "?".into(),
    })
}

/// The lock item of the cloud's blueprint, if any (none when the table
/// does not exist yet).
async fn item(
    cloud: &Cloud,
) -> Result<Option<std::collections::HashMap<String, AttributeValue>>, ProviderError> {
    match dynamodb(cloud)
        .get_item()
        .table_name(TABLE)
        .key("blueprint", key(cloud))
        .consistent_read(true)
        .send()
        .await
    {
        Ok(out) => Ok(out.item),
        Err(e) if e.code() == Some("ResourceNotFoundException") => Ok(None),
        Err(e) => Err(ProviderError::api("GetItem")(e)),
    }
}

/// Who holds the lock of the cloud's blueprint, if anyone.
pub async fn status(cloud: &Cloud) -> Result<Option<Holder>, ProviderError> {
    Ok(item(cloud).await?.map(|i| holder_of(&i)))
}

/// Makes the lock table (on-demand, so it costs nothing at rest) and waits
/// until it is active; another process making it at the same time is fine.
pub(super) async fn create_table(cloud: &Cloud) -> Result<(), ProviderError> {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType, Tag,
    };
    let built = |e: aws_sdk_dynamodb::error::BuildError| ProviderError::Unexpected(e.to_string());
    let made = dynamodb(cloud)
        .create_table()
        .table_name(TABLE)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("blueprint")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .map_err(built)?,
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("blueprint")
                .key_type(KeyType::Hash)
                .build()
                .map_err(built)?,
        )
        .tags(
            Tag::builder()
                .key("blueprint:purpose")
                .value("apply locks of every blueprint in this account and region")
                .build()
                .map_err(built)?,
        )
        .send()
        .await;
    match made {
        Ok(_) => {}
        Err(e) if e.code() == Some("ResourceInUseException") => {}
        Err(e) => return Err(ProviderError::api("CreateTable")(e)),
    }
    let start = std::time::Instant::now();
    loop {
        let out = dynamodb(cloud)
            .describe_table()
            .table_name(TABLE)
            .send()
            .await
            .map_err(ProviderError::api("DescribeTable"))?;
        let active = out.table().and_then(|t| t.table_status())
            == Some(&aws_sdk_dynamodb::types::TableStatus::Active);
        if active {
            return Ok(());
        }
        if start.elapsed() > Duration::from_secs(120) {
            return Err(ProviderError::Unexpected(format!(
                "the lock table {TABLE} did not become active"
            )));
        }
        tokio::time::sleep(cloud.poll_interval.min(Duration::from_secs(2))).await;
    }
}

/// Deletes the item at `key` of the lock table if its attribute `attr`
/// is `value`; an item that is gone, or holds another value (someone
/// else's), is left as it is without error.
pub(super) async fn delete_if(
    cloud: &Cloud,
    key: AttributeValue,
    attr: &str,
    value: &str,
) -> Result<(), ProviderError> {
    match dynamodb(cloud)
        .delete_item()
        .table_name(TABLE)
        .key("blueprint", key)
        .condition_expression("#a = :v")
        .expression_attribute_names("#a", attr)
        .expression_attribute_values(":v", AttributeValue::S(value.to_string()))
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e)
            if matches!(
                e.code(),
                Some("ConditionalCheckFailedException" | "ResourceNotFoundException")
            ) =>
        {
            Ok(())
        }
        Err(e) => Err(ProviderError::api("DeleteItem")(e)),
    }
}

/// A random token of this holding.
fn token() -> String {
    let mut b = [0u8; 16];
    getrandom::getrandom(&mut b).expect("the operating system gives random bytes");
    hex::encode(b)
}

/// Takes the lock of the cloud's blueprint for `holder`. When another
/// holds it, waits up to `wait` (polling), then fails naming the holder.
pub async fn acquire(cloud: &Cloud, holder: Holder, wait: Duration) -> Result<Lock, LockError> {
    let value = serde_json::to_string(&holder).unwrap_or_default();
    let token = token();
    let start = std::time::Instant::now();
    let mut failures = 0;
    let mut made_table = false;
    loop {
        let put = dynamodb(cloud)
            .put_item()
            .table_name(TABLE)
            .item("blueprint", key(cloud))
            .item("holder", AttributeValue::S(value.clone()))
            .item("token", AttributeValue::S(token.clone()))
            .condition_expression("attribute_not_exists(#b)")
            .expression_attribute_names("#b", "blueprint")
            .send()
            .await;
        let err = match put {
            Ok(_) => {
                return Ok(Lock {
                    cloud: cloud.clone(),
                    holder,
                    token,
                })
            }
            Err(e) if e.code() == Some("ResourceNotFoundException") && !made_table => {
                create_table(cloud).await?;
                made_table = true;
                continue;
            }
            Err(e) => ProviderError::api("PutItem")(e),
        };
        let taken = err.code() == Some("ConditionalCheckFailedException");
        if !taken && !err.maybe_done() {
            return Err(err.into());
        }
        let found = item(cloud).await?;
        // The put happened although its answer was lost (and the SDK may
        // have sent it again): the lock is ours.
        let ours = found
            .as_ref()
            .and_then(|i| i.get("token"))
            .and_then(|t| t.as_s().ok())
            == Some(&token);
        if ours {
            return Ok(Lock {
                cloud: cloud.clone(),
                holder,
                token,
            });
        }
        match found.map(|i| holder_of(&i)) {
            // Released in between, or the put never happened: again, a
            // few times.
            None if taken || failures < 3 => {
                failures += usize::from(!taken);
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            None => return Err(err.into()),
            Some(other) if start.elapsed() >= wait => {
                return Err(LockError::Held {
                    blueprint: cloud.blueprint.clone(),
                    holder: other,
                })
            }
            Some(_) => tokio::time::sleep(Duration::from_secs(2).min(wait)).await,
        }
    }
}

/// Removes the lock whoever holds it (`bp lock break`); whether there was
/// one.
pub async fn break_lock(cloud: &Cloud) -> Result<bool, ProviderError> {
    match dynamodb(cloud)
        .delete_item()
        .table_name(TABLE)
        .key("blueprint", key(cloud))
        .return_values(aws_sdk_dynamodb::types::ReturnValue::AllOld)
        .send()
        .await
    {
        Ok(out) => Ok(out.attributes.is_some()),
        Err(e) if e.code() == Some("ResourceNotFoundException") => Ok(false),
        Err(e) => Err(ProviderError::api("DeleteItem")(e)),
    }
}

impl Lock {
    pub fn holder(&self) -> &Holder {
        &self.holder
    }

    /// Gives the lock back if it is still this holding's: one delete,
    /// conditional on the token, so a lock broken and taken by someone
    /// else stays theirs.
    pub async fn release(&self) -> Result<(), ProviderError> {
        delete_if(&self.cloud, key(&self.cloud), "token", &self.token).await
    }

    /// [`Lock::release`] from anywhere, an async runtime's thread or
    /// unwinding from a panic included: on a thread of its own.
    pub fn release_blocking(&self) -> Result<(), ProviderError> {
        let lock = self.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| ProviderError::Unexpected(e.to_string()))?;
            rt.block_on(lock.release())
        })
        .join()
        .unwrap_or_else(|_| {
            Err(ProviderError::Unexpected(
                "releasing the lock panicked".into(),
            ))
        })
    }
}
