//! The `ferry` binary, the thin top of the native side: parses the command
//! line, checks settings, and dispatches to the server (`ferry-server`),
//! the client commands (`ferry-client`), the shell or the decoder's
//! renderer; owns the terminal (progress bars, Ctrl-C) and the exit codes.

#![forbid(unsafe_code)]
// Doc comments on the command line types are its --help text, where
// `[::1]:20000` and `private/<user>` are meant literally, not as doc links or HTML.
#![allow(rustdoc::broken_intra_doc_links, rustdoc::invalid_html_tags)]

mod cli;
mod config;
mod decode;
mod error;
mod interrupt;
mod known_hosts;
mod logging;
mod progress;
mod shell;
mod users;

use std::process::ExitCode;

use clap::{CommandFactory, Parser};
use ferry_core::{Credentials, Limits};
use ferry_runtime::upstream::Upstream;
use ferry_storage::Folder;

use crate::cli::{Cli, Command, DirArg, KeepArgs, ServerArgs};
use ferry_client::{self as client, ClientError, GetOptions, Remote, Trust, Verbosity};

use crate::error::ProcessExit;

fn main() -> ExitCode {
    let cli = Cli::parse();
    logging::init(match &cli.command {
        Command::Serve(args) => args.front.log_format,
        Command::Cache(args) => args.front.log_format,
        _ => cli::LogFormat::Text,
    });
    let result = match cli.command {
        Command::Serve(args) => match config::serve(args) {
            Ok(config) => ferry_server::run(config).map_err(|e| (2, format!("{e:#}"))),
            Err(e) => Err((2, format!("{e:#}"))),
        },
        Command::Cache(args) => match config::cache(args) {
            Ok(config) => ferry_server::run_cache(config).map_err(|e| (2, format!("{e:#}"))),
            Err(e) => Err((2, format!("{e:#}"))),
        },
        Command::User(command) => users::run(command).map_err(|e| (1, format!("{e:#}"))),
        Command::KnownHosts(command) => {
            known_hosts::run(command).map_err(|e| (e.exit_code(), e.to_string()))
        }
        Command::Completions { shell } => {
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "ferry", &mut script);
            print_all("the completion script", &script)
        }
        Command::Man => {
            let mut page = Vec::new();
            clap_mangen::Man::new(Cli::command())
                .render(&mut page)
                .map_err(|e| (1, format!("cannot make the manual page: {e}")))
                .and_then(|()| print_all("the manual page", &page))
        }
        Command::Decode {
            file,
            json,
            ports,
            keylog,
            pt,
        } => decode::run(&file, json, &ports, keylog.as_deref(), pt)
            .map_err(|e| (e.exit_code(), e.to_string())),
        client_command => run_client(client_command).map_err(|e| (e.exit_code(), e.to_string())),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err((code, message)) => {
            eprintln!("ferry: {message}");
            ExitCode::from(code)
        }
    }
}

/// Writes `text` (`what`) to standard output. A reader that stopped early
/// (`ferry man | head`) is no failure.
fn print_all(what: &str, text: &[u8]) -> Result<(), (u8, String)> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(text).and_then(|()| stdout.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err((1, format!("cannot write {what}: {e}")))
        }
        _ => Ok(()),
    }
}

fn remote(args: &ServerArgs) -> Result<Remote, ClientError> {
    let mut limits = Limits::default();
    if !(args.timeout.is_finite() && args.timeout > 0.0 && args.timeout < 1e9) {
        return Err(ClientError::Usage(format!(
            "--timeout must be a positive number of seconds, not {}",
            args.timeout
        )));
    }
    limits.timeout_us = (args.timeout * 1e6) as u64;
    let (addr, tls) = match args.addr.strip_prefix("tls://") {
        Some(addr) => (addr, true),
        None => (args.addr.as_str(), false),
    };
    client::check_address(addr)?;
    if args.ca.is_some() && !tls {
        return Err(ClientError::Usage(format!(
            "--ca is for a TLS server: write tls://{addr}"
        )));
    }
    let (tls, trust) = match tls {
        true => {
            let address = format!("tls://{addr}");
            let known_hosts = client::trust::known_hosts_path();
            let (config, trust) = Trust::new(&address, args.ca.as_deref(), known_hosts)?;
            (Some(config), Some(trust))
        }
        false => (None, None),
    };
    let auth = match &args.user {
        Some(user) => {
            let pass = shell::password(user)?;
            Some(
                Credentials::new(user, &pass, &limits)
                    .map_err(|e| ClientError::Usage(format!("--user: {e}")))?,
            )
        }
        None => None,
    };
    let limit_rate = match &args.limit_rate {
        Some(rate) => Some(
            ferry_server::settings::parse_size(rate)
                .map_err(|e| ClientError::Usage(format!("--limit-rate {rate} {e}")))?,
        ),
        None => None,
    };
    let verbosity = match (args.quiet, args.verbose) {
        (true, _) => Verbosity::Quiet,
        (_, true) => Verbosity::Verbose,
        _ => Verbosity::Normal,
    };
    Ok(Remote {
        upstream: Upstream {
            addr: addr.to_owned(),
            auth,
            limits,
            limit_rate,
            tls,
        },
        verbosity,
        progress: Some(progress::bar),
        trust,
        ask: known_hosts::can_ask().then_some(known_hosts::ask),
    })
}

