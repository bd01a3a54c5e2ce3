//! Snapshots: the current state of the selected accounts and kinds, read inside one transaction
//! together with the head it is consistent with, so Snapshot plus Subscribe from that head equals
//! the full state.

use sea_orm::{
    AccessMode, ColumnTrait, DatabaseBackend, DatabaseTransaction, EntityTrait, IsolationLevel,
    QueryFilter, QueryOrder, QuerySelect, TransactionTrait,
};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tributary_runtime::paging::{Direction, keyset_after};

use super::{
    BATCH_LIMIT, ChangeFilter, ChangeKind, ChangeLog, ChangeOp, ChangeRecord, Version, to_u64,
};
use crate::{
    error::{Error, Result},
    recorders,
    store::{configuration_items as items, configuration_recorders},
};

/// One batch of a snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotBatch {
    /// The sequence number the whole snapshot is consistent with.
    pub seq: u64,
    /// Upsert records of current state.
    pub records: Vec<ChangeRecord>,
}

impl ChangeLog {
    /// Streams the current state matching `filter` in batches, at least one; ends after the last
    /// batch, on `shutdown`, when the receiver is dropped, or after an error (the last item).
    pub fn snapshot(
        &self,
        filter: ChangeFilter,
        shutdown: CancellationToken,
    ) -> mpsc::Receiver<Result<SnapshotBatch>> {
        let (batches_tx, batches_rx) = mpsc::channel(4);
        let db = self.db.clone();
        tokio::spawn(async move {
            let run = async {
                let transaction = match db.get_database_backend() {
                    // READ COMMITTED would give every statement its own snapshot.
                    DatabaseBackend::Postgres => {
                        db.begin_with_config(
                            Some(IsolationLevel::RepeatableRead),
                            Some(AccessMode::ReadOnly),
                        )
                        .await?
                    }
                    // An SQLite read transaction in WAL mode sees one snapshot from its first read.
                    _ => db.begin().await?,
                };
                stream_state(&transaction, &filter, &batches_tx).await?;
                transaction.commit().await?;
                Ok::<(), Error>(())
            };
            tokio::select! {
                _ = shutdown.cancelled() => {}
                result = run => {
                    if let Err(error) = result {
                        let _ = batches_tx.send(Err(error)).await;
                    }
                }
            }
        });
        batches_rx
    }
}

