//! `tributary hub`: Security Hub enablement and administrator/member relationships, per region
//! (membership's `SecurityHubMembersService`). These calls act as the caller's own account: use an
//! account key (`--key`, or `--as-account`).

use anyhow::Context as _;
use tributary_proto::membership::v1 as pb;

use crate::{
    context::Context,
    output::{label, or_dash, table, time, with_more},
    paging::{PageArgs, fetch},
};

/// Security Hub subcommands.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum Command {
    /// Enable Security Hub for the caller in a region.
    Enable {
        /// The region.
        #[arg(long)]
        region: String,
        /// Do not enable the default standards.
        #[arg(long)]
        no_default_standards: bool,
    },
    /// Disable Security Hub for the caller in a region.
    Disable {
        /// The region.
        #[arg(long)]
        region: String,
    },
    /// Describe the caller's hub in a region.
    Describe {
        /// The region.
        #[arg(long)]
        region: String,
    },
    /// The caller's members.
    #[command(subcommand)]
    Members(MembersCommand),
    /// Invitations the caller received.
    #[command(subcommand)]
    Invitations(InvitationsCommand),
    /// The caller's administrator in a region.
    #[command(subcommand)]
    Administrator(AdministratorCommand),
    /// The organization's Security Hub administrator (management account only).
    #[command(subcommand)]
    OrganizationAdmin(OrganizationAdminCommand),
}

/// Member subcommands.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum MembersCommand {
    /// Add accounts as members (organization accounts become Enabled at once).
    Create {
        /// The region.
        #[arg(long)]
        region: String,
        /// The 12-digit accounts, 1-50.
        #[arg(required = true)]
        account_ids: Vec<String>,
    },
    /// Invite Created members.
    Invite {
        /// The region.
        #[arg(long)]
        region: String,
        /// The 12-digit accounts, 1-50.
        #[arg(required = true)]
        account_ids: Vec<String>,
    },
    /// List the caller's members.
    List {
        /// The region.
        #[arg(long)]
        region: String,
        /// Every member, not only Enabled ones.
        #[arg(long)]
        any_status: bool,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Show named members.
    Get {
        /// The region.
        #[arg(long)]
        region: String,
        /// The 12-digit accounts, 1-50.
        #[arg(required = true)]
        account_ids: Vec<String>,
    },
    /// Disassociate members.
    Disassociate {
        /// The region.
        #[arg(long)]
        region: String,
        /// The 12-digit accounts, 1-50.
        #[arg(required = true)]
        account_ids: Vec<String>,
    },
    /// Delete invitation-based members that are not Enabled.
    Delete {
        /// The region.
        #[arg(long)]
        region: String,
        /// The 12-digit accounts, 1-50.
        #[arg(required = true)]
        account_ids: Vec<String>,
    },
}

/// Invitation subcommands.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum InvitationsCommand {
    /// List pending invitations.
    List {
        /// The region.
        #[arg(long)]
        region: String,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Accept an administrator's invitation (the pending one when no id is given).
    Accept {
        /// The region.
        #[arg(long)]
        region: String,
        /// The inviting administrator.
        administrator_id: String,
        /// The invitation id (from `invitations list`).
        #[arg(long)]
        invitation_id: Option<String>,
    },
    /// Decline administrators' invitations.
    Decline {
        /// The region.
        #[arg(long)]
        region: String,
        /// The inviting administrators.
        #[arg(required = true)]
        administrator_ids: Vec<String>,
    },
}

/// Administrator subcommands.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum AdministratorCommand {
    /// Show the caller's administrator.
    Get {
        /// The region.
        #[arg(long)]
        region: String,
    },
    /// Leave the caller's administrator (invitation-based membership only).
    Disassociate {
        /// The region.
        #[arg(long)]
        region: String,
    },
}

/// Organization administrator subcommands.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum OrganizationAdminCommand {
    /// Designate an account of the organization as its Security Hub administrator.
    Enable {
        /// The region.
        #[arg(long)]
        region: String,
        /// The account to designate.
        account_id: String,
    },
    /// End the designation.
    Disable {
        /// The region.
        #[arg(long)]
        region: String,
        /// The designated account.
        account_id: String,
    },
    /// Show the designated administrator.
    List {
        /// The region.
        #[arg(long)]
        region: String,
    },
}

