//! Security groups; ingress and egress rules are reconciled as sets. Rules
//! naming a group that does not exist yet wait for the Finish step.

use crate::cost::Pricing;
use crate::kinds::{Field, KindDef, TAGS};
use crate::model::names::NameRule;
use crate::model::schema::Schema;
use crate::model::Kind;
use crate::model::{Live, Map, Value};
use crate::plan::{touches, FieldDiff};
use crate::providers::aws::{ec2_live, read_tags, retry_in_use, sync_ec2_tags, tag_spec};
use crate::providers::AwsResult as _;
use crate::providers::Row;
use crate::providers::{Cloud, Planned, ProviderError};
use crate::{handle, ops};
use aws_sdk_ec2::types::{IpPermission, IpRange, ResourceType, SecurityGroup, UserIdGroupPair};

/// A rule as specs write it.
fn rule(
    protocol: &str,
    from: Option<i32>,
    to: Option<i32>,
    peer: (&str, String),
    description: Option<&str>,
) -> Value {
    let mut m = Map::new();
    let all = protocol == "-1" || protocol == "all";
    m.insert(
        "protocol".into(),
        Value::str(if all { "all" } else { protocol }),
    );
    if !all {
        if let Some(f) = from {
            m.insert("from_port".into(), Value::Int(f.into()));
        }
        if let Some(t) = to {
            m.insert("to_port".into(), Value::Int(t.into()));
        }
    }
    m.insert(peer.0.into(), Value::Str(peer.1));
    if let Some(d) = description.filter(|d| !d.is_empty()) {
        m.insert("description".into(), Value::str(d));
    }
    Value::Map(m)
}

fn rules_of(group_id: &str, perms: &[IpPermission]) -> Vec<Value> {
    let mut out = Vec::new();
    for p in perms {
        let proto = p.ip_protocol().unwrap_or("-1");
        for r in p.ip_ranges() {
            if let Some(c) = r.cidr_ip() {
                out.push(rule(
                    proto,
                    p.from_port(),
                    p.to_port(),
                    ("cidr", c.to_string()),
                    r.description(),
                ));
            }
        }
        for g in p.user_id_group_pairs() {
            if let Some(id) = g.group_id() {
                let source = if id == group_id {
                    "self".to_string()
                } else {
                    id.to_string()
                };
                out.push(rule(
                    proto,
                    p.from_port(),
                    p.to_port(),
                    ("source", source),
                    g.description(),
                ));
            }
        }
    }
    out
}

fn live_of(cloud: &Cloud, g: &SecurityGroup) -> Option<Live> {
    let (address, tags, _) = read_tags(cloud, g.tags())?;
    let id = g.group_id()?;
    let name = g.group_name().unwrap_or_default();
    Some(
        ec2_live(address, id, tags, None)
            .attr("name", Value::str(name))
            .attr(
                "description",
                Value::str(g.description().unwrap_or_default()),
            )
            .attr("vpc", Value::str(g.vpc_id().unwrap_or_default()))
            .attr("ingress", Value::List(rules_of(id, g.ip_permissions())))
            .attr(
                "egress",
                Value::List(rules_of(id, g.ip_permissions_egress())),
            )
            .output("name", name),
    )
}

pub async fn read(cloud: &Cloud) -> Result<Vec<Live>, ProviderError> {
    let groups = crate::ec2_pages!(
        cloud,
        describe_security_groups,
        "DescribeSecurityGroups",
        owned
    )?;
    Ok(groups.iter().filter_map(|g| live_of(cloud, g)).collect())
}

/// The permission for one rule; `None` while its peer group is unknown.
fn permission(group_id: &str, v: &Value) -> Option<IpPermission> {
    let proto = v.get("protocol")?.as_str()?;
    let mut b = IpPermission::builder().ip_protocol(if proto == "all" { "-1" } else { proto });
    if proto != "all" {
        if let Some(f) = v.get("from_port").and_then(Value::as_int) {
            b = b.from_port(f as i32);
        }
        if let Some(t) = v.get("to_port").and_then(Value::as_int) {
            b = b.to_port(t as i32);
        }
    }
    let description = v.get("description").and_then(Value::as_str);
    if let Some(c) = v.get("cidr").and_then(Value::as_str) {
        b = b.ip_ranges(
            IpRange::builder()
                .cidr_ip(c)
                .set_description(description.map(String::from))
                .build(),
        );
    } else {
        let source = v.get("source")?.as_str()?;
        let id = if source == "self" { group_id } else { source };
        b = b.user_id_group_pairs(
            UserIdGroupPair::builder()
                .group_id(id)
                .set_description(description.map(String::from))
                .build(),
        );
    }
    Some(b.build())
}

fn canonical(v: &Value) -> String {
    v.to_json().to_string()
}

