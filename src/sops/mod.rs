//! SOPS-compatible encrypted files (format 3.x). See docs/SOPS-FORMAT.md
//! for the format facts this follows.
//!
//! Status: the value cipher (AES-256-GCM with sops' 32-byte nonce, typed
//! plaintexts, key-path AAD) is here; the document stores, the MAC, the KMS
//! and age key groups, the `bp secrets` commands and `sops_file()` follow.

pub mod cipher;
pub mod json;
pub mod tree;

pub use cipher::{Plain, SopsError};
