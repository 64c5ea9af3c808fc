//! Plans: what must change so that AWS matches the blueprint. Computing a
//! plan is pure: it takes the desired graph and the live state read by the
//! providers. Rendering lives in [`render`], apart from the diff.

mod diff;
pub mod html;
pub mod markdown;
pub mod moves;
pub mod origin;
pub mod render;
pub mod select;
pub mod strategy;

pub use diff::{diff_fields, resolve};

use crate::model::{Address, Graph, Live, Map, Resource, Value};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet, HashMap};

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

pub use crate::model::schema::{touches, DiffOrigin, FieldDiff};
pub use crate::model::Unread;

/// Why a change deletes or replaces a resource.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Reason {
    /// A field that cannot change in place changed.
    Immutable { field: String, message: String },
    /// The resource is owned by the blueprint but no longer declared.
    NotDeclared,
    /// `bp destroy` deletes everything the blueprint owns.
    Destroy,
    /// A second resource owned at one address (a create sent twice): the
    /// one with this id stays.
    Duplicate { of: String },
    /// `--replace ADDRESS`.
    Requested,
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reason::Immutable { message, .. } => f.write_str(message),
            Reason::NotDeclared => f.write_str("no longer declared in the blueprint"),
            Reason::Destroy => f.write_str("destroy"),
            Reason::Duplicate { of } => write!(
                f,
                "a duplicate of {of} (a create was sent twice); {of} stays"
            ),
            Reason::Requested => f.write_str("requested with --replace"),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub address: Address,
    pub action: Action,
    /// The provider instance the change runs against (`aws:us-east-1`).
    pub provider: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<Reason>,
    pub fields: Vec<FieldDiff>,
    /// The live resource's id, for updates, replacements and deletes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// What the provider found while checking the change (a Helm release's
    /// manifest diff), shown under it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// Drift, declared, or both: from the record of the last apply (none
    /// when there is no record).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<DiffOrigin>,
}

/// A desired resource as saved in a plan file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Desired {
    pub address: Address,
    pub spec: Map,
    pub depends_on: Vec<Address>,
    #[serde(default)]
    pub after_create: Vec<Address>,
    /// Its fields left to others once it exists.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignore: Vec<String>,
}

/// A protected resource the plan would delete or replace.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Protected {
    pub address: Address,
    pub action: Action,
    pub reason: Reason,
    /// Not protected itself, but a protected resource that stays uses it
    /// (the key of a kept backup vault): it stays too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kept_for: Option<Address>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub format_version: u32,
    pub blueprint: String,
    pub region: String,
    /// The provider instances the blueprint makes resources with, by
    /// alias (`aws(#{ region, assume_role })`): a saved plan is applied
    /// with them.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub providers: BTreeMap<String, crate::model::ProviderSpec>,
    /// Changes refused because their resource is protected (`protect`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub protected: Vec<Protected>,
    /// Provider instances not read because they do not exist yet.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unread: Vec<Unread>,
    /// Kinds the blueprint does not declare whose resources could not be
    /// listed: what it owned of them is not pruned.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unlisted: Vec<crate::model::Unlisted>,
    /// Changes the kind refuses to make as declared (a major engine
    /// upgrade not asked for), each with why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub refused: Vec<Refused>,
    /// Fields left to others (`ignore`) whose live value differs from the
    /// declared one: information, never a change.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignored: Vec<crate::model::ignore::Ignored>,
    /// Replacements that create the new resource before deleting the old
    /// one (their kind allows two at once, and nothing they depend on is
    /// replaced delete-first); the others delete first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub create_first: Vec<Address>,
    /// Changes in the order they are listed (dependencies first, deletes last).
    pub changes: Vec<Change>,
    /// `--target` and `--exclude`, when the plan was made with them.
    #[serde(default, skip_serializing_if = "select::Selection::is_empty", flatten)]
    pub selection: select::Selection,
    /// The changes `--target` and `--exclude` left out, and why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub left_out: Vec<select::LeftOut>,
    /// `moved(from, to)`: resources re-tagged at their new address before
    /// the changes (with no id: nothing was at `from`, a no-op).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub moved: Vec<moves::Moved>,
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
    /// Lint findings about the resources the plan creates or changes
    /// (allowed ones carry their reason).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<crate::lint::Finding>,
    /// The monthly cost before and after, and of each change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<crate::cost::PlanCost>,
}

