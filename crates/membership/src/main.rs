//! `tributary-membership`: serves the membership service, or migrates its database.

use std::process::ExitCode;

use clap::Parser;
use tributary_membership::MembershipConfig;
use tributary_runtime::{
    cli::{Command, CommonArgs, exit_code},
    config::{EnvVars, ServerFlags, config_file},
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
    let shutdown = tributary_runtime::shutdown::signal();
    let telemetry = match tributary_runtime::telemetry::init("tributary-membership") {
        Ok(telemetry) => telemetry,
        Err(error) => return exit_code(Err(error)),
    };
    let result = async {
        let env = EnvVars::from_process();
        let file = config_file(cli.common.config, &env);
        let config = MembershipConfig::load(file.as_deref(), &env, &cli.flags)?;
        match cli.command.unwrap_or_default() {
            Command::Migrate => tributary_membership::migrate(&config).await,
            Command::Serve => {
                let listener = tributary_runtime::server::bind(config.server.listen).await?;
                tributary_membership::serve(config, listener, shutdown).await
            }
        }
    }
    .await;
    telemetry.shutdown();
    exit_code(result)
}
