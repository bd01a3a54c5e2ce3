//! Security Hub enablement and the administrator/member model, per account and region: which hubs
//! are enabled, which accounts administer which members (by organization or by invitation), and
//! each organization's Security Hub administrator. The entitlement resolver reads these
//! relationships through [`hub_enabled`], [`administrator_of`], [`member_relationships`] and
//! [`is_member`]; the directory calls [`on_account_joined`], [`on_account_left`] and
//! [`on_account_closed`] inside its own transactions.

mod hubs;
pub mod inputs;
mod members;
mod organization;
pub mod status;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, ModelTrait,
    PaginatorTrait, QueryFilter, QueryOrder, Statement,
};
use tributary_runtime::{auth::Caller, paging::PageTokens};

use crate::{
    config::SecurityHubLimits,
    error::{Error, Result},
    events::{ChangeTx, Changes, Event},
    organizations::{AccountStatus, acting_account, find_account},
    store::{
        accounts, securityhub_hubs as hubs_table, securityhub_members as members_table,
        securityhub_organization_admins as admins_table,
    },
};

pub use inputs::{AutoEnableStandards, ControlFindingGenerator, hub_arn};
pub use status::{MemberStatus, Operation, Outcome, Refusal, RelationshipType, transition};

/// AWS exception names of Security Hub.
pub mod reason {
    /// Bad input, or relationships that forbid the call.
    pub const INVALID_INPUT: &str = "InvalidInputException";
    /// The caller's hub is not enabled (or the account may not use the region).
    pub const INVALID_ACCESS: &str = "InvalidAccessException";
    /// The hub is already enabled, or another administrator is designated.
    pub const RESOURCE_CONFLICT: &str = "ResourceConflictException";
    /// A named resource does not exist.
    pub const RESOURCE_NOT_FOUND: &str = "ResourceNotFoundException";
    /// A quota would be exceeded.
    pub const LIMIT_EXCEEDED: &str = "LimitExceededException";
}

/// The service principal of Security Hub in organizations.
pub const SERVICE_PRINCIPAL: &str = "securityhub.amazonaws.com";

/// The settings-table entry that keeps the configured members limit, so hooks the directory calls
/// (which do not see the configuration) apply the same limit.
const MEMBERS_LIMIT_SETTING: &str = "securityhub.members_per_administrator";

/// One account's hub in one region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hub {
    pub account_id: String,
    pub region: String,
    pub subscribed_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub auto_enable_controls: bool,
    pub control_finding_generator: ControlFindingGenerator,
    pub default_standards_enabled: bool,
    pub tags: BTreeMap<String, String>,
}

impl Hub {
    /// "arn:aws:securityhub:<region>:<account id>:hub/default".
    pub fn arn(&self) -> String {
        hub_arn(&self.region, &self.account_id)
    }
}

impl From<hubs_table::Model> for Hub {
    fn from(row: hubs_table::Model) -> Self {
        Self {
            tags: serde_json::from_str(&row.tags).unwrap_or_default(),
            control_finding_generator: ControlFindingGenerator::from_stored(
                &row.control_finding_generator,
            ),
            account_id: row.account_id,
            region: row.region,
            subscribed_at: row.subscribed_at,
            updated_at: row.updated_at,
            auto_enable_controls: row.auto_enable_controls,
            default_standards_enabled: row.default_standards_enabled,
        }
    }
}

/// An administrator/member relationship as either side sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub account_id: String,
    pub email: String,
    pub administrator_id: String,
    pub region: String,
    pub status: MemberStatus,
    pub relationship_type: RelationshipType,
    pub invitation_id: Option<String>,
    pub invited_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
}

impl From<members_table::Model> for Member {
    fn from(row: members_table::Model) -> Self {
        Self {
            status: MemberStatus::from_stored(&row.status),
            relationship_type: RelationshipType::from_stored(&row.relationship_type),
            account_id: row.member_id,
            email: row.email,
            administrator_id: row.administrator_id,
            region: row.region,
            invitation_id: row.invitation_id,
            invited_at: row.invited_at,
            updated_at: row.updated_at,
        }
    }
}

