//! One region's replication worker.
//!
//! Each round it first reconciles the region's pairs with the entitlement mirror (new pairs start
//! back-filling; pairs no aggregator is authorized for any more are hidden, and purged after the
//! retention window; pairs no aggregator asks for are purged at once), then back-fills new pairs
//! with a Snapshot, then follows the change log with Subscribe from the region's cursor for the
//! union of the accounts all aggregators are entitled to. Every batch is applied together with the
//! cursor and the status in one transaction. When the collector cannot be reached the region's
//! pairs turn FAILED (their data stays) and the worker retries with exponential backoff and jitter.

use std::{
    collections::{BTreeSet, HashMap},
    time::Duration,
};

use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, sea_query::Expr,
};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tonic::{Code, Status, service::interceptor::InterceptedService, transport::Channel};
use tracing::Instrument;
use tributary_proto::collector::v1 as pb;
use tributary_runtime::client::{BearerToken, lazy_channel};

use super::{
    Engine,
    membership::config_aggregator_reference,
    mirror::{self, AggregatorKey},
    status::{self, PairState, Progress, REGION_COLLECTOR_UNAVAILABLE, SourceStatus},
};
use crate::{
    error::{Error, Result},
    replica::{self, Outcome},
    store::{replication_pairs as pairs, replication_regions},
};

/// How long an open stream may stay quiet before the worker concludes it is caught up (the
/// collector sends new commits at once, and re-reads its log every second).
const IDLE: Duration = Duration::from_secs(1);
/// The most accounts one Subscribe or Snapshot request may name.
const MAX_STREAM_ACCOUNTS: usize = 1000;
/// How often an open, quiet stream's status is rewritten (its last success moves on).
const STATUS_REFRESH: Duration = Duration::from_secs(5);
/// The largest batch message accepted from a collector (500 records with large configurations).
const MAX_MESSAGE_BYTES: usize = 256 * 1024 * 1024;

/// What the engine tells a worker: where the region's collector is, and a generation that moves on
/// whenever the entitlement mirror may have changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Plan {
    /// The collector endpoint; `None` when the region is no longer registered (its data is still
    /// reconciled).
    pub endpoint: Option<String>,
    /// Bumped after every refresh of the mirror.
    pub generation: u64,
}

/// What the region's stream carries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Carried {
    /// Every account to replicate.
    accounts: BTreeSet<String>,
    /// The accounts among them still to back-fill.
    backfill: BTreeSet<String>,
    /// The aggregators the stream replicates for.
    aggregators: BTreeSet<AggregatorKey>,
}

/// Why a replication round stopped early.
struct Failure {
    /// The error code recorded on the region and its pairs; `None` for a transient disagreement
    /// that is not recorded (the collector has not seen an entitlement change yet).
    code: Option<&'static str>,
    message: String,
    /// True when the round applied something before failing (the backoff starts over).
    progressed: bool,
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        Failure {
            code: Some("InternalError"),
            message: error.to_string(),
            progressed: false,
        }
    }
}

impl From<sea_orm::DbErr> for Failure {
    fn from(error: sea_orm::DbErr) -> Self {
        Error::from(error).into()
    }
}

type ChangeLogClient =
    pb::change_log_service_client::ChangeLogServiceClient<InterceptedService<Channel, BearerToken>>;

/// Replicates one region.
pub(super) struct Worker {
    engine: Engine,
    region: String,
    plan: watch::Receiver<Plan>,
}

impl Worker {
    pub(super) fn new(engine: Engine, region: String, plan: watch::Receiver<Plan>) -> Self {
        Self {
            engine,
            region,
            plan,
        }
    }

    fn retention_micros(&self) -> i64 {
        i64::try_from(self.engine.settings.revoked_data_retention_seconds)
            .unwrap_or(i64::MAX / 2_000_000)
            .saturating_mul(1_000_000)
    }

    /// How often hidden pairs are checked against the retention window while nothing else
    /// happens.
    fn purge_interval(&self) -> Duration {
        Duration::from_secs(self.engine.settings.revoked_data_retention_seconds / 4)
            .clamp(Duration::from_millis(200), Duration::from_secs(60))
    }

    fn max_backoff(&self) -> Duration {
        Duration::from_secs(self.engine.settings.replication_max_backoff_seconds.max(1))
    }

