//! `tributary-collector`: serves one region's collector, or migrates its database.

use std::process::ExitCode;

use clap::Parser;
use serde::Serialize;
use tributary_collector::CollectorConfig;
use tributary_runtime::{
    cli::{Command, CommonArgs, run_service},
    config::{MembershipClientFlags, ServerFlags, config_file},
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
    run_service(
        "tributary-collector",
        cli.command,
        |env| {
            CollectorConfig::load(
                config_file(cli.common.config, env).as_deref(),
                env,
                &cli.flags,
            )
        },
        tributary_collector::bind_and_serve,
        tributary_collector::migrate,
    )
    .await
}
