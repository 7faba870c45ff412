//! `ferry decode`: a capture as a readable ladder, or as JSON.

use std::io::{IsTerminal, Write};
use std::path::Path;

use ferry_core::{
    Connection, Direction, FieldView, KeyLog, Layer, Message, Said, SegmentView, TcpRole,
    TraceOptions, Transcript, decode_capture, localized, localized_bytes, localized_count,
};

use ferry_client::ClientError;

/// Decodes `path` (with the TLS secrets of `keylog`, if given) and prints
/// the transcript. A reader that goes away (a closed pipe, `| head`) ends
/// the output quietly.
pub fn run(
    path: &Path,
    json: bool,
    ports: &[u16],
    keylog: Option<&Path>,
    portuguese: bool,
) -> Result<(), ClientError> {
    let bytes = std::fs::read(path).map_err(|e| {
        ClientError::Local(format!("cannot read the capture {}: {e}", path.display()))
    })?;
    let mut options = TraceOptions::default();
    if !ports.is_empty() {
        options.ports = ports.to_vec();
    }
    if let Some(keylog) = keylog {
        let text = std::fs::read(keylog).map_err(|e| {
            ClientError::Local(format!("cannot read the key log {}: {e}", keylog.display()))
        })?;
        options.keylog = KeyLog::parse(&text)
            .map_err(|e| ClientError::Usage(format!("{}: {e}", keylog.display())))?;
    }
    let transcript = decode_capture(&bytes, &options).map_err(|e| {
        let (en, pt) = e.explained();
        let why = if portuguese { pt } else { en };
        ClientError::Usage(format!("{}: {why}", path.display()))
    })?;
    let text = if json {
        let mut text = serde_json::to_string_pretty(&transcript)
            .map_err(|e| ClientError::Local(format!("cannot write JSON: {e}")))?;
        text.push('\n');
        text
    } else {
        let width = std::io::stdout()
            .is_terminal()
            .then(terminal_width)
            .flatten();
        ladder(&transcript, portuguese, width)
    };
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(ClientError::Local(format!(
            "cannot write the transcript: {e}"
        ))),
        _ => Ok(()),
    }
}

/// The terminal's width in columns, if stdout is one.
fn terminal_width() -> Option<usize> {
    let size = rustix::termios::tcgetwinsize(std::io::stdout()).ok()?;
    (size.ws_col >= 40).then_some(usize::from(size.ws_col))
}

/// One language's words.
struct Words {
    portuguese: bool,
}

impl Words {
    fn say(&self, key: &str, args: &[(&str, &str)]) -> String {
        localized(key, self.portuguese, args)
    }

    /// A sentence of the transcript, put into words from its key and
    /// arguments.
    fn of(&self, sentence: &Said) -> String {
        ferry_core::words(sentence, self.portuguese)
    }

    fn count(&self, n: impl TryInto<u64>) -> String {
        localized_count(n.try_into().unwrap_or(u64::MAX), self.portuguese)
    }

    fn bytes(&self, n: u64) -> String {
        localized_bytes(n, self.portuguese)
    }

    /// Seconds since `origin`, to the microsecond: `0.102345` (`0,102345`
    /// in Portuguese).
    fn seconds(&self, us: u64, origin: u64) -> String {
        let d = us.saturating_sub(origin);
        let point = if self.portuguese { ',' } else { '.' };
        format!("{}{point}{:06}", d / 1_000_000, d % 1_000_000)
    }
}

/// Columns before a field's meaning: indent, name, bytes, hex, value.
const FIELD_COLUMNS: [usize; 5] = [8, 13, 12, 19, 25];
/// Frames listed for one message before "(+N more)".
const FRAMES_SHOWN: usize = 6;
/// Listing entries shown under a LIST reply.
const LISTING_SHOWN: usize = 20;

