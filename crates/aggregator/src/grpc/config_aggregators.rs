//! `ConfigAggregatorService`: unwraps requests, calls the Config aggregator domain and its views,
//! maps results. No logic here.

use std::sync::Arc;

use tonic::{Request, Response, Status};
use tracing::instrument;
use tributary_proto::aggregator::v1 as pb;
use tributary_runtime::auth::caller;

use crate::{
    config_aggregators::{
        ConfigAggregators, DescribeAggregators, PutAggregator, SourcesStatusQuery,
    },
    views::{
        AggregateViews, BatchGetQuery, GetResourceQuery, ListResourcesQuery, PackComplianceQuery,
        ResourceCountsQuery, RuleComplianceQuery, RuleDetailsQuery, SummaryQuery, Target,
    },
};

/// `ConfigAggregatorService`.
pub struct GrpcConfigAggregators {
    aggregators: Arc<ConfigAggregators>,
    views: Arc<AggregateViews>,
}

impl GrpcConfigAggregators {
    /// Serves `aggregators` and their `views`.
    pub fn new(aggregators: Arc<ConfigAggregators>, views: Arc<AggregateViews>) -> Self {
        Self { aggregators, views }
    }

    /// The aggregator a view request names, after the access and existence checks.
    async fn scope(
        &self,
        caller: &tributary_runtime::auth::Caller,
        target: &Target,
    ) -> Result<crate::config_aggregators::AggregatorScope, Status> {
        Ok(self
            .aggregators
            .scope(
                caller,
                &target.requested_owner,
                &target.home_region,
                &target.name,
            )
            .await?)
    }
}

#[tonic::async_trait]
impl pb::config_aggregator_service_server::ConfigAggregatorService for GrpcConfigAggregators {
    #[instrument(skip_all)]
    async fn put_configuration_aggregator(
        &self,
        request: Request<pb::PutConfigurationAggregatorRequest>,
    ) -> Result<Response<pb::PutConfigurationAggregatorResponse>, Status> {
        let caller = caller(&request)?;
        let input = PutAggregator::try_from(request.into_inner())?;
        let configuration_aggregator = self.aggregators.put(&caller, input).await?;
        Ok(Response::new(pb::PutConfigurationAggregatorResponse {
            configuration_aggregator: Some(configuration_aggregator),
        }))
    }

    #[instrument(skip_all)]
    async fn describe_configuration_aggregators(
        &self,
        request: Request<pb::DescribeConfigurationAggregatorsRequest>,
    ) -> Result<Response<pb::DescribeConfigurationAggregatorsResponse>, Status> {
        let caller = caller(&request)?;
        let query = DescribeAggregators::try_from(request.into_inner())?;
        let (configuration_aggregators, next_page_token) =
            self.aggregators.describe(&caller, query).await?;
        Ok(Response::new(
            pb::DescribeConfigurationAggregatorsResponse {
                configuration_aggregators,
                next_page_token,
            },
        ))
    }

    #[instrument(skip_all)]
    async fn delete_configuration_aggregator(
        &self,
        request: Request<pb::DeleteConfigurationAggregatorRequest>,
    ) -> Result<Response<pb::DeleteConfigurationAggregatorResponse>, Status> {
        let caller = caller(&request)?;
        let request = request.into_inner();
        self.aggregators
            .delete(
                &caller,
                &request.owner_account_id,
                &request.region,
                &request.configuration_aggregator_name,
            )
            .await?;
        Ok(Response::new(pb::DeleteConfigurationAggregatorResponse {}))
    }

    #[instrument(skip_all)]
    async fn describe_configuration_aggregator_sources_status(
        &self,
        request: Request<pb::DescribeConfigurationAggregatorSourcesStatusRequest>,
    ) -> Result<Response<pb::DescribeConfigurationAggregatorSourcesStatusResponse>, Status> {
        let caller = caller(&request)?;
        let query = SourcesStatusQuery::try_from(request.into_inner())?;
        let (aggregated_source_status_list, next_page_token) =
            self.aggregators.sources_status(&caller, query).await?;
        Ok(Response::new(
            pb::DescribeConfigurationAggregatorSourcesStatusResponse {
                aggregated_source_status_list,
                next_page_token,
            },
        ))
    }

    #[instrument(skip_all)]
    async fn tag_resource(
        &self,
        request: Request<pb::TagResourceRequest>,
    ) -> Result<Response<pb::TagResourceResponse>, Status> {
        let caller = caller(&request)?;
        let request = request.into_inner();
        self.aggregators
            .tag(&caller, &request.resource_arn, request.tags)
            .await?;
        Ok(Response::new(pb::TagResourceResponse {}))
    }

