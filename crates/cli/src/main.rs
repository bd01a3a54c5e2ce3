//! `tributary`: runs the whole system locally and talks to its services.

use std::process::ExitCode;

use clap::Parser;
use tributary_cli::{
    commands::{self, Cli, Command},
    errors,
    output::Output,
};

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let shutdown = tributary_runtime::shutdown::signal();
    // Only `up` logs: client subcommands keep standard output for their answers.
    let telemetry = if matches!(cli.command, Command::Up(_)) {
        match tributary_runtime::telemetry::init("tributary") {
            Ok(telemetry) => Some(telemetry),
            Err(error) => return tributary_runtime::cli::exit_code(Err(error)),
        }
    } else {
        None
    };
    let output = Output::stdout(cli.connection.output);
    let result = commands::run(cli, output, shutdown).await;
    if let Some(telemetry) = telemetry {
        telemetry.shutdown();
    }
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {}", errors::describe(&error));
            ExitCode::FAILURE
        }
    }
}