    /// Runs rounds until `stop` fires or the engine drops the plan.
    pub(super) async fn run(mut self, stop: CancellationToken) {
        let span = tracing::info_span!("replication", region = %self.region);
        async move {
            let mut retry = super::backoff(self.max_backoff());
            loop {
                if stop.is_cancelled() {
                    return;
                }
                let carried = match self.reconcile().await {
                    Ok(carried) => carried,
                    Err(error) => {
                        tracing::warn!(error = %error, "reconciling the region's pairs failed");
                        let wait = retry.next().unwrap_or(self.max_backoff());
                        if !self.wait(wait, &stop).await {
                            return;
                        }
                        continue;
                    }
                };
                let endpoint = self.plan.borrow_and_update().endpoint.clone();
                if carried.accounts.is_empty() {
                    if !self.wait(self.purge_interval(), &stop).await {
                        return;
                    }
                    continue;
                }
                let Some(endpoint) = endpoint else {
                    let failure = Failure {
                        code: Some("RegionNotRegistered"),
                        message: format!(
                            "{} is not registered with membership: no collector to replicate from",
                            self.region
                        ),
                        progressed: false,
                    };
                    self.record_failure(&failure).await;
                    if !self.wait(self.purge_interval(), &stop).await {
                        return;
                    }
                    continue;
                };
                match self.round(&endpoint, &carried, &stop).await {
                    Ok(()) => retry = super::backoff(self.max_backoff()),
                    Err(failure) => {
                        if failure.progressed {
                            retry = super::backoff(self.max_backoff());
                        }
                        tracing::warn!(code = ?failure.code, error = %failure.message,
                            "replication round failed; retrying");
                        self.record_failure(&failure).await;
                        let wait = retry.next().unwrap_or(self.max_backoff());
                        if !self.wait(wait, &stop).await {
                            return;
                        }
                    }
                }
            }
        }
        .instrument(span)
        .await;
    }

    /// Waits `duration`, or less when the plan changes; false when the worker must stop.
    async fn wait(&mut self, duration: Duration, stop: &CancellationToken) -> bool {
        tokio::select! {
            () = stop.cancelled() => false,
            changed = self.plan.changed() => changed.is_ok(),
            () = tokio::time::sleep(duration) => true,
        }
    }

    async fn record_failure(&self, failure: &Failure) {
        let Some(code) = failure.code else { return };
        let recorded = async {
            let transaction = super::begin_write(&self.engine.db).await?;
            status::record_failure(&transaction, &self.region, code, &failure.message).await?;
            transaction.commit().await?;
            Ok::<(), Error>(())
        };
        if let Err(error) = recorded.await {
            tracing::warn!(error = %error, "recording the region's failure failed");
        }
    }

    /// Brings the region's pairs in line with the mirror and returns what the stream carries.
    async fn reconcile(&self) -> Result<Carried> {
        let transaction = super::begin_write(&self.engine.db).await?;
        // Finding aggregators' sets first: a pair they need back-filled turns to snapshot here.
        crate::findings::replication::reconcile(&transaction, &self.region).await?;
        let entitled = mirror::region(&transaction, &self.region).await?;
        let rows = pairs::Entity::find()
            .filter(pairs::Column::Region.eq(&self.region))
            .all(&transaction)
            .await?;
        let now = super::now_micros();
        let mut carried = Carried {
            aggregators: entitled.aggregators.clone(),
            ..Carried::default()
        };
        let mut known = BTreeSet::new();
        for row in rows {
            known.insert(row.account_id.clone());
            if entitled.authorized.contains(&row.account_id) {
                if row.state == PairState::Hidden.as_str() {
                    // Authorized again: the stream skipped it while hidden, so back-fill again.
                    set_state(&transaction, &row, PairState::Snapshot, None).await?;
                    carried.backfill.insert(row.account_id.clone());
                } else if row.state == PairState::Snapshot.as_str() {
                    carried.backfill.insert(row.account_id.clone());
                }
                carried.accounts.insert(row.account_id);
            } else if entitled.listed.contains(&row.account_id) {
                match row.hidden_since_micros {
                    Some(since) if row.state == PairState::Hidden.as_str() => {
                        if since.saturating_add(self.retention_micros()) <= now {
                            tracing::info!(account_id = %row.account_id,
                                "purging the data of a pair whose retention window ended");
                            purge(&transaction, &row).await?;
                        }
                    }
                    _ => set_state(&transaction, &row, PairState::Hidden, Some(now)).await?,
                }
            } else {
                tracing::info!(account_id = %row.account_id,
                    "dropping the data of a pair no aggregator covers");
                purge(&transaction, &row).await?;
            }
        }
        for account_id in entitled.authorized.difference(&known) {
            pairs::Entity::insert(pairs::ActiveModel {
                account_id: Set(account_id.clone()),
                region: Set(self.region.clone()),
                state: Set(PairState::Snapshot.as_str().to_string()),
                status: Set(SourceStatus::Outdated.as_str().to_string()),
                last_attempt_micros: Set(None),
                last_success_micros: Set(None),
                applied_seq: Set(0),
                lag_ms: Set(None),
                error_code: Set(None),
                error_message: Set(None),
                hidden_since_micros: Set(None),
            })
            .exec_without_returning(&transaction)
            .await?;
            carried.accounts.insert(account_id.clone());
            carried.backfill.insert(account_id.clone());
        }
        transaction.commit().await?;
        Ok(carried)
    }

