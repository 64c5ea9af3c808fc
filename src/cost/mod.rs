//! Monthly on-demand cost estimates of a desired state, and of the
//! difference a plan makes: from a price table for the common regions and
//! types (embedded, `prices.json`; `--prices FILE` takes a newer one that
//! `scripts/update-prices` builds from AWS's Price List bulk files).
//! What the table does not price says "no price", never 0.

pub mod render;

use crate::lint::{versions_extended, Date};
use crate::model::{Address, Map, Value};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Hours in a month, as AWS's own calculator counts them.
pub const HOURS: f64 = 730.0;
/// Assumed usage where the bill depends on it.
pub const NAT_GB: f64 = 100.0;
pub const EFS_GB: f64 = 100.0;
pub const S3_GB: f64 = 100.0;
/// Root volume size when the image decides it.
pub const ROOT_GB: f64 = 8.0;
/// Spot prices as a share of on-demand: typical discounts of 60-90%, with
/// 70% taken for the estimate.
pub const SPOT_LOW: f64 = 0.10;
pub const SPOT_EXPECTED: f64 = 0.30;
pub const SPOT_HIGH: f64 = 0.40;

pub fn assumptions() -> Vec<String> {
    vec![
        format!("{HOURS} hours a month, on-demand prices, no savings plans or free tier"),
        format!("each NAT gateway processes {NAT_GB} GB a month"),
        format!("each EFS file system holds {EFS_GB} GB in Standard storage, each S3 bucket {S3_GB} GB in Standard"),
        format!(
            "spot capacity costs {:.0}-{:.0}% below on-demand; {:.0}% is taken for the estimate",
            (1.0 - SPOT_HIGH) * 100.0,
            (1.0 - SPOT_LOW) * 100.0,
            (1.0 - SPOT_EXPECTED) * 100.0
        ),
        "node groups cost their desired size of their first instance type, with min..max as the range; node disks are gp3".to_string(),
        format!("instance root volumes the image sizes are {ROOT_GB} GB"),
        "usage-billed kinds (DynamoDB on demand, backup storage, data transfer) are not estimated".to_string(),
    ]
}

#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct Prices {
    pub source: String,
    pub date: String,
    pub currency: String,
    pub regions: BTreeMap<String, RegionPrices>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct RegionPrices {
    pub eks_cluster_hour: Option<f64>,
    pub eks_extended_hour: Option<f64>,
    pub nat_gateway_hour: Option<f64>,
    pub nat_gateway_gb: Option<f64>,
    pub public_ipv4_hour: Option<f64>,
    pub ebs_gb_month: BTreeMap<String, f64>,
    pub efs_gb_month: Option<f64>,
    pub s3_gb_month: Option<f64>,
    pub kms_key_month: Option<f64>,
    pub rds_gb_month: BTreeMap<String, f64>,
    pub ec2_hour: BTreeMap<String, f64>,
    pub rds_postgres_hour: BTreeMap<String, f64>,
}

#[derive(Debug, thiserror::Error)]
#[error("{path}: not a price table: {message}")]
pub struct PricesError {
    pub path: String,
    pub message: String,
}

impl Prices {
    /// The table built into `bp`.
    pub fn embedded() -> Prices {
        serde_json::from_str(include_str!("prices.json")).expect("the embedded price table parses")
    }

    pub fn from_file(path: &std::path::Path) -> Result<Prices, PricesError> {
        let fail = |message: String| PricesError {
            path: path.display().to_string(),
            message,
        };
        let text = std::fs::read_to_string(path).map_err(|e| fail(e.to_string()))?;
        let p: Prices = serde_json::from_str(&text).map_err(|e| fail(e.to_string()))?;
        if p.regions.is_empty() {
            return Err(fail("it prices no region".into()));
        }
        Ok(p)
    }

    /// "prices: <source>, <date>".
    pub fn describe(&self) -> String {
        format!("{} prices of {}: {}", self.currency, self.date, self.source)
    }
}

/// One resource's monthly cost: the estimate, a range (node groups
/// between min and max, spot discounts), and how it was worked out.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Cost {
    pub monthly: f64,
    pub low: f64,
    pub high: f64,
    pub detail: String,
}

