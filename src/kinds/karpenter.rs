//! `c.karpenter(#{ version, repo?, namespace?, interruption_queue?,
//! node_role?, via?, values? })`: Karpenter on a cluster, the whole of it.
//! Not a kind of its own: like `backups`, it declares resources of
//! existing kinds, as Karpenter's getting-started template does:
//! - the nodes' role (`<cluster>-karpenter-node`, unless `node_role` names
//!   one), its access entry (EC2_LINUX) and its instance profile;
//! - the controller's role, scoped as Karpenter's documented v1 policy
//!   scopes it (launches and deletions only of what carries the cluster's
//!   tags, the node role alone passed, the queue alone read), wired to
//!   the `karpenter` service account by Pod Identity (default) or IRSA;
//! - the interruption queue (`<cluster>-karpenter`) and the four
//!   EventBridge rules that feed it (spot interruption, rebalance
//!   recommendation, instance state change, scheduled change);
//! - the pinned Helm release of chart `oci://public.ecr.aws/karpenter/karpenter`,
//!   or of chart `karpenter` in `repo` (a mirror), configured with the
//!   cluster's name, endpoint and queue.
//!
//! It returns a map of handles: `node_role`, `controller_role`,
//! `instance_profile`, `queue` (when there is one) and `release`. Node
//! pools and node classes declared after it come after the release, whose
//! chart installs their CRDs, and are deleted before it.

use super::eks::pod_identity::{associate, pod_identity_role};
use super::helm_release::HelmRelease;
use super::iam::IamRole;
use super::k8s::ClusterRef;
use crate::model::{Address, Problem};
use crate::script::api::opts_arg;
use crate::script::handles::Output;
use crate::script::schema::{def, opt, req, FnDoc, Opt, Ty};
use crate::script::state::{fail, Fallible, Opts, Shared};
use rhai::{Dynamic, Engine, NativeCallContext};

/// Karpenter's chart, as its documentation installs it.
pub const CHART: &str = "oci://public.ecr.aws/karpenter/karpenter";
/// The controller's service account, as the chart names it.
pub const SERVICE_ACCOUNT: &str = "karpenter";

const OPTS: &[Opt] = &[
    req(
        "version",
        Ty::Str,
        "Karpenter's version, which is its chart's (pinned): \"1.14.1\"",
    ),
    opt(
        "repo",
        Ty::Str,
        "a chart repository mirroring Karpenter's chart (https, or http on loopback), instead of oci://public.ecr.aws/karpenter/karpenter",
    ),
    def(
        "namespace",
        Ty::Str,
        "\"kube-system\"",
        "where the controller runs",
    ),
    def(
        "interruption_queue",
        Ty::Bool,
        "true",
        "an SQS queue fed by EventBridge with spot interruptions, rebalance recommendations, instance state changes and scheduled changes, which Karpenter drains nodes ahead of",
    ),
    opt(
        "node_role",
        Ty::Handle(super::iam::role::KIND),
        "the nodes' role (default: <cluster>-karpenter-node, declared with the policies EKS nodes need)",
    ),
    def(
        "via",
        Ty::Enum(&["pod_identity", "irsa"]),
        "\"pod_identity\"",
        "how the controller's service account gets its role",
    ),
    opt("values", Ty::AnyMap, "chart values merged over Blueprint's"),
];

pub const DOC: FnDoc = FnDoc {
    name: "karpenter",
    signature: "cluster.karpenter(#{ version, repo?, namespace?, interruption_queue?, node_role?, via?, values? }) -> map",
    doc: "Karpenter: the controller's scoped role (Pod Identity or IRSA), the node role with its access entry and instance profile, the interruption queue with its EventBridge rules, and the pinned Helm release. Returns #{ node_role, controller_role, instance_profile, queue, release }.",
    options: OPTS,
    method_of: Some("Cluster"),
};

