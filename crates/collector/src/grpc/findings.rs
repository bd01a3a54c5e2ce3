//! `SecurityHubService`: unwraps requests, calls the findings domain, maps results. No logic here.

use std::sync::Arc;

use prost::Message;
use tonic::{Request, Response, Status};
use tracing::instrument;
use tributary_proto::collector::v1 as pb;
use tributary_runtime::auth::caller;

use crate::findings::Findings;

/// `SecurityHubService`.
pub struct GrpcFindings {
    findings: Arc<Findings>,
}

impl GrpcFindings {
    /// Serves `findings`.
    pub fn new(findings: Arc<Findings>) -> Self {
        Self { findings }
    }
}

fn count(value: usize) -> i32 {
    i32::try_from(value).unwrap_or(i32::MAX)
}

#[tonic::async_trait]
impl pb::security_hub_service_server::SecurityHubService for GrpcFindings {
    #[instrument(skip_all)]
    async fn batch_import_findings(
        &self,
        request: Request<pb::BatchImportFindingsRequest>,
    ) -> Result<Response<pb::BatchImportFindingsResponse>, Status> {
        let caller = caller(&request)?;
        let request = request.into_inner();
        Findings::check_request(request.findings.len(), request.encoded_len())?;
        let outcome = self.findings.import(&caller, request.findings).await?;
        Ok(Response::new(pb::BatchImportFindingsResponse {
            failed_count: count(outcome.failed.len()),
            success_count: count(outcome.succeeded),
            failed_findings: outcome
                .failed
                .into_iter()
                .map(|(id, refusal)| pb::ImportFindingsError {
                    id,
                    error_code: refusal.code.to_string(),
                    error_message: refusal.message,
                })
                .collect(),
            change_log_seq: outcome.change_log_seq,
        }))
    }

    #[instrument(skip_all)]
    async fn get_findings(
        &self,
        request: Request<pb::GetFindingsRequest>,
    ) -> Result<Response<pb::GetFindingsResponse>, Status> {
        let caller = caller(&request)?;
        let (findings, next_page_token) = self.findings.get(&caller, request.into_inner()).await?;
        Ok(Response::new(pb::GetFindingsResponse {
            findings,
            next_page_token,
        }))
    }
}
