//! Property tests: random messages round-trip; random bytes never panic a
//! decoder or a session, and always end in a message or a typed error.

mod common;

use common::{ServerApp, run_client, run_server};
use ferry_core::{
    ClientMessage, Credentials, Expect, Limits, MGetEntry, Mask, Name, Reply, Request,
    ResumeOutcome, Status,
};
use proptest::prelude::*;

fn limits() -> Limits {
    Limits::default()
}

fn name() -> impl Strategy<Value = Name> {
    "[a-zA-Z0-9 ._-]{1,20}(/[a-zA-Z0-9 ._é-]{1,20}){0,3}".prop_filter_map("valid names only", |s| {
        Name::parse(s.as_bytes(), &limits()).ok()
    })
}

fn request() -> impl Strategy<Value = ClientMessage> {
    prop_oneof![
        name().prop_map(|name| Request::Download { name }),
        Just(Request::List),
        name().prop_map(|name| Request::Upload { name }),
        (name(), any::<u32>(), any::<[u8; 16]>()).prop_map(|(name, position, md5)| {
            Request::Resume {
                name,
                position,
                md5,
            }
        }),
        "[^\u{0}]{1,50}".prop_map(|m| Request::MGet {
            mask: Mask::new(&m, &limits()).unwrap()
        }),
    ]
    .prop_map(ClientMessage::Request)
    .boxed()
    .prop_union(
        ("[a-z][a-z0-9_]{0,20}", ".{0,40}")
            .prop_map(|(u, p)| ClientMessage::Auth(Credentials::new(&u, &p, &limits()).unwrap()))
            .boxed(),
    )
}

fn reply() -> impl Strategy<Value = (Expect, Reply)> {
    prop_oneof![
        any::<bool>().prop_map(|ok| (
            Expect::Status,
            Reply::Status(if ok { Status::Ok } else { Status::Error })
        )),
        any::<u32>().prop_map(|size| (Expect::Download, Reply::Download { size })),
        proptest::collection::vec(any::<u8>(), 0..100)
            .prop_map(|j| (Expect::Listing, Reply::Listing(j))),
        any::<u32>().prop_map(|remaining| (
            Expect::Resume,
            Reply::Resume(ResumeOutcome::Ok { remaining })
        )),
        Just((Expect::Resume, Reply::Resume(ResumeOutcome::NoSuchFile))),
        Just((Expect::Resume, Reply::Resume(ResumeOutcome::Mismatch))),
        any::<u32>().prop_map(|count| (Expect::MGetStart, Reply::MGetStart { count })),
        (name(), proptest::option::of(any::<u32>())).prop_map(|(n, size)| (
            Expect::MGetEntry,
            Reply::MGetEntry(MGetEntry { name: Ok(n), size })
        )),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn client_messages_round_trip(msg in request()) {
        let mut bytes = Vec::new();
        msg.encode(&mut bytes);
        let decoded = ClientMessage::decode(&bytes, &limits(), false).unwrap();
        prop_assert_eq!(decoded.value, msg);
        prop_assert_eq!(decoded.len, bytes.len());
    }

    #[test]
    fn replies_round_trip((expect, reply) in reply()) {
        let mut bytes = Vec::new();
        reply.encode(&mut bytes);
        let decoded = Reply::decode(&bytes, expect, &limits(), false).unwrap();
        prop_assert_eq!(decoded.value, reply);
    }

    #[test]
    fn random_bytes_decode_to_a_message_or_a_typed_error(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        // Never a panic; an error always points inside or just past the input.
        if let Err(e) = ClientMessage::decode(&bytes, &limits(), true) {
            prop_assert!(e.offset <= bytes.len() as u64, "{e:?}");
        }
        for expect in [Expect::Status, Expect::Download, Expect::Listing, Expect::Resume, Expect::MGetStart, Expect::MGetEntry] {
            if let Err(e) = Reply::decode(&bytes, expect, &limits(), true) {
                prop_assert!(e.offset <= bytes.len() as u64, "{e:?}");
            }
        }
    }

    #[test]
    fn random_requests_never_panic_a_server_and_any_split_agrees(
        head in prop::sample::select(vec![10u8, 20, 30, 40, 50, 60, 0, 255]),
        bytes in proptest::collection::vec(any::<u8>(), 0..120),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut input = vec![head];
        input.extend(bytes);
        let app = ServerApp::with_files(&[("a", b"hello")]);
        let whole = run_server(app.clone(), &[&input]);
        let at = cut.index(input.len() + 1);
        let split = run_server(app, &[&input[..at], &input[at..]]);
        prop_assert_eq!(&whole.0, &split.0);
        // The server always ends: closed, answered or failed.
        prop_assert!(whole.0.closed, "{:?}", whole.0);
    }

    #[test]
    fn random_replies_never_panic_a_client(
        bytes in proptest::collection::vec(any::<u8>(), 0..120),
        which in 0usize..5,
    ) {
        let n = Name::parse(b"a", &limits()).unwrap();
        let request = match which {
            0 => Request::Download { name: n },
            1 => Request::List,
            2 => Request::Upload { name: n },
            3 => Request::Resume { name: n, position: 0, md5: [0; 16] },
            _ => Request::MGet { mask: Mask::new("*", &limits()).unwrap() },
        };
        let t = run_client(request, None, b"xyz", &[&bytes]);
        prop_assert!(t.closed, "{:?}", t);
    }
}
