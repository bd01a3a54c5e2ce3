//! The `replication_lease` table: on SQLite, the row naming the one aggregator replica that
//! replicates, until it expires. (PostgreSQL uses an advisory lock instead.)

use sea_orm::entity::prelude::*;

/// One lease.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "replication_lease")]
pub struct Model {
    /// The lease's name.
    #[sea_orm(primary_key, auto_increment = false)]
    pub name: String,
    /// The holding replica's random id.
    pub holder: String,
    /// When the lease lapses unless renewed, in microseconds since the Unix epoch.
    pub expires_at_micros: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
