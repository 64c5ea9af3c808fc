//! Karpenter's node pools and node classes, typed: `c.node_class(name, #{
//! ami?, subnets, security_groups, role, block_devices?, tags? })` is a
//! karpenter.k8s.aws/v1 EC2NodeClass and `c.node_pool(name, #{ node_class,
//! requirements, limits?, disruption?, taints?, labels?, weight?,
//! expire_after? })` a karpenter.sh/v1 NodePool. They are declared as
//! manifests (`manifest.<cluster>/NodePool/<name>`), so they are read,
//! applied and pruned as every custom resource is, after Karpenter's CRDs;
//! what the constructors add is the checking at `bp check` of what the
//! CRDs' schemas and CEL rules (`x-kubernetes-validations`) refuse on a
//! server: operators and their values, restricted label domains,
//! `consolidateAfter` where v1 requires it, the AMI alias, one of role and
//! instance profile, and a node class that exists. Subnets and security
//! groups are handles, selected by id or, with `discovery: true`, by the
//! `karpenter.sh/discovery` tag the constructor gives them. Declared after
//! `c.karpenter(...)`, they come after its release (whose chart installs
//! their CRDs) and are deleted before what its controller acts with.

use super::manifest::{declare_one, Manifest};
use super::{on_clusters, ClusterRef};
use crate::model::{Address, Map, Problem, Value};
use crate::script::schema::{def, opt, req, FnDoc, Opt, Ty};
use crate::script::state::{fail, Deps, Fallible, Opts, Shared};
use rhai::{Dynamic, Engine, NativeCallContext};

const OPERATORS: &[&str] = &[
    "In",
    "NotIn",
    "Exists",
    "DoesNotExist",
    "Gt",
    "Lt",
    "Gte",
    "Lte",
];

const POLICIES: &[&str] = &["WhenEmpty", "WhenEmptyOrUnderutilized", "Balanced"];

/// The AMI families an alias may name.
const FAMILIES: &[&str] = &[
    "al2",
    "al2023",
    "bottlerocket",
    "windows2019",
    "windows2022",
    "windows2025",
];

const REQUIREMENT: &[Opt] = &[
    req(
        "key",
        Ty::Str,
        "a node label, e.g. karpenter.sh/capacity-type",
    ),
    req(
        "operator",
        Ty::Enum(OPERATORS),
        "In, NotIn, Exists, DoesNotExist, Gt, Lt, Gte or Lte",
    ),
    opt(
        "values",
        Ty::StrList,
        "the values (one non-negative integer for Gt, Lt, Gte, Lte)",
    ),
    opt(
        "min_values",
        Ty::Int,
        "with In: how many of the values at least must stay possible",
    ),
];

const BUDGET: &[Opt] = &[
    req(
        "nodes",
        Ty::Str,
        "how many nodes may be disrupted at once: a number or a percentage",
    ),
    opt(
        "schedule",
        Ty::Str,
        "a cron schedule when the budget is active (with duration)",
    ),
    opt(
        "duration",
        Ty::Str,
        "how long it is active after each schedule (with schedule)",
    ),
];

const DISRUPTION: &[Opt] = &[
    opt(
        "consolidation_policy",
        Ty::Enum(POLICIES),
        "WhenEmpty, WhenEmptyOrUnderutilized (Karpenter's default) or Balanced",
    ),
    req(
        "consolidate_after",
        Ty::Str,
        "how long a node stays empty or underutilized before it goes: \"30s\", \"5m\", \"Never\"",
    ),
    opt(
        "budgets",
        Ty::NestedList(BUDGET),
        "disruption budgets: [#{ nodes, schedule?, duration? }]",
    ),
];

fn is_node_class(v: &Dynamic) -> bool {
    v.read_lock::<Manifest>()
        .is_some_and(|m| m.0.name.contains("/EC2NodeClass/"))
}

