//! The bytes of one rebuilt stream as the capture holds them: runs of
//! captured bytes at their offsets. A hole (a lost packet, the snap length,
//! a sequence number far ahead) is only a number, never bytes in memory, so
//! a stream costs what the capture carried, whatever its headers claim.

/// A stream's bytes at offsets `[0, len)`, only the captured ones held.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct StreamBytes {
    /// `(start, bytes)`: sorted by start, disjoint, never touching.
    runs: Vec<(u64, Vec<u8>)>,
    /// The stream's length, holes included.
    len: u64,
}

impl StreamBytes {
    /// Every byte of `bytes`, from offset 0, no hole.
    pub fn whole(bytes: Vec<u8>) -> Self {
        let len = bytes.len() as u64;
        let runs = if bytes.is_empty() {
            Vec::new()
        } else {
            vec![(0, bytes)]
        };
        StreamBytes { runs, len }
    }

    /// Runs `(start, bytes)` (sorted, disjoint, not touching, none empty)
    /// in a stream `len` long.
    pub(crate) fn from_runs(runs: Vec<(u64, Vec<u8>)>, len: u64) -> Self {
        debug_assert!(
            runs.windows(2)
                .all(|w| w[0].0 + (w[0].1.len() as u64) < w[1].0)
        );
        debug_assert!(
            runs.iter()
                .all(|(s, b)| !b.is_empty() && s + b.len() as u64 <= len)
        );
        StreamBytes { runs, len }
    }

    /// The stream's length, holes included.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the stream has no byte at all, captured or not.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// How many bytes the capture holds (the stream's length less its
    /// holes): what this costs in memory.
    pub fn captured(&self) -> u64 {
        self.runs.iter().map(|(_, b)| b.len() as u64).sum()
    }

    /// Up to `len` bytes from `offset`, stopping at the first hole or at
    /// the end: empty when `offset` is in a hole or past the end.
    pub fn get(&self, offset: u64, len: u64) -> &[u8] {
        let Some((start, bytes)) = self.run_at(offset) else {
            return &[];
        };
        let from = (offset - start) as usize;
        let upto = from.saturating_add(usize::try_from(len).unwrap_or(usize::MAX));
        &bytes[from..upto.min(bytes.len())]
    }

    /// Bytes from `offset` up to the next hole or the end.
    pub fn from(&self, offset: u64) -> &[u8] {
        self.get(offset, u64::MAX)
    }

    /// The hole holding `offset` (from `offset` to its end) or else the
    /// first one after it, as `[start, end)`; `None` when every byte from
    /// `offset` on was captured.
    pub fn next_hole(&self, offset: u64) -> Option<(u64, u64)> {
        if offset >= self.len {
            return None;
        }
        // The first run starting after `offset`.
        let i = self.runs.partition_point(|(s, _)| *s <= offset);
        let start = match i.checked_sub(1).map(|k| &self.runs[k]) {
            Some((s, b)) if offset < s + b.len() as u64 => s + b.len() as u64,
            _ => offset,
        };
        // The run holding `offset` ends at `start`; the hole runs from
        // there to the next run (or the end).
        let end = self.runs.get(i).map_or(self.len, |(s, _)| *s);
        (start < end).then_some((start, end))
    }

    /// Bytes of `[start, end)` the capture does not hold.
    pub fn missing_in(&self, start: u64, end: u64) -> u64 {
        let end = end.min(self.len);
        if start >= end {
            return 0;
        }
        let first = self
            .runs
            .partition_point(|(s, b)| s + b.len() as u64 <= start);
        let held: u64 = self.runs[first..]
            .iter()
            .take_while(|(s, _)| *s < end)
            .map(|(s, b)| (s + b.len() as u64).min(end) - (*s).max(start))
            .sum();
        end - start - held
    }

    /// The holes, `[start, end)` in order.
    pub fn holes(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        let mut at = 0;
        self.runs
            .iter()
            .map(|(s, b)| (*s, s + b.len() as u64))
            .chain(core::iter::once((self.len, self.len)))
            .filter_map(move |(s, e)| {
                let hole = (at < s).then_some((at, s));
                at = e;
                hole
            })
    }

