//! The `organization_service_access` table: trusted access per service principal.

use sea_orm::entity::prelude::*;

/// A service principal with trusted access.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "organization_service_access")]
pub struct Model {
    /// The organization.
    #[sea_orm(primary_key, auto_increment = false)]
    pub organization_id: String,
    /// The service principal.
    #[sea_orm(primary_key, auto_increment = false)]
    pub service_principal: String,
    /// When it was enabled.
    pub enabled_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
