//! SQS queues: `sqs_queue(name, #{ retention_seconds?,
//! visibility_timeout_seconds?, kms_key?, allow_send_from?, tags? })`.
//! Always encrypted at rest (SQS-managed keys, or the KMS key given), and
//! its policy always refuses plain HTTP; `allow_send_from` lets AWS
//! services (`events.amazonaws.com`) send to it, as Karpenter's
//! interruption queue needs. Everything but the name changes in place.
//! Standard queues only: FIFO queues (`.fifo`) are not supported yet.
//!
//! A plan finds the owned queues with one tagged-resources call and the
//! queue list, then reads each owned queue's attributes (SQS has no batch
//! read).

use crate::cost::Pricing;
use crate::kinds::{Field, KindDef, TAGS};
use crate::model::names::NameRule;
use crate::model::schema::Schema;
use crate::model::{Address, Kind, Live, Map, Problem, Value};
use crate::plan::{touches, FieldDiff};
use crate::providers::aws::tagging;
use crate::providers::AwsResult as _;
use crate::providers::{Cloud, Planned, ProviderError, Row};
use crate::script::api::{name_arg, opts_arg};
use crate::script::handles::Output;
use crate::script::schema::{def, opt, FnDoc, Opt, Ty, TAGS_OPT};
use crate::script::state::{check_tags, declare, fail, Deps, Fallible, Opts, Shared};
use crate::{handle, ops};
use aws_sdk_sqs::types::QueueAttributeName as Attr;
use aws_sdk_sqs::Client;
use rhai::{Dynamic, Engine, NativeCallContext};
use std::collections::HashMap;

crate::handle_type!(SqsQueue);

pub const KIND: Kind = Kind::of(&SCHEMA);

pub static SCHEMA: Schema = Schema::new("sqs_queue", "SqsQueue", FIELDS)
    .attr("arn")
    .names(NameRule::chars(
        1,
        80,
        crate::model::names::alnum_dash_underscore,
        "letters, digits, `-` and `_`",
    ));

/// The IAM actions of its operations (`bp permissions`).
pub const IAM: crate::permissions::Iam = crate::permissions::Iam::reads(&[
    "tag:GetResources",
    "sqs:ListQueues",
    "sqs:GetQueueAttributes",
])
.create(&[
    "sqs:GetQueueUrl",
    "sqs:CreateQueue",
    "sqs:TagQueue",
    "sqs:GetQueueAttributes",
    "sqs:SetQueueAttributes",
    "sqs:ListQueueTags",
])
.update(&[
    "sqs:SetQueueAttributes",
    "sqs:TagQueue",
    "sqs:UntagQueue",
    "sqs:ListQueueTags",
])
.delete(&["sqs:DeleteQueue"])
.arns(&["arn:aws:sqs:{region}:{account}:{name}"]);

pub static DEF: KindDef = KindDef::new(
    KIND,
    // Billed per request, which the blueprint does not say.
    Pricing::Free,
    handle!(SqsQueue; FUNCTIONS, register; ["address", "arn", "name", "url"]),
    ops!(own),
)
.iam(IAM)
.tagged_as("sqs");

const FIELDS: &[Field] = &[
    Field::new("name").replaces("a queue cannot be renamed"),
    Field::new("retention_seconds"),
    Field::new("visibility_timeout_seconds"),
    Field::new("kms_key").refers(),
    Field::new("encrypted"),
    Field::new("allow_send_from").set(),
    Field::new("deny_insecure_transport"),
    TAGS,
];

const OPTIONS: &[Opt] = &[
    def(
        "retention_seconds",
        Ty::Int,
        "345600",
        "how long a message is kept, 60 to 1209600 seconds",
    ),
    def(
        "visibility_timeout_seconds",
        Ty::Int,
        "30",
        "how long a received message stays hidden, 0 to 43200 seconds",
    ),
    opt(
        "kms_key",
        Ty::Handle(crate::kinds::kms_key::KIND),
        "a KMS key to encrypt messages with (default: SQS-managed keys)",
    ),
    opt(
        "allow_send_from",
        Ty::StrList,
        "AWS service principals that may send to it, e.g. [\"events.amazonaws.com\"]",
    ),
    TAGS_OPT,
    crate::script::api::providers::PROVIDER_OPT,
];

