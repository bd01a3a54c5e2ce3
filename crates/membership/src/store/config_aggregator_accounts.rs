//! The `config_aggregator_accounts` table: the listed source accounts of account-source
//! aggregators, with when each was added (the start of its pending-request window).

use sea_orm::entity::prelude::*;

/// One listed account.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "config_aggregator_accounts")]
pub struct Model {
    /// The owner account.
    #[sea_orm(primary_key, auto_increment = false)]
    pub owner_account_id: String,
    /// The aggregator's region.
    #[sea_orm(primary_key, auto_increment = false)]
    pub home_region: String,
    /// The aggregator's name.
    #[sea_orm(primary_key, auto_increment = false)]
    pub aggregator_name: String,
    /// The source account.
    #[sea_orm(primary_key, auto_increment = false)]
    pub account_id: String,
    /// When the declaration (re)added the account.
    pub added_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
