//! EKS managed node groups: scaling, labels and taints update in place. A
//! replacement makes the new group first (named `<name>-<4 hex>` while the
//! old one holds the name), so the pool never goes away; the group's
//! identity is its address tag, so its EKS name may differ from the
//! declared one.

use super::cluster::{owned_tags, sync_tags, tag_map};
use crate::cost::Pricing;
use crate::kinds::{Diff, Field, KindDef, TAGS};
use crate::model::names::{alnum_dash_underscore, NameRule};
use crate::model::schema::{Lifecycle, ReplaceStrategy, Schema};
use crate::model::Kind;
use crate::model::{Live, Map, Value};
use crate::plan::{touches, FieldDiff};
use crate::providers::AwsResult as _;
use crate::providers::Row;
use crate::providers::{wait_for, Cloud, Planned, ProviderError};
use crate::{handle, ops};
use aws_sdk_eks::types::{
    AmiTypes, CapacityTypes, LaunchTemplateSpecification, Nodegroup, NodegroupScalingConfig,
    NodegroupStatus, Taint, TaintEffect, UpdateLabelsPayload, UpdateTaintsPayload,
};
use std::collections::HashMap;

fn effect_name(e: &TaintEffect) -> &'static str {
    match e {
        TaintEffect::NoExecute => "NoExecute",
        TaintEffect::PreferNoSchedule => "PreferNoSchedule",
        _ => "NoSchedule",
    }
}

fn effect_of(s: &str) -> TaintEffect {
    match s {
        "NoExecute" => TaintEffect::NoExecute,
        "PreferNoSchedule" => TaintEffect::PreferNoSchedule,
        _ => TaintEffect::NoSchedule,
    }
}

fn taint_value(t: &Taint) -> Value {
    Value::Map(Map::from([
        ("key".into(), Value::str(t.key().unwrap_or_default())),
        ("value".into(), Value::str(t.value().unwrap_or_default())),
        (
            "effect".into(),
            Value::str(t.effect().map(effect_name).unwrap_or("NoSchedule")),
        ),
    ]))
}

fn live_of(cloud: &Cloud, g: &Nodegroup) -> Option<Live> {
    let (address, tags) = owned_tags(cloud, g.tags())?;
    let name = g.nodegroup_name()?;
    let cluster = g.cluster_name().unwrap_or_default();
    let scaling = g.scaling_config();
    let int = |v: Option<i32>| Value::Int(v.unwrap_or_default().into());
    let labels: Map = g
        .labels()
        .map(|m| m.iter().map(|(k, v)| (k.clone(), Value::str(v))).collect())
        .unwrap_or_default();
    // The declared name: a replacement's EKS name carries a suffix.
    let declared = address.name.rsplit('/').next().unwrap_or(name).to_string();
    let mut l = Live::new(address, format!("{cluster}/{name}"))
        .attr("cluster", Value::str(cluster))
        .attr("name", Value::str(declared))
        .attr("version", Value::str(g.version().unwrap_or_default()))
        .attr(
            "instance_types",
            Value::List(g.instance_types().iter().map(Value::str).collect()),
        )
        .attr(
            "scaling",
            Value::Map(Map::from([
                ("min".into(), int(scaling.and_then(|s| s.min_size()))),
                ("max".into(), int(scaling.and_then(|s| s.max_size()))),
                (
                    "desired".into(),
                    int(scaling.and_then(|s| s.desired_size())),
                ),
            ])),
        )
        .attr(
            "disk_size",
            g.disk_size()
                .map(|d| Value::Int(d.into()))
                .unwrap_or(Value::Null),
        )
        .attr(
            "ami_type",
            g.ami_type()
                .map(|a| Value::str(a.as_str()))
                .unwrap_or(Value::Null),
        )
        .attr(
            "capacity_type",
            Value::str(g.capacity_type().map(|c| c.as_str()).unwrap_or("ON_DEMAND")),
        )
        .attr("labels", Value::Map(labels))
        .attr(
            "taints",
            Value::List(g.taints().iter().map(taint_value).collect()),
        )
        .attr(
            "subnets",
            Value::List(g.subnets().iter().map(Value::str).collect()),
        )
        .attr("role", Value::str(g.node_role().unwrap_or_default()))
        .attr(
            "launch_template",
            g.launch_template()
                .map(|t| {
                    Value::Map(Map::from([
                        ("id".into(), Value::str(t.id().unwrap_or_default())),
                        (
                            "version".into(),
                            Value::str(t.version().unwrap_or_default()),
                        ),
                    ]))
                })
                .unwrap_or_default(),
        )
        .output("name", name)
        .output("arn", g.nodegroup_arn().unwrap_or_default());
    if !tags.is_empty() {
        l.attrs.insert("tags".into(), Value::Map(tags));
    }
    Some(l)
}

