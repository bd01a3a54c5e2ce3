//! Security Hub insights of this region's accounts (spec §3.10): CreateInsight, UpdateInsight,
//! DeleteInsight, GetInsights and GetInsightResults. Custom insight definitions are stored per
//! account and appended to the change log (CHANGE_KIND_INSIGHT, keyed by ARN); managed insights
//! come from `tributary_securityhub::insights`. Results are one GROUP BY query compiled by the
//! same filter compiler as GetFindings.

use prost::Message;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect,
};
use tributary_proto::collector::v1 as pb;
use tributary_runtime::{
    auth::Caller,
    paging::{Direction, PageTokens, keyset_after, page_size},
};
use tributary_securityhub::{
    attributes::attribute,
    filter::Filters,
    insights::{
        MAX_CUSTOM_INSIGHTS, MAX_RESULT_GROUPS, custom_arn, managed_insight, parse_custom_arn,
        validate,
    },
    query::{FindingQuery, group_counts},
};

use crate::{
    access::{AccountAccess, acting_account, hub_not_enabled},
    change_log::{
        ChangeKind, ChangeLog, ChangeOp, ChangeRecord, ChangeTx, Version, to_i64, to_u64,
    },
    error::{Error, Result, reason},
    findings::query::{TABLES, now_micros, search_scope},
    store::insights as table,
};

const DEFAULT_PAGE: u32 = 100;
const MAX_PAGE: u32 = 100;
/// ARNs one GetInsights call may name.
pub const MAX_INSIGHT_ARNS: usize = 100;

/// The account a Security Hub call acts on: an account key's own when `requested` is empty (or
/// the account it names, which it must be allowed to read, or for `write`, to write), or the one
/// a service or operator key names. The account's hub must be enabled here
/// (`InvalidAccessException`).
pub(crate) async fn subject_account(
    access: &AccountAccess,
    caller: &Caller,
    requested: &str,
    write: bool,
) -> Result<String> {
    let account_id = match (acting_account(caller), requested.is_empty()) {
        (Some(own), true) => own.to_string(),
        (_, false) => {
            tributary_runtime::ids::validate_account_id(requested).map_err(|message| {
                Error::invalid_field(reason::INVALID_INPUT, "account_id", message)
            })?;
            requested.to_string()
        }
        (None, true) => {
            return Err(Error::invalid_field(
                reason::INVALID_INPUT,
                "account_id",
                "a service or operator key must name the account",
            ));
        }
    };
    if write {
        access.require_write(caller, &account_id)?;
    } else {
        access.require_read(caller, &account_id).await?;
    }
    if !access.hub_status(&account_id).await?.enabled {
        return Err(hub_not_enabled(&account_id));
    }
    Ok(account_id)
}

fn not_found(arn: &str) -> Error {
    Error::not_found(
        tributary_runtime::error::reason::RESOURCE_NOT_FOUND,
        format!(
            "no insight {}",
            tributary_runtime::ids::truncate_for_message(arn)
        ),
    )
}

fn decode_filters(row: &table::Model) -> Result<pb::FindingFilters> {
    pb::FindingFilters::decode(row.filters.as_slice())
        .map_err(|error| Error::Corrupt(format!("stored insight filters: {error}")))
}

fn insight_of(row: &table::Model) -> Result<pb::Insight> {
    Ok(pb::Insight {
        insight_arn: row.insight_arn.clone(),
        name: row.name.clone(),
        filters: Some(decode_filters(row)?),
        group_by_attribute: row.group_by_attribute.clone(),
    })
}

async fn name_taken(
    connection: &impl ConnectionTrait,
    account_id: &str,
    name: &str,
    other_than: Option<&str>,
) -> Result<bool> {
    let mut select = table::Entity::find()
        .filter(table::Column::AccountId.eq(account_id))
        .filter(table::Column::Name.eq(name));
    if let Some(arn) = other_than {
        select = select.filter(table::Column::InsightArn.ne(arn));
    }
    Ok(select.count(connection).await? > 0)
}

