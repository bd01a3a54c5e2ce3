//! Compiles validated [`Filters`] (with an account scope, a [`Sort`] and a keyset position) to one
//! SQL statement over a findings table and its finding-values table, built with sea-query: user
//! values are always bound parameters, never pasted into SQL.
//!
//! Single-valued attributes compare their indexed column; multi-valued ones test membership in
//! the finding-values table (`IN (SELECT key ...)` for positive tests, which can drive the query
//! from the `(attribute, key_head, value_head)` index, and `NOT EXISTS` for negative ones). Equal
//! and prefix comparisons are range conditions on code-point ordered columns (so indexes serve
//! them and they stay case-sensitive); CONTAINS uses `instr` (SQLite) or `strpos` (PostgreSQL).

use sea_orm::{
    ConnectionTrait, DatabaseBackend, DbErr, QueryResult, Value,
    sea_query::{Condition, Expr, ExprTrait, Func, JoinType, Order, Query, SelectStatement},
};
use tributary_runtime::{Error, Violations, error::reason, paging::PageTokens};

use crate::{
    attributes::{Attribute, Kind, Storage},
    filter::{Criterion, Filters, Sort, StringTest, Test},
    index::{HEAD_CHARS, head},
    schema::{KEY_COLUMNS, Tables},
};

/// The alias of the findings table.
const F: &str = "f";
/// The alias of the finding-values table.
const V: &str = "v";
/// Where missing numbers and dates sort: below every stored value.
const MISSING_NUMBER: f64 = -f64::MAX;
const MISSING_DATE: i64 = i64::MIN;

/// What to search: filters within an account scope, evaluated at one instant.
#[derive(Debug, Clone, Copy)]
pub struct FindingQuery<'a> {
    /// The filters.
    pub filters: &'a Filters,
    /// Only findings of these accounts; `None` for every account.
    pub accounts: Option<&'a [String]>,
    /// "Now" for relative date ranges, in microseconds since the epoch.
    pub now_micros: i64,
}

/// The first string after every string that starts with `prefix` (code-point order), or `None`
/// when no string is (the prefix is all `char::MAX`).
pub fn prefix_end(prefix: &str) -> Option<String> {
    let mut characters: Vec<char> = prefix.chars().collect();
    while let Some(last) = characters.pop() {
        let next = match u32::from(last) + 1 {
            0xD800 => 0xE000,
            next => next,
        };
        if let Some(next) = char::from_u32(next) {
            characters.push(next);
            return Some(characters.into_iter().collect());
        }
    }
    None
}

fn column(alias: &'static str, name: &'static str) -> Expr {
    Expr::col((alias, name))
}

fn contains(backend: DatabaseBackend, haystack: Expr, needle: &str) -> Expr {
    let function = match backend {
        DatabaseBackend::Postgres => "strpos",
        _ => "instr",
    };
    Expr::from(Func::cust(function).arg(haystack).arg(needle)).gt(0)
}

/// `expression` starts with `prefix`, as a range (index-friendly).
fn starts_with(expression: Expr, prefix: &str) -> Expr {
    let lower = expression.clone().gte(prefix);
    match prefix_end(prefix) {
        Some(end) => lower.and(expression.lt(end)),
        None => lower,
    }
}

/// A string test on a findings-table column.
fn column_test(backend: DatabaseBackend, expression: Expr, test: &StringTest) -> Expr {
    match test {
        StringTest::Equals(value) => expression.eq(value.as_str()),
        StringTest::Prefix(value) => starts_with(expression, value),
        StringTest::Contains(value) => contains(backend, expression, value),
    }
}

/// A string test on a finding-values text (`key` or `value` with its indexed head).
fn headed_test(
    backend: DatabaseBackend,
    full: &'static str,
    headed: &'static str,
    test: &StringTest,
) -> Expr {
    match test {
        StringTest::Equals(value) => column(V, headed)
            .eq(head(value))
            .and(column(V, full).eq(value.as_str())),
        StringTest::Prefix(value) if value.chars().count() <= HEAD_CHARS => {
            starts_with(column(V, headed), value)
        }
        StringTest::Prefix(value) => column(V, headed)
            .eq(head(value))
            .and(starts_with(column(V, full), value)),
        StringTest::Contains(value) => contains(backend, column(V, full), value),
    }
}