    /// One round against the collector at `endpoint`: back-fills new pairs, or follows the log
    /// until the carried set changes (`Ok`), `stop` fires (`Ok`) or the stream fails.
    async fn round(
        &mut self,
        endpoint: &str,
        carried: &Carried,
        stop: &CancellationToken,
    ) -> Result<(), Failure> {
        let mut client = self.client(endpoint)?;
        if !carried.backfill.is_empty() {
            return self.backfill(&mut client, carried, endpoint, stop).await;
        }
        let cursor = self.cursor().await?;
        let request = pb::SubscribeRequest {
            from_seq: u64::try_from(cursor).unwrap_or(0),
            // Beyond the per-request cap, an empty list asks for the union of the aggregators'
            // entitled accounts, which is the same set (records of accounts not live yet are
            // skipped when applied).
            account_ids: if carried.accounts.len() > MAX_STREAM_ACCOUNTS {
                Vec::new()
            } else {
                carried.accounts.iter().cloned().collect()
            },
            kinds: replica::REPLICATED_KINDS
                .iter()
                .map(|kind| *kind as i32)
                .collect(),
            aggregator: None,
            aggregators: references(carried),
        };
        let subscribed = tokio::select! {
            () = stop.cancelled() => return Ok(()),
            subscribed = client.subscribe(request) => subscribed,
        };
        let mut stream = match subscribed {
            Ok(response) => response.into_inner(),
            Err(status) => return self.stream_failed(&status, endpoint, false).await,
        };
        let mut progressed = false;
        // The status is rewritten when quiet only after a batch or every STATUS_REFRESH, and
        // hidden pairs are checked every purge interval, to keep writes few.
        let mut reported = tokio::time::Instant::now();
        let mut fresh = false;
        let mut reconciled = tokio::time::Instant::now();
        loop {
            tokio::select! {
                biased;
                () = stop.cancelled() => return Ok(()),
                changed = self.plan.changed() => {
                    if changed.is_err() {
                        return Ok(());
                    }
                    let plan_endpoint = self.plan.borrow_and_update().endpoint.clone();
                    if plan_endpoint.as_deref() != Some(endpoint)
                        || self.reconcile().await? != *carried
                    {
                        return Ok(());
                    }
                    reconciled = tokio::time::Instant::now();
                }
                message = tokio::time::timeout(IDLE, stream.message()) => match message {
                    Err(_quiet) => {
                        // Nothing arrived: every matching commit has been applied.
                        if !fresh || reported.elapsed() >= STATUS_REFRESH {
                            self.caught_up().await?;
                            fresh = true;
                            reported = tokio::time::Instant::now();
                        }
                        if reconciled.elapsed() >= self.purge_interval() {
                            if self.reconcile().await? != *carried {
                                return Ok(());
                            }
                            reconciled = tokio::time::Instant::now();
                        }
                    }
                    Ok(Ok(Some(batch))) => {
                        self.apply_batch(batch).await.map_err(|error| Failure {
                            progressed,
                            ..Failure::from(error)
                        })?;
                        progressed = true;
                        fresh = false;
                    }
                    Ok(Ok(None)) => {
                        return Err(Failure {
                            code: Some(REGION_COLLECTOR_UNAVAILABLE),
                            message: format!(
                                "the collector of {} at {endpoint} ended the change stream",
                                self.region
                            ),
                            progressed,
                        });
                    }
                    Ok(Err(status)) => {
                        return self.stream_failed(&status, endpoint, progressed).await;
                    }
                },
            }
        }
    }

