//! References to network resources that exist outside the blueprint:
//! `existing_vpc(id)`, the `subnets(#{ ids?, tags? })` of its handle, and
//! `existing_security_group(id)`. Each is read once while the script runs
//! (one DescribeVpcs, DescribeSubnets or DescribeSecurityGroups per call)
//! and is never created, changed or deleted; a missing one is an error at
//! the call. Commands that read no AWS (`bp check`) get placeholders.

use super::{security_group, subnet, vpc, SecurityGroup, Subnet, Vpc};
use crate::model::{Address, Map, Problem, Ref, Value, EXISTING};
use crate::script::api::facts::{api_problem, error_code, placeholder_azs, read_aws_at};
use crate::script::api::{name_arg, opts_arg};
use crate::script::schema::{opt, FnDoc, Opt, Ty};
use crate::script::state::{declare_existing, fail, Fallible, Opts, Shared};
use aws_sdk_ec2::types::Filter;
use rhai::{Array, Dynamic, Engine, NativeCallContext};
use std::collections::{BTreeMap, BTreeSet};

/// What a placeholder VPC's block is in `bp check`: it holds every subnet.
/// No real VPC has it (AWS takes /16 to /28).
const PLACEHOLDER_CIDR: &str = "0.0.0.0/0";

/// Whether an existing VPC is the placeholder of one (no AWS read).
pub fn is_placeholder(r: &crate::model::Resource) -> bool {
    r.str("cidr") == Some(PLACEHOLDER_CIDR)
}

pub const SUBNETS: &[Opt] = &[
    opt("ids", Ty::StrList, "subnet ids, each of them in the VPC"),
    opt(
        "tags",
        Ty::StrMap,
        "tags every subnet carries, e.g. #{ \"kubernetes.io/role/internal-elb\": \"1\" }",
    ),
];

/// The options of `existing_vpc` and `existing_security_group`: where to
/// look.
pub const EXISTING_OPTIONS: &[Opt] = &[crate::script::api::providers::PROVIDER_OPT];

pub const EXISTING_VPC: FnDoc = FnDoc {
        name: "existing_vpc",
        signature: "existing_vpc(id) / existing_vpc(id, #{ provider }) -> Vpc",
        doc: "A VPC this blueprint does not manage, by id: read when planning (a missing one is an error naming the id), never created, changed or deleted. Its handle goes wherever a VPC does; `v.id`, `v.cidr` and `v.name` are known.",
        options: EXISTING_OPTIONS,
        method_of: None,
};

pub const VPC_SUBNETS: FnDoc = FnDoc {
        name: "subnets",
        signature: "vpc.subnets(#{ ids?, tags? }) -> [Subnet]",
        doc: "The subnets of an existing VPC: those with the given ids, or carrying the given tags, or all; sorted by zone. They go wherever subnets do.",
        options: SUBNETS,
        method_of: Some("Vpc"),
};

pub const EXISTING_SECURITY_GROUP: FnDoc = FnDoc {
    name: "existing_security_group",
    signature: "existing_security_group(id) / existing_security_group(id, #{ provider }) -> SecurityGroup",
    doc: "A security group this blueprint does not manage, by id: read when planning, never changed; usable wherever a security group is, and as a rule's source.",
    options: EXISTING_OPTIONS,
    method_of: None,
};

fn name_tag(tags: &[aws_sdk_ec2::types::Tag]) -> Option<String> {
    tags.iter()
        .find(|t| t.key() == Some("Name"))
        .and_then(|t| t.value().map(String::from))
}

fn not_found<E, R>(e: &aws_smithy_runtime_api::client::result::SdkError<E, R>) -> bool
where
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata,
{
    error_code(e).is_some_and(|c| c.ends_with(".NotFound") || c.ends_with(".Malformed"))
}

