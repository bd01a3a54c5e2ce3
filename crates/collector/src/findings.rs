//! Security Hub findings of this region: BatchImportFindings (create or update, per-finding
//! outcomes), GetFindings (indexed filters, keyset paging), BatchUpdateFindings and replicated
//! updates ([`update`]), their history ([`history`]) and retention ([`retention`]). Findings are
//! stored as their protobuf encodings with the versions of their field groups; every stored
//! change appends a change record and a history record in the same transaction.

pub mod history;
pub mod inputs;
pub mod query;
pub mod retention;
pub mod state;
pub mod update;

use prost::Message;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, sea_query::OnConflict,
};
use tributary_proto::collector::v1 as pb;
use tributary_runtime::{
    auth::Caller,
    paging::{Direction, PageTokens, keyset_after},
    time::to_timestamp,
};

use std::sync::Arc;

use tributary_securityhub::merge::{FieldGroup, FieldVersions, GroupVersion, VersionedFinding};

use crate::{
    access::{AccountAccess, acting_account},
    change_log::{
        ChangeKind, ChangeLog, ChangeOp, ChangeRecord, ChangeTx, Version, to_i64, to_u64,
    },
    error::{Error, Result, reason},
    products::{self, Products},
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
    products: Arc<Products>,
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
        let products = Arc::new(Products::new(
            change_log.db().clone(),
            page_tokens.clone(),
            region.clone(),
            access.clone(),
        ));
        Self {
            change_log,
            page_tokens,
            region,
            access,
            products,
        }
    }

    /// The product subscriptions BatchImportFindings checks.
    pub fn products(&self) -> &Arc<Products> {
        &self.products
    }

    /// The region whose findings these are.
    pub fn region(&self) -> &str {
        &self.region
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
    /// Who may import, the account's hub and its product subscription are checked before the
    /// write transaction, so membership is never asked while the log's head row is held.
    pub async fn import(
        &self,
        caller: &Caller,
        findings: Vec<pb::Finding>,
    ) -> Result<ImportOutcome> {
        let mut failed = Vec::new();
        let mut admitted = Vec::with_capacity(findings.len());
        for finding in findings {
            match self.admit(caller, &finding).await? {
                Ok(()) => admitted.push(finding),
                Err(refusal) => failed.push((finding.id, refusal)),
            }
        }
        let source = history::Source::of(history::SourceType::BatchImportFindings, caller);
        let mut change_tx = self.change_log.begin().await?;
        let mut succeeded = 0;
        for mut finding in admitted {
            inputs::normalise(&mut finding, &self.region);
            let stored = load(
                change_tx.tx(),
                &finding.aws_account_id,
                &finding.product_arn,
                &finding.id,
            )
            .await?;
            if let Some(stored) = &stored
                && micros(stored.finding.updated_at.as_ref()) >= micros(finding.updated_at.as_ref())
            {
                // Not newer than what is stored: ignored, reported as a success.
                succeeded += 1;
                continue;
            }
            let mut next = imported(finding, stored.as_ref());
            next.processed_at = Some(to_timestamp(change_tx.now()));
            let previous = stored.as_ref().map(|stored| &stored.finding);
            let versions = |version| match &stored {
                None => FieldVersions::all_at(version),
                Some(stored) => stamped(
                    &stored.versions,
                    &FieldGroup::changed(&stored.finding, &next),
                    version,
                    false,
                ),
            };
            if let Some(newest) = stored.as_ref().and_then(|stored| stored.versions.newest()) {
                change_tx.observe(newest);
            }
            store(&mut change_tx, &next, previous, versions, &source).await?;
            succeeded += 1;
        }
        let change_log_seq = change_tx.commit().await?;
        Ok(ImportOutcome {
            succeeded,
            failed,
            change_log_seq,
        })
    }

    /// Checks one imported finding before the write: it is valid; the caller is its account, the
    /// provider of its product, or a service; the account has a hub here that accepts the
    /// product.
    async fn admit(
        &self,
        caller: &Caller,
        finding: &pb::Finding,
    ) -> Result<std::result::Result<(), Refusal>> {
        if let Err(refusal) = inputs::validate(finding, &self.region) {
            return Ok(Err(refusal));
        }
        let account_id = &finding.aws_account_id;
        let own = acting_account(caller).is_none_or(|own| own == account_id);
        if !own && !products::provides(&self.region, caller, &finding.product_arn) {
            return Ok(Err(Refusal {
                code: "AccessDeniedException",
                message: format!(
                    "this key may import findings into account {account_id} only as the provider \
                     of the finding's product; an account key imports its own findings and, for \
                     its default product, those of accounts that enabled it"
                ),
            }));
        }
        if !self.access.hub_status(account_id).await?.enabled {
            return Ok(Err(Refusal {
                code: "InvalidAccess",
                message: format!(
                    "account {account_id} is not subscribed to AWS Security Hub in region {}",
                    self.region
                ),
            }));
        }
        if !products::accepts(
            self.change_log.db(),
            &self.region,
            account_id,
            &finding.product_arn,
        )
        .await?
        {
            return Ok(Err(Refusal {
                code: "InvalidAccess",
                message: format!(
                    "account {account_id} does not import findings from {}; it enables the \
                     product with EnableImportFindingsForProduct",
                    finding.product_arn
                ),
            }));
        }
        Ok(Ok(()))
    }
}

