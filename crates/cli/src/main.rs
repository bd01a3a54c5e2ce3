//! `tributary`: runs the whole system locally and talks to its services.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tributary_cli::up::{self, UpArgs};

/// Tributary: multi-account, multi-region aggregation of configuration, compliance and security
/// findings.
#[derive(Parser)]
#[command(name = "tributary", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run membership, the aggregator and one collector per region in this process, on loopback,
    /// each with its own SQLite file.
    Up(UpArgs),
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let shutdown = tributary_runtime::shutdown::signal();
    let telemetry = match tributary_runtime::telemetry::init("tributary") {
        Ok(telemetry) => telemetry,
        Err(error) => return tributary_runtime::cli::exit_code(Err(error)),
    };
    let result = match cli.command {
        Command::Up(args) => up::run(args, shutdown).await,
    };
    telemetry.shutdown();
    tributary_runtime::cli::exit_code(result.map_err(|error| format!("{error:#}")))
}
