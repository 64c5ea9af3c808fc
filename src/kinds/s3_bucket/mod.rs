//! S3 buckets: versioning, default encryption, an expiry lifecycle rule,
//! the public-access block and a bucket policy. Found by tag. A bucket is
//! only deleted empty.

pub mod lint;

use crate::cost::Pricing;
use crate::kinds::{Field, KindDef, Lifecycle, PROTECT, TAGS};
use crate::model::names::NameRule;
use crate::model::schema::Schema;
use crate::model::{Address, Kind, Map, Problem};
use crate::model::{Live, Value};
use crate::plan::{touches, FieldDiff};
use crate::providers::aws::tagging;
use crate::providers::Row;
use crate::providers::{Cloud, Planned, ProviderError};
use crate::script::api::{name_arg, opts_arg};
use crate::script::handles::Output;
use crate::script::schema::{def, opt, FnDoc, Opt, Ty, TAGS_OPT};
use crate::script::state::{
    check_name, check_tags, declare, fail, ref_to, Deps, Fallible, Opts, Shared,
};
use crate::{handle, ops};
use aws_sdk_s3::types::{
    BucketLifecycleConfiguration, BucketLocationConstraint, BucketVersioningStatus,
    CreateBucketConfiguration, ExpirationStatus, LifecycleExpiration, LifecycleRule,
    LifecycleRuleFilter, NoncurrentVersionExpiration, PublicAccessBlockConfiguration,
    ServerSideEncryption, ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration,
    ServerSideEncryptionRule, Tag, Tagging, VersioningConfiguration,
};
use rhai::{Dynamic, Engine, NativeCallContext};

const EXPIRE_RULE: &str = "blueprint-expire";

fn build_err(e: aws_smithy_types::error::operation::BuildError) -> ProviderError {
    ProviderError::Unexpected(e.to_string())
}

/// The emulator (moto 5.2.5) answers GetBucketVersioning with a
/// `GetBucketVersioningResponse` root that the SDK rejects; its status is
/// still readable from the body.
fn versioning_from_raw<E>(
    e: &aws_sdk_s3::error::SdkError<E, aws_smithy_runtime_api::client::orchestrator::HttpResponse>,
) -> Option<bool> {
    let raw = e.raw_response()?;
    let body = std::str::from_utf8(raw.body().bytes()?).ok()?;
    if !body.contains("GetBucketVersioningResponse") {
        return None;
    }
    Some(body.contains("<Status>Enabled</Status>"))
}

/// `Ok(None)` when S3 answers that the configuration is not set.
fn optional<T>(r: Result<T, ProviderError>, unset: &str) -> Result<Option<T>, ProviderError> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.code() == Some(unset) => Ok(None),
        Err(e) => Err(e),
    }
}

/// What a bucket is configured with, as the spec says it.
struct Described {
    versioning: bool,
    key: Value,
    expire: Value,
    blocked: bool,
    policy: Value,
}

