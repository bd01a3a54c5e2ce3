//! Config aggregator declarations: what each Config aggregator aggregates (listed accounts or its
//! owner's organization, in listed regions or all of them), and their resolution into the exact
//! (account, region) pairs the aggregator may hold right now, with the status of every pair.
//!
//! The rules (DESIGN §5, spec §4.1-§4.3), including the choices the spec leaves open:
//!
//! - Effective regions: the listed regions, or for "all regions" every region registered at the
//!   moment of resolution, so a region registered later is picked up without a new declaration.
//! - Account source: pairs are the listed accounts times the effective regions. A pair is
//!   AUTHORIZED when the source account authorized the owner's account and home region in that
//!   source region. **The owner's own account needs no authorization**: it is the same party on
//!   both sides, so there is nobody to ask (spec §8 question 1).
//! - Otherwise, in this order: REVOKED when the source deleted its authorization after the account
//!   was added to the declaration; DECLINED when the source declined the request after the account
//!   was added; EXPIRED when the pending-request window (7 days by default) since the account was
//!   added has passed; PENDING otherwise. A re-declaration that adds an account again (after
//!   dropping it) starts a new window, so an earlier decline, revocation or expiry no longer
//!   applies to it; keeping an account listed keeps its window.
//! - NOT_ENABLED comes before all of that: the account does not exist in the directory, is
//!   suspended or closed, or the region is opt-in and the account has not enabled it.
//! - Organization source: every account currently in the owner's organization times the effective
//!   regions, AUTHORIZED without any authorization (NOT_ENABLED as above). Accounts that leave the
//!   organization are simply no longer listed, exactly like an account dropped from a list; accounts
//!   that join are listed from then on. When the owner loses its standing (it left the
//!   organization, the organization is gone or no longer has all features, the owner is neither the
//!   management account nor a delegated administrator for `config.amazonaws.com`, or trusted access
//!   for `config.amazonaws.com` was disabled), every pair of the organization's current accounts
//!   (or of the owner alone, when the organization is gone) is NOT_A_MEMBER with the reason.
//! - A pending request is exactly an account-source pair in PENDING status: the source sees the
//!   requester (owner account, home region) in that region until the pair stops being PENDING.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use chrono::{DateTime, TimeDelta, Utc};
use sea_orm::{
    AccessMode, ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait,
    DatabaseTransaction, EntityTrait, IsolationLevel, PaginatorTrait, QueryFilter, QueryOrder,
    Statement, TransactionTrait,
};
use tributary_proto::membership::v1 as pb;
use tributary_runtime::{
    Violations,
    auth::Caller,
    ids::{validate_account_id, validate_region_name},
};

use crate::{
    clock::Clock,
    config::MembershipConfig,
    entitlements::{EntitlementPair, PairStatus, sort_pairs},
    error::{Error, Result},
    events::{ChangeTx, Changes, Event},
    organizations::{AccountStatus, FeatureSet, has_service_access, is_delegated_administrator},
    store::{
        account_regions, accounts, aggregation_authorizations as grants,
        aggregation_request_declines as declines, config_aggregator_accounts as listed_accounts,
        config_aggregator_declarations as declarations,
        config_aggregator_regions as listed_regions, organizations, regions, service_access,
    },
};

/// The service principal Config aggregation is registered under in organizations.
pub const CONFIG_SERVICE_PRINCIPAL: &str = "config.amazonaws.com";

/// AWS exception names of Config aggregator declarations.
pub mod reason {
    /// The aggregator has no declaration.
    pub const NO_SUCH_AGGREGATOR: &str = "NoSuchConfigurationAggregatorException";
    /// The owner may not aggregate its organization.
    pub const ORGANIZATION_ACCESS_DENIED: &str = "OrganizationAccessDeniedException";
    /// The organization has consolidated billing only.
    pub const ALL_FEATURES_NOT_ENABLED: &str = "OrganizationAllFeaturesNotEnabledException";
    /// The owner is not in an organization.
    pub const NO_AVAILABLE_ORGANIZATION: &str = "NoAvailableOrganizationException";
    /// Too many accounts in one aggregator.
    pub const LIMIT_EXCEEDED: &str = "LimitExceededException";
}

/// Rows per multi-row statement: far below the bind-parameter limits of SQLite and PostgreSQL.
const CHUNK: usize = 500;

/// Deployment settings of Config aggregation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AggregationSettings {
    /// How long a pending request stays open after the account was added.
    pub pending_request_ttl: TimeDelta,
    /// The most accounts one aggregator may list.
    pub max_accounts_per_aggregator: usize,
}

impl AggregationSettings {
    /// The settings in `config`.
    pub fn from_config(config: &MembershipConfig) -> Self {
        Self {
            pending_request_ttl: ttl_from_seconds(config.pending_aggregation_request_ttl_seconds),
            max_accounts_per_aggregator: usize::try_from(config.max_accounts_per_config_aggregator)
                .unwrap_or(usize::MAX),
        }
    }
}

impl Default for AggregationSettings {
    fn default() -> Self {
        Self::from_config(&MembershipConfig::default())
    }
}

/// A TTL in seconds as a duration, saturating at the largest one chrono represents.
fn ttl_from_seconds(seconds: u64) -> TimeDelta {
    i64::try_from(seconds)
        .ok()
        .and_then(TimeDelta::try_seconds)
        .unwrap_or(TimeDelta::MAX)
}

/// When a request made at `added_at` stops being pending.
pub fn request_expires_at(added_at: DateTime<Utc>, ttl: TimeDelta) -> DateTime<Utc> {
    added_at
        .checked_add_signed(ttl)
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// What a Config aggregator aggregates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigAggregatorDeclaration {
    pub owner_account_id: String,
    pub home_region: String,
    pub aggregator_name: String,
    pub source: DeclaredSource,
    pub regions: DeclaredRegions,
}

/// Where an aggregator's accounts come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeclaredSource {
    /// These accounts, each of which must authorize the aggregator (sorted, without duplicates).
    Accounts(Vec<String>),
    /// Every account in the owner's organization, now and later.
    Organization,
}

/// Which regions an aggregator covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeclaredRegions {
    /// Every registered region, now and later.
    All,
    /// These regions (sorted, without duplicates).
    Listed(Vec<String>),
}

pub use tributary_runtime::ids::validate_aggregator_name;

/// Validates the key of an aggregator, naming fields with `prefix` (empty or ending in ".").
fn check_key(
    violations: &mut Violations,
    prefix: &str,
    owner_account_id: &str,
    home_region: &str,
    aggregator_name: &str,
) {
    violations.check(
        format!("{prefix}owner_account_id"),
        validate_account_id(owner_account_id),
    );
    violations.check(
        format!("{prefix}home_region"),
        validate_region_name(home_region),
    );
    violations.check(
        format!("{prefix}aggregator_name"),
        validate_aggregator_name(aggregator_name),
    );
}

