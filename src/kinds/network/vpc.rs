//! VPCs: the primary block, secondary blocks, DNS attributes, tags.

use crate::cost::Pricing;
use crate::kinds::{Field, KindDef, TAGS};
use crate::model::schema::Schema;
use crate::model::Kind;
use crate::model::{Live, Value};
use crate::plan::{touches, FieldDiff};
use crate::providers::aws::{ec2_live, read_tags, retry_in_use, sync_ec2_tags, tag_spec};
use crate::providers::AwsResult as _;
use crate::providers::Row;
use crate::providers::{Cloud, Planned, ProviderError};
use crate::{handle, ops};
use aws_sdk_ec2::types::{
    AttributeBooleanValue, ResourceType, VpcAttributeName, VpcCidrBlockStateCode,
};

pub async fn read(cloud: &Cloud) -> Result<Vec<Live>, ProviderError> {
    let vpcs = crate::ec2_pages!(cloud, describe_vpcs, "DescribeVpcs", owned)?;
    let mut out = Vec::new();
    for v in vpcs {
        let Some((address, tags, name)) = read_tags(cloud, v.tags()) else {
            continue;
        };
        let id = v.vpc_id().unwrap_or_default();
        let primary = v.cidr_block().unwrap_or_default();
        let secondary: Vec<Value> = v
            .cidr_block_association_set()
            .iter()
            .filter(|a| a.cidr_block() != Some(primary))
            .filter(|a| {
                matches!(
                    a.cidr_block_state().and_then(|s| s.state()),
                    Some(VpcCidrBlockStateCode::Associated | VpcCidrBlockStateCode::Associating)
                )
            })
            .filter_map(|a| a.cidr_block().map(Value::str))
            .collect();
        let (hostnames, support) = tokio::join!(
            attribute(cloud, id, VpcAttributeName::EnableDnsHostnames),
            attribute(cloud, id, VpcAttributeName::EnableDnsSupport)
        );
        out.push(
            ec2_live(address, id, tags, name)
                .attr("cidr", Value::str(primary))
                .attr("secondary_cidrs", Value::List(secondary))
                .attr("dns_hostnames", Value::Bool(hostnames?))
                .attr("dns_support", Value::Bool(support?))
                .output("cidr", primary),
        );
    }
    Ok(out)
}

async fn attribute(cloud: &Cloud, id: &str, name: VpcAttributeName) -> Result<bool, ProviderError> {
    let out = cloud
        .ec2()
        .describe_vpc_attribute()
        .vpc_id(id)
        .attribute(name.clone())
        .send()
        .await
        .map_err(ProviderError::api("DescribeVpcAttribute"))?;
    let v = match name {
        VpcAttributeName::EnableDnsHostnames => out.enable_dns_hostnames().and_then(|a| a.value()),
        _ => out.enable_dns_support().and_then(|a| a.value()),
    };
    Ok(v.unwrap_or(false))
}

async fn set_dns(cloud: &Cloud, id: &str, r: &Planned) -> Result<(), ProviderError> {
    let on = |b: bool| AttributeBooleanValue::builder().value(b).build();
    cloud
        .ec2()
        .modify_vpc_attribute()
        .vpc_id(id)
        .enable_dns_support(on(r.bool("dns_support")?))
        .send()
        .await
        .map_err(ProviderError::api("ModifyVpcAttribute"))?;
    cloud
        .ec2()
        .modify_vpc_attribute()
        .vpc_id(id)
        .enable_dns_hostnames(on(r.bool("dns_hostnames")?))
        .send()
        .await
        .map_err(ProviderError::api("ModifyVpcAttribute"))?;
    Ok(())
}

async fn sync_secondary(cloud: &Cloud, id: &str, want: &[String]) -> Result<(), ProviderError> {
    let v = cloud
        .ec2()
        .describe_vpcs()
        .vpc_ids(id)
        .send()
        .await
        .map_err(ProviderError::api("DescribeVpcs"))?;
    let Some(vpc) = v.vpcs().first() else {
        return Err(ProviderError::Unexpected(format!("VPC {id} vanished")));
    };
    let primary = vpc.cidr_block().unwrap_or_default();
    let associated: Vec<(String, String)> = vpc
        .cidr_block_association_set()
        .iter()
        .filter(|a| a.cidr_block() != Some(primary))
        .filter(|a| {
            matches!(
                a.cidr_block_state().and_then(|s| s.state()),
                Some(VpcCidrBlockStateCode::Associated)
            )
        })
        .filter_map(|a| Some((a.cidr_block()?.to_string(), a.association_id()?.to_string())))
        .collect();
    for c in want {
        if !associated.iter().any(|(b, _)| b == c) {
            cloud
                .ec2()
                .associate_vpc_cidr_block()
                .vpc_id(id)
                .cidr_block(c)
                .send()
                .await
                .map_err(ProviderError::api("AssociateVpcCidrBlock"))?;
        }
    }
    for (block, assoc) in &associated {
        if !want.contains(block) {
            cloud
                .ec2()
                .disassociate_vpc_cidr_block()
                .association_id(assoc)
                .send()
                .await
                .map_err(ProviderError::api("DisassociateVpcCidrBlock"))?;
        }
    }
    Ok(())
}

