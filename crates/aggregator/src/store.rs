//! The aggregator's tables (sea-orm entities) and migrations.

pub mod aggregate_config_items;
pub mod aggregate_config_rules;
pub mod aggregate_conformance_packs;
pub mod aggregate_evaluations;
pub mod aggregate_recorders;
pub mod aggregated_control_statuses;
pub mod aggregated_finding_scopes;
pub mod aggregated_findings;
pub mod aggregated_insights;
pub mod aggregator_entitlements;
pub mod aggregator_tags;
pub mod config_aggregators;
pub mod finding_aggregator_linked_regions;
pub mod finding_aggregators;
pub mod finding_update_outbox;
pub mod migrations;
pub mod replication_lease;
pub mod replication_pairs;
pub mod replication_regions;

pub use migrations::Migrator;

/// Begins a transaction that writes. On SQLite it takes the write lock first (a write that changes
/// nothing), so it waits its turn behind other writers (the busy timeout) instead of failing when
/// another writer commits between its first read and its first write.
pub async fn begin_write(
    db: &sea_orm::DatabaseConnection,
) -> Result<sea_orm::DatabaseTransaction, sea_orm::DbErr> {
    use sea_orm::{ConnectionTrait, TransactionTrait};
    let transaction = db.begin().await?;
    if transaction.get_database_backend() == sea_orm::DatabaseBackend::Sqlite {
        transaction
            .execute_unprepared("UPDATE config_aggregators SET name = name WHERE 0 = 1")
            .await?;
    }
    Ok(transaction)
}
