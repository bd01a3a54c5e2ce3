//! `tributary insights`: custom and managed insights and their results, per region
//! (`SecurityHubService`). Operator and service keys name the account with `--account`.

use anyhow::Context as _;
use tributary_proto::{aggregator::v1 as aggregator_pb, collector::v1 as pb};

use crate::{
    commands::findings::FilterArgs,
    context::Context,
    output::{table, with_more},
    paging::{PageArgs, fetch},
};

/// Insight subcommands.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum Command {
    /// List the account's custom insights, or the named ones (custom or managed).
    List {
        /// The region.
        #[arg(long)]
        region: String,
        /// Only these insight ARNs.
        #[arg(long = "arn")]
        arns: Vec<String>,
        /// The account; operator and service keys must name it.
        #[arg(long, default_value = "")]
        account: String,
        /// The insights of the finding aggregator whose home region is --region.
        #[arg(long)]
        aggregated: bool,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Evaluate an insight: matching findings counted per group.
    Results {
        /// The region.
        #[arg(long)]
        region: String,
        /// The insight's ARN.
        arn: String,
        /// Whose findings a managed insight covers; operator and service keys must name it.
        #[arg(long, default_value = "")]
        account: String,
        /// Evaluate over the aggregated findings of the home region --region.
        #[arg(long)]
        aggregated: bool,
    },
    /// Create a custom insight from simple filters.
    Create {
        /// The region.
        #[arg(long)]
        region: String,
        /// The insight's name.
        #[arg(long)]
        name: String,
        /// The attribute to group by (`AwsAccountId`, `SeverityLabel`, `ResourceType`, ...).
        #[arg(long)]
        group_by: String,
        #[command(flatten)]
        filters: Box<FilterArgs>,
        /// The owning account; operator and service keys must name it.
        #[arg(long, default_value = "")]
        owner: String,
    },
    /// Delete a custom insight.
    Delete {
        /// The region.
        #[arg(long)]
        region: String,
        /// The insight's ARN.
        arn: String,
    },
}

/// Runs an insight subcommand.
pub async fn run(context: &Context, command: Command) -> anyhow::Result<()> {
    let output = context.output();
    match command {
        Command::List {
            region,
            arns,
            account,
            aggregated,
            page,
        } => {
            let response = if aggregated {
                let client = context.finding_aggregator_client()?;
                let response = fetch(&page, |page_token| {
                    let mut client = client.clone();
                    let request = aggregator_pb::GetInsightsRequest {
                        region: region.clone(),
                        account_id: account.clone(),
                        insight_arns: arns.clone(),
                        page_size: page.page_size,
                        page_token,
                    };
                    async move { client.get_insights(request).await }
                })
                .await
                .with_context(|| format!("listing aggregated insights in {region}"))?;
                pb::GetInsightsResponse {
                    insights: response.insights,
                    next_page_token: response.next_page_token,
                }
            } else {
                let client = context.findings_client(&region).await?;
                fetch(&page, |page_token| {
                    let mut client = client.clone();
                    let request = pb::GetInsightsRequest {
                        insight_arns: arns.clone(),
                        page_size: page.page_size,
                        page_token,
                        account_id: account.clone(),
                    };
                    async move { client.get_insights(request).await }
                })
                .await
                .with_context(|| format!("listing insights in {region}"))?
            };
            output.message(&response, |response| {
                let mut rows = table(&["name", "group by", "arn"]);
                for insight in &response.insights {
                    rows.add_row(vec![
                        insight.name.clone(),
                        insight.group_by_attribute.clone(),
                        insight.insight_arn.clone(),
                    ]);
                }
                with_more(rows, &response.next_page_token)
            })
        }
        Command::Results {
            region,
            arn,
            account,
            aggregated,
        } => {
            let response = if aggregated {
                let response = context
                    .finding_aggregator_client()?
                    .get_insight_results(aggregator_pb::GetInsightResultsRequest {
                        region: region.clone(),
                        account_id: account,
                        insight_arn: arn.clone(),
                    })
                    .await
                    .with_context(|| format!("evaluating insight {arn} over aggregated findings"))?
                    .into_inner();
                pb::GetInsightResultsResponse {
                    insight_results: response.insight_results,
                }
            } else {
                context
                    .findings_client(&region)
                    .await?
                    .get_insight_results(pb::GetInsightResultsRequest {
                        insight_arn: arn.clone(),
                        account_id: account,
                    })
                    .await
                    .with_context(|| format!("evaluating insight {arn}"))?
                    .into_inner()
            };
            output.message(&response, |response| {
                let results = response.insight_results.clone().unwrap_or_default();
                let mut rows = table(&[results.group_by_attribute.as_str(), "findings"]);
                for value in &results.result_values {
                    rows.add_row(vec![
                        value.group_by_attribute_value.clone(),
                        value.count.to_string(),
                    ]);
                }
                rows.to_string()
            })
        }
        Command::Create {
            region,
            name,
            group_by,
            filters,
            owner,
        } => {
            let response = context
                .findings_client(&region)
                .await?
                .create_insight(pb::CreateInsightRequest {
                    name: name.clone(),
                    filters: filters.to_filters(),
                    group_by_attribute: group_by,
                    account_id: owner,
                })
                .await
                .with_context(|| format!("creating insight {name}"))?
                .into_inner();
            output.message(&response, |response| {
                format!("created insight {name}: {}", response.insight_arn)
            })
        }
        Command::Delete { region, arn } => {
            let response = context
                .findings_client(&region)
                .await?
                .delete_insight(pb::DeleteInsightRequest {
                    insight_arn: arn.clone(),
                })
                .await
                .with_context(|| format!("deleting insight {arn}"))?
                .into_inner();
            output.message(&response, |response| {
                format!("deleted insight {}", response.insight_arn)
            })
        }
    }
}
