//! RDS PostgreSQL: `rds_postgres(name, #{ vpc, subnets, instance_class,
//! engine_version, storage_gb, username, password, ... })` declares the
//! instance ([`instance`]), its DB subnet group ([`subnet_group`]), a
//! parameter group when `parameters` is given ([`parameter_group`]), and,
//! unless `security_groups` is given, a security group letting the VPC
//! reach PostgreSQL.
//!
//! The password may be sensitive (from `sops_file`): it is never printed,
//! and since AWS never returns it, the instance carries a salted verifier
//! of it in a tag (see [`crate::model::verifier`]), so that a changed
//! password shows as an in-place change, `(sensitive)`.

pub mod instance;
pub mod lint;
pub mod parameter_group;
pub mod subnet_group;

use super::network::{security_group, subnet, vpc};
use crate::model::{Address, Map, Problem, Value};
use crate::providers::Cloud;
use crate::script::api::{name_arg, opts_arg};
use crate::script::handles::Output;
use crate::script::schema::{def, opt, req, FnDoc, Opt, Ty, TAGS_OPT};
use crate::script::state::{
    check_name, check_tags, declare, fail, ref_to, Deps, Fallible, Opts, Shared,
};
use aws_sdk_rds::Client;
use rhai::{Dynamic, NativeCallContext};

crate::handle_type!(RdsPostgres);

/// What a password of a PostgreSQL master user may be (AWS's rule).
fn is_password(v: &Dynamic) -> bool {
    v.is::<crate::script::handles::SecretValue>()
        || v.is::<rhai::ImmutableString>()
        || v.is::<Output>()
}

pub const OPTIONS: &[Opt] = &[
    req("vpc", Ty::Handle(vpc::KIND), "the VPC of the instance"),
    req(
        "subnets",
        Ty::HandleList(subnet::KIND),
        "the DB subnet group's subnets (at least two zones)",
    ),
    opt(
        "security_groups",
        Ty::HandleList(security_group::KIND),
        "the instance's groups (default: one allowing PostgreSQL, TCP 5432, from the VPC's blocks, secondary ones too)",
    ),
    req("instance_class", Ty::Str, "e.g. \"db.t4g.medium\" (changes in place)"),
    req(
        "engine_version",
        Ty::Str,
        "PostgreSQL's version, e.g. \"16.4\"; a new major version needs allow_major_upgrade",
    ),
    def(
        "allow_major_upgrade",
        Ty::Bool,
        "false",
        "let a change of engine_version cross a major version",
    ),
    req("storage_gb", Ty::Int, "allocated storage, at least 20 (grows in place)"),
    opt(
        "max_storage_gb",
        Ty::Int,
        "let storage grow automatically up to this size",
    ),
    def("multi_az", Ty::Bool, "false", "a standby in another zone"),
    req("username", Ty::Str, "the master user's name (cannot change)"),
    req(
        "password",
        Ty::Check(
            "a string or a sensitive value (sops_file)",
            is_password,
        ),
        "the master user's password, 8 to 128 characters; never printed; or \"managed\": RDS makes it and keeps it in Secrets Manager",
    ),
    def(
        "backup_retention_days",
        Ty::Int,
        "7",
        "automated backups kept this many days (0 turns them off)",
    ),
    def(
        "deletion_protection",
        Ty::Bool,
        "true",
        "RDS's own guard against deletion (lifted by a destroy with --include-protected)",
    ),
    def("encrypted", Ty::Bool, "true", "storage encryption (cannot change)"),
    opt(
        "kms_key",
        Ty::Handle(super::kms_key::KIND),
        "the storage key (default: AWS's aws/rds key)",
    ),
    opt(
        "parameters",
        Ty::StrMap,
        "PostgreSQL parameters, in a parameter group of the version's family; applied at the next reboot",
    ),
    def(
        "protect",
        Ty::Bool,
        "true",
        "refuse plans that delete or replace the instance; apply protect: false first to remove it",
    ),
    TAGS_OPT,
];

pub const FUNCTIONS: &[FnDoc] = &[FnDoc {
    name: "rds_postgres",
    signature: "rds_postgres(name, #{ vpc, subnets, instance_class, engine_version, storage_gb, username, password, ... }) -> RdsPostgres",
    doc: "An RDS PostgreSQL instance with its subnet group (and parameter group); protected from deletion by default.",
    options: OPTIONS,
    method_of: None,
}];

