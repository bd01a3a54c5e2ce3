//! Members and invitations: adding, inviting, answering, disassociating, deleting and listing.

use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};
use tributary_runtime::{auth::Caller, paging::page_size};

use crate::{
    error::{Error, Result},
    organizations::{AccountStatus, find_account},
    regions::require_region,
    store::{securityhub_hubs as hubs_table, securityhub_members as members_table},
};

use super::{
    AutoEnableStandards, ControlFindingGenerator, HubSettings, InvitationChange, Member,
    MemberStatus, Operation, Outcome, RelationshipType, RelationshipWrite, SecurityHub,
    Unprocessed, acting, administrator_role, count_members, count_with_status, current_designation,
    enabled_membership, find_hub, find_relationship,
    inputs::{AcceptInvitation, AccountList, CreateMembersInput},
    insert_hub, reason, refused, require_hub, require_open_account, transition,
};

/// Page sizes of `ListMembers` and `ListInvitations` (the AWS limits).
const LIST_DEFAULT: u32 = 50;
const LIST_MAX: u32 = 50;

fn current_of(row: Option<&members_table::Model>) -> Option<(MemberStatus, RelationshipType)> {
    row.map(|row| {
        (
            MemberStatus::from_stored(&row.status),
            RelationshipType::from_stored(&row.relationship_type),
        )
    })
}

/// The caller's hub, when it may manage members in the region: its hub is enabled and it is not a
/// member itself.
async fn require_administrator_capable(
    db: &impl ConnectionTrait,
    account_id: &str,
    region: &str,
) -> Result<hubs_table::Model> {
    let hub = require_hub(db, account_id, region).await?;
    if let Some(membership) = enabled_membership(db, account_id, region).await? {
        return Err(refused(format!(
            "account {account_id} is a member of administrator {} in {region}; an account cannot \
             be an administrator and a member at once",
            membership.administrator_id
        )));
    }
    Ok(hub)
}

impl SecurityHub {
    fn check_members_limit(&self, current: u64, added: u64, region: &str) -> Result<()> {
        let limit = u64::from(self.limits.members_per_administrator);
        if added > 0 && current + added > limit {
            return Err(Error::limit_exceeded(
                reason::LIMIT_EXCEEDED,
                format!(
                    "an administrator may have at most {limit} members in {region}; it has \
                     {current} and this call would add {added}"
                ),
            ));
        }
        Ok(())
    }

