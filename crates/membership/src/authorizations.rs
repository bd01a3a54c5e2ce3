//! Aggregation authorizations (the source side of Config aggregation): a source account grants an
//! aggregator account and region the right to aggregate its data from one source region, sees the
//! aggregators waiting for such a grant (pending requests), declines them, and tags its grants.
//!
//! Every call acts as the caller's own account, in the region it names. A deleted grant is kept as
//! a revocation so the pairs it covered resolve as REVOKED until the source authorizes again (see
//! `config_aggregators` for the pair rules).

use std::{collections::HashSet, sync::Arc};

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};
use tributary_proto::{membership::v1 as pb, types::v1 as types_pb};
use tributary_runtime::{
    Violations,
    auth::Caller,
    error::reason as runtime_reason,
    ids::{validate_account_id, validate_region_name},
    paging::{Direction, PageTokens, keyset_after, page_size},
};

use crate::{
    clock::Clock,
    config_aggregators::{ConfigAggregators, PendingRequest},
    error::{Error, Result},
    events::{Changes, Event},
    organizations::acting_account,
    store::{
        aggregation_authorization_tags as tags_table, aggregation_authorizations as table,
        aggregation_request_declines as declines, regions,
    },
};

/// AWS exception names of authorizations and tagging.
pub mod reason {
    /// Structural tag and tagging-request violations.
    pub const VALIDATION: &str = "ValidationException";
    /// A resource would carry more than 50 tags.
    pub const TOO_MANY_TAGS: &str = "TooManyTagsException";
}

/// Page sizes of `DescribeAggregationAuthorizations` (AWS `Limit` 0-100, default the maximum).
const DESCRIBE_DEFAULT: u32 = 100;
const DESCRIBE_MAX: u32 = 100;
/// Page sizes of `DescribePendingAggregationRequests` (AWS `Limit` 0-20).
const PENDING_DEFAULT: u32 = 20;
const PENDING_MAX: u32 = 20;
/// Page sizes of `ListTagsForResource` (AWS `Limit` 0-100; the documented default is 50).
const TAGS_DEFAULT: u32 = 50;
const TAGS_MAX: u32 = 100;

pub use tributary_runtime::tags::{
    MAX_TAG_KEY, MAX_TAG_VALUE, MAX_TAGS, validate_tag_key, validate_tag_value,
};
/// Longest resource ARN accepted by the tagging calls.
pub const MAX_ARN: usize = 1000;

const ARN_PREFIX: &str = "arn:aws:config:";
const ARN_RESOURCE: &str = "aggregation-authorization/";

/// A key-value tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag {
    pub key: String,
    pub value: String,
}

impl From<types_pb::Tag> for Tag {
    fn from(tag: types_pb::Tag) -> Self {
        Self {
            key: tag.key,
            value: tag.value,
        }
    }
}

impl From<Tag> for types_pb::Tag {
    fn from(tag: Tag) -> Self {
        Self {
            key: tag.key,
            value: tag.value,
        }
    }
}

/// Checks a list of tags under `field`: at most 50 (at least one when `required`), each key and
/// value valid, no key twice (compared ignoring case, as AWS does).
pub fn check_tags(violations: &mut Violations, field: &str, tags: &[Tag], required: bool) {
    let pairs: Vec<(&str, &str)> = tags
        .iter()
        .map(|tag| (tag.key.as_str(), tag.value.as_str()))
        .collect();
    tributary_runtime::tags::check_tags(violations, field, &pairs, required);
}

/// Which grant an authorization is.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AuthorizationKey {
    pub source_account_id: String,
    pub source_region: String,
    pub authorized_account_id: String,
    pub authorized_region: String,
}

impl AuthorizationKey {
    /// `arn:aws:config:<source region>:<source account>:aggregation-authorization/<authorized
    /// account>/<authorized region>`.
    pub fn arn(&self) -> String {
        format!(
            "{ARN_PREFIX}{}:{}:{ARN_RESOURCE}{}/{}",
            self.source_region,
            self.source_account_id,
            self.authorized_account_id,
            self.authorized_region
        )
    }

