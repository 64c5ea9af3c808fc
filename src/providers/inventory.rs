//! Read-only listings of live resources of a kind, owned or not, for the
//! REPL's `:live` (finding ids, checking what exists): the rows and the
//! owner helpers each kind's listing shares; the engine dispatches by kind.

use crate::providers::{TAG_ADDRESS, TAG_NAME};

/// One live resource: its id, a name, a few details and its owner, if any.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub id: String,
    pub name: String,
    pub details: String,
    pub owner: Option<String>,
}

impl Row {
    /// A row with no owner: one whose kind carries no tags to say it.
    pub fn new(id: impl Into<String>, name: impl Into<String>, details: impl Into<String>) -> Row {
        Row {
            id: id.into(),
            name: name.into(),
            details: details.into(),
            owner: None,
        }
    }

    /// Its owner, from its tags as `get` reads them.
    pub fn owner(mut self, get: impl Fn(&str) -> Option<String>) -> Row {
        self.owner = tag_owner(get);
        self
    }

    /// An EC2 resource's row: its name (the `Name` tag) and owner come
    /// from its tags.
    pub fn ec2(
        id: Option<&str>,
        tags: &[aws_sdk_ec2::types::Tag],
        details: impl Into<String>,
    ) -> Row {
        let (owner, name) = ec2_owner_and_name(tags);
        Row {
            owner,
            ..Row::new(id.unwrap_or_default(), name, details)
        }
    }
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
