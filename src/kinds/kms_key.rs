//! KMS keys: description, yearly rotation, an alias, tags. Found by tag;
//! deleting schedules the deletion (the 7-day minimum).

use crate::cost::Pricing;
use crate::kinds::{Field, KindDef, TAGS};
use crate::model::schema::Schema;
use crate::model::{Address, Kind, Map, Problem};
use crate::model::{Live, Value};
use crate::plan::{touches, FieldDiff};
use crate::providers::aws::tagging;
use crate::providers::Row;
use crate::providers::{Cloud, Planned, ProviderError};
use crate::script::api::{name_arg, opts_arg};
use crate::script::handles::Output;
use crate::script::schema::{def, opt, FnDoc, Opt, Ty, TAGS_OPT};
use crate::script::state::{check_name, check_tags, declare, fail, Deps, Fallible, Opts, Shared};
use crate::{handle, ops};
use aws_sdk_kms::types::{KeyState, Tag};
use rhai::{Dynamic, Engine, NativeCallContext};

async fn aliases(cloud: &Cloud) -> Result<Vec<(String, String)>, ProviderError> {
    let items = cloud
        .kms()
        .list_aliases()
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .map_err(ProviderError::api("ListAliases"))?;
    Ok(items
        .iter()
        .filter_map(|a| Some((a.alias_name()?.to_string(), a.target_key_id()?.to_string())))
        .filter(|(n, _)| !n.starts_with("alias/aws/"))
        .collect())
}

pub async fn read(cloud: &Cloud) -> Result<Vec<Live>, ProviderError> {
    let (keys, aliases) = tokio::join!(tagging::owned(cloud, "kms:key"), aliases(cloud));
    let (keys, aliases) = (keys?, aliases?);
    let described = futures::future::join_all(keys.iter().map(|k| async move {
        let (d, r, p) = tokio::join!(
            cloud.kms().describe_key().key_id(&k.arn).send(),
            cloud.kms().get_key_rotation_status().key_id(&k.arn).send(),
            cloud
                .kms()
                .get_key_policy()
                .key_id(&k.arn)
                .policy_name("default")
                .send()
        );
        let d = d.map_err(ProviderError::api("DescribeKey"))?;
        let r = r.map_err(ProviderError::api("GetKeyRotationStatus"))?;
        let p = p.map_err(ProviderError::api("GetKeyPolicy"))?;
        Ok::<_, ProviderError>((d, (r, p)))
    }))
    .await;
    let mut out = Vec::new();
    for (k, got) in keys.into_iter().zip(described) {
        let (d, (r, p)) = got?;
        let Some(meta) = d.key_metadata() else {
            continue;
        };
        if matches!(
            meta.key_state(),
            Some(KeyState::PendingDeletion) | Some(KeyState::PendingReplicaDeletion)
        ) {
            continue;
        }
        let id = meta.key_id().to_string();
        let alias = aliases
            .iter()
            .find(|(_, target)| *target == id)
            .map(|(n, _)| n.clone());
        let mut l = Live::new(k.address.clone(), &id)
            .attr("name", Value::str(&k.address.name))
            .attr(
                "description",
                Value::str(meta.description().unwrap_or_default()),
            )
            .attr("rotation", Value::Bool(r.key_rotation_enabled()))
            .attr("alias", alias.map(Value::Str).unwrap_or(Value::Null))
            .attr(
                "policy",
                p.policy()
                    .map(crate::kinds::iam::role::policy_value)
                    .unwrap_or_default(),
            )
            .output("arn", &k.arn)
            .output("name", &k.address.name);
        if !k.tags.is_empty() {
            l.attrs.insert("tags".into(), Value::Map(k.tags));
        }
        out.push(l);
    }
    Ok(out)
}

fn kms_tags(cloud: &Cloud, r: &Planned) -> Vec<Tag> {
    cloud
        .tags_for(&r.address, &r.spec)
        .into_iter()
        .filter_map(|(k, v)| Tag::builder().tag_key(k).tag_value(v).build().ok())
        .collect()
}

