//! Benchmark of in-cluster objects against the Kubernetes emulator (`cargo
//! bench --bench kube`; run scripts/setup.sh first): a blueprint of 300
//! objects over 10 kinds in an existing cluster, applied from empty, then
//! the no-op plan: wall time, and the Kubernetes requests of its reads
//! (the target is at most 15, and under 0.5 s). Asserts only convergence.

use blueprint::apply;
use blueprint::cost::Prices;
use blueprint::engine::pipeline;
use blueprint::lint::Date;
use blueprint::providers::kube::KubeTarget;
use blueprint::providers::{Cloud, Target};
use blueprint::script::{evaluate, Options};
use std::fmt::Write;
use std::sync::atomic::Ordering;
use std::time::Instant;

mod support;

/// 300 objects: 10 namespaces, each with 6 ConfigMaps, 6 Secrets, 4
/// service accounts, 4 network policies, 3 Roles and 3 RoleBindings; 10
/// ClusterRoles, 10 ClusterRoleBindings and 10 StorageClasses.
fn generate() -> String {
    let mut s =
        String::from("blueprint_name(\"bench-kube\");\nlet c = existing_cluster(\"bench\");\n");
    for n in 0..10 {
        let _ = writeln!(
            s,
            "let ns = c.namespace(\"ns{n}\", #{{ labels: #{{ team: \"t{n}\" }} }});"
        );
        for i in 0..6 {
            let _ = writeln!(
                s,
                "ns.config_map(\"cm{i}\", #{{ data: #{{ key: \"value {i}\", other: \"x\" }} }});"
            );
            let _ = writeln!(
                s,
                "ns.secret(\"s{i}\", #{{ data: #{{ password: \"p{n}-{i}\" }} }});"
            );
        }
        for i in 0..4 {
            let _ = writeln!(
                s,
                "ns.service_account(\"sa{i}\", #{{ labels: #{{ app: \"a{i}\" }} }});"
            );
            let _ = writeln!(
                s,
                "ns.network_policy(\"np{i}\", #{{ pod_selector: #{{ matchLabels: #{{ app: \"a{i}\" }} }}, policy_types: [\"Ingress\"], ingress: [#{{ from: [#{{ podSelector: #{{}} }}], ports: [#{{ protocol: \"TCP\", port: {} }}] }}] }});",
                8000 + i
            );
        }
        for i in 0..3 {
            let _ = writeln!(s, "let r = ns.role(\"r{i}\", #{{ rules: [#{{ apiGroups: [\"\"], resources: [\"pods\"], verbs: [\"get\", \"list\"] }}] }});");
            let _ = writeln!(s, "ns.role_binding(\"rb{i}\", #{{ role: r, subjects: [#{{ kind: \"Group\", name: \"g{i}\" }}] }});");
        }
    }
    for i in 0..10 {
        let _ = writeln!(s, "let cr = c.cluster_role(\"cr{i}\", #{{ rules: [#{{ apiGroups: [\"\"], resources: [\"nodes\"], verbs: [\"get\"] }}] }});");
        let _ = writeln!(s, "c.cluster_role_binding(\"crb{i}\", #{{ role: cr, subjects: [#{{ kind: \"User\", name: \"u{i}\" }}] }});");
        let _ = writeln!(
            s,
            "c.storage_class(\"sc{i}\", #{{ parameters: #{{ type: \"gp3\" }} }});"
        );
    }
    s
}

