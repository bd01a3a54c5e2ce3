//! The `securityhub_hubs` table: one row per account and region where Security Hub is enabled.

use sea_orm::entity::prelude::*;

/// An enabled hub.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "securityhub_hubs")]
pub struct Model {
    /// The account.
    #[sea_orm(primary_key, auto_increment = false)]
    pub account_id: String,
    /// The region.
    #[sea_orm(primary_key, auto_increment = false)]
    pub region: String,
    /// When Security Hub was enabled.
    pub subscribed_at: DateTimeUtc,
    /// When the settings last changed.
    pub updated_at: DateTimeUtc,
    /// Whether new controls are enabled automatically.
    pub auto_enable_controls: bool,
    /// `SECURITY_CONTROL` or `STANDARD_CONTROL`.
    pub control_finding_generator: String,
    /// Whether the default standards were enabled with the hub.
    pub default_standards_enabled: bool,
    /// The hub's tags as a JSON object of key to value.
    pub tags: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
