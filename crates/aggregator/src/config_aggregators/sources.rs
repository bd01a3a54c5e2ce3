//! The status of an aggregator's sources (DescribeConfigurationAggregatorSourcesStatus), derived
//! from the aggregator's entitlement rows (may it hold the pair, and if not, why) and from
//! replication's freshness per pair and per region.
//!
//! Rules (spec §4.5, with the codes Tributary uses):
//! - A pair the aggregator may not hold is FAILED: `AUTHORIZATION_NOT_FOUND` (pending, declined,
//!   expired or revoked), `CONFIG_NOT_ENABLED` (account unknown, suspended, closed, or the region
//!   not enabled), `ORGANIZATION_ACCESS_DENIED` (not a member any more, or the owner lost its
//!   standing).
//! - An entitled pair is FAILED when its last replication attempt failed or its region's collector
//!   cannot be reached, OUTDATED while its first copy is being made or it lags beyond the freshness
//!   target, SUCCEEDED otherwise.
//! - Organization aggregators also get one ORGANIZATION row per region: FAILED when no account of
//!   the organization is entitled there, otherwise the region's replication status.

use std::collections::{BTreeMap, HashMap};

use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use tributary_proto::aggregator::v1 as pb;
use tributary_runtime::paging::{Direction, PageTokens, keyset_after, page_size};

use super::{AggregatorKey, SourcesStatusQuery, cut, entitlement_rows, micros_timestamp};
use crate::{
    error::Result,
    store::{
        aggregator_entitlements as entitlements, replication_pairs as pairs,
        replication_regions as regions,
    },
};

/// Sources whose replica trails by more than this are OUTDATED (the freshness target, 5 minutes).
pub const DEFAULT_FRESHNESS_TARGET_MS: i64 = 5 * 60 * 1000;
/// Page sizes (AWS `Limit` 0-100, default the maximum).
const DEFAULT_PAGE: u32 = 100;
const MAX_PAGE: u32 = 100;

const SUCCEEDED: pb::AggregatedSourceStatusType = pb::AggregatedSourceStatusType::Succeeded;
const FAILED: pb::AggregatedSourceStatusType = pb::AggregatedSourceStatusType::Failed;
const OUTDATED: pb::AggregatedSourceStatusType = pb::AggregatedSourceStatusType::Outdated;

/// Where a row sits in the listing: ORGANIZATION rows (0) before ACCOUNT rows (1), then by source
/// id and region.
type Position = (u8, String, String);

/// A status with its reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub status: pb::AggregatedSourceStatusType,
    pub error_code: String,
    pub error_message: String,
}

impl Status {
    fn new(status: pb::AggregatedSourceStatusType, code: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            error_code: code.to_string(),
            error_message: message.into(),
        }
    }
}

/// The status of a pair the aggregator may not hold, from membership's pair status.
pub fn refused_status(pair_status: &str, reason: &str) -> Status {
    let code = match pair_status {
        "NOT_ENABLED" => "CONFIG_NOT_ENABLED",
        "NOT_A_MEMBER" => "ORGANIZATION_ACCESS_DENIED",
        _ => "AUTHORIZATION_NOT_FOUND",
    };
    let message = if reason.is_empty() {
        format!("the pair is {pair_status}")
    } else {
        format!("the pair is {pair_status}: {reason}")
    };
    Status::new(FAILED, code, message)
}

