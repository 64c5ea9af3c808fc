//! Several blueprints as one fleet: `bp plan A.rhai B.rhai` or `bp plan
//! --all DIR` (and `apply`, `destroy`). They are ordered by the outputs
//! they read (`blueprint_outputs`): a blueprint comes after those it reads,
//! and destroy takes them in reverse. Each is planned, applied or destroyed
//! as it would be alone, with its own lock; a plan shows each blueprint's
//! plan and one summary table.

use super::cloud::{self, AwsArgs, Choice};
use super::ScriptArgs;
use anyhow::{bail, Context, Result};
use blueprint::plan::{render, Plan};
use clap::Args;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

#[derive(Args, Debug, Clone, Default)]
pub struct FleetArgs {
    /// More blueprints, taken with FILE as one fleet, ordered by the
    /// outputs they read
    #[arg(value_name = "MORE", value_hint = clap::ValueHint::FilePath)]
    pub more: Vec<PathBuf>,
    /// FILE is a folder: every blueprint in it (*.rhai, not *.test.rhai),
    /// as one fleet
    #[arg(long)]
    pub all: bool,
}

/// A blueprint of the fleet: its file, its name and region, and the
/// blueprints whose outputs it reads.
#[derive(Debug)]
pub struct Member {
    pub file: PathBuf,
    pub name: String,
    pub region: String,
    /// Where its provider instances make resources (`eu-west-1`,
    /// `222222222222/us-east-1`), besides its region.
    pub instances: Vec<String>,
    pub reads: BTreeSet<String>,
}

impl FleetArgs {
    /// The fleet's files, or `None` when the command is about one
    /// blueprint.
    pub fn files(&self, first: &Path) -> Result<Option<Vec<PathBuf>>> {
        if first.is_dir() {
            if !self.more.is_empty() {
                bail!("--all takes one folder; give blueprints as files, or one folder");
            }
            let mut files: Vec<PathBuf> = std::fs::read_dir(first)
                .with_context(|| format!("cannot read {}", first.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    let name = p.file_name().unwrap_or_default().to_string_lossy();
                    name.ends_with(".rhai") && !name.ends_with(".test.rhai") && p.is_file()
                })
                .collect();
            files.sort();
            if files.is_empty() {
                bail!("{} holds no blueprint (*.rhai)", first.display());
            }
            return Ok(Some(files));
        }
        if self.all {
            bail!("--all takes a folder, and {} is not one", first.display());
        }
        if self.more.is_empty() {
            return Ok(None);
        }
        let mut files = vec![first.to_path_buf()];
        files.extend(self.more.iter().cloned());
        Ok(Some(files))
    }
}

/// The fleet's blueprints, evaluated with no AWS read (for their names and
/// what they read), sources first.
pub fn members(files: &[PathBuf], script: &ScriptArgs, aws: &AwsArgs) -> Result<Vec<Member>> {
    let mut found = Vec::new();
    for file in files {
        let one = ScriptArgs {
            file: file.clone(),
            ..script.clone()
        };
        let eval = blueprint::script::evaluate(file, &one.options_in(aws.profile.as_deref())?)?;
        let reads = eval
            .graph
            .iter()
            .filter(|r| r.address.kind == blueprint::kinds::output::usage::KIND)
            .map(|r| r.address.name.clone())
            .collect();
        let mut instances: Vec<String> = eval
            .graph
            .providers()
            .values()
            .map(|s| s.location())
            .filter(|l| *l != eval.region)
            .collect();
        instances.sort();
        instances.dedup();
        found.push(Member {
            file: file.clone(),
            name: eval.name,
            region: eval.region,
            instances,
            reads,
        });
    }
    order(found)
}

