//! `tributary config-aggregators`: Config aggregators and their aggregated views (the aggregator's
//! `ConfigAggregatorService`). An account key acts as its own account; operator and service keys
//! name the owner with `--owner`.

use anyhow::{Context as _, bail};
use tributary_proto::{aggregator::v1 as pb, collector::v1 as collector_pb};

use crate::{
    context::Context,
    output::{duration_ms, label, or_dash, table, time, with_more},
    paging::{PageArgs, fetch},
};

/// Names one aggregator: owner, home region and name.
#[derive(Debug, Clone, clap::Args)]
pub struct AggregatorName {
    /// The aggregator's name.
    #[arg(long)]
    pub name: String,
    /// The aggregator's home region.
    #[arg(long)]
    pub region: String,
    /// The owner account; operator and service keys must name it.
    #[arg(long, default_value = "")]
    pub owner: String,
}

/// Compliance values of the filters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ComplianceArg {
    /// COMPLIANT.
    Compliant,
    /// NON_COMPLIANT.
    NonCompliant,
    /// INSUFFICIENT_DATA.
    InsufficientData,
}

impl ComplianceArg {
    fn wire(self) -> i32 {
        match self {
            Self::Compliant => collector_pb::ComplianceType::Compliant as i32,
            Self::NonCompliant => collector_pb::ComplianceType::NonCompliant as i32,
            Self::InsufficientData => collector_pb::ComplianceType::InsufficientData as i32,
        }
    }
}

/// Grouping of the summaries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SummaryGroup {
    /// Per source account.
    Account,
    /// Per source region.
    Region,
}

/// Grouping of resource counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CountGroup {
    /// Per resource type.
    ResourceType,
    /// Per source account.
    Account,
    /// Per source region.
    Region,
}

/// Source statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SourceStatusArg {
    /// SUCCEEDED.
    Succeeded,
    /// FAILED.
    Failed,
    /// OUTDATED.
    Outdated,
}

