//! Subnets: CIDR, zone, public IPs on launch, tags.

use crate::cost::Pricing;
use crate::kinds::{Field, KindDef, TAGS};
use crate::model::schema::Schema;
use crate::model::Kind;
use crate::model::{Live, Value};
use crate::plan::{touches, FieldDiff};
use crate::providers::aws::{
    bool_attr, ec2_live, read_tags, retry_in_use, sync_ec2_tags, tag_spec,
};
use crate::providers::AwsResult as _;
use crate::providers::Row;
use crate::providers::{Cloud, Planned, ProviderError};
use crate::{handle, ops};
use aws_sdk_ec2::types::{AttributeBooleanValue, ResourceType};

pub async fn read(cloud: &Cloud) -> Result<Vec<Live>, ProviderError> {
    let subnets = crate::ec2_pages!(cloud, describe_subnets, "DescribeSubnets", owned)?;
    Ok(subnets
        .iter()
        .filter_map(|s| {
            let (address, tags, name) = read_tags(cloud, s.tags())?;
            let id = s.subnet_id()?;
            Some(
                ec2_live(address, id, tags, name)
                    .attr("vpc", Value::str(s.vpc_id().unwrap_or_default()))
                    .attr("cidr", Value::str(s.cidr_block().unwrap_or_default()))
                    .attr("az", Value::str(s.availability_zone().unwrap_or_default()))
                    .attr("public", bool_attr(s.map_public_ip_on_launch()))
                    .output("cidr", s.cidr_block().unwrap_or_default())
                    .output("az", s.availability_zone().unwrap_or_default()),
            )
        })
        .collect())
}

async fn set_public(cloud: &Cloud, id: &str, public: bool) -> Result<(), ProviderError> {
    cloud
        .ec2()
        .modify_subnet_attribute()
        .subnet_id(id)
        .map_public_ip_on_launch(AttributeBooleanValue::builder().value(public).build())
        .send()
        .await
        .map_err(ProviderError::api("ModifySubnetAttribute"))?;
    Ok(())
}

fn created(r: &Planned, id: &str) -> Live {
    let mut l = Live::new(r.address.clone(), id);
    l.attrs = r.spec.clone();
    l.output("name", r.str("name").unwrap_or_default())
        .output("cidr", r.str("cidr").unwrap_or_default())
        .output("az", r.str("az").unwrap_or_default())
}

pub async fn create(cloud: &Cloud, r: &Planned) -> Result<Live, ProviderError> {
    let out = cloud
        .ec2()
        .create_subnet()
        .vpc_id(r.str("vpc")?)
        .cidr_block(r.str("cidr")?)
        .availability_zone(r.str("az")?)
        .tag_specifications(tag_spec(cloud, ResourceType::Subnet, r))
        .send()
        .await
        .map_err(ProviderError::api("CreateSubnet"))?;
    let id = out
        .subnet()
        .and_then(|s| s.subnet_id())
        .ok_or_else(|| ProviderError::Unexpected("CreateSubnet returned no id".into()))?
        .to_string();
    if r.bool("public")? {
        set_public(cloud, &id, true).await?;
    }
    Ok(created(r, &id))
}

pub async fn update(
    cloud: &Cloud,
    r: &Planned,
    live: &Live,
    fields: &[FieldDiff],
) -> Result<Live, ProviderError> {
    let changed = |p: &str| touches(fields, p);
    if changed("public") {
        set_public(cloud, &live.id, r.bool("public")?).await?;
    }
    if changed("tags") || changed("name") {
        sync_ec2_tags(cloud, &live.id, r, live).await?;
    }
    Ok(created(r, &live.id))
}

pub async fn delete(cloud: &Cloud, live: &Live) -> Result<(), ProviderError> {
    retry_in_use(cloud, "DeleteSubnet", || async {
        cloud
            .ec2()
            .delete_subnet()
            .subnet_id(&live.id)
            .send()
            .await
            .done("DeleteSubnet")
    })
    .await
}

pub const KIND: Kind = Kind::of(&SCHEMA);

pub static SCHEMA: Schema = Schema::new("subnet", "Subnet", FIELDS);

/// The IAM actions of its operations (`bp permissions`).
pub const IAM: crate::permissions::Iam = crate::permissions::Iam::reads(&["ec2:DescribeSubnets"])
    .existing(&["ec2:DescribeSubnets"])
    .create(&[
        "ec2:CreateSubnet",
        "ec2:CreateTags",
        "ec2:ModifySubnetAttribute",
    ])
    .update(&[
        "ec2:ModifySubnetAttribute",
        "ec2:CreateTags",
        "ec2:DeleteTags",
    ])
    .delete(&["ec2:DeleteSubnet"])
    .tag_condition();

pub static DEF: KindDef = KindDef::new(
    KIND,
    Pricing::Free,
    handle!(super::Subnet; super::SUBNET_FUNCTIONS, super::register_subnet;
        ["address", "az", "cidr", "id", "name"]),
    ops!(own),
)
.adopt(crate::boxed!(adopt crate::providers::aws::adopt_ec2))
.unsafe_to_resend(&["CreateSubnet"])
.iam(IAM)
.tagged_as("ec2:subnet");

const FIELDS: &[Field] = &[
    Field::new("name"),
    Field::new("vpc")
        .replaces("a subnet cannot move to another VPC")
        .refers(),
    Field::new("cidr").replaces("a subnet's CIDR block cannot change"),
    Field::new("az").replaces("a subnet cannot move to another availability zone"),
    Field::new("public"),
    TAGS,
];

/// Every subnet in the region, owned or not, for `:live`.
pub async fn list(cloud: &Cloud) -> Result<Vec<Row>, ProviderError> {
    let all = crate::ec2_pages!(cloud, describe_subnets, "DescribeSubnets", all)?;
    Ok(all
        .iter()
        .map(|s| {
            let (vpc, cidr) = (
                s.vpc_id().unwrap_or_default(),
                s.cidr_block().unwrap_or_default(),
            );
            let az = s.availability_zone().unwrap_or_default();
            Row::ec2(s.subnet_id(), s.tags(), format!("{vpc} {cidr} {az}"))
        })
        .collect())
}
