//! Plans that go on past a kind they cannot list (issue 25's degraded
//! reads), against plain moto (`moto_server`, without the project's
//! additions), which serves neither EKS ListAddons nor ListAccessEntries.

use crate::moto::Moto;

const CLUSTER: &str = r#"
let v = vpc("demo", #{ cidr: "10.0.0.0/16", azs: 2, private_subnets: ["10.0.10.0/24", "10.0.11.0/24"] });
let c = cluster("demo", #{ version: "1.35", vpc: v, subnets: v.private_subnets, irsa: false });
"#;

/// A blueprint with a cluster but no add-on or access entry applies,
/// converges and plans with one warning per kind it could not list, also in
/// `--json`; `--strict` refuses; declaring the kind makes it an error.
#[test]
fn kinds_that_cannot_be_listed_warn_unless_declared_or_strict() {
    let m = Moto::start_plain();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("bp.rhai"), CLUSTER).unwrap();
    m.bp(d, &["apply", "bp.rhai", "--auto-approve"], 0);
    let out = m.bp(d, &["plan", "bp.rhai", "--detailed-exitcode"], 0);
    for kind in [
        ("eks_addon", "ListAddons"),
        ("access_entry", "ListAccessEntries"),
        ("pod_identity", "ListPodIdentityAssociations"),
    ] {
        let warning = format!(
            "Warning: cannot list {} (eks:{}: {} is not supported by this endpoint (HTTP 404)); resources of this kind that the blueprint no longer declares will not be pruned.",
            kind.0, kind.1, kind.1
        );
        assert_eq!(out.matches(&warning).count(), 1, "{out}");
    }
    assert!(out.contains("No changes."), "{out}");

    let json: serde_json::Value =
        serde_json::from_str(&m.bp(d, &["plan", "bp.rhai", "--json"], 0)).unwrap();
    let kinds: Vec<(&str, &str)> = json["unlisted"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| (u["kind"].as_str().unwrap(), u["action"].as_str().unwrap()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("eks_addon", "eks:ListAddons"),
            ("access_entry", "eks:ListAccessEntries"),
            ("pod_identity", "eks:ListPodIdentityAssociations")
        ],
        "{json}"
    );

    let out = m.bp(d, &["plan", "bp.rhai", "--strict"], 1);
    assert!(
        out.contains("cannot list eks_addon (eks:ListAddons: ListAddons is not supported by this endpoint (HTTP 404)); --strict refuses to plan without it"),
        "{out}"
    );

    std::fs::write(
        d.join("bp.rhai"),
        format!("{CLUSTER}\nc.addon(\"kube-proxy\");\n"),
    )
    .unwrap();
    let out = m.bp(d, &["plan", "bp.rhai"], 1);
    let error = "cannot list eks_addon (eks:ListAddons: ListAddons is not supported by this endpoint (HTTP 404)), which the blueprint declares";
    assert_eq!(out.matches(error).count(), 1, "said once:\n{out}");
    assert!(
        out.contains("= hint: allow eks:ListAddons for the credentials in use"),
        "{out}"
    );
}
