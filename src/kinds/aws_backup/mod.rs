//! AWS Backup: `backup_plan(name, #{ vault?, kms_key?, rules, resources,
//! role?, ... })` declares three resources, one kind each:
//! - [`vault`]: the backup vault that holds the recovery points, encrypted
//!   with a KMS key and protected from deletion by default;
//! - [`plan`]: the plan's rules (when, how long to keep, when to move to
//!   cold storage), changed in place with UpdateBackupPlan;
//! - [`selection`]: which resources the plan backs up, and the IAM role
//!   AWS Backup assumes to do it (one Blueprint declares unless given).
//!
//! All three are read by one batched read ([`read`]): the vaults and plans
//! with their tags, then the selections of the owned plans.

pub mod lint;
pub mod plan;
pub mod selection;
pub mod vault;

use crate::model::{Address, Live, Map, Problem, Value};
use crate::providers::{Cloud, ProviderError};
use crate::script::api::{name_arg, opts_arg};
use crate::script::handles::Output;
use crate::script::schema::{def, opt, req, FnDoc, Opt, Ty, TAGS_OPT};
use crate::script::state::{check_name, check_tags, declare, fail, Deps, Fallible, Opts, Shared};
use aws_sdk_backup::Client;
use rhai::{Dynamic, NativeCallContext};
use std::collections::HashMap;

const RULE: &[Opt] = &[
    req("name", Ty::Str, "the rule's name"),
    req(
        "cron",
        Ty::Str,
        "when, in UTC: a cron expression (\"0 3 * * *\") or AWS's form (\"cron(0 3 ? * * *)\")",
    ),
    req("retain_days", Ty::Int, "how long each recovery point is kept"),
    opt(
        "cold_after_days",
        Ty::Int,
        "move recovery points to cold storage after this many days (EFS, DynamoDB); retain_days must then be at least 90 more",
    ),
];

fn is_resources(v: &Dynamic) -> bool {
    v.read_lock::<rhai::Array>().is_some_and(|a| {
        !a.is_empty()
            && a.iter().all(|x| {
                crate::script::handles::address_of(x)
                    .is_some_and(|r| crate::kinds::def(r.kind).backed_up)
                    || x.clone().into_string().is_ok_and(|s| s.starts_with("arn:"))
            })
    })
}

pub const OPTIONS: &[Opt] = &[
    opt(
        "vault",
        Ty::Str,
        "the vault's name (default: the plan's); plans naming the same vault share it",
    ),
    opt(
        "kms_key",
        Ty::Handle(super::kms_key::KIND),
        "the key that encrypts the vault (default: AWS Backup's own key)",
    ),
    req("rules", Ty::NestedList(RULE), "when to back up, and how long to keep it"),
    req(
        "resources",
        Ty::Check(
            "a list of handles (dynamodb_table, efs, rds_postgres, s3_bucket) or ARNs",
            is_resources,
        ),
        "what to back up",
    ),
    opt(
        "role",
        Ty::HandleOrStr(super::iam::role::KIND),
        "the role AWS Backup assumes (default: `<name>-backup`, with AWS's backup and restore policies)",
    ),
    def(
        "protect",
        Ty::Bool,
        "true",
        "keep the vault and its recovery points when the blueprint no longer declares them",
    ),
    TAGS_OPT,
];

pub const DOC: FnDoc = FnDoc {
    name: "backup_plan",
    signature: "backup_plan(name, #{ vault?, kms_key?, rules: [#{ name, cron, retain_days, cold_after_days? }], resources, role?, protect?, tags? }) -> BackupPlan",
    doc: "An AWS Backup plan: a KMS-encrypted vault, the plan's rules and a selection of resources (with the IAM role AWS Backup assumes).",
    options: OPTIONS,
    method_of: None,
};