impl TryFrom<pb::ConfigAggregatorDeclaration> for ConfigAggregatorDeclaration {
    type Error = Error;

    /// Validates every field, reporting all bad ones under `declaration.`. Duplicate accounts and
    /// regions are merged.
    fn try_from(message: pb::ConfigAggregatorDeclaration) -> Result<Self> {
        let mut violations = Violations::new();
        check_key(
            &mut violations,
            "declaration.",
            &message.owner_account_id,
            &message.home_region,
            &message.aggregator_name,
        );
        let source = match (message.organization_source, message.account_ids.is_empty()) {
            (true, false) => {
                violations.add(
                    "declaration.organization_source",
                    "you cannot specify both the AccountAggregationSource and the \
                     OrganizationAggregationSource: leave account_ids empty for an organization \
                     source",
                );
                DeclaredSource::Organization
            }
            (true, true) => DeclaredSource::Organization,
            (false, true) => {
                violations.add(
                    "declaration.account_ids",
                    "you must specify either the AccountAggregationSource or the \
                     OrganizationAggregationSource: list at least one account or set \
                     organization_source",
                );
                DeclaredSource::Accounts(Vec::new())
            }
            (false, false) => {
                for (index, account_id) in message.account_ids.iter().enumerate() {
                    violations.check(
                        format!("declaration.account_ids[{index}]"),
                        validate_account_id(account_id),
                    );
                }
                let unique: BTreeSet<String> = message.account_ids.into_iter().collect();
                DeclaredSource::Accounts(unique.into_iter().collect())
            }
        };
        let regions = match (message.all_regions, message.regions.is_empty()) {
            (true, false) => {
                violations.add(
                    "declaration.regions",
                    "You must choose one of these options: all_regions, or a list of regions; \
                     not both",
                );
                DeclaredRegions::All
            }
            (true, true) => DeclaredRegions::All,
            (false, true) => {
                violations.add(
                    "declaration.regions",
                    "Your request does not specify any regions: set all_regions or list at \
                     least one region",
                );
                DeclaredRegions::Listed(Vec::new())
            }
            (false, false) => {
                for (index, region) in message.regions.iter().enumerate() {
                    violations.check(
                        format!("declaration.regions[{index}]"),
                        validate_region_name(region),
                    );
                }
                let unique: BTreeSet<String> = message.regions.into_iter().collect();
                DeclaredRegions::Listed(unique.into_iter().collect())
            }
        };
        violations.finish()?;
        Ok(Self {
            owner_account_id: message.owner_account_id,
            home_region: message.home_region,
            aggregator_name: message.aggregator_name,
            source,
            regions,
        })
    }
}

/// The state of a source's authorization of an aggregator owner and home region.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantState {
    /// The authorization exists.
    Live,
    /// The authorization was deleted at this time.
    Revoked(DateTime<Utc>),
}

/// Everything that decides the status of one account-source pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountPairFacts<'a> {
    /// The source account.
    pub account_id: &'a str,
    /// The source region.
    pub region: &'a str,
    /// True when the source account is the aggregator's owner.
    pub is_owner: bool,
    /// The account's lifecycle state; none when the directory does not know it.
    pub account_status: Option<AccountStatus>,
    /// False when the region is opt-in and the account has not enabled it.
    pub region_enabled: bool,
    /// The source's authorization of the owner and home region in this region, if any ever was.
    pub grant: Option<GrantState>,
    /// When the source last declined the owner's request in this region, if it did.
    pub declined_at: Option<DateTime<Utc>>,
    /// When the declaration (re)added the account.
    pub added_at: DateTime<Utc>,
}

/// The status of a pair with a human reason, from its facts at `now`.
pub fn account_pair_status(
    facts: &AccountPairFacts<'_>,
    now: DateTime<Utc>,
    ttl: TimeDelta,
) -> (PairStatus, String) {
    let AccountPairFacts {
        account_id, region, ..
    } = *facts;
    if let Some(reason) = not_enabled_reason(
        account_id,
        region,
        facts.account_status,
        facts.region_enabled,
    ) {
        return (PairStatus::NotEnabled, reason);
    }
    if facts.is_owner {
        return (
            PairStatus::Authorized,
            format!("account {account_id} owns the aggregator and needs no authorization"),
        );
    }
    match facts.grant {
        Some(GrantState::Live) => {
            return (
                PairStatus::Authorized,
                format!("account {account_id} authorized the aggregator in {region}"),
            );
        }
        Some(GrantState::Revoked(revoked_at)) if revoked_at >= facts.added_at => {
            return (
                PairStatus::Revoked,
                format!("account {account_id} deleted its authorization in {region}"),
            );
        }
        _ => {}
    }
    if facts
        .declined_at
        .is_some_and(|declined_at| declined_at >= facts.added_at)
    {
        return (
            PairStatus::Declined,
            format!("account {account_id} declined the aggregation request in {region}"),
        );
    }
    let expires_at = request_expires_at(facts.added_at, ttl);
    if now >= expires_at {
        (
            PairStatus::Expired,
            format!(
                "the aggregation request to account {account_id} in {region} expired unanswered \
                 at {}",
                expires_at.to_rfc3339()
            ),
        )
    } else {
        (
            PairStatus::Pending,
            format!(
                "waiting for account {account_id} to authorize the aggregator in {region} until {}",
                expires_at.to_rfc3339()
            ),
        )
    }
}

/// Why an account cannot contribute data from a region, if it cannot.
fn not_enabled_reason(
    account_id: &str,
    region: &str,
    account_status: Option<AccountStatus>,
    region_enabled: bool,
) -> Option<String> {
    match account_status {
        None => Some(format!("account {account_id} does not exist")),
        Some(AccountStatus::Suspended) => Some(format!("account {account_id} is suspended")),
        Some(AccountStatus::Closed) => Some(format!("account {account_id} is closed")),
        Some(AccountStatus::Active) if !region_enabled => Some(format!(
            "account {account_id} has not enabled the opt-in region {region}"
        )),
        Some(AccountStatus::Active) => None,
    }
}

/// The status of an organization-source pair while the owner keeps its standing.
pub fn organization_pair_status(
    account_id: &str,
    region: &str,
    organization_id: &str,
    account_status: AccountStatus,
    region_enabled: bool,
) -> (PairStatus, String) {
    match not_enabled_reason(account_id, region, Some(account_status), region_enabled) {
        Some(reason) => (PairStatus::NotEnabled, reason),
        None => (
            PairStatus::Authorized,
            format!("account {account_id} is in organization {organization_id}"),
        ),
    }
}

