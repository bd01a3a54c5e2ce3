//! Customer updates of findings: BatchUpdateFindings (spec §3.7), and updates made in the home
//! region and replicated back to this, the findings' origin region (ApplyReplicatedUpdates).
//!
//! Every write versions the field groups it changes: a customer update with the version of its
//! change record (marking the groups customer-modified), a replicated update with the versions it
//! carries, merged group by group so that only newer groups apply. Both append the finding to
//! the change log and a record to its history in the same transaction.

use std::collections::HashMap;

use tributary_proto::collector::v1 as pb;
use tributary_runtime::{Violations, auth::Caller, version::Version};
use tributary_securityhub::merge::{self, FieldGroup, FieldVersions, VersionedFinding};

use super::{Findings, Refusal, history, inputs, load, stamped, store};
use crate::error::{Result, reason};

/// Replicated updates per ApplyReplicatedUpdates call.
pub const MAX_REPLICATED_UPDATES: usize = 500;
/// How far ahead of this collector's clock a replicated version may be: a version further ahead
/// would drag every later local version with it.
pub const MAX_CLOCK_AHEAD_MS: u64 = 60 * 60 * 1000;

use tributary_securityhub::update::text;
pub use tributary_securityhub::update::{BatchUpdate, Changes, MAX_IDENTIFIERS, SeverityChange};

/// Checks every field of a BatchUpdateFindings request (`InvalidInputException`).
pub fn parse(request: pb::BatchUpdateFindingsRequest) -> Result<BatchUpdate> {
    let mut violations = Violations::new();
    let update = BatchUpdate::check(&mut violations, request);
    violations.finish_with(reason::INVALID_INPUT)?;
    Ok(update)
}

/// The outcome of BatchUpdateFindings.
#[derive(Debug, Clone, PartialEq)]
pub struct UpdateOutcome {
    /// The findings updated (or already as requested), as (id, product ARN).
    pub processed: Vec<(String, String)>,
    /// The findings not updated: (id, product ARN) and why.
    pub unprocessed: Vec<((String, String), Refusal)>,
    /// The change-log head including the call.
    pub change_log_seq: u64,
}

fn refusal(code: &'static str, message: impl Into<String>) -> Refusal {
    Refusal {
        code,
        message: message.into(),
    }
}

/// One replicated update, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplicatedUpdate {
    /// The finding's account.
    pub account_id: String,
    /// The groups it sets, their values and versions.
    pub update: VersionedFinding,
    /// Who made it.
    pub source: history::Source,
}

/// What became of one replicated update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplicatedOutcome {
    /// These groups were newer and were applied.
    Applied(Vec<FieldGroup>),
    /// Nothing was newer.
    Ignored,
    /// No such finding here.
    NotFound,
}