/// The parameter-group family of a PostgreSQL version: `postgres16`.
pub fn family(version: &str) -> String {
    format!("postgres{}", major(version))
}

/// The major version: `16` of `16.4` (and of `16`).
pub fn major(version: &str) -> &str {
    version.split('.').next().unwrap_or(version)
}

fn rds_postgres(
    state: &Shared,
    ctx: &NativeCallContext,
    name: &Dynamic,
    opts: &Dynamic,
) -> Fallible<RdsPostgres> {
    let name = name_arg(ctx, "rds_postgres", name)?;
    let map = opts_arg(ctx, "rds_postgres", opts, OPTIONS)?;
    let o = Opts(&map);
    check_name(ctx, instance::KIND, &name)?;
    check_tags(ctx, o.get("tags"))?;
    let mut deps = Deps::default();
    let db = validate_postgres(state, ctx, &name, &o, &mut deps)?;
    let group = declare_subnet_group(state, ctx, &name, &o, &db.subnets)?;
    deps.add(&group);
    let params = declare_parameters(state, ctx, &group, &o, &db.version)?;
    if let Some(p) = &params {
        deps.add(p);
    }
    let groups = security_groups(state, ctx, &name, &o, &db.vpc)?;
    for g in &groups {
        if let Value::Ref(r) = g {
            deps.add(&r.address);
        }
    }
    let attached = Attached {
        group,
        params,
        groups,
    };
    declare_instance(state, ctx, &name, &o, db, attached, deps)
}

/// What the instance is declared with: its subnet group, its parameter
/// group if any, and its security groups.
struct Attached {
    group: Address,
    params: Option<Address>,
    groups: Vec<Value>,
}

/// What the checks of `rds_postgres` established.
struct Postgres {
    version: String,
    storage: i64,
    retention: i64,
    user: String,
    password: Value,
    vpc: Address,
    subnets: Vec<Address>,
}

