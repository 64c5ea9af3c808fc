//! A policy as IAM JSON, as Terraform `aws_iam_policy_document` data
//! sources, or as text for a person.

use super::{Policies, Statement};
use serde_json::{json, Value as Json};

/// How `bp permissions` prints a policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Json,
    Terraform,
    Text,
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Format, String> {
        match s {
            "json" => Ok(Format::Json),
            "terraform" => Ok(Format::Terraform),
            "text" => Ok(Format::Text),
            other => Err(format!(
                "`{other}` is not a policy format: json, terraform or text"
            )),
        }
    }
}

/// One statement as IAM JSON.
pub fn statement_json(s: &Statement) -> Json {
    let list = |v: &std::collections::BTreeSet<String>| -> Json {
        if v.len() == 1 {
            json!(v.iter().next())
        } else {
            json!(v)
        }
    };
    let mut out = json!({
        "Sid": s.sid,
        "Effect": "Allow",
        "Action": list(&s.actions),
        "Resource": list(&s.resources),
    });
    if let Some(c) = &s.condition {
        out["Condition"] = json!({ c.test: { c.key.clone(): if c.values.len() == 1 { json!(c.values[0]) } else { json!(c.values) } } });
    }
    out
}

/// One policy document as IAM JSON.
pub fn document_json(statements: &[Statement]) -> Json {
    json!({
        "Version": "2012-10-17",
        "Statement": statements.iter().map(statement_json).collect::<Vec<_>>(),
    })
}

/// The policy in `format`; `name` names the Terraform data sources.
pub fn render(p: &Policies, format: Format, name: &str) -> String {
    match format {
        Format::Json => {
            let docs: Vec<Json> = p.documents.iter().map(|d| document_json(d)).collect();
            let value = if docs.len() == 1 {
                docs.into_iter().next().unwrap_or(Json::Null)
            } else {
                Json::Array(docs)
            };
            format!(
                "{}\n",
                serde_json::to_string_pretty(&value).unwrap_or_default()
            )
        }
        Format::Terraform => terraform(p, name),
        Format::Text => text(p),
    }
}

fn hcl_list(items: impl IntoIterator<Item = String>) -> String {
    let items: Vec<String> = items
        .into_iter()
        .map(|i| serde_json::to_string(&i).unwrap_or_default())
        .collect();
    format!("[{}]", items.join(", "))
}

fn terraform(p: &Policies, name: &str) -> String {
    let mut out = String::new();
    for note in &p.notes {
        out.push_str(&format!("# {note}\n"));
    }
    let many = p.documents.len() > 1;
    for (i, doc) in p.documents.iter().enumerate() {
        let label = if many {
            format!("{name}_{}", i + 1)
        } else {
            name.to_string()
        };
        out.push_str(&format!(
            "data \"aws_iam_policy_document\" \"{label}\" {{\n"
        ));
        for s in doc {
            out.push_str("  statement {\n");
            out.push_str(&format!("    sid       = {:?}\n", s.sid));
            out.push_str("    effect    = \"Allow\"\n");
            out.push_str(&format!(
                "    actions   = {}\n",
                hcl_list(s.actions.iter().cloned())
            ));
            out.push_str(&format!(
                "    resources = {}\n",
                hcl_list(s.resources.iter().cloned())
            ));
            if let Some(c) = &s.condition {
                out.push_str("    condition {\n");
                out.push_str(&format!("      test     = {:?}\n", c.test));
                out.push_str(&format!("      variable = {:?}\n", c.key));
                out.push_str(&format!(
                    "      values   = {}\n",
                    hcl_list(c.values.iter().cloned())
                ));
                out.push_str("    }\n");
            }
            out.push_str("  }\n");
        }
        out.push_str("}\n");
    }
    out
}

fn text(p: &Policies) -> String {
    let mut out = String::new();
    let many = p.documents.len() > 1;
    for (i, doc) in p.documents.iter().enumerate() {
        if many {
            out.push_str(&format!(
                "Policy {} of {} (IAM allows 6,144 characters per managed policy):\n",
                i + 1,
                p.documents.len()
            ));
        }
        for s in doc {
            let on = s.resources.iter().cloned().collect::<Vec<_>>().join(", ");
            out.push_str(&format!("{} on {on}", s.sid));
            if let Some(c) = &s.condition {
                out.push_str(&format!(", where {} is {}", c.key, c.values.join(" or ")));
            }
            out.push_str(":\n");
            for a in &s.actions {
                out.push_str(&format!("  {a}\n"));
            }
        }
    }
    for note in &p.notes {
        out.push_str(&format!("note: {note}\n"));
    }
    out
}
