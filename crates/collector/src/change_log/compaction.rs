//! Compaction: records committed longer ago than the retention are deleted when a newer record for
//! the same key exists, and the horizon rises to the highest deleted sequence number, so a reader
//! whose cursor is below it learns that it may have missed records (`CursorExpiredException`).

use std::time::Duration;

use sea_orm::{ConnectionTrait, Statement};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::{ChangeLog, placeholders, to_i64, to_u64};
use crate::error::Result;

/// The outcome of one compaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Compaction {
    /// How many records were deleted.
    pub deleted: u64,
    /// The compaction horizon afterwards.
    pub horizon: u64,
}

/// Records older than the cutoff that a newer record of the same key supersedes.
const SUPERSEDED: &str = "committed_at < ? AND EXISTS (SELECT 1 FROM change_log AS newer \
     WHERE newer.account_id = change_log.account_id AND newer.kind = change_log.kind \
     AND newer.key = change_log.key AND newer.seq > change_log.seq)";

impl ChangeLog {
    /// Deletes superseded records committed more than `retention` ago and raises the horizon.
    /// Runs under the head row like a write, so it never races an append.
    pub async fn compact(&self, retention: Duration) -> Result<Compaction> {
        let change_tx = self.begin().await?;
        let transaction = change_tx.tx();
        let backend = transaction.get_database_backend();
        let cutoff = change_tx.now()
            - chrono::Duration::from_std(retention).unwrap_or(chrono::Duration::MAX);
        let highest: Option<i64> = transaction
            .query_one_raw(Statement::from_sql_and_values(
                backend,
                placeholders(
                    backend,
                    &format!("SELECT MAX(seq) AS highest FROM change_log WHERE {SUPERSEDED}"),
                ),
                [cutoff.into()],
            ))
            .await?
            .map(|row| row.try_get("", "highest"))
            .transpose()?
            .flatten();
        let head = super::read_head(transaction).await?;
        let Some(highest) = highest else {
            change_tx.commit().await?;
            return Ok(Compaction {
                deleted: 0,
                horizon: head.horizon,
            });
        };
        let deleted = transaction
            .execute_raw(Statement::from_sql_and_values(
                backend,
                placeholders(
                    backend,
                    &format!("DELETE FROM change_log WHERE seq <= ? AND {SUPERSEDED}"),
                ),
                [highest.into(), cutoff.into()],
            ))
            .await?
            .rows_affected();
        let horizon = head.horizon.max(to_u64(highest));
        transaction
            .execute_raw(Statement::from_sql_and_values(
                backend,
                placeholders(
                    backend,
                    "UPDATE change_log_head SET horizon = ? WHERE id = 1",
                ),
                [to_i64(horizon).into()],
            ))
            .await?;
        change_tx.commit().await?;
        tracing::info!(deleted, horizon, "compacted the change log");
        Ok(Compaction { deleted, horizon })
    }
}

/// Compacts `change_log` every `interval` until `shutdown` is cancelled.
pub fn spawn_compaction(
    change_log: ChangeLog,
    retention: Duration,
    interval: Duration,
    shutdown: CancellationToken,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // The first tick fires at once; compaction waits one interval after start-up.
        ticks.tick().await;
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = ticks.tick() => {}
            }
            if let Err(error) = change_log.compact(retention).await {
                tracing::warn!(error = %error, "change log compaction failed");
            }
        }
    })
}
