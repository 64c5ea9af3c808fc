//! `aws(#{ region, assume_role?, external_id?, profile?, alias? })`: a
//! provider instance, which AWS constructors take as `provider:`. Its
//! resources' addresses carry its alias (`eu:vpc.main`), and so do their
//! children's. Everything is checked here, before any AWS call: a region
//! this version knows, an IAM role ARN, an alias of its own.

use super::super::schema::{def, opt, req, Opt, Ty};
use super::super::state::{fail, Fallible, Shared};
use crate::model::provider::{check_alias, check_region, check_role_arn};
use crate::model::{Problem, ProviderSpec};
use rhai::{Dynamic, Engine, NativeCallContext};

/// A provider instance, as scripts hold it.
#[derive(Clone, Debug, PartialEq)]
pub struct Provider {
    pub alias: String,
    pub spec: ProviderSpec,
}

pub const OPTIONS: &[Opt] = &[
    req("region", Ty::Str, "the AWS region, e.g. eu-west-1"),
    opt(
        "assume_role",
        Ty::Str,
        "the ARN of a role to assume (another account's), with a session named after the blueprint",
    ),
    opt(
        "external_id",
        Ty::Str,
        "the external id the role's trust policy asks for",
    ),
    opt(
        "profile",
        Ty::Str,
        "a profile of the shared AWS config files, in place of the command line's",
    ),
    def(
        "alias",
        Ty::Str,
        "the region, after the account or profile",
        "the name addresses carry (eu:vpc.main) and plans group by",
    ),
];

/// The `provider` option of AWS constructors.
pub const PROVIDER_OPT: Opt = opt(
    "provider",
    Ty::Check("a provider instance, aws(#{ region })", is_provider),
    "the provider instance (aws(#{ region, assume_role? })) to make it with; what is declared on it takes the same",
);

fn is_provider(d: &Dynamic) -> bool {
    d.is::<Provider>()
}

pub fn register(engine: &mut Engine, state: &Shared) {
    engine
        .register_type_with_name::<Provider>("Provider")
        .register_get("alias", |p: &mut Provider| p.alias.clone())
        .register_get("region", |p: &mut Provider| p.spec.region.clone())
        .register_fn("to_string", |p: &mut Provider| format!("aws:{}", p.alias))
        .register_fn("to_debug", |p: &mut Provider| format!("aws:{}", p.alias));
    let s = state.clone();
    engine.register_fn(
        "aws",
        move |ctx: NativeCallContext, opts: Dynamic| -> Fallible<Provider> {
            let map = super::opts_arg(&ctx, "aws(...)", &opts, OPTIONS)?;
            let o = super::super::state::Opts(&map);
            let region = o.str("region").unwrap_or_default();
            check_region(&region).map_err(|p| fail(&ctx, p))?;
            let assume_role = o.str("assume_role");
            if let Some(arn) = &assume_role {
                check_role_arn(arn).map_err(|p| fail(&ctx, p))?;
            }
            let external_id = o.str("external_id");
            if external_id.is_some() && assume_role.is_none() {
                return Err(fail(
                    &ctx,
                    Problem::new("aws(...): external_id is given without assume_role")
                        .hint("an external id goes with the role it is asked by: add assume_role"),
                ));
            }
            let spec = ProviderSpec {
                region,
                assume_role,
                external_id,
                profile: o.str("profile"),
            };
            let alias = o.str("alias").unwrap_or_else(|| spec.default_alias());
            check_alias(&alias).map_err(|p| fail(&ctx, p))?;
            let mut st = s.borrow_mut();
            if let Err(had) = st.graph.add_provider(&alias, spec.clone()) {
                let had = had.clone();
                drop(st);
                return Err(fail(
                    &ctx,
                    Problem::new(format!(
                        "provider alias `{alias}` is taken by another provider instance ({})",
                        describe(&had)
                    ))
                    .hint("give each instance its own alias: aws(#{ ..., alias: \"...\" })"),
                ));
            }
            Ok(Provider { alias, spec })
        },
    );
}

fn describe(s: &ProviderSpec) -> String {
    let mut out = format!("region {}", s.region);
    if let Some(r) = &s.assume_role {
        out.push_str(&format!(", role {r}"));
    }
    if let Some(p) = &s.profile {
        out.push_str(&format!(", profile {p}"));
    }
    out
}

/// The provider instance of `alias` as scripts hold it, for a constructor
/// that declares resources with another's options (`c.karpenter(...)`
/// declares its queue on the cluster's instance).
pub fn handle(state: &Shared, alias: Option<&str>) -> Option<Dynamic> {
    let alias = alias?;
    let spec = state.borrow().graph.provider(alias)?.clone();
    Some(Dynamic::from(Provider {
        alias: alias.to_string(),
        spec,
    }))
}

/// The alias of the `provider` option of a constructor, if given.
pub fn alias(map: &rhai::Map) -> Option<String> {
    map.get("provider")
        .and_then(|d| d.read_lock::<Provider>().map(|p| p.alias.clone()))
}
