//! Instance profiles, declared by `instance(...)` with a `role`: what
//! carries an IAM role to an EC2 instance. They live under the blueprint's
//! IAM path (`/blueprint/<name>/`), as its roles do, which is how they are
//! found. The role changes in place.

use crate::cost::Pricing;
use crate::kinds::iam::role::{iam_tags, role_path};
use crate::kinds::{Field, KindDef};
use crate::model::names::NameRule;
use crate::model::schema::Schema;
use crate::model::{Address, Kind, Live, Value};
use crate::plan::{touches, FieldDiff};
use crate::providers::AwsResult as _;
use crate::providers::{Cloud, Planned, ProviderError, Row};
use crate::{handle, ops};
use aws_sdk_iam::types::InstanceProfile;

crate::handle_type!(InstanceProfileHandle);

pub const KIND: Kind = Kind::of(&SCHEMA);

pub static SCHEMA: Schema = Schema::new("instance_profile", "InstanceProfile", FIELDS)
    .attr("arn")
    .names(NameRule::chars(
        1,
        128,
        |c| c.is_ascii_alphanumeric() || "+=,.@-_".contains(c),
        "letters, digits and `+=,.@-_`",
    ));

/// The IAM actions of its operations (`bp permissions`).
pub const IAM: crate::permissions::Iam =
    crate::permissions::Iam::reads(&["iam:ListInstanceProfiles", "iam:GetInstanceProfile"])
        .create(&[
            "iam:CreateInstanceProfile",
            "iam:TagInstanceProfile",
            "iam:AddRoleToInstanceProfile",
        ])
        .update(&[
            "iam:AddRoleToInstanceProfile",
            "iam:RemoveRoleFromInstanceProfile",
        ])
        .delete(&[
            "iam:RemoveRoleFromInstanceProfile",
            "iam:DeleteInstanceProfile",
        ])
        .arns(&["arn:aws:iam::{account}:instance-profile/blueprint/{blueprint}/*"])
        .owned(&["arn:aws:iam::{account}:instance-profile/blueprint/{blueprint}/*"])
        .passes_role();

pub static DEF: KindDef = KindDef::new(
    KIND,
    Pricing::Free,
    handle!(InstanceProfileHandle),
    ops!(own),
)
.iam(IAM);

const FIELDS: &[Field] = &[
    Field::new("name").replaces("an instance profile's name cannot change"),
    Field::new("role").refers(),
];

/// Declares the instance profile `name` carrying `role`; its address.
pub fn declare(
    state: &crate::script::state::Shared,
    ctx: &rhai::NativeCallContext,
    name: &str,
    role: &Address,
) -> crate::script::state::Fallible<Address> {
    let profile = role.sibling(KIND, name);
    let mut deps = crate::script::state::Deps::default();
    deps.add(role);
    let spec = crate::model::Map::from([
        ("name".into(), Value::str(name)),
        (
            "role".into(),
            Value::Ref(crate::model::Ref {
                address: role.clone(),
                attr: "name".into(),
            }),
        ),
    ]);
    crate::script::state::declare(state, ctx, profile.clone(), spec, deps)?;
    Ok(profile)
}

fn live_of(p: &InstanceProfile) -> Live {
    let name = p.instance_profile_name();
    let mut l = Live::new(Address::new(KIND, name), name)
        .attr("name", Value::str(name))
        .output("name", name)
        .output("arn", p.arn());
    if let Some(r) = p.roles().first() {
        l.attrs.insert("role".into(), Value::str(r.role_name()));
    }
    l
}

async fn all(cloud: &Cloud, prefix: &str) -> Result<Vec<InstanceProfile>, ProviderError> {
    cloud
        .iam()
        .list_instance_profiles()
        .path_prefix(prefix)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .map_err(ProviderError::api("ListInstanceProfiles"))
}

/// The blueprint's profiles: one paginated list under its IAM path.
pub async fn read(cloud: &Cloud) -> Result<Vec<Live>, ProviderError> {
    let path = role_path(cloud);
    Ok(all(cloud, &path)
        .await?
        .iter()
        .filter(|p| p.path() == path)
        .map(live_of)
        .collect())
}

