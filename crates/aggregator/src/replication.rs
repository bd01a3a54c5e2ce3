//! The replication engine: keeps the aggregator's replica of Config data current with every
//! region's collector.
//!
//! - [`mirror`] resolves, with membership, the pairs every Config aggregator (table
//!   `config_aggregators`) is entitled to and mirrors them into `aggregator_entitlements`; it runs
//!   again on every membership change (Watch), when the aggregators change
//!   ([`ReplicationHandle::aggregators_changed`]) and periodically.
//! - One [`worker`] per region streams the union of the accounts all aggregators are entitled to
//!   in that region from the region's collector: a Snapshot back-fills newly entitled accounts,
//!   then Subscribe follows the change log from the region's cursor. Each batch is applied
//!   together with the cursor in one transaction. The worker also hides and purges the data of
//!   pairs no aggregator is entitled to any more, and records each pair's status.
//! - A [`lease`] makes exactly one replica of the aggregator replicate; every replica serves reads.

mod lease;
mod membership;
mod mirror;
mod status;
mod worker;

use std::{collections::BTreeMap, sync::Arc, time::Duration};

use sea_orm::{
    ConnectionTrait, DatabaseBackend, DatabaseConnection, DatabaseTransaction, EntityTrait,
    QuerySelect, TransactionTrait,
};
use tokio::{
    sync::{Notify, watch},
    task::JoinHandle,
};
use tokio_util::sync::CancellationToken;

use crate::{config::AggregatorConfig, config::ReplicationSettings, store::replication_pairs};

pub use status::{CONFIG_NOT_ENABLED, PairState, REGION_COLLECTOR_UNAVAILABLE, SourceStatus};

/// How often the engine re-resolves entitlements without being told to, to catch what a missed
/// membership change or a newly registered region would otherwise delay.
const RESYNC_INTERVAL: Duration = Duration::from_secs(30);

/// Tells the replication engine about changes it must act on. Cheap to clone.
#[derive(Clone, Default)]
pub struct ReplicationHandle {
    wake: Arc<Notify>,
}

impl ReplicationHandle {
    /// A handle that is not connected to a running engine (its calls do nothing).
    pub fn detached() -> Self {
        Self::default()
    }

    /// Config aggregators were created, changed or deleted: re-resolve their entitlements now
    /// (new pairs are back-filled, dropped pairs' data is removed).
    pub fn aggregators_changed(&self) {
        self.wake.notify_one();
    }
}

/// The running engine.
pub struct Replication {
    handle: ReplicationHandle,
    task: Option<JoinHandle<()>>,
    stop: CancellationToken,
}

impl Replication {
    /// Starts replicating into `db` under the lease, until `shutdown` is cancelled or
    /// [`Replication::stop`] is called. Without a service key (`service_api_key`) the aggregator
    /// cannot ask membership or collectors anything: the engine then does not run and says so.
    pub fn start(
        db: DatabaseConnection,
        config: &AggregatorConfig,
        shutdown: &CancellationToken,
    ) -> Self {
        let handle = ReplicationHandle::default();
        let stop = shutdown.child_token();
        let Some(service_key) = config.membership.service_api_key.clone() else {
            tracing::warn!(
                "no service_api_key (TRIBUTARY_SERVICE_API_KEY): the aggregator does not replicate"
            );
            return Self {
                handle,
                task: None,
                stop,
            };
        };
        let engine = Engine {
            db,
            database_url: config.server.database_url.clone(),
            membership_endpoint: config.membership.membership_endpoint.clone(),
            service_key,
            settings: config.replication.clone(),
            wake: handle.wake.clone(),
        };
        let task = tokio::spawn(engine.run(stop.clone()));
        Self {
            handle,
            task: Some(task),
            stop,
        }
    }

    /// The handle others notify the engine through.
    pub fn handle(&self) -> ReplicationHandle {
        self.handle.clone()
    }

    /// Stops every worker (an in-flight batch either commits whole or not at all) and releases
    /// the lease.
    pub async fn stop(mut self) {
        self.stop.cancel();
        if let Some(task) = self.task.take()
            && let Err(error) = task.await
        {
            tracing::error!(error = %error, "the replication engine failed");
        }
    }
}

/// What every part of the engine shares.
#[derive(Clone)]
struct Engine {
    db: DatabaseConnection,
    database_url: String,
    membership_endpoint: String,
    service_key: String,
    settings: ReplicationSettings,
    wake: Arc<Notify>,
}

impl Engine {
    /// Waits for the lease, replicates while holding it, and starts over when it is lost.
    async fn run(self, stop: CancellationToken) {
        let mut lease = lease::Lease::new(
            self.db.clone(),
            self.database_url.clone(),
            Duration::from_secs(self.settings.replication_lease_seconds.max(1)),
        );
        loop {
            if !lease.acquire(&stop).await {
                break;
            }
            tracing::info!("holding the replication lease; replicating");
            let leading = stop.child_token();
            tokio::select! {
                () = self.lead(leading.clone()) => {}
                () = lease.hold(&leading) => {
                    tracing::warn!("lost the replication lease; stopping replication");
                }
            }
            leading.cancel();
            if stop.is_cancelled() {
                break;
            }
        }
        lease.release().await;
    }

