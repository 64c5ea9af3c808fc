//! Route tables: routes and subnet associations, both compared as sets.

use crate::cost::Pricing;
use crate::kinds::{Field, KindDef, TAGS};
use crate::model::schema::Schema;
use crate::model::Kind;
use crate::model::{Live, Map, Value};
use crate::plan::{touches, FieldDiff};
use crate::providers::aws::{ec2_live, read_tags, retry_in_use, sync_ec2_tags, tag_spec};
use crate::providers::AwsResult as _;
use crate::providers::Row;
use crate::providers::{Cloud, Planned, ProviderError};
use crate::{handle, ops};
use aws_sdk_ec2::types::{ResourceType, RouteOrigin, RouteTable};
use futures::future::BoxFuture;

/// A route as specs write it: destination and one target.
fn route_value(dest: &str, key: &str, target: &str) -> Value {
    Value::Map(Map::from([
        ("destination".to_string(), Value::str(dest)),
        (key.to_string(), Value::str(target)),
    ]))
}

fn routes_of(t: &RouteTable) -> Vec<Value> {
    t.routes()
        .iter()
        .filter(|r| {
            r.origin() != Some(&RouteOrigin::CreateRouteTable) && r.gateway_id() != Some("local")
        })
        .filter_map(|r| {
            let dest = r.destination_cidr_block()?;
            if let Some(n) = r.nat_gateway_id() {
                Some(route_value(dest, "nat_gateway", n))
            } else {
                r.gateway_id().map(|g| route_value(dest, "gateway", g))
            }
        })
        .collect()
}

/// Subnet id to association id, for explicit associations.
fn associations(t: &RouteTable) -> Vec<(String, String)> {
    t.associations()
        .iter()
        .filter(|a| a.main() != Some(true))
        .filter_map(|a| {
            Some((
                a.subnet_id()?.to_string(),
                a.route_table_association_id()?.to_string(),
            ))
        })
        .collect()
}

pub async fn read(cloud: &Cloud) -> Result<Vec<Live>, ProviderError> {
    let tables = crate::ec2_pages!(cloud, describe_route_tables, "DescribeRouteTables", owned)?;
    Ok(tables
        .iter()
        .filter_map(|t| {
            let (address, tags, name) = read_tags(cloud, t.tags())?;
            let subnets: Vec<Value> = associations(t)
                .into_iter()
                .map(|(s, _)| Value::Str(s))
                .collect();
            Some(
                ec2_live(address, t.route_table_id()?, tags, name)
                    .attr("vpc", Value::str(t.vpc_id().unwrap_or_default()))
                    .attr("routes", Value::List(routes_of(t)))
                    .attr("subnets", Value::List(subnets)),
            )
        })
        .collect())
}

fn route_parts(v: &Value) -> Option<(String, &'static str, String)> {
    let dest = v.get("destination")?.as_str()?.to_string();
    if let Some(n) = v.get("nat_gateway").and_then(Value::as_str) {
        return Some((dest, "nat_gateway", n.to_string()));
    }
    Some((dest, "gateway", v.get("gateway")?.as_str()?.to_string()))
}

async fn describe(cloud: &Cloud, id: &str) -> Result<RouteTable, ProviderError> {
    let out = cloud
        .ec2()
        .describe_route_tables()
        .route_table_ids(id)
        .send()
        .await
        .map_err(ProviderError::api("DescribeRouteTables"))?;
    out.route_tables()
        .first()
        .cloned()
        .ok_or_else(|| ProviderError::Unexpected(format!("route table {id} vanished")))
}

