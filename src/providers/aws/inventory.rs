//! Read-only listings of live resources of a kind, owned or not, for the
//! REPL's `:live` (finding ids, checking what exists).

use crate::providers::{Cloud, ProviderError, TAG_ADDRESS, TAG_NAME};

/// One live resource: its id, a name, a few details and its owner, if any.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub id: String,
    pub name: String,
    pub details: String,
    pub owner: Option<String>,
}

pub const KINDS: &[&str] = &[
    "vpc",
    "subnet",
    "security_group",
    "internet_gateway",
    "nat_gateway",
    "elastic_ip",
    "route_table",
    "cluster",
    "nodegroup",
    "fargate_profile",
    "iam_role",
    "oidc_provider",
    "kms_key",
    "s3_bucket",
];

fn ec2_owner_and_name(tags: &[aws_sdk_ec2::types::Tag]) -> (Option<String>, String) {
    let get = |k: &str| {
        tags.iter()
            .find(|t| t.key() == Some(k))
            .and_then(|t| t.value())
            .map(String::from)
    };
    let owner = get(TAG_NAME).map(|n| match get(TAG_ADDRESS) {
        Some(a) => format!("{n} {a}"),
        None => n,
    });
    (owner, get("Name").unwrap_or_default())
}

fn tag_owner(get: impl Fn(&str) -> Option<String>) -> Option<String> {
    get(TAG_NAME).map(|n| match get(TAG_ADDRESS) {
        Some(a) => format!("{n} {a}"),
        None => n,
    })
}

