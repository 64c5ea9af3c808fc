//! `bp permissions`: the least-privilege IAM policy a blueprint needs for
//! one command, derived from the kinds' own declarations (each kind's
//! entry in the registry says which IAM actions its read, create, update
//! and delete call: [`Iam`]) and from what the blueprint declares.
//!
//! A policy is built from statements of these sorts:
//! - `Read`: the read actions of every kind, on `*`. A plan lists every
//!   kind (there is no state file), so that what the blueprint no longer
//!   declares is found and pruned; list and describe calls take no
//!   resource ARNs; and what planning a declaration looks up (add-on
//!   versions, an `existing_*` reference);
//! - `Change...`: for `apply`, the create, update and delete actions of each
//!   declared kind, on the ARNs the blueprint's names make known (IAM
//!   paths, cluster, bucket, table and log group names), else on `*`;
//! - `Prune...`: for `apply` and `destroy`, the delete actions of every kind,
//!   on the blueprint's IAM path, or on `*` with the condition
//!   `aws:ResourceTag/blueprint:name` where the service supports it;
//! - `PassRole`, service-linked roles and the lock table.
//!
//! The result is split into documents under IAM's 6,144-character limit
//! for a managed policy. Nothing here calls AWS.

mod render;

pub use render::{render, Format};

use crate::model::{Graph, Kind, Resource, Value};
use std::collections::{BTreeMap, BTreeSet};

/// The IAM actions of one kind's operations. Actions are written as IAM
/// names them (`ec2:DescribeVpcs`).
#[derive(Clone, Copy, Debug)]
pub struct Iam {
    /// Finding the owned ones (every plan, apply and destroy).
    pub read: &'static [&'static str],
    /// Planning a declared one (lookups: an AMI, add-on versions).
    pub plan: &'static [&'static str],
    /// Looking up an `existing_*` reference of the kind.
    pub existing: &'static [&'static str],
    pub create: &'static [&'static str],
    pub update: &'static [&'static str],
    pub delete: &'static [&'static str],
    /// Deleting what others made for it (a cluster's load balancers the
    /// controller left): no ownership tag narrows these.
    pub sweep: &'static [&'static str],
    /// The ARNs of one declared resource, with `{region}`, `{account}`,
    /// `{blueprint}`, `{name}` (its name) and `{cluster}` (its cluster's)
    /// filled in; none: `*`.
    pub arns: &'static [&'static str],
    /// ARNs covering every resource of the kind the blueprint owns (its
    /// IAM path); none: `*`, narrowed by the ownership tag when
    /// `tag_condition`.
    pub owned: &'static [&'static str],
    /// The service takes `aws:ResourceTag/blueprint:name` on this kind's
    /// deletes.
    pub tag_condition: bool,
    /// Its create or update passes an IAM role (`iam:PassRole`).
    pub passes_role: bool,
    /// The services whose service-linked role its create may make.
    pub service_linked: &'static [&'static str],
    /// Actions a declaration needs for some of its settings only (EKS
    /// secrets encryption's `kms:CreateGrant`).
    pub when: Option<fn(&Resource) -> Vec<&'static str>>,
}

impl Iam {
    /// A kind that calls nothing in AWS (in-cluster kinds).
    pub const NONE: Iam = Iam::reads(&[]);

    /// A kind with these read actions, until the builders say more.
    pub const fn reads(read: &'static [&'static str]) -> Iam {
        Iam {
            read,
            plan: &[],
            existing: &[],
            create: &[],
            update: &[],
            delete: &[],
            sweep: &[],
            arns: &[],
            owned: &[],
            tag_condition: false,
            passes_role: false,
            service_linked: &[],
            when: None,
        }
    }

    pub const fn plan(mut self, a: &'static [&'static str]) -> Iam {
        self.plan = a;
        self
    }
    pub const fn existing(mut self, a: &'static [&'static str]) -> Iam {
        self.existing = a;
        self
    }
    pub const fn create(mut self, a: &'static [&'static str]) -> Iam {
        self.create = a;
        self
    }
    pub const fn update(mut self, a: &'static [&'static str]) -> Iam {
        self.update = a;
        self
    }
    pub const fn delete(mut self, a: &'static [&'static str]) -> Iam {
        self.delete = a;
        self
    }
    pub const fn sweep(mut self, a: &'static [&'static str]) -> Iam {
        self.sweep = a;
        self
    }
    pub const fn arns(mut self, a: &'static [&'static str]) -> Iam {
        self.arns = a;
        self
    }
    pub const fn owned(mut self, a: &'static [&'static str]) -> Iam {
        self.owned = a;
        self
    }
    pub const fn tag_condition(mut self) -> Iam {
        self.tag_condition = true;
        self
    }
    pub const fn passes_role(mut self) -> Iam {
        self.passes_role = true;
        self
    }
    pub const fn service_linked(mut self, s: &'static [&'static str]) -> Iam {
        self.service_linked = s;
        self
    }
    pub const fn when(mut self, f: fn(&Resource) -> Vec<&'static str>) -> Iam {
        self.when = Some(f);
        self
    }

    /// Every action the kind declares.
    pub fn all(&self) -> impl Iterator<Item = &'static str> + '_ {
        [
            self.read,
            self.plan,
            self.existing,
            self.create,
            self.update,
            self.delete,
            self.sweep,
        ]
        .into_iter()
        .flatten()
        .copied()
    }
}

