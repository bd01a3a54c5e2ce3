//! The `replication_regions` table: per source region, the last change-log sequence number
//! applied (written in the same transaction as the changes it covers, so a crash neither loses nor
//! repeats a change) and the region's replication status.

use sea_orm::entity::prelude::*;

/// Replication progress of one region.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "replication_regions")]
pub struct Model {
    /// The source region.
    #[sea_orm(primary_key, auto_increment = false)]
    pub region: String,
    /// The highest change-log sequence number applied from the region.
    pub applied_seq: i64,
    /// When a batch was last applied, in microseconds since the Unix epoch.
    pub applied_at: Option<i64>,
    /// "SUCCEEDED", "FAILED" or "OUTDATED".
    pub status: String,
    /// The last failure's code, e.g. "CollectorUnavailable".
    pub error_code: Option<String>,
    /// The last failure's message.
    pub error_message: Option<String>,
    /// When the region's collector was last contacted, in microseconds since the Unix epoch.
    pub last_attempt_micros: Option<i64>,
    /// When the region was last known caught up, in microseconds since the Unix epoch.
    pub last_success_micros: Option<i64>,
    /// How far the replica trailed the region at the last check, in milliseconds.
    pub lag_ms: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
