//! NAT gateways: created with a client token, waited for until available,
//! and waited for until deleted.

use crate::cost::Pricing;
use crate::kinds::{Field, KindDef, TAGS};
use crate::model::schema::Schema;
use crate::model::Kind;
use crate::model::{Live, Value};
use crate::plan::FieldDiff;
use crate::providers::aws::{ec2_live, owned, read_tags, sync_ec2_tags, tag_spec};
use crate::providers::Row;
use crate::providers::{wait_for, Cloud, Planned, ProviderError};
use crate::{handle, ops};
use aws_sdk_ec2::types::{Filter, NatGatewayState, ResourceType};

fn gone(s: Option<&NatGatewayState>) -> bool {
    matches!(
        s,
        Some(NatGatewayState::Deleted | NatGatewayState::Deleting | NatGatewayState::Failed)
    )
}

pub async fn read(cloud: &Cloud) -> Result<Vec<Live>, ProviderError> {
    let gws = cloud
        .ec2()
        .describe_nat_gateways()
        .filter(owned(cloud))
        .filter(
            Filter::builder()
                .name("state")
                .values("pending")
                .values("available")
                .build(),
        )
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .map_err(ProviderError::api("DescribeNatGateways"))?;
    Ok(gws
        .iter()
        .filter(|g| !gone(g.state()))
        .filter_map(|g| {
            let (address, tags, name) = read_tags(cloud, g.tags())?;
            let allocation = g
                .nat_gateway_addresses()
                .first()
                .and_then(|a| a.allocation_id())
                .unwrap_or_default();
            Some(
                ec2_live(address, g.nat_gateway_id()?, tags, name)
                    .attr("subnet", Value::str(g.subnet_id().unwrap_or_default()))
                    .attr("allocation", Value::str(allocation)),
            )
        })
        .collect())
}

async fn state(cloud: &Cloud, id: &str) -> Result<Option<NatGatewayState>, ProviderError> {
    let out = cloud
        .ec2()
        .describe_nat_gateways()
        .filter(Filter::builder().name("nat-gateway-id").values(id).build())
        .send()
        .await
        .map_err(ProviderError::api("DescribeNatGateways"))?;
    Ok(out.nat_gateways().first().and_then(|g| g.state().cloned()))
}

pub async fn create(cloud: &Cloud, r: &Planned) -> Result<Live, ProviderError> {
    let out = cloud
        .ec2()
        .create_nat_gateway()
        .subnet_id(r.str("subnet")?)
        .allocation_id(r.str("allocation")?)
        .client_token(cloud.client_token(&r.address))
        .tag_specifications(tag_spec(cloud, ResourceType::Natgateway, r))
        .send()
        .await
        .map_err(ProviderError::api("CreateNatGateway"))?;
    let id = out
        .nat_gateway()
        .and_then(|g| g.nat_gateway_id())
        .ok_or_else(|| ProviderError::Unexpected("CreateNatGateway returned no id".into()))?
        .to_string();
    wait_for(
        cloud,
        &format!("NAT gateway {id} to become available"),
        || async {
            match state(cloud, &id).await? {
                Some(NatGatewayState::Available) => Ok(Some(())),
                Some(NatGatewayState::Failed) => Err(ProviderError::Unexpected(format!(
                    "NAT gateway {id} failed"
                ))),
                _ => Ok(None),
            }
        },
    )
    .await?;
    let mut l = Live::new(r.address.clone(), &id);
    l.attrs = r.spec.clone();
    Ok(l)
}

pub async fn update(
    cloud: &Cloud,
    r: &Planned,
    live: &Live,
    _: &[FieldDiff],
) -> Result<Live, ProviderError> {
    sync_ec2_tags(cloud, &live.id, r, live).await?;
    let mut l = live.clone();
    l.attrs = r.spec.clone();
    Ok(l)
}

pub async fn delete(cloud: &Cloud, live: &Live) -> Result<(), ProviderError> {
    match cloud
        .ec2()
        .delete_nat_gateway()
        .nat_gateway_id(&live.id)
        .send()
        .await
    {
        Ok(_) => {}
        Err(e) => {
            let e = ProviderError::api("DeleteNatGateway")(e);
            if !e.is_not_found() {
                return Err(e);
            }
        }
    }
    wait_for(
        cloud,
        &format!("NAT gateway {} to be deleted", live.id),
        || async {
            let s = state(cloud, &live.id).await?;
            Ok((s.is_none() || matches!(s, Some(NatGatewayState::Deleted))).then_some(()))
        },
    )
    .await
}

pub const KIND: Kind = Kind::of(&SCHEMA);

pub static SCHEMA: Schema = Schema::new("nat_gateway", "NatGateway", FIELDS);

/// The IAM actions of its operations (`bp permissions`).
pub const IAM: crate::permissions::Iam =
    crate::permissions::Iam::reads(&["ec2:DescribeNatGateways"])
        .create(&["ec2:CreateNatGateway", "ec2:CreateTags"])
        .update(&["ec2:CreateTags", "ec2:DeleteTags"])
        .delete(&["ec2:DeleteNatGateway"])
        .tag_condition();

pub static DEF: KindDef = KindDef::new(
    KIND,
    Pricing::Priced(price),
    handle!(super::NatGateway),
    ops!(own),
)
.adopt(crate::boxed!(adopt crate::providers::aws::adopt_ec2))
.iam(IAM)
.tagged_as("ec2:natgateway");

const FIELDS: &[Field] = &[
    Field::new("name"),
    Field::new("subnet")
        .replaces("a NAT gateway cannot move to another subnet")
        .refers(),
    Field::new("allocation")
        .replaces("a NAT gateway's elastic IP cannot change")
        .refers(),
    TAGS,
];

/// Every nat_gateway in the region, owned or not, for `:live`.
pub async fn list(cloud: &Cloud) -> Result<Vec<Row>, ProviderError> {
    let all = crate::ec2_pages!(@ cloud, describe_nat_gateways, "DescribeNatGateways", set_filter = None)?;
    Ok(all
        .iter()
        .map(|g| {
            let state = g.state().map(|s| s.as_str()).unwrap_or_default();
            let details = format!("{} {state}", g.subnet_id().unwrap_or_default());
            Row::ec2(g.nat_gateway_id(), g.tags(), details)
        })
        .collect())
}

/// What a NAT gateway costs a month (see [`crate::cost`]).
pub fn price(q: &crate::cost::Quote) -> crate::cost::Estimate {
    use crate::cost::{rate, Cost, Estimate, HOURS, NAT_GB};
    match (q.prices.nat_gateway_hour, q.prices.nat_gateway_gb) {
        (Some(h), Some(gb)) => Estimate::Priced(Cost::fixed(
            h * HOURS + gb * NAT_GB,
            format!("{HOURS} h × {} + {NAT_GB} GB × {}", rate(h), rate(gb)),
        )),
        _ => q.missing("NAT gateways".into()),
    }
}
