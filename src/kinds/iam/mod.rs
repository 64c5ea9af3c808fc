//! The IAM family: roles (`iam_role`, and the roles other constructors
//! declare for the user) and OIDC providers.

pub mod existing;
pub mod lint;
pub mod oidc_provider;
pub mod password_policy;
pub mod people;
pub mod role;

use crate::model::{Address, Map, Problem, Value};
use crate::script::api::{name_arg, opts_arg};
use crate::script::handles::Output;
use crate::script::schema::{opt, FnDoc, Opt, Ty, TAGS_OPT};
use crate::script::state::{check_name, check_tags, declare, fail, Deps, Fallible, Opts, Shared};
use rhai::{Dynamic, Engine, NativeCallContext};

crate::handle_type!(IamRole);
crate::handle_type!(OidcProvider);

pub const IAM_ROLE: &[Opt] = &[
    opt(
        "service",
        Ty::StrOrList,
        "service principal(s) that may assume the role, e.g. \"eks.amazonaws.com\"",
    ),
    opt(
        "trust_policy",
        Ty::AnyMap,
        "a full trust policy document (instead of service)",
    ),
    MANAGED_POLICIES_OPT,
    INLINE_POLICIES_OPT,
    TAGS_OPT,
    crate::script::api::providers::PROVIDER_OPT,
];

/// The managed policies a role of any constructor attaches.
pub const MANAGED_POLICIES_OPT: Opt = opt(
    "managed_policies",
    Ty::StrList,
    "ARNs of managed policies to attach",
);

/// The inline policies a role of any constructor holds.
pub const INLINE_POLICIES_OPT: Opt = opt(
    "inline_policies",
    Ty::PolicyMap,
    "inline policies: #{ name: policy document }",
);

pub const FUNCTIONS: &[FnDoc] = &[
    FnDoc {
        name: "iam_role",
        signature: "iam_role(name, #{ service?|trust_policy?, ... }) -> IamRole",
        doc: "An IAM role with attached and inline policies.",
        options: IAM_ROLE,
        method_of: None,
    },
    existing::EXISTING_ROLE,
];

/// The strings a live attribute lists (a role's managed policies, a user's
/// groups); none when it lists nothing.
pub fn listed(live: &crate::model::Live, key: &str) -> Vec<String> {
    live.attrs
        .get(key)
        .and_then(Value::as_list)
        .map(|l| {
            l.iter()
                .filter_map(Value::as_str)
                .map(String::from)
                .collect()
        })
        .unwrap_or_default()
}

/// Brings a set of names from `had` to `want`: `add` each missing one,
/// then `remove` each extra one (policies attached to a role or group, a
/// user's groups).
pub async fn converge<A, FA, R, FR>(
    want: &[String],
    had: &[String],
    add: A,
    remove: R,
) -> Result<(), crate::providers::ProviderError>
where
    A: Fn(String) -> FA,
    FA: std::future::Future<Output = Result<(), crate::providers::ProviderError>>,
    R: Fn(String) -> FR,
    FR: std::future::Future<Output = Result<(), crate::providers::ProviderError>>,
{
    for x in want.iter().filter(|x| !had.contains(x)) {
        add(x.clone()).await?;
    }
    for x in had.iter().filter(|x| !want.contains(x)) {
        remove(x.clone()).await?;
    }
    Ok(())
}

/// Writes a role's or user's declared tags (`tag`), then removes the ones
/// it no longer declares (`untag`, only when there are any).
pub async fn sync_tags<T, FT, U, FU>(
    cloud: &crate::providers::Cloud,
    r: &crate::providers::Planned,
    live: &crate::model::Live,
    tag: T,
    untag: U,
) -> Result<(), crate::providers::ProviderError>
where
    T: FnOnce(Vec<aws_sdk_iam::types::Tag>) -> FT,
    FT: std::future::Future<Output = Result<(), crate::providers::ProviderError>>,
    U: FnOnce(Vec<String>) -> FU,
    FU: std::future::Future<Output = Result<(), crate::providers::ProviderError>>,
{
    tag(role::iam_tags(cloud, r)).await?;
    let stale = crate::providers::stale_tag_keys(r, live);
    if !stale.is_empty() {
        untag(stale).await?;
    }
    Ok(())
}

