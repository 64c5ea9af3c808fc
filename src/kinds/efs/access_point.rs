//! EFS access points, from `fs.access_point(name, #{ path, uid, gid,
//! permissions })`. EFS cannot change one: a new path, user or mode is a
//! new access point. Tags change in place. Created with a client token, so
//! a create whose answer was lost does not make a second one.

use super::{client, efs_tags, user_tags};
use crate::cost::Pricing;
use crate::kinds::{Field, KindDef, TAGS};
use crate::model::names::NameRule;
use crate::model::schema::Schema;
use crate::model::{Address, Kind, Live, Value};
use crate::plan::{touches, FieldDiff};
use crate::providers::AwsResult as _;
use crate::providers::{Cloud, Planned, ProviderError, Row, TAG_ADDRESS, TAG_NAME};
use crate::script::handles::Output;
use crate::{handle, ops};
use aws_sdk_efs::types::{AccessPointDescription, CreationInfo, PosixUser, RootDirectory};
use aws_sdk_efs::Client;

crate::handle_type!(EfsAccessPoint);

pub const KIND: Kind = Kind::of(&SCHEMA);

pub static SCHEMA: Schema = Schema::new("efs_access_point", "EfsAccessPoint", FIELDS)
    .names(NameRule::chars(1, 255, |c| c != ' ', "no spaces"));

/// The IAM actions of its operations (`bp permissions`).
pub const IAM: crate::permissions::Iam =
    crate::permissions::Iam::reads(&["elasticfilesystem:DescribeAccessPoints"])
        .create(&[
            "elasticfilesystem:CreateAccessPoint",
            "elasticfilesystem:TagResource",
        ])
        .update(&[
            "elasticfilesystem:TagResource",
            "elasticfilesystem:UntagResource",
        ])
        .delete(&["elasticfilesystem:DeleteAccessPoint"])
        .tag_condition();

pub static DEF: KindDef = KindDef::new(
    KIND,
    Pricing::Free,
    handle!(EfsAccessPoint; &[], register; ["address", "arn", "id"]),
    ops!(with super::file_system::KIND),
)
.adopt(crate::boxed!(adopt super::adopt))
.iam(IAM);

/// The handle type, and its `id` and `arn` (known after apply).
fn register(e: &mut rhai::Engine, _: &crate::script::state::Shared) {
    EfsAccessPoint::register_type(e);
    e.register_get("id", |a: &mut EfsAccessPoint| {
        Output::attr(&a.0, "id", None)
    });
    e.register_get("arn", |a: &mut EfsAccessPoint| {
        Output::attr(&a.0, "arn", None)
    });
}

const FIXED: &str = "EFS cannot change an access point";

const FIELDS: &[Field] = &[
    Field::new("name"),
    Field::new("file_system").replaces(FIXED).refers(),
    Field::new("path").replaces(FIXED),
    Field::new("uid").replaces(FIXED),
    Field::new("gid").replaces(FIXED),
    Field::new("permissions").replaces(FIXED),
    TAGS,
];

async fn points(efs: &Client, fs: &str) -> Result<Vec<AccessPointDescription>, ProviderError> {
    let out = efs
        .describe_access_points()
        .file_system_id(fs)
        .send()
        .await
        .map_err(ProviderError::api("DescribeAccessPoints"));
    Ok(ProviderError::absent_ok(out)?
        .map(|o| o.access_points().to_vec())
        .unwrap_or_default())
}

fn live_of(cloud: &Cloud, a: &AccessPointDescription) -> Option<Live> {
    let tag = |k: &str| a.tags().iter().find(|t| t.key() == k).map(|t| t.value());
    if tag(TAG_NAME) != Some(cloud.blueprint.as_str()) {
        return None;
    }
    let address: Address = tag(TAG_ADDRESS)?.parse().ok()?;
    let id = a.access_point_id()?;
    let user = a.posix_user();
    let root = a.root_directory();
    let info = root.and_then(|r| r.creation_info());
    let mut l = Live::new(address.clone(), id)
        .attr(
            "name",
            Value::str(tag("Name").unwrap_or(address.name.rsplit('/').next().unwrap_or_default())),
        )
        .attr(
            "file_system",
            Value::str(a.file_system_id().unwrap_or_default()),
        )
        .attr(
            "path",
            Value::str(root.and_then(|r| r.path()).unwrap_or("/")),
        )
        .attr("uid", Value::Int(user.map(|u| u.uid()).unwrap_or_default()))
        .attr("gid", Value::Int(user.map(|u| u.gid()).unwrap_or_default()))
        .attr(
            "permissions",
            Value::str(info.map(|i| i.permissions()).unwrap_or_default()),
        )
        .output("id", id)
        .output("arn", a.access_point_arn().unwrap_or_default());
    if let Some(t) = user_tags(a.tags()) {
        l.attrs.insert("tags".into(), t);
    }
    Some(l)
}

