//! `tributary regions`: the region registry (membership's `RegionService`).

use anyhow::Context as _;
use tributary_proto::membership::v1 as pb;

use crate::{
    context::Context,
    output::{or_dash, table, time, with_more},
    paging::{PageArgs, fetch},
};

/// Region subcommands.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum Command {
    /// List registered regions and their collectors.
    List {
        #[command(flatten)]
        page: PageArgs,
    },
    /// Register a region's collector, or change its endpoint (operators only).
    Register {
        /// The region name, e.g. eu-central-1.
        region: String,
        /// The collector's endpoint, e.g. http://127.0.0.1:50064.
        collector_endpoint: String,
        /// Accounts contribute data from the region only after enabling it.
        #[arg(long)]
        opt_in: bool,
    },
    /// Remove a region from the registry (operators only).
    Deregister {
        /// The region name.
        region: String,
    },
}

/// Runs a region subcommand.
pub async fn run(context: &Context, command: Command) -> anyhow::Result<()> {
    let mut client = context.region_client()?;
    let output = context.output();
    match command {
        Command::List { page } => {
            let response = fetch(&page, |page_token| {
                let mut client = client.clone();
                let page_size = page.page_size;
                async move {
                    client
                        .list_regions(pb::ListRegionsRequest {
                            page_size,
                            page_token,
                        })
                        .await
                }
            })
            .await
            .context("listing regions")?;
            output.message(&response, |response| {
                let mut rows = table(&["region", "collector", "opt-in", "registered"]);
                for region in &response.regions {
                    rows.add_row(vec![
                        region.region_name.clone(),
                        or_dash(&region.collector_endpoint),
                        if region.opt_in { "yes" } else { "no" }.to_string(),
                        time(region.registered_at.as_ref()),
                    ]);
                }
                with_more(rows, &response.next_page_token)
            })
        }
        Command::Register {
            region,
            collector_endpoint,
            opt_in,
        } => {
            let response = client
                .register_region(pb::RegisterRegionRequest {
                    region_name: region.clone(),
                    collector_endpoint,
                    opt_in,
                })
                .await
                .with_context(|| format!("registering region {region}"))?
                .into_inner();
            output.message(&response, |response| {
                let verb = if response.created {
                    "registered"
                } else {
                    "updated"
                };
                let endpoint = response
                    .region
                    .as_ref()
                    .map(|region| region.collector_endpoint.clone())
                    .unwrap_or_default();
                format!("{verb} region {region} -> {endpoint}")
            })
        }
        Command::Deregister { region } => {
            let response = client
                .deregister_region(pb::DeregisterRegionRequest {
                    region_name: region.clone(),
                })
                .await
                .with_context(|| format!("deregistering region {region}"))?
                .into_inner();
            output.message(&response, |_| format!("deregistered region {region}"))
        }
    }
}
