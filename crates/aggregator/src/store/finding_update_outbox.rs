//! The `finding_update_outbox` table: finding updates made in the home region
//! (BatchUpdateFindings on aggregated findings), written in the same transaction as the local
//! change and deleted only once the origin region's collector acknowledged them.

use sea_orm::entity::prelude::*;

/// One update waiting for its origin region.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "finding_update_outbox")]
pub struct Model {
    /// Increasing: updates of one finding are delivered in this order.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The finding's origin region, where the update goes.
    pub region: String,
    /// The finding's account.
    pub account_id: String,
    /// The finding's product ARN.
    pub product_arn: String,
    /// The finding's id.
    pub finding_id: String,
    /// The protobuf encoding of `tributary.collector.v1.ReplicatedFindingUpdate`.
    pub update: Vec<u8>,
    /// When the update was made, in microseconds since the epoch.
    pub enqueued_at_micros: i64,
    /// Failed deliveries so far.
    pub attempts: i32,
    /// Why the last delivery failed.
    pub last_error: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