/// The status of an entitled pair from its replication state and its region's.
pub fn replicated_status(
    pair: Option<&pairs::Model>,
    region: Option<&regions::Model>,
    freshness_target_ms: i64,
) -> Status {
    if let Some(region) = region
        && region.status == "FAILED"
    {
        return Status::new(
            FAILED,
            region.error_code.as_deref().unwrap_or("REPLICATION_FAILED"),
            region
                .error_message
                .clone()
                .unwrap_or_else(|| format!("replicating {} failed", region.region)),
        );
    }
    let Some(pair) = pair else {
        return Status::new(
            OUTDATED,
            "REPLICATION_PENDING",
            "the first copy of this source has not been made yet",
        );
    };
    if pair.status == "FAILED" {
        return Status::new(
            FAILED,
            pair.error_code.as_deref().unwrap_or("REPLICATION_FAILED"),
            pair.error_message
                .clone()
                .unwrap_or_else(|| "the last replication attempt failed".into()),
        );
    }
    if pair.state == "snapshot" || pair.last_success_micros.is_none() {
        return Status::new(
            OUTDATED,
            "REPLICATION_PENDING",
            "the first copy of this source is being made",
        );
    }
    match pair.lag_ms {
        Some(lag_ms) if lag_ms > freshness_target_ms => Status::new(
            OUTDATED,
            "",
            format!(
                "the copy trails the source by {lag_ms} ms, beyond the target of {freshness_target_ms} ms"
            ),
        ),
        _ if pair.status == "OUTDATED" => Status::new(OUTDATED, "", "the copy is catching up"),
        _ => Status::new(SUCCEEDED, "", ""),
    }
}

/// The status of an organization in one region from how many of its accounts are entitled there.
pub fn organization_status(
    authorized: u64,
    not_a_member: u64,
    total: u64,
    region: Option<&regions::Model>,
) -> Status {
    if authorized == 0 && total > 0 {
        return if not_a_member > 0 {
            Status::new(
                FAILED,
                "ORGANIZATION_ACCESS_DENIED",
                "the owner may not aggregate the organization here (it left it, or is no longer its \
                 management account or a delegated administrator for config.amazonaws.com, or \
                 trusted access was disabled)",
            )
        } else {
            Status::new(
                FAILED,
                "CONFIG_NOT_ENABLED",
                "no account of the organization has this region enabled",
            )
        };
    }
    match region.map(|region| region.status.as_str()) {
        Some("FAILED") => replicated_status(None, region, i64::MAX),
        Some("SUCCEEDED") => Status::new(SUCCEEDED, "", ""),
        Some(_) => Status::new(OUTDATED, "", "the region's copy is catching up"),
        None => Status::new(
            OUTDATED,
            "REPLICATION_PENDING",
            "the region has not been replicated yet",
        ),
    }
}