/// An account a per-account call did not process, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unprocessed {
    pub account_id: String,
    pub processing_result: String,
}

impl Unprocessed {
    fn new(account_id: &str, processing_result: impl Into<String>) -> Self {
        Self {
            account_id: account_id.to_string(),
            processing_result: processing_result.into(),
        }
    }
}

/// An organization's Security Hub configuration in one region.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrganizationConfiguration {
    pub auto_enable: bool,
    pub auto_enable_standards: AutoEnableStandards,
    pub member_account_limit_reached: bool,
}

/// One relationship of an administrator, for the entitlement resolver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberRelationship {
    pub member_id: String,
    pub region: String,
    pub status: MemberStatus,
}

/// True when the account has the hub enabled in the region.
pub async fn hub_enabled(
    db: &impl ConnectionTrait,
    account_id: &str,
    region: &str,
) -> Result<bool> {
    Ok(find_hub(db, account_id, region).await?.is_some())
}

/// The account's administrator in the region when the relationship is Enabled.
pub async fn administrator_of(
    db: &impl ConnectionTrait,
    account_id: &str,
    region: &str,
) -> Result<Option<String>> {
    Ok(enabled_membership(db, account_id, region)
        .await?
        .map(|row| row.administrator_id))
}

/// Every relationship (any status) where `administrator_id` is the administrator, across regions,
/// ordered by region then member.
pub async fn member_relationships(
    db: &impl ConnectionTrait,
    administrator_id: &str,
) -> Result<Vec<MemberRelationship>> {
    let rows = members_table::Entity::find()
        .filter(members_table::Column::AdministratorId.eq(administrator_id))
        .order_by_asc(members_table::Column::Region)
        .order_by_asc(members_table::Column::MemberId)
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|row| MemberRelationship {
            status: MemberStatus::from_stored(&row.status),
            member_id: row.member_id,
            region: row.region,
        })
        .collect())
}

/// True when the account is an Enabled member of some administrator in the region.
pub async fn is_member(db: &impl ConnectionTrait, account_id: &str, region: &str) -> Result<bool> {
    Ok(enabled_membership(db, account_id, region).await?.is_some())
}

/// The number of hubs enabled in a region, by any account.
pub async fn hubs_in_region(db: &impl ConnectionTrait, region: &str) -> Result<u64> {
    Ok(hubs_table::Entity::find()
        .filter(hubs_table::Column::Region.eq(region))
        .count(db)
        .await?)
}

/// Security Hub enablement and administrator/member relationships.
pub struct SecurityHub {
    changes: Changes,
    page_tokens: PageTokens,
    limits: SecurityHubLimits,
}

impl SecurityHub {
    /// The domain behind `changes`, applying `limits`. Stores the members limit in the settings
    /// table so that organization hooks apply it too.
    pub async fn open(
        changes: Changes,
        page_tokens: PageTokens,
        limits: SecurityHubLimits,
    ) -> Result<Self> {
        store_members_limit(changes.db(), limits.members_per_administrator).await?;
        Ok(Self {
            changes,
            page_tokens,
            limits,
        })
    }
}

/// The account a Security Hub call acts as; operators and services have none.
fn acting(caller: &Caller) -> Result<&str> {
    acting_account(caller).ok_or_else(|| {
        Error::access_denied(
            "Security Hub calls act as an account: use an ACCOUNT or ORGANIZATION_MANAGEMENT key",
        )
    })
}

fn invalid_access(message: impl Into<String>) -> Error {
    Error::failed_precondition(reason::INVALID_ACCESS, message)
}

fn refused(message: impl Into<String>) -> Error {
    Error::failed_precondition(reason::INVALID_INPUT, message)
}

