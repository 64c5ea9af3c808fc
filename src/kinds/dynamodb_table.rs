//! DynamoDB tables: `dynamodb_table(name, #{ hash_key, range_key?,
//! attributes, billing, ... })`. The key schema and the key attributes'
//! types cannot change in place; billing mode, capacity, point-in-time
//! recovery and tags can. Tables hold data, so they are protected by default.
//!
//! Written as the worked example of docs/ARCHITECTURE.md: everything about
//! the kind is in this file, plus one line in the registry.

use crate::cost::Pricing;
use crate::kinds::{Diff, Field, KindDef, Lifecycle, PROTECT, TAGS};
use crate::model::names::NameRule;
use crate::model::schema::Schema;
use crate::model::{Address, Kind, Live, Map, Problem, Value};
use crate::plan::{touches, FieldDiff};
use crate::providers::AwsResult as _;
use crate::providers::{wait_for, Cloud, Planned, ProviderError, Row, TAG_NAME};
use crate::script::api::{name_arg, opts_arg};
use crate::script::handles::Output;
use crate::script::schema::{def, opt, req, FnDoc, Opt, Ty, TAGS_OPT};
use crate::script::state::{check_name, check_tags, declare, fail, Deps, Fallible, Opts, Shared};
use crate::{handle, ops};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, PointInTimeRecoverySpecification,
    ProvisionedThroughput, ScalarAttributeType, TableDescription, TableStatus, Tag,
};
use aws_sdk_dynamodb::Client;
use rhai::{Dynamic, Engine, NativeCallContext};

crate::handle_type!(DynamodbTable);

pub const KIND: Kind = Kind::of(&SCHEMA);

pub static SCHEMA: Schema = Schema::new("dynamodb_table", "DynamodbTable", FIELDS)
    .attr("arn")
    .names(NameRule::chars(
        3,
        255,
        table_char,
        "letters, digits, `_`, `-` and `.`",
    ))
    .lifecycle(Lifecycle::DATA);

/// The IAM actions of its operations (`bp permissions`).
pub const IAM: crate::permissions::Iam = crate::permissions::Iam::reads(&[
    "dynamodb:ListTables",
    "dynamodb:DescribeTable",
    "dynamodb:ListTagsOfResource",
    "dynamodb:DescribeContinuousBackups",
])
.create(&[
    "dynamodb:CreateTable",
    "dynamodb:DescribeTable",
    "dynamodb:TagResource",
    "dynamodb:UpdateContinuousBackups",
])
.update(&[
    "dynamodb:UpdateTable",
    "dynamodb:UpdateContinuousBackups",
    "dynamodb:TagResource",
    "dynamodb:UntagResource",
])
.delete(&["dynamodb:DeleteTable"])
.arns(&["arn:aws:dynamodb:{region}:{account}:table/{name}"]);

pub static DEF: KindDef = KindDef::new(
    KIND,
    Pricing::Priced(price),
    handle!(DynamodbTable; FUNCTIONS, register; ["address", "arn", "name"]),
    ops!(own),
)
.adopt(crate::boxed!(adopt adopt))
.backed_up()
.iam(IAM)
.tagged_as("dynamodb:table");

const KEYS_FIXED: &str = "a DynamoDB table's key schema cannot change";

const FIELDS: &[Field] = &[
    Field::new("name"),
    Field::new("hash_key").replaces(KEYS_FIXED),
    Field::new("range_key").replaces(KEYS_FIXED),
    Field::new("attributes").map().replaces(KEYS_FIXED),
    Field::new("billing"),
    Field::new("capacity").diff(Diff::Struct(&[Field::new("read"), Field::new("write")])),
    Field::new("point_in_time_recovery"),
    PROTECT,
    TAGS,
];

fn table_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')
}

const ATTRIBUTE_TYPES: &[&str] = &["S", "N", "B"];
const BILLING: &[&str] = &["pay_per_request", "provisioned"];

