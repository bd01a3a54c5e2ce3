//! `AccessService`: API keys and who they belong to.

use std::sync::Arc;

use tonic::{Request, Response, Status};
use tracing::instrument;
use tributary_proto::membership::v1 as pb;
use tributary_runtime::{auth::caller, time::to_timestamp};

use crate::access::{AccountAccessQuery, ApiKey, ApiKeys, CreateApiKey};

/// `AccessService` over the key store.
pub struct GrpcAccess {
    keys: Arc<ApiKeys>,
}

impl GrpcAccess {
    /// Serves `keys`.
    pub fn new(keys: Arc<ApiKeys>) -> Self {
        Self { keys }
    }
}

#[tonic::async_trait]
impl pb::access_service_server::AccessService for GrpcAccess {
    #[instrument(skip_all)]
    async fn create_api_key(
        &self,
        request: Request<pb::CreateApiKeyRequest>,
    ) -> Result<Response<pb::CreateApiKeyResponse>, Status> {
        let caller = caller(&request)?;
        let message = request.into_inner();
        let input = CreateApiKey::new(message.name, message.principal.as_ref())?;
        let (key, secret) = self.keys.create(&caller, input).await?;
        Ok(Response::new(pb::CreateApiKeyResponse {
            api_key: Some(key.into()),
            secret,
        }))
    }

    #[instrument(skip_all)]
    async fn list_api_keys(
        &self,
        request: Request<pb::ListApiKeysRequest>,
    ) -> Result<Response<pb::ListApiKeysResponse>, Status> {
        let caller = caller(&request)?;
        let message = request.into_inner();
        let (keys, next_page_token) = self
            .keys
            .list(
                &caller,
                message.page_size,
                &message.page_token,
                message.include_revoked,
            )
            .await?;
        Ok(Response::new(pb::ListApiKeysResponse {
            api_keys: keys.into_iter().map(Into::into).collect(),
            next_page_token,
        }))
    }

    #[instrument(skip_all)]
    async fn revoke_api_key(
        &self,
        request: Request<pb::RevokeApiKeyRequest>,
    ) -> Result<Response<pb::RevokeApiKeyResponse>, Status> {
        let caller = caller(&request)?;
        let key = self
            .keys
            .revoke(&caller, &request.into_inner().key_id)
            .await?;
        Ok(Response::new(pb::RevokeApiKeyResponse {
            api_key: Some(key.into()),
        }))
    }

    #[instrument(skip_all)]
    async fn authenticate(
        &self,
        request: Request<pb::AuthenticateRequest>,
    ) -> Result<Response<pb::AuthenticateResponse>, Status> {
        caller(&request)?
            .require_service_or_operator()
            .map_err(Status::from)?;
        let answer = self
            .keys
            .authenticate(&request.into_inner().api_key)
            .await?;
        Ok(Response::new(match answer {
            Some(found) => pb::AuthenticateResponse {
                authenticated: true,
                principal: Some(found.principal.to_proto()),
                key_id: found.key_id,
            },
            None => pb::AuthenticateResponse::default(),
        }))
    }

    #[instrument(skip_all)]
    async fn who_am_i(
        &self,
        request: Request<pb::WhoAmIRequest>,
    ) -> Result<Response<pb::WhoAmIResponse>, Status> {
        let caller = caller(&request)?;
        Ok(Response::new(pb::WhoAmIResponse {
            principal: Some(caller.principal.to_proto()),
            key_id: caller.key_id,
        }))
    }

    #[instrument(skip_all)]
    async fn check_account_access(
        &self,
        request: Request<pb::CheckAccountAccessRequest>,
    ) -> Result<Response<pb::CheckAccountAccessResponse>, Status> {
        let caller = caller(&request)?;
        caller.require_service_or_operator().map_err(Status::from)?;
        let message = request.into_inner();
        let query = AccountAccessQuery::new(
            message.caller_account_id,
            message.target_account_id,
            message.region,
        )?;
        let decision = self.keys.check_account_access(&caller, &query).await?;
        Ok(Response::new(pb::CheckAccountAccessResponse {
            allowed: decision.allowed,
            reason: decision.reason,
        }))
    }

    #[instrument(skip_all)]
    async fn describe_hub_status(
        &self,
        request: Request<pb::DescribeHubStatusRequest>,
    ) -> Result<Response<pb::DescribeHubStatusResponse>, Status> {
        let caller = caller(&request)?;
        let message = request.into_inner();
        let status = self
            .keys
            .describe_hub_status(&caller, &message.account_id, &message.region)
            .await?;
        Ok(Response::new(pb::DescribeHubStatusResponse {
            hub_enabled: status.hub_enabled,
            administrator_account_id: status.administrator_account_id.unwrap_or_default(),
        }))
    }
}

impl From<ApiKey> for pb::ApiKey {
    fn from(key: ApiKey) -> Self {
        Self {
            key_id: key.key_id,
            name: key.name,
            principal: Some(key.principal.to_proto()),
            created_at: Some(to_timestamp(key.created_at)),
            revoked_at: key.revoked_at.map(to_timestamp),
        }
    }
}
