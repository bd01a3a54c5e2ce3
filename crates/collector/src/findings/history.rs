//! The history of findings (GetFindingHistory): every write of a finding records which ASFF fields
//! changed, from what to what, who made the change and how, in the same transaction as the write.

use std::collections::BTreeMap;

use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tributary_proto::collector::v1 as pb;
use tributary_runtime::{
    auth::{Caller, Principal},
    paging::{Direction, keyset_after, page_size},
};

use super::Findings;
use crate::{
    error::{Error, Result, reason},
    store::{finding_history as table, findings as findings_table},
};

const DEFAULT_PAGE: u32 = 100;
const MAX_PAGE: u32 = 100;

/// Which call changed a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceType {
    /// A customer's BatchUpdateFindings, here or replicated from the home region.
    BatchUpdateFindings,
    /// A provider's BatchImportFindings.
    BatchImportFindings,
}

impl SourceType {
    fn as_str(self) -> &'static str {
        match self {
            SourceType::BatchUpdateFindings => "BATCH_UPDATE_FINDINGS",
            SourceType::BatchImportFindings => "BATCH_IMPORT_FINDINGS",
        }
    }

    fn to_proto(stored: &str) -> pb::FindingHistoryUpdateSourceType {
        match stored {
            "BATCH_UPDATE_FINDINGS" => pb::FindingHistoryUpdateSourceType::BatchUpdateFindings,
            "BATCH_IMPORT_FINDINGS" => pb::FindingHistoryUpdateSourceType::BatchImportFindings,
            _ => pb::FindingHistoryUpdateSourceType::Unspecified,
        }
    }
}

/// Who changed a finding, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// The call.
    pub kind: SourceType,
    /// The caller.
    pub identity: String,
}

impl Source {
    /// `caller` making a change with `kind`.
    pub fn of(kind: SourceType, caller: &Caller) -> Self {
        let principal = match &caller.principal {
            Principal::Operator => "operator".to_string(),
            Principal::Service { name } => format!("service/{name}"),
            Principal::Account { account_id }
            | Principal::OrganizationManagement { account_id, .. } => {
                format!("account/{account_id}")
            }
        };
        Self {
            kind,
            identity: format!("{principal} ({})", caller.key_id),
        }
    }
}

/// One changed ASFF field, as stored and returned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldChange {
    /// The ASFF path, such as `Workflow.Status`.
    pub field: String,
    /// The value before; empty when unset.
    pub old: String,
    /// The value after; empty when unset.
    pub new: String,
}

fn enum_name(full: &str, prefix: &str) -> String {
    full.strip_prefix(prefix).unwrap_or(full).to_string()
}

fn label(value: i32) -> String {
    match pb::SeverityLabel::try_from(value) {
        Ok(pb::SeverityLabel::Unspecified) | Err(_) => String::new(),
        Ok(label) => enum_name(label.as_str_name(), "SEVERITY_LABEL_"),
    }
}

fn plain<T: ToString>(value: Option<T>) -> String {
    value.map(|value| value.to_string()).unwrap_or_default()
}

fn json_text(value: Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::Array(ref items) if items.is_empty() => String::new(),
        Value::Object(ref fields) if fields.is_empty() => String::new(),
        other => other.to_string(),
    }
}

fn sorted_map(map: &std::collections::HashMap<String, String>) -> Value {
    json!(map.iter().collect::<BTreeMap<_, _>>())
}

fn struct_json(value: &prost_types::Struct) -> Value {
    Value::Object(
        value
            .fields
            .iter()
            .map(|(key, value)| (key.clone(), value_json(value)))
            .collect(),
    )
}

fn value_json(value: &prost_types::Value) -> Value {
    use prost_types::value::Kind;
    match &value.kind {
        None | Some(Kind::NullValue(_)) => Value::Null,
        Some(Kind::NumberValue(number)) => json!(number),
        Some(Kind::StringValue(text)) => json!(text),
        Some(Kind::BoolValue(flag)) => json!(flag),
        Some(Kind::StructValue(inner)) => struct_json(inner),
        Some(Kind::ListValue(list)) => Value::Array(list.values.iter().map(value_json).collect()),
    }
}

fn related_json(related: &[pb::FindingRelatedFinding]) -> Value {
    Value::Array(
        related
            .iter()
            .map(|related| json!({"ProductArn": related.product_arn, "Id": related.id}))
            .collect(),
    )
}

fn severity_json(severity: Option<&pb::FindingSeverity>) -> Value {
    severity.map_or(Value::Null, |severity| {
        json!({
            "Label": label(severity.label),
            "Normalized": severity.normalized,
            "Original": severity.original,
        })
    })
}

