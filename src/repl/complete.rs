//! Tab completion from the engine's own metadata: functions, stdlib module
//! functions, handle members, option keys of the constructor being typed,
//! variables in scope and meta-commands.

use super::input::open_brackets;
use crate::script::{handles, schema, STDLIB};

pub const META: &[&str] = &[
    ":help",
    ":resources",
    ":graph",
    ":plan",
    ":live",
    ":load",
    ":reset",
    ":vars",
    ":quit",
];

/// What completion knows about the session: variables and their type names.
#[derive(Default, Clone, Debug)]
pub struct Names {
    pub vars: Vec<(String, String)>,
}

/// Functions of the stdlib modules, as `module::name`.
pub fn stdlib_functions() -> Vec<String> {
    let mut out = Vec::new();
    for (module, text) in STDLIB {
        for line in text.lines() {
            if let Some(rest) = line.trim_start().strip_prefix("fn ") {
                if let Some(name) = rest.split('(').next() {
                    out.push(format!("{module}::{}", name.trim()));
                }
            }
        }
    }
    out
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == ':'
}

/// Completes the word that ends at the end of `before` (everything typed so
/// far, earlier lines of a multi-line input included). Returns the byte
/// length of that word and the candidates.
pub fn complete(before: &str, names: &Names) -> (usize, Vec<String>) {
    let word_start = before
        .char_indices()
        .rev()
        .take_while(|(_, c)| is_word(*c))
        .last()
        .map(|(i, _)| i)
        .unwrap_or(before.len());
    let word = &before[word_start..];
    let head = &before[..word_start];
    let trimmed = before.trim_start();
    let mut out: Vec<String> = Vec::new();

    if trimmed.starts_with(':') && !trimmed.contains(' ') {
        let w = trimmed;
        out.extend(
            META.iter()
                .filter(|m| m.starts_with(w))
                .map(|m| m.to_string()),
        );
        return (w.len(), out);
    }
    if let Some(rest) = trimmed.strip_prefix(":help ") {
        if !rest.contains(' ') {
            out.extend(
                schema::functions()
                    .map(|f| f.name)
                    .filter(|n| n.starts_with(rest))
                    .map(String::from),
            );
            return (rest.len(), out);
        }
    }
    if let Some(rest) = trimmed.strip_prefix(":live ") {
        if !rest.contains(' ') {
            out.extend(
                super::live::kinds()
                    .filter(|k| k.starts_with(rest))
                    .map(String::from),
            );
            return (rest.len(), out);
        }
    }

    // A member after `handle.`
    if let Some(obj_part) = head.strip_suffix('.') {
        let obj: String = obj_part
            .chars()
            .rev()
            .take_while(|c| is_word(*c))
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        let type_name = names
            .vars
            .iter()
            .find(|(n, _)| *n == obj)
            .map(|(_, t)| t.as_str());
        let members: Vec<&str> = match type_name {
            Some(t) => {
                // Its own members, and the methods other kinds add to it
                // (a cluster's namespace, a namespace's config_map). An
                // existing cluster has the in-cluster methods of a cluster.
                let of = if t == "ExistingCluster" { "Cluster" } else { t };
                let mut m = handles::members(t).to_vec();
                m.extend(
                    crate::script::schema::functions()
                        .filter(|f| f.method_of == Some(of))
                        .map(|f| f.name),
                );
                m.sort_unstable();
                m.dedup();
                m
            }
            None => {
                let mut all: Vec<&str> = crate::kinds::REGISTRY
                    .iter()
                    .flat_map(|d| d.members.iter().copied())
                    .collect();
                all.sort_unstable();
                all.dedup();
                all
            }
        };
        out.extend(
            members
                .iter()
                .filter(|m| m.starts_with(word))
                .map(|m| m.to_string()),
        );
        return (word.len(), out);
    }

    // An option key inside the `#{ ... }` of a constructor call.
    if let Some(keys) = option_keys(head) {
        out.extend(keys.into_iter().filter(|k| k.starts_with(word)));
        if !out.is_empty() || word.is_empty() {
            return (word.len(), out);
        }
    }

    if word.contains("::") {
        out.extend(
            stdlib_functions()
                .into_iter()
                .filter(|f| f.starts_with(word)),
        );
        return (word.len(), out);
    }
    out.extend(
        schema::functions()
            .filter(|f| f.method_of.is_none())
            .map(|f| f.name.to_string()),
    );
    out.extend(names.vars.iter().map(|(n, _)| n.clone()));
    out.extend(
        [
            "let", "import", "fn", "if", "else", "for", "in", "true", "false",
        ]
        .iter()
        .map(|s| s.to_string()),
    );
    out.retain(|c| c.starts_with(word));
    out.sort();
    out.dedup();
    (word.len(), out)
}

