//! The `finding_aggregator_linked_regions` table: replication progress of each linked region of a
//! finding aggregator, written by finding replication in the same transaction as the findings it
//! applies. The lifecycle only reads it (GetFindingAggregator's `linked_region_status`) and drops
//! the rows of regions an update unlinks or a delete removes.

use sea_orm::entity::prelude::*;

/// Progress of one linked region of one finding aggregator.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "finding_aggregator_linked_regions")]
pub struct Model {
    /// The aggregator's owner account (`finding_aggregators.owner_account_id`).
    #[sea_orm(primary_key, auto_increment = false)]
    pub owner_account_id: String,
    /// The linked region.
    #[sea_orm(primary_key, auto_increment = false)]
    pub region: String,
    /// The highest change-log sequence number of the region applied for this aggregator.
    pub applied_seq: i64,
    /// When changes from the region were last applied, in microseconds since the Unix epoch.
    pub applied_at_micros: Option<i64>,
    /// How far the aggregator trailed the region at the last check, in milliseconds.
    pub lag_ms: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
