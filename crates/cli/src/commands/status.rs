//! `tributary status`: replication at a glance. Per region, how far the aggregator has applied the
//! collector's change log (status, lag, changes behind), from `AggregatorService.GetInfo` and each
//! collector's `GetInfo`; with `--config-aggregator`, the freshness of every source of those
//! Config aggregators.

use std::collections::BTreeMap;

use anyhow::{Context as _, bail};
use serde_json::{Value, json};
use tributary_proto::{aggregator::v1 as aggregator_pb, collector::v1 as collector_pb};

use crate::{
    commands::config_aggregators::{AggregatorName, sources_status, sources_table},
    context::Context,
    errors,
    output::{duration_ms, or_dash, table, time, to_json},
    paging::PageArgs,
};

/// Options of `tributary status`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Also show the sources of this Config aggregator (repeatable); with --home-region.
    #[arg(
        long = "config-aggregator",
        value_name = "NAME",
        requires = "home_region"
    )]
    pub config_aggregators: Vec<String>,
    /// The Config aggregators' home region; alone, every aggregator of the owner there.
    #[arg(long)]
    pub home_region: Option<String>,
    /// The aggregators' owner; operator and service keys must name it.
    #[arg(long, default_value = "")]
    pub owner: String,
}

/// What `status` found.
pub struct Status {
    /// The aggregator's answer.
    pub aggregator: aggregator_pb::GetInfoResponse,
    /// Each known collector's answer, or why it could not be asked.
    pub collectors: BTreeMap<String, Result<collector_pb::GetInfoResponse, String>>,
    /// Source statuses by Config aggregator name, or why they could not be read.
    pub sources: BTreeMap<
        String,
        Result<aggregator_pb::DescribeConfigurationAggregatorSourcesStatusResponse, String>,
    >,
}

/// Gathers the status.
pub async fn gather(context: &Context, args: &Args) -> anyhow::Result<Status> {
    let aggregator = context
        .aggregator_client()?
        .get_info(aggregator_pb::GetInfoRequest {})
        .await
        .context("asking the aggregator for its replication status")?
        .into_inner();
    let mut regions: Vec<String> = aggregator
        .cursors
        .iter()
        .map(|cursor| cursor.region.clone())
        .collect();
    if let Ok(known) = context.regions().await {
        regions.extend(known);
    }
    regions.sort();
    regions.dedup();
    let mut collectors = BTreeMap::new();
    for region in regions {
        let answer = match context.collector_client(&region).await {
            Ok(mut client) => client
                .get_info(collector_pb::GetInfoRequest {})
                .await
                .map(tonic::Response::into_inner)
                .map_err(|status| errors::describe_status(&status)),
            Err(error) => Err(format!("{error:#}")),
        };
        collectors.insert(region, answer);
    }
    let mut names = args.config_aggregators.clone();
    if names.is_empty()
        && let Some(home_region) = &args.home_region
    {
        let listed = context
            .config_aggregator_client()?
            .describe_configuration_aggregators(
                aggregator_pb::DescribeConfigurationAggregatorsRequest {
                    owner_account_id: args.owner.clone(),
                    region: home_region.clone(),
                    configuration_aggregator_names: Vec::new(),
                    page_size: 100,
                    page_token: String::new(),
                },
            )
            .await
            .with_context(|| format!("listing the Config aggregators in {home_region}"))?
            .into_inner();
        names = listed
            .configuration_aggregators
            .into_iter()
            .map(|aggregator| aggregator.configuration_aggregator_name)
            .collect();
    }
    let mut sources = BTreeMap::new();
    for name in names {
        let Some(home_region) = &args.home_region else {
            bail!("--config-aggregator needs --home-region");
        };
        let aggregator = AggregatorName {
            name: name.clone(),
            region: home_region.clone(),
            owner: args.owner.clone(),
        };
        let all = PageArgs {
            all: true,
            ..PageArgs::default()
        };
        // One aggregator whose status cannot be read does not hide the others.
        let answer = sources_status(context, &aggregator, &[], &all)
            .await
            .map_err(|error| errors::describe(&error));
        sources.insert(name, answer);
    }
    Ok(Status {
        aggregator,
        collectors,
        sources,
    })
}

/// Runs `tributary status`.
pub async fn run(context: &Context, args: Args) -> anyhow::Result<()> {
    let status = gather(context, &args).await?;
    let output = context.output();
    if output.is_json() {
        let mut collectors = serde_json::Map::new();
        for (region, answer) in &status.collectors {
            collectors.insert(
                region.clone(),
                match answer {
                    Ok(info) => to_json(info)?,
                    Err(error) => json!({ "error": error }),
                },
            );
        }
        let mut sources = serde_json::Map::new();
        for (name, answer) in &status.sources {
            sources.insert(
                name.clone(),
                match answer {
                    Ok(response) => to_json(response)?,
                    Err(error) => json!({ "error": error }),
                },
            );
        }
        output.json(&json!({
            "aggregator": to_json(&status.aggregator)?,
            "collectors": Value::Object(collectors),
            "configAggregators": Value::Object(sources),
        }));
        return Ok(());
    }
    output.line(render(&status));
    Ok(())
}

/// The status for people: one row per region, then each Config aggregator's sources.
pub fn render(status: &Status) -> String {
    let cursors: BTreeMap<&str, &aggregator_pb::RegionCursor> = status
        .aggregator
        .cursors
        .iter()
        .map(|cursor| (cursor.region.as_str(), cursor))
        .collect();
    let mut rows = table(&[
        "region",
        "replication",
        "lag",
        "applied / head",
        "last success",
        "error",
    ]);
    let mut regions: Vec<&str> = cursors.keys().copied().collect();
    regions.extend(status.collectors.keys().map(String::as_str));
    regions.sort_unstable();
    regions.dedup();
    for region in regions {
        let cursor = cursors.get(region);
        let head = match status.collectors.get(region) {
            Some(Ok(info)) => info.change_log_head.to_string(),
            Some(Err(_)) => "unreachable".to_string(),
            None => "?".to_string(),
        };
        let applied = cursor.map_or(0, |cursor| cursor.applied_seq);
        let mut error = cursor.map_or_else(String::new, |cursor| {
            if cursor.error_code.is_empty() {
                String::new()
            } else {
                format!("{}: {}", cursor.error_code, cursor.error_message)
            }
        });
        if let Some(Err(problem)) = status.collectors.get(region)
            && error.is_empty()
        {
            error = format!("collector: {problem}");
        }
        rows.add_row(vec![
            region.to_string(),
            cursor.map_or_else(
                || "not replicated".to_string(),
                |cursor| or_dash(&cursor.status),
            ),
            cursor
                .and_then(|cursor| cursor.lag_ms)
                .map_or_else(|| "-".to_string(), duration_ms),
            format!("{applied} / {head}"),
            time(cursor.and_then(|cursor| cursor.last_success_at.as_ref())),
            or_dash(&error),
        ]);
    }
    let mut text = format!(
        "aggregator {} (since {})\n{rows}",
        status.aggregator.version,
        time(status.aggregator.started_at.as_ref())
    );
    for (name, answer) in &status.sources {
        match answer {
            Ok(response) => text.push_str(&format!(
                "\nConfig aggregator {name}:\n{}",
                sources_table(&response.aggregated_source_status_list, "")
            )),
            Err(error) => text.push_str(&format!("\nConfig aggregator {name}: {error}")),
        }
    }
    text
}