    /// Back-fills `carried.backfill` from a Snapshot and makes those pairs live at the snapshot's
    /// sequence number. A crash midway leaves them back-filling, so the next round starts the
    /// snapshot again (applying is idempotent).
    async fn backfill(
        &mut self,
        client: &mut ChangeLogClient,
        carried: &Carried,
        endpoint: &str,
        stop: &CancellationToken,
    ) -> Result<(), Failure> {
        // At most the per-request cap per round; the next round takes the rest.
        let accounts: Vec<String> = carried
            .backfill
            .iter()
            .take(MAX_STREAM_ACCOUNTS)
            .cloned()
            .collect();
        tracing::info!(accounts = accounts.len(), "back-filling from a snapshot");
        let request = pb::SnapshotRequest {
            account_ids: accounts.clone(),
            kinds: replica::REPLICATED_KINDS
                .iter()
                .map(|kind| *kind as i32)
                .collect(),
            aggregator: None,
            aggregators: references(carried),
        };
        let snapshot = tokio::select! {
            () = stop.cancelled() => return Ok(()),
            snapshot = client.snapshot(request) => snapshot,
        };
        let mut stream = match snapshot {
            Ok(response) => response.into_inner(),
            Err(status) => return self.stream_failed(&status, endpoint, false).await,
        };
        let mut snapshot_seq = None;
        loop {
            let message = tokio::select! {
                () = stop.cancelled() => return Ok(()),
                message = stream.message() => message,
            };
            match message {
                Ok(Some(message)) => {
                    snapshot_seq = Some(message.seq);
                    self.apply_snapshot_batch(&accounts, &message.records)
                        .await?;
                }
                Ok(None) => break,
                Err(status) => {
                    return self
                        .stream_failed(&status, endpoint, snapshot_seq.is_some())
                        .await;
                }
            }
        }
        let Some(snapshot_seq) = snapshot_seq else {
            return Err(Failure {
                code: Some(REGION_COLLECTOR_UNAVAILABLE),
                message: format!(
                    "the collector of {} at {endpoint} ended a snapshot without data",
                    self.region
                ),
                progressed: false,
            });
        };
        self.finish_backfill(&accounts, to_i64(snapshot_seq))
            .await?;
        Ok(())
    }

    /// Applies one snapshot batch to the pairs still back-filling.
    async fn apply_snapshot_batch(
        &self,
        accounts: &[String],
        records: &[pb::ChangeRecord],
    ) -> Result<()> {
        let transaction = super::begin_write(&self.engine.db).await?;
        let backfilling: BTreeSet<String> = pairs::Entity::find()
            .filter(pairs::Column::Region.eq(&self.region))
            .filter(pairs::Column::State.eq(PairState::Snapshot.as_str()))
            .filter(pairs::Column::AccountId.is_in(accounts.iter().cloned()))
            .all(&transaction)
            .await?
            .into_iter()
            .map(|row| row.account_id)
            .collect();
        let mut applied = 0_u64;
        for record in records {
            if backfilling.contains(&record.account_id)
                && replica::apply(&transaction, &self.region, record).await? == Outcome::Applied
            {
                applied += 1;
            }
        }
        transaction.commit().await?;
        metrics::counter!("tributary_replication_applied_total", "region" => self.region.clone())
            .increment(applied);
        Ok(())
    }

    /// Makes the back-filled pairs live at `snapshot_seq`. When no other pair of the region was
    /// live, the region's cursor moves up to the snapshot, so the log before it is not read again.
    async fn finish_backfill(&self, accounts: &[String], snapshot_seq: i64) -> Result<()> {
        let transaction = super::begin_write(&self.engine.db).await?;
        let others_live = pairs::Entity::find()
            .filter(pairs::Column::Region.eq(&self.region))
            .filter(pairs::Column::State.eq(PairState::Live.as_str()))
            .one(&transaction)
            .await?
            .is_some();
        pairs::Entity::update_many()
            .col_expr(pairs::Column::State, Expr::value(PairState::Live.as_str()))
            .col_expr(pairs::Column::AppliedSeq, Expr::value(snapshot_seq))
            .filter(pairs::Column::Region.eq(&self.region))
            .filter(pairs::Column::State.eq(PairState::Snapshot.as_str()))
            .filter(pairs::Column::AccountId.is_in(accounts.iter().cloned()))
            .exec(&transaction)
            .await?;
        crate::findings::replication::backfilled(
            &transaction,
            &self.region,
            accounts,
            snapshot_seq,
        )
        .await?;
        let cursor = cursor_of(&transaction, &self.region).await?;
        let moved = (!others_live && snapshot_seq > cursor).then_some(snapshot_seq);
        status::record_progress(
            &transaction,
            &self.region,
            &Progress {
                cursor: moved,
                lag_ms: 0,
                freshness_ms: self.freshness_ms(),
            },
        )
        .await?;
        transaction.commit().await?;
        self.report_lag(0);
        tracing::info!(
            accounts = accounts.len(),
            snapshot_seq,
            "back-fill complete"
        );
        Ok(())
    }

