//! Config aggregators: their lifecycle (put, describe, delete), tags and source status. An
//! aggregator is keyed by (owner account, home region, name); its sources are declared to
//! membership, which creates the pending requests and decides which (account, region) pairs it
//! may hold.
//!
//! Membership and the local store are kept consistent by ordering: Put declares first and stores
//! afterwards (a declaration is a replace, so a retried Put converges), and undoes a new
//! declaration when the local write fails; Delete withdraws first and deletes afterwards
//! (withdrawing is idempotent, so a retried Delete converges). Dropped pairs are hidden at once by
//! deleting their `aggregator_entitlements` rows; replication is told to re-resolve.

pub mod directory;
pub mod inputs;
pub mod sources;

use std::{collections::BTreeSet, sync::Arc};

use prost::Message;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, sea_query::OnConflict,
};
use tributary_proto::{
    aggregator::v1 as pb, membership::v1 as membership_pb, types::v1 as types_pb,
};
use tributary_runtime::{
    Violations,
    auth::Caller,
    error::reason as runtime_reason,
    paging::{PageTokens, page_size},
    tags::MAX_TAGS,
    time::to_timestamp,
};

pub use directory::{Directory, MembershipDirectory};
pub use inputs::{
    AggregatorKey, DescribeAggregators, PutAggregator, Regions, Source, SourcesStatusQuery,
    acting_owner, reason,
};

use crate::{
    error::{Error, Result},
    store::{
        aggregator_entitlements as entitlements, aggregator_tags as tags,
        config_aggregators as table,
    },
};

/// Page sizes of DescribeConfigurationAggregators (AWS `Limit` 0-100, default the maximum).
const DESCRIBE_DEFAULT: u32 = 100;
const DESCRIBE_MAX: u32 = 100;
/// Page sizes of ListTagsForResource (AWS `Limit` 0-100; the documented default is 50).
const TAGS_DEFAULT: u32 = 50;
const TAGS_MAX: u32 = 100;
/// Values per `IN (...)` list: far below the bind-parameter limits of SQLite and PostgreSQL.
const CHUNK: usize = 500;

/// How many aggregators an account may own and how many accounts one may list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AggregatorLimits {
    /// Aggregators per owner account and home region (AWS default 50).
    pub max_aggregators_per_account: u64,
    /// Accounts one aggregator may list (AWS: 10,000).
    pub max_accounts_per_aggregator: usize,
}

impl Default for AggregatorLimits {
    fn default() -> Self {
        Self {
            max_aggregators_per_account: 50,
            max_accounts_per_aggregator: 10_000,
        }
    }
}

/// Called after an aggregator was put or deleted, so replication re-resolves at once.
pub type OnAggregatorsChanged = Arc<dyn Fn() + Send + Sync>;

/// What a view may show of one aggregator: the pairs whose `aggregator_entitlements` row for its
/// key is AUTHORIZED, limited to `resource_types` when that is not empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AggregatorScope {
    /// The aggregator.
    pub key: AggregatorKey,
    /// The resource types its filter includes, sorted; empty means every type.
    pub resource_types: Vec<String>,
    /// True for an organization aggregator.
    pub organization_source: bool,
}

/// The Config aggregators of this deployment.
pub struct ConfigAggregators {
    db: DatabaseConnection,
    page_tokens: PageTokens,
    directory: Arc<dyn Directory>,
    limits: AggregatorLimits,
    on_changed: OnAggregatorsChanged,
    /// Sources whose replication lags more than this are OUTDATED.
    freshness_target_ms: i64,
}

impl ConfigAggregators {
    /// Aggregators stored in `db`, declared through `directory`; `on_changed` runs after every
    /// put and delete.
    pub fn new(
        db: DatabaseConnection,
        page_tokens: PageTokens,
        directory: Arc<dyn Directory>,
        limits: AggregatorLimits,
        on_changed: OnAggregatorsChanged,
    ) -> Self {
        Self {
            db,
            page_tokens,
            directory,
            limits,
            on_changed,
            freshness_target_ms: sources::DEFAULT_FRESHNESS_TARGET_MS,
        }
    }

