//! AWS Backup vaults, declared by `backup_plan(...)`. A vault holds
//! recovery points: it is protected by default, and AWS refuses to delete
//! one that still holds any. Its name and key cannot change.

use super::{client, owner, tags_of, user_tags, with_tags};
use crate::cost::Pricing;
use crate::kinds::{Field, KindDef, Lifecycle, PROTECT, TAGS};
use crate::model::names::NameRule;
use crate::model::schema::Schema;
use crate::model::{Kind, Live, Value};
use crate::plan::{touches, FieldDiff};
use crate::providers::AwsResult as _;
use crate::providers::{protected_by, Cloud, Planned, ProviderError, Row};
use crate::{handle, ops};
use aws_sdk_backup::types::BackupVaultListMember;
use aws_sdk_backup::Client;

crate::handle_type!(BackupVault);

pub const KIND: Kind = Kind::of(&SCHEMA);

pub static SCHEMA: Schema = Schema::new("backup_vault", "BackupVault", FIELDS)
    .attr("name")
    .names(NameRule::chars(
        2,
        50,
        vault_char,
        "letters, digits, `-` and `_`",
    ))
    .lifecycle(Lifecycle::DATA);

/// The IAM actions of its operations (`bp permissions`).
pub const IAM: crate::permissions::Iam =
    crate::permissions::Iam::reads(&["backup:ListBackupVaults", "backup:ListTags"])
        // A vault's storage and its key.
        .create(&[
            "backup:CreateBackupVault",
            "backup:TagResource",
            "backup-storage:MountCapsule",
            "kms:CreateGrant",
            "kms:GenerateDataKey",
            "kms:Decrypt",
            "kms:RetireGrant",
            "kms:DescribeKey",
        ])
        .update(&["backup:TagResource", "backup:UntagResource"])
        .delete(&[
            "backup:ListRecoveryPointsByBackupVault",
            "backup:DeleteBackupVault",
        ]);

pub static DEF: KindDef = KindDef::new(
    KIND,
    Pricing::Free,
    handle!(BackupVault; &[], |e, _| BackupVault::register_type(e,
); ["address", "arn", "name"]),
    ops!(own super::read),
)
.iam(IAM)
.tagged_as("backup:backup-vault");

const FIELDS: &[Field] = &[
    Field::new("name").replaces("a backup vault's name cannot change"),
    Field::new("kms_key")
        .replaces("a backup vault's encryption key cannot change")
        .refers(),
    PROTECT,
    TAGS,
];

fn vault_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_')
}

pub(super) async fn all(b: &Client) -> Result<Vec<BackupVaultListMember>, ProviderError> {
    b.list_backup_vaults()
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .map_err(ProviderError::api("ListBackupVaults"))
}

fn live_of(
    cloud: &Cloud,
    v: &BackupVaultListMember,
    tags: &std::collections::HashMap<String, String>,
) -> Option<Live> {
    let address = owner(cloud, tags)?;
    let name = v.backup_vault_name()?;
    let mut l = Live::new(address, name)
        .attr("name", Value::str(name))
        .attr(
            "protect",
            Value::Bool(protected_by(
                tags.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            )),
        )
        .output("name", name)
        .output("arn", v.backup_vault_arn().unwrap_or_default());
    if let Some(k) = v.encryption_key_arn() {
        l.attrs.insert("kms_key".into(), Value::str(k));
    }
    if let Some(t) = user_tags(tags) {
        l.attrs.insert("tags".into(), t);
    }
    Some(l)
}

/// The owned vaults among `vaults` (their tags read in parallel).
pub(super) async fn owned(
    cloud: &Cloud,
    b: &Client,
    vaults: &[BackupVaultListMember],
) -> Result<Vec<Live>, ProviderError> {
    Ok(with_tags(b, vaults, |v| v.backup_vault_arn())
        .await?
        .iter()
        .filter_map(|(v, t)| live_of(cloud, v, t))
        .collect())
}

async fn find(
    cloud: &Cloud,
    name: &str,
) -> Result<
    Option<(
        BackupVaultListMember,
        std::collections::HashMap<String, String>,
    )>,
    ProviderError,
> {
    let b = client(cloud);
    let Some(v) = all(&b)
        .await?
        .into_iter()
        .find(|v| v.backup_vault_name() == Some(name))
    else {
        return Ok(None);
    };
    let tags = tags_of(&b, v.backup_vault_arn().unwrap_or_default()).await?;
    Ok(Some((v, tags)))
}

async fn settled(cloud: &Cloud, r: &Planned, name: &str) -> Result<Live, ProviderError> {
    let (v, tags) = find(cloud, name)
        .await?
        .ok_or_else(|| ProviderError::Unexpected(format!("{}: vault {name} is gone", r.address)))?;
    live_of(cloud, &v, &tags).ok_or_else(|| {
        ProviderError::Unexpected(format!("{}: vault {name} lost its tags", r.address))
    })
}

pub async fn create(cloud: &Cloud, r: &Planned) -> Result<Live, ProviderError> {
    let name = r.str("name")?;
    match find(cloud, name).await? {
        // An interrupted apply created it: adopt it.
        Some((_, tags)) if owner(cloud, &tags).as_ref() == Some(&r.address) => {}
        Some(_) => {
            return Err(ProviderError::Spec(format!(
                "{}: a backup vault named {name} exists and is not this blueprint's",
                r.address
            )))
        }
        None => {
            let kms = r.get("kms_key")?.and_then(Value::as_str).map(String::from);
            client(cloud)
                .create_backup_vault()
                .backup_vault_name(name)
                .set_encryption_key_arn(kms)
                .set_backup_vault_tags(Some(
                    cloud.tags_for(&r.address, &r.spec).into_iter().collect(),
                ))
                .creator_request_id(cloud.client_token(&r.address))
                .send()
                .await
                .map_err(ProviderError::api("CreateBackupVault"))?;
        }
    }
    settled(cloud, r, name).await
}

pub async fn update(
    cloud: &Cloud,
    r: &Planned,
    live: &Live,
    fields: &[FieldDiff],
) -> Result<Live, ProviderError> {
    if touches(fields, "tags") || touches(fields, "protect") {
        let arn = live.outputs.get("arn").cloned().unwrap_or_default();
        super::retag(cloud, r, live, &arn).await?;
    }
    settled(cloud, r, r.str("name")?).await
}

pub async fn delete(cloud: &Cloud, live: &Live) -> Result<(), ProviderError> {
    client(cloud)
        .delete_backup_vault()
        .backup_vault_name(&live.id)
        .send()
        .await
        .gone("DeleteBackupVault")
}

/// Every vault in the region, owned or not, for `:live`.
pub async fn list(cloud: &Cloud) -> Result<Vec<Row>, ProviderError> {
    let b = client(cloud);
    let vaults = all(&b).await?;
    let mut rows = Vec::new();
    for (v, t) in with_tags(&b, &vaults, |v| v.backup_vault_arn()).await? {
        rows.push(
            Row::new(
                v.backup_vault_name().unwrap_or_default(),
                v.backup_vault_name().unwrap_or_default(),
                format!("{} recovery points", v.number_of_recovery_points()),
            )
            .owner(|k| t.get(k).cloned()),
        );
    }
    Ok(rows)
}
