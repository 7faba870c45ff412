//! `ferry decode`: a capture as a readable ladder, or as JSON.

use std::path::Path;

use ferry_core::{Direction, TraceOptions, Transcript, decode_capture};

use crate::error::ClientError;

/// Decodes `path` and prints the transcript.
pub fn run(path: &Path, json: bool, ports: &[u16], portuguese: bool) -> Result<(), ClientError> {
    let bytes = std::fs::read(path).map_err(|e| {
        ClientError::Local(format!("cannot read the capture {}: {e}", path.display()))
    })?;
    let mut options = TraceOptions::default();
    if !ports.is_empty() {
        options.ports = ports.to_vec();
    }
    let transcript = decode_capture(&bytes, &options)
        .map_err(|e| ClientError::Usage(format!("{}: {e}", path.display())))?;
    if json {
        let text = serde_json::to_string_pretty(&transcript)
            .map_err(|e| ClientError::Local(format!("cannot write JSON: {e}")))?;
        println!("{text}");
    } else {
        print!("{}", ladder(&transcript, portuguese));
    }
    Ok(())
}

fn seconds(us: u64, origin: u64) -> String {
    let d = us.saturating_sub(origin);
    format!("{}.{:06}", d / 1_000_000, d % 1_000_000)
}

/// The transcript as text: per connection, one line per message (client on
/// the left, server on the right), its fields indented below.
pub fn ladder(t: &Transcript, portuguese: bool) -> String {
    let mut out = format!(
        "{} capture, {} packets, {} ferry connection(s)\n",
        t.format,
        t.packets,
        t.connections.len()
    );
    let pick = |en: &str, pt: &str| {
        if portuguese {
            pt.to_owned()
        } else {
            en.to_owned()
        }
    };
    for note in &t.notes {
        out.push_str(&format!("! {}\n", pick(&note.en, &note.pt)));
    }
    for (i, c) in t.connections.iter().enumerate() {
        out.push_str(&format!(
            "\nconnection {}: client {}  ->  server {}   ({} bytes up, {} bytes down)\n",
            i + 1,
            c.client,
            c.server,
            c.bytes_to_server,
            c.bytes_to_client
        ));
        for m in &c.messages {
            let arrow = match m.direction {
                Direction::ToServer => "client ----> server",
                Direction::ToClient => "client <---- server",
            };
            let time = m
                .time_us
                .map_or("        ?".into(), |t| seconds(t, c.start_us));
            out.push_str(&format!(
                "  {time}s  {arrow}  [{}+{}]  {}\n",
                m.offset, m.len, m.summary
            ));
            for f in &m.fields {
                out.push_str(&format!(
                    "      {:<12} @{:<6} {:<18} {:<24} {}\n",
                    f.name.as_str(),
                    f.offset,
                    short(&f.hex, 18),
                    short(&f.value, 24),
                    pick(&f.en, &f.pt)
                ));
            }
            if let Some(p) = &m.payload {
                let md5 = p.md5.as_deref().unwrap_or("(incomplete)");
                out.push_str(&format!(
                    "      payload: {} of {} bytes captured, md5 {md5}, starts: {}\n",
                    p.captured,
                    p.size,
                    short(&p.preview, 60)
                ));
            }
        }
        for a in &c.anomalies {
            out.push_str(&format!("  ! {}\n", pick(&a.en, &a.pt)));
        }
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
