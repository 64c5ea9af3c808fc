//! `bp backup list|run|restore FILE`: the Velero backups of the blueprint's
//! cluster, on demand, and (in `list`) the recovery points of its AWS
//! Backup vaults.

use super::cloud::{self, AwsArgs};
use super::ScriptArgs;
use anyhow::{bail, Context, Result};
use blueprint::providers::kube::Conn;
use clap::{Args, Subcommand};
use serde_json::{json, Value as Json};
use std::time::Instant;

#[derive(Args, Debug)]
pub struct BackupArgs {
    #[command(subcommand)]
    pub command: BackupCommand,
}

#[derive(Subcommand, Debug)]
pub enum BackupCommand {
    /// The cluster's Velero backups and the AWS Backup vaults' recovery
    /// points, newest first
    List {
        #[command(flatten)]
        script: ScriptArgs,
        #[command(flatten)]
        aws: AwsArgs,
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Back up now, from a schedule's template (or every namespace)
    Run {
        #[command(flatten)]
        script: ScriptArgs,
        #[command(flatten)]
        aws: AwsArgs,
        /// The declared schedule whose template to use
        #[arg(long)]
        schedule: Option<String>,
        /// Wait until the backup is finished; exit 0 only when it completed
        #[arg(long)]
        wait: bool,
    },
    /// Restore a backup (asks first on a terminal)
    Restore {
        #[command(flatten)]
        script: ScriptArgs,
        /// The backup's name (see `bp backup list`)
        backup: String,
        #[command(flatten)]
        aws: AwsArgs,
        /// Restore only these namespaces; repeatable
        #[arg(long = "namespace", value_name = "NS")]
        namespaces: Vec<String>,
        /// Restore a namespace under another name (a scratch namespace for
        /// a recovery drill); repeatable
        #[arg(long = "namespace-mapping", value_name = "FROM=TO")]
        mappings: Vec<String>,
        /// Wait until the restore is finished; exit 0 only when it completed
        #[arg(long)]
        wait: bool,
        /// Restore without asking
        #[arg(long)]
        auto_approve: bool,
    },
}

const NS: &str = "velero";
const API: &str = "/apis/velero.io/v1/namespaces/velero";
/// Phases after which Velero changes nothing more.
const FINAL: &[&str] = &["Completed", "PartiallyFailed", "Failed", "FailedValidation"];

/// The blueprint, the cluster its backups are declared on, and a
/// connection to it with Velero's API present.
struct Target {
    conn: Conn,
    cloud: blueprint::providers::Cloud,
    graph: blueprint::model::Graph,
    cluster: String,
}

/// The cluster the blueprint declares Velero schedules on, if any.
fn velero_cluster(graph: &blueprint::model::Graph) -> Option<String> {
    graph
        .iter()
        .filter(|r| r.address.kind == blueprint::kinds::k8s::manifest::KIND)
        .find(|r| r.address.name.contains(&format!("/{NS}/Schedule/")))
        .map(|r| blueprint::kinds::k8s::object::cluster_of(&r.address).to_string())
}

/// A connection to the cluster, with Velero's API present.
async fn velero_conn(
    cloud: &blueprint::providers::Cloud,
    cluster: &str,
    script: &ScriptArgs,
) -> Result<Conn> {
    let conn = cloud.kube(cluster).await?;
    if conn.resource("velero.io/v1", "Backup").await?.is_none() {
        bail!(
            "Velero is not installed in cluster {cluster} (it serves no velero.io/v1 Backup): \
             apply {} first, whose c.backups(...) installs it",
            script.file.display()
        );
    }
    Ok(conn)
}

fn connect(rt: &tokio::runtime::Runtime, script: &ScriptArgs, aws: &AwsArgs) -> Result<Target> {
    let eval =
        blueprint::script::evaluate(&script.file, &script.options_in(aws.profile.as_deref())?)?;
    let Some(cluster) = velero_cluster(&eval.graph) else {
        bail!(
            "{} declares no Velero backups: add c.backups(#{{ bucket, schedules }}) and apply it",
            script.file.display()
        );
    };
    rt.block_on(async {
        let cloud = cloud::connect(aws, &eval.region, &eval.name).await?;
        let conn = velero_conn(&cloud, &cluster, script).await?;
        Ok(Target {
            conn,
            cloud,
            graph: eval.graph,
            cluster,
        })
    })
}

fn backups_of(rt: &tokio::runtime::Runtime, conn: &Conn) -> Result<Vec<Json>> {
    let mut items = rt.block_on(conn.list("list Velero backups", &format!("{API}/backups"), ""))?;
    items.sort_by(|a, b| {
        b["metadata"]["creationTimestamp"]
            .as_str()
            .cmp(&a["metadata"]["creationTimestamp"].as_str())
            .then(
                b["metadata"]["name"]
                    .as_str()
                    .cmp(&a["metadata"]["name"].as_str()),
            )
    });
    Ok(items)
}

/// What `list` shows of a backup.
fn row(b: &Json) -> Json {
    let s = &b["status"];
    json!({
        "name": b["metadata"]["name"],
        "schedule": b["metadata"]["labels"]["velero.io/schedule-name"],
        "phase": s["phase"].as_str().unwrap_or("New"),
        "started": s["startTimestamp"],
        "completed": s["completionTimestamp"],
        "expires": s["expiration"],
        "items_backed_up": s["progress"]["itemsBackedUp"],
        "warnings": s["warnings"].as_u64().unwrap_or(0),
        "errors": s["errors"].as_u64().unwrap_or(0),
    })
}

fn show(v: &Json) -> String {
    match v {
        Json::Null => "-".into(),
        Json::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Prints rows under a header, each column as wide as its widest cell.
fn table(heads: &[&str], cols: &[&str], rows: &[Json]) {
    let widths: Vec<usize> = cols
        .iter()
        .zip(heads)
        .map(|(c, h)| {
            rows.iter()
                .map(|r| show(&r[*c]).len())
                .max()
                .unwrap_or(0)
                .max(h.len())
        })
        .collect();
    let line = |cells: Vec<String>| {
        cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    println!("{}", line(heads.iter().map(|h| h.to_string()).collect()));
    for r in rows {
        println!("{}", line(cols.iter().map(|c| show(&r[*c])).collect()));
    }
}

/// The Velero backups of the blueprint's cluster and the recovery points
/// of its AWS Backup vaults.
fn list(script: &ScriptArgs, aws: &AwsArgs, as_json: bool) -> Result<i32> {
    let rt = cloud::runtime()?;
    let eval =
        blueprint::script::evaluate(&script.file, &script.options_in(aws.profile.as_deref())?)?;
    let cluster = velero_cluster(&eval.graph);
    let vaults: Vec<String> = eval
        .graph
        .iter()
        .filter(|r| r.address.kind == blueprint::kinds::aws_backup::vault::KIND)
        .map(|r| r.address.name.clone())
        .collect();
    if cluster.is_none() && vaults.is_empty() {
        bail!(
            "{} declares no backups: add c.backups(#{{ bucket, schedules }}) or backup_plan(...) and apply it",
            script.file.display()
        );
    }
    let (backups, vault_points) = rt.block_on(async {
        let cloud = cloud::connect(aws, &eval.region, &eval.name).await?;
        let backups = match &cluster {
            Some(c) => Some(velero_conn(&cloud, c, script).await?),
            None => None,
        };
        let points = futures::future::join_all(
            vaults
                .iter()
                .map(|v| blueprint::kinds::aws_backup::recovery_points(&cloud, v)),
        )
        .await;
        anyhow::Ok((backups, points))
    })?;
    let rows: Vec<Json> = match &backups {
        Some(conn) => backups_of(&rt, conn)?.iter().map(row).collect(),
        None => Vec::new(),
    };
    let mut points = Vec::new();
    let mut vault_rows = Vec::new();
    for (v, p) in vaults.iter().zip(vault_points) {
        let p = p?;
        vault_rows.push(json!({ "name": v, "exists": p.is_some() }));
        points.extend(p.unwrap_or_default());
    }
    if as_json {
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "cluster": cluster,
                "backups": rows,
                "vaults": vault_rows,
                "recovery_points": points,
            }))?
        );
        return Ok(0);
    }
    if let Some(c) = &cluster {
        if rows.is_empty() {
            println!("No Velero backups in cluster {c}.");
        } else {
            println!("Velero backups in cluster {c}:");
            table(
                &[
                    "NAME",
                    "SCHEDULE",
                    "PHASE",
                    "STARTED",
                    "COMPLETED",
                    "EXPIRES",
                    "ITEMS",
                    "WARNINGS",
                    "ERRORS",
                ],
                &[
                    "name",
                    "schedule",
                    "phase",
                    "started",
                    "completed",
                    "expires",
                    "items_backed_up",
                    "warnings",
                    "errors",
                ],
                &rows,
            );
        }
    }
    for v in &vault_rows {
        let name = v["name"].as_str().unwrap_or_default();
        if cluster.is_some() || !std::ptr::eq(v, &vault_rows[0]) {
            println!();
        }
        if v["exists"] != json!(true) {
            println!(
                "AWS Backup vault {name} does not exist yet: apply {} first.",
                script.file.display()
            );
            continue;
        }
        let mine: Vec<Json> = points
            .iter()
            .filter(|p| p["vault"] == json!(name))
            .cloned()
            .collect();
        if mine.is_empty() {
            println!("No recovery points in AWS Backup vault {name}.");
            continue;
        }
        println!("Recovery points in AWS Backup vault {name}:");
        table(
            &[
                "RESOURCE",
                "TYPE",
                "STATUS",
                "CREATED",
                "COMPLETED",
                "COLD",
                "EXPIRES",
                "BYTES",
            ],
            &[
                "resource",
                "type",
                "status",
                "created",
                "completed",
                "cold_at",
                "expires",
                "size_bytes",
            ],
            &mine,
        );
    }
    Ok(0)
}

