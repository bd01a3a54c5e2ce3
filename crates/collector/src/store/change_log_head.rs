//! The `change_log_head` table: one row holding the highest committed sequence number and the
//! compaction horizon. Every write transaction takes this row first, which serialises appends.

use sea_orm::entity::prelude::*;

/// The single head row (`id` = 1).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "change_log_head")]
pub struct Model {
    /// Always 1.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: i32,
    /// The highest committed sequence number; 0 before the first write.
    pub seq: i64,
    /// Cursors below this sequence number may have missed compacted records.
    pub horizon: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