async fn set_rotation(cloud: &Cloud, id: &str, on: bool) -> Result<(), ProviderError> {
    if on {
        cloud
            .kms()
            .enable_key_rotation()
            .key_id(id)
            .send()
            .await
            .map_err(ProviderError::api("EnableKeyRotation"))?;
    } else {
        cloud
            .kms()
            .disable_key_rotation()
            .key_id(id)
            .send()
            .await
            .map_err(ProviderError::api("DisableKeyRotation"))?;
    }
    Ok(())
}

fn settled(r: &Planned, id: &str, arn: &str) -> Live {
    let mut l = Live::new(r.address.clone(), id);
    l.attrs = r.spec.clone();
    l.output("arn", arn).output("name", &r.address.name)
}

pub async fn create(cloud: &Cloud, r: &Planned) -> Result<Live, ProviderError> {
    let out = cloud
        .kms()
        .create_key()
        .description(r.str("description")?)
        .set_policy(
            r.spec
                .get("policy")
                .filter(|p| p.as_map().is_some())
                .map(|p| p.to_json().to_string()),
        )
        .set_tags(Some(kms_tags(cloud, r)))
        .send()
        .await
        .map_err(ProviderError::api("CreateKey"))?;
    let meta = out
        .key_metadata()
        .ok_or_else(|| ProviderError::Unexpected("CreateKey returned no key".into()))?;
    let id = meta.key_id().to_string();
    let arn = meta.arn().unwrap_or_default().to_string();
    if r.bool("rotation")? {
        set_rotation(cloud, &id, true).await?;
    }
    if let Some(alias) = r.spec.get("alias").and_then(Value::as_str) {
        cloud
            .kms()
            .create_alias()
            .alias_name(alias)
            .target_key_id(&id)
            .send()
            .await
            .map_err(ProviderError::api("CreateAlias"))?;
    }
    Ok(settled(r, &id, &arn))
}

pub async fn update(
    cloud: &Cloud,
    r: &Planned,
    live: &Live,
    fields: &[FieldDiff],
) -> Result<Live, ProviderError> {
    let changed = |p: &str| touches(fields, p);
    let id = live.id.as_str();
    if changed("policy") {
        if let Some(p) = r.spec.get("policy").filter(|p| p.as_map().is_some()) {
            cloud
                .kms()
                .put_key_policy()
                .key_id(id)
                .policy_name("default")
                .policy(p.to_json().to_string())
                .send()
                .await
                .map_err(ProviderError::api("PutKeyPolicy"))?;
        }
    }
    if changed("description") {
        cloud
            .kms()
            .update_key_description()
            .key_id(id)
            .description(r.str("description")?)
            .send()
            .await
            .map_err(ProviderError::api("UpdateKeyDescription"))?;
    }
    if changed("rotation") {
        set_rotation(cloud, id, r.bool("rotation")?).await?;
    }
    if changed("alias") {
        if let Some(old) = live.attrs.get("alias").and_then(Value::as_str) {
            cloud
                .kms()
                .delete_alias()
                .alias_name(old)
                .send()
                .await
                .map_err(ProviderError::api("DeleteAlias"))?;
        }
        if let Some(new) = r.spec.get("alias").and_then(Value::as_str) {
            cloud
                .kms()
                .create_alias()
                .alias_name(new)
                .target_key_id(id)
                .send()
                .await
                .map_err(ProviderError::api("CreateAlias"))?;
        }
    }
    if changed("tags") {
        cloud
            .kms()
            .tag_resource()
            .key_id(id)
            .set_tags(Some(kms_tags(cloud, r)))
            .send()
            .await
            .map_err(ProviderError::api("TagResource"))?;
        let stale = crate::providers::stale_tag_keys(r, live);
        if !stale.is_empty() {
            cloud
                .kms()
                .untag_resource()
                .key_id(id)
                .set_tag_keys(Some(stale))
                .send()
                .await
                .map_err(ProviderError::api("UntagResource"))?;
        }
    }
    Ok(settled(
        r,
        id,
        live.outputs
            .get("arn")
            .map(String::as_str)
            .unwrap_or_default(),
    ))
}

