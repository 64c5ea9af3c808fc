//! Resource kinds and stable, human-readable addresses such as
//! `vpc.pms-prod` or `subnet.pms-prod/private-a`.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// A kind of resource: a name from the kind registry ([`crate::kinds`]),
/// which holds everything about it. Kinds order as the registry lists them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Kind(&'static str);

impl Kind {
    /// A kind constant for a kind module; the registry test checks that
    /// every registered name is unique.
    pub const fn new(name: &'static str) -> Kind {
        Kind(name)
    }

    pub fn as_str(self) -> &'static str {
        self.0
    }

    /// Everything about this kind.
    pub fn def(self) -> &'static crate::kinds::KindDef {
        crate::kinds::lookup(self.0)
            .unwrap_or_else(|| panic!("kind `{}` is not registered", self.0))
    }

    /// Every registered kind, in registry order.
    pub fn all() -> impl Iterator<Item = Kind> {
        crate::kinds::REGISTRY.iter().map(|d| d.kind)
    }

    fn position(self) -> usize {
        crate::kinds::REGISTRY
            .iter()
            .position(|d| d.kind.0 == self.0)
            .unwrap_or(usize::MAX)
    }

    /// The attribute a handle of this kind stands for when it is passed where
    /// another resource expects it (a subnet handle stands for its id, a role
    /// handle for its ARN).
    pub fn default_attr(self) -> &'static str {
        self.def().default_attr
    }
}

impl PartialOrd for Kind {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Kind {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.position()
            .cmp(&other.position())
            .then(self.0.cmp(other.0))
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Kind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        crate::kinds::lookup(s)
            .map(|d| d.kind)
            .ok_or_else(|| format!("unknown resource kind `{s}`"))
    }
}

/// `kind.name`, where the name may contain `/` to nest a resource under its
/// parent (`node_group.pms-prod/app-nodes`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Address {
    pub kind: Kind,
    pub name: String,
}

impl Address {
    pub fn new(kind: Kind, name: impl Into<String>) -> Self {
        Address {
            kind,
            name: name.into(),
        }
    }

    /// The last segment of the name: `private-a` for `subnet.pms-prod/private-a`.
    pub fn leaf(&self) -> &str {
        self.name.rsplit('/').next().unwrap_or(&self.name)
    }

    /// The first segment of the name: `pms-prod` for `subnet.pms-prod/private-a`.
    pub fn parent_name(&self) -> &str {
        self.name.split('/').next().unwrap_or(&self.name)
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.kind, self.name)
    }
}

impl FromStr for Address {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (kind, name) = s
            .split_once('.')
            .ok_or_else(|| format!("`{s}` is not an address: expected `kind.name`"))?;
        if name.is_empty() {
            return Err(format!("`{s}` is not an address: the name is empty"));
        }
        Ok(Address::new(kind.parse()?, name))
    }
}

impl Serialize for Address {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Address {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_round_trips_through_text() {
        let a: Address = "subnet.pms-prod/private-a".parse().unwrap();
        assert_eq!(a.kind.as_str(), "subnet");
        assert_eq!(a.name, "pms-prod/private-a");
        assert_eq!(a.leaf(), "private-a");
        assert_eq!(a.parent_name(), "pms-prod");
        assert_eq!(a.to_string(), "subnet.pms-prod/private-a");
    }

    #[test]
    fn bucket_names_may_hold_dots() {
        let a: Address = "s3_bucket.backups.example.com".parse().unwrap();
        assert_eq!(a.kind.as_str(), "s3_bucket");
        assert_eq!(a.name, "backups.example.com");
    }

    #[test]
    fn rejects_unknown_kinds_and_empty_names() {
        assert!("widget.x".parse::<Address>().is_err());
        assert!("vpc.".parse::<Address>().is_err());
        assert!("vpc".parse::<Address>().is_err());
    }
}
