//! The GetFindings filter index: attribute columns on `findings`, the `finding_values` table of
//! multi-valued attributes, their indexes, and the index of every finding already stored.

use sea_orm::DatabaseBackend;
use sea_orm_migration::prelude::*;
use tributary_securityhub::{
    index::rebuild,
    schema::{
        add_attribute_columns, attribute_column_names, create_index_tables, drop_index_tables,
    },
};

use crate::findings::query::TABLES;

/// Columns `m0004` already created, which the index fills too.
const EXISTING: [&str; 4] = [
    "record_state",
    "workflow_status",
    "severity_label",
    "updated_at_micros",
];

/// Text columns of `m0004` that filters compare, with their lengths: on PostgreSQL they move to
/// the `"C"` collation so comparisons and prefix ranges go by code point, as on SQLite.
const COLLATED: [(&str, u32); 6] = [
    ("account_id", 12),
    ("product_arn", 2048),
    ("finding_id", 512),
    ("record_state", 16),
    ("workflow_status", 16),
    ("severity_label", 16),
];

/// Findings re-indexed per read while back-filling.
const REBUILD_PAGE: u64 = 500;

/// Adds the filter index and back-fills it from the stored findings.
pub struct AddFindingFilterIndex;

impl MigrationName for AddFindingFilterIndex {
    fn name(&self) -> &str {
        "m0005_add_finding_filter_index"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for AddFindingFilterIndex {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DatabaseBackend::Postgres {
            for (column, length) in COLLATED {
                manager
                    .get_connection()
                    .execute_unprepared(&format!(
                        "ALTER TABLE findings ALTER COLUMN {column} TYPE varchar({length}) \
                         COLLATE \"C\""
                    ))
                    .await?;
            }
        }
        add_attribute_columns(manager, &TABLES, &EXISTING).await?;
        create_index_tables(manager, &TABLES).await?;
        rebuild(manager.get_connection(), &TABLES, REBUILD_PAGE).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_index_tables(manager, &TABLES).await?;
        for column in attribute_column_names() {
            if EXISTING.contains(&column) {
                continue;
            }
            manager
                .alter_table(
                    Table::alter()
                        .table(TABLES.findings)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