/// The transcript as text: per connection, its segments and messages in
/// capture order, client on the left, server on the right; each message's
/// fields below it. Lines longer than `width` wrap their last column.
pub fn ladder(t: &Transcript, portuguese: bool, width: Option<usize>) -> String {
    let words = Words { portuguese };
    let mut out = String::new();
    let (packets, n) = (words.count(t.packets), words.count(t.connections.len()));
    out += &words.say(
        "ui.header",
        &[("format", &t.format), ("packets", &packets), ("n", &n)],
    );
    out += "\n";
    out += &words.say("ui.legend", &[]);
    out += "\n";
    let decrypted = |c: &Connection| c.messages.iter().any(|m| m.layer == Layer::Decrypted);
    if t.connections.iter().any(decrypted) {
        out += &words.say("ui.legend_decrypted", &[]);
        out += "\n";
    }
    for note in &t.notes {
        let text = words.of(&note.sentence);
        out += &format!("! {}\n", words.say("ui.note", &[("text", &text)]));
    }
    for (i, c) in t.connections.iter().enumerate() {
        connection(&mut out, &words, t.start_us, i + 1, c, width);
    }
    out
}

/// What a line of the ladder shows, in capture order.
enum Step<'a> {
    Segment(&'a SegmentView, &'static str),
    /// Segments of one TCP role in a row, one way (pure acknowledgements,
    /// holes filled...): one line for all.
    Run(Vec<&'a SegmentView>, &'static str),
    Message(&'a Message),
}

/// The line of a segment whose TCP role is worth one.
fn role_key(role: Option<TcpRole>) -> Option<&'static str> {
    Some(match role? {
        TcpRole::Ack => "ui.role.ack",
        TcpRole::DuplicateAck => "ui.role.duplicate_ack",
        TcpRole::ZeroWindow => "ui.role.zero_window",
        TcpRole::WindowUpdate => "ui.role.window_update",
        TcpRole::Probe => "ui.role.probe",
        TcpRole::Retransmission => "ui.role.retransmission",
        TcpRole::OutOfOrder => "ui.role.out_of_order",
        _ => return None,
    })
}

/// The segments that open and close the connection or say something about
/// TCP (those of one role in a row as one step), and every message, in the
/// order of the first frame that carried them.
fn steps(c: &Connection) -> Vec<Step<'_>> {
    let mut steps: Vec<(u64, usize, Step<'_>)> = Vec::new();
    let mut handshake_acked = false;
    let mut syn_acked = false;
    for s in &c.segments {
        let key = match s.flags.as_str() {
            "SYN" => Some("ui.syn"),
            "SYN, ACK" => {
                syn_acked = true;
                Some("ui.syn_ack")
            }
            "ACK" if syn_acked && !handshake_acked && s.direction == Direction::ToServer => {
                handshake_acked = true;
                Some("ui.handshake_ack")
            }
            f if f.contains("RST") => Some("ui.rst"),
            f if f.contains("FIN") => Some("ui.fin"),
            _ => role_key(s.role),
        };
        if let Some(key) = key {
            steps.push((s.frame, steps.len(), Step::Segment(s, key)));
        }
    }
    let mut last = 0;
    for m in &c.messages {
        last = m.frames.first().copied().unwrap_or(last);
        steps.push((last, steps.len(), Step::Message(m)));
    }
    steps.sort_by_key(|&(frame, order, _)| (frame, order));
    let mut out: Vec<Step<'_>> = Vec::new();
    for (_, _, step) in steps {
        // A segment of the same role and direction as the step before.
        let joins = |last: &Step<'_>, s: &SegmentView, key: &str| match last {
            Step::Segment(_, k) | Step::Run(_, k) if *k != key => false,
            Step::Segment(p, _) => p.role.is_some() && p.direction == s.direction,
            Step::Run(run, _) => run[0].direction == s.direction,
            Step::Message(_) => false,
        };
        match (out.last_mut(), step) {
            (Some(last), Step::Segment(s, key)) if s.role.is_some() && joins(last, s, key) => {
                *last = match std::mem::replace(last, Step::Run(Vec::new(), key)) {
                    Step::Segment(first, _) => Step::Run(vec![first, s], key),
                    Step::Run(mut run, _) => {
                        run.push(s);
                        Step::Run(run, key)
                    }
                    other => other,
                };
            }
            (_, step) => out.push(step),
        }
    }
    out
}

