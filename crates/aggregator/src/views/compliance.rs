//! The aggregated compliance views: rule compliance per source, a rule's results in one source,
//! rule counts per group, conformance pack compliance per source and pack counts per group. The
//! summary rules are the collector's ([`tributary_runtime::compliance`], spec §4.8), applied to
//! counts grouped in SQL.

use std::collections::{BTreeMap, HashMap};

use prost::Message;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    QueryTrait,
    sea_query::{Alias, Expr, ExprTrait, Func, Order, Query},
};
use tributary_proto::{aggregator::v1 as pb, collector::v1 as collector_pb};
use tributary_runtime::{
    compliance::{
        ComplianceType, PackSummary, RESOURCE_CONTRIBUTOR_CAP, RULE_CONTRIBUTOR_CAP, ResultCounts,
        contributor_count, summarize, summarize_pack,
    },
    paging::{Direction, keyset_after, page_size},
    time::to_timestamp,
};

use super::{
    AggregateViews, GroupBy, PackComplianceQuery, RuleComplianceQuery, RuleDetailsQuery,
    SummaryQuery, entitled, included_types,
};
use crate::{
    config_aggregators::{AggregatorScope, cut},
    error::{Error, Result},
    store::{aggregate_conformance_packs as packs, aggregate_evaluations as evaluations},
};

/// Page sizes (AWS `Limit` and `GroupByAPILimit`).
const RULES_DEFAULT: u32 = 1000;
const RULES_MAX: u32 = 1000;
const DETAILS_DEFAULT: u32 = 50;
const DETAILS_MAX: u32 = 100;
const RULE_SUMMARY_DEFAULT: u32 = 1000;
const RULE_SUMMARY_MAX: u32 = 1000;
const PACKS_DEFAULT: u32 = 100;
const PACKS_MAX: u32 = 100;
const PACK_SUMMARY_DEFAULT: u32 = 100;
const PACK_SUMMARY_MAX: u32 = 100;
/// Packs summarised per read when counting a whole group.
const PACK_CHUNK: u64 = 200;
/// Bound values per rule-count read, far below both backends' limits.
const MAX_BOUND_VALUES: usize = 900;

/// `COUNT(CASE WHEN compliance_type = kind THEN 1 END)` over evaluations.
fn count_of(kind: ComplianceType) -> Expr {
    Func::count(Expr::case(
        Expr::col((evaluations::Entity, evaluations::Column::ComplianceType)).eq(kind.as_str()),
        Expr::cust("1"),
    ))
    .into()
}

/// The rule summary of one (rule, account, region) from its result counts.
fn rule_summary(non_compliant: i64, compliant: i64) -> tributary_runtime::compliance::Summary {
    summarize(
        ResultCounts {
            compliant: u64::try_from(compliant).unwrap_or(0),
            non_compliant: u64::try_from(non_compliant).unwrap_or(0),
            ..ResultCounts::default()
        },
        RESOURCE_CONTRIBUTOR_CAP,
    )
}

/// Evaluations of the aggregator's entitled pairs and included types.
fn scoped_evaluations(scope: &AggregatorScope) -> sea_orm::Select<evaluations::Entity> {
    let mut select = evaluations::Entity::find().filter(entitled::<evaluations::Entity>(
        scope,
        evaluations::Column::AccountId,
        evaluations::Column::Region,
    ));
    if let Some(types) =
        included_types::<evaluations::Entity>(scope, evaluations::Column::ResourceType)
    {
        select = select.filter(types);
    }
    select
}

/// Conformance packs of the aggregator's entitled pairs.
fn scoped_packs(scope: &AggregatorScope) -> sea_orm::Select<packs::Entity> {
    packs::Entity::find().filter(entitled::<packs::Entity>(
        scope,
        packs::Column::AccountId,
        packs::Column::Region,
    ))
}

