//! The `aggregated_control_statuses` table: the control statuses of every aggregated (account,
//! region), replicated from CHANGE_KIND_CONTROL_STATUS records.

use sea_orm::entity::prelude::*;

/// How findings rate one security control of one account in one region.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "aggregated_control_statuses")]
pub struct Model {
    /// The account.
    #[sea_orm(primary_key, auto_increment = false)]
    pub account_id: String,
    /// The region the status comes from.
    #[sea_orm(primary_key, auto_increment = false)]
    pub region: String,
    /// The security control id, such as `S3.1`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub security_control_id: String,
    /// `PASSED`, `FAILED`, `UNKNOWN` or `NO_DATA`.
    pub status: String,
    /// The ARNs of the enabled standards the control is enabled in, as a JSON array; `[]` when
    /// it is disabled everywhere.
    pub enabled_standards: String,
    /// The origin change-log sequence number of the record.
    pub seq: i64,
    /// The record's encoded version.
    pub version: String,
    /// When the status changed at the origin, in microseconds since the epoch.
    pub updated_at_micros: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
