//! One fill: the task that asks the origin about one name and streams its
//! bytes into the cache, and the header every client of it waits for.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use ferry_core::cache::{Held, Next, OriginAnswer, Plan, keeps, next, plan};
use ferry_core::{ClientEvent, ClientSession, Name, Request};
use ferry_storage::{FillFile, FillFrom, Hit, age};
use smol::lock::OnceCell;

use super::{Inner, lock};
use crate::drive::Handler;
use crate::error::ClientError;
use crate::growing::Growing;

/// A fill in flight; its clients wait for its header.
#[derive(Debug, Default)]
pub(super) struct Fill {
    header: OnceCell<Header>,
    /// Set when the fill is over and its entry (if any) is in place.
    over: OnceCell<()>,
    /// An upload replaced the file meanwhile: what this fill holds is old.
    outdated: AtomicBool,
}

/// What the clients of a fill get once the origin has answered.
#[derive(Debug, Clone)]
pub(super) enum Header {
    /// Serve the entry held (the origin confirmed it, or did not answer).
    Entry {
        /// REVALIDATED or STALE (or HIT, when it became fresh meanwhile).
        note: &'static str,
    },
    /// Bytes as they land in the fill.
    Growing {
        /// The file being filled.
        source: Arc<Growing>,
        /// Too large to keep: streamed through and dropped (PASS).
        pass: bool,
    },
    /// The origin has no such file.
    NotFound,
    /// Status 1, and why (for the log).
    Refused(Arc<str>),
}

impl Fill {
    /// Waits for the origin's answer.
    pub(super) async fn header(&self) -> Header {
        self.header.wait().await.clone()
    }

    /// Whether a new request may still join: the origin has not answered
    /// yet, or its bytes are still coming (not all in, not cut short). A request that arrives later
    /// waits for the fill to end, then looks again (and revalidates what
    /// the fill left, like any other request).
    pub(super) fn joinable(&self) -> bool {
        match self.header.get() {
            None => true,
            Some(Header::Growing { source, .. }) => !source.settled(),
            Some(_) => false,
        }
    }

    /// An upload replaced the file: the fill's copy must not be kept.
    pub(super) fn outdate(&self) {
        self.outdated.store(true, Ordering::SeqCst);
    }

    /// Waits until the fill is over.
    pub(super) async fn over(&self) {
        self.over.wait().await;
    }

    fn answer(&self, header: Header) {
        // The first answer stands; a fill answers once.
        let _ = self.header.set_blocking(header);
    }
}

/// Whether a failed exchange means the origin did not answer at all.
pub(super) fn unreachable(e: &ClientError) -> bool {
    matches!(
        e,
        ClientError::Connect(_) | ClientError::Timeout(_) | ClientError::Protocol(_)
    )
}

/// Runs one fill to its end, then lets the next request see the entry.
pub(super) async fn run(inner: Arc<Inner>, name: Name, fill: Arc<Fill>) {
    let ending = Ending {
        inner: inner.clone(),
        name: name.clone(),
        fill: fill.clone(),
    };
    fetch(&inner, &name, &fill).await;
    drop(ending);
}

/// Ends a fill however its task ends (done, failed, or dropped by a
/// panic): clients still waiting are answered, and the name is free again.
struct Ending {
    inner: Arc<Inner>,
    name: Name,
    fill: Arc<Fill>,
}

impl Drop for Ending {
    fn drop(&mut self) {
        self.fill
            .answer(Header::Refused("the cache could not fetch the file".into()));
        if let Some(growing) = self.fill.header.get().and_then(|h| match h {
            Header::Growing { source, .. } => Some(source),
            _ => None,
        }) {
            // Readers waiting for bytes that will never come end short.
            if !growing.settled() {
                growing.cut();
            }
        }
        {
            let mut fills = lock(&self.inner.fills);
            if fills
                .get(self.name.as_str())
                .is_some_and(|f| Arc::ptr_eq(f, &self.fill))
            {
                fills.remove(self.name.as_str());
            }
        }
        let _ = self.fill.over.set_blocking(());
    }
}

/// Asks the origin, streams the answer into the fill, and keeps what came:
/// an entry when whole, a resumable prefix when cut short.
async fn fetch(inner: &Arc<Inner>, name: &Name, fill: &Fill) {
    let key = name.as_str();
    let mut x = FillX {
        inner: inner.clone(),
        name: name.clone(),
        fill,
        held: Held::Nothing,
        hit: None,
        file: None,
        growing: None,
        refetch: false,
    };
    if let Some(hit) = inner.disk.hit(key) {
        if let Ok(size) = u32::try_from(hit.open.size) {
            x.held = Held::Entry {
                size,
                md5: hit.md5,
                age_us: age(hit.validated).as_micros() as u64,
            };
            x.hit = Some(hit);
        }
    } else if inner.disk.prefix_len(key).is_some() {
        let (inner2, key2) = (inner.clone(), key.to_owned());
        match smol::unblock(move || inner2.disk.begin_fill(&key2, FillFrom::Prefix)).await {
            Ok(file) => {
                if let Ok(len) = u32::try_from(file.len()) {
                    x.held = Held::Prefix {
                        len,
                        md5: file.md5(),
                    };
                    x.file = Some(file);
                }
            }
            Err(e) => log::warn!("cannot reopen the partial fill of {key}: {e}"),
        }
    }
    loop {
        let request = match plan(x.held, inner.fresh_for.as_micros() as u64) {
            Plan::Serve => return fill.answer(Header::Entry { note: "HIT" }),
            Plan::Resume { position, md5 } => Request::Resume {
                name: name.clone(),
                position,
                md5,
            },
        };
        let result = crate::client::exchange(&inner.origin, request, &mut x).await;
        if x.refetch {
            // What was held is wrong: once more from the start.
            x.refetch = false;
            x.held = Held::Nothing;
            continue;
        }
        return x.finish(result).await;
    }
}