/// `id` must look like an id of `prefix`, or the call fails with a hint.
fn check_id(ctx: &NativeCallContext, what: &str, id: &str, prefix: &str) -> Fallible<()> {
    let rest = id.strip_prefix(prefix).unwrap_or_default();
    let placeholder = crate::script::api::facts::is_output_placeholder(id);
    if placeholder || !rest.is_empty() && rest.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Ok(());
    }
    Err(fail(
        ctx,
        Problem::new(format!(
            "{what} takes an id such as \"{prefix}0123456789abcdef0\", not \"{id}\""
        ))
        .hint("give the id AWS shows, e.g. in `aws ec2 describe-vpcs`, or in the REPL's :live"),
    ))
}

pub fn existing_vpc(
    state: &Shared,
    ctx: &NativeCallContext,
    id: &Dynamic,
    provider: Option<String>,
) -> Fallible<Vpc> {
    let id = name_arg(ctx, "existing_vpc", id)?;
    check_id(ctx, "existing_vpc", &id, "vpc-")?;
    let address = Address::new(vpc::KIND, id.clone()).in_provider(provider.clone());
    let region = state.borrow().region_of(&address);
    let asked = id.clone();
    let at = provider.as_deref();
    let read = read_aws_at(state, ctx, "existing_vpc(...)", at, |conf| async move {
        let ec2 = aws_sdk_ec2::Client::new(&conf);
        match ec2.describe_vpcs().vpc_ids(&asked).send().await {
            Ok(out) => Ok(out.vpcs().first().map(|v| {
                let primary = v.cidr_block().unwrap_or_default().to_string();
                let secondary: Vec<Value> = v
                    .cidr_block_association_set()
                    .iter()
                    .filter_map(|a| a.cidr_block())
                    .filter(|c| *c != primary)
                    .map(Value::str)
                    .collect();
                let mut m = Map::new();
                m.insert("cidr".into(), Value::str(&primary));
                m.insert("secondary_cidrs".into(), Value::List(secondary));
                m.insert(
                    "name".into(),
                    Value::str(name_tag(v.tags()).unwrap_or_else(|| asked.clone())),
                );
                m
            })),
            Err(e) if not_found(&e) => Ok(None),
            Err(e) => Err(api_problem("existing_vpc(...)", "EC2 DescribeVpcs", &e)),
        }
    })?;
    let mut spec = match read {
        Some(Some(m)) => m,
        Some(None) => {
            return Err(fail(
                ctx,
                Problem::new(format!("VPC {id} does not exist in {region}"))
                    .hint("check the id and the region (--region) of this command"),
            ))
        }
        None => Map::from([
            ("cidr".into(), Value::str(PLACEHOLDER_CIDR)),
            ("name".into(), Value::str(&id)),
        ]),
    };
    spec.insert("id".into(), Value::str(&id));
    declare_existing(state, ctx, address.clone(), spec, BTreeSet::new(), &id)?;
    Ok(Vpc(address))
}

/// One subnet as read: id, zone, block, public IPs on launch, name.
struct Found {
    id: String,
    az: String,
    cidr: Option<String>,
    public: bool,
    name: String,
}

