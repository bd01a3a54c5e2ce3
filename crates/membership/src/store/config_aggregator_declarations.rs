//! The `config_aggregator_declarations` table: what each Config aggregator aggregates.

use sea_orm::entity::prelude::*;

/// Source kind of an account-source aggregator.
pub const SOURCE_ACCOUNTS: &str = "ACCOUNTS";
/// Source kind of an organization-source aggregator.
pub const SOURCE_ORGANIZATION: &str = "ORGANIZATION";

/// One aggregator's declaration; its accounts and regions are in the sibling tables.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "config_aggregator_declarations")]
pub struct Model {
    /// The owner account.
    #[sea_orm(primary_key, auto_increment = false)]
    pub owner_account_id: String,
    /// The region the aggregator lives in.
    #[sea_orm(primary_key, auto_increment = false)]
    pub home_region: String,
    /// The aggregator's name, case-sensitive.
    #[sea_orm(primary_key, auto_increment = false)]
    pub aggregator_name: String,
    /// `ACCOUNTS` or `ORGANIZATION`.
    pub source_kind: String,
    /// True when every registered region is covered, now and later.
    pub all_regions: bool,
    /// The organization an organization source was declared against.
    pub organization_id: Option<String>,
    /// First declaration.
    pub declared_at: DateTimeUtc,
    /// Latest declaration.
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
