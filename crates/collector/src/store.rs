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
pub mod control_status;
pub mod enabled_standards;
pub mod finding_history;
pub mod findings;
pub mod insights;
pub mod product_subscriptions;
pub mod standards_control_settings;

pub use migrations::Migrator;
