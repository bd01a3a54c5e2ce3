//! Config rules, their evaluation results, the compliance summaries AWS Config offers over them,
//! and conformance packs, for every account in this region.
//!
//! Rules, results and packs are stored as their protobuf encodings (the same bytes as their
//! change-log payloads); only the columns queries filter and page on are kept apart. Every write
//! appends its change records in the same transaction through [`ChangeLog::begin`]; deleting a
//! rule also deletes its results, each with its own delete record.

pub mod inputs;
pub mod summary;

use std::collections::{BTreeMap, HashMap};

use prost::Message;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, sea_query::OnConflict,
};
use tributary_proto::collector::v1 as pb;
use tributary_runtime::{
    auth::Caller,
    paging::{Direction, PageTokens, keyset_after, page_size},
    time::to_timestamp,
};

use crate::{
    access::AccountAccess,
    change_log::{
        ChangeKind, ChangeLog, ChangeOp, ChangeRecord, ChangeTx, Version, to_i64, to_u64,
    },
    error::{Error, Result, reason},
    store::{
        config_rule_evaluations as evaluations, config_rules as rules,
        conformance_pack_rules as pack_rules, conformance_packs as packs,
    },
};

pub use inputs::{
    EvaluationInput, NamedListing, PackComplianceQuery, PutConfigRule, PutConformancePack,
    PutEvaluations, ResourceComplianceQuery, RuleComplianceQuery, RuleDetailsQuery,
    validate_pack_name, validate_rule_name,
};
pub use summary::{ComplianceType, PackSummary, ResultCounts, Summary};

const NAMED_DEFAULT_PAGE: u32 = 25;
const NAMED_MAX_PAGE: u32 = 25;
const DETAILS_DEFAULT_PAGE: u32 = 100;
const DETAILS_MAX_PAGE: u32 = 100;
const RESOURCES_DEFAULT_PAGE: u32 = 100;
const RESOURCES_MAX_PAGE: u32 = 100;
const PACK_DEFAULT_PAGE: u32 = 100;
const PACK_MAX_PAGE: u32 = 1000;

/// The change-log key of an evaluation result. The rule's id (18 characters) rather than its name
/// keeps the key within the log's key column for the longest resource types and ids.
pub fn evaluation_key(config_rule_id: &str, resource_type: &str, resource_id: &str) -> String {
    format!("{config_rule_id}|{resource_type}|{resource_id}")
}

/// How many rules and packs an account may hold in this region.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ComplianceLimits {
    /// Config rules per account (AWS default 1,000).
    pub max_config_rules_per_account: u64,
    /// Conformance packs per account (AWS default 50).
    pub max_conformance_packs_per_account: u64,
}

/// The outcome of PutEvaluations.
#[derive(Debug, Clone, PartialEq)]
pub struct PutEvaluationsOutcome {
    /// Results not stored because a newer one is, with their request index.
    pub ignored: Vec<(usize, pb::EvaluationInput)>,
    /// The change-log head including the call.
    pub change_log_seq: u64,
}

/// The compliance of one pack: one page of its rules and the whole pack's summary.
#[derive(Debug, Clone, PartialEq)]
pub struct PackCompliance {
    /// One page of (rule name, summary) in rule name order.
    pub rules: Vec<(String, ComplianceType)>,
    /// The whole pack.
    pub summary: PackSummary,
    /// The next page's token; empty on the last page.
    pub next_page_token: String,
}

/// Config rules, evaluation results and conformance packs of this region.
pub struct Compliance {
    change_log: ChangeLog,
    page_tokens: PageTokens,
    region: String,
    access: AccountAccess,
    limits: ComplianceLimits,
}

impl Compliance {
    /// Compliance data of `region` stored through `change_log`; `access` decides who reads and
    /// writes which account's data.
    pub fn new(
        change_log: ChangeLog,
        page_tokens: PageTokens,
        region: String,
        access: AccountAccess,
        limits: ComplianceLimits,
    ) -> Self {
        Self {
            change_log,
            page_tokens,
            region,
            access,
            limits,
        }
    }

    /// Creates or replaces a rule; a replaced rule keeps its id, ARN and creation time.
    pub async fn put_rule(&self, caller: &Caller, input: PutConfigRule) -> Result<pb::ConfigRule> {
        self.access.require_write(caller, &input.account_id)?;
        let mut change_tx = self.change_log.begin().await?;
        let account_id = input.account_id;
        let mut rule = input.rule;
        let existing = find_rule(change_tx.tx(), &account_id, &rule.config_rule_name).await?;
        match existing {
            Some(row) => {
                let previous = decode_rule(&row.rule)?;
                rule.config_rule_id = previous.config_rule_id;
                rule.config_rule_arn = previous.config_rule_arn;
                rule.created_time = previous.created_time;
            }
            None => {
                let count = rules::Entity::find()
                    .filter(rules::Column::AccountId.eq(account_id.as_str()))
                    .count(change_tx.tx())
                    .await?;
                if count >= self.limits.max_config_rules_per_account {
                    return Err(Error::limit_exceeded(
                        reason::MAX_NUMBER_OF_CONFIG_RULES_EXCEEDED,
                        format!(
                            "account {account_id} already has {count} Config rules in this region, \
                             the most allowed ({}); delete one first",
                            self.limits.max_config_rules_per_account
                        ),
                    ));
                }
                let rule_id = format!("config-rule-{}", tributary_runtime::db::random_hex(4));
                rule.config_rule_arn = format!(
                    "arn:aws:config:{}:{account_id}:config-rule/{rule_id}",
                    self.region
                );
                rule.config_rule_id = rule_id;
                rule.created_time = Some(to_timestamp(change_tx.now()));
            }
        }
        rule.config_rule_state = pb::ConfigRuleState::Active as i32;
        let encoded = rule.encode_to_vec();
        let stamp = change_tx.append(
            &account_id,
            ChangeKind::ConfigRule,
            rule.config_rule_name.clone(),
            ChangeOp::Upsert,
            |_| encoded.clone(),
        );
        rules::Entity::insert(rules::ActiveModel {
            account_id: Set(account_id.clone()),
            name: Set(rule.config_rule_name.clone()),
            rule_id: Set(rule.config_rule_id.clone()),
            seq: Set(to_i64(stamp.seq)),
            version: Set(stamp.version.encode()),
            rule: Set(encoded),
        })
        .on_conflict(
            OnConflict::columns([rules::Column::AccountId, rules::Column::Name])
                .update_columns([
                    rules::Column::RuleId,
                    rules::Column::Seq,
                    rules::Column::Version,
                    rules::Column::Rule,
                ])
                .to_owned(),
        )
        .exec(change_tx.tx())
        .await?;
        change_tx.commit().await?;
        Ok(rule)
    }