impl AggregateViews {
    /// One page of rule compliance per (rule, account, region), ordered that way.
    pub async fn compliance_by_config_rules(
        &self,
        scope: &AggregatorScope,
        query: &RuleComplianceQuery,
    ) -> Result<(Vec<pb::AggregateComplianceByConfigRule>, String)> {
        let limit = page_size(query.paging.page_size, RULES_DEFAULT, RULES_MAX)?;
        let token_scope = format!(
            "DescribeAggregateComplianceByConfigRules:{:?}:{:?}:{}:{}:{}",
            scope.key,
            query.compliance_type,
            query.config_rule_name,
            query.account_id,
            query.aws_region
        );
        let after: Option<(String, String, String)> = self
            .page_tokens
            .open(&token_scope, &query.paging.page_token)?;
        let non_compliant = count_of(ComplianceType::NonCompliant);
        let compliant = count_of(ComplianceType::Compliant);
        let mut select = scoped_evaluations(scope)
            .select_only()
            .column(evaluations::Column::ConfigRuleName)
            .column(evaluations::Column::AccountId)
            .column(evaluations::Column::Region)
            .expr_as(non_compliant.clone(), "non_compliant")
            .expr_as(compliant.clone(), "compliant")
            .group_by(evaluations::Column::ConfigRuleName)
            .group_by(evaluations::Column::AccountId)
            .group_by(evaluations::Column::Region)
            .order_by_asc(evaluations::Column::ConfigRuleName)
            .order_by_asc(evaluations::Column::AccountId)
            .order_by_asc(evaluations::Column::Region)
            .limit(u64::from(limit) + 1);
        if !query.config_rule_name.is_empty() {
            select = select
                .filter(evaluations::Column::ConfigRuleName.eq(query.config_rule_name.as_str()));
        }
        if !query.account_id.is_empty() {
            select = select.filter(evaluations::Column::AccountId.eq(query.account_id.as_str()));
        }
        if !query.aws_region.is_empty() {
            select = select.filter(evaluations::Column::Region.eq(query.aws_region.as_str()));
        }
        match query.compliance_type {
            Some(ComplianceType::NonCompliant) => {
                select = select.having(non_compliant.gt(0));
            }
            Some(_) => {
                select = select.having(non_compliant.eq(0).and(compliant.gt(0)));
            }
            None => {}
        }
        if let Some((rule, account_id, region)) = &after {
            select = select.filter(keyset_after(vec![
                (
                    evaluations::Column::ConfigRuleName,
                    rule.as_str().into(),
                    Direction::Ascending,
                ),
                (
                    evaluations::Column::AccountId,
                    account_id.as_str().into(),
                    Direction::Ascending,
                ),
                (
                    evaluations::Column::Region,
                    region.as_str().into(),
                    Direction::Ascending,
                ),
            ]));
        }
        let mut rows: Vec<(String, String, String, i64, i64)> =
            select.into_tuple().all(&self.db).await?;
        let next = cut(&self.page_tokens, &mut rows, limit, &token_scope, |row| {
            (row.0.clone(), row.1.clone(), row.2.clone())
        });
        Ok((
            rows.into_iter()
                .map(
                    |(config_rule_name, account_id, aws_region, non_compliant, compliant)| {
                        pb::AggregateComplianceByConfigRule {
                            config_rule_name,
                            compliance: Some(rule_summary(non_compliant, compliant).to_proto()),
                            account_id,
                            aws_region,
                        }
                    },
                )
                .collect(),
            next,
        ))
    }