const FUNCTIONS: &[FnDoc] = &[FnDoc {
    name: "sqs_queue",
    signature:
        "sqs_queue(name, #{ retention_seconds?, visibility_timeout_seconds?, kms_key?, allow_send_from?, tags? }) -> SqsQueue",
    doc: "An SQS standard queue, encrypted at rest, whose policy refuses plain HTTP.",
    options: OPTIONS,
    method_of: None,
}];

fn register(engine: &mut Engine, state: &Shared) {
    SqsQueue::register_type(engine);
    let s = state.clone();
    engine.register_fn(
        "sqs_queue",
        move |ctx: NativeCallContext, name: Dynamic, opts: Dynamic| {
            let name = name_arg(&ctx, "sqs_queue", &name)?;
            let map = opts_arg(&ctx, "sqs_queue", &opts, OPTIONS)?;
            sqs_queue(&s, &ctx, &name, &map).map(SqsQueue)
        },
    );
    engine.register_get("name", |q: &mut SqsQueue| {
        Output::attr(&q.0, "name", Some(q.0.name.clone()))
    });
    engine.register_get("arn", |q: &mut SqsQueue| Output::attr(&q.0, "arn", None));
    engine.register_get("url", |q: &mut SqsQueue| Output::attr(&q.0, "url", None));
}

fn in_range(
    ctx: &NativeCallContext,
    name: &str,
    key: &str,
    v: i64,
    range: std::ops::RangeInclusive<i64>,
) -> Fallible<Value> {
    if range.contains(&v) {
        return Ok(Value::Int(v));
    }
    Err(fail(
        ctx,
        Problem::new(format!(
            "sqs_queue \"{name}\": {key} is {v}, outside {} to {}",
            range.start(),
            range.end()
        )),
    ))
}

/// Declares the queue `name`; its address.
pub fn sqs_queue(
    state: &Shared,
    ctx: &NativeCallContext,
    name: &str,
    map: &rhai::Map,
) -> Fallible<Address> {
    let o = Opts(map);
    let addr = Address::new(KIND, name).in_provider(o.provider());
    if name.ends_with(".fifo") {
        return Err(fail(
            ctx,
            Problem::new(format!(
                "sqs_queue \"{name}\": FIFO queues are not supported yet"
            ))
            .hint("name a standard queue without `.fifo`"),
        ));
    }
    crate::script::state::check_name(ctx, KIND, name)?;
    check_tags(ctx, o.get("tags"))?;
    let retention = in_range(
        ctx,
        name,
        "retention_seconds",
        o.int("retention_seconds").unwrap_or(345_600),
        60..=1_209_600,
    )?;
    let visibility = in_range(
        ctx,
        name,
        "visibility_timeout_seconds",
        o.int("visibility_timeout_seconds").unwrap_or(30),
        0..=43_200,
    )?;
    let mut senders = o.strs("allow_send_from");
    if let Some(bad) = senders
        .iter()
        .find(|s| !s.ends_with(".amazonaws.com") || s.contains(['*', ' ']))
    {
        return Err(fail(
            ctx,
            Problem::new(format!(
                "sqs_queue \"{name}\": allow_send_from takes AWS service principals, not \"{bad}\""
            ))
            .hint("e.g. \"events.amazonaws.com\""),
        ));
    }
    senders.sort();
    senders.dedup();
    let mut deps = Deps::default();
    let mut spec = Map::new();
    spec.insert("name".into(), Value::str(name));
    spec.insert("retention_seconds".into(), retention);
    spec.insert("visibility_timeout_seconds".into(), visibility);
    spec.insert(
        "kms_key".into(),
        o.get("kms_key")
            .map(|k| deps.value(k))
            .unwrap_or(Value::Null),
    );
    spec.insert("encrypted".into(), Value::Bool(true));
    spec.insert(
        "allow_send_from".into(),
        Value::List(senders.iter().map(Value::str).collect()),
    );
    spec.insert("deny_insecure_transport".into(), Value::Bool(true));
    if let Some(t) = state.borrow().tags(o.get("tags"), &mut deps) {
        spec.insert("tags".into(), t);
    }
    declare(state, ctx, addr.clone(), spec, deps)?;
    Ok(addr)
}

// Live state ------------------------------------------------------------------

fn client(cloud: &Cloud) -> Client {
    cloud.client(|conf, counter| {
        Client::from_conf(
            aws_sdk_sqs::config::Builder::from(conf)
                .interceptor(counter)
                .build(),
        )
    })
}

/// The statement ids of the queue policy Blueprint writes.
const SEND_SID: &str = "AllowSendFromServices";
const TLS_SID: &str = "DenyInsecureTransport";

