//! The outbox of home-region finding updates and the pusher that delivers them.
//!
//! BatchUpdateFindings on an aggregated copy stores the change and, in the same transaction, one
//! outbox row per finding for the finding's origin region. The pusher sends each region's rows in
//! order (so one finding's updates arrive in the order they were made) with
//! `ChangeLogService.ApplyReplicatedUpdates`, and deletes them only once the collector answered:
//! a crash at any point resends at most what was not acknowledged, and resending is harmless
//! (the collector merges by version, a repeat changes nothing). Unreachable collectors are
//! retried with exponential backoff and jitter; a row the collector refuses as malformed (which
//! retrying cannot fix) is dropped with an error log and counted in
//! `tributary_finding_updates_dropped_total`.

use std::{
    collections::{BTreeMap, HashMap},
    sync::Arc,
    time::Duration,
};

use prost::Message;
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::{Expr, ExprTrait},
};
use tokio::{sync::Notify, task::JoinHandle};
use tokio_util::sync::CancellationToken;
use tonic::{Code, service::interceptor::InterceptedService, transport::Channel};
use tributary_proto::{collector::v1 as collector_pb, membership::v1 as membership_pb};
use tributary_runtime::client::{BearerToken, lazy_channel};

use crate::{
    config::AggregatorConfig,
    error::{Error, Result},
    store::finding_update_outbox as table,
};

/// Updates sent per ApplyReplicatedUpdates call (the collector's limit).
const BATCH: u64 = 500;
/// How long one delivery may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);
/// How often the outbox is looked at without being woken (updates queued by another replica).
const IDLE_POLL: Duration = Duration::from_secs(5);

/// Wakes the pusher when an update is queued. Cheap to clone.
#[derive(Clone, Default)]
pub struct OutboxHandle {
    wake: Arc<Notify>,
}

impl OutboxHandle {
    /// A handle that is not connected to a running pusher (its calls do nothing).
    pub fn detached() -> Self {
        Self::default()
    }

    /// Updates were queued: deliver them now.
    pub fn queued(&self) {
        self.wake.notify_one();
    }
}

/// The running pusher.
pub struct Pusher {
    task: Option<JoinHandle<()>>,
    stop: CancellationToken,
}

impl Pusher {
    /// Starts delivering `db`'s outbox until `shutdown` is cancelled or [`Pusher::stop`] is
    /// called. Without a service key the aggregator cannot call collectors: queued updates wait.
    pub fn start(
        db: DatabaseConnection,
        config: &AggregatorConfig,
        handle: &OutboxHandle,
        shutdown: &CancellationToken,
    ) -> Self {
        let stop = shutdown.child_token();
        let Some(service_key) = config.membership.service_api_key.clone() else {
            tracing::warn!(
                "no service_api_key (TRIBUTARY_SERVICE_API_KEY): finding updates made here are \
                 not delivered to their origin regions"
            );
            return Self { task: None, stop };
        };
        let delivery = Delivery {
            db,
            membership_endpoint: config.membership.membership_endpoint.clone(),
            service_key,
            max_backoff: Duration::from_secs(Ord::max(
                config.replication.replication_max_backoff_seconds,
                1,
            )),
            wake: handle.wake.clone(),
        };
        let task = tokio::spawn(delivery.run(stop.clone()));
        Self {
            task: Some(task),
            stop,
        }
    }

    /// Stops delivering; an in-flight call's rows stay queued unless it was acknowledged.
    pub async fn stop(mut self) {
        self.stop.cancel();
        if let Some(task) = self.task.take()
            && let Err(error) = task.await
        {
            tracing::error!(error = %error, "the finding update pusher failed");
        }
    }
}

type Authed = InterceptedService<Channel, BearerToken>;

/// A region's retry state.
struct Retry {
    backoff: Box<dyn Iterator<Item = Duration> + Send>,
    not_before: tokio::time::Instant,
}

struct Delivery {
    db: DatabaseConnection,
    membership_endpoint: String,
    service_key: String,
    max_backoff: Duration,
    wake: Arc<Notify>,
}

