//! The in-process test cluster: real services on `127.0.0.1:0` with real stores (SQLite files in a
//! temporary directory, or fresh PostgreSQL databases), handing back typed clients.

#![allow(dead_code)] // Each test binary uses a different part of this module.

pub mod postgres;

use std::{future::Future, net::SocketAddr, time::Duration};

use tempfile::TempDir;
use tonic::{service::interceptor::InterceptedService, transport::Channel};
use tributary_cli::cluster::{Cluster, ClusterSpec};
use tributary_proto::{
    aggregator::v1 as aggregator_pb, collector::v1 as collector_pb, membership::v1 as membership_pb,
};
use tributary_runtime::client::{BearerToken, lazy_channel};

/// A channel that sends an API key with every call.
pub type Authed = InterceptedService<Channel, BearerToken>;

/// Which store the services run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Builds a [`TestCluster`].
pub struct TestClusterBuilder {
    backend: Backend,
    regions: Vec<String>,
    auth_cache_ttl: Duration,
}

impl TestClusterBuilder {
    /// Adds a collector for `region`.
    pub fn collector(mut self, region: &str) -> Self {
        self.regions.push(region.to_string());
        self
    }

    /// Sets how long collectors and the aggregator cache accepted keys.
    pub fn auth_cache_ttl(mut self, ttl: Duration) -> Self {
        self.auth_cache_ttl = ttl;
        self
    }

    /// Starts every service and waits until each is SERVING.
    pub async fn start(self) -> TestCluster {
        let directory = tempfile::tempdir().expect("a temporary directory");
        let databases = match self.backend {
            Backend::Sqlite => None,
            Backend::Postgres => Some(postgres::TestDatabases::new().await),
        };
        let database_url = match &databases {
            Some(databases) => databases.url_factory(),
            None => ClusterSpec::sqlite_in(directory.path()),
        };
        let any_port: SocketAddr = "127.0.0.1:0".parse().expect("a socket address");
        let spec = ClusterSpec {
            membership: any_port,
            aggregator: any_port,
            collectors: self
                .regions
                .iter()
                .map(|region| (region.clone(), any_port))
                .collect(),
            operator_key: format!(
                "trb_test_operator_{}",
                tributary_runtime::db::random_hex(16)
            ),
            service_key: format!("trb_test_service_{}", tributary_runtime::db::random_hex(16)),
            database_url,
            metrics: None,
            shutdown_grace: Duration::from_secs(2),
            auth_cache_ttl: self.auth_cache_ttl,
        };
        let cluster = Cluster::start(spec).await.expect("the cluster starts");
        TestCluster {
            cluster: Some(cluster),
            directory,
            databases,
        }
    }
}

/// A running in-process cluster; dropped databases and files are cleaned up.
pub struct TestCluster {
    cluster: Option<Cluster>,
    pub directory: TempDir,
    databases: Option<postgres::TestDatabases>,
}

impl TestCluster {
    /// A builder on `backend` with no collectors.
    pub fn builder(backend: Backend) -> TestClusterBuilder {
        TestClusterBuilder {
            backend,
            regions: Vec::new(),
            auth_cache_ttl: Duration::from_secs(5),
        }
    }

    pub fn cluster(&self) -> &Cluster {
        self.cluster.as_ref().expect("the cluster is running")
    }

    pub fn operator_key(&self) -> &str {
        &self.cluster().operator_key
    }

    pub fn service_key(&self) -> &str {
        &self.cluster().service_key
    }

    pub fn membership_address(&self) -> SocketAddr {
        self.cluster().membership
    }

    pub fn aggregator_address(&self) -> SocketAddr {
        self.cluster().aggregator
    }

    pub fn collector_address(&self, region: &str) -> SocketAddr {
        self.cluster().collectors[region]
    }

    /// Every service's address with a name for messages.
    pub fn all_addresses(&self) -> Vec<(String, SocketAddr)> {
        let mut addresses = vec![
            ("membership".to_string(), self.membership_address()),
            ("aggregator".to_string(), self.aggregator_address()),
        ];
        for (region, address) in &self.cluster().collectors {
            addresses.push((format!("collector {region}"), *address));
        }
        addresses
    }

