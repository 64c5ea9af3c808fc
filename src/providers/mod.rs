//! Live state: one module per resource kind, each with read (batched, by the
//! owner tag), create, update and delete. Only this layer talks to AWS.

pub mod applied;
pub mod aws;
pub mod claims;
pub mod eks_token;
mod error;
pub mod helm;
pub mod instances;
pub mod inventory;
pub mod kube;
pub mod lock;
pub mod pace;

pub use error::{AwsResult, ProviderError};
pub use inventory::Row;

use crate::model::{Address, Live, Map, Unread, Value};
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Tag keys that mark what Blueprint owns.
pub const TAG_NAME: &str = "blueprint:name";
pub const TAG_ADDRESS: &str = "blueprint:address";
/// Set on resources declared with `protect: true`: a plan refuses to delete
/// or replace them, whether or not the blueprint still declares them.
pub const TAG_PROTECT: &str = "blueprint:protect";

/// Whether a live resource's tags carry the protection tag.
pub fn protected_by<'a>(mut tags: impl Iterator<Item = (&'a str, &'a str)>) -> bool {
    tags.any(|(k, v)| k == TAG_PROTECT && v == "true")
}

/// Whether a kind keeps its name in the `Name` tag (EC2, EFS): then that
/// tag is the name, not one of the user's tags.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameTag {
    IsTheName,
    IsATag,
}

/// The ownership-tag codec, read side: a resource's tags as `(key,
/// value)` pairs, whatever the service's tag type.
#[derive(Clone, Debug, PartialEq)]
pub struct Owned {
    /// The address the blueprint gave it (`blueprint:address`).
    pub address: Address,
    /// The user's own tags: without the ownership tags (and without
    /// `Name` where it is the name).
    pub tags: Map,
    /// The `Name` tag, where it is the name.
    pub name: Option<String>,
    pub protected: bool,
}

impl Owned {
    /// The user's tags as a spec field: `None` when there are none (a spec
    /// without `tags` compares as one with no tags).
    pub fn user_tags(&self) -> Option<Value> {
        (!self.tags.is_empty()).then(|| Value::Map(self.tags.clone()))
    }
}

/// What `pairs`, the tags of a resource, say when blueprint `blueprint`
/// owns it; `None` when it does not.
pub fn owned_by<'a, I>(blueprint: &str, pairs: I, name: NameTag) -> Option<Owned>
where
    I: IntoIterator<Item = (&'a str, &'a str)>,
    I::IntoIter: Clone,
{
    let pairs = pairs.into_iter();
    let get = |key: &str| pairs.clone().find(|(k, _)| *k == key).map(|(_, v)| v);
    if get(TAG_NAME) != Some(blueprint) {
        return None;
    }
    let address: Address = get(TAG_ADDRESS)?.parse().ok()?;
    let tags = match user_tags(pairs.clone(), name) {
        Some(Value::Map(m)) => m,
        _ => Map::new(),
    };
    Some(Owned {
        address,
        tags,
        name: match name {
            NameTag::IsTheName => get("Name").map(String::from),
            NameTag::IsATag => None,
        },
        protected: protected_by(pairs),
    })
}

/// The user's tags among `pairs` as a spec field, `None` when there are
/// none (see [`Owned::user_tags`]).
pub fn user_tags<'a>(
    pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    name: NameTag,
) -> Option<Value> {
    let user: Map = pairs
        .into_iter()
        .filter(|(k, _)| !k.starts_with("blueprint:"))
        .filter(|(k, _)| name == NameTag::IsATag || *k != "Name")
        .map(|(k, v)| (k.to_string(), Value::str(v)))
        .collect();
    (!user.is_empty()).then_some(Value::Map(user))
}

/// How to reach AWS and the Kubernetes clusters.
#[derive(Clone, Debug, Default)]
pub struct Target {
    pub region: String,
    pub profile: Option<String>,
    pub endpoint_url: Option<String>,
    /// How to reach Kubernetes clusters.
    pub kube: kube::KubeTarget,
    /// An access key id and secret in place of the standard credential
    /// chain (for embedders and tests).
    pub static_credentials: Option<(String, String)>,
}

/// Counts HTTP requests sent to AWS, for `-v` and the benchmarks, and
/// keeps the IAM action of each operation sent (`ListAddons` is
/// `eks:ListAddons`), for messages about refused calls.
#[derive(Debug, Clone, Default)]
pub struct RequestCounter(
    Arc<AtomicUsize>,
    Arc<std::sync::Mutex<HashMap<String, String>>>,
    /// The requests are paced ([`pace`]): each carries its operation to
    /// the paced HTTP client.
    Arc<std::sync::atomic::AtomicBool>,
);