/// A change refused by a field's guard.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Refused {
    pub address: Address,
    pub field: String,
    pub message: String,
}

/// The blueprint and inputs a plan was made from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Source {
    pub file: std::path::PathBuf,
    pub vars: BTreeMap<String, SourceVar>,
}

/// A variable a plan was made with: its value, or for a sensitive one
/// only a salted verifier, so that applying the saved plan can check the
/// value it is given again.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum SourceVar {
    Plain(String),
    Sensitive { sensitive: String },
}

impl Source {
    /// The source of a plan made from `file` with the variables `given`,
    /// of which `sensitive` are kept as verifiers only.
    pub fn new(
        file: std::path::PathBuf,
        given: &BTreeMap<String, String>,
        sensitive: &std::collections::BTreeSet<String>,
    ) -> Source {
        let vars = given
            .iter()
            .map(|(k, v)| {
                let var = if sensitive.contains(k) {
                    SourceVar::Sensitive {
                        sensitive: crate::model::verifier::verifier(v),
                    }
                } else {
                    SourceVar::Plain(v.clone())
                };
                (k.clone(), var)
            })
            .collect();
        Source { file, vars }
    }
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
        !self.changes.is_empty() || self.moved.iter().any(|m| m.id.is_some())
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
            r.ignore = d.ignore.iter().cloned().collect();
            let _ = g.insert(r);
        }
        for (alias, spec) in &self.providers {
            let _ = g.add_provider(alias, spec.clone());
        }
        g
    }
}

/// The plan file format this build writes, and the newest it reads.
pub const FORMAT_VERSION: u32 = 2;

/// Why a file is not a plan this build can read.
#[derive(Debug, thiserror::Error)]
pub enum PlanFileError {
    #[error("it is not a plan saved by `bp plan -o` ({0})")]
    NotAPlan(String),
    #[error("it was saved by a newer bp (plan format {found}; this bp reads format {FORMAT_VERSION} and older): show or apply it with that version, or make the plan again")]
    Newer { found: u64 },
    #[error("it is a damaged plan: {0}")]
    Damaged(String),
}

/// A saved plan from its JSON text, checked to be a Blueprint plan of a
/// format this build reads.
pub fn load(text: &str) -> Result<Plan, PlanFileError> {
    let v: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| PlanFileError::NotAPlan(format!("not JSON: {e}")))?;
    let (Some(version), true) = (
        v.get("format_version").and_then(|x| x.as_u64()),
        v.get("fingerprint").is_some(),
    ) else {
        return Err(PlanFileError::NotAPlan(
            "JSON without a plan's format_version and fingerprint".into(),
        ));
    };
    if version > u64::from(FORMAT_VERSION) {
        return Err(PlanFileError::Newer { found: version });
    }
    serde_json::from_value(v).map_err(|e| PlanFileError::Damaged(e.to_string()))
}

/// A stable hash of live state: addresses, ids and observed fields.
/// Fields the blueprint leaves to others are left out.
pub fn fingerprint(live: &[Live], desired: &Graph) -> String {
    let mut sorted: Vec<&Live> = live.iter().collect();
    sorted.sort_by(|a, b| a.address.cmp(&b.address));
    let mut h = Sha256::new();
    for l in sorted {
        h.update(l.address.to_string().as_bytes());
        h.update([0]);
        h.update(l.id.as_bytes());
        h.update([0]);
        let attrs = match desired.get(&l.address) {
            Some(r) => crate::model::ignore::without(&l.attrs, &r.ignore),
            None => l.attrs.clone(),
        };
        h.update(Value::Map(attrs).to_json().to_string().as_bytes());
        h.update([0]);
    }
    hex::encode(h.finalize())
}

