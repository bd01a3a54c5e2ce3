//! What Config aggregators ask membership: which regions are registered, declaring and withdrawing
//! an aggregator's sources (membership creates the pending requests and answers for organization
//! sources), and which organization an owner belongs to. [`MembershipDirectory`] asks the real
//! membership with the aggregator's service key; tests substitute their own [`Directory`].

use tonic::{Code, Status, service::interceptor::InterceptedService, transport::Channel};
use tonic_types::StatusExt;
use tributary_proto::membership::v1 as membership_pb;
use tributary_runtime::{
    client::BearerToken, config::MembershipClientSettings, error::reason as runtime_reason,
};

use super::inputs::{AggregatorKey, reason};
use crate::error::{Error, Result};

/// The directory and entitlement authority.
#[tonic::async_trait]
pub trait Directory: Send + Sync {
    /// Every registered region.
    async fn registered_regions(&self) -> Result<Vec<String>>;
    /// Records or replaces an aggregator's source declaration.
    async fn declare(&self, declaration: membership_pb::ConfigAggregatorDeclaration) -> Result<()>;
    /// Removes an aggregator's declaration; idempotent.
    async fn withdraw(&self, key: &AggregatorKey) -> Result<()>;
    /// The organization `account_id` belongs to, if any.
    async fn organization_of(&self, account_id: &str) -> Result<Option<String>>;
}

type Authed = InterceptedService<Channel, BearerToken>;

/// Membership over gRPC, called with the aggregator's service key.
pub struct MembershipDirectory {
    /// None when no service key is configured: every call then fails as unavailable.
    clients: Option<Clients>,
}

#[derive(Clone)]
struct Clients {
    regions: membership_pb::region_service_client::RegionServiceClient<Authed>,
    entitlements: membership_pb::entitlement_service_client::EntitlementServiceClient<Authed>,
    organizations: membership_pb::organization_service_client::OrganizationServiceClient<Authed>,
}

impl MembershipDirectory {
    /// Connects lazily to the membership of `settings`, so the aggregator starts before it.
    /// Without a service key (`service_api_key`) the aggregator cannot declare aggregators; it
    /// still starts, and Config aggregator calls fail as unavailable.
    pub fn new(settings: &MembershipClientSettings) -> Result<Self> {
        let Some(service_api_key) = settings.service_api_key.as_deref() else {
            tracing::warn!(
                "no service_api_key (TRIBUTARY_SERVICE_API_KEY): Config aggregators cannot be \
                 declared with membership"
            );
            return Ok(Self { clients: None });
        };
        let channel = tributary_runtime::client::lazy_channel(&settings.membership_endpoint)?;
        let bearer = BearerToken::new(service_api_key)?;
        Ok(Self {
            clients: Some(Clients {
                regions: membership_pb::region_service_client::RegionServiceClient::with_interceptor(
                    channel.clone(),
                    bearer.clone(),
                ),
                entitlements:
                    membership_pb::entitlement_service_client::EntitlementServiceClient::with_interceptor(
                        channel.clone(),
                        bearer.clone(),
                    ),
                organizations:
                    membership_pb::organization_service_client::OrganizationServiceClient::with_interceptor(
                        channel, bearer,
                    ),
            }),
        })
    }

    fn clients(&self) -> Result<Clients> {
        self.clients.clone().ok_or_else(|| {
            Error::Runtime(tributary_runtime::Error::Unavailable(
                "this aggregator has no service key to reach membership with; configure \
                 service_api_key"
                    .into(),
            ))
        })
    }
}

#[tonic::async_trait]
impl Directory for MembershipDirectory {
    async fn registered_regions(&self) -> Result<Vec<String>> {
        let mut regions = Vec::new();
        let mut page_token = String::new();
        loop {
            let page = self
                .clients()?
                .regions
                .list_regions(membership_pb::ListRegionsRequest {
                    page_size: 1000,
                    page_token,
                })
                .await
                .map_err(from_membership)?
                .into_inner();
            regions.extend(page.regions.into_iter().map(|region| region.region_name));
            if page.next_page_token.is_empty() {
                return Ok(regions);
            }
            page_token = page.next_page_token;
        }
    }

    async fn declare(&self, declaration: membership_pb::ConfigAggregatorDeclaration) -> Result<()> {
        self.clients()?
            .entitlements
            .declare_config_aggregator(membership_pb::DeclareConfigAggregatorRequest {
                declaration: Some(declaration),
            })
            .await
            .map_err(from_membership)?;
        Ok(())
    }

    async fn withdraw(&self, key: &AggregatorKey) -> Result<()> {
        self.clients()?
            .entitlements
            .withdraw_config_aggregator(membership_pb::WithdrawConfigAggregatorRequest {
                owner_account_id: key.owner_account_id.clone(),
                home_region: key.home_region.clone(),
                aggregator_name: key.name.clone(),
            })
            .await
            .map_err(from_membership)?;
        Ok(())
    }

    async fn organization_of(&self, account_id: &str) -> Result<Option<String>> {
        match self
            .clients()?
            .organizations
            .describe_account(membership_pb::DescribeAccountRequest {
                account_id: account_id.to_string(),
            })
            .await
        {
            Ok(response) => Ok(response
                .into_inner()
                .account
                .map(|account| account.organization_id)
                .filter(|organization_id| !organization_id.is_empty())),
            Err(status) if status.code() == Code::NotFound => Ok(None),
            Err(status) => Err(from_membership(status)),
        }
    }
}

/// Carries membership's answer to the caller: the AWS exceptions of organization sources and
/// limits keep their name and code; anything else means membership cannot be asked right now.
pub fn from_membership(status: Status) -> Error {
    let membership_reason = status
        .get_details_error_info()
        .map(|info| info.reason)
        .unwrap_or_default();
    let message = status.message().to_string();
    match (status.code(), membership_reason.as_str()) {
        (_, reason::ORGANIZATION_ACCESS_DENIED) => Error::PermissionDenied {
            reason: reason::ORGANIZATION_ACCESS_DENIED,
            message,
        },
        (_, reason::ORGANIZATION_ALL_FEATURES_NOT_ENABLED) => {
            Error::failed_precondition(reason::ORGANIZATION_ALL_FEATURES_NOT_ENABLED, message)
        }
        (_, reason::NO_AVAILABLE_ORGANIZATION) => {
            Error::failed_precondition(reason::NO_AVAILABLE_ORGANIZATION, message)
        }
        (_, reason::LIMIT_EXCEEDED) => Error::limit_exceeded(reason::LIMIT_EXCEEDED, message),
        (Code::InvalidArgument, _) => Error::invalid_field(
            runtime_reason::INVALID_PARAMETER_VALUE,
            "configuration_aggregator_name",
            format!("membership rejected the aggregator's sources: {message}"),
        ),
        (code, _) => {
            tracing::warn!(?code, error = %message, "membership could not be asked about a Config aggregator");
            Error::Runtime(tributary_runtime::Error::Unavailable(
                "membership cannot be reached right now; retry later".into(),
            ))
        }
    }
}
