//! Outputs shared between blueprints: `output(key, value, #{ description? })`
//! publishes a value (an id, a list of subnet ids, a map) to SSM Parameter
//! Store as `/blueprint/<name>/outputs/<key>`, a String parameter holding
//! the value as JSON, tagged with its owner at creation. `bp output FILE`
//! reads them, and another blueprint reads them at plan time with
//! `blueprint_outputs(name)` (see [`usage`]), which also records it as a
//! reader on each parameter it reads. Deleting an output someone reads is
//! refused unless asked for (`--ignore-readers`): see [`readers`].
//!
//! Outputs are plain text: an output that would hold a secret, or one
//! declared `sensitive: true`, is an error at `bp check`.

pub mod usage;

use crate::cost::Pricing;
use crate::kinds::{Field, KindDef};
use crate::model::names::NameRule;
use crate::model::schema::Schema;
use crate::model::{Address, Kind, Live, Map, Problem, Value};
use crate::plan::{touches, FieldDiff};
use crate::providers::AwsResult as _;
use crate::providers::{Cloud, Planned, ProviderError, Row};
use crate::script::api::name_arg;
use crate::script::schema::{opt, FnDoc, Opt, Ty};
use crate::script::state::{check_name, declare, fail, Deps, Fallible, Opts, Shared};
use crate::{handle, ops};
use aws_sdk_ssm::types::{Parameter, ParameterType, ResourceTypeForTagging, Tag};
use aws_sdk_ssm::Client;
use rhai::{Dynamic, Engine, NativeCallContext};

crate::handle_type!(OutputHandle);

pub const KIND: Kind = Kind::of(&SCHEMA);

pub static SCHEMA: Schema = Schema::new("output", "Output", FIELDS).names(NameRule::chars(
    1,
    128,
    key_char,
    "letters, digits, `_`, `-` and `.`",
));

/// The IAM actions of its operations (`bp permissions`).
pub const IAM: crate::permissions::Iam = crate::permissions::Iam::reads(&[
    "ssm:GetParametersByPath",
    "ssm:DescribeParameters",
    "ssm:ListTagsForResource",
])
.create(&["ssm:PutParameter", "ssm:AddTagsToResource"])
.update(&[
    "ssm:PutParameter",
    "ssm:AddTagsToResource",
    "ssm:RemoveTagsFromResource",
])
.delete(&["ssm:DeleteParameter"])
.arns(&["arn:aws:ssm:{region}:{account}:parameter/blueprint/{blueprint}/outputs/{name}"])
.owned(&["arn:aws:ssm:{region}:{account}:parameter/blueprint/{blueprint}/outputs/*"]);

pub static DEF: KindDef = KindDef::new(
    KIND,
    Pricing::Free,
    handle!(OutputHandle; FUNCTIONS, register; ["address"]),
    ops!(own),
)
.adopt(crate::kinds::Adopt::No(
    "an output lives under the blueprint's own path (/blueprint/<name>/outputs/): declare it and apply",
))
.read_by(crate::boxed!(read_by readers))
.iam(IAM)
.tagged_as("ssm:parameter");

const FIELDS: &[Field] = &[Field::new("value"), Field::new("description")];

fn key_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')
}

/// SSM's standard parameters hold at most 4 KB.
const MAX_BYTES: usize = 4096;

/// The tag a reading blueprint leaves on each output it reads.
pub const READER_TAG: &str = "blueprint:reader:";

const OPTIONS: &[Opt] = &[
    opt(
        "description",
        Ty::Str,
        "what the value is, for the readers (shown by bp output)",
    ),
    opt(
        "sensitive",
        Ty::Bool,
        "refused: outputs are plain-text parameters that any reader can see",
    ),
];

const FUNCTIONS: &[FnDoc] = &[
    FnDoc {
        name: "output",
        signature: "output(key, value, #{ description? })",
        doc: "Publishes a value (a string, number, list or map, which may hold ids known after apply) for other blueprints and `bp output`: the SSM parameter /blueprint/<name>/outputs/<key>, as JSON. Never a secret.",
        options: OPTIONS,
        method_of: None,
    },
    FnDoc {
        name: "blueprint_outputs",
        signature: "blueprint_outputs(name) / blueprint_outputs(name, #{ provider }) -> Outputs",
        doc: "The outputs another blueprint published in this account and region (or in a provider instance's), read at plan time (`o.vpc_id` or `o[\"vpc_id\"]`, `o.keys()`); placeholders in bp check. Applying records this blueprint as their reader, so that destroying the other one is refused while this one reads them.",
        options: usage::OPTIONS,
        method_of: None,
    },
];