/// The queue policy the spec asks for, once the queue's ARN is known.
fn policy(arn: &str, senders: &[String]) -> String {
    let mut statements = vec![serde_json::json!({
        "Sid": TLS_SID,
        "Effect": "Deny",
        "Principal": "*",
        "Action": "sqs:*",
        "Resource": arn,
        "Condition": { "Bool": { "aws:SecureTransport": "false" } },
    })];
    if !senders.is_empty() {
        statements.insert(
            0,
            serde_json::json!({
                "Sid": SEND_SID,
                "Effect": "Allow",
                "Principal": { "Service": senders },
                "Action": "sqs:SendMessage",
                "Resource": arn,
            }),
        );
    }
    serde_json::json!({ "Version": "2012-10-17", "Statement": statements }).to_string()
}

/// What a live policy allows and refuses, in the spec's terms: the
/// services allowed to send, and whether plain HTTP is refused.
fn read_policy(doc: Option<&str>) -> (Vec<String>, bool) {
    let doc: serde_json::Value = doc
        .and_then(|d| serde_json::from_str(d).ok())
        .unwrap_or_default();
    let statements = match &doc["Statement"] {
        serde_json::Value::Array(a) => a.clone(),
        s @ serde_json::Value::Object(_) => vec![s.clone()],
        _ => Vec::new(),
    };
    let mut senders = Vec::new();
    let mut tls = false;
    for s in &statements {
        let sid = s["Sid"].as_str().unwrap_or_default();
        if sid == SEND_SID && s["Effect"] == "Allow" {
            match &s["Principal"]["Service"] {
                serde_json::Value::String(one) => senders.push(one.clone()),
                serde_json::Value::Array(many) => {
                    senders.extend(many.iter().filter_map(|v| v.as_str().map(String::from)))
                }
                _ => {}
            }
        }
        if sid == TLS_SID
            && s["Effect"] == "Deny"
            && s["Condition"]["Bool"]["aws:SecureTransport"] == "false"
        {
            tls = true;
        }
    }
    senders.sort();
    senders.dedup();
    (senders, tls)
}

fn live_of(
    address: Address,
    url: &str,
    attrs: &HashMap<Attr, String>,
    tags: Option<Value>,
) -> Live {
    let get = |a: Attr| attrs.get(&a).map(String::as_str);
    let int = |a: Attr| {
        get(a)
            .and_then(|v| v.parse::<i64>().ok())
            .map(Value::Int)
            .unwrap_or(Value::Null)
    };
    let arn = get(Attr::QueueArn).unwrap_or_default();
    let name = arn.rsplit(':').next().unwrap_or_default().to_string();
    let kms = get(Attr::KmsMasterKeyId).filter(|k| !k.is_empty());
    let (senders, tls) = read_policy(get(Attr::Policy));
    let mut l = Live::new(address, url)
        .attr("name", Value::str(&name))
        .attr("retention_seconds", int(Attr::MessageRetentionPeriod))
        .attr("visibility_timeout_seconds", int(Attr::VisibilityTimeout))
        .attr("kms_key", kms.map(Value::str).unwrap_or(Value::Null))
        .attr(
            "encrypted",
            Value::Bool(kms.is_some() || get(Attr::SqsManagedSseEnabled) == Some("true")),
        )
        .attr(
            "allow_send_from",
            Value::List(senders.iter().map(Value::str).collect()),
        )
        .attr("deny_insecure_transport", Value::Bool(tls))
        .output("name", &name)
        .output("arn", arn)
        .output("url", url);
    if let Some(t) = tags {
        l.attrs.insert("tags".into(), t);
    }
    l
}

async fn attributes(sqs: &Client, url: &str) -> Result<HashMap<Attr, String>, ProviderError> {
    sqs.get_queue_attributes()
        .queue_url(url)
        .attribute_names(Attr::All)
        .send()
        .await
        .map(|o| o.attributes().cloned().unwrap_or_default())
        .map_err(ProviderError::api("GetQueueAttributes"))
}

/// Every queue's URL in the region, by name (one paginated call).
async fn urls(sqs: &Client) -> Result<HashMap<String, String>, ProviderError> {
    let pages = sqs
        .list_queues()
        .max_results(1000)
        .into_paginator()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .map_err(ProviderError::api("ListQueues"))?;
    Ok(pages
        .iter()
        .flat_map(|p| p.queue_urls().iter())
        .map(|u| {
            (
                u.rsplit('/').next().unwrap_or_default().to_string(),
                u.clone(),
            )
        })
        .collect())
}

