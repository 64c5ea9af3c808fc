//! The network family: VPCs with their subnets, internet gateway, NAT
//! gateways (and their elastic IPs), route tables, and security groups.
//! This file holds the family's script functions (`vpc`, `subnet`,
//! `security_group`, `rule`), their option schemas and the whole-graph
//! checks of CIDR blocks and zones; each kind's own module holds its
//! registry entry, live read and changes.

pub mod elastic_ip;
pub mod existing;
pub mod internet_gateway;
pub mod lint;
pub mod nat_gateway;
pub mod route_table;
pub mod security_group;
pub mod subnet;
pub mod vpc;

use crate::model::{regions, Address, Cidr, Graph, Map, Problem, Resource, Value};
use crate::script::api::{name_arg, opts_arg};
use crate::script::handles::{self, Output};
use crate::script::schema::{self, def, opt, req, FnDoc, Opt, Ty, TAGS_OPT};
use crate::script::state::{
    check_name, check_tags, declare, fail, known, ref_to, refuse_existing, Deps, Fallible, Opts,
    Shared,
};
use rhai::{Array, Dynamic, Engine, NativeCallContext};

crate::handle_type!(Vpc);
crate::handle_type!(Subnet);
crate::handle_type!(SecurityGroup);
crate::handle_type!(InternetGateway);
crate::handle_type!(NatGateway);
crate::handle_type!(RouteTable);
crate::handle_type!(ElasticIp);

/// What a VPC's constructor declared: its zones and subnets by role.
#[derive(Debug, Default, Clone)]
pub struct VpcInfo {
    pub azs: Vec<String>,
    pub public: Vec<Address>,
    pub private: Vec<Address>,
}

