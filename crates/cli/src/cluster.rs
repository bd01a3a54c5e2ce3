//! An in-process Tributary: membership, the aggregator and one collector per region, each a real
//! gRPC server on its own loopback listener with its own database, started in dependency order and
//! registered with each other.

use std::{
    collections::BTreeMap,
    net::SocketAddr,
    path::{Path, PathBuf},
    time::Duration,
};

use anyhow::{Context, bail};
use tokio::{net::TcpListener, task::JoinHandle};
use tokio_util::sync::CancellationToken;
use tonic::transport::Channel;
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};
use tributary_aggregator::AggregatorConfig;
use tributary_collector::CollectorConfig;
use tributary_membership::MembershipConfig;
use tributary_proto::membership::v1 as membership_pb;
use tributary_runtime::{
    client::{BearerToken, lazy_channel},
    config::{MembershipClientSettings, ServerSettings},
};

/// How long start-up may take before the cluster gives up.
const START_DEADLINE: Duration = Duration::from_secs(30);

/// What to start.
pub struct ClusterSpec {
    /// Address of membership's listener (port 0 picks a free one).
    pub membership: SocketAddr,
    /// Address of the aggregator's listener.
    pub aggregator: SocketAddr,
    /// One collector per region, with its listener address.
    pub collectors: Vec<(String, SocketAddr)>,
    /// The operator key to ensure exists.
    pub operator_key: String,
    /// The key services use to call each other.
    pub service_key: String,
    /// The database URL of each service, by name (`membership`, `aggregator`,
    /// `collector-us-east-1`).
    pub database_url: Box<dyn Fn(&str) -> String + Send + Sync>,
    /// Where to serve Prometheus `/metrics` for the whole process, if anywhere.
    pub metrics: Option<SocketAddr>,
    /// Shutdown grace period of every service.
    pub shutdown_grace: Duration,
    /// How long collectors and the aggregator trust a key membership accepted.
    pub auth_cache_ttl: Duration,
}

impl ClusterSpec {
    /// SQLite files named after each service inside `data_dir`.
    pub fn sqlite_in(data_dir: &Path) -> Box<dyn Fn(&str) -> String + Send + Sync> {
        let data_dir = data_dir.to_path_buf();
        Box::new(move |service| {
            tributary_runtime::db::sqlite_url(&data_dir.join(format!("{service}.db")))
        })
    }
}

/// A running cluster.
pub struct Cluster {
    /// Membership's address.
    pub membership: SocketAddr,
    /// The aggregator's address.
    pub aggregator: SocketAddr,
    /// Each collector's address, by region.
    pub collectors: BTreeMap<String, SocketAddr>,
    /// The operator key.
    pub operator_key: String,
    /// The service key.
    pub service_key: String,
    /// Where `/metrics` is served, if anywhere.
    pub metrics: Option<SocketAddr>,
    shutdown: CancellationToken,
    tasks: Vec<(String, JoinHandle<anyhow::Result<()>>)>,
}

impl Cluster {
    /// Starts every service, waits until each reports SERVING, and registers the regions.
    pub async fn start(spec: ClusterSpec) -> anyhow::Result<Self> {
        let shutdown = CancellationToken::new();
        let mut tasks = Vec::new();
        let grace_seconds = spec.shutdown_grace.as_secs();

        let settings = |listener: &TcpListener, service: &str| -> anyhow::Result<ServerSettings> {
            let mut settings = ServerSettings::with_defaults(listener.local_addr()?, "unused.db");
            settings.database_url = (spec.database_url)(service);
            settings.shutdown_grace_seconds = grace_seconds;
            Ok(settings)
        };

        let membership_listener = bind(spec.membership).await?;
        let membership_address = membership_listener.local_addr()?;
        let membership_config = MembershipConfig {
            server: settings(&membership_listener, "membership")?,
            bootstrap_key: Some(spec.operator_key.clone()),
            bootstrap_service_key: Some(spec.service_key.clone()),
            ..MembershipConfig::default()
        };
        let membership_client = MembershipClientSettings {
            membership_endpoint: format!("http://{membership_address}"),
            service_api_key: Some(spec.service_key.clone()),
            auth_cache_ttl_seconds: spec.auth_cache_ttl.as_secs(),
        };
        tasks.push((
            "membership".to_string(),
            tokio::spawn({
                let shutdown = shutdown.clone();
                async move {
                    Ok(tributary_membership::serve(
                        membership_config,
                        membership_listener,
                        shutdown,
                    )
                    .await?)
                }
            }),
        ));

        let aggregator_listener = bind(spec.aggregator).await?;
        let aggregator_address = aggregator_listener.local_addr()?;
        let aggregator_config = AggregatorConfig {
            server: settings(&aggregator_listener, "aggregator")?,
            membership: membership_client.clone(),
            ..AggregatorConfig::default()
        };
        tasks.push((
            "aggregator".to_string(),
            tokio::spawn({
                let shutdown = shutdown.clone();
                async move {
                    Ok(tributary_aggregator::serve(
                        aggregator_config,
                        aggregator_listener,
                        shutdown,
                    )
                    .await?)
                }
            }),
        ));

        let mut collectors = BTreeMap::new();
        for (region, address) in &spec.collectors {
            let listener = bind(*address).await?;
            collectors.insert(region.clone(), listener.local_addr()?);
            let config = CollectorConfig {
                server: settings(&listener, &format!("collector-{region}"))?,
                membership: membership_client.clone(),
                region: region.clone(),
                ..CollectorConfig::default()
            };
            tasks.push((
                format!("collector {region}"),
                tokio::spawn({
                    let shutdown = shutdown.clone();
                    async move { Ok(tributary_collector::serve(config, listener, shutdown).await?) }
                }),
            ));
        }

        let metrics = match spec.metrics {
            Some(address) => {
                let listener = bind(address).await?;
                let address = listener.local_addr()?;
                tokio::spawn(tributary_runtime::metrics::serve_metrics(
                    listener,
                    shutdown.child_token(),
                ));
                Some(address)
            }
            None => None,
        };

        let mut cluster = Cluster {
            membership: membership_address,
            aggregator: aggregator_address,
            collectors,
            operator_key: spec.operator_key,
            service_key: spec.service_key,
            metrics,
            shutdown,
            tasks,
        };
        if let Err(error) = cluster.finish_start().await {
            let _ = cluster.shutdown().await;
            return Err(error);
        }
        Ok(cluster)
    }

