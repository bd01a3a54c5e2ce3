//! The standards, controls and scores calls of `SecurityHubService`: unwrap requests, call the
//! controls domain, map results. No logic here.

use tonic::{Request, Response, Status};
use tributary_proto::collector::v1 as pb;
use tributary_runtime::auth::caller;

use crate::controls::Controls;

fn percent(score: Option<u32>) -> Option<i32> {
    score.and_then(|score| i32::try_from(score).ok())
}

fn count(value: u32) -> i32 {
    i32::try_from(value).unwrap_or(i32::MAX)
}

pub(super) async fn describe_standards(
    controls: &Controls,
    request: Request<pb::DescribeStandardsRequest>,
) -> Result<Response<pb::DescribeStandardsResponse>, Status> {
    caller(&request)?;
    let request = request.into_inner();
    let (standards, next_page_token) =
        controls.describe_standards(request.page_size, &request.page_token)?;
    Ok(Response::new(pb::DescribeStandardsResponse {
        standards,
        next_page_token,
    }))
}

pub(super) async fn batch_enable_standards(
    controls: &Controls,
    request: Request<pb::BatchEnableStandardsRequest>,
) -> Result<Response<pb::BatchEnableStandardsResponse>, Status> {
    let caller = caller(&request)?;
    let request = request.into_inner();
    let standards_subscriptions = controls
        .batch_enable_standards(
            &caller,
            &request.account_id,
            &request.standards_subscription_requests,
        )
        .await?;
    Ok(Response::new(pb::BatchEnableStandardsResponse {
        standards_subscriptions,
    }))
}

pub(super) async fn batch_disable_standards(
    controls: &Controls,
    request: Request<pb::BatchDisableStandardsRequest>,
) -> Result<Response<pb::BatchDisableStandardsResponse>, Status> {
    let caller = caller(&request)?;
    let standards_subscriptions = controls
        .batch_disable_standards(&caller, &request.get_ref().standards_subscription_arns)
        .await?;
    Ok(Response::new(pb::BatchDisableStandardsResponse {
        standards_subscriptions,
    }))
}

pub(super) async fn get_enabled_standards(
    controls: &Controls,
    request: Request<pb::GetEnabledStandardsRequest>,
) -> Result<Response<pb::GetEnabledStandardsResponse>, Status> {
    let caller = caller(&request)?;
    let (standards_subscriptions, next_page_token) = controls
        .get_enabled_standards(&caller, request.get_ref())
        .await?;
    Ok(Response::new(pb::GetEnabledStandardsResponse {
        standards_subscriptions,
        next_page_token,
    }))
}

pub(super) async fn describe_standards_controls(
    controls: &Controls,
    request: Request<pb::DescribeStandardsControlsRequest>,
) -> Result<Response<pb::DescribeStandardsControlsResponse>, Status> {
    let caller = caller(&request)?;
    let (controls, next_page_token) = controls
        .describe_standards_controls(&caller, request.get_ref())
        .await?;
    Ok(Response::new(pb::DescribeStandardsControlsResponse {
        controls,
        next_page_token,
    }))
}

pub(super) async fn update_standards_control(
    controls: &Controls,
    request: Request<pb::UpdateStandardsControlRequest>,
) -> Result<Response<pb::UpdateStandardsControlResponse>, Status> {
    let caller = caller(&request)?;
    controls
        .update_standards_control(&caller, request.get_ref())
        .await?;
    Ok(Response::new(pb::UpdateStandardsControlResponse {}))
}

pub(super) async fn batch_get_security_controls(
    controls: &Controls,
    request: Request<pb::BatchGetSecurityControlsRequest>,
) -> Result<Response<pb::BatchGetSecurityControlsResponse>, Status> {
    let caller = caller(&request)?;
    let request = request.into_inner();
    let (security_controls, unprocessed_ids) = controls
        .batch_get_security_controls(&caller, &request.account_id, &request.security_control_ids)
        .await?;
    Ok(Response::new(pb::BatchGetSecurityControlsResponse {
        security_controls,
        unprocessed_ids,
    }))
}

pub(super) async fn get_security_scores(
    controls: &Controls,
    request: Request<pb::GetSecurityScoresRequest>,
) -> Result<Response<pb::GetSecurityScoresResponse>, Status> {
    let caller = caller(&request)?;
    let scores = controls
        .scores(&caller, &request.get_ref().account_id)
        .await?;
    Ok(Response::new(pb::GetSecurityScoresResponse {
        standards: scores
            .standards
            .into_iter()
            .map(
                |(subscription_arn, standard, standards_arn, tally)| pb::StandardScore {
                    standards_arn,
                    standards_subscription_arn: subscription_arn,
                    name: standard.name.to_string(),
                    score: percent(tally.score()),
                    passed_controls: count(tally.passed),
                    failed_controls: count(tally.failed),
                    unknown_controls: count(tally.unknown),
                    no_data_controls: count(tally.no_data),
                    disabled_controls: count(tally.disabled),
                },
            )
            .collect(),
        overall_score: percent(scores.overall),
        pooled_score: percent(scores.pooled),
    }))
}