async fn find_hub(
    db: &impl ConnectionTrait,
    account_id: &str,
    region: &str,
) -> Result<Option<hubs_table::Model>> {
    Ok(
        hubs_table::Entity::find_by_id((account_id.to_string(), region.to_string()))
            .one(db)
            .await?,
    )
}

/// The caller's hub, or `InvalidAccessException` (FAILED_PRECONDITION).
async fn require_hub(
    db: &impl ConnectionTrait,
    account_id: &str,
    region: &str,
) -> Result<hubs_table::Model> {
    find_hub(db, account_id, region).await?.ok_or_else(|| {
        invalid_access(format!(
            "Account {account_id} is not subscribed to AWS Security Hub in {region}; call \
             EnableSecurityHub first"
        ))
    })
}

async fn find_relationship(
    db: &impl ConnectionTrait,
    administrator_id: &str,
    region: &str,
    member_id: &str,
) -> Result<Option<members_table::Model>> {
    Ok(members_table::Entity::find_by_id((
        administrator_id.to_string(),
        region.to_string(),
        member_id.to_string(),
    ))
    .one(db)
    .await?)
}

/// The relationship in which the account is an Enabled member in the region.
async fn enabled_membership(
    db: &impl ConnectionTrait,
    member_id: &str,
    region: &str,
) -> Result<Option<members_table::Model>> {
    Ok(members_table::Entity::find()
        .filter(members_table::Column::MemberId.eq(member_id))
        .filter(members_table::Column::Region.eq(region))
        .filter(members_table::Column::Status.eq(MemberStatus::Enabled.as_str()))
        .order_by_asc(members_table::Column::AdministratorId)
        .one(db)
        .await?)
}

/// The organization designation that makes the account its organization's Security Hub
/// administrator in the region. A designation counts only while the account is still in that
/// organization.
async fn current_designation(
    db: &impl ConnectionTrait,
    account_id: &str,
    region: &str,
) -> Result<Option<admins_table::Model>> {
    let Some(account) = find_account(db, account_id).await? else {
        return Ok(None);
    };
    let Some(organization_id) = account.organization_id else {
        return Ok(None);
    };
    Ok(
        admins_table::Entity::find_by_id((organization_id, region.to_string()))
            .one(db)
            .await?
            .filter(|designation| designation.admin_account_id == account_id),
    )
}

/// The organization's designation in the region, whoever holds it.
async fn designation_of(
    db: &impl ConnectionTrait,
    organization_id: &str,
    region: &str,
) -> Result<Option<admins_table::Model>> {
    Ok(
        admins_table::Entity::find_by_id((organization_id.to_string(), region.to_string()))
            .one(db)
            .await?,
    )
}

/// Why the account counts as an administrator in the region, if it does: it is its
/// organization's designated administrator, or it has Enabled members.
async fn administrator_role(
    db: &impl ConnectionTrait,
    account_id: &str,
    region: &str,
) -> Result<Option<String>> {
    if current_designation(db, account_id, region).await?.is_some() {
        return Ok(Some(format!(
            "account {account_id} is its organization's Security Hub administrator in {region}"
        )));
    }
    let enabled_members =
        count_with_status(db, account_id, region, &[MemberStatus::Enabled]).await?;
    if enabled_members > 0 {
        return Ok(Some(format!(
            "account {account_id} administers {enabled_members} Enabled member(s) in {region}"
        )));
    }
    Ok(None)
}

/// How many of an administrator's relationships in the region have one of `statuses`.
async fn count_with_status(
    db: &impl ConnectionTrait,
    administrator_id: &str,
    region: &str,
    statuses: &[MemberStatus],
) -> Result<u64> {
    Ok(members_table::Entity::find()
        .filter(members_table::Column::AdministratorId.eq(administrator_id))
        .filter(members_table::Column::Region.eq(region))
        .filter(
            members_table::Column::Status
                .is_in(statuses.iter().map(|status| status.as_str().to_string())),
        )
        .count(db)
        .await?)
}