/// Owned queues: the tagged-resources call finds them, the queue list
/// gives their URLs, then each one's attributes are read in parallel.
pub async fn read(cloud: &Cloud) -> Result<Vec<Live>, ProviderError> {
    let sqs = client(cloud);
    let (owned, urls) = tokio::join!(tagging::owned(cloud, "sqs"), urls(&sqs));
    let (owned, urls) = (owned?, urls?);
    let found = owned.into_iter().filter_map(|t| {
        let name = t.arn.rsplit(':').next()?.to_string();
        Some((t, urls.get(&name)?.clone()))
    });
    let reads = found.map(|(t, url)| {
        let sqs = sqs.clone();
        async move {
            let attrs = ProviderError::absent_ok(attributes(&sqs, &url).await)?;
            Ok::<_, ProviderError>(
                attrs.map(|a| live_of(t.address, &url, &a, Some(Value::Map(t.tags)))),
            )
        }
    });
    let lives = futures::future::join_all(reads).await;
    lives.into_iter().filter_map(Result::transpose).collect()
}

/// The queue at `url` as it is now, when this blueprint owns it.
async fn settled(cloud: &Cloud, sqs: &Client, url: &str) -> Result<Option<Live>, ProviderError> {
    let attrs = attributes(sqs, url).await?;
    let tags = sqs
        .list_queue_tags()
        .queue_url(url)
        .send()
        .await
        .map_err(ProviderError::api("ListQueueTags"))?;
    let tags = tags.tags().cloned().unwrap_or_default();
    let Some(owned) = cloud.owned(
        tags.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        crate::providers::NameTag::IsATag,
    ) else {
        return Ok(None);
    };
    let user = owned.user_tags();
    Ok(Some(live_of(owned.address, url, &attrs, user)))
}

/// The attributes the spec sets, but the policy (which needs the ARN).
fn set_attributes(r: &Planned) -> Result<HashMap<Attr, String>, ProviderError> {
    let int = |k: &str| -> Result<String, ProviderError> {
        Ok(r.get(k)?
            .and_then(Value::as_int)
            .map(|v| v.to_string())
            .unwrap_or_default())
    };
    let mut a = HashMap::from([
        (Attr::MessageRetentionPeriod, int("retention_seconds")?),
        (Attr::VisibilityTimeout, int("visibility_timeout_seconds")?),
    ]);
    match r.get("kms_key")?.and_then(Value::as_str) {
        Some(key) => {
            a.insert(Attr::KmsMasterKeyId, key.to_string());
            a.insert(Attr::SqsManagedSseEnabled, "false".into());
        }
        None => {
            a.insert(Attr::KmsMasterKeyId, String::new());
            a.insert(Attr::SqsManagedSseEnabled, "true".into());
        }
    }
    Ok(a)
}

fn senders(r: &Planned) -> Result<Vec<String>, ProviderError> {
    Ok(r.get("allow_send_from")?
        .and_then(Value::as_list)
        .unwrap_or_default()
        .iter()
        .filter_map(Value::as_str)
        .map(String::from)
        .collect())
}

async fn set_policy(sqs: &Client, url: &str, arn: &str, r: &Planned) -> Result<(), ProviderError> {
    sqs.set_queue_attributes()
        .queue_url(url)
        .attributes(Attr::Policy, policy(arn, &senders(r)?))
        .send()
        .await
        .done("SetQueueAttributes")
}