    /// One page of the account's rules in name order, or the named ones (all must exist).
    pub async fn describe_rules(
        &self,
        caller: &Caller,
        query: NamedListing,
    ) -> Result<(Vec<pb::ConfigRule>, String)> {
        self.access.require_read(caller, &query.account_id).await?;
        let limit = page_size(query.page_size, NAMED_DEFAULT_PAGE, NAMED_MAX_PAGE)?;
        let scope = format!("DescribeConfigRules:{}:{:?}", query.account_id, query.names);
        let after: Option<String> = self.page_tokens.open(&scope, &query.page_token)?;
        let db = self.change_log.db();
        if !query.names.is_empty() {
            require_rules(db, &query.account_id, &query.names).await?;
        }
        let mut select = rules::Entity::find()
            .filter(rules::Column::AccountId.eq(query.account_id.as_str()))
            .order_by_asc(rules::Column::Name)
            .limit(u64::from(limit) + 1);
        if !query.names.is_empty() {
            select = select.filter(rules::Column::Name.is_in(query.names.clone()));
        }
        if let Some(after) = &after {
            select = select.filter(rules::Column::Name.gt(after.as_str()));
        }
        let mut rows = select.all(db).await?;
        let next_page_token = self.cut(&mut rows, limit, &scope, |row| row.name.clone());
        let rules = rows
            .iter()
            .map(|row| decode_rule(&row.rule))
            .collect::<Result<Vec<_>>>()?;
        Ok((rules, next_page_token))
    }

    /// Deletes a rule and its results, unless a conformance pack holds it.
    pub async fn delete_rule(&self, caller: &Caller, account_id: &str, name: &str) -> Result<u64> {
        inputs::validate_account_and_name(
            account_id,
            "config_rule_name",
            name,
            validate_rule_name,
        )?;
        self.access.require_write(caller, account_id)?;
        let mut change_tx = self.change_log.begin().await?;
        let row = find_rule(change_tx.tx(), account_id, name)
            .await?
            .ok_or_else(|| no_such_rules(&[name.to_string()]))?;
        let holder = pack_rules::Entity::find()
            .filter(pack_rules::Column::AccountId.eq(account_id))
            .filter(pack_rules::Column::ConfigRuleName.eq(name))
            .order_by_asc(pack_rules::Column::ConformancePackName)
            .one(change_tx.tx())
            .await?;
        if let Some(holder) = holder {
            return Err(Error::failed_precondition(
                reason::RESOURCE_IN_USE,
                format!(
                    "the Config rule {name:?} is part of the conformance pack {:?}; remove it from \
                     the pack (PutConformancePack) or delete the pack first",
                    holder.conformance_pack_name
                ),
            ));
        }
        let results: Vec<(String, String)> = evaluations::Entity::find()
            .select_only()
            .column(evaluations::Column::ResourceType)
            .column(evaluations::Column::ResourceId)
            .filter(evaluations::Column::AccountId.eq(account_id))
            .filter(evaluations::Column::ConfigRuleName.eq(name))
            .order_by_asc(evaluations::Column::ResourceType)
            .order_by_asc(evaluations::Column::ResourceId)
            .into_tuple()
            .all(change_tx.tx())
            .await?;
        for (resource_type, resource_id) in &results {
            change_tx.append(
                account_id,
                ChangeKind::Evaluation,
                evaluation_key(&row.rule_id, resource_type, resource_id),
                ChangeOp::Delete,
                |_| Vec::new(),
            );
        }
        change_tx.append(
            account_id,
            ChangeKind::ConfigRule,
            name.to_string(),
            ChangeOp::Delete,
            |_| Vec::new(),
        );
        evaluations::Entity::delete_many()
            .filter(evaluations::Column::AccountId.eq(account_id))
            .filter(evaluations::Column::ConfigRuleName.eq(name))
            .exec(change_tx.tx())
            .await?;
        rules::Entity::delete_many()
            .filter(rules::Column::AccountId.eq(account_id))
            .filter(rules::Column::Name.eq(name))
            .exec(change_tx.tx())
            .await?;
        change_tx.commit().await
    }