/// Brings routes and associations to the desired sets.
async fn sync(cloud: &Cloud, id: &str, r: &Planned) -> Result<(), ProviderError> {
    let table = describe(cloud, id).await?;
    let have: Vec<(String, &'static str, String)> =
        routes_of(&table).iter().filter_map(route_parts).collect();
    let want: Vec<(String, &'static str, String)> = r
        .spec
        .get("routes")
        .and_then(Value::as_list)
        .unwrap_or_default()
        .iter()
        .filter_map(route_parts)
        .collect();
    for (dest, key, target) in &want {
        let existing = have.iter().find(|(d, ..)| d == dest);
        if existing.is_some_and(|(_, k, t)| k == key && t == target) {
            continue;
        }
        let replace = existing.is_some();
        macro_rules! send {
            ($call:expr, $op:literal) => {{
                let call = $call.route_table_id(id).destination_cidr_block(dest);
                let call = if *key == "nat_gateway" {
                    call.nat_gateway_id(target)
                } else {
                    call.gateway_id(target)
                };
                call.send()
                    .await
                    .map(|_| ())
                    .map_err(ProviderError::api($op))
            }};
        }
        if replace {
            send!(cloud.ec2().replace_route(), "ReplaceRoute")?;
        } else {
            match send!(cloud.ec2().create_route(), "CreateRoute") {
                // Made by a first send whose answer was lost (the SDK sent
                // it again): set its target, whatever it is.
                Err(e) if e.code() == Some("RouteAlreadyExists") => {
                    send!(cloud.ec2().replace_route(), "ReplaceRoute")?
                }
                other => other?,
            }
        }
    }
    for (dest, ..) in &have {
        if !want.iter().any(|(d, ..)| d == dest) {
            cloud
                .ec2()
                .delete_route()
                .route_table_id(id)
                .destination_cidr_block(dest)
                .send()
                .await
                .map_err(ProviderError::api("DeleteRoute"))?;
        }
    }
    let assoc = associations(&table);
    let want_subnets = r.strs("subnets")?;
    // A table of many subnets (one per zone for hundreds of subnets): the
    // associations are sent several at once, each its own call.
    let associate: Vec<BoxFuture<'_, Result<(), ProviderError>>> = want_subnets
        .iter()
        .filter(|s| !assoc.iter().any(|(sub, _)| sub == *s))
        .map(|s| -> BoxFuture<'_, Result<(), ProviderError>> {
            Box::pin(async move {
                cloud
                    .ec2()
                    .associate_route_table()
                    .route_table_id(id)
                    .subnet_id(s)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(ProviderError::api("AssociateRouteTable"))
            })
        })
        .collect();
    at_once(associate).await?;
    let stale: Vec<BoxFuture<'_, Result<(), ProviderError>>> = assoc
        .iter()
        .filter(|(sub, _)| !want_subnets.contains(sub))
        .map(
            |(_, association)| -> BoxFuture<'_, Result<(), ProviderError>> {
                Box::pin(disassociate(cloud, association))
            },
        )
        .collect();
    at_once(stale).await
}

/// How many associations of one table are sent at once.
const AT_ONCE: usize = 16;

/// Runs `calls`, [`AT_ONCE`] at a time; the first error, once the calls
/// started have finished.
async fn at_once(
    calls: Vec<BoxFuture<'_, Result<(), ProviderError>>>,
) -> Result<(), ProviderError> {
    use futures::StreamExt;
    let results: Vec<Result<(), ProviderError>> = futures::stream::iter(calls)
        .buffer_unordered(AT_ONCE)
        .collect()
        .await;
    results.into_iter().collect()
}

async fn disassociate(cloud: &Cloud, association: &str) -> Result<(), ProviderError> {
    match cloud
        .ec2()
        .disassociate_route_table()
        .association_id(association)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e) => {
            let e = ProviderError::api("DisassociateRouteTable")(e);
            if e.is_not_found() {
                Ok(())
            } else {
                Err(e)
            }
        }
    }
}

