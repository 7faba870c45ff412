//! The command line, as clap parses it. Validation lives in `config.rs`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// ferry: a small, fast, safe file server, client and cache for one binary
/// protocol (see docs/protocol.md).
#[derive(Debug, Parser)]
#[command(name = "ferry", version, about, after_help = crate::error::CLIENT_EXIT_CODES)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve a folder: DIR/public to everyone, DIR/private/<user> after login.
    Serve(ServeArgs),
    /// Run a caching proxy in front of a ferry server: repeat downloads come
    /// from the cache's own disk, checked with the origin.
    Cache(CacheArgs),
    /// Manage the users who may log in (passwords stored as Argon2id hashes).
    #[command(subcommand)]
    User(UserCommand),
    /// List the server's files (name and size), or print them as JSON.
    Ls {
        #[command(flatten)]
        server: ServerArgs,
        /// Print the server's listing as JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Download files into the local folder; an interrupted download resumes.
    Get {
        #[command(flatten)]
        server: ServerArgs,
        /// Names of files on the server (relative, '/' between folders).
        #[arg(required = true)]
        names: Vec<String>,
        #[command(flatten)]
        dir: DirArg,
        /// Write the (single) file here instead, or to standard output with `-o -`.
        #[arg(short = 'o', long = "output", value_name = "FILE")]
        output: Option<PathBuf>,
        #[command(flatten)]
        keep: KeepArgs,
    },
    /// Upload files (or, with -r, folders) of the local folder.
    Put {
        #[command(flatten)]
        server: ServerArgs,
        /// Files to send, relative to --dir.
        #[arg(required = true)]
        files: Vec<String>,
        #[command(flatten)]
        dir: DirArg,
        /// Store the (single) file under this name on the server (with -r:
        /// the folder's files under this folder).
        #[arg(long = "as", value_name = "NAME")]
        target: Option<String>,
        /// Upload folders: every regular file beneath each, under the
        /// folder's name (symbolic links are skipped and reported).
        #[arg(short = 'r', long)]
        recursive: bool,
    },
    /// Continue an interrupted download (op 40, checking the part already held).
    Resume {
        #[command(flatten)]
        server: ServerArgs,
        /// Name of the file on the server.
        name: String,
        #[command(flatten)]
        dir: DirArg,
        /// Replace a local file that differs from the server's even if it
        /// is not what ferry last wrote there.
        #[arg(short, long)]
        force: bool,
    },
    /// Download every file matching one of the glob masks (quote them: '*.jpg' '**/*.txt').
    Mget {
        #[command(flatten)]
        server: ServerArgs,
        /// Masks: `*` stays within a folder, `**` crosses folders; a file
        /// matched by several is fetched once. Quote them, or the shell
        /// expands them into local names first.
        #[arg(required = true, value_name = "MASK")]
        masks: Vec<String>,
        #[command(flatten)]
        dir: DirArg,
        #[command(flatten)]
        keep: KeepArgs,
    },
    /// Explain every ferry message of a pcap/pcapng capture (tcpdump, Wireshark),
    /// TLS conversations included.
    Decode {
        /// The capture file.
        file: PathBuf,
        /// Print the transcript as JSON.
        #[arg(long)]
        json: bool,
        /// Server ports to decode (20000 and 20001 by default; repeat for more).
        /// Connections on other ports are decoded when they start with an op.
        #[arg(long = "port", value_name = "P")]
        ports: Vec<u16>,
        /// A TLS key log (what a client writes with SSLKEYLOGFILE=FILE): TLS
        /// 1.3 conversations it holds secrets for are decrypted, and the ferry
        /// messages inside explained. Connections whose ClientHello offers
        /// ALPN `ferry` are decoded on any port.
        #[arg(long, value_name = "FILE")]
        keylog: Option<PathBuf>,
        /// Explanations in Portuguese.
        #[arg(long)]
        pt: bool,
    },
    /// Print a completion script for a shell, e.g. `ferry completions bash >
    /// ~/.local/share/bash-completion/completions/ferry`.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff), e.g. `ferry man | man -l -`.
    Man,
    /// The keys of TLS servers trusted on first use ($XDG_DATA_HOME/ferry/known_hosts).
    #[command(subcommand)]
    KnownHosts(KnownHostsCommand),
    /// The interactive client: LIST, DOWNLOAD, UPLOAD, RESUME, MGET, LOGIN, HELP, QUIT.
    Shell {
        #[command(flatten)]
        server: ServerArgs,
        #[command(flatten)]
        dir: DirArg,
    },
}

