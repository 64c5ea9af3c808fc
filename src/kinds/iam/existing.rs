//! `existing_role(arn)`: an IAM role this blueprint does not manage, read
//! once while the script runs (IAM GetRole), never created, changed or
//! deleted; a missing one is an error at the call. `bp check` takes the
//! ARN as it is.

use super::{role, IamRole};
use crate::model::{Address, Map, Problem, Value};
use crate::script::api::facts::{api_problem, error_code, read_aws};
use crate::script::api::name_arg;
use crate::script::schema::FnDoc;
use crate::script::state::{declare_existing, fail, Fallible, Shared};
use rhai::{Dynamic, Engine, NativeCallContext};
use std::collections::BTreeSet;

pub const EXISTING_ROLE: FnDoc = FnDoc {
    name: "existing_role",
    signature: "existing_role(arn) -> IamRole",
    doc: "An IAM role this blueprint does not manage, by ARN: read when planning (a missing one is an error naming it), never changed; usable wherever a role is. Its trust policy stays its own: a service account given it only names it.",
    options: &[],
    method_of: None,
};

/// The name in a role ARN (`arn:aws:iam::123456789012:role/path/name`).
pub fn role_name(arn: &str) -> Option<&str> {
    let mut parts = arn.splitn(6, ':');
    let (arn_, partition, service, region, account, resource) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    let ok = arn_ == "arn"
        && partition.starts_with("aws")
        && service == "iam"
        && region.is_empty()
        && account.len() == 12
        && account.chars().all(|c| c.is_ascii_digit());
    let name = resource.strip_prefix("role/")?.rsplit('/').next()?;
    (ok && !name.is_empty()).then_some(name)
}

pub fn existing_role(state: &Shared, ctx: &NativeCallContext, arn: &Dynamic) -> Fallible<IamRole> {
    let arn = name_arg(ctx, "existing_role", arn)?;
    let Some(name) = role_name(&arn).map(String::from) else {
        return Err(fail(
            ctx,
            Problem::new(format!("existing_role takes a role ARN, not \"{arn}\""))
                .hint("e.g. \"arn:aws:iam::123456789012:role/Admin\""),
        ));
    };
    let asked = name.clone();
    let read = read_aws(state, ctx, "existing_role(...)", |conf| async move {
        let iam = aws_sdk_iam::Client::new(&conf);
        match iam.get_role().role_name(&asked).send().await {
            Ok(out) => Ok(out.role().map(|r| r.arn().to_string())),
            Err(e) if error_code(&e).as_deref() == Some("NoSuchEntity") => Ok(None),
            Err(e) => Err(api_problem("existing_role(...)", "IAM GetRole", &e)),
        }
    })?;
    match read {
        Some(Some(found)) if found == arn => {}
        Some(Some(found)) => {
            return Err(fail(
                ctx,
                Problem::new(format!(
                    "role {name} exists, but its ARN is {found}, not {arn}"
                ))
                .hint("check the account id and path in the ARN"),
            ))
        }
        Some(None) => {
            return Err(fail(
                ctx,
                Problem::new(format!("IAM role {arn} does not exist"))
                    .hint("check the ARN, and the account this command reads"),
            ))
        }
        None => {}
    }
    let spec = Map::from([
        ("arn".into(), Value::str(&arn)),
        ("name".into(), Value::str(&name)),
        ("id".into(), Value::str(&name)),
    ]);
    let address = Address::new(role::KIND, name.clone());
    declare_existing(state, ctx, address.clone(), spec, BTreeSet::new(), &arn)?;
    Ok(IamRole(address))
}

pub fn register(engine: &mut Engine, state: &Shared) {
    let s = state.clone();
    engine.register_fn(
        "existing_role",
        move |ctx: NativeCallContext, arn: Dynamic| existing_role(&s, &ctx, &arn),
    );
}

#[cfg(test)]
mod tests {
    use super::role_name;

    #[test]
    fn role_names_come_from_role_arns_only() {
        assert_eq!(
            role_name("arn:aws:iam::123456789012:role/Admin"),
            Some("Admin")
        );
        assert_eq!(
            role_name("arn:aws:iam::123456789012:role/teams/ops/Admin"),
            Some("Admin")
        );
        assert_eq!(role_name("arn:aws:iam::123456789012:user/Admin"), None);
        assert_eq!(role_name("arn:aws:iam::1234:role/Admin"), None);
        assert_eq!(role_name("Admin"), None);
    }
}
