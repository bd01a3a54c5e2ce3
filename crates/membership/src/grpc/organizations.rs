//! `OrganizationService`: organizations, accounts, trusted access and delegated administrators.

use std::sync::Arc;

use tonic::{Request, Response, Status};
use tracing::instrument;
use tributary_proto::membership::v1 as pb;
use tributary_runtime::{auth::caller, time::to_timestamp};

use crate::{
    organizations::{AccountStatus, FeatureSet, NewAccount, Organizations},
    store::{accounts, delegated_administrators, organizations, service_access},
};

/// `OrganizationService` over the directory.
pub struct GrpcOrganizations {
    directory: Arc<Organizations>,
}

impl GrpcOrganizations {
    /// Serves `directory`.
    pub fn new(directory: Arc<Organizations>) -> Self {
        Self { directory }
    }
}

#[tonic::async_trait]
impl pb::organization_service_server::OrganizationService for GrpcOrganizations {
    #[instrument(skip_all)]
    async fn create_organization(
        &self,
        request: Request<pb::CreateOrganizationRequest>,
    ) -> Result<Response<pb::CreateOrganizationResponse>, Status> {
        let caller = caller(&request)?;
        let message = request.into_inner();
        let feature_set = match message.feature_set() {
            pb::FeatureSet::ConsolidatedBilling => FeatureSet::ConsolidatedBilling,
            pb::FeatureSet::All | pb::FeatureSet::Unspecified => FeatureSet::All,
        };
        let organization = self
            .directory
            .create_organization(&caller, &message.management_account_id, feature_set)
            .await?;
        Ok(Response::new(pb::CreateOrganizationResponse {
            organization: Some(organization_message(organization)),
        }))
    }

    #[instrument(skip_all)]
    async fn describe_organization(
        &self,
        request: Request<pb::DescribeOrganizationRequest>,
    ) -> Result<Response<pb::DescribeOrganizationResponse>, Status> {
        let caller = caller(&request)?;
        let organization = self
            .directory
            .describe_organization(&caller, &request.into_inner().organization_id)
            .await?;
        Ok(Response::new(pb::DescribeOrganizationResponse {
            organization: Some(organization_message(organization)),
        }))
    }

    #[instrument(skip_all)]
    async fn delete_organization(
        &self,
        request: Request<pb::DeleteOrganizationRequest>,
    ) -> Result<Response<pb::DeleteOrganizationResponse>, Status> {
        let caller = caller(&request)?;
        self.directory
            .delete_organization(&caller, &request.into_inner().organization_id)
            .await?;
        Ok(Response::new(pb::DeleteOrganizationResponse {}))
    }

    #[instrument(skip_all)]
    async fn create_account(
        &self,
        request: Request<pb::CreateAccountRequest>,
    ) -> Result<Response<pb::CreateAccountResponse>, Status> {
        let caller = caller(&request)?;
        let message = request.into_inner();
        let input = NewAccount::new(
            message.account_id,
            message.name,
            message.email,
            message.organization_id,
        )?;
        let account = self.directory.create_account(&caller, input).await?;
        Ok(Response::new(pb::CreateAccountResponse {
            account: Some(account_message(account)),
        }))
    }

    #[instrument(skip_all)]
    async fn describe_account(
        &self,
        request: Request<pb::DescribeAccountRequest>,
    ) -> Result<Response<pb::DescribeAccountResponse>, Status> {
        let caller = caller(&request)?;
        let account = self
            .directory
            .describe_account(&caller, &request.into_inner().account_id)
            .await?;
        Ok(Response::new(pb::DescribeAccountResponse {
            account: Some(account_message(account)),
        }))
    }

    #[instrument(skip_all)]
    async fn list_accounts(
        &self,
        request: Request<pb::ListAccountsRequest>,
    ) -> Result<Response<pb::ListAccountsResponse>, Status> {
        let caller = caller(&request)?;
        let message = request.into_inner();
        let (accounts, next_page_token) = self
            .directory
            .list_accounts(
                &caller,
                &message.organization_id,
                message.page_size,
                &message.page_token,
            )
            .await?;
        Ok(Response::new(pb::ListAccountsResponse {
            accounts: accounts.into_iter().map(account_message).collect(),
            next_page_token,
        }))
    }