/// The ASFF fields a history record compares, each rendered as text: every field but the
/// top-level timestamps (CreatedAt, UpdatedAt, FirstObservedAt, LastObservedAt, ProcessedAt).
fn rendered(finding: &pb::Finding) -> Vec<(&'static str, String)> {
    let severity = finding.severity.as_ref();
    let note = finding.note.as_ref();
    vec![
        ("SchemaVersion", finding.schema_version.clone()),
        ("ProductName", finding.product_name.clone()),
        ("CompanyName", finding.company_name.clone()),
        ("GeneratorId", finding.generator_id.clone()),
        ("Types", json_text(json!(finding.types))),
        (
            "Severity.Label",
            severity
                .map(|severity| label(severity.label))
                .unwrap_or_default(),
        ),
        (
            "Severity.Normalized",
            plain(severity.and_then(|severity| severity.normalized)),
        ),
        (
            "Severity.Original",
            severity
                .map(|severity| severity.original.clone())
                .unwrap_or_default(),
        ),
        (
            "Severity.Product",
            plain(severity.and_then(|severity| severity.product)),
        ),
        ("Confidence", plain(finding.confidence)),
        ("Criticality", plain(finding.criticality)),
        ("Title", finding.title.clone()),
        ("Description", finding.description.clone()),
        (
            "Remediation",
            json_text(
                finding
                    .remediation
                    .as_ref()
                    .and_then(|remediation| remediation.recommendation.as_ref())
                    .map_or(Value::Null, |recommendation| {
                        json!({"Recommendation": {
                            "Text": recommendation.text,
                            "Url": recommendation.url,
                        }})
                    }),
            ),
        ),
        ("SourceUrl", finding.source_url.clone()),
        (
            "ProductFields",
            json_text(sorted_map(&finding.product_fields)),
        ),
        (
            "UserDefinedFields",
            json_text(sorted_map(&finding.user_defined_fields)),
        ),
        (
            "Resources",
            json_text(Value::Array(
                finding
                    .resources
                    .iter()
                    .map(|resource| {
                        json!({
                            "Type": resource.r#type,
                            "Id": resource.id,
                            "Partition": resource.partition,
                            "Region": resource.region,
                            "Tags": sorted_map(&resource.tags),
                            "Details": resource.details.as_ref().map_or(Value::Null, struct_json),
                        })
                    })
                    .collect(),
            )),
        ),
        (
            "Compliance",
            json_text(
                finding
                    .compliance
                    .as_ref()
                    .map_or(Value::Null, |compliance| {
                        json!({
                            "Status": pb::ComplianceStatus::try_from(compliance.status)
                                .map(|status| enum_name(status.as_str_name(), "COMPLIANCE_STATUS_"))
                                .unwrap_or_default(),
                            "SecurityControlId": compliance.security_control_id,
                            "AssociatedStandards": compliance
                                .associated_standards
                                .iter()
                                .map(|standard| json!({"StandardsId": standard.standards_id}))
                                .collect::<Vec<_>>(),
                            "StatusReasons": compliance
                                .status_reasons
                                .iter()
                                .map(|reason| json!({
                                    "ReasonCode": reason.reason_code,
                                    "Description": reason.description,
                                }))
                                .collect::<Vec<_>>(),
                        })
                    }),
            ),
        ),
        (
            "VerificationState",
            pb::VerificationState::try_from(finding.verification_state)
                .ok()
                .filter(|state| *state != pb::VerificationState::Unspecified)
                .map(|state| enum_name(state.as_str_name(), "VERIFICATION_STATE_"))
                .unwrap_or_default(),
        ),
        (
            "Workflow.Status",
            finding
                .workflow
                .as_ref()
                .and_then(|workflow| pb::WorkflowStatus::try_from(workflow.status).ok())
                .filter(|status| *status != pb::WorkflowStatus::Unspecified)
                .map(|status| enum_name(status.as_str_name(), "WORKFLOW_STATUS_"))
                .unwrap_or_default(),
        ),
        (
            "RecordState",
            pb::RecordState::try_from(finding.record_state)
                .ok()
                .filter(|state| *state != pb::RecordState::Unspecified)
                .map(|state| enum_name(state.as_str_name(), "RECORD_STATE_"))
                .unwrap_or_default(),
        ),
        (
            "RelatedFindings",
            json_text(related_json(&finding.related_findings)),
        ),
        (
            "Note.Text",
            note.map(|note| note.text.clone()).unwrap_or_default(),
        ),
        (
            "Note.UpdatedBy",
            note.map(|note| note.updated_by.clone()).unwrap_or_default(),
        ),
        (
            "FindingProviderFields",
            json_text(
                finding
                    .finding_provider_fields
                    .as_ref()
                    .map_or(Value::Null, |provider| {
                        json!({
                            "Confidence": provider.confidence,
                            "Criticality": provider.criticality,
                            "RelatedFindings": related_json(&provider.related_findings),
                            "Severity": severity_json(provider.severity.as_ref()),
                            "Types": provider.types,
                        })
                    }),
            ),
        ),
    ]
}

