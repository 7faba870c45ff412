//! How a transfer's progress is shown: the binary draws bars on a terminal
//! ([`Remote::progress`](crate::Remote::progress)); without one nothing is.

/// Makes the progress display of a transfer called by the given label.
pub type ProgressDisplay = fn(&str) -> Box<dyn Progress>;

/// One transfer's progress display.
pub trait Progress {
    /// A transfer of `total` bytes begins, `done` of them already held
    /// (they show as done, not in the rate).
    fn start(&mut self, total: u64, done: u64);
    /// `bytes` more moved.
    fn advance(&mut self, bytes: u64);
    /// The transfer ended: the display goes.
    fn finish(&mut self);
}

/// Shows nothing (`-q`, or no display given).
#[derive(Debug, Clone, Copy)]
pub struct Silent;

impl Progress for Silent {
    fn start(&mut self, _total: u64, _done: u64) {}
    fn advance(&mut self, _bytes: u64) {}
    fn finish(&mut self) {}
}