/// The checks RDS would make, before any call: the version's form, the
/// storage and its autoscaling ceiling, backup retention, the master
/// user's name and password, encryption, and subnets in two zones.
fn validate_postgres(
    state: &Shared,
    ctx: &NativeCallContext,
    name: &str,
    o: &Opts,
    deps: &mut Deps,
) -> Fallible<Postgres> {
    let problem = |p: Problem| Err(fail(ctx, p));
    let version = o.str("engine_version").unwrap_or_default();
    let parts: Vec<&str> = version.split('.').collect();
    if parts.len() != 2 || !parts.iter().all(|p| p.parse::<u32>().is_ok()) {
        return problem(
            Problem::new(format!(
                "rds_postgres {name}: `{version}` is not a PostgreSQL version"
            ))
            .hint("a major and minor version, e.g. \"16.4\" (Blueprint keeps the version it declares: automatic minor upgrades are off)"),
        );
    }
    let storage = o.int("storage_gb").unwrap_or(0);
    if !(20..=65536).contains(&storage) {
        return problem(
            Problem::new(format!("rds_postgres {name}: storage_gb is {storage}"))
                .hint("RDS PostgreSQL takes 20 to 65536 GB"),
        );
    }
    if let Some(max) = o.int("max_storage_gb") {
        if max <= storage {
            return problem(
                Problem::new(format!(
                    "rds_postgres {name}: max_storage_gb {max} is not above storage_gb {storage}"
                ))
                .hint("set it above storage_gb, or leave it out to turn autoscaling off"),
            );
        }
    }
    let retention = o.int("backup_retention_days").unwrap_or(7);
    if !(0..=35).contains(&retention) {
        return problem(
            Problem::new(format!(
                "rds_postgres {name}: backup_retention_days is {retention}"
            ))
            .hint("RDS keeps automated backups 0 to 35 days"),
        );
    }
    let user = o.str("username").unwrap_or_default();
    if user.is_empty()
        || user.len() > 63
        || !user.starts_with(|c: char| c.is_ascii_alphabetic())
        || !user.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        || matches!(user.as_str(), "postgres" | "rdsadmin" | "admin")
    {
        return problem(
            Problem::new(format!("rds_postgres {name}: `{user}` cannot be the master user's name"))
                .hint("1 to 63 letters, digits and `_`, starting with a letter; not postgres, rdsadmin or admin"),
        );
    }
    let password = match deps.value(o.get("password").expect("checked by the schema")) {
        // RDS makes and keeps the password (Secrets Manager): a setting,
        // not a secret.
        Value::Str(p) if p == instance::MANAGED => Value::Str(p),
        // A password written in the script is held as a secret all the
        // same: never shown in plans; the hash names where it belongs.
        Value::Str(p) => Value::Sensitive(crate::model::Secret {
            hash: crate::model::verifier::script_secret_hash(
                &p,
                &["rds_postgres", name, "password"],
            ),
            value: Some(Box::new(Value::Str(p))),
        }),
        other => other,
    };
    if let Ok(Value::Str(p)) = password.reveal().map(|p| match p {
        Value::Str(m) if m == instance::MANAGED && !password.is_sensitive() => Value::Null,
        other => other,
    }) {
        if !(8..=128).contains(&p.len()) || p.contains(['/', '"', '@', ' ']) {
            return problem(
                Problem::new(format!(
                    "rds_postgres {name}: the password is not one RDS accepts"
                ))
                .hint("8 to 128 printable characters, without /, \", @ or spaces"),
            );
        }
    }
    if !o.bool_or("encrypted", true) && o.has("kms_key") {
        return problem(Problem::new(format!(
            "rds_postgres {name}: a kms_key needs encrypted: true"
        )));
    }
    let vpc = o.address("vpc").expect("checked by the schema");
    let subnets = o.addresses("subnets");
    let zones: std::collections::BTreeSet<String> = {
        let st = state.borrow();
        subnets
            .iter()
            .filter_map(|s| st.graph.get(s).and_then(|r| r.str("az").map(String::from)))
            .collect()
    };
    if subnets.len() < 2 || zones.len() == 1 {
        return problem(
            Problem::new(format!(
                "rds_postgres {name}: its subnets are in {} zone",
                if subnets.len() < 2 {
                    "one"
                } else {
                    zones.iter().next().map(String::as_str).unwrap_or("one")
                }
            ))
            .hint("RDS needs subnets in at least two availability zones"),
        );
    }

    Ok(Postgres {
        version,
        storage,
        retention,
        user,
        password,
        vpc,
        subnets,
    })
}

/// The instance's subnet group, named after it.
fn declare_subnet_group(
    state: &Shared,
    ctx: &NativeCallContext,
    name: &str,
    o: &Opts,
    subnets: &[Address],
) -> Fallible<Address> {
    // Its subnets' provider instance.
    let group = Address::new(subnet_group::KIND, name)
        .in_provider(subnets.first().and_then(|s| s.provider.clone()));
    let mut gdeps = Deps::default();
    let mut gspec = Map::new();
    gspec.insert("name".into(), Value::str(name));
    gspec.insert(
        "description".into(),
        Value::Str(format!("Subnets of RDS instance {name}")),
    );
    gspec.insert(
        "subnets".into(),
        Value::List(
            subnets
                .iter()
                .map(|s| {
                    gdeps.add(s);
                    ref_to(s)
                })
                .collect(),
        ),
    );
    if let Some(t) = state.borrow().tags(o.get("tags"), &mut gdeps) {
        gspec.insert("tags".into(), t);
    }
    declare(state, ctx, group.clone(), gspec, gdeps)?;

    Ok(group)
}

/// The instance's parameter group, when it declares `parameters`.
fn declare_parameters(
    state: &Shared,
    ctx: &NativeCallContext,
    subnet_group: &Address,
    o: &Opts,
    version: &str,
) -> Fallible<Option<Address>> {
    Ok(if let Some(p) = o.get("parameters") {
        // Named after its family: a major upgrade makes a new group, and
        // the old one goes once the instance has moved to the new one.
        let group_name = format!("{}-{}", subnet_group.name, family(version));
        let addr = subnet_group.sibling(parameter_group::KIND, &group_name);
        let mut pdeps = Deps::default();
        let mut pspec = Map::new();
        pspec.insert("name".into(), Value::str(&group_name));
        pspec.insert("family".into(), Value::Str(family(version)));
        pspec.insert("parameters".into(), pdeps.value(p));
        if let Some(t) = state.borrow().tags(o.get("tags"), &mut pdeps) {
            pspec.insert("tags".into(), t);
        }
        declare(state, ctx, addr.clone(), pspec, pdeps)?;
        Some(addr)
    } else {
        None
    })
}