    /// Reads an authorization ARN; none for anything else.
    pub fn from_arn(arn: &str) -> Option<Self> {
        let rest = arn.strip_prefix(ARN_PREFIX)?;
        let (source_region, rest) = rest.split_once(':')?;
        let (source_account_id, resource) = rest.split_once(':')?;
        let (authorized_account_id, authorized_region) =
            resource.strip_prefix(ARN_RESOURCE)?.split_once('/')?;
        let key = Self {
            source_account_id: source_account_id.to_string(),
            source_region: source_region.to_string(),
            authorized_account_id: authorized_account_id.to_string(),
            authorized_region: authorized_region.to_string(),
        };
        let shaped = validate_account_id(&key.source_account_id).is_ok()
            && validate_account_id(&key.authorized_account_id).is_ok()
            && validate_region_name(&key.source_region).is_ok()
            && validate_region_name(&key.authorized_region).is_ok();
        shaped.then_some(key)
    }

    fn id(&self) -> (String, String, String, String) {
        (
            self.source_account_id.clone(),
            self.source_region.clone(),
            self.authorized_account_id.clone(),
            self.authorized_region.clone(),
        )
    }
}

/// A live authorization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    pub arn: String,
    pub authorized_account_id: String,
    pub authorized_region: String,
    pub created_at: DateTime<Utc>,
}

impl From<table::Model> for Authorization {
    fn from(row: table::Model) -> Self {
        let key = AuthorizationKey {
            source_account_id: row.source_account_id,
            source_region: row.source_region,
            authorized_account_id: row.authorized_account_id,
            authorized_region: row.authorized_region,
        };
        Self {
            arn: key.arn(),
            authorized_account_id: key.authorized_account_id,
            authorized_region: key.authorized_region,
            created_at: row.created_at,
        }
    }
}

/// A validated `PutAggregationAuthorization` input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PutAuthorization {
    /// The source region the call is made in.
    pub region: String,
    pub authorized_account_id: String,
    pub authorized_region: String,
    pub tags: Vec<Tag>,
}

impl TryFrom<pb::PutAggregationAuthorizationRequest> for PutAuthorization {
    type Error = Error;

    /// Validates every field, reporting all bad ones: `InvalidParameterValueException` when an id
    /// or region is bad, `ValidationException` when only tags are.
    fn try_from(message: pb::PutAggregationAuthorizationRequest) -> Result<Self> {
        let mut violations = Violations::new();
        violations.check("region", validate_region_name(&message.region));
        violations.check(
            "authorized_account_id",
            validate_account_id(&message.authorized_account_id),
        );
        violations.check(
            "authorized_aws_region",
            validate_region_name(&message.authorized_aws_region),
        );
        let parameters_valid = violations.is_empty();
        let tags: Vec<Tag> = message.tags.into_iter().map(Tag::from).collect();
        check_tags(&mut violations, "tags", &tags, false);
        if parameters_valid {
            violations.finish_with(reason::VALIDATION)?;
        } else {
            violations.finish()?;
        }
        Ok(Self {
            region: message.region,
            authorized_account_id: message.authorized_account_id,
            authorized_region: message.authorized_aws_region,
            tags,
        })
    }
}

/// Aggregation authorizations, pending requests and their tags.
pub struct Authorizations {
    changes: Changes,
    page_tokens: PageTokens,
    config_aggregators: Arc<ConfigAggregators>,
    clock: Clock,
}

/// The account the caller acts as, or `AccessDeniedException`.
fn source_account(caller: &Caller) -> Result<String> {
    acting_account(caller).map(str::to_string).ok_or_else(|| {
        Error::access_denied(
            "aggregation authorizations belong to an account: call with an account or \
             organization-management API key",
        )
    })
}

