//! The server's settings, as the binary's command line validates them:
//! what every front runs with, and what `serve` and `cache` add.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::bail;
use ferry_core::Limits;

use crate::limits::Quotas;

/// The default root folder when `--root` is not given.
pub const DEMO_ROOT: &str = "ferry-demo";

/// What every server front (`serve`, `cache`) runs with.
#[derive(Debug, Clone)]
pub struct FrontConfig {
    /// Port to listen on (0: any free port).
    pub port: u16,
    /// Protocol limits, the timeout included.
    pub limits: Limits,
    /// Most connections at once.
    pub max_connections: usize,
    /// Most connections at once from one client address (IPv6: one /64).
    pub max_per_address: usize,
    /// Time allowed to transfers in flight at shutdown.
    pub grace: Duration,
    /// Addresses that stand for many clients (caches in front).
    pub trusted: Vec<std::net::IpAddr>,
    /// Addresses to listen on; empty for every interface.
    pub bind: Vec<std::net::IpAddr>,
    /// Refuse every upload.
    pub read_only: bool,
    /// Let clients without a login replace existing public files (a cache
    /// leaves this to its origin).
    pub public_overwrite: bool,
    /// Upload allowances of clients without a login.
    pub quotas: Quotas,
    /// TLS on a port of its own, if asked for.
    pub tls: Option<TlsSettings>,
    /// Where `/metrics` and `/healthz` are served (`--metrics`), if asked.
    pub metrics: Option<std::net::SocketAddr>,
}

/// `--tls-port` and what goes with it.
#[derive(Debug, Clone)]
pub struct TlsSettings {
    /// The port TLS is served on (0: any free port).
    pub port: u16,
    /// The certificate chain and key files, or `None` for a self-signed
    /// certificate kept in `keep_in`.
    pub cert: Option<(PathBuf, PathBuf)>,
    /// Where a self-signed certificate and its key are kept (the root, or
    /// the cache folder).
    pub keep_in: PathBuf,
    /// No plain port (`--tls-only`).
    pub only: bool,
}

/// What `ferry serve` runs with.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// The listening side.
    pub front: FrontConfig,
    /// Where the files and users are.
    pub files: Files,
}

/// Where `ferry serve` keeps the files and the users.
#[derive(Debug, Clone)]
pub enum Files {
    /// A root folder: `public/`, `private/<user>/`, `users`.
    Root(PathBuf),
    /// An S3-compatible bucket (`--store`).
    Bucket(crate::s3::Location),
}

/// What `ferry cache` runs with.
#[derive(Debug, Clone)]
pub struct CacheConfig {
    /// The listening side.
    pub front: FrontConfig,
    /// The origin server, `HOST:PORT`.
    pub origin: String,
    /// TLS to the origin (`--origin tls://...`), trusting the CA file
    /// given (`--origin-ca`) or else the system's roots.
    pub origin_tls: Option<Option<PathBuf>>,
    /// The cache's folder.
    pub dir: PathBuf,
    /// Most bytes of copies kept.
    pub max_size: u64,
    /// How long a copy is served without asking the origin.
    pub fresh_for: Duration,
    /// How long after its last confirmation a copy is served when the
    /// origin fails.
    pub max_stale: Duration,
    /// Disk bytes shared by passing windows and upload buffers.
    pub in_flight: u64,
    /// Bytes of a passing file held between its slowest and fastest reader.
    pub pass_window: u64,
    /// Bytes of an upload held before the origin takes them.
    pub upload_buffer: u64,
    /// Fills one client address may have in flight.
    pub max_fills_per_address: usize,
}

/// Reads a size such as `512MiB`, `2GiB`, `1.5G` or `4096` (bytes).
pub fn parse_size(text: &str) -> anyhow::Result<u64> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number.parse().map_err(|_| {
        anyhow::anyhow!("is not a size: write a number and a unit, like 512MiB or 2GiB")
    })?;
    let scale: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        "t" | "tb" | "tib" => 1 << 40,
        _ => bail!(
            "has an unknown unit \"{}\": use K, M, G or T (or KiB, MiB, GiB, TiB), or none for bytes",
            unit.trim()
        ),
    };
    let bytes = number * scale as f64;
    if !(1.0..1e18).contains(&bytes) {
        bail!("must be at least one byte");
    }
    Ok(bytes as u64)
}

/// A size as the flags take it, for messages that name a flag's value:
/// `2KiB`, `16MiB`, `1000B`; [`parse_size`] reads it back exactly.
pub fn flag_size(bytes: u64) -> String {
    const UNITS: [(u64, &str); 4] = [
        (1 << 40, "TiB"),
        (1 << 30, "GiB"),
        (1 << 20, "MiB"),
        (1 << 10, "KiB"),
    ];
    match UNITS
        .iter()
        .find(|(scale, _)| bytes >= *scale && bytes.is_multiple_of(*scale))
    {
        Some((scale, unit)) => format!("{}{unit}", bytes / scale),
        None => format!("{bytes}B"),
    }
}

#[cfg(test)]
mod tests {
    use super::{flag_size, parse_size};

    #[test]
    fn sizes_in_messages_read_back_as_given() {
        for (bytes, text) in [
            (2048, "2KiB"),
            (16 << 20, "16MiB"),
            (1000, "1000B"),
            (3 << 29, "1536MiB"),
        ] {
            assert_eq!(flag_size(bytes), text);
            assert_eq!(parse_size(text).unwrap(), bytes);
        }
    }

    #[test]
    fn sizes_take_binary_units() {
        assert_eq!(parse_size("512MiB").unwrap(), 512 << 20);
        assert_eq!(parse_size("2GiB").unwrap(), 2 << 30);
        assert_eq!(parse_size("1.5G").unwrap(), 3 << 29);
        assert_eq!(parse_size("4096").unwrap(), 4096);
        assert_eq!(parse_size("10 kb").unwrap(), 10 << 10);
        for bad in ["", "MiB", "12XB", "0", "-1GiB", "1e30"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
    }
}
