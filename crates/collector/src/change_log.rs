//! The regional change log: every collector write appends change records in the same transaction,
//! and readers follow the log by sequence number.
//!
//! A write transaction takes the head row first (`UPDATE change_log_head SET seq = seq`), which
//! serialises writers on both SQLite and PostgreSQL. The transaction assigns the next sequence
//! numbers, writes its records, stores the new head and commits while still holding the row, so no
//! sequence number can become visible before every lower one has committed: a reader that has seen
//! N never receives a record at or below N later. After a commit the in-process head (a `watch`
//! channel) is bumped, which wakes followers without polling.

mod compaction;
mod snapshot;
mod version;

use std::{sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseConnection,
    DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Statement,
    TransactionTrait,
};
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;
use tributary_proto::collector::v1 as pb;
use tributary_runtime::db::{SerialCounter, advance_head};

use crate::{
    error::{Error, Result, reason},
    store::change_log as table,
};

pub use compaction::{Compaction, spawn_compaction};
pub use snapshot::SnapshotBatch;
pub use version::{Clock, Version};

/// How many records one read (one Subscribe or Snapshot batch) carries at most.
pub const BATCH_LIMIT: u64 = 500;
/// How often a follower re-reads the log without a local commit, so changes committed by another
/// collector replica on the same database still arrive.
const FOLLOW_RECHECK: Duration = Duration::from_secs(1);

/// What a change record is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ChangeKind {
    /// A resource's current configuration item; key `<resource type>|<resource id>`.
    ConfigurationItem,
    /// An account's configuration recorder; key is the recorder name.
    ConfigurationRecorder,
    /// An account's Config rule; key is the rule name.
    ConfigRule,
    /// One evaluation result; key `<config rule id>|<resource type>|<resource id>`.
    Evaluation,
    /// An account's conformance pack; key is the pack name.
    ConformancePack,
    /// A Security Hub finding; key `<product arn>|<finding id>`.
    Finding,
    /// How findings rate a security control of an account; key is the security control id.
    ControlStatus,
    /// A custom Security Hub insight; key is its ARN.
    Insight,
}

impl ChangeKind {
    /// Every kind.
    pub const ALL: [ChangeKind; 8] = [
        ChangeKind::ConfigurationItem,
        ChangeKind::ConfigurationRecorder,
        ChangeKind::ConfigRule,
        ChangeKind::Evaluation,
        ChangeKind::ConformancePack,
        ChangeKind::Finding,
        ChangeKind::ControlStatus,
        ChangeKind::Insight,
    ];

    /// The name stored in the log.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::ConfigurationItem => "configuration_item",
            ChangeKind::ConfigurationRecorder => "configuration_recorder",
            ChangeKind::ConfigRule => "config_rule",
            ChangeKind::Evaluation => "evaluation",
            ChangeKind::ConformancePack => "conformance_pack",
            ChangeKind::Finding => "finding",
            ChangeKind::ControlStatus => "control_status",
            ChangeKind::Insight => "insight",
        }
    }

    /// Reads a stored name.
    pub fn parse(stored: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == stored)
    }
}

/// What a change did to its key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeOp {
    /// The key now has the record's payload.
    Upsert,
    /// The key no longer exists.
    Delete,
}

impl ChangeOp {
    /// The name stored in the log.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeOp::Upsert => "upsert",
            ChangeOp::Delete => "delete",
        }
    }

    fn parse(stored: &str) -> Option<Self> {
        match stored {
            "upsert" => Some(ChangeOp::Upsert),
            "delete" => Some(ChangeOp::Delete),
            _ => None,
        }
    }
}

/// One change of one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeRecord {
    /// Position in the region's log.
    pub seq: u64,
    /// The account the change belongs to.
    pub account_id: String,
    /// What the change is about.
    pub kind: ChangeKind,
    /// The key within its kind.
    pub key: String,
    /// The write's version.
    pub version: Version,
    /// What the change did.
    pub op: ChangeOp,
    /// The protobuf encoding of the key's state after the change; empty for deletes.
    pub payload: Vec<u8>,
    /// When the change committed; unknown for Snapshot records.
    pub committed_at: Option<DateTime<Utc>>,
}

impl TryFrom<table::Model> for ChangeRecord {
    type Error = Error;

    fn try_from(row: table::Model) -> Result<Self> {
        Ok(Self {
            seq: to_u64(row.seq),
            kind: ChangeKind::parse(&row.kind)
                .ok_or_else(|| Error::Corrupt(format!("unknown change kind {:?}", row.kind)))?,
            op: ChangeOp::parse(&row.op)
                .ok_or_else(|| Error::Corrupt(format!("unknown change op {:?}", row.op)))?,
            version: Version::decode(&row.version)
                .ok_or_else(|| Error::Corrupt(format!("bad version {:?}", row.version)))?,
            account_id: row.account_id,
            key: row.key,
            payload: row.payload,
            committed_at: Some(row.committed_at),
        })
    }
}