/// The finding an accepted provider update stores: what a provider may not change on an
/// existing finding is kept (note, user-defined fields, verification state, the creation time),
/// top-level values a customer changed are kept (the provider's go to
/// `finding_provider_fields`), and the automatic workflow rules apply.
fn imported(mut finding: pb::Finding, stored: Option<&VersionedFinding>) -> pb::Finding {
    let initial = finding.workflow.as_ref().map_or_else(
        || {
            state::status_of_state(
                pb::WorkflowState::try_from(finding.workflow_state).unwrap_or_default(),
            )
        },
        |workflow| pb::WorkflowStatus::try_from(workflow.status).unwrap_or_default(),
    );
    let previous = stored.map(|stored| {
        let previous = &stored.finding;
        finding.note.clone_from(&previous.note);
        finding
            .user_defined_fields
            .clone_from(&previous.user_defined_fields);
        finding.verification_state = previous.verification_state;
        finding.workflow_state = previous.workflow_state;
        finding.created_at = previous.created_at;
        for group in FieldGroup::PROVIDER_SUPPLIED {
            if stored.versions.customer_modified(group) {
                group.copy(previous, &mut finding);
            }
        }
        state::Stored {
            workflow: previous
                .workflow
                .as_ref()
                .and_then(|workflow| pb::WorkflowStatus::try_from(workflow.status).ok())
                .unwrap_or(pb::WorkflowStatus::New),
            record_state: pb::RecordState::try_from(previous.record_state).unwrap_or_default(),
            compliance: compliance_of(previous),
        }
    });
    let workflow = state::next_workflow(
        previous,
        initial,
        pb::RecordState::try_from(finding.record_state).unwrap_or_default(),
        compliance_of(&finding),
    );
    finding.workflow = Some(pb::FindingWorkflow {
        status: workflow as i32,
    });
    finding
}

/// `versions` with the `changed` groups set to `version`.
pub(crate) fn stamped(
    versions: &FieldVersions,
    changed: &[FieldGroup],
    version: Version,
    customer_modified: bool,
) -> FieldVersions {
    let mut stamped = versions.clone();
    for group in changed {
        stamped.set(
            *group,
            GroupVersion {
                version,
                customer_modified,
            },
        );
    }
    stamped
}

fn versioned(row: &table::Model) -> Result<VersionedFinding> {
    Ok(VersionedFinding {
        finding: decode(&row.finding)?,
        versions: FieldVersions::decode(row.field_versions.as_deref().unwrap_or_default())
            .map_err(Error::Corrupt)?,
    })
}