pub const OPTIONS: &[Opt] = &[
    req("hash_key", Ty::Str, "the partition key attribute"),
    opt("range_key", Ty::Str, "the sort key attribute"),
    req(
        "attributes",
        Ty::StrMap,
        "types of the key attributes: #{ name: \"S\" | \"N\" | \"B\" }",
    ),
    req(
        "billing",
        Ty::Enum(BILLING),
        "\"pay_per_request\" (on demand) or \"provisioned\"",
    ),
    def(
        "read_capacity",
        Ty::Int,
        "5",
        "read capacity units (provisioned billing)",
    ),
    def(
        "write_capacity",
        Ty::Int,
        "5",
        "write capacity units (provisioned billing)",
    ),
    def(
        "point_in_time_recovery",
        Ty::Bool,
        "true",
        "continuous backups for point-in-time recovery",
    ),
    def(
        "protect",
        Ty::Bool,
        "true",
        "refuse plans that delete or replace the table; apply protect: false first to remove it",
    ),
    TAGS_OPT,
    crate::script::api::providers::PROVIDER_OPT,
];

const FUNCTIONS: &[FnDoc] = &[FnDoc {
    name: "dynamodb_table",
    signature:
        "dynamodb_table(name, #{ hash_key, range_key?, attributes, billing, ... }) -> DynamodbTable",
    doc: "A DynamoDB table; protected from deletion by default.",
    options: OPTIONS,
    method_of: None,
}];

fn register(engine: &mut Engine, state: &Shared) {
    DynamodbTable::register_type(engine);
    let s = state.clone();
    engine.register_fn(
        "dynamodb_table",
        move |ctx: NativeCallContext, name: Dynamic, opts: Dynamic| {
            dynamodb_table(&s, &ctx, &name, &opts)
        },
    );
    engine.register_get("name", |t: &mut DynamodbTable| {
        Output::attr(&t.0, "name", Some(t.0.name.clone()))
    });
    engine.register_get("arn", |t: &mut DynamodbTable| {
        Output::attr(&t.0, "arn", None)
    });
}

fn dynamodb_table(
    state: &Shared,
    ctx: &NativeCallContext,
    name: &Dynamic,
    opts: &Dynamic,
) -> Fallible<DynamodbTable> {
    let name = name_arg(ctx, "dynamodb_table", name)?;
    let map = opts_arg(ctx, "dynamodb_table", opts, OPTIONS)?;
    let o = Opts(&map);
    check_name(ctx, KIND, &name)?;
    check_tags(ctx, o.get("tags"))?;
    let attributes: Map = o
        .get("attributes")
        .and_then(|a| a.read_lock::<rhai::Map>().map(|m| m.clone()))
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k.to_string(), Value::str(v.to_string())))
        .collect();
    for (attr, t) in &attributes {
        let t = t.as_str().unwrap_or_default();
        if !ATTRIBUTE_TYPES.contains(&t) {
            return Err(fail(
                ctx,
                Problem::new(format!(
                    "attribute `{attr}` has type \"{t}\"; DynamoDB key attributes are \"S\", \"N\" or \"B\""
                ))
                .hint("S is a string, N a number, B binary"),
            ));
        }
    }
    let hash = o.str("hash_key").unwrap_or_default();
    let range = o.str("range_key");
    let keys: Vec<&String> = std::iter::once(&hash).chain(range.as_ref()).collect();
    for k in &keys {
        if !attributes.contains_key(k.as_str()) {
            return Err(fail(
                ctx,
                Problem::new(format!("key `{k}` has no type in `attributes`"))
                    .hint(format!("add it: attributes: #{{ {k}: \"S\" }}")),
            ));
        }
    }
    if let Some(extra) = attributes.keys().find(|a| !keys.contains(a)) {
        return Err(fail(
            ctx,
            Problem::new(format!(
                "attribute `{extra}` is not a key; DynamoDB only takes the types of key attributes"
            ))
            .hint("other attributes need no declaration: remove it from `attributes`"),
        ));
    }
    let billing = o.str("billing").unwrap_or_default();
    let (read, write) = (
        o.int("read_capacity").unwrap_or(5),
        o.int("write_capacity").unwrap_or(5),
    );
    if billing == "provisioned" && (read < 1 || write < 1) {
        return Err(fail(
            ctx,
            Problem::new(format!(
                "provisioned capacity must be at least 1 (read {read}, write {write})"
            )),
        ));
    }
    if billing != "provisioned" && (o.has("read_capacity") || o.has("write_capacity")) {
        return Err(fail(
            ctx,
            Problem::new("read_capacity and write_capacity apply to provisioned billing only")
                .hint("set billing: \"provisioned\", or remove the capacities"),
        ));
    }
    let mut deps = Deps::default();
    let mut spec = Map::new();
    spec.insert("name".into(), Value::str(&name));
    spec.insert("hash_key".into(), Value::str(&hash));
    spec.insert(
        "range_key".into(),
        range.map(Value::str).unwrap_or(Value::Null),
    );
    spec.insert("attributes".into(), Value::Map(attributes));
    spec.insert("billing".into(), Value::str(&billing));
    if billing == "provisioned" {
        spec.insert(
            "capacity".into(),
            Value::Map(Map::from([
                ("read".into(), Value::Int(read)),
                ("write".into(), Value::Int(write)),
            ])),
        );
    }
    spec.insert(
        "point_in_time_recovery".into(),
        Value::Bool(o.bool_or("point_in_time_recovery", true)),
    );
    spec.insert("protect".into(), Value::Bool(o.bool_or("protect", true)));
    if let Some(t) = state.borrow().tags(o.get("tags"), &mut deps) {
        spec.insert("tags".into(), t);
    }
    let addr = Address::new(KIND, &name).in_provider(o.provider());
    declare(state, ctx, addr.clone(), spec, deps)?;
    Ok(DynamodbTable(addr))
}

