//! EFS file systems. Created with a creation token derived from the
//! blueprint and address, so a create whose answer was lost finds the file
//! system on the next run. Encryption, its key and the performance mode
//! cannot change; the throughput mode and the Infrequent Access transition
//! change in place. They hold data: protected by default.

use super::{client, efs_tags, user_tags};
use crate::cost::Pricing;
use crate::kinds::{Field, KindDef, Lifecycle, PROTECT, TAGS};
use crate::model::names::NameRule;
use crate::model::schema::Schema;
use crate::model::{Address, Kind, Live, Value};
use crate::plan::{touches, FieldDiff};
use crate::providers::AwsResult as _;
use crate::providers::{
    protected_by, wait_for, Cloud, Planned, ProviderError, Row, TAG_ADDRESS, TAG_NAME,
};
use crate::{handle, ops};
use aws_sdk_efs::types::{
    FileSystemDescription, LifeCycleState, LifecyclePolicy, PerformanceMode, ThroughputMode,
    TransitionToIaRules,
};
use aws_sdk_efs::Client;

pub const KIND: Kind = Kind::of(&SCHEMA);

pub static SCHEMA: Schema = Schema::new("efs", "Efs", FIELDS)
    .names(NameRule::chars(
        1,
        128,
        |c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'),
        "letters, digits, `-`, `_` and `.`",
    ))
    .lifecycle(Lifecycle::DATA);

/// The IAM actions of its operations (`bp permissions`).
pub const IAM: crate::permissions::Iam = crate::permissions::Iam::reads(&[
    "elasticfilesystem:DescribeFileSystems",
    "elasticfilesystem:DescribeLifecycleConfiguration",
])
.create(&[
    "elasticfilesystem:CreateFileSystem",
    "elasticfilesystem:TagResource",
    "elasticfilesystem:PutLifecycleConfiguration",
])
.update(&[
    "elasticfilesystem:UpdateFileSystem",
    "elasticfilesystem:PutLifecycleConfiguration",
    "elasticfilesystem:TagResource",
    "elasticfilesystem:UntagResource",
])
.delete(&["elasticfilesystem:DeleteFileSystem"])
.tag_condition()
.service_linked(&["elasticfilesystem.amazonaws.com"]);

pub static DEF: KindDef = KindDef::new(
    KIND,
    Pricing::Priced(price),
    handle!(super::Efs; super::FUNCTIONS, super::register;
        ["access_point", "address", "arn", "dns_name", "id", "name"]),
    ops!(own),
)
.rules(super::lint::FILE_SYSTEM)
.backed_up()
.adopt(crate::boxed!(adopt super::adopt))
.iam(IAM)
.tagged_as("elasticfilesystem:file-system");

const FIELDS: &[Field] = &[
    Field::new("name"),
    Field::new("encrypted").replaces("EFS cannot encrypt or decrypt an existing file system"),
    Field::new("kms_key")
        .replaces("an EFS file system's key cannot change")
        .refers(),
    Field::new("performance_mode").replaces("an EFS file system's performance mode cannot change"),
    Field::new("throughput_mode"),
    Field::new("ia_after_days"),
    PROTECT,
    TAGS,
];

fn tag<'a>(fs: &'a FileSystemDescription, k: &str) -> Option<&'a str> {
    fs.tags().iter().find(|t| t.key() == k).map(|t| t.value())
}

async fn all(efs: &Client) -> Result<Vec<FileSystemDescription>, ProviderError> {
    let pages = efs
        .describe_file_systems()
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .map_err(ProviderError::api("DescribeFileSystems"))?;
    Ok(pages
        .into_iter()
        .filter(|f| {
            !matches!(
                f.life_cycle_state(),
                LifeCycleState::Deleted | LifeCycleState::Deleting
            )
        })
        .collect())
}

async fn ia_days(efs: &Client, id: &str) -> Result<Option<i64>, ProviderError> {
    let out = efs
        .describe_lifecycle_configuration()
        .file_system_id(id)
        .send()
        .await
        .map_err(ProviderError::api("DescribeLifecycleConfiguration"))?;
    Ok(out
        .lifecycle_policies()
        .iter()
        .find_map(|p| p.transition_to_ia())
        // AFTER_1_DAY, AFTER_30_DAYS, ...
        .and_then(|t| {
            t.as_str()
                .strip_prefix("AFTER_")?
                .split('_')
                .next()?
                .parse()
                .ok()
        }))
}