/// The IAM action of an operation: its service's prefix and its name,
/// except for the S3 operations IAM names otherwise.
pub fn iam_action(service: &str, operation: &str) -> String {
    const S3: &[(&str, &str)] = &[
        ("ListBuckets", "ListAllMyBuckets"),
        ("HeadBucket", "ListBucket"),
        ("ListObjectsV2", "ListBucket"),
        ("ListObjectVersions", "ListBucketVersions"),
        ("DeleteObjects", "DeleteObject"),
        ("GetBucketEncryption", "GetEncryptionConfiguration"),
        ("PutBucketEncryption", "PutEncryptionConfiguration"),
        (
            "GetBucketLifecycleConfiguration",
            "GetLifecycleConfiguration",
        ),
        (
            "PutBucketLifecycleConfiguration",
            "PutLifecycleConfiguration",
        ),
        ("DeleteBucketLifecycle", "PutLifecycleConfiguration"),
        ("GetPublicAccessBlock", "GetBucketPublicAccessBlock"),
        ("PutPublicAccessBlock", "PutBucketPublicAccessBlock"),
        ("DeletePublicAccessBlock", "PutBucketPublicAccessBlock"),
        ("DeleteBucketTagging", "PutBucketTagging"),
    ];
    let prefix = iam_prefix(service);
    let name = if prefix == "s3" {
        S3.iter()
            .find(|(op, _)| *op == operation)
            .map(|(_, a)| *a)
            .unwrap_or(operation)
    } else {
        operation
    };
    format!("{prefix}:{name}")
}

/// The IAM prefix of a service as the SDK names it.
fn iam_prefix(service: &str) -> String {
    match service {
        "EFS" => "elasticfilesystem".into(),
        "CloudWatch Logs" => "logs".into(),
        "Elastic Load Balancing v2" => "elasticloadbalancing".into(),
        "Resource Groups Tagging API" => "tag".into(),
        "EventBridge" => "events".into(),
        other => other.to_ascii_lowercase().replace(' ', ""),
    }
}

impl RequestCounter {
    /// The IAM action of an operation this client has sent.
    pub fn iam_action(&self, operation: &str) -> Option<String> {
        self.1.lock().ok()?.get(operation).cloned()
    }

    pub fn get(&self) -> usize {
        self.0.load(Ordering::Relaxed)
    }
}

impl Intercept for RequestCounter {
    fn name(&self) -> &'static str {
        "blueprint-request-counter"
    }

    /// The creates in [`unsafe_to_resend`] are sent once per call: their
    /// retries are the engine's, after it looked for the first.
    fn modify_before_retry_loop(
        &self,
        _: &mut aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextMut<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        let op = cfg
            .load::<aws_smithy_runtime_api::client::orchestrator::Metadata>()
            .map(|m| m.name().to_string());
        if op.is_some_and(|op| unsafe_to_resend().contains(&op.as_str())) {
            cfg.interceptor_state()
                .store_put(aws_smithy_types::retry::RetryConfig::disabled());
        }
        Ok(())
    }

    /// When paced, the service and operation for the paced HTTP client,
    /// in a header it takes off (added after signing, so never signed).
    fn modify_before_transmit(
        &self,
        ctx: &mut aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextMut<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        if !self.2.load(Ordering::Relaxed) {
            return Ok(());
        }
        if let Some(m) = cfg.load::<aws_smithy_runtime_api::client::orchestrator::Metadata>() {
            let value = format!("{} {}", iam_prefix(m.service()), m.name());
            ctx.request_mut()
                .headers_mut()
                .insert(pace::OPERATION_HEADER, value);
        }
        Ok(())
    }

    fn read_before_transmit(
        &self,
        _: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        self.0.fetch_add(1, Ordering::Relaxed);
        if let Some(m) = cfg.load::<aws_smithy_runtime_api::client::orchestrator::Metadata>() {
            if let Ok(mut ops) = self.1.lock() {
                if !ops.contains_key(m.name()) {
                    ops.insert(m.name().to_string(), iam_action(m.service(), m.name()));
                }
            }
        }
        cfg.interceptor_state()
            .store_put(Sent(std::time::Instant::now()));
        Ok(())
    }

    /// One log event per AWS request: service, operation, status and
    /// duration; no body, so no secret.
    fn read_before_deserialization(
        &self,
        ctx: &aws_smithy_runtime_api::client::interceptors::context::BeforeDeserializationInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        let meta = cfg.load::<aws_smithy_runtime_api::client::orchestrator::Metadata>();
        let ms = cfg
            .load::<Sent>()
            .map(|s| s.0.elapsed().as_secs_f64() * 1e3)
            .unwrap_or_default();
        tracing::debug!(
            target: "blueprint::aws",
            service = meta.map(|m| m.service()).unwrap_or("?"),
            operation = meta.map(|m| m.name()).unwrap_or("?"),
            action = meta.map(|m| iam_action(m.service(), m.name())).unwrap_or_default(),
            status = ctx.response().status().as_u16(),
            ms = format!("{ms:.0}"),
            "request"
        );
        Ok(())
    }
}

