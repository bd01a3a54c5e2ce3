//! The `configuration_items` table: the current configuration item of every resource, keyed by
//! (account, type, id). Only what queries filter and page on is a column; the item itself is its
//! protobuf encoding.

use sea_orm::entity::prelude::*;

/// The current state of one resource.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "configuration_items")]
pub struct Model {
    /// The owning account.
    #[sea_orm(primary_key, auto_increment = false)]
    pub account_id: String,
    /// The resource type.
    #[sea_orm(primary_key, auto_increment = false)]
    pub resource_type: String,
    /// The resource id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub resource_id: String,
    /// The resource name; empty when it has none.
    pub resource_name: String,
    /// True when the item records a deletion.
    pub deleted: bool,
    /// The item's capture time in microseconds since the Unix epoch.
    pub capture_time_micros: i64,
    /// The item's configuration state id (the change-log sequence number that wrote it).
    pub state_id: i64,
    /// The encoded version of the write.
    pub version: String,
    /// The protobuf encoding of `tributary.collector.v1.ConfigurationItem`.
    pub item: Vec<u8>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