const POOL: &[Opt] = &[
    req(
        "node_class",
        Ty::Check("a node class (c.node_class(...))", is_node_class),
        "the EC2NodeClass its nodes are made from",
    ),
    req(
        "requirements",
        Ty::NestedList(REQUIREMENT),
        "[#{ key, operator, values?, min_values? }]",
    ),
    opt(
        "limits",
        Ty::AnyMap,
        "the most it may run: #{ cpu: 1000, memory: \"1000Gi\" }",
    ),
    opt(
        "disruption",
        Ty::Nested(DISRUPTION),
        "#{ consolidation_policy?, consolidate_after, budgets? }",
    ),
    opt(
        "taints",
        Ty::Values("taint(...)", crate::kinds::eks::is_taint),
        "taints its nodes get",
    ),
    opt("labels", Ty::StrMap, "labels its nodes get"),
    opt(
        "weight",
        Ty::Int,
        "its priority among node pools (1 to 100)",
    ),
    opt(
        "expire_after",
        Ty::Str,
        "how long a node lives: \"720h\", or \"Never\"",
    ),
];

const BLOCK_DEVICE: &[Opt] = &[
    def("device", Ty::Str, "\"/dev/xvda\"", "the device name"),
    req("size_gb", Ty::Int, "its size in GiB"),
    def(
        "type",
        Ty::Enum(&["gp3", "gp2", "io1", "io2"]),
        "\"gp3\"",
        "the EBS volume type",
    ),
    def("encrypted", Ty::Bool, "true", "whether it is encrypted"),
];

const CLASS: &[Opt] = &[
    def(
        "ami",
        Ty::Str,
        "\"al2023@latest\"",
        "an EKS-optimized AMI alias, family@version: al2023@v20250101, bottlerocket@latest, ...",
    ),
    req(
        "subnets",
        Ty::HandleList(crate::kinds::network::subnet::KIND),
        "the subnets its nodes run in",
    ),
    req(
        "security_groups",
        Ty::HandleList(crate::kinds::network::security_group::KIND),
        "the nodes' security groups",
    ),
    opt(
        "role",
        Ty::Handle(crate::kinds::iam::role::KIND),
        "the nodes' IAM role, whose instance profile Karpenter makes (this or instance_profile)",
    ),
    opt(
        "instance_profile",
        Ty::Handle(crate::kinds::compute::instance_profile::KIND),
        "the nodes' instance profile, e.g. karpenter's instance_profile (this or role)",
    ),
    def(
        "discovery",
        Ty::Bool,
        "false",
        "select the subnets and security groups by the tag karpenter.sh/discovery = the cluster's name, which they are given, instead of by id",
    ),
    opt(
        "block_devices",
        Ty::NestedList(BLOCK_DEVICE),
        "[#{ device?, size_gb, type?, encrypted? }]",
    ),
    opt("tags", Ty::StrMap, "tags of the instances it launches"),
];

pub const POOL_DOC: FnDoc = FnDoc {
        name: "node_pool",
        signature: "cluster.node_pool(name, #{ node_class, requirements, limits?, disruption?, taints?, labels?, weight?, expire_after? }) -> Manifest",
        doc: "A Karpenter NodePool (karpenter.sh/v1), checked as its CRD checks it.",
        options: POOL,
        method_of: Some("Cluster"),
};

pub const CLASS_DOC: FnDoc = FnDoc {
        name: "node_class",
        signature: "cluster.node_class(name, #{ ami?, subnets, security_groups, role?|instance_profile?, discovery?, block_devices?, tags? }) -> Manifest",
        doc: "A Karpenter EC2NodeClass (karpenter.k8s.aws/v1), checked as its CRD checks it.",
        options: CLASS,
        method_of: Some("Cluster"),
};