/// A security-group rule made by `rule(...)`.
#[derive(Clone, Debug, PartialEq)]
pub struct Rule {
    pub protocol: String,
    pub from: Option<i64>,
    pub to: Option<i64>,
    pub peer: Peer,
    pub description: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Peer {
    Cidr(String),
    Group(Address),
    SelfGroup,
}

/// A rule as the REPL shows it.
pub fn show_value(v: &Dynamic) -> Option<String> {
    v.read_lock::<Rule>().map(|r| format!("{:?}", *r))
}

fn is_rule(d: &Dynamic) -> bool {
    d.is::<Rule>()
}

pub const NAT: &[&str] = &["none", "single", "one_per_az"];
pub const PROTOCOLS: &[&str] = &["tcp", "udp", "icmp", "all"];

pub const VPC: &[Opt] = &[
    req("cidr", Ty::Cidr, "the primary IPv4 block, e.g. \"10.0.0.0/16\""),
    opt("secondary_cidrs", Ty::CidrList, "extra IPv4 blocks associated with the VPC"),
    opt("azs", Ty::Azs, "how many availability zones (count) or which ones (list of names); subnets are spread over them in order"),
    opt("public_subnets", Ty::CidrList, "CIDRs of public subnets, one per AZ in order"),
    opt("private_subnets", Ty::CidrList, "CIDRs of private subnets, one per AZ in order"),
    def("nat", Ty::Enum(NAT), "\"single\" when there are public and private subnets, else \"none\"", "NAT gateways for private subnets"),
    def("dns_hostnames", Ty::Bool, "true", "enable DNS hostnames"),
    def("elb_role_tags", Ty::Bool, "true", "tag public subnets kubernetes.io/role/elb and private ones kubernetes.io/role/internal-elb, where the load balancer controller puts internet-facing and internal load balancers"),
    TAGS_OPT,
    crate::script::api::providers::PROVIDER_OPT,
];

pub const SUBNET: &[Opt] = &[
    req("cidr", Ty::Cidr, "the subnet's IPv4 block, inside the VPC"),
    req("az", Ty::Str, "availability zone name, e.g. \"us-east-1a\""),
    def(
        "public",
        Ty::Bool,
        "false",
        "public (routed to the internet gateway, public IPs on launch)",
    ),
    TAGS_OPT,
];

pub const SECURITY_GROUP: &[Opt] = &[
    def(
        "description",
        Ty::Str,
        "\"Managed by Blueprint\"",
        "group description (changing it replaces the group)",
    ),
    opt(
        "ingress",
        Ty::Values("rule(...)", is_rule),
        "inbound rules, made with rule(...)",
    ),
    def(
        "egress",
        Ty::Values("rule(...)", is_rule),
        "all traffic to 0.0.0.0/0",
        "outbound rules, made with rule(...)",
    ),
    TAGS_OPT,
];

pub const RULE: &[Opt] = &[
    req(
        "protocol",
        Ty::Enum(PROTOCOLS),
        "\"tcp\", \"udp\", \"icmp\" or \"all\"",
    ),
    opt("port", Ty::Int, "a single port"),
    opt(
        "from",
        Ty::Int,
        "first port of a range (ICMP type for icmp)",
    ),
    opt("to", Ty::Int, "last port of a range (ICMP code for icmp)"),
    opt("cidr", Ty::Cidr, "peer IPv4 block"),
    opt(
        "source",
        Ty::HandleOrStr(security_group::KIND),
        "peer security group, or \"self\"",
    ),
    opt("description", Ty::Str, "rule description"),
];

pub const VPC_FUNCTIONS: &[FnDoc] = &[
    FnDoc {
        name: "vpc",
        signature: "vpc(name, #{ cidr, ... }) -> Vpc",
        doc: "A VPC with its subnets, internet gateway, NAT gateways and route tables.",
        options: VPC,
        method_of: None,
    },
    existing::EXISTING_VPC,
    existing::VPC_SUBNETS,
];
pub const SUBNET_FUNCTIONS: &[FnDoc] = &[FnDoc {
    name: "subnet",
    signature: "subnet(vpc, name, #{ cidr, az, public? }) -> Subnet",
    doc: "An explicit subnet of a VPC.",
    options: SUBNET,
    method_of: None,
}];
pub const SECURITY_GROUP_FUNCTIONS: &[FnDoc] = &[
    FnDoc { name: "security_group", signature: "security_group(vpc, name, #{ ... }) -> SecurityGroup", doc: "A security group; rules are compared as sets.", options: SECURITY_GROUP, method_of: None },
    FnDoc { name: "rule", signature: "rule(#{ protocol, port?|from?/to?, cidr?|source? }) -> Rule", doc: "A security-group rule.", options: RULE, method_of: None },
    FnDoc { name: "add_ingress", signature: "sg.add_ingress(rule)", doc: "Adds an inbound rule after the group is declared (for groups that refer to each other).", options: &[], method_of: Some("SecurityGroup") },
    FnDoc { name: "add_egress", signature: "sg.add_egress(rule)", doc: "Adds an outbound rule after the group is declared.", options: &[], method_of: Some("SecurityGroup") },
    existing::EXISTING_SECURITY_GROUP,
];

/// Handle types with no functions of their own (declared by `vpc(...)`).
pub fn register_types_only(engine: &mut Engine, _: &Shared) {
    let _ = engine;
}

pub fn register_vpc(engine: &mut Engine, state: &Shared) {
    Vpc::register_type(engine);
    let s = state.clone();
    engine.register_fn(
        "vpc",
        move |ctx: NativeCallContext, name: Dynamic, opts: Dynamic| vpc(&s, &ctx, &name, &opts),
    );
    register_vpc_getters(engine, state);
    existing::register_vpc(engine, state);
}

pub fn register_subnet(engine: &mut Engine, state: &Shared) {
    Subnet::register_type(engine);
    let s = state.clone();
    engine.register_fn(
        "subnet",
        move |ctx: NativeCallContext, vpc: Dynamic, name: Dynamic, opts: Dynamic| {
            subnet(&s, &ctx, &vpc, &name, &opts)
        },
    );
    for prop in ["name", "cidr", "az"] {
        let s = state.clone();
        engine.register_get(prop, move |sn: &mut Subnet| {
            let known = s
                .borrow()
                .graph
                .get(&sn.0)
                .and_then(|r| r.str(prop).map(String::from));
            Output::attr(&sn.0, prop, known)
        });
    }
    let s = state.clone();
    engine.register_get("id", move |sn: &mut Subnet| {
        Output::attr(&sn.0, "id", known(&s, &sn.0, "id"))
    });
}

pub fn register_security_group(engine: &mut Engine, state: &Shared) {
    SecurityGroup::register_type(engine);
    engine
        .register_type_with_name::<Rule>("Rule")
        .register_fn("to_debug", |r: &mut Rule| format!("{r:?}"));
    let s = state.clone();
    engine.register_fn(
        "security_group",
        move |ctx: NativeCallContext, vpc: Dynamic, name: Dynamic, opts: Dynamic| {
            security_group(&s, &ctx, &vpc, &name, &opts)
        },
    );
    let s = state.clone();
    engine.register_fn(
        "security_group",
        move |ctx: NativeCallContext, vpc: Dynamic, name: Dynamic| {
            security_group(&s, &ctx, &vpc, &name, &Dynamic::from(rhai::Map::new()))
        },
    );
    engine.register_fn("rule", |ctx: NativeCallContext, opts: Dynamic| {
        rule(&ctx, &opts)
    });
    for (method, key) in [("add_ingress", "ingress"), ("add_egress", "egress")] {
        let s = state.clone();
        engine.register_fn(
            method,
            move |ctx: NativeCallContext, sg: &mut SecurityGroup, r: Dynamic| -> Fallible<()> {
                add_rule(&s, &ctx, &sg.0, key, &r)
            },
        );
    }

    let s = state.clone();
    engine.register_get("name", move |g: &mut SecurityGroup| {
        let known = s
            .borrow()
            .graph
            .get(&g.0)
            .and_then(|r| r.str("name").map(String::from));
        Output::attr(&g.0, "name", known)
    });
    let s = state.clone();
    engine.register_get("id", move |g: &mut SecurityGroup| {
        Output::attr(&g.0, "id", known(&s, &g.0, "id"))
    });
    existing::register_security_group(engine, state);
}

fn register_vpc_getters(engine: &mut Engine, state: &Shared) {
    let s = state.clone();
    engine.register_get("name", move |v: &mut Vpc| {
        let name = s
            .borrow()
            .graph
            .get(&v.0)
            .and_then(|r| r.str("name").map(String::from));
        Output::attr(&v.0, "name", name)
    });
    let s = state.clone();
    engine.register_get("cidr", move |v: &mut Vpc| -> Dynamic {
        let st = s.borrow();
        let r = st.graph.get(&v.0);
        // An existing VPC where no AWS is read (`bp check`, `bp lint`): its
        // block is not known, and its placeholder's (which holds every
        // subnet) must not pass for it, or a rule from it would look open
        // to the world.
        if let Some(r) = r.filter(|r| r.is_existing() && existing::is_placeholder(r)) {
            return Dynamic::from(crate::script::api::facts::Pending::read_when_planning(
                format!("the block of {}", r.str("id").unwrap_or(&v.0.name)),
            ));
        }
        Dynamic::from(Output::attr(
            &v.0,
            "cidr",
            r.and_then(|r| r.str("cidr").map(String::from)),
        ))
    });
    let s = state.clone();
    engine.register_get("id", move |v: &mut Vpc| {
        Output::attr(&v.0, "id", known(&s, &v.0, "id"))
    });
    for (prop, public) in [("public_subnets", true), ("private_subnets", false)] {
        let s = state.clone();
        engine.register_get(
            prop,
            move |ctx: NativeCallContext, v: &mut Vpc| -> Fallible<Array> {
                let st = s.borrow();
                let info = st
                    .fact::<VpcInfo>(&v.0)
                    .ok_or_else(|| vpc_not_declared(&st, &ctx, &v.0))?;
                let list = if public { &info.public } else { &info.private };
                Ok(list
                    .iter()
                    .map(|a| Dynamic::from(Subnet(a.clone())))
                    .collect())
            },
        );
    }
    let s = state.clone();
    engine.register_get(
        "azs",
        move |ctx: NativeCallContext, v: &mut Vpc| -> Fallible<Array> {
            let st = s.borrow();
            let info = st
                .fact::<VpcInfo>(&v.0)
                .ok_or_else(|| vpc_not_declared(&st, &ctx, &v.0))?;
            Ok(info.azs.iter().map(|z| Dynamic::from(z.clone())).collect())
        },
    );
}

/// Why a VPC's subnets or zones are unknown: not declared yet, or an
/// existing VPC, whose subnets come from `subnets(...)`.
fn vpc_not_declared(
    st: &crate::script::state::State,
    ctx: &NativeCallContext,
    a: &Address,
) -> Box<rhai::EvalAltResult> {
    if st.graph.get(a).is_some_and(|r| r.is_existing()) {
        return fail(
            ctx,
            Problem::new(format!(
                "{a} exists outside this blueprint: Blueprint knows its subnets and zones only when asked"
            ))
            .hint("use its subnets(#{ tags: #{ ... } }) or subnets(#{ ids: [...] })"),
        );
    }
    not_declared_yet(ctx, a)
}

fn not_declared_yet(ctx: &NativeCallContext, a: &Address) -> Box<rhai::EvalAltResult> {
    fail(
        ctx,
        Problem::new(format!("{a} is not declared (yet)"))
            .hint("declare it before reading its properties"),
    )
}

fn parse_cidr(ctx: &NativeCallContext, s: &str) -> Fallible<Cidr> {
    s.parse::<Cidr>()
        .map_err(|e| fail(ctx, Problem::new(e.to_string()).hint(e.hint())))
}

fn az_letter(az: &str) -> char {
    az.chars().last().unwrap_or('x')
}

fn vpc(state: &Shared, ctx: &NativeCallContext, name: &Dynamic, opts: &Dynamic) -> Fallible<Vpc> {
    let v = parse_vpc(state, ctx, name, opts)?;
    let cidr = validate_vpc(ctx, &v)?;
    declare_vpc(state, ctx, &v, cidr)
}

/// Where NAT gateways go.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Nat {
    None,
    Single,
    OnePerAz,
}