/// Checks an ApplyReplicatedUpdates request (`InvalidInputException`): every update names a
/// finding of `region`, sets 1-9 known groups, each with a version at most an hour ahead of
/// `now_ms`.
pub fn replicated_updates(
    request: pb::ApplyReplicatedUpdatesRequest,
    region: &str,
    now_ms: u64,
    caller: &Caller,
) -> Result<Vec<ReplicatedUpdate>> {
    let mut violations = Violations::new();
    if request.updates.is_empty() || request.updates.len() > MAX_REPLICATED_UPDATES {
        violations.add(
            "updates",
            format!("must hold 1-{MAX_REPLICATED_UPDATES} updates"),
        );
    }
    let mut updates = Vec::with_capacity(request.updates.len());
    for (index, update) in request.updates.into_iter().enumerate() {
        let field = |name: &str| format!("updates[{index}].{name}");
        violations.check(
            field("aws_account_id"),
            tributary_runtime::ids::validate_account_id(&update.aws_account_id),
        );
        text(&mut violations, &field("id"), &update.id, 1, 512);
        match inputs::parse_product_arn(&update.product_arn) {
            Some((arn_region, _, _)) if arn_region == region => {}
            _ => violations.add(
                field("product_arn"),
                format!("must be a product ARN of region {region}, the finding's origin"),
            ),
        }
        let versions = match FieldVersions::from_proto(&update.field_versions.unwrap_or_default()) {
            Ok(versions) if versions.is_empty() => {
                violations.add(field("field_versions"), "must name 1-9 groups");
                versions
            }
            Ok(versions) => {
                if versions
                    .groups()
                    .any(|(_, version)| version.version.wall_ms > now_ms + MAX_CLOCK_AHEAD_MS)
                {
                    violations.add(
                        field("field_versions"),
                        "a version is more than an hour ahead of this collector's clock",
                    );
                }
                versions
            }
            Err(message) => {
                violations.add(field("field_versions"), message);
                FieldVersions::default()
            }
        };
        let mut values = update.values.unwrap_or_default();
        // The finding's identity is the update's, whatever the values say.
        values.aws_account_id.clone_from(&update.aws_account_id);
        values.product_arn.clone_from(&update.product_arn);
        values.id.clone_from(&update.id);
        let source = update.update_source.unwrap_or_default();
        let source = history::Source {
            kind: match pb::FindingHistoryUpdateSourceType::try_from(source.r#type) {
                Ok(pb::FindingHistoryUpdateSourceType::BatchImportFindings) => {
                    history::SourceType::BatchImportFindings
                }
                _ => history::SourceType::BatchUpdateFindings,
            },
            identity: if source.identity.is_empty() {
                history::Source::of(history::SourceType::BatchUpdateFindings, caller).identity
            } else {
                source.identity
            },
        };
        updates.push(ReplicatedUpdate {
            account_id: update.aws_account_id,
            update: VersionedFinding {
                finding: values,
                versions,
            },
            source,
        });
    }
    violations.finish_with(reason::INVALID_INPUT)?;
    Ok(updates)
}

