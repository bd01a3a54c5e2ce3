//! The `config_rule_evaluations` table: the current evaluation result of every (rule, resource),
//! keyed by (account, rule name, resource type, resource id) and indexed by resource for the
//! per-resource views. The result itself is its protobuf encoding, the same bytes as its
//! change-log payload.

use sea_orm::entity::prelude::*;

/// The current result of one rule for one resource.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "config_rule_evaluations")]
pub struct Model {
    /// The owning account.
    #[sea_orm(primary_key, auto_increment = false)]
    pub account_id: String,
    /// The evaluating rule's name.
    #[sea_orm(primary_key, auto_increment = false)]
    pub config_rule_name: String,
    /// The evaluated resource's type.
    #[sea_orm(primary_key, auto_increment = false)]
    pub resource_type: String,
    /// The evaluated resource's id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub resource_id: String,
    /// The evaluating rule's id (part of the change-log key).
    pub config_rule_id: String,
    /// `COMPLIANT`, `NON_COMPLIANT`, `NOT_APPLICABLE` or `INSUFFICIENT_DATA`.
    pub compliance_type: String,
    /// The result's ordering timestamp in microseconds since the Unix epoch.
    pub ordering_time_micros: i64,
    /// The change-log sequence number of the last write.
    pub seq: i64,
    /// The encoded version of the last write.
    pub version: String,
    /// The protobuf encoding of `tributary.collector.v1.EvaluationResult`.
    pub result: Vec<u8>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
