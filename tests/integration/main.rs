//! One integration-test binary: every test drives the real `bp` binary.

mod harness;
mod moto;

mod check;
mod errors;
mod graph;
mod lifecycle;
mod repl;
mod secrets;
