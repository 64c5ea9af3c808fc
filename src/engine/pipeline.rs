//! The plan pipeline after the live state is read, shared by `bp plan`,
//! `apply` and the REPL's `:plan`: compute the diff, add what lint finds
//! about the resources it creates or changes and what it does to the
//! monthly bill, refuse what is protected or refused as declared, and let
//! each cluster check the in-cluster changes it would make.

use crate::diagnostic::Sources;
use crate::model::{Address, Graph, Live, Value};
use crate::plan::{self, Action, Plan, Unread};
use crate::providers::{self, Cloud, ProviderError};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// What the plan is made from: the evaluated blueprint.
pub struct Desired<'a> {
    pub name: &'a str,
    pub region: &'a str,
    pub graph: &'a Graph,
    pub lint: &'a crate::lint::Facts,
    pub sources: &'a Sources,
}

impl<'a> From<&'a crate::script::Evaluation> for Desired<'a> {
    fn from(e: &'a crate::script::Evaluation) -> Desired<'a> {
        Desired {
            name: &e.name,
            region: &e.region,
            graph: &e.graph,
            lint: &e.lint,
            sources: &e.sources,
        }
    }
}

/// Why no plan could be made.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error("cannot read the live state: {0}")]
    Read(#[from] ProviderError),
    /// Changes refused as declared, or deletes and replacements of
    /// protected resources, each named.
    #[error("{0}")]
    Refused(String),
    /// In-cluster changes the server would refuse, each named.
    #[error("{0}")]
    InCluster(String),
}

/// Reads what the blueprint owns, then makes the plan ([`plan_from`]).
pub async fn plan(
    cloud: &Cloud,
    desired: &Desired<'_>,
    prices: &crate::cost::Prices,
    today: crate::lint::Date,
) -> Result<(Plan, Vec<Live>), PipelineError> {
    let reading = crate::engine::ops::read_all(cloud, desired.graph).await?;
    let plan = plan_from(cloud, desired, &reading.live, reading.unread, prices, today).await?;
    Ok((plan, reading.live))
}

/// The plan of `desired` against the live state read already.
pub async fn plan_from(
    cloud: &Cloud,
    desired: &Desired<'_>,
    live: &[Live],
    unread: Vec<Unread>,
    prices: &crate::cost::Prices,
    today: crate::lint::Date,
) -> Result<Plan, PipelineError> {
    let mut plan = plan::compute(desired.name, desired.region, desired.graph, live);
    plan.unread = unread;
    insights(&mut plan, desired, live, prices, today);
    refuse_protected(&plan)?;
    check_in_cluster(cloud, &mut plan, desired.graph, live).await?;
    Ok(plan)
}

/// What a plan adds to the diff: the lint findings about the resources it
/// creates or changes, and what it does to the monthly bill.
fn insights(
    plan: &mut Plan,
    desired: &Desired<'_>,
    live: &[Live],
    prices: &crate::cost::Prices,
    today: crate::lint::Date,
) {
    let touched: BTreeSet<&Address> = plan
        .changes
        .iter()
        .filter(|c| c.action != Action::Delete)
        .map(|c| &c.address)
        .collect();
    plan.findings = crate::lint::lint(desired.graph, desired.lint, desired.sources, today)
        .into_iter()
        .filter(|f| touched.contains(&f.address))
        .collect();
    let before = crate::cost::breakdown(
        live.iter().map(|l| (&l.address, &l.attrs)),
        desired.region,
        prices,
        today,
    );
    let after = crate::cost::breakdown(
        desired.graph.iter().map(|r| (&r.address, &r.spec)),
        desired.region,
        prices,
        today,
    );
    let changed: Vec<&Address> = plan.changes.iter().map(|c| &c.address).collect();
    plan.cost = Some(crate::cost::plan_cost(&before, &after, &changed, prices));
}

