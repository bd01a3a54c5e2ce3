//! Security standards, controls and security scores of this region's accounts (spec §3.11,
//! §3.12): BatchEnableStandards, BatchDisableStandards, GetEnabledStandards, DescribeStandards,
//! DescribeStandardsControls, UpdateStandardsControl, BatchGetSecurityControls and
//! GetSecurityScores, over the catalogue of `tributary_securityhub::controls`.
//!
//! Control statuses are kept at write time, not computed on read: every finding write adjusts
//! the per-(account, control) finding counts in `control_status` in its own transaction (O(1) per
//! finding, from the contribution the filter index reports), because a status change must append
//! a CHANGE_KIND_CONTROL_STATUS record in that same transaction for aggregators to replicate. A
//! status record is appended when a control's status, or the set of enabled standards it is
//! enabled in, changes. Scores are then a cheap read of at most one row per catalogue control.

use std::collections::{BTreeMap, BTreeSet};

use prost::Message;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    sea_query::OnConflict,
};
use tributary_proto::collector::v1 as pb;
use tributary_runtime::{
    auth::Caller,
    paging::{PageTokens, page_size},
    time::to_timestamp,
};
use tributary_securityhub::{
    controls::{
        Counts, DataStatus, STANDARDS, SecurityControl, Standard, Tally, mean_score,
        parse_control_arn, parse_subscription_arn, security_control, security_control_arn,
        standard_by_arn,
    },
    index::ControlChange,
};

use crate::{
    access::AccountAccess,
    change_log::{
        ChangeKind, ChangeLog, ChangeOp, ChangeRecord, ChangeTx, Version, to_i64, to_u64,
    },
    error::{Error, Result, reason},
    insights::subject_account,
    store::{
        control_status as statuses, enabled_standards as standards,
        standards_control_settings as settings,
    },
};

const DEFAULT_PAGE: u32 = 100;
const MAX_PAGE: u32 = 100;
/// Standards one BatchEnableStandards or BatchDisableStandards call may name.
pub const MAX_STANDARDS_PER_CALL: usize = 25;
/// Security controls one BatchGetSecurityControls call may name.
pub const MAX_SECURITY_CONTROLS_PER_CALL: usize = 100;
/// Parameters a standards subscription may carry.
pub const MAX_STANDARDS_INPUT: usize = 10;
/// The longest DisabledReason.
pub const MAX_DISABLED_REASON_CHARS: usize = 1024;

/// The standard a stored standards ARN (of any region) names.
fn standard_of(arn: &str) -> Option<&'static Standard> {
    STANDARDS.iter().find(|standard| {
        arn.strip_suffix(standard.id)
            .is_some_and(|rest| rest.ends_with(':'))
    })
}

fn compliance_status(status: DataStatus) -> pb::ControlComplianceStatus {
    match status {
        DataStatus::Passed => pb::ControlComplianceStatus::Passed,
        DataStatus::Failed => pb::ControlComplianceStatus::Failed,
        DataStatus::Unknown => pb::ControlComplianceStatus::Unknown,
        DataStatus::NoData => pb::ControlComplianceStatus::NoData,
    }
}

fn stored_status(row: Option<&statuses::Model>) -> DataStatus {
    row.and_then(|row| DataStatus::parse(&row.status))
        .unwrap_or(DataStatus::NoData)
}

/// The enablement of an account's standards and their controls.
struct Enablement {
    /// Enabled standards by ARN.
    standards: BTreeMap<String, standards::Model>,
    /// Control settings by (standards ARN, the standard's control id).
    settings: BTreeMap<(String, String), settings::Model>,
}

impl Enablement {
    async fn load(connection: &impl ConnectionTrait, account_id: &str) -> Result<Self> {
        let standards = standards::Entity::find()
            .filter(standards::Column::AccountId.eq(account_id))
            .all(connection)
            .await?
            .into_iter()
            .map(|row| (row.standards_arn.clone(), row))
            .collect();
        let settings = settings::Entity::find()
            .filter(settings::Column::AccountId.eq(account_id))
            .all(connection)
            .await?
            .into_iter()
            .map(|row| ((row.standards_arn.clone(), row.control_id.clone()), row))
            .collect();
        Ok(Self {
            standards,
            settings,
        })
    }

