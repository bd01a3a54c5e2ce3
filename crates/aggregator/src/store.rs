//! The aggregator's tables (sea-orm entities) and migrations.

pub mod migrations;
pub mod replication_cursors;

pub use migrations::Migrator;