// Live state ------------------------------------------------------------------

fn client(cloud: &Cloud) -> Client {
    cloud.client(|conf, counter| {
        Client::from_conf(
            aws_sdk_dynamodb::config::Builder::from(conf)
                .interceptor(counter)
                .build(),
        )
    })
}

async fn table_names(db: &Client) -> Result<Vec<String>, ProviderError> {
    db.list_tables()
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .map_err(ProviderError::api("ListTables"))
}

async fn describe(db: &Client, name: &str) -> Result<Option<TableDescription>, ProviderError> {
    let out = db
        .describe_table()
        .table_name(name)
        .send()
        .await
        .map_err(ProviderError::api("DescribeTable"));
    Ok(ProviderError::absent_ok(out)?.and_then(|o| o.table().cloned()))
}

async fn tags_of(db: &Client, arn: &str) -> Result<Vec<Tag>, ProviderError> {
    db.list_tags_of_resource()
        .resource_arn(arn)
        .send()
        .await
        .map(|o| o.tags().to_vec())
        .map_err(ProviderError::api("ListTagsOfResource"))
}

async fn pitr(db: &Client, name: &str) -> Result<bool, ProviderError> {
    let out = db
        .describe_continuous_backups()
        .table_name(name)
        .send()
        .await
        .map_err(ProviderError::api("DescribeContinuousBackups"))?;
    Ok(out
        .continuous_backups_description()
        .and_then(|c| c.point_in_time_recovery_description())
        .and_then(|p| p.point_in_time_recovery_status())
        .is_some_and(|s| s.as_str() == "ENABLED"))
}

