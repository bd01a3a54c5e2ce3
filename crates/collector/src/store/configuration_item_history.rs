//! The `configuration_item_history` table: every configuration item ever recorded, per resource
//! and state id.

use sea_orm::entity::prelude::*;

/// One recorded state of one resource.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "configuration_item_history")]
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
    /// The item's configuration state id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub state_id: i64,
    /// The item's capture time in microseconds since the Unix epoch.
    pub capture_time_micros: i64,
    /// The protobuf encoding of `tributary.collector.v1.ConfigurationItem`.
    pub item: Vec<u8>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