/// One subnet of a VPC's layout: its leaf name (`private-a`), block and zone.
type Slot = (String, String, String);

/// What `vpc(name, #{ ... })` asks for, parsed.
struct VpcDecl {
    name: String,
    /// The VPC's address, with its provider instance.
    address: Address,
    nat: Nat,
    nat_word: String,
    cidr: String,
    secondary: Vec<String>,
    dns_hostnames: bool,
    elb_role_tags: bool,
    azs: Vec<String>,
    public: Vec<Slot>,
    private: Vec<Slot>,
    tags: Option<Dynamic>,
}

/// Parses the constructor's arguments: the name, the zones (a count, a
/// list, or as many as the subnets need), the NAT layout and the subnets
/// laid out over the zones.
fn parse_vpc(
    state: &Shared,
    ctx: &NativeCallContext,
    name: &Dynamic,
    opts: &Dynamic,
) -> Fallible<VpcDecl> {
    let name = name_arg(ctx, "vpc", name)?;
    let map = opts_arg(ctx, "vpc", opts, VPC)?;
    let o = Opts(&map);
    check_name(ctx, vpc::KIND, &name)?;
    check_tags(ctx, o.get("tags"))?;
    let public = o.strs("public_subnets");
    let private = o.strs("private_subnets");
    let address =
        Address::new(vpc::KIND, &name).in_provider(crate::script::api::providers::alias(&map));
    let azs = vpc_azs(state, ctx, &o, &address, public.len().max(private.len()))?;
    let nat_word = o.str("nat").unwrap_or_else(|| {
        if !public.is_empty() && !private.is_empty() {
            "single".into()
        } else {
            "none".into()
        }
    });
    let nat = match nat_word.as_str() {
        "single" => Nat::Single,
        "one_per_az" => Nat::OnePerAz,
        _ => Nat::None,
    };
    Ok(VpcDecl {
        nat,
        nat_word,
        cidr: o.str("cidr").unwrap_or_default(),
        secondary: o.strs("secondary_cidrs"),
        dns_hostnames: o.bool_or("dns_hostnames", true),
        elb_role_tags: o.bool_or("elb_role_tags", true),
        public: layout(&azs, "public", &public),
        private: layout(&azs, "private", &private),
        azs,
        tags: o.get("tags").cloned(),
        name,
        address,
    })
}

/// The zones of a VPC: `azs: 3`, `azs: ["us-east-1a", ...]`, or as many
/// as its widest subnet list (at least one).
fn vpc_azs(
    state: &Shared,
    ctx: &NativeCallContext,
    o: &Opts,
    vpc: &Address,
    widest: usize,
) -> Fallible<Vec<String>> {
    let region = state.borrow().region_of(vpc);
    let zones = regions::zones(&region);
    match o.get("azs") {
        Some(v) if v.is_int() => {
            let n = v.as_int().unwrap_or(0);
            if n < 1 || n as usize > zones.len() {
                return Err(fail(
                    ctx,
                    Problem::new(format!(
                        "azs is {n}, but region {region} has {} availability zones",
                        zones.len()
                    ))
                    .hint(format!(
                        "use 1 to {} zones: {}",
                        zones.len(),
                        zones.join(", ")
                    )),
                ));
            }
            Ok(zones[..n as usize].to_vec())
        }
        Some(_) => {
            let list = o.strs("azs");
            if let Some(bad) = list.iter().find(|z| !zones.contains(z)) {
                return Err(fail(
                    ctx,
                    Problem::new(format!(
                        "availability zone `{bad}` is not in region {region}"
                    ))
                    .hint(format!("{region} has {}", zones.join(", "))),
                ));
            }
            if list.is_empty() {
                return Err(fail(ctx, Problem::new("azs must name at least one zone")));
            }
            Ok(list)
        }
        None => Ok(zones[..widest.clamp(1, zones.len())].to_vec()),
    }
}

