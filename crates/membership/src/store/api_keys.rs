//! The `api_keys` table: one row per key, holding only the key's SHA-256.

use sea_orm::entity::prelude::*;

/// A stored API key.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "api_keys")]
pub struct Model {
    /// Public identifier (`key-<16 hex>`).
    #[sea_orm(primary_key, auto_increment = false)]
    pub key_id: String,
    /// Human label.
    pub name: String,
    /// SHA-256 of the secret, hex; unique.
    #[sea_orm(unique)]
    pub key_hash: String,
    /// `operator`, `service`, `account` or `organization_management`.
    pub principal_kind: String,
    /// Account acted as, for account and organization-management keys.
    pub account_id: Option<String>,
    /// Organization managed, for organization-management keys.
    pub organization_id: Option<String>,
    /// Service name, for service keys.
    pub service_name: Option<String>,
    /// Creation time; with `key_id` the listing order.
    pub created_at: DateTimeUtc,
    /// Revocation time; none while active.
    pub revoked_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