    /// Whether the standard's control `control_id` is enabled (controls are until disabled).
    fn control_enabled(&self, standards_arn: &str, control_id: &str) -> bool {
        self.settings
            .get(&(standards_arn.to_string(), control_id.to_string()))
            .is_none_or(|setting| setting.enabled)
    }

    /// The enabled standards each security control is enabled in.
    fn enabled_in(&self) -> BTreeMap<&'static str, BTreeSet<String>> {
        let mut enabled: BTreeMap<&'static str, BTreeSet<String>> = BTreeMap::new();
        for arn in self.standards.keys() {
            let Some(standard) = standard_of(arn) else {
                continue;
            };
            for (own, security) in standard.controls {
                if self.control_enabled(arn, own) {
                    enabled.entry(security).or_default().insert(arn.clone());
                }
            }
        }
        enabled
    }
}

fn joined(arns: &BTreeSet<String>) -> String {
    arns.iter().cloned().collect::<Vec<_>>().join("\n")
}

fn split(joined: &str) -> Vec<String> {
    joined
        .split('\n')
        .filter(|arn| !arn.is_empty())
        .map(str::to_string)
        .collect()
}

/// Writes a control's row and, when its status or enablement changed (or it is new), appends
/// its change record.
async fn store_status(
    change_tx: &mut ChangeTx,
    account_id: &str,
    control_id: &str,
    previous: Option<&statuses::Model>,
    counts: Counts,
    enabled_standards: String,
) -> Result<()> {
    let status = counts.status();
    let changed = previous.is_none_or(|row| {
        row.status != status.as_str() || row.enabled_standards != enabled_standards
    });
    let mut row = statuses::ActiveModel {
        account_id: Set(account_id.to_string()),
        security_control_id: Set(control_id.to_string()),
        passed: Set(counts.passed),
        failed: Set(counts.failed),
        unknown: Set(counts.unknown),
        status: Set(status.as_str().to_string()),
        enabled_standards: Set(enabled_standards.clone()),
        updated_at_micros: Set(previous.map_or(0, |row| row.updated_at_micros)),
        seq: Set(previous.map_or(0, |row| row.seq)),
        version: Set(previous.map_or_else(String::new, |row| row.version.clone())),
    };
    if changed {
        let now = change_tx.now();
        let payload = pb::ControlStatusRecord {
            security_control_id: control_id.to_string(),
            status: compliance_status(status) as i32,
            enabled_standards_arns: split(&enabled_standards),
            updated_at: Some(to_timestamp(now)),
        }
        .encode_to_vec();
        let stamp = change_tx.append(
            account_id,
            ChangeKind::ControlStatus,
            control_id.to_string(),
            ChangeOp::Upsert,
            |_| payload,
        );
        row.updated_at_micros = Set(now.timestamp_micros());
        row.seq = Set(to_i64(stamp.seq));
        row.version = Set(stamp.version.encode());
    }
    statuses::Entity::insert(row)
        .on_conflict(
            OnConflict::columns([
                statuses::Column::AccountId,
                statuses::Column::SecurityControlId,
            ])
            .update_columns([
                statuses::Column::Passed,
                statuses::Column::Failed,
                statuses::Column::Unknown,
                statuses::Column::Status,
                statuses::Column::EnabledStandards,
                statuses::Column::UpdatedAtMicros,
                statuses::Column::Seq,
                statuses::Column::Version,
            ])
            .to_owned(),
        )
        .exec(change_tx.tx())
        .await?;
    Ok(())
}

