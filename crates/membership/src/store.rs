//! Membership's tables (sea-orm entities) and migrations.

pub mod account_regions;
pub mod accounts;
pub mod aggregation_authorization_tags;
pub mod aggregation_authorizations;
pub mod aggregation_request_declines;
pub mod api_keys;
pub mod authorizations_migration;
pub mod config_aggregator_accounts;
pub mod config_aggregator_declarations;
pub mod config_aggregator_regions;
pub mod delegated_administrators;
pub mod events;
pub mod finding_aggregators;
pub mod finding_aggregators_migration;
pub mod migrations;
pub mod organizations;
pub mod regions;
pub mod securityhub_hubs;
pub mod securityhub_members;
pub mod securityhub_migration;
pub mod securityhub_organization_admins;
pub mod service_access;

pub use migrations::Migrator;