    /// Adds accounts to the caller's member list: accounts of its organization become Enabled
    /// when the caller is the organization's Security Hub administrator, others Created.
    pub async fn create_members(
        &self,
        caller: &Caller,
        input: CreateMembersInput,
    ) -> Result<Vec<Unprocessed>> {
        let administrator = acting(caller)?;
        let region = input.region.as_str();
        let mut change = self.changes.begin().await?;
        require_region(change.tx(), region).await?;
        let administrator_hub =
            require_administrator_capable(change.tx(), administrator, region).await?;
        let designation = current_designation(change.tx(), administrator, region).await?;
        let mut unprocessed = Vec::new();
        let mut writes = Vec::new();
        // Hubs to enable for organization accounts, with the settings they get.
        let mut hubs_to_enable = Vec::new();
        for new_member in &input.members {
            let member_id = new_member.account_id.as_str();
            if member_id == administrator {
                unprocessed.push(Unprocessed::new(
                    member_id,
                    "an account cannot be its own member",
                ));
                continue;
            }
            let Some(account) = find_account(change.tx(), member_id).await? else {
                unprocessed.push(Unprocessed::new(
                    member_id,
                    format!("account {member_id} does not exist"),
                ));
                continue;
            };
            let status = AccountStatus::parse(&account.status);
            if status == AccountStatus::Closed {
                unprocessed.push(Unprocessed::new(
                    member_id,
                    format!("account {member_id} is closed"),
                ));
                continue;
            }
            let organization_member = designation.as_ref().filter(|designation| {
                account.organization_id.as_deref() == Some(designation.organization_id.as_str())
            });
            let existing = find_relationship(change.tx(), administrator, region, member_id).await?;
            let operation = if organization_member.is_some() {
                Operation::EnableOrganizationAccount {
                    suspended: status == AccountStatus::Suspended,
                }
            } else {
                Operation::CreateInvitationMember
            };
            let (next, relationship_type) =
                match transition(current_of(existing.as_ref()), operation) {
                    Ok(Outcome::Change(next, relationship_type)) => (next, relationship_type),
                    Ok(Outcome::Unchanged) => continue,
                    Err(refusal) => {
                        unprocessed.push(Unprocessed::new(member_id, refusal.describe(member_id)));
                        continue;
                    }
                };
            if next == MemberStatus::Enabled {
                // The account becomes a member at once: the relationship rules apply now.
                if let Some(membership) = enabled_membership(change.tx(), member_id, region).await?
                {
                    unprocessed.push(Unprocessed::new(
                        member_id,
                        format!(
                            "account {member_id} is already a member of administrator {} in \
                             {region}; it must be disassociated first",
                            membership.administrator_id
                        ),
                    ));
                    continue;
                }
                if let Some(role) = administrator_role(change.tx(), member_id, region).await? {
                    unprocessed.push(Unprocessed::new(
                        member_id,
                        format!(
                            "{role}; an account cannot be an administrator and a member at once"
                        ),
                    ));
                    continue;
                }
                if find_hub(change.tx(), member_id, region).await?.is_none() {
                    let is_management = match &account.organization_id {
                        Some(organization_id) => {
                            crate::organizations::require_organization(change.tx(), organization_id)
                                .await?
                                .management_account_id
                                == member_id
                        }
                        None => false,
                    };
                    if is_management {
                        unprocessed.push(Unprocessed::new(
                            member_id,
                            format!(
                                "account {member_id} is the organization management account; it \
                                 must enable Security Hub in {region} itself first"
                            ),
                        ));
                        continue;
                    }
                    hubs_to_enable.push(member_id.to_string());
                }
            }
            let mut write = RelationshipWrite::new(
                administrator,
                region,
                member_id,
                existing,
                next,
                relationship_type,
            );
            write.organization_id =
                organization_member.map(|designation| designation.organization_id.clone());
            write.email = Some(if new_member.email.is_empty() {
                account.email.clone()
            } else {
                new_member.email.clone()
            });
            write.invitation = InvitationChange::Clear;
            writes.push(write);
        }
        let added = writes.iter().filter(|write| write.takes_new_slot()).count() as u64;
        let current = count_members(change.tx(), administrator, region).await?;
        self.check_members_limit(current, added, region)?;

        let now = tributary_runtime::time::now();
        let settings = HubSettings {
            default_standards: designation
                .as_ref()
                .map(|designation| {
                    AutoEnableStandards::from_stored(&designation.auto_enable_standards)
                        == AutoEnableStandards::Default
                })
                .unwrap_or(true),
            control_finding_generator: ControlFindingGenerator::from_stored(
                &administrator_hub.control_finding_generator,
            ),
        };
        for member_id in hubs_to_enable {
            insert_hub(
                &mut change,
                &member_id,
                region,
                settings,
                &Default::default(),
                now,
            )
            .await?;
        }
        for write in writes {
            write.apply(&mut change, now).await?;
        }
        change.commit().await?;
        Ok(unprocessed)
    }

