//! `tributary findings import`: reads ASFF findings from a JSON array, a `{"Findings": [...]}`
//! request or NDJSON, maps them onto the typed finding, and imports them into one region's
//! collector in batches that respect the API limits (at most 100 findings and 6 MB per request),
//! several requests in flight, with a progress bar and a summary of what failed and why.

use std::{collections::BTreeMap, path::Path, time::Duration};

use anyhow::{Context as _, bail};
use indicatif::{ProgressBar, ProgressStyle};
use prost::Message;
use serde_json::Value;
use tokio::task::JoinSet;
use tonic::Code;
use tributary_collector::findings::inputs::{MAX_FINDING_BYTES, MAX_FINDINGS, MAX_REQUEST_BYTES};
use tributary_proto::collector::v1 as pb;

use crate::{
    asff::finding_from_asff,
    context::{Authed, Context},
    errors,
    output::table,
};

/// How many ids each failure group keeps for the summary.
const IDS_PER_FAILURE: usize = 5;
/// Attempts of a request that failed for a reason worth retrying (UNAVAILABLE, ...).
const ATTEMPTS: u32 = 4;

type Client = pb::security_hub_service_client::SecurityHubServiceClient<Authed>;

/// Findings read from a file, and what could not be read.
#[derive(Debug, Default)]
pub struct Parsed {
    /// The findings that mapped onto the typed finding.
    pub findings: Vec<pb::Finding>,
    /// The entries that did not: (id or position, error code, message).
    pub failures: Vec<(String, String, String)>,
    /// Fields the typed finding does not carry, with how often they were skipped.
    pub ignored_fields: BTreeMap<String, usize>,
}

/// The failures of one error code.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FailureGroup {
    /// How many findings failed with the code.
    pub count: usize,
    /// The first few of their ids.
    pub ids: Vec<String>,
    /// The first failure's message.
    pub message: String,
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportSummary {
    /// The region imported into.
    pub region: String,
    /// Findings in the input (including those that could not be read).
    pub total: usize,
    /// Findings the collector stored (or ignored as not newer).
    pub imported: usize,
    /// Findings that failed.
    pub failed: usize,
    /// BatchImportFindings requests sent.
    pub requests: usize,
    /// Failures per error code.
    pub failures: BTreeMap<String, FailureGroup>,
    /// Fields skipped because the typed finding does not carry them, with counts.
    pub ignored_fields: BTreeMap<String, usize>,
}

impl ImportSummary {
    fn fail(&mut self, id: &str, code: &str, message: &str) {
        self.failed += 1;
        let group = self.failures.entry(code.to_string()).or_default();
        group.count += 1;
        if group.ids.len() < IDS_PER_FAILURE {
            group.ids.push(if id.is_empty() {
                "(no id)".to_string()
            } else {
                id.to_string()
            });
        }
        if group.message.is_empty() {
            group.message = message.to_string();
        }
    }

    /// The summary as JSON.
    pub fn to_json(&self) -> Value {
        serde_json::json!({
            "region": self.region,
            "total": self.total,
            "imported": self.imported,
            "failed": self.failed,
            "requests": self.requests,
            "failures": self.failures.iter().map(|(code, group)| serde_json::json!({
                "errorCode": code,
                "count": group.count,
                "ids": group.ids,
                "message": group.message,
            })).collect::<Vec<_>>(),
            "ignoredFields": self.ignored_fields,
        })
    }

    /// The summary for people.
    pub fn to_text(&self) -> String {
        let mut text = format!(
            "imported {} of {} findings into {} ({} requests)",
            self.imported, self.total, self.region, self.requests
        );
        if !self.failures.is_empty() {
            let mut rows = table(&["error code", "findings", "first ids", "message"]);
            for (code, group) in &self.failures {
                rows.add_row(vec![
                    code.clone(),
                    group.count.to_string(),
                    group.ids.join("\n"),
                    group.message.clone(),
                ]);
            }
            text.push_str(&format!("\n{} failed:\n{rows}", self.failed));
        }
        if !self.ignored_fields.is_empty() {
            let total: usize = self.ignored_fields.values().sum();
            let fields = self
                .ignored_fields
                .iter()
                .map(|(field, count)| format!("{field} ({count})"))
                .collect::<Vec<_>>()
                .join(", ");
            text.push_str(&format!(
                "\nwarning: {total} fields Tributary's finding does not carry were ignored: {fields}"
            ));
        }
        text
    }
}

