//! The `aggregate_conformance_packs` table: the replicated conformance packs of every replicated
//! (account, region).

use sea_orm::entity::prelude::*;

/// One replicated conformance pack.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "aggregate_conformance_packs")]
pub struct Model {
    /// The source account.
    #[sea_orm(primary_key, auto_increment = false)]
    pub account_id: String,
    /// The source region.
    #[sea_orm(primary_key, auto_increment = false)]
    pub region: String,
    /// The pack's name.
    #[sea_orm(primary_key, auto_increment = false)]
    pub name: String,
    /// The source change-log sequence number of the write.
    pub seq: i64,
    /// The encoded version of the write.
    pub version: String,
    /// The protobuf encoding of `tributary.collector.v1.ConformancePack`.
    pub pack: Vec<u8>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