    #[instrument(skip_all)]
    async fn add_account_to_organization(
        &self,
        request: Request<pb::AddAccountToOrganizationRequest>,
    ) -> Result<Response<pb::AddAccountToOrganizationResponse>, Status> {
        let caller = caller(&request)?;
        let message = request.into_inner();
        let account = self
            .directory
            .add_account(&caller, &message.organization_id, &message.account_id)
            .await?;
        Ok(Response::new(pb::AddAccountToOrganizationResponse {
            account: Some(account_message(account)),
        }))
    }

    #[instrument(skip_all)]
    async fn remove_account_from_organization(
        &self,
        request: Request<pb::RemoveAccountFromOrganizationRequest>,
    ) -> Result<Response<pb::RemoveAccountFromOrganizationResponse>, Status> {
        let caller = caller(&request)?;
        let message = request.into_inner();
        let account = self
            .directory
            .remove_account(&caller, &message.organization_id, &message.account_id)
            .await?;
        Ok(Response::new(pb::RemoveAccountFromOrganizationResponse {
            account: Some(account_message(account)),
        }))
    }

    #[instrument(skip_all)]
    async fn suspend_account(
        &self,
        request: Request<pb::SuspendAccountRequest>,
    ) -> Result<Response<pb::SuspendAccountResponse>, Status> {
        let caller = caller(&request)?;
        let account = self
            .directory
            .set_status(
                &caller,
                &request.into_inner().account_id,
                AccountStatus::Suspended,
            )
            .await?;
        Ok(Response::new(pb::SuspendAccountResponse {
            account: Some(account_message(account)),
        }))
    }

    #[instrument(skip_all)]
    async fn reactivate_account(
        &self,
        request: Request<pb::ReactivateAccountRequest>,
    ) -> Result<Response<pb::ReactivateAccountResponse>, Status> {
        let caller = caller(&request)?;
        let account = self
            .directory
            .set_status(
                &caller,
                &request.into_inner().account_id,
                AccountStatus::Active,
            )
            .await?;
        Ok(Response::new(pb::ReactivateAccountResponse {
            account: Some(account_message(account)),
        }))
    }

    #[instrument(skip_all)]
    async fn close_account(
        &self,
        request: Request<pb::CloseAccountRequest>,
    ) -> Result<Response<pb::CloseAccountResponse>, Status> {
        let caller = caller(&request)?;
        let account = self
            .directory
            .set_status(
                &caller,
                &request.into_inner().account_id,
                AccountStatus::Closed,
            )
            .await?;
        Ok(Response::new(pb::CloseAccountResponse {
            account: Some(account_message(account)),
        }))
    }

    #[instrument(skip_all)]
    async fn enable_service_access(
        &self,
        request: Request<pb::EnableServiceAccessRequest>,
    ) -> Result<Response<pb::EnableServiceAccessResponse>, Status> {
        let caller = caller(&request)?;
        let message = request.into_inner();
        self.directory
            .set_service_access(
                &caller,
                &message.organization_id,
                &message.service_principal,
                true,
            )
            .await?;
        Ok(Response::new(pb::EnableServiceAccessResponse {}))
    }

    #[instrument(skip_all)]
    async fn disable_service_access(
        &self,
        request: Request<pb::DisableServiceAccessRequest>,
    ) -> Result<Response<pb::DisableServiceAccessResponse>, Status> {
        let caller = caller(&request)?;
        let message = request.into_inner();
        self.directory
            .set_service_access(
                &caller,
                &message.organization_id,
                &message.service_principal,
                false,
            )
            .await?;
        Ok(Response::new(pb::DisableServiceAccessResponse {}))
    }