/// The origin side of a fill: a client session's events and bytes.
struct FillX<'a> {
    inner: Arc<Inner>,
    name: Name,
    fill: &'a Fill,
    held: Held,
    /// The entry held, to extend if the origin's file grew.
    hit: Option<Hit>,
    file: Option<FillFile>,
    growing: Option<Arc<Growing>>,
    refetch: bool,
}

impl FillX<'_> {
    /// Acts on what the origin said.
    async fn act(&mut self, answer: OriginAnswer) -> Result<(), ClientError> {
        let key = self.name.as_str();
        match next(self.held, answer) {
            Next::Unchanged => {
                if let Some(hit) = &self.hit {
                    self.inner.disk.validated(key, hit.md5);
                }
                self.fill.answer(Header::Entry {
                    note: "REVALIDATED",
                });
            }
            // Only without an answer; handled in `finish`.
            Next::Stale => {}
            Next::Stream { size, .. } => {
                let file = match (self.file.take(), self.hit.take()) {
                    (Some(prefix), _) => prefix,
                    (None, hit) => {
                        let from = match hit {
                            Some(hit) => FillFrom::Entry(Box::new(hit)),
                            None => FillFrom::Empty,
                        };
                        let (inner, key) = (self.inner.clone(), key.to_owned());
                        smol::unblock(move || inner.disk.begin_fill(&key, from))
                            .await
                            .map_err(|e| ClientError::Local(format!("cannot start a fill: {e}")))?
                    }
                };
                let reader = file
                    .reader()
                    .map_err(|e| ClientError::Local(format!("cannot read the fill: {e}")))?;
                let source = Arc::new(Growing::new(reader, size, file.len()));
                self.file = Some(file);
                self.growing = Some(source.clone());
                let pass = !keeps(size, self.inner.disk.max_size());
                self.fill.answer(Header::Growing { source, pass });
            }
            Next::Refetch => {
                self.inner.disk.evict(key);
                self.file = None;
                self.hit = None;
                self.refetch = true;
            }
            Next::NotFound => {
                self.inner.disk.evict(key);
                self.file = None;
                self.fill.answer(Header::NotFound);
            }
            Next::Refuse => {
                self.inner.disk.evict(key);
                self.file = None;
                self.fill
                    .answer(Header::Refused("the origin refused the file".into()));
            }
        }
        Ok(())
    }

    /// After the exchange: keeps what came, and answers clients still
    /// waiting if the origin never did.
    async fn finish(mut self, result: Result<(), ClientError>) {
        let key = self.name.as_str().to_owned();
        let inner = self.inner.clone();
        let Some(growing) = self.growing.take() else {
            if let Err(e) = result {
                let stale = matches!(self.held, Held::Entry { .. }) && unreachable(&e);
                if stale {
                    log::warn!(
                        "the origin did not answer for {key} ({e}): serving the cached copy"
                    );
                    self.fill.answer(Header::Entry { note: "STALE" });
                } else {
                    self.fill
                        .answer(Header::Refused(format!("the origin: {e}").into()));
                }
            }
            // A prefix taken out to resume goes back as it was.
            if let Some(file) = self.file.take() {
                let _ = smol::unblock(move || file.keep_prefix(&inner.disk)).await;
            }
            return;
        };
        let Some(file) = self.file.take() else { return };
        let (size, got) = (growing.size, file.len());
        let keep = keeps(size, inner.disk.max_size()) && !self.fill.outdated.load(Ordering::SeqCst);
        if got < size {
            growing.cut();
            log::warn!(
                "the origin stopped sending {key} after {got} of {size} bytes{}; kept to resume",
                result.err().map(|e| format!(" ({e})")).unwrap_or_default()
            );
            if keep {
                let kept = smol::unblock(move || file.keep_prefix(&inner.disk)).await;
                if let Err(e) = kept {
                    log::warn!("cannot keep the partial fill of {key}: {e}");
                }
            }
            return;
        }
        if !keep {
            // PASS, or replaced by an upload meanwhile: dropped (its
            // readers keep their descriptors).
            return;
        }
        let committed = smol::unblock(move || file.commit(&inner.disk, size)).await;
        if let Err(e) = committed {
            log::warn!("cannot keep the copy of {key}: {e}");
        }
    }
}

impl Handler<ClientSession> for FillX<'_> {
    type Error = ClientError;

    async fn answer(
        &mut self,
        _: &mut ClientSession,
        event: ClientEvent,
    ) -> Result<(), ClientError> {
        let answer = match event {
            ClientEvent::Resume(outcome) => OriginAnswer::Resume(outcome),
            ClientEvent::Refused => OriginAnswer::Refused,
            _ => return Ok(()),
        };
        self.act(answer).await
    }

    fn received(&mut self, data: &[u8]) -> Result<(), ClientError> {
        let (Some(file), Some(growing)) = (self.file.as_mut(), &self.growing) else {
            return Ok(());
        };
        file.write(data)
            .map_err(|e| ClientError::Local(format!("cannot write the fill: {e}")))?;
        growing.advance(file.len());
        self.inner
            .counters
            .origin_bytes
            .fetch_add(data.len() as u64, std::sync::atomic::Ordering::Relaxed);
        Ok(())
    }
}