pub const GROUP_OPTS: &[Opt] = &[
    opt(
        "managed_policies",
        Ty::StrList,
        "ARNs of managed policies its members get",
    ),
    opt(
        "inline_policies",
        Ty::PolicyMap,
        "inline policies its members get: #{ name: policy document }",
    ),
];

pub const USER_OPTS: &[Opt] = &[
    opt(
        "groups",
        Ty::HandleList(people::GROUP),
        "the groups it is in",
    ),
    TAGS_OPT,
];

pub const GROUP_FUNCTIONS: &[FnDoc] = &[FnDoc {
    name: "iam_group",
    signature: "iam_group(name, #{ managed_policies?, inline_policies? }) -> IamGroup",
    doc: "An IAM group under the blueprint's path, with the policies its members get (an MFA requirement among them).",
    options: GROUP_OPTS,
    method_of: None,
}];

pub const USER_FUNCTIONS: &[FnDoc] = &[FnDoc {
    name: "iam_user",
    signature: "iam_user(name, #{ groups?, tags? }) -> IamUser",
    doc: "An IAM user under the blueprint's path, in the given groups; its password, access keys and MFA devices are its person's, never Blueprint's.",
    options: USER_OPTS,
    method_of: None,
}];

/// Registers `iam_group(...)` and `iam_user(...)`.
pub fn register_people(engine: &mut Engine, state: &Shared) {
    people::IamGroup::register_type(engine);
    people::IamUser::register_type(engine);
    let s = state.clone();
    engine.register_fn(
        "iam_group",
        move |ctx: NativeCallContext, name: Dynamic, opts: Dynamic| -> Fallible<people::IamGroup> {
            let name = name_arg(&ctx, "iam_group", &name)?;
            let map = opts_arg(&ctx, "iam_group", &opts, GROUP_OPTS)?;
            let o = Opts(&map);
            check_name(&ctx, people::GROUP, &name)?;
            let mut deps = Deps::default();
            let mut spec = Map::new();
            spec.insert("name".into(), Value::str(&name));
            spec.insert(
                "managed_policies".into(),
                Value::List(o.strs("managed_policies").iter().map(Value::str).collect()),
            );
            spec.insert(
                "inline_policies".into(),
                Value::Map(inline_policies(&o, &mut deps)),
            );
            let addr = Address::new(people::GROUP, &name);
            declare(&s, &ctx, addr.clone(), spec, deps)?;
            Ok(people::IamGroup(addr))
        },
    );
    let s = state.clone();
    engine.register_fn(
        "iam_user",
        move |ctx: NativeCallContext, name: Dynamic, opts: Dynamic| -> Fallible<people::IamUser> {
            let name = name_arg(&ctx, "iam_user", &name)?;
            let map = opts_arg(&ctx, "iam_user", &opts, USER_OPTS)?;
            let o = Opts(&map);
            check_name(&ctx, people::USER, &name)?;
            check_tags(&ctx, o.get("tags"))?;
            let mut deps = Deps::default();
            let groups = o.addresses("groups");
            let mut spec = Map::new();
            spec.insert("name".into(), Value::str(&name));
            spec.insert(
                "groups".into(),
                Value::List(
                    groups
                        .iter()
                        .map(|g| {
                            deps.add(g);
                            crate::script::state::ref_to(g)
                        })
                        .collect(),
                ),
            );
            if let Some(t) = s.borrow().tags(o.get("tags"), &mut deps) {
                spec.insert("tags".into(), t);
            }
            let addr = Address::new(people::USER, &name);
            declare(&s, &ctx, addr.clone(), spec, deps)?;
            Ok(people::IamUser(addr))
        },
    );
}

pub fn register(engine: &mut Engine, state: &Shared) {
    IamRole::register_type(engine);
    let s = state.clone();
    engine.register_fn(
        "iam_role",
        move |ctx: NativeCallContext, name: Dynamic, opts: Dynamic| {
            iam_role(&s, &ctx, &name, &opts)
        },
    );
    let s = state.clone();
    engine.register_get("name", move |r: &mut IamRole| {
        let known = s
            .borrow()
            .graph
            .get(&r.0)
            .and_then(|x| x.str("name").map(String::from));
        Output::attr(&r.0, "name", known)
    });
    let s = state.clone();
    engine.register_get("arn", move |r: &mut IamRole| {
        Output::attr(&r.0, "arn", crate::script::state::known(&s, &r.0, "arn"))
    });
    existing::register(engine, state);
}

