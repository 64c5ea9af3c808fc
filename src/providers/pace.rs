//! Pacing AWS requests within AWS's request-rate limits, instead of firing
//! them and retrying what is throttled. Each service and call class has a
//! token bucket seeded with the limits AWS publishes: EC2's three buckets
//! (Describe and List calls: 100 burst, 20 a second; the unfiltered
//! Describe calls of the DescribeInstances class: 50 burst, 10 a second;
//! mutating calls: 50 burst, 5 a second), and for the services that publish
//! none, a conservative default (40 burst and 20 a second for reads, 20
//! and 10 for changes). Reads and applies share the buckets. A request
//! takes the next free slot of its bucket and waits for it, so a burst of
//! mutations is spread at the bucket's rate (95% of it: the two
//! buckets keep no common clock); the SDK's retries (adaptive on request)
//! still back off on the throttling that happens anyway.
//!
//! The requests carry their service and operation to the HTTP client in
//! a header the request counter adds after signing ([`OPERATION_HEADER`]),
//! which the paced client takes off before sending.

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The header that carries `service operation` from the request counter to
/// the paced HTTP client; never sent.
pub const OPERATION_HEADER: &str = "x-blueprint-operation";

/// What a call does, as AWS's buckets tell calls apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Class {
    Read,
    /// EC2's unfiltered Describe calls of the DescribeInstances class.
    ReadHeavy,
    Change,
}

/// A bucket's size and how fast it refills.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Limit {
    pub burst: f64,
    pub per_second: f64,
}

/// EC2's Describe calls in the "unfiltered and unpaginated" bucket.
const EC2_HEAVY: &[&str] = &[
    "DescribeInstances",
    "DescribeInstanceStatus",
    "DescribeNetworkInterfaces",
    "DescribeSecurityGroups",
    "DescribeSnapshots",
    "DescribeSpotInstanceRequests",
    "DescribeVolumes",
];

/// The class of `operation` of `service` (the IAM prefix: `ec2`, `eks`).
pub fn class_of(service: &str, operation: &str) -> Class {
    const READS: &[&str] = &[
        "Describe", "List", "Get", "Search", "Lookup", "Head", "BatchGet", "Query", "Scan",
    ];
    if service == "ec2" && EC2_HEAVY.contains(&operation) {
        Class::ReadHeavy
    } else if READS.iter().any(|p| operation.starts_with(p)) {
        Class::Read
    } else {
        Class::Change
    }
}

/// The limit of `class` calls of `service`: EC2's published ones, a
/// conservative default elsewhere.
pub fn limit(service: &str, class: Class) -> Limit {
    let (burst, per_second) = match (service, class) {
        ("ec2", Class::Read) => (100.0, 20.0),
        ("ec2", Class::ReadHeavy) => (50.0, 10.0),
        ("ec2", Class::Change) => (50.0, 5.0),
        (_, Class::Read | Class::ReadHeavy) => (40.0, 20.0),
        (_, Class::Change) => (20.0, 10.0),
    };
    Limit { burst, per_second }
}

/// A token bucket whose tokens may go below zero: each request reserves
/// the next slot, so that waiting requests are spread at the refill rate
/// in the order they came.
#[derive(Debug)]
struct Bucket {
    limit: Limit,
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn new(limit: Limit, now: Instant) -> Bucket {
        Bucket {
            limit,
            tokens: limit.burst,
            at: now,
        }
    }

    /// Takes a token at `now`: how long to wait until it exists.
    fn take(&mut self, now: Instant) -> Duration {
        let refill = now.saturating_duration_since(self.at).as_secs_f64() * self.limit.per_second;
        self.tokens = (self.tokens + refill).min(self.limit.burst);
        self.at = now;
        self.tokens -= 1.0;
        if self.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-self.tokens / self.limit.per_second)
        }
    }
}

/// The share of a bucket's refill rate a run uses: AWS's bucket and ours
/// do not keep one clock, and a request paced exactly at the rate can
/// arrive a moment early.
const MARGIN: f64 = 0.95;

/// The buckets of one run, shared by all its clients.
#[derive(Debug, Default)]
pub struct Pacer {
    buckets: Mutex<HashMap<(String, Class), Bucket>>,
    /// A factor on every limit (1: AWS's), for tests against a proxy that
    /// enforces smaller ones.
    scale: f64,
}

impl Pacer {
    pub fn new(scale: f64) -> Pacer {
        Pacer {
            buckets: Mutex::default(),
            scale,
        }
    }

    /// How long a request of `operation` of `service` must wait, its slot
    /// taken.
    pub fn reserve(&self, service: &str, operation: &str, now: Instant) -> Duration {
        let class = class_of(service, operation);
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        buckets
            .entry((service.to_string(), class))
            .or_insert_with(|| {
                let l = limit(service, class);
                Bucket::new(
                    Limit {
                        burst: (l.burst * self.scale).max(1.0),
                        per_second: l.per_second * self.scale * MARGIN,
                    },
                    now,
                )
            })
            .take(now)
    }
}

/// How the run paces its requests: `BP_PACE=aws` (AWS's limits), `aws*F`
/// (scaled by F, for tests), or `off`; by default AWS's limits against
/// AWS, none against a local endpoint (an emulator has no limits).
pub fn from_env(local: bool) -> Option<Pacer> {
    scale_of(&std::env::var("BP_PACE").unwrap_or_default(), local).map(Pacer::new)
}

