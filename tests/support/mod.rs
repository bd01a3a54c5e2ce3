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
