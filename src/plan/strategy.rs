//! Which replacements create the new resource before deleting the old one.

use super::{Action, Plan};
use crate::model::schema::ReplaceStrategy;
use crate::model::Address;
use std::collections::HashSet;

/// Replacements that go create-then-delete: those whose kind asks for it,
/// unless something they depend on, directly or not, is itself replaced
/// delete-then-create (the new one could not exist before the old one is
/// gone, which waits for this one's old copy to go: a cycle).
pub fn create_first(
    plan: &Plan,
    graph: &crate::model::Graph,
    strategy: &dyn Fn(&Address) -> ReplaceStrategy,
) -> HashSet<Address> {
    let replaced: HashSet<&Address> = plan
        .changes
        .iter()
        .filter(|c| c.action == Action::Replace)
        .map(|c| &c.address)
        .collect();
    let wants = |a: &Address| strategy(a) == ReplaceStrategy::CreateThenDelete;
    let mut out = HashSet::new();
    for a in replaced.iter().filter(|a| wants(a)) {
        let mut seen: HashSet<&Address> = HashSet::new();
        let mut stack: Vec<&Address> = vec![a];
        let mut blocked = false;
        while let Some(x) = stack.pop() {
            let Some(r) = graph.get(x) else { continue };
            for d in &r.depends_on {
                if !seen.insert(d) {
                    continue;
                }
                if replaced.contains(d) && !wants(d) {
                    blocked = true;
                }
                stack.push(d);
            }
        }
        if !blocked {
            out.insert((*a).clone());
        }
    }
    out
}
