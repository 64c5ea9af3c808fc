//! DB parameter groups, declared by `rds_postgres(...)` with `parameters`:
//! PostgreSQL settings in a group of the version's family. Parameters
//! change in place and apply at the instance's next reboot (the method
//! that every parameter, static or dynamic, accepts); a parameter no longer
//! declared is reset to the engine's default.

use super::subnet_group::tags_of;
use super::{client, owner, rds_tags, user_tags};
use crate::cost::Pricing;
use crate::kinds::{Field, KindDef, TAGS};
use crate::model::names::NameRule;
use crate::model::schema::Schema;
use crate::model::{Kind, Live, Map, Value};
use crate::plan::{touches, FieldDiff};
use crate::providers::AwsResult as _;
use crate::providers::{Cloud, Planned, ProviderError, Row};
use crate::{handle, ops};
use aws_sdk_rds::types::{ApplyMethod, DbParameterGroup, Parameter};
use aws_sdk_rds::Client;

crate::handle_type!(DbParameterGroupHandle);

pub const KIND: Kind = Kind::of(&SCHEMA);

pub static SCHEMA: Schema = Schema::new("db_parameter_group", "DbParameterGroup", FIELDS)
    .attr("name")
    .names(NameRule::chars(
        1,
        255,
        |c| c.is_ascii_alphanumeric() || c == '-',
        "letters, digits and `-`",
    ));

/// The IAM actions of its operations (`bp permissions`).
pub const IAM: crate::permissions::Iam = crate::permissions::Iam::reads(&[
    "rds:DescribeDBParameterGroups",
    "rds:DescribeDBParameters",
    "rds:ListTagsForResource",
])
.create(&[
    "rds:CreateDBParameterGroup",
    "rds:ModifyDBParameterGroup",
    "rds:AddTagsToResource",
])
.update(&[
    "rds:ModifyDBParameterGroup",
    "rds:ResetDBParameterGroup",
    "rds:AddTagsToResource",
    "rds:RemoveTagsFromResource",
])
.delete(&["rds:DeleteDBParameterGroup"])
.arns(&["arn:aws:rds:{region}:{account}:pg:{name}"]);

pub static DEF: KindDef = KindDef::new(
    KIND,
    Pricing::Free,
    handle!(DbParameterGroupHandle),
    ops!(with super::subnet_group::KIND),
)
.adopt(crate::boxed!(adopt adopt))
.iam(IAM);

const FIELDS: &[Field] = &[
    Field::new("name").replaces("a parameter group's name cannot change"),
    Field::new("family").replaces("a parameter group's family cannot change"),
    Field::new("parameters").map(),
    TAGS,
];

async fn all(rds: &Client) -> Result<Vec<DbParameterGroup>, ProviderError> {
    rds.describe_db_parameter_groups()
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .map_err(ProviderError::api("DescribeDBParameterGroups"))
}

/// The parameters a group sets itself (not the engine's defaults).
async fn user_parameters(rds: &Client, name: &str) -> Result<Map, ProviderError> {
    let params = rds
        .describe_db_parameters()
        .db_parameter_group_name(name)
        .source("user")
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .map_err(ProviderError::api("DescribeDBParameters"))?;
    Ok(params
        .iter()
        .filter_map(|p| {
            Some((
                p.parameter_name()?.to_string(),
                Value::str(p.parameter_value()?),
            ))
        })
        .collect())
}

async fn live_of(
    cloud: &Cloud,
    rds: &Client,
    g: &DbParameterGroup,
    tags: &[aws_sdk_rds::types::Tag],
) -> Result<Option<Live>, ProviderError> {
    let (Some(address), Some(name)) = (owner(cloud, tags), g.db_parameter_group_name()) else {
        return Ok(None);
    };
    let params = user_parameters(rds, name).await?;
    let mut l = Live::new(address, name)
        .attr("name", Value::str(name))
        .attr(
            "family",
            Value::str(g.db_parameter_group_family().unwrap_or_default()),
        )
        .attr("parameters", Value::Map(params))
        .output("name", name)
        .output("arn", g.db_parameter_group_arn().unwrap_or_default());
    if let Some(t) = user_tags(tags) {
        l.attrs.insert("tags".into(), t);
    }
    Ok(Some(l))
}

/// Owned groups: one paginated list, each group's tags in parallel, then
/// the owned groups' parameters. Read with the subnet groups, which
/// `rds_postgres` always declares beside them.
pub async fn read_owned(cloud: &Cloud) -> Result<Vec<Live>, ProviderError> {
    let rds = client(cloud);
    let groups = all(&rds).await?;
    let tags = futures::future::join_all(
        groups
            .iter()
            .map(|g| tags_of(&rds, g.db_parameter_group_arn().unwrap_or_default())),
    )
    .await;
    let mut owned = Vec::new();
    for (g, t) in groups.iter().zip(tags) {
        let t = t?;
        if owner(cloud, &t).is_some() {
            owned.push((g, t));
        }
    }
    let lives =
        futures::future::join_all(owned.iter().map(|(g, t)| live_of(cloud, &rds, g, t))).await;
    let mut out = Vec::new();
    for l in lives {
        out.extend(l?);
    }
    Ok(out)
}

