//! What the replication engine asks about finding aggregators, called inside its transactions:
//! the aggregated sets ([`reconcile`]), when a pair's changes start counting ([`backfilled`],
//! [`accepts_finding`]) and the progress of each linked region ([`record_progress`]).
//!
//! Finding aggregators share the engine's entitlement mirror (`aggregator_entitlements`) under
//! the aggregator name [`MIRROR_NAME`], which no Config aggregator can have, so the engine
//! resolves, streams and back-fills their pairs with every other aggregator's.
//!
//! A newly linked pair counts changes from the moment it is linked: from the back-fill
//! snapshot's sequence number when the engine back-fills the pair anyway, or from the region's
//! cursor when the pair is already live. It counts every finding (it takes the snapshot) only
//! when back-fill is asked for, and always for the home region, whose findings the home region
//! shows regardless of aggregation. A live pair that must be back-filled is sent back to
//! snapshot; re-applying the other kinds' snapshot records changes nothing.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    sea_query::{Expr, OnConflict},
};

use super::{now_micros, viewers};
use crate::{
    error::Result,
    finding_aggregators::inputs::LinkingMode,
    store::{
        aggregated_finding_scopes as scopes, aggregator_entitlements as entitlements,
        finding_aggregator_linked_regions as progress, finding_aggregators,
        replication_pairs as pairs, replication_regions,
    },
};

/// The aggregator name of finding aggregators in the entitlement mirror. Config aggregator names
/// are letters, digits, `-` and `_`, so this one never collides.
pub const MIRROR_NAME: &str = "#finding-aggregator";

/// True when a mirror row or aggregator key names a finding aggregator.
pub fn is_finding_aggregator(aggregator_name: &str) -> bool {
    aggregator_name == MIRROR_NAME
}

/// The engine's pair states this module reads and sets (`replication_pairs.state`).
const PAIR_LIVE: &str = "live";
const PAIR_SNAPSHOT: &str = "snapshot";
/// A pair waiting for its back-fill.
const PAIR_OUTDATED: &str = "OUTDATED";

/// Brings the aggregated sets of `region` in line with the mirror, and starts newly linked
/// pairs: a live pair starts at once (or goes back to snapshot to be back-filled), other pairs
/// when the engine's back-fill of them completes ([`backfilled`]). Runs in the worker's
/// reconcile transaction, before the worker reads the region's pairs.
pub async fn reconcile(connection: &impl ConnectionTrait, region: &str) -> Result<()> {
    let now = now_micros();
    let mirrored = entitlements::Entity::find()
        .filter(entitlements::Column::Region.eq(region))
        .filter(entitlements::Column::AggregatorName.eq(MIRROR_NAME))
        .all(connection)
        .await?;
    let aggregators: HashMap<String, finding_aggregators::Model> =
        finding_aggregators::Entity::find()
            .all(connection)
            .await?
            .into_iter()
            .map(|row| (row.owner_account_id.clone(), row))
            .collect();
    let current = |owner: &str, home_region: &str| {
        aggregators
            .get(owner)
            .filter(|aggregator| aggregator.home_region == home_region)
    };
    let mut held: BTreeMap<(String, String, String), scopes::Model> = scopes::Entity::find()
        .filter(scopes::Column::Region.eq(region))
        .all(connection)
        .await?
        .into_iter()
        .map(|row| {
            (
                (
                    row.owner_account_id.clone(),
                    row.home_region.clone(),
                    row.account_id.clone(),
                ),
                row,
            )
        })
        .collect();
    // Aggregators that still cover this region: membership resolves their owner's own pair here.
    let covering: BTreeSet<(String, String)> = mirrored
        .iter()
        .filter(|row| row.account_id == row.owner_account_id)
        .map(|row| (row.owner_account_id.clone(), row.home_region.clone()))
        .collect();
    let mut refresh = BTreeSet::new();

    for row in &mirrored {
        let Some(aggregator) = current(&row.owner_account_id, &row.home_region) else {
            // A mirror row of a deleted aggregator, until the mirror is refreshed.
            continue;
        };
        let wanted = if row.status == entitlements::AUTHORIZED {
            scopes::LINKED
        } else if row.account_id == row.owner_account_id {
            scopes::STOPPED
        } else {
            scopes::HIDDEN
        };
        let key = (
            row.owner_account_id.clone(),
            row.home_region.clone(),
            row.account_id.clone(),
        );
        let backfill = aggregator.backfill_existing_findings || row.home_region == region;
        match held.remove(&key) {
            None if wanted == scopes::LINKED => {
                scopes::Entity::insert(scopes::ActiveModel {
                    owner_account_id: Set(key.0),
                    home_region: Set(key.1),
                    account_id: Set(key.2.clone()),
                    region: Set(region.to_string()),
                    state: Set(wanted.to_string()),
                    backfill: Set(backfill),
                    started_seq: Set(None),
                    changed_at_micros: Set(now),
                })
                .exec_without_returning(connection)
                .await?;
                refresh.insert(key.2);
            }
            // A pair never linked holds nothing.
            None => {}
            Some(scope) if scope.state != wanted => {
                set_state(connection, &scope, wanted, backfill, now).await?;
                refresh.insert(key.2);
            }
            Some(_) => {}
        }
    }
    // Linked pairs membership no longer lists: the region was unlinked or the aggregator deleted
    // (the copies stay visible), or a member left (its copies are hidden from the owner).
    for scope in held.into_values() {
        if scope.state != scopes::LINKED {
            continue;
        }
        let still_covered = current(&scope.owner_account_id, &scope.home_region).is_some()
            && covering.contains(&(scope.owner_account_id.clone(), scope.home_region.clone()));
        let wanted = if still_covered && scope.account_id != scope.owner_account_id {
            scopes::HIDDEN
        } else {
            scopes::STOPPED
        };
        set_state(connection, &scope, wanted, scope.backfill, now).await?;
        refresh.insert(scope.account_id.clone());
    }
    for account_id in refresh {
        viewers::refresh_pair(connection, &account_id, region).await?;
    }
    start_linked(connection, region).await
}