/// Where the kind registry hands each kind's IAM actions down: one element.
#[linkme::distributed_slice]
pub static IAM: [fn() -> Vec<(Kind, Iam)>];

/// Every kind's IAM actions, in registry order.
pub fn kinds() -> &'static [(Kind, Iam)] {
    static ALL: std::sync::OnceLock<Vec<(Kind, Iam)>> = std::sync::OnceLock::new();
    ALL.get_or_init(|| IAM.iter().flat_map(|list| list()).collect())
}

/// The table of the apply lock, and of the claims on account singletons.
const LOCK_TABLE: &str = "arn:aws:dynamodb:{region}:{account}:table/blueprint-locks";
/// Taking, waiting for and giving back the lock (the table is made on
/// first use), and the records of what was applied (drift or declared).
const LOCK: &[&str] = &[
    "dynamodb:CreateTable",
    "dynamodb:DescribeTable",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchGetItem",
    "dynamodb:BatchWriteItem",
];
/// Connecting to an `existing_cluster` and finding its OIDC provider.
const EXISTING_CLUSTER: &[&str] = &["eks:DescribeCluster", "iam:ListOpenIDConnectProviders"];

/// The command a policy is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command {
    Plan,
    Apply,
    Destroy,
}

impl std::str::FromStr for Command {
    type Err = String;
    fn from_str(s: &str) -> Result<Command, String> {
        match s {
            "plan" => Ok(Command::Plan),
            "apply" => Ok(Command::Apply),
            "destroy" => Ok(Command::Destroy),
            other => Err(format!(
                "`{other}` is not a command with a policy: plan, apply or destroy"
            )),
        }
    }
}

/// What a policy is computed for.
#[derive(Clone, Debug)]
pub struct Request<'a> {
    pub blueprint: &'a str,
    pub region: &'a str,
    /// The account in ARNs; `*` when not given.
    pub account: &'a str,
    pub command: Command,
    /// Every statement on `*`, with no conditions: for emulators that
    /// check actions only.
    pub any_resource: bool,
}

/// A condition: `StringEquals` on one key.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Condition {
    pub test: &'static str,
    pub key: String,
    pub values: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Statement {
    pub sid: String,
    pub actions: BTreeSet<String>,
    pub resources: BTreeSet<String>,
    pub condition: Option<Condition>,
}

/// One or more policy documents (split at IAM's size limit), and what the
/// principal needs besides IAM.
#[derive(Clone, Debug)]
pub struct Policies {
    pub documents: Vec<Vec<Statement>>,
    /// Kubernetes access the principal needs, per cluster.
    pub notes: Vec<String>,
}

/// IAM's limit on a managed policy, in characters without whitespace.
pub const MAX_POLICY_CHARS: usize = 6144;

/// Builds statements keyed by (resources, condition), merging actions.
#[derive(Default)]
struct Builder {
    statements: BTreeMap<(String, Vec<String>, Option<Condition>), BTreeSet<String>>,
}

