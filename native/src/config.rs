//! The command line's server arguments checked and turned into the
//! server's settings (`ferry_server::settings`).

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use ferry_core::Limits;
use ferry_server::limits::{Allowance, Quotas};
use ferry_server::s3::Location;
use ferry_server::settings::{
    CacheConfig, DEMO_ROOT, Files, FrontConfig, ServeConfig, TlsSettings, parse_size,
};

use crate::cli::{CacheArgs, FrontArgs, ServeArgs};

fn seconds(value: f64, flag: &str) -> anyhow::Result<Duration> {
    if !(value.is_finite() && value > 0.0 && value < 1e9) {
        bail!("{flag} must be a positive number of seconds, not {value}");
    }
    Ok(Duration::from_secs_f64(value))
}

/// What every front runs with, from its flags.
fn front(port: u16, args: &FrontArgs) -> anyhow::Result<FrontConfig> {
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
    check_binds(&args.bind)?;
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
        tls: None,
        metrics: metrics(args)?,
    })
}

/// Refuses `--bind` addresses that would take the same port twice: one
/// given twice, or one that `0.0.0.0` (or `::`) already covers.
fn check_binds(binds: &[std::net::IpAddr]) -> anyhow::Result<()> {
    for (i, ip) in binds.iter().enumerate() {
        for other in &binds[..i] {
            if other == ip {
                bail!("--bind {ip} is given twice: give each address once");
            }
            let all = [other, ip].into_iter().find(|a| a.is_unspecified());
            if let Some(all) = all.filter(|_| other.is_ipv4() == ip.is_ipv4()) {
                let one = if all == ip { other } else { ip };
                let family = if ip.is_ipv4() { "IPv4" } else { "IPv6" };
                bail!(
                    "--bind {all} already covers {one} (every {family} address): give one of the two"
                );
            }
        }
    }
    Ok(())
}

/// `--metrics`: on a loopback address, or anywhere with --metrics-public
/// (the counters tell who is refused and how much is served).
fn metrics(args: &FrontArgs) -> anyhow::Result<Option<std::net::SocketAddr>> {
    match args.metrics {
        Some(addr) if !addr.ip().is_loopback() && !args.metrics_public => bail!(
            "--metrics {addr} is reachable from other machines: add --metrics-public to mean it, or use a loopback address such as 127.0.0.1:{}",
            addr.port()
        ),
        other => Ok(other),
    }
}

/// `--tls-port` and its certificate; a self-signed one is kept in
/// `keep_in`, which a server on a bucket has none of.
fn tls(args: &FrontArgs, keep_in: Option<&Path>) -> anyhow::Result<Option<TlsSettings>> {
    let Some(port) = args.tls_port else {
        return Ok(None);
    };
    let cert = args.tls_cert.clone().zip(args.tls_key.clone());
    let keep_in = match (keep_in, &cert) {
        (Some(dir), _) => dir.to_owned(),
        (None, Some(_)) => PathBuf::new(),
        (None, None) => bail!(
            "--tls-port with --store needs --tls-cert and --tls-key: every server on the \
             bucket must present the same certificate, or clients that trusted one are refused \
             by the next"
        ),
    };
    Ok(Some(TlsSettings {
        port,
        cert,
        keep_in,
        only: args.tls_only,
    }))
}

/// `ferry serve`'s settings: checks the arguments and prepares the root folder.
pub fn serve(args: ServeArgs) -> anyhow::Result<ServeConfig> {
    let mut front = front(args.port, &args.front)?;
    front.public_overwrite = args.public_overwrite;
    if let Some(location) = bucket(&args.store)? {
        front.tls = tls(&args.front, None)?;
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
            ferry_server::demo::ensure(&root)?;
            root
        }
    };
    for sub in ["public", "private"] {
        let dir = root.join(sub);
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
    }
    // Fail now, not at the first login, if the users file is unreadable.
    ferry_server::users::load(&ferry_server::users::users_path(&root))?;
    front.tls = tls(&args.front, Some(&root))?;
    Ok(ServeConfig {
        front,
        files: Files::Root(root),
    })
}

/// The bucket `--store` names, if any.
pub fn bucket(args: &crate::cli::StoreArgs) -> anyhow::Result<Option<Location>> {
    args.store
        .as_deref()
        .map(|url| {
            let mut location =
                Location::new(url, args.s3_endpoint.as_deref(), args.s3_region.as_deref())?;
            location.ca = args.s3_ca.clone();
            if location.ca.is_some() && !location.endpoint.starts_with("https://") {
                bail!(
                    "--s3-ca is for an https:// endpoint, not {}",
                    location.endpoint
                );
            }
            Ok(location)
        })
        .transpose()
}

/// `ferry cache`'s settings: checks the arguments; the folder is created if missing.
pub fn cache(args: CacheArgs) -> anyhow::Result<CacheConfig> {
    let mut front = front(args.port, &args.front)?;
    let (origin, origin_tls) = match args.origin.strip_prefix("tls://") {
        Some(origin) => (origin.to_owned(), true),
        None => (args.origin.clone(), false),
    };
    if !origin.contains(':') {
        bail!(
            "--origin {} has no port: write HOST:PORT, for example 127.0.0.1:20000",
            args.origin
        );
    }
    if args.origin_ca.is_some() && !origin_tls {
        bail!("--origin-ca is for a TLS origin: write --origin tls://{origin}");
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
    front.tls = tls(&args.front, Some(&args.dir))?;
    Ok(CacheConfig {
        front,
        origin,
        origin_tls: origin_tls.then_some(args.origin_ca),
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

/// Reads the size given to `flag`.
fn size(value: &str, flag: &str) -> anyhow::Result<u64> {
    parse_size(value).with_context(|| format!("{flag} {value} must be a size, like 4GiB or 500MB"))
}
