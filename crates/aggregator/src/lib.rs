//! The aggregator: the control plane for Config aggregators and finding aggregators. It keeps a
//! replica of the data it is entitled to, pulled from each region's collector, and serves the
//! aggregated views.

pub mod config;
pub mod config_aggregators;
pub mod error;
pub mod finding_aggregators;
pub mod findings;
pub mod grpc;
pub mod info;
pub mod query;
pub mod replica;
pub mod replication;
pub mod store;
pub mod views;

use std::sync::Arc;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tributary_proto::aggregator::v1 as pb;
use tributary_runtime::server::{ServerParts, ServiceSet};

pub use config::AggregatorConfig;
pub use error::Error;

/// Opens the database (migrating it when configured) and serves the aggregator on `listener` until
/// `shutdown` is cancelled.
pub async fn serve(
    config: AggregatorConfig,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> Result<(), Error> {
    let authenticator = tributary_runtime::auth::membership_authenticator(&config.membership)?;
    let (db, page_tokens) = tributary_runtime::db::open::<store::Migrator>(&config.server).await?;
    let replication = replication::Replication::start(db.clone(), &config, &shutdown);
    // Home-region finding updates wait in the outbox until their origin region acknowledges them.
    let outbox = findings::outbox::OutboxHandle::default();
    let pusher = findings::outbox::Pusher::start(db.clone(), &config, &outbox, &shutdown);
    let aggregated_findings =
        findings::AggregatedFindings::new(db.clone(), page_tokens.clone(), outbox);
    let info = Arc::new(info::AggregatorInfo::new(db.clone()));
    let directory = Arc::new(config_aggregators::MembershipDirectory::new(
        &config.membership,
    )?);
    // Replication re-resolves entitlements when told that aggregators changed.
    let replication_handle = replication.handle();
    let on_aggregators_changed: config_aggregators::OnAggregatorsChanged =
        Arc::new(move || replication_handle.aggregators_changed());
    let config_aggregators = Arc::new(
        config_aggregators::ConfigAggregators::new(
            db.clone(),
            page_tokens.clone(),
            directory,
            config_aggregators::AggregatorLimits {
                max_aggregators_per_account: config
                    .config_aggregators
                    .max_config_aggregators_per_account,
                max_accounts_per_aggregator: usize::try_from(
                    config.config_aggregators.max_accounts_per_config_aggregator,
                )
                .unwrap_or(usize::MAX),
            },
            on_aggregators_changed,
        )
        .with_freshness_target_ms(
            i64::try_from(
                config
                    .replication
                    .freshness_target_seconds
                    .saturating_mul(1000),
            )
            .unwrap_or(i64::MAX),
        ),
    );
    let views = Arc::new(views::AggregateViews::new(db.clone(), page_tokens.clone()));
    let replication_handle = replication.handle();
    let finding_aggregators = Arc::new(
        finding_aggregators::FindingAggregators::new(
            db.clone(),
            page_tokens.clone(),
            Arc::new(finding_aggregators::directory::MembershipDirectory::new(
                &config.membership,
            )?),
        )
        .with_on_changed(Arc::new(move || replication_handle.aggregators_changed())),
    );
    let services = ServiceSet::new()
        .with(pb::aggregator_service_server::AggregatorServiceServer::new(
            grpc::GrpcAggregator::new(info),
        ))
        .with(
            pb::config_aggregator_service_server::ConfigAggregatorServiceServer::new(
                grpc::GrpcConfigAggregators::new(config_aggregators, views),
            ),
        )
        .with(
            pb::finding_aggregator_service_server::FindingAggregatorServiceServer::new(
                grpc::GrpcFindingAggregators::new(
                    finding_aggregators,
                    grpc::GrpcAggregatedFindings::new(aggregated_findings),
                ),
            ),
        );
    let parts = ServerParts::new("aggregator", services, authenticator, &config.server);
    let served = tributary_runtime::server::serve(listener, parts, shutdown).await;
    replication.stop().await;
    pusher.stop().await;
    served?;
    db.close().await?;
    Ok(())
}

/// Binds the configured listen address and serves until `shutdown` is cancelled.
pub async fn bind_and_serve(
    config: AggregatorConfig,
    shutdown: CancellationToken,
) -> Result<(), Error> {
    let listener = tributary_runtime::server::bind(config.server.listen).await?;
    serve(config, listener, shutdown).await
}

/// Applies pending migrations to the configured database.
pub async fn migrate(config: AggregatorConfig) -> Result<(), Error> {
    tributary_runtime::db::migrate::<store::Migrator>(&config.server.database_url).await?;
    Ok(())
}
