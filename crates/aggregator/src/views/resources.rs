//! The aggregated resource views: counts of current resources, listings of one type, and the
//! current configuration item of one or many resources. Deleted resources (statuses
//! ResourceDeleted and ResourceDeletedNotRecorded) are in none of them.

use std::collections::{BTreeSet, HashMap, HashSet};

use prost::Message;
use sea_orm::{
    ColumnTrait, Condition, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};
use tributary_proto::{aggregator::v1 as pb, collector::v1 as collector_pb};
use tributary_runtime::paging::{Direction, keyset_after, page_size};

use super::{
    AggregateViews, BatchGetQuery, GetResourceQuery, GroupBy, ListResourcesQuery,
    ResourceCountsQuery, entitled, included_types, includes_type, inputs::ResourceKey,
};
use crate::{
    config_aggregators::{AggregatorScope, cut, reason},
    error::{Error, Result},
    store::{aggregate_config_items as items, aggregator_entitlements as entitlements},
};

/// Page sizes (AWS `GroupByAPILimit` and `Limit`).
const COUNTS_DEFAULT: u32 = 1000;
const COUNTS_MAX: u32 = 1000;
const LIST_DEFAULT: u32 = 100;
const LIST_MAX: u32 = 100;

/// Current resources of the aggregator's entitled pairs and included types.
fn current_items(scope: &AggregatorScope) -> sea_orm::Select<items::Entity> {
    let mut select = items::Entity::find()
        .filter(items::Column::Deleted.eq(false))
        .filter(entitled::<items::Entity>(
            scope,
            items::Column::AccountId,
            items::Column::Region,
        ));
    if let Some(types) = included_types::<items::Entity>(scope, items::Column::ResourceType) {
        select = select.filter(types);
    }
    select
}

fn decode_item(bytes: &[u8]) -> Result<collector_pb::ConfigurationItem> {
    collector_pb::ConfigurationItem::decode(bytes)
        .map_err(|error| Error::Corrupt(format!("stored configuration item: {error}")))
}

impl AggregateViews {
    /// The number of current resources after the filters, and one page of counts per group.
    pub async fn discovered_resource_counts(
        &self,
        scope: &AggregatorScope,
        query: &ResourceCountsQuery,
    ) -> Result<(i64, Vec<pb::GroupedResourceCount>, String)> {
        let limit = page_size(query.paging.page_size, COUNTS_DEFAULT, COUNTS_MAX)?;
        let token_scope = format!(
            "GetAggregateDiscoveredResourceCounts:{:?}:{}:{}:{}:{:?}",
            scope.key, query.resource_type, query.account_id, query.aws_region, query.group_by
        );
        let after: Option<String> = self
            .page_tokens
            .open(&token_scope, &query.paging.page_token)?;
        let mut filtered = current_items(scope);
        if !query.resource_type.is_empty() {
            filtered =
                filtered.filter(items::Column::ResourceType.eq(query.resource_type.as_str()));
        }
        if !query.account_id.is_empty() {
            filtered = filtered.filter(items::Column::AccountId.eq(query.account_id.as_str()));
        }
        if !query.aws_region.is_empty() {
            filtered = filtered.filter(items::Column::Region.eq(query.aws_region.as_str()));
        }
        let total = i64::try_from(filtered.clone().count(&self.db).await?).unwrap_or(i64::MAX);
        let column = match query.group_by {
            GroupBy::ResourceType => items::Column::ResourceType,
            GroupBy::Account => items::Column::AccountId,
            GroupBy::Region => items::Column::Region,
            GroupBy::Nothing => return Ok((total, Vec::new(), String::new())),
        };
        let mut select = filtered
            .select_only()
            .column(column)
            .column_as(items::Column::ResourceId.count(), "count")
            .group_by(column)
            .order_by_asc(column)
            .limit(u64::from(limit) + 1);
        if let Some(after) = &after {
            select = select.filter(column.gt(after.as_str()));
        }
        let mut groups: Vec<(String, i64)> = select.into_tuple().all(&self.db).await?;
        let next = cut(
            &self.page_tokens,
            &mut groups,
            limit,
            &token_scope,
            |group| group.0.clone(),
        );
        Ok((
            total,
            groups
                .into_iter()
                .map(|(group_name, resource_count)| pb::GroupedResourceCount {
                    group_name,
                    resource_count,
                })
                .collect(),
            next,
        ))
    }