/// A trust policy letting AWS services assume the role.
pub fn service_trust(services: &[String]) -> Value {
    let principal = if services.len() == 1 {
        Value::str(&services[0])
    } else {
        Value::List(services.iter().map(Value::str).collect())
    };
    let statement = Value::Map(Map::from([
        ("Effect".into(), Value::str("Allow")),
        (
            "Principal".into(),
            Value::Map(Map::from([("Service".into(), principal)])),
        ),
        ("Action".into(), Value::str("sts:AssumeRole")),
    ]));
    Value::Map(Map::from([
        ("Version".into(), Value::str("2012-10-17")),
        ("Statement".into(), Value::List(vec![statement])),
    ]))
}

pub const AWS_POLICY: &str = "arn:aws:iam::aws:policy/";

/// What a role holds besides its name.
pub struct RoleSpec {
    /// `trust_policy`, or `irsa` for roles assumed through an OIDC provider.
    pub trust: (&'static str, Value),
    pub managed: Vec<String>,
    pub inline: Map,
    pub tags: Option<Value>,
    /// The provider instance it is made with (its cluster's, or given).
    pub provider: Option<String>,
}

pub fn declare_role(
    state: &Shared,
    ctx: &NativeCallContext,
    name: &str,
    role: RoleSpec,
    deps: Deps,
) -> Fallible<Address> {
    check_name(ctx, role::KIND, name)?;
    if let Some(bad) = role
        .managed
        .iter()
        .find(|a| !(a.starts_with("arn:aws") && a.contains(":policy/")))
    {
        return Err(fail(
            ctx,
            Problem::new(format!("`{bad}` is not an IAM policy ARN")).hint(format!(
                "managed policies are ARNs such as \"{AWS_POLICY}AmazonEKSClusterPolicy\""
            )),
        ));
    }
    let mut managed = role.managed;
    managed.sort();
    managed.dedup();
    let addr = Address::new(role::KIND, name).in_provider(role.provider.clone());
    let mut spec = Map::new();
    spec.insert("name".into(), Value::str(name));
    spec.insert(role.trust.0.into(), role.trust.1);
    // Kubernetes service accounts given this role add themselves here.
    spec.insert("service_accounts".into(), Value::List(Vec::new()));
    spec.insert(
        "managed_policies".into(),
        Value::List(managed.iter().map(Value::str).collect()),
    );
    spec.insert("inline_policies".into(), Value::Map(role.inline));
    if let Some(t) = role.tags {
        spec.insert("tags".into(), t);
    }
    declare(state, ctx, addr.clone(), spec, deps)?;
    Ok(addr)
}

/// Inline policies from the `inline_policies` option.
pub fn inline_policies(o: &Opts, deps: &mut Deps) -> Map {
    o.get("inline_policies")
        .map(|d| deps.value(d))
        .and_then(|v| v.as_map().cloned())
        .unwrap_or_default()
}

pub(crate) fn iam_role(
    state: &Shared,
    ctx: &NativeCallContext,
    name: &Dynamic,
    opts: &Dynamic,
) -> Fallible<IamRole> {
    let name = name_arg(ctx, "iam_role", name)?;
    let map = opts_arg(ctx, "iam_role", opts, IAM_ROLE)?;
    let o = Opts(&map);
    check_tags(ctx, o.get("tags"))?;
    let mut deps = Deps::default();
    let trust = match (o.has("service"), o.get("trust_policy")) {
        (true, None) => service_trust(&o.strs("service")),
        (false, Some(p)) => deps.value(p),
        (true, Some(_)) => {
            return Err(fail(
                ctx,
                Problem::new("iam_role takes either `service` or `trust_policy`, not both"),
            ))
        }
        (false, None) => {
            return Err(fail(
                ctx,
                Problem::new("iam_role needs `service` or `trust_policy`")
                    .hint("e.g. service: \"ec2.amazonaws.com\""),
            ))
        }
    };
    let inline = inline_policies(&o, &mut deps);
    let tags = state.borrow().tags(o.get("tags"), &mut deps);
    let addr = declare_role(
        state,
        ctx,
        &name,
        RoleSpec {
            trust: ("trust_policy", trust),
            managed: o.strs("managed_policies"),
            inline,
            tags,
            provider: crate::script::api::providers::alias(&map),
        },
        deps,
    )?;
    Ok(IamRole(addr))
}
