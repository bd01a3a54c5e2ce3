//! The member relationship state machine (AWS Security Hub `MemberStatus`): which operation moves a
//! relationship from which status to which, and why an operation is refused.

/// The status of an administrator/member relationship, stored under its AWS name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MemberStatus {
    /// Added by the administrator, not invited (or the invitation was withdrawn).
    Created,
    /// Invited, no answer yet.
    Invited,
    /// An active member (the legacy AWS name is "Associated").
    Enabled,
    /// Disassociated by the administrator, or its organization relationship ended.
    Removed,
    /// The member left, or declined the invitation.
    Resigned,
    /// Deleted by the administrator; no longer in its member list.
    Deleted,
    /// An organization account that was suspended when the administrator enabled it.
    AccountSuspended,
}

impl MemberStatus {
    /// Every status, in the order of the API enum.
    pub const ALL: [MemberStatus; 7] = [
        MemberStatus::Created,
        MemberStatus::Invited,
        MemberStatus::Enabled,
        MemberStatus::Removed,
        MemberStatus::Resigned,
        MemberStatus::Deleted,
        MemberStatus::AccountSuspended,
    ];

    /// The AWS name, which is also the stored value.
    pub fn as_str(self) -> &'static str {
        match self {
            MemberStatus::Created => "Created",
            MemberStatus::Invited => "Invited",
            MemberStatus::Enabled => "Enabled",
            MemberStatus::Removed => "Removed",
            MemberStatus::Resigned => "Resigned",
            MemberStatus::Deleted => "Deleted",
            MemberStatus::AccountSuspended => "AccountSuspended",
        }
    }

    /// Parses a stored name. "Associated", the legacy name of `Enabled`, is accepted too.
    pub fn parse(stored: &str) -> Option<Self> {
        if stored == "Associated" {
            return Some(MemberStatus::Enabled);
        }
        Self::ALL
            .into_iter()
            .find(|status| status.as_str() == stored)
    }

    /// Parses a stored name; a value this version does not know reads as `Deleted`, which grants
    /// nothing.
    pub fn from_stored(stored: &str) -> Self {
        Self::parse(stored).unwrap_or(MemberStatus::Deleted)
    }

    /// True for the statuses that take one of the administrator's member slots: the account is a
    /// member, or on its way to becoming one.
    pub fn counts_toward_member_limit(self) -> bool {
        matches!(
            self,
            MemberStatus::Created
                | MemberStatus::Invited
                | MemberStatus::Enabled
                | MemberStatus::AccountSuspended
        )
    }
}

impl std::fmt::Display for MemberStatus {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// How a relationship was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RelationshipType {
    /// The organization's Security Hub administrator enabled an account of its organization.
    Organization,
    /// The administrator invited the account.
    Invitation,
}

impl RelationshipType {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            RelationshipType::Organization => "ORGANIZATION",
            RelationshipType::Invitation => "INVITATION",
        }
    }

    /// Parses a stored name; anything else reads as an invitation relationship.
    pub fn from_stored(stored: &str) -> Self {
        if stored == "ORGANIZATION" {
            RelationshipType::Organization
        } else {
            RelationshipType::Invitation
        }
    }
}

/// What happens to a relationship.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// The organization's Security Hub administrator adds an account of its organization
    /// (`CreateMembers`, or auto-enable when the account joins). `suspended` when the account is
    /// suspended right now.
    EnableOrganizationAccount { suspended: bool },
    /// An administrator adds an account to be invited (`CreateMembers`).
    CreateInvitationMember,
    /// `InviteMembers`.
    Invite,
    /// `AcceptAdministratorInvitation` by the member.
    Accept,
    /// `DeclineInvitations` by the member.
    Decline,
    /// `DeleteInvitations` by the administrator: the invitation is withdrawn.
    WithdrawInvitation,
    /// `DisassociateMembers` by the administrator.
    DisassociateByAdministrator,
    /// `DisassociateFromAdministratorAccount` by the member.
    DisassociateByMember,
    /// `DeleteMembers` by the administrator.
    Delete,
    /// The member left the organization, or the organization administrator designation ended.
    EndOrganizationRelationship,
    /// The member account was closed.
    MemberClosed,
    /// The administrator disabled its hub or was closed: its member list goes away.
    AdministratorGone,
}

/// The result of applying an operation to a relationship.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The relationship moves to this status and type.
    Change(MemberStatus, RelationshipType),
    /// Nothing changes (the operation does not apply to the current status, harmlessly).
    Unchanged,
}

