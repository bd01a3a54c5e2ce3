//! The collector's schema migrations, applied in order by [`Migrator`].

use sea_orm_migration::prelude::*;
use tributary_runtime::db::CreateSettingsTable;

/// Applies the collector's migrations.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![Box::new(CreateSettingsTable), Box::new(CreateChangeLog)]
    }
}

#[derive(DeriveIden)]
enum ChangeLog {
    Table,
    Seq,
    AccountId,
    Kind,
    Key,
    Version,
    Op,
    Payload,
    CommittedAt,
}

/// The regional change log.
struct CreateChangeLog;

impl MigrationName for CreateChangeLog {
    fn name(&self) -> &str {
        "m0001_create_change_log"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreateChangeLog {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ChangeLog::Table)
                    .col(
                        ColumnDef::new(ChangeLog::Seq)
                            .big_integer()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(ChangeLog::AccountId)
                            .string_len(12)
                            .not_null(),
                    )
                    .col(ColumnDef::new(ChangeLog::Kind).string_len(32).not_null())
                    .col(ColumnDef::new(ChangeLog::Key).string_len(1024).not_null())
                    .col(ColumnDef::new(ChangeLog::Version).string_len(64).not_null())
                    .col(ColumnDef::new(ChangeLog::Op).string_len(8).not_null())
                    .col(ColumnDef::new(ChangeLog::Payload).blob().not_null())
                    .col(
                        ColumnDef::new(ChangeLog::CommittedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        // Subscribers filter by account while reading in seq order.
        manager
            .create_index(
                Index::create()
                    .name("change_log_account_seq")
                    .table(ChangeLog::Table)
                    .col(ChangeLog::AccountId)
                    .col(ChangeLog::Seq)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ChangeLog::Table).to_owned())
            .await
    }
}