    /// Records evaluation results in one transaction; results older than the stored result of
    /// their (rule, resource) are returned instead of stored.
    pub async fn put_evaluations(
        &self,
        caller: &Caller,
        input: PutEvaluations,
    ) -> Result<PutEvaluationsOutcome> {
        self.access.require_write(caller, &input.account_id)?;
        let account_id = input.account_id;
        let mut change_tx = self.change_log.begin().await?;
        let mut names: Vec<String> = input
            .evaluations
            .iter()
            .map(|evaluation| evaluation.config_rule_name.clone())
            .collect();
        names.sort();
        names.dedup();
        let rule_ids = require_rules(change_tx.tx(), &account_id, &names).await?;
        let mut any_result = Condition::any();
        for evaluation in &input.evaluations {
            any_result = any_result.add(
                Condition::all()
                    .add(
                        evaluations::Column::ConfigRuleName
                            .eq(evaluation.config_rule_name.as_str()),
                    )
                    .add(evaluations::Column::ResourceType.eq(evaluation.resource_type.as_str()))
                    .add(evaluations::Column::ResourceId.eq(evaluation.resource_id.as_str())),
            );
        }
        let stored: HashMap<(String, String, String), i64> = evaluations::Entity::find()
            .select_only()
            .column(evaluations::Column::ConfigRuleName)
            .column(evaluations::Column::ResourceType)
            .column(evaluations::Column::ResourceId)
            .column(evaluations::Column::OrderingTimeMicros)
            .filter(evaluations::Column::AccountId.eq(account_id.as_str()))
            .filter(any_result)
            .into_tuple::<(String, String, String, i64)>()
            .all(change_tx.tx())
            .await?
            .into_iter()
            .map(|(rule, resource_type, resource_id, time)| {
                ((rule, resource_type, resource_id), time)
            })
            .collect();
        let now = to_timestamp(change_tx.now());
        let mut ignored = Vec::new();
        let mut rows = Vec::new();
        for (index, evaluation) in input.evaluations.into_iter().enumerate() {
            let ordering_micros = evaluation.ordering_time.timestamp_micros();
            let key = (
                evaluation.config_rule_name.clone(),
                evaluation.resource_type.clone(),
                evaluation.resource_id.clone(),
            );
            // An equal timestamp replaces the stored result: the later call is the newer word.
            if stored
                .get(&key)
                .is_some_and(|stored| *stored > ordering_micros)
            {
                ignored.push((index, evaluation.wire));
                continue;
            }
            let rule_id = rule_ids
                .get(&evaluation.config_rule_name)
                .cloned()
                .unwrap_or_default();
            let result = pb::EvaluationResult {
                config_rule_name: evaluation.config_rule_name.clone(),
                config_rule_id: rule_id.clone(),
                compliance_resource_type: evaluation.resource_type.clone(),
                compliance_resource_id: evaluation.resource_id.clone(),
                compliance_type: evaluation.compliance_type.to_proto() as i32,
                annotation: evaluation.annotation,
                ordering_timestamp: Some(to_timestamp(evaluation.ordering_time)),
                result_recorded_time: Some(now),
            };
            let encoded = result.encode_to_vec();
            let stamp = change_tx.append(
                &account_id,
                ChangeKind::Evaluation,
                evaluation_key(&rule_id, &evaluation.resource_type, &evaluation.resource_id),
                ChangeOp::Upsert,
                |_| encoded.clone(),
            );
            rows.push(evaluations::ActiveModel {
                account_id: Set(account_id.clone()),
                config_rule_name: Set(evaluation.config_rule_name),
                resource_type: Set(evaluation.resource_type),
                resource_id: Set(evaluation.resource_id),
                config_rule_id: Set(rule_id),
                compliance_type: Set(evaluation.compliance_type.as_str().to_string()),
                ordering_time_micros: Set(ordering_micros),
                seq: Set(to_i64(stamp.seq)),
                version: Set(stamp.version.encode()),
                result: Set(encoded),
            });
        }
        if !rows.is_empty() {
            evaluations::Entity::insert_many(rows)
                .on_conflict(
                    OnConflict::columns([
                        evaluations::Column::AccountId,
                        evaluations::Column::ConfigRuleName,
                        evaluations::Column::ResourceType,
                        evaluations::Column::ResourceId,
                    ])
                    .update_columns([
                        evaluations::Column::ConfigRuleId,
                        evaluations::Column::ComplianceType,
                        evaluations::Column::OrderingTimeMicros,
                        evaluations::Column::Seq,
                        evaluations::Column::Version,
                        evaluations::Column::Result,
                    ])
                    .to_owned(),
                )
                .exec(change_tx.tx())
                .await?;
        }
        let change_log_seq = change_tx.commit().await?;
        Ok(PutEvaluationsOutcome {
            ignored,
            change_log_seq,
        })
    }

