//! Resource kinds and stable, human-readable addresses such as
//! `vpc.pms-prod` or `subnet.pms-prod/private-a`.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

use super::schema::Schema;

/// A kind of resource: its schema ([`Schema`]), which every layer may read.
/// Kinds compare by name and order as the kind registry lists them.
#[derive(Clone, Copy)]
pub struct Kind(&'static Schema);

impl Kind {
    /// The kind of a schema: each kind module declares `KIND` this way.
    pub const fn of(schema: &'static Schema) -> Kind {
        Kind(schema)
    }

    /// A kind with a bare schema of this name, for tests of the layers
    /// that need kinds but not real ones.
    #[cfg(test)]
    pub fn new(name: &'static str) -> Kind {
        Kind(Box::leak(Box::new(Schema {
            name,
            handle: "Widget",
            default_attr: "id",
            names: super::names::NameRule::TAG,
            fields: &[],
            lifecycle: super::schema::Lifecycle::PLAIN,
            scope: super::schema::Scope::Aws,
            outputs_on_update: &[],
            name_from_address: false,
        })))
    }

    pub fn as_str(self) -> &'static str {
        self.0.name
    }

    /// Everything every layer knows about this kind.
    pub fn schema(self) -> &'static Schema {
        self.0
    }

    /// Every registered kind, in registry order.
    pub fn all() -> impl Iterator<Item = Kind> {
        super::schema::registered().iter().copied()
    }

    fn position(self) -> usize {
        super::schema::registered()
            .iter()
            .position(|k| k.as_str() == self.as_str())
            .unwrap_or(usize::MAX)
    }

    /// The attribute a handle of this kind stands for when it is passed where
    /// another resource expects it (a subnet handle stands for its id, a role
    /// handle for its ARN).
    pub fn default_attr(self) -> &'static str {
        self.0.default_attr
    }
}

impl fmt::Debug for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Kind({})", self.as_str())
    }
}

impl PartialEq for Kind {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Kind {}

impl std::hash::Hash for Kind {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
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
            .then(self.as_str().cmp(other.as_str()))
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
        Kind::all()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| format!("unknown resource kind `{s}`"))
    }
}

/// `kind.name`, where the name may contain `/` to nest a resource under its
/// parent (`node_group.pms-prod/app-nodes`); `alias:kind.name` for a
/// resource of a provider instance (`aws(#{ region })` in a script, see
/// [`super::provider`]): `eu:vpc.main`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Address {
    pub kind: Kind,
    pub name: String,
    /// The alias of the provider instance the resource is made with; `None`
    /// for the command line's account and region.
    pub provider: Option<String>,
}

impl Address {
    pub fn new(kind: Kind, name: impl Into<String>) -> Self {
        Address {
            kind,
            name: name.into(),
            provider: None,
        }
    }

    /// The same address made with provider `alias`.
    pub fn in_provider(mut self, alias: Option<String>) -> Self {
        self.provider = alias;
        self
    }

    /// A resource nested under this one (`subnet.main/private-a` under
    /// `vpc.main`): it is made with the same provider.
    pub fn child(&self, kind: Kind, leaf: impl std::fmt::Display) -> Address {
        Address::new(kind, format!("{}/{leaf}", self.name)).in_provider(self.provider.clone())
    }

    /// Another resource of the same provider (`internet_gateway.main` of
    /// the VPC `vpc.main`).
    pub fn sibling(&self, kind: Kind, name: impl Into<String>) -> Address {
        Address::new(kind, name).in_provider(self.provider.clone())
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
        if let Some(p) = &self.provider {
            write!(f, "{p}:")?;
        }
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
        // Kinds hold no `:` and aliases no `.`: `eu:vpc.main`.
        let (provider, kind) = match kind.split_once(':') {
            Some((alias, kind)) if !alias.is_empty() => (Some(alias.to_string()), kind),
            Some(_) => {
                return Err(format!(
                    "`{s}` is not an address: the provider alias is empty"
                ))
            }
            None => (None, kind),
        };
        Ok(Address::new(kind.parse()?, name).in_provider(provider))
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
    fn a_provider_alias_prefixes_the_address_and_children_inherit_it() {
        let a: Address = "eu:vpc.main".parse().unwrap();
        assert_eq!(a.provider.as_deref(), Some("eu"));
        assert_eq!(a.name, "main");
        assert_eq!(a.to_string(), "eu:vpc.main");
        let s = a.child(a.kind, "private-a");
        assert_eq!(s.to_string(), "eu:vpc.main/private-a");
        // A cluster role's name may hold `:` after the kind.
        let r: Address = "vpc.system:x".parse().unwrap();
        assert_eq!((r.provider, r.name.as_str()), (None, "system:x"));
        assert!(":vpc.main".parse::<Address>().is_err());
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
