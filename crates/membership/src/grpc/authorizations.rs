//! `AggregationAuthorizationService`: the source side of Config aggregation (authorizations,
//! pending requests, tags).

use std::sync::Arc;

use tonic::{Request, Response, Status};
use tracing::instrument;
use tributary_proto::membership::v1 as pb;
use tributary_runtime::{auth::caller, time::to_timestamp};

use crate::{
    authorizations::{Authorization, Authorizations, PutAuthorization, Tag},
    config_aggregators::PendingRequest,
};

/// `AggregationAuthorizationService` over the authorizations.
pub struct GrpcAuthorizations {
    authorizations: Arc<Authorizations>,
}

impl GrpcAuthorizations {
    /// Serves `authorizations`.
    pub fn new(authorizations: Arc<Authorizations>) -> Self {
        Self { authorizations }
    }
}

#[tonic::async_trait]
impl pb::aggregation_authorization_service_server::AggregationAuthorizationService
    for GrpcAuthorizations
{
    #[instrument(skip_all)]
    async fn put_aggregation_authorization(
        &self,
        request: Request<pb::PutAggregationAuthorizationRequest>,
    ) -> Result<Response<pb::PutAggregationAuthorizationResponse>, Status> {
        let caller = caller(&request)?;
        let input = PutAuthorization::try_from(request.into_inner())?;
        let authorization = self.authorizations.put(&caller, input).await?;
        Ok(Response::new(pb::PutAggregationAuthorizationResponse {
            aggregation_authorization: Some(authorization.into()),
        }))
    }

    #[instrument(skip_all)]
    async fn describe_aggregation_authorizations(
        &self,
        request: Request<pb::DescribeAggregationAuthorizationsRequest>,
    ) -> Result<Response<pb::DescribeAggregationAuthorizationsResponse>, Status> {
        let caller = caller(&request)?;
        let message = request.into_inner();
        let (authorizations, next_page_token) = self
            .authorizations
            .describe(
                &caller,
                &message.region,
                message.page_size,
                &message.page_token,
            )
            .await?;
        Ok(Response::new(
            pb::DescribeAggregationAuthorizationsResponse {
                aggregation_authorizations: authorizations.into_iter().map(Into::into).collect(),
                next_page_token,
            },
        ))
    }

    #[instrument(skip_all)]
    async fn delete_aggregation_authorization(
        &self,
        request: Request<pb::DeleteAggregationAuthorizationRequest>,
    ) -> Result<Response<pb::DeleteAggregationAuthorizationResponse>, Status> {
        let caller = caller(&request)?;
        let message = request.into_inner();
        self.authorizations
            .delete(
                &caller,
                &message.region,
                &message.authorized_account_id,
                &message.authorized_aws_region,
            )
            .await?;
        Ok(Response::new(pb::DeleteAggregationAuthorizationResponse {}))
    }

    #[instrument(skip_all)]
    async fn describe_pending_aggregation_requests(
        &self,
        request: Request<pb::DescribePendingAggregationRequestsRequest>,
    ) -> Result<Response<pb::DescribePendingAggregationRequestsResponse>, Status> {
        let caller = caller(&request)?;
        let message = request.into_inner();
        let (requests, next_page_token) = self
            .authorizations
            .describe_pending(
                &caller,
                &message.region,
                message.page_size,
                &message.page_token,
            )
            .await?;
        Ok(Response::new(
            pb::DescribePendingAggregationRequestsResponse {
                pending_aggregation_requests: requests.into_iter().map(Into::into).collect(),
                next_page_token,
            },
        ))
    }

    #[instrument(skip_all)]
    async fn delete_pending_aggregation_request(
        &self,
        request: Request<pb::DeletePendingAggregationRequestRequest>,
    ) -> Result<Response<pb::DeletePendingAggregationRequestResponse>, Status> {
        let caller = caller(&request)?;
        let message = request.into_inner();
        self.authorizations
            .decline(
                &caller,
                &message.region,
                &message.requester_account_id,
                &message.requester_aws_region,
            )
            .await?;
        Ok(Response::new(
            pb::DeletePendingAggregationRequestResponse {},
        ))
    }

    #[instrument(skip_all)]
    async fn tag_resource(
        &self,
        request: Request<pb::TagResourceRequest>,
    ) -> Result<Response<pb::TagResourceResponse>, Status> {
        let caller = caller(&request)?;
        let message = request.into_inner();
        let tags = message.tags.into_iter().map(Tag::from).collect();
        self.authorizations
            .tag(&caller, &message.resource_arn, tags)
            .await?;
        Ok(Response::new(pb::TagResourceResponse {}))
    }

    #[instrument(skip_all)]
    async fn untag_resource(
        &self,
        request: Request<pb::UntagResourceRequest>,
    ) -> Result<Response<pb::UntagResourceResponse>, Status> {
        let caller = caller(&request)?;
        let message = request.into_inner();
        self.authorizations
            .untag(&caller, &message.resource_arn, &message.tag_keys)
            .await?;
        Ok(Response::new(pb::UntagResourceResponse {}))
    }

    #[instrument(skip_all)]
    async fn list_tags_for_resource(
        &self,
        request: Request<pb::ListTagsForResourceRequest>,
    ) -> Result<Response<pb::ListTagsForResourceResponse>, Status> {
        let caller = caller(&request)?;
        let message = request.into_inner();
        let (tags, next_page_token) = self
            .authorizations
            .list_tags(
                &caller,
                &message.resource_arn,
                message.page_size,
                &message.page_token,
            )
            .await?;
        Ok(Response::new(pb::ListTagsForResourceResponse {
            tags: tags.into_iter().map(Into::into).collect(),
            next_page_token,
        }))
    }
}

impl From<Authorization> for pb::AggregationAuthorization {
    fn from(authorization: Authorization) -> Self {
        Self {
            aggregation_authorization_arn: authorization.arn,
            authorized_account_id: authorization.authorized_account_id,
            authorized_aws_region: authorization.authorized_region,
            creation_time: Some(to_timestamp(authorization.created_at)),
        }
    }
}

impl From<PendingRequest> for pb::PendingAggregationRequest {
    fn from(request: PendingRequest) -> Self {
        Self {
            requester_account_id: request.requester_account_id,
            requester_aws_region: request.requester_region,
            requested_at: Some(to_timestamp(request.requested_at)),
            expires_at: Some(to_timestamp(request.expires_at)),
        }
    }
}
