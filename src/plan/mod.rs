//! Plans: what must change so that AWS matches the blueprint. Computing a
//! plan is pure: it takes the desired graph and the live state read by the
//! providers. Rendering lives in [`render`], apart from the diff.

mod diff;
pub mod render;

pub use diff::{diff_fields, resolve};

use crate::model::{rules, Address, Graph, Live, Map, Resource, Value};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Create,
    Update,
    Replace,
    Delete,
}

impl Action {
    pub fn symbol(self) -> &'static str {
        match self {
            Action::Create => "+",
            Action::Update => "~",
            Action::Replace => "-/+",
            Action::Delete => "-",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FieldDiff {
    /// `scaling.desired`, `tags.team`, `ingress`.
    pub path: String,
    pub before: Value,
    pub after: Value,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub forces_replacement: bool,
}

/// Whether any of `fields` is `field` or inside it (`scaling` covers
/// `scaling.desired`).
pub fn touches(fields: &[FieldDiff], field: &str) -> bool {
    fields.iter().any(|f| {
        f.path == field
            || f.path
                .strip_prefix(field)
                .is_some_and(|rest| rest.starts_with('.'))
    })
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub address: Address,
    pub action: Action,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub fields: Vec<FieldDiff>,
    /// The live resource's id, for updates, replacements and deletes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

/// A desired resource as saved in a plan file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Desired {
    pub address: Address,
    pub spec: Map,
    pub depends_on: Vec<Address>,
    #[serde(default)]
    pub after_create: Vec<Address>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub format_version: u32,
    pub blueprint: String,
    pub region: String,
    /// Changes in the order they are listed (dependencies first, deletes last).
    pub changes: Vec<Change>,
    pub unchanged: usize,
    /// A hash of the live state this plan was made from.
    pub fingerprint: String,
    /// The whole desired state, so that a saved plan can be applied exactly.
    /// Secrets appear as keyed hashes only.
    pub desired: Vec<Desired>,
    /// Where the desired state came from: a saved plan with secrets is
    /// applied by evaluating it again and checking the hashes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<Source>,
}

/// The blueprint and inputs a plan was made from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Source {
    pub file: std::path::PathBuf,
    pub vars: BTreeMap<String, String>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub add: usize,
    pub change: usize,
    pub replace: usize,
    pub destroy: usize,
}

impl Plan {
    pub fn summary(&self) -> Summary {
        let mut s = Summary::default();
        for c in &self.changes {
            match c.action {
                Action::Create => s.add += 1,
                Action::Update => s.change += 1,
                Action::Replace => s.replace += 1,
                Action::Delete => s.destroy += 1,
            }
        }
        s
    }

    pub fn has_changes(&self) -> bool {
        !self.changes.is_empty()
    }

    /// Whether the saved desired state holds secrets known only by hash.
    pub fn needs_secrets(&self) -> bool {
        self.desired
            .iter()
            .any(|d| Value::Map(d.spec.clone()).reveal().is_err())
    }

    /// The saved desired state as JSON, for comparing with a re-evaluation.
    pub fn desired_json(graph: &Graph) -> serde_json::Value {
        serde_json::Value::Array(graph.iter().map(|r| r.to_json()).collect())
    }

