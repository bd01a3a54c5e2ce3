//! Paging for list subcommands: one page by default, every page with `--all` (the pages' lists
//! concatenated into one response).

use std::future::Future;

use tributary_proto::{
    aggregator::v1 as aggregator_pb, collector::v1 as collector_pb, membership::v1 as membership_pb,
};

/// Paging options of list subcommands.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct PageArgs {
    /// Results per page (0: the call's default).
    #[arg(long, default_value_t = 0)]
    pub page_size: i32,
    /// Continue from a previous answer's next page token.
    #[arg(long, default_value = "")]
    pub page_token: String,
    /// Follow next page tokens and print every result.
    #[arg(long)]
    pub all: bool,
}

/// A paged response: its next page token, and how to append the next page's results.
pub trait Paged {
    /// The token of the next page; empty on the last.
    fn next_page_token(&self) -> &str;
    /// Appends `next`'s results and takes its token.
    fn absorb(&mut self, next: Self);
}

macro_rules! paged {
    ($($response:ty => $($list:ident),+;)*) => {
        $(
            impl Paged for $response {
                fn next_page_token(&self) -> &str {
                    &self.next_page_token
                }
                fn absorb(&mut self, next: Self) {
                    $(self.$list.extend(next.$list);)+
                    self.next_page_token = next.next_page_token;
                }
            }
        )*
    };
}

paged! {
    membership_pb::ListRegionsResponse => regions;
    membership_pb::ListAccountsResponse => accounts;
    membership_pb::ListApiKeysResponse => api_keys;
    membership_pb::ListMembersResponse => members;
    membership_pb::ListInvitationsResponse => invitations;
    membership_pb::ListOrganizationAdminAccountsResponse => admin_accounts;
    membership_pb::DescribeAggregationAuthorizationsResponse => aggregation_authorizations;
    membership_pb::DescribePendingAggregationRequestsResponse => pending_aggregation_requests;
    aggregator_pb::DescribeConfigurationAggregatorsResponse => configuration_aggregators;
    aggregator_pb::DescribeConfigurationAggregatorSourcesStatusResponse => aggregated_source_status_list;
    aggregator_pb::DescribeAggregateComplianceByConfigRulesResponse => aggregate_compliance_by_config_rules;
    aggregator_pb::GetAggregateComplianceDetailsByConfigRuleResponse => aggregate_evaluation_results;
    aggregator_pb::GetAggregateConfigRuleComplianceSummaryResponse => aggregate_compliance_counts;
    aggregator_pb::DescribeAggregateComplianceByConformancePacksResponse => aggregate_compliance_by_conformance_packs;
    aggregator_pb::GetAggregateConformancePackComplianceSummaryResponse => aggregate_conformance_pack_compliance_summaries;
    aggregator_pb::GetAggregateDiscoveredResourceCountsResponse => grouped_resource_counts;
    aggregator_pb::ListAggregateDiscoveredResourcesResponse => resource_identifiers;
    aggregator_pb::SelectAggregateResourceConfigResponse => results;
    aggregator_pb::ListFindingAggregatorsResponse => finding_aggregators;
    aggregator_pb::GetFindingsResponse => findings;
    aggregator_pb::GetInsightsResponse => insights;
    collector_pb::GetFindingsResponse => findings;
    collector_pb::GetInsightsResponse => insights;
    collector_pb::DescribeStandardsResponse => standards;
    collector_pb::GetEnabledStandardsResponse => standards_subscriptions;
    collector_pb::DescribeStandardsControlsResponse => controls;
    collector_pb::DescribeProductsResponse => products;
    collector_pb::ListEnabledProductsForImportResponse => product_subscriptions;
    collector_pb::GetFindingHistoryResponse => records;
}

/// Calls `call` with `page.page_token`, then, with `--all`, with each next page token until the
/// last page, and returns the pages as one response.
pub async fn fetch<R, F, Fut>(page: &PageArgs, mut call: F) -> Result<R, tonic::Status>
where
    R: Paged,
    F: FnMut(String) -> Fut,
    Fut: Future<Output = Result<tonic::Response<R>, tonic::Status>>,
{
    let mut response = call(page.page_token.clone()).await?.into_inner();
    while page.all && !response.next_page_token().is_empty() {
        let next = call(response.next_page_token().to_string())
            .await?
            .into_inner();
        response.absorb(next);
    }
    Ok(response)
}