/// How to reach a server.
#[derive(Debug, Args)]
pub struct ServerArgs {
    /// The server as HOST:PORT: a name, an IPv4 address or a bracketed IPv6
    /// address, e.g. 127.0.0.1:20000 or [::1]:20000; tls://HOST:PORT for
    /// its TLS port.
    #[arg(value_name = "HOST:PORT")]
    pub addr: String,
    /// Trust the TLS certificates this CA signed (or this self-signed
    /// certificate), PEM; otherwise the system's roots, then the keys
    /// accepted once (ferry known-hosts).
    #[arg(long, value_name = "FILE")]
    pub ca: Option<PathBuf>,
    /// Log in as USER first (password from a prompt, or FERRY_PASSWORD).
    #[arg(long, value_name = "USER", env = "FERRY_USER")]
    pub user: Option<String>,
    /// Seconds without progress before giving up.
    #[arg(long, value_name = "SECS", default_value_t = 30.0)]
    pub timeout: f64,
    /// Say nothing but errors (no progress bars).
    #[arg(short, long, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Also say what is asked of the server and the MD5s checked.
    #[arg(short, long)]
    pub verbose: bool,
    /// Most bytes per second, as in curl: 100K, 2M, 1G (binary units).
    #[arg(long, value_name = "RATE")]
    pub limit_rate: Option<String>,
}

/// What downloads do with files already in the local folder.
#[derive(Debug, Args)]
pub struct KeepArgs {
    /// Never replace a local file that exists (it is not even checked).
    #[arg(long, conflicts_with = "force")]
    pub no_clobber: bool,
    /// Replace a local file that differs from the server's even if it is
    /// not what ferry last wrote there (by default such a file, perhaps
    /// edited here, is kept and the download refused).
    #[arg(short, long)]
    pub force: bool,
    /// After downloading, check the file with the server (op 40 at its end:
    /// same size, same MD5) before it takes its place.
    #[arg(long)]
    pub verify: bool,
}

/// The local folder the client is confined to.
#[derive(Debug, Args)]
pub struct DirArg {
    /// Local folder: uploads are read from it, downloads written to it.
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub dir: PathBuf,
}

/// `ferry serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// TCP port to listen on, on every address (IPv4 and IPv6).
    #[arg(default_value_t = 20000)]
    pub port: u16,
    /// Root folder holding public/, private/<user>/ and the users file.
    /// Without it (and without --store), ./ferry-demo is used and filled
    /// with sample files if missing.
    #[arg(long, value_name = "DIR", env = "FERRY_ROOT")]
    pub root: Option<PathBuf>,
    #[command(flatten)]
    pub store: StoreArgs,
    /// Let clients without a login replace public files that exist (by
    /// default they may only add new ones; logged-in users always replace
    /// files in their own folder).
    #[arg(long)]
    pub public_overwrite: bool,
    #[command(flatten)]
    pub front: FrontArgs,
}

