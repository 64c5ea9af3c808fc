//! Kubernetes provider instances: one connection per cluster, made on first
//! use, from a kubeconfig context. Requests are plain JSON over kube-rs's
//! client, so any kind (built-in or custom) goes through the same calls.

use super::{Cloud, ProviderError};
use crate::model::schema::Scope;
use kube::config::{KubeConfigOptions, Kubeconfig};
use serde_json::Value as Json;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// The field manager of every server-side apply.
pub const FIELD_MANAGER: &str = "blueprint";

/// How to reach clusters: `--kubeconfig`, `--kube-context CLUSTER=CONTEXT`.
#[derive(Clone, Debug, Default)]
pub struct KubeTarget {
    /// A kubeconfig file; `None` reads `$KUBECONFIG`, then `~/.kube/config`.
    pub kubeconfig: Option<PathBuf>,
    /// The context to use for a cluster, by cluster name.
    pub contexts: BTreeMap<String, String>,
    /// Take over fields another field manager owns (`--force-conflicts`).
    pub force_conflicts: bool,
    /// The helm to run (`--helm`, `BP_HELM`), else `helm` on PATH.
    pub helm: Option<PathBuf>,
}

/// The connections of one command, by cluster name.
#[derive(Debug, Default)]
pub struct KubeAccess {
    pub target: KubeTarget,
    /// The AWS profile, for tokens of native connections.
    pub profile: Option<String>,
    conns: tokio::sync::Mutex<HashMap<String, Conn>>,
    /// Requests sent to every cluster, for `-v`.
    pub requests: Arc<AtomicUsize>,
    /// The helm found on first use (Helm releases).
    helm: tokio::sync::OnceCell<super::helm::Helm>,
}

impl KubeAccess {
    pub fn new(target: KubeTarget, profile: Option<String>) -> KubeAccess {
        KubeAccess {
            target,
            profile,
            ..KubeAccess::default()
        }
    }
}

/// One cluster's API server.
#[derive(Clone)]
pub struct Conn {
    pub cluster: String,
    /// A kubeconfig with only this cluster's context (for helm), and the
    /// context's name.
    pub kubeconfig: Arc<Kubeconfig>,
    pub context: String,
    client: kube::Client,
    requests: Arc<AtomicUsize>,
    /// Resource lists by `apiVersion`, as discovery found them.
    discovered: Arc<std::sync::Mutex<HashMap<String, Vec<Resource>>>>,
    /// Held while a group version is discovered, so that reads running in
    /// parallel (several Helm releases' objects) ask the server once.
    discovering: Arc<tokio::sync::Mutex<()>>,
}

/// A resource the server serves: its plural and scope.
#[derive(Clone, Debug, PartialEq)]
pub struct Resource {
    pub kind: String,
    pub plural: String,
    pub namespaced: bool,
}

impl std::fmt::Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Conn({})", self.cluster)
    }
}

impl Cloud {
    /// The helm that installs releases, found and checked once per command.
    pub async fn helm(&self) -> Result<super::helm::Helm, ProviderError> {
        self.kube
            .helm
            .get_or_try_init(|| super::helm::find(self.kube.target.helm.as_deref()))
            .await
            .cloned()
    }

    /// The connection to a cluster that a kubeconfig context names, if one
    /// does; never a native connection.
    pub async fn kube_if_configured(&self, cluster: &str) -> Result<Option<Conn>, ProviderError> {
        if let Some(c) = self.kube.conns.lock().await.get(cluster) {
            return Ok(Some(c.clone()));
        }
        match connect(&self.kube.target, cluster, &self.region).await? {
            Some(_) => self.kube(cluster).await.map(Some),
            None => Ok(None),
        }
    }

    /// The connection to a cluster, made once per command.
    pub async fn kube(&self, cluster: &str) -> Result<Conn, ProviderError> {
        let mut conns = self.kube.conns.lock().await;
        if let Some(c) = conns.get(cluster) {
            return Ok(c.clone());
        }
        let found = connect(&self.kube.target, cluster, &self.region).await?;
        let (client, kubeconfig, context) = match found {
            Some(found) => found,
            None => self.connect_natively(cluster).await?,
        };
        let conn = Conn {
            cluster: cluster.to_string(),
            kubeconfig: Arc::new(kubeconfig),
            context,
            client,
            requests: self.kube.requests.clone(),
            discovered: Arc::default(),
            discovering: Arc::default(),
        };
        conns.insert(cluster.to_string(), conn.clone());
        Ok(conn)
    }
}

