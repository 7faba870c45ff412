//! One direction of a TCP connection, rebuilt from its segments by
//! sequence number.
//!
//! Segments may arrive out of order, twice (retransmissions), overlapping,
//! or not at all. The stream keeps every byte the capture saw at its place,
//! marks what it never saw as gaps, and counts what it had to reconcile.
//! Nothing is guessed: a gap stays a gap.

use super::capture::Segment;
use super::sparse::{Spare, StreamBytes};

/// A rebuilt byte stream.
#[derive(Debug, Default, Clone)]
pub(crate) struct Stream {
    /// The bytes captured, at their offsets (holes only counted).
    pub bytes: StreamBytes,
    /// When each range was first seen: `(start, end, ts_us)`, sorted.
    arrivals: Vec<(u64, u64, u64)>,
    /// Frames of segments whose bytes had all been seen already.
    pub retransmitted: Vec<u64>,
    /// Frames of segments that filled a hole behind bytes already seen.
    pub reordered: Vec<u64>,
    /// Overlapping segments that disagreed with bytes already seen.
    pub conflicts: u32,
    /// Where each segment with data sits: `(start, end, frame)`, `end`
    /// counting bytes the capture cut off; sorted by start.
    pub placed: Vec<(u64, u64, u64)>,
    /// No SYN was seen: offsets count from the first byte captured.
    pub started_mid_stream: bool,
    /// The stream was longer than the limit and was cut.
    pub capped: bool,
    /// The capture saw the connection end (a FIN or RST either way).
    pub closed: bool,
}

impl Stream {
    /// A stream of exactly `bytes`, all seen at time 0 in one segment.
    pub fn from_bytes(bytes: &[u8]) -> Self {
        Stream {
            bytes: StreamBytes::whole(bytes.to_vec()),
            arrivals: vec![(0, bytes.len() as u64, 0)],
            ..Stream::default()
        }
    }

    /// A stream of bytes decrypted from TLS records: `arrivals` says when
    /// each range's record was captured; `closed` is the TCP stream's.
    pub fn decrypted(data: Vec<u8>, arrivals: Vec<(u64, u64, u64)>, closed: bool) -> Self {
        Stream {
            bytes: StreamBytes::whole(data),
            arrivals,
            closed,
            ..Stream::default()
        }
    }

    /// The hole at or after `offset`, if any (see [`StreamBytes::next_hole`]).
    pub fn next_gap(&self, offset: u64) -> Option<(u64, u64)> {
        self.bytes.next_hole(offset)
    }

    /// Bytes from `offset` up to the next gap (or the end).
    pub fn contiguous(&self, offset: u64) -> &[u8] {
        self.bytes.from(offset)
    }

    /// Up to `len` bytes from `offset`, stopping at a gap.
    pub fn get(&self, offset: u64, len: u64) -> &[u8] {
        self.bytes.get(offset, len)
    }

    /// Bytes of `[start, end)` the capture never saw.
    pub fn missing_in(&self, start: u64, end: u64) -> u64 {
        self.bytes.missing_in(start, end)
    }

    /// When the byte at `offset` was first captured.
    pub fn time_of(&self, offset: u64) -> Option<u64> {
        let i = self
            .arrivals
            .partition_point(|&(start, _, _)| start <= offset);
        let (start, end, ts) = *self.arrivals.get(i.checked_sub(1)?)?;
        (start <= offset && offset < end).then_some(ts)
    }

    /// For each range `[start, end)` (sorted by start), the frames that
    /// carried any of its bytes, in order; an empty range counts the byte at
    /// its start. One sweep: a segment leaves the set once a range starts
    /// after its end, so the work is the size of the answer plus the
    /// segments, whatever a capture holds.
    pub fn frames_for(&self, ranges: &[(u64, u64)]) -> Vec<Vec<u64>> {
        let mut active: Vec<(u64, u64)> = Vec::new(); // (end, frame)
        let mut next = 0;
        ranges
            .iter()
            .map(|&(start, end)| {
                let end = end.max(start + 1);
                while let Some(&(s, e, frame)) = self.placed.get(next) {
                    if s >= end {
                        break;
                    }
                    active.push((e, frame));
                    next += 1;
                }
                active.retain(|&(e, _)| e > start);
                let mut frames: Vec<u64> = active.iter().map(|&(_, frame)| frame).collect();
                frames.sort_unstable();
                frames.dedup();
                frames
            })
            .collect()
    }

    /// Length including gaps.
    pub fn len(&self) -> u64 {
        self.bytes.len()
    }
}

