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
    /// operation, `+ cluster.x: created ...` or `...: FAILED ...` ends it.
    pub fn event(&self, line: &str) {
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