/// What kind of plan to make.
#[derive(Clone, Copy, Debug, Default)]
pub struct Mode {
    /// `bp destroy`: everything owned goes, with the reason "destroy".
    pub destroy: bool,
    /// Delete and replace protected resources too (`--include-protected`).
    pub include_protected: bool,
}

/// Compares the desired graph with the live state.
///
/// Deletions are listed last, dependents before what they use: the
/// dependencies of a live resource come from the desired graph where it is
/// still declared, and from its live attributes (a subnet's VPC id, a node
/// group's cluster name) in every case.
pub fn compute(blueprint: &str, region: &str, desired: &Graph, live: &[Live]) -> Plan {
    compute_with(blueprint, region, desired, live, Mode::default())
}

pub fn compute_with(
    blueprint: &str,
    region: &str,
    desired: &Graph,
    live: &[Live],
    mode: Mode,
) -> Plan {
    compute_replacing(
        blueprint,
        region,
        desired,
        live,
        mode,
        &BTreeSet::new(),
        false,
    )
}

/// [`compute_with`], replacing the resources at `replace` whatever their
/// differences (`--replace`): what refers to their outputs changes with
/// them, and their kind's strategy applies. A protected one among them is
/// replaced only when `replace_protected` (`--include-protected`); other
/// protected resources stay refused as ever.
pub fn compute_replacing(
    blueprint: &str,
    region: &str,
    desired: &Graph,
    live: &[Live],
    mode: Mode,
    replace: &BTreeSet<Address>,
    replace_protected: bool,
) -> Plan {
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
    // The outputs an update changes (a launch template's version) are not
    // known while it is planned: what refers to them changes with it.
    let updated_outputs: HashMap<&Address, BTreeMap<String, String>> = live
        .iter()
        .filter(|l| !l.address.kind.schema().outputs_on_update.is_empty())
        .map(|l| {
            let mut o = l.outputs.clone();
            o.retain(|k, _| {
                !l.address
                    .kind
                    .schema()
                    .outputs_on_update
                    .contains(&k.as_str())
            });
            (&l.address, o)
        })
        .collect();
    let mut known: HashMap<Address, &BTreeMap<String, String>> = order
        .iter()
        .filter_map(|a| by_address.get(a).map(|l| (a.clone(), &l.outputs)))
        .collect();
    let mut decided: BTreeMap<Address, Option<Change>> = BTreeMap::new();
    for address in &order {
        let Some(r) = desired.get(address) else {
            continue;
        };
        let at = desired.location_of(address, region);
        let mut change = compare(r, by_address.get(address).copied(), &known, &at);
        if let (true, Some(l)) = (replace.contains(address), by_address.get(address)) {
            change = Some(requested(change, address, l, &at));
        }
        if change.as_ref().is_some_and(|c| c.action != Action::Update) {
            known.remove(address);
        } else if let (Some(_), Some(o)) = (&change, updated_outputs.get(address)) {
            known.insert(address.clone(), o);
        }
        decided.insert(address.clone(), change);
    }
    for address in &order {
        let Some(r) = desired.get(address) else {
            continue;
        };
        if r.after_create.iter().any(|a| !known.contains_key(a)) {
            let at = desired.location_of(address, region);
            let mut change = compare(r, by_address.get(address).copied(), &known, &at);
            if let (true, Some(l)) = (replace.contains(address), by_address.get(address)) {
                change = Some(requested(change, address, l, &at));
            }
            decided.insert(address.clone(), change);
        }
    }
    let mut changes = Vec::new();
    let mut protected = Vec::new();
    let mut unchanged = 0;
    for address in &order {
        match decided.remove(address).flatten() {
            Some(c) if c.action == Action::Replace && is_protected(by_address.get(address)) => {
                let asked = replace_protected && replace.contains(address);
                if !asked {
                    protected.push(Protected {
                        address: c.address.clone(),
                        action: c.action,
                        reason: c.reason.clone().unwrap_or(Reason::NotDeclared),
                        kept_for: None,
                    });
                }
                if mode.include_protected || asked {
                    changes.push(c);
                }
            }
            Some(c) => changes.push(c),
            None => unchanged += 1,
        }
    }
    let gone: Vec<&Live> = live
        .iter()
        .filter(|l| !desired.contains(&l.address))
        .collect();
    let kept = if mode.include_protected {
        BTreeMap::new()
    } else {
        kept_with_protected(&gone)
    };
    for l in delete_order(&gone, desired) {
        let reason = match l.attrs.get(DUPLICATE_OF).and_then(Value::as_str) {
            _ if mode.destroy => Reason::Destroy,
            Some(of) => Reason::Duplicate { of: of.to_string() },
            None => Reason::NotDeclared,
        };
        if is_protected(Some(&l)) {
            protected.push(Protected {
                address: l.address.clone(),
                action: Action::Delete,
                reason: reason.clone(),
                kept_for: None,
            });
            if !mode.include_protected {
                continue;
            }
        } else if let Some(root) = kept.get(&l.address) {
            protected.push(Protected {
                address: l.address.clone(),
                action: Action::Delete,
                reason: reason.clone(),
                kept_for: Some(root.clone()),
            });
            continue;
        }
        changes.push(Change {
            address: l.address.clone(),
            action: Action::Delete,
            provider: l
                .address
                .kind
                .schema()
                .provider(&l.address, &desired.location_of(&l.address, region)),
            reason: Some(reason),
            fields: Vec::new(),
            id: Some(l.id.clone()),
            notes: Vec::new(),
            origin: None,
        });
    }
    let mut plan = Plan {
        format_version: FORMAT_VERSION,
        blueprint: blueprint.to_string(),
        region: region.to_string(),
        providers: desired.providers().clone(),
        protected,
        unread: Vec::new(),
        unlisted: Vec::new(),
        refused: refusals(&changes, desired, live),
        ignored: ignored(desired, &by_address),
        create_first: Vec::new(),
        changes,
        selection: select::Selection::default(),
        left_out: Vec::new(),
        moved: Vec::new(),
        unchanged,
        fingerprint: fingerprint(live, desired),
        desired: desired
            .iter()
            .map(|r| Desired {
                address: r.address.clone(),
                spec: r.spec.clone(),
                depends_on: r.depends_on.iter().cloned().collect(),
                after_create: r.after_create.iter().cloned().collect(),
                ignore: r.ignore.iter().cloned().collect(),
            })
            .collect(),
        source: None,
        findings: Vec::new(),
        cost: None,
    };
    let first = strategy::create_first(&plan, desired, &|a| a.kind.schema().lifecycle.replace);
    plan.create_first = first.into_iter().collect();
    plan.create_first.sort();
    plan
}