impl Builder {
    fn add<'a>(
        &mut self,
        sid: &str,
        actions: impl IntoIterator<Item = &'a str>,
        resources: Vec<String>,
        condition: Option<Condition>,
    ) {
        let actions: Vec<&str> = actions.into_iter().collect();
        if actions.is_empty() {
            return;
        }
        let mut resources = resources;
        resources.sort();
        resources.dedup();
        self.statements
            .entry((sid.to_string(), resources, condition))
            .or_default()
            .extend(actions.into_iter().map(String::from));
    }

    fn build(self, any_resource: bool) -> Vec<Statement> {
        if any_resource {
            let actions: BTreeSet<String> = self.statements.into_values().flatten().collect();
            return vec![Statement {
                sid: "Blueprint".into(),
                actions,
                resources: BTreeSet::from(["*".to_string()]),
                condition: None,
            }];
        }
        // An action allowed on `*` without a condition needs no other
        // statement: those come first, and each action is kept once.
        let mut keyed: Vec<_> = self.statements.into_iter().collect();
        keyed.sort_by_key(|((_, r, c), _)| !(c.is_none() && r.iter().any(|r| r == "*")));
        let mut everywhere: BTreeSet<String> = BTreeSet::new();
        // (the sid the statement was keyed by, the statement)
        let mut out: Vec<(String, Statement)> = Vec::new();
        for ((sid, resources, condition), actions) in keyed {
            let broad = condition.is_none() && resources.iter().any(|r| r == "*");
            let actions: BTreeSet<String> = actions.difference(&everywhere).cloned().collect();
            if actions.is_empty() {
                continue;
            }
            if broad {
                everywhere.extend(actions.iter().cloned());
            }
            let resources: BTreeSet<String> = if broad {
                BTreeSet::from(["*".to_string()])
            } else {
                resources.into_iter().collect()
            };
            // Same sid, same actions: one statement over both resources.
            if let Some((_, s)) = out
                .iter_mut()
                .find(|(base, s)| *base == sid && s.actions == actions && s.condition == condition)
            {
                s.resources.extend(resources);
                continue;
            }
            let n = out.iter().filter(|(base, _)| *base == sid).count();
            let name = if n == 0 {
                sid.clone()
            } else {
                format!("{sid}{}", n + 1)
            };
            out.push((
                sid,
                Statement {
                    sid: name,
                    actions,
                    resources,
                    condition,
                },
            ));
        }
        out.into_iter().map(|(_, s)| s).collect()
    }
}

/// `{region}`, `{account}`, `{blueprint}`, `{name}` and `{cluster}` filled in.
fn fill(pattern: &str, req: &Request, name: &str, cluster: &str) -> String {
    pattern
        .replace("{region}", req.region)
        .replace("{account}", req.account)
        .replace("{blueprint}", req.blueprint)
        .replace("{name}", name)
        .replace("{cluster}", cluster)
}

/// A resource's name as AWS knows it (its `name`, else its address's
/// last part) and its cluster's (the first part of a cluster child's
/// address).
fn names(r: &Resource) -> (String, String) {
    let name = r
        .spec
        .get("name")
        .and_then(Value::as_str)
        .map(String::from)
        .unwrap_or_else(|| r.address.leaf().to_string());
    let cluster = r
        .spec
        .get("cluster")
        .and_then(Value::as_str)
        .map(String::from)
        .unwrap_or_else(|| {
            r.address
                .name
                .split('/')
                .next()
                .unwrap_or_default()
                .to_string()
        });
    (name, cluster)
}

fn ownership(req: &Request) -> Condition {
    Condition {
        test: "StringEquals",
        key: format!("aws:ResourceTag/{}", crate::providers::TAG_NAME),
        values: vec![req.blueprint.to_string()],
    }
}