fn live_of(cloud: &Cloud, t: &TableDescription, tags: &[Tag], recovery: bool) -> Option<Live> {
    let owned = cloud.owned(
        tags.iter().map(|t| (t.key(), t.value())),
        crate::providers::NameTag::IsATag,
    )?;
    let name = t.table_name()?;
    let key = |kt: KeyType| {
        t.key_schema()
            .iter()
            .find(|k| k.key_type() == &kt)
            .map(|k| Value::str(k.attribute_name()))
            .unwrap_or(Value::Null)
    };
    let attributes: Map = t
        .attribute_definitions()
        .iter()
        .map(|a| {
            (
                a.attribute_name().to_string(),
                Value::str(a.attribute_type().as_str()),
            )
        })
        .collect();
    let billing = match t.billing_mode_summary().and_then(|b| b.billing_mode()) {
        Some(BillingMode::PayPerRequest) => "pay_per_request",
        _ => "provisioned",
    };
    let mut l = Live::new(owned.address.clone(), name)
        .attr("name", Value::str(name))
        .attr("hash_key", key(KeyType::Hash))
        .attr("range_key", key(KeyType::Range))
        .attr("attributes", Value::Map(attributes))
        .attr("billing", Value::str(billing))
        .attr("point_in_time_recovery", Value::Bool(recovery))
        .attr("protect", Value::Bool(owned.protected))
        .output("name", name)
        .output("arn", t.table_arn().unwrap_or_default());
    if billing == "provisioned" {
        let p = t.provisioned_throughput();
        let units = |v: Option<i64>| Value::Int(v.unwrap_or_default());
        l.attrs.insert(
            "capacity".into(),
            Value::Map(Map::from([
                (
                    "read".into(),
                    units(p.and_then(|p| p.read_capacity_units())),
                ),
                (
                    "write".into(),
                    units(p.and_then(|p| p.write_capacity_units())),
                ),
            ])),
        );
    }
    if let Some(t) = owned.user_tags() {
        l.attrs.insert("tags".into(), t);
    }
    Some(l)
}

/// Owned tables. DynamoDB has no tag filter on ListTables (and the emulator
/// serves no DynamoDB through the tagging API), so: one paginated list, then
/// each table's description and tags in parallel, then point-in-time
/// recovery for the owned ones.
pub async fn read(cloud: &Cloud) -> Result<Vec<Live>, ProviderError> {
    let db = client(cloud);
    let names = table_names(&db).await?;
    let described = futures::future::join_all(names.iter().map(|n| describe(&db, n))).await;
    let mut tables = Vec::new();
    for d in described {
        if let Some(t) = d? {
            if t.table_status() != Some(&TableStatus::Deleting) {
                tables.push(t);
            }
        }
    }
    let tags = futures::future::join_all(
        tables
            .iter()
            .map(|t| tags_of(&db, t.table_arn().unwrap_or_default())),
    )
    .await;
    let mut owned = Vec::new();
    for (t, tags) in tables.iter().zip(tags) {
        let tags = tags?;
        if tags
            .iter()
            .any(|x| x.key() == TAG_NAME && x.value() == cloud.blueprint)
        {
            owned.push((t, tags));
        }
    }
    let recovery = futures::future::join_all(
        owned
            .iter()
            .map(|(t, _)| pitr(&db, t.table_name().unwrap_or_default())),
    )
    .await;
    let mut out = Vec::new();
    for ((t, tags), r) in owned.into_iter().zip(recovery) {
        out.extend(live_of(cloud, t, &tags, r?));
    }
    Ok(out)
}

fn key_schema(r: &Planned) -> Result<Vec<KeySchemaElement>, ProviderError> {
    let mut keys = vec![KeySchemaElement::builder()
        .attribute_name(r.str("hash_key")?)
        .key_type(KeyType::Hash)
        .build()
        .map_err(build_err)?];
    if let Some(range) = r.get("range_key")?.and_then(Value::as_str) {
        keys.push(
            KeySchemaElement::builder()
                .attribute_name(range)
                .key_type(KeyType::Range)
                .build()
                .map_err(build_err)?,
        );
    }
    Ok(keys)
}

fn build_err(e: aws_smithy_types::error::operation::BuildError) -> ProviderError {
    ProviderError::Spec(format!("cannot build a DynamoDB request: {e}"))
}