    /// Applies one Subscribe batch, the region's cursor and the status in one transaction.
    async fn apply_batch(&self, batch: pb::SubscribeResponse) -> Result<()> {
        let transaction = super::begin_write(&self.engine.db).await?;
        // Each live pair skips what it already has (a pair back-filled from a snapshot newer than
        // the region's cursor); pairs not live (hidden, being dropped) take nothing.
        let live: HashMap<String, i64> = pairs::Entity::find()
            .filter(pairs::Column::Region.eq(&self.region))
            .filter(pairs::Column::State.eq(PairState::Live.as_str()))
            .all(&transaction)
            .await?
            .into_iter()
            .map(|row| (row.account_id, row.applied_seq))
            .collect();
        let mut applied = 0_u64;
        for record in &batch.records {
            let Some(pair_seq) = live.get(&record.account_id) else {
                continue;
            };
            if to_i64(record.seq) <= *pair_seq {
                continue;
            }
            if replica::apply(&transaction, &self.region, record).await? == Outcome::Applied {
                applied += 1;
            }
        }
        let now = tributary_runtime::time::now();
        let lag_ms = batch
            .records
            .last()
            .and_then(|record| record.committed_at.as_ref())
            .and_then(|committed| {
                chrono::DateTime::from_timestamp(
                    committed.seconds,
                    u32::try_from(committed.nanos).unwrap_or(0),
                )
            })
            .map_or(0, |committed| (now - committed).num_milliseconds().max(0));
        status::record_progress(
            &transaction,
            &self.region,
            &Progress {
                cursor: Some(to_i64(batch.through_seq)),
                lag_ms,
                freshness_ms: self.freshness_ms(),
            },
        )
        .await?;
        transaction.commit().await?;
        metrics::counter!("tributary_replication_applied_total", "region" => self.region.clone())
            .increment(applied);
        self.report_lag(lag_ms);
        Ok(())
    }

    /// Publishes the region's lag.
    fn report_lag(&self, lag_ms: i64) {
        #[allow(clippy::cast_precision_loss)] // Lags are far below 2^52 ms.
        metrics::gauge!("tributary_replication_lag_seconds", "region" => self.region.clone())
            .set(lag_ms as f64 / 1000.0);
    }

    /// Records that the stream is open and quiet: everything committed has been applied.
    async fn caught_up(&self) -> Result<()> {
        let transaction = super::begin_write(&self.engine.db).await?;
        status::record_progress(
            &transaction,
            &self.region,
            &Progress {
                cursor: None,
                lag_ms: 0,
                freshness_ms: self.freshness_ms(),
            },
        )
        .await?;
        transaction.commit().await?;
        self.report_lag(0);
        Ok(())
    }

    /// Turns a failed call or stream into the round's outcome. An expired cursor sends every pair
    /// of the region back to back-filling (the next round takes a snapshot).
    async fn stream_failed(
        &self,
        status: &Status,
        endpoint: &str,
        progressed: bool,
    ) -> Result<(), Failure> {
        if status.code() == Code::FailedPrecondition {
            tracing::warn!(error = %status.message(),
                "the region's cursor expired; back-filling every pair from a snapshot");
            pairs::Entity::update_many()
                .col_expr(
                    pairs::Column::State,
                    Expr::value(PairState::Snapshot.as_str()),
                )
                .filter(pairs::Column::Region.eq(&self.region))
                .filter(pairs::Column::State.eq(PairState::Live.as_str()))
                .exec(&self.engine.db)
                .await?;
            return Ok(());
        }
        Err(classify(status, &self.region, endpoint, progressed))
    }

