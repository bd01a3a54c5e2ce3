//! The aggregator's gRPC face: unwraps requests, calls the domain, maps results. No logic here.

mod config_aggregators;
mod finding_aggregators;
mod findings;

use std::sync::Arc;

use tonic::{Request, Response, Status};
use tracing::instrument;
use tributary_proto::aggregator::v1 as pb;
use tributary_runtime::{auth::caller, time::to_timestamp};

use crate::info::AggregatorInfo;

pub use config_aggregators::GrpcConfigAggregators;
pub use finding_aggregators::GrpcFindingAggregators;
pub use findings::GrpcAggregatedFindings;

/// `AggregatorService`.
pub struct GrpcAggregator {
    info: Arc<AggregatorInfo>,
}

impl GrpcAggregator {
    /// Serves `info`.
    pub fn new(info: Arc<AggregatorInfo>) -> Self {
        Self { info }
    }
}

#[tonic::async_trait]
impl pb::aggregator_service_server::AggregatorService for GrpcAggregator {
    #[instrument(skip_all)]
    async fn get_info(
        &self,
        request: Request<pb::GetInfoRequest>,
    ) -> Result<Response<pb::GetInfoResponse>, Status> {
        caller(&request)?;
        let info = self.info.get().await?;
        Ok(Response::new(pb::GetInfoResponse {
            version: info.version.to_string(),
            cursors: info
                .cursors
                .into_iter()
                .map(|cursor| pb::RegionCursor {
                    region: cursor.region,
                    applied_seq: cursor.applied_seq,
                    applied_at: cursor.applied_at.map(to_timestamp),
                    status: cursor.status,
                    error_code: cursor.error_code.unwrap_or_default(),
                    error_message: cursor.error_message.unwrap_or_default(),
                    lag_ms: cursor.lag_ms,
                    last_attempt_at: cursor.last_attempt_at.map(to_timestamp),
                    last_success_at: cursor.last_success_at.map(to_timestamp),
                })
                .collect(),
            started_at: Some(to_timestamp(info.started_at)),
        }))
    }
}