fn live_of(cloud: &Cloud, fs: &FileSystemDescription, ia: Option<i64>) -> Option<Live> {
    if tag(fs, TAG_NAME) != Some(cloud.blueprint.as_str()) {
        return None;
    }
    let address: Address = tag(fs, TAG_ADDRESS)?.parse().ok()?;
    let id = fs.file_system_id();
    let mut l = Live::new(address.clone(), id)
        .attr("name", Value::str(tag(fs, "Name").unwrap_or(&address.name)))
        .attr("encrypted", Value::Bool(fs.encrypted().unwrap_or(false)))
        .attr(
            "performance_mode",
            Value::str(fs.performance_mode().as_str()),
        )
        .attr(
            "throughput_mode",
            Value::str(
                fs.throughput_mode()
                    .map(|t| t.as_str())
                    .unwrap_or("bursting"),
            ),
        )
        .attr("ia_after_days", ia.map(Value::Int).unwrap_or(Value::Null))
        .attr(
            "protect",
            Value::Bool(protected_by(fs.tags().iter().map(|t| (t.key(), t.value())))),
        )
        .output("id", id)
        .output("name", &address.name)
        .output("arn", fs.file_system_arn().unwrap_or_default())
        .output(
            "dns_name",
            format!("{id}.efs.{}.amazonaws.com", cloud.region),
        );
    if let Some(k) = fs.kms_key_id() {
        l.attrs.insert("kms_key".into(), Value::str(k));
    }
    if let Some(t) = user_tags(fs.tags()) {
        l.attrs.insert("tags".into(), t);
    }
    Some(l)
}

/// Owned file systems (by tag, from one paginated list), then, for each,
/// its lifecycle setting, mount targets and access points, in parallel.
pub async fn read(cloud: &Cloud) -> Result<Vec<Live>, ProviderError> {
    let efs = client(cloud);
    let owned: Vec<FileSystemDescription> = all(&efs)
        .await?
        .into_iter()
        .filter(|f| tag(f, TAG_NAME) == Some(cloud.blueprint.as_str()))
        .collect();
    let details = futures::future::join_all(owned.iter().map(|f| async {
        let id = f.file_system_id();
        let (ia, targets, points) = tokio::join!(
            ia_days(&efs, id),
            super::mount_target::of(cloud, &efs, f),
            super::access_point::of(cloud, &efs, id)
        );
        Ok::<_, ProviderError>((ia?, targets?, points?))
    }))
    .await;
    let mut out = Vec::new();
    for (f, d) in owned.iter().zip(details) {
        let (ia, targets, points) = d?;
        out.extend(live_of(cloud, f, ia));
        out.extend(targets);
        out.extend(points);
    }
    Ok(out)
}

async fn describe(efs: &Client, id: &str) -> Result<Option<FileSystemDescription>, ProviderError> {
    let out = efs
        .describe_file_systems()
        .file_system_id(id)
        .send()
        .await
        .map_err(ProviderError::api("DescribeFileSystems"));
    Ok(ProviderError::absent_ok(out)?.and_then(|o| o.file_systems().first().cloned()))
}

async fn settled(cloud: &Cloud, r: &Planned, id: &str) -> Result<Live, ProviderError> {
    let efs = client(cloud);
    let fs = wait_for(
        cloud,
        &format!("EFS file system {id} to be available"),
        || async {
            Ok(describe(&efs, id)
                .await?
                .filter(|f| f.life_cycle_state() == &LifeCycleState::Available))
        },
    )
    .await?;
    let ia = ia_days(&efs, id).await?;
    live_of(cloud, &fs, ia).ok_or_else(|| {
        ProviderError::Unexpected(format!("{}: file system {id} lost its tags", r.address))
    })
}

async fn set_ia(efs: &Client, id: &str, days: Option<i64>) -> Result<(), ProviderError> {
    let policies = match days {
        Some(1) => vec![LifecyclePolicy::builder()
            .transition_to_ia(TransitionToIaRules::After1Day)
            .build()],
        Some(d) => vec![LifecyclePolicy::builder()
            .transition_to_ia(TransitionToIaRules::from(
                format!("AFTER_{d}_DAYS").as_str(),
            ))
            .build()],
        None => Vec::new(),
    };
    efs.put_lifecycle_configuration()
        .file_system_id(id)
        .set_lifecycle_policies(Some(policies))
        .send()
        .await
        .done("PutLifecycleConfiguration")
}

