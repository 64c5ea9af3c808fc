//! IAM roles (trust policy, attached and inline policies). Roles live under
//! the path `/blueprint/<name>/`, so one paginated call finds every owned
//! role with all its policies.

use crate::cost::Pricing;
use crate::handle;
use crate::kinds::{Field, KindDef, Read, TAGS};
use crate::model::names::NameRule;
use crate::model::schema::Schema;
use crate::model::Kind;
use crate::model::{Address, Live, Map, Value};
use crate::plan::{touches, FieldDiff};
use crate::providers::AwsResult as _;
use crate::providers::Row;
use crate::providers::{Cloud, Planned, ProviderError};
use aws_sdk_iam::types::{EntityType, RoleDetail, Tag};

pub fn role_path(cloud: &Cloud) -> String {
    format!("/blueprint/{}/", cloud.blueprint)
}

/// Decodes the URL-encoded policy documents IAM returns.
pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A policy document from IAM as a spec value.
pub fn policy_value(doc: &str) -> Value {
    let text = if doc.trim_start().starts_with('{') {
        doc.to_string()
    } else {
        percent_decode(doc)
    };
    serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|j| Value::from_json(&j).ok())
        .unwrap_or(Value::Str(text))
}

/// The trust statement that lets one Kubernetes service account assume a
/// role through its cluster's OIDC provider.
fn web_identity_statement(irsa: &Value) -> Result<serde_json::Value, ProviderError> {
    let get = |k: &str| {
        irsa.get(k)
            .and_then(Value::as_str)
            .map(String::from)
            .ok_or_else(|| ProviderError::Spec(format!("irsa `{k}` is not resolved")))
    };
    let provider = get("provider")?;
    let host = get("issuer")?.trim_start_matches("https://").to_string();
    let subject = format!(
        "system:serviceaccount:{}:{}",
        get("namespace")?,
        get("service_account")?
    );
    Ok(serde_json::json!({
        "Effect": "Allow",
        "Principal": { "Federated": provider },
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": { "StringEquals": {
            format!("{host}:sub"): subject,
            format!("{host}:aud"): "sts.amazonaws.com",
        } }
    }))
}

/// The trust policy of a role assumed by a Kubernetes service account.
pub fn irsa_trust(irsa: &Value) -> Result<serde_json::Value, ProviderError> {
    Ok(serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [web_identity_statement(irsa)?]
    }))
}

/// A web-identity trust statement read back into the `irsa` spec shape.
fn web_identity_of(st: &Value) -> Option<Value> {
    if st.get("Action")?.as_str()? != "sts:AssumeRoleWithWebIdentity" {
        return None;
    }
    let provider = st.get("Principal")?.get("Federated")?.as_str()?;
    let cond = st.get("Condition")?.get("StringEquals")?.as_map()?;
    let (key, subject) = cond.iter().find(|(k, _)| k.ends_with(":sub"))?;
    let host = key.trim_end_matches(":sub");
    let rest = subject.as_str()?.strip_prefix("system:serviceaccount:")?;
    let (ns, sa) = rest.split_once(':')?;
    Some(Value::Map(Map::from([
        ("provider".into(), Value::str(provider)),
        ("issuer".into(), Value::str(format!("https://{host}"))),
        ("namespace".into(), Value::str(ns)),
        ("service_account".into(), Value::str(sa)),
    ])))
}

/// Reads an IRSA trust policy back into the `irsa` spec shape.
#[cfg(test)]
fn irsa_of(trust: &Value) -> Option<Value> {
    web_identity_of(trust.get("Statement")?.as_list()?.first()?)
}

/// The `Sid` of the statements service accounts add to a role's trust.
const ADDED_SID: &str = "BlueprintServiceAccount";

/// A live trust policy in the spec's shape: `irsa` when its first statement
/// is a service account's, the service accounts added to the role's trust
/// (`service_accounts`), and the rest as `trust_policy`.
fn trust_attrs(trust: &Value) -> Map {
    let mut out = Map::new();
    let statements = trust
        .get("Statement")
        .and_then(Value::as_list)
        .map(|l| l.to_vec())
        .unwrap_or_default();
    let mut web: Vec<Value> = Vec::new();
    let mut others: Vec<Value> = Vec::new();
    for (i, st) in statements.iter().enumerate() {
        let added = st.get("Sid").and_then(Value::as_str) == Some(ADDED_SID);
        match web_identity_of(st) {
            Some(w) if added => web.push(w),
            Some(w) if i == 0 => {
                out.insert("irsa".into(), w);
            }
            _ => others.push(st.clone()),
        }
    }
    if !out.contains_key("irsa") {
        // The document as it is, unless service accounts were added to it.
        let doc = match (web.is_empty(), trust.as_map()) {
            (false, Some(m)) => {
                let mut m = m.clone();
                m.insert("Statement".into(), Value::List(others));
                Value::Map(m)
            }
            _ => trust.clone(),
        };
        out.insert("trust_policy".into(), doc);
    } else if !others.is_empty() {
        out.insert("trust_policy".into(), trust.clone());
    }
    if !web.is_empty() {
        out.insert("service_accounts".into(), Value::List(web));
    }
    out
}

