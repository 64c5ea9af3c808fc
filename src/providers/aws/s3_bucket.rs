//! S3 buckets: versioning, default encryption, an expiry lifecycle rule and
//! the public-access block. Found by tag. A bucket is only deleted empty.

use super::tagging;
use crate::model::{Live, Value};
use crate::plan::{touches, FieldDiff};
use crate::providers::{Cloud, Planned, ProviderError};
use aws_sdk_s3::types::{
    BucketLifecycleConfiguration, BucketLocationConstraint, BucketVersioningStatus,
    CreateBucketConfiguration, ExpirationStatus, LifecycleExpiration, LifecycleRule,
    LifecycleRuleFilter, NoncurrentVersionExpiration, PublicAccessBlockConfiguration,
    ServerSideEncryption, ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration,
    ServerSideEncryptionRule, Tag, Tagging, VersioningConfiguration,
};

const EXPIRE_RULE: &str = "blueprint-expire";

fn build_err(e: aws_smithy_types::error::operation::BuildError) -> ProviderError {
    ProviderError::Unexpected(e.to_string())
}

/// The emulator (moto 5.2.5) answers GetBucketVersioning with a
/// `GetBucketVersioningResponse` root that the SDK rejects; its status is
/// still readable from the body.
fn versioning_from_raw<E>(
    e: &aws_sdk_s3::error::SdkError<E, aws_smithy_runtime_api::client::orchestrator::HttpResponse>,
) -> Option<bool> {
    let raw = e.raw_response()?;
    let body = std::str::from_utf8(raw.body().bytes()?).ok()?;
    if !body.contains("GetBucketVersioningResponse") {
        return None;
    }
    Some(body.contains("<Status>Enabled</Status>"))
}

/// `Ok(None)` when S3 answers that the configuration is not set.
fn optional<T>(r: Result<T, ProviderError>, unset: &str) -> Result<Option<T>, ProviderError> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.code() == Some(unset) => Ok(None),
        Err(e) => Err(e),
    }
}

async fn describe(cloud: &Cloud, name: &str) -> Result<(bool, Value, Value, bool), ProviderError> {
    let s3 = &cloud.s3;
    let (v, e, l, p) = tokio::join!(
        s3.get_bucket_versioning().bucket(name).send(),
        s3.get_bucket_encryption().bucket(name).send(),
        s3.get_bucket_lifecycle_configuration().bucket(name).send(),
        s3.get_public_access_block().bucket(name).send(),
    );
    let versioning = match v {
        Ok(o) => o.status() == Some(&BucketVersioningStatus::Enabled),
        Err(e) => {
            versioning_from_raw(&e).ok_or_else(|| ProviderError::api("GetBucketVersioning")(e))?
        }
    };
    let encryption = optional(
        e.map_err(ProviderError::api("GetBucketEncryption")),
        "ServerSideEncryptionConfigurationNotFoundError",
    )?;
    let key = encryption
        .as_ref()
        .and_then(|o| o.server_side_encryption_configuration())
        .and_then(|c| c.rules().first())
        .and_then(|r| r.apply_server_side_encryption_by_default())
        .filter(|d| d.sse_algorithm() == &ServerSideEncryption::AwsKms)
        .and_then(|d| d.kms_master_key_id())
        .map(Value::str)
        .unwrap_or(Value::Null);
    let lifecycle = optional(
        l.map_err(ProviderError::api("GetBucketLifecycleConfiguration")),
        "NoSuchLifecycleConfiguration",
    )?;
    let expire = lifecycle
        .as_ref()
        .and_then(|o| {
            o.rules()
                .iter()
                .find(|r| r.id() == Some(EXPIRE_RULE))
                .cloned()
        })
        .and_then(|r| r.expiration().and_then(|x| x.days()))
        .map(|d| Value::Int(d.into()))
        .unwrap_or(Value::Null);
    let block = optional(
        p.map_err(ProviderError::api("GetPublicAccessBlock")),
        "NoSuchPublicAccessBlockConfiguration",
    )?;
    let blocked = block
        .as_ref()
        .and_then(|o| o.public_access_block_configuration())
        .is_some_and(|c| {
            c.block_public_acls() == Some(true)
                && c.ignore_public_acls() == Some(true)
                && c.block_public_policy() == Some(true)
                && c.restrict_public_buckets() == Some(true)
        });
    Ok((versioning, key, expire, blocked))
}