/// A replacement asked for with `--replace`, with the differences there
/// are.
fn requested(change: Option<Change>, address: &Address, live: &Live, region: &str) -> Change {
    let mut c = change.unwrap_or_else(|| Change {
        address: address.clone(),
        action: Action::Replace,
        provider: address.kind.schema().provider(address, region),
        reason: None,
        fields: Vec::new(),
        id: Some(live.id.clone()),
        notes: Vec::new(),
        origin: None,
    });
    c.action = Action::Replace;
    c.reason = Some(Reason::Requested);
    c.id = Some(live.id.clone());
    c
}

/// The ignored fields of resources that exist whose live value differs
/// from the declared one.
fn ignored(desired: &Graph, live: &HashMap<&Address, &Live>) -> Vec<crate::model::ignore::Ignored> {
    let mut out = Vec::new();
    for r in desired.iter().filter(|r| !r.ignore.is_empty()) {
        let Some(l) = live.get(&r.address) else {
            continue;
        };
        let mut spec = r.spec.clone();
        for (field, declared, live) in
            crate::model::ignore::keep_live(&mut spec, &r.ignore, &l.attrs)
        {
            out.push(crate::model::ignore::Ignored {
                address: r.address.clone(),
                field,
                declared,
                live,
            });
        }
    }
    out
}

