//! Turns a plan into operations with their ordering constraints.

use crate::kinds::ReplaceStrategy;
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
    let create_first =
        |a: &Address| a.kind.def().lifecycle.replace == ReplaceStrategy::CreateThenDelete;
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
                // Create-then-delete: the old one goes once the new one exists.
                if create_first(&op.address) {
                    after.extend(find(&op.address, OpKind::Create));
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