async fn describe(
    cloud: &Cloud,
    cluster: &str,
    name: &str,
) -> Result<Option<Nodegroup>, ProviderError> {
    describe_in_cluster!(
        cloud,
        cluster,
        describe_nodegroup,
        nodegroup_name(name),
        "DescribeNodegroup",
        nodegroup
    )
}

/// Node groups of the owned clusters.
pub async fn read(cloud: &Cloud, clusters: &[String]) -> Result<Vec<Live>, ProviderError> {
    read_per_cluster!(
        cloud,
        clusters,
        list_nodegroups,
        "ListNodegroups",
        NodegroupStatus
    )
}

fn scaling(r: &Planned) -> NodegroupScalingConfig {
    let s = r.spec.get("scaling");
    let get = |k: &str| {
        s.and_then(|m| m.get(k))
            .and_then(Value::as_int)
            .unwrap_or_default() as i32
    };
    let (min, max) = (get("min"), get("max"));
    // The desired size the autoscaler left (kept as live) may lie outside
    // new bounds: EKS refuses that, so it moves to the nearest bound.
    NodegroupScalingConfig::builder()
        .min_size(min)
        .max_size(max)
        .desired_size(get("desired").clamp(min, max.max(min)))
        .build()
}

/// The launch template the group runs, at its version, if it has one.
fn launch_template(r: &Planned) -> Option<LaunchTemplateSpecification> {
    let t = r.spec.get("launch_template")?.as_map()?;
    let get = |k: &str| t.get(k).and_then(Value::as_str).map(String::from);
    Some(
        LaunchTemplateSpecification::builder()
            .set_id(get("id"))
            .set_version(get("version"))
            .build(),
    )
}

fn labels(v: Option<&Value>) -> HashMap<String, String> {
    v.and_then(Value::as_map)
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .unwrap_or_default()
}

fn taints(v: Option<&Value>) -> Vec<Taint> {
    v.and_then(Value::as_list)
        .unwrap_or_default()
        .iter()
        .map(|t| {
            let get = |k: &str| {
                t.get(k)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string()
            };
            Taint::builder()
                .key(get("key"))
                .value(get("value"))
                .effect(effect_of(&get("effect")))
                .build()
        })
        .collect()
}

async fn wait_active(cloud: &Cloud, cluster: &str, name: &str) -> Result<Live, ProviderError> {
    wait_for(
        cloud,
        &format!("node group {cluster}/{name} to become ACTIVE"),
        || async {
            match describe(cloud, cluster, name).await? {
                Some(g) if g.status() == Some(&NodegroupStatus::Active) => {
                    Ok(Some(live_of(cloud, &g).ok_or_else(|| {
                        ProviderError::Unexpected(format!("node group {name} lost its tags"))
                    })?))
                }
                Some(g)
                    if matches!(
                        g.status(),
                        Some(NodegroupStatus::CreateFailed | NodegroupStatus::Degraded)
                    ) =>
                {
                    Err(ProviderError::Unexpected(format!(
                        "node group {cluster}/{name} is {:?}",
                        g.status()
                    )))
                }
                _ => Ok(None),
            }
        },
    )
    .await
}

