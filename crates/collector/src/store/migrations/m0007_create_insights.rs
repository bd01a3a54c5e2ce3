//! Custom Security Hub insights.

use sea_orm_migration::prelude::*;

#[derive(DeriveIden)]
enum Insights {
    Table,
    AccountId,
    InsightArn,
    Name,
    GroupByAttribute,
    Filters,
    Seq,
    Version,
}

/// The `insights` table: one row per custom insight, with its filters as their protobuf
/// encoding.
pub struct CreateInsights;

impl MigrationName for CreateInsights {
    fn name(&self) -> &str {
        "m0007_create_insights"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreateInsights {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Insights::Table)
                    .col(
                        ColumnDef::new(Insights::AccountId)
                            .string_len(12)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Insights::InsightArn)
                            .string_len(256)
                            .not_null(),
                    )
                    .col(ColumnDef::new(Insights::Name).string_len(256).not_null())
                    .col(
                        ColumnDef::new(Insights::GroupByAttribute)
                            .string_len(64)
                            .not_null(),
                    )
                    .col(ColumnDef::new(Insights::Filters).blob().not_null())
                    .col(ColumnDef::new(Insights::Seq).big_integer().not_null())
                    .col(ColumnDef::new(Insights::Version).string_len(64).not_null())
                    .primary_key(
                        Index::create()
                            .col(Insights::AccountId)
                            .col(Insights::InsightArn),
                    )
                    .to_owned(),
            )
            .await?;
        // Names are unique within an account (CreateInsight's ResourceConflictException).
        manager
            .create_index(
                Index::create()
                    .name("insights_account_name")
                    .table(Insights::Table)
                    .col(Insights::AccountId)
                    .col(Insights::Name)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Insights::Table).to_owned())
            .await
    }
}
