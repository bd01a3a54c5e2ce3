//! The `delegated_administrators` table.

use sea_orm::entity::prelude::*;

/// A delegated administrator registration.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "delegated_administrators")]
pub struct Model {
    /// The organization.
    #[sea_orm(primary_key, auto_increment = false)]
    pub organization_id: String,
    /// The registered member account.
    #[sea_orm(primary_key, auto_increment = false)]
    pub account_id: String,
    /// The service principal.
    #[sea_orm(primary_key, auto_increment = false)]
    pub service_principal: String,
    /// Registration time.
    pub registered_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
