//! `bp adopt FILE ADDRESS ID`: take over a resource that exists outside
//! the blueprint by writing the ownership tags on it, at an address the
//! blueprint declares. Terraform's `import`, with no state file: the next
//! plan reads it as the blueprint's and shows only how it differs.

use super::cloud::{self, AwsArgs};
use super::ScriptArgs;
use anyhow::{bail, Context, Result};
use blueprint::kinds::Adopt;
use blueprint::model::Address;
use blueprint::providers::{TAG_ADDRESS, TAG_NAME};
use clap::Args;

#[derive(Args, Debug)]
pub struct AdoptArgs {
    #[command(flatten)]
    pub script: ScriptArgs,
    /// The address the blueprint declares it at, as plans show it (`vpc.main`)
    pub address: String,
    /// Its id in AWS, as plans show it (vpc-..., a bucket's name, a key's id)
    pub id: String,
    #[command(flatten)]
    pub aws: AwsArgs,
}

pub fn run(a: &AdoptArgs) -> Result<i32> {
    let rt = cloud::runtime()?;
    let options = blueprint::script::Options {
        secrets: cloud::decrypting(&a.aws),
        ..a.script.options_in(a.aws.profile.as_deref())?
    };
    let eval = blueprint::script::evaluate(&a.script.file, &options)?;
    let address: Address = a
        .address
        .parse()
        .map_err(|e: String| anyhow::anyhow!("`{}` is not an address: {e}", a.address))?;
    if !eval.graph.contains(&address) {
        let names: Vec<String> = eval.graph.iter().map(|r| r.address.to_string()).collect();
        let hint =
            match blueprint::model::names::suggest(&a.address, names.iter().map(String::as_str)) {
                Some(s) => format!("did you mean {s}?"),
                None => format!(
                    "`bp check {}` lists what it declares",
                    a.script.file.display()
                ),
            };
        bail!(
            "{} does not declare {address}\n  = hint: {hint}",
            a.script.file.display()
        );
    }
    let def = blueprint::kinds::def(address.kind);
    let tag = match def.adopt {
        Adopt::ByTags(f) => f,
        Adopt::No(why) => bail!(
            "bp adopt cannot take over a resource of kind {}: {why}",
            address.kind
        ),
        Adopt::NotYet => {
            let adoptable: Vec<&str> = blueprint::kinds::REGISTRY
                .iter()
                .filter(|d| matches!(d.adopt, Adopt::ByTags(_)))
                .map(|d| d.kind.as_str())
                .collect();
            bail!(
                "bp adopt cannot take over a resource of kind {} yet; it takes over {} so far",
                address.kind,
                adoptable.join(", ")
            )
        }
    };
    rt.block_on(async {
        // The clients of the address's provider instance, if it has one.
        let all = blueprint::providers::Cloud::connect_all(
            &cloud::target(&a.aws, &eval.region)?,
            &eval.name,
            eval.graph.providers(),
        )
        .await;
        let cloud = all.at(&address).clone();
        let region = eval.graph.region_of(&address, &eval.region).to_string();
        // What the blueprint already owns at that address.
        let Some(read) = def.aws_read() else {
            bail!(
                "bp adopt cannot take over a resource of kind {}",
                address.kind
            );
        };
        let owned = read(&cloud)
            .await
            .with_context(|| format!("cannot read the blueprint's {}s", address.kind))?;
        if let Some(l) = owned.iter().find(|l| l.address == address) {
            if l.id == a.id {
                println!("{address} is {} already: nothing to adopt.", a.id);
                return Ok(0);
            }
            bail!(
                "{address} exists already, as {}: adopting {} would make two\n  = hint: destroy {} first, or adopt {} at another address",
                l.id,
                a.id,
                l.id,
                a.id
            );
        }
        // The resource itself: it exists, and nobody owns it.
        let rows = (def.list)(&cloud)
            .await
            .with_context(|| format!("cannot list the {}s of {region}", address.kind))?;
        let Some(row) = rows.iter().find(|r| r.id == a.id) else {
            bail!(
                "there is no {} {} in {}\n  = hint: give the id as AWS shows it (the REPL's `:live {}` lists them)",
                address.kind,
                a.id,
                region,
                address.kind
            );
        };
        if let Some(owner) = &row.owner {
            let (name, at) = owner.split_once(' ').unwrap_or((owner.as_str(), "?"));
            if name == eval.name {
                bail!(
                    "{} {} is this blueprint's already, at {at}\n  = hint: rename the declaration to {at}, or adopt another resource at {address}",
                    address.kind,
                    a.id
                );
            }
            bail!(
                "{} {} belongs to blueprint {name} already (at {at})\n  = hint: a resource has one owner; remove it from blueprint {name} first (its tags {TAG_NAME} and {TAG_ADDRESS})",
                address.kind,
                a.id
            );
        }
        let tags = [
            (TAG_NAME.to_string(), eval.name.clone()),
            (TAG_ADDRESS.to_string(), address.to_string()),
        ];
        tag(&cloud, &a.id, &tags)
            .await
            .with_context(|| format!("cannot tag {} {}", address.kind, a.id))?;
        println!(
            "Adopted {} {} as {address}.\nRun `bp plan {}` to see how it differs from the blueprint: apply changes it to match, or replaces it where a field cannot change in place.",
            address.kind,
            a.id,
            a.script.file.display()
        );
        Ok(0)
    })
}
