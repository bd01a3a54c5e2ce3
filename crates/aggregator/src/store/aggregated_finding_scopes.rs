//! The `aggregated_finding_scopes` table: the aggregated set of every finding aggregator, one row
//! per (aggregator, account, origin region) it holds or held. The state says whether new changes
//! of the pair are aggregated and whether the aggregator's owner still sees the pair's copies;
//! rows outlive unlinking and deleting (the copies stay visible, AWS's rule).

use sea_orm::entity::prelude::*;

/// New changes are aggregated; the copies are visible.
pub const LINKED: &str = "linked";
/// Nothing new is aggregated (region unlinked, aggregator deleted, own hub disabled); the copies
/// stay visible.
pub const STOPPED: &str = "stopped";
/// Nothing new is aggregated and the owner no longer sees the copies (a member disassociated);
/// the account itself still sees its own.
pub const HIDDEN: &str = "hidden";

/// One (finding aggregator, account, origin region).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "aggregated_finding_scopes")]
pub struct Model {
    /// The aggregator's owner account.
    #[sea_orm(primary_key, auto_increment = false)]
    pub owner_account_id: String,
    /// The aggregator's home region.
    #[sea_orm(primary_key, auto_increment = false)]
    pub home_region: String,
    /// The account whose findings are aggregated.
    #[sea_orm(primary_key, auto_increment = false)]
    pub account_id: String,
    /// The findings' origin region.
    #[sea_orm(primary_key, auto_increment = false)]
    pub region: String,
    /// [`LINKED`], [`STOPPED`] or [`HIDDEN`].
    pub state: String,
    /// Whether the findings that existed when the pair was linked are copied too (the
    /// aggregator's `backfill_existing_findings`, and always for the home region).
    pub backfill: bool,
    /// The origin change-log sequence number after which the pair's changes are aggregated;
    /// NULL while linking is not complete.
    pub started_seq: Option<i64>,
    /// When the state last changed, in microseconds since the epoch.
    pub changed_at_micros: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
