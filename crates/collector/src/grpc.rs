//! The collector's gRPC face: unwraps requests, calls the domain, maps results. No logic here.

mod change_log;
mod compliance;
mod config;
mod controls;
mod findings;
mod insights;

use std::sync::Arc;

use tonic::{Request, Response, Status};
use tracing::instrument;
use tributary_proto::collector::v1 as pb;
use tributary_runtime::{auth::caller, time::to_timestamp};

use crate::info::CollectorInfo;

pub use change_log::GrpcChangeLog;
pub use compliance::GrpcCompliance;
pub use config::GrpcConfig;
pub use findings::GrpcFindings;

/// `CollectorService`.
pub struct GrpcCollector {
    info: Arc<CollectorInfo>,
}

impl GrpcCollector {
    /// Serves `info`.
    pub fn new(info: Arc<CollectorInfo>) -> Self {
        Self { info }
    }
}

#[tonic::async_trait]
impl pb::collector_service_server::CollectorService for GrpcCollector {
    #[instrument(skip_all)]
    async fn get_info(
        &self,
        request: Request<pb::GetInfoRequest>,
    ) -> Result<Response<pb::GetInfoResponse>, Status> {
        caller(&request)?;
        let info = self.info.get().await?;
        Ok(Response::new(pb::GetInfoResponse {
            region: info.region,
            version: info.version.to_string(),
            change_log_head: info.change_log_head,
            started_at: Some(to_timestamp(info.started_at)),
        }))
    }
}
