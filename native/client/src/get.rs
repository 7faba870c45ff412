//! `ferry get` and `ferry resume`: one file into its partial file (locked,
//! so two downloads never share one), resumed with op 40 when a part is
//! held, renamed into place only when complete.
//!
//! A file already complete locally is checked, not fetched again: op 40 with
//! its size and MD5 says it is up to date, or sends only what the server's
//! file grew by (appended to a copy that replaces the file when whole), or
//! says it changed (then it is downloaded again and replaced).

use std::io::Write;

use ferry_core::{ClientEvent, ClientSession, EMPTY_MD5, Name, Request, ResumeOutcome, hex};
use ferry_runtime::Handler;
use ferry_storage::{FileId, Folder, OpenFile, Partial, StoreError};

use super::{Pace, Remote, exchange, human, local_name, shown, store_error};
use crate::error::ClientError;
use crate::progress::Progress;

/// What `get` does besides downloading.
#[derive(Debug, Clone, Copy, Default)]
pub struct GetOptions {
    /// `ferry resume`: ask with op 40 even when nothing is held.
    pub force_resume: bool,
    /// Never replace a local file that exists.
    pub no_clobber: bool,
    /// Check the finished file with the server (op 40 at its end) before it
    /// takes the place of the target.
    pub verify: bool,
    /// Replace a local file even if it is not what ferry last wrote there.
    pub force: bool,
}

/// A download's handler: the server's answers and bytes into the partial
/// file.
struct Downloading {
    name: String,
    part: Partial,
    /// A complete local copy being checked: copied into the part if the
    /// server's file grew past it.
    base: Option<OpenFile>,
    up_to_date: bool,
    expected: Option<u64>,
    mismatch: bool,
    progress: Box<dyn Progress>,
    pace: Pace,
}

impl Handler<ClientSession> for Downloading {
    type Error = ClientError;

    async fn answer(
        &mut self,
        _: &mut ClientSession,
        event: ClientEvent,
    ) -> Result<(), ClientError> {
        let shown = shown(self.name.as_bytes());
        match event {
            ClientEvent::File { size } => {
                self.expected = Some(size.into());
                self.progress.start(size.into(), 0);
            }
            ClientEvent::Resume(ResumeOutcome::Ok { remaining }) => {
                if let Some(base) = self.base.take() {
                    if remaining == 0 {
                        self.up_to_date = true;
                        return Ok(());
                    }
                    self.part.append_from(&base.file, base.size).map_err(|e| {
                        ClientError::Local(format!(
                            "cannot copy {shown} into {}: {e}",
                            self.part.part_name()
                        ))
                    })?;
                }
                let total = self.part.len() + u64::from(remaining);
                self.expected = Some(total);
                self.progress.start(total, self.part.len());
            }
            ClientEvent::Resume(ResumeOutcome::Mismatch) => self.mismatch = true,
            ClientEvent::Resume(ResumeOutcome::NoSuchFile) => {
                return Err(ClientError::Refused(format!(
                    "the server has no file \"{shown}\""
                )));
            }
            ClientEvent::Refused => {
                let hint = if self.name.contains(['*', '?', '[']) {
                    format!(
                        "; to download every file matching a mask, use: ferry mget ADDR '{shown}'"
                    )
                } else {
                    String::new()
                };
                return Err(ClientError::Refused(format!(
                    "the server refused \"{shown}\": no such file, not a regular file, 4 GiB or more, or the server could not do it{hint}"
                )));
            }
            _ => {}
        }
        Ok(())
    }

    fn received(&mut self, data: &[u8]) -> Result<(), ClientError> {
        self.part.write(data).map_err(|e| {
            ClientError::Local(format!("cannot write {}: {e}", self.part.part_name()))
        })?;
        self.progress.advance(data.len() as u64);
        self.pace.after(data.len() as u64);
        Ok(())
    }
}

