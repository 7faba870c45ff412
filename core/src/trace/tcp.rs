//! What TCP itself did in one connection, for a networks course: the role
//! of each segment beyond carrying data (a pure acknowledgement, a
//! duplicate one, a zero window, a window update, a probe, data sent again
//! or out of order), and the findings that name those segments by frame,
//! each with what it means for the transfer.

use std::collections::HashSet;
use std::net::SocketAddr;

use super::capture::Segment;
use super::reassembly::Stream;
use super::text::{count, plain, say};
use super::transcript::{Anomaly, AnomalyKind, Direction, TcpRole};

/// Frames named in one finding before `… (+N)`.
const FRAMES_NAMED: usize = 10;

/// One side's state as its segments go by.
#[derive(Default)]
struct Side {
    /// The last acknowledgement number and window it sent.
    last: Option<(u32, u16)>,
    /// The sequence number after the last byte (or SYN/FIN) it sent.
    next: Option<u32>,
}

/// Each segment's role, in `group`'s order: `up` and `down` are the
/// streams rebuilt from the client's and the server's segments.
pub(crate) fn roles(
    group: &[&Segment<'_>],
    client: SocketAddr,
    up: &Stream,
    down: &Stream,
) -> Vec<Option<TcpRole>> {
    let again: HashSet<u64> = up
        .retransmitted
        .iter()
        .chain(&down.retransmitted)
        .copied()
        .collect();
    let behind: HashSet<u64> = up
        .reordered
        .iter()
        .chain(&down.reordered)
        .copied()
        .collect();
    let (mut from_client, mut from_server) = (Side::default(), Side::default());
    group
        .iter()
        .map(|s| {
            let (side, peer) = if s.src == client {
                (&mut from_client, &from_server)
            } else {
                (&mut from_server, &from_client)
            };
            // A probe asks about a window the peer closed.
            let closed = peer.last.is_some_and(|(_, window)| window == 0);
            let role = role(s, side, closed, &again, &behind);
            let len = s.payload.len() as u64 + s.missing;
            let end = s
                .seq
                .wrapping_add(len as u32)
                .wrapping_add(u32::from(s.syn) + u32::from(s.fin));
            // The furthest point sent (a retransmission does not move it back).
            side.next = match side.next {
                Some(next) if (end.wrapping_sub(next) as i32) <= 0 => Some(next),
                _ => Some(end),
            };
            if s.ack {
                side.last = Some((s.ack_no, s.window));
            }
            role
        })
        .collect()
}

fn role(
    s: &Segment<'_>,
    side: &Side,
    peer_closed: bool,
    again: &HashSet<u64>,
    behind: &HashSet<u64>,
) -> Option<TcpRole> {
    if s.syn || s.rst {
        return None;
    }
    if !s.payload.is_empty() || s.missing > 0 {
        return if again.contains(&s.frame) {
            Some(TcpRole::Retransmission)
        } else if behind.contains(&s.frame) {
            Some(TcpRole::OutOfOrder)
        } else {
            None
        };
    }
    if s.fin || !s.ack {
        return None;
    }
    let same_ack = side.last.is_some_and(|(ack, _)| ack == s.ack_no);
    let same_window = side.last.is_some_and(|(_, window)| window == s.window);
    Some(if s.window == 0 {
        TcpRole::ZeroWindow
    } else if peer_closed && side.next.is_some_and(|next| s.seq == next.wrapping_sub(1)) {
        TcpRole::Probe
    } else if same_ack && !same_window {
        TcpRole::WindowUpdate
    } else if same_ack && side.next == Some(s.seq) {
        TcpRole::DuplicateAck
    } else {
        TcpRole::Ack
    })
}

/// The findings about TCP: for each direction, the segments of each
/// notable role by frame, then what reassembly had to reconcile.
pub(crate) fn findings(
    group: &[&Segment<'_>],
    roles: &[Option<TcpRole>],
    client: SocketAddr,
    up: &Stream,
    down: &Stream,
) -> Vec<Anomaly> {
    let mut out = Vec::new();
    for (dir, stream) in [(Direction::ToServer, up), (Direction::ToClient, down)] {
        let name = match dir {
            Direction::ToServer => say("dir.to_server", &[]),
            Direction::ToClient => say("dir.to_client", &[]),
        };
        let mine = |s: &&Segment<'_>| (s.src == client) == (dir == Direction::ToServer);
        for (role, kind, key) in NOTABLE {
            let frames: Vec<u64> = group
                .iter()
                .zip(roles)
                .filter(|(s, r)| mine(s) && **r == Some(role))
                .map(|(s, _)| s.frame)
                .collect();
            if frames.is_empty() {
                continue;
            }
            let args = [
                ("dir", &name),
                ("n", &count(frames.len() as u64)),
                ("frames", &plain(frame_list(&frames))),
            ];
            out.push(Anomaly::new(kind, Some(dir), None, say(key, &args)));
        }
        let mut note = |kind, n: u32, key: &'static str| {
            if n > 0 {
                let note = say(key, &[("dir", &name), ("n", &count(n.into()))]);
                out.push(Anomaly::new(kind, Some(dir), None, note));
            }
        };
        note(AnomalyKind::Conflict, stream.conflicts, "stream.conflicts");
        let mid = u32::from(stream.started_mid_stream);
        note(AnomalyKind::MidStream, mid, "stream.mid_stream");
        note(
            AnomalyKind::Capped,
            u32::from(stream.capped),
            "stream.capped",
        );
    }
    out
}

/// The roles a finding names, its kind and its sentence.
const NOTABLE: [(TcpRole, AnomalyKind, &str); 6] = [
    (
        TcpRole::Retransmission,
        AnomalyKind::Retransmission,
        "tcp.retransmission",
    ),
    (
        TcpRole::OutOfOrder,
        AnomalyKind::OutOfOrder,
        "tcp.out_of_order",
    ),
    (
        TcpRole::DuplicateAck,
        AnomalyKind::DuplicateAck,
        "tcp.duplicate_ack",
    ),
    (
        TcpRole::ZeroWindow,
        AnomalyKind::ZeroWindow,
        "tcp.zero_window",
    ),
    (
        TcpRole::WindowUpdate,
        AnomalyKind::WindowUpdate,
        "tcp.window_update",
    ),
    (TcpRole::Probe, AnomalyKind::WindowProbe, "tcp.probe"),
];

/// `4, 9, 12`, or the first ones and `… (+N)`.
fn frame_list(frames: &[u64]) -> String {
    let named: Vec<String> = frames
        .iter()
        .take(FRAMES_NAMED)
        .map(u64::to_string)
        .collect();
    let mut list = named.join(", ");
    if frames.len() > FRAMES_NAMED {
        list += &format!(" … (+{})", frames.len() - FRAMES_NAMED);
    }
    list
}
