//! What every service binary's command line shares: the subcommands and the `--config` file.

use std::path::PathBuf;

/// What a service binary does.
#[derive(Debug, Clone, Copy, Default, clap::Subcommand)]
pub enum Command {
    /// Serve gRPC until SIGTERM or ctrl-c (the default).
    #[default]
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
}

/// Options every service binary takes besides its settings.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct CommonArgs {
    /// TOML configuration file (also TRIBUTARY_CONFIG); flags and TRIBUTARY_* variables override it.
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
}

/// Turns a service's result into the process exit code, printing the error for operators.
pub fn exit_code<E: std::fmt::Display>(result: Result<(), E>) -> std::process::ExitCode {
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(error = %error, "exiting on error");
            eprintln!("error: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}
