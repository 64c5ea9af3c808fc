//! CloudWatch log groups: `log_group(name, #{ retention_days?, tags? })`,
//! and `cluster.control_plane_logs(#{ retention_days })` for the group EKS
//! writes a cluster's control-plane logs to (`/aws/eks/<cluster>/cluster`).
//! That one is declared before the cluster (the cluster depends on it), so
//! EKS finds it and writes into it instead of making its own, which keeps
//! logs forever. Retention and tags change in place; the name cannot. An
//! address leaves out the name's leading `/` (`log_group.aws/eks/pms/cluster`).
//!
//! The worked example of docs/ARCHITECTURE.md: everything about the kind is
//! in this folder, plus one line in the registry.

use crate::cost::Pricing;
use crate::kinds::{Field, KindDef, TAGS};
use crate::model::names::NameRule;
use crate::model::schema::Schema;
use crate::model::{Address, Kind, Live, Map, Problem, Value};
use crate::plan::{touches, FieldDiff};
use crate::providers::AwsResult as _;
use crate::providers::{Cloud, NameTag, Planned, ProviderError, Row};
use crate::script::api::{name_arg, opts_arg};
use crate::script::handles::Output;
use crate::script::schema::{opt, FnDoc, Opt, Ty, TAGS_OPT};
use crate::script::state::{check_name, check_tags, declare, fail, Deps, Fallible, Opts, Shared};
use crate::{handle, ops};
use aws_sdk_cloudwatchlogs::types::LogGroup as Group;
use aws_sdk_cloudwatchlogs::Client;
use rhai::{Dynamic, Engine, NativeCallContext};
use std::collections::HashMap;

crate::handle_type!(LogGroup);

pub const KIND: Kind = Kind::of(&SCHEMA);

pub static SCHEMA: Schema = Schema::new("log_group", "LogGroup", FIELDS)
    .attr("name")
    .names(NameRule::chars(
        1,
        512,
        name_char,
        "letters, digits, `.`, `-`, `_`, `/` and `#`",
    ));

/// The IAM actions of its operations (`bp permissions`).
pub const IAM: crate::permissions::Iam =
    crate::permissions::Iam::reads(&["logs:DescribeLogGroups", "logs:ListTagsForResource"])
        .create(&[
            "logs:CreateLogGroup",
            "logs:TagResource",
            "logs:PutRetentionPolicy",
        ])
        .update(&[
            "logs:PutRetentionPolicy",
            "logs:DeleteRetentionPolicy",
            "logs:TagResource",
            "logs:UntagResource",
        ])
        .delete(&["logs:DeleteLogGroup"])
        .arns(&[
            "arn:aws:logs:{region}:{account}:log-group:{name}",
            "arn:aws:logs:{region}:{account}:log-group:{name}:*",
        ]);

pub static DEF: KindDef = KindDef::new(
    KIND,
    Pricing::Free,
    handle!(LogGroup; FUNCTIONS, register; ["address", "arn", "name"]),
    ops!(own),
)
.adopt(crate::boxed!(adopt adopt))
.iam(IAM);

const FIELDS: &[Field] = &[
    Field::new("name").replaces("a log group cannot be renamed"),
    Field::new("retention_days"),
    TAGS,
];

fn name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '/' | '#')
}

/// The retention periods CloudWatch Logs accepts, in days.
const RETENTION_DAYS: &[i64] = &[
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];

const OPTIONS: &[Opt] = &[
    opt(
        "retention_days",
        Ty::Int,
        "how long events are kept, one of CloudWatch's periods (1, 3, 5, 7, 14, 30, 60, 90, ... 3653); default: forever",
    ),
    TAGS_OPT,
    crate::script::api::providers::PROVIDER_OPT,
];

const CLUSTER_OPTIONS: &[Opt] = &[
    opt(
        "retention_days",
        Ty::Int,
        "how long the control-plane logs are kept, one of CloudWatch's periods (1, 3, 5, 7, 14, 30, 60, 90, ... 3653); default: forever",
    ),
    TAGS_OPT,
];