impl Findings {
    /// Applies `batch` to each named finding the caller may update. Access is decided before
    /// the write transaction (membership may be asked); the findings are read again inside it.
    pub async fn batch_update(&self, caller: &Caller, batch: BatchUpdate) -> Result<UpdateOutcome> {
        self.access.require_hub(caller).await?;
        let mut occurrences: HashMap<&(String, String), usize> = HashMap::new();
        for identifier in &batch.identifiers {
            *occurrences.entry(identifier).or_default() += 1;
        }
        let mut unprocessed = Vec::new();
        let mut targets = Vec::new();
        for identifier in &batch.identifiers {
            if occurrences[identifier] > 1 {
                unprocessed.push((
                    identifier.clone(),
                    refusal(
                        "DuplicatedFindingIdentifier",
                        "the request names this finding more than once",
                    ),
                ));
                continue;
            }
            let (id, product_arn) = identifier;
            let holders = history::accounts_holding(self.change_log.db(), product_arn, id).await?;
            if holders.is_empty() {
                unprocessed.push((identifier.clone(), not_found()));
                continue;
            }
            let mut permitted = Vec::new();
            for account_id in holders {
                if self.access.may_update_findings(caller, &account_id).await? {
                    permitted.push(account_id);
                }
            }
            if permitted.is_empty() {
                unprocessed.push((
                    identifier.clone(),
                    refusal(
                        "AccessDeniedException",
                        "the finding belongs to an account this key may not update: an account \
                         updates its own findings and, as their Security Hub administrator here, \
                         its members'",
                    ),
                ));
                continue;
            }
            targets.push((identifier.clone(), permitted));
        }
        let source = history::Source::of(history::SourceType::BatchUpdateFindings, caller);
        let mut change_tx = self.change_log.begin().await?;
        let now = tributary_runtime::time::to_timestamp(change_tx.now());
        let mut processed = Vec::new();
        'identifiers: for (identifier, accounts) in targets {
            let (id, product_arn) = &identifier;
            let mut found = false;
            for account_id in accounts {
                let Some(stored) = load(change_tx.tx(), &account_id, product_arn, id).await? else {
                    continue;
                };
                found = true;
                let mut next = stored.finding.clone();
                if let Err(refused) = batch.changes.apply(&mut next, now) {
                    unprocessed.push((identifier.clone(), refused));
                    continue 'identifiers;
                }
                let changed = FieldGroup::changed(&stored.finding, &next);
                if changed.is_empty() {
                    continue;
                }
                if let Some(newest) = stored.versions.newest() {
                    change_tx.observe(newest);
                }
                store(
                    &mut change_tx,
                    &next,
                    Some(&stored.finding),
                    |version| stamped(&stored.versions, &changed, version, true),
                    &source,
                )
                .await?;
            }
            if found {
                processed.push(identifier);
            } else {
                // Deleted (by retention) since access was decided.
                unprocessed.push((identifier, not_found()));
            }
        }
        let change_log_seq = change_tx.commit().await?;
        Ok(UpdateOutcome {
            processed,
            unprocessed,
            change_log_seq,
        })
    }

    /// Applies updates replicated from the home region, each merged group by group (newer
    /// groups win; equal or older ones are ignored). Returns each update's outcome in order and
    /// the change-log head.
    pub async fn apply_replicated(
        &self,
        updates: Vec<ReplicatedUpdate>,
    ) -> Result<(Vec<ReplicatedOutcome>, u64)> {
        let mut change_tx = self.change_log.begin().await?;
        let mut outcomes = Vec::with_capacity(updates.len());
        for replicated in updates {
            let incoming = &replicated.update;
            let Some(mut stored) = load(
                change_tx.tx(),
                &replicated.account_id,
                &incoming.finding.product_arn,
                &incoming.finding.id,
            )
            .await?
            else {
                outcomes.push(ReplicatedOutcome::NotFound);
                continue;
            };
            let previous = stored.finding.clone();
            let applied = merge::merge(&mut stored, incoming);
            if applied.is_empty() {
                outcomes.push(ReplicatedOutcome::Ignored);
                continue;
            }
            let newest = applied
                .iter()
                .filter_map(|group| stored.versions.get(*group))
                .map(|version| version.version)
                .max()
                .unwrap_or_default();
            change_tx.observe(newest);
            let versions = stored.versions.clone();
            store(
                &mut change_tx,
                &stored.finding,
                Some(&previous),
                |_: Version| versions,
                &replicated.source,
            )
            .await?;
            outcomes.push(ReplicatedOutcome::Applied(applied));
        }
        let change_log_seq = change_tx.commit().await?;
        Ok((outcomes, change_log_seq))
    }
}

