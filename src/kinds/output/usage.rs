//! Reading another blueprint's outputs: `blueprint_outputs(name)` reads
//! what blueprint `name` published (at plan time; placeholders in `bp
//! check`) and declares an `output_use.<name>` with the keys the script
//! used. Applying it tags each of those parameters with
//! `blueprint:reader:<this blueprint>`, so that the other blueprint's
//! plan knows its readers and refuses to delete what they read; a key no
//! longer used is untagged, and destroying the reader removes its tags.
//!
//! A plan finds what the blueprint reads with one call, whatever the
//! sources (DescribeParameters filtered by its reader tag): a source it no
//! longer names is pruned like any resource, its tags removed.

use super::{path_of, published, READER_TAG};
use crate::cost::Pricing;
use crate::kinds::{Field, KindDef};
use crate::model::schema::Schema;
use crate::model::{Address, Kind, Live, Map, Problem, Value};
use crate::plan::FieldDiff;
use crate::providers::{Cloud, Planned, ProviderError, Row};
use crate::script::api::facts::read_aws_at;
use crate::script::api::name_arg;
use crate::script::handles::to_dynamic;
use crate::script::state::{declare, fail, Deps, Fallible, Opts, Shared};
use crate::{handle, ops};
use rhai::{Dynamic, Engine, NativeCallContext};
use std::collections::BTreeMap;

crate::handle_type!(OutputUse);

pub const KIND: Kind = Kind::of(&SCHEMA);

pub static SCHEMA: Schema =
    Schema::new("output_use", "OutputUse", FIELDS).names(crate::model::names::NameRule::chars(
        1,
        64,
        |c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'),
        "letters, digits, `-` and `_`",
    ));

/// The IAM actions of its operations (`bp permissions`).
pub const IAM: crate::permissions::Iam =
    crate::permissions::Iam::reads(&["ssm:DescribeParameters"])
        .create(&[
            "ssm:GetParametersByPath",
            "ssm:ListTagsForResource",
            "ssm:AddTagsToResource",
            "ssm:RemoveTagsFromResource",
        ])
        .update(&[
            "ssm:GetParametersByPath",
            "ssm:ListTagsForResource",
            "ssm:AddTagsToResource",
            "ssm:RemoveTagsFromResource",
        ])
        .delete(&[
            "ssm:GetParametersByPath",
            "ssm:ListTagsForResource",
            "ssm:RemoveTagsFromResource",
        ])
        .arns(&["arn:aws:ssm:{region}:{account}:parameter/blueprint/{name}/outputs/*"]);

pub static DEF: KindDef = KindDef::new(
    KIND,
    Pricing::Free,
    handle!(OutputUse),
    ops!(own),
)
.adopt(crate::kinds::Adopt::No(
    "it is the record of reading another blueprint's outputs: apply the blueprint that reads them",
))
.iam(IAM);

const FIELDS: &[Field] = &[Field::new("keys").set()];

/// What `blueprint_outputs(name)` returns: the outputs as read (none in
/// `bp check`: then every key is a placeholder).
#[derive(Clone)]
pub struct Outputs {
    source: String,
    values: Option<BTreeMap<String, Value>>,
    address: Address,
}

pub(super) fn register(engine: &mut Engine, state: &Shared) {
    engine.register_type_with_name::<Outputs>("Outputs");
    engine.register_fn("to_string", |o: &mut Outputs| {
        format!("outputs of {}", o.source)
    });
    engine.register_fn("to_debug", |o: &mut Outputs| {
        format!("Outputs({})", o.source)
    });
    engine.register_fn("keys", |o: &mut Outputs| -> rhai::Array {
        o.values
            .iter()
            .flat_map(|v| v.keys())
            .map(|k| Dynamic::from(k.clone()))
            .collect()
    });
    let s = state.clone();
    engine.register_fn(
        "blueprint_outputs",
        move |ctx: NativeCallContext, name: Dynamic| blueprint_outputs(&s, &ctx, &name, None),
    );
    let s = state.clone();
    engine.register_fn(
        "blueprint_outputs",
        move |ctx: NativeCallContext, name: Dynamic, opts: Dynamic| {
            let map = crate::script::api::opts_arg(&ctx, "blueprint_outputs", &opts, OPTIONS)?;
            blueprint_outputs(&s, &ctx, &name, Opts(&map).provider())
        },
    );
    // `o.vpc_id` falls back to the indexer, so both spellings get here.
    let s = state.clone();
    engine.register_fn(
        "index$get$",
        move |ctx: NativeCallContext, o: &mut Outputs, key: &str| get(&s, &ctx, o, key),
    );
}