pub async fn create(cloud: &Cloud, r: &Planned) -> Result<Live, ProviderError> {
    let efs = client(cloud);
    let token = cloud.spec_token(r);
    // A create whose answer was lost left a file system with this token.
    let found = efs
        .describe_file_systems()
        .creation_token(&token)
        .send()
        .await
        .map_err(ProviderError::api("DescribeFileSystems"))?
        .file_systems()
        .first()
        .map(|f| f.file_system_id().to_string());
    let id = match found {
        Some(id) => id,
        None => efs
            .create_file_system()
            .creation_token(&token)
            .encrypted(r.bool("encrypted")?)
            .set_kms_key_id(r.get("kms_key")?.and_then(Value::as_str).map(String::from))
            .performance_mode(PerformanceMode::from(r.str("performance_mode")?))
            .throughput_mode(ThroughputMode::from(r.str("throughput_mode")?))
            .set_tags(Some(efs_tags(cloud, r)?))
            .send()
            .await
            .map_err(ProviderError::api("CreateFileSystem"))?
            .file_system_id()
            .to_string(),
    };
    settled(cloud, r, &id).await?;
    let ia = r.get("ia_after_days")?.and_then(Value::as_int);
    if ia.is_some() {
        set_ia(&efs, &id, ia).await?;
    }
    settled(cloud, r, &id).await
}

pub async fn update(
    cloud: &Cloud,
    r: &Planned,
    live: &Live,
    fields: &[FieldDiff],
) -> Result<Live, ProviderError> {
    let efs = client(cloud);
    if touches(fields, "throughput_mode") {
        efs.update_file_system()
            .file_system_id(&live.id)
            .throughput_mode(ThroughputMode::from(r.str("throughput_mode")?))
            .send()
            .await
            .map_err(ProviderError::api("UpdateFileSystem"))?;
    }
    if touches(fields, "ia_after_days") {
        set_ia(
            &efs,
            &live.id,
            r.get("ia_after_days")?.and_then(Value::as_int),
        )
        .await?;
    }
    if touches(fields, "tags") || touches(fields, "protect") || touches(fields, "name") {
        // TagResource takes the file system's id (its ARN holds a `/`,
        // which the resource path does not).
        retag(cloud, r, live, &live.id).await?;
    }
    settled(cloud, r, &live.id).await
}

/// Tags and untags an EFS resource to match the declaration.
pub async fn retag(cloud: &Cloud, r: &Planned, live: &Live, id: &str) -> Result<(), ProviderError> {
    let efs = client(cloud);
    efs.tag_resource()
        .resource_id(id)
        .set_tags(Some(efs_tags(cloud, r)?))
        .send()
        .await
        .map_err(ProviderError::api("TagResource"))?;
    let mut stale = crate::providers::stale_tag_keys(r, live);
    // Kinds that take `protect` lose the tag when it is turned off.
    if r.address.kind.schema().lifecycle.protect.is_some()
        && r.spec.get("protect").and_then(Value::as_bool) != Some(true)
    {
        stale.push(crate::providers::TAG_PROTECT.into());
    }
    if stale.is_empty() {
        return Ok(());
    }
    efs.untag_resource()
        .resource_id(id)
        .set_tag_keys(Some(stale))
        .send()
        .await
        .done("UntagResource")
}

pub async fn delete(cloud: &Cloud, live: &Live) -> Result<(), ProviderError> {
    let efs = client(cloud);
    efs.delete_file_system()
        .file_system_id(&live.id)
        .send()
        .await
        .gone("DeleteFileSystem")?;
    wait_for(
        cloud,
        &format!("EFS file system {} to be deleted", live.id),
        || async { Ok(describe(&efs, &live.id).await?.is_none().then_some(())) },
    )
    .await
}

/// Every file system in the region, owned or not, for `:live`.
pub async fn list(cloud: &Cloud) -> Result<Vec<Row>, ProviderError> {
    let efs = client(cloud);
    Ok(all(&efs)
        .await?
        .iter()
        .map(|f| {
            Row::new(
                f.file_system_id(),
                tag(f, "Name").unwrap_or_default(),
                format!(
                    "{} mount targets, {}",
                    f.number_of_mount_targets(),
                    f.life_cycle_state().as_str()
                ),
            )
            .owner(|k| tag(f, k).map(String::from))
        })
        .collect())
}

/// What an EFS file system costs a month (see [`crate::cost`]).
pub fn price(q: &crate::cost::Quote) -> crate::cost::Estimate {
    use crate::cost::{rate, Cost, Estimate, EFS_GB};
    match q.prices.efs_gb_month {
        Some(gb) => Estimate::Priced(Cost::fixed(
            gb * EFS_GB,
            format!("{EFS_GB} GB assumed × {}", rate(gb)),
        )),
        None => q.missing("EFS storage".into()),
    }
}
