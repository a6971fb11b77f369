//! The progress bar shown on stderr while files restore (only on a terminal). Point ids and
//! file names come from the backup: they are drawn escaped (`lifeboat_core::text`).

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};
use lifeboat_core::evidence::{FileResult, Outcome, PointResult};
use lifeboat_core::text::Escaped;
use lifeboat_runner::Progress;

/// A bar per recovery point: files verified of files sampled, bytes restored, throughput.
pub struct Bar {
    bar: Mutex<Option<ProgressBar>>,
    /// Restored bytes of the current point.
    bytes: AtomicU64,
}

impl Bar {
    pub fn new() -> Self {
        Bar {
            bar: Mutex::new(None),
            bytes: AtomicU64::new(0),
        }
    }

    fn with(&self, f: impl FnOnce(&ProgressBar)) {
        if let Some(b) = self.bar.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
            f(b);
        }
    }
}

impl Progress for Bar {
    fn point_started(&self, id: &str, files: usize) {
        let bar = ProgressBar::with_draw_target(Some(files as u64), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} files  {msg}  {took}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                // Whole seconds, spelt as every other duration lifeboat prints.
                .with_key(
                    "took",
                    |state: &ProgressState, w: &mut dyn std::fmt::Write| {
                        let secs = state.elapsed().as_secs() as f64;
                        let _ = w.write_str(&lifeboat_core::duration::human(secs));
                    },
                )
                .progress_chars("=> "),
        );
        bar.set_prefix(Escaped(id).to_string());
        self.bytes.store(0, Ordering::Relaxed);
        *self.bar.lock().unwrap_or_else(|e| e.into_inner()) = Some(bar);
    }

    fn bytes(&self, n: u64) {
        let total = self.bytes.fetch_add(n, Ordering::Relaxed) + n;
        self.with(|b| b.set_message(lifeboat_report::words::human_bytes(total)));
    }

    fn file_done(&self, result: &FileResult) {
        self.with(|b| {
            if result.outcome != Outcome::Passed {
                b.println(format!(
                    "  FAILED {}: {}",
                    Escaped(&result.path),
                    Escaped(result.reason.as_deref().unwrap_or(""))
                ));
            }
            b.inc(1);
        });
    }

    fn point_finished(&self, _result: &PointResult) {
        if let Some(b) = self.bar.lock().unwrap_or_else(|e| e.into_inner()).take() {
            b.finish_and_clear();
        }
    }
}
