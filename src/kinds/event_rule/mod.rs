//! EventBridge rules on the default event bus: `event_rule(name, #{
//! pattern, target, description?, enabled?, tags? })` sends the events
//! matching `pattern` to one SQS queue, as Karpenter's interruption
//! handling needs. The pattern, target, description and state change in
//! place; the name cannot. A queue declared here must let
//! `events.amazonaws.com` send to it, or EventBridge drops the events:
//! `bp check` says so.
//!
//! A plan lists the rules (one paginated call), reads each rule's tags in
//! parallel (neither ListRules nor the emulator's tagging API filters
//! rules by tag), then the targets of the owned ones.

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
use crate::script::schema::{def, opt, req, FnDoc, Opt, Ty, TAGS_OPT};
use crate::script::state::{check_tags, declare, fail, Deps, Fallible, Opts, Shared};
use crate::{handle, ops};
use aws_sdk_eventbridge::types::{Rule, RuleState, Tag, Target};
use aws_sdk_eventbridge::Client;
use rhai::{Dynamic, Engine, NativeCallContext};

crate::handle_type!(EventRule);

pub const KIND: Kind = Kind::of(&SCHEMA);

pub static SCHEMA: Schema = Schema::new("event_rule", "EventRule", FIELDS)
    .attr("arn")
    .names(NameRule::chars(
        1,
        64,
        name_char,
        "letters, digits, `.`, `-` and `_`",
    ));

/// The IAM actions of its operations (`bp permissions`).
pub const IAM: crate::permissions::Iam = crate::permissions::Iam::reads(&[
    "events:ListRules",
    "events:ListTagsForResource",
    "events:ListTargetsByRule",
])
.create(&[
    "events:DescribeRule",
    "events:PutRule",
    "events:TagResource",
    "events:PutTargets",
])
.update(&[
    "events:PutRule",
    "events:PutTargets",
    "events:RemoveTargets",
    "events:TagResource",
    "events:UntagResource",
])
.delete(&["events:RemoveTargets", "events:DeleteRule"])
.arns(&["arn:aws:events:{region}:{account}:rule/{name}"]);

pub static DEF: KindDef = KindDef::new(
    KIND,
    // Billed per event delivered, which the blueprint does not say; rules
    // of AWS services' events on the default bus cost nothing.
    Pricing::Free,
    handle!(EventRule; FUNCTIONS, register; ["address", "arn", "name"]),
    ops!(own),
)
.iam(IAM);

const FIELDS: &[Field] = &[
    Field::new("name").replaces("a rule cannot be renamed"),
    Field::new("pattern"),
    Field::new("target").refers(),
    Field::new("description"),
    Field::new("enabled"),
    TAGS,
];

fn name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')
}

const OPTIONS: &[Opt] = &[
    req(
        "pattern",
        Ty::AnyMap,
        "the event pattern: #{ source: [\"aws.ec2\"], \"detail-type\": [...] }",
    ),
    req(
        "target",
        Ty::Handle(crate::kinds::sqs_queue::KIND),
        "the SQS queue the events go to",
    ),
    opt("description", Ty::Str, "what the rule is for"),
    def("enabled", Ty::Bool, "true", "whether the rule sends events"),
    TAGS_OPT,
    crate::script::api::providers::PROVIDER_OPT,
];

const FUNCTIONS: &[FnDoc] = &[FnDoc {
    name: "event_rule",
    signature: "event_rule(name, #{ pattern, target, description?, enabled?, tags? }) -> EventRule",
    doc: "An EventBridge rule on the default bus sending matching events to an SQS queue.",
    options: OPTIONS,
    method_of: None,
}];

fn register(engine: &mut Engine, state: &Shared) {
    EventRule::register_type(engine);
    let s = state.clone();
    engine.register_fn(
        "event_rule",
        move |ctx: NativeCallContext, name: Dynamic, opts: Dynamic| {
            let name = name_arg(&ctx, "event_rule", &name)?;
            let map = opts_arg(&ctx, "event_rule", &opts, OPTIONS)?;
            event_rule(&s, &ctx, &name, &map).map(EventRule)
        },
    );
    engine.register_get("name", |r: &mut EventRule| {
        Output::attr(&r.0, "name", Some(r.0.name.clone()))
    });
    engine.register_get("arn", |r: &mut EventRule| Output::attr(&r.0, "arn", None));
}