    /// The desired graph again, from the saved form.
    pub fn desired_graph(&self) -> Graph {
        let mut g = Graph::new();
        for d in &self.desired {
            let mut r = Resource::new(d.address.clone(), d.spec.clone());
            r.depends_on = d.depends_on.iter().cloned().collect();
            r.after_create = d.after_create.iter().cloned().collect();
            let _ = g.insert(r);
        }
        g
    }
}

/// A stable hash of live state: addresses, ids and observed fields.
pub fn fingerprint(live: &[Live]) -> String {
    let mut sorted: Vec<&Live> = live.iter().collect();
    sorted.sort_by(|a, b| a.address.cmp(&b.address));
    let mut h = Sha256::new();
    for l in sorted {
        h.update(l.address.to_string().as_bytes());
        h.update([0]);
        h.update(l.id.as_bytes());
        h.update([0]);
        h.update(Value::Map(l.attrs.clone()).to_json().to_string().as_bytes());
        h.update([0]);
    }
    hex::encode(h.finalize())
}

/// Compares the desired graph with the live state.
///
/// Deletions are listed last, in reverse dependency order of what they
/// depended on (their addresses sort them: most nested first).
pub fn compute(blueprint: &str, region: &str, desired: &Graph, live: &[Live]) -> Plan {
    let by_address: HashMap<&Address, &Live> = live.iter().map(|l| (&l.address, l)).collect();
    let order: Vec<Address> = match desired.topo_order() {
        Ok(o) => o.into_iter().cloned().collect(),
        Err(_) => desired.iter().map(|r| r.address.clone()).collect(),
    };
    // Outputs of resources that keep their identity: references to them are
    // known. Start with everything that exists; a resource leaves the set as
    // soon as it turns out to be created or replaced. Blocking dependencies
    // come first in `order`; references that only need both resources to
    // exist (after_create) may point forward, so those resources are
    // compared again once every identity is settled.
    let mut known: HashMap<Address, &BTreeMap<String, String>> = order
        .iter()
        .filter_map(|a| by_address.get(a).map(|l| (a.clone(), &l.outputs)))
        .collect();
    let mut decided: BTreeMap<Address, Option<Change>> = BTreeMap::new();
    for address in &order {
        let Some(r) = desired.get(address) else {
            continue;
        };
        let change = compare(r, by_address.get(address).copied(), &known);
        if change.as_ref().is_some_and(|c| c.action != Action::Update) {
            known.remove(address);
        }
        decided.insert(address.clone(), change);
    }
    for address in &order {
        let Some(r) = desired.get(address) else {
            continue;
        };
        if r.after_create.iter().any(|a| !known.contains_key(a)) {
            let change = compare(r, by_address.get(address).copied(), &known);
            decided.insert(address.clone(), change);
        }
    }
    let mut changes = Vec::new();
    let mut unchanged = 0;
    for address in &order {
        match decided.remove(address).flatten() {
            Some(c) => changes.push(c),
            None => unchanged += 1,
        }
    }
    let mut deletes: Vec<&Live> = live
        .iter()
        .filter(|l| !desired.contains(&l.address))
        .collect();
    deletes.sort_by(|a, b| {
        delete_rank(&b.address)
            .cmp(&delete_rank(&a.address))
            .then(a.address.cmp(&b.address))
    });
    for l in deletes {
        changes.push(Change {
            address: l.address.clone(),
            action: Action::Delete,
            reason: Some("no longer declared in the blueprint".into()),
            fields: Vec::new(),
            id: Some(l.id.clone()),
        });
    }
    Plan {
        format_version: 1,
        blueprint: blueprint.to_string(),
        region: region.to_string(),
        changes,
        unchanged,
        fingerprint: fingerprint(live),
        desired: desired
            .iter()
            .map(|r| Desired {
                address: r.address.clone(),
                spec: r.spec.clone(),
                depends_on: r.depends_on.iter().cloned().collect(),
                after_create: r.after_create.iter().cloned().collect(),
            })
            .collect(),
        source: None,
    }
}

/// The change one desired resource needs, if any.
fn compare(
    r: &Resource,
    live: Option<&Live>,
    known: &HashMap<Address, &BTreeMap<String, String>>,
) -> Option<Change> {
    let resolved = resolve(&Value::Map(r.spec.clone()), known);
    let Some(l) = live else {
        return Some(Change {
            address: r.address.clone(),
            action: Action::Create,
            reason: None,
            fields: creation_fields(&resolved),
            id: None,
        });
    };
    let rules = rules::of(r.address.kind);
    let fields = diff_fields(rules, &resolved, &Value::Map(l.attrs.clone()));
    if fields.is_empty() {
        return None;
    }
    let reason = fields
        .iter()
        .filter(|f| f.forces_replacement)
        .find_map(|f| rules.replacement_reason(&f.path));
    Some(Change {
        address: r.address.clone(),
        action: if reason.is_some() {
            Action::Replace
        } else {
            Action::Update
        },
        reason: reason.map(String::from),
        fields,
        id: Some(l.id.clone()),
    })
}

/// Deletion order among resources that are no longer declared, whose
/// dependencies are unknown: dependents (high rank) before what they use.
pub fn delete_rank(a: &Address) -> u8 {
    use crate::model::Kind::*;
    match a.kind {
        NodeGroup | FargateProfile => 9,
        OidcProvider => 8,
        Cluster => 7,
        RouteTable => 6,
        NatGateway => 5,
        ElasticIp | InternetGateway => 4,
        SecurityGroup => 3,
        Subnet => 2,
        Vpc => 1,
        IamRole | KmsKey | S3Bucket => 0,
    }
}

/// Every field of a new resource, flattened, as `null -> value`.
fn creation_fields(spec: &Value) -> Vec<FieldDiff> {
    let mut out = Vec::new();
    flatten("", spec, &mut out);
    out
}

fn flatten(prefix: &str, v: &Value, out: &mut Vec<FieldDiff>) {
    match v {
        Value::Map(m) if !m.is_empty() && (prefix.is_empty() || m.len() <= 8) => {
            for (k, x) in m {
                let path = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&path, x, out);
            }
        }
        _ => out.push(FieldDiff {
            path: prefix.to_string(),
            before: Value::Null,
            after: v.clone(),
            forces_replacement: false,
        }),
    }
}
