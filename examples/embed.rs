//! Embedding Blueprint's engine from Rust: evaluate a blueprint and print
//! the resources it declares, in dependency order.
//!
//!     cargo run --example embed -- blueprints/pms.rhai env=dev

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
        region: "us-east-1".into(),
        ..Options::default()
    };
    let eval = match evaluate(&file, &options) {
        Ok(e) => e,
        Err(e) => {
            eprint!("{}", e.render());
            std::process::exit(1);
        }
    };
    let order = eval
        .graph
        .topo_order()
        .expect("validated graphs have no cycle");
    for address in order {
        let r = eval.graph.get(address).expect("declared");
        let deps: Vec<String> = r.depends_on.iter().map(ToString::to_string).collect();
        println!("{address:<45} after [{}]", deps.join(", "));
    }
}