/// The policy the blueprint's declarations (`managed`) and its
/// `existing_*` references need for `req.command`.
pub fn compute(managed: &Graph, existing: &[Resource], req: &Request) -> Policies {
    let mut b = Builder::default();
    let all = kinds();
    let iam_of = |k: Kind| all.iter().find(|(x, _)| *x == k).map(|(_, i)| *i);

    // Reads: every kind, every command.
    for (_, iam) in all {
        b.add("Read", iam.read.iter().copied(), vec!["*".into()], None);
    }
    // What planning the declarations and references looks up.
    for r in managed.iter() {
        if let Some(iam) = iam_of(r.address.kind) {
            b.add("Read", iam.plan.iter().copied(), vec!["*".into()], None);
        }
    }
    for r in existing {
        if let Some(iam) = iam_of(r.address.kind) {
            b.add("Read", iam.existing.iter().copied(), vec!["*".into()], None);
        }
    }
    if managed.existing_clusters().next().is_some() {
        b.add(
            "Read",
            EXISTING_CLUSTER.iter().copied(),
            vec!["*".into()],
            None,
        );
    }
    let lock = vec![fill(LOCK_TABLE, req, "", "")];
    if req.command == Command::Plan {
        // The claims on account singletons are read at every plan, and
        // the records of the last apply of what it would change.
        b.add(
            "Lock",
            ["dynamodb:GetItem", "dynamodb:BatchGetItem"],
            lock.clone(),
            None,
        );
    } else {
        b.add("Lock", LOCK.iter().copied(), lock, None);
    }

    if req.command == Command::Apply {
        change(&mut b, managed, req, &iam_of);
    }
    if req.command != Command::Plan {
        prune(&mut b, req, all);
    }
    let statements = b.build(req.any_resource);
    Policies {
        documents: split(statements),
        notes: kube_notes(managed),
    }
}

/// Creating, changing and deleting what the blueprint declares.
fn change(b: &mut Builder, managed: &Graph, req: &Request, iam_of: &dyn Fn(Kind) -> Option<Iam>) {
    let mut roles: BTreeSet<String> = BTreeSet::new();
    let mut linked: BTreeSet<String> = BTreeSet::new();
    for r in managed.iter() {
        let Some(iam) = iam_of(r.address.kind) else {
            continue;
        };
        let (name, cluster) = names(r);
        let resources = if iam.arns.is_empty() {
            vec!["*".to_string()]
        } else {
            iam.arns
                .iter()
                .map(|p| fill(p, req, &name, &cluster))
                .collect()
        };
        // Narrowed statements are named after the kind; those on `*` are one.
        let sid = if iam.arns.is_empty() {
            "Change".to_string()
        } else {
            format!("Change{}", r.address.kind.schema().handle)
        };
        // Deletes the ownership tag can narrow are left to the pruning
        // statement (a replaced resource is owned too).
        let deletes = if iam.tag_condition && iam.arns.is_empty() {
            &[][..]
        } else {
            iam.delete
        };
        let actions = iam.create.iter().chain(iam.update).chain(deletes).copied();
        b.add(&sid, actions, resources, None);
        b.add(
            "Sweep",
            iam.sweep.iter().copied(),
            vec!["*".to_string()],
            None,
        );
        if let Some(when) = iam.when {
            // Grants (EKS's on a cluster's secrets key) only for an AWS
            // service to use on the caller's behalf.
            let (grants, other): (Vec<&str>, Vec<&str>) =
                when(r).into_iter().partition(|a| *a == "kms:CreateGrant");
            b.add("Change", other, vec!["*".to_string()], None);
            b.add(
                "KeyGrants",
                grants,
                vec!["*".to_string()],
                Some(Condition {
                    test: "Bool",
                    key: "kms:GrantIsForAWSResource".into(),
                    values: vec!["true".into()],
                }),
            );
        }
        if iam.passes_role {
            roles.extend(passed_roles(r, req));
        }
        linked.extend(iam.service_linked.iter().map(|s| s.to_string()));
    }
    if !linked.is_empty() {
        b.add(
            "ServiceLinkedRoles",
            ["iam:CreateServiceLinkedRole"],
            vec!["*".into()],
            Some(Condition {
                test: "StringEquals",
                key: "iam:AWSServiceName".into(),
                values: linked.into_iter().collect(),
            }),
        );
    }
    if !roles.is_empty() {
        b.add(
            "PassRole",
            ["iam:PassRole"],
            roles.into_iter().collect(),
            None,
        );
    }
}

