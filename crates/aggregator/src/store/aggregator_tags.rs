//! The `aggregator_tags` table: the tags of Config aggregators, by ARN and key.

use sea_orm::entity::prelude::*;

/// One tag.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "aggregator_tags")]
pub struct Model {
    /// The tagged aggregator's ARN.
    #[sea_orm(primary_key, auto_increment = false)]
    pub resource_arn: String,
    /// The tag key.
    #[sea_orm(primary_key, auto_increment = false)]
    pub key: String,
    /// The tag value.
    pub value: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
