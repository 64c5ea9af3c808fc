//! EC2 instances. Launched with a client token derived from the blueprint
//! and address, so a launch whose answer was lost is not repeated. The
//! instance type (a stop and start), security groups, IMDSv2 and tags
//! change in place; the subnet, image, key, user data, profile, root
//! volume and public address need a new instance. An AMI alias is resolved
//! when the instance is created and recorded on it (`blueprint:ami`), so a
//! newer image behind the alias does not replace a running host.

use super::{arch, AMI_ALIASES};
use crate::cost::Pricing;
use crate::kinds::{Diff, Field, KindDef, TAGS};
use crate::model::names::NameRule;
use crate::model::schema::Schema;
use crate::model::{Kind, Live, Map, Value};
use crate::plan::{touches, FieldDiff};
use crate::providers::aws::{ec2_live, ec2_tag, owned, read_tags, sync_ec2_tags, tag_spec};
use crate::providers::AwsResult as _;
use crate::providers::{wait_for, Cloud, Planned, ProviderError, Row};
use crate::{handle, ops};
use aws_sdk_ec2::types::{
    AttributeValue, BlockDeviceMapping, EbsBlockDevice, HttpTokensState,
    IamInstanceProfileSpecification, Instance as Ec2Instance, InstanceAttributeName,
    InstanceMetadataOptionsRequest, InstanceNetworkInterfaceSpecification, InstanceStateName,
    ResourceType, VolumeType,
};
use base64::Engine as _;

pub const KIND: Kind = Kind::of(&SCHEMA);

/// Where the alias an instance was created from is recorded.
const AMI_TAG: &str = "blueprint:ami";
/// Whether the instance was launched with a public address (a stopped
/// instance has none, and an Elastic IP is not one it was launched with).
const PUBLIC_IP_TAG: &str = "blueprint:public-ip";

pub static SCHEMA: Schema = Schema::new("instance", "Instance", FIELDS)
    .names(NameRule::chars(1, 255, |c| c != '\0', "any characters"))
    // Nothing about an instance's identity stops a second one: a replacement
    // makes the new one first.
    .lifecycle(crate::model::schema::Lifecycle {
        replace: crate::model::schema::ReplaceStrategy::CreateThenDelete,
        ..crate::model::schema::Lifecycle::PLAIN
    });

/// The IAM actions of its operations (`bp permissions`).
pub const IAM: crate::permissions::Iam = crate::permissions::Iam::reads(&[
    "ec2:DescribeInstances",
    "ec2:DescribeInstanceAttribute",
    "ec2:DescribeVolumes",
])
.create(&[
    "ec2:RunInstances",
    "ec2:CreateTags",
    "ssm:GetParameter",
    "ec2:DescribeImages",
])
.update(&[
    "ec2:StopInstances",
    "ec2:StartInstances",
    "ec2:ModifyInstanceAttribute",
    "ec2:ModifyInstanceMetadataOptions",
    "ec2:CreateTags",
    "ec2:DeleteTags",
])
.delete(&["ec2:TerminateInstances"])
.tag_condition()
.passes_role();

pub static DEF: KindDef = KindDef::new(
    KIND,
    Pricing::Priced(price),
    handle!(super::Instance; super::FUNCTIONS, super::register;
        ["address", "arn", "id", "name", "private_ip", "public_ip"]),
    ops!(own),
)
.adopt(crate::boxed!(adopt crate::providers::aws::adopt_ec2))
.rules(super::lint::INSTANCE)
.iam(IAM)
.tagged_as("ec2:instance");

const FIELDS: &[Field] = &[
    Field::new("name"),
    Field::new("subnet")
        .replaces("an instance cannot move to another subnet")
        .refers(),
    Field::new("instance_type"),
    Field::new("ami").replaces("a new image needs a new instance"),
    Field::new("security_groups").set().refers(),
    Field::new("key_name").replaces("an instance's key pair is set at launch"),
    Field::new("user_data").replaces("user data runs at first boot: a change needs a new instance"),
    Field::new("profile")
        .replaces("Blueprint sets an instance's profile at launch")
        .refers(),
    Field::new("root_volume")
        .diff(Diff::Struct(&[
            Field::new("size_gb"),
            Field::new("type"),
            Field::new("encrypted"),
        ]))
        .replaces("the root volume is made at launch"),
    Field::new("metadata_v2_required"),
    Field::new("public_ip").replaces("a public address is given at launch"),
    TAGS,
];

