//! Membership's tables (sea-orm entities) and migrations.

pub mod account_regions;
pub mod accounts;
pub mod api_keys;
pub mod delegated_administrators;
pub mod events;
pub mod migrations;
pub mod organizations;
pub mod regions;
pub mod service_access;

pub use migrations::Migrator;