pub async fn create(cloud: &Cloud, r: &Planned) -> Result<Live, ProviderError> {
    let out = cloud
        .ec2()
        .create_vpc()
        .cidr_block(r.str("cidr")?)
        .tag_specifications(tag_spec(cloud, ResourceType::Vpc, r))
        .send()
        .await
        .map_err(ProviderError::api("CreateVpc"))?;
    let id = out
        .vpc()
        .and_then(|v| v.vpc_id())
        .ok_or_else(|| ProviderError::Unexpected("CreateVpc returned no id".into()))?
        .to_string();
    set_dns(cloud, &id, r).await?;
    sync_secondary(cloud, &id, &r.strs("secondary_cidrs")?).await?;
    Ok(created(r, &id))
}

/// What a VPC looks like right after Blueprint made it as planned.
fn created(r: &Planned, id: &str) -> Live {
    let mut l = Live::new(r.address.clone(), id);
    l.attrs = r.spec.clone();
    l.output("cidr", r.str("cidr").unwrap_or_default())
        .output("name", r.str("name").unwrap_or_default())
}

pub async fn update(
    cloud: &Cloud,
    r: &Planned,
    live: &Live,
    fields: &[FieldDiff],
) -> Result<Live, ProviderError> {
    let changed = |p: &str| touches(fields, p);
    if changed("dns_hostnames") || changed("dns_support") {
        set_dns(cloud, &live.id, r).await?;
    }
    if changed("secondary_cidrs") {
        sync_secondary(cloud, &live.id, &r.strs("secondary_cidrs")?).await?;
    }
    if changed("tags") || changed("name") {
        sync_ec2_tags(cloud, &live.id, r, live).await?;
    }
    Ok(created(r, &live.id))
}

pub async fn delete(cloud: &Cloud, live: &Live) -> Result<(), ProviderError> {
    retry_in_use(cloud, "DeleteVpc", || async {
        cloud
            .ec2()
            .delete_vpc()
            .vpc_id(&live.id)
            .send()
            .await
            .done("DeleteVpc")
    })
    .await
}

pub const KIND: Kind = Kind::of(&SCHEMA);

pub static SCHEMA: Schema = Schema::new("vpc", "Vpc", FIELDS);

/// The IAM actions of its operations (`bp permissions`).
pub const IAM: crate::permissions::Iam =
    crate::permissions::Iam::reads(&["ec2:DescribeVpcs", "ec2:DescribeVpcAttribute"])
        .existing(&["ec2:DescribeVpcs", "ec2:DescribeSubnets"])
        .create(&[
            "ec2:CreateVpc",
            "ec2:CreateTags",
            "ec2:ModifyVpcAttribute",
            "ec2:AssociateVpcCidrBlock",
        ])
        .update(&[
            "ec2:ModifyVpcAttribute",
            "ec2:AssociateVpcCidrBlock",
            "ec2:DisassociateVpcCidrBlock",
            "ec2:CreateTags",
            "ec2:DeleteTags",
        ])
        .delete(&["ec2:DeleteVpc"])
        .tag_condition();

pub static DEF: KindDef = KindDef::new(
    KIND,
    Pricing::Free,
    handle!(super::Vpc; super::VPC_FUNCTIONS, super::register_vpc;
        ["address", "azs", "cidr", "id", "name", "private_subnets", "public_subnets", "subnets"]),
    ops!(own),
)
.adopt(crate::boxed!(adopt crate::providers::aws::adopt_ec2))
.validate(super::validate)
.rules(super::lint::VPC)
.unsafe_to_resend(&["CreateVpc"])
.iam(IAM)
.tagged_as("ec2:vpc");

const FIELDS: &[Field] = &[
    Field::new("name"),
    Field::new("cidr").replaces("a VPC's primary CIDR block cannot change"),
    Field::new("secondary_cidrs").set(),
    Field::new("dns_hostnames"),
    Field::new("dns_support"),
    TAGS,
];

/// Every vpc in the region, owned or not, for `:live`.
pub async fn list(cloud: &Cloud) -> Result<Vec<Row>, ProviderError> {
    let all = crate::ec2_pages!(cloud, describe_vpcs, "DescribeVpcs", all)?;
    Ok(all
        .iter()
        .map(|v| {
            let default = if v.is_default() == Some(true) {
                " (default)"
            } else {
                ""
            };
            let details = format!("{}{default}", v.cidr_block().unwrap_or_default());
            Row::ec2(v.vpc_id(), v.tags(), details)
        })
        .collect())
}
