//! Hand-built captures: a TCP conversation written frame by frame as pcap
//! or pcapng, on several link types, with the damage real captures show
//! (lost and reordered segments, snap-length cuts, far sequence numbers).

use etherparse::PacketBuilder;

/// How frames are wrapped.
#[derive(Clone, Copy, PartialEq)]
pub enum Link {
    Ethernet,
    RawIp,
    Sll2,
    Null,
}

impl Link {
    pub fn code(self) -> u32 {
        match self {
            Link::Ethernet => 1,
            Link::RawIp => 101,
            Link::Sll2 => 276,
            Link::Null => 0,
        }
    }
}

#[derive(Clone)]
pub struct Seg {
    pub ts: u64,
    pub from_client: bool,
    pub seq: u32,
    pub syn: bool,
    pub ack: bool,
    pub payload: Vec<u8>,
    /// Bytes of the frame's end the capture drops (snap length).
    pub cut: usize,
    /// The sender closes its side.
    pub fin: bool,
    /// The acknowledgement number (the next byte expected from the peer).
    pub ack_no: u32,
    /// The receive window advertised.
    pub window: u16,
}

/// A TCP conversation between 10.0.0.1:40000 (or fd00::1) and port 20000.
pub struct Conv {
    pub v6: bool,
    pub server_port: u16,
    pub client_port: u16,
    pub segs: Vec<Seg>,
    pub c_next: u32,
    pub s_next: u32,
    pub ts: u64,
}

pub const C_ISN: u32 = 1000;
pub const S_ISN: u32 = 5_000_000;

impl Conv {
    pub fn new(v6: bool) -> Self {
        let mut c = Conv {
            v6,
            server_port: 20000,
            client_port: 40000,
            segs: Vec::new(),
            c_next: C_ISN + 1,
            s_next: S_ISN + 1,
            ts: 1_700_000_000_000_000,
        };
        c.push(true, C_ISN, true, false, vec![]);
        c.push(false, S_ISN, true, true, vec![]);
        c
    }

    pub fn push(&mut self, from_client: bool, seq: u32, syn: bool, ack: bool, payload: Vec<u8>) {
        self.ts += 100;
        let ack_no = match (ack, from_client) {
            (false, _) => 0,
            (true, true) => self.s_next,
            (true, false) => self.c_next,
        };
        self.segs.push(Seg {
            ack_no,
            window: 65535,
            ts: self.ts,
            from_client,
            seq,
            syn,
            ack,
            payload,
            cut: 0,
            fin: false,
        });
    }

    /// A segment with no data at the sender's next sequence number,
    /// acknowledging everything received so far.
    fn empty(&mut self, from_client: bool) -> &mut Seg {
        let seq = if from_client {
            self.c_next
        } else {
            self.s_next
        };
        self.push(from_client, seq, false, true, vec![]);
        self.segs.last_mut().expect("just pushed")
    }

    /// One side closes (a FIN).
    pub fn fin(&mut self, from_client: bool) -> &mut Self {
        self.empty(from_client).fin = true;
        self
    }

    /// A segment that carries no data: it acknowledges everything received
    /// so far and advertises `window`.
    pub fn ack(&mut self, from_client: bool, window: u16) -> &mut Self {
        self.empty(from_client).window = window;
        self
    }

    /// Sends bytes in segments of at most `mss`.
    pub fn send(&mut self, from_client: bool, bytes: &[u8], mss: usize) -> &mut Self {
        for chunk in bytes.chunks(mss.max(1)) {
            let seq = if from_client {
                self.c_next
            } else {
                self.s_next
            };
            self.push(from_client, seq, false, true, chunk.to_vec());
            if from_client {
                self.c_next = self.c_next.wrapping_add(chunk.len() as u32);
            } else {
                self.s_next = self.s_next.wrapping_add(chunk.len() as u32);
            }
        }
        self
    }