/// Subnets of one role laid out round-robin over the zones: `private-a`,
/// `private-b`, then `private-a2`, ...
fn layout(azs: &[String], role: &str, cidrs: &[String]) -> Vec<Slot> {
    cidrs
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let az = azs[i % azs.len()].clone();
            let round = i / azs.len();
            let leaf = if round == 0 {
                format!("{role}-{}", az_letter(&az))
            } else {
                format!("{role}-{}{}", az_letter(&az), round + 1)
            };
            (leaf, c.clone(), az)
        })
        .collect()
}

/// Checks what parsing cannot: NAT gateways need public subnets (in every
/// zone with private ones, for one per zone), and AWS's block sizes.
/// Returns the VPC's block.
fn validate_vpc(ctx: &NativeCallContext, v: &VpcDecl) -> Fallible<Cidr> {
    if v.nat != Nat::None && v.public.is_empty() {
        return Err(fail(
            ctx,
            Problem::new(format!(
                "nat is \"{}\", but the VPC has no public subnets",
                v.nat_word
            ))
            .hint("NAT gateways live in public subnets: add public_subnets, or set nat: \"none\""),
        ));
    }
    let cidr = parse_cidr(ctx, &v.cidr)?;
    if cidr.prefix < 16 || cidr.prefix > 28 {
        return Err(fail(
            ctx,
            Problem::new(format!(
                "VPC block {cidr} has prefix /{}; AWS allows /16 to /28",
                cidr.prefix
            ))
            .hint("use a block between /16 and /28, e.g. \"10.0.0.0/16\""),
        ));
    }
    if v.nat == Nat::OnePerAz {
        for (leaf, _, az) in &v.private {
            if !v.public.iter().any(|(_, _, paz)| paz == az) {
                return Err(fail(
                    ctx,
                    Problem::new(format!(
                        "nat is \"one_per_az\", but private subnet {leaf} in {az} has no public subnet in its zone"
                    ))
                    .hint("add a public subnet in every zone that has private subnets, or use nat: \"single\""),
                ));
            }
        }
    }
    Ok(cidr)
}

/// Declares the VPC, its subnets, its internet gateway and public routes,
/// its NAT gateways and private routes.
fn declare_vpc(state: &Shared, ctx: &NativeCallContext, v: &VpcDecl, cidr: Cidr) -> Fallible<Vpc> {
    let name = &v.name;
    let vpc_addr = v.address.clone();
    let mut deps = Deps::default();
    let tags = state.borrow().tags(v.tags.as_ref(), &mut deps);
    let mut spec = Map::new();
    spec.insert("name".into(), Value::str(name));
    spec.insert("cidr".into(), Value::str(cidr.to_string()));
    spec.insert(
        "secondary_cidrs".into(),
        Value::List(v.secondary.iter().map(Value::str).collect()),
    );
    spec.insert("dns_hostnames".into(), Value::Bool(v.dns_hostnames));
    spec.insert("dns_support".into(), Value::Bool(true));
    if let Some(t) = tags.clone() {
        spec.insert("tags".into(), t);
    }
    declare(state, ctx, vpc_addr.clone(), spec, deps)?;
    *state.borrow_mut().fact_mut::<VpcInfo>(&vpc_addr) = VpcInfo {
        azs: v.azs.clone(),
        ..VpcInfo::default()
    };
    for (slots, public) in [(&v.public, true), (&v.private, false)] {
        // Where the load balancer controller puts internet-facing and
        // internal load balancers.
        let role = if public { "elb" } else { "internal-elb" };
        let mut subnet_tags = tags.clone();
        if v.elb_role_tags {
            let t = subnet_tags.get_or_insert_with(|| Value::Map(Map::new()));
            if let Value::Map(t) = t {
                t.insert(format!("kubernetes.io/role/{role}"), Value::str("1"));
            }
        }
        for (leaf, c, az) in slots {
            declare_subnet(
                state,
                ctx,
                &vpc_addr,
                name,
                leaf,
                c,
                az,
                public,
                subnet_tags.clone(),
            )?;
        }
    }
    if !v.public.is_empty() {
        declare_public_routing(state, ctx, v, &vpc_addr, tags.clone())?;
    }
    let nats = declare_nats(state, ctx, v, tags.clone())?;
    if !v.private.is_empty() {
        declare_private_routing(state, ctx, v, &vpc_addr, &nats, tags)?;
    }
    Ok(Vpc(vpc_addr))
}

/// The internet gateway and the public subnets' route table.
fn declare_public_routing(
    state: &Shared,
    ctx: &NativeCallContext,
    v: &VpcDecl,
    vpc_addr: &Address,
    tags: Option<Value>,
) -> Fallible<()> {
    let name = &v.name;
    let igw = vpc_addr.sibling(internet_gateway::KIND, name);
    let mut spec = Map::new();
    spec.insert("name".into(), Value::str(name));
    spec.insert("vpc".into(), ref_to(vpc_addr));
    if let Some(t) = tags.clone() {
        spec.insert("tags".into(), t);
    }
    let mut d = Deps::default();
    d.add(vpc_addr);
    declare(state, ctx, igw.clone(), spec, d)?;
    let subnets: Vec<Address> = v
        .public
        .iter()
        .map(|(leaf, ..)| vpc_addr.child(subnet::KIND, leaf))
        .collect();
    let route = route("gateway", &igw);
    declare_route_table(
        state,
        ctx,
        vpc_addr,
        name,
        "public",
        vec![(route, igw)],
        &subnets,
        tags,
    )
}

