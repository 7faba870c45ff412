//! The log: `RUST_LOG`-filtered lines on stderr, as words (the default) or
//! one JSON object per line (`--log-format json`, for log shippers). A
//! request's line carries its fields as the record's key-values; the JSON
//! form has each as a field of its own, beside `time`, `level` and
//! `message`.

use std::io::Write;

use log::kv::{Key, Value, VisitSource};

use crate::cli::LogFormat;

/// Starts the log in `format`.
pub fn init(format: LogFormat) {
    let mut builder =
        env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info"));
    match format {
        LogFormat::Text => builder.format_target(false),
        LogFormat::Json => builder.format(|buf, record| {
            let mut line = serde_json::Map::new();
            line.insert("time".into(), buf.timestamp_micros().to_string().into());
            line.insert("level".into(), record.level().as_str().into());
            line.insert("message".into(), record.args().to_string().into());
            let mut fields = Fields(&mut line);
            let _ = record.key_values().visit(&mut fields);
            writeln!(buf, "{}", serde_json::Value::Object(line))
        }),
    };
    builder.init();
}

/// A record's key-values, as JSON fields.
struct Fields<'a>(&'a mut serde_json::Map<String, serde_json::Value>);

impl<'kvs> VisitSource<'kvs> for Fields<'_> {
    fn visit_pair(&mut self, key: Key<'kvs>, value: Value<'kvs>) -> Result<(), log::kv::Error> {
        let json = if let Some(n) = value.to_u64() {
            n.into()
        } else if let Some(f) = value.to_f64() {
            serde_json::Number::from_f64(f).map_or(serde_json::Value::Null, Into::into)
        } else if let Some(b) = value.to_bool() {
            b.into()
        } else {
            value.to_string().into()
        };
        self.0.insert(key.as_str().to_owned(), json);
        Ok(())
    }
}