async fn describe(cloud: &Cloud, name: &str) -> Result<Described, ProviderError> {
    let s3 = &cloud.s3();
    let (v, e, l, p, pol) = tokio::join!(
        s3.get_bucket_versioning().bucket(name).send(),
        s3.get_bucket_encryption().bucket(name).send(),
        s3.get_bucket_lifecycle_configuration().bucket(name).send(),
        s3.get_public_access_block().bucket(name).send(),
        s3.get_bucket_policy().bucket(name).send(),
    );
    let policy = optional(
        pol.map_err(ProviderError::api("GetBucketPolicy")),
        "NoSuchBucketPolicy",
    )?
    .and_then(|o| o.policy().map(crate::kinds::iam::role::policy_value))
    .unwrap_or(Value::Null);
    let versioning = match v {
        Ok(o) => o.status() == Some(&BucketVersioningStatus::Enabled),
        Err(e) => {
            versioning_from_raw(&e).ok_or_else(|| ProviderError::api("GetBucketVersioning")(e))?
        }
    };
    let encryption = optional(
        e.map_err(ProviderError::api("GetBucketEncryption")),
        "ServerSideEncryptionConfigurationNotFoundError",
    )?;
    let key = encryption
        .as_ref()
        .and_then(|o| o.server_side_encryption_configuration())
        .and_then(|c| c.rules().first())
        .and_then(|r| r.apply_server_side_encryption_by_default())
        .filter(|d| d.sse_algorithm() == &ServerSideEncryption::AwsKms)
        .and_then(|d| d.kms_master_key_id())
        .map(Value::str)
        .unwrap_or(Value::Null);
    let lifecycle = optional(
        l.map_err(ProviderError::api("GetBucketLifecycleConfiguration")),
        "NoSuchLifecycleConfiguration",
    )?;
    let expire = lifecycle
        .as_ref()
        .and_then(|o| {
            o.rules()
                .iter()
                .find(|r| r.id() == Some(EXPIRE_RULE))
                .cloned()
        })
        .and_then(|r| r.expiration().and_then(|x| x.days()))
        .map(|d| Value::Int(d.into()))
        .unwrap_or(Value::Null);
    let block = optional(
        p.map_err(ProviderError::api("GetPublicAccessBlock")),
        "NoSuchPublicAccessBlockConfiguration",
    )?;
    let blocked = block
        .as_ref()
        .and_then(|o| o.public_access_block_configuration())
        .is_some_and(|c| {
            c.block_public_acls() == Some(true)
                && c.ignore_public_acls() == Some(true)
                && c.block_public_policy() == Some(true)
                && c.restrict_public_buckets() == Some(true)
        });
    Ok(Described {
        versioning,
        key,
        expire,
        blocked,
        policy,
    })
}

pub async fn read(cloud: &Cloud) -> Result<Vec<Live>, ProviderError> {
    let buckets = tagging::owned(cloud, "s3").await?;
    let described = futures::future::join_all(buckets.iter().map(|b| {
        let name = b.arn.trim_start_matches("arn:aws:s3:::").to_string();
        async move { describe(cloud, &name).await.map(|d| (name, d)) }
    }))
    .await;
    let mut out = Vec::new();
    for (b, d) in buckets.into_iter().zip(described) {
        let (name, found) = match d {
            Ok(x) => x,
            Err(e) if e.code() == Some("NoSuchBucket") => continue,
            Err(e) => return Err(e),
        };
        let mut l = Live::new(b.address.clone(), &name)
            .attr("name", Value::str(&name))
            .attr("versioning", Value::Bool(found.versioning))
            .attr("encryption_key", found.key)
            .attr("expire_days", found.expire)
            .attr("public_access_block", Value::Bool(found.blocked))
            .attr("policy", found.policy)
            .attr("protect", Value::Bool(b.protected))
            .output("name", &name)
            .output("arn", &b.arn);
        if !b.tags.is_empty() {
            l.attrs.insert("tags".into(), Value::Map(b.tags));
        }
        out.push(l);
    }
    Ok(out)
}

async fn put_tags(cloud: &Cloud, r: &Planned, name: &str) -> Result<(), ProviderError> {
    let tags = cloud
        .tags_for(&r.address, &r.spec)
        .into_iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build().map_err(build_err))
        .collect::<Result<Vec<_>, _>>()?;
    write_tag_set(cloud, name, tags).await
}

/// Replaces a bucket's whole tag set (S3 has no call that adds tags).
async fn write_tag_set(cloud: &Cloud, name: &str, tags: Vec<Tag>) -> Result<(), ProviderError> {
    cloud
        .s3()
        .put_bucket_tagging()
        .bucket(name)
        .tagging(
            Tagging::builder()
                .set_tag_set(Some(tags))
                .build()
                .map_err(build_err)?,
        )
        .send()
        .await
        .map_err(ProviderError::api("PutBucketTagging"))?;
    Ok(())
}

async fn set_versioning(cloud: &Cloud, name: &str, on: bool) -> Result<(), ProviderError> {
    let status = if on {
        BucketVersioningStatus::Enabled
    } else {
        BucketVersioningStatus::Suspended
    };
    cloud
        .s3()
        .put_bucket_versioning()
        .bucket(name)
        .versioning_configuration(VersioningConfiguration::builder().status(status).build())
        .send()
        .await
        .map_err(ProviderError::api("PutBucketVersioning"))?;
    Ok(())
}