/// The changes that a guard of one of their changed fields refuses.
fn refusals(changes: &[Change], desired: &Graph, live: &[Live]) -> Vec<Refused> {
    let mut out = Vec::new();
    for c in changes
        .iter()
        .filter(|c| matches!(c.action, Action::Update | Action::Replace))
    {
        let (Some(r), Some(l)) = (
            desired.get(&c.address),
            live.iter().find(|l| l.address == c.address),
        ) else {
            continue;
        };
        for f in c.address.kind.schema().fields {
            let Some(guard) = f.guard else { continue };
            if !c
                .fields
                .iter()
                .any(|d| d.path == f.name || d.path.starts_with(&format!("{}.", f.name)))
            {
                continue;
            }
            if let Some(message) = guard(&r.spec, &l.attrs) {
                out.push(Refused {
                    address: c.address.clone(),
                    field: f.name.to_string(),
                    message,
                });
            }
        }
    }
    out
}

/// Marks a live resource found at an address that another one holds too.
pub const DUPLICATE_OF: &str = "duplicate_of";

/// Separates resources owned at the same address (a create that AWS made
/// twice, its first answer lost): the one that others refer to stays at
/// the address (else the lowest id); each other one moves to
/// `<address>~<id>`, marked with the id that stays, so that plans delete
/// it as a duplicate and destroy deletes every one.
pub fn separate_duplicates(live: &mut [Live]) {
    let mut by_address: BTreeMap<Address, Vec<usize>> = BTreeMap::new();
    for (i, l) in live.iter().enumerate() {
        let group = by_address.entry(l.address.clone()).or_default();
        // The same resource read twice is one resource.
        if !group.iter().any(|&j| live[j].id == l.id) {
            group.push(i);
        }
    }
    for (address, mut group) in by_address.into_iter().filter(|(_, g)| g.len() > 1) {
        let users = |i: usize| -> usize {
            let target = [&live[i]];
            live.iter()
                .enumerate()
                .filter(|(j, _)| !group.contains(j))
                .filter(|(_, o)| !live_dependencies(o, &target).is_empty())
                .count()
        };
        let mut ranked: Vec<(usize, usize)> = group.iter().map(|&i| (users(i), i)).collect();
        ranked.sort_by(|a, b| b.0.cmp(&a.0).then(live[a.1].id.cmp(&live[b.1].id)));
        let keep = ranked[0].1;
        let kept_id = live[keep].id.clone();
        group.retain(|&i| i != keep);
        for i in group {
            let l = &mut live[i];
            l.address = Address::new(address.kind, format!("{}~{}", address.name, l.id));
            l.attrs.insert(DUPLICATE_OF.into(), Value::str(&kept_id));
        }
    }
}

/// The resources among `gone` that protected ones (which stay) use,
/// directly or not, each with the protected resource it stays for: a kept
/// backup vault keeps its KMS key, or its recovery points could not be
/// decrypted.
fn kept_with_protected(gone: &[&Live]) -> BTreeMap<Address, Address> {
    let mut kept: BTreeMap<Address, Address> = BTreeMap::new();
    let mut stack: Vec<(&Live, Address)> = gone
        .iter()
        .filter(|l| is_protected(Some(*l)))
        .map(|l| (*l, l.address.clone()))
        .collect();
    while let Some((l, root)) = stack.pop() {
        for d in live_dependencies(l, gone) {
            if kept.contains_key(d) || is_protected(gone.iter().find(|g| &g.address == d)) {
                continue;
            }
            kept.insert(d.clone(), root.clone());
            if let Some(dl) = gone.iter().find(|g| &g.address == d) {
                stack.push((dl, root.clone()));
            }
        }
    }
    kept
}

