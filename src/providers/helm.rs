//! The user's helm, run for installs, upgrades and uninstalls (plans read
//! Helm's release records natively and run no helm process). Values and
//! kubeconfigs go into 0600 files of a private folder (on a memory
//! filesystem where there is one) that is removed whatever happens, a
//! signal included; argv holds paths and settings, never values.

use super::ProviderError;
use std::path::{Path, PathBuf};

/// The oldest helm with `--labels`, which marks a release as Blueprint's.
const OLDEST: (u64, u64) = (3, 13);

/// A helm found on this machine.
#[derive(Clone, Debug)]
pub struct Helm {
    pub path: PathBuf,
    pub version: String,
}

fn parse_version(text: &str) -> Option<(u64, u64)> {
    let v = text.trim().trim_start_matches('v');
    let mut parts = v.split(['.', '+', '-']);
    Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
}

/// `--helm PATH`, else `BP_HELM`, else `helm` on PATH; at least 3.13.
pub async fn find(explicit: Option<&Path>) -> Result<Helm, ProviderError> {
    let path = match explicit {
        Some(p) => p.to_path_buf(),
        None => std::env::var_os("PATH")
            .and_then(|paths| {
                std::env::split_paths(&paths)
                    .map(|d| d.join("helm"))
                    .find(|p| p.is_file())
            })
            .ok_or_else(|| {
                ProviderError::Unsupported(
                    "no helm found on PATH: install helm 3.13 or later, or pass --helm PATH (BP_HELM)"
                        .into(),
                )
            })?,
    };
    let out = command(&path)
        .args(["version", "--short"])
        .output()
        .await
        .map_err(|e| {
            ProviderError::Unsupported(format!("cannot run helm at {}: {e}", path.display()))
        })?;
    let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
    match parse_version(&text) {
        Some(v) if v >= OLDEST => Ok(Helm {
            path,
            version: text,
        }),
        Some(_) => Err(ProviderError::Unsupported(format!(
            "helm at {} is {text}; Blueprint needs 3.13 or later (for --labels)",
            path.display()
        ))),
        None => Err(ProviderError::Unsupported(format!(
            "{} does not look like helm (`helm version --short` printed {text:?})",
            path.display()
        ))),
    }
}

/// Whether helm would read `name` from the environment to choose another
/// cluster, namespace, credentials or storage than the ones Blueprint gives
/// it (`HELM_KUBEAPISERVER`, `HELM_KUBETOKEN`, `HELM_NAMESPACE`,
/// `HELM_DRIVER`, `KUBECONFIG`, ...): such variables never reach it.
fn redirects_helm(name: &std::ffi::OsStr) -> bool {
    let name = name.to_string_lossy();
    name.starts_with("HELM_KUBE")
        || name.starts_with("HELM_DRIVER")
        || name == "HELM_NAMESPACE"
        || name == "KUBECONFIG"
}

/// helm as Blueprint runs it: no standard input, and none of the
/// variables that would point it elsewhere.
fn command(path: &Path) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(path);
    cmd.stdin(std::process::Stdio::null());
    for (name, _) in std::env::vars_os() {
        if redirects_helm(&name) {
            cmd.env_remove(name);
        }
    }
    cmd
}

/// A file helm reads, written 0600 into the private folder.
pub struct File<'a> {
    pub name: &'a str,
    pub text: &'a str,
}

impl Helm {
    /// Runs helm with `args`, in which `{dir}` stands for the private
    /// folder holding `files`. Returns stdout; on failure, helm's stderr.
    pub async fn run(
        &self,
        what: &str,
        args: &[String],
        files: &[File<'_>],
    ) -> Result<String, ProviderError> {
        let dir = crate::private::Dir::new("bp-helm-")
            .map_err(|e| ProviderError::Unexpected(format!("{what}: a private folder: {e}")))?;
        for f in files {
            dir.write(f.name, f.text.as_bytes())
                .map_err(|e| ProviderError::Unexpected(format!("{what}: {}: {e}", f.name)))?;
        }
        let d = dir.path().to_string_lossy().into_owned();
        let args: Vec<String> = args.iter().map(|a| a.replace("{dir}", &d)).collect();
        let out = command(&self.path)
            .args(&args)
            .kill_on_drop(true)
            .output()
            .await
            .map_err(|e| ProviderError::Unexpected(format!("{what}: cannot run helm: {e}")))?;
        drop(dir); // removed here, whatever happened
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(ProviderError::Helm {
                what: what.to_string(),
                stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn versions_are_read_from_helm_version_short() {
        assert_eq!(super::parse_version("v3.18.0+g1234"), Some((3, 18)));
        assert_eq!(super::parse_version("v4.1.4"), Some((4, 1)));
        assert!(super::parse_version("v3.12.3+gabc").unwrap() < super::OLDEST);
        assert_eq!(super::parse_version("nonsense"), None);
    }

    #[test]
    fn variables_that_point_helm_elsewhere_are_dropped() {
        for name in [
            "HELM_KUBEAPISERVER",
            "HELM_KUBETOKEN",
            "HELM_KUBECONTEXT",
            "HELM_KUBEINSECURE_SKIP_TLS_VERIFY",
            "HELM_NAMESPACE",
            "HELM_DRIVER",
            "KUBECONFIG",
        ] {
            assert!(super::redirects_helm(name.as_ref()), "{name}");
        }
        for name in ["HELM_CACHE_HOME", "HELM_REGISTRY_CONFIG", "PATH", "HOME"] {
            assert!(!super::redirects_helm(name.as_ref()), "{name}");
        }
    }
}
