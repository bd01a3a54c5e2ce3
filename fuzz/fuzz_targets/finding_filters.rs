//! GetFindings' filter language: any protobuf-encoded `GetFindingsRequest` is validated without
//! panicking (bad input is `InvalidInputException`), and validated filters, sorts and keyset
//! positions compile to SQL for SQLite and PostgreSQL without panicking and with every user value
//! bound as a parameter, never pasted into the statement, and none holding NUL (PostgreSQL text
//! cannot); the SQLite statement runs on an empty in-memory findings table without a database
//! error.

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use prost::Message;
use sea_orm::{
    ConnectionTrait, Database, DatabaseBackend, DatabaseConnection,
    sea_query::{PostgresQueryBuilder, SelectStatement, SqliteQueryBuilder},
};
use sea_orm_migration::SchemaManager;
use tokio::runtime::Runtime;
use tributary_proto::collector::v1 as pb;
use tributary_runtime::Error;
use tributary_securityhub::{
    filter::{Filters, INVALID_INPUT, Sort},
    query::{FindingQuery, Position, page_statement},
    schema::{Tables, add_attribute_columns, create_index_tables},
};

const TABLES: Tables = Tables {
    findings: "findings",
    values: "finding_values",
    payload: "finding",
};

/// An in-memory SQLite database with the collector's findings table and filter index.
fn sqlite() -> &'static (Runtime, DatabaseConnection) {
    static DATABASE: OnceLock<(Runtime, DatabaseConnection)> = OnceLock::new();
    DATABASE.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        let db = runtime.block_on(async {
            let db = Database::connect("sqlite::memory:").await.expect("SQLite");
            db.execute_unprepared(
                "CREATE TABLE findings (account_id TEXT NOT NULL, product_arn TEXT NOT NULL, \
                 finding_id TEXT NOT NULL, finding BLOB NOT NULL, \
                 PRIMARY KEY (account_id, product_arn, finding_id))",
            )
            .await
            .expect("findings table");
            let manager = SchemaManager::new(&db);
            add_attribute_columns(&manager, &TABLES, &[])
                .await
                .expect("columns");
            create_index_tables(&manager, &TABLES)
                .await
                .expect("index tables");
            db
        });
        (runtime, db)
    })
}

fn run_on_sqlite(statement: &SelectStatement) {
    let (runtime, db) = sqlite();
    if let Err(error) = runtime.block_on(db.query_all(statement)) {
        panic!(
            "SQLite refused the statement: {error}\n{}",
            statement.to_string(SqliteQueryBuilder)
        );
    }
}

fn assert_invalid_input<T: std::fmt::Debug>(result: &Result<T, Error>) {
    if let Err(error) = result {
        match error {
            Error::InvalidInput {
                reason, violations, ..
            } => {
                assert_eq!(*reason, INVALID_INPUT);
                assert!(!violations.is_empty(), "a refusal names what is wrong");
            }
            other => panic!("bad filters must be InvalidInputException, got {other:?}"),
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(request) = pb::GetFindingsRequest::decode(data) else {
        return;
    };
    let filters = Filters::parse(&request.filters.unwrap_or_default(), "filters");
    let sort = Sort::parse(&request.sort_criteria);
    assert_invalid_input(&filters);
    assert_invalid_input(&sort);
    let (Ok(filters), Ok(sort)) = (filters, sort) else {
        return;
    };
    assert!(!sort.keys.is_empty());
    let accounts = filters.equal_account_ids();
    // The page token field carries a keyset position as JSON here, so foreign and malformed
    // positions reach the compiler too.
    let after: Option<Position> = serde_json::from_str(&request.page_token).ok();
    let limit = u64::try_from(request.page_size).unwrap_or(0);
    for now_micros in [0, 1_700_000_000_000_000, i64::MAX, i64::MIN] {
        let query = FindingQuery {
            filters: &filters,
            accounts: accounts.as_deref(),
            now_micros,
        };
        for backend in [DatabaseBackend::Sqlite, DatabaseBackend::Postgres] {
            let first = page_statement(&TABLES, backend, &query, &sort, None, limit)
                .expect("the first page always compiles");
            let next = page_statement(&TABLES, backend, &query, &sort, after.as_ref(), limit);
            // Positions come from tokens the server signed over values it stored; the fuzzed ones
            // here may hold anything, so only the first page is checked for NUL.
            for (statement, from_filters_only) in [(Some(first), true), (next, false)] {
                let Some(statement) = statement else {
                    continue;
                };
                let (sql, values) = match backend {
                    DatabaseBackend::Postgres => statement.build(PostgresQueryBuilder),
                    _ => statement.build(SqliteQueryBuilder),
                };
                assert!(
                    !sql.contains('\''),
                    "a value was pasted into the SQL: {sql}"
                );
                assert!(!values.0.is_empty(), "the LIMIT at least is bound: {sql}");
                assert!(
                    !from_filters_only
                        || !values.0.iter().any(|value| matches!(
                            value,
                            sea_orm::Value::String(Some(text)) if text.contains('\0')
                        )),
                    "PostgreSQL cannot compare text holding NUL; such filters are refused"
                );
                if backend == DatabaseBackend::Sqlite {
                    run_on_sqlite(&statement);
                }
            }
        }
    }
});
