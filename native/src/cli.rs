//! The command line, as clap parses it. Validation lives in `config.rs`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// ferry: a small, fast, safe file server, client and cache for one binary
/// protocol (see docs/protocol.md).
#[derive(Debug, Parser)]
#[command(name = "ferry", version, about, after_help = EXIT_CODES)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The exit codes, shown at the end of `--help`.
pub const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  the operation failed (see the message)
  2  bad command line or configuration (missing folder, port in use, unreadable users file)

Logging: set RUST_LOG (error, warn, info, debug, trace); the default is info.";

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve a folder: DIR/public to everyone, DIR/private/<user> after login.
    Serve(ServeArgs),
    /// Manage the users who may log in (passwords stored as Argon2id hashes).
    #[command(subcommand)]
    User(UserCommand),
}

/// `ferry serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// TCP port to listen on, on every address (IPv4 and IPv6).
    #[arg(default_value_t = 20000)]
    pub port: u16,
    /// Root folder holding public/, private/<user>/ and the users file.
    /// Without it, ./ferry-demo is used and filled with sample files if missing.
    #[arg(long, value_name = "DIR", env = "FERRY_ROOT")]
    pub root: Option<PathBuf>,
    /// Seconds a connection may go without progress before it is closed.
    #[arg(long, value_name = "SECS", default_value_t = 30.0)]
    pub timeout: f64,
    /// Most connections open at once; further ones wait briefly, then are closed.
    #[arg(long, value_name = "N", default_value_t = 1024)]
    pub max_connections: usize,
    /// Seconds transfers in flight may take to finish after Ctrl-C or SIGTERM.
    #[arg(long, value_name = "SECS", default_value_t = 10.0)]
    pub grace: f64,
}

/// `ferry user ...`.
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a user (password from a prompt, or FERRY_PASSWORD).
    Add(UserArgs),
    /// Change a user's password (from a prompt, or FERRY_PASSWORD).
    Passwd(UserArgs),
    /// Remove a user (their private folder is kept).
    Del(UserArgs),
    /// List the users.
    List(RootArg),
}

/// A user name and the root folder.
#[derive(Debug, Args)]
pub struct UserArgs {
    /// The user name (one name component, at most 64 bytes).
    pub name: String,
    #[command(flatten)]
    pub root: RootArg,
}

/// The root folder of a server.
#[derive(Debug, Args)]
pub struct RootArg {
    /// The server's root folder (the one given to `ferry serve --root`).
    #[arg(
        long,
        value_name = "DIR",
        env = "FERRY_ROOT",
        default_value = "ferry-demo"
    )]
    pub root: PathBuf,
}