/// Keeps control statuses after a finding write changed what the finding counts for.
pub async fn finding_changed(change_tx: &mut ChangeTx, change: ControlChange) -> Result<()> {
    if !change.changed() {
        return Ok(());
    }
    let mut deltas: BTreeMap<String, Counts> = BTreeMap::new();
    if let Some((control_id, bucket)) = change.before {
        deltas.entry(control_id).or_default().add(bucket, -1);
    }
    if let Some((control_id, bucket)) = change.after {
        deltas.entry(control_id).or_default().add(bucket, 1);
    }
    for (control_id, delta) in deltas {
        if delta == Counts::default() {
            continue;
        }
        let previous =
            statuses::Entity::find_by_id((change.account_id.clone(), control_id.clone()))
                .one(change_tx.tx())
                .await?;
        let (mut counts, enabled_standards) = match &previous {
            Some(row) => (
                Counts {
                    passed: row.passed,
                    failed: row.failed,
                    unknown: row.unknown,
                },
                row.enabled_standards.clone(),
            ),
            None => {
                let enablement = Enablement::load(change_tx.tx(), &change.account_id).await?;
                let enabled = enablement
                    .enabled_in()
                    .remove(control_id.as_str())
                    .unwrap_or_default();
                (Counts::default(), joined(&enabled))
            }
        };
        counts.passed = (counts.passed + delta.passed).max(0);
        counts.failed = (counts.failed + delta.failed).max(0);
        counts.unknown = (counts.unknown + delta.unknown).max(0);
        store_status(
            change_tx,
            &change.account_id,
            &control_id,
            previous.as_ref(),
            counts,
            enabled_standards,
        )
        .await?;
    }
    Ok(())
}

/// Recomputes which enabled standards each control of `account_id` is enabled in after its
/// standards or control settings changed, appending records for the controls that changed.
async fn refresh_enablement(change_tx: &mut ChangeTx, account_id: &str) -> Result<()> {
    let enablement = Enablement::load(change_tx.tx(), account_id).await?;
    let mut enabled = enablement.enabled_in();
    let rows = statuses::Entity::find()
        .filter(statuses::Column::AccountId.eq(account_id))
        .all(change_tx.tx())
        .await?;
    let mut seen = BTreeSet::new();
    for row in &rows {
        seen.insert(row.security_control_id.clone());
        let now_enabled = joined(
            &enabled
                .remove(row.security_control_id.as_str())
                .unwrap_or_default(),
        );
        if now_enabled != row.enabled_standards {
            let counts = Counts {
                passed: row.passed,
                failed: row.failed,
                unknown: row.unknown,
            };
            store_status(
                change_tx,
                account_id,
                &row.security_control_id,
                Some(row),
                counts,
                now_enabled,
            )
            .await?;
        }
    }
    for (control_id, arns) in enabled {
        if !seen.contains(control_id) {
            store_status(
                change_tx,
                account_id,
                control_id,
                None,
                Counts::default(),
                joined(&arns),
            )
            .await?;
        }
    }
    Ok(())
}

