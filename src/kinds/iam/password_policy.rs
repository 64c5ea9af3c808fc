//! The account's IAM password policy: `password_policy(#{ min_length?,
//! require?, max_age_days?, reuse_prevention?, allow_users_to_change?,
//! hard_expiry? })`. An account has one, and it takes no tags, so the
//! blueprint that declares it records a claim on it (see
//! [`crate::providers::claims`]): only that blueprint plans it, prunes it
//! when it is no longer declared, and deletes it on destroy. A policy that
//! exists unclaimed (set by hand, or by another tool) is never overwritten
//! silently: `bp adopt iam_password_policy.account account` takes it over.
//! Every field changes in place; what the script leaves out is AWS's own
//! default (length 6, nothing required, no expiry, no reuse prevention).

use crate::cost::Pricing;
use crate::kinds::{Field, KindDef};
use crate::model::schema::Schema;
use crate::model::{Address, Kind, Live, Map, Problem, Value};
use crate::plan::FieldDiff;
use crate::providers::{claims, AwsResult as _};
use crate::providers::{Cloud, NameTag, Planned, ProviderError, Row};
use crate::script::api::opts_arg;
use crate::script::schema::{opt, FnDoc, Opt, Ty};
use crate::script::state::{declare, fail, Deps, Fallible, Opts, Shared};
use crate::{handle, ops};
use aws_sdk_iam::types::PasswordPolicy as AwsPolicy;
use rhai::{Dynamic, Engine, NativeCallContext};

crate::handle_type!(PasswordPolicy);

pub const KIND: Kind = Kind::of(&SCHEMA);

pub static SCHEMA: Schema = Schema::new("iam_password_policy", "PasswordPolicy", FIELDS);

/// The IAM actions of its operations (`bp permissions`).
pub const IAM: crate::permissions::Iam =
    crate::permissions::Iam::reads(&["iam:GetAccountPasswordPolicy"])
        .create(&["iam:UpdateAccountPasswordPolicy"])
        .update(&["iam:UpdateAccountPasswordPolicy"])
        // The claim is an item of the lock table, whose actions every
        // policy has.
        .delete(&["iam:DeleteAccountPasswordPolicy"]);

pub static DEF: KindDef = KindDef::new(
    KIND,
    Pricing::Free,
    handle!(PasswordPolicy; FUNCTIONS, register; ["address"]),
    ops!(own),
)
.adopt(crate::boxed!(adopt adopt))
.iam(IAM);

/// The one address: an account has one password policy.
pub const NAME: &str = "account";
/// What the claim is on.
const CLAIM: &str = "account-password-policy";

const FIELDS: &[Field] = &[
    Field::new("min_length"),
    Field::new("require_symbols"),
    Field::new("require_numbers"),
    Field::new("require_uppercase"),
    Field::new("require_lowercase"),
    Field::new("allow_users_to_change"),
    Field::new("max_age_days"),
    Field::new("reuse_prevention"),
    Field::new("hard_expiry"),
];

const CLASSES: &[&str] = &["symbols", "numbers", "uppercase", "lowercase"];

const OPTIONS: &[Opt] = &[
    opt(
        "min_length",
        Ty::Int,
        "the shortest password IAM accepts, 6 to 128; default 6",
    ),
    opt(
        "require",
        Ty::EnumList(CLASSES),
        "the kinds of character every password holds: \"symbols\", \"numbers\", \"uppercase\", \"lowercase\"",
    ),
    opt(
        "max_age_days",
        Ty::Int,
        "days after which a password expires, 1 to 1095; default: never",
    ),
    opt(
        "reuse_prevention",
        Ty::Int,
        "how many earlier passwords may not be used again, 1 to 24; default: none",
    ),
    opt(
        "allow_users_to_change",
        Ty::Bool,
        "whether users may change their own password; default false",
    ),
    opt(
        "hard_expiry",
        Ty::Bool,
        "whether an expired password locks the user out until an administrator resets it; default false",
    ),
];

const FUNCTIONS: &[FnDoc] = &[FnDoc {
    name: "password_policy",
    signature: "password_policy(#{ min_length?, require?, max_age_days?, reuse_prevention?, allow_users_to_change?, hard_expiry? }) -> PasswordPolicy",
    doc: "The account's IAM password policy (one per account; the blueprint that declares it claims it).",
    options: OPTIONS,
    method_of: None,
}];

