//! Applies replicated finding, control-status and insight records to the aggregated store, inside
//! the engine's transaction.
//!
//! Findings merge field group by field group with the record's field versions
//! (`tributary_securityhub::merge`): a group is copied only when its version is higher, so a
//! record applied twice, late, or after the home region's own update of the same finding changes
//! nothing more, and an update made here and flowing back from its origin is a no-op. Control
//! statuses and insights are whole values: the higher version wins.

use prost::Message;
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    sea_query::{Alias, Expr, ExprTrait, OnConflict},
};
use tributary_proto::collector::v1 as pb;
use tributary_runtime::version::Version;
use tributary_securityhub::merge::{FieldVersions, VersionedFinding, merge};

use super::{FindingCopy, delete_copy, load_copy, replication, write_copy};
use crate::{
    error::{Error, Result},
    replica::Outcome,
    store::{aggregated_control_statuses as statuses, aggregated_insights as insights},
};

/// The change kinds [`apply`] stores.
pub const KINDS: [pb::ChangeKind; 3] = [
    pb::ChangeKind::Finding,
    pb::ChangeKind::ControlStatus,
    pb::ChangeKind::Insight,
];

/// Applies `record` of `region`'s change log. Records of pairs no finding aggregator counts are
/// `Ignored`.
pub async fn apply(
    connection: &impl ConnectionTrait,
    region: &str,
    record: &pb::ChangeRecord,
) -> Result<Outcome> {
    let delete = match pb::ChangeOp::try_from(record.op) {
        Ok(pb::ChangeOp::Upsert) => false,
        Ok(pb::ChangeOp::Delete) => true,
        _ => return Err(corrupt(record, "unknown op")),
    };
    let seq = i64::try_from(record.seq).unwrap_or(i64::MAX);
    let version = record
        .version
        .as_ref()
        .map(Version::from_proto)
        .unwrap_or_default();
    use pb::change_record::Payload;
    let changed = match (pb::ChangeKind::try_from(record.kind), &record.payload) {
        (Ok(pb::ChangeKind::Finding), payload) => {
            if !replication::accepts_finding(connection, &record.account_id, region, seq).await? {
                return Ok(Outcome::Ignored);
            }
            match payload {
                _ if delete => delete_finding(connection, record, version).await?,
                Some(Payload::Finding(finding)) => {
                    upsert_finding(connection, region, record, finding, seq, version).await?
                }
                _ => return Err(corrupt(record, "the payload does not match the kind")),
            }
        }
        (Ok(pb::ChangeKind::ControlStatus), payload) => {
            if !replication::accepts_state(connection, &record.account_id, region).await? {
                return Ok(Outcome::Ignored);
            }
            match payload {
                _ if delete => delete_status(connection, region, record, version).await?,
                Some(Payload::ControlStatus(status)) => {
                    upsert_status(connection, region, record, status, seq, version).await?
                }
                _ => return Err(corrupt(record, "the payload does not match the kind")),
            }
        }
        (Ok(pb::ChangeKind::Insight), payload) => {
            if !replication::accepts_state(connection, &record.account_id, region).await? {
                return Ok(Outcome::Ignored);
            }
            match payload {
                _ if delete => delete_insight(connection, region, record, version).await?,
                Some(Payload::Insight(insight)) => {
                    upsert_insight(connection, region, record, insight, seq, version).await?
                }
                _ => return Err(corrupt(record, "the payload does not match the kind")),
            }
        }
        _ => return Ok(Outcome::Ignored),
    };
    Ok(if changed {
        Outcome::Applied
    } else {
        Outcome::Stale
    })
}

/// The versions a finding record carries; a finding written before groups were versioned has
/// every group at the record's version.
fn incoming_versions(record: &pb::ChangeRecord, version: Version) -> Result<FieldVersions> {
    let versions =
        FieldVersions::from_proto(&record.finding_field_versions.clone().unwrap_or_default())
            .map_err(|problem| corrupt(record, &problem))?;
    Ok(if versions.is_empty() {
        FieldVersions::all_at(version)
    } else {
        versions
    })
}

async fn upsert_finding(
    connection: &impl ConnectionTrait,
    region: &str,
    record: &pb::ChangeRecord,
    finding: &pb::Finding,
    seq: i64,
    version: Version,
) -> Result<bool> {
    let incoming = VersionedFinding {
        finding: finding.clone(),
        versions: incoming_versions(record, version)?,
    };
    let copy = match load_copy(
        connection,
        &finding.aws_account_id,
        &finding.product_arn,
        &finding.id,
    )
    .await?
    {
        None => FindingCopy {
            versioned: incoming,
            region: region.to_string(),
            seq,
        },
        Some(mut stored) => {
            if merge(&mut stored.versioned, &incoming).is_empty() {
                return Ok(false);
            }
            stored.seq = Ord::max(stored.seq, seq);
            stored
        }
    };
    write_copy(connection, &copy).await?;
    Ok(true)
}