impl Cost {
    fn fixed(monthly: f64, detail: String) -> Cost {
        Cost {
            monthly,
            low: monthly,
            high: monthly,
            detail,
        }
    }
}

/// What a resource costs: nothing (a VPC, a role), an estimate, or no
/// price in the table (with what is missing).
#[derive(Clone, Debug, PartialEq)]
pub enum Estimate {
    Free,
    Priced(Cost),
    NoPrice(String),
}

fn money(x: f64) -> String {
    render::money(x)
}

fn rate(x: f64) -> String {
    let s = format!("{x:.4}");
    let mut s = s.trim_end_matches('0').to_string();
    while s.split_once('.').is_some_and(|(_, f)| f.len() < 2) {
        s.push('0');
    }
    format!("${s}")
}

/// The monthly cost of one resource of `kind` with fields `spec` (a desired
/// spec, or a live resource's observed fields, which have the same shape).
pub fn estimate(kind: &str, spec: &Map, region: &str, prices: &Prices, today: Date) -> Estimate {
    match prices.regions.get(region) {
        Some(p) => priced_in(kind, spec, region, p, today),
        // What would cost money in a region the table prices has no price.
        None => match priced_in(kind, spec, region, &RegionPrices::default(), today) {
            Estimate::NoPrice(_) => Estimate::NoPrice(format!("no prices for region {region}")),
            other => other,
        },
    }
}

