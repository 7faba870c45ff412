//! The origin side of an upload through the cache: a task that runs op 30
//! against the origin and sends the client's bytes as they land.

use std::sync::Arc;

use ferry_core::{ClientEvent, ClientSession, Name, Request};
use ferry_runtime::upstream::{Upstream, exchange};
use ferry_runtime::window::Window;
use ferry_runtime::{Body, Handler, misuse};
use futures_lite::future;
use smol::lock::OnceCell;

use super::Stopped;

/// What the client side and the origin side of one upload share.
#[derive(Debug, Default)]
pub(super) struct OriginUpload {
    /// The origin's first answer: accepted, or why not.
    accepted: OnceCell<Result<(), String>>,
    /// The client's bytes, once it has announced their size.
    body: OnceCell<Arc<Window>>,
    /// The client went away: stop.
    cancelled: OnceCell<()>,
    /// The origin's final status.
    done: OnceCell<Result<(), String>>,
}

impl OriginUpload {
    /// Starts op 30 for `name` at the origin.
    pub(super) fn start_upload(origin: &Upstream, name: Name) -> Arc<OriginUpload> {
        let upstream = Arc::new(OriginUpload::default());
        let (origin, shared) = (origin.clone(), upstream.clone());
        smol::spawn(async move {
            // However the task ends, the client side is answered.
            let _ending = Ending(shared.clone());
            let mut x = UploadToOrigin {
                shared: shared.clone(),
                body: None,
                stored: None,
            };
            let result = exchange(&origin, Request::Upload { name }, &mut x).await;
            let outcome = match (result, x.stored) {
                (Ok(()), Some(true)) => Ok(()),
                (Ok(()), Some(false)) => Err("the origin could not store the file".to_owned()),
                (Ok(()), None) => Err("the origin did not say whether it stored the file".into()),
                (Err(e), _) => Err(e.to_string()),
            };
            let _ = shared.accepted.set_blocking(outcome.clone());
            let _ = shared.done.set_blocking(outcome);
        })
        .detach();
        upstream
    }

    /// Waits for the origin's first answer.
    pub(super) async fn accepted(&self) -> Result<(), String> {
        self.accepted.wait().await.clone()
    }

    /// Hands over the client's bytes, passed through `window`.
    pub(super) fn start(&self, window: Arc<Window>) {
        let _ = self.body.set_blocking(window);
    }

    /// The client went away.
    pub(super) fn cancel(&self) {
        let _ = self.cancelled.set_blocking(());
    }

    /// The origin's final status, if it has come.
    pub(super) fn finished(&self) -> Option<Result<(), String>> {
        self.done.get().cloned()
    }

    /// Waits for the origin's final status.
    pub(super) async fn done(&self) -> Result<(), String> {
        self.done.wait().await.clone()
    }
}

/// The origin session of an upload.
struct UploadToOrigin {
    shared: Arc<OriginUpload>,
    body: Option<Arc<Window>>,
    stored: Option<bool>,
}

impl Handler<ClientSession> for UploadToOrigin {
    type Error = Stopped;

    async fn answer(
        &mut self,
        session: &mut ClientSession,
        event: ClientEvent,
    ) -> Result<(), Stopped> {
        match event {
            ClientEvent::UploadAccepted => {
                let _ = self.shared.accepted.set_blocking(Ok(()));
                let body = future::or(
                    async { Some(self.shared.body.wait().await.clone()) },
                    async {
                        self.shared.cancelled.wait().await;
                        None
                    },
                )
                .await;
                let Some(body) = body else {
                    return Err(Stopped("the client went away".into()));
                };
                // The size came from the protocol's u32 field.
                misuse(session.send_upload(body.size as u32));
                self.body = Some(body);
            }
            ClientEvent::Refused => {
                // Before the body (a bad name), or after the size (no room).
                let why = "the origin refused the upload".to_owned();
                let _ = self.shared.accepted.set_blocking(Err(why.clone()));
                let _ = self.shared.done.set_blocking(Err(why));
            }
            ClientEvent::UploadDone { stored } => self.stored = Some(stored),
            _ => {}
        }
        Ok(())
    }

    fn body(&mut self) -> Option<Body> {
        self.body.take().map(|window| Body::Window {
            reader: window.reader(),
            offset: 0,
        })
    }

    fn received(&mut self, _: &[u8]) -> Result<(), Stopped> {
        Ok(())
    }

    fn short_body(&mut self, why: &str) -> Result<(), Stopped> {
        Err(Stopped(why.to_owned()))
    }
}

/// Answers the client side if the origin side ends without a word.
struct Ending(Arc<OriginUpload>);

impl Drop for Ending {
    fn drop(&mut self) {
        let why = "the cache could not reach the origin".to_owned();
        let _ = self.0.accepted.set_blocking(Err(why.clone()));
        let _ = self.0.done.set_blocking(Err(why));
    }
}
