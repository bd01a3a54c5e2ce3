//! Security Hub findings.

use sea_orm_migration::prelude::*;

#[derive(DeriveIden)]
enum Findings {
    Table,
    AccountId,
    ProductArn,
    FindingId,
    RecordState,
    WorkflowStatus,
    SeverityLabel,
    UpdatedAtMicros,
    Seq,
    Version,
    Finding,
}

/// The `findings` table: one row per (account, product ARN, finding id) with the columns
/// GetFindings filters and sorts on, and the finding itself as its protobuf encoding.
pub struct CreateFindingsTable;

impl MigrationName for CreateFindingsTable {
    fn name(&self) -> &str {
        "m0004_create_findings_table"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreateFindingsTable {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Findings::Table)
                    .col(
                        ColumnDef::new(Findings::AccountId)
                            .string_len(12)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Findings::ProductArn)
                            .string_len(2048)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Findings::FindingId)
                            .string_len(512)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Findings::RecordState)
                            .string_len(16)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Findings::WorkflowStatus)
                            .string_len(16)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Findings::SeverityLabel)
                            .string_len(16)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Findings::UpdatedAtMicros)
                            .big_integer()
                            .not_null(),
                    )
                    .col(ColumnDef::new(Findings::Seq).big_integer().not_null())
                    .col(ColumnDef::new(Findings::Version).string_len(64).not_null())
                    .col(ColumnDef::new(Findings::Finding).blob().not_null())
                    .primary_key(
                        Index::create()
                            .col(Findings::AccountId)
                            .col(Findings::ProductArn)
                            .col(Findings::FindingId),
                    )
                    .to_owned(),
            )
            .await?;
        // GetFindings of one account, newest first.
        manager
            .create_index(
                Index::create()
                    .name("findings_account_updated")
                    .table(Findings::Table)
                    .col(Findings::AccountId)
                    .col(Findings::UpdatedAtMicros)
                    .to_owned(),
            )
            .await?;
        // GetFindings across accounts (service and operator callers), newest first.
        manager
            .create_index(
                Index::create()
                    .name("findings_updated")
                    .table(Findings::Table)
                    .col(Findings::UpdatedAtMicros)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Findings::Table).to_owned())
            .await
    }
}
