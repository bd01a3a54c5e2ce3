//! Who sees an aggregated copy, indexed with the copy so every read scopes itself with one
//! indexed filter criterion.
//!
//! A copy of (account A, origin region R) is seen, in the home region H of each finding
//! aggregator that holds (A, R), by the aggregator's owner (unless the pair is hidden: A stopped
//! being its member) and always by A itself (a member sees its own copies in its administrator's
//! home region). Each such (viewer account, H) is one row of the finding-values table under the
//! attribute [`VIEWER`], so `GetFindings`, insights and counts restrict to a caller with the same
//! compiled SQL as any other filter.

use std::collections::BTreeSet;

use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    sea_query::{Expr, ExprTrait, Query},
};
use tributary_securityhub::{
    attributes::{Attribute, Kind, Storage},
    filter::{Criterion, StringTest, Test},
    index::head,
    schema::KEY_COLUMNS,
};

use super::TABLES;
use crate::{
    error::{Error, Result},
    store::aggregated_finding_scopes as scopes,
};

/// The filter attribute under which a copy's viewers are indexed. Its name is not an AWS
/// attribute, so no request can filter on it.
pub static VIEWER: Attribute = Attribute {
    name: "tributary/AggregatedViewer",
    kind: Kind::String,
    storage: Storage::Values,
};

/// The indexed value of a viewer: the viewing account in one home region.
pub fn viewer(account_id: &str, home_region: &str) -> String {
    format!("{account_id}|{home_region}")
}

/// The criterion that keeps the copies `account_id` sees in `home_region`.
pub fn criterion(account_id: &str, home_region: &str) -> Criterion {
    Criterion {
        attribute: &VIEWER,
        test: Test::String {
            positive: vec![StringTest::Equals(viewer(account_id, home_region))],
            negative: Vec::new(),
        },
    }
}

/// The viewers of the copies of (`account_id`, `region`), from the aggregated sets holding it.
pub async fn of_pair(
    connection: &impl ConnectionTrait,
    account_id: &str,
    region: &str,
) -> Result<Vec<String>> {
    let rows = scopes::Entity::find()
        .filter(scopes::Column::AccountId.eq(account_id))
        .filter(scopes::Column::Region.eq(region))
        .all(connection)
        .await?;
    Ok(viewers_of(&rows).into_iter().collect())
}

/// The viewers the scope rows of one pair give.
pub fn viewers_of(rows: &[scopes::Model]) -> BTreeSet<String> {
    let mut viewers = BTreeSet::new();
    for row in rows {
        viewers.insert(viewer(&row.account_id, &row.home_region));
        if row.state != scopes::HIDDEN {
            viewers.insert(viewer(&row.owner_account_id, &row.home_region));
        }
    }
    viewers
}

/// Adds viewer rows for the copy with `key`, whose other finding-values rows were just written.
pub async fn write(
    connection: &impl ConnectionTrait,
    key: &[String; 3],
    viewers: &[String],
) -> Result<()> {
    if viewers.is_empty() {
        return Ok(());
    }
    let mut insert = Query::insert()
        .into_table(TABLES.values)
        .columns([
            "account_id",
            "product_arn",
            "finding_id",
            "attribute",
            "key",
            "key_head",
            "value",
            "value_head",
        ])
        .to_owned();
    for viewer in viewers {
        insert
            .values([
                key[0].as_str().into(),
                key[1].as_str().into(),
                key[2].as_str().into(),
                VIEWER.name.into(),
                "".into(),
                "".into(),
                viewer.as_str().into(),
                head(viewer).into(),
            ])
            .map_err(|error| Error::Corrupt(error.to_string()))?;
    }
    connection.execute(&insert).await?;
    Ok(())
}

/// Rewrites the viewer rows of every copy of (`account_id`, `region`) after its aggregated sets
/// changed (a pair linked, hidden or shown again).
pub async fn refresh_pair(
    connection: &impl ConnectionTrait,
    account_id: &str,
    region: &str,
) -> Result<()> {
    let copies_of_pair = || {
        Query::select()
            .columns(KEY_COLUMNS)
            .from(TABLES.findings)
            .and_where(Expr::col("account_id").eq(account_id))
            .and_where(Expr::col("region").eq(region))
            .to_owned()
    };
    let delete = Query::delete()
        .from_table(TABLES.values)
        .and_where(Expr::col("attribute").eq(VIEWER.name))
        .and_where(Expr::col("account_id").eq(account_id))
        .and_where(Expr::tuple(KEY_COLUMNS.map(Expr::col)).in_subquery(copies_of_pair()))
        .to_owned();
    connection.execute(&delete).await?;
    for viewer in of_pair(connection, account_id, region).await? {
        let mut rows = copies_of_pair();
        rows.expr(Expr::val(VIEWER.name))
            .expr(Expr::val(""))
            .expr(Expr::val(""))
            .expr(Expr::val(viewer.clone()))
            .expr(Expr::val(head(&viewer)));
        let insert = Query::insert()
            .into_table(TABLES.values)
            .columns([
                "account_id",
                "product_arn",
                "finding_id",
                "attribute",
                "key",
                "key_head",
                "value",
                "value_head",
            ])
            .select_from(rows)
            .map_err(|error| Error::Corrupt(error.to_string()))?
            .to_owned();
        connection.execute(&insert).await?;
    }
    Ok(())
}
