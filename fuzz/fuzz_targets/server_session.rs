//! A whole server session fed arbitrary client bytes in arbitrary chunks
//! (the first byte picks the chunk size), with every event answered.
#![no_main]

use ferry_core::{Limits, Output, ResumeAnswer, ServerEvent, ServerSession, Timestamp};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&chunk, data)) = data.split_first() else {
        return;
    };
    let chunk = usize::from(chunk).max(1);
    let mut s = ServerSession::new(Limits::default(), Timestamp::from_micros(0));
    let mut now = 0u64;
    let mut pending = data;
    let mut receiving = 0u64;
    for _ in 0..10_000 {
        while let Some(output) = s.poll_output() {
            match output {
                Output::Event(event) => answer(&mut s, event),
                Output::SendBody { len } => {
                    let _ = s.handle_body(Timestamp::from_micros(now), len);
                }
                Output::ReceiveBody { len } => receiving = len,
                Output::Transmit(_) | Output::Close => {}
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