fn declared(r: &Planned) -> Result<Vec<(String, String)>, ProviderError> {
    Ok(r.get("parameters")?
        .and_then(Value::as_map)
        .map(|m| {
            m.iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        v.as_str()
                            .map(String::from)
                            .unwrap_or_else(|| v.to_string()),
                    )
                })
                .collect()
        })
        .unwrap_or_default())
}

async fn set(rds: &Client, name: &str, params: Vec<(String, String)>) -> Result<(), ProviderError> {
    // ModifyDBParameterGroup takes at most 20 parameters per call.
    for chunk in params.chunks(20) {
        rds.modify_db_parameter_group()
            .db_parameter_group_name(name)
            .set_parameters(Some(
                chunk
                    .iter()
                    .map(|(k, v)| {
                        Parameter::builder()
                            .parameter_name(k)
                            .parameter_value(v)
                            .apply_method(ApplyMethod::PendingReboot)
                            .build()
                    })
                    .collect(),
            ))
            .send()
            .await
            .map_err(ProviderError::api("ModifyDBParameterGroup"))?;
    }
    Ok(())
}

async fn settled(cloud: &Cloud, r: &Planned, name: &str) -> Result<Live, ProviderError> {
    let rds = client(cloud);
    let g = rds
        .describe_db_parameter_groups()
        .db_parameter_group_name(name)
        .send()
        .await
        .map_err(ProviderError::api("DescribeDBParameterGroups"))?
        .db_parameter_groups()
        .first()
        .cloned()
        .ok_or_else(|| ProviderError::Unexpected(format!("{}: group {name} is gone", r.address)))?;
    let tags = tags_of(&rds, g.db_parameter_group_arn().unwrap_or_default()).await?;
    live_of(cloud, &rds, &g, &tags).await?.ok_or_else(|| {
        ProviderError::Unexpected(format!("{}: group {name} lost its tags", r.address))
    })
}

pub async fn create(cloud: &Cloud, r: &Planned) -> Result<Live, ProviderError> {
    let rds = client(cloud);
    let name = r.str("name")?;
    let exists = rds
        .describe_db_parameter_groups()
        .db_parameter_group_name(name)
        .send()
        .await
        .map_err(ProviderError::api("DescribeDBParameterGroups"));
    let exists =
        ProviderError::absent_ok(exists)?.is_some_and(|o| !o.db_parameter_groups().is_empty());
    if !exists {
        rds.create_db_parameter_group()
            .db_parameter_group_name(name)
            .db_parameter_group_family(r.str("family")?)
            .description(format!("Parameters of RDS instance {name}"))
            .set_tags(Some(rds_tags(cloud, r)))
            .send()
            .await
            .map_err(ProviderError::api("CreateDBParameterGroup"))?;
    }
    set(&rds, name, declared(r)?).await?;
    settled(cloud, r, name).await
}

pub async fn update(
    cloud: &Cloud,
    r: &Planned,
    live: &Live,
    fields: &[FieldDiff],
) -> Result<Live, ProviderError> {
    let rds = client(cloud);
    let name = r.str("name")?;
    if touches(fields, "parameters") {
        let want = declared(r)?;
        let had: Vec<String> = live
            .attrs
            .get("parameters")
            .and_then(Value::as_map)
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
        let gone: Vec<String> = had
            .into_iter()
            .filter(|k| !want.iter().any(|(w, _)| w == k))
            .collect();
        for chunk in gone.chunks(20) {
            rds.reset_db_parameter_group()
                .db_parameter_group_name(name)
                .set_parameters(Some(
                    chunk
                        .iter()
                        .map(|k| {
                            Parameter::builder()
                                .parameter_name(k)
                                .apply_method(ApplyMethod::PendingReboot)
                                .build()
                        })
                        .collect(),
                ))
                .send()
                .await
                .map_err(ProviderError::api("ResetDBParameterGroup"))?;
        }
        set(&rds, name, want).await?;
    }
    if touches(fields, "tags") {
        let arn = live.outputs.get("arn").cloned().unwrap_or_default();
        super::retag(cloud, r, live, &arn, Vec::new()).await?;
    }
    settled(cloud, r, name).await
}

pub async fn delete(cloud: &Cloud, live: &Live) -> Result<(), ProviderError> {
    client(cloud)
        .delete_db_parameter_group()
        .db_parameter_group_name(&live.id)
        .send()
        .await
        .gone("DeleteDBParameterGroup")
}

/// Every group in the region, for `:live`.
pub async fn list(cloud: &Cloud) -> Result<Vec<Row>, ProviderError> {
    let rds = client(cloud);
    Ok(all(&rds)
        .await?
        .iter()
        .map(|g| {
            Row::new(
                g.db_parameter_group_name().unwrap_or_default(),
                g.db_parameter_group_name().unwrap_or_default(),
                g.db_parameter_group_family().unwrap_or_default(),
            )
        })
        .collect())
}

/// `bp adopt`: tags the parameter group with this name as the blueprint's.
async fn adopt(cloud: &Cloud, id: &str, tags: &[(String, String)]) -> Result<(), ProviderError> {
    let found = all(&client(cloud)).await?;
    let arn = found
        .iter()
        .find(|g| g.db_parameter_group_name() == Some(id))
        .and_then(|g| g.db_parameter_group_arn());
    super::adopt_arn(cloud, arn, &format!("DB parameter group {id}"), tags).await
}
