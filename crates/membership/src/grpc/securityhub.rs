//! `SecurityHubMembersService`: hub enablement, organization administrators, members and
//! invitations.

use std::sync::Arc;

use tonic::{Request, Response, Status};
use tracing::instrument;
use tributary_proto::{membership::v1 as pb, types::v1 as types_pb};
use tributary_runtime::{auth::caller, time::to_timestamp};

use crate::securityhub::{
    AutoEnableStandards, ControlFindingGenerator, Hub, Member, MemberStatus, RelationshipType,
    SecurityHub, Unprocessed,
    inputs::{
        AcceptInvitation, AccountList, AdminAccount, CreateMembersInput, DescribeHubInput,
        EnableHub, OrganizationConfigurationUpdate, UpdateHub, region_only,
    },
};

/// `SecurityHubMembersService` over the Security Hub domain.
pub struct GrpcSecurityHub {
    domain: Arc<SecurityHub>,
}

impl GrpcSecurityHub {
    /// Serves `domain`.
    pub fn new(domain: Arc<SecurityHub>) -> Self {
        Self { domain }
    }
}

#[tonic::async_trait]
impl pb::security_hub_members_service_server::SecurityHubMembersService for GrpcSecurityHub {
    #[instrument(skip_all)]
    async fn enable_security_hub(
        &self,
        request: Request<pb::EnableSecurityHubRequest>,
    ) -> Result<Response<pb::EnableSecurityHubResponse>, Status> {
        let caller = caller(&request)?;
        let input = EnableHub::try_from(request.into_inner())?;
        let hub = self.domain.enable_hub(&caller, input).await?;
        Ok(Response::new(pb::EnableSecurityHubResponse {
            hub: Some(hub.into()),
        }))
    }

    #[instrument(skip_all)]
    async fn disable_security_hub(
        &self,
        request: Request<pb::DisableSecurityHubRequest>,
    ) -> Result<Response<pb::DisableSecurityHubResponse>, Status> {
        let caller = caller(&request)?;
        let region = region_only(&request.into_inner().region)?;
        self.domain.disable_hub(&caller, &region).await?;
        Ok(Response::new(pb::DisableSecurityHubResponse {}))
    }

    #[instrument(skip_all)]
    async fn describe_hub(
        &self,
        request: Request<pb::DescribeHubRequest>,
    ) -> Result<Response<pb::DescribeHubResponse>, Status> {
        let caller = caller(&request)?;
        let message = request.into_inner();
        let input = DescribeHubInput::new(message.region, &message.hub_arn)?;
        let hub = self.domain.describe_hub(&caller, input).await?;
        Ok(Response::new(pb::DescribeHubResponse {
            hub: Some(hub.into()),
        }))
    }

    #[instrument(skip_all)]
    async fn update_security_hub_configuration(
        &self,
        request: Request<pb::UpdateSecurityHubConfigurationRequest>,
    ) -> Result<Response<pb::UpdateSecurityHubConfigurationResponse>, Status> {
        let caller = caller(&request)?;
        let input = UpdateHub::try_from(request.into_inner())?;
        let hub = self.domain.update_hub(&caller, input).await?;
        Ok(Response::new(pb::UpdateSecurityHubConfigurationResponse {
            hub: Some(hub.into()),
        }))
    }

    #[instrument(skip_all)]
    async fn enable_organization_admin_account(
        &self,
        request: Request<pb::EnableOrganizationAdminAccountRequest>,
    ) -> Result<Response<pb::EnableOrganizationAdminAccountResponse>, Status> {
        let caller = caller(&request)?;
        let message = request.into_inner();
        let input = AdminAccount::new(message.region, message.admin_account_id)?;
        let admin_account_id = self
            .domain
            .enable_organization_admin(&caller, input)
            .await?;
        Ok(Response::new(pb::EnableOrganizationAdminAccountResponse {
            admin_account_id,
        }))
    }

    #[instrument(skip_all)]
    async fn disable_organization_admin_account(
        &self,
        request: Request<pb::DisableOrganizationAdminAccountRequest>,
    ) -> Result<Response<pb::DisableOrganizationAdminAccountResponse>, Status> {
        let caller = caller(&request)?;
        let message = request.into_inner();
        let input = AdminAccount::new(message.region, message.admin_account_id)?;
        self.domain
            .disable_organization_admin(&caller, input)
            .await?;
        Ok(Response::new(
            pb::DisableOrganizationAdminAccountResponse {},
        ))
    }