/// The administrator's relationships that take a member slot in the region.
async fn count_members(
    db: &impl ConnectionTrait,
    administrator_id: &str,
    region: &str,
) -> Result<u64> {
    let counted: Vec<MemberStatus> = MemberStatus::ALL
        .into_iter()
        .filter(|status| status.counts_toward_member_limit())
        .collect();
    count_with_status(db, administrator_id, region, &counted).await
}

/// How a relationship write treats the invitation columns.
#[derive(Debug, Clone)]
enum InvitationChange {
    Keep,
    New {
        invitation_id: String,
        at: DateTime<Utc>,
    },
    Clear,
}

/// One planned relationship write: computed while checking, applied after every check passed.
#[derive(Debug, Clone)]
struct RelationshipWrite {
    administrator_id: String,
    region: String,
    member_id: String,
    existing: Option<members_table::Model>,
    status: MemberStatus,
    relationship_type: RelationshipType,
    organization_id: Option<String>,
    email: Option<String>,
    invitation: InvitationChange,
}

impl RelationshipWrite {
    /// A write that moves `existing` (or a new row) to `status` and `relationship_type`.
    fn new(
        administrator_id: &str,
        region: &str,
        member_id: &str,
        existing: Option<members_table::Model>,
        status: MemberStatus,
        relationship_type: RelationshipType,
    ) -> Self {
        Self {
            administrator_id: administrator_id.to_string(),
            region: region.to_string(),
            member_id: member_id.to_string(),
            existing,
            status,
            relationship_type,
            organization_id: None,
            email: None,
            invitation: InvitationChange::Keep,
        }
    }

    /// The write for `existing` moved to `status`, keeping its type and other columns.
    fn status_of(existing: members_table::Model, status: MemberStatus) -> Self {
        Self {
            administrator_id: existing.administrator_id.clone(),
            region: existing.region.clone(),
            member_id: existing.member_id.clone(),
            status,
            relationship_type: RelationshipType::from_stored(&existing.relationship_type),
            organization_id: existing.organization_id.clone(),
            email: None,
            invitation: InvitationChange::Keep,
            existing: Some(existing),
        }
    }

    /// True when the write adds a member slot the administrator did not use before.
    fn takes_new_slot(&self) -> bool {
        let before = self
            .existing
            .as_ref()
            .map(|row| MemberStatus::from_stored(&row.status))
            .is_some_and(MemberStatus::counts_toward_member_limit);
        !before && self.status.counts_toward_member_limit()
    }

    /// True when the write sends a new invitation.
    fn sends_invitation(&self) -> bool {
        matches!(self.invitation, InvitationChange::New { .. })
    }

    /// Applies the write and records the event. An account that becomes an Enabled member loses
    /// the finding aggregator it owned in that region: members inherit their administrator's.
    async fn apply(self, change: &mut ChangeTx, now: DateTime<Utc>) -> Result<()> {
        let was_enabled = self
            .existing
            .as_ref()
            .is_some_and(|row| MemberStatus::from_stored(&row.status) == MemberStatus::Enabled);
        if self.status == MemberStatus::Enabled && !was_enabled {
            crate::finding_aggregators::on_became_member(change, &self.member_id, &self.region)
                .await?;
        }
        let (invitation_id, invited_at) = match &self.invitation {
            InvitationChange::Keep => match &self.existing {
                Some(row) => (row.invitation_id.clone(), row.invited_at),
                None => (None, None),
            },
            InvitationChange::New { invitation_id, at } => (Some(invitation_id.clone()), Some(*at)),
            InvitationChange::Clear => (None, None),
        };
        let organization_id = match self.relationship_type {
            RelationshipType::Organization => self.organization_id.clone(),
            RelationshipType::Invitation => None,
        };
        match self.existing {
            Some(row) => {
                let email = self.email.clone().unwrap_or_else(|| row.email.clone());
                let mut active: members_table::ActiveModel = row.into();
                active.status = Set(self.status.as_str().to_string());
                active.relationship_type = Set(self.relationship_type.as_str().to_string());
                active.organization_id = Set(organization_id.clone());
                active.email = Set(email);
                active.invitation_id = Set(invitation_id);
                active.invited_at = Set(invited_at);
                active.updated_at = Set(now);
                active.update(change.tx()).await?;
            }
            None => {
                members_table::ActiveModel {
                    administrator_id: Set(self.administrator_id.clone()),
                    region: Set(self.region.clone()),
                    member_id: Set(self.member_id.clone()),
                    relationship_type: Set(self.relationship_type.as_str().to_string()),
                    organization_id: Set(organization_id.clone()),
                    email: Set(self.email.clone().unwrap_or_default()),
                    status: Set(self.status.as_str().to_string()),
                    invitation_id: Set(invitation_id),
                    invited_at: Set(invited_at),
                    created_at: Set(now),
                    updated_at: Set(now),
                }
                .insert(change.tx())
                .await?;
            }
        }
        let kind = if self.status == MemberStatus::Deleted {
            "member.deleted"
        } else {
            "member.status_changed"
        };
        let mut event = Event::new(kind)
            .account(&self.member_id)
            .region(&self.region)
            .related(&self.administrator_id);
        if let Some(organization_id) = organization_id {
            event = event.organization(organization_id);
        }
        change.record(event);
        Ok(())
    }
}