    /// Invites Created, Removed or Resigned invitation-based members.
    pub async fn invite_members(
        &self,
        caller: &Caller,
        input: AccountList,
    ) -> Result<Vec<Unprocessed>> {
        let administrator = acting(caller)?;
        let region = input.region.as_str();
        let mut change = self.changes.begin().await?;
        require_region(change.tx(), region).await?;
        require_administrator_capable(change.tx(), administrator, region).await?;
        let now = tributary_runtime::time::now();
        let mut unprocessed = Vec::new();
        let mut writes = Vec::new();
        for member_id in &input.account_ids {
            let existing = find_relationship(change.tx(), administrator, region, member_id).await?;
            let next = match transition(current_of(existing.as_ref()), Operation::Invite) {
                Ok(Outcome::Change(next, _)) => next,
                Ok(Outcome::Unchanged) => continue,
                Err(refusal) => {
                    unprocessed.push(Unprocessed::new(member_id, refusal.describe(member_id)));
                    continue;
                }
            };
            let open = find_account(change.tx(), member_id)
                .await?
                .is_some_and(|account| {
                    AccountStatus::parse(&account.status) != AccountStatus::Closed
                });
            if !open {
                unprocessed.push(Unprocessed::new(
                    member_id,
                    format!("account {member_id} is closed or no longer exists"),
                ));
                continue;
            }
            let Some(existing) = existing else { continue };
            let mut write = RelationshipWrite::status_of(existing, next);
            write.invitation = InvitationChange::New {
                invitation_id: tributary_runtime::db::random_hex(16),
                at: now,
            };
            writes.push(write);
        }
        let invitations = writes
            .iter()
            .filter(|write| write.sends_invitation())
            .count() as u64;
        let outstanding =
            count_with_status(change.tx(), administrator, region, &[MemberStatus::Invited]).await?;
        let invitation_limit = u64::from(self.limits.invitations_per_administrator);
        if invitations > 0 && outstanding + invitations > invitation_limit {
            return Err(Error::limit_exceeded(
                reason::LIMIT_EXCEEDED,
                format!(
                    "an administrator may have at most {invitation_limit} outstanding invitations \
                     in {region}; it has {outstanding} and this call would send {invitations}"
                ),
            ));
        }
        let added = writes.iter().filter(|write| write.takes_new_slot()).count() as u64;
        let current = count_members(change.tx(), administrator, region).await?;
        self.check_members_limit(current, added, region)?;
        for write in writes {
            write.apply(&mut change, now).await?;
        }
        change.commit().await?;
        Ok(unprocessed)
    }

    /// The invitations the caller received in a region that are still Invited.
    pub async fn list_invitations(
        &self,
        caller: &Caller,
        region: &str,
        requested_page_size: i32,
        page_token: &str,
    ) -> Result<(Vec<Member>, String)> {
        let member_id = acting(caller)?;
        let scope = format!("ListInvitations:{member_id}:{region}");
        let limit = page_size(requested_page_size, LIST_DEFAULT, LIST_MAX)?;
        let after: Option<String> = self.page_tokens.open(&scope, page_token)?;
        let db = self.changes.db();
        require_region(db, region).await?;
        let mut query = members_table::Entity::find()
            .filter(members_table::Column::MemberId.eq(member_id))
            .filter(members_table::Column::Region.eq(region))
            .filter(members_table::Column::Status.eq(MemberStatus::Invited.as_str()))
            .order_by_asc(members_table::Column::AdministratorId);
        if let Some(after) = after {
            query = query.filter(members_table::Column::AdministratorId.gt(after));
        }
        let mut rows = query.limit(u64::from(limit) + 1).all(db).await?;
        let next = if rows.len() > limit as usize {
            rows.truncate(limit as usize);
            rows.last()
                .map(|last| self.page_tokens.issue(&scope, &last.administrator_id))
                .unwrap_or_default()
        } else {
            String::new()
        };
        Ok((rows.into_iter().map(Member::from).collect(), next))
    }

    /// The number of invitations the caller received in a region that are still Invited.
    pub async fn invitations_count(&self, caller: &Caller, region: &str) -> Result<u64> {
        let member_id = acting(caller)?;
        let db = self.changes.db();
        require_region(db, region).await?;
        Ok(members_table::Entity::find()
            .filter(members_table::Column::MemberId.eq(member_id))
            .filter(members_table::Column::Region.eq(region))
            .filter(members_table::Column::Status.eq(MemberStatus::Invited.as_str()))
            .count(db)
            .await?)
    }

