//! IAM groups and users: the people side of an account (a team's group,
//! with the policies its members get, among them an MFA requirement, and
//! its users). Both live under the blueprint's path `/blueprint/<name>/`
//! and are read with the roles, in the same GetAccountAuthorizationDetails
//! pages. Groups take no tags in IAM: the path alone says they are the
//! blueprint's, and their address is their name. A user's console password,
//! access keys and MFA devices are its person's: Blueprint never makes
//! them, and removes them only to delete the user.

use super::role::{iam_tags, owned, policy_value, role_path};
use super::{converge, listed, sync_tags};
use crate::cost::Pricing;
use crate::kinds::{Field, KindDef, Read, TAGS};
use crate::model::schema::Schema;
use crate::model::{Address, Kind, Live, Map, Value};
use crate::plan::{touches, FieldDiff};
use crate::providers::AwsResult as _;
use crate::providers::{Cloud, Planned, ProviderError, Row};
use aws_sdk_iam::types::{GroupDetail, UserDetail};

crate::handle_type!(IamGroup);
crate::handle_type!(IamUser);

/// A group as read: its managed and inline policies.
pub fn group_live(g: &GroupDetail) -> Option<Live> {
    let name = g.group_name()?;
    let mut managed: Vec<String> = g
        .attached_managed_policies()
        .iter()
        .filter_map(|p| p.policy_arn().map(String::from))
        .collect();
    managed.sort();
    let inline: Map = g
        .group_policy_list()
        .iter()
        .filter_map(|p| {
            Some((
                p.policy_name()?.to_string(),
                policy_value(p.policy_document()?),
            ))
        })
        .collect();
    Some(
        Live::new(Address::new(GROUP, name), name)
            .attr("name", Value::str(name))
            .attr(
                "managed_policies",
                Value::List(managed.iter().map(Value::str).collect()),
            )
            .attr("inline_policies", Value::Map(inline))
            .output("name", name)
            .output("arn", g.arn().unwrap_or_default()),
    )
}

/// A user as read: its groups and tags.
pub fn user_live(cloud: &Cloud, u: &UserDetail) -> Option<Live> {
    let (address, tags) = owned(cloud, u.tags())?;
    let name = u.user_name()?;
    let mut groups: Vec<String> = u.group_list().to_vec();
    groups.sort();
    let mut l = Live::new(address, name)
        .attr("name", Value::str(name))
        .attr(
            "groups",
            Value::List(groups.iter().map(Value::str).collect()),
        )
        .output("name", name)
        .output("arn", u.arn().unwrap_or_default());
    if !tags.is_empty() {
        l.attrs.insert("tags".into(), Value::Map(tags));
    }
    Some(l)
}

