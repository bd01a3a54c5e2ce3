//! The `enabled_standards` table: the security standards each account enabled in this region.

use sea_orm::entity::prelude::*;

/// One account's subscription to one standard.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "enabled_standards")]
pub struct Model {
    /// The account.
    #[sea_orm(primary_key, auto_increment = false)]
    pub account_id: String,
    /// The standard's ARN in this region.
    #[sea_orm(primary_key, auto_increment = false)]
    pub standards_arn: String,
    /// The `standards_input` given when it was enabled, as a JSON object.
    pub standards_input: String,
    /// When it was enabled, in microseconds since the epoch.
    pub enabled_at_micros: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