/// Reads findings: a JSON array, a `{"Findings": [...]}` object, one finding object, or NDJSON
/// (one finding per line). Entries that are not valid JSON or do not map become failures.
pub fn parse_findings(text: &str) -> anyhow::Result<Parsed> {
    let trimmed = text.trim_start();
    let mut parsed = Parsed::default();
    if trimmed.is_empty() {
        return Ok(parsed);
    }
    let whole = serde_json::from_str::<Value>(trimmed);
    let entries: Vec<(String, Result<Value, String>)> = match whole {
        Ok(Value::Array(items)) => items
            .into_iter()
            .enumerate()
            .map(|(index, item)| (format!("item {}", index + 1), Ok(item)))
            .collect(),
        Ok(Value::Object(object)) => match object.get("Findings") {
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(index, item)| (format!("item {}", index + 1), Ok(item.clone())))
                .collect(),
            _ => vec![("item 1".to_string(), Ok(Value::Object(object)))],
        },
        Ok(_) => bail!("the file holds neither findings nor an array of findings"),
        Err(error) if trimmed.starts_with('[') => {
            return Err(error).context("the file starts like a JSON array but does not parse");
        }
        Err(_) => text
            .lines()
            .enumerate()
            .filter(|(_, line)| !line.trim().is_empty())
            .map(|(index, line)| {
                (
                    format!("line {}", index + 1),
                    serde_json::from_str::<Value>(line).map_err(|error| error.to_string()),
                )
            })
            .collect(),
    };
    for (position, entry) in entries {
        let value = match entry {
            Ok(value) if value.is_object() => value,
            Ok(_) => {
                parsed.failures.push((
                    position,
                    "InvalidInput".into(),
                    "a finding must be a JSON object".into(),
                ));
                continue;
            }
            Err(message) => {
                parsed
                    .failures
                    .push((position, "InvalidJson".into(), message));
                continue;
            }
        };
        match finding_from_asff(&value) {
            Ok(mapped) => {
                for field in mapped.ignored_fields {
                    *parsed.ignored_fields.entry(field).or_default() += 1;
                }
                if mapped.finding.encoded_len() > MAX_FINDING_BYTES {
                    parsed.failures.push((
                        mapped.finding.id,
                        "FindingSizeExceeded".into(),
                        format!("the finding is larger than {MAX_FINDING_BYTES} bytes encoded"),
                    ));
                } else {
                    parsed.findings.push(mapped.finding);
                }
            }
            Err(error) => {
                let id = if error.id.is_empty() {
                    position
                } else {
                    error.id
                };
                parsed
                    .failures
                    .push((id, "InvalidInput".into(), error.message));
            }
        }
    }
    Ok(parsed)
}

/// Splits findings into requests of at most 100 findings and 6 MB encoded.
pub fn batches(findings: Vec<pb::Finding>) -> Vec<Vec<pb::Finding>> {
    let mut batches = Vec::new();
    let mut current = Vec::new();
    let mut current_bytes = 0;
    for finding in findings {
        let length = finding.encoded_len();
        // Each repeated field entry costs its tag byte and its length prefix on the wire.
        let bytes = 1 + prost::encoding::encoded_len_varint(length as u64) + length;
        if !current.is_empty()
            && (current.len() == MAX_FINDINGS || current_bytes + bytes > MAX_REQUEST_BYTES)
        {
            batches.push(std::mem::take(&mut current));
            current_bytes = 0;
        }
        current_bytes += bytes;
        current.push(finding);
    }
    if !current.is_empty() {
        batches.push(current);
    }
    batches
}