    /// One page of rule compliance in rule name order (rules without counting results are
    /// INSUFFICIENT_DATA); the filter may leave a page short or empty.
    pub async fn compliance_by_rule(
        &self,
        caller: &Caller,
        query: RuleComplianceQuery,
    ) -> Result<(Vec<(String, Summary)>, String)> {
        self.access.require_read(caller, &query.account_id).await?;
        let limit = page_size(query.page_size, NAMED_DEFAULT_PAGE, NAMED_MAX_PAGE)?;
        let scope = format!(
            "DescribeComplianceByConfigRule:{}:{:?}:{:?}",
            query.account_id, query.names, query.compliance_types
        );
        let after: Option<String> = self.page_tokens.open(&scope, &query.page_token)?;
        let db = self.change_log.db();
        if !query.names.is_empty() {
            require_rules(db, &query.account_id, &query.names).await?;
        }
        let mut select = rules::Entity::find()
            .select_only()
            .column(rules::Column::Name)
            .filter(rules::Column::AccountId.eq(query.account_id.as_str()))
            .order_by_asc(rules::Column::Name)
            .limit(u64::from(limit) + 1);
        if !query.names.is_empty() {
            select = select.filter(rules::Column::Name.is_in(query.names.clone()));
        }
        if let Some(after) = &after {
            select = select.filter(rules::Column::Name.gt(after.as_str()));
        }
        let mut names: Vec<String> = select.into_tuple().all(db).await?;
        let next_page_token = self.cut(&mut names, limit, &scope, Clone::clone);
        let counts = rule_counts(db, &query.account_id, &names).await?;
        let summaries = names
            .into_iter()
            .map(|name| {
                let summary = summary::summarize(
                    counts.get(&name).copied().unwrap_or_default(),
                    summary::RESOURCE_CONTRIBUTOR_CAP,
                );
                (name, summary)
            })
            .filter(|(_, summary)| wanted(&query.compliance_types, summary.compliance_type))
            .collect();
        Ok((summaries, next_page_token))
    }

    /// One page of a rule's results in resource order.
    pub async fn rule_details(
        &self,
        caller: &Caller,
        query: RuleDetailsQuery,
    ) -> Result<(Vec<pb::EvaluationResult>, String)> {
        self.access.require_read(caller, &query.account_id).await?;
        let limit = page_size(query.page_size, DETAILS_DEFAULT_PAGE, DETAILS_MAX_PAGE)?;
        let scope = format!(
            "GetComplianceDetailsByConfigRule:{}:{}:{:?}",
            query.account_id, query.config_rule_name, query.compliance_types
        );
        let after: Option<(String, String)> = self.page_tokens.open(&scope, &query.page_token)?;
        let db = self.change_log.db();
        require_rules(
            db,
            &query.account_id,
            std::slice::from_ref(&query.config_rule_name),
        )
        .await?;
        let mut select = evaluations::Entity::find()
            .filter(evaluations::Column::AccountId.eq(query.account_id.as_str()))
            .filter(evaluations::Column::ConfigRuleName.eq(query.config_rule_name.as_str()))
            .order_by_asc(evaluations::Column::ResourceType)
            .order_by_asc(evaluations::Column::ResourceId)
            .limit(u64::from(limit) + 1);
        if !query.compliance_types.is_empty() {
            select = select.filter(
                evaluations::Column::ComplianceType
                    .is_in(query.compliance_types.iter().map(|kind| kind.as_str())),
            );
        }
        if let Some((resource_type, resource_id)) = &after {
            select = select.filter(after_resource(resource_type, resource_id));
        }
        let mut rows = select.all(db).await?;
        let next_page_token = self.cut(&mut rows, limit, &scope, |row| {
            (row.resource_type.clone(), row.resource_id.clone())
        });
        let results = rows
            .iter()
            .map(|row| decode_result(&row.result))
            .collect::<Result<Vec<_>>>()?;
        Ok((results, next_page_token))
    }

    /// One page of resource compliance in resource order; the filter may leave a page short or
    /// empty.
    pub async fn compliance_by_resource(
        &self,
        caller: &Caller,
        query: ResourceComplianceQuery,
    ) -> Result<(Vec<(String, String, Summary)>, String)> {
        self.access.require_read(caller, &query.account_id).await?;
        let limit = page_size(query.page_size, RESOURCES_DEFAULT_PAGE, RESOURCES_MAX_PAGE)?;
        let scope = format!(
            "DescribeComplianceByResource:{}:{}:{}:{:?}",
            query.account_id, query.resource_type, query.resource_id, query.compliance_types
        );
        let after: Option<(String, String)> = self.page_tokens.open(&scope, &query.page_token)?;
        let db = self.change_log.db();
        let scoped = |select: sea_orm::Select<evaluations::Entity>| {
            let mut select =
                select.filter(evaluations::Column::AccountId.eq(query.account_id.as_str()));
            if !query.resource_type.is_empty() {
                select = select
                    .filter(evaluations::Column::ResourceType.eq(query.resource_type.as_str()));
            }
            if !query.resource_id.is_empty() {
                select =
                    select.filter(evaluations::Column::ResourceId.eq(query.resource_id.as_str()));
            }
            select
        };
        let mut page = scoped(evaluations::Entity::find())
            .select_only()
            .column(evaluations::Column::ResourceType)
            .column(evaluations::Column::ResourceId)
            .group_by(evaluations::Column::ResourceType)
            .group_by(evaluations::Column::ResourceId)
            .order_by_asc(evaluations::Column::ResourceType)
            .order_by_asc(evaluations::Column::ResourceId)
            .limit(u64::from(limit) + 1);
        if let Some((resource_type, resource_id)) = &after {
            page = page.filter(after_resource(resource_type, resource_id));
        }
        let mut resources: Vec<(String, String)> = page.into_tuple().all(db).await?;
        let next_page_token = self.cut(&mut resources, limit, &scope, Clone::clone);
        let mut counts: HashMap<(String, String), ResultCounts> = HashMap::new();
        if !resources.is_empty() {
            let mut any_resource = Condition::any();
            for (resource_type, resource_id) in &resources {
                any_resource = any_resource.add(
                    Condition::all()
                        .add(evaluations::Column::ResourceType.eq(resource_type.as_str()))
                        .add(evaluations::Column::ResourceId.eq(resource_id.as_str())),
                );
            }
            let grouped: Vec<(String, String, String, i64)> = scoped(evaluations::Entity::find())
                .select_only()
                .column(evaluations::Column::ResourceType)
                .column(evaluations::Column::ResourceId)
                .column(evaluations::Column::ComplianceType)
                .column_as(evaluations::Column::ConfigRuleName.count(), "count")
                .filter(any_resource)
                .group_by(evaluations::Column::ResourceType)
                .group_by(evaluations::Column::ResourceId)
                .group_by(evaluations::Column::ComplianceType)
                .into_tuple()
                .all(db)
                .await?;
            for (resource_type, resource_id, compliance_type, count) in grouped {
                counts
                    .entry((resource_type, resource_id))
                    .or_default()
                    .add(parse_compliance(&compliance_type)?, to_u64(count));
            }
        }
        let summaries = resources
            .into_iter()
            .map(|key| {
                let summary = summary::summarize(
                    counts.get(&key).copied().unwrap_or_default(),
                    summary::RULE_CONTRIBUTOR_CAP,
                );
                (key.0, key.1, summary)
            })
            .filter(|(_, _, summary)| wanted(&query.compliance_types, summary.compliance_type))
            .collect();
        Ok((summaries, next_page_token))
    }

