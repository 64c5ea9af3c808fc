//! An add-on's `configuration`, checked when planning against the JSON
//! Schema EKS publishes for its version (DescribeAddonConfiguration), so
//! that a wrong value is an error at the line that declares it, naming the
//! path and the rule, rather than a failed CreateAddon halfway through an
//! apply. Each schema is read once per run. `bp check` reads no AWS and
//! says it could not check.

use crate::model::{Problem, Value};
use crate::script::api::facts::{api_problem, read_aws};
use crate::script::state::{fail, Fallible, Shared};
use rhai::NativeCallContext;
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

/// Region, add-on and version.
type Key = (String, String, String);

/// The schemas read in this run, by region, add-on and version.
fn cache() -> &'static Mutex<HashMap<Key, String>> {
    static CACHE: OnceLock<Mutex<HashMap<Key, String>>> = OnceLock::new();
    CACHE.get_or_init(Mutex::default)
}

/// What the check records where it reads no AWS.
const UNCHECKED: &str = "check:the configuration of EKS add-ons against EKS's schema";

/// Checks `value`, the configuration of add-on `name` at `version` (or the
/// default version for Kubernetes `k8s`), against EKS's schema for it.
pub fn check(
    state: &Shared,
    ctx: &NativeCallContext,
    name: &str,
    (version, k8s): (Option<String>, Option<String>),
    value: &Value,
) -> Fallible<()> {
    let region = state.borrow().region.clone();
    let addon = name.to_string();
    let read = read_aws(state, ctx, UNCHECKED, |conf| async move {
        let eks = aws_sdk_eks::Client::new(&conf);
        let version = match version {
            Some(v) => v,
            None => {
                let k8s = k8s.unwrap_or_default();
                let out = eks
                    .describe_addon_versions()
                    .addon_name(&addon)
                    .kubernetes_version(&k8s)
                    .send()
                    .await
                    .map_err(|e| api_problem("addon(...)", "EKS DescribeAddonVersions", &e))?;
                let default = out
                    .addons()
                    .iter()
                    .flat_map(|a| a.addon_versions())
                    .find(|v| {
                        v.compatibilities().iter().any(|c| {
                            c.cluster_version() == Some(k8s.as_str()) && c.default_version()
                        })
                    })
                    .and_then(|v| v.addon_version())
                    .map(String::from);
                default.ok_or_else(|| {
                    Problem::new(format!(
                        "EKS offers no version of {addon} for Kubernetes {k8s}"
                    ))
                    .hint("declare the add-on's version, or check its name")
                })?
            }
        };
        let key = (region, addon.clone(), version.clone());
        if let Some(s) = cache().lock().ok().and_then(|c| c.get(&key).cloned()) {
            return Ok((version, s));
        }
        let schema = eks
            .describe_addon_configuration()
            .addon_name(&addon)
            .addon_version(&version)
            .send()
            .await
            .map_err(|e| api_problem("addon(...)", "EKS DescribeAddonConfiguration", &e))?
            .configuration_schema()
            .unwrap_or_default()
            .to_string();
        if let Ok(mut c) = cache().lock() {
            c.insert(key, schema.clone());
        }
        Ok((version, schema))
    })?;
    let Some((version, schema)) = read else {
        return Ok(());
    };
    let Ok(schema) = serde_json::from_str::<serde_json::Value>(&schema) else {
        return Ok(()); // none published: EKS checks the values itself
    };
    let validator = jsonschema::validator_for(&schema).map_err(|e| {
        fail(
            ctx,
            Problem::new(format!(
                "EKS's configuration schema of {name} {version} cannot be read: {e}"
            )),
        )
    })?;
    let instance = known(value);
    let errors: Vec<String> = validator
        .iter_errors(&instance)
        .map(|e| {
            let at = e.instance_path.to_string();
            format!(
                "at {}: {e} (rule {})",
                if at.is_empty() { "/" } else { &at },
                e.schema_path
            )
        })
        .collect();
    if errors.is_empty() {
        return Ok(());
    }
    Err(fail(
        ctx,
        Problem::new(format!(
            "the configuration of add-on {name} {version} does not fit EKS's schema for it:\n  {}",
            errors.join("\n  ")
        ))
        .hint(format!(
            "the schema: aws eks describe-addon-configuration --addon-name {name} --addon-version {version}"
        )),
    ))
}

/// The configuration as JSON, values known only after apply standing as
/// strings (they are ids and ARNs).
fn known(v: &Value) -> serde_json::Value {
    match v {
        Value::Ref(_) | Value::Template(_) | Value::Sensitive(_) => {
            serde_json::Value::String("(known after apply)".into())
        }
        Value::List(l) => serde_json::Value::Array(l.iter().map(known).collect()),
        Value::Map(m) => {
            serde_json::Value::Object(m.iter().map(|(k, x)| (k.clone(), known(x))).collect())
        }
        other => other.to_json(),
    }
}