/// `ferry get` for one name: `text` on the server into `local` in the
/// folder. Checks a complete local copy with the server instead of fetching
/// it again, resumes a partial file left by an interrupted run (op 40),
/// starts over if the server's file changed, and renames the completed file
/// into place.
pub async fn get(
    remote: &Remote,
    folder: &Folder,
    text: &str,
    local: &str,
    options: GetOptions,
) -> Result<(), ClientError> {
    let name = local_name(text, remote.limits())?;
    let local_shown = shown(local.as_bytes());
    let local = local_name(local, remote.limits())?;
    let existing = match folder.open_file(&local) {
        Ok(open) => Some(open),
        Err(StoreError::NotFound) => None,
        Err(e) => return Err(store_error("read", local.as_str(), e)),
    };
    if existing.is_some() && options.no_clobber {
        remote.say(format!(
            "{local_shown} exists: kept as it is (--no-clobber)"
        ));
        return Ok(());
    }
    let mut x = Downloading {
        name: text.to_owned(),
        part: partial(folder, &local)?,
        base: None,
        up_to_date: false,
        expected: None,
        mismatch: false,
        progress: remote.progress(text),
        pace: remote.pace(),
    };
    let replacing = existing.is_some();
    let checked = existing.as_ref().map(|open| open.id);
    let keep = Keep {
        folder,
        local: &local,
        force: options.force,
    };
    let result = match existing {
        // A complete copy (and no partial one): check it.
        Some(open) if x.part.is_empty() && u32::try_from(open.size).is_ok() => {
            refresh(remote, name.clone(), open, keep, &mut x).await
        }
        Some(_) => {
            // A part will replace the file: only if no change is lost.
            keep.check_now()?;
            download(remote, name.clone(), options.force_resume, &mut x).await
        }
        None => download(remote, name.clone(), options.force_resume, &mut x).await,
    };
    x.progress.finish();
    if result.is_ok() && x.up_to_date {
        let _ = x.part.discard();
        remote.say(format!(
            "{local_shown} is up to date (size and MD5 checked with the server)"
        ));
        return Ok(());
    }
    if let Err(e) = whole(remote, name, &mut x, result, options.verify).await {
        // Bytes already held stay in the partial file for the next attempt.
        let got = x.part.len();
        if got > 0 {
            let of = x
                .expected
                .map_or(String::new(), |all| format!(" of {}", human(all)));
            remote.say(format!(
                "{} kept ({}{of}); run the same command again to resume",
                x.part.part_name(),
                human(got)
            ));
        }
        let _ = x.part.abandon();
        return Err(e);
    }
    let got = x.part.len();
    // The local file must still be the one checked (or still absent).
    if let Err(e) = keep.unchanged(checked) {
        let _ = x.part.abandon();
        return Err(e);
    }
    let path = x.part.part_name().to_owned();
    x.part
        .commit()
        .map_err(|e| ClientError::Local(format!("cannot rename {path} into place: {e}")))?;
    let verb = if replacing { "replaced" } else { "received" };
    remote.say(format!("{verb} {local_shown} ({})", human(got)));
    Ok(())
}

/// The partial file a download of `local` goes into (resumed if there is
/// one), unless another download is writing it.
fn partial(folder: &Folder, local: &Name) -> Result<Partial, ClientError> {
    folder.partial(local).map_err(|e| match e {
        busy @ StoreError::Busy { .. } => ClientError::Local(format!(
            "{busy}, which is downloading into it; wait for that download to finish (or stop it), then run this command again"
        )),
        e => store_error("write", local.as_str(), e),
    })
}

/// Whether a transfer that ended with `result` left the whole file in the
/// partial one: every announced byte, and with `--verify` the server's MD5.
async fn whole(
    remote: &Remote,
    name: Name,
    x: &mut Downloading,
    result: Result<(), ClientError>,
    verify_it: bool,
) -> Result<(), ClientError> {
    let got = x.part.len();
    result?;
    match x.expected {
        Some(expected) if expected == got => {}
        Some(expected) => {
            return Err(ClientError::Protocol(format!(
                "the server sent {got} of {expected} bytes"
            )));
        }
        None => return Err(ClientError::Protocol("the server announced no file".into())),
    }
    if !verify_it {
        return Ok(());
    }
    let verified = verify(remote, name, &x.part).await;
    if matches!(verified, Err(ClientError::Protocol(_))) {
        // Bytes the server just disowned are not worth resuming.
        let _ = x.part.restart();
    }
    verified
}

/// The local file a download would replace, and whether it may.
#[derive(Clone, Copy)]
pub(super) struct Keep<'a> {
    pub(super) folder: &'a Folder,
    pub(super) local: &'a Name,
    /// `--force`: replace it whatever it holds.
    pub(super) force: bool,
}