/// Runs a Security Hub subcommand.
pub async fn run(context: &Context, command: Command) -> anyhow::Result<()> {
    let mut client = context.hub_client()?;
    let output = context.output();
    match command {
        Command::Enable {
            region,
            no_default_standards,
        } => {
            let response = client
                .enable_security_hub(pb::EnableSecurityHubRequest {
                    region: region.clone(),
                    tags: Vec::new(),
                    enable_default_standards: Some(!no_default_standards),
                    control_finding_generator: 0,
                })
                .await
                .with_context(|| format!("enabling Security Hub in {region}"))?
                .into_inner();
            output.message(&response, |response| hub_table(response.hub.as_ref()))
        }
        Command::Disable { region } => {
            let response = client
                .disable_security_hub(pb::DisableSecurityHubRequest {
                    region: region.clone(),
                })
                .await
                .with_context(|| format!("disabling Security Hub in {region}"))?
                .into_inner();
            output.message(&response, |_| format!("Security Hub disabled in {region}"))
        }
        Command::Describe { region } => {
            let response = client
                .describe_hub(pb::DescribeHubRequest {
                    region: region.clone(),
                    hub_arn: String::new(),
                })
                .await
                .with_context(|| format!("describing the hub in {region}"))?
                .into_inner();
            output.message(&response, |response| hub_table(response.hub.as_ref()))
        }
        Command::Members(command) => members(context, command).await,
        Command::Invitations(command) => invitations(context, command).await,
        Command::Administrator(AdministratorCommand::Get { region }) => {
            let response = client
                .get_administrator_account(pb::GetAdministratorAccountRequest {
                    region: region.clone(),
                })
                .await
                .with_context(|| format!("reading the administrator in {region}"))?
                .into_inner();
            output.message(&response, |response| match &response.administrator {
                Some(administrator) => invitations_table(std::iter::once(administrator), ""),
                None => format!("no administrator in {region}"),
            })
        }
        Command::Administrator(AdministratorCommand::Disassociate { region }) => {
            let response = client
                .disassociate_from_administrator_account(
                    pb::DisassociateFromAdministratorAccountRequest {
                        region: region.clone(),
                    },
                )
                .await
                .with_context(|| format!("leaving the administrator in {region}"))?
                .into_inner();
            output.message(&response, |_| format!("left the administrator in {region}"))
        }
        Command::OrganizationAdmin(OrganizationAdminCommand::Enable { region, account_id }) => {
            let response = client
                .enable_organization_admin_account(pb::EnableOrganizationAdminAccountRequest {
                    region: region.clone(),
                    admin_account_id: account_id.clone(),
                })
                .await
                .with_context(|| format!("designating {account_id} in {region}"))?
                .into_inner();
            output.message(&response, |response| {
                format!(
                    "{} is the organization's Security Hub administrator in {region}",
                    response.admin_account_id
                )
            })
        }
        Command::OrganizationAdmin(OrganizationAdminCommand::Disable { region, account_id }) => {
            let response = client
                .disable_organization_admin_account(pb::DisableOrganizationAdminAccountRequest {
                    region: region.clone(),
                    admin_account_id: account_id.clone(),
                })
                .await
                .with_context(|| format!("ending the designation of {account_id} in {region}"))?
                .into_inner();
            output.message(&response, |_| {
                format!("{account_id} is no longer the organization's administrator in {region}")
            })
        }
        Command::OrganizationAdmin(OrganizationAdminCommand::List { region }) => {
            let response = client
                .list_organization_admin_accounts(pb::ListOrganizationAdminAccountsRequest {
                    region: region.clone(),
                    page_size: 0,
                    page_token: String::new(),
                })
                .await
                .with_context(|| format!("listing the organization administrator in {region}"))?
                .into_inner();
            output.message(&response, |response| {
                let mut rows = table(&["administrator", "status"]);
                for admin in &response.admin_accounts {
                    rows.add_row(vec![
                        admin.account_id.clone(),
                        pb::OrganizationAdminStatus::try_from(admin.status)
                            .map(|status| label(status.as_str_name(), "ORGANIZATION_ADMIN_STATUS_"))
                            .unwrap_or_default(),
                    ]);
                }
                rows.to_string()
            })
        }
    }
}