/// A progress bar for `total` findings on standard error; hidden when that is not a terminal.
pub fn progress_bar(total: u64, message: &str) -> ProgressBar {
    let bar = ProgressBar::new(total);
    if let Ok(style) = ProgressStyle::with_template(
        "{msg:>14} [{bar:40.cyan/blue}] {pos}/{len} ({per_sec}, eta {eta})",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(message.to_string());
    bar
}

/// Imports `findings` into `region`'s collector with up to `concurrency` requests in flight,
/// adding the outcome to `summary` and advancing `progress` per answered request.
pub async fn import_findings(
    context: &Context,
    region: &str,
    findings: Vec<pb::Finding>,
    concurrency: usize,
    progress: &ProgressBar,
    summary: &mut ImportSummary,
) -> anyhow::Result<()> {
    let client = context.findings_client(region).await?;
    let mut in_flight: JoinSet<(
        Vec<String>,
        Result<pb::BatchImportFindingsResponse, tonic::Status>,
    )> = JoinSet::new();
    for batch in batches(findings) {
        while in_flight.len() >= concurrency.max(1) {
            if let Some(answered) = in_flight.join_next().await {
                record(
                    answered.context("an import task failed")?,
                    summary,
                    progress,
                );
            }
        }
        summary.requests += 1;
        let ids = batch.iter().map(|finding| finding.id.clone()).collect();
        let client = client.clone();
        in_flight.spawn(async move { (ids, send(client, batch).await) });
    }
    while let Some(answered) = in_flight.join_next().await {
        record(
            answered.context("an import task failed")?,
            summary,
            progress,
        );
    }
    Ok(())
}

async fn send(
    client: Client,
    findings: Vec<pb::Finding>,
) -> Result<pb::BatchImportFindingsResponse, tonic::Status> {
    let request = pb::BatchImportFindingsRequest { findings };
    let mut attempt = 0;
    loop {
        attempt += 1;
        match client.clone().batch_import_findings(request.clone()).await {
            Ok(response) => return Ok(response.into_inner()),
            // Imports are idempotent (a finding that is not newer is ignored), so a retry after a
            // lost answer stores nothing twice.
            Err(status)
                if attempt < ATTEMPTS
                    && matches!(
                        status.code(),
                        Code::Unavailable | Code::DeadlineExceeded | Code::ResourceExhausted
                    ) =>
            {
                tokio::time::sleep(Duration::from_millis(200 * 2u64.pow(attempt))).await;
            }
            Err(status) => return Err(status),
        }
    }
}

fn record(
    (ids, outcome): (
        Vec<String>,
        Result<pb::BatchImportFindingsResponse, tonic::Status>,
    ),
    summary: &mut ImportSummary,
    progress: &ProgressBar,
) {
    progress.inc(ids.len() as u64);
    match outcome {
        Ok(response) => {
            summary.imported += usize::try_from(response.success_count).unwrap_or(0);
            for failed in &response.failed_findings {
                summary.fail(&failed.id, &failed.error_code, &failed.error_message);
            }
        }
        Err(status) => {
            // The whole request was refused: every finding in it failed for the same reason.
            let code = errors::reason(&status)
                .unwrap_or_else(|| errors::code_name(status.code()).to_string());
            let message = errors::describe_status(&status);
            for id in &ids {
                summary.fail(id, &code, &message);
            }
        }
    }
}

/// Reads `path` and imports its findings into `region`.
pub async fn import_file(
    context: &Context,
    path: &Path,
    region: &str,
    concurrency: usize,
    show_progress: bool,
) -> anyhow::Result<ImportSummary> {
    let text = if path == Path::new("-") {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)
            .context("reading findings from standard input")?;
        text
    } else {
        tokio::fs::read_to_string(path)
            .await
            .with_context(|| format!("reading {}", path.display()))?
    };
    let parsed = parse_findings(&text).with_context(|| format!("reading {}", path.display()))?;
    let mut summary = ImportSummary {
        region: region.to_string(),
        total: parsed.findings.len() + parsed.failures.len(),
        ignored_fields: parsed.ignored_fields,
        ..ImportSummary::default()
    };
    for (id, code, message) in &parsed.failures {
        summary.fail(id, code, message);
    }
    let progress = if show_progress {
        progress_bar(parsed.findings.len() as u64, "importing")
    } else {
        ProgressBar::hidden()
    };
    import_findings(
        context,
        region,
        parsed.findings,
        concurrency,
        &progress,
        &mut summary,
    )
    .await?;
    progress.finish_and_clear();
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(id: usize, description_bytes: usize) -> pb::Finding {
        pb::Finding {
            id: format!("f-{id}"),
            description: "x".repeat(description_bytes),
            ..Default::default()
        }
    }

    #[test]
    fn batches_hold_at_most_100_findings_and_6_mb() {
        let small: Vec<_> = (0..250).map(|id| finding(id, 10)).collect();
        let sizes: Vec<usize> = batches(small).iter().map(Vec::len).collect();
        assert_eq!(sizes, vec![100, 100, 50]);

        // 200 KB findings: 30 fit in 6 MB with their framing, the 31st would not.
        let large: Vec<_> = (0..40).map(|id| finding(id, 200 * 1024)).collect();
        let batches = batches(large);
        for batch in &batches {
            let request = pb::BatchImportFindingsRequest {
                findings: batch.clone(),
            };
            assert!(request.encoded_len() <= MAX_REQUEST_BYTES);
        }
        assert_eq!(
            batches.iter().map(Vec::len).collect::<Vec<_>>(),
            vec![30, 10]
        );
    }

    #[test]
    fn ndjson_lines_that_are_not_json_fail_alone() {
        let text = concat!(
            r#"{"Id": "a", "Title": "one", "Network": {}}"#,
            "\n\nnot json\n",
            r#"{"Id": "b", "Severity": {"Label": "HUGE"}}"#,
            "\n",
            r#"{"Id": "c", "Title": "three", "Network": {}}"#,
            "\n"
        );
        let parsed = parse_findings(text).expect("NDJSON parses");
        let ids: Vec<&str> = parsed.findings.iter().map(|f| f.id.as_str()).collect();
        assert_eq!(ids, vec!["a", "c"]);
        let failures: Vec<(&str, &str)> = parsed
            .failures
            .iter()
            .map(|(id, code, _)| (id.as_str(), code.as_str()))
            .collect();
        assert_eq!(
            failures,
            vec![("line 3", "InvalidJson"), ("b", "InvalidInput")]
        );
        assert_eq!(parsed.ignored_fields.get("Network"), Some(&2));
    }

    #[test]
    fn arrays_and_batch_requests_parse_alike() {
        let array = parse_findings(r#"[{"Id": "a"}, {"Id": "b"}]"#).expect("an array parses");
        let request = parse_findings(r#"{"Findings": [{"Id": "a"}, {"Id": "b"}]}"#)
            .expect("a request parses");
        assert_eq!(array.findings, request.findings);
        assert_eq!(array.findings.len(), 2);
        assert!(parse_findings("[{\"Id\": ").is_err());
    }
}
