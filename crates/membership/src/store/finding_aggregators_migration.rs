//! Migration creating the finding aggregator declarations.

use sea_orm_migration::prelude::*;

#[derive(DeriveIden)]
enum FindingAggregatorDeclarations {
    Table,
    OwnerAccountId,
    HomeRegion,
    LinkingMode,
    Regions,
    DeclaredAt,
    UpdatedAt,
}

/// Finding aggregator declarations, one per owner account.
pub struct CreateFindingAggregatorDeclarations;

impl MigrationName for CreateFindingAggregatorDeclarations {
    fn name(&self) -> &str {
        "m0005_create_finding_aggregator_declarations"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreateFindingAggregatorDeclarations {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(FindingAggregatorDeclarations::Table)
                    .col(
                        ColumnDef::new(FindingAggregatorDeclarations::OwnerAccountId)
                            .string_len(12)
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(FindingAggregatorDeclarations::HomeRegion)
                            .string_len(32)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(FindingAggregatorDeclarations::LinkingMode)
                            .string_len(40)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(FindingAggregatorDeclarations::Regions)
                            .text()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(FindingAggregatorDeclarations::DeclaredAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(FindingAggregatorDeclarations::UpdatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        // Deregistering a region checks whether any aggregator lives there.
        manager
            .create_index(
                Index::create()
                    .name("finding_aggregator_declarations_home_region")
                    .table(FindingAggregatorDeclarations::Table)
                    .col(FindingAggregatorDeclarations::HomeRegion)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(
                Table::drop()
                    .table(FindingAggregatorDeclarations::Table)
                    .to_owned(),
            )
            .await
    }
}
