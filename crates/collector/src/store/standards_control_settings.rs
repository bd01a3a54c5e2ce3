//! The `standards_control_settings` table: controls an account enabled or disabled in one of its
//! standards; a control without a row is enabled and was never changed.

use sea_orm::entity::prelude::*;

/// One control of one standard of one account.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "standards_control_settings")]
pub struct Model {
    /// The account.
    #[sea_orm(primary_key, auto_increment = false)]
    pub account_id: String,
    /// The standard's ARN in this region.
    #[sea_orm(primary_key, auto_increment = false)]
    pub standards_arn: String,
    /// The standard's id of the control (`S3.1`, `2.1`).
    #[sea_orm(primary_key, auto_increment = false)]
    pub control_id: String,
    /// False when disabled.
    pub enabled: bool,
    /// Why it was disabled; empty when enabled.
    pub disabled_reason: String,
    /// When it last changed, in microseconds since the epoch.
    pub updated_at_micros: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
