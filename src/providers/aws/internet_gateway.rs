//! Internet gateways and their VPC attachment.

use super::{ec2_live, owned, read_tags, retry_in_use, sync_ec2_tags, tag_spec};
use crate::model::{Live, Value};
use crate::plan::{touches, FieldDiff};
use crate::providers::{Cloud, Planned, ProviderError};
use aws_sdk_ec2::types::ResourceType;

pub async fn read(cloud: &Cloud) -> Result<Vec<Live>, ProviderError> {
    let igws = cloud
        .ec2
        .describe_internet_gateways()
        .filters(owned(cloud))
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .map_err(ProviderError::api("DescribeInternetGateways"))?;
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
        .ec2
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
        .ec2
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
        .ec2
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
            .ec2
            .delete_internet_gateway()
            .internet_gateway_id(&live.id)
            .send()
            .await
            .map(|_| ())
            .map_err(ProviderError::api("DeleteInternetGateway"))
    })
    .await
}
