//! `ComplianceService`: unwraps requests, calls the compliance domain, maps results. No logic here.

use std::sync::Arc;

use tonic::{Request, Response, Status};
use tracing::instrument;
use tributary_proto::collector::v1 as pb;
use tributary_runtime::auth::caller;

use crate::compliance::{
    Compliance, NamedListing, PackComplianceQuery, PutConfigRule, PutConformancePack,
    PutEvaluations, ResourceComplianceQuery, RuleComplianceQuery, RuleDetailsQuery,
};

/// `ComplianceService`.
pub struct GrpcCompliance {
    compliance: Arc<Compliance>,
}

impl GrpcCompliance {
    /// Serves `compliance`.
    pub fn new(compliance: Arc<Compliance>) -> Self {
        Self { compliance }
    }
}

#[tonic::async_trait]
impl pb::compliance_service_server::ComplianceService for GrpcCompliance {
    #[instrument(skip_all)]
    async fn put_config_rule(
        &self,
        request: Request<pb::PutConfigRuleRequest>,
    ) -> Result<Response<pb::PutConfigRuleResponse>, Status> {
        let caller = caller(&request)?;
        let input = PutConfigRule::try_from(request.into_inner())?;
        let config_rule = self.compliance.put_rule(&caller, input).await?;
        Ok(Response::new(pb::PutConfigRuleResponse {
            config_rule: Some(config_rule),
        }))
    }

    #[instrument(skip_all)]
    async fn describe_config_rules(
        &self,
        request: Request<pb::DescribeConfigRulesRequest>,
    ) -> Result<Response<pb::DescribeConfigRulesResponse>, Status> {
        let caller = caller(&request)?;
        let query = NamedListing::try_from(request.into_inner())?;
        let (config_rules, next_page_token) =
            self.compliance.describe_rules(&caller, query).await?;
        Ok(Response::new(pb::DescribeConfigRulesResponse {
            config_rules,
            next_page_token,
        }))
    }

    #[instrument(skip_all)]
    async fn delete_config_rule(
        &self,
        request: Request<pb::DeleteConfigRuleRequest>,
    ) -> Result<Response<pb::DeleteConfigRuleResponse>, Status> {
        let caller = caller(&request)?;
        let request = request.into_inner();
        self.compliance
            .delete_rule(&caller, &request.account_id, &request.config_rule_name)
            .await?;
        Ok(Response::new(pb::DeleteConfigRuleResponse {}))
    }

    #[instrument(skip_all)]
    async fn put_evaluations(
        &self,
        request: Request<pb::PutEvaluationsRequest>,
    ) -> Result<Response<pb::PutEvaluationsResponse>, Status> {
        let caller = caller(&request)?;
        let input = PutEvaluations::try_from(request.into_inner())?;
        let outcome = self.compliance.put_evaluations(&caller, input).await?;
        Ok(Response::new(pb::PutEvaluationsResponse {
            failed_evaluations: outcome
                .ignored
                .into_iter()
                .map(|(index, evaluation)| pb::FailedEvaluation {
                    index: u32::try_from(index).unwrap_or(u32::MAX),
                    evaluation: Some(evaluation),
                    message: "a result with a newer ordering_timestamp is stored for this rule \
                              and resource; this one was not stored"
                        .into(),
                })
                .collect(),
            change_log_seq: outcome.change_log_seq,
        }))
    }

    #[instrument(skip_all)]
    async fn describe_compliance_by_config_rule(
        &self,
        request: Request<pb::DescribeComplianceByConfigRuleRequest>,
    ) -> Result<Response<pb::DescribeComplianceByConfigRuleResponse>, Status> {
        let caller = caller(&request)?;
        let query = RuleComplianceQuery::try_from(request.into_inner())?;
        let (summaries, next_page_token) =
            self.compliance.compliance_by_rule(&caller, query).await?;
        Ok(Response::new(pb::DescribeComplianceByConfigRuleResponse {
            compliance_by_config_rules: summaries
                .into_iter()
                .map(|(config_rule_name, summary)| pb::ComplianceByConfigRule {
                    config_rule_name,
                    compliance: Some(summary.to_proto()),
                })
                .collect(),
            next_page_token,
        }))
    }