    /// Creates or replaces a conformance pack of existing rules; a replaced pack keeps its id and
    /// ARN.
    pub async fn put_pack(
        &self,
        caller: &Caller,
        input: PutConformancePack,
    ) -> Result<pb::ConformancePack> {
        self.access.require_write(caller, &input.account_id)?;
        let account_id = input.account_id;
        let mut change_tx = self.change_log.begin().await?;
        let mut sorted = input.rule_names.clone();
        sorted.sort();
        require_rules(change_tx.tx(), &account_id, &sorted).await?;
        let existing = packs::Entity::find()
            .filter(packs::Column::AccountId.eq(account_id.as_str()))
            .filter(packs::Column::Name.eq(input.name.as_str()))
            .one(change_tx.tx())
            .await?;
        let (pack_id, arn) = match existing {
            Some(row) => {
                let previous = decode_pack(&row.pack)?;
                (previous.conformance_pack_id, previous.conformance_pack_arn)
            }
            None => {
                let count = packs::Entity::find()
                    .filter(packs::Column::AccountId.eq(account_id.as_str()))
                    .count(change_tx.tx())
                    .await?;
                if count >= self.limits.max_conformance_packs_per_account {
                    return Err(Error::limit_exceeded(
                        reason::MAX_NUMBER_OF_CONFORMANCE_PACKS_EXCEEDED,
                        format!(
                            "account {account_id} already has {count} conformance packs in this \
                             region, the most allowed ({}); delete one first",
                            self.limits.max_conformance_packs_per_account
                        ),
                    ));
                }
                let random = tributary_runtime::db::random_hex(4);
                (
                    format!("conformance-pack-{random}"),
                    format!(
                        "arn:aws:config:{}:{account_id}:conformance-pack/{}-{random}",
                        self.region, input.name
                    ),
                )
            }
        };
        let pack = pb::ConformancePack {
            conformance_pack_name: input.name.clone(),
            conformance_pack_arn: arn,
            conformance_pack_id: pack_id.clone(),
            config_rule_names: input.rule_names,
            last_update_requested_time: Some(to_timestamp(change_tx.now())),
        };
        let encoded = pack.encode_to_vec();
        let stamp = change_tx.append(
            &account_id,
            ChangeKind::ConformancePack,
            input.name.clone(),
            ChangeOp::Upsert,
            |_| encoded.clone(),
        );
        packs::Entity::insert(packs::ActiveModel {
            account_id: Set(account_id.clone()),
            name: Set(input.name.clone()),
            pack_id: Set(pack_id),
            seq: Set(to_i64(stamp.seq)),
            version: Set(stamp.version.encode()),
            pack: Set(encoded),
        })
        .on_conflict(
            OnConflict::columns([packs::Column::AccountId, packs::Column::Name])
                .update_columns([
                    packs::Column::PackId,
                    packs::Column::Seq,
                    packs::Column::Version,
                    packs::Column::Pack,
                ])
                .to_owned(),
        )
        .exec(change_tx.tx())
        .await?;
        delete_pack_rules(&change_tx, &account_id, &input.name).await?;
        pack_rules::Entity::insert_many(sorted.into_iter().map(|rule_name| {
            pack_rules::ActiveModel {
                account_id: Set(account_id.clone()),
                conformance_pack_name: Set(input.name.clone()),
                config_rule_name: Set(rule_name),
            }
        }))
        .exec(change_tx.tx())
        .await?;
        change_tx.commit().await?;
        Ok(pack)
    }

