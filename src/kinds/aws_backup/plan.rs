//! AWS Backup plans, declared by `backup_plan(...)`: rules that say when to
//! back up into which vault, and how long recovery points are kept. Rules
//! and the vault change in place (UpdateBackupPlan makes a new version);
//! the name cannot.

use super::{build_err, client, owner, tags_of, user_tags, with_tags};
use crate::cost::Pricing;
use crate::kinds::{Diff, Field, KindDef, TAGS};
use crate::model::names::NameRule;
use crate::model::schema::Schema;
use crate::model::{Kind, Live, Map, Value};
use crate::plan::{touches, FieldDiff};
use crate::providers::AwsResult as _;
use crate::providers::{Cloud, Planned, ProviderError, Row};
use crate::{handle, ops};
use aws_sdk_backup::operation::get_backup_plan::GetBackupPlanOutput;
use aws_sdk_backup::types::{
    BackupPlanInput, BackupPlansListMember, BackupRuleInput, Lifecycle as RuleLifecycle,
};
use aws_sdk_backup::Client;
use std::collections::HashMap;

pub const KIND: Kind = Kind::of(&SCHEMA);

pub static SCHEMA: Schema = Schema::new("backup_plan", "BackupPlan", FIELDS).names(
    NameRule::chars(1, 50, plan_char, "letters, digits, `-`, `_` and `.`"),
);

/// The IAM actions of its operations (`bp permissions`).
pub const IAM: crate::permissions::Iam = crate::permissions::Iam::reads(&[
    "backup:ListBackupPlans",
    "backup:GetBackupPlan",
    "backup:ListTags",
])
.create(&["backup:CreateBackupPlan", "backup:TagResource"])
.update(&[
    "backup:UpdateBackupPlan",
    "backup:TagResource",
    "backup:UntagResource",
])
.delete(&["backup:DeleteBackupPlan"]);

pub static DEF: KindDef = KindDef::new(
    KIND,
    Pricing::Free,
    handle!(super::BackupPlan; &[super::DOC], super::register;
        ["address", "arn", "id", "name", "vault"]),
    ops!(with super::vault::KIND),
)
.iam(IAM);

const FIELDS: &[Field] = &[
    Field::new("name").replaces("a backup plan's name cannot change"),
    Field::new("vault").refers(),
    Field::new("rules").diff(Diff::ListByKey("name")),
    TAGS,
];

fn plan_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')
}

pub(super) async fn all(b: &Client) -> Result<Vec<BackupPlansListMember>, ProviderError> {
    b.list_backup_plans()
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .map_err(ProviderError::api("ListBackupPlans"))
}

async fn get(b: &Client, id: &str) -> Result<Option<GetBackupPlanOutput>, ProviderError> {
    let out = b
        .get_backup_plan()
        .backup_plan_id(id)
        .send()
        .await
        .map_err(ProviderError::api("GetBackupPlan"));
    ProviderError::absent_ok(out)
}

fn live_of(cloud: &Cloud, p: &GetBackupPlanOutput, tags: &HashMap<String, String>) -> Option<Live> {
    let address = owner(cloud, tags)?;
    let id = p.backup_plan_id()?;
    let plan = p.backup_plan()?;
    let name = plan.backup_plan_name();
    let rules: Vec<Value> = plan
        .rules()
        .iter()
        .map(|r| {
            let mut m = Map::from([
                ("name".into(), Value::str(r.rule_name())),
                (
                    "schedule".into(),
                    Value::str(r.schedule_expression().unwrap_or_default()),
                ),
            ]);
            let life = r.lifecycle();
            if let Some(d) = life.and_then(|l| l.delete_after_days()) {
                m.insert("retain_days".into(), Value::Int(d));
            }
            if let Some(d) = life.and_then(|l| l.move_to_cold_storage_after_days()) {
                m.insert("cold_after_days".into(), Value::Int(d));
            }
            Value::Map(m)
        })
        .collect();
    let vault = plan
        .rules()
        .first()
        .map(|r| r.target_backup_vault_name())
        .unwrap_or_default();
    let mut l = Live::new(address, id)
        .attr("name", Value::str(name))
        .attr("vault", Value::str(vault))
        .attr("rules", Value::List(rules))
        .output("name", name)
        .output("id", id)
        .output("arn", p.backup_plan_arn().unwrap_or_default())
        .output("version", p.version_id().unwrap_or_default());
    if let Some(t) = user_tags(tags) {
        l.attrs.insert("tags".into(), t);
    }
    Some(l)
}

/// The owned plans among `plans`, with their rules: tags first (in
/// parallel), then the owned plans' documents.
pub(super) async fn owned(
    cloud: &Cloud,
    b: &Client,
    plans: &[BackupPlansListMember],
) -> Result<Vec<Live>, ProviderError> {
    let mut mine = Vec::new();
    for (p, t) in with_tags(b, plans, |p| p.backup_plan_arn()).await? {
        if owner(cloud, &t).is_some() {
            mine.push((p.backup_plan_id().unwrap_or_default(), t));
        }
    }
    let docs = futures::future::join_all(mine.iter().map(|(id, _)| get(b, id))).await;
    let mut out = Vec::new();
    for ((_, t), d) in mine.iter().zip(docs) {
        if let Some(d) = d? {
            out.extend(live_of(cloud, &d, t));
        }
    }
    Ok(out)
}