pub fn owned(cloud: &Cloud, tags: &[Tag]) -> Option<(Address, Map)> {
    let pairs = tags.iter().map(|t| (t.key(), t.value()));
    let o = cloud.owned(pairs, crate::providers::NameTag::IsATag)?;
    Some((o.address, o.tags))
}

fn role_live(cloud: &Cloud, r: &RoleDetail) -> Option<Live> {
    let (address, tags) = owned(cloud, r.tags())?;
    let name = r.role_name()?;
    let trust = policy_value(r.assume_role_policy_document().unwrap_or("{}"));
    let mut managed: Vec<String> = r
        .attached_managed_policies()
        .iter()
        .filter_map(|p| p.policy_arn().map(String::from))
        .collect();
    managed.sort();
    let inline: Map = r
        .role_policy_list()
        .iter()
        .filter_map(|p| {
            Some((
                p.policy_name()?.to_string(),
                policy_value(p.policy_document()?),
            ))
        })
        .collect();
    let mut l = Live::new(address, name)
        .attr("name", Value::str(name))
        .attr(
            "managed_policies",
            Value::List(managed.iter().map(Value::str).collect()),
        )
        .attr("inline_policies", Value::Map(inline))
        .output("name", name)
        .output("arn", r.arn().unwrap_or_default());
    l.attrs.extend(trust_attrs(&trust));
    if !tags.is_empty() {
        l.attrs.insert("tags".into(), Value::Map(tags));
    }
    Some(l)
}

/// Every owned role and OIDC provider (IAM's two kinds, read together).
pub async fn read(cloud: &Cloud) -> Result<Vec<Live>, ProviderError> {
    let (roles, providers) = tokio::join!(read_roles(cloud), super::oidc_provider::read(cloud));
    let mut out = roles?;
    out.extend(providers?);
    Ok(out)
}

async fn read_roles(cloud: &Cloud) -> Result<Vec<Live>, ProviderError> {
    let path = role_path(cloud);
    let pages = cloud
        .iam()
        .get_account_authorization_details()
        .filter(EntityType::Role)
        .filter(EntityType::Group)
        .filter(EntityType::User)
        .into_paginator()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .map_err(ProviderError::api("GetAccountAuthorizationDetails"))?;
    let mut out: Vec<Live> = pages
        .iter()
        .flat_map(|p| p.role_detail_list())
        .filter(|r| r.path() == Some(path.as_str()))
        .filter_map(|r| role_live(cloud, r))
        .collect();
    // The blueprint's groups and users, from the same pages.
    out.extend(
        pages
            .iter()
            .flat_map(|p| p.group_detail_list())
            .filter(|g| g.path() == Some(path.as_str()))
            .filter_map(super::people::group_live),
    );
    out.extend(
        pages
            .iter()
            .flat_map(|p| p.user_detail_list())
            .filter(|u| u.path() == Some(path.as_str()))
            .filter_map(|u| super::people::user_live(cloud, u)),
    );
    Ok(out)
}

fn trust_document(r: &Planned) -> Result<String, ProviderError> {
    let mut doc = if let Some(irsa) = r.spec.get("irsa") {
        irsa_trust(irsa)?
    } else {
        let doc = r
            .spec
            .get("trust_policy")
            .ok_or_else(|| ProviderError::Spec(format!("{}: no trust policy", r.address)))?;
        if !doc.refs().is_empty() {
            return Err(ProviderError::Spec(format!(
                "{}: the trust policy is not resolved",
                r.address
            )));
        }
        doc.to_json()
    };
    // The service accounts added with ns.service_account(..., #{ role }),
    // marked so that reading the policy back tells them apart.
    if let Some(accounts) = r.spec.get("service_accounts").and_then(Value::as_list) {
        let mut extra = Vec::new();
        for a in accounts {
            let mut st = web_identity_statement(a)?;
            st["Sid"] = serde_json::json!(ADDED_SID);
            extra.push(st);
        }
        if extra.is_empty() {
            return Ok(doc.to_string());
        }
        match doc.get_mut("Statement") {
            Some(serde_json::Value::Array(list)) => list.extend(extra),
            Some(single) => {
                let first = single.take();
                *single = serde_json::Value::Array(std::iter::once(first).chain(extra).collect());
            }
            None => doc["Statement"] = serde_json::Value::Array(extra),
        }
    }
    Ok(doc.to_string())
}