fn register(engine: &mut Engine, state: &Shared) {
    OutputHandle::register_type(engine);
    let s = state.clone();
    engine.register_fn(
        "output",
        move |ctx: NativeCallContext, key: Dynamic, value: Dynamic| {
            output(&s, &ctx, &key, &value, &rhai::Map::new())
        },
    );
    let s = state.clone();
    engine.register_fn(
        "output",
        move |ctx: NativeCallContext, key: Dynamic, value: Dynamic, opts: Dynamic| {
            let map = crate::script::api::opts_arg(&ctx, "output", &opts, OPTIONS)?;
            output(&s, &ctx, &key, &value, &map)
        },
    );
    usage::register(engine, state);
}

fn output(
    state: &Shared,
    ctx: &NativeCallContext,
    key: &Dynamic,
    value: &Dynamic,
    map: &rhai::Map,
) -> Fallible<OutputHandle> {
    let key = name_arg(ctx, "output", key)?;
    let addr = Address::new(KIND, key.as_str());
    check_name(ctx, KIND, &key)?;
    let o = Opts(map);
    if o.bool_or("sensitive", false) {
        return Err(fail(
            ctx,
            Problem::new(format!(
                "output \"{key}\" is declared sensitive, but outputs are published in plain text"
            ))
            .hint("an output is an SSM String parameter every reader sees; share a secret through a SOPS file or Secrets Manager instead"),
        ));
    }
    let mut deps = Deps::default();
    let value = deps.value(value);
    if value.is_sensitive() {
        return Err(fail(
            ctx,
            Problem::new(format!(
                "output \"{key}\" would publish a secret in plain text"
            ))
            .hint("outputs are SSM String parameters every reader sees; leave the secret out, or share it through a SOPS file"),
        ));
    }
    if value.refs().is_empty() {
        let bytes = value.to_json().to_string().len();
        if bytes > MAX_BYTES {
            return Err(fail(
                ctx,
                Problem::new(format!(
                    "output \"{key}\" is {bytes} bytes as JSON, more than SSM's {MAX_BYTES}"
                ))
                .hint("split it into several outputs"),
            ));
        }
    }
    let mut spec = Map::new();
    spec.insert("value".into(), value);
    spec.insert(
        "description".into(),
        o.str("description").map(Value::Str).unwrap_or(Value::Null),
    );
    declare(state, ctx, addr.clone(), spec, deps)?;
    Ok(OutputHandle(addr))
}

// Live state ------------------------------------------------------------------

pub(crate) fn client(cloud: &Cloud) -> Client {
    cloud.client(|conf, counter| {
        Client::from_conf(
            aws_sdk_ssm::config::Builder::from(conf)
                .interceptor(counter)
                .build(),
        )
    })
}

/// Where blueprint `name` publishes its outputs.
pub fn path_of(blueprint: &str) -> String {
    format!("/blueprint/{blueprint}/outputs/")
}

/// The parameters under `path` (one paginated call), or below it.
pub(crate) async fn parameters(
    ssm: &Client,
    path: &str,
    recursive: bool,
) -> Result<Vec<Parameter>, ProviderError> {
    Ok(ssm
        .get_parameters_by_path()
        .path(path.trim_end_matches('/'))
        .recursive(recursive)
        .into_paginator()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .map_err(ProviderError::api("GetParametersByPath"))?
        .iter()
        .flat_map(|page| page.parameters().iter().cloned())
        .collect())
}

/// The key of a parameter under `path` and its value as published.
pub(crate) fn decoded(path: &str, p: &Parameter) -> Option<(String, Value)> {
    let key = p.name()?.strip_prefix(path)?;
    let json = serde_json::from_str(p.value().unwrap_or("null")).ok()?;
    Some((key.to_string(), Value::from_json(&json).ok()?))
}

/// One output as published, for `bp output`.
pub struct Published {
    pub key: String,
    pub value: Value,
    pub description: Option<String>,
}

/// The outputs blueprint `name` has published, in key order, with their
/// descriptions.
pub async fn outputs_of(cloud: &Cloud, blueprint: &str) -> Result<Vec<Published>, ProviderError> {
    let mut out: Vec<Published> = described_parameters(cloud, blueprint)
        .await?
        .into_iter()
        .map(|(_, key, value, description)| Published {
            key,
            value,
            description,
        })
        .collect();
    out.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(out)
}

