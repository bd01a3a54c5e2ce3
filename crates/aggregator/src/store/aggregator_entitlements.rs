//! The `aggregator_entitlements` table: the local mirror of membership's `ResolveEntitlements`
//! for every Config aggregator, kept current by replication. Views show a pair's data to an
//! aggregator only while its row here is AUTHORIZED.

use sea_orm::entity::prelude::*;

/// The membership pair status name that lets an aggregator see a pair's data.
pub const AUTHORIZED: &str = "AUTHORIZED";

/// One (aggregator, account, region) pair and its status.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "aggregator_entitlements")]
pub struct Model {
    /// The aggregator's owner account.
    #[sea_orm(primary_key, auto_increment = false)]
    pub owner_account_id: String,
    /// The aggregator's home region.
    #[sea_orm(primary_key, auto_increment = false)]
    pub home_region: String,
    /// The aggregator's name.
    #[sea_orm(primary_key, auto_increment = false)]
    pub aggregator_name: String,
    /// The source account.
    #[sea_orm(primary_key, auto_increment = false)]
    pub account_id: String,
    /// The source region.
    #[sea_orm(primary_key, auto_increment = false)]
    pub region: String,
    /// Membership's pair status name: "AUTHORIZED", "PENDING", "DECLINED", "EXPIRED",
    /// "NOT_ENABLED", "NOT_A_MEMBER" or "REVOKED".
    pub status: String,
    /// Membership's explanation of the status.
    pub reason: String,
    /// When the status last changed, in microseconds since the Unix epoch.
    pub changed_at_micros: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