/// One page of source statuses (see the module documentation).
pub async fn page(
    db: &impl ConnectionTrait,
    page_tokens: &PageTokens,
    key: &AggregatorKey,
    organization_id: Option<&str>,
    query: &SourcesStatusQuery,
    freshness_target_ms: i64,
    now_micros: i64,
) -> Result<(Vec<pb::AggregatedSourceStatus>, String)> {
    let limit = page_size(query.page_size, DEFAULT_PAGE, MAX_PAGE)?;
    let scope = format!(
        "DescribeConfigurationAggregatorSourcesStatus:{}:{}:{}:{:?}",
        key.owner_account_id, key.home_region, key.name, query.statuses
    );
    let after: Option<Position> = page_tokens.open(&scope, &query.page_token)?;
    let region_rows: HashMap<String, regions::Model> = regions::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|row| (row.region.clone(), row))
        .collect();
    let wanted = usize::try_from(limit).unwrap_or(usize::MAX) + 1;
    let mut rows: Vec<(Position, pb::AggregatedSourceStatus)> = Vec::new();

    if let Some(organization_id) = organization_id {
        let grouped: Vec<(String, String, i64)> =
            entitlement_rows(entitlements::Entity::find(), key)
                .select_only()
                .column(entitlements::Column::Region)
                .column(entitlements::Column::Status)
                .column_as(entitlements::Column::AccountId.count(), "count")
                .group_by(entitlements::Column::Region)
                .group_by(entitlements::Column::Status)
                .into_tuple()
                .all(db)
                .await?;
        let mut per_region: BTreeMap<String, (u64, u64, u64)> = BTreeMap::new();
        for (region, status, count) in grouped {
            let count = u64::try_from(count).unwrap_or(0);
            let entry = per_region.entry(region).or_default();
            entry.2 += count;
            match status.as_str() {
                entitlements::AUTHORIZED => entry.0 += count,
                "NOT_A_MEMBER" => entry.1 += count,
                _ => {}
            }
        }
        for (region, (authorized, not_a_member, total)) in per_region {
            let position: Position = (0, organization_id.to_string(), region.clone());
            if after.as_ref().is_some_and(|after| &position <= after) {
                continue;
            }
            let region_row = region_rows.get(&region);
            let status = organization_status(authorized, not_a_member, total, region_row);
            rows.push((
                position,
                pb::AggregatedSourceStatus {
                    source_id: organization_id.to_string(),
                    source_type: pb::AggregatedSourceType::Organization as i32,
                    aws_region: region,
                    last_update_status: status.status as i32,
                    last_update_time: Some(micros_timestamp(
                        region_row
                            .and_then(|row| row.last_attempt_micros)
                            .unwrap_or(now_micros),
                    )),
                    last_error_code: status.error_code,
                    last_error_message: status.error_message,
                    last_success_time: region_row
                        .and_then(|row| row.last_success_micros)
                        .map(micros_timestamp),
                    last_attempt_time: region_row
                        .and_then(|row| row.last_attempt_micros)
                        .map(micros_timestamp),
                    lag_ms: region_row.and_then(|row| row.lag_ms),
                    entitled_account_count: i32::try_from(authorized).unwrap_or(i32::MAX),
                },
            ));
        }
    }

    if rows.len() < wanted {
        let mut select = entitlement_rows(entitlements::Entity::find(), key)
            .order_by_asc(entitlements::Column::AccountId)
            .order_by_asc(entitlements::Column::Region)
            .limit(u64::try_from(wanted - rows.len()).unwrap_or(u64::MAX));
        if let Some((1, account_id, region)) = &after {
            select = select.filter(keyset_after(vec![
                (
                    entitlements::Column::AccountId,
                    account_id.as_str().into(),
                    Direction::Ascending,
                ),
                (
                    entitlements::Column::Region,
                    region.as_str().into(),
                    Direction::Ascending,
                ),
            ]));
        }
        let entitled = select.all(db).await?;
        let mut pair_rows: HashMap<(String, String), pairs::Model> = HashMap::new();
        if !entitled.is_empty() {
            let mut any_pair = Condition::any();
            for row in &entitled {
                any_pair = any_pair.add(
                    Condition::all()
                        .add(pairs::Column::AccountId.eq(row.account_id.as_str()))
                        .add(pairs::Column::Region.eq(row.region.as_str())),
                );
            }
            pair_rows = pairs::Entity::find()
                .filter(any_pair)
                .all(db)
                .await?
                .into_iter()
                .map(|row| ((row.account_id.clone(), row.region.clone()), row))
                .collect();
        }
        for row in entitled {
            let pair = pair_rows.get(&(row.account_id.clone(), row.region.clone()));
            let status = if row.status == entitlements::AUTHORIZED {
                replicated_status(pair, region_rows.get(&row.region), freshness_target_ms)
            } else {
                refused_status(&row.status, &row.reason)
            };
            let last_attempt = pair.and_then(|pair| pair.last_attempt_micros);
            rows.push((
                (1, row.account_id.clone(), row.region.clone()),
                pb::AggregatedSourceStatus {
                    source_id: row.account_id,
                    source_type: pb::AggregatedSourceType::Account as i32,
                    aws_region: row.region,
                    last_update_status: status.status as i32,
                    last_update_time: Some(micros_timestamp(
                        last_attempt
                            .unwrap_or(row.changed_at_micros)
                            .max(row.changed_at_micros),
                    )),
                    last_error_code: status.error_code,
                    last_error_message: status.error_message,
                    last_success_time: pair
                        .and_then(|pair| pair.last_success_micros)
                        .map(micros_timestamp),
                    last_attempt_time: last_attempt.map(micros_timestamp),
                    lag_ms: pair.and_then(|pair| pair.lag_ms),
                    entitled_account_count: 0,
                },
            ));
        }
    }

    let next = cut(page_tokens, &mut rows, limit, &scope, |(position, _)| {
        position.clone()
    });
    let statuses = rows
        .into_iter()
        .map(|(_, row)| row)
        .filter(|row| {
            query.statuses.is_empty()
                || query
                    .statuses
                    .iter()
                    .any(|wanted| *wanted as i32 == row.last_update_status)
        })
        .collect();
    Ok((statuses, next))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(state: &str, status: &str, success: Option<i64>, lag_ms: Option<i64>) -> pairs::Model {
        pairs::Model {
            account_id: "222222222222".into(),
            region: "eu-west-1".into(),
            state: state.into(),
            status: status.into(),
            last_attempt_micros: Some(10),
            last_success_micros: success,
            applied_seq: 5,
            lag_ms,
            error_code: (status == "FAILED").then(|| "CollectorUnavailable".to_string()),
            error_message: (status == "FAILED").then(|| "connection refused".to_string()),
            hidden_since_micros: None,
        }
    }

    fn region(status: &str) -> regions::Model {
        regions::Model {
            region: "eu-west-1".into(),
            applied_seq: 5,
            applied_at: None,
            status: status.into(),
            error_code: (status == "FAILED").then(|| "CollectorUnavailable".to_string()),
            error_message: None,
            last_attempt_micros: Some(10),
            last_success_micros: Some(9),
            lag_ms: Some(1),
        }
    }

    #[test]
    fn refused_pairs_fail_with_the_reason() {
        assert_eq!(
            refused_status("PENDING", "waiting").error_code,
            "AUTHORIZATION_NOT_FOUND"
        );
        assert_eq!(
            refused_status("REVOKED", "").error_code,
            "AUTHORIZATION_NOT_FOUND"
        );
        assert_eq!(
            refused_status("NOT_ENABLED", "").error_code,
            "CONFIG_NOT_ENABLED"
        );
        let status = refused_status("NOT_A_MEMBER", "left the organization");
        assert_eq!(status.status, FAILED);
        assert_eq!(status.error_code, "ORGANIZATION_ACCESS_DENIED");
        assert!(status.error_message.contains("left the organization"));
    }

    #[test]
    fn entitled_pairs_follow_replication() {
        let target = 1_000;
        assert_eq!(replicated_status(None, None, target).status, OUTDATED);
        let live = pair("live", "SUCCEEDED", Some(9), Some(10));
        assert_eq!(
            replicated_status(Some(&live), Some(&region("SUCCEEDED")), target).status,
            SUCCEEDED
        );
        let lagging = pair("live", "SUCCEEDED", Some(9), Some(5_000));
        assert_eq!(
            replicated_status(Some(&lagging), None, target).status,
            OUTDATED
        );
        let snapshot = pair("snapshot", "OUTDATED", None, None);
        assert_eq!(
            replicated_status(Some(&snapshot), None, target).error_code,
            "REPLICATION_PENDING"
        );
        let failed = pair("live", "FAILED", Some(9), None);
        let status = replicated_status(Some(&failed), None, target);
        assert_eq!(
            (status.status, status.error_code.as_str()),
            (FAILED, "CollectorUnavailable")
        );
        let unreachable = replicated_status(Some(&live), Some(&region("FAILED")), target);
        assert_eq!(unreachable.status, FAILED);
    }

    #[test]
    fn organizations_fail_where_nothing_is_entitled() {
        assert_eq!(
            organization_status(0, 3, 3, None).error_code,
            "ORGANIZATION_ACCESS_DENIED"
        );
        assert_eq!(
            organization_status(0, 0, 3, None).error_code,
            "CONFIG_NOT_ENABLED"
        );
        assert_eq!(
            organization_status(2, 1, 3, Some(&region("SUCCEEDED"))).status,
            SUCCEEDED
        );
        assert_eq!(organization_status(2, 0, 2, None).status, OUTDATED);
    }
}
