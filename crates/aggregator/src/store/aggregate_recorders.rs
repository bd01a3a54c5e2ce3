//! The `aggregate_recorders` table: the replicated configuration recorder (at most one per account
//! and region) of every replicated (account, region). Whether it records drives the pair's
//! `CONFIG_NOT_ENABLED` status.

use sea_orm::entity::prelude::*;

/// One replicated recorder and its status.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "aggregate_recorders")]
pub struct Model {
    /// The source account.
    #[sea_orm(primary_key, auto_increment = false)]
    pub account_id: String,
    /// The source region.
    #[sea_orm(primary_key, auto_increment = false)]
    pub region: String,
    /// The recorder's name.
    pub name: String,
    /// True while the recorder is recording.
    pub recording: bool,
    /// The source change-log sequence number of the write.
    pub seq: i64,
    /// The encoded version of the write.
    pub version: String,
    /// The protobuf encoding of `tributary.collector.v1.RecorderState`.
    pub state: Vec<u8>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
