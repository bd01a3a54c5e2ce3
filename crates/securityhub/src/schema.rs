//! The filter index's schema, for the collector's and the aggregator's migrations: the attribute
//! columns of a findings table (one per single-valued filter attribute, plus the control bucket),
//! the finding-values table of multi-valued attributes, and their indexes.
//!
//! A findings table is keyed by `account_id`, `product_arn` and `finding_id` (a product ARN
//! names its region, so the key is unique across regions too) and keeps the finding's protobuf
//! encoding in a payload column. On PostgreSQL every text column the filters compare uses the
//! `"C"` collation, so comparisons and prefix ranges are by code point, as on SQLite.

use sea_orm::{DatabaseBackend, DbErr};
use sea_orm_migration::prelude::*;

use crate::attributes::{self, Kind};

/// The key columns of a findings table and of its finding-values table.
pub const KEY_COLUMNS: [&str; 3] = ["account_id", "product_arn", "finding_id"];
/// The findings-table column holding how the finding counts towards its control's status
/// (`PASSED`, `FAILED`, `UNKNOWN` or empty).
pub const CONTROL_BUCKET: &str = "control_bucket";

/// The tables one filter index lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tables {
    /// The findings table.
    pub findings: &'static str,
    /// Its finding-values table.
    pub values: &'static str,
    /// The findings-table column with the finding's protobuf encoding.
    pub payload: &'static str,
}

fn collated(column: &mut ColumnDef, backend: DatabaseBackend) -> &mut ColumnDef {
    if backend == DatabaseBackend::Postgres {
        column.extra("COLLATE \"C\"");
    }
    column
}

/// The attribute columns (every single-valued attribute except the key columns) and the control
/// bucket, as `ADD COLUMN` definitions that existing rows accept: text NOT NULL DEFAULT '',
/// numbers and dates NULL, booleans NOT NULL DEFAULT false.
pub fn attribute_columns(backend: DatabaseBackend) -> Vec<ColumnDef> {
    let mut columns: Vec<ColumnDef> = attributes::columns()
        .filter(|(name, _)| !KEY_COLUMNS.contains(name))
        .map(|(name, kind)| {
            let mut column = ColumnDef::new(name);
            match kind {
                Kind::Number => column.double().null(),
                Kind::Date => column.big_integer().null(),
                Kind::Boolean => column.boolean().not_null().default(false),
                Kind::String | Kind::Map | Kind::Ip => {
                    collated(column.text().not_null().default(""), backend)
                }
            };
            column
        })
        .collect();
    let mut bucket = ColumnDef::new(CONTROL_BUCKET);
    collated(bucket.string_len(16).not_null().default(""), backend);
    columns.push(bucket);
    columns
}

/// The name of each attribute column [`attribute_columns`] defines.
pub fn attribute_column_names() -> Vec<&'static str> {
    attributes::columns()
        .map(|(name, _)| name)
        .filter(|name| !KEY_COLUMNS.contains(name))
        .chain([CONTROL_BUCKET])
        .collect()
}

/// Adds the attribute columns missing from `tables.findings` (one ALTER per column, which SQLite
/// needs), skipping those in `existing`.
pub async fn add_attribute_columns(
    manager: &SchemaManager<'_>,
    tables: &Tables,
    existing: &[&str],
) -> Result<(), DbErr> {
    let backend = manager.get_database_backend();
    for column in attribute_columns(backend) {
        let name = column.get_column_name();
        if existing.contains(&name.as_str()) {
            continue;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(tables.findings)
                    .add_column(column)
                    .to_owned(),
            )
            .await?;
    }
    Ok(())
}

/// Creates the finding-values table and the indexes of both tables.
pub async fn create_index_tables(
    manager: &SchemaManager<'_>,
    tables: &Tables,
) -> Result<(), DbErr> {
    let backend = manager.get_database_backend();
    let text = |name: &'static str| {
        let mut column = ColumnDef::new(name);
        collated(column.text().not_null(), backend);
        column
    };
    let bounded = |name: &'static str, length: u32| {
        let mut column = ColumnDef::new(name);
        collated(column.string_len(length).not_null(), backend);
        column
    };
    manager
        .create_table(
            Table::create()
                .table(tables.values)
                .col(bounded("account_id", 12))
                .col(bounded("product_arn", 2048))
                .col(bounded("finding_id", 512))
                .col(bounded("attribute", 64))
                .col(text("key"))
                .col(bounded("key_head", 64))
                .col(text("value"))
                .col(bounded("value_head", 64))
                .to_owned(),
        )
        .await?;
    // Which findings have an attribute value: lookups, prefix ranges and IP ranges.
    manager
        .create_index(
            Index::create()
                .name(format!("{}_lookup", tables.values))
                .table(tables.values)
                .col("attribute")
                .col("key_head")
                .col("value_head")
                .to_owned(),
        )
        .await?;
    // One finding's rows: NOT EXISTS probes (which compare the heads too, so the planner prefers
    // this index there), group-by joins, replacement on update.
    manager
        .create_index(
            Index::create()
                .name(format!("{}_finding", tables.values))
                .table(tables.values)
                .col("account_id")
                .col("product_arn")
                .col("finding_id")
                .col("attribute")
                .col("key_head")
                .col("value_head")
                .to_owned(),
        )
        .await?;
    // A control's findings of one account (ComplianceSecurityControlId filters, status rebuilds).
    manager
        .create_index(
            Index::create()
                .name(format!("{}_control", tables.findings))
                .table(tables.findings)
                .col("account_id")
                .col("compliance_security_control_id")
                .to_owned(),
        )
        .await?;
    // GeneratorId lookups (control checks, detectors).
    manager
        .create_index(
            Index::create()
                .name(format!("{}_generator", tables.findings))
                .table(tables.findings)
                .col("generator_id")
                .to_owned(),
        )
        .await
}

/// Drops what [`add_attribute_columns`] and [`create_index_tables`] created.
pub async fn drop_index_tables(manager: &SchemaManager<'_>, tables: &Tables) -> Result<(), DbErr> {
    for index in ["control", "generator"] {
        manager
            .drop_index(
                Index::drop()
                    .name(format!("{}_{index}", tables.findings))
                    .table(tables.findings)
                    .to_owned(),
            )
            .await?;
    }
    manager
        .drop_table(Table::drop().table(tables.values).to_owned())
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attribute_columns_cover_every_single_valued_attribute_once() {
        let columns = attribute_columns(DatabaseBackend::Sqlite);
        let names: Vec<String> = columns
            .iter()
            .map(|column| column.get_column_name())
            .collect();
        assert_eq!(names, attribute_column_names());
        let mut unique = names.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), names.len());
        assert!(names.contains(&"severity_normalized".to_string()));
        assert!(!names.contains(&"account_id".to_string()));
    }
}
