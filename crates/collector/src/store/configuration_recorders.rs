//! The `configuration_recorders` table: each account's recorder in this region and its status.

use sea_orm::entity::prelude::*;

/// One account's configuration recorder (an account has at most one per region).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "configuration_recorders")]
pub struct Model {
    /// The owning account.
    #[sea_orm(primary_key, auto_increment = false)]
    pub account_id: String,
    /// The recorder's name.
    pub name: String,
    /// Records every supported resource type.
    pub all_supported: bool,
    /// Also records global resource types.
    pub include_global_resource_types: bool,
    /// The recorded types when not `all_supported`, as a JSON array of strings.
    pub resource_types: String,
    /// True while recording.
    pub recording: bool,
    /// When last started.
    pub last_start_time: Option<DateTimeUtc>,
    /// When last stopped.
    pub last_stop_time: Option<DateTimeUtc>,
    /// `PENDING`, `SUCCESS`, `FAILURE`, or empty before the first start.
    pub last_status: String,
    /// When `last_status` last changed.
    pub last_status_change_time: Option<DateTimeUtc>,
    /// The change-log sequence number of the last write of this row.
    pub seq: i64,
    /// The encoded version of the last write of this row.
    pub version: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
