//! Membership's tables (sea-orm entities) and migrations.

pub mod api_keys;
pub mod migrations;
pub mod regions;

pub use migrations::Migrator;