/// NAT gateways, each with its elastic IP: one in the first public subnet,
/// or one per zone with private subnets. Returns them by zone.
fn declare_nats(
    state: &Shared,
    ctx: &NativeCallContext,
    v: &VpcDecl,
    tags: Option<Value>,
) -> Fallible<Vec<(String, Address)>> {
    let name = &v.name;
    let zones: Vec<String> = match v.nat {
        Nat::Single => v
            .public
            .first()
            .map(|(_, _, az)| vec![az.clone()])
            .unwrap_or_default(),
        Nat::OnePerAz => {
            let mut z: Vec<String> = v.private.iter().map(|(_, _, az)| az.clone()).collect();
            z.sort();
            z.dedup();
            z
        }
        Nat::None => Vec::new(),
    };
    let mut nats = Vec::new();
    for az in &zones {
        let letter = az_letter(az);
        let (public_leaf, ..) = v
            .public
            .iter()
            .find(|(_, _, paz)| paz == az)
            .ok_or_else(|| {
                fail(
                    ctx,
                    Problem::new(format!("no public subnet in {az} for a NAT gateway")),
                )
            })?;
        let eip = v.address.child(elastic_ip::KIND, format!("nat-{letter}"));
        let mut spec = Map::new();
        spec.insert("name".into(), Value::str(format!("{name}-nat-{letter}")));
        if let Some(t) = tags.clone() {
            spec.insert("tags".into(), t);
        }
        declare(state, ctx, eip.clone(), spec, Deps::default())?;
        let subnet = v.address.child(subnet::KIND, public_leaf);
        let ngw = v.address.child(nat_gateway::KIND, letter);
        let mut spec = Map::new();
        spec.insert("name".into(), Value::str(format!("{name}-{letter}")));
        spec.insert("subnet".into(), ref_to(&subnet));
        spec.insert("allocation".into(), ref_to(&eip));
        if let Some(t) = tags.clone() {
            spec.insert("tags".into(), t);
        }
        let mut d = Deps::default();
        d.add(&subnet);
        d.add(&eip);
        // Outbound traffic through a NAT gateway needs the internet gateway.
        d.add(&v.address.sibling(internet_gateway::KIND, name));
        declare(state, ctx, ngw.clone(), spec, d)?;
        nats.push((az.clone(), ngw));
    }
    Ok(nats)
}

/// The private subnets' route tables: one per zone through its NAT
/// gateway, or one through the single NAT gateway (or none).
fn declare_private_routing(
    state: &Shared,
    ctx: &NativeCallContext,
    v: &VpcDecl,
    vpc_addr: &Address,
    nats: &[(String, Address)],
    tags: Option<Value>,
) -> Fallible<()> {
    let name = &v.name;
    let subnet_addr = |leaf: &str| vpc_addr.child(subnet::KIND, leaf);
    if v.nat == Nat::OnePerAz {
        for (az, ngw) in nats {
            let subnets: Vec<Address> = v
                .private
                .iter()
                .filter(|(_, _, z)| z == az)
                .map(|(leaf, ..)| subnet_addr(leaf))
                .collect();
            let leaf = format!("private-{}", az_letter(az));
            let r = route("nat_gateway", ngw);
            declare_route_table(
                state,
                ctx,
                vpc_addr,
                name,
                &leaf,
                vec![(r, ngw.clone())],
                &subnets,
                tags.clone(),
            )?;
        }
        return Ok(());
    }
    let subnets: Vec<Address> = v
        .private
        .iter()
        .map(|(leaf, ..)| subnet_addr(leaf))
        .collect();
    let routes = nats
        .first()
        .map(|(_, ngw)| vec![(route("nat_gateway", ngw), ngw.clone())])
        .unwrap_or_default();
    declare_route_table(
        state, ctx, vpc_addr, name, "private", routes, &subnets, tags,
    )
}

fn route(target_key: &str, target: &Address) -> Value {
    let mut m = Map::new();
    m.insert("destination".into(), Value::str("0.0.0.0/0"));
    m.insert(target_key.into(), ref_to(target));
    Value::Map(m)
}

#[allow(clippy::too_many_arguments)]
fn declare_route_table(
    state: &Shared,
    ctx: &NativeCallContext,
    vpc: &Address,
    vpc_name: &str,
    leaf: &str,
    routes: Vec<(Value, Address)>,
    subnets: &[Address],
    tags: Option<Value>,
) -> Fallible<()> {
    let mut d = Deps::default();
    d.add(vpc);
    let mut spec = Map::new();
    spec.insert("name".into(), Value::str(format!("{vpc_name}-{leaf}")));
    spec.insert("vpc".into(), ref_to(vpc));
    let mut route_values = Vec::new();
    for (r, target) in routes {
        d.add(&target);
        route_values.push(r);
    }
    spec.insert("routes".into(), Value::List(route_values));
    for s in subnets {
        d.add(s);
    }
    spec.insert(
        "subnets".into(),
        Value::List(subnets.iter().map(ref_to).collect()),
    );
    if let Some(t) = tags {
        spec.insert("tags".into(), t);
    }
    declare(state, ctx, vpc.child(route_table::KIND, leaf), spec, d)
}

