//! SelectAggregateResourceConfig's query language: any UTF-8 expression either parses and checks,
//! or is refused with a message (`InvalidExpressionException`), never a panic. A checked query
//! compiles for SQLite and PostgreSQL, from the first page and from any keyset position of the
//! right shape (a position of another shape is refused), and the SQLite statement runs on an
//! empty aggregator database without a database error.

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use sea_orm::{ConnectionTrait, Database, DatabaseBackend, DatabaseConnection};
use sea_orm_migration::MigratorTrait;
use tokio::runtime::Runtime;
use tributary_aggregator::{
    query::{
        QueryScope,
        compile::{ColumnType, KeyValue, compile},
        parse::parse,
        results::{Projection, select_fields},
    },
    store::Migrator,
};

/// An in-memory SQLite database with the aggregator's schema.
fn sqlite() -> &'static (Runtime, DatabaseConnection) {
    static DATABASE: OnceLock<(Runtime, DatabaseConnection)> = OnceLock::new();
    DATABASE.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        let db = runtime.block_on(async {
            let db = Database::connect("sqlite::memory:").await.expect("SQLite");
            Migrator::up(&db, None).await.expect("migrations");
            db
        });
        (runtime, db)
    })
}

fn position(types: &[ColumnType]) -> Vec<KeyValue> {
    types
        .iter()
        .map(|column_type| match column_type {
            ColumnType::Integer => KeyValue::I(-7),
            ColumnType::Real => KeyValue::R(2.5),
            ColumnType::Text => KeyValue::T("i-0abc'; --".to_string()),
        })
        .collect()
}

fuzz_target!(|data: &[u8]| {
    let Ok(expression) = std::str::from_utf8(data) else {
        return;
    };
    let query = match parse(expression) {
        Ok(query) => query,
        Err(refusal) => {
            assert!(!refusal.0.trim().is_empty(), "a refusal says why");
            return;
        }
    };
    assert!(
        !select_fields(&query).is_empty(),
        "a query selects something"
    );
    let _ = Projection::new(&query);
    let scopes = [
        QueryScope {
            owner_account_id: "111111111111".into(),
            home_region: "us-east-1".into(),
            aggregator_name: "organization".into(),
            resource_types: None,
        },
        QueryScope {
            owner_account_id: "111111111111".into(),
            home_region: "us-east-1".into(),
            aggregator_name: "ec2-only".into(),
            resource_types: Some(vec!["AWS::EC2::Instance".into(), "AWS::EC2::Volume".into()]),
        },
    ];
    for scope in &scopes {
        for backend in [DatabaseBackend::Sqlite, DatabaseBackend::Postgres] {
            let first = compile(&query, scope, backend, None, 25).expect("the first page compiles");
            let after = position(&first.sort_types);
            let next = compile(&query, scope, backend, Some(&after), 25)
                .expect("a position of the query's shape compiles");
            let mut foreign = after.clone();
            foreign.push(KeyValue::I(1));
            assert!(compile(&query, scope, backend, Some(&foreign), 25).is_err());
            if !after.is_empty() {
                assert!(compile(&query, scope, backend, Some(&after[1..]), 25).is_err());
            }
            for compiled in [first, next] {
                let statement = compiled.statement.render(backend);
                assert!(
                    !statement.sql.contains("i-0abc"),
                    "a position value was pasted into the SQL: {}",
                    statement.sql
                );
                if backend == DatabaseBackend::Sqlite {
                    let (runtime, db) = sqlite();
                    if let Err(error) = runtime.block_on(db.query_all_raw(statement.clone())) {
                        panic!(
                            "SQLite refused a checked query: {error}\n{expression}\n{}",
                            statement.sql
                        );
                    }
                }
            }
        }
    }
});