async fn set_state(
    connection: &impl ConnectionTrait,
    scope: &scopes::Model,
    state: &str,
    backfill: bool,
    now: i64,
) -> Result<()> {
    let mut update = scopes::Entity::update_many()
        .col_expr(scopes::Column::State, Expr::value(state))
        .col_expr(scopes::Column::ChangedAtMicros, Expr::value(now));
    if state == scopes::LINKED {
        // Linked again: counting starts afresh, as for a new link.
        update = update
            .col_expr(scopes::Column::StartedSeq, Expr::value(Option::<i64>::None))
            .col_expr(scopes::Column::Backfill, Expr::value(backfill));
    }
    update
        .filter(scopes::Column::OwnerAccountId.eq(&scope.owner_account_id))
        .filter(scopes::Column::HomeRegion.eq(&scope.home_region))
        .filter(scopes::Column::AccountId.eq(&scope.account_id))
        .filter(scopes::Column::Region.eq(&scope.region))
        .exec(connection)
        .await?;
    Ok(())
}

/// Starts the linked, not yet started pairs of `region` whose engine pair is live.
async fn start_linked(connection: &impl ConnectionTrait, region: &str) -> Result<()> {
    let waiting = scopes::Entity::find()
        .filter(scopes::Column::Region.eq(region))
        .filter(scopes::Column::State.eq(scopes::LINKED))
        .filter(scopes::Column::StartedSeq.is_null())
        .all(connection)
        .await?;
    if waiting.is_empty() {
        return Ok(());
    }
    let live: HashMap<String, i64> = pairs::Entity::find()
        .filter(pairs::Column::Region.eq(region))
        .filter(pairs::Column::State.eq(PAIR_LIVE))
        .all(connection)
        .await?
        .into_iter()
        .map(|row| (row.account_id, row.applied_seq))
        .collect();
    for scope in waiting {
        let Some(applied_seq) = live.get(&scope.account_id) else {
            // The engine back-fills the pair first; `backfilled` starts it.
            continue;
        };
        if scope.backfill {
            pairs::Entity::update_many()
                .col_expr(pairs::Column::State, Expr::value(PAIR_SNAPSHOT))
                .col_expr(pairs::Column::Status, Expr::value(PAIR_OUTDATED))
                .filter(pairs::Column::AccountId.eq(&scope.account_id))
                .filter(pairs::Column::Region.eq(region))
                .exec(connection)
                .await?;
        } else {
            start(connection, &scope, *applied_seq).await?;
        }
    }
    Ok(())
}

async fn start(connection: &impl ConnectionTrait, scope: &scopes::Model, seq: i64) -> Result<()> {
    scopes::Entity::update_many()
        .col_expr(scopes::Column::StartedSeq, Expr::value(seq))
        .col_expr(scopes::Column::Backfill, Expr::value(false))
        .filter(scopes::Column::OwnerAccountId.eq(&scope.owner_account_id))
        .filter(scopes::Column::HomeRegion.eq(&scope.home_region))
        .filter(scopes::Column::AccountId.eq(&scope.account_id))
        .filter(scopes::Column::Region.eq(&scope.region))
        .exec(connection)
        .await?;
    Ok(())
}

/// The engine back-filled `accounts` of `region` from a snapshot consistent with
/// `snapshot_seq`: their linked pairs that had not started count changes from there on.
pub async fn backfilled(
    connection: &impl ConnectionTrait,
    region: &str,
    accounts: &[String],
    snapshot_seq: i64,
) -> Result<()> {
    for chunk in accounts.chunks(500) {
        scopes::Entity::update_many()
            .col_expr(scopes::Column::StartedSeq, Expr::value(snapshot_seq))
            .col_expr(scopes::Column::Backfill, Expr::value(false))
            .filter(scopes::Column::Region.eq(region))
            .filter(scopes::Column::AccountId.is_in(chunk.iter().cloned()))
            .filter(scopes::Column::State.eq(scopes::LINKED))
            .filter(scopes::Column::StartedSeq.is_null())
            .exec(connection)
            .await?;
    }
    Ok(())
}