/// An object store instead of a root folder.
#[derive(Debug, Clone, Args)]
pub struct StoreArgs {
    /// Keep the files and the users in an S3-compatible bucket instead of a
    /// folder: public/, private/<user>/ and users under the prefix.
    /// Credentials come from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.
    /// (--store wins over --root and FERRY_ROOT.)
    #[arg(long, value_name = "s3://BUCKET[/PREFIX]")]
    pub store: Option<String>,
    /// The object store's address, e.g. http://127.0.0.1:8333 (default:
    /// AWS_ENDPOINT_URL).
    #[arg(long, value_name = "URL", requires = "store")]
    pub s3_endpoint: Option<String>,
    /// The region requests are signed for (default: AWS_REGION, else us-east-1).
    #[arg(long, value_name = "REGION", requires = "store")]
    pub s3_region: Option<String>,
    /// Trust an https:// endpoint's certificate if this CA signed it (or it
    /// is this self-signed certificate), PEM; otherwise the system's roots.
    #[arg(long, value_name = "FILE", requires = "store")]
    pub s3_ca: Option<PathBuf>,
}

/// `ferry cache`.
#[derive(Debug, Args)]
pub struct CacheArgs {
    /// TCP port to listen on, on every address (IPv4 and IPv6).
    #[arg(default_value_t = 20001)]
    pub port: u16,
    /// The server the cache fronts, as HOST:PORT (a `ferry serve` or another
    /// cache), or tls://HOST:PORT for its TLS port.
    #[arg(long, value_name = "HOST:PORT")]
    pub origin: String,
    /// Trust the origin's TLS certificate if this CA signed it (or it is
    /// this self-signed certificate), PEM; otherwise the system's roots. A
    /// cache never asks.
    #[arg(long, value_name = "FILE")]
    pub origin_ca: Option<PathBuf>,
    /// Folder for the cached copies (created if missing; found again after a restart).
    #[arg(long, value_name = "DIR")]
    pub dir: PathBuf,
    /// Most bytes of copies kept (512MiB, 2GiB, ...); larger files pass through uncached.
    #[arg(long, value_name = "SIZE", default_value = "1GiB")]
    pub max_size: String,
    /// Seconds a copy is served without asking the origin (0: check every time).
    #[arg(long, value_name = "SECS", default_value_t = 0.0)]
    pub fresh_for: f64,
    /// Seconds after the origin last confirmed a copy during which it is
    /// still served (logged STALE) when the origin is down or refuses.
    #[arg(long, value_name = "SECS", default_value_t = 3600.0)]
    pub max_stale: f64,
    /// Memory shared by everything in flight beside the kept copies:
    /// windows of files passing through, and uploads on their way to the
    /// origin.
    #[arg(long, value_name = "SIZE", default_value = "64MiB")]
    pub in_flight: String,
    /// Bytes of a file too large to keep held between its slowest and its
    /// fastest reader; a reader further behind gets its own origin fetch.
    #[arg(long, value_name = "SIZE", default_value = "8MiB")]
    pub pass_window: String,
    /// Bytes of an upload held before the origin has taken them; the client
    /// is read no faster than the origin reads.
    #[arg(long, value_name = "SIZE", default_value = "1MiB")]
    pub upload_buffer: String,
    /// Fills one client address (IPv6: one /64) may have in flight at once;
    /// further requests are relayed from the origin without being kept.
    /// Addresses given to --trust are not counted.
    #[arg(long, value_name = "N", default_value_t = 4)]
    pub max_fills_per_address: usize,
    #[command(flatten)]
    pub front: FrontArgs,
}

