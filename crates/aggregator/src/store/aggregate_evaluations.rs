//! The `aggregate_evaluations` table: the replicated evaluation results of every replicated
//! (account, region), one per (rule, resource).

use sea_orm::entity::prelude::*;

/// One replicated evaluation result.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "aggregate_evaluations")]
pub struct Model {
    /// The source account.
    #[sea_orm(primary_key, auto_increment = false)]
    pub account_id: String,
    /// The source region.
    #[sea_orm(primary_key, auto_increment = false)]
    pub region: String,
    /// The evaluating rule's name.
    #[sea_orm(primary_key, auto_increment = false)]
    pub config_rule_name: String,
    /// The evaluated resource's type.
    #[sea_orm(primary_key, auto_increment = false)]
    pub resource_type: String,
    /// The evaluated resource's id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub resource_id: String,
    /// The evaluating rule's id.
    pub config_rule_id: String,
    /// "COMPLIANT", "NON_COMPLIANT", "NOT_APPLICABLE" or "INSUFFICIENT_DATA".
    pub compliance_type: String,
    /// The evaluation's ordering timestamp in microseconds since the Unix epoch.
    pub ordering_time_micros: i64,
    /// The source change-log sequence number of the write.
    pub seq: i64,
    /// The encoded version of the write.
    pub version: String,
    /// The protobuf encoding of `tributary.collector.v1.EvaluationResult`.
    pub result: Vec<u8>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