async fn get(cloud: &Cloud, name: &str) -> Result<Option<InstanceProfile>, ProviderError> {
    let out = cloud
        .iam()
        .get_instance_profile()
        .instance_profile_name(name)
        .send()
        .await
        .map_err(ProviderError::api("GetInstanceProfile"));
    Ok(ProviderError::absent_ok(out)?.and_then(|o| o.instance_profile().cloned()))
}

async fn settled(cloud: &Cloud, r: &Planned, name: &str) -> Result<Live, ProviderError> {
    let p = get(cloud, name).await?.ok_or_else(|| {
        ProviderError::Unexpected(format!("{}: profile {name} is gone", r.address))
    })?;
    Ok(live_of(&p))
}

async fn set_role(
    cloud: &Cloud,
    name: &str,
    had: Option<&str>,
    want: &str,
) -> Result<(), ProviderError> {
    let iam = cloud.iam();
    if let Some(old) = had.filter(|o| *o != want) {
        iam.remove_role_from_instance_profile()
            .instance_profile_name(name)
            .role_name(old)
            .send()
            .await
            .map_err(ProviderError::api("RemoveRoleFromInstanceProfile"))?;
    }
    if had != Some(want) {
        iam.add_role_to_instance_profile()
            .instance_profile_name(name)
            .role_name(want)
            .send()
            .await
            .map_err(ProviderError::api("AddRoleToInstanceProfile"))?;
    }
    Ok(())
}

pub async fn create(cloud: &Cloud, r: &Planned) -> Result<Live, ProviderError> {
    let name = r.str("name")?;
    let existing = get(cloud, name).await?;
    if let Some(p) = &existing {
        if p.path() != role_path(cloud) {
            return Err(ProviderError::Spec(format!(
                "{}: an instance profile named {name} exists and is not this blueprint's",
                r.address
            )));
        }
    } else {
        cloud
            .iam()
            .create_instance_profile()
            .instance_profile_name(name)
            .path(role_path(cloud))
            .set_tags(Some(iam_tags(cloud, r)))
            .send()
            .await
            .map_err(ProviderError::api("CreateInstanceProfile"))?;
    }
    let had = existing
        .as_ref()
        .and_then(|p| p.roles().first())
        .map(|r| r.role_name().to_string());
    set_role(cloud, name, had.as_deref(), r.str("role")?).await?;
    settled(cloud, r, name).await
}

pub async fn update(
    cloud: &Cloud,
    r: &Planned,
    live: &Live,
    fields: &[FieldDiff],
) -> Result<Live, ProviderError> {
    let name = r.str("name")?;
    if touches(fields, "role") {
        let had = live.attrs.get("role").and_then(Value::as_str);
        set_role(cloud, name, had, r.str("role")?).await?;
    }
    settled(cloud, r, name).await
}

pub async fn delete(cloud: &Cloud, live: &Live) -> Result<(), ProviderError> {
    let iam = cloud.iam();
    if let Some(role) = live.attrs.get("role").and_then(Value::as_str) {
        iam.remove_role_from_instance_profile()
            .instance_profile_name(&live.id)
            .role_name(role)
            .send()
            .await
            .gone("RemoveRoleFromInstanceProfile")?;
    }
    iam.delete_instance_profile()
        .instance_profile_name(&live.id)
        .send()
        .await
        .gone("DeleteInstanceProfile")
}

/// Every instance profile, for `:live`.
pub async fn list(cloud: &Cloud) -> Result<Vec<Row>, ProviderError> {
    Ok(all(cloud, "/")
        .await?
        .iter()
        .map(|p| Row {
            id: p.instance_profile_name().into(),
            name: p.instance_profile_name().into(),
            details: p
                .roles()
                .iter()
                .map(|r| r.role_name())
                .collect::<Vec<_>>()
                .join(", "),
            owner: p
                .path()
                .strip_prefix("/blueprint/")
                .map(|b| b.trim_end_matches('/').to_string()),
        })
        .collect())
}