/// The registered region the call is made in, or `InvalidParameterValueException` on `field`.
async fn registered_region(
    db: &impl ConnectionTrait,
    field: &str,
    name: &str,
) -> Result<regions::Model> {
    regions::Entity::find_by_id(name.to_string())
        .one(db)
        .await?
        .ok_or_else(|| Error::invalid_field(field, format!("region {name} is not registered")))
}

/// Fails with `InvalidParameterValueException` for a malformed region, account or page size.
fn check_call(region: &str, accounts: &[(&str, &str)], regions: &[(&str, &str)]) -> Result<()> {
    let mut violations = Violations::new();
    violations.check("region", validate_region_name(region));
    for (field, account_id) in accounts {
        violations.check(*field, validate_account_id(account_id));
    }
    for (field, name) in regions {
        violations.check(*field, validate_region_name(name));
    }
    Ok(violations.finish()?)
}

/// `ResourceNotFoundException` for a tagging ARN.
fn arn_not_found(arn: &str) -> Error {
    Error::not_found(
        runtime_reason::RESOURCE_NOT_FOUND,
        format!("ResourceArn '{arn}' does not exist"),
    )
}

/// Fails with `ValidationException` for an empty or overlong ARN.
fn check_arn(violations: &mut Violations, arn: &str) {
    let length = arn.chars().count();
    if length == 0 || length > MAX_ARN {
        violations.add(
            "resource_arn",
            format!("must be 1-{MAX_ARN} characters, got {length}"),
        );
    }
}

impl Authorizations {
    /// The authorizations behind `changes`; pending requests come from `config_aggregators`.
    pub fn new(
        changes: Changes,
        page_tokens: PageTokens,
        config_aggregators: Arc<ConfigAggregators>,
        clock: Clock,
    ) -> Self {
        Self {
            changes,
            page_tokens,
            config_aggregators,
            clock,
        }
    }

    /// Creates the caller's authorization (or returns the existing one unchanged) and answers the
    /// matching pending request.
    pub async fn put(&self, caller: &Caller, input: PutAuthorization) -> Result<Authorization> {
        let source = source_account(caller)?;
        let now = self.clock.now();
        let mut change = self.changes.begin().await?;
        let mut violations = Violations::new();
        for (field, name) in [
            ("region", &input.region),
            ("authorized_aws_region", &input.authorized_region),
        ] {
            let registered = regions::Entity::find_by_id(name.clone())
                .one(change.tx())
                .await?
                .is_some();
            if !registered {
                violations.add(field, format!("region {name} is not registered"));
            }
        }
        violations.finish()?;
        let key = AuthorizationKey {
            source_account_id: source.clone(),
            source_region: input.region.clone(),
            authorized_account_id: input.authorized_account_id.clone(),
            authorized_region: input.authorized_region.clone(),
        };
        let existing = table::Entity::find_by_id(key.id()).one(change.tx()).await?;
        let row = match existing {
            Some(live) if live.revoked_at.is_none() => return Ok(live.into()),
            Some(revoked) => {
                let mut active: table::ActiveModel = revoked.into();
                active.created_at = Set(now);
                active.revoked_at = Set(None);
                active.update(change.tx()).await?
            }
            None => {
                table::ActiveModel {
                    source_account_id: Set(key.source_account_id.clone()),
                    source_region: Set(key.source_region.clone()),
                    authorized_account_id: Set(key.authorized_account_id.clone()),
                    authorized_region: Set(key.authorized_region.clone()),
                    created_at: Set(now),
                    revoked_at: Set(None),
                }
                .insert(change.tx())
                .await?
            }
        };
        let arn = key.arn();
        if !input.tags.is_empty() {
            tags_table::Entity::insert_many(input.tags.iter().map(|tag| tags_table::ActiveModel {
                resource_arn: Set(arn.clone()),
                tag_key: Set(tag.key.clone()),
                tag_value: Set(tag.value.clone()),
            }))
            .exec(change.tx())
            .await?;
        }
        declines::Entity::delete_by_id((
            key.source_account_id.clone(),
            key.source_region.clone(),
            key.authorized_account_id.clone(),
            key.authorized_region.clone(),
        ))
        .exec(change.tx())
        .await?;
        change.record(
            Event::new("authorization.put")
                .account(&source)
                .region(&input.region)
                .related(&input.authorized_account_id),
        );
        change.commit().await?;
        tracing::info!(source = %source, region = %input.region, authorized = %input.authorized_account_id, authorized_region = %input.authorized_region, "aggregation authorized");
        Ok(row.into())
    }

