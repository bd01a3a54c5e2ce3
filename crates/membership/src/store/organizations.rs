//! The `organizations` table.

use sea_orm::entity::prelude::*;

/// An organization.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "organizations")]
pub struct Model {
    /// `o-` and 10 lowercase letters or digits.
    #[sea_orm(primary_key, auto_increment = false)]
    pub organization_id: String,
    /// The management account; unique.
    pub management_account_id: String,
    /// `ALL` or `CONSOLIDATED_BILLING`.
    pub feature_set: String,
    /// Creation time.
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
