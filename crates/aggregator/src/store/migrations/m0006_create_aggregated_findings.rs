//! The aggregated findings of finding aggregators: the findings table with its filter index (the
//! same attribute columns and finding-values table as each collector's, from
//! `tributary_securityhub::schema`), the aggregated set of every aggregator, the replicated control
//! statuses and custom insights, and the outbox of home-region updates waiting to reach their
//! origin region.

use sea_orm::DatabaseBackend;
use sea_orm_migration::prelude::*;
use tributary_securityhub::schema::{
    add_attribute_columns, create_index_tables, drop_index_tables,
};

use crate::findings::TABLES;

#[derive(DeriveIden)]
enum AggregatedFindings {
    Table,
    AccountId,
    ProductArn,
    FindingId,
    Finding,
    FieldVersions,
    Seq,
    Version,
    WrittenAtMicros,
}

#[derive(DeriveIden)]
enum AggregatedFindingScopes {
    Table,
    OwnerAccountId,
    HomeRegion,
    AccountId,
    Region,
    State,
    Backfill,
    StartedSeq,
    ChangedAtMicros,
}

#[derive(DeriveIden)]
enum AggregatedControlStatuses {
    Table,
    AccountId,
    Region,
    SecurityControlId,
    Status,
    EnabledStandards,
    Seq,
    Version,
    UpdatedAtMicros,
}

#[derive(DeriveIden)]
enum AggregatedInsights {
    Table,
    AccountId,
    Region,
    InsightArn,
    Seq,
    Version,
    Insight,
}

#[derive(DeriveIden)]
enum FindingUpdateOutbox {
    Table,
    Id,
    Region,
    AccountId,
    ProductArn,
    FindingId,
    Update,
    EnqueuedAtMicros,
    Attempts,
    LastError,
}

/// Creates the aggregated findings tables.
pub struct CreateAggregatedFindings;

impl MigrationName for CreateAggregatedFindings {
    fn name(&self) -> &str {
        "m0006_create_aggregated_findings"
    }
}

/// A text key column; on PostgreSQL in the `"C"` collation, so filter comparisons and prefix
/// ranges go by code point as on SQLite (the filter index's rule).
fn key_column(name: impl IntoIden, length: u32, backend: DatabaseBackend) -> ColumnDef {
    let mut column = ColumnDef::new(name);
    column.string_len(length).not_null();
    if backend == DatabaseBackend::Postgres {
        column.extra("COLLATE \"C\"");
    }
    column
}