pub fn iam_tags(cloud: &Cloud, r: &Planned) -> Vec<Tag> {
    cloud
        .tags_for(&r.address, &r.spec)
        .into_iter()
        .filter_map(|(k, v)| Tag::builder().key(k).value(v).build().ok())
        .collect()
}

fn inline(r: &Planned) -> Map {
    r.spec
        .get("inline_policies")
        .and_then(Value::as_map)
        .cloned()
        .unwrap_or_default()
}

async fn put_inline(
    cloud: &Cloud,
    role: &str,
    name: &str,
    doc: &Value,
) -> Result<(), ProviderError> {
    if !doc.refs().is_empty() {
        return Err(ProviderError::Spec(format!(
            "inline policy {name} of role {role} is not resolved"
        )));
    }
    cloud
        .iam()
        .put_role_policy()
        .role_name(role)
        .policy_name(name)
        .policy_document(doc.to_json().to_string())
        .send()
        .await
        .map_err(ProviderError::api("PutRolePolicy"))?;
    Ok(())
}

async fn attach(cloud: &Cloud, role: &str, arn: &str) -> Result<(), ProviderError> {
    cloud
        .iam()
        .attach_role_policy()
        .role_name(role)
        .policy_arn(arn)
        .send()
        .await
        .map_err(ProviderError::api("AttachRolePolicy"))?;
    Ok(())
}

fn role_settled(r: &Planned, arn: &str) -> Live {
    let mut l = Live::new(r.address.clone(), r.str("name").unwrap_or_default());
    l.attrs = r.spec.clone();
    l.output("name", r.str("name").unwrap_or_default())
        .output("arn", arn)
}

pub async fn create_role(cloud: &Cloud, r: &Planned) -> Result<Live, ProviderError> {
    let name = r.str("name")?;
    let created = cloud
        .iam()
        .create_role()
        .role_name(name)
        .path(role_path(cloud))
        .assume_role_policy_document(trust_document(r)?)
        .set_tags(Some(iam_tags(cloud, r)))
        .send()
        .await;
    let arn = match created {
        Ok(o) => o.role().map(|x| x.arn().to_string()).unwrap_or_default(),
        Err(e) => {
            let e = ProviderError::api("CreateRole")(e);
            if e.code() != Some("EntityAlreadyExists") {
                return Err(e);
            }
            // Left by an interrupted apply: ours only if it carries our tags.
            let got = cloud
                .iam()
                .get_role()
                .role_name(name)
                .send()
                .await
                .map_err(ProviderError::api("GetRole"))?;
            let role = got
                .role()
                .ok_or_else(|| ProviderError::Unexpected(format!("role {name} vanished")))?;
            if owned(cloud, role.tags()).map(|(a, _)| a) != Some(r.address.clone()) {
                return Err(ProviderError::Unsupported(format!(
                    "IAM role {name} already exists and is not owned by blueprint {}",
                    cloud.blueprint
                )));
            }
            role.arn().to_string()
        }
    };
    for p in r.strs("managed_policies")? {
        attach(cloud, name, &p).await?;
    }
    for (pname, doc) in inline(r) {
        put_inline(cloud, name, &pname, &doc).await?;
    }
    Ok(role_settled(r, &arn))
}