    /// Accepts an invitation: the relationship becomes Enabled.
    pub async fn accept_invitation(&self, caller: &Caller, input: AcceptInvitation) -> Result<()> {
        let member_id = acting(caller)?;
        let region = input.region.as_str();
        let administrator = input.administrator_id.as_str();
        let mut change = self.changes.begin().await?;
        require_region(change.tx(), region).await?;
        require_open_account(change.tx(), member_id).await?;
        require_hub(change.tx(), member_id, region).await?;
        let existing = find_relationship(change.tx(), administrator, region, member_id)
            .await?
            .filter(|row| {
                MemberStatus::from_stored(&row.status) == MemberStatus::Invited
                    && row.invitation_id.as_deref() == Some(input.invitation_id.as_str())
            })
            .ok_or_else(|| {
                Error::not_found(
                    reason::RESOURCE_NOT_FOUND,
                    format!(
                        "there is no pending invitation {} from administrator {administrator} \
                         to account {member_id} in {region}",
                        input.invitation_id
                    ),
                )
            })?;
        if let Some(membership) = enabled_membership(change.tx(), member_id, region).await? {
            return Err(refused(format!(
                "account {member_id} is already a member of administrator {} in {region}; a \
                 member has one administrator per region",
                membership.administrator_id
            )));
        }
        if let Some(role) = administrator_role(change.tx(), member_id, region).await? {
            return Err(refused(format!(
                "{role}; an account cannot be an administrator and a member at once"
            )));
        }
        if let Some(membership) = enabled_membership(change.tx(), administrator, region).await? {
            return Err(refused(format!(
                "administrator {administrator} is itself a member of {} in {region}; an account \
                 cannot be an administrator and a member at once",
                membership.administrator_id
            )));
        }
        // The relationship is Invited (checked above), so accepting always changes it.
        let Ok(Outcome::Change(next, _)) =
            transition(current_of(Some(&existing)), Operation::Accept)
        else {
            return Ok(());
        };
        let now = tributary_runtime::time::now();
        RelationshipWrite::status_of(existing, next)
            .apply(&mut change, now)
            .await?;
        change.commit().await?;
        Ok(())
    }

    /// Declines invitations from the named administrators.
    pub async fn decline_invitations(
        &self,
        caller: &Caller,
        input: AccountList,
    ) -> Result<Vec<Unprocessed>> {
        let member_id = acting(caller)?;
        self.answer_invitations(member_id, input, Side::Member, Operation::Decline)
            .await
    }

    /// Withdraws the caller's invitations to the named members.
    pub async fn delete_invitations(
        &self,
        caller: &Caller,
        input: AccountList,
    ) -> Result<Vec<Unprocessed>> {
        let administrator = acting(caller)?;
        self.answer_invitations(
            administrator,
            input,
            Side::Administrator,
            Operation::WithdrawInvitation,
        )
        .await
    }

    /// Applies a per-account invitation operation: the caller is on `side` of each relationship
    /// and the listed accounts are on the other.
    async fn answer_invitations(
        &self,
        caller_account: &str,
        input: AccountList,
        side: Side,
        operation: Operation,
    ) -> Result<Vec<Unprocessed>> {
        let region = input.region.as_str();
        let mut change = self.changes.begin().await?;
        require_region(change.tx(), region).await?;
        if side == Side::Administrator {
            require_hub(change.tx(), caller_account, region).await?;
        }
        let now = tributary_runtime::time::now();
        let mut unprocessed = Vec::new();
        let mut writes = Vec::new();
        for other in &input.account_ids {
            let (administrator, member) = match side {
                Side::Administrator => (caller_account, other.as_str()),
                Side::Member => (other.as_str(), caller_account),
            };
            let existing = find_relationship(change.tx(), administrator, region, member).await?;
            match (
                transition(current_of(existing.as_ref()), operation),
                existing,
            ) {
                (Ok(Outcome::Change(next, _)), Some(existing)) => {
                    let mut write = RelationshipWrite::status_of(existing, next);
                    if operation == Operation::WithdrawInvitation {
                        write.invitation = InvitationChange::Clear;
                    }
                    writes.push(write);
                }
                (Ok(_), _) => {}
                (Err(_), _) => unprocessed.push(Unprocessed::new(
                    other,
                    match side {
                        Side::Administrator => format!(
                            "there is no outstanding invitation from {administrator} to account \
                             {member} in {region}"
                        ),
                        Side::Member => format!(
                            "there is no pending invitation from administrator {administrator} \
                             in {region}"
                        ),
                    },
                )),
            }
        }
        for write in writes {
            write.apply(&mut change, now).await?;
        }
        change.commit().await?;
        Ok(unprocessed)
    }

