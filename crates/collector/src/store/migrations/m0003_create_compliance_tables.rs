//! Config rules, their evaluation results and conformance packs.

use sea_orm_migration::prelude::*;

#[derive(DeriveIden)]
enum ConfigRules {
    Table,
    AccountId,
    Name,
    RuleId,
    Seq,
    Version,
    Rule,
}

#[derive(DeriveIden)]
enum ConfigRuleEvaluations {
    Table,
    AccountId,
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
enum ConformancePacks {
    Table,
    AccountId,
    Name,
    PackId,
    Seq,
    Version,
    Pack,
}

#[derive(DeriveIden)]
enum ConformancePackRules {
    Table,
    AccountId,
    ConformancePackName,
    ConfigRuleName,
}

/// Creates `config_rules`, `config_rule_evaluations`, `conformance_packs` and
/// `conformance_pack_rules`.
pub struct CreateComplianceTables;

impl MigrationName for CreateComplianceTables {
    fn name(&self) -> &str {
        "m0003_create_compliance_tables"
    }
}

fn account(column: impl IntoIden) -> ColumnDef {
    ColumnDef::new(column).string_len(12).not_null().to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for CreateComplianceTables {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ConfigRules::Table)
                    .col(account(ConfigRules::AccountId))
                    .col(ColumnDef::new(ConfigRules::Name).string_len(128).not_null())
                    .col(
                        ColumnDef::new(ConfigRules::RuleId)
                            .string_len(64)
                            .not_null(),
                    )
                    .col(ColumnDef::new(ConfigRules::Seq).big_integer().not_null())
                    .col(
                        ColumnDef::new(ConfigRules::Version)
                            .string_len(64)
                            .not_null(),
                    )
                    .col(ColumnDef::new(ConfigRules::Rule).blob().not_null())
                    .primary_key(
                        Index::create()
                            .col(ConfigRules::AccountId)
                            .col(ConfigRules::Name),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ConfigRuleEvaluations::Table)
                    .col(account(ConfigRuleEvaluations::AccountId))
                    .col(
                        ColumnDef::new(ConfigRuleEvaluations::ConfigRuleName)
                            .string_len(128)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ConfigRuleEvaluations::ResourceType)
                            .string_len(200)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ConfigRuleEvaluations::ResourceId)
                            .string_len(768)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ConfigRuleEvaluations::ConfigRuleId)
                            .string_len(64)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ConfigRuleEvaluations::ComplianceType)
                            .string_len(32)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ConfigRuleEvaluations::OrderingTimeMicros)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ConfigRuleEvaluations::Seq)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ConfigRuleEvaluations::Version)
                            .string_len(64)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ConfigRuleEvaluations::Result)
                            .blob()
                            .not_null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(ConfigRuleEvaluations::AccountId)
                            .col(ConfigRuleEvaluations::ConfigRuleName)
                            .col(ConfigRuleEvaluations::ResourceType)
                            .col(ConfigRuleEvaluations::ResourceId),
                    )
                    .to_owned(),
            )
            .await?;
        // DescribeComplianceByResource filters by account (and type, id) and pages in resource
        // order.
        manager
            .create_index(
                Index::create()
                    .name("config_rule_evaluations_resource")
                    .table(ConfigRuleEvaluations::Table)
                    .col(ConfigRuleEvaluations::AccountId)
                    .col(ConfigRuleEvaluations::ResourceType)
                    .col(ConfigRuleEvaluations::ResourceId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ConformancePacks::Table)
                    .col(account(ConformancePacks::AccountId))
                    .col(
                        ColumnDef::new(ConformancePacks::Name)
                            .string_len(256)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ConformancePacks::PackId)
                            .string_len(64)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ConformancePacks::Seq)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ConformancePacks::Version)
                            .string_len(64)
                            .not_null(),
                    )
                    .col(ColumnDef::new(ConformancePacks::Pack).blob().not_null())
                    .primary_key(
                        Index::create()
                            .col(ConformancePacks::AccountId)
                            .col(ConformancePacks::Name),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ConformancePackRules::Table)
                    .col(account(ConformancePackRules::AccountId))
                    .col(
                        ColumnDef::new(ConformancePackRules::ConformancePackName)
                            .string_len(256)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ConformancePackRules::ConfigRuleName)
                            .string_len(128)
                            .not_null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(ConformancePackRules::AccountId)
                            .col(ConformancePackRules::ConformancePackName)
                            .col(ConformancePackRules::ConfigRuleName),
                    )
                    .to_owned(),
            )
            .await?;
        // DeleteConfigRule asks whether any pack holds the rule.
        manager
            .create_index(
                Index::create()
                    .name("conformance_pack_rules_rule")
                    .table(ConformancePackRules::Table)
                    .col(ConformancePackRules::AccountId)
                    .col(ConformancePackRules::ConfigRuleName)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            ConformancePackRules::Table.into_iden(),
            ConformancePacks::Table.into_iden(),
            ConfigRuleEvaluations::Table.into_iden(),
            ConfigRules::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
