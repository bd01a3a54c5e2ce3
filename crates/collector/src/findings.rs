//! Security Hub findings of this region: BatchImportFindings (create or update, per-finding
//! outcomes) and GetFindings (indexed filters, keyset paging). Findings are stored as their
//! protobuf encodings; every stored change appends a change record in the same transaction.

pub mod inputs;
pub mod state;

use prost::Message;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, sea_query::OnConflict,
};
use tributary_proto::collector::v1 as pb;
use tributary_runtime::{
    auth::{Caller, Principal},
    paging::{Direction, PageTokens, keyset_after, page_size},
    time::to_timestamp,
};

use crate::{
    access::AccountAccess,
    change_log::{ChangeKind, ChangeLog, ChangeOp, ChangeRecord, Version, to_i64, to_u64},
    error::{Error, Result, reason},
    store::findings as table,
};

pub use inputs::Refusal;

const DEFAULT_PAGE: u32 = 100;
const MAX_PAGE: u32 = 100;

/// The change-log key of a finding.
pub fn finding_key(product_arn: &str, id: &str) -> String {
    format!("{product_arn}|{id}")
}

/// The outcome of BatchImportFindings.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportOutcome {
    /// Findings stored or ignored as not newer.
    pub succeeded: usize,
    /// Refused findings: (id, refusal).
    pub failed: Vec<(String, Refusal)>,
    /// The change-log head including the call.
    pub change_log_seq: u64,
}

/// Security Hub findings of this region.
pub struct Findings {
    change_log: ChangeLog,
    page_tokens: PageTokens,
    region: String,
    access: AccountAccess,
}

fn label_name(label: i32) -> &'static str {
    match pb::SeverityLabel::try_from(label).unwrap_or_default() {
        pb::SeverityLabel::Unspecified | pb::SeverityLabel::Informational => "INFORMATIONAL",
        pb::SeverityLabel::Low => "LOW",
        pb::SeverityLabel::Medium => "MEDIUM",
        pb::SeverityLabel::High => "HIGH",
        pb::SeverityLabel::Critical => "CRITICAL",
    }
}

fn record_state_name(state: i32) -> &'static str {
    match pb::RecordState::try_from(state).unwrap_or_default() {
        pb::RecordState::Archived => "ARCHIVED",
        _ => "ACTIVE",
    }
}

fn workflow_name(status: i32) -> &'static str {
    match pb::WorkflowStatus::try_from(status).unwrap_or_default() {
        pb::WorkflowStatus::Unspecified | pb::WorkflowStatus::New => "NEW",
        pb::WorkflowStatus::Notified => "NOTIFIED",
        pb::WorkflowStatus::Resolved => "RESOLVED",
        pb::WorkflowStatus::Suppressed => "SUPPRESSED",
    }
}

fn micros(timestamp: Option<&prost_types::Timestamp>) -> i64 {
    timestamp.map_or(0, |timestamp| {
        timestamp
            .seconds
            .saturating_mul(1_000_000)
            .saturating_add(i64::from(timestamp.nanos / 1000))
    })
}

fn decode(bytes: &[u8]) -> Result<pb::Finding> {
    pb::Finding::decode(bytes).map_err(|error| Error::Corrupt(format!("stored finding: {error}")))
}

fn compliance_of(finding: &pb::Finding) -> pb::ComplianceStatus {
    finding
        .compliance
        .as_ref()
        .and_then(|compliance| pb::ComplianceStatus::try_from(compliance.status).ok())
        .unwrap_or_default()
}

impl Findings {
    /// Findings of `region` stored through `change_log`.
    pub fn new(
        change_log: ChangeLog,
        page_tokens: PageTokens,
        region: String,
        access: AccountAccess,
    ) -> Self {
        Self {
            change_log,
            page_tokens,
            region,
            access,
        }
    }

    /// Refuses a whole request that breaks the count or size limits (`InvalidInputException`).
    pub fn check_request(count: usize, encoded_len: usize) -> Result<()> {
        let mut violations = tributary_runtime::Violations::new();
        if count == 0 || count > inputs::MAX_FINDINGS {
            violations.add(
                "findings",
                format!("must hold 1-{} findings", inputs::MAX_FINDINGS),
            );
        }
        if encoded_len > inputs::MAX_REQUEST_BYTES {
            violations.add(
                "findings",
                format!(
                    "the request must be at most {} bytes encoded",
                    inputs::MAX_REQUEST_BYTES
                ),
            );
        }
        violations.finish_with(reason::INVALID_INPUT)?;
        Ok(())
    }