fn connection(
    out: &mut String,
    words: &Words,
    start_us: u64,
    number: usize,
    c: &Connection,
    width: Option<usize>,
) {
    let (i, up, down) = (
        number.to_string(),
        words.bytes(c.bytes_to_server),
        words.bytes(c.bytes_to_client),
    );
    out.push('\n');
    *out += &words.say(
        "ui.connection",
        &[
            ("i", &i),
            ("client", &c.client),
            ("server", &c.server),
            ("up", &up),
            ("down", &down),
        ],
    );
    out.push('\n');
    *out += &format!(
        "  {:<10}{:>10}\n",
        words.say("ui.frame", &[]),
        words.say("ui.time", &[])
    );
    let client = words.say("ui.client", &[]);
    let server = words.say("ui.server", &[]);
    for step in steps(c) {
        let (frames, time, direction, what) = match step {
            Step::Segment(s, key) => (
                s.frame.to_string(),
                Some(s.time_us),
                s.direction,
                words.say(key, &[]),
            ),
            Step::Run(ref run, key) => {
                let frames: Vec<u64> = run.iter().map(|s| s.frame).collect();
                let n = words.count(run.len());
                let what = words.say(key, &[]);
                (
                    frame_list(words, &frames),
                    Some(run[0].time_us),
                    run[0].direction,
                    words.say("ui.role.run", &[("n", &n), ("what", &what)]),
                )
            }
            Step::Message(m) => {
                let summary = words.of(&m.sentence);
                let summary = match m.layer {
                    Layer::Decrypted => words.say("ui.inside_tls", &[("summary", &summary)]),
                    _ => summary,
                };
                (
                    frame_list(words, &m.frames),
                    m.time_us,
                    m.direction,
                    summary,
                )
            }
        };
        let time = time.map_or_else(|| "?".into(), |t| words.seconds(t, start_us));
        let arrow = match direction {
            Direction::ToServer => format!("{client} ──▶ {server}"),
            Direction::ToClient => format!("{client} ◀── {server}"),
        };
        let head = format!("  {frames:<10}{time:>10}  {arrow}  ");
        *out += &wrap(&head, &what, width);
        if let Step::Message(m) = step {
            message(out, words, m, width);
        }
    }
    for a in &c.anomalies {
        let text = words.of(&a.sentence);
        *out += &wrap("  ! ", &words.say("ui.note", &[("text", &text)]), width);
    }
}

/// A message's fields, payload and listing, under its line.
fn message(out: &mut String, words: &Words, m: &Message, width: Option<usize>) {
    let indent = " ".repeat(FIELD_COLUMNS[0]);
    // TLS field names are longer than ferry's: the column fits the longest.
    let name_width = m
        .fields
        .iter()
        .map(|f| f.name.as_str().len() + 1)
        .fold(FIELD_COLUMNS[1], usize::max);
    for f in &m.fields {
        let head = format!(
            "{indent}{:<w1$}{:<w2$}{:<w3$}{:<w4$}",
            f.name.as_str(),
            byte_range(f),
            short(&f.hex, FIELD_COLUMNS[3] - 2),
            // An MD5 is shown whole, however wide.
            if f.name == ferry_core::Field::Md5 {
                format!("{} ", f.value)
            } else {
                short(&f.value, FIELD_COLUMNS[4] - 2)
            },
            w1 = name_width,
            w2 = FIELD_COLUMNS[2],
            w3 = FIELD_COLUMNS[3],
            w4 = FIELD_COLUMNS[4],
        );
        *out += &wrap(&head, &words.of(&f.sentence), width);
    }
    if let Some(p) = &m.payload {
        let md5 = p
            .md5
            .clone()
            .unwrap_or_else(|| words.say("ui.incomplete", &[]));
        let (captured, size) = (words.count(p.captured), words.bytes(p.size));
        let line = words.say(
            "ui.payload",
            &[("captured", &captured), ("size", &size), ("md5", &md5)],
        );
        *out += &wrap(&indent, &line, width);
        if !p.preview.is_empty() {
            let starts = words.say("ui.starts", &[("preview", &p.preview)]);
            *out += &wrap(&indent, &starts, width);
        }
    }
    if let Some(entries) = &m.listing {
        let n = words.count(entries.len());
        *out += &format!("{indent}{}\n", words.say("ui.listing", &[("n", &n)]));
        let name_width = entries
            .iter()
            .take(LISTING_SHOWN)
            .map(|e| e.name.chars().count())
            .max()
            .unwrap_or(0);
        for e in entries.iter().take(LISTING_SHOWN) {
            *out += &format!(
                "{indent}  {:<name_width$}  {:>12}\n",
                ferry_core::escape(e.name.as_bytes()),
                e.size
            );
        }
        if entries.len() > LISTING_SHOWN {
            let more = words.count(entries.len() - LISTING_SHOWN);
            *out += &format!(
                "{indent}  {}\n",
                words.say("ui.listing_more", &[("n", &more)])
            );
        }
    }
}