/// The instance's security groups: those declared, or one made for it that
/// lets the VPC reach PostgreSQL.
fn security_groups(
    state: &Shared,
    ctx: &NativeCallContext,
    name: &str,
    o: &Opts,
    vpc: &Address,
) -> Fallible<Vec<Value>> {
    Ok(if o.has("security_groups") {
        o.addresses("security_groups").iter().map(ref_to).collect()
    } else {
        let sg = super::network::vpc_port_group(
            state,
            ctx,
            vpc,
            &format!("{name}-db"),
            5432,
            &format!("PostgreSQL of RDS instance {name}"),
        )?;
        vec![ref_to(&sg)]
    })
}

/// The instance itself.
fn declare_instance(
    state: &Shared,
    ctx: &NativeCallContext,
    name: &str,
    o: &Opts,
    db: Postgres,
    attached: Attached,
    mut deps: Deps,
) -> Fallible<RdsPostgres> {
    let Attached {
        group,
        params,
        groups,
    } = attached;
    let Postgres {
        version,
        storage,
        retention,
        user,
        password,
        ..
    } = db;
    let addr = group.sibling(instance::KIND, name);
    let mut spec = Map::new();
    spec.insert("name".into(), Value::str(name));
    spec.insert("engine_version".into(), Value::Str(version));
    spec.insert(
        "allow_major_upgrade".into(),
        Value::Bool(o.bool_or("allow_major_upgrade", false)),
    );
    spec.insert(
        "instance_class".into(),
        Value::str(o.str("instance_class").unwrap_or_default()),
    );
    // With autoscaling, RDS grows the storage itself: the declared size is
    // the size at creation, not compared afterwards.
    if o.has("max_storage_gb") {
        spec.insert("initial_storage_gb".into(), Value::Int(storage));
    } else {
        spec.insert("storage_gb".into(), Value::Int(storage));
    }
    spec.insert(
        "max_storage_gb".into(),
        o.int("max_storage_gb")
            .map(Value::Int)
            .unwrap_or(Value::Null),
    );
    spec.insert("multi_az".into(), Value::Bool(o.bool_or("multi_az", false)));
    spec.insert("username".into(), Value::Str(user));
    spec.insert("password".into(), password);
    spec.insert("backup_retention_days".into(), Value::Int(retention));
    spec.insert(
        "deletion_protection".into(),
        Value::Bool(o.bool_or("deletion_protection", true)),
    );
    spec.insert(
        "encrypted".into(),
        Value::Bool(o.bool_or("encrypted", true)),
    );
    if let Some(k) = o.get("kms_key") {
        spec.insert("kms_key".into(), deps.value(k));
    }
    spec.insert("subnet_group".into(), ref_to(&group));
    spec.insert("security_groups".into(), Value::List(groups));
    // Without parameters the instance uses the family's default group, so
    // that removing `parameters` moves it back before its group goes.
    spec.insert(
        "parameter_group".into(),
        params.as_ref().map(ref_to).unwrap_or(Value::Null),
    );
    spec.insert("protect".into(), Value::Bool(o.bool_or("protect", true)));
    if let Some(t) = state.borrow().tags(o.get("tags"), &mut deps) {
        spec.insert("tags".into(), t);
    }
    declare(state, ctx, addr.clone(), spec, deps)?;
    Ok(RdsPostgres(addr))
}

/// `rds_postgres(...)` and its handle's properties.
pub fn register(engine: &mut rhai::Engine, state: &Shared) {
    RdsPostgres::register_type(engine);
    let s = state.clone();
    engine.register_fn(
        "rds_postgres",
        move |ctx: NativeCallContext, name: Dynamic, opts: Dynamic| {
            rds_postgres(&s, &ctx, &name, &opts)
        },
    );
    engine.register_get("name", |d: &mut RdsPostgres| {
        Output::attr(&d.0, "name", Some(d.0.name.clone()))
    });
    for prop in ["arn", "endpoint", "port", "password_secret_arn"] {
        engine.register_get(prop, move |d: &mut RdsPostgres| {
            Output::attr(&d.0, prop, None)
        });
    }
}

