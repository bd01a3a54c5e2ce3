//! The `config_aggregators` table: every Config aggregator, keyed by (owner account, home region,
//! name), with its whole definition as the protobuf `tributary.aggregator.v1.ConfigurationAggregator`.
//! Replication reads it to know which aggregators exist.

use sea_orm::entity::prelude::*;

/// One Config aggregator.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "config_aggregators")]
pub struct Model {
    /// The owner account.
    #[sea_orm(primary_key, auto_increment = false)]
    pub owner_account_id: String,
    /// The home region.
    #[sea_orm(primary_key, auto_increment = false)]
    pub home_region: String,
    /// The aggregator's name (case-sensitive).
    #[sea_orm(primary_key, auto_increment = false)]
    pub name: String,
    /// The aggregator's ARN; unique and stable across puts.
    #[sea_orm(unique)]
    pub arn: String,
    /// When the aggregator was created, in microseconds since the Unix epoch.
    pub created_at_micros: i64,
    /// When the aggregator was last put, in microseconds since the Unix epoch.
    pub updated_at_micros: i64,
    /// True for an organization source, false for listed accounts.
    pub organization_source: bool,
    /// True when the aggregator covers every registered region.
    pub all_regions: bool,
    /// The encoded `ConfigurationAggregator`.
    pub definition: Vec<u8>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