/// Whether the live resource carries the protection tag.
fn is_protected(live: Option<&&Live>) -> bool {
    live.and_then(|l| l.attrs.get("protect"))
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

/// The resources a live resource refers to among `others`: the values of
/// its reference fields (as the kind's schema marks them) that are another
/// resource's id or one of its outputs other than its name.
pub fn live_dependencies<'a>(l: &Live, others: &[&'a Live]) -> Vec<&'a Address> {
    let def = l.address.kind.schema();
    let mut names: Vec<&str> = Vec::new();
    for f in def.fields.iter().filter(|f| f.reference) {
        if let Some(v) = l.attrs.get(f.name) {
            collect_strings(v, &mut names);
        }
    }
    others
        .iter()
        .filter(|o| o.address != l.address)
        .filter(|o| {
            names.iter().any(|n| {
                *n == o.id
                    || *n == o.address.to_string()
                    || o.outputs
                        .iter()
                        .any(|(k, v)| k != "name" && !v.is_empty() && v == n)
            })
        })
        .map(|o| &o.address)
        .collect()
}

fn collect_strings<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
    match v {
        Value::Str(s) => out.push(s),
        Value::List(l) => l.iter().for_each(|x| collect_strings(x, out)),
        Value::Map(m) => m.values().for_each(|x| collect_strings(x, out)),
        _ => {}
    }
}

/// Deletions in an order where dependents go before what they use: edges
/// from the desired graph (for what is still declared) and from live
/// attributes. Ties, and any cycle, fall back to address order.
pub fn delete_order<'a>(gone: &[&'a Live], desired: &Graph) -> Vec<&'a Live> {
    let mut sorted: Vec<&Live> = gone.to_vec();
    sorted.sort_by(|a, b| a.address.cmp(&b.address));
    let index: HashMap<&Address, usize> = sorted
        .iter()
        .enumerate()
        .map(|(i, l)| (&l.address, i))
        .collect();
    // users[i]: the resources that use resource i (and go first).
    let mut users: Vec<Vec<usize>> = vec![Vec::new(); sorted.len()];
    for (i, l) in sorted.iter().enumerate() {
        let mut uses: Vec<&Address> = live_dependencies(l, &sorted);
        if let Some(r) = desired.get(&l.address) {
            uses.extend(r.depends_on.iter());
        }
        for u in uses {
            if let Some(&j) = index.get(u) {
                if j != i {
                    users[j].push(i);
                }
            }
        }
    }
    let mut waiting: Vec<usize> = users.iter().map(Vec::len).collect();
    let mut done = vec![false; sorted.len()];
    let mut out = Vec::with_capacity(sorted.len());
    while out.len() < sorted.len() {
        let next = (0..sorted.len())
            .find(|&i| !done[i] && waiting[i] == 0)
            .or_else(|| (0..sorted.len()).find(|&i| !done[i]));
        let Some(i) = next else { break };
        done[i] = true;
        out.push(sorted[i]);
        // Resource i is deleted: what it used waits for one user fewer.
        for (j, us) in users.iter().enumerate() {
            if us.contains(&i) {
                waiting[j] = waiting[j].saturating_sub(1);
            }
        }
    }
    out
}

/// The change one desired resource needs, if any.
fn compare(
    r: &Resource,
    live: Option<&Live>,
    known: &HashMap<Address, &BTreeMap<String, String>>,
    region: &str,
) -> Option<Change> {
    let provider = r.address.kind.schema().provider(&r.address, region);
    let resolved = resolve(&Value::Map(r.spec.clone()), known);
    let Some(l) = live else {
        return Some(Change {
            address: r.address.clone(),
            action: Action::Create,
            provider: provider.to_string(),
            reason: None,
            fields: creation_fields(r.address.kind.schema(), &resolved),
            id: None,
            notes: Vec::new(),
            origin: None,
        });
    };
    let mut resolved = resolved;
    if let Value::Map(spec) = &mut resolved {
        crate::model::ignore::keep_live(spec, &r.ignore, &l.attrs);
    }
    let def = r.address.kind.schema();
    let fields = diff_fields(def.fields, &resolved, &Value::Map(l.attrs.clone()));
    if fields.is_empty() {
        return None;
    }
    let reason = fields
        .iter()
        .filter(|f| f.forces_replacement)
        .find_map(|f| {
            let why = def
                .field(&f.path)
                .and_then(|x| x.replace)
                .or_else(|| def.field(f.path.split('.').next()?).and_then(|x| x.replace))?;
            Some(Reason::Immutable {
                field: f.path.clone(),
                message: why.to_string(),
            })
        });
    let action = if reason.is_some() || !def.lifecycle.in_place {
        Action::Replace
    } else {
        Action::Update
    };
    Some(Change {
        address: r.address.clone(),
        action,
        provider: provider.to_string(),
        reason,
        fields,
        id: Some(l.id.clone()),
        notes: Vec::new(),
        origin: None,
    })
}

