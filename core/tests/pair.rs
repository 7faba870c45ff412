//! Client and server sessions connected in memory with a fake clock: every
//! op end to end, and timeouts.

mod common;

use common::{ClientDriver, NewClientDriver, NewServerDriver, Pair, ServerApp, ServerDriver, md5};
use ferry_core::{
    ApiMisuse, ClientEvent, Credentials, Limits, Mask, Name, Output, Refusal, Request, ServerEvent,
    ServerSession, SessionError, Timestamp,
};

fn name(s: &str) -> Name {
    Name::parse(s.as_bytes(), &Limits::default()).unwrap()
}

fn big(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
}

fn app() -> ServerApp {
    let mut app = ServerApp::with_files(&[
        ("empty", b""),
        ("one", b"x"),
        ("k1023", &big(1023)),
        ("k1024", &big(1024)),
        ("k1025", &big(1025)),
        ("m3", &big(3 << 20)),
    ]);
    app.users.insert("bob".into(), "hunter2".into());
    app
}

fn pair(request: Request, auth: Option<Credentials>, upload: Vec<u8>, app: ServerApp) -> Pair {
    let mut p = Pair::new(
        ClientDriver::new(request, auth, upload, Limits::default()),
        ServerDriver::new(app, Limits::default()),
    );
    p.drive();
    p
}

#[test]
fn downloads_of_every_size_arrive_byte_for_byte() {
    for file in ["empty", "one", "k1023", "k1024", "k1025", "m3"] {
        let p = pair(Request::Download { name: name(file) }, None, vec![], app());
        let expected = &p.server.app.files[file];
        let got: Vec<u8> = p.client.t.bodies.concat();
        assert_eq!(&got, expected, "{file}");
        assert!(
            p.client.session.is_finished() && p.client.t.error.is_none(),
            "{file}"
        );
        assert!(
            p.server.session.is_finished() && p.server.t.error.is_none(),
            "{file}"
        );
    }
}

#[test]
fn uploads_of_every_size_are_stored_byte_for_byte() {
    for len in [0, 1, 1023, 1024, 1025, 3 << 20] {
        let data = big(len);
        let p = pair(
            Request::Upload {
                name: name("up/new.bin"),
            },
            None,
            data.clone(),
            app(),
        );
        assert_eq!(p.server.app.files["up/new.bin"], data, "{len}");
        assert_eq!(
            p.client.t.log,
            ["UploadAccepted", "UploadDone { stored: true }", "close"]
        );
    }
}

#[test]
fn upload_early_refusal_stops_the_client() {
    let mut app = app();
    app.max_upload = Some(10);
    let p = pair(Request::Upload { name: name("x") }, None, big(5000), app);
    assert_eq!(
        p.client.t.log,
        ["UploadAccepted", "UploadDone { stored: false }", "close"]
    );
    assert!(!p.server.app.files.contains_key("x"));
    // The client stopped sending after the refusal, before the whole body.
    let header = 1 + 4 + 1 + 4; // op, name_len, "x", size
    assert!(
        p.client.t.sent.len() < header + 5000,
        "sent {}",
        p.client.t.sent.len()
    );
    assert_eq!(
        p.server.session.extra_bytes() as usize,
        p.client.t.sent.len() - header
    );
}

#[test]
fn resume_continues_the_same_file() {
    let file = big(1025);
    let mut digest = [0; 16];
    digest.copy_from_slice(&md5(&file[..600]));
    let p = pair(
        Request::Resume {
            name: name("k1025"),
            position: 600,
            md5: digest,
        },
        None,
        vec![],
        app(),
    );
    assert_eq!(p.client.t.bodies.concat(), &file[600..]);
    assert_eq!(p.client.t.log[0], "Resume(Ok { remaining: 425 })");
}

