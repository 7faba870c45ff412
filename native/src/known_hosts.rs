//! `ferry known-hosts`: the keys of TLS servers trusted on first use, and
//! the question asked on a terminal when a server presents a new one.

use std::io::{BufRead, IsTerminal, Write};

use ferry_client::trust::{self, Trust};
use ferry_client::{ClientError, Remote, Verbosity};
use ferry_core::Limits;
use ferry_runtime::upstream::Upstream;

use crate::cli::KnownHostsCommand;

/// Whether a question can be asked: standard input and error are a
/// terminal.
pub fn can_ask() -> bool {
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

/// Asks `question` on the terminal; anything but yes is no.
pub fn ask(question: &str) -> bool {
    eprint!("{question} [y/N] ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    if std::io::stdin().lock().read_line(&mut answer).is_err() {
        return false;
    }
    matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes")
}

/// Runs `ferry known-hosts ...`.
pub fn run(command: KnownHostsCommand) -> Result<(), ClientError> {
    let path = trust::known_hosts_path();
    match command {
        KnownHostsCommand::List => {
            for (address, key) in trust::entries(&path)? {
                println!("{address} {key}");
            }
            Ok(())
        }
        KnownHostsCommand::Remove { addr } => match trust::remove(&path, &tls_address(&addr)?)? {
            true => {
                eprintln!("{addr} forgotten");
                Ok(())
            }
            false => Err(ClientError::Usage(format!("{addr} is not a known host"))),
        },
        KnownHostsCommand::Add {
            addr,
            fingerprint: Some(key),
        } => {
            if !key.starts_with("SHA256:") {
                return Err(ClientError::Usage(format!(
                    "--fingerprint {key}: write it as `ferry serve` prints it, SHA256:..."
                )));
            }
            trust::add(&path, &tls_address(&addr)?, &key)?;
            eprintln!("{addr} trusted with the key {key}");
            Ok(())
        }
        KnownHostsCommand::Add {
            addr,
            fingerprint: None,
        } => add_presented(&tls_address(&addr)?),
    }
}

/// `tls://HOST:PORT`, checked.
fn tls_address(addr: &str) -> Result<String, ClientError> {
    let Some(host_port) = addr.strip_prefix("tls://") else {
        return Err(ClientError::Usage(format!(
            "{addr}: known hosts are TLS servers, written tls://HOST:PORT"
        )));
    };
    ferry_client::check_address(host_port)?;
    Ok(addr.to_owned())
}

/// Connects to `address`, shows the key it presents and asks whether to
/// trust it.
fn add_presented(address: &str) -> Result<(), ClientError> {
    let host_port = address.trim_start_matches("tls://");
    let (config, trust) = Trust::new(address, None, trust::known_hosts_path())?;
    if let Some(known) = trust.known_key() {
        eprintln!("{address} is known already, with the key {known}");
        return Ok(());
    }
    let remote = Remote {
        upstream: Upstream {
            addr: host_port.to_owned(),
            auth: None,
            limits: Limits::default(),
            limit_rate: None,
            tls: Some(config),
        },
        verbosity: Verbosity::Quiet,
        progress: None,
        trust: Some(trust),
        ask: can_ask().then_some(ask as fn(&str) -> bool),
    };
    // A listing is the lightest request: its handshake shows the key.
    smol::block_on(ferry_client::list(&remote))?;
    eprintln!("{address} is trusted");
    Ok(())
}