/// The option keys that fit at the end of `head`, when it is inside the
/// option map of a known constructor (or a nested map of one).
fn option_keys(head: &str) -> Option<Vec<String>> {
    let open = open_brackets(head);
    let (brace, brace_pos) = *open.last()?;
    if brace != '{' || !head[..brace_pos].ends_with('#') {
        return None;
    }
    // Only at the start of a key: after `#{` or a `,`.
    let since = head[brace_pos + 1..].trim_end();
    let last_sep = since.rfind(',').map(|i| i + 1).unwrap_or(0);
    if since[last_sep..].contains(':') {
        return None;
    }
    // The call that owns the map: the innermost `(` before it.
    let paren = open
        .iter()
        .rev()
        .find(|(c, p)| *c == '(' && *p < brace_pos)?;
    let fn_name: String = head[..paren.1]
        .chars()
        .rev()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    let f = schema::function(&fn_name)?;
    // Nested map: `endpoint: #{ ` inside the outer options.
    let before_brace = head[..brace_pos - 1].trim_end();
    let nested_key = before_brace.strip_suffix(':').map(|k| {
        k.trim_end()
            .chars()
            .rev()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<String>()
    });
    let opts: &[schema::Opt] = match nested_key.and_then(|k| f.options.iter().find(|o| o.name == k))
    {
        Some(o) => match o.ty {
            schema::Ty::Nested(inner) | schema::Ty::NestedList(inner) => inner,
            _ => return Some(Vec::new()),
        },
        None => f.options,
    };
    // Keys already given are not offered again.
    let given: Vec<&str> = since
        .split(',')
        .filter_map(|kv| kv.split(':').next())
        .map(str::trim)
        .collect();
    Some(
        opts.iter()
            .map(|o| o.name)
            .filter(|n| !given.contains(n))
            .map(String::from)
            .collect(),
    )
}

/// The function whose argument list (or option map) `before` ends in.
pub fn enclosing_function(before: &str) -> Option<&'static schema::FnDoc> {
    let open = open_brackets(before);
    let (_, pos) = open.iter().rev().find(|(c, _)| *c == '(')?;
    let name: String = before[..*pos]
        .chars()
        .rev()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    schema::function(&name)
}

/// The signature of the function whose argument list the cursor is in.
pub fn signature_hint(before: &str) -> Option<&'static str> {
    enclosing_function(before).map(|f| f.signature)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> Names {
        Names {
            vars: vec![
                ("c".into(), "Cluster".into()),
                ("network".into(), "Vpc".into()),
                ("ns".into(), "Namespace".into()),
            ],
        }
    }

    #[test]
    fn functions_variables_and_meta_commands() {
        let (n, c) = complete("let x = clu", &names());
        assert_eq!((n, c), (3, vec!["cluster".to_string()]));
        assert_eq!(complete("netw", &names()).1, ["network"]);
        assert_eq!(complete(":re", &names()).1, [":resources", ":reset"]);
        assert_eq!(complete(":help node_g", &names()).1, ["node_group"]);
        assert_eq!(complete("net::sp", &names()).1, ["net::split"]);
    }

    #[test]
    fn members_of_the_handle_before_the_dot() {
        assert_eq!(
            complete("c.node_", &names()).1,
            ["node_class", "node_group", "node_pool"]
        );
        assert_eq!(complete("c.node_g", &names()).1, ["node_group"]);
        assert_eq!(complete("network.priv", &names()).1, ["private_subnets"]);
    }

    #[test]
    fn option_keys_of_the_constructor_being_typed() {
        let (_, c) = complete(
            "c.node_group(\"app\", #{ instance_types: [\"m6i.large\"], mi",
            &names(),
        );
        assert_eq!(c, ["min"]);
        let (_, c) = complete("c.node_group(\"app\", #{ min: 1, ", &names());
        assert!(
            c.contains(&"max".to_string()) && !c.contains(&"min".to_string()),
            "{c:?}"
        );
        let (_, c) = complete("cluster(\"x\", #{ endpoint: #{ pub", &names());
        assert_eq!(c, ["public", "public_cidrs"]);
        let (_, c) = complete("vpc(\"x\", #{\n  ci", &names());
        assert_eq!(c, ["cidr"]);
    }

    #[test]
    fn kubernetes_methods_and_their_option_keys() {
        assert_eq!(complete("c.storage_", &names()).1, ["storage_class"]);
        assert_eq!(complete("ns.config_", &names()).1, ["config_map"]);
        assert_eq!(
            complete("ns.network_policy(\"deny\", #{ pod", &names()).1,
            ["pod_selector"]
        );
        assert_eq!(complete("ns.secret(\"db\", #{ ty", &names()).1, ["type"]);
        assert_eq!(complete("existing_clu", &names()).1, ["existing_cluster"]);
    }

    #[test]
    fn signature_hints() {
        assert_eq!(
            signature_hint("kms_key(\"k\", "),
            Some("kms_key(name, #{ ... }) -> KmsKey")
        );
        assert_eq!(signature_hint("let x = 1"), None);
    }
}
