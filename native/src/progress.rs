//! Progress bars with rate and ETA, shown only when stderr is a terminal.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// One transfer's progress; silent when stderr is not a terminal.
#[derive(Debug)]
pub struct Progress {
    label: String,
    bar: Option<ProgressBar>,
    silent: bool,
}

impl Progress {
    /// A progress display for `label` (nothing is drawn until `start`).
    pub fn new(label: &str) -> Self {
        Progress {
            label: ferry_core::escape(label.as_bytes()),
            bar: None,
            silent: false,
        }
    }

    /// A progress that never shows (`-q`).
    pub fn silent() -> Self {
        Progress {
            silent: true,
            ..Progress::new("")
        }
    }

    /// Shows a bar for `total` bytes, `done` of them already held (they
    /// show in the bar, not in the rate).
    pub fn start(&mut self, total: u64, done: u64) {
        if self.silent || !std::io::stderr().is_terminal() {
            return;
        }
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
        let style = ProgressStyle::with_template(
            "{msg} [{bar:30}] {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec} ETA {eta}",
        )
        .map(|s| s.progress_chars("=> "))
        .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style);
        bar.set_message(self.label.clone());
        bar.set_position(done);
        // The rate and the ETA count only the bytes of this run.
        bar.reset_eta();
        self.bar = Some(bar);
    }

    /// Counts `bytes` more.
    pub fn advance(&mut self, bytes: u64) {
        if let Some(bar) = &self.bar {
            bar.inc(bytes);
        }
    }

    /// Removes the bar.
    pub fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}
