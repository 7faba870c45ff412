//! One direction of a TCP connection, rebuilt from its segments by
//! sequence number.
//!
//! Segments may arrive out of order, twice (retransmissions), overlapping,
//! or not at all. The stream keeps every byte the capture saw at its place,
//! marks what it never saw as gaps, and counts what it had to reconcile.
//! Nothing is guessed: a gap stays a gap.

use super::capture::Segment;

/// A rebuilt byte stream.
#[derive(Debug, Default, Clone)]
pub(crate) struct Stream {
    /// Bytes by stream offset (gaps hold zeros; see `gaps`).
    pub data: Vec<u8>,
    /// Ranges `[start, end)` the capture never saw.
    pub gaps: Vec<(u64, u64)>,
    /// When each range was first seen: `(start, end, ts_us)`, sorted.
    arrivals: Vec<(u64, u64, u64)>,
    /// Segments whose bytes had all been seen already.
    pub retransmissions: u32,
    /// Segments that filled a hole behind bytes already seen.
    pub out_of_order: u32,
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
            data: bytes.to_vec(),
            arrivals: vec![(0, bytes.len() as u64, 0)],
            ..Stream::default()
        }
    }

    /// A stream of bytes decrypted from TLS records: `arrivals` says when
    /// each range's record was captured; `closed` is the TCP stream's.
    pub fn decrypted(data: Vec<u8>, arrivals: Vec<(u64, u64, u64)>, closed: bool) -> Self {
        Stream {
            data,
            arrivals,
            closed,
            ..Stream::default()
        }
    }

    /// The first gap at or after `offset`, if any.
    pub fn next_gap(&self, offset: u64) -> Option<(u64, u64)> {
        self.gaps.iter().copied().find(|&(_, end)| end > offset)
    }

    /// Bytes from `offset` up to the next gap (or the end).
    pub fn contiguous(&self, offset: u64) -> &[u8] {
        let end = match self.next_gap(offset) {
            Some((start, _)) if start <= offset => offset,
            Some((start, _)) => start,
            None => self.data.len() as u64,
        };
        let start = (offset as usize).min(self.data.len());
        &self.data[start..(end as usize).min(self.data.len()).max(start)]
    }

    /// Bytes of `[start, end)` the capture never saw.
    pub fn missing_in(&self, start: u64, end: u64) -> u64 {
        self.gaps
            .iter()
            .map(|&(a, b)| b.min(end).saturating_sub(a.max(start)))
            .sum()
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
        self.data.len() as u64
    }
}

/// Rebuilds a stream from one direction's segments, in capture order.
/// `isn` is the initial sequence number from the SYN, if one was seen.
pub(crate) fn reassemble(segments: &[&Segment<'_>], isn: Option<u32>, max_len: u64) -> Stream {
    let mut stream = Stream::default();
    let base = match isn {
        Some(isn) => isn.wrapping_add(1),
        None => {
            stream.started_mid_stream = segments.iter().any(|s| !s.payload.is_empty());
            match segments
                .iter()
                .find(|s| !s.payload.is_empty() || s.missing > 0)
            {
                Some(first) => first.seq,
                None => return stream,
            }
        }
    };
    // Covered ranges, sorted and disjoint.
    let mut covered = Ranges::default();
    let mut max_end = 0u64;
    // Room for every byte captured at once (retransmissions make this a
    // little more than needed): no copy as the stream grows.
    let captured: u64 = segments.iter().map(|s| s.payload.len() as u64).sum();
    stream.data.reserve(captured.min(max_len) as usize);
    for seg in segments {
        if seg.payload.is_empty() && seg.missing == 0 {
            continue;
        }
        // Data at seq+1.. when a SYN carries data (rare) still counts from base.
        let first = seg.seq.wrapping_add(u32::from(seg.syn));
        let rel = first.wrapping_sub(base) as i32;
        let (start, mut payload) = if rel < 0 {
            // Bytes before the start of the stream: keep only the part after it.
            let skip = rel.unsigned_abs() as usize;
            if skip >= seg.payload.len() {
                continue;
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
        let seg_end = start + payload.len() as u64;
        if start == stream.len() && seg.missing == 0 && start >= max_end {
            // The usual case: the next bytes, in order, never seen before.
            stream.data.extend_from_slice(payload);
            stream.arrivals.push((start, seg_end, seg.ts_us));
            covered.insert(start, seg_end);
            max_end = seg_end;
            continue;
        }
        if end_on_wire as usize > stream.data.len() {
            stream.data.resize(end_on_wire as usize, 0);
        }
        let mut new_bytes = false;
        let mut old_bytes = false;
        let mut at = start;
        while at < seg_end {
            // The covered range containing `at`, or the next one after it.
            match covered.at_or_after(at) {
                Some((s, e)) if s <= at => {
                    // Already seen: compare.
                    let upto = e.min(seg_end);
                    let old = &stream.data[at as usize..upto as usize];
                    let new = &payload[(at - start) as usize..(upto - start) as usize];
                    if old != new {
                        stream.conflicts += 1;
                    }
                    old_bytes = true;
                    at = upto;
                }
                next => {
                    let upto = next.map_or(seg_end, |(s, _)| s.min(seg_end));
                    stream.data[at as usize..upto as usize]
                        .copy_from_slice(&payload[(at - start) as usize..(upto - start) as usize]);
                    stream.arrivals.push((at, upto, seg.ts_us));
                    covered.insert(at, upto);
                    new_bytes = true;
                    at = upto;
                }
            }
        }
        if old_bytes && !new_bytes {
            stream.retransmissions += 1;
        } else if new_bytes && start < max_end {
            stream.out_of_order += 1;
        }
        max_end = max_end.max(seg_end);
    }
    stream.arrivals.sort_unstable();
    stream.placed.sort_unstable();
    // Gaps: what no segment covered.
    let mut at = 0;
    for (&s, &e) in &covered.0 {
        if s > at {
            stream.gaps.push((at, s));
        }
        at = e;
    }
    if at < stream.len() {
        stream.gaps.push((at, stream.len()));
    }
    stream
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
        let stream = reassemble(&refs, Some(0), u64::MAX);
        assert_eq!(stream.len(), u64::from(2 * N - 1));
        assert_eq!(stream.gaps.len(), (N - 1) as usize);
        assert_eq!(stream.gaps[0], (1, 2));
        assert_eq!(stream.out_of_order, N - 1);
        assert_eq!(stream.retransmissions, 0);
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
