//! The `config_aggregator_regions` table: the explicitly listed regions of aggregators that do not
//! cover all regions.

use sea_orm::entity::prelude::*;

/// One listed region.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "config_aggregator_regions")]
pub struct Model {
    /// The owner account.
    #[sea_orm(primary_key, auto_increment = false)]
    pub owner_account_id: String,
    /// The aggregator's region.
    #[sea_orm(primary_key, auto_increment = false)]
    pub home_region: String,
    /// The aggregator's name.
    #[sea_orm(primary_key, auto_increment = false)]
    pub aggregator_name: String,
    /// The covered region.
    #[sea_orm(primary_key, auto_increment = false)]
    pub region_name: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