    /// Sources whose replica trails by more than `target_ms` show as OUTDATED.
    pub fn with_freshness_target_ms(mut self, target_ms: i64) -> Self {
        self.freshness_target_ms = target_ms;
        self
    }

    /// The database the aggregators live in.
    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    /// Creates or replaces an aggregator and returns it as stored.
    pub async fn put(
        &self,
        caller: &Caller,
        input: PutAggregator,
    ) -> Result<pb::ConfigurationAggregator> {
        let owner = acting_owner(caller, &input.requested_owner)?;
        let key = AggregatorKey {
            owner_account_id: owner,
            home_region: input.home_region.clone(),
            name: input.name.clone(),
        };
        self.require_registered(&input).await?;
        let existing = table::Entity::find_by_id(key_id(&key))
            .one(&self.db)
            .await?;
        let organization_source = matches!(input.source, Source::Organization { .. });
        if let Some(row) = &existing
            && row.organization_source != organization_source
        {
            return Err(Error::invalid_field(
                runtime_reason::INVALID_PARAMETER_VALUE,
                if organization_source {
                    "organization_aggregation_source"
                } else {
                    "account_aggregation_sources"
                },
                format!(
                    "{key} aggregates {}; an aggregator cannot switch between account and \
                     organization sources: delete it and create it again",
                    if row.organization_source {
                        "an organization"
                    } else {
                        "listed accounts"
                    }
                ),
            ));
        }
        if let Source::Accounts(accounts) = &input.source
            && accounts.len() > self.limits.max_accounts_per_aggregator
        {
            return Err(Error::limit_exceeded(
                reason::LIMIT_EXCEEDED,
                format!(
                    "an aggregator may list at most {} accounts; the request lists {}",
                    self.limits.max_accounts_per_aggregator,
                    accounts.len()
                ),
            ));
        }
        if existing.is_none() {
            let owned = table::Entity::find()
                .filter(table::Column::OwnerAccountId.eq(key.owner_account_id.as_str()))
                .filter(table::Column::HomeRegion.eq(key.home_region.as_str()))
                .count(&self.db)
                .await?;
            if owned >= self.limits.max_aggregators_per_account {
                return Err(Error::limit_exceeded(
                    reason::LIMIT_EXCEEDED,
                    format!(
                        "account {} already has {owned} Config aggregators in {}, the most \
                         allowed ({}); delete one first",
                        key.owner_account_id,
                        key.home_region,
                        self.limits.max_aggregators_per_account
                    ),
                ));
            }
        }

        self.directory.declare(declaration(&key, &input)).await?;
        // A concurrent put may create the same aggregator between the read and the write; the
        // second attempt then finds it and keeps its ARN.
        let mut stored = self.store(&key, &input).await;
        if matches!(stored, Err(Error::Database(_))) {
            stored = self.store(&key, &input).await;
        }
        let stored = match stored {
            Ok(stored) => stored,
            Err(error) => {
                self.undo_declaration(&key, existing.as_ref()).await;
                return Err(error);
            }
        };
        (self.on_changed)();
        tracing::info!(owner = %key.owner_account_id, region = %key.home_region, aggregator = %key.name, "config aggregator put");
        Ok(stored)
    }

    /// Puts back membership's declaration after a failed local write: the previous definition
    /// when there was one, otherwise none. Best effort; a retried Put converges either way.
    async fn undo_declaration(&self, key: &AggregatorKey, previous: Option<&table::Model>) {
        let undone = match previous.map(|row| decode(&row.definition)) {
            Some(Ok(definition)) => match declaration_of(&definition) {
                Some(declaration) => self.directory.declare(declaration).await,
                None => Ok(()),
            },
            Some(Err(error)) => Err(error),
            None => self.directory.withdraw(key).await,
        };
        if let Err(error) = undone {
            tracing::warn!(aggregator = %key.name, error = %error, "could not undo a declaration after a failed put");
        }
    }