fn register(engine: &mut Engine, state: &Shared) {
    PasswordPolicy::register_type(engine);
    let s = state.clone();
    engine.register_fn(
        "password_policy",
        move |ctx: NativeCallContext, opts: Dynamic| {
            let map = opts_arg(&ctx, "password_policy", &opts, OPTIONS)?;
            password_policy(&s, &ctx, &map)
        },
    );
}

/// An integer option within `lo..=hi`, or `Null` when left out.
fn bounded(ctx: &NativeCallContext, o: &Opts, key: &str, (lo, hi): (i64, i64)) -> Fallible<Value> {
    match o.int(key) {
        None => Ok(Value::Null),
        Some(n) if (lo..=hi).contains(&n) => Ok(Value::Int(n)),
        Some(n) => Err(fail(
            ctx,
            Problem::new(format!("{key} is {n}, outside what IAM accepts"))
                .hint(format!("IAM takes {lo} to {hi}")),
        )),
    }
}

fn password_policy(
    state: &Shared,
    ctx: &NativeCallContext,
    map: &rhai::Map,
) -> Fallible<PasswordPolicy> {
    let o = Opts(map);
    let min = match bounded(ctx, &o, "min_length", (6, 128))? {
        Value::Null => Value::Int(6),
        v => v,
    };
    let require = o.strs("require");
    let mut spec = Map::new();
    spec.insert("min_length".into(), min);
    for class in CLASSES {
        spec.insert(
            format!("require_{class}"),
            Value::Bool(require.iter().any(|r| r == class)),
        );
    }
    spec.insert(
        "allow_users_to_change".into(),
        Value::Bool(o.bool_or("allow_users_to_change", false)),
    );
    spec.insert(
        "max_age_days".into(),
        bounded(ctx, &o, "max_age_days", (1, 1095))?,
    );
    spec.insert(
        "reuse_prevention".into(),
        bounded(ctx, &o, "reuse_prevention", (1, 24))?,
    );
    let hard = o.bool_or("hard_expiry", false);
    if hard && o.int("max_age_days").is_none() {
        return Err(fail(
            ctx,
            Problem::new("hard_expiry is set, but passwords never expire")
                .hint("set max_age_days too, or leave hard_expiry out"),
        ));
    }
    spec.insert("hard_expiry".into(), Value::Bool(hard));
    let addr = Address::new(KIND, NAME);
    declare(state, ctx, addr.clone(), spec, Deps::default())?;
    Ok(PasswordPolicy(addr))
}

// Live state ------------------------------------------------------------------

/// The account's policy, if it has one.
async fn current(cloud: &Cloud) -> Result<Option<AwsPolicy>, ProviderError> {
    let out = cloud
        .iam()
        .get_account_password_policy()
        .send()
        .await
        .map_err(ProviderError::api("GetAccountPasswordPolicy"));
    Ok(ProviderError::absent_ok(out)?.and_then(|o| o.password_policy))
}

fn int_or_null(n: Option<i32>) -> Value {
    n.filter(|n| *n > 0)
        .map(|n| Value::Int(n.into()))
        .unwrap_or(Value::Null)
}

fn live_of(address: Address, p: &AwsPolicy) -> Live {
    let max_age = if p.expire_passwords() {
        int_or_null(p.max_password_age())
    } else {
        Value::Null
    };
    Live::new(address, NAME)
        .attr(
            "min_length",
            Value::Int(p.minimum_password_length().unwrap_or(6).into()),
        )
        .attr("require_symbols", Value::Bool(p.require_symbols()))
        .attr("require_numbers", Value::Bool(p.require_numbers()))
        .attr(
            "require_uppercase",
            Value::Bool(p.require_uppercase_characters()),
        )
        .attr(
            "require_lowercase",
            Value::Bool(p.require_lowercase_characters()),
        )
        .attr(
            "allow_users_to_change",
            Value::Bool(p.allow_users_to_change_password()),
        )
        .attr("max_age_days", max_age)
        .attr(
            "reuse_prevention",
            int_or_null(p.password_reuse_prevention()),
        )
        .attr("hard_expiry", Value::Bool(p.hard_expiry().unwrap_or(false)))
}