/// The parameters blueprint `name` published, each with its key, its
/// value and its description: one paginated call, and one more for the
/// descriptions where there are any (a blueprint with no outputs costs a
/// plan one request).
async fn described_parameters(
    cloud: &Cloud,
    blueprint: &str,
) -> Result<Vec<(Parameter, String, Value, Option<String>)>, ProviderError> {
    let ssm = client(cloud);
    let path = path_of(blueprint);
    let found = parameters(&ssm, &path, false).await?;
    if found.is_empty() {
        return Ok(Vec::new());
    }
    let described = descriptions(&ssm, &path).await?;
    Ok(found
        .into_iter()
        .filter_map(|p| {
            let (key, value) = decoded(&path, &p)?;
            let description = described.get(p.name()?).cloned();
            Some((p, key, value, description))
        })
        .collect())
}

/// The outputs blueprint `name` has published, by key.
pub async fn published(
    ssm: &Client,
    blueprint: &str,
) -> Result<std::collections::BTreeMap<String, Value>, ProviderError> {
    let path = path_of(blueprint);
    Ok(parameters(ssm, &path, false)
        .await?
        .iter()
        .filter_map(|p| decoded(&path, p))
        .collect())
}

/// The descriptions of the parameters under `path`, by name (one paginated
/// call: GetParametersByPath leaves them out).
pub(crate) async fn descriptions(
    ssm: &Client,
    path: &str,
) -> Result<std::collections::BTreeMap<String, String>, ProviderError> {
    Ok(
        described(ssm, "Path", "OneLevel", path.trim_end_matches('/'))
            .await?
            .iter()
            .filter_map(|m| Some((m.name()?.to_string(), m.description()?.to_string())))
            .collect(),
    )
}

/// The parameters DescribeParameters finds with one filter (one paginated
/// call): `key` is `Path`, `tag:<key>`, ...
pub(crate) async fn described(
    ssm: &Client,
    key: &str,
    option: &str,
    value: &str,
) -> Result<Vec<aws_sdk_ssm::types::ParameterMetadata>, ProviderError> {
    let filter = aws_sdk_ssm::types::ParameterStringFilter::builder()
        .key(key)
        .option(option)
        .values(value)
        .build()
        .map_err(|e| ProviderError::Unexpected(e.to_string()))?;
    Ok(ssm
        .describe_parameters()
        .parameter_filters(filter)
        .into_paginator()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .map_err(ProviderError::api("DescribeParameters"))?
        .into_iter()
        .flat_map(|page| page.parameters.unwrap_or_default())
        .collect())
}

/// The blueprint's outputs. Everything under its path is its own: the path
/// holds its name, and each parameter was tagged with it at creation.
pub async fn read(cloud: &Cloud) -> Result<Vec<Live>, ProviderError> {
    Ok(described_parameters(cloud, &cloud.blueprint)
        .await?
        .into_iter()
        .filter_map(|(p, key, value, description)| {
            let name = p.name()?;
            Some(
                Live::new(Address::new(KIND, key.as_str()), name)
                    .attr("value", value)
                    .attr("description", description.map_or(Value::Null, Value::Str))
                    .output("name", name)
                    .output("arn", p.arn().unwrap_or_default()),
            )
        })
        .collect())
}

/// The value as published: JSON, within SSM's size.
fn published_value(r: &Planned) -> Result<String, ProviderError> {
    let json = r
        .get("value")?
        .cloned()
        .unwrap_or_default()
        .to_json()
        .to_string();
    if json.len() > MAX_BYTES {
        return Err(ProviderError::Spec(format!(
            "{}: the value is {} bytes as JSON, more than SSM's {MAX_BYTES}; split it into several outputs",
            r.address,
            json.len()
        )));
    }
    Ok(json)
}

fn ssm_tags(tags: Vec<(String, String)>) -> Result<Vec<Tag>, ProviderError> {
    tags.into_iter()
        .map(|(k, v)| {
            Tag::builder()
                .key(k)
                .value(v)
                .build()
                .map_err(|e| ProviderError::Unexpected(e.to_string()))
        })
        .collect()
}

