//! `ferry put`: files of the local folder, sent with `sendfile`, one by one
//! or (`-r`) every file beneath a folder.

use ferry_core::{ClientEvent, ClientSession, Request};
use ferry_runtime::{Body, Handler, misuse};
use ferry_storage::{Folder, OpenFile, StoreError};

use super::{Pace, Remote, exchange, human, local_name, shown, store_error};
use crate::error::ClientError;
use crate::progress::Progress;

/// An upload's handler: the local file as the body, the server's verdicts.
struct Uploading {
    remote: Remote,
    name: String,
    /// The file to send, until its body starts.
    file: Option<OpenFile>,
    size: u32,
    stored: Option<bool>,
    progress: Box<dyn Progress>,
    pace: Pace,
}

impl Handler<ClientSession> for Uploading {
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
            ClientEvent::Refused if self.remote.upstream.auth.is_none() => {
                return Err(ClientError::Refused(format!(
                    "the server refused to receive \"{shown}\": the name may already exist, and \
                     uploads without a login cannot replace files: upload it under a name not taken \
                     (ferry put --as NEW), or log in to store it in your private folder \
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
            _ => {}
        }
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

    /// An upload's answers carry no body.
    fn received(&mut self, _: &[u8]) -> Result<(), ClientError> {
        Ok(())
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
    let name = local_name(text, remote.limits())?;
    let open = folder.open_file(&name).map_err(|e| match e {
        StoreError::NotRegular if folder.path().join(name.as_str()).is_dir() => {
            ClientError::Usage(format!(
                "\"{}\" is a folder: add -r to upload every file in it",
                shown(text.as_bytes())
            ))
        }
        e => store_error("read", text, e),
    })?;
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
    let target_name = local_name(target_text, remote.limits())?;
    let mut x = Uploading {
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

/// `ferry put -r`: every regular file beneath the local folder `text`,
/// stored under `target` (by default `text`) with its path beneath it, as
/// `scp -r` does. Symbolic links and special files are skipped and said;
/// a file that cannot be read or that the server refuses is said and the
/// others are still sent; the first failure is the result.
pub async fn put_tree(
    remote: &Remote,
    folder: &Folder,
    text: &str,
    target: Option<&str>,
) -> Result<(), ClientError> {
    let root = local_name(text.trim_end_matches('/'), remote.limits())?;
    let what = match std::fs::symlink_metadata(folder.path().join(root.as_str())) {
        Ok(m) if m.is_dir() => None,
        Ok(m) if m.file_type().is_symlink() => Some("is a symbolic link, not a folder"),
        Ok(_) => Some("is not a folder"),
        Err(_) => Some("is not in the local folder"),
    };
    if let Some(what) = what {
        return Err(ClientError::Local(format!(
            "\"{}\" {what}",
            shown(text.as_bytes())
        )));
    }
    let top = target.map_or(root.as_str(), |t| t.trim_end_matches('/'));
    let mut tree = Tree::default();
    tree.walk(folder, root.as_str());
    for skipped in &tree.skipped {
        remote.say(skipped);
    }
    let mut first = tree.failures.into_iter().next();
    let total = tree.files.len();
    let mut sent = 0;
    for path in &tree.files {
        let below = &path[root.as_str().len()..];
        match put(remote, folder, path, Some(&format!("{top}{below}"))).await {
            Ok(()) => sent += 1,
            Err(e) => {
                eprintln!("ferry: {e}; going on with the others");
                first.get_or_insert(e);
            }
        }
    }
    remote.say(format!(
        "sent {sent} of {total} files from {}",
        shown(text.as_bytes())
    ));
    first.map_or(Ok(()), Err)
}

/// What [`put_tree`] finds beneath a folder.
#[derive(Default)]
struct Tree {
    /// Regular files, as paths in the local folder, in name order.
    files: Vec<String>,
    /// Names and folders that could not be read (already said).
    failures: Vec<ClientError>,
    /// What is not sent, and why (a symbolic link, a special file).
    skipped: Vec<String>,
}

impl Tree {
    /// Collects the regular files beneath `dir` (a path in `folder`); says
    /// what is skipped (a symbolic link, a special file) or cannot be read.
    fn walk(&mut self, folder: &Folder, dir: &str) {
        let fail = |tree: &mut Tree, e: ClientError| {
            eprintln!("ferry: {e}");
            tree.failures.push(e);
        };
        let entries = match std::fs::read_dir(folder.path().join(dir)) {
            Ok(entries) => entries,
            Err(e) => {
                let dir = shown(dir.as_bytes());
                return fail(
                    self,
                    ClientError::Local(format!("cannot read the folder {dir}: {e}")),
                );
            }
        };
        let mut names: Vec<_> = entries.flatten().map(|e| e.file_name()).collect();
        names.sort();
        for name in names {
            let Some(name) = name.to_str() else {
                let name = shown(name.as_encoded_bytes());
                fail(
                    self,
                    ClientError::Local(format!("{dir}/{name}: the name is not UTF-8; skipped")),
                );
                continue;
            };
            let path = format!("{dir}/{name}");
            let shown = shown(path.as_bytes());
            match std::fs::symlink_metadata(folder.path().join(&path)) {
                Ok(m) if m.is_dir() => self.walk(folder, &path),
                Ok(m) if m.is_file() => self.files.push(path),
                Ok(m) if m.file_type().is_symlink() => {
                    self.skipped
                        .push(format!("{shown} is a symbolic link: skipped"));
                }
                Ok(_) => self
                    .skipped
                    .push(format!("{shown} is not a regular file: skipped")),
                Err(e) => fail(
                    self,
                    ClientError::Local(format!("cannot read {shown}: {e}")),
                ),
            }
        }
    }
}