fn any(expressions: impl IntoIterator<Item = Expr>) -> Condition {
    expressions
        .into_iter()
        .fold(Condition::any(), |condition, expression| {
            condition.add(expression)
        })
}

fn all(expressions: impl IntoIterator<Item = Expr>) -> Condition {
    expressions
        .into_iter()
        .fold(Condition::all(), |condition, expression| {
            condition.add(expression)
        })
}

/// The finding-values rows of `attribute` that satisfy `matches`.
fn values_rows(tables: &Tables, attribute: &Attribute, matches: Condition) -> SelectStatement {
    Query::select()
        .columns(KEY_COLUMNS.map(|name| (V, name)))
        .from_as(tables.values, V)
        .and_where(column(V, "attribute").eq(attribute.name))
        .cond_where(matches)
        .to_owned()
}

fn key_tuple(alias: &'static str) -> Expr {
    Expr::tuple(KEY_COLUMNS.map(|name| column(alias, name)))
}

/// Findings having a row of `attribute` that satisfies `matches`.
fn has_value(tables: &Tables, attribute: &Attribute, matches: Condition) -> Expr {
    key_tuple(F).in_subquery(values_rows(tables, attribute, matches))
}

/// Findings having no row of `attribute` that satisfies `matches`.
fn lacks_value(tables: &Tables, attribute: &Attribute, matches: Condition) -> Expr {
    let mut rows = values_rows(tables, attribute, matches);
    for name in KEY_COLUMNS {
        rows.and_where(column(V, name).equals((F, name)));
    }
    Expr::not_exists(rows)
}

fn key_test(key: &str) -> Expr {
    column(V, "key_head")
        .eq(head(key))
        .and(column(V, "key").eq(key))
}

fn criterion_condition(
    tables: &Tables,
    backend: DatabaseBackend,
    criterion: &Criterion,
    now: i64,
) -> Condition {
    let attribute = criterion.attribute;
    match (&criterion.test, attribute.storage) {
        (Test::String { positive, negative }, Storage::Column(name)) => {
            let mut condition = Condition::all();
            if !positive.is_empty() {
                condition = condition.add(any(positive
                    .iter()
                    .map(|test| column_test(backend, column(F, name), test))));
            }
            for test in negative {
                condition = condition.add(column_test(backend, column(F, name), test).not());
            }
            condition
        }
        (Test::String { positive, negative }, Storage::Values) => {
            let matching = |tests: &[StringTest]| {
                all([column(V, "key_head").eq("")]).add(any(tests
                    .iter()
                    .map(|test| headed_test(backend, "value", "value_head", test))))
            };
            let mut condition = Condition::all();
            if !positive.is_empty() {
                condition = condition.add(has_value(tables, attribute, matching(positive)));
            }
            if !negative.is_empty() {
                condition = condition.add(lacks_value(tables, attribute, matching(negative)));
            }
            condition
        }
        (Test::Map { positive, negative }, _) => {
            let matching = |tests: &[(String, StringTest)]| {
                any(tests.iter().map(|(key, test)| {
                    key_test(key).and(headed_test(backend, "value", "value_head", test))
                }))
            };
            let mut condition = Condition::all();
            if !positive.is_empty() {
                condition = condition.add(has_value(tables, attribute, matching(positive)));
            }
            if !negative.is_empty() {
                condition = condition.add(lacks_value(tables, attribute, matching(negative)));
            }
            condition
        }
        (Test::Ip(ranges), _) => Condition::all().add(has_value(
            tables,
            attribute,
            any(ranges.iter().map(|range| {
                column(V, "key_head")
                    .gte(range.low.as_str())
                    .and(column(V, "key_head").lte(range.high.as_str()))
            })),
        )),
        (Test::Number(ranges), Storage::Column(name)) => any(ranges.iter().map(|range| {
            let bounds = [
                range.gte.map(|bound| column(F, name).gte(bound)),
                range.lte.map(|bound| column(F, name).lte(bound)),
                range.gt.map(|bound| column(F, name).gt(bound)),
                range.lt.map(|bound| column(F, name).lt(bound)),
                range.eq.map(|bound| column(F, name).eq(bound)),
            ];
            Expr::from(all(bounds.into_iter().flatten()))
        })),
        (Test::Date(tests), Storage::Column(name)) => any(tests.iter().map(|test| {
            let (start, end) = test.bounds(now);
            let bounds = [
                start.map(|bound| column(F, name).gte(bound)),
                end.map(|bound| column(F, name).lte(bound)),
                Some(column(F, name).is_not_null()),
            ];
            Expr::from(all(bounds.into_iter().flatten()))
        })),
        (Test::Boolean(values), Storage::Column(name)) => {
            any(values.iter().map(|value| column(F, name).eq(*value)))
        }
        (test, storage) => unreachable!("{test:?} cannot be stored as {storage:?}"),
    }
}

