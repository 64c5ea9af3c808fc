//! The plan pipeline every front end runs (`bp plan`, `apply` and
//! `destroy`, the REPL's `:plan`, the benches, embedders): from an
//! evaluated blueprint, connect, take the blueprint's lock, read what it
//! owns, compute the diff, add what lint finds about the resources it
//! creates or changes and what it does to the monthly bill, refuse what is
//! protected or refused as declared, and let each cluster check the
//! in-cluster changes it would make. It takes plain options, never the
//! command line's.

use crate::diagnostic::Sources;
use crate::model::{Address, Graph, Live, Value};
use crate::plan::{self, Action, Plan, Unread};
use crate::providers::lock::{self, Holder, Lock, LockError};
use crate::providers::{self, Cloud, ProviderError, Target};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

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
    Read(ProviderError),
    /// Another run holds the blueprint's lock.
    #[error("blueprint {blueprint} is locked by {holder}{gone}\n  = hint: wait for it (--lock-timeout 5m); if that process is gone, `bp lock status FILE` shows the lock and `bp lock break FILE` removes it", gone = if holder.is_dead_here() { " (that process is not running on this host)" } else { "" })]
    Locked {
        blueprint: String,
        holder: Box<Holder>,
    },
    #[error("cannot take the blueprint's lock: {0}")]
    Lock(ProviderError),
    /// Changes refused as declared, or deletes and replacements of
    /// protected resources, each named.
    #[error("{0}")]
    Refused(String),
    /// In-cluster changes the server would refuse, each named.
    #[error("{0}")]
    InCluster(String),
    /// A `--target`, `--exclude` or `--replace` that names nothing it can.
    #[error("{0}")]
    Select(String),
}

// The read's error is part of the message, not a source: shown once.
impl From<ProviderError> for PipelineError {
    fn from(e: ProviderError) -> PipelineError {
        PipelineError::Read(e)
    }
}

/// The blueprint's lock, taken before anything is read.
pub struct LockRequest<'a> {
    /// Who takes it: this process, for a command.
    pub holder: Holder,
    /// How long to wait while another run holds it.
    pub wait: Duration,
    /// Called as soon as it is held: the caller gives it back (on every
    /// way out, Ctrl-C included), also when a later step fails.
    pub taken: &'a (dyn Fn(Lock) + Send + Sync),
}

/// What a plan is made with: plain values.
pub struct Options<'a> {
    /// Where: the region, profile, endpoint and Kubernetes access.
    pub target: &'a Target,
    pub lock: Option<LockRequest<'a>>,
    pub prices: &'a crate::cost::Prices,
    pub today: crate::lint::Date,
    /// A plan, or a destroy (everything the blueprint owns, protected
    /// resources only when asked).
    pub mode: plan::Mode,
    /// Refuse to plan when any kind cannot be listed, declared or not.
    pub strict: bool,
    /// `--target` and `--exclude`: plan part of the blueprint.
    pub selection: plan::select::Selection,
    /// `--replace`: replace these whatever their differences.
    pub replace: BTreeSet<Address>,
    /// `--include-protected` with `--replace`: a protected one among them
    /// is replaced too.
    pub replace_protected: bool,
    /// Delete what other blueprints read all the same (`--ignore-readers`).
    pub ignore_readers: bool,
}

