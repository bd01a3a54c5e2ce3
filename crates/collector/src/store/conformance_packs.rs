//! The `conformance_packs` table: each account's conformance packs in this region, keyed by
//! (account, name). The pack itself is its protobuf encoding, the same bytes as its change-log
//! payload; its rules are also listed in `conformance_pack_rules` for lookups by rule.

use sea_orm::entity::prelude::*;

/// One conformance pack.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "conformance_packs")]
pub struct Model {
    /// The owning account.
    #[sea_orm(primary_key, auto_increment = false)]
    pub account_id: String,
    /// The pack's name, unique per account.
    #[sea_orm(primary_key, auto_increment = false)]
    pub name: String,
    /// The pack's id (`conformance-pack-xxxxxxxx`), kept across replacements.
    pub pack_id: String,
    /// The change-log sequence number of the last write.
    pub seq: i64,
    /// The encoded version of the last write.
    pub version: String,
    /// The protobuf encoding of `tributary.collector.v1.ConformancePack`.
    pub pack: Vec<u8>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