#[test]
fn list_reports_every_file_with_its_size() {
    let p = pair(Request::List, None, vec![], app());
    let [ClientEvent::Listing(entries)] = &p.client.app.events[..] else {
        panic!("{:?}", p.client.app.events)
    };
    let got: Vec<(&str, u64)> = entries.iter().map(|e| (e.name.as_str(), e.size)).collect();
    assert_eq!(
        got,
        [
            ("empty", 0),
            ("k1023", 1023),
            ("k1024", 1024),
            ("k1025", 1025),
            ("m3", 3 << 20),
            ("one", 1)
        ]
    );
}

#[test]
fn mget_streams_each_match_in_order() {
    let mask = Mask::new("k*", &Limits::default()).unwrap();
    let p = pair(Request::MGet { mask }, None, vec![], app());
    let names: Vec<String> = p
        .client
        .app
        .events
        .iter()
        .filter_map(|e| match e {
            ClientEvent::MGetEntry(entry) => Some(entry.name.as_ref().unwrap().to_string()),
            _ => None,
        })
        .collect();
    assert_eq!(names, ["k1023", "k1024", "k1025"]);
    assert_eq!(p.client.app.events[0], ClientEvent::MGetStart { count: 3 });
    let files = &p.server.app.files;
    assert_eq!(
        p.client.t.bodies,
        [
            files["k1023"].clone(),
            files["k1024"].clone(),
            files["k1025"].clone()
        ]
    );
}

#[test]
fn auth_opens_only_the_users_folder() {
    let mut app = app();
    app.private
        .entry("bob".into())
        .or_default()
        .insert("diary".into(), b"dear".to_vec());
    app.private
        .entry("eve".into())
        .or_default()
        .insert("secret".into(), b"eve's".to_vec());
    let bob = Credentials::new("bob", "hunter2", &Limits::default()).unwrap();
    let p = pair(
        Request::Download {
            name: name("diary"),
        },
        Some(bob.clone()),
        vec![],
        app.clone(),
    );
    assert_eq!(p.client.t.bodies, [b"dear".to_vec()]);
    let p = pair(
        Request::Download {
            name: name("secret"),
        },
        Some(bob.clone()),
        vec![],
        app.clone(),
    );
    assert_eq!(
        p.client.app.events,
        [ClientEvent::AuthAccepted, ClientEvent::Refused]
    );
    let p = pair(
        Request::Upload { name: name("new") },
        Some(bob),
        b"hi".to_vec(),
        app.clone(),
    );
    assert_eq!(p.server.app.private["bob"]["new"], b"hi");
    assert!(!p.server.app.files.contains_key("new"));
    let wrong = Credentials::new("bob", "hunter3", &Limits::default()).unwrap();
    let p = pair(Request::List, Some(wrong), vec![], app);
    assert_eq!(p.client.app.events, [ClientEvent::AuthDenied]);
}

// ----- time -----

const SECOND: u64 = 1_000_000;

#[test]
fn a_stalled_client_is_cut_at_the_timeout_with_status_1() {
    // The progress timeout alone (the request timeout is longer here).
    let mut limits = Limits::default();
    limits.request_timeout_us = 60 * SECOND;
    let mut s = ServerSession::new(limits, Timestamp::from_micros(0));
    assert_eq!(
        s.handle_input(Timestamp::from_micros(SECOND), &[10, 0, 0])
            .unwrap(),
        3
    );
    assert_eq!(s.poll_timeout(), Some(Timestamp::from_micros(31 * SECOND)));
    // Early and repeated calls do nothing.
    s.handle_timeout(Timestamp::from_micros(30 * SECOND));
    assert!(s.poll_output().is_none());
    s.handle_timeout(Timestamp::from_micros(31 * SECOND));
    assert_eq!(s.poll_output(), Some(Output::Transmit(vec![1])));
    assert_eq!(s.poll_output(), Some(Output::Close));
    assert_eq!(s.error(), Some(&SessionError::Timeout));
    assert_eq!(s.poll_timeout(), None);
    s.handle_timeout(Timestamp::from_micros(99 * SECOND));
    assert!(s.poll_output().is_none());
}

