//! Provider instances: the account and region a resource is made in, when
//! it is not the command line's. A script makes one with `aws(#{ region,
//! assume_role?, external_id?, profile?, alias? })` and gives it to a
//! constructor as `provider:`; the resource's address then carries the
//! alias (`eu:vpc.main`), and so do its children's.

use super::{regions, Address, Graph, Problem};
use serde::{Deserialize, Serialize};

/// Where the resources of one provider instance are made.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ProviderSpec {
    pub region: String,
    /// A role to assume (in another account, or with other rights).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assume_role: Option<String>,
    /// The external id the role's trust policy asks for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// A profile of the shared AWS config files, in place of the command
    /// line's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
}

impl ProviderSpec {
    /// The account the role to assume is in, when one is given.
    pub fn account(&self) -> Option<&str> {
        self.assume_role.as_deref().and_then(role_account)
    }

    /// Where in AWS, as plans name it: the region, after the account when
    /// the role names one (`222222222222/eu-west-1`).
    pub fn location(&self) -> String {
        match self.account() {
            Some(acct) => format!("{acct}/{}", self.region),
            None => self.region.clone(),
        }
    }

    /// Whether resources made with `other` would be made in the same
    /// place as with this (the external id aside).
    pub fn same_place(&self, other: &ProviderSpec) -> bool {
        self.region == other.region
            && self.assume_role == other.assume_role
            && self.profile == other.profile
    }

    /// The alias an instance gets when the script gives none: its region,
    /// after its account or profile when it has one (`222222222222-eu-west-1`).
    pub fn default_alias(&self) -> String {
        match (self.account(), &self.profile) {
            (Some(a), _) => format!("{a}-{}", self.region),
            (None, Some(p)) => format!("{p}-{}", self.region),
            (None, None) => self.region.clone(),
        }
    }

    /// Where the command line's own resources go: whose credentials they
    /// use, for telling accounts apart before any call.
    fn credentials(&self) -> (Option<&str>, Option<&str>) {
        (self.account(), self.profile.as_deref())
    }

    /// Resources of the two instances can refer to each other's ids only
    /// when both are in the same account (as far as the script can tell:
    /// the same role's account, or the same credentials).
    fn same_account(&self, other: &ProviderSpec) -> bool {
        match (self.account(), other.account()) {
            (Some(a), Some(b)) => a == b,
            _ => self.credentials() == other.credentials(),
        }
    }
}

/// The account id in an IAM role ARN.
fn role_account(arn: &str) -> Option<&str> {
    arn.split(':').nth(4).filter(|a| !a.is_empty())
}

/// `arn:aws:iam::123456789012:role/name` (any partition, a path allowed).
pub fn check_role_arn(arn: &str) -> Result<(), Problem> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let ok = parts.len() == 6
        && parts[0] == "arn"
        && (parts[1] == "aws" || parts[1].starts_with("aws-"))
        && parts[2] == "iam"
        && parts[3].is_empty()
        && parts[4].len() == 12
        && parts[4].bytes().all(|b| b.is_ascii_digit())
        && parts[5].strip_prefix("role/").is_some_and(|n| {
            !n.is_empty()
                && n.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-/".contains(c))
        });
    if ok {
        return Ok(());
    }
    Err(
        Problem::new(format!("assume_role `{arn}` is not the ARN of an IAM role"))
            .hint("an ARN such as arn:aws:iam::123456789012:role/platform"),
    )
}

/// A region this version knows, else the error with the nearest.
pub fn check_region(region: &str) -> Result<(), Problem> {
    if regions::is_known(region) {
        return Ok(());
    }
    let near = regions::all()
        .min_by_key(|r| super::names::edit_distance(r, region))
        .unwrap_or("us-east-1");
    Err(
        Problem::new(format!("`{region}` is not an AWS region")).hint(format!(
            "did you mean {near}? regions are written as eu-west-1, us-east-1, ..."
        )),
    )
}

/// Lower-case letters, digits and `-`, starting with a letter or digit.
pub fn check_alias(alias: &str) -> Result<(), Problem> {
    let ok = !alias.is_empty()
        && alias.len() <= 64
        && alias
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !alias.starts_with('-');
    if ok {
        return Ok(());
    }
    Err(
        Problem::new(format!("alias `{alias}` is not a provider alias"))
            .hint("lower-case letters, digits and -, such as eu or prod-eu"),
    )
}

/// Whether a kind's resources belong to a region (a VPC, a cluster) rather
/// than to the account (IAM) or to a cluster (in-cluster objects).
fn regional(a: &Address) -> bool {
    use super::schema::Scope;
    a.kind.schema().scope != Scope::InCluster
        && !a.kind.as_str().starts_with("iam_")
        && !matches!(
            a.kind.as_str(),
            "existing_role" | "oidc_provider" | "instance_profile"
        )
}

/// References AWS cannot follow from one provider instance to another: a
/// regional resource (a security group, a subnet, a key) of another
/// region, or anything of another account. IAM is the account's, so a
/// role serves every region. Each is a problem about the resource that
/// refers.
pub fn cross_references(g: &Graph, default_region: &str) -> Vec<(Address, Problem)> {
    let default = ProviderSpec {
        region: default_region.to_string(),
        assume_role: None,
        external_id: None,
        profile: None,
    };
    let spec = |a: &Address| match &a.provider {
        Some(p) => g.provider(p).unwrap_or(&default),
        None => &default,
    };
    let mut out = Vec::new();
    for r in g.iter() {
        if r.address.kind.schema().scope == super::schema::Scope::InCluster {
            continue;
        }
        let here = spec(&r.address);
        for to in r.references() {
            if to.provider == r.address.provider
                || to.kind.schema().scope == super::schema::Scope::InCluster
            {
                continue;
            }
            let there = spec(to);
            let why = if !here.same_account(there) {
                Some(format!(
                    "another account ({})",
                    there.account().unwrap_or("the command line's")
                ))
            } else if regional(to) && here.region != there.region {
                Some(format!("region {}", there.region))
            } else {
                None
            };
            if let Some(why) = why {
                out.push((
                    r.address.clone(),
                    Problem::new(format!(
                        "{} ({}) refers to {to}, which is in {why}: AWS cannot use it there",
                        r.address, here.region
                    ))
                    .hint(format!(
                        "declare what {} needs with the same provider, or give {to} its provider",
                        r.address
                    )),
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_arns_and_aliases() {
        assert!(check_role_arn("arn:aws:iam::123456789012:role/platform").is_ok());
        assert!(check_role_arn("arn:aws-cn:iam::123456789012:role/a/b").is_ok());
        assert!(check_role_arn("platform").is_err());
        assert!(check_role_arn("arn:aws:iam::12345:role/x").is_err());
        assert!(check_role_arn("arn:aws:iam::123456789012:user/x").is_err());
        assert!(check_alias("prod-eu").is_ok());
        assert!(check_alias("Prod").is_err());
        assert!(check_alias("a.b").is_err());
        assert!(check_region("eu-west-1").is_ok());
        let e = check_region("eu-wset-1").unwrap_err();
        assert!(e.hint.unwrap().contains("eu-west-1"));
    }

    #[test]
    fn default_aliases_name_the_account_and_region() {
        let s = ProviderSpec {
            region: "eu-west-1".into(),
            assume_role: Some("arn:aws:iam::222222222222:role/platform".into()),
            external_id: None,
            profile: None,
        };
        assert_eq!(s.default_alias(), "222222222222-eu-west-1");
        assert_eq!(s.account(), Some("222222222222"));
    }
}