/// What a manifest costs a month: nothing, but a NodePool, which may launch
/// instances up to its limits: a range from none (it scales to zero) to
/// its CPU limit of general-purpose capacity (m6i, per vCPU), spot where
/// it allows only spot. A node pool without limits has no upper bound.
pub fn price(q: &crate::cost::Quote) -> crate::cost::Estimate {
    use crate::cost::{rate, Cost, Estimate, HOURS, SPOT_HIGH};
    let spec = q.spec.get("content").and_then(|c| c.get("spec"));
    // A manifest's spec keeps its apiVersion, not its kind (the address
    // does): of karpenter.sh's kinds, only a NodePool has a template.
    let is_pool = q
        .str("api_version")
        .is_some_and(|v| v.starts_with("karpenter.sh/"))
        && spec.and_then(|s| s.get("template")).is_some();
    let Some(spec) = spec.filter(|_| is_pool) else {
        return Estimate::Free;
    };
    let limits = spec.get("limits");
    let quantity = |k: &str| -> Option<f64> {
        match limits?.get(k)? {
            Value::Int(i) => Some(*i as f64),
            Value::Float(f) => Some(*f),
            Value::Str(s) => {
                let s = s.trim();
                if let Some(m) = s.strip_suffix('m') {
                    return m.parse::<f64>().ok().map(|m| m / 1000.0);
                }
                if let Some(g) = s.strip_suffix("Gi") {
                    return g.parse().ok();
                }
                if let Some(t) = s.strip_suffix("Ti") {
                    return t.parse::<f64>().ok().map(|t| t * 1024.0);
                }
                s.parse().ok()
            }
            _ => None,
        }
    };
    // General-purpose capacity: 4 GiB a vCPU.
    let vcpus = quantity("cpu").or_else(|| quantity("memory").map(|gib| gib / 4.0));
    let Some(vcpus) = vcpus else {
        return Estimate::NoPrice(
            "a node pool without cpu or memory limits has no upper bound".into(),
        );
    };
    let Some(hour) = q.prices.ec2_hour.get("m6i.large").copied() else {
        return q.missing("instance type m6i.large".into());
    };
    let per_vcpu = hour / 2.0;
    let only_spot = spec
        .get("template")
        .and_then(|t| t.get("spec"))
        .and_then(|s| s.get("requirements"))
        .and_then(Value::as_list)
        .unwrap_or_default()
        .iter()
        .any(|r| {
            r.get("key").and_then(Value::as_str) == Some("karpenter.sh/capacity-type")
                && r.get("operator").and_then(Value::as_str) == Some("In")
                && r.get("values")
                    .and_then(Value::as_list)
                    .is_some_and(|v| v.iter().all(|x| x.as_str() == Some("spot")))
        });
    let share = if only_spot { SPOT_HIGH } else { 1.0 };
    Estimate::Priced(Cost {
        monthly: 0.0,
        low: 0.0,
        high: vcpus * per_vcpu * HOURS * share,
        detail: format!(
            "0 to its limits: {vcpus} vCPU × {HOURS} h × {} a vCPU (m6i){}",
            rate(per_vcpu),
            if only_spot {
                format!(" × {:.0}% (spot at most)", SPOT_HIGH * 100.0)
            } else {
                String::new()
            }
        ),
    })
}

/// What a Karpenter object uses, as its live attributes show, so that a
/// destroy deletes it first: a NodePool its EC2NodeClass, an EC2NodeClass
/// its subnets, security groups (by id), role and instance profile (by
/// name), and both what their `blueprint.dev/uses` annotation lists by
/// address (the controller's release, role, association and queue; what a
/// node class discovers by tag).
pub fn uses(a: &Address, content: Option<&Value>, annotations: Option<&Value>) -> Vec<String> {
    let mut out: Vec<String> = annotations
        .and_then(|m| m.get(USES))
        .and_then(Value::as_str)
        .map(|s| s.split_whitespace().map(String::from).collect())
        .unwrap_or_default();
    let Some(spec) = content.and_then(|c| c.get("spec")) else {
        return out;
    };
    if let Some(class) = spec
        .get("template")
        .and_then(|t| t.get("spec"))
        .and_then(|s| s.get("nodeClassRef"))
        .and_then(|r| r.get("name"))
        .and_then(Value::as_str)
    {
        out.push(format!("manifest.{}/EC2NodeClass/{class}", a.parent_name()));
    }
    if a.name.contains("/EC2NodeClass/") {
        for terms in ["subnetSelectorTerms", "securityGroupSelectorTerms"] {
            for t in spec.get(terms).and_then(Value::as_list).unwrap_or_default() {
                out.extend(t.get("id").and_then(Value::as_str).map(String::from));
            }
        }
        out.extend(spec.get("role").and_then(Value::as_str).map(String::from));
        out.extend(
            spec.get("instanceProfile")
                .and_then(Value::as_str)
                .map(String::from),
        );
    }
    out
}

