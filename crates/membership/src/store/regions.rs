//! The `regions` table: the registry of regions and their collectors.

use sea_orm::entity::prelude::*;

/// A registered region.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "regions")]
pub struct Model {
    /// Region name, e.g. `us-east-1`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub region_name: String,
    /// The collector's gRPC endpoint URL.
    pub collector_endpoint: String,
    /// Whether accounts must opt in to the region.
    pub opt_in: bool,
    /// First registration.
    pub registered_at: DateTimeUtc,
    /// Last change of endpoint or opt-in flag.
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