/// Every field of a new resource, flattened, as `null -> value`.
/// The fields of a new resource as the plan lists them: nested maps by
/// path, empty values left out, settings of the declaration (`adopt`) left
/// out, and the values of sensitive fields hidden.
fn creation_fields(def: &crate::model::schema::Schema, spec: &Value) -> Vec<FieldDiff> {
    use crate::model::schema::Diff;
    let mut out = Vec::new();
    let Some(m) = spec.as_map() else {
        return out;
    };
    for (k, v) in m {
        let diff = def.field(k).map(|f| f.diff);
        if matches!(diff, Some(Diff::Local)) {
            continue;
        }
        let empty = match v {
            Value::Null => true,
            Value::Map(m) => m.is_empty(),
            Value::List(l) => l.is_empty(),
            _ => false,
        };
        if empty {
            continue;
        }
        let mut fields = Vec::new();
        flatten(k, v, &mut fields);
        if matches!(diff, Some(Diff::Sensitive | Diff::SensitiveMap)) {
            for f in &mut fields {
                f.after = Value::Sensitive(crate::model::Secret {
                    hash: "new".into(),
                    value: None,
                });
            }
        }
        out.extend(fields);
    }
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
            origin: None,
        }),
    }
}

#[cfg(test)]
mod duplicate_tests {
    use super::*;
    use crate::model::names::NameRule;
    use crate::model::schema::{Field, Lifecycle, Schema, Scope};
    use crate::model::Kind;

    /// Small made-up kinds: an address and a gateway whose `allocation`
    /// refers to one.
    static IP: Schema = Schema {
        name: "ip",
        handle: "Ip",
        default_attr: "id",
        names: NameRule::TAG,
        fields: &[],
        lifecycle: Lifecycle::PLAIN,
        scope: Scope::Aws,
        outputs_on_update: &[],
        name_from_address: false,
    };
    static GATEWAY: Schema = Schema {
        name: "gateway",
        handle: "Gateway",
        default_attr: "id",
        names: NameRule::TAG,
        fields: &[Field::new("allocation").refers()],
        lifecycle: Lifecycle::PLAIN,
        scope: Scope::Aws,
        outputs_on_update: &[],
        name_from_address: false,
    };
    mod elastic_ip {
        pub const KIND: super::Kind = super::Kind::of(&super::IP);
    }
    mod nat_gateway {
        pub const KIND: super::Kind = super::Kind::of(&super::GATEWAY);
    }

    fn eip(id: &str) -> Live {
        Live::new(Address::new(elastic_ip::KIND, "p/nat-a"), id)
    }

    /// Two elastic IPs at one address: the one the NAT gateway uses stays,
    /// the other is planned for deletion as a duplicate, at an address of
    /// its own (so the applier deletes it, not the one that stays).
    #[test]
    fn a_duplicate_is_deleted_and_the_used_one_stays() {
        let nat = Live::new(Address::new(nat_gateway::KIND, "p/a"), "nat-1")
            .attr("allocation", Value::str("eipalloc-2"));
        let mut live = vec![eip("eipalloc-1"), eip("eipalloc-2"), nat];
        separate_duplicates(&mut live);
        assert_eq!(live[1].address.name, "p/nat-a");
        assert_eq!(live[0].address.name, "p/nat-a~eipalloc-1");
        let mut g = Graph::new();
        g.insert(Resource::new(
            Address::new(elastic_ip::KIND, "p/nat-a"),
            Map::new(),
        ))
        .unwrap();
        g.insert(Resource::new(
            Address::new(nat_gateway::KIND, "p/a"),
            Map::new(),
        ))
        .unwrap();
        let plan = compute("p", "us-east-1", &g, &live);
        let deletes: Vec<(&str, Option<&Reason>)> = plan
            .changes
            .iter()
            .filter(|c| c.action == Action::Delete)
            .map(|c| (c.id.as_deref().unwrap_or(""), c.reason.as_ref()))
            .collect();
        assert_eq!(
            deletes,
            [(
                "eipalloc-1",
                Some(&Reason::Duplicate {
                    of: "eipalloc-2".into()
                })
            )]
        );
        // Destroy deletes both.
        let destroy = compute_with(
            "p",
            "us-east-1",
            &Graph::new(),
            &live,
            Mode {
                destroy: true,
                include_protected: false,
            },
        );
        let gone: Vec<&str> = destroy
            .changes
            .iter()
            .filter(|c| c.address.kind == elastic_ip::KIND)
            .filter_map(|c| c.id.as_deref())
            .collect();
        assert_eq!(gone.len(), 2, "{gone:?}");
    }
}