/// The options of `blueprint_outputs(name, #{ ... })`.
pub const OPTIONS: &[crate::script::schema::Opt] = &[crate::script::api::providers::PROVIDER_OPT];

fn blueprint_outputs(
    state: &Shared,
    ctx: &NativeCallContext,
    name: &Dynamic,
    provider: Option<String>,
) -> Fallible<Outputs> {
    let name = name_arg(ctx, "blueprint_outputs", name)?;
    crate::model::names::check_blueprint_name(&name).map_err(|p| fail(ctx, p))?;
    // The record of reading is made where the outputs are.
    let address = Address::new(KIND, name.as_str()).in_provider(provider.clone());
    let region = state.borrow().region_of(&address);
    let source = name.clone();
    let at = provider.as_deref();
    let read = read_aws_at(
        state,
        ctx,
        "blueprint_outputs(...)",
        at,
        |conf| async move {
            let ssm = aws_sdk_ssm::Client::new(&conf);
            published(&ssm, &source).await.map_err(|e| {
                Problem::new(format!("blueprint_outputs(...): {e}"))
                    .hint("check the AWS credentials and --endpoint-url of this command")
            })
        },
    )?;
    if let Some(values) = &read {
        if values.is_empty() {
            return Err(fail(
                ctx,
                Problem::new(format!(
                    "blueprint \"{name}\" has published no outputs in {region} (nothing under {})",
                    path_of(&name)
                ))
                .hint(format!(
                    "apply blueprint \"{name}\" first, or check its name and the region (--region) of this command"
                )),
            ));
        }
    }
    let declared = state.borrow().graph.get(&address).is_some();
    if !declared {
        crate::script::state::check_name(ctx, KIND, &name)?;
        let mut spec = Map::new();
        spec.insert("keys".into(), Value::List(Vec::new()));
        declare(state, ctx, address.clone(), spec, Deps::default())?;
    }
    Ok(Outputs {
        source: name,
        values: read,
        address,
    })
}

/// One output, recorded as used.
fn get(state: &Shared, ctx: &NativeCallContext, o: &Outputs, key: &str) -> Fallible<Dynamic> {
    let value = match &o.values {
        None => Dynamic::from(crate::script::api::facts::Pending::output(&o.source, key)),
        Some(values) => match values.get(key) {
            Some(v) => to_dynamic(v),
            None => {
                let known: Vec<&str> = values.keys().map(String::as_str).collect();
                return Err(fail(
                    ctx,
                    Problem::new(format!(
                        "blueprint \"{}\" has no output \"{key}\"",
                        o.source
                    ))
                    .hint(format!("it publishes: {}", known.join(", "))),
                ));
            }
        },
    };
    if let Some(r) = state.borrow_mut().graph.get_mut(&o.address) {
        if let Some(Value::List(keys)) = r.spec.get_mut("keys") {
            if !keys.iter().any(|k| k.as_str() == Some(key)) {
                keys.push(Value::str(key));
                keys.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
            }
        }
    }
    Ok(value)
}

// Live state ------------------------------------------------------------------

/// The tag this blueprint leaves on what it reads.
fn reader_tag(cloud: &Cloud) -> String {
    format!("{READER_TAG}{}", cloud.blueprint)
}

/// Each parameter of `source` with whether this blueprint's tag is on it.
async fn tagged(cloud: &Cloud, source: &str) -> Result<Vec<(String, String, bool)>, ProviderError> {
    let path = path_of(source);
    let params = super::parameters(&super::client(cloud), &path, false).await?;
    let mine = reader_tag(cloud);
    let tags = futures::future::join_all(
        params
            .iter()
            .map(|p| super::tags_of(cloud, p.name().unwrap_or_default())),
    )
    .await;
    let mut out = Vec::new();
    for (p, t) in params.iter().zip(tags) {
        let name = p.name().unwrap_or_default();
        let key = name.strip_prefix(&path).unwrap_or(name);
        out.push((
            name.to_string(),
            key.to_string(),
            t?.iter().any(|(k, _)| *k == mine),
        ));
    }
    Ok(out)
}

