//! EC2 launch templates, declared by a node group that takes security
//! groups, a disk, instance metadata settings or user data
//! (`node_group(..., #{ security_groups, disk, imds, user_data })`). A change
//! makes a new version and makes it the default; its `version` output
//! changes with it, so the node group that uses the template is planned to
//! roll to the new version in the same apply.

use crate::cost::Pricing;
use crate::kinds::{Diff, Field, KindDef, TAGS};
use crate::model::schema::Schema;
use crate::model::{Kind, Live, Map, Value};
use crate::plan::{touches, FieldDiff};
use crate::providers::aws::{read_tags, sync_ec2_tags, tag_spec};
use crate::providers::{Cloud, Planned, ProviderError, Row};
use aws_sdk_ec2::types::{
    LaunchTemplateBlockDeviceMappingRequest, LaunchTemplateEbsBlockDeviceRequest,
    LaunchTemplateHttpTokensState, LaunchTemplateInstanceMetadataOptionsRequest,
    RequestLaunchTemplateData, ResourceType, ResponseLaunchTemplateData, VolumeType,
};
use base64::Engine as _;

crate::handle_type!(LaunchTemplate);

/// The template's data as the spec declares it.
fn data(r: &Planned) -> Result<RequestLaunchTemplateData, ProviderError> {
    let mut d = RequestLaunchTemplateData::builder()
        .set_security_group_ids(Some(r.strs("security_groups")?));
    if let Some(disk) = r.spec.get("disk").and_then(Value::as_map) {
        let get = |k: &str| disk.get(k);
        let mut ebs = LaunchTemplateEbsBlockDeviceRequest::builder()
            .delete_on_termination(true)
            .set_volume_size(get("size").and_then(Value::as_int).map(|s| s as i32))
            .set_volume_type(get("type").and_then(Value::as_str).map(VolumeType::from))
            .set_iops(get("iops").and_then(Value::as_int).map(|s| s as i32))
            .set_encrypted(get("encrypted").and_then(Value::as_bool));
        if let Some(k) = get("kms_key").and_then(Value::as_str) {
            ebs = ebs.kms_key_id(k);
        }
        d = d.block_device_mappings(
            LaunchTemplateBlockDeviceMappingRequest::builder()
                .device_name(get("device").and_then(Value::as_str).unwrap_or("/dev/xvda"))
                .ebs(ebs.build())
                .build(),
        );
    }
    if let Some(imds) = r.spec.get("imds").and_then(Value::as_map) {
        let v2 = imds
            .get("v2_required")
            .and_then(Value::as_bool)
            .unwrap_or(true);
        d = d.metadata_options(
            LaunchTemplateInstanceMetadataOptionsRequest::builder()
                .http_tokens(if v2 {
                    LaunchTemplateHttpTokensState::Required
                } else {
                    LaunchTemplateHttpTokensState::Optional
                })
                .set_http_put_response_hop_limit(
                    imds.get("hop_limit")
                        .and_then(Value::as_int)
                        .map(|h| h as i32),
                )
                .build(),
        );
    }
    if let Some(u) = r.spec.get("user_data").and_then(Value::as_str) {
        d = d.user_data(base64::engine::general_purpose::STANDARD.encode(u));
    }
    Ok(d.build())
}