/// The owned access points of a file system.
pub(super) async fn of(cloud: &Cloud, efs: &Client, fs: &str) -> Result<Vec<Live>, ProviderError> {
    Ok(points(efs, fs)
        .await?
        .iter()
        .filter_map(|a| live_of(cloud, a))
        .collect())
}

async fn find(cloud: &Cloud, r: &Planned) -> Result<Option<Live>, ProviderError> {
    let efs = client(cloud);
    Ok(of(cloud, &efs, r.str("file_system")?)
        .await?
        .into_iter()
        .find(|l| l.address == r.address))
}

pub async fn create(cloud: &Cloud, r: &Planned) -> Result<Live, ProviderError> {
    if let Some(l) = find(cloud, r).await? {
        return Ok(l);
    }
    let int = |k: &str| -> Result<i64, ProviderError> {
        r.get(k)?
            .and_then(Value::as_int)
            .ok_or_else(|| ProviderError::Spec(format!("{}: no {k}", r.address)))
    };
    let (uid, gid) = (int("uid")?, int("gid")?);
    let built = |e: aws_smithy_types::error::operation::BuildError| super::build_err(e);
    client(cloud)
        .create_access_point()
        .client_token(cloud.client_token(&r.address))
        .file_system_id(r.str("file_system")?)
        .posix_user(
            PosixUser::builder()
                .uid(uid)
                .gid(gid)
                .build()
                .map_err(built)?,
        )
        .root_directory(
            RootDirectory::builder()
                .path(r.str("path")?)
                .creation_info(
                    CreationInfo::builder()
                        .owner_uid(uid)
                        .owner_gid(gid)
                        .permissions(r.str("permissions")?)
                        .build()
                        .map_err(built)?,
                )
                .build(),
        )
        .set_tags(Some(efs_tags(cloud, r)?))
        .send()
        .await
        .map_err(ProviderError::api("CreateAccessPoint"))?;
    find(cloud, r).await?.ok_or_else(|| {
        ProviderError::Unexpected(format!(
            "{}: the access point is not found after its creation",
            r.address
        ))
    })
}

pub async fn update(
    cloud: &Cloud,
    r: &Planned,
    live: &Live,
    fields: &[FieldDiff],
) -> Result<Live, ProviderError> {
    if touches(fields, "tags") || touches(fields, "name") {
        super::file_system::retag(cloud, r, live, &live.id).await?;
    }
    find(cloud, r).await?.ok_or_else(|| {
        ProviderError::Unexpected(format!("{}: the access point is gone", r.address))
    })
}

pub async fn delete(cloud: &Cloud, live: &Live) -> Result<(), ProviderError> {
    client(cloud)
        .delete_access_point()
        .access_point_id(&live.id)
        .send()
        .await
        .gone("DeleteAccessPoint")
}

/// Every access point in the region, for `:live`.
pub async fn list(cloud: &Cloud) -> Result<Vec<Row>, ProviderError> {
    let out = client(cloud)
        .describe_access_points()
        .send()
        .await
        .map_err(ProviderError::api("DescribeAccessPoints"))?;
    Ok(out
        .access_points()
        .iter()
        .map(|a| {
            let tag = |k: &str| {
                a.tags()
                    .iter()
                    .find(|t| t.key() == k)
                    .map(|t| t.value().to_string())
            };
            Row::new(
                a.access_point_id().unwrap_or_default(),
                a.name().unwrap_or_default(),
                format!(
                    "{} {}",
                    a.file_system_id().unwrap_or_default(),
                    a.root_directory().and_then(|r| r.path()).unwrap_or("/")
                ),
            )
            .owner(tag)
        })
        .collect())
}