/// After a NodePool's deletion: until the instances Karpenter launched for
/// it (tagged `karpenter.sh/nodepool` and with the cluster's tag) are
/// terminated, so that what they run in (subnets, security groups, the
/// VPC) is deleted after them and destroy leaves no instance behind.
pub async fn wait_for_instances(
    cloud: &crate::providers::Cloud,
    pool: &Address,
) -> Result<(), crate::providers::ProviderError> {
    use crate::providers::ProviderError;
    use aws_sdk_ec2::types::Filter;
    let (cluster, name) = (pool.parent_name().to_string(), pool.leaf().to_string());
    crate::providers::wait_for(
        cloud,
        &format!("the instances of node pool {name} to be terminated"),
        || async {
            let found = cloud
                .ec2()
                .describe_instances()
                .filters(
                    Filter::builder()
                        .name("tag:karpenter.sh/nodepool")
                        .values(&name)
                        .build(),
                )
                .filters(
                    Filter::builder()
                        .name("tag-key")
                        .values(format!("kubernetes.io/cluster/{cluster}"))
                        .build(),
                )
                .filters(
                    Filter::builder()
                        .name("instance-state-name")
                        .set_values(Some(
                            ["pending", "running", "stopping", "stopped", "shutting-down"]
                                .map(String::from)
                                .to_vec(),
                        ))
                        .build(),
                )
                .send()
                .await
                .map_err(ProviderError::api("DescribeInstances"))?;
            let left: usize = found
                .reservations()
                .iter()
                .map(|r| r.instances().len())
                .sum();
            if left > 0 {
                crate::providers::report_wait(&format!(
                    "{left} instance(s) of node pool {name} still up"
                ));
            }
            Ok((left == 0).then_some(()))
        },
    )
    .await
}

pub fn register(engine: &mut Engine, state: &Shared) {
    on_clusters(engine, state, "node_pool", node_pool);
    on_clusters(engine, state, "node_class", node_class);
}

fn refuse(
    ctx: &NativeCallContext,
    what: &str,
    msg: String,
    hint: &str,
) -> Box<rhai::EvalAltResult> {
    fail(ctx, Problem::new(format!("{what}: {msg}")).hint(hint))
}

/// A Kubernetes duration as Karpenter takes it (`30s`, `1h30m`), or Never.
fn duration_ok(v: &str) -> bool {
    v == "Never"
        || (!v.is_empty()
            && v.split_inclusive(['s', 'm', 'h']).all(|part| {
                let (n, unit) = part.split_at(part.len() - 1);
                !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()) && "smh".contains(unit)
            }))
}

/// A label key a node pool may set or require: the karpenter.sh domain is
/// Karpenter's, but for the capacity type, and the hostname is the node's.
fn restricted(key: &str) -> Option<String> {
    let domain = key.split_once('/').map(|(d, _)| d).unwrap_or("");
    if key == "karpenter.sh/nodepool" {
        return Some("label \"karpenter.sh/nodepool\" is restricted (Karpenter sets it)".into());
    }
    if key == "kubernetes.io/hostname" {
        return Some("label \"kubernetes.io/hostname\" is restricted".into());
    }
    if domain.ends_with("karpenter.sh") && key != "karpenter.sh/capacity-type" {
        return Some(format!(
            "label domain \"karpenter.sh\" is restricted (`{key}`)"
        ));
    }
    None
}

