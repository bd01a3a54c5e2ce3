//! Product subscriptions: which products each account accepts findings from.

use sea_orm_migration::prelude::*;

#[derive(DeriveIden)]
enum ProductSubscriptions {
    Table,
    AccountId,
    ProductArn,
    EnabledAt,
}

/// The `product_subscriptions` table: one row per (account, product ARN), listed in ARN order.
pub struct CreateProductSubscriptions;

impl MigrationName for CreateProductSubscriptions {
    fn name(&self) -> &str {
        "m0009_create_product_subscriptions"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreateProductSubscriptions {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ProductSubscriptions::Table)
                    .col(
                        ColumnDef::new(ProductSubscriptions::AccountId)
                            .string_len(12)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ProductSubscriptions::ProductArn)
                            .string_len(2048)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ProductSubscriptions::EnabledAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(ProductSubscriptions::AccountId)
                            .col(ProductSubscriptions::ProductArn),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ProductSubscriptions::Table).to_owned())
            .await
    }
}
