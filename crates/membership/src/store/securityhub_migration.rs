//! The Security Hub tables: enabled hubs, administrator/member relationships and organization
//! administrator designations.

use sea_orm_migration::prelude::*;

#[derive(DeriveIden)]
enum SecurityhubHubs {
    Table,
    AccountId,
    Region,
    SubscribedAt,
    UpdatedAt,
    AutoEnableControls,
    ControlFindingGenerator,
    DefaultStandardsEnabled,
    Tags,
}

#[derive(DeriveIden)]
enum SecurityhubMembers {
    Table,
    AdministratorId,
    Region,
    MemberId,
    RelationshipType,
    OrganizationId,
    Email,
    Status,
    InvitationId,
    InvitedAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum SecurityhubOrganizationAdmins {
    Table,
    OrganizationId,
    Region,
    AdminAccountId,
    AutoEnable,
    AutoEnableStandards,
    EnabledAt,
    UpdatedAt,
}

/// Creates the Security Hub tables.
pub struct CreateSecurityHubTables;

impl MigrationName for CreateSecurityHubTables {
    fn name(&self) -> &str {
        "m0004_create_securityhub_tables"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreateSecurityHubTables {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(SecurityhubHubs::Table)
                    .col(
                        ColumnDef::new(SecurityhubHubs::AccountId)
                            .string_len(12)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(SecurityhubHubs::Region)
                            .string_len(32)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(SecurityhubHubs::SubscribedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(SecurityhubHubs::UpdatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(SecurityhubHubs::AutoEnableControls)
                            .boolean()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(SecurityhubHubs::ControlFindingGenerator)
                            .string_len(32)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(SecurityhubHubs::DefaultStandardsEnabled)
                            .boolean()
                            .not_null(),
                    )
                    .col(ColumnDef::new(SecurityhubHubs::Tags).text().not_null())
                    .primary_key(
                        Index::create()
                            .col(SecurityhubHubs::AccountId)
                            .col(SecurityhubHubs::Region),
                    )
                    .to_owned(),
            )
            .await?;
        // Deregistering a region asks whether any hub is enabled there.
        manager
            .create_index(
                Index::create()
                    .name("securityhub_hubs_region")
                    .table(SecurityhubHubs::Table)
                    .col(SecurityhubHubs::Region)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(SecurityhubMembers::Table)
                    .col(
                        ColumnDef::new(SecurityhubMembers::AdministratorId)
                            .string_len(12)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(SecurityhubMembers::Region)
                            .string_len(32)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(SecurityhubMembers::MemberId)
                            .string_len(12)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(SecurityhubMembers::RelationshipType)
                            .string_len(16)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(SecurityhubMembers::OrganizationId)
                            .string_len(34)
                            .null(),
                    )
                    .col(
                        ColumnDef::new(SecurityhubMembers::Email)
                            .string_len(64)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(SecurityhubMembers::Status)
                            .string_len(24)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(SecurityhubMembers::InvitationId)
                            .string_len(64)
                            .null(),
                    )
                    .col(
                        ColumnDef::new(SecurityhubMembers::InvitedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(SecurityhubMembers::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(SecurityhubMembers::UpdatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    // The administrator's member list pages by member id inside the key.
                    .primary_key(
                        Index::create()
                            .col(SecurityhubMembers::AdministratorId)
                            .col(SecurityhubMembers::Region)
                            .col(SecurityhubMembers::MemberId),
                    )
                    .to_owned(),
            )
            .await?;
        // Enabled-only listings and the member and invitation counts of an administrator.
        manager
            .create_index(
                Index::create()
                    .name("securityhub_members_administrator_status")
                    .table(SecurityhubMembers::Table)
                    .col(SecurityhubMembers::AdministratorId)
                    .col(SecurityhubMembers::Region)
                    .col(SecurityhubMembers::Status)
                    .col(SecurityhubMembers::MemberId)
                    .to_owned(),
            )
            .await?;
        // A member's administrator, its invitations (paged by administrator id) and its
        // relationships when it leaves an organization or closes.
        manager
            .create_index(
                Index::create()
                    .name("securityhub_members_member_status")
                    .table(SecurityhubMembers::Table)
                    .col(SecurityhubMembers::MemberId)
                    .col(SecurityhubMembers::Region)
                    .col(SecurityhubMembers::Status)
                    .col(SecurityhubMembers::AdministratorId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(SecurityhubOrganizationAdmins::Table)
                    .col(
                        ColumnDef::new(SecurityhubOrganizationAdmins::OrganizationId)
                            .string_len(34)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(SecurityhubOrganizationAdmins::Region)
                            .string_len(32)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(SecurityhubOrganizationAdmins::AdminAccountId)
                            .string_len(12)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(SecurityhubOrganizationAdmins::AutoEnable)
                            .boolean()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(SecurityhubOrganizationAdmins::AutoEnableStandards)
                            .string_len(16)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(SecurityhubOrganizationAdmins::EnabledAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(SecurityhubOrganizationAdmins::UpdatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(SecurityhubOrganizationAdmins::OrganizationId)
                            .col(SecurityhubOrganizationAdmins::Region),
                    )
                    .to_owned(),
            )
            .await?;
        // Whether an account is an organization administrator in a region.
        manager
            .create_index(
                Index::create()
                    .name("securityhub_organization_admins_admin")
                    .table(SecurityhubOrganizationAdmins::Table)
                    .col(SecurityhubOrganizationAdmins::AdminAccountId)
                    .col(SecurityhubOrganizationAdmins::Region)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            SecurityhubOrganizationAdmins::Table.into_iden(),
            SecurityhubMembers::Table.into_iden(),
            SecurityhubHubs::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
