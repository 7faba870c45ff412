//! `ferry shell`: the interactive client of the assignments, with line
//! editing, history kept between runs, Tab completion, the words ftp and
//! sftp users type, and quotes for names with blanks. Every command runs on
//! a fresh connection.
//!
//! Ctrl-C during a transfer cancels it (a download keeps its partial file)
//! and returns to the prompt; Ctrl-C at the prompt clears the line. When
//! standard input is not a terminal, the first failing command stops the
//! script with its exit code, as `sftp -b` does.

mod complete;
mod words;

use std::cell::RefCell;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::rc::Rc;

use async_signal::{Signal, Signals};
use ferry_core::{Credentials, Limits};
use ferry_storage::Folder;
use futures_lite::{StreamExt, future};
use rustyline::error::ReadlineError;
use rustyline::history::FileHistory;
use rustyline::{Config, Editor};

use ferry_client::{self as client, ClientError, GetOptions, Remote};

use crate::interrupt::{cancellable, drain};
use complete::{Known, ShellHelper};

/// The commands, as HELP lists them, and what each takes.
pub(crate) const COMMANDS: &[(&str, &str)] = &[
    (
        "LIST",
        "                 list the server's files (also: ls, dir)",
    ),
    (
        "DOWNLOAD",
        " [-f] name... download files into the local folder (also: get; -f replaces local files changed here)",
    ),
    (
        "UPLOAD",
        " [-r] name...   upload files (-r: folders) of the local folder (also: put)",
    ),
    ("RESUME", " [-f] name...   continue interrupted downloads"),
    (
        "MGET",
        " [-f] mask...     download every file matching a glob, e.g. '*.jpg' '*.png'",
    ),
    (
        "LOGIN",
        " user            log in: later commands act in your private folder",
    ),
    ("LOGOUT", "                back to the public folder"),
    ("LCD", " folder            change the local folder"),
    ("LPWD", "                  show the local folder"),
    ("HELP", "                  this text"),
    ("QUIT", "                  leave (also: exit, bye)"),
];

/// A command, whatever word named it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Command {
    List,
    Download,
    Upload,
    Resume,
    Mget,
    Login,
    Logout,
    Lcd,
    Lpwd,
    Help,
    Quit,
}

impl Command {
    /// The command a word names (any letter case, ftp's words too).
    pub(crate) fn parse(word: &str) -> Option<Command> {
        Some(match word.to_ascii_uppercase().as_str() {
            "LIST" | "LS" | "DIR" => Command::List,
            "DOWNLOAD" | "GET" => Command::Download,
            "UPLOAD" | "PUT" => Command::Upload,
            "RESUME" | "REGET" => Command::Resume,
            "MGET" => Command::Mget,
            "LOGIN" | "USER" => Command::Login,
            "LOGOUT" => Command::Logout,
            "LCD" => Command::Lcd,
            "LPWD" => Command::Lpwd,
            "HELP" | "?" => Command::Help,
            "QUIT" | "EXIT" | "BYE" => Command::Quit,
            _ => return None,
        })
    }
}