    fn client(&self, endpoint: &str) -> Result<ChangeLogClient, Failure> {
        let channel = lazy_channel(endpoint).map_err(|error| Failure {
            code: Some(REGION_COLLECTOR_UNAVAILABLE),
            message: format!("the collector endpoint of {}: {error}", self.region),
            progressed: false,
        })?;
        let bearer = BearerToken::new(&self.engine.service_key).map_err(Error::from)?;
        Ok(
            pb::change_log_service_client::ChangeLogServiceClient::with_interceptor(
                channel, bearer,
            )
            .max_decoding_message_size(MAX_MESSAGE_BYTES),
        )
    }

    async fn cursor(&self) -> Result<i64> {
        cursor_of(&self.engine.db, &self.region).await
    }

    fn freshness_ms(&self) -> i64 {
        i64::try_from(self.engine.settings.freshness_target_seconds)
            .unwrap_or(i64::MAX / 1000)
            .saturating_mul(1000)
    }
}

/// The region's cursor; 0 before anything was applied.
async fn cursor_of(db: &impl ConnectionTrait, region: &str) -> Result<i64> {
    Ok(replication_regions::Entity::find_by_id(region.to_string())
        .one(db)
        .await?
        .map_or(0, |row| row.applied_seq))
}

/// The wire references of the aggregators a stream replicates for.
fn references(carried: &Carried) -> Vec<tributary_proto::membership::v1::AggregatorReference> {
    carried
        .aggregators
        .iter()
        .map(|(owner, home, name)| config_aggregator_reference(owner, home, name))
        .collect()
}

/// The recorded failure for a collector's answer.
fn classify(status: &Status, region: &str, endpoint: &str, progressed: bool) -> Failure {
    use tonic_types::StatusExt;
    let reason = status
        .get_details_error_info()
        .map(|info| info.reason)
        .unwrap_or_default();
    let (code, message) = match status.code() {
        // The collector has not yet seen an entitlement change membership already made (or the
        // other way round); the next round, after the mirror catches up, settles it.
        Code::PermissionDenied if reason == "AuthorizationNotFoundException" => (
            None,
            format!(
                "the collector of {region} does not (yet) agree on the entitlements: {}",
                status.message()
            ),
        ),
        Code::NotFound => (
            None,
            format!(
                "the collector of {region} does not know an aggregator: {}",
                status.message()
            ),
        ),
        Code::Unauthenticated | Code::PermissionDenied => (
            Some("AccessDenied"),
            format!(
                "the collector of {region} at {endpoint} refused the aggregator's service key: {}",
                status.message()
            ),
        ),
        Code::InvalidArgument | Code::Internal | Code::DataLoss | Code::Unimplemented => (
            Some("InternalError"),
            format!(
                "the collector of {region} at {endpoint} failed: {}",
                status.message()
            ),
        ),
        _ => (
            Some(REGION_COLLECTOR_UNAVAILABLE),
            format!(
                "the collector of {region} at {endpoint} cannot be reached: {}",
                status.message()
            ),
        ),
    };
    Failure {
        code,
        message,
        progressed,
    }
}

async fn set_state(
    db: &impl ConnectionTrait,
    row: &pairs::Model,
    state: PairState,
    hidden_since: Option<i64>,
) -> Result<()> {
    let mut update = pairs::Entity::update_many()
        .col_expr(pairs::Column::State, Expr::value(state.as_str()))
        .col_expr(pairs::Column::HiddenSinceMicros, Expr::value(hidden_since));
    if state == PairState::Snapshot {
        update = update.col_expr(
            pairs::Column::Status,
            Expr::value(SourceStatus::Outdated.as_str()),
        );
    }
    update
        .filter(pairs::Column::AccountId.eq(&row.account_id))
        .filter(pairs::Column::Region.eq(&row.region))
        .exec(db)
        .await?;
    Ok(())
}

/// Removes a pair's data and its row.
async fn purge(db: &impl ConnectionTrait, row: &pairs::Model) -> Result<()> {
    replica::purge_pair(db, &row.account_id, &row.region).await?;
    pairs::Entity::delete_many()
        .filter(pairs::Column::AccountId.eq(&row.account_id))
        .filter(pairs::Column::Region.eq(&row.region))
        .exec(db)
        .await?;
    Ok(())
}

fn to_i64(seq: u64) -> i64 {
    i64::try_from(seq).unwrap_or(i64::MAX)
}
