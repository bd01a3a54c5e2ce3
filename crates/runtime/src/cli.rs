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

/// Runs a service binary: installs the signal handlers first, then telemetry, loads the
/// configuration from the process environment, and serves (after checking its `tls` files and
/// installing the process's client TLS) or migrates.
pub async fn run_service<C, E, Serve, Migrate>(
    binary: &'static str,
    command: Option<Command>,
    load: impl FnOnce(&crate::config::EnvVars) -> Result<C, crate::Error>,
    serve: impl FnOnce(C, tokio_util::sync::CancellationToken) -> Serve,
    migrate: impl FnOnce(C) -> Migrate,
) -> std::process::ExitCode
where
    C: serde::Serialize,
    Serve: Future<Output = Result<(), E>>,
    Migrate: Future<Output = Result<(), E>>,
    E: std::fmt::Display + From<crate::Error>,
{
    let shutdown = crate::shutdown::signal();
    let telemetry = match crate::telemetry::init(binary) {
        Ok(telemetry) => telemetry,
        Err(error) => return exit_code(Err(error)),
    };
    let result = match load(&crate::config::EnvVars::from_process()) {
        Err(error) => Err(E::from(error)),
        Ok(config) => match command.unwrap_or_default() {
            Command::Migrate => migrate(config).await,
            Command::Serve => match configure_tls(&config) {
                Ok(()) => serve(config, shutdown).await,
                Err(error) => Err(E::from(error)),
            },
        },
    };
    telemetry.shutdown();
    exit_code(result)
}

/// Checks the `tls` section every service configuration has (flattened server settings) and
/// installs its client side for the channels the service builds.
fn configure_tls<C: serde::Serialize>(config: &C) -> Result<(), crate::Error> {
    let figment = figment::Figment::from(figment::providers::Serialized::defaults(config));
    let tls: crate::config::TlsSettings = if figment.contains("tls") {
        figment
            .extract_inner("tls")
            .map_err(|error| crate::Error::Config(format!("tls: {error}")))?
    } else {
        crate::config::TlsSettings::default()
    };
    crate::tls::configure_process(&tls)
}
