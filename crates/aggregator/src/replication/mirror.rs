//! The entitlement mirror: `aggregator_entitlements` holds, for every Config aggregator, each pair
//! membership's `ResolveEntitlements` returns and its status. Views show a pair's data only while
//! its row is AUTHORIZED; workers replicate the union of AUTHORIZED pairs.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QuerySelect, sea_query::OnConflict,
};
use tributary_proto::membership::v1 as membership_pb;

use super::membership::Membership;
use crate::{
    error::Result,
    store::{aggregator_entitlements as entitlements, config_aggregators},
};

/// An aggregator's key: (owner account, home region, name).
pub(super) type AggregatorKey = (String, String, String);

/// An (account, region) pair.
type Pair = (String, String);

/// What membership said about each pair of one aggregator: (status name, reason).
type Resolved = BTreeMap<Pair, (String, String)>;

/// The stored name of a pair status: membership's enum name without its prefix.
pub(super) fn status_name(status: i32) -> String {
    membership_pb::PairStatus::try_from(status)
        .unwrap_or(membership_pb::PairStatus::Unspecified)
        .as_str_name()
        .trim_start_matches("PAIR_STATUS_")
        .to_string()
}

/// Resolves every aggregator of `config_aggregators` and writes the answers into the mirror in
/// one transaction. Fails, leaving the mirror as it was, when membership cannot answer.
pub(super) async fn refresh(db: &DatabaseConnection, membership: &Membership) -> Result<()> {
    let aggregators = aggregator_keys(db).await?;
    let mut resolved: BTreeMap<AggregatorKey, Resolved> = BTreeMap::new();
    for key in aggregators {
        let pairs = membership
            .resolve(&key.0, &key.1, &key.2)
            .await?
            .unwrap_or_default();
        let pairs = pairs
            .into_iter()
            .map(|pair| {
                (
                    (pair.account_id, pair.region),
                    (status_name(pair.status), pair.reason),
                )
            })
            .collect();
        resolved.insert(key, pairs);
    }

    let transaction = super::begin_write(db).await?;
    // Aggregators deleted while membership was asked must not come back.
    let current: BTreeSet<AggregatorKey> = aggregator_keys(&transaction).await?;
    let stored = entitlements::Entity::find().all(&transaction).await?;
    let mut stored_by_key: HashMap<(AggregatorKey, Pair), entitlements::Model> =
        HashMap::with_capacity(stored.len());
    for row in stored {
        let aggregator = (
            row.owner_account_id.clone(),
            row.home_region.clone(),
            row.aggregator_name.clone(),
        );
        let pair = (row.account_id.clone(), row.region.clone());
        let gone = !current.contains(&aggregator)
            || resolved
                .get(&aggregator)
                .is_some_and(|pairs| !pairs.contains_key(&pair));
        if gone {
            delete_row(&transaction, &row).await?;
        } else {
            stored_by_key.insert((aggregator, pair), row);
        }
    }
    let now = super::now_micros();
    for (aggregator, pairs) in &resolved {
        if !current.contains(aggregator) {
            continue;
        }
        for (pair, (status, reason)) in pairs {
            let stored = stored_by_key.get(&(aggregator.clone(), pair.clone()));
            if stored.is_some_and(|row| row.status == *status && row.reason == *reason) {
                continue;
            }
            let changed_at_micros = match stored {
                Some(row) if row.status == *status => row.changed_at_micros,
                _ => now,
            };
            entitlements::Entity::insert(entitlements::ActiveModel {
                owner_account_id: Set(aggregator.0.clone()),
                home_region: Set(aggregator.1.clone()),
                aggregator_name: Set(aggregator.2.clone()),
                account_id: Set(pair.0.clone()),
                region: Set(pair.1.clone()),
                status: Set(status.clone()),
                reason: Set(reason.clone()),
                changed_at_micros: Set(changed_at_micros),
            })
            .on_conflict(
                OnConflict::columns([
                    entitlements::Column::OwnerAccountId,
                    entitlements::Column::HomeRegion,
                    entitlements::Column::AggregatorName,
                    entitlements::Column::AccountId,
                    entitlements::Column::Region,
                ])
                .update_columns([
                    entitlements::Column::Status,
                    entitlements::Column::Reason,
                    entitlements::Column::ChangedAtMicros,
                ])
                .to_owned(),
            )
            .exec_without_returning(&transaction)
            .await?;
        }
    }
    transaction.commit().await?;
    Ok(())
}

/// Every region the mirror names.
pub(super) async fn regions(db: &impl ConnectionTrait) -> Result<Vec<String>> {
    Ok(entitlements::Entity::find()
        .select_only()
        .column(entitlements::Column::Region)
        .distinct()
        .into_tuple()
        .all(db)
        .await?)
}

/// What the mirror says about one region.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct RegionEntitlements {
    /// Accounts at least one aggregator is AUTHORIZED for.
    pub authorized: BTreeSet<String>,
    /// Accounts at least one aggregator asks for, whatever the status.
    pub listed: BTreeSet<String>,
    /// Aggregators AUTHORIZED for at least one account of the region.
    pub aggregators: BTreeSet<AggregatorKey>,
}

/// Reads the mirror's rows of `region`.
pub(super) async fn region(db: &impl ConnectionTrait, region: &str) -> Result<RegionEntitlements> {
    let rows = entitlements::Entity::find()
        .filter(entitlements::Column::Region.eq(region))
        .all(db)
        .await?;
    let mut entitled = RegionEntitlements::default();
    for row in rows {
        if row.status == entitlements::AUTHORIZED {
            entitled.authorized.insert(row.account_id.clone());
            entitled.aggregators.insert((
                row.owner_account_id,
                row.home_region,
                row.aggregator_name,
            ));
        }
        entitled.listed.insert(row.account_id);
    }
    Ok(entitled)
}

async fn aggregator_keys(db: &impl ConnectionTrait) -> Result<BTreeSet<AggregatorKey>> {
    let mut keys: BTreeSet<AggregatorKey> = config_aggregators::Entity::find()
        .select_only()
        .column(config_aggregators::Column::OwnerAccountId)
        .column(config_aggregators::Column::HomeRegion)
        .column(config_aggregators::Column::Name)
        .into_tuple()
        .all(db)
        .await?
        .into_iter()
        .collect();
    // Finding aggregators are mirrored too, under their reserved name.
    keys.extend(crate::findings::replication::aggregator_keys(db).await?);
    Ok(keys)
}

async fn delete_row(db: &impl ConnectionTrait, row: &entitlements::Model) -> Result<()> {
    entitlements::Entity::delete_many()
        .filter(entitlements::Column::OwnerAccountId.eq(&row.owner_account_id))
        .filter(entitlements::Column::HomeRegion.eq(&row.home_region))
        .filter(entitlements::Column::AggregatorName.eq(&row.aggregator_name))
        .filter(entitlements::Column::AccountId.eq(&row.account_id))
        .filter(entitlements::Column::Region.eq(&row.region))
        .exec(db)
        .await?;
    Ok(())
}