    pub fn regions(
        &self,
        key: &str,
    ) -> membership_pb::region_service_client::RegionServiceClient<Authed> {
        membership_pb::region_service_client::RegionServiceClient::with_interceptor(
            channel(self.membership_address()),
            bearer(key),
        )
    }

    pub fn access(
        &self,
        key: &str,
    ) -> membership_pb::access_service_client::AccessServiceClient<Authed> {
        membership_pb::access_service_client::AccessServiceClient::with_interceptor(
            channel(self.membership_address()),
            bearer(key),
        )
    }

    pub fn organizations(
        &self,
        key: &str,
    ) -> membership_pb::organization_service_client::OrganizationServiceClient<Authed> {
        membership_pb::organization_service_client::OrganizationServiceClient::with_interceptor(
            channel(self.membership_address()),
            bearer(key),
        )
    }

    pub fn entitlements(
        &self,
        key: &str,
    ) -> membership_pb::entitlement_service_client::EntitlementServiceClient<Authed> {
        membership_pb::entitlement_service_client::EntitlementServiceClient::with_interceptor(
            channel(self.membership_address()),
            bearer(key),
        )
    }

    /// Creates the standalone account `account_id` unless it exists.
    pub async fn ensure_account(&self, account_id: &str) {
        let described = self
            .organizations(self.operator_key())
            .describe_account(membership_pb::DescribeAccountRequest {
                account_id: account_id.into(),
            })
            .await;
        match described {
            Ok(_) => {}
            Err(status) if status.code() == tonic::Code::NotFound => {
                self.create_account(account_id, "").await;
            }
            Err(status) => panic!("describing account {account_id} failed: {status}"),
        }
    }

    /// Creates an account with the operator key (standalone, or in `organization_id`).
    pub async fn create_account(
        &self,
        account_id: &str,
        organization_id: &str,
    ) -> membership_pb::Account {
        self.organizations(self.operator_key())
            .create_account(membership_pb::CreateAccountRequest {
                account_id: account_id.into(),
                name: format!("account {account_id}"),
                email: String::new(),
                organization_id: organization_id.into(),
            })
            .await
            .expect("the operator creates an account")
            .into_inner()
            .account
            .expect("the account")
    }

    /// Creates an organization managed by a new account `management_account_id`, returning its id
    /// and a management key.
    pub async fn create_organization(&self, management_account_id: &str) -> (String, String) {
        self.create_account(management_account_id, "").await;
        let organization = self
            .organizations(self.operator_key())
            .create_organization(membership_pb::CreateOrganizationRequest {
                management_account_id: management_account_id.into(),
                feature_set: membership_pb::FeatureSet::All as i32,
            })
            .await
            .expect("the operator creates an organization")
            .into_inner()
            .organization
            .expect("the organization");
        let (key, _) = self
            .create_key(membership_pb::Principal {
                kind: membership_pb::PrincipalKind::OrganizationManagement as i32,
                account_id: management_account_id.into(),
                organization_id: organization.organization_id.clone(),
                service_name: String::new(),
            })
            .await;
        (organization.organization_id, key)
    }

    pub fn collector(
        &self,
        region: &str,
        key: &str,
    ) -> collector_pb::collector_service_client::CollectorServiceClient<Authed> {
        collector_pb::collector_service_client::CollectorServiceClient::with_interceptor(
            channel(self.collector_address(region)),
            bearer(key),
        )
    }

    pub fn aggregator(
        &self,
        key: &str,
    ) -> aggregator_pb::aggregator_service_client::AggregatorServiceClient<Authed> {
        aggregator_pb::aggregator_service_client::AggregatorServiceClient::with_interceptor(
            channel(self.aggregator_address()),
            bearer(key),
        )
    }

    /// Creates a key for `principal` with the operator key and returns its secret and id. An
    /// account principal's account is created first when it does not exist yet.
    pub async fn create_key(&self, principal: membership_pb::Principal) -> (String, String) {
        if principal.kind == membership_pb::PrincipalKind::Account as i32 {
            self.ensure_account(&principal.account_id).await;
        }
        let created = self
            .access(self.operator_key())
            .create_api_key(membership_pb::CreateApiKeyRequest {
                name: "test key".into(),
                principal: Some(principal),
            })
            .await
            .expect("the operator creates a key")
            .into_inner();
        let key = created.api_key.expect("the key's metadata");
        (created.secret, key.key_id)
    }