const FUNCTIONS: &[FnDoc] = &[
    FnDoc {
        name: "log_group",
        signature: "log_group(name, #{ retention_days?, tags? }) -> LogGroup",
        doc: "A CloudWatch log group.",
        options: OPTIONS,
        method_of: None,
    },
    FnDoc {
        name: "control_plane_logs",
        signature: "cluster.control_plane_logs(#{ retention_days?, tags? }) -> LogGroup",
        doc: "The log group EKS writes the cluster's control-plane logs to (/aws/eks/<cluster>/cluster), made before the cluster so that its retention applies.",
        options: CLUSTER_OPTIONS,
        method_of: Some("Cluster"),
    },
];

fn register(engine: &mut Engine, state: &Shared) {
    LogGroup::register_type(engine);
    let s = state.clone();
    engine.register_fn(
        "log_group",
        move |ctx: NativeCallContext, name: Dynamic, opts: Dynamic| {
            let name = name_arg(&ctx, "log_group", &name)?;
            let map = opts_arg(&ctx, "log_group", &opts, OPTIONS)?;
            log_group(&s, &ctx, &name, &map, Opts(&map).provider())
        },
    );
    let s = state.clone();
    engine.register_fn(
        "control_plane_logs",
        move |ctx: NativeCallContext, c: &mut crate::kinds::eks::Cluster, opts: Dynamic| {
            let map = opts_arg(&ctx, "control_plane_logs", &opts, CLUSTER_OPTIONS)?;
            control_plane_logs(&s, &ctx, &c.0, &map)
        },
    );
    let s = state.clone();
    engine.register_get("name", move |g: &mut LogGroup| {
        let name = s
            .borrow()
            .graph
            .get(&g.0)
            .and_then(|r| r.str("name").map(String::from));
        Output::attr(&g.0, "name", name)
    });
    engine.register_get("arn", |g: &mut LogGroup| Output::attr(&g.0, "arn", None));
}