/// Sources first; otherwise in the order given. Two blueprints of one name
/// and blueprints that read each other are errors.
fn order(mut left: Vec<Member>) -> Result<Vec<Member>> {
    let mut seen = BTreeMap::new();
    for m in &left {
        if let Some(other) = seen.insert(m.name.clone(), m.file.clone()) {
            bail!(
                "{} and {} are both blueprint {}: a fleet holds each blueprint once",
                other.display(),
                m.file.display(),
                m.name
            );
        }
    }
    let names: BTreeSet<String> = left.iter().map(|m| m.name.clone()).collect();
    let mut out: Vec<Member> = Vec::new();
    while !left.is_empty() {
        let done: BTreeSet<&String> = out.iter().map(|m| &m.name).collect();
        let ready = left.iter().position(|m| {
            m.reads
                .iter()
                .all(|s| !names.contains(s) || done.contains(s))
        });
        match ready {
            Some(i) => out.push(left.remove(i)),
            None => {
                let cycle: Vec<String> = left
                    .iter()
                    .map(|m| {
                        let reads: Vec<&str> = m
                            .reads
                            .iter()
                            .filter(|s| names.contains(*s))
                            .map(String::as_str)
                            .collect();
                        format!("{} reads {}", m.name, reads.join(", "))
                    })
                    .collect();
                bail!(
                    "the fleet's blueprints read each other's outputs in a cycle: {}",
                    cycle.join("; ")
                );
            }
        }
    }
    Ok(out)
}

/// One blueprint's line of the fleet's plan.
struct Row<'a> {
    member: &'a Member,
    account: String,
    outcome: Outcome,
}

enum Outcome {
    Planned(Box<Plan>),
    /// Its sources change first: it is planned once they are applied.
    Waits(Vec<String>),
}

/// `bp plan` of a fleet: each blueprint's plan, in order, then the
/// summary. A blueprint whose sources in the fleet change (or wait) waits
/// too: what it reads is known once they are applied.
pub fn plan(
    rt: &tokio::runtime::Runtime,
    members: &[Member],
    script: &ScriptArgs,
    aws: &AwsArgs,
    choice: &Choice,
    json: bool,
) -> Result<bool> {
    let mut rows: Vec<Row> = Vec::new();
    for m in members {
        let waits: Vec<String> = rows
            .iter()
            .filter(|r| m.reads.contains(&r.member.name))
            .filter(|r| match &r.outcome {
                Outcome::Planned(p) => p.has_changes(),
                Outcome::Waits(_) => true,
            })
            .map(|r| r.member.name.clone())
            .collect();
        if !waits.is_empty() {
            rows.push(Row {
                member: m,
                account: String::new(),
                outcome: Outcome::Waits(waits),
            });
            continue;
        }
        let one = ScriptArgs {
            file: m.file.clone(),
            ..script.clone()
        };
        let planned = cloud::make_plan(rt, &one, aws, choice)
            .with_context(|| format!("blueprint {} ({})", m.name, m.file.display()))?;
        let account = rt.block_on(account(&planned.cloud));
        if !json {
            println!("== {} ({})", m.name, m.file.display());
            print!("{}", super::plan_text(render::human(&planned.plan)));
            println!();
        }
        rows.push(Row {
            member: m,
            account,
            outcome: Outcome::Planned(Box::new(planned.plan)),
        });
    }
    let changes = rows.iter().any(|r| match &r.outcome {
        Outcome::Planned(p) => p.has_changes(),
        Outcome::Waits(_) => true,
    });
    if json {
        let all: Vec<serde_json::Value> = rows
            .iter()
            .map(|r| {
                let (plan, waits) = match &r.outcome {
                    Outcome::Planned(p) => (render::json(p), serde_json::Value::Null),
                    Outcome::Waits(w) => (serde_json::Value::Null, serde_json::json!(w)),
                };
                serde_json::json!({
                    "blueprint": r.member.name,
                    "file": r.member.file,
                    "account": r.account,
                    "region": r.member.region,
                    "instances": r.member.instances,
                    "reads": r.member.reads,
                    "waits_for": waits,
                    "plan": plan,
                })
            })
            .collect();
        let text = serde_json::to_string_pretty(&serde_json::json!({ "fleet": all }))?;
        println!("{}", blueprint::redact::redact(&text));
    } else {
        print!("{}", super::plan_text(summary(&rows)));
    }
    Ok(changes)
}

/// The account the blueprint is planned in (STS), or "-" when it cannot
/// be told.
async fn account(cloud: &blueprint::providers::Cloud) -> String {
    let sts = cloud.client(|conf, counter| {
        aws_sdk_sts::Client::from_conf(
            aws_sdk_sts::config::Builder::from(conf)
                .interceptor(counter)
                .build(),
        )
    });
    match sts.get_caller_identity().send().await {
        Ok(out) => out.account().unwrap_or("-").to_string(),
        Err(_) => "-".into(),
    }
}