async fn set_encryption(cloud: &Cloud, name: &str, key: Option<&str>) -> Result<(), ProviderError> {
    let default = match key {
        Some(k) => ServerSideEncryptionByDefault::builder()
            .sse_algorithm(ServerSideEncryption::AwsKms)
            .kms_master_key_id(k),
        None => {
            ServerSideEncryptionByDefault::builder().sse_algorithm(ServerSideEncryption::Aes256)
        }
    }
    .build()
    .map_err(build_err)?;
    let config = ServerSideEncryptionConfiguration::builder()
        .rules(
            ServerSideEncryptionRule::builder()
                .apply_server_side_encryption_by_default(default)
                .bucket_key_enabled(key.is_some())
                .build(),
        )
        .build()
        .map_err(build_err)?;
    cloud
        .s3()
        .put_bucket_encryption()
        .bucket(name)
        .server_side_encryption_configuration(config)
        .send()
        .await
        .map_err(ProviderError::api("PutBucketEncryption"))?;
    Ok(())
}

async fn set_expiry(cloud: &Cloud, name: &str, days: Option<i64>) -> Result<(), ProviderError> {
    let Some(days) = days else {
        cloud
            .s3()
            .delete_bucket_lifecycle()
            .bucket(name)
            .send()
            .await
            .map_err(ProviderError::api("DeleteBucketLifecycle"))?;
        return Ok(());
    };
    let rule = LifecycleRule::builder()
        .id(EXPIRE_RULE)
        .status(ExpirationStatus::Enabled)
        .filter(LifecycleRuleFilter::builder().prefix("").build())
        .expiration(LifecycleExpiration::builder().days(days as i32).build())
        .noncurrent_version_expiration(
            NoncurrentVersionExpiration::builder()
                .noncurrent_days(days as i32)
                .build(),
        )
        .build()
        .map_err(build_err)?;
    cloud
        .s3()
        .put_bucket_lifecycle_configuration()
        .bucket(name)
        .lifecycle_configuration(
            BucketLifecycleConfiguration::builder()
                .rules(rule)
                .build()
                .map_err(build_err)?,
        )
        .send()
        .await
        .map_err(ProviderError::api("PutBucketLifecycleConfiguration"))?;
    Ok(())
}

async fn set_public_access_block(cloud: &Cloud, name: &str, on: bool) -> Result<(), ProviderError> {
    if on {
        cloud
            .s3()
            .put_public_access_block()
            .bucket(name)
            .public_access_block_configuration(
                PublicAccessBlockConfiguration::builder()
                    .block_public_acls(true)
                    .ignore_public_acls(true)
                    .block_public_policy(true)
                    .restrict_public_buckets(true)
                    .build(),
            )
            .send()
            .await
            .map_err(ProviderError::api("PutPublicAccessBlock"))?;
    } else {
        cloud
            .s3()
            .delete_public_access_block()
            .bucket(name)
            .send()
            .await
            .map_err(ProviderError::api("DeletePublicAccessBlock"))?;
    }
    Ok(())
}

/// Sets the bucket policy, or removes it (`None`).
async fn set_policy(
    cloud: &Cloud,
    name: &str,
    policy: Option<&Value>,
) -> Result<(), ProviderError> {
    match policy.filter(|p| !matches!(p, Value::Null)) {
        Some(p) => cloud
            .s3()
            .put_bucket_policy()
            .bucket(name)
            .policy(p.to_json().to_string())
            .send()
            .await
            .map(|_| ())
            .map_err(ProviderError::api("PutBucketPolicy")),
        None => cloud
            .s3()
            .delete_bucket_policy()
            .bucket(name)
            .send()
            .await
            .map(|_| ())
            .map_err(ProviderError::api("DeleteBucketPolicy")),
    }
}

fn settled(r: &Planned, name: &str) -> Live {
    let mut l = Live::new(r.address.clone(), name);
    l.attrs = r.spec.clone();
    l.output("name", name)
        .output("arn", format!("arn:aws:s3:::{name}"))
}

