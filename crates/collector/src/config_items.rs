//! Configuration items: the current state of every resource of every account in this region, its
//! history, and the reads AWS Config offers over them.
//!
//! A configuration item is stored as its protobuf encoding (`tributary.collector.v1
//! .ConfigurationItem`), the same bytes in the current-state table, the history table and the
//! change-log payload; only the columns queries filter and page on are kept apart. A write appends
//! one change record per item in the same transaction; the item's `configuration_state_id` is that
//! record's sequence number, so it increases with every recorded state of a resource.

pub mod inputs;

use chrono::{DateTime, Utc};
use prost::Message;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::OnConflict,
};
use tributary_proto::{collector::v1 as pb, types::v1 as types_pb};
use tributary_runtime::{
    Violations,
    auth::Caller,
    paging::{PageTokens, page_size},
    time::to_timestamp,
};

use crate::{
    access::AccountAccess,
    change_log::{ChangeKind, ChangeLog, ChangeOp, ChangeTx, to_i64},
    error::{Error, Result, reason},
    recorders::{self, is_global_resource_type},
    store::{configuration_item_history as history, configuration_items as items},
};

pub use inputs::{
    BatchGet, CountQuery, DeleteCustomResource, HistoryQuery, ItemInput, ItemStatus, ListQuery,
    PutCustomResource, PutItems, validate_resource_type,
};

/// The configuration item schema version this collector writes.
pub const ITEM_SCHEMA_VERSION: &str = "1.3";
/// The region global resource types are recorded under.
pub const GLOBAL_REGION: &str = "global";
const HISTORY_DEFAULT_PAGE: u32 = 10;
const HISTORY_MAX_PAGE: u32 = 100;
const LIST_DEFAULT_PAGE: u32 = 100;
const LIST_MAX_PAGE: u32 = 100;
const COUNT_DEFAULT_PAGE: u32 = 100;
const COUNT_MAX_PAGE: u32 = 100;

/// The change-log key of a resource: its type and id joined by "|" (types never contain "|").
pub fn item_key(resource_type: &str, resource_id: &str) -> String {
    format!("{resource_type}|{resource_id}")
}

/// The outcome of PutConfigurationItems.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PutItemsOutcome {
    /// The state id of each item, in request order.
    pub configuration_state_ids: Vec<u64>,
    /// The change-log head including the batch.
    pub change_log_seq: u64,
}

/// One page of discovered resources.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscoveredResource {
    /// The resource type.
    pub resource_type: String,
    /// The resource id.
    pub resource_id: String,
    /// The resource name.
    pub resource_name: String,
    /// When its deletion was captured, for deleted resources.
    pub deletion_time: Option<DateTime<Utc>>,
}

/// The outcome of GetDiscoveredResourceCounts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceCounts {
    /// Current resources over every requested type.
    pub total: i64,
    /// One page of per-type counts.
    pub counts: Vec<(String, i64)>,
    /// The next page's token; empty on the last page.
    pub next_page_token: String,
}

/// The configuration items of this region.
pub struct ConfigItems {
    change_log: ChangeLog,
    page_tokens: PageTokens,
    region: String,
    access: AccountAccess,
}

impl ConfigItems {
    /// Items of `region` stored through `change_log`; `access` decides who reads and writes which
    /// account's items.
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

    /// Records a batch of items in one transaction: each becomes its resource's current state
    /// with a history entry and a change record. Needs a running recorder whose recording group
    /// covers every item's type.
    pub async fn put_items(&self, caller: &Caller, input: PutItems) -> Result<PutItemsOutcome> {
        self.access.require_write(caller, &input.account_id)?;
        let mut change_tx = self.change_log.begin().await?;
        let (recorder, group) = recorders::running_recorder(&change_tx, &input.account_id).await?;
        let mut violations = Violations::new();
        for (index, item) in input.items.iter().enumerate() {
            if !group.records(&item.resource_type) {
                violations.add(
                    format!("items[{index}].resource_type"),
                    format!(
                        "{} is not recorded by the recorder's recording group; widen it with \
                         PutConfigurationRecorder",
                        item.resource_type
                    ),
                );
            }
        }
        violations.finish_with(reason::VALIDATION)?;
        let mut state_ids = Vec::with_capacity(input.items.len());
        let mut current_rows = Vec::with_capacity(input.items.len());
        let mut history_rows = Vec::with_capacity(input.items.len());
        for item in input.items {
            let (state_id, current, past) = self.record(&mut change_tx, &input.account_id, item);
            state_ids.push(state_id);
            current_rows.push(current);
            history_rows.push(past);
        }
        write_rows(&change_tx, current_rows, history_rows).await?;
        recorders::mark_delivered(&mut change_tx, recorder).await?;
        let change_log_seq = change_tx.commit().await?;
        Ok(PutItemsOutcome {
            configuration_state_ids: state_ids,
            change_log_seq,
        })
    }

