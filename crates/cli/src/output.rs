//! How answers are printed: tables with the key columns for people, or the response messages as
//! protobuf JSON (the canonical proto3 mapping, as grpcurl prints it) for scripts.

use std::{
    io::Write,
    sync::{Arc, Mutex, OnceLock},
};

use anyhow::Context as _;
use comfy_table::{ContentArrangement, Table, presets};
use prost_reflect::{DescriptorPool, DynamicMessage, SerializeOptions};

/// The output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Tables and short summaries.
    Table,
    /// The response messages as JSON (proto3 JSON mapping, lowerCamelCase names).
    Json,
}

/// Where printed answers go: standard output, or a buffer a caller reads back.
#[derive(Clone)]
pub struct Output {
    format: Format,
    buffer: Option<Arc<Mutex<Vec<u8>>>>,
}

impl Output {
    /// Printing to standard output.
    pub fn stdout(format: Format) -> Self {
        Self {
            format,
            buffer: None,
        }
    }

    /// Printing into a buffer, returned alongside.
    pub fn captured(format: Format) -> (Self, Arc<Mutex<Vec<u8>>>) {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        (
            Self {
                format,
                buffer: Some(Arc::clone(&buffer)),
            },
            buffer,
        )
    }

    /// The same destination with another format.
    pub fn with_format(&self, format: Format) -> Self {
        Self {
            format,
            buffer: self.buffer.clone(),
        }
    }

    /// The format answers are printed in.
    pub fn format(&self) -> Format {
        self.format
    }

    /// True for JSON output.
    pub fn is_json(&self) -> bool {
        self.format == Format::Json
    }

    /// Prints `text` and a newline.
    pub fn line(&self, text: impl AsRef<str>) {
        let text = text.as_ref();
        match &self.buffer {
            Some(buffer) => {
                if let Ok(mut buffer) = buffer.lock() {
                    buffer.extend_from_slice(text.as_bytes());
                    buffer.push(b'\n');
                }
            }
            None => {
                let mut stdout = std::io::stdout().lock();
                // A closed pipe (`| head`) is not an error worth reporting.
                let _ = writeln!(stdout, "{text}");
            }
        }
    }

    /// Prints a response: as JSON, or as what `render` makes of it.
    pub fn message<M: prost::Message>(
        &self,
        message: &M,
        render: impl FnOnce(&M) -> String,
    ) -> anyhow::Result<()> {
        match self.format {
            Format::Json => self.json(&to_json(message)?),
            Format::Table => self.line(render(message).trim_end()),
        }
        Ok(())
    }

    /// Prints a JSON value, pretty.
    pub fn json(&self, value: &serde_json::Value) {
        self.line(serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string()));
    }
}

fn descriptor_pool() -> anyhow::Result<&'static DescriptorPool> {
    static POOL: OnceLock<Option<DescriptorPool>> = OnceLock::new();
    POOL.get_or_init(|| DescriptorPool::decode(tributary_proto::FILE_DESCRIPTOR_SET).ok())
        .as_ref()
        .context("the compiled-in descriptor set does not decode")
}

/// The protobuf name of a generated message type: `tributary_proto::membership::v1::Region` is
/// `tributary.membership.v1.Region` (and `prost_types::Timestamp` `google.protobuf.Timestamp`).
fn message_name<M>() -> Option<String> {
    let rust_name = std::any::type_name::<M>();
    if let Some(rest) = rust_name.strip_prefix("tributary_proto::") {
        return Some(format!("tributary.{}", rest.replace("::", ".")));
    }
    rust_name
        .strip_prefix("prost_types::")
        .map(|rest| format!("google.protobuf.{rest}"))
}

/// A generated message as proto3 JSON, through the descriptor set compiled into the contracts.
pub fn to_json<M: prost::Message>(message: &M) -> anyhow::Result<serde_json::Value> {
    let name = message_name::<M>()
        .with_context(|| format!("{} is not a Tributary message", std::any::type_name::<M>()))?;
    let descriptor = descriptor_pool()?
        .get_message_by_name(&name)
        .with_context(|| format!("{name} is not in the descriptor set"))?;
    let dynamic = DynamicMessage::decode(descriptor, message.encode_to_vec().as_slice())
        .with_context(|| format!("re-reading a {name}"))?;
    let value = dynamic.serialize_with_options(
        serde_json::value::Serializer,
        &SerializeOptions::new().stringify_64_bit_integers(false),
    )?;
    Ok(value)
}

/// A table in the house style with these column headers.
pub fn table(header: &[&str]) -> Table {
    let mut table = Table::new();
    table
        .load_style(presets::UTF8_FULL)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(header.iter().copied());
    table
}

/// A table and, when there are more results, how to get them.
pub fn with_more(table: Table, next_page_token: &str) -> String {
    if next_page_token.is_empty() {
        table.to_string()
    } else {
        format!("{table}\nmore results: --page-token {next_page_token} (or --all)")
    }
}

/// A timestamp as RFC 3339 in UTC, seconds precision; `-` when unset.
pub fn time(timestamp: Option<&prost_types::Timestamp>) -> String {
    timestamp
        .and_then(|timestamp| {
            chrono::DateTime::from_timestamp(timestamp.seconds, timestamp.nanos.max(0) as u32)
        })
        .map_or_else(
            || "-".to_string(),
            |time| time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        )
}

/// The short name of an enum value: `SEVERITY_LABEL_HIGH` with prefix `SEVERITY_LABEL_` is `HIGH`.
pub fn label(name: &str, prefix: &str) -> String {
    name.strip_prefix(prefix).unwrap_or(name).to_string()
}

/// A value or `-` when empty.
pub fn or_dash(value: &str) -> String {
    if value.is_empty() {
        "-".to_string()
    } else {
        value.to_string()
    }
}

/// Milliseconds as a short duration (`850ms`, `12.3s`, `4m05s`).
pub fn duration_ms(milliseconds: u64) -> String {
    if milliseconds < 1_000 {
        format!("{milliseconds}ms")
    } else if milliseconds < 60_000 {
        format!("{:.1}s", milliseconds as f64 / 1_000.0)
    } else {
        let seconds = milliseconds / 1_000;
        format!("{}m{:02}s", seconds / 60, seconds % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tributary_proto::membership::v1 as membership_pb;

    #[test]
    fn generated_messages_become_proto3_json() {
        let response = membership_pb::ListRegionsResponse {
            regions: vec![membership_pb::Region {
                region_name: "us-east-1".into(),
                collector_endpoint: "http://127.0.0.1:50061".into(),
                opt_in: false,
                registered_at: Some(prost_types::Timestamp {
                    seconds: 1_700_000_000,
                    nanos: 0,
                }),
                updated_at: None,
            }],
            next_page_token: String::new(),
        };
        let json = to_json(&response).expect("a Tributary message converts");
        assert_eq!(json["regions"][0]["regionName"], "us-east-1");
        assert_eq!(json["regions"][0]["registeredAt"], "2023-11-14T22:13:20Z");
    }

    #[test]
    fn enum_labels_and_durations_are_short() {
        assert_eq!(label("SEVERITY_LABEL_HIGH", "SEVERITY_LABEL_"), "HIGH");
        assert_eq!(duration_ms(850), "850ms");
        assert_eq!(duration_ms(12_340), "12.3s");
        assert_eq!(duration_ms(245_000), "4m05s");
    }
}
