//! What a cluster's controllers made in AWS and left behind. The AWS Load
//! Balancer Controller (and the in-tree cloud provider) make load
//! balancers, target groups and security groups in the cluster's VPC for
//! Services of type LoadBalancer and Ingresses. Deleted with the cluster
//! still holding them, they outlive it, and the VPC's deletion then fails
//! with DependencyViolation: the commonest failure of destroying an EKS
//! platform. After a cluster is deleted, what is still in its VPC and
//! tagged for it (`elbv2.k8s.aws/cluster: <name>`, or
//! `kubernetes.io/cluster/<name>`) is removed, each named as it goes.

use crate::providers::{report_note, Cloud, ProviderError};
use aws_sdk_elasticloadbalancingv2::Client;

fn client(cloud: &Cloud) -> Client {
    cloud.client(|conf, counter| {
        Client::from_conf(
            aws_sdk_elasticloadbalancingv2::config::Builder::from(conf)
                .interceptor(counter)
                .build(),
        )
    })
}

/// Before a cluster is deleted, the objects in it that make AWS resources
/// (Services of type LoadBalancer, Ingresses) are deleted while their
/// controllers still run, so that the controllers remove what they made;
/// then what they made goes before the cluster's other objects and
/// releases (the controllers' own among them) are deleted. Each object
/// is said as it goes; it waits until they are gone (their finalizers
/// wait for the controller), as long as the cloud's wait timeout. A
/// cluster that cannot be reached has nothing to drain here: what its
/// controllers left is swept after it is deleted ([`sweep`]).
pub async fn drain(cloud: &Cloud, cluster: &str, say: &(dyn Fn(&str) + Send + Sync)) {
    let Ok(conn) = cloud.kube(cluster).await else {
        return;
    };
    let mut going: Vec<(String, String)> = Vec::new();
    let kinds: [(&str, &str, &str); 2] = [
        ("Service", "/api/v1", "services"),
        ("Ingress", "/apis/networking.k8s.io/v1", "ingresses"),
    ];
    for (kind, base, plural) in kinds {
        let what = format!("list the {plural} of cluster {cluster}");
        let Ok(items) = conn.list(&what, &format!("{base}/{plural}"), "").await else {
            continue;
        };
        for item in items {
            if kind == "Service" && item["spec"]["type"] != "LoadBalancer" {
                continue;
            }
            let meta = &item["metadata"];
            let (Some(ns), Some(name)) = (meta["namespace"].as_str(), meta["name"].as_str()) else {
                continue;
            };
            let path = format!("{base}/namespaces/{ns}/{plural}/{name}");
            let shown = format!("{kind} {ns}/{name}");
            if conn.delete(&format!("delete {shown}"), &path).await.is_ok() {
                say(&format!(
                    "- cluster.{cluster}: first deleting {shown}, so that its controller removes the load balancer it made"
                ));
                going.push((shown, path));
            }
        }
    }
    let start = std::time::Instant::now();
    while !going.is_empty() && start.elapsed() < cloud.wait_timeout {
        let mut left = Vec::new();
        for (shown, path) in going {
            if let Ok(Some(_)) = conn.get(&format!("read {shown}"), &path).await {
                left.push((shown, path));
            }
        }
        going = left;
        if !going.is_empty() {
            tokio::time::sleep(cloud.poll_interval).await;
        }
    }
    for (shown, _) in going {
        say(&format!(
            "- cluster.{cluster}: {shown} is still there; what its controller made is swept after the cluster is deleted"
        ));
    }
}

/// Whether tags mark a resource as made for `cluster` by its controllers.
fn for_cluster<'a>(cluster: &str, mut tags: impl Iterator<Item = (&'a str, &'a str)>) -> bool {
    let own = format!("kubernetes.io/cluster/{cluster}");
    tags.any(|(k, v)| (k == "elbv2.k8s.aws/cluster" && v == cluster) || k == own)
}

/// The ARNs among `arns` whose tags mark them as the cluster's (ELBv2
/// answers tags 20 resources at a time).
async fn tagged_for(
    elb: &Client,
    cluster: &str,
    arns: Vec<String>,
) -> Result<Vec<String>, ProviderError> {
    let mut out = Vec::new();
    for chunk in arns.chunks(20) {
        let tags = elb
            .describe_tags()
            .set_resource_arns(Some(chunk.to_vec()))
            .send()
            .await
            .map_err(ProviderError::api("DescribeTags"))?;
        for d in tags.tag_descriptions() {
            let pairs = d
                .tags()
                .iter()
                .map(|t| (t.key().unwrap_or_default(), t.value().unwrap_or_default()));
            if for_cluster(cluster, pairs) {
                out.extend(d.resource_arn().map(String::from));
            }
        }
    }
    Ok(out)
}

