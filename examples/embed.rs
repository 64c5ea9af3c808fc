//! Embedding Blueprint's engine from Rust, through the same pipeline as
//! `bp plan`: evaluate a blueprint, read what it owns in AWS (and its
//! clusters), and print the plan with its findings and cost.
//!
//!     AWS_ENDPOINT_URL=http://127.0.0.1:5000 cargo run --example embed -- blueprints/pms.rhai env=dev
//!
//! The standard AWS chain gives the credentials; `AWS_ENDPOINT_URL` points
//! it at an emulator, and `AWS_REGION` chooses the region (us-east-1
//! otherwise).

use blueprint::engine::pipeline::{self, Desired};
use blueprint::plan::render;
use blueprint::providers::{Cloud, Target};
use blueprint::script::{evaluate, Options};
use std::path::PathBuf;

fn main() {
    let mut args = std::env::args().skip(1);
    let file = PathBuf::from(args.next().unwrap_or_else(|| "blueprints/pms.rhai".into()));
    let vars = args
        .filter_map(|a| {
            a.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
        })
        .collect();
    let options = Options {
        vars,
        region: std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".into()),
        ..Options::default()
    };
    let eval = match evaluate(&file, &options) {
        Ok(e) => e,
        Err(e) => {
            eprint!("{}", e.render());
            std::process::exit(1);
        }
    };
    let rt = tokio::runtime::Runtime::new().expect("an async runtime");
    let made = rt.block_on(async {
        let target = Target {
            region: eval.region.clone(),
            endpoint_url: std::env::var("AWS_ENDPOINT_URL").ok(),
            ..Target::default()
        };
        let cloud = Cloud::connect(&target, &eval.name).await;
        pipeline::plan(
            &cloud,
            &Desired::from(&eval),
            &blueprint::cost::Prices::embedded(),
            blueprint::lint::Date::today(),
        )
        .await
    });
    match made {
        Ok((plan, _live)) => print!("{}", render::human(&plan)),
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}
