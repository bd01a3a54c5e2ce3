//! The `securityhub_members` table: administrator/member relationships, one row per administrator,
//! region and member, whatever its status.

use sea_orm::entity::prelude::*;

/// A relationship.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "securityhub_members")]
pub struct Model {
    /// The administrator account.
    #[sea_orm(primary_key, auto_increment = false)]
    pub administrator_id: String,
    /// The region.
    #[sea_orm(primary_key, auto_increment = false)]
    pub region: String,
    /// The member account.
    #[sea_orm(primary_key, auto_increment = false)]
    pub member_id: String,
    /// `ORGANIZATION` or `INVITATION`.
    pub relationship_type: String,
    /// The organization of an `ORGANIZATION` relationship.
    pub organization_id: Option<String>,
    /// Contact email, possibly empty.
    pub email: String,
    /// The status's stored name (`CREATED`, `INVITED`, `ENABLED`, ...).
    pub status: String,
    /// The current invitation, if any.
    pub invitation_id: Option<String>,
    /// When the current invitation was sent.
    pub invited_at: Option<DateTimeUtc>,
    /// When the relationship was first recorded.
    pub created_at: DateTimeUtc,
    /// When it last changed.
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