    #[instrument(skip_all)]
    async fn list_service_access(
        &self,
        request: Request<pb::ListServiceAccessRequest>,
    ) -> Result<Response<pb::ListServiceAccessResponse>, Status> {
        let caller = caller(&request)?;
        let rows = self
            .directory
            .list_service_access(&caller, &request.into_inner().organization_id)
            .await?;
        Ok(Response::new(pb::ListServiceAccessResponse {
            enabled_services: rows.into_iter().map(service_access_message).collect(),
        }))
    }

    #[instrument(skip_all)]
    async fn register_delegated_administrator(
        &self,
        request: Request<pb::RegisterDelegatedAdministratorRequest>,
    ) -> Result<Response<pb::RegisterDelegatedAdministratorResponse>, Status> {
        let caller = caller(&request)?;
        let message = request.into_inner();
        let registration = self
            .directory
            .register_delegated_administrator(
                &caller,
                &message.organization_id,
                &message.account_id,
                &message.service_principal,
            )
            .await?;
        Ok(Response::new(pb::RegisterDelegatedAdministratorResponse {
            delegated_administrator: Some(delegated_administrator_message(registration)),
        }))
    }

    #[instrument(skip_all)]
    async fn deregister_delegated_administrator(
        &self,
        request: Request<pb::DeregisterDelegatedAdministratorRequest>,
    ) -> Result<Response<pb::DeregisterDelegatedAdministratorResponse>, Status> {
        let caller = caller(&request)?;
        let message = request.into_inner();
        self.directory
            .deregister_delegated_administrator(
                &caller,
                &message.organization_id,
                &message.account_id,
                &message.service_principal,
            )
            .await?;
        Ok(Response::new(
            pb::DeregisterDelegatedAdministratorResponse {},
        ))
    }

    #[instrument(skip_all)]
    async fn list_delegated_administrators(
        &self,
        request: Request<pb::ListDelegatedAdministratorsRequest>,
    ) -> Result<Response<pb::ListDelegatedAdministratorsResponse>, Status> {
        let caller = caller(&request)?;
        let message = request.into_inner();
        let rows = self
            .directory
            .list_delegated_administrators(
                &caller,
                &message.organization_id,
                &message.service_principal,
            )
            .await?;
        Ok(Response::new(pb::ListDelegatedAdministratorsResponse {
            delegated_administrators: rows
                .into_iter()
                .map(delegated_administrator_message)
                .collect(),
        }))
    }
}

fn organization_message(organization: organizations::Model) -> pb::Organization {
    let feature_set = match FeatureSet::parse(&organization.feature_set) {
        FeatureSet::All => pb::FeatureSet::All,
        FeatureSet::ConsolidatedBilling => pb::FeatureSet::ConsolidatedBilling,
    };
    pb::Organization {
        arn: format!(
            "arn:aws:organizations::{}:organization/{}",
            organization.management_account_id, organization.organization_id
        ),
        organization_id: organization.organization_id,
        management_account_id: organization.management_account_id,
        feature_set: feature_set as i32,
        created_at: Some(to_timestamp(organization.created_at)),
    }
}

/// The wire form of an account.
pub fn account_message(account: accounts::Model) -> pb::Account {
    let status = match AccountStatus::parse(&account.status) {
        AccountStatus::Active => pb::AccountStatus::Active,
        AccountStatus::Suspended => pb::AccountStatus::Suspended,
        AccountStatus::Closed => pb::AccountStatus::Closed,
    };
    pb::Account {
        account_id: account.account_id,
        name: account.name,
        email: account.email,
        organization_id: account.organization_id.unwrap_or_default(),
        status: status as i32,
        created_at: Some(to_timestamp(account.created_at)),
        joined_at: account.joined_at.map(to_timestamp),
    }
}

fn service_access_message(row: service_access::Model) -> pb::ServiceAccess {
    pb::ServiceAccess {
        service_principal: row.service_principal,
        enabled_at: Some(to_timestamp(row.enabled_at)),
    }
}

fn delegated_administrator_message(
    row: delegated_administrators::Model,
) -> pb::DelegatedAdministrator {
    pb::DelegatedAdministrator {
        account_id: row.account_id,
        service_principal: row.service_principal,
        registered_at: Some(to_timestamp(row.registered_at)),
    }
}
