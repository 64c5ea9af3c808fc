//! `cluster`, its methods `node_group`, `fargate_profile` and `irsa_role`,
//! and `taint`.

use super::super::handles::{Cluster, FargateProfile, IamRole, NodeGroup, Output, Taint};
use super::super::schema;
use super::super::state::{
    check_name, check_tags, declare, fail, ref_to, str_list, ClusterInfo, Deps, Fallible, Opts,
    Shared,
};
use super::iam::{declare_role, inline_policies, service_trust, RoleSpec, AWS_POLICY};
use super::{name_arg, opts_arg};
use crate::model::{names, validate, Address, Kind, Map, Problem, Value};
use rhai::{Dynamic, Engine, NativeCallContext};
use std::collections::BTreeSet;

pub fn register(engine: &mut Engine, state: &Shared) {
    let s = state.clone();
    engine.register_fn(
        "cluster",
        move |ctx: NativeCallContext, name: Dynamic, opts: Dynamic| cluster(&s, &ctx, &name, &opts),
    );
    let s = state.clone();
    engine.register_fn(
        "node_group",
        move |ctx: NativeCallContext, c: &mut Cluster, name: Dynamic, opts: Dynamic| {
            node_group(&s, &ctx, &c.0, &name, &opts)
        },
    );
    let s = state.clone();
    engine.register_fn(
        "fargate_profile",
        move |ctx: NativeCallContext, c: &mut Cluster, name: Dynamic, opts: Dynamic| {
            fargate_profile(&s, &ctx, &c.0, &name, &opts)
        },
    );
    let s = state.clone();
    engine.register_fn(
        "irsa_role",
        move |ctx: NativeCallContext, c: &mut Cluster, name: Dynamic, opts: Dynamic| {
            irsa_role(&s, &ctx, &c.0, &name, &opts)
        },
    );
    engine.register_fn(
        "taint",
        |ctx: NativeCallContext, key: Dynamic, value: Dynamic, effect: Dynamic| {
            taint(&ctx, &key, &value, &effect)
        },
    );

    engine.register_get("name", |c: &mut Cluster| {
        Output::attr(&c.0, "name", Some(c.0.name.clone()))
    });
    for attr in [
        "arn",
        "endpoint",
        "oidc_issuer",
        "security_group_id",
        "certificate_authority",
    ] {
        engine.register_get(attr, move |c: &mut Cluster| Output::attr(&c.0, attr, None));
    }
    let s = state.clone();
    engine.register_get("version", move |c: &mut Cluster| {
        let known = s
            .borrow()
            .graph
            .get(&c.0)
            .and_then(|r| r.str("version").map(String::from));
        Output::attr(&c.0, "version", known)
    });
    let s = state.clone();
    engine.register_get(
        "oidc_provider_arn",
        move |ctx: NativeCallContext, c: &mut Cluster| -> Fallible<Output> {
            let provider = oidc_provider(&s, &ctx, &c.0)?;
            Ok(Output::attr(&provider, "arn", None))
        },
    );
    engine.register_get("name", |n: &mut NodeGroup| {
        Output::attr(&n.0, "name", Some(n.0.leaf().to_string()))
    });
    engine.register_get("arn", |n: &mut NodeGroup| Output::attr(&n.0, "arn", None));
    engine.register_get("name", |f: &mut FargateProfile| {
        Output::attr(&f.0, "name", Some(f.0.leaf().to_string()))
    });
    engine.register_get("arn", |f: &mut FargateProfile| {
        Output::attr(&f.0, "arn", None)
    });
}

fn oidc_provider(state: &Shared, ctx: &NativeCallContext, cluster: &Address) -> Fallible<Address> {
    let st = state.borrow();
    match st.clusters.get(cluster) {
        Some(info) if info.irsa => Ok(Address::new(Kind::OidcProvider, &cluster.name)),
        Some(_) => Err(fail(
            ctx,
            Problem::new(format!(
                "{cluster} has irsa: false, so it has no OIDC provider"
            ))
            .hint("set irsa: true on the cluster to use IAM roles for service accounts"),
        )),
        None => Err(fail(
            ctx,
            Problem::new(format!("{cluster} is not declared (yet)"))
                .hint("declare the cluster before using it"),
        )),
    }
}