/// The annotation that lists, by address, what an object uses that its
/// spec does not name (the release whose controller acts on it, what it
/// selects by tag), so that a destroy deletes the object first.
pub const USES: &str = "blueprint.dev/uses";

/// A cluster-scoped object in the API's own shape, annotated with what it
/// `uses`.
fn object(api_version: &str, kind: &str, name: &str, spec: Map, uses: &[Address]) -> Map {
    let mut metadata = Map::from([("name".into(), Value::str(name))]);
    if !uses.is_empty() {
        let listed: Vec<String> = uses.iter().map(Address::to_string).collect();
        metadata.insert(
            "annotations".into(),
            Value::Map(Map::from([(USES.into(), Value::Str(listed.join(" ")))])),
        );
    }
    Map::from([
        ("apiVersion".into(), Value::str(api_version)),
        ("kind".into(), Value::str(kind)),
        ("metadata".into(), Value::Map(metadata)),
        ("spec".into(), Value::Map(spec)),
    ])
}

fn node_pool(
    state: &Shared,
    ctx: &NativeCallContext,
    c: &ClusterRef,
    name: &Dynamic,
    opts: &Dynamic,
) -> Fallible<Manifest> {
    let name = crate::script::api::name_arg(ctx, "node_pool", name)?;
    let map = crate::script::api::opts_arg(ctx, "node_pool", opts, POOL)?;
    let o = Opts(&map);
    let what = format!("node_pool \"{name}\"");
    let mut deps = Deps::default();
    // The node class: this cluster's, declared.
    let class = o
        .get("node_class")
        .and_then(|d| d.read_lock::<Manifest>().map(|m| m.0.clone()))
        .expect("checked by the schema");
    let class_name = class.leaf().to_string();
    if class.parent_name() != c.name || !state.borrow().graph.contains(&class) {
        return Err(refuse(
            ctx,
            &what,
            format!("its node class {class} is not one of cluster {}", c.name),
            "give a node class declared on the same cluster: c.node_class(...)",
        ));
    }
    deps.add(&class);
    let release = crate::kinds::karpenter::release_of(state, &c.name);
    if let Some(r) = &release {
        deps.add(r);
    }
    let mut requirements = Vec::new();
    for r in o.list("requirements") {
        let m = r
            .read_lock::<rhai::Map>()
            .map(|m| m.clone())
            .unwrap_or_default();
        let ro = Opts(&m);
        let key = ro.str("key").unwrap_or_default();
        let op = ro.str("operator").unwrap_or_default();
        let values = ro.strs("values");
        if let Some(why) = restricted(&key) {
            return Err(refuse(
                ctx,
                &what,
                why,
                "require a label of your own, or a well-known one",
            ));
        }
        if op == "In" && values.is_empty() {
            return Err(refuse(
                ctx,
                &what,
                format!("requirement `{key}` with operator 'In' must have a value defined"),
                "give values: [...], or use Exists",
            ));
        }
        if ["Gt", "Lt", "Gte", "Lte"].contains(&op.as_str())
            && !(values.len() == 1 && values[0].parse::<u64>().is_ok())
        {
            return Err(refuse(
                ctx,
                &what,
                format!("requirement `{key}` with operator '{op}' must have a single positive integer value"),
                "e.g. values: [\"4\"]",
            ));
        }
        let mut req = Map::from([
            ("key".into(), Value::str(&key)),
            ("operator".into(), Value::str(&op)),
        ]);
        if !values.is_empty() {
            req.insert(
                "values".into(),
                Value::List(values.iter().map(Value::str).collect()),
            );
        }
        if let Some(min) = ro.int("min_values") {
            if op == "In" && (values.len() as i64) < min {
                return Err(refuse(
                    ctx,
                    &what,
                    format!(
                        "requirement `{key}` has min_values {min} but only {} values",
                        values.len()
                    ),
                    "list at least min_values values",
                ));
            }
            req.insert("minValues".into(), Value::Int(min));
        }
        requirements.push(Value::Map(req));
    }
    let mut template_spec = Map::from([
        (
            "nodeClassRef".into(),
            Value::Map(Map::from([
                ("group".into(), Value::str("karpenter.k8s.aws")),
                ("kind".into(), Value::str("EC2NodeClass")),
                ("name".into(), Value::str(&class_name)),
            ])),
        ),
        ("requirements".into(), Value::List(requirements)),
    ]);
    let taints: Vec<Value> = o
        .list("taints")
        .iter()
        .filter_map(|t| {
            t.read_lock::<crate::kinds::eks::Taint>()
                .map(|t| crate::kinds::eks::taint_value(&t))
        })
        .collect();
    if !taints.is_empty() {
        template_spec.insert("taints".into(), Value::List(taints));
    }
    if let Some(e) = o.str("expire_after") {
        if !duration_ok(&e) {
            return Err(refuse(
                ctx,
                &what,
                format!("expire_after \"{e}\" is not a duration"),
                "e.g. \"720h\", or \"Never\"",
            ));
        }
        template_spec.insert("expireAfter".into(), Value::Str(e));
    }
    let mut template = Map::from([("spec".into(), Value::Map(template_spec))]);
    if let Some(labels) = o.get("labels").map(|l| deps.value(l)) {
        if let Some(m) = labels.as_map() {
            if let Some(why) = m.keys().find_map(|k| restricted(k)) {
                return Err(refuse(ctx, &what, why, "use a label of your own"));
            }
        }
        template.insert(
            "metadata".into(),
            Value::Map(Map::from([("labels".into(), labels)])),
        );
    }
    let mut spec = Map::from([("template".into(), Value::Map(template))]);
    if let Some(l) = o.get("limits") {
        spec.insert("limits".into(), deps.value(l));
    }
    if let Some(w) = o.int("weight") {
        if !(1..=100).contains(&w) {
            return Err(refuse(
                ctx,
                &what,
                format!("weight {w} is outside 1 to 100"),
                "weights run from 1 to 100",
            ));
        }
        spec.insert("weight".into(), Value::Int(w));
    }
    if let Some(d) = o
        .get("disruption")
        .and_then(|d| d.read_lock::<rhai::Map>().map(|m| m.clone()))
    {
        spec.insert("disruption".into(), disruption(ctx, &what, &Opts(&d))?);
    }
    // Deleted before the controller and what it acts with, which
    // terminate its nodes.
    let mut used: Vec<Address> = release.into_iter().collect();
    used.extend(crate::kinds::karpenter::acts_with(state, &c.name));
    let object = object("karpenter.sh/v1", "NodePool", &name, spec, &used);
    Ok(Manifest(declare_one(
        state,
        ctx,
        c,
        None,
        object,
        deps,
        "node_pool",
    )?))
}