/// The WHERE condition of `query` over the findings table aliased `f`.
pub fn condition(tables: &Tables, backend: DatabaseBackend, query: &FindingQuery<'_>) -> Condition {
    let mut condition = Condition::all();
    if let Some(accounts) = query.accounts {
        condition =
            condition.add(column(F, KEY_COLUMNS[0]).is_in(accounts.iter().map(String::as_str)));
    }
    for criterion in &query.filters.criteria {
        condition = condition.add(criterion_condition(
            tables,
            backend,
            criterion,
            query.now_micros,
        ));
    }
    condition
}

/// The keyset condition "strictly after `position`" for rows ordered by the given expressions,
/// most significant first, written out (not as a row comparison) so mixed directions work.
fn keyset_after(position: Vec<(Expr, Value, bool)>) -> Condition {
    let mut condition: Option<Condition> = None;
    for (expression, value, descending) in position.into_iter().rev() {
        let beyond = if descending {
            expression.clone().lt(value.clone())
        } else {
            expression.clone().gt(value.clone())
        };
        condition = Some(match condition {
            None => Condition::all().add(beyond),
            Some(rest) => Condition::any()
                .add(beyond)
                .add(Condition::all().add(expression.eq(value)).add(rest)),
        });
    }
    condition.unwrap_or_else(Condition::all)
}

/// "Strictly after `key`" in (account, product ARN, id) order, on `alias` (or unqualified).
pub fn after_key(alias: Option<&'static str>, key: &[String; 3]) -> Condition {
    keyset_after(
        KEY_COLUMNS
            .iter()
            .zip(key)
            .map(|(name, value)| {
                let expression = match alias {
                    Some(alias) => column(alias, name),
                    None => Expr::col(*name),
                };
                (expression, Value::from(value.clone()), false)
            })
            .collect(),
    )
}

/// The expression a sort key orders by: missing numbers and dates read as the smallest value.
/// `updated_at_micros` is never NULL (every finding has UpdatedAt), so the default order is the
/// bare column, which its index serves.
fn sort_expression(attribute: &Attribute) -> Expr {
    let Storage::Column(name) = attribute.storage else {
        unreachable!("only column attributes sort");
    };
    match attribute.kind {
        _ if name == "updated_at_micros" => column(F, name),
        Kind::Number => Func::coalesce([column(F, name), Expr::val(MISSING_NUMBER)]).into(),
        Kind::Date => Func::coalesce([column(F, name), Expr::val(MISSING_DATE)]).into(),
        _ => column(F, name),
    }
}

/// A keyset position: the sort values of the last row, then its key, as JSON (page tokens carry
/// it).
pub type Position = Vec<serde_json::Value>;

fn sort_value(
    attribute: &Attribute,
    row: &QueryResult,
    alias: &str,
) -> Result<serde_json::Value, DbErr> {
    Ok(match attribute.kind {
        Kind::Number => serde_json::Number::from_f64(row.try_get::<f64>("", alias)?)
            .map_or(serde_json::Value::Null, serde_json::Value::Number),
        Kind::Date => serde_json::Value::from(row.try_get::<i64>("", alias)?),
        _ => serde_json::Value::from(row.try_get::<String>("", alias)?),
    })
}

