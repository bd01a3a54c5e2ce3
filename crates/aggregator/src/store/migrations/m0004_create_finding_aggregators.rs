//! Finding aggregators and the replication progress of their linked regions.

use sea_orm_migration::prelude::*;

#[derive(DeriveIden)]
enum FindingAggregators {
    Table,
    OwnerAccountId,
    AggregatorId,
    Arn,
    HomeRegion,
    RegionLinkingMode,
    Regions,
    BackfillExistingFindings,
    CreatedAtMicros,
    UpdatedAtMicros,
}

#[derive(DeriveIden)]
enum FindingAggregatorLinkedRegions {
    Table,
    OwnerAccountId,
    Region,
    AppliedSeq,
    AppliedAtMicros,
    LagMs,
}

/// Creates `finding_aggregators` and `finding_aggregator_linked_regions`.
pub struct CreateFindingAggregators;

impl MigrationName for CreateFindingAggregators {
    fn name(&self) -> &str {
        "m0004_create_finding_aggregators"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreateFindingAggregators {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(FindingAggregators::Table)
                    .col(
                        ColumnDef::new(FindingAggregators::OwnerAccountId)
                            .string_len(12)
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(FindingAggregators::AggregatorId)
                            .string_len(64)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(FindingAggregators::Arn)
                            .string_len(256)
                            .not_null()
                            .unique_key(),
                    )
                    .col(
                        ColumnDef::new(FindingAggregators::HomeRegion)
                            .string_len(32)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(FindingAggregators::RegionLinkingMode)
                            .string_len(32)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(FindingAggregators::Regions)
                            .text()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(FindingAggregators::BackfillExistingFindings)
                            .boolean()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(FindingAggregators::CreatedAtMicros)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(FindingAggregators::UpdatedAtMicros)
                            .big_integer()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(FindingAggregatorLinkedRegions::Table)
                    .col(
                        ColumnDef::new(FindingAggregatorLinkedRegions::OwnerAccountId)
                            .string_len(12)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(FindingAggregatorLinkedRegions::Region)
                            .string_len(32)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(FindingAggregatorLinkedRegions::AppliedSeq)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(FindingAggregatorLinkedRegions::AppliedAtMicros)
                            .big_integer()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(FindingAggregatorLinkedRegions::LagMs)
                            .big_integer()
                            .null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(FindingAggregatorLinkedRegions::OwnerAccountId)
                            .col(FindingAggregatorLinkedRegions::Region),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(
                Table::drop()
                    .table(FindingAggregatorLinkedRegions::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(FindingAggregators::Table).to_owned())
            .await
    }
}