    pub fn authorizations(
        &self,
        key: &str,
    ) -> membership_pb::aggregation_authorization_service_client::AggregationAuthorizationServiceClient<Authed>
    {
        membership_pb::aggregation_authorization_service_client::AggregationAuthorizationServiceClient::with_interceptor(
            channel(self.membership_address()),
            bearer(key),
        )
    }

    pub fn securityhub(
        &self,
        key: &str,
    ) -> membership_pb::security_hub_members_service_client::SecurityHubMembersServiceClient<Authed>
    {
        membership_pb::security_hub_members_service_client::SecurityHubMembersServiceClient::with_interceptor(
            channel(self.membership_address()),
            bearer(key),
        )
    }

    /// Creates an account principal's key for `account_id` and returns its secret.
    pub async fn account_key(&self, account_id: &str) -> String {
        self.create_key(account_principal(account_id)).await.0
    }

    /// Stops every service gracefully, failing the test if any service failed.
    pub async fn shutdown(mut self) {
        if let Some(cluster) = self.cluster.take() {
            cluster
                .shutdown()
                .await
                .expect("every service stops cleanly");
        }
    }
}

/// A plaintext channel to a loopback address.
pub fn channel(address: SocketAddr) -> Channel {
    lazy_channel(&format!("http://{address}")).expect("a valid endpoint")
}

pub fn bearer(key: &str) -> BearerToken {
    BearerToken::new(key).expect("a printable key")
}

/// An account principal.
pub fn account_principal(account_id: &str) -> membership_pb::Principal {
    membership_pb::Principal {
        kind: membership_pb::PrincipalKind::Account as i32,
        account_id: account_id.into(),
        ..Default::default()
    }
}

/// The `ErrorInfo.reason` of a status.
pub fn reason(status: &tonic::Status) -> String {
    use tonic_types::StatusExt;
    status
        .get_details_error_info()
        .map(|info| info.reason)
        .unwrap_or_default()
}

/// The fields named in a status's `BadRequest`.
pub fn violated_fields(status: &tonic::Status) -> Vec<String> {
    use tonic_types::StatusExt;
    status
        .get_details_bad_request()
        .map(|bad_request| {
            bad_request
                .field_violations
                .into_iter()
                .map(|violation| violation.field)
                .collect()
        })
        .unwrap_or_default()
}

/// Polls `check` until it returns `Ok`, failing with the last observation after `deadline`.
pub async fn eventually<T, F, Fut>(what: &str, deadline: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    let give_up = tokio::time::Instant::now() + deadline;
    loop {
        match check().await {
            Ok(value) => return value,
            Err(observed) if tokio::time::Instant::now() >= give_up => {
                panic!("{what}: not true within {deadline:?}; last observed: {observed}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

/// Runs each named `async fn(Backend)` as two tests: `sqlite::<name>` and `postgres::<name>`.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::support::Backend::Sqlite).await;
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::support::Backend::Postgres).await;
                }
            )+
        }
    };
}

impl TestCluster {
    /// The `ConfigService` of the collector of `region`, calling with `key`.
    pub fn config(
        &self,
        region: &str,
        key: &str,
    ) -> collector_pb::config_service_client::ConfigServiceClient<Authed> {
        collector_pb::config_service_client::ConfigServiceClient::with_interceptor(
            channel(self.collector_address(region)),
            bearer(key),
        )
    }

    /// The `ChangeLogService` of the collector of `region`, calling with `key`.
    pub fn change_log(
        &self,
        region: &str,
        key: &str,
    ) -> collector_pb::change_log_service_client::ChangeLogServiceClient<Authed> {
        collector_pb::change_log_service_client::ChangeLogServiceClient::with_interceptor(
            channel(self.collector_address(region)),
            bearer(key),
        )
    }
}