/// The ASFF fields that differ between `before` and `after`, in ASFF order.
pub fn diff(before: &pb::Finding, after: &pb::Finding) -> Vec<FieldChange> {
    rendered(before)
        .into_iter()
        .zip(rendered(after))
        .filter(|((_, old), (_, new))| old != new)
        .map(|((field, old), (_, new))| FieldChange {
            field: field.to_string(),
            old,
            new,
        })
        .collect()
}

/// Records one write of `finding` (change-log sequence number `seq`, applied at `time`): its
/// creation when `previous` is none, else the fields that changed since `previous`.
pub(crate) async fn record(
    connection: &impl ConnectionTrait,
    finding: &pb::Finding,
    previous: Option<&pb::Finding>,
    source: &Source,
    seq: i64,
    time: chrono::DateTime<chrono::Utc>,
) -> Result<()> {
    let updates = previous
        .map(|previous| diff(previous, finding))
        .unwrap_or_default();
    let updates = serde_json::to_string(&updates)
        .map_err(|error| Error::Corrupt(format!("finding history: {error}")))?;
    table::Entity::insert(table::ActiveModel {
        account_id: Set(finding.aws_account_id.clone()),
        product_arn: Set(finding.product_arn.clone()),
        finding_id: Set(finding.id.clone()),
        seq: Set(seq),
        update_time_micros: Set(time.timestamp_micros()),
        finding_created: Set(previous.is_none()),
        source_type: Set(source.kind.as_str().into()),
        source_identity: Set(source.identity.clone()),
        updates: Set(updates),
    })
    .exec_without_returning(connection)
    .await?;
    Ok(())
}

/// Deletes the history of one finding.
pub(crate) async fn forget(
    connection: &impl ConnectionTrait,
    account_id: &str,
    product_arn: &str,
    finding_id: &str,
) -> Result<()> {
    table::Entity::delete_many()
        .filter(table::Column::AccountId.eq(account_id))
        .filter(table::Column::ProductArn.eq(product_arn))
        .filter(table::Column::FindingId.eq(finding_id))
        .exec(connection)
        .await?;
    Ok(())
}

fn record_message(row: table::Model) -> Result<pb::FindingHistoryRecord> {
    let updates: Vec<FieldChange> = serde_json::from_str(&row.updates)
        .map_err(|error| Error::Corrupt(format!("finding history updates: {error}")))?;
    Ok(pb::FindingHistoryRecord {
        finding_identifier: Some(pb::FindingIdentifier {
            id: row.finding_id,
            product_arn: row.product_arn,
        }),
        update_time: chrono::DateTime::from_timestamp_micros(row.update_time_micros)
            .map(tributary_runtime::time::to_timestamp),
        finding_created: row.finding_created,
        update_source: Some(pb::FindingHistoryUpdateSource {
            r#type: SourceType::to_proto(&row.source_type) as i32,
            identity: row.source_identity,
        }),
        updates: updates
            .into_iter()
            .map(|change| pb::FindingHistoryUpdate {
                updated_field: change.field,
                old_value: change.old,
                new_value: change.new,
            })
            .collect(),
        aws_account_id: row.account_id,
    })
}

/// The accounts holding a finding named by product ARN and id.
pub(crate) async fn accounts_holding(
    connection: &impl ConnectionTrait,
    product_arn: &str,
    finding_id: &str,
) -> Result<Vec<String>> {
    Ok(findings_table::Entity::find()
        .select_only()
        .column(findings_table::Column::AccountId)
        .filter(findings_table::Column::ProductArn.eq(product_arn))
        .filter(findings_table::Column::FindingId.eq(finding_id))
        .order_by_asc(findings_table::Column::AccountId)
        .into_tuple::<String>()
        .all(connection)
        .await?)
}

