//! The `config_rules` table: each account's Config rules in this region, keyed by (account, name).
//! The rule itself is its protobuf encoding, the same bytes as its change-log payload.

use sea_orm::entity::prelude::*;

/// One Config rule.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "config_rules")]
pub struct Model {
    /// The owning account.
    #[sea_orm(primary_key, auto_increment = false)]
    pub account_id: String,
    /// The rule's name, unique per account.
    #[sea_orm(primary_key, auto_increment = false)]
    pub name: String,
    /// The rule's id (`config-rule-xxxxxxxx`), kept across replacements.
    pub rule_id: String,
    /// The change-log sequence number of the last write.
    pub seq: i64,
    /// The encoded version of the last write.
    pub version: String,
    /// The protobuf encoding of `tributary.collector.v1.ConfigRule`.
    pub rule: Vec<u8>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