fn summary(rows: &[Row]) -> String {
    let mut table = vec![[
        "blueprint".to_string(),
        "account".into(),
        "region".into(),
        "changes".into(),
        "cost / month".into(),
    ]];
    for r in rows {
        let (changes, cost) = match &r.outcome {
            Outcome::Planned(p) if p.has_changes() => {
                let s = p.summary();
                (
                    format!("+{} ~{} -/+{} -{}", s.add, s.change, s.replace, s.destroy),
                    p.cost
                        .as_ref()
                        .map(|c| signed(c.after - c.before))
                        .unwrap_or_else(|| "-".into()),
                )
            }
            Outcome::Planned(p) => (
                "no changes".into(),
                p.cost
                    .as_ref()
                    .map(|_| signed(0.0))
                    .unwrap_or_else(|| "-".into()),
            ),
            Outcome::Waits(w) => (format!("after {} is applied", w.join(", ")), "-".into()),
        };
        let account = if r.account.is_empty() {
            "-".to_string()
        } else {
            r.account.clone()
        };
        let region = if r.member.instances.is_empty() {
            r.member.region.clone()
        } else {
            format!("{} + {}", r.member.region, r.member.instances.join(", "))
        };
        table.push([r.member.name.clone(), account, region, changes, cost]);
    }
    let widths: Vec<usize> = (0..5)
        .map(|i| table.iter().map(|row| row[i].len()).max().unwrap_or(0))
        .collect();
    let mut out = format!("Fleet of {} blueprints, in order:\n", rows.len());
    for row in &table {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:w$}"))
            .collect();
        out.push_str(&format!("  {}\n", cells.join("  ").trim_end()));
    }
    out
}

fn signed(x: f64) -> String {
    if x < 0.0 {
        format!("-${:.2}", -x)
    } else {
        format!("+${x:.2}")
    }
}

/// Runs `one` on each blueprint in `order` (apply: sources first;
/// destroy: readers first), stopping at the first that does not succeed.
pub fn each(
    members: &[Member],
    reverse: bool,
    mut one: impl FnMut(&Path) -> Result<i32>,
) -> Result<i32> {
    let ordered: Vec<&Member> = if reverse {
        members.iter().rev().collect()
    } else {
        members.iter().collect()
    };
    let names: Vec<&str> = ordered.iter().map(|m| m.name.as_str()).collect();
    println!(
        "Fleet of {} blueprints, in this order: {}",
        ordered.len(),
        names.join(", ")
    );
    for (i, m) in ordered.iter().enumerate() {
        println!("\n== {} ({})", m.name, m.file.display());
        let code =
            one(&m.file).with_context(|| format!("blueprint {} ({})", m.name, m.file.display()))?;
        if code != 0 {
            let rest: Vec<&str> = names[i + 1..].to_vec();
            if !rest.is_empty() {
                println!("\nStopped at {}: not run: {}.", m.name, rest.join(", "));
            }
            return Ok(code);
        }
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(name: &str, reads: &[&str]) -> Member {
        Member {
            file: PathBuf::from(format!("{name}.rhai")),
            name: name.into(),
            region: "us-east-1".into(),
            instances: Vec::new(),
            reads: reads.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn names(m: &[Member]) -> Vec<&str> {
        m.iter().map(|m| m.name.as_str()).collect()
    }

    #[test]
    fn sources_come_first_and_the_rest_keep_their_order() {
        let ordered = order(vec![
            member("apps", &["cluster", "network"]),
            member("cluster", &["network", "elsewhere"]),
            member("dns", &[]),
            member("network", &[]),
        ])
        .unwrap();
        assert_eq!(names(&ordered), ["dns", "network", "cluster", "apps"]);
    }

    #[test]
    fn a_cycle_and_a_name_twice_are_errors() {
        let e = order(vec![
            member("a", &["b"]),
            member("b", &["a"]),
            member("c", &[]),
        ])
        .unwrap_err()
        .to_string();
        assert_eq!(
            e,
            "the fleet's blueprints read each other's outputs in a cycle: a reads b; b reads a"
        );
        let e = order(vec![member("a", &[]), member("a", &[])])
            .unwrap_err()
            .to_string();
        assert!(e.contains("are both blueprint a"), "{e}");
    }
}
