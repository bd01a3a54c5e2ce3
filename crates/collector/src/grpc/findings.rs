//! `SecurityHubService`: unwraps requests, calls the findings domain, maps results. No logic here.

use std::sync::Arc;

use prost::Message;
use tonic::{Request, Response, Status};
use tracing::instrument;
use tributary_proto::collector::v1 as pb;
use tributary_runtime::auth::caller;

use crate::findings::{Findings, update};
use crate::{controls::Controls, insights::Insights};

use super::{controls, insights};

/// `SecurityHubService`.
pub struct GrpcFindings {
    findings: Arc<Findings>,
    insights: Arc<Insights>,
    controls: Arc<Controls>,
}

impl GrpcFindings {
    /// Serves `findings`, `insights` and `controls`.
    pub fn new(findings: Arc<Findings>, insights: Arc<Insights>, controls: Arc<Controls>) -> Self {
        Self {
            findings,
            insights,
            controls,
        }
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

    #[instrument(skip_all)]
    async fn batch_update_findings(
        &self,
        request: Request<pb::BatchUpdateFindingsRequest>,
    ) -> Result<Response<pb::BatchUpdateFindingsResponse>, Status> {
        let caller = caller(&request)?;
        let batch = update::parse(request.into_inner())?;
        let outcome = self.findings.batch_update(&caller, batch).await?;
        let identifier =
            |(id, product_arn): (String, String)| pb::FindingIdentifier { id, product_arn };
        Ok(Response::new(pb::BatchUpdateFindingsResponse {
            processed_findings: outcome.processed.into_iter().map(identifier).collect(),
            unprocessed_findings: outcome
                .unprocessed
                .into_iter()
                .map(
                    |(named, refusal)| pb::BatchUpdateFindingsUnprocessedFinding {
                        finding_identifier: Some(identifier(named)),
                        error_code: refusal.code.to_string(),
                        error_message: refusal.message,
                    },
                )
                .collect(),
            change_log_seq: outcome.change_log_seq,
        }))
    }

    #[instrument(skip_all)]
    async fn get_finding_history(
        &self,
        request: Request<pb::GetFindingHistoryRequest>,
    ) -> Result<Response<pb::GetFindingHistoryResponse>, Status> {
        let caller = caller(&request)?;
        let (records, next_page_token) =
            self.findings.history(&caller, request.into_inner()).await?;
        Ok(Response::new(pb::GetFindingHistoryResponse {
            records,
            next_page_token,
        }))
    }

    #[instrument(skip_all)]
    async fn enable_import_findings_for_product(
        &self,
        request: Request<pb::EnableImportFindingsForProductRequest>,
    ) -> Result<Response<pb::EnableImportFindingsForProductResponse>, Status> {
        let caller = caller(&request)?;
        let request = request.into_inner();
        let product_subscription_arn = self
            .findings
            .products()
            .enable(&caller, &request.product_arn, &request.account_id)
            .await?;
        Ok(Response::new(pb::EnableImportFindingsForProductResponse {
            product_subscription_arn,
        }))
    }

    #[instrument(skip_all)]
    async fn disable_import_findings_for_product(
        &self,
        request: Request<pb::DisableImportFindingsForProductRequest>,
    ) -> Result<Response<pb::DisableImportFindingsForProductResponse>, Status> {
        let caller = caller(&request)?;
        self.findings
            .products()
            .disable(&caller, &request.into_inner().product_subscription_arn)
            .await?;
        Ok(Response::new(
            pb::DisableImportFindingsForProductResponse {},
        ))
    }

    #[instrument(skip_all)]
    async fn list_enabled_products_for_import(
        &self,
        request: Request<pb::ListEnabledProductsForImportRequest>,
    ) -> Result<Response<pb::ListEnabledProductsForImportResponse>, Status> {
        let caller = caller(&request)?;
        let request = request.into_inner();
        let (product_subscriptions, next_page_token) = self
            .findings
            .products()
            .list_enabled(
                &caller,
                &request.account_id,
                request.page_size,
                &request.page_token,
            )
            .await?;
        Ok(Response::new(pb::ListEnabledProductsForImportResponse {
            product_subscriptions,
            next_page_token,
        }))
    }

    #[instrument(skip_all)]
    async fn describe_products(
        &self,
        request: Request<pb::DescribeProductsRequest>,
    ) -> Result<Response<pb::DescribeProductsResponse>, Status> {
        let caller = caller(&request)?;
        let request = request.into_inner();
        let (products, next_page_token) = self
            .findings
            .products()
            .describe_products(
                &caller,
                &request.product_arn,
                request.page_size,
                &request.page_token,
            )
            .await?;
        Ok(Response::new(pb::DescribeProductsResponse {
            products,
            next_page_token,
        }))
    }

    // Insights, standards, controls and scores: handlers in grpc/insights.rs, grpc/controls.rs.

    #[instrument(skip_all)]
    async fn create_insight(
        &self,
        request: Request<pb::CreateInsightRequest>,
    ) -> Result<Response<pb::CreateInsightResponse>, Status> {
        insights::create_insight(&self.insights, request).await
    }

    #[instrument(skip_all)]
    async fn update_insight(
        &self,
        request: Request<pb::UpdateInsightRequest>,
    ) -> Result<Response<pb::UpdateInsightResponse>, Status> {
        insights::update_insight(&self.insights, request).await
    }

    #[instrument(skip_all)]
    async fn delete_insight(
        &self,
        request: Request<pb::DeleteInsightRequest>,
    ) -> Result<Response<pb::DeleteInsightResponse>, Status> {
        insights::delete_insight(&self.insights, request).await
    }

    #[instrument(skip_all)]
    async fn get_insights(
        &self,
        request: Request<pb::GetInsightsRequest>,
    ) -> Result<Response<pb::GetInsightsResponse>, Status> {
        insights::get_insights(&self.insights, request).await
    }

    #[instrument(skip_all)]
    async fn get_insight_results(
        &self,
        request: Request<pb::GetInsightResultsRequest>,
    ) -> Result<Response<pb::GetInsightResultsResponse>, Status> {
        insights::get_insight_results(&self.insights, request).await
    }

    #[instrument(skip_all)]
    async fn describe_standards(
        &self,
        request: Request<pb::DescribeStandardsRequest>,
    ) -> Result<Response<pb::DescribeStandardsResponse>, Status> {
        controls::describe_standards(&self.controls, request).await
    }

    #[instrument(skip_all)]
    async fn batch_enable_standards(
        &self,
        request: Request<pb::BatchEnableStandardsRequest>,
    ) -> Result<Response<pb::BatchEnableStandardsResponse>, Status> {
        controls::batch_enable_standards(&self.controls, request).await
    }

    #[instrument(skip_all)]
    async fn batch_disable_standards(
        &self,
        request: Request<pb::BatchDisableStandardsRequest>,
    ) -> Result<Response<pb::BatchDisableStandardsResponse>, Status> {
        controls::batch_disable_standards(&self.controls, request).await
    }

    #[instrument(skip_all)]
    async fn get_enabled_standards(
        &self,
        request: Request<pb::GetEnabledStandardsRequest>,
    ) -> Result<Response<pb::GetEnabledStandardsResponse>, Status> {
        controls::get_enabled_standards(&self.controls, request).await
    }

    #[instrument(skip_all)]
    async fn describe_standards_controls(
        &self,
        request: Request<pb::DescribeStandardsControlsRequest>,
    ) -> Result<Response<pb::DescribeStandardsControlsResponse>, Status> {
        controls::describe_standards_controls(&self.controls, request).await
    }

    #[instrument(skip_all)]
    async fn update_standards_control(
        &self,
        request: Request<pb::UpdateStandardsControlRequest>,
    ) -> Result<Response<pb::UpdateStandardsControlResponse>, Status> {
        controls::update_standards_control(&self.controls, request).await
    }

    #[instrument(skip_all)]
    async fn batch_get_security_controls(
        &self,
        request: Request<pb::BatchGetSecurityControlsRequest>,
    ) -> Result<Response<pb::BatchGetSecurityControlsResponse>, Status> {
        controls::batch_get_security_controls(&self.controls, request).await
    }

    #[instrument(skip_all)]
    async fn get_security_scores(
        &self,
        request: Request<pb::GetSecurityScoresRequest>,
    ) -> Result<Response<pb::GetSecurityScoresResponse>, Status> {
        controls::get_security_scores(&self.controls, request).await
    }
}