    #[instrument(skip_all)]
    async fn untag_resource(
        &self,
        request: Request<pb::UntagResourceRequest>,
    ) -> Result<Response<pb::UntagResourceResponse>, Status> {
        let caller = caller(&request)?;
        let request = request.into_inner();
        self.aggregators
            .untag(&caller, &request.resource_arn, &request.tag_keys)
            .await?;
        Ok(Response::new(pb::UntagResourceResponse {}))
    }

    #[instrument(skip_all)]
    async fn list_tags_for_resource(
        &self,
        request: Request<pb::ListTagsForResourceRequest>,
    ) -> Result<Response<pb::ListTagsForResourceResponse>, Status> {
        let caller = caller(&request)?;
        let request = request.into_inner();
        let (tags, next_page_token) = self
            .aggregators
            .list_tags(
                &caller,
                &request.resource_arn,
                request.page_size,
                &request.page_token,
            )
            .await?;
        Ok(Response::new(pb::ListTagsForResourceResponse {
            tags,
            next_page_token,
        }))
    }

    #[instrument(skip_all)]
    async fn describe_aggregate_compliance_by_config_rules(
        &self,
        request: Request<pb::DescribeAggregateComplianceByConfigRulesRequest>,
    ) -> Result<Response<pb::DescribeAggregateComplianceByConfigRulesResponse>, Status> {
        let caller = caller(&request)?;
        let query = RuleComplianceQuery::try_from(request.into_inner())?;
        let scope = self.scope(&caller, &query.target).await?;
        let (aggregate_compliance_by_config_rules, next_page_token) = self
            .views
            .compliance_by_config_rules(&scope, &query)
            .await?;
        Ok(Response::new(
            pb::DescribeAggregateComplianceByConfigRulesResponse {
                aggregate_compliance_by_config_rules,
                next_page_token,
            },
        ))
    }

    #[instrument(skip_all)]
    async fn get_aggregate_compliance_details_by_config_rule(
        &self,
        request: Request<pb::GetAggregateComplianceDetailsByConfigRuleRequest>,
    ) -> Result<Response<pb::GetAggregateComplianceDetailsByConfigRuleResponse>, Status> {
        let caller = caller(&request)?;
        let query = RuleDetailsQuery::try_from(request.into_inner())?;
        let scope = self.scope(&caller, &query.target).await?;
        let (aggregate_evaluation_results, next_page_token) = self
            .views
            .compliance_details_by_config_rule(&scope, &query)
            .await?;
        Ok(Response::new(
            pb::GetAggregateComplianceDetailsByConfigRuleResponse {
                aggregate_evaluation_results,
                next_page_token,
            },
        ))
    }

    #[instrument(skip_all)]
    async fn get_aggregate_config_rule_compliance_summary(
        &self,
        request: Request<pb::GetAggregateConfigRuleComplianceSummaryRequest>,
    ) -> Result<Response<pb::GetAggregateConfigRuleComplianceSummaryResponse>, Status> {
        let caller = caller(&request)?;
        let request = request.into_inner();
        let group_by_key = request.group_by_key;
        let query = SummaryQuery::try_from(request)?;
        let scope = self.scope(&caller, &query.target).await?;
        let (aggregate_compliance_counts, next_page_token) = self
            .views
            .config_rule_compliance_summary(&scope, &query)
            .await?;
        Ok(Response::new(
            pb::GetAggregateConfigRuleComplianceSummaryResponse {
                group_by_key,
                aggregate_compliance_counts,
                next_page_token,
            },
        ))
    }

    #[instrument(skip_all)]
    async fn describe_aggregate_compliance_by_conformance_packs(
        &self,
        request: Request<pb::DescribeAggregateComplianceByConformancePacksRequest>,
    ) -> Result<Response<pb::DescribeAggregateComplianceByConformancePacksResponse>, Status> {
        let caller = caller(&request)?;
        let query = PackComplianceQuery::try_from(request.into_inner())?;
        let scope = self.scope(&caller, &query.target).await?;
        let (aggregate_compliance_by_conformance_packs, next_page_token) = self
            .views
            .compliance_by_conformance_packs(&scope, &query)
            .await?;
        Ok(Response::new(
            pb::DescribeAggregateComplianceByConformancePacksResponse {
                aggregate_compliance_by_conformance_packs,
                next_page_token,
            },
        ))
    }