/// Why an operation is refused for one relationship.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The account is not in the administrator's member list (no relationship, or `Deleted`).
    NotAMember,
    /// The account is already in the member list with this status.
    AlreadyMember(MemberStatus),
    /// The invitation-based account is `Removed` or `Resigned`: invite it again instead of
    /// creating it.
    InviteAgain(MemberStatus),
    /// There is no pending invitation.
    NoInvitation,
    /// Organization relationships are not invited, deleted, or left by the member.
    OrganizationRelationship,
    /// The member is `Enabled`: disassociate it first.
    DisassociateFirst,
    /// The organization account is still suspended.
    StillSuspended,
}

impl Refusal {
    /// A sentence about `account_id` for `UnprocessedAccount.processing_result` and errors.
    pub fn describe(self, account_id: &str) -> String {
        match self {
            Refusal::NotAMember => format!("account {account_id} is not a member"),
            Refusal::AlreadyMember(status) => {
                format!("account {account_id} is already a member ({status})")
            }
            Refusal::InviteAgain(status) => format!(
                "account {account_id} is already in the member list ({status}); invite it again with InviteMembers"
            ),
            Refusal::NoInvitation => {
                format!("there is no pending invitation for account {account_id}")
            }
            Refusal::OrganizationRelationship => format!(
                "account {account_id} is an organization member; organization members are enabled \
                 and disassociated by the organization's Security Hub administrator, not invited, \
                 deleted or resigned"
            ),
            Refusal::DisassociateFirst => format!(
                "account {account_id} is an Enabled member; disassociate it before deleting it"
            ),
            Refusal::StillSuspended => format!("account {account_id} is still suspended"),
        }
    }
}

