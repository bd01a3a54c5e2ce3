//! The `membership_events` table: every membership change, by revision.

use sea_orm::entity::prelude::*;

/// One recorded change.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "membership_events")]
pub struct Model {
    /// Strictly increasing, gap-free.
    #[sea_orm(primary_key, auto_increment = false)]
    pub revision: i64,
    /// What changed.
    pub kind: String,
    /// The account concerned.
    pub account_id: Option<String>,
    /// The region concerned.
    pub region: Option<String>,
    /// The organization concerned.
    pub organization_id: Option<String>,
    /// The other party.
    pub related_account_id: Option<String>,
    /// Commit time.
    pub recorded_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
