//! Ctrl-C: a running script stops at its next operation; a running apply
//! starts nothing new and lets what is in flight finish.

use std::sync::atomic::{AtomicBool, Ordering};

static REQUESTED: AtomicBool = AtomicBool::new(false);

/// Records an interrupt (called from the signal handler).
pub fn request() {
    REQUESTED.store(true, Ordering::SeqCst);
}

pub fn requested() -> bool {
    REQUESTED.load(Ordering::Relaxed)
}

/// Forgets an earlier interrupt, before new work starts.
pub fn clear() {
    REQUESTED.store(false, Ordering::SeqCst);
}
