//! The desired-state graph: resources in declaration order, indexed by
//! address, with a deterministic dependency order.

use super::{Address, Kind, Part, Ref, Resource, Value};
use std::collections::{BTreeMap, HashMap};

#[derive(Clone, Debug, Default)]
pub struct Graph {
    resources: Vec<Resource>,
    index: HashMap<Address, usize>,
    /// The clusters of others the script names (`existing_cluster(name)`):
    /// what the blueprint put there is read while it names them, so that
    /// what it no longer declares there is pruned.
    existing_clusters: std::collections::BTreeSet<String>,
    /// `moved(from, to)`: resources the script renamed, in order.
    moves: Vec<(Address, Address)>,
    /// The provider instances the script made, by alias.
    providers: BTreeMap<String, super::ProviderSpec>,
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

    /// Takes a resource out (one a script declared on its own, which an
    /// explicit declaration takes over).
    pub fn remove(&mut self, a: &Address) -> Option<Resource> {
        let i = self.index.remove(a)?;
        let r = self.resources.remove(i);
        for (j, res) in self.resources.iter().enumerate().skip(i) {
            self.index.insert(res.address.clone(), j);
        }
        Some(r)
    }

    /// Notes a move (`moved(from, to)`); a second move of the same source
    /// is refused by the caller.
    pub fn add_move(&mut self, from: Address, to: Address) {
        self.moves.push((from, to));
    }

    /// The moves the script declares.
    pub fn moves(&self) -> &[(Address, Address)] {
        &self.moves
    }

    /// Adds a provider instance; an alias already given to another
    /// instance returns that one.
    pub fn add_provider(
        &mut self,
        alias: &str,
        spec: super::ProviderSpec,
    ) -> Result<(), &super::ProviderSpec> {
        match self.providers.get(alias) {
            Some(had) if *had != spec => Err(&self.providers[alias]),
            Some(_) => Ok(()),
            None => {
                self.providers.insert(alias.to_string(), spec);
                Ok(())
            }
        }
    }

    /// An empty graph with this one's provider instances (what a destroy
    /// plans against).
    pub fn providers_only(&self) -> Graph {
        Graph {
            providers: self.providers.clone(),
            ..Graph::default()
        }
    }

    /// The provider instance of an alias.
    pub fn provider(&self, alias: &str) -> Option<&super::ProviderSpec> {
        self.providers.get(alias)
    }

    /// Every provider instance, by alias.
    pub fn providers(&self) -> &BTreeMap<String, super::ProviderSpec> {
        &self.providers
    }

    /// The region a resource is made in: its provider's, else `default`.
    pub fn region_of<'a>(&'a self, a: &Address, default: &'a str) -> &'a str {
        a.provider
            .as_deref()
            .and_then(|p| self.providers.get(p))
            .map(|s| s.region.as_str())
            .unwrap_or(default)
    }

    /// Where in AWS a resource is made, as plans name it: its provider's
    /// region, after its account when the provider names one
    /// (`222222222222/eu-west-1`); else `default`.
    pub fn location_of(&self, a: &Address, default: &str) -> String {
        match a.provider.as_deref().and_then(|p| self.providers.get(p)) {
            Some(spec) => spec.location(),
            None => default.to_string(),
        }
    }

    /// The resources made with provider `alias` (`None`: the command
    /// line's, with the in-cluster objects and the clusters of others),
    /// with the provider instances.
    pub fn of_provider(&self, alias: Option<&str>) -> Graph {
        let mut g = Graph {
            existing_clusters: match alias {
                None => self.existing_clusters.clone(),
                Some(_) => Default::default(),
            },
            providers: self.providers.clone(),
            ..Graph::default()
        };
        for r in self
            .iter()
            .filter(|r| r.address.provider.as_deref() == alias)
        {
            let _ = g.insert(r.clone());
        }
        g
    }

    /// Notes a cluster of others the script names.
    pub fn name_existing_cluster(&mut self, name: &str) {
        self.existing_clusters.insert(name.to_string());
    }