impl TestCluster {
    /// Declares the account-source Config aggregator `name` of `owner` in `home_region` covering
    /// `accounts` in `regions`, with every listed account other than the owner authorizing it in
    /// each region, so every pair is AUTHORIZED. Creates missing accounts. Returns the reference a
    /// change-log stream names.
    pub async fn entitled_config_aggregator(
        &self,
        owner: &str,
        home_region: &str,
        name: &str,
        accounts: &[&str],
        regions: &[&str],
    ) -> membership_pb::AggregatorReference {
        self.ensure_account(owner).await;
        for account_id in accounts.iter().filter(|account_id| **account_id != owner) {
            let key = self.account_key(account_id).await;
            for region in regions {
                self.authorizations(&key)
                    .put_aggregation_authorization(
                        membership_pb::PutAggregationAuthorizationRequest {
                            region: region.to_string(),
                            authorized_account_id: owner.into(),
                            authorized_aws_region: home_region.into(),
                            tags: Vec::new(),
                        },
                    )
                    .await
                    .expect("the source authorizes the aggregator");
            }
        }
        self.entitlements(self.service_key())
            .declare_config_aggregator(membership_pb::DeclareConfigAggregatorRequest {
                declaration: Some(membership_pb::ConfigAggregatorDeclaration {
                    owner_account_id: owner.into(),
                    home_region: home_region.into(),
                    aggregator_name: name.into(),
                    account_ids: accounts.iter().map(|account| account.to_string()).collect(),
                    organization_source: false,
                    all_regions: false,
                    regions: regions.iter().map(|region| region.to_string()).collect(),
                }),
            })
            .await
            .expect("the aggregator is declared");
        config_aggregator_reference(owner, home_region, name)
    }
}

/// The reference of a Config aggregator, declared or not.
pub fn config_aggregator_reference(
    owner: &str,
    home_region: &str,
    name: &str,
) -> membership_pb::AggregatorReference {
    membership_pb::AggregatorReference {
        aggregator: Some(
            membership_pb::aggregator_reference::Aggregator::ConfigAggregator(
                membership_pb::ConfigAggregatorKey {
                    owner_account_id: owner.into(),
                    home_region: home_region.into(),
                    aggregator_name: name.into(),
                },
            ),
        ),
    }
}

/// Enables the hub of both accounts in `region` (where not yet enabled) and makes `member_id` an
/// Enabled member of `administrator_id` there by invitation and acceptance.
pub async fn make_enabled_member(
    cluster: &TestCluster,
    administrator_key: &str,
    administrator_id: &str,
    member_id: &str,
    member_key: &str,
    region: &str,
) {
    for key in [administrator_key, member_key] {
        let enabled = cluster
            .securityhub(key)
            .enable_security_hub(membership_pb::EnableSecurityHubRequest {
                region: region.into(),
                ..Default::default()
            })
            .await;
        match enabled {
            Ok(_) => {}
            Err(status) if status.code() == tonic::Code::AlreadyExists => {}
            Err(status) => panic!("enabling the hub in {region} failed: {status}"),
        }
    }
    let mut administrator = cluster.securityhub(administrator_key);
    let created = administrator
        .create_members(membership_pb::CreateMembersRequest {
            region: region.into(),
            account_details: vec![membership_pb::AccountDetails {
                account_id: member_id.into(),
                email: String::new(),
            }],
        })
        .await
        .expect("members are created")
        .into_inner();
    assert!(created.unprocessed_accounts.is_empty(), "{created:?}");
    let invited = administrator
        .invite_members(membership_pb::InviteMembersRequest {
            region: region.into(),
            account_ids: vec![member_id.into()],
        })
        .await
        .expect("members are invited")
        .into_inner();
    assert!(invited.unprocessed_accounts.is_empty(), "{invited:?}");
    let mut member = cluster.securityhub(member_key);
    let invitation = member
        .list_invitations(membership_pb::ListInvitationsRequest {
            region: region.into(),
            ..Default::default()
        })
        .await
        .expect("invitations are listed")
        .into_inner()
        .invitations
        .into_iter()
        .find(|invitation| invitation.account_id == administrator_id)
        .expect("the invitation is listed");
    member
        .accept_administrator_invitation(membership_pb::AcceptAdministratorInvitationRequest {
            region: region.into(),
            administrator_id: administrator_id.into(),
            invitation_id: invitation.invitation_id,
        })
        .await
        .expect("the invitation is accepted");
}

