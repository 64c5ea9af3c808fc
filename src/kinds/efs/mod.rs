//! EFS: `efs(name, #{ vpc, subnets, ... })` declares a file system
//! ([`file_system`]) and a mount target in every subnet
//! ([`mount_target`]), behind a security group that lets the VPC reach NFS
//! unless `security_groups` is given; `fs.access_point(name, #{ path, uid,
//! gid, permissions })` declares an access point ([`access_point`]).
//!
//! One batched read ([`file_system::read`]) finds all three: the owned
//! file systems by tag, then their mount targets and access points.

pub mod access_point;
pub mod file_system;
pub mod lint;
pub mod mount_target;

use super::network::{subnet, vpc};
use crate::model::{Address, Map, Problem, Value};
use crate::providers::Cloud;
use crate::script::api::{name_arg, opts_arg};
use crate::script::handles::Output;
use crate::script::schema::{def, opt, req, FnDoc, Opt, Ty, TAGS_OPT};
use crate::script::state::{
    check_name, check_tags, declare, fail, ref_to, Deps, Fallible, Opts, Shared,
};
use aws_sdk_efs::Client;
use rhai::{Dynamic, NativeCallContext};

crate::handle_type!(Efs);

const PERFORMANCE: &[&str] = &["generalPurpose", "maxIO"];
const THROUGHPUT: &[&str] = &["bursting", "elastic"];
/// The transitions to Infrequent Access that EFS accepts, in days.
const IA_DAYS: &[i64] = &[1, 7, 14, 30, 60, 90, 180, 270, 365];

pub const OPTIONS: &[Opt] = &[
    req("vpc", Ty::Handle(vpc::KIND), "the VPC of the mount targets"),
    req(
        "subnets",
        Ty::HandleList(subnet::KIND),
        "a mount target in each (one per availability zone)",
    ),
    opt(
        "security_groups",
        Ty::HandleList(super::network::security_group::KIND),
        "the mount targets' groups (default: one allowing NFS, TCP 2049, from the VPC's blocks, secondary ones too)",
    ),
    def("encrypted", Ty::Bool, "true", "encryption at rest"),
    opt(
        "kms_key",
        Ty::Handle(super::kms_key::KIND),
        "the key for encryption at rest (default: AWS's aws/elasticfilesystem key)",
    ),
    def(
        "performance_mode",
        Ty::Enum(PERFORMANCE),
        "\"generalPurpose\"",
        "\"generalPurpose\" or \"maxIO\" (cannot change)",
    ),
    def(
        "throughput_mode",
        Ty::Enum(THROUGHPUT),
        "\"elastic\"",
        "\"bursting\" or \"elastic\"",
    ),
    opt(
        "ia_after_days",
        Ty::Int,
        "move files not read for this many days to Infrequent Access (1, 7, 14, 30, 60, 90, 180, 270 or 365)",
    ),
    def(
        "protect",
        Ty::Bool,
        "true",
        "refuse plans that delete or replace the file system; apply protect: false first to remove it",
    ),
    TAGS_OPT,
];

pub const ACCESS_POINT: &[Opt] = &[
    req(
        "path",
        Ty::Str,
        "the directory the access point exposes, e.g. \"/sftp\"",
    ),
    req(
        "uid",
        Ty::Int,
        "the POSIX user id of every request, and of the directory's owner",
    ),
    req("gid", Ty::Int, "the POSIX group id"),
    def(
        "permissions",
        Ty::Str,
        "\"0755\"",
        "the directory's mode when EFS creates it",
    ),
    TAGS_OPT,
];

pub const FUNCTIONS: &[FnDoc] = &[
    FnDoc {
        name: "efs",
        signature: "efs(name, #{ vpc, subnets, security_groups?, encrypted?, kms_key?, performance_mode?, throughput_mode?, ia_after_days?, protect?, tags? }) -> Efs",
        doc: "An EFS file system with a mount target in each subnet; protected from deletion by default.",
        options: OPTIONS,
        method_of: None,
    },
    FnDoc {
        name: "access_point",
        signature: "fs.access_point(name, #{ path, uid, gid, permissions?, tags? }) -> EfsAccessPoint",
        doc: "An EFS access point: a directory of the file system, entered as one POSIX user.",
        options: ACCESS_POINT,
        method_of: Some("Efs"),
    },
];