fn cluster(
    state: &Shared,
    ctx: &NativeCallContext,
    name: &Dynamic,
    opts: &Dynamic,
) -> Fallible<Cluster> {
    let name = name_arg(ctx, "cluster", name)?;
    let map = opts_arg(ctx, "cluster", opts, schema::CLUSTER)?;
    let o = Opts(&map);
    check_name(ctx, Kind::Cluster, &name)?;
    check_tags(ctx, o.get("tags"))?;
    let version = o.str("version").unwrap_or_default();
    let version_ok = version.split_once('.').is_some_and(|(a, b)| {
        !a.is_empty() && !b.is_empty() && (a.to_owned() + b).bytes().all(|c| c.is_ascii_digit())
    });
    if !version_ok {
        return Err(fail(
            ctx,
            Problem::new(format!("`{version}` is not a Kubernetes version"))
                .hint("EKS versions look like \"1.29\""),
        ));
    }
    let addr = Address::new(Kind::Cluster, &name);
    let subnets = o.addresses("subnets");
    check_subnet_zones(state, ctx, &subnets)?;
    let mut deps = Deps::default();
    let tags = state.borrow().tags(o.get("tags"), &mut deps);

    let role = match o.address("role") {
        Some(r) => r,
        None => declare_role(
            state,
            ctx,
            &format!("{name}-cluster"),
            RoleSpec {
                trust: ("trust_policy", service_trust(&["eks.amazonaws.com".into()])),
                managed: vec![format!("{AWS_POLICY}AmazonEKSClusterPolicy")],
                inline: Map::new(),
                tags: tags.clone(),
            },
            Deps::default(),
        )?,
    };
    deps.add(&role);

    let endpoint = o
        .get("endpoint")
        .and_then(|e| e.read_lock::<rhai::Map>().map(|m| m.clone()))
        .unwrap_or_default();
    let e = Opts(&endpoint);
    let (public, private) = (e.bool_or("public", true), e.bool_or("private", false));
    if !public && !private {
        return Err(fail(
            ctx,
            Problem::new("the cluster endpoint is neither public nor private")
                .hint("set endpoint: #{ public: true } or #{ private: true }"),
        ));
    }
    let public_cidrs = if e.has("public_cidrs") {
        e.strs("public_cidrs")
    } else {
        vec!["0.0.0.0/0".into()]
    };
    let mut logging: Vec<String> = o.strs("logging");
    logging.sort();
    logging.dedup();

    let mut spec = Map::new();
    spec.insert("name".into(), Value::str(&name));
    spec.insert("version".into(), Value::str(&version));
    spec.insert("role".into(), ref_to(&role));
    spec.insert(
        "subnets".into(),
        Value::List(subnets.iter().map(ref_to).collect()),
    );
    spec.insert(
        "endpoint".into(),
        Value::Map(Map::from([
            ("public".into(), Value::Bool(public)),
            ("private".into(), Value::Bool(private)),
            ("public_cidrs".into(), str_list(&public_cidrs)),
        ])),
    );
    spec.insert("logging".into(), str_list(&logging));
    let sgs = o.addresses("security_groups");
    spec.insert(
        "security_groups".into(),
        Value::List(sgs.iter().map(ref_to).collect()),
    );
    if let Some(k) = o.address("secrets_key") {
        deps.add(&k);
        spec.insert("secrets_key".into(), ref_to(&k));
    }
    if let Some(t) = tags.clone() {
        spec.insert("tags".into(), t);
    }
    for a in subnets.iter().chain(sgs.iter()) {
        deps.add(a);
    }
    if let Some(v) = o.address("vpc") {
        deps.add(&v);
    }
    declare(state, ctx, addr.clone(), spec, deps)?;

    let irsa = o.bool_or("irsa", true);
    if irsa {
        let mut spec = Map::new();
        spec.insert(
            "url".into(),
            Value::Ref(crate::model::Ref {
                address: addr.clone(),
                attr: "oidc_issuer".into(),
            }),
        );
        spec.insert(
            "client_ids".into(),
            str_list(&["sts.amazonaws.com".to_string()]),
        );
        if let Some(t) = tags {
            spec.insert("tags".into(), t);
        }
        let mut d = Deps::default();
        d.add(&addr);
        declare(state, ctx, Address::new(Kind::OidcProvider, &name), spec, d)?;
    }
    state.borrow_mut().clusters.insert(
        addr.clone(),
        ClusterInfo {
            subnets,
            irsa,
            ..ClusterInfo::default()
        },
    );
    Ok(Cluster(addr))
}

