//! `tributary standards`: the security standards of the catalogue, an account's enabled
//! standards and its security scores, per region (`SecurityHubService`). Operator and service keys
//! name the account with `--account`.

use anyhow::Context as _;
use tributary_proto::{aggregator::v1 as aggregator_pb, collector::v1 as pb};

use crate::{
    context::Context,
    output::{label, or_dash, table, with_more},
    paging::{PageArgs, fetch},
};

/// Standards subcommands.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum Command {
    /// List the catalogue's standards.
    List {
        /// The region.
        #[arg(long)]
        region: String,
        #[command(flatten)]
        page: PageArgs,
    },
    /// List the account's enabled standards.
    Enabled {
        /// The region.
        #[arg(long)]
        region: String,
        /// The account; operator and service keys must name it.
        #[arg(long, default_value = "")]
        account: String,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Enable standards by ARN.
    Enable {
        /// The region.
        #[arg(long)]
        region: String,
        /// The standards' ARNs (from `standards list`), 1-25.
        #[arg(required = true)]
        arns: Vec<String>,
        /// The account; operator and service keys must name it.
        #[arg(long, default_value = "")]
        account: String,
    },
    /// Disable standards by subscription ARN.
    Disable {
        /// The region.
        #[arg(long)]
        region: String,
        /// The subscription ARNs (from `standards enabled`), 1-25.
        #[arg(required = true)]
        subscription_arns: Vec<String>,
    },
    /// The account's security scores per enabled standard.
    Scores {
        /// The region.
        #[arg(long)]
        region: String,
        /// The account; operator and service keys must name it.
        #[arg(long, default_value = "")]
        account: String,
        /// Scores across the aggregated set of the home region --region.
        #[arg(long)]
        aggregated: bool,
    },
}

/// Runs a standards subcommand.
pub async fn run(context: &Context, command: Command) -> anyhow::Result<()> {
    let output = context.output();
    match command {
        Command::List { region, page } => {
            let client = context.findings_client(&region).await?;
            let response = fetch(&page, |page_token| {
                let mut client = client.clone();
                let request = pb::DescribeStandardsRequest {
                    page_size: page.page_size,
                    page_token,
                };
                async move { client.describe_standards(request).await }
            })
            .await
            .with_context(|| format!("listing standards in {region}"))?;
            output.message(&response, |response| {
                let mut rows = table(&["standard", "by default", "arn"]);
                for standard in &response.standards {
                    rows.add_row(vec![
                        standard.name.clone(),
                        standard.enabled_by_default.to_string(),
                        standard.standards_arn.clone(),
                    ]);
                }
                with_more(rows, &response.next_page_token)
            })
        }
        Command::Enabled {
            region,
            account,
            page,
        } => {
            let client = context.findings_client(&region).await?;
            let response = fetch(&page, |page_token| {
                let mut client = client.clone();
                let request = pb::GetEnabledStandardsRequest {
                    standards_subscription_arns: Vec::new(),
                    page_size: page.page_size,
                    page_token,
                    account_id: account.clone(),
                };
                async move { client.get_enabled_standards(request).await }
            })
            .await
            .with_context(|| format!("listing enabled standards in {region}"))?;
            output.message(&response, |response| {
                subscriptions_table(&response.standards_subscriptions, &response.next_page_token)
            })
        }
        Command::Enable {
            region,
            arns,
            account,
        } => {
            let response = context
                .findings_client(&region)
                .await?
                .batch_enable_standards(pb::BatchEnableStandardsRequest {
                    standards_subscription_requests: arns
                        .into_iter()
                        .map(|standards_arn| pb::StandardsSubscriptionRequest {
                            standards_arn,
                            standards_input: Default::default(),
                        })
                        .collect(),
                    account_id: account,
                })
                .await
                .with_context(|| format!("enabling standards in {region}"))?
                .into_inner();
            output.message(&response, |response| {
                subscriptions_table(&response.standards_subscriptions, "")
            })
        }
        Command::Disable {
            region,
            subscription_arns,
        } => {
            let response = context
                .findings_client(&region)
                .await?
                .batch_disable_standards(pb::BatchDisableStandardsRequest {
                    standards_subscription_arns: subscription_arns,
                })
                .await
                .with_context(|| format!("disabling standards in {region}"))?
                .into_inner();
            output.message(&response, |response| {
                subscriptions_table(&response.standards_subscriptions, "")
            })
        }
        Command::Scores {
            region,
            account,
            aggregated,
        } => scores(context, &region, &account, aggregated).await,
    }
}

/// Prints an account's security scores, in one region or across a finding aggregator's set.
pub async fn scores(
    context: &Context,
    region: &str,
    account: &str,
    aggregated: bool,
) -> anyhow::Result<()> {
    let response = if aggregated {
        let response = context
            .finding_aggregator_client()?
            .get_security_scores(aggregator_pb::GetSecurityScoresRequest {
                region: region.to_string(),
                account_id: account.to_string(),
            })
            .await
            .with_context(|| format!("computing aggregated security scores in {region}"))?
            .into_inner();
        pb::GetSecurityScoresResponse {
            standards: response.standards,
            overall_score: response.overall_score,
            pooled_score: response.pooled_score,
        }
    } else {
        context
            .findings_client(region)
            .await?
            .get_security_scores(pb::GetSecurityScoresRequest {
                account_id: account.to_string(),
            })
            .await
            .with_context(|| format!("computing security scores in {region}"))?
            .into_inner()
    };
    context.output().message(&response, |response| {
        let score =
            |score: Option<i32>| score.map_or_else(|| "-".to_string(), |score| format!("{score}%"));
        let mut rows = table(&[
            "standard", "score", "passed", "failed", "unknown", "no data", "disabled",
        ]);
        for standard in &response.standards {
            rows.add_row(vec![
                standard.name.clone(),
                score(standard.score),
                standard.passed_controls.to_string(),
                standard.failed_controls.to_string(),
                standard.unknown_controls.to_string(),
                standard.no_data_controls.to_string(),
                standard.disabled_controls.to_string(),
            ]);
        }
        format!(
            "{rows}\noverall score {} (pooled over controls {})",
            score(response.overall_score),
            score(response.pooled_score)
        )
    })
}

fn subscriptions_table(
    subscriptions: &[pb::StandardsSubscription],
    next_page_token: &str,
) -> String {
    let mut rows = table(&["standard", "status", "subscription"]);
    for subscription in subscriptions {
        rows.add_row(vec![
            subscription.standards_arn.clone(),
            pb::StandardsStatus::try_from(subscription.standards_status)
                .map(|status| label(status.as_str_name(), "STANDARDS_STATUS_"))
                .unwrap_or_default(),
            or_dash(&subscription.standards_subscription_arn),
        ]);
    }
    with_more(rows, next_page_token)
}