#[test]
fn progress_restarts_the_timeout_and_waiting_for_the_caller_does_not_count() {
    let mut limits = Limits::default();
    limits.timeout_us = 5 * SECOND;
    let mut s = ServerSession::new(limits, Timestamp::from_micros(0));
    s.handle_input(Timestamp::from_micros(4 * SECOND), &[10, 0, 0, 0, 1])
        .unwrap();
    assert_eq!(s.poll_timeout(), Some(Timestamp::from_micros(9 * SECOND)));
    s.handle_input(Timestamp::from_micros(8 * SECOND), b"a")
        .unwrap();
    assert!(matches!(s.poll_output(), Some(Output::Event(_))));
    assert_eq!(s.poll_timeout(), None, "the caller holds the next move");
    s.send_file(10).unwrap();
    assert_eq!(
        s.poll_output(),
        Some(Output::Transmit(vec![0, 0, 0, 0, 10]))
    );
    assert_eq!(s.poll_output(), Some(Output::SendBody { len: 10 }));
    s.handle_body(Timestamp::from_micros(20 * SECOND), 4)
        .unwrap();
    assert_eq!(s.poll_timeout(), Some(Timestamp::from_micros(25 * SECOND)));
    // A reader that stalls mid-body: cut without a status (the body has begun).
    s.handle_timeout(Timestamp::from_micros(25 * SECOND));
    assert_eq!(s.poll_output(), Some(Output::Close));
    assert_eq!(s.error(), Some(&SessionError::Timeout));
}

#[test]
fn a_request_that_trickles_in_is_cut_at_the_request_timeout() {
    let mut limits = Limits::default();
    limits.timeout_us = 5 * SECOND;
    limits.request_timeout_us = 10 * SECOND;
    let mut s = ServerSession::new(limits, Timestamp::from_micros(0));
    // One byte every 2 s never trips the 5 s progress timeout...
    let name_len_4096 = [10, 0, 0, 16, 0];
    for (i, byte) in name_len_4096.iter().enumerate() {
        let at = Timestamp::from_micros(2 * SECOND * i as u64);
        s.handle_input(at, &[*byte]).unwrap();
        s.handle_timeout(at);
    }
    s.handle_input(Timestamp::from_micros(9 * SECOND), b"a")
        .unwrap();
    assert_eq!(s.poll_timeout(), Some(Timestamp::from_micros(10 * SECOND)));
    // ...but the whole request has 10 s.
    s.handle_timeout(Timestamp::from_micros(10 * SECOND));
    assert_eq!(s.poll_output(), Some(Output::Transmit(vec![1])));
    assert_eq!(s.poll_output(), Some(Output::Close));
    assert_eq!(s.error(), Some(&SessionError::RequestTimeout));
}

#[test]
fn a_password_check_does_not_count_against_the_request_timeout() {
    let mut limits = Limits::default();
    limits.request_timeout_us = 10 * SECOND;
    let mut s = ServerSession::new(limits, Timestamp::from_micros(0));
    s.handle_input(
        Timestamp::from_micros(SECOND),
        &[60, 0, 0, 0, 1, b'u', 0, 0, 0, 1, b'p'],
    )
    .unwrap();
    assert!(matches!(s.poll_output(), Some(Output::Event(_))));
    // The check takes 20 s (a slow disk, a queue of logins).
    s.answer_auth(true).unwrap();
    s.handle_answered(Timestamp::from_micros(21 * SECOND));
    assert_eq!(
        s.poll_timeout(),
        Some(Timestamp::from_micros(51 * SECOND)),
        "the idle timeout starts again at the answer"
    );
    assert_eq!(s.poll_output(), Some(Output::Transmit(vec![0])));
    s.handle_input(Timestamp::from_micros(21 * SECOND), &[10, 0, 0])
        .unwrap();
    // The request has its whole 10 s from its first byte.
    assert_eq!(s.poll_timeout(), Some(Timestamp::from_micros(31 * SECOND)));
    s.handle_timeout(Timestamp::from_micros(30 * SECOND));
    assert!(s.poll_output().is_none());
    assert_eq!(s.error(), None);
}

