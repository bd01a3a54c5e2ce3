//! The aggregated views of Config aggregators: compliance by rule and conformance pack, their
//! summaries, resource counts, listings and configuration items, read from the replica.
//!
//! Every view shows only rows of (account, region) pairs whose `aggregator_entitlements` row for
//! the calling aggregator is AUTHORIZED (a correlated EXISTS, so the database never returns
//! anything else), and only resource types the aggregator's filter includes. Grouping, counting and
//! paging happen in SQL (GROUP BY, keyset conditions, LIMIT); nothing scans a whole table in
//! memory.

pub mod compliance;
pub mod inputs;
pub mod resources;

use sea_orm::{
    DatabaseConnection, EntityTrait,
    sea_query::{Expr, ExprTrait, Query},
};
use tributary_runtime::paging::PageTokens;

pub use inputs::{
    BatchGetQuery, GetResourceQuery, GroupBy, ListResourcesQuery, PackComplianceQuery,
    ResourceCountsQuery, RuleComplianceQuery, RuleDetailsQuery, SummaryQuery, Target,
};

use crate::{config_aggregators::AggregatorScope, store::aggregator_entitlements as entitlements};

/// Reads the aggregated views.
pub struct AggregateViews {
    db: DatabaseConnection,
    page_tokens: PageTokens,
}

impl AggregateViews {
    /// Views over the replica in `db`.
    pub fn new(db: DatabaseConnection, page_tokens: PageTokens) -> Self {
        Self { db, page_tokens }
    }

    /// The replica's database.
    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    /// The page-token signer the views share (advanced queries page with it too).
    pub fn page_tokens(&self) -> &PageTokens {
        &self.page_tokens
    }
}

/// `EXISTS` an AUTHORIZED `aggregator_entitlements` row of the aggregator for the pair in
/// `account` and `region` of the outer table `E`.
pub fn entitled<E>(scope: &AggregatorScope, account: E::Column, region: E::Column) -> Expr
where
    E: EntityTrait + Default,
{
    let column = |name: entitlements::Column| Expr::col((entitlements::Entity, name));
    Expr::exists(
        Query::select()
            .expr(Expr::cust("1"))
            .from(entitlements::Entity)
            .and_where(
                column(entitlements::Column::OwnerAccountId)
                    .eq(scope.key.owner_account_id.as_str()),
            )
            .and_where(column(entitlements::Column::HomeRegion).eq(scope.key.home_region.as_str()))
            .and_where(column(entitlements::Column::AggregatorName).eq(scope.key.name.as_str()))
            .and_where(column(entitlements::Column::Status).eq(entitlements::AUTHORIZED))
            .and_where(column(entitlements::Column::AccountId).equals((E::default(), account)))
            .and_where(column(entitlements::Column::Region).equals((E::default(), region)))
            .to_owned(),
    )
}

/// The aggregator's resource-type filter on `resource_type` of `E`; none when it includes every
/// type.
pub fn included_types<E>(scope: &AggregatorScope, resource_type: E::Column) -> Option<Expr>
where
    E: EntityTrait + Default,
{
    (!scope.resource_types.is_empty()).then(|| {
        Expr::col((E::default(), resource_type))
            .is_in(scope.resource_types.iter().map(String::as_str))
    })
}

/// True when the aggregator's filter includes `resource_type`.
pub fn includes_type(scope: &AggregatorScope, resource_type: &str) -> bool {
    scope.resource_types.is_empty()
        || scope
            .resource_types
            .binary_search_by(|included| included.as_str().cmp(resource_type))
            .is_ok()
}
