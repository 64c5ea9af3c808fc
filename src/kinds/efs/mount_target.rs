//! EFS mount targets, one per subnet of `efs(...)`. They have no tags: a
//! mount target belongs to the blueprint through its file system, and its
//! address comes from its subnet's. Its security groups change in place;
//! a new subnet is a new mount target.

use super::client;
use crate::cost::Pricing;
use crate::kinds::{Field, KindDef};
use crate::model::names::NameRule;
use crate::model::schema::Schema;
use crate::model::{Address, Kind, Live, Value};
use crate::plan::{touches, FieldDiff};
use crate::providers::AwsResult as _;
use crate::providers::{wait_for, Cloud, Planned, ProviderError, Row, TAG_ADDRESS};
use crate::{handle, ops};
use aws_sdk_efs::types::{FileSystemDescription, LifeCycleState, MountTargetDescription};
use aws_sdk_efs::Client;

crate::handle_type!(EfsMountTarget);

pub const KIND: Kind = Kind::of(&SCHEMA);

pub static SCHEMA: Schema = Schema::new("efs_mount_target", "EfsMountTarget", FIELDS)
    .names(NameRule::chars(1, 255, |c| c != ' ', "no spaces"));

/// The IAM actions of its operations (`bp permissions`).
pub const IAM: crate::permissions::Iam = crate::permissions::Iam::reads(&[
    "elasticfilesystem:DescribeMountTargets",
    "elasticfilesystem:DescribeMountTargetSecurityGroups",
])
// EFS makes the mount target's network interface as the caller.
.create(&[
    "elasticfilesystem:CreateMountTarget",
    "ec2:DescribeSubnets",
    "ec2:DescribeNetworkInterfaces",
    "ec2:CreateNetworkInterface",
])
.update(&["elasticfilesystem:ModifyMountTargetSecurityGroups"])
.delete(&["elasticfilesystem:DeleteMountTarget"]);

pub static DEF: KindDef = KindDef::new(
    KIND,
    Pricing::Free,
    handle!(EfsMountTarget),
    ops!(with super::file_system::KIND),
)
.iam(IAM);

const FIELDS: &[Field] = &[
    Field::new("file_system")
        .replaces("a mount target belongs to one file system")
        .refers(),
    Field::new("subnet")
        .replaces("a mount target cannot move to another subnet")
        .refers(),
    Field::new("security_groups").set().refers(),
];

async fn targets(efs: &Client, fs: &str) -> Result<Vec<MountTargetDescription>, ProviderError> {
    let out = efs
        .describe_mount_targets()
        .file_system_id(fs)
        .send()
        .await
        .map_err(ProviderError::api("DescribeMountTargets"));
    Ok(ProviderError::absent_ok(out)?
        .map(|o| o.mount_targets().to_vec())
        .unwrap_or_default()
        .into_iter()
        .filter(|m| {
            !matches!(
                m.life_cycle_state(),
                LifeCycleState::Deleted | LifeCycleState::Deleting
            )
        })
        .collect())
}

async fn groups(efs: &Client, id: &str) -> Result<Vec<String>, ProviderError> {
    efs.describe_mount_target_security_groups()
        .mount_target_id(id)
        .send()
        .await
        .map(|o| o.security_groups().to_vec())
        .map_err(ProviderError::api("DescribeMountTargetSecurityGroups"))
}

/// The mount targets of an owned file system, each at the address of its
/// subnet (`efs_mount_target.<fs>/<subnet>`); the subnets' addresses come
/// from their tags, read through EC2 by the subnets' own read.
pub(super) async fn of(
    cloud: &Cloud,
    efs: &Client,
    fs: &FileSystemDescription,
) -> Result<Vec<Live>, ProviderError> {
    let Some(fs_address) = fs
        .tags()
        .iter()
        .find(|t| t.key() == TAG_ADDRESS)
        .and_then(|t| t.value().parse::<Address>().ok())
    else {
        return Ok(Vec::new());
    };
    let list = targets(efs, fs.file_system_id()).await?;
    if list.is_empty() {
        return Ok(Vec::new());
    }
    let subnet_ids: Vec<String> = list.iter().map(|m| m.subnet_id().to_string()).collect();
    let subnets = cloud
        .ec2()
        .describe_subnets()
        .set_subnet_ids(Some(subnet_ids))
        .send()
        .await
        .map_err(ProviderError::api("DescribeSubnets"))?;
    let leaf_of = |subnet: &str| -> String {
        subnets
            .subnets()
            .iter()
            .find(|s| s.subnet_id() == Some(subnet))
            .and_then(|s| {
                s.tags()
                    .iter()
                    .find(|t| t.key() == Some(TAG_ADDRESS))
                    .and_then(|t| t.value())
            })
            .and_then(|a| a.rsplit('/').next().map(String::from))
            .unwrap_or_else(|| subnet.to_string())
    };
    let sgs =
        futures::future::join_all(list.iter().map(|m| groups(efs, m.mount_target_id()))).await;
    let mut out = Vec::new();
    for (m, g) in list.iter().zip(sgs) {
        let mut g = g?;
        g.sort();
        let address = Address::new(
            KIND,
            format!("{}/{}", fs_address.name, leaf_of(m.subnet_id())),
        );
        out.push(
            Live::new(address, m.mount_target_id())
                .attr("file_system", Value::str(m.file_system_id()))
                .attr("subnet", Value::str(m.subnet_id()))
                .attr(
                    "security_groups",
                    Value::List(g.iter().map(Value::str).collect()),
                )
                .output("id", m.mount_target_id())
                .output("ip_address", m.ip_address().unwrap_or_default()),
        );
    }
    Ok(out)
}