/// Polls an object until its phase is final; prints each new phase. On a
/// terminal, a live line below says what it waits for and for how long, as
/// an apply's view does.
fn wait(rt: &tokio::runtime::Runtime, t: &Target, what: &str, path: &str) -> Result<Json> {
    let start = Instant::now();
    let mut last = String::new();
    let live = std::io::IsTerminal::is_terminal(&std::io::stdout()).then(|| {
        let bar = indicatif::ProgressBar::new_spinner();
        bar.set_style(
            indicatif::ProgressStyle::with_template("{spinner} {msg} {elapsed}")
                .expect("a valid template"),
        );
        bar.enable_steady_tick(std::time::Duration::from_millis(200));
        bar
    });
    let say = |line: String| match &live {
        Some(bar) => bar.println(line),
        None => println!("{line}"),
    };
    loop {
        let obj = rt
            .block_on(t.conn.get(what, path))?
            .with_context(|| format!("{what} disappeared"))?;
        let phase = obj["status"]["phase"].as_str().unwrap_or("New").to_string();
        if phase != last {
            say(format!(
                "{what}: {phase} after {:.0}s",
                start.elapsed().as_secs_f64()
            ));
            if let Some(bar) = &live {
                bar.set_message(format!("waiting for {what} to finish: {phase},"));
            }
            last = phase.clone();
        }
        if FINAL.contains(&phase.as_str()) {
            if let Some(bar) = &live {
                bar.finish_and_clear();
            }
            return Ok(obj);
        }
        if start.elapsed() > t.cloud.wait_timeout {
            bail!(
                "{what} is still {phase} after {}s",
                t.cloud.wait_timeout.as_secs()
            );
        }
        std::thread::sleep(t.cloud.poll_interval);
    }
}

