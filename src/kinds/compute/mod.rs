//! EC2 hosts: `instance(name, #{ subnet, instance_type, ami, ... })`
//! declares an instance ([`instance`]) and, when `role` is given, the
//! instance profile that carries the role to it ([`instance_profile`]).
//! `ami` is an image id or an alias (`"al2023"`, `"bottlerocket"`)
//! resolved through AWS's public SSM parameters when the instance is
//! created.

pub mod instance;
pub mod instance_profile;
pub mod launch_template;
pub mod lint;

use super::network::{security_group, subnet};
use crate::model::{Address, Map, Problem, Value};
use crate::script::api::{name_arg, opts_arg};
use crate::script::handles::Output;
use crate::script::schema::{def, opt, req, FnDoc, Opt, Ty, TAGS_OPT};
use crate::script::state::{
    check_name, check_tags, declare, fail, ref_to, Deps, Fallible, Opts, Shared,
};
use rhai::{Dynamic, NativeCallContext};

crate::handle_type!(Instance);

/// The AMI aliases and the public SSM parameter each is read from
/// (`{arch}` is `x86_64` or `arm64`, from the instance type).
pub const AMI_ALIASES: &[(&str, &str)] = &[
    (
        "al2023",
        "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-{arch}",
    ),
    (
        "bottlerocket",
        "/aws/service/bottlerocket/aws-ecs-2/{arch}/latest/image_id",
    ),
];

const VOLUME_TYPES: &[&str] = &["gp3", "gp2", "io1", "io2", "st1", "sc1"];

const ROOT_VOLUME: &[Opt] = &[
    def("size_gb", Ty::Int, "the image's", "the root volume's size"),
    def(
        "type",
        Ty::Enum(VOLUME_TYPES),
        "\"gp3\"",
        "the EBS volume type",
    ),
    def("encrypted", Ty::Bool, "true", "encrypt the root volume"),
];

pub const OPTIONS: &[Opt] = &[
    req("subnet", Ty::Handle(subnet::KIND), "where it runs"),
    req(
        "instance_type",
        Ty::Str,
        "e.g. \"t3.small\"; a change stops and starts the instance",
    ),
    req(
        "ami",
        Ty::Str,
        "an image id (\"ami-...\") or \"al2023\" / \"bottlerocket\", resolved when the instance is created",
    ),
    opt(
        "security_groups",
        Ty::HandleList(security_group::KIND),
        "its security groups (default: the VPC's default group)",
    ),
    opt("key_name", Ty::Str, "an EC2 key pair for SSH"),
    opt(
        "user_data",
        Ty::Text,
        "the boot script (cloud-init); a change replaces the instance",
    ),
    opt(
        "role",
        Ty::Handle(super::iam::role::KIND),
        "an IAM role for the instance, through an instance profile Blueprint creates",
    ),
    opt("root_volume", Ty::Nested(ROOT_VOLUME), "the root EBS volume"),
    def(
        "metadata_v2_required",
        Ty::Bool,
        "true",
        "require IMDSv2 (session tokens) for the instance metadata service",
    ),
    def(
        "public_ip",
        Ty::Bool,
        "false",
        "give it a public IPv4 address (in a public subnet)",
    ),
    TAGS_OPT,
];

pub const FUNCTIONS: &[FnDoc] = &[FnDoc {
    name: "instance",
    signature: "instance(name, #{ subnet, instance_type, ami, security_groups?, key_name?, user_data?, role?, root_volume?, metadata_v2_required?, public_ip?, tags? }) -> Instance",
    doc: "An EC2 instance (a bastion, an SFTP host), with an instance profile when it has a role.",
    options: OPTIONS,
    method_of: None,
}];

/// The CPU architecture of an instance type: Graviton families carry a
/// `g` after their generation (`m7g`, `t4g`, `c7gn`), and are arm64.
pub fn arch(instance_type: &str) -> &'static str {
    let family = instance_type.split('.').next().unwrap_or_default();
    let after_digit: String = family
        .trim_start_matches(|c: char| c.is_ascii_alphabetic())
        .trim_start_matches(|c: char| c.is_ascii_digit())
        .to_string();
    if after_digit.contains('g') {
        "arm64"
    } else {
        "x86_64"
    }
}