fn not_found() -> Refusal {
    refusal(
        "FindingNotFound",
        "no finding with this product ARN and id in this region",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> pb::BatchUpdateFindingsRequest {
        pb::BatchUpdateFindingsRequest {
            finding_identifiers: vec![pb::FindingIdentifier {
                id: "a".into(),
                product_arn: "arn:aws:securityhub:us-east-1::product/aws/guardduty".into(),
            }],
            ..Default::default()
        }
    }

    fn fields(error: crate::error::Error) -> Vec<String> {
        let status = tonic::Status::from(error);
        use tonic_types::StatusExt;
        status
            .get_details_bad_request()
            .map(|bad| bad.field_violations.into_iter().map(|v| v.field).collect())
            .unwrap_or_default()
    }

    #[test]
    fn requests_must_name_findings_and_set_something_valid() {
        assert_eq!(
            fields(parse(request()).unwrap_err()),
            ["finding_identifiers"]
        );
        let mut bad = request();
        bad.finding_identifiers
            .push(pb::FindingIdentifier::default());
        bad.confidence = Some(101);
        bad.note = Some(pb::FindingNoteUpdate {
            text: "x".repeat(513),
            updated_by: "me".into(),
        });
        bad.workflow = Some(pb::FindingWorkflow { status: 0 });
        bad.severity = Some(pb::FindingSeverityUpdate::default());
        assert_eq!(
            fields(parse(bad).unwrap_err()),
            [
                "finding_identifiers[1].id",
                "finding_identifiers[1].product_arn",
                "note.text",
                "severity",
                "confidence",
                "workflow.status"
            ]
        );
        let mut good = request();
        good.workflow = Some(pb::FindingWorkflow {
            status: pb::WorkflowStatus::Notified as i32,
        });
        assert!(parse(good).is_ok());
    }

    #[test]
    fn changes_set_fields_and_derive_the_other_half_of_severity() {
        let mut request = request();
        request.severity = Some(pb::FindingSeverityUpdate {
            label: pb::SeverityLabel::Low as i32,
            ..Default::default()
        });
        request.user_defined_fields = [
            ("owner".to_string(), "me".to_string()),
            ("gone".to_string(), String::new()),
        ]
        .into_iter()
        .collect();
        request.note = Some(pb::FindingNoteUpdate {
            text: "checked".into(),
            updated_by: "analyst".into(),
        });
        let changes = parse(request).unwrap().changes;
        let mut finding = pb::Finding {
            severity: Some(pb::FindingSeverity {
                label: pb::SeverityLabel::High as i32,
                normalized: Some(70),
                original: "8".into(),
                ..Default::default()
            }),
            ..Default::default()
        };
        finding
            .user_defined_fields
            .insert("gone".into(), "soon".into());
        let now = prost_types::Timestamp {
            seconds: 5,
            nanos: 0,
        };
        changes.apply(&mut finding, now).unwrap();
        let severity = finding.severity.unwrap();
        assert_eq!(
            (
                severity.label(),
                severity.normalized,
                severity.original.as_str()
            ),
            (pb::SeverityLabel::Low, Some(1), "8")
        );
        assert_eq!(
            finding.user_defined_fields,
            [("owner".to_string(), "me".to_string())]
                .into_iter()
                .collect()
        );
        assert_eq!(finding.note.unwrap().updated_at, Some(now));
    }

    #[test]
    fn replicated_updates_are_checked_whole() {
        let caller = Caller {
            key_id: "key".into(),
            principal: tributary_runtime::auth::Principal::Service {
                name: "tributary".into(),
            },
        };
        let version = |wall_ms| pb::FindingFieldVersion {
            group: pb::FindingFieldGroup::Note as i32,
            version: Some(
                tributary_runtime::version::Version {
                    wall_ms,
                    logical: 0,
                    node_id: 1,
                }
                .to_proto(),
            ),
            customer_modified: true,
        };
        let update = |region: &str, wall_ms| pb::ReplicatedFindingUpdate {
            aws_account_id: "111111111111".into(),
            product_arn: format!("arn:aws:securityhub:{region}::product/aws/guardduty"),
            id: "a".into(),
            values: None,
            field_versions: Some(pb::FindingFieldVersions {
                groups: vec![version(wall_ms)],
            }),
            update_source: None,
        };
        let now_ms = 1_000_000_000;
        let accepted = replicated_updates(
            pb::ApplyReplicatedUpdatesRequest {
                updates: vec![update("us-east-1", now_ms)],
            },
            "us-east-1",
            now_ms,
            &caller,
        )
        .unwrap();
        assert_eq!(accepted[0].update.finding.id, "a");
        assert_eq!(accepted[0].source.identity, "service/tributary (key)");
        let refused = replicated_updates(
            pb::ApplyReplicatedUpdatesRequest {
                updates: vec![
                    update("eu-west-1", now_ms),
                    update("us-east-1", now_ms + MAX_CLOCK_AHEAD_MS + 1),
                ],
            },
            "us-east-1",
            now_ms,
            &caller,
        )
        .unwrap_err();
        assert_eq!(
            fields(refused),
            ["updates[0].product_arn", "updates[1].field_versions"]
        );
    }
}