    /// One page of the account's packs in name order, or the named ones (all must exist).
    pub async fn describe_packs(
        &self,
        caller: &Caller,
        query: NamedListing,
    ) -> Result<(Vec<pb::ConformancePack>, String)> {
        self.access.require_read(caller, &query.account_id).await?;
        let limit = page_size(query.page_size, NAMED_DEFAULT_PAGE, NAMED_MAX_PAGE)?;
        let scope = format!(
            "DescribeConformancePacks:{}:{:?}",
            query.account_id, query.names
        );
        let after: Option<String> = self.page_tokens.open(&scope, &query.page_token)?;
        let db = self.change_log.db();
        let mut select = packs::Entity::find()
            .filter(packs::Column::AccountId.eq(query.account_id.as_str()))
            .order_by_asc(packs::Column::Name);
        if !query.names.is_empty() {
            select = select.filter(packs::Column::Name.is_in(query.names.clone()));
            let found: Vec<String> = select
                .clone()
                .select_only()
                .column(packs::Column::Name)
                .into_tuple()
                .all(db)
                .await?;
            let missing: Vec<&String> = query
                .names
                .iter()
                .filter(|name| !found.contains(name))
                .collect();
            if !missing.is_empty() {
                return Err(no_such_pack(&format!("{missing:?}")));
            }
        }
        if let Some(after) = &after {
            select = select.filter(packs::Column::Name.gt(after.as_str()));
        }
        let mut rows = select.limit(u64::from(limit) + 1).all(db).await?;
        let next_page_token = self.cut(&mut rows, limit, &scope, |row| row.name.clone());
        let packs = rows
            .iter()
            .map(|row| decode_pack(&row.pack))
            .collect::<Result<Vec<_>>>()?;
        Ok((packs, next_page_token))
    }

    /// Deletes a pack; its rules stay.
    pub async fn delete_pack(&self, caller: &Caller, account_id: &str, name: &str) -> Result<u64> {
        inputs::validate_account_and_name(
            account_id,
            "conformance_pack_name",
            name,
            validate_pack_name,
        )?;
        self.access.require_write(caller, account_id)?;
        let mut change_tx = self.change_log.begin().await?;
        let deleted = packs::Entity::delete_many()
            .filter(packs::Column::AccountId.eq(account_id))
            .filter(packs::Column::Name.eq(name))
            .exec(change_tx.tx())
            .await?;
        if deleted.rows_affected == 0 {
            return Err(no_such_pack(&format!("{name:?}")));
        }
        delete_pack_rules(&change_tx, account_id, name).await?;
        change_tx.append(
            account_id,
            ChangeKind::ConformancePack,
            name.to_string(),
            ChangeOp::Delete,
            |_| Vec::new(),
        );
        change_tx.commit().await
    }

    /// One page of the compliance of a pack's rules and the whole pack's summary.
    pub async fn pack_compliance(
        &self,
        caller: &Caller,
        query: PackComplianceQuery,
    ) -> Result<PackCompliance> {
        self.access.require_read(caller, &query.account_id).await?;
        let limit = page_size(query.page_size, PACK_DEFAULT_PAGE, PACK_MAX_PAGE)?;
        let scope = format!(
            "DescribeConformancePackCompliance:{}:{}:{:?}:{:?}",
            query.account_id, query.name, query.rule_names, query.compliance_types
        );
        let after: Option<String> = self.page_tokens.open(&scope, &query.page_token)?;
        let db = self.change_log.db();
        let exists = packs::Entity::find()
            .filter(packs::Column::AccountId.eq(query.account_id.as_str()))
            .filter(packs::Column::Name.eq(query.name.as_str()))
            .count(db)
            .await?;
        if exists == 0 {
            return Err(no_such_pack(&format!("{:?}", query.name)));
        }
        // Every rule of the pack: at most 1,000, so the whole-pack summary is one grouped read.
        let all_rules: Vec<String> = pack_rules::Entity::find()
            .select_only()
            .column(pack_rules::Column::ConfigRuleName)
            .filter(pack_rules::Column::AccountId.eq(query.account_id.as_str()))
            .filter(pack_rules::Column::ConformancePackName.eq(query.name.as_str()))
            .order_by_asc(pack_rules::Column::ConfigRuleName)
            .into_tuple()
            .all(db)
            .await?;
        let outside: Vec<&String> = query
            .rule_names
            .iter()
            .filter(|name| all_rules.binary_search(name).is_err())
            .collect();
        if !outside.is_empty() {
            return Err(Error::not_found(
                reason::NO_SUCH_CONFIG_RULE_IN_CONFORMANCE_PACK,
                format!(
                    "the conformance pack {:?} has no Config rule named {outside:?}",
                    query.name
                ),
            ));
        }
        let counts = rule_counts(db, &query.account_id, &all_rules).await?;
        let summaries: BTreeMap<String, ComplianceType> = all_rules
            .into_iter()
            .map(|name| {
                let compliance_type = summary::summarize(
                    counts.get(&name).copied().unwrap_or_default(),
                    summary::RESOURCE_CONTRIBUTOR_CAP,
                )
                .compliance_type;
                (name, compliance_type)
            })
            .collect();
        let pack_summary = summary::summarize_pack(summaries.values().copied());
        let mut page: Vec<(String, ComplianceType)> = summaries
            .into_iter()
            .filter(|(name, _)| after.as_ref().is_none_or(|after| name > after))
            .filter(|(name, _)| query.rule_names.is_empty() || query.rule_names.contains(name))
            .take(usize::try_from(limit).unwrap_or(usize::MAX) + 1)
            .collect();
        let next_page_token = self.cut(&mut page, limit, &scope, |(name, _)| name.clone());
        page.retain(|(_, compliance_type)| wanted(&query.compliance_types, *compliance_type));
        Ok(PackCompliance {
            rules: page,
            summary: pack_summary,
            next_page_token,
        })
    }

    /// Cuts `rows` (read with one extra) to `limit` and issues the next page's token from the last
    /// kept row when there was more.
    fn cut<T, P: serde::Serialize>(
        &self,
        rows: &mut Vec<T>,
        limit: u32,
        scope: &str,
        position: impl Fn(&T) -> P,
    ) -> String {
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        let more = rows.len() > limit;
        rows.truncate(limit);
        match rows.last() {
            Some(last) if more => self.page_tokens.issue(scope, &position(last)),
            _ => String::new(),
        }
    }
}

