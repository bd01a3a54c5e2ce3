//! The collector's tables (sea-orm entities) and migrations.

pub mod change_log;
pub mod change_log_head;
pub mod configuration_item_history;
pub mod configuration_items;
pub mod configuration_recorders;
pub mod migrations;

pub use migrations::Migrator;