/// The EKS name of a new group (see [`super::free_name`]).
async fn free_name(
    cloud: &Cloud,
    r: &Planned,
    cluster: &str,
    declared: &str,
) -> Result<String, ProviderError> {
    let holder = describe(cloud, cluster, declared)
        .await?
        .map(|g| live_of(cloud, &g).map(|l| l.address));
    super::free_name("node group", r, declared, holder)
}

pub async fn create(cloud: &Cloud, r: &Planned) -> Result<Live, ProviderError> {
    let cluster = r.str("cluster")?;
    let name = free_name(cloud, r, cluster, r.str("name")?).await?;
    let name = name.as_str();
    let mut call = cloud
        .eks()
        .create_nodegroup()
        .cluster_name(cluster)
        .nodegroup_name(name)
        .scaling_config(scaling(r))
        .set_instance_types(Some(r.strs("instance_types")?))
        .set_subnets(Some(r.strs("subnets")?))
        .node_role(r.str("role")?)
        .capacity_type(CapacityTypes::from(r.str("capacity_type")?))
        .set_labels(Some(labels(r.spec.get("labels"))))
        .set_taints(Some(taints(r.spec.get("taints"))))
        .client_request_token(cloud.client_token(&r.address))
        .set_version(r.get("version")?.and_then(Value::as_str).map(String::from))
        .set_tags(Some(tag_map(cloud, r)));
    if let Some(d) = r.spec.get("disk_size").and_then(Value::as_int) {
        call = call.disk_size(d as i32);
    }
    if let Some(t) = launch_template(r) {
        call = call.launch_template(t);
    }
    if let Some(a) = r.spec.get("ami_type").and_then(Value::as_str) {
        call = call.ami_type(AmiTypes::from(a));
    }
    if let Err(e) = call.send().await {
        let e = ProviderError::api("CreateNodegroup")(e);
        if e.code() != Some("ResourceInUseException") {
            return Err(e);
        }
    }
    wait_active(cloud, cluster, name).await
}

pub async fn update(
    cloud: &Cloud,
    r: &Planned,
    live: &Live,
    fields: &[FieldDiff],
) -> Result<Live, ProviderError> {
    let changed = |p: &str| touches(fields, p);
    let (cluster, name) = super::id_parts(live, "node group")?;
    if changed("version") || changed("launch_template") {
        // After the cluster's own upgrade (the group depends on it), or a
        // new version of its launch template: the nodes roll.
        let mut call = cloud
            .eks()
            .update_nodegroup_version()
            .cluster_name(cluster)
            .nodegroup_name(name);
        if changed("version") {
            call = call.version(r.str("version")?);
        }
        if changed("launch_template") {
            call = call.set_launch_template(launch_template(r));
        }
        let out = call
            .send()
            .await
            .map_err(ProviderError::api("UpdateNodegroupVersion"))?;
        super::cluster::wait_update(cloud, cluster, out.update(), Some(name), None).await?;
        wait_active(cloud, cluster, name).await?;
    }
    if changed("scaling") || changed("labels") || changed("taints") {
        let mut call = cloud
            .eks()
            .update_nodegroup_config()
            .cluster_name(cluster)
            .nodegroup_name(name);
        if changed("scaling") {
            call = call.scaling_config(scaling(r));
        }
        if changed("labels") {
            let want = labels(r.spec.get("labels"));
            let had = labels(live.attrs.get("labels"));
            let remove: Vec<String> = had
                .keys()
                .filter(|k| !want.contains_key(*k))
                .cloned()
                .collect();
            call = call.labels(
                UpdateLabelsPayload::builder()
                    .set_add_or_update_labels((!want.is_empty()).then_some(want))
                    .set_remove_labels((!remove.is_empty()).then_some(remove))
                    .build(),
            );
        }
        if changed("taints") {
            let want = taints(r.spec.get("taints"));
            let had = taints(live.attrs.get("taints"));
            let remove: Vec<Taint> = had
                .into_iter()
                .filter(|t| !want.iter().any(|w| w.key() == t.key()))
                .collect();
            call = call.taints(
                UpdateTaintsPayload::builder()
                    .set_add_or_update_taints((!want.is_empty()).then_some(want))
                    .set_remove_taints((!remove.is_empty()).then_some(remove))
                    .build(),
            );
        }
        call.send()
            .await
            .map_err(ProviderError::api("UpdateNodegroupConfig"))?;
    }
    if changed("tags") {
        let arn = live.outputs.get("arn").cloned().unwrap_or_default();
        sync_tags(cloud, &arn, r, live).await?;
    }
    wait_active(cloud, cluster, name).await
}

