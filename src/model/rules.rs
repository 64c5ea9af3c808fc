//! What each kind's fields mean for a plan: which changes force a
//! replacement (and why), and which lists are compared as sets.

use super::Kind;

pub struct Rules {
    /// Fields that cannot change in place, with the reason shown in plans.
    pub replace: &'static [(&'static str, &'static str)],
    /// Lists whose order does not matter.
    pub sets: &'static [&'static str],
}

const NONE: Rules = Rules {
    replace: &[],
    sets: &[],
};

pub fn of(kind: Kind) -> &'static Rules {
    match kind {
        Kind::Vpc => &Rules {
            replace: &[("cidr", "a VPC's primary CIDR block cannot change")],
            sets: &["secondary_cidrs"],
        },
        Kind::Subnet => &Rules {
            replace: &[
                ("cidr", "a subnet's CIDR block cannot change"),
                ("az", "a subnet cannot move to another availability zone"),
                ("vpc", "a subnet cannot move to another VPC"),
            ],
            sets: &[],
        },
        Kind::InternetGateway => &NONE,
        Kind::ElasticIp => &NONE,
        Kind::NatGateway => &Rules {
            replace: &[
                ("subnet", "a NAT gateway cannot move to another subnet"),
                ("allocation", "a NAT gateway's elastic IP cannot change"),
            ],
            sets: &[],
        },
        Kind::RouteTable => &Rules {
            replace: &[("vpc", "a route table cannot move to another VPC")],
            sets: &["routes", "subnets"],
        },
        Kind::SecurityGroup => &Rules {
            replace: &[
                ("name", "a security group cannot be renamed"),
                (
                    "description",
                    "a security group's description cannot change",
                ),
                ("vpc", "a security group cannot move to another VPC"),
            ],
            sets: &["ingress", "egress"],
        },
        Kind::IamRole => &Rules {
            replace: &[],
            sets: &["managed_policies"],
        },
        Kind::OidcProvider => &Rules {
            replace: &[("url", "an OIDC provider's URL cannot change")],
            sets: &["client_ids"],
        },
        Kind::KmsKey => &NONE,
        Kind::Cluster => &Rules {
            replace: &[
                ("role", "a cluster's IAM role cannot change"),
                ("subnets", "a cluster's subnets cannot change in place"),
                (
                    "security_groups",
                    "a cluster's extra security groups cannot change in place",
                ),
                (
                    "secrets_key",
                    "secrets encryption cannot be changed once set",
                ),
            ],
            sets: &[
                "logging",
                "subnets",
                "security_groups",
                "endpoint.public_cidrs",
            ],
        },
        Kind::NodeGroup => &Rules {
            replace: &[
                (
                    "instance_types",
                    "a node group's instance types cannot change in place",
                ),
                ("subnets", "a node group's subnets cannot change in place"),
                (
                    "capacity_type",
                    "a node group's capacity type (spot or on-demand) cannot change in place",
                ),
                (
                    "disk_size",
                    "a node group's disk size cannot change in place",
                ),
                ("ami_type", "a node group's AMI type cannot change in place"),
                ("role", "a node group's IAM role cannot change"),
            ],
            sets: &["instance_types", "subnets", "taints"],
        },
        Kind::FargateProfile => &Rules {
            replace: &[
                (
                    "selectors",
                    "a Fargate profile cannot be changed, only replaced",
                ),
                (
                    "subnets",
                    "a Fargate profile cannot be changed, only replaced",
                ),
                ("role", "a Fargate profile cannot be changed, only replaced"),
                ("tags", "a Fargate profile cannot be changed, only replaced"),
            ],
            sets: &["subnets"],
        },
        Kind::S3Bucket => &NONE,
    }
}

impl Rules {
    /// The reason a change of `path` (e.g. `scaling.desired`) forces a replacement.
    pub fn replacement_reason(&self, path: &str) -> Option<&'static str> {
        self.replace
            .iter()
            .find(|(f, _)| path == *f || path.starts_with(&format!("{f}.")))
            .map(|(_, why)| *why)
    }

    pub fn is_set(&self, path: &str) -> bool {
        self.sets.contains(&path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_group_rules() {
        let r = of(Kind::NodeGroup);
        assert!(r.replacement_reason("instance_types").is_some());
        assert!(r.replacement_reason("scaling.desired").is_none());
        assert!(r.is_set("taints"));
        assert!(of(Kind::SecurityGroup).is_set("ingress"));
    }
}
