//! `ferry put`: one file of the local folder, sent with `sendfile`.

use ferry_core::{ClientEvent, ClientSession, Request};
use ferry_storage::{Folder, OpenFile};

use super::{Pace, Remote, denied, exchange, human, local_name, shown, store_error};
use crate::drive::{Body, Handler, misuse};
use crate::error::ClientError;
use crate::progress::Progress;

struct UploadX {
    remote: Remote,
    name: String,
    /// The file to send, until its body starts.
    file: Option<OpenFile>,
    size: u32,
    stored: Option<bool>,
    progress: Progress,
    pace: Pace,
}

impl Handler<ClientSession> for UploadX {
    type Error = ClientError;

    async fn answer(
        &mut self,
        session: &mut ClientSession,
        event: ClientEvent,
    ) -> Result<(), ClientError> {
        let shown = shown(self.name.as_bytes());
        match event {
            ClientEvent::UploadAccepted => {
                self.progress.start(self.size.into(), 0);
                misuse(session.send_upload(self.size));
            }
            ClientEvent::UploadDone { stored } => self.stored = Some(stored),
            ClientEvent::Refused if self.remote.auth.is_none() => {
                return Err(ClientError::Refused(format!(
                    "the server refused to receive \"{shown}\": the name may already exist, and \
                     uploads without a login cannot replace files: use --as NEW, or log in \
                     (or the name is refused, the server is read-only, your upload quota is \
                     spent, or the server could not do it)"
                )));
            }
            ClientEvent::Refused => {
                return Err(ClientError::Refused(format!(
                    "the server refused to receive \"{shown}\" (the name is refused, the target \
                     is not a regular file, the server is read-only, or the server could not do it)"
                )));
            }
            ClientEvent::AuthDenied => return Err(denied(&self.remote)),
            _ => {}
        }
        Ok(())
    }

    fn received(&mut self, _: &[u8]) -> Result<(), ClientError> {
        Ok(())
    }

    fn body(&mut self) -> Option<Body> {
        self.file.take().map(|open| Body::File { open, offset: 0 })
    }

    fn short_body(&mut self, _: &str) -> Result<(), ClientError> {
        Err(ClientError::Local(
            "the file to upload shrank while being sent".into(),
        ))
    }

    fn sent(&mut self, bytes: u64) {
        self.progress.advance(bytes);
        self.pace.after(bytes);
    }
}

/// `ferry put` for one file of the local folder, stored as `target`.
pub async fn put(
    remote: &Remote,
    folder: &Folder,
    text: &str,
    target: Option<&str>,
) -> Result<(), ClientError> {
    let name = local_name(text, &remote.limits)?;
    let open = folder
        .open_file(&name)
        .map_err(|e| store_error("read", text, e))?;
    let size = u32::try_from(open.size).map_err(|_| {
        ClientError::Local(format!(
            "{text} has {} bytes; the protocol carries files under 4 GiB",
            open.size
        ))
    })?;
    // Names are compared in NFC; a name typed or stored decomposed (as
    // macOS does) is sent composed.
    let target_text = ferry_core::nfc(target.unwrap_or(text));
    let target_text = target_text.as_ref();
    let target_name = local_name(target_text, &remote.limits)?;
    let mut x = UploadX {
        remote: remote.clone(),
        name: target_text.to_owned(),
        file: Some(open),
        size,
        stored: None,
        progress: remote.progress(text),
        pace: remote.pace(),
    };
    exchange(remote, Request::Upload { name: target_name }, &mut x).await?;
    x.progress.finish();
    match x.stored {
        Some(true) => {
            remote.say(format!(
                "sent {} as {} ({})",
                shown(text.as_bytes()),
                shown(target_text.as_bytes()),
                human(size.into())
            ));
            Ok(())
        }
        Some(false) => Err(ClientError::Refused(format!(
            "the server could not store \"{}\" (too large for its disk, a write error, or \
             another upload stored that name first)",
            shown(target_text.as_bytes())
        ))),
        None => Err(ClientError::Protocol(
            "the server did not say whether it stored the file".into(),
        )),
    }
}
