//! A whole client session, for each kind of request, fed arbitrary server
//! bytes in arbitrary chunks.
#![no_main]

use ferry_core::{
    ClientEvent, ClientSession, Credentials, Limits, Mask, Name, Output, Request, Timestamp,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, data)) = data.split_first() else {
        return;
    };
    let limits = Limits::default();
    let (Ok(name), Ok(mask)) = (Name::parse(b"a.txt", &limits), Mask::new("*.txt", &limits)) else {
        return;
    };
    let request = match pick % 5 {
        0 => Request::Download { name },
        1 => Request::List,
        2 => Request::Upload { name },
        3 => Request::Resume {
            name,
            position: 1,
            md5: [0; 16],
        },
        _ => Request::MGet { mask },
    };
    let auth = (pick & 8 != 0)
        .then(|| Credentials::new("u", "p", &limits).ok())
        .flatten();
    let chunk = usize::from(pick >> 4).max(1);
    let mut s = ClientSession::new(limits, Timestamp::from_micros(0), auth, request);
    let mut pending = data;
    let mut receiving = 0u64;
    let mut now = 0u64;
    for _ in 0..10_000 {
        while let Some(output) = s.poll_output() {
            match output {
                Output::Event(ClientEvent::UploadAccepted) => {
                    let _ = s.send_upload(3);
                }
                Output::SendBody { len } => {
                    let _ = s.handle_body(Timestamp::from_micros(now), len);
                }
                Output::ReceiveBody { len } => receiving = len,
                _ => {}
            }
        }
        now += 1000;
        if s.is_finished() {
            break;
        }
        if pending.is_empty() {
            s.handle_eof(Timestamp::from_micros(now));
            continue;
        }
        let n = pending.len().min(chunk);
        if receiving > 0 {
            let n = (n as u64).min(receiving);
            receiving -= n;
            let _ = s.handle_body(Timestamp::from_micros(now), n);
            pending = &pending[n as usize..];
            continue;
        }
        match s.handle_input(Timestamp::from_micros(now), &pending[..n]) {
            Ok(used) => pending = &pending[used..],
            Err(_) => pending = &[],
        }
    }
});