/// The bound value of a position entry for `attribute`'s sort expression.
fn position_value(kind: Option<Kind>, value: &serde_json::Value) -> Option<Value> {
    match kind {
        Some(Kind::Number) => value.as_f64().map(Value::from),
        Some(Kind::Date) => value.as_i64().map(Value::from),
        _ => value.as_str().map(|text| Value::from(text.to_string())),
    }
}

/// One page of a search.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    /// The payloads of the matching findings, in order.
    pub payloads: Vec<Vec<u8>>,
    /// Where the next page starts; `None` on the last page.
    pub next: Option<Position>,
}

/// The SELECT of one page: payload, key and sort values of up to `limit + 1` matching rows after
/// `after`, in sort order; `None` when `after` does not fit the sort (a foreign position).
pub fn page_statement(
    tables: &Tables,
    backend: DatabaseBackend,
    query: &FindingQuery<'_>,
    sort: &Sort,
    after: Option<&Position>,
    limit: u64,
) -> Option<SelectStatement> {
    let mut select = Query::select()
        .expr_as(column(F, tables.payload), "payload")
        .columns(KEY_COLUMNS.map(|name| (F, name)))
        .from_as(tables.findings, F)
        .cond_where(condition(tables, backend, query))
        .limit(limit + 1)
        .to_owned();
    let mut ordering: Vec<(Expr, Option<Kind>, bool)> = Vec::new();
    for (index, key) in sort.keys.iter().enumerate() {
        let expression = sort_expression(key.attribute);
        select.expr_as(expression.clone(), format!("s{index}"));
        ordering.push((expression, Some(key.attribute.kind), key.descending));
    }
    for name in KEY_COLUMNS {
        ordering.push((column(F, name), None, false));
    }
    for (expression, _, descending) in &ordering {
        select.order_by_expr(
            expression.clone(),
            if *descending { Order::Desc } else { Order::Asc },
        );
    }
    if let Some(after) = after {
        if after.len() != ordering.len() {
            return None;
        }
        let position = ordering
            .into_iter()
            .zip(after)
            .map(|((expression, kind, descending), value)| {
                Some((expression, position_value(kind, value)?, descending))
            })
            .collect::<Option<Vec<_>>>()?;
        select.cond_where(keyset_after(position));
    }
    Some(select)
}

/// Reads one page: at most `limit` payloads after `after`.
pub async fn page(
    connection: &impl ConnectionTrait,
    tables: &Tables,
    query: &FindingQuery<'_>,
    sort: &Sort,
    after: Option<&Position>,
    limit: u64,
) -> Result<Option<Page>, DbErr> {
    let backend = connection.get_database_backend();
    let Some(select) = page_statement(tables, backend, query, sort, after, limit) else {
        return Ok(None);
    };
    let mut rows = connection.query_all(&select).await?;
    let more = u64::try_from(rows.len()).unwrap_or(u64::MAX) > limit;
    rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    let next = match rows.last() {
        Some(last) if more => {
            let mut position = Vec::with_capacity(sort.keys.len() + KEY_COLUMNS.len());
            for (index, key) in sort.keys.iter().enumerate() {
                position.push(sort_value(key.attribute, last, &format!("s{index}"))?);
            }
            for name in KEY_COLUMNS {
                position.push(serde_json::Value::from(last.try_get::<String>("", name)?));
            }
            Some(position)
        }
        _ => None,
    };
    let payloads = rows
        .iter()
        .map(|row| row.try_get::<Vec<u8>>("", "payload"))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Some(Page { payloads, next }))
}

/// One page of a GetFindings call: the matching payloads and the next page's token. The token is
/// bound to `call` (the calling API and its account scope), the filters and the sort; any other
/// token fails with `InvalidNextTokenException`.
#[allow(clippy::too_many_arguments)]
pub async fn find(
    connection: &impl ConnectionTrait,
    tables: &Tables,
    tokens: &PageTokens,
    call: &str,
    query: &FindingQuery<'_>,
    sort: &Sort,
    page_token: &str,
    limit: u64,
) -> Result<(Vec<Vec<u8>>, String), Error> {
    let scope = format!(
        "{call}:{:?}:{}:{}",
        query.accounts,
        query.filters.fingerprint(),
        sort.fingerprint()
    );
    let after: Option<Position> = tokens.open(&scope, page_token)?;
    let found = page(connection, tables, query, sort, after.as_ref(), limit).await?;
    let Some(found) = found else {
        // A token of this scope always fits its sort: this one was not issued by this server.
        let mut violations = Violations::new();
        violations.add(
            "page_token",
            "does not continue these filters and this sort",
        );
        violations.finish_with(reason::INVALID_NEXT_TOKEN)?;
        return Ok((Vec::new(), String::new()));
    };
    let token = found
        .next
        .map(|next| tokens.issue(&scope, &next))
        .unwrap_or_default();
    Ok((found.payloads, token))
}