fn efs(state: &Shared, ctx: &NativeCallContext, name: &Dynamic, opts: &Dynamic) -> Fallible<Efs> {
    let name = name_arg(ctx, "efs", name)?;
    let map = opts_arg(ctx, "efs", opts, OPTIONS)?;
    let o = Opts(&map);
    check_name(ctx, file_system::KIND, &name)?;
    check_tags(ctx, o.get("tags"))?;
    let encrypted = o.bool_or("encrypted", true);
    if !encrypted && o.has("kms_key") {
        return Err(fail(
            ctx,
            Problem::new(format!("efs {name}: a kms_key needs encrypted: true")),
        ));
    }
    if let Some(days) = o.int("ia_after_days") {
        if !IA_DAYS.contains(&days) {
            return Err(fail(
                ctx,
                Problem::new(format!("efs {name}: ia_after_days is {days}"))
                    .hint("EFS takes 1, 7, 14, 30, 60, 90, 180, 270 or 365"),
            ));
        }
    }
    let vpc = o.address("vpc").expect("checked by the schema");
    let subnets = o.addresses("subnets");
    if subnets.is_empty() {
        return Err(fail(
            ctx,
            Problem::new(format!("efs {name}: `subnets` is empty"))
                .hint("give the subnets to mount it from, e.g. v.private_subnets"),
        ));
    }
    // One mount target per zone: EFS refuses a second one in a zone.
    {
        let st = state.borrow();
        let mut zones = std::collections::BTreeMap::new();
        for s in &subnets {
            let az = st.graph.get(s).and_then(|r| r.str("az").map(String::from));
            if let Some(az) = az {
                if let Some(other) = zones.insert(az.clone(), s.clone()) {
                    return Err(fail(
                        ctx,
                        Problem::new(format!(
                            "efs {name}: {other} and {s} are both in {az}; EFS takes one mount target per zone"
                        ))
                        .hint("give one subnet per availability zone"),
                    ));
                }
            }
        }
    }

    // Its subnets' provider instance.
    let addr = Address::new(file_system::KIND, &name)
        .in_provider(subnets.first().and_then(|s| s.provider.clone()));
    let mut deps = Deps::default();
    let mut spec = Map::new();
    spec.insert("name".into(), Value::str(&name));
    spec.insert("encrypted".into(), Value::Bool(encrypted));
    if let Some(k) = o.get("kms_key") {
        spec.insert("kms_key".into(), deps.value(k));
    }
    spec.insert(
        "performance_mode".into(),
        Value::str(
            o.str("performance_mode")
                .unwrap_or_else(|| "generalPurpose".into()),
        ),
    );
    // Elastic throughput goes with General Purpose only.
    let perf = o
        .str("performance_mode")
        .unwrap_or_else(|| "generalPurpose".into());
    let throughput = o.str("throughput_mode").unwrap_or_else(|| {
        if perf == "maxIO" {
            "bursting"
        } else {
            "elastic"
        }
        .into()
    });
    if perf == "maxIO" && throughput == "elastic" {
        return Err(fail(
            ctx,
            Problem::new(format!(
                "efs {name}: elastic throughput goes with the generalPurpose performance mode only"
            ))
            .hint("use throughput_mode: \"bursting\" with maxIO"),
        ));
    }
    spec.insert("throughput_mode".into(), Value::str(&throughput));
    spec.insert(
        "ia_after_days".into(),
        o.int("ia_after_days")
            .map(Value::Int)
            .unwrap_or(Value::Null),
    );
    spec.insert("protect".into(), Value::Bool(o.bool_or("protect", true)));
    if let Some(t) = state.borrow().tags(o.get("tags"), &mut deps) {
        spec.insert("tags".into(), t);
    }
    declare(state, ctx, addr.clone(), spec, deps)?;

    // The mount targets' security group(s).
    let groups: Vec<Value> = if o.has("security_groups") {
        o.addresses("security_groups").iter().map(ref_to).collect()
    } else {
        let sg = super::network::vpc_port_group(
            state,
            ctx,
            &vpc,
            &format!("{name}-efs"),
            2049,
            &format!("EFS {name} mount targets"),
        )?;
        vec![ref_to(&sg)]
    };
    for s in &subnets {
        let mut deps = Deps::default();
        deps.add(&addr);
        deps.add(s);
        for g in &groups {
            if let Value::Ref(r) = g {
                deps.add(&r.address);
            }
        }
        let leaf = s.name.rsplit('/').next().unwrap_or(&s.name);
        let spec = Map::from([
            ("file_system".into(), ref_to(&addr)),
            ("subnet".into(), ref_to(s)),
            ("security_groups".into(), Value::List(groups.clone())),
        ]);
        declare(state, ctx, addr.child(mount_target::KIND, leaf), spec, deps)?;
    }
    Ok(Efs(addr))
}

