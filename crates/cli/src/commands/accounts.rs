//! `tributary accounts`: accounts in membership's directory (`OrganizationService`).

use anyhow::Context as _;
use tributary_proto::membership::v1 as pb;

use crate::{
    context::Context,
    output::{label, or_dash, table, time, with_more},
    paging::{PageArgs, fetch},
};

/// Account subcommands.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum Command {
    /// Create an account, standalone or in an organization.
    Create {
        /// The new 12-digit account id.
        account_id: String,
        /// A display name, 1-50 characters.
        #[arg(long)]
        name: String,
        /// The contact email.
        #[arg(long, default_value = "")]
        email: String,
        /// Create it directly in this organization.
        #[arg(long, default_value = "")]
        organization: String,
    },
    /// List accounts in id order (every account for operators, or one organization's).
    List {
        /// Only this organization's accounts.
        #[arg(long, default_value = "")]
        organization: String,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Describe one account.
    Describe {
        /// The 12-digit account id.
        account_id: String,
    },
    /// Suspend an account: it keeps its data but contributes nothing new.
    Suspend {
        /// The 12-digit account id.
        account_id: String,
    },
    /// Reactivate a suspended account.
    Reactivate {
        /// The 12-digit account id.
        account_id: String,
    },
    /// Close an account for good.
    Close {
        /// The 12-digit account id.
        account_id: String,
    },
}

/// Runs an account subcommand.
pub async fn run(context: &Context, command: Command) -> anyhow::Result<()> {
    let mut client = context.organization_client()?;
    let output = context.output();
    match command {
        Command::Create {
            account_id,
            name,
            email,
            organization,
        } => {
            let response = client
                .create_account(pb::CreateAccountRequest {
                    account_id: account_id.clone(),
                    name,
                    email,
                    organization_id: organization,
                })
                .await
                .with_context(|| format!("creating account {account_id}"))?
                .into_inner();
            output.message(&response, |response| {
                accounts_table(response.account.iter())
            })
        }
        Command::List { organization, page } => {
            let response = fetch(&page, |page_token| {
                let mut client = client.clone();
                let request = pb::ListAccountsRequest {
                    organization_id: organization.clone(),
                    page_size: page.page_size,
                    page_token,
                };
                async move { client.list_accounts(request).await }
            })
            .await
            .context("listing accounts")?;
            output.message(&response, |response| {
                let rendered = accounts_table(response.accounts.iter());
                if response.next_page_token.is_empty() {
                    rendered
                } else {
                    format!(
                        "{rendered}\nmore results: --page-token {} (or --all)",
                        response.next_page_token
                    )
                }
            })
        }
        Command::Describe { account_id } => {
            let response = client
                .describe_account(pb::DescribeAccountRequest {
                    account_id: account_id.clone(),
                })
                .await
                .with_context(|| format!("describing account {account_id}"))?
                .into_inner();
            output.message(&response, |response| {
                accounts_table(response.account.iter())
            })
        }
        Command::Suspend { account_id } => {
            let response = client
                .suspend_account(pb::SuspendAccountRequest {
                    account_id: account_id.clone(),
                })
                .await
                .with_context(|| format!("suspending account {account_id}"))?
                .into_inner();
            output.message(&response, |response| {
                accounts_table(response.account.iter())
            })
        }
        Command::Reactivate { account_id } => {
            let response = client
                .reactivate_account(pb::ReactivateAccountRequest {
                    account_id: account_id.clone(),
                })
                .await
                .with_context(|| format!("reactivating account {account_id}"))?
                .into_inner();
            output.message(&response, |response| {
                accounts_table(response.account.iter())
            })
        }
        Command::Close { account_id } => {
            let response = client
                .close_account(pb::CloseAccountRequest {
                    account_id: account_id.clone(),
                })
                .await
                .with_context(|| format!("closing account {account_id}"))?
                .into_inner();
            output.message(&response, |response| {
                accounts_table(response.account.iter())
            })
        }
    }
}

/// Accounts as a table.
pub fn accounts_table<'a>(accounts: impl Iterator<Item = &'a pb::Account>) -> String {
    let mut rows = table(&["account", "name", "organization", "status", "created"]);
    for account in accounts {
        rows.add_row(vec![
            account.account_id.clone(),
            account.name.clone(),
            or_dash(&account.organization_id),
            pb::AccountStatus::try_from(account.status)
                .map(|status| label(status.as_str_name(), "ACCOUNT_STATUS_"))
                .unwrap_or_default(),
            time(account.created_at.as_ref()),
        ]);
    }
    with_more(rows, "")
}
