//! Monthly cost estimates: `bp cost` against a hand computation from the
//! embedded table, a table built by scripts/update-prices, and the cost
//! and findings a plan shows for what it changes.

use crate::harness::{repo, Test};
use crate::moto::Moto;
use serde_json::Value as Json;

fn json(out: std::process::Output) -> Json {
    serde_json::from_str(&String::from_utf8(out.stdout).unwrap()).unwrap()
}

fn monthly(v: &Json, address: &str) -> f64 {
    v["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["address"] == address)
        .unwrap_or_else(|| panic!("{address} is not priced: {v}"))["monthly"]
        .as_f64()
        .unwrap()
}

/// eks-intro with its defaults in us-east-1, by hand from
/// src/cost/prices.json (730 hours a month):
/// - 3 elastic IPs (public IPv4): 3 × 730 × $0.005 = $10.95
/// - 3 NAT gateways: 3 × (730 × $0.045 + 100 GB × $0.045) = 3 × $37.35 = $112.05
/// - the secrets KMS key: $1.00
/// - the control plane (Kubernetes 1.35, standard support): 730 × $0.10 = $73.00
/// - node group workers, 3 × t3.medium (1 to 6): a node is
///   730 × $0.0416 + 20 GB gp3 × $0.08 = $31.968, so 3 × $31.968 = $95.904,
///   ranging from 1 node ($31.968) to 6 ($191.808)
///
/// Total $292.904 ≈ $292.90, from $228.968 ≈ $228.97 to $388.808 ≈ $388.81.
#[test]
fn eks_intro_costs_what_a_hand_computation_from_the_table_says() {
    let file = repo().join("blueprints/eks-intro.rhai");
    let v = json(
        Test::new()
            .args(["cost", &file.display().to_string(), "--json"])
            .run(),
    );
    assert_eq!(v["region"], "us-east-1");
    assert_eq!(monthly(&v, "elastic_ip.eks-intro/nat-a"), 3.65);
    assert_eq!(monthly(&v, "nat_gateway.eks-intro/b"), 37.35);
    assert_eq!(monthly(&v, "kms_key.eks-intro-secrets"), 1.0);
    assert_eq!(monthly(&v, "cluster.eks-intro"), 73.0);
    assert_eq!(monthly(&v, "node_group.eks-intro/workers"), 95.9);
    assert_eq!(v["resources"].as_array().unwrap().len(), 9, "{v}");
    assert_eq!(
        v["total"],
        serde_json::json!({ "monthly": 292.9, "low": 228.97, "high": 388.81 })
    );
    assert_eq!(v["no_price"], serde_json::json!([]));

    Test::new()
        .args(["cost", &file.display().to_string()])
        .stdout_contains("  node_group.eks-intro/workers       $95.90  3 × t3.medium × 730 h × $0.0416 + 3 × 20 GB gp3 × $0.08; 1-6 nodes  [$31.97 - $191.81]\n")
        .stdout_contains("  Total                             $292.90  a month (range $228.97 - $388.81)\n")
        .stdout_contains("  - each NAT gateway processes 100 GB a month\n")
        .run();
}

#[test]
fn spot_node_groups_and_extended_support_are_priced_as_such() {
    let file = repo().join("blueprints/pms.rhai");
    let v = json(
        Test::new()
            .args([
                "cost",
                &file.display().to_string(),
                "--json",
                "--var",
                "k8s_version=1.33",
            ])
            .run(),
    );
    // 2 × (730 × $0.096 × 30% + 20 × $0.08) = 2 × $22.624
    assert_eq!(monthly(&v, "node_group.pms-prod/spot-nodes"), 45.25);
    // Kubernetes 1.33 left standard support on 2026-07-29: 730 × $0.60.
    assert_eq!(monthly(&v, "cluster.pms-prod"), 438.0);
}

#[test]
fn a_table_from_update_prices_replaces_the_built_in_one_and_gaps_say_no_price() {
    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join("prices.json");
    let status = std::process::Command::new(repo().join("scripts/update-prices"))
        .args(["--offers"])
        .arg(repo().join("tests/fixtures/offers"))
        .args(["--regions", "us-east-1", "-o"])
        .arg(&table)
        .status()
        .unwrap();
    assert!(status.success());
    let file = repo().join("blueprints/pms.rhai");
    let v = json(
        Test::new()
            .args(["cost", &file.display().to_string(), "--json", "--prices"])
            .args([table.display().to_string()])
            .run(),
    );
    // The offer files' publicationDate.
    assert_eq!(v["prices"]["date"], "2026-10-30");
    // The fixture's synthetic prices: the control plane at $0.20 an hour,
    // m6i.large at $0.10 and gp3 at $0.10.
    assert_eq!(monthly(&v, "cluster.pms-prod"), 146.0);
    assert_eq!(
        monthly(&v, "node_group.pms-prod/app-nodes"),
        6.0 * (73.0 + 2.0)
    );
    let no_price: Vec<String> = v["no_price"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            format!(
                "{}: {}",
                n["address"].as_str().unwrap(),
                n["why"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        no_price,
        [
            "node_group.pms-prod/db-nodes: no price for instance type r6i.xlarge in us-east-1",
            "s3_bucket.pms-prod-backups-us-east-1: no price for S3 storage in us-east-1",
        ]
    );
    Test::new()
        .args([
            "cost",
            &file.display().to_string(),
            "--prices",
            "missing.json",
        ])
        .status(1)
        .stderr_contains("missing.json: not a price table:")
        .run();
}

const SMALL: &str = r#"
let v = vpc("demo", #{ cidr: "10.0.0.0/16", azs: 2,
    public_subnets: ["10.0.1.0/24", "10.0.2.0/24"], private_subnets: ["10.0.11.0/24", "10.0.12.0/24"] });
let c = cluster("demo", #{ version: "1.35", vpc: v, subnets: v.private_subnets, irsa: false,
    endpoint: #{ public: false, private: true }, secrets_key: kms_key("demo", #{}), logging: ["api", "audit"] });
c.node_group("app", #{ instance_types: ["t3.medium"], min: 1, max: 6, desired: var("desired", 2), scaling: #{ manage_desired: true } });
security_group(v, "bastion", #{
    ingress: [rule(#{ protocol: "tcp", port: 22, cidr: "0.0.0.0/0" })],
});
"#;

/// A plan shows the findings about what it creates or changes, and what it
/// does to the monthly bill: from nothing to the whole blueprint
/// (one elastic IP $3.65, one NAT gateway $37.35, the key $1.00, the
/// control plane $73.00, 2 × $31.968 of nodes: $178.936), then one node
/// more (+$31.968; shown as the difference of the rounded totals,
/// $210.90 - $178.94 = $31.96, so that the figures add up). Saved plans
/// carry both, and `bp show` prints them.
#[test]
fn plans_show_findings_and_the_cost_of_their_changes() {
    let m = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bp.rhai"), SMALL).unwrap();
    let d = dir.path();
    let out = m.bp(d, &["plan", "bp.rhai"], 0);
    assert!(
        out.contains("Findings for what this plan creates or changes (bp lint shows them in full):\n  error[BP004]: security group bastion lets SSH (port 22) in from 0.0.0.0/0  (bp.rhai:8:5)\n"),
        "{out}"
    );
    assert!(
        out.contains("Monthly cost: $0.00 -> $178.94 (+$178.94), on demand; USD prices of "),
        "{out}"
    );
    assert!(
        out.contains("  + node_group.demo/app        +$63.94\n"),
        "{out}"
    );
    m.bp(d, &["apply", "bp.rhai", "--auto-approve"], 0);

    let out = m.bp(d, &["plan", "bp.rhai", "--var", "desired=3"], 0);
    assert!(
        out.contains("Monthly cost: $178.94 -> $210.90 (+$31.96), on demand;"),
        "{out}"
    );
    assert!(
        out.contains("  ~ node_group.demo/app      +$31.96\n"),
        "{out}"
    );
    assert!(!out.contains("Findings"), "nothing risky changes: {out}");

    let v = json(
        Test::new()
            .current_dir(d)
            .moto(&m)
            .args(["plan", "bp.rhai", "--var", "desired=3", "--json"])
            .run(),
    );
    assert_eq!(v["cost"]["before"], 178.94);
    assert_eq!(v["cost"]["after"], 210.9);
    assert_eq!(v["cost"]["delta"], 31.96);
    assert_eq!(
        v["cost"]["changes"],
        serde_json::json!([{ "address": "node_group.demo/app", "before": 63.94, "after": 95.9 }])
    );

    // A new risky resource: its finding is in the JSON and the saved plan.
    let risky = SMALL.replace("port: 22, cidr: \"0.0.0.0/0\"", "port: 22, cidr: \"10.0.0.0/16\"")
        + "security_group(v, \"rdp\", #{ ingress: [rule(#{ protocol: \"tcp\", port: 3389, cidr: \"0.0.0.0/0\" })] });\n";
    std::fs::write(d.join("bp.rhai"), risky).unwrap();
    m.bp(d, &["plan", "bp.rhai", "-o", "plan.json"], 0);
    let saved: Json =
        serde_json::from_str(&std::fs::read_to_string(d.join("plan.json")).unwrap()).unwrap();
    crate::plan_schema::check(&saved);
    let rules: Vec<(&str, &str)> = saved["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["rule"].as_str().unwrap(), f["address"].as_str().unwrap()))
        .collect();
    assert_eq!(rules, [("BP004", "security_group.demo/rdp")]);
    let shown = m.bp(d, &["show", "plan.json"], 0);
    assert!(
        shown.contains("  error[BP004]: security group rdp lets RDP (port 3389) in from 0.0.0.0/0"),
        "{shown}"
    );
    assert!(
        shown.contains("Monthly cost: $178.94 -> $178.94 (+$0.00)"),
        "{shown}"
    );
}

/// The README's table of the seeds' costs is what `bp cost` says.
#[test]
fn the_readme_prices_the_seeds_as_bp_cost_does() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let rows: Vec<&str> = readme
        .lines()
        .skip_while(|l| !l.starts_with("| blueprint | estimate | range |"))
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .collect();
    assert_eq!(rows.len(), 7, "the README's seed cost table");
    for row in rows {
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        let (what, estimate, range) = (cells[1], cells[2], cells[3]);
        let what = what.replace('`', "");
        let mut words = what.split_whitespace();
        let file = repo().join("blueprints").join(words.next().unwrap());
        let mut args = vec!["cost".to_string(), file.display().to_string()];
        args.extend(
            words
                .take_while(|w| !w.starts_with('('))
                .map(|w| w.trim_matches('`').to_string()),
        );
        let out = Test::new().args(args).run();
        let text = String::from_utf8(out.stdout).unwrap();
        let total = text
            .lines()
            .find(|l| l.trim_start().starts_with("Total"))
            .unwrap();
        let (low, high) = range.split_once(" - ").unwrap();
        assert!(
            total.contains(&format!(" {estimate}  a month (range {low} - {high})")),
            "README: {row}\nbp cost: {total}"
        );
    }
}

/// `update-prices --download` fetches the offer files (here from a mirror
/// on loopback serving the fixture) and builds the same table as from the
/// files on disk; services not published there are skipped.
#[test]
fn update_prices_downloads_the_offer_files() {
    use std::io::{BufRead, BufReader};
    let mut server = std::process::Command::new("python3")
        .args([
            "-u",
            "-m",
            "http.server",
            "0",
            "--bind",
            "127.0.0.1",
            "--directory",
        ])
        .arg(repo().join("tests/fixtures/offers"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(server.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    // "Serving HTTP on 127.0.0.1 port 41235 (http://127.0.0.1:41235/) ..."
    let port: u16 = line
        .split(" port ")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str], out: &str| {
        let status = std::process::Command::new(repo().join("scripts/update-prices"))
            .args(args)
            .args(["--regions", "us-east-1", "-o"])
            .arg(dir.path().join(out))
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "update-prices {args:?}");
        std::fs::read_to_string(dir.path().join(out)).unwrap()
    };
    let fetched = dir.path().join("fetched");
    let url = format!("http://127.0.0.1:{port}");
    let downloaded = run(
        &[
            "--download",
            fetched.to_str().unwrap(),
            "--price-list-url",
            &url,
        ],
        "downloaded.json",
    );
    let _ = server.kill();
    let _ = server.wait();
    let local = run(
        &[
            "--offers",
            repo().join("tests/fixtures/offers").to_str().unwrap(),
        ],
        "local.json",
    );
    assert_eq!(downloaded, local);
    assert!(fetched
        .join("AmazonEKS/current/us-east-1/index.json")
        .exists());
    assert!(
        !fetched.join("AmazonRDS").exists(),
        "not published: skipped"
    );
}