    /// Writes the aggregator (keeping the ARN and creation time of an existing one), its tags when
    /// it is new, and hides the pairs it no longer covers, in one transaction.
    async fn store(
        &self,
        key: &AggregatorKey,
        input: &PutAggregator,
    ) -> Result<pb::ConfigurationAggregator> {
        let transaction = crate::store::begin_write(&self.db).await?;
        let now = tributary_runtime::time::now();
        let existing = table::Entity::find_by_id(key_id(key))
            .one(&transaction)
            .await?;
        let (arn, created) = match &existing {
            Some(row) => (row.arn.clone(), row.created_at_micros),
            None => (aggregator_arn(key), now.timestamp_micros()),
        };
        let mut aggregator = pb::ConfigurationAggregator {
            configuration_aggregator_name: key.name.clone(),
            configuration_aggregator_arn: arn.clone(),
            account_aggregation_sources: Vec::new(),
            organization_aggregation_source: None,
            creation_time: Some(micros_timestamp(created)),
            last_updated_time: Some(to_timestamp(now)),
            created_by: String::new(),
            aggregator_filters: input.filters.clone(),
            owner_account_id: key.owner_account_id.clone(),
            region: key.home_region.clone(),
        };
        let (all_aws_regions, aws_regions) = match &input.regions {
            Regions::All => (true, Vec::new()),
            Regions::Listed(regions) => (false, regions.clone()),
        };
        match &input.source {
            Source::Accounts(accounts) => {
                aggregator.account_aggregation_sources = vec![pb::AccountAggregationSource {
                    account_ids: accounts.clone(),
                    all_aws_regions,
                    aws_regions,
                }];
            }
            Source::Organization { role_arn } => {
                aggregator.organization_aggregation_source =
                    Some(pb::OrganizationAggregationSource {
                        role_arn: role_arn.clone(),
                        aws_regions,
                        all_aws_regions,
                    });
            }
        }
        let row = table::ActiveModel {
            owner_account_id: Set(key.owner_account_id.clone()),
            home_region: Set(key.home_region.clone()),
            name: Set(key.name.clone()),
            arn: Set(arn.clone()),
            created_at_micros: Set(created),
            updated_at_micros: Set(now.timestamp_micros()),
            organization_source: Set(matches!(input.source, Source::Organization { .. })),
            all_regions: Set(input.regions == Regions::All),
            definition: Set(aggregator.encode_to_vec()),
        };
        if existing.is_some() {
            table::Entity::update(row).exec(&transaction).await?;
        } else {
            table::Entity::insert(row).exec(&transaction).await?;
        }
        if existing.is_none() && !input.tags.is_empty() {
            tags::Entity::insert_many(input.tags.iter().map(|(tag_key, value)| {
                tags::ActiveModel {
                    resource_arn: Set(arn.clone()),
                    key: Set(tag_key.clone()),
                    value: Set(value.clone()),
                }
            }))
            .exec(&transaction)
            .await?;
        }
        hide_dropped_pairs(&transaction, key, input).await?;
        transaction.commit().await?;
        Ok(aggregator)
    }

    /// Fails with `InvalidParameterValueException` naming every region of the request that is not
    /// registered.
    async fn require_registered(&self, input: &PutAggregator) -> Result<()> {
        let registered: BTreeSet<String> = self
            .directory
            .registered_regions()
            .await?
            .into_iter()
            .collect();
        let mut violations = Violations::new();
        if !registered.contains(&input.home_region) {
            violations.add(
                "region",
                format!("region {} is not registered", input.home_region),
            );
        }
        if let Regions::Listed(regions) = &input.regions {
            let field = match input.source {
                Source::Accounts(_) => "account_aggregation_sources[0].aws_regions",
                Source::Organization { .. } => "organization_aggregation_source.aws_regions",
            };
            for region in regions
                .iter()
                .filter(|region| !registered.contains(*region))
            {
                violations.add(field, format!("region {region} is not registered"));
            }
        }
        Ok(violations.finish()?)
    }

