//! Validated settings, built from the command line.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use ferry_core::Limits;

use crate::cli::{CacheArgs, FrontArgs, ServeArgs};
use crate::server::{Allowance, Quotas};

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
    /// A root folder: public/, private/<user>/, users.
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

fn seconds(value: f64, flag: &str) -> anyhow::Result<Duration> {
    if !(value.is_finite() && value > 0.0 && value < 1e9) {
        bail!("{flag} must be a positive number of seconds, not {value}");
    }
    Ok(Duration::from_secs_f64(value))
}

impl FrontConfig {
    fn try_from_args(port: u16, args: &FrontArgs) -> anyhow::Result<Self> {
        let timeout = seconds(args.timeout, "--timeout")?;
        let grace = seconds(args.grace, "--grace")?;
        if args.max_connections == 0 {
            bail!("--max-connections must be at least 1");
        }
        let request_timeout = seconds(args.request_timeout, "--request-timeout")?;
        let max_per_address = match args.max_connections_per_address {
            Some(0) => bail!("--max-connections-per-address must be at least 1"),
            Some(n) => n,
            None => (args.max_connections / 4).max(1),
        };
        let mut limits = Limits::default();
        limits.timeout_us = timeout.as_micros().min(u64::MAX.into()) as u64;
        limits.request_timeout_us = request_timeout.as_micros().min(u64::MAX.into()) as u64;
        limits.max_listing_len = parse_size(&args.max_listing_size)
            .ok()
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "--max-listing-size {} must be a size under 4GiB, like 16MiB",
                    args.max_listing_size
                )
            })?;
        let quotas = Quotas {
            per_address: Allowance {
                files: args.quota_files,
                bytes: size(&args.quota_size, "--quota-size")?,
            },
            total: Allowance {
                files: args.quota_total_files,
                bytes: size(&args.quota_total_size, "--quota-total-size")?,
            },
        };
        Ok(FrontConfig {
            port,
            quotas,
            limits,
            max_per_address,
            max_connections: args.max_connections,
            grace,
            trusted: args.trust.clone(),
            bind: args.bind.clone(),
            read_only: args.read_only,
            public_overwrite: false,
        })
    }
}

impl ServeConfig {
    /// Checks the arguments and prepares the root folder.
    pub fn try_from_args(args: ServeArgs) -> anyhow::Result<Self> {
        let mut front = FrontConfig::try_from_args(args.port, &args.front)?;
        front.public_overwrite = args.public_overwrite;
        if let Some(location) = bucket(&args.store)? {
            return Ok(ServeConfig {
                front,
                files: Files::Bucket(location),
            });
        }
        let root = match args.root {
            Some(root) => {
                if root.exists() && !root.is_dir() {
                    bail!(
                        "{} is not a folder: --root names the folder that holds public/ and private/",
                        root.display()
                    );
                }
                if !root.is_dir() {
                    bail!(
                        "the root folder {} does not exist; create it (files to share go in {}/public) \
                         or leave out --root to use the demo folder",
                        root.display(),
                        root.display()
                    );
                }
                root
            }
            None => {
                let root = PathBuf::from(DEMO_ROOT);
                crate::demo::ensure(&root)?;
                root
            }
        };
        for sub in ["public", "private"] {
            let dir = root.join(sub);
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        // Fail now, not at the first login, if the users file is unreadable.
        crate::users::load(&crate::users::users_path(&root))?;
        Ok(ServeConfig {
            front,
            files: Files::Root(root),
        })
    }
}

/// The bucket `--store` names, if any.
pub fn bucket(args: &crate::cli::StoreArgs) -> anyhow::Result<Option<crate::s3::Location>> {
    args.store
        .as_deref()
        .map(|url| {
            crate::s3::Location::new(url, args.s3_endpoint.as_deref(), args.s3_region.as_deref())
        })
        .transpose()
}

impl CacheConfig {
    /// Checks the arguments; the folder is created if missing.
    pub fn try_from_args(args: CacheArgs) -> anyhow::Result<Self> {
        let front = FrontConfig::try_from_args(args.port, &args.front)?;
        if !args.origin.contains(':') {
            bail!(
                "--origin {} has no port: write HOST:PORT, for example 127.0.0.1:20000",
                args.origin
            );
        }
        let max_size =
            parse_size(&args.max_size).with_context(|| format!("--max-size {}", args.max_size))?;
        let fresh_for = if args.fresh_for == 0.0 {
            Duration::ZERO
        } else {
            seconds(args.fresh_for, "--fresh-for")?
        };
        let max_stale = seconds(args.max_stale, "--max-stale")?;
        let in_flight = size(&args.in_flight, "--in-flight")?;
        let pass_window = size(&args.pass_window, "--pass-window")?;
        let upload_buffer = size(&args.upload_buffer, "--upload-buffer")?;
        for (value, flag) in [
            (pass_window, "--pass-window"),
            (upload_buffer, "--upload-buffer"),
        ] {
            if value > in_flight {
                bail!(
                    "{flag} ({value} bytes) must fit in --in-flight ({in_flight} bytes), which it is taken from"
                );
            }
        }
        if args.max_fills_per_address == 0 {
            bail!("--max-fills-per-address must be at least 1");
        }
        std::fs::create_dir_all(&args.dir)
            .with_context(|| format!("cannot create the cache folder {}", args.dir.display()))?;
        Ok(CacheConfig {
            front,
            origin: args.origin,
            dir: args.dir,
            max_size,
            fresh_for,
            max_stale,
            in_flight,
            pass_window,
            upload_buffer,
            max_fills_per_address: args.max_fills_per_address,
        })
    }
}

/// Reads the size given to `flag`.
fn size(value: &str, flag: &str) -> anyhow::Result<u64> {
    parse_size(value).with_context(|| format!("{flag} {value} must be a size, like 4GiB or 500MB"))
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
        other => bail!("has an unknown unit \"{other}\": use B, KiB, MiB, GiB or TiB"),
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