/// What the read cost: for `-v` and the benches.
#[derive(Clone, Debug, Default)]
pub struct ReadStats {
    pub owned: usize,
    pub elapsed: Duration,
    pub aws_requests: usize,
    pub kube_requests: usize,
    /// How long each kind took.
    pub by_kind: Vec<(&'static str, Duration)>,
}

/// A plan, and what it was made from.
pub struct Made {
    pub plan: Plan,
    pub cloud: Cloud,
    pub live: Vec<Live>,
    pub read: ReadStats,
}

/// The whole pipeline: connect, lock, read, then plan ([`plan_from`]), or
/// for a destroy, plan the deletion of everything owned.
pub async fn run(desired: &Desired<'_>, opts: &Options<'_>) -> Result<Made, PipelineError> {
    let (cloud, mut reading, read) = connect_and_read(
        opts.target,
        desired.name,
        desired.graph,
        opts.lock.as_ref(),
        opts.strict,
    )
    .await?;
    let mut plan = if opts.mode.destroy {
        let mut plan = plan::compute_with(
            desired.name,
            desired.region,
            &desired.graph.providers_only(),
            &reading.live,
            opts.mode,
        );
        plan::select::restrict(
            &mut plan,
            desired.graph,
            &reading.live,
            &opts.selection,
            true,
        )
        .map_err(PipelineError::Select)?;
        plan
    } else {
        let moved = moves(desired.graph, &mut reading.live)?;
        let chosen = Chosen {
            selection: &opts.selection,
            replace: &opts.replace,
            replace_protected: opts.replace_protected,
            mode: opts.mode,
        };
        let mut plan = plan_chosen(
            &cloud,
            desired,
            &reading.live,
            std::mem::take(&mut reading.unread),
            opts.prices,
            opts.today,
            &chosen,
        )
        .await?;
        plan.moved = moved;
        plan
    };
    plan.unlisted = reading.unlisted;
    with_instances(&mut plan, &cloud);
    if !opts.ignore_readers {
        refuse_read(&cloud, &plan, &reading.live).await?;
    }
    Ok(Made {
        plan,
        cloud,
        live: reading.live,
        read,
    })
}

/// The plan names every provider instance it reads, also those the
/// script no longer makes (their resources are deleted with them), so
/// that a saved plan is applied with the same.
fn with_instances(plan: &mut Plan, cloud: &Cloud) {
    let specs = cloud.instance_specs();
    for c in &mut plan.changes {
        let Some(spec) = c.address.provider.as_deref().and_then(|p| specs.get(p)) else {
            continue;
        };
        if !plan
            .providers
            .contains_key(c.address.provider.as_deref().unwrap_or_default())
        {
            c.provider = format!("aws:{}", spec.location());
        }
    }
    plan.providers = specs;
}

/// The script's `moved(from, to)`, applied to what was read: each is
/// re-tagged by its kind's `bp adopt` when applied, so a kind that cannot
/// be adopted cannot be moved either.
fn moves(desired: &Graph, live: &mut [Live]) -> Result<Vec<plan::moves::Moved>, PipelineError> {
    let moved = plan::moves::resolve(desired, live).map_err(PipelineError::Select)?;
    for m in moved.iter().filter(|m| m.id.is_some()) {
        if !matches!(
            crate::kinds::def(m.to.kind).adopt,
            crate::kinds::Adopt::ByTags(_)
        ) {
            return Err(PipelineError::Select(format!(
                "moved({}, {}): a {} cannot be moved yet (it is re-tagged as `bp adopt` would, which does not take over this kind)",
                m.from, m.to, m.to.kind
            )));
        }
    }
    Ok(moved)
}

/// Connects to `target` for blueprint `name`, takes its lock when asked,
/// and reads what it owns (the clusters `graph` declares objects in
/// included): what every command that changes anything starts with.
pub async fn connect_and_read(
    target: &Target,
    name: &str,
    graph: &Graph,
    lock: Option<&LockRequest<'_>>,
    strict: bool,
) -> Result<(Cloud, providers::Reading, ReadStats), PipelineError> {
    let mut cloud = Cloud::connect_all(target, name, graph.providers()).await;
    let record_start = Instant::now();
    let before_record = cloud.requests_sent();
    // The instances that held the blueprint's resources when it was last
    // applied: one the script no longer makes is read all the same.
    let recorded = match providers::instances::recorded(&cloud).await {
        Ok(r) => r,
        Err(e) if e.is_refused() => {
            tracing::warn!(
                target: "blueprint::read",
                error = %e,
                "cannot read which provider instances hold the blueprint's resources: an instance the script no longer makes is not read"
            );
            Default::default()
        }
        Err(e) => return Err(PipelineError::Read(e)),
    };
    for (alias, was) in &recorded {
        if let Some(now) = graph.provider(alias) {
            if !now.same_place(was) {
                return Err(PipelineError::Refused(format!(
                    "provider instance `{alias}` held the blueprint's resources in aws:{} when it was last applied, and is aws:{} now: they would be left behind there\n  = hint: give the new instance another alias (its resources are then made there, and the old ones deleted), or destroy with the old one first",
                    was.location(),
                    now.location()
                )));
            }
        }
    }
    let dropped: BTreeMap<String, crate::model::ProviderSpec> = recorded
        .iter()
        .filter(|(alias, _)| graph.provider(alias).is_none())
        .map(|(a, s)| (a.clone(), s.clone()))
        .collect();
    if !dropped.is_empty() {
        cloud = cloud.with_instances(target, &dropped).await;
    }
    cloud.set_recorded(recorded);
    // What the locks cost is not the read's.
    let recorded_with = cloud.requests_sent() - before_record;
    let recorded_in = record_start.elapsed();
    if let Some(l) = lock {
        // One lock in each account and region the blueprint touches.
        for at in lock_places(&cloud, target) {
            match lock::acquire(at, l.holder.clone(), l.wait).await {
                Ok(held) => (l.taken)(held),
                Err(LockError::Held { blueprint, holder }) => {
                    return Err(PipelineError::Locked {
                        blueprint,
                        holder: Box::new(holder),
                    })
                }
                Err(LockError::Provider(e)) => return Err(PipelineError::Lock(e)),
            }
        }
    }
    let start = Instant::now();
    let kube = || {
        cloud
            .kube
            .requests
            .load(std::sync::atomic::Ordering::Relaxed)
    };
    let (aws_before, kube_before) = (cloud.requests_sent(), kube());
    let reading = crate::engine::ops::read_all(&cloud, graph, strict).await?;
    let read = ReadStats {
        owned: reading.live.len(),
        elapsed: start.elapsed() + recorded_in,
        aws_requests: cloud.requests_sent() - aws_before + recorded_with,
        kube_requests: kube() - kube_before,
        by_kind: cloud
            .read_times
            .lock()
            .map(|t| t.clone())
            .unwrap_or_default(),
    };
    Ok((cloud, reading, read))
}

/// Where the blueprint's locks are taken: the command line's account and
/// region, and each provider instance that reaches another (by its
/// region, role or profile).
pub fn lock_places<'a>(cloud: &'a Cloud, target: &Target) -> Vec<&'a Cloud> {
    let here = crate::model::ProviderSpec {
        region: target.region.clone(),
        assume_role: None,
        external_id: None,
        profile: target.profile.clone(),
    };
    let mut seen = vec![here];
    let mut places = vec![cloud];
    for (_, c) in cloud.instances() {
        let Some(spec) = c.spec() else {
            continue;
        };
        let mut spec = spec.clone();
        spec.profile = spec.profile.or_else(|| target.profile.clone());
        spec.external_id = None;
        if !seen.contains(&spec) {
            seen.push(spec);
            places.push(c);
        }
    }
    places
}