    /// One page of the owner's aggregators in the region, in name order, or the named ones.
    pub async fn describe(
        &self,
        caller: &Caller,
        query: DescribeAggregators,
    ) -> Result<(Vec<pb::ConfigurationAggregator>, String)> {
        let owner = acting_owner(caller, &query.requested_owner)?;
        let limit = page_size(query.page_size, DESCRIBE_DEFAULT, DESCRIBE_MAX)?;
        let scope = format!(
            "DescribeConfigurationAggregators:{owner}:{}:{:?}",
            query.home_region, query.names
        );
        let after: Option<String> = self.page_tokens.open(&scope, &query.page_token)?;
        let mut select = table::Entity::find()
            .filter(table::Column::OwnerAccountId.eq(owner.as_str()))
            .filter(table::Column::HomeRegion.eq(query.home_region.as_str()))
            .order_by_asc(table::Column::Name);
        if !query.names.is_empty() {
            select = select.filter(table::Column::Name.is_in(query.names.clone()));
            let found: Vec<String> = select
                .clone()
                .select_only()
                .column(table::Column::Name)
                .into_tuple()
                .all(&self.db)
                .await?;
            if found.len() < query.names.len() {
                return Err(if query.names.len() == 1 {
                    no_such_aggregator()
                } else {
                    Error::not_found(
                        reason::NO_SUCH_CONFIGURATION_AGGREGATOR,
                        "At least one of the configuration aggregators does not exist.",
                    )
                });
            }
        }
        if let Some(after) = &after {
            select = select.filter(table::Column::Name.gt(after.as_str()));
        }
        let mut rows = select.limit(u64::from(limit) + 1).all(&self.db).await?;
        let next = cut(&self.page_tokens, &mut rows, limit, &scope, |row| {
            row.name.clone()
        });
        let aggregators = rows
            .iter()
            .map(|row| decode(&row.definition))
            .collect::<Result<Vec<_>>>()?;
        Ok((aggregators, next))
    }

    /// Deletes an aggregator, its tags and its entitlement rows, so its data leaves the views at
    /// once; replication then drops data no aggregator holds any more.
    pub async fn delete(
        &self,
        caller: &Caller,
        requested_owner: &str,
        home_region: &str,
        name: &str,
    ) -> Result<()> {
        inputs::validate_named(requested_owner, home_region, name)?;
        let key = AggregatorKey {
            owner_account_id: acting_owner(caller, requested_owner)?,
            home_region: home_region.to_string(),
            name: name.to_string(),
        };
        let row = table::Entity::find_by_id(key_id(&key))
            .one(&self.db)
            .await?
            .ok_or_else(no_such_aggregator)?;
        self.directory.withdraw(&key).await?;
        let transaction = crate::store::begin_write(&self.db).await?;
        table::Entity::delete_by_id(key_id(&key))
            .exec(&transaction)
            .await?;
        tags::Entity::delete_many()
            .filter(tags::Column::ResourceArn.eq(row.arn.as_str()))
            .exec(&transaction)
            .await?;
        entitlement_rows(entitlements::Entity::delete_many(), &key)
            .exec(&transaction)
            .await?;
        transaction.commit().await?;
        (self.on_changed)();
        tracing::info!(owner = %key.owner_account_id, region = %key.home_region, aggregator = %key.name, "config aggregator deleted");
        Ok(())
    }