/// An aggregator owner (account and home region) waiting for a source's authorization in one
/// region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingRequest {
    pub requester_account_id: String,
    pub requester_region: String,
    /// When the earliest still-pending aggregator of the requester added the source.
    pub requested_at: DateTime<Utc>,
    /// When the latest still-pending aggregator's window closes.
    pub expires_at: DateTime<Utc>,
}

/// Config aggregator declarations and their entitlements.
pub struct ConfigAggregators {
    changes: Changes,
    settings: AggregationSettings,
    clock: Clock,
}

impl ConfigAggregators {
    /// The declarations behind `changes`.
    pub fn new(changes: Changes, settings: AggregationSettings, clock: Clock) -> Self {
        Self {
            changes,
            settings,
            clock,
        }
    }

    /// The settings in force.
    pub fn settings(&self) -> AggregationSettings {
        self.settings
    }

    /// Records (or replaces) an aggregator's declaration and returns the revision that includes
    /// it. Services and operators only. An identical re-declaration changes nothing.
    pub async fn declare(
        &self,
        caller: &Caller,
        declaration: ConfigAggregatorDeclaration,
    ) -> Result<u64> {
        caller.require_service_or_operator()?;
        if let DeclaredSource::Accounts(accounts) = &declaration.source
            && accounts.len() > self.settings.max_accounts_per_aggregator
        {
            return Err(Error::limit_exceeded(
                reason::LIMIT_EXCEEDED,
                format!(
                    "an aggregator may list at most {} accounts; the declaration lists {}",
                    self.settings.max_accounts_per_aggregator,
                    accounts.len()
                ),
            ));
        }
        let now = self.clock.now();
        let mut change = self.changes.begin().await?;
        check_regions_registered(change.tx(), &declaration).await?;
        let key = (
            declaration.owner_account_id.clone(),
            declaration.home_region.clone(),
            declaration.aggregator_name.clone(),
        );
        let existing = declarations::Entity::find_by_id(key.clone())
            .one(change.tx())
            .await?;
        let organization_source = declaration.source == DeclaredSource::Organization;
        if let Some(existing) = &existing
            && (existing.source_kind == declarations::SOURCE_ORGANIZATION) != organization_source
        {
            return Err(Error::invalid_field(
                "declaration.organization_source",
                format!(
                    "aggregator {} already aggregates {}; an aggregator cannot switch between \
                     account and organization sources: withdraw it and declare it again",
                    declaration.aggregator_name,
                    if organization_source {
                        "listed accounts"
                    } else {
                        "an organization"
                    }
                ),
            ));
        }
        let organization_id = if organization_source {
            Some(
                admit_organization_owner(
                    &mut change,
                    &declaration.owner_account_id,
                    existing
                        .as_ref()
                        .and_then(|row| row.organization_id.as_deref()),
                    now,
                )
                .await?,
            )
        } else {
            None
        };

        let children_changed = replace_regions(change.tx(), &declaration).await?
            | replace_accounts(change.tx(), &declaration, now).await?;
        let changed = write_declaration_row(
            change.tx(),
            existing,
            &declaration,
            organization_id,
            children_changed,
            now,
        )
        .await?;
        if changed {
            change.record(
                Event::new("config_aggregator.declared")
                    .account(&declaration.owner_account_id)
                    .region(&declaration.home_region),
            );
        }
        let revision = change.commit().await?;
        if changed {
            tracing::info!(
                owner = %declaration.owner_account_id,
                region = %declaration.home_region,
                aggregator = %declaration.aggregator_name,
                revision,
                "config aggregator declared"
            );
        }
        Ok(revision)
    }

    /// Removes an aggregator's declaration; its pairs and pending requests disappear. Idempotent.
    /// Services and operators only.
    pub async fn withdraw(
        &self,
        caller: &Caller,
        owner_account_id: &str,
        home_region: &str,
        aggregator_name: &str,
    ) -> Result<()> {
        caller.require_service_or_operator()?;
        let mut violations = Violations::new();
        check_key(
            &mut violations,
            "",
            owner_account_id,
            home_region,
            aggregator_name,
        );
        violations.finish()?;
        let mut change = self.changes.begin().await?;
        let deleted = declarations::Entity::delete_by_id((
            owner_account_id.to_string(),
            home_region.to_string(),
            aggregator_name.to_string(),
        ))
        .exec(change.tx())
        .await?
        .rows_affected;
        if deleted == 0 {
            return Ok(());
        }
        listed_accounts::Entity::delete_many()
            .filter(listed_accounts::Column::OwnerAccountId.eq(owner_account_id))
            .filter(listed_accounts::Column::HomeRegion.eq(home_region))
            .filter(listed_accounts::Column::AggregatorName.eq(aggregator_name))
            .exec(change.tx())
            .await?;
        listed_regions::Entity::delete_many()
            .filter(listed_regions::Column::OwnerAccountId.eq(owner_account_id))
            .filter(listed_regions::Column::HomeRegion.eq(home_region))
            .filter(listed_regions::Column::AggregatorName.eq(aggregator_name))
            .exec(change.tx())
            .await?;
        change.record(
            Event::new("config_aggregator.withdrawn")
                .account(owner_account_id)
                .region(home_region),
        );
        change.commit().await?;
        tracing::info!(owner = %owner_account_id, region = %home_region, aggregator = %aggregator_name, "config aggregator withdrawn");
        Ok(())
    }

    /// Every pair the aggregator asks for with its status, ordered by account then region, and the
    /// membership revision the answer is exactly consistent with. Fails with
    /// `NoSuchConfigurationAggregatorException` for an undeclared aggregator.
    pub async fn resolve(
        &self,
        owner_account_id: &str,
        home_region: &str,
        aggregator_name: &str,
    ) -> Result<(Vec<EntitlementPair>, u64)> {
        let mut violations = Violations::new();
        check_key(
            &mut violations,
            "",
            owner_account_id,
            home_region,
            aggregator_name,
        );
        violations.finish()?;
        let snapshot = begin_snapshot(self.changes.db()).await?;
        let revision = read_revision(&snapshot).await?;
        let declaration = declarations::Entity::find_by_id((
            owner_account_id.to_string(),
            home_region.to_string(),
            aggregator_name.to_string(),
        ))
        .one(&snapshot)
        .await?
        .ok_or_else(|| {
            Error::not_found(
                reason::NO_SUCH_AGGREGATOR,
                format!(
                    "The configuration aggregator does not exist: no aggregator \
                     {aggregator_name} of account {owner_account_id} in {home_region} is declared"
                ),
            )
        })?;
        let regions = effective_regions(&snapshot, &declaration).await?;
        let mut pairs = if declaration.source_kind == declarations::SOURCE_ORGANIZATION {
            resolve_organization(&snapshot, &declaration, &regions).await?
        } else {
            self.resolve_accounts(&snapshot, &declaration, &regions)
                .await?
        };
        snapshot.commit().await?;
        sort_pairs(&mut pairs);
        Ok((pairs, revision))
    }

