//! The `aggregation_request_declines` table: pending aggregation requests a source declined.
//! A decline applies to the requester's aggregators that added the source no later than the
//! decline; adding the source again afterwards makes a new request.

use sea_orm::entity::prelude::*;

/// A declined request.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "aggregation_request_declines")]
pub struct Model {
    /// The account that declined.
    #[sea_orm(primary_key, auto_increment = false)]
    pub source_account_id: String,
    /// The region it declined in.
    #[sea_orm(primary_key, auto_increment = false)]
    pub source_region: String,
    /// The requesting aggregators' owner.
    #[sea_orm(primary_key, auto_increment = false)]
    pub requester_account_id: String,
    /// The requesting aggregators' region.
    #[sea_orm(primary_key, auto_increment = false)]
    pub requester_region: String,
    /// When it declined (the latest time, when declined again).
    pub declined_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
