//! DB subnet groups, declared by `rds_postgres(...)`: the subnets an RDS
//! instance may live in. Subnets and description change in place.

use super::{client, owner, rds_tags, user_tags};
use crate::cost::Pricing;
use crate::kinds::{Field, KindDef, TAGS};
use crate::model::names::NameRule;
use crate::model::schema::Schema;
use crate::model::{Kind, Live, Value};
use crate::plan::{touches, FieldDiff};
use crate::providers::AwsResult as _;
use crate::providers::{Cloud, Planned, ProviderError, Row};
use crate::{handle, ops};
use aws_sdk_rds::types::{DbSubnetGroup, Tag};
use aws_sdk_rds::Client;

crate::handle_type!(DbSubnetGroupHandle);

pub const KIND: Kind = Kind::of(&SCHEMA);

pub static SCHEMA: Schema = Schema::new("db_subnet_group", "DbSubnetGroup", FIELDS)
    .attr("name")
    .names(NameRule::chars(
        1,
        255,
        |c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ' '),
        "letters, digits, spaces, `-`, `_` and `.`",
    ));

/// The IAM actions of its operations (`bp permissions`).
pub const IAM: crate::permissions::Iam =
    crate::permissions::Iam::reads(&["rds:DescribeDBSubnetGroups", "rds:ListTagsForResource"])
        .create(&["rds:CreateDBSubnetGroup", "rds:AddTagsToResource"])
        .update(&[
            "rds:ModifyDBSubnetGroup",
            "rds:AddTagsToResource",
            "rds:RemoveTagsFromResource",
        ])
        .delete(&["rds:DeleteDBSubnetGroup"])
        .arns(&["arn:aws:rds:{region}:{account}:subgrp:{name}"]);

pub static DEF: KindDef =
    KindDef::new(KIND, Pricing::Free, handle!(DbSubnetGroupHandle), ops!(own))
        .adopt(crate::boxed!(adopt adopt))
        .iam(IAM);

const FIELDS: &[Field] = &[
    Field::new("name").replaces("a DB subnet group's name cannot change"),
    Field::new("description"),
    Field::new("subnets").set().refers(),
    TAGS,
];

async fn all(rds: &Client) -> Result<Vec<DbSubnetGroup>, ProviderError> {
    rds.describe_db_subnet_groups()
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .map_err(ProviderError::api("DescribeDBSubnetGroups"))
}

pub(super) async fn tags_of(rds: &Client, arn: &str) -> Result<Vec<Tag>, ProviderError> {
    rds.list_tags_for_resource()
        .resource_name(arn)
        .send()
        .await
        .map(|o| o.tag_list().to_vec())
        .map_err(ProviderError::api("ListTagsForResource"))
}

fn live_of(cloud: &Cloud, g: &DbSubnetGroup, tags: &[Tag]) -> Option<Live> {
    let address = owner(cloud, tags)?;
    let name = g.db_subnet_group_name()?;
    let mut subnets: Vec<String> = g
        .subnets()
        .iter()
        .filter_map(|s| s.subnet_identifier().map(String::from))
        .collect();
    subnets.sort();
    let mut l = Live::new(address, name)
        .attr("name", Value::str(name))
        .attr(
            "description",
            Value::str(g.db_subnet_group_description().unwrap_or_default()),
        )
        .attr(
            "subnets",
            Value::List(subnets.iter().map(Value::str).collect()),
        )
        .output("name", name)
        .output("arn", g.db_subnet_group_arn().unwrap_or_default());
    if let Some(t) = user_tags(tags) {
        l.attrs.insert("tags".into(), t);
    }
    Some(l)
}

/// Owned subnet groups and, in parallel, owned parameter groups (which
/// are read with them).
pub async fn read(cloud: &Cloud) -> Result<Vec<Live>, ProviderError> {
    let (mut subnets, params) = tokio::join!(
        read_subnet_groups(cloud),
        super::parameter_group::read_owned(cloud)
    );
    if let Ok(s) = &mut subnets {
        s.extend(params?);
    }
    subnets
}