/// Runs the shell until QUIT or the end of input.
pub fn run(remote: Remote, folder: Folder) -> Result<(), ClientError> {
    let interactive = std::io::stdin().is_terminal();
    if let Some(credentials) = &remote.upstream.auth {
        // --user: a wrong password stops here (exit 6), not at the first command.
        let entries = smol::block_on(client::list(&remote))?;
        println!(
            "logged in as {}: {}",
            credentials.user(),
            files_in_private(entries.len())
        );
    }
    let known = Rc::new(RefCell::new(Known {
        remote,
        // Shown whole, as after an LCD.
        dir: folder
            .path()
            .canonicalize()
            .unwrap_or_else(|_| folder.path().to_owned()),
        names: None,
    }));
    let mut shell = Shell {
        known: known.clone(),
        folder,
        interactive,
    };
    let config = Config::builder().auto_add_history(false).build();
    let mut editor: Editor<ShellHelper, FileHistory> = Editor::with_config(config)
        .map_err(|e| ClientError::Local(format!("cannot start the shell: {e}")))?;
    editor.set_helper(Some(ShellHelper(known.clone())));
    // Watched from here on, after the editor set its own handler: a Ctrl-C
    // during a transfer reaches us (at the prompt it is a key, not a signal).
    let mut signals = Signals::new([Signal::Int])
        .map_err(|e| ClientError::Local(format!("cannot watch for Ctrl-C: {e}")))?;
    let history = interactive.then(history_path).flatten();
    if let Some(path) = &history {
        let _ = editor.load_history(path);
    }
    println!(
        "ferry shell for {}; type HELP for the commands",
        known.borrow().remote.upstream.addr
    );
    loop {
        let prompt = match &known.borrow().remote.upstream.auth {
            Some(c) => format!("ferry {}> ", c.user()),
            None => "ferry> ".to_owned(),
        };
        let line = match editor.readline(&prompt) {
            Ok(line) => line,
            // Ctrl-C at the prompt clears the line, and nothing else.
            Err(ReadlineError::Interrupted) => continue,
            Err(ReadlineError::Eof) => break,
            Err(e) => return Err(ClientError::Local(format!("cannot read the command: {e}"))),
        };
        if line.trim().is_empty() {
            continue;
        }
        if let Some(path) = &history {
            let _ = editor.add_history_entry(line.trim());
            let _ = editor.append_history(path);
        }
        let result = shell.line(&line, &mut signals);
        // The server may have changed: Tab lists it again when needed.
        known.borrow_mut().names = None;
        match result {
            Ok(Flow::Go) => {}
            Ok(Flow::Quit) => break,
            // A script stops at its first failure, with its code (and
            // its message, said once by the caller).
            Err(e) if !interactive => return Err(e),
            Err(e) => eprintln!("error: {e}"),
        }
    }
    Ok(())
}

/// Whether the shell goes on.
enum Flow {
    Go,
    Quit,
}

/// The shell's state between commands.
struct Shell {
    known: Rc<RefCell<Known>>,
    folder: Folder,
    interactive: bool,
}

impl Shell {
    /// Runs one line.
    fn line(&mut self, line: &str, signals: &mut Signals) -> Result<Flow, ClientError> {
        let words = words::split(line).map_err(ClientError::Usage)?;
        let Some((first, args)) = words.split_first() else {
            return Ok(Flow::Go);
        };
        let Some(command) = Command::parse(first) else {
            let names: Vec<&str> = COMMANDS.iter().map(|(word, _)| *word).collect();
            let hint = match words::closest(first, &names) {
                Some(near) => format!("; did you mean {near}?"),
                None => "; type HELP".to_owned(),
            };
            return Err(ClientError::Usage(format!(
                "unknown command {}{hint}",
                client::shown(first.as_bytes())
            )));
        };
        let remote = self.known.borrow().remote.clone();
        match command {
            Command::Quit => return Ok(Flow::Quit),
            Command::Help => print_help(),
            Command::List => cancellable(signals, client::ls(&remote, false))?,
            Command::Download | Command::Resume => {
                // `-f`: replace local files even if not what ferry wrote.
                let (force, names) = option(args, "-f", "--force");
                need(first, names, "file names")?;
                let options = GetOptions {
                    force_resume: command == Command::Resume,
                    force,
                    ..GetOptions::default()
                };
                self.each(names, |shell, name| {
                    cancellable(
                        signals,
                        client::get(&remote, &shell.folder, name, name, options),
                    )
                })?;
            }
            Command::Upload => {
                // `-r`: folders, every file beneath them.
                let (recursive, names) = option(args, "-r", "--recursive");
                need(first, names, "file names")?;
                self.each(names, |shell, name| {
                    let folder = &shell.folder;
                    match recursive && shell.known.borrow().dir.join(name).is_dir() {
                        true => cancellable(signals, client::put_tree(&remote, folder, name, None)),
                        false => cancellable(signals, client::put(&remote, folder, name, None)),
                    }
                })?;
                self.known.borrow_mut().names = None;
            }
            Command::Mget => {
                let (force, masks) = option(args, "-f", "--force");
                need(first, masks, "one or more masks")?;
                let options = GetOptions {
                    force,
                    ..GetOptions::default()
                };
                cancellable(signals, client::mget(&remote, &self.folder, masks, options))?;
            }
            Command::Login => {
                need(first, args, "a user name")?;
                self.login(&args[0], signals)?;
            }
            Command::Logout => {
                let mut known = self.known.borrow_mut();
                known.remote.upstream.auth = None;
                known.names = None;
                println!("logged out: commands act on the public folder");
            }
            Command::Lcd => {
                need(first, args, "a folder")?;
                self.lcd(&args[0])?;
            }
            Command::Lpwd => println!("{}", self.known.borrow().dir.display()),
        }
        Ok(Flow::Go)
    }

