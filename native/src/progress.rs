//! Progress bars with rate and ETA, shown only when stderr is a terminal.

use std::io::IsTerminal;

use std::fmt;
use std::time::Duration;

use ferry_client::Progress;
use indicatif::{
    BinaryBytes, HumanDuration, ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle,
};

/// One transfer's progress bar; nothing is drawn when stderr is not a
/// terminal.
#[derive(Debug)]
pub struct Bar {
    label: String,
    bar: Option<ProgressBar>,
}

/// The progress display of a transfer called `label` (what the client
/// commands are given: [`ferry_client::Remote::progress`]).
pub fn bar(label: &str) -> Box<dyn Progress> {
    Box::new(Bar {
        label: ferry_core::escape(label.as_bytes()),
        bar: None,
    })
}

impl Progress for Bar {
    /// Shows a bar for `total` bytes, `done` of them already held (they
    /// show in the bar, not in the rate).
    fn start(&mut self, total: u64, done: u64) {
        if !std::io::stderr().is_terminal() {
            return;
        }
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
        // The rate and the time left count only this run's bytes: a resumed
        // download does not start with an absurd speed.
        let rate = move |state: &ProgressState, w: &mut dyn fmt::Write| {
            let per_second = this_run_rate(state.pos(), done, state.elapsed());
            let _ = write!(w, "{}/s", BinaryBytes(per_second as u64));
        };
        let left = move |state: &ProgressState, w: &mut dyn fmt::Write| {
            let per_second = this_run_rate(state.pos(), done, state.elapsed());
            let remaining = state.len().unwrap_or(0).saturating_sub(state.pos());
            let _ = match (per_second > 0.0).then(|| remaining as f64 / per_second) {
                Some(secs) if secs < 1e6 => {
                    write!(w, "{}", HumanDuration(Duration::from_secs_f64(secs)))
                }
                _ => write!(w, "?"),
            };
        };
        let style = ProgressStyle::with_template(
            "{msg} [{bar:30}] {binary_bytes}/{binary_total_bytes} {rate} ETA {left}",
        )
        .map(|s| {
            s.progress_chars("=> ")
                .with_key("rate", rate)
                .with_key("left", left)
        })
        .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style);
        bar.set_message(self.label.clone());
        bar.set_position(done);
        self.bar = Some(bar);
    }

    /// Counts `bytes` more.
    fn advance(&mut self, bytes: u64) {
        if let Some(bar) = &self.bar {
            bar.inc(bytes);
        }
    }

    /// Removes the bar.
    fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

/// Bytes per second moved by this run: what was held before it (`done`)
/// does not count.
fn this_run_rate(pos: u64, done: u64, elapsed: Duration) -> f64 {
    let secs = elapsed.as_secs_f64();
    if secs <= 0.0 {
        return 0.0;
    }
    pos.saturating_sub(done) as f64 / secs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rate_counts_only_this_runs_bytes() {
        let second = Duration::from_secs(1);
        assert_eq!(this_run_rate(150, 100, second), 50.0);
        assert_eq!(this_run_rate(100, 100, second), 0.0);
        assert_eq!(this_run_rate(300, 0, 2 * second), 150.0);
        assert_eq!(this_run_rate(10, 0, Duration::ZERO), 0.0);
    }
}
