//! `ConfigService`: configuration recorders and configuration items.

use std::sync::Arc;

use tonic::{Request, Response, Status};
use tracing::instrument;
use tributary_proto::collector::v1 as pb;
use tributary_runtime::{auth::caller, time::to_timestamp};

use crate::{
    config_items::{
        BatchGet, ConfigItems, CountQuery, DeleteCustomResource, HistoryQuery, ListQuery,
        PutCustomResource, PutItems,
    },
    recorders::{PutRecorder, Recorders},
};

/// `ConfigService` over the recorders and items of this region.
pub struct GrpcConfig {
    recorders: Arc<Recorders>,
    items: Arc<ConfigItems>,
}

impl GrpcConfig {
    /// Serves `recorders` and `items`.
    pub fn new(recorders: Arc<Recorders>, items: Arc<ConfigItems>) -> Self {
        Self { recorders, items }
    }
}

fn resource_key((resource_type, resource_id): (String, String)) -> pb::ResourceKey {
    pb::ResourceKey {
        resource_type,
        resource_id,
    }
}

#[tonic::async_trait]
impl pb::config_service_server::ConfigService for GrpcConfig {
    #[instrument(skip_all)]
    async fn put_configuration_recorder(
        &self,
        request: Request<pb::PutConfigurationRecorderRequest>,
    ) -> Result<Response<pb::PutConfigurationRecorderResponse>, Status> {
        let caller = caller(&request)?;
        let input = PutRecorder::try_from(request.into_inner())?;
        let recorder = self.recorders.put(&caller, input).await?;
        Ok(Response::new(pb::PutConfigurationRecorderResponse {
            configuration_recorder: Some(recorder.into()),
        }))
    }

    #[instrument(skip_all)]
    async fn describe_configuration_recorders(
        &self,
        request: Request<pb::DescribeConfigurationRecordersRequest>,
    ) -> Result<Response<pb::DescribeConfigurationRecordersResponse>, Status> {
        let caller = caller(&request)?;
        let recorders = self
            .recorders
            .describe(&caller, &request.into_inner().account_id)
            .await?;
        Ok(Response::new(pb::DescribeConfigurationRecordersResponse {
            configuration_recorders: recorders.into_iter().map(Into::into).collect(),
        }))
    }

    #[instrument(skip_all)]
    async fn start_configuration_recorder(
        &self,
        request: Request<pb::StartConfigurationRecorderRequest>,
    ) -> Result<Response<pb::StartConfigurationRecorderResponse>, Status> {
        let caller = caller(&request)?;
        let message = request.into_inner();
        self.recorders
            .set_recording(
                &caller,
                &message.account_id,
                &message.configuration_recorder_name,
                true,
            )
            .await?;
        Ok(Response::new(pb::StartConfigurationRecorderResponse {}))
    }

    #[instrument(skip_all)]
    async fn stop_configuration_recorder(
        &self,
        request: Request<pb::StopConfigurationRecorderRequest>,
    ) -> Result<Response<pb::StopConfigurationRecorderResponse>, Status> {
        let caller = caller(&request)?;
        let message = request.into_inner();
        self.recorders
            .set_recording(
                &caller,
                &message.account_id,
                &message.configuration_recorder_name,
                false,
            )
            .await?;
        Ok(Response::new(pb::StopConfigurationRecorderResponse {}))
    }

    #[instrument(skip_all)]
    async fn describe_configuration_recorder_status(
        &self,
        request: Request<pb::DescribeConfigurationRecorderStatusRequest>,
    ) -> Result<Response<pb::DescribeConfigurationRecorderStatusResponse>, Status> {
        let caller = caller(&request)?;
        let statuses = self
            .recorders
            .status(&caller, &request.into_inner().account_id)
            .await?;
        Ok(Response::new(
            pb::DescribeConfigurationRecorderStatusResponse {
                configuration_recorders_status: statuses.into_iter().map(Into::into).collect(),
            },
        ))
    }

