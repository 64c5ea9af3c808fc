//! Internet gateways and their VPC attachment.

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
use aws_sdk_ec2::types::ResourceType;

pub async fn read(cloud: &Cloud) -> Result<Vec<Live>, ProviderError> {
    let igws = crate::ec2_pages!(
        cloud,
        describe_internet_gateways,
        "DescribeInternetGateways",
        owned
    )?;
    Ok(igws
        .iter()
        .filter_map(|g| {
            let (address, tags, name) = read_tags(cloud, g.tags())?;
            let vpc = g
                .attachments()
                .first()
                .and_then(|a| a.vpc_id())
                .unwrap_or_default();
            Some(
                ec2_live(address, g.internet_gateway_id()?, tags, name)
                    .attr("vpc", Value::str(vpc)),
            )
        })
        .collect())
}

fn created(r: &Planned, id: &str) -> Live {
    let mut l = Live::new(r.address.clone(), id);
    l.attrs = r.spec.clone();
    l
}

async fn attach(cloud: &Cloud, id: &str, vpc: &str) -> Result<(), ProviderError> {
    cloud
        .ec2()
        .attach_internet_gateway()
        .internet_gateway_id(id)
        .vpc_id(vpc)
        .send()
        .await
        .map_err(ProviderError::api("AttachInternetGateway"))?;
    Ok(())
}

async fn detach(cloud: &Cloud, id: &str, vpc: &str) -> Result<(), ProviderError> {
    let r = cloud
        .ec2()
        .detach_internet_gateway()
        .internet_gateway_id(id)
        .vpc_id(vpc)
        .send()
        .await
        .map_err(ProviderError::api("DetachInternetGateway"));
    match r {
        Err(e) if e.code() == Some("Gateway.NotAttached") => Ok(()),
        other => other.map(|_| ()),
    }
}

pub async fn create(cloud: &Cloud, r: &Planned) -> Result<Live, ProviderError> {
    let out = cloud
        .ec2()
        .create_internet_gateway()
        .tag_specifications(tag_spec(cloud, ResourceType::InternetGateway, r))
        .send()
        .await
        .map_err(ProviderError::api("CreateInternetGateway"))?;
    let id = out
        .internet_gateway()
        .and_then(|g| g.internet_gateway_id())
        .ok_or_else(|| ProviderError::Unexpected("CreateInternetGateway returned no id".into()))?
        .to_string();
    attach(cloud, &id, r.str("vpc")?).await?;
    Ok(created(r, &id))
}

pub async fn update(
    cloud: &Cloud,
    r: &Planned,
    live: &Live,
    fields: &[FieldDiff],
) -> Result<Live, ProviderError> {
    if touches(fields, "vpc") {
        if let Some(old) = live
            .attrs
            .get("vpc")
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
        {
            detach(cloud, &live.id, old).await?;
        }
        attach(cloud, &live.id, r.str("vpc")?).await?;
    }
    if touches(fields, "tags") || touches(fields, "name") {
        sync_ec2_tags(cloud, &live.id, r, live).await?;
    }
    Ok(created(r, &live.id))
}

pub async fn delete(cloud: &Cloud, live: &Live) -> Result<(), ProviderError> {
    if let Some(vpc) = live
        .attrs
        .get("vpc")
        .and_then(Value::as_str)
        .filter(|v| !v.is_empty())
    {
        retry_in_use(cloud, "DetachInternetGateway", || {
            detach(cloud, &live.id, vpc)
        })
        .await?;
    }
    retry_in_use(cloud, "DeleteInternetGateway", || async {
        cloud
            .ec2()
            .delete_internet_gateway()
            .internet_gateway_id(&live.id)
            .send()
            .await
            .done("DeleteInternetGateway")
    })
    .await
}

pub const KIND: Kind = Kind::of(&SCHEMA);

pub static SCHEMA: Schema = Schema::new("internet_gateway", "InternetGateway", FIELDS);

/// The IAM actions of its operations (`bp permissions`).
pub const IAM: crate::permissions::Iam =
    crate::permissions::Iam::reads(&["ec2:DescribeInternetGateways"])
        .create(&[
            "ec2:CreateInternetGateway",
            "ec2:CreateTags",
            "ec2:AttachInternetGateway",
        ])
        .update(&[
            "ec2:AttachInternetGateway",
            "ec2:DetachInternetGateway",
            "ec2:CreateTags",
            "ec2:DeleteTags",
        ])
        .delete(&["ec2:DetachInternetGateway", "ec2:DeleteInternetGateway"])
        .tag_condition();

pub static DEF: KindDef = KindDef::new(
    KIND,
    Pricing::Free,
    handle!(super::InternetGateway),
    ops!(own),
)
.adopt(crate::boxed!(adopt crate::providers::aws::adopt_ec2))
.unsafe_to_resend(&["CreateInternetGateway"])
.iam(IAM)
.tagged_as("ec2:internet-gateway");

const FIELDS: &[Field] = &[Field::new("name"), Field::new("vpc").refers(), TAGS];

/// Every internet_gateway in the region, owned or not, for `:live`.
pub async fn list(cloud: &Cloud) -> Result<Vec<Row>, ProviderError> {
    let all = crate::ec2_pages!(
        cloud,
        describe_internet_gateways,
        "DescribeInternetGateways",
        all
    )?;
    Ok(all
        .iter()
        .map(|g| {
            let vpc = g.attachments().first().and_then(|a| a.vpc_id());
            Row::ec2(g.internet_gateway_id(), g.tags(), vpc.unwrap_or("detached"))
        })
        .collect())
}
