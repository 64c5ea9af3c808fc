//! Costs for people and for scripts.

use super::{assumptions, Breakdown, PlanCost, Prices};
use std::fmt::Write;

/// `$1,234.56`.
pub fn money(x: f64) -> String {
    let cents = (x.abs() * 100.0).round() as u64;
    let (whole, frac) = (cents / 100, cents % 100);
    let digits = whole.to_string();
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    let sign = if x < 0.0 && cents > 0 { "-" } else { "" };
    format!("{sign}${grouped}.{frac:02}")
}

/// `+$12.00` / `-$3.65`.
pub fn signed(x: f64) -> String {
    if x >= 0.0 {
        format!("+{}", money(x))
    } else {
        money(x)
    }
}

/// `bp cost`: each priced resource, the total with its range, what has no
/// price, and the assumptions.
pub fn human(b: &Breakdown, file: &str, region: &str, prices: &Prices) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Monthly cost of {file} in {region}, on demand ({}):\n",
        prices.describe()
    );
    let width = b
        .lines
        .iter()
        .map(|(a, _)| a.to_string().len())
        .max()
        .unwrap_or(10)
        .max(5);
    for (a, c) in &b.lines {
        let range = if (c.high - c.low).abs() >= 0.005 {
            format!("  [{} - {}]", money(c.low), money(c.high))
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "  {:<width$}  {:>11}  {}{range}",
            a.to_string(),
            money(c.monthly),
            c.detail
        );
    }
    let (low, high) = b.range();
    let _ = writeln!(
        out,
        "  {:<width$}  {:>11}  a month (range {} - {})",
        "Total",
        money(b.total()),
        money(low),
        money(high)
    );
    if !b.no_price.is_empty() {
        let _ = writeln!(out, "\nNo price (left out of the total):");
        for (a, why) in &b.no_price {
            let _ = writeln!(out, "  {a}: {why}");
        }
    }
    let _ = writeln!(out, "\nAssumptions:");
    for a in assumptions() {
        let _ = writeln!(out, "  - {a}");
    }
    out
}

pub fn json(b: &Breakdown, region: &str, prices: &Prices) -> serde_json::Value {
    let (low, high) = b.range();
    serde_json::json!({
        "format_version": 1,
        "region": region,
        "currency": prices.currency,
        "prices": { "source": prices.source, "date": prices.date },
        "resources": b.lines.iter().map(|(a, c)| serde_json::json!({
            "address": a, "kind": a.kind.as_str(),
            "monthly": round(c.monthly), "low": round(c.low), "high": round(c.high),
            "detail": c.detail,
        })).collect::<Vec<_>>(),
        "no_price": b.no_price.iter().map(|(a, why)| serde_json::json!({ "address": a, "why": why })).collect::<Vec<_>>(),
        "total": { "monthly": round(b.total()), "low": round(low), "high": round(high) },
        "assumptions": assumptions(),
    })
}

fn round(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Under a plan: the changes' costs and the totals before and after.
pub fn plan_lines(c: &PlanCost) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Monthly cost: {} -> {} ({}), on demand; {}",
        money(c.before),
        money(c.after),
        signed(c.delta()),
        c.prices
    );
    let width = c
        .changes
        .iter()
        .map(|x| x.address.to_string().len())
        .max()
        .unwrap_or(0);
    for x in &c.changes {
        let (sym, delta) = match (x.before, x.after) {
            (None, Some(a)) => ("+", a),
            (Some(b), None) => ("-", -b),
            (Some(b), Some(a)) => ("~", a - b),
            (None, None) => continue,
        };
        let _ = writeln!(
            out,
            "  {sym} {:<width$}  {:>11}",
            x.address.to_string(),
            signed(delta)
        );
    }
    for n in &c.no_price {
        let _ = writeln!(out, "  no price: {n}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_is_grouped_and_rounded() {
        assert_eq!(money(0.0), "$0.00");
        assert_eq!(money(1234.565), "$1,234.57");
        assert_eq!(money(1_000_000.0), "$1,000,000.00");
        assert_eq!(signed(-3.65), "-$3.65");
        assert_eq!(signed(12.0), "+$12.00");
    }
}
