//! GetFindings' filter language: any protobuf-encoded `GetFindingsRequest` is validated without
//! panicking (bad input is `InvalidInputException`), and validated filters, sorts and keyset
//! positions compile to SQL for SQLite and PostgreSQL without panicking and with every user value
//! bound as a parameter, never pasted into the statement.

#![no_main]

use libfuzzer_sys::fuzz_target;
use prost::Message;
use sea_orm::{
    DatabaseBackend,
    sea_query::{PostgresQueryBuilder, SqliteQueryBuilder},
};
use tributary_proto::collector::v1 as pb;
use tributary_runtime::Error;
use tributary_securityhub::{
    filter::{Filters, INVALID_INPUT, Sort},
    query::{FindingQuery, Position, page_statement},
    schema::Tables,
};

const TABLES: Tables = Tables {
    findings: "findings",
    values: "finding_values",
    payload: "finding",
};

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
            for statement in [Some(first), next].into_iter().flatten() {
                let (sql, values) = match backend {
                    DatabaseBackend::Postgres => statement.build(PostgresQueryBuilder),
                    _ => statement.build(SqliteQueryBuilder),
                };
                assert!(!sql.contains('\''), "a value was pasted into the SQL: {sql}");
                assert!(!values.0.is_empty(), "the LIMIT at least is bound: {sql}");
            }
        }
    }
});