    async fn resolve_accounts(
        &self,
        db: &impl ConnectionTrait,
        declaration: &declarations::Model,
        regions: &[regions::Model],
    ) -> Result<Vec<EntitlementPair>> {
        let owner = declaration.owner_account_id.as_str();
        let listed = listed_accounts::Entity::find()
            .filter(listed_accounts::Column::OwnerAccountId.eq(owner))
            .filter(listed_accounts::Column::HomeRegion.eq(declaration.home_region.as_str()))
            .filter(
                listed_accounts::Column::AggregatorName.eq(declaration.aggregator_name.as_str()),
            )
            .order_by_asc(listed_accounts::Column::AccountId)
            .all(db)
            .await?;
        let account_ids: Vec<String> = listed.iter().map(|row| row.account_id.clone()).collect();
        let statuses = account_statuses(db, &account_ids).await?;
        let enabled_opt_in = enabled_opt_in_regions(db, regions).await?;
        let grants: HashMap<(String, String), GrantState> = grants::Entity::find()
            .filter(grants::Column::AuthorizedAccountId.eq(owner))
            .filter(grants::Column::AuthorizedRegion.eq(declaration.home_region.as_str()))
            .all(db)
            .await?
            .into_iter()
            .map(|row| {
                let state = match row.revoked_at {
                    None => GrantState::Live,
                    Some(at) => GrantState::Revoked(at),
                };
                ((row.source_account_id, row.source_region), state)
            })
            .collect();
        let declined: HashMap<(String, String), DateTime<Utc>> = declines::Entity::find()
            .filter(declines::Column::RequesterAccountId.eq(owner))
            .filter(declines::Column::RequesterRegion.eq(declaration.home_region.as_str()))
            .all(db)
            .await?
            .into_iter()
            .map(|row| ((row.source_account_id, row.source_region), row.declined_at))
            .collect();
        let now = self.clock.now();
        let mut pairs = Vec::with_capacity(listed.len() * regions.len());
        for row in &listed {
            for region in regions {
                let pair_key = (row.account_id.clone(), region.region_name.clone());
                let facts = AccountPairFacts {
                    account_id: &row.account_id,
                    region: &region.region_name,
                    is_owner: row.account_id == owner,
                    account_status: statuses.get(&row.account_id).copied(),
                    region_enabled: !region.opt_in || enabled_opt_in.contains(&pair_key),
                    grant: grants.get(&pair_key).copied(),
                    declined_at: declined.get(&pair_key).copied(),
                    added_at: row.added_at,
                };
                let (status, reason) =
                    account_pair_status(&facts, now, self.settings.pending_request_ttl);
                pairs.push(EntitlementPair::new(
                    &row.account_id,
                    &region.region_name,
                    status,
                    reason,
                ));
            }
        }
        Ok(pairs)
    }

    /// The requesters waiting for `source_account_id`'s authorization in `region`, ordered by
    /// requester account then region: every owner and home region with at least one account-source
    /// aggregator whose pair (source, region) is PENDING.
    pub async fn pending_requests(
        &self,
        db: &impl ConnectionTrait,
        source_account_id: &str,
        region: &regions::Model,
    ) -> Result<Vec<PendingRequest>> {
        let status = account_statuses(db, &[source_account_id.to_string()])
            .await?
            .get(source_account_id)
            .copied();
        let region_enabled =
            crate::regions::region_enabled_for(db, region, source_account_id).await?;
        if not_enabled_reason(
            source_account_id,
            &region.region_name,
            status,
            region_enabled,
        )
        .is_some()
        {
            return Ok(Vec::new());
        }
        let listings = listed_accounts::Entity::find()
            .filter(listed_accounts::Column::AccountId.eq(source_account_id))
            .filter(listed_accounts::Column::OwnerAccountId.ne(source_account_id))
            .all(db)
            .await?;
        let now = self.clock.now();
        let ttl = self.settings.pending_request_ttl;
        let mut requests: BTreeMap<(String, String), PendingRequest> = BTreeMap::new();
        for listing in listings {
            let Some(declaration) = declarations::Entity::find_by_id((
                listing.owner_account_id.clone(),
                listing.home_region.clone(),
                listing.aggregator_name.clone(),
            ))
            .one(db)
            .await?
            else {
                continue;
            };
            if !covers(db, &declaration, &region.region_name).await? {
                continue;
            }
            let grant = grants::Entity::find_by_id((
                source_account_id.to_string(),
                region.region_name.clone(),
                listing.owner_account_id.clone(),
                listing.home_region.clone(),
            ))
            .one(db)
            .await?
            .map(|row| match row.revoked_at {
                None => GrantState::Live,
                Some(at) => GrantState::Revoked(at),
            });
            let declined_at = declines::Entity::find_by_id((
                source_account_id.to_string(),
                region.region_name.clone(),
                listing.owner_account_id.clone(),
                listing.home_region.clone(),
            ))
            .one(db)
            .await?
            .map(|row| row.declined_at);
            let facts = AccountPairFacts {
                account_id: source_account_id,
                region: &region.region_name,
                is_owner: false,
                account_status: status,
                region_enabled,
                grant,
                declined_at,
                added_at: listing.added_at,
            };
            if account_pair_status(&facts, now, ttl).0 != PairStatus::Pending {
                continue;
            }
            let expires_at = request_expires_at(listing.added_at, ttl);
            requests
                .entry((
                    listing.owner_account_id.clone(),
                    listing.home_region.clone(),
                ))
                .and_modify(|request| {
                    request.requested_at = request.requested_at.min(listing.added_at);
                    request.expires_at = request.expires_at.max(expires_at);
                })
                .or_insert_with(|| PendingRequest {
                    requester_account_id: listing.owner_account_id.clone(),
                    requester_region: listing.home_region.clone(),
                    requested_at: listing.added_at,
                    expires_at,
                });
        }
        Ok(requests.into_values().collect())
    }
}

