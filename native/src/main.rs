//! The `ferry` binary: parses the command line and dispatches.

#![forbid(unsafe_code)]

mod cli;
mod config;
mod demo;
mod drive;
mod listen;
mod server;
mod users;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info"))
        .format_target(false)
        .init();
    let result = match cli.command {
        Command::Serve(args) => match config::ServeConfig::try_from_args(args) {
            Ok(config) => server::run(config).map_err(|e| (2, e)),
            Err(e) => Err((2, e)),
        },
        Command::User(command) => users::run(command).map_err(|e| (1, e)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err((code, e)) => {
            eprintln!("ferry: {e:#}");
            ExitCode::from(code)
        }
    }
}