/// [`estimate`] with one region's prices.
fn priced_in(kind: &str, spec: &Map, region: &str, p: &RegionPrices, today: Date) -> Estimate {
    let str_of = |k: &str| spec.get(k).and_then(Value::as_str);
    let int_of = |k: &str| spec.get(k).and_then(Value::as_int);
    let missing = |what: String| Estimate::NoPrice(format!("no price for {what} in {region}"));
    match kind {
        "cluster" => {
            let version = str_of("version").unwrap_or("");
            let (hour, what) = if versions_extended(version, today) {
                (
                    p.eks_extended_hour,
                    format!("EKS extended support (Kubernetes {version})"),
                )
            } else {
                (p.eks_cluster_hour, "EKS control plane".to_string())
            };
            match hour {
                Some(h) => Estimate::Priced(Cost::fixed(
                    h * HOURS,
                    format!("{what}: {HOURS} h × {}", rate(h)),
                )),
                None => missing(what),
            }
        }
        "node_group" => {
            let types: Vec<&str> = spec
                .get("instance_types")
                .and_then(Value::as_list)
                .map(|l| l.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let Some(t) = types.first() else {
                return Estimate::NoPrice("no instance type".into());
            };
            let Some(hour) = p.ec2_hour.get(*t).copied() else {
                return missing(format!("instance type {t}"));
            };
            let scaling = spec.get("scaling");
            let n = |k: &str| {
                scaling
                    .and_then(|s| s.get(k))
                    .and_then(Value::as_int)
                    .unwrap_or(0) as f64
            };
            let (min, desired, max) = (n("min"), n("desired"), n("max"));
            let disk = int_of("disk_size").unwrap_or(20) as f64;
            let Some(gp3) = p.ebs_gb_month.get("gp3").copied() else {
                return missing("EBS gp3 volumes".into());
            };
            let per_node = hour * HOURS;
            let spot = str_of("capacity_type") == Some("SPOT");
            let (low_share, share, high_share) = if spot {
                (SPOT_LOW, SPOT_EXPECTED, SPOT_HIGH)
            } else {
                (1.0, 1.0, 1.0)
            };
            let node = |count: f64, s: f64| count * (per_node * s + disk * gp3);
            let mut detail = format!(
                "{desired} × {t} × {HOURS} h × {}{} + {desired} × {disk} GB gp3 × {}",
                rate(hour),
                if spot {
                    format!(" × {:.0}% (spot)", SPOT_EXPECTED * 100.0)
                } else {
                    String::new()
                },
                rate(gp3)
            );
            if types.len() > 1 {
                detail.push_str(&format!(
                    " (priced as {t}, the first of {} types)",
                    types.len()
                ));
            }
            detail.push_str(&format!("; {min}-{max} nodes"));
            Estimate::Priced(Cost {
                monthly: node(desired, share),
                low: node(min, low_share),
                high: node(max, high_share),
                detail,
            })
        }
        "nat_gateway" => match (p.nat_gateway_hour, p.nat_gateway_gb) {
            (Some(h), Some(gb)) => Estimate::Priced(Cost::fixed(
                h * HOURS + gb * NAT_GB,
                format!("{HOURS} h × {} + {NAT_GB} GB × {}", rate(h), rate(gb)),
            )),
            _ => missing("NAT gateways".into()),
        },
        "elastic_ip" => match p.public_ipv4_hour {
            Some(h) => Estimate::Priced(Cost::fixed(
                h * HOURS,
                format!("public IPv4 address: {HOURS} h × {}", rate(h)),
            )),
            None => missing("public IPv4 addresses".into()),
        },
        "instance" => {
            let t = str_of("instance_type").unwrap_or("");
            let Some(hour) = p.ec2_hour.get(t).copied() else {
                return missing(format!("instance type {t}"));
            };
            let root = spec.get("root_volume");
            let size = root
                .and_then(|r| r.get("size_gb"))
                .and_then(Value::as_int)
                .map(|s| s as f64)
                .unwrap_or(ROOT_GB);
            let vtype = root
                .and_then(|r| r.get("type"))
                .and_then(Value::as_str)
                .unwrap_or("gp3");
            let Some(gb) = p.ebs_gb_month.get(vtype).copied() else {
                return missing(format!("EBS {vtype} volumes"));
            };
            let mut total = hour * HOURS + size * gb;
            let mut detail = format!(
                "{t} × {HOURS} h × {} + {size} GB {vtype} × {}",
                rate(hour),
                rate(gb)
            );
            if spec.get("public_ip").and_then(Value::as_bool) == Some(true) {
                if let Some(ip) = p.public_ipv4_hour {
                    total += ip * HOURS;
                    detail.push_str(&format!(" + public IPv4 {HOURS} h × {}", rate(ip)));
                }
            }
            Estimate::Priced(Cost::fixed(total, detail))
        }
        "rds_postgres" => {
            let class = str_of("instance_class").unwrap_or("");
            let Some(hour) = p.rds_postgres_hour.get(class).copied() else {
                return missing(format!("RDS PostgreSQL {class}"));
            };
            let Some(gb) = p.rds_gb_month.get("gp3").copied() else {
                return missing("RDS gp3 storage".into());
            };
            let storage = int_of("storage_gb")
                .or_else(|| int_of("initial_storage_gb"))
                .unwrap_or(20) as f64;
            let multi = spec.get("multi_az").and_then(Value::as_bool) == Some(true);
            let copies = if multi { 2.0 } else { 1.0 };
            Estimate::Priced(Cost::fixed(
                copies * (hour * HOURS + storage * gb),
                format!(
                    "{}{class} × {HOURS} h × {} + {storage} GB gp3 × {}",
                    if multi { "2 × (multi-AZ) " } else { "" },
                    rate(hour),
                    rate(gb)
                ),
            ))
        }
        "efs" => match p.efs_gb_month {
            Some(gb) => Estimate::Priced(Cost::fixed(
                gb * EFS_GB,
                format!("{EFS_GB} GB assumed × {}", rate(gb)),
            )),
            None => missing("EFS storage".into()),
        },
        "s3_bucket" => match p.s3_gb_month {
            Some(gb) => Estimate::Priced(Cost::fixed(
                gb * S3_GB,
                format!("{S3_GB} GB assumed × {}", rate(gb)),
            )),
            None => missing("S3 storage".into()),
        },
        "dynamodb_table" => match str_of("billing") {
            // On demand is billed per request, which the blueprint does
            // not say; provisioned capacity is not in the table.
            Some("provisioned") => missing("DynamoDB provisioned capacity".into()),
            _ => Estimate::Free,
        },
        "kms_key" => match p.kms_key_month {
            Some(m) => Estimate::Priced(Cost::fixed(m, format!("one key × {}", money(m)))),
            None => missing("KMS keys".into()),
        },
        _ => Estimate::Free,
    }
}

/// Each resource's cost, and the total.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Breakdown {
    pub lines: Vec<(Address, Cost)>,
    /// Resources that cost money but have no price in the table, and why.
    pub no_price: Vec<(Address, String)>,
}