pub async fn create(cloud: &Cloud, r: &Planned) -> Result<Live, ProviderError> {
    let name = r.str("name")?;
    let mut call = cloud.s3().create_bucket().bucket(name);
    if cloud.region != "us-east-1" {
        call = call.create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::from(cloud.region.as_str()))
                .build(),
        );
    }
    if let Err(e) = call.send().await {
        let e = ProviderError::api("CreateBucket")(e);
        // Ours from an interrupted apply: carry on configuring it.
        if e.code() != Some("BucketAlreadyOwnedByYou") {
            return Err(e);
        }
    }
    put_tags(cloud, r, name).await?;
    if r.bool("versioning")? {
        set_versioning(cloud, name, true).await?;
    }
    set_encryption(
        cloud,
        name,
        r.spec.get("encryption_key").and_then(Value::as_str),
    )
    .await?;
    if let Some(days) = r.spec.get("expire_days").and_then(Value::as_int) {
        set_expiry(cloud, name, Some(days)).await?;
    }
    if r.bool("public_access_block")? {
        set_public_access_block(cloud, name, true).await?;
    }
    if let Some(p) = r.spec.get("policy").filter(|p| !matches!(p, Value::Null)) {
        set_policy(cloud, name, Some(p)).await?;
    }
    Ok(settled(r, name))
}

pub async fn update(
    cloud: &Cloud,
    r: &Planned,
    live: &Live,
    fields: &[FieldDiff],
) -> Result<Live, ProviderError> {
    let changed = |p: &str| touches(fields, p);
    let name = live.id.as_str();
    if changed("versioning") {
        set_versioning(cloud, name, r.bool("versioning")?).await?;
    }
    if changed("encryption_key") {
        set_encryption(
            cloud,
            name,
            r.spec.get("encryption_key").and_then(Value::as_str),
        )
        .await?;
    }
    if changed("expire_days") {
        set_expiry(
            cloud,
            name,
            r.spec.get("expire_days").and_then(Value::as_int),
        )
        .await?;
    }
    if changed("public_access_block") {
        set_public_access_block(cloud, name, r.bool("public_access_block")?).await?;
    }
    if changed("policy") {
        set_policy(cloud, name, r.spec.get("policy")).await?;
    }
    if changed("tags") || changed("protect") {
        put_tags(cloud, r, name).await?;
    }
    Ok(settled(r, name))
}

pub async fn delete(cloud: &Cloud, live: &Live) -> Result<(), ProviderError> {
    match cloud.s3().delete_bucket().bucket(&live.id).send().await {
        Ok(_) => Ok(()),
        Err(e) => {
            let e = ProviderError::api("DeleteBucket")(e);
            match e.code() {
                Some("NoSuchBucket") => Ok(()),
                Some("BucketNotEmpty") => Err(ProviderError::Unsupported(format!(
                    "bucket {} is not empty; Blueprint does not delete data: empty it, then run again",
                    live.id
                ))),
                _ => Err(e),
            }
        }
    }
}

crate::handle_type!(S3Bucket);

pub const KIND: Kind = Kind::of(&SCHEMA);

fn bucket_char(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.'
}

fn check_bucket(name: &str) -> Result<(), Problem> {
    let last_ok = name
        .chars()
        .last()
        .is_some_and(|c| c.is_ascii_alphanumeric());
    if !last_ok {
        return Err(Problem::new(format!(
            "bucket name `{name}` must end with a letter or a digit"
        )));
    }
    if name.contains("..") {
        return Err(Problem::new(format!(
            "bucket name `{name}` has two adjacent dots"
        )));
    }
    let ip_like = name.split('.').count() == 4
        && name
            .split('.')
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    if ip_like {
        return Err(Problem::new(format!(
            "bucket name `{name}` looks like an IP address, which S3 does not allow"
        )));
    }
    if name.starts_with("xn--") || name.ends_with("-s3alias") || name.ends_with("--ol-s3") {
        return Err(Problem::new(format!(
            "bucket name `{name}` uses a prefix or suffix that S3 reserves"
        )));
    }
    Ok(())
}

pub static SCHEMA: Schema = Schema::new("s3_bucket", "S3Bucket", FIELDS)
    .attr("arn")
    .names(
        NameRule::chars(3, 63, bucket_char, "lowercase letters, digits, `-` and `.`")
            .with(check_bucket),
    )
    .lifecycle(Lifecycle::DATA);