/// A field's bytes in its direction's stream: `5` or `1-4`.
fn byte_range(f: &FieldView) -> String {
    match f.len {
        0 => "-".into(),
        1 => f.offset.to_string(),
        n => format!("{}-{}", f.offset, f.offset + n - 1),
    }
}

/// The frames that carried a message: `4`, `6-9` or `6, 8, 10 (+3 more)`.
fn frame_list(words: &Words, frames: &[u64]) -> String {
    match frames {
        [] => "-".into(),
        [one] => one.to_string(),
        [first, .., last] if frames.windows(2).all(|w| w[1] == w[0] + 1) => {
            format!("{first}-{last}")
        }
        _ => {
            let shown: Vec<String> = frames
                .iter()
                .take(FRAMES_SHOWN)
                .map(u64::to_string)
                .collect();
            let mut list = shown.join(",");
            if frames.len() > FRAMES_SHOWN {
                let more = words.count(frames.len() - FRAMES_SHOWN);
                list = format!("{list} {}", words.say("ui.more_frames", &[("n", &more)]));
            }
            list
        }
    }
}

/// `text` after `head`, wrapped at `width` under the column where it
/// starts (or at 40 columns from the left, when the head is wider).
fn wrap(head: &str, text: &str, width: Option<usize>) -> String {
    let start = head.chars().count();
    let Some(width) = width else {
        return format!("{head}{text}\n");
    };
    let room = width.saturating_sub(start).max(24);
    let mut lines = vec![String::new()];
    for word in text.split(' ') {
        let line = lines.last_mut().expect("there is always a line");
        let len = line.chars().count();
        if len > 0 && len + 1 + word.chars().count() > room {
            lines.push(word.to_owned());
        } else {
            if len > 0 {
                line.push(' ');
            }
            line.push_str(word);
        }
    }
    let pad = " ".repeat(start);
    let mut out = String::new();
    for (i, line) in lines.iter().enumerate() {
        out += if i == 0 { head } else { &pad };
        out += line;
        out.push('\n');
    }
    out
}

fn short(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let cut: String = text.chars().take(max - 1).collect();
        format!("{cut}…")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_word_the_ladder_says_is_in_both_tables() {
        let source = include_str!("decode.rs");
        let mut used = 0;
        for piece in source.split("\"ui.").skip(1) {
            let Some(name) = piece.split('"').next() else {
                continue;
            };
            let word = |c: char| c.is_ascii_lowercase() || c == '_' || c == '.';
            if name.is_empty() || !name.chars().all(word) {
                continue;
            }
            let key = format!("ui.{name}");
            let key = key.as_str();
            for portuguese in [false, true] {
                assert_ne!(localized(key, portuguese, &[]), key, "{key} is missing");
            }
            used += 1;
        }
        assert!(used > 15, "only {used} keys found");
    }

    #[test]
    fn long_lines_wrap_under_their_column() {
        let text = wrap("  head  ", "one two three four five six seven", Some(32));
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert_eq!(lines[0], "  head  one two three four five");
        assert_eq!(lines[1], "        six seven");
        assert_eq!(wrap("h ", "a b", None), "h a b\n");
    }

    #[test]
    fn frames_read_as_ranges_or_lists() {
        let words = Words { portuguese: false };
        assert_eq!(frame_list(&words, &[4]), "4");
        assert_eq!(frame_list(&words, &[6, 7, 8]), "6-8");
        assert_eq!(
            frame_list(&words, &[1, 3, 5, 7, 9, 11, 13, 15]),
            "1,3,5,7,9,11 (+2 more)"
        );
    }
}