/// Exit 0 only on Completed; otherwise the counts.
fn outcome(what: &str, obj: &Json) -> i32 {
    let s = &obj["status"];
    let phase = s["phase"].as_str().unwrap_or("?");
    let (errors, warnings) = (
        s["errors"].as_u64().unwrap_or(0),
        s["warnings"].as_u64().unwrap_or(0),
    );
    if phase == "Completed" {
        println!("{what} completed ({warnings} warnings).");
        0
    } else {
        println!("{what} finished {phase}: {errors} errors, {warnings} warnings.");
        1
    }
}

fn stamp() -> String {
    blueprint::sops::keys::rfc3339_now()
        .chars()
        .filter(|c| c.is_ascii_digit())
        .collect()
}

fn run(script: &ScriptArgs, aws: &AwsArgs, schedule: Option<&str>, wait_done: bool) -> Result<i32> {
    let rt = cloud::runtime()?;
    let t = connect(&rt, script, aws)?;
    let template = match schedule {
        Some(s) => {
            let declared: Vec<&blueprint::model::Resource> = t
                .graph
                .iter()
                .filter(|r| {
                    r.address
                        .name
                        .starts_with(&format!("{}/{NS}/Schedule/", t.cluster))
                })
                .collect();
            let names: Vec<&str> = declared
                .iter()
                .filter_map(|r| r.address.name.rsplit('/').next())
                .collect();
            let Some(r) = declared
                .iter()
                .find(|r| r.address.name.ends_with(&format!("/{s}")))
            else {
                let hint = blueprint::model::names::suggest(s, names.iter().copied())
                    .map(|n| format!(" (did you mean {n}?)"))
                    .unwrap_or_default();
                bail!(
                    "no schedule named {s}{hint}; the schedules: {}",
                    names.join(", ")
                );
            };
            r.spec
                .get("content")
                .and_then(|c| c.get("spec"))
                .and_then(|s| s.get("template"))
                .map(|t| t.to_json())
                .unwrap_or_else(|| json!({}))
        }
        None => {
            json!({ "includedNamespaces": ["*"], "storageLocation": "default", "ttl": "720h0m0s" })
        }
    };
    let name = format!("{}-{}", schedule.unwrap_or("manual"), stamp());
    let mut labels = json!({ "app.kubernetes.io/managed-by": "blueprint" });
    if let Some(s) = schedule {
        labels["velero.io/schedule-name"] = json!(s);
    }
    let body = json!({
        "apiVersion": "velero.io/v1", "kind": "Backup",
        "metadata": { "name": name, "namespace": NS, "labels": labels },
        "spec": template,
    });
    rt.block_on(t.conn.post(
        &format!("create backup {name}"),
        &format!("{API}/backups"),
        &body,
    ))?;
    println!("Created backup {name} in cluster {}.", t.cluster);
    if !wait_done {
        return Ok(0);
    }
    let done = wait(
        &rt,
        &t,
        &format!("backup {name}"),
        &format!("{API}/backups/{name}"),
    )?;
    Ok(outcome(&format!("Backup {name}"), &done))
}