/// A five-field cron expression in AWS's six-field form: one of day of
/// month and day of week is `?`, days of week count from 1 (Sunday), and a
/// year field follows. AWS's own `cron(...)` and `rate(...)` pass through.
pub fn aws_schedule(cron: &str) -> Result<String, Problem> {
    let cron = cron.trim();
    if (cron.starts_with("cron(") || cron.starts_with("rate(")) && cron.ends_with(')') {
        return Ok(cron.to_string());
    }
    let f: Vec<&str> = cron.split_whitespace().collect();
    let [min, hour, dom, month, dow] = f[..] else {
        return Err(Problem::new(format!(
            "`{cron}` is not a cron expression ({} fields)",
            f.len()
        ))
        .hint(
            "five fields in UTC: minute hour day-of-month month day-of-week, e.g. \"0 3 * * *\"",
        ));
    };
    let (dom, dow) = match (dom, dow) {
        (d, "*" | "?") => (d.to_string(), "?".to_string()),
        ("*" | "?", w) => ("?".to_string(), aws_weekdays(w)?),
        _ => {
            return Err(Problem::new(format!(
                "`{cron}` sets both a day of month and a day of week"
            ))
            .hint("AWS Backup schedules take one of them: set the other to *"))
        }
    };
    Ok(format!("cron({min} {hour} {dom} {month} {dow} *)"))
}

/// Cron's days of week (0 or 7 is Sunday) in AWS's numbering (1 is
/// Sunday); names and steps stay as they are.
fn aws_weekdays(w: &str) -> Result<String, Problem> {
    let (days, step) = match w.split_once('/') {
        Some((d, s)) => (d, Some(s)),
        None => (w, None),
    };
    let mut out = String::new();
    let mut num = String::new();
    let flush = |num: &mut String, out: &mut String| -> Result<(), Problem> {
        if !num.is_empty() {
            let n: u32 = num.parse().unwrap_or(99);
            if n > 7 {
                return Err(Problem::new(format!("`{w}`: day of week {n} is not 0-7")));
            }
            out.push_str(&((n % 7) + 1).to_string());
            num.clear();
        }
        Ok(())
    };
    for ch in days.chars() {
        if ch.is_ascii_digit() {
            num.push(ch);
        } else {
            flush(&mut num, &mut out)?;
            out.push(ch);
        }
    }
    flush(&mut num, &mut out)?;
    if let Some(s) = step {
        out.push('/');
        out.push_str(s);
    }
    Ok(out)
}

fn rules(ctx: &NativeCallContext, name: &str, o: &Opts) -> Fallible<Vec<Value>> {
    let mut out = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for r in o.list("rules") {
        let Some(m) = r.read_lock::<rhai::Map>().map(|m| m.clone()) else {
            continue;
        };
        let ro = Opts(&m);
        let rule = ro.str("name").unwrap_or_default();
        check_name(ctx, plan::KIND, &rule)?;
        if !seen.insert(rule.clone()) {
            return Err(fail(
                ctx,
                Problem::new(format!("backup_plan {name}: two rules are named `{rule}`")),
            ));
        }
        let schedule =
            aws_schedule(&ro.str("cron").unwrap_or_default()).map_err(|p| fail(ctx, p))?;
        let retain = ro.int("retain_days").unwrap_or(0);
        if retain < 1 {
            return Err(fail(
                ctx,
                Problem::new(format!(
                    "backup_plan {name}: rule `{rule}` keeps recovery points {retain} days"
                ))
                .hint("retain_days is at least 1"),
            ));
        }
        let mut spec = Map::from([
            ("name".into(), Value::Str(rule.clone())),
            ("schedule".into(), Value::Str(schedule)),
            ("retain_days".into(), Value::Int(retain)),
        ]);
        if let Some(cold) = ro.int("cold_after_days") {
            if cold < 1 || retain < cold + 90 {
                return Err(fail(
                    ctx,
                    Problem::new(format!(
                        "backup_plan {name}: rule `{rule}` moves to cold storage after {cold} days but keeps {retain} days"
                    ))
                    .hint(format!(
                        "AWS keeps cold recovery points at least 90 days: retain_days must be at least {}",
                        cold.max(1) + 90
                    )),
                ));
            }
            spec.insert("cold_after_days".into(), Value::Int(cold));
        }
        out.push(Value::Map(spec));
    }
    if out.is_empty() {
        return Err(fail(
            ctx,
            Problem::new(format!("backup_plan {name}: `rules` is empty"))
                .hint("declare at least one rule: #{ name, cron, retain_days }"),
        ));
    }
    Ok(out)
}

