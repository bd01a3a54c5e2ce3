//! The collector: one per region, the regional data plane for every account in that region. Every
//! write appends to the region's change log, which aggregators read.

pub mod access;
pub mod change_log;
pub mod compliance;
pub mod config;
pub mod config_items;
pub mod controls;
pub mod entitlements;
pub mod error;
pub mod findings;
pub mod grpc;
pub mod info;
pub mod insights;
pub mod products;
pub mod recorders;
pub mod store;

use std::{sync::Arc, time::Duration};

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
    let (db, page_tokens) = tributary_runtime::db::open::<store::Migrator>(&config.server).await?;
    let change_log = change_log::ChangeLog::open(db.clone()).await?;
    change_log.spawn_head_gauge(config.region.clone(), shutdown.child_token());
    let info = Arc::new(info::CollectorInfo::new(
        change_log.clone(),
        config.region.clone(),
    ));
    let account_access = access::AccountAccess::new(Arc::new(
        access::MembershipAccountDirectory::new(&config.membership, config.region.clone())?,
    ));
    let recorders = Arc::new(recorders::Recorders::new(
        change_log.clone(),
        account_access.clone(),
    ));
    let compliance = Arc::new(compliance::Compliance::new(
        change_log.clone(),
        page_tokens.clone(),
        config.region.clone(),
        account_access.clone(),
        compliance::ComplianceLimits {
            max_config_rules_per_account: config.max_config_rules_per_account,
            max_conformance_packs_per_account: config.max_conformance_packs_per_account,
        },
    ));
    let items = Arc::new(config_items::ConfigItems::new(
        change_log.clone(),
        page_tokens.clone(),
        config.region.clone(),
        account_access.clone(),
    ));
    let insights = Arc::new(insights::Insights::new(
        change_log.clone(),
        page_tokens.clone(),
        config.region.clone(),
        account_access.clone(),
    ));
    let controls = Arc::new(controls::Controls::new(
        change_log.clone(),
        page_tokens.clone(),
        config.region.clone(),
        account_access.clone(),
    ));
    let findings = Arc::new(findings::Findings::new(
        change_log.clone(),
        page_tokens,
        config.region.clone(),
        account_access,
    ));
    let membership_entitlements = Arc::new(entitlements::MembershipEntitlements::new(
        &config.membership,
        config.region.clone(),
    )?);
    let entitlement_follower = membership_entitlements.spawn_follower(shutdown.child_token());
    let stream_entitlements =
        entitlements::StreamEntitlements::new(membership_entitlements, config.region.clone());
    let retention = Duration::from_secs(config.change_log_retention_seconds);
    let compaction_stop = shutdown.child_token();
    let compaction = change_log::spawn_compaction(
        change_log.clone(),
        retention,
        Duration::from_secs(config.change_log_compaction_interval_seconds),
        compaction_stop.clone(),
    );
    let retention_stop = shutdown.child_token();
    let finding_retention = findings::retention::spawn_retention(
        change_log.clone(),
        findings::retention::RetentionPolicy {
            active: Duration::from_secs(config.finding_retention_active_seconds),
            archived: Duration::from_secs(config.finding_retention_archived_seconds),
        },
        Duration::from_secs(config.finding_retention_interval_seconds),
        retention_stop.clone(),
    );
    let services = ServiceSet::new()
        .with(pb::collector_service_server::CollectorServiceServer::new(
            grpc::GrpcCollector::new(info),
        ))
        .with(pb::config_service_server::ConfigServiceServer::new(
            grpc::GrpcConfig::new(recorders, items),
        ))
        .with(pb::change_log_service_server::ChangeLogServiceServer::new(
            grpc::GrpcChangeLog::new(change_log, stream_entitlements, retention, shutdown.clone())
                .with_findings(findings.clone()),
        ))
        .with(pb::compliance_service_server::ComplianceServiceServer::new(
            grpc::GrpcCompliance::new(compliance),
        ))
        .with(
            pb::security_hub_service_server::SecurityHubServiceServer::new(
                grpc::GrpcFindings::new(findings, insights, controls),
            )
            .max_decoding_message_size(findings::inputs::MAX_REQUEST_BYTES + 1024 * 1024),
        );
    let parts = ServerParts::new("collector", services, authenticator, &config.server);
    let served = tributary_runtime::server::serve(listener, parts, shutdown.clone()).await;
    // Stop the compaction loop (also when serving failed) so it never outlives the database.
    compaction_stop.cancel();
    let _ = compaction.await;
    retention_stop.cancel();
    let _ = finding_retention.await;
    entitlement_follower.abort();
    served?;
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