/// Removes the alias and schedules the key's deletion in 7 days, the
/// shortest window KMS allows.
pub async fn delete(cloud: &Cloud, live: &Live) -> Result<(), ProviderError> {
    if let Some(alias) = live.attrs.get("alias").and_then(Value::as_str) {
        if let Err(e) = cloud.kms().delete_alias().alias_name(alias).send().await {
            let e = ProviderError::api("DeleteAlias")(e);
            if !e.is_not_found() {
                return Err(e);
            }
        }
    }
    cloud
        .kms()
        .schedule_key_deletion()
        .key_id(&live.id)
        .pending_window_in_days(7)
        .send()
        .await
        .map_err(ProviderError::api("ScheduleKeyDeletion"))?;
    Ok(())
}

crate::handle_type!(KmsKey);

pub const KIND: Kind = Kind::of(&SCHEMA);

pub static SCHEMA: Schema = Schema::new("kms_key", "KmsKey", FIELDS).attr("arn");

/// The IAM actions of its operations (`bp permissions`).
pub const IAM: crate::permissions::Iam = crate::permissions::Iam::reads(&[
    "tag:GetResources",
    "kms:ListAliases",
    "kms:DescribeKey",
    "kms:GetKeyRotationStatus",
    "kms:GetKeyPolicy",
])
.create(&[
    "kms:CreateKey",
    "kms:TagResource",
    "kms:CreateAlias",
    "kms:EnableKeyRotation",
    "kms:PutKeyPolicy",
])
.update(&[
    "kms:PutKeyPolicy",
    "kms:UpdateKeyDescription",
    "kms:CreateAlias",
    "kms:DeleteAlias",
    "kms:EnableKeyRotation",
    "kms:DisableKeyRotation",
    "kms:TagResource",
    "kms:UntagResource",
])
.delete(&["kms:DeleteAlias", "kms:ScheduleKeyDeletion"]);

pub static DEF: KindDef = KindDef::new(
    KIND,
    Pricing::Priced(price),
    handle!(KmsKey; FUNCTIONS, register; ["address", "arn", "id", "name"]),
    ops!(own),
)
.adopt(crate::boxed!(adopt adopt))
.unsafe_to_resend(&["CreateKey"])
.iam(IAM)
.tagged_as("kms:key");

const FIELDS: &[Field] = &[
    Field::new("name"),
    Field::new("description"),
    Field::new("rotation"),
    Field::new("alias"),
    // Compared only when declared: a key has AWS's default policy otherwise.
    Field::new("policy"),
    TAGS,
];

pub const OPTIONS: &[Opt] = &[
    opt("description", Ty::Str, "key description"),
    def(
        "rotation",
        Ty::Bool,
        "true",
        "yearly automatic key rotation",
    ),
    opt(
        "alias",
        Ty::Str,
        "alias name, with or without the \"alias/\" prefix",
    ),
    opt(
        "policy",
        Ty::AnyMap,
        "the key policy: a policy document #{ Version, Statement: [...] }; AWS's default (the account's root may use the key) when absent",
    ),
    TAGS_OPT,
    crate::script::api::providers::PROVIDER_OPT,
];

const FUNCTIONS: &[FnDoc] = &[FnDoc {
    name: "kms_key",
    signature: "kms_key(name, #{ ... }) -> KmsKey",
    doc: "A symmetric KMS key, optionally with an alias.",
    options: OPTIONS,
    method_of: None,
}];

/// Every kms_key, owned or not, for `:live`.
pub async fn list(cloud: &Cloud) -> Result<Vec<Row>, ProviderError> {
    let rows = {
        let aliases = cloud
            .kms()
            .list_aliases()
            .send()
            .await
            .map_err(ProviderError::api("ListAliases"))?;
        let keys = cloud
            .kms()
            .list_keys()
            .send()
            .await
            .map_err(ProviderError::api("ListKeys"))?;
        keys.keys()
            .iter()
            .map(|k| {
                let id = k.key_id().unwrap_or_default();
                let alias = aliases
                    .aliases()
                    .iter()
                    .find(|a| a.target_key_id() == Some(id))
                    .and_then(|a| a.alias_name())
                    .unwrap_or_default();
                Row::new(id, alias, k.key_arn().unwrap_or_default())
            })
            .collect()
    };
    Ok(rows)
}