    /// Records a custom resource's configuration: RESOURCE_DISCOVERED the first time (or after a
    /// deletion), OK afterwards.
    pub async fn put_custom(&self, caller: &Caller, input: PutCustomResource) -> Result<u64> {
        self.access.require_write(caller, &input.account_id)?;
        let mut change_tx = self.change_log.begin().await?;
        let (recorder, _) = recorders::running_recorder(&change_tx, &input.account_id).await?;
        let existing = current_row(
            &change_tx,
            &input.account_id,
            &input.resource_type,
            &input.resource_id,
        )
        .await?;
        let status = match existing {
            Some(row) if !row.deleted => ItemStatus::Ok,
            _ => ItemStatus::ResourceDiscovered,
        };
        let now = change_tx.now();
        let item = ItemInput {
            resource_type: input.resource_type,
            resource_id: input.resource_id,
            resource_name: input.resource_name,
            arn: String::new(),
            availability_zone: String::new(),
            resource_creation_time: None,
            status,
            capture_time: now,
            configuration: input.configuration,
            supplementary_configuration: [(
                "SchemaVersionId".to_string(),
                serde_json::Value::String(input.schema_version_id).to_string(),
            )]
            .into_iter()
            .collect(),
            tags: input.tags,
            relationships: Vec::new(),
        };
        let (state_id, current, past) = self.record(&mut change_tx, &input.account_id, item);
        write_rows(&change_tx, vec![current], vec![past]).await?;
        recorders::mark_delivered(&mut change_tx, recorder).await?;
        change_tx.commit().await?;
        Ok(state_id)
    }

    /// Records the deletion of a custom resource.
    pub async fn delete_custom(&self, caller: &Caller, input: DeleteCustomResource) -> Result<()> {
        self.access.require_write(caller, &input.account_id)?;
        let mut change_tx = self.change_log.begin().await?;
        let (recorder, _) = recorders::running_recorder(&change_tx, &input.account_id).await?;
        let existing = current_row(
            &change_tx,
            &input.account_id,
            &input.resource_type,
            &input.resource_id,
        )
        .await?
        .filter(|row| !row.deleted)
        .ok_or_else(|| not_discovered(&input.resource_type, &input.resource_id))?;
        let now = change_tx.now();
        let previous = decode_item(&existing.item)?;
        let item = ItemInput {
            resource_type: input.resource_type,
            resource_id: input.resource_id,
            resource_name: previous.resource_name,
            arn: previous.arn,
            availability_zone: previous.availability_zone,
            resource_creation_time: None,
            status: ItemStatus::ResourceDeleted,
            capture_time: now,
            configuration: String::new(),
            supplementary_configuration: Default::default(),
            tags: Vec::new(),
            relationships: Vec::new(),
        };
        let (_, current, past) = self.record(&mut change_tx, &input.account_id, item);
        write_rows(&change_tx, vec![current], vec![past]).await?;
        recorders::mark_delivered(&mut change_tx, recorder).await?;
        change_tx.commit().await?;
        Ok(())
    }