/// Which records a reader wants: empty lists mean "all".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChangeFilter {
    /// Only these accounts.
    pub account_ids: Vec<String>,
    /// Only these kinds.
    pub kinds: Vec<ChangeKind>,
}

/// At most this many accounts in one stream's filter.
pub const MAX_FILTER_ACCOUNTS: usize = 1000;

impl ChangeFilter {
    /// Validates a stream request's filter (`ValidationException`).
    pub fn from_wire(account_ids: Vec<String>, kinds: &[i32]) -> Result<Self> {
        let mut violations = tributary_runtime::Violations::new();
        if account_ids.len() > MAX_FILTER_ACCOUNTS {
            violations.add(
                "account_ids",
                format!("must hold at most {MAX_FILTER_ACCOUNTS} accounts"),
            );
        }
        for (index, account_id) in account_ids.iter().enumerate() {
            violations.check(
                format!("account_ids[{index}]"),
                tributary_runtime::ids::validate_account_id(account_id),
            );
        }
        let mut parsed = Vec::with_capacity(kinds.len());
        for (index, kind) in kinds.iter().enumerate() {
            match pb::ChangeKind::try_from(*kind) {
                Ok(pb::ChangeKind::ConfigurationItem) => parsed.push(ChangeKind::ConfigurationItem),
                Ok(pb::ChangeKind::ConfigurationRecorder) => {
                    parsed.push(ChangeKind::ConfigurationRecorder);
                }
                Ok(pb::ChangeKind::ConfigRule) => parsed.push(ChangeKind::ConfigRule),
                Ok(pb::ChangeKind::Evaluation) => parsed.push(ChangeKind::Evaluation),
                Ok(pb::ChangeKind::ConformancePack) => parsed.push(ChangeKind::ConformancePack),
                Ok(pb::ChangeKind::Finding) => parsed.push(ChangeKind::Finding),
                Ok(pb::ChangeKind::ControlStatus) => parsed.push(ChangeKind::ControlStatus),
                Ok(pb::ChangeKind::Insight) => parsed.push(ChangeKind::Insight),
                _ => violations.add(
                    format!("kinds[{index}]"),
                    "must be CONFIGURATION_ITEM, CONFIGURATION_RECORDER, CONFIG_RULE, EVALUATION, \
                     CONFORMANCE_PACK, FINDING, CONTROL_STATUS or INSIGHT",
                ),
            }
        }
        violations.finish_with(reason::VALIDATION)?;
        let mut account_ids = account_ids;
        account_ids.sort();
        account_ids.dedup();
        parsed.sort();
        parsed.dedup();
        Ok(Self {
            account_ids,
            kinds: parsed,
        })
    }

    /// True when `kind` is selected.
    pub fn wants_kind(&self, kind: ChangeKind) -> bool {
        self.kinds.is_empty() || self.kinds.contains(&kind)
    }
}

/// One read of the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeBatch {
    /// Matching records in sequence order.
    pub records: Vec<ChangeRecord>,
    /// Every matching record up to here has been read.
    pub through_seq: u64,
}

/// The stored head of the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head {
    /// The highest committed sequence number.
    pub seq: u64,
    /// Cursors below it may have missed compacted records.
    pub horizon: u64,
}

/// The assignment of one appended record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    /// Its sequence number.
    pub seq: u64,
    /// Its version.
    pub version: Version,
}

/// Starts write transactions that append to the log, reads the log, and tells followers about
/// commits.
#[derive(Clone)]
pub struct ChangeLog {
    db: DatabaseConnection,
    head_tx: watch::Sender<u64>,
    clock: Arc<Clock>,
}

impl ChangeLog {
    /// The change log in `db`; reads the current head.
    pub async fn open(db: DatabaseConnection) -> Result<Self> {
        let head = read_head(&db).await?;
        let (head_tx, _) = watch::channel(head.seq);
        Ok(Self {
            db,
            head_tx,
            clock: Arc::new(Clock::new()),
        })
    }

    /// The database.
    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    /// Begins a write transaction holding the head row, so writers are serialised.
    pub async fn begin(&self) -> Result<ChangeTx> {
        let transaction = self.db.begin().await?;
        let seq = HEAD.lock(&transaction).await?;
        Ok(ChangeTx {
            transaction,
            seq,
            rows: Vec::new(),
            committed_at: tributary_runtime::time::now(),
            head_tx: self.head_tx.clone(),
            clock: self.clock.clone(),
        })
    }

