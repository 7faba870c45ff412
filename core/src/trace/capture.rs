//! From capture file bytes to TCP segments: pcap and pcapng containers,
//! then link, IP and TCP headers (parsed by `pcap-parser` and `etherparse`).
//!
//! Packets that are not TCP over IPv4/IPv6, or whose link type is not one of
//! Ethernet, Linux cooked (SLL, SLL2), BSD loopback/NULL or raw IP, are
//! counted and skipped. Bytes cut off by the capture's snap length are not
//! guessed: a segment records how many of its payload bytes are missing.

use std::net::SocketAddr;

use etherparse::{EtherType, LaxNetSlice, LaxSlicedPacket, TransportSlice};
use pcap_parser::pcapng::Block;
use pcap_parser::{Linktype, PcapBlockOwned, PcapNGSlice};

use super::legacy::Legacy;
use super::text::{bytes, plain, say};

/// One TCP segment as captured.
#[derive(Debug, Clone)]
pub(crate) struct Segment<'a> {
    /// The packet's number in the file, from 1, as Wireshark numbers frames.
    pub frame: u64,
    /// Capture time, microseconds since the Unix epoch.
    pub ts_us: u64,
    pub src: SocketAddr,
    pub dst: SocketAddr,
    pub seq: u32,
    /// The acknowledgement number (meaningful with `ack`).
    pub ack_no: u32,
    /// The receive window field, as sent (unscaled).
    pub window: u16,
    pub syn: bool,
    pub ack: bool,
    pub rst: bool,
    pub fin: bool,
    pub psh: bool,
    /// Captured payload bytes, borrowed from the capture.
    pub payload: &'a [u8],
    /// Payload bytes on the wire that the capture did not keep (snap length).
    pub missing: u64,
}

/// What reading the container found besides segments.
#[derive(Debug, Default, Clone)]
pub(crate) struct CaptureStats {
    pub format: &'static str,
    pub packets: u64,
    /// The first packet's capture time.
    pub first_us: Option<u64>,
    pub skipped_not_tcp: u64,
    pub skipped_link: Vec<i32>,
    pub truncated_packets: u64,
    /// The file ended in the middle of a record.
    pub cut_short: bool,
}

/// Why a capture could not be read at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CaptureError {
    /// Neither a pcap nor a pcapng file.
    #[error("not a pcap or pcapng capture (unknown file signature)")]
    NotACapture,
    /// A gzip-compressed capture that does not decompress.
    #[error("a gzip file that cannot be decompressed: {0}")]
    BadGzip(String),
    /// A gzip-compressed capture that expands past the limit.
    #[error("a gzip file that expands past {limit} bytes (the limit for compressed captures)")]
    GzipTooLarge {
        /// The limit, in bytes.
        limit: u64,
    },
}

impl CaptureError {
    /// What went wrong, as a stable word for programs (`not_a_capture`,
    /// `bad_gzip`, `gzip_too_large`): front ends decide by it, never by
    /// the sentence.
    pub fn kind(&self) -> &'static str {
        match self {
            CaptureError::NotACapture => "not_a_capture",
            CaptureError::BadGzip(_) => "bad_gzip",
            CaptureError::GzipTooLarge { .. } => "gzip_too_large",
        }
    }

    /// The sentence in English and Portuguese.
    pub fn explained(&self) -> (String, String) {
        let said = match self {
            CaptureError::NotACapture => say("capture.not_a_capture", &[]),
            CaptureError::BadGzip(why) => say("capture.bad_gzip", &[("why", &plain(why))]),
            CaptureError::GzipTooLarge { limit } => {
                say("capture.gzip_too_large", &[("limit", &bytes(*limit))])
            }
        };
        (said.en, said.pt)
    }
}

/// Most bytes a gzip-compressed capture may expand to.
pub const MAX_INFLATED: u64 = 1 << 30;

/// The capture inside `bytes`: gzip-compressed ones (`.pcap.gz`, found by
/// their content, not their name) expanded, up to [`MAX_INFLATED`].
pub(crate) fn inflate(bytes: &[u8]) -> Result<Option<Vec<u8>>, CaptureError> {
    use std::io::Read;
    if !bytes.starts_with(&[0x1f, 0x8b]) {
        return Ok(None);
    }
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(bytes)
        .take(MAX_INFLATED + 1)
        .read_to_end(&mut out)
        .map_err(|e| CaptureError::BadGzip(e.to_string()))?;
    if out.len() as u64 > MAX_INFLATED {
        return Err(CaptureError::GzipTooLarge {
            limit: MAX_INFLATED,
        });
    }
    Ok(Some(out))
}