/// The service that must be let send to a rule's queue.
const EVENTS: &str = "events.amazonaws.com";

/// Declares the rule `name`; its address.
pub fn event_rule(
    state: &Shared,
    ctx: &NativeCallContext,
    name: &str,
    map: &rhai::Map,
) -> Fallible<Address> {
    let o = Opts(map);
    let addr = Address::new(KIND, name).in_provider(o.provider());
    crate::script::state::check_name(ctx, KIND, name)?;
    check_tags(ctx, o.get("tags"))?;
    let mut deps = Deps::default();
    let pattern = o.get("pattern").map(|p| deps.value(p)).unwrap_or_default();
    if pattern.as_map().is_none_or(|m| m.is_empty()) {
        return Err(fail(
            ctx,
            Problem::new(format!("event_rule \"{name}\": its pattern is empty"))
                .hint("match at least a source: #{ source: [\"aws.ec2\"] }"),
        ));
    }
    let queue = o.address("target").expect("checked by the schema");
    let lets_events_in = state.borrow().graph.get(&queue).map(|q| {
        q.spec
            .get("allow_send_from")
            .and_then(Value::as_list)
            .unwrap_or_default()
            .iter()
            .any(|s| s.as_str() == Some(EVENTS))
    });
    if lets_events_in == Some(false) {
        return Err(fail(
            ctx,
            Problem::new(format!(
                "event_rule \"{name}\": its target {queue} does not let {EVENTS} send to it, so EventBridge would drop every event"
            ))
            .hint(format!("declare the queue with allow_send_from: [\"{EVENTS}\"]")),
        ));
    }
    let mut spec = Map::new();
    spec.insert("name".into(), Value::str(name));
    spec.insert("pattern".into(), pattern);
    spec.insert(
        "target".into(),
        o.get("target").map(|t| deps.value(t)).unwrap_or_default(),
    );
    spec.insert(
        "description".into(),
        o.str("description").map(Value::Str).unwrap_or(Value::Null),
    );
    spec.insert("enabled".into(), Value::Bool(o.bool_or("enabled", true)));
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
            aws_sdk_eventbridge::config::Builder::from(conf)
                .interceptor(counter)
                .build(),
        )
    })
}

/// Every rule on the default bus, page by page.
async fn rules(events: &Client, prefix: Option<&str>) -> Result<Vec<Rule>, ProviderError> {
    let mut all = Vec::new();
    let mut token = None;
    loop {
        let page = events
            .list_rules()
            .set_name_prefix(prefix.map(String::from))
            .set_next_token(token)
            .send()
            .await
            .map_err(ProviderError::api("ListRules"))?;
        all.extend(page.rules().iter().cloned());
        token = page.next_token().map(String::from);
        if token.is_none() {
            return Ok(all);
        }
    }
}

async fn tags_of(events: &Client, arn: &str) -> Result<Vec<(String, String)>, ProviderError> {
    Ok(events
        .list_tags_for_resource()
        .resource_arn(arn)
        .send()
        .await
        .map_err(ProviderError::api("ListTagsForResource"))?
        .tags()
        .iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect())
}

async fn target_of(events: &Client, name: &str) -> Result<Option<String>, ProviderError> {
    Ok(events
        .list_targets_by_rule()
        .rule(name)
        .send()
        .await
        .map_err(ProviderError::api("ListTargetsByRule"))?
        .targets()
        .first()
        .map(|t| t.arn().to_string()))
}

/// A rule's pattern as a value, so that key order and spacing do not count.
fn pattern_value(json: Option<&str>) -> Value {
    json.and_then(|j| serde_json::from_str::<serde_json::Value>(j).ok())
        .and_then(|j| Value::from_json(&j).ok())
        .unwrap_or(Value::Null)
}

