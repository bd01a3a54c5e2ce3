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
            Box::new(CreateOrganizationsAndEvents),
            Box::new(super::authorizations_migration::CreateAggregationAuthorizations),
            Box::new(super::securityhub_migration::CreateSecurityHubTables),
            Box::new(super::finding_aggregators_migration::CreateFindingAggregatorDeclarations),
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

#[derive(DeriveIden)]
enum Organizations {
    Table,
    OrganizationId,
    ManagementAccountId,
    FeatureSet,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Accounts {
    Table,
    AccountId,
    Name,
    Email,
    OrganizationId,
    Status,
    CreatedAt,
    JoinedAt,
}

#[derive(DeriveIden)]
enum OrganizationServiceAccess {
    Table,
    OrganizationId,
    ServicePrincipal,
    EnabledAt,
}

#[derive(DeriveIden)]
enum DelegatedAdministrators {
    Table,
    OrganizationId,
    AccountId,
    ServicePrincipal,
    RegisteredAt,
}

#[derive(DeriveIden)]
enum AccountRegions {
    Table,
    AccountId,
    RegionName,
    EnabledAt,
}

#[derive(DeriveIden)]
enum MembershipRevision {
    Table,
    Id,
    Revision,
}

#[derive(DeriveIden)]
enum MembershipEvents {
    Table,
    Revision,
    Kind,
    AccountId,
    Region,
    OrganizationId,
    RelatedAccountId,
    RecordedAt,
}

/// Organizations, accounts, trusted access, delegated administrators, opt-in regions, and the
/// change log behind `Watch`.
struct CreateOrganizationsAndEvents;

impl MigrationName for CreateOrganizationsAndEvents {
    fn name(&self) -> &str {
        "m0002_create_organizations_and_events"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreateOrganizationsAndEvents {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Organizations::Table)
                    .col(
                        ColumnDef::new(Organizations::OrganizationId)
                            .string_len(34)
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(Organizations::ManagementAccountId)
                            .string_len(12)
                            .not_null()
                            .unique_key(),
                    )
                    .col(
                        ColumnDef::new(Organizations::FeatureSet)
                            .string_len(32)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Organizations::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Accounts::Table)
                    .col(
                        ColumnDef::new(Accounts::AccountId)
                            .string_len(12)
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(Accounts::Name).string_len(50).not_null())
                    .col(ColumnDef::new(Accounts::Email).string_len(64).not_null())
                    .col(
                        ColumnDef::new(Accounts::OrganizationId)
                            .string_len(34)
                            .null(),
                    )
                    .col(ColumnDef::new(Accounts::Status).string_len(16).not_null())
                    .col(
                        ColumnDef::new(Accounts::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Accounts::JoinedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("accounts_organization_id_account_id")
                    .table(Accounts::Table)
                    .col(Accounts::OrganizationId)
                    .col(Accounts::AccountId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(OrganizationServiceAccess::Table)
                    .col(
                        ColumnDef::new(OrganizationServiceAccess::OrganizationId)
                            .string_len(34)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(OrganizationServiceAccess::ServicePrincipal)
                            .string_len(128)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(OrganizationServiceAccess::EnabledAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(OrganizationServiceAccess::OrganizationId)
                            .col(OrganizationServiceAccess::ServicePrincipal),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(DelegatedAdministrators::Table)
                    .col(
                        ColumnDef::new(DelegatedAdministrators::OrganizationId)
                            .string_len(34)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(DelegatedAdministrators::AccountId)
                            .string_len(12)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(DelegatedAdministrators::ServicePrincipal)
                            .string_len(128)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(DelegatedAdministrators::RegisteredAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(DelegatedAdministrators::OrganizationId)
                            .col(DelegatedAdministrators::AccountId)
                            .col(DelegatedAdministrators::ServicePrincipal),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AccountRegions::Table)
                    .col(
                        ColumnDef::new(AccountRegions::AccountId)
                            .string_len(12)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(AccountRegions::RegionName)
                            .string_len(32)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(AccountRegions::EnabledAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(AccountRegions::AccountId)
                            .col(AccountRegions::RegionName),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(MembershipRevision::Table)
                    .col(
                        ColumnDef::new(MembershipRevision::Id)
                            .integer()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(MembershipRevision::Revision)
                            .big_integer()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .exec_stmt(
                Query::insert()
                    .into_table(MembershipRevision::Table)
                    .columns([MembershipRevision::Id, MembershipRevision::Revision])
                    .values_panic([1.into(), 0i64.into()])
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(MembershipEvents::Table)
                    .col(
                        ColumnDef::new(MembershipEvents::Revision)
                            .big_integer()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(MembershipEvents::Kind)
                            .string_len(64)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(MembershipEvents::AccountId)
                            .string_len(12)
                            .null(),
                    )
                    .col(
                        ColumnDef::new(MembershipEvents::Region)
                            .string_len(32)
                            .null(),
                    )
                    .col(
                        ColumnDef::new(MembershipEvents::OrganizationId)
                            .string_len(34)
                            .null(),
                    )
                    .col(
                        ColumnDef::new(MembershipEvents::RelatedAccountId)
                            .string_len(12)
                            .null(),
                    )
                    .col(
                        ColumnDef::new(MembershipEvents::RecordedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            MembershipEvents::Table.into_iden(),
            MembershipRevision::Table.into_iden(),
            AccountRegions::Table.into_iden(),
            DelegatedAdministrators::Table.into_iden(),
            OrganizationServiceAccess::Table.into_iden(),
            Accounts::Table.into_iden(),
            Organizations::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
