//! The `finding_history` table: every change of a finding (creation, provider updates, customer
//! updates), keyed by (account, product ARN, finding id, change-log sequence number).

use sea_orm::entity::prelude::*;

/// One change of one finding.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "finding_history")]
pub struct Model {
    /// The finding's account.
    #[sea_orm(primary_key, auto_increment = false)]
    pub account_id: String,
    /// The finding's product.
    #[sea_orm(primary_key, auto_increment = false)]
    pub product_arn: String,
    /// The finding's id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub finding_id: String,
    /// The change-log sequence number of the write: orders a finding's changes.
    #[sea_orm(primary_key, auto_increment = false)]
    pub seq: i64,
    /// When the change was applied, in microseconds since the epoch.
    pub update_time_micros: i64,
    /// The change created the finding.
    pub finding_created: bool,
    /// `BATCH_UPDATE_FINDINGS` or `BATCH_IMPORT_FINDINGS`.
    pub source_type: String,
    /// Who made the change.
    pub source_identity: String,
    /// The changed fields as a JSON array of `{"field", "old", "new"}` objects.
    pub updates: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