/// The roles a resource passes: the blueprint's own (its IAM path) and the
/// existing ones it names by ARN.
fn passed_roles(r: &Resource, req: &Request) -> Vec<String> {
    let mut out = vec![fill(
        "arn:aws:iam::{account}:role/blueprint/{blueprint}/*",
        req,
        "",
        "",
    )];
    fn walk(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Str(s) if s.starts_with("arn:aws:iam::") && s.contains(":role/") => {
                out.push(s.clone())
            }
            Value::List(l) => l.iter().for_each(|v| walk(v, out)),
            Value::Map(m) => m.values().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    for v in r.spec.values() {
        walk(v, &mut out);
    }
    out
}

/// Deleting what the blueprint owns, declared or not (a plan prunes what it
/// no longer declares; destroy deletes all of it).
fn prune(b: &mut Builder, req: &Request, all: &[(Kind, Iam)]) {
    for (kind, iam) in all {
        if !iam.owned.is_empty() {
            let sid = format!("Prune{}", kind.schema().handle);
            let owned = iam.owned.iter().map(|p| fill(p, req, "", "")).collect();
            b.add(&sid, iam.delete.iter().copied(), owned, None);
        } else if iam.tag_condition {
            b.add(
                "PruneOwned",
                iam.delete.iter().copied(),
                vec!["*".into()],
                Some(ownership(req)),
            );
        } else {
            b.add("Prune", iam.delete.iter().copied(), vec!["*".into()], None);
        }
        b.add("Sweep", iam.sweep.iter().copied(), vec!["*".into()], None);
    }
}

/// What the principal needs inside each cluster the blueprint declares
/// objects in: Kubernetes permissions, which IAM does not give.
fn kube_notes(managed: &Graph) -> Vec<String> {
    let clusters = crate::providers::kube::clusters(managed);
    let names: BTreeSet<String> = clusters.into_keys().collect();
    names
        .into_iter()
        .map(|c| {
            format!(
                "cluster {c}: the principal also needs Kubernetes access, e.g. an EKS access entry with AmazonEKSClusterAdminPolicy (cluster scope), or RBAC over the kinds the blueprint manages there; Helm stores its releases as Secrets"
            )
        })
        .collect()
}

/// A statement's size as IAM counts it: its JSON without whitespace.
fn size(s: &Statement) -> usize {
    render::statement_json(s).to_string().len()
}

/// The statements split into documents, each under
/// [`MAX_POLICY_CHARS`] (a statement too large alone is split by
/// actions).
fn split(statements: Vec<Statement>) -> Vec<Vec<Statement>> {
    // `{"Version":"2012-10-17","Statement":[...]}` and the commas.
    const FRAME: usize = 40;
    let fits = |s: &Statement| size(s) + FRAME <= MAX_POLICY_CHARS;
    let mut pieces = Vec::new();
    for s in statements {
        if fits(&s) {
            pieces.push(s);
            continue;
        }
        // By resources first, then (one resource too many actions) by
        // actions.
        let mut parts: Vec<Statement> = Vec::new();
        for chunk in greedy(
            &s,
            s.resources.iter().cloned().collect(),
            |p, r| {
                p.resources.insert(r);
            },
            |p| p.resources.clear(),
        ) {
            if fits(&chunk) {
                parts.push(chunk);
            } else {
                parts.extend(greedy(
                    &chunk,
                    chunk.actions.iter().cloned().collect(),
                    |p, a| {
                        p.actions.insert(a);
                    },
                    |p| p.actions.clear(),
                ));
            }
        }
        let n = parts.len();
        for (i, mut p) in parts.into_iter().enumerate() {
            if n > 1 {
                p.sid = format!("{}Part{}", s.sid, i + 1);
            }
            pieces.push(p);
        }
    }
    let mut docs: Vec<Vec<Statement>> = Vec::new();
    let mut used = FRAME;
    for s in pieces {
        let n = size(&s) + 1;
        match docs.last_mut() {
            Some(d) if used + n <= MAX_POLICY_CHARS => {
                d.push(s);
                used += n;
            }
            _ => {
                docs.push(vec![s]);
                used = FRAME + n;
            }
        }
    }
    docs
}

/// `s` in parts each under the limit, filling one field (`add`) item by
/// item from `items` after emptying it (`clear`).
fn greedy(
    s: &Statement,
    items: Vec<String>,
    add: impl Fn(&mut Statement, String),
    clear: impl Fn(&mut Statement),
) -> Vec<Statement> {
    const FRAME: usize = 40;
    let mut empty = s.clone();
    clear(&mut empty);
    let mut out = Vec::new();
    let mut part = empty.clone();
    let mut filled = 0;
    for item in items {
        let mut next = part.clone();
        add(&mut next, item.clone());
        if filled > 0 && size(&next) + FRAME > MAX_POLICY_CHARS {
            out.push(std::mem::replace(&mut part, empty.clone()));
            add(&mut part, item);
            filled = 1;
        } else {
            part = next;
            filled += 1;
        }
    }
    out.push(part);
    out
}

#[cfg(test)]
mod tests;