pub fn subnets(
    state: &Shared,
    ctx: &NativeCallContext,
    v: &Vpc,
    opts: &Dynamic,
) -> Fallible<Array> {
    let vpc_id = state
        .borrow()
        .graph
        .get(&v.0)
        .filter(|r| r.is_existing())
        .and_then(|r| r.str(EXISTING).map(String::from));
    let Some(vpc_id) = vpc_id else {
        return Err(fail(
            ctx,
            Problem::new(format!(
                "subnets(...) looks up the subnets of an existing VPC, and {} is declared by this blueprint",
                v.0
            ))
            .hint("use its public_subnets or private_subnets"),
        ));
    };
    let map = opts_arg(ctx, "subnets", opts, SUBNETS)?;
    let o = Opts(&map);
    let mut ids = o.strs("ids");
    // An output of another blueprint (in `bp check`) stands for ids not
    // known here: placeholders, one subnet per zone, as for no ids.
    if ids
        .iter()
        .all(|i| crate::script::api::facts::is_output_placeholder(i))
    {
        ids.clear();
    }
    for id in &ids {
        check_id(ctx, "subnets(#{ ids })", id, "subnet-")?;
    }
    let tags: BTreeMap<String, String> = o
        .get("tags")
        .and_then(|t| t.read_lock::<rhai::Map>().map(|m| m.clone()))
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        })
        .unwrap_or_default();
    let (ask_ids, ask_tags, ask_vpc) = (ids.clone(), tags.clone(), vpc_id.clone());
    let at = v.0.provider.as_deref();
    let read = read_aws_at(state, ctx, "vpc.subnets(...)", at, |conf| async move {
        let ec2 = aws_sdk_ec2::Client::new(&conf);
        let mut req = ec2
            .describe_subnets()
            .filters(Filter::builder().name("vpc-id").values(&ask_vpc).build());
        if !ask_ids.is_empty() {
            req = req.filters(
                Filter::builder()
                    .name("subnet-id")
                    .set_values(Some(ask_ids.clone()))
                    .build(),
            );
        }
        for (k, v) in &ask_tags {
            req = req.filters(Filter::builder().name(format!("tag:{k}")).values(v).build());
        }
        let found = req
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(|e| api_problem("vpc.subnets(...)", "EC2 DescribeSubnets", &e))?;
        Ok(found
            .iter()
            .map(|s| Found {
                id: s.subnet_id().unwrap_or_default().to_string(),
                az: s.availability_zone().unwrap_or_default().to_string(),
                cidr: s.cidr_block().map(String::from),
                public: s.map_public_ip_on_launch() == Some(true),
                name: name_tag(s.tags())
                    .unwrap_or_else(|| s.subnet_id().unwrap_or_default().to_string()),
            })
            .collect::<Vec<Found>>())
    })?;
    let mut found = match read {
        Some(found) => found,
        None => {
            let region = state.borrow().region_of(&v.0);
            let zones = placeholder_azs(&region);
            let ids = if ids.is_empty() {
                (1..=zones.len())
                    .map(|i| format!("subnet-placeholder{i}"))
                    .collect()
            } else {
                ids.clone()
            };
            ids.iter()
                .enumerate()
                .map(|(i, id)| Found {
                    id: id.clone(),
                    az: zones[i % zones.len()].clone(),
                    cidr: None,
                    public: false,
                    name: id.clone(),
                })
                .collect()
        }
    };
    let missing: Vec<&String> = ids
        .iter()
        .filter(|id| !found.iter().any(|f| &f.id == *id))
        .collect();
    if !missing.is_empty() {
        let list: Vec<&str> = missing.iter().map(|s| s.as_str()).collect();
        return Err(fail(
            ctx,
            Problem::new(format!(
                "{} {} {} not {} of VPC {vpc_id}{}",
                if list.len() == 1 { "subnet" } else { "subnets" },
                list.join(", "),
                if list.len() == 1 { "is" } else { "are" },
                if list.len() == 1 {
                    "a subnet"
                } else {
                    "subnets"
                },
                if tags.is_empty() {
                    String::new()
                } else {
                    " with these tags".into()
                },
            ))
            .hint("check the ids, and that the subnets belong to this VPC"),
        ));
    }
    if found.is_empty() {
        let what = if tags.is_empty() {
            String::new()
        } else {
            let t: Vec<String> = tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
            format!(" with tags {}", t.join(", "))
        };
        return Err(fail(
            ctx,
            Problem::new(format!("VPC {vpc_id} has no subnets{what}"))
                .hint("check the tags, or give the subnets by ids"),
        ));
    }
    found.sort_by(|a, b| (&a.az, &a.id).cmp(&(&b.az, &b.id)));
    let mut out = Array::new();
    for f in found {
        let address = v.0.sibling(subnet::KIND, f.id.clone());
        let mut spec = Map::new();
        spec.insert("id".into(), Value::str(&f.id));
        spec.insert("az".into(), Value::str(&f.az));
        if let Some(c) = &f.cidr {
            spec.insert("cidr".into(), Value::str(c));
        }
        spec.insert("public".into(), Value::Bool(f.public));
        spec.insert("name".into(), Value::str(&f.name));
        spec.insert(
            "vpc".into(),
            Value::Ref(Ref {
                address: v.0.clone(),
                attr: "id".into(),
            }),
        );
        declare_existing(
            state,
            ctx,
            address.clone(),
            spec,
            BTreeSet::from([v.0.clone()]),
            &f.id,
        )?;
        out.push(Dynamic::from(Subnet(address)));
    }
    Ok(out)
}