/// A plan that would delete or replace a protected resource, or that makes
/// a change a field's guard refuses, is an error naming each one and why.
pub fn refuse_protected(plan: &Plan) -> Result<(), PipelineError> {
    if !plan.refused.is_empty() {
        let lines: Vec<String> = plan
            .refused
            .iter()
            .map(|r| format!("  {} ({}): {}", r.address, r.field, r.message))
            .collect();
        return Err(PipelineError::Refused(format!(
            "the plan makes changes that are refused as declared:\n{}",
            lines.join("\n")
        )));
    }
    if plan.protected.is_empty() {
        return Ok(());
    }
    let lines: Vec<String> = plan
        .protected
        .iter()
        .map(|p| {
            let what = match p.action {
                Action::Replace => "replace",
                _ => "delete",
            };
            match &p.kept_for {
                Some(by) => format!(
                    "  {} would {what} it: {} (the protected {by} uses it)",
                    p.address, p.reason
                ),
                None => format!("  {} would {what} it: {}", p.address, p.reason),
            }
        })
        .collect();
    Err(PipelineError::Refused(format!(
        "the plan would delete or replace protected resources:\n{}\n  = hint: protection is recorded on the resource itself; to remove one, first apply it declared with protect: false",
        lines.join("\n")
    )))
}

/// Every in-cluster create and update is checked by its cluster before the
/// plan is shown: an object that exists but belongs to someone else, and
/// anything the server refuses (a server-side apply with `dryRun=All`), is
/// an error here rather than halfway through an apply. Objects whose
/// values are known only after apply, or whose cluster does not exist yet,
/// are checked when they are applied, as are objects inside a namespace
/// the same plan creates.
async fn check_in_cluster(
    cloud: &Cloud,
    plan: &mut Plan,
    graph: &Graph,
    live: &[Live],
) -> Result<(), PipelineError> {
    use crate::kinds::Read;
    let unread: Vec<&str> = plan.unread.iter().map(|u| u.provider.as_str()).collect();
    // Outputs that stay as they are: of resources neither created nor replaced.
    let changing: Vec<&Address> = plan
        .changes
        .iter()
        .filter(|c| matches!(c.action, Action::Create | Action::Replace))
        .map(|c| &c.address)
        .collect();
    let known: HashMap<Address, &BTreeMap<String, String>> = live
        .iter()
        .filter(|l| !changing.contains(&&l.address))
        .map(|l| (l.address.clone(), &l.outputs))
        .collect();
    let resolved = |a: &Address, independent: bool| -> Option<providers::Planned> {
        let r = graph.get(a)?;
        let spec = plan::resolve(&Value::Map(r.spec.clone()), &known);
        if !spec.refs().is_empty() && !independent {
            return None; // known after apply: checked when applied
        }
        providers::Planned::reveal(a, &spec).ok()
    };
    let checks = plan.changes.iter().enumerate().filter_map(|(i, c)| {
        let Read::InCluster(k) = crate::kinds::def(c.address.kind).read else {
            return None;
        };
        // A replacement deletes the object first: checking the new one
        // against the old would only meet the immutable fields.
        if matches!(c.action, Action::Delete | Action::Replace)
            || unread.contains(&c.provider.as_str())
        {
            return None;
        }
        // Inside a namespace (or on a role) created by the same plan: the
        // server cannot check it before that exists.
        if !k.independent
            && graph
                .get(&c.address)
                .is_some_and(|r| r.depends_on.iter().any(|d| changing.contains(&d)))
        {
            return None;
        }
        let planned = resolved(&c.address, k.independent)?;
        let current = live.iter().find(|l| l.address == c.address);
        Some(async move {
            let notes = (k.check)(cloud, &planned, current)
                .await
                .map_err(|e| format!("  {}: {e}", c.address))?;
            Ok::<_, String>((i, notes))
        })
    });
    let mut failures = Vec::new();
    for result in futures::future::join_all(checks).await {
        match result {
            Ok((i, notes)) => plan.changes[i].notes = notes,
            Err(e) => failures.push(e),
        }
    }
    if failures.is_empty() {
        return Ok(());
    }
    Err(PipelineError::InCluster(format!(
        "{} of the planned changes would fail:\n{}",
        failures.len(),
        failures.join("\n")
    )))
}
