//! The `product_subscriptions` table: the products each account accepts findings from in this
//! region.

use sea_orm::entity::prelude::*;

/// One account's subscription to one product.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "product_subscriptions")]
pub struct Model {
    /// The subscribing account.
    #[sea_orm(primary_key, auto_increment = false)]
    pub account_id: String,
    /// The product.
    #[sea_orm(primary_key, auto_increment = false)]
    pub product_arn: String,
    /// When the subscription was made.
    pub enabled_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