    #[instrument(skip_all)]
    async fn put_configuration_items(
        &self,
        request: Request<pb::PutConfigurationItemsRequest>,
    ) -> Result<Response<pb::PutConfigurationItemsResponse>, Status> {
        let caller = caller(&request)?;
        let input = PutItems::try_from(request.into_inner())?;
        let outcome = self.items.put_items(&caller, input).await?;
        Ok(Response::new(pb::PutConfigurationItemsResponse {
            configuration_state_ids: outcome.configuration_state_ids,
            change_log_seq: outcome.change_log_seq,
        }))
    }

    #[instrument(skip_all)]
    async fn put_resource_config(
        &self,
        request: Request<pb::PutResourceConfigRequest>,
    ) -> Result<Response<pb::PutResourceConfigResponse>, Status> {
        let caller = caller(&request)?;
        let input = PutCustomResource::try_from(request.into_inner())?;
        let configuration_state_id = self.items.put_custom(&caller, input).await?;
        Ok(Response::new(pb::PutResourceConfigResponse {
            configuration_state_id,
        }))
    }

    #[instrument(skip_all)]
    async fn delete_resource_config(
        &self,
        request: Request<pb::DeleteResourceConfigRequest>,
    ) -> Result<Response<pb::DeleteResourceConfigResponse>, Status> {
        let caller = caller(&request)?;
        let input = DeleteCustomResource::try_from(request.into_inner())?;
        self.items.delete_custom(&caller, input).await?;
        Ok(Response::new(pb::DeleteResourceConfigResponse {}))
    }

    #[instrument(skip_all)]
    async fn get_resource_config_history(
        &self,
        request: Request<pb::GetResourceConfigHistoryRequest>,
    ) -> Result<Response<pb::GetResourceConfigHistoryResponse>, Status> {
        let caller = caller(&request)?;
        let query = HistoryQuery::try_from(request.into_inner())?;
        let (configuration_items, next_page_token) = self.items.history(&caller, query).await?;
        Ok(Response::new(pb::GetResourceConfigHistoryResponse {
            configuration_items,
            next_page_token,
        }))
    }

    #[instrument(skip_all)]
    async fn batch_get_resource_config(
        &self,
        request: Request<pb::BatchGetResourceConfigRequest>,
    ) -> Result<Response<pb::BatchGetResourceConfigResponse>, Status> {
        let caller = caller(&request)?;
        let input = BatchGet::try_from(request.into_inner())?;
        let (items, unprocessed) = self.items.batch_get(&caller, input).await?;
        Ok(Response::new(pb::BatchGetResourceConfigResponse {
            base_configuration_items: items,
            unprocessed_resource_keys: unprocessed.into_iter().map(resource_key).collect(),
        }))
    }

    #[instrument(skip_all)]
    async fn list_discovered_resources(
        &self,
        request: Request<pb::ListDiscoveredResourcesRequest>,
    ) -> Result<Response<pb::ListDiscoveredResourcesResponse>, Status> {
        let caller = caller(&request)?;
        let query = ListQuery::try_from(request.into_inner())?;
        let (resources, next_page_token) = self.items.list(&caller, query).await?;
        Ok(Response::new(pb::ListDiscoveredResourcesResponse {
            resource_identifiers: resources
                .into_iter()
                .map(|resource| pb::ResourceIdentifier {
                    resource_type: resource.resource_type,
                    resource_id: resource.resource_id,
                    resource_name: resource.resource_name,
                    resource_deletion_time: resource.deletion_time.map(to_timestamp),
                })
                .collect(),
            next_page_token,
        }))
    }

    #[instrument(skip_all)]
    async fn get_discovered_resource_counts(
        &self,
        request: Request<pb::GetDiscoveredResourceCountsRequest>,
    ) -> Result<Response<pb::GetDiscoveredResourceCountsResponse>, Status> {
        let caller = caller(&request)?;
        let query = CountQuery::try_from(request.into_inner())?;
        let counts = self.items.counts(&caller, query).await?;
        Ok(Response::new(pb::GetDiscoveredResourceCountsResponse {
            total_discovered_resources: counts.total,
            resource_counts: counts
                .counts
                .into_iter()
                .map(|(resource_type, count)| pb::ResourceCount {
                    resource_type,
                    count,
                })
                .collect(),
            next_page_token: counts.next_page_token,
        }))
    }
}
