//! `tributary-membership`: serves the membership service, or migrates its database.

use std::process::ExitCode;

use clap::Parser;
use tributary_membership::MembershipConfig;
use tributary_runtime::{
    cli::{Command, CommonArgs, run_service},
    config::{ServerFlags, config_file},
};

/// Tributary membership: regions, accounts, API keys and who may see what.
#[derive(Parser)]
#[command(name = "tributary-membership", version)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    common: CommonArgs,
    #[command(flatten)]
    flags: ServerFlags,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    run_service(
        "tributary-membership",
        cli.command,
        |env| {
            MembershipConfig::load(
                config_file(cli.common.config, env).as_deref(),
                env,
                &cli.flags,
            )
        },
        tributary_membership::bind_and_serve,
        tributary_membership::migrate,
    )
    .await
}