pub fn client(cloud: &Cloud) -> Client {
    cloud.client(|conf, counter| {
        Client::from_conf(
            aws_sdk_rds::config::Builder::from(conf)
                .interceptor(counter)
                .build(),
        )
    })
}

/// RDS tags for a resource: ownership and the user's.
pub fn rds_tags(cloud: &Cloud, r: &crate::providers::Planned) -> Vec<aws_sdk_rds::types::Tag> {
    cloud
        .tags_for(&r.address, &r.spec)
        .into_iter()
        .map(|(k, v)| aws_sdk_rds::types::Tag::builder().key(k).value(v).build())
        .collect()
}

/// A tag's value among RDS tags.
pub fn tag<'a>(tags: &'a [aws_sdk_rds::types::Tag], k: &str) -> Option<&'a str> {
    tags.iter()
        .find(|t| t.key() == Some(k))
        .and_then(|t| t.value())
}

/// The owner address of RDS tags, if the blueprint owns the resource.
pub fn owner(cloud: &Cloud, tags: &[aws_sdk_rds::types::Tag]) -> Option<Address> {
    cloud.owner(pairs(tags))
}

/// The user's tags among RDS tags.
pub fn user_tags(tags: &[aws_sdk_rds::types::Tag]) -> Option<Value> {
    crate::providers::user_tags(pairs(tags), crate::providers::NameTag::IsATag)
}

fn pairs(tags: &[aws_sdk_rds::types::Tag]) -> impl Iterator<Item = (&str, &str)> + Clone {
    tags.iter()
        .filter_map(|t| Some((t.key()?, t.value().unwrap_or_default())))
}

/// Adds the declared tags to an RDS resource and removes the user tags it
/// no longer declares.
pub async fn retag(
    cloud: &Cloud,
    r: &crate::providers::Planned,
    live: &crate::model::Live,
    arn: &str,
    extra: Vec<aws_sdk_rds::types::Tag>,
) -> Result<(), crate::providers::ProviderError> {
    use crate::providers::ProviderError;
    let rds = client(cloud);
    let mut tags = rds_tags(cloud, r);
    tags.extend(extra);
    rds.add_tags_to_resource()
        .resource_name(arn)
        .set_tags(Some(tags))
        .send()
        .await
        .map_err(ProviderError::api("AddTagsToResource"))?;
    let mut stale = crate::providers::stale_tag_keys(r, live);
    // Kinds that take `protect` lose the tag when it is turned off.
    if r.address.kind.schema().lifecycle.protect.is_some()
        && r.spec.get("protect").and_then(Value::as_bool) != Some(true)
    {
        stale.push(crate::providers::TAG_PROTECT.into());
    }
    if !stale.is_empty() {
        rds.remove_tags_from_resource()
            .resource_name(arn)
            .set_tag_keys(Some(stale))
            .send()
            .await
            .map_err(ProviderError::api("RemoveTagsFromResource"))?;
    }
    Ok(())
}

/// `bp adopt` of an RDS resource whose ARN a describe found: the ownership
/// tags written on it (AddTagsToResource).
pub async fn adopt_arn(
    cloud: &Cloud,
    arn: Option<&str>,
    what: &str,
    tags: &[(String, String)],
) -> Result<(), crate::providers::ProviderError> {
    let arn = arn.ok_or_else(|| crate::providers::ProviderError::Spec(format!("no {what}")))?;
    client(cloud)
        .add_tags_to_resource()
        .resource_name(arn)
        .set_tags(Some(
            tags.iter()
                .map(|(k, v)| aws_sdk_rds::types::Tag::builder().key(k).value(v).build())
                .collect(),
        ))
        .send()
        .await
        .map(|_| ())
        .map_err(crate::providers::ProviderError::api("AddTagsToResource"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn families_and_majors() {
        assert_eq!(super::family("16.4"), "postgres16");
        assert_eq!(super::major("15"), "15");
    }
}
