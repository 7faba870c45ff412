//! Tab completion for the shell: command names, the server's file names
//! for downloads (its listing, fetched once and again after an upload or a
//! login), local names for uploads and folders for LCD.

use std::cell::RefCell;
use std::path::PathBuf;
use std::rc::Rc;

use ferry_core::Name;
use rustyline::completion::{Completer, Pair};
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::validate::Validator;
use rustyline::{Context, Helper};

use super::words::quote;
use super::{COMMANDS, Command};
use ferry_client::{self as client, Remote};

/// How long Tab waits for the server's listing.
const COMPLETION_TIMEOUT_US: u64 = 2_000_000;

/// What completion needs to know, shared with the shell's loop.
#[derive(Debug)]
pub struct Known {
    /// The server, as the next command will reach it (after any LOGIN).
    pub remote: Remote,
    /// The local folder (LCD changes it).
    pub dir: PathBuf,
    /// The server's names, once listed; `None` to list again.
    pub names: Option<Vec<String>>,
}

/// A completion: the text, and whether it is a local folder.
type Choice = (String, bool);

/// The rustyline helper: completion only.
#[derive(Debug)]
pub struct ShellHelper(pub Rc<RefCell<Known>>);

impl Completer for ShellHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let before = &line[..pos];
        let start = before.rfind(char::is_whitespace).map_or(0, |i| {
            i + before[i..].chars().next().map_or(1, char::len_utf8)
        });
        let typed = before[start..].trim_start_matches(['\'', '"']);
        let first = before[..start].split_whitespace().next();
        let choices: Vec<Choice> = match first {
            None => {
                let upper = !typed.chars().any(|c| c.is_ascii_lowercase());
                COMMANDS
                    .iter()
                    .filter(|(word, _)| word.starts_with(&typed.to_ascii_uppercase()))
                    .map(|(word, _)| {
                        let word = if upper && !typed.is_empty() {
                            word.to_string()
                        } else {
                            word.to_ascii_lowercase()
                        };
                        (word, false)
                    })
                    .collect()
            }
            Some(command) => match Command::parse(command) {
                Some(Command::Download | Command::Resume | Command::Mget) => self
                    .remote_names()
                    .into_iter()
                    .map(|name| (name, false))
                    .collect(),
                Some(Command::Upload) => self.local(typed, false),
                Some(Command::Lcd) => self.local(typed, true),
                _ => Vec::new(),
            },
        };
        let candidates = choices
            .into_iter()
            .filter(|(name, _)| name.starts_with(typed))
            // A folder ends in '/' to go on typing inside it; a blank after
            // anything else, as shells complete.
            .map(|(name, folder)| Pair {
                replacement: match folder {
                    true => quote(&format!("{name}/")),
                    false => format!("{} ", quote(&name)),
                },
                display: name,
            })
            .collect();
        Ok((start, candidates))
    }
}

impl ShellHelper {
    fn remote_names(&self) -> Vec<String> {
        let mut known = self.0.borrow_mut();
        if known.names.is_none() {
            // The terminal is in raw mode (Ctrl-C is a key): ask briefly,
            // and after a failure do not ask again before the next command.
            let mut quick = known.remote.clone();
            quick.upstream.limits.timeout_us =
                quick.upstream.limits.timeout_us.min(COMPLETION_TIMEOUT_US);
            let listed = smol::block_on(client::list(&quick)).unwrap_or_default();
            // Only names that obey the protocol's rules (no control or
            // bidi characters) are shown on the terminal.
            let limits = known.remote.limits();
            let names = listed
                .into_iter()
                .filter(|e| Name::parse(e.name.as_bytes(), limits).is_ok())
                .map(|e| e.name)
                .collect();
            known.names = Some(names);
        }
        known.names.clone().unwrap_or_default()
    }

    /// What is in the local folder's subfolder that `typed` is in (files
    /// and folders, or only folders), with the path typed so far.
    fn local(&self, typed: &str, only_folders: bool) -> Vec<Choice> {
        let within = typed.rfind('/').map_or("", |i| &typed[..=i]);
        let dir = self.0.borrow().dir.join(within);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return Vec::new();
        };
        let mut names: Vec<Choice> = entries
            .flatten()
            .filter_map(|e| {
                let folder = e.file_type().is_ok_and(|t| t.is_dir());
                let name = e.file_name().into_string().ok()?;
                let wanted =
                    (folder || !only_folders) && !name.ends_with(ferry_storage::PART_SUFFIX);
                wanted.then(|| (format!("{within}{name}"), folder))
            })
            .collect();
        names.sort();
        names
    }
}

impl Hinter for ShellHelper {
    type Hint = String;
}

impl Highlighter for ShellHelper {}

impl Validator for ShellHelper {}

impl Helper for ShellHelper {}