/// What a kubeconfig needs to reach an EKS cluster.
#[derive(Clone, Debug, PartialEq)]
pub struct EksEndpoint {
    pub name: String,
    pub arn: String,
    pub endpoint: String,
    /// The cluster's CA, base64 of PEM, as EKS returns it.
    pub ca_data: String,
}

/// How `bp eks-token` is run by kubeconfig users (kubectl, and Blueprint's
/// own native connections): this program, with the region and profile.
#[derive(Clone, Debug, PartialEq)]
pub struct TokenCommand {
    pub program: String,
    pub region: String,
    pub profile: Option<String>,
}

impl TokenCommand {
    /// This very program.
    pub fn current(region: &str, profile: Option<&str>) -> TokenCommand {
        TokenCommand {
            program: std::env::current_exe()
                .map(|p| p.to_string_lossy().into_owned())
                .unwrap_or_else(|_| "bp".into()),
            region: region.to_string(),
            profile: profile.map(str::to_string),
        }
    }
}

/// A kubeconfig with one cluster, user and context per EKS cluster, each
/// named after the cluster's ARN (as `aws eks update-kubeconfig` names
/// them), the user getting its token from `bp eks-token`.
pub fn kubeconfig_for(clusters: &[EksEndpoint], token: &TokenCommand) -> Kubeconfig {
    use kube::config::{
        AuthInfo, Cluster, Context, ExecConfig, NamedAuthInfo, NamedCluster, NamedContext,
    };
    let mut kc = Kubeconfig {
        api_version: Some("v1".into()),
        kind: Some("Config".into()),
        ..Kubeconfig::default()
    };
    for c in clusters {
        let mut args = vec![
            "eks-token".to_string(),
            "--cluster".into(),
            c.name.clone(),
            "--region".into(),
            token.region.clone(),
        ];
        if let Some(p) = &token.profile {
            args.extend(["--profile".into(), p.clone()]);
        }
        kc.clusters.push(NamedCluster {
            name: c.arn.clone(),
            cluster: Some(Cluster {
                server: Some(c.endpoint.clone()),
                certificate_authority_data: Some(c.ca_data.clone()),
                ..Cluster::default()
            }),
            other: Default::default(),
        });
        kc.auth_infos.push(NamedAuthInfo {
            name: c.arn.clone(),
            auth_info: Some(AuthInfo {
                exec: Some(ExecConfig {
                    api_version: Some("client.authentication.k8s.io/v1beta1".into()),
                    command: Some(token.program.clone()),
                    args: Some(args),
                    env: None,
                    drop_env: None,
                    install_hint: Some("bp eks-token comes with Blueprint (bp)".into()),
                    interactive_mode: None,
                    provide_cluster_info: false,
                    cluster: None,
                    other: Default::default(),
                }),
                ..AuthInfo::default()
            }),
            other: Default::default(),
        });
        kc.contexts.push(NamedContext {
            name: c.arn.clone(),
            context: Some(Context {
                cluster: c.arn.clone(),
                user: Some(c.arn.clone()),
                ..Context::default()
            }),
            other: Default::default(),
        });
    }
    if let Some(first) = clusters.first() {
        kc.current_context = Some(first.arn.clone());
    }
    kc
}

/// `into` with the entries of `from` added, replacing those of the same name.
pub fn merge(into: &mut Kubeconfig, from: Kubeconfig) {
    for c in from.clusters {
        into.clusters.retain(|x| x.name != c.name);
        into.clusters.push(c);
    }
    for a in from.auth_infos {
        into.auth_infos.retain(|x| x.name != a.name);
        into.auth_infos.push(a);
    }
    for c in from.contexts {
        into.contexts.retain(|x| x.name != c.name);
        into.contexts.push(c);
    }
    if into.current_context.is_none() {
        into.current_context = from.current_context;
    }
}

