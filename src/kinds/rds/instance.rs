//! RDS PostgreSQL instances. Class, storage, Multi-AZ, backups, version
//! (a major upgrade only with `allow_major_upgrade`), groups and the
//! password change in place, applied at once. The user name, encryption and
//! subnet group cannot. Deleting one takes a final snapshot first.

use super::{client, major, owner, rds_tags, tag, user_tags};
use crate::cost::Pricing;
use crate::kinds::{Diff, Field, KindDef, Lifecycle, PROTECT, TAGS};
use crate::model::names::NameRule;
use crate::model::schema::Schema;
use crate::model::verifier;
use crate::model::{Kind, Live, Value};
use crate::plan::{touches, FieldDiff};
use crate::providers::AwsResult as _;
use crate::providers::{protected_by, wait_for, Cloud, Planned, ProviderError, Row};
use crate::{handle, ops};
use aws_sdk_rds::types::{DbInstance, Tag};
use aws_sdk_rds::Client;

pub const KIND: Kind = Kind::of(&SCHEMA);

/// The tag that holds the verifier of the master password.
const PASSWORD_TAG: &str = "blueprint:password";

/// `password: "managed"`: RDS manages the master password.
pub const MANAGED: &str = "managed";

pub static SCHEMA: Schema = Schema::new("rds_postgres", "RdsPostgres", FIELDS)
    .attr("endpoint")
    .names(NameRule::chars(
        1,
        63,
        |c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-',
        "lowercase letters, digits and `-`",
    ))
    .lifecycle(Lifecycle::DATA);

/// The IAM actions of its operations (`bp permissions`).
pub const IAM: crate::permissions::Iam =
    crate::permissions::Iam::reads(&["rds:DescribeDBInstances", "rds:ListTagsForResource"])
        .create(&["rds:CreateDBInstance", "rds:AddTagsToResource"])
        .update(&[
            "rds:ModifyDBInstance",
            "rds:AddTagsToResource",
            "rds:RemoveTagsFromResource",
        ])
        .delete(&["rds:ModifyDBInstance", "rds:DeleteDBInstance"])
        .service_linked(&["rds.amazonaws.com"]);

pub static DEF: KindDef = KindDef::new(
    KIND,
    Pricing::Priced(price),
    handle!(super::RdsPostgres; super::FUNCTIONS, super::register;
        ["address", "arn", "endpoint", "name", "port"]),
    ops!(own),
)
.rules(super::lint::INSTANCE)
.backed_up()
.adopt(crate::boxed!(adopt adopt))
.iam(IAM)
.tagged_as("rds:db");

const FIELDS: &[Field] = &[
    Field::new("name").replaces("an RDS instance's identifier is its name"),
    Field::new("engine_version").guarded(major_upgrade),
    Field::new("allow_major_upgrade").diff(Diff::Local),
    Field::new("instance_class"),
    Field::new("storage_gb"),
    Field::new("initial_storage_gb").diff(Diff::Local),
    Field::new("max_storage_gb"),
    Field::new("multi_az"),
    Field::new("username").replaces("the master user's name cannot change"),
    Field::new("password").diff(Diff::Verified),
    Field::new("backup_retention_days"),
    Field::new("deletion_protection"),
    Field::new("encrypted")
        .replaces("RDS cannot encrypt or decrypt an existing instance's storage"),
    Field::new("kms_key")
        .replaces("an RDS instance's storage key cannot change")
        .refers(),
    Field::new("subnet_group")
        .replaces("Blueprint does not move an instance to another subnet group")
        .refers(),
    Field::new("security_groups").set().refers(),
    Field::new("parameter_group").refers(),
    PROTECT,
    TAGS,
];

/// A new major version only when the declaration allows it.
fn major_upgrade(spec: &crate::model::Map, live: &crate::model::Map) -> Option<String> {
    let want = spec.get("engine_version")?.as_str()?;
    let had = live.get("engine_version")?.as_str()?;
    let allowed = spec.get("allow_major_upgrade").and_then(Value::as_bool) == Some(true);
    (major(want) != major(had) && !allowed).then(|| {
        format!(
            "{had} -> {want} is a major version upgrade; declare allow_major_upgrade: true to make it (and check the extensions and parameters it needs first)"
        )
    })
}