fn live_of(source: &str, params: &[(String, String, bool)]) -> Option<Live> {
    let mut keys: Vec<&String> = params
        .iter()
        .filter(|(_, _, mine)| *mine)
        .map(|(_, k, _)| k)
        .collect();
    keys.sort();
    let keys: Vec<Value> = keys.into_iter().map(Value::str).collect();
    (!keys.is_empty()).then(|| {
        Live::new(Address::new(KIND, source), source)
            .attr("keys", Value::List(keys))
            .output("source", source)
    })
}

/// The outputs this blueprint reads, by source: the parameters carrying its
/// reader tag, of every blueprint (one paginated call).
pub async fn read(cloud: &Cloud) -> Result<Vec<Live>, ProviderError> {
    let tag = format!("tag:{}", reader_tag(cloud));
    let names: Vec<String> = super::described(&super::client(cloud), &tag, "Equals", "true")
        .await?
        .iter()
        .filter_map(|p| p.name().map(String::from))
        .collect();
    let mut by_source: BTreeMap<String, Vec<(String, String, bool)>> = BTreeMap::new();
    for name in names {
        let Some((source, key)) = name
            .strip_prefix("/blueprint/")
            .and_then(|rest| rest.split_once("/outputs/"))
        else {
            continue;
        };
        by_source.entry(source.to_string()).or_default().push((
            name.clone(),
            key.to_string(),
            true,
        ));
    }
    Ok(by_source
        .iter()
        .filter_map(|(source, params)| live_of(source, params))
        .collect())
}

/// Tags the wanted keys of `source` and untags the others.
async fn converge(cloud: &Cloud, source: &str, want: &[String]) -> Result<Live, ProviderError> {
    let mine = reader_tag(cloud);
    let params = tagged(cloud, source).await?;
    for want in want {
        if !params.iter().any(|(_, k, _)| k == want) {
            return Err(ProviderError::Spec(format!(
                "blueprint \"{source}\" no longer publishes output \"{want}\""
            )));
        }
    }
    let calls = params.iter().filter_map(|(name, key, tagged)| {
        let wanted = want.contains(key);
        match (wanted, *tagged) {
            (true, false) => Some(futures::future::Either::Left(super::tag(
                cloud,
                name,
                vec![(mine.clone(), "true".into())],
            ))),
            (false, true) => Some(futures::future::Either::Right(super::untag(
                cloud,
                name,
                vec![mine.clone()],
            ))),
            _ => None,
        }
    });
    for r in futures::future::join_all(calls).await {
        r?;
    }
    let params = tagged(cloud, source).await?;
    Ok(live_of(source, &params).unwrap_or_else(|| {
        Live::new(Address::new(KIND, source), source).attr("keys", Value::List(Vec::new()))
    }))
}

pub async fn create(cloud: &Cloud, r: &Planned) -> Result<Live, ProviderError> {
    converge(cloud, &r.address.name, &r.strs("keys")?).await
}

pub async fn update(
    cloud: &Cloud,
    r: &Planned,
    _live: &Live,
    _fields: &[FieldDiff],
) -> Result<Live, ProviderError> {
    create(cloud, r).await
}

pub async fn delete(cloud: &Cloud, live: &Live) -> Result<(), ProviderError> {
    converge(cloud, &live.id, &[]).await.map(|_| ())
}

/// The sources this blueprint reads, for `:live`.
pub async fn list(cloud: &Cloud) -> Result<Vec<Row>, ProviderError> {
    Ok(read(cloud)
        .await?
        .iter()
        .map(|l| {
            Row::new(
                &l.id,
                &l.id,
                l.attrs
                    .get("keys")
                    .map(Value::to_string)
                    .unwrap_or_default(),
            )
        })
        .collect())
}
