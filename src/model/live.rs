//! What exists in AWS for one owned resource, in the vocabulary of specs.

use super::{Address, Map};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Live {
    pub address: Address,
    /// The provider's id (vpc-..., an ARN, a name).
    pub id: String,
    /// Observed fields, shaped like the desired spec.
    pub attrs: Map,
    /// Attributes other resources may refer to (`id`, `arn`, `endpoint`, ...).
    pub outputs: BTreeMap<String, String>,
}

impl Live {
    pub fn new(address: Address, id: impl Into<String>) -> Live {
        let id = id.into();
        let mut outputs = BTreeMap::new();
        outputs.insert("id".to_string(), id.clone());
        Live {
            address,
            id,
            attrs: Map::new(),
            outputs,
        }
    }

    pub fn attr(mut self, key: &str, v: super::Value) -> Live {
        self.attrs.insert(key.to_string(), v);
        self
    }

    pub fn output(mut self, key: &str, v: impl Into<String>) -> Live {
        self.outputs.insert(key.to_string(), v.into());
        self
    }
}

/// A kind whose resources could not be listed (the call was refused or the
/// endpoint does not serve it) while the blueprint declares none of them:
/// the plan goes on, but what the blueprint owned of that kind and no
/// longer declares is not pruned.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Unlisted {
    pub kind: String,
    /// The IAM action of the refused call (`eks:ListAddons`), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// What AWS (or the endpoint) said.
    pub why: String,
}

/// A provider instance whose resources are planned as creates without
/// reads: it does not exist yet (a cluster created by the same plan), so
/// values read from it are known only after apply.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Unread {
    pub provider: String,
    pub why: String,
}