/// EKS wants subnets in two zones at least.
fn check_subnet_zones(
    state: &Shared,
    ctx: &NativeCallContext,
    subnets: &[Address],
) -> Fallible<()> {
    let st = state.borrow();
    let known: Vec<&str> = subnets
        .iter()
        .filter_map(|s| st.graph.get(s)?.str("az"))
        .collect();
    let zones: BTreeSet<&str> = known.iter().copied().collect();
    if subnets.is_empty() || (known.len() == subnets.len() && zones.len() < 2) {
        return Err(fail(
            ctx,
            Problem::new(format!(
                "an EKS cluster needs subnets in two availability zones at least; these are in {}",
                if zones.is_empty() { "none".to_string() } else { zones.into_iter().collect::<Vec<_>>().join(", ") }
            ))
            .hint("pass subnets from two or more zones, e.g. vpc.private_subnets of a VPC with azs: 2"),
        ));
    }
    Ok(())
}

fn cluster_info(state: &Shared, ctx: &NativeCallContext, c: &Address) -> Fallible<ClusterInfo> {
    state.borrow().clusters.get(c).cloned().ok_or_else(|| {
        fail(
            ctx,
            Problem::new(format!("{c} is not declared (yet)")).hint("declare the cluster first"),
        )
    })
}

/// The role shared by a cluster's node groups (or Fargate profiles) that
/// name none, declared on first use.
fn shared_role(
    state: &Shared,
    ctx: &NativeCallContext,
    c: &Address,
    fargate: bool,
) -> Fallible<Address> {
    let info = cluster_info(state, ctx, c)?;
    let existing = if fargate {
        &info.fargate_role
    } else {
        &info.node_role
    };
    if let Some(r) = existing {
        return Ok(r.clone());
    }
    let tags = {
        let st = state.borrow();
        st.graph.get(c).and_then(|r| r.get("tags").cloned())
    };
    let (suffix, service, policies) = if fargate {
        (
            "fargate",
            "eks-fargate-pods.amazonaws.com",
            vec![format!(
                "{AWS_POLICY}AmazonEKSFargatePodExecutionRolePolicy"
            )],
        )
    } else {
        (
            "node",
            "ec2.amazonaws.com",
            vec![
                format!("{AWS_POLICY}AmazonEKSWorkerNodePolicy"),
                format!("{AWS_POLICY}AmazonEKS_CNI_Policy"),
                format!("{AWS_POLICY}AmazonEC2ContainerRegistryReadOnly"),
            ],
        )
    };
    let role = declare_role(
        state,
        ctx,
        &format!("{}-{suffix}", c.name),
        RoleSpec {
            trust: ("trust_policy", service_trust(&[service.to_string()])),
            managed: policies,
            inline: Map::new(),
            tags,
        },
        Deps::default(),
    )?;
    let mut st = state.borrow_mut();
    if let Some(info) = st.clusters.get_mut(c) {
        if fargate {
            info.fargate_role = Some(role.clone());
        } else {
            info.node_role = Some(role.clone());
        }
    }
    Ok(role)
}