/// Why a region cannot be deregistered because declarations name it, if they do: as an
/// aggregator's home region or in its list of regions. ("All regions" does not hold a region.)
pub async fn region_in_use(db: &impl ConnectionTrait, name: &str) -> Result<Option<String>> {
    let homes = declarations::Entity::find()
        .filter(declarations::Column::HomeRegion.eq(name))
        .count(db)
        .await?;
    if homes > 0 {
        return Ok(Some(format!("{homes} Config aggregator(s) live in it")));
    }
    let listing = listed_regions::Entity::find()
        .filter(listed_regions::Column::RegionName.eq(name))
        .count(db)
        .await?;
    if listing > 0 {
        return Ok(Some(format!("{listing} Config aggregator(s) list it")));
    }
    Ok(None)
}

/// Fails with `InvalidParameterValueException` naming every region of the declaration that is
/// not registered.
async fn check_regions_registered(
    db: &impl ConnectionTrait,
    declaration: &ConfigAggregatorDeclaration,
) -> Result<()> {
    let registered: HashSet<String> = crate::regions::registered_regions(db)
        .await?
        .into_iter()
        .map(|region| region.region_name)
        .collect();
    let mut violations = Violations::new();
    if !registered.contains(&declaration.home_region) {
        violations.add(
            "declaration.home_region",
            format!("region {} is not registered", declaration.home_region),
        );
    }
    if let DeclaredRegions::Listed(listed) = &declaration.regions {
        for (index, region) in listed.iter().enumerate() {
            if !registered.contains(region) {
                violations.add(
                    format!("declaration.regions[{index}]"),
                    format!("region {region} is not registered"),
                );
            }
        }
    }
    Ok(violations.finish()?)
}

/// Checks that the owner may aggregate its organization, enabling trusted access for Config when
/// the owner is the management account, and returns the organization id.
async fn admit_organization_owner(
    change: &mut ChangeTx,
    owner_account_id: &str,
    bound_organization_id: Option<&str>,
    now: DateTime<Utc>,
) -> Result<String> {
    let not_in_organization = || {
        Error::failed_precondition(
            reason::NO_AVAILABLE_ORGANIZATION,
            format!(
                "account {owner_account_id} is not in an organization; an organization source \
                 needs one"
            ),
        )
    };
    let account = crate::organizations::find_account(change.tx(), owner_account_id)
        .await?
        .ok_or_else(not_in_organization)?;
    let organization_id = account.organization_id.ok_or_else(not_in_organization)?;
    if let Some(bound) = bound_organization_id
        && bound != organization_id
    {
        return Err(Error::permission_denied(
            reason::ORGANIZATION_ACCESS_DENIED,
            format!(
                "the aggregator was declared for organization {bound}, but account \
                 {owner_account_id} is now in {organization_id}: withdraw the aggregator and \
                 declare it again"
            ),
        ));
    }
    let organization = organizations::Entity::find_by_id(organization_id.clone())
        .one(change.tx())
        .await?
        .ok_or_else(not_in_organization)?;
    let is_management = organization.management_account_id == owner_account_id;
    if !is_management
        && !is_delegated_administrator(
            change.tx(),
            &organization_id,
            owner_account_id,
            CONFIG_SERVICE_PRINCIPAL,
        )
        .await?
    {
        return Err(Error::permission_denied(
            reason::ORGANIZATION_ACCESS_DENIED,
            format!(
                "account {owner_account_id} is neither the management account of \
                 {organization_id} nor a delegated administrator for {CONFIG_SERVICE_PRINCIPAL}"
            ),
        ));
    }
    if FeatureSet::parse(&organization.feature_set) != FeatureSet::All {
        return Err(Error::failed_precondition(
            reason::ALL_FEATURES_NOT_ENABLED,
            format!(
                "organization {organization_id} has consolidated billing only; enable all \
                 features to aggregate it"
            ),
        ));
    }
    if !has_service_access(change.tx(), &organization_id, CONFIG_SERVICE_PRINCIPAL).await? {
        if !is_management {
            return Err(Error::permission_denied(
                reason::ORGANIZATION_ACCESS_DENIED,
                format!(
                    "trusted access for {CONFIG_SERVICE_PRINCIPAL} is not enabled in \
                     {organization_id}; its management account must enable it first"
                ),
            ));
        }
        // The management account path enables trusted access itself, as AWS Config does.
        service_access::ActiveModel {
            organization_id: Set(organization_id.clone()),
            service_principal: Set(CONFIG_SERVICE_PRINCIPAL.to_string()),
            enabled_at: Set(now),
        }
        .insert(change.tx())
        .await?;
        change.record(
            Event::new("organization.service_access_enabled").organization(&organization_id),
        );
    }
    Ok(organization_id)
}

/// Inserts or updates the declaration row (moving `updated_at` when its accounts or regions
/// changed too); true when anything about the declaration changed.
async fn write_declaration_row(
    db: &DatabaseTransaction,
    existing: Option<declarations::Model>,
    declaration: &ConfigAggregatorDeclaration,
    organization_id: Option<String>,
    children_changed: bool,
    now: DateTime<Utc>,
) -> Result<bool> {
    let source_kind = match declaration.source {
        DeclaredSource::Accounts(_) => declarations::SOURCE_ACCOUNTS,
        DeclaredSource::Organization => declarations::SOURCE_ORGANIZATION,
    };
    let all_regions = declaration.regions == DeclaredRegions::All;
    match existing {
        Some(existing)
            if !children_changed
                && existing.all_regions == all_regions
                && existing.organization_id == organization_id =>
        {
            Ok(false)
        }
        Some(existing) => {
            let mut active: declarations::ActiveModel = existing.into();
            active.all_regions = Set(all_regions);
            active.organization_id = Set(organization_id);
            active.updated_at = Set(now);
            active.update(db).await?;
            Ok(true)
        }
        None => {
            declarations::ActiveModel {
                owner_account_id: Set(declaration.owner_account_id.clone()),
                home_region: Set(declaration.home_region.clone()),
                aggregator_name: Set(declaration.aggregator_name.clone()),
                source_kind: Set(source_kind.to_string()),
                all_regions: Set(all_regions),
                organization_id: Set(organization_id),
                declared_at: Set(now),
                updated_at: Set(now),
            }
            .insert(db)
            .await?;
            Ok(true)
        }
    }
}