/// Sends every batch; a dropped receiver ends the snapshot quietly.
async fn stream_state(
    transaction: &DatabaseTransaction,
    filter: &ChangeFilter,
    batches_tx: &mpsc::Sender<Result<SnapshotBatch>>,
) -> Result<()> {
    let head = super::read_head(transaction).await?;
    let mut pending: Vec<ChangeRecord> = Vec::new();
    let mut sent_any = false;
    let limit = usize::try_from(BATCH_LIMIT).unwrap_or(500);

    if filter.wants_kind(ChangeKind::ConfigurationRecorder) {
        let mut query = configuration_recorders::Entity::find()
            .order_by_asc(configuration_recorders::Column::AccountId);
        if !filter.account_ids.is_empty() {
            query = query.filter(
                configuration_recorders::Column::AccountId.is_in(filter.account_ids.clone()),
            );
        }
        for row in query.all(transaction).await? {
            pending.push(ChangeRecord {
                seq: to_u64(row.seq),
                kind: ChangeKind::ConfigurationRecorder,
                key: row.name.clone(),
                version: decode_version(&row.version)?,
                op: ChangeOp::Upsert,
                payload: recorders::state_payload(&row)?,
                committed_at: None,
                account_id: row.account_id,
            });
        }
    }

    if !flush_full(batches_tx, head.seq, &mut pending, limit, &mut sent_any).await {
        return Ok(());
    }

    if filter.wants_kind(ChangeKind::ConfigurationItem) {
        let mut after: Option<(String, String, String)> = None;
        loop {
            let mut query = items::Entity::find()
                .filter(items::Column::Deleted.eq(false))
                .order_by_asc(items::Column::AccountId)
                .order_by_asc(items::Column::ResourceType)
                .order_by_asc(items::Column::ResourceId)
                .limit(BATCH_LIMIT);
            if !filter.account_ids.is_empty() {
                query = query.filter(items::Column::AccountId.is_in(filter.account_ids.clone()));
            }
            if let Some((account_id, resource_type, resource_id)) = &after {
                query = query.filter(keyset_after(vec![
                    (
                        items::Column::AccountId,
                        account_id.as_str().into(),
                        Direction::Ascending,
                    ),
                    (
                        items::Column::ResourceType,
                        resource_type.as_str().into(),
                        Direction::Ascending,
                    ),
                    (
                        items::Column::ResourceId,
                        resource_id.as_str().into(),
                        Direction::Ascending,
                    ),
                ]));
            }
            let rows = query.all(transaction).await?;
            let Some(last) = rows.last() else { break };
            after = Some((
                last.account_id.clone(),
                last.resource_type.clone(),
                last.resource_id.clone(),
            ));
            for row in rows {
                pending.push(ChangeRecord {
                    seq: to_u64(row.state_id),
                    kind: ChangeKind::ConfigurationItem,
                    key: crate::config_items::item_key(&row.resource_type, &row.resource_id),
                    version: decode_version(&row.version)?,
                    op: ChangeOp::Upsert,
                    payload: row.item,
                    committed_at: None,
                    account_id: row.account_id,
                });
                if !flush_full(batches_tx, head.seq, &mut pending, limit, &mut sent_any).await {
                    return Ok(());
                }
            }
        }
    }

    for kind in [
        ChangeKind::ConfigRule,
        ChangeKind::Evaluation,
        ChangeKind::ConformancePack,
    ] {
        if !filter.wants_kind(kind) {
            continue;
        }
        let mut after = None;
        loop {
            let (records, next) = crate::compliance::snapshot_page(
                transaction,
                kind,
                &filter.account_ids,
                after,
                BATCH_LIMIT,
            )
            .await?;
            pending.extend(records);
            if !flush_full(batches_tx, head.seq, &mut pending, limit, &mut sent_any).await {
                return Ok(());
            }
            match next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
    }

    if filter.wants_kind(ChangeKind::Finding) {
        let mut after = None;
        loop {
            let (records, next) = crate::findings::snapshot_page(
                transaction,
                &filter.account_ids,
                after,
                BATCH_LIMIT,
            )
            .await?;
            pending.extend(records);
            if !flush_full(batches_tx, head.seq, &mut pending, limit, &mut sent_any).await {
                return Ok(());
            }
            match next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
    }

    // Control statuses and custom insights page alike, by (account, key).
    for kind in [ChangeKind::ControlStatus, ChangeKind::Insight] {
        if !filter.wants_kind(kind) {
            continue;
        }
        let mut after = None;
        loop {
            let (records, next) = if kind == ChangeKind::ControlStatus {
                crate::controls::snapshot_page(transaction, &filter.account_ids, after, BATCH_LIMIT)
                    .await?
            } else {
                crate::insights::snapshot_page(transaction, &filter.account_ids, after, BATCH_LIMIT)
                    .await?
            };
            pending.extend(records);
            if !flush_full(batches_tx, head.seq, &mut pending, limit, &mut sent_any).await {
                return Ok(());
            }
            match next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
    }

    if !pending.is_empty() || !sent_any {
        send(batches_tx, head.seq, pending).await;
    }
    Ok(())
}

/// Sends full batches from the front of `pending`; false when the receiver is gone.
async fn flush_full(
    batches_tx: &mpsc::Sender<Result<SnapshotBatch>>,
    seq: u64,
    pending: &mut Vec<ChangeRecord>,
    limit: usize,
    sent_any: &mut bool,
) -> bool {
    while pending.len() >= limit {
        let rest = pending.split_off(limit);
        let records = std::mem::replace(pending, rest);
        if !send(batches_tx, seq, records).await {
            return false;
        }
        *sent_any = true;
    }
    true
}

async fn send(
    batches_tx: &mpsc::Sender<Result<SnapshotBatch>>,
    seq: u64,
    records: Vec<ChangeRecord>,
) -> bool {
    batches_tx
        .send(Ok(SnapshotBatch { seq, records }))
        .await
        .is_ok()
}

fn decode_version(stored: &str) -> Result<Version> {
    Version::decode(stored).ok_or_else(|| Error::Corrupt(format!("bad version {stored:?}")))
}
