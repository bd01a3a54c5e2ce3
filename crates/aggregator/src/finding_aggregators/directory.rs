//! What finding aggregators ask membership: which regions are registered, whether an account has
//! its hub enabled (and under which administrator) in a region, and declaring and withdrawing an
//! aggregator so that its entitlements resolve. [`MembershipDirectory`] asks the real membership
//! with the aggregator's service key; tests substitute their own [`Directory`].

use tonic::{Code, Status, service::interceptor::InterceptedService, transport::Channel};
use tonic_types::StatusExt;
use tributary_proto::membership::v1 as membership_pb;
use tributary_runtime::{
    client::BearerToken, config::MembershipClientSettings, error::reason as runtime_reason,
};

use super::inputs::{MEMBER_CANNOT_CREATE, reason};
use crate::error::{Error, Result};

/// A region registered in membership.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisteredRegion {
    /// The region name.
    pub name: String,
    /// True for opt-in regions (disabled by default).
    pub opt_in: bool,
}

/// An account's Security Hub in one region.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HubStatus {
    /// The hub is enabled.
    pub enabled: bool,
    /// The account's administrator there when their relationship is Enabled.
    pub administrator_account_id: Option<String>,
}

/// The directory and entitlement authority, as finding aggregators need it.
#[tonic::async_trait]
pub trait Directory: Send + Sync {
    /// Every registered region.
    async fn registered_regions(&self) -> Result<Vec<RegisteredRegion>>;
    /// The account's hub in the region; an unknown account has no hub.
    async fn hub_status(&self, account_id: &str, region: &str) -> Result<HubStatus>;
    /// Records or replaces the owner's finding aggregator declaration. A member is refused with
    /// FAILED_PRECONDITION `InvalidInputException`.
    async fn declare(&self, declaration: membership_pb::FindingAggregatorDeclaration)
    -> Result<()>;
    /// Removes the owner's declaration; idempotent.
    async fn withdraw(&self, owner_account_id: &str) -> Result<()>;
}

type Authed = InterceptedService<Channel, BearerToken>;

/// Membership over gRPC, called with the aggregator's service key.
pub struct MembershipDirectory {
    regions: membership_pb::region_service_client::RegionServiceClient<Authed>,
    access: membership_pb::access_service_client::AccessServiceClient<Authed>,
    entitlements: membership_pb::entitlement_service_client::EntitlementServiceClient<Authed>,
}

impl MembershipDirectory {
    /// Connects lazily to the membership of `settings`, so the aggregator starts before it.
    pub fn new(settings: &MembershipClientSettings) -> Result<Self> {
        let service_api_key = settings.service_api_key.as_deref().ok_or_else(|| {
            tributary_runtime::Error::Config(
                "service_api_key (TRIBUTARY_SERVICE_API_KEY) is required to declare finding \
                 aggregators with membership"
                    .into(),
            )
        })?;
        let channel = tributary_runtime::client::lazy_channel(&settings.membership_endpoint)?;
        let bearer = BearerToken::new(service_api_key)?;
        Ok(Self {
            regions: membership_pb::region_service_client::RegionServiceClient::with_interceptor(
                channel.clone(),
                bearer.clone(),
            ),
            access: membership_pb::access_service_client::AccessServiceClient::with_interceptor(
                channel.clone(),
                bearer.clone(),
            ),
            entitlements:
                membership_pb::entitlement_service_client::EntitlementServiceClient::with_interceptor(
                    channel, bearer,
                ),
        })
    }
}

#[tonic::async_trait]
impl Directory for MembershipDirectory {
    async fn registered_regions(&self) -> Result<Vec<RegisteredRegion>> {
        let mut regions = Vec::new();
        let mut page_token = String::new();
        loop {
            let page = self
                .regions
                .clone()
                .list_regions(membership_pb::ListRegionsRequest {
                    page_size: 1000,
                    page_token,
                })
                .await
                .map_err(unavailable)?
                .into_inner();
            regions.extend(page.regions.into_iter().map(|region| RegisteredRegion {
                name: region.region_name,
                opt_in: region.opt_in,
            }));
            if page.next_page_token.is_empty() {
                return Ok(regions);
            }
            page_token = page.next_page_token;
        }
    }