async fn members(context: &Context, command: MembersCommand) -> anyhow::Result<()> {
    let mut client = context.hub_client()?;
    let output = context.output();
    match command {
        MembersCommand::Create {
            region,
            account_ids,
        } => {
            let response = client
                .create_members(pb::CreateMembersRequest {
                    region: region.clone(),
                    account_details: account_ids
                        .iter()
                        .map(|account_id| pb::AccountDetails {
                            account_id: account_id.clone(),
                            email: String::new(),
                        })
                        .collect(),
                })
                .await
                .with_context(|| format!("adding members in {region}"))?
                .into_inner();
            output.message(&response, |response| {
                unprocessed(&response.unprocessed_accounts, account_ids.len(), "added")
            })
        }
        MembersCommand::Invite {
            region,
            account_ids,
        } => {
            let response = client
                .invite_members(pb::InviteMembersRequest {
                    region: region.clone(),
                    account_ids: account_ids.clone(),
                })
                .await
                .with_context(|| format!("inviting members in {region}"))?
                .into_inner();
            output.message(&response, |response| {
                unprocessed(&response.unprocessed_accounts, account_ids.len(), "invited")
            })
        }
        MembersCommand::List {
            region,
            any_status,
            page,
        } => {
            let response = fetch(&page, |page_token| {
                let mut client = client.clone();
                let request = pb::ListMembersRequest {
                    region: region.clone(),
                    only_associated: Some(!any_status),
                    page_size: page.page_size,
                    page_token,
                };
                async move { client.list_members(request).await }
            })
            .await
            .with_context(|| format!("listing members in {region}"))?;
            output.message(&response, |response| {
                members_table(&response.members, &response.next_page_token)
            })
        }
        MembersCommand::Get {
            region,
            account_ids,
        } => {
            let response = client
                .get_members(pb::GetMembersRequest {
                    region: region.clone(),
                    account_ids,
                })
                .await
                .with_context(|| format!("reading members in {region}"))?
                .into_inner();
            output.message(&response, |response| {
                let mut text = members_table(&response.members, "");
                for account in &response.unprocessed_accounts {
                    text.push_str(&format!(
                        "\nnot found: {} ({})",
                        account.account_id, account.processing_result
                    ));
                }
                text
            })
        }
        MembersCommand::Disassociate {
            region,
            account_ids,
        } => {
            let count = account_ids.len();
            let response = client
                .disassociate_members(pb::DisassociateMembersRequest {
                    region: region.clone(),
                    account_ids,
                })
                .await
                .with_context(|| format!("disassociating members in {region}"))?
                .into_inner();
            output.message(&response, |_| format!("disassociated {count} members"))
        }
        MembersCommand::Delete {
            region,
            account_ids,
        } => {
            let count = account_ids.len();
            let response = client
                .delete_members(pb::DeleteMembersRequest {
                    region: region.clone(),
                    account_ids,
                })
                .await
                .with_context(|| format!("deleting members in {region}"))?
                .into_inner();
            output.message(&response, |response| {
                unprocessed(&response.unprocessed_accounts, count, "deleted")
            })
        }
    }
}

