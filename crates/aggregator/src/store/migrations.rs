//! The aggregator's schema migrations, applied in order by [`Migrator`].

use sea_orm_migration::prelude::*;
use tributary_runtime::db::CreateSettingsTable;

mod m0002_create_replica_tables;
mod m0003_create_config_aggregator_tables;
mod m0004_create_finding_aggregators;
mod m0005_create_advanced_query_index;
mod m0006_create_aggregated_findings;

/// Applies the aggregator's migrations.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(CreateSettingsTable),
            Box::new(CreateReplicationCursors),
            Box::new(m0002_create_replica_tables::CreateReplicaTables),
            Box::new(m0003_create_config_aggregator_tables::CreateConfigAggregatorTables),
            Box::new(m0004_create_finding_aggregators::CreateFindingAggregators),
            Box::new(m0005_create_advanced_query_index::CreateAdvancedQueryIndex),
            Box::new(m0006_create_aggregated_findings::CreateAggregatedFindings),
        ]
    }
}

#[derive(DeriveIden)]
enum ReplicationCursors {
    Table,
    Region,
    AppliedSeq,
    AppliedAt,
}

/// Replication progress per region.
struct CreateReplicationCursors;

impl MigrationName for CreateReplicationCursors {
    fn name(&self) -> &str {
        "m0001_create_replication_cursors"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreateReplicationCursors {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ReplicationCursors::Table)
                    .col(
                        ColumnDef::new(ReplicationCursors::Region)
                            .string_len(32)
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(ReplicationCursors::AppliedSeq)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ReplicationCursors::AppliedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ReplicationCursors::Table).to_owned())
            .await
    }
}
