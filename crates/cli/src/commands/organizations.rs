//! `tributary organizations`: organizations, their accounts, trusted service access and delegated
//! administrators (membership's `OrganizationService`).

use anyhow::Context as _;
use tributary_proto::membership::v1 as pb;

use crate::{
    commands::accounts::accounts_table,
    context::Context,
    output::{label, table, time, with_more},
    paging::{PageArgs, fetch},
};

/// Organization subcommands.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum Command {
    /// Create an organization managed by an existing standalone account (operators only).
    Create {
        /// The management account.
        #[arg(long)]
        management_account: String,
        /// Consolidated billing only (no organization aggregators).
        #[arg(long)]
        consolidated_billing: bool,
    },
    /// Describe an organization (the caller's own when no id is given).
    Describe {
        /// The organization id (o-...).
        #[arg(default_value = "")]
        organization: String,
    },
    /// Delete an organization that has no account besides its management account.
    Delete {
        /// The organization id.
        organization: String,
    },
    /// Move a standalone account into an organization.
    AddAccount {
        /// The organization id.
        organization: String,
        /// The 12-digit account id.
        account_id: String,
    },
    /// Make a member account standalone again.
    RemoveAccount {
        /// The organization id.
        organization: String,
        /// The 12-digit account id.
        account_id: String,
    },
    /// List an organization's accounts.
    ListAccounts {
        /// The organization id.
        organization: String,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Enable trusted access for a service principal (e.g. config.amazonaws.com).
    EnableServiceAccess {
        /// The organization id.
        organization: String,
        /// The service principal.
        service_principal: String,
    },
    /// Disable trusted access for a service principal.
    DisableServiceAccess {
        /// The organization id.
        organization: String,
        /// The service principal.
        service_principal: String,
    },
    /// List the service principals with trusted access.
    ListServiceAccess {
        /// The organization id.
        organization: String,
    },
    /// Register a member account as delegated administrator for a service principal.
    RegisterDelegatedAdministrator {
        /// The organization id.
        organization: String,
        /// The member account.
        account_id: String,
        /// The service principal, e.g. config.amazonaws.com.
        service_principal: String,
    },
    /// Remove a delegated administrator registration.
    DeregisterDelegatedAdministrator {
        /// The organization id.
        organization: String,
        /// The registered account.
        account_id: String,
        /// The service principal.
        service_principal: String,
    },
    /// List delegated administrators.
    ListDelegatedAdministrators {
        /// The organization id.
        organization: String,
        /// Only this service principal.
        #[arg(long, default_value = "")]
        service_principal: String,
    },
}