    /// Creates or updates each finding on its own; refused findings are reported, not stored.
    pub async fn import(
        &self,
        caller: &Caller,
        findings: Vec<pb::Finding>,
    ) -> Result<ImportOutcome> {
        let mut change_tx = self.change_log.begin().await?;
        let mut succeeded = 0;
        let mut failed = Vec::new();
        for mut finding in findings {
            if let Err(refusal) = inputs::validate(&finding, &self.region) {
                failed.push((finding.id, refusal));
                continue;
            }
            if let Err(error) = self.access.require_write(caller, &finding.aws_account_id) {
                failed.push((
                    finding.id,
                    Refusal {
                        code: "AccessDeniedException",
                        message: error.to_string(),
                    },
                ));
                continue;
            }
            inputs::normalise(&mut finding, &self.region);
            let stored = table::Entity::find_by_id((
                finding.aws_account_id.clone(),
                finding.product_arn.clone(),
                finding.id.clone(),
            ))
            .one(change_tx.tx())
            .await?;
            let updated_micros = micros(finding.updated_at.as_ref());
            let initial = finding.workflow.as_ref().map_or_else(
                || {
                    state::status_of_state(
                        pb::WorkflowState::try_from(finding.workflow_state).unwrap_or_default(),
                    )
                },
                |workflow| pb::WorkflowStatus::try_from(workflow.status).unwrap_or_default(),
            );
            let previous = match &stored {
                Some(row) if row.updated_at_micros >= updated_micros => {
                    // Not newer than what is stored: ignored, reported as a success.
                    succeeded += 1;
                    continue;
                }
                Some(row) => {
                    let previous = decode(&row.finding)?;
                    finding.note = previous.note.clone();
                    finding.user_defined_fields = previous.user_defined_fields.clone();
                    finding.verification_state = previous.verification_state;
                    finding.workflow_state = previous.workflow_state;
                    finding.created_at = previous.created_at;
                    Some(state::Stored {
                        workflow: previous
                            .workflow
                            .as_ref()
                            .and_then(|workflow| pb::WorkflowStatus::try_from(workflow.status).ok())
                            .unwrap_or(pb::WorkflowStatus::New),
                        record_state: pb::RecordState::try_from(previous.record_state)
                            .unwrap_or_default(),
                        compliance: compliance_of(&previous),
                    })
                }
                None => None,
            };
            let workflow = state::next_workflow(
                previous,
                initial,
                pb::RecordState::try_from(finding.record_state).unwrap_or_default(),
                compliance_of(&finding),
            );
            finding.workflow = Some(pb::FindingWorkflow {
                status: workflow as i32,
            });
            finding.processed_at = Some(to_timestamp(change_tx.now()));
            let encoded = finding.encode_to_vec();
            let stamp = change_tx.append(
                &finding.aws_account_id,
                ChangeKind::Finding,
                finding_key(&finding.product_arn, &finding.id),
                ChangeOp::Upsert,
                |_| encoded.clone(),
            );
            table::Entity::insert(table::ActiveModel {
                account_id: Set(finding.aws_account_id.clone()),
                product_arn: Set(finding.product_arn.clone()),
                finding_id: Set(finding.id.clone()),
                record_state: Set(record_state_name(finding.record_state).into()),
                workflow_status: Set(workflow_name(workflow as i32).into()),
                severity_label: Set(label_name(
                    finding
                        .severity
                        .as_ref()
                        .map_or(0, |severity| severity.label),
                )
                .into()),
                updated_at_micros: Set(updated_micros),
                seq: Set(to_i64(stamp.seq)),
                version: Set(stamp.version.encode()),
                finding: Set(encoded),
            })
            .on_conflict(
                OnConflict::columns([
                    table::Column::AccountId,
                    table::Column::ProductArn,
                    table::Column::FindingId,
                ])
                .update_columns([
                    table::Column::RecordState,
                    table::Column::WorkflowStatus,
                    table::Column::SeverityLabel,
                    table::Column::UpdatedAtMicros,
                    table::Column::Seq,
                    table::Column::Version,
                    table::Column::Finding,
                ])
                .to_owned(),
            )
            .exec(change_tx.tx())
            .await?;
            succeeded += 1;
        }
        let change_log_seq = change_tx.commit().await?;
        Ok(ImportOutcome {
            succeeded,
            failed,
            change_log_seq,
        })
    }