impl Keep<'_> {
    /// [`Keep::check`] for whatever the local file holds now (nothing to
    /// keep if there is no such file); the identity of what was checked,
    /// for [`Keep::unchanged`].
    pub(super) fn check_now(&self) -> Result<Option<FileId>, ClientError> {
        let open = match self.folder.open_file(self.local) {
            Ok(open) => open,
            Err(StoreError::NotFound) => return Ok(None),
            Err(e) => return Err(store_error("read", self.local.as_str(), e)),
        };
        let md5 = ferry_storage::md5_prefix(&open.file, open.size).map_err(|e| {
            ClientError::Local(format!("cannot read the local {}: {e}", self.local))
        })?;
        self.check(&open, md5)?;
        Ok(Some(open.id))
    }

    /// Just before a download takes the local file's place: refuses if the
    /// file is no longer the one checked (`checked`, `None` for none), as
    /// when it was edited during the download.
    pub(super) fn unchanged(&self, checked: Option<FileId>) -> Result<(), ClientError> {
        let now = self.folder.open_file(self.local).ok().map(|open| open.id);
        if self.force || now == checked {
            return Ok(());
        }
        Err(ClientError::Local(format!(
            "\"{}\" changed here during the download: not replaced, so nothing is lost; \
             {WAYS_OUT}",
            shown(self.local.as_str().as_bytes())
        )))
    }

    /// Refuses to replace the local file (`open`, whose MD5 is `md5`) unless
    /// it is exactly what ferry last wrote there, or `--force` says so: a
    /// change made here is never lost.
    fn check(&self, open: &OpenFile, md5: [u8; 16]) -> Result<(), ClientError> {
        let shown = shown(self.local.as_str().as_bytes());
        let why = match self.folder.written(self.local, &open.file) {
            _ if self.force => return Ok(()),
            Some(written) if written == md5 => return Ok(()),
            Some(_) => "was changed here since ferry wrote it".to_owned(),
            None => "is not one ferry wrote (it was made or changed here, or downloaded by a \
                     ferry older than its records)"
                .to_owned(),
        };
        Err(ClientError::Local(format!(
            "\"{shown}\" {why}: not replaced by the server's version, so nothing is lost; \
             {WAYS_OUT}"
        )))
    }
}

/// How to go on when a local file is kept.
const WAYS_OUT: &str = "use --force to replace it (in the shell: get -f), \
                        or -o OTHER to keep both";

/// Checks a complete local copy with op 40 at its end: up to date, grown
/// (only the rest comes, after a copy of the file in the part), or changed
/// (downloaded again, if the local copy may be replaced).
async fn refresh(
    remote: &Remote,
    name: Name,
    open: OpenFile,
    keep: Keep<'_>,
    x: &mut Downloading,
) -> Result<(), ClientError> {
    let shown = shown(x.name.as_bytes());
    let md5 = ferry_storage::md5_prefix(&open.file, open.size)
        .map_err(|e| ClientError::Local(format!("cannot read the local {shown}: {e}")))?;
    remote.detail(format!(
        "checking the local {shown} ({} bytes, MD5 {}) with the server (op 40)",
        open.size,
        hex(&md5)
    ));
    let position = open.size as u32;
    x.base = Some(open);
    exchange(
        remote,
        Request::Resume {
            name: name.clone(),
            position,
            md5,
        },
        x,
    )
    .await?;
    if x.mismatch {
        let mut changed = "changed on the server";
        if let Some(base) = &x.base {
            keep.check(base, md5)?;
            // Forced: the local file may be what differs.
            if keep.force {
                changed = match keep.folder.written(keep.local, &base.file) {
                    Some(written) if written == md5 => changed,
                    Some(_) => "was changed here (forced: the server's version replaces it)",
                    None => "is not one ferry wrote (forced: the server's version replaces it)",
                };
            }
        }
        remote.say(format!("{shown} {changed}: downloading it again"));
        x.mismatch = false;
        x.base = None;
        return exchange(remote, Request::Download { name }, x).await;
    }
    if !x.up_to_date {
        remote.say(format!(
            "{shown} grew on the server: fetching the last {}",
            human(x.expected.unwrap_or(0).saturating_sub(u64::from(position)))
        ));
    }
    Ok(())
}

/// Asks the server whether the finished part is its file, byte for byte
/// (op 40 at its end: result 0 with nothing remaining).
async fn verify(remote: &Remote, name: Name, part: &Partial) -> Result<(), ClientError> {
    let Ok(position) = u32::try_from(part.len()) else {
        return Err(ClientError::Protocol("too large to verify".into()));
    };
    let md5 = part
        .md5()
        .map_err(|e| ClientError::Local(format!("cannot read {}: {e}", part.part_name())))?;
    let mut check = Verifying { outcome: None };
    exchange(
        remote,
        Request::Resume {
            name,
            position,
            md5,
        },
        &mut check,
    )
    .await?;
    match check.outcome {
        Some(ResumeOutcome::Ok { remaining: 0 }) => {
            remote.detail(format!("verified: MD5 {} matches the server's file", hex(&md5)));
            Ok(())
        }
        Some(ResumeOutcome::Ok { .. }) => Err(ClientError::Protocol(
            "--verify: the server's file grew during the download".into(),
        )),
        _ => Err(ClientError::Protocol(
            "--verify: the downloaded bytes are not the server's file (it changed, or they were damaged)".into(),
        )),
    }
}