/// The short name in an ELBv2 ARN (`k8s-shop-web-0123456789`).
fn short(arn: &str) -> &str {
    arn.split('/').rev().nth(1).unwrap_or(arn)
}

/// Removes the load balancers, target groups and security groups that
/// `cluster`'s controllers left in `vpc`, and says each.
pub async fn sweep(cloud: &Cloud, cluster: &str, vpc: &str) -> Result<(), ProviderError> {
    let elb = client(cloud);
    let lbs = elb
        .describe_load_balancers()
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .map_err(ProviderError::api("DescribeLoadBalancers"))?;
    let in_vpc = lbs
        .iter()
        .filter(|l| l.vpc_id() == Some(vpc))
        .filter_map(|l| l.load_balancer_arn().map(String::from))
        .collect();
    for arn in tagged_for(&elb, cluster, in_vpc).await? {
        elb.delete_load_balancer()
            .load_balancer_arn(&arn)
            .send()
            .await
            .map_err(ProviderError::api("DeleteLoadBalancer"))?;
        report_note(&format!(
            "removed load balancer {} that cluster {cluster}'s controllers left in {vpc}",
            short(&arn)
        ));
    }
    let groups = elb
        .describe_target_groups()
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .map_err(ProviderError::api("DescribeTargetGroups"))?;
    let in_vpc = groups
        .iter()
        .filter(|g| g.vpc_id() == Some(vpc))
        .filter_map(|g| g.target_group_arn().map(String::from))
        .collect();
    for arn in tagged_for(&elb, cluster, in_vpc).await? {
        elb.delete_target_group()
            .target_group_arn(&arn)
            .send()
            .await
            .map_err(ProviderError::api("DeleteTargetGroup"))?;
        report_note(&format!(
            "removed target group {} that cluster {cluster}'s controllers left in {vpc}",
            short(&arn)
        ));
    }
    let in_vpc = aws_sdk_ec2::types::Filter::builder()
        .name("vpc-id")
        .values(vpc)
        .build();
    let sgs = crate::ec2_pages!(@ cloud, describe_security_groups, "DescribeSecurityGroups",
        set_filters = Some(vec![in_vpc]))?;
    // Never a blueprint's own group: its blueprint deletes it.
    let owned = |g: &aws_sdk_ec2::types::SecurityGroup| {
        g.tags()
            .iter()
            .any(|t| t.key() == Some(crate::providers::TAG_NAME))
    };
    for g in sgs.iter().filter(|g| !owned(g)).filter(|g| {
        for_cluster(
            cluster,
            g.tags()
                .iter()
                .map(|t| (t.key().unwrap_or_default(), t.value().unwrap_or_default())),
        )
    }) {
        let id = g.group_id().unwrap_or_default();
        // The load balancers' network interfaces take a while to go.
        crate::providers::aws::retry_in_use(cloud, "DeleteSecurityGroup", || async {
            use crate::providers::AwsResult as _;
            cloud
                .ec2()
                .delete_security_group()
                .group_id(id)
                .send()
                .await
                .gone("DeleteSecurityGroup")
        })
        .await?;
        report_note(&format!(
            "removed security group {id} ({}) that cluster {cluster}'s controllers left in {vpc}",
            g.group_name().unwrap_or_default()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_controllers_tags_mark_what_is_the_clusters() {
        let tags = |pairs: &'static [(&'static str, &'static str)]| pairs.iter().copied();
        assert!(for_cluster(
            "shop",
            tags(&[("elbv2.k8s.aws/cluster", "shop")])
        ));
        assert!(for_cluster(
            "shop",
            tags(&[("kubernetes.io/cluster/shop", "owned")])
        ));
        assert!(!for_cluster(
            "shop",
            tags(&[("elbv2.k8s.aws/cluster", "other")])
        ));
        assert!(!for_cluster(
            "shop",
            tags(&[("kubernetes.io/cluster/shops", "owned")])
        ));
        assert!(!for_cluster("shop", tags(&[("team", "shop")])));
        assert_eq!(
            short("arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/k8s-web/50dc6c495c0c9188"),
            "k8s-web"
        );
        assert_eq!(
            short("arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/k8s-web-tg/6d0ecf831eec9f09"),
            "k8s-web-tg"
        );
    }
}