pub async fn delete(cloud: &Cloud, live: &Live) -> Result<(), ProviderError> {
    let (cluster, name) = super::id_parts(live, "node group")?;
    crate::providers::aws::retry_in_use(cloud, "DeleteNodegroup", || async {
        cloud
            .eks()
            .delete_nodegroup()
            .cluster_name(cluster)
            .nodegroup_name(name)
            .send()
            .await
            .done("DeleteNodegroup")
    })
    .await?;
    super::wait_gone(cloud, &format!("node group {}", live.id), || {
        describe(cloud, cluster, name)
    })
    .await
}

pub const KIND: Kind = Kind::of(&SCHEMA);

pub static SCHEMA: Schema = Schema::new("node_group", "NodeGroup", FIELDS)
    .attr("name")
    .names(NameRule::chars(
        1,
        63,
        alnum_dash_underscore,
        "letters, digits, `-` and `_`",
    ))
    .lifecycle(Lifecycle {
        replace: ReplaceStrategy::CreateThenDelete,
        ..Lifecycle::PLAIN
    })
    .name_from_address();

/// The IAM actions of its operations (`bp permissions`).
pub const IAM: crate::permissions::Iam =
    crate::permissions::Iam::reads(&["eks:ListNodegroups", "eks:DescribeNodegroup"])
        .create(&[
            "eks:CreateNodegroup",
            "eks:TagResource",
            "ec2:DescribeLaunchTemplateVersions",
        ])
        .update(&[
            "eks:UpdateNodegroupConfig",
            "eks:UpdateNodegroupVersion",
            "eks:DescribeUpdate",
            "eks:TagResource",
            "eks:UntagResource",
        ])
        .delete(&["eks:DeleteNodegroup"])
        // A replacement's name carries a suffix.
        .arns(&[
            "arn:aws:eks:{region}:{account}:cluster/{cluster}",
            "arn:aws:eks:{region}:{account}:nodegroup/{cluster}/{name}*/*",
        ])
        .tag_condition()
        .passes_role()
        .service_linked(&["eks-nodegroup.amazonaws.com"]);

pub static DEF: KindDef = KindDef::new(
    KIND,
    Pricing::Priced(price),
    handle!(super::NodeGroup; super::NODE_GROUP_FUNCTIONS, super::register_node_group;
        ["address", "arn", "name"]),
    ops!(with super::cluster::KIND),
)
.rules(super::lint::NODE_GROUP)
.adopt(crate::boxed!(adopt adopt))
.iam(IAM);

const FIELDS: &[Field] = &[
    Field::new("cluster").refers(),
    Field::new("name"),
    Field::new("version"),
    Field::new("instance_types")
        .set()
        .replaces("a node group's instance types cannot change in place"),
    Field::new("scaling").diff(Diff::Struct(&[
        Field::new("min"),
        Field::new("max"),
        Field::new("desired"),
    ])),
    Field::new("disk_size").replaces("a node group's disk size cannot change in place"),
    Field::new("ami_type").replaces("a node group's AMI type cannot change in place"),
    Field::new("capacity_type")
        .replaces("a node group's capacity type (spot or on-demand) cannot change in place"),
    Field::new("labels").map(),
    Field::new("taints").set(),
    Field::new("subnets")
        .set()
        .replaces("a node group's subnets cannot change in place")
        .refers(),
    Field::new("role")
        .replaces("a node group's IAM role cannot change")
        .refers(),
    Field::new("launch_template").diff(Diff::Struct(&[
        Field::new("id")
            .replaces("a node group cannot move to another launch template")
            .refers(),
        Field::new("version").refers(),
    ])),
    TAGS,
];