/// When an AWS request was sent, for its log event.
#[derive(Debug, Clone)]
struct Sent(std::time::Instant);

impl aws_smithy_types::config_bag::Storable for Sent {
    type Storer = aws_smithy_types::config_bag::StoreReplace<Self>;
}

/// The AWS clients and the blueprint whose resources they manage.
#[derive(Clone, Debug)]
pub struct Cloud {
    pub blueprint: String,
    pub region: String,
    pub requests: RequestCounter,
    /// How long each kind took to read, for `-v`.
    pub read_times: Arc<std::sync::Mutex<Vec<(&'static str, Duration)>>>,
    /// Kinds a read could not list (a refused call), for the engine to
    /// judge: see [`Cloud::listed`].
    unlisted: Arc<std::sync::Mutex<Vec<(crate::model::Kind, ProviderError)>>>,
    /// The clusters the blueprint names but does not own
    /// (`existing_cluster(name)`), whose access entries of its own are
    /// read with those of its clusters.
    existing_clusters: Arc<std::sync::Mutex<Vec<String>>>,
    /// How long to wait for clusters, node groups and NAT gateways.
    pub wait_timeout: Duration,
    pub poll_interval: Duration,
    /// The shared AWS configuration, for clients built on first use.
    sdk: aws_config::SdkConfig,
    /// The Kubernetes clusters, connected on first use by [`Cloud::kube`].
    pub kube: Arc<kube::KubeAccess>,
    /// The clients of each AWS service, built on first use by [`Cloud::client`].
    clients: Arc<std::sync::Mutex<ClientCache>>,
    /// The provider instances the blueprint makes resources with
    /// (`aws(#{ region, assume_role })`), by alias: each its own clients.
    instances: Arc<std::collections::BTreeMap<String, Cloud>>,
    /// The provider instance these clients are of (none: the command
    /// line's account and region).
    spec: Option<crate::model::ProviderSpec>,
    /// The instances recorded as holding the blueprint's resources when
    /// it was read ([`instances::recorded`]).
    recorded: Arc<std::collections::BTreeMap<String, crate::model::ProviderSpec>>,
}

type ClientCache =
    std::collections::HashMap<std::any::TypeId, Box<dyn std::any::Any + Send + Sync>>;

impl Cloud {
    pub async fn connect(target: &Target, blueprint: &str) -> Cloud {
        Cloud::connect_as(target, blueprint, None).await
    }

    /// Connects to `target` and to each provider instance of `providers`,
    /// all at once: [`Cloud::at`] then gives the clients of a resource's
    /// instance.
    pub async fn connect_all(
        target: &Target,
        blueprint: &str,
        providers: &std::collections::BTreeMap<String, crate::model::ProviderSpec>,
    ) -> Cloud {
        let cloud = Cloud::connect(target, blueprint).await;
        cloud.with_instances(target, providers).await
    }

    /// These clients, and those of the provider instances `more` besides
    /// the ones connected already.
    pub async fn with_instances(
        mut self,
        target: &Target,
        more: &std::collections::BTreeMap<String, crate::model::ProviderSpec>,
    ) -> Cloud {
        let blueprint = self.blueprint.clone();
        let connected = futures::future::join_all(more.iter().map(|(alias, spec)| {
            let blueprint = &blueprint;
            async move {
                let t = Target {
                    region: spec.region.clone(),
                    profile: spec.profile.clone().or_else(|| target.profile.clone()),
                    ..target.clone()
                };
                (
                    alias.clone(),
                    Cloud::connect_as(&t, blueprint, Some(spec)).await,
                )
            }
        }))
        .await;
        let mut all = (*self.instances).clone();
        all.extend(connected);
        self.instances = Arc::new(all);
        self
    }

    /// The provider instance these clients are of.
    pub fn spec(&self) -> Option<&crate::model::ProviderSpec> {
        self.spec.as_ref()
    }

    /// Every provider instance connected, by alias.
    pub fn instance_specs(&self) -> std::collections::BTreeMap<String, crate::model::ProviderSpec> {
        self.instances
            .iter()
            .filter_map(|(a, c)| Some((a.clone(), c.spec.clone()?)))
            .collect()
    }

    /// Notes the instances recorded for the blueprint when it was read.
    pub fn set_recorded(
        &mut self,
        recorded: std::collections::BTreeMap<String, crate::model::ProviderSpec>,
    ) {
        self.recorded = Arc::new(recorded);
    }

    /// The instances recorded for the blueprint when it was read.
    pub fn recorded(&self) -> &std::collections::BTreeMap<String, crate::model::ProviderSpec> {
        &self.recorded
    }