/// The IAM actions of its operations (`bp permissions`).
pub const IAM: crate::permissions::Iam = crate::permissions::Iam::reads(&[
    "tag:GetResources",
    "s3:GetBucketTagging",
    "s3:GetBucketPolicy",
    "s3:GetBucketVersioning",
    "s3:GetEncryptionConfiguration",
    "s3:GetLifecycleConfiguration",
    "s3:GetBucketPublicAccessBlock",
])
.create(&[
    "s3:CreateBucket",
    "s3:PutBucketTagging",
    "s3:PutBucketVersioning",
    "s3:PutEncryptionConfiguration",
    "s3:PutLifecycleConfiguration",
    "s3:PutBucketPublicAccessBlock",
    "s3:PutBucketPolicy",
])
.update(&[
    "s3:PutBucketTagging",
    "s3:PutBucketVersioning",
    "s3:PutEncryptionConfiguration",
    "s3:PutLifecycleConfiguration",
    "s3:PutBucketPublicAccessBlock",
    "s3:PutBucketPolicy",
    "s3:DeleteBucketPolicy",
])
.delete(&["s3:DeleteBucket"])
.arns(&["arn:aws:s3:::{name}"]);

pub static DEF: KindDef = KindDef::new(
    KIND,
    Pricing::Priced(price),
    handle!(S3Bucket; FUNCTIONS, register; ["address", "arn", "name"]),
    ops!(own),
)
.adopt(crate::boxed!(adopt adopt))
.rules(lint::BUCKET)
.backed_up()
.iam(IAM)
.tagged_as("s3");

const FIELDS: &[Field] = &[
    Field::new("name"),
    Field::new("versioning"),
    Field::new("encryption_key").refers(),
    Field::new("expire_days"),
    Field::new("public_access_block"),
    Field::new("policy"),
    PROTECT,
    TAGS,
];

pub const OPTIONS: &[Opt] = &[
    def("versioning", Ty::Bool, "false", "keep object versions"),
    opt(
        "encryption_key",
        Ty::Handle(super::kms_key::KIND),
        "SSE-KMS key; SSE-S3 (AES256) when absent",
    ),
    def(
        "protect",
        Ty::Bool,
        "true",
        "refuse plans that delete or replace the bucket; apply protect: false first to remove it",
    ),
    opt(
        "expire_days",
        Ty::Int,
        "delete objects (and old versions) after this many days",
    ),
    def(
        "public_access_block",
        Ty::Bool,
        "true",
        "block all public access",
    ),
    opt(
        "policy",
        Ty::AnyMap,
        "the bucket policy: a policy document #{ Version, Statement: [...] }; none when absent",
    ),
    TAGS_OPT,
    crate::script::api::providers::PROVIDER_OPT,
];

const FUNCTIONS: &[FnDoc] = &[FnDoc {
    name: "s3_bucket",
    signature: "s3_bucket(name, #{ ... }) -> S3Bucket",
    doc: "An S3 bucket with versioning, encryption, lifecycle and public-access block; protected from deletion by default.",
    options: OPTIONS,
    method_of: None,
}];

/// Every s3_bucket, owned or not, for `:live`.
pub async fn list(cloud: &Cloud) -> Result<Vec<Row>, ProviderError> {
    let rows = {
        let out = cloud
            .s3()
            .list_buckets()
            .send()
            .await
            .map_err(ProviderError::api("ListBuckets"))?;
        out.buckets()
            .iter()
            .map(|b| {
                Row::new(
                    b.name().unwrap_or_default(),
                    b.name().unwrap_or_default(),
                    String::new(),
                )
            })
            .collect()
    };
    Ok(rows)
}

fn register(engine: &mut Engine, state: &Shared) {
    S3Bucket::register_type(engine);
    let s = state.clone();
    engine.register_fn(
        "s3_bucket",
        move |ctx: NativeCallContext, name: Dynamic, opts: Dynamic| {
            s3_bucket(&s, &ctx, &name, &opts)
        },
    );
    let s = state.clone();
    engine.register_fn("s3_bucket", move |ctx: NativeCallContext, name: Dynamic| {
        s3_bucket(&s, &ctx, &name, &Dynamic::from(rhai::Map::new()))
    });
    engine.register_get("name", |b: &mut S3Bucket| {
        Output::attr(&b.0, "name", Some(b.0.name.clone()))
    });
    engine.register_get("arn", |b: &mut S3Bucket| {
        Output::attr(&b.0, "arn", Some(format!("arn:aws:s3:::{}", b.0.name)))
    });
}