    /// One page of matching findings, most recently updated first.
    pub async fn get(
        &self,
        caller: &Caller,
        request: pb::GetFindingsRequest,
    ) -> Result<(Vec<pb::Finding>, String)> {
        let limit = page_size(request.page_size, DEFAULT_PAGE, MAX_PAGE)?;
        let filters = request.filters.unwrap_or_default();
        let mut violations = tributary_runtime::Violations::new();
        for (index, account_id) in filters.aws_account_ids.iter().enumerate() {
            violations.check(
                format!("filters.aws_account_ids[{index}]"),
                tributary_runtime::ids::validate_account_id(account_id),
            );
        }
        violations.finish_with(reason::VALIDATION)?;
        let mut account_ids = filters.aws_account_ids.clone();
        match &caller.principal {
            Principal::Operator | Principal::Service { .. } => {}
            Principal::Account { account_id }
            | Principal::OrganizationManagement { account_id, .. } => {
                if account_ids.is_empty() {
                    account_ids.push(account_id.clone());
                }
            }
        }
        for account_id in &account_ids {
            self.access.require_read(caller, account_id).await?;
        }
        let named = |values: &[i32], name: fn(i32) -> &'static str| -> Vec<&'static str> {
            values.iter().map(|value| name(*value)).collect()
        };
        let scope = format!(
            "GetFindings:{account_ids:?}:{:?}:{:?}:{:?}:{:?}",
            filters.product_arns,
            filters.record_states,
            filters.workflow_statuses,
            filters.severity_labels
        );
        let after: Option<(i64, String, String, String)> =
            self.page_tokens.open(&scope, &request.page_token)?;
        let mut select = table::Entity::find()
            .order_by_desc(table::Column::UpdatedAtMicros)
            .order_by_asc(table::Column::AccountId)
            .order_by_asc(table::Column::ProductArn)
            .order_by_asc(table::Column::FindingId)
            .limit(u64::from(limit) + 1);
        if !account_ids.is_empty() {
            select = select.filter(table::Column::AccountId.is_in(account_ids.clone()));
        }
        if !filters.product_arns.is_empty() {
            select = select.filter(table::Column::ProductArn.is_in(filters.product_arns.clone()));
        }
        if !filters.record_states.is_empty() {
            select = select.filter(
                table::Column::RecordState.is_in(named(&filters.record_states, record_state_name)),
            );
        }
        if !filters.workflow_statuses.is_empty() {
            select = select.filter(
                table::Column::WorkflowStatus
                    .is_in(named(&filters.workflow_statuses, workflow_name)),
            );
        }
        if !filters.severity_labels.is_empty() {
            select = select.filter(
                table::Column::SeverityLabel.is_in(named(&filters.severity_labels, label_name)),
            );
        }
        if let Some((updated, account_id, product_arn, finding_id)) = &after {
            select = select.filter(keyset_after(vec![
                (
                    table::Column::UpdatedAtMicros,
                    (*updated).into(),
                    Direction::Descending,
                ),
                (
                    table::Column::AccountId,
                    account_id.as_str().into(),
                    Direction::Ascending,
                ),
                (
                    table::Column::ProductArn,
                    product_arn.as_str().into(),
                    Direction::Ascending,
                ),
                (
                    table::Column::FindingId,
                    finding_id.as_str().into(),
                    Direction::Ascending,
                ),
            ]));
        }
        let mut rows = select.all(self.change_log.db()).await?;
        let page = usize::try_from(limit).unwrap_or(usize::MAX);
        let more = rows.len() > page;
        rows.truncate(page);
        let next_page_token = match rows.last() {
            Some(last) if more => self.page_tokens.issue(
                &scope,
                &(
                    last.updated_at_micros,
                    last.account_id.clone(),
                    last.product_arn.clone(),
                    last.finding_id.clone(),
                ),
            ),
            _ => String::new(),
        };
        let findings = rows
            .iter()
            .map(|row| decode(&row.finding))
            .collect::<Result<Vec<_>>>()?;
        Ok((findings, next_page_token))
    }
}

/// One page of current findings for a snapshot, in (account, product ARN, id) order, and the
/// position to continue after when the page was full.
pub(crate) async fn snapshot_page(
    connection: &impl ConnectionTrait,
    account_ids: &[String],
    after: Option<(String, String, String)>,
    limit: u64,
) -> Result<(Vec<ChangeRecord>, Option<(String, String, String)>)> {
    let mut select = table::Entity::find()
        .order_by_asc(table::Column::AccountId)
        .order_by_asc(table::Column::ProductArn)
        .order_by_asc(table::Column::FindingId)
        .limit(limit);
    if !account_ids.is_empty() {
        select = select.filter(table::Column::AccountId.is_in(account_ids.to_vec()));
    }
    if let Some((account_id, product_arn, finding_id)) = &after {
        select = select.filter(keyset_after(vec![
            (
                table::Column::AccountId,
                account_id.as_str().into(),
                Direction::Ascending,
            ),
            (
                table::Column::ProductArn,
                product_arn.as_str().into(),
                Direction::Ascending,
            ),
            (
                table::Column::FindingId,
                finding_id.as_str().into(),
                Direction::Ascending,
            ),
        ]));
    }
    let rows = select.all(connection).await?;
    let next = match rows.last() {
        Some(last) if u64::try_from(rows.len()).unwrap_or(u64::MAX) >= limit => Some((
            last.account_id.clone(),
            last.product_arn.clone(),
            last.finding_id.clone(),
        )),
        _ => None,
    };
    let records = rows
        .into_iter()
        .map(|row| {
            Ok(ChangeRecord {
                seq: to_u64(row.seq),
                kind: ChangeKind::Finding,
                key: finding_key(&row.product_arn, &row.finding_id),
                version: Version::decode(&row.version)
                    .ok_or_else(|| Error::Corrupt(format!("bad version {:?}", row.version)))?,
                op: ChangeOp::Upsert,
                payload: row.finding,
                committed_at: None,
                account_id: row.account_id,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok((records, next))
}