fn disruption(ctx: &NativeCallContext, what: &str, d: &Opts) -> Fallible<Value> {
    let after = d.str("consolidate_after").unwrap_or_default();
    if !duration_ok(&after) {
        return Err(refuse(
            ctx,
            what,
            format!("consolidate_after \"{after}\" is not a duration"),
            "e.g. \"30s\", \"5m\", or \"Never\"",
        ));
    }
    let mut m = Map::from([("consolidateAfter".into(), Value::Str(after))]);
    if let Some(p) = d.str("consolidation_policy") {
        m.insert("consolidationPolicy".into(), Value::Str(p));
    }
    let mut budgets = Vec::new();
    for b in d.list("budgets") {
        let bm = b
            .read_lock::<rhai::Map>()
            .map(|m| m.clone())
            .unwrap_or_default();
        let bo = Opts(&bm);
        if bo.has("schedule") != bo.has("duration") {
            return Err(refuse(
                ctx,
                what,
                "a budget's 'schedule' must be set with 'duration'".into(),
                "give both, or neither",
            ));
        }
        let mut budget = Map::from([(
            "nodes".into(),
            Value::str(bo.str("nodes").unwrap_or_default()),
        )]);
        for (k, key) in [("schedule", "schedule"), ("duration", "duration")] {
            if let Some(v) = bo.str(k) {
                budget.insert(key.into(), Value::Str(v));
            }
        }
        budgets.push(Value::Map(budget));
    }
    if !budgets.is_empty() {
        m.insert("budgets".into(), Value::List(budgets));
    }
    Ok(Value::Map(m))
}