/// The factor on AWS's limits that `setting` asks for, if any.
fn scale_of(setting: &str, local: bool) -> Option<f64> {
    match setting {
        "off" => None,
        "" if local => None,
        "" | "aws" => Some(1.0),
        other => other
            .strip_prefix("aws*")
            .and_then(|f| f.parse::<f64>().ok())
            .filter(|f| *f > 0.0),
    }
}

/// The HTTP client that waits for each request's slot, around the SDK's.
#[derive(Debug, Clone)]
pub struct PacedClient {
    inner: SharedHttpClient,
    pacer: Arc<Pacer>,
}

impl PacedClient {
    /// `pacer` around the client the SDK would use: hyper 1 with rustls on
    /// AWS-LC, the proxy settings taken from the environment
    /// (`HTTPS_PROXY`, `NO_PROXY`), as the SDK's default client is made.
    pub fn new(pacer: Pacer) -> PacedClient {
        use aws_smithy_http_client::{proxy::ProxyConfig, tls, Builder, ConnectorBuilder};
        let inner = Builder::new().build_with_connector_fn(|settings, components| {
            let mut conn = ConnectorBuilder::default().tls_provider(tls::Provider::Rustls(
                tls::rustls_provider::CryptoMode::AwsLc,
            ));
            conn.set_connector_settings(settings.cloned());
            if let Some(c) = components {
                conn.set_sleep_impl(c.sleep_impl());
            }
            conn.set_proxy_config(Some(ProxyConfig::from_env()));
            conn.build()
        });
        PacedClient {
            inner,
            pacer: Arc::new(pacer),
        }
    }
}

impl HttpClient for PacedClient {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(PacedConnector {
            inner: self.inner.http_connector(settings, components),
            pacer: self.pacer.clone(),
        })
    }
}

#[derive(Debug)]
struct PacedConnector {
    inner: SharedHttpConnector,
    pacer: Arc<Pacer>,
}

impl HttpConnector for PacedConnector {
    fn call(&self, mut request: HttpRequest) -> HttpConnectorFuture {
        let operation = request
            .headers_mut()
            .remove(OPERATION_HEADER)
            .map(|v| v.to_string());
        let wait = operation
            .as_deref()
            .and_then(|o| o.split_once(' '))
            .map(|(service, op)| self.pacer.reserve(service, op, Instant::now()))
            .unwrap_or_default();
        let inner = self.inner.clone();
        HttpConnectorFuture::new(async move {
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
            }
            inner.call(request).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_fall_in_ec2s_three_buckets() {
        assert_eq!(class_of("ec2", "DescribeVpcs"), Class::Read);
        assert_eq!(class_of("ec2", "DescribeInstances"), Class::ReadHeavy);
        assert_eq!(class_of("ec2", "CreateSubnet"), Class::Change);
        assert_eq!(class_of("eks", "ListNodegroups"), Class::Read);
        assert_eq!(
            limit("ec2", Class::Change),
            Limit {
                burst: 50.0,
                per_second: 5.0
            }
        );
    }

    #[test]
    fn a_burst_passes_and_the_rest_is_spread_at_the_refill_rate() {
        let pacer = Pacer::new(1.0);
        let t0 = Instant::now();
        // EC2 changes: 50 at once, then one every 200 ms (211 ms, with
        // the margin).
        let waits: Vec<Duration> = (0..53)
            .map(|_| pacer.reserve("ec2", "CreateSubnet", t0))
            .collect();
        assert!(waits[..50].iter().all(Duration::is_zero));
        let slot = 1.0 / (5.0 * MARGIN);
        assert_eq!(waits[50], Duration::from_secs_f64(slot));
        assert_eq!(waits[52], Duration::from_secs_f64(3.0 * slot));
        // Reads have their own bucket.
        assert_eq!(pacer.reserve("ec2", "DescribeSubnets", t0), Duration::ZERO);
        // A second later, 4.75 slots have come back, more than the three
        // taken beyond the burst: the next change goes at once.
        let later = t0 + Duration::from_secs(1);
        assert_eq!(
            pacer.reserve("ec2", "CreateSubnet", later),
            Duration::from_millis(0)
        );
    }

    #[test]
    fn aws_limits_against_aws_none_against_an_emulator_unless_asked() {
        assert_eq!(scale_of("", false), Some(1.0));
        assert_eq!(scale_of("", true), None);
        assert_eq!(scale_of("aws", true), Some(1.0));
        assert_eq!(scale_of("aws*0.2", true), Some(0.2));
        assert_eq!(scale_of("off", false), None);
        assert_eq!(scale_of("aws*-1", false), None);
        // A scaled bucket: 10 changes of EC2 at once, then 1 a second
        // (0.95, with the margin).
        let pacer = Pacer::new(0.2);
        let t0 = Instant::now();
        let waits: Vec<Duration> = (0..11)
            .map(|_| pacer.reserve("ec2", "CreateVpc", t0))
            .collect();
        assert!(waits[..10].iter().all(Duration::is_zero));
        assert_eq!(
            waits[10],
            Duration::from_secs_f64(1.0 / (0.2 * 5.0 * MARGIN))
        );
    }
}