/// Settings for a hub enabled on an account's behalf (organization enablement and designation).
#[derive(Debug, Clone, Copy)]
struct HubSettings {
    default_standards: bool,
    control_finding_generator: ControlFindingGenerator,
}

/// Enables the hub of `account_id` in `region` and records `hub.enabled`.
async fn insert_hub(
    change: &mut ChangeTx,
    account_id: &str,
    region: &str,
    settings: HubSettings,
    tags: &BTreeMap<String, String>,
    now: DateTime<Utc>,
) -> Result<hubs_table::Model> {
    let row = hubs_table::ActiveModel {
        account_id: Set(account_id.to_string()),
        region: Set(region.to_string()),
        subscribed_at: Set(now),
        updated_at: Set(now),
        auto_enable_controls: Set(true),
        control_finding_generator: Set(settings.control_finding_generator.as_str().to_string()),
        default_standards_enabled: Set(settings.default_standards),
        tags: Set(serde_json::to_string(tags).unwrap_or_else(|_| "{}".to_string())),
    }
    .insert(change.tx())
    .await?;
    change.record(Event::new("hub.enabled").account(account_id).region(region));
    Ok(row)
}

/// Deletes a hub and records `hub.disabled`.
async fn delete_hub(change: &mut ChangeTx, hub: hubs_table::Model) -> Result<()> {
    let (account_id, region) = (hub.account_id.clone(), hub.region.clone());
    hub.delete(change.tx()).await?;
    change.record(
        Event::new("hub.disabled")
            .account(account_id)
            .region(region),
    );
    Ok(())
}

/// Applies `operation` to every given relationship it changes.
async fn end_relationships(
    change: &mut ChangeTx,
    rows: Vec<members_table::Model>,
    operation: Operation,
) -> Result<()> {
    let now = tributary_runtime::time::now();
    for row in rows {
        let current = (
            MemberStatus::from_stored(&row.status),
            RelationshipType::from_stored(&row.relationship_type),
        );
        if let Ok(Outcome::Change(status, _)) = transition(Some(current), operation) {
            RelationshipWrite::status_of(row, status)
                .apply(change, now)
                .await?;
        }
    }
    Ok(())
}