/// Reads op 40's result and nothing else.
struct Verifying {
    outcome: Option<ResumeOutcome>,
}

impl Handler<ClientSession> for Verifying {
    type Error = ClientError;

    async fn answer(
        &mut self,
        _: &mut ClientSession,
        event: ClientEvent,
    ) -> Result<(), ClientError> {
        if let ClientEvent::Resume(outcome) = event {
            self.outcome = Some(outcome);
        }
        Ok(())
    }
    /// Asked from the end of the file: no bytes follow a match.
    fn received(&mut self, _: &[u8]) -> Result<(), ClientError> {
        Ok(())
    }
}

/// Resumes from the part held (op 40) or downloads (op 10); if the server's
/// file no longer matches the part, starts over with a plain download.
async fn download(
    remote: &Remote,
    name: Name,
    force_resume: bool,
    x: &mut Downloading,
) -> Result<(), ClientError> {
    let text = shown(x.name.as_bytes());
    let restart = |part: &mut Partial| {
        part.restart()
            .map_err(|e| ClientError::Local(format!("cannot restart {}: {e}", part.part_name())))
    };
    let resuming = !x.part.is_empty() && x.part.len() <= u32::MAX.into();
    if !(resuming || force_resume) {
        if !x.part.is_empty() {
            restart(&mut x.part)?;
        }
        return exchange(remote, Request::Download { name }, x).await;
    }
    let md5 = if x.part.is_empty() {
        EMPTY_MD5
    } else {
        x.part
            .md5()
            .map_err(|e| ClientError::Local(format!("cannot read {}: {e}", x.part.part_name())))?
    };
    if resuming {
        remote.say(format!("resuming {text} from byte {}", x.part.len()));
    }
    let position = x.part.len() as u32;
    let result = exchange(
        remote,
        Request::Resume {
            name: name.clone(),
            position,
            md5,
        },
        x,
    )
    .await;
    if !x.mismatch {
        return result;
    }
    remote.say(format!(
        "the partial file {} does not match the server's \"{text}\" (it changed?): downloading it from the start",
        x.part.part_name()
    ));
    restart(&mut x.part)?;
    x.mismatch = false;
    exchange(remote, Request::Download { name }, x).await
}

/// `ferry get NAME -o -` (standard output) or `-o` anything that is not a
/// regular file (a FIFO, `/dev/null`, a terminal): the bytes written
/// straight to `out`, called `target` in messages, with no partial file
/// (progress, if any, on standard error).
pub async fn get_to(
    remote: &Remote,
    text: &str,
    out: Box<dyn Write>,
    target: &str,
) -> Result<(), ClientError> {
    let name = local_name(text, remote.limits())?;
    let mut x = Streaming {
        name: text.to_owned(),
        out,
        target: target.to_owned(),
        expected: None,
        got: 0,
        progress: remote.progress(text),
        pace: remote.pace(),
    };
    let result = exchange(remote, Request::Download { name }, &mut x).await;
    x.progress.finish();
    x.out
        .flush()
        .map_err(|e| ClientError::Local(format!("cannot write to {}: {e}", x.target)))?;
    result?;
    match x.expected {
        Some(expected) if expected == x.got => Ok(()),
        Some(expected) => Err(ClientError::Protocol(format!(
            "the server sent {} of {expected} bytes",
            x.got
        ))),
        None => Err(ClientError::Protocol("the server announced no file".into())),
    }
}

/// `get -o -`'s handler: the bytes straight to their destination.
struct Streaming {
    name: String,
    out: Box<dyn Write>,
    /// Where `out` goes, for messages.
    target: String,
    expected: Option<u64>,
    got: u64,
    progress: Box<dyn Progress>,
    pace: Pace,
}

impl Handler<ClientSession> for Streaming {
    type Error = ClientError;

    async fn answer(
        &mut self,
        _: &mut ClientSession,
        event: ClientEvent,
    ) -> Result<(), ClientError> {
        match event {
            ClientEvent::File { size } => {
                self.expected = Some(size.into());
                self.progress.start(size.into(), 0);
            }
            ClientEvent::Refused => {
                return Err(ClientError::Refused(format!(
                    "the server refused \"{}\": no such file, not a regular file, 4 GiB or more, or the server could not do it",
                    shown(self.name.as_bytes())
                )));
            }
            _ => {}
        }
        Ok(())
    }

    fn received(&mut self, data: &[u8]) -> Result<(), ClientError> {
        let target = &self.target;
        self.out
            .write_all(data)
            .map_err(|e| ClientError::Local(format!("cannot write to {target}: {e}")))?;
        self.got += data.len() as u64;
        self.progress.advance(data.len() as u64);
        self.pace.after(data.len() as u64);
        Ok(())
    }
}
