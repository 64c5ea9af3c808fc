//! Ctrl-C. While work that must wind down cleanly runs (an apply, a REPL
//! evaluation), an interrupt is only recorded: a script stops at its next
//! operation, an apply starts nothing new and lets what is in flight finish.
//! Otherwise, and on a second Ctrl-C, the process exits with code 130.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

type Hook = Box<dyn Fn() + Send>;

/// What must happen before the process exits on Ctrl-C (giving back the
/// apply lock).
static ON_EXIT: Mutex<Option<Hook>> = Mutex::new(None);

/// Sets (or, with `None`, clears) what runs before an exit on Ctrl-C.
pub fn on_exit(hook: Option<Hook>) {
    *ON_EXIT.lock().unwrap_or_else(|e| e.into_inner()) = hook;
}

/// Runs the exit hook once, if there is one.
pub fn run_exit_hook() {
    let hook = ON_EXIT.lock().unwrap_or_else(|e| e.into_inner()).take();
    if let Some(h) = hook {
        h();
    }
}

static REQUESTED: AtomicUsize = AtomicUsize::new(0);
static GRACEFUL: AtomicBool = AtomicBool::new(false);

/// The signal handler's action.
pub fn on_signal() {
    let count = REQUESTED.fetch_add(1, Ordering::SeqCst) + 1;
    if !GRACEFUL.load(Ordering::SeqCst) || count > 1 {
        eprintln!("\ninterrupted");
        // Plaintext first: end the editor and remove private folders.
        crate::private::remove_all();
        run_exit_hook();
        std::process::exit(130);
    }
    eprintln!("\ninterrupting: finishing what is running (Ctrl-C again to quit at once)");
}

/// Records an interrupt without any output (for tests and embedders).
pub fn request() {
    REQUESTED.fetch_add(1, Ordering::SeqCst);
}

pub fn requested() -> bool {
    REQUESTED.load(Ordering::Relaxed) > 0
}

/// Forgets earlier interrupts, before new work starts.
pub fn clear() {
    REQUESTED.store(0, Ordering::SeqCst);
}

/// Marks whether the work running now winds down on Ctrl-C (true) or
/// simply stops (false).
pub fn set_graceful(on: bool) {
    GRACEFUL.store(on, Ordering::SeqCst);
}