/// `compute` on made-up kinds: what the planner does follows from the
/// schema a kind carries, nothing else.
#[cfg(test)]
mod schema_tests {
    use super::*;
    use crate::model::schema::{Field, Lifecycle, Schema};
    use crate::model::Kind;

    static BOX_FIELDS: &[Field] = &[
        Field::new("size").replaces("a box cannot be resized"),
        Field::new("colour"),
        Field::new("ports").set(),
    ];
    static BOX: Schema = Schema::new("box", "Box", BOX_FIELDS);
    static SEALED: Schema =
        Schema::new("sealed", "Sealed", BOX_FIELDS).lifecycle(Lifecycle::REPLACED);

    fn declared(kind: Kind, spec: &[(&str, Value)]) -> Graph {
        let mut g = Graph::new();
        let spec: Map = spec
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        g.insert(Resource::new(Address::new(kind, "b"), spec))
            .unwrap();
        g
    }

    fn live(kind: Kind, spec: &[(&str, Value)]) -> Live {
        spec.iter()
            .fold(Live::new(Address::new(kind, "b"), "box-1"), |l, (k, v)| {
                l.attr(k, v.clone())
            })
    }

    fn ports(p: &[&str]) -> Value {
        Value::List(p.iter().map(|s| Value::str(*s)).collect())
    }

    #[test]
    fn the_schema_decides_update_replace_and_order() {
        let kind = Kind::of(&BOX);
        let now = [
            ("size", Value::Int(1)),
            ("colour", Value::str("red")),
            ("ports", ports(&["a", "b"])),
        ];
        // A set compares without order: no change.
        let same = [
            ("size", Value::Int(1)),
            ("colour", Value::str("red")),
            ("ports", ports(&["b", "a"])),
        ];
        let p = compute("t", "r", &declared(kind, &same), &[live(kind, &now)]);
        assert!(!p.has_changes(), "{:?}", p.changes);
        // A field that changes in place: an update.
        let recoloured = [
            ("size", Value::Int(1)),
            ("colour", Value::str("blue")),
            ("ports", ports(&["a", "b"])),
        ];
        let p = compute("t", "r", &declared(kind, &recoloured), &[live(kind, &now)]);
        assert_eq!(p.changes[0].action, Action::Update);
        // A field that `replaces`: a replacement, with the schema's reason.
        let resized = [
            ("size", Value::Int(2)),
            ("colour", Value::str("red")),
            ("ports", ports(&["a", "b"])),
        ];
        let p = compute("t", "r", &declared(kind, &resized), &[live(kind, &now)]);
        assert_eq!(p.changes[0].action, Action::Replace);
        assert_eq!(
            p.changes[0].reason,
            Some(Reason::Immutable {
                field: "size".into(),
                message: "a box cannot be resized".into()
            })
        );
        // A kind that never changes in place is replaced for any change.
        let sealed = Kind::of(&SEALED);
        let p = compute(
            "t",
            "r",
            &declared(sealed, &recoloured),
            &[live(sealed, &now)],
        );
        assert_eq!(p.changes[0].action, Action::Replace);
    }
}
