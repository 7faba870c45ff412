//! `ferry get` and `ferry resume`: one file into a `.part`, resumed with op 40
//! when a part is held, renamed into place when complete.

use ferry_core::{ClientEvent, ClientSession, EMPTY_MD5, Name, Request, ResumeOutcome, escape};
use ferry_storage::{Folder, Partial, StoreError};

use super::{Remote, denied, exchange, human, local_name, store_error};
use crate::drive::Handler;
use crate::error::ClientError;
use crate::progress::Progress;

struct DownloadX {
    remote: Remote,
    name: String,
    part: Partial,
    expected: Option<u64>,
    mismatch: bool,
    progress: Progress,
}

impl Handler<ClientSession> for DownloadX {
    type Error = ClientError;

    async fn answer(
        &mut self,
        _: &mut ClientSession,
        event: ClientEvent,
    ) -> Result<(), ClientError> {
        let shown = escape(self.name.as_bytes());
        match event {
            ClientEvent::File { size } => {
                self.expected = Some(size.into());
                self.progress.start(size.into(), 0);
            }
            ClientEvent::Resume(ResumeOutcome::Ok { remaining }) => {
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
                return Err(ClientError::Refused(format!(
                    "the server refused \"{shown}\": no such file, not a regular file, or 4 GiB or more"
                )));
            }
            ClientEvent::AuthDenied => return Err(denied(&self.remote)),
            _ => {}
        }
        Ok(())
    }

    fn received(&mut self, data: &[u8]) -> Result<(), ClientError> {
        self.part.write(data).map_err(|e| {
            ClientError::Local(format!("cannot write {}: {e}", self.part.part_name()))
        })?;
        self.progress.advance(data.len() as u64);
        Ok(())
    }
}

/// `ferry get` for one name: resumes a `.part` left by an interrupted run
/// (op 40), starts over if the server's file changed, and renames the
/// completed file into place.
pub async fn get(
    remote: &Remote,
    folder: &Folder,
    text: &str,
    force_resume: bool,
) -> Result<(), ClientError> {
    let name = local_name(text, &remote.limits)?;
    let part = folder.partial(&name).map_err(|e| match e {
        busy @ StoreError::Busy { .. } => ClientError::Local(format!(
            "{busy}; wait for that download to finish (or stop it), then run this command again"
        )),
        e => store_error("write", text, e),
    })?;
    let mut x = DownloadX {
        remote: remote.clone(),
        name: text.to_owned(),
        part,
        expected: None,
        mismatch: false,
        progress: Progress::new(text),
    };
    let result = download(remote, name, force_resume, &mut x).await;
    x.progress.finish();
    let got = x.part.len();
    let result = result.and_then(|()| match x.expected {
        Some(expected) if expected == got => Ok(()),
        Some(expected) => Err(ClientError::Protocol(format!(
            "the server sent {got} of {expected} bytes"
        ))),
        None => Err(ClientError::Protocol("the server announced no file".into())),
    });
    if let Err(e) = result {
        // Bytes already held stay in the partial file for the next attempt.
        if got > 0 {
            let of = x
                .expected
                .map_or(String::new(), |all| format!(" of {}", human(all)));
            eprintln!(
                "{} kept ({}{of}); run the same command again to resume",
                x.part.part_name(),
                human(got)
            );
        }
        let _ = x.part.abandon();
        return Err(e);
    }
    let path = x.part.part_name().to_owned();
    x.part
        .commit()
        .map_err(|e| ClientError::Local(format!("cannot rename {path} into place: {e}")))?;
    eprintln!("received {} ({})", escape(text.as_bytes()), human(got));
    Ok(())
}

/// Resumes from the part held (op 40) or downloads (op 10); if the server's
/// file no longer matches the part, starts over with a plain download.
async fn download(
    remote: &Remote,
    name: Name,
    force_resume: bool,
    x: &mut DownloadX,
) -> Result<(), ClientError> {
    let text = escape(x.name.as_bytes());
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
        eprintln!("resuming {text} from byte {}", x.part.len());
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
    eprintln!(
        "the partial file {} does not match the server's \"{text}\" (it changed?): downloading it from the start",
        x.part.part_name()
    );
    restart(&mut x.part)?;
    x.mismatch = false;
    exchange(remote, Request::Download { name }, x).await
}
