//! A whole client session, for each kind of request, fed arbitrary server
//! bytes in arbitrary chunks.
#![no_main]

use ferry_core::testing::{App, Driver};
use ferry_core::{ClientEvent, ClientSession, Credentials, Limits, Mask, Name, Request, Timestamp};
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
    let session = ClientSession::new(limits, Timestamp::from_micros(0), auth, request);
    Driver::with(session, Uploads).feed(data, usize::from(pick >> 4));
});

/// Uploads three bytes when the server accepts.
struct Uploads;

impl App<ClientSession> for Uploads {
    fn answer(&mut self, s: &mut ClientSession, event: ClientEvent) {
        if event == ClientEvent::UploadAccepted {
            let _ = s.send_upload(3);
        }
    }

    fn body_out(&mut self, len: u64) -> Vec<u8> {
        vec![0; len.min(1 << 20) as usize]
    }
}