/// The spec's fields of a version's data.
fn attrs_of(l: &mut Live, d: &ResponseLaunchTemplateData) {
    let groups = d.security_group_ids().iter().map(Value::str).collect();
    l.attrs
        .insert("security_groups".into(), Value::List(groups));
    if let Some(ebs) = d.block_device_mappings().first().and_then(|b| b.ebs()) {
        let mut disk = Map::new();
        let device = d
            .block_device_mappings()
            .first()
            .and_then(|b| b.device_name());
        disk.insert("device".into(), device.map(Value::str).unwrap_or_default());
        disk.insert(
            "size".into(),
            ebs.volume_size()
                .map(|s| Value::Int(s.into()))
                .unwrap_or_default(),
        );
        disk.insert(
            "type".into(),
            ebs.volume_type()
                .map(|t| Value::str(t.as_str()))
                .unwrap_or_default(),
        );
        disk.insert(
            "iops".into(),
            ebs.iops().map(|s| Value::Int(s.into())).unwrap_or_default(),
        );
        disk.insert(
            "encrypted".into(),
            ebs.encrypted().map(Value::Bool).unwrap_or_default(),
        );
        disk.insert(
            "kms_key".into(),
            ebs.kms_key_id().map(Value::str).unwrap_or_default(),
        );
        l.attrs.insert("disk".into(), Value::Map(disk));
    }
    if let Some(m) = d.metadata_options() {
        let mut imds = Map::new();
        imds.insert(
            "v2_required".into(),
            Value::Bool(m.http_tokens() == Some(&LaunchTemplateHttpTokensState::Required)),
        );
        imds.insert(
            "hop_limit".into(),
            m.http_put_response_hop_limit()
                .map(|h| Value::Int(h.into()))
                .unwrap_or_default(),
        );
        l.attrs.insert("imds".into(), Value::Map(imds));
    }
    let user_data = d
        .user_data()
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .map(|b| Value::Str(String::from_utf8_lossy(&b).into_owned()));
    l.attrs
        .insert("user_data".into(), user_data.unwrap_or_default());
}

/// The data of a template's default version.
async fn default_version(
    cloud: &Cloud,
    id: &str,
) -> Result<Option<ResponseLaunchTemplateData>, ProviderError> {
    let out = cloud
        .ec2()
        .describe_launch_template_versions()
        .launch_template_id(id)
        .versions("$Default")
        .send()
        .await
        .map_err(ProviderError::api("DescribeLaunchTemplateVersions"))?;
    Ok(out
        .launch_template_versions()
        .first()
        .and_then(|v| v.launch_template_data())
        .cloned())
}

/// The owned templates: one list, then each one's default version.
pub async fn read(cloud: &Cloud) -> Result<Vec<Live>, ProviderError> {
    let templates = crate::ec2_pages!(
        cloud,
        describe_launch_templates,
        "DescribeLaunchTemplates",
        owned
    )?;
    // Each one's default version, read in parallel.
    let read = templates.iter().filter_map(|t| {
        let (address, tags, name) = read_tags(cloud, t.tags())?;
        let id = t.launch_template_id().unwrap_or_default();
        let version = t.default_version_number().unwrap_or_default().to_string();
        let l = crate::providers::aws::ec2_live(address, id, tags, name)
            .output("id", id)
            .output("version", &version);
        Some(async move {
            let mut l = l;
            if let Some(d) = default_version(cloud, id).await? {
                attrs_of(&mut l, &d);
            }
            Ok::<_, ProviderError>(l)
        })
    });
    futures::future::join_all(read).await.into_iter().collect()
}

/// What a template is once made or changed: the spec, with its id and
/// default version.
fn settled(r: &Planned, id: &str, version: i64) -> Live {
    let mut l = Live::new(r.address.clone(), id);
    l.attrs = r.spec.clone();
    l.output("id", id)
        .output("version", version.to_string())
        .output("name", r.str("name").unwrap_or_default())
}

pub async fn create(cloud: &Cloud, r: &Planned) -> Result<Live, ProviderError> {
    let out = cloud
        .ec2()
        .create_launch_template()
        .launch_template_name(r.str("name")?)
        .launch_template_data(data(r)?)
        .tag_specifications(tag_spec(cloud, ResourceType::LaunchTemplate, r))
        .client_token(cloud.client_token(&r.address))
        .send()
        .await
        .map_err(ProviderError::api("CreateLaunchTemplate"))?;
    let t = out.launch_template().ok_or_else(|| {
        ProviderError::Unexpected("CreateLaunchTemplate returned no template".into())
    })?;
    let id = t.launch_template_id().unwrap_or_default();
    Ok(settled(r, id, t.default_version_number().unwrap_or(1)))
}