fn access_point(
    state: &Shared,
    ctx: &NativeCallContext,
    fs: &Address,
    name: &Dynamic,
    opts: &Dynamic,
) -> Fallible<access_point::EfsAccessPoint> {
    let name = name_arg(ctx, "access_point", name)?;
    let map = opts_arg(ctx, "access_point", opts, ACCESS_POINT)?;
    let o = Opts(&map);
    check_name(ctx, file_system::KIND, &name)?;
    check_tags(ctx, o.get("tags"))?;
    let path = o.str("path").unwrap_or_default();
    if !path.starts_with('/') || path.len() > 100 {
        return Err(fail(
            ctx,
            Problem::new(format!(
                "access point {name}: path `{path}` is not an absolute path"
            ))
            .hint("a path such as \"/sftp\", at most 100 characters"),
        ));
    }
    let permissions = o.str("permissions").unwrap_or_else(|| "0755".into());
    if !(3..=4).contains(&permissions.len())
        || !permissions.chars().all(|c| ('0'..='7').contains(&c))
    {
        return Err(fail(
            ctx,
            Problem::new(format!(
                "access point {name}: permissions `{permissions}` is not an octal mode"
            ))
            .hint("e.g. \"0755\" or \"750\""),
        ));
    }
    for k in ["uid", "gid"] {
        let v = o.int(k).unwrap_or(-1);
        if !(0..=4_294_967_295).contains(&v) {
            return Err(fail(
                ctx,
                Problem::new(format!("access point {name}: {k} {v} is not a POSIX id")),
            ));
        }
    }
    let addr = fs.child(access_point::KIND, &name);
    let mut deps = Deps::default();
    deps.add(fs);
    let mut spec = Map::from([
        ("name".into(), Value::str(&name)),
        ("file_system".into(), ref_to(fs)),
        ("path".into(), Value::Str(path)),
        ("uid".into(), Value::Int(o.int("uid").unwrap_or(0))),
        ("gid".into(), Value::Int(o.int("gid").unwrap_or(0))),
        ("permissions".into(), Value::Str(permissions)),
    ]);
    if let Some(t) = state.borrow().tags(o.get("tags"), &mut deps) {
        spec.insert("tags".into(), t);
    }
    declare(state, ctx, addr.clone(), spec, deps)?;
    Ok(access_point::EfsAccessPoint(addr))
}

/// `efs(...)`, `fs.access_point(...)` and the handles' properties.
pub fn register(engine: &mut rhai::Engine, state: &Shared) {
    Efs::register_type(engine);
    let s = state.clone();
    engine.register_fn(
        "efs",
        move |ctx: NativeCallContext, name: Dynamic, opts: Dynamic| efs(&s, &ctx, &name, &opts),
    );
    let s = state.clone();
    engine.register_fn(
        "access_point",
        move |ctx: NativeCallContext, fs: &mut Efs, name: Dynamic, opts: Dynamic| {
            access_point(&s, &ctx, &fs.0, &name, &opts)
        },
    );
    engine.register_get("name", |f: &mut Efs| {
        Output::attr(&f.0, "name", Some(f.0.name.clone()))
    });
    engine.register_get("id", |f: &mut Efs| Output::attr(&f.0, "id", None));
    engine.register_get("arn", |f: &mut Efs| Output::attr(&f.0, "arn", None));
    engine.register_get("dns_name", |f: &mut Efs| {
        Output::attr(&f.0, "dns_name", None)
    });
}

pub fn client(cloud: &Cloud) -> Client {
    cloud.client(|conf, counter| {
        Client::from_conf(
            aws_sdk_efs::config::Builder::from(conf)
                .interceptor(counter)
                .build(),
        )
    })
}

pub fn build_err(
    e: aws_smithy_types::error::operation::BuildError,
) -> crate::providers::ProviderError {
    crate::providers::ProviderError::Spec(format!("cannot build an EFS request: {e}"))
}

/// EFS tags for a resource: ownership, the user's, and Name.
pub fn efs_tags(
    cloud: &Cloud,
    r: &crate::providers::Planned,
) -> Result<Vec<aws_sdk_efs::types::Tag>, crate::providers::ProviderError> {
    let mut tags = cloud.tags_for(&r.address, &r.spec);
    if let Ok(name) = r.str("name") {
        tags.push(("Name".into(), name.to_string()));
    }
    tags.into_iter()
        .map(|(k, v)| {
            aws_sdk_efs::types::Tag::builder()
                .key(k)
                .value(v)
                .build()
                .map_err(build_err)
        })
        .collect()
}

/// The user's tags among an EFS resource's tags.
pub fn user_tags(tags: &[aws_sdk_efs::types::Tag]) -> Option<Value> {
    crate::providers::user_tags(
        tags.iter().map(|t| (t.key(), t.value())),
        crate::providers::NameTag::IsTheName,
    )
}

/// `bp adopt` of a file system or access point (by its id): the ownership
/// tags written on it.
pub async fn adopt(
    cloud: &Cloud,
    id: &str,
    tags: &[(String, String)],
) -> Result<(), crate::providers::ProviderError> {
    let tags: Result<Vec<_>, _> = tags
        .iter()
        .map(|(k, v)| aws_sdk_efs::types::Tag::builder().key(k).value(v).build())
        .collect();
    let tags = tags.map_err(|e| crate::providers::ProviderError::Unexpected(e.to_string()))?;
    client(cloud)
        .tag_resource()
        .resource_id(id)
        .set_tags(Some(tags))
        .send()
        .await
        .map(|_| ())
        .map_err(crate::providers::ProviderError::api("TagResource"))
}
