//! The `aggregation_authorization_tags` table: tags of live aggregation authorizations, by ARN.

use sea_orm::entity::prelude::*;

/// One tag.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "aggregation_authorization_tags")]
pub struct Model {
    /// The authorization's ARN.
    #[sea_orm(primary_key, auto_increment = false)]
    pub resource_arn: String,
    /// 1-128 characters.
    #[sea_orm(primary_key, auto_increment = false)]
    pub tag_key: String,
    /// 0-256 characters.
    pub tag_value: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
