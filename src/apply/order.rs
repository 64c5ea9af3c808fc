//! Turns a plan into operations with their ordering constraints.

use crate::model::Address;
use crate::plan::{delete_rank, Action, Plan};
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
/// - a replacement deletes first, then creates;
/// - deletes run dependents first: after the deletes of resources that
///   depend on them, and for resources no longer declared, after the deletes
///   of every kind that may depend on theirs;
/// - a resource that refers to others only once both exist gets a Finish
///   step after those others are created.
pub fn operations(plan: &Plan) -> Vec<Op> {
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
    for i in 0..n {
        let op = ops[i].clone();
        let mut after = Vec::new();
        match op.kind {
            OpKind::Create | OpKind::Update => {
                if let Some(r) = graph.get(&op.address) {
                    after.extend(r.depends_on.iter().filter_map(producing));
                }
                if op.kind == OpKind::Create {
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
                // Edges only run from a higher (or equal) delete rank to a
                // lower one, so they cannot form a cycle across kinds.
                let rank = delete_rank(&op.address);
                for other in graph.iter() {
                    if other.depends_on.contains(&op.address) && delete_rank(&other.address) >= rank
                    {
                        after.extend(find(&other.address, OpKind::Delete));
                    }
                }
                // What a resource that is no longer declared depended on is
                // unknown: deletes of kinds that may depend on it go first.
                let declared = graph.contains(&op.address);
                for (j, o) in ops.iter().enumerate() {
                    let ranked_above = o.kind == OpKind::Delete && delete_rank(&o.address) > rank;
                    if j != i && ranked_above && (!declared || !graph.contains(&o.address)) {
                        after.push(j);
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
    use crate::model::{Graph, Kind, Live, Map, Resource};
    use crate::plan::compute;

    fn a(kind: Kind, name: &str) -> Address {
        Address::new(kind, name)
    }

    fn res(addr: Address, deps: &[Address]) -> Resource {
        let mut r = Resource::new(addr, Map::new());
        r.depends_on = deps.iter().cloned().collect();
        r
    }

    #[test]
    fn creates_follow_dependencies_and_deletes_go_dependents_first() {
        let vpc = a(Kind::Vpc, "v");
        let subnet = a(Kind::Subnet, "v/a");
        let mut g = Graph::new();
        g.insert(res(vpc.clone(), &[])).unwrap();
        g.insert(res(subnet.clone(), std::slice::from_ref(&vpc)))
            .unwrap();
        let live = vec![
            Live::new(a(Kind::Vpc, "old"), "vpc-9"),
            Live::new(a(Kind::Subnet, "old/x"), "subnet-9"),
        ];
        let plan = compute("bp", "us-east-1", &g, &live);
        let ops = operations(&plan);
        let pos = |addr: &Address, k| {
            ops.iter()
                .position(|o| &o.address == addr && o.kind == k)
                .unwrap()
        };
        assert_eq!(
            ops[pos(&subnet, OpKind::Create)].after,
            vec![pos(&vpc, OpKind::Create)]
        );
        let old_vpc = pos(&a(Kind::Vpc, "old"), OpKind::Delete);
        assert_eq!(
            ops[old_vpc].after,
            vec![pos(&a(Kind::Subnet, "old/x"), OpKind::Delete)]
        );
    }

    #[test]
    fn replacement_deletes_before_it_creates_and_finish_waits_for_peers() {
        let sg_a = a(Kind::SecurityGroup, "v/a");
        let sg_b = a(Kind::SecurityGroup, "v/b");
        let mut g = Graph::new();
        let mut ra = res(sg_a.clone(), &[]);
        ra.after_create.insert(sg_b.clone());
        g.insert(ra).unwrap();
        let mut rb = res(sg_b.clone(), &[]);
        rb.after_create.insert(sg_a.clone());
        g.insert(rb).unwrap();
        let plan = compute("bp", "us-east-1", &g, &[]);
        let ops = operations(&plan);
        assert_eq!(ops.len(), 4);
        let finish_a = ops
            .iter()
            .position(|o| o.address == sg_a && o.kind == OpKind::Finish)
            .unwrap();
        assert_eq!(ops[finish_a].after, vec![0, 1]);
    }
}