/// The ARNs of `resources`, each a reference to a declared resource's
/// `arn` or an ARN given as text.
fn resources(
    state: &Shared,
    ctx: &NativeCallContext,
    o: &Opts,
    deps: &mut Deps,
) -> Fallible<Vec<Value>> {
    let mut out = Vec::new();
    for x in o.list("resources") {
        if let Some(a) = crate::script::handles::address_of(&x) {
            if a.kind == super::s3_bucket::KIND {
                let versioned = state
                    .borrow()
                    .graph
                    .get(&a)
                    .and_then(|r| r.spec.get("versioning").and_then(Value::as_bool));
                if versioned != Some(true) {
                    return Err(fail(
                        ctx,
                        Problem::new(format!(
                            "AWS Backup backs up versioned S3 buckets only, and {a} is not versioned"
                        ))
                        .hint("declare the bucket with versioning: true"),
                    ));
                }
            }
            deps.add(&a);
            out.push(Value::Ref(crate::model::Ref {
                address: a,
                attr: "arn".into(),
            }));
        } else {
            out.push(Value::Str(x.to_string()));
        }
    }
    Ok(out)
}

pub fn backup_plan(
    state: &Shared,
    ctx: &NativeCallContext,
    name: &Dynamic,
    opts: &Dynamic,
) -> Fallible<BackupPlan> {
    let name = name_arg(ctx, "backup_plan", name)?;
    let map = opts_arg(ctx, "backup_plan", opts, OPTIONS)?;
    let o = Opts(&map);
    check_name(ctx, plan::KIND, &name)?;
    check_tags(ctx, o.get("tags"))?;
    let rules = rules(ctx, &name, &o)?;

    // The vault, shared by the plans that name it.
    let vault_name = o.str("vault").unwrap_or_else(|| name.clone());
    check_name(ctx, vault::KIND, &vault_name)?;
    let vault_addr = Address::new(vault::KIND, &vault_name);
    let mut vdeps = Deps::default();
    let mut vspec = Map::new();
    vspec.insert("name".into(), Value::str(&vault_name));
    if let Some(k) = o.get("kms_key") {
        vspec.insert("kms_key".into(), vdeps.value(k));
    }
    vspec.insert("protect".into(), Value::Bool(o.bool_or("protect", true)));
    if let Some(t) = state.borrow().tags(o.get("tags"), &mut vdeps) {
        vspec.insert("tags".into(), t);
    }
    let existing = state
        .borrow()
        .graph
        .get(&vault_addr)
        .map(|r| r.spec.clone());
    match existing {
        None => declare(state, ctx, vault_addr.clone(), vspec, vdeps)?,
        Some(s) if s.get("kms_key") == vspec.get("kms_key") => {}
        Some(_) => {
            return Err(fail(
                ctx,
                Problem::new(format!(
                    "backup_plan {name}: vault `{vault_name}` is declared with another kms_key"
                ))
                .hint("plans that share a vault give it the same key, or none"),
            ))
        }
    }

    // The plan.
    let mut deps = Deps::default();
    deps.add(&vault_addr);
    let plan_addr = Address::new(plan::KIND, &name);
    let mut spec = Map::new();
    spec.insert("name".into(), Value::str(&name));
    spec.insert("vault".into(), Value::str(&vault_name));
    spec.insert("rules".into(), Value::List(rules));
    if let Some(t) = state.borrow().tags(o.get("tags"), &mut deps) {
        spec.insert("tags".into(), t);
    }
    declare(state, ctx, plan_addr.clone(), spec, deps)?;

    // The selection, with AWS Backup's role.
    let mut sdeps = Deps::default();
    sdeps.add(&plan_addr);
    let role = match o.get("role") {
        Some(r) => sdeps.value(r),
        None => {
            let policy = |p: &str| format!("{}service-role/{p}", super::iam::AWS_POLICY);
            let role = super::iam::declare_role(
                state,
                ctx,
                &format!("{name}-backup"),
                super::iam::RoleSpec {
                    trust: (
                        "trust_policy",
                        super::iam::service_trust(&["backup.amazonaws.com".into()]),
                    ),
                    managed: {
                        let mut m = vec![
                            policy("AWSBackupServiceRolePolicyForBackup"),
                            policy("AWSBackupServiceRolePolicyForRestores"),
                        ];
                        // S3 needs policies of its own.
                        let s3 = o.list("resources").iter().any(|x| {
                            crate::script::handles::address_of(x)
                                .is_some_and(|a| a.kind == super::s3_bucket::KIND)
                                || x.to_string().starts_with("arn:aws:s3:")
                        });
                        if s3 {
                            m.push(format!(
                                "{}AWSBackupServiceRolePolicyForS3Backup",
                                super::iam::AWS_POLICY
                            ));
                            m.push(format!(
                                "{}AWSBackupServiceRolePolicyForS3Restore",
                                super::iam::AWS_POLICY
                            ));
                        }
                        m
                    },
                    inline: Map::new(),
                    tags: None,
                    provider: None,
                },
                Deps::default(),
            )?;
            sdeps.value(&super::iam::IamRole::wrap(role))
        }
    };
    let resources = resources(state, ctx, &o, &mut sdeps)?;
    let sspec = Map::from([
        ("name".into(), Value::str(&name)),
        (
            "plan".into(),
            Value::Ref(crate::model::Ref {
                address: plan_addr.clone(),
                attr: "id".into(),
            }),
        ),
        ("role".into(), role),
        ("resources".into(), Value::List(resources)),
    ]);
    declare(
        state,
        ctx,
        Address::new(selection::KIND, &name),
        sspec,
        sdeps,
    )?;
    Ok(BackupPlan(plan_addr))
}

