//! `ferry mget`: every file matching a mask, file by file.

use std::collections::HashSet;

use ferry_core::{ClientEvent, ClientSession, Mask, Name, Request};
use ferry_runtime::Handler;
use ferry_storage::{FileId, Folder, Partial};

use super::get::Keep;
use super::{GetOptions, Pace, Remote, exchange, get, shown, store_error};
use crate::error::ClientError;
use crate::progress::{Progress, Silent};

/// `mget`'s handler (op 50): each announced file into its own partial file.
struct ManyDownloads<'a> {
    remote: Remote,
    folder: &'a Folder,
    count: u32,
    index: u32,
    /// The file being received: its part, size, name, and the identity of
    /// the local file it will replace (as checked).
    current: Option<(Partial, u64, Name, Option<FileId>)>,
    skipping: u64,
    received: u32,
    /// Names an earlier mask brought (written or not): not taken again.
    seen: HashSet<String>,
    /// `--force`: replace local files that ferry did not write.
    force: bool,
    failures: Vec<ClientError>,
    progress: Box<dyn Progress>,
    pace: Pace,
}

impl ManyDownloads<'_> {
    /// Where the local file `name` may be replaced (see [`Keep`]).
    fn keep<'n>(&'n self, name: &'n Name) -> Keep<'n> {
        Keep {
            folder: self.folder,
            local: name,
            force: self.force,
        }
    }

    /// Entry `k` of `n`, `name` of `size` bytes: received into its part,
    /// or skipped (its body read and dropped) if an earlier mask brought
    /// it or the local file it would replace is kept.
    fn begin_entry(&mut self, k: u32, n: u32, name: Name, size: u32) -> Result<(), ClientError> {
        if !self.seen.insert(name.to_string()) {
            self.skipping = size.into();
            return Ok(());
        }
        let opened = self.keep(&name).check_now().and_then(|checked| {
            let part = self.folder.partial(&name);
            Ok((
                part.map_err(|e| store_error("write", name.as_str(), e))?,
                checked,
            ))
        });
        match opened {
            Ok((mut part, checked)) => {
                part.restart()
                    .map_err(|e| ClientError::Local(format!("{name}: {e}")))?;
                self.progress = self.remote.progress(&format!("{k}/{n} {name}"));
                self.progress.start(size.into(), 0);
                self.current = Some((part, size.into(), name, checked));
                if size == 0 {
                    self.finish_current()?;
                }
            }
            Err(e) => {
                self.skipping = size.into();
                self.remote.say(format!("file {k} of {n}: {e}; skipped"));
                self.failures.push(e);
            }
        }
        Ok(())
    }

    fn finish_current(&mut self) -> Result<(), ClientError> {
        if let Some((part, expected, name, checked)) = self.current.take() {
            self.progress.finish();
            if part.len() != expected {
                return Err(ClientError::Protocol(format!(
                    "{name}: received {} of {expected} bytes",
                    part.len()
                )));
            }
            if let Err(e) = self.keep(&name).unchanged(checked) {
                let _ = part.abandon();
                self.remote.say(format!("{e}; skipped"));
                self.failures.push(e);
                return Ok(());
            }
            let path = part.part_name().to_owned();
            part.commit()
                .map_err(|e| ClientError::Local(format!("cannot rename {path} into place: {e}")))?;
            self.received += 1;
        }
        Ok(())
    }
}

impl Handler<ClientSession> for ManyDownloads<'_> {
    type Error = ClientError;

    async fn answer(
        &mut self,
        _: &mut ClientSession,
        event: ClientEvent,
    ) -> Result<(), ClientError> {
        match event {
            ClientEvent::MGetStart { count } => {
                self.count = count;
                self.remote.say(format!("{} match", files(count.into())));
            }
            ClientEvent::MGetEntry(entry) => {
                self.index += 1;
                let (k, n) = (self.index, self.count);
                match (entry.name, entry.size) {
                    (Err(bad), size) => {
                        // Never written: its body, if any, is read and dropped.
                        self.skipping = size.unwrap_or(0).into();
                        let e = ClientError::Protocol(format!(
                            "file {k} of {n}: the server sent a {bad}; skipped"
                        ));
                        self.remote.say(&e);
                        self.failures.push(e);
                    }
                    (Ok(name), None) => {
                        let e = ClientError::Refused(format!(
                            "file {k} of {n}: the server could not read \"{name}\"; skipped"
                        ));
                        self.remote.say(&e);
                        self.failures.push(e);
                    }
                    (Ok(name), Some(size)) => self.begin_entry(k, n, name, size)?,
                }
            }
            ClientEvent::Refused => {
                return Err(ClientError::Refused(
                    "the server refused the mask (empty, too long, not a valid glob, too many matches, or the server could not do it)".into(),
                ));
            }
            _ => {}
        }
        Ok(())
    }

    fn received(&mut self, data: &[u8]) -> Result<(), ClientError> {
        if self.skipping > 0 {
            self.skipping = self.skipping.saturating_sub(data.len() as u64);
            return Ok(());
        }
        let Some((part, expected, ..)) = self.current.as_mut() else {
            return Ok(());
        };
        part.write(data)
            .map_err(|e| ClientError::Local(format!("cannot write {}: {e}", part.part_name())))?;
        self.progress.advance(data.len() as u64);
        self.pace.after(data.len() as u64);
        if part.len() == *expected {
            self.finish_current()?;
        }
        Ok(())
    }
}

