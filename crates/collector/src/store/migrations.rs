//! The collector's schema migrations, applied in order by [`Migrator`].

use sea_orm_migration::prelude::*;
use tributary_runtime::db::CreateSettingsTable;

mod m0003_create_compliance_tables;
mod m0004_create_findings_table;
mod m0005_add_finding_filter_index;
mod m0006_create_finding_history;
mod m0007_create_insights;
mod m0008_create_standards_and_controls;
mod m0009_create_product_subscriptions;

/// Applies the collector's migrations.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(CreateSettingsTable),
            Box::new(CreateChangeLog),
            Box::new(CreateConfigurationTables),
            Box::new(m0003_create_compliance_tables::CreateComplianceTables),
            Box::new(m0004_create_findings_table::CreateFindingsTable),
            Box::new(m0005_add_finding_filter_index::AddFindingFilterIndex),
            Box::new(m0006_create_finding_history::CreateFindingHistory),
            Box::new(m0007_create_insights::CreateInsights),
            Box::new(m0008_create_standards_and_controls::CreateStandardsAndControls),
            Box::new(m0009_create_product_subscriptions::CreateProductSubscriptions),
        ]
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

#[derive(DeriveIden)]
enum ChangeLogHead {
    Table,
    Id,
    Seq,
    Horizon,
}

#[derive(DeriveIden)]
enum ConfigurationRecorders {
    Table,
    AccountId,
    Name,
    AllSupported,
    IncludeGlobalResourceTypes,
    ResourceTypes,
    Recording,
    LastStartTime,
    LastStopTime,
    LastStatus,
    LastStatusChangeTime,
    Seq,
    Version,
}

#[derive(DeriveIden)]
enum ConfigurationItems {
    Table,
    AccountId,
    ResourceType,
    ResourceId,
    ResourceName,
    Deleted,
    CaptureTimeMicros,
    StateId,
    Version,
    Item,
}

#[derive(DeriveIden)]
enum ConfigurationItemHistory {
    Table,
    AccountId,
    ResourceType,
    ResourceId,
    StateId,
    CaptureTimeMicros,
    Item,
}

/// The change-log head row, configuration recorders, current configuration items and their
/// history, and the index compaction looks up newer records of a key with.
struct CreateConfigurationTables;

impl MigrationName for CreateConfigurationTables {
    fn name(&self) -> &str {
        "m0002_create_configuration_tables"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreateConfigurationTables {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ChangeLogHead::Table)
                    .col(
                        ColumnDef::new(ChangeLogHead::Id)
                            .integer()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(ChangeLogHead::Seq).big_integer().not_null())
                    .col(
                        ColumnDef::new(ChangeLogHead::Horizon)
                            .big_integer()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        // The head starts at whatever the log already holds, so sequence numbers never repeat.
        manager
            .get_connection()
            .execute_unprepared(
                "INSERT INTO change_log_head (id, seq, horizon) \
                 SELECT 1, COALESCE(MAX(seq), 0), 0 FROM change_log",
            )
            .await?;
        // Compaction asks "is there a newer record for this key?".
        manager
            .create_index(
                Index::create()
                    .name("change_log_key_seq")
                    .table(ChangeLog::Table)
                    .col(ChangeLog::AccountId)
                    .col(ChangeLog::Kind)
                    .col(ChangeLog::Key)
                    .col(ChangeLog::Seq)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ConfigurationRecorders::Table)
                    .col(
                        ColumnDef::new(ConfigurationRecorders::AccountId)
                            .string_len(12)
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(ConfigurationRecorders::Name)
                            .string_len(256)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ConfigurationRecorders::AllSupported)
                            .boolean()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ConfigurationRecorders::IncludeGlobalResourceTypes)
                            .boolean()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ConfigurationRecorders::ResourceTypes)
                            .text()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ConfigurationRecorders::Recording)
                            .boolean()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ConfigurationRecorders::LastStartTime)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(ConfigurationRecorders::LastStopTime)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(ConfigurationRecorders::LastStatus)
                            .string_len(16)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ConfigurationRecorders::LastStatusChangeTime)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(ConfigurationRecorders::Seq)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ConfigurationRecorders::Version)
                            .string_len(64)
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        // Current items: the primary key serves lookups, listing by type in id order, and counts
        // per type; no further index on the write path.
        manager
            .create_table(
                Table::create()
                    .table(ConfigurationItems::Table)
                    .col(
                        ColumnDef::new(ConfigurationItems::AccountId)
                            .string_len(12)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ConfigurationItems::ResourceType)
                            .string_len(200)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ConfigurationItems::ResourceId)
                            .string_len(768)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ConfigurationItems::ResourceName)
                            .text()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ConfigurationItems::Deleted)
                            .boolean()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ConfigurationItems::CaptureTimeMicros)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ConfigurationItems::StateId)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ConfigurationItems::Version)
                            .string_len(64)
                            .not_null(),
                    )
                    .col(ColumnDef::new(ConfigurationItems::Item).blob().not_null())
                    .primary_key(
                        Index::create()
                            .col(ConfigurationItems::AccountId)
                            .col(ConfigurationItems::ResourceType)
                            .col(ConfigurationItems::ResourceId),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ConfigurationItemHistory::Table)
                    .col(
                        ColumnDef::new(ConfigurationItemHistory::AccountId)
                            .string_len(12)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ConfigurationItemHistory::ResourceType)
                            .string_len(200)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ConfigurationItemHistory::ResourceId)
                            .string_len(768)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ConfigurationItemHistory::StateId)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ConfigurationItemHistory::CaptureTimeMicros)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ConfigurationItemHistory::Item)
                            .blob()
                            .not_null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(ConfigurationItemHistory::AccountId)
                            .col(ConfigurationItemHistory::ResourceType)
                            .col(ConfigurationItemHistory::ResourceId)
                            .col(ConfigurationItemHistory::StateId),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            ConfigurationItemHistory::Table.into_iden(),
            ConfigurationItems::Table.into_iden(),
            ConfigurationRecorders::Table.into_iden(),
            ChangeLogHead::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        manager
            .drop_index(
                Index::drop()
                    .name("change_log_key_seq")
                    .table(ChangeLog::Table)
                    .to_owned(),
            )
            .await
    }
}