crate::handle_type!(BackupPlan);

/// `backup_plan(...)` and its handle's properties.
pub fn register(engine: &mut rhai::Engine, state: &Shared) {
    BackupPlan::register_type(engine);
    let s = state.clone();
    engine.register_fn(
        "backup_plan",
        move |ctx: NativeCallContext, name: Dynamic, opts: Dynamic| {
            backup_plan(&s, &ctx, &name, &opts)
        },
    );
    engine.register_get("name", |p: &mut BackupPlan| {
        Output::attr(&p.0, "name", Some(p.0.name.clone()))
    });
    engine.register_get("id", |p: &mut BackupPlan| Output::attr(&p.0, "id", None));
    engine.register_get("arn", |p: &mut BackupPlan| Output::attr(&p.0, "arn", None));
    let s = state.clone();
    engine.register_get("vault", move |p: &mut BackupPlan| {
        let vault = s
            .borrow()
            .graph
            .get(&p.0)
            .and_then(|r| r.str("vault").map(String::from))
            .unwrap_or_default();
        vault
    });
}

// Live state ------------------------------------------------------------------

pub fn client(cloud: &Cloud) -> Client {
    cloud.client(|conf, counter| {
        Client::from_conf(
            aws_sdk_backup::config::Builder::from(conf)
                .interceptor(counter)
                .build(),
        )
    })
}

pub fn build_err(e: aws_smithy_types::error::operation::BuildError) -> ProviderError {
    ProviderError::Spec(format!("cannot build an AWS Backup request: {e}"))
}

pub async fn tags_of(b: &Client, arn: &str) -> Result<HashMap<String, String>, ProviderError> {
    b.list_tags()
        .resource_arn(arn)
        .send()
        .await
        .map(|o| o.tags().cloned().unwrap_or_default())
        .map_err(ProviderError::api("ListTags"))
}

/// Each of `items` with its tags, read in parallel (AWS Backup's lists
/// carry none).
pub async fn with_tags<'a, T>(
    b: &Client,
    items: &'a [T],
    arn: impl Fn(&T) -> Option<&str>,
) -> Result<Vec<(&'a T, HashMap<String, String>)>, ProviderError> {
    let tags =
        futures::future::join_all(items.iter().map(|i| tags_of(b, arn(i).unwrap_or_default())))
            .await;
    items.iter().zip(tags).map(|(i, t)| Ok((i, t?))).collect()
}

/// The blueprint's address of a resource with these tags, if it owns it.
pub fn owner(cloud: &Cloud, tags: &HashMap<String, String>) -> Option<Address> {
    cloud.owner(pairs(tags))
}

/// The user's tags among a resource's tags.
pub fn user_tags(tags: &HashMap<String, String>) -> Option<Value> {
    crate::providers::user_tags(pairs(tags), crate::providers::NameTag::IsATag)
}

fn pairs(tags: &HashMap<String, String>) -> impl Iterator<Item = (&str, &str)> + Clone {
    tags.iter().map(|(k, v)| (k.as_str(), v.as_str()))
}

