//! The name rules, the escapes, masks and glob matching on arbitrary text.
#![no_main]

use ferry_core::{Limits, ListEntry, Mask, Name, escape, escape_short};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = Limits::default();
    if let Ok(name) = Name::parse(data, &limits) {
        // A valid name escapes to itself and has no empty component.
        assert_eq!(
            escape(name.as_str().as_bytes()),
            name.as_str().replace('\\', "\\\\")
        );
        assert!(name.components().all(|c| !c.is_empty()));
    }
    let shown = escape(data);
    assert!(!shown.chars().any(|c| c.is_control()), "{shown:?}");
    let _ = escape_short(data, usize::from(data.first().copied().unwrap_or(0)));
    if let Ok(text) = std::str::from_utf8(data) {
        let (mask, name) = text.split_once('\n').unwrap_or((text, "a.txt"));
        if let Ok(mask) = Mask::new(mask, &limits) {
            let entries = vec![ListEntry {
                name: name.to_owned(),
                size: 1,
            }];
            let _ = ferry_storage::matching(entries, mask.as_str());
        }
    }
});