/// Rebuilds a stream from one direction's segments, in capture order.
/// `isn` is the initial sequence number from the SYN, if one was seen.
///
/// New bytes are kept as borrowed pieces by offset until the end, then
/// copied once into runs: memory is the bytes captured (never a hole), and
/// each segment costs O(log n) whatever order segments come in.
pub(crate) fn reassemble(
    segments: &[&Segment<'_>],
    isn: Option<u32>,
    max_len: u64,
    spare: &mut Spare,
) -> Stream {
    let mut stream = Stream::default();
    let Some(base) = isn.map(|isn| isn.wrapping_add(1)).or_else(|| {
        stream.started_mid_stream = segments.iter().any(|s| !s.payload.is_empty());
        segments
            .iter()
            .find(|s| !s.payload.is_empty() || s.missing > 0)
            .map(|first| first.seq)
    }) else {
        return stream;
    };
    let mut pieces = Pieces::default();
    let mut max_end = 0u64;
    let mut len = 0u64;
    for seg in segments {
        if seg.payload.is_empty() && seg.missing == 0 {
            continue;
        }
        let Some((start, payload, end_on_wire)) = place(seg, base, max_len, &mut stream) else {
            continue;
        };
        len = len.max(end_on_wire);
        if payload.is_empty() {
            continue;
        }
        let seg_end = start + payload.len() as u64;
        if start >= max_end {
            // The usual case: bytes past everything seen, all new.
            pieces.add(start, payload, seg.ts_us, &mut stream.arrivals);
        } else {
            // It starts behind bytes already seen: it fills a hole there,
            // or it is sent again (perhaps with new bytes past the end).
            let merged = pieces.merge(start, payload, max_end, seg.ts_us, &mut stream.arrivals);
            match merged.filled {
                false => stream.retransmitted.push(seg.frame),
                true => stream.reordered.push(seg.frame),
            }
            stream.conflicts += merged.conflicts;
        }
        max_end = max_end.max(seg_end);
    }
    stream.arrivals.sort_unstable();
    stream.placed.sort_unstable();
    stream.bytes = pieces.into_bytes(len, spare);
    stream
}

/// Where a segment's bytes go: `(start, payload kept, end on the wire)`,
/// its place recorded in `stream.placed` (and `capped` set when it runs
/// past `max_len`); `None` for bytes wholly before the stream's start.
fn place<'a>(
    seg: &Segment<'a>,
    base: u32,
    max_len: u64,
    stream: &mut Stream,
) -> Option<(u64, &'a [u8], u64)> {
    // Data at seq+1.. when a SYN carries data (rare) still counts from base.
    let first = seg.seq.wrapping_add(u32::from(seg.syn));
    let rel = first.wrapping_sub(base) as i32;
    let (start, mut payload) = if rel < 0 {
        // Bytes before the start of the stream: keep only the part after it.
        let skip = rel.unsigned_abs() as usize;
        if skip >= seg.payload.len() {
            return None;
        }
        (0u64, &seg.payload[skip..])
    } else {
        (rel as u64, seg.payload)
    };
    let mut end_on_wire = start + payload.len() as u64 + seg.missing;
    if start < max_len {
        stream
            .placed
            .push((start, end_on_wire.min(max_len), seg.frame));
    }
    if end_on_wire > max_len {
        stream.capped = true;
        end_on_wire = max_len;
        let keep = max_len.saturating_sub(start).min(payload.len() as u64) as usize;
        payload = &payload[..keep];
    }
    Some((start, payload, end_on_wire))
}

/// What merging a segment found.
struct Merged {
    /// Some of its bytes filled a hole behind bytes already seen.
    filled: bool,
    /// Runs of its bytes that disagreed with bytes seen before.
    conflicts: u32,
}

/// The new bytes of each segment by stream offset, borrowed from the
/// capture, and the ranges they cover.
#[derive(Default)]
struct Pieces<'a> {
    by_start: std::collections::BTreeMap<u64, &'a [u8]>,
    covered: Ranges,
}

impl<'a> Pieces<'a> {
    /// Adds bytes never seen before at `start`.
    fn add(&mut self, start: u64, bytes: &'a [u8], ts: u64, arrivals: &mut Vec<(u64, u64, u64)>) {
        let end = start + bytes.len() as u64;
        self.by_start.insert(start, bytes);
        self.covered.insert(start, end);
        arrivals.push((start, end, ts));
    }

    /// Adds the parts of `payload` at `start` not seen before, comparing
    /// the others with what was seen; `seen_end` is where the bytes seen
    /// so far end (new bytes before it fill a hole).
    fn merge(
        &mut self,
        start: u64,
        payload: &'a [u8],
        seen_end: u64,
        ts: u64,
        arrivals: &mut Vec<(u64, u64, u64)>,
    ) -> Merged {
        let seg_end = start + payload.len() as u64;
        let part = |from: u64, to: u64| &payload[(from - start) as usize..(to - start) as usize];
        let mut merged = Merged {
            filled: false,
            conflicts: 0,
        };
        let mut at = start;
        while at < seg_end {
            // The covered range containing `at`, or the next one after it.
            match self.covered.at_or_after(at) {
                Some((s, e)) if s <= at => {
                    let upto = e.min(seg_end);
                    if !self.same(at, part(at, upto)) {
                        merged.conflicts += 1;
                    }
                    at = upto;
                }
                next => {
                    let upto = next.map_or(seg_end, |(s, _)| s.min(seg_end));
                    self.add(at, part(at, upto), ts, arrivals);
                    merged.filled |= at < seen_end;
                    at = upto;
                }
            }
        }
        merged
    }