fn live_of(cloud: &Cloud, d: &DbInstance) -> Option<Live> {
    let tags = d.tag_list();
    let address = owner(cloud, tags)?;
    let id = d.db_instance_identifier()?;
    let int = |v: Option<i32>| v.map(|n| Value::Int(n.into())).unwrap_or(Value::Null);
    let mut groups: Vec<String> = d
        .vpc_security_groups()
        .iter()
        .filter_map(|g| g.vpc_security_group_id().map(String::from))
        .collect();
    groups.sort();
    let endpoint = d.endpoint();
    let mut l = Live::new(address, id)
        .attr("name", Value::str(id))
        .attr(
            "engine_version",
            Value::str(d.engine_version().unwrap_or_default()),
        )
        .attr(
            "instance_class",
            Value::str(d.db_instance_class().unwrap_or_default()),
        )
        .attr("storage_gb", int(d.allocated_storage()))
        .attr("max_storage_gb", int(d.max_allocated_storage()))
        .attr("multi_az", Value::Bool(d.multi_az().unwrap_or(false)))
        .attr(
            "username",
            Value::str(d.master_username().unwrap_or_default()),
        )
        .attr(
            "password",
            match d.master_user_secret() {
                // RDS keeps the password in Secrets Manager: no verifier.
                Some(_) => Value::str(MANAGED),
                None => tag(tags, PASSWORD_TAG)
                    .map(Value::str)
                    .unwrap_or(Value::Null),
            },
        )
        .attr("backup_retention_days", int(d.backup_retention_period()))
        .attr(
            "deletion_protection",
            Value::Bool(d.deletion_protection().unwrap_or(false)),
        )
        .attr(
            "encrypted",
            Value::Bool(d.storage_encrypted().unwrap_or(false)),
        )
        .attr(
            "subnet_group",
            Value::str(
                d.db_subnet_group()
                    .and_then(|g| g.db_subnet_group_name())
                    .unwrap_or_default(),
            ),
        )
        .attr(
            "security_groups",
            Value::List(groups.iter().map(Value::str).collect()),
        )
        .attr(
            "protect",
            Value::Bool(protected_by(
                tags.iter()
                    .filter_map(|t| Some((t.key()?, t.value().unwrap_or_default()))),
            )),
        )
        .output("name", id)
        .output("arn", d.db_instance_arn().unwrap_or_default())
        .output(
            "password_secret_arn",
            d.master_user_secret()
                .and_then(|s| s.secret_arn())
                .unwrap_or_default(),
        )
        .output(
            "endpoint",
            endpoint.and_then(|e| e.address()).unwrap_or_default(),
        )
        .output(
            "port",
            endpoint
                .and_then(|e| e.port())
                .map(|p| p.to_string())
                .unwrap_or_default(),
        );
    if let Some(k) = d.kms_key_id() {
        l.attrs.insert("kms_key".into(), Value::str(k));
    }
    if let Some(p) = d
        .db_parameter_groups()
        .iter()
        .find_map(|g| g.db_parameter_group_name())
        .filter(|p| !p.starts_with("default."))
    {
        l.attrs.insert("parameter_group".into(), Value::str(p));
    }
    if let Some(t) = user_tags(tags) {
        l.attrs.insert("tags".into(), t);
    }
    Some(l)
}

async fn all(rds: &Client) -> Result<Vec<DbInstance>, ProviderError> {
    rds.describe_db_instances()
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .map_err(ProviderError::api("DescribeDBInstances"))
}

/// Owned instances: one paginated list, whose answer carries the tags.
pub async fn read(cloud: &Cloud) -> Result<Vec<Live>, ProviderError> {
    let rds = client(cloud);
    Ok(all(&rds)
        .await?
        .iter()
        .filter(|d| d.db_instance_status() != Some("deleting"))
        .filter_map(|d| live_of(cloud, d))
        .collect())
}

