//! Per-field-group versions of findings and the history of their changes.

use sea_orm_migration::prelude::*;

#[derive(DeriveIden)]
enum Findings {
    Table,
    ProductArn,
    FindingId,
    RecordState,
    FieldVersions,
    WrittenAtMicros,
}

#[derive(DeriveIden)]
enum FindingHistory {
    Table,
    AccountId,
    ProductArn,
    FindingId,
    Seq,
    UpdateTimeMicros,
    FindingCreated,
    SourceType,
    SourceIdentity,
    Updates,
}

/// Adds `findings.field_versions` (the protobuf encoding of the finding's field-group versions)
/// and `findings.written_at_micros`, the indexes BatchUpdateFindings (lookup by product ARN and
/// id) and retention (by record state and last write) use, and the `finding_history` table.
pub struct CreateFindingHistory;

impl MigrationName for CreateFindingHistory {
    fn name(&self) -> &str {
        "m0006_create_finding_history"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreateFindingHistory {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Nullable: findings stored before groups were versioned have none (all groups older
        // than any write).
        manager
            .alter_table(
                Table::alter()
                    .table(Findings::Table)
                    .add_column(ColumnDef::new(Findings::FieldVersions).blob().null())
                    .to_owned(),
            )
            .await?;
        // BatchUpdateFindings and GetFindingHistory name a finding by product ARN and id only.
        manager
            .create_index(
                Index::create()
                    .name("findings_product_id")
                    .table(Findings::Table)
                    .col(Findings::ProductArn)
                    .col(Findings::FindingId)
                    .to_owned(),
            )
            .await?;
        // When this collector last wrote the finding (import, update or replicated update):
        // retention counts from it. Findings stored before count from this migration.
        manager
            .alter_table(
                Table::alter()
                    .table(Findings::Table)
                    .add_column(
                        ColumnDef::new(Findings::WrittenAtMicros)
                            .big_integer()
                            .not_null()
                            .default(0),
                    )
                    .to_owned(),
            )
            .await?;
        let now_micros = chrono::Utc::now().timestamp_micros();
        manager
            .get_connection()
            .execute_unprepared(&format!(
                "UPDATE findings SET written_at_micros = {now_micros}"
            ))
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("findings_retention")
                    .table(Findings::Table)
                    .col(Findings::RecordState)
                    .col(Findings::WrittenAtMicros)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(FindingHistory::Table)
                    .col(
                        ColumnDef::new(FindingHistory::AccountId)
                            .string_len(12)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(FindingHistory::ProductArn)
                            .string_len(2048)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(FindingHistory::FindingId)
                            .string_len(512)
                            .not_null(),
                    )
                    .col(ColumnDef::new(FindingHistory::Seq).big_integer().not_null())
                    .col(
                        ColumnDef::new(FindingHistory::UpdateTimeMicros)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(FindingHistory::FindingCreated)
                            .boolean()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(FindingHistory::SourceType)
                            .string_len(32)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(FindingHistory::SourceIdentity)
                            .text()
                            .not_null(),
                    )
                    .col(ColumnDef::new(FindingHistory::Updates).text().not_null())
                    // Newest first within one finding is the primary key read backwards.
                    .primary_key(
                        Index::create()
                            .col(FindingHistory::AccountId)
                            .col(FindingHistory::ProductArn)
                            .col(FindingHistory::FindingId)
                            .col(FindingHistory::Seq),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(FindingHistory::Table).to_owned())
            .await?;
        for index in ["findings_retention", "findings_product_id"] {
            manager
                .drop_index(Index::drop().name(index).table(Findings::Table).to_owned())
                .await?;
        }
        // One column per statement: SQLite alters one thing at a time.
        for column in [Findings::WrittenAtMicros, Findings::FieldVersions] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Findings::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