/// The rule as the spec sees it, when this blueprint owns it.
async fn live_of(
    cloud: &Cloud,
    events: &Client,
    rule: &Rule,
    tags: &[(String, String)],
) -> Result<Option<Live>, ProviderError> {
    let pairs = tags.iter().map(|(k, v)| (k.as_str(), v.as_str()));
    let Some(owned) = cloud.owned(pairs, NameTag::IsATag) else {
        return Ok(None);
    };
    let name = rule.name().unwrap_or_default();
    let target = target_of(events, name).await?;
    let mut l = Live::new(owned.address.clone(), name)
        .attr("name", Value::str(name))
        .attr("pattern", pattern_value(rule.event_pattern()))
        .attr("target", target.map(Value::Str).unwrap_or(Value::Null))
        .attr(
            "description",
            rule.description()
                .filter(|d| !d.is_empty())
                .map(Value::str)
                .unwrap_or(Value::Null),
        )
        .attr(
            "enabled",
            Value::Bool(rule.state() == Some(&RuleState::Enabled)),
        )
        .output("name", name)
        .output("arn", rule.arn().unwrap_or_default());
    if let Some(t) = owned.user_tags() {
        l.attrs.insert("tags".into(), t);
    }
    Ok(Some(l))
}

/// Every rule with its tags: one paginated list, then each rule's tags in
/// parallel.
async fn tagged_rules(
    events: &Client,
) -> Result<Vec<(Rule, Vec<(String, String)>)>, ProviderError> {
    let all = rules(events, None).await?;
    let tags = futures::future::join_all(
        all.iter()
            .map(|r| tags_of(events, r.arn().unwrap_or_default())),
    )
    .await;
    all.into_iter()
        .zip(tags)
        .map(|(r, t)| Ok((r, t?)))
        .collect()
}

pub async fn read(cloud: &Cloud) -> Result<Vec<Live>, ProviderError> {
    let events = client(cloud);
    let tagged = tagged_rules(&events).await?;
    let lives =
        futures::future::join_all(tagged.iter().map(|(r, t)| live_of(cloud, &events, r, t))).await;
    lives.into_iter().filter_map(Result::transpose).collect()
}

/// The rule named `name`, if it exists.
async fn find(events: &Client, name: &str) -> Result<Option<Rule>, ProviderError> {
    Ok(rules(events, Some(name))
        .await?
        .into_iter()
        .find(|r| r.name() == Some(name)))
}

async fn settled(cloud: &Cloud, events: &Client, r: &Planned) -> Result<Live, ProviderError> {
    let name = r.str("name")?;
    let rule = find(events, name)
        .await?
        .ok_or_else(|| ProviderError::Unexpected(format!("{}: rule {name} is gone", r.address)))?;
    let tags = tags_of(events, rule.arn().unwrap_or_default()).await?;
    live_of(cloud, events, &rule, &tags).await?.ok_or_else(|| {
        ProviderError::Unexpected(format!("{}: rule {name} lost its tags", r.address))
    })
}

/// Writes the rule's pattern, description and state (a new rule, or an
/// update of one).
async fn put_rule(
    cloud: &Cloud,
    events: &Client,
    r: &Planned,
    tags: bool,
) -> Result<String, ProviderError> {
    let pattern = r
        .get("pattern")?
        .map(|p| p.to_json().to_string())
        .unwrap_or_default();
    let enabled = r.get("enabled")?.and_then(Value::as_bool).unwrap_or(true);
    let tags = tags.then(|| {
        cloud
            .tags_for(&r.address, &r.spec)
            .into_iter()
            .map(|(k, v)| Tag::builder().key(k).value(v).build())
            .collect::<Result<Vec<_>, _>>()
    });
    let tags = tags
        .transpose()
        .map_err(|e| ProviderError::Unexpected(format!("a tag: {e}")))?;
    Ok(events
        .put_rule()
        .name(r.str("name")?)
        .event_pattern(pattern)
        .set_description(
            r.get("description")?
                .and_then(Value::as_str)
                .map(String::from),
        )
        .state(if enabled {
            RuleState::Enabled
        } else {
            RuleState::Disabled
        })
        .set_tags(tags)
        .send()
        .await
        .map_err(ProviderError::api("PutRule"))?
        .rule_arn()
        .unwrap_or_default()
        .to_string())
}

