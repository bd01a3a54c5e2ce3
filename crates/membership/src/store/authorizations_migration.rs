//! The schema of Config aggregation: source-side authorizations and their tags, declined pending
//! requests, and the source declarations of Config aggregators.

use sea_orm_migration::prelude::*;

#[derive(DeriveIden)]
enum AggregationAuthorizations {
    Table,
    SourceAccountId,
    SourceRegion,
    AuthorizedAccountId,
    AuthorizedRegion,
    CreatedAt,
    RevokedAt,
}

#[derive(DeriveIden)]
enum AggregationAuthorizationTags {
    Table,
    ResourceArn,
    TagKey,
    TagValue,
}

#[derive(DeriveIden)]
enum AggregationRequestDeclines {
    Table,
    SourceAccountId,
    SourceRegion,
    RequesterAccountId,
    RequesterRegion,
    DeclinedAt,
}

#[derive(DeriveIden)]
enum ConfigAggregatorDeclarations {
    Table,
    OwnerAccountId,
    HomeRegion,
    AggregatorName,
    SourceKind,
    AllRegions,
    OrganizationId,
    DeclaredAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ConfigAggregatorAccounts {
    Table,
    OwnerAccountId,
    HomeRegion,
    AggregatorName,
    AccountId,
    AddedAt,
}

#[derive(DeriveIden)]
enum ConfigAggregatorRegions {
    Table,
    OwnerAccountId,
    HomeRegion,
    AggregatorName,
    RegionName,
}

/// Creates the Config aggregation tables.
pub struct CreateAggregationAuthorizations;

impl MigrationName for CreateAggregationAuthorizations {
    fn name(&self) -> &str {
        "m0003_create_aggregation_authorizations_and_config_aggregators"
    }
}

fn account_column(name: impl IntoIden) -> ColumnDef {
    ColumnDef::new(name).string_len(12).not_null().to_owned()
}

fn region_column(name: impl IntoIden) -> ColumnDef {
    ColumnDef::new(name).string_len(32).not_null().to_owned()
}

fn time_column(name: impl IntoIden) -> ColumnDef {
    ColumnDef::new(name)
        .timestamp_with_time_zone()
        .not_null()
        .to_owned()
}

fn index(name: &str, table: impl IntoIden, columns: Vec<DynIden>) -> IndexCreateStatement {
    let mut statement = Index::create();
    statement.name(name).table(table);
    for column in columns {
        statement.col(column);
    }
    statement.to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for CreateAggregationAuthorizations {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use AggregationAuthorizations as Grants;
        manager
            .create_table(
                Table::create()
                    .table(Grants::Table)
                    .col(account_column(Grants::SourceAccountId))
                    .col(region_column(Grants::SourceRegion))
                    .col(account_column(Grants::AuthorizedAccountId))
                    .col(region_column(Grants::AuthorizedRegion))
                    .col(time_column(Grants::CreatedAt))
                    .col(
                        ColumnDef::new(Grants::RevokedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(Grants::SourceAccountId)
                            .col(Grants::SourceRegion)
                            .col(Grants::AuthorizedAccountId)
                            .col(Grants::AuthorizedRegion),
                    )
                    .to_owned(),
            )
            .await?;
        // Resolving an aggregator reads every grant to its owner and home region.
        manager
            .create_index(index(
                "aggregation_authorizations_authorized",
                Grants::Table,
                vec![
                    Grants::AuthorizedAccountId.into_iden(),
                    Grants::AuthorizedRegion.into_iden(),
                ],
            ))
            .await?;
        // Deregistering a region asks whether grants name it on either side.
        manager
            .create_index(index(
                "aggregation_authorizations_source_region",
                Grants::Table,
                vec![Grants::SourceRegion.into_iden()],
            ))
            .await?;
        manager
            .create_index(index(
                "aggregation_authorizations_authorized_region",
                Grants::Table,
                vec![Grants::AuthorizedRegion.into_iden()],
            ))
            .await?;

        use AggregationAuthorizationTags as Tags;
        manager
            .create_table(
                Table::create()
                    .table(Tags::Table)
                    .col(ColumnDef::new(Tags::ResourceArn).string_len(256).not_null())
                    .col(ColumnDef::new(Tags::TagKey).string_len(128).not_null())
                    .col(ColumnDef::new(Tags::TagValue).string_len(256).not_null())
                    .primary_key(Index::create().col(Tags::ResourceArn).col(Tags::TagKey))
                    .to_owned(),
            )
            .await?;

        use AggregationRequestDeclines as Declines;
        manager
            .create_table(
                Table::create()
                    .table(Declines::Table)
                    .col(account_column(Declines::SourceAccountId))
                    .col(region_column(Declines::SourceRegion))
                    .col(account_column(Declines::RequesterAccountId))
                    .col(region_column(Declines::RequesterRegion))
                    .col(time_column(Declines::DeclinedAt))
                    .primary_key(
                        Index::create()
                            .col(Declines::SourceAccountId)
                            .col(Declines::SourceRegion)
                            .col(Declines::RequesterAccountId)
                            .col(Declines::RequesterRegion),
                    )
                    .to_owned(),
            )
            .await?;
        // Resolving an aggregator reads every decline of its owner and home region.
        manager
            .create_index(index(
                "aggregation_request_declines_requester",
                Declines::Table,
                vec![
                    Declines::RequesterAccountId.into_iden(),
                    Declines::RequesterRegion.into_iden(),
                ],
            ))
            .await?;

        use ConfigAggregatorDeclarations as Declarations;
        manager
            .create_table(
                Table::create()
                    .table(Declarations::Table)
                    .col(account_column(Declarations::OwnerAccountId))
                    .col(region_column(Declarations::HomeRegion))
                    .col(
                        ColumnDef::new(Declarations::AggregatorName)
                            .string_len(256)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Declarations::SourceKind)
                            .string_len(16)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Declarations::AllRegions)
                            .boolean()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Declarations::OrganizationId)
                            .string_len(34)
                            .null(),
                    )
                    .col(time_column(Declarations::DeclaredAt))
                    .col(time_column(Declarations::UpdatedAt))
                    .primary_key(
                        Index::create()
                            .col(Declarations::OwnerAccountId)
                            .col(Declarations::HomeRegion)
                            .col(Declarations::AggregatorName),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "config_aggregator_declarations_home_region",
                Declarations::Table,
                vec![Declarations::HomeRegion.into_iden()],
            ))
            .await?;

