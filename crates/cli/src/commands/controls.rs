//! `tributary controls`: the controls of an account's enabled standards and the cross-standard
//! security controls, per region (`SecurityHubService`).

use anyhow::Context as _;
use tributary_proto::{aggregator::v1 as aggregator_pb, collector::v1 as pb};

use crate::{
    context::Context,
    output::{label, or_dash, table, with_more},
    paging::{PageArgs, fetch},
};

/// Control subcommands.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum Command {
    /// List the controls of an enabled standard with their status.
    List {
        /// The region.
        #[arg(long)]
        region: String,
        /// The standards subscription ARN (from `standards enabled`).
        #[arg(long)]
        subscription: String,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Enable a control of an enabled standard.
    Enable {
        /// The region.
        #[arg(long)]
        region: String,
        /// The control's ARN (from `controls list`).
        control_arn: String,
    },
    /// Disable a control of an enabled standard.
    Disable {
        /// The region.
        #[arg(long)]
        region: String,
        /// The control's ARN (from `controls list`).
        control_arn: String,
        /// Why it is disabled.
        #[arg(long)]
        reason: String,
    },
    /// Read security controls by id (S3.1, EC2.19, ...) with finding counts.
    Get {
        /// The region.
        #[arg(long)]
        region: String,
        /// The security control ids, 1-100.
        #[arg(required = true)]
        ids: Vec<String>,
        /// The account; operator and service keys must name it.
        #[arg(long, default_value = "")]
        account: String,
        /// Across the aggregated set of the home region --region.
        #[arg(long)]
        aggregated: bool,
    },
    /// The account's security scores (as `standards scores`).
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

/// Runs a control subcommand.
pub async fn run(context: &Context, command: Command) -> anyhow::Result<()> {
    let output = context.output();
    match command {
        Command::List {
            region,
            subscription,
            page,
        } => {
            let client = context.findings_client(&region).await?;
            let response = fetch(&page, |page_token| {
                let mut client = client.clone();
                let request = pb::DescribeStandardsControlsRequest {
                    standards_subscription_arn: subscription.clone(),
                    page_size: page.page_size,
                    page_token,
                };
                async move { client.describe_standards_controls(request).await }
            })
            .await
            .with_context(|| format!("listing the controls of {subscription}"))?;
            output.message(&response, |response| {
                let mut rows = table(&["control", "severity", "status", "compliance", "title"]);
                for control in &response.controls {
                    rows.add_row(vec![
                        control.control_id.clone(),
                        control.severity_rating.clone(),
                        control_status(control.control_status),
                        compliance(control.compliance_status),
                        control.title.clone(),
                    ]);
                }
                with_more(rows, &response.next_page_token)
            })
        }
        Command::Enable {
            region,
            control_arn,
        } => {
            update(
                context,
                &region,
                control_arn,
                pb::ControlStatus::Enabled,
                String::new(),
            )
            .await
        }
        Command::Disable {
            region,
            control_arn,
            reason,
        } => {
            update(
                context,
                &region,
                control_arn,
                pb::ControlStatus::Disabled,
                reason,
            )
            .await
        }
        Command::Get {
            region,
            ids,
            account,
            aggregated,
        } => {
            let response = if aggregated {
                let response = context
                    .finding_aggregator_client()?
                    .batch_get_security_controls(aggregator_pb::BatchGetSecurityControlsRequest {
                        region: region.clone(),
                        account_id: account,
                        security_control_ids: ids,
                    })
                    .await
                    .with_context(|| format!("reading aggregated security controls in {region}"))?
                    .into_inner();
                pb::BatchGetSecurityControlsResponse {
                    security_controls: response.security_controls,
                    unprocessed_ids: response.unprocessed_ids,
                }
            } else {
                context
                    .findings_client(&region)
                    .await?
                    .batch_get_security_controls(pb::BatchGetSecurityControlsRequest {
                        security_control_ids: ids,
                        account_id: account,
                    })
                    .await
                    .with_context(|| format!("reading security controls in {region}"))?
                    .into_inner()
            };
            output.message(&response, |response| {
                let mut rows = table(&[
                    "control",
                    "severity",
                    "status",
                    "compliance",
                    "passed",
                    "failed",
                    "unknown",
                ]);
                for control in &response.security_controls {
                    rows.add_row(vec![
                        control.security_control_id.clone(),
                        control.severity_rating.clone(),
                        control_status(control.security_control_status),
                        compliance(control.compliance_status),
                        control.passed_findings.to_string(),
                        control.failed_findings.to_string(),
                        control.unknown_findings.to_string(),
                    ]);
                }
                let mut text = rows.to_string();
                for unknown in &response.unprocessed_ids {
                    text.push_str(&format!(
                        "\n{}: {} {}",
                        unknown.security_control_id,
                        unknown.error_code,
                        or_dash(&unknown.error_reason)
                    ));
                }
                text
            })
        }
        Command::Scores {
            region,
            account,
            aggregated,
        } => crate::commands::standards::scores(context, &region, &account, aggregated).await,
    }
}

async fn update(
    context: &Context,
    region: &str,
    control_arn: String,
    status: pb::ControlStatus,
    disabled_reason: String,
) -> anyhow::Result<()> {
    let response = context
        .findings_client(region)
        .await?
        .update_standards_control(pb::UpdateStandardsControlRequest {
            standards_control_arn: control_arn.clone(),
            control_status: status as i32,
            disabled_reason,
        })
        .await
        .with_context(|| format!("updating control {control_arn}"))?
        .into_inner();
    context.output().message(&response, |_| {
        format!("{control_arn} is {}", control_status(status as i32))
    })
}

fn control_status(value: i32) -> String {
    pb::ControlStatus::try_from(value)
        .map(|status| label(status.as_str_name(), "CONTROL_STATUS_"))
        .unwrap_or_default()
}

fn compliance(value: i32) -> String {
    pb::ControlComplianceStatus::try_from(value)
        .map(|status| label(status.as_str_name(), "CONTROL_COMPLIANCE_STATUS_"))
        .unwrap_or_default()
}
