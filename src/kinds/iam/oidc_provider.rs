//! The IAM OIDC provider of a cluster (IAM roles for service accounts).
//! Read together with IAM roles ([`super::role::read`]).

use super::role::{iam_tags, owned};
use crate::cost::Pricing;
use crate::handle;
use crate::kinds::{Field, KindDef, Read, TAGS};
use crate::model::schema::Schema;
use crate::model::{Kind, Live, Value};
use crate::plan::{touches, FieldDiff};
use crate::providers::AwsResult as _;
use crate::providers::{Cloud, Planned, ProviderError, Row};

pub const KIND: Kind = Kind::of(&SCHEMA);

pub static SCHEMA: Schema = Schema::new("oidc_provider", "OidcProvider", FIELDS).attr("arn");

/// The IAM actions of its operations (`bp permissions`).
pub const IAM: crate::permissions::Iam = crate::permissions::Iam::reads(&[
    "iam:ListOpenIDConnectProviders",
    "iam:GetOpenIDConnectProvider",
])
.create(&[
    "iam:CreateOpenIDConnectProvider",
    "iam:TagOpenIDConnectProvider",
])
.update(&[
    "iam:AddClientIDToOpenIDConnectProvider",
    "iam:RemoveClientIDFromOpenIDConnectProvider",
    "iam:TagOpenIDConnectProvider",
    "iam:UntagOpenIDConnectProvider",
])
.delete(&["iam:DeleteOpenIDConnectProvider"])
.arns(&["arn:aws:iam::{account}:oidc-provider/*"])
.owned(&["arn:aws:iam::{account}:oidc-provider/*"]);

pub static DEF: KindDef = KindDef::new(
    KIND,
    Pricing::Free,
    handle!(super::OidcProvider),
    crate::kinds::Ops {
        read: Read::With(super::role::KIND),
        create: crate::boxed!(create create_oidc_provider),
        update: Some(crate::boxed!(update update_oidc_provider)),
        delete: crate::boxed!(delete delete_oidc_provider),
        list: crate::boxed!(read list),
    },
)
.adopt(crate::boxed!(adopt adopt))
.iam(IAM);

const FIELDS: &[Field] = &[
    Field::new("url")
        .replaces("an OIDC provider's URL cannot change")
        .refers(),
    Field::new("client_ids").set(),
    TAGS,
];

/// Every OIDC provider in the account, owned or not, for `:live`.
pub async fn list(cloud: &Cloud) -> Result<Vec<Row>, ProviderError> {
    let rows = {
        let out = cloud
            .iam()
            .list_open_id_connect_providers()
            .send()
            .await
            .map_err(ProviderError::api("ListOpenIDConnectProviders"))?;
        out.open_id_connect_provider_list()
            .iter()
            .filter_map(|p| p.arn())
            .map(|arn| {
                Row::new(
                    arn,
                    arn.rsplit(":oidc-provider/").next().unwrap_or_default(),
                    String::new(),
                )
            })
            .collect()
    };
    Ok(rows)
}

pub async fn read(cloud: &Cloud) -> Result<Vec<Live>, ProviderError> {
    let list = cloud
        .iam()
        .list_open_id_connect_providers()
        .send()
        .await
        .map_err(ProviderError::api("ListOpenIDConnectProviders"))?;
    let arns: Vec<String> = list
        .open_id_connect_provider_list()
        .iter()
        .filter_map(|p| p.arn().map(String::from))
        .collect();
    let got = futures::future::join_all(arns.iter().map(|arn| async move {
        cloud
            .iam()
            .get_open_id_connect_provider()
            .open_id_connect_provider_arn(arn)
            .send()
            .await
            .map(|o| (arn.clone(), o))
            .map_err(ProviderError::api("GetOpenIDConnectProvider"))
    }))
    .await;
    let mut out = Vec::new();
    for g in got {
        let (arn, o) = g?;
        let Some((address, tags)) = owned(cloud, o.tags()) else {
            continue;
        };
        let url = o.url().unwrap_or_default();
        let url = if url.starts_with("https://") {
            url.to_string()
        } else {
            format!("https://{url}")
        };
        let mut l = Live::new(address, &arn)
            .attr("url", Value::str(&url))
            .attr(
                "client_ids",
                Value::List(o.client_id_list().iter().map(Value::str).collect()),
            )
            .output("arn", &arn);
        if !tags.is_empty() {
            l.attrs.insert("tags".into(), Value::Map(tags));
        }
        out.push(l);
    }
    Ok(out)
}

