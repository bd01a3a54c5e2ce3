//! Membership's schema migrations, applied in order by [`Migrator`].

use sea_orm_migration::prelude::*;
use tributary_runtime::db::CreateSettingsTable;

/// Applies membership's migrations.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(CreateSettingsTable),
            Box::new(CreateRegionsAndApiKeys),
        ]
    }
}

#[derive(DeriveIden)]
enum Regions {
    Table,
    RegionName,
    CollectorEndpoint,
    OptIn,
    RegisteredAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ApiKeys {
    Table,
    KeyId,
    Name,
    KeyHash,
    PrincipalKind,
    AccountId,
    OrganizationId,
    ServiceName,
    CreatedAt,
    RevokedAt,
}

/// The region registry and API keys.
struct CreateRegionsAndApiKeys;

impl MigrationName for CreateRegionsAndApiKeys {
    fn name(&self) -> &str {
        "m0001_create_regions_and_api_keys"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreateRegionsAndApiKeys {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Regions::Table)
                    .col(
                        ColumnDef::new(Regions::RegionName)
                            .string_len(32)
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(Regions::CollectorEndpoint)
                            .string_len(512)
                            .not_null(),
                    )
                    .col(ColumnDef::new(Regions::OptIn).boolean().not_null())
                    .col(
                        ColumnDef::new(Regions::RegisteredAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Regions::UpdatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ApiKeys::Table)
                    .col(
                        ColumnDef::new(ApiKeys::KeyId)
                            .string_len(32)
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(ApiKeys::Name).string_len(128).not_null())
                    .col(
                        ColumnDef::new(ApiKeys::KeyHash)
                            .string_len(64)
                            .not_null()
                            .unique_key(),
                    )
                    .col(
                        ColumnDef::new(ApiKeys::PrincipalKind)
                            .string_len(32)
                            .not_null(),
                    )
                    .col(ColumnDef::new(ApiKeys::AccountId).string_len(12).null())
                    .col(
                        ColumnDef::new(ApiKeys::OrganizationId)
                            .string_len(34)
                            .null(),
                    )
                    .col(ColumnDef::new(ApiKeys::ServiceName).string_len(64).null())
                    .col(
                        ColumnDef::new(ApiKeys::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ApiKeys::RevokedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .to_owned(),
            )
            .await?;
        // Keyset paging walks keys in creation order.
        manager
            .create_index(
                Index::create()
                    .name("api_keys_created_at_key_id")
                    .table(ApiKeys::Table)
                    .col(ApiKeys::CreatedAt)
                    .col(ApiKeys::KeyId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ApiKeys::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Regions::Table).to_owned())
            .await
    }
}