/// The local folder; for downloads (`create`) it is made when missing.
fn folder(dir: &DirArg, create: bool) -> Result<Folder, ClientError> {
    if create && !dir.dir.exists() {
        std::fs::create_dir_all(&dir.dir).map_err(|e| {
            ClientError::Local(format!(
                "cannot create the folder {}: {e}",
                dir.dir.display()
            ))
        })?;
    }
    Folder::open(&dir.dir, Limits::default()).map_err(|e| {
        ClientError::Local(format!(
            "cannot use the local folder {}: {e} (create it, or pick another with --dir)",
            dir.dir.display()
        ))
    })
}

/// The folder and the file name of `-o FILE`.
fn split_output(path: &std::path::Path) -> Result<(std::path::PathBuf, String), ClientError> {
    let file = path.file_name().and_then(|f| f.to_str()).ok_or_else(|| {
        ClientError::Usage(format!("-o {}: name a file, not a folder", path.display()))
    })?;
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => std::path::PathBuf::from("."),
    };
    Ok((parent, file.to_owned()))
}

/// Runs several transfers; all are tried, the first failure decides the exit code.
fn each(
    items: &[String],
    mut run: impl FnMut(&str) -> Result<(), ClientError>,
) -> Result<(), ClientError> {
    let mut first = None;
    for item in items {
        if let Err(e) = run(item) {
            if let ClientError::Interrupted(_) = e {
                return Err(e);
            }
            if items.len() > 1 {
                eprintln!("ferry: {e}");
            }
            first.get_or_insert(e);
        }
    }
    first.map_or(Ok(()), Err)
}

/// Runs a download until it ends or Ctrl-C cancels it (exit 130, saying
/// that the same command resumes it).
fn until_ctrl_c(
    transfer: impl Future<Output = Result<(), ClientError>>,
) -> Result<(), ClientError> {
    match async_signal::Signals::new([async_signal::Signal::Int]) {
        Ok(mut signals) => interrupt::cancellable(&mut signals, transfer),
        // Without a handler, Ctrl-C ends the process as usual.
        Err(_) => smol::block_on(transfer),
    }
}

fn run_client(command: Command) -> Result<(), ClientError> {
    match command {
        Command::Ls { server, json } => smol::block_on(client::ls(&remote(&server)?, json)),
        Command::Get {
            server,
            names,
            dir,
            output,
            keep,
        } => get(&server, &names, &dir, output, &keep),
        Command::Put {
            server,
            files,
            dir,
            target,
            recursive,
        } => {
            if target.is_some() && files.len() > 1 {
                return Err(ClientError::Usage(
                    "--as names one file or folder; give a single FILE with it".into(),
                ));
            }
            let (remote, folder) = (remote(&server)?, folder(&dir, false)?);
            each(&files, |file| {
                let target = target.as_deref();
                match recursive && dir.dir.join(file).is_dir() {
                    true => smol::block_on(client::put_tree(&remote, &folder, file, target)),
                    false => smol::block_on(client::put(&remote, &folder, file, target)),
                }
            })
        }
        Command::Resume {
            server,
            name,
            dir,
            force,
        } => {
            let (remote, folder) = (remote(&server)?, folder(&dir, true)?);
            let options = GetOptions {
                force_resume: true,
                force,
                ..GetOptions::default()
            };
            until_ctrl_c(client::get(&remote, &folder, &name, &name, options))
        }
        Command::Mget {
            server,
            masks,
            dir,
            keep,
        } => mget(&server, &masks, &dir, &keep),
        Command::Shell { server, dir } => shell::run(remote(&server)?, folder(&dir, true)?),
        Command::Serve(_)
        | Command::Cache(_)
        | Command::User(_)
        | Command::Completions { .. }
        | Command::KnownHosts(_)
        | Command::Decode { .. }
        | Command::Man => {
            unreachable!("dispatched in main")
        }
    }
}

