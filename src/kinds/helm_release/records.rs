//! Helm's own release records, read natively: a revision is a Secret
//! `sh.helm.release.v1.<name>.v<revision>` of type `helm.sh/release.v1`
//! with the labels `owner=helm`, `name`, `status` and `version`; its
//! `data.release` is, once the API's base64 is undone, base64 again of
//! gzip of the release as JSON.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::Value as Json;
use std::collections::BTreeMap;
use std::io::Read;

/// The latest revision of one release.
#[derive(Clone, Debug, PartialEq)]
pub struct Release {
    pub name: String,
    pub namespace: String,
    pub revision: u64,
    pub status: String,
    pub chart: String,
    pub version: String,
    /// The user-supplied values (`config`); empty when none.
    pub values: Json,
    pub manifest: String,
    /// The labels of the record (Helm 3.13+ `--labels` adds the caller's).
    pub labels: BTreeMap<String, String>,
    /// The latest revision that was deployed (`deployed` or `superseded`),
    /// what a release stuck pending goes back to.
    pub last_deployed: Option<u64>,
}

/// Decodes the `release` field of a record (as the API returns it, base64).
pub fn decode(release_b64: &str) -> Result<Json, String> {
    let once = STANDARD
        .decode(release_b64.trim())
        .map_err(|e| format!("not base64: {e}"))?;
    let twice = STANDARD
        .decode(&once)
        .map_err(|e| format!("not base64 inside: {e}"))?;
    let mut json = Vec::new();
    if twice.starts_with(&[0x1f, 0x8b]) {
        flate2::read::GzDecoder::new(&twice[..])
            .read_to_end(&mut json)
            .map_err(|e| format!("not gzip: {e}"))?;
    } else {
        json = twice; // Helm before 3.? stored it uncompressed
    }
    serde_json::from_slice(&json).map_err(|e| format!("not JSON: {e}"))
}

/// The latest revision of every release among the listed record Secrets.
pub fn latest(items: &[Json]) -> Vec<Release> {
    let mut best: BTreeMap<(String, String), Release> = BTreeMap::new();
    let mut deployed: BTreeMap<(String, String), u64> = BTreeMap::new();
    for item in items {
        let meta = &item["metadata"];
        let labels: BTreeMap<String, String> = meta["labels"]
            .as_object()
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                    .collect()
            })
            .unwrap_or_default();
        if item["type"] != "helm.sh/release.v1" {
            continue;
        }
        let Some(name) = labels.get("name").cloned() else {
            continue;
        };
        let namespace = meta["namespace"].as_str().unwrap_or_default().to_string();
        let revision: u64 = labels
            .get("version")
            .and_then(|v| v.parse().ok())
            .unwrap_or_default();
        let key = (namespace.clone(), name.clone());
        if matches!(
            labels.get("status").map(String::as_str),
            Some("deployed" | "superseded")
        ) {
            let d = deployed.entry(key.clone()).or_default();
            *d = (*d).max(revision);
        }
        if best.get(&key).is_some_and(|r| r.revision >= revision) {
            continue;
        }
        let Some(Ok(body)) = item["data"]["release"].as_str().map(decode) else {
            continue;
        };
        let status = body["info"]["status"]
            .as_str()
            .or(labels.get("status").map(String::as_str))
            .unwrap_or_default()
            .to_string();
        best.insert(
            key,
            Release {
                name,
                namespace,
                revision,
                status,
                chart: body["chart"]["metadata"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                version: body["chart"]["metadata"]["version"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                values: match &body["config"] {
                    Json::Object(_) => body["config"].clone(),
                    _ => Json::Object(Default::default()),
                },
                manifest: body["manifest"].as_str().unwrap_or_default().to_string(),
                labels,
                last_deployed: None,
            },
        );
    }
    best.into_iter()
        .map(|(key, mut r)| {
            r.last_deployed = deployed.get(&key).copied().filter(|d| *d < r.revision);
            r
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn record(name: &str, revision: u64, status: &str, config: Json) -> Json {
        let release = serde_json::json!({
            "name": name, "namespace": "apps", "version": revision,
            "info": {"status": status},
            "chart": {"metadata": {"name": "demo", "version": format!("0.{revision}.0")}},
            "config": config,
            "manifest": "---\nkind: ConfigMap\n",
        });
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(release.to_string().as_bytes()).unwrap();
        let inner = STANDARD.encode(gz.finish().unwrap());
        serde_json::json!({
            "type": "helm.sh/release.v1",
            "metadata": {"name": format!("sh.helm.release.v1.{name}.v{revision}"), "namespace": "apps",
                         "labels": {"owner": "helm", "name": name, "version": revision.to_string(), "status": status}},
            "data": {"release": STANDARD.encode(inner)},
        })
    }

    #[test]
    fn the_latest_revision_of_each_release_is_decoded() {
        let items = vec![
            record("web", 1, "superseded", serde_json::json!({"a": 1})),
            record("web", 2, "deployed", serde_json::json!({"a": 2})),
            record("db", 1, "failed", Json::Null),
        ];
        let got = latest(&items);
        assert_eq!(got.len(), 2);
        let web = got.iter().find(|r| r.name == "web").unwrap();
        assert_eq!((web.revision, web.status.as_str()), (2, "deployed"));
        assert_eq!(web.version, "0.2.0");
        assert_eq!(web.values, serde_json::json!({"a": 2}));
        let db = got.iter().find(|r| r.name == "db").unwrap();
        assert_eq!(db.status, "failed");
        assert_eq!(db.values, serde_json::json!({}));
    }

    #[test]
    fn a_pending_release_knows_its_last_deployed_revision() {
        let items = vec![
            record("web", 1, "superseded", Json::Null),
            record("web", 2, "deployed", Json::Null),
            record("web", 3, "pending-upgrade", Json::Null),
            record("db", 1, "pending-install", Json::Null),
        ];
        let got = latest(&items);
        let web = got.iter().find(|r| r.name == "web").unwrap();
        assert_eq!(
            (web.status.as_str(), web.last_deployed),
            ("pending-upgrade", Some(2))
        );
        let db = got.iter().find(|r| r.name == "db").unwrap();
        assert_eq!(db.last_deployed, None, "never deployed");
    }
}
