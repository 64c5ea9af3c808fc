//! `account_id()` and `azs()`: facts about the AWS account and region a
//! blueprint is planned against, read once per run with the command's own
//! AWS settings (STS GetCallerIdentity; EC2 DescribeAvailabilityZones), each
//! at most once per evaluation.
//! Commands that read no AWS (`bp check`, `bp graph`, `bp destroy`'s
//! evaluation) get placeholders, and say so.

use super::super::state::{fail, Fallible, Shared};
use super::super::Secrets;
use crate::model::Problem;
use rhai::{Dynamic, Engine, NativeCallContext};

/// What `account_id()` stands for where no AWS is read.
pub const PLACEHOLDER_ACCOUNT: &str = "000000000000";

/// The facts read so far in this run.
#[derive(Clone, Debug, Default)]
pub struct Facts {
    pub account_id: Option<String>,
    pub azs: Option<Vec<String>>,
    /// The facts that stood for placeholders, for the command to say so.
    pub placeholders: std::collections::BTreeSet<&'static str>,
}

fn runtime(ctx: &NativeCallContext, what: &str) -> Fallible<tokio::runtime::Runtime> {
    if tokio::runtime::Handle::try_current().is_ok() {
        return Err(fail(
            ctx,
            Problem::new(format!("{what} cannot run inside an async runtime")),
        ));
    }
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| fail(ctx, Problem::new(format!("{what}: {e}"))))
}

async fn config(
    access: &crate::sops::KmsAccess,
    region: &str,
    instance: Option<(&crate::model::ProviderSpec, &str)>,
) -> aws_config::SdkConfig {
    let (region, profile) = match instance {
        Some((spec, _)) => (
            spec.region.as_str(),
            spec.profile.as_ref().or(access.profile.as_ref()),
        ),
        None => (region, access.profile.as_ref()),
    };
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(region.to_string()));
    if let Some(p) = profile {
        loader = loader.profile_name(p);
    }
    if let Some(e) = &access.endpoint_url {
        loader = loader.endpoint_url(e);
    }
    let local = crate::providers::is_local(access.endpoint_url.as_deref());
    let conf = loader
        .retry_config(crate::providers::retry_config(local))
        .load()
        .await;
    match instance {
        Some((spec, blueprint)) => crate::providers::assume_role(conf, spec, blueprint).await,
        None => conf,
    }
}

/// Runs an AWS read for a script function with the command's own AWS
/// access (the access `sops_file` decrypts with). Where the command reads
/// no AWS (`bp check`), it runs nothing, records `what` as a placeholder
/// for the command to say so, and returns `None`.
pub(crate) fn read_aws<T, Fut>(
    state: &Shared,
    ctx: &NativeCallContext,
    what: &'static str,
    read: impl FnOnce(aws_config::SdkConfig) -> Fut,
) -> Fallible<Option<T>>
where
    Fut: std::future::Future<Output = Result<T, Problem>>,
{
    read_aws_at(state, ctx, what, None, read)
}

/// [`read_aws`] in the account and region of provider instance `at`
/// (its alias), when given.
pub(crate) fn read_aws_at<T, Fut>(
    state: &Shared,
    ctx: &NativeCallContext,
    what: &'static str,
    at: Option<&str>,
    read: impl FnOnce(aws_config::SdkConfig) -> Fut,
) -> Fallible<Option<T>>
where
    Fut: std::future::Future<Output = Result<T, Problem>>,
{
    let access = match &state.borrow().secrets {
        Secrets::Decrypt(access) => Some(access.clone()),
        Secrets::Sealed => None,
    };
    let Some(access) = access else {
        state.borrow_mut().aws_facts.placeholders.insert(what);
        return Ok(None);
    };
    let region = state.borrow().region.clone();
    let instance = at.and_then(|a| state.borrow().graph.provider(a).cloned());
    let blueprint = state.borrow().blueprint_name.clone().unwrap_or_default();
    runtime(ctx, what)?
        .block_on(async {
            let conf = config(
                &access,
                &region,
                instance.as_ref().map(|s| (s, blueprint.as_str())),
            )
            .await;
            read(conf).await
        })
        .map(Some)
        .map_err(|p| fail(ctx, p))
}

/// What an output of another blueprint (`blueprint_outputs(name).key`)
/// stands for where no AWS is read (`bp check`, `bp test`, and `bp
/// destroy`, which needs none): its text is `(output KEY of BLUEPRINT)`.
/// Any option and any id check takes it, as the value itself is checked at
/// plan time. A list or map output is looked into as at plan time
/// (`o.sizes.large[1]` is a placeholder too), and it joins strings; a
/// branch on one (`if o.flag`) waits for the plan.
#[derive(Clone, Debug)]
pub struct Pending(pub String);

impl Pending {
    pub fn output(blueprint: &str, key: &str) -> Pending {
        Pending(format!("(output {key} of {blueprint})"))
    }

    /// A value of something that exists, read only when planning: its text
    /// is `(WHAT, read when planning)`.
    pub fn read_when_planning(what: String) -> Pending {
        Pending(format!("({what}, read when planning)"))
    }

    /// The placeholder of a part of this one (`sizes.large`, `list[1]`).
    fn part(&self, part: &str) -> Pending {
        match self.0.split_once(" of ") {
            Some((key, of)) => Pending(format!("{key}{part} of {of}")),
            None => self.clone(),
        }
    }
}

/// The text of a [`Pending`] value, where a string is taken.
pub fn pending_text(v: &Dynamic) -> Option<String> {
    v.read_lock::<Pending>().map(|p| p.0.clone())
}