/// Writes the parameter: a new one with its ownership tags, or over one an
/// interrupted apply left (under the blueprint's own path, so its own).
async fn put(cloud: &Cloud, r: &Planned, overwrite: bool) -> Result<(), ProviderError> {
    let ssm = client(cloud);
    let name = format!("{}{}", path_of(&cloud.blueprint), r.address.name);
    let send = |overwrite: bool| {
        let mut call = ssm
            .put_parameter()
            .name(&name)
            .r#type(ParameterType::String)
            .value(published_value(r)?)
            .overwrite(overwrite)
            .set_description(
                r.get("description")?
                    .and_then(Value::as_str)
                    .map(String::from),
            );
        if !overwrite {
            call = call.set_tags(Some(ssm_tags(cloud.tags_for(&r.address, &r.spec))?));
        }
        Ok::<_, ProviderError>(call.send())
    };
    let out = send(overwrite)?
        .await
        .map_err(ProviderError::api("PutParameter"));
    match out {
        Err(e) if !overwrite && e.is_already_exists() => {
            send(true)?.await.done("PutParameter")?;
            tag(cloud, &name, cloud.tags_for(&r.address, &r.spec)).await
        }
        other => other.map(|_| ()),
    }
}

pub(crate) async fn tag(
    cloud: &Cloud,
    name: &str,
    tags: Vec<(String, String)>,
) -> Result<(), ProviderError> {
    client(cloud)
        .add_tags_to_resource()
        .resource_type(ResourceTypeForTagging::Parameter)
        .resource_id(name)
        .set_tags(Some(ssm_tags(tags)?))
        .send()
        .await
        .done("AddTagsToResource")
}

pub(crate) async fn untag(
    cloud: &Cloud,
    name: &str,
    keys: Vec<String>,
) -> Result<(), ProviderError> {
    client(cloud)
        .remove_tags_from_resource()
        .resource_type(ResourceTypeForTagging::Parameter)
        .resource_id(name)
        .set_tag_keys(Some(keys))
        .send()
        .await
        .done("RemoveTagsFromResource")
}

/// The tags of a parameter.
pub(crate) async fn tags_of(
    cloud: &Cloud,
    name: &str,
) -> Result<Vec<(String, String)>, ProviderError> {
    Ok(client(cloud)
        .list_tags_for_resource()
        .resource_type(ResourceTypeForTagging::Parameter)
        .resource_id(name)
        .send()
        .await
        .map_err(ProviderError::api("ListTagsForResource"))?
        .tag_list()
        .iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect())
}

/// What exists after a create or an update.
async fn settled(cloud: &Cloud, r: &Planned) -> Result<Live, ProviderError> {
    read(cloud)
        .await?
        .into_iter()
        .find(|l| l.address == r.address)
        .ok_or_else(|| ProviderError::Unexpected(format!("{}: the parameter is gone", r.address)))
}

pub async fn create(cloud: &Cloud, r: &Planned) -> Result<Live, ProviderError> {
    put(cloud, r, false).await?;
    settled(cloud, r).await
}

pub async fn update(
    cloud: &Cloud,
    r: &Planned,
    _live: &Live,
    fields: &[FieldDiff],
) -> Result<Live, ProviderError> {
    if touches(fields, "value") || touches(fields, "description") {
        put(cloud, r, true).await?;
    }
    settled(cloud, r).await
}

pub async fn delete(cloud: &Cloud, live: &Live) -> Result<(), ProviderError> {
    client(cloud)
        .delete_parameter()
        .name(&live.id)
        .send()
        .await
        .gone("DeleteParameter")
}

/// The blueprints that read this output (the reader tags their applies
/// left on it), for the engine to refuse its deletion.
pub async fn readers(cloud: &Cloud, live: &Live) -> Result<Vec<String>, ProviderError> {
    let Some(tags) = ProviderError::absent_ok(tags_of(cloud, &live.id).await)? else {
        return Ok(Vec::new());
    };
    Ok(tags
        .into_iter()
        .filter_map(|(k, _)| k.strip_prefix(READER_TAG).map(String::from))
        .filter(|r| *r != cloud.blueprint)
        .collect())
}

/// Every blueprint's outputs in the region, for `:live`.
pub async fn list(cloud: &Cloud) -> Result<Vec<Row>, ProviderError> {
    let ssm = client(cloud);
    let all = parameters(&ssm, "/blueprint", true).await?;
    Ok(all
        .iter()
        .filter_map(|p| {
            let name = p.name()?;
            let rest = name.strip_prefix("/blueprint/")?;
            let (blueprint, key) = rest.split_once("/outputs/")?;
            Some(
                Row::new(name, key, p.value().unwrap_or_default()).owner(|k| match k {
                    crate::providers::TAG_NAME => Some(blueprint.to_string()),
                    crate::providers::TAG_ADDRESS => Some(format!("output.{key}")),
                    _ => None,
                }),
            )
        })
        .collect())
}
