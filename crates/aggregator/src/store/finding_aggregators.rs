//! The `finding_aggregators` table: every account's finding aggregator (at most one per account,
//! so the owner account is the key), with its home region, linking mode and region list.
//! Replication reads it to know which finding aggregators exist; per-linked-region progress lives
//! in `finding_aggregator_linked_regions`.

use sea_orm::entity::prelude::*;

/// One finding aggregator.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "finding_aggregators")]
pub struct Model {
    /// The owner account.
    #[sea_orm(primary_key, auto_increment = false)]
    pub owner_account_id: String,
    /// The random id at the end of the ARN (a UUID).
    pub aggregator_id: String,
    /// The aggregator's ARN; unique.
    #[sea_orm(unique)]
    pub arn: String,
    /// The home region (where it was created; never changes).
    pub home_region: String,
    /// The AWS RegionLinkingMode name, e.g. "ALL_REGIONS_EXCEPT_SPECIFIED".
    pub region_linking_mode: String,
    /// The exclusion or inclusion list as a JSON array of region names, sorted; `[]` when unused.
    pub regions: String,
    /// Whether replication copies the existing findings of a newly linked region.
    pub backfill_existing_findings: bool,
    /// When the aggregator was created, in microseconds since the Unix epoch.
    pub created_at_micros: i64,
    /// When the aggregator was last created or updated, in microseconds since the Unix epoch.
    pub updated_at_micros: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
