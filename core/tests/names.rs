//! The naming rules against the hostile inputs of shared/design/GUARANTEES.md
//! and more, one test per case.

use ferry_core::{Limits, Name, NameError, escape};

fn check(raw: &[u8]) -> Result<Name, NameError> {
    Name::parse(raw, &Limits::default())
}

macro_rules! refused {
    ($($test:ident: $raw:expr => $err:pat,)*) => {$(
        #[test]
        fn $test() {
            let raw: &[u8] = $raw;
            let got = check(raw);
            assert!(matches!(got, Err($err)), "{:?} gave {got:?}", escape(raw));
        }
    )*};
}

macro_rules! accepted {
    ($($test:ident: $raw:expr;)*) => {$(
        #[test]
        fn $test() {
            let raw: &str = $raw;
            assert_eq!(check(raw.as_bytes()).map(|n| n.as_str().to_owned()), Ok(raw.to_owned()));
        }
    )*};
}

refused! {
    parent_etc_passwd: b"../etc/passwd" => NameError::DotComponent,
    climb_from_inside: b"a/../../x" => NameError::DotComponent,
    absolute_etc_passwd: b"/etc/passwd" => NameError::Absolute,
    windows_parent: b"..\\..\\win.ini" => NameError::Backslash,
    windows_inner_parent: b"a\\..\\..\\x" => NameError::Backslash,
    nul_after_dots: b"..\0/x" => NameError::Control(0),
    literal_nul: b"a\0b" => NameError::Control(0),
    dot: b"." => NameError::DotComponent,
    dot_dot: b".." => NameError::DotComponent,
    trailing_dot_dot: b"a/.." => NameError::DotComponent,
    inner_dot: b"a/./b" => NameError::DotComponent,
    empty: b"" => NameError::Empty,
    slash: b"/" => NameError::Absolute,
    double_slash: b"a//b" => NameError::EmptyComponent,
    trailing_slash: b"a/" => NameError::EmptyComponent,
    drive_letter: b"C:\\x" => NameError::Backslash,
    unc_share: b"\\\\server\\share\\x" => NameError::Backslash,
    component_256: &[b'a'; 256] => NameError::ComponentTooLong { len: 256, limit: 255 },
    name_4097: &[b'a'; 4097] => NameError::TooLong { len: 4097, limit: 4096 },
    invalid_utf8: b"caf\xc3" => NameError::NotUtf8,
    overlong_slash_utf8: b"\xc0\xafetc" => NameError::NotUtf8,
    newline: b"a\nb" => NameError::Control(0x0a),
    escape_sequence: b"\x1b[2Jclear" => NameError::Control(0x1b),
    delete: b"a\x7f" => NameError::Control(0x7f),
    c1_control: "a\u{85}b".as_bytes() => NameError::Control(0x85),
    bidi_override: "evil\u{202e}txt.exe".as_bytes() => NameError::Bidi(0x202e),
    bidi_isolate: "x\u{2066}y".as_bytes() => NameError::Bidi(0x2066),
    zero_width_space: "a\u{200b}.txt".as_bytes() => NameError::Invisible(0x200b),
    soft_hyphen: "wel\u{ad}come.txt".as_bytes() => NameError::Invisible(0xad),
    word_joiner: "a\u{2060}b".as_bytes() => NameError::Invisible(0x2060),
    invisible_plus: "a\u{2064}b".as_bytes() => NameError::Invisible(0x2064),
    byte_order_mark: "\u{feff}a.txt".as_bytes() => NameError::Invisible(0xfeff),
    left_to_right_mark: "a\u{200e}b".as_bytes() => NameError::Bidi(0x200e),
    right_to_left_mark: "a\u{200f}b".as_bytes() => NameError::Bidi(0x200f),
    embedding: "a\u{202a}b".as_bytes() => NameError::Bidi(0x202a),
    pop_isolate: "a\u{2069}b".as_bytes() => NameError::Bidi(0x2069),
    division_slash: "etc\u{2215}passwd".as_bytes() => NameError::LooksLike { code: 0x2215, like: "/" },
    fraction_slash: "a\u{2044}b".as_bytes() => NameError::LooksLike { code: 0x2044, like: "/" },
    fullwidth_solidus: "a\u{ff0f}b".as_bytes() => NameError::LooksLike { code: 0xff0f, like: "/" },
    one_dot_leader: "a\u{2024}txt".as_bytes() => NameError::LooksLike { code: 0x2024, like: "." },
    two_dot_leader: "\u{2025}/x".as_bytes() => NameError::LooksLike { code: 0x2025, like: ".." },
    fullwidth_full_stop: "a\u{ff0e}txt".as_bytes() => NameError::LooksLike { code: 0xff0e, like: "." },
    reserved_temp: b".ferry-upload-1234" => NameError::Reserved,
    reserved_in_folder: b"docs/.ferry-tmp" => NameError::Reserved,
    tab: b"a\tb" => NameError::Control(9),
}

