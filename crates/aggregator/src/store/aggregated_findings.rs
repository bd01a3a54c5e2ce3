//! The `aggregated_findings` table: the findings finding aggregators hold, one copy per finding
//! whichever aggregators cover it, keyed like each collector's findings (account, product ARN,
//! finding id; a product ARN names its origin region). Besides these columns the table has the
//! filter index's attribute columns (`region` is the origin region) and the
//! `aggregated_finding_values` table, both written by `tributary_securityhub::index`.

use sea_orm::entity::prelude::*;

/// One aggregated finding.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "aggregated_findings")]
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
    /// The region the finding was generated in (its origin), as the finding says.
    pub region: String,
    /// The protobuf encoding of `tributary.collector.v1.Finding`.
    pub finding: Vec<u8>,
    /// The protobuf encoding of the finding's `FindingFieldVersions`.
    pub field_versions: Vec<u8>,
    /// The origin change-log sequence number of the last replicated write applied; 0 when none.
    pub seq: i64,
    /// The encoded version of the newest field group.
    pub version: String,
    /// When this aggregator last wrote the copy, in microseconds since the epoch.
    pub written_at_micros: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
