//! `tributary keys`: API keys and the principals they act as (membership's `AccessService`).

use anyhow::{Context as _, bail};
use tributary_proto::membership::v1 as pb;

use crate::{
    context::Context,
    output::{label, or_dash, table, time, with_more},
    paging::{PageArgs, fetch},
};

/// Key subcommands.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum Command {
    /// Create a key and print its secret (shown only once). Operators only.
    Create {
        /// A label for the key.
        #[arg(long)]
        name: String,
        /// The key acts as this 12-digit account.
        #[arg(long, group = "principal")]
        account: Option<String>,
        /// The key acts as this organization's management account (with --management-account).
        #[arg(long, group = "principal", requires = "management_account")]
        organization: Option<String>,
        /// The management account of --organization.
        #[arg(long)]
        management_account: Option<String>,
        /// The key manages the deployment.
        #[arg(long, group = "principal")]
        operator: bool,
        /// The key is this service's (services call each other with it).
        #[arg(long, group = "principal", value_name = "NAME")]
        service: Option<String>,
    },
    /// List keys (never their secrets). Operators only.
    List {
        /// Also list revoked keys.
        #[arg(long)]
        include_revoked: bool,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Revoke a key by id. Operators only.
    Revoke {
        /// The key id (key-...).
        key_id: String,
    },
    /// Show who the key in use acts as.
    Whoami,
}

/// Runs a key subcommand.
pub async fn run(context: &Context, command: Command) -> anyhow::Result<()> {
    let mut client = context.access_client()?;
    let output = context.output();
    match command {
        Command::Create {
            name,
            account,
            organization,
            management_account,
            operator,
            service,
        } => {
            let principal = if let Some(account_id) = account {
                pb::Principal {
                    kind: pb::PrincipalKind::Account as i32,
                    account_id,
                    ..Default::default()
                }
            } else if let Some(organization_id) = organization {
                pb::Principal {
                    kind: pb::PrincipalKind::OrganizationManagement as i32,
                    account_id: management_account.unwrap_or_default(),
                    organization_id,
                    ..Default::default()
                }
            } else if operator {
                pb::Principal {
                    kind: pb::PrincipalKind::Operator as i32,
                    ..Default::default()
                }
            } else if let Some(service_name) = service {
                pb::Principal {
                    kind: pb::PrincipalKind::Service as i32,
                    service_name,
                    ..Default::default()
                }
            } else {
                bail!(
                    "name who the key acts as: --account, --organization, --operator or --service"
                );
            };
            let response = client
                .create_api_key(pb::CreateApiKeyRequest {
                    name,
                    principal: Some(principal),
                })
                .await
                .context("creating a key")?
                .into_inner();
            output.message(&response, |response| {
                let mut text = keys_table(response.api_key.iter());
                text.push_str(&format!(
                    "\nsecret (shown once): {}\nuse it with --key or TRIBUTARY_API_KEY",
                    response.secret
                ));
                text
            })
        }
        Command::List {
            include_revoked,
            page,
        } => {
            let response = fetch(&page, |page_token| {
                let mut client = client.clone();
                let request = pb::ListApiKeysRequest {
                    page_size: page.page_size,
                    page_token,
                    include_revoked,
                };
                async move { client.list_api_keys(request).await }
            })
            .await
            .context("listing keys")?;
            output.message(&response, |response| {
                let rendered = keys_table(response.api_keys.iter());
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
        Command::Revoke { key_id } => {
            let response = client
                .revoke_api_key(pb::RevokeApiKeyRequest {
                    key_id: key_id.clone(),
                })
                .await
                .with_context(|| format!("revoking key {key_id}"))?
                .into_inner();
            output.message(&response, |response| keys_table(response.api_key.iter()))
        }
        Command::Whoami => {
            let response = client
                .who_am_i(pb::WhoAmIRequest {})
                .await
                .context("asking who the key is")?
                .into_inner();
            output.message(&response, |response| {
                let mut rows = table(&["key", "acts as", "account", "organization", "service"]);
                let principal = response.principal.clone().unwrap_or_default();
                rows.add_row(vec![
                    response.key_id.clone(),
                    kind(&principal),
                    or_dash(&principal.account_id),
                    or_dash(&principal.organization_id),
                    or_dash(&principal.service_name),
                ]);
                rows.to_string()
            })
        }
    }
}

fn kind(principal: &pb::Principal) -> String {
    pb::PrincipalKind::try_from(principal.kind)
        .map(|kind| label(kind.as_str_name(), "PRINCIPAL_KIND_"))
        .unwrap_or_default()
}

fn keys_table<'a>(keys: impl Iterator<Item = &'a pb::ApiKey>) -> String {
    let mut rows = table(&["key", "name", "acts as", "account", "created", "revoked"]);
    for key in keys {
        let principal = key.principal.clone().unwrap_or_default();
        let subject = [
            principal.account_id.as_str(),
            principal.organization_id.as_str(),
            principal.service_name.as_str(),
        ]
        .into_iter()
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
        rows.add_row(vec![
            key.key_id.clone(),
            key.name.clone(),
            kind(&principal),
            or_dash(&subject),
            time(key.created_at.as_ref()),
            key.revoked_at
                .as_ref()
                .map_or_else(|| "-".to_string(), |revoked| time(Some(revoked))),
        ]);
    }
    with_more(rows, "")
}