    /// Whether `bytes`, all seen before at `at`, match what was seen.
    fn same(&self, at: u64, bytes: &[u8]) -> bool {
        let end = at + bytes.len() as u64;
        let first = self
            .by_start
            .range(..=at)
            .next_back()
            .map_or(at, |(s, _)| *s);
        self.by_start.range(first..end).all(|(&s, seen)| {
            let from = s.max(at);
            let to = (s + seen.len() as u64).min(end);
            from >= to
                || seen[(from - s) as usize..(to - s) as usize]
                    == bytes[(from - at) as usize..(to - at) as usize]
        })
    }

    /// The pieces copied once into runs, in a stream `len` long.
    fn into_bytes(self, len: u64, spare: &mut Spare) -> StreamBytes {
        let runs = self
            .covered
            .0
            .iter()
            .map(|(&s, &e)| {
                let mut run = spare.take((e - s) as usize);
                for piece in self.by_start.range(s..e).map(|(_, b)| b) {
                    run.extend_from_slice(piece);
                }
                (s, run)
            })
            .collect();
        StreamBytes::from_runs(runs, len)
    }
}

/// Disjoint byte ranges `[start, end)` by start, touching ones merged:
/// finding and adding one costs O(log n), so segments in any order cost
/// O(n log n) in all.
#[derive(Debug, Default)]
struct Ranges(std::collections::BTreeMap<u64, u64>);

impl Ranges {
    /// The range holding `at`, or else the first one after it.
    fn at_or_after(&self, at: u64) -> Option<(u64, u64)> {
        let holding = self.0.range(..=at).next_back().filter(|(_, e)| **e > at);
        holding
            .or_else(|| self.0.range(at..).next())
            .map(|(s, e)| (*s, *e))
    }

    /// Adds `[start, end)`, merged with the ranges it touches.
    fn insert(&mut self, start: u64, end: u64) {
        let (mut s, mut e) = (start, end);
        if let Some((&ps, &pe)) = self.0.range(..=start).next_back()
            && pe >= start
        {
            s = ps;
            e = e.max(pe);
        }
        let touched: Vec<u64> = self.0.range(s..=e).map(|(k, _)| *k).collect();
        for k in touched {
            if let Some(ke) = self.0.remove(&k) {
                e = e.max(ke);
            }
        }
        self.0.insert(s, e);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segment(seq: u32, payload: &[u8], frame: u64) -> Segment<'_> {
        let addr = "10.0.0.1:1".parse().unwrap();
        Segment {
            frame,
            ts_us: frame,
            src: addr,
            dst: addr,
            seq,
            ack_no: 0,
            window: 65535,
            syn: false,
            ack: true,
            rst: false,
            fin: false,
            psh: false,
            payload,
            missing: 0,
        }
    }

    #[test]
    fn holes_in_reverse_order_are_all_kept_as_gaps() {
        // One byte at every even offset, last first: every one fills a
        // hole behind bytes already seen, none touches another.
        const N: u32 = 100_000;
        let byte = [7u8];
        let segments: Vec<Segment<'_>> = (0..N)
            .rev()
            .map(|i| segment(1 + 2 * i, &byte, u64::from(N - i)))
            .collect();
        let refs: Vec<&Segment<'_>> = segments.iter().collect();
        let stream = reassemble(&refs, Some(0), u64::MAX, &mut Spare::default());
        assert_eq!(stream.len(), u64::from(2 * N - 1));
        let holes: Vec<(u64, u64)> = stream.bytes.holes().collect();
        assert_eq!(holes.len(), (N - 1) as usize);
        assert_eq!(holes[0], (1, 2));
        assert_eq!(stream.bytes.captured(), u64::from(N));
        assert_eq!(stream.reordered.len(), (N - 1) as usize);
        assert!(stream.retransmitted.is_empty());
    }

    #[test]
    fn ranges_merge_what_they_touch() {
        let mut r = Ranges::default();
        for (s, e) in [(10, 20), (30, 40), (0, 5), (20, 30), (5, 6)] {
            r.insert(s, e);
        }
        let all: Vec<_> = r.0.iter().map(|(s, e)| (*s, *e)).collect();
        assert_eq!(all, [(0, 6), (10, 40)]);
        assert_eq!(r.at_or_after(12), Some((10, 40)));
        assert_eq!(r.at_or_after(7), Some((10, 40)));
        assert_eq!(r.at_or_after(40), None);
    }
}
