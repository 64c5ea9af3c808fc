//! Checks over the whole desired state, run after a script is evaluated and
//! before any AWS call. Single-resource checks that need no other resource
//! live here too, so that the script layer and tests share them.

use super::{Address, Graph, Problem};
use std::collections::BTreeSet;

/// `min <= desired <= max`, all non-negative, max at least 1.
pub fn scaling(min: i64, desired: i64, max: i64) -> Result<(), Problem> {
    if min < 0 || desired < 0 || max < 0 {
        return Err(Problem::new(format!(
            "scaling sizes must not be negative (min {min}, desired {desired}, max {max})"
        )));
    }
    if max < 1 {
        return Err(Problem::new("max must be at least 1").hint("EKS needs max >= 1"));
    }
    if min > max {
        return Err(
            Problem::new(format!("min ({min}) is greater than max ({max})"))
                .hint("a node group needs min <= desired <= max"),
        );
    }
    if desired < min || desired > max {
        return Err(Problem::new(format!(
            "desired ({desired}) is outside min..max ({min}..{max})"
        ))
        .hint("a node group needs min <= desired <= max"));
    }
    Ok(())
}

/// A kind's checks over the whole desired graph (CIDR blocks inside their
/// VPC): problems, each about one resource.
pub type GraphCheck = fn(&Graph, &str, &mut Vec<(Address, Problem)>);

/// Whole-graph checks: references, cycles, then each kind's `checks`.
/// Each problem names the resource it is about. References to the
/// addresses in `already_reported` are not reported again.
pub fn graph(
    g: &Graph,
    region: &str,
    already_reported: &BTreeSet<Address>,
    checks: &[GraphCheck],
) -> Vec<(Address, Problem)> {
    let mut out = Vec::new();
    let missing = undeclared_references(g, already_reported, &mut out);
    if !missing {
        if let Err(cycle) = g.topo_order() {
            let first = cycle.0[0].clone();
            out.push((
                first,
                Problem::new(format!("dependency cycle: {cycle}"))
                    .hint("break the cycle: one of these resources must not refer to the next"),
            ));
        }
    }
    for check in checks {
        check(g, region, &mut out);
    }
    out.extend(super::provider::cross_references(g, region));
    out
}

/// Reports references to undeclared resources; true if there are any.
fn undeclared_references(
    g: &Graph,
    already_reported: &BTreeSet<Address>,
    out: &mut Vec<(Address, Problem)>,
) -> bool {
    let mut missing = false;
    for r in g.iter() {
        for a in r.references() {
            if g.contains(a) {
                continue;
            }
            missing = true;
            if !already_reported.contains(a) {
                out.push((
                    r.address.clone(),
                    Problem::new(format!(
                        "{} refers to {a}, which is not declared",
                        r.address
                    ))
                    .hint(format!(
                        "declare {a} in the blueprint, or remove the reference"
                    )),
                ));
            }
        }
    }
    missing
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Kind, Map, Resource};

    fn k() -> Kind {
        Kind::new("widget")
    }

    fn problems(rs: Vec<Resource>) -> Vec<String> {
        let mut g = Graph::new();
        for r in rs {
            g.insert(r).unwrap();
        }
        graph(&g, "us-east-1", &BTreeSet::new(), &[])
            .into_iter()
            .map(|(_, p)| p.message)
            .collect()
    }

    #[test]
    fn scaling_rules() {
        assert!(scaling(1, 2, 3).is_ok());
        assert!(scaling(0, 0, 1).is_ok());
        assert_eq!(
            scaling(5, 5, 3).unwrap_err().message,
            "min (5) is greater than max (3)"
        );
        assert!(scaling(1, 9, 3).is_err());
        assert!(scaling(0, 0, 0).is_err());
        assert!(scaling(-1, 0, 1).is_err());
    }

    #[test]
    fn undeclared_reference_and_cycle() {
        let mut a = Resource::new(Address::new(k(), "a"), Map::new());
        a.depends_on.insert(Address::new(k(), "ghost"));
        assert_eq!(
            problems(vec![a]),
            [format!(
                "{0}.a refers to {0}.ghost, which is not declared",
                k()
            )]
        );

        let mut a = Resource::new(Address::new(k(), "a"), Map::new());
        a.depends_on.insert(Address::new(k(), "b"));
        let mut b = Resource::new(Address::new(k(), "b"), Map::new());
        b.depends_on.insert(Address::new(k(), "a"));
        assert_eq!(
            problems(vec![a, b]),
            [format!("dependency cycle: {0}.a -> {0}.b -> {0}.a", k())]
        );
    }
}
