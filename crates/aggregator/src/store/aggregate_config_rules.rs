//! The `aggregate_config_rules` table: the replicated Config rules of every replicated
//! (account, region).

use sea_orm::entity::prelude::*;

/// One replicated Config rule.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "aggregate_config_rules")]
pub struct Model {
    /// The source account.
    #[sea_orm(primary_key, auto_increment = false)]
    pub account_id: String,
    /// The source region.
    #[sea_orm(primary_key, auto_increment = false)]
    pub region: String,
    /// The rule's name.
    #[sea_orm(primary_key, auto_increment = false)]
    pub name: String,
    /// The rule's id.
    pub rule_id: String,
    /// The source change-log sequence number of the write.
    pub seq: i64,
    /// The encoded version of the write.
    pub version: String,
    /// The protobuf encoding of `tributary.collector.v1.ConfigRule`.
    pub rule: Vec<u8>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