impl Cloud {
    /// A cluster's endpoint and CA, from DescribeCluster.
    pub async fn eks_endpoint(&self, cluster: &str) -> Result<EksEndpoint, ProviderError> {
        let out = self
            .eks()
            .describe_cluster()
            .name(cluster)
            .send()
            .await
            .map_err(ProviderError::api("DescribeCluster"))?;
        let c = out.cluster().ok_or_else(|| {
            ProviderError::Unexpected(format!("DescribeCluster {cluster} returned no cluster"))
        })?;
        let missing = |what: &str| {
            ProviderError::Unsupported(format!(
                "cluster {cluster} has no {what} yet (is it ACTIVE?)"
            ))
        };
        Ok(EksEndpoint {
            name: cluster.to_string(),
            arn: c.arn().ok_or_else(|| missing("ARN"))?.to_string(),
            endpoint: c.endpoint().ok_or_else(|| missing("endpoint"))?.to_string(),
            ca_data: c
                .certificate_authority()
                .and_then(|a| a.data())
                .ok_or_else(|| missing("certificate authority"))?
                .to_string(),
        })
    }

    /// The connection Blueprint builds itself when no kubeconfig context
    /// names the cluster: the endpoint and CA from DescribeCluster, and a
    /// token signed natively by `bp eks-token` (refreshed as it expires).
    async fn connect_natively(&self, cluster: &str) -> Result<Connected, ProviderError> {
        let endpoint = self.eks_endpoint(cluster).await?;
        let token = TokenCommand::current(&self.region, self.kube.profile.as_deref());
        let kc = kubeconfig_for(std::slice::from_ref(&endpoint), &token);
        let client = client_for(kc.clone(), &endpoint.arn, cluster).await?;
        Ok((client, kc, endpoint.arn))
    }

    /// The clusters this command has connected to so far.
    pub async fn kube_connections(&self) -> Vec<Conn> {
        self.kube.conns.lock().await.values().cloned().collect()
    }
}

/// The clusters a desired graph declares objects in, each with the
/// resource that creates the cluster when the blueprint manages it (an
/// object depends on it directly), or `None` for an `existing_cluster`.
pub fn clusters(desired: &crate::model::Graph) -> BTreeMap<String, Option<crate::model::Address>> {
    let mut out: BTreeMap<String, Option<crate::model::Address>> = BTreeMap::new();
    for r in desired.iter() {
        if r.address.kind.schema().scope != Scope::InCluster {
            continue;
        }
        let cluster = r.address.parent_name().to_string();
        let resource = r
            .depends_on
            .iter()
            .find(|d| d.name == cluster && d.kind.schema().scope == Scope::AwsCluster)
            .cloned();
        let entry = out.entry(cluster).or_default();
        if entry.is_none() {
            *entry = resource;
        }
    }
    out
}

fn unreachable(cluster: &str, why: impl std::fmt::Display) -> ProviderError {
    ProviderError::Unsupported(format!("cannot connect to cluster {cluster}: {why}"))
}

/// The context for `cluster`: the one `--kube-context` maps it to, else one
/// named after the cluster or its ARN (as `aws eks update-kubeconfig`
/// names them).
fn context_for(
    kc: &Kubeconfig,
    target: &KubeTarget,
    cluster: &str,
    region: &str,
) -> Result<String, String> {
    if let Some(ctx) = target.contexts.get(cluster) {
        return if kc.contexts.iter().any(|c| &c.name == ctx) {
            Ok(ctx.clone())
        } else {
            Err(format!(
                "the kubeconfig has no context `{ctx}` (--kube-context {cluster}={ctx})"
            ))
        };
    }
    if kc.contexts.iter().any(|c| c.name == cluster) {
        return Ok(cluster.to_string());
    }
    // As `aws eks update-kubeconfig` names them: the cluster's ARN, which
    // must be of this region (the same blueprint may run in several).
    let arn_suffix = format!(":cluster/{cluster}");
    let arn_prefix = format!("arn:aws:eks:{region}:");
    let matching: Vec<&str> = kc
        .contexts
        .iter()
        .map(|c| c.name.as_str())
        .filter(|n| n.ends_with(&arn_suffix) && n.starts_with(&arn_prefix))
        .collect();
    match matching.as_slice() {
        [one] => Ok(one.to_string()),
        [] => Err(format!(
            "the kubeconfig has no context named `{cluster}` or `{arn_prefix}...{arn_suffix}`; \
             pass --kube-context {cluster}=CONTEXT"
        )),
        several => Err(format!(
            "several kubeconfig contexts name cluster {cluster} in {region} ({}); \
             pass --kube-context {cluster}=CONTEXT",
            several.join(", ")
        )),
    }
}

