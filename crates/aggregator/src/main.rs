//! `tributary-aggregator`: serves the aggregator, or migrates its database.

use std::process::ExitCode;

use clap::Parser;
use serde::Serialize;
use tributary_aggregator::AggregatorConfig;
use tributary_runtime::{
    cli::{Command, CommonArgs, exit_code},
    config::{EnvVars, MembershipClientFlags, ServerFlags, config_file},
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
    let shutdown = tributary_runtime::shutdown::signal();
    let telemetry = match tributary_runtime::telemetry::init("tributary-aggregator") {
        Ok(telemetry) => telemetry,
        Err(error) => return exit_code(Err(error)),
    };
    let result = async {
        let env = EnvVars::from_process();
        let file = config_file(cli.common.config, &env);
        let config = AggregatorConfig::load(file.as_deref(), &env, &cli.flags)?;
        match cli.command.unwrap_or_default() {
            Command::Migrate => tributary_aggregator::migrate(&config).await,
            Command::Serve => {
                let listener = tributary_runtime::server::bind(config.server.listen).await?;
                tributary_aggregator::serve(config, listener, shutdown).await
            }
        }
    }
    .await;
    telemetry.shutdown();
    exit_code(result)
}