fn register(engine: &mut Engine, state: &Shared) {
    KmsKey::register_type(engine);
    let s = state.clone();
    engine.register_fn(
        "kms_key",
        move |ctx: NativeCallContext, name: Dynamic, opts: Dynamic| kms_key(&s, &ctx, &name, &opts),
    );
    let s = state.clone();
    engine.register_fn("kms_key", move |ctx: NativeCallContext, name: Dynamic| {
        kms_key(&s, &ctx, &name, &Dynamic::from(rhai::Map::new()))
    });
    engine.register_get("name", |k: &mut KmsKey| {
        Output::attr(&k.0, "name", Some(k.0.name.clone()))
    });
    engine.register_get("arn", |k: &mut KmsKey| Output::attr(&k.0, "arn", None));
    engine.register_get("id", |k: &mut KmsKey| Output::attr(&k.0, "id", None));
}

fn kms_key(
    state: &Shared,
    ctx: &NativeCallContext,
    name: &Dynamic,
    opts: &Dynamic,
) -> Fallible<KmsKey> {
    let name = name_arg(ctx, "kms_key", name)?;
    let map = opts_arg(ctx, "kms_key", opts, OPTIONS)?;
    let o = Opts(&map);
    check_name(ctx, KIND, &name)?;
    check_tags(ctx, o.get("tags"))?;
    let mut spec = Map::new();
    spec.insert("name".into(), Value::str(&name));
    spec.insert(
        "description".into(),
        Value::str(
            o.str("description")
                .unwrap_or_else(|| format!("Blueprint key {name}")),
        ),
    );
    spec.insert("rotation".into(), Value::Bool(o.bool_or("rotation", true)));
    if let Some(alias) = o.str("alias") {
        let full = if alias.starts_with("alias/") {
            alias.clone()
        } else {
            format!("alias/{alias}")
        };
        let body = &full["alias/".len()..];
        let ok = !body.is_empty()
            && body.len() <= 250
            && body
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '_' | '-'))
            && !full.starts_with("alias/aws/");
        if !ok {
            return Err(fail(
                ctx,
                Problem::new(format!("`{alias}` is not a valid KMS alias")).hint(
                    "aliases hold letters, digits, `/`, `_` and `-`, and must not start with aws/",
                ),
            ));
        }
        spec.insert("alias".into(), Value::str(full));
    } else {
        spec.insert("alias".into(), Value::Null);
    }
    let mut deps = Deps::default();
    if let Some(p) = o.get("policy") {
        spec.insert("policy".into(), deps.value(p));
    }
    if let Some(t) = state.borrow().tags(o.get("tags"), &mut deps) {
        spec.insert("tags".into(), t);
    }
    let addr = Address::new(KIND, &name).in_provider(o.provider());
    declare(state, ctx, addr.clone(), spec, deps)?;
    Ok(KmsKey(addr))
}

/// `bp adopt`: the ownership tags on the key.
async fn adopt(cloud: &Cloud, id: &str, tags: &[(String, String)]) -> Result<(), ProviderError> {
    let tags = tags
        .iter()
        .map(|(k, v)| {
            aws_sdk_kms::types::Tag::builder()
                .tag_key(k)
                .tag_value(v)
                .build()
                .map_err(|e| ProviderError::Spec(e.to_string()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    cloud
        .kms()
        .tag_resource()
        .key_id(id)
        .set_tags(Some(tags))
        .send()
        .await
        .map_err(ProviderError::api("TagResource"))?;
    Ok(())
}

/// What a KMS key costs a month (see [`crate::cost`]).
pub fn price(q: &crate::cost::Quote) -> crate::cost::Estimate {
    use crate::cost::{money, Cost, Estimate};
    match q.prices.kms_key_month {
        Some(m) => Estimate::Priced(Cost::fixed(m, format!("one key × {}", money(m)))),
        None => q.missing("KMS keys".into()),
    }
}