pub async fn read(cloud: &Cloud) -> Result<Vec<Live>, ProviderError> {
    let buckets = tagging::owned(cloud, "s3").await?;
    let described = futures::future::join_all(buckets.iter().map(|b| {
        let name = b.arn.trim_start_matches("arn:aws:s3:::").to_string();
        async move { describe(cloud, &name).await.map(|d| (name, d)) }
    }))
    .await;
    let mut out = Vec::new();
    for (b, d) in buckets.into_iter().zip(described) {
        let (name, (versioning, key, expire, blocked)) = match d {
            Ok(x) => x,
            Err(e) if e.code() == Some("NoSuchBucket") => continue,
            Err(e) => return Err(e),
        };
        let mut l = Live::new(b.address.clone(), &name)
            .attr("name", Value::str(&name))
            .attr("versioning", Value::Bool(versioning))
            .attr("encryption_key", key)
            .attr("expire_days", expire)
            .attr("public_access_block", Value::Bool(blocked))
            .output("name", &name)
            .output("arn", &b.arn);
        if !b.tags.is_empty() {
            l.attrs.insert("tags".into(), Value::Map(b.tags));
        }
        out.push(l);
    }
    Ok(out)
}

async fn put_tags(cloud: &Cloud, r: &Planned, name: &str) -> Result<(), ProviderError> {
    let tags = cloud
        .tags_for(&r.address, &r.spec)
        .into_iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build().map_err(build_err))
        .collect::<Result<Vec<_>, _>>()?;
    cloud
        .s3
        .put_bucket_tagging()
        .bucket(name)
        .tagging(
            Tagging::builder()
                .set_tag_set(Some(tags))
                .build()
                .map_err(build_err)?,
        )
        .send()
        .await
        .map_err(ProviderError::api("PutBucketTagging"))?;
    Ok(())
}

async fn set_versioning(cloud: &Cloud, name: &str, on: bool) -> Result<(), ProviderError> {
    let status = if on {
        BucketVersioningStatus::Enabled
    } else {
        BucketVersioningStatus::Suspended
    };
    cloud
        .s3
        .put_bucket_versioning()
        .bucket(name)
        .versioning_configuration(VersioningConfiguration::builder().status(status).build())
        .send()
        .await
        .map_err(ProviderError::api("PutBucketVersioning"))?;
    Ok(())
}

async fn set_encryption(cloud: &Cloud, name: &str, key: Option<&str>) -> Result<(), ProviderError> {
    let default = match key {
        Some(k) => ServerSideEncryptionByDefault::builder()
            .sse_algorithm(ServerSideEncryption::AwsKms)
            .kms_master_key_id(k),
        None => {
            ServerSideEncryptionByDefault::builder().sse_algorithm(ServerSideEncryption::Aes256)
        }
    }
    .build()
    .map_err(build_err)?;
    let config = ServerSideEncryptionConfiguration::builder()
        .rules(
            ServerSideEncryptionRule::builder()
                .apply_server_side_encryption_by_default(default)
                .bucket_key_enabled(key.is_some())
                .build(),
        )
        .build()
        .map_err(build_err)?;
    cloud
        .s3
        .put_bucket_encryption()
        .bucket(name)
        .server_side_encryption_configuration(config)
        .send()
        .await
        .map_err(ProviderError::api("PutBucketEncryption"))?;
    Ok(())
}

async fn set_expiry(cloud: &Cloud, name: &str, days: Option<i64>) -> Result<(), ProviderError> {
    let Some(days) = days else {
        cloud
            .s3
            .delete_bucket_lifecycle()
            .bucket(name)
            .send()
            .await
            .map_err(ProviderError::api("DeleteBucketLifecycle"))?;
        return Ok(());
    };
    let rule = LifecycleRule::builder()
        .id(EXPIRE_RULE)
        .status(ExpirationStatus::Enabled)
        .filter(LifecycleRuleFilter::builder().prefix("").build())
        .expiration(LifecycleExpiration::builder().days(days as i32).build())
        .noncurrent_version_expiration(
            NoncurrentVersionExpiration::builder()
                .noncurrent_days(days as i32)
                .build(),
        )
        .build()
        .map_err(build_err)?;
    cloud
        .s3
        .put_bucket_lifecycle_configuration()
        .bucket(name)
        .lifecycle_configuration(
            BucketLifecycleConfiguration::builder()
                .rules(rule)
                .build()
                .map_err(build_err)?,
        )
        .send()
        .await
        .map_err(ProviderError::api("PutBucketLifecycleConfiguration"))?;
    Ok(())
}