accepted! {
    plain: "a.txt";
    nested: "docs/2024/report.pdf";
    percent_dots_are_literal: "%2e%2e/x";
    dots_inside: "a..b/...";
    hidden_file: ".hidden";
    unicode: "relatório/ação.txt";
    zero_width_non_joiner_in_persian: "می\u{200c}خواهم.txt";
    zero_width_joiner_in_emoji: "👩\u{200d}💻.png";
    spaces: "my file (1).txt";
    colon: "C:x";
    component_255: &"a".repeat(255);
    name_4096: &vec!["a".repeat(240); 17].join("/");
}

#[test]
fn limits_are_configurable() {
    let mut limits = Limits::default();
    limits.max_name_len = 8;
    limits.max_component_len = 3;
    assert_eq!(
        Name::parse(b"abc/def", &limits).map(|n| n.to_string()),
        Ok("abc/def".into())
    );
    assert_eq!(
        Name::parse(b"abcd", &limits),
        Err(NameError::ComponentTooLong { len: 4, limit: 3 })
    );
    assert_eq!(
        Name::parse(b"abc/def/g", &limits),
        Err(NameError::TooLong { len: 9, limit: 8 })
    );
}

#[test]
fn escape_neutralises_terminal_tricks() {
    assert_eq!(escape(b"plain/name.txt"), "plain/name.txt");
    assert_eq!(escape("a\u{202e}b".as_bytes()), "a\\u202eb");
    assert_eq!(escape(b"..\\x\n"), "..\\\\x\\n");
    assert_eq!(escape(b"a\tb\rc\x7f\x01"), "a\\tb\\rc\\x7f\\x01");
    assert_eq!(escape("x\u{85}y".as_bytes()), "x\\u0085y");
    assert_eq!(escape(b"\xff\xfe"), "\\xff\\xfe");
}

#[test]
fn a_single_component_never_holds_a_separator() {
    use ferry_core::check_component;
    for user in ["../evil", "a/b", "/root", "x/"] {
        assert_eq!(check_component(user, 64), Err(NameError::Slash), "{user}");
    }
    assert_eq!(check_component("..", 64), Err(NameError::DotComponent));
    assert_eq!(check_component("alice", 64), Ok(()));
    assert_eq!(
        check_component(&"a".repeat(65), 64),
        Err(NameError::ComponentTooLong { len: 65, limit: 64 })
    );
}

#[test]
fn escape_shows_every_deceptive_character() {
    assert_eq!(
        escape("a\u{200b}b\u{2215}c".as_bytes()),
        "a\\u200bb\\u2215c"
    );
    for &(first, last, _) in ferry_core::DECEPTIVE {
        for ch in first..=last {
            let shown = escape(ch.to_string().as_bytes());
            assert_eq!(shown, format!("\\u{:04x}", ch as u32));
        }
    }
}

#[test]
fn names_compare_in_nfc() {
    use ferry_core::nfc;
    assert_eq!(nfc("cafe\u{301}.txt"), "caf\u{e9}.txt");
    assert_eq!(nfc("caf\u{e9}.txt"), "caf\u{e9}.txt");
    assert_eq!(nfc("\u{212a}.txt"), "K.txt", "the Kelvin sign is a K");
}

/// `may_have_other_spellings` says ASCII text has no other NFC spelling
/// unless it holds `K`, `;` or `` ` ``: every Unicode character whose NFC
/// is ASCII is checked here, so a new Unicode version cannot make it wrong
/// unnoticed.
#[test]
fn ascii_names_have_other_spellings_only_through_three_characters() {
    use ferry_core::{may_have_other_spellings, nfc};
    let mut found = Vec::new();
    for ch in (0..=0x10FFFFu32).filter_map(char::from_u32) {
        if ch.is_ascii() {
            continue;
        }
        let text = ch.to_string();
        let normal = nfc(&text);
        if normal.is_ascii() {
            assert!(
                may_have_other_spellings(&normal),
                "U+{:04X} → {normal}",
                ch as u32
            );
            found.push(normal.into_owned());
        }
    }
    found.sort();
    assert_eq!(found, [";", "K", "`"]);
    assert!(!may_have_other_spellings("notes-2026.txt"));
    assert!(may_have_other_spellings("Kelvin.txt"));
    assert!(may_have_other_spellings("ação.txt"));
}