fn node_group(
    state: &Shared,
    ctx: &NativeCallContext,
    c: &Address,
    name: &Dynamic,
    opts: &Dynamic,
) -> Fallible<NodeGroup> {
    let name = name_arg(ctx, "node_group", name)?;
    let map = opts_arg(ctx, "node_group", opts, schema::NODE_GROUP)?;
    let o = Opts(&map);
    check_name(ctx, Kind::NodeGroup, &name)?;
    check_tags(ctx, o.get("tags"))?;
    let types = o.strs("instance_types");
    if types.is_empty() {
        return Err(fail(
            ctx,
            Problem::new("instance_types is empty")
                .hint("name one type at least, e.g. [\"m6i.large\"]"),
        ));
    }
    for t in &types {
        names::check_instance_type(t).map_err(|p| fail(ctx, p))?;
    }
    let (min, max, desired) = (
        o.int("min").unwrap_or_default(),
        o.int("max").unwrap_or_default(),
        o.int("desired").unwrap_or_default(),
    );
    validate::scaling(min, desired, max).map_err(|p| fail(ctx, p))?;
    let disk = o.int("disk_size").unwrap_or(20);
    if !(1..=16384).contains(&disk) {
        return Err(fail(
            ctx,
            Problem::new(format!("disk_size {disk} GiB is outside 1..16384")),
        ));
    }
    let info = cluster_info(state, ctx, c)?;
    let subnets = if o.has("subnets") {
        o.addresses("subnets")
    } else {
        info.subnets.clone()
    };
    let role = match o.address("role") {
        Some(r) => r,
        None => shared_role(state, ctx, c, false)?,
    };
    let mut deps = Deps::default();
    deps.add(c);
    deps.add(&role);
    for s in &subnets {
        deps.add(s);
    }
    let labels = o
        .get("labels")
        .map(|l| deps.value(l))
        .unwrap_or(Value::Map(Map::new()));
    let taints: Vec<Value> = o
        .list("taints")
        .iter()
        .filter_map(|t| t.read_lock::<Taint>().map(|t| taint_value(&t)))
        .collect();
    let mut spec = Map::new();
    spec.insert("cluster".into(), ref_to(c));
    spec.insert("name".into(), Value::str(&name));
    spec.insert("instance_types".into(), str_list(&types));
    spec.insert(
        "scaling".into(),
        Value::Map(Map::from([
            ("min".into(), Value::Int(min)),
            ("max".into(), Value::Int(max)),
            ("desired".into(), Value::Int(desired)),
        ])),
    );
    spec.insert("disk_size".into(), Value::Int(disk));
    if let Some(ami) = o.str("ami_type") {
        spec.insert("ami_type".into(), Value::str(ami));
    }
    let capacity = if o.bool_or("spot", false) {
        "SPOT"
    } else {
        "ON_DEMAND"
    };
    spec.insert("capacity_type".into(), Value::str(capacity));
    spec.insert("labels".into(), labels);
    spec.insert("taints".into(), Value::List(taints));
    spec.insert(
        "subnets".into(),
        Value::List(subnets.iter().map(ref_to).collect()),
    );
    spec.insert("role".into(), ref_to(&role));
    if let Some(t) = state.borrow().tags(o.get("tags"), &mut deps) {
        spec.insert("tags".into(), t);
    }
    let addr = Address::new(Kind::NodeGroup, format!("{}/{name}", c.name));
    declare(state, ctx, addr.clone(), spec, deps)?;
    Ok(NodeGroup(addr))
}

fn taint_value(t: &Taint) -> Value {
    Value::Map(Map::from([
        ("key".into(), Value::str(&t.key)),
        ("value".into(), Value::str(&t.value)),
        ("effect".into(), Value::str(&t.effect)),
    ]))
}

fn taint(
    ctx: &NativeCallContext,
    key: &Dynamic,
    value: &Dynamic,
    effect: &Dynamic,
) -> Fallible<Taint> {
    for (what, v) in [("key", key), ("value", value), ("effect", effect)] {
        if !v.is_string() {
            return Err(fail(
                ctx,
                Problem::new(format!(
                    "the taint {what} must be a string, but it is {}",
                    schema::describe_value(v)
                )),
            ));
        }
    }
    let (key, value, effect) = (key.to_string(), value.to_string(), effect.to_string());
    if key.is_empty() || key.len() > 253 || key.contains(char::is_whitespace) {
        return Err(fail(
            ctx,
            Problem::new(format!("`{key}` is not a valid taint key")),
        ));
    }
    if value.len() > 63 {
        return Err(fail(
            ctx,
            Problem::new("a taint value is at most 63 characters"),
        ));
    }
    if !schema::EFFECTS.contains(&effect.as_str()) {
        let hint = match names::suggest(&effect, schema::EFFECTS.iter().copied()) {
            Some(s) => format!("did you mean \"{s}\"?"),
            None => "use \"NoSchedule\", \"PreferNoSchedule\" or \"NoExecute\"".into(),
        };
        return Err(fail(
            ctx,
            Problem::new(format!("`{effect}` is not a taint effect")).hint(hint),
        ));
    }
    Ok(Taint { key, value, effect })
}

