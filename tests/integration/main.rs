//! One integration-test binary: every test drives the real `bp` binary.

mod harness;
mod kube;
mod moto;
mod plan_schema;
mod proxy;

mod adopt;
mod aws_backup;
mod backup;
mod check;
mod cli;
mod cost;
mod drift;
mod duplicates;
mod efs;
mod eks_access;
mod eks_addon;
mod eks_cluster;
mod errors;
mod existing;
mod generated;
mod graph;
mod helm;
mod instance;
mod kubernetes;
mod leaks;
mod lifecycle;
mod lint;
mod lock;
mod log_group;
mod moving;
mod rds;
mod repl;
mod secrets;
mod sops3;
mod unlisted;