    /// The caller's live authorizations in `region`, by authorized account then region.
    pub async fn describe(
        &self,
        caller: &Caller,
        region: &str,
        requested_page_size: i32,
        page_token: &str,
    ) -> Result<(Vec<Authorization>, String)> {
        let source = source_account(caller)?;
        check_call(region, &[], &[])?;
        let limit = page_size(requested_page_size, DESCRIBE_DEFAULT, DESCRIBE_MAX)?;
        let scope = format!("DescribeAggregationAuthorizations:{source}:{region}");
        let after: Option<(String, String)> = self.page_tokens.open(&scope, page_token)?;
        let db = self.changes.db();
        registered_region(db, "region", region).await?;
        let mut query = table::Entity::find()
            .filter(table::Column::SourceAccountId.eq(source.as_str()))
            .filter(table::Column::SourceRegion.eq(region))
            .filter(table::Column::RevokedAt.is_null())
            .order_by_asc(table::Column::AuthorizedAccountId)
            .order_by_asc(table::Column::AuthorizedRegion);
        if let Some((account, authorized_region)) = after {
            query = query.filter(keyset_after(vec![
                (
                    table::Column::AuthorizedAccountId,
                    account.into(),
                    Direction::Ascending,
                ),
                (
                    table::Column::AuthorizedRegion,
                    authorized_region.into(),
                    Direction::Ascending,
                ),
            ]));
        }
        let mut rows = query.limit(u64::from(limit) + 1).all(db).await?;
        let next = if rows.len() > limit as usize {
            rows.truncate(limit as usize);
            rows.last()
                .map(|last| {
                    self.page_tokens.issue(
                        &scope,
                        &(&last.authorized_account_id, &last.authorized_region),
                    )
                })
                .unwrap_or_default()
        } else {
            String::new()
        };
        Ok((rows.into_iter().map(Authorization::from).collect(), next))
    }

    /// Deletes the caller's authorization; the pairs it covered resolve as REVOKED. Deleting a
    /// grant that does not exist succeeds and changes nothing.
    pub async fn delete(
        &self,
        caller: &Caller,
        region: &str,
        authorized_account_id: &str,
        authorized_region: &str,
    ) -> Result<()> {
        let source = source_account(caller)?;
        check_call(
            region,
            &[("authorized_account_id", authorized_account_id)],
            &[("authorized_aws_region", authorized_region)],
        )?;
        let now = self.clock.now();
        let mut change = self.changes.begin().await?;
        registered_region(change.tx(), "region", region).await?;
        let key = AuthorizationKey {
            source_account_id: source.clone(),
            source_region: region.to_string(),
            authorized_account_id: authorized_account_id.to_string(),
            authorized_region: authorized_region.to_string(),
        };
        let Some(live) = table::Entity::find_by_id(key.id())
            .one(change.tx())
            .await?
            .filter(|row| row.revoked_at.is_none())
        else {
            return Ok(());
        };
        let mut active: table::ActiveModel = live.into();
        active.revoked_at = Set(Some(now));
        active.update(change.tx()).await?;
        tags_table::Entity::delete_many()
            .filter(tags_table::Column::ResourceArn.eq(key.arn()))
            .exec(change.tx())
            .await?;
        change.record(
            Event::new("authorization.deleted")
                .account(&source)
                .region(region)
                .related(authorized_account_id),
        );
        change.commit().await?;
        tracing::info!(source = %source, region = %region, authorized = %authorized_account_id, authorized_region = %authorized_region, "aggregation authorization deleted");
        Ok(())
    }