/// What every server front takes.
#[derive(Debug, Args)]
pub struct FrontArgs {
    /// Seconds a connection may go without progress before it is closed.
    #[arg(long, value_name = "SECS", default_value_t = 30.0)]
    pub timeout: f64,
    /// Seconds a client may take to send its whole request, however steadily
    /// (waiting for a password check does not count).
    #[arg(long, value_name = "SECS", default_value_t = 10.0)]
    pub request_timeout: f64,
    /// Longest LIST answer (JSON) served; new public files are refused once
    /// the listing would pass half of it, so LIST keeps working for all.
    #[arg(long, value_name = "SIZE", default_value = "16MiB")]
    pub max_listing_size: String,
    /// Most connections open at once; further ones wait briefly, then are closed.
    #[arg(long, value_name = "N", default_value_t = 1024)]
    pub max_connections: usize,
    /// Most connections open at once from one client address (IPv6: one
    /// /64); further ones are closed at once. Default: a quarter of
    /// --max-connections. Addresses given to --trust are not counted.
    #[arg(long, value_name = "N")]
    pub max_connections_per_address: Option<usize>,
    /// Seconds transfers in flight may take to finish after Ctrl-C or SIGTERM.
    #[arg(long, value_name = "SECS", default_value_t = 10.0)]
    pub grace: f64,
    /// Listen on this address only (repeat for several; default every
    /// interface, IPv4 and IPv6), e.g. --bind 127.0.0.1 --bind ::1.
    #[arg(long, value_name = "ADDR")]
    pub bind: Vec<std::net::IpAddr>,
    /// Refuse every upload (status 1, logged).
    #[arg(long)]
    pub read_only: bool,
    /// Uploads per hour from one address without a login (IPv6: one /64);
    /// the hour's worth may be spent at once, then it refills steadily.
    #[arg(long, value_name = "N", default_value_t = 1000)]
    pub quota_files: u64,
    /// Bytes per hour one address without a login may upload.
    #[arg(long, value_name = "SIZE", default_value = "4GiB")]
    pub quota_size: String,
    /// Uploads per hour from all clients without a login together.
    #[arg(long, value_name = "N", default_value_t = 10000)]
    pub quota_total_files: u64,
    /// Bytes per hour all clients without a login may upload together.
    #[arg(long, value_name = "SIZE", default_value = "64GiB")]
    pub quota_total_size: String,
    /// An address that stands for many clients (a ferry cache in front):
    /// its failed logins do not slow it down. Repeat for several.
    #[arg(long, value_name = "ADDR")]
    pub trust: Vec<std::net::IpAddr>,
    /// Also serve TLS on this port (clients write tls://HOST:PORT). Without
    /// --tls-cert a self-signed certificate is made once and kept.
    #[arg(long, value_name = "PORT")]
    pub tls_port: Option<u16>,
    /// The certificate (PEM; the file may hold a chain) for --tls-port.
    #[arg(long, value_name = "FILE", requires_all = ["tls_key", "tls_port"])]
    pub tls_cert: Option<PathBuf>,
    /// The certificate's private key (PEM) for --tls-port.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Serve TLS only: no plain port (needs --tls-port).
    #[arg(long, requires = "tls_port")]
    pub tls_only: bool,
    /// Serve Prometheus metrics (GET /metrics) and a health check
    /// (GET /healthz) over HTTP on this address, e.g. 127.0.0.1:9420. A
    /// non-loopback address needs --metrics-public.
    #[arg(long, value_name = "ADDR:PORT")]
    pub metrics: Option<std::net::SocketAddr>,
    /// Allow --metrics on an address other machines can reach.
    #[arg(long, requires = "metrics")]
    pub metrics_public: bool,
    /// The log's format: text lines, or one JSON object per line (for log
    /// shippers).
    #[arg(long, value_name = "FORMAT", default_value = "text")]
    pub log_format: LogFormat,
}

/// `--log-format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// One line of words per event.
    Text,
    /// One JSON object per line.
    Json,
}

/// `ferry known-hosts ...`.
#[derive(Debug, Subcommand)]
pub enum KnownHostsCommand {
    /// Trust a server's key: the one given, or the one it presents now
    /// (shown, and asked about).
    Add {
        /// The server, tls://HOST:PORT.
        #[arg(value_name = "tls://HOST:PORT")]
        addr: String,
        /// The key to trust, as `ferry serve` prints it (SHA256:...).
        #[arg(long, value_name = "SHA256:...")]
        fingerprint: Option<String>,
    },
    /// Every trusted server and its key.
    List,
    /// Forget a server's key.
    Remove {
        /// The server, tls://HOST:PORT.
        #[arg(value_name = "tls://HOST:PORT")]
        addr: String,
    },
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

/// The root folder of a server, or its bucket.
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
    #[command(flatten)]
    pub store: StoreArgs,
}