fn log_group(
    state: &Shared,
    ctx: &NativeCallContext,
    name: &str,
    map: &rhai::Map,
    provider: Option<String>,
) -> Fallible<LogGroup> {
    let o = Opts(map);
    // Names often start with `/`, which addresses leave out.
    let addr = Address::new(KIND, name.strip_prefix('/').unwrap_or(name)).in_provider(provider);
    check_name(ctx, KIND, &addr.name)?;
    check_tags(ctx, o.get("tags"))?;
    let retention = match o.int("retention_days") {
        Some(days) if !RETENTION_DAYS.contains(&days) => {
            let near = RETENTION_DAYS
                .iter()
                .min_by_key(|d| (**d - days).abs())
                .copied()
                .unwrap_or(1);
            return Err(fail(
                ctx,
                Problem::new(format!(
                    "retention_days is {days}, which CloudWatch Logs does not offer"
                ))
                .hint(format!(
                    "the nearest it offers is {near}; the periods are {}",
                    RETENTION_DAYS
                        .iter()
                        .map(i64::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
            ));
        }
        Some(days) => Value::Int(days),
        None => Value::Null,
    };
    let mut deps = Deps::default();
    let mut spec = Map::new();
    spec.insert("name".into(), Value::str(name));
    spec.insert("retention_days".into(), retention);
    if let Some(t) = state.borrow().tags(o.get("tags"), &mut deps) {
        spec.insert("tags".into(), t);
    }
    declare(state, ctx, addr.clone(), spec, deps)?;
    Ok(LogGroup(addr))
}

/// The cluster's control-plane log group; the cluster is made after it.
fn control_plane_logs(
    state: &Shared,
    ctx: &NativeCallContext,
    cluster: &Address,
    map: &rhai::Map,
) -> Fallible<LogGroup> {
    let name = state
        .borrow()
        .graph
        .get(cluster)
        .and_then(|r| r.str("name").map(String::from))
        .unwrap_or_else(|| cluster.name.clone());
    let group = log_group(
        state,
        ctx,
        &format!("/aws/eks/{name}/cluster"),
        map,
        cluster.provider.clone(),
    )?;
    if let Some(c) = state.borrow_mut().graph.get_mut(cluster) {
        c.depends_on.insert(group.0.clone());
    }
    Ok(group)
}

// Live state ------------------------------------------------------------------

fn client(cloud: &Cloud) -> Client {
    cloud.client(|conf, counter| {
        Client::from_conf(
            aws_sdk_cloudwatchlogs::config::Builder::from(conf)
                .interceptor(counter)
                .build(),
        )
    })
}

/// Every log group in the region (one paginated call), or those whose
/// names start with `prefix`.
async fn groups(logs: &Client, prefix: Option<&str>) -> Result<Vec<Group>, ProviderError> {
    logs.describe_log_groups()
        .set_log_group_name_prefix(prefix.map(String::from))
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .map_err(ProviderError::api("DescribeLogGroups"))
}

async fn tags_of(logs: &Client, g: &Group) -> Result<HashMap<String, String>, ProviderError> {
    let arn = g.log_group_arn().unwrap_or_default();
    logs.list_tags_for_resource()
        .resource_arn(arn)
        .send()
        .await
        .map(|o| o.tags().cloned().unwrap_or_default())
        .map_err(ProviderError::api("ListTagsForResource"))
}

fn live_of(cloud: &Cloud, g: &Group, tags: &HashMap<String, String>) -> Option<Live> {
    let pairs = tags.iter().map(|(k, v)| (k.as_str(), v.as_str()));
    let owned = cloud.owned(pairs, NameTag::IsATag)?;
    let name = g.log_group_name()?;
    let retention = g
        .retention_in_days()
        .map(|d| Value::Int(d.into()))
        .unwrap_or(Value::Null);
    let mut l = Live::new(owned.address.clone(), name)
        .attr("name", Value::str(name))
        .attr("retention_days", retention)
        .output("name", name)
        .output("arn", g.log_group_arn().unwrap_or_default());
    if let Some(t) = owned.user_tags() {
        l.attrs.insert("tags".into(), t);
    }
    Some(l)
}

/// Every log group in the region with its tags: one paginated list, then
/// each group's tags in parallel.
async fn tagged_groups(
    cloud: &Cloud,
) -> Result<Vec<(Group, HashMap<String, String>)>, ProviderError> {
    let logs = client(cloud);
    let all = groups(&logs, None).await?;
    let tags = futures::future::join_all(all.iter().map(|g| tags_of(&logs, g))).await;
    all.into_iter()
        .zip(tags)
        .map(|(g, t)| Ok((g, t?)))
        .collect()
}

/// Owned log groups. Neither DescribeLogGroups nor the emulator's tagging
/// API filters by tag, so: one paginated list, then each group's tags in
/// parallel.
pub async fn read(cloud: &Cloud) -> Result<Vec<Live>, ProviderError> {
    Ok(tagged_groups(cloud)
        .await?
        .iter()
        .filter_map(|(g, t)| live_of(cloud, g, t))
        .collect())
}

/// The group named `name`, if it exists.
async fn find(logs: &Client, name: &str) -> Result<Option<Group>, ProviderError> {
    Ok(groups(logs, Some(name))
        .await?
        .into_iter()
        .find(|g| g.log_group_name() == Some(name)))
}

/// What exists after a create or an update.
async fn settled(cloud: &Cloud, r: &Planned) -> Result<Live, ProviderError> {
    let logs = client(cloud);
    let name = r.str("name")?;
    let g = find(&logs, name).await?.ok_or_else(|| {
        ProviderError::Unexpected(format!("{}: log group {name} is gone", r.address))
    })?;
    let tags = tags_of(&logs, &g).await?;
    live_of(cloud, &g, &tags).ok_or_else(|| {
        ProviderError::Unexpected(format!("{}: log group {name} lost its tags", r.address))
    })
}

async fn set_retention(logs: &Client, r: &Planned) -> Result<(), ProviderError> {
    let name = r.str("name")?;
    match r.get("retention_days")?.and_then(Value::as_int) {
        Some(days) => logs
            .put_retention_policy()
            .log_group_name(name)
            .retention_in_days(days as i32)
            .send()
            .await
            .done("PutRetentionPolicy"),
        None => logs
            .delete_retention_policy()
            .log_group_name(name)
            .send()
            .await
            .done("DeleteRetentionPolicy"),
    }
}

pub async fn create(cloud: &Cloud, r: &Planned) -> Result<Live, ProviderError> {
    let logs = client(cloud);
    let name = r.str("name")?;
    let out = logs
        .create_log_group()
        .log_group_name(name)
        .set_tags(Some(
            cloud.tags_for(&r.address, &r.spec).into_iter().collect(),
        ))
        .send()
        .await
        .map_err(ProviderError::api("CreateLogGroup"));
    if let Err(e) = out {
        if !e.is_already_exists() {
            return Err(e);
        }
        // Ours from an interrupted apply (tagged at creation), or someone
        // else's (EKS makes this group when logging starts): that one is
        // adopted with `bp adopt`, never silently.
        let theirs = match find(&logs, name).await? {
            Some(g) => live_of(cloud, &g, &tags_of(&logs, &g).await?).is_none(),
            None => true,
        };
        if theirs {
            return Err(ProviderError::Unsupported(format!(
                "log group {name} exists and is not this blueprint's: `bp adopt` takes it over"
            )));
        }
    }
    if r.get("retention_days")?.and_then(Value::as_int).is_some() {
        set_retention(&logs, r).await?;
    }
    settled(cloud, r).await
}

pub async fn update(
    cloud: &Cloud,
    r: &Planned,
    live: &Live,
    fields: &[FieldDiff],
) -> Result<Live, ProviderError> {
    let logs = client(cloud);
    if touches(fields, "retention_days") {
        set_retention(&logs, r).await?;
    }
    if touches(fields, "tags") {
        let arn = live.outputs.get("arn").cloned().unwrap_or_default();
        let stale = crate::providers::stale_tag_keys(r, live);
        if !stale.is_empty() {
            logs.untag_resource()
                .resource_arn(&arn)
                .set_tag_keys(Some(stale))
                .send()
                .await
                .map_err(ProviderError::api("UntagResource"))?;
        }
        tag(cloud, &arn, cloud.tags_for(&r.address, &r.spec)).await?;
    }
    settled(cloud, r).await
}

async fn tag(cloud: &Cloud, arn: &str, tags: Vec<(String, String)>) -> Result<(), ProviderError> {
    client(cloud)
        .tag_resource()
        .resource_arn(arn)
        .set_tags(Some(tags.into_iter().collect()))
        .send()
        .await
        .done("TagResource")
}

pub async fn delete(cloud: &Cloud, live: &Live) -> Result<(), ProviderError> {
    client(cloud)
        .delete_log_group()
        .log_group_name(&live.id)
        .send()
        .await
        .gone("DeleteLogGroup")
}

/// `bp adopt`: writes the ownership tags on the group named `id` (one EKS
/// made before the blueprint declared it).
pub async fn adopt(
    cloud: &Cloud,
    id: &str,
    tags: &[(String, String)],
) -> Result<(), ProviderError> {
    let g = find(&client(cloud), id)
        .await?
        .ok_or_else(|| ProviderError::Spec(format!("no log group named {id}")))?;
    tag(cloud, g.log_group_arn().unwrap_or_default(), tags.to_vec()).await
}

/// Every log group in the region, owned or not, for `:live`.
pub async fn list(cloud: &Cloud) -> Result<Vec<Row>, ProviderError> {
    let mut rows = Vec::new();
    for (g, t) in tagged_groups(cloud).await? {
        let name = g.log_group_name().unwrap_or_default();
        rows.push(
            Row::new(
                name,
                name,
                match g.retention_in_days() {
                    Some(d) => format!("kept {d} days"),
                    None => "kept forever".into(),
                },
            )
            .owner(|k| t.get(k).cloned()),
        );
    }
    Ok(rows)
}