/// Keyset condition: strictly after (`resource_type`, `resource_id`).
fn after_resource(resource_type: &str, resource_id: &str) -> Condition {
    keyset_after(vec![
        (
            evaluations::Column::ResourceType,
            resource_type.into(),
            Direction::Ascending,
        ),
        (
            evaluations::Column::ResourceId,
            resource_id.into(),
            Direction::Ascending,
        ),
    ])
}

fn wanted(filter: &[ComplianceType], compliance_type: ComplianceType) -> bool {
    filter.is_empty() || filter.contains(&compliance_type)
}

/// The result counts per rule of `names`, one grouped read.
async fn rule_counts(
    connection: &impl ConnectionTrait,
    account_id: &str,
    names: &[String],
) -> Result<HashMap<String, ResultCounts>> {
    let mut counts: HashMap<String, ResultCounts> = HashMap::new();
    if names.is_empty() {
        return Ok(counts);
    }
    let grouped: Vec<(String, String, i64)> = evaluations::Entity::find()
        .select_only()
        .column(evaluations::Column::ConfigRuleName)
        .column(evaluations::Column::ComplianceType)
        .column_as(evaluations::Column::ResourceId.count(), "count")
        .filter(evaluations::Column::AccountId.eq(account_id))
        .filter(evaluations::Column::ConfigRuleName.is_in(names.iter().map(String::as_str)))
        .group_by(evaluations::Column::ConfigRuleName)
        .group_by(evaluations::Column::ComplianceType)
        .into_tuple()
        .all(connection)
        .await?;
    for (name, compliance_type, count) in grouped {
        counts
            .entry(name)
            .or_default()
            .add(parse_compliance(&compliance_type)?, to_u64(count));
    }
    Ok(counts)
}

/// The ids of the named rules; `NoSuchConfigRuleException` naming every missing one.
async fn require_rules(
    connection: &impl ConnectionTrait,
    account_id: &str,
    names: &[String],
) -> Result<HashMap<String, String>> {
    let found: HashMap<String, String> = rules::Entity::find()
        .select_only()
        .column(rules::Column::Name)
        .column(rules::Column::RuleId)
        .filter(rules::Column::AccountId.eq(account_id))
        .filter(rules::Column::Name.is_in(names.iter().map(String::as_str)))
        .into_tuple::<(String, String)>()
        .all(connection)
        .await?
        .into_iter()
        .collect();
    let missing: Vec<String> = names
        .iter()
        .filter(|name| !found.contains_key(*name))
        .cloned()
        .collect();
    if missing.is_empty() {
        Ok(found)
    } else {
        Err(no_such_rules(&missing))
    }
}

async fn find_rule(
    connection: &impl ConnectionTrait,
    account_id: &str,
    name: &str,
) -> Result<Option<rules::Model>> {
    Ok(rules::Entity::find()
        .filter(rules::Column::AccountId.eq(account_id))
        .filter(rules::Column::Name.eq(name))
        .one(connection)
        .await?)
}

async fn delete_pack_rules(change_tx: &ChangeTx, account_id: &str, name: &str) -> Result<()> {
    pack_rules::Entity::delete_many()
        .filter(pack_rules::Column::AccountId.eq(account_id))
        .filter(pack_rules::Column::ConformancePackName.eq(name))
        .exec(change_tx.tx())
        .await?;
    Ok(())
}

fn no_such_rules(names: &[String]) -> Error {
    let shown: Vec<String> = names
        .iter()
        .map(|name| tributary_runtime::ids::truncate_for_message(name))
        .collect();
    Error::not_found(
        reason::NO_SUCH_CONFIG_RULE,
        format!(
            "no Config rule named {shown:?} exists in this account and region; create it with \
             PutConfigRule"
        ),
    )
}

fn no_such_pack(names: &str) -> Error {
    Error::not_found(
        reason::NO_SUCH_CONFORMANCE_PACK,
        format!(
            "no conformance pack named {names} exists in this account and region; create it with \
             PutConformancePack"
        ),
    )
}

fn parse_compliance(stored: &str) -> Result<ComplianceType> {
    ComplianceType::parse(stored)
        .ok_or_else(|| Error::Corrupt(format!("unknown compliance type {stored:?}")))
}

fn decode_rule(bytes: &[u8]) -> Result<pb::ConfigRule> {
    pb::ConfigRule::decode(bytes).map_err(|error| Error::Corrupt(format!("stored rule: {error}")))
}

fn decode_pack(bytes: &[u8]) -> Result<pb::ConformancePack> {
    pb::ConformancePack::decode(bytes)
        .map_err(|error| Error::Corrupt(format!("stored conformance pack: {error}")))
}

fn decode_result(bytes: &[u8]) -> Result<pb::EvaluationResult> {
    pb::EvaluationResult::decode(bytes)
        .map_err(|error| Error::Corrupt(format!("stored evaluation result: {error}")))
}

fn decode_version(stored: &str) -> Result<Version> {
    Version::decode(stored).ok_or_else(|| Error::Corrupt(format!("bad version {stored:?}")))
}

/// A snapshot position within one compliance kind: the last key read.
pub type SnapshotCursor = Vec<String>;