/// `ferry get`: into the folder, to `-o FILE`, or to standard output or
/// another non-regular file.
fn get(
    server: &ServerArgs,
    names: &[String],
    dir: &DirArg,
    output: Option<std::path::PathBuf>,
    keep: &KeepArgs,
) -> Result<(), ClientError> {
    let remote = remote(server)?;
    let options = get_options(keep);
    match output {
        Some(_) if names.len() > 1 => Err(ClientError::Usage(
            "-o names one file; give a single NAME with it".into(),
        )),
        Some(path) if path.as_os_str() == "-" => {
            let out = Box::new(std::io::stdout().lock());
            smol::block_on(client::get_to(&remote, &names[0], out, "standard output"))
        }
        // A FIFO, a device (/dev/null), a socket: written straight
        // to, as curl and wget do; nothing to rename into place.
        Some(path) if std::fs::metadata(&path).is_ok_and(|m| !m.is_file() && !m.is_dir()) => {
            let out = std::fs::OpenOptions::new()
                .write(true)
                .open(&path)
                .map_err(|e| {
                    ClientError::Local(format!("cannot write to {}: {e}", path.display()))
                })?;
            let target = path.display().to_string();
            smol::block_on(client::get_to(&remote, &names[0], Box::new(out), &target))
        }
        Some(path) => {
            let (parent, file) = split_output(&path)?;
            let folder = folder(&DirArg { dir: parent }, true)?;
            until_ctrl_c(client::get(&remote, &folder, &names[0], &file, options))
        }
        None => {
            let folder = folder(dir, true)?;
            each(names, |name| {
                until_ctrl_c(client::get(&remote, &folder, name, name, options))
            })
        }
    }
}

/// `ferry mget`: every file matching the masks, into the folder.
fn mget(
    server: &ServerArgs,
    masks: &[String],
    dir: &DirArg,
    keep: &KeepArgs,
) -> Result<(), ClientError> {
    // Every argument a local file and none a glob: the shell
    // expanded an unquoted mask into the names it matched here.
    let expanded = masks.len() > 1
        && masks
            .iter()
            .all(|m| !m.contains(['*', '?', '[', '{']) && dir.dir.join(m).is_file());
    if expanded {
        let shown: Vec<_> = masks.iter().take(3).map(|m| m.as_str()).collect();
        return Err(ClientError::Usage(format!(
            "mget got {} names of local files ({}{}): the shell probably expanded an unquoted mask; quote it, as in ferry mget {} '*.jpg'",
            masks.len(),
            shown.join(", "),
            if masks.len() > 3 { ", ..." } else { "" },
            server.addr
        )));
    }
    let (remote, folder) = (remote(server)?, folder(dir, true)?);
    let options = get_options(keep);
    until_ctrl_c(client::mget(&remote, &folder, masks, options))
}

/// What `--no-clobber`, `--verify` and `--force` ask of a download.
fn get_options(keep: &KeepArgs) -> GetOptions {
    GetOptions {
        force_resume: false,
        no_clobber: keep.no_clobber,
        verify: keep.verify,
        force: keep.force,
    }
}

#[cfg(test)]
mod tests {
    use super::client::check_address;
    use crate::error::ProcessExit;

    #[test]
    fn addresses_need_a_host_and_a_port_and_ipv6_needs_brackets() {
        for good in [
            "127.0.0.1:20000",
            "localhost:1",
            "[::1]:20000",
            "[fe80::1%eth0]:80",
        ] {
            assert!(check_address(good).is_ok(), "{good}");
        }
        let says = |addr: &str| check_address(addr).unwrap_err().to_string();
        assert!(says("::1").contains("[::1]:20000"), "{}", says("::1"));
        assert!(
            says("::1:20000").contains("in brackets"),
            "{}",
            says("::1:20000")
        );
        assert!(says("[::1]").contains("has no port"), "{}", says("[::1]"));
        assert!(says("host").contains("has no port"));
        assert!(says("host:abc").contains("from 1 to 65535"));
        assert!(says("host:99999").contains("from 1 to 65535"));
        assert!(says("host:0").contains("from 1 to 65535"));
        assert!(says(":20000").contains("has no host"));
        let port = says("20000");
        assert!(
            port.contains("has no host") && port.ends_with("127.0.0.1:20000"),
            "{port}"
        );
        assert!(
            says("99999").ends_with("127.0.0.1:20000"),
            "{}",
            says("99999")
        );
        // A URL: the form to type instead, itself a valid address.
        for (url, instead) in [
            ("http://127.0.0.1:8080/a.txt", "127.0.0.1:8080"),
            ("https://example.com/x", "example.com:20000"),
            ("ftp://host:99999", "127.0.0.1:20000"),
        ] {
            let said = says(url);
            let scheme = url.split(':').next().unwrap();
            assert!(
                said.contains(&format!("not {scheme}:"))
                    && said.ends_with(&format!("for example {instead}")),
                "{said}"
            );
        }
        for bad in ["::1", "[::1]", "host:abc", "host:99999"] {
            assert_eq!(check_address(bad).unwrap_err().exit_code(), 2, "{bad}");
        }
    }
}
