//! The `replication_pairs` table: per replicated (account, region), its replication state,
//! freshness and last error. Source-status views read it.

use sea_orm::entity::prelude::*;

/// Replication progress of one (account, region).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "replication_pairs")]
pub struct Model {
    /// The source account.
    #[sea_orm(primary_key, auto_increment = false)]
    pub account_id: String,
    /// The source region.
    #[sea_orm(primary_key, auto_increment = false)]
    pub region: String,
    /// "snapshot" (back-filling), "live" (following the change log) or "hidden" (no aggregator
    /// is authorized any more; data kept until the retention window ends).
    pub state: String,
    /// "SUCCEEDED", "FAILED" or "OUTDATED".
    pub status: String,
    /// When replication of the pair was last attempted, in microseconds since the Unix epoch.
    pub last_attempt_micros: Option<i64>,
    /// When the pair was last known up to date, in microseconds since the Unix epoch.
    pub last_success_micros: Option<i64>,
    /// The region change-log sequence number the pair's data is consistent with.
    pub applied_seq: i64,
    /// How far the pair's data trailed its source at the last check, in milliseconds.
    pub lag_ms: Option<i64>,
    /// The last failure's code, e.g. "CollectorUnavailable" or "CONFIG_NOT_ENABLED".
    pub error_code: Option<String>,
    /// The last failure's message.
    pub error_message: Option<String>,
    /// When the pair became hidden, in microseconds since the Unix epoch.
    pub hidden_since_micros: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