fn s3_bucket(
    state: &Shared,
    ctx: &NativeCallContext,
    name: &Dynamic,
    opts: &Dynamic,
) -> Fallible<S3Bucket> {
    let name = name_arg(ctx, "s3_bucket", name)?;
    let map = opts_arg(ctx, "s3_bucket", opts, OPTIONS)?;
    let o = Opts(&map);
    check_name(ctx, KIND, &name)?;
    check_tags(ctx, o.get("tags"))?;
    let mut deps = Deps::default();
    let mut spec = Map::new();
    spec.insert("name".into(), Value::str(&name));
    spec.insert(
        "versioning".into(),
        Value::Bool(o.bool_or("versioning", false)),
    );
    match o.address("encryption_key") {
        Some(k) => {
            deps.add(&k);
            spec.insert("encryption_key".into(), ref_to(&k));
        }
        None => {
            spec.insert("encryption_key".into(), Value::Null);
        }
    }
    if let Some(days) = o.int("expire_days") {
        if days < 1 {
            return Err(fail(
                ctx,
                Problem::new(format!("expire_days is {days}; it must be at least 1"))
                    .hint("leave expire_days out to keep objects forever"),
            ));
        }
        spec.insert("expire_days".into(), Value::Int(days));
    } else {
        spec.insert("expire_days".into(), Value::Null);
    }
    spec.insert(
        "public_access_block".into(),
        Value::Bool(o.bool_or("public_access_block", true)),
    );
    spec.insert("protect".into(), Value::Bool(o.bool_or("protect", true)));
    spec.insert(
        "policy".into(),
        o.get("policy")
            .map(|p| deps.value(p))
            .unwrap_or(Value::Null),
    );
    if let Some(t) = state.borrow().tags(o.get("tags"), &mut deps) {
        spec.insert("tags".into(), t);
    }
    let addr = Address::new(KIND, &name).in_provider(o.provider());
    declare(state, ctx, addr.clone(), spec, deps)?;
    Ok(S3Bucket(addr))
}

/// `bp adopt`: the ownership tags added to the bucket's own (S3 replaces a
/// bucket's whole tag set, so the tags it has are read first).
async fn adopt(cloud: &Cloud, name: &str, tags: &[(String, String)]) -> Result<(), ProviderError> {
    let had = match cloud.s3().get_bucket_tagging().bucket(name).send().await {
        Ok(out) => out.tag_set().to_vec(),
        Err(e) if e.as_service_error().and_then(|s| s.meta().code()) == Some("NoSuchTagSet") => {
            Vec::new()
        }
        Err(e) => return Err(ProviderError::api("GetBucketTagging")(e)),
    };
    let mut set: Vec<Tag> = had
        .into_iter()
        .filter(|t| !tags.iter().any(|(k, _)| k == t.key()))
        .collect();
    for (k, v) in tags {
        set.push(Tag::builder().key(k).value(v).build().map_err(build_err)?);
    }
    write_tag_set(cloud, name, set).await
}

/// What an S3 bucket costs a month (see [`crate::cost`]).
pub fn price(q: &crate::cost::Quote) -> crate::cost::Estimate {
    use crate::cost::{rate, Cost, Estimate, S3_GB};
    match q.prices.s3_gb_month {
        Some(gb) => Estimate::Priced(Cost::fixed(
            gb * S3_GB,
            format!("{S3_GB} GB assumed × {}", rate(gb)),
        )),
        None => q.missing("S3 storage".into()),
    }
}

#[cfg(test)]
mod tests {
    use crate::model::names::check_name;

    #[test]
    fn names() {
        let k = super::KIND;
        assert!(check_name(k, "pms-backups").is_ok());
        assert!(check_name(k, "PMS-Backups").is_err());
        assert!(check_name(k, "ab").is_err());
        assert!(check_name(k, "a..b").is_err());
        assert!(check_name(k, "192.168.1.1").is_err());
        assert!(check_name(k, "backups-").is_err());
    }
}
