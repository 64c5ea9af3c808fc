//! Kubernetes objects: plan, apply, no-op, change, prune and destroy on
//! the Kubernetes emulator (with moto for the AWS half), each step checked
//! with the real kubectl.

use crate::harness::Test;
use crate::kube::Kube;
use crate::moto::Moto;

const OBJECTS: &str = r#"
let c = existing_cluster("demo");
let ns = c.namespace("shop", #{ labels: #{ team: var("team", "core") } });
ns.config_map("settings", #{ data: #{ mode: var("mode", "prod"), level: "3" } });
ns.secret("db", #{ data: #{ password: var("password", "s3cret-PLAIN-1") } });
ns.service_account("api", #{ labels: #{ app: "api" } });
ns.network_policy("default-deny", #{ policy_types: ["Ingress", "Egress"] });
ns.network_policy("allow-web", #{
    pod_selector: #{ matchLabels: #{ app: "api" } },
    policy_types: ["Ingress"],
    ingress: [#{ from: [#{ namespaceSelector: #{ matchLabels: #{ "kubernetes.io/metadata.name": "web" } } }],
                 ports: [#{ protocol: "TCP", port: 8080 }, #{ port: 9090 }] }],
});
let dev = ns.role("dev", #{ rules: [#{ apiGroups: [""], resources: ["pods", "pods/log"], verbs: ["get", "list"] }] });
ns.role_binding("dev", #{ role: dev, subjects: [#{ kind: "Group", name: "developers" }] });
let reader = c.cluster_role("reader", #{ rules: [#{ apiGroups: [""], resources: ["namespaces"], verbs: ["get", "list"] }] });
c.cluster_role_binding("reader", #{ role: reader, subjects: [#{ kind: "Group", name: "auditors" }] });
c.storage_class("gp3", #{ parameters: #{ type: "gp3", encrypted: "true" }, default: true,
                          volume_binding_mode: "WaitForFirstConsumer", allow_expansion: true });
if var("extra", "no") == "yes" {
    ns.config_map("extra", #{ data: #{ a: "1" } });
}
"#;

struct Env {
    moto: Moto,
    kube: Kube,
    dir: tempfile::TempDir,
}

impl Env {
    fn new(script: &str) -> Env {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("bp.rhai"), script).unwrap();
        Env {
            moto: Moto::start(),
            kube: Kube::start(&["demo"]),
            dir,
        }
    }

    /// Runs `bp` with the emulators; returns stdout and stderr together.
    fn bp(&self, args: &[&str], status: i32) -> String {
        let kubeconfig = self.kube.kubeconfig_arg();
        let mut all: Vec<&str> = args.to_vec();
        if matches!(args[0], "plan" | "apply" | "destroy") {
            all.extend(["--kubeconfig", &kubeconfig]);
        }
        let out = Test::new()
            .current_dir(self.dir.path())
            .moto(&self.moto)
            .args(all)
            .status(status)
            .run();
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    }
}

fn decoded(secret: &serde_json::Value, key: &str) -> String {
    use base64::Engine as _;
    let b64 = secret["data"][key].as_str().unwrap_or_default();
    String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap(),
    )
    .unwrap()
}

#[test]
fn objects_plan_apply_converge_change_prune_and_destroy() {
    let env = Env::new(OBJECTS);
    let k = &env.kube;

    // Plan: every object is a create; the Secret's value never shows.
    let out = env.bp(
        &[
            "plan",
            "bp.rhai",
            "--detailed-exitcode",
            "--var",
            "extra=yes",
        ],
        2,
    );
    for a in [
        "+ namespace.demo/shop",
        "+ config_map.demo/shop/settings",
        "+ secret.demo/shop/db",
        "+ service_account.demo/shop/api",
        "+ network_policy.demo/shop/allow-web",
        "+ role_binding.demo/shop/dev",
        "+ cluster_role_binding.demo/reader",
        "+ storage_class.demo/gp3",
        "data.password = (sensitive)",
        "Plan: 12 to add",
    ] {
        assert!(out.contains(a), "{a} missing from:\n{out}");
    }
    assert!(!out.contains("s3cret-PLAIN"), "{out}");
    for args in [
        &["plan", "bp.rhai", "--json", "--var", "extra=yes"][..],
        &["plan", "bp.rhai", "-o", "saved.json", "--var", "extra=yes"][..],
    ] {
        let out = env.bp(args, 0);
        assert!(!out.contains("s3cret-PLAIN"), "{out}");
    }
    let saved = std::fs::read_to_string(env.dir.path().join("saved.json")).unwrap();
    assert!(!saved.contains("s3cret-PLAIN"), "{saved}");

    let out = env.bp(
        &["apply", "bp.rhai", "--auto-approve", "--var", "extra=yes"],
        0,
    );
    assert!(out.contains("Apply complete: 12 created"), "{out}");
    assert!(!out.contains("s3cret-PLAIN"), "{out}");

    // What kubectl sees.
    let ns = k.get_json(&["namespace", "shop"]);
    assert_eq!(ns["metadata"]["labels"]["team"], "core");
    assert_eq!(
        ns["metadata"]["labels"]["app.kubernetes.io/managed-by"],
        "blueprint"
    );
    assert_eq!(ns["metadata"]["labels"]["blueprint.dev/name"], "bp");
    assert_eq!(
        ns["metadata"]["annotations"]["blueprint.dev/address"],
        "namespace.demo/shop"
    );
    let secret = k.get_json(&["secret", "db", "-n", "shop", "--show-managed-fields"]);
    assert_eq!(decoded(&secret, "password"), "s3cret-PLAIN-1");
    assert_eq!(secret["type"], "Opaque");
    let managers: Vec<&str> = secret["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["manager"].as_str().unwrap())
        .collect();
    assert_eq!(managers, ["blueprint"]);
    let cm = k.get_json(&["configmap", "settings", "-n", "shop"]);
    assert_eq!(cm["data"]["mode"], "prod");
    let sc = k.get_json(&["storageclass", "gp3"]);
    assert_eq!(sc["provisioner"], "ebs.csi.aws.com");
    assert_eq!(sc["volumeBindingMode"], "WaitForFirstConsumer");
    assert_eq!(sc["allowVolumeExpansion"], true);
    assert_eq!(
        sc["metadata"]["annotations"]["storageclass.kubernetes.io/is-default-class"],
        "true"
    );
    let np = k.get_json(&["networkpolicy", "allow-web", "-n", "shop"]);
    assert_eq!(np["spec"]["podSelector"]["matchLabels"]["app"], "api");
    assert_eq!(np["spec"]["ingress"][0]["ports"][0]["port"], 8080);
    let rb = k.get_json(&["rolebinding", "dev", "-n", "shop"]);
    assert_eq!(rb["roleRef"]["kind"], "Role");
    assert_eq!(rb["roleRef"]["name"], "dev");
    assert_eq!(rb["subjects"][0]["apiGroup"], "rbac.authorization.k8s.io");
    let crb = k.get_json(&["clusterrolebinding", "reader"]);
    assert_eq!(crb["roleRef"]["kind"], "ClusterRole");

    // No-op: one LIST per typed kind, by the owner selector, one read of
    // the index of manifest kinds, one LIST of Helm release records;
    // nothing else.
    let before = k.requests().len();
    let out = env.bp(
        &[
            "plan",
            "bp.rhai",
            "--detailed-exitcode",
            "--var",
            "extra=yes",
        ],
        0,
    );
    assert!(out.contains("No changes. 12 resources match"), "{out}");
    let reads: Vec<String> = k.requests()[before..].to_vec();
    assert_eq!(reads.len(), 12, "{reads:#?}");
    assert!(
        reads
            .iter()
            .any(|r| r.starts_with("GET /api/v1/secrets?labelSelector=owner%3Dhelm%2Capp.kubernetes.io%2Fmanaged-by%3Dblueprint")),
        "{reads:#?}"
    );
    let lists = reads
        .iter()
        .filter(|r| {
            r.starts_with("GET ")
                && r.contains("labelSelector=app.kubernetes.io%2Fmanaged-by%3Dblueprint")
        })
        .count();
    assert_eq!(lists, 10, "{reads:#?}");
    assert!(
        reads.iter().any(|r| r.starts_with(
            "GET /api/v1/namespaces/kube-system/configmaps/blueprint-bp-manifest-kinds "
        )),
        "{reads:#?}"
    );

    // A change: in place, by path; the Secret shows which key changed only.
    let vars = [
        "--var",
        "extra=yes",
        "--var",
        "mode=dev",
        "--var",
        "password=s3cret-PLAIN-2",
    ];
    let mut args = vec!["plan", "bp.rhai", "--detailed-exitcode"];
    args.extend(vars);
    let out = env.bp(&args, 2);
    assert!(out.contains("~ config_map.demo/shop/settings"), "{out}");
    assert!(out.contains("data.mode: \"prod\" -> \"dev\""), "{out}");
    assert!(
        out.contains("data.password: (sensitive) -> (sensitive)"),
        "{out}"
    );
    assert!(out.contains("Plan: 0 to add, 2 to change"), "{out}");
    assert!(!out.contains("s3cret-PLAIN"), "{out}");
    let mut args = vec!["apply", "bp.rhai", "--auto-approve"];
    args.extend(vars);
    env.bp(&args, 0);
    assert_eq!(
        k.get_json(&["configmap", "settings", "-n", "shop"])["data"]["mode"],
        "dev"
    );
    let secret = k.get_json(&["secret", "db", "-n", "shop"]);
    assert_eq!(decoded(&secret, "password"), "s3cret-PLAIN-2");

    // A removal: the object no longer declared is pruned, nothing else.
    let out = env.bp(
        &[
            "apply",
            "bp.rhai",
            "--auto-approve",
            "--var",
            "mode=dev",
            "--var",
            "password=s3cret-PLAIN-2",
        ],
        0,
    );
    assert!(out.contains("- config_map.demo/shop/extra"), "{out}");
    assert!(out.contains("0 created, 0 updated, 1 deleted"), "{out}");
    let gone = k.kubectl_output(&["get", "configmap", "extra", "-n", "shop"]);
    assert!(!gone.status.success());
    assert!(String::from_utf8_lossy(&gone.stderr).contains("NotFound"));

    // Destroy: contents first, the namespace last, waiting until it is gone.
    let out = env.bp(&["destroy", "bp.rhai", "--auto-approve"], 0);
    assert!(out.contains("11 deleted"), "{out}");
    let ns_line = out.find("- namespace.demo/shop: deleted").unwrap();
    let cm_line = out
        .find("- config_map.demo/shop/settings: deleted")
        .unwrap();
    assert!(cm_line < ns_line, "{out}");
    for (kind, name) in [
        ("namespace", "shop"),
        ("storageclass", "gp3"),
        ("clusterrole", "reader"),
        ("clusterrolebinding", "reader"),
    ] {
        assert!(
            !k.kubectl_output(&["get", kind, name]).status.success(),
            "{kind} {name} is still there"
        );
    }
    // Nothing of Kubernetes' own was touched.
    assert!(k
        .kubectl_output(&["get", "namespace", "kube-system"])
        .status
        .success());
}

const ONE_MAP: &str = r#"
let c = existing_cluster("demo");
let ns = c.existing_namespace("default");
ns.config_map("shared", #{ data: #{ mode: "prod" }, adopt: var("adopt", "no") == "yes" });
"#;

/// An object that exists but is not this blueprint's is never taken over
/// silently; `adopt: true` takes it. A field another manager owns is a
/// conflict naming that manager, unless `--force-conflicts`.
#[test]
fn foreign_objects_and_field_conflicts() {
    let env = Env::new(ONE_MAP);
    let k = &env.kube;
    k.kubectl(&[
        "create",
        "configmap",
        "shared",
        "-n",
        "default",
        "--from-literal=mode=dev",
    ]);
    let out = env.bp(&["plan", "bp.rhai"], 1);
    assert!(
        out.contains("config_map.demo/default/shared: it exists in cluster demo and belongs to no blueprint; field managers: kubectl-create"),
        "{out}"
    );
    assert!(out.contains("adopt: true"), "{out}");
    assert_eq!(k.get_json(&["configmap", "shared"])["data"]["mode"], "dev");

    // Adopted: now it is this blueprint's.
    env.bp(
        &["apply", "bp.rhai", "--auto-approve", "--var", "adopt=yes"],
        0,
    );
    let cm = k.get_json(&["configmap", "shared"]);
    assert_eq!(cm["data"]["mode"], "prod");
    assert_eq!(
        cm["metadata"]["labels"]["app.kubernetes.io/managed-by"],
        "blueprint"
    );
    let out = env.bp(&["plan", "bp.rhai", "--detailed-exitcode"], 0);
    assert!(out.contains("No changes."), "{out}");

    // Another manager takes the field: the plan shows the change and the
    // server's dry run names the other manager.
    let other = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: shared, namespace: default}\ndata: {mode: staging}\n";
    let file = env.dir.path().join("other.yaml");
    std::fs::write(&file, other).unwrap();
    let file = file.to_string_lossy().into_owned();
    k.kubectl(&[
        "apply",
        "--server-side",
        "--field-manager",
        "intruder",
        "--force-conflicts",
        "-f",
        &file,
    ]);
    let out = env.bp(&["plan", "bp.rhai"], 1);
    assert!(out.contains("conflict with \"intruder\""), "{out}");
    assert!(out.contains("--force-conflicts"), "{out}");
    assert_eq!(
        k.get_json(&["configmap", "shared"])["data"]["mode"],
        "staging"
    );
    let out = env.bp(
        &["apply", "bp.rhai", "--auto-approve", "--force-conflicts"],
        0,
    );
    assert!(out.contains("1 updated"), "{out}");
    assert_eq!(k.get_json(&["configmap", "shared"])["data"]["mode"], "prod");
}

/// The server's own validation appears in the plan, before anything is
/// applied: a dry run of each create and update.
#[test]
fn the_servers_refusal_shows_in_the_plan() {
    let env = Env::new(
        r#"
let c = existing_cluster("demo");
c.existing_namespace("default").config_map("fine", #{ data: #{ a: "1" } });
c.existing_namespace("missing").config_map("lost", #{ data: #{ a: "1" } });
"#,
    );
    let out = env.bp(&["plan", "bp.rhai"], 1);
    assert!(out.contains("1 of the planned changes would fail"), "{out}");
    assert!(
        out.contains("config_map.demo/missing/lost: dry-run apply ConfigMap"),
        "{out}"
    );
    assert!(out.contains("namespaces \"missing\" not found"), "{out}");
    let out = env
        .kube
        .kubectl(&["get", "configmaps", "-n", "default", "-o", "name"]);
    assert!(!out.contains("fine"), "nothing is applied by a plan: {out}");
}

const NEW_CLUSTER: &str = r#"
let v = vpc("demo", #{
    cidr: "10.0.0.0/16",
    azs: 2,
    public_subnets: ["10.0.1.0/24", "10.0.2.0/24"],
    private_subnets: ["10.0.10.0/24", "10.0.11.0/24"],
});
let c = cluster("demo", #{ version: "1.29", vpc: v, subnets: v.private_subnets, irsa: false });
if var("objects", "yes") == "yes" {
    let ns = c.namespace("apps");
    ns.config_map("cluster", #{ data: #{ name: c.name, endpoint: c.endpoint } });
}
"#;

/// A cluster created by the same plan is not read: its objects are creates,
/// with values from the new cluster known after apply. The apply connects
/// to it once it exists (here through the kubeconfig context named after
/// it) and creates them; the next plan reads it and has nothing to do.
#[test]
fn objects_in_a_cluster_the_plan_creates() {
    let env = Env::new(NEW_CLUSTER);
    let out = env.bp(&["plan", "bp.rhai", "--json"], 0);
    let plan: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(plan["unread"][0]["provider"], "kubernetes:demo", "{plan:#}");
    assert_eq!(
        plan["unread"][0]["why"], "cluster demo does not exist yet",
        "{plan:#}"
    );
    let changes = plan["changes"].as_array().unwrap();
    let ns = changes
        .iter()
        .find(|c| c["address"] == "namespace.demo/apps")
        .unwrap();
    assert_eq!(ns["provider"], "kubernetes:demo");
    assert_eq!(ns["action"], "create");
    let cluster = changes
        .iter()
        .find(|c| c["address"] == "cluster.demo")
        .unwrap();
    assert_eq!(cluster["provider"], "aws:us-east-1");
    assert!(env.kube.requests().is_empty(), "{:?}", env.kube.requests());

    let out = env.bp(&["plan", "bp.rhai"], 0);
    assert!(
        out.contains("Not read: kubernetes:demo (cluster demo does not exist yet)"),
        "{out}"
    );
    assert!(out.contains("data.endpoint = (known after apply)"), "{out}");

    env.bp(&["apply", "bp.rhai", "--auto-approve"], 0);
    let cm = env.kube.get_json(&["configmap", "cluster", "-n", "apps"]);
    assert_eq!(cm["data"]["name"], "demo");
    assert!(
        cm["data"]["endpoint"]
            .as_str()
            .unwrap()
            .starts_with("https://"),
        "{cm:#}"
    );
    let out = env.bp(&["plan", "bp.rhai", "--detailed-exitcode"], 0);
    assert!(out.contains("No changes."), "{out}");
    assert!(!out.contains("Not read"), "{out}");

    // `bp kubeconfig` merges an entry for the new cluster into a kubeconfig
    // that kubectl reads, keeping what was there.
    let kc = env.dir.path().join("kc.yaml");
    std::fs::copy(env.kube.kubeconfig(), &kc).unwrap();
    let kc_arg = kc.to_string_lossy().into_owned();
    let out = env.bp(&["kubeconfig", "bp.rhai", "-o", &kc_arg], 0);
    assert!(
        out.contains("Wrote context arn:aws:eks:us-east-1:"),
        "{out}"
    );
    let view = env
        .kube
        .kubectl_output(&["--kubeconfig", &kc_arg, "config", "view", "-o", "json"]);
    assert!(
        view.status.success(),
        "{}",
        String::from_utf8_lossy(&view.stderr)
    );
    let view: serde_json::Value = serde_json::from_slice(&view.stdout).unwrap();
    let contexts: Vec<&str> = view["contexts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert!(contexts.contains(&"demo"), "{contexts:?}");
    let arn = contexts
        .iter()
        .find(|c| c.starts_with("arn:aws:eks:us-east-1:") && c.ends_with(":cluster/demo"))
        .expect("a context named after the cluster's ARN");
    let user = view["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["name"] == *arn)
        .unwrap();
    let exec = &user["user"]["exec"];
    assert_eq!(
        exec["command"],
        crate::harness::bp().to_string_lossy().as_ref()
    );
    assert_eq!(
        exec["args"],
        serde_json::json!(["eks-token", "--cluster", "demo", "--region", "us-east-1"])
    );
    let cluster = view["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == *arn)
        .unwrap();
    assert!(
        cluster["cluster"]["server"]
            .as_str()
            .unwrap()
            .starts_with("https://"),
        "{cluster:#}"
    );

    // With no object declared in the cluster any more, what was there is
    // still found and pruned.
    let out = env.bp(&["plan", "bp.rhai", "--var", "objects=no"], 0);
    assert!(out.contains("- namespace.demo/apps"), "{out}");
    assert!(out.contains("- config_map.demo/apps/cluster"), "{out}");

    // Destroy deletes the objects before the cluster they live in.
    let out = env.bp(&["destroy", "bp.rhai", "--auto-approve"], 0);
    let ns_done = out.find("- namespace.demo/apps: deleted").unwrap();
    let cluster_start = out.find("- cluster.demo: deleting").unwrap();
    assert!(ns_done < cluster_start, "{out}");
}

const MANIFESTS: &str = r#"
let c = existing_cluster("demo");
let ns = c.namespace("pms");
ns.manifest(#{
    apiVersion: "autoscaling/v2", kind: "HorizontalPodAutoscaler", metadata: #{ name: "api" },
    spec: #{ scaleTargetRef: #{ apiVersion: "apps/v1", kind: "Deployment", name: "api" },
             minReplicas: 2, maxReplicas: var("max", 10) },
});
if var("widgets", "yes") == "yes" { c.manifests("widgets.yaml"); }
"#;

const WIDGETS: &str = "\
# a custom resource before the CRD that defines it
apiVersion: example.com/v1
kind: Widget
metadata:
  name: w1
  namespace: pms
  labels: {size: large}
spec:
  size: 3
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget}
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
";

/// Manifests: any kind, CRDs and their custom resources from a YAML file
/// (the CRD first, Established before its resources), changes by path,
/// pruning, and destroy in reverse.
#[test]
fn manifests_crds_and_custom_resources() {
    let env = Env::new(MANIFESTS);
    std::fs::write(env.dir.path().join("widgets.yaml"), WIDGETS).unwrap();
    let k = &env.kube;
    let out = env.bp(&["apply", "bp.rhai", "--auto-approve"], 0);
    assert!(out.contains("Apply complete: 4 created"), "{out}");
    let crd_done = out
        .find("+ manifest.demo/CustomResourceDefinition/widgets.example.com: created")
        .unwrap();
    let cr_start = out.find("+ manifest.demo/pms/Widget/w1: creating").unwrap();
    assert!(crd_done < cr_start, "{out}");
    let w = k.get_json(&["widgets", "w1", "-n", "pms"]);
    assert_eq!(w["spec"]["size"], 3);
    assert_eq!(w["metadata"]["labels"]["size"], "large");
    assert_eq!(
        w["metadata"]["annotations"]["blueprint.dev/address"],
        "manifest.demo/pms/Widget/w1"
    );
    let hpa = k.get_json(&["hpa", "api", "-n", "pms"]);
    assert_eq!(hpa["spec"]["maxReplicas"], 10);
    let out = env.bp(&["plan", "bp.rhai", "--detailed-exitcode"], 0);
    assert!(out.contains("No changes. 4 resources"), "{out}");

    let out = env.bp(&["plan", "bp.rhai", "--var", "max=12"], 0);
    assert!(
        out.contains("~ manifest.demo/pms/HorizontalPodAutoscaler/api"),
        "{out}"
    );
    assert!(out.contains("content.spec.maxReplicas: 10 -> 12"), "{out}");

    // The file's objects are no longer declared: pruned, resources first.
    let out = env.bp(
        &["apply", "bp.rhai", "--auto-approve", "--var", "widgets=no"],
        0,
    );
    assert!(out.contains("0 created, 0 updated, 2 deleted"), "{out}");
    let cr_done = out.find("- manifest.demo/pms/Widget/w1: deleted").unwrap();
    let crd_start = out
        .find("- manifest.demo/CustomResourceDefinition/widgets.example.com: deleting")
        .unwrap();
    assert!(cr_done < crd_start, "{out}");
    assert!(!k
        .kubectl_output(&["get", "crd", "widgets.example.com"])
        .status
        .success());

    let out = env.bp(
        &[
            "destroy",
            "bp.rhai",
            "--auto-approve",
            "--var",
            "widgets=no",
        ],
        0,
    );
    assert!(out.contains("2 deleted"), "{out}");
    assert!(!k
        .kubectl_output(&["get", "hpa", "api", "-n", "pms"])
        .status
        .success());
    // The index of manifest kinds goes with the last of them.
    let cms = k.kubectl(&["get", "configmaps", "-n", "kube-system", "-o", "name"]);
    assert!(!cms.contains("blueprint-"), "{cms}");
}

/// Manifests are checked before any call: apiVersion, kind, metadata.name,
/// and the namespace a built-in kind needs.
#[test]
fn bad_manifests_are_errors_before_any_call() {
    for (script, message) in [
        (
            r#"existing_cluster("demo").manifest(#{ kind: "Deployment", metadata: #{ name: "x", namespace: "a" } });"#,
            "manifest: `apiVersion` is missing or not a string",
        ),
        (
            r#"existing_cluster("demo").manifest(#{ apiVersion: "apps/v1", kind: "Deployment", metadata: #{ name: "x" } });"#,
            "manifest (Deployment x): a namespaced kind needs `metadata.namespace`",
        ),
        (
            r#"existing_cluster("demo").manifest(#{ apiVersion: "v1", kind: "Namespace", metadata: #{ name: "Bad_Name" } });"#,
            "manifest (Namespace Bad_Name): `Bad_Name` is not a valid object name",
        ),
        (
            r#"existing_cluster("demo").namespace("kube-system");"#,
            "the namespace `kube-system` belongs to Kubernetes",
        ),
        (
            r#"existing_cluster("demo").namespace("a").manifest(#{ apiVersion: "v1", kind: "Secret", metadata: #{ name: "s" }, stringData: #{ pw: "x" } });"#,
            "manifest (Secret s): Secrets are declared with ns.secret(...)",
        ),
        (
            r#"existing_cluster("demo").namespace("a").config_map("x", #{ data: #{ a: 1 } });"#,
            "option `data` of config_map must be a map of strings, but it is a map whose `a` is the integer 1",
        ),
    ] {
        Test::new()
            .file("bp.rhai", script)
            .args(["check", "bp.rhai"])
            .status(1)
            .stderr_contains(message)
            .run();
    }
    Test::new()
        .file(
            "bp.rhai",
            "existing_cluster(\"demo\").manifests(\"none.yaml\");",
        )
        .args(["check", "bp.rhai"])
        .status(1)
        .stderr_contains("manifests: cannot open \"none.yaml\"")
        .run();
}

/// stdlib k8s: default deny with the usual openings, as network policies.
#[test]
fn stdlib_isolates_a_namespace() {
    let out = Test::new()
        .file(
            "bp.rhai",
            r#"
import "k8s" as k8s;
let ns = existing_cluster("demo").namespace("shop");
k8s::isolate(ns, ["web", "ingress-nginx"]);
"#,
        )
        .args(["check", "bp.rhai", "--json"])
        .run();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let policies: Vec<&serde_json::Value> = v["resources"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["kind"] == "network_policy")
        .collect();
    let names: Vec<&str> = policies
        .iter()
        .map(|p| p["address"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "network_policy.demo/shop/default-deny-all",
            "network_policy.demo/shop/allow-intra-namespace",
            "network_policy.demo/shop/allow-dns",
            "network_policy.demo/shop/allow-from-namespaces",
        ]
    );
    let deny = &policies[0]["spec"]["spec"];
    assert_eq!(
        deny["policyTypes"],
        serde_json::json!(["Ingress", "Egress"])
    );
    assert_eq!(deny["podSelector"], serde_json::json!({}));
    let from = &policies[3]["spec"]["spec"]["ingress"][0]["from"][0]["namespaceSelector"];
    assert_eq!(
        from["matchExpressions"][0]["values"],
        serde_json::json!(["web", "ingress-nginx"])
    );
    assert!(policies
        .iter()
        .all(|p| p["depends_on"] == serde_json::json!(["namespace.demo/shop"])));
}

/// `bp eks-token` is a credential plugin kubectl runs: its token is the
/// presigned STS GetCallerIdentity URL of `aws eks get-token`, and kubectl
/// sends it to the cluster.
#[test]
fn eks_token_is_a_credential_plugin_kubectl_runs() {
    use base64::Engine as _;
    let kube = Kube::start(&["demo"]);
    let out = Test::new()
        .env("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
        .env(
            "AWS_SECRET_ACCESS_KEY",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        )
        .env("AWS_CONFIG_FILE", "/nonexistent")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
        .args(["eks-token", "--cluster", "demo", "--region", "eu-west-1"])
        .run();
    let cred: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(cred["kind"], "ExecCredential");
    assert_eq!(cred["apiVersion"], "client.authentication.k8s.io/v1beta1");
    assert!(cred["status"]["expirationTimestamp"]
        .as_str()
        .unwrap()
        .ends_with('Z'));
    let token = cred["status"]["token"].as_str().unwrap();
    let url = token
        .strip_prefix("k8s-aws-v1.")
        .expect("the EKS token prefix");
    let url = String::from_utf8(
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(url)
            .unwrap(),
    )
    .unwrap();
    for part in [
        "https://sts.eu-west-1.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15",
        "X-Amz-Credential=AKIDEXAMPLE%2F",
        "X-Amz-Expires=60",
        "X-Amz-SignedHeaders=host%3Bx-k8s-aws-id",
        "X-Amz-Signature=",
    ] {
        assert!(url.contains(part), "{part} missing from {url}");
    }

    // kubectl runs it from a kubeconfig and reaches the cluster with it.
    let emulator: serde_json::Value =
        serde_json::from_str(&kube.kubectl(&["config", "view", "--raw", "-o", "json"])).unwrap();
    let cluster = &emulator["clusters"][0]["cluster"];
    let config = serde_json::json!({
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": "demo", "cluster": cluster}],
        "users": [{"name": "demo", "user": {"exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": crate::harness::bp(),
            "args": ["eks-token", "--cluster", "demo", "--region", "us-east-1"],
            "env": [
                {"name": "AWS_ACCESS_KEY_ID", "value": "AKIDEXAMPLE"},
                {"name": "AWS_SECRET_ACCESS_KEY", "value": "secret"},
                {"name": "AWS_CONFIG_FILE", "value": "/nonexistent"},
            ],
            "interactiveMode": "Never",
        }}}],
        "contexts": [{"name": "demo", "context": {"cluster": "demo", "user": "demo"}}],
        "current-context": "demo",
    });
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kubeconfig");
    std::fs::write(&path, config.to_string()).unwrap();
    let path = path.to_string_lossy().into_owned();
    let out = kube.kubectl_output(&["--kubeconfig", &path, "get", "namespaces", "-o", "name"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("namespace/kube-system"));
}

/// Opt-in, against a real cluster: `BP_E2E_KUBECONFIG=path BP_E2E_CONTEXT=ctx
/// cargo test -- --ignored real_cluster`. AWS stays on the local emulator;
/// the objects go to a namespace of their own (`bp-e2e-<pid>`), which the
/// test destroys at the end.
#[test]
#[ignore = "needs a real cluster: set BP_E2E_KUBECONFIG"]
fn real_cluster_plan_apply_and_destroy() {
    let Some(kubeconfig) = std::env::var_os("BP_E2E_KUBECONFIG") else {
        panic!("set BP_E2E_KUBECONFIG to the kubeconfig of a disposable cluster");
    };
    let kubeconfig = kubeconfig.to_string_lossy().into_owned();
    let moto = Moto::start();
    let ns = format!("bp-e2e-{}", std::process::id());
    let script = format!(
        r#"
let c = existing_cluster("e2e");
let ns = c.namespace("{ns}", #{{ labels: #{{ purpose: "blueprint-e2e" }} }});
ns.config_map("settings", #{{ data: #{{ mode: var("mode", "one") }} }});
ns.secret("token", #{{ data: #{{ value: "e2e-PLAIN" }} }});
ns.network_policy("default-deny", #{{ policy_types: ["Ingress", "Egress"] }});
"#
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bp.rhai"), script).unwrap();
    let ctx = std::env::var("BP_E2E_CONTEXT")
        .expect("set BP_E2E_CONTEXT to the kubeconfig context of the cluster");
    let context = [
        "--kubeconfig".to_string(),
        kubeconfig,
        "--kube-context".to_string(),
        format!("e2e={ctx}"),
    ];
    let run = |args: &[&str], status: i32| {
        let mut all: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        all.extend(context.iter().cloned());
        let out = Test::new()
            .current_dir(dir.path())
            .moto(&moto)
            .args(all)
            .status(status)
            .run();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!text.contains("e2e-PLAIN"), "{text}");
        text
    };
    run(&["plan", "bp.rhai", "--detailed-exitcode"], 2);
    let out = run(&["apply", "bp.rhai", "--auto-approve"], 0);
    assert!(out.contains("4 created"), "{out}");
    let out = run(&["plan", "bp.rhai", "--detailed-exitcode"], 0);
    assert!(out.contains("No changes."), "{out}");
    let out = run(
        &["apply", "bp.rhai", "--auto-approve", "--var", "mode=two"],
        0,
    );
    assert!(out.contains("1 updated"), "{out}");
    let out = run(&["destroy", "bp.rhai", "--auto-approve"], 0);
    assert!(out.contains("4 deleted"), "{out}");
}

/// Objects that run pods come after the node groups of the cluster they run
/// on; other objects need only the cluster.
#[test]
fn workloads_wait_for_node_groups() {
    let out = Test::new()
        .file(
            "bp.rhai",
            r#"
let v = vpc("demo", #{ cidr: "10.0.0.0/16", azs: 2,
    public_subnets: ["10.0.1.0/24", "10.0.2.0/24"], private_subnets: ["10.0.10.0/24", "10.0.11.0/24"] });
let c = cluster("demo", #{ version: "1.29", vpc: v, subnets: v.private_subnets, irsa: false });
c.node_group("app", #{ instance_types: ["m6i.large"], min: 1, max: 3, desired: 1 });
let ns = c.namespace("apps");
ns.manifest(#{ apiVersion: "apps/v1", kind: "Deployment", metadata: #{ name: "web" },
    spec: #{ selector: #{ matchLabels: #{ app: "web" } },
             template: #{ metadata: #{ labels: #{ app: "web" } },
                          spec: #{ containers: [#{ name: "web", image: "nginx" }] } } } });
ns.config_map("settings", #{ data: #{ a: "1" } });
"#,
        )
        .args(["check", "bp.rhai", "--json"])
        .run();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let deps = |a: &str| -> Vec<String> {
        v["resources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["address"] == a)
            .unwrap()["depends_on"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_str().unwrap().to_string())
            .collect()
    };
    let web = deps("manifest.demo/apps/Deployment/web");
    assert!(web.contains(&"node_group.demo/app".to_string()), "{web:?}");
    assert!(web.contains(&"namespace.demo/apps".to_string()), "{web:?}");
    let cm = deps("config_map.demo/apps/settings");
    assert!(!cm.contains(&"node_group.demo/app".to_string()), "{cm:?}");
    assert!(cm.contains(&"cluster.demo".to_string()), "{cm:?}");
}

/// The trust documents of the emulator's IAM roles, read with boto3.
fn trust_documents(moto: &Moto) -> serde_json::Value {
    let script = format!(
        "import boto3, json\n\
c = boto3.client('iam', endpoint_url='{}', region_name='us-east-1', aws_access_key_id='t', aws_secret_access_key='t')\n\
print(json.dumps({{r['RoleName']: r['AssumeRolePolicyDocument'] for r in c.list_roles()['Roles']}}))",
        moto.url
    );
    let out = std::process::Command::new(crate::harness::repo().join(".venv/bin/python"))
        .args(["-c", &script])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The service accounts that assume a role, by their `sub` condition.
fn subjects(doc: &serde_json::Value) -> Vec<String> {
    let mut out: Vec<String> = doc["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| {
            s["Condition"]["StringEquals"]
                .as_object()?
                .iter()
                .find(|(k, _)| k.ends_with(":sub"))
                .and_then(|(_, v)| v.as_str().map(str::to_string))
        })
        .collect();
    out.sort();
    out
}

const ROLES: &str = r#"
let v = vpc("demo", #{ cidr: "10.0.0.0/16", azs: 2,
    public_subnets: ["10.0.1.0/24", "10.0.2.0/24"], private_subnets: ["10.0.10.0/24", "10.0.11.0/24"] });
let c = cluster("demo", #{ version: "1.29", vpc: v, subnets: v.private_subnets });
let plain = iam_role("reader", #{ service: "ec2.amazonaws.com" });
let api = c.irsa_role("api", #{ namespace: "apps", service_account: "api" });
let ns = c.namespace("apps");
ns.service_account("api", #{ role: api });
if var("worker", "yes") == "yes" { ns.service_account("worker", #{ role: api }); }
ns.service_account("reader", #{ role: plain });
"#;

/// A service account given a role annotates itself with the role's ARN and
/// is added to the role's trust: an IRSA role declared for it already
/// trusts it; another role gets a statement for it.
#[test]
fn service_accounts_join_their_roles_trust() {
    let env = Env::new(ROLES);
    env.bp(&["apply", "bp.rhai", "--auto-approve"], 0);
    let docs = trust_documents(&env.moto);
    assert_eq!(
        subjects(&docs["api"]),
        [
            "system:serviceaccount:apps:api",
            "system:serviceaccount:apps:worker"
        ],
        "{docs:#}"
    );
    assert_eq!(
        subjects(&docs["reader"]),
        ["system:serviceaccount:apps:reader"],
        "{docs:#}"
    );
    let services: Vec<&serde_json::Value> = docs["reader"]["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["Principal"]["Service"] == "ec2.amazonaws.com")
        .collect();
    assert_eq!(services.len(), 1, "the role's own trust stays: {docs:#}");
    let sa = env
        .kube
        .get_json(&["serviceaccount", "reader", "-n", "apps"]);
    assert!(
        sa["metadata"]["annotations"]["eks.amazonaws.com/role-arn"]
            .as_str()
            .unwrap()
            .ends_with("/reader"),
        "{sa:#}"
    );
    let out = env.bp(&["plan", "bp.rhai", "--detailed-exitcode"], 0);
    assert!(out.contains("No changes."), "{out}");

    // Without the worker, its statement leaves the role's trust.
    let out = env.bp(
        &["apply", "bp.rhai", "--auto-approve", "--var", "worker=no"],
        0,
    );
    assert!(out.contains("~ iam_role.api"), "{out}");
    assert!(out.contains("- service_account.demo/apps/worker"), "{out}");
    let docs = trust_documents(&env.moto);
    assert_eq!(
        subjects(&docs["api"]),
        ["system:serviceaccount:apps:api"],
        "{docs:#}"
    );
}

/// On a terminal, a namespace's deletion shows on the live view while the
/// server finishes it (the emulator keeps it Terminating for 4 seconds),
/// with its elapsed time; the destroy ends when the namespace is gone.
#[test]
fn namespace_deletion_waits_on_the_live_view() {
    let moto = Moto::start();
    let kube = Kube::start_with(&["demo"], &["--namespace-finalize-seconds", "4"]);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bp.rhai"),
        "let c = existing_cluster(\"demo\");\nc.namespace(\"going\");\n",
    )
    .unwrap();
    let kubeconfig = kube.kubeconfig_arg();
    Test::new()
        .current_dir(dir.path())
        .moto(&moto)
        .args([
            "apply",
            "bp.rhai",
            "--auto-approve",
            "--kubeconfig",
            &kubeconfig,
        ])
        .run();
    let args = [
        "destroy",
        "bp.rhai",
        "--auto-approve",
        "--kubeconfig",
        &kubeconfig,
    ];
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let mut p = crate::harness::on_terminal(dir.path(), &args, &moto.env());
    p.exp_regex(r"waiting for namespace\.demo/going to be deleted,? \d+s")
        .unwrap();
    p.exp_string("- namespace.demo/going: deleted").unwrap();
    p.exp_eof().unwrap();
    assert!(
        !kube.kubectl(&["get", "namespaces"]).contains("going"),
        "the namespace is gone"
    );
}

/// Behind a corporate CONNECT proxy (`HTTPS_PROXY`), clusters are reached
/// through it; `NO_PROXY` naming the API server's host goes direct.
#[test]
fn clusters_are_reached_through_https_proxy_unless_no_proxy_names_them() {
    let env = Env::new("let c = existing_cluster(\"demo\");\nc.namespace(\"proxied\");\n");
    let d = env.dir.path();
    let proxy = crate::proxy::Proxy::start();
    let proxy_url = proxy.url.clone();
    let kubeconfig = env.kube.kubeconfig_arg();
    let bp = |args: &[&str], extra: &[(&str, &str)]| {
        let mut t = Test::new()
            .current_dir(d)
            .moto(&env.moto)
            .args(args.iter().copied())
            .args(["--kubeconfig", &kubeconfig])
            .env("HTTPS_PROXY", &proxy_url);
        for (k, v) in extra {
            t = t.env(k, v);
        }
        let out = t.run();
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    let tunnels = || proxy.count("CONNECT 127.0.0.1:");
    bp(&["apply", "bp.rhai", "--auto-approve"], &[]);
    assert!(tunnels() > 0, "nothing went through the proxy");
    assert_eq!(
        String::from_utf8_lossy(
            &env.kube
                .kubectl_output(&["get", "namespace", "proxied", "-o", "name"])
                .stdout
        )
        .trim(),
        "namespace/proxied"
    );
    let before = tunnels();
    let out = bp(
        &["plan", "bp.rhai", "--detailed-exitcode"],
        &[("NO_PROXY", "localhost,127.0.0.1")],
    );
    assert!(out.contains("No changes."), "{out}");
    assert_eq!(tunnels(), before, "NO_PROXY was not honoured");

    // A cluster's own proxy-url in the kubeconfig is used as it is, even
    // where NO_PROXY names the host and no HTTPS_PROXY is set.
    let mut kc: serde_json::Value =
        serde_saphyr::from_str(&std::fs::read_to_string(env.kube.kubeconfig()).unwrap()).unwrap();
    for c in kc["clusters"].as_array_mut().unwrap() {
        c["cluster"]["proxy-url"] = serde_json::Value::String(proxy_url.clone());
    }
    let own = d.join("proxied-kubeconfig");
    std::fs::write(&own, kc.to_string()).unwrap();
    let out = Test::new()
        .current_dir(d)
        .moto(&env.moto)
        .args(["plan", "bp.rhai", "--detailed-exitcode", "--kubeconfig"])
        .args([own.to_string_lossy().into_owned()])
        .env("NO_PROXY", "localhost,127.0.0.1")
        .run();
    let out = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.contains("No changes."), "{out}");
    assert!(
        tunnels() > before,
        "the kubeconfig's proxy-url was not used"
    );
}

/// Destroy after controllers, in the cluster: before the cluster goes, its
/// Services of type LoadBalancer and its Ingresses (made here by hand, as
/// an application team would) are deleted first, while the load balancer
/// controller still runs, each named; other Services stay for the cluster's
/// own deletion.
#[test]
fn destroy_deletes_load_balancer_services_and_ingresses_first() {
    let env = Env::new(NEW_CLUSTER);
    env.bp(&["apply", "bp.rhai", "--auto-approve"], 0);
    let dir = env.dir.path();
    let objects = "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: default}\nspec: {type: LoadBalancer, ports: [{port: 80}], selector: {app: web}}\n---\n\
apiVersion: v1\nkind: Service\nmetadata: {name: internal, namespace: default}\nspec: {type: ClusterIP, ports: [{port: 80}], selector: {app: web}}\n---\n\
apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: shop, namespace: default}\nspec: {defaultBackend: {service: {name: internal, port: {number: 80}}}}\n";
    std::fs::write(dir.join("objects.yaml"), objects).unwrap();
    env.kube
        .kubectl(&["apply", "-f", &dir.join("objects.yaml").to_string_lossy()]);
    let out = env.bp(&["destroy", "bp.rhai", "--auto-approve"], 0);
    for line in [
        "- cluster.demo: first deleting Service default/web, so that its controller removes the load balancer it made",
        "- cluster.demo: first deleting Ingress default/shop, so that its controller removes the load balancer it made",
    ] {
        assert!(out.contains(line), "no `{line}` in\n{out}");
    }
    // Before anything else of the destroy.
    let first = out.find("first deleting").unwrap();
    let other = out.find(": deleting...").unwrap();
    assert!(first < other, "{out}");
    assert!(!out.contains("Service default/internal"), "{out}");
    let left = env
        .kube
        .kubectl(&["get", "services,ingresses", "-n", "default", "-o", "name"]);
    assert!(
        !left.contains("service/web") && !left.contains("ingress"),
        "{left}"
    );
    assert!(left.contains("service/internal"), "{left}");
}

/// A cluster whose RBAC refuses to list a kind: a plan that declares no
/// object of that kind there goes on with a warning naming it; one that
/// declares one fails naming it; `--strict` fails either way.
#[test]
fn a_kind_the_clusters_rbac_will_not_list_is_a_warning_unless_declared() {
    let dir = tempfile::tempdir().unwrap();
    let script = "let c = existing_cluster(\"demo\");\n\
                  let ns = c.namespace(\"apps\");\n\
                  ns.config_map(\"settings\", #{ data: #{ mode: \"prod\" } });\n\
                  if var(\"policy\", \"no\") == \"yes\" {\n\
                      ns.network_policy(\"default-deny\", #{ policy_types: [\"Ingress\"] });\n\
                  }\n";
    std::fs::write(dir.path().join("bp.rhai"), script).unwrap();
    let env = Env {
        moto: Moto::start(),
        kube: Kube::start_with(&["demo"], &["--forbid-list", "networkpolicies"]),
        dir,
    };
    let out = env.bp(&["plan", "bp.rhai", "--detailed-exitcode"], 2);
    assert!(
        out.contains(
            "Warning: cannot list network_policy in cluster demo (list networkpolicies in demo:"
        ),
        "{out}"
    );
    assert!(out.contains("403"), "{out}");
    assert!(
        out.contains("cannot list resource \"networkpolicies\""),
        "{out}"
    );
    assert!(out.contains("Plan: 2 to add"), "{out}");
    let json: serde_json::Value =
        serde_json::from_str(&env.bp(&["plan", "bp.rhai", "--json"], 0)).unwrap();
    assert_eq!(
        json["unlisted"][0]["kind"], "network_policy in cluster demo",
        "{json}"
    );
    env.bp(&["apply", "bp.rhai", "--auto-approve"], 0);
    env.bp(&["plan", "bp.rhai", "--detailed-exitcode"], 0);

    let out = env.bp(&["plan", "bp.rhai", "--strict"], 1);
    assert!(
        out.contains("cannot list network_policy in cluster demo") && out.contains("--strict"),
        "{out}"
    );
    let out = env.bp(&["plan", "bp.rhai", "--var", "policy=yes"], 1);
    assert!(
        out.contains("cannot list network_policy in cluster demo")
            && out.contains("which the blueprint declares"),
        "{out}"
    );
    assert!(
        out.contains("grant the credentials' Kubernetes user the list verb"),
        "{out}"
    );
}