/// Whether a finding change of `account_id` in `region` with sequence number `seq` is
/// aggregated: some linked pair counts it (it is newer than the pair's start, or the pair is
/// being back-filled).
pub async fn accepts_finding(
    connection: &impl ConnectionTrait,
    account_id: &str,
    region: &str,
    seq: i64,
) -> Result<bool> {
    Ok(linked(connection, account_id, region)
        .await?
        .iter()
        .any(|scope| match scope.started_seq {
            Some(started) => seq > started,
            None => scope.backfill,
        }))
}

/// Whether some aggregator links (`account_id`, `region`): its control statuses and insights,
/// which are current state rather than history, are always kept.
pub async fn accepts_state(
    connection: &impl ConnectionTrait,
    account_id: &str,
    region: &str,
) -> Result<bool> {
    Ok(!linked(connection, account_id, region).await?.is_empty())
}

async fn linked(
    connection: &impl ConnectionTrait,
    account_id: &str,
    region: &str,
) -> Result<Vec<scopes::Model>> {
    Ok(scopes::Entity::find()
        .filter(scopes::Column::AccountId.eq(account_id))
        .filter(scopes::Column::Region.eq(region))
        .filter(scopes::Column::State.eq(scopes::LINKED))
        .all(connection)
        .await?)
}

/// Records the region's replication progress for every finding aggregator that links it (its
/// `linked_region_status`), and the region's aggregation lag metric. Runs in the transaction
/// that recorded the region's progress.
pub async fn record_progress(
    connection: &impl ConnectionTrait,
    region: &str,
    lag_ms: i64,
) -> Result<()> {
    let owners: BTreeSet<(String, String)> = scopes::Entity::find()
        .filter(scopes::Column::Region.eq(region))
        .filter(scopes::Column::State.eq(scopes::LINKED))
        .filter(scopes::Column::StartedSeq.is_not_null())
        .filter(scopes::Column::HomeRegion.ne(region))
        .all(connection)
        .await?
        .into_iter()
        .map(|scope| (scope.owner_account_id, scope.home_region))
        .collect();
    if owners.is_empty() {
        return Ok(());
    }
    let Some(cursor) = replication_regions::Entity::find_by_id(region.to_string())
        .one(connection)
        .await?
    else {
        return Ok(());
    };
    let aggregators: HashMap<String, finding_aggregators::Model> =
        finding_aggregators::Entity::find()
            .filter(
                finding_aggregators::Column::OwnerAccountId
                    .is_in(owners.iter().map(|(owner, _)| owner.clone())),
            )
            .all(connection)
            .await?
            .into_iter()
            .map(|row| (row.owner_account_id.clone(), row))
            .collect();
    for (owner, home_region) in owners {
        // The progress of a deleted aggregator, or of a region an update just unlinked, is gone
        // with it (before the next reconcile stops the pair).
        let still_linked = aggregators.get(&owner).is_some_and(|aggregator| {
            aggregator.home_region == home_region && links(aggregator, region)
        });
        if !still_linked {
            continue;
        }
        progress::Entity::insert(progress::ActiveModel {
            owner_account_id: Set(owner),
            region: Set(region.to_string()),
            applied_seq: Set(cursor.applied_seq),
            applied_at_micros: Set(cursor.applied_at),
            lag_ms: Set(Some(lag_ms)),
        })
        .on_conflict(
            OnConflict::columns([progress::Column::OwnerAccountId, progress::Column::Region])
                .update_columns([
                    progress::Column::AppliedSeq,
                    progress::Column::AppliedAtMicros,
                    progress::Column::LagMs,
                ])
                .to_owned(),
        )
        .exec_without_returning(connection)
        .await?;
    }
    #[allow(clippy::cast_precision_loss)] // Lags are far below 2^52 ms.
    metrics::gauge!("tributary_finding_aggregation_lag_seconds", "region" => region.to_string())
        .set(lag_ms as f64 / 1000.0);
    Ok(())
}

/// Whether `aggregator`'s linking mode links `region` (an unreadable row links nothing).
fn links(aggregator: &finding_aggregators::Model, region: &str) -> bool {
    let listed: Vec<String> = serde_json::from_str(&aggregator.regions).unwrap_or_default();
    LinkingMode::parse(&aggregator.region_linking_mode)
        .is_some_and(|mode| mode.links(region, &listed))
}

/// The mirror keys of every finding aggregator: (owner, home region, [`MIRROR_NAME`]).
pub async fn aggregator_keys(
    connection: &impl ConnectionTrait,
) -> Result<Vec<(String, String, String)>> {
    Ok(finding_aggregators::Entity::find()
        .all(connection)
        .await?
        .into_iter()
        .map(|row| {
            (
                row.owner_account_id,
                row.home_region,
                MIRROR_NAME.to_string(),
            )
        })
        .collect())
}