async fn set_public_access_block(cloud: &Cloud, name: &str, on: bool) -> Result<(), ProviderError> {
    if on {
        cloud
            .s3
            .put_public_access_block()
            .bucket(name)
            .public_access_block_configuration(
                PublicAccessBlockConfiguration::builder()
                    .block_public_acls(true)
                    .ignore_public_acls(true)
                    .block_public_policy(true)
                    .restrict_public_buckets(true)
                    .build(),
            )
            .send()
            .await
            .map_err(ProviderError::api("PutPublicAccessBlock"))?;
    } else {
        cloud
            .s3
            .delete_public_access_block()
            .bucket(name)
            .send()
            .await
            .map_err(ProviderError::api("DeletePublicAccessBlock"))?;
    }
    Ok(())
}

fn settled(r: &Planned, name: &str) -> Live {
    let mut l = Live::new(r.address.clone(), name);
    l.attrs = r.spec.clone();
    l.output("name", name)
        .output("arn", format!("arn:aws:s3:::{name}"))
}

pub async fn create(cloud: &Cloud, r: &Planned) -> Result<Live, ProviderError> {
    let name = r.str("name")?;
    let mut call = cloud.s3.create_bucket().bucket(name);
    if cloud.region != "us-east-1" {
        call = call.create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::from(cloud.region.as_str()))
                .build(),
        );
    }
    if let Err(e) = call.send().await {
        let e = ProviderError::api("CreateBucket")(e);
        // Ours from an interrupted apply: carry on configuring it.
        if e.code() != Some("BucketAlreadyOwnedByYou") {
            return Err(e);
        }
    }
    put_tags(cloud, r, name).await?;
    if r.bool("versioning") {
        set_versioning(cloud, name, true).await?;
    }
    set_encryption(
        cloud,
        name,
        r.spec.get("encryption_key").and_then(Value::as_str),
    )
    .await?;
    if let Some(days) = r.spec.get("expire_days").and_then(Value::as_int) {
        set_expiry(cloud, name, Some(days)).await?;
    }
    if r.bool("public_access_block") {
        set_public_access_block(cloud, name, true).await?;
    }
    Ok(settled(r, name))
}

pub async fn update(
    cloud: &Cloud,
    r: &Planned,
    live: &Live,
    fields: &[FieldDiff],
) -> Result<Live, ProviderError> {
    let changed = |p: &str| touches(fields, p);
    let name = live.id.as_str();
    if changed("versioning") {
        set_versioning(cloud, name, r.bool("versioning")).await?;
    }
    if changed("encryption_key") {
        set_encryption(
            cloud,
            name,
            r.spec.get("encryption_key").and_then(Value::as_str),
        )
        .await?;
    }
    if changed("expire_days") {
        set_expiry(
            cloud,
            name,
            r.spec.get("expire_days").and_then(Value::as_int),
        )
        .await?;
    }
    if changed("public_access_block") {
        set_public_access_block(cloud, name, r.bool("public_access_block")).await?;
    }
    if changed("tags") {
        put_tags(cloud, r, name).await?;
    }
    Ok(settled(r, name))
}

pub async fn delete(cloud: &Cloud, live: &Live) -> Result<(), ProviderError> {
    match cloud.s3.delete_bucket().bucket(&live.id).send().await {
        Ok(_) => Ok(()),
        Err(e) => {
            let e = ProviderError::api("DeleteBucket")(e);
            match e.code() {
                Some("NoSuchBucket") => Ok(()),
                Some("BucketNotEmpty") => Err(ProviderError::Unsupported(format!(
                    "bucket {} is not empty; Blueprint does not delete data: empty it, then run again",
                    live.id
                ))),
                _ => Err(e),
            }
        }
    }
}