async fn invitations(context: &Context, command: InvitationsCommand) -> anyhow::Result<()> {
    let mut client = context.hub_client()?;
    let output = context.output();
    match command {
        InvitationsCommand::List { region, page } => {
            let response = fetch(&page, |page_token| {
                let mut client = client.clone();
                let request = pb::ListInvitationsRequest {
                    region: region.clone(),
                    page_size: page.page_size,
                    page_token,
                };
                async move { client.list_invitations(request).await }
            })
            .await
            .with_context(|| format!("listing invitations in {region}"))?;
            output.message(&response, |response| {
                invitations_table(response.invitations.iter(), &response.next_page_token)
            })
        }
        InvitationsCommand::Accept {
            region,
            administrator_id,
            invitation_id,
        } => {
            let invitation_id = match invitation_id {
                Some(invitation_id) => invitation_id,
                None => pending_invitation(context, &region, &administrator_id).await?,
            };
            let response = client
                .accept_administrator_invitation(pb::AcceptAdministratorInvitationRequest {
                    region: region.clone(),
                    administrator_id: administrator_id.clone(),
                    invitation_id,
                })
                .await
                .with_context(|| format!("accepting the invitation of {administrator_id}"))?
                .into_inner();
            output.message(&response, |_| {
                format!("{administrator_id} is now the administrator in {region}")
            })
        }
        InvitationsCommand::Decline {
            region,
            administrator_ids,
        } => {
            let count = administrator_ids.len();
            let response = client
                .decline_invitations(pb::DeclineInvitationsRequest {
                    region: region.clone(),
                    account_ids: administrator_ids,
                })
                .await
                .with_context(|| format!("declining invitations in {region}"))?
                .into_inner();
            output.message(&response, |response| {
                unprocessed(&response.unprocessed_accounts, count, "declined")
            })
        }
    }
}

async fn pending_invitation(
    context: &Context,
    region: &str,
    administrator_id: &str,
) -> anyhow::Result<String> {
    let mut client = context.hub_client()?;
    let mut page_token = String::new();
    loop {
        let page = client
            .list_invitations(pb::ListInvitationsRequest {
                region: region.to_string(),
                page_size: 0,
                page_token,
            })
            .await
            .with_context(|| format!("listing invitations in {region}"))?
            .into_inner();
        if let Some(invitation) = page
            .invitations
            .into_iter()
            .find(|invitation| invitation.account_id == administrator_id)
        {
            return Ok(invitation.invitation_id);
        }
        if page.next_page_token.is_empty() {
            anyhow::bail!("no pending invitation from {administrator_id} in {region}");
        }
        page_token = page.next_page_token;
    }
}

fn hub_table(hub: Option<&pb::Hub>) -> String {
    let mut rows = table(&[
        "hub",
        "subscribed",
        "default standards",
        "auto-enable controls",
    ]);
    if let Some(hub) = hub {
        rows.add_row(vec![
            hub.hub_arn.clone(),
            time(hub.subscribed_at.as_ref()),
            hub.default_standards_enabled.to_string(),
            hub.auto_enable_controls.to_string(),
        ]);
    }
    rows.to_string()
}

fn members_table(members: &[pb::Member], next_page_token: &str) -> String {
    let mut rows = table(&[
        "member",
        "status",
        "relationship",
        "administrator",
        "updated",
    ]);
    for member in members {
        rows.add_row(vec![
            member.account_id.clone(),
            pb::MemberStatus::try_from(member.member_status)
                .map(|status| label(status.as_str_name(), "MEMBER_STATUS_"))
                .unwrap_or_default(),
            pb::RelationshipType::try_from(member.relationship_type)
                .map(|kind| label(kind.as_str_name(), "RELATIONSHIP_TYPE_"))
                .unwrap_or_default(),
            member.administrator_id.clone(),
            time(member.updated_at.as_ref()),
        ]);
    }
    with_more(rows, next_page_token)
}

fn invitations_table<'a>(
    invitations: impl Iterator<Item = &'a pb::Invitation>,
    next_page_token: &str,
) -> String {
    let mut rows = table(&["administrator", "invitation", "status", "invited"]);
    for invitation in invitations {
        rows.add_row(vec![
            invitation.account_id.clone(),
            or_dash(&invitation.invitation_id),
            pb::MemberStatus::try_from(invitation.member_status)
                .map(|status| label(status.as_str_name(), "MEMBER_STATUS_"))
                .unwrap_or_default(),
            time(invitation.invited_at.as_ref()),
        ]);
    }
    with_more(rows, next_page_token)
}

fn unprocessed(accounts: &[pb::UnprocessedAccount], asked: usize, verb: &str) -> String {
    let mut text = format!(
        "{} of {asked} accounts {verb}",
        asked - accounts.len().min(asked)
    );
    for account in accounts {
        text.push_str(&format!(
            "\n  {}: {}",
            account.account_id, account.processing_result
        ));
    }
    text
}