/// A change of its data is a new version, made the default.
pub async fn update(
    cloud: &Cloud,
    r: &Planned,
    live: &Live,
    fields: &[FieldDiff],
) -> Result<Live, ProviderError> {
    let changed = |p: &str| touches(fields, p);
    let mut version: i64 = live
        .outputs
        .get("version")
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    if ["security_groups", "disk", "imds", "user_data"]
        .iter()
        .any(|f| changed(f))
    {
        let out = cloud
            .ec2()
            .create_launch_template_version()
            .launch_template_id(&live.id)
            .launch_template_data(data(r)?)
            .send()
            .await
            .map_err(ProviderError::api("CreateLaunchTemplateVersion"))?;
        version = out
            .launch_template_version()
            .and_then(|v| v.version_number())
            .ok_or_else(|| {
                ProviderError::Unexpected("CreateLaunchTemplateVersion returned no version".into())
            })?;
        cloud
            .ec2()
            .modify_launch_template()
            .launch_template_id(&live.id)
            .default_version(version.to_string())
            .send()
            .await
            .map_err(ProviderError::api("ModifyLaunchTemplate"))?;
    }
    if changed("tags") || changed("name") {
        sync_ec2_tags(cloud, &live.id, r, live).await?;
    }
    Ok(settled(r, &live.id, version))
}

pub async fn delete(cloud: &Cloud, live: &Live) -> Result<(), ProviderError> {
    use crate::providers::AwsResult as _;
    cloud
        .ec2()
        .delete_launch_template()
        .launch_template_id(&live.id)
        .send()
        .await
        .gone("DeleteLaunchTemplate")
}

/// Every launch template in the region, owned or not, for `:live`.
pub async fn list(cloud: &Cloud) -> Result<Vec<Row>, ProviderError> {
    let all = crate::ec2_pages!(
        cloud,
        describe_launch_templates,
        "DescribeLaunchTemplates",
        all
    )?;
    Ok(all
        .iter()
        .map(|t| {
            let version = format!("version {}", t.default_version_number().unwrap_or_default());
            Row {
                name: t.launch_template_name().unwrap_or_default().into(),
                ..Row::ec2(t.launch_template_id(), t.tags(), version)
            }
        })
        .collect())
}

pub const KIND: Kind = Kind::of(&SCHEMA);

pub static SCHEMA: Schema = Schema::new("launch_template", "LaunchTemplate", FIELDS)
    .attr("id")
    .names(crate::model::names::NameRule::chars(
        3,
        128,
        |c| c.is_ascii_alphanumeric() || "()./_-".contains(c),
        "letters, digits and `()./_-`",
    ))
    .outputs_on_update(&["version"]);

/// The IAM actions of its operations (`bp permissions`).
pub const IAM: crate::permissions::Iam = crate::permissions::Iam::reads(&[
    "ec2:DescribeLaunchTemplates",
    "ec2:DescribeLaunchTemplateVersions",
])
.create(&["ec2:CreateLaunchTemplate", "ec2:CreateTags"])
.update(&[
    "ec2:CreateLaunchTemplateVersion",
    "ec2:ModifyLaunchTemplate",
    "ec2:CreateTags",
    "ec2:DeleteTags",
])
.delete(&["ec2:DeleteLaunchTemplate"])
.tag_condition();

pub static DEF: KindDef = KindDef::new(
    KIND,
    Pricing::Free,
    crate::handle!(LaunchTemplate),
    crate::ops!(own),
)
.adopt(crate::boxed!(adopt crate::providers::aws::adopt_ec2))
.unsafe_to_resend(&[])
.iam(IAM);

const FIELDS: &[Field] = &[
    Field::new("name").replaces("a launch template cannot be renamed"),
    Field::new("security_groups").set().refers(),
    Field::new("disk").diff(Diff::Struct(&[
        Field::new("device"),
        Field::new("size"),
        Field::new("type"),
        Field::new("iops"),
        Field::new("encrypted"),
        Field::new("kms_key").refers(),
    ])),
    Field::new("imds").diff(Diff::Struct(&[
        Field::new("v2_required"),
        Field::new("hop_limit"),
    ])),
    Field::new("user_data"),
    TAGS,
];