#[allow(clippy::too_many_arguments)]
fn declare_subnet(
    state: &Shared,
    ctx: &NativeCallContext,
    vpc: &Address,
    vpc_name: &str,
    leaf: &str,
    cidr: &str,
    az: &str,
    public: bool,
    tags: Option<Value>,
) -> Fallible<Address> {
    let addr = vpc.child(subnet::KIND, leaf);
    let mut spec = Map::new();
    spec.insert("name".into(), Value::str(format!("{vpc_name}-{leaf}")));
    spec.insert("vpc".into(), ref_to(vpc));
    spec.insert("cidr".into(), Value::str(cidr));
    spec.insert("az".into(), Value::str(az));
    spec.insert("public".into(), Value::Bool(public));
    if let Some(t) = tags {
        spec.insert("tags".into(), t);
    }
    let mut d = Deps::default();
    d.add(vpc);
    declare(state, ctx, addr.clone(), spec, d)?;
    let mut st = state.borrow_mut();
    let info = st.fact_mut::<VpcInfo>(vpc);
    if public {
        info.public.push(addr.clone());
    } else {
        info.private.push(addr.clone());
    }
    Ok(addr)
}

fn vpc_arg(ctx: &NativeCallContext, what: &str, v: &Dynamic) -> Fallible<Address> {
    match handles::address_of(v) {
        Some(a) if a.kind == vpc::KIND => Ok(a),
        _ => Err(fail(
            ctx,
            Problem::new(format!(
                "the first argument of {what} must be a Vpc handle, but it is {}",
                schema::describe_value(v)
            ))
            .hint("pass the value returned by vpc(...)"),
        )),
    }
}

fn subnet(
    state: &Shared,
    ctx: &NativeCallContext,
    vpc: &Dynamic,
    name: &Dynamic,
    opts: &Dynamic,
) -> Fallible<Subnet> {
    let vpc = vpc_arg(ctx, "subnet", vpc)?;
    let name = name_arg(ctx, "subnet", name)?;
    let map = opts_arg(ctx, "subnet", opts, SUBNET)?;
    let o = Opts(&map);
    check_name(ctx, subnet::KIND, &name)?;
    check_tags(ctx, o.get("tags"))?;
    parse_cidr(ctx, &o.str("cidr").unwrap_or_default())?;
    let public = o.bool_or("public", false);
    let mut deps = Deps::default();
    let tags = state.borrow().tags(o.get("tags"), &mut deps);
    let addr = declare_subnet(
        state,
        ctx,
        &vpc,
        vpc.name.as_str(),
        &name,
        &o.str("cidr").unwrap_or_default(),
        &o.str("az").unwrap_or_default(),
        public,
        tags,
    )?;
    // Join the VPC's routing: the public table, or the private table of its zone.
    let az = o.str("az").unwrap_or_default();
    let candidates = if public {
        vec!["public".to_string()]
    } else {
        vec![format!("private-{}", az_letter(&az)), "private".to_string()]
    };
    let mut st = state.borrow_mut();
    for c in candidates {
        if let Some(rt) = st.graph.get_mut(&vpc.child(route_table::KIND, c)) {
            if let Some(Value::List(list)) = rt.spec.get_mut("subnets") {
                list.push(ref_to(&addr));
            }
            rt.depends_on.insert(addr.clone());
            break;
        }
    }
    Ok(Subnet(addr))
}

fn security_group(
    state: &Shared,
    ctx: &NativeCallContext,
    vpc: &Dynamic,
    name: &Dynamic,
    opts: &Dynamic,
) -> Fallible<SecurityGroup> {
    let vpc = vpc_arg(ctx, "security_group", vpc)?;
    let name = name_arg(ctx, "security_group", name)?;
    let map = opts_arg(ctx, "security_group", opts, SECURITY_GROUP)?;
    let o = Opts(&map);
    check_name(ctx, security_group::KIND, &name)?;
    check_tags(ctx, o.get("tags"))?;
    let addr = vpc.child(security_group::KIND, &name);
    let mut deps = Deps::default();
    deps.add(&vpc);
    let ingress: Vec<Value> = o
        .list("ingress")
        .iter()
        .filter_map(|r| r.read_lock::<Rule>().map(|r| rule_value(&r, &mut deps)))
        .collect();
    let egress: Vec<Value> = if o.has("egress") {
        o.list("egress")
            .iter()
            .filter_map(|r| r.read_lock::<Rule>().map(|r| rule_value(&r, &mut deps)))
            .collect()
    } else {
        let all = Rule {
            protocol: "all".into(),
            from: None,
            to: None,
            peer: Peer::Cidr("0.0.0.0/0".into()),
            description: None,
        };
        vec![rule_value(&all, &mut deps)]
    };
    let mut spec = Map::new();
    spec.insert("name".into(), Value::str(&name));
    spec.insert(
        "description".into(),
        Value::str(
            o.str("description")
                .unwrap_or_else(|| "Managed by Blueprint".into()),
        ),
    );
    spec.insert("vpc".into(), ref_to(&vpc));
    spec.insert("ingress".into(), Value::List(ingress));
    spec.insert("egress".into(), Value::List(egress));
    if let Some(t) = state.borrow().tags(o.get("tags"), &mut deps) {
        spec.insert("tags".into(), t);
    }
    declare(state, ctx, addr.clone(), spec, deps)?;
    Ok(SecurityGroup(addr))
}

