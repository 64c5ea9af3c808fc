//! AWS Backup selections, declared by `backup_plan(...)`: the resources a
//! plan backs up and the IAM role AWS Backup assumes for it. AWS has no
//! update for a selection, so any change replaces it. A selection has no
//! tags of its own: it belongs to the blueprint through its plan, and is
//! the one named after the plan.

use super::{build_err, client};
use crate::cost::Pricing;
use crate::kinds::{Field, KindDef, Lifecycle};
use crate::model::names::NameRule;
use crate::model::schema::Schema;
use crate::model::{Address, Kind, Live, Value};
use crate::providers::AwsResult as _;
use crate::providers::{Cloud, Planned, ProviderError, Row};
use crate::{handle, ops};
use aws_sdk_backup::operation::get_backup_selection::GetBackupSelectionOutput;
use aws_sdk_backup::types::BackupSelection as SelectionInput;
use aws_sdk_backup::Client;

crate::handle_type!(BackupSelection);

pub const KIND: Kind = Kind::of(&SCHEMA);

pub static SCHEMA: Schema = Schema::new("backup_selection", "BackupSelection", FIELDS)
    .names(NameRule::chars(
        1,
        50,
        |c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'),
        "letters, digits, `-`, `_` and `.`",
    ))
    .lifecycle(Lifecycle::REPLACED);

/// The IAM actions of its operations (`bp permissions`).
pub const IAM: crate::permissions::Iam =
    crate::permissions::Iam::reads(&["backup:ListBackupSelections", "backup:GetBackupSelection"])
        .create(&["backup:CreateBackupSelection"])
        .delete(&["backup:DeleteBackupSelection"])
        .passes_role();

pub static DEF: KindDef = KindDef::new(
    KIND,
    Pricing::Free,
    handle!(BackupSelection),
    ops!(with super::vault::KIND, no_update),
)
.rules(super::lint::SELECTION)
.iam(IAM);

const FIXED: &str = "AWS Backup cannot change a selection in place";

const FIELDS: &[Field] = &[
    Field::new("name").replaces(FIXED),
    Field::new("plan").replaces(FIXED).refers(),
    Field::new("role").replaces(FIXED).refers(),
    Field::new("resources").set().replaces(FIXED).refers(),
];

async fn ids(b: &Client, plan: &str) -> Result<Vec<(String, String)>, ProviderError> {
    let rows = b
        .list_backup_selections()
        .backup_plan_id(plan)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .map_err(ProviderError::api("ListBackupSelections"))?;
    Ok(rows
        .iter()
        .map(|s| {
            (
                s.selection_id().unwrap_or_default().to_string(),
                s.selection_name().unwrap_or_default().to_string(),
            )
        })
        .collect())
}

async fn get(
    b: &Client,
    plan: &str,
    id: &str,
) -> Result<Option<GetBackupSelectionOutput>, ProviderError> {
    let out = b
        .get_backup_selection()
        .backup_plan_id(plan)
        .selection_id(id)
        .send()
        .await
        .map_err(ProviderError::api("GetBackupSelection"));
    ProviderError::absent_ok(out)
}

fn live_of(address: Address, s: &GetBackupSelectionOutput) -> Option<Live> {
    let plan = s.backup_plan_id()?;
    let id = s.selection_id()?;
    let sel = s.backup_selection()?;
    Some(
        Live::new(address, format!("{plan}/{id}"))
            .attr("name", Value::str(sel.selection_name()))
            .attr("plan", Value::str(plan))
            .attr("role", Value::str(sel.iam_role_arn()))
            .attr(
                "resources",
                Value::List(sel.resources().iter().map(Value::str).collect()),
            )
            .output("id", id),
    )
}

/// The selections of the owned plans that are the blueprint's: the one in
/// each plan named as the plan's address.
pub(super) async fn of_plans(
    _cloud: &Cloud,
    b: &Client,
    plans: &[Live],
) -> Result<Vec<Live>, ProviderError> {
    let lists = futures::future::join_all(plans.iter().map(|p| ids(b, &p.id))).await;
    let mut wanted = Vec::new();
    for (p, l) in plans.iter().zip(lists) {
        for (id, name) in l? {
            if name == p.address.name {
                wanted.push((Address::new(KIND, &p.address.name), p.id.clone(), id));
            }
        }
    }
    let got = futures::future::join_all(wanted.iter().map(|(_, plan, id)| get(b, plan, id))).await;
    let mut out = Vec::new();
    for ((address, _, _), g) in wanted.into_iter().zip(got) {
        if let Some(s) = g? {
            out.extend(live_of(address, &s));
        }
    }
    Ok(out)
}

pub async fn create(cloud: &Cloud, r: &Planned) -> Result<Live, ProviderError> {
    let b = client(cloud);
    let plan = r.str("plan")?;
    let name = r.str("name")?;
    // An interrupted apply may have created it: a plan's selections have
    // unique names, and this one is the blueprint's.
    let id = match ids(&b, plan).await?.into_iter().find(|(_, n)| n == name) {
        Some((id, _)) => id,
        None => b
            .create_backup_selection()
            .backup_plan_id(plan)
            .backup_selection(
                SelectionInput::builder()
                    .selection_name(name)
                    .iam_role_arn(r.str("role")?)
                    .set_resources(Some(r.strs("resources")?))
                    .build()
                    .map_err(build_err)?,
            )
            .creator_request_id(cloud.client_token(&r.address))
            .send()
            .await
            .map_err(ProviderError::api("CreateBackupSelection"))?
            .selection_id()
            .unwrap_or_default()
            .to_string(),
    };
    let s = get(&b, plan, &id).await?.ok_or_else(|| {
        ProviderError::Unexpected(format!("{}: selection {id} is gone", r.address))
    })?;
    live_of(r.address.clone(), &s).ok_or_else(|| {
        ProviderError::Unexpected(format!("{}: selection {id} is incomplete", r.address))
    })
}

pub async fn delete(cloud: &Cloud, live: &Live) -> Result<(), ProviderError> {
    let (plan, id) = live.id.split_once('/').unwrap_or_default();
    client(cloud)
        .delete_backup_selection()
        .backup_plan_id(plan)
        .selection_id(id)
        .send()
        .await
        .gone("DeleteBackupSelection")
}

/// The selections of every plan in the region, for `:live`.
pub async fn list(cloud: &Cloud) -> Result<Vec<Row>, ProviderError> {
    let b = client(cloud);
    let plans = super::plan::all(&b).await?;
    let mut rows = Vec::new();
    for p in &plans {
        let plan = p.backup_plan_id().unwrap_or_default();
        for (id, name) in ids(&b, plan).await? {
            rows.push(Row::new(
                format!("{plan}/{id}"),
                name,
                format!("plan {}", p.backup_plan_name().unwrap_or_default()),
            ));
        }
    }
    Ok(rows)
}