/// Registers `c.karpenter(opts)` on both cluster handle types.
pub fn register(engine: &mut Engine, state: &Shared) {
    macro_rules! on {
        ($ty:ty) => {
            let s = state.clone();
            engine.register_fn(
                "karpenter",
                move |ctx: NativeCallContext, c: &mut $ty, opts: Dynamic| -> Fallible<rhai::Map> {
                    let d = Dynamic::from(c.clone());
                    let c = ClusterRef::of(&d).expect("a cluster handle");
                    karpenter(&s, &ctx, &c, &opts)
                },
            );
        };
    }
    on!(super::eks::Cluster);
    on!(super::k8s::ExistingCluster);
}

fn text(s: &str) -> Dynamic {
    Dynamic::from(s.to_string())
}

fn map(pairs: Vec<(&str, Dynamic)>) -> Dynamic {
    Dynamic::from(
        pairs
            .into_iter()
            .map(|(k, v)| (k.into(), v))
            .collect::<rhai::Map>(),
    )
}

fn attr(a: &Address, attr: &str) -> Dynamic {
    Dynamic::from(Output::attr(a, attr, None))
}

/// A JSON document as script values, with the strings `subst` knows
/// replaced by what it gives (handle attributes known after apply).
fn json_value(v: &serde_json::Value, subst: &dyn Fn(&str) -> Option<Dynamic>) -> Dynamic {
    match v {
        serde_json::Value::String(s) => subst(s).unwrap_or_else(|| text(s)),
        serde_json::Value::Array(a) => Dynamic::from(
            a.iter()
                .map(|x| json_value(x, subst))
                .collect::<rhai::Array>(),
        ),
        serde_json::Value::Object(o) => Dynamic::from(
            o.iter()
                .map(|(k, x)| (k.into(), json_value(x, subst)))
                .collect::<rhai::Map>(),
        ),
        serde_json::Value::Bool(b) => Dynamic::from(*b),
        serde_json::Value::Number(n) => n
            .as_i64()
            .map(Dynamic::from)
            .unwrap_or_else(|| text(&n.to_string())),
        serde_json::Value::Null => Dynamic::UNIT,
    }
}