pub async fn create(cloud: &Cloud, r: &Planned) -> Result<Live, ProviderError> {
    let sqs = client(cloud);
    let name = r.str("name")?;
    // CreateQueue answers with a queue that exists already when its
    // attributes match, and may tag it: one of that name is looked at
    // first, and taken over with `bp adopt` only, never here.
    let found = sqs
        .get_queue_url()
        .queue_name(name)
        .send()
        .await
        .map_err(ProviderError::api("GetQueueUrl"));
    if let Some(found) = ProviderError::absent_ok(found)? {
        let url = found.queue_url().unwrap_or_default();
        if settled(cloud, &sqs, url).await?.is_none() {
            return Err(ProviderError::Unsupported(format!(
                "queue {name} exists and is not this blueprint's"
            )));
        }
    }
    let mut attrs = set_attributes(r)?;
    // An empty key id is how an update drops the key; a create leaves it out.
    attrs.retain(|_, v| !v.is_empty());
    let url = sqs
        .create_queue()
        .queue_name(name)
        .set_attributes(Some(attrs))
        .set_tags(Some(
            cloud.tags_for(&r.address, &r.spec).into_iter().collect(),
        ))
        .send()
        .await
        .map_err(ProviderError::api("CreateQueue"))
        .map_err(|e| {
            // One of this blueprint's would have been found by the plan
            // (queues are tagged at creation).
            if e.is_already_exists() {
                ProviderError::Unsupported(format!(
                    "queue {name} exists and is not this blueprint's"
                ))
            } else {
                e
            }
        })?
        .queue_url()
        .unwrap_or_default()
        .to_string();
    let Some(made) = settled(cloud, &sqs, &url).await? else {
        return Err(ProviderError::Unsupported(format!(
            "queue {name} exists and is not this blueprint's"
        )));
    };
    let arn = made.outputs.get("arn").cloned().unwrap_or_default();
    set_policy(&sqs, &url, &arn, r).await?;
    settled(cloud, &sqs, &url).await?.ok_or_else(|| {
        ProviderError::Unexpected(format!("{}: queue {name} lost its tags", r.address))
    })
}

pub async fn update(
    cloud: &Cloud,
    r: &Planned,
    live: &Live,
    fields: &[FieldDiff],
) -> Result<Live, ProviderError> {
    let sqs = client(cloud);
    let url = live.id.as_str();
    let arn = live.outputs.get("arn").cloned().unwrap_or_default();
    // One call with the policy always in it: moto drops a queue's policy
    // on any SetQueueAttributes that leaves it out (SQS keeps it).
    if [
        "retention_seconds",
        "visibility_timeout_seconds",
        "kms_key",
        "encrypted",
        "allow_send_from",
        "deny_insecure_transport",
    ]
    .iter()
    .any(|f| touches(fields, f))
    {
        let mut attrs = set_attributes(r)?;
        attrs.insert(Attr::Policy, policy(&arn, &senders(r)?));
        sqs.set_queue_attributes()
            .queue_url(url)
            .set_attributes(Some(attrs))
            .send()
            .await
            .done("SetQueueAttributes")?;
    }
    if touches(fields, "tags") {
        let stale = crate::providers::stale_tag_keys(r, live);
        if !stale.is_empty() {
            sqs.untag_queue()
                .queue_url(url)
                .set_tag_keys(Some(stale))
                .send()
                .await
                .done("UntagQueue")?;
        }
        sqs.tag_queue()
            .queue_url(url)
            .set_tags(Some(
                cloud.tags_for(&r.address, &r.spec).into_iter().collect(),
            ))
            .send()
            .await
            .done("TagQueue")?;
    }
    settled(cloud, &sqs, url).await?.ok_or_else(|| {
        ProviderError::Unexpected(format!("{}: queue {url} lost its tags", r.address))
    })
}

pub async fn delete(cloud: &Cloud, live: &Live) -> Result<(), ProviderError> {
    client(cloud)
        .delete_queue()
        .queue_url(&live.id)
        .send()
        .await
        .gone("DeleteQueue")
}

/// Every queue in the region, owned or not, for `:live`.
pub async fn list(cloud: &Cloud) -> Result<Vec<Row>, ProviderError> {
    let sqs = client(cloud);
    let mut rows = Vec::new();
    for (name, url) in urls(&sqs).await? {
        let tags = sqs
            .list_queue_tags()
            .queue_url(&url)
            .send()
            .await
            .map_err(ProviderError::api("ListQueueTags"))?
            .tags()
            .cloned()
            .unwrap_or_default();
        rows.push(Row::new(&name, &url, "standard queue").owner(|k| tags.get(k).cloned()));
    }
    rows.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_written_is_read_back_as_the_spec_says() {
        let arn = "arn:aws:sqs:us-east-1:123456789012:q";
        let senders = vec![
            "events.amazonaws.com".to_string(),
            "sqs.amazonaws.com".into(),
        ];
        assert_eq!(read_policy(Some(&policy(arn, &senders))), (senders, true));
        assert_eq!(read_policy(Some(&policy(arn, &[]))), (vec![], true));
        assert_eq!(read_policy(None), (vec![], false));
        // Someone's own statement: not ours, so nothing is allowed or refused.
        let theirs = r#"{"Statement":{"Sid":"x","Effect":"Allow","Principal":{"Service":"sns.amazonaws.com"},"Action":"sqs:SendMessage","Resource":"*"}}"#;
        assert_eq!(read_policy(Some(theirs)), (vec![], false));
    }
}
