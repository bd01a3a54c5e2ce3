//! The `conformance_pack_rules` table: which rules each conformance pack holds, keyed by (account,
//! pack, rule) and indexed by (account, rule) so deleting a rule can tell whether a pack holds it.

use sea_orm::entity::prelude::*;

/// One rule of one pack.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "conformance_pack_rules")]
pub struct Model {
    /// The owning account.
    #[sea_orm(primary_key, auto_increment = false)]
    pub account_id: String,
    /// The pack's name.
    #[sea_orm(primary_key, auto_increment = false)]
    pub conformance_pack_name: String,
    /// The rule's name.
    #[sea_orm(primary_key, auto_increment = false)]
    pub config_rule_name: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