/// Every node_group of every cluster in the region, owned or not, for `:live`.
pub async fn list(cloud: &Cloud) -> Result<Vec<Row>, ProviderError> {
    let clusters = super::cluster::all_names(cloud).await?;
    let pairs = crate::providers::aws::per_cluster(&clusters, |c| async move {
        cloud
            .eks()
            .list_nodegroups()
            .cluster_name(c)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(ProviderError::api("ListNodegroups"))
    })
    .await?;
    Ok(pairs
        .into_iter()
        .map(|(c, n)| Row::new(format!("{c}/{n}"), n, format!("cluster {c}")))
        .collect())
}

/// What a node group costs a month (see [`crate::cost`]).
pub fn price(q: &crate::cost::Quote) -> crate::cost::Estimate {
    use crate::cost::{rate, Cost, Estimate, HOURS, SPOT_EXPECTED, SPOT_HIGH, SPOT_LOW};
    let types: Vec<&str> = q
        .spec
        .get("instance_types")
        .and_then(Value::as_list)
        .map(|l| l.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let Some(t) = types.first() else {
        return Estimate::NoPrice("no instance type".into());
    };
    let Some(hour) = q.prices.ec2_hour.get(*t).copied() else {
        return q.missing(format!("instance type {t}"));
    };
    let scaling = q.spec.get("scaling");
    let n = |k: &str| {
        scaling
            .and_then(|s| s.get(k))
            .and_then(Value::as_int)
            .unwrap_or(0) as f64
    };
    let (min, desired, max) = (n("min"), n("desired"), n("max"));
    let disk = q.int("disk_size").unwrap_or(20) as f64;
    let Some(gp3) = q.prices.ebs_gb_month.get("gp3").copied() else {
        return q.missing("EBS gp3 volumes".into());
    };
    let per_node = hour * HOURS;
    let spot = q.str("capacity_type") == Some("SPOT");
    let (low_share, share, high_share) = if spot {
        (SPOT_LOW, SPOT_EXPECTED, SPOT_HIGH)
    } else {
        (1.0, 1.0, 1.0)
    };
    let node = |count: f64, s: f64| count * (per_node * s + disk * gp3);
    let mut detail = format!(
        "{desired} × {t} × {HOURS} h × {}{} + {desired} × {disk} GB gp3 × {}",
        rate(hour),
        if spot {
            format!(" × {:.0}% (spot)", SPOT_EXPECTED * 100.0)
        } else {
            String::new()
        },
        rate(gp3)
    );
    if types.len() > 1 {
        detail.push_str(&format!(
            " (priced as {t}, the first of {} types)",
            types.len()
        ));
    }
    detail.push_str(&format!("; {min}-{max} nodes"));
    Estimate::Priced(Cost {
        monthly: node(desired, share),
        low: node(min, low_share),
        high: node(max, high_share),
        detail,
    })
}

/// `bp adopt`: tags the node group `cluster/name` as the blueprint's.
async fn adopt(cloud: &Cloud, id: &str, tags: &[(String, String)]) -> Result<(), ProviderError> {
    let (cluster, name) = super::child_id("node group", id)?;
    let found = describe(cloud, cluster, name).await?;
    super::tag_found(
        cloud,
        found.as_ref().and_then(|x| x.nodegroup_arn()),
        &format!("node group {id}"),
        tags,
    )
    .await
}