fn input(r: &Planned) -> Result<BackupPlanInput, ProviderError> {
    let vault = r.str("vault")?;
    let rules = r
        .get("rules")?
        .and_then(Value::as_list)
        .unwrap_or_default()
        .iter()
        .map(|rule| {
            let get = |k: &str| rule.as_map().and_then(|m| m.get(k));
            let int = |k: &str| get(k).and_then(Value::as_int);
            BackupRuleInput::builder()
                .rule_name(get("name").and_then(Value::as_str).unwrap_or_default())
                .target_backup_vault_name(vault)
                .schedule_expression(get("schedule").and_then(Value::as_str).unwrap_or_default())
                .lifecycle(
                    RuleLifecycle::builder()
                        .set_delete_after_days(int("retain_days"))
                        .set_move_to_cold_storage_after_days(int("cold_after_days"))
                        .build(),
                )
                .build()
                .map_err(build_err)
        })
        .collect::<Result<Vec<_>, _>>()?;
    BackupPlanInput::builder()
        .backup_plan_name(r.str("name")?)
        .set_rules(Some(rules))
        .build()
        .map_err(build_err)
}

/// The owned plan with this name, found by listing (an interrupted apply
/// may have created it).
async fn find(cloud: &Cloud, r: &Planned) -> Result<Option<Live>, ProviderError> {
    let b = client(cloud);
    let name = r.str("name")?;
    let plans: Vec<BackupPlansListMember> = all(&b)
        .await?
        .into_iter()
        .filter(|p| p.backup_plan_name() == Some(name))
        .collect();
    Ok(owned(cloud, &b, &plans)
        .await?
        .into_iter()
        .find(|l| l.address == r.address))
}

async fn settled(cloud: &Cloud, r: &Planned, id: &str) -> Result<Live, ProviderError> {
    let b = client(cloud);
    let doc = get(&b, id)
        .await?
        .ok_or_else(|| ProviderError::Unexpected(format!("{}: plan {id} is gone", r.address)))?;
    let tags = tags_of(&b, doc.backup_plan_arn().unwrap_or_default()).await?;
    live_of(cloud, &doc, &tags)
        .ok_or_else(|| ProviderError::Unexpected(format!("{}: plan {id} lost its tags", r.address)))
}

pub async fn create(cloud: &Cloud, r: &Planned) -> Result<Live, ProviderError> {
    if let Some(existing) = find(cloud, r).await? {
        return converge(cloud, r, &existing, true, true).await;
    }
    let out = client(cloud)
        .create_backup_plan()
        .backup_plan(input(r)?)
        .set_backup_plan_tags(Some(
            cloud.tags_for(&r.address, &r.spec).into_iter().collect(),
        ))
        .creator_request_id(cloud.client_token(&r.address))
        .send()
        .await
        .map_err(ProviderError::api("CreateBackupPlan"))?;
    settled(cloud, r, out.backup_plan_id().unwrap_or_default()).await
}

pub async fn update(
    cloud: &Cloud,
    r: &Planned,
    live: &Live,
    fields: &[FieldDiff],
) -> Result<Live, ProviderError> {
    let rules = touches(fields, "rules") || touches(fields, "vault");
    converge(cloud, r, live, rules, touches(fields, "tags")).await
}

async fn converge(
    cloud: &Cloud,
    r: &Planned,
    live: &Live,
    rules: bool,
    tags: bool,
) -> Result<Live, ProviderError> {
    if rules {
        client(cloud)
            .update_backup_plan()
            .backup_plan_id(&live.id)
            .backup_plan(input(r)?)
            .send()
            .await
            .map_err(ProviderError::api("UpdateBackupPlan"))?;
    }
    if tags {
        let arn = live.outputs.get("arn").cloned().unwrap_or_default();
        super::retag(cloud, r, live, &arn).await?;
    }
    settled(cloud, r, &live.id).await
}

pub async fn delete(cloud: &Cloud, live: &Live) -> Result<(), ProviderError> {
    client(cloud)
        .delete_backup_plan()
        .backup_plan_id(&live.id)
        .send()
        .await
        .gone("DeleteBackupPlan")
}

/// Every plan in the region, owned or not, for `:live`.
pub async fn list(cloud: &Cloud) -> Result<Vec<Row>, ProviderError> {
    let b = client(cloud);
    let plans = all(&b).await?;
    let mut rows = Vec::new();
    for (p, t) in with_tags(&b, &plans, |p| p.backup_plan_arn()).await? {
        rows.push(
            Row::new(
                p.backup_plan_id().unwrap_or_default(),
                p.backup_plan_name().unwrap_or_default(),
                p.version_id().unwrap_or_default(),
            )
            .owner(|k| t.get(k).cloned()),
        );
    }
    Ok(rows)
}