impl Breakdown {
    pub fn total(&self) -> f64 {
        self.lines.iter().map(|(_, c)| c.monthly).sum()
    }

    pub fn range(&self) -> (f64, f64) {
        (
            self.lines.iter().map(|(_, c)| c.low).sum(),
            self.lines.iter().map(|(_, c)| c.high).sum(),
        )
    }

    pub fn get(&self, a: &Address) -> Option<&Cost> {
        self.lines.iter().find(|(x, _)| x == a).map(|(_, c)| c)
    }
}

pub fn breakdown<'a>(
    items: impl Iterator<Item = (&'a Address, &'a Map)>,
    region: &str,
    prices: &Prices,
    today: Date,
) -> Breakdown {
    let mut b = Breakdown::default();
    for (address, spec) in items {
        match estimate(address.kind.as_str(), spec, region, prices, today) {
            Estimate::Free => {}
            Estimate::Priced(c) => b.lines.push((address.clone(), c)),
            Estimate::NoPrice(why) => b.no_price.push((address.clone(), why)),
        }
    }
    b
}

fn cents(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// What a plan does to the monthly bill.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlanCost {
    pub currency: String,
    pub prices: String,
    /// What the blueprint's resources cost now, and after the plan.
    pub before: f64,
    pub after: f64,
    pub changes: Vec<CostChange>,
    /// Resources with no price, which the totals leave out.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub no_price: Vec<String>,
    pub assumptions: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CostChange {
    pub address: Address,
    pub before: Option<f64>,
    pub after: Option<f64>,
}

impl PlanCost {
    pub fn delta(&self) -> f64 {
        self.after - self.before
    }
}

/// The cost of what exists (`live`, in spec shape) and of what the
/// blueprint declares, and the resources whose cost the plan changes.
pub fn plan_cost(
    live: &Breakdown,
    desired: &Breakdown,
    changed: &[&Address],
    prices: &Prices,
) -> PlanCost {
    let mut changes = Vec::new();
    for a in changed {
        let before = live.get(a).map(|c| c.monthly);
        let after = desired.get(a).map(|c| c.monthly);
        let (before, after) = (before.map(cents), after.map(cents));
        if before.is_some() || after.is_some() {
            if before
                .zip(after)
                .is_some_and(|(b, a)| (b - a).abs() < 0.005)
            {
                continue;
            }
            changes.push(CostChange {
                address: (*a).clone(),
                before,
                after,
            });
        }
    }
    let mut no_price: Vec<String> = desired
        .no_price
        .iter()
        .map(|(a, why)| format!("{a}: {why}"))
        .collect();
    no_price.dedup();
    PlanCost {
        currency: prices.currency.clone(),
        prices: prices.describe(),
        before: cents(live.total()),
        after: cents(desired.total()),
        changes,
        no_price,
        assumptions: assumptions(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Kind;

    fn spec(json: serde_json::Value) -> Map {
        match Value::from_json(&json).unwrap() {
            Value::Map(m) => m,
            _ => unreachable!(),
        }
    }

    fn priced(e: Estimate) -> Cost {
        match e {
            Estimate::Priced(c) => c,
            other => panic!("{other:?}"),
        }
    }

    const TODAY: Date = Date::ymd(2026, 11, 21);

    /// The estimate of one resource in us-east-1 from the embedded table.
    fn us_east_spec(kind: &str, s: &Map) -> Estimate {
        estimate(kind, s, "us-east-1", &Prices::embedded(), TODAY)
    }

    fn us_east(kind: &str, json: serde_json::Value) -> Estimate {
        us_east_spec(kind, &spec(json))
    }

    #[test]
    fn node_groups_cost_desired_nodes_with_min_and_max_as_the_range() {
        let s = spec(serde_json::json!({
            "instance_types": ["m6i.large"], "capacity_type": "ON_DEMAND", "disk_size": 20,
            "scaling": { "min": 3, "desired": 6, "max": 20 }
        }));
        let c = priced(us_east_spec("node_group", &s));
        // 6 × 0.096 × 730 = 420.48; 6 × 20 GB × 0.08 = 9.60.
        assert!((c.monthly - 430.08).abs() < 1e-6, "{c:?}");
        assert!((c.low - 3.0 * (70.08 + 1.6)).abs() < 1e-6);
        assert!((c.high - 20.0 * (70.08 + 1.6)).abs() < 1e-6);
    }

    #[test]
    fn spot_is_a_range_around_the_assumed_discount() {
        let s = spec(serde_json::json!({
            "instance_types": ["m6i.large"], "capacity_type": "SPOT", "disk_size": 20,
            "scaling": { "min": 0, "desired": 2, "max": 10 }
        }));
        let c = priced(us_east_spec("node_group", &s));
        // 2 × (70.08 × 0.30 + 1.60) = 45.248
        assert!((c.monthly - 45.248).abs() < 1e-6, "{c:?}");
        assert_eq!(c.low, 0.0);
        assert!((c.high - 10.0 * (70.08 * 0.40 + 1.6)).abs() < 1e-6);
        assert!(c.detail.contains("30% (spot)"), "{}", c.detail);
    }

    #[test]
    fn unknown_types_and_regions_have_no_price_never_zero() {
        let p = Prices::embedded();
        let s = spec(serde_json::json!({ "instance_type": "x9.mega" }));
        assert_eq!(
            us_east_spec("instance", &s),
            Estimate::NoPrice("no price for instance type x9.mega in us-east-1".into())
        );
        let s = spec(serde_json::json!({ "version": "1.35" }));
        assert_eq!(
            estimate("cluster", &s, "ap-south-2", &p, TODAY),
            Estimate::NoPrice("no prices for region ap-south-2".into())
        );
        assert_eq!(estimate("vpc", &s, "ap-south-2", &p, TODAY), Estimate::Free);
    }

    #[test]
    fn clusters_past_standard_support_pay_extended_support() {
        let c = priced(us_east("cluster", serde_json::json!({ "version": "1.33" })));
        assert!((c.monthly - 438.0).abs() < 1e-6, "{c:?}");
        let c = priced(us_east("cluster", serde_json::json!({ "version": "1.35" })));
        assert!((c.monthly - 73.0).abs() < 1e-6, "{c:?}");
        // Past extended support EKS upgrades it to a version it bills as extended.
        let c = priced(us_east("cluster", serde_json::json!({ "version": "1.29" })));
        assert!((c.monthly - 438.0).abs() < 1e-6, "{c:?}");
    }

    #[test]
    fn provisioned_dynamodb_has_no_price_and_on_demand_is_usage() {
        let s = spec(serde_json::json!({ "billing": "provisioned" }));
        assert_eq!(
            us_east_spec("dynamodb_table", &s),
            Estimate::NoPrice("no price for DynamoDB provisioned capacity in us-east-1".into())
        );
        let s = spec(serde_json::json!({ "billing": "pay_per_request" }));
        assert_eq!(us_east_spec("dynamodb_table", &s), Estimate::Free);
    }

    #[test]
    fn multi_az_databases_pay_twice() {
        let s = spec(
            serde_json::json!({ "instance_class": "db.m6g.large", "initial_storage_gb": 100, "multi_az": true }),
        );
        let c = priced(us_east_spec("rds_postgres", &s));
        // 2 × (0.159 × 730 + 100 × 0.115) = 2 × (116.07 + 11.5) = 255.14
        assert!((c.monthly - 255.14).abs() < 1e-6, "{c:?}");
    }

    #[test]
    fn a_plan_prices_what_it_changes() {
        let p = Prices::embedded();
        let a = Address::new(Kind::new("elastic_ip"), "x");
        let b = Address::new(Kind::new("kms_key"), "k");
        let empty = Map::new();
        let live = breakdown([(&a, &empty)].into_iter(), "us-east-1", &p, TODAY);
        let desired = breakdown([(&b, &empty)].into_iter(), "us-east-1", &p, TODAY);
        let pc = plan_cost(&live, &desired, &[&a, &b], &p);
        assert_eq!(pc.before, 3.65);
        assert!((pc.after - 1.0).abs() < 1e-9);
        assert_eq!(pc.changes.len(), 2);
    }
}