impl Findings {
    /// One page of a finding's history, newest first, limited to the accounts holding it that
    /// `caller` may read. A finding the caller cannot see has no history for it.
    pub async fn history(
        &self,
        caller: &Caller,
        request: pb::GetFindingHistoryRequest,
    ) -> Result<(Vec<pb::FindingHistoryRecord>, String)> {
        let limit = page_size(request.page_size, DEFAULT_PAGE, MAX_PAGE)?;
        let identifier = request.finding_identifier.unwrap_or_default();
        let mut violations = tributary_runtime::Violations::new();
        if identifier.id.trim().is_empty() {
            violations.add("finding_identifier.id", "is required");
        }
        if identifier.product_arn.trim().is_empty() {
            violations.add("finding_identifier.product_arn", "is required");
        }
        let start = request
            .start_time
            .as_ref()
            .map(|time| super::micros(Some(time)));
        let end = request
            .end_time
            .as_ref()
            .map(|time| super::micros(Some(time)));
        if let (Some(start), Some(end)) = (start, end)
            && start > end
        {
            violations.add("end_time", "must not be before start_time");
        }
        violations.finish_with(reason::INVALID_INPUT)?;
        self.access.require_hub(caller).await?;
        let mut readable = Vec::new();
        for account_id in accounts_holding(
            self.change_log.db(),
            &identifier.product_arn,
            &identifier.id,
        )
        .await?
        {
            if self.access.require_read(caller, &account_id).await.is_ok() {
                readable.push(account_id);
            }
        }
        let scope = format!(
            "GetFindingHistory:{}:{}:{start:?}:{end:?}:{readable:?}",
            identifier.product_arn, identifier.id
        );
        let after: Option<i64> = self.page_tokens.open(&scope, &request.page_token)?;
        if readable.is_empty() {
            return Ok((Vec::new(), String::new()));
        }
        let mut select = table::Entity::find()
            .filter(table::Column::AccountId.is_in(readable))
            .filter(table::Column::ProductArn.eq(identifier.product_arn.as_str()))
            .filter(table::Column::FindingId.eq(identifier.id.as_str()))
            .order_by_desc(table::Column::Seq)
            .limit(u64::from(limit) + 1);
        if let Some(start) = start {
            select = select.filter(table::Column::UpdateTimeMicros.gte(start));
        }
        if let Some(end) = end {
            select = select.filter(table::Column::UpdateTimeMicros.lte(end));
        }
        if let Some(after) = after {
            select = select.filter(keyset_after(vec![(
                table::Column::Seq,
                after.into(),
                Direction::Descending,
            )]));
        }
        let mut rows = select.all(self.change_log.db()).await?;
        let page = usize::try_from(limit).unwrap_or(usize::MAX);
        let more = rows.len() > page;
        rows.truncate(page);
        let next_page_token = match rows.last() {
            Some(last) if more => self.page_tokens.issue(&scope, &last.seq),
            _ => String::new(),
        };
        let records = rows
            .into_iter()
            .map(record_message)
            .collect::<Result<Vec<_>>>()?;
        Ok((records, next_page_token))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding() -> pb::Finding {
        pb::Finding {
            id: "a".into(),
            title: "title".into(),
            severity: Some(pb::FindingSeverity {
                label: pb::SeverityLabel::High as i32,
                normalized: Some(70),
                ..Default::default()
            }),
            workflow: Some(pb::FindingWorkflow {
                status: pb::WorkflowStatus::New as i32,
            }),
            updated_at: Some(prost_types::Timestamp {
                seconds: 1,
                nanos: 0,
            }),
            ..Default::default()
        }
    }

    #[test]
    fn diffs_name_asff_fields_with_plain_or_json_values() {
        let before = finding();
        let mut after = finding();
        after.workflow = Some(pb::FindingWorkflow {
            status: pb::WorkflowStatus::Notified as i32,
        });
        after.severity = Some(pb::FindingSeverity {
            label: pb::SeverityLabel::Low as i32,
            normalized: Some(1),
            ..Default::default()
        });
        after
            .user_defined_fields
            .insert("owner".into(), "team".into());
        after.note = Some(pb::FindingNote {
            text: "looked at it".into(),
            updated_by: "me".into(),
            updated_at: None,
        });
        after.updated_at = Some(prost_types::Timestamp {
            seconds: 2,
            nanos: 0,
        });
        let changes = diff(&before, &after);
        let fields: Vec<&str> = changes.iter().map(|change| change.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "Severity.Label",
                "Severity.Normalized",
                "UserDefinedFields",
                "Workflow.Status",
                "Note.Text",
                "Note.UpdatedBy"
            ],
            "top-level timestamps are not compared"
        );
        assert_eq!(
            (changes[0].old.as_str(), changes[0].new.as_str()),
            ("HIGH", "LOW")
        );
        assert_eq!(changes[2].old, "");
        assert_eq!(changes[2].new, r#"{"owner":"team"}"#);
        assert_eq!(
            (changes[3].old.as_str(), changes[3].new.as_str()),
            ("NEW", "NOTIFIED")
        );
        assert!(diff(&after, &after).is_empty());
    }

    #[test]
    fn sources_name_the_principal_and_key() {
        let caller = Caller {
            key_id: "key-1".into(),
            principal: Principal::Account {
                account_id: "111111111111".into(),
            },
        };
        assert_eq!(
            Source::of(SourceType::BatchUpdateFindings, &caller).identity,
            "account/111111111111 (key-1)"
        );
        assert_eq!(
            SourceType::to_proto(SourceType::BatchImportFindings.as_str()),
            pb::FindingHistoryUpdateSourceType::BatchImportFindings
        );
    }
}
