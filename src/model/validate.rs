//! Checks over the whole desired state, run after a script is evaluated and
//! before any AWS call. Single-resource checks that need no other resource
//! live here too, so that the script layer and tests share them.

use super::{regions, Address, Cidr, Graph, Kind, Problem, Resource, Value};
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

/// Whole-graph checks. Each problem names the resource it is about.
/// References to the addresses in `already_reported` are not reported again.
pub fn graph(
    g: &Graph,
    region: &str,
    already_reported: &BTreeSet<Address>,
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
    network(g, region, &mut out);
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

fn cidr_of(r: &Resource, key: &str) -> Option<Cidr> {
    r.str(key).and_then(|s| s.parse().ok())
}

fn vpc_blocks(vpc: &Resource) -> Vec<Cidr> {
    let mut blocks: Vec<Cidr> = cidr_of(vpc, "cidr").into_iter().collect();
    if let Some(list) = vpc.get("secondary_cidrs").and_then(Value::as_list) {
        blocks.extend(list.iter().filter_map(|v| v.as_str()?.parse::<Cidr>().ok()));
    }
    blocks
}

fn network(g: &Graph, region: &str, out: &mut Vec<(Address, Problem)>) {
    let zones = regions::zones(region);
    for vpc in g.of_kind(Kind::Vpc) {
        let blocks = vpc_blocks(vpc);
        for (i, a) in blocks.iter().enumerate() {
            for b in &blocks[i + 1..] {
                if a.overlaps(b) {
                    out.push((
                        vpc.address.clone(),
                        Problem::new(format!("VPC CIDR blocks {a} and {b} overlap"))
                            .hint("secondary CIDR blocks must not overlap the VPC's other blocks"),
                    ));
                }
            }
        }
        let subnets: Vec<(&Resource, Cidr)> = g
            .of_kind(Kind::Subnet)
            .filter(|s| {
                s.get("vpc")
                    .and_then(Value::as_ref)
                    .is_some_and(|r| r.address == vpc.address)
            })
            .filter_map(|s| Some((s, cidr_of(s, "cidr")?)))
            .collect();
        for (i, (s, c)) in subnets.iter().enumerate() {
            if !blocks.iter().any(|b| b.contains(c)) {
                let list: Vec<String> = blocks.iter().map(ToString::to_string).collect();
                out.push((
                    s.address.clone(),
                    Problem::new(format!(
                        "subnet {c} of {} is outside the VPC's CIDR blocks ({})",
                        s.address,
                        list.join(", ")
                    ))
                    .hint("pick a subnet CIDR inside the VPC, or add a secondary_cidrs block that holds it"),
                ));
            }
            for (t, d) in &subnets[i + 1..] {
                if c.overlaps(d) {
                    out.push((
                        t.address.clone(),
                        Problem::new(format!(
                            "subnet {d} of {} overlaps subnet {c} of {}",
                            t.address, s.address
                        ))
                        .hint("subnets of one VPC must not share addresses"),
                    ));
                }
            }
        }
    }
    for s in g.of_kind(Kind::Subnet) {
        if let Some(az) = s.str("az") {
            if !zones.iter().any(|z| z == az) {
                out.push((
                    s.address.clone(),
                    Problem::new(format!(
                        "availability zone `{az}` of {} is not in region {region}",
                        s.address
                    ))
                    .hint(format!("{region} has {}", zones.join(", "))),
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Map, Ref};

    fn vpc(cidr: &str, secondary: &[&str]) -> Resource {
        let mut m = Map::new();
        m.insert("cidr".into(), Value::str(cidr));
        m.insert(
            "secondary_cidrs".into(),
            Value::List(secondary.iter().map(|s| Value::str(*s)).collect()),
        );
        Resource::new(Address::new(Kind::Vpc, "v"), m)
    }

    fn subnet(name: &str, cidr: &str, az: &str) -> Resource {
        let mut m = Map::new();
        m.insert("cidr".into(), Value::str(cidr));
        m.insert("az".into(), Value::str(az));
        m.insert(
            "vpc".into(),
            Value::Ref(Ref {
                address: Address::new(Kind::Vpc, "v"),
                attr: "id".into(),
            }),
        );
        let mut r = Resource::new(Address::new(Kind::Subnet, format!("v/{name}")), m);
        r.depends_on.insert(Address::new(Kind::Vpc, "v"));
        r
    }

    fn problems(rs: Vec<Resource>) -> Vec<String> {
        let mut g = Graph::new();
        for r in rs {
            g.insert(r).unwrap();
        }
        graph(&g, "us-east-1", &BTreeSet::new())
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
    fn subnets_must_sit_inside_the_vpc_including_secondary_blocks() {
        let p = problems(vec![
            vpc("10.0.0.0/16", &["100.64.0.0/16"]),
            subnet("a", "10.0.1.0/24", "us-east-1a"),
            subnet("b", "100.64.1.0/24", "us-east-1b"),
            subnet("c", "10.1.0.0/24", "us-east-1c"),
        ]);
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(p[0].contains("10.1.0.0/24"), "{p:?}");
    }

    #[test]
    fn overlapping_subnets_and_blocks() {
        let p = problems(vec![
            vpc("10.0.0.0/16", &["10.0.128.0/17"]),
            subnet("a", "10.0.0.0/23", "us-east-1a"),
            subnet("b", "10.0.1.0/24", "us-east-1b"),
        ]);
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(p[0].contains("overlap"));
        assert!(p[1].contains("overlaps subnet 10.0.0.0/23"));
    }

    #[test]
    fn unknown_zone() {
        let p = problems(vec![
            vpc("10.0.0.0/16", &[]),
            subnet("a", "10.0.1.0/24", "us-east-1z"),
        ]);
        assert_eq!(
            p,
            ["availability zone `us-east-1z` of subnet.v/a is not in region us-east-1"]
        );
    }

    #[test]
    fn undeclared_reference_and_cycle() {
        let mut a = Resource::new(Address::new(Kind::Vpc, "a"), Map::new());
        a.depends_on.insert(Address::new(Kind::Vpc, "ghost"));
        assert_eq!(
            problems(vec![a]),
            ["vpc.a refers to vpc.ghost, which is not declared"]
        );

        let mut a = Resource::new(Address::new(Kind::Vpc, "a"), Map::new());
        a.depends_on.insert(Address::new(Kind::Vpc, "b"));
        let mut b = Resource::new(Address::new(Kind::Vpc, "b"), Map::new());
        b.depends_on.insert(Address::new(Kind::Vpc, "a"));
        assert_eq!(
            problems(vec![a, b]),
            ["dependency cycle: vpc.a -> vpc.b -> vpc.a"]
        );
    }
}