    /// The aggregator a view reads, after checking that the caller may read it
    /// (`AccessDeniedException`) and that it exists (`NoSuchConfigurationAggregatorException`).
    pub async fn scope(
        &self,
        caller: &Caller,
        requested_owner: &str,
        home_region: &str,
        name: &str,
    ) -> Result<AggregatorScope> {
        inputs::validate_named(requested_owner, home_region, name)?;
        let key = AggregatorKey {
            owner_account_id: acting_owner(caller, requested_owner)?,
            home_region: home_region.to_string(),
            name: name.to_string(),
        };
        let row = table::Entity::find_by_id(key_id(&key))
            .one(&self.db)
            .await?
            .ok_or_else(no_such_aggregator)?;
        let definition = decode(&row.definition)?;
        let mut resource_types: Vec<String> = definition
            .aggregator_filters
            .and_then(|filters| filters.resource_type)
            .map(|filter| filter.value)
            .unwrap_or_default();
        resource_types.sort();
        resource_types.dedup();
        Ok(AggregatorScope {
            key,
            resource_types,
            organization_source: row.organization_source,
        })
    }

    /// One page of source statuses.
    pub async fn sources_status(
        &self,
        caller: &Caller,
        query: SourcesStatusQuery,
    ) -> Result<(Vec<pb::AggregatedSourceStatus>, String)> {
        let scope = self
            .scope(
                caller,
                &query.requested_owner,
                &query.home_region,
                &query.name,
            )
            .await?;
        let organization_id = if scope.organization_source {
            Some(
                self.directory
                    .organization_of(&scope.key.owner_account_id)
                    .await?
                    .unwrap_or_default(),
            )
        } else {
            None
        };
        sources::page(
            &self.db,
            &self.page_tokens,
            &scope.key,
            organization_id.as_deref(),
            &query,
            self.freshness_target_ms,
            tributary_runtime::time::now().timestamp_micros(),
        )
        .await
    }

    /// Adds or overwrites tags on one of the caller's aggregators.
    pub async fn tag(
        &self,
        caller: &Caller,
        resource_arn: &str,
        new_tags: Vec<types_pb::Tag>,
    ) -> Result<()> {
        let mut violations = Violations::new();
        inputs::check_arn(&mut violations, resource_arn);
        let pairs: Vec<(&str, &str)> = new_tags
            .iter()
            .map(|tag| (tag.key.as_str(), tag.value.as_str()))
            .collect();
        tributary_runtime::tags::check_tags(&mut violations, "tags", &pairs, true);
        violations.finish_with(reason::VALIDATION)?;
        let transaction = crate::store::begin_write(&self.db).await?;
        self.owned_arn(&transaction, caller, resource_arn).await?;
        let existing: BTreeSet<String> = tags::Entity::find()
            .filter(tags::Column::ResourceArn.eq(resource_arn))
            .all(&transaction)
            .await?
            .into_iter()
            .map(|row| row.key)
            .collect();
        let added: BTreeSet<&str> = new_tags
            .iter()
            .map(|tag| tag.key.as_str())
            .filter(|tag_key| !existing.contains(*tag_key))
            .collect();
        if existing.len() + added.len() > MAX_TAGS {
            return Err(Error::limit_exceeded(
                reason::TOO_MANY_TAGS,
                format!(
                    "the aggregator has {} tags and the request adds {}; a resource may have at \
                     most {MAX_TAGS}",
                    existing.len(),
                    added.len()
                ),
            ));
        }
        tags::Entity::insert_many(new_tags.into_iter().map(|tag| tags::ActiveModel {
            resource_arn: Set(resource_arn.to_string()),
            key: Set(tag.key),
            value: Set(tag.value),
        }))
        .on_conflict(
            OnConflict::columns([tags::Column::ResourceArn, tags::Column::Key])
                .update_column(tags::Column::Value)
                .to_owned(),
        )
        .exec(&transaction)
        .await?;
        transaction.commit().await?;
        Ok(())
    }

    /// Removes tags by key from one of the caller's aggregators; unknown keys are ignored.
    pub async fn untag(&self, caller: &Caller, resource_arn: &str, keys: &[String]) -> Result<()> {
        let mut violations = Violations::new();
        inputs::check_arn(&mut violations, resource_arn);
        inputs::check_tag_keys(&mut violations, keys);
        violations.finish_with(reason::VALIDATION)?;
        self.owned_arn(&self.db, caller, resource_arn).await?;
        tags::Entity::delete_many()
            .filter(tags::Column::ResourceArn.eq(resource_arn))
            .filter(tags::Column::Key.is_in(keys.to_vec()))
            .exec(&self.db)
            .await?;
        Ok(())
    }

