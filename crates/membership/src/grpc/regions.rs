//! `RegionService`: the region registry and per-account opt-in regions.

use std::sync::Arc;

use tonic::{Request, Response, Status};
use tracing::instrument;
use tributary_proto::membership::v1 as pb;
use tributary_runtime::{auth::caller, time::to_timestamp};

use crate::regions::{Region, Regions, RegisterRegion};

/// `RegionService` over the region registry.
pub struct GrpcRegions {
    regions: Arc<Regions>,
}

impl GrpcRegions {
    /// Serves `regions`.
    pub fn new(regions: Arc<Regions>) -> Self {
        Self { regions }
    }
}

#[tonic::async_trait]
impl pb::region_service_server::RegionService for GrpcRegions {
    #[instrument(skip_all)]
    async fn register_region(
        &self,
        request: Request<pb::RegisterRegionRequest>,
    ) -> Result<Response<pb::RegisterRegionResponse>, Status> {
        let caller = caller(&request)?;
        let message = request.into_inner();
        let input = RegisterRegion::new(
            message.region_name,
            message.collector_endpoint,
            message.opt_in,
        )?;
        let (region, created) = self.regions.register(&caller, input).await?;
        Ok(Response::new(pb::RegisterRegionResponse {
            region: Some(region.into()),
            created,
        }))
    }

    #[instrument(skip_all)]
    async fn list_regions(
        &self,
        request: Request<pb::ListRegionsRequest>,
    ) -> Result<Response<pb::ListRegionsResponse>, Status> {
        caller(&request)?;
        let message = request.into_inner();
        let (regions, next_page_token) = self
            .regions
            .list(message.page_size, &message.page_token)
            .await?;
        Ok(Response::new(pb::ListRegionsResponse {
            regions: regions.into_iter().map(Into::into).collect(),
            next_page_token,
        }))
    }

    #[instrument(skip_all)]
    async fn deregister_region(
        &self,
        request: Request<pb::DeregisterRegionRequest>,
    ) -> Result<Response<pb::DeregisterRegionResponse>, Status> {
        let caller = caller(&request)?;
        self.regions
            .deregister(&caller, &request.into_inner().region_name)
            .await?;
        Ok(Response::new(pb::DeregisterRegionResponse {}))
    }

    #[instrument(skip_all)]
    async fn enable_region(
        &self,
        request: Request<pb::EnableRegionRequest>,
    ) -> Result<Response<pb::EnableRegionResponse>, Status> {
        let caller = caller(&request)?;
        let message = request.into_inner();
        self.regions
            .enable_for_account(&caller, &message.account_id, &message.region_name)
            .await?;
        Ok(Response::new(pb::EnableRegionResponse {}))
    }

    #[instrument(skip_all)]
    async fn disable_region(
        &self,
        request: Request<pb::DisableRegionRequest>,
    ) -> Result<Response<pb::DisableRegionResponse>, Status> {
        let caller = caller(&request)?;
        let message = request.into_inner();
        self.regions
            .disable_for_account(&caller, &message.account_id, &message.region_name)
            .await?;
        Ok(Response::new(pb::DisableRegionResponse {}))
    }

    #[instrument(skip_all)]
    async fn list_account_regions(
        &self,
        request: Request<pb::ListAccountRegionsRequest>,
    ) -> Result<Response<pb::ListAccountRegionsResponse>, Status> {
        let caller = caller(&request)?;
        let region_names = self
            .regions
            .account_regions(&caller, &request.into_inner().account_id)
            .await?;
        Ok(Response::new(pb::ListAccountRegionsResponse {
            region_names,
        }))
    }
}

impl From<Region> for pb::Region {
    fn from(region: Region) -> Self {
        Self {
            region_name: region.name,
            collector_endpoint: region.collector_endpoint,
            opt_in: region.opt_in,
            registered_at: Some(to_timestamp(region.registered_at)),
            updated_at: Some(to_timestamp(region.updated_at)),
        }
    }
}