    #[instrument(skip_all)]
    async fn list_organization_admin_accounts(
        &self,
        request: Request<pb::ListOrganizationAdminAccountsRequest>,
    ) -> Result<Response<pb::ListOrganizationAdminAccountsResponse>, Status> {
        let caller = caller(&request)?;
        let message = request.into_inner();
        let region = region_only(&message.region)?;
        let (admins, next_page_token) = self
            .domain
            .list_organization_admins(&caller, &region, message.page_size, &message.page_token)
            .await?;
        Ok(Response::new(pb::ListOrganizationAdminAccountsResponse {
            admin_accounts: admins
                .into_iter()
                .map(|account_id| pb::OrganizationAdminAccount {
                    account_id,
                    status: pb::OrganizationAdminStatus::Enabled as i32,
                })
                .collect(),
            next_page_token,
        }))
    }

    #[instrument(skip_all)]
    async fn update_organization_configuration(
        &self,
        request: Request<pb::UpdateOrganizationConfigurationRequest>,
    ) -> Result<Response<pb::UpdateOrganizationConfigurationResponse>, Status> {
        let caller = caller(&request)?;
        let input = OrganizationConfigurationUpdate::try_from(request.into_inner())?;
        self.domain
            .update_organization_configuration(&caller, input)
            .await?;
        Ok(Response::new(
            pb::UpdateOrganizationConfigurationResponse {},
        ))
    }

    #[instrument(skip_all)]
    async fn describe_organization_configuration(
        &self,
        request: Request<pb::DescribeOrganizationConfigurationRequest>,
    ) -> Result<Response<pb::DescribeOrganizationConfigurationResponse>, Status> {
        let caller = caller(&request)?;
        let region = region_only(&request.into_inner().region)?;
        let configuration = self
            .domain
            .describe_organization_configuration(&caller, &region)
            .await?;
        Ok(Response::new(
            pb::DescribeOrganizationConfigurationResponse {
                auto_enable: configuration.auto_enable,
                member_account_limit_reached: configuration.member_account_limit_reached,
                auto_enable_standards: auto_enable_standards(configuration.auto_enable_standards)
                    as i32,
            },
        ))
    }

    #[instrument(skip_all)]
    async fn create_members(
        &self,
        request: Request<pb::CreateMembersRequest>,
    ) -> Result<Response<pb::CreateMembersResponse>, Status> {
        let caller = caller(&request)?;
        let input = CreateMembersInput::try_from(request.into_inner())?;
        let unprocessed = self.domain.create_members(&caller, input).await?;
        Ok(Response::new(pb::CreateMembersResponse {
            unprocessed_accounts: unprocessed_accounts(unprocessed),
        }))
    }

    #[instrument(skip_all)]
    async fn invite_members(
        &self,
        request: Request<pb::InviteMembersRequest>,
    ) -> Result<Response<pb::InviteMembersResponse>, Status> {
        let caller = caller(&request)?;
        let message = request.into_inner();
        let input = AccountList::new(message.region, message.account_ids)?;
        let unprocessed = self.domain.invite_members(&caller, input).await?;
        Ok(Response::new(pb::InviteMembersResponse {
            unprocessed_accounts: unprocessed_accounts(unprocessed),
        }))
    }

    #[instrument(skip_all)]
    async fn list_invitations(
        &self,
        request: Request<pb::ListInvitationsRequest>,
    ) -> Result<Response<pb::ListInvitationsResponse>, Status> {
        let caller = caller(&request)?;
        let message = request.into_inner();
        let region = region_only(&message.region)?;
        let (invitations, next_page_token) = self
            .domain
            .list_invitations(&caller, &region, message.page_size, &message.page_token)
            .await?;
        Ok(Response::new(pb::ListInvitationsResponse {
            invitations: invitations.into_iter().map(invitation).collect(),
            next_page_token,
        }))
    }