impl Delivery {
    async fn run(self, stop: CancellationToken) {
        let mut endpoints: BTreeMap<String, String> = BTreeMap::new();
        let mut retries: HashMap<String, Retry> = HashMap::new();
        loop {
            let wait = match self.round(&mut endpoints, &mut retries).await {
                Ok(wait) => wait,
                Err(error) => {
                    tracing::warn!(error = %error, "delivering finding updates failed; retrying");
                    endpoints.clear();
                    self.max_backoff.min(IDLE_POLL)
                }
            };
            tokio::select! {
                () = stop.cancelled() => return,
                () = self.wake.notified() => {}
                () = tokio::time::sleep(wait) => {}
            }
        }
    }

    /// Delivers what each region's collector takes; returns how long to wait before looking
    /// again.
    async fn round(
        &self,
        endpoints: &mut BTreeMap<String, String>,
        retries: &mut HashMap<String, Retry>,
    ) -> Result<Duration> {
        let regions: Vec<String> = table::Entity::find()
            .select_only()
            .column(table::Column::Region)
            .distinct()
            .into_tuple()
            .all(&self.db)
            .await?;
        retries.retain(|region, _| regions.contains(region));
        let mut wait = IDLE_POLL;
        for region in regions {
            let now = tokio::time::Instant::now();
            if let Some(retry) = retries.get(&region)
                && retry.not_before > now
            {
                wait = wait.min(retry.not_before - now);
                continue;
            }
            if !endpoints.contains_key(&region) {
                *endpoints = self.endpoints().await?;
            }
            let delivered = match endpoints.get(&region) {
                Some(endpoint) => self.deliver(&region, endpoint).await,
                None => Err(format!("{region} is not registered with membership")),
            };
            match delivered {
                Ok(()) => {
                    retries.remove(&region);
                }
                Err(message) => {
                    tracing::warn!(region = %region, error = %message,
                        "finding updates could not be delivered; retrying");
                    endpoints.remove(&region);
                    let retry = retries.entry(region).or_insert_with(|| Retry {
                        backoff: Box::new(backoff(self.max_backoff)),
                        not_before: now,
                    });
                    let delay = retry.backoff.next().unwrap_or(self.max_backoff);
                    retry.not_before = now + delay;
                    wait = wait.min(delay);
                }
            }
        }
        Ok(wait)
    }

    /// Every registered region's collector endpoint.
    async fn endpoints(&self) -> Result<BTreeMap<String, String>> {
        let channel = lazy_channel(&self.membership_endpoint)?;
        let mut client =
            membership_pb::region_service_client::RegionServiceClient::with_interceptor(
                channel,
                BearerToken::new(&self.service_key)?,
            );
        let mut endpoints = BTreeMap::new();
        let mut page_token = String::new();
        loop {
            let page = client
                .list_regions(membership_pb::ListRegionsRequest {
                    page_size: 1000,
                    page_token,
                })
                .await
                .map_err(|status| {
                    Error::Runtime(tributary_runtime::Error::Unavailable(format!(
                        "listing regions with membership failed: {}",
                        status.message()
                    )))
                })?
                .into_inner();
            endpoints.extend(
                page.regions
                    .into_iter()
                    .map(|region| (region.region_name, region.collector_endpoint)),
            );
            if page.next_page_token.is_empty() {
                return Ok(endpoints);
            }
            page_token = page.next_page_token;
        }
    }

    fn client(
        &self,
        endpoint: &str,
    ) -> std::result::Result<
        collector_pb::change_log_service_client::ChangeLogServiceClient<Authed>,
        String,
    > {
        let channel = lazy_channel(endpoint).map_err(|error| error.to_string())?;
        let bearer = BearerToken::new(&self.service_key).map_err(|error| error.to_string())?;
        Ok(
            collector_pb::change_log_service_client::ChangeLogServiceClient::with_interceptor(
                channel, bearer,
            ),
        )
    }

