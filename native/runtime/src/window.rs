//! A body passed on through a bounded window of memory: one writer (the
//! origin's bytes of a file the cache will not keep, or a client's upload
//! on its way to the origin) and any number of readers, each at its own
//! position.
//!
//! The window holds the bytes between its slowest and its fastest reader,
//! and the writer runs at most `capacity` bytes ahead of the fastest: the
//! source is read no faster than someone takes its bytes. A reader that
//! falls `capacity` behind the writer (and is not the fastest) is detached:
//! it gets the MD5 of a checkpoint at or before its position, so it can go
//! on from its own fetch of the source ([`Refetch`]) instead of holding
//! everyone's bytes. When every reader has left, the writer learns it and
//! stops. Memory stays within `capacity` plus one write.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex};

use event_listener::Event;
use md5::{Digest, Md5};

use crate::stream::Stream;

/// Distance between the MD5 checkpoints a detached reader resumes from.
pub const CHECKPOINT: u64 = 1 << 20;

/// Where a detached reader goes on: a fetch of the same source of its own.
pub trait Refetch: fmt::Debug + Send + Sync {
    /// The source's bytes from `to` to its end, fetched from the checkpoint
    /// `from` (whose first `from` bytes have the MD5 `md5`), the bytes
    /// between them skipped. Blocks: run it on the blocking pool.
    fn resume(&self, from: u64, md5: [u8; 16], to: u64) -> std::io::Result<Stream>;
}

/// A body passed on through a window.
pub struct Window {
    /// Its size when whole.
    pub size: u64,
    capacity: u64,
    /// Where detached readers go on (and, if any, checkpoints are kept).
    refetch: Option<Box<dyn Refetch>>,
    /// What the window holds while it lives (its share of a budget).
    _holding: Option<Box<dyn fmt::Debug + Send + Sync>>,
    state: Mutex<State>,
    changed: Event,
}

impl fmt::Debug for Window {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Window")
            .field("size", &self.size)
            .field("capacity", &self.capacity)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Default)]
struct State {
    /// Offset of the first byte held.
    base: u64,
    held: VecDeque<u8>,
    readers: HashMap<u64, Place>,
    next_reader: u64,
    /// Whether a reader ever came (the writer waits for the first).
    joined: bool,
    /// Why the writer gave up, if it did.
    cut: Option<String>,
    /// MD5 of everything written so far, when checkpoints are kept.
    hasher: Option<Md5>,
    /// MD5s of the first `n` bytes, for `n` a multiple of [`CHECKPOINT`].
    checkpoints: VecDeque<(u64, [u8; 16])>,
}

#[derive(Debug, Clone, Copy)]
struct Place {
    at: u64,
    /// Detached: go on from this checkpoint.
    detached: Option<(u64, [u8; 16])>,
}

impl State {
    fn written(&self) -> u64 {
        self.base + self.held.len() as u64
    }

    fn attached(&self) -> impl Iterator<Item = u64> + '_ {
        self.readers
            .values()
            .filter(|p| p.detached.is_none())
            .map(|p| p.at)
    }
}

/// What a reader got.
#[derive(Debug, PartialEq, Eq)]
pub enum Read {
    /// This many bytes, copied into the buffer.
    Bytes(usize),
    /// The reader fell too far behind: go on with [`Window::refetch`] from
    /// this checkpoint and its MD5, skipping up to the reader's position.
    Detached {
        /// The checkpoint.
        from: u64,
        /// The MD5 of the bytes before it.
        md5: [u8; 16],
    },
    /// The writer gave up, for this reason.
    Cut(String),
}

/// Whether the writer may write more.
#[derive(Debug, PartialEq, Eq)]
pub enum Room {
    /// Yes.
    Free,
    /// Every reader left: stop.
    Abandoned,
}

impl Window {
    /// A window of `capacity` bytes over a body of `size`; with `refetch`,
    /// readers that fall behind are detached to it (and MD5 checkpoints
    /// are kept for them), else the slowest reader holds the window.
    pub fn new(size: u64, capacity: u64, refetch: Option<Box<dyn Refetch>>) -> Window {
        let state = State {
            hasher: refetch.as_ref().map(|_| Md5::new()),
            checkpoints: VecDeque::from([(0, ferry_core::EMPTY_MD5)]),
            ..State::default()
        };
        Window {
            size,
            capacity: capacity.max(1),
            refetch,
            _holding: None,
            state: Mutex::new(state),
            changed: Event::new(),
        }
    }

