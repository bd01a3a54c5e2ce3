//! `tributary-collector`: serves one region's collector, or migrates its database.

use std::process::ExitCode;

use clap::Parser;
use serde::Serialize;
use tributary_collector::CollectorConfig;
use tributary_runtime::{
    cli::{Command, CommonArgs, exit_code},
    config::{EnvVars, MembershipClientFlags, ServerFlags, config_file},
};

/// Tributary collector: the data plane of one region.
#[derive(Parser)]
#[command(name = "tributary-collector", version)]
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
    /// The region this collector serves, e.g. us-east-1.
    #[arg(long, global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    region: Option<String>,
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
    let telemetry = match tributary_runtime::telemetry::init("tributary-collector") {
        Ok(telemetry) => telemetry,
        Err(error) => return exit_code(Err(error)),
    };
    let result = async {
        let env = EnvVars::from_process();
        let file = config_file(cli.common.config, &env);
        let config = CollectorConfig::load(file.as_deref(), &env, &cli.flags)?;
        match cli.command.unwrap_or_default() {
            Command::Migrate => tributary_collector::migrate(&config).await,
            Command::Serve => {
                let listener = tributary_runtime::server::bind(config.server.listen).await?;
                tributary_collector::serve(config, listener, shutdown).await
            }
        }
    }
    .await;
    telemetry.shutdown();
    exit_code(result)
}
