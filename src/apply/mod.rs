//! Executes a plan: operations in dependency order, in parallel up to a
//! limit, with progress lines; on a failure nothing new is started, what is
//! running finishes, and the report says what was and was not done.

mod order;

pub use order::{operations, Op, OpKind};

use crate::model::{Address, Live, Value};
use crate::plan::{diff_fields, resolve, Action, Plan};
use crate::providers::{Cloud, Planned, ProviderError};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::task::JoinSet;

/// One finished operation.
#[derive(Debug, Clone)]
pub struct Done {
    pub address: Address,
    pub kind: OpKind,
    pub id: Option<String>,
    pub elapsed: Duration,
}

#[derive(Debug, Default)]
pub struct Report {
    /// Ctrl-C stopped the scheduling of new operations.
    pub interrupted: bool,
    pub done: Vec<Done>,
    pub failed: Vec<(Address, OpKind, String)>,
    pub not_started: Vec<(Address, OpKind)>,
    /// Resources moved (`moved(from, to)`), re-tagged before the changes.
    pub moved: usize,
}

impl Report {
    pub fn ok(&self) -> bool {
        self.failed.is_empty() && self.not_started.is_empty()
    }
}

/// What the executor knows while it runs: live resources by address.
struct State {
    live: HashMap<Address, Live>,
    /// Resources replaced create-then-delete: the old one, kept for its
    /// delete once the new one exists under the same address.
    replaced: HashMap<Address, Live>,
    /// What each resource created or updated was applied with (secrets as
    /// hashes), and what was deleted for good: the records of the last
    /// apply that tell drift from intent.
    applied: Vec<(Address, Value)>,
    forgotten: Vec<Address>,
}

fn fmt_secs(d: Duration) -> String {
    format!("{:.1}s", d.as_secs_f64())
}

