//! `--target` and `--exclude`: a plan of part of a blueprint (Terraform's
//! `-target`, OpenTofu's `-exclude`). Addresses and globs (`*` is any run
//! of characters, `?` one) select among the declared addresses and the
//! owned ones a plan deletes.
//!
//! - A target takes in what it depends on, transitively (the new subnet a
//!   targeted node group uses is made with it); for a destroy, what depends
//!   on it instead (deleting a VPC takes its subnets with it).
//! - An exclude leaves out what depends on it, transitively; for a destroy,
//!   what it depends on (what is kept keeps what it needs).
//!
//! What a selection leaves out is listed with why; a glob that matches
//! nothing is an error naming the nearest address.

use super::{Action, Plan};
use crate::model::{Address, Graph, Live};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// A change the selection left out, and why.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LeftOut {
    pub address: Address,
    pub action: Action,
    pub why: String,
}

/// What `--target` and `--exclude` asked for.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Selection {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub excludes: Vec<String>,
}

impl Selection {
    pub fn is_empty(&self) -> bool {
        self.targets.is_empty() && self.excludes.is_empty()
    }
}

/// `*` any run of characters, `?` one.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    // The classic two-pointer match with backtracking to the last `*`.
    let (mut i, mut j, mut star, mut mark) = (0, 0, None, 0);
    while j < t.len() {
        if i < p.len() && (p[i] == '?' || p[i] == t[j]) {
            i += 1;
            j += 1;
        } else if i < p.len() && p[i] == '*' {
            star = Some(i);
            mark = j;
            i += 1;
        } else if let Some(s) = star {
            i = s + 1;
            mark += 1;
            j = mark;
        } else {
            return false;
        }
    }
    while i < p.len() && p[i] == '*' {
        i += 1;
    }
    i == p.len()
}

/// Edit distance, for "did you mean".
pub fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

/// The address nearest `to`, if any.
pub fn nearest<'a>(to: &str, among: impl Iterator<Item = &'a Address>) -> Option<String> {
    among.map(|a| a.to_string()).min_by_key(|a| distance(to, a))
}

/// The addresses `pattern` matches among `all`, or an error naming the
/// nearest one.
fn matching<'a>(
    flag: &str,
    pattern: &str,
    all: &'a BTreeSet<Address>,
) -> Result<BTreeSet<&'a Address>, String> {
    let found: BTreeSet<&Address> = all
        .iter()
        .filter(|a| glob_match(pattern, &a.to_string()))
        .collect();
    if found.is_empty() {
        return Err(match nearest(pattern, all.iter()) {
            Some(n) => format!(
                "{flag} {pattern} matches no address of the blueprint or of what it owns; the nearest is {n}"
            ),
            None => format!("{flag} {pattern} matches nothing: the blueprint declares and owns nothing"),
        });
    }
    Ok(found)
}

/// Everything reachable from `start` along `edges` (start included).
fn closure<'a>(
    start: impl IntoIterator<Item = &'a Address>,
    edges: &BTreeMap<&'a Address, Vec<&'a Address>>,
) -> BTreeSet<&'a Address> {
    let mut seen: BTreeSet<&Address> = BTreeSet::new();
    let mut stack: Vec<&Address> = start.into_iter().collect();
    while let Some(a) = stack.pop() {
        if !seen.insert(a) {
            continue;
        }
        if let Some(next) = edges.get(a) {
            stack.extend(next.iter().copied());
        }
    }
    seen
}

/// Keeps the changes of `plan` the selection asks for; records the others
/// in `plan.left_out` (with why) and the selection in `plan.selection`.
pub fn restrict(
    plan: &mut Plan,
    desired: &Graph,
    live: &[Live],
    sel: &Selection,
    destroy: bool,
) -> Result<(), String> {
    if sel.is_empty() {
        return Ok(());
    }
    let all: BTreeSet<Address> = desired
        .iter()
        .map(|r| r.address.clone())
        .chain(live.iter().map(|l| l.address.clone()))
        .collect();
    // What each declared resource depends on, and the other way round.
    let mut deps: BTreeMap<&Address, Vec<&Address>> = BTreeMap::new();
    let mut dependents: BTreeMap<&Address, Vec<&Address>> = BTreeMap::new();
    for r in desired.iter() {
        for d in r.depends_on.iter().chain(r.after_create.iter()) {
            deps.entry(&r.address).or_default().push(d);
            dependents.entry(d).or_default().push(&r.address);
        }
    }
    let (with_target, with_exclude) = if destroy {
        (&dependents, &deps)
    } else {
        (&deps, &dependents)
    };
    let mut targeted: Option<BTreeSet<&Address>> = None;
    for t in &sel.targets {
        let found = matching("--target", t, &all)?;
        targeted
            .get_or_insert_with(BTreeSet::new)
            .extend(closure(found, with_target));
    }
    // Each left-out address, with the excluded address it follows.
    let mut excluded: BTreeMap<&Address, &Address> = BTreeMap::new();
    for e in &sel.excludes {
        for root in matching("--exclude", e, &all)? {
            for a in closure([root], with_exclude) {
                excluded.entry(a).or_insert(root);
            }
        }
    }
    let mut kept = Vec::new();
    for c in std::mem::take(&mut plan.changes) {
        let why = if let Some(root) = excluded.get(&c.address) {
            Some(if *root == &c.address {
                "excluded".to_string()
            } else if destroy {
                format!("{root}, which is excluded, depends on it")
            } else {
                format!("depends on {root}, which is excluded")
            })
        } else if targeted.as_ref().is_some_and(|t| !t.contains(&c.address)) {
            Some("not targeted".to_string())
        } else {
            None
        };
        match why {
            Some(why) => plan.left_out.push(LeftOut {
                address: c.address.clone(),
                action: c.action,
                why,
            }),
            None => kept.push(c),
        }
    }
    plan.changes = kept;
    let planned: BTreeSet<&Address> = plan.changes.iter().map(|c| &c.address).collect();
    let planned: BTreeSet<Address> = planned.into_iter().cloned().collect();
    plan.create_first.retain(|a| planned.contains(a));
    plan.protected.retain(|p| {
        planned.contains(&p.address)
            || (!excluded.contains_key(&p.address)
                && targeted.as_ref().is_none_or(|t| t.contains(&p.address)))
    });
    plan.refused.retain(|r| planned.contains(&r.address));
    plan.selection = sel.clone();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_addresses() {
        assert!(glob_match(
            "node_group.pms-prod/*",
            "node_group.pms-prod/app"
        ));
        assert!(glob_match("*.pms-prod/a?p", "node_group.pms-prod/app"));
        assert!(glob_match("vpc.demo", "vpc.demo"));
        assert!(!glob_match("vpc.demo", "vpc.demo2"));
        assert!(!glob_match(
            "node_group.pms-prod/*",
            "node_group.pms-dev/app"
        ));
        assert!(glob_match("*", "anything/at.all"));
    }

    #[test]
    fn the_nearest_address_is_named() {
        let all: BTreeSet<Address> = ["vpc.demo", "subnet.demo/private-a"]
            .iter()
            .map(|a| a.parse().unwrap())
            .collect();
        let e = matching("--target", "subnet.demo/privat-a", &all).unwrap_err();
        assert_eq!(
            e,
            "--target subnet.demo/privat-a matches no address of the blueprint or of what it owns; the nearest is subnet.demo/private-a"
        );
    }
}
