//! `tributary finding-aggregators`: Security Hub cross-Region aggregation (the aggregator's
//! `FindingAggregatorService`).

use anyhow::Context as _;
use tributary_proto::aggregator::v1 as pb;

use crate::{
    context::Context,
    output::{label, or_dash, table, time, with_more},
    paging::{PageArgs, fetch},
};

/// How other regions are linked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LinkingMode {
    /// Every registered region, including later ones.
    AllRegions,
    /// Every registered region except --regions.
    AllRegionsExceptSpecified,
    /// Exactly --regions.
    SpecifiedRegions,
    /// Only the home region.
    NoRegions,
}

impl LinkingMode {
    fn wire(self) -> i32 {
        (match self {
            Self::AllRegions => pb::RegionLinkingMode::AllRegions,
            Self::AllRegionsExceptSpecified => pb::RegionLinkingMode::AllRegionsExceptSpecified,
            Self::SpecifiedRegions => pb::RegionLinkingMode::SpecifiedRegions,
            Self::NoRegions => pb::RegionLinkingMode::NoRegions,
        }) as i32
    }
}

/// Finding aggregator subcommands.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum Command {
    /// Create the account's finding aggregator; --region becomes its home region.
    Create {
        /// The home region.
        #[arg(long)]
        region: String,
        /// How other regions are linked.
        #[arg(long, value_enum, default_value_t = LinkingMode::AllRegions)]
        mode: LinkingMode,
        /// The regions to exclude or include (comma-separated).
        #[arg(long, value_delimiter = ',')]
        regions: Vec<String>,
        /// Also copy findings that exist when a region becomes linked.
        #[arg(long)]
        backfill: bool,
        /// The owner account; operator and service keys must name it.
        #[arg(long, default_value = "")]
        owner: String,
    },
    /// Show one aggregator.
    Get {
        /// The aggregator's ARN.
        arn: String,
    },
    /// Replace an aggregator's linking mode and regions (from its home region).
    Update {
        /// The aggregator's ARN.
        arn: String,
        /// The home region.
        #[arg(long)]
        region: String,
        /// How other regions are linked.
        #[arg(long, value_enum)]
        mode: LinkingMode,
        /// The regions to exclude or include (comma-separated).
        #[arg(long, value_delimiter = ',')]
        regions: Vec<String>,
    },
    /// Delete an aggregator (from its home region).
    Delete {
        /// The aggregator's ARN.
        arn: String,
        /// The home region.
        #[arg(long)]
        region: String,
    },
    /// List aggregators.
    List {
        /// Only this account's.
        #[arg(long, default_value = "")]
        owner: String,
        #[command(flatten)]
        page: PageArgs,
    },
}

/// Runs a finding aggregator subcommand.
pub async fn run(context: &Context, command: Command) -> anyhow::Result<()> {
    let mut client = context.finding_aggregator_client()?;
    let output = context.output();
    match command {
        Command::Create {
            region,
            mode,
            regions,
            backfill,
            owner,
        } => {
            let response = client
                .create_finding_aggregator(pb::CreateFindingAggregatorRequest {
                    owner_account_id: owner,
                    region: region.clone(),
                    region_linking_mode: mode.wire(),
                    regions,
                    backfill_existing_findings: backfill,
                })
                .await
                .with_context(|| format!("creating a finding aggregator in {region}"))?
                .into_inner();
            output.message(&response, |response| {
                aggregator_table(&Summary {
                    arn: &response.finding_aggregator_arn,
                    home: &response.finding_aggregation_region,
                    mode: response.region_linking_mode,
                    regions: &response.regions,
                    backfill: response.backfill_existing_findings,
                    created: response.create_time.as_ref(),
                    linked: &response.linked_region_status,
                })
            })
        }
        Command::Get { arn } => {
            let response = client
                .get_finding_aggregator(pb::GetFindingAggregatorRequest {
                    finding_aggregator_arn: arn.clone(),
                })
                .await
                .with_context(|| format!("reading {arn}"))?
                .into_inner();
            output.message(&response, |response| {
                aggregator_table(&Summary {
                    arn: &response.finding_aggregator_arn,
                    home: &response.finding_aggregation_region,
                    mode: response.region_linking_mode,
                    regions: &response.regions,
                    backfill: response.backfill_existing_findings,
                    created: response.create_time.as_ref(),
                    linked: &response.linked_region_status,
                })
            })
        }
        Command::Update {
            arn,
            region,
            mode,
            regions,
        } => {
            let response = client
                .update_finding_aggregator(pb::UpdateFindingAggregatorRequest {
                    finding_aggregator_arn: arn.clone(),
                    region,
                    region_linking_mode: mode.wire(),
                    regions,
                })
                .await
                .with_context(|| format!("updating {arn}"))?
                .into_inner();
            output.message(&response, |response| {
                aggregator_table(&Summary {
                    arn: &response.finding_aggregator_arn,
                    home: &response.finding_aggregation_region,
                    mode: response.region_linking_mode,
                    regions: &response.regions,
                    backfill: response.backfill_existing_findings,
                    created: response.create_time.as_ref(),
                    linked: &response.linked_region_status,
                })
            })
        }
        Command::Delete { arn, region } => {
            let response = client
                .delete_finding_aggregator(pb::DeleteFindingAggregatorRequest {
                    finding_aggregator_arn: arn.clone(),
                    region,
                })
                .await
                .with_context(|| format!("deleting {arn}"))?
                .into_inner();
            output.message(&response, |_| format!("deleted {arn}"))
        }
        Command::List { owner, page } => {
            let response = fetch(&page, |page_token| {
                let mut client = client.clone();
                let request = pb::ListFindingAggregatorsRequest {
                    owner_account_id: owner.clone(),
                    page_size: page.page_size,
                    page_token,
                };
                async move { client.list_finding_aggregators(request).await }
            })
            .await
            .context("listing finding aggregators")?;
            output.message(&response, |response| {
                let mut rows = table(&["finding aggregator"]);
                for aggregator in &response.finding_aggregators {
                    rows.add_row(vec![aggregator.finding_aggregator_arn.clone()]);
                }
                with_more(rows, &response.next_page_token)
            })
        }
    }
}

struct Summary<'a> {
    arn: &'a str,
    home: &'a str,
    mode: i32,
    regions: &'a [String],
    backfill: bool,
    created: Option<&'a prost_types::Timestamp>,
    linked: &'a [pb::LinkedRegionStatus],
}

fn aggregator_table(summary: &Summary<'_>) -> String {
    let mut rows = table(&["field", "value"]);
    for (field, value) in [
        ("arn", summary.arn.to_string()),
        ("home region", summary.home.to_string()),
        (
            "linking mode",
            pb::RegionLinkingMode::try_from(summary.mode)
                .map(|mode| label(mode.as_str_name(), "REGION_LINKING_MODE_"))
                .unwrap_or_default(),
        ),
        ("regions", or_dash(&summary.regions.join(","))),
        ("backfill", summary.backfill.to_string()),
        ("created", time(summary.created)),
    ] {
        rows.add_row(vec![field.to_string(), value]);
    }
    if summary.linked.is_empty() {
        return rows.to_string();
    }
    let mut linked = table(&["linked region", "applied seq", "applied", "lag"]);
    for region in summary.linked {
        linked.add_row(vec![
            region.region.clone(),
            region.last_applied_seq.to_string(),
            time(region.last_applied_time.as_ref()),
            region.lag.as_ref().map_or_else(
                || "-".to_string(),
                |lag| format!("{}.{:03}s", lag.seconds, lag.nanos / 1_000_000),
            ),
        ]);
    }
    format!("{rows}\n{linked}")
}