    #[instrument(skip_all)]
    async fn get_aggregate_conformance_pack_compliance_summary(
        &self,
        request: Request<pb::GetAggregateConformancePackComplianceSummaryRequest>,
    ) -> Result<Response<pb::GetAggregateConformancePackComplianceSummaryResponse>, Status> {
        let caller = caller(&request)?;
        let request = request.into_inner();
        let group_by_key = request.group_by_key;
        let query = SummaryQuery::try_from(request)?;
        let scope = self.scope(&caller, &query.target).await?;
        let (aggregate_conformance_pack_compliance_summaries, next_page_token) = self
            .views
            .conformance_pack_compliance_summary(&scope, &query)
            .await?;
        Ok(Response::new(
            pb::GetAggregateConformancePackComplianceSummaryResponse {
                aggregate_conformance_pack_compliance_summaries,
                group_by_key,
                next_page_token,
            },
        ))
    }

    #[instrument(skip_all)]
    async fn get_aggregate_discovered_resource_counts(
        &self,
        request: Request<pb::GetAggregateDiscoveredResourceCountsRequest>,
    ) -> Result<Response<pb::GetAggregateDiscoveredResourceCountsResponse>, Status> {
        let caller = caller(&request)?;
        let request = request.into_inner();
        let group_by_key = request.group_by_key;
        let query = ResourceCountsQuery::try_from(request)?;
        let scope = self.scope(&caller, &query.target).await?;
        let (total_discovered_resources, grouped_resource_counts, next_page_token) = self
            .views
            .discovered_resource_counts(&scope, &query)
            .await?;
        Ok(Response::new(
            pb::GetAggregateDiscoveredResourceCountsResponse {
                total_discovered_resources,
                group_by_key,
                grouped_resource_counts,
                next_page_token,
            },
        ))
    }

    #[instrument(skip_all)]
    async fn list_aggregate_discovered_resources(
        &self,
        request: Request<pb::ListAggregateDiscoveredResourcesRequest>,
    ) -> Result<Response<pb::ListAggregateDiscoveredResourcesResponse>, Status> {
        let caller = caller(&request)?;
        let query = ListResourcesQuery::try_from(request.into_inner())?;
        let scope = self.scope(&caller, &query.target).await?;
        let (resource_identifiers, next_page_token) =
            self.views.list_discovered_resources(&scope, &query).await?;
        Ok(Response::new(
            pb::ListAggregateDiscoveredResourcesResponse {
                resource_identifiers,
                next_page_token,
            },
        ))
    }

    #[instrument(skip_all)]
    async fn get_aggregate_resource_config(
        &self,
        request: Request<pb::GetAggregateResourceConfigRequest>,
    ) -> Result<Response<pb::GetAggregateResourceConfigResponse>, Status> {
        let caller = caller(&request)?;
        let query = GetResourceQuery::try_from(request.into_inner())?;
        let scope = self.scope(&caller, &query.target).await?;
        let configuration_item = self.views.resource_config(&scope, &query).await?;
        Ok(Response::new(pb::GetAggregateResourceConfigResponse {
            configuration_item: Some(configuration_item),
        }))
    }

    #[instrument(skip_all)]
    async fn batch_get_aggregate_resource_config(
        &self,
        request: Request<pb::BatchGetAggregateResourceConfigRequest>,
    ) -> Result<Response<pb::BatchGetAggregateResourceConfigResponse>, Status> {
        let caller = caller(&request)?;
        let query = BatchGetQuery::try_from(request.into_inner())?;
        let scope = self.scope(&caller, &query.target).await?;
        let (base_configuration_items, unprocessed_resource_identifiers) =
            self.views.batch_resource_config(&scope, &query).await?;
        Ok(Response::new(pb::BatchGetAggregateResourceConfigResponse {
            base_configuration_items,
            unprocessed_resource_identifiers,
        }))
    }

    #[instrument(skip_all)]
    async fn select_aggregate_resource_config(
        &self,
        request: Request<pb::SelectAggregateResourceConfigRequest>,
    ) -> Result<Response<pb::SelectAggregateResourceConfigResponse>, Status> {
        let caller = caller(&request)?;
        let request = request.into_inner();
        let page_size = crate::query::requested_page_size(request.page_size, request.max_results)?;
        let scope = self
            .aggregators
            .scope(
                &caller,
                &request.owner_account_id,
                &request.region,
                &request.configuration_aggregator_name,
            )
            .await?;
        let page = crate::query::select(
            self.views.db(),
            self.views.page_tokens(),
            &crate::query::QueryScope::from(&scope),
            crate::query::SelectRequest {
                expression: &request.expression,
                page_size,
                page_token: &request.page_token,
            },
        )
        .await?;
        Ok(Response::new(pb::SelectAggregateResourceConfigResponse {
            results: page.results,
            query_info: Some(pb::QueryInfo {
                select_fields: page
                    .select_fields
                    .into_iter()
                    .map(|name| pb::FieldInfo { name })
                    .collect(),
            }),
            next_page_token: page.next_page_token,
        }))
    }
}
