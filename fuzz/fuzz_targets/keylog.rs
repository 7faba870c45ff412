//! Key logs (SSLKEYLOGFILE) from arbitrary bytes: a key log or a typed
//! error naming the line, never a panic.
#![no_main]

use ferry_core::{KeyLog, KeyLogError};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match KeyLog::parse(data) {
        // At most one conversation per line (a log of only unknown labels
        // holds none).
        Ok(log) => assert!(log.len() <= data.split(|&b| b == b'\n').count()),
        Err(KeyLogError::BadLine { line }) => {
            assert!(line >= 1 && line <= data.split(|&b| b == b'\n').count())
        }
        Err(_) => {}
    }
});