    /// The run holding `offset`.
    fn run_at(&self, offset: u64) -> Option<(u64, &[u8])> {
        let i = self.runs.partition_point(|(s, _)| *s <= offset);
        let (start, bytes) = self.runs.get(i.checked_sub(1)?)?;
        (offset < start + bytes.len() as u64).then_some((*start, bytes.as_slice()))
    }
}

/// Buffers of streams already decoded, kept to hold the next ones: the
/// connections of a capture reuse memory instead of asking the system for
/// fresh pages each time (a tenth of the decoder's time on a 100 MB
/// capture went to the kernel filling new pages).
#[derive(Debug, Default)]
pub(crate) struct Spare {
    buffers: Vec<Vec<u8>>,
    /// Whether buffers are kept at all (not while streams are kept for a
    /// viewer: its budget counts bytes held, not room).
    keeping: bool,
}

/// Buffers kept at most.
const SPARE_KEPT: usize = 4;

impl Spare {
    /// Spare buffers kept (`keeping`) or not.
    pub(crate) fn new(keeping: bool) -> Self {
        Spare {
            buffers: Vec::new(),
            keeping,
        }
    }

    /// An empty buffer with room for `len` bytes: the smallest kept one
    /// with that room, else the roomiest (grown), else a new one.
    pub(crate) fn take(&mut self, len: usize) -> Vec<u8> {
        let room = |i: &usize| self.buffers[*i].capacity();
        let fits = (0..self.buffers.len())
            .filter(|i| room(i) >= len)
            .min_by_key(room);
        let pick = fits.or_else(|| (0..self.buffers.len()).max_by_key(room));
        let mut buffer = pick.map_or_else(Vec::new, |i| self.buffers.swap_remove(i));
        buffer.clear();
        buffer.reserve(len);
        buffer
    }

    /// Keeps the buffers of `bytes` for the next stream (the roomiest few),
    /// when keeping.
    pub(crate) fn keep(&mut self, bytes: StreamBytes) {
        if !self.keeping {
            return;
        }
        self.buffers
            .extend(bytes.runs.into_iter().map(|(_, run)| run));
        self.buffers
            .sort_by_key(|b| std::cmp::Reverse(b.capacity()));
        self.buffers.truncate(SPARE_KEPT);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> StreamBytes {
        // [0,3) held, [3,10) hole, [10,12) held, [12,20) hole.
        StreamBytes::from_runs(vec![(0, b"abc".to_vec()), (10, b"xy".to_vec())], 20)
    }

    #[test]
    fn reads_stop_at_holes() {
        let s = sample();
        assert_eq!(s.from(0), b"abc");
        assert_eq!(s.get(1, 1), b"b");
        assert_eq!(s.from(3), b"");
        assert_eq!(s.from(11), b"y");
        assert_eq!(s.from(12), b"");
        assert_eq!(s.from(500), b"");
        assert_eq!(s.captured(), 5);
    }

    #[test]
    fn holes_are_found_from_anywhere() {
        let s = sample();
        assert_eq!(s.next_hole(0), Some((3, 10)));
        assert_eq!(s.next_hole(5), Some((5, 10)));
        assert_eq!(s.next_hole(10), Some((12, 20)));
        assert_eq!(s.next_hole(20), None);
        assert_eq!(s.holes().collect::<Vec<_>>(), [(3, 10), (12, 20)]);
        assert_eq!(s.missing_in(0, 20), 15);
        assert_eq!(s.missing_in(2, 11), 7);
        assert_eq!(s.missing_in(10, 12), 0);
        assert_eq!(s.missing_in(15, 99), 5);
        let whole = StreamBytes::whole(b"abc".to_vec());
        assert_eq!(whole.next_hole(0), None);
        assert_eq!(whole.holes().count(), 0);
        let late = StreamBytes::from_runs(vec![(4, b"z".to_vec())], 5);
        assert_eq!(late.holes().collect::<Vec<_>>(), [(0, 4)]);
        assert_eq!(late.next_hole(0), Some((0, 4)));
    }
}