/// Makes the stored region list equal the declared one; true when it changed.
async fn replace_regions(
    db: &DatabaseTransaction,
    declaration: &ConfigAggregatorDeclaration,
) -> Result<bool> {
    let stored: BTreeSet<String> = listed_regions::Entity::find()
        .filter(listed_regions::Column::OwnerAccountId.eq(declaration.owner_account_id.as_str()))
        .filter(listed_regions::Column::HomeRegion.eq(declaration.home_region.as_str()))
        .filter(listed_regions::Column::AggregatorName.eq(declaration.aggregator_name.as_str()))
        .all(db)
        .await?
        .into_iter()
        .map(|row| row.region_name)
        .collect();
    let wanted: BTreeSet<String> = match &declaration.regions {
        DeclaredRegions::All => BTreeSet::new(),
        DeclaredRegions::Listed(listed) => listed.iter().cloned().collect(),
    };
    let removed: Vec<String> = stored.difference(&wanted).cloned().collect();
    let added: Vec<String> = wanted.difference(&stored).cloned().collect();
    if !removed.is_empty() {
        listed_regions::Entity::delete_many()
            .filter(
                listed_regions::Column::OwnerAccountId.eq(declaration.owner_account_id.as_str()),
            )
            .filter(listed_regions::Column::HomeRegion.eq(declaration.home_region.as_str()))
            .filter(listed_regions::Column::AggregatorName.eq(declaration.aggregator_name.as_str()))
            .filter(listed_regions::Column::RegionName.is_in(removed.clone()))
            .exec(db)
            .await?;
    }
    if !added.is_empty() {
        listed_regions::Entity::insert_many(added.iter().map(|region| {
            listed_regions::ActiveModel {
                owner_account_id: Set(declaration.owner_account_id.clone()),
                home_region: Set(declaration.home_region.clone()),
                aggregator_name: Set(declaration.aggregator_name.clone()),
                region_name: Set(region.clone()),
            }
        }))
        .exec(db)
        .await?;
    }
    Ok(!removed.is_empty() || !added.is_empty())
}

/// Makes the stored account list equal the declared one: accounts that stay keep when they were
/// added, new ones are added `now`, dropped ones are removed. True when it changed.
async fn replace_accounts(
    db: &DatabaseTransaction,
    declaration: &ConfigAggregatorDeclaration,
    now: DateTime<Utc>,
) -> Result<bool> {
    let stored: BTreeSet<String> = listed_accounts::Entity::find()
        .filter(listed_accounts::Column::OwnerAccountId.eq(declaration.owner_account_id.as_str()))
        .filter(listed_accounts::Column::HomeRegion.eq(declaration.home_region.as_str()))
        .filter(listed_accounts::Column::AggregatorName.eq(declaration.aggregator_name.as_str()))
        .all(db)
        .await?
        .into_iter()
        .map(|row| row.account_id)
        .collect();
    let wanted: BTreeSet<String> = match &declaration.source {
        DeclaredSource::Accounts(accounts) => accounts.iter().cloned().collect(),
        DeclaredSource::Organization => BTreeSet::new(),
    };
    let removed: Vec<String> = stored.difference(&wanted).cloned().collect();
    let added: Vec<String> = wanted.difference(&stored).cloned().collect();
    for chunk in removed.chunks(CHUNK) {
        listed_accounts::Entity::delete_many()
            .filter(
                listed_accounts::Column::OwnerAccountId.eq(declaration.owner_account_id.as_str()),
            )
            .filter(listed_accounts::Column::HomeRegion.eq(declaration.home_region.as_str()))
            .filter(
                listed_accounts::Column::AggregatorName.eq(declaration.aggregator_name.as_str()),
            )
            .filter(listed_accounts::Column::AccountId.is_in(chunk.to_vec()))
            .exec(db)
            .await?;
    }
    for chunk in added.chunks(CHUNK) {
        listed_accounts::Entity::insert_many(chunk.iter().map(|account_id| {
            listed_accounts::ActiveModel {
                owner_account_id: Set(declaration.owner_account_id.clone()),
                home_region: Set(declaration.home_region.clone()),
                aggregator_name: Set(declaration.aggregator_name.clone()),
                account_id: Set(account_id.clone()),
                added_at: Set(now),
            }
        }))
        .exec(db)
        .await?;
    }
    Ok(!removed.is_empty() || !added.is_empty())
}

/// A read-only transaction that sees one consistent state of the database: REPEATABLE READ on
/// PostgreSQL (the snapshot is taken at its first statement), and on SQLite the read snapshot WAL
/// mode gives a deferred transaction at its first read.
async fn begin_snapshot(db: &sea_orm::DatabaseConnection) -> Result<DatabaseTransaction> {
    let transaction = match db.get_database_backend() {
        sea_orm::DatabaseBackend::Postgres => {
            db.begin_with_config(
                Some(IsolationLevel::RepeatableRead),
                Some(AccessMode::ReadOnly),
            )
            .await?
        }
        _ => db.begin().await?,
    };
    Ok(transaction)
}

/// The committed revision as the transaction sees it.
async fn read_revision(db: &impl ConnectionTrait) -> Result<u64> {
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT revision FROM membership_revision WHERE id = 1",
        ))
        .await?;
    let revision: i64 = match row {
        Some(row) => row.try_get("", "revision")?,
        None => 0,
    };
    Ok(u64::try_from(revision).unwrap_or(0))
}

/// The regions an aggregator covers now, in name order.
async fn effective_regions(
    db: &impl ConnectionTrait,
    declaration: &declarations::Model,
) -> Result<Vec<regions::Model>> {
    let registered = crate::regions::registered_regions(db).await?;
    if declaration.all_regions {
        return Ok(registered);
    }
    let listed: HashSet<String> = listed_regions::Entity::find()
        .filter(listed_regions::Column::OwnerAccountId.eq(declaration.owner_account_id.as_str()))
        .filter(listed_regions::Column::HomeRegion.eq(declaration.home_region.as_str()))
        .filter(listed_regions::Column::AggregatorName.eq(declaration.aggregator_name.as_str()))
        .all(db)
        .await?
        .into_iter()
        .map(|row| row.region_name)
        .collect();
    Ok(registered
        .into_iter()
        .filter(|region| listed.contains(&region.region_name))
        .collect())
}

/// True when the declaration covers `region`.
async fn covers(
    db: &impl ConnectionTrait,
    declaration: &declarations::Model,
    region: &str,
) -> Result<bool> {
    if declaration.all_regions {
        return Ok(true);
    }
    Ok(listed_regions::Entity::find_by_id((
        declaration.owner_account_id.clone(),
        declaration.home_region.clone(),
        declaration.aggregator_name.clone(),
        region.to_string(),
    ))
    .one(db)
    .await?
    .is_some())
}

/// The lifecycle state of each known account among `account_ids`.
async fn account_statuses(
    db: &impl ConnectionTrait,
    account_ids: &[String],
) -> Result<HashMap<String, AccountStatus>> {
    let mut statuses = HashMap::with_capacity(account_ids.len());
    for chunk in account_ids.chunks(CHUNK) {
        for account in accounts::Entity::find()
            .filter(accounts::Column::AccountId.is_in(chunk.to_vec()))
            .all(db)
            .await?
        {
            statuses.insert(account.account_id, AccountStatus::parse(&account.status));
        }
    }
    Ok(statuses)
}