#[async_trait::async_trait]
impl MigrationTrait for CreateAggregatedFindings {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();
        manager
            .create_table(
                Table::create()
                    .table(AggregatedFindings::Table)
                    .col(key_column(AggregatedFindings::AccountId, 12, backend))
                    .col(key_column(AggregatedFindings::ProductArn, 2048, backend))
                    .col(key_column(AggregatedFindings::FindingId, 512, backend))
                    .col(
                        ColumnDef::new(AggregatedFindings::Finding)
                            .blob()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(AggregatedFindings::FieldVersions)
                            .blob()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(AggregatedFindings::Seq)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(AggregatedFindings::Version)
                            .string_len(32)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(AggregatedFindings::WrittenAtMicros)
                            .big_integer()
                            .not_null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(AggregatedFindings::AccountId)
                            .col(AggregatedFindings::ProductArn)
                            .col(AggregatedFindings::FindingId),
                    )
                    .to_owned(),
            )
            .await?;
        add_attribute_columns(manager, &TABLES, &[]).await?;
        create_index_tables(manager, &TABLES).await?;
        // One (account, origin region)'s copies: viewer refreshes and origin deletes.
        manager
            .create_index(
                Index::create()
                    .name("aggregated_findings_pair")
                    .table(AggregatedFindings::Table)
                    .col(AggregatedFindings::AccountId)
                    .col("region")
                    .to_owned(),
            )
            .await?;
        // GetFindings' default order, newest first.
        manager
            .create_index(
                Index::create()
                    .name("aggregated_findings_updated")
                    .table(AggregatedFindings::Table)
                    .col("updated_at_micros")
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(AggregatedFindingScopes::Table)
                    .col(
                        ColumnDef::new(AggregatedFindingScopes::OwnerAccountId)
                            .string_len(12)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(AggregatedFindingScopes::HomeRegion)
                            .string_len(32)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(AggregatedFindingScopes::AccountId)
                            .string_len(12)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(AggregatedFindingScopes::Region)
                            .string_len(32)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(AggregatedFindingScopes::State)
                            .string_len(16)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(AggregatedFindingScopes::Backfill)
                            .boolean()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(AggregatedFindingScopes::StartedSeq)
                            .big_integer()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(AggregatedFindingScopes::ChangedAtMicros)
                            .big_integer()
                            .not_null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(AggregatedFindingScopes::OwnerAccountId)
                            .col(AggregatedFindingScopes::HomeRegion)
                            .col(AggregatedFindingScopes::AccountId)
                            .col(AggregatedFindingScopes::Region),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("aggregated_finding_scopes_pair")
                    .table(AggregatedFindingScopes::Table)
                    .col(AggregatedFindingScopes::AccountId)
                    .col(AggregatedFindingScopes::Region)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("aggregated_finding_scopes_region")
                    .table(AggregatedFindingScopes::Table)
                    .col(AggregatedFindingScopes::Region)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(AggregatedControlStatuses::Table)
                    .col(
                        ColumnDef::new(AggregatedControlStatuses::AccountId)
                            .string_len(12)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(AggregatedControlStatuses::Region)
                            .string_len(32)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(AggregatedControlStatuses::SecurityControlId)
                            .string_len(64)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(AggregatedControlStatuses::Status)
                            .string_len(16)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(AggregatedControlStatuses::EnabledStandards)
                            .text()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(AggregatedControlStatuses::Seq)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(AggregatedControlStatuses::Version)
                            .string_len(32)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(AggregatedControlStatuses::UpdatedAtMicros)
                            .big_integer()
                            .not_null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(AggregatedControlStatuses::AccountId)
                            .col(AggregatedControlStatuses::Region)
                            .col(AggregatedControlStatuses::SecurityControlId),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(AggregatedInsights::Table)
                    .col(
                        ColumnDef::new(AggregatedInsights::AccountId)
                            .string_len(12)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(AggregatedInsights::Region)
                            .string_len(32)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(AggregatedInsights::InsightArn)
                            .string_len(256)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(AggregatedInsights::Seq)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(AggregatedInsights::Version)
                            .string_len(32)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(AggregatedInsights::Insight)
                            .blob()
                            .not_null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(AggregatedInsights::AccountId)
                            .col(AggregatedInsights::Region)
                            .col(AggregatedInsights::InsightArn),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(FindingUpdateOutbox::Table)
                    .col(
                        ColumnDef::new(FindingUpdateOutbox::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(FindingUpdateOutbox::Region)
                            .string_len(32)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(FindingUpdateOutbox::AccountId)
                            .string_len(12)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(FindingUpdateOutbox::ProductArn)
                            .string_len(2048)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(FindingUpdateOutbox::FindingId)
                            .string_len(512)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(FindingUpdateOutbox::Update)
                            .blob()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(FindingUpdateOutbox::EnqueuedAtMicros)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(FindingUpdateOutbox::Attempts)
                            .integer()
                            .not_null(),
                    )
                    .col(ColumnDef::new(FindingUpdateOutbox::LastError).text().null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("finding_update_outbox_region")
                    .table(FindingUpdateOutbox::Table)
                    .col(FindingUpdateOutbox::Region)
                    .col(FindingUpdateOutbox::Id)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            FindingUpdateOutbox::Table.into_iden(),
            AggregatedInsights::Table.into_iden(),
            AggregatedControlStatuses::Table.into_iden(),
            AggregatedFindingScopes::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        drop_index_tables(manager, &TABLES).await?;
        manager
            .drop_table(Table::drop().table(AggregatedFindings::Table).to_owned())
            .await
    }
}
