//! The collector: one per region, the regional data plane for every account in that region. Every
//! write appends to the region's change log, which aggregators read.

pub mod config;
pub mod error;
pub mod grpc;
pub mod info;
pub mod store;

use std::sync::Arc;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tributary_proto::collector::v1 as pb;
use tributary_runtime::server::{ServerParts, ServiceSet};

pub use config::CollectorConfig;
pub use error::Error;

/// Opens the database (migrating it when configured) and serves the collector for its region on
/// `listener` until `shutdown` is cancelled.
pub async fn serve(
    config: CollectorConfig,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> Result<(), Error> {
    config.validate()?;
    let authenticator = tributary_runtime::auth::membership_authenticator(&config.membership)?;
    let (db, _page_tokens) = tributary_runtime::db::open::<store::Migrator>(&config.server).await?;
    let info = Arc::new(info::CollectorInfo::new(db.clone(), config.region.clone()));
    let services = ServiceSet::new().with(
        pb::collector_service_server::CollectorServiceServer::new(grpc::GrpcCollector::new(info)),
    );
    let parts = ServerParts::new("collector", services, authenticator, &config.server);
    tributary_runtime::server::serve(listener, parts, shutdown).await?;
    db.close().await?;
    Ok(())
}

/// Binds the configured listen address and serves until `shutdown` is cancelled.
pub async fn bind_and_serve(
    config: CollectorConfig,
    shutdown: CancellationToken,
) -> Result<(), Error> {
    let listener = tributary_runtime::server::bind(config.server.listen).await?;
    serve(config, listener, shutdown).await
}

/// Applies pending migrations to the configured database.
pub async fn migrate(config: CollectorConfig) -> Result<(), Error> {
    tributary_runtime::db::migrate::<store::Migrator>(&config.server.database_url).await?;
    Ok(())
}
