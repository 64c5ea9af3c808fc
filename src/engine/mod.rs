//! The engine above the kinds: what every front end (the command line, the
//! REPL, embedders) runs to turn an evaluated blueprint into a plan. It may
//! use `kinds`; nothing below it uses `engine`.

pub mod ops;
pub mod pipeline;
