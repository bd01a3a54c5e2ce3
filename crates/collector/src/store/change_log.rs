//! The `change_log` table: every write of the region, in commit order, for aggregators to read.

use sea_orm::entity::prelude::*;

/// One change record.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "change_log")]
pub struct Model {
    /// Strictly increasing per region; never visible before every lower seq has committed.
    #[sea_orm(primary_key, auto_increment = false)]
    pub seq: i64,
    /// The account the change belongs to.
    pub account_id: String,
    /// What changed: a configuration item, an evaluation, a finding, ...
    pub kind: String,
    /// The changed record's key within its kind.
    pub key: String,
    /// The hybrid-logical-clock version of the write, encoded for ordering.
    pub version: String,
    /// `upsert` or `delete`.
    pub op: String,
    /// The record after the change (empty for deletes).
    pub payload: Vec<u8>,
    /// When the change committed.
    pub committed_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