/// The policy, when this blueprint holds the claim on it: one GetItem, and
/// only for the claimer the policy itself.
pub async fn read(cloud: &Cloud) -> Result<Vec<Live>, ProviderError> {
    let Some(tags) = claims::get(cloud, CLAIM).await? else {
        return Ok(Vec::new());
    };
    let pairs = tags.iter().map(|(k, v)| (k.as_str(), v.as_str()));
    let Some(owned) = cloud.owned(pairs, NameTag::IsATag) else {
        return Ok(Vec::new());
    };
    Ok(current(cloud)
        .await?
        .map(|p| live_of(owned.address, &p))
        .into_iter()
        .collect())
}

/// Sets the whole policy as planned (IAM's update replaces every setting).
async fn set(cloud: &Cloud, r: &Planned) -> Result<Live, ProviderError> {
    let int = |k: &str| -> Result<Option<i32>, ProviderError> {
        Ok(r.get(k)?.and_then(Value::as_int).map(|n| n as i32))
    };
    let flag = |k: &str| -> Result<bool, ProviderError> {
        Ok(r.get(k)?.and_then(Value::as_bool).unwrap_or(false))
    };
    cloud
        .iam()
        .update_account_password_policy()
        .set_minimum_password_length(int("min_length")?)
        .require_symbols(flag("require_symbols")?)
        .require_numbers(flag("require_numbers")?)
        .require_uppercase_characters(flag("require_uppercase")?)
        .require_lowercase_characters(flag("require_lowercase")?)
        .allow_users_to_change_password(flag("allow_users_to_change")?)
        .set_max_password_age(int("max_age_days")?)
        .set_password_reuse_prevention(int("reuse_prevention")?)
        .hard_expiry(flag("hard_expiry")?)
        .send()
        .await
        .done("UpdateAccountPasswordPolicy")?;
    let p = current(cloud).await?.ok_or_else(|| {
        ProviderError::Unexpected("the account password policy is gone after it was set".into())
    })?;
    Ok(live_of(r.address.clone(), &p))
}

/// Claims the policy, then sets it. A policy nobody claims is someone
/// else's until `bp adopt` takes it over; one another blueprint claims is
/// refused by the claim.
pub async fn create(cloud: &Cloud, r: &Planned) -> Result<Live, ProviderError> {
    if claims::get(cloud, CLAIM).await?.is_none() && current(cloud).await?.is_some() {
        return Err(ProviderError::Unsupported(format!(
            "the account has a password policy that is not this blueprint's: `bp adopt {} {NAME}` takes it over",
            r.address
        )));
    }
    claims::put(cloud, CLAIM, &cloud.tags_for(&r.address, &r.spec)).await?;
    set(cloud, r).await
}

pub async fn update(
    cloud: &Cloud,
    r: &Planned,
    _live: &Live,
    _fields: &[FieldDiff],
) -> Result<Live, ProviderError> {
    set(cloud, r).await
}

/// Deletes the policy (IAM's defaults apply again), then gives up the
/// claim.
pub async fn delete(cloud: &Cloud, _live: &Live) -> Result<(), ProviderError> {
    cloud
        .iam()
        .delete_account_password_policy()
        .send()
        .await
        .gone("DeleteAccountPasswordPolicy")?;
    claims::drop(cloud, CLAIM).await
}

/// `bp adopt`: claims the policy the account has.
pub async fn adopt(
    cloud: &Cloud,
    id: &str,
    tags: &[(String, String)],
) -> Result<(), ProviderError> {
    if id != NAME {
        return Err(ProviderError::Spec(format!(
            "the account password policy's id is `{NAME}`, not `{id}`"
        )));
    }
    if current(cloud).await?.is_none() {
        return Err(ProviderError::Spec(
            "the account has no password policy to adopt".into(),
        ));
    }
    claims::put(cloud, CLAIM, tags).await
}

/// The account's policy, for `:live`: who claims it, and its length rule.
pub async fn list(cloud: &Cloud) -> Result<Vec<Row>, ProviderError> {
    let Some(p) = current(cloud).await? else {
        return Ok(Vec::new());
    };
    let details = format!(
        "min length {}{}",
        p.minimum_password_length().unwrap_or(6),
        p.max_password_age()
            .filter(|_| p.expire_passwords())
            .map(|d| format!(", expires after {d} days"))
            .unwrap_or_default()
    );
    let row = Row::new(NAME, NAME, details);
    Ok(vec![match claims::get(cloud, CLAIM).await? {
        Some(tags) => row.owner(|k| tags.iter().find(|(tk, _)| tk == k).map(|(_, v)| v.clone())),
        None => row,
    }])
}