    /// The requesters waiting for the caller's authorization in `region`, by requester account
    /// then region.
    pub async fn describe_pending(
        &self,
        caller: &Caller,
        region: &str,
        requested_page_size: i32,
        page_token: &str,
    ) -> Result<(Vec<PendingRequest>, String)> {
        let source = source_account(caller)?;
        check_call(region, &[], &[])?;
        let limit = page_size(requested_page_size, PENDING_DEFAULT, PENDING_MAX)? as usize;
        let scope = format!("DescribePendingAggregationRequests:{source}:{region}");
        let after: Option<(String, String)> = self.page_tokens.open(&scope, page_token)?;
        let db = self.changes.db();
        let region_model = registered_region(db, "region", region).await?;
        // The requests are derived from the declarations listing the caller, a set bounded by the
        // aggregators that name it; the keyset position picks up after the last one returned.
        let mut requests: Vec<PendingRequest> = self
            .config_aggregators
            .pending_requests(db, &source, &region_model)
            .await?
            .into_iter()
            .filter(|request| {
                after.as_ref().is_none_or(|(account, requester_region)| {
                    (&request.requester_account_id, &request.requester_region)
                        > (account, requester_region)
                })
            })
            .take(limit + 1)
            .collect();
        let next = if requests.len() > limit {
            requests.truncate(limit);
            requests
                .last()
                .map(|last| {
                    self.page_tokens.issue(
                        &scope,
                        &(&last.requester_account_id, &last.requester_region),
                    )
                })
                .unwrap_or_default()
        } else {
            String::new()
        };
        Ok((requests, next))
    }

    /// Declines a pending request; succeeds without change when it is not pending.
    pub async fn decline(
        &self,
        caller: &Caller,
        region: &str,
        requester_account_id: &str,
        requester_region: &str,
    ) -> Result<()> {
        let source = source_account(caller)?;
        check_call(
            region,
            &[("requester_account_id", requester_account_id)],
            &[("requester_aws_region", requester_region)],
        )?;
        let now = self.clock.now();
        let mut change = self.changes.begin().await?;
        let region_model = registered_region(change.tx(), "region", region).await?;
        let pending = self
            .config_aggregators
            .pending_requests(change.tx(), &source, &region_model)
            .await?
            .into_iter()
            .any(|request| {
                request.requester_account_id == requester_account_id
                    && request.requester_region == requester_region
            });
        if !pending {
            return Ok(());
        }
        let id = (
            source.clone(),
            region.to_string(),
            requester_account_id.to_string(),
            requester_region.to_string(),
        );
        match declines::Entity::find_by_id(id).one(change.tx()).await? {
            Some(existing) => {
                let mut active: declines::ActiveModel = existing.into();
                active.declined_at = Set(now);
                active.update(change.tx()).await?;
            }
            None => {
                declines::ActiveModel {
                    source_account_id: Set(source.clone()),
                    source_region: Set(region.to_string()),
                    requester_account_id: Set(requester_account_id.to_string()),
                    requester_region: Set(requester_region.to_string()),
                    declined_at: Set(now),
                }
                .insert(change.tx())
                .await?;
            }
        }
        change.record(
            Event::new("pending_request.declined")
                .account(&source)
                .region(region)
                .related(requester_account_id),
        );
        change.commit().await?;
        tracing::info!(source = %source, region = %region, requester = %requester_account_id, requester_region = %requester_region, "pending aggregation request declined");
        Ok(())
    }

