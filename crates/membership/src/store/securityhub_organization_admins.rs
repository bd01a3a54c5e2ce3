//! The `securityhub_organization_admins` table: each organization's Security Hub administrator per
//! region, with the organization configuration that goes with the designation.

use sea_orm::entity::prelude::*;

/// A designation.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "securityhub_organization_admins")]
pub struct Model {
    /// The organization.
    #[sea_orm(primary_key, auto_increment = false)]
    pub organization_id: String,
    /// The region.
    #[sea_orm(primary_key, auto_increment = false)]
    pub region: String,
    /// The designated administrator account.
    pub admin_account_id: String,
    /// Whether accounts that join the organization later are enabled automatically.
    pub auto_enable: bool,
    /// `NONE` or `DEFAULT`.
    pub auto_enable_standards: String,
    /// When the account was designated.
    pub enabled_at: DateTimeUtc,
    /// When the configuration last changed.
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
