//! The membership change log behind `Watch`: every mutation records events in the same
//! transaction, each with a revision that is strictly increasing and gap-free.
//!
//! A write transaction takes the revision counter row first (`UPDATE ... SET revision =
//! revision`), which serialises writers on both SQLite and PostgreSQL. Holding that lock until
//! commit means no revision can become visible before every lower one has committed, so a watcher
//! that read up to revision N never misses a change later.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseConnection, DatabaseTransaction, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, TransactionTrait,
};
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;
use tributary_runtime::db::{SerialCounter, advance_head};

use crate::{error::Result, store::events as table};

/// One recorded change.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Event {
    /// Assigned at record time.
    pub revision: u64,
    /// What changed, e.g. `account.created`.
    pub kind: &'static str,
    /// The account concerned, if any.
    pub account_id: Option<String>,
    /// The region concerned, if any.
    pub region: Option<String>,
    /// The organization concerned, if any.
    pub organization_id: Option<String>,
    /// The other party, if any.
    pub related_account_id: Option<String>,
    /// Commit time.
    pub recorded_at: DateTime<Utc>,
}

impl Event {
    /// An event of `kind` about nothing in particular; chain the `with_*` setters.
    pub fn new(kind: &'static str) -> Self {
        Self {
            kind,
            ..Self::default()
        }
    }

    /// Names the account concerned.
    pub fn account(mut self, account_id: impl Into<String>) -> Self {
        self.account_id = Some(account_id.into());
        self
    }

    /// Names the region concerned.
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }

    /// Names the organization concerned.
    pub fn organization(mut self, organization_id: impl Into<String>) -> Self {
        self.organization_id = Some(organization_id.into());
        self
    }

    /// Names the other party.
    pub fn related(mut self, account_id: impl Into<String>) -> Self {
        self.related_account_id = Some(account_id.into());
        self
    }
}

/// The revision counter row every membership write locks first.
const REVISION: SerialCounter = SerialCounter::new("membership_revision", "revision");

/// Starts write transactions and tells watchers about commits.
#[derive(Clone)]
pub struct Changes {
    db: DatabaseConnection,
    head_tx: watch::Sender<u64>,
}

impl Changes {
    /// The change log in `db`; reads the current head.
    pub async fn new(db: DatabaseConnection) -> Result<Self> {
        let head = head(&db).await?;
        let (head_tx, _) = watch::channel(head);
        Ok(Self { db, head_tx })
    }

    /// The database.
    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    /// Begins a write transaction holding the revision counter, so writers are serialised.
    pub async fn begin(&self) -> Result<ChangeTx> {
        let transaction = self.db.begin().await?;
        let current = REVISION.lock(&transaction).await?;
        Ok(ChangeTx {
            transaction,
            revision: current,
            events: Vec::new(),
            head_tx: self.head_tx.clone(),
        })
    }

    /// A receiver that sees the head revision after every commit.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.head_tx.subscribe()
    }

    /// The highest committed revision.
    pub fn head(&self) -> u64 {
        *self.head_tx.borrow()
    }

    /// Events with a revision above `after`, at most `limit`, in order.
    pub async fn read(&self, after: u64, limit: u64) -> Result<Vec<Event>> {
        let rows = table::Entity::find()
            .filter(table::Column::Revision.gt(i64::try_from(after).unwrap_or(i64::MAX)))
            .order_by_asc(table::Column::Revision)
            .limit(limit)
            .all(&self.db)
            .await?;
        Ok(rows.into_iter().map(Event::from).collect())
    }
}

/// How many events one `Watch` batch carries at most.
const FOLLOW_BATCH: u64 = 500;
/// How often a follower re-reads the log without a local commit, so changes committed by another
/// membership replica on the same database still arrive.
const FOLLOW_RECHECK: Duration = Duration::from_secs(1);