async fn settled(
    cloud: &Cloud,
    r: &Planned,
    fs: &str,
    subnet: &str,
) -> Result<Live, ProviderError> {
    let efs = client(cloud);
    let m = wait_for(
        cloud,
        &format!("EFS mount target of {fs} in {subnet} to be available"),
        || async {
            Ok(targets(&efs, fs).await?.into_iter().find(|m| {
                m.subnet_id() == subnet && m.life_cycle_state() == &LifeCycleState::Available
            }))
        },
    )
    .await?;
    let mut g = groups(&efs, m.mount_target_id()).await?;
    g.sort();
    Ok(Live::new(r.address.clone(), m.mount_target_id())
        .attr("file_system", Value::str(fs))
        .attr("subnet", Value::str(subnet))
        .attr(
            "security_groups",
            Value::List(g.iter().map(Value::str).collect()),
        )
        .output("id", m.mount_target_id())
        .output("ip_address", m.ip_address().unwrap_or_default()))
}

pub async fn create(cloud: &Cloud, r: &Planned) -> Result<Live, ProviderError> {
    let efs = client(cloud);
    let fs = r.str("file_system")?;
    let subnet = r.str("subnet")?;
    // One mount target per subnet: an interrupted apply's is adopted.
    if !targets(&efs, fs)
        .await?
        .iter()
        .any(|m| m.subnet_id() == subnet)
    {
        efs.create_mount_target()
            .file_system_id(fs)
            .subnet_id(subnet)
            .set_security_groups(Some(r.strs("security_groups")?))
            .send()
            .await
            .map_err(ProviderError::api("CreateMountTarget"))?;
    }
    settled(cloud, r, fs, subnet).await
}

pub async fn update(
    cloud: &Cloud,
    r: &Planned,
    live: &Live,
    fields: &[FieldDiff],
) -> Result<Live, ProviderError> {
    if touches(fields, "security_groups") {
        client(cloud)
            .modify_mount_target_security_groups()
            .mount_target_id(&live.id)
            .set_security_groups(Some(r.strs("security_groups")?))
            .send()
            .await
            .map_err(ProviderError::api("ModifyMountTargetSecurityGroups"))?;
    }
    settled(cloud, r, r.str("file_system")?, r.str("subnet")?).await
}

pub async fn delete(cloud: &Cloud, live: &Live) -> Result<(), ProviderError> {
    let efs = client(cloud);
    efs.delete_mount_target()
        .mount_target_id(&live.id)
        .send()
        .await
        .gone("DeleteMountTarget")?;
    // The file system can only go once its mount targets are gone.
    let fs = live
        .attrs
        .get("file_system")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    wait_for(
        cloud,
        &format!("EFS mount target {} to be deleted", live.id),
        || async {
            Ok((!targets(&efs, &fs)
                .await?
                .iter()
                .any(|m| m.mount_target_id() == live.id))
            .then_some(()))
        },
    )
    .await
}

/// The mount targets of every file system in the region, for `:live`.
pub async fn list(cloud: &Cloud) -> Result<Vec<Row>, ProviderError> {
    let efs = client(cloud);
    let mut rows = Vec::new();
    for f in efs
        .describe_file_systems()
        .send()
        .await
        .map_err(ProviderError::api("DescribeFileSystems"))?
        .file_systems()
    {
        for m in targets(&efs, f.file_system_id()).await? {
            rows.push(Row::new(
                m.mount_target_id(),
                f.file_system_id(),
                format!("{} {}", m.subnet_id(), m.ip_address().unwrap_or_default()),
            ));
        }
    }
    Ok(rows)
}
