//! The apply lock: one `apply` or `destroy` of a blueprint at a time in an
//! account and region. It is an SSM parameter, `/blueprint/locks/<name>`,
//! created without overwrite: SSM refuses a second create
//! (`ParameterAlreadyExists`) atomically, and nothing has to exist
//! beforehand, so it works on an empty account. Its value says who holds
//! it: user, host, process, command and start time.
//!
//! (Of the candidates, moto serves SSM's no-overwrite create faithfully;
//! an S3 conditional put would need a bucket made and protected first, and
//! a DynamoDB conditional write a table.)

use super::{Cloud, ProviderError};
use aws_sdk_ssm::error::ProvideErrorMetadata;
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
}

fn ssm(cloud: &Cloud) -> aws_sdk_ssm::Client {
    cloud.client(|conf, counter| {
        aws_sdk_ssm::Client::from_conf(
            aws_sdk_ssm::config::Builder::from(conf)
                .interceptor(counter)
                .build(),
        )
    })
}

/// The parameter that holds the lock of `blueprint`.
pub fn parameter(blueprint: &str) -> String {
    format!("/blueprint/locks/{blueprint}")
}

/// Who holds the lock of the cloud's blueprint, if anyone.
pub async fn status(cloud: &Cloud) -> Result<Option<Holder>, ProviderError> {
    match ssm(cloud)
        .get_parameter()
        .name(parameter(&cloud.blueprint))
        .send()
        .await
    {
        Ok(out) => {
            let value = out.parameter().and_then(|p| p.value()).unwrap_or_default();
            Ok(Some(serde_json::from_str(value).unwrap_or_else(|_| {
                Holder {
                    user: "?".into(),
                    host: "?".into(),
                    pid: 0,
                    command: format!("(unreadable lock: {value})"),
                    started: "?".into(),
                }
            })))
        }
        Err(e) if e.code() == Some("ParameterNotFound") => Ok(None),
        Err(e) => Err(ProviderError::api("GetParameter")(e)),
    }
}

/// Takes the lock of the cloud's blueprint for `holder`. When another
/// holds it, waits up to `wait` (polling), then fails naming the holder.
pub async fn acquire(cloud: &Cloud, holder: Holder, wait: Duration) -> Result<Lock, LockError> {
    let value = serde_json::to_string(&holder).unwrap_or_default();
    let start = std::time::Instant::now();
    let mut failures = 0;
    loop {
        let put = ssm(cloud)
            .put_parameter()
            .name(parameter(&cloud.blueprint))
            .value(&value)
            .r#type(aws_sdk_ssm::types::ParameterType::String)
            .overwrite(false)
            .description(format!(
                "Blueprint's apply lock of {}: who applies it now",
                cloud.blueprint
            ))
            .send()
            .await;
        let err = match put {
            Ok(_) => {
                return Ok(Lock {
                    cloud: cloud.clone(),
                    holder,
                })
            }
            Err(e) => ProviderError::api("PutParameter")(e),
        };
        let taken = err.code() == Some("ParameterAlreadyExists");
        if !taken && !err.maybe_done() {
            return Err(err.into());
        }
        let found = status(cloud).await?;
        // The put happened although its answer was lost (and the SDK may
        // have sent it again): the lock is ours.
        if found.as_ref() == Some(&holder) {
            return Ok(Lock {
                cloud: cloud.clone(),
                holder,
            });
        }
        match found {
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
    match ssm(cloud)
        .delete_parameter()
        .name(parameter(&cloud.blueprint))
        .send()
        .await
    {
        Ok(_) => Ok(true),
        Err(e) if e.code() == Some("ParameterNotFound") => Ok(false),
        Err(e) => Err(ProviderError::api("DeleteParameter")(e)),
    }
}

impl Lock {
    pub fn holder(&self) -> &Holder {
        &self.holder
    }

    /// Gives the lock back, if it is still this process's (a lock broken
    /// and taken by someone else stays theirs).
    pub async fn release(&self) -> Result<(), ProviderError> {
        if status(&self.cloud).await?.as_ref() == Some(&self.holder) {
            break_lock(&self.cloud).await?;
        }
        Ok(())
    }

    /// [`Lock::release`] from outside any async runtime (the Ctrl-C
    /// handler's thread).
    pub fn release_blocking(&self) -> Result<(), ProviderError> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| ProviderError::Unexpected(e.to_string()))?;
        rt.block_on(self.release())
    }
}
