//! `ferry ls` and the listing the shell completes names from.

use ferry_core::{ListEntry, encode_listing, escape};
use ferry_runtime::upstream::{self, ListingRefused};

use super::{Remote, human};
use crate::error::ClientError;

/// Fetches the listing.
pub async fn list(remote: &Remote) -> Result<Vec<ListEntry>, ClientError> {
    let refused = |refused: ListingRefused| ClientError::Refused(refused.to_string());
    let first = upstream::list(&remote.upstream).await;
    if let Err(e) = &first
        && crate::trusted_now(remote, e)?
    {
        let again = upstream::list(&remote.upstream).await;
        return again.map_err(|e| ClientError::from_exchange(e, refused));
    }
    first.map_err(|e| ClientError::from_exchange(e, refused))
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