    /// Builds the stored rows of one item and appends its change record; returns the item's state
    /// id with the rows.
    fn record(
        &self,
        change_tx: &mut ChangeTx,
        account_id: &str,
        item: ItemInput,
    ) -> (u64, items::ActiveModel, history::ActiveModel) {
        let deleted = item.status.is_deleted();
        let capture_time_micros = item.capture_time.timestamp_micros();
        let aws_region = if is_global_resource_type(&item.resource_type) {
            GLOBAL_REGION.to_string()
        } else {
            self.region.clone()
        };
        let mut message = pb::ConfigurationItem {
            version: ITEM_SCHEMA_VERSION.to_string(),
            account_id: account_id.to_string(),
            configuration_item_capture_time: Some(to_timestamp(item.capture_time)),
            configuration_item_status: item.status.to_proto() as i32,
            configuration_state_id: 0,
            arn: item.arn,
            resource_type: item.resource_type,
            resource_id: item.resource_id,
            resource_name: item.resource_name,
            aws_region,
            availability_zone: item.availability_zone,
            resource_creation_time: item.resource_creation_time.map(to_timestamp),
            tags: item
                .tags
                .into_iter()
                .map(|(key, value)| types_pb::Tag { key, value })
                .collect(),
            relationships: item.relationships,
            configuration: item.configuration,
            supplementary_configuration: item.supplementary_configuration.into_iter().collect(),
        };
        let mut encoded = Vec::new();
        let op = if deleted {
            ChangeOp::Delete
        } else {
            ChangeOp::Upsert
        };
        let stamp = change_tx.append(
            account_id,
            ChangeKind::ConfigurationItem,
            item_key(&message.resource_type, &message.resource_id),
            op,
            |stamp| {
                message.configuration_state_id = stamp.seq;
                encoded = message.encode_to_vec();
                if deleted { Vec::new() } else { encoded.clone() }
            },
        );
        let state_id = to_i64(stamp.seq);
        let current = items::ActiveModel {
            account_id: Set(account_id.to_string()),
            resource_type: Set(message.resource_type.clone()),
            resource_id: Set(message.resource_id.clone()),
            resource_name: Set(message.resource_name.clone()),
            deleted: Set(deleted),
            capture_time_micros: Set(capture_time_micros),
            state_id: Set(state_id),
            version: Set(stamp.version.encode()),
            item: Set(encoded.clone()),
        };
        let past = history::ActiveModel {
            account_id: Set(account_id.to_string()),
            resource_type: Set(message.resource_type),
            resource_id: Set(message.resource_id),
            state_id: Set(state_id),
            capture_time_micros: Set(capture_time_micros),
            item: Set(encoded),
        };
        (stamp.seq, current, past)
    }

    /// One page of a resource's history within the query's window.
    pub async fn history(
        &self,
        caller: &Caller,
        query: HistoryQuery,
    ) -> Result<(Vec<pb::ConfigurationItem>, String)> {
        self.access.require_read(caller, &query.account_id).await?;
        let limit = page_size(query.page_size, HISTORY_DEFAULT_PAGE, HISTORY_MAX_PAGE)?;
        let scope = format!(
            "GetResourceConfigHistory:{}:{}:{}:{:?}:{:?}:{}",
            query.account_id,
            query.resource_type,
            query.resource_id,
            query.earlier_time.map(|time| time.timestamp_micros()),
            query.later_time.map(|time| time.timestamp_micros()),
            query.forward
        );
        let after: Option<(i64, i64)> = self.page_tokens.open(&scope, &query.page_token)?;
        let db = self.change_log.db();
        let known = items::Entity::find()
            .select_only()
            .column(items::Column::StateId)
            .filter(items::Column::AccountId.eq(query.account_id.as_str()))
            .filter(items::Column::ResourceType.eq(query.resource_type.as_str()))
            .filter(items::Column::ResourceId.eq(query.resource_id.as_str()))
            .into_tuple::<i64>()
            .one(db)
            .await?;
        if known.is_none() {
            return Err(not_discovered(&query.resource_type, &query.resource_id));
        }
        let mut select = history::Entity::find()
            .filter(history::Column::AccountId.eq(query.account_id.as_str()))
            .filter(history::Column::ResourceType.eq(query.resource_type.as_str()))
            .filter(history::Column::ResourceId.eq(query.resource_id.as_str()))
            .limit(u64::from(limit) + 1);
        if let Some(earlier) = query.earlier_time {
            select =
                select.filter(history::Column::CaptureTimeMicros.gte(earlier.timestamp_micros()));
        }
        if let Some(later) = query.later_time {
            select =
                select.filter(history::Column::CaptureTimeMicros.lte(later.timestamp_micros()));
        }
        if let Some((time, state_id)) = after {
            let (time_beyond, state_beyond) = if query.forward {
                (
                    history::Column::CaptureTimeMicros.gt(time),
                    history::Column::StateId.gt(state_id),
                )
            } else {
                (
                    history::Column::CaptureTimeMicros.lt(time),
                    history::Column::StateId.lt(state_id),
                )
            };
            select = select.filter(
                Condition::any().add(time_beyond).add(
                    Condition::all()
                        .add(history::Column::CaptureTimeMicros.eq(time))
                        .add(state_beyond),
                ),
            );
        }
        select = if query.forward {
            select
                .order_by_asc(history::Column::CaptureTimeMicros)
                .order_by_asc(history::Column::StateId)
        } else {
            select
                .order_by_desc(history::Column::CaptureTimeMicros)
                .order_by_desc(history::Column::StateId)
        };
        let mut rows = select.all(db).await?;
        let more = rows.len() > usize::try_from(limit).unwrap_or(usize::MAX);
        rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        let next_page_token = match rows.last() {
            Some(last) if more => self
                .page_tokens
                .issue(&scope, &(last.capture_time_micros, last.state_id)),
            _ => String::new(),
        };
        let items = rows
            .iter()
            .map(|row| decode_item(&row.item))
            .collect::<Result<Vec<_>>>()?;
        Ok((items, next_page_token))
    }