/// Counts matching findings per value of `attribute` (a string or IP attribute): the `limit`
/// largest groups, largest first, ties by value. A finding counts once for each distinct value
/// it has; findings without the attribute are in no group.
pub async fn group_counts(
    connection: &impl ConnectionTrait,
    tables: &Tables,
    query: &FindingQuery<'_>,
    attribute: &Attribute,
    limit: u64,
) -> Result<Vec<(String, i64)>, DbErr> {
    let backend = connection.get_database_backend();
    let mut select = Query::select()
        .from_as(tables.findings, F)
        .cond_where(condition(tables, backend, query))
        .expr_as(Expr::cust("COUNT(*)"), "n")
        .order_by("n", Order::Desc)
        .order_by("g", Order::Asc)
        .limit(limit)
        .to_owned();
    match attribute.storage {
        Storage::Column(name) => {
            select
                .expr_as(column(F, name), "g")
                .and_where(column(F, name).ne(""))
                .group_by_col((F, name));
        }
        Storage::Values => {
            let mut on = column(V, "attribute").eq(attribute.name);
            for name in KEY_COLUMNS {
                on = on.and(column(V, name).equals((F, name)));
            }
            select
                .expr_as(column(V, "value"), "g")
                .join_as(JoinType::InnerJoin, tables.values, V, on)
                .group_by_col((V, "value"));
        }
    }
    connection
        .query_all(&select)
        .await?
        .iter()
        .map(|row| Ok((row.try_get("", "g")?, row.try_get("", "n")?)))
        .collect()
}

#[cfg(test)]
mod tests {
    use sea_orm::{Database, DatabaseConnection};
    use sea_orm_migration::SchemaManager;
    use tributary_proto::collector::v1 as pb;

    use super::*;
    use crate::{
        filter::Filters,
        index::{FindingIndex, write},
        schema::{add_attribute_columns, create_index_tables},
    };

    const TABLES: Tables = Tables {
        findings: "findings",
        values: "finding_values",
        payload: "finding",
    };

    #[test]
    fn prefix_ends_bound_every_extension() {
        assert_eq!(prefix_end("abc").as_deref(), Some("abd"));
        assert_eq!(prefix_end("a\u{D7FF}").as_deref(), Some("a\u{E000}"));
        assert_eq!(prefix_end("a\u{10FFFF}").as_deref(), Some("b"));
        assert_eq!(prefix_end("\u{10FFFF}"), None);
        let end = prefix_end("ab").unwrap();
        for candidate in ["ab", "ab\u{10FFFF}", "abzzz", "ab\u{0}"] {
            assert!(candidate >= "ab" && candidate < end.as_str(), "{candidate}");
        }
        assert!("ac" >= end.as_str());
    }

    async fn database(findings: &[pb::Finding]) -> DatabaseConnection {
        let db = Database::connect("sqlite::memory:").await.unwrap();
        db.execute_unprepared(
            "CREATE TABLE findings (account_id TEXT NOT NULL, product_arn TEXT NOT NULL, \
             finding_id TEXT NOT NULL, finding BLOB NOT NULL, \
             PRIMARY KEY (account_id, product_arn, finding_id))",
        )
        .await
        .unwrap();
        let manager = SchemaManager::new(&db);
        add_attribute_columns(&manager, &TABLES, &[]).await.unwrap();
        create_index_tables(&manager, &TABLES).await.unwrap();
        for finding in findings {
            let insert = Query::insert()
                .into_table("findings")
                .columns(["account_id", "product_arn", "finding_id", "finding"])
                .values_panic([
                    finding.aws_account_id.as_str().into(),
                    finding.product_arn.as_str().into(),
                    finding.id.as_str().into(),
                    prost::Message::encode_to_vec(finding).into(),
                ])
                .to_owned();
            db.execute(&insert).await.unwrap();
            write(&db, &TABLES, &FindingIndex::of(finding))
                .await
                .unwrap();
        }
        db
    }