impl TestCluster {
    /// The `ComplianceService` of the collector of `region`, calling with `key`.
    pub fn compliance(
        &self,
        region: &str,
        key: &str,
    ) -> collector_pb::compliance_service_client::ComplianceServiceClient<Authed> {
        collector_pb::compliance_service_client::ComplianceServiceClient::with_interceptor(
            channel(self.collector_address(region)),
            bearer(key),
        )
    }
}

impl TestCluster {
    /// The `SecurityHubService` of the collector of `region`, calling with `key`.
    pub fn findings(
        &self,
        region: &str,
        key: &str,
    ) -> collector_pb::security_hub_service_client::SecurityHubServiceClient<Authed> {
        collector_pb::security_hub_service_client::SecurityHubServiceClient::with_interceptor(
            channel(self.collector_address(region)),
            bearer(key),
        )
    }
}

impl TestCluster {
    /// Enables the Security Hub of the account behind `key` in `region` (a no-op when enabled).
    pub async fn enable_hub(&self, key: &str, region: &str) {
        let enabled = self
            .securityhub(key)
            .enable_security_hub(membership_pb::EnableSecurityHubRequest {
                region: region.into(),
                ..Default::default()
            })
            .await;
        match enabled {
            Ok(_) => {}
            Err(status) if status.code() == tonic::Code::AlreadyExists => {}
            Err(status) => panic!("enabling the hub in {region} failed: {status}"),
        }
    }

    /// An account key for `account_id` whose hub is enabled in `region`.
    pub async fn hub_account_key(&self, account_id: &str, region: &str) -> String {
        let key = self.account_key(account_id).await;
        self.enable_hub(&key, region).await;
        key
    }

    /// Starts one more collector, for `region`, configured by `configure` on top of what the
    /// cluster's collectors get, and registers the region with membership. It stores in the
    /// cluster's backend and stops with [`ExtraCollector::stop`].
    pub async fn start_collector(
        &self,
        region: &str,
        configure: impl FnOnce(&mut tributary_collector::CollectorConfig),
    ) -> ExtraCollector {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback listener");
        let address = listener.local_addr().expect("a bound address");
        let service = format!("collector-extra-{region}");
        let database_url = match &self.databases {
            Some(databases) => databases.create(&service).await,
            None => tributary_runtime::db::sqlite_url(
                &self.directory.path().join(format!("{service}.db")),
            ),
        };
        let mut config = tributary_collector::CollectorConfig {
            region: region.into(),
            membership: tributary_runtime::config::MembershipClientSettings {
                membership_endpoint: format!("http://{}", self.membership_address()),
                service_api_key: Some(self.service_key().to_string()),
                auth_cache_ttl_seconds: 5,
            },
            ..tributary_collector::CollectorConfig::default()
        };
        config.server.database_url = database_url;
        config.server.listen = address;
        config.server.shutdown_grace_seconds = 2;
        configure(&mut config);
        let shutdown = tokio_util::sync::CancellationToken::new();
        let task = tokio::spawn(tributary_collector::serve(
            config,
            listener,
            shutdown.clone(),
        ));
        self.regions(self.operator_key())
            .register_region(membership_pb::RegisterRegionRequest {
                region_name: region.into(),
                collector_endpoint: format!("http://{address}"),
                opt_in: false,
            })
            .await
            .expect("the operator registers the region");
        eventually(
            "the extra collector serves",
            Duration::from_secs(20),
            || async {
                tonic_health::pb::health_client::HealthClient::new(channel(address))
                    .check(tonic_health::pb::HealthCheckRequest::default())
                    .await
                    .map_err(|status| status.to_string())
                    .and_then(|response| {
                        (response.into_inner().status
                            == tonic_health::pb::health_check_response::ServingStatus::Serving
                                as i32)
                            .then_some(())
                            .ok_or_else(|| "not serving yet".to_string())
                    })
            },
        )
        .await;
        ExtraCollector {
            address,
            shutdown,
            task,
        }
    }
}

/// A collector started next to a [`TestCluster`]'s own.
pub struct ExtraCollector {
    pub address: SocketAddr,
    shutdown: tokio_util::sync::CancellationToken,
    task: tokio::task::JoinHandle<Result<(), tributary_collector::Error>>,
}