    /// Replicates until `stop` fires: follows membership, keeps the entitlement mirror current and
    /// runs one worker per region.
    async fn lead(&self, stop: CancellationToken) {
        let membership =
            match membership::Membership::new(&self.membership_endpoint, &self.service_key) {
                Ok(membership) => membership,
                Err(error) => {
                    tracing::error!(error = %error, "cannot reach membership; not replicating");
                    stop.cancelled().await;
                    return;
                }
            };
        let follower = membership.spawn_follower(self.wake.clone(), stop.clone());
        let mut workers: BTreeMap<String, (watch::Sender<worker::Plan>, JoinHandle<()>)> =
            BTreeMap::new();
        let mut generation = 0_u64;
        let mut retry = backoff(Duration::from_secs(
            self.settings.replication_max_backoff_seconds.max(1),
        ));
        loop {
            let wait = match self.sync(&membership).await {
                Ok(endpoints) => {
                    generation += 1;
                    self.update_workers(&mut workers, endpoints, generation, &stop);
                    retry = backoff(Duration::from_secs(
                        self.settings.replication_max_backoff_seconds.max(1),
                    ));
                    RESYNC_INTERVAL
                }
                Err(error) => {
                    tracing::warn!(error = %error, "resolving entitlements failed; retrying");
                    retry.next().unwrap_or(RESYNC_INTERVAL)
                }
            };
            tokio::select! {
                () = stop.cancelled() => break,
                () = self.wake.notified() => {}
                () = tokio::time::sleep(wait) => {}
            }
        }
        for (_, (plan, task)) in workers {
            drop(plan);
            let _ = task.await;
        }
        let _ = follower.await;
    }

    /// Re-resolves every aggregator into the mirror; returns the collector endpoint of every
    /// region a worker must run for (registered regions, plus regions that still hold data).
    async fn sync(
        &self,
        membership: &membership::Membership,
    ) -> Result<BTreeMap<String, Option<String>>, crate::Error> {
        let registered = membership.regions().await?;
        mirror::refresh(&self.db, membership).await?;
        let mut endpoints: BTreeMap<String, Option<String>> = registered
            .into_iter()
            .map(|(region, endpoint)| (region, Some(endpoint)))
            .collect();
        let held: Vec<String> = replication_pairs::Entity::find()
            .select_only()
            .column(replication_pairs::Column::Region)
            .distinct()
            .into_tuple()
            .all(&self.db)
            .await?;
        for region in held.into_iter().chain(mirror::regions(&self.db).await?) {
            endpoints.entry(region).or_insert(None);
        }
        Ok(endpoints)
    }

    /// Starts workers for new regions and tells every worker to look again.
    fn update_workers(
        &self,
        workers: &mut BTreeMap<String, (watch::Sender<worker::Plan>, JoinHandle<()>)>,
        endpoints: BTreeMap<String, Option<String>>,
        generation: u64,
        stop: &CancellationToken,
    ) {
        for (region, endpoint) in endpoints {
            let plan = worker::Plan {
                endpoint,
                generation,
            };
            match workers.get(&region) {
                Some((sender, task)) if !task.is_finished() => {
                    sender.send_replace(plan);
                }
                _ => {
                    let (sender, receiver) = watch::channel(plan);
                    let task = tokio::spawn(
                        worker::Worker::new(self.clone(), region.clone(), receiver)
                            .run(stop.clone()),
                    );
                    workers.insert(region, (sender, task));
                }
            }
        }
    }
}

/// Exponential backoff with jitter from 100 ms up to `max`, forever.
fn backoff(max: Duration) -> impl Iterator<Item = Duration> {
    use backon::BackoffBuilder;
    backon::ExponentialBuilder::default()
        .with_jitter()
        .with_factor(2.0)
        .with_min_delay(Duration::from_millis(100))
        .with_max_delay(max)
        .without_max_times()
        .build()
}

/// Begins a transaction that writes. On SQLite it takes the write lock first (a write that
/// changes nothing), so it waits its turn behind other writers instead of failing when another
/// writer commits between its first read and its first write.
async fn begin_write(db: &DatabaseConnection) -> Result<DatabaseTransaction, sea_orm::DbErr> {
    let transaction = db.begin().await?;
    if transaction.get_database_backend() == DatabaseBackend::Sqlite {
        transaction
            .execute_unprepared("UPDATE replication_lease SET holder = holder WHERE 0 = 1")
            .await?;
    }
    Ok(transaction)
}

/// Microseconds since the Unix epoch, now.
fn now_micros() -> i64 {
    tributary_runtime::time::now().timestamp_micros()
}
