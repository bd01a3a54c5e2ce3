//! The `aggregate_config_items` table: the replicated current configuration item of every resource
//! of every replicated (account, region). Stored once per pair whichever aggregators cover it; the
//! columns views filter, group and query on are derived from the item, which is kept whole.

use sea_orm::entity::prelude::*;

/// The replicated state of one resource.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "aggregate_config_items")]
pub struct Model {
    /// The source account.
    #[sea_orm(primary_key, auto_increment = false)]
    pub account_id: String,
    /// The source region.
    #[sea_orm(primary_key, auto_increment = false)]
    pub region: String,
    /// The resource type, e.g. "AWS::EC2::Instance".
    #[sea_orm(primary_key, auto_increment = false)]
    pub resource_type: String,
    /// The resource id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub resource_id: String,
    /// The resource name; empty when it has none.
    pub resource_name: String,
    /// The resource ARN; empty when unknown.
    pub arn: String,
    /// The availability zone; empty when none.
    pub availability_zone: String,
    /// The AWS item status name: "OK", "ResourceDiscovered", "ResourceNotRecorded",
    /// "ResourceDeleted" or "ResourceDeletedNotRecorded".
    pub item_status: String,
    /// True when the resource was deleted in its source.
    pub deleted: bool,
    /// The item's capture time in microseconds since the Unix epoch.
    pub capture_time_micros: i64,
    /// The tags as a JSON object `{"key": "value"}`.
    pub tags: String,
    /// The configuration as JSON; `{}` when empty.
    pub configuration: String,
    /// The supplementary configuration as a JSON object.
    pub supplementary_configuration: String,
    /// The relationships as a JSON array of
    /// `{"resourceType","resourceId","resourceName","relationshipName"}`.
    pub relationships: String,
    /// The source change-log sequence number of the write.
    pub seq: i64,
    /// The encoded version of the write (32 hex digits; compares like versions).
    pub version: String,
    /// The protobuf encoding of `tributary.collector.v1.ConfigurationItem`.
    pub item: Vec<u8>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