    /// Ends the caller's invitation-based membership in a region.
    pub async fn disassociate_from_administrator(
        &self,
        caller: &Caller,
        region: &str,
    ) -> Result<()> {
        let member_id = acting(caller)?;
        let mut change = self.changes.begin().await?;
        require_region(change.tx(), region).await?;
        let membership = enabled_membership(change.tx(), member_id, region)
            .await?
            .ok_or_else(|| {
                Error::not_found(
                    reason::RESOURCE_NOT_FOUND,
                    format!("account {member_id} has no administrator in {region}"),
                )
            })?;
        let next = match transition(
            current_of(Some(&membership)),
            Operation::DisassociateByMember,
        ) {
            Ok(Outcome::Change(next, _)) => next,
            Ok(Outcome::Unchanged) => return Ok(()),
            Err(_) => {
                return Err(refused(format!(
                    "account {member_id} is an organization member of {} in {region}; only the \
                     organization's Security Hub administrator can disassociate it",
                    membership.administrator_id
                )));
            }
        };
        let now = tributary_runtime::time::now();
        RelationshipWrite::status_of(membership, next)
            .apply(&mut change, now)
            .await?;
        change.commit().await?;
        Ok(())
    }

    /// Disassociates members of the caller: Enabled and AccountSuspended relationships become
    /// Removed. Every listed account must be in the member list.
    pub async fn disassociate_members(&self, caller: &Caller, input: AccountList) -> Result<()> {
        let administrator = acting(caller)?;
        let region = input.region.as_str();
        let mut change = self.changes.begin().await?;
        require_region(change.tx(), region).await?;
        require_hub(change.tx(), administrator, region).await?;
        let mut writes = Vec::new();
        for member_id in &input.account_ids {
            let existing = find_relationship(change.tx(), administrator, region, member_id).await?;
            match (
                transition(
                    current_of(existing.as_ref()),
                    Operation::DisassociateByAdministrator,
                ),
                existing,
            ) {
                (Ok(Outcome::Change(next, _)), Some(existing)) => {
                    writes.push(RelationshipWrite::status_of(existing, next));
                }
                (Ok(_), _) => {}
                (Err(refusal), _) => {
                    return Err(Error::not_found(
                        reason::RESOURCE_NOT_FOUND,
                        format!(
                            "{} of {administrator} in {region}",
                            refusal.describe(member_id)
                        ),
                    ));
                }
            }
        }
        let now = tributary_runtime::time::now();
        for write in writes {
            write.apply(&mut change, now).await?;
        }
        change.commit().await?;
        Ok(())
    }

