//! The `tributary` command line: `up` runs the whole system; every other subcommand is a client of
//! one service area, reading endpoints and the operator key from `./.tributary/up.json` unless
//! flags say otherwise.

pub mod accounts;
pub mod authorizations;
pub mod config_aggregators;
pub mod controls;
pub mod demo;
pub mod finding_aggregators;
pub mod findings;
pub mod hub;
pub mod insights;
pub mod keys;
pub mod organizations;
pub mod regions;
pub mod select;
pub mod standards;
pub mod status;

use clap::{Parser, Subcommand};
use tokio_util::sync::CancellationToken;

use crate::{
    context::{ConnectionArgs, Context},
    output::Output,
    up::{self, UpArgs},
};

/// Tributary: multi-account, multi-region aggregation of configuration, compliance and security
/// findings.
#[derive(Debug, Clone, Parser)]
#[command(name = "tributary", version)]
pub struct Cli {
    #[command(flatten)]
    pub connection: ConnectionArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Run membership, the aggregator and one collector per region in this process, on loopback,
    /// each with its own SQLite file.
    Up(UpArgs),
    /// The region registry.
    #[command(subcommand)]
    Regions(regions::Command),
    /// Accounts.
    #[command(subcommand)]
    Accounts(accounts::Command),
    /// Organizations, trusted service access and delegated administrators.
    #[command(subcommand)]
    Organizations(organizations::Command),
    /// API keys.
    #[command(subcommand)]
    Keys(keys::Command),
    /// Security Hub enablement, members, invitations and administrators.
    #[command(subcommand)]
    Hub(hub::Command),
    /// Config aggregation authorizations and pending requests (source side).
    #[command(subcommand)]
    Authorizations(authorizations::Command),
    /// Config aggregators and their aggregated views.
    #[command(subcommand)]
    ConfigAggregators(config_aggregators::Command),
    /// Run an advanced query (SELECT ...) over a Config aggregator.
    Select(select::Args),
    /// Finding aggregators (Security Hub cross-Region aggregation).
    #[command(subcommand)]
    FindingAggregators(finding_aggregators::Command),
    /// Security Hub findings: import, list, update, history.
    #[command(subcommand)]
    Findings(findings::Command),
    /// Security Hub insights.
    #[command(subcommand)]
    Insights(insights::Command),
    /// Security standards and security scores.
    #[command(subcommand)]
    Standards(standards::Command),
    /// Security controls.
    #[command(subcommand)]
    Controls(controls::Command),
    /// Replication status per region, and the sources of Config aggregators.
    Status(status::Args),
    /// Seed a realistic organization, resources, findings and aggregators into a running
    /// `tributary up`.
    Demo(demo::Args),
}

/// Runs a parsed command line, printing answers to `output`. `up` runs until `shutdown`.
pub async fn run(cli: Cli, output: Output, shutdown: CancellationToken) -> anyhow::Result<()> {
    let output = output.with_format(cli.connection.output);
    if let Command::Up(args) = cli.command {
        return up::run(args, shutdown).await;
    }
    let context = Context::new(&cli.connection, output).await?;
    run_client(&context, cli.command).await
}

/// Runs a client subcommand with `context`.
pub async fn run_client(context: &Context, command: Command) -> anyhow::Result<()> {
    match command {
        Command::Up(_) => anyhow::bail!("`up` runs the services; it is not a client subcommand"),
        Command::Regions(command) => regions::run(context, command).await,
        Command::Accounts(command) => accounts::run(context, command).await,
        Command::Organizations(command) => organizations::run(context, command).await,
        Command::Keys(command) => keys::run(context, command).await,
        Command::Hub(command) => hub::run(context, command).await,
        Command::Authorizations(command) => authorizations::run(context, command).await,
        Command::ConfigAggregators(command) => config_aggregators::run(context, command).await,
        Command::Select(args) => select::run(context, args).await,
        Command::FindingAggregators(command) => finding_aggregators::run(context, command).await,
        Command::Findings(command) => findings::run(context, command).await,
        Command::Insights(command) => insights::run(context, command).await,
        Command::Standards(command) => standards::run(context, command).await,
        Command::Controls(command) => controls::run(context, command).await,
        Command::Status(args) => status::run(context, args).await,
        Command::Demo(args) => demo::run(context, args).await,
    }
}

/// Parses `args` (the program name first) and runs them with answers captured in a buffer:
/// returns what was printed and the outcome. For embedding the CLI and testing it in-process.
pub async fn run_captured<I, T>(args: I) -> (String, anyhow::Result<()>)
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(error) => return (String::new(), Err(anyhow::anyhow!("{error}"))),
    };
    let (output, buffer) = Output::captured(cli.connection.output);
    let outcome = run(cli, output, CancellationToken::new()).await;
    let printed = buffer
        .lock()
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .unwrap_or_default();
    (printed, outcome)
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn global_flags_go_before_or_after_the_subcommand() {
        let cli = Cli::try_parse_from([
            "tributary",
            "--key",
            "k",
            "regions",
            "list",
            "-o",
            "json",
            "--collector",
            "us-east-1=127.0.0.1:50061",
        ])
        .expect("the line parses");
        assert_eq!(cli.connection.key.as_deref(), Some("k"));
        assert_eq!(cli.connection.output, crate::output::Format::Json);
        assert_eq!(cli.connection.collector, vec!["us-east-1=127.0.0.1:50061"]);
        assert!(matches!(
            cli.command,
            Command::Regions(regions::Command::List { .. })
        ));
    }
}
