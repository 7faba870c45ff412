//! The caching proxy's decisions, as pure functions: what to ask the origin
//! for a name given what the cache holds, and what to do with its answer.
//!
//! The cache (`ferry cache`) does the I/O; here is only the policy, so it is
//! tested without sockets, files or a clock:
//!
//! - [`plan`]: serve a fresh entry, or ask the origin with op 40 from what
//!   is held: position 0 when nothing is (op 40, unlike op 10, tells "no
//!   such file" from a refusal), the prefix of a fill cut short, or the
//!   whole entry to revalidate it (position = its size, with the MD5
//!   recorded when it was filled).
//! - [`next`]: from the origin's answer (or its silence), serve the entry,
//!   stream bytes into a fill (all of them, or only the rest), fetch again
//!   from the start, or give up with "not found" or a refusal. An origin
//!   that refuses (status 1) is treated like one that is down: a copy held
//!   is served stale, for at most `--max-stale` after its last confirmation.

use crate::message::{EMPTY_MD5, ResumeOutcome};

/// What the cache holds for one name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Held {
    /// Nothing.
    Nothing,
    /// The first `len` bytes of a fill the origin cut short.
    Prefix {
        /// Bytes held.
        len: u32,
        /// Their MD5.
        md5: [u8; 16],
    },
    /// A complete copy.
    Entry {
        /// Its size.
        size: u32,
        /// Its MD5, recorded when it was filled.
        md5: [u8; 16],
        /// Microseconds since the origin last confirmed it.
        age_us: u64,
    },
}

/// What to do for a request, before asking anyone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    /// Serve the entry as held: it is younger than `--fresh-for`.
    Serve,
    /// Ask with op 40 from `position` bytes whose MD5 is `md5`.
    Resume {
        /// Bytes held.
        position: u32,
        /// Their MD5.
        md5: [u8; 16],
    },
}

/// Decides how to answer a request for a name the cache holds as `held`,
/// keeping entries for `fresh_for_us` microseconds without asking the
/// origin (0: ask every time).
pub fn plan(held: Held, fresh_for_us: u64) -> Plan {
    match held {
        Held::Nothing => Plan::Resume {
            position: 0,
            md5: EMPTY_MD5,
        },
        Held::Entry { age_us, .. } if age_us < fresh_for_us => Plan::Serve,
        Held::Entry { size, md5, .. } => Plan::Resume {
            position: size,
            md5,
        },
        Held::Prefix { len, md5 } => Plan::Resume { position: len, md5 },
    }
}

/// What the origin said to the planned request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OriginAnswer {
    /// Op 40's result.
    Resume(ResumeOutcome),
    /// Status 1: refused (not a regular file, 4 GiB or more, or the origin
    /// could not do it: its own store is down).
    Refused,
    /// No answer: the origin is down, timed out or broke the protocol.
    Unreachable,
}

/// What the cache does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Serve the entry held: the origin confirmed it.
    Unchanged,
    /// Serve the entry held although the origin did not answer or refused
    /// (log STALE with the reason).
    Stale,
    /// Bytes follow: the fill holds `from` bytes already (a prefix, or an
    /// entry the origin's file grew past) and ends at `size`.
    Stream {
        /// Bytes the fill starts with.
        from: u32,
        /// The file's full size.
        size: u64,
    },
    /// What is held no longer matches the origin's file: drop it and ask
    /// again from position 0.
    Refetch,
    /// The origin has no such file: drop what is held, answer "not found".
    NotFound,
    /// Drop what is held and answer status 1 (the origin refused or is
    /// unreachable, and no copy confirmed within `--max-stale` is held).
    Refuse,
}

/// Decides what to do with the origin's answer to the request [`plan`]
/// made for `held`; a complete copy confirmed less than `max_stale_us`
/// microseconds ago is served stale when the origin fails.
pub fn next(held: Held, answer: OriginAnswer, max_stale_us: u64) -> Next {
    use OriginAnswer as A;
    match (held, answer) {
        (Held::Entry { age_us, .. }, A::Unreachable | A::Refused) if age_us < max_stale_us => {
            Next::Stale
        }
        (_, A::Unreachable | A::Refused) => Next::Refuse,
        (Held::Entry { .. }, A::Resume(ResumeOutcome::Ok { remaining: 0 })) => Next::Unchanged,
        (
            Held::Nothing | Held::Entry { .. } | Held::Prefix { .. },
            A::Resume(ResumeOutcome::Ok { remaining }),
        ) => {
            let from = match held {
                Held::Nothing => 0,
                Held::Entry { size, .. } => size,
                Held::Prefix { len, .. } => len,
            };
            Next::Stream {
                from,
                size: u64::from(from) + u64::from(remaining),
            }
        }
        // The MD5 of nothing cannot mismatch: the origin broke the protocol,
        // and nothing it said is trusted.
        (Held::Nothing, A::Resume(ResumeOutcome::Mismatch)) => Next::Refuse,
        (_, A::Resume(ResumeOutcome::Mismatch)) => Next::Refetch,
        (_, A::Resume(ResumeOutcome::NoSuchFile)) => Next::NotFound,
    }
}