    pub fn frame(&self, link: Link, seg: &Seg) -> Vec<u8> {
        let (cport, sport) = (self.client_port, self.server_port);
        let (src_port, dst_port) = if seg.from_client {
            (cport, sport)
        } else {
            (sport, cport)
        };
        let step = match (link, self.v6) {
            (Link::Ethernet, false) => {
                let (a, b) = if seg.from_client {
                    ([10, 0, 0, 1], [10, 0, 0, 2])
                } else {
                    ([10, 0, 0, 2], [10, 0, 0, 1])
                };
                PacketBuilder::ethernet2([2; 6], [4; 6]).ipv4(a, b, 64)
            }
            (Link::Ethernet, true) => {
                let (a, b) = if seg.from_client {
                    (v6(1), v6(2))
                } else {
                    (v6(2), v6(1))
                };
                PacketBuilder::ethernet2([2; 6], [4; 6]).ipv6(a, b, 64)
            }
            (_, false) => {
                let (a, b) = if seg.from_client {
                    ([10, 0, 0, 1], [10, 0, 0, 2])
                } else {
                    ([10, 0, 0, 2], [10, 0, 0, 1])
                };
                PacketBuilder::ipv4(a, b, 64)
            }
            (_, true) => {
                let (a, b) = if seg.from_client {
                    (v6(1), v6(2))
                } else {
                    (v6(2), v6(1))
                };
                PacketBuilder::ipv6(a, b, 64)
            }
        };
        let mut tcp = step.tcp(src_port, dst_port, seg.seq, seg.window);
        if seg.syn {
            tcp = tcp.syn();
        }
        if seg.ack {
            tcp = tcp.ack(seg.ack_no);
        }
        if seg.fin {
            tcp = tcp.fin();
        }
        let mut ip = Vec::new();
        tcp.write(&mut ip, &seg.payload).unwrap();
        match link {
            Link::Ethernet | Link::RawIp => ip,
            Link::Sll2 => {
                let proto: u16 = if self.v6 { 0x86dd } else { 0x0800 };
                let mut f = proto.to_be_bytes().to_vec();
                f.extend([0u8; 18]);
                f.extend(ip);
                f
            }
            Link::Null => {
                let family: u32 = if self.v6 { 10 } else { 2 };
                let mut f = family.to_le_bytes().to_vec();
                f.extend(ip);
                f
            }
        }
    }

    pub fn pcap(&self, link: Link) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend(0xa1b2c3d4u32.to_le_bytes());
        out.extend(2u16.to_le_bytes());
        out.extend(4u16.to_le_bytes());
        out.extend([0; 8]);
        out.extend(65535u32.to_le_bytes());
        out.extend(link.code().to_le_bytes());
        for seg in &self.segs {
            let frame = self.frame(link, seg);
            let kept = &frame[..frame.len() - seg.cut];
            out.extend(((seg.ts / 1_000_000) as u32).to_le_bytes());
            out.extend(((seg.ts % 1_000_000) as u32).to_le_bytes());
            out.extend((kept.len() as u32).to_le_bytes());
            out.extend((frame.len() as u32).to_le_bytes());
            out.extend(kept);
        }
        out
    }

    pub fn pcapng(&self, link: Link) -> Vec<u8> {
        fn block(kind: u32, body: &[u8]) -> Vec<u8> {
            let mut padded = body.to_vec();
            while !padded.len().is_multiple_of(4) {
                padded.push(0);
            }
            let len = (padded.len() + 12) as u32;
            let mut out = kind.to_le_bytes().to_vec();
            out.extend(len.to_le_bytes());
            out.extend(padded);
            out.extend(len.to_le_bytes());
            out
        }
        let mut shb = 0x1A2B3C4Du32.to_le_bytes().to_vec();
        shb.extend(1u16.to_le_bytes());
        shb.extend(0u16.to_le_bytes());
        shb.extend((-1i64).to_le_bytes());
        let mut out = block(0x0A0D0D0A, &shb);
        let mut idb = (link.code() as u16).to_le_bytes().to_vec();
        idb.extend(0u16.to_le_bytes());
        idb.extend(65535u32.to_le_bytes());
        out.extend(block(1, &idb));
        for seg in &self.segs {
            let frame = self.frame(link, seg);
            let kept = &frame[..frame.len() - seg.cut];
            let mut epb = 0u32.to_le_bytes().to_vec();
            epb.extend(((seg.ts >> 32) as u32).to_le_bytes());
            epb.extend((seg.ts as u32).to_le_bytes());
            epb.extend((kept.len() as u32).to_le_bytes());
            epb.extend((frame.len() as u32).to_le_bytes());
            epb.extend(kept);
            out.extend(block(6, &epb));
        }
        out
    }
}

pub fn v6(last: u8) -> [u8; 16] {
    let mut a = [0u8; 16];
    a[0] = 0xfd;
    a[15] = last;
    a
}