/// Karpenter's documented controller policy (v1, its getting-started
/// CloudFormation template), for cluster `cluster` in `region`. `@queue`,
/// `@node_role` and `@cluster` stand for ARNs known after apply; the
/// account of EC2 ARNs is `*` as in the template, and that of IAM ARNs too
/// (a role acts on its own account's IAM only).
pub fn controller_policy(cluster: &str, region: &str, queue: bool) -> serde_json::Value {
    let owned = format!("aws:ResourceTag/kubernetes.io/cluster/{cluster}");
    let req_owned = format!("aws:RequestTag/kubernetes.io/cluster/{cluster}");
    let ec2 = |r: &str| format!("arn:aws:ec2:{region}:*:{r}");
    let mut statements = vec![
        serde_json::json!({
            "Sid": "AllowScopedEC2InstanceAccessActions",
            "Effect": "Allow",
            "Resource": [ec2("image/*"), ec2("snapshot/*"), ec2("security-group/*"), ec2("subnet/*"), ec2("capacity-reservation/*")],
            "Action": ["ec2:RunInstances", "ec2:CreateFleet"]
        }),
        serde_json::json!({
            "Sid": "AllowScopedEC2LaunchTemplateAccessActions",
            "Effect": "Allow",
            "Resource": ec2("launch-template/*"),
            "Action": ["ec2:RunInstances", "ec2:CreateFleet"],
            "Condition": {
                "StringEquals": { owned.clone(): "owned" },
                "StringLike": { "aws:ResourceTag/karpenter.sh/nodepool": "*" }
            }
        }),
        serde_json::json!({
            "Sid": "AllowScopedEC2InstanceActionsWithTags",
            "Effect": "Allow",
            "Resource": [ec2("fleet/*"), ec2("instance/*"), ec2("volume/*"), ec2("network-interface/*"), ec2("launch-template/*"), ec2("spot-instances-request/*")],
            "Action": ["ec2:RunInstances", "ec2:CreateFleet", "ec2:CreateLaunchTemplate"],
            "Condition": {
                "StringEquals": { req_owned.clone(): "owned", "aws:RequestTag/eks:eks-cluster-name": cluster },
                "StringLike": { "aws:RequestTag/karpenter.sh/nodepool": "*" }
            }
        }),
        serde_json::json!({
            "Sid": "AllowScopedResourceCreationTagging",
            "Effect": "Allow",
            "Resource": [ec2("fleet/*"), ec2("instance/*"), ec2("volume/*"), ec2("network-interface/*"), ec2("launch-template/*"), ec2("spot-instances-request/*")],
            "Action": "ec2:CreateTags",
            "Condition": {
                "StringEquals": {
                    req_owned.clone(): "owned",
                    "aws:RequestTag/eks:eks-cluster-name": cluster,
                    "ec2:CreateAction": ["RunInstances", "CreateFleet", "CreateLaunchTemplate"]
                },
                "StringLike": { "aws:RequestTag/karpenter.sh/nodepool": "*" }
            }
        }),
        serde_json::json!({
            "Sid": "AllowScopedResourceTagging",
            "Effect": "Allow",
            "Resource": ec2("instance/*"),
            "Action": "ec2:CreateTags",
            "Condition": {
                "StringEquals": { owned.clone(): "owned" },
                "StringLike": { "aws:ResourceTag/karpenter.sh/nodepool": "*" },
                "StringEqualsIfExists": { "aws:RequestTag/eks:eks-cluster-name": cluster },
                "ForAllValues:StringEquals": { "aws:TagKeys": ["eks:eks-cluster-name", "karpenter.sh/nodeclaim", "Name"] }
            }
        }),
        serde_json::json!({
            "Sid": "AllowScopedDeletion",
            "Effect": "Allow",
            "Resource": [ec2("instance/*"), ec2("launch-template/*")],
            "Action": ["ec2:TerminateInstances", "ec2:DeleteLaunchTemplate"],
            "Condition": {
                "StringEquals": { owned.clone(): "owned" },
                "StringLike": { "aws:ResourceTag/karpenter.sh/nodepool": "*" }
            }
        }),
        serde_json::json!({
            "Sid": "AllowRegionalReadActions",
            "Effect": "Allow",
            "Resource": "*",
            "Action": [
                "ec2:DescribeCapacityReservations", "ec2:DescribeImages", "ec2:DescribeInstances",
                "ec2:DescribeInstanceTypeOfferings", "ec2:DescribeInstanceTypes", "ec2:DescribeLaunchTemplates",
                "ec2:DescribeSecurityGroups", "ec2:DescribeSpotPriceHistory", "ec2:DescribeSubnets"
            ],
            "Condition": { "StringEquals": { "aws:RequestedRegion": region } }
        }),
        serde_json::json!({
            "Sid": "AllowSSMReadActions",
            "Effect": "Allow",
            "Resource": format!("arn:aws:ssm:{region}::parameter/aws/service/*"),
            "Action": "ssm:GetParameter"
        }),
        serde_json::json!({
            "Sid": "AllowPricingReadActions",
            "Effect": "Allow",
            "Resource": "*",
            "Action": "pricing:GetProducts"
        }),
        serde_json::json!({
            "Sid": "AllowPassingInstanceRole",
            "Effect": "Allow",
            "Resource": "@node_role",
            "Action": "iam:PassRole",
            "Condition": { "StringEquals": { "iam:PassedToService": ["ec2.amazonaws.com"] } }
        }),
        serde_json::json!({
            "Sid": "AllowScopedInstanceProfileCreationActions",
            "Effect": "Allow",
            "Resource": "arn:aws:iam::*:instance-profile/*",
            "Action": ["iam:CreateInstanceProfile"],
            "Condition": {
                "StringEquals": {
                    req_owned.clone(): "owned",
                    "aws:RequestTag/eks:eks-cluster-name": cluster,
                    "aws:RequestTag/topology.kubernetes.io/region": region
                },
                "StringLike": { "aws:RequestTag/karpenter.k8s.aws/ec2nodeclass": "*" }
            }
        }),
        serde_json::json!({
            "Sid": "AllowScopedInstanceProfileTagActions",
            "Effect": "Allow",
            "Resource": "arn:aws:iam::*:instance-profile/*",
            "Action": ["iam:TagInstanceProfile"],
            "Condition": {
                "StringEquals": {
                    owned.clone(): "owned",
                    "aws:ResourceTag/topology.kubernetes.io/region": region,
                    req_owned.clone(): "owned",
                    "aws:RequestTag/eks:eks-cluster-name": cluster,
                    "aws:RequestTag/topology.kubernetes.io/region": region
                },
                "StringLike": {
                    "aws:ResourceTag/karpenter.k8s.aws/ec2nodeclass": "*",
                    "aws:RequestTag/karpenter.k8s.aws/ec2nodeclass": "*"
                }
            }
        }),
        serde_json::json!({
            "Sid": "AllowScopedInstanceProfileActions",
            "Effect": "Allow",
            "Resource": "arn:aws:iam::*:instance-profile/*",
            "Action": ["iam:AddRoleToInstanceProfile", "iam:RemoveRoleFromInstanceProfile", "iam:DeleteInstanceProfile"],
            "Condition": {
                "StringEquals": {
                    owned.clone(): "owned",
                    "aws:ResourceTag/topology.kubernetes.io/region": region
                },
                "StringLike": { "aws:ResourceTag/karpenter.k8s.aws/ec2nodeclass": "*" }
            }
        }),
        serde_json::json!({
            "Sid": "AllowInstanceProfileReadActions",
            "Effect": "Allow",
            "Resource": "arn:aws:iam::*:instance-profile/*",
            "Action": "iam:GetInstanceProfile"
        }),
        serde_json::json!({
            "Sid": "AllowUnscopedInstanceProfileListAction",
            "Effect": "Allow",
            "Resource": "*",
            "Action": "iam:ListInstanceProfiles"
        }),
        serde_json::json!({
            "Sid": "AllowAPIServerEndpointDiscovery",
            "Effect": "Allow",
            "Resource": "@cluster",
            "Action": "eks:DescribeCluster"
        }),
    ];
    if queue {
        statements.push(serde_json::json!({
            "Sid": "AllowInterruptionQueueActions",
            "Effect": "Allow",
            "Resource": "@queue",
            "Action": ["sqs:DeleteMessage", "sqs:GetQueueUrl", "sqs:ReceiveMessage"]
        }));
    }
    serde_json::json!({ "Version": "2012-10-17", "Statement": statements })
}