fn live_of(
    cloud: &Cloud,
    i: &Ec2Instance,
    account: &str,
    user_data: Option<String>,
    root: Option<Map>,
) -> Option<Live> {
    let (address, tags, name) = read_tags(cloud, i.tags())?;
    let id = i.instance_id()?;
    let tag = |k: &str| {
        i.tags()
            .iter()
            .find(|t| t.key() == Some(k))
            .and_then(|t| t.value())
    };
    // The primary interface's groups are the instance's (EC2 lists them
    // in both places; the emulator only on the interface).
    let mut groups: Vec<String> = i
        .security_groups()
        .iter()
        .filter_map(|g| g.group_id().map(String::from))
        .chain(
            i.network_interfaces()
                .iter()
                .filter(|n| n.attachment().and_then(|a| a.device_index()) == Some(0))
                .flat_map(|n| n.groups())
                .filter_map(|g| g.group_id().map(String::from)),
        )
        .collect();
    groups.sort();
    groups.dedup();
    let mut l = ec2_live(address, id, tags, name)
        .attr("subnet", Value::str(i.subnet_id().unwrap_or_default()))
        .attr(
            "instance_type",
            Value::str(i.instance_type().map(|t| t.as_str()).unwrap_or_default()),
        )
        .attr(
            "ami",
            Value::str(tag(AMI_TAG).or(i.image_id()).unwrap_or_default()),
        )
        .attr(
            "security_groups",
            Value::List(groups.iter().map(Value::str).collect()),
        )
        .attr(
            "metadata_v2_required",
            Value::Bool(
                i.metadata_options().and_then(|m| m.http_tokens())
                    == Some(&HttpTokensState::Required),
            ),
        )
        .attr(
            "public_ip",
            Value::Bool(match tag(PUBLIC_IP_TAG) {
                Some(v) => v == "true",
                None => i.public_ip_address().is_some(),
            }),
        )
        .output("id", id)
        .output(
            "arn",
            format!("arn:aws:ec2:{}:{account}:instance/{id}", cloud.region),
        )
        .output("private_ip", i.private_ip_address().unwrap_or_default())
        .output("public_ip", i.public_ip_address().unwrap_or_default());
    if let Some(k) = i.key_name() {
        l.attrs.insert("key_name".into(), Value::str(k));
    }
    if let Some(u) = user_data {
        l.attrs.insert("user_data".into(), Value::Str(u));
    }
    if let Some(p) = i.iam_instance_profile().and_then(|p| p.arn()) {
        l.attrs.insert("profile".into(), Value::str(p));
    }
    if let Some(r) = root {
        l.attrs.insert("root_volume".into(), Value::Map(r));
    }
    Some(l)
}

async fn user_data(cloud: &Cloud, id: &str) -> Result<Option<String>, ProviderError> {
    let out = cloud
        .ec2()
        .describe_instance_attribute()
        .instance_id(id)
        .attribute(InstanceAttributeName::UserData)
        .send()
        .await
        .map_err(ProviderError::api("DescribeInstanceAttribute"))?;
    Ok(out
        .user_data()
        .and_then(|u| u.value())
        .and_then(|b64| base64::engine::general_purpose::STANDARD.decode(b64).ok())
        .map(|b| String::from_utf8_lossy(&b).into_owned()))
}

/// The root volumes of `instances`, by instance id, from one call.
async fn roots(
    cloud: &Cloud,
    instances: &[&Ec2Instance],
) -> Result<Vec<Option<Map>>, ProviderError> {
    let root_of = |i: &Ec2Instance| -> Option<String> {
        let dev = i.root_device_name()?;
        i.block_device_mappings()
            .iter()
            .find(|m| m.device_name() == Some(dev))
            .and_then(|m| m.ebs())
            .and_then(|e| e.volume_id())
            .map(String::from)
    };
    let ids: Vec<String> = instances.iter().filter_map(|i| root_of(i)).collect();
    if ids.is_empty() {
        return Ok(instances.iter().map(|_| None).collect());
    }
    let vols = cloud
        .ec2()
        .describe_volumes()
        .set_volume_ids(Some(ids))
        .send()
        .await
        .map_err(ProviderError::api("DescribeVolumes"))?;
    Ok(instances
        .iter()
        .map(|i| {
            let id = root_of(i)?;
            let v = vols
                .volumes()
                .iter()
                .find(|v| v.volume_id() == Some(id.as_str()))?;
            Some(Map::from([
                (
                    "size_gb".into(),
                    Value::Int(v.size().unwrap_or_default().into()),
                ),
                (
                    "type".into(),
                    Value::str(v.volume_type().map(|t| t.as_str()).unwrap_or_default()),
                ),
                (
                    "encrypted".into(),
                    Value::Bool(v.encrypted().unwrap_or(false)),
                ),
            ]))
        })
        .collect())
}