    /// The clusters of others the script names.
    pub fn existing_clusters(&self) -> impl Iterator<Item = &String> {
        self.existing_clusters.iter()
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

    /// The graph without the references to what exists (see
    /// [`super::resource::EXISTING`]), and those references. What refers to
    /// them gets their values as plain text (the id of an existing VPC)
    /// and no dependency on them: the planner and the applier never see
    /// them. A value they do not hold (a placeholder's CIDR in `bp check`)
    /// stays a reference.
    pub fn split_existing(&self) -> (Graph, Vec<Resource>) {
        let existing: HashMap<&Address, &Resource> = self
            .resources
            .iter()
            .filter(|r| r.is_existing())
            .map(|r| (&r.address, r))
            .collect();
        let mut managed = Graph {
            existing_clusters: self.existing_clusters.clone(),
            moves: self.moves.clone(),
            providers: self.providers.clone(),
            ..Graph::new()
        };
        for r in self.resources.iter().filter(|r| !r.is_existing()) {
            let mut r = r.clone();
            for v in r.spec.values_mut() {
                substitute(v, &existing);
            }
            r.depends_on.retain(|a| !existing.contains_key(a));
            r.after_create.retain(|a| !existing.contains_key(a));
            let _ = managed.insert(r);
        }
        let refs = self
            .resources
            .iter()
            .filter(|r| r.is_existing())
            .cloned()
            .collect();
        (managed, refs)
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

/// Replaces references to existing resources by the values they hold.
fn substitute(v: &mut Value, existing: &HashMap<&Address, &Resource>) {
    let known = |r: &Ref| -> Option<String> {
        existing
            .get(&r.address)?
            .spec
            .get(&r.attr)?
            .as_str()
            .map(String::from)
    };
    match v {
        Value::Ref(r) => {
            // Any value the existing resource holds (a subnet's `public`,
            // a VPC's blocks), not only text.
            if let Some(x) = existing.get(&r.address).and_then(|e| e.spec.get(&r.attr)) {
                *v = x.clone();
            }
        }
        Value::Template(parts) => {
            for p in parts.iter_mut() {
                if let Part::Ref(r) = p {
                    if let Some(k) = known(r) {
                        *p = Part::Lit(k);
                    }
                }
            }
            if parts.iter().all(|p| matches!(p, Part::Lit(_))) {
                let text: String = parts
                    .iter()
                    .map(|p| match p {
                        Part::Lit(l) => l.as_str(),
                        Part::Ref(_) => "",
                    })
                    .collect();
                *v = Value::Str(text);
            }
        }
        Value::List(l) => l.iter_mut().for_each(|x| substitute(x, existing)),
        Value::Map(m) => m.values_mut().for_each(|x| substitute(x, existing)),
        _ => {}
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

    /// What refers to an existing resource gets its values as text and no
    /// dependency on it; a value it does not hold stays a reference.
    #[test]
    fn existing_resources_leave_the_graph_as_values() {
        let vpc = Address::new(Kind::new("widget"), "existing/vpc-1");
        let mut g = Graph::new();
        let mut m = Map::new();
        m.insert(crate::model::EXISTING.into(), Value::str("vpc-1"));
        m.insert("id".into(), Value::str("vpc-1"));
        g.insert(Resource::new(vpc.clone(), m)).unwrap();
        let r = |attr: &str| Ref {
            address: vpc.clone(),
            attr: attr.into(),
        };
        let mut spec = Map::new();
        spec.insert("vpc".into(), Value::Ref(r("id")));
        spec.insert(
            "arn".into(),
            Value::Template(vec![Part::Lit("x/".into()), Part::Ref(r("id"))]),
        );
        spec.insert("cidr".into(), Value::List(vec![Value::Ref(r("cidr"))]));
        let mut user = Resource::new(Address::new(Kind::new("widget"), "u"), spec);
        user.depends_on.insert(vpc.clone());
        g.insert(user).unwrap();
        let (managed, existing) = g.split_existing();
        assert_eq!(existing.len(), 1);
        assert_eq!(managed.len(), 1);
        let u = managed.iter().next().unwrap();
        assert!(u.depends_on.is_empty());
        assert_eq!(u.get("vpc"), Some(&Value::str("vpc-1")));
        assert_eq!(u.get("arn"), Some(&Value::str("x/vpc-1")));
        assert_eq!(
            u.get("cidr"),
            Some(&Value::List(vec![Value::Ref(r("cidr"))]))
        );
    }

    #[test]
    fn duplicate_insert_returns_the_first() {
        let mut g = Graph::new();
        g.insert(res("a", &[])).unwrap();
        assert_eq!(g.insert(res("a", &["z"])).unwrap_err().depends_on.len(), 0);
    }
}