    /// One page of an aggregator's tags in key order.
    pub async fn list_tags(
        &self,
        caller: &Caller,
        resource_arn: &str,
        requested_page_size: i32,
        page_token: &str,
    ) -> Result<(Vec<types_pb::Tag>, String)> {
        let mut violations = Violations::new();
        inputs::check_arn(&mut violations, resource_arn);
        violations.finish_with(reason::VALIDATION)?;
        let limit = page_size(requested_page_size, TAGS_DEFAULT, TAGS_MAX)?;
        let scope = format!("ListTagsForResource:{resource_arn}");
        let after: Option<String> = self.page_tokens.open(&scope, page_token)?;
        self.owned_arn(&self.db, caller, resource_arn).await?;
        let mut select = tags::Entity::find()
            .filter(tags::Column::ResourceArn.eq(resource_arn))
            .order_by_asc(tags::Column::Key);
        if let Some(after) = after {
            select = select.filter(tags::Column::Key.gt(after));
        }
        let mut rows = select.limit(u64::from(limit) + 1).all(&self.db).await?;
        let next = cut(&self.page_tokens, &mut rows, limit, &scope, |row| {
            row.key.clone()
        });
        Ok((
            rows.into_iter()
                .map(|row| types_pb::Tag {
                    key: row.key,
                    value: row.value,
                })
                .collect(),
            next,
        ))
    }

    /// Fails with `ResourceNotFoundException` unless `arn` names an aggregator the caller may
    /// manage (another account's aggregator is reported the same way, revealing nothing).
    async fn owned_arn(&self, db: &impl ConnectionTrait, caller: &Caller, arn: &str) -> Result<()> {
        let row = table::Entity::find()
            .filter(table::Column::Arn.eq(arn))
            .one(db)
            .await?;
        match row {
            Some(row) if acting_owner(caller, &row.owner_account_id).is_ok() => Ok(()),
            _ => Err(Error::not_found(
                runtime_reason::RESOURCE_NOT_FOUND,
                // The ARN was checked to be at most 1,000 characters.
                format!("ResourceArn '{arn}' does not exist"),
            )),
        }
    }
}

/// `NoSuchConfigurationAggregatorException`.
pub fn no_such_aggregator() -> Error {
    Error::not_found(
        reason::NO_SUCH_CONFIGURATION_AGGREGATOR,
        "The configuration aggregator does not exist.",
    )
}

fn key_id(key: &AggregatorKey) -> (String, String, String) {
    (
        key.owner_account_id.clone(),
        key.home_region.clone(),
        key.name.clone(),
    )
}

/// `arn:aws:config:<region>:<account>:config-aggregator/config-aggregator-<8 lowercase letters or
/// digits>`.
fn aggregator_arn(key: &AggregatorKey) -> String {
    let suffix = tributary_runtime::db::random_hex(4);
    format!(
        "arn:aws:config:{}:{}:config-aggregator/config-aggregator-{suffix}",
        key.home_region, key.owner_account_id
    )
}

/// A time in microseconds since the Unix epoch as a protobuf timestamp.
pub(crate) fn micros_timestamp(micros: i64) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: micros.div_euclid(1_000_000),
        nanos: i32::try_from(micros.rem_euclid(1_000_000) * 1_000).unwrap_or(0),
    }
}

fn decode(bytes: &[u8]) -> Result<pb::ConfigurationAggregator> {
    pb::ConfigurationAggregator::decode(bytes)
        .map_err(|error| Error::Corrupt(format!("stored configuration aggregator: {error}")))
}