/// Ends an organization designation: deletes it and removes the administrator's organization
/// members in that region.
async fn end_designation(change: &mut ChangeTx, designation: admins_table::Model) -> Result<()> {
    let organization_id = designation.organization_id.clone();
    let region = designation.region.clone();
    let admin = designation.admin_account_id.clone();
    designation.delete(change.tx()).await?;
    let organization_members = members_table::Entity::find()
        .filter(members_table::Column::AdministratorId.eq(admin.clone()))
        .filter(members_table::Column::Region.eq(region.clone()))
        .filter(members_table::Column::RelationshipType.eq(RelationshipType::Organization.as_str()))
        .all(change.tx())
        .await?;
    end_relationships(
        change,
        organization_members,
        Operation::EndOrganizationRelationship,
    )
    .await?;
    change.record(
        Event::new("hub.organization_admin_disabled")
            .organization(organization_id)
            .account(admin)
            .region(region),
    );
    Ok(())
}

async fn store_members_limit(db: &impl ConnectionTrait, limit: u32) -> Result<()> {
    let backend = db.get_database_backend();
    let sql = match backend {
        sea_orm::DatabaseBackend::Postgres => {
            "INSERT INTO tributary_settings (name, value) VALUES ($1, $2) \
             ON CONFLICT (name) DO UPDATE SET value = excluded.value"
        }
        _ => {
            "INSERT INTO tributary_settings (name, value) VALUES (?, ?) \
             ON CONFLICT (name) DO UPDATE SET value = excluded.value"
        }
    };
    db.execute_raw(Statement::from_sql_and_values(
        backend,
        sql,
        [MEMBERS_LIMIT_SETTING.into(), limit.to_string().into()],
    ))
    .await?;
    Ok(())
}

/// The members limit the running service was configured with (the AWS default when none was
/// stored).
async fn stored_members_limit(db: &impl ConnectionTrait) -> Result<u64> {
    let backend = db.get_database_backend();
    let sql = match backend {
        sea_orm::DatabaseBackend::Postgres => {
            "SELECT value FROM tributary_settings WHERE name = $1"
        }
        _ => "SELECT value FROM tributary_settings WHERE name = ?",
    };
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [MEMBERS_LIMIT_SETTING.into()],
        ))
        .await?;
    let stored = match row {
        Some(row) => row.try_get::<String>("", "value").ok(),
        None => None,
    };
    Ok(stored
        .and_then(|value| value.parse::<u64>().ok())
        .unwrap_or_else(|| u64::from(SecurityHubLimits::default().members_per_administrator)))
}

/// Called by the directory when `account_id` joins `organization_id` (created in it, or added).
/// In every region where the organization's Security Hub administrator turned on auto-enable, the
/// account becomes an Enabled organization member (AccountSuspended while suspended) and its hub is
/// enabled — unless it is already an Enabled member of someone, administers members itself, or
/// the administrator's members limit is reached.
pub async fn on_account_joined(
    change: &mut ChangeTx,
    organization_id: &str,
    account_id: &str,
) -> Result<()> {
    let Some(account) = find_account(change.tx(), account_id).await? else {
        return Ok(());
    };
    let account_status = AccountStatus::parse(&account.status);
    if account_status == AccountStatus::Closed {
        return Ok(());
    }
    let suspended = account_status == AccountStatus::Suspended;
    let limit = stored_members_limit(change.tx()).await?;
    let designations = admins_table::Entity::find()
        .filter(admins_table::Column::OrganizationId.eq(organization_id))
        .filter(admins_table::Column::AutoEnable.eq(true))
        .order_by_asc(admins_table::Column::Region)
        .all(change.tx())
        .await?;
    let now = tributary_runtime::time::now();
    for designation in designations {
        let region = designation.region.as_str();
        let admin = designation.admin_account_id.as_str();
        if admin == account_id
            || enabled_membership(change.tx(), account_id, region)
                .await?
                .is_some()
            || administrator_role(change.tx(), account_id, region)
                .await?
                .is_some()
        {
            continue;
        }
        let Some(admin_hub) = find_hub(change.tx(), admin, region).await? else {
            continue;
        };
        let existing = find_relationship(change.tx(), admin, region, account_id).await?;
        let current = existing.as_ref().map(|row| {
            (
                MemberStatus::from_stored(&row.status),
                RelationshipType::from_stored(&row.relationship_type),
            )
        });
        let Ok(Outcome::Change(status, relationship_type)) =
            transition(current, Operation::EnableOrganizationAccount { suspended })
        else {
            continue;
        };
        let mut write = RelationshipWrite::new(
            admin,
            region,
            account_id,
            existing,
            status,
            relationship_type,
        );
        write.organization_id = Some(organization_id.to_string());
        write.email = Some(account.email.clone());
        write.invitation = InvitationChange::Clear;
        if write.takes_new_slot() && count_members(change.tx(), admin, region).await? >= limit {
            tracing::warn!(organization = %organization_id, region = %region, administrator = %admin, account = %account_id, "security hub members limit reached; account not enabled automatically");
            continue;
        }
        if status == MemberStatus::Enabled
            && find_hub(change.tx(), account_id, region).await?.is_none()
        {
            let settings = HubSettings {
                default_standards: AutoEnableStandards::from_stored(
                    &designation.auto_enable_standards,
                ) == AutoEnableStandards::Default,
                control_finding_generator: ControlFindingGenerator::from_stored(
                    &admin_hub.control_finding_generator,
                ),
            };
            insert_hub(change, account_id, region, settings, &BTreeMap::new(), now).await?;
        }
        write.apply(change, now).await?;
    }
    Ok(())
}