    #[instrument(skip_all)]
    async fn get_compliance_details_by_config_rule(
        &self,
        request: Request<pb::GetComplianceDetailsByConfigRuleRequest>,
    ) -> Result<Response<pb::GetComplianceDetailsByConfigRuleResponse>, Status> {
        let caller = caller(&request)?;
        let query = RuleDetailsQuery::try_from(request.into_inner())?;
        let (evaluation_results, next_page_token) =
            self.compliance.rule_details(&caller, query).await?;
        Ok(Response::new(
            pb::GetComplianceDetailsByConfigRuleResponse {
                evaluation_results,
                next_page_token,
            },
        ))
    }

    #[instrument(skip_all)]
    async fn describe_compliance_by_resource(
        &self,
        request: Request<pb::DescribeComplianceByResourceRequest>,
    ) -> Result<Response<pb::DescribeComplianceByResourceResponse>, Status> {
        let caller = caller(&request)?;
        let query = ResourceComplianceQuery::try_from(request.into_inner())?;
        let (summaries, next_page_token) = self
            .compliance
            .compliance_by_resource(&caller, query)
            .await?;
        Ok(Response::new(pb::DescribeComplianceByResourceResponse {
            compliance_by_resources: summaries
                .into_iter()
                .map(
                    |(resource_type, resource_id, summary)| pb::ComplianceByResource {
                        resource_type,
                        resource_id,
                        compliance: Some(summary.to_proto()),
                    },
                )
                .collect(),
            next_page_token,
        }))
    }

    #[instrument(skip_all)]
    async fn put_conformance_pack(
        &self,
        request: Request<pb::PutConformancePackRequest>,
    ) -> Result<Response<pb::PutConformancePackResponse>, Status> {
        let caller = caller(&request)?;
        let input = PutConformancePack::try_from(request.into_inner())?;
        let conformance_pack = self.compliance.put_pack(&caller, input).await?;
        Ok(Response::new(pb::PutConformancePackResponse {
            conformance_pack: Some(conformance_pack),
        }))
    }

    #[instrument(skip_all)]
    async fn describe_conformance_packs(
        &self,
        request: Request<pb::DescribeConformancePacksRequest>,
    ) -> Result<Response<pb::DescribeConformancePacksResponse>, Status> {
        let caller = caller(&request)?;
        let query = NamedListing::try_from(request.into_inner())?;
        let (conformance_packs, next_page_token) =
            self.compliance.describe_packs(&caller, query).await?;
        Ok(Response::new(pb::DescribeConformancePacksResponse {
            conformance_packs,
            next_page_token,
        }))
    }

    #[instrument(skip_all)]
    async fn delete_conformance_pack(
        &self,
        request: Request<pb::DeleteConformancePackRequest>,
    ) -> Result<Response<pb::DeleteConformancePackResponse>, Status> {
        let caller = caller(&request)?;
        let request = request.into_inner();
        self.compliance
            .delete_pack(&caller, &request.account_id, &request.conformance_pack_name)
            .await?;
        Ok(Response::new(pb::DeleteConformancePackResponse {}))
    }

    #[instrument(skip_all)]
    async fn describe_conformance_pack_compliance(
        &self,
        request: Request<pb::DescribeConformancePackComplianceRequest>,
    ) -> Result<Response<pb::DescribeConformancePackComplianceResponse>, Status> {
        let caller = caller(&request)?;
        let query = PackComplianceQuery::try_from(request.into_inner())?;
        let conformance_pack_name = query.name.clone();
        let compliance = self.compliance.pack_compliance(&caller, query).await?;
        Ok(Response::new(
            pb::DescribeConformancePackComplianceResponse {
                conformance_pack_name,
                conformance_pack_rule_compliance_list: compliance
                    .rules
                    .into_iter()
                    .map(
                        |(config_rule_name, compliance_type)| pb::ConformancePackRuleCompliance {
                            config_rule_name,
                            compliance_type: compliance_type.to_proto() as i32,
                        },
                    )
                    .collect(),
                summary: Some(compliance.summary.to_proto()),
                next_page_token: compliance.next_page_token,
            },
        ))
    }
}