/// Runs an organization subcommand.
pub async fn run(context: &Context, command: Command) -> anyhow::Result<()> {
    let mut client = context.organization_client()?;
    let output = context.output();
    match command {
        Command::Create {
            management_account,
            consolidated_billing,
        } => {
            let feature_set = if consolidated_billing {
                pb::FeatureSet::ConsolidatedBilling
            } else {
                pb::FeatureSet::All
            };
            let response = client
                .create_organization(pb::CreateOrganizationRequest {
                    management_account_id: management_account.clone(),
                    feature_set: feature_set as i32,
                })
                .await
                .with_context(|| {
                    format!("creating an organization managed by {management_account}")
                })?
                .into_inner();
            output.message(&response, |response| {
                organization_table(response.organization.as_ref())
            })
        }
        Command::Describe { organization } => {
            let response = client
                .describe_organization(pb::DescribeOrganizationRequest {
                    organization_id: organization,
                })
                .await
                .context("describing the organization")?
                .into_inner();
            output.message(&response, |response| {
                organization_table(response.organization.as_ref())
            })
        }
        Command::Delete { organization } => {
            let response = client
                .delete_organization(pb::DeleteOrganizationRequest {
                    organization_id: organization.clone(),
                })
                .await
                .with_context(|| format!("deleting organization {organization}"))?
                .into_inner();
            output.message(&response, |_| {
                format!("deleted organization {organization}")
            })
        }
        Command::AddAccount {
            organization,
            account_id,
        } => {
            let response = client
                .add_account_to_organization(pb::AddAccountToOrganizationRequest {
                    organization_id: organization.clone(),
                    account_id: account_id.clone(),
                })
                .await
                .with_context(|| format!("adding {account_id} to {organization}"))?
                .into_inner();
            output.message(&response, |response| {
                accounts_table(response.account.iter())
            })
        }
        Command::RemoveAccount {
            organization,
            account_id,
        } => {
            let response = client
                .remove_account_from_organization(pb::RemoveAccountFromOrganizationRequest {
                    organization_id: organization.clone(),
                    account_id: account_id.clone(),
                })
                .await
                .with_context(|| format!("removing {account_id} from {organization}"))?
                .into_inner();
            output.message(&response, |response| {
                accounts_table(response.account.iter())
            })
        }
        Command::ListAccounts { organization, page } => {
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
            .with_context(|| format!("listing the accounts of {organization}"))?;
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
        Command::EnableServiceAccess {
            organization,
            service_principal,
        } => {
            let response = client
                .enable_service_access(pb::EnableServiceAccessRequest {
                    organization_id: organization.clone(),
                    service_principal: service_principal.clone(),
                })
                .await
                .with_context(|| format!("enabling {service_principal} in {organization}"))?
                .into_inner();
            output.message(&response, |_| {
                format!("trusted access for {service_principal} enabled in {organization}")
            })
        }
        Command::DisableServiceAccess {
            organization,
            service_principal,
        } => {
            let response = client
                .disable_service_access(pb::DisableServiceAccessRequest {
                    organization_id: organization.clone(),
                    service_principal: service_principal.clone(),
                })
                .await
                .with_context(|| format!("disabling {service_principal} in {organization}"))?
                .into_inner();
            output.message(&response, |_| {
                format!("trusted access for {service_principal} disabled in {organization}")
            })
        }
        Command::ListServiceAccess { organization } => {
            let response = client
                .list_service_access(pb::ListServiceAccessRequest {
                    organization_id: organization.clone(),
                })
                .await
                .with_context(|| format!("listing the service access of {organization}"))?
                .into_inner();
            output.message(&response, |response| {
                let mut rows = table(&["service principal", "enabled"]);
                for service in &response.enabled_services {
                    rows.add_row(vec![
                        service.service_principal.clone(),
                        time(service.enabled_at.as_ref()),
                    ]);
                }
                rows.to_string()
            })
        }
        Command::RegisterDelegatedAdministrator {
            organization,
            account_id,
            service_principal,
        } => {
            let response = client
                .register_delegated_administrator(pb::RegisterDelegatedAdministratorRequest {
                    organization_id: organization,
                    account_id: account_id.clone(),
                    service_principal: service_principal.clone(),
                })
                .await
                .with_context(|| {
                    format!("registering {account_id} as delegated administrator for {service_principal}")
                })?
                .into_inner();
            output.message(&response, |response| {
                delegated_table(response.delegated_administrator.iter())
            })
        }
        Command::DeregisterDelegatedAdministrator {
            organization,
            account_id,
            service_principal,
        } => {
            let response = client
                .deregister_delegated_administrator(pb::DeregisterDelegatedAdministratorRequest {
                    organization_id: organization,
                    account_id: account_id.clone(),
                    service_principal: service_principal.clone(),
                })
                .await
                .with_context(|| {
                    format!("deregistering {account_id} as delegated administrator for {service_principal}")
                })?
                .into_inner();
            output.message(&response, |_| {
                format!("{account_id} is no longer delegated administrator for {service_principal}")
            })
        }
        Command::ListDelegatedAdministrators {
            organization,
            service_principal,
        } => {
            let response = client
                .list_delegated_administrators(pb::ListDelegatedAdministratorsRequest {
                    organization_id: organization.clone(),
                    service_principal,
                })
                .await
                .with_context(|| format!("listing the delegated administrators of {organization}"))?
                .into_inner();
            output.message(&response, |response| {
                delegated_table(response.delegated_administrators.iter())
            })
        }
    }
}

fn organization_table(organization: Option<&pb::Organization>) -> String {
    let mut rows = table(&[
        "organization",
        "management account",
        "feature set",
        "created",
    ]);
    if let Some(organization) = organization {
        rows.add_row(vec![
            organization.organization_id.clone(),
            organization.management_account_id.clone(),
            pb::FeatureSet::try_from(organization.feature_set)
                .map(|set| label(set.as_str_name(), "FEATURE_SET_"))
                .unwrap_or_default(),
            time(organization.created_at.as_ref()),
        ]);
    }
    with_more(rows, "")
}

fn delegated_table<'a>(
    administrators: impl Iterator<Item = &'a pb::DelegatedAdministrator>,
) -> String {
    let mut rows = table(&["account", "service principal", "registered"]);
    for administrator in administrators {
        rows.add_row(vec![
            administrator.account_id.clone(),
            administrator.service_principal.clone(),
            time(administrator.registered_at.as_ref()),
        ]);
    }
    rows.to_string()
}