    fn finding(id: &str, title: &str, updated: i64, types: &[&str]) -> pb::Finding {
        pb::Finding {
            id: id.into(),
            product_arn: "arn:aws:securityhub:us-east-1::product/aws/securityhub".into(),
            aws_account_id: "111111111111".into(),
            title: title.into(),
            types: types.iter().map(|kind| kind.to_string()).collect(),
            updated_at: Some(prost_types::Timestamp {
                seconds: updated,
                nanos: 0,
            }),
            ..Default::default()
        }
    }

    fn string(value: &str, comparison: pb::StringFilterComparison) -> pb::StringFilter {
        pb::StringFilter {
            value: value.into(),
            comparison: comparison as i32,
        }
    }

    async fn ids(db: &DatabaseConnection, filters: pb::FindingFilters, sort: &Sort) -> Vec<String> {
        let filters = Filters::parse(&filters, "filters").unwrap();
        let query = FindingQuery {
            filters: &filters,
            accounts: None,
            now_micros: 0,
        };
        let mut ids = Vec::new();
        let mut after = None;
        loop {
            let page = page(db, &TABLES, &query, sort, after.as_ref(), 2)
                .await
                .unwrap()
                .unwrap();
            for payload in page.payloads {
                let finding: pb::Finding = prost::Message::decode(payload.as_slice()).unwrap();
                ids.push(finding.id);
            }
            match page.next {
                Some(next) => after = Some(next),
                None => return ids,
            }
        }
    }

    #[tokio::test]
    async fn filters_sorts_and_pages_on_sqlite() {
        use pb::StringFilterComparison as C;
        let db = database(&[
            finding("a", "Alpha", 3, &["TTPs/Discovery", "Effects"]),
            finding("b", "alpha", 1, &["TTPs"]),
            finding("c", "Beta", 2, &[]),
            finding("d", "Alphabet", 5, &["Effects/Data Exposure"]),
        ])
        .await;
        let newest = Sort::default();
        assert_eq!(
            ids(&db, Default::default(), &newest).await,
            ["d", "a", "c", "b"]
        );
        let prefix = pb::FindingFilters {
            title: vec![string("Alpha", C::Prefix)],
            ..Default::default()
        };
        assert_eq!(
            ids(&db, prefix, &newest).await,
            ["d", "a"],
            "case-sensitive"
        );
        let not_ttps = pb::FindingFilters {
            r#type: vec![string("TTPs", C::PrefixNotEquals)],
            ..Default::default()
        };
        assert_eq!(ids(&db, not_ttps, &newest).await, ["d", "c"]);
        let contains = pb::FindingFilters {
            r#type: vec![string("Exp", C::Contains)],
            ..Default::default()
        };
        assert_eq!(ids(&db, contains, &newest).await, ["d"]);
        let by_title = Sort::parse(&[pb::SortCriterion {
            field: "Title".into(),
            sort_order: pb::SortOrder::Descending as i32,
        }])
        .unwrap();
        assert_eq!(
            ids(&db, Default::default(), &by_title).await,
            ["b", "c", "d", "a"]
        );

        let filters = Filters::default();
        let query = FindingQuery {
            filters: &filters,
            accounts: None,
            now_micros: 0,
        };
        let types = group_counts(
            &db,
            &TABLES,
            &query,
            crate::attributes::attribute("Type").unwrap(),
            10,
        )
        .await
        .unwrap();
        assert_eq!(
            types,
            [
                ("Effects".to_string(), 1),
                ("Effects/Data Exposure".to_string(), 1),
                ("TTPs".to_string(), 1),
                ("TTPs/Discovery".to_string(), 1)
            ]
        );
        let scoped = FindingQuery {
            accounts: Some(&[]),
            ..query
        };
        assert!(
            page(&db, &TABLES, &scoped, &newest, None, 10)
                .await
                .unwrap()
                .unwrap()
                .payloads
                .is_empty()
        );
    }
}