/// Owned, not terminated instances with their owners' account ids.
async fn owned_instances(cloud: &Cloud) -> Result<Vec<(Ec2Instance, String)>, ProviderError> {
    let pages = cloud
        .ec2()
        .describe_instances()
        .filters(owned(cloud))
        .into_paginator()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .map_err(ProviderError::api("DescribeInstances"))?;
    Ok(pages
        .iter()
        .flat_map(|p| p.reservations())
        .flat_map(|r| {
            let account = r.owner_id().unwrap_or_default().to_string();
            r.instances()
                .iter()
                .filter(|i| {
                    !matches!(
                        i.state().and_then(|s| s.name()),
                        Some(InstanceStateName::Terminated | InstanceStateName::ShuttingDown)
                    )
                })
                .map(move |i| (i.clone(), account.clone()))
        })
        .collect())
}

/// Owned instances: one filtered list, their root volumes in one call, and
/// each one's user data (an attribute EC2 reads one instance at a time).
pub async fn read(cloud: &Cloud) -> Result<Vec<Live>, ProviderError> {
    let all = owned_instances(cloud).await?;
    let refs: Vec<&Ec2Instance> = all.iter().map(|(i, _)| i).collect();
    let (root, data) = tokio::join!(
        roots(cloud, &refs),
        futures::future::join_all(
            refs.iter()
                .map(|i| user_data(cloud, i.instance_id().unwrap_or_default()))
        )
    );
    let root = root?;
    let mut out = Vec::new();
    for (((i, account), r), d) in all.iter().zip(root).zip(data) {
        out.extend(live_of(cloud, i, account, d?, r));
    }
    Ok(out)
}

async fn describe(cloud: &Cloud, id: &str) -> Result<Option<(Ec2Instance, String)>, ProviderError> {
    let out = cloud
        .ec2()
        .describe_instances()
        .instance_ids(id)
        .send()
        .await
        .map_err(ProviderError::api("DescribeInstances"));
    Ok(ProviderError::absent_ok(out)?.and_then(|o| {
        o.reservations().iter().find_map(|r| {
            r.instances()
                .first()
                .map(|i| (i.clone(), r.owner_id().unwrap_or_default().to_string()))
        })
    }))
}

async fn wait_state(
    cloud: &Cloud,
    id: &str,
    want: InstanceStateName,
) -> Result<(Ec2Instance, String), ProviderError> {
    wait_for(
        cloud,
        &format!("instance {id} to be {}", want.as_str()),
        || async {
            Ok(describe(cloud, id)
                .await?
                .filter(|(i, _)| i.state().and_then(|s| s.name()) == Some(&want)))
        },
    )
    .await
}

async fn settled(cloud: &Cloud, r: &Planned, id: &str) -> Result<Live, ProviderError> {
    let (i, account) = wait_state(cloud, id, InstanceStateName::Running).await?;
    let root = roots(cloud, &[&i]).await?.pop().flatten();
    let data = user_data(cloud, id).await?;
    live_of(cloud, &i, &account, data, root).ok_or_else(|| {
        ProviderError::Unexpected(format!("{}: instance {id} lost its tags", r.address))
    })
}

/// The image to launch: the id itself, or the one AWS's public SSM
/// parameter names for the alias and the instance type's architecture.
async fn image(cloud: &Cloud, ami: &str, instance_type: &str) -> Result<String, ProviderError> {
    let Some((_, param)) = AMI_ALIASES.iter().find(|(a, _)| *a == ami) else {
        return Ok(ami.to_string());
    };
    let name = param.replace("{arch}", arch(instance_type));
    let ssm = cloud.client(|conf, counter| {
        aws_sdk_ssm::Client::from_conf(
            aws_sdk_ssm::config::Builder::from(conf)
                .interceptor(counter)
                .build(),
        )
    });
    let out = ssm
        .get_parameter()
        .name(&name)
        .send()
        .await
        .map_err(ProviderError::api("GetParameter"));
    match ProviderError::absent_ok(out)? {
        Some(o) => o
            .parameter()
            .and_then(|p| p.value())
            .map(String::from)
            .ok_or_else(|| ProviderError::Unexpected(format!("SSM parameter {name} has no value"))),
        None => Err(ProviderError::Spec(format!(
            "the AMI alias \"{ami}\" is read from the public SSM parameter {name}, which this endpoint does not have; give an image id instead"
        ))),
    }
}