    /// One page of current resources of one type, ordered by account, region and resource id.
    pub async fn list_discovered_resources(
        &self,
        scope: &AggregatorScope,
        query: &ListResourcesQuery,
    ) -> Result<(Vec<pb::AggregateResourceIdentifier>, String)> {
        let limit = page_size(query.paging.page_size, LIST_DEFAULT, LIST_MAX)?;
        let token_scope = format!(
            "ListAggregateDiscoveredResources:{:?}:{}:{}:{}:{}:{}",
            scope.key,
            query.resource_type,
            query.account_id,
            query.resource_id,
            query.resource_name,
            query.aws_region
        );
        let after: Option<(String, String, String)> = self
            .page_tokens
            .open(&token_scope, &query.paging.page_token)?;
        if !includes_type(scope, &query.resource_type) {
            return Ok((Vec::new(), String::new()));
        }
        let mut select = current_items(scope)
            .select_only()
            .column(items::Column::AccountId)
            .column(items::Column::Region)
            .column(items::Column::ResourceId)
            .column(items::Column::ResourceName)
            .filter(items::Column::ResourceType.eq(query.resource_type.as_str()))
            .order_by_asc(items::Column::AccountId)
            .order_by_asc(items::Column::Region)
            .order_by_asc(items::Column::ResourceId)
            .limit(u64::from(limit) + 1);
        if !query.account_id.is_empty() {
            select = select.filter(items::Column::AccountId.eq(query.account_id.as_str()));
        }
        if !query.aws_region.is_empty() {
            select = select.filter(items::Column::Region.eq(query.aws_region.as_str()));
        }
        if !query.resource_id.is_empty() {
            select = select.filter(items::Column::ResourceId.eq(query.resource_id.as_str()));
        }
        if !query.resource_name.is_empty() {
            select = select.filter(items::Column::ResourceName.eq(query.resource_name.as_str()));
        }
        if let Some((account_id, region, resource_id)) = &after {
            select = select.filter(keyset_after(vec![
                (
                    items::Column::AccountId,
                    account_id.as_str().into(),
                    Direction::Ascending,
                ),
                (
                    items::Column::Region,
                    region.as_str().into(),
                    Direction::Ascending,
                ),
                (
                    items::Column::ResourceId,
                    resource_id.as_str().into(),
                    Direction::Ascending,
                ),
            ]));
        }
        let mut rows: Vec<(String, String, String, String)> =
            select.into_tuple().all(&self.db).await?;
        let next = cut(&self.page_tokens, &mut rows, limit, &token_scope, |row| {
            (row.0.clone(), row.1.clone(), row.2.clone())
        });
        Ok((
            rows.into_iter()
                .map(|(account_id, region, resource_id, resource_name)| {
                    pb::AggregateResourceIdentifier {
                        source_account_id: account_id,
                        source_region: region,
                        resource_id,
                        resource_type: query.resource_type.clone(),
                        resource_name,
                    }
                })
                .collect(),
            next,
        ))
    }

