//! The one list of every kind. Nothing else names them all: the layers
//! below take the list handed to them ([`crate::model::Kind::all`] is
//! linked from here) or are handed each kind's behaviour by the engine.

use super::KindDef;
use crate::model::Kind;

/// Every kind, in the order `bp check` lists them.
pub static REGISTRY: &[&KindDef] = &[
    &super::network::vpc::DEF,
    &super::network::subnet::DEF,
    &super::network::internet_gateway::DEF,
    &super::network::elastic_ip::DEF,
    &super::network::nat_gateway::DEF,
    &super::network::route_table::DEF,
    &super::network::security_group::DEF,
    &super::iam::role::DEF,
    &super::iam::oidc_provider::DEF,
    &super::iam::people::GROUP_DEF,
    &super::iam::people::USER_DEF,
    &super::iam::password_policy::DEF,
    &super::kms_key::DEF,
    &super::compute::instance_profile::DEF,
    &super::compute::instance::DEF,
    &super::compute::launch_template::DEF,
    &super::eks::cluster::DEF,
    &super::eks::node_group::DEF,
    &super::eks::fargate_profile::DEF,
    &super::eks::addon::DEF,
    &super::eks::access_entry::DEF,
    &super::eks::pod_identity::DEF,
    &super::log_group::DEF,
    &super::sqs_queue::DEF,
    &super::event_rule::DEF,
    &super::s3_bucket::DEF,
    &super::dynamodb_table::DEF,
    &super::efs::file_system::DEF,
    &super::efs::mount_target::DEF,
    &super::efs::access_point::DEF,
    &super::rds::subnet_group::DEF,
    &super::rds::parameter_group::DEF,
    &super::rds::instance::DEF,
    &super::aws_backup::vault::DEF,
    &super::aws_backup::plan::DEF,
    &super::aws_backup::selection::DEF,
    &super::k8s::namespace::DEF,
    &super::k8s::config_map::DEF,
    &super::k8s::secret::DEF,
    &super::k8s::service_account::DEF,
    &super::k8s::network_policy::DEF,
    &super::k8s::rbac::role::DEF,
    &super::k8s::rbac::role_binding::DEF,
    &super::k8s::rbac::cluster_role::DEF,
    &super::k8s::rbac::cluster_role_binding::DEF,
    &super::k8s::storage_class::DEF,
    &super::k8s::manifest::DEF,
    &super::helm_release::DEF,
    &super::output::DEF,
    &super::output::usage::DEF,
];

/// The kinds, in registry order, for the model layer.
#[linkme::distributed_slice(crate::model::schema::REGISTERED)]
static KINDS: fn() -> Vec<Kind> = || REGISTRY.iter().map(|d| d.kind).collect();

/// Each kind's part of the language, in registry order, for the script
/// layer.
#[linkme::distributed_slice(crate::script::hooks::KINDS)]
static SCRIPT: fn() -> Vec<crate::script::hooks::ScriptKind> = || {
    REGISTRY
        .iter()
        .map(|d| crate::script::hooks::ScriptKind {
            kind: d.kind,
            members: d.members,
            functions: d.functions,
            register: d.register,
            wrap: d.wrap,
            unwrap: d.unwrap,
            validate: d.validate,
        })
        .collect()
};

/// Every kind's lint rules, for the lint layer.
#[linkme::distributed_slice(crate::lint::RULE_LISTS)]
static RULES: fn() -> Vec<&'static crate::lint::Rule> =
    || REGISTRY.iter().flat_map(|d| d.rules.iter()).collect();

/// Every kind's pricing, for the cost layer.
#[linkme::distributed_slice(crate::cost::PRICING)]
static PRICING: fn() -> Vec<(Kind, crate::cost::Pricing)> =
    || REGISTRY.iter().map(|d| (d.kind, d.price)).collect();

/// The creates the SDK must never resend, for the providers layer.
#[linkme::distributed_slice(crate::providers::NO_RESEND)]
static NO_RESEND: fn() -> Vec<&'static str> = || {
    REGISTRY
        .iter()
        .flat_map(|d| d.unsafe_to_resend.iter().copied())
        .collect()
};

/// Every kind's IAM actions, for `bp permissions`.
#[linkme::distributed_slice(crate::permissions::IAM)]
static IAM: fn() -> Vec<(Kind, crate::permissions::Iam)> =
    || REGISTRY.iter().map(|d| (d.kind, d.iam)).collect();