/// Lists live resources of `kind`. With a filter, only rows whose id, name,
/// details (a node group's cluster, a subnet's VPC) or owner contain it.
pub async fn list(
    cloud: &Cloud,
    kind: &str,
    filter: Option<&str>,
) -> Result<Vec<Row>, ProviderError> {
    let mut rows = match kind {
        "vpc" => {
            let out = cloud
                .ec2
                .describe_vpcs()
                .send()
                .await
                .map_err(ProviderError::api("DescribeVpcs"))?;
            out.vpcs()
                .iter()
                .map(|v| {
                    let (owner, name) = ec2_owner_and_name(v.tags());
                    let default = if v.is_default() == Some(true) {
                        " (default)"
                    } else {
                        ""
                    };
                    Row {
                        id: v.vpc_id().unwrap_or_default().into(),
                        name,
                        details: format!("{}{default}", v.cidr_block().unwrap_or_default()),
                        owner,
                    }
                })
                .collect()
        }
        "subnet" => {
            let out = cloud
                .ec2
                .describe_subnets()
                .send()
                .await
                .map_err(ProviderError::api("DescribeSubnets"))?;
            out.subnets()
                .iter()
                .map(|s| {
                    let (owner, name) = ec2_owner_and_name(s.tags());
                    Row {
                        id: s.subnet_id().unwrap_or_default().into(),
                        name,
                        details: format!(
                            "{} {} {}",
                            s.vpc_id().unwrap_or_default(),
                            s.cidr_block().unwrap_or_default(),
                            s.availability_zone().unwrap_or_default()
                        ),
                        owner,
                    }
                })
                .collect()
        }
        "security_group" => {
            let out = cloud
                .ec2
                .describe_security_groups()
                .send()
                .await
                .map_err(ProviderError::api("DescribeSecurityGroups"))?;
            out.security_groups()
                .iter()
                .map(|g| {
                    let (owner, _) = ec2_owner_and_name(g.tags());
                    Row {
                        id: g.group_id().unwrap_or_default().into(),
                        name: g.group_name().unwrap_or_default().into(),
                        details: g.vpc_id().unwrap_or_default().into(),
                        owner,
                    }
                })
                .collect()
        }
        "internet_gateway" => {
            let out = cloud
                .ec2
                .describe_internet_gateways()
                .send()
                .await
                .map_err(ProviderError::api("DescribeInternetGateways"))?;
            out.internet_gateways()
                .iter()
                .map(|g| {
                    let (owner, name) = ec2_owner_and_name(g.tags());
                    let vpc = g
                        .attachments()
                        .first()
                        .and_then(|a| a.vpc_id())
                        .unwrap_or("detached");
                    Row {
                        id: g.internet_gateway_id().unwrap_or_default().into(),
                        name,
                        details: vpc.into(),
                        owner,
                    }
                })
                .collect()
        }
        "nat_gateway" => {
            let out = cloud
                .ec2
                .describe_nat_gateways()
                .send()
                .await
                .map_err(ProviderError::api("DescribeNatGateways"))?;
            out.nat_gateways()
                .iter()
                .map(|g| {
                    let (owner, name) = ec2_owner_and_name(g.tags());
                    let state = g.state().map(|s| s.as_str()).unwrap_or_default();
                    Row {
                        id: g.nat_gateway_id().unwrap_or_default().into(),
                        name,
                        details: format!("{} {state}", g.subnet_id().unwrap_or_default()),
                        owner,
                    }
                })
                .collect()
        }
        "elastic_ip" => {
            let out = cloud
                .ec2
                .describe_addresses()
                .send()
                .await
                .map_err(ProviderError::api("DescribeAddresses"))?;
            out.addresses()
                .iter()
                .map(|a| {
                    let (owner, name) = ec2_owner_and_name(a.tags());
                    Row {
                        id: a.allocation_id().unwrap_or_default().into(),
                        name,
                        details: a.public_ip().unwrap_or_default().into(),
                        owner,
                    }
                })
                .collect()
        }
        "route_table" => {
            let out = cloud
                .ec2
                .describe_route_tables()
                .send()
                .await
                .map_err(ProviderError::api("DescribeRouteTables"))?;
            out.route_tables()
                .iter()
                .map(|t| {
                    let (owner, name) = ec2_owner_and_name(t.tags());
                    Row {
                        id: t.route_table_id().unwrap_or_default().into(),
                        name,
                        details: t.vpc_id().unwrap_or_default().into(),
                        owner,
                    }
                })
                .collect()
        }
        "cluster" => {
            let names = cloud
                .eks
                .list_clusters()
                .send()
                .await
                .map_err(ProviderError::api("ListClusters"))?;
            let mut rows = Vec::new();
            for n in names.clusters() {
                let d = cloud
                    .eks
                    .describe_cluster()
                    .name(n)
                    .send()
                    .await
                    .map_err(ProviderError::api("DescribeCluster"))?;
                let c = d.cluster();
                let tags = c.and_then(|c| c.tags()).cloned().unwrap_or_default();
                rows.push(Row {
                    id: n.clone(),
                    name: n.clone(),
                    details: format!(
                        "{} {}",
                        c.and_then(|c| c.version()).unwrap_or_default(),
                        c.and_then(|c| c.status())
                            .map(|s| s.as_str())
                            .unwrap_or_default()
                    ),
                    owner: tag_owner(|k| tags.get(k).cloned()),
                });
            }
            rows
        }
        "nodegroup" | "fargate_profile" => {
            let clusters = cloud
                .eks
                .list_clusters()
                .send()
                .await
                .map_err(ProviderError::api("ListClusters"))?;
            let mut rows = Vec::new();
            for c in clusters.clusters() {
                let names: Vec<String> = if kind == "nodegroup" {
                    let out = cloud
                        .eks
                        .list_nodegroups()
                        .cluster_name(c)
                        .send()
                        .await
                        .map_err(ProviderError::api("ListNodegroups"))?;
                    out.nodegroups().to_vec()
                } else {
                    let out = cloud
                        .eks
                        .list_fargate_profiles()
                        .cluster_name(c)
                        .send()
                        .await
                        .map_err(ProviderError::api("ListFargateProfiles"))?;
                    out.fargate_profile_names().to_vec()
                };
                rows.extend(names.into_iter().map(|n| Row {
                    id: format!("{c}/{n}"),
                    name: n,
                    details: format!("cluster {c}"),
                    owner: None,
                }));
            }
            rows
        }
        "iam_role" => {
            let roles = cloud
                .iam
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
        }
        "oidc_provider" => {
            let out = cloud
                .iam
                .list_open_id_connect_providers()
                .send()
                .await
                .map_err(ProviderError::api("ListOpenIDConnectProviders"))?;
            out.open_id_connect_provider_list()
                .iter()
                .filter_map(|p| p.arn())
                .map(|arn| Row {
                    id: arn.into(),
                    name: arn
                        .rsplit(":oidc-provider/")
                        .next()
                        .unwrap_or_default()
                        .into(),
                    details: String::new(),
                    owner: None,
                })
                .collect()
        }
        "kms_key" => {
            let aliases = cloud
                .kms
                .list_aliases()
                .send()
                .await
                .map_err(ProviderError::api("ListAliases"))?;
            let keys = cloud
                .kms
                .list_keys()
                .send()
                .await
                .map_err(ProviderError::api("ListKeys"))?;
            keys.keys()
                .iter()
                .map(|k| {
                    let id = k.key_id().unwrap_or_default();
                    let alias = aliases
                        .aliases()
                        .iter()
                        .find(|a| a.target_key_id() == Some(id))
                        .and_then(|a| a.alias_name())
                        .unwrap_or_default();
                    Row {
                        id: id.into(),
                        name: alias.into(),
                        details: k.key_arn().unwrap_or_default().into(),
                        owner: None,
                    }
                })
                .collect()
        }
        "s3_bucket" => {
            let out = cloud
                .s3
                .list_buckets()
                .send()
                .await
                .map_err(ProviderError::api("ListBuckets"))?;
            out.buckets()
                .iter()
                .map(|b| Row {
                    id: b.name().unwrap_or_default().into(),
                    name: b.name().unwrap_or_default().into(),
                    details: String::new(),
                    owner: None,
                })
                .collect()
        }
        other => {
            return Err(ProviderError::Unsupported(format!(
                "unknown kind `{other}` for :live; kinds: {}",
                KINDS.join(", ")
            )))
        }
    };
    if let Some(f) = filter {
        rows.retain(|r| {
            r.id.contains(f)
                || r.name.contains(f)
                || r.details.contains(f)
                || r.owner.as_deref().is_some_and(|o| o.contains(f))
        });
    }
    rows.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
    Ok(rows)
}
