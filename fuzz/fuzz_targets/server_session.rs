//! A whole server session fed arbitrary client bytes in arbitrary chunks
//! (the first byte picks the chunk size), with every event answered.
#![no_main]

use ferry_core::testing::{App, Driver};
use ferry_core::{Limits, ResumeAnswer, ServerEvent, ServerSession, Timestamp};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&chunk, data)) = data.split_first() else {
        return;
    };
    let session = ServerSession::new(Limits::default(), Timestamp::from_micros(0));
    Driver::with(session, Answers).feed(data, usize::from(chunk));
});

/// Answers every event, and sends zeros for bodies.
struct Answers;

impl App<ServerSession> for Answers {
    fn answer(&mut self, s: &mut ServerSession, event: ServerEvent) {
        answer(s, event);
    }

    fn body_out(&mut self, len: u64) -> Vec<u8> {
        vec![0; len.min(1 << 20) as usize]
    }
}

fn answer(s: &mut ServerSession, event: ServerEvent) {
    let _ = match event {
        ServerEvent::Auth(c) => s.answer_auth(c.user().len() % 2 == 0),
        ServerEvent::Download { name } => s.send_file(name.as_str().len() as u64),
        ServerEvent::List => s.send_listing(b"[]".to_vec()),
        ServerEvent::Upload { .. } => s.accept_upload(),
        ServerEvent::UploadSize { .. } => s.receive_body(),
        ServerEvent::UploadComplete => s.finish_upload(true),
        ServerEvent::Resume { position, .. } => s.answer_resume(ResumeAnswer::Send {
            file_size: u64::from(position) + 3,
        }),
        ServerEvent::MGet { .. } => s.start_mget([1u64, 0, 4].into_iter()),
        ServerEvent::NextEntry => {
            let name = ferry_core::Name::parse(b"a.txt", &Limits::default());
            match name {
                Ok(name) => s.mget_entry(&name, Some(1)),
                Err(_) => Ok(s.abort()),
            }
        }
    };
}