async fn describe(cloud: &Cloud, id: &str) -> Result<Option<SecurityGroup>, ProviderError> {
    let out = cloud
        .ec2()
        .describe_security_groups()
        .group_ids(id)
        .send()
        .await
        .map_err(ProviderError::api("DescribeSecurityGroups"));
    match out {
        Ok(o) => Ok(o.security_groups().first().cloned()),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}

/// Authorizes missing rules and revokes rules that are not declared.
async fn sync_rules(cloud: &Cloud, id: &str, r: &Planned) -> Result<(), ProviderError> {
    let group = describe(cloud, id)
        .await?
        .ok_or_else(|| ProviderError::Unexpected(format!("security group {id} vanished")))?;
    for (key, egress) in [("ingress", false), ("egress", true)] {
        let perms = if egress {
            group.ip_permissions_egress()
        } else {
            group.ip_permissions()
        };
        let have: Vec<Value> = rules_of(id, perms);
        let want: Vec<&Value> = r
            .spec
            .get(key)
            .and_then(Value::as_list)
            .unwrap_or_default()
            .iter()
            .filter(|v| v.refs().is_empty())
            .collect();
        let have_keys: Vec<String> = have.iter().map(canonical).collect();
        let want_keys: Vec<String> = want.iter().map(|v| canonical(v)).collect();
        let add: Vec<IpPermission> = want
            .iter()
            .filter(|v| !have_keys.contains(&canonical(v)))
            .filter_map(|v| permission(id, v))
            .collect();
        let remove: Vec<IpPermission> = have
            .iter()
            .filter(|v| !want_keys.contains(&canonical(v)))
            .filter_map(|v| permission(id, v))
            .collect();
        if !remove.is_empty() {
            if egress {
                cloud
                    .ec2()
                    .revoke_security_group_egress()
                    .group_id(id)
                    .set_ip_permissions(Some(remove))
                    .send()
                    .await
                    .map_err(ProviderError::api("RevokeSecurityGroupEgress"))?;
            } else {
                cloud
                    .ec2()
                    .revoke_security_group_ingress()
                    .group_id(id)
                    .set_ip_permissions(Some(remove))
                    .send()
                    .await
                    .map_err(ProviderError::api("RevokeSecurityGroupIngress"))?;
            }
        }
        if !add.is_empty() {
            if egress {
                cloud
                    .ec2()
                    .authorize_security_group_egress()
                    .group_id(id)
                    .set_ip_permissions(Some(add))
                    .send()
                    .await
                    .map_err(ProviderError::api("AuthorizeSecurityGroupEgress"))?;
            } else {
                cloud
                    .ec2()
                    .authorize_security_group_ingress()
                    .group_id(id)
                    .set_ip_permissions(Some(add))
                    .send()
                    .await
                    .map_err(ProviderError::api("AuthorizeSecurityGroupIngress"))?;
            }
        }
    }
    Ok(())
}

/// The live state after a create or update: the spec, with rules whose
/// peer is still unknown left out (the Finish step adds them).
fn settled(r: &Planned, id: &str) -> Live {
    let mut l = Live::new(r.address.clone(), id);
    l.attrs = r.spec.clone();
    for key in ["ingress", "egress"] {
        if let Some(Value::List(rules)) = l.attrs.get_mut(key) {
            rules.retain(|v| v.refs().is_empty());
        }
    }
    l.output("name", r.str("name").unwrap_or_default())
}

pub async fn create(cloud: &Cloud, r: &Planned) -> Result<Live, ProviderError> {
    let out = cloud
        .ec2()
        .create_security_group()
        .group_name(r.str("name")?)
        .description(r.str("description")?)
        .vpc_id(r.str("vpc")?)
        .tag_specifications(tag_spec(cloud, ResourceType::SecurityGroup, r))
        .send()
        .await
        .map_err(ProviderError::api("CreateSecurityGroup"))?;
    let id = out
        .group_id()
        .ok_or_else(|| ProviderError::Unexpected("CreateSecurityGroup returned no id".into()))?
        .to_string();
    sync_rules(cloud, &id, r).await?;
    Ok(settled(r, &id))
}

pub async fn update(
    cloud: &Cloud,
    r: &Planned,
    live: &Live,
    fields: &[FieldDiff],
) -> Result<Live, ProviderError> {
    if touches(fields, "ingress") || touches(fields, "egress") {
        sync_rules(cloud, &live.id, r).await?;
    }
    if touches(fields, "tags") {
        sync_ec2_tags(cloud, &live.id, r, live).await?;
    }
    Ok(settled(r, &live.id))
}

/// Revokes the group's own rules that name other groups (so that those can
/// go), then deletes it, retrying while others still refer to it.
pub async fn delete(cloud: &Cloud, live: &Live) -> Result<(), ProviderError> {
    let Some(group) = describe(cloud, &live.id).await? else {
        return Ok(());
    };
    let refers = |p: &&IpPermission| !p.user_id_group_pairs().is_empty();
    let ingress: Vec<IpPermission> = group
        .ip_permissions()
        .iter()
        .filter(refers)
        .cloned()
        .collect();
    let egress: Vec<IpPermission> = group
        .ip_permissions_egress()
        .iter()
        .filter(refers)
        .cloned()
        .collect();
    // A peer group deleted meanwhile takes its rules with it: not found is fine.
    if !ingress.is_empty() {
        let r = cloud
            .ec2()
            .revoke_security_group_ingress()
            .group_id(&live.id)
            .set_ip_permissions(Some(ingress))
            .send()
            .await
            .map_err(ProviderError::api("RevokeSecurityGroupIngress"));
        ProviderError::absent_ok(r)?;
    }
    if !egress.is_empty() {
        let r = cloud
            .ec2()
            .revoke_security_group_egress()
            .group_id(&live.id)
            .set_ip_permissions(Some(egress))
            .send()
            .await
            .map_err(ProviderError::api("RevokeSecurityGroupEgress"));
        ProviderError::absent_ok(r)?;
    }
    retry_in_use(cloud, "DeleteSecurityGroup", || async {
        cloud
            .ec2()
            .delete_security_group()
            .group_id(&live.id)
            .send()
            .await
            .done("DeleteSecurityGroup")
    })
    .await
}

pub const KIND: Kind = Kind::of(&SCHEMA);

fn tag_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')
}

