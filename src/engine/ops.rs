//! The kinds' behaviour, dispatched: every owned resource read (the kinds
//! in parallel), and one resource created, updated or deleted by its kind.
//! The layers below never reach for a kind's functions; they come from
//! here, where the registry is.

use crate::kinds::{self, KindDef, Read, REGISTRY};
use crate::model::schema::Scope;
use crate::model::{Graph, Kind, Live, Unlisted, Value};
use crate::plan::{self, FieldDiff, Unread};
use crate::providers::{self, kube, Cloud, Planned, ProviderError, Reading};
use std::time::Duration;

/// Reads every owned resource of every kind, the kinds in parallel: one
/// batched read per kind that has its own (see [`Read`]);
/// then, in each cluster the blueprint declares objects in, one LIST per
/// in-cluster kind. A cluster the blueprint creates and that does not exist
/// yet is not read: its objects are planned as creates.
///
/// A kind's list call that is refused (no permission, or an endpoint that
/// does not serve it) stops the read only when the blueprint declares that
/// kind (or one read with it), or when `strict`; otherwise the kind is
/// listed in [`Reading::unlisted`] and the read goes on.
/// The clusters `desired` names without owning them: `existing_cluster`s,
/// those named by a plain name in a resource's `cluster` (an access entry
/// of an `existing_cluster`), and those it declares in-cluster objects in.
fn existing_clusters(desired: &Graph) -> Vec<String> {
    let mut names: std::collections::BTreeSet<String> = kube::clusters(desired)
        .into_iter()
        .filter(|(_, owned)| owned.is_none())
        .map(|(name, _)| name)
        .collect();
    names.extend(desired.existing_clusters().cloned());
    names.extend(
        desired
            .iter()
            .filter_map(|r| r.spec.get("cluster").and_then(crate::model::Value::as_str))
            .map(String::from),
    );
    for r in desired
        .iter()
        .filter(|r| r.address.kind.schema().scope == Scope::AwsCluster)
    {
        names.remove(r.str("name").unwrap_or(&r.address.name));
    }
    names.into_iter().collect()
}

pub async fn read_all(
    cloud: &Cloud,
    desired: &Graph,
    strict: bool,
) -> Result<Reading, ProviderError> {
    if cloud.instances().next().is_none() {
        let (live, unlisted) = read_aws(cloud, desired, strict).await?;
        return read_in_cluster(cloud, desired, strict, live, unlisted).await;
    }
    // The command line's account and region, and each provider
    // instance's, read in parallel; each keeps what is its own.
    let parts: Vec<(Option<&str>, &Cloud, Graph)> =
        std::iter::once((None, cloud, desired.of_provider(None)))
            .chain(
                cloud
                    .instances()
                    .map(|(alias, c)| (Some(alias), c, desired.of_provider(Some(alias)))),
            )
            .collect();
    let read = parts.iter().map(|(_, c, g)| read_aws(c, g, strict));
    let mut live = Vec::new();
    let mut unlisted = Vec::new();
    for ((alias, ..), part) in parts.iter().zip(futures::future::join_all(read).await) {
        let (found, not_listed) = part?;
        unlisted.extend(not_listed);
        live.extend(
            found
                .into_iter()
                .filter_map(|l| cloud.belongs(*alias, desired, l)),
        );
    }
    read_in_cluster(cloud, desired, strict, live, unlisted).await
}

/// What one account and region holds of the blueprint's: every kind with
/// its own read, and the kinds that could not be listed.
async fn read_aws(
    cloud: &Cloud,
    desired: &Graph,
    strict: bool,
) -> Result<(Vec<Live>, Vec<Unlisted>), ProviderError> {
    let own: Vec<&KindDef> = REGISTRY
        .iter()
        .copied()
        .filter(|d| matches!(d.read, Read::Own(_)))
        .collect();
    let own = worth_listing(cloud, own, desired).await;
    cloud.set_existing_clusters(existing_clusters(desired));
    let reads = own.iter().filter_map(|d| match d.read {
        Read::Own(read) => Some(cloud.timed(d.kind.as_str(), read(cloud))),
        _ => None,
    });
    let mut live = Vec::new();
    let mut unlisted = Vec::new();
    cloud.take_unlisted();
    for (d, part) in own.iter().zip(futures::future::join_all(reads).await) {
        match part {
            Ok(found) => live.extend(found),
            Err(e) if e.is_refused() => {
                unlisted.push(refused(cloud, d, &read_with(d), desired, strict, e)?)
            }
            Err(e) => return Err(e),
        }
    }
    // The kinds a read that lists several could not list.
    for (kind, e) in cloud.take_unlisted() {
        unlisted.push(refused(
            cloud,
            kinds::def(kind),
            &[kind],
            desired,
            strict,
            e,
        )?);
    }
    Ok((live, unlisted))
}

