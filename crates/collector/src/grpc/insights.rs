//! The insight calls of `SecurityHubService`: unwrap requests, call the insights domain, map
//! results. No logic here.

use tonic::{Request, Response, Status};
use tributary_proto::collector::v1 as pb;
use tributary_runtime::auth::caller;

use crate::insights::Insights;

pub(super) async fn create_insight(
    insights: &Insights,
    request: Request<pb::CreateInsightRequest>,
) -> Result<Response<pb::CreateInsightResponse>, Status> {
    let caller = caller(&request)?;
    let insight_arn = insights.create(&caller, request.into_inner()).await?;
    Ok(Response::new(pb::CreateInsightResponse { insight_arn }))
}

pub(super) async fn update_insight(
    insights: &Insights,
    request: Request<pb::UpdateInsightRequest>,
) -> Result<Response<pb::UpdateInsightResponse>, Status> {
    let caller = caller(&request)?;
    insights.update(&caller, request.into_inner()).await?;
    Ok(Response::new(pb::UpdateInsightResponse {}))
}

pub(super) async fn delete_insight(
    insights: &Insights,
    request: Request<pb::DeleteInsightRequest>,
) -> Result<Response<pb::DeleteInsightResponse>, Status> {
    let caller = caller(&request)?;
    let insight_arn = request.into_inner().insight_arn;
    insights.delete(&caller, &insight_arn).await?;
    Ok(Response::new(pb::DeleteInsightResponse { insight_arn }))
}

pub(super) async fn get_insights(
    insights: &Insights,
    request: Request<pb::GetInsightsRequest>,
) -> Result<Response<pb::GetInsightsResponse>, Status> {
    let caller = caller(&request)?;
    let (insights, next_page_token) = insights.get(&caller, request.get_ref()).await?;
    Ok(Response::new(pb::GetInsightsResponse {
        insights,
        next_page_token,
    }))
}

pub(super) async fn get_insight_results(
    insights: &Insights,
    request: Request<pb::GetInsightResultsRequest>,
) -> Result<Response<pb::GetInsightResultsResponse>, Status> {
    let caller = caller(&request)?;
    let results = insights.results(&caller, request.get_ref()).await?;
    Ok(Response::new(pb::GetInsightResultsResponse {
        insight_results: Some(results),
    }))
}