/// Reads every TCP segment of a capture, in file order.
pub(crate) fn read_capture(bytes: &[u8]) -> Result<(Vec<Segment<'_>>, CaptureStats), CaptureError> {
    let mut stats = CaptureStats::default();
    let mut segments = Vec::new();
    if let Some(mut pcap) = Legacy::open(bytes) {
        stats.format = "pcap";
        let linktype = Linktype(pcap.linktype);
        for record in pcap.by_ref() {
            let caplen = record.data.len() as u32;
            packet(
                linktype,
                record.ts_us,
                record.data,
                caplen,
                record.origlen,
                &mut stats,
                &mut segments,
            );
        }
        stats.cut_short = pcap.cut_short;
        return Ok((segments, stats));
    }
    let Ok(ng) = PcapNGSlice::from_slice(bytes) else {
        return Err(CaptureError::NotACapture);
    };
    stats.format = "pcapng";
    // Interfaces of the current section: link type and timestamp units.
    let mut interfaces: Vec<(Linktype, u64, i64)> = Vec::new();
    for block in ng {
        match block {
            Ok(PcapBlockOwned::NG(Block::SectionHeader(_))) => interfaces.clear(),
            Ok(PcapBlockOwned::NG(Block::InterfaceDescription(idb))) => {
                let resolution = idb.ts_resolution().unwrap_or(1_000_000);
                interfaces.push((idb.linktype, resolution, idb.ts_offset()));
            }
            Ok(PcapBlockOwned::NG(Block::EnhancedPacket(epb))) => {
                let Some(&(linktype, resolution, offset)) = interfaces.get(epb.if_id as usize)
                else {
                    continue;
                };
                let ticks = (u64::from(epb.ts_high) << 32) | u64::from(epb.ts_low);
                let ts = to_micros(ticks, resolution)
                    .saturating_add_signed(offset.saturating_mul(1_000_000));
                let caplen = (epb.caplen as usize).min(epb.data.len());
                packet(
                    linktype,
                    ts,
                    &epb.data[..caplen],
                    epb.caplen,
                    epb.origlen,
                    &mut stats,
                    &mut segments,
                );
            }
            Ok(PcapBlockOwned::NG(Block::SimplePacket(spb))) => {
                let Some(&(linktype, _, _)) = interfaces.first() else {
                    continue;
                };
                let len = (spb.origlen as usize).min(spb.data.len());
                packet(
                    linktype,
                    0,
                    &spb.data[..len],
                    len as u32,
                    spb.origlen,
                    &mut stats,
                    &mut segments,
                );
            }
            Ok(_) => {}
            Err(_) => {
                stats.cut_short = true;
                break;
            }
        }
    }
    Ok((segments, stats))
}

fn to_micros(ticks: u64, resolution: u64) -> u64 {
    match resolution {
        0 => ticks,
        1_000_000 => ticks,
        r if r > 1_000_000 => ticks / (r / 1_000_000).max(1),
        r => ticks.saturating_mul(1_000_000 / r.max(1)),
    }
}

fn packet<'a>(
    linktype: Linktype,
    ts_us: u64,
    data: &'a [u8],
    caplen: u32,
    origlen: u32,
    stats: &mut CaptureStats,
    out: &mut Vec<Segment<'a>>,
) {
    stats.packets += 1;
    stats.first_us.get_or_insert(ts_us);
    let sliced = match linktype.0 {
        // Ethernet
        1 => LaxSlicedPacket::from_ethernet(data).ok(),
        // Raw IP: LINKTYPE_RAW, IPV4, IPV6
        101 | 228 | 229 => LaxSlicedPacket::from_ip(data).ok(),
        // BSD NULL (host order) and LOOP (network order): a 4-byte family.
        0 | 108 => data
            .get(4..)
            .and_then(|ip| LaxSlicedPacket::from_ip(ip).ok()),
        // Linux cooked v1: protocol at bytes 14..16, 16-byte header.
        113 => data.get(16..).map(|rest| {
            LaxSlicedPacket::from_ether_type(
                EtherType(u16::from_be_bytes([data[14], data[15]])),
                rest,
            )
        }),
        // Linux cooked v2: protocol at bytes 0..2, 20-byte header.
        276 => data.get(20..).map(|rest| {
            LaxSlicedPacket::from_ether_type(
                EtherType(u16::from_be_bytes([data[0], data[1]])),
                rest,
            )
        }),
        other => {
            if !stats.skipped_link.contains(&other) {
                stats.skipped_link.push(other);
            }
            return;
        }
    };
    let Some(sliced) = sliced else {
        stats.skipped_not_tcp += 1;
        return;
    };
    let (Some(net), Some(TransportSlice::Tcp(tcp))) = (&sliced.net, &sliced.transport) else {
        stats.skipped_not_tcp += 1;
        return;
    };
    let (src_ip, dst_ip) = match net {
        LaxNetSlice::Ipv4(ip) => (
            ip.header().source_addr().into(),
            ip.header().destination_addr().into(),
        ),
        LaxNetSlice::Ipv6(ip) => (
            ip.header().source_addr().into(),
            ip.header().destination_addr().into(),
        ),
        LaxNetSlice::Arp(_) => {
            stats.skipped_not_tcp += 1;
            return;
        }
    };
    let missing = u64::from(origlen.saturating_sub(caplen));
    if missing > 0 {
        stats.truncated_packets += 1;
    }
    out.push(Segment {
        frame: stats.packets,
        ts_us,
        src: SocketAddr::new(src_ip, tcp.source_port()),
        dst: SocketAddr::new(dst_ip, tcp.destination_port()),
        seq: tcp.sequence_number(),
        ack_no: tcp.acknowledgment_number(),
        window: tcp.window_size(),
        syn: tcp.syn(),
        ack: tcp.ack(),
        rst: tcp.rst(),
        fin: tcp.fin(),
        psh: tcp.psh(),
        payload: tcp.payload(),
        missing,
    });
}
