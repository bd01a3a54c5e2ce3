//! Security standards, control settings and control statuses.

use sea_orm::{ConnectionTrait, Statement};
use sea_orm_migration::prelude::*;
use tributary_securityhub::controls::{Bucket, Counts};

use crate::change_log::Clock;

#[derive(DeriveIden)]
enum EnabledStandards {
    Table,
    AccountId,
    StandardsArn,
    StandardsInput,
    EnabledAtMicros,
}

#[derive(DeriveIden)]
enum StandardsControlSettings {
    Table,
    AccountId,
    StandardsArn,
    ControlId,
    Enabled,
    DisabledReason,
    UpdatedAtMicros,
}

#[derive(DeriveIden)]
enum ControlStatus {
    Table,
    AccountId,
    SecurityControlId,
    Passed,
    Failed,
    Unknown,
    Status,
    EnabledStandards,
    UpdatedAtMicros,
    Seq,
    Version,
}

/// The `enabled_standards`, `standards_control_settings` and `control_status` tables; control
/// statuses are back-filled from the control findings already stored.
pub struct CreateStandardsAndControls;

impl MigrationName for CreateStandardsAndControls {
    fn name(&self) -> &str {
        "m0008_create_standards_and_controls"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreateStandardsAndControls {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(EnabledStandards::Table)
                    .col(
                        ColumnDef::new(EnabledStandards::AccountId)
                            .string_len(12)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(EnabledStandards::StandardsArn)
                            .string_len(256)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(EnabledStandards::StandardsInput)
                            .text()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(EnabledStandards::EnabledAtMicros)
                            .big_integer()
                            .not_null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(EnabledStandards::AccountId)
                            .col(EnabledStandards::StandardsArn),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(StandardsControlSettings::Table)
                    .col(
                        ColumnDef::new(StandardsControlSettings::AccountId)
                            .string_len(12)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(StandardsControlSettings::StandardsArn)
                            .string_len(256)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(StandardsControlSettings::ControlId)
                            .string_len(64)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(StandardsControlSettings::Enabled)
                            .boolean()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(StandardsControlSettings::DisabledReason)
                            .text()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(StandardsControlSettings::UpdatedAtMicros)
                            .big_integer()
                            .not_null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(StandardsControlSettings::AccountId)
                            .col(StandardsControlSettings::StandardsArn)
                            .col(StandardsControlSettings::ControlId),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ControlStatus::Table)
                    .col(
                        ColumnDef::new(ControlStatus::AccountId)
                            .string_len(12)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ControlStatus::SecurityControlId)
                            .text()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ControlStatus::Passed)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ControlStatus::Failed)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ControlStatus::Unknown)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ControlStatus::Status)
                            .string_len(16)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ControlStatus::EnabledStandards)
                            .text()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ControlStatus::UpdatedAtMicros)
                            .big_integer()
                            .not_null(),
                    )
                    .col(ColumnDef::new(ControlStatus::Seq).big_integer().not_null())
                    .col(
                        ColumnDef::new(ControlStatus::Version)
                            .string_len(64)
                            .not_null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(ControlStatus::AccountId)
                            .col(ControlStatus::SecurityControlId),
                    )
                    .to_owned(),
            )
            .await?;
        backfill_statuses(manager.get_connection()).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            ControlStatus::Table.into_iden(),
            StandardsControlSettings::Table.into_iden(),
            EnabledStandards::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

/// Counts the control findings stored before statuses were kept. The rows carry the log head as
/// their sequence number and a fresh version, so snapshots include them; no records are
/// appended (no statuses existed to change).
async fn backfill_statuses(connection: &SchemaManagerConnection<'_>) -> Result<(), DbErr> {
    let backend = connection.get_database_backend();
    let rows = connection
        .query_all_raw(Statement::from_string(
            backend,
            "SELECT account_id, compliance_security_control_id, control_bucket, COUNT(*) AS n \
             FROM findings WHERE control_bucket <> '' \
             GROUP BY account_id, compliance_security_control_id, control_bucket",
        ))
        .await?;
    let mut counts: std::collections::BTreeMap<(String, String), Counts> = Default::default();
    for row in rows {
        let account_id: String = row.try_get("", "account_id")?;
        let control_id: String = row.try_get("", "compliance_security_control_id")?;
        let bucket: String = row.try_get("", "control_bucket")?;
        let count: i64 = row.try_get("", "n")?;
        if let Some(bucket) = Bucket::parse(&bucket) {
            counts
                .entry((account_id, control_id))
                .or_default()
                .add(bucket, count);
        }
    }
    if counts.is_empty() {
        return Ok(());
    }
    let head: i64 = connection
        .query_one_raw(Statement::from_string(
            backend,
            "SELECT seq FROM change_log_head WHERE id = 1",
        ))
        .await?
        .map(|row| row.try_get("", "seq"))
        .transpose()?
        .unwrap_or(0);
    let version = Clock::new().tick().encode();
    let now = tributary_runtime::time::now().timestamp_micros();
    let mut insert = Query::insert()
        .into_table(ControlStatus::Table)
        .columns([
            ControlStatus::AccountId,
            ControlStatus::SecurityControlId,
            ControlStatus::Passed,
            ControlStatus::Failed,
            ControlStatus::Unknown,
            ControlStatus::Status,
            ControlStatus::EnabledStandards,
            ControlStatus::UpdatedAtMicros,
            ControlStatus::Seq,
            ControlStatus::Version,
        ])
        .to_owned();
    for ((account_id, control_id), counts) in counts {
        insert
            .values([
                account_id.into(),
                control_id.into(),
                counts.passed.into(),
                counts.failed.into(),
                counts.unknown.into(),
                counts.status().as_str().into(),
                "".into(),
                now.into(),
                head.into(),
                version.as_str().into(),
            ])
            .map_err(|error| DbErr::Custom(error.to_string()))?;
    }
    connection.execute(&insert).await?;
    Ok(())
}