async fn root_device(cloud: &Cloud, image: &str) -> Result<String, ProviderError> {
    let out = cloud
        .ec2()
        .describe_images()
        .image_ids(image)
        .send()
        .await
        .map_err(ProviderError::api("DescribeImages"))?;
    Ok(out
        .images()
        .first()
        .and_then(|i| i.root_device_name())
        .unwrap_or("/dev/xvda")
        .to_string())
}

pub async fn create(cloud: &Cloud, r: &Planned) -> Result<Live, ProviderError> {
    let ami = r.str("ami")?;
    let itype = r.str("instance_type")?;
    let image = image(cloud, ami, itype).await?;
    let mut nic = InstanceNetworkInterfaceSpecification::builder()
        .device_index(0)
        .subnet_id(r.str("subnet")?)
        .associate_public_ip_address(r.bool("public_ip")?);
    if r.get("security_groups")?.is_some() {
        nic = nic.set_groups(Some(r.strs("security_groups")?));
    }
    let base = tag_spec(cloud, ResourceType::Instance, r);
    let mut extra = vec![ec2_tag(
        PUBLIC_IP_TAG,
        if r.bool("public_ip")? {
            "true"
        } else {
            "false"
        },
    )];
    if AMI_ALIASES.iter().any(|(a, _)| *a == ami) {
        extra.push(ec2_tag(AMI_TAG, ami));
    }
    let tags = aws_sdk_ec2::types::TagSpecification::builder()
        .resource_type(ResourceType::Instance)
        .set_tags(Some(base.tags().iter().cloned().chain(extra).collect()))
        .build();
    let token = cloud.client_token(&r.address);
    let mut run = cloud
        .ec2()
        .run_instances()
        .client_token(&token)
        .image_id(&image)
        .instance_type(itype.into())
        .min_count(1)
        .max_count(1)
        .network_interfaces(nic.build())
        .tag_specifications(tags)
        .tag_specifications(tag_spec(cloud, ResourceType::Volume, r))
        .metadata_options(
            InstanceMetadataOptionsRequest::builder()
                .http_tokens(if r.bool("metadata_v2_required")? {
                    HttpTokensState::Required
                } else {
                    HttpTokensState::Optional
                })
                .http_endpoint("enabled".into())
                .build(),
        );
    if let Some(k) = r.get("key_name")?.and_then(Value::as_str) {
        run = run.key_name(k);
    }
    if let Some(u) = r.get("user_data")?.and_then(Value::as_str) {
        run = run.user_data(base64::engine::general_purpose::STANDARD.encode(u));
    }
    if let Some(p) = r.get("profile")?.and_then(Value::as_str) {
        run = run.iam_instance_profile(IamInstanceProfileSpecification::builder().arn(p).build());
    }
    if let Some(root) = r.get("root_volume")?.and_then(Value::as_map) {
        let mut ebs = EbsBlockDevice::builder()
            .volume_type(VolumeType::from(
                root.get("type").and_then(Value::as_str).unwrap_or("gp3"),
            ))
            .encrypted(
                root.get("encrypted")
                    .and_then(Value::as_bool)
                    .unwrap_or(true),
            )
            .delete_on_termination(true);
        if let Some(size) = root.get("size_gb").and_then(Value::as_int) {
            ebs = ebs.volume_size(size as i32);
        }
        run = run.block_device_mappings(
            BlockDeviceMapping::builder()
                .device_name(root_device(cloud, &image).await?)
                .ebs(ebs.build())
                .build(),
        );
    }
    // A new instance profile takes a few seconds to be usable by EC2.
    let start = std::time::Instant::now();
    let mut fresh = 0;
    let out = loop {
        match run
            .clone()
            .send()
            .await
            .map_err(ProviderError::api("RunInstances"))
        {
            // The token named an instance launched earlier and terminated
            // since (EC2 keeps tokens a while): launch anew.
            Ok(o)
                if fresh < 3
                    && o.instances().iter().any(|i| {
                        matches!(
                            i.state().and_then(|s| s.name()),
                            Some(InstanceStateName::Terminated | InstanceStateName::ShuttingDown)
                        )
                    }) =>
            {
                fresh += 1;
                run = run.client_token(format!("{token}-{fresh}"));
            }
            Err(e)
                if e.to_string().contains("iamInstanceProfile")
                    && start.elapsed() < cloud.wait_timeout =>
            {
                tokio::time::sleep(cloud.poll_interval).await;
            }
            other => break other?,
        }
    };
    let id = out
        .instances()
        .first()
        .and_then(|i| i.instance_id())
        .ok_or_else(|| {
            ProviderError::Unexpected(format!("{}: RunInstances returned no instance", r.address))
        })?
        .to_string();
    settled(cloud, r, &id).await
}

