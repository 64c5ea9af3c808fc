//! The rules: each has a stable id, never reused, and lives with the kinds
//! it checks (`kinds/<family>/lint.rs`), on their registry entries, which
//! hand them down here (see [`RULE_LISTS`]); docs/RULES.md is generated
//! from them (`BLESS=1 cargo test --lib rules_doc`).

use super::{Ctx, Hit, Severity};
use std::sync::OnceLock;

pub struct Rule {
    pub id: &'static str,
    pub title: &'static str,
    pub severity: Severity,
    /// Why it matters.
    pub rationale: &'static str,
    /// What to write instead.
    pub fix: &'static str,
    pub check: fn(&Ctx, &mut Vec<Hit>),
}

/// Where the kind registry hands the rules down: one element, every
/// kind's rules.
#[linkme::distributed_slice]
pub static RULE_LISTS: [fn() -> Vec<&'static Rule>];

/// Every rule, by id.
pub fn rules() -> &'static [&'static Rule] {
    static ALL: OnceLock<Vec<&'static Rule>> = OnceLock::new();
    ALL.get_or_init(|| {
        let mut all: Vec<&'static Rule> = RULE_LISTS.iter().flat_map(|list| list()).collect();
        all.sort_by_key(|r| r.id);
        all
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn rule_ids_are_unique_and_numbered_in_order() {
        let ids: Vec<&str> = super::rules().iter().map(|r| r.id).collect();
        let expected: Vec<String> = (1..=ids.len()).map(|i| format!("BP{i:03}")).collect();
        assert_eq!(ids, expected);
    }
}