/// Points the rule at its queue (one target, id `queue`).
async fn put_target(events: &Client, r: &Planned) -> Result<(), ProviderError> {
    let arn = r.str("target")?;
    let target = Target::builder()
        .id("queue")
        .arn(arn)
        .build()
        .map_err(|e| ProviderError::Unexpected(format!("a target: {e}")))?;
    let out = events
        .put_targets()
        .rule(r.str("name")?)
        .targets(target)
        .send()
        .await
        .map_err(ProviderError::api("PutTargets"))?;
    if out.failed_entry_count() > 0 {
        let why = out
            .failed_entries()
            .iter()
            .filter_map(|e| e.error_message())
            .collect::<Vec<_>>()
            .join("; ");
        return Err(ProviderError::Unexpected(format!(
            "{}: EventBridge refused its target {arn}: {why}",
            r.address
        )));
    }
    Ok(())
}

pub async fn create(cloud: &Cloud, r: &Planned) -> Result<Live, ProviderError> {
    let events = client(cloud);
    let name = r.str("name")?;
    // PutRule overwrites a rule of the same name: one that exists is
    // written only when it is this blueprint's (an interrupted apply).
    if let Some(rule) = find(&events, name).await? {
        let tags = tags_of(&events, rule.arn().unwrap_or_default()).await?;
        if live_of(cloud, &events, &rule, &tags).await?.is_none() {
            return Err(ProviderError::Unsupported(format!(
                "rule {name} exists and is not this blueprint's"
            )));
        }
    }
    put_rule(cloud, &events, r, true).await?;
    put_target(&events, r).await?;
    settled(cloud, &events, r).await
}

pub async fn update(
    cloud: &Cloud,
    r: &Planned,
    live: &Live,
    fields: &[FieldDiff],
) -> Result<Live, ProviderError> {
    let events = client(cloud);
    if ["pattern", "description", "enabled"]
        .iter()
        .any(|f| touches(fields, f))
    {
        put_rule(cloud, &events, r, false).await?;
    }
    if touches(fields, "target") {
        put_target(&events, r).await?;
    }
    if touches(fields, "tags") {
        let arn = live.outputs.get("arn").cloned().unwrap_or_default();
        let stale = crate::providers::stale_tag_keys(r, live);
        if !stale.is_empty() {
            events
                .untag_resource()
                .resource_arn(&arn)
                .set_tag_keys(Some(stale))
                .send()
                .await
                .done("UntagResource")?;
        }
        let tags = cloud
            .tags_for(&r.address, &r.spec)
            .into_iter()
            .map(|(k, v)| Tag::builder().key(k).value(v).build())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| ProviderError::Unexpected(format!("a tag: {e}")))?;
        events
            .tag_resource()
            .resource_arn(&arn)
            .set_tags(Some(tags))
            .send()
            .await
            .done("TagResource")?;
    }
    settled(cloud, &events, r).await
}

pub async fn delete(cloud: &Cloud, live: &Live) -> Result<(), ProviderError> {
    let events = client(cloud);
    // A rule with targets cannot be deleted.
    events
        .remove_targets()
        .rule(&live.id)
        .ids("queue")
        .send()
        .await
        .gone("RemoveTargets")?;
    events
        .delete_rule()
        .name(&live.id)
        .send()
        .await
        .gone("DeleteRule")
}

/// Every rule on the default bus, owned or not, for `:live`.
pub async fn list(cloud: &Cloud) -> Result<Vec<Row>, ProviderError> {
    let events = client(cloud);
    Ok(tagged_rules(&events)
        .await?
        .into_iter()
        .map(|(r, t)| {
            let name = r.name().unwrap_or_default();
            Row::new(
                name,
                name,
                r.state()
                    .map(|s| s.as_str().to_lowercase())
                    .unwrap_or_default(),
            )
            .owner(|k| t.iter().find(|(tk, _)| tk == k).map(|(_, v)| v.clone()))
        })
        .collect())
}