/// A security group `name` of `vpc` that lets the VPC's own blocks (its
/// primary one and every secondary one, where pods of a custom network
/// may live) reach one TCP port of what it guards (NFS for EFS mount
/// targets, PostgreSQL for an RDS instance), with the default egress.
pub(crate) fn vpc_port_group(
    state: &Shared,
    ctx: &NativeCallContext,
    vpc: &Address,
    name: &str,
    port: i64,
    what: &str,
) -> Fallible<Address> {
    let blocks: Vec<String> = {
        let st = state.borrow();
        let r = st
            .graph
            .get(vpc)
            .ok_or_else(|| fail(ctx, Problem::new(format!("{vpc} is not declared"))))?;
        let primary = r
            .str("cidr")
            .map(String::from)
            .ok_or_else(|| fail(ctx, Problem::new(format!("{vpc} has no CIDR block"))))?;
        let secondary = r
            .spec
            .get("secondary_cidrs")
            .and_then(Value::as_list)
            .unwrap_or_default()
            .iter()
            .filter_map(|v| v.as_str().map(String::from));
        std::iter::once(primary).chain(secondary).collect()
    };
    let rules: Vec<Dynamic> = blocks
        .into_iter()
        .map(|cidr| {
            Dynamic::from(Rule {
                protocol: "tcp".into(),
                from: Some(port),
                to: Some(port),
                peer: Peer::Cidr(cidr),
                description: Some(format!("{what}, from the VPC")),
            })
        })
        .collect();
    let opts: rhai::Map = [
        ("description".into(), Dynamic::from(what.to_string())),
        ("ingress".into(), Dynamic::from(rules)),
    ]
    .into_iter()
    .collect();
    let sg = security_group(
        state,
        ctx,
        &(vpc::DEF.wrap)(vpc.clone()),
        &Dynamic::from(name.to_string()),
        &Dynamic::from(opts),
    )?;
    Ok(sg.0)
}

/// The spec form of a rule; a peer group is a reference that only needs to
/// exist once both groups do.
fn rule_value(r: &Rule, deps: &mut Deps) -> Value {
    let mut m = Map::new();
    m.insert("protocol".into(), Value::str(&r.protocol));
    if let Some(f) = r.from {
        m.insert("from_port".into(), Value::Int(f));
    }
    if let Some(t) = r.to {
        m.insert("to_port".into(), Value::Int(t));
    }
    match &r.peer {
        Peer::Cidr(c) => {
            m.insert("cidr".into(), Value::str(c));
        }
        Peer::SelfGroup => {
            m.insert("source".into(), Value::str("self"));
        }
        Peer::Group(a) => {
            m.insert("source".into(), ref_to(a));
            deps.after_create.insert(a.clone());
        }
    }
    if let Some(d) = &r.description {
        m.insert("description".into(), Value::str(d));
    }
    Value::Map(m)
}

fn add_rule(
    state: &Shared,
    ctx: &NativeCallContext,
    sg: &Address,
    key: &str,
    r: &Dynamic,
) -> Fallible<()> {
    let Some(rule) = r.read_lock::<Rule>().map(|r| r.clone()) else {
        return Err(fail(
            ctx,
            Problem::new(format!(
                "add_{key} takes a rule(...), but got {}",
                schema::describe_value(r)
            )),
        ));
    };
    refuse_existing(
        state,
        ctx,
        sg,
        &format!("take {key} rules from this blueprint"),
    )?;
    let mut deps = Deps::default();
    let v = rule_value(&rule, &mut deps);
    let mut st = state.borrow_mut();
    let Some(res) = st.graph.get_mut(sg) else {
        drop(st);
        return Err(not_declared_yet(ctx, sg));
    };
    if let Some(Value::List(list)) = res.spec.get_mut(key) {
        list.push(v);
    }
    for a in deps.after_create {
        if a != *sg {
            res.after_create.insert(a);
        }
    }
    Ok(())
}

fn rule(ctx: &NativeCallContext, opts: &Dynamic) -> Fallible<Rule> {
    let map = opts_arg(ctx, "rule", opts, RULE)?;
    let o = Opts(&map);
    let protocol = o.str("protocol").unwrap_or_default();
    let port = o.int("port");
    let (from, to) = (o.int("from"), o.int("to"));
    if port.is_some() && (from.is_some() || to.is_some()) {
        return Err(fail(
            ctx,
            Problem::new("a rule takes either `port` or `from`/`to`, not both"),
        ));
    }
    let (from, to) = match protocol.as_str() {
        "all" => {
            if port.is_some() || from.is_some() || to.is_some() {
                return Err(fail(
                    ctx,
                    Problem::new("a rule with protocol \"all\" covers every port")
                        .hint("remove port/from/to, or use protocol \"tcp\" or \"udp\""),
                ));
            }
            (None, None)
        }
        "icmp" => (Some(from.unwrap_or(-1)), Some(to.unwrap_or(-1))),
        _ => {
            let (f, t) =
                match (port, from, to) {
                    (Some(p), _, _) => (p, p),
                    (None, Some(f), Some(t)) => (f, t),
                    _ => return Err(fail(
                        ctx,
                        Problem::new(format!(
                            "a {protocol} rule needs `port`, or both `from` and `to`"
                        ))
                        .hint(
                            "e.g. rule(#{ protocol: \"tcp\", port: 443, cidr: \"10.0.0.0/16\" })",
                        ),
                    )),
                };
            for p in [f, t] {
                if !(0..=65535).contains(&p) {
                    return Err(fail(
                        ctx,
                        Problem::new(format!("port {p} is outside 0..65535")),
                    ));
                }
            }
            if f > t {
                return Err(fail(
                    ctx,
                    Problem::new(format!("port range {f}..{t} runs backwards")),
                ));
            }
            (Some(f), Some(t))
        }
    };
    let peer = match (o.get("cidr"), o.get("source")) {
        (Some(_), None) => Peer::Cidr(o.str("cidr").unwrap_or_default()),
        (None, Some(s)) if s.is_string() => {
            if s.to_string() != "self" {
                return Err(fail(
                    ctx,
                    Problem::new(format!(
                        "rule source \"{s}\" is neither a security group handle nor \"self\""
                    )),
                ));
            }
            Peer::SelfGroup
        }
        (None, Some(s)) => Peer::Group(
            handles::address_of(s).unwrap_or_else(|| Address::new(security_group::KIND, "?")),
        ),
        (Some(_), Some(_)) => {
            return Err(fail(
                ctx,
                Problem::new("a rule takes either `cidr` or `source`, not both"),
            ))
        }
        (None, None) => {
            return Err(fail(
                ctx,
                Problem::new("a rule needs a peer: `cidr` or `source`")
                    .hint("e.g. cidr: \"0.0.0.0/0\", or source: workers_sg, or source: \"self\""),
            ))
        }
    };
    Ok(Rule {
        protocol,
        from,
        to,
        peer,
        description: o.str("description"),
    })
}