fn throughput(r: &Planned) -> Result<Option<ProvisionedThroughput>, ProviderError> {
    let Some(c) = r.get("capacity")? else {
        return Ok(None);
    };
    let units = |k: &str| c.get(k).and_then(Value::as_int).unwrap_or(5);
    ProvisionedThroughput::builder()
        .read_capacity_units(units("read"))
        .write_capacity_units(units("write"))
        .build()
        .map(Some)
        .map_err(build_err)
}

fn billing_mode(r: &Planned) -> Result<BillingMode, ProviderError> {
    Ok(if r.str("billing")? == "provisioned" {
        BillingMode::Provisioned
    } else {
        BillingMode::PayPerRequest
    })
}

async fn set_recovery(db: &Client, name: &str, on: bool) -> Result<(), ProviderError> {
    db.update_continuous_backups()
        .table_name(name)
        .point_in_time_recovery_specification(
            PointInTimeRecoverySpecification::builder()
                .point_in_time_recovery_enabled(on)
                .build()
                .map_err(build_err)?,
        )
        .send()
        .await
        .done("UpdateContinuousBackups")
}

async fn wait_active(cloud: &Cloud, name: &str) -> Result<TableDescription, ProviderError> {
    let db = client(cloud);
    wait_for(
        cloud,
        &format!("DynamoDB table {name} to become ACTIVE"),
        || async {
            Ok(describe(&db, name)
                .await?
                .filter(|t| t.table_status() == Some(&TableStatus::Active)))
        },
    )
    .await
}

/// What exists after a create or an update: the settled table with the
/// declared tags and recovery setting.
async fn settled(cloud: &Cloud, r: &Planned, name: &str) -> Result<Live, ProviderError> {
    let t = wait_active(cloud, name).await?;
    let db = client(cloud);
    let tags = tags_of(&db, t.table_arn().unwrap_or_default()).await?;
    let recovery = pitr(&db, name).await?;
    live_of(cloud, &t, &tags, recovery).ok_or_else(|| {
        ProviderError::Unexpected(format!("{}: table {name} lost its tags", r.address))
    })
}

fn dynamo_tags(cloud: &Cloud, r: &Planned) -> Result<Vec<Tag>, ProviderError> {
    cloud
        .tags_for(&r.address, &r.spec)
        .into_iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build().map_err(build_err))
        .collect()
}

pub async fn create(cloud: &Cloud, r: &Planned) -> Result<Live, ProviderError> {
    let db = client(cloud);
    let name = r.str("name")?;
    let attributes = r
        .get("attributes")?
        .and_then(Value::as_map)
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|(a, t)| {
            AttributeDefinition::builder()
                .attribute_name(a)
                .attribute_type(ScalarAttributeType::from(t.as_str().unwrap_or("S")))
                .build()
                .map_err(build_err)
        })
        .collect::<Result<Vec<_>, _>>()?;
    // A table that exists already (an interrupted apply) is adopted: it
    // carries our tags from its creation.
    if describe(&db, name).await?.is_none() {
        db.create_table()
            .table_name(name)
            .set_attribute_definitions(Some(attributes))
            .set_key_schema(Some(key_schema(r)?))
            .billing_mode(billing_mode(r)?)
            .set_provisioned_throughput(throughput(r)?)
            .set_tags(Some(dynamo_tags(cloud, r)?))
            .send()
            .await
            .map_err(ProviderError::api("CreateTable"))?;
    }
    wait_active(cloud, name).await?;
    if r.bool("point_in_time_recovery")? {
        set_recovery(&db, name, true).await?;
    }
    settled(cloud, r, name).await
}