    /// The current items of the asked resources, in request order, and the keys of those that are
    /// unknown or deleted.
    pub async fn batch_get(
        &self,
        caller: &Caller,
        input: BatchGet,
    ) -> Result<(Vec<pb::ConfigurationItem>, Vec<(String, String)>)> {
        self.access.require_read(caller, &input.account_id).await?;
        let mut any_key = Condition::any();
        for (resource_type, resource_id) in &input.keys {
            any_key = any_key.add(
                Condition::all()
                    .add(items::Column::ResourceType.eq(resource_type.as_str()))
                    .add(items::Column::ResourceId.eq(resource_id.as_str())),
            );
        }
        let rows = items::Entity::find()
            .filter(items::Column::AccountId.eq(input.account_id.as_str()))
            .filter(items::Column::Deleted.eq(false))
            .filter(any_key)
            .all(self.change_log.db())
            .await?;
        let mut found: std::collections::HashMap<(String, String), Vec<u8>> = rows
            .into_iter()
            .map(|row| ((row.resource_type, row.resource_id), row.item))
            .collect();
        let mut returned = Vec::new();
        let mut unprocessed = Vec::new();
        for key in input.keys {
            match found.remove(&key) {
                Some(item) => returned.push(decode_item(&item)?),
                None => unprocessed.push(key),
            }
        }
        Ok((returned, unprocessed))
    }

    /// One page of the resources of a type, in resource id order.
    pub async fn list(
        &self,
        caller: &Caller,
        query: ListQuery,
    ) -> Result<(Vec<DiscoveredResource>, String)> {
        self.access.require_read(caller, &query.account_id).await?;
        let limit = page_size(query.page_size, LIST_DEFAULT_PAGE, LIST_MAX_PAGE)?;
        let scope = format!(
            "ListDiscoveredResources:{}:{}:{:?}:{:?}:{}",
            query.account_id,
            query.resource_type,
            query.resource_ids,
            query.resource_name,
            query.include_deleted
        );
        let after: Option<String> = self.page_tokens.open(&scope, &query.page_token)?;
        let mut select = items::Entity::find()
            .filter(items::Column::AccountId.eq(query.account_id.as_str()))
            .filter(items::Column::ResourceType.eq(query.resource_type.as_str()))
            .order_by_asc(items::Column::ResourceId)
            .limit(u64::from(limit) + 1);
        if !query.include_deleted {
            select = select.filter(items::Column::Deleted.eq(false));
        }
        if !query.resource_ids.is_empty() {
            select = select.filter(items::Column::ResourceId.is_in(query.resource_ids.clone()));
        }
        if !query.resource_name.is_empty() {
            select = select.filter(items::Column::ResourceName.eq(query.resource_name.as_str()));
        }
        if let Some(after) = &after {
            select = select.filter(items::Column::ResourceId.gt(after.as_str()));
        }
        let mut rows = select.all(self.change_log.db()).await?;
        let more = rows.len() > usize::try_from(limit).unwrap_or(usize::MAX);
        rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        let next_page_token = match rows.last() {
            Some(last) if more => self.page_tokens.issue(&scope, &last.resource_id),
            _ => String::new(),
        };
        let resources = rows
            .into_iter()
            .map(|row| DiscoveredResource {
                deletion_time: if row.deleted {
                    DateTime::from_timestamp_micros(row.capture_time_micros)
                } else {
                    None
                },
                resource_type: row.resource_type,
                resource_id: row.resource_id,
                resource_name: row.resource_name,
            })
            .collect();
        Ok((resources, next_page_token))
    }