fn cidr_of(r: &Resource, key: &str) -> Option<Cidr> {
    r.str(key).and_then(|s| s.parse().ok())
}

fn vpc_blocks(vpc: &Resource) -> Vec<Cidr> {
    let mut blocks: Vec<Cidr> = cidr_of(vpc, "cidr").into_iter().collect();
    if let Some(list) = vpc.get("secondary_cidrs").and_then(Value::as_list) {
        blocks.extend(list.iter().filter_map(|v| v.as_str()?.parse::<Cidr>().ok()));
    }
    blocks
}

/// CIDR blocks inside their VPC and apart, zones inside the region.
pub fn validate(g: &Graph, region: &str, out: &mut Vec<(Address, Problem)>) {
    for vpc in g.of_kind(vpc::KIND) {
        let blocks = vpc_blocks(vpc);
        for (i, a) in blocks.iter().enumerate() {
            for b in &blocks[i + 1..] {
                if a.overlaps(b) {
                    out.push((
                        vpc.address.clone(),
                        Problem::new(format!("VPC CIDR blocks {a} and {b} overlap"))
                            .hint("secondary CIDR blocks must not overlap the VPC's other blocks"),
                    ));
                }
            }
        }
        let subnets: Vec<(&Resource, Cidr)> = g
            .of_kind(subnet::KIND)
            .filter(|s| {
                s.get("vpc")
                    .and_then(Value::as_ref)
                    .is_some_and(|r| r.address == vpc.address)
            })
            .filter_map(|s| Some((s, cidr_of(s, "cidr")?)))
            .collect();
        for (i, (s, c)) in subnets.iter().enumerate() {
            if !blocks.iter().any(|b| b.contains(c)) {
                let list: Vec<String> = blocks.iter().map(ToString::to_string).collect();
                out.push((
                    s.address.clone(),
                    Problem::new(format!(
                        "subnet {c} of {} is outside the VPC's CIDR blocks ({})",
                        s.address,
                        list.join(", ")
                    ))
                    .hint("pick a subnet CIDR inside the VPC, or add a secondary_cidrs block that holds it"),
                ));
            }
            for (t, d) in &subnets[i + 1..] {
                if c.overlaps(d) {
                    out.push((
                        t.address.clone(),
                        Problem::new(format!(
                            "subnet {d} of {} overlaps subnet {c} of {}",
                            t.address, s.address
                        ))
                        .hint("subnets of one VPC must not share addresses"),
                    ));
                }
            }
        }
    }
    for s in g.of_kind(subnet::KIND) {
        let region = g.region_of(&s.address, region);
        let zones = regions::zones(region);
        if let Some(az) = s.str("az") {
            if !zones.iter().any(|z| z == az) {
                out.push((
                    s.address.clone(),
                    Problem::new(format!(
                        "availability zone `{az}` of {} is not in region {region}",
                        s.address
                    ))
                    .hint(format!("{region} has {}", zones.join(", "))),
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{validate, Ref};
    use std::collections::BTreeSet;

    fn vpc(cidr: &str, secondary: &[&str]) -> Resource {
        let mut m = Map::new();
        m.insert("cidr".into(), Value::str(cidr));
        m.insert(
            "secondary_cidrs".into(),
            Value::List(secondary.iter().map(|s| Value::str(*s)).collect()),
        );
        Resource::new(Address::new(vpc::KIND, "v"), m)
    }

    fn subnet(name: &str, cidr: &str, az: &str) -> Resource {
        let mut m = Map::new();
        m.insert("cidr".into(), Value::str(cidr));
        m.insert("az".into(), Value::str(az));
        m.insert(
            "vpc".into(),
            Value::Ref(Ref {
                address: Address::new(vpc::KIND, "v"),
                attr: "id".into(),
            }),
        );
        let mut r = Resource::new(Address::new(subnet::KIND, format!("v/{name}")), m);
        r.depends_on.insert(Address::new(vpc::KIND, "v"));
        r
    }

    fn problems(rs: Vec<Resource>) -> Vec<String> {
        let mut g = Graph::new();
        for r in rs {
            g.insert(r).unwrap();
        }
        validate::graph(&g, "us-east-1", &BTreeSet::new(), &[super::validate])
            .into_iter()
            .map(|(_, p)| p.message)
            .collect()
    }

    #[test]
    fn subnets_must_sit_inside_the_vpc_including_secondary_blocks() {
        let p = problems(vec![
            vpc("10.0.0.0/16", &["100.64.0.0/16"]),
            subnet("a", "10.0.1.0/24", "us-east-1a"),
            subnet("b", "100.64.1.0/24", "us-east-1b"),
            subnet("c", "10.1.0.0/24", "us-east-1c"),
        ]);
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(p[0].contains("10.1.0.0/24"), "{p:?}");
    }

    #[test]
    fn overlapping_subnets_and_blocks() {
        let p = problems(vec![
            vpc("10.0.0.0/16", &["10.0.128.0/17"]),
            subnet("a", "10.0.0.0/23", "us-east-1a"),
            subnet("b", "10.0.1.0/24", "us-east-1b"),
        ]);
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(p[0].contains("overlap"));
        assert!(p[1].contains("overlaps subnet 10.0.0.0/23"));
    }

    #[test]
    fn unknown_zone() {
        let p = problems(vec![
            vpc("10.0.0.0/16", &[]),
            subnet("a", "10.0.1.0/24", "us-east-1z"),
        ]);
        assert_eq!(
            p,
            ["availability zone `us-east-1z` of subnet.v/a is not in region us-east-1"]
        );
    }
}
