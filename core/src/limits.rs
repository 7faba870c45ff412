//! Every limit the protocol enforces, named in one place with its default.

/// The limits one connection obeys, for either role.
///
/// Every field is public so frontends can expose each one as a flag; start from
/// [`Limits::default`] and change what you need:
///
/// ```
/// let mut limits = ferry_core::Limits::default();
/// limits.timeout_us = 5_000_000; // cut stalled peers after 5 s
/// assert_eq!(limits.max_name_len, 4096);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Longest name (relative path) in bytes. Default 4096.
    pub max_name_len: u32,
    /// Longest single component of a name, in bytes. Default 255.
    pub max_component_len: u32,
    /// Longest op 50 mask in bytes. Default 1024.
    pub max_mask_len: u32,
    /// Longest op 60 user name in bytes. Default 64.
    pub max_user_len: u32,
    /// Longest op 60 password in bytes. Default 1024.
    pub max_pass_len: u32,
    /// Longest op 20 JSON listing in bytes. Default 16 MiB.
    ///
    /// A server whose listing is longer answers status 1; a client refuses a
    /// longer announced length before reading it.
    pub max_listing_len: u32,
    /// Most entries one op 50 answer may carry (server side). Default 10,000.
    pub max_mget_entries: u32,
    /// Most payload bytes one op 50 answer may carry (server side). Default 16 GiB.
    pub max_mget_bytes: u64,
    /// Longest op 50 entry name a client reads before giving up on the whole
    /// answer (client side). Default 64 KiB. A name longer than the name
    /// rules allow but within this is refused on its own (its body read and
    /// dropped) and the answer goes on.
    pub max_entry_name_read: u32,
    /// Microseconds without progress after which a connection is cut. Default 30 s.
    pub timeout_us: u64,
    /// Microseconds a server allows for a whole request message, however
    /// steadily its bytes trickle in (time spent checking a password does
    /// not count). Default 10 s.
    pub request_timeout_us: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_name_len: 4096,
            max_component_len: 255,
            max_mask_len: 1024,
            max_user_len: 64,
            max_pass_len: 1024,
            max_listing_len: 16 << 20,
            max_mget_entries: 10_000,
            max_mget_bytes: 16 << 30,
            max_entry_name_read: 64 << 10,
            timeout_us: 30_000_000,
            request_timeout_us: 10_000_000,
        }
    }
}