    /// The clients of the provider instance `a` is made with (its alias),
    /// else these.
    pub fn at(&self, a: &Address) -> &Cloud {
        a.provider
            .as_deref()
            .and_then(|p| self.instances.get(p))
            .unwrap_or(self)
    }

    /// How many AWS requests these clients and those of every provider
    /// instance have sent.
    pub fn requests_sent(&self) -> usize {
        self.requests.get()
            + self
                .instances
                .values()
                .map(|c| c.requests.get())
                .sum::<usize>()
    }

    /// The provider instances, by alias.
    pub fn instances(&self) -> impl Iterator<Item = (&str, &Cloud)> {
        self.instances.iter().map(|(a, c)| (a.as_str(), c))
    }

    /// What a read of provider instance `alias` (`None`: the command
    /// line's account and region) keeps of what it found: its own
    /// resources, `desired` being the whole blueprint. Another instance
    /// may read the same account and region (IAM is the whole account's);
    /// a resource whose address names no instance left is the command
    /// line's to prune. A kind that makes its address from the resource's
    /// name, not from its tags (an instance profile, found by its IAM
    /// path), finds it without an alias: it is the instance's that
    /// declares that name, unless the command line's declares it too.
    pub fn belongs(
        &self,
        alias: Option<&str>,
        desired: &crate::model::Graph,
        mut l: Live,
    ) -> Option<Live> {
        let found = l.address.provider.clone();
        let declared_in =
            |a: &str| desired.contains(&l.address.clone().in_provider(Some(a.into())));
        match (alias, found.as_deref()) {
            (None, None) => {
                let elsewhere =
                    !desired.contains(&l.address) && self.instances.keys().any(|a| declared_in(a));
                (!elsewhere).then_some(l)
            }
            (None, Some(p)) => (!self.instances.contains_key(p)).then_some(l),
            (Some(a), Some(p)) => (a == p).then_some(l),
            (Some(a), None) => (declared_in(a) && !desired.contains(&l.address)).then(|| {
                l.address = l.address.clone().in_provider(Some(a.to_string()));
                l
            }),
        }
    }

    /// [`Cloud::connect`], as the provider instance `spec` when given: its
    /// role assumed (a session named after the blueprint) over the
    /// target's credentials.
    async fn connect_as(
        target: &Target,
        blueprint: &str,
        spec: Option<&crate::model::ProviderSpec>,
    ) -> Cloud {
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new(target.region.clone()));
        if let Some(p) = &target.profile {
            loader = loader.profile_name(p);
        }
        if let Some(e) = &target.endpoint_url {
            loader = loader.endpoint_url(e);
        }
        if let Some((id, secret)) = &target.static_credentials {
            loader = loader.credentials_provider(aws_credential_types::Credentials::new(
                id,
                secret,
                None,
                None,
                "blueprint-static",
            ));
        }
        let local = is_local(target.endpoint_url.as_deref());
        loader = loader.retry_config(retry_config(local));
        let requests = RequestCounter::default();
        // Within AWS's request-rate limits (`BP_PACE`).
        if let Some(pacer) = pace::from_env(local) {
            loader = loader.http_client(pace::PacedClient::new(pacer));
            requests.2.store(true, Ordering::Relaxed);
        }
        let mut conf = loader.load().await;
        if let Some(spec) = spec {
            conf = assume_role(conf, spec, blueprint).await;
        }
        let (wait_timeout, poll_interval) = if local {
            (Duration::from_secs(60), Duration::from_millis(200))
        } else {
            (Duration::from_secs(30 * 60), Duration::from_secs(10))
        };
        Cloud {
            blueprint: blueprint.to_string(),
            region: target.region.clone(),
            requests,
            read_times: Arc::default(),
            unlisted: Arc::default(),
            existing_clusters: Arc::default(),
            instances: Arc::default(),
            spec: spec.cloned(),
            recorded: Arc::default(),
            wait_timeout,
            poll_interval,
            sdk: conf,
            kube: Arc::new(kube::KubeAccess::new(
                target.kube.clone(),
                target.profile.clone(),
            )),
            clients: Arc::default(),
        }
    }

