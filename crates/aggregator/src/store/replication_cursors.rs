//! The `replication_cursors` table: per region, the last change-log seq applied. It is written in
//! the same transaction as the changes it covers, so a crash neither loses nor repeats a change.

use sea_orm::entity::prelude::*;

/// One region's replication cursor.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "replication_cursors")]
pub struct Model {
    /// The source region.
    #[sea_orm(primary_key, auto_increment = false)]
    pub region: String,
    /// The highest seq applied from that region.
    pub applied_seq: i64,
    /// When the last batch was applied.
    pub applied_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
