//! The `account_regions` table: opt-in regions an account enabled.

use sea_orm::entity::prelude::*;

/// An enabled opt-in region.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "account_regions")]
pub struct Model {
    /// The account.
    #[sea_orm(primary_key, auto_increment = false)]
    pub account_id: String,
    /// The opt-in region.
    #[sea_orm(primary_key, auto_increment = false)]
    pub region_name: String,
    /// When it was enabled.
    pub enabled_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