pub async fn create(cloud: &Cloud, r: &Planned) -> Result<Live, ProviderError> {
    let out = cloud
        .ec2()
        .create_route_table()
        .vpc_id(r.str("vpc")?)
        .tag_specifications(tag_spec(cloud, ResourceType::RouteTable, r))
        .send()
        .await
        .map_err(ProviderError::api("CreateRouteTable"))?;
    let id = out
        .route_table()
        .and_then(|t| t.route_table_id())
        .ok_or_else(|| ProviderError::Unexpected("CreateRouteTable returned no id".into()))?
        .to_string();
    sync(cloud, &id, r).await?;
    let mut l = Live::new(r.address.clone(), &id);
    l.attrs = r.spec.clone();
    Ok(l)
}

pub async fn update(
    cloud: &Cloud,
    r: &Planned,
    live: &Live,
    fields: &[FieldDiff],
) -> Result<Live, ProviderError> {
    if touches(fields, "routes") || touches(fields, "subnets") {
        sync(cloud, &live.id, r).await?;
    }
    if touches(fields, "tags") || touches(fields, "name") {
        sync_ec2_tags(cloud, &live.id, r, live).await?;
    }
    let mut l = live.clone();
    l.attrs = r.spec.clone();
    Ok(l)
}

pub async fn delete(cloud: &Cloud, live: &Live) -> Result<(), ProviderError> {
    match describe(cloud, &live.id).await {
        Ok(table) => {
            let assoc = associations(&table);
            let calls: Vec<BoxFuture<'_, Result<(), ProviderError>>> = assoc
                .iter()
                .map(|(_, a)| -> BoxFuture<'_, Result<(), ProviderError>> {
                    Box::pin(disassociate(cloud, a))
                })
                .collect();
            at_once(calls).await?;
        }
        Err(ProviderError::Unexpected(_)) => return Ok(()),
        Err(e) if e.is_not_found() => return Ok(()),
        Err(e) => return Err(e),
    }
    retry_in_use(cloud, "DeleteRouteTable", || async {
        cloud
            .ec2()
            .delete_route_table()
            .route_table_id(&live.id)
            .send()
            .await
            .done("DeleteRouteTable")
    })
    .await
}

pub const KIND: Kind = Kind::of(&SCHEMA);

pub static SCHEMA: Schema = Schema::new("route_table", "RouteTable", FIELDS);

/// The IAM actions of its operations (`bp permissions`).
pub const IAM: crate::permissions::Iam =
    crate::permissions::Iam::reads(&["ec2:DescribeRouteTables"])
        .create(&[
            "ec2:CreateRouteTable",
            "ec2:CreateTags",
            "ec2:CreateRoute",
            "ec2:AssociateRouteTable",
        ])
        .update(&[
            "ec2:CreateRoute",
            "ec2:ReplaceRoute",
            "ec2:DeleteRoute",
            "ec2:AssociateRouteTable",
            "ec2:DisassociateRouteTable",
            "ec2:CreateTags",
            "ec2:DeleteTags",
        ])
        .delete(&[
            "ec2:DisassociateRouteTable",
            "ec2:DeleteRoute",
            "ec2:DeleteRouteTable",
        ])
        .tag_condition();

pub static DEF: KindDef = KindDef::new(KIND, Pricing::Free, handle!(super::RouteTable), ops!(own))
    .adopt(crate::boxed!(adopt crate::providers::aws::adopt_ec2))
    .unsafe_to_resend(&["CreateRouteTable"])
    .iam(IAM)
    .tagged_as("ec2:route-table");

const FIELDS: &[Field] = &[
    Field::new("name"),
    Field::new("vpc")
        .replaces("a route table cannot move to another VPC")
        .refers(),
    Field::new("routes").set().refers(),
    Field::new("subnets").set().refers(),
    TAGS,
];

/// Every route_table in the region, owned or not, for `:live`.
pub async fn list(cloud: &Cloud) -> Result<Vec<Row>, ProviderError> {
    let all = crate::ec2_pages!(cloud, describe_route_tables, "DescribeRouteTables", all)?;
    Ok(all
        .iter()
        .map(|t| Row::ec2(t.route_table_id(), t.tags(), t.vpc_id().unwrap_or_default()))
        .collect())
}