    /// The current configuration item of one resource, or `ResourceNotDiscoveredException`.
    pub async fn resource_config(
        &self,
        scope: &AggregatorScope,
        query: &GetResourceQuery,
    ) -> Result<collector_pb::ConfigurationItem> {
        let resource = &query.resource;
        let row = if includes_type(scope, &resource.resource_type) {
            current_items(scope)
                .filter(items::Column::AccountId.eq(resource.account_id.as_str()))
                .filter(items::Column::Region.eq(resource.region.as_str()))
                .filter(items::Column::ResourceType.eq(resource.resource_type.as_str()))
                .filter(items::Column::ResourceId.eq(resource.resource_id.as_str()))
                .one(&self.db)
                .await?
        } else {
            None
        };
        match row {
            Some(row) => decode_item(&row.item),
            None => Err(Error::not_found(
                reason::RESOURCE_NOT_DISCOVERED,
                format!(
                    "Resource {} of resourceType:{} in account {} and region {} is unknown or has \
                     not been discovered by this aggregator",
                    tributary_runtime::ids::truncate_for_message(&resource.resource_id),
                    resource.resource_type,
                    resource.account_id,
                    resource.region
                ),
            )),
        }
    }

    /// The current items of the resources found (without tags and relationships), in request
    /// order, and the identifiers not found.
    pub async fn batch_resource_config(
        &self,
        scope: &AggregatorScope,
        query: &BatchGetQuery,
    ) -> Result<(
        Vec<collector_pb::ConfigurationItem>,
        Vec<pb::AggregateResourceIdentifier>,
    )> {
        let keys: Vec<ResourceKey> = query.identifiers.iter().map(ResourceKey::from).collect();
        let pairs: BTreeSet<(String, String)> = keys
            .iter()
            .map(|key| (key.account_id.clone(), key.region.clone()))
            .collect();
        let mut any_pair = Condition::any();
        for (account_id, region) in &pairs {
            any_pair = any_pair.add(
                Condition::all()
                    .add(entitlements::Column::AccountId.eq(account_id.as_str()))
                    .add(entitlements::Column::Region.eq(region.as_str())),
            );
        }
        let entitled_pairs: HashSet<(String, String)> = entitlements::Entity::find()
            .select_only()
            .column(entitlements::Column::AccountId)
            .column(entitlements::Column::Region)
            .filter(entitlements::Column::OwnerAccountId.eq(scope.key.owner_account_id.as_str()))
            .filter(entitlements::Column::HomeRegion.eq(scope.key.home_region.as_str()))
            .filter(entitlements::Column::AggregatorName.eq(scope.key.name.as_str()))
            .filter(entitlements::Column::Status.eq(entitlements::AUTHORIZED))
            .filter(any_pair)
            .into_tuple()
            .all(&self.db)
            .await?
            .into_iter()
            .collect();
        let wanted: Vec<&ResourceKey> = keys
            .iter()
            .filter(|key| {
                entitled_pairs.contains(&(key.account_id.clone(), key.region.clone()))
                    && includes_type(scope, &key.resource_type)
            })
            .collect();
        let mut found: HashMap<ResourceKey, collector_pb::ConfigurationItem> = HashMap::new();
        if !wanted.is_empty() {
            let mut any_item = Condition::any();
            for key in &wanted {
                any_item = any_item.add(
                    Condition::all()
                        .add(items::Column::AccountId.eq(key.account_id.as_str()))
                        .add(items::Column::Region.eq(key.region.as_str()))
                        .add(items::Column::ResourceType.eq(key.resource_type.as_str()))
                        .add(items::Column::ResourceId.eq(key.resource_id.as_str())),
                );
            }
            for row in items::Entity::find()
                .filter(items::Column::Deleted.eq(false))
                .filter(any_item)
                .all(&self.db)
                .await?
            {
                let mut item = decode_item(&row.item)?;
                item.tags.clear();
                item.relationships.clear();
                found.insert(
                    ResourceKey {
                        account_id: row.account_id,
                        region: row.region,
                        resource_type: row.resource_type,
                        resource_id: row.resource_id,
                    },
                    item,
                );
            }
        }
        let mut base_items = Vec::new();
        let mut unprocessed = Vec::new();
        let mut returned = HashSet::new();
        for (key, identifier) in keys.iter().zip(&query.identifiers) {
            match found.get(key) {
                Some(item) if returned.insert(key.clone()) => base_items.push(item.clone()),
                Some(_) => {}
                None => unprocessed.push(identifier.clone()),
            }
        }
        Ok((base_items, unprocessed))
    }
}
