//! Monthly on-demand cost estimates of a desired state, and of the
//! difference a plan makes: from a price table for the common regions and
//! types (embedded, `prices.json`; `--prices FILE` takes a newer one that
//! `scripts/update-prices` builds from AWS's Price List bulk files).
//! What the table does not price says "no price", never 0.

pub mod render;

use crate::lint::Date;
use crate::model::{Address, Kind, Map, Value};
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
        "usage-billed kinds (DynamoDB on demand, SQS and EventBridge requests, backup storage, data transfer) are not estimated".to_string(),
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
    pub fn fixed(monthly: f64, detail: String) -> Cost {
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

pub fn money(x: f64) -> String {
    render::money(x)
}

/// An hourly or per-GB rate: `$0.0450`, trailing zeros cut to two places.
pub fn rate(x: f64) -> String {
    let s = format!("{x:.4}");
    let mut s = s.trim_end_matches('0').to_string();
    while s.split_once('.').is_some_and(|(_, f)| f.len() < 2) {
        s.push('0');
    }
    format!("${s}")
}

/// The monthly cost of one resource of `kind` with fields `spec` (a desired
/// spec, or a live resource's observed fields, which have the same shape).
pub fn estimate(kind: Kind, spec: &Map, region: &str, prices: &Prices, today: Date) -> Estimate {
    match prices.regions.get(region) {
        Some(p) => priced_in(kind, spec, region, p, today),
        // What would cost money in a region the table prices has no price.
        None => match priced_in(kind, spec, region, &RegionPrices::default(), today) {
            Estimate::NoPrice(_) => Estimate::NoPrice(format!("no prices for region {region}")),
            other => other,
        },
    }
}

/// How a kind's resources are priced: every kind's registry entry says,
/// so a kind that costs money is never silently free.
#[derive(Clone, Copy)]
pub enum Pricing {
    /// The resource itself costs nothing (a VPC, a role, a Kubernetes
    /// object); what runs on it is priced elsewhere.
    Free,
    /// Priced from the table by the kind's own function.
    Priced(fn(&Quote) -> Estimate),
}

/// What a kind's price function is given: the resource's fields and one
/// region's prices.
pub struct Quote<'a> {
    pub spec: &'a Map,
    pub region: &'a str,
    pub prices: &'a RegionPrices,
    pub today: Date,
}

impl Quote<'_> {
    pub fn str(&self, key: &str) -> Option<&str> {
        self.spec.get(key).and_then(Value::as_str)
    }

    pub fn int(&self, key: &str) -> Option<i64> {
        self.spec.get(key).and_then(Value::as_int)
    }

    /// No price for `what` in this region.
    pub fn missing(&self, what: String) -> Estimate {
        Estimate::NoPrice(format!("no price for {what} in {}", self.region))
    }
}

/// Where the kind registry hands each kind's pricing down: one element.
#[linkme::distributed_slice]
pub static PRICING: [fn() -> Vec<(Kind, Pricing)>];

/// How `kind` is priced. A kind the registry does not know (made up in a
/// test) is free.
pub fn pricing(kind: Kind) -> Pricing {
    static ALL: std::sync::OnceLock<Vec<(Kind, Pricing)>> = std::sync::OnceLock::new();
    ALL.get_or_init(|| PRICING.iter().flat_map(|list| list()).collect())
        .iter()
        .find(|(k, _)| *k == kind)
        .map(|(_, p)| *p)
        .unwrap_or(Pricing::Free)
}

/// [`estimate`] with one region's prices.
fn priced_in(kind: Kind, spec: &Map, region: &str, p: &RegionPrices, today: Date) -> Estimate {
    match pricing(kind) {
        Pricing::Free => Estimate::Free,
        Pricing::Priced(price) => price(&Quote {
            spec,
            region,
            prices: p,
            today,
        }),
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
    breakdown_in(items, |_| region, prices, today)
}

/// [`breakdown`], each resource at the prices of its own region
/// (`region_of`: a provider instance's, else the blueprint's).
pub fn breakdown_in<'a, 'r>(
    items: impl Iterator<Item = (&'a Address, &'a Map)>,
    region_of: impl Fn(&Address) -> &'r str,
    prices: &Prices,
    today: Date,
) -> Breakdown {
    let mut b = Breakdown::default();
    for (address, spec) in items {
        match estimate(address.kind, spec, region_of(address), prices, today) {
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
    /// Before and after for each priced kind.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub by_kind: Vec<KindCost>,
    pub changes: Vec<CostChange>,
    /// Resources with no price, which the totals leave out.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub no_price: Vec<String>,
    pub assumptions: Vec<String>,
}

/// What a kind costs a month, before and after a plan.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KindCost {
    pub kind: String,
    pub before: f64,
    pub after: f64,
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
        by_kind: by_kind(live, desired),
        changes,
        no_price,
        assumptions: assumptions(),
    }
}

/// The monthly cost of each kind before and after, the priced kinds only.
fn by_kind(live: &Breakdown, desired: &Breakdown) -> Vec<KindCost> {
    let mut sums: std::collections::BTreeMap<&'static str, (f64, f64)> = Default::default();
    for (a, c) in &live.lines {
        sums.entry(a.kind.as_str()).or_default().0 += c.monthly;
    }
    for (a, c) in &desired.lines {
        sums.entry(a.kind.as_str()).or_default().1 += c.monthly;
    }
    sums.into_iter()
        .map(|(kind, (before, after))| KindCost {
            kind: kind.to_string(),
            before: cents(before),
            after: cents(after),
        })
        .collect()
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
        estimate(
            kind.parse().unwrap(),
            s,
            "us-east-1",
            &Prices::embedded(),
            TODAY,
        )
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
            estimate("cluster".parse().unwrap(), &s, "ap-south-2", &p, TODAY),
            Estimate::NoPrice("no prices for region ap-south-2".into())
        );
        assert_eq!(
            estimate("vpc".parse().unwrap(), &s, "ap-south-2", &p, TODAY),
            Estimate::Free
        );
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
