//! The `aggregated_insights` table: the custom insights of every aggregated (account, region),
//! replicated from CHANGE_KIND_INSIGHT records; the home region's ones are the insights
//! finding aggregators evaluate over aggregated findings.

use sea_orm::entity::prelude::*;

/// One custom insight definition.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "aggregated_insights")]
pub struct Model {
    /// The owning account.
    #[sea_orm(primary_key, auto_increment = false)]
    pub account_id: String,
    /// The region the insight was created in.
    #[sea_orm(primary_key, auto_increment = false)]
    pub region: String,
    /// The insight's ARN.
    #[sea_orm(primary_key, auto_increment = false)]
    pub insight_arn: String,
    /// The origin change-log sequence number of the record.
    pub seq: i64,
    /// The record's encoded version.
    pub version: String,
    /// The protobuf encoding of `tributary.collector.v1.Insight`.
    pub insight: Vec<u8>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
