//! Every service's migrations apply to a fresh SQLite file and a fresh PostgreSQL database, are
//! idempotent, and roll back cleanly.

// A panic in a test is a failed assertion with a location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use sea_orm_migration::MigratorTrait;
use support::{Backend, postgres::TestDatabases};

on_both_backends!(migrations_apply_repeat_and_roll_back);

async fn migrations_apply_repeat_and_roll_back(backend: Backend) {
    let directory = tempfile::tempdir().expect("a temporary directory");
    let databases = TestDatabases::new().await;
    let url = |service: &'static str| {
        let path = directory.path().join(format!("{service}.db"));
        let databases = &databases;
        async move {
            match backend {
                Backend::Sqlite => tributary_runtime::db::sqlite_url(&path),
                Backend::Postgres => databases.create(service).await,
            }
        }
    };

    check::<tributary_membership::store::Migrator>(
        &url("membership").await,
        &["regions", "api_keys"],
    )
    .await;
    check::<tributary_collector::store::Migrator>(
        &url("collector").await,
        &["change_log", "findings", "finding_history", "insights"],
    )
    .await;
    check::<tributary_aggregator::store::Migrator>(
        &url("aggregator").await,
        &[
            "replication_regions",
            "aggregate_config_items",
            "config_aggregators",
            "finding_aggregators",
        ],
    )
    .await;
}

async fn check<M: MigratorTrait>(url: &str, tables: &[&str]) {
    let db = tributary_runtime::db::connect(url)
        .await
        .expect("the database opens");
    M::up(&db, None).await.expect("migrations apply");
    M::up(&db, None).await.expect("applying again is a no-op");
    let applied = M::get_applied_migrations(&db)
        .await
        .expect("applied migrations are listed");
    assert_eq!(applied.len(), M::migrations().len());
    for table in tables.iter().chain(["tributary_settings"].iter()) {
        assert_eq!(
            count_rows(&db, table).await,
            Some(0),
            "{table} exists and is empty"
        );
    }

    M::down(&db, None).await.expect("migrations roll back");
    for table in tables {
        assert_eq!(
            count_rows(&db, table).await,
            None,
            "{table} is gone after rolling back"
        );
    }
    M::up(&db, None)
        .await
        .expect("migrations apply again after rolling back");
    db.close().await.expect("the database closes");
}

/// The row count of `table`, or none when the table does not exist.
async fn count_rows(db: &DatabaseConnection, table: &str) -> Option<i64> {
    let statement = Statement::from_string(
        db.get_database_backend(),
        format!("SELECT COUNT(*) AS n FROM {table}"),
    );
    let row = db.query_one_raw(statement).await.ok()??;
    row.try_get::<i64>("", "n").ok()
}