/// Then each cluster the blueprint declares objects in, once it exists:
/// its objects, with what was read in AWS.
async fn read_in_cluster(
    cloud: &Cloud,
    desired: &Graph,
    strict: bool,
    mut live: Vec<Live>,
    mut unlisted: Vec<Unlisted>,
) -> Result<Reading, ProviderError> {
    let mut unread = Vec::new();
    let mut conns = Vec::new();
    let declared = kube::clusters(desired);
    for (cluster, resource) in &declared {
        match resource {
            Some(a) if !live.iter().any(|l| &l.address == a) => unread.push(Unread {
                provider: format!("kubernetes:{cluster}"),
                why: format!("cluster {cluster} does not exist yet"),
            }),
            _ => conns.push(cloud.kube(cluster).await?),
        }
    }
    // And the clusters the blueprint owns where it declares nothing (any
    // more): what it put there before is found and pruned. Only through a
    // kubeconfig context: a cluster it cannot reach that way is left alone.
    for l in live
        .iter()
        .filter(|l| l.address.kind.schema().scope == Scope::AwsCluster)
        .filter(|l| !declared.contains_key(&l.address.name))
    {
        if let Some(conn) = cloud.kube_if_configured(&l.address.name).await? {
            conns.push(conn);
        }
    }
    let in_cluster: Vec<(&kube::Conn, &KindDef)> = conns
        .iter()
        .flat_map(|conn| {
            REGISTRY
                .iter()
                .filter(|d| matches!(d.read, Read::InCluster(_)))
                .map(move |d| (conn, *d))
        })
        .collect();
    let reads = in_cluster.iter().filter_map(|(conn, d)| match d.read {
        Read::InCluster(k) => Some(cloud.timed(d.kind.as_str(), (k.read)(cloud, conn, desired))),
        _ => None,
    });
    for ((conn, d), part) in in_cluster
        .iter()
        .zip(futures::future::join_all(reads).await)
    {
        match part {
            Ok(found) => live.extend(found),
            Err(e) if e.is_forbidden() => {
                unlisted.push(forbidden(&conn.cluster, d, desired, strict, e)?)
            }
            Err(e) => return Err(e),
        }
    }
    plan::separate_duplicates(&mut live);
    live.sort_by(|a, b| a.address.cmp(&b.address));
    Ok(Reading {
        live,
        unread,
        unlisted,
    })
}

/// The kinds a kind's own read returns: itself and those read with it.
/// The kinds worth listing: those the blueprint declares, those the
/// tagging API cannot find (or whose read lists other kinds with them, a
/// backup vault's plans), and of the rest those it finds a resource of
/// this blueprint's of, asked in one call. When it cannot say (refused,
/// or not served), every kind.
async fn worth_listing<'a>(
    cloud: &Cloud,
    own: Vec<&'a KindDef>,
    desired: &Graph,
) -> Vec<&'a KindDef> {
    let findable: Vec<&'static str> = own
        .iter()
        .filter(|d| read_with(d) == [d.kind] && desired.of_kind(d.kind).next().is_none())
        .filter_map(|d| d.tagged_as)
        .collect();
    if findable.is_empty() {
        return own;
    }
    let Ok(found) = crate::providers::aws::tagging::owned_types(cloud, &findable).await else {
        return own;
    };
    own.into_iter()
        .filter(|d| match d.tagged_as {
            Some(t) if findable.contains(&t) => found.contains(t),
            _ => true,
        })
        .collect()
}

fn read_with(d: &KindDef) -> Vec<Kind> {
    REGISTRY
        .iter()
        .filter(|x| x.kind == d.kind || matches!(x.read, Read::With(k) if k == d.kind))
        .map(|x| x.kind)
        .collect()
}