/// Tags and untags a vault or plan to match the declaration.
pub async fn retag(
    cloud: &Cloud,
    r: &crate::providers::Planned,
    live: &Live,
    arn: &str,
) -> Result<(), ProviderError> {
    let b = client(cloud);
    let want: HashMap<String, String> = cloud.tags_for(&r.address, &r.spec).into_iter().collect();
    b.tag_resource()
        .resource_arn(arn)
        .set_tags(Some(want.clone()))
        .send()
        .await
        .map_err(ProviderError::api("TagResource"))?;
    let mut stale = crate::providers::stale_tag_keys(r, live);
    if r.address.kind.schema().lifecycle.protect.is_some()
        && !want.contains_key(crate::providers::TAG_PROTECT)
    {
        stale.push(crate::providers::TAG_PROTECT.into());
    }
    if stale.is_empty() {
        return Ok(());
    }
    b.untag_resource()
        .resource_arn(arn)
        .set_tag_key_list(Some(stale))
        .send()
        .await
        .map_err(ProviderError::api("UntagResource"))?;
    Ok(())
}

/// Every owned vault, plan and selection: the vaults and the plans with
/// their tags (in parallel), then the owned plans' rules and selections.
pub async fn read(cloud: &Cloud) -> Result<Vec<Live>, ProviderError> {
    let b = client(cloud);
    let (vaults, plans) = tokio::join!(vault::all(&b), plan::all(&b));
    let (vaults, plans) = (vaults?, plans?);
    let mut out = vault::owned(cloud, &b, &vaults).await?;
    let owned_plans = plan::owned(cloud, &b, &plans).await?;
    out.extend(selection::of_plans(cloud, &b, &owned_plans).await?);
    out.extend(owned_plans);
    Ok(out)
}

/// The recovery points in a vault, newest first, as `bp backup list`
/// shows them; `None` when the vault does not exist (yet).
pub async fn recovery_points(
    cloud: &Cloud,
    vault: &str,
) -> Result<Option<Vec<serde_json::Value>>, ProviderError> {
    use aws_smithy_types::date_time::Format;
    let b = client(cloud);
    let points = b
        .list_recovery_points_by_backup_vault()
        .backup_vault_name(vault)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .map_err(ProviderError::api("ListRecoveryPointsByBackupVault"));
    let Some(mut points) = ProviderError::absent_ok(points)? else {
        return Ok(None);
    };
    points.sort_by(|a, b| {
        b.creation_date()
            .map(|d| d.as_secs_f64())
            .partial_cmp(&a.creation_date().map(|d| d.as_secs_f64()))
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    let time = |d: Option<&aws_smithy_types::DateTime>| {
        d.and_then(|d| d.fmt(Format::DateTime).ok())
            .map(serde_json::Value::String)
            .unwrap_or(serde_json::Value::Null)
    };
    Ok(Some(
        points
            .iter()
            .map(|p| {
                let life = p.calculated_lifecycle();
                serde_json::json!({
                    "vault": vault,
                    "resource": p.resource_arn(),
                    "type": p.resource_type(),
                    "status": p.status().map(|s| s.as_str()),
                    "created": time(p.creation_date()),
                    "completed": time(p.completion_date()),
                    "cold_at": time(life.and_then(|l| l.move_to_cold_storage_at())),
                    "expires": time(life.and_then(|l| l.delete_at())),
                    "size_bytes": p.backup_size_in_bytes(),
                    "arn": p.recovery_point_arn(),
                })
            })
            .collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::aws_schedule;

    #[test]
    fn cron_becomes_aws_schedule() {
        assert_eq!(aws_schedule("0 3 * * *").unwrap(), "cron(0 3 * * ? *)");
        // Sundays: cron's 0 is AWS's 1; ranges and lists map each day.
        assert_eq!(aws_schedule("0 3 * * 0").unwrap(), "cron(0 3 ? * 1 *)");
        assert_eq!(
            aws_schedule("30 1 * * 1-5").unwrap(),
            "cron(30 1 ? * 2-6 *)"
        );
        assert_eq!(aws_schedule("0 4 * * 6,7").unwrap(), "cron(0 4 ? * 7,1 *)");
        assert_eq!(aws_schedule("0 4 * * MON").unwrap(), "cron(0 4 ? * MON *)");
        assert_eq!(aws_schedule("0 5 1 * *").unwrap(), "cron(0 5 1 * ? *)");
        assert_eq!(
            aws_schedule("cron(0 5 ? * * *)").unwrap(),
            "cron(0 5 ? * * *)"
        );
        assert_eq!(aws_schedule("rate(12 hours)").unwrap(), "rate(12 hours)");
        assert!(aws_schedule("0 5 1 * 1").is_err());
        assert!(aws_schedule("0 5 * *").is_err());
        assert!(aws_schedule("0 5 * * 9").is_err());
    }
}