    async fn hub_status(&self, account_id: &str, region: &str) -> Result<HubStatus> {
        let status = self
            .access
            .clone()
            .describe_hub_status(membership_pb::DescribeHubStatusRequest {
                account_id: account_id.to_string(),
                region: region.to_string(),
            })
            .await
            .map_err(unavailable)?
            .into_inner();
        Ok(HubStatus {
            enabled: status.hub_enabled,
            administrator_account_id: Some(status.administrator_account_id)
                .filter(|administrator| !administrator.is_empty()),
        })
    }

    async fn declare(
        &self,
        declaration: membership_pb::FindingAggregatorDeclaration,
    ) -> Result<()> {
        self.entitlements
            .clone()
            .declare_finding_aggregator(membership_pb::DeclareFindingAggregatorRequest {
                declaration: Some(declaration),
            })
            .await
            .map_err(declaration_refused)?;
        Ok(())
    }

    async fn withdraw(&self, owner_account_id: &str) -> Result<()> {
        self.entitlements
            .clone()
            .withdraw_finding_aggregator(membership_pb::WithdrawFindingAggregatorRequest {
                owner_account_id: owner_account_id.to_string(),
            })
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}

/// Carries membership's refusal of a declaration to the caller. The domain checks the hub, the
/// member relationship and the regions first, so these only show when membership changed in
/// between: a member is refused like Security Hub refuses it, an account that is suspended or
/// closed keeps membership's answer, and anything else means membership cannot be asked now.
pub fn declaration_refused(status: Status) -> Error {
    let membership_reason = status
        .get_details_error_info()
        .map(|info| info.reason)
        .unwrap_or_default();
    let message = status.message().to_string();
    match (status.code(), membership_reason.as_str()) {
        (Code::PermissionDenied, runtime_reason::ACCESS_DENIED) => {
            Error::failed_precondition(reason::INVALID_INPUT, MEMBER_CANNOT_CREATE)
        }
        (Code::FailedPrecondition, _) => Error::failed_precondition(reason::INVALID_INPUT, message),
        (Code::NotFound, runtime_reason::RESOURCE_NOT_FOUND) => {
            Error::not_found(runtime_reason::RESOURCE_NOT_FOUND, message)
        }
        (Code::NotFound, _) => Error::failed_precondition(
            reason::INVALID_ACCESS,
            format!("the owner account is not subscribed to AWS Security Hub: {message}"),
        ),
        (Code::InvalidArgument, _) => Error::invalid_field(
            reason::INVALID_INPUT,
            "regions",
            format!("membership refused the aggregator's regions: {message}"),
        ),
        _ => unavailable(status),
    }
}

/// Membership could not be asked: logged here, UNAVAILABLE for the caller.
fn unavailable(status: Status) -> Error {
    tracing::warn!(
        code = ?status.code(),
        error = %status.message(),
        "membership could not be asked about a finding aggregator"
    );
    Error::Runtime(tributary_runtime::Error::Unavailable(
        "membership cannot be reached right now; retry later".into(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason_of(error: &Error) -> &'static str {
        match error {
            Error::FailedPrecondition { reason, .. } | Error::NotFound { reason, .. } => reason,
            Error::Runtime(tributary_runtime::Error::InvalidInput { reason, .. }) => reason,
            Error::Runtime(tributary_runtime::Error::Unavailable(_)) => "unavailable",
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn membership_refusals_become_security_hub_errors() {
        let member = declaration_refused(tributary_runtime::error::status(
            Code::PermissionDenied,
            runtime_reason::ACCESS_DENIED,
            "account is a member",
            &[],
        ));
        assert!(
            matches!(&member, Error::FailedPrecondition { message, .. } if message == MEMBER_CANNOT_CREATE)
        );
        assert_eq!(reason_of(&member), reason::INVALID_INPUT);
        let unknown_account = declaration_refused(tributary_runtime::error::status(
            Code::NotFound,
            "AccountNotFoundException",
            "no such account",
            &[],
        ));
        assert_eq!(reason_of(&unknown_account), reason::INVALID_ACCESS);
        let unknown_region = declaration_refused(tributary_runtime::error::status(
            Code::NotFound,
            runtime_reason::RESOURCE_NOT_FOUND,
            "region ap-east-1 is not registered",
            &[],
        ));
        assert_eq!(
            reason_of(&unknown_region),
            runtime_reason::RESOURCE_NOT_FOUND
        );
        let down = declaration_refused(Status::unavailable("connection refused"));
        assert_eq!(reason_of(&down), "unavailable");
    }
}