/// Called by the directory when `account_id` leaves `organization_id` (removed, or closed). Its
/// organization memberships there become Removed, and if it was the organization's Security Hub
/// administrator in some region, that designation ends and its organization members become Removed.
pub async fn on_account_left(
    change: &mut ChangeTx,
    organization_id: &str,
    account_id: &str,
) -> Result<()> {
    let memberships = members_table::Entity::find()
        .filter(members_table::Column::MemberId.eq(account_id))
        .filter(members_table::Column::RelationshipType.eq(RelationshipType::Organization.as_str()))
        .filter(members_table::Column::OrganizationId.eq(organization_id))
        .all(change.tx())
        .await?;
    end_relationships(change, memberships, Operation::EndOrganizationRelationship).await?;
    let designations = admins_table::Entity::find()
        .filter(admins_table::Column::OrganizationId.eq(organization_id))
        .filter(admins_table::Column::AdminAccountId.eq(account_id))
        .all(change.tx())
        .await?;
    for designation in designations {
        end_designation(change, designation).await?;
    }
    Ok(())
}

/// Called by the directory when `account_id` is closed (after [`on_account_left`] when it was in an
/// organization). As a member it is removed from its administrators; as an administrator its
/// member list goes away; its designations end and its hubs are disabled.
pub async fn on_account_closed(change: &mut ChangeTx, account_id: &str) -> Result<()> {
    let memberships = members_table::Entity::find()
        .filter(members_table::Column::MemberId.eq(account_id))
        .all(change.tx())
        .await?;
    end_relationships(change, memberships, Operation::MemberClosed).await?;
    let designations = admins_table::Entity::find()
        .filter(admins_table::Column::AdminAccountId.eq(account_id))
        .all(change.tx())
        .await?;
    for designation in designations {
        end_designation(change, designation).await?;
    }
    let administered = members_table::Entity::find()
        .filter(members_table::Column::AdministratorId.eq(account_id))
        .all(change.tx())
        .await?;
    end_relationships(change, administered, Operation::AdministratorGone).await?;
    let hubs = hubs_table::Entity::find()
        .filter(hubs_table::Column::AccountId.eq(account_id))
        .all(change.tx())
        .await?;
    for hub in hubs {
        delete_hub(change, hub).await?;
    }
    Ok(())
}

/// The account row of an acting account, refusing closed accounts.
async fn require_open_account(
    db: &impl ConnectionTrait,
    account_id: &str,
) -> Result<accounts::Model> {
    let account = crate::organizations::require_account(db, account_id).await?;
    if AccountStatus::parse(&account.status) == AccountStatus::Closed {
        return Err(invalid_access(format!("account {account_id} is closed")));
    }
    Ok(account)
}