/// A connection made from a kubeconfig: the client, the kubeconfig reduced
/// to its context, and the context's name.
type Connected = (kube::Client, Kubeconfig, String);

/// The kubeconfig with only `context`, its cluster and its user.
fn minimal(kc: &Kubeconfig, context: &str) -> Kubeconfig {
    let ctx = kc.contexts.iter().find(|c| c.name == context).cloned();
    let (cluster, user) = ctx
        .as_ref()
        .and_then(|c| c.context.as_ref())
        .map(|c| (c.cluster.clone(), c.user.clone().unwrap_or_default()))
        .unwrap_or_default();
    Kubeconfig {
        api_version: Some("v1".into()),
        kind: Some("Config".into()),
        clusters: kc
            .clusters
            .iter()
            .filter(|c| c.name == cluster)
            .cloned()
            .collect(),
        auth_infos: kc
            .auth_infos
            .iter()
            .filter(|a| a.name == user)
            .cloned()
            .collect(),
        contexts: ctx.into_iter().collect(),
        current_context: Some(context.to_string()),
        ..Kubeconfig::default()
    }
}

/// A client from the kubeconfig's context for the cluster; `None` when the
/// kubeconfig names none (and none was asked for with `--kube-context`).
async fn connect(
    target: &KubeTarget,
    cluster: &str,
    region: &str,
) -> Result<Option<Connected>, ProviderError> {
    let kc = match &target.kubeconfig {
        Some(path) => Kubeconfig::read_from(path)
            .map_err(|e| unreachable(cluster, format!("{}: {e}", path.display())))?,
        None => match Kubeconfig::read() {
            Ok(kc) => kc,
            Err(_) if !target.contexts.contains_key(cluster) => return Ok(None),
            Err(e) => {
                return Err(unreachable(
                    cluster,
                    format!("no kubeconfig ($KUBECONFIG, ~/.kube/config): {e}"),
                ))
            }
        },
    };
    let context = match context_for(&kc, target, cluster, region) {
        Ok(c) => c,
        Err(_) if !target.contexts.contains_key(cluster) => return Ok(None),
        Err(m) => return Err(unreachable(cluster, m)),
    };
    let small = minimal(&kc, &context);
    let client = client_for(kc, &context, cluster).await?;
    Ok(Some((client, small, context)))
}

async fn client_for(
    kc: Kubeconfig,
    context: &str,
    cluster: &str,
) -> Result<kube::Client, ProviderError> {
    let options = KubeConfigOptions {
        context: Some(context.to_string()),
        ..KubeConfigOptions::default()
    };
    // A proxy-url in the kubeconfig's cluster is used as it is; one from
    // HTTPS_PROXY is skipped for API servers that NO_PROXY names (which
    // kube-client checks against the proxy instead).
    let explicit = kc
        .contexts
        .iter()
        .find(|c| c.name == context)
        .and_then(|c| c.context.as_ref())
        .and_then(|c| kc.clusters.iter().find(|k| k.name == c.cluster))
        .and_then(|k| k.cluster.as_ref()?.proxy_url.clone());
    let mut config = kube::Config::from_custom_kubeconfig(kc, &options)
        .await
        .map_err(|e| unreachable(cluster, format!("context `{context}`: {e}")))?;
    match explicit {
        // kube-client drops it when NO_PROXY names the proxy's own host.
        Some(url) => {
            config.proxy_url = Some(url.parse().map_err(|_| {
                unreachable(
                    cluster,
                    format!("context `{context}`: proxy-url is not a URL"),
                )
            })?);
        }
        None if config.proxy_url.is_some() && !proxied(&config.cluster_url) => {
            config.proxy_url = None;
        }
        None => {}
    }
    kube::Client::try_from(config).map_err(|e| unreachable(cluster, e))
}

/// Whether the environment's proxy settings (`HTTPS_PROXY`, `HTTP_PROXY`,
/// `NO_PROXY`, as curl reads them) send requests to `url` through a proxy.
fn proxied(url: &http::Uri) -> bool {
    hyper_util::client::proxy::matcher::Matcher::from_env()
        .intercept(url)
        .is_some()
}