    /// A client of any AWS service, built once from the shared configuration
    /// with the request counter attached: a kind module of a new service
    /// needs no change here.
    /// `cloud.client(|conf, counter| Client::from_conf(Builder::from(conf).interceptor(counter).build()))`
    pub fn client<C: Clone + Send + Sync + 'static>(
        &self,
        build: impl FnOnce(&aws_config::SdkConfig, RequestCounter) -> C,
    ) -> C {
        let mut cache = self.clients.lock().unwrap_or_else(|e| e.into_inner());
        let entry = cache
            .entry(std::any::TypeId::of::<C>())
            .or_insert_with(|| Box::new(build(&self.sdk, self.requests.clone())));
        entry
            .downcast_ref::<C>()
            .cloned()
            .expect("clients are cached under their own type")
    }

    /// The ownership-tag codec, read side: what `pairs` say, when this
    /// blueprint owns the resource they are the tags of (see [`owned_by`]).
    pub fn owned<'a, I>(&self, pairs: I, name: NameTag) -> Option<Owned>
    where
        I: IntoIterator<Item = (&'a str, &'a str)>,
        I::IntoIter: Clone,
    {
        owned_by(&self.blueprint, pairs, name)
    }

    /// The address of the resource `pairs` are the tags of, when this
    /// blueprint owns it.
    pub fn owner<'a, I>(&self, pairs: I) -> Option<Address>
    where
        I: IntoIterator<Item = (&'a str, &'a str)>,
        I::IntoIter: Clone,
    {
        self.owned(pairs, NameTag::IsATag).map(|o| o.address)
    }

    /// The ownership tags for a resource, plus its own tags and Name.
    pub fn tags_for(&self, address: &Address, spec: &Map) -> Vec<(String, String)> {
        let mut tags: Vec<(String, String)> = spec
            .get("tags")
            .and_then(|t| t.as_map())
            .map(|m| {
                m.iter()
                    .map(|(k, v)| {
                        (
                            k.clone(),
                            v.as_str()
                                .map(String::from)
                                .unwrap_or_else(|| v.to_string()),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        tags.push((TAG_NAME.into(), self.blueprint.clone()));
        tags.push((TAG_ADDRESS.into(), address.to_string()));
        if spec.get("protect").and_then(Value::as_bool) == Some(true) {
            tags.push((TAG_PROTECT.into(), "true".into()));
        }
        tags
    }

    /// The resources of `kind` a read found, or none when the call that
    /// lists them was refused (no permission, or an endpoint that does not
    /// serve it): the refusal is kept for the engine, which fails the plan
    /// when the blueprint declares that kind and warns otherwise. For reads
    /// that list several kinds (a cluster's node groups, add-ons, ...).
    pub fn listed(
        &self,
        kind: crate::model::Kind,
        found: Result<Vec<Live>, ProviderError>,
    ) -> Result<Vec<Live>, ProviderError> {
        match found {
            Err(e) if e.is_refused() => {
                if let Ok(mut u) = self.unlisted.lock() {
                    u.push((kind, e));
                }
                Ok(Vec::new())
            }
            other => other,
        }
    }

    /// Names the clusters the blueprint does not own but declares
    /// resources in, before a read.
    pub fn set_existing_clusters(&self, names: Vec<String>) {
        if let Ok(mut e) = self.existing_clusters.lock() {
            *e = names;
        }
    }

    /// The clusters named by [`Cloud::set_existing_clusters`].
    pub fn existing_clusters(&self) -> Vec<String> {
        self.existing_clusters
            .lock()
            .map(|e| e.clone())
            .unwrap_or_default()
    }

    /// The kinds reads could not list since the last call.
    pub fn take_unlisted(&self) -> Vec<(crate::model::Kind, ProviderError)> {
        self.unlisted
            .lock()
            .map(|mut u| std::mem::take(&mut *u))
            .unwrap_or_default()
    }

    /// Runs one kind's read and records how long it took.
    pub async fn timed<T>(&self, kind: &'static str, f: impl std::future::Future<Output = T>) -> T {
        let start = std::time::Instant::now();
        let out = f.await;
        if let Ok(mut t) = self.read_times.lock() {
            t.push((kind, start.elapsed()));
        }
        out
    }

    /// A token that makes a create call idempotent across re-runs of the
    /// same declaration, and differs when the declaration changes: a
    /// replacement's create is a new request, not a repeat of the old one
    /// (EC2 would answer with the old, terminated instance, or refuse the
    /// token with other parameters).
    pub fn spec_token(&self, r: &Planned) -> String {
        use sha2::{Digest, Sha256};
        // Secrets are left out: the token is sent in clear.
        let spec = r.redact(&Value::Map(r.spec.clone()).to_json().to_string());
        let h = Sha256::digest(format!("{}\n{}\n{spec}", self.blueprint, r.address).as_bytes());
        format!("bp-{}", &hex::encode(h)[..32])
    }

    /// A token that makes one create call idempotent: the SDK sends it
    /// again with the same token when an answer is lost, and AWS answers
    /// with what the first made. It is new for every call: a token reused
    /// by a later create at the same address (after a destroy) would be
    /// answered with the deleted resource. Across runs, what a lost create
    /// made is found by its ownership tags instead (see [`create`]).
    pub fn client_token(&self, address: &Address) -> String {
        use sha2::{Digest, Sha256};
        let mut nonce = [0u8; 16];
        let _ = getrandom::getrandom(&mut nonce);
        let h = Sha256::digest(
            format!("{}\n{address}\n{}", self.blueprint, hex::encode(nonce)).as_bytes(),
        );
        format!("bp-{}", &hex::encode(h)[..32])
    }
}

/// Whether an endpoint is an emulator on this machine: waits and retry
/// pauses are then short.
/// `conf` with the role of provider instance `spec` assumed over its
/// credentials (with a session named after the blueprint), when it names
/// one.
pub async fn assume_role(
    conf: aws_config::SdkConfig,
    spec: &crate::model::ProviderSpec,
    blueprint: &str,
) -> aws_config::SdkConfig {
    let Some(role) = &spec.assume_role else {
        return conf;
    };
    let mut assume = aws_config::sts::AssumeRoleProvider::builder(role)
        .session_name(session_name(blueprint))
        .region(aws_config::Region::new(spec.region.clone()))
        .configure(&conf);
    if let Some(id) = &spec.external_id {
        assume = assume.external_id(id);
    }
    let assumed = assume.build().await;
    conf.into_builder()
        .credentials_provider(
            aws_credential_types::provider::SharedCredentialsProvider::new(assumed),
        )
        .build()
}

/// The STS session name of a blueprint's assumed roles, so that
/// CloudTrail names the blueprint: `blueprint-<name>`, within STS's 64
/// characters of `[\w+=,.@-]`.
pub fn session_name(blueprint: &str) -> String {
    let name: String = format!("blueprint-{blueprint}")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "+=,.@-_".contains(c) {
                c
            } else {
                '-'
            }
        })
        .take(64)
        .collect();
    name
}

pub fn is_local(endpoint_url: Option<&str>) -> bool {
    endpoint_url.is_some_and(|u| u.contains("127.0.0.1") || u.contains("localhost"))
}

/// How AWS calls are retried: the SDK's standard mode (backoff with
/// jitter on throttling, 5xx and dropped connections), 5 attempts;
/// `AWS_RETRY_MODE=adaptive` and `AWS_MAX_ATTEMPTS=N` change it. Against an
/// emulator on this machine (`local`) the pauses are short, as the waits
/// for resources are.
pub fn retry_config(local: bool) -> aws_smithy_types::retry::RetryConfig {
    use aws_smithy_types::retry::RetryConfig;
    let attempts = std::env::var("AWS_MAX_ATTEMPTS")
        .ok()
        .and_then(|v| v.trim().parse::<u32>().ok())
        .filter(|n| *n >= 1)
        .unwrap_or(5);
    let base = match std::env::var("AWS_RETRY_MODE").as_deref() {
        Ok("adaptive") => RetryConfig::adaptive(),
        _ => RetryConfig::standard(),
    };
    let config = base.with_max_attempts(attempts);
    if local {
        config
            .with_initial_backoff(Duration::from_millis(20))
            .with_max_backoff(Duration::from_millis(200))
    } else {
        config
    }
}

/// A desired resource with every reference resolved, ready for an API call.
#[derive(Clone, Debug)]
pub struct Planned {
    pub address: Address,
    pub spec: Map,
    /// The spec's sensitive values in every form, to keep them out of what
    /// tools and servers print back (helm's errors, an API's refusal).
    pub secrets: crate::redact::Redactor,
}

impl Planned {
    /// A resolved spec with its secrets revealed for the API call.
    pub fn reveal(address: &Address, resolved: &Value) -> Result<Planned, String> {
        // Also for the whole process: a log line or an error naming it
        // later is redacted too.
        let mut secrets = crate::redact::Redactor::default();
        for s in resolved.secrets_in_clear() {
            crate::redact::register(&s);
            secrets.add(&s);
        }
        match resolved.reveal()? {
            Value::Map(spec) => Ok(Planned {
                address: address.clone(),
                spec,
                secrets,
            }),
            _ => Err(format!("{address}: the spec is not a map")),
        }
    }

    /// `text` with every secret of the spec replaced by `(sensitive)`.
    pub fn redact(&self, text: &str) -> String {
        self.secrets.redact(text)
    }

    /// The value of a spec field. Asking for a field the kind's schema does
    /// not have is an error, never a silent empty value.
    pub fn get(&self, k: &str) -> Result<Option<&Value>, ProviderError> {
        if self.address.kind.schema().field(k).is_none() {
            return Err(ProviderError::Spec(format!(
                "{}: `{k}` is not a field of a {}",
                self.address, self.address.kind
            )));
        }
        Ok(self.spec.get(k))
    }

    pub fn str(&self, k: &str) -> Result<&str, ProviderError> {
        self.get(k)?.and_then(|v| v.as_str()).ok_or_else(|| {
            ProviderError::Spec(format!("{}: `{k}` is not a resolved string", self.address))
        })
    }

    /// A list of strings; an absent field is an empty list.
    pub fn strs(&self, k: &str) -> Result<Vec<String>, ProviderError> {
        Ok(self
            .get(k)?
            .and_then(|v| v.as_list())
            .map(|l| {
                l.iter()
                    .filter_map(|x| x.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default())
    }

    /// A flag; an absent field is false.
    pub fn bool(&self, k: &str) -> Result<bool, ProviderError> {
        Ok(self.get(k)?.and_then(|v| v.as_bool()).unwrap_or(false))
    }
}

/// The user tags a live resource has that the spec no longer declares.
pub fn stale_tag_keys(r: &Planned, live: &Live) -> Vec<String> {
    let want = r
        .spec
        .get("tags")
        .and_then(|t| t.as_map())
        .cloned()
        .unwrap_or_default();
    live.attrs
        .get("tags")
        .and_then(|t| t.as_map())
        .map(|m| {
            m.keys()
                .filter(|k| !want.contains_key(*k))
                .cloned()
                .collect()
        })
        .unwrap_or_default()
}

/// What a read found, and the provider instances it could not read yet.
#[derive(Debug, Default)]
pub struct Reading {
    pub live: Vec<Live>,
    pub unread: Vec<Unread>,
    /// Kinds the blueprint does not declare that could not be listed.
    pub unlisted: Vec<crate::model::Unlisted>,
}

/// Where the kind registry hands down the creates with no idempotency
/// token (each kind lists its own): sent again after a lost answer they
/// would make a second resource, so the SDK never resends them, and the
/// engine's create looks for the first before trying again.
#[linkme::distributed_slice]
pub static NO_RESEND: [fn() -> Vec<&'static str>];

/// Every create the SDK must not resend.
pub fn unsafe_to_resend() -> &'static [&'static str] {
    static ALL: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    ALL.get_or_init(|| NO_RESEND.iter().flat_map(|list| list()).collect())
}

tokio::task_local! {
    /// Where a wait says what it waits for: the applier sets it for each
    /// operation, and the live view on a terminal shows it
    /// ("waiting for cluster pms-prod to become ACTIVE").
    pub static WAITING: Arc<dyn Fn(&str) + Send + Sync>;
}

/// Says what the running operation waits for now, to the applier's live
/// view (through [`WAITING`]); nothing outside an apply.
pub fn report_wait(what: &str) {
    let _ = WAITING.try_with(|report| report(&format!("waiting for {what}")));
}

/// Says something the running operation did on its way (a load balancer a
/// controller left, removed), to the applier's output (through
/// [`WAITING`]); nothing outside an apply.
pub fn report_note(what: &str) {
    let _ = WAITING.try_with(|report| report(what));
}

/// Polls `check` until it returns `Some`, or the cloud's timeout passes.
/// The first time it is not ready, it says what it waits for (to the
/// applier's live view, through [`WAITING`]).
pub async fn wait_for<T, F, Fut>(
    cloud: &Cloud,
    what: &str,
    mut check: F,
) -> Result<T, ProviderError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Option<T>, ProviderError>>,
{
    let start = std::time::Instant::now();
    let mut said = false;
    loop {
        if let Some(v) = check().await? {
            return Ok(v);
        }
        if !said {
            said = true;
            report_wait(what);
        }
        if start.elapsed() > cloud.wait_timeout {
            return Err(ProviderError::Timeout(format!(
                "{what} after {}s",
                cloud.wait_timeout.as_secs()
            )));
        }
        tokio::time::sleep(cloud.poll_interval).await;
    }
}

#[cfg(test)]
mod wait_tests {
    use super::*;

    /// A wait says once what it waits for, to the reporter of the
    /// operation it runs in, and nothing when it is ready at once.
    #[tokio::test]
    async fn a_wait_says_what_it_waits_for_once() {
        let target = Target {
            region: "us-east-1".into(),
            profile: None,
            endpoint_url: Some("http://127.0.0.1:9".into()),
            kube: Default::default(),
            static_credentials: None,
        };
        let mut cloud = Cloud::connect(&target, "t").await;
        cloud.poll_interval = Duration::from_millis(1);
        let said: Arc<std::sync::Mutex<Vec<String>>> = Arc::default();
        let log = said.clone();
        let report: Arc<dyn Fn(&str) + Send + Sync> =
            Arc::new(move |w: &str| log.lock().unwrap().push(w.to_string()));
        let mut tries = 0;
        WAITING
            .scope(report.clone(), async {
                wait_for(&cloud, "cluster demo to become ACTIVE", || {
                    tries += 1;
                    let done = tries > 3;
                    async move { Ok(done.then_some(())) }
                })
                .await
                .unwrap();
                wait_for(&cloud, "something ready", || async { Ok(Some(())) })
                    .await
                    .unwrap();
            })
            .await;
        assert_eq!(
            *said.lock().unwrap(),
            vec!["waiting for cluster demo to become ACTIVE".to_string()]
        );
    }
}

#[cfg(test)]
mod owner_tests {
    use super::*;

    #[test]
    fn assumed_role_sessions_are_named_after_the_blueprint() {
        assert_eq!(session_name("pms-prod"), "blueprint-pms-prod");
        let long = session_name(&"x".repeat(80));
        assert_eq!(long.len(), 64);
        assert!(long.starts_with("blueprint-x"));
    }

    /// A read of an instance keeps what is its own: its alias, or an
    /// address made from a name that it declares; the command line's read
    /// keeps what names no instance it knows.
    #[tokio::test]
    async fn each_instance_keeps_what_is_its_own() {
        let target = Target {
            region: "us-east-1".into(),
            endpoint_url: Some("http://127.0.0.1:9".into()),
            ..Target::default()
        };
        let spec = crate::model::ProviderSpec {
            region: "eu-west-1".into(),
            assume_role: None,
            external_id: None,
            profile: None,
        };
        let cloud = Cloud::connect_all(
            &target,
            "t",
            &std::collections::BTreeMap::from([("eu".to_string(), spec)]),
        )
        .await;
        let kind = crate::model::Kind::new("widget");
        let at = |text: Option<&str>, name: &str| {
            Live::new(
                Address::new(kind, name).in_provider(text.map(String::from)),
                "id",
            )
        };
        let mut eu = crate::model::Graph::new();
        eu.insert(crate::model::Resource::new(
            Address::new(kind, "named").in_provider(Some("eu".into())),
            Map::new(),
        ))
        .unwrap();
        // The command line's read.
        assert!(cloud.belongs(None, &eu, at(None, "a")).is_some());
        assert!(cloud.belongs(None, &eu, at(Some("eu"), "a")).is_none());
        assert!(cloud.belongs(None, &eu, at(Some("gone"), "a")).is_some());
        // A name only an instance declares (an instance profile seen from
        // every region of the account) is that instance's.
        assert!(cloud.belongs(None, &eu, at(None, "named")).is_none());
        // The instance's.
        assert!(cloud
            .belongs(Some("eu"), &eu, at(Some("eu"), "a"))
            .is_some());
        assert!(cloud
            .belongs(Some("eu"), &eu, at(Some("us"), "a"))
            .is_none());
        assert!(cloud.belongs(Some("eu"), &eu, at(None, "other")).is_none());
        let named = cloud.belongs(Some("eu"), &eu, at(None, "named")).unwrap();
        assert_eq!(named.address.to_string(), "eu:widget.named");
        // Unless the command line's declares that name too.
        let mut both = eu.clone();
        both.insert(crate::model::Resource::new(
            Address::new(kind, "named"),
            Map::new(),
        ))
        .unwrap();
        assert!(cloud
            .belongs(Some("eu"), &both, at(None, "named"))
            .is_none());
        assert!(cloud.belongs(None, &both, at(None, "named")).is_some());
        assert_eq!(cloud.at(&named.address).region, "eu-west-1");
        assert_eq!(cloud.at(&Address::new(kind, "x")).region, "us-east-1");
    }

    #[test]
    fn ownership_tags_decode_to_an_address_user_tags_and_protection() {
        let tags = [
            (TAG_NAME, "pms"),
            (TAG_ADDRESS, "vpc.pms"),
            (TAG_PROTECT, "true"),
            ("Name", "pms"),
            ("team", "platform"),
        ];
        let o = owned_by("pms", tags, NameTag::IsTheName).unwrap();
        assert_eq!(o.address.to_string(), "vpc.pms");
        assert_eq!(o.name.as_deref(), Some("pms"));
        assert!(o.protected);
        assert_eq!(
            o.user_tags(),
            Some(Value::Map(Map::from([(
                "team".into(),
                Value::str("platform")
            )])))
        );
        // Where Name is not the name, it is one of the user's tags.
        let o = owned_by("pms", tags, NameTag::IsATag).unwrap();
        assert_eq!(o.tags.len(), 2);
        assert_eq!(o.name, None);
        // Another blueprint's, or no address: not ours.
        assert!(owned_by("other", tags, NameTag::IsATag).is_none());
        assert!(owned_by("pms", [(TAG_NAME, "pms")], NameTag::IsATag).is_none());
    }

    #[test]
    fn iam_prefixes_of_the_services_blueprint_calls() {
        for (service, prefix) in [
            ("EC2", "ec2"),
            ("EKS", "eks"),
            ("EFS", "elasticfilesystem"),
            ("CloudWatch Logs", "logs"),
            ("Resource Groups Tagging API", "tag"),
            ("DynamoDB", "dynamodb"),
            ("Backup", "backup"),
            ("EventBridge", "events"),
            ("SQS", "sqs"),
        ] {
            assert_eq!(iam_prefix(service), prefix);
        }
    }
}