/// Applies `operation` to a relationship currently in `current` (none when the administrator has
/// no relationship with the account). This is the AWS transition table:
///
/// | from | operation | to |
/// |---|---|---|
/// | none, Deleted | CreateMembers (invitation) | Created |
/// | any but Enabled | CreateMembers (organization account, by its administrator) | Enabled (AccountSuspended when suspended) |
/// | Created, Removed, Resigned (invitation) | InviteMembers | Invited |
/// | Invited | AcceptAdministratorInvitation | Enabled |
/// | Invited | DeclineInvitations | Resigned |
/// | Invited | DeleteInvitations | Created |
/// | Enabled, AccountSuspended | DisassociateMembers | Removed |
/// | Enabled (invitation) | DisassociateFromAdministratorAccount | Resigned |
/// | Created, Invited, Removed, Resigned (invitation) | DeleteMembers | Deleted |
/// | organization, not Removed | leaves the organization / designation ends | Removed |
/// | Created, Invited, Enabled, AccountSuspended | member account closed | Removed |
/// | any but Deleted | administrator disables its hub or is closed | Deleted |
pub fn transition(
    current: Option<(MemberStatus, RelationshipType)>,
    operation: Operation,
) -> Result<Outcome, Refusal> {
    use MemberStatus::*;
    use Outcome::{Change, Unchanged};
    use RelationshipType::{Invitation, Organization};

    // A deleted relationship is, for every purpose but history, no relationship.
    let current = current.filter(|(status, _)| *status != Deleted);
    match operation {
        Operation::EnableOrganizationAccount { suspended } => {
            let target = if suspended { AccountSuspended } else { Enabled };
            match current {
                Some((Enabled, _)) => Err(Refusal::AlreadyMember(Enabled)),
                Some((AccountSuspended, _)) if suspended => Err(Refusal::StillSuspended),
                _ => Ok(Change(target, Organization)),
            }
        }
        Operation::CreateInvitationMember => match current {
            None => Ok(Change(Created, Invitation)),
            Some((status @ (Removed | Resigned), Invitation)) => Err(Refusal::InviteAgain(status)),
            // A former organization member outside the organization now: start over by invitation.
            Some((Removed | Resigned, Organization)) => Ok(Change(Created, Invitation)),
            Some((status, _)) => Err(Refusal::AlreadyMember(status)),
        },
        Operation::Invite => match current {
            None => Err(Refusal::NotAMember),
            Some((_, Organization)) => Err(Refusal::OrganizationRelationship),
            Some((Created | Removed | Resigned, Invitation)) => Ok(Change(Invited, Invitation)),
            Some((status, Invitation)) => Err(Refusal::AlreadyMember(status)),
        },
        Operation::Accept => match current {
            Some((Invited, kind)) => Ok(Change(Enabled, kind)),
            _ => Err(Refusal::NoInvitation),
        },
        Operation::Decline => match current {
            Some((Invited, kind)) => Ok(Change(Resigned, kind)),
            _ => Err(Refusal::NoInvitation),
        },
        Operation::WithdrawInvitation => match current {
            Some((Invited, kind)) => Ok(Change(Created, kind)),
            _ => Err(Refusal::NoInvitation),
        },
        Operation::DisassociateByAdministrator => match current {
            None => Err(Refusal::NotAMember),
            Some((Enabled | AccountSuspended, kind)) => Ok(Change(Removed, kind)),
            Some(_) => Ok(Unchanged),
        },
        Operation::DisassociateByMember => match current {
            Some((Enabled, Invitation)) => Ok(Change(Resigned, Invitation)),
            Some((Enabled, Organization)) => Err(Refusal::OrganizationRelationship),
            _ => Err(Refusal::NotAMember),
        },
        Operation::Delete => match current {
            None => Err(Refusal::NotAMember),
            Some((_, Organization)) => Err(Refusal::OrganizationRelationship),
            Some((Enabled, Invitation)) => Err(Refusal::DisassociateFirst),
            Some((_, Invitation)) => Ok(Change(Deleted, Invitation)),
        },
        Operation::EndOrganizationRelationship => match current {
            Some((Removed, _)) | None | Some((_, Invitation)) => Ok(Unchanged),
            Some((_, Organization)) => Ok(Change(Removed, Organization)),
        },
        Operation::MemberClosed => match current {
            Some((Created | Invited | Enabled | AccountSuspended, kind)) => {
                Ok(Change(Removed, kind))
            }
            _ => Ok(Unchanged),
        },
        Operation::AdministratorGone => match current {
            Some((_, kind)) => Ok(Change(Deleted, kind)),
            None => Ok(Unchanged),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use MemberStatus::*;
    use RelationshipType::{Invitation, Organization};

    fn apply(
        current: Option<(MemberStatus, RelationshipType)>,
        operation: Operation,
    ) -> Result<Outcome, Refusal> {
        transition(current, operation)
    }

    #[test]
    fn stored_names_round_trip_and_accept_the_legacy_name() {
        for status in MemberStatus::ALL {
            assert_eq!(MemberStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(MemberStatus::parse("Associated"), Some(Enabled));
        assert_eq!(MemberStatus::parse("ENABLED"), None);
        assert_eq!(MemberStatus::from_stored("garbage"), Deleted);
        assert_eq!(
            RelationshipType::from_stored(Organization.as_str()),
            Organization
        );
        assert_eq!(
            RelationshipType::from_stored(Invitation.as_str()),
            Invitation
        );
    }

    #[test]
    fn the_invitation_lifecycle_follows_the_aws_table() {
        let created = apply(None, Operation::CreateInvitationMember).unwrap();
        assert_eq!(created, Outcome::Change(Created, Invitation));
        assert_eq!(
            apply(Some((Created, Invitation)), Operation::Invite).unwrap(),
            Outcome::Change(Invited, Invitation)
        );
        assert_eq!(
            apply(Some((Invited, Invitation)), Operation::Accept).unwrap(),
            Outcome::Change(Enabled, Invitation)
        );
        assert_eq!(
            apply(Some((Invited, Invitation)), Operation::Decline).unwrap(),
            Outcome::Change(Resigned, Invitation)
        );
        assert_eq!(
            apply(Some((Invited, Invitation)), Operation::WithdrawInvitation).unwrap(),
            Outcome::Change(Created, Invitation)
        );
        assert_eq!(
            apply(
                Some((Enabled, Invitation)),
                Operation::DisassociateByAdministrator
            )
            .unwrap(),
            Outcome::Change(Removed, Invitation)
        );
        assert_eq!(
            apply(Some((Enabled, Invitation)), Operation::DisassociateByMember).unwrap(),
            Outcome::Change(Resigned, Invitation)
        );
        for again in [Removed, Resigned] {
            assert_eq!(
                apply(Some((again, Invitation)), Operation::Invite).unwrap(),
                Outcome::Change(Invited, Invitation)
            );
            assert_eq!(
                apply(Some((again, Invitation)), Operation::CreateInvitationMember),
                Err(Refusal::InviteAgain(again))
            );
        }
        for deletable in [Created, Invited, Removed, Resigned] {
            assert_eq!(
                apply(Some((deletable, Invitation)), Operation::Delete).unwrap(),
                Outcome::Change(Deleted, Invitation)
            );
        }
        assert_eq!(
            apply(Some((Enabled, Invitation)), Operation::Delete),
            Err(Refusal::DisassociateFirst)
        );
        // Deleted means starting over from scratch.
        assert_eq!(
            apply(
                Some((Deleted, Invitation)),
                Operation::CreateInvitationMember
            )
            .unwrap(),
            Outcome::Change(Created, Invitation)
        );
        assert_eq!(
            apply(Some((Deleted, Invitation)), Operation::Invite),
            Err(Refusal::NotAMember)
        );
    }

    #[test]
    fn only_pending_invitations_can_be_answered_or_withdrawn() {
        for operation in [
            Operation::Accept,
            Operation::Decline,
            Operation::WithdrawInvitation,
        ] {
            for status in [
                None,
                Some((Created, Invitation)),
                Some((Enabled, Invitation)),
                Some((Removed, Invitation)),
                Some((Resigned, Invitation)),
                Some((Deleted, Invitation)),
                Some((Enabled, Organization)),
            ] {
                assert_eq!(
                    apply(status, operation),
                    Err(Refusal::NoInvitation),
                    "{operation:?} from {status:?}"
                );
            }
        }
    }

    #[test]
    fn organization_accounts_are_enabled_directly_and_never_invited() {
        for from in [
            None,
            Some((Deleted, Invitation)),
            Some((Removed, Organization)),
            Some((Resigned, Invitation)),
            Some((Created, Invitation)),
            Some((AccountSuspended, Organization)),
        ] {
            assert_eq!(
                apply(
                    from,
                    Operation::EnableOrganizationAccount { suspended: false }
                )
                .unwrap(),
                Outcome::Change(Enabled, Organization),
                "from {from:?}"
            );
        }
        assert_eq!(
            apply(
                None,
                Operation::EnableOrganizationAccount { suspended: true }
            )
            .unwrap(),
            Outcome::Change(AccountSuspended, Organization)
        );
        assert_eq!(
            apply(
                Some((AccountSuspended, Organization)),
                Operation::EnableOrganizationAccount { suspended: true }
            ),
            Err(Refusal::StillSuspended)
        );
        assert_eq!(
            apply(
                Some((Enabled, Organization)),
                Operation::EnableOrganizationAccount { suspended: false }
            ),
            Err(Refusal::AlreadyMember(Enabled))
        );
        for operation in [
            Operation::Invite,
            Operation::Delete,
            Operation::DisassociateByMember,
        ] {
            assert_eq!(
                apply(Some((Enabled, Organization)), operation),
                Err(Refusal::OrganizationRelationship),
                "{operation:?}"
            );
        }
        assert_eq!(
            apply(
                Some((AccountSuspended, Organization)),
                Operation::DisassociateByAdministrator
            )
            .unwrap(),
            Outcome::Change(Removed, Organization)
        );
    }

    #[test]
    fn leaving_the_organization_removes_only_organization_relationships() {
        assert_eq!(
            apply(
                Some((Enabled, Organization)),
                Operation::EndOrganizationRelationship
            )
            .unwrap(),
            Outcome::Change(Removed, Organization)
        );
        assert_eq!(
            apply(
                Some((Enabled, Invitation)),
                Operation::EndOrganizationRelationship
            )
            .unwrap(),
            Outcome::Unchanged
        );
        assert_eq!(
            apply(
                Some((Removed, Organization)),
                Operation::EndOrganizationRelationship
            )
            .unwrap(),
            Outcome::Unchanged
        );
    }

    #[test]
    fn closing_and_administrators_going_away_end_relationships() {
        assert_eq!(
            apply(Some((Enabled, Invitation)), Operation::MemberClosed).unwrap(),
            Outcome::Change(Removed, Invitation)
        );
        assert_eq!(
            apply(Some((Resigned, Invitation)), Operation::MemberClosed).unwrap(),
            Outcome::Unchanged
        );
        assert_eq!(
            apply(Some((Resigned, Invitation)), Operation::AdministratorGone).unwrap(),
            Outcome::Change(Deleted, Invitation)
        );
        assert_eq!(
            apply(Some((Deleted, Invitation)), Operation::AdministratorGone).unwrap(),
            Outcome::Unchanged
        );
    }

    #[test]
    fn administrators_disassociate_idempotently_but_not_strangers() {
        assert_eq!(
            apply(None, Operation::DisassociateByAdministrator),
            Err(Refusal::NotAMember)
        );
        for status in [Created, Invited, Removed, Resigned] {
            assert_eq!(
                apply(
                    Some((status, Invitation)),
                    Operation::DisassociateByAdministrator
                )
                .unwrap(),
                Outcome::Unchanged
            );
        }
    }

    #[test]
    fn only_member_limit_statuses_count() {
        let counted: Vec<_> = MemberStatus::ALL
            .into_iter()
            .filter(|status| status.counts_toward_member_limit())
            .collect();
        assert_eq!(counted, [Created, Invited, Enabled, AccountSuspended]);
    }

    #[test]
    fn refusals_name_the_account() {
        for refusal in [
            Refusal::NotAMember,
            Refusal::AlreadyMember(Enabled),
            Refusal::InviteAgain(Removed),
            Refusal::NoInvitation,
            Refusal::OrganizationRelationship,
            Refusal::DisassociateFirst,
            Refusal::StillSuspended,
        ] {
            assert!(refusal.describe("111111111111").contains("111111111111"));
        }
    }
}
