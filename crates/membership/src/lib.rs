//! Membership: the directory of regions, accounts and API keys, and the authority on who may see
//! what. Other services authenticate their callers through its `AccessService`.

pub mod access;
pub mod authorizations;
pub mod clock;
pub mod config;
pub mod config_aggregators;
pub mod entitlements;
pub mod error;
pub mod events;
pub mod finding_aggregators;
pub mod grpc;
pub mod organizations;
pub mod regions;
pub mod securityhub;
pub mod store;

use std::sync::Arc;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tributary_proto::membership::v1 as pb;
use tributary_runtime::server::{ServerParts, ServiceSet};

pub use config::MembershipConfig;
pub use error::Error;

/// Opens the database (migrating it when configured), bootstraps the operator and service keys,
/// and serves membership on `listener` until `shutdown` is cancelled.
pub async fn serve(
    config: MembershipConfig,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> Result<(), Error> {
    let (db, page_tokens) = tributary_runtime::db::open::<store::Migrator>(&config.server).await?;
    let api_keys = Arc::new(access::ApiKeys::new(db.clone(), page_tokens.clone()));
    if let Some(generated) = api_keys
        .bootstrap(
            config.bootstrap_key.as_deref(),
            config.bootstrap_service_key.as_deref(),
        )
        .await?
    {
        // Printed once, on the first start, because only its hash is stored.
        println!("operator API key (shown once, store it now): {generated}");
    }
    let changes = events::Changes::new(db.clone()).await?;
    let regions = Arc::new(regions::Regions::new(changes.clone(), page_tokens.clone()));
    let directory = Arc::new(organizations::Organizations::new(
        changes.clone(),
        page_tokens.clone(),
    ));
    let clock = clock::Clock::system();
    let config_aggregators = Arc::new(config_aggregators::ConfigAggregators::new(
        changes.clone(),
        config_aggregators::AggregationSettings::from_config(&config),
        clock.clone(),
    ));
    let authorizations = Arc::new(authorizations::Authorizations::new(
        changes.clone(),
        page_tokens.clone(),
        config_aggregators.clone(),
        clock,
    ));

    let security_hub = Arc::new(
        securityhub::SecurityHub::open(changes.clone(), page_tokens.clone(), config.securityhub)
            .await?,
    );

    let services = ServiceSet::new()
        .with(pb::region_service_server::RegionServiceServer::new(
            grpc::GrpcRegions::new(regions),
        ))
        .with(pb::access_service_server::AccessServiceServer::new(
            grpc::GrpcAccess::new(api_keys.clone()),
        ))
        .with(
            pb::organization_service_server::OrganizationServiceServer::new(
                grpc::GrpcOrganizations::new(directory),
            ),
        )
        .with(
            pb::aggregation_authorization_service_server::AggregationAuthorizationServiceServer::new(
                grpc::GrpcAuthorizations::new(authorizations),
            ),
        )
        .with(
            pb::security_hub_members_service_server::SecurityHubMembersServiceServer::new(
                grpc::GrpcSecurityHub::new(security_hub),
            ),
        )
        .with(pb::entitlement_service_server::EntitlementServiceServer::new(
            grpc::GrpcEntitlements::new(
                config_aggregators,
                Arc::new(finding_aggregators::FindingAggregators::new(changes.clone())),
                changes,
                shutdown.child_token(),
            ),
        ));
    let authenticator = Arc::new(access::LocalAuthenticator::new(api_keys));
    let parts = ServerParts::new("membership", services, authenticator, &config.server);
    tributary_runtime::server::serve(listener, parts, shutdown).await?;
    db.close().await?;
    Ok(())
}

/// Binds the configured listen address and serves until `shutdown` is cancelled.
pub async fn bind_and_serve(
    config: MembershipConfig,
    shutdown: CancellationToken,
) -> Result<(), Error> {
    let listener = tributary_runtime::server::bind(config.server.listen).await?;
    serve(config, listener, shutdown).await
}

/// Applies pending migrations to the configured database.
pub async fn migrate(config: MembershipConfig) -> Result<(), Error> {
    tributary_runtime::db::migrate::<store::Migrator>(&config.server.database_url).await?;
    Ok(())
}