/// One page of current control statuses for a snapshot, in (account, control) order, and the
/// position to continue after when the page was full.
pub(crate) async fn snapshot_page(
    connection: &impl ConnectionTrait,
    account_ids: &[String],
    after: Option<(String, String)>,
    limit: u64,
) -> Result<(Vec<ChangeRecord>, Option<(String, String)>)> {
    use sea_orm::QuerySelect;
    use tributary_runtime::paging::{Direction, keyset_after};
    let mut select = statuses::Entity::find()
        .order_by_asc(statuses::Column::AccountId)
        .order_by_asc(statuses::Column::SecurityControlId)
        .limit(limit);
    if !account_ids.is_empty() {
        select = select.filter(statuses::Column::AccountId.is_in(account_ids.to_vec()));
    }
    if let Some((account_id, control_id)) = &after {
        select = select.filter(keyset_after(vec![
            (
                statuses::Column::AccountId,
                account_id.as_str().into(),
                Direction::Ascending,
            ),
            (
                statuses::Column::SecurityControlId,
                control_id.as_str().into(),
                Direction::Ascending,
            ),
        ]));
    }
    let rows = select.all(connection).await?;
    let next = match rows.last() {
        Some(last) if u64::try_from(rows.len()).unwrap_or(u64::MAX) >= limit => {
            Some((last.account_id.clone(), last.security_control_id.clone()))
        }
        _ => None,
    };
    let records = rows
        .into_iter()
        .map(|row| {
            let status = stored_status(Some(&row));
            Ok(ChangeRecord {
                seq: to_u64(row.seq),
                kind: ChangeKind::ControlStatus,
                key: row.security_control_id.clone(),
                version: Version::decode(&row.version)
                    .ok_or_else(|| Error::Corrupt(format!("bad version {:?}", row.version)))?,
                op: ChangeOp::Upsert,
                payload: pb::ControlStatusRecord {
                    security_control_id: row.security_control_id,
                    status: compliance_status(status) as i32,
                    enabled_standards_arns: split(&row.enabled_standards),
                    updated_at: Some(to_timestamp(
                        chrono::DateTime::from_timestamp_micros(row.updated_at_micros)
                            .unwrap_or_default(),
                    )),
                }
                .encode_to_vec(),
                committed_at: None,
                account_id: row.account_id,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok((records, next))
}

/// One account's scores: per enabled standard, and over all of them.
#[derive(Debug, Clone, PartialEq)]
pub struct Scores {
    /// (subscription, standard, tally) per enabled standard, in ARN order.
    pub standards: Vec<(String, &'static Standard, String, Tally)>,
    /// The mean of the standards' scores.
    pub overall: Option<u32>,
    /// The pooled score over distinct enabled security controls.
    pub pooled: Option<u32>,
}

fn not_found(message: String) -> Error {
    Error::not_found(
        tributary_runtime::error::reason::RESOURCE_NOT_FOUND,
        message,
    )
}

fn invalid(field: impl Into<String>, message: impl Into<String>) -> Error {
    Error::invalid_field(reason::INVALID_INPUT, field, message)
}

fn subscription(
    region: &str,
    account_id: &str,
    standard: &Standard,
    input: &str,
    status: pb::StandardsStatus,
) -> pb::StandardsSubscription {
    pb::StandardsSubscription {
        standards_subscription_arn: standard.subscription_arn(region, account_id),
        standards_arn: standard.arn(region),
        standards_input: serde_json::from_str(input).unwrap_or_default(),
        standards_status: status as i32,
    }
}

/// The standards, controls and scores of this region's accounts.
pub struct Controls {
    change_log: ChangeLog,
    page_tokens: PageTokens,
    region: String,
    access: AccountAccess,
}

impl Controls {
    /// Standards and controls of `region`, stored through `change_log`.
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

    /// One page of the catalogue's standards.
    pub fn describe_standards(
        &self,
        requested_page_size: i32,
        page_token: &str,
    ) -> Result<(Vec<pb::Standard>, String)> {
        let limit = usize::try_from(page_size(requested_page_size, DEFAULT_PAGE, MAX_PAGE)?)
            .unwrap_or(usize::MAX);
        let after: Option<String> = self.page_tokens.open("DescribeStandards", page_token)?;
        let mut all: Vec<pb::Standard> = STANDARDS
            .iter()
            .map(|standard| pb::Standard {
                standards_arn: standard.arn(&self.region),
                name: standard.name.to_string(),
                description: standard.description.to_string(),
                enabled_by_default: standard.enabled_by_default,
            })
            .collect();
        all.sort_by(|left, right| left.standards_arn.cmp(&right.standards_arn));
        let rest: Vec<pb::Standard> = all
            .into_iter()
            .filter(|standard| {
                after
                    .as_ref()
                    .is_none_or(|after| standard.standards_arn > *after)
            })
            .collect();
        let more = rest.len() > limit;
        let page: Vec<pb::Standard> = rest.into_iter().take(limit).collect();
        let token = match page.last() {
            Some(last) if more => self
                .page_tokens
                .issue("DescribeStandards", &last.standards_arn),
            _ => String::new(),
        };
        Ok((page, token))
    }

    /// Enables standards for an account (already enabled ones stay as they are).
    pub async fn batch_enable_standards(
        &self,
        caller: &Caller,
        requested_account: &str,
        requests: &[pb::StandardsSubscriptionRequest],
    ) -> Result<Vec<pb::StandardsSubscription>> {
        let mut violations = tributary_runtime::Violations::new();
        if requests.is_empty() || requests.len() > MAX_STANDARDS_PER_CALL {
            violations.add(
                "standards_subscription_requests",
                format!("must hold 1-{MAX_STANDARDS_PER_CALL} standards"),
            );
        }
        let mut chosen: Vec<&'static Standard> = Vec::with_capacity(requests.len());
        for (index, request) in requests.iter().enumerate() {
            match standard_by_arn(&request.standards_arn, &self.region) {
                Some(standard) if chosen.contains(&standard) => violations.add(
                    format!("standards_subscription_requests[{index}].standards_arn"),
                    "names a standard twice",
                ),
                Some(standard) => chosen.push(standard),
                None => violations.add(
                    format!("standards_subscription_requests[{index}].standards_arn"),
                    format!(
                        "is not a standard of region {}; DescribeStandards lists them",
                        self.region
                    ),
                ),
            }
            if request.standards_input.len() > MAX_STANDARDS_INPUT {
                violations.add(
                    format!("standards_subscription_requests[{index}].standards_input"),
                    format!("must hold at most {MAX_STANDARDS_INPUT} pairs"),
                );
            }
        }
        violations.finish_with(reason::INVALID_INPUT)?;
        let account_id = subject_account(&self.access, caller, requested_account, true).await?;
        let mut change_tx = self.change_log.begin().await?;
        let mut subscriptions = Vec::with_capacity(chosen.len());
        for (standard, request) in chosen.into_iter().zip(requests) {
            let arn = standard.arn(&self.region);
            let existing = standards::Entity::find_by_id((account_id.clone(), arn.clone()))
                .one(change_tx.tx())
                .await?;
            let input = match existing {
                Some(row) => row.standards_input,
                None => {
                    let input = serde_json::to_string(&request.standards_input)
                        .map_err(|error| Error::Corrupt(error.to_string()))?;
                    standards::Entity::insert(standards::ActiveModel {
                        account_id: Set(account_id.clone()),
                        standards_arn: Set(arn),
                        standards_input: Set(input.clone()),
                        enabled_at_micros: Set(change_tx.now().timestamp_micros()),
                    })
                    .exec(change_tx.tx())
                    .await?;
                    input
                }
            };
            subscriptions.push(subscription(
                &self.region,
                &account_id,
                standard,
                &input,
                pb::StandardsStatus::Ready,
            ));
        }
        refresh_enablement(&mut change_tx, &account_id).await?;
        change_tx.commit().await?;
        Ok(subscriptions)
    }

    /// Disables standards; their control settings are forgotten.
    pub async fn batch_disable_standards(
        &self,
        caller: &Caller,
        subscription_arns: &[String],
    ) -> Result<Vec<pb::StandardsSubscription>> {
        let mut violations = tributary_runtime::Violations::new();
        if subscription_arns.is_empty() || subscription_arns.len() > MAX_STANDARDS_PER_CALL {
            violations.add(
                "standards_subscription_arns",
                format!("must hold 1-{MAX_STANDARDS_PER_CALL} subscription ARNs"),
            );
        }
        let mut parsed = Vec::with_capacity(subscription_arns.len());
        for (index, arn) in subscription_arns.iter().enumerate() {
            match parse_subscription_arn(arn, &self.region) {
                Some(subscription) if !parsed.contains(&subscription) => parsed.push(subscription),
                Some(_) => violations.add(
                    format!("standards_subscription_arns[{index}]"),
                    "names a subscription twice",
                ),
                None => violations.add(
                    format!("standards_subscription_arns[{index}]"),
                    format!(
                        "is not a standards subscription ARN of region {}",
                        self.region
                    ),
                ),
            }
        }
        violations.finish_with(reason::INVALID_INPUT)?;
        let mut accounts = BTreeSet::new();
        for (account_id, _) in &parsed {
            subject_account(&self.access, caller, account_id, true).await?;
            accounts.insert(account_id.clone());
        }
        let mut change_tx = self.change_log.begin().await?;
        let mut subscriptions = Vec::with_capacity(parsed.len());
        for (account_id, standard) in &parsed {
            let arn = standard.arn(&self.region);
            let Some(row) = standards::Entity::find_by_id((account_id.clone(), arn.clone()))
                .one(change_tx.tx())
                .await?
            else {
                return Err(not_found(format!(
                    "account {account_id} has not enabled {arn} in this region"
                )));
            };
            standards::Entity::delete_by_id((account_id.clone(), arn.clone()))
                .exec(change_tx.tx())
                .await?;
            settings::Entity::delete_many()
                .filter(settings::Column::AccountId.eq(account_id.as_str()))
                .filter(settings::Column::StandardsArn.eq(arn.as_str()))
                .exec(change_tx.tx())
                .await?;
            subscriptions.push(subscription(
                &self.region,
                account_id,
                standard,
                &row.standards_input,
                pb::StandardsStatus::Deleting,
            ));
        }
        for account_id in &accounts {
            refresh_enablement(&mut change_tx, account_id).await?;
        }
        change_tx.commit().await?;
        Ok(subscriptions)
    }

    /// One page of an account's enabled standards, optionally only the named subscriptions.
    pub async fn get_enabled_standards(
        &self,
        caller: &Caller,
        request: &pb::GetEnabledStandardsRequest,
    ) -> Result<(Vec<pb::StandardsSubscription>, String)> {
        let limit = usize::try_from(page_size(request.page_size, DEFAULT_PAGE, MAX_PAGE)?)
            .unwrap_or(usize::MAX);
        let mut violations = tributary_runtime::Violations::new();
        if request.standards_subscription_arns.len() > MAX_STANDARDS_PER_CALL {
            violations.add(
                "standards_subscription_arns",
                format!("must hold at most {MAX_STANDARDS_PER_CALL} ARNs"),
            );
        }
        violations.finish_with(reason::INVALID_INPUT)?;
        let account_id = subject_account(&self.access, caller, &request.account_id, false).await?;
        let scope = format!(
            "GetEnabledStandards:{account_id}:{:?}",
            request.standards_subscription_arns
        );
        let after: Option<String> = self.page_tokens.open(&scope, &request.page_token)?;
        let rows = standards::Entity::find()
            .filter(standards::Column::AccountId.eq(account_id.as_str()))
            .order_by_asc(standards::Column::StandardsArn)
            .all(self.change_log.db())
            .await?;
        let mut page = Vec::new();
        let mut more = false;
        for row in rows {
            if after
                .as_ref()
                .is_some_and(|after| row.standards_arn <= *after)
            {
                continue;
            }
            let Some(standard) = standard_of(&row.standards_arn) else {
                continue;
            };
            let listed = subscription(
                &self.region,
                &account_id,
                standard,
                &row.standards_input,
                pb::StandardsStatus::Ready,
            );
            if !request.standards_subscription_arns.is_empty()
                && !request
                    .standards_subscription_arns
                    .contains(&listed.standards_subscription_arn)
            {
                continue;
            }
            if page.len() == limit {
                more = true;
                break;
            }
            page.push(listed);
        }
        let token = match page.last() {
            Some(last) if more => self.page_tokens.issue(&scope, &last.standards_arn),
            _ => String::new(),
        };
        Ok((page, token))
    }

    /// One page of the controls of an enabled standard of an account.
    pub async fn describe_standards_controls(
        &self,
        caller: &Caller,
        request: &pb::DescribeStandardsControlsRequest,
    ) -> Result<(Vec<pb::StandardsControl>, String)> {
        let limit = usize::try_from(page_size(request.page_size, DEFAULT_PAGE, MAX_PAGE)?)
            .unwrap_or(usize::MAX);
        let Some((account_id, standard)) =
            parse_subscription_arn(&request.standards_subscription_arn, &self.region)
        else {
            return Err(invalid(
                "standards_subscription_arn",
                format!(
                    "is not a standards subscription ARN of region {}",
                    self.region
                ),
            ));
        };
        subject_account(&self.access, caller, &account_id, false).await?;
        let db = self.change_log.db();
        let enablement = Enablement::load(db, &account_id).await?;
        let arn = standard.arn(&self.region);
        if !enablement.standards.contains_key(&arn) {
            return Err(not_found(format!(
                "account {account_id} has not enabled {arn} in this region"
            )));
        }
        let scope = format!(
            "DescribeStandardsControls:{}",
            request.standards_subscription_arn
        );
        let after: Option<usize> = self.page_tokens.open(&scope, &request.page_token)?;
        let start = after.map_or(0, |after| after + 1);
        let rows = self.statuses(db, &account_id).await?;
        let mut page = Vec::new();
        for (own, security_id) in standard.controls.iter().skip(start).take(limit) {
            let Some(control) = security_control(security_id) else {
                continue;
            };
            let setting = enablement.settings.get(&(arn.clone(), (*own).to_string()));
            let enabled = setting.is_none_or(|setting| setting.enabled);
            page.push(pb::StandardsControl {
                standards_control_arn: standard.control_arn(&self.region, &account_id, own),
                control_status: if enabled {
                    pb::ControlStatus::Enabled
                } else {
                    pb::ControlStatus::Disabled
                } as i32,
                disabled_reason: setting
                    .map_or_else(String::new, |setting| setting.disabled_reason.clone()),
                control_status_updated_at: setting.and_then(|setting| {
                    chrono::DateTime::from_timestamp_micros(setting.updated_at_micros)
                        .map(to_timestamp)
                }),
                control_id: (*own).to_string(),
                title: control.title.to_string(),
                description: control.description(),
                remediation_url: control.remediation_url(),
                severity_rating: control.severity.to_string(),
                security_control_id: control.id.to_string(),
                compliance_status: if enabled {
                    compliance_status(stored_status(rows.get(control.id)))
                } else {
                    pb::ControlComplianceStatus::Disabled
                } as i32,
            });
        }
        let end = start + page.len();
        let token = if end < standard.controls.len() && !page.is_empty() {
            self.page_tokens.issue(&scope, &(end - 1))
        } else {
            String::new()
        };
        Ok((page, token))
    }

    /// Enables or disables one control of an enabled standard.
    pub async fn update_standards_control(
        &self,
        caller: &Caller,
        request: &pb::UpdateStandardsControlRequest,
    ) -> Result<()> {
        let mut violations = tributary_runtime::Violations::new();
        let parsed = parse_control_arn(&request.standards_control_arn, &self.region);
        if parsed.is_none() {
            violations.add(
                "standards_control_arn",
                format!(
                    "is not a control of a standard of region {}; DescribeStandardsControls \
                     lists them",
                    self.region
                ),
            );
        }
        let enabled = match pb::ControlStatus::try_from(request.control_status) {
            Ok(pb::ControlStatus::Enabled) => true,
            Ok(pb::ControlStatus::Disabled) => false,
            _ => {
                violations.add("control_status", "must be ENABLED or DISABLED");
                true
            }
        };
        let reason_chars = request.disabled_reason.chars().count();
        if !enabled
            && (request.disabled_reason.trim().is_empty()
                || reason_chars > MAX_DISABLED_REASON_CHARS)
        {
            violations.add(
                "disabled_reason",
                format!(
                    "is required when disabling a control: 1-{MAX_DISABLED_REASON_CHARS} \
                     characters"
                ),
            );
        }
        violations.finish_with(reason::INVALID_INPUT)?;
        let Some((account_id, standard, control_id)) = parsed else {
            return Err(Error::Corrupt("a checked control ARN was lost".into()));
        };
        subject_account(&self.access, caller, &account_id, true).await?;
        let arn = standard.arn(&self.region);
        let mut change_tx = self.change_log.begin().await?;
        if standards::Entity::find_by_id((account_id.clone(), arn.clone()))
            .one(change_tx.tx())
            .await?
            .is_none()
        {
            return Err(not_found(format!(
                "account {account_id} has not enabled {arn} in this region"
            )));
        }
        settings::Entity::insert(settings::ActiveModel {
            account_id: Set(account_id.clone()),
            standards_arn: Set(arn),
            control_id: Set(control_id.to_string()),
            enabled: Set(enabled),
            disabled_reason: Set(if enabled {
                String::new()
            } else {
                request.disabled_reason.clone()
            }),
            updated_at_micros: Set(change_tx.now().timestamp_micros()),
        })
        .on_conflict(
            OnConflict::columns([
                settings::Column::AccountId,
                settings::Column::StandardsArn,
                settings::Column::ControlId,
            ])
            .update_columns([
                settings::Column::Enabled,
                settings::Column::DisabledReason,
                settings::Column::UpdatedAtMicros,
            ])
            .to_owned(),
        )
        .exec(change_tx.tx())
        .await?;
        refresh_enablement(&mut change_tx, &account_id).await?;
        change_tx.commit().await?;
        Ok(())
    }

    async fn statuses(
        &self,
        connection: &impl ConnectionTrait,
        account_id: &str,
    ) -> Result<BTreeMap<String, statuses::Model>> {
        Ok(statuses::Entity::find()
            .filter(statuses::Column::AccountId.eq(account_id))
            .all(connection)
            .await?
            .into_iter()
            .map(|row| (row.security_control_id.clone(), row))
            .collect())
    }

    /// The named security controls of an account; unknown ids are reported apart.
    pub async fn batch_get_security_controls(
        &self,
        caller: &Caller,
        requested_account: &str,
        ids: &[String],
    ) -> Result<(
        Vec<pb::SecurityControl>,
        Vec<pb::UnprocessedSecurityControl>,
    )> {
        if ids.is_empty() || ids.len() > MAX_SECURITY_CONTROLS_PER_CALL {
            return Err(invalid(
                "security_control_ids",
                format!("must hold 1-{MAX_SECURITY_CONTROLS_PER_CALL} ids"),
            ));
        }
        let account_id = subject_account(&self.access, caller, requested_account, false).await?;
        let rows = self.statuses(self.change_log.db(), &account_id).await?;
        let mut found = Vec::new();
        let mut unprocessed = Vec::new();
        for id in ids {
            let Some(control) = security_control(id) else {
                unprocessed.push(pb::UnprocessedSecurityControl {
                    security_control_id: id.clone(),
                    error_code: "NOT_FOUND".into(),
                    error_reason: "no security control has this id; ids look like S3.1".into(),
                });
                continue;
            };
            found.push(self.security_control(&account_id, control, rows.get(control.id)));
        }
        Ok((found, unprocessed))
    }

    fn security_control(
        &self,
        account_id: &str,
        control: &SecurityControl,
        row: Option<&statuses::Model>,
    ) -> pb::SecurityControl {
        let enabled = row.is_some_and(|row| !row.enabled_standards.is_empty());
        pb::SecurityControl {
            security_control_id: control.id.to_string(),
            security_control_arn: security_control_arn(&self.region, account_id, control.id),
            title: control.title.to_string(),
            description: control.description(),
            remediation_url: control.remediation_url(),
            severity_rating: control.severity.to_string(),
            security_control_status: if enabled {
                pb::ControlStatus::Enabled
            } else {
                pb::ControlStatus::Disabled
            } as i32,
            update_status: "READY".into(),
            compliance_status: if enabled {
                compliance_status(stored_status(row))
            } else {
                pb::ControlComplianceStatus::Disabled
            } as i32,
            passed_findings: row.map_or(0, |row| row.passed),
            failed_findings: row.map_or(0, |row| row.failed),
            unknown_findings: row.map_or(0, |row| row.unknown),
        }
    }

    /// An account's security scores.
    pub async fn scores(&self, caller: &Caller, requested_account: &str) -> Result<Scores> {
        let account_id = subject_account(&self.access, caller, requested_account, false).await?;
        let db = self.change_log.db();
        let enablement = Enablement::load(db, &account_id).await?;
        let rows = self.statuses(db, &account_id).await?;
        let mut standards = Vec::new();
        let mut pooled_controls = BTreeSet::new();
        for arn in enablement.standards.keys() {
            let Some(standard) = standard_of(arn) else {
                continue;
            };
            let mut tally = Tally::default();
            for (own, security_id) in standard.controls {
                let enabled = enablement.control_enabled(arn, own);
                tally.add(enabled, stored_status(rows.get(*security_id)));
                if enabled {
                    pooled_controls.insert(*security_id);
                }
            }
            standards.push((
                standard.subscription_arn(&self.region, &account_id),
                standard,
                arn.clone(),
                tally,
            ));
        }
        let mut pooled = Tally::default();
        for control_id in &pooled_controls {
            pooled.add(true, stored_status(rows.get(*control_id)));
        }
        Ok(Scores {
            overall: mean_score(standards.iter().map(|(_, _, _, tally)| tally.score())),
            pooled: pooled.score(),
            standards,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_standards_arns_of_any_region_name_their_standard() {
        for standard in STANDARDS {
            for region in ["us-east-1", "eu-west-1"] {
                assert_eq!(standard_of(&standard.arn(region)), Some(standard));
            }
        }
        assert_eq!(
            standard_of("arn:aws:securityhub:::standards/unknown/v/1"),
            None
        );
        assert_eq!(
            standard_of(
                "arn:aws:securityhub:::xstandards/aws-foundational-security-best-practices/v/1.0.0"
            ),
            None
        );
    }

    #[test]
    fn enabled_standards_are_stored_one_per_line() {
        let arns: BTreeSet<String> = ["b".to_string(), "a".to_string()].into_iter().collect();
        assert_eq!(joined(&arns), "a\nb");
        assert_eq!(split(&joined(&arns)), ["a", "b"]);
        assert!(split("").is_empty());
    }
}