    /// The window, holding `what` (its share of a budget) until the last
    /// reader is done with it.
    pub fn holding(mut self, what: Box<dyn fmt::Debug + Send + Sync>) -> Window {
        self._holding = Some(what);
        self
    }

    /// A new reader, at the start.
    pub fn reader(self: &Arc<Self>) -> WindowReader {
        let mut state = self.lock();
        let id = state.next_reader;
        state.next_reader += 1;
        // Joining late (the start is gone, or every reader left and the
        // writer stops): it goes on on its own.
        let deserted = state.joined && state.attached().next().is_none();
        let late = state.base > 0 || deserted || state.cut.is_some();
        let detached = (late && self.refetch.is_some()).then(|| state.checkpoints_at(0));
        state.joined = true;
        state.readers.insert(id, Place { at: 0, detached });
        drop(state);
        self.changed.notify(usize::MAX);
        WindowReader {
            window: self.clone(),
            id,
        }
    }

    /// Where detached readers go on.
    pub fn refetch(&self) -> Option<&dyn Refetch> {
        self.refetch.as_deref()
    }

    /// Waits until the writer may write: the fastest reader is less than
    /// the capacity behind it (or, before any reader came, the window has
    /// room), or every reader has left.
    pub async fn room(&self) -> Room {
        loop {
            let listener = {
                let state = self.lock();
                let written = state.written();
                match state.attached().max() {
                    None if state.joined => return Room::Abandoned,
                    None if (state.held.len() as u64) < self.capacity => return Room::Free,
                    Some(fastest) if written - fastest < self.capacity => return Room::Free,
                    _ => {}
                }
                let listener = self.changed.listen();
                drop(state);
                listener
            };
            listener.await;
        }
    }

    /// Appends bytes; readers too far behind are detached, and bytes no
    /// reader needs any more are dropped.
    pub fn write(&self, mut data: &[u8]) {
        let mut state = self.lock();
        while !data.is_empty() {
            // Hashed in pieces that end on checkpoints.
            let written = state.written();
            let to_checkpoint = CHECKPOINT - written % CHECKPOINT;
            let n = (data.len() as u64).min(to_checkpoint) as usize;
            let (piece, rest) = data.split_at(n);
            state.held.extend(piece);
            if let Some(hasher) = state.hasher.as_mut() {
                hasher.update(piece);
                if (written + n as u64).is_multiple_of(CHECKPOINT) {
                    let md5 = hasher.clone().finalize().into();
                    state.checkpoints.push_back((written + n as u64, md5));
                }
            }
            data = rest;
        }
        self.settle(&mut state);
        drop(state);
        self.changed.notify(usize::MAX);
    }

    /// The writer gave up: no more bytes will come.
    pub fn cut(&self, why: &str) {
        let mut state = self.lock();
        if state.cut.is_none() && state.written() < self.size {
            state.cut = Some(why.to_owned());
        }
        drop(state);
        self.changed.notify(usize::MAX);
    }

    /// Bytes written so far.
    pub fn written(&self) -> u64 {
        self.lock().written()
    }