/// The stored finding of (account, product ARN, id) with its field versions.
pub(crate) async fn load(
    connection: &impl ConnectionTrait,
    account_id: &str,
    product_arn: &str,
    finding_id: &str,
) -> Result<Option<VersionedFinding>> {
    table::Entity::find_by_id((
        account_id.to_string(),
        product_arn.to_string(),
        finding_id.to_string(),
    ))
    .one(connection)
    .await?
    .map(|row| versioned(&row))
    .transpose()
}

/// The change-log payload of a finding: a `VersionedFinding` built from the finding's encoding
/// and its field versions' encoding (an embedded message is encoded like bytes, so neither is
/// decoded again).
pub(crate) fn versioned_payload(finding: &[u8], field_versions: &[u8]) -> Vec<u8> {
    let mut payload = Vec::with_capacity(finding.len() + field_versions.len() + 12);
    prost::encoding::bytes::encode(100, &finding.to_vec(), &mut payload);
    prost::encoding::bytes::encode(101, &field_versions.to_vec(), &mut payload);
    payload
}

/// Reads a finding change-log payload: the finding and its field versions. A payload written
/// before field groups were versioned is a plain finding, with no versions.
pub fn decode_payload(payload: &[u8]) -> Result<(pb::Finding, pb::FindingFieldVersions)> {
    let corrupt = |error: prost::DecodeError| Error::Corrupt(format!("finding payload: {error}"));
    let versioned = pb::VersionedFinding::decode(payload).map_err(corrupt)?;
    match versioned.finding {
        Some(finding) => Ok((finding, versioned.field_versions.unwrap_or_default())),
        None => Ok((
            pb::Finding::decode(payload).map_err(corrupt)?,
            Default::default(),
        )),
    }
}

/// Writes `finding` as the current state of its key: the change record (the finding with the
/// field versions `versions` derives from the record's version), the row, and the history record
/// of the change from `previous` (none: the finding was created).
pub(crate) async fn store(
    change_tx: &mut ChangeTx,
    finding: &pb::Finding,
    previous: Option<&pb::Finding>,
    versions: impl FnOnce(Version) -> FieldVersions,
    source: &history::Source,
) -> Result<()> {
    let encoded = finding.encode_to_vec();
    let mut field_versions = Vec::new();
    let stamp = change_tx.append(
        &finding.aws_account_id,
        ChangeKind::Finding,
        finding_key(&finding.product_arn, &finding.id),
        ChangeOp::Upsert,
        |stamp| {
            field_versions = versions(stamp.version).encode();
            versioned_payload(&encoded, &field_versions)
        },
    );
    table::Entity::insert(table::ActiveModel {
        account_id: Set(finding.aws_account_id.clone()),
        product_arn: Set(finding.product_arn.clone()),
        finding_id: Set(finding.id.clone()),
        record_state: Set(record_state_name(finding.record_state).into()),
        workflow_status: Set(workflow_name(
            finding
                .workflow
                .as_ref()
                .map_or(0, |workflow| workflow.status),
        )
        .into()),
        severity_label: Set(label_name(
            finding
                .severity
                .as_ref()
                .map_or(0, |severity| severity.label),
        )
        .into()),
        updated_at_micros: Set(micros(finding.updated_at.as_ref())),
        seq: Set(to_i64(stamp.seq)),
        version: Set(stamp.version.encode()),
        finding: Set(encoded),
        field_versions: Set(Some(field_versions)),
        written_at_micros: Set(change_tx.now().timestamp_micros()),
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
            table::Column::FieldVersions,
            table::Column::WrittenAtMicros,
        ])
        .to_owned(),
    )
    .exec_without_returning(change_tx.tx())
    .await?;
    query::index_finding(change_tx, finding, previous).await?;
    history::record(
        change_tx.tx(),
        finding,
        previous,
        source,
        to_i64(stamp.seq),
        change_tx.now(),
    )
    .await
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
                payload: versioned_payload(
                    &row.finding,
                    row.field_versions.as_deref().unwrap_or_default(),
                ),
                committed_at: None,
                account_id: row.account_id,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok((records, next))
}
