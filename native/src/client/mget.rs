//! `ferry mget`: every file matching a mask, file by file.

use ferry_core::{ClientEvent, ClientSession, Mask, Request};
use ferry_storage::{Folder, Partial};

use super::{Remote, denied, exchange, store_error};
use crate::drive::Handler;
use crate::error::ClientError;
use crate::progress::Progress;

struct MGetX<'a> {
    remote: Remote,
    folder: &'a Folder,
    count: u32,
    index: u32,
    current: Option<(Partial, u64, String)>,
    skipping: u64,
    received: u32,
    failures: Vec<ClientError>,
    progress: Progress,
}

impl MGetX<'_> {
    fn finish_current(&mut self) -> Result<(), ClientError> {
        if let Some((part, expected, name)) = self.current.take() {
            if part.len() != expected {
                return Err(ClientError::Protocol(format!(
                    "{name}: received {} of {expected} bytes",
                    part.len()
                )));
            }
            let path = part.part_name().to_owned();
            part.commit()
                .map_err(|e| ClientError::Local(format!("cannot rename {path} into place: {e}")))?;
            self.received += 1;
            self.progress.finish();
        }
        Ok(())
    }
}

impl Handler<ClientSession> for MGetX<'_> {
    type Error = ClientError;

    async fn answer(
        &mut self,
        _: &mut ClientSession,
        event: ClientEvent,
    ) -> Result<(), ClientError> {
        match event {
            ClientEvent::MGetStart { count } => {
                self.count = count;
                eprintln!("{count} files match");
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
                        eprintln!("{e}");
                        self.failures.push(e);
                    }
                    (Ok(name), None) => {
                        let e = ClientError::Refused(format!(
                            "file {k} of {n}: the server could not read \"{name}\"; skipped"
                        ));
                        eprintln!("{e}");
                        self.failures.push(e);
                    }
                    (Ok(name), Some(size)) => match self.folder.partial(&name) {
                        Ok(mut part) => {
                            part.restart()
                                .map_err(|e| ClientError::Local(format!("{name}: {e}")))?;
                            self.progress = Progress::new(&format!("{k}/{n} {name}"));
                            self.progress.start(size.into(), 0);
                            self.current = Some((part, size.into(), name.to_string()));
                            if size == 0 {
                                self.finish_current()?;
                            }
                        }
                        Err(e) => {
                            self.skipping = size.into();
                            let e = store_error("write", name.as_str(), e);
                            eprintln!("file {k} of {n}: {e}; skipped");
                            self.failures.push(e);
                        }
                    },
                }
            }
            ClientEvent::Refused => {
                return Err(ClientError::Refused(
                    "the server refused the mask (empty, too long, not a valid glob, or too many matches)".into(),
                ));
            }
            ClientEvent::AuthDenied => return Err(denied(&self.remote)),
            _ => {}
        }
        Ok(())
    }

    fn received(&mut self, data: &[u8]) -> Result<(), ClientError> {
        if self.skipping > 0 {
            self.skipping = self.skipping.saturating_sub(data.len() as u64);
            return Ok(());
        }
        let Some((part, expected, _)) = self.current.as_mut() else {
            return Ok(());
        };
        part.write(data)
            .map_err(|e| ClientError::Local(format!("cannot write {}: {e}", part.part_name())))?;
        self.progress.advance(data.len() as u64);
        if part.len() == *expected {
            self.finish_current()?;
        }
        Ok(())
    }
}

/// `ferry mget`: every file matching the mask, file by file.
pub async fn mget(remote: &Remote, folder: &Folder, mask: &str) -> Result<(), ClientError> {
    let mask = Mask::new(mask, &remote.limits)
        .map_err(|e| ClientError::Usage(format!("bad mask: {e}")))?;
    let mut x = MGetX {
        remote: remote.clone(),
        folder,
        count: 0,
        index: 0,
        current: None,
        skipping: 0,
        received: 0,
        failures: Vec::new(),
        progress: Progress::new(""),
    };
    exchange(remote, Request::MGet { mask }, &mut x).await?;
    eprintln!("received {} of {} files", x.received, x.count);
    match x.failures.into_iter().next() {
        Some(first) => Err(first),
        None => Ok(()),
    }
}
