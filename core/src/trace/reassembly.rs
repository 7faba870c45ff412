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
    let mut covered: Vec<(u64, u64)> = Vec::new();
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
            insert_range(&mut covered, start, seg_end);
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
            let i = covered.partition_point(|&(_, e)| e <= at);
            match covered.get(i) {
                Some(&(s, e)) if s <= at => {
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
                    let upto = next.map_or(seg_end, |&(s, _)| s.min(seg_end));
                    stream.data[at as usize..upto as usize]
                        .copy_from_slice(&payload[(at - start) as usize..(upto - start) as usize]);
                    stream.arrivals.push((at, upto, seg.ts_us));
                    insert_range(&mut covered, at, upto);
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
    for &(s, e) in &covered {
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

fn insert_range(ranges: &mut Vec<(u64, u64)>, start: u64, end: u64) {
    let i = ranges.partition_point(|&(_, e)| e < start);
    let mut s = start;
    let mut e = end;
    let mut j = i;
    while j < ranges.len() && ranges[j].0 <= e {
        s = s.min(ranges[j].0);
        e = e.max(ranges[j].1);
        j += 1;
    }
    ranges.splice(i..j, [(s, e)]);
}