/// `ferry mget`: every file matching any of the masks, once. It lists the
/// server and matches the masks as the server does; when the folder
/// already holds some of the matches (or with `--verify`, or several
/// masks), each match is checked, resumed or fetched like a `get`, instead
/// of streaming everything again; otherwise one op 50 streams them all.
/// A server that cannot list its folder (status 1: a listing past its
/// limit, an origin that failed) is asked with op 50 for each mask.
pub async fn mget(
    remote: &Remote,
    folder: &Folder,
    masks_text: &[String],
    options: GetOptions,
) -> Result<(), ClientError> {
    let masks = masks_text
        .iter()
        .map(|text| {
            Mask::new(text, remote.limits()).map_err(|e| {
                ClientError::Usage(format!("bad mask \"{}\": {e}", shown(text.as_bytes())))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let masks_shown = masks_text
        .iter()
        .map(|m| format!("\"{}\"", shown(m.as_bytes())))
        .collect::<Vec<_>>()
        .join(", ");
    let listed = match super::list(remote).await {
        Ok(listed) => listed,
        Err(ClientError::Refused(why)) => {
            remote.say(format!(
                "{why}: asking it for the files of each mask instead (op 50)"
            ));
            return stream(remote, folder, &masks, &masks_shown, options).await;
        }
        Err(e) => return Err(e),
    };
    let mut matches = Vec::new();
    let mut seen = HashSet::new();
    for mask in &masks {
        let matched = ferry_storage::matching(listed.clone(), mask.as_str())
            .map_err(|e| ClientError::Usage(format!("bad mask: {e}")))?;
        matches.extend(matched.into_iter().filter(|e| seen.insert(e.name.clone())));
    }
    if matches.is_empty() {
        return Err(no_match(&masks_shown));
    }
    matches.sort_by(|a, b| a.name.as_bytes().cmp(b.name.as_bytes()));
    let held = matches
        .iter()
        .filter(|e| held_here(folder, &e.name, remote.limits()))
        .count();
    if held > 0 || options.verify || masks.len() > 1 {
        return file_by_file(remote, folder, &matches, held, options).await;
    }
    stream(remote, folder, &masks, &masks_shown, options).await
}

/// Op 50 for each mask in turn, every match written as it streams in; a
/// file an earlier mask brought is not written again.
async fn stream(
    remote: &Remote,
    folder: &Folder,
    masks: &[Mask],
    masks_shown: &str,
    options: GetOptions,
) -> Result<(), ClientError> {
    let mut x = ManyDownloads {
        remote: remote.clone(),
        folder,
        count: 0,
        index: 0,
        current: None,
        skipping: 0,
        received: 0,
        seen: HashSet::new(),
        force: options.force,
        failures: Vec::new(),
        progress: Box::new(Silent),
        pace: remote.pace(),
    };
    let mut matched = 0;
    for mask in masks {
        x.count = 0;
        x.index = 0;
        exchange(remote, Request::MGet { mask: mask.clone() }, &mut x).await?;
        matched += x.count;
    }
    if matched == 0 {
        return Err(no_match(masks_shown));
    }
    remote.say(format!(
        "received {} of {}",
        x.received,
        files(x.seen.len() as u64)
    ));
    match x.failures.into_iter().next() {
        Some(first) => Err(first),
        None => Ok(()),
    }
}

/// Whether the folder holds `name`, whole or partly downloaded.
fn held_here(folder: &Folder, name: &str, limits: &ferry_core::Limits) -> bool {
    let Ok(name) = ferry_core::Name::parse(name.as_bytes(), limits) else {
        return false;
    };
    let (dir, file) = name
        .as_str()
        .rsplit_once('/')
        .unwrap_or(("", name.as_str()));
    folder.open_file(&name).is_ok()
        || folder
            .path()
            .join(dir)
            .join(ferry_storage::part_name(file))
            .exists()
}

/// Gets each match on its own: files already here are checked, parts
/// resumed, the others fetched.
async fn file_by_file(
    remote: &Remote,
    folder: &Folder,
    matches: &[ferry_core::ListEntry],
    held: usize,
    options: GetOptions,
) -> Result<(), ClientError> {
    remote.say(format!(
        "{} match; {held} already here: checking each with the server",
        files(matches.len() as u64)
    ));
    let mut first_failure = None;
    let mut done = 0;
    for entry in matches {
        match get(remote, folder, &entry.name, &entry.name, options).await {
            Ok(()) => done += 1,
            Err(e) => {
                remote.say(format!("{}: {e}; skipped", shown(entry.name.as_bytes())));
                first_failure.get_or_insert(e);
            }
        }
    }
    remote.say(format!(
        "{done} of {} present and checked",
        files(matches.len() as u64)
    ));
    first_failure.map_or(Ok(()), Err)
}

/// No match for any of the masks (each already quoted).
fn no_match(masks: &str) -> ClientError {
    ClientError::Refused(format!("no file on the server matches {masks}"))
}

/// "1 file", "2 files".
fn files(n: u64) -> String {
    if n == 1 {
        "1 file".into()
    } else {
        format!("{n} files")
    }
}