    /// A receiver that sees the head after every local commit.
    pub fn subscribe_head(&self) -> watch::Receiver<u64> {
        self.head_tx.subscribe()
    }

    /// The stored head and compaction horizon.
    pub async fn head(&self) -> Result<Head> {
        read_head(&self.db).await
    }

    /// Fails with `CursorExpiredException` when `from` is below the compaction horizon.
    pub async fn check_cursor(&self, from: u64) -> Result<()> {
        let head = read_head(&self.db).await?;
        if from < head.horizon {
            return Err(cursor_expired(from, head.horizon));
        }
        Ok(())
    }

    /// Reads at most `limit` records above `after` that match `filter`, in sequence order. Fails
    /// with `CursorExpiredException` when `after` is below the compaction horizon.
    pub async fn read(&self, after: u64, limit: u64, filter: &ChangeFilter) -> Result<ChangeBatch> {
        // The head is read before the records: every record at or below it has committed and is
        // visible to the following query, so an empty or short page covers up to the head.
        let head = read_head(&self.db).await?;
        if after < head.horizon {
            return Err(cursor_expired(after, head.horizon));
        }
        let mut query = table::Entity::find()
            .filter(table::Column::Seq.gt(to_i64(after)))
            .order_by_asc(table::Column::Seq)
            .limit(limit);
        if !filter.account_ids.is_empty() {
            query = query.filter(table::Column::AccountId.is_in(filter.account_ids.clone()));
        }
        if !filter.kinds.is_empty() {
            query = query
                .filter(table::Column::Kind.is_in(filter.kinds.iter().map(|kind| kind.as_str())));
        }
        let rows = query.all(&self.db).await?;
        let full = u64::try_from(rows.len()).unwrap_or(u64::MAX) >= limit;
        let records = rows
            .into_iter()
            .map(ChangeRecord::try_from)
            .collect::<Result<Vec<_>>>()?;
        let last = records.last().map_or(after, |record| record.seq);
        let through_seq = if full {
            last
        } else {
            last.max(head.seq).max(after)
        };
        Ok(ChangeBatch {
            records,
            through_seq,
        })
    }

    /// Streams batches of matching records above `from`: first everything already committed, then
    /// new commits as they happen, until `shutdown` is cancelled, the receiver is dropped or a read
    /// fails (the error is the last item).
    pub fn follow(
        &self,
        from: u64,
        filter: ChangeFilter,
        shutdown: CancellationToken,
    ) -> mpsc::Receiver<Result<ChangeBatch>> {
        let (batches_tx, batches_rx) = mpsc::channel(4);
        let change_log = self.clone();
        tokio::spawn(async move {
            let mut head_rx = change_log.subscribe_head();
            let mut cursor = from;
            loop {
                loop {
                    let batch = tokio::select! {
                        _ = shutdown.cancelled() => return,
                        batch = change_log.read(cursor, BATCH_LIMIT, &filter) => batch,
                    };
                    let batch = match batch {
                        Ok(batch) => batch,
                        Err(error) => {
                            let _ = batches_tx.send(Err(error)).await;
                            return;
                        }
                    };
                    let caught_up = batch.records.is_empty();
                    cursor = batch.through_seq;
                    if caught_up {
                        break;
                    }
                    if batches_tx.send(Ok(batch)).await.is_err() {
                        return;
                    }
                }
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = batches_tx.closed() => return,
                    _ = tokio::time::timeout(FOLLOW_RECHECK, head_rx.wait_for(|head| *head > cursor)) => {}
                }
            }
        });
        batches_rx
    }
}

/// The head row every change-log write locks first.
const HEAD: SerialCounter = SerialCounter::new("change_log_head", "seq");

/// A write transaction that appends change records.
pub struct ChangeTx {
    transaction: DatabaseTransaction,
    seq: u64,
    rows: Vec<table::ActiveModel>,
    committed_at: DateTime<Utc>,
    head_tx: watch::Sender<u64>,
    clock: Arc<Clock>,
}

impl ChangeTx {
    /// The transaction to write through.
    pub fn tx(&self) -> &DatabaseTransaction {
        &self.transaction
    }

    /// The commit time recorded on this transaction's changes.
    pub fn now(&self) -> DateTime<Utc> {
        self.committed_at
    }

    /// Takes in a version written elsewhere (a replicated update, or a stored one that may come
    /// from a clock ahead of this one): this transaction's later records, and every later
    /// write's, get higher versions.
    pub fn observe(&self, seen: Version) {
        self.clock.observe(seen);
    }