fn fargate_profile(
    state: &Shared,
    ctx: &NativeCallContext,
    c: &Address,
    name: &Dynamic,
    opts: &Dynamic,
) -> Fallible<FargateProfile> {
    let name = name_arg(ctx, "fargate_profile", name)?;
    let map = opts_arg(ctx, "fargate_profile", opts, schema::FARGATE_PROFILE)?;
    let o = Opts(&map);
    check_name(ctx, Kind::FargateProfile, &name)?;
    check_tags(ctx, o.get("tags"))?;
    let selectors = o.list("selectors");
    if selectors.is_empty() || selectors.len() > 5 {
        return Err(fail(
            ctx,
            Problem::new(format!(
                "a Fargate profile takes 1 to 5 selectors, not {}",
                selectors.len()
            )),
        ));
    }
    let info = cluster_info(state, ctx, c)?;
    let subnets: Vec<Address> = if o.has("subnets") {
        o.addresses("subnets")
    } else {
        let st = state.borrow();
        info.subnets
            .iter()
            .filter(|s| {
                st.graph
                    .get(s)
                    .and_then(|r| r.get("public"))
                    .and_then(Value::as_bool)
                    != Some(true)
            })
            .cloned()
            .collect()
    };
    if subnets.is_empty() {
        return Err(fail(
            ctx,
            Problem::new("a Fargate profile needs private subnets, and the cluster has none")
                .hint("pass subnets: [...] with private subnets"),
        ));
    }
    let role = match o.address("role") {
        Some(r) => r,
        None => shared_role(state, ctx, c, true)?,
    };
    let mut deps = Deps::default();
    deps.add(c);
    deps.add(&role);
    for s in &subnets {
        deps.add(s);
    }
    let selectors: Vec<Value> = selectors
        .iter()
        .map(|s| {
            let m = s
                .read_lock::<rhai::Map>()
                .map(|m| m.clone())
                .unwrap_or_default();
            let so = Opts(&m);
            let mut sel = Map::new();
            sel.insert(
                "namespace".into(),
                Value::str(so.str("namespace").unwrap_or_default()),
            );
            sel.insert(
                "labels".into(),
                so.get("labels")
                    .map(|l| deps.value(l))
                    .unwrap_or(Value::Map(Map::new())),
            );
            Value::Map(sel)
        })
        .collect();
    let mut spec = Map::new();
    spec.insert("cluster".into(), ref_to(c));
    spec.insert("name".into(), Value::str(&name));
    spec.insert("selectors".into(), Value::List(selectors));
    spec.insert(
        "subnets".into(),
        Value::List(subnets.iter().map(ref_to).collect()),
    );
    spec.insert("role".into(), ref_to(&role));
    if let Some(t) = state.borrow().tags(o.get("tags"), &mut deps) {
        spec.insert("tags".into(), t);
    }
    let addr = Address::new(Kind::FargateProfile, format!("{}/{name}", c.name));
    declare(state, ctx, addr.clone(), spec, deps)?;
    Ok(FargateProfile(addr))
}

fn irsa_role(
    state: &Shared,
    ctx: &NativeCallContext,
    c: &Address,
    name: &Dynamic,
    opts: &Dynamic,
) -> Fallible<IamRole> {
    let name = name_arg(ctx, "irsa_role", name)?;
    let map = opts_arg(ctx, "irsa_role", opts, schema::IRSA_ROLE)?;
    let o = Opts(&map);
    check_tags(ctx, o.get("tags"))?;
    let provider = oidc_provider(state, ctx, c)?;
    let mut deps = Deps::default();
    deps.add(&provider);
    let irsa = Value::Map(Map::from([
        ("provider".into(), ref_to(&provider)),
        (
            "issuer".into(),
            Value::Ref(crate::model::Ref {
                address: c.clone(),
                attr: "oidc_issuer".into(),
            }),
        ),
        (
            "namespace".into(),
            Value::str(o.str("namespace").unwrap_or_default()),
        ),
        (
            "service_account".into(),
            Value::str(o.str("service_account").unwrap_or_default()),
        ),
    ]));
    deps.add(c);
    let inline = inline_policies(&o, &mut deps);
    let tags = state.borrow().tags(o.get("tags"), &mut deps);
    let addr = declare_role(
        state,
        ctx,
        &name,
        RoleSpec {
            trust: ("irsa", irsa),
            managed: o.strs("managed_policies"),
            inline,
            tags,
        },
        deps,
    )?;
    Ok(IamRole(addr))
}