/// The (account, region) pairs where an account enabled one of the opt-in `regions`.
async fn enabled_opt_in_regions(
    db: &impl ConnectionTrait,
    regions: &[regions::Model],
) -> Result<HashSet<(String, String)>> {
    let opt_in: Vec<String> = regions
        .iter()
        .filter(|region| region.opt_in)
        .map(|region| region.region_name.clone())
        .collect();
    if opt_in.is_empty() {
        return Ok(HashSet::new());
    }
    Ok(account_regions::Entity::find()
        .filter(account_regions::Column::RegionName.is_in(opt_in))
        .all(db)
        .await?
        .into_iter()
        .map(|row| (row.account_id, row.region_name))
        .collect())
}

/// The pairs of an organization-source aggregator.
async fn resolve_organization(
    db: &impl ConnectionTrait,
    declaration: &declarations::Model,
    regions: &[regions::Model],
) -> Result<Vec<EntitlementPair>> {
    let owner = declaration.owner_account_id.as_str();
    let organization_id = declaration.organization_id.clone().unwrap_or_default();
    let organization = organizations::Entity::find_by_id(organization_id.clone())
        .one(db)
        .await?;
    let members = if organization.is_some() {
        accounts::Entity::find()
            .filter(accounts::Column::OrganizationId.eq(organization_id.as_str()))
            .order_by_asc(accounts::Column::AccountId)
            .all(db)
            .await?
    } else {
        Vec::new()
    };
    if let Some(problem) =
        organization_standing_problem(db, owner, &organization_id, organization.as_ref()).await?
    {
        let mut account_ids: Vec<String> = members
            .into_iter()
            .map(|member| member.account_id)
            .collect();
        if account_ids.is_empty() {
            account_ids.push(owner.to_string());
        }
        let mut pairs = Vec::with_capacity(account_ids.len() * regions.len());
        for account_id in &account_ids {
            for region in regions {
                pairs.push(EntitlementPair::new(
                    account_id,
                    &region.region_name,
                    PairStatus::NotAMember,
                    problem.clone(),
                ));
            }
        }
        return Ok(pairs);
    }
    let enabled_opt_in = enabled_opt_in_regions(db, regions).await?;
    let mut pairs = Vec::with_capacity(members.len() * regions.len());
    for member in &members {
        let status = AccountStatus::parse(&member.status);
        for region in regions {
            let region_enabled = !region.opt_in
                || enabled_opt_in
                    .contains(&(member.account_id.clone(), region.region_name.clone()));
            let (status, reason) = organization_pair_status(
                &member.account_id,
                &region.region_name,
                &organization_id,
                status,
                region_enabled,
            );
            pairs.push(EntitlementPair::new(
                &member.account_id,
                &region.region_name,
                status,
                reason,
            ));
        }
    }
    Ok(pairs)
}