/// Config aggregator subcommands.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum Command {
    /// Create or replace an aggregator.
    Put {
        #[command(flatten)]
        aggregator: AggregatorName,
        /// Listed source accounts (comma-separated); each must authorize the aggregator.
        #[arg(long, value_delimiter = ',', conflicts_with = "organization")]
        accounts: Vec<String>,
        /// Aggregate the owner's whole organization instead of listed accounts.
        #[arg(long)]
        organization: bool,
        /// The role ARN of an organization source.
        #[arg(long, default_value = "")]
        role_arn: String,
        /// Cover every registered region, now and later.
        #[arg(long, conflicts_with = "regions")]
        all_regions: bool,
        /// The covered regions (comma-separated).
        #[arg(long, value_delimiter = ',')]
        regions: Vec<String>,
        /// Only these resource types reach the views (comma-separated).
        #[arg(long, value_delimiter = ',')]
        resource_types: Vec<String>,
    },
    /// List the owner's aggregators in a region.
    List {
        /// The home region.
        #[arg(long)]
        region: String,
        /// The owner account; operator and service keys must name it.
        #[arg(long, default_value = "")]
        owner: String,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Describe one aggregator.
    Describe {
        #[command(flatten)]
        aggregator: AggregatorName,
    },
    /// Delete an aggregator and the data replicated for it.
    Delete {
        #[command(flatten)]
        aggregator: AggregatorName,
    },
    /// How fresh each source (account and region) is.
    SourcesStatus {
        #[command(flatten)]
        aggregator: AggregatorName,
        /// Only rows with these statuses (comma-separated).
        #[arg(long, value_enum, value_delimiter = ',')]
        status: Vec<SourceStatusArg>,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Compliance of each Config rule per source account and region.
    Compliance {
        #[command(flatten)]
        aggregator: AggregatorName,
        /// Only this rule.
        #[arg(long, default_value = "")]
        rule: String,
        /// Only rules with this compliance.
        #[arg(long, value_enum)]
        compliance: Option<ComplianceArg>,
        /// Only this source account.
        #[arg(long, default_value = "")]
        source_account: String,
        /// Only this source region.
        #[arg(long, default_value = "")]
        source_region: String,
        #[command(flatten)]
        page: PageArgs,
    },
    /// The evaluation results of one rule in one source account and region.
    ComplianceDetails {
        #[command(flatten)]
        aggregator: AggregatorName,
        /// The rule.
        #[arg(long)]
        rule: String,
        /// The source account.
        #[arg(long)]
        source_account: String,
        /// The source region.
        #[arg(long)]
        source_region: String,
        /// Only results with this compliance.
        #[arg(long, value_enum)]
        compliance: Option<ComplianceArg>,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Compliant and non-compliant rule counts, per source account or region.
    ComplianceSummary {
        #[command(flatten)]
        aggregator: AggregatorName,
        /// Group by source account or region.
        #[arg(long, value_enum)]
        group_by: Option<SummaryGroup>,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Compliance of each conformance pack per source account and region.
    ConformancePacks {
        #[command(flatten)]
        aggregator: AggregatorName,
        /// Only packs with this compliance.
        #[arg(long, value_enum)]
        compliance: Option<ComplianceArg>,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Resource counts, in total and per type, account or region.
    ResourceCounts {
        #[command(flatten)]
        aggregator: AggregatorName,
        /// Group the counts.
        #[arg(long, value_enum)]
        group_by: Option<CountGroup>,
        /// Only this resource type.
        #[arg(long, default_value = "")]
        resource_type: String,
        /// Only this source account.
        #[arg(long, default_value = "")]
        source_account: String,
        /// Only this source region.
        #[arg(long, default_value = "")]
        source_region: String,
        #[command(flatten)]
        page: PageArgs,
    },
    /// List the resources of one type.
    Resources {
        #[command(flatten)]
        aggregator: AggregatorName,
        /// The resource type, e.g. AWS::EC2::Instance.
        #[arg(long)]
        resource_type: String,
        /// Only this source account.
        #[arg(long, default_value = "")]
        source_account: String,
        /// Only this source region.
        #[arg(long, default_value = "")]
        source_region: String,
        /// Only this resource id.
        #[arg(long, default_value = "")]
        resource_id: String,
        /// Only resources with exactly this name.
        #[arg(long, default_value = "")]
        resource_name: String,
        #[command(flatten)]
        page: PageArgs,
    },
    /// The current configuration item of one resource.
    ResourceConfig {
        #[command(flatten)]
        aggregator: AggregatorName,
        /// The source account.
        #[arg(long)]
        source_account: String,
        /// The source region.
        #[arg(long)]
        source_region: String,
        /// The resource type.
        #[arg(long)]
        resource_type: String,
        /// The resource id.
        #[arg(long)]
        resource_id: String,
    },
}

/// Runs a Config aggregator subcommand.
pub async fn run(context: &Context, command: Command) -> anyhow::Result<()> {
    let mut client = context.config_aggregator_client()?;
    let output = context.output();
    match command {
        Command::Put {
            aggregator,
            accounts,
            organization,
            role_arn,
            all_regions,
            regions,
            resource_types,
        } => {
            if !organization && accounts.is_empty() {
                bail!("name the sources: --accounts 111111111111,222222222222 or --organization");
            }
            if !all_regions && regions.is_empty() {
                bail!("name the regions: --all-regions or --regions us-east-1,eu-west-1");
            }
            let (account_aggregation_sources, organization_aggregation_source) = if organization {
                (
                    Vec::new(),
                    Some(pb::OrganizationAggregationSource {
                        role_arn,
                        aws_regions: regions,
                        all_aws_regions: all_regions,
                    }),
                )
            } else {
                (
                    vec![pb::AccountAggregationSource {
                        account_ids: accounts,
                        all_aws_regions: all_regions,
                        aws_regions: regions,
                    }],
                    None,
                )
            };
            let aggregator_filters = if resource_types.is_empty() {
                None
            } else {
                Some(pb::AggregatorFilters {
                    resource_type: Some(pb::AggregatorFilterResourceType {
                        r#type: pb::AggregatorFilterType::Include as i32,
                        value: resource_types,
                    }),
                    service_principal: None,
                })
            };
            let response = client
                .put_configuration_aggregator(pb::PutConfigurationAggregatorRequest {
                    owner_account_id: aggregator.owner.clone(),
                    region: aggregator.region.clone(),
                    configuration_aggregator_name: aggregator.name.clone(),
                    account_aggregation_sources,
                    organization_aggregation_source,
                    tags: Vec::new(),
                    aggregator_filters,
                })
                .await
                .with_context(|| format!("putting aggregator {}", aggregator.name))?
                .into_inner();
            output.message(&response, |response| {
                aggregators_table(response.configuration_aggregator.iter(), "")
            })
        }
        Command::List {
            region,
            owner,
            page,
        } => {
            let response = fetch(&page, |page_token| {
                let mut client = client.clone();
                let request = pb::DescribeConfigurationAggregatorsRequest {
                    owner_account_id: owner.clone(),
                    region: region.clone(),
                    configuration_aggregator_names: Vec::new(),
                    page_size: page.page_size,
                    page_token,
                };
                async move { client.describe_configuration_aggregators(request).await }
            })
            .await
            .with_context(|| format!("listing aggregators in {region}"))?;
            output.message(&response, |response| {
                aggregators_table(
                    response.configuration_aggregators.iter(),
                    &response.next_page_token,
                )
            })
        }
        Command::Describe { aggregator } => {
            let response = client
                .describe_configuration_aggregators(pb::DescribeConfigurationAggregatorsRequest {
                    owner_account_id: aggregator.owner.clone(),
                    region: aggregator.region.clone(),
                    configuration_aggregator_names: vec![aggregator.name.clone()],
                    page_size: 0,
                    page_token: String::new(),
                })
                .await
                .with_context(|| format!("describing aggregator {}", aggregator.name))?
                .into_inner();
            output.message(&response, |response| {
                aggregators_table(response.configuration_aggregators.iter(), "")
            })
        }
        Command::Delete { aggregator } => {
            let response = client
                .delete_configuration_aggregator(pb::DeleteConfigurationAggregatorRequest {
                    owner_account_id: aggregator.owner.clone(),
                    region: aggregator.region.clone(),
                    configuration_aggregator_name: aggregator.name.clone(),
                })
                .await
                .with_context(|| format!("deleting aggregator {}", aggregator.name))?
                .into_inner();
            output.message(&response, |_| {
                format!("deleted aggregator {}", aggregator.name)
            })
        }
        Command::SourcesStatus {
            aggregator,
            status,
            page,
        } => {
            let response = sources_status(context, &aggregator, &status, &page).await?;
            output.message(&response, |response| {
                sources_table(
                    &response.aggregated_source_status_list,
                    &response.next_page_token,
                )
            })
        }
        Command::Compliance {
            aggregator,
            rule,
            compliance,
            source_account,
            source_region,
            page,
        } => {
            let response = fetch(&page, |page_token| {
                let mut client = client.clone();
                let request = pb::DescribeAggregateComplianceByConfigRulesRequest {
                    owner_account_id: aggregator.owner.clone(),
                    region: aggregator.region.clone(),
                    configuration_aggregator_name: aggregator.name.clone(),
                    filters: Some(pb::ConfigRuleComplianceFilters {
                        config_rule_name: rule.clone(),
                        compliance_type: compliance.map_or(0, ComplianceArg::wire),
                        account_id: source_account.clone(),
                        aws_region: source_region.clone(),
                    }),
                    page_size: page.page_size,
                    page_token,
                };
                async move {
                    client
                        .describe_aggregate_compliance_by_config_rules(request)
                        .await
                }
            })
            .await
            .with_context(|| format!("reading the rule compliance of {}", aggregator.name))?;
            output.message(&response, |response| {
                let mut rows = table(&["rule", "account", "region", "compliance", "non-compliant"]);
                for rule in &response.aggregate_compliance_by_config_rules {
                    let compliance = rule.compliance.unwrap_or_default();
                    rows.add_row(vec![
                        rule.config_rule_name.clone(),
                        rule.account_id.clone(),
                        rule.aws_region.clone(),
                        compliance_label(compliance.compliance_type),
                        contributors(compliance.compliance_contributor_count.as_ref()),
                    ]);
                }
                with_more(rows, &response.next_page_token)
            })
        }
        Command::ComplianceDetails {
            aggregator,
            rule,
            source_account,
            source_region,
            compliance,
            page,
        } => {
            let response = fetch(&page, |page_token| {
                let mut client = client.clone();
                let request = pb::GetAggregateComplianceDetailsByConfigRuleRequest {
                    owner_account_id: aggregator.owner.clone(),
                    region: aggregator.region.clone(),
                    configuration_aggregator_name: aggregator.name.clone(),
                    config_rule_name: rule.clone(),
                    account_id: source_account.clone(),
                    aws_region: source_region.clone(),
                    compliance_type: compliance.map_or(0, ComplianceArg::wire),
                    page_size: page.page_size,
                    page_token,
                };
                async move {
                    client
                        .get_aggregate_compliance_details_by_config_rule(request)
                        .await
                }
            })
            .await
            .with_context(|| format!("reading the results of rule {rule}"))?;
            output.message(&response, |response| {
                let mut rows = table(&[
                    "resource type",
                    "resource",
                    "compliance",
                    "annotation",
                    "evaluated",
                ]);
                for result in &response.aggregate_evaluation_results {
                    let qualifier = result
                        .evaluation_result_identifier
                        .as_ref()
                        .and_then(|identifier| identifier.evaluation_result_qualifier.clone())
                        .unwrap_or_default();
                    rows.add_row(vec![
                        qualifier.resource_type,
                        qualifier.resource_id,
                        compliance_label(result.compliance_type),
                        or_dash(&result.annotation),
                        time(result.config_rule_invoked_time.as_ref()),
                    ]);
                }
                with_more(rows, &response.next_page_token)
            })
        }
        Command::ComplianceSummary {
            aggregator,
            group_by,
            page,
        } => {
            let group_by_key = match group_by {
                None => pb::ConfigRuleComplianceSummaryGroupKey::Unspecified,
                Some(SummaryGroup::Account) => pb::ConfigRuleComplianceSummaryGroupKey::AccountId,
                Some(SummaryGroup::Region) => pb::ConfigRuleComplianceSummaryGroupKey::AwsRegion,
            };
            let response = fetch(&page, |page_token| {
                let mut client = client.clone();
                let request = pb::GetAggregateConfigRuleComplianceSummaryRequest {
                    owner_account_id: aggregator.owner.clone(),
                    region: aggregator.region.clone(),
                    configuration_aggregator_name: aggregator.name.clone(),
                    filters: None,
                    group_by_key: group_by_key as i32,
                    page_size: page.page_size,
                    page_token,
                };
                async move {
                    client
                        .get_aggregate_config_rule_compliance_summary(request)
                        .await
                }
            })
            .await
            .with_context(|| format!("reading the compliance summary of {}", aggregator.name))?;
            output.message(&response, |response| {
                let mut rows = table(&["group", "compliant rules", "non-compliant rules"]);
                for count in &response.aggregate_compliance_counts {
                    let summary = count.compliance_summary.unwrap_or_default();
                    rows.add_row(vec![
                        if count.group_name.is_empty() {
                            "all".to_string()
                        } else {
                            count.group_name.clone()
                        },
                        capped(summary.compliant_resource_count.as_ref()),
                        capped(summary.non_compliant_resource_count.as_ref()),
                    ]);
                }
                with_more(rows, &response.next_page_token)
            })
        }
        Command::ConformancePacks {
            aggregator,
            compliance,
            page,
        } => {
            let response = fetch(&page, |page_token| {
                let mut client = client.clone();
                let request = pb::DescribeAggregateComplianceByConformancePacksRequest {
                    owner_account_id: aggregator.owner.clone(),
                    region: aggregator.region.clone(),
                    configuration_aggregator_name: aggregator.name.clone(),
                    filters: compliance.map(|compliance| pb::ConformancePackComplianceFilters {
                        compliance_type: compliance.wire(),
                        ..Default::default()
                    }),
                    page_size: page.page_size,
                    page_token,
                };
                async move {
                    client
                        .describe_aggregate_compliance_by_conformance_packs(request)
                        .await
                }
            })
            .await
            .with_context(|| format!("reading the conformance packs of {}", aggregator.name))?;
            output.message(&response, |response| {
                let mut rows = table(&[
                    "pack",
                    "account",
                    "region",
                    "compliance",
                    "compliant / non-compliant / total rules",
                ]);
                for pack in &response.aggregate_compliance_by_conformance_packs {
                    let summary = pack.compliance.unwrap_or_default();
                    rows.add_row(vec![
                        pack.conformance_pack_name.clone(),
                        pack.account_id.clone(),
                        pack.aws_region.clone(),
                        compliance_label(summary.compliance_type),
                        format!(
                            "{} / {} / {}",
                            summary.compliant_rule_count,
                            summary.non_compliant_rule_count,
                            summary.total_rule_count
                        ),
                    ]);
                }
                with_more(rows, &response.next_page_token)
            })
        }
        Command::ResourceCounts {
            aggregator,
            group_by,
            resource_type,
            source_account,
            source_region,
            page,
        } => {
            let response = resource_counts(
                context,
                &aggregator,
                group_by,
                pb::ResourceCountFilters {
                    resource_type,
                    account_id: source_account,
                    region: source_region,
                },
                &page,
            )
            .await?;
            output.message(&response, |response| {
                let mut rows = table(&["group", "resources"]);
                for group in &response.grouped_resource_counts {
                    rows.add_row(vec![
                        group.group_name.clone(),
                        group.resource_count.to_string(),
                    ]);
                }
                rows.add_row(vec![
                    "total".to_string(),
                    response.total_discovered_resources.to_string(),
                ]);
                with_more(rows, &response.next_page_token)
            })
        }
        Command::Resources {
            aggregator,
            resource_type,
            source_account,
            source_region,
            resource_id,
            resource_name,
            page,
        } => {
            let response = fetch(&page, |page_token| {
                let mut client = client.clone();
                let request = pb::ListAggregateDiscoveredResourcesRequest {
                    owner_account_id: aggregator.owner.clone(),
                    region: aggregator.region.clone(),
                    configuration_aggregator_name: aggregator.name.clone(),
                    resource_type: resource_type.clone(),
                    filters: Some(pb::ResourceFilters {
                        account_id: source_account.clone(),
                        resource_id: resource_id.clone(),
                        resource_name: resource_name.clone(),
                        region: source_region.clone(),
                    }),
                    page_size: page.page_size,
                    page_token,
                };
                async move { client.list_aggregate_discovered_resources(request).await }
            })
            .await
            .with_context(|| format!("listing {resource_type} resources of {}", aggregator.name))?;
            output.message(&response, |response| {
                let mut rows = table(&["account", "region", "resource type", "resource", "name"]);
                for resource in &response.resource_identifiers {
                    rows.add_row(vec![
                        resource.source_account_id.clone(),
                        resource.source_region.clone(),
                        resource.resource_type.clone(),
                        resource.resource_id.clone(),
                        or_dash(&resource.resource_name),
                    ]);
                }
                with_more(rows, &response.next_page_token)
            })
        }
        Command::ResourceConfig {
            aggregator,
            source_account,
            source_region,
            resource_type,
            resource_id,
        } => {
            let response = client
                .get_aggregate_resource_config(pb::GetAggregateResourceConfigRequest {
                    owner_account_id: aggregator.owner.clone(),
                    region: aggregator.region.clone(),
                    configuration_aggregator_name: aggregator.name.clone(),
                    resource_identifier: Some(pb::AggregateResourceIdentifier {
                        source_account_id: source_account,
                        source_region,
                        resource_id: resource_id.clone(),
                        resource_type,
                        resource_name: String::new(),
                    }),
                })
                .await
                .with_context(|| format!("reading the configuration of {resource_id}"))?
                .into_inner();
            output.message(&response, |response| {
                configuration_item_text(response.configuration_item.as_ref())
            })
        }
    }
}

/// Every page (or one, as `page` says) of an aggregator's source statuses.
pub async fn sources_status(
    context: &Context,
    aggregator: &AggregatorName,
    status: &[SourceStatusArg],
    page: &PageArgs,
) -> anyhow::Result<pb::DescribeConfigurationAggregatorSourcesStatusResponse> {
    let client = context.config_aggregator_client()?;
    let update_status: Vec<i32> = status
        .iter()
        .map(|status| match status {
            SourceStatusArg::Succeeded => pb::AggregatedSourceStatusType::Succeeded as i32,
            SourceStatusArg::Failed => pb::AggregatedSourceStatusType::Failed as i32,
            SourceStatusArg::Outdated => pb::AggregatedSourceStatusType::Outdated as i32,
        })
        .collect();
    fetch(page, |page_token| {
        let mut client = client.clone();
        let request = pb::DescribeConfigurationAggregatorSourcesStatusRequest {
            owner_account_id: aggregator.owner.clone(),
            region: aggregator.region.clone(),
            configuration_aggregator_name: aggregator.name.clone(),
            update_status: update_status.clone(),
            page_size: page.page_size,
            page_token,
        };
        async move {
            client
                .describe_configuration_aggregator_sources_status(request)
                .await
        }
    })
    .await
    .with_context(|| format!("reading the source status of {}", aggregator.name))
}

/// An aggregator's resource counts.
pub async fn resource_counts(
    context: &Context,
    aggregator: &AggregatorName,
    group_by: Option<CountGroup>,
    filters: pb::ResourceCountFilters,
    page: &PageArgs,
) -> anyhow::Result<pb::GetAggregateDiscoveredResourceCountsResponse> {
    let client = context.config_aggregator_client()?;
    let group_by_key = match group_by {
        None => pb::ResourceCountGroupKey::Unspecified,
        Some(CountGroup::ResourceType) => pb::ResourceCountGroupKey::ResourceType,
        Some(CountGroup::Account) => pb::ResourceCountGroupKey::AccountId,
        Some(CountGroup::Region) => pb::ResourceCountGroupKey::AwsRegion,
    };
    fetch(page, |page_token| {
        let mut client = client.clone();
        let request = pb::GetAggregateDiscoveredResourceCountsRequest {
            owner_account_id: aggregator.owner.clone(),
            region: aggregator.region.clone(),
            configuration_aggregator_name: aggregator.name.clone(),
            filters: Some(filters.clone()),
            group_by_key: group_by_key as i32,
            page_size: page.page_size,
            page_token,
        };
        async move {
            client
                .get_aggregate_discovered_resource_counts(request)
                .await
        }
    })
    .await
    .with_context(|| format!("counting the resources of {}", aggregator.name))
}

/// Source statuses as a table.
pub fn sources_table(rows_in: &[pb::AggregatedSourceStatus], next_page_token: &str) -> String {
    let mut rows = table(&[
        "source",
        "type",
        "region",
        "status",
        "lag",
        "last success",
        "error",
    ]);
    for source in rows_in {
        let error = if source.last_error_code.is_empty() {
            "-".to_string()
        } else {
            format!("{}: {}", source.last_error_code, source.last_error_message)
        };
        rows.add_row(vec![
            source.source_id.clone(),
            pb::AggregatedSourceType::try_from(source.source_type)
                .map(|kind| label(kind.as_str_name(), "AGGREGATED_SOURCE_TYPE_"))
                .unwrap_or_default(),
            source.aws_region.clone(),
            pb::AggregatedSourceStatusType::try_from(source.last_update_status)
                .map(|status| label(status.as_str_name(), "AGGREGATED_SOURCE_STATUS_TYPE_"))
                .unwrap_or_default(),
            source
                .lag_ms
                .map_or_else(|| "-".to_string(), |lag| duration_ms(lag.max(0) as u64)),
            time(source.last_success_time.as_ref()),
            error,
        ]);
    }
    with_more(rows, next_page_token)
}

fn aggregators_table<'a>(
    aggregators: impl Iterator<Item = &'a pb::ConfigurationAggregator>,
    next_page_token: &str,
) -> String {
    let mut rows = table(&["name", "owner", "region", "sources", "regions", "created"]);
    for aggregator in aggregators {
        let (sources, regions) = match (
            aggregator.account_aggregation_sources.first(),
            &aggregator.organization_aggregation_source,
        ) {
            (_, Some(organization)) => (
                "organization".to_string(),
                regions_text(organization.all_aws_regions, &organization.aws_regions),
            ),
            (Some(accounts), None) => (
                format!("{} accounts", accounts.account_ids.len()),
                regions_text(accounts.all_aws_regions, &accounts.aws_regions),
            ),
            (None, None) => ("-".to_string(), "-".to_string()),
        };
        rows.add_row(vec![
            aggregator.configuration_aggregator_name.clone(),
            aggregator.owner_account_id.clone(),
            aggregator.region.clone(),
            sources,
            regions,
            time(aggregator.creation_time.as_ref()),
        ]);
    }
    with_more(rows, next_page_token)
}

fn regions_text(all: bool, regions: &[String]) -> String {
    if all {
        "all".to_string()
    } else {
        regions.join(",")
    }
}

/// A compliance type's short name.
pub fn compliance_label(value: i32) -> String {
    collector_pb::ComplianceType::try_from(value)
        .map(|compliance| label(compliance.as_str_name(), "COMPLIANCE_TYPE_"))
        .unwrap_or_default()
}

fn contributors(count: Option<&collector_pb::ComplianceContributorCount>) -> String {
    count.map_or_else(|| "-".to_string(), |count| capped(Some(count)))
}

fn capped(count: Option<&collector_pb::ComplianceContributorCount>) -> String {
    match count {
        Some(count) if count.cap_exceeded => format!("{}+", count.capped_count),
        Some(count) => count.capped_count.to_string(),
        None => "0".to_string(),
    }
}

/// A configuration item as text: its identity, tags and pretty configuration.
pub fn configuration_item_text(item: Option<&collector_pb::ConfigurationItem>) -> String {
    let Some(item) = item else {
        return "no configuration item".to_string();
    };
    let mut rows = table(&["field", "value"]);
    for (field, value) in [
        ("resource type", item.resource_type.clone()),
        ("resource id", item.resource_id.clone()),
        ("name", or_dash(&item.resource_name)),
        ("account", item.account_id.clone()),
        ("region", item.aws_region.clone()),
        ("arn", or_dash(&item.arn)),
        (
            "status",
            collector_pb::ConfigurationItemStatus::try_from(item.configuration_item_status)
                .map(|status| label(status.as_str_name(), "CONFIGURATION_ITEM_STATUS_"))
                .unwrap_or_default(),
        ),
        (
            "captured",
            time(item.configuration_item_capture_time.as_ref()),
        ),
        (
            "tags",
            item.tags
                .iter()
                .map(|tag| format!("{}={}", tag.key, tag.value))
                .collect::<Vec<_>>()
                .join(", "),
        ),
    ] {
        rows.add_row(vec![field.to_string(), value]);
    }
    let configuration = serde_json::from_str::<serde_json::Value>(&item.configuration)
        .ok()
        .and_then(|value| serde_json::to_string_pretty(&value).ok())
        .unwrap_or_else(|| item.configuration.clone());
    format!("{rows}\n{configuration}")
}