/// A finding deleted at its origin (retention) goes when the delete is newer than every group of
/// the copy.
async fn delete_finding(
    connection: &impl ConnectionTrait,
    record: &pb::ChangeRecord,
    version: Version,
) -> Result<bool> {
    let Some((product_arn, finding_id)) = record.key.split_once('|') else {
        return Err(corrupt(record, "a finding key is \"<product arn>|<id>\""));
    };
    let Some(stored) = load_copy(connection, &record.account_id, product_arn, finding_id).await?
    else {
        return Ok(false);
    };
    if stored
        .versioned
        .versions
        .newest()
        .is_some_and(|newest| newest >= version)
    {
        return Ok(false);
    }
    delete_copy(
        connection,
        &[
            record.account_id.clone(),
            product_arn.to_string(),
            finding_id.to_string(),
        ],
    )
    .await?;
    Ok(true)
}

/// An upsert that replaces the stored row only when the incoming version is higher.
fn newer_wins<T, C>(table: T, keys: &[C], columns: &[C]) -> OnConflict
where
    T: sea_orm::sea_query::IntoIden,
    C: sea_orm::sea_query::IntoIden + Copy,
{
    let mut on_conflict = OnConflict::columns(keys.iter().copied());
    on_conflict.update_columns(columns.iter().copied());
    on_conflict.action_and_where(
        Expr::col((table.into_iden(), Alias::new("version"))).lt(Expr::cust("excluded.version")),
    );
    on_conflict
}

fn status_name(status: i32) -> &'static str {
    match pb::ControlComplianceStatus::try_from(status) {
        Ok(pb::ControlComplianceStatus::Passed) => "PASSED",
        Ok(pb::ControlComplianceStatus::Failed) => "FAILED",
        Ok(pb::ControlComplianceStatus::Unknown) => "UNKNOWN",
        _ => "NO_DATA",
    }
}

async fn upsert_status(
    connection: &impl ConnectionTrait,
    region: &str,
    record: &pb::ChangeRecord,
    status: &pb::ControlStatusRecord,
    seq: i64,
    version: Version,
) -> Result<bool> {
    let enabled = serde_json::to_string(&status.enabled_standards_arns)
        .map_err(|error| Error::Corrupt(error.to_string()))?;
    let row = statuses::ActiveModel {
        account_id: Set(record.account_id.clone()),
        region: Set(region.to_string()),
        security_control_id: Set(status.security_control_id.clone()),
        status: Set(status_name(status.status).to_string()),
        enabled_standards: Set(enabled),
        seq: Set(seq),
        version: Set(version.encode()),
        updated_at_micros: Set(status.updated_at.as_ref().map_or(0, |at| {
            at.seconds
                .saturating_mul(1_000_000)
                .saturating_add(i64::from(at.nanos / 1000))
        })),
    };
    use statuses::Column as C;
    let affected = statuses::Entity::insert(row)
        .on_conflict(newer_wins(
            statuses::Entity,
            &[C::AccountId, C::Region, C::SecurityControlId],
            &[
                C::Status,
                C::EnabledStandards,
                C::Seq,
                C::Version,
                C::UpdatedAtMicros,
            ],
        ))
        .exec_without_returning(connection)
        .await?;
    Ok(affected > 0)
}

async fn delete_status(
    connection: &impl ConnectionTrait,
    region: &str,
    record: &pb::ChangeRecord,
    version: Version,
) -> Result<bool> {
    let deleted = statuses::Entity::delete_many()
        .filter(statuses::Column::AccountId.eq(&record.account_id))
        .filter(statuses::Column::Region.eq(region))
        .filter(statuses::Column::SecurityControlId.eq(&record.key))
        .filter(statuses::Column::Version.lt(version.encode()))
        .exec(connection)
        .await?;
    Ok(deleted.rows_affected > 0)
}

async fn upsert_insight(
    connection: &impl ConnectionTrait,
    region: &str,
    record: &pb::ChangeRecord,
    insight: &pb::Insight,
    seq: i64,
    version: Version,
) -> Result<bool> {
    let row = insights::ActiveModel {
        account_id: Set(record.account_id.clone()),
        region: Set(region.to_string()),
        insight_arn: Set(insight.insight_arn.clone()),
        seq: Set(seq),
        version: Set(version.encode()),
        insight: Set(insight.encode_to_vec()),
    };
    use insights::Column as C;
    let affected = insights::Entity::insert(row)
        .on_conflict(newer_wins(
            insights::Entity,
            &[C::AccountId, C::Region, C::InsightArn],
            &[C::Seq, C::Version, C::Insight],
        ))
        .exec_without_returning(connection)
        .await?;
    Ok(affected > 0)
}

async fn delete_insight(
    connection: &impl ConnectionTrait,
    region: &str,
    record: &pb::ChangeRecord,
    version: Version,
) -> Result<bool> {
    let deleted = insights::Entity::delete_many()
        .filter(insights::Column::AccountId.eq(&record.account_id))
        .filter(insights::Column::Region.eq(region))
        .filter(insights::Column::InsightArn.eq(&record.key))
        .filter(insights::Column::Version.lt(version.encode()))
        .exec(connection)
        .await?;
    Ok(deleted.rows_affected > 0)
}

fn corrupt(record: &pb::ChangeRecord, what: &str) -> Error {
    Error::Corrupt(format!(
        "change record {} ({:?} {:?}): {what}",
        record.seq, record.kind, record.key
    ))
}
