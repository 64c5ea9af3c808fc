//! Option-map schemas, one per constructor: the single source for checking
//! options, for `:help` in the REPL, for completion and for the docs.

use super::handles;
use crate::model::{names::suggest, Cidr, Kind, Problem};
use rhai::{Dynamic, Map};

#[derive(Clone, Copy, Debug)]
pub enum Ty {
    Str,
    Int,
    Bool,
    Cidr,
    StrList,
    CidrList,
    /// A map of string to string (labels, tags).
    StrMap,
    /// Any map (policy documents, Helm values).
    AnyMap,
    /// A map of name to policy-document map.
    PolicyMap,
    Enum(&'static [&'static str]),
    EnumList(&'static [&'static str]),
    Handle(Kind),
    /// A handle, or a string (a security group, or "self").
    HandleOrStr(Kind),
    HandleList(Kind),
    /// An AZ count or a list of AZ names.
    Azs,
    /// A service principal or a list of them.
    StrOrList,
    /// A list of values made by a function (`rule(...)`, `taint(...)`).
    Values(&'static str, fn(&Dynamic) -> bool),
    Nested(&'static [Opt]),
    NestedList(&'static [Opt]),
    /// A list of maps passed through as they are (Kubernetes rules,
    /// subjects, ingress and egress rules).
    MapList,
    /// One value that a function accepts, described in words.
    Check(&'static str, fn(&Dynamic) -> bool),
    /// A string, or an output of another resource (`c.name`, `k.arn`).
    Text,
}

#[derive(Clone, Copy, Debug)]
pub struct Opt {
    pub name: &'static str,
    pub ty: Ty,
    pub required: bool,
    pub default: Option<&'static str>,
    pub doc: &'static str,
}

/// A function the language offers, with its options.
#[derive(Clone, Copy, Debug)]
pub struct FnDoc {
    pub name: &'static str,
    pub signature: &'static str,
    pub doc: &'static str,
    pub options: &'static [Opt],
    /// The handle type this is a method of, if any.
    pub method_of: Option<&'static str>,
}

pub const fn opt(name: &'static str, ty: Ty, doc: &'static str) -> Opt {
    Opt {
        name,
        ty,
        required: false,
        default: None,
        doc,
    }
}

pub const fn req(name: &'static str, ty: Ty, doc: &'static str) -> Opt {
    Opt {
        name,
        ty,
        required: true,
        default: None,
        doc,
    }
}

pub const fn def(name: &'static str, ty: Ty, default: &'static str, doc: &'static str) -> Opt {
    Opt {
        name,
        ty,
        required: false,
        default: Some(default),
        doc,
    }
}

/// The `tags` option every AWS kind takes.
pub const TAGS_OPT: Opt = opt(
    "tags",
    Ty::StrMap,
    "tags for this resource, merged over tags(...)",
);

/// The functions that belong to no kind.
pub const COMMON: &[FnDoc] = &[
    FnDoc { name: "var", signature: "var(name) / var(name, default) / var(name, #{ sensitive: true, default? })", doc: "An input from --var name=value, BP_VAR_name or --var-file; with a default, the value takes the default's type; a sensitive one is a sensitive value, never shown or saved.", options: &[], method_of: None },
    FnDoc { name: "region", signature: "region() -> string", doc: "The target region (--region, AWS_REGION, AWS_DEFAULT_REGION, the profile's, else us-east-1).", options: &[], method_of: None },
    FnDoc { name: "aws", signature: "aws(#{ region, assume_role?, external_id?, profile?, alias? }) -> Provider", doc: "A provider instance: another region, or another account by assuming a role. AWS constructors take it as provider:, and what is declared on their handles takes it too; addresses then carry its alias (eu:vpc.main), and plans group changes by account and region. Loop over regions or accounts in plain Rhai.", options: crate::script::api::providers::OPTIONS, method_of: None },
    FnDoc { name: "blueprint_name", signature: "blueprint_name(name)", doc: "The blueprint's name, which tags everything it owns (default: the file name without .rhai). Two blueprints must not share a name.", options: &[], method_of: None },
    FnDoc { name: "tags", signature: "tags(#{ key: value })", doc: "Default tags for every resource declared after this call.", options: &[], method_of: None },
    FnDoc { name: "moved", signature: "moved(from, to)", doc: "The resource at address `from` (a string, or a handle) is now declared at `to`, of the same kind: the plan re-tags it in place instead of deleting and creating it. With nothing at `from` any more, a note; keep the line while older copies of the blueprint may still be applied.", options: &[], method_of: None },
    FnDoc { name: "sops_file", signature: "sops_file(path) -> map", doc: "Decrypts a sops file (YAML or JSON) inside the blueprint's folder; its values are sensitive: they reach AWS but show as (sensitive) everywhere else.", options: &[], method_of: None },
    FnDoc { name: "account_id", signature: "account_id() -> string", doc: "The AWS account id the blueprint is planned against (STS GetCallerIdentity); a placeholder, 000000000000, in bp check and bp graph, which say so.", options: &[], method_of: None },
    FnDoc { name: "azs", signature: "azs() -> [string]", doc: "The region's available zones, sorted (EC2 DescribeAvailabilityZones); placeholders <region>a/b/c in bp check and bp graph, which say so.", options: &[], method_of: None },
    FnDoc { name: "allow", signature: "allow(rule, reason)", doc: "Allows a lint rule (\"BP004\") for the whole blueprint, with the reason, which bp lint --show-suppressed shows; for one resource, give its constructor allow: #{ BP004: \"reason\" }. See docs/RULES.md.", options: &[], method_of: None },
    FnDoc { name: "ref", signature: "ref(address) -> handle", doc: "A handle to a resource by address, e.g. ref(\"security_group.pms/bastion\"); it may be declared later.", options: &[], method_of: None },
];

/// Every function the language offers: each kind's, in registry order,
/// then the common ones.
pub fn functions() -> impl Iterator<Item = &'static FnDoc> {
    super::hooks::kinds()
        .iter()
        .flat_map(|k| k.functions.iter())
        .chain(COMMON.iter())
}

pub fn function(name: &str) -> Option<&'static FnDoc> {
    functions().find(|f| f.name == name)
}

impl Ty {
    pub fn describe(&self) -> String {
        match self {
            Ty::Str => "a string".into(),
            Ty::Text => "a string".into(),
            Ty::Int => "an integer".into(),
            Ty::Bool => "true or false".into(),
            Ty::Cidr => "a CIDR block string such as \"10.0.0.0/16\"".into(),
            Ty::StrList => "a list of strings".into(),
            Ty::CidrList => "a list of CIDR block strings".into(),
            Ty::StrMap => "a map of strings".into(),
            Ty::AnyMap => "a map".into(),
            Ty::PolicyMap => "a map of policy name to policy document".into(),
            Ty::Enum(v) => format!("one of {}", quoted(v)),
            Ty::EnumList(v) => format!("a list of {}", quoted(v)),
            Ty::Handle(k) | Ty::HandleOrStr(k) => format!("a {} handle", k.schema().handle),
            Ty::HandleList(k) => format!("a list of {} handles", k.schema().handle),
            Ty::Azs => "an AZ count or a list of AZ names".into(),
            Ty::StrOrList => "a string or a list of strings".into(),
            Ty::Values(what, _) => format!("a list of {what} values"),
            Ty::MapList => "a list of maps".into(),
            Ty::Check(what, _) => (*what).into(),
            Ty::Nested(_) => "a map".into(),
            Ty::NestedList(_) => "a list of maps".into(),
        }
    }
}

fn quoted(v: &[&str]) -> String {
    v.iter()
        .map(|s| format!("\"{s}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What a script value is, in the words of error messages.
pub fn describe_value(v: &Dynamic) -> String {
    if v.is_unit() {
        return "nothing (`()`)".into();
    }
    if v.is_int() {
        return format!("the integer {v}");
    }
    if v.is_float() {
        return format!("the number {v}");
    }
    if v.is_bool() {
        return format!("`{v}`");
    }
    if v.is_string() {
        let s = v.to_string();
        let short: String = s.chars().take(40).collect();
        return format!("the string \"{short}\"");
    }
    if v.is_array() {
        return "a list".into();
    }
    if v.is_map() {
        return "a map".into();
    }
    format!("a {}", handles::display_type_name(v))
}

/// Checks an option map against a schema: unknown keys (with a suggestion),
/// missing required keys, and the type of every value.
pub fn check(opts: &[Opt], map: &Map, what: &str) -> Result<(), Problem> {
    for (key, value) in map {
        let Some(o) = opts.iter().find(|o| o.name == key.as_str()) else {
            let mut p = Problem::new(format!("unknown option `{key}` for {what}"));
            let names = opts.iter().map(|o| o.name);
            p = match suggest(key, names) {
                Some(s) => p.hint(format!("did you mean `{s}`?")),
                None => p.hint(format!(
                    "{what} takes: {}",
                    opts.iter().map(|o| o.name).collect::<Vec<_>>().join(", ")
                )),
            };
            return Err(p);
        };
        check_value(&o.ty, value).map_err(|bad| match bad {
            Bad::Type(detail) => Problem::new(format!(
                "option `{key}` of {what} must be {}, but it is {}",
                o.ty.describe(),
                detail
            )),
            Bad::Value(p) => Problem {
                message: format!("option `{key}` of {what}: {}", p.message),
                hint: p.hint,
            },
        })?;
        if let Ty::Nested(inner) = o.ty {
            if let Some(m) = value.read_lock::<Map>() {
                check(inner, &m, &format!("{what} `{key}`"))?;
            }
        }
        if let Ty::NestedList(inner) = o.ty {
            if let Some(list) = value.read_lock::<rhai::Array>() {
                for item in list.iter() {
                    if let Some(m) = item.read_lock::<Map>() {
                        check(inner, &m, &format!("{what} `{key}` entry"))?;
                    }
                }
            }
        }
    }
    if let Some(o) = opts
        .iter()
        .find(|o| o.required && !map.contains_key(o.name))
    {
        return Err(
            Problem::new(format!("missing required option `{}` for {what}", o.name)).hint(format!(
                "add `{}: ...` ({}): {}",
                o.name,
                o.ty.describe(),
                o.doc
            )),
        );
    }
    Ok(())
}

/// Why a value does not fit its option.
enum Bad {
    /// The wrong type: a description of the value.
    Type(String),
    /// The right type with a wrong value, such as a malformed CIDR.
    Value(Problem),
}

impl From<String> for Bad {
    fn from(s: String) -> Bad {
        Bad::Type(s)
    }
}

fn check_value(ty: &Ty, v: &Dynamic) -> Result<(), Bad> {
    if v.is::<crate::script::api::facts::Pending>() {
        return Ok(());
    }
    let bad = || Err(Bad::Type(describe_value(v)));
    let list_all = |f: &dyn Fn(&Dynamic) -> bool| -> Result<(), Bad> {
        match v.read_lock::<rhai::Array>() {
            Some(a) => match a.iter().find(|x| !f(x)) {
                Some(x) => Err(Bad::Type(format!("a list holding {}", describe_value(x)))),
                None => Ok(()),
            },
            None => Err(Bad::Type(describe_value(v))),
        }
    };
    let is_text =
        |x: &Dynamic| x.is_string() || x.is::<handles::Output>() || x.is::<handles::SecretValue>();
    match ty {
        Ty::Str => {
            if v.is_string() {
                Ok(())
            } else {
                bad()
            }
        }
        Ty::Text => {
            if is_text(v) {
                Ok(())
            } else {
                bad()
            }
        }
        Ty::Int => {
            if v.is_int() {
                Ok(())
            } else {
                bad()
            }
        }
        Ty::Bool => {
            if v.is_bool() {
                Ok(())
            } else {
                bad()
            }
        }
        Ty::Cidr => {
            // A block the script knows now: a string, or a known output
            // (the `cidr` of a VPC).
            let known = v.read_lock::<handles::Output>().and_then(|o| o.known());
            match known {
                Some(k) => check_cidr(&k),
                None if v.is_string() => check_cidr(&v.to_string()),
                None => bad(),
            }
        }
        Ty::StrList => list_all(&|x| x.is_string()),
        Ty::CidrList => {
            list_all(&|x| x.is_string())?;
            let a = v
                .read_lock::<rhai::Array>()
                .map(|a| a.clone())
                .unwrap_or_default();
            a.iter().try_for_each(|x| check_cidr(&x.to_string()))
        }
        Ty::StrMap => match v.read_lock::<Map>() {
            Some(m) => match m.iter().find(|(_, x)| !is_text(x)) {
                Some((k, x)) => Err(Bad::Type(format!(
                    "a map whose `{k}` is {}",
                    describe_value(x)
                ))),
                None => Ok(()),
            },
            None => bad(),
        },
        Ty::AnyMap | Ty::Nested(_) => {
            if v.is_map() {
                Ok(())
            } else {
                bad()
            }
        }
        Ty::PolicyMap => match v.read_lock::<Map>() {
            Some(m) => match m.iter().find(|(_, x)| !x.is_map()) {
                Some((k, x)) => Err(Bad::Type(format!(
                    "a map whose `{k}` is {}",
                    describe_value(x)
                ))),
                None => Ok(()),
            },
            None => bad(),
        },
        Ty::Enum(allowed) => {
            if v.is_string() {
                check_enum(allowed, &v.to_string())
            } else {
                bad()
            }
        }
        Ty::EnumList(allowed) => {
            list_all(&|x| x.is_string())?;
            let a = v
                .read_lock::<rhai::Array>()
                .map(|a| a.clone())
                .unwrap_or_default();
            a.iter()
                .try_for_each(|x| check_enum(allowed, &x.to_string()))
        }
        Ty::Handle(k) => {
            if handles::kind_of(v) == Some(*k) {
                Ok(())
            } else {
                bad()
            }
        }
        Ty::HandleOrStr(k) => {
            if handles::kind_of(v) == Some(*k) || v.is_string() {
                Ok(())
            } else {
                bad()
            }
        }
        Ty::HandleList(k) => list_all(&|x| handles::kind_of(x) == Some(*k)),
        Ty::Azs => {
            if v.is_int() {
                Ok(())
            } else {
                list_all(&|x| x.is_string())
            }
        }
        Ty::StrOrList => {
            if v.is_string() {
                Ok(())
            } else {
                list_all(&|x| x.is_string())
            }
        }
        Ty::Values(_, is) => list_all(is),
        Ty::MapList => list_all(&|x| x.is_map()),
        Ty::Check(_, is) => {
            if is(v) {
                Ok(())
            } else {
                bad()
            }
        }
        Ty::NestedList(_) => list_all(&|x| x.is_map()),
    }
}

fn check_cidr(s: &str) -> Result<(), Bad> {
    s.parse::<Cidr>()
        .map(|_| ())
        .map_err(|e| Bad::Value(Problem::new(e.to_string()).hint(e.hint())))
}

fn check_enum(allowed: &[&str], s: &str) -> Result<(), Bad> {
    if allowed.contains(&s) {
        return Ok(());
    }
    let p = Problem::new(format!("\"{s}\" is not one of {}", quoted(allowed)));
    Err(Bad::Value(match suggest(s, allowed.iter().copied()) {
        Some(m) => p.hint(format!("did you mean \"{m}\"?")),
        None => p,
    }))
}

/// The options of one function as a Markdown table.
pub fn options_markdown(f: &FnDoc) -> String {
    let mut out = String::from("| option | type | default | meaning |\n|---|---|---|---|\n");
    for o in f.options {
        let default = match (o.required, o.default) {
            (true, _) => "required".to_string(),
            (false, Some(d)) => d.replace('|', "\\|"),
            (false, None) => "—".to_string(),
        };
        out.push_str(&format!(
            "| `{}` | {} | {} | {} |\n",
            o.name,
            o.ty.describe().replace('|', "\\|"),
            default,
            o.doc.replace('|', "\\|")
        ));
        if let Ty::Nested(inner) | Ty::NestedList(inner) = o.ty {
            for i in inner {
                out.push_str(&format!(
                    "| `{}.{}` | {} | {} | {} |\n",
                    o.name,
                    i.name,
                    i.ty.describe(),
                    if i.required {
                        "required"
                    } else {
                        i.default.unwrap_or("—")
                    },
                    i.doc
                ));
            }
        }
    }
    out
}

/// The language reference generated from the schemas (kept in docs/LANGUAGE.md).
pub fn reference_markdown() -> String {
    let mut out = String::new();
    for f in functions() {
        out.push_str(&format!(
            "### `{}`\n\n`{}`\n\n{}\n\n",
            f.name, f.signature, f.doc
        ));
        if !f.options.is_empty() {
            out.push_str(&options_markdown(f));
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    const BEGIN: &str = "<!-- reference:begin -->\n";
    const END: &str = "<!-- reference:end -->";

    /// docs/LANGUAGE.md carries the reference generated from the schemas;
    /// `BLESS=1 cargo test` refreshes it.
    #[test]
    fn language_reference_is_up_to_date() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/LANGUAGE.md");
        let doc = std::fs::read_to_string(path).expect("docs/LANGUAGE.md");
        let (head, rest) = doc.split_once(BEGIN).expect("begin marker");
        let (_, tail) = rest.split_once(END).expect("end marker");
        let fresh = format!("{head}{BEGIN}{}{END}{tail}", super::reference_markdown());
        if std::env::var_os("BLESS").is_some() {
            std::fs::write(path, &fresh).unwrap();
        }
        assert!(
            doc == fresh,
            "docs/LANGUAGE.md is stale: run BLESS=1 cargo test"
        );
    }
}