impl ExtraCollector {
    /// The `SecurityHubService` of this collector, calling with `key`.
    pub fn findings(
        &self,
        key: &str,
    ) -> collector_pb::security_hub_service_client::SecurityHubServiceClient<Authed> {
        collector_pb::security_hub_service_client::SecurityHubServiceClient::with_interceptor(
            channel(self.address),
            bearer(key),
        )
    }

    /// The `ChangeLogService` of this collector, calling with `key`.
    pub fn change_log(
        &self,
        key: &str,
    ) -> collector_pb::change_log_service_client::ChangeLogServiceClient<Authed> {
        collector_pb::change_log_service_client::ChangeLogServiceClient::with_interceptor(
            channel(self.address),
            bearer(key),
        )
    }

    /// Stops the collector, failing the test if it failed.
    pub async fn stop(self) {
        self.shutdown.cancel();
        self.task
            .await
            .expect("the collector task does not panic")
            .expect("the collector stops cleanly");
    }
}

/// A valid ASFF finding of `account` in `region` under the account's default product, with
/// severity `label` and provider update time `updated` (seconds since the epoch).
pub fn sample_finding(
    region: &str,
    account: &str,
    id: &str,
    label: collector_pb::SeverityLabel,
    updated: i64,
) -> collector_pb::Finding {
    let timestamp = |seconds| Some(prost_types::Timestamp { seconds, nanos: 0 });
    collector_pb::Finding {
        schema_version: "2018-10-08".into(),
        id: id.into(),
        product_arn: format!("arn:aws:securityhub:{region}:{account}:product/{account}/default"),
        generator_id: "check-1".into(),
        aws_account_id: account.into(),
        types: vec!["Software and Configuration Checks".into()],
        created_at: timestamp(1_700_000_000),
        updated_at: timestamp(updated),
        severity: Some(collector_pb::FindingSeverity {
            label: label as i32,
            ..Default::default()
        }),
        title: format!("finding {id}"),
        description: "a test finding".into(),
        resources: vec![collector_pb::FindingResource {
            r#type: "Other".into(),
            id: format!("resource-{id}"),
            ..Default::default()
        }],
        ..Default::default()
    }
}

impl TestCluster {
    /// The database URL of the cluster's aggregator.
    pub fn aggregator_database_url(&self) -> String {
        match &self.databases {
            Some(databases) => databases.url("aggregator"),
            None => tributary_runtime::db::sqlite_url(&self.directory.path().join("aggregator.db")),
        }
    }

    /// A new, empty database for an extra service named `service` on the cluster's backend.
    pub async fn extra_database_url(&self, service: &str) -> String {
        match &self.databases {
            Some(databases) => databases.create(service).await,
            None => tributary_runtime::db::sqlite_url(
                &self.directory.path().join(format!("{service}.db")),
            ),
        }
    }

    /// Client settings for an extra service that calls membership with the service key.
    pub fn membership_client_settings(
        &self,
    ) -> tributary_runtime::config::MembershipClientSettings {
        tributary_runtime::config::MembershipClientSettings {
            membership_endpoint: format!("http://{}", self.membership_address()),
            service_api_key: Some(self.service_key().to_string()),
            auth_cache_ttl_seconds: 5,
        }
    }

    /// The settings of an extra aggregator storing into `database_url`.
    pub fn standalone_aggregator_config(
        &self,
        database_url: String,
    ) -> tributary_aggregator::AggregatorConfig {
        let mut server = tributary_runtime::config::ServerSettings::with_defaults(
            "127.0.0.1:0".parse().expect("a socket address"),
            "unused.db",
        );
        server.database_url = database_url;
        server.shutdown_grace_seconds = 2;
        tributary_aggregator::AggregatorConfig {
            server,
            membership: self.membership_client_settings(),
            ..tributary_aggregator::AggregatorConfig::default()
        }
    }

