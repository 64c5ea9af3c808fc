//! `moved(from, to)`: a resource the script renamed keeps its identity.
//! Before the diff, the live resource owned at `from` is taken as being at
//! `to`; apply re-tags it there before anything else, so nothing is deleted
//! and made again.

use crate::model::{Address, Graph, Live};
use serde::{Deserialize, Serialize};

/// One move, as planned.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Moved {
    pub from: Address,
    pub to: Address,
    /// The live resource's id; none when nothing is at `from` any more (the
    /// move was applied before, or the resource is gone): a no-op.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

/// The moves `desired` declares, applied to `live`: each live resource at
/// a move's `from` is put at its `to`. A move onto an address that
/// something owned already holds, or onto one the blueprint does not
/// declare, is an error.
pub fn resolve(desired: &Graph, live: &mut [Live]) -> Result<Vec<Moved>, String> {
    let mut out = Vec::new();
    for (from, to) in desired.moves() {
        if !desired.contains(to) {
            return Err(format!(
                "moved({from}, {to}): the blueprint declares nothing at {to}"
            ));
        }
        if live.iter().any(|l| &l.address == to) {
            if live.iter().any(|l| &l.address == from) {
                return Err(format!(
                    "moved({from}, {to}): {to} exists already, so {from} cannot move there\n  = hint: delete one of them, or move {from} elsewhere"
                ));
            }
            // Moved by an earlier apply: the line is a no-op now.
            out.push(Moved {
                from: from.clone(),
                to: to.clone(),
                id: None,
            });
            continue;
        }
        let id = live
            .iter_mut()
            .find(|l| &l.address == from)
            .map(|l| moved_to(l, to));
        out.push(Moved {
            from: from.clone(),
            to: to.clone(),
            id,
        });
    }
    Ok(out)
}

/// `live` as a plan with `moved` saw it: for a saved plan, whose moves are
/// not applied yet when it is applied.
pub fn rewrite(live: &mut [Live], moved: &[Moved]) {
    for m in moved.iter().filter(|m| m.id.is_some()) {
        if let Some(l) = live.iter_mut().find(|l| l.address == m.from) {
            moved_to(l, &m.to);
        }
    }
}

/// `l` read at its new address, as a read after the move would find it;
/// its id.
fn moved_to(l: &mut Live, to: &Address) -> String {
    l.address = to.clone();
    if to.kind.schema().name_from_address {
        l.attrs
            .insert("name".into(), crate::model::Value::str(to.leaf()));
    }
    l.id.clone()
}
