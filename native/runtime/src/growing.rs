//! A file another task is still writing: readers send what is written with
//! `sendfile` and wait, without polling, for the rest.
//!
//! The cache's fills use it: every client of one fill, the first and the
//! joiners alike, reads the same file as the origin's bytes land in it, and
//! is woken as each write lands. If the writer gives up, waiting readers
//! learn it at once and end their transfer short.

use std::fs::File;
use std::sync::Mutex;

use event_listener::Event;

/// A file being written, `size` bytes when whole.
#[derive(Debug)]
pub struct Growing {
    /// A descriptor of the file, for readers.
    pub file: File,
    /// Its size when whole.
    pub size: u64,
    state: Mutex<State>,
    changed: Event,
}

#[derive(Debug, Clone)]
struct State {
    written: u64,
    /// Why the writer gave up, if it did.
    cut: Option<String>,
}

impl Growing {
    /// A file of `size` bytes whose first `written` are already there.
    pub fn new(file: File, size: u64, written: u64) -> Growing {
        Growing {
            file,
            size,
            state: Mutex::new(State { written, cut: None }),
            changed: Event::new(),
        }
    }

    /// The writer has written `written` bytes in all.
    pub fn advance(&self, written: u64) {
        self.lock().written = written;
        self.changed.notify(usize::MAX);
    }

    /// The writer gave up, for the reason given: no more bytes will come.
    pub fn cut(&self, why: &str) {
        self.lock().cut.get_or_insert_with(|| why.to_owned());
        self.changed.notify(usize::MAX);
    }

    /// Why the writer gave up (empty if it did not).
    pub fn cut_reason(&self) -> String {
        self.lock().cut.clone().unwrap_or_default()
    }

    /// Whether the writer is done: every byte is written, or it gave up.
    pub fn settled(&self) -> bool {
        let state = self.lock();
        state.cut.is_some() || state.written >= self.size
    }

    /// Waits until more than `at` bytes are written (or all of them are)
    /// and returns how many; `None` if the writer gave up first.
    pub async fn past(&self, at: u64) -> Option<u64> {
        loop {
            let listener = {
                let state = self.lock();
                if state.written > at || state.written >= self.size {
                    return Some(state.written);
                }
                if state.cut.is_some() {
                    return None;
                }
                // Listening while the lock is held: a writer updates under
                // the lock and then notifies, so no write is missed.
                let listener = self.changed.listen();
                drop(state);
                listener
            };
            listener.await;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader following a writer that never pauses sees every write,
    /// the last one included: no wakeup is lost between its check and its
    /// wait.
    #[test]
    fn a_reader_never_misses_the_last_write() {
        let file = || File::open("/dev/null").unwrap();
        for _ in 0..2000 {
            let growing = std::sync::Arc::new(Growing::new(file(), 64, 0));
            let writer = {
                let growing = growing.clone();
                std::thread::spawn(move || (1..=64).for_each(|n| growing.advance(n)))
            };
            let read = smol::block_on(futures_lite::future::or(
                async {
                    let mut at = 0;
                    while at < 64 {
                        at = growing.past(at).await.expect("never cut");
                    }
                    Some(at)
                },
                async {
                    async_io::Timer::after(std::time::Duration::from_secs(10)).await;
                    None
                },
            ));
            writer.join().unwrap();
            assert_eq!(read, Some(64), "the reader stalled");
        }
    }

    #[test]
    fn a_cut_wakes_waiting_readers_with_nothing() {
        let growing = std::sync::Arc::new(Growing::new(File::open("/dev/null").unwrap(), 10, 3));
        assert_eq!(smol::block_on(growing.past(0)), Some(3));
        let cutter = {
            let growing = growing.clone();
            std::thread::spawn(move || {
                std::thread::sleep(std::time::Duration::from_millis(20));
                growing.cut("gave up");
            })
        };
        assert_eq!(smol::block_on(growing.past(3)), None);
        cutter.join().unwrap();
        assert!(growing.settled());
    }
}