#[test]
fn a_stalled_server_times_the_client_out() {
    let mut d = ClientDriver::new(Request::List, None, vec![], Limits::default());
    let (mut inbox, mut outbox) = (vec![0, 0, 0], Vec::new());
    d.pump(&mut inbox, &mut outbox);
    d.session
        .handle_timeout(Timestamp::from_micros(30 * SECOND));
    assert_eq!(d.session.error(), Some(&SessionError::Timeout));
    assert!(d.session.is_finished());
}

#[test]
fn misuse_is_reported_not_obeyed() {
    let mut s = ServerSession::new(Limits::default(), Timestamp::from_micros(0));
    assert_eq!(
        s.send_file(3),
        Err(ApiMisuse("answer does not match the pending event"))
    );
    assert!(s.handle_body(Timestamp::from_micros(0), 1).is_err());
    s.handle_input(Timestamp::from_micros(0), &[20]).unwrap();
    let _ = s.poll_output();
    assert!(s.accept_upload().is_err(), "List is pending, not Upload");
    assert!(s.mget_entry(&name("a"), Some(1)).is_err());
    s.send_listing(b"[]".to_vec()).unwrap();
    assert!(s.refuse().is_err(), "nothing pending any more");
}

#[test]
fn files_of_4_gib_or_more_are_refused_not_truncated() {
    let mut s = ServerSession::new(Limits::default(), Timestamp::from_micros(0));
    s.handle_input(Timestamp::from_micros(0), &[10, 0, 0, 0, 1, b'a'])
        .unwrap();
    let _ = s.poll_output();
    s.send_file(1 << 32).unwrap();
    assert_eq!(s.poll_output(), Some(Output::Transmit(vec![1])));
    assert_eq!(s.poll_output(), Some(Output::Close));
    assert_eq!(s.refusal(), Some(&Refusal::TooLarge { size: 1 << 32 }));

    let mut s = ServerSession::new(Limits::default(), Timestamp::from_micros(0));
    s.handle_input(Timestamp::from_micros(0), &[50, 0, 0, 0, 1, b'*'])
        .unwrap();
    let _ = s.poll_output();
    s.start_mget([5 << 30]).unwrap();
    let _ = s.poll_output();
    assert_eq!(s.poll_output(), Some(Output::Event(ServerEvent::NextEntry)));
    s.mget_entry(&name("huge"), Some(5 << 30)).unwrap();
    assert_eq!(
        s.poll_output(),
        Some(Output::Transmit(vec![
            10, 0, 0, 0, 4, b'h', b'u', b'g', b'e'
        ]))
    );
    assert_eq!(s.poll_output(), Some(Output::Close));
}

#[test]
fn mget_caps_count_only_the_bytes_that_would_be_sent() {
    let now = Timestamp::from_micros(0);
    let mut limits = Limits::default();
    limits.max_mget_bytes = 10;
    // A 5 GiB match is reported as unreadable, never sent: it does not count.
    let mut s = ServerSession::new(limits.clone(), now);
    s.handle_input(now, &[50, 0, 0, 0, 1, b'*']).unwrap();
    let _ = s.poll_output();
    s.start_mget([6, 4, 5 << 30]).unwrap();
    assert_eq!(s.poll_output(), Some(Output::Transmit(vec![0, 0, 0, 0, 3])));
    assert_eq!(s.refusal(), None);

    let mut s = ServerSession::new(limits, now);
    s.handle_input(now, &[50, 0, 0, 0, 1, b'*']).unwrap();
    let _ = s.poll_output();
    s.start_mget([6, 5, 5 << 30]).unwrap();
    assert_eq!(s.poll_output(), Some(Output::Transmit(vec![1])));
    assert_eq!(s.poll_output(), Some(Output::Close));
    assert_eq!(
        s.refusal(),
        Some(&Refusal::TooManyMatches {
            count: 3,
            bytes: 11
        })
    );
}