    /// Adds or overwrites tags on one of the caller's live authorizations.
    pub async fn tag(&self, caller: &Caller, resource_arn: &str, tags: Vec<Tag>) -> Result<()> {
        let source = source_account(caller)?;
        let mut violations = Violations::new();
        check_arn(&mut violations, resource_arn);
        check_tags(&mut violations, "tags", &tags, true);
        violations.finish_with(reason::VALIDATION)?;
        let mut change = self.changes.begin().await?;
        let key = self
            .owned_authorization(change.tx(), &source, resource_arn)
            .await?;
        let existing: HashSet<String> = tags_table::Entity::find()
            .filter(tags_table::Column::ResourceArn.eq(resource_arn))
            .all(change.tx())
            .await?
            .into_iter()
            .map(|row| row.tag_key)
            .collect();
        let added = tags
            .iter()
            .filter(|tag| !existing.contains(&tag.key))
            .count();
        if existing.len() + added > MAX_TAGS {
            return Err(Error::limit_exceeded(
                reason::TOO_MANY_TAGS,
                format!(
                    "the authorization has {} tags and the request adds {added}; a resource may \
                     have at most {MAX_TAGS}",
                    existing.len()
                ),
            ));
        }
        for tag in &tags {
            let row = tags_table::ActiveModel {
                resource_arn: Set(resource_arn.to_string()),
                tag_key: Set(tag.key.clone()),
                tag_value: Set(tag.value.clone()),
            };
            if existing.contains(&tag.key) {
                row.update(change.tx()).await?;
            } else {
                row.insert(change.tx()).await?;
            }
        }
        change.record(
            Event::new("authorization.tagged")
                .account(&source)
                .region(&key.source_region)
                .related(&key.authorized_account_id),
        );
        change.commit().await?;
        Ok(())
    }

    /// Removes tags by key from one of the caller's live authorizations; unknown keys are ignored.
    pub async fn untag(&self, caller: &Caller, resource_arn: &str, keys: &[String]) -> Result<()> {
        let source = source_account(caller)?;
        let mut violations = Violations::new();
        check_arn(&mut violations, resource_arn);
        if keys.is_empty() || keys.len() > MAX_TAGS {
            violations.add(
                "tag_keys",
                format!(
                    "must list 1-{MAX_TAGS} keys, got {}; Member must have length less than or \
                     equal to {MAX_TAGS}",
                    keys.len()
                ),
            );
        }
        for (index, key) in keys.iter().enumerate() {
            let length = key.chars().count();
            if length == 0 || length > MAX_TAG_KEY {
                violations.add(
                    format!("tag_keys[{index}]"),
                    format!(
                        "has {length} characters; Member must have length between 1 and \
                         {MAX_TAG_KEY}"
                    ),
                );
            }
        }
        violations.finish_with(reason::VALIDATION)?;
        let mut change = self.changes.begin().await?;
        let key = self
            .owned_authorization(change.tx(), &source, resource_arn)
            .await?;
        let removed = tags_table::Entity::delete_many()
            .filter(tags_table::Column::ResourceArn.eq(resource_arn))
            .filter(tags_table::Column::TagKey.is_in(keys.to_vec()))
            .exec(change.tx())
            .await?
            .rows_affected;
        if removed == 0 {
            return Ok(());
        }
        change.record(
            Event::new("authorization.untagged")
                .account(&source)
                .region(&key.source_region)
                .related(&key.authorized_account_id),
        );
        change.commit().await?;
        Ok(())
    }