pub async fn update(
    cloud: &Cloud,
    r: &Planned,
    live: &Live,
    fields: &[FieldDiff],
) -> Result<Live, ProviderError> {
    let db = client(cloud);
    let name = r.str("name")?;
    if touches(fields, "billing") || touches(fields, "capacity") {
        db.update_table()
            .table_name(name)
            .billing_mode(billing_mode(r)?)
            .set_provisioned_throughput(throughput(r)?)
            .send()
            .await
            .map_err(ProviderError::api("UpdateTable"))?;
        wait_active(cloud, name).await?;
    }
    if touches(fields, "point_in_time_recovery") {
        set_recovery(&db, name, r.bool("point_in_time_recovery")?).await?;
    }
    if touches(fields, "tags") || touches(fields, "protect") {
        let arn = live.outputs.get("arn").cloned().unwrap_or_default();
        db.tag_resource()
            .resource_arn(&arn)
            .set_tags(Some(dynamo_tags(cloud, r)?))
            .send()
            .await
            .map_err(ProviderError::api("TagResource"))?;
        let want: Vec<String> = cloud
            .tags_for(&r.address, &r.spec)
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        let stale: Vec<String> = tags_of(&db, &arn)
            .await?
            .iter()
            .map(|t| t.key().to_string())
            .filter(|k| !want.contains(k))
            .collect();
        if !stale.is_empty() {
            db.untag_resource()
                .resource_arn(&arn)
                .set_tag_keys(Some(stale))
                .send()
                .await
                .map_err(ProviderError::api("UntagResource"))?;
        }
    }
    settled(cloud, r, name).await
}

pub async fn delete(cloud: &Cloud, live: &Live) -> Result<(), ProviderError> {
    let db = client(cloud);
    db.delete_table()
        .table_name(&live.id)
        .send()
        .await
        .gone("DeleteTable")?;
    wait_for(
        cloud,
        &format!("DynamoDB table {} to be deleted", live.id),
        || async { Ok(describe(&db, &live.id).await?.is_none().then_some(())) },
    )
    .await
}

/// Every table in the region, owned or not, for `:live`.
pub async fn list(cloud: &Cloud) -> Result<Vec<Row>, ProviderError> {
    let db = client(cloud);
    let names = table_names(&db).await?;
    let described = futures::future::join_all(names.iter().map(|n| describe(&db, n))).await;
    let mut rows = Vec::new();
    for (n, d) in names.iter().zip(described) {
        let Some(t) = d? else { continue };
        let tags = tags_of(&db, t.table_arn().unwrap_or_default()).await?;
        let get = |k: &str| {
            tags.iter()
                .find(|t| t.key() == k)
                .map(|t| t.value().to_string())
        };
        rows.push(
            Row::new(
                n.clone(),
                n.clone(),
                t.table_status()
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_default(),
            )
            .owner(get),
        );
    }
    Ok(rows)
}

/// `bp adopt`: the ownership tags on the table (by its ARN).
async fn adopt(cloud: &Cloud, name: &str, tags: &[(String, String)]) -> Result<(), ProviderError> {
    let db = client(cloud);
    let table = db
        .describe_table()
        .table_name(name)
        .send()
        .await
        .map_err(ProviderError::api("DescribeTable"))?;
    let arn = table
        .table()
        .and_then(|t| t.table_arn())
        .unwrap_or_default()
        .to_string();
    let tags = tags
        .iter()
        .map(|(k, v)| {
            aws_sdk_dynamodb::types::Tag::builder()
                .key(k)
                .value(v)
                .build()
                .map_err(|e| ProviderError::Spec(e.to_string()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    db.tag_resource()
        .resource_arn(arn)
        .set_tags(Some(tags))
        .send()
        .await
        .map_err(ProviderError::api("TagResource"))?;
    Ok(())
}

/// What a DynamoDB table costs a month (see [`crate::cost`]).
pub fn price(q: &crate::cost::Quote) -> crate::cost::Estimate {
    use crate::cost::Estimate;
    match q.str("billing") {
        // On demand is billed per request, which the blueprint does
        // not say; provisioned capacity is not in the table.
        Some("provisioned") => q.missing("DynamoDB provisioned capacity".into()),
        _ => Estimate::Free,
    }
}

#[cfg(test)]
mod tests {
    use crate::model::names::check_name;

    #[test]
    fn names() {
        assert!(check_name(super::KIND, "harmonix-audit").is_ok());
        assert!(check_name(super::KIND, "ab").is_err());
        assert!(check_name(super::KIND, "audit log").is_err());
    }
}
