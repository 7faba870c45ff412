//! `ferry ls` and the listing the shell completes names from.

use ferry_core::{ClientEvent, ClientSession, ListEntry, Request, encode_listing, escape};

use super::{Remote, denied, exchange, human};
use crate::drive::Handler;
use crate::error::ClientError;

struct ListX {
    remote: Remote,
    entries: Option<Vec<ListEntry>>,
}

impl Handler<ClientSession> for ListX {
    type Error = ClientError;

    async fn answer(
        &mut self,
        _: &mut ClientSession,
        event: ClientEvent,
    ) -> Result<(), ClientError> {
        match event {
            ClientEvent::Listing(entries) => self.entries = Some(entries),
            ClientEvent::AuthDenied => return Err(denied(&self.remote)),
            ClientEvent::Refused => {
                return Err(ClientError::Refused(
                    "the server could not list its folder (a listing past its limit, or a failure on its side)".into(),
                ));
            }
            _ => {}
        }
        Ok(())
    }

    fn received(&mut self, _: &[u8]) -> Result<(), ClientError> {
        Ok(())
    }
}

/// Fetches the listing.
pub async fn list(remote: &Remote) -> Result<Vec<ListEntry>, ClientError> {
    let mut x = ListX {
        remote: remote.clone(),
        entries: None,
    };
    exchange(remote, Request::List, &mut x).await?;
    x.entries
        .ok_or_else(|| ClientError::Protocol("the server sent no listing".into()))
}

/// `ferry ls`: a table, or the listing as JSON.
pub async fn ls(remote: &Remote, json: bool) -> Result<(), ClientError> {
    let entries = list(remote).await?;
    if json {
        println!("{}", String::from_utf8_lossy(&encode_listing(&entries)));
        return Ok(());
    }
    let width = entries
        .iter()
        .map(|e| human(e.size).len())
        .max()
        .unwrap_or(0);
    for entry in &entries {
        // Names from the wire are escaped before they reach the terminal.
        println!(
            "{:>width$}  {}",
            human(entry.size),
            escape(entry.name.as_bytes())
        );
    }
    let total: u64 = entries.iter().map(|e| e.size).sum();
    let files = match entries.len() {
        1 => "1 file".to_owned(),
        n => format!("{n} files"),
    };
    remote.say(format!("{files}, {}", human(total)));
    Ok(())
}
