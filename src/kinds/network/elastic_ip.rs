//! Elastic IPs (for NAT gateways).

use crate::cost::Pricing;
use crate::kinds::{Field, KindDef, TAGS};
use crate::model::schema::Schema;
use crate::model::Kind;
use crate::model::Live;
use crate::plan::FieldDiff;
use crate::providers::aws::{ec2_live, owned, read_tags, retry_in_use, sync_ec2_tags, tag_spec};
use crate::providers::AwsResult as _;
use crate::providers::Row;
use crate::providers::{wait_for, Cloud, Planned, ProviderError};
use crate::{handle, ops};
use aws_sdk_ec2::types::{DomainType, ResourceType};

pub async fn read(cloud: &Cloud) -> Result<Vec<Live>, ProviderError> {
    let out = cloud
        .ec2()
        .describe_addresses()
        .filters(owned(cloud))
        .send()
        .await
        .map_err(ProviderError::api("DescribeAddresses"))?;
    Ok(out
        .addresses()
        .iter()
        .filter_map(|a| {
            let (address, tags, name) = read_tags(cloud, a.tags())?;
            Some(
                ec2_live(address, a.allocation_id()?, tags, name)
                    .output("public_ip", a.public_ip().unwrap_or_default()),
            )
        })
        .collect())
}

pub async fn create(cloud: &Cloud, r: &Planned) -> Result<Live, ProviderError> {
    let out = cloud
        .ec2()
        .allocate_address()
        .domain(DomainType::Vpc)
        .tag_specifications(tag_spec(cloud, ResourceType::ElasticIp, r))
        .send()
        .await
        .map_err(ProviderError::api("AllocateAddress"))?;
    let id = out.allocation_id().ok_or_else(|| {
        ProviderError::Unexpected("AllocateAddress returned no allocation id".into())
    })?;
    let mut l = Live::new(r.address.clone(), id);
    l.attrs = r.spec.clone();
    Ok(l.output("public_ip", out.public_ip().unwrap_or_default()))
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

/// Whether the allocation still exists.
async fn exists(cloud: &Cloud, id: &str) -> Result<bool, ProviderError> {
    let out = cloud
        .ec2()
        .describe_addresses()
        .allocation_ids(id)
        .send()
        .await
        .map_err(ProviderError::api("DescribeAddresses"));
    Ok(ProviderError::absent_ok(out)?.is_some_and(|o| !o.addresses().is_empty()))
}

/// Releases the address and makes sure it is gone: a release that races
/// with the deletion of its NAT gateway can be lost, so it is repeated.
pub async fn delete(cloud: &Cloud, live: &Live) -> Result<(), ProviderError> {
    wait_for(
        cloud,
        &format!("elastic IP {} to be released", live.id),
        || async {
            retry_in_use(cloud, "ReleaseAddress", || async {
                cloud
                    .ec2()
                    .release_address()
                    .allocation_id(&live.id)
                    .send()
                    .await
                    .done("ReleaseAddress")
            })
            .await?;
            Ok((!exists(cloud, &live.id).await?).then_some(()))
        },
    )
    .await
}

pub const KIND: Kind = Kind::of(&SCHEMA);

pub static SCHEMA: Schema = Schema::new("elastic_ip", "ElasticIp", FIELDS);

/// The IAM actions of its operations (`bp permissions`).
pub const IAM: crate::permissions::Iam = crate::permissions::Iam::reads(&["ec2:DescribeAddresses"])
    .create(&["ec2:AllocateAddress", "ec2:CreateTags"])
    .update(&["ec2:CreateTags", "ec2:DeleteTags"])
    .delete(&["ec2:ReleaseAddress"])
    .tag_condition();

pub static DEF: KindDef = KindDef::new(
    KIND,
    Pricing::Priced(price),
    handle!(super::ElasticIp),
    ops!(own),
)
.adopt(crate::boxed!(adopt crate::providers::aws::adopt_ec2))
.unsafe_to_resend(&["AllocateAddress"])
.iam(IAM);

const FIELDS: &[Field] = &[Field::new("name"), TAGS];

/// Every elastic_ip in the region, owned or not, for `:live`.
pub async fn list(cloud: &Cloud) -> Result<Vec<Row>, ProviderError> {
    let out = cloud
        .ec2()
        .describe_addresses()
        .send()
        .await
        .map_err(ProviderError::api("DescribeAddresses"))?;
    Ok(out
        .addresses()
        .iter()
        .map(|a| {
            Row::ec2(
                a.allocation_id(),
                a.tags(),
                a.public_ip().unwrap_or_default(),
            )
        })
        .collect())
}

/// What an elastic IP costs a month (see [`crate::cost`]).
pub fn price(q: &crate::cost::Quote) -> crate::cost::Estimate {
    use crate::cost::{rate, Cost, Estimate, HOURS};
    match q.prices.public_ipv4_hour {
        Some(h) => Estimate::Priced(Cost::fixed(
            h * HOURS,
            format!("public IPv4 address: {HOURS} h × {}", rate(h)),
        )),
        None => q.missing("public IPv4 addresses".into()),
    }
}