/// Whether `v` is the text of a [`Pending`] value.
pub fn is_output_placeholder(v: &str) -> bool {
    v.starts_with("(output ") && v.ends_with(')') && v.contains(" of ")
}

/// Whether `v` holds the text of a [`Pending`] value (a name made with one).
pub fn holds_placeholder(v: &str) -> bool {
    v.split("(output ").skip(1).any(|rest| {
        rest.split_once(')')
            .is_some_and(|(p, _)| p.contains(" of "))
    })
}

fn register_pending(engine: &mut Engine) {
    engine.register_type_with_name::<Pending>("Pending");
    engine.register_fn("to_string", |p: &mut Pending| p.0.clone());
    engine.register_fn("to_debug", |p: &mut Pending| p.0.clone());
    engine.register_indexer_get(|p: &mut Pending, key: &str| p.part(&format!(".{key}")));
    engine.register_indexer_get(|p: &mut Pending, i: rhai::INT| p.part(&format!("[{i}]")));
    engine.register_fn("+", |a: rhai::ImmutableString, p: Pending| {
        format!("{a}{}", p.0)
    });
    engine.register_fn("+", |p: Pending, a: rhai::ImmutableString| {
        format!("{}{a}", p.0)
    });
    engine.register_fn("+", |p: Pending, q: Pending| format!("{}{}", p.0, q.0));
}

/// The error of an AWS call made for a script function, in words.
pub(crate) fn api_problem<E, R>(
    what: &str,
    op: &str,
    e: &aws_smithy_runtime_api::client::result::SdkError<E, R>,
) -> Problem
where
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    use aws_smithy_types::error::metadata::ProvideErrorMetadata;
    Problem::new(format!(
        "{what}: {op} failed: {}",
        e.message()
            .map(String::from)
            .unwrap_or_else(|| aws_smithy_types::error::display::DisplayErrorContext(e).to_string())
    ))
    .hint("check the AWS credentials and --endpoint-url of this command")
}

/// The error code of an AWS call's error (`InvalidVpcID.NotFound`).
pub(crate) fn error_code<E, R>(
    e: &aws_smithy_runtime_api::client::result::SdkError<E, R>,
) -> Option<String>
where
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata,
{
    use aws_smithy_types::error::metadata::ProvideErrorMetadata;
    e.code().map(String::from)
}

fn account_id(state: &Shared, ctx: &NativeCallContext) -> Fallible<String> {
    if let Some(a) = state.borrow().aws_facts.account_id.clone() {
        return Ok(a);
    }
    let read = read_aws(state, ctx, "account_id()", |conf| async move {
        let sts = aws_sdk_sts::Client::new(&conf);
        let out = sts
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| api_problem("account_id()", "STS GetCallerIdentity", &e))?;
        Ok(out.account().unwrap_or_default().to_string())
    })?;
    let Some(id) = read else {
        return Ok(PLACEHOLDER_ACCOUNT.into());
    };
    state.borrow_mut().aws_facts.account_id = Some(id.clone());
    Ok(id)
}

fn azs(state: &Shared, ctx: &NativeCallContext) -> Fallible<rhai::Array> {
    let to_array = |v: &[String]| v.iter().map(|z| Dynamic::from(z.clone())).collect();
    if let Some(z) = state.borrow().aws_facts.azs.clone() {
        return Ok(to_array(&z));
    }
    let region = state.borrow().region.clone();
    let read = read_aws(state, ctx, "azs()", |conf| async move {
        let ec2 = aws_sdk_ec2::Client::new(&conf);
        let out = ec2
            .describe_availability_zones()
            .filters(
                aws_sdk_ec2::types::Filter::builder()
                    .name("zone-type")
                    .values("availability-zone")
                    .build(),
            )
            .send()
            .await
            .map_err(|e| api_problem("azs()", "EC2 DescribeAvailabilityZones", &e))?;
        let mut zones: Vec<String> = out
            .availability_zones()
            .iter()
            .filter(|z| z.state().map(|s| s.as_str()) == Some("available"))
            .filter_map(|z| z.zone_name().map(String::from))
            .collect();
        zones.sort();
        Ok(zones)
    })?;
    let Some(zones) = read else {
        return Ok(to_array(&placeholder_azs(&region)));
    };
    state.borrow_mut().aws_facts.azs = Some(zones.clone());
    Ok(to_array(&zones))
}

/// What `azs()` stands for where no AWS is read.
pub(crate) fn placeholder_azs(region: &str) -> Vec<String> {
    ["a", "b", "c"].map(|l| format!("{region}{l}")).to_vec()
}

pub fn register(engine: &mut Engine, state: &Shared) {
    register_pending(engine);
    let s = state.clone();
    engine.register_fn("account_id", move |ctx: NativeCallContext| {
        account_id(&s, &ctx)
    });
    let s = state.clone();
    engine.register_fn("azs", move |ctx: NativeCallContext| azs(&s, &ctx));
}

#[cfg(test)]
mod pending_tests {
    use super::*;

    #[test]
    fn parts_of_a_placeholder_name_where_they_come_from() {
        let p = Pending::output("net", "sizes");
        assert_eq!(p.0, "(output sizes of net)");
        assert_eq!(
            p.part(".large").part("[1]").0,
            "(output sizes.large[1] of net)"
        );
        assert!(is_output_placeholder(&p.0));
        assert!(!is_output_placeholder("vpc-0abc"));
        assert!(holds_placeholder("/reader/(output name of net)-x"));
        assert!(!holds_placeholder("/reader/(output name)"));
        assert!(!holds_placeholder("plain"));
    }
}