async fn describe(rds: &Client, id: &str) -> Result<Option<DbInstance>, ProviderError> {
    let out = rds
        .describe_db_instances()
        .db_instance_identifier(id)
        .send()
        .await
        .map_err(ProviderError::api("DescribeDBInstances"));
    Ok(ProviderError::absent_ok(out)?.and_then(|o| o.db_instances().first().cloned()))
}

async fn settled(cloud: &Cloud, r: &Planned, id: &str) -> Result<Live, ProviderError> {
    let rds = client(cloud);
    let d = wait_for(
        cloud,
        &format!("RDS instance {id} to be available"),
        || async {
            // Available, with nothing Blueprint changes still pending.
            Ok(describe(&rds, id).await?.filter(|d| {
                let pending = d.pending_modified_values().is_some_and(|p| {
                    p.db_instance_class().is_some()
                        || p.allocated_storage().is_some()
                        || p.engine_version().is_some()
                        || p.multi_az().is_some()
                        || p.master_user_password().is_some()
                        || p.backup_retention_period().is_some()
                });
                d.db_instance_status() == Some("available") && !pending
            }))
        },
    )
    .await?;
    live_of(cloud, &d).ok_or_else(|| {
        ProviderError::Unexpected(format!("{}: instance {id} lost its tags", r.address))
    })
}

fn password(r: &Planned) -> Result<&str, ProviderError> {
    r.str("password")
}

/// Whether RDS manages the master password (`password: "managed"`): it
/// makes one, keeps it in Secrets Manager and rotates it, and Blueprint
/// keeps no password and no verifier anywhere.
fn managed(r: &Planned) -> Result<bool, ProviderError> {
    Ok(password(r)? == MANAGED)
}

fn verifier_tag(r: &Planned) -> Result<Tag, ProviderError> {
    Ok(Tag::builder()
        .key(PASSWORD_TAG)
        .value(verifier::verifier(password(r)?))
        .build())
}

fn int(r: &Planned, k: &str) -> Result<Option<i32>, ProviderError> {
    Ok(r.get(k)?
        .and_then(Value::as_int)
        .and_then(|n| i32::try_from(n).ok()))
}

pub async fn create(cloud: &Cloud, r: &Planned) -> Result<Live, ProviderError> {
    let rds = client(cloud);
    let id = r.str("name")?;
    match describe(&rds, id).await? {
        // An interrupted apply created it: adopt it.
        Some(d) if owner(cloud, d.tag_list()).as_ref() == Some(&r.address) => {}
        Some(_) => {
            return Err(ProviderError::Spec(format!(
                "{}: an RDS instance named {id} exists and is not this blueprint's",
                r.address
            )))
        }
        None => {
            let mut tags = rds_tags(cloud, r);
            let managed = managed(r)?;
            if !managed {
                tags.push(verifier_tag(r)?);
            }
            rds.create_db_instance()
                .db_instance_identifier(id)
                .engine("postgres")
                .engine_version(r.str("engine_version")?)
                .db_instance_class(r.str("instance_class")?)
                .allocated_storage(
                    int(r, "storage_gb")?
                        .or(int(r, "initial_storage_gb")?)
                        .unwrap_or(20),
                )
                .auto_minor_version_upgrade(false)
                .set_max_allocated_storage(int(r, "max_storage_gb")?)
                .storage_type("gp3")
                .multi_az(r.bool("multi_az")?)
                .master_username(r.str("username")?)
                .set_master_user_password(
                    (!managed)
                        .then(|| password(r))
                        .transpose()?
                        .map(String::from),
                )
                .set_manage_master_user_password(managed.then_some(true))
                .backup_retention_period(int(r, "backup_retention_days")?.unwrap_or(7))
                .deletion_protection(r.bool("deletion_protection")?)
                .storage_encrypted(r.bool("encrypted")?)
                .set_kms_key_id(r.get("kms_key")?.and_then(Value::as_str).map(String::from))
                .db_subnet_group_name(r.str("subnet_group")?)
                .set_vpc_security_group_ids(Some(r.strs("security_groups")?))
                .set_db_parameter_group_name(
                    r.get("parameter_group")?
                        .and_then(Value::as_str)
                        .map(String::from),
                )
                .publicly_accessible(false)
                .copy_tags_to_snapshot(true)
                .set_tags(Some(tags))
                .send()
                .await
                .map_err(ProviderError::api("CreateDBInstance"))?;
        }
    }
    settled(cloud, r, id).await
}