/// Reads what the blueprint owns, then makes the plan ([`plan_from`]).
pub async fn plan(
    cloud: &Cloud,
    desired: &Desired<'_>,
    prices: &crate::cost::Prices,
    today: crate::lint::Date,
) -> Result<(Plan, Vec<Live>), PipelineError> {
    let reading = crate::engine::ops::read_all(cloud, desired.graph, false).await?;
    let mut plan = plan_from(cloud, desired, &reading.live, reading.unread, prices, today).await?;
    plan.unlisted = reading.unlisted;
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
    let chosen = Chosen {
        selection: &plan::select::Selection::default(),
        replace: &BTreeSet::new(),
        replace_protected: false,
        mode: plan::Mode::default(),
    };
    plan_chosen(cloud, desired, live, unread, prices, today, &chosen).await
}

/// What the operator chose: part of the blueprint, and replacements.
struct Chosen<'a> {
    selection: &'a plan::select::Selection,
    replace: &'a BTreeSet<Address>,
    replace_protected: bool,
    mode: plan::Mode,
}

/// [`plan_from`] with the operator's choices.
async fn plan_chosen(
    cloud: &Cloud,
    desired: &Desired<'_>,
    live: &[Live],
    unread: Vec<Unread>,
    prices: &crate::cost::Prices,
    today: crate::lint::Date,
    chosen: &Chosen<'_>,
) -> Result<Plan, PipelineError> {
    for a in chosen.replace {
        if !desired.graph.contains(a) {
            let near =
                plan::select::nearest(&a.to_string(), desired.graph.iter().map(|r| &r.address));
            return Err(PipelineError::Select(format!(
                "--replace {a}: the blueprint declares no such address{}",
                near.map(|n| format!("; the nearest is {n}"))
                    .unwrap_or_default()
            )));
        }
        if !live.iter().any(|l| &l.address == a) {
            return Err(PipelineError::Select(format!(
                "--replace {a}: it does not exist yet, so there is nothing to replace"
            )));
        }
    }
    let mut plan = plan::compute_replacing(
        desired.name,
        desired.region,
        desired.graph,
        live,
        chosen.mode,
        chosen.replace,
        chosen.replace_protected,
    );
    plan::select::restrict(&mut plan, desired.graph, live, chosen.selection, false)
        .map_err(PipelineError::Select)?;
    label_origins(cloud, &mut plan, desired.graph, live).await;
    plan.unread = unread;
    insights(&mut plan, desired, live, prices, today);
    check_changes(cloud, &mut plan, desired.graph).await?;
    refuse_protected(&plan, chosen.mode.include_protected)?;
    check_in_cluster(cloud, &mut plan, desired.graph, live).await?;
    Ok(plan)
}