    /// Appends a change record whose payload `payload` builds from the record's stamp (a
    /// configuration item carries its sequence number as state id); it becomes visible when the
    /// transaction commits.
    pub fn append(
        &mut self,
        account_id: &str,
        kind: ChangeKind,
        key: String,
        op: ChangeOp,
        payload: impl FnOnce(Stamp) -> Vec<u8>,
    ) -> Stamp {
        self.seq += 1;
        let version = self.clock.tick();
        let stamp = Stamp {
            seq: self.seq,
            version,
        };
        let payload = payload(stamp);
        self.rows.push(table::ActiveModel {
            seq: Set(to_i64(self.seq)),
            account_id: Set(account_id.to_string()),
            kind: Set(kind.as_str().to_string()),
            key: Set(key),
            version: Set(version.encode()),
            op: Set(op.as_str().to_string()),
            payload: Set(payload),
            committed_at: Set(self.committed_at),
        });
        stamp
    }

    /// Writes the records, advances the head, commits, and wakes followers. Returns the head that
    /// includes this transaction's changes.
    pub async fn commit(self) -> Result<u64> {
        let ChangeTx {
            transaction,
            seq,
            rows,
            head_tx,
            ..
        } = self;
        let appended = !rows.is_empty();
        if appended {
            table::Entity::insert_many(rows).exec(&transaction).await?;
            HEAD.store(&transaction, seq).await?;
        }
        transaction.commit().await?;
        if appended {
            advance_head(&head_tx, seq);
        }
        Ok(seq)
    }
}

/// Reads the head row through any connection or transaction.
async fn read_head(connection: &impl ConnectionTrait) -> Result<Head> {
    let row = connection
        .query_one_raw(Statement::from_string(
            connection.get_database_backend(),
            "SELECT seq, horizon FROM change_log_head WHERE id = 1",
        ))
        .await?
        .ok_or_else(|| Error::Corrupt("the change_log_head row is missing".into()))?;
    let seq: i64 = row.try_get("", "seq")?;
    let horizon: i64 = row.try_get("", "horizon")?;
    Ok(Head {
        seq: to_u64(seq),
        horizon: to_u64(horizon),
    })
}

fn cursor_expired(from: u64, horizon: u64) -> Error {
    Error::failed_precondition(
        reason::CURSOR_EXPIRED,
        format!(
            "from_seq {from} is below the compaction horizon {horizon}: records after it were \
             compacted away; take a Snapshot and subscribe from its seq"
        ),
    )
}

impl ChangeLog {
    /// Publishes the head as the Prometheus gauge `tributary_change_log_head_seq{region}`: now,
    /// then after every commit through this log, until `stop` is cancelled.
    pub fn spawn_head_gauge(
        &self,
        region: String,
        stop: CancellationToken,
    ) -> tokio::task::JoinHandle<()> {
        let mut head = self.subscribe_head();
        tokio::spawn(async move {
            let gauge = metrics::gauge!("tributary_change_log_head_seq", "region" => region);
            loop {
                gauge.set(*head.borrow_and_update() as f64);
                tokio::select! {
                    _ = stop.cancelled() => return,
                    changed = head.changed() => if changed.is_err() { return },
                }
            }
        })
    }
}

/// Rewrites `?` placeholders as `$1, $2, ...` for PostgreSQL.
pub(crate) fn placeholders(backend: DatabaseBackend, sql: &str) -> String {
    match backend {
        DatabaseBackend::Postgres => {
            let mut rewritten = String::with_capacity(sql.len() + 8);
            let mut index = 0;
            for character in sql.chars() {
                if character == '?' {
                    index += 1;
                    rewritten.push('$');
                    rewritten.push_str(&index.to_string());
                } else {
                    rewritten.push(character);
                }
            }
            rewritten
        }
        _ => sql.to_string(),
    }
}

/// Stored sequence numbers are non-negative `BIGINT`s.
pub(crate) fn to_u64(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

/// Sequence numbers stay far below `i64::MAX`; saturate rather than wrap if one ever did not.
pub(crate) fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_ops_round_trip_their_stored_names() {
        for kind in ChangeKind::ALL {
            assert_eq!(ChangeKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(ChangeKind::parse("unknown"), None);
        for op in [ChangeOp::Upsert, ChangeOp::Delete] {
            assert_eq!(ChangeOp::parse(op.as_str()), Some(op));
        }
    }

    #[test]
    fn placeholders_are_numbered_for_postgres_only() {
        assert_eq!(
            placeholders(DatabaseBackend::Postgres, "a = ? AND b = ?"),
            "a = $1 AND b = $2"
        );
        assert_eq!(
            placeholders(DatabaseBackend::Sqlite, "a = ? AND b = ?"),
            "a = ? AND b = ?"
        );
    }
}
