//! The desired-state graph: resources in declaration order, indexed by
//! address, with a deterministic dependency order.

use super::{Address, Kind, Resource};
use std::collections::{BTreeMap, HashMap};

#[derive(Clone, Debug, Default)]
pub struct Graph {
    resources: Vec<Resource>,
    index: HashMap<Address, usize>,
}

/// A dependency cycle, as the addresses along it (the first repeated at the end).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cycle(pub Vec<Address>);

impl std::fmt::Display for Cycle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<String> = self.0.iter().map(ToString::to_string).collect();
        f.write_str(&names.join(" -> "))
    }
}

impl Graph {
    pub fn new() -> Graph {
        Graph::default()
    }

    /// Adds a resource; on a duplicate address returns the one already there.
    pub fn insert(&mut self, r: Resource) -> Result<(), &Resource> {
        if let Some(&i) = self.index.get(&r.address) {
            return Err(&self.resources[i]);
        }
        self.index.insert(r.address.clone(), self.resources.len());
        self.resources.push(r);
        Ok(())
    }

    pub fn get(&self, a: &Address) -> Option<&Resource> {
        self.index.get(a).map(|&i| &self.resources[i])
    }

    pub fn get_mut(&mut self, a: &Address) -> Option<&mut Resource> {
        self.index.get(a).map(|&i| &mut self.resources[i])
    }

    pub fn contains(&self, a: &Address) -> bool {
        self.index.contains_key(a)
    }

    pub fn len(&self) -> usize {
        self.resources.len()
    }

    pub fn is_empty(&self) -> bool {
        self.resources.is_empty()
    }

    /// Resources in declaration order.
    pub fn iter(&self) -> impl Iterator<Item = &Resource> {
        self.resources.iter()
    }

    pub fn into_resources(self) -> Vec<Resource> {
        self.resources
    }

    pub fn of_kind(&self, kind: Kind) -> impl Iterator<Item = &Resource> {
        self.resources.iter().filter(move |r| r.kind() == kind)
    }

    /// How many resources of each kind, in kind order.
    pub fn count_by_kind(&self) -> BTreeMap<Kind, usize> {
        let mut m = BTreeMap::new();
        for r in &self.resources {
            *m.entry(r.kind()).or_insert(0) += 1;
        }
        m
    }

    /// Addresses in an order where every resource comes after the resources it
    /// depends on (blocking edges only); ties keep declaration order.
    /// References to undeclared addresses are ignored here (validation reports them).
    pub fn topo_order(&self) -> Result<Vec<&Address>, Cycle> {
        let n = self.resources.len();
        let mut indegree = vec![0usize; n];
        let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); n];
        for (i, r) in self.resources.iter().enumerate() {
            for d in &r.depends_on {
                if let Some(&j) = self.index.get(d) {
                    indegree[i] += 1;
                    dependents[j].push(i);
                }
            }
        }
        // A min-heap on declaration index keeps the order deterministic.
        let mut ready: std::collections::BinaryHeap<std::cmp::Reverse<usize>> = (0..n)
            .filter(|&i| indegree[i] == 0)
            .map(std::cmp::Reverse)
            .collect();
        let mut out = Vec::with_capacity(n);
        while let Some(std::cmp::Reverse(i)) = ready.pop() {
            out.push(&self.resources[i].address);
            for &d in &dependents[i] {
                indegree[d] -= 1;
                if indegree[d] == 0 {
                    ready.push(std::cmp::Reverse(d));
                }
            }
        }
        if out.len() == n {
            return Ok(out);
        }
        Err(self.find_cycle(&indegree))
    }

    /// Walks the blocking edges of the nodes left over by Kahn's algorithm
    /// until a node repeats.
    fn find_cycle(&self, indegree: &[usize]) -> Cycle {
        let stuck = |a: &Address| self.index.get(a).is_some_and(|&i| indegree[i] > 0);
        let start = indegree.iter().position(|&d| d > 0).unwrap_or(0);
        let mut path: Vec<usize> = vec![start];
        let mut seen: HashMap<usize, usize> = HashMap::from([(start, 0)]);
        loop {
            let cur = *path.last().unwrap_or(&start);
            let next = self.resources[cur]
                .depends_on
                .iter()
                .find(|d| stuck(d))
                .and_then(|d| self.index.get(d).copied());
            let Some(next) = next else {
                return Cycle(
                    path.iter()
                        .map(|&i| self.resources[i].address.clone())
                        .collect(),
                );
            };
            if let Some(&pos) = seen.get(&next) {
                let mut cycle: Vec<Address> = path[pos..]
                    .iter()
                    .map(|&i| self.resources[i].address.clone())
                    .collect();
                cycle.push(self.resources[next].address.clone());
                // Report it in the direction "A needs B needs A".
                return Cycle(cycle);
            }
            seen.insert(next, path.len());
            path.push(next);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Map;

    fn res(name: &str, deps: &[&str]) -> Resource {
        let mut r = Resource::new(Address::new(Kind::new("widget"), name), Map::new());
        r.depends_on = deps
            .iter()
            .map(|d| Address::new(Kind::new("widget"), *d))
            .collect();
        r
    }

    #[test]
    fn orders_dependencies_first_and_keeps_declaration_order() {
        let mut g = Graph::new();
        for r in [
            res("c", &["a"]),
            res("a", &[]),
            res("b", &[]),
            res("d", &["c", "b"]),
        ] {
            g.insert(r).unwrap();
        }
        let order: Vec<String> = g
            .topo_order()
            .unwrap()
            .iter()
            .map(|a| a.name.clone())
            .collect();
        // c is declared first, so it runs as soon as a is done.
        assert_eq!(order, ["a", "c", "b", "d"]);
    }

    #[test]
    fn finds_a_cycle() {
        let mut g = Graph::new();
        for r in [
            res("x", &[]),
            res("a", &["b"]),
            res("b", &["c"]),
            res("c", &["a"]),
        ] {
            g.insert(r).unwrap();
        }
        let cycle = g.topo_order().unwrap_err();
        assert_eq!(
            cycle.to_string(),
            "widget.a -> widget.b -> widget.c -> widget.a"
        );
    }

    #[test]
    fn after_create_edges_do_not_block() {
        let mut g = Graph::new();
        let mut a = res("a", &[]);
        a.after_create
            .insert(Address::new(Kind::new("widget"), "b"));
        let mut b = res("b", &[]);
        b.after_create
            .insert(Address::new(Kind::new("widget"), "a"));
        g.insert(a).unwrap();
        g.insert(b).unwrap();
        assert_eq!(g.topo_order().unwrap().len(), 2);
    }

    #[test]
    fn duplicate_insert_returns_the_first() {
        let mut g = Graph::new();
        g.insert(res("a", &[])).unwrap();
        assert_eq!(g.insert(res("a", &["z"])).unwrap_err().depends_on.len(), 0);
    }
}