/// Whether a file of `size` bytes is kept in a cache of `max_size` bytes;
/// a larger one is streamed through uncached (PASS).
pub fn keeps(size: u64, max_size: u64) -> bool {
    size <= max_size
}

#[cfg(test)]
mod tests {
    use super::*;

    const MD5: [u8; 16] = [7; 16];
    const HOUR: u64 = 3_600_000_000;

    fn entry(size: u32, age_us: u64) -> Held {
        Held::Entry {
            size,
            md5: MD5,
            age_us,
        }
    }

    #[test]
    fn plans_follow_what_is_held_and_its_age() {
        assert_eq!(
            plan(Held::Nothing, 0),
            Plan::Resume {
                position: 0,
                md5: EMPTY_MD5
            }
        );
        assert_eq!(plan(entry(10, 5), 6), Plan::Serve);
        assert_eq!(
            plan(entry(10, 6), 6),
            Plan::Resume {
                position: 10,
                md5: MD5
            },
            "an entry as old as --fresh-for is revalidated"
        );
        assert_eq!(
            plan(entry(10, 0), 0),
            Plan::Resume {
                position: 10,
                md5: MD5
            },
            "--fresh-for 0 revalidates every hit"
        );
        assert_eq!(
            plan(Held::Prefix { len: 4, md5: MD5 }, u64::MAX),
            Plan::Resume {
                position: 4,
                md5: MD5
            },
            "a prefix is never fresh"
        );
    }

    #[test]
    fn answers_to_a_revalidation() {
        let held = entry(10, 99);
        let ok = |remaining| OriginAnswer::Resume(ResumeOutcome::Ok { remaining });
        assert_eq!(next(held, ok(0), HOUR), Next::Unchanged);
        assert_eq!(
            next(held, ok(5), HOUR),
            Next::Stream { from: 10, size: 15 },
            "the file grew: only the rest is fetched"
        );
        let outcome = |o| OriginAnswer::Resume(o);
        assert_eq!(
            next(held, outcome(ResumeOutcome::Mismatch), HOUR),
            Next::Refetch
        );
        assert_eq!(
            next(held, outcome(ResumeOutcome::NoSuchFile), HOUR),
            Next::NotFound
        );
        assert_eq!(
            next(held, OriginAnswer::Refused, HOUR),
            Next::Stale,
            "an origin that refuses is treated as down"
        );
        assert_eq!(next(held, OriginAnswer::Unreachable, HOUR), Next::Stale);
        for answer in [OriginAnswer::Refused, OriginAnswer::Unreachable] {
            assert_eq!(
                next(held, answer, 99),
                Next::Refuse,
                "past --max-stale the origin's answer is passed on"
            );
        }
    }

    #[test]
    fn answers_to_a_fetch_and_a_resumed_fill() {
        assert_eq!(
            next(
                Held::Nothing,
                OriginAnswer::Resume(ResumeOutcome::Ok { remaining: 9 }),
                HOUR
            ),
            Next::Stream { from: 0, size: 9 }
        );
        assert_eq!(
            next(
                Held::Nothing,
                OriginAnswer::Resume(ResumeOutcome::NoSuchFile),
                HOUR
            ),
            Next::NotFound
        );
        assert_eq!(
            next(Held::Nothing, OriginAnswer::Unreachable, HOUR),
            Next::Refuse
        );
        assert_eq!(
            next(Held::Nothing, OriginAnswer::Refused, HOUR),
            Next::Refuse
        );
        let prefix = Held::Prefix { len: 4, md5: MD5 };
        assert_eq!(
            next(
                prefix,
                OriginAnswer::Resume(ResumeOutcome::Ok {
                    remaining: u32::MAX
                }),
                HOUR
            ),
            Next::Stream {
                from: 4,
                size: 4 + u64::from(u32::MAX)
            }
        );
        assert_eq!(
            next(prefix, OriginAnswer::Resume(ResumeOutcome::Mismatch), HOUR),
            Next::Refetch
        );
        assert_eq!(next(prefix, OriginAnswer::Unreachable, HOUR), Next::Refuse);
        assert_eq!(
            next(
                Held::Nothing,
                OriginAnswer::Resume(ResumeOutcome::Mismatch),
                HOUR
            ),
            Next::Refuse
        );
    }

    #[test]
    fn files_larger_than_the_cache_pass_through() {
        assert!(keeps(10, 10));
        assert!(!keeps(11, 10));
    }
}