fn conflict(name: &str) -> Error {
    Error::Conflict {
        reason: reason::RESOURCE_CONFLICT,
        message: format!("the account already has an insight named {name:?}"),
    }
}

/// Stores `row` and appends its change record.
async fn store(change_tx: &mut ChangeTx, mut row: table::Model) -> Result<String> {
    let payload = insight_of(&row)?.encode_to_vec();
    let stamp = change_tx.append(
        &row.account_id,
        ChangeKind::Insight,
        row.insight_arn.clone(),
        ChangeOp::Upsert,
        |_| payload,
    );
    row.seq = to_i64(stamp.seq);
    row.version = stamp.version.encode();
    let arn = row.insight_arn.clone();
    table::Entity::insert(table::ActiveModel {
        account_id: Set(row.account_id),
        insight_arn: Set(row.insight_arn),
        name: Set(row.name),
        group_by_attribute: Set(row.group_by_attribute),
        filters: Set(row.filters),
        seq: Set(row.seq),
        version: Set(row.version),
    })
    .on_conflict(
        sea_orm::sea_query::OnConflict::columns([
            table::Column::AccountId,
            table::Column::InsightArn,
        ])
        .update_columns([
            table::Column::Name,
            table::Column::GroupByAttribute,
            table::Column::Filters,
            table::Column::Seq,
            table::Column::Version,
        ])
        .to_owned(),
    )
    .exec(change_tx.tx())
    .await?;
    Ok(arn)
}