/// A refused list call, which would have returned the kinds `covered`: an
/// error when the blueprint declares one of them (or `strict`), otherwise
/// the kind, unlisted.
fn refused(
    cloud: &Cloud,
    d: &KindDef,
    covered: &[Kind],
    desired: &Graph,
    strict: bool,
    e: ProviderError,
) -> Result<Unlisted, ProviderError> {
    let action = e.operation().and_then(|op| cloud.requests.iam_action(op));
    let call = match &action {
        Some(a) => format!("{a}: {e}"),
        None => e.to_string(),
    };
    let allow = match &action {
        Some(a) => format!("allow {a} for the credentials in use"),
        None => "allow the call for the credentials in use".to_string(),
    };
    let declared = covered
        .iter()
        .find(|k| desired.of_kind(**k).next().is_some());
    if let Some(k) = declared {
        return Err(ProviderError::Unsupported(format!(
            "cannot list {k} ({call}), which the blueprint declares\n  = hint: {allow}, or use an endpoint that serves it"
        )));
    }
    if strict {
        return Err(ProviderError::Unsupported(format!(
            "cannot list {} ({call}); --strict refuses to plan without it\n  = hint: {allow}, or plan without --strict (what the blueprint owned of that kind is then not pruned)",
            d.kind
        )));
    }
    tracing::debug!(target: "blueprint::read", kind = %d.kind, error = %e, "cannot list a kind the blueprint does not declare");
    Ok(Unlisted {
        kind: d.kind.to_string(),
        action,
        why: e.to_string(),
    })
}

/// A LIST the cluster's RBAC refused (403): an error when the blueprint
/// declares that kind in the cluster (or `strict`), otherwise the kind,
/// unlisted in that cluster.
fn forbidden(
    cluster: &str,
    d: &KindDef,
    desired: &Graph,
    strict: bool,
    e: ProviderError,
) -> Result<Unlisted, ProviderError> {
    let what = format!("{} in cluster {cluster}", d.kind);
    let allow = format!(
        "grant the credentials' Kubernetes user the list verb on that resource in cluster {cluster} (an RBAC ClusterRole, or an EKS access policy)"
    );
    let declared = desired
        .of_kind(d.kind)
        .any(|r| r.address.name.split('/').next() == Some(cluster));
    if declared {
        return Err(ProviderError::Unsupported(format!(
            "cannot list {what} ({e}), which the blueprint declares\n  = hint: {allow}"
        )));
    }
    if strict {
        return Err(ProviderError::Unsupported(format!(
            "cannot list {what} ({e}); --strict refuses to plan without it\n  = hint: {allow}, or plan without --strict (what the blueprint owned of that kind there is then not pruned)"
        )));
    }
    tracing::debug!(target: "blueprint::read", kind = %d.kind, cluster, error = %e, "cannot list a kind the blueprint does not declare in the cluster");
    Ok(Unlisted {
        kind: what,
        action: None,
        why: e.to_string(),
    })
}

/// `moved(from, to)` applied: the resource with `id` is tagged as the
/// blueprint's at `to` (as `bp adopt` tags it), so that reads find it
/// there.
pub async fn retag(
    cloud: &Cloud,
    to: &crate::model::Address,
    spec: &crate::model::Map,
    id: &str,
) -> Result<(), ProviderError> {
    let cloud = cloud.at(to);
    match kinds::def(to.kind).adopt {
        kinds::Adopt::ByTags(f) => f(cloud, id, &cloud.tags_for(to, spec)).await,
        _ => Err(ProviderError::Unsupported(format!(
            "a {} cannot be moved yet",
            to.kind
        ))),
    }
}

/// How many times a create is tried when AWS throttles it or its answer
/// is lost.
const CREATE_ATTEMPTS: u32 = 5;