    #[instrument(skip_all)]
    async fn get_invitations_count(
        &self,
        request: Request<pb::GetInvitationsCountRequest>,
    ) -> Result<Response<pb::GetInvitationsCountResponse>, Status> {
        let caller = caller(&request)?;
        let region = region_only(&request.into_inner().region)?;
        let count = self.domain.invitations_count(&caller, &region).await?;
        Ok(Response::new(pb::GetInvitationsCountResponse {
            invitations_count: i32::try_from(count).unwrap_or(i32::MAX),
        }))
    }

    #[instrument(skip_all)]
    async fn accept_administrator_invitation(
        &self,
        request: Request<pb::AcceptAdministratorInvitationRequest>,
    ) -> Result<Response<pb::AcceptAdministratorInvitationResponse>, Status> {
        let caller = caller(&request)?;
        let message = request.into_inner();
        let input = AcceptInvitation::new(
            message.region,
            message.administrator_id,
            message.invitation_id,
        )?;
        self.domain.accept_invitation(&caller, input).await?;
        Ok(Response::new(pb::AcceptAdministratorInvitationResponse {}))
    }

    #[instrument(skip_all)]
    async fn decline_invitations(
        &self,
        request: Request<pb::DeclineInvitationsRequest>,
    ) -> Result<Response<pb::DeclineInvitationsResponse>, Status> {
        let caller = caller(&request)?;
        let message = request.into_inner();
        let input = AccountList::new(message.region, message.account_ids)?;
        let unprocessed = self.domain.decline_invitations(&caller, input).await?;
        Ok(Response::new(pb::DeclineInvitationsResponse {
            unprocessed_accounts: unprocessed_accounts(unprocessed),
        }))
    }

    #[instrument(skip_all)]
    async fn delete_invitations(
        &self,
        request: Request<pb::DeleteInvitationsRequest>,
    ) -> Result<Response<pb::DeleteInvitationsResponse>, Status> {
        let caller = caller(&request)?;
        let message = request.into_inner();
        let input = AccountList::new(message.region, message.account_ids)?;
        let unprocessed = self.domain.delete_invitations(&caller, input).await?;
        Ok(Response::new(pb::DeleteInvitationsResponse {
            unprocessed_accounts: unprocessed_accounts(unprocessed),
        }))
    }

    #[instrument(skip_all)]
    async fn disassociate_from_administrator_account(
        &self,
        request: Request<pb::DisassociateFromAdministratorAccountRequest>,
    ) -> Result<Response<pb::DisassociateFromAdministratorAccountResponse>, Status> {
        let caller = caller(&request)?;
        let region = region_only(&request.into_inner().region)?;
        self.domain
            .disassociate_from_administrator(&caller, &region)
            .await?;
        Ok(Response::new(
            pb::DisassociateFromAdministratorAccountResponse {},
        ))
    }

    #[instrument(skip_all)]
    async fn disassociate_members(
        &self,
        request: Request<pb::DisassociateMembersRequest>,
    ) -> Result<Response<pb::DisassociateMembersResponse>, Status> {
        let caller = caller(&request)?;
        let message = request.into_inner();
        let input = AccountList::new(message.region, message.account_ids)?;
        self.domain.disassociate_members(&caller, input).await?;
        Ok(Response::new(pb::DisassociateMembersResponse {}))
    }

    #[instrument(skip_all)]
    async fn delete_members(
        &self,
        request: Request<pb::DeleteMembersRequest>,
    ) -> Result<Response<pb::DeleteMembersResponse>, Status> {
        let caller = caller(&request)?;
        let message = request.into_inner();
        let input = AccountList::new(message.region, message.account_ids)?;
        let unprocessed = self.domain.delete_members(&caller, input).await?;
        Ok(Response::new(pb::DeleteMembersResponse {
            unprocessed_accounts: unprocessed_accounts(unprocessed),
        }))
    }

    #[instrument(skip_all)]
    async fn list_members(
        &self,
        request: Request<pb::ListMembersRequest>,
    ) -> Result<Response<pb::ListMembersResponse>, Status> {
        let caller = caller(&request)?;
        let message = request.into_inner();
        let region = region_only(&message.region)?;
        let (members, next_page_token) = self
            .domain
            .list_members(
                &caller,
                &region,
                message.only_associated.unwrap_or(true),
                message.page_size,
                &message.page_token,
            )
            .await?;
        Ok(Response::new(pb::ListMembersResponse {
            members: members.into_iter().map(Into::into).collect(),
            next_page_token,
        }))
    }