/// The tag a node class with `discovery: true` selects subnets and
/// security groups by.
pub const DISCOVERY: &str = "karpenter.sh/discovery";

/// Gives the subnets and security groups `tagged` the discovery tag of
/// cluster `cluster`; each must be one this blueprint manages.
fn discovery_tags(
    state: &Shared,
    ctx: &NativeCallContext,
    what: &str,
    cluster: &str,
    tagged: &[Address],
) -> Fallible<()> {
    let mut st = state.borrow_mut();
    for a in tagged {
        let Some(r) = st.graph.get_mut(a).filter(|r| !r.is_existing()) else {
            drop(st);
            return Err(refuse(
                ctx,
                what,
                format!("{a} is not one this blueprint manages, so it cannot be given the tag {DISCOVERY}"),
                "select it by id (leave discovery out), or tag it where it is managed",
            ));
        };
        let mut tags = r
            .spec
            .get("tags")
            .and_then(Value::as_map)
            .cloned()
            .unwrap_or_default();
        match tags.get(DISCOVERY).and_then(Value::as_str) {
            Some(other) if other != cluster => {
                let other = other.to_string();
                drop(st);
                return Err(refuse(
                    ctx,
                    what,
                    format!("{a} has the tag {DISCOVERY} = {other} already"),
                    "a subnet or security group is discovered by one cluster's Karpenter",
                ));
            }
            _ => {
                tags.insert(DISCOVERY.into(), Value::str(cluster));
            }
        }
        r.spec.insert("tags".into(), Value::Map(tags));
    }
    Ok(())
}

