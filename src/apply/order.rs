//! Turns a plan into operations with their ordering constraints.

use crate::model::schema::ReplaceStrategy;
use crate::model::Address;
use crate::model::Live;
use crate::plan::{live_dependencies, Action, Plan};
use std::collections::HashMap;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OpKind {
    Create,
    Update,
    /// Finishing a new resource once the resources it refers to after
    /// creation exist (security-group rules naming other groups).
    Finish,
    Delete,
}

impl OpKind {
    pub fn verb(self) -> (&'static str, &'static str) {
        match self {
            OpKind::Create => ("creating", "created"),
            OpKind::Update => ("updating", "updated"),
            OpKind::Finish => ("finishing", "finished"),
            OpKind::Delete => ("deleting", "deleted"),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Op {
    pub address: Address,
    pub kind: OpKind,
    /// Indexes of operations that must succeed first.
    pub after: Vec<usize>,
}

/// The operations of a plan:
/// - create and update after the creates and updates of what they depend on;
/// - a replacement deletes first, then creates, unless its kind replaces
///   create-then-delete;
/// - deletes run dependents first: after the deletes of resources that
///   depend on them, as the desired graph records it or as their live
///   attributes show (a subnet names its VPC);
/// - a resource that refers to others only once both exist gets a Finish
///   step after those others are created.
pub fn operations(plan: &Plan, live: &[Live]) -> Vec<Op> {
    operations_with(plan, live, &|a| a.kind.schema().lifecycle.replace)
}

fn operations_with(
    plan: &Plan,
    live: &[Live],
    strategy: &dyn Fn(&Address) -> ReplaceStrategy,
) -> Vec<Op> {
    let graph = plan.desired_graph();
    let mut ops: Vec<Op> = Vec::new();
    let mut index: HashMap<(Address, OpKind), usize> = HashMap::new();
    let mut push = |ops: &mut Vec<Op>, a: &Address, k: OpKind| {
        index.insert((a.clone(), k), ops.len());
        ops.push(Op {
            address: a.clone(),
            kind: k,
            after: Vec::new(),
        });
    };
    for c in &plan.changes {
        match c.action {
            Action::Create => push(&mut ops, &c.address, OpKind::Create),
            Action::Update => push(&mut ops, &c.address, OpKind::Update),
            Action::Delete => push(&mut ops, &c.address, OpKind::Delete),
            Action::Replace => {
                push(&mut ops, &c.address, OpKind::Delete);
                push(&mut ops, &c.address, OpKind::Create);
            }
        }
    }
    let create_first_set = crate::plan::strategy::create_first(plan, &graph, strategy);
    let create_first = |a: &Address| create_first_set.contains(a);
    let deleted: Vec<&Live> = live
        .iter()
        .filter(|l| {
            plan.changes.iter().any(|c| {
                c.address == l.address && matches!(c.action, Action::Delete | Action::Replace)
            })
        })
        .collect();
    for c in &plan.changes {
        if let Some(r) = graph.get(&c.address) {
            if c.action != Action::Delete && !r.after_create.is_empty() {
                push(&mut ops, &c.address, OpKind::Finish);
            }
        }
    }
    let find = |a: &Address, k: OpKind| index.get(&(a.clone(), k)).copied();
    let producing = |a: &Address| find(a, OpKind::Create).or_else(|| find(a, OpKind::Update));
    let n = ops.len();
    #[allow(clippy::needless_range_loop)] // ops[i] is read and written
    for i in 0..n {
        let op = ops[i].clone();
        let mut after = Vec::new();
        match op.kind {
            OpKind::Create | OpKind::Update => {
                if let Some(r) = graph.get(&op.address) {
                    after.extend(r.depends_on.iter().filter_map(producing));
                }
                if op.kind == OpKind::Create && !create_first(&op.address) {
                    after.extend(find(&op.address, OpKind::Delete));
                }
            }
            OpKind::Finish => {
                after.extend(
                    find(&op.address, OpKind::Create).or_else(|| find(&op.address, OpKind::Update)),
                );
                if let Some(r) = graph.get(&op.address) {
                    after.extend(r.after_create.iter().filter_map(producing));
                }
            }
            OpKind::Delete => {
                // Resources that use this one go first: as declared, or as
                // their live attributes show.
                for other in graph.iter() {
                    if other.depends_on.contains(&op.address) {
                        after.extend(find(&other.address, OpKind::Delete));
                    }
                }
                for l in &deleted {
                    let uses = live_dependencies(l, &deleted);
                    if uses.contains(&&op.address) {
                        after.extend(find(&l.address, OpKind::Delete));
                    }
                }
                // What stays but moves off this one (an instance switching
                // to a new parameter group) is updated first. Not for a
                // replacement: what refers to it is updated after the new
                // one exists, which is after this delete.
                let plain_delete = plan
                    .changes
                    .iter()
                    .any(|c| c.address == op.address && c.action == Action::Delete);
                if let Some(me) = deleted
                    .iter()
                    .find(|d| plain_delete && d.address == op.address)
                {
                    for l in live {
                        if let Some(u) = find(&l.address, OpKind::Update) {
                            if live_dependencies(l, &[*me]).contains(&&op.address) {
                                after.push(u);
                            }
                        }
                    }
                }
                // Create-then-delete: the old one goes once the new one
                // exists and what refers to it has moved to the new one.
                if create_first(&op.address) {
                    after.extend(find(&op.address, OpKind::Create));
                    for other in graph.iter() {
                        if other.depends_on.contains(&op.address) {
                            after.extend(find(&other.address, OpKind::Update));
                            after.extend(find(&other.address, OpKind::Create));
                        }
                    }
                }
            }
        }
        after.sort_unstable();
        after.dedup();
        after.retain(|&j| j != i);
        ops[i].after = after;
    }
    ops
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Kind, Map};
    use crate::plan::{Change, Desired};

    /// `kind.name`: a registered kind (whose schema says which fields
    /// refer to others), or one made up for the test.
    fn addr(s: &'static str) -> Address {
        let (kind, name) = s.split_once('.').unwrap();
        Address::new(kind.parse().unwrap_or_else(|_| Kind::new(kind)), name)
    }

    /// A plan of `(address, action, depends_on)`.
    fn plan(items: &[(&'static str, Action, &[&'static str])]) -> Plan {
        Plan {
            format_version: 2,
            blueprint: "t".into(),
            region: "us-east-1".into(),
            providers: Default::default(),
            protected: vec![],
            unread: vec![],
            unlisted: vec![],
            refused: vec![],
            ignored: vec![],
            create_first: vec![],
            selection: Default::default(),
            left_out: Vec::new(),
            moved: Vec::new(),
            changes: items
                .iter()
                .map(|(a, action, _)| Change {
                    address: addr(a),
                    action: *action,
                    provider: "aws:us-east-1".into(),
                    reason: None,
                    fields: vec![],
                    id: None,
                    notes: vec![],
                    origin: None,
                })
                .collect(),
            unchanged: 0,
            fingerprint: String::new(),
            desired: items
                .iter()
                .map(|(a, _, deps)| Desired {
                    address: addr(a),
                    spec: Map::new(),
                    depends_on: deps.iter().map(|d| addr(d)).collect(),
                    after_create: vec![],
                    ignore: vec![],
                })
                .collect(),
            source: None,
            findings: Vec::new(),
            cost: None,
        }
    }

    /// Whether `first` must finish before `then` starts, directly or not.
    fn before(ops: &[Op], first: (&'static str, OpKind), then: (&'static str, OpKind)) -> bool {
        let at = |(a, k): (&'static str, OpKind)| {
            ops.iter()
                .position(|o| o.address == addr(a) && o.kind == k)
                .unwrap_or_else(|| panic!("no {k:?} of {a}"))
        };
        let (i, j) = (at(first), at(then));
        let mut stack = vec![j];
        let mut seen = std::collections::HashSet::new();
        while let Some(x) = stack.pop() {
            if x == i {
                return true;
            }
            if seen.insert(x) {
                stack.extend(ops[x].after.iter().copied());
            }
        }
        false
    }

    /// Every operation can run: the constraints have no cycle.
    fn acyclic(ops: &[Op]) -> bool {
        let mut done = vec![false; ops.len()];
        for _ in 0..ops.len() {
            for i in 0..ops.len() {
                if !done[i] && ops[i].after.iter().all(|&j| done[j]) {
                    done[i] = true;
                }
            }
        }
        done.iter().all(|d| *d)
    }

    fn gateway_first(a: &Address) -> ReplaceStrategy {
        if a.kind == Kind::new("gateway") {
            ReplaceStrategy::CreateThenDelete
        } else {
            ReplaceStrategy::DeleteThenCreate
        }
    }

    const NAT: &str = "gateway.net/a";
    const ROUTES: &str = "routes.net/private-a";
    const SUBNET: &str = "segment.net/public-a";

    #[test]
    fn what_moves_off_a_deleted_resource_is_updated_before_it_goes() {
        const DB: &str = "rds_postgres.db";
        const OLD: &str = "db_parameter_group.db-postgres16";
        const NEW: &str = "db_parameter_group.db-postgres17";
        let p = plan(&[
            (NEW, Action::Create, &[]),
            (DB, Action::Update, &[NEW]),
            (OLD, Action::Delete, &[]),
        ]);
        let live = [
            Live::new(addr(DB), "db")
                .attr("parameter_group", crate::model::Value::str("db-postgres16")),
            Live::new(addr(OLD), "db-postgres16"),
        ];
        let ops = operations_with(&p, &live, &|_| ReplaceStrategy::DeleteThenCreate);
        assert!(acyclic(&ops));
        assert!(before(&ops, (NEW, OpKind::Create), (DB, OpKind::Update)));
        assert!(before(&ops, (DB, OpKind::Update), (OLD, OpKind::Delete)));
    }

    /// A replaced security group that an instance refers to: the instance
    /// is updated after the new group exists, with no cycle.
    #[test]
    fn a_replacement_referred_to_by_an_update_has_no_cycle() {
        const SG: &str = "security_group.net/db";
        const DB: &str = "rds_postgres.db";
        let p = plan(&[(SG, Action::Replace, &[]), (DB, Action::Update, &[SG])]);
        let live = [
            Live::new(addr(DB), "db").attr(
                "security_groups",
                crate::model::Value::List(vec![crate::model::Value::str("sg-1")]),
            ),
            Live::new(addr(SG), "sg-1"),
        ];
        let ops = operations_with(&p, &live, &|_| ReplaceStrategy::DeleteThenCreate);
        assert!(acyclic(&ops));
        assert!(before(&ops, (SG, OpKind::Create), (DB, OpKind::Update)));
    }

    #[test]
    fn a_replacement_deletes_first_by_default() {
        let p = plan(&[
            (NAT, Action::Replace, &[]),
            (ROUTES, Action::Update, &[NAT]),
        ]);
        let ops = operations_with(&p, &[], &|_| ReplaceStrategy::DeleteThenCreate);
        assert!(acyclic(&ops));
        assert!(before(&ops, (NAT, OpKind::Delete), (NAT, OpKind::Create)));
        assert!(before(
            &ops,
            (NAT, OpKind::Create),
            (ROUTES, OpKind::Update)
        ));
    }

    #[test]
    fn create_then_delete_moves_what_refers_to_it_before_the_old_one_goes() {
        let p = plan(&[
            (NAT, Action::Replace, &[]),
            (ROUTES, Action::Update, &[NAT]),
        ]);
        let ops = operations_with(&p, &[], &gateway_first);
        assert!(acyclic(&ops));
        assert!(before(&ops, (NAT, OpKind::Create), (NAT, OpKind::Delete)));
        assert!(before(
            &ops,
            (ROUTES, OpKind::Update),
            (NAT, OpKind::Delete)
        ));
        assert!(!before(&ops, (NAT, OpKind::Delete), (NAT, OpKind::Create)));
    }

    #[test]
    fn create_then_delete_falls_back_when_a_dependency_is_replaced_delete_first() {
        let p = plan(&[
            (SUBNET, Action::Replace, &[]),
            (NAT, Action::Replace, &[SUBNET]),
            (ROUTES, Action::Update, &[NAT]),
        ]);
        let ops = operations_with(&p, &[], &gateway_first);
        assert!(acyclic(&ops), "{ops:#?}");
        assert!(before(&ops, (NAT, OpKind::Delete), (NAT, OpKind::Create)));
        assert!(before(
            &ops,
            (NAT, OpKind::Delete),
            (SUBNET, OpKind::Delete)
        ));
        assert!(before(
            &ops,
            (SUBNET, OpKind::Create),
            (NAT, OpKind::Create)
        ));
    }
}