    /// Deletes invitation-based members that are not Enabled.
    pub async fn delete_members(
        &self,
        caller: &Caller,
        input: AccountList,
    ) -> Result<Vec<Unprocessed>> {
        let administrator = acting(caller)?;
        let region = input.region.as_str();
        let mut change = self.changes.begin().await?;
        require_region(change.tx(), region).await?;
        require_hub(change.tx(), administrator, region).await?;
        let mut unprocessed = Vec::new();
        let mut writes = Vec::new();
        for member_id in &input.account_ids {
            let existing = find_relationship(change.tx(), administrator, region, member_id).await?;
            match (
                transition(current_of(existing.as_ref()), Operation::Delete),
                existing,
            ) {
                (Ok(Outcome::Change(next, _)), Some(existing)) => {
                    let mut write = RelationshipWrite::status_of(existing, next);
                    write.invitation = InvitationChange::Clear;
                    writes.push(write);
                }
                (Ok(_), _) => {}
                (Err(refusal), _) => {
                    unprocessed.push(Unprocessed::new(member_id, refusal.describe(member_id)));
                }
            }
        }
        let now = tributary_runtime::time::now();
        for write in writes {
            write.apply(&mut change, now).await?;
        }
        change.commit().await?;
        Ok(unprocessed)
    }

    /// The caller's members in a region, in account id order: only Enabled ones when
    /// `only_associated`, otherwise every status but Deleted.
    pub async fn list_members(
        &self,
        caller: &Caller,
        region: &str,
        only_associated: bool,
        requested_page_size: i32,
        page_token: &str,
    ) -> Result<(Vec<Member>, String)> {
        let administrator = acting(caller)?;
        let scope = format!("ListMembers:{administrator}:{region}:{only_associated}");
        let limit = page_size(requested_page_size, LIST_DEFAULT, LIST_MAX)?;
        let after: Option<String> = self.page_tokens.open(&scope, page_token)?;
        let db = self.changes.db();
        require_region(db, region).await?;
        require_hub(db, administrator, region).await?;
        let mut query = members_table::Entity::find()
            .filter(members_table::Column::AdministratorId.eq(administrator))
            .filter(members_table::Column::Region.eq(region))
            .order_by_asc(members_table::Column::MemberId);
        query = if only_associated {
            query.filter(members_table::Column::Status.eq(MemberStatus::Enabled.as_str()))
        } else {
            query.filter(members_table::Column::Status.ne(MemberStatus::Deleted.as_str()))
        };
        if let Some(after) = after {
            query = query.filter(members_table::Column::MemberId.gt(after));
        }
        let mut rows = query.limit(u64::from(limit) + 1).all(db).await?;
        let next = if rows.len() > limit as usize {
            rows.truncate(limit as usize);
            rows.last()
                .map(|last| self.page_tokens.issue(&scope, &last.member_id))
                .unwrap_or_default()
        } else {
            String::new()
        };
        Ok((rows.into_iter().map(Member::from).collect(), next))
    }

    /// The named members of the caller (any status but Deleted), and the accounts that are not.
    pub async fn get_members(
        &self,
        caller: &Caller,
        input: AccountList,
    ) -> Result<(Vec<Member>, Vec<Unprocessed>)> {
        let administrator = acting(caller)?;
        let region = input.region.as_str();
        let db = self.changes.db();
        require_region(db, region).await?;
        require_hub(db, administrator, region).await?;
        let mut members = Vec::new();
        let mut unprocessed = Vec::new();
        for member_id in &input.account_ids {
            match find_relationship(db, administrator, region, member_id)
                .await?
                .filter(|row| MemberStatus::from_stored(&row.status) != MemberStatus::Deleted)
            {
                Some(row) => members.push(Member::from(row)),
                None => unprocessed.push(Unprocessed::new(
                    member_id,
                    format!("account {member_id} is not a member of {administrator} in {region}"),
                )),
            }
        }
        Ok((members, unprocessed))
    }

    /// The caller's Enabled relationship with its administrator in a region, if any.
    pub async fn administrator(&self, caller: &Caller, region: &str) -> Result<Option<Member>> {
        let member_id = acting(caller)?;
        let db = self.changes.db();
        require_region(db, region).await?;
        Ok(enabled_membership(db, member_id, region)
            .await?
            .map(Member::from))
    }
}

/// Which side of a relationship the caller is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Administrator,
    Member,
}