pub async fn update_role(
    cloud: &Cloud,
    r: &Planned,
    live: &Live,
    fields: &[FieldDiff],
) -> Result<Live, ProviderError> {
    let changed = |p: &str| touches(fields, p);
    let name = live.id.as_str();
    if changed("trust_policy") || changed("irsa") || changed("service_accounts") {
        cloud
            .iam()
            .update_assume_role_policy()
            .role_name(name)
            .policy_document(trust_document(r)?)
            .send()
            .await
            .map_err(ProviderError::api("UpdateAssumeRolePolicy"))?;
    }
    if changed("managed_policies") {
        super::converge(
            &r.strs("managed_policies")?,
            &super::listed(live, "managed_policies"),
            |p| async move { attach(cloud, name, &p).await },
            |p| async move {
                cloud
                    .iam()
                    .detach_role_policy()
                    .role_name(name)
                    .policy_arn(p)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(ProviderError::api("DetachRolePolicy"))
            },
        )
        .await?;
    }
    if changed("inline_policies") {
        let want = inline(r);
        let had = live
            .attrs
            .get("inline_policies")
            .and_then(Value::as_map)
            .cloned()
            .unwrap_or_default();
        for (pname, doc) in &want {
            if had.get(pname) != Some(doc) {
                put_inline(cloud, name, pname, doc).await?;
            }
        }
        for pname in had.keys().filter(|k| !want.contains_key(*k)) {
            cloud
                .iam()
                .delete_role_policy()
                .role_name(name)
                .policy_name(pname)
                .send()
                .await
                .map_err(ProviderError::api("DeleteRolePolicy"))?;
        }
    }
    if changed("tags") {
        let iam = cloud.iam();
        super::sync_tags(
            cloud,
            r,
            live,
            |tags| async {
                let call = iam.tag_role().role_name(name).set_tags(Some(tags));
                call.send()
                    .await
                    .map(|_| ())
                    .map_err(ProviderError::api("TagRole"))
            },
            |keys| async {
                let call = iam.untag_role().role_name(name).set_tag_keys(Some(keys));
                call.send()
                    .await
                    .map(|_| ())
                    .map_err(ProviderError::api("UntagRole"))
            },
        )
        .await?;
    }
    Ok(role_settled(
        r,
        live.outputs
            .get("arn")
            .map(String::as_str)
            .unwrap_or_default(),
    ))
}

pub async fn delete_role(cloud: &Cloud, live: &Live) -> Result<(), ProviderError> {
    let name = live.id.as_str();
    let attached = cloud
        .iam()
        .list_attached_role_policies()
        .role_name(name)
        .send()
        .await;
    let attached = match attached.map_err(ProviderError::api("ListAttachedRolePolicies")) {
        Ok(a) => a,
        Err(e) if e.is_not_found() => return Ok(()),
        Err(e) => return Err(e),
    };
    for p in attached.attached_policies() {
        if let Some(arn) = p.policy_arn() {
            cloud
                .iam()
                .detach_role_policy()
                .role_name(name)
                .policy_arn(arn)
                .send()
                .await
                .map_err(ProviderError::api("DetachRolePolicy"))?;
        }
    }
    let inline = cloud
        .iam()
        .list_role_policies()
        .role_name(name)
        .send()
        .await
        .map_err(ProviderError::api("ListRolePolicies"))?;
    for p in inline.policy_names() {
        cloud
            .iam()
            .delete_role_policy()
            .role_name(name)
            .policy_name(p)
            .send()
            .await
            .map_err(ProviderError::api("DeleteRolePolicy"))?;
    }
    crate::providers::aws::retry_in_use(cloud, "DeleteRole", || async {
        cloud
            .iam()
            .delete_role()
            .role_name(name)
            .send()
            .await
            .done("DeleteRole")
    })
    .await
}

pub const KIND: Kind = Kind::of(&SCHEMA);

pub fn iam_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '+' | '=' | ',' | '.' | '@' | '-' | '_')
}

pub static SCHEMA: Schema = Schema::new("iam_role", "IamRole", FIELDS)
    .attr("arn")
    .names(NameRule::chars(
        1,
        64,
        iam_char,
        "letters, digits and `+=,.@-_`",
    ));

/// The IAM actions of its operations (`bp permissions`).
pub const IAM: crate::permissions::Iam =
    crate::permissions::Iam::reads(&["iam:GetAccountAuthorizationDetails"])
        .existing(&["iam:GetRole"])
        .create(&[
            "iam:CreateRole",
            "iam:GetRole",
            "iam:TagRole",
            "iam:PutRolePolicy",
            "iam:AttachRolePolicy",
        ])
        .update(&[
            "iam:UpdateAssumeRolePolicy",
            "iam:PutRolePolicy",
            "iam:DeleteRolePolicy",
            "iam:AttachRolePolicy",
            "iam:DetachRolePolicy",
            "iam:TagRole",
            "iam:UntagRole",
        ])
        .delete(&[
            "iam:ListAttachedRolePolicies",
            "iam:DetachRolePolicy",
            "iam:ListRolePolicies",
            "iam:DeleteRolePolicy",
            "iam:DeleteRole",
        ])
        .arns(&["arn:aws:iam::{account}:role/blueprint/{blueprint}/*"])
        .owned(&["arn:aws:iam::{account}:role/blueprint/{blueprint}/*"]);

