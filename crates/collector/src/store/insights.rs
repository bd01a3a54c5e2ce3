//! The `insights` table: each account's custom Security Hub insights in this region.

use sea_orm::entity::prelude::*;

/// One custom insight.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "insights")]
pub struct Model {
    /// The owning account.
    #[sea_orm(primary_key, auto_increment = false)]
    pub account_id: String,
    /// `arn:aws:securityhub:<region>:<account>:insight/<account>/custom/<uuid>`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub insight_arn: String,
    /// The name, unique within the account.
    pub name: String,
    /// The attribute results are grouped by.
    pub group_by_attribute: String,
    /// The protobuf encoding of the insight's `tributary.collector.v1.FindingFilters`.
    pub filters: Vec<u8>,
    /// The change-log sequence number of the last write.
    pub seq: i64,
    /// The encoded version of the last write.
    pub version: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
