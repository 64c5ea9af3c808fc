//! `bp kubeconfig FILE`: writes or merges kubeconfig entries for the
//! blueprint's clusters (the endpoint and CA from DescribeCluster, the
//! token from `bp eks-token`), usable by kubectl as they are.

use super::cloud::{self, AwsArgs};
use super::ScriptArgs;
use anyhow::{bail, Context, Result};
use blueprint::providers::kube::{self, TokenCommand};
use clap::Args;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct KubeconfigArgs {
    #[command(flatten)]
    pub script: ScriptArgs,
    #[command(flatten)]
    pub aws: AwsArgs,
    /// Only this cluster [default: every cluster of the blueprint]
    #[arg(long)]
    pub cluster: Option<String>,
    /// The kubeconfig to write or merge into [default: the first path of
    /// $KUBECONFIG, else ~/.kube/config]
    #[arg(short, long, value_name = "PATH")]
    pub output: Option<PathBuf>,
}

fn default_path() -> Result<PathBuf> {
    if let Some(first) = std::env::var_os("KUBECONFIG")
        .and_then(|v| std::env::split_paths(&v).next())
        .filter(|p| !p.as_os_str().is_empty())
    {
        return Ok(first);
    }
    let home = std::env::var_os("HOME").context("HOME is not set: pass -o PATH")?;
    Ok(PathBuf::from(home).join(".kube").join("config"))
}

pub fn run(a: &KubeconfigArgs) -> Result<i32> {
    let eval = blueprint::script::evaluate(
        &a.script.file,
        &a.script.options_in(a.aws.profile.as_deref())?,
    )?;
    // The clusters the blueprint creates, and those it declares objects in.
    let mut names: Vec<String> = eval
        .graph
        .iter()
        .filter(|r| r.address.kind.schema().scope == blueprint::model::schema::Scope::AwsCluster)
        .map(|r| r.address.name.clone())
        .collect();
    for c in kube::clusters(&eval.graph).into_keys() {
        if !names.contains(&c) {
            names.push(c);
        }
    }
    if let Some(only) = &a.cluster {
        if !names.contains(only) {
            bail!(
                "{} has no cluster {only}; its clusters: {}",
                a.script.file.display(),
                names.join(", ")
            );
        }
        names.retain(|n| n == only);
    }
    if names.is_empty() {
        bail!("{} declares no cluster", a.script.file.display());
    }
    let rt = cloud::runtime()?;
    let endpoints = rt.block_on(async {
        let cloud = cloud::connect(&a.aws, &eval.region, &eval.name).await?;
        let mut out = Vec::new();
        for n in &names {
            out.push(cloud.eks_endpoint(n).await.with_context(|| {
                format!("cannot read cluster {n} (does it exist yet? apply the blueprint first)")
            })?);
        }
        Ok::<_, anyhow::Error>(out)
    })?;
    let token = TokenCommand::current(&eval.region, a.aws.profile.as_deref());
    let entries = kube::kubeconfig_for(&endpoints, &token);
    let path = match &a.output {
        Some(p) => p.clone(),
        None => default_path()?,
    };
    let mut config = if path.exists() {
        ::kube::config::Kubeconfig::read_from(&path)
            .with_context(|| format!("cannot read the kubeconfig {}", path.display()))?
    } else {
        ::kube::config::Kubeconfig::default()
    };
    config.api_version.get_or_insert_with(|| "v1".into());
    config.kind.get_or_insert_with(|| "Config".into());
    kube::merge(&mut config, entries);
    let text = serde_saphyr::to_string(&config).context("cannot write the kubeconfig")?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    cloud::write_private(&path, &text)?;
    for e in &endpoints {
        println!(
            "Wrote context {} for cluster {} to {}",
            e.arn,
            e.name,
            path.display()
        );
    }
    Ok(0)
}
