//! The aggregated-findings RPCs of `FindingAggregatorService` (GetFindings, BatchUpdateFindings,
//! GetInsights, GetInsightResults, BatchGetSecurityControls, GetSecurityScores): unwraps
//! requests, calls the aggregated findings domain, maps results. No logic here; the service's
//! trait implementation delegates to these.

use std::sync::Arc;

use tonic::{Request, Response, Status};
use tributary_proto::{aggregator::v1 as pb, collector::v1 as collector_pb};
use tributary_runtime::auth::caller;

use crate::findings::{
    AggregatedFindings,
    inputs::{
        BatchUpdate, ControlsQuery, FindingsQuery, InsightResultsQuery, InsightsQuery, scores_view,
    },
};

/// The aggregated-findings half of `FindingAggregatorService`.
pub struct GrpcAggregatedFindings {
    findings: Arc<AggregatedFindings>,
}

fn identifier((id, product_arn): (String, String)) -> collector_pb::FindingIdentifier {
    collector_pb::FindingIdentifier { id, product_arn }
}

impl GrpcAggregatedFindings {
    /// Serves `findings`.
    pub fn new(findings: Arc<AggregatedFindings>) -> Self {
        Self { findings }
    }

    /// `GetFindings`.
    pub async fn get_findings(
        &self,
        request: Request<pb::GetFindingsRequest>,
    ) -> Result<Response<pb::GetFindingsResponse>, Status> {
        let caller = caller(&request)?;
        let query = FindingsQuery::parse(&caller, request.into_inner())?;
        let (findings, next_page_token) = self.findings.get_findings(query).await?;
        Ok(Response::new(pb::GetFindingsResponse {
            findings,
            next_page_token,
        }))
    }

    /// `BatchUpdateFindings`.
    pub async fn batch_update_findings(
        &self,
        request: Request<pb::BatchUpdateFindingsRequest>,
    ) -> Result<Response<pb::BatchUpdateFindingsResponse>, Status> {
        let caller = caller(&request)?;
        let batch = BatchUpdate::parse(&caller, request.into_inner())?;
        let outcome = self.findings.batch_update(&caller, batch).await?;
        Ok(Response::new(pb::BatchUpdateFindingsResponse {
            processed_findings: outcome.processed.into_iter().map(identifier).collect(),
            unprocessed_findings: outcome
                .unprocessed
                .into_iter()
                .map(
                    |(found, refusal)| collector_pb::BatchUpdateFindingsUnprocessedFinding {
                        finding_identifier: Some(identifier(found)),
                        error_code: refusal.code.to_string(),
                        error_message: refusal.message,
                    },
                )
                .collect(),
        }))
    }

    /// `GetInsights`.
    pub async fn get_insights(
        &self,
        request: Request<pb::GetInsightsRequest>,
    ) -> Result<Response<pb::GetInsightsResponse>, Status> {
        let caller = caller(&request)?;
        let query = InsightsQuery::parse(&caller, request.into_inner())?;
        let (insights, next_page_token) = self.findings.get_insights(query).await?;
        Ok(Response::new(pb::GetInsightsResponse {
            insights,
            next_page_token,
        }))
    }

    /// `GetInsightResults`.
    pub async fn get_insight_results(
        &self,
        request: Request<pb::GetInsightResultsRequest>,
    ) -> Result<Response<pb::GetInsightResultsResponse>, Status> {
        let caller = caller(&request)?;
        let query = InsightResultsQuery::parse(&caller, request.into_inner())?;
        let insight_results = self.findings.get_insight_results(query).await?;
        Ok(Response::new(pb::GetInsightResultsResponse {
            insight_results: Some(insight_results),
        }))
    }

    /// `BatchGetSecurityControls`.
    pub async fn batch_get_security_controls(
        &self,
        request: Request<pb::BatchGetSecurityControlsRequest>,
    ) -> Result<Response<pb::BatchGetSecurityControlsResponse>, Status> {
        let caller = caller(&request)?;
        let query = ControlsQuery::parse(&caller, request.into_inner())?;
        let (security_controls, unprocessed_ids) =
            self.findings.batch_get_security_controls(query).await?;
        Ok(Response::new(pb::BatchGetSecurityControlsResponse {
            security_controls,
            unprocessed_ids,
        }))
    }

    /// `GetSecurityScores`.
    pub async fn get_security_scores(
        &self,
        request: Request<pb::GetSecurityScoresRequest>,
    ) -> Result<Response<pb::GetSecurityScoresResponse>, Status> {
        let caller = caller(&request)?;
        let view = scores_view(&caller, request.get_ref())?;
        let scores = self.findings.security_scores(&view).await?;
        let count = |value: u32| i32::try_from(value).unwrap_or(i32::MAX);
        Ok(Response::new(pb::GetSecurityScoresResponse {
            standards: scores
                .standards
                .into_iter()
                .map(|score| collector_pb::StandardScore {
                    standards_arn: score.standard.arn(&view.home_region),
                    standards_subscription_arn: score
                        .standard
                        .subscription_arn(&view.home_region, &view.account_id),
                    name: score.standard.name.to_string(),
                    score: score.tally.score().map(count),
                    passed_controls: count(score.tally.passed),
                    failed_controls: count(score.tally.failed),
                    unknown_controls: count(score.tally.unknown),
                    no_data_controls: count(score.tally.no_data),
                    disabled_controls: count(score.tally.disabled),
                })
                .collect(),
            overall_score: scores.overall.map(count),
            pooled_score: scores.pooled.map(count),
        }))
    }
}
