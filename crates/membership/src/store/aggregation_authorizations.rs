//! The `aggregation_authorizations` table: grants from a source account in a source region to an
//! aggregator account and region. A deleted grant keeps its row with `revoked_at` set, so the pairs
//! it covered resolve as revoked until the source authorizes again.

use sea_orm::entity::prelude::*;

/// An authorization, live or revoked.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "aggregation_authorizations")]
pub struct Model {
    /// The account that granted.
    #[sea_orm(primary_key, auto_increment = false)]
    pub source_account_id: String,
    /// The region the grant covers.
    #[sea_orm(primary_key, auto_increment = false)]
    pub source_region: String,
    /// The account whose aggregators are authorized.
    #[sea_orm(primary_key, auto_increment = false)]
    pub authorized_account_id: String,
    /// The region those aggregators live in.
    #[sea_orm(primary_key, auto_increment = false)]
    pub authorized_region: String,
    /// When the current (or last) grant was created.
    pub created_at: DateTimeUtc,
    /// When the grant was deleted; none while it is live.
    pub revoked_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