pub async fn update(
    cloud: &Cloud,
    r: &Planned,
    live: &Live,
    fields: &[FieldDiff],
) -> Result<Live, ProviderError> {
    let rds = client(cloud);
    let id = &live.id;
    let want = r.str("engine_version")?;
    let had = live
        .attrs
        .get("engine_version")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let major_upgrade = touches(fields, "engine_version") && major(want) != major(had);
    if major_upgrade && !r.bool("allow_major_upgrade")? {
        return Err(ProviderError::Spec(format!(
            "{}: engine_version {had} -> {want} is a major upgrade; declare allow_major_upgrade: true to make it",
            r.address
        )));
    }
    let modify = [
        "engine_version",
        "instance_class",
        "storage_gb",
        "max_storage_gb",
        "multi_az",
        "password",
        "backup_retention_days",
        "deletion_protection",
        "security_groups",
        "parameter_group",
    ]
    .iter()
    .any(|f| touches(fields, f));
    if modify {
        let mut m = rds
            .modify_db_instance()
            .db_instance_identifier(id)
            .apply_immediately(true);
        if touches(fields, "engine_version") {
            m = m
                .engine_version(want)
                .allow_major_version_upgrade(major_upgrade);
        }
        if touches(fields, "instance_class") {
            m = m.db_instance_class(r.str("instance_class")?);
        }
        if touches(fields, "storage_gb") {
            m = m.set_allocated_storage(int(r, "storage_gb")?);
        }
        if touches(fields, "max_storage_gb") {
            // Autoscaling is turned off by setting the maximum to the size.
            let size = live
                .attrs
                .get("storage_gb")
                .and_then(Value::as_int)
                .and_then(|n| i32::try_from(n).ok());
            m = m.max_allocated_storage(
                int(r, "max_storage_gb")?
                    .or(int(r, "storage_gb")?)
                    .or(size)
                    .unwrap_or(20),
            );
        }
        if touches(fields, "multi_az") {
            m = m.multi_az(r.bool("multi_az")?);
        }
        if touches(fields, "password") {
            m = if managed(r)? {
                m.manage_master_user_password(true)
            } else if live.attrs.get("password").and_then(Value::as_str) == Some(MANAGED) {
                m.manage_master_user_password(false)
                    .master_user_password(password(r)?)
            } else {
                m.master_user_password(password(r)?)
            };
        }
        if touches(fields, "backup_retention_days") {
            m = m.set_backup_retention_period(int(r, "backup_retention_days")?);
        }
        if touches(fields, "deletion_protection") {
            m = m.deletion_protection(r.bool("deletion_protection")?);
        }
        if touches(fields, "security_groups") {
            m = m.set_vpc_security_group_ids(Some(r.strs("security_groups")?));
        }
        if touches(fields, "parameter_group") {
            m = m.db_parameter_group_name(
                r.get("parameter_group")?
                    .and_then(Value::as_str)
                    .map(String::from)
                    .unwrap_or_else(|| format!("default.{}", super::family(want))),
            );
        }
        m.send()
            .await
            .map_err(ProviderError::api("ModifyDBInstance"))?;
    }
    let retag = touches(fields, "tags") || touches(fields, "protect");
    if retag || touches(fields, "password") {
        let arn = live.outputs.get("arn").cloned().unwrap_or_default();
        let extra = if touches(fields, "password") && !managed(r)? {
            vec![verifier_tag(r)?]
        } else {
            Vec::new()
        };
        super::retag(cloud, r, live, &arn, extra).await?;
        if touches(fields, "password") && managed(r)? {
            rds.remove_tags_from_resource()
                .resource_name(&arn)
                .tag_keys(PASSWORD_TAG)
                .send()
                .await
                .map_err(ProviderError::api("RemoveTagsFromResource"))?;
        }
    }
    settled(cloud, r, id).await
}

