//! The live view of an apply on a terminal: one line per operation in
//! flight with its elapsed time, above a running count of done, failed,
//! running and pending operations. The event lines still scroll above it,
//! as they are printed without a terminal.

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

pub struct View {
    multi: MultiProgress,
    summary: ProgressBar,
    running: Mutex<HashMap<String, ProgressBar>>,
    counts: Mutex<(usize, usize)>,
    total: usize,
}

const TICK: Duration = Duration::from_millis(200);

impl View {
    /// A view of `total` operations.
    pub fn new(total: usize) -> View {
        let multi = MultiProgress::new();
        let summary = multi.add(ProgressBar::new(total as u64));
        summary.set_style(ProgressStyle::with_template("{msg}").expect("a valid template"));
        summary.enable_steady_tick(TICK);
        let view = View {
            multi,
            summary,
            running: Mutex::default(),
            counts: Mutex::default(),
            total,
        };
        view.update();
        view
    }

    fn update(&self) {
        let (done, failed) = *self.counts.lock().unwrap_or_else(|e| e.into_inner());
        let running = self.running.lock().unwrap_or_else(|e| e.into_inner()).len();
        let pending = self.total.saturating_sub(done + failed + running);
        self.summary.set_message(format!(
            "{done} done, {failed} failed, {running} running, {pending} pending"
        ));
    }

    /// One event line of the applier: `+ cluster.x: creating...` starts an
    /// operation, `+ cluster.x: created ...` or `...: FAILED ...` ends it,
    /// and `+ cluster.x: waiting for ...` says what it waits for now, shown
    /// on its line of the view (not printed above it).
    pub fn event(&self, line: &str) {
        if let Some((key, rest)) = line.split_once(": ") {
            if is_wait(rest) {
                if let Some(bar) = self
                    .running
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .get(key)
                {
                    bar.set_message(line.to_string());
                }
                return;
            }
        }
        let _ = self.multi.println(line);
        if let Some((key, rest)) = line.split_once(": ") {
            let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
            if rest.ends_with("...") {
                let bar = self
                    .multi
                    .insert_before(&self.summary, ProgressBar::new_spinner());
                bar.set_style(
                    ProgressStyle::with_template("{spinner} {msg} {elapsed}")
                        .expect("a valid template"),
                );
                bar.set_message(format!("{key}: {rest}"));
                bar.enable_steady_tick(TICK);
                running.insert(key.to_string(), bar);
            } else if !ends_an_operation(rest) {
                // A note of a running operation (a leftover it removed):
                // printed above the view, its line stays.
            } else if let Some(bar) = running.remove(key) {
                bar.finish_and_clear();
                let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
                if rest.starts_with("FAILED") {
                    counts.1 += 1;
                } else {
                    counts.0 += 1;
                }
            }
        }
        self.update();
    }

    /// What an operation shows on its line, for tests.
    #[cfg(test)]
    fn shown(&self, key: &str) -> Option<String> {
        self.running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(key)
            .map(|b| b.message())
    }

    pub fn finish(&self) {
        for (_, bar) in self
            .running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .drain()
        {
            bar.finish_and_clear();
        }
        self.summary.finish_and_clear();
    }
}

/// Whether an event ends its operation: it says what was done, or that it
/// failed.
fn ends_an_operation(rest: &str) -> bool {
    ["created", "updated", "finished", "deleted", "FAILED"]
        .iter()
        .any(|v| rest.starts_with(v))
}

/// Whether an event says what an operation waits for.
pub fn is_wait(rest: &str) -> bool {
    rest.starts_with("waiting for ")
}

#[cfg(test)]
mod tests {
    use super::View;

    #[test]
    fn a_wait_shows_on_its_operations_line_and_does_not_end_it() {
        let v = View::new(2);
        v.event("+ cluster.demo: creating...");
        v.event("+ cluster.demo: waiting for cluster demo to become ACTIVE");
        assert_eq!(
            v.shown("+ cluster.demo").as_deref(),
            Some("+ cluster.demo: waiting for cluster demo to become ACTIVE")
        );
        v.event("+ cluster.demo: created [demo] after 6m12s");
        assert_eq!(v.shown("+ cluster.demo"), None);
        v.finish();
    }

    #[test]
    fn a_note_is_printed_and_does_not_end_its_operation() {
        let v = View::new(1);
        v.event("- cluster.demo: deleting...");
        v.event("- cluster.demo: removed load balancer k8s-web that cluster demo's controllers left in vpc-1");
        assert!(v.shown("- cluster.demo").is_some());
        v.event("- cluster.demo: deleted [demo] after 1s");
        assert_eq!(v.shown("- cluster.demo"), None);
        v.finish();
    }
}
