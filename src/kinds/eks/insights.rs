//! EKS upgrade insights, read when a plan steps a cluster's Kubernetes
//! version: EKS's own checks of what the next version breaks (APIs it
//! removes that the cluster still serves, add-ons and nodes too old for
//! it). An insight in ERROR refuses the step, naming it and EKS's
//! recommendation, unless the cluster's `allow_upgrade_insights` names it;
//! one in WARNING (or an allowed ERROR) is shown under the change.

use crate::kinds::Checked;
use crate::model::{Resource, Value};
use crate::plan::{Action, Change};
use crate::providers::{Cloud, ProviderError};
use aws_sdk_eks::types::{Category, InsightStatusValue, InsightsFilter};

/// The check of a cluster's planned change (`check_change` of its kind).
pub async fn check(cloud: &Cloud, c: &Change, r: &Resource) -> Result<Checked, ProviderError> {
    let steps = c.action == Action::Update && c.fields.iter().any(|f| f.path == "version");
    let (Some(name), Some(version)) = (r.str("name"), r.str("version")) else {
        return Ok(Checked::default());
    };
    if !steps {
        return Ok(Checked::default());
    }
    let allowed: Vec<String> = r
        .spec
        .get("allow_upgrade_insights")
        .and_then(Value::as_list)
        .unwrap_or_default()
        .iter()
        .filter_map(|v| v.as_str().map(String::from))
        .collect();
    let listed = cloud
        .eks()
        .list_insights()
        .cluster_name(name)
        .filter(
            InsightsFilter::builder()
                .categories(Category::UpgradeReadiness)
                .kubernetes_versions(version)
                .build(),
        )
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .map_err(ProviderError::api("ListInsights"));
    let listed = match listed {
        Ok(l) => l,
        // Not fatal: the step is planned, and the plan says what it could
        // not check.
        Err(e) if e.is_refused() => {
            return Ok(Checked {
                notes: vec![format!(
                    "the upgrade insights for Kubernetes {version} could not be read ({e}); check them before applying"
                )],
                refused: Vec::new(),
            })
        }
        Err(e) => return Err(e),
    };
    let mut out = Checked::default();
    for i in listed {
        let status = i.insight_status().and_then(|s| s.status());
        let error = status == Some(&InsightStatusValue::Error);
        if !error && status != Some(&InsightStatusValue::Warning) {
            continue;
        }
        let id = i.id().unwrap_or_default();
        let reason = i
            .insight_status()
            .and_then(|s| s.reason())
            .unwrap_or_default();
        let recommendation = cloud
            .eks()
            .describe_insight()
            .cluster_name(name)
            .id(id)
            .send()
            .await
            .map_err(ProviderError::api("DescribeInsight"))?
            .insight()
            .and_then(|d| d.recommendation().map(String::from))
            .unwrap_or_default();
        let what = format!(
            "upgrade insight \"{}\" ({id}) is {}: {reason}{}",
            i.name().unwrap_or_default(),
            if error { "ERROR" } else { "WARNING" },
            if recommendation.is_empty() {
                String::new()
            } else {
                format!("; EKS recommends: {recommendation}")
            }
        );
        if error && !allowed.iter().any(|a| a == id) {
            out.refused.push((
                "version".into(),
                format!(
                    "{what}\n    = hint: fix it first, or accept it with allow_upgrade_insights: [\"{id}\"] on the cluster"
                ),
            ));
        } else if error {
            out.notes
                .push(format!("{what} (accepted by allow_upgrade_insights)"));
        } else {
            out.notes.push(what);
        }
    }
    Ok(out)
}