/// Creates a resource; returns what now exists.
///
/// A create whose answer was lost (no answer, a 5xx, or "already exists"
/// on a second try) may have happened: before trying again, the kind's
/// read looks for it by its ownership tags, and when it is there, that is
/// the resource, brought to the declaration in place where it differs (a
/// VPC made but its DNS settings not). So a lost answer never makes a
/// duplicate. Throttled creates are tried again after a pause. (The SDK
/// itself never resends the creates that have no idempotency token; see
/// [`providers::unsafe_to_resend`].)
pub async fn create(cloud: &Cloud, r: &Planned) -> Result<Live, ProviderError> {
    // Each resource is made with its provider instance's clients.
    let cloud = cloud.at(&r.address);
    let def = kinds::def(r.address.kind);
    let read = def.aws_read();
    let mut attempt = 0;
    loop {
        attempt += 1;
        let err = match (def.create)(cloud, r).await {
            Ok(l) => return Ok(l),
            Err(e) => e,
        };
        let Some(read) = read else { return Err(err) };
        if attempt >= CREATE_ATTEMPTS || !(err.is_throttling() || err.maybe_done()) {
            return Err(err);
        }
        if err.maybe_done() {
            let found = read(cloud)
                .await?
                .into_iter()
                .find(|l| l.address == r.address);
            if let Some(found) = found {
                tracing::info!(
                    target: "blueprint::apply",
                    address = %r.address,
                    id = %found.id,
                    error = %err,
                    "the create happened although its answer was lost: using what exists"
                );
                return converge(cloud, r, found).await;
            }
            // "Already exists" and nothing of ours there: a real clash of
            // names (a bucket name taken elsewhere), not a lost answer.
            if err.is_already_exists() {
                return Err(err);
            }
        }
        let pause = cloud.poll_interval.min(Duration::from_secs(1)) * 2u32.pow(attempt);
        let jitter =
            Duration::from_millis(u64::from(std::process::id() % 7) * 37 * u64::from(attempt));
        tokio::time::sleep(pause.min(Duration::from_secs(20)) + jitter).await;
    }
}

/// A resource found after a create whose answer was lost, changed in place
/// to match the declaration where it does not yet (the steps of the create
/// after the lost call).
async fn converge(cloud: &Cloud, r: &Planned, found: Live) -> Result<Live, ProviderError> {
    let def = kinds::def(r.address.kind);
    // What can change in place; a field that would need a replacement is
    // left for the next plan to show.
    let fields: Vec<FieldDiff> = plan::diff_fields(
        r.address.kind.schema().fields,
        &Value::Map(r.spec.clone()),
        &Value::Map(found.attrs.clone()),
    )
    .into_iter()
    .filter(|f| !f.forces_replacement)
    .collect();
    match def.update {
        Some(update) if !fields.is_empty() => update(cloud, r, &found, &fields).await,
        _ => Ok(found),
    }
}

/// Changes a resource in place; returns what now exists.
pub async fn update(
    cloud: &Cloud,
    r: &Planned,
    live: &Live,
    fields: &[FieldDiff],
) -> Result<Live, ProviderError> {
    match kinds::def(r.address.kind).update {
        Some(update) => update(cloud.at(&r.address), r, live, fields).await,
        None => Err(ProviderError::Unsupported(format!(
            "{}: a {} cannot change in place",
            r.address, r.address.kind
        ))),
    }
}

/// Deletes a resource and waits until it is gone.
pub async fn delete(cloud: &Cloud, live: &Live) -> Result<(), ProviderError> {
    (kinds::def(live.address.kind).delete)(cloud.at(&live.address), live).await
}

/// The kind names `:live` takes: every registered kind.
pub fn kinds() -> impl Iterator<Item = &'static str> {
    REGISTRY.iter().map(|d| d.kind.as_str())
}

/// Lists live resources of `kind`. With a filter, only rows whose id, name,
/// details (a node group's cluster, a subnet's VPC) or owner contain it.
pub async fn list(
    cloud: &Cloud,
    kind: &str,
    filter: Option<&str>,
) -> Result<Vec<providers::Row>, ProviderError> {
    let Some(def) = kinds::lookup(kind) else {
        return Err(ProviderError::Unsupported(format!(
            "unknown kind `{kind}` for :live; kinds: {}",
            kinds().collect::<Vec<_>>().join(", ")
        )));
    };
    let mut rows = (def.list)(cloud).await?;
    if let Some(f) = filter {
        rows.retain(|r| {
            r.id.contains(f)
                || r.name.contains(f)
                || r.details.contains(f)
                || r.owner.as_deref().is_some_and(|o| o.contains(f))
        });
    }
    rows.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
    Ok(rows)
}

/// Before a plan deletes clusters: what in them makes AWS resources is
/// deleted first, while its controllers still run (see
/// [`crate::kinds::eks::leftovers::drain`]); `say` reports each object.
pub async fn drain_deleted_clusters(
    cloud: &Cloud,
    plan: &crate::plan::Plan,
    say: &(dyn Fn(&str) + Send + Sync),
) {
    for c in plan.changes.iter().filter(|c| {
        c.action == crate::plan::Action::Delete
            && c.address.kind == crate::kinds::eks::cluster::KIND
    }) {
        crate::kinds::eks::leftovers::drain(cloud.at(&c.address), &c.address.name, say).await;
    }
}
