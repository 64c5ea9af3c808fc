//! `bp eks-token --cluster NAME`: the credential plugin of the kubeconfig
//! entries `bp kubeconfig` writes. Prints an ExecCredential with a bearer
//! token signed natively (a presigned STS GetCallerIdentity URL), as
//! `aws eks get-token` does; no aws CLI is needed.

use anyhow::{Context, Result};
use aws_credential_types::provider::ProvideCredentials;
use clap::Args;

#[derive(Args, Debug)]
pub struct EksTokenArgs {
    /// The EKS cluster's name
    #[arg(long)]
    pub cluster: String,
    /// The cluster's region [default: AWS_REGION, AWS_DEFAULT_REGION, the profile's, else us-east-1]
    #[arg(long)]
    pub region: Option<String>,
    /// AWS profile from the shared config files
    #[arg(long, env = "AWS_PROFILE")]
    pub profile: Option<String>,
}

pub fn run(a: &EksTokenArgs) -> Result<i32> {
    let region = super::resolve_region(a.region.as_deref(), a.profile.as_deref());
    let rt = super::cloud::runtime()?;
    let credentials = rt.block_on(async {
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new(region.clone()));
        if let Some(p) = &a.profile {
            loader = loader.profile_name(p);
        }
        let conf = loader.load().await;
        let provider = conf
            .credentials_provider()
            .context("no AWS credentials are configured")?;
        provider
            .provide_credentials()
            .await
            .context("cannot load AWS credentials")
    })?;
    let now = std::time::SystemTime::now();
    let token = blueprint::providers::eks_token::token(&credentials, &region, &a.cluster, now)?;
    let expires = blueprint::providers::eks_token::expires(now)
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default();
    let credential = serde_json::json!({
        "kind": "ExecCredential",
        "apiVersion": "client.authentication.k8s.io/v1beta1",
        "spec": {},
        "status": {
            "expirationTimestamp": blueprint::sops::keys::rfc3339(expires),
            "token": token,
        },
    });
    println!("{}", serde_json::to_string(&credential)?);
    Ok(0)
}