pub async fn create_oidc_provider(cloud: &Cloud, r: &Planned) -> Result<Live, ProviderError> {
    let url = r.str("url")?;
    let out = cloud
        .iam()
        .create_open_id_connect_provider()
        .url(url)
        .set_client_id_list(Some(r.strs("client_ids")?))
        .set_tags(Some(iam_tags(cloud, r)))
        .send()
        .await
        .map_err(ProviderError::api("CreateOpenIDConnectProvider"))?;
    let arn = out
        .open_id_connect_provider_arn()
        .unwrap_or_default()
        .to_string();
    let mut l = Live::new(r.address.clone(), &arn);
    l.attrs = r.spec.clone();
    Ok(l.output("arn", &arn))
}

pub async fn update_oidc_provider(
    cloud: &Cloud,
    r: &Planned,
    live: &Live,
    fields: &[FieldDiff],
) -> Result<Live, ProviderError> {
    if touches(fields, "client_ids") {
        let want = r.strs("client_ids")?;
        let had: Vec<String> = live
            .attrs
            .get("client_ids")
            .and_then(Value::as_list)
            .unwrap_or_default()
            .iter()
            .filter_map(|v| v.as_str().map(String::from))
            .collect();
        for c in want.iter().filter(|c| !had.contains(c)) {
            cloud
                .iam()
                .add_client_id_to_open_id_connect_provider()
                .open_id_connect_provider_arn(&live.id)
                .client_id(c)
                .send()
                .await
                .map_err(ProviderError::api("AddClientIDToOpenIDConnectProvider"))?;
        }
        for c in had.iter().filter(|c| !want.contains(c)) {
            cloud
                .iam()
                .remove_client_id_from_open_id_connect_provider()
                .open_id_connect_provider_arn(&live.id)
                .client_id(c)
                .send()
                .await
                .map_err(ProviderError::api(
                    "RemoveClientIDFromOpenIDConnectProvider",
                ))?;
        }
    }
    if touches(fields, "tags") {
        cloud
            .iam()
            .tag_open_id_connect_provider()
            .open_id_connect_provider_arn(&live.id)
            .set_tags(Some(iam_tags(cloud, r)))
            .send()
            .await
            .map_err(ProviderError::api("TagOpenIDConnectProvider"))?;
        let stale = crate::providers::stale_tag_keys(r, live);
        if !stale.is_empty() {
            cloud
                .iam()
                .untag_open_id_connect_provider()
                .open_id_connect_provider_arn(&live.id)
                .set_tag_keys(Some(stale))
                .send()
                .await
                .map_err(ProviderError::api("UntagOpenIDConnectProvider"))?;
        }
    }
    let mut l = live.clone();
    l.attrs = r.spec.clone();
    Ok(l)
}

pub async fn delete_oidc_provider(cloud: &Cloud, live: &Live) -> Result<(), ProviderError> {
    crate::providers::aws::retry_in_use(cloud, "DeleteOpenIDConnectProvider", || async {
        cloud
            .iam()
            .delete_open_id_connect_provider()
            .open_id_connect_provider_arn(&live.id)
            .send()
            .await
            .done("DeleteOpenIDConnectProvider")
    })
    .await
}

/// `bp adopt`: tags the provider with this ARN (one `eksctl utils
/// associate-iam-oidc-provider` made) as the blueprint's.
async fn adopt(cloud: &Cloud, id: &str, tags: &[(String, String)]) -> Result<(), ProviderError> {
    let tags = tags
        .iter()
        .filter_map(|(k, v)| {
            aws_sdk_iam::types::Tag::builder()
                .key(k)
                .value(v)
                .build()
                .ok()
        })
        .collect();
    cloud
        .iam()
        .tag_open_id_connect_provider()
        .open_id_connect_provider_arn(id)
        .set_tags(Some(tags))
        .send()
        .await
        .map(|_| ())
        .map_err(ProviderError::api("TagOpenIDConnectProvider"))
}