    /// The tags of one of the caller's live authorizations, in key order.
    pub async fn list_tags(
        &self,
        caller: &Caller,
        resource_arn: &str,
        requested_page_size: i32,
        page_token: &str,
    ) -> Result<(Vec<Tag>, String)> {
        let source = source_account(caller)?;
        let mut violations = Violations::new();
        check_arn(&mut violations, resource_arn);
        violations.finish_with(reason::VALIDATION)?;
        let limit = page_size(requested_page_size, TAGS_DEFAULT, TAGS_MAX)?;
        let scope = format!("ListTagsForResource:{resource_arn}");
        let after: Option<String> = self.page_tokens.open(&scope, page_token)?;
        let db = self.changes.db();
        self.owned_authorization(db, &source, resource_arn).await?;
        let mut query = tags_table::Entity::find()
            .filter(tags_table::Column::ResourceArn.eq(resource_arn))
            .order_by_asc(tags_table::Column::TagKey);
        if let Some(after) = after {
            query = query.filter(tags_table::Column::TagKey.gt(after));
        }
        let mut rows = query.limit(u64::from(limit) + 1).all(db).await?;
        let next = if rows.len() > limit as usize {
            rows.truncate(limit as usize);
            rows.last()
                .map(|last| self.page_tokens.issue(&scope, &last.tag_key))
                .unwrap_or_default()
        } else {
            String::new()
        };
        Ok((
            rows.into_iter()
                .map(|row| Tag {
                    key: row.tag_key,
                    value: row.tag_value,
                })
                .collect(),
            next,
        ))
    }

    /// The key of the caller's live authorization named by `arn`, or `ResourceNotFoundException`
    /// (also for another account's authorization, so nothing about it is revealed).
    async fn owned_authorization(
        &self,
        db: &impl ConnectionTrait,
        source: &str,
        arn: &str,
    ) -> Result<AuthorizationKey> {
        let key = AuthorizationKey::from_arn(arn)
            .filter(|key| key.source_account_id == source)
            .ok_or_else(|| arn_not_found(arn))?;
        let live = table::Entity::find_by_id(key.id())
            .one(db)
            .await?
            .is_some_and(|row| row.revoked_at.is_none());
        if live {
            Ok(key)
        } else {
            Err(arn_not_found(arn))
        }
    }
}