/// The events Karpenter handles, as its template routes them: rule name
/// suffix, source, detail type.
const EVENTS: &[(&str, &str, &str)] = &[
    ("scheduled-change", "aws.health", "AWS Health Event"),
    (
        "spot-interruption",
        "aws.ec2",
        "EC2 Spot Instance Interruption Warning",
    ),
    (
        "rebalance",
        "aws.ec2",
        "EC2 Instance Rebalance Recommendation",
    ),
    (
        "instance-state-change",
        "aws.ec2",
        "EC2 Instance State-change Notification",
    ),
];

fn karpenter(
    state: &Shared,
    ctx: &NativeCallContext,
    c: &ClusterRef,
    opts: &Dynamic,
) -> Fallible<rhai::Map> {
    let map_opts = opts_arg(ctx, "karpenter", opts, OPTS)?;
    let o = Opts(&map_opts);
    let version = o.str("version").unwrap_or_default();
    let namespace = o.str("namespace").unwrap_or_else(|| "kube-system".into());
    // What it declares is made with the cluster's provider instance.
    let at = c.resource.as_ref().and_then(|a| a.provider.clone());
    let provider = crate::script::api::providers::handle(state, at.as_deref());
    let with_provider = |mut m: rhai::Map| {
        if let Some(p) = &provider {
            m.insert("provider".into(), p.clone());
        }
        m
    };
    let region = match &c.resource {
        Some(a) => state.borrow().region_of(a),
        None => state.borrow().region.clone(),
    };
    let cluster = &c.name;
    let mut out = rhai::Map::new();

    // The nodes' role, its access entry and instance profile.
    let node_role = match o.address("node_role") {
        Some(r) => r,
        None => {
            let aws = "arn:aws:iam::aws:policy/";
            let role_opts = map(vec![
                ("service", text("ec2.amazonaws.com")),
                (
                    "managed_policies",
                    Dynamic::from(
                        [
                            "AmazonEKSWorkerNodePolicy",
                            "AmazonEKS_CNI_Policy",
                            "AmazonEC2ContainerRegistryPullOnly",
                            "AmazonSSMManagedInstanceCore",
                        ]
                        .iter()
                        .map(|p| text(&format!("{aws}{p}")))
                        .collect::<rhai::Array>(),
                    ),
                ),
            ]);
            let name = format!("{cluster}-karpenter-node");
            let role_opts = Dynamic::from(with_provider(role_opts.cast::<rhai::Map>()));
            super::iam::iam_role(state, ctx, &text(&name), &role_opts)?.0
        }
    };
    let node_role_handle = Dynamic::from(IamRole(node_role.clone()));
    super::eks::access_entry::access_entry(
        state,
        ctx,
        c,
        &node_role_handle,
        &map(vec![("type", text("EC2_LINUX"))]),
    )?;
    let profile = super::compute::instance_profile::declare(
        state,
        ctx,
        &format!("{cluster}-karpenter-node"),
        &node_role,
    )?;

    // The interruption queue and the rules that feed it.
    let queue = if o.bool_or("interruption_queue", true) {
        let name = format!("{cluster}-karpenter");
        let q = super::sqs_queue::sqs_queue(
            state,
            ctx,
            &name,
            &with_provider(rhai::Map::from([
                ("retention_seconds".into(), Dynamic::from(300_i64)),
                (
                    "allow_send_from".into(),
                    Dynamic::from(vec![
                        text("events.amazonaws.com"),
                        text("sqs.amazonaws.com"),
                    ]),
                ),
            ])),
        )?;
        let target = Dynamic::from(super::sqs_queue::SqsQueue(q.clone()));
        for (suffix, source, detail) in EVENTS {
            let pattern = map(vec![
                ("source", Dynamic::from(vec![text(source)])),
                ("detail-type", Dynamic::from(vec![text(detail)])),
            ]);
            super::event_rule::event_rule(
                state,
                ctx,
                &format!("{cluster}-karpenter-{suffix}"),
                &with_provider(rhai::Map::from([
                    ("pattern".into(), pattern),
                    ("target".into(), target.clone()),
                    (
                        "description".into(),
                        text(&format!("Karpenter of cluster {cluster}: {detail}")),
                    ),
                ])),
            )?;
        }
        Some(q)
    } else {
        None
    };

    // The controller's role, scoped, and how its service account gets it.
    let doc = controller_policy(cluster, &region, queue.is_some());
    let cluster_arn = match &c.resource {
        Some(a) => attr(a, "arn"),
        None => text(&format!("arn:aws:eks:{region}:*:cluster/{cluster}")),
    };
    let subst = |s: &str| match s {
        "@node_role" => Some(attr(&node_role, "arn")),
        "@queue" => queue.as_ref().map(|q| attr(q, "arn")),
        "@cluster" => Some(cluster_arn.clone()),
        _ => None,
    };
    let policies = map(vec![("karpenter-controller", json_value(&doc, &subst))]);
    let role_name = text(&format!("{cluster}-karpenter"));
    let via = o.str("via").unwrap_or_else(|| "pod_identity".into());
    let mut association = None;
    let controller = if via == "irsa" {
        let role = super::eks::irsa_role(
            state,
            ctx,
            c,
            &role_name,
            &map(vec![
                ("namespace", text(&namespace)),
                ("service_account", text(SERVICE_ACCOUNT)),
                ("inline_policies", policies),
            ]),
        )?;
        role.0
    } else {
        let role = pod_identity_role(
            state,
            ctx,
            &role_name,
            &Dynamic::from(with_provider(
                map(vec![("inline_policies", policies)]).cast::<rhai::Map>(),
            )),
        )?;
        let made = associate(
            state,
            ctx,
            c,
            &namespace,
            SERVICE_ACCOUNT,
            &Dynamic::from(role.clone()),
            &rhai::Map::new(),
        )?;
        association = Some(made.0);
        role.0
    };

    // The release, after all of it.
    let mut settings = vec![("clusterName", text(cluster))];
    if let Some(a) = &c.resource {
        settings.push(("clusterEndpoint", attr(a, "endpoint")));
    }
    if let Some(q) = &queue {
        settings.push(("interruptionQueue", attr(q, "name")));
    }
    let mut service_account = vec![("name", text(SERVICE_ACCOUNT))];
    if via == "irsa" {
        service_account.push((
            "annotations",
            map(vec![(
                "eks.amazonaws.com/role-arn",
                attr(&controller, "arn"),
            )]),
        ));
    }
    let mut values = rhai::Map::new();
    values.insert("settings".into(), map(settings));
    values.insert("serviceAccount".into(), map(service_account));
    if let Some(extra) = o
        .get("values")
        .and_then(|v| v.read_lock::<rhai::Map>().map(|m| m.clone()))
    {
        super::backups::merge(&mut values, extra);
    }
    let (chart, repo) = match o.str("repo") {
        Some(repo) => ("karpenter".to_string(), Some(repo)),
        None => (CHART.to_string(), None),
    };
    let mut release_opts = vec![
        ("namespace", text(&namespace)),
        ("chart", text(&chart)),
        ("version", text(&version)),
        ("values", Dynamic::from(values)),
    ];
    if let Some(r) = repo {
        release_opts.push(("repo", text(&r)));
    }
    let release: HelmRelease =
        super::helm_release::helm_release(state, ctx, c, &text("karpenter"), &map(release_opts))?;
    // What the controller needs exists before it starts.
    {
        let mut st = state.borrow_mut();
        let Some(r) = st.graph.get_mut(&release.0) else {
            return Err(fail(
                ctx,
                Problem::new("karpenter: its release was not declared"),
            ));
        };
        r.depends_on.insert(controller.clone());
        r.depends_on.insert(profile.clone());
        r.depends_on.extend(association.clone());
        r.depends_on.extend(queue.iter().cloned());
        let fact = st.fact_mut::<Installed>(&Address::new(super::eks::cluster::KIND, cluster));
        fact.release = Some(release.0.clone());
        // What the controller acts with, which must outlive the nodes it
        // terminates.
        fact.acts_with = std::iter::once(controller.clone())
            .chain(association.clone())
            .chain(queue.clone())
            .collect();
    }

    out.insert("node_role".into(), node_role_handle);
    out.insert("controller_role".into(), Dynamic::from(IamRole(controller)));
    out.insert(
        "instance_profile".into(),
        Dynamic::from(super::compute::instance_profile::InstanceProfileHandle(
            profile,
        )),
    );
    out.insert(
        "queue".into(),
        queue
            .map(|q| Dynamic::from(super::sqs_queue::SqsQueue(q)))
            .unwrap_or(Dynamic::UNIT),
    );
    out.insert("release".into(), Dynamic::from(release));
    Ok(out)
}

/// Karpenter's release on a cluster (keyed by the cluster's address,
/// declared or not), once `c.karpenter(...)` declared it.
#[derive(Default)]
pub struct Installed {
    pub release: Option<Address>,
    /// The controller's role, its Pod Identity association and its queue.
    pub acts_with: Vec<Address>,
}

/// The Karpenter release declared on cluster `name`, which its node pools
/// and node classes come after.
pub fn release_of(state: &Shared, name: &str) -> Option<Address> {
    state
        .borrow()
        .fact::<Installed>(&Address::new(super::eks::cluster::KIND, name))
        .and_then(|f| f.release.clone())
}

/// What the Karpenter controller of cluster `name` acts with (its role,
/// Pod Identity association and queue), which node pools are deleted
/// before.
pub fn acts_with(state: &Shared, name: &str) -> Vec<Address> {
    state
        .borrow()
        .fact::<Installed>(&Address::new(super::eks::cluster::KIND, name))
        .map(|f| f.acts_with.clone())
        .unwrap_or_default()
}
