//! The replica of collectors' Config data, the entitlement mirror, and replication progress.
//!
//! Replaces `replication_cursors` (never written before this migration) with
//! `replication_regions`, which also carries each region's status.

use sea_orm_migration::prelude::*;

#[derive(DeriveIden)]
enum AggregateConfigItems {
    Table,
    AccountId,
    Region,
    ResourceType,
    ResourceId,
    ResourceName,
    Arn,
    AvailabilityZone,
    ItemStatus,
    Deleted,
    CaptureTimeMicros,
    Tags,
    Configuration,
    SupplementaryConfiguration,
    Relationships,
    Seq,
    Version,
    Item,
}

#[derive(DeriveIden)]
enum AggregateConfigRules {
    Table,
    AccountId,
    Region,
    Name,
    RuleId,
    Seq,
    Version,
    Rule,
}

#[derive(DeriveIden)]
enum AggregateEvaluations {
    Table,
    AccountId,
    Region,
    ConfigRuleName,
    ResourceType,
    ResourceId,
    ConfigRuleId,
    ComplianceType,
    OrderingTimeMicros,
    Seq,
    Version,
    Result,
}

#[derive(DeriveIden)]
enum AggregateConformancePacks {
    Table,
    AccountId,
    Region,
    Name,
    Seq,
    Version,
    Pack,
}

#[derive(DeriveIden)]
enum AggregateRecorders {
    Table,
    AccountId,
    Region,
    Name,
    Recording,
    Seq,
    Version,
    State,
}

#[derive(DeriveIden)]
enum AggregatorEntitlements {
    Table,
    OwnerAccountId,
    HomeRegion,
    AggregatorName,
    AccountId,
    Region,
    Status,
    Reason,
    ChangedAtMicros,
}

#[derive(DeriveIden)]
enum ReplicationPairs {
    Table,
    AccountId,
    Region,
    State,
    Status,
    LastAttemptMicros,
    LastSuccessMicros,
    AppliedSeq,
    LagMs,
    ErrorCode,
    ErrorMessage,
    HiddenSinceMicros,
}

#[derive(DeriveIden)]
enum ReplicationRegions {
    Table,
    Region,
    AppliedSeq,
    AppliedAt,
    Status,
    ErrorCode,
    ErrorMessage,
    LastAttemptMicros,
    LastSuccessMicros,
    LagMs,
}

#[derive(DeriveIden)]
enum ReplicationLease {
    Table,
    Name,
    Holder,
    ExpiresAtMicros,
}

#[derive(DeriveIden)]
enum ReplicationCursors {
    Table,
}

/// Creates the replica, entitlement-mirror and replication-progress tables.
pub struct CreateReplicaTables;

impl MigrationName for CreateReplicaTables {
    fn name(&self) -> &str {
        "m0002_create_replica_tables"
    }
}

fn account(column: impl IntoIden) -> ColumnDef {
    ColumnDef::new(column).string_len(12).not_null().to_owned()
}

fn region(column: impl IntoIden) -> ColumnDef {
    ColumnDef::new(column).string_len(32).not_null().to_owned()
}

fn version(column: impl IntoIden) -> ColumnDef {
    ColumnDef::new(column).string_len(32).not_null().to_owned()
}

fn seq(column: impl IntoIden) -> ColumnDef {
    ColumnDef::new(column).big_integer().not_null().to_owned()
}

fn text(column: impl IntoIden) -> ColumnDef {
    ColumnDef::new(column).text().not_null().to_owned()
}

fn micros_null(column: impl IntoIden) -> ColumnDef {
    ColumnDef::new(column).big_integer().null().to_owned()
}

fn string_null(column: impl IntoIden) -> ColumnDef {
    ColumnDef::new(column).string().null().to_owned()
}

