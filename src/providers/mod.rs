//! Live state: one module per resource kind, each with read (batched, by the
//! owner tag), create, update and delete. Only this layer talks to AWS.

pub mod aws;
mod error;

pub use error::ProviderError;

use crate::model::{Address, Kind, Live, Map};
use crate::plan::FieldDiff;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Tag keys that mark what Blueprint owns.
pub const TAG_NAME: &str = "blueprint:name";
pub const TAG_ADDRESS: &str = "blueprint:address";

/// How to reach AWS.
#[derive(Clone, Debug, Default)]
pub struct Target {
    pub region: String,
    pub profile: Option<String>,
    pub endpoint_url: Option<String>,
}

/// Counts HTTP requests sent to AWS, for `-v` and the benchmarks.
#[derive(Debug, Clone, Default)]
pub struct RequestCounter(Arc<AtomicUsize>);

impl RequestCounter {
    pub fn get(&self) -> usize {
        self.0.load(Ordering::Relaxed)
    }
}

impl Intercept for RequestCounter {
    fn name(&self) -> &'static str {
        "blueprint-request-counter"
    }

    fn read_before_transmit(
        &self,
        _: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        self.0.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

/// The AWS clients and the blueprint whose resources they manage.
#[derive(Clone, Debug)]
pub struct Cloud {
    pub ec2: aws_sdk_ec2::Client,
    pub eks: aws_sdk_eks::Client,
    pub iam: aws_sdk_iam::Client,
    pub kms: aws_sdk_kms::Client,
    pub s3: aws_sdk_s3::Client,
    pub tagging: aws_sdk_resourcegroupstagging::Client,
    pub blueprint: String,
    pub region: String,
    pub requests: RequestCounter,
    /// How long each kind took to read, for `-v`.
    pub read_times: Arc<std::sync::Mutex<Vec<(&'static str, Duration)>>>,
    /// How long to wait for clusters, node groups and NAT gateways.
    pub wait_timeout: Duration,
    pub poll_interval: Duration,
}

impl Cloud {
    pub async fn connect(target: &Target, blueprint: &str) -> Cloud {
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new(target.region.clone()));
        if let Some(p) = &target.profile {
            loader = loader.profile_name(p);
        }
        if let Some(e) = &target.endpoint_url {
            loader = loader.endpoint_url(e);
        }
        let conf = loader.load().await;
        let requests = RequestCounter::default();
        let local = conf
            .endpoint_url()
            .is_some_and(|u| u.contains("127.0.0.1") || u.contains("localhost"));
        let (wait_timeout, poll_interval) = if local {
            (Duration::from_secs(60), Duration::from_millis(200))
        } else {
            (Duration::from_secs(30 * 60), Duration::from_secs(10))
        };
        Cloud {
            ec2: aws_sdk_ec2::Client::from_conf(
                aws_sdk_ec2::config::Builder::from(&conf)
                    .interceptor(requests.clone())
                    .build(),
            ),
            eks: aws_sdk_eks::Client::from_conf(
                aws_sdk_eks::config::Builder::from(&conf)
                    .interceptor(requests.clone())
                    .build(),
            ),
            iam: aws_sdk_iam::Client::from_conf(
                aws_sdk_iam::config::Builder::from(&conf)
                    .interceptor(requests.clone())
                    .build(),
            ),
            kms: aws_sdk_kms::Client::from_conf(
                aws_sdk_kms::config::Builder::from(&conf)
                    .interceptor(requests.clone())
                    .build(),
            ),
            s3: aws_sdk_s3::Client::from_conf(
                aws_sdk_s3::config::Builder::from(&conf)
                    .force_path_style(local || conf.endpoint_url().is_some())
                    .interceptor(requests.clone())
                    .build(),
            ),
            tagging: aws_sdk_resourcegroupstagging::Client::from_conf(
                aws_sdk_resourcegroupstagging::config::Builder::from(&conf)
                    .interceptor(requests.clone())
                    .build(),
            ),
            blueprint: blueprint.to_string(),
            region: target.region.clone(),
            requests,
            read_times: Arc::default(),
            wait_timeout,
            poll_interval,
        }
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
        tags
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

    /// A token that makes a create call idempotent across re-runs.
    pub fn client_token(&self, address: &Address) -> String {
        use sha2::{Digest, Sha256};
        let h = Sha256::digest(format!("{}\n{address}", self.blueprint).as_bytes());
        format!("bp-{}", &hex::encode(h)[..32])
    }
}

/// A desired resource with every reference resolved, ready for an API call.
#[derive(Clone, Debug)]
pub struct Planned {
    pub address: Address,
    pub spec: Map,
}

impl Planned {
    pub fn str(&self, k: &str) -> Result<&str, ProviderError> {
        self.spec.get(k).and_then(|v| v.as_str()).ok_or_else(|| {
            ProviderError::Spec(format!("{}: `{k}` is not a resolved string", self.address))
        })
    }

    pub fn strs(&self, k: &str) -> Vec<String> {
        self.spec
            .get(k)
            .and_then(|v| v.as_list())
            .map(|l| {
                l.iter()
                    .filter_map(|x| x.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn bool(&self, k: &str) -> bool {
        self.spec.get(k).and_then(|v| v.as_bool()).unwrap_or(false)
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

/// Reads every owned resource of every kind, the kinds in parallel.
pub async fn read_all(cloud: &Cloud) -> Result<Vec<Live>, ProviderError> {
    let (ec2, iam, kms, eks, s3) = tokio::join!(
        aws::ec2_read_all(cloud),
        cloud.timed("iam", aws::iam::read(cloud)),
        cloud.timed("kms", aws::kms_key::read(cloud)),
        aws::eks_read_all(cloud),
        cloud.timed("s3", aws::s3_bucket::read(cloud)),
    );
    let mut all = Vec::new();
    for part in [ec2, iam, kms, eks, s3] {
        all.extend(part?);
    }
    all.sort_by(|a, b| a.address.cmp(&b.address));
    Ok(all)
}

/// Creates a resource; returns what now exists.
pub async fn create(cloud: &Cloud, r: &Planned) -> Result<Live, ProviderError> {
    use aws::*;
    match r.address.kind {
        Kind::Vpc => vpc::create(cloud, r).await,
        Kind::Subnet => subnet::create(cloud, r).await,
        Kind::InternetGateway => internet_gateway::create(cloud, r).await,
        Kind::ElasticIp => elastic_ip::create(cloud, r).await,
        Kind::NatGateway => nat_gateway::create(cloud, r).await,
        Kind::RouteTable => route_table::create(cloud, r).await,
        Kind::SecurityGroup => security_group::create(cloud, r).await,
        Kind::IamRole => iam::create_role(cloud, r).await,
        Kind::OidcProvider => iam::create_oidc_provider(cloud, r).await,
        Kind::KmsKey => kms_key::create(cloud, r).await,
        Kind::Cluster => cluster::create(cloud, r).await,
        Kind::NodeGroup => node_group::create(cloud, r).await,
        Kind::FargateProfile => fargate_profile::create(cloud, r).await,
        Kind::S3Bucket => s3_bucket::create(cloud, r).await,
    }
}

/// Changes a resource in place; returns what now exists.
pub async fn update(
    cloud: &Cloud,
    r: &Planned,
    live: &Live,
    fields: &[FieldDiff],
) -> Result<Live, ProviderError> {
    use aws::*;
    match r.address.kind {
        Kind::Vpc => vpc::update(cloud, r, live, fields).await,
        Kind::Subnet => subnet::update(cloud, r, live, fields).await,
        Kind::InternetGateway => internet_gateway::update(cloud, r, live, fields).await,
        Kind::ElasticIp => elastic_ip::update(cloud, r, live, fields).await,
        Kind::NatGateway => nat_gateway::update(cloud, r, live, fields).await,
        Kind::RouteTable => route_table::update(cloud, r, live, fields).await,
        Kind::SecurityGroup => security_group::update(cloud, r, live, fields).await,
        Kind::IamRole => iam::update_role(cloud, r, live, fields).await,
        Kind::OidcProvider => iam::update_oidc_provider(cloud, r, live, fields).await,
        Kind::KmsKey => kms_key::update(cloud, r, live, fields).await,
        Kind::Cluster => cluster::update(cloud, r, live, fields).await,
        Kind::NodeGroup => node_group::update(cloud, r, live, fields).await,
        Kind::FargateProfile => Err(ProviderError::Unsupported(format!(
            "{}: Fargate profiles cannot change in place",
            r.address
        ))),
        Kind::S3Bucket => s3_bucket::update(cloud, r, live, fields).await,
    }
}

/// Deletes a resource and waits until it is gone.
pub async fn delete(cloud: &Cloud, live: &Live) -> Result<(), ProviderError> {
    use aws::*;
    match live.address.kind {
        Kind::Vpc => vpc::delete(cloud, live).await,
        Kind::Subnet => subnet::delete(cloud, live).await,
        Kind::InternetGateway => internet_gateway::delete(cloud, live).await,
        Kind::ElasticIp => elastic_ip::delete(cloud, live).await,
        Kind::NatGateway => nat_gateway::delete(cloud, live).await,
        Kind::RouteTable => route_table::delete(cloud, live).await,
        Kind::SecurityGroup => security_group::delete(cloud, live).await,
        Kind::IamRole => iam::delete_role(cloud, live).await,
        Kind::OidcProvider => iam::delete_oidc_provider(cloud, live).await,
        Kind::KmsKey => kms_key::delete(cloud, live).await,
        Kind::Cluster => cluster::delete(cloud, live).await,
        Kind::NodeGroup => node_group::delete(cloud, live).await,
        Kind::FargateProfile => fargate_profile::delete(cloud, live).await,
        Kind::S3Bucket => s3_bucket::delete(cloud, live).await,
    }
}

/// Polls `check` until it returns `Some`, or the cloud's timeout passes.
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
    loop {
        if let Some(v) = check().await? {
            return Ok(v);
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
