//! Finding retention (spec §4.1): active findings are deleted a while after this collector last
//! wrote them (90 days by default), archived ones sooner (30 days). A background task deletes
//! expired findings in batches, each with its DELETE change records, its filter index and its
//! history, in one transaction.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::{finding_key, history, record_state_name};
use crate::{
    change_log::{ChangeKind, ChangeLog, ChangeOp},
    error::Result,
    store::findings as table,
};

/// Findings deleted per transaction, so the log's head row is never held for long.
const BATCH: u64 = 500;

/// How long findings are kept after their last write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetentionPolicy {
    /// For ACTIVE findings.
    pub active: Duration,
    /// For ARCHIVED findings.
    pub archived: Duration,
}

impl RetentionPolicy {
    /// The last-write time (microseconds) before which a finding in `state` expires at `now`.
    fn cutoff_micros(&self, now: DateTime<Utc>, archived: bool) -> i64 {
        let kept = if archived { self.archived } else { self.active };
        let kept = chrono::Duration::from_std(kept).unwrap_or(chrono::Duration::MAX);
        now.checked_sub_signed(kept)
            .map_or(i64::MIN, |cutoff| cutoff.timestamp_micros())
    }

    /// Which rows have expired at `now`.
    fn expired(&self, now: DateTime<Utc>) -> Condition {
        let state = |archived: bool| {
            let name = record_state_name(if archived {
                tributary_proto::collector::v1::RecordState::Archived as i32
            } else {
                tributary_proto::collector::v1::RecordState::Active as i32
            });
            Condition::all()
                .add(table::Column::RecordState.eq(name))
                .add(table::Column::WrittenAtMicros.lt(self.cutoff_micros(now, archived)))
        };
        Condition::any().add(state(false)).add(state(true))
    }
}

/// Deletes every finding expired at `now`, in batches; returns how many were deleted.
pub async fn expire(
    change_log: &ChangeLog,
    policy: RetentionPolicy,
    now: DateTime<Utc>,
) -> Result<u64> {
    let mut deleted = 0;
    loop {
        let mut change_tx = change_log.begin().await?;
        let rows: Vec<(String, String, String)> = table::Entity::find()
            .select_only()
            .column(table::Column::AccountId)
            .column(table::Column::ProductArn)
            .column(table::Column::FindingId)
            .filter(policy.expired(now))
            .order_by_asc(table::Column::WrittenAtMicros)
            .limit(BATCH)
            .into_tuple()
            .all(change_tx.tx())
            .await?;
        let count = u64::try_from(rows.len()).unwrap_or(u64::MAX);
        for (account_id, product_arn, finding_id) in rows {
            // The filter index (and the statuses of controls the finding counts for) goes first.
            super::query::unindex_finding(
                &mut change_tx,
                &[account_id.clone(), product_arn.clone(), finding_id.clone()],
            )
            .await?;
            table::Entity::delete_by_id((
                account_id.clone(),
                product_arn.clone(),
                finding_id.clone(),
            ))
            .exec(change_tx.tx())
            .await?;
            history::forget(change_tx.tx(), &account_id, &product_arn, &finding_id).await?;
            change_tx.append(
                &account_id,
                ChangeKind::Finding,
                finding_key(&product_arn, &finding_id),
                ChangeOp::Delete,
                |_| Vec::new(),
            );
        }
        change_tx.commit().await?;
        deleted += count;
        if count < BATCH {
            return Ok(deleted);
        }
    }
}

/// Runs [`expire`] every `interval` until `shutdown` is cancelled; a failed run is logged and
/// retried at the next interval.
pub fn spawn_retention(
    change_log: ChangeLog,
    policy: RetentionPolicy,
    interval: Duration,
    shutdown: CancellationToken,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = ticks.tick() => {}
            }
            let run = expire(&change_log, policy, tributary_runtime::time::now());
            tokio::select! {
                _ = shutdown.cancelled() => return,
                outcome = run => match outcome {
                    Ok(0) => {}
                    Ok(deleted) => tracing::info!(deleted, "expired findings deleted"),
                    Err(error) => tracing::warn!(error = %error, "finding retention failed"),
                },
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn archived_findings_expire_sooner_than_active_ones() {
        let policy = RetentionPolicy {
            active: Duration::from_secs(90 * 86_400),
            archived: Duration::from_secs(30 * 86_400),
        };
        let now = DateTime::from_timestamp(100 * 86_400, 0).unwrap_or_default();
        assert_eq!(
            policy.cutoff_micros(now, false),
            10 * 86_400 * 1_000_000,
            "active: 90 days before now"
        );
        assert_eq!(policy.cutoff_micros(now, true), 70 * 86_400 * 1_000_000);
        let forever = RetentionPolicy {
            active: Duration::MAX,
            archived: Duration::MAX,
        };
        assert_eq!(
            forever.cutoff_micros(now, false),
            i64::MIN,
            "nothing expires"
        );
    }
}