/// Applies a plan. `progress` receives one line per start and finish.
/// Applies `plan` against `live` (what was read for it), with `graph` the
/// desired state with its secrets (the plan's own desired state when it
/// holds none).
pub async fn apply(
    cloud: &Cloud,
    plan: &Plan,
    graph: &crate::model::Graph,
    live: &[Live],
    parallelism: usize,
    progress: impl Fn(&str) + Send + Sync + 'static,
) -> Report {
    crate::interrupt::clear();
    crate::interrupt::set_graceful(true);
    crate::engine::ops::drain_deleted_clusters(cloud, plan, &progress).await;
    // Moves first: what follows finds each resource at its new address.
    let mut report = Report::default();
    for m in &plan.moved {
        let (Some(id), Some(r)) = (&m.id, graph.get(&m.to)) else {
            continue;
        };
        progress(&format!("> {}: moving to {}...", m.from, m.to));
        let start = Instant::now();
        match crate::engine::ops::retag(cloud, &m.to, &r.spec, id).await {
            Ok(()) => {
                report.moved += 1;
                progress(&format!(
                    "> {}: moved to {} [{id}] after {}",
                    m.from,
                    m.to,
                    fmt_secs(start.elapsed())
                ));
            }
            Err(e) => {
                let e = crate::redact::redact(&e.to_string());
                progress(&format!("> {}: FAILED moving to {}: {e}", m.from, m.to));
                report.failed.push((
                    m.to.clone(),
                    OpKind::Update,
                    format!("moving from {}: {e}", m.from),
                ));
                for c in &plan.changes {
                    let kind = match c.action {
                        Action::Delete => OpKind::Delete,
                        Action::Create | Action::Replace => OpKind::Create,
                        Action::Update => OpKind::Update,
                    };
                    report.not_started.push((c.address.clone(), kind));
                }
                return report;
            }
        }
    }
    let ops = operations(plan, live);
    let graph = Arc::new(graph.clone());
    let state = Arc::new(Mutex::new(State {
        live: live
            .iter()
            .map(|l| (l.address.clone(), l.clone()))
            .collect(),
        replaced: HashMap::new(),
        applied: Vec::new(),
        forgotten: Vec::new(),
    }));
    let progress = Arc::new(progress);
    let mut status: Vec<Status> = vec![Status::Waiting; ops.len()];
    let mut running: JoinSet<(usize, Result<Option<String>, String>, Duration)> = JoinSet::new();
    let mut tasks: HashMap<tokio::task::Id, (usize, Instant)> = HashMap::new();
    let parallelism = parallelism.max(1);
    let mut failed = false;
    loop {
        if crate::interrupt::requested() && !report.interrupted {
            report.interrupted = true;
            progress("interrupted: starting nothing new, waiting for what is running");
        }
        if !failed && !report.interrupted {
            for i in 0..ops.len() {
                if running.len() >= parallelism {
                    break;
                }
                let ready = status[i] == Status::Waiting
                    && ops[i].after.iter().all(|&j| status[j] == Status::Done);
                if !ready {
                    continue;
                }
                status[i] = Status::Running;
                let op = ops[i].clone();
                let (doing, _) = op.kind.verb();
                progress(&format!("{} {}: {doing}...", symbol(op.kind), op.address));
                let cloud = cloud.clone();
                let state = state.clone();
                let graph = graph.clone();
                // What the operation waits for, as an event of its own.
                let waits = progress.clone();
                let key = format!("{} {}", symbol(op.kind), op.address);
                let waiting: Arc<dyn Fn(&str) + Send + Sync> =
                    Arc::new(move |what: &str| waits(&format!("{key}: {what}")));
                let task = running.spawn(crate::providers::WAITING.scope(waiting, async move {
                    let start = Instant::now();
                    let result = run_op(&cloud, &graph, &state, &op)
                        .await
                        .map_err(|e| e.to_string());
                    (i, result, start.elapsed())
                }));
                tasks.insert(task.id(), (i, Instant::now()));
            }
        }
        let Some(joined) = running.join_next().await else {
            break;
        };
        // A task that panicked still has its operation: report it by its
        // own address.
        let (i, result, elapsed) = match joined {
            Ok(x) => x,
            Err(e) => match tasks.get(&e.id()) {
                Some(&(i, started)) => (i, Err(format!("task failed: {e}")), started.elapsed()),
                None => {
                    failed = true;
                    continue;
                }
            },
        };
        let op = &ops[i];
        let (_, done) = op.kind.verb();
        match result {
            Ok(id) => {
                status[i] = Status::Done;
                let detail = id.as_ref().map(|id| format!(" [{id}]")).unwrap_or_default();
                progress(&format!(
                    "{} {}: {done}{detail} after {}",
                    symbol(op.kind),
                    op.address,
                    fmt_secs(elapsed)
                ));
                report.done.push(Done {
                    address: op.address.clone(),
                    kind: op.kind,
                    id,
                    elapsed,
                });
            }
            Err(e) => {
                status[i] = Status::Failed;
                failed = true;
                progress(&format!(
                    "{} {}: FAILED after {}: {e}",
                    symbol(op.kind),
                    op.address,
                    fmt_secs(elapsed)
                ));
                report.failed.push((op.address.clone(), op.kind, e));
            }
        }
    }
    crate::interrupt::set_graceful(false);
    record(cloud, &state, &*progress).await;
    record_instances(cloud, &state, &*progress).await;
    for (i, s) in status.iter().enumerate() {
        if *s == Status::Waiting {
            report
                .not_started
                .push((ops[i].address.clone(), ops[i].kind));
        }
    }
    report
}

