//! The `findings` table: each account's Security Hub findings in this region, keyed by (account,
//! product ARN, finding id). The finding itself is its protobuf encoding, the same bytes as its
//! change-log payload.

use sea_orm::entity::prelude::*;

/// One finding.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "findings")]
pub struct Model {
    /// The owning account (`AwsAccountId`).
    #[sea_orm(primary_key, auto_increment = false)]
    pub account_id: String,
    /// The product that generated the finding.
    #[sea_orm(primary_key, auto_increment = false)]
    pub product_arn: String,
    /// The provider's id of the finding.
    #[sea_orm(primary_key, auto_increment = false)]
    pub finding_id: String,
    /// `ACTIVE` or `ARCHIVED`.
    pub record_state: String,
    /// `NEW`, `NOTIFIED`, `RESOLVED` or `SUPPRESSED`.
    pub workflow_status: String,
    /// `INFORMATIONAL`, `LOW`, `MEDIUM`, `HIGH` or `CRITICAL`.
    pub severity_label: String,
    /// The provider's `UpdatedAt` in microseconds since the epoch.
    pub updated_at_micros: i64,
    /// The change-log sequence number of the last write.
    pub seq: i64,
    /// The encoded version of the last write.
    pub version: String,
    /// The protobuf encoding of `tributary.collector.v1.Finding`.
    pub finding: Vec<u8>,
    /// The protobuf encoding of the finding's `FindingFieldVersions`; absent for findings stored
    /// before groups were versioned.
    pub field_versions: Option<Vec<u8>>,
    /// When this collector last wrote the finding, in microseconds since the epoch; retention
    /// counts from it.
    pub written_at_micros: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