    #[instrument(skip_all)]
    async fn get_members(
        &self,
        request: Request<pb::GetMembersRequest>,
    ) -> Result<Response<pb::GetMembersResponse>, Status> {
        let caller = caller(&request)?;
        let message = request.into_inner();
        let input = AccountList::new(message.region, message.account_ids)?;
        let (members, unprocessed) = self.domain.get_members(&caller, input).await?;
        Ok(Response::new(pb::GetMembersResponse {
            members: members.into_iter().map(Into::into).collect(),
            unprocessed_accounts: unprocessed_accounts(unprocessed),
        }))
    }

    #[instrument(skip_all)]
    async fn get_administrator_account(
        &self,
        request: Request<pb::GetAdministratorAccountRequest>,
    ) -> Result<Response<pb::GetAdministratorAccountResponse>, Status> {
        let caller = caller(&request)?;
        let region = region_only(&request.into_inner().region)?;
        let administrator = self.domain.administrator(&caller, &region).await?;
        Ok(Response::new(pb::GetAdministratorAccountResponse {
            administrator: administrator.map(invitation),
        }))
    }
}

fn member_status(status: MemberStatus) -> pb::MemberStatus {
    match status {
        MemberStatus::Created => pb::MemberStatus::Created,
        MemberStatus::Invited => pb::MemberStatus::Invited,
        MemberStatus::Enabled => pb::MemberStatus::Enabled,
        MemberStatus::Removed => pb::MemberStatus::Removed,
        MemberStatus::Resigned => pb::MemberStatus::Resigned,
        MemberStatus::Deleted => pb::MemberStatus::Deleted,
        MemberStatus::AccountSuspended => pb::MemberStatus::AccountSuspended,
    }
}

fn control_finding_generator(generator: ControlFindingGenerator) -> pb::ControlFindingGenerator {
    match generator {
        ControlFindingGenerator::SecurityControl => pb::ControlFindingGenerator::SecurityControl,
        ControlFindingGenerator::StandardControl => pb::ControlFindingGenerator::StandardControl,
    }
}

fn auto_enable_standards(standards: AutoEnableStandards) -> pb::AutoEnableStandards {
    match standards {
        AutoEnableStandards::None => pb::AutoEnableStandards::None,
        AutoEnableStandards::Default => pb::AutoEnableStandards::Default,
    }
}

fn unprocessed_accounts(unprocessed: Vec<Unprocessed>) -> Vec<pb::UnprocessedAccount> {
    unprocessed
        .into_iter()
        .map(|account| pb::UnprocessedAccount {
            account_id: account.account_id,
            processing_result: account.processing_result,
        })
        .collect()
}

/// The invited account's (or member's) view of a relationship.
fn invitation(member: Member) -> pb::Invitation {
    pb::Invitation {
        account_id: member.administrator_id,
        invitation_id: member.invitation_id.unwrap_or_default(),
        invited_at: member.invited_at.map(to_timestamp),
        member_status: member_status(member.status) as i32,
    }
}

impl From<Member> for pb::Member {
    fn from(member: Member) -> Self {
        Self {
            account_id: member.account_id,
            email: member.email,
            administrator_id: member.administrator_id,
            member_status: member_status(member.status) as i32,
            invited_at: member.invited_at.map(to_timestamp),
            updated_at: Some(to_timestamp(member.updated_at)),
            relationship_type: match member.relationship_type {
                RelationshipType::Organization => pb::RelationshipType::Organization,
                RelationshipType::Invitation => pb::RelationshipType::Invitation,
            } as i32,
        }
    }
}

impl From<Hub> for pb::Hub {
    fn from(hub: Hub) -> Self {
        Self {
            hub_arn: hub.arn(),
            subscribed_at: Some(to_timestamp(hub.subscribed_at)),
            auto_enable_controls: hub.auto_enable_controls,
            control_finding_generator: control_finding_generator(hub.control_finding_generator)
                as i32,
            default_standards_enabled: hub.default_standards_enabled,
            tags: hub
                .tags
                .into_iter()
                .map(|(key, value)| types_pb::Tag { key, value })
                .collect(),
            account_id: hub.account_id,
            region: hub.region,
        }
    }
}