fn symbol(k: OpKind) -> &'static str {
    match k {
        OpKind::Create => "+",
        OpKind::Update | OpKind::Finish => "~",
        OpKind::Delete => "-",
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Status {
    Waiting,
    Running,
    Done,
    Failed,
}

/// Writes the records of what was applied (and forgets what was deleted);
/// a failure is a warning: the apply itself stands, and the next plan
/// leaves those differences unlabelled.
async fn record(cloud: &Cloud, state: &Mutex<State>, progress: &(dyn Fn(&str) + Send + Sync)) {
    let (applied, forgotten) = {
        let mut st = state.lock().unwrap_or_else(|e| e.into_inner());
        (
            std::mem::take(&mut st.applied),
            std::mem::take(&mut st.forgotten),
        )
    };
    if applied.is_empty() && forgotten.is_empty() {
        return;
    }
    if let Err(e) = crate::providers::applied::write(cloud, &applied, &forgotten).await {
        progress(&format!(
            "warning: cannot record what was applied ({}): the next plan cannot tell drift from declared changes for these resources",
            crate::redact::redact(&e.to_string())
        ));
    }
}

/// Records the provider instances that hold the blueprint's resources
/// now, when they are not those recorded before: an instance the script
/// stops making is then still read by the next plan, which prunes what is
/// left there. A failure is a warning, as for the records of what was
/// applied.
async fn record_instances(
    cloud: &Cloud,
    state: &Mutex<State>,
    progress: &(dyn Fn(&str) + Send + Sync),
) {
    let specs = cloud.instance_specs();
    let now: std::collections::BTreeMap<String, crate::model::ProviderSpec> = {
        let st = state.lock().unwrap_or_else(|e| e.into_inner());
        st.live
            .keys()
            .filter_map(|a| a.provider.as_deref())
            .filter_map(|p| Some((p.to_string(), specs.get(p)?.clone())))
            .collect()
    };
    if &now == cloud.recorded() {
        return;
    }
    if let Err(e) = crate::providers::instances::record(cloud, &now).await {
        progress(&format!(
            "warning: cannot record which provider instances hold the blueprint's resources ({}): a plan after the script stops making one of them will not prune what is left there",
            crate::redact::redact(&e.to_string())
        ));
    }
}

/// Outputs of the resources that exist now, for resolving references.
fn known_outputs(state: &Mutex<State>) -> HashMap<Address, BTreeMap<String, String>> {
    let st = state.lock().unwrap_or_else(|e| e.into_inner());
    st.live
        .iter()
        .map(|(a, l)| (a.clone(), l.outputs.clone()))
        .collect()
}

/// The resource at `address` as it is to be made, its references resolved;
/// for an update of `live`, the fields it leaves to others keep their live
/// values. Also the spec to record, its secrets as hashes.
fn planned(
    graph: &crate::model::Graph,
    state: &Mutex<State>,
    address: &Address,
    live: Option<&Live>,
) -> Result<(Planned, Value), ProviderError> {
    let r = graph.get(address).ok_or_else(|| {
        ProviderError::Unexpected(format!("{address} is not in the plan's desired state"))
    })?;
    let outputs = known_outputs(state);
    let known: HashMap<Address, &BTreeMap<String, String>> =
        outputs.iter().map(|(a, o)| (a.clone(), o)).collect();
    let mut spec = resolve(&Value::Map(r.spec.clone()), &known);
    if let (Some(l), Value::Map(m)) = (live, &mut spec) {
        crate::model::ignore::keep_live(m, &r.ignore, &l.attrs);
    }
    let p = Planned::reveal(address, &spec)
        .map_err(|e| ProviderError::Spec(format!("{address}: {e}")))?;
    Ok((p, spec))
}

async fn run_op(
    cloud: &Cloud,
    graph: &crate::model::Graph,
    state: &Mutex<State>,
    op: &Op,
) -> Result<Option<String>, ProviderError> {
    let current = {
        let st = state.lock().unwrap_or_else(|e| e.into_inner());
        st.live.get(&op.address).cloned()
    };
    match op.kind {
        OpKind::Delete => {
            let old = state
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .replaced
                .remove(&op.address);
            if let Some(old) = old {
                crate::engine::ops::delete(cloud, &old).await?;
                return Ok(Some(old.id));
            }
            let live = current.ok_or_else(|| {
                ProviderError::Unexpected(format!("{} does not exist", op.address))
            })?;
            crate::engine::ops::delete(cloud, &live).await?;
            let mut st = state.lock().unwrap_or_else(|e| e.into_inner());
            st.live.remove(&op.address);
            if !graph.contains(&op.address) {
                st.forgotten.push(op.address.clone());
            }
            Ok(Some(live.id))
        }
        OpKind::Create => {
            let (p, spec) = planned(graph, state, &op.address, None)?;
            let live = crate::engine::ops::create(cloud, &p).await?;
            let id = live.id.clone();
            let mut st = state.lock().unwrap_or_else(|e| e.into_inner());
            st.applied.push((op.address.clone(), spec));
            // Create-then-delete: the old resource is still there.
            if let Some(old) = st.live.insert(op.address.clone(), live) {
                st.replaced.insert(op.address.clone(), old);
            }
            Ok(Some(id))
        }
        OpKind::Update | OpKind::Finish => {
            let live = current.ok_or_else(|| {
                ProviderError::Unexpected(format!("{} does not exist", op.address))
            })?;
            let (p, spec) = planned(graph, state, &op.address, Some(&live))?;
            let fields = diff_fields(
                op.address.kind.schema().fields,
                &Value::Map(p.spec.clone()),
                &Value::Map(live.attrs.clone()),
            );
            let live = if fields.is_empty() {
                live
            } else {
                crate::engine::ops::update(cloud, &p, &live, &fields).await?
            };
            let id = live.id.clone();
            let mut st = state.lock().unwrap_or_else(|e| e.into_inner());
            st.live.insert(op.address.clone(), live);
            st.applied.push((op.address.clone(), spec));
            Ok(Some(id))
        }
    }
}