/// A failed request, in words that name what was asked.
fn api_error(what: &str, e: kube::Error) -> ProviderError {
    match e {
        kube::Error::Api(s) => ProviderError::Kube {
            what: what.to_string(),
            code: s.code,
            reason: s.reason.clone(),
            message: s.message.clone(),
        },
        other => ProviderError::Kube {
            what: what.to_string(),
            code: 0,
            reason: "Unreachable".into(),
            message: other.to_string(),
        },
    }
}

impl Conn {
    async fn send(&self, what: &str, req: http::Request<Vec<u8>>) -> Result<Json, ProviderError> {
        self.requests.fetch_add(1, Ordering::Relaxed);
        let method = req.method().to_string();
        let path = req.uri().to_string();
        let start = std::time::Instant::now();
        let result = self
            .client
            .request::<Json>(req)
            .await
            .map_err(|e| api_error(what, e));
        // One log event per request; the path and status, never a body.
        let status = match &result {
            Ok(_) => 200,
            Err(ProviderError::Kube { code, .. }) => *code,
            Err(_) => 0,
        };
        tracing::debug!(
            target: "blueprint::kube",
            cluster = %self.cluster,
            method = %method,
            path = %path,
            status,
            ms = format!("{:.0}", start.elapsed().as_secs_f64() * 1e3),
            "request"
        );
        result
    }

    /// The resource that serves `kind` in `api_version`, from the server's
    /// discovery (one request per group version, remembered); `None` when
    /// the server does not serve it (yet: a CRD not installed).
    pub async fn resource(
        &self,
        api_version: &str,
        kind: &str,
    ) -> Result<Option<Resource>, ProviderError> {
        let cached = || {
            self.discovered
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(api_version)
                .cloned()
        };
        let mut found = cached();
        let _one_at_a_time = if found.is_none() {
            let held = self.discovering.lock().await;
            // Another read may have discovered it while this one waited.
            found = cached();
            Some(held)
        } else {
            None
        };
        let list = match found {
            Some(l) => l,
            None => {
                let path = if api_version.contains('/') {
                    format!("/apis/{api_version}")
                } else {
                    format!("/api/{api_version}")
                };
                let Some(found) = self
                    .get(
                        &format!("discover {api_version} in {}", self.cluster),
                        &path,
                    )
                    .await?
                else {
                    return Ok(None);
                };
                let list: Vec<Resource> = found["resources"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|r| {
                        let name = r["name"].as_str()?;
                        (!name.contains('/')).then(|| Resource {
                            kind: r["kind"].as_str().unwrap_or_default().to_string(),
                            plural: name.to_string(),
                            namespaced: r["namespaced"].as_bool().unwrap_or(false),
                        })
                    })
                    .collect();
                self.discovered
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(api_version.to_string(), list.clone());
                list
            }
        };
        Ok(list.into_iter().find(|r| r.kind == kind))
    }