fn node_class(
    state: &Shared,
    ctx: &NativeCallContext,
    c: &ClusterRef,
    name: &Dynamic,
    opts: &Dynamic,
) -> Fallible<Manifest> {
    let name = crate::script::api::name_arg(ctx, "node_class", name)?;
    let map = crate::script::api::opts_arg(ctx, "node_class", opts, CLASS)?;
    let o = Opts(&map);
    let what = format!("node_class \"{name}\"");
    let alias = o.str("ami").unwrap_or_else(|| "al2023@latest".into());
    let (family, version) = alias.split_once('@').unwrap_or((&alias, ""));
    if version.is_empty() || !family.chars().all(|c| c.is_ascii_alphanumeric()) || alias.len() > 30
    {
        return Err(refuse(
            ctx,
            &what,
            format!(
                "ami \"{alias}\" is improperly formatted, must match the format 'family@version'"
            ),
            "e.g. \"al2023@latest\" or \"bottlerocket@v1.30.0\"",
        ));
    }
    if !FAMILIES.contains(&family) {
        return Err(refuse(
            ctx,
            &what,
            format!("AMI family \"{family}\" is not supported"),
            "al2, al2023, bottlerocket, windows2019, windows2022 or windows2025",
        ));
    }
    if family.starts_with("windows") && version != "latest" {
        return Err(refuse(
            ctx,
            &what,
            format!("windows families may only specify version 'latest', not \"{version}\""),
            "e.g. \"windows2022@latest\"",
        ));
    }
    let mut deps = Deps::default();
    let by_id = |attr: &str, handles: Vec<Address>, deps: &mut Deps| -> Value {
        Value::List(
            handles
                .into_iter()
                .map(|a| {
                    deps.add(&a);
                    Value::Map(Map::from([(
                        "id".into(),
                        Value::Ref(crate::model::Ref {
                            address: a,
                            attr: attr.into(),
                        }),
                    )]))
                })
                .collect(),
        )
    };
    let mut used: Vec<Address> = Vec::new();
    if let Some(r) = crate::kinds::karpenter::release_of(state, &c.name) {
        deps.add(&r);
        used.push(r);
    }
    let (subnets, groups) = if o.bool_or("discovery", false) {
        let mut tagged = o.addresses("subnets");
        tagged.extend(o.addresses("security_groups"));
        discovery_tags(state, ctx, &what, &c.name, &tagged)?;
        for a in &tagged {
            deps.add(a);
        }
        used.extend(tagged);
        let term = || {
            Value::List(vec![Value::Map(Map::from([(
                "tags".into(),
                Value::Map(Map::from([(DISCOVERY.into(), Value::str(&c.name))])),
            )]))])
        };
        (term(), term())
    } else {
        (
            by_id("id", o.addresses("subnets"), &mut deps),
            by_id("id", o.addresses("security_groups"), &mut deps),
        )
    };
    let (role, profile) = match (o.address("role"), o.address("instance_profile")) {
        (Some(r), None) => (Some(r), None),
        (None, Some(p)) => (None, Some(p)),
        _ => {
            return Err(refuse(
                ctx,
                &what,
                "must specify exactly one of ['role', 'instanceProfile']".into(),
                "give role: (Karpenter makes the instance profile) or instance_profile:",
            ))
        }
    };
    let mut node_identity = Vec::new();
    if let Some(role) = role {
        // Karpenter takes the role's name: known now for a role of this
        // blueprint's, from the ARN for one that exists.
        let role_name = state
            .borrow()
            .graph
            .get(&role)
            .and_then(|r| r.str("name").map(String::from))
            .unwrap_or_else(|| {
                role.name
                    .rsplit('/')
                    .next()
                    .unwrap_or(&role.name)
                    .to_string()
            });
        deps.add(&role);
        node_identity.push(("role".to_string(), Value::Str(role_name)));
    }
    if let Some(p) = profile {
        deps.add(&p);
        node_identity.push((
            "instanceProfile".to_string(),
            Value::Ref(crate::model::Ref {
                address: p,
                attr: "name".into(),
            }),
        ));
    }
    let mut spec = Map::from([
        (
            "amiSelectorTerms".into(),
            Value::List(vec![Value::Map(Map::from([(
                "alias".into(),
                Value::str(&alias),
            )]))]),
        ),
        ("subnetSelectorTerms".into(), subnets),
        ("securityGroupSelectorTerms".into(), groups),
    ]);
    spec.extend(node_identity);
    let devices: Vec<Value> = o
        .list("block_devices")
        .iter()
        .filter_map(|b| b.read_lock::<rhai::Map>().map(|m| m.clone()))
        .map(|m| {
            let b = Opts(&m);
            Value::Map(Map::from([
                (
                    "deviceName".into(),
                    Value::str(b.str("device").unwrap_or_else(|| "/dev/xvda".into())),
                ),
                (
                    "ebs".into(),
                    Value::Map(Map::from([
                        (
                            "volumeSize".into(),
                            Value::str(format!("{}Gi", b.int("size_gb").unwrap_or(20))),
                        ),
                        (
                            "volumeType".into(),
                            Value::str(b.str("type").unwrap_or_else(|| "gp3".into())),
                        ),
                        (
                            "encrypted".into(),
                            Value::Bool(b.bool_or("encrypted", true)),
                        ),
                    ])),
                ),
            ]))
        })
        .collect();
    if !devices.is_empty() {
        spec.insert("blockDeviceMappings".into(), Value::List(devices));
    }
    if let Some(t) = o.get("tags") {
        spec.insert("tags".into(), deps.value(t));
    }
    let object = object("karpenter.k8s.aws/v1", "EC2NodeClass", &name, spec, &used);
    Ok(Manifest(declare_one(
        state,
        ctx,
        c,
        None,
        object,
        deps,
        "node_class",
    )?))
}