pub static DEF: KindDef = KindDef::new(
    KIND,
    Pricing::Free,
    handle!(super::IamRole; super::FUNCTIONS, super::register; ["address", "arn", "name"]),
    crate::kinds::Ops {
        read: Read::Own(crate::boxed!(read read)),
        create: crate::boxed!(create create_role),
        update: Some(crate::boxed!(update update_role)),
        delete: crate::boxed!(delete delete_role),
        list: crate::boxed!(read list),
    },
)
.adopt(crate::kinds::Adopt::No(NOT_ADOPTED))
.rules(super::lint::ROLE)
.iam(IAM);

/// Why `bp adopt` does not take over a role.
const NOT_ADOPTED: &str = "an IAM role's path cannot change, and the blueprint's roles live \
    under its own path (/blueprint/<name>/): refer to it with existing_role(arn) instead";

const FIELDS: &[Field] = &[
    Field::new("name"),
    Field::new("trust_policy"),
    Field::new("irsa").diff(crate::kinds::Diff::Struct(&[
        Field::new("provider").refers(),
        Field::new("issuer"),
        Field::new("namespace"),
        Field::new("service_account"),
    ])),
    Field::new("service_accounts").set().refers(),
    Field::new("managed_policies").set(),
    Field::new("inline_policies").map(),
    TAGS,
];

/// Every role in the account, owned or not, for `:live`.
pub async fn list(cloud: &Cloud) -> Result<Vec<Row>, ProviderError> {
    let rows = {
        let roles = cloud
            .iam()
            .list_roles()
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(ProviderError::api("ListRoles"))?;
        roles
            .iter()
            .map(|r| {
                let owner = r
                    .path()
                    .strip_prefix("/blueprint/")
                    .and_then(|p| p.strip_suffix('/'))
                    .map(String::from);
                Row {
                    id: r.arn().into(),
                    name: r.role_name().into(),
                    details: r.path().into(),
                    owner,
                }
            })
            .collect()
    };
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        use crate::model::names::check_name;
        assert!(check_name(super::KIND, "pms-prod-cluster@x").is_ok());
        assert!(check_name(super::KIND, "a role").is_err());
    }

    #[test]
    fn policies_decode_from_url_encoding() {
        let v = policy_value("%7B%22Version%22%3A%222012-10-17%22%7D");
        assert_eq!(v.get("Version"), Some(&Value::str("2012-10-17")));
        assert_eq!(policy_value("{\"a\":1}").get("a"), Some(&Value::Int(1)));
    }

    #[test]
    fn irsa_trust_round_trips() {
        let irsa = Value::Map(Map::from([
            (
                "provider".into(),
                Value::str("arn:aws:iam::1:oidc-provider/oidc.eks/id/X"),
            ),
            ("issuer".into(), Value::str("https://oidc.eks/id/X")),
            ("namespace".into(), Value::str("pms")),
            ("service_account".into(), Value::str("api")),
        ]));
        let doc = irsa_trust(&irsa).unwrap();
        let back = irsa_of(&Value::from_json(&doc).unwrap()).unwrap();
        assert_eq!(back, irsa);
    }

    #[test]
    fn only_the_statements_service_accounts_added_leave_the_trust_policy() {
        let web = |sub: &str, sid: Option<&str>| {
            let mut st = serde_json::json!({
                "Effect": "Allow",
                "Principal": {"Federated": "arn:aws:iam::1:oidc-provider/oidc.eks/id/X"},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {"StringEquals": {"oidc.eks/id/X:sub": sub, "oidc.eks/id/X:aud": "sts.amazonaws.com"}}
            });
            if let Some(s) = sid {
                st["Sid"] = serde_json::json!(s);
            }
            st
        };
        let service = serde_json::json!({"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"});
        let doc = serde_json::json!({"Version": "2012-10-17", "Statement": [
            service, web("system:serviceaccount:a:own", None), web("system:serviceaccount:a:added", Some(ADDED_SID))
        ]});
        let attrs = trust_attrs(&Value::from_json(&doc).unwrap());
        let policy = attrs["trust_policy"].to_json();
        assert_eq!(policy["Statement"].as_array().unwrap().len(), 2, "{policy}");
        let added = attrs["service_accounts"].to_json();
        assert_eq!(added[0]["service_account"], "added", "{added}");
        // A single statement that is not a list stays as it is.
        let single = serde_json::json!({"Version": "2012-10-17", "Statement": {"Effect": "Allow"}});
        let attrs = trust_attrs(&Value::from_json(&single).unwrap());
        assert_eq!(attrs["trust_policy"].to_json(), single);
    }
}
