//! The collector's tables (sea-orm entities) and migrations.

pub mod change_log;
pub mod change_log_head;
pub mod configuration_item_history;
pub mod configuration_items;
pub mod configuration_recorders;
pub mod migrations;

pub mod config_rule_evaluations;
pub mod config_rules;
pub mod conformance_pack_rules;
pub mod conformance_packs;
pub mod findings;
pub mod finding_history;
pub mod product_subscriptions;
pub mod insights;
pub mod enabled_standards;
pub mod standards_control_settings;
pub mod control_status;

pub use migrations::Migrator;
