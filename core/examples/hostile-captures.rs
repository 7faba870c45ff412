//! Writes the captures crafted to cost a decoder what their headers claim,
//! for scripts/bench-decode.sh (core/tests/hostile.rs decodes the same
//! shapes under a counting allocator):
//!   far.pcap     a byte 256 MiB ahead each way (377 bytes)
//!   far16.pcap   16 such connections
//!   holes.pcap   240,000 one-byte segments filling holes in reverse order
//!
//!   cargo run --release -p ferry-core --example hostile-captures -- DIR

#[allow(dead_code)]
#[path = "../tests/common/capture.rs"]
mod capture;

use capture::{C_ISN, Conv, Link, S_ISN};

/// A SYN each way, then one byte each way 256 MiB into each stream.
fn far(client_port: u16) -> Vec<u8> {
    let mut conv = Conv::new(false);
    conv.client_port = client_port;
    let at = (256u32 << 20) - 1;
    conv.push(true, C_ISN.wrapping_add(1 + at), false, true, vec![0x14]);
    conv.push(false, S_ISN.wrapping_add(1 + at), false, true, vec![0]);
    conv.pcap(Link::Ethernet)
}

fn main() -> std::io::Result<()> {
    let dir = std::path::PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| ".".into()));
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("far.pcap"), far(40000))?;
    let mut many = far(40000);
    for port in 1..16 {
        // One file header, then each connection's records.
        many.extend_from_slice(&far(40000 + port)[24..]);
    }
    std::fs::write(dir.join("far16.pcap"), many)?;
    let mut holes = Conv::new(false);
    for i in (0..240_000u32).rev() {
        holes.push(false, S_ISN.wrapping_add(1 + 2 * i), false, true, vec![7]);
    }
    std::fs::write(dir.join("holes.pcap"), holes.pcap(Link::Ethernet))?;
    Ok(())
}
