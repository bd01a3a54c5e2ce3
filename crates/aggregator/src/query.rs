//! The advanced query language of `SelectAggregateResourceConfig`: a subset of SQL `SELECT`
//! without FROM over the current configuration items an aggregator may show (AWS Config's
//! advanced query). An expression is parsed with `sqlparser` into our own tree ([`ast`]), checked
//! against the supported subset ([`parse`]), compiled to one parameterised statement for SQLite
//! or PostgreSQL ([`compile`]), and its rows shaped into AWS-like JSON documents ([`results`]).

pub mod ast;
pub mod compile;
pub mod parse;
pub mod results;
pub mod sql;

use sea_orm::{ConnectionTrait, DatabaseConnection};
use tracing::instrument;
use tributary_runtime::{
    Violations,
    error::reason,
    paging::{PageTokens, page_size},
};

pub use compile::QueryScope;
pub use parse::{InvalidExpression, MAX_EXPRESSION_LENGTH};

use crate::{
    config_aggregators::AggregatorScope,
    error::{Error, Result},
};
use compile::{KeyValue, Shape};

/// The AWS exception for an expression that does not parse or uses an unsupported construct.
pub const INVALID_EXPRESSION: &str = "InvalidExpressionException";
/// Rows per page when the request leaves the page size at 0, for plain queries.
pub const DEFAULT_PAGE_SIZE: u32 = 25;
/// Rows per page when the request leaves the page size at 0, for queries with GROUP BY or
/// aggregates (AWS returns up to 500 groups by default, above the explicit maximum).
pub const DEFAULT_AGGREGATE_PAGE_SIZE: u32 = 500;
/// The largest page size a request may ask for.
pub const MAX_PAGE_SIZE: u32 = 100;

/// One request for a page of query results.
#[derive(Debug, Clone, Copy)]
pub struct SelectRequest<'a> {
    /// The query.
    pub expression: &'a str,
    /// Rows per page; 0 for the default.
    pub page_size: i32,
    /// The previous page's `next_page_token`; empty for the first page.
    pub page_token: &'a str,
}

/// One page of query results.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelectPage {
    /// Each result as a JSON document.
    pub results: Vec<String>,
    /// The selected items as written (`*` expanded to the fields it returns).
    pub select_fields: Vec<String>,
    /// The next page's token; empty on the last page.
    pub next_page_token: String,
}

/// Runs advanced queries over the aggregator's replica.
#[derive(Debug, Clone)]
pub struct AdvancedQuery {
    db: DatabaseConnection,
    page_tokens: PageTokens,
}

impl AdvancedQuery {
    /// Queries over the replica in `db`, paging with `page_tokens`.
    pub fn new(db: DatabaseConnection, page_tokens: PageTokens) -> Self {
        Self { db, page_tokens }
    }

    /// Runs one page of `request` in the view of the aggregator `scope` describes.
    pub async fn select(
        &self,
        scope: &QueryScope,
        request: SelectRequest<'_>,
    ) -> Result<SelectPage> {
        select(&self.db, &self.page_tokens, scope, request).await
    }
}

/// Runs one page of `request` over `db` in the view of the aggregator `scope` describes. Checks
/// the expression first (`InvalidExpressionException`), then the page size
/// (`InvalidLimitException`), then the token (`InvalidNextTokenException`).
#[instrument(skip_all, fields(aggregator = %scope.aggregator_name))]
pub async fn select(
    db: &impl ConnectionTrait,
    page_tokens: &PageTokens,
    scope: &QueryScope,
    request: SelectRequest<'_>,
) -> Result<SelectPage> {
    let query = parse::parse(request.expression).map_err(invalid_expression)?;
    let default_size = if query.is_aggregate() {
        DEFAULT_AGGREGATE_PAGE_SIZE
    } else {
        DEFAULT_PAGE_SIZE
    };
    let size = page_size(request.page_size, default_size, MAX_PAGE_SIZE)?;
    let token_scope = token_scope(scope, request.expression);
    let after: Option<Vec<KeyValue>> = page_tokens.open(&token_scope, request.page_token)?;
    let backend = db.get_database_backend();
    let compiled = compile::compile(&query, scope, backend, after.as_deref(), u64::from(size))
        .map_err(|_| invalid_token())?;
    let mut rows = db.query_all_raw(compiled.statement.render(backend)).await?;
    let page_length = usize::try_from(size).unwrap_or(usize::MAX);
    let more = rows.len() > page_length;
    rows.truncate(page_length);

    let mut results = Vec::with_capacity(rows.len());
    match &compiled.shape {
        Shape::Items { .. } => {
            let projection = results::Projection::new(&query);
            for row in &rows {
                results.push(projection.item(row)?.to_string());
            }
        }
        Shape::Groups { keys, aggregates } => {
            for row in &rows {
                results.push(results::group(&query, keys, aggregates, row)?.to_string());
            }
        }
    }
    let next_page_token = match rows.last() {
        Some(last) if more => {
            let position = results::position(last, &compiled.sort_types)?;
            page_tokens.issue(&token_scope, &position)
        }
        _ => String::new(),
    };
    Ok(SelectPage {
        results,
        select_fields: results::select_fields(&query),
        next_page_token,
    })
}

impl From<&AggregatorScope> for QueryScope {
    fn from(scope: &AggregatorScope) -> Self {
        Self {
            owner_account_id: scope.key.owner_account_id.clone(),
            home_region: scope.key.home_region.clone(),
            aggregator_name: scope.key.name.clone(),
            resource_types: (!scope.resource_types.is_empty())
                .then(|| scope.resource_types.clone()),
        }
    }
}

/// The page size a request asks for through AWS's two synonyms (`Limit` and `MaxResults`):
/// either may be set; when both are, they must agree (`InvalidLimitException`).
pub fn requested_page_size(page_size: i32, max_results: i32) -> Result<i32> {
    if page_size != 0 && max_results != 0 && page_size != max_results {
        let mut violations = Violations::new();
        violations.add(
            "max_results",
            format!(
                "is a synonym of page_size; set one of them, or both to the same value (got {max_results} and {page_size})"
            ),
        );
        violations.finish_with(reason::INVALID_LIMIT)?;
    }
    Ok(if page_size != 0 {
        page_size
    } else {
        max_results
    })
}

/// Binds tokens to the aggregator and the exact expression.
fn token_scope(scope: &QueryScope, expression: &str) -> String {
    format!(
        "SelectAggregateResourceConfig\u{1f}{}\u{1f}{}\u{1f}{}\u{1f}{expression}",
        scope.owner_account_id, scope.home_region, scope.aggregator_name
    )
}

fn invalid_expression(InvalidExpression(message): InvalidExpression) -> Error {
    let mut violations = Violations::new();
    violations.add("expression", message);
    match violations.finish_with(INVALID_EXPRESSION) {
        Err(error) => error.into(),
        Ok(()) => unreachable!("a violation was just recorded"),
    }
}

fn invalid_token() -> Error {
    let mut violations = Violations::new();
    violations.add(
        "page_token",
        "is not a token this server issued for this query; pass the next_page_token of the \
         previous page unchanged, or an empty token to start over",
    );
    match violations.finish_with(reason::INVALID_NEXT_TOKEN) {
        Err(error) => error.into(),
        Ok(()) => unreachable!("a violation was just recorded"),
    }
}