    /// Sends `region`'s queued rows, oldest first, until none are left.
    async fn deliver(&self, region: &str, endpoint: &str) -> std::result::Result<(), String> {
        let mut client = self.client(endpoint)?;
        loop {
            let rows = table::Entity::find()
                .filter(table::Column::Region.eq(region))
                .order_by_asc(table::Column::Id)
                .limit(BATCH)
                .all(&self.db)
                .await
                .map_err(|error| error.to_string())?;
            if rows.is_empty() {
                return Ok(());
            }
            match self.send(&mut client, &rows).await {
                Ok(()) => self.acknowledge(region, &rows).await?,
                Err(status) if status.code() == Code::InvalidArgument => {
                    // One bad row refuses the whole call: send them one by one to find it.
                    for row in &rows {
                        match self.send(&mut client, std::slice::from_ref(row)).await {
                            Ok(()) => self.acknowledge(region, std::slice::from_ref(row)).await?,
                            Err(status) if status.code() == Code::InvalidArgument => {
                                tracing::error!(region = %region, account = %row.account_id,
                                    product_arn = %row.product_arn, finding_id = %row.finding_id,
                                    error = %status.message(),
                                    "the origin collector refuses a finding update; dropping it");
                                metrics::counter!("tributary_finding_updates_dropped_total",
                                    "region" => region.to_string())
                                .increment(1);
                                self.remove(std::slice::from_ref(row)).await?;
                            }
                            Err(status) => return Err(self.failed(row, &status).await),
                        }
                    }
                }
                Err(status) => return Err(self.failed(&rows[0], &status).await),
            }
        }
    }

    async fn send(
        &self,
        client: &mut collector_pb::change_log_service_client::ChangeLogServiceClient<Authed>,
        rows: &[table::Model],
    ) -> std::result::Result<(), tonic::Status> {
        let updates = rows
            .iter()
            .map(|row| {
                collector_pb::ReplicatedFindingUpdate::decode(row.update.as_slice()).map_err(
                    |error| tonic::Status::internal(format!("stored finding update: {error}")),
                )
            })
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let mut request =
            tonic::Request::new(collector_pb::ApplyReplicatedUpdatesRequest { updates });
        request.set_timeout(CALL_TIMEOUT);
        let response = client.apply_replicated_updates(request).await?.into_inner();
        if response.results.len() != rows.len() {
            return Err(tonic::Status::internal(format!(
                "the collector answered {} results for {} updates",
                response.results.len(),
                rows.len()
            )));
        }
        Ok(())
    }

    /// The collector took `rows`: they leave the outbox.
    async fn acknowledge(
        &self,
        region: &str,
        rows: &[table::Model],
    ) -> std::result::Result<(), String> {
        self.remove(rows).await?;
        metrics::counter!("tributary_finding_updates_pushed_total", "region" => region.to_string())
            .increment(rows.len() as u64);
        Ok(())
    }

    async fn remove(&self, rows: &[table::Model]) -> std::result::Result<(), String> {
        table::Entity::delete_many()
            .filter(table::Column::Id.is_in(rows.iter().map(|row| row.id)))
            .exec(&self.db)
            .await
            .map_err(|error| error.to_string())?;
        Ok(())
    }

    /// Notes a failed delivery on the first waiting row, for operators reading the table.
    async fn failed(&self, row: &table::Model, status: &tonic::Status) -> String {
        let message = format!("{:?}: {}", status.code(), status.message());
        let noted = table::Entity::update_many()
            .col_expr(
                table::Column::Attempts,
                Expr::col(table::Column::Attempts).add(1),
            )
            .col_expr(table::Column::LastError, Expr::value(message.clone()))
            .filter(table::Column::Id.eq(row.id))
            .exec(&self.db)
            .await;
        if let Err(error) = noted {
            tracing::debug!(error = %error, "noting a failed finding update delivery failed");
        }
        message
    }
}

/// Exponential backoff with jitter from 100 ms up to `max`, forever.
fn backoff(max: Duration) -> impl Iterator<Item = Duration> + Send {
    use backon::BackoffBuilder;
    backon::ExponentialBuilder::default()
        .with_jitter()
        .with_factor(2.0)
        .with_min_delay(Duration::from_millis(100))
        .with_max_delay(max)
        .without_max_times()
        .build()
}