    /// One page of a rule's COMPLIANT and NON_COMPLIANT results in one source, in (resource type,
    /// resource id) order.
    pub async fn compliance_details_by_config_rule(
        &self,
        scope: &AggregatorScope,
        query: &RuleDetailsQuery,
    ) -> Result<(Vec<pb::AggregateEvaluationResult>, String)> {
        let limit = page_size(query.paging.page_size, DETAILS_DEFAULT, DETAILS_MAX)?;
        let token_scope = format!(
            "GetAggregateComplianceDetailsByConfigRule:{:?}:{}:{}:{}:{:?}",
            scope.key,
            query.config_rule_name,
            query.account_id,
            query.aws_region,
            query.compliance_type
        );
        let after: Option<(String, String)> = self
            .page_tokens
            .open(&token_scope, &query.paging.page_token)?;
        let wanted: Vec<&str> = match query.compliance_type {
            Some(kind) => vec![kind.as_str()],
            None => vec![
                ComplianceType::Compliant.as_str(),
                ComplianceType::NonCompliant.as_str(),
            ],
        };
        let mut select = scoped_evaluations(scope)
            .filter(evaluations::Column::AccountId.eq(query.account_id.as_str()))
            .filter(evaluations::Column::Region.eq(query.aws_region.as_str()))
            .filter(evaluations::Column::ConfigRuleName.eq(query.config_rule_name.as_str()))
            .filter(evaluations::Column::ComplianceType.is_in(wanted))
            .order_by_asc(evaluations::Column::ResourceType)
            .order_by_asc(evaluations::Column::ResourceId)
            .limit(u64::from(limit) + 1);
        if let Some((resource_type, resource_id)) = &after {
            select = select.filter(keyset_after(vec![
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
        let mut rows = select.all(&self.db).await?;
        let next = cut(&self.page_tokens, &mut rows, limit, &token_scope, |row| {
            (row.resource_type.clone(), row.resource_id.clone())
        });
        let results = rows
            .into_iter()
            .map(|row| {
                let result = collector_pb::EvaluationResult::decode(row.result.as_slice())
                    .map_err(|error| {
                        Error::Corrupt(format!("stored evaluation result: {error}"))
                    })?;
                Ok(pb::AggregateEvaluationResult {
                    evaluation_result_identifier: Some(pb::EvaluationResultIdentifier {
                        evaluation_result_qualifier: Some(pb::EvaluationResultQualifier {
                            config_rule_name: row.config_rule_name,
                            resource_type: row.resource_type,
                            resource_id: row.resource_id,
                            evaluation_mode: pb::EvaluationMode::Detective as i32,
                        }),
                        ordering_timestamp: result.ordering_timestamp,
                        resource_evaluation_id: String::new(),
                    }),
                    compliance_type: ComplianceType::parse(&row.compliance_type)
                        .map(|kind| kind.to_proto() as i32)
                        .unwrap_or_default(),
                    result_recorded_time: result.result_recorded_time,
                    config_rule_invoked_time: result.ordering_timestamp,
                    annotation: result.annotation,
                    account_id: row.account_id,
                    aws_region: row.region,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok((results, next))
    }

    /// Compliant and non-compliant rule counts per group (rule rows counted once per account and
    /// region), in group name order.
    pub async fn config_rule_compliance_summary(
        &self,
        scope: &AggregatorScope,
        query: &SummaryQuery,
    ) -> Result<(Vec<pb::AggregateComplianceCount>, String)> {
        let limit = page_size(
            query.paging.page_size,
            RULE_SUMMARY_DEFAULT,
            RULE_SUMMARY_MAX,
        )?;
        let token_scope = format!(
            "GetAggregateConfigRuleComplianceSummary:{:?}:{}:{}:{:?}",
            scope.key, query.account_id, query.aws_region, query.group_by
        );
        let after: Option<String> = self
            .page_tokens
            .open(&token_scope, &query.paging.page_token)?;
        let mut rule_rows = scoped_evaluations(scope)
            .select_only()
            .column(evaluations::Column::AccountId)
            .column(evaluations::Column::Region)
            .column(evaluations::Column::ConfigRuleName)
            .expr_as(count_of(ComplianceType::NonCompliant), "non_compliant")
            .expr_as(count_of(ComplianceType::Compliant), "compliant")
            .group_by(evaluations::Column::AccountId)
            .group_by(evaluations::Column::Region)
            .group_by(evaluations::Column::ConfigRuleName);
        if !query.account_id.is_empty() {
            rule_rows =
                rule_rows.filter(evaluations::Column::AccountId.eq(query.account_id.as_str()));
        }
        if !query.aws_region.is_empty() {
            rule_rows = rule_rows.filter(evaluations::Column::Region.eq(query.aws_region.as_str()));
        }
        let rows_alias = Alias::new("rule_rows");
        let inner_column = |name: &str| Expr::col((rows_alias.clone(), Alias::new(name)));
        let mut outer = Query::select();
        outer
            .from_subquery(rule_rows.into_query(), rows_alias.clone())
            .expr_as(
                Func::count(Expr::case(
                    inner_column("non_compliant").gt(0),
                    Expr::cust("1"),
                )),
                Alias::new("non_compliant_rules"),
            )
            .expr_as(
                Func::count(Expr::case(
                    inner_column("non_compliant")
                        .eq(0)
                        .and(inner_column("compliant").gt(0)),
                    Expr::cust("1"),
                )),
                Alias::new("compliant_rules"),
            );
        let group_column = match query.group_by {
            GroupBy::Account => Some(inner_column("account_id")),
            GroupBy::Region => Some(inner_column("region")),
            GroupBy::Nothing | GroupBy::ResourceType => None,
        };
        if let Some(group) = &group_column {
            outer
                .expr_as(group.clone(), Alias::new("group_name"))
                .add_group_by([group.clone()])
                .order_by_expr(group.clone(), Order::Asc)
                .limit(u64::from(limit) + 1);
            if let Some(after) = &after {
                outer.and_where(group.clone().gt(after.as_str()));
            }
        }
        let mut groups: Vec<(String, i64, i64)> = Vec::new();
        if group_column.is_none() && after.is_some() {
            // The single group was already returned.
            return Ok((Vec::new(), String::new()));
        }
        for row in self.db.query_all(&outer).await? {
            let group_name = if group_column.is_some() {
                row.try_get::<String>("", "group_name")?
            } else {
                String::new()
            };
            groups.push((
                group_name,
                row.try_get::<i64>("", "compliant_rules")?,
                row.try_get::<i64>("", "non_compliant_rules")?,
            ));
        }
        let next = cut(
            &self.page_tokens,
            &mut groups,
            limit,
            &token_scope,
            |group| group.0.clone(),
        );
        let now = to_timestamp(tributary_runtime::time::now());
        let count = |value: i64| {
            let counted =
                contributor_count(u64::try_from(value).unwrap_or(0), RULE_CONTRIBUTOR_CAP);
            collector_pb::ComplianceContributorCount {
                capped_count: i32::try_from(counted.capped_count).unwrap_or(i32::MAX),
                cap_exceeded: counted.cap_exceeded,
            }
        };
        Ok((
            groups
                .into_iter()
                .map(
                    |(group_name, compliant, non_compliant)| pb::AggregateComplianceCount {
                        group_name,
                        compliance_summary: Some(pb::ComplianceSummary {
                            compliant_resource_count: Some(count(compliant)),
                            non_compliant_resource_count: Some(count(non_compliant)),
                            compliance_summary_timestamp: Some(now),
                        }),
                    },
                )
                .collect(),
            next,
        ))
    }

    /// One page of conformance pack compliance per (account, region, pack), ordered that way; a
    /// compliance filter may leave a page short.
    pub async fn compliance_by_conformance_packs(
        &self,
        scope: &AggregatorScope,
        query: &PackComplianceQuery,
    ) -> Result<(Vec<pb::AggregateComplianceByConformancePack>, String)> {
        let limit = page_size(query.paging.page_size, PACKS_DEFAULT, PACKS_MAX)?;
        let token_scope = format!(
            "DescribeAggregateComplianceByConformancePacks:{:?}:{}:{:?}:{}:{}",
            scope.key,
            query.conformance_pack_name,
            query.compliance_type,
            query.account_id,
            query.aws_region
        );
        let after: Option<(String, String, String)> = self
            .page_tokens
            .open(&token_scope, &query.paging.page_token)?;
        let mut select = scoped_packs(scope).limit(u64::from(limit) + 1);
        if !query.conformance_pack_name.is_empty() {
            select = select.filter(packs::Column::Name.eq(query.conformance_pack_name.as_str()));
        }
        if !query.account_id.is_empty() {
            select = select.filter(packs::Column::AccountId.eq(query.account_id.as_str()));
        }
        if !query.aws_region.is_empty() {
            select = select.filter(packs::Column::Region.eq(query.aws_region.as_str()));
        }
        let mut rows = pack_page(select, after.as_ref()).all(&self.db).await?;
        let next = cut(
            &self.page_tokens,
            &mut rows,
            limit,
            &token_scope,
            pack_position,
        );
        let summaries = pack_summaries(&self.db, scope, &rows).await?;
        Ok((
            rows.into_iter()
                .zip(summaries)
                .filter(|(_, summary)| {
                    query
                        .compliance_type
                        .is_none_or(|wanted| wanted == summary.compliance_type)
                })
                .map(|(row, summary)| pb::AggregateComplianceByConformancePack {
                    conformance_pack_name: row.name,
                    compliance: Some(summary.to_proto()),
                    account_id: row.account_id,
                    aws_region: row.region,
                })
                .collect(),
            next,
        ))
    }

    /// Compliant and non-compliant pack counts per group, in group name order.
    pub async fn conformance_pack_compliance_summary(
        &self,
        scope: &AggregatorScope,
        query: &SummaryQuery,
    ) -> Result<(Vec<pb::AggregateConformancePackComplianceSummary>, String)> {
        let limit = page_size(
            query.paging.page_size,
            PACK_SUMMARY_DEFAULT,
            PACK_SUMMARY_MAX,
        )?;
        let token_scope = format!(
            "GetAggregateConformancePackComplianceSummary:{:?}:{}:{}:{:?}",
            scope.key, query.account_id, query.aws_region, query.group_by
        );
        let after: Option<String> = self
            .page_tokens
            .open(&token_scope, &query.paging.page_token)?;
        let filtered = || {
            let mut select = scoped_packs(scope);
            if !query.account_id.is_empty() {
                select = select.filter(packs::Column::AccountId.eq(query.account_id.as_str()));
            }
            if !query.aws_region.is_empty() {
                select = select.filter(packs::Column::Region.eq(query.aws_region.as_str()));
            }
            select
        };
        let group_column = match query.group_by {
            GroupBy::Account => Some(packs::Column::AccountId),
            GroupBy::Region => Some(packs::Column::Region),
            GroupBy::Nothing | GroupBy::ResourceType => None,
        };
        let mut group_names: Vec<String> = match group_column {
            Some(column) => {
                let mut select = filtered()
                    .select_only()
                    .column(column)
                    .group_by(column)
                    .order_by_asc(column)
                    .limit(u64::from(limit) + 1);
                if let Some(after) = &after {
                    select = select.filter(column.gt(after.as_str()));
                }
                select.into_tuple().all(&self.db).await?
            }
            None if after.is_some() => Vec::new(),
            None => vec![String::new()],
        };
        let next = cut(
            &self.page_tokens,
            &mut group_names,
            limit,
            &token_scope,
            Clone::clone,
        );
        let mut groups = Vec::with_capacity(group_names.len());
        for group_name in group_names {
            let mut in_group = filtered();
            if let Some(column) = group_column {
                in_group = in_group.filter(column.eq(group_name.as_str()));
            }
            // Whole groups can be large: summarise their packs a chunk at a time.
            let (mut compliant, mut non_compliant) = (0_i64, 0_i64);
            let mut position: Option<(String, String, String)> = None;
            loop {
                let chunk = pack_page(in_group.clone(), position.as_ref())
                    .limit(PACK_CHUNK)
                    .all(&self.db)
                    .await?;
                let Some(last) = chunk.last() else { break };
                position = Some(pack_position(last));
                for summary in pack_summaries(&self.db, scope, &chunk).await? {
                    match summary.compliance_type {
                        ComplianceType::Compliant => compliant += 1,
                        ComplianceType::NonCompliant => non_compliant += 1,
                        ComplianceType::NotApplicable | ComplianceType::InsufficientData => {}
                    }
                }
                if u64::try_from(chunk.len()).unwrap_or(0) < PACK_CHUNK {
                    break;
                }
            }
            groups.push(pb::AggregateConformancePackComplianceSummary {
                compliance_summary: Some(pb::ConformancePackComplianceCount {
                    compliant_conformance_pack_count: i32::try_from(compliant).unwrap_or(i32::MAX),
                    non_compliant_conformance_pack_count: i32::try_from(non_compliant)
                        .unwrap_or(i32::MAX),
                }),
                group_name,
            });
        }
        Ok((groups, next))
    }
}

/// Orders packs by (account, region, name) and starts after `position`.
fn pack_page(
    select: sea_orm::Select<packs::Entity>,
    position: Option<&(String, String, String)>,
) -> sea_orm::Select<packs::Entity> {
    let mut select = select
        .order_by_asc(packs::Column::AccountId)
        .order_by_asc(packs::Column::Region)
        .order_by_asc(packs::Column::Name);
    if let Some((account_id, region, name)) = position {
        select = select.filter(keyset_after(vec![
            (
                packs::Column::AccountId,
                account_id.as_str().into(),
                Direction::Ascending,
            ),
            (
                packs::Column::Region,
                region.as_str().into(),
                Direction::Ascending,
            ),
            (
                packs::Column::Name,
                name.as_str().into(),
                Direction::Ascending,
            ),
        ]));
    }
    select
}

fn pack_position(row: &packs::Model) -> (String, String, String) {
    (row.account_id.clone(), row.region.clone(), row.name.clone())
}

/// The compliance of each pack of `rows` (in order) from the summaries of its rules in its own
/// account and region; a rule without counting results is INSUFFICIENT_DATA.
async fn pack_summaries(
    db: &impl ConnectionTrait,
    scope: &AggregatorScope,
    rows: &[packs::Model],
) -> Result<Vec<PackSummary>> {
    let decoded = rows
        .iter()
        .map(|row| {
            collector_pb::ConformancePack::decode(row.pack.as_slice())
                .map_err(|error| Error::Corrupt(format!("stored conformance pack: {error}")))
        })
        .collect::<Result<Vec<_>>>()?;
    let mut wanted: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for (row, pack) in rows.iter().zip(&decoded) {
        wanted
            .entry((row.account_id.clone(), row.region.clone()))
            .or_default()
            .extend(pack.config_rule_names.iter().cloned());
    }
    let mut counts: HashMap<(String, String, String), (i64, i64)> = HashMap::new();
    let mut batch = Condition::any();
    let mut bound = 0;
    let mut batches = Vec::new();
    for ((account_id, region), mut names) in wanted {
        names.sort();
        names.dedup();
        for chunk in names.chunks(MAX_BOUND_VALUES / 2) {
            if bound + chunk.len() + 2 > MAX_BOUND_VALUES {
                batches.push(std::mem::replace(&mut batch, Condition::any()));
                bound = 0;
            }
            bound += chunk.len() + 2;
            batch = batch.add(
                Condition::all()
                    .add(evaluations::Column::AccountId.eq(account_id.as_str()))
                    .add(evaluations::Column::Region.eq(region.as_str()))
                    .add(
                        evaluations::Column::ConfigRuleName.is_in(chunk.iter().map(String::as_str)),
                    ),
            );
        }
    }
    if bound > 0 {
        batches.push(batch);
    }
    for condition in batches {
        let mut select = evaluations::Entity::find()
            .select_only()
            .column(evaluations::Column::AccountId)
            .column(evaluations::Column::Region)
            .column(evaluations::Column::ConfigRuleName)
            .expr_as(count_of(ComplianceType::NonCompliant), "non_compliant")
            .expr_as(count_of(ComplianceType::Compliant), "compliant")
            .filter(condition)
            .group_by(evaluations::Column::AccountId)
            .group_by(evaluations::Column::Region)
            .group_by(evaluations::Column::ConfigRuleName);
        if let Some(types) =
            included_types::<evaluations::Entity>(scope, evaluations::Column::ResourceType)
        {
            select = select.filter(types);
        }
        let grouped: Vec<(String, String, String, i64, i64)> = select.into_tuple().all(db).await?;
        for (account_id, region, rule, non_compliant, compliant) in grouped {
            counts.insert((account_id, region, rule), (non_compliant, compliant));
        }
    }
    Ok(rows
        .iter()
        .zip(decoded)
        .map(|(row, pack)| {
            summarize_pack(pack.config_rule_names.iter().map(|rule| {
                let (non_compliant, compliant) = counts
                    .get(&(row.account_id.clone(), row.region.clone(), rule.clone()))
                    .copied()
                    .unwrap_or_default();
                rule_summary(non_compliant, compliant).compliance_type
            }))
        })
        .collect())
}