    /// Starts an extra collector for `region` on its own database and registers it with
    /// membership; stop and restart it to take the region's collector down and up.
    pub async fn standalone_collector(&self, region: &str) -> Standalone {
        let mut server = tributary_runtime::config::ServerSettings::with_defaults(
            "127.0.0.1:0".parse().expect("a socket address"),
            "unused.db",
        );
        server.database_url = self
            .extra_database_url(&format!("collector-{region}"))
            .await;
        server.shutdown_grace_seconds = 1;
        let config = tributary_collector::CollectorConfig {
            server,
            membership: self.membership_client_settings(),
            region: region.to_string(),
            ..tributary_collector::CollectorConfig::default()
        };
        let collector = Standalone::start(move |listener, shutdown| {
            let config = config.clone();
            Box::pin(async move {
                tributary_collector::serve(config, listener, shutdown)
                    .await
                    .expect("the collector serves");
            })
        });
        wait_serving(collector.address).await;
        self.regions(self.operator_key())
            .register_region(membership_pb::RegisterRegionRequest {
                region_name: region.to_string(),
                collector_endpoint: format!("http://{}", collector.address),
                opt_in: false,
            })
            .await
            .expect("the region is registered");
        collector
    }

    /// The `ConfigService` of a standalone collector, calling with `key`.
    pub fn standalone_config(
        &self,
        collector: &Standalone,
        key: &str,
    ) -> collector_pb::config_service_client::ConfigServiceClient<Authed> {
        collector_pb::config_service_client::ConfigServiceClient::with_interceptor(
            channel(collector.address),
            bearer(key),
        )
    }
}

/// What a [`Standalone`] service runs: given its listener and shutdown token, serve.
pub type ServeFn = std::sync::Arc<
    dyn Fn(
            tokio::net::TcpListener,
            tokio_util::sync::CancellationToken,
        ) -> std::pin::Pin<Box<dyn Future<Output = ()> + Send>>
        + Send
        + Sync,
>;

/// A service on a runtime of its own at a fixed address: `stop` shuts it down gracefully, `crash`
/// drops every one of its tasks at once (as if the process died), and `start_again` serves again
/// on the same address and database.
pub struct Standalone {
    pub address: SocketAddr,
    serve: ServeFn,
    runtime: Option<tokio::runtime::Runtime>,
    shutdown: tokio_util::sync::CancellationToken,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Standalone {
    /// Starts `serve` on a free loopback port.
    pub fn start<F>(serve: F) -> Self
    where
        F: Fn(
                tokio::net::TcpListener,
                tokio_util::sync::CancellationToken,
            ) -> std::pin::Pin<Box<dyn Future<Output = ()> + Send>>
            + Send
            + Sync
            + 'static,
    {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
        let address = listener.local_addr().expect("a bound address");
        let mut service = Self {
            address,
            serve: std::sync::Arc::new(serve),
            runtime: None,
            shutdown: tokio_util::sync::CancellationToken::new(),
            task: None,
        };
        service.spawn(Some(listener));
        service
    }

    fn spawn(&mut self, listener: Option<std::net::TcpListener>) {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a runtime");
        let shutdown = tokio_util::sync::CancellationToken::new();
        let serve = self.serve.clone();
        let address = self.address;
        let token = shutdown.clone();
        let task = runtime.spawn(async move {
            let listener = match listener {
                Some(listener) => {
                    listener
                        .set_nonblocking(true)
                        .expect("a non-blocking socket");
                    tokio::net::TcpListener::from_std(listener).expect("a tokio listener")
                }
                // The crashed instance's socket may take a moment to close.
                None => {
                    let give_up = tokio::time::Instant::now() + Duration::from_secs(10);
                    loop {
                        match tokio::net::TcpListener::bind(address).await {
                            Ok(listener) => break listener,
                            Err(error) if tokio::time::Instant::now() < give_up => {
                                let _ = error;
                                tokio::time::sleep(Duration::from_millis(50)).await;
                            }
                            Err(error) => panic!("cannot listen on {address} again: {error}"),
                        }
                    }
                }
            };
            serve(listener, token).await;
        });
        self.runtime = Some(runtime);
        self.shutdown = shutdown;
        self.task = Some(task);
    }

    /// Shuts the service down gracefully and waits for it.
    pub async fn stop(&mut self) {
        self.shutdown.cancel();
        if let Some(task) = self.task.take() {
            task.await.expect("the service stops cleanly");
        }
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }

    /// Drops every task of the service at once, mid-whatever it was doing.
    pub fn crash(&mut self) {
        self.task = None;
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }

    /// Serves again on the same address.
    pub async fn start_again(&mut self) {
        assert!(self.runtime.is_none(), "stop or crash the service first");
        self.spawn(None);
        wait_serving(self.address).await;
    }
}

impl Drop for Standalone {
    fn drop(&mut self) {
        self.shutdown.cancel();
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// Waits until the service at `address` reports SERVING.
pub async fn wait_serving(address: SocketAddr) {
    use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus};
    let health = tonic_health::pb::health_client::HealthClient::new(channel(address));
    eventually(
        &format!("the service at {address} serves"),
        Duration::from_secs(30),
        || {
            let mut health = health.clone();
            async move {
                match health
                    .check(HealthCheckRequest {
                        service: String::new(),
                    })
                    .await
                {
                    Ok(response) if response.get_ref().status == ServingStatus::Serving as i32 => {
                        Ok(())
                    }
                    Ok(response) => Err(format!("{:?}", response.into_inner())),
                    Err(status) => Err(status.to_string()),
                }
            }
        },
    )
    .await;
}

impl TestCluster {
    /// The aggregator's `FindingAggregatorService`, calling with `key`.
    pub fn finding_aggregators(
        &self,
        key: &str,
    ) -> aggregator_pb::finding_aggregator_service_client::FindingAggregatorServiceClient<Authed>
    {
        aggregator_pb::finding_aggregator_service_client::FindingAggregatorServiceClient::with_interceptor(
            channel(self.aggregator_address()),
            bearer(key),
        )
    }
}

/// Databases for services a test starts on its own (outside [`TestCluster`]): SQLite files in a
/// temporary directory, or fresh PostgreSQL databases dropped afterwards.
pub struct ServiceDatabases {
    pub directory: TempDir,
    postgres: Option<postgres::TestDatabases>,
}

impl ServiceDatabases {
    pub async fn new(backend: Backend) -> Self {
        Self {
            directory: tempfile::tempdir().expect("a temporary directory"),
            postgres: match backend {
                Backend::Sqlite => None,
                Backend::Postgres => Some(postgres::TestDatabases::new().await),
            },
        }
    }