/// Why the owner of an organization-source aggregator may no longer aggregate the organization
/// it was declared for, if it may not.
async fn organization_standing_problem(
    db: &impl ConnectionTrait,
    owner: &str,
    organization_id: &str,
    organization: Option<&organizations::Model>,
) -> Result<Option<String>> {
    let Some(organization) = organization else {
        return Ok(Some(format!(
            "organization {organization_id} no longer exists"
        )));
    };
    let owner_organization = crate::organizations::find_account(db, owner)
        .await?
        .and_then(|account| account.organization_id);
    if owner_organization.as_deref() != Some(organization_id) {
        return Ok(Some(format!(
            "the owner {owner} is no longer in organization {organization_id}"
        )));
    }
    if FeatureSet::parse(&organization.feature_set) != FeatureSet::All {
        return Ok(Some(format!(
            "organization {organization_id} no longer has all features enabled"
        )));
    }
    if organization.management_account_id != owner
        && !is_delegated_administrator(db, organization_id, owner, CONFIG_SERVICE_PRINCIPAL).await?
    {
        return Ok(Some(format!(
            "the owner {owner} is no longer the management account or a delegated administrator \
             for {CONFIG_SERVICE_PRINCIPAL} in {organization_id}"
        )));
    }
    if !has_service_access(db, organization_id, CONFIG_SERVICE_PRINCIPAL).await? {
        return Ok(Some(format!(
            "trusted access for {CONFIG_SERVICE_PRINCIPAL} is disabled in {organization_id}"
        )));
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(error: Error) -> Vec<String> {
        match error {
            Error::Runtime(tributary_runtime::Error::InvalidInput { violations, .. }) => violations
                .into_iter()
                .map(|violation| violation.field)
                .collect(),
            other => panic!("expected invalid input, got {other:?}"),
        }
    }

    fn message() -> pb::ConfigAggregatorDeclaration {
        pb::ConfigAggregatorDeclaration {
            owner_account_id: "111111111111".into(),
            home_region: "us-east-1".into(),
            aggregator_name: "main_aggregator-1".into(),
            account_ids: vec![
                "333333333333".into(),
                "222222222222".into(),
                "333333333333".into(),
            ],
            organization_source: false,
            all_regions: false,
            regions: vec!["eu-west-1".into(), "us-east-1".into(), "eu-west-1".into()],
        }
    }

    #[test]
    fn declarations_sort_and_merge_duplicates() {
        let declaration = ConfigAggregatorDeclaration::try_from(message()).unwrap();
        assert_eq!(
            declaration.source,
            DeclaredSource::Accounts(vec!["222222222222".into(), "333333333333".into()])
        );
        assert_eq!(
            declaration.regions,
            DeclaredRegions::Listed(vec!["eu-west-1".into(), "us-east-1".into()])
        );
        let organization = ConfigAggregatorDeclaration::try_from(pb::ConfigAggregatorDeclaration {
            account_ids: Vec::new(),
            organization_source: true,
            all_regions: true,
            regions: Vec::new(),
            ..message()
        })
        .unwrap();
        assert_eq!(organization.source, DeclaredSource::Organization);
        assert_eq!(organization.regions, DeclaredRegions::All);
    }

    #[test]
    fn declarations_report_every_bad_field_under_declaration() {
        let error = ConfigAggregatorDeclaration::try_from(pb::ConfigAggregatorDeclaration {
            owner_account_id: "1".into(),
            home_region: "US-EAST-1".into(),
            aggregator_name: "bad name!".into(),
            account_ids: vec!["222222222222".into(), "x".into()],
            organization_source: false,
            all_regions: false,
            regions: vec!["nowhere".into()],
        })
        .unwrap_err();
        assert_eq!(
            fields(error),
            [
                "declaration.owner_account_id",
                "declaration.home_region",
                "declaration.aggregator_name",
                "declaration.account_ids[1]",
                "declaration.regions[0]",
            ]
        );
    }

    #[test]
    fn declarations_need_exactly_one_source_and_one_region_choice() {
        let both = ConfigAggregatorDeclaration::try_from(pb::ConfigAggregatorDeclaration {
            organization_source: true,
            all_regions: true,
            ..message()
        })
        .unwrap_err();
        let both_message = both.to_string();
        assert!(
            both_message.contains("AccountAggregationSource and the OrganizationAggregationSource")
        );
        assert!(both_message.contains("You must choose one of these options"));
        assert_eq!(
            fields(both),
            ["declaration.organization_source", "declaration.regions"]
        );
        let neither = ConfigAggregatorDeclaration::try_from(pb::ConfigAggregatorDeclaration {
            account_ids: Vec::new(),
            regions: Vec::new(),
            ..message()
        })
        .unwrap_err();
        let neither_message = neither.to_string();
        assert!(
            neither_message
                .contains("AccountAggregationSource or the OrganizationAggregationSource")
        );
        assert!(neither_message.contains("Your request does not specify any regions"));
        assert_eq!(
            fields(neither),
            ["declaration.account_ids", "declaration.regions"]
        );
    }

    #[test]
    fn aggregator_names_follow_the_aws_shape() {
        for good in ["a", "main", "Org_Aggregator-2", &"x".repeat(256)] {
            assert!(validate_aggregator_name(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "with space",
            "dots.are.out",
            "ünicode",
            &"x".repeat(257),
        ] {
            assert!(validate_aggregator_name(bad).is_err(), "{bad}");
        }
    }

    fn time(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + seconds, 0).unwrap()
    }

    fn facts(added_at: DateTime<Utc>) -> AccountPairFacts<'static> {
        AccountPairFacts {
            account_id: "222222222222",
            region: "eu-west-1",
            is_owner: false,
            account_status: Some(AccountStatus::Active),
            region_enabled: true,
            grant: None,
            declined_at: None,
            added_at,
        }
    }

    const WEEK: TimeDelta = TimeDelta::days(7);

    #[test]
    fn a_request_is_pending_for_the_window_then_expires() {
        let added = time(0);
        assert_eq!(request_expires_at(added, WEEK), time(7 * 86_400));
        let (status, reason) = account_pair_status(&facts(added), time(7 * 86_400 - 1), WEEK);
        assert_eq!(status, PairStatus::Pending);
        assert!(
            reason.contains("waiting for account 222222222222"),
            "{reason}"
        );
        let (status, _) = account_pair_status(&facts(added), time(7 * 86_400), WEEK);
        assert_eq!(status, PairStatus::Expired);
        assert_eq!(ttl_from_seconds(u64::MAX), TimeDelta::MAX);
        assert_eq!(
            request_expires_at(added, TimeDelta::MAX),
            DateTime::<Utc>::MAX_UTC
        );
    }

    #[test]
    fn an_authorization_wins_over_the_window_and_a_decline() {
        let pair = AccountPairFacts {
            grant: Some(GrantState::Live),
            declined_at: Some(time(10)),
            ..facts(time(0))
        };
        assert_eq!(
            account_pair_status(&pair, time(30 * 86_400), WEEK).0,
            PairStatus::Authorized
        );
    }

    #[test]
    fn revocations_and_declines_count_only_after_the_account_was_added() {
        let revoked_after = AccountPairFacts {
            grant: Some(GrantState::Revoked(time(5))),
            ..facts(time(0))
        };
        assert_eq!(
            account_pair_status(&revoked_after, time(6), WEEK).0,
            PairStatus::Revoked
        );
        let revoked_before = AccountPairFacts {
            grant: Some(GrantState::Revoked(time(5))),
            ..facts(time(9))
        };
        assert_eq!(
            account_pair_status(&revoked_before, time(10), WEEK).0,
            PairStatus::Pending
        );
        let declined_after = AccountPairFacts {
            declined_at: Some(time(5)),
            ..facts(time(0))
        };
        assert_eq!(
            account_pair_status(&declined_after, time(6), WEEK).0,
            PairStatus::Declined
        );
        // A decline stays a decline after the window would have closed.
        assert_eq!(
            account_pair_status(&declined_after, time(30 * 86_400), WEEK).0,
            PairStatus::Declined
        );
        let declined_before = AccountPairFacts {
            declined_at: Some(time(5)),
            ..facts(time(9))
        };
        assert_eq!(
            account_pair_status(&declined_before, time(10), WEEK).0,
            PairStatus::Pending
        );
    }

    #[test]
    fn the_owner_needs_no_authorization_but_must_be_enabled() {
        let owner = AccountPairFacts {
            is_owner: true,
            ..facts(time(0))
        };
        assert_eq!(
            account_pair_status(&owner, time(30 * 86_400), WEEK).0,
            PairStatus::Authorized
        );
        let owner_opted_out = AccountPairFacts {
            region_enabled: false,
            ..owner
        };
        assert_eq!(
            account_pair_status(&owner_opted_out, time(1), WEEK).0,
            PairStatus::NotEnabled
        );
    }

    #[test]
    fn missing_suspended_closed_and_opted_out_accounts_are_not_enabled() {
        for (account_status, region_enabled, expected) in [
            (None, true, "does not exist"),
            (Some(AccountStatus::Suspended), true, "is suspended"),
            (Some(AccountStatus::Closed), true, "is closed"),
            (
                Some(AccountStatus::Active),
                false,
                "opt-in region eu-west-1",
            ),
        ] {
            let pair = AccountPairFacts {
                account_status,
                region_enabled,
                grant: Some(GrantState::Live),
                ..facts(time(0))
            };
            let (status, reason) = account_pair_status(&pair, time(1), WEEK);
            assert_eq!(status, PairStatus::NotEnabled);
            assert!(reason.contains(expected), "{reason}");
        }
    }

    #[test]
    fn organization_members_are_authorized_unless_not_enabled() {
        assert_eq!(
            organization_pair_status(
                "222222222222",
                "eu-west-1",
                "o-abcdefghij",
                AccountStatus::Active,
                true
            )
            .0,
            PairStatus::Authorized
        );
        assert_eq!(
            organization_pair_status(
                "222222222222",
                "eu-west-1",
                "o-abcdefghij",
                AccountStatus::Suspended,
                true
            )
            .0,
            PairStatus::NotEnabled
        );
        assert_eq!(
            organization_pair_status(
                "222222222222",
                "ap-east-1",
                "o-abcdefghij",
                AccountStatus::Active,
                false
            )
            .0,
            PairStatus::NotEnabled
        );
    }
}