pub fn existing_security_group(
    state: &Shared,
    ctx: &NativeCallContext,
    id: &Dynamic,
    provider: Option<String>,
) -> Fallible<SecurityGroup> {
    let id = name_arg(ctx, "existing_security_group", id)?;
    check_id(ctx, "existing_security_group", &id, "sg-")?;
    let address = Address::new(security_group::KIND, id.clone()).in_provider(provider.clone());
    let region = state.borrow().region_of(&address);
    let asked = id.clone();
    let read = read_aws_at(
        state,
        ctx,
        "existing_security_group(...)",
        provider.as_deref(),
        |conf| async move {
            let ec2 = aws_sdk_ec2::Client::new(&conf);
            match ec2
                .describe_security_groups()
                .group_ids(&asked)
                .send()
                .await
            {
                Ok(out) => Ok(out.security_groups().first().map(|g| {
                    Map::from([
                        (
                            "name".into(),
                            Value::str(g.group_name().unwrap_or_default()),
                        ),
                        ("vpc".into(), Value::str(g.vpc_id().unwrap_or_default())),
                    ])
                })),
                Err(e) if not_found(&e) => Ok(None),
                Err(e) => Err(api_problem(
                    "existing_security_group(...)",
                    "EC2 DescribeSecurityGroups",
                    &e,
                )),
            }
        },
    )?;
    let mut spec = match read {
        Some(Some(m)) => m,
        Some(None) => {
            return Err(fail(
                ctx,
                Problem::new(format!("security group {id} does not exist in {region}"))
                    .hint("check the id and the region (--region) of this command"),
            ))
        }
        None => Map::from([("name".into(), Value::str(&id))]),
    };
    spec.insert("id".into(), Value::str(&id));
    declare_existing(state, ctx, address.clone(), spec, BTreeSet::new(), &id)?;
    Ok(SecurityGroup(address))
}

pub fn register_vpc(engine: &mut Engine, state: &Shared) {
    let s = state.clone();
    engine.register_fn(
        "existing_vpc",
        move |ctx: NativeCallContext, id: Dynamic| existing_vpc(&s, &ctx, &id, None),
    );
    let s = state.clone();
    engine.register_fn(
        "existing_vpc",
        move |ctx: NativeCallContext, id: Dynamic, opts: Dynamic| {
            let map = opts_arg(&ctx, "existing_vpc", &opts, EXISTING_OPTIONS)?;
            existing_vpc(&s, &ctx, &id, Opts(&map).provider())
        },
    );
    let s = state.clone();
    engine.register_fn(
        "subnets",
        move |ctx: NativeCallContext, v: &mut Vpc, opts: Dynamic| subnets(&s, &ctx, v, &opts),
    );
    let s = state.clone();
    engine.register_fn("subnets", move |ctx: NativeCallContext, v: &mut Vpc| {
        subnets(&s, &ctx, v, &Dynamic::from(rhai::Map::new()))
    });
}

pub fn register_security_group(engine: &mut Engine, state: &Shared) {
    let s = state.clone();
    engine.register_fn(
        "existing_security_group",
        move |ctx: NativeCallContext, id: Dynamic| existing_security_group(&s, &ctx, &id, None),
    );
    let s = state.clone();
    engine.register_fn(
        "existing_security_group",
        move |ctx: NativeCallContext, id: Dynamic, opts: Dynamic| {
            let map = opts_arg(&ctx, "existing_security_group", &opts, EXISTING_OPTIONS)?;
            existing_security_group(&s, &ctx, &id, Opts(&map).provider())
        },
    );
}