pub async fn update(
    cloud: &Cloud,
    r: &Planned,
    live: &Live,
    fields: &[FieldDiff],
) -> Result<Live, ProviderError> {
    let ec2 = cloud.ec2();
    let id = &live.id;
    if touches(fields, "instance_type") {
        ec2.stop_instances()
            .instance_ids(id)
            .send()
            .await
            .map_err(ProviderError::api("StopInstances"))?;
        wait_state(cloud, id, InstanceStateName::Stopped).await?;
        ec2.modify_instance_attribute()
            .instance_id(id)
            .instance_type(
                AttributeValue::builder()
                    .value(r.str("instance_type")?)
                    .build(),
            )
            .send()
            .await
            .map_err(ProviderError::api("ModifyInstanceAttribute"))?;
        ec2.start_instances()
            .instance_ids(id)
            .send()
            .await
            .map_err(ProviderError::api("StartInstances"))?;
    }
    if touches(fields, "security_groups") {
        ec2.modify_instance_attribute()
            .instance_id(id)
            .set_groups(Some(r.strs("security_groups")?))
            .send()
            .await
            .map_err(ProviderError::api("ModifyInstanceAttribute"))?;
    }
    if touches(fields, "metadata_v2_required") {
        ec2.modify_instance_metadata_options()
            .instance_id(id)
            .http_tokens(if r.bool("metadata_v2_required")? {
                HttpTokensState::Required
            } else {
                HttpTokensState::Optional
            })
            .send()
            .await
            .map_err(ProviderError::api("ModifyInstanceMetadataOptions"))?;
    }
    if touches(fields, "tags") || touches(fields, "name") {
        sync_ec2_tags(cloud, id, r, live).await?;
    }
    settled(cloud, r, id).await
}

pub async fn delete(cloud: &Cloud, live: &Live) -> Result<(), ProviderError> {
    cloud
        .ec2()
        .terminate_instances()
        .instance_ids(&live.id)
        .send()
        .await
        .gone("TerminateInstances")?;
    wait_for(
        cloud,
        &format!("instance {} to be terminated", live.id),
        || async {
            Ok(match describe(cloud, &live.id).await? {
                None => Some(()),
                Some((i, _)) => (i.state().and_then(|s| s.name())
                    == Some(&InstanceStateName::Terminated))
                .then_some(()),
            })
        },
    )
    .await
}

/// Every instance in the region, for `:live`.
pub async fn list(cloud: &Cloud) -> Result<Vec<Row>, ProviderError> {
    let all = crate::ec2_pages!(cloud, describe_instances, "DescribeInstances", all)?;
    Ok(all
        .iter()
        .flat_map(|r| r.instances())
        .map(|i| {
            let kind = i.instance_type().map(|t| t.as_str()).unwrap_or_default();
            let state = i.state().and_then(|s| s.name()).map(|s| s.as_str());
            let details = format!("{kind} {}", state.unwrap_or_default());
            Row::ec2(i.instance_id(), i.tags(), details)
        })
        .collect())
}

/// What an EC2 instance costs a month (see [`crate::cost`]).
pub fn price(q: &crate::cost::Quote) -> crate::cost::Estimate {
    use crate::cost::{rate, Cost, Estimate, HOURS, ROOT_GB};
    let t = q.str("instance_type").unwrap_or("");
    let Some(hour) = q.prices.ec2_hour.get(t).copied() else {
        return q.missing(format!("instance type {t}"));
    };
    let root = q.spec.get("root_volume");
    let size = root
        .and_then(|r| r.get("size_gb"))
        .and_then(Value::as_int)
        .map(|s| s as f64)
        .unwrap_or(ROOT_GB);
    let vtype = root
        .and_then(|r| r.get("type"))
        .and_then(Value::as_str)
        .unwrap_or("gp3");
    let Some(gb) = q.prices.ebs_gb_month.get(vtype).copied() else {
        return q.missing(format!("EBS {vtype} volumes"));
    };
    let mut total = hour * HOURS + size * gb;
    let mut detail = format!(
        "{t} × {HOURS} h × {} + {size} GB {vtype} × {}",
        rate(hour),
        rate(gb)
    );
    if q.spec.get("public_ip").and_then(Value::as_bool) == Some(true) {
        if let Some(ip) = q.prices.public_ipv4_hour {
            total += ip * HOURS;
            detail.push_str(&format!(" + public IPv4 {HOURS} h × {}", rate(ip)));
        }
    }
    Estimate::Priced(Cost::fixed(total, detail))
}