/// AWS reserves `sg-` for group ids.
fn not_an_id(name: &str) -> Result<(), crate::model::Problem> {
    if name.to_ascii_lowercase().starts_with("sg-") {
        return Err(crate::model::Problem::new(format!(
            "security group name `{name}` starts with `sg-`, which AWS reserves for ids"
        )));
    }
    Ok(())
}

pub static SCHEMA: Schema = Schema::new("security_group", "SecurityGroup", FIELDS).names(
    NameRule::chars(1, 255, tag_name_char, "letters, digits, `-`, `_` and `.`").with(not_an_id),
);

/// The IAM actions of its operations (`bp permissions`).
pub const IAM: crate::permissions::Iam =
    crate::permissions::Iam::reads(&["ec2:DescribeSecurityGroups"])
        .existing(&["ec2:DescribeSecurityGroups"])
        .create(&[
            "ec2:CreateSecurityGroup",
            "ec2:CreateTags",
            "ec2:AuthorizeSecurityGroupIngress",
            "ec2:AuthorizeSecurityGroupEgress",
            "ec2:RevokeSecurityGroupEgress",
        ])
        .update(&[
            "ec2:AuthorizeSecurityGroupIngress",
            "ec2:AuthorizeSecurityGroupEgress",
            "ec2:RevokeSecurityGroupIngress",
            "ec2:RevokeSecurityGroupEgress",
            "ec2:CreateTags",
            "ec2:DeleteTags",
        ])
        .delete(&[
            "ec2:RevokeSecurityGroupIngress",
            "ec2:RevokeSecurityGroupEgress",
            "ec2:DeleteSecurityGroup",
        ])
        .tag_condition();

pub static DEF: KindDef = KindDef::new(
    KIND,
    Pricing::Free,
    handle!(super::SecurityGroup;
        super::SECURITY_GROUP_FUNCTIONS, super::register_security_group;
        ["add_egress", "add_ingress", "address", "id", "name"]),
    ops!(own),
)
.adopt(crate::boxed!(adopt crate::providers::aws::adopt_ec2))
.rules(super::lint::SECURITY_GROUP)
.unsafe_to_resend(&["CreateSecurityGroup"])
.iam(IAM)
.tagged_as("ec2:security-group");

const FIELDS: &[Field] = &[
    Field::new("name").replaces("a security group cannot be renamed"),
    Field::new("description").replaces("a security group's description cannot change"),
    Field::new("vpc")
        .replaces("a security group cannot move to another VPC")
        .refers(),
    Field::new("ingress").set(),
    Field::new("egress").set(),
    TAGS,
];

/// Every security_group in the region, owned or not, for `:live`.
pub async fn list(cloud: &Cloud) -> Result<Vec<Row>, ProviderError> {
    let all = crate::ec2_pages!(
        cloud,
        describe_security_groups,
        "DescribeSecurityGroups",
        all
    )?;
    Ok(all
        .iter()
        .map(|g| Row {
            name: g.group_name().unwrap_or_default().into(),
            ..Row::ec2(g.group_id(), g.tags(), g.vpc_id().unwrap_or_default())
        })
        .collect())
}

#[cfg(test)]
mod tests {
    #[test]
    fn names() {
        assert!(crate::model::names::check_name(super::KIND, "sg-workers").is_err());
        assert!(crate::model::names::check_name(super::KIND, "workers").is_ok());
    }
}