/// Each change labelled drift, declared or both, from the records of the
/// last apply. Records that cannot be read (no permission to) leave the
/// plan unlabelled, with a warning in the log: the plan itself stands.
async fn label_origins(cloud: &Cloud, plan: &mut Plan, desired: &Graph, live: &[Live]) {
    let wanted = plan::origin::wanted(plan);
    if wanted.is_empty() {
        return;
    }
    match providers::applied::read(cloud, &wanted).await {
        Ok(records) => plan::origin::label(plan, &records, desired, live),
        Err(e) => tracing::warn!(
            target: "blueprint::plan",
            error = %e,
            "cannot read the records of the last apply: differences are not labelled drift or declared"
        ),
    }
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
    // Each resource at its own region's prices.
    let region_of = |a: &Address| desired.graph.region_of(a, desired.region);
    let before = crate::cost::breakdown_in(
        live.iter().map(|l| (&l.address, &l.attrs)),
        region_of,
        prices,
        today,
    );
    // What exists keeps the values of the fields it leaves to others (the
    // autoscaler's node count): they cost what they cost now.
    let live_at: HashMap<&Address, &Live> = live.iter().map(|l| (&l.address, l)).collect();
    let kept: Vec<(&Address, crate::model::Map)> = desired
        .graph
        .iter()
        .map(|r| {
            let mut spec = r.spec.clone();
            if let Some(l) = live_at.get(&r.address) {
                crate::model::ignore::keep_live(&mut spec, &r.ignore, &l.attrs);
            }
            (&r.address, spec)
        })
        .collect();
    let after = crate::cost::breakdown_in(
        kept.iter().map(|(a, spec)| (*a, spec)),
        region_of,
        prices,
        today,
    );
    let changed: Vec<&Address> = plan.changes.iter().map(|c| &c.address).collect();
    plan.cost = Some(crate::cost::plan_cost(&before, &after, &changed, prices));
}

/// A plan that would delete or replace a protected resource (unless
/// `included`: `--include-protected`), or that makes a change a field's
/// guard refuses, is an error naming each one and why.
pub fn refuse_protected(plan: &Plan, included: bool) -> Result<(), PipelineError> {
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
    if plan.protected.is_empty() || included {
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

/// Each change of a kind that checks its changes when planning (a
/// cluster's version step against its upgrade insights): notes go under
/// the change, refusals into the plan's, which stop it.
async fn check_changes(cloud: &Cloud, plan: &mut Plan, graph: &Graph) -> Result<(), PipelineError> {
    let checks = plan.changes.iter().enumerate().filter_map(|(i, c)| {
        let check = crate::kinds::def(c.address.kind).check_change?;
        let r = graph.get(&c.address)?;
        Some(async move { (i, check(cloud.at(&c.address), c, r).await) })
    });
    for (i, checked) in futures::future::join_all(checks).await {
        let checked = checked?;
        let address = plan.changes[i].address.clone();
        plan.changes[i].notes.extend(checked.notes);
        for (field, message) in checked.refused {
            plan.refused.push(plan::Refused {
                address: address.clone(),
                field,
                message,
            });
        }
    }
    Ok(())
}

/// A plan that would delete or replace what other blueprints read (an
/// output, by the reader tags their applies left) is an error naming each
/// one and its readers. Only the deletes ask: a plan without any costs no
/// call.
async fn refuse_read(cloud: &Cloud, plan: &Plan, live: &[Live]) -> Result<(), PipelineError> {
    let asks = plan
        .changes
        .iter()
        .filter(|c| matches!(c.action, Action::Delete | Action::Replace))
        .filter_map(|c| {
            let read_by = crate::kinds::def(c.address.kind).read_by?;
            let l = live.iter().find(|l| l.address == c.address)?;
            Some(async move { (l, read_by(cloud.at(&l.address), l).await) })
        });
    let mut lines = Vec::new();
    for (l, readers) in futures::future::join_all(asks).await {
        let readers = readers?;
        if !readers.is_empty() {
            lines.push(format!(
                "  {} is read by blueprint {}",
                l.address,
                readers.join(", ")
            ));
        }
    }
    if lines.is_empty() {
        return Ok(());
    }
    Err(PipelineError::Refused(format!(
        "the plan would delete what other blueprints read:\n{}\n  = hint: destroy or change those blueprints first (their next apply stops reading it), or give --ignore-readers to go on anyway",
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
