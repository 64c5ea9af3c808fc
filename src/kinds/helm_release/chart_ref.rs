//! What a script may name as a chart's source, checked by parsing rather
//! than by prefix: chart names and versions that cannot be read as helm
//! flags, and repository URLs that are https, or plain http only to this
//! machine's loopback (a test's chart server).

use std::net::IpAddr;

/// Why a chart name, version or URL is refused, and what to give instead.
#[derive(Debug, PartialEq, Eq)]
pub struct Refusal {
    pub message: String,
    pub hint: &'static str,
}

fn refuse(message: String, hint: &'static str) -> Refusal {
    Refusal { message, hint }
}

/// A chart's own name in a repository: letters, digits, `.`, `_` and `-`,
/// starting with a letter or digit (helm's chart names), so never a flag.
pub fn chart_name(chart: &str) -> Result<(), Refusal> {
    let ok = chart
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric())
        && chart
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        && chart.len() <= 250;
    if ok {
        Ok(())
    } else {
        Err(refuse(
            format!("helm_release: \"{chart}\" is not a chart name"),
            "a chart name is letters, digits, `.`, `_` and `-`, starting with a letter or digit",
        ))
    }
}

/// A chart version: a version or constraint (`9.37.0`, `v1.2.3-rc.1`,
/// `~1.2`) that does not start with `-` and holds no spaces or controls.
pub fn version(v: &str) -> Result<(), Refusal> {
    let ok = v
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric() || matches!(c, '~' | '^' | '=' | '>' | '<'))
        && v.chars().all(|c| {
            c.is_ascii_alphanumeric()
                || matches!(c, '.' | '+' | '-' | '_' | '~' | '^' | '=' | '>' | '<' | '*')
        });
    if ok {
        Ok(())
    } else {
        Err(refuse(
            format!("helm_release: \"{v}\" is not a chart version"),
            "give the chart's version, e.g. version: \"9.37.0\"",
        ))
    }
}

/// Whether the URL's host is `localhost` exactly or a loopback address.
fn loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

fn parse(text: &str, what: &str, hint: &'static str) -> Result<url::Url, Refusal> {
    let url = url::Url::parse(text).map_err(|e| {
        refuse(
            format!("helm_release: the {what} \"{text}\" is not a URL: {e}"),
            hint,
        )
    })?;
    if url.host_str().is_none_or(str::is_empty) {
        return Err(refuse(
            format!("helm_release: the {what} \"{text}\" names no host"),
            hint,
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(refuse(
            format!("helm_release: the {what} \"{text}\" holds credentials"),
            "credentials never go in a URL: log helm in to the repository or registry instead",
        ));
    }
    Ok(url)
}

/// A chart repository: https, or plain http to `localhost` or a loopback
/// address only.
pub fn repository(repo: &str) -> Result<(), Refusal> {
    const HINT: &str =
        "chart repositories are reached over https (plain http only to localhost or 127.0.0.1)";
    let url = parse(repo, "repo", HINT)?;
    match url.scheme() {
        "https" => Ok(()),
        "http" if loopback(&url) => Ok(()),
        _ => Err(refuse(
            format!("helm_release: the repo \"{repo}\" is not an https URL"),
            HINT,
        )),
    }
}

/// An `oci://registry/path/chart` reference; the chart's name, its last
/// segment.
pub fn oci(reference: &str) -> Result<String, Refusal> {
    const HINT: &str =
        "an OCI chart is oci://REGISTRY/PATH/CHART, e.g. oci://public.ecr.aws/karpenter/karpenter";
    let url = parse(reference, "chart", HINT)?;
    if url.scheme() != "oci" || url.query().is_some() || url.fragment().is_some() {
        return Err(refuse(
            format!("helm_release: \"{reference}\" is not an oci:// chart reference"),
            HINT,
        ));
    }
    let name = url
        .path_segments()
        .and_then(|mut s| s.next_back())
        .unwrap_or_default()
        .to_string();
    chart_name(&name).map_err(|_| {
        refuse(
            format!("helm_release: \"{reference}\" names no chart"),
            HINT,
        )
    })?;
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chart_names_cannot_be_flags() {
        assert!(chart_name("cluster-autoscaler").is_ok());
        assert!(chart_name("aws_load.balancer-2").is_ok());
        for bad in [
            "--post-renderer=bash",
            "-x",
            "",
            "a b",
            "a/b",
            "a;b",
            "../x",
        ] {
            assert!(chart_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn versions_cannot_be_flags() {
        for good in ["9.37.0", "v1.2.3-rc.1+build", "~1.2", "^1.0", ">=1.0"] {
            assert!(version(good).is_ok(), "{good}");
        }
        for bad in ["--devel", "-1", "", "1.0 --x", "1\n2"] {
            assert!(version(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn plain_http_only_to_loopback() {
        for good in [
            "https://charts.example.com/stable",
            "http://127.0.0.1:8080/charts",
            "http://127.3.4.5/",
            "http://localhost:9000",
            "http://LOCALHOST/",
            "http://[::1]:8080/",
        ] {
            assert_eq!(repository(good), Ok(()), "{good}");
        }
        for bad in [
            "http://localhost.attacker.example/charts",
            "http://localhost@attacker.example/charts",
            "http://127.0.0.1.attacker.example/",
            "http://attacker.example/?x=http://127.0.0.1",
            "http://10.0.0.1/",
            "ftp://localhost/",
            "file:///etc",
            "https://user:secret@charts.example.com/",
            "--repo=https://x",
            "localhost:8080",
        ] {
            assert!(repository(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn oci_references_name_their_chart() {
        assert_eq!(
            oci("oci://public.ecr.aws/karpenter/karpenter"),
            Ok("karpenter".to_string())
        );
        for bad in [
            "oci://",
            "oci://registry.example/",
            "oci://u:p@registry.example/x",
            "oci://registry.example/--post-renderer=bash",
        ] {
            assert!(oci(bad).is_err(), "{bad}");
        }
    }
}