async fn run() {
    let m = support::moto();
    let k = support::kube(&["bench"]);
    std::env::set_var("AWS_ACCESS_KEY_ID", "test");
    std::env::set_var("AWS_SECRET_ACCESS_KEY", "test");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bench.rhai");
    std::fs::write(&path, generate()).unwrap();
    let options = Options {
        region: "us-east-1".into(),
        ..Options::default()
    };
    let eval = evaluate(&path, &options).unwrap_or_else(|e| panic!("{}", e.render()));
    let target = Target {
        region: "us-east-1".into(),
        endpoint_url: Some(m.1.clone()),
        kube: KubeTarget {
            kubeconfig: Some(k.kubeconfig()),
            ..KubeTarget::default()
        },
        ..Target::default()
    };
    let cloud = Cloud::connect(&target, &eval.name).await;
    let kube_requests = || cloud.kube.requests.load(Ordering::Relaxed);

    let t = Instant::now();
    let prices = Prices::embedded();
    let (p, live) = pipeline::plan(&cloud, &(&eval).into(), &prices, Date::today())
        .await
        .unwrap();
    let report = apply::apply(&cloud, &p, &eval.graph, &live, 10, |_| {}).await;
    assert!(report.ok(), "{:?}", report.failed);
    let apply_time = t.elapsed();
    let apply_requests = kube_requests();

    let mut times = Vec::new();
    let mut requests = 0;
    for _ in 0..5 {
        let before = kube_requests();
        let t = Instant::now();
        let (p, _) = pipeline::plan(&cloud, &(&eval).into(), &prices, Date::today())
            .await
            .unwrap();
        times.push(t.elapsed());
        requests = kube_requests() - before;
        assert!(!p.has_changes(), "not converged: {:?}", p.changes.first());
    }
    times.sort();
    println!(
        "{} objects over 10 kinds | apply from empty {:.2} s, {} Kubernetes requests | no-op plan (AWS and cluster reads) median {:.0} ms (min {:.0} ms), {} Kubernetes requests",
        eval.graph.len(),
        apply_time.as_secs_f64(),
        apply_requests,
        times[2].as_secs_f64() * 1e3,
        times[0].as_secs_f64() * 1e3,
        requests
    );
}

/// 20 Helm releases of the fixture chart, from a chart folder.
async fn releases() {
    let m = support::moto();
    let k = support::kube(&["bench"]);
    let dir = tempfile::tempdir().unwrap();
    let chart = dir.path().join("charts/demo");
    std::fs::create_dir_all(chart.join("templates")).unwrap();
    let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/charts/demo");
    for f in [
        "Chart.yaml",
        "values.yaml",
        "templates/configmap.yaml",
        "templates/secret.yaml",
    ] {
        std::fs::copy(format!("{fixture}/{f}"), chart.join(f)).unwrap();
    }
    let mut s = String::from(
        "blueprint_name(\"bench-helm\");\nlet c = existing_cluster(\"bench\");\nc.namespace(\"apps\");\n",
    );
    for i in 0..20 {
        let _ = writeln!(
            s,
            "c.helm_release(\"r{i}\", #{{ namespace: \"apps\", chart: \"./charts/demo\", values: #{{ greeting: \"hi {i}\", replicas: {i} }} }});"
        );
    }
    let path = dir.path().join("bench.rhai");
    std::fs::write(&path, s).unwrap();
    let eval = evaluate(
        &path,
        &Options {
            region: "us-east-1".into(),
            ..Options::default()
        },
    )
    .unwrap_or_else(|e| panic!("{}", e.render()));
    let target = Target {
        region: "us-east-1".into(),
        endpoint_url: Some(m.1.clone()),
        kube: KubeTarget {
            kubeconfig: Some(k.kubeconfig()),
            helm: Some(concat!(env!("CARGO_MANIFEST_DIR"), "/.tools/helm").into()),
            ..KubeTarget::default()
        },
        ..Target::default()
    };
    let cloud = Cloud::connect(&target, &eval.name).await;
    let kube_requests = || cloud.kube.requests.load(Ordering::Relaxed);
    let t = Instant::now();
    let prices = Prices::embedded();
    let (p, live) = pipeline::plan(&cloud, &(&eval).into(), &prices, Date::today())
        .await
        .unwrap();
    let report = apply::apply(&cloud, &p, &eval.graph, &live, 10, |_| {}).await;
    assert!(report.ok(), "{:?}", report.failed);
    let apply_time = t.elapsed();
    let mut times = Vec::new();
    let mut requests = 0;
    for _ in 0..5 {
        let before = kube_requests();
        let t = Instant::now();
        let (p, _) = pipeline::plan(&cloud, &(&eval).into(), &prices, Date::today())
            .await
            .unwrap();
        times.push(t.elapsed());
        requests = kube_requests() - before;
        assert!(!p.has_changes(), "not converged: {:?}", p.changes.first());
    }
    times.sort();
    println!(
        "20 Helm releases | apply from empty {:.2} s (20 helm processes) | no-op plan (AWS and cluster reads, no helm process) median {:.0} ms (min {:.0} ms), {} Kubernetes requests",
        apply_time.as_secs_f64(),
        times[2].as_secs_f64() * 1e3,
        times[0].as_secs_f64() * 1e3,
        requests
    );
}

fn main() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(run());
    rt.block_on(releases());
}