impl Changes {
    /// Streams batches of events above `from` in order: first everything already committed, then
    /// new commits as they happen, until `shutdown` is cancelled or the receiver is dropped.
    pub fn follow(
        &self,
        from: u64,
        shutdown: CancellationToken,
    ) -> mpsc::Receiver<Result<Vec<Event>>> {
        let (batches_tx, batches_rx) = mpsc::channel(4);
        let changes = self.clone();
        tokio::spawn(async move {
            let mut head_rx = changes.subscribe();
            let mut cursor = from;
            loop {
                loop {
                    let batch = match changes.read(cursor, FOLLOW_BATCH).await {
                        Ok(batch) => batch,
                        Err(error) => {
                            let _ = batches_tx.send(Err(error)).await;
                            return;
                        }
                    };
                    let Some(last) = batch.last() else { break };
                    cursor = last.revision;
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

/// A write transaction that records events.
pub struct ChangeTx {
    transaction: DatabaseTransaction,
    revision: u64,
    events: Vec<Event>,
    head_tx: watch::Sender<u64>,
}

impl ChangeTx {
    /// The transaction to write through.
    pub fn tx(&self) -> &DatabaseTransaction {
        &self.transaction
    }

    /// Records an event; it becomes visible when the transaction commits.
    pub fn record(&mut self, mut event: Event) {
        self.revision += 1;
        event.revision = self.revision;
        self.events.push(event);
    }

    /// Writes the events, advances the counter, commits, and wakes watchers. Returns the revision
    /// that includes this transaction's changes.
    pub async fn commit(self) -> Result<u64> {
        let ChangeTx {
            transaction,
            revision,
            events,
            head_tx,
        } = self;
        if !events.is_empty() {
            let now = tributary_runtime::time::now();
            let rows = events.iter().map(|event| table::ActiveModel {
                revision: Set(i64::try_from(event.revision).unwrap_or(i64::MAX)),
                kind: Set(event.kind.to_string()),
                account_id: Set(event.account_id.clone()),
                region: Set(event.region.clone()),
                organization_id: Set(event.organization_id.clone()),
                related_account_id: Set(event.related_account_id.clone()),
                recorded_at: Set(now),
            });
            table::Entity::insert_many(rows).exec(&transaction).await?;
            REVISION.store(&transaction, revision).await?;
        }
        transaction.commit().await?;
        if !events.is_empty() {
            advance_head(&head_tx, revision);
        }
        Ok(revision)
    }
}

async fn head(db: &DatabaseConnection) -> Result<u64> {
    Ok(REVISION.read(db).await?)
}

/// The kind names stored in the log; `&'static` so events are cheap to build.
fn kind_name(stored: &str) -> &'static str {
    KINDS
        .iter()
        .find(|kind| **kind == stored)
        .copied()
        .unwrap_or("unknown")
}

/// Every event kind membership records.
pub const KINDS: &[&str] = &[
    "region.registered",
    "region.updated",
    "region.deregistered",
    "account.created",
    "account.suspended",
    "account.reactivated",
    "account.closed",
    "account.region_enabled",
    "account.region_disabled",
    "organization.created",
    "organization.deleted",
    "organization.account_added",
    "organization.account_removed",
    "organization.service_access_enabled",
    "organization.service_access_disabled",
    "organization.delegated_administrator_registered",
    "organization.delegated_administrator_deregistered",
    "hub.enabled",
    "hub.disabled",
    "hub.updated",
    "hub.organization_admin_enabled",
    "hub.organization_admin_disabled",
    "hub.organization_configuration_updated",
    "member.status_changed",
    "member.deleted",
    "authorization.put",
    "authorization.deleted",
    "pending_request.declined",
    "config_aggregator.declared",
    "config_aggregator.withdrawn",
    "finding_aggregator.declared",
    "finding_aggregator.withdrawn",
    "authorization.tagged",
    "authorization.untagged",
];

impl From<table::Model> for Event {
    fn from(row: table::Model) -> Self {
        Self {
            revision: u64::try_from(row.revision).unwrap_or(0),
            kind: kind_name(&row.kind),
            account_id: row.account_id,
            region: row.region,
            organization_id: row.organization_id,
            related_account_id: row.related_account_id,
            recorded_at: row.recorded_at,
        }
    }
}
