//! Benchmark against the local AWS emulator (`cargo bench --bench cloud`;
//! run scripts/setup.sh first): for generated blueprints of about 40, 150
//! and 500 resources, the time and AWS requests of an apply from empty and
//! of the no-op plan that follows. Prints figures; asserts only convergence.

use blueprint::apply;
use blueprint::cost::Prices;
use blueprint::engine::pipeline;
use blueprint::lint::Date;
use blueprint::providers::{Cloud, Target};
use blueprint::script::{evaluate, Options};
use std::fmt::Write;
use std::time::Instant;

mod support;
use support::moto;

/// A VPC with many subnets and security groups, a cluster with many node groups.
fn generate(name: &str, subnets: usize, groups: usize, node_groups: usize) -> String {
    let mut s = format!(
        "blueprint_name(\"{name}\");\n\
         let v = vpc(\"{name}\", #{{ cidr: \"10.0.0.0/16\", azs: 2,\n\
         public_subnets: [\"10.0.0.0/24\", \"10.0.1.0/24\"], private_subnets: [\"10.0.2.0/24\", \"10.0.3.0/24\"], nat: \"single\" }});\n"
    );
    let zones = ["us-east-1a", "us-east-1b"];
    for i in 0..subnets {
        let _ = writeln!(
            s,
            "subnet(v, \"s{i}\", #{{ cidr: \"10.0.{}.{}/26\", az: \"{}\" }});",
            8 + i / 4,
            (i % 4) * 64,
            zones[i % 2]
        );
    }
    for i in 0..groups {
        let _ = writeln!(
            s,
            "security_group(v, \"g{i}\", #{{ ingress: [rule(#{{ protocol: \"tcp\", port: {}, cidr: \"10.0.0.0/8\" }})] }});",
            1000 + i
        );
    }
    s.push_str("let c = cluster(\"bench\", #{ version: \"1.29\", vpc: v, subnets: v.private_subnets, irsa: false });\n");
    for i in 0..node_groups {
        let _ = writeln!(
            s,
            "c.node_group(\"ng{i}\", #{{ instance_types: [\"m6i.large\"], min: 0, max: 3, desired: 1 }});"
        );
    }
    s
}

async fn run(size: &str, subnets: usize, groups: usize, node_groups: usize) {
    let m = moto();
    std::env::set_var("AWS_ACCESS_KEY_ID", "test");
    std::env::set_var("AWS_SECRET_ACCESS_KEY", "test");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bench.rhai");
    let name = format!("bench-{}", size.trim_start_matches('~'));
    std::fs::write(&path, generate(&name, subnets, groups, node_groups)).unwrap();
    let options = Options {
        region: "us-east-1".into(),
        ..Options::default()
    };
    let eval = evaluate(&path, &options).unwrap_or_else(|e| panic!("{}", e.render()));
    let target = Target {
        region: "us-east-1".into(),
        profile: None,
        endpoint_url: Some(m.1.clone()),
        ..Target::default()
    };
    let cloud = Cloud::connect(&target, &eval.name).await;

    let t = Instant::now();
    let prices = Prices::embedded();
    let (p, live) = pipeline::plan(&cloud, &(&eval).into(), &prices, Date::today())
        .await
        .unwrap();
    let report = apply::apply(&cloud, &p, &eval.graph, &live, 10, |_| {}).await;
    assert!(report.ok(), "{:?}", report.failed);
    let apply_time = t.elapsed();
    let apply_requests = cloud.requests.get();

    let mut times = Vec::new();
    let mut requests = 0;
    for _ in 0..5 {
        let before = cloud.requests.get();
        let t = Instant::now();
        let (p, _) = pipeline::plan(&cloud, &(&eval).into(), &prices, Date::today())
            .await
            .unwrap();
        times.push(t.elapsed());
        requests = cloud.requests.get() - before;
        assert!(!p.has_changes(), "not converged: {:?}", p.changes.first());
    }
    times.sort();
    println!(
        "{size:>5}: {:>4} resources | apply from empty {:>6.2} s, {:>5} requests | no-op plan median {:>5.0} ms (min {:.0} ms), {:>3} requests",
        eval.graph.len(),
        apply_time.as_secs_f64(),
        apply_requests,
        times[2].as_secs_f64() * 1e3,
        times[0].as_secs_f64() * 1e3,
        requests
    );
}

fn main() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    for (size, subnets, groups, node_groups) in [
        ("~40", 16, 8, 2),
        ("~150", 80, 40, 8),
        ("~500", 300, 160, 20),
    ] {
        rt.block_on(run(size, subnets, groups, node_groups));
    }
}