    /// Detaches readers too far behind (when they can go on elsewhere) and
    /// drops what no attached reader needs.
    fn settle(&self, state: &mut State) {
        let written = state.written();
        if self.refetch.is_some() {
            let fastest = state.attached().max().unwrap_or(written);
            let behind: Vec<u64> = state
                .readers
                .iter()
                .filter(|(_, p)| {
                    p.detached.is_none() && p.at < fastest && written - p.at > self.capacity
                })
                .map(|(id, _)| *id)
                .collect();
            for id in behind {
                let at = state.readers[&id].at;
                let checkpoint = state.checkpoints_at(at);
                if let Some(place) = state.readers.get_mut(&id) {
                    place.detached = Some(checkpoint);
                }
            }
        }
        // Before the first reader comes, everything is kept for it; after,
        // the last window's worth too, for readers that join late.
        let keep_from = match state.attached().min() {
            Some(slowest) => slowest.min(written.saturating_sub(self.capacity)),
            None if state.joined => written,
            None => state.base,
        }
        .max(state.base);
        if keep_from > state.base {
            let drop_n = (keep_from - state.base).min(state.held.len() as u64) as usize;
            state.held.drain(..drop_n);
            state.base += drop_n as u64;
        }
        // Checkpoints are kept back to the one before the slowest reader.
        let oldest = keep_from - keep_from % CHECKPOINT;
        while state.checkpoints.len() > 1 && state.checkpoints[1].0 <= oldest {
            state.checkpoints.pop_front();
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl State {
    /// The last checkpoint at or before `at`, and its MD5.
    fn checkpoints_at(&self, at: u64) -> (u64, [u8; 16]) {
        self.checkpoints
            .iter()
            .rev()
            .find(|(n, _)| *n <= at)
            .copied()
            .unwrap_or((0, ferry_core::EMPTY_MD5))
    }
}

/// One reader of a window; it leaves when dropped.
#[derive(Debug)]
pub struct WindowReader {
    window: Arc<Window>,
    id: u64,
}

impl WindowReader {
    /// The window read.
    pub fn window(&self) -> &Arc<Window> {
        &self.window
    }

    /// Waits for bytes at `at` (the reader's position: everything before
    /// it has been taken) and copies up to `buf.len()` of them.
    pub async fn read(&self, at: u64, buf: &mut [u8]) -> Read {
        let window = &self.window;
        loop {
            let listener = {
                let mut state = window.lock();
                let Some(place) = state.readers.get_mut(&self.id) else {
                    return Read::Cut("left the window".into());
                };
                if let Some((from, md5)) = place.detached {
                    return Read::Detached { from, md5 };
                }
                let moved = place.at != at;
                place.at = at;
                let written = state.written();
                if at < written && at >= state.base {
                    let start = (at - state.base) as usize;
                    let n = buf.len().min(state.held.len() - start);
                    let (a, b) = state.held.as_slices();
                    copy_from(a, b, start, &mut buf[..n]);
                    drop(state);
                    if moved {
                        window.changed.notify(usize::MAX);
                    }
                    return Read::Bytes(n);
                }
                if let Some(why) = &state.cut {
                    return Read::Cut(why.clone());
                }
                // Taking the last byte may free room for the writer.
                if moved {
                    window.settle(&mut state);
                    window.changed.notify(usize::MAX);
                }
                let listener = window.changed.listen();
                drop(state);
                listener
            };
            listener.await;
        }
    }
}

impl Drop for WindowReader {
    fn drop(&mut self) {
        let mut state = self.window.lock();
        state.readers.remove(&self.id);
        self.window.settle(&mut state);
        drop(state);
        self.window.changed.notify(usize::MAX);
    }
}

/// Copies bytes `start..start + out.len()` of the two slices `a` then `b`.
fn copy_from(a: &[u8], b: &[u8], start: usize, out: &mut [u8]) {
    let n = out.len();
    if start < a.len() {
        let first = n.min(a.len() - start);
        out[..first].copy_from_slice(&a[start..start + first]);
        out[first..].copy_from_slice(&b[..n - first]);
    } else {
        let from = start - a.len();
        out.copy_from_slice(&b[from..from + n]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Nowhere;

    impl Refetch for Nowhere {
        fn resume(&self, _: u64, _: [u8; 16], _: u64) -> std::io::Result<Stream> {
            Err(std::io::ErrorKind::Unsupported.into())
        }
    }

    fn bytes(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 7 % 251) as u8).collect()
    }

    fn read(reader: &WindowReader, at: u64, max: usize) -> (Read, Vec<u8>) {
        let mut buf = vec![0; max];
        let got = smol::block_on(reader.read(at, &mut buf));
        if let Read::Bytes(n) = got {
            buf.truncate(n);
        } else {
            buf.clear();
        }
        (got, buf)
    }

    #[test]
    fn the_writer_waits_for_the_fastest_reader_and_memory_stays_bounded() {
        let data = bytes(100_000);
        let window = Arc::new(Window::new(data.len() as u64, 10_000, None));
        let reader = window.reader();
        let mut at = 0u64;
        let mut written = 0;
        let mut got = Vec::new();
        while got.len() < data.len() {
            // The writer writes while it has room.
            while written < data.len()
                && smol::block_on(futures_lite::future::poll_once(window.room()))
                    == Some(Room::Free)
            {
                let n = 3_000.min(data.len() - written);
                window.write(&data[written..written + n]);
                written += n;
                let held = window.lock().held.len();
                assert!(held <= 10_000 + 3_000, "held {held}");
            }
            let (r, bytes) = read(&reader, at, 4_000);
            assert!(matches!(r, Read::Bytes(_)), "{r:?}");
            at += bytes.len() as u64;
            got.extend(bytes);
        }
        assert!(got == data, "byte-exact");
        drop(reader);
        assert_eq!(smol::block_on(window.room()), Room::Abandoned);
    }

    #[test]
    fn a_slow_reader_is_detached_at_a_checkpoint_with_its_md5() {
        let data = bytes(5 * CHECKPOINT as usize);
        let window = Arc::new(Window::new(
            data.len() as u64,
            CHECKPOINT + 100,
            Some(Box::new(Nowhere)),
        ));
        let fast = window.reader();
        let slow = window.reader();
        // Both take 1.5 checkpoints; then the slow reader stops.
        let (mut slow_at, mut fast_at) = (0, 0);
        for chunk in data[..(3 * CHECKPOINT as usize / 2)].chunks(50_000) {
            window.write(chunk);
            slow_at += read(&slow, slow_at, 1 << 21).1.len() as u64;
            fast_at += read(&fast, fast_at, 1 << 21).1.len() as u64;
        }
        assert_eq!(slow_at, 3 * CHECKPOINT / 2);
        let mut written = 3 * CHECKPOINT as usize / 2;
        while fast_at < data.len() as u64 {
            if written < data.len() {
                let n = 50_000.min(data.len() - written);
                window.write(&data[written..written + n]);
                written += n;
            }
            assert!(window.lock().held.len() as u64 <= CHECKPOINT + 100 + 50_000);
            let (r, got) = read(&fast, fast_at, 1 << 21);
            assert!(
                matches!(r, Read::Bytes(_)),
                "the fastest reader is never detached"
            );
            assert!(got[..] == data[fast_at as usize..fast_at as usize + got.len()]);
            fast_at += got.len() as u64;
        }
        let md5: [u8; 16] = Md5::digest(&data[..CHECKPOINT as usize]).into();
        assert_eq!(
            read(&slow, slow_at, 10).0,
            Read::Detached {
                from: CHECKPOINT,
                md5
            }
        );
    }

    #[test]
    fn a_late_reader_is_detached_from_the_start_and_a_cut_reaches_readers() {
        let window = Arc::new(Window::new(10, 4, Some(Box::new(Nowhere))));
        let first = window.reader();
        window.write(b"abcd");
        assert_eq!(read(&first, 0, 2), (Read::Bytes(2), b"ab".to_vec()));
        assert_eq!(read(&first, 2, 9), (Read::Bytes(2), b"cd".to_vec()));
        // Waiting at 4 drops what was read.
        assert!(
            smol::block_on(futures_lite::future::poll_once(first.read(4, &mut [0; 4]))).is_none()
        );
        // A reader joining within the last window's worth still attaches.
        let near = window.reader();
        assert_eq!(read(&near, 0, 4), (Read::Bytes(4), b"abcd".to_vec()));
        drop(near);
        window.write(b"efgh");
        assert_eq!(read(&first, 4, 9), (Read::Bytes(4), b"efgh".to_vec()));
        assert!(
            smol::block_on(futures_lite::future::poll_once(first.read(8, &mut [0; 4]))).is_none()
        );
        let late = window.reader();
        assert_eq!(
            read(&late, 0, 4).0,
            Read::Detached {
                from: 0,
                md5: ferry_core::EMPTY_MD5
            }
        );
        window.cut("the origin connection was lost after 4 of 10 bytes");
        assert_eq!(
            read(&first, 8, 4).0,
            Read::Cut("the origin connection was lost after 4 of 10 bytes".into())
        );
    }
}
