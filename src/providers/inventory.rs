//! Read-only listings of live resources of a kind, owned or not, for the
//! REPL's `:live` (finding ids, checking what exists). Each kind lists its
//! own; this module dispatches by kind name and filters.

use crate::providers::{Cloud, ProviderError, TAG_ADDRESS, TAG_NAME};

/// One live resource: its id, a name, a few details and its owner, if any.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub id: String,
    pub name: String,
    pub details: String,
    pub owner: Option<String>,
}

/// The owner (`blueprint address`) and Name of an EC2 resource.
pub fn ec2_owner_and_name(tags: &[aws_sdk_ec2::types::Tag]) -> (Option<String>, String) {
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

/// The owner of a resource whose tags `get` reads.
pub fn tag_owner(get: impl Fn(&str) -> Option<String>) -> Option<String> {
    get(TAG_NAME).map(|n| match get(TAG_ADDRESS) {
        Some(a) => format!("{n} {a}"),
        None => n,
    })
}

/// The kind names `:live` takes: every registered kind.
pub fn kinds() -> impl Iterator<Item = &'static str> {
    crate::kinds::REGISTRY.iter().map(|d| d.kind.as_str())
}

/// Lists live resources of `kind`. With a filter, only rows whose id, name,
/// details (a node group's cluster, a subnet's VPC) or owner contain it.
pub async fn list(
    cloud: &Cloud,
    kind: &str,
    filter: Option<&str>,
) -> Result<Vec<Row>, ProviderError> {
    let Some(def) = crate::kinds::lookup(kind) else {
        return Err(ProviderError::Unsupported(format!(
            "unknown kind `{kind}` for :live; kinds: {}",
            kinds().collect::<Vec<_>>().join(", ")
        )));
    };
    let mut rows = (def.list)(cloud).await?;
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
