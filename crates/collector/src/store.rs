//! The collector's tables (sea-orm entities) and migrations.

pub mod change_log;
pub mod migrations;

pub use migrations::Migrator;