fn restore(
    script: &ScriptArgs,
    aws: &AwsArgs,
    backup: &str,
    namespaces: &[String],
    mappings: &[String],
    wait_done: bool,
    auto_approve: bool,
) -> Result<i32> {
    let mut mapping = serde_json::Map::new();
    for m in mappings {
        let Some((from, to)) = m.split_once('=') else {
            bail!("--namespace-mapping `{m}` is not FROM=TO");
        };
        mapping.insert(from.trim().to_string(), json!(to.trim()));
    }
    let rt = cloud::runtime()?;
    let t = connect(&rt, script, aws)?;
    let all = backups_of(&rt, &t.conn)?;
    let Some(found) = all.iter().find(|b| b["metadata"]["name"] == backup) else {
        let names: Vec<&str> = all
            .iter()
            .filter_map(|b| b["metadata"]["name"].as_str())
            .collect();
        let hint = blueprint::model::names::suggest(backup, names.iter().copied())
            .map(|n| format!(" (did you mean {n}?)"))
            .unwrap_or_default();
        bail!(
            "no backup named {backup} in cluster {}{hint}; see `bp backup list`",
            t.cluster
        );
    };
    let phase = found["status"]["phase"].as_str().unwrap_or("New");
    if !FINAL.contains(&phase) {
        bail!("backup {backup} is still {phase}: wait until it is finished");
    }
    let mut scope = if namespaces.is_empty() {
        "every namespace".to_string()
    } else {
        format!("namespaces {}", namespaces.join(", "))
    };
    for (from, to) in &mapping {
        scope.push_str(&format!(
            " ({from} into {})",
            to.as_str().unwrap_or_default()
        ));
    }
    if !cloud::confirm(
        &format!(
            "restore {scope} of cluster {} from backup {backup}",
            t.cluster
        ),
        auto_approve,
    )? {
        println!("Restore cancelled.");
        return Ok(1);
    }
    let name = format!("{backup}-restore-{}", stamp());
    // With a mapping and no --namespace, only the mapped namespaces: a
    // drill must not restore the others in place.
    let included: Vec<&str> = if !namespaces.is_empty() {
        namespaces.iter().map(String::as_str).collect()
    } else if !mapping.is_empty() {
        mapping.keys().map(String::as_str).collect()
    } else {
        vec!["*"]
    };
    let body = json!({
        "apiVersion": "velero.io/v1", "kind": "Restore",
        "metadata": { "name": name, "namespace": NS, "labels": { "app.kubernetes.io/managed-by": "blueprint" } },
        "spec": { "backupName": backup, "includedNamespaces": included },
    });
    let mut body = body;
    if !mapping.is_empty() {
        body["spec"]["namespaceMapping"] = Json::Object(mapping);
    }
    rt.block_on(t.conn.post(
        &format!("create restore {name}"),
        &format!("{API}/restores"),
        &body,
    ))?;
    println!(
        "Created restore {name} from backup {backup} in cluster {}.",
        t.cluster
    );
    if !wait_done {
        return Ok(0);
    }
    let done = wait(
        &rt,
        &t,
        &format!("restore {name}"),
        &format!("{API}/restores/{name}"),
    )?;
    Ok(outcome(&format!("Restore {name}"), &done))
}

pub fn run_command(a: &BackupArgs) -> Result<i32> {
    match &a.command {
        BackupCommand::List { script, aws, json } => list(script, aws, *json),
        BackupCommand::Run {
            script,
            aws,
            schedule,
            wait,
        } => run(script, aws, schedule.as_deref(), *wait),
        BackupCommand::Restore {
            script,
            backup,
            aws,
            namespaces,
            mappings,
            wait,
            auto_approve,
        } => restore(
            script,
            aws,
            backup,
            namespaces,
            mappings,
            *wait,
            *auto_approve,
        ),
    }
}
