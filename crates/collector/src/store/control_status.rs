//! The `control_status` table: per account and security control, how many counting control
//! findings PASSED, FAILED or were UNKNOWN, the status that gives, and the enabled standards the
//! control is enabled in. Kept up to date in the transaction of every finding write.

use sea_orm::entity::prelude::*;

/// One security control of one account.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "control_status")]
pub struct Model {
    /// The account.
    #[sea_orm(primary_key, auto_increment = false)]
    pub account_id: String,
    /// The security control id (`S3.1`).
    #[sea_orm(primary_key, auto_increment = false)]
    pub security_control_id: String,
    /// Counting findings that PASSED.
    pub passed: i64,
    /// Counting findings that FAILED.
    pub failed: i64,
    /// Counting findings with WARNING or NOT_AVAILABLE.
    pub unknown: i64,
    /// `PASSED`, `FAILED`, `UNKNOWN` or `NO_DATA`.
    pub status: String,
    /// The standards ARNs the control is enabled in, sorted, one per line.
    pub enabled_standards: String,
    /// When status or enabled_standards last changed, in microseconds since the epoch.
    pub updated_at_micros: i64,
    /// The change-log sequence number of the last change record.
    pub seq: i64,
    /// The encoded version of the last change record.
    pub version: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