fn instance(
    state: &Shared,
    ctx: &NativeCallContext,
    name: &Dynamic,
    opts: &Dynamic,
) -> Fallible<Instance> {
    let name = name_arg(ctx, "instance", name)?;
    let map = opts_arg(ctx, "instance", opts, OPTIONS)?;
    let o = Opts(&map);
    check_name(ctx, instance::KIND, &name)?;
    check_tags(ctx, o.get("tags"))?;
    let ami = o.str("ami").unwrap_or_default();
    let alias = AMI_ALIASES.iter().any(|(a, _)| *a == ami);
    let image_id = ami.starts_with("ami-") && ami.len() > 4;
    if !(alias || image_id) {
        return Err(fail(
            ctx,
            Problem::new(format!("instance {name}: `{ami}` is not an AMI"))
                .hint("an image id such as \"ami-0abc...\", or \"al2023\" or \"bottlerocket\""),
        ));
    }
    let itype = o.str("instance_type").unwrap_or_default();
    if !itype.contains('.') {
        return Err(fail(
            ctx,
            Problem::new(format!(
                "instance {name}: `{itype}` is not an instance type"
            ))
            .hint("e.g. \"t3.small\""),
        ));
    }
    let mut deps = Deps::default();
    let subnet = o.address("subnet").expect("checked by the schema");
    deps.add(&subnet);
    let mut spec = Map::new();
    spec.insert("name".into(), Value::str(&name));
    spec.insert("subnet".into(), ref_to(&subnet));
    spec.insert("instance_type".into(), Value::Str(itype));
    spec.insert("ami".into(), Value::Str(ami));
    if o.has("security_groups") {
        let groups: Vec<Value> = o
            .addresses("security_groups")
            .iter()
            .map(|g| {
                deps.add(g);
                ref_to(g)
            })
            .collect();
        spec.insert("security_groups".into(), Value::List(groups));
    }
    if let Some(k) = o.str("key_name") {
        spec.insert("key_name".into(), Value::Str(k));
    }
    if let Some(u) = o.get("user_data") {
        spec.insert("user_data".into(), deps.value(u));
    }
    if let Some(root) = o
        .get("root_volume")
        .and_then(|r| r.read_lock::<rhai::Map>().map(|m| m.clone()))
    {
        let ro = Opts(&root);
        let mut m = Map::new();
        if let Some(size) = ro.int("size_gb") {
            if !(1..=16384).contains(&size) {
                return Err(fail(
                    ctx,
                    Problem::new(format!("instance {name}: root_volume.size_gb is {size}"))
                        .hint("1 to 16384 GB"),
                ));
            }
            m.insert("size_gb".into(), Value::Int(size));
        }
        m.insert(
            "type".into(),
            Value::str(ro.str("type").unwrap_or_else(|| "gp3".into())),
        );
        m.insert(
            "encrypted".into(),
            Value::Bool(ro.bool_or("encrypted", true)),
        );
        spec.insert("root_volume".into(), Value::Map(m));
    }
    spec.insert(
        "metadata_v2_required".into(),
        Value::Bool(o.bool_or("metadata_v2_required", true)),
    );
    spec.insert(
        "public_ip".into(),
        Value::Bool(o.bool_or("public_ip", false)),
    );
    if let Some(role) = o.address("role") {
        let profile = instance_profile::declare(state, ctx, &name, &role)?;
        deps.add(&profile);
        spec.insert(
            "profile".into(),
            Value::Ref(crate::model::Ref {
                address: profile,
                attr: "arn".into(),
            }),
        );
    }
    if let Some(t) = state.borrow().tags(o.get("tags"), &mut deps) {
        spec.insert("tags".into(), t);
    }
    // Its subnet's provider instance.
    let addr = Address::new(instance::KIND, &name)
        .in_provider(o.address("subnet").and_then(|s| s.provider));
    declare(state, ctx, addr.clone(), spec, deps)?;
    Ok(Instance(addr))
}

/// `instance(...)` and its handle's properties.
pub fn register(engine: &mut rhai::Engine, state: &Shared) {
    Instance::register_type(engine);
    let s = state.clone();
    engine.register_fn(
        "instance",
        move |ctx: NativeCallContext, name: Dynamic, opts: Dynamic| {
            instance(&s, &ctx, &name, &opts)
        },
    );
    engine.register_get("name", |i: &mut Instance| {
        Output::attr(&i.0, "name", Some(i.0.name.clone()))
    });
    for prop in ["id", "arn", "private_ip", "public_ip"] {
        engine.register_get(prop, move |i: &mut Instance| Output::attr(&i.0, prop, None));
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn graviton_types_are_arm() {
        assert_eq!(super::arch("t4g.small"), "arm64");
        assert_eq!(super::arch("c7gn.large"), "arm64");
        assert_eq!(super::arch("m6gd.xlarge"), "arm64");
        assert_eq!(super::arch("t3.small"), "x86_64");
        assert_eq!(super::arch("g5.xlarge"), "x86_64");
        assert_eq!(super::arch("m6i.large"), "x86_64");
    }
}