        use ConfigAggregatorAccounts as Accounts;
        manager
            .create_table(
                Table::create()
                    .table(Accounts::Table)
                    .col(account_column(Accounts::OwnerAccountId))
                    .col(region_column(Accounts::HomeRegion))
                    .col(
                        ColumnDef::new(Accounts::AggregatorName)
                            .string_len(256)
                            .not_null(),
                    )
                    .col(account_column(Accounts::AccountId))
                    .col(time_column(Accounts::AddedAt))
                    .primary_key(
                        Index::create()
                            .col(Accounts::OwnerAccountId)
                            .col(Accounts::HomeRegion)
                            .col(Accounts::AggregatorName)
                            .col(Accounts::AccountId),
                    )
                    .to_owned(),
            )
            .await?;
        // A source's pending requests come from every declaration that lists it.
        manager
            .create_index(index(
                "config_aggregator_accounts_account_id",
                Accounts::Table,
                vec![Accounts::AccountId.into_iden()],
            ))
            .await?;

        use ConfigAggregatorRegions as Regions;
        manager
            .create_table(
                Table::create()
                    .table(Regions::Table)
                    .col(account_column(Regions::OwnerAccountId))
                    .col(region_column(Regions::HomeRegion))
                    .col(
                        ColumnDef::new(Regions::AggregatorName)
                            .string_len(256)
                            .not_null(),
                    )
                    .col(region_column(Regions::RegionName))
                    .primary_key(
                        Index::create()
                            .col(Regions::OwnerAccountId)
                            .col(Regions::HomeRegion)
                            .col(Regions::AggregatorName)
                            .col(Regions::RegionName),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "config_aggregator_regions_region_name",
                Regions::Table,
                vec![Regions::RegionName.into_iden()],
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            ConfigAggregatorRegions::Table.into_iden(),
            ConfigAggregatorAccounts::Table.into_iden(),
            ConfigAggregatorDeclarations::Table.into_iden(),
            AggregationRequestDeclines::Table.into_iden(),
            AggregationAuthorizationTags::Table.into_iden(),
            AggregationAuthorizations::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