    /// A new, empty database for `service`.
    pub async fn url(&self, service: &str) -> String {
        match &self.postgres {
            Some(databases) => databases.create(service).await,
            None => tributary_runtime::db::sqlite_url(
                &self.directory.path().join(format!("{service}.db")),
            ),
        }
    }
}

impl TestCluster {
    /// The aggregator's `ConfigAggregatorService`, calling with `key`.
    pub fn config_aggregators(
        &self,
        key: &str,
    ) -> aggregator_pb::config_aggregator_service_client::ConfigAggregatorServiceClient<Authed>
    {
        aggregator_pb::config_aggregator_service_client::ConfigAggregatorServiceClient::with_interceptor(
            channel(self.aggregator_address()),
            bearer(key),
        )
    }
}

impl TestCluster {
    /// The change-log head of the collector of `region`.
    pub async fn change_log_head(&self, region: &str) -> u64 {
        self.change_log(region, self.service_key())
            .get_head(collector_pb::GetHeadRequest {})
            .await
            .expect("the head is read")
            .into_inner()
            .head_seq
    }

    /// The change records of `kinds` for `account` in `region` above `from_seq` up to the current
    /// head, read with Subscribe for a Config aggregator of `account` named `aggregator`.
    pub async fn change_records(
        &self,
        region: &str,
        account: &str,
        aggregator: &str,
        kinds: &[collector_pb::ChangeKind],
        from_seq: u64,
    ) -> Vec<collector_pb::ChangeRecord> {
        let head = self.change_log_head(region).await;
        let aggregator = self
            .entitled_config_aggregator(account, region, aggregator, &[account], &[region])
            .await;
        let mut stream = self
            .change_log(region, self.service_key())
            .subscribe(collector_pb::SubscribeRequest {
                from_seq,
                account_ids: vec![account.into()],
                kinds: kinds.iter().map(|kind| *kind as i32).collect(),
                aggregator: Some(aggregator),
                ..Default::default()
            })
            .await
            .expect("the subscription starts")
            .into_inner();
        let mut records = Vec::new();
        let mut through = from_seq;
        while through < head {
            let batch = tokio::time::timeout(Duration::from_secs(10), stream.message())
                .await
                .expect("the stream delivers")
                .expect("the stream does not fail")
                .expect("the stream stays open");
            through = batch.through_seq;
            records.extend(batch.records);
        }
        records
    }
}
