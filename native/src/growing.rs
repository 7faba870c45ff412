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

#[derive(Debug, Clone, Copy)]
struct State {
    written: u64,
    cut: bool,
}

impl Growing {
    /// A file of `size` bytes whose first `written` are already there.
    pub fn new(file: File, size: u64, written: u64) -> Growing {
        Growing {
            file,
            size,
            state: Mutex::new(State {
                written,
                cut: false,
            }),
            changed: Event::new(),
        }
    }

    /// The writer has written `written` bytes in all.
    pub fn advance(&self, written: u64) {
        self.lock().written = written;
        self.changed.notify(usize::MAX);
    }

    /// The writer gave up: no more bytes will come.
    pub fn cut(&self) {
        self.lock().cut = true;
        self.changed.notify(usize::MAX);
    }

    /// Whether the writer is done: every byte is written, or it gave up.
    pub fn settled(&self) -> bool {
        let state = self.lock();
        state.cut || state.written >= self.size
    }

    /// Waits until more than `at` bytes are written (or all of them are)
    /// and returns how many; `None` if the writer gave up first.
    pub async fn past(&self, at: u64) -> Option<u64> {
        loop {
            let listener = {
                let state = *self.lock();
                if state.written > at || state.written >= self.size {
                    return Some(state.written);
                }
                if state.cut {
                    return None;
                }
                // Listening before the lock is released: no write is missed.
                self.changed.listen()
            };
            listener.await;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}