/// Owned subnet groups: one paginated list, then each group's tags in
/// parallel (the list carries none).
async fn read_subnet_groups(cloud: &Cloud) -> Result<Vec<Live>, ProviderError> {
    let rds = client(cloud);
    let groups = all(&rds).await?;
    let tags = futures::future::join_all(
        groups
            .iter()
            .map(|g| tags_of(&rds, g.db_subnet_group_arn().unwrap_or_default())),
    )
    .await;
    let mut out = Vec::new();
    for (g, t) in groups.iter().zip(tags) {
        out.extend(live_of(cloud, g, &t?));
    }
    Ok(out)
}

async fn settled(cloud: &Cloud, r: &Planned, name: &str) -> Result<Live, ProviderError> {
    let rds = client(cloud);
    let g = rds
        .describe_db_subnet_groups()
        .db_subnet_group_name(name)
        .send()
        .await
        .map_err(ProviderError::api("DescribeDBSubnetGroups"))?
        .db_subnet_groups()
        .first()
        .cloned()
        .ok_or_else(|| ProviderError::Unexpected(format!("{}: group {name} is gone", r.address)))?;
    let tags = tags_of(&rds, g.db_subnet_group_arn().unwrap_or_default()).await?;
    live_of(cloud, &g, &tags).ok_or_else(|| {
        ProviderError::Unexpected(format!("{}: group {name} lost its tags", r.address))
    })
}

pub async fn create(cloud: &Cloud, r: &Planned) -> Result<Live, ProviderError> {
    let rds = client(cloud);
    let name = r.str("name")?;
    let exists = rds
        .describe_db_subnet_groups()
        .db_subnet_group_name(name)
        .send()
        .await
        .map_err(ProviderError::api("DescribeDBSubnetGroups"));
    let exists =
        ProviderError::absent_ok(exists)?.is_some_and(|o| !o.db_subnet_groups().is_empty());
    if !exists {
        rds.create_db_subnet_group()
            .db_subnet_group_name(name)
            .db_subnet_group_description(r.str("description")?)
            .set_subnet_ids(Some(r.strs("subnets")?))
            .set_tags(Some(rds_tags(cloud, r)))
            .send()
            .await
            .map_err(ProviderError::api("CreateDBSubnetGroup"))?;
    }
    settled(cloud, r, name).await
}

pub async fn update(
    cloud: &Cloud,
    r: &Planned,
    live: &Live,
    fields: &[FieldDiff],
) -> Result<Live, ProviderError> {
    let name = r.str("name")?;
    if touches(fields, "subnets") || touches(fields, "description") {
        client(cloud)
            .modify_db_subnet_group()
            .db_subnet_group_name(name)
            .db_subnet_group_description(r.str("description")?)
            .set_subnet_ids(Some(r.strs("subnets")?))
            .send()
            .await
            .map_err(ProviderError::api("ModifyDBSubnetGroup"))?;
    }
    if touches(fields, "tags") {
        let arn = live.outputs.get("arn").cloned().unwrap_or_default();
        super::retag(cloud, r, live, &arn, Vec::new()).await?;
    }
    settled(cloud, r, name).await
}

pub async fn delete(cloud: &Cloud, live: &Live) -> Result<(), ProviderError> {
    client(cloud)
        .delete_db_subnet_group()
        .db_subnet_group_name(&live.id)
        .send()
        .await
        .gone("DeleteDBSubnetGroup")
}

/// Every group in the region, for `:live`.
pub async fn list(cloud: &Cloud) -> Result<Vec<Row>, ProviderError> {
    let rds = client(cloud);
    Ok(all(&rds)
        .await?
        .iter()
        .map(|g| {
            Row::new(
                g.db_subnet_group_name().unwrap_or_default(),
                g.db_subnet_group_name().unwrap_or_default(),
                format!("{} subnets", g.subnets().len()),
            )
        })
        .collect())
}

/// `bp adopt`: tags the subnet group with this name as the blueprint's.
async fn adopt(cloud: &Cloud, id: &str, tags: &[(String, String)]) -> Result<(), ProviderError> {
    let found = all(&client(cloud)).await?;
    let arn = found
        .iter()
        .find(|g| g.db_subnet_group_name() == Some(id))
        .and_then(|g| g.db_subnet_group_arn());
    super::adopt_arn(cloud, arn, &format!("DB subnet group {id}"), tags).await
}
