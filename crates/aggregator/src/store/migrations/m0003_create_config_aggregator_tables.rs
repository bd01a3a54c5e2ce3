//! Config aggregators and their tags.

use sea_orm_migration::prelude::*;

#[derive(DeriveIden)]
enum ConfigAggregators {
    Table,
    OwnerAccountId,
    HomeRegion,
    Name,
    Arn,
    CreatedAtMicros,
    UpdatedAtMicros,
    OrganizationSource,
    AllRegions,
    Definition,
}

#[derive(DeriveIden)]
enum AggregatorTags {
    Table,
    ResourceArn,
    Key,
    Value,
}

/// Creates `config_aggregators` and `aggregator_tags`.
pub struct CreateConfigAggregatorTables;

impl MigrationName for CreateConfigAggregatorTables {
    fn name(&self) -> &str {
        "m0003_create_config_aggregator_tables"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreateConfigAggregatorTables {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ConfigAggregators::Table)
                    .col(
                        ColumnDef::new(ConfigAggregators::OwnerAccountId)
                            .string_len(12)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ConfigAggregators::HomeRegion)
                            .string_len(32)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ConfigAggregators::Name)
                            .string_len(256)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ConfigAggregators::Arn)
                            .string_len(512)
                            .not_null()
                            .unique_key(),
                    )
                    .col(
                        ColumnDef::new(ConfigAggregators::CreatedAtMicros)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ConfigAggregators::UpdatedAtMicros)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ConfigAggregators::OrganizationSource)
                            .boolean()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ConfigAggregators::AllRegions)
                            .boolean()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ConfigAggregators::Definition)
                            .blob()
                            .not_null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(ConfigAggregators::OwnerAccountId)
                            .col(ConfigAggregators::HomeRegion)
                            .col(ConfigAggregators::Name),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AggregatorTags::Table)
                    .col(
                        ColumnDef::new(AggregatorTags::ResourceArn)
                            .string_len(512)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(AggregatorTags::Key)
                            .string_len(512)
                            .not_null(),
                    )
                    .col(ColumnDef::new(AggregatorTags::Value).text().not_null())
                    .primary_key(
                        Index::create()
                            .col(AggregatorTags::ResourceArn)
                            .col(AggregatorTags::Key),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(AggregatorTags::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(ConfigAggregators::Table).to_owned())
            .await
    }
}
