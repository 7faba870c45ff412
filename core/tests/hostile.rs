//! Captures crafted to cost a decoder what their headers claim: sequence
//! numbers far ahead, many connections of them, holes filled in reverse.
//! The decoder's cost must follow the bytes captured, so each test measures
//! the most memory its thread held while decoding (a counting allocator)
//! against the capture's size.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use common::capture::{C_ISN, Conv, Link, S_ISN};
use ferry_core::{AnomalyKind, TraceOptions, decode_capture, decode_capture_with_streams};

/// The system allocator, counting each thread's live bytes and their peak
/// (tests run on threads of their own, so each sees only its own work).
struct Counting;

thread_local! {
    static LIVE: Cell<usize> = const { Cell::new(0) };
    static PEAK: Cell<usize> = const { Cell::new(0) };
}

fn grew(by: usize) {
    let live = LIVE.get() + by;
    LIVE.set(live);
    PEAK.set(PEAK.get().max(live));
}

fn shrank(by: usize) {
    LIVE.set(LIVE.get().saturating_sub(by));
}

// SAFETY: every call is passed to `System` unchanged; the counters are
// thread-local cells that never allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        grew(layout.size());
        // SAFETY: the caller's contract, passed on.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        shrank(layout.size());
        // SAFETY: the caller's contract, passed on.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        grew(new_size);
        shrank(layout.size());
        // SAFETY: the caller's contract, passed on.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// The most bytes this thread held at once while running `f`, beyond what
/// it held before.
fn peak_during<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let before = LIVE.get();
    PEAK.set(before);
    let out = f();
    (out, PEAK.get() - before)
}

/// A SYN each way, then one byte each way at stream offset `at`.
fn far_byte(conv: &mut Conv, at: u32) {
    conv.push(true, C_ISN.wrapping_add(1 + at), false, true, vec![0x14]);
    conv.push(false, S_ISN.wrapping_add(1 + at), false, true, vec![0]);
}

#[test]
fn a_byte_far_ahead_costs_one_byte_not_the_distance() {
    let mut conv = Conv::new(false);
    far_byte(&mut conv, (256 << 20) - 1);
    let pcap = conv.pcap(Link::Ethernet);
    assert!(pcap.len() < 400, "{} bytes", pcap.len());
    let ((transcript, streams), peak) = peak_during(|| {
        decode_capture_with_streams(&pcap, &TraceOptions::default()).expect("a capture")
    });
    let c = &transcript.connections[0];
    assert_eq!(
        (c.bytes_to_server, c.bytes_to_client),
        (256 << 20, 256 << 20)
    );
    assert_eq!(streams[0].to_server.captured(), 1);
    assert_eq!(streams[0].to_client.captured(), 1);
    assert_eq!(streams[0].to_server.get((256 << 20) - 1, 9), [0x14]);
    // The whole stream is one hole but its last byte: said, not filled.
    let kinds: Vec<AnomalyKind> = c.anomalies.iter().map(|a| a.kind).collect();
    assert!(kinds.contains(&AnomalyKind::Gap), "{kinds:?}");
    assert!(
        peak < 1 << 20,
        "decoding 377 bytes held {peak} bytes at once"
    );
}

#[test]
fn sixteen_such_connections_cost_what_was_captured() {
    let mut pcap = Vec::new();
    for port in 0..16u16 {
        let mut conv = Conv::new(false);
        conv.client_port = 40000 + port;
        far_byte(&mut conv, (256 << 20) - 1);
        let one = conv.pcap(Link::Ethernet);
        // One file header, then every connection's records.
        pcap.extend_from_slice(if port == 0 { &one } else { &one[24..] });
    }
    let (transcript, peak) =
        peak_during(|| decode_capture(&pcap, &TraceOptions::default()).expect("a capture"));
    assert_eq!(transcript.connections.len(), 16);
    assert!(
        peak < 2 << 20,
        "decoding {} bytes held {peak} bytes at once",
        pcap.len()
    );
}

#[test]
fn holes_filled_in_reverse_cost_a_small_multiple_of_the_capture() {
    // 240,000 one-byte segments at even offsets, last first: each fills a
    // hole behind bytes already seen, and none touches another.
    const N: u32 = 240_000;
    let mut conv = Conv::new(false);
    for i in (0..N).rev() {
        conv.push(false, S_ISN.wrapping_add(1 + 2 * i), false, true, vec![7]);
    }
    let pcap = conv.pcap(Link::Ethernet);
    let (transcript, peak) =
        peak_during(|| decode_capture(&pcap, &TraceOptions::default()).expect("a capture"));
    let c = &transcript.connections[0];
    assert_eq!(c.bytes_to_client, u64::from(2 * N - 1));
    assert_eq!(c.segments.len(), N as usize + 2);
    assert!(
        peak < 12 * pcap.len(),
        "decoding {} bytes held {peak} bytes at once",
        pcap.len()
    );
}
