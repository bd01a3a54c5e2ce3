//! The aggregator: the control plane for Config aggregators and finding aggregators. It keeps a
//! replica of the data it is entitled to, pulled from each region's collector, and serves the
//! aggregated views.

pub mod config;
pub mod error;
pub mod grpc;
pub mod info;
pub mod store;

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
    let (db, _page_tokens) = tributary_runtime::db::open::<store::Migrator>(&config.server).await?;
    let info = Arc::new(info::AggregatorInfo::new(db.clone()));
    let services =
        ServiceSet::new().with(pb::aggregator_service_server::AggregatorServiceServer::new(
            grpc::GrpcAggregator::new(info),
        ));
    let parts = ServerParts::new("aggregator", services, authenticator, &config.server);
    tributary_runtime::server::serve(listener, parts, shutdown).await?;
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
