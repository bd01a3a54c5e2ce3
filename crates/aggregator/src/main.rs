//! `tributary-aggregator`: serves the aggregator, or migrates its database.

use std::process::ExitCode;

use clap::Parser;
use serde::Serialize;
use tributary_aggregator::AggregatorConfig;
use tributary_runtime::{
    cli::{Command, CommonArgs, run_service},
    config::{MembershipClientFlags, ServerFlags, config_file},
};

/// Tributary aggregator: aggregated views over every account and region.
#[derive(Parser)]
#[command(name = "tributary-aggregator", version)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    common: CommonArgs,
    #[command(flatten)]
    flags: Flags,
}

#[derive(clap::Args, Serialize)]
struct Flags {
    #[command(flatten)]
    #[serde(flatten)]
    server: ServerFlags,
    #[command(flatten)]
    #[serde(flatten)]
    membership: MembershipClientFlags,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    run_service(
        "tributary-aggregator",
        cli.command,
        |env| {
            AggregatorConfig::load(
                config_file(cli.common.config, env).as_deref(),
                env,
                &cli.flags,
            )
        },
        tributary_aggregator::bind_and_serve,
        tributary_aggregator::migrate,
    )
    .await
}