    /// The number of current resources per type (one page, in type order) and over all requested
    /// types.
    pub async fn counts(&self, caller: &Caller, query: CountQuery) -> Result<ResourceCounts> {
        self.access.require_read(caller, &query.account_id).await?;
        let limit = page_size(query.page_size, COUNT_DEFAULT_PAGE, COUNT_MAX_PAGE)?;
        let scope = format!(
            "GetDiscoveredResourceCounts:{}:{:?}",
            query.account_id, query.resource_types
        );
        let after: Option<String> = self.page_tokens.open(&scope, &query.page_token)?;
        let db = self.change_log.db();
        let current = || {
            let mut select = items::Entity::find()
                .filter(items::Column::AccountId.eq(query.account_id.as_str()))
                .filter(items::Column::Deleted.eq(false));
            if !query.resource_types.is_empty() {
                select =
                    select.filter(items::Column::ResourceType.is_in(query.resource_types.clone()));
            }
            select
        };
        let total: Option<i64> = current()
            .select_only()
            .column_as(items::Column::ResourceId.count(), "total")
            .into_tuple()
            .one(db)
            .await?;
        let mut page = current()
            .select_only()
            .column(items::Column::ResourceType)
            .column_as(items::Column::ResourceId.count(), "count")
            .group_by(items::Column::ResourceType)
            .order_by_asc(items::Column::ResourceType)
            .limit(u64::from(limit) + 1);
        if let Some(after) = &after {
            page = page.filter(items::Column::ResourceType.gt(after.as_str()));
        }
        let mut counts: Vec<(String, i64)> = page.into_tuple().all(db).await?;
        let more = counts.len() > usize::try_from(limit).unwrap_or(usize::MAX);
        counts.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        let next_page_token = match counts.last() {
            Some((resource_type, _)) if more => self.page_tokens.issue(&scope, resource_type),
            _ => String::new(),
        };
        Ok(ResourceCounts {
            total: total.unwrap_or(0),
            counts,
            next_page_token,
        })
    }
}

/// Writes current rows (replacing the previous state) and history rows with one statement each.
async fn write_rows(
    change_tx: &ChangeTx,
    current_rows: Vec<items::ActiveModel>,
    history_rows: Vec<history::ActiveModel>,
) -> Result<()> {
    items::Entity::insert_many(current_rows)
        .on_conflict(
            OnConflict::columns([
                items::Column::AccountId,
                items::Column::ResourceType,
                items::Column::ResourceId,
            ])
            .update_columns([
                items::Column::ResourceName,
                items::Column::Deleted,
                items::Column::CaptureTimeMicros,
                items::Column::StateId,
                items::Column::Version,
                items::Column::Item,
            ])
            .to_owned(),
        )
        .exec(change_tx.tx())
        .await?;
    history::Entity::insert_many(history_rows)
        .exec(change_tx.tx())
        .await?;
    Ok(())
}

async fn current_row(
    change_tx: &ChangeTx,
    account_id: &str,
    resource_type: &str,
    resource_id: &str,
) -> Result<Option<items::Model>> {
    Ok(items::Entity::find()
        .filter(items::Column::AccountId.eq(account_id))
        .filter(items::Column::ResourceType.eq(resource_type))
        .filter(items::Column::ResourceId.eq(resource_id))
        .one(change_tx.tx())
        .await?)
}

fn decode_item(bytes: &[u8]) -> Result<pb::ConfigurationItem> {
    pb::ConfigurationItem::decode(bytes)
        .map_err(|error| Error::Corrupt(format!("stored configuration item: {error}")))
}

fn not_discovered(resource_type: &str, resource_id: &str) -> Error {
    Error::not_found(
        reason::RESOURCE_NOT_DISCOVERED,
        format!(
            "resource {resource_type} {:?} is not discovered in this account and region",
            tributary_runtime::ids::truncate_for_message(resource_id)
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn item_keys_join_type_and_id() {
        assert_eq!(
            item_key("AWS::EC2::Instance", "i-1|x"),
            "AWS::EC2::Instance|i-1|x"
        );
    }
}