    /// Forgets what discovery found: a CRD just applied may add kinds to a
    /// group version already seen.
    pub fn forget_discovery(&self) {
        self.discovered
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    /// GET an object; `None` when it does not exist.
    pub async fn get(&self, what: &str, path: &str) -> Result<Option<Json>, ProviderError> {
        let req = http::Request::get(path)
            .body(Vec::new())
            .map_err(|e| ProviderError::Unexpected(e.to_string()))?;
        match self.send(what, req).await {
            Ok(v) => Ok(Some(v)),
            Err(ProviderError::Kube { code: 404, .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// LIST a collection with a label selector; the items.
    pub async fn list(
        &self,
        what: &str,
        path: &str,
        selector: &str,
    ) -> Result<Vec<Json>, ProviderError> {
        let mut url = path.to_string();
        if !selector.is_empty() {
            url.push_str("?labelSelector=");
            url.push_str(&encode(selector));
        }
        let req = http::Request::get(url)
            .body(Vec::new())
            .map_err(|e| ProviderError::Unexpected(e.to_string()))?;
        match self.send(what, req).await {
            Ok(v) => Ok(v
                .get("items")
                .and_then(Json::as_array)
                .cloned()
                .unwrap_or_default()),
            // A kind the server does not serve (a CRD not installed) has no objects.
            Err(ProviderError::Kube { code: 404, .. }) => Ok(Vec::new()),
            Err(e) => Err(e),
        }
    }

    /// Server-side apply of `body` at `path` (the object's own URL) as the
    /// field manager `blueprint`; with `dry_run`, the server computes and
    /// validates it but stores nothing.
    pub async fn apply(
        &self,
        what: &str,
        path: &str,
        body: &Json,
        dry_run: bool,
        force: bool,
    ) -> Result<Json, ProviderError> {
        let mut url = format!("{path}?fieldManager={FIELD_MANAGER}");
        if force {
            url.push_str("&force=true");
        }
        if dry_run {
            url.push_str("&dryRun=All");
        }
        let req = http::Request::patch(url)
            .header("Content-Type", "application/apply-patch+yaml")
            .body(serde_json::to_vec(body).unwrap_or_default())
            .map_err(|e| ProviderError::Unexpected(e.to_string()))?;
        self.send(what, req).await
    }

    /// A JSON merge patch of an existing object.
    pub async fn merge_patch(
        &self,
        what: &str,
        path: &str,
        patch: &Json,
    ) -> Result<Json, ProviderError> {
        let req = http::Request::patch(format!("{path}?fieldManager={FIELD_MANAGER}"))
            .header("Content-Type", "application/merge-patch+json")
            .body(serde_json::to_vec(patch).unwrap_or_default())
            .map_err(|e| ProviderError::Unexpected(e.to_string()))?;
        self.send(what, req).await
    }

    /// POST a new object into a collection.
    pub async fn post(
        &self,
        what: &str,
        collection: &str,
        body: &Json,
    ) -> Result<Json, ProviderError> {
        let req = http::Request::post(format!("{collection}?fieldManager={FIELD_MANAGER}"))
            .header("Content-Type", "application/json")
            .body(serde_json::to_vec(body).unwrap_or_default())
            .map_err(|e| ProviderError::Unexpected(e.to_string()))?;
        self.send(what, req).await
    }

    /// DELETE an object (foreground, so dependents go first); gone already
    /// is success.
    pub async fn delete(&self, what: &str, path: &str) -> Result<(), ProviderError> {
        let body = serde_json::json!({
            "kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Foreground"
        });
        let req = http::Request::delete(path)
            .header("Content-Type", "application/json")
            .body(serde_json::to_vec(&body).unwrap_or_default())
            .map_err(|e| ProviderError::Unexpected(e.to_string()))?;
        match self.send(what, req).await {
            Ok(_) | Err(ProviderError::Kube { code: 404, .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

/// Percent-encodes a query value.
fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kubeconfig(contexts: &[&str]) -> Kubeconfig {
        let ctx: Vec<String> = contexts
            .iter()
            .map(|c| format!("- name: \"{c}\"\n  context: {{cluster: c, user: u}}\n"))
            .collect();
        Kubeconfig::from_yaml(&format!(
            "apiVersion: v1\nkind: Config\nclusters: []\nusers: []\ncontexts:\n{}",
            ctx.join("")
        ))
        .unwrap()
    }

    #[test]
    fn contexts_are_found_by_mapping_name_or_arn() {
        let kc = kubeconfig(&[
            "arn:aws:eks:us-east-1:123456789012:cluster/pms-prod",
            "dev",
            "mine",
        ]);
        let mut t = KubeTarget::default();
        let r = "us-east-1";
        assert_eq!(
            context_for(&kc, &t, "pms-prod", r).unwrap(),
            "arn:aws:eks:us-east-1:123456789012:cluster/pms-prod"
        );
        // Another region's cluster of the same name is not this one.
        assert!(context_for(&kc, &t, "pms-prod", "eu-west-1").is_err());
        assert_eq!(context_for(&kc, &t, "dev", r).unwrap(), "dev");
        assert!(context_for(&kc, &t, "prod", r)
            .unwrap_err()
            .contains("--kube-context prod=CONTEXT"));
        t.contexts.insert("prod".into(), "mine".into());
        assert_eq!(context_for(&kc, &t, "prod", r).unwrap(), "mine");
        t.contexts.insert("prod".into(), "nope".into());
        assert!(context_for(&kc, &t, "prod", r)
            .unwrap_err()
            .contains("no context `nope`"));
    }

    #[test]
    fn selectors_are_encoded() {
        assert_eq!(
            encode("app.kubernetes.io/managed-by=blueprint,x in (a,b)"),
            "app.kubernetes.io%2Fmanaged-by%3Dblueprint%2Cx%20in%20%28a%2Cb%29"
        );
    }
}