impl CreateReplicaTables {
    async fn create_replica(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AggregateConfigItems::Table)
                    .col(account(AggregateConfigItems::AccountId))
                    .col(region(AggregateConfigItems::Region))
                    .col(
                        ColumnDef::new(AggregateConfigItems::ResourceType)
                            .string_len(256)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(AggregateConfigItems::ResourceId)
                            .string_len(768)
                            .not_null(),
                    )
                    .col(text(AggregateConfigItems::ResourceName))
                    .col(text(AggregateConfigItems::Arn))
                    .col(text(AggregateConfigItems::AvailabilityZone))
                    .col(
                        ColumnDef::new(AggregateConfigItems::ItemStatus)
                            .string_len(32)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(AggregateConfigItems::Deleted)
                            .boolean()
                            .not_null(),
                    )
                    .col(seq(AggregateConfigItems::CaptureTimeMicros))
                    .col(text(AggregateConfigItems::Tags))
                    .col(text(AggregateConfigItems::Configuration))
                    .col(text(AggregateConfigItems::SupplementaryConfiguration))
                    .col(text(AggregateConfigItems::Relationships))
                    .col(seq(AggregateConfigItems::Seq))
                    .col(version(AggregateConfigItems::Version))
                    .col(ColumnDef::new(AggregateConfigItems::Item).blob().not_null())
                    .primary_key(
                        Index::create()
                            .col(AggregateConfigItems::AccountId)
                            .col(AggregateConfigItems::Region)
                            .col(AggregateConfigItems::ResourceType)
                            .col(AggregateConfigItems::ResourceId),
                    )
                    .to_owned(),
            )
            .await?;
        // Type-first listing and counting across accounts and regions.
        manager
            .create_index(
                Index::create()
                    .name("aggregate_config_items_type")
                    .table(AggregateConfigItems::Table)
                    .col(AggregateConfigItems::ResourceType)
                    .col(AggregateConfigItems::AccountId)
                    .col(AggregateConfigItems::Region)
                    .to_owned(),
            )
            .await?;
        // Per-source scans (purges, counts by account and region).
        manager
            .create_index(
                Index::create()
                    .name("aggregate_config_items_source_type")
                    .table(AggregateConfigItems::Table)
                    .col(AggregateConfigItems::AccountId)
                    .col(AggregateConfigItems::Region)
                    .col(AggregateConfigItems::ResourceType)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(AggregateConfigRules::Table)
                    .col(account(AggregateConfigRules::AccountId))
                    .col(region(AggregateConfigRules::Region))
                    .col(
                        ColumnDef::new(AggregateConfigRules::Name)
                            .string_len(128)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(AggregateConfigRules::RuleId)
                            .string_len(64)
                            .not_null(),
                    )
                    .col(seq(AggregateConfigRules::Seq))
                    .col(version(AggregateConfigRules::Version))
                    .col(ColumnDef::new(AggregateConfigRules::Rule).blob().not_null())
                    .primary_key(
                        Index::create()
                            .col(AggregateConfigRules::AccountId)
                            .col(AggregateConfigRules::Region)
                            .col(AggregateConfigRules::Name),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(AggregateEvaluations::Table)
                    .col(account(AggregateEvaluations::AccountId))
                    .col(region(AggregateEvaluations::Region))
                    .col(
                        ColumnDef::new(AggregateEvaluations::ConfigRuleName)
                            .string_len(128)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(AggregateEvaluations::ResourceType)
                            .string_len(256)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(AggregateEvaluations::ResourceId)
                            .string_len(768)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(AggregateEvaluations::ConfigRuleId)
                            .string_len(64)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(AggregateEvaluations::ComplianceType)
                            .string_len(32)
                            .not_null(),
                    )
                    .col(seq(AggregateEvaluations::OrderingTimeMicros))
                    .col(seq(AggregateEvaluations::Seq))
                    .col(version(AggregateEvaluations::Version))
                    .col(
                        ColumnDef::new(AggregateEvaluations::Result)
                            .blob()
                            .not_null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(AggregateEvaluations::AccountId)
                            .col(AggregateEvaluations::Region)
                            .col(AggregateEvaluations::ConfigRuleName)
                            .col(AggregateEvaluations::ResourceType)
                            .col(AggregateEvaluations::ResourceId),
                    )
                    .to_owned(),
            )
            .await?;
        // Rule-first compliance views across accounts and regions.
        manager
            .create_index(
                Index::create()
                    .name("aggregate_evaluations_rule")
                    .table(AggregateEvaluations::Table)
                    .col(AggregateEvaluations::ConfigRuleName)
                    .col(AggregateEvaluations::AccountId)
                    .col(AggregateEvaluations::Region)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(AggregateConformancePacks::Table)
                    .col(account(AggregateConformancePacks::AccountId))
                    .col(region(AggregateConformancePacks::Region))
                    .col(
                        ColumnDef::new(AggregateConformancePacks::Name)
                            .string_len(256)
                            .not_null(),
                    )
                    .col(seq(AggregateConformancePacks::Seq))
                    .col(version(AggregateConformancePacks::Version))
                    .col(
                        ColumnDef::new(AggregateConformancePacks::Pack)
                            .blob()
                            .not_null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(AggregateConformancePacks::AccountId)
                            .col(AggregateConformancePacks::Region)
                            .col(AggregateConformancePacks::Name),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(AggregateRecorders::Table)
                    .col(account(AggregateRecorders::AccountId))
                    .col(region(AggregateRecorders::Region))
                    .col(
                        ColumnDef::new(AggregateRecorders::Name)
                            .string_len(256)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(AggregateRecorders::Recording)
                            .boolean()
                            .not_null(),
                    )
                    .col(seq(AggregateRecorders::Seq))
                    .col(version(AggregateRecorders::Version))
                    .col(ColumnDef::new(AggregateRecorders::State).blob().not_null())
                    .primary_key(
                        Index::create()
                            .col(AggregateRecorders::AccountId)
                            .col(AggregateRecorders::Region),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn create_bookkeeping(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AggregatorEntitlements::Table)
                    .col(account(AggregatorEntitlements::OwnerAccountId))
                    .col(region(AggregatorEntitlements::HomeRegion))
                    .col(
                        ColumnDef::new(AggregatorEntitlements::AggregatorName)
                            .string_len(256)
                            .not_null(),
                    )
                    .col(account(AggregatorEntitlements::AccountId))
                    .col(region(AggregatorEntitlements::Region))
                    .col(
                        ColumnDef::new(AggregatorEntitlements::Status)
                            .string_len(16)
                            .not_null(),
                    )
                    .col(text(AggregatorEntitlements::Reason))
                    .col(seq(AggregatorEntitlements::ChangedAtMicros))
                    .primary_key(
                        Index::create()
                            .col(AggregatorEntitlements::OwnerAccountId)
                            .col(AggregatorEntitlements::HomeRegion)
                            .col(AggregatorEntitlements::AggregatorName)
                            .col(AggregatorEntitlements::AccountId)
                            .col(AggregatorEntitlements::Region),
                    )
                    .to_owned(),
            )
            .await?;
        // "Which aggregators cover this pair" for purges and the union of entitled pairs.
        manager
            .create_index(
                Index::create()
                    .name("aggregator_entitlements_pair")
                    .table(AggregatorEntitlements::Table)
                    .col(AggregatorEntitlements::AccountId)
                    .col(AggregatorEntitlements::Region)
                    .col(AggregatorEntitlements::Status)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ReplicationPairs::Table)
                    .col(account(ReplicationPairs::AccountId))
                    .col(region(ReplicationPairs::Region))
                    .col(
                        ColumnDef::new(ReplicationPairs::State)
                            .string_len(16)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ReplicationPairs::Status)
                            .string_len(16)
                            .not_null(),
                    )
                    .col(micros_null(ReplicationPairs::LastAttemptMicros))
                    .col(micros_null(ReplicationPairs::LastSuccessMicros))
                    .col(seq(ReplicationPairs::AppliedSeq))
                    .col(micros_null(ReplicationPairs::LagMs))
                    .col(string_null(ReplicationPairs::ErrorCode))
                    .col(ColumnDef::new(ReplicationPairs::ErrorMessage).text().null())
                    .col(micros_null(ReplicationPairs::HiddenSinceMicros))
                    .primary_key(
                        Index::create()
                            .col(ReplicationPairs::AccountId)
                            .col(ReplicationPairs::Region),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ReplicationRegions::Table)
                    .col(
                        ColumnDef::new(ReplicationRegions::Region)
                            .string_len(32)
                            .not_null()
                            .primary_key(),
                    )
                    .col(seq(ReplicationRegions::AppliedSeq))
                    .col(micros_null(ReplicationRegions::AppliedAt))
                    .col(
                        ColumnDef::new(ReplicationRegions::Status)
                            .string_len(16)
                            .not_null(),
                    )
                    .col(string_null(ReplicationRegions::ErrorCode))
                    .col(
                        ColumnDef::new(ReplicationRegions::ErrorMessage)
                            .text()
                            .null(),
                    )
                    .col(micros_null(ReplicationRegions::LastAttemptMicros))
                    .col(micros_null(ReplicationRegions::LastSuccessMicros))
                    .col(micros_null(ReplicationRegions::LagMs))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ReplicationLease::Table)
                    .col(
                        ColumnDef::new(ReplicationLease::Name)
                            .string_len(64)
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(ReplicationLease::Holder)
                            .string_len(64)
                            .not_null(),
                    )
                    .col(seq(ReplicationLease::ExpiresAtMicros))
                    .to_owned(),
            )
            .await
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreateReplicaTables {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        Self::create_replica(manager).await?;
        Self::create_bookkeeping(manager).await?;
        manager
            .drop_table(
                Table::drop()
                    .table(ReplicationCursors::Table)
                    .if_exists()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            AggregateConfigItems::Table.into_iden(),
            AggregateConfigRules::Table.into_iden(),
            AggregateEvaluations::Table.into_iden(),
            AggregateConformancePacks::Table.into_iden(),
            AggregateRecorders::Table.into_iden(),
            AggregatorEntitlements::Table.into_iden(),
            ReplicationPairs::Table.into_iden(),
            ReplicationRegions::Table.into_iden(),
            ReplicationLease::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        super::CreateReplicationCursors.up(manager).await
    }
}