/// Reads up to `limit` current records of one compliance `kind` (rules, results or packs) of
/// `account_ids` (all when empty) after `after`, in key order, for a change-log snapshot. Returns
/// the records and the cursor of the next read, if there may be more.
pub(crate) async fn snapshot_page(
    connection: &impl ConnectionTrait,
    kind: ChangeKind,
    account_ids: &[String],
    after: Option<SnapshotCursor>,
    limit: u64,
) -> Result<(Vec<ChangeRecord>, Option<SnapshotCursor>)> {
    let after = after.unwrap_or_default();
    let full = |count: usize| u64::try_from(count).unwrap_or(u64::MAX) >= limit;
    match kind {
        ChangeKind::ConfigRule => {
            let mut select = rules::Entity::find()
                .order_by_asc(rules::Column::AccountId)
                .order_by_asc(rules::Column::Name)
                .limit(limit);
            if !account_ids.is_empty() {
                select = select.filter(rules::Column::AccountId.is_in(account_ids.to_vec()));
            }
            if let [account_id, name] = after.as_slice() {
                select = select.filter(keyset_after(vec![
                    (
                        rules::Column::AccountId,
                        account_id.as_str().into(),
                        Direction::Ascending,
                    ),
                    (
                        rules::Column::Name,
                        name.as_str().into(),
                        Direction::Ascending,
                    ),
                ]));
            }
            let rows = select.all(connection).await?;
            let next = match rows.last() {
                Some(last) if full(rows.len()) => {
                    Some(vec![last.account_id.clone(), last.name.clone()])
                }
                _ => None,
            };
            let records = rows
                .into_iter()
                .map(|row| {
                    Ok(ChangeRecord {
                        seq: to_u64(row.seq),
                        kind,
                        key: row.name,
                        version: decode_version(&row.version)?,
                        op: ChangeOp::Upsert,
                        payload: row.rule,
                        committed_at: None,
                        account_id: row.account_id,
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            Ok((records, next))
        }
        ChangeKind::ConformancePack => {
            let mut select = packs::Entity::find()
                .order_by_asc(packs::Column::AccountId)
                .order_by_asc(packs::Column::Name)
                .limit(limit);
            if !account_ids.is_empty() {
                select = select.filter(packs::Column::AccountId.is_in(account_ids.to_vec()));
            }
            if let [account_id, name] = after.as_slice() {
                select = select.filter(keyset_after(vec![
                    (
                        packs::Column::AccountId,
                        account_id.as_str().into(),
                        Direction::Ascending,
                    ),
                    (
                        packs::Column::Name,
                        name.as_str().into(),
                        Direction::Ascending,
                    ),
                ]));
            }
            let rows = select.all(connection).await?;
            let next = match rows.last() {
                Some(last) if full(rows.len()) => {
                    Some(vec![last.account_id.clone(), last.name.clone()])
                }
                _ => None,
            };
            let records = rows
                .into_iter()
                .map(|row| {
                    Ok(ChangeRecord {
                        seq: to_u64(row.seq),
                        kind,
                        key: row.name,
                        version: decode_version(&row.version)?,
                        op: ChangeOp::Upsert,
                        payload: row.pack,
                        committed_at: None,
                        account_id: row.account_id,
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            Ok((records, next))
        }
        ChangeKind::Evaluation => {
            let mut select = evaluations::Entity::find()
                .order_by_asc(evaluations::Column::AccountId)
                .order_by_asc(evaluations::Column::ConfigRuleName)
                .order_by_asc(evaluations::Column::ResourceType)
                .order_by_asc(evaluations::Column::ResourceId)
                .limit(limit);
            if !account_ids.is_empty() {
                select = select.filter(evaluations::Column::AccountId.is_in(account_ids.to_vec()));
            }
            if let [account_id, rule, resource_type, resource_id] = after.as_slice() {
                select = select.filter(keyset_after(vec![
                    (
                        evaluations::Column::AccountId,
                        account_id.as_str().into(),
                        Direction::Ascending,
                    ),
                    (
                        evaluations::Column::ConfigRuleName,
                        rule.as_str().into(),
                        Direction::Ascending,
                    ),
                    (
                        evaluations::Column::ResourceType,
                        resource_type.as_str().into(),
                        Direction::Ascending,
                    ),
                    (
                        evaluations::Column::ResourceId,
                        resource_id.as_str().into(),
                        Direction::Ascending,
                    ),
                ]));
            }
            let rows = select.all(connection).await?;
            let next = match rows.last() {
                Some(last) if full(rows.len()) => Some(vec![
                    last.account_id.clone(),
                    last.config_rule_name.clone(),
                    last.resource_type.clone(),
                    last.resource_id.clone(),
                ]),
                _ => None,
            };
            let records = rows
                .into_iter()
                .map(|row| {
                    Ok(ChangeRecord {
                        seq: to_u64(row.seq),
                        kind,
                        key: evaluation_key(
                            &row.config_rule_id,
                            &row.resource_type,
                            &row.resource_id,
                        ),
                        version: decode_version(&row.version)?,
                        op: ChangeOp::Upsert,
                        payload: row.result,
                        committed_at: None,
                        account_id: row.account_id,
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            Ok((records, next))
        }
        ChangeKind::ConfigurationItem
        | ChangeKind::ConfigurationRecorder
        | ChangeKind::Finding
        | ChangeKind::ControlStatus
        | ChangeKind::Insight => Ok((Vec::new(), None)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evaluation_keys_fit_the_change_log_key_column() {
        let key = evaluation_key(
            "config-rule-abcd1234",
            &format!("{}::{}::{}", "A".repeat(64), "B".repeat(64), "C".repeat(64)),
            &"r".repeat(768),
        );
        assert!(key.chars().count() <= 1024, "{}", key.len());
    }
}