fn strs(r: &Planned, key: &str) -> Vec<String> {
    r.spec
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

/// Brings a group's policies to the declared ones.
async fn group_policies(
    cloud: &Cloud,
    name: &str,
    r: &Planned,
    live: Option<&Live>,
) -> Result<(), ProviderError> {
    let iam = cloud.iam();
    let had = live
        .map(|l| listed(l, "managed_policies"))
        .unwrap_or_default();
    converge(
        &strs(r, "managed_policies"),
        &had,
        |arn| {
            let call = iam.attach_group_policy().group_name(name).policy_arn(arn);
            async move { call.send().await.done("AttachGroupPolicy") }
        },
        |arn| {
            let call = iam.detach_group_policy().group_name(name).policy_arn(arn);
            async move { call.send().await.gone("DetachGroupPolicy") }
        },
    )
    .await?;
    let want = r
        .spec
        .get("inline_policies")
        .and_then(Value::as_map)
        .cloned()
        .unwrap_or_default();
    for (pname, doc) in &want {
        iam.put_group_policy()
            .group_name(name)
            .policy_name(pname)
            .policy_document(doc.to_json().to_string())
            .send()
            .await
            .done("PutGroupPolicy")?;
    }
    let had = live
        .and_then(|l| l.attrs.get("inline_policies"))
        .and_then(Value::as_map)
        .cloned()
        .unwrap_or_default();
    for pname in had.keys().filter(|k| !want.contains_key(*k)) {
        iam.delete_group_policy()
            .group_name(name)
            .policy_name(pname)
            .send()
            .await
            .gone("DeleteGroupPolicy")?;
    }
    Ok(())
}

fn settled(r: &Planned, name: &str, arn: &str) -> Live {
    let mut l = Live::new(r.address.clone(), name);
    l.attrs = r.spec.clone();
    l.output("name", name).output("arn", arn)
}

pub async fn create_group(cloud: &Cloud, r: &Planned) -> Result<Live, ProviderError> {
    let name = r.str("name")?;
    let out = cloud
        .iam()
        .create_group()
        .group_name(name)
        .path(role_path(cloud))
        .send()
        .await
        .map_err(ProviderError::api("CreateGroup"))?;
    group_policies(cloud, name, r, None).await?;
    Ok(settled(
        r,
        name,
        out.group().map(|g| g.arn()).unwrap_or_default(),
    ))
}

pub async fn update_group(
    cloud: &Cloud,
    r: &Planned,
    live: &Live,
    fields: &[FieldDiff],
) -> Result<Live, ProviderError> {
    if touches(fields, "managed_policies") || touches(fields, "inline_policies") {
        group_policies(cloud, &live.id, r, Some(live)).await?;
    }
    Ok(settled(
        r,
        &live.id,
        live.outputs
            .get("arn")
            .map(String::as_str)
            .unwrap_or_default(),
    ))
}

/// Its members leave it, its policies go, then the group.
pub async fn delete_group(cloud: &Cloud, live: &Live) -> Result<(), ProviderError> {
    let iam = cloud.iam();
    let name = live.id.as_str();
    let Some(members) = ProviderError::absent_ok(
        iam.get_group()
            .group_name(name)
            .send()
            .await
            .map_err(ProviderError::api("GetGroup")),
    )?
    else {
        return Ok(());
    };
    for u in members.users() {
        iam.remove_user_from_group()
            .group_name(name)
            .user_name(u.user_name())
            .send()
            .await
            .gone("RemoveUserFromGroup")?;
    }
    for arn in listed(live, "managed_policies") {
        iam.detach_group_policy()
            .group_name(name)
            .policy_arn(arn)
            .send()
            .await
            .gone("DetachGroupPolicy")?;
    }
    let inline = live
        .attrs
        .get("inline_policies")
        .and_then(Value::as_map)
        .cloned()
        .unwrap_or_default();
    for pname in inline.keys() {
        iam.delete_group_policy()
            .group_name(name)
            .policy_name(pname)
            .send()
            .await
            .gone("DeleteGroupPolicy")?;
    }
    iam.delete_group()
        .group_name(name)
        .send()
        .await
        .gone("DeleteGroup")
}

/// Brings a user's groups to the declared ones.
async fn memberships(
    cloud: &Cloud,
    name: &str,
    want: &[String],
    had: &[String],
) -> Result<(), ProviderError> {
    let iam = cloud.iam();
    converge(
        want,
        had,
        |g| {
            let call = iam.add_user_to_group().group_name(g).user_name(name);
            async move { call.send().await.done("AddUserToGroup") }
        },
        |g| {
            let call = iam.remove_user_from_group().group_name(g).user_name(name);
            async move { call.send().await.gone("RemoveUserFromGroup") }
        },
    )
    .await
}

pub async fn create_user(cloud: &Cloud, r: &Planned) -> Result<Live, ProviderError> {
    let name = r.str("name")?;
    let out = cloud
        .iam()
        .create_user()
        .user_name(name)
        .path(role_path(cloud))
        .set_tags(Some(iam_tags(cloud, r)))
        .send()
        .await
        .map_err(ProviderError::api("CreateUser"))?;
    memberships(cloud, name, &strs(r, "groups"), &[]).await?;
    Ok(settled(
        r,
        name,
        out.user().map(|u| u.arn()).unwrap_or_default(),
    ))
}

pub async fn update_user(
    cloud: &Cloud,
    r: &Planned,
    live: &Live,
    fields: &[FieldDiff],
) -> Result<Live, ProviderError> {
    let name = live.id.as_str();
    if touches(fields, "groups") {
        memberships(cloud, name, &strs(r, "groups"), &listed(live, "groups")).await?;
    }
    if touches(fields, "tags") {
        let iam = cloud.iam();
        sync_tags(
            cloud,
            r,
            live,
            |tags| async {
                let call = iam.tag_user().user_name(name).set_tags(Some(tags));
                call.send()
                    .await
                    .map(|_| ())
                    .map_err(ProviderError::api("TagUser"))
            },
            |keys| async {
                let call = iam.untag_user().user_name(name).set_tag_keys(Some(keys));
                call.send()
                    .await
                    .map(|_| ())
                    .map_err(ProviderError::api("UntagUser"))
            },
        )
        .await?;
    }
    Ok(settled(
        r,
        name,
        live.outputs
            .get("arn")
            .map(String::as_str)
            .unwrap_or_default(),
    ))
}

/// What its person made goes with it (console password, access keys,
/// MFA devices), and its memberships; then the user.
pub async fn delete_user(cloud: &Cloud, live: &Live) -> Result<(), ProviderError> {
    let iam = cloud.iam();
    let name = live.id.as_str();
    iam.delete_login_profile()
        .user_name(name)
        .send()
        .await
        .gone("DeleteLoginProfile")?;
    if let Some(keys) = ProviderError::absent_ok(
        iam.list_access_keys()
            .user_name(name)
            .send()
            .await
            .map_err(ProviderError::api("ListAccessKeys")),
    )? {
        for k in keys.access_key_metadata() {
            if let Some(id) = k.access_key_id() {
                iam.delete_access_key()
                    .user_name(name)
                    .access_key_id(id)
                    .send()
                    .await
                    .gone("DeleteAccessKey")?;
            }
        }
    }
    if let Some(devices) = ProviderError::absent_ok(
        iam.list_mfa_devices()
            .user_name(name)
            .send()
            .await
            .map_err(ProviderError::api("ListMFADevices")),
    )? {
        for d in devices.mfa_devices() {
            iam.deactivate_mfa_device()
                .user_name(name)
                .serial_number(d.serial_number())
                .send()
                .await
                .gone("DeactivateMFADevice")?;
        }
    }
    memberships(cloud, name, &[], &listed(live, "groups")).await?;
    iam.delete_user()
        .user_name(name)
        .send()
        .await
        .gone("DeleteUser")
}

/// Every group in the account, for `:live`.
pub async fn list_groups(cloud: &Cloud) -> Result<Vec<Row>, ProviderError> {
    let out = cloud
        .iam()
        .list_groups()
        .send()
        .await
        .map_err(ProviderError::api("ListGroups"))?;
    Ok(out
        .groups()
        .iter()
        .map(|g| Row::new(g.group_name(), g.group_name(), g.path()))
        .collect())
}

/// Every user in the account, for `:live`.
pub async fn list_users(cloud: &Cloud) -> Result<Vec<Row>, ProviderError> {
    let out = cloud
        .iam()
        .list_users()
        .send()
        .await
        .map_err(ProviderError::api("ListUsers"))?;
    Ok(out
        .users()
        .iter()
        .map(|u| Row::new(u.user_name(), u.user_name(), u.path()))
        .collect())
}

pub const GROUP: Kind = Kind::of(&GROUP_SCHEMA);
pub const USER: Kind = Kind::of(&USER_SCHEMA);

pub static GROUP_SCHEMA: Schema = Schema::new("iam_group", "IamGroup", GROUP_FIELDS)
    .attr("name")
    .names(crate::model::names::NameRule::chars(
        1,
        128,
        super::role::iam_char,
        "letters, digits and `+=,.@-_`",
    ));
pub static USER_SCHEMA: Schema = Schema::new("iam_user", "IamUser", USER_FIELDS)
    .attr("arn")
    .names(crate::model::names::NameRule::chars(
        1,
        64,
        super::role::iam_char,
        "letters, digits and `+=,.@-_`",
    ));

/// The IAM actions of its operations (`bp permissions`).
pub const GROUP_IAM: crate::permissions::Iam = crate::permissions::Iam::reads(&[])
    .create(&[
        "iam:CreateGroup",
        "iam:PutGroupPolicy",
        "iam:AttachGroupPolicy",
    ])
    .update(&[
        "iam:PutGroupPolicy",
        "iam:DeleteGroupPolicy",
        "iam:AttachGroupPolicy",
        "iam:DetachGroupPolicy",
    ])
    .delete(&[
        "iam:GetGroup",
        "iam:RemoveUserFromGroup",
        "iam:DetachGroupPolicy",
        "iam:DeleteGroupPolicy",
        "iam:DeleteGroup",
    ])
    .arns(&["arn:aws:iam::{account}:group/blueprint/{blueprint}/*"])
    .owned(&["arn:aws:iam::{account}:group/blueprint/{blueprint}/*"]);

pub static GROUP_DEF: KindDef = KindDef::new(
    GROUP,
    Pricing::Free,
    crate::handle!(IamGroup; super::GROUP_FUNCTIONS, super::register_people; ["address", "arn", "name"]),
    crate::kinds::Ops {
        read: Read::With(super::role::KIND),
        create: crate::boxed!(create create_group),
        update: Some(crate::boxed!(update update_group)),
        delete: crate::boxed!(delete delete_group),
        list: crate::boxed!(read list_groups),
    },
)
.iam(GROUP_IAM);
/// The IAM actions of its operations (`bp permissions`).
pub const USER_IAM: crate::permissions::Iam = crate::permissions::Iam::reads(&[])
    .create(&["iam:CreateUser", "iam:TagUser", "iam:AddUserToGroup"])
    .update(&[
        "iam:AddUserToGroup",
        "iam:RemoveUserFromGroup",
        "iam:TagUser",
        "iam:UntagUser",
    ])
    .delete(&[
        "iam:DeleteLoginProfile",
        "iam:ListAccessKeys",
        "iam:DeleteAccessKey",
        "iam:ListMFADevices",
        "iam:DeactivateMFADevice",
        "iam:RemoveUserFromGroup",
        "iam:DeleteUser",
    ])
    // Memberships are actions on the groups.
    .arns(&[
        "arn:aws:iam::{account}:user/blueprint/{blueprint}/*",
        "arn:aws:iam::{account}:group/blueprint/{blueprint}/*",
    ])
    .owned(&[
        "arn:aws:iam::{account}:user/blueprint/{blueprint}/*",
        "arn:aws:iam::{account}:group/blueprint/{blueprint}/*",
    ]);

pub static USER_DEF: KindDef = KindDef::new(
    USER,
    Pricing::Free,
    crate::handle!(IamUser; super::USER_FUNCTIONS, |_, _| {}; ["address", "arn", "name"]),
    crate::kinds::Ops {
        read: Read::With(super::role::KIND),
        create: crate::boxed!(create create_user),
        update: Some(crate::boxed!(update update_user)),
        delete: crate::boxed!(delete delete_user),
        list: crate::boxed!(read list_users),
    },
)
.iam(USER_IAM);

const GROUP_FIELDS: &[Field] = &[
    Field::new("name").replaces("an IAM group cannot be renamed here"),
    Field::new("managed_policies").set(),
    Field::new("inline_policies").map(),
];
const USER_FIELDS: &[Field] = &[
    Field::new("name").replaces("an IAM user cannot be renamed here"),
    Field::new("groups").set().refers(),
    TAGS,
];
