//! Edits made behind Helm's back: the objects of a release's stored
//! manifest compared with what is live, field by field over what the
//! manifest sets. A `kubectl edit` of a ConfigMap or a Deployment's
//! replicas shows as drift, which the next apply's `helm upgrade` reverts
//! (helm 3 patches with the live state as the third side). Secrets are
//! compared but never shown.
//!
//! Reads cost one LIST per kind and namespace holding two or more of the
//! release's objects, and one GET for a kind holding one; the collections
//! are read in parallel. Secrets are listed without Helm's own release
//! records (`owner!=helm`), which are large. An object a LIST did not
//! return is read once more by name before it counts as deleted.

use crate::providers::kube::Conn;
use base64::Engine as _;
use serde_json::Value as Json;
use std::collections::{BTreeMap, HashMap};

/// The metadata a manifest sets that the server keeps as given.
const METADATA: &[&str] = &["labels", "annotations"];

/// One of the release's objects: where it is in the manifest, its key in
/// words, what the release says it is, and its name.
struct Wanted {
    index: usize,
    key: String,
    want: Json,
    name: String,
}

/// How the objects of one collection (a kind in a namespace, or a
/// cluster-wide kind) are read.
#[derive(Debug, PartialEq)]
enum Read {
    /// The collection's URL and the label selector of its LIST.
    List(String, &'static str),
    /// The one object's URL.
    Get(String),
}

fn read_of(collection: &str, count: usize, name: &str) -> Read {
    if count < 2 {
        return Read::Get(format!("{collection}/{name}"));
    }
    let selector = if collection.ends_with("/secrets") {
        "owner!=helm"
    } else {
        ""
    };
    Read::List(collection.to_string(), selector)
}

/// Each drifted field of the release's objects, in words:
/// `ConfigMap apps/web-config data.greeting: "by-hand" live, "hi" in the
/// release`. Objects the server no longer has are drift too.
pub async fn of(conn: &Conn, manifest: &str, release_namespace: &str) -> Vec<String> {
    let mut collections: BTreeMap<String, Vec<Wanted>> = BTreeMap::new();
    for (index, (key, want)) in super::objects(manifest).into_iter().enumerate() {
        let (Some(api_version), Some(kind), Some(name)) = (
            want["apiVersion"].as_str(),
            want["kind"].as_str(),
            want["metadata"]["name"].as_str(),
        ) else {
            continue;
        };
        let Ok(Some(resource)) = conn.resource(api_version, kind).await else {
            continue;
        };
        let base = if api_version.contains('/') {
            format!("/apis/{api_version}")
        } else {
            format!("/api/{api_version}")
        };
        // Helm puts what names no namespace in the release's.
        let ns = want["metadata"]["namespace"]
            .as_str()
            .unwrap_or(release_namespace);
        let collection = if resource.namespaced {
            format!("{base}/namespaces/{ns}/{}", resource.plural)
        } else {
            format!("{base}/{}", resource.plural)
        };
        // The key names the namespace Helm put it in.
        let key = if resource.namespaced && want["metadata"]["namespace"].is_null() {
            format!("{kind} {ns}/{name}")
        } else {
            key
        };
        let name = name.to_string();
        collections.entry(collection).or_default().push(Wanted {
            index,
            key,
            want,
            name,
        });
    }
    let reads = collections
        .iter()
        .map(|(collection, objects)| drifted(conn, collection, objects));
    let mut found: Vec<(usize, String)> = futures::future::join_all(reads)
        .await
        .into_iter()
        .flatten()
        .collect();
    found.sort_by_key(|(index, _)| *index);
    found.into_iter().map(|(_, line)| line).collect()
}

/// The drift of one collection's objects, each line with its object's
/// place in the manifest. An object that cannot be read is left out.
async fn drifted(conn: &Conn, collection: &str, objects: &[Wanted]) -> Vec<(usize, String)> {
    let first = objects.first().map(|o| o.name.as_str()).unwrap_or_default();
    let listed: HashMap<String, Json> = match read_of(collection, objects.len(), first) {
        Read::List(url, selector) => {
            let what = format!("list {collection} of a Helm release");
            match conn.list(&what, &url, selector).await {
                Ok(items) => items
                    .into_iter()
                    .filter_map(|i| Some((i["metadata"]["name"].as_str()?.to_string(), i)))
                    .collect(),
                Err(_) => return Vec::new(),
            }
        }
        Read::Get(_) => HashMap::new(),
    };
    let mut out = Vec::new();
    for o in objects {
        let live = match listed.get(&o.name) {
            Some(live) => Ok(Some(live.clone())),
            None => {
                let what = format!("read {} of a Helm release", o.key);
                conn.get(&what, &format!("{collection}/{}", o.name)).await
            }
        };
        let mut lines = Vec::new();
        match live {
            Ok(Some(live)) => compare(&o.key, &o.want, &live, &mut lines),
            Ok(None) => lines.push(format!("{}: deleted (the release has it)", o.key)),
            Err(_) => {}
        }
        out.extend(lines.into_iter().map(|l| (o.index, l)));
    }
    out
}

/// The fields `want` sets that `live` has otherwise.
fn compare(key: &str, want: &Json, live: &Json, out: &mut Vec<String>) {
    let secret = want["kind"] == "Secret";
    let Some(fields) = want.as_object() else {
        return;
    };
    for (k, v) in fields {
        match k.as_str() {
            "apiVersion" | "kind" | "status" => {}
            "metadata" => {
                for m in METADATA {
                    if let Some(w) = v.get(*m) {
                        walk(
                            key,
                            &format!("metadata.{m}"),
                            w,
                            &live["metadata"][*m],
                            false,
                            out,
                        );
                    }
                }
            }
            // A Secret's stringData is kept as base64 in data.
            "stringData" if secret => {
                if let Some(m) = v.as_object() {
                    for (name, value) in m {
                        let live_value = live["data"][name]
                            .as_str()
                            .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
                            .map(|b| Json::String(String::from_utf8_lossy(&b).into_owned()));
                        if live_value.as_ref() != Some(value) {
                            out.push(format!("{key} data.{name}: (sensitive) changed"));
                        }
                    }
                }
            }
            _ => walk(key, k, v, &live[k.as_str()], secret, out),
        }
    }
}

fn walk(key: &str, path: &str, want: &Json, live: &Json, secret: bool, out: &mut Vec<String>) {
    match want {
        Json::Object(m) => {
            for (k, v) in m {
                walk(
                    key,
                    &format!("{path}.{k}"),
                    v,
                    &live[k.as_str()],
                    secret,
                    out,
                );
            }
        }
        // A null sets nothing: the server drops it (a chart's empty
        // `annotations:`), and what others write there is theirs.
        Json::Null => {}
        _ if same(want, live) => {}
        _ if secret => out.push(format!("{key} {path}: (sensitive) changed")),
        // A chart may put a secret of the blueprint's in a ConfigMap.
        _ => out.push(crate::redact::redact(&format!(
            "{key} {path}: {live} live, {want} in the release"
        ))),
    }
}

/// Equal, or equal as the server writes numbers and quantities (`2` and
/// `"2"` are not; `1.0` and `1` are).
fn same(want: &Json, live: &Json) -> bool {
    match (want, live) {
        (Json::Number(a), Json::Number(b)) => a.as_f64() == b.as_f64(),
        _ => want == live,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_null_in_the_manifest_sets_nothing_so_is_never_drift() {
        let want = json!({"apiVersion": "v1", "kind": "ServiceAccount",
            "metadata": {"name": "karpenter", "annotations": null}});
        let live = json!({"apiVersion": "v1", "kind": "ServiceAccount",
            "metadata": {"name": "karpenter",
                "annotations": {"meta.helm.sh/release-name": "karpenter"}}});
        let mut out = Vec::new();
        compare(
            "ServiceAccount kube-system/karpenter",
            &want,
            &live,
            &mut out,
        );
        assert_eq!(out, Vec::<String>::new());
    }

    #[test]
    fn only_what_the_manifest_sets_is_compared_and_secrets_never_show() {
        let want = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "web", "namespace": "apps", "labels": {"app": "web"}},
            "data": {"greeting": "hi"}});
        let live = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "web", "namespace": "apps", "uid": "1", "labels": {"app": "web", "extra": "x"}},
            "data": {"greeting": "by-hand", "added": "x"}});
        let mut out = Vec::new();
        compare("ConfigMap apps/web", &want, &live, &mut out);
        assert_eq!(
            out,
            [r#"ConfigMap apps/web data.greeting: "by-hand" live, "hi" in the release"#]
        );

        let want = json!({"kind": "Secret", "metadata": {"name": "s"}, "stringData": {"password": "pw-1"}});
        let live = json!({"kind": "Secret", "metadata": {"name": "s"},
            "data": {"password": base64::engine::general_purpose::STANDARD.encode("pw-2")}});
        let mut out = Vec::new();
        compare("Secret apps/s", &want, &live, &mut out);
        assert_eq!(out, ["Secret apps/s data.password: (sensitive) changed"]);
        assert!(!out.concat().contains("pw-"));
        let live = json!({"kind": "Secret", "metadata": {"name": "s"},
            "data": {"password": base64::engine::general_purpose::STANDARD.encode("pw-1")}});
        let mut out = Vec::new();
        compare("Secret apps/s", &want, &live, &mut out);
        assert!(out.is_empty(), "{out:?}");
    }

    #[test]
    fn a_kind_with_several_objects_is_listed_once_and_a_lone_one_read_by_name() {
        let cms = "/api/v1/namespaces/apps/configmaps";
        assert_eq!(read_of(cms, 3, "a"), Read::List(cms.into(), ""));
        assert_eq!(
            read_of("/apis/apps/v1/namespaces/apps/deployments", 1, "web"),
            Read::Get("/apis/apps/v1/namespaces/apps/deployments/web".into())
        );
        // Helm's own release records stay out of a Secret LIST.
        let secrets = "/api/v1/namespaces/apps/secrets";
        assert_eq!(
            read_of(secrets, 2, "a"),
            Read::List(secrets.into(), "owner!=helm")
        );
    }

    #[test]
    fn a_secret_of_the_blueprint_in_a_configmap_never_shows() {
        crate::redact::register("drift-canary-s3cret");
        let want = json!({"kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"dsn": "drift-canary-s3cret"}});
        let live =
            json!({"kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"dsn": "edited"}});
        let mut out = Vec::new();
        compare("ConfigMap apps/c", &want, &live, &mut out);
        assert_eq!(out.len(), 1);
        assert!(!out[0].contains("drift-canary-s3cret"), "{out:?}");
    }
}