    async fn finish_start(&mut self) -> anyhow::Result<()> {
        let deadline = tokio::time::Instant::now() + START_DEADLINE;
        let mut addresses = vec![
            ("membership".to_string(), self.membership),
            ("aggregator".to_string(), self.aggregator),
        ];
        addresses.extend(
            self.collectors
                .iter()
                .map(|(region, address)| (format!("collector {region}"), *address)),
        );
        for (name, address) in addresses {
            self.wait_serving(&name, address, deadline).await?;
        }
        let mut regions = self.region_client()?;
        for (region, address) in &self.collectors {
            regions
                .register_region(membership_pb::RegisterRegionRequest {
                    region_name: region.clone(),
                    collector_endpoint: format!("http://{address}"),
                    opt_in: false,
                })
                .await
                .with_context(|| format!("registering region {region}"))?;
        }
        Ok(())
    }

    /// Polls the health service until SERVING, failing early if the service's task ended.
    async fn wait_serving(
        &mut self,
        name: &str,
        address: SocketAddr,
        deadline: tokio::time::Instant,
    ) -> anyhow::Result<()> {
        let mut health = HealthClient::new(lazy_channel(&format!("http://{address}"))?);
        loop {
            if let Some(index) = self.tasks.iter().position(|(_, task)| task.is_finished()) {
                let (task_name, task) = self.tasks.remove(index);
                let outcome = task.await;
                bail!("{task_name} stopped during start-up: {}", describe(outcome));
            }
            let answer = health
                .check(HealthCheckRequest {
                    service: String::new(),
                })
                .await;
            if answer
                .is_ok_and(|response| response.into_inner().status == ServingStatus::Serving as i32)
            {
                return Ok(());
            }
            if tokio::time::Instant::now() > deadline {
                bail!("{name} at {address} did not report SERVING within {START_DEADLINE:?}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// A client of membership's `RegionService` with the operator key.
    pub fn region_client(
        &self,
    ) -> anyhow::Result<
        membership_pb::region_service_client::RegionServiceClient<
            tonic::service::interceptor::InterceptedService<Channel, BearerToken>,
        >,
    > {
        let channel = lazy_channel(&format!("http://{}", self.membership))?;
        Ok(
            membership_pb::region_service_client::RegionServiceClient::with_interceptor(
                channel,
                BearerToken::new(&self.operator_key)?,
            ),
        )
    }

    /// Resolves when `token` is cancelled or when any service stops on its own (an error).
    pub async fn run_until(&mut self, token: CancellationToken) -> anyhow::Result<()> {
        let watch_tasks = async {
            loop {
                if let Some(index) = self.tasks.iter().position(|(_, task)| task.is_finished()) {
                    return index;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        };
        tokio::select! {
            _ = token.cancelled() => Ok(()),
            index = watch_tasks => {
                let (name, task) = self.tasks.remove(index);
                bail!("{name} stopped: {}", describe(task.await))
            }
        }
    }

    /// Stops every service gracefully and reports the first failure.
    pub async fn shutdown(self) -> anyhow::Result<()> {
        self.shutdown.cancel();
        let mut first_error = None;
        for (name, task) in self.tasks {
            let outcome = task.await;
            if !matches!(outcome, Ok(Ok(()))) && first_error.is_none() {
                first_error = Some(anyhow::anyhow!("{name}: {}", describe(outcome)));
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

fn describe(outcome: Result<anyhow::Result<()>, tokio::task::JoinError>) -> String {
    match outcome {
        Ok(Ok(())) => "exited".to_string(),
        Ok(Err(error)) => format!("{error:#}"),
        Err(join_error) => format!("task failed: {join_error}"),
    }
}

async fn bind(address: SocketAddr) -> anyhow::Result<TcpListener> {
    Ok(tributary_runtime::server::bind(address).await?)
}

/// The default data directory of `tributary up`.
pub fn default_data_dir() -> PathBuf {
    PathBuf::from(".tributary")
}