/// What membership is told about an aggregator.
fn declaration(
    key: &AggregatorKey,
    input: &PutAggregator,
) -> membership_pb::ConfigAggregatorDeclaration {
    let (all_regions, regions) = match &input.regions {
        Regions::All => (true, Vec::new()),
        Regions::Listed(regions) => (false, regions.clone()),
    };
    let (organization_source, account_ids) = match &input.source {
        Source::Accounts(accounts) => (false, accounts.clone()),
        Source::Organization { .. } => (true, Vec::new()),
    };
    membership_pb::ConfigAggregatorDeclaration {
        owner_account_id: key.owner_account_id.clone(),
        home_region: key.home_region.clone(),
        aggregator_name: key.name.clone(),
        account_ids,
        organization_source,
        all_regions,
        regions,
    }
}

/// The declaration of a stored aggregator.
fn declaration_of(
    aggregator: &pb::ConfigurationAggregator,
) -> Option<membership_pb::ConfigAggregatorDeclaration> {
    let base = membership_pb::ConfigAggregatorDeclaration {
        owner_account_id: aggregator.owner_account_id.clone(),
        home_region: aggregator.region.clone(),
        aggregator_name: aggregator.configuration_aggregator_name.clone(),
        ..Default::default()
    };
    if let Some(source) = aggregator.account_aggregation_sources.first() {
        return Some(membership_pb::ConfigAggregatorDeclaration {
            account_ids: source.account_ids.clone(),
            all_regions: source.all_aws_regions,
            regions: source.aws_regions.clone(),
            ..base
        });
    }
    aggregator
        .organization_aggregation_source
        .as_ref()
        .map(|source| membership_pb::ConfigAggregatorDeclaration {
            organization_source: true,
            all_regions: source.all_aws_regions,
            regions: source.aws_regions.clone(),
            ..base
        })
}

/// Restricts a statement on `aggregator_entitlements` to one aggregator's rows.
fn entitlement_rows<S: QueryFilter>(statement: S, key: &AggregatorKey) -> S {
    statement
        .filter(entitlements::Column::OwnerAccountId.eq(key.owner_account_id.as_str()))
        .filter(entitlements::Column::HomeRegion.eq(key.home_region.as_str()))
        .filter(entitlements::Column::AggregatorName.eq(key.name.as_str()))
}

/// Deletes the entitlement rows of accounts and regions the aggregator no longer lists, so their
/// data leaves its views before replication has re-resolved.
async fn hide_dropped_pairs(
    db: &impl ConnectionTrait,
    key: &AggregatorKey,
    input: &PutAggregator,
) -> Result<()> {
    if let Source::Accounts(accounts) = &input.source {
        let held: Vec<String> = entitlement_rows(entitlements::Entity::find(), key)
            .select_only()
            .column(entitlements::Column::AccountId)
            .distinct()
            .into_tuple()
            .all(db)
            .await?;
        let dropped: Vec<String> = held
            .into_iter()
            .filter(|account_id| accounts.binary_search(account_id).is_err())
            .collect();
        for chunk in dropped.chunks(CHUNK) {
            entitlement_rows(entitlements::Entity::delete_many(), key)
                .filter(entitlements::Column::AccountId.is_in(chunk.to_vec()))
                .exec(db)
                .await?;
        }
    }
    if let Regions::Listed(regions) = &input.regions {
        entitlement_rows(entitlements::Entity::delete_many(), key)
            .filter(entitlements::Column::Region.is_not_in(regions.clone()))
            .exec(db)
            .await?;
    }
    Ok(())
}

/// Cuts `rows` (read with one extra) to `limit` and issues the next page's token from the last
/// kept row when there was more.
pub(crate) fn cut<T, P: serde::Serialize>(
    page_tokens: &PageTokens,
    rows: &mut Vec<T>,
    limit: u32,
    scope: &str,
    position: impl Fn(&T) -> P,
) -> String {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let more = rows.len() > limit;
    rows.truncate(limit);
    match rows.last() {
        Some(last) if more => page_tokens.issue(scope, &position(last)),
        _ => String::new(),
    }
}