    /// Runs `run` for each name. At the prompt all are tried and each
    /// failure is said as it happens; in a script the first failure stops
    /// it and is the command's.
    fn each(
        &mut self,
        names: &[String],
        mut run: impl FnMut(&mut Self, &str) -> Result<(), ClientError>,
    ) -> Result<(), ClientError> {
        for name in names {
            match run(self, name) {
                Err(e @ ClientError::Interrupted(_)) => return Err(e),
                // At the prompt every failure is said as it happens, and the
                // other names are still tried.
                Err(e) if names.len() > 1 && self.interactive => eprintln!("error: {e}"),
                Err(e) => return Err(e),
                Ok(()) => {}
            }
        }
        Ok(())
    }

    fn login(&mut self, user: &str, signals: &mut Signals) -> Result<(), ClientError> {
        drain(signals);
        let pass = password(user)?;
        // A Ctrl-C during the password prompt (a signal there) cancels.
        if smol::block_on(future::poll_once(signals.next())).is_some() {
            return Err(interrupted("LOGIN cancelled (Ctrl-C)"));
        }
        let credentials = Credentials::new(user, &pass, &Limits::default())
            .map_err(|e| ClientError::Usage(format!("cannot log in as that user: {e}")))?;
        let mut trial = self.known.borrow().remote.clone();
        trial.upstream.auth = Some(credentials);
        let mut entries = Vec::new();
        cancellable(signals, async {
            entries = client::list(&trial).await?;
            Ok(())
        })?;
        println!("logged in as {user}: {}", files_in_private(entries.len()));
        let mut known = self.known.borrow_mut();
        known.remote = trial;
        known.names = None;
        Ok(())
    }

    fn lcd(&mut self, to: &str) -> Result<(), ClientError> {
        let dir = self.known.borrow().dir.join(to);
        let folder = Folder::open(&dir, Limits::default()).map_err(|e| {
            ClientError::Local(format!("cannot use the folder {}: {e}", dir.display()))
        })?;
        let dir = dir.canonicalize().unwrap_or(dir);
        println!("local folder: {}", dir.display());
        self.folder = folder;
        self.known.borrow_mut().dir = dir;
        Ok(())
    }
}

fn interrupted(what: &str) -> ClientError {
    ClientError::Interrupted(what.to_owned())
}

fn print_help() {
    println!(
        "Commands (any letter case; each runs on a fresh connection; quote names with blanks):"
    );
    for (word, what) in COMMANDS {
        println!("  {word}{what}");
    }
}

/// Whether `args` start with the option `short` (or `long`), and the rest.
fn option<'a>(args: &'a [String], short: &str, long: &str) -> (bool, &'a [String]) {
    match args.first() {
        Some(first) if first == short || first == long => (true, &args[1..]),
        _ => (false, args),
    }
}

/// Refuses `command` without the `what` it needs.
fn need(command: &str, args: &[String], what: &str) -> Result<(), ClientError> {
    match args.is_empty() {
        true => Err(ClientError::Usage(format!(
            "{} needs {what}",
            command.to_uppercase()
        ))),
        false => Ok(()),
    }
}

/// "1 file in your private folder", "3 files …".
fn files_in_private(n: usize) -> String {
    match n {
        1 => "1 file in your private folder".into(),
        n => format!("{n} files in your private folder"),
    }
}

/// Where the shell keeps its history: `$XDG_STATE_HOME/ferry/history`, or
/// `~/.local/state/ferry/history`.
fn history_path() -> Option<PathBuf> {
    Some(ferry_storage::written::state_dir()?.join("history"))
}

/// A password from `FERRY_PASSWORD`, or a prompt that does not echo.
pub fn password(user: &str) -> Result<String, ClientError> {
    if let Ok(pass) = std::env::var("FERRY_PASSWORD") {
        return Ok(pass);
    }
    rpassword::prompt_password(format!("password for {user}: ")).map_err(|e| {
        ClientError::Usage(format!(
            "cannot read a password ({e}); set FERRY_PASSWORD instead"
        ))
    })
}