/// Why a region cannot be deregistered because live authorizations name it, if they do.
pub async fn region_in_use(db: &impl ConnectionTrait, name: &str) -> Result<Option<String>> {
    let grants = table::Entity::find()
        .filter(table::Column::RevokedAt.is_null())
        .filter(
            Condition::any()
                .add(table::Column::SourceRegion.eq(name))
                .add(table::Column::AuthorizedRegion.eq(name)),
        )
        .count(db)
        .await?;
    if grants > 0 {
        return Ok(Some(format!(
            "{grants} aggregation authorization(s) name it"
        )));
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields_and_reason(error: Error) -> (Vec<String>, &'static str) {
        match error {
            Error::Runtime(tributary_runtime::Error::InvalidInput {
                violations, reason, ..
            }) => (
                violations
                    .into_iter()
                    .map(|violation| violation.field)
                    .collect(),
                reason,
            ),
            other => panic!("expected invalid input, got {other:?}"),
        }
    }

    fn tag(key: &str, value: &str) -> Tag {
        Tag {
            key: key.into(),
            value: value.into(),
        }
    }

    #[test]
    fn arns_round_trip_and_reject_other_shapes() {
        let key = AuthorizationKey {
            source_account_id: "222222222222".into(),
            source_region: "eu-west-1".into(),
            authorized_account_id: "111111111111".into(),
            authorized_region: "us-east-1".into(),
        };
        let arn = key.arn();
        assert_eq!(
            arn,
            "arn:aws:config:eu-west-1:222222222222:aggregation-authorization/111111111111/us-east-1"
        );
        assert_eq!(AuthorizationKey::from_arn(&arn), Some(key));
        for other in [
            "",
            "arn:aws:config:us-east-1:111111111111:config-aggregator/config-aggregator-abcdefgh",
            "arn:aws:config:eu-west-1:2222:aggregation-authorization/111111111111/us-east-1",
            "arn:aws:config:eu-west-1:222222222222:aggregation-authorization/111111111111",
            "arn:aws:config:eu-west-1:222222222222:aggregation-authorization/111111111111/US",
            "arn:aws:s3:eu-west-1:222222222222:aggregation-authorization/111111111111/us-east-1",
        ] {
            assert_eq!(AuthorizationKey::from_arn(other), None, "{other}");
        }
    }

    #[test]
    fn tag_keys_and_values_follow_the_aws_rules() {
        for good in ["env", "Cost Center", "a:b/c=d+e-f@g_h.i", "ключ", "x1"] {
            assert!(validate_tag_key(good).is_ok(), "{good}");
        }
        assert!(validate_tag_key(&"k".repeat(128)).is_ok());
        let too_long = validate_tag_key(&"k".repeat(129)).unwrap_err();
        assert!(too_long.contains("less than or equal to 128"), "{too_long}");
        assert!(validate_tag_key("").is_err());
        let pattern = validate_tag_key("semi;colon").unwrap_err();
        assert!(pattern.contains("Member must satisfy regular expression pattern:"));
        assert!(validate_tag_key("tab\there").is_err());
        assert!(validate_tag_key("AWS:reserved").is_err());
        assert!(validate_tag_value("").is_ok());
        assert!(validate_tag_value(&"v".repeat(256)).is_ok());
        let value = validate_tag_value(&"v".repeat(257)).unwrap_err();
        assert!(value.contains("less than or equal to 256"), "{value}");
    }

    #[test]
    fn tag_lists_are_bounded_and_keys_unique_ignoring_case() {
        let mut violations = Violations::new();
        check_tags(
            &mut violations,
            "tags",
            &[tag("Env", "a"), tag("env", "b"), tag("", "c")],
            false,
        );
        let (fields, _) = fields_and_reason(violations.finish().unwrap_err().into());
        assert_eq!(fields, ["tags[1].key", "tags[2].key"]);

        let many: Vec<Tag> = (0..51).map(|index| tag(&format!("k{index}"), "")).collect();
        let mut violations = Violations::new();
        check_tags(&mut violations, "tags", &many, false);
        let error = violations.finish().unwrap_err();
        assert!(error.to_string().contains("less than or equal to 50"));

        let mut violations = Violations::new();
        check_tags(&mut violations, "tags", &[], true);
        assert!(!violations.is_empty());
        let mut violations = Violations::new();
        check_tags(&mut violations, "tags", &[], false);
        assert!(violations.is_empty());
    }

    fn put_request() -> pb::PutAggregationAuthorizationRequest {
        pb::PutAggregationAuthorizationRequest {
            region: "eu-west-1".into(),
            authorized_account_id: "111111111111".into(),
            authorized_aws_region: "us-east-1".into(),
            tags: vec![types_pb::Tag {
                key: "team".into(),
                value: "audit".into(),
            }],
        }
    }

    #[test]
    fn put_input_names_bad_parameters_and_bad_tags() {
        let input = PutAuthorization::try_from(put_request()).unwrap();
        assert_eq!(input.tags, [tag("team", "audit")]);

        let (fields, reason) = fields_and_reason(
            PutAuthorization::try_from(pb::PutAggregationAuthorizationRequest {
                region: String::new(),
                authorized_account_id: "12".into(),
                authorized_aws_region: "mars".into(),
                tags: vec![types_pb::Tag {
                    key: "aws:x".into(),
                    value: String::new(),
                }],
            })
            .unwrap_err(),
        );
        assert_eq!(
            fields,
            [
                "region",
                "authorized_account_id",
                "authorized_aws_region",
                "tags[0].key"
            ]
        );
        assert_eq!(reason, runtime_reason::INVALID_PARAMETER_VALUE);

        let (fields, reason) = fields_and_reason(
            PutAuthorization::try_from(pb::PutAggregationAuthorizationRequest {
                tags: vec![types_pb::Tag {
                    key: "k".into(),
                    value: "v".repeat(257),
                }],
                ..put_request()
            })
            .unwrap_err(),
        );
        assert_eq!(fields, ["tags[0].value"]);
        assert_eq!(reason, reason::VALIDATION);
    }
}
