//! Validated settings, built from the command line.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use ferry_core::Limits;

use crate::cli::ServeArgs;

/// The default root folder when `--root` is not given.
pub const DEMO_ROOT: &str = "ferry-demo";

/// What `ferry serve` runs with.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// Port to listen on (0: any free port).
    pub port: u16,
    /// Root folder: public/, private/<user>/, users.
    pub root: PathBuf,
    /// Protocol limits, the timeout included.
    pub limits: Limits,
    /// Most connections at once.
    pub max_connections: usize,
    /// Time allowed to transfers in flight at shutdown.
    pub grace: Duration,
}

fn seconds(value: f64, flag: &str) -> anyhow::Result<Duration> {
    if !(value.is_finite() && value > 0.0 && value < 1e9) {
        bail!("{flag} must be a positive number of seconds, not {value}");
    }
    Ok(Duration::from_secs_f64(value))
}

impl ServeConfig {
    /// Checks the arguments and prepares the root folder.
    pub fn try_from_args(args: ServeArgs) -> anyhow::Result<Self> {
        let timeout = seconds(args.timeout, "--timeout")?;
        let grace = seconds(args.grace, "--grace")?;
        if args.max_connections == 0 {
            bail!("--max-connections must be at least 1");
        }
        let root = match args.root {
            Some(root) => {
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
        let mut limits = Limits::default();
        limits.timeout_us = timeout.as_micros().min(u64::MAX.into()) as u64;
        Ok(ServeConfig {
            port: args.port,
            root,
            limits,
            max_connections: args.max_connections,
            grace,
        })
    }
}
