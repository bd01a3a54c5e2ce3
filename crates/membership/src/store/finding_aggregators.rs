//! The `finding_aggregator_declarations` table: at most one finding aggregator per account.

use sea_orm::entity::prelude::*;

/// A finding aggregator declaration.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "finding_aggregator_declarations")]
pub struct Model {
    /// The owner account; one aggregator per account.
    #[sea_orm(primary_key, auto_increment = false)]
    pub owner_account_id: String,
    /// The aggregation (home) region.
    pub home_region: String,
    /// `ALL_REGIONS`, `ALL_REGIONS_EXCEPT_SPECIFIED`, `SPECIFIED_REGIONS` or `NO_REGIONS`.
    pub linking_mode: String,
    /// The listed regions, comma-separated, in name order.
    pub regions: String,
    /// First declaration.
    pub declared_at: DateTimeUtc,
    /// Last change.
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
