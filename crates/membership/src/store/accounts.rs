//! The `accounts` table.

use sea_orm::entity::prelude::*;

/// An account.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "accounts")]
pub struct Model {
    /// 12 digits.
    #[sea_orm(primary_key, auto_increment = false)]
    pub account_id: String,
    /// Display name.
    pub name: String,
    /// Contact email, possibly empty.
    pub email: String,
    /// The organization, if any.
    pub organization_id: Option<String>,
    /// `ACTIVE`, `SUSPENDED` or `CLOSED`.
    pub status: String,
    /// Creation time.
    pub created_at: DateTimeUtc,
    /// When it joined its current organization.
    pub joined_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