pub async fn delete(cloud: &Cloud, live: &Live) -> Result<(), ProviderError> {
    let rds = client(cloud);
    let id = &live.id;
    // Deleting it was asked for explicitly (protect: false, or
    // --include-protected): RDS's own guard is lifted first.
    if live.attrs.get("deletion_protection") == Some(&Value::Bool(true)) {
        rds.modify_db_instance()
            .db_instance_identifier(id)
            .deletion_protection(false)
            .apply_immediately(true)
            .send()
            .await
            .map_err(ProviderError::api("ModifyDBInstance"))?;
    }
    let snapshot = format!(
        "{id}-final-{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default()
    );
    rds.delete_db_instance()
        .db_instance_identifier(id)
        .skip_final_snapshot(false)
        .final_db_snapshot_identifier(&snapshot)
        .delete_automated_backups(false)
        .send()
        .await
        .gone("DeleteDBInstance")?;
    wait_for(
        cloud,
        &format!("RDS instance {id} to be deleted"),
        || async { Ok(describe(&rds, id).await?.is_none().then_some(())) },
    )
    .await
}

/// Every instance in the region, owned or not, for `:live`.
pub async fn list(cloud: &Cloud) -> Result<Vec<Row>, ProviderError> {
    let rds = client(cloud);
    Ok(all(&rds)
        .await?
        .iter()
        .map(|d| {
            Row::new(
                d.db_instance_identifier().unwrap_or_default(),
                d.db_instance_identifier().unwrap_or_default(),
                format!(
                    "{} {} {}",
                    d.engine().unwrap_or_default(),
                    d.engine_version().unwrap_or_default(),
                    d.db_instance_status().unwrap_or_default()
                ),
            )
            .owner(|k| tag(d.tag_list(), k).map(String::from))
        })
        .collect())
}

/// What a PostgreSQL database costs a month (see [`crate::cost`]).
pub fn price(q: &crate::cost::Quote) -> crate::cost::Estimate {
    use crate::cost::{rate, Cost, Estimate, HOURS};
    let class = q.str("instance_class").unwrap_or("");
    let Some(hour) = q.prices.rds_postgres_hour.get(class).copied() else {
        return q.missing(format!("RDS PostgreSQL {class}"));
    };
    let Some(gb) = q.prices.rds_gb_month.get("gp3").copied() else {
        return q.missing("RDS gp3 storage".into());
    };
    let storage = q
        .int("storage_gb")
        .or_else(|| q.int("initial_storage_gb"))
        .unwrap_or(20) as f64;
    let multi = q.spec.get("multi_az").and_then(Value::as_bool) == Some(true);
    let copies = if multi { 2.0 } else { 1.0 };
    Estimate::Priced(Cost::fixed(
        copies * (hour * HOURS + storage * gb),
        format!(
            "{}{class} × {HOURS} h × {} + {storage} GB gp3 × {}",
            if multi { "2 × (multi-AZ) " } else { "" },
            rate(hour),
            rate(gb)
        ),
    ))
}

/// `bp adopt`: tags the instance with this identifier as the blueprint's.
async fn adopt(cloud: &Cloud, id: &str, tags: &[(String, String)]) -> Result<(), ProviderError> {
    let found = describe(&client(cloud), id).await?;
    super::adopt_arn(
        cloud,
        found.as_ref().and_then(|d| d.db_instance_arn()),
        &format!("DB instance {id}"),
        tags,
    )
    .await
}
