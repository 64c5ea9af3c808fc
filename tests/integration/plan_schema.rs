//! Checks plan JSON against docs/plan.schema.json: every plan the suite
//! prints with `--json` or saves with `-o` goes through [`check`] (see
//! `harness::Test::run`). A small validator of the JSON Schema keywords the
//! document uses: `type`, `enum`, `required`, `properties`,
//! `additionalProperties: false`, `items` and local `$ref`s; `type` may be
//! a list.

use serde_json::Value;

fn schema() -> Value {
    let text =
        std::fs::read_to_string(crate::harness::repo().join("docs/plan.schema.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn type_ok(t: &str, v: &Value) -> bool {
    match t {
        "object" => v.is_object(),
        "array" => v.is_array(),
        "string" => v.is_string(),
        "integer" => v.is_i64() || v.is_u64(),
        "number" => v.is_number(),
        "boolean" => v.is_boolean(),
        "null" => v.is_null(),
        _ => false,
    }
}

fn validate(root: &Value, s: &Value, v: &Value, at: &str, errors: &mut Vec<String>) {
    if let Some(r) = s["$ref"].as_str() {
        let name = r.trim_start_matches("#/$defs/");
        return validate(root, &root["$defs"][name], v, at, errors);
    }
    if let Some(t) = s["type"].as_str() {
        if !type_ok(t, v) {
            errors.push(format!("{at}: not {t}: {v}"));
            return;
        }
    }
    if let Some(ts) = s["type"].as_array() {
        if !ts.iter().filter_map(Value::as_str).any(|t| type_ok(t, v)) {
            errors.push(format!("{at}: not one of {ts:?}: {v}"));
            return;
        }
    }
    if let Some(options) = s["oneOf"].as_array() {
        let fits = options
            .iter()
            .filter(|o| {
                let mut e = Vec::new();
                validate(root, o, v, at, &mut e);
                e.is_empty()
            })
            .count();
        if fits != 1 {
            errors.push(format!("{at}: fits {fits} of oneOf, not 1: {v}"));
        }
    }
    if let (Some(p), Some(text)) = (s["pattern"].as_str(), v.as_str()) {
        if !regex::Regex::new(p).unwrap().is_match(text) {
            errors.push(format!("{at}: {text:?} does not match {p}"));
        }
    }
    if let Some(allowed) = s["enum"].as_array() {
        if !allowed.contains(v) {
            errors.push(format!("{at}: {v} is not one of {allowed:?}"));
        }
    }
    if let Some(obj) = v.as_object() {
        for r in s["required"].as_array().into_iter().flatten() {
            let r = r.as_str().unwrap();
            if !obj.contains_key(r) {
                errors.push(format!("{at}: `{r}` is missing"));
            }
        }
        let props = s["properties"].as_object();
        for (k, x) in obj {
            match props.and_then(|p| p.get(k)) {
                Some(ps) => validate(root, ps, x, &format!("{at}.{k}"), errors),
                None if s["additionalProperties"] == Value::Bool(false) => {
                    errors.push(format!("{at}: `{k}` is not in the schema"))
                }
                None if s["additionalProperties"].is_object() => validate(
                    root,
                    &s["additionalProperties"],
                    x,
                    &format!("{at}.{k}"),
                    errors,
                ),
                None => {}
            }
        }
    }
    if let (Some(items), Some(list)) = (s.get("items"), v.as_array()) {
        for (i, x) in list.iter().enumerate() {
            validate(root, items, x, &format!("{at}[{i}]"), errors);
        }
    }
}

/// A fleet's plan (`bp plan A.rhai B.rhai --json`, docs/PLAN-JSON.md):
/// each blueprint's entry as documented, and each plan made by the schema.
pub fn check_printed(printed: &Value) {
    let Some(fleet) = printed.get("fleet") else {
        return check(printed);
    };
    for entry in fleet.as_array().expect("fleet is a list") {
        let mut keys: Vec<&str> = entry
            .as_object()
            .expect("a fleet entry is an object")
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort();
        assert_eq!(
            keys,
            [
                "account",
                "blueprint",
                "file",
                "instances",
                "plan",
                "reads",
                "region",
                "waits_for"
            ],
            "{entry}"
        );
        match (&entry["plan"], &entry["waits_for"]) {
            (Value::Null, Value::Array(w)) => assert!(!w.is_empty(), "{entry}"),
            (plan, Value::Null) => check(plan),
            _ => panic!("a fleet entry has a plan or waits, not both: {entry}"),
        }
    }
}

/// Panics with every violation of the documented schema.
pub fn check(plan: &Value) {
    let root = schema();
    let mut errors = Vec::new();
    validate(&root, &root, plan, "plan", &mut errors);
    assert!(
        errors.is_empty(),
        "the plan JSON breaks docs/plan.schema.json:\n{}",
        errors.join("\n")
    );
}

#[test]
fn the_validator_catches_what_breaks_the_schema() {
    let good = serde_json::json!({
        "format_version": 2, "blueprint": "b", "region": "r", "changes": [
            {"address": "kms_key.k", "kind": "kms_key", "action": "create", "provider": "aws:r",
             "fields": [{"path": "name", "before": null, "after": "k"}]}
        ],
        "unchanged": 0, "fingerprint": "x", "desired": [], "summary": {"add": 1, "change": 0, "replace": 0, "destroy": 0}
    });
    check(&good);
    let mut bad = good.clone();
    bad["changes"][0]["action"] = serde_json::json!("explode");
    bad["extra"] = serde_json::json!(1);
    let result = std::panic::catch_unwind(|| check(&bad));
    let msg = *result.unwrap_err().downcast::<String>().unwrap();
    assert!(
        msg.contains("plan.changes[0].action: \"explode\" is not one of"),
        "{msg}"
    );
    assert!(msg.contains("plan: `extra` is not in the schema"), "{msg}");
}