/// One page of current custom insights for a snapshot, in (account, ARN) order, and the position
/// to continue after when the page was full.
pub(crate) async fn snapshot_page(
    connection: &impl ConnectionTrait,
    account_ids: &[String],
    after: Option<(String, String)>,
    limit: u64,
) -> Result<(Vec<ChangeRecord>, Option<(String, String)>)> {
    let mut select = table::Entity::find()
        .order_by_asc(table::Column::AccountId)
        .order_by_asc(table::Column::InsightArn)
        .limit(limit);
    if !account_ids.is_empty() {
        select = select.filter(table::Column::AccountId.is_in(account_ids.to_vec()));
    }
    if let Some((account_id, arn)) = &after {
        select = select.filter(keyset_after(vec![
            (
                table::Column::AccountId,
                account_id.as_str().into(),
                Direction::Ascending,
            ),
            (
                table::Column::InsightArn,
                arn.as_str().into(),
                Direction::Ascending,
            ),
        ]));
    }
    let rows = select.all(connection).await?;
    let next = match rows.last() {
        Some(last) if u64::try_from(rows.len()).unwrap_or(u64::MAX) >= limit => {
            Some((last.account_id.clone(), last.insight_arn.clone()))
        }
        _ => None,
    };
    let records = rows
        .iter()
        .map(|row| {
            Ok(ChangeRecord {
                seq: to_u64(row.seq),
                kind: ChangeKind::Insight,
                key: row.insight_arn.clone(),
                version: Version::decode(&row.version)
                    .ok_or_else(|| Error::Corrupt(format!("bad version {:?}", row.version)))?,
                op: ChangeOp::Upsert,
                payload: insight_of(row)?.encode_to_vec(),
                committed_at: None,
                account_id: row.account_id.clone(),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok((records, next))
}

/// The insights of this region's accounts.
pub struct Insights {
    change_log: ChangeLog,
    page_tokens: PageTokens,
    region: String,
    access: AccountAccess,
}

impl Insights {
    /// Insights of `region`, stored through `change_log`.
    pub fn new(
        change_log: ChangeLog,
        page_tokens: PageTokens,
        region: String,
        access: AccountAccess,
    ) -> Self {
        Self {
            change_log,
            page_tokens,
            region,
            access,
        }
    }

    /// The stored custom insight `arn` of this region, which `caller` may read (or `write`).
    async fn custom(
        &self,
        connection: &impl ConnectionTrait,
        caller: &Caller,
        arn: &str,
        write: bool,
    ) -> Result<table::Model> {
        let Some(account_id) = parse_custom_arn(arn, &self.region) else {
            return Err(if managed_insight(arn).is_some() {
                Error::invalid_field(
                    reason::INVALID_INPUT,
                    "insight_arn",
                    "managed insights cannot be changed or deleted; create a custom insight \
                     from its filters instead",
                )
            } else {
                not_found(arn)
            });
        };
        subject_account(&self.access, caller, &account_id, write).await?;
        table::Entity::find_by_id((account_id, arn.to_string()))
            .one(connection)
            .await?
            .ok_or_else(|| not_found(arn))
    }

    /// Creates a custom insight; returns its ARN.
    pub async fn create(
        &self,
        caller: &Caller,
        request: pb::CreateInsightRequest,
    ) -> Result<String> {
        let filters = request.filters.unwrap_or_default();
        validate(
            Some(&request.name),
            Some(&filters),
            Some(&request.group_by_attribute),
        )?;
        let account_id = subject_account(&self.access, caller, &request.account_id, true).await?;
        let mut change_tx = self.change_log.begin().await?;
        let count = table::Entity::find()
            .filter(table::Column::AccountId.eq(account_id.as_str()))
            .count(change_tx.tx())
            .await?;
        if count >= MAX_CUSTOM_INSIGHTS {
            return Err(Error::limit_exceeded(
                reason::LIMIT_EXCEEDED,
                format!(
                    "account {account_id} already has {count} custom insights in this region, \
                     the most allowed ({MAX_CUSTOM_INSIGHTS}); delete one first"
                ),
            ));
        }
        if name_taken(change_tx.tx(), &account_id, &request.name, None).await? {
            return Err(conflict(&request.name));
        }
        let id = tributary_runtime::db::random_hex(16);
        let uuid = format!(
            "{}-{}-{}-{}-{}",
            &id[0..8],
            &id[8..12],
            &id[12..16],
            &id[16..20],
            &id[20..32]
        );
        let arn = store(
            &mut change_tx,
            table::Model {
                insight_arn: custom_arn(&self.region, &account_id, &uuid),
                account_id,
                name: request.name,
                group_by_attribute: request.group_by_attribute,
                filters: filters.encode_to_vec(),
                seq: 0,
                version: String::new(),
            },
        )
        .await?;
        change_tx.commit().await?;
        Ok(arn)
    }

    /// Changes what a custom insight's request sets.
    pub async fn update(&self, caller: &Caller, request: pb::UpdateInsightRequest) -> Result<()> {
        validate(
            Some(request.name.as_str()).filter(|name| !name.is_empty()),
            request.filters.as_ref(),
            Some(request.group_by_attribute.as_str()).filter(|group_by| !group_by.is_empty()),
        )?;
        let mut change_tx = self.change_log.begin().await?;
        let mut row = self
            .custom(change_tx.tx(), caller, &request.insight_arn, true)
            .await?;
        if !request.name.is_empty() {
            if name_taken(
                change_tx.tx(),
                &row.account_id,
                &request.name,
                Some(&row.insight_arn),
            )
            .await?
            {
                return Err(conflict(&request.name));
            }
            row.name = request.name;
        }
        if let Some(filters) = request.filters {
            row.filters = filters.encode_to_vec();
        }
        if !request.group_by_attribute.is_empty() {
            row.group_by_attribute = request.group_by_attribute;
        }
        store(&mut change_tx, row).await?;
        change_tx.commit().await?;
        Ok(())
    }

    /// Deletes a custom insight.
    pub async fn delete(&self, caller: &Caller, arn: &str) -> Result<()> {
        let mut change_tx = self.change_log.begin().await?;
        let row = self.custom(change_tx.tx(), caller, arn, true).await?;
        table::Entity::delete_by_id((row.account_id.clone(), row.insight_arn.clone()))
            .exec(change_tx.tx())
            .await?;
        change_tx.append(
            &row.account_id,
            ChangeKind::Insight,
            row.insight_arn,
            ChangeOp::Delete,
            |_| Vec::new(),
        );
        change_tx.commit().await?;
        Ok(())
    }

    /// One page of insights: the named ones (custom or managed), or every custom insight of the
    /// account.
    pub async fn get(
        &self,
        caller: &Caller,
        request: &pb::GetInsightsRequest,
    ) -> Result<(Vec<pb::Insight>, String)> {
        let limit = page_size(request.page_size, DEFAULT_PAGE, MAX_PAGE)?;
        if request.insight_arns.len() > MAX_INSIGHT_ARNS {
            return Err(Error::invalid_field(
                reason::INVALID_INPUT,
                "insight_arns",
                format!("must hold at most {MAX_INSIGHT_ARNS} ARNs"),
            ));
        }
        let db = self.change_log.db();
        let scope = format!(
            "GetInsights:{}:{:?}",
            request.account_id, request.insight_arns
        );
        let after: Option<String> = self.page_tokens.open(&scope, &request.page_token)?;
        let page = usize::try_from(limit).unwrap_or(usize::MAX);
        let account_id = subject_account(&self.access, caller, &request.account_id, false).await?;
        let mut insights = Vec::new();
        let more;
        if request.insight_arns.is_empty() {
            let mut select = table::Entity::find()
                .filter(table::Column::AccountId.eq(account_id.as_str()))
                .order_by_asc(table::Column::InsightArn)
                .limit(u64::from(limit) + 1);
            if let Some(after) = &after {
                select = select.filter(table::Column::InsightArn.gt(after.as_str()));
            }
            let mut rows = select.all(db).await?;
            more = rows.len() > page;
            rows.truncate(page);
            for row in &rows {
                insights.push(insight_of(row)?);
            }
        } else {
            let mut arns = request.insight_arns.clone();
            arns.sort();
            arns.dedup();
            arns.retain(|arn| after.as_ref().is_none_or(|after| arn > after));
            more = arns.len() > page;
            arns.truncate(page);
            for arn in &arns {
                match managed_insight(arn) {
                    Some(managed) => insights.push(managed),
                    None => insights.push(insight_of(&self.custom(db, caller, arn, false).await?)?),
                }
            }
        }
        let token = match insights.last() {
            Some(last) if more => self.page_tokens.issue(&scope, &last.insight_arn),
            _ => String::new(),
        };
        Ok((insights, token))
    }

    /// The results of an insight: matching findings counted per value of its group-by attribute.
    pub async fn results(
        &self,
        caller: &Caller,
        request: &pb::GetInsightResultsRequest,
    ) -> Result<pb::InsightResults> {
        let db = self.change_log.db();
        let (insight, owner) = match managed_insight(&request.insight_arn) {
            Some(managed) => {
                let owner =
                    subject_account(&self.access, caller, &request.account_id, false).await?;
                (managed, owner)
            }
            None => {
                let row = self.custom(db, caller, &request.insight_arn, false).await?;
                let owner = row.account_id.clone();
                (insight_of(&row)?, owner)
            }
        };
        let filters = Filters::parse(&insight.filters.clone().unwrap_or_default(), "filters")?;
        let group_by = attribute(&insight.group_by_attribute).ok_or_else(|| {
            Error::Corrupt(format!(
                "insight {} groups by unknown attribute {}",
                insight.insight_arn, insight.group_by_attribute
            ))
        })?;
        let accounts = match filters.equal_account_ids() {
            Some(_) => search_scope(&self.access, caller, &filters).await?,
            None => Some(vec![owner]),
        };
        let query = FindingQuery {
            filters: &filters,
            accounts: accounts.as_deref(),
            now_micros: now_micros(),
        };
        let groups = group_counts(db, &TABLES, &query, group_by, MAX_RESULT_GROUPS).await?;
        Ok(pb::InsightResults {
            insight_arn: insight.insight_arn,
            group_by_attribute: insight.group_by_attribute,
            result_values: groups
                .into_iter()
                .map(|(value, count)| pb::InsightResultValue {
                    group_by_attribute_value: value,
                    count,
                })
                .collect(),
        })
    }
}
