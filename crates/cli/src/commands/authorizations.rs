//! `tributary authorizations`: the source side of Config aggregation, per source region
//! (membership's `AggregationAuthorizationService`). These calls act as the caller's own account:
//! use an account key (`--key`, or `--as-account`).

use anyhow::Context as _;
use tributary_proto::membership::v1 as pb;

use crate::{
    context::Context,
    output::{table, time, with_more},
    paging::{PageArgs, fetch},
};

/// Authorization subcommands.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum Command {
    /// Authorize an aggregator account and region to aggregate the caller's data from a region.
    Put {
        /// The source region the grant covers.
        #[arg(long)]
        region: String,
        /// The account whose aggregators are authorized.
        #[arg(long)]
        authorized_account: String,
        /// The region those aggregators live in.
        #[arg(long)]
        authorized_region: String,
    },
    /// List the caller's authorizations in a region.
    List {
        /// The source region.
        #[arg(long)]
        region: String,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Delete an authorization: the aggregators stop receiving the caller's data at once.
    Delete {
        /// The source region.
        #[arg(long)]
        region: String,
        /// The authorized account.
        #[arg(long)]
        authorized_account: String,
        /// The authorized region.
        #[arg(long)]
        authorized_region: String,
    },
    /// Aggregators waiting for the caller's authorization.
    #[command(subcommand)]
    Pending(PendingCommand),
}

/// Pending request subcommands.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum PendingCommand {
    /// List the aggregators (owner account and home region) waiting for the caller.
    List {
        /// The source region.
        #[arg(long)]
        region: String,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Decline a pending request.
    Decline {
        /// The source region.
        #[arg(long)]
        region: String,
        /// The requesting account.
        #[arg(long)]
        requester_account: String,
        /// The requesting aggregators' region.
        #[arg(long)]
        requester_region: String,
    },
}

/// Runs an authorization subcommand.
pub async fn run(context: &Context, command: Command) -> anyhow::Result<()> {
    let mut client = context.authorization_client()?;
    let output = context.output();
    match command {
        Command::Put {
            region,
            authorized_account,
            authorized_region,
        } => {
            let response = client
                .put_aggregation_authorization(pb::PutAggregationAuthorizationRequest {
                    region: region.clone(),
                    authorized_account_id: authorized_account.clone(),
                    authorized_aws_region: authorized_region.clone(),
                    tags: Vec::new(),
                })
                .await
                .with_context(|| {
                    format!("authorizing {authorized_account} ({authorized_region}) in {region}")
                })?
                .into_inner();
            output.message(&response, |response| {
                authorizations_table(response.aggregation_authorization.iter(), "")
            })
        }
        Command::List { region, page } => {
            let response = fetch(&page, |page_token| {
                let mut client = client.clone();
                let request = pb::DescribeAggregationAuthorizationsRequest {
                    region: region.clone(),
                    page_size: page.page_size,
                    page_token,
                };
                async move { client.describe_aggregation_authorizations(request).await }
            })
            .await
            .with_context(|| format!("listing authorizations in {region}"))?;
            output.message(&response, |response| {
                authorizations_table(
                    response.aggregation_authorizations.iter(),
                    &response.next_page_token,
                )
            })
        }
        Command::Delete {
            region,
            authorized_account,
            authorized_region,
        } => {
            let response = client
                .delete_aggregation_authorization(pb::DeleteAggregationAuthorizationRequest {
                    region: region.clone(),
                    authorized_account_id: authorized_account.clone(),
                    authorized_aws_region: authorized_region.clone(),
                })
                .await
                .with_context(|| {
                    format!(
                        "deleting the authorization of {authorized_account} ({authorized_region})"
                    )
                })?
                .into_inner();
            output.message(&response, |_| {
                format!(
                    "{authorized_account} ({authorized_region}) no longer aggregates this account's data from {region}"
                )
            })
        }
        Command::Pending(PendingCommand::List { region, page }) => {
            let response = fetch(&page, |page_token| {
                let mut client = client.clone();
                let request = pb::DescribePendingAggregationRequestsRequest {
                    region: region.clone(),
                    page_size: page.page_size,
                    page_token,
                };
                async move { client.describe_pending_aggregation_requests(request).await }
            })
            .await
            .with_context(|| format!("listing pending requests in {region}"))?;
            output.message(&response, |response| {
                let mut rows = table(&["requester", "requester region", "requested", "expires"]);
                for request in &response.pending_aggregation_requests {
                    rows.add_row(vec![
                        request.requester_account_id.clone(),
                        request.requester_aws_region.clone(),
                        time(request.requested_at.as_ref()),
                        time(request.expires_at.as_ref()),
                    ]);
                }
                with_more(rows, &response.next_page_token)
            })
        }
        Command::Pending(PendingCommand::Decline {
            region,
            requester_account,
            requester_region,
        }) => {
            let response = client
                .delete_pending_aggregation_request(pb::DeletePendingAggregationRequestRequest {
                    region: region.clone(),
                    requester_account_id: requester_account.clone(),
                    requester_aws_region: requester_region.clone(),
                })
                .await
                .with_context(|| {
                    format!("declining {requester_account} ({requester_region}) in {region}")
                })?
                .into_inner();
            output.message(&response, |_| {
                format!("declined {requester_account} ({requester_region}) in {region}")
            })
        }
    }
}

fn authorizations_table<'a>(
    authorizations: impl Iterator<Item = &'a pb::AggregationAuthorization>,
    next_page_token: &str,
) -> String {
    let mut rows = table(&["authorized account", "authorized region", "created", "arn"]);
    for authorization in authorizations {
        rows.add_row(vec![
            authorization.authorized_account_id.clone(),
            authorization.authorized_aws_region.clone(),
            time(authorization.creation_time.as_ref()),
            authorization.aggregation_authorization_arn.clone(),
        ]);
    }
    with_more(rows, next_page_token)
}
