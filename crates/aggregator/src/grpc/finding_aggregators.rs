//! `FindingAggregatorService`: unwraps requests, calls the finding aggregator domain, maps
//! results. No logic here.

use std::sync::Arc;

use tonic::{Request, Response, Status};
use tracing::instrument;
use tributary_proto::aggregator::v1 as pb;
use tributary_runtime::{auth::caller, time::to_timestamp};

use crate::finding_aggregators::{
    FindingAggregator, FindingAggregators,
    inputs::{CreateAggregator, DeleteAggregator, UpdateAggregator, parse_arn},
};

/// `FindingAggregatorService`.
pub struct GrpcFindingAggregators {
    aggregators: Arc<FindingAggregators>,
    /// The aggregated-findings RPCs (`grpc/findings.rs`).
    findings: super::GrpcAggregatedFindings,
}

impl GrpcFindingAggregators {
    /// Serves `aggregators` and, for the aggregated-findings RPCs, `findings`.
    pub fn new(
        aggregators: Arc<FindingAggregators>,
        findings: super::GrpcAggregatedFindings,
    ) -> Self {
        Self {
            aggregators,
            findings,
        }
    }
}

#[tonic::async_trait]
impl pb::finding_aggregator_service_server::FindingAggregatorService for GrpcFindingAggregators {
    #[instrument(skip_all)]
    async fn create_finding_aggregator(
        &self,
        request: Request<pb::CreateFindingAggregatorRequest>,
    ) -> Result<Response<pb::CreateFindingAggregatorResponse>, Status> {
        let caller = caller(&request)?;
        let input = CreateAggregator::try_from(request.into_inner())?;
        let aggregator = self.aggregators.create(&caller, input).await?;
        let view = to_wire(aggregator);
        Ok(Response::new(pb::CreateFindingAggregatorResponse {
            finding_aggregator_arn: view.finding_aggregator_arn,
            finding_aggregation_region: view.finding_aggregation_region,
            region_linking_mode: view.region_linking_mode,
            regions: view.regions,
            backfill_existing_findings: view.backfill_existing_findings,
            create_time: view.create_time,
            update_time: view.update_time,
            linked_region_status: view.linked_region_status,
        }))
    }

    #[instrument(skip_all)]
    async fn get_finding_aggregator(
        &self,
        request: Request<pb::GetFindingAggregatorRequest>,
    ) -> Result<Response<pb::GetFindingAggregatorResponse>, Status> {
        let caller = caller(&request)?;
        let arn = parse_arn(&request.get_ref().finding_aggregator_arn)?;
        let aggregator = self.aggregators.get(&caller, &arn).await?;
        Ok(Response::new(to_wire(aggregator)))
    }

    #[instrument(skip_all)]
    async fn update_finding_aggregator(
        &self,
        request: Request<pb::UpdateFindingAggregatorRequest>,
    ) -> Result<Response<pb::UpdateFindingAggregatorResponse>, Status> {
        let caller = caller(&request)?;
        let input = UpdateAggregator::try_from(request.into_inner())?;
        let aggregator = self.aggregators.update(&caller, input).await?;
        let view = to_wire(aggregator);
        Ok(Response::new(pb::UpdateFindingAggregatorResponse {
            finding_aggregator_arn: view.finding_aggregator_arn,
            finding_aggregation_region: view.finding_aggregation_region,
            region_linking_mode: view.region_linking_mode,
            regions: view.regions,
            backfill_existing_findings: view.backfill_existing_findings,
            create_time: view.create_time,
            update_time: view.update_time,
            linked_region_status: view.linked_region_status,
        }))
    }

    #[instrument(skip_all)]
    async fn delete_finding_aggregator(
        &self,
        request: Request<pb::DeleteFindingAggregatorRequest>,
    ) -> Result<Response<pb::DeleteFindingAggregatorResponse>, Status> {
        let caller = caller(&request)?;
        let input = DeleteAggregator::try_from(request.into_inner())?;
        self.aggregators.delete(&caller, input).await?;
        Ok(Response::new(pb::DeleteFindingAggregatorResponse {}))
    }

    #[instrument(skip_all)]
    async fn list_finding_aggregators(
        &self,
        request: Request<pb::ListFindingAggregatorsRequest>,
    ) -> Result<Response<pb::ListFindingAggregatorsResponse>, Status> {
        let caller = caller(&request)?;
        let request = request.into_inner();
        let page = self
            .aggregators
            .list(
                &caller,
                &request.owner_account_id,
                request.page_size,
                &request.page_token,
            )
            .await?;
        Ok(Response::new(pb::ListFindingAggregatorsResponse {
            finding_aggregators: page
                .arns
                .into_iter()
                .map(|finding_aggregator_arn| pb::FindingAggregatorSummary {
                    finding_aggregator_arn,
                })
                .collect(),
            next_page_token: page.next_page_token,
        }))
    }

    // The aggregated-findings RPCs live in `grpc/findings.rs`.

    #[instrument(skip_all)]
    async fn get_findings(
        &self,
        request: Request<pb::GetFindingsRequest>,
    ) -> Result<Response<pb::GetFindingsResponse>, Status> {
        self.findings.get_findings(request).await
    }

    #[instrument(skip_all)]
    async fn batch_update_findings(
        &self,
        request: Request<pb::BatchUpdateFindingsRequest>,
    ) -> Result<Response<pb::BatchUpdateFindingsResponse>, Status> {
        self.findings.batch_update_findings(request).await
    }

    #[instrument(skip_all)]
    async fn get_insights(
        &self,
        request: Request<pb::GetInsightsRequest>,
    ) -> Result<Response<pb::GetInsightsResponse>, Status> {
        self.findings.get_insights(request).await
    }

    #[instrument(skip_all)]
    async fn get_insight_results(
        &self,
        request: Request<pb::GetInsightResultsRequest>,
    ) -> Result<Response<pb::GetInsightResultsResponse>, Status> {
        self.findings.get_insight_results(request).await
    }

    #[instrument(skip_all)]
    async fn batch_get_security_controls(
        &self,
        request: Request<pb::BatchGetSecurityControlsRequest>,
    ) -> Result<Response<pb::BatchGetSecurityControlsResponse>, Status> {
        self.findings.batch_get_security_controls(request).await
    }

    #[instrument(skip_all)]
    async fn get_security_scores(
        &self,
        request: Request<pb::GetSecurityScoresRequest>,
    ) -> Result<Response<pb::GetSecurityScoresResponse>, Status> {
        self.findings.get_security_scores(request).await
    }
}

/// The aggregator's fields as GetFindingAggregator returns them (Create and Update return the same).
fn to_wire(aggregator: FindingAggregator) -> pb::GetFindingAggregatorResponse {
    pb::GetFindingAggregatorResponse {
        finding_aggregator_arn: aggregator.arn,
        finding_aggregation_region: aggregator.home_region,
        region_linking_mode: aggregator.linking.mode.to_proto() as i32,
        regions: aggregator.linking.regions,
        backfill_existing_findings: aggregator.backfill_existing_findings,
        create_time: Some(to_timestamp(aggregator.created_at)),
        update_time: Some(to_timestamp(aggregator.updated_at)),
        linked_region_status: aggregator
            .linked_regions
            .into_iter()
            .map(|progress| pb::LinkedRegionStatus {
                region: progress.region,
                last_applied_seq: progress.applied_seq,
                last_applied_time: progress.applied_at.map(to_timestamp),
                lag: progress
                    .lag
                    .and_then(|lag| prost_types::Duration::try_from(lag).ok()),
            })
            .collect(),
    }
}
