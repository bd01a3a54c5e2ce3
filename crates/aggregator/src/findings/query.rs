//! The home-region reads of aggregated findings: GetFindings, GetInsights, GetInsightResults,
//! BatchGetSecurityControls and GetSecurityScores. Findings and insight results use the
//! collector's filter compiler (`tributary_securityhub::query`) with one more criterion, the
//! caller's viewer ([`super::viewers`]); controls and scores combine the replicated control
//! statuses of the linked (account, region) pairs the caller sees (spec §3.11, §3.12).

use std::collections::{BTreeMap, BTreeSet};

use prost::Message;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::{Expr, ExprTrait, Query},
};
use tributary_proto::collector::v1 as collector_pb;
use tributary_runtime::error::reason as runtime_reason;
use tributary_securityhub::{
    attributes::attribute,
    controls::{
        Bucket, Counts, DataStatus, STANDARDS, Standard, Tally, mean_score, security_control,
        security_control_arn,
    },
    filter::Filters,
    insights::{MAX_RESULT_GROUPS, managed_insight},
    query::{FindingQuery, condition, find, group_counts},
};

use super::{
    AggregatedFindings, TABLES,
    inputs::{ControlsQuery, FindingsQuery, InsightResultsQuery, InsightsQuery, View},
    now_micros, viewers,
};
use crate::{
    error::{Error, Result},
    store::{
        aggregated_control_statuses as statuses, aggregated_finding_scopes as scopes,
        aggregated_insights as insights,
    },
};

/// One standard's score across the aggregated set.
#[derive(Debug, Clone, PartialEq)]
pub struct StandardScore {
    /// The standard.
    pub standard: &'static Standard,
    /// Its controls' statuses.
    pub tally: Tally,
}

/// Security scores across the aggregated set.
#[derive(Debug, Clone, PartialEq)]
pub struct Scores {
    /// Per standard enabled anywhere in the set, in catalogue order.
    pub standards: Vec<StandardScore>,
    /// The mean of the standards' scores.
    pub overall: Option<u32>,
    /// The pooled score over distinct enabled security controls.
    pub pooled: Option<u32>,
}

/// The catalogue standard a standards ARN (of any region) names.
fn standard_of(arn: &str) -> Option<&'static Standard> {
    STANDARDS.iter().find(|standard| {
        arn.strip_suffix(standard.id)
            .is_some_and(|rest| rest.ends_with(':'))
    })
}

/// The wire form of a control status.
pub fn compliance_status(status: DataStatus) -> collector_pb::ControlComplianceStatus {
    match status {
        DataStatus::Passed => collector_pb::ControlComplianceStatus::Passed,
        DataStatus::Failed => collector_pb::ControlComplianceStatus::Failed,
        DataStatus::Unknown => collector_pb::ControlComplianceStatus::Unknown,
        DataStatus::NoData => collector_pb::ControlComplianceStatus::NoData,
    }
}

/// The filters of `filters` restricted to what `view` sees.
fn seen_by(mut filters: Filters, view: &View) -> Filters {
    filters
        .criteria
        .push(viewers::criterion(&view.account_id, &view.home_region));
    filters
}

fn decode_insight(row: &insights::Model) -> Result<collector_pb::Insight> {
    collector_pb::Insight::decode(row.insight.as_slice())
        .map_err(|error| Error::Corrupt(format!("stored insight {}: {error}", row.insight_arn)))
}

fn no_such_insight(arn: &str) -> Error {
    Error::not_found(
        runtime_reason::RESOURCE_NOT_FOUND,
        format!(
            "no insight {arn}: a managed insight, or a custom insight of the account created in \
             the home region"
        ),
    )
}

/// Control statuses of one security control, by (account, region).
type StatusRows = BTreeMap<String, Vec<statuses::Model>>;

impl AggregatedFindings {
    /// One page of the aggregated findings `query.view` sees.
    pub async fn get_findings(
        &self,
        query: FindingsQuery,
    ) -> Result<(Vec<collector_pb::Finding>, String)> {
        let filters = seen_by(query.filters, &query.view);
        let finding_query = FindingQuery {
            filters: &filters,
            accounts: None,
            now_micros: now_micros(),
        };
        let (payloads, next_page_token) = find(
            &self.db,
            &TABLES,
            &self.page_tokens,
            &format!("AggregatedGetFindings:{}", query.view.home_region),
            &finding_query,
            &query.sort,
            &query.page_token,
            u64::from(query.limit),
        )
        .await?;
        let findings = payloads
            .iter()
            .map(|payload| super::decode_finding(payload))
            .collect::<Result<Vec<_>>>()?;
        Ok((findings, next_page_token))
    }

    /// The account's custom insight `arn` of the home region.
    async fn custom_insight(&self, view: &View, arn: &str) -> Result<collector_pb::Insight> {
        let row = insights::Entity::find_by_id((
            view.account_id.clone(),
            view.home_region.clone(),
            arn.to_string(),
        ))
        .one(&self.db)
        .await?
        .ok_or_else(|| no_such_insight(arn))?;
        decode_insight(&row)
    }

    /// One page of insights: the named ones, or every custom insight of the account in the home
    /// region.
    pub async fn get_insights(
        &self,
        query: InsightsQuery,
    ) -> Result<(Vec<collector_pb::Insight>, String)> {
        let scope = format!(
            "AggregatedGetInsights:{}:{}:{:?}",
            query.view.account_id, query.view.home_region, query.arns
        );
        let after: Option<String> = self.page_tokens.open(&scope, &query.page_token)?;
        let page = usize::try_from(query.limit).unwrap_or(usize::MAX);
        let mut found = Vec::new();
        let more;
        if query.arns.is_empty() {
            let mut select = insights::Entity::find()
                .filter(insights::Column::AccountId.eq(query.view.account_id.as_str()))
                .filter(insights::Column::Region.eq(query.view.home_region.as_str()))
                .order_by_asc(insights::Column::InsightArn)
                .limit(u64::from(query.limit) + 1);
            if let Some(after) = &after {
                select = select.filter(insights::Column::InsightArn.gt(after.as_str()));
            }
            let mut rows = select.all(&self.db).await?;
            more = rows.len() > page;
            rows.truncate(page);
            for row in &rows {
                found.push(decode_insight(row)?);
            }
        } else {
            let mut arns = query.arns.clone();
            arns.retain(|arn| after.as_ref().is_none_or(|after| arn > after));
            more = arns.len() > page;
            arns.truncate(page);
            for arn in &arns {
                match managed_insight(arn) {
                    Some(managed) => found.push(managed),
                    None => found.push(self.custom_insight(&query.view, arn).await?),
                }
            }
        }
        let token = match found.last() {
            Some(last) if more => self.page_tokens.issue(&scope, &last.insight_arn),
            _ => String::new(),
        };
        Ok((found, token))
    }

    /// An insight's results over the aggregated findings the account sees.
    pub async fn get_insight_results(
        &self,
        query: InsightResultsQuery,
    ) -> Result<collector_pb::InsightResults> {
        let insight = match managed_insight(&query.arn) {
            Some(managed) => managed,
            None => self.custom_insight(&query.view, &query.arn).await?,
        };
        let filters = Filters::parse(&insight.filters.clone().unwrap_or_default(), "filters")
            .map_err(|error| {
                Error::Corrupt(format!(
                    "insight {} has filters that no longer validate: {error}",
                    insight.insight_arn
                ))
            })?;
        let group_by = attribute(&insight.group_by_attribute).ok_or_else(|| {
            Error::Corrupt(format!(
                "insight {} groups by unknown attribute {}",
                insight.insight_arn, insight.group_by_attribute
            ))
        })?;
        let filters = seen_by(filters, &query.view);
        let finding_query = FindingQuery {
            filters: &filters,
            accounts: None,
            now_micros: now_micros(),
        };
        let groups = group_counts(
            &self.db,
            &TABLES,
            &finding_query,
            group_by,
            MAX_RESULT_GROUPS,
        )
        .await?;
        Ok(collector_pb::InsightResults {
            insight_arn: insight.insight_arn,
            group_by_attribute: insight.group_by_attribute,
            result_values: groups
                .into_iter()
                .map(|(value, count)| collector_pb::InsightResultValue {
                    group_by_attribute_value: value,
                    count,
                })
                .collect(),
        })
    }

    /// The linked (account, region) pairs `view` counts controls over: those of its own
    /// aggregator in the home region, and its own pairs in any aggregated set of the home region.
    /// Pairs no longer linked keep their copies but leave the statuses and scores, as AWS
    /// recomputes them over the linked regions.
    async fn linked_pairs(&self, view: &View) -> Result<BTreeSet<(String, String)>> {
        let rows = scopes::Entity::find()
            .filter(scopes::Column::HomeRegion.eq(view.home_region.as_str()))
            .filter(scopes::Column::State.eq(scopes::LINKED))
            .filter(
                Condition::any()
                    .add(scopes::Column::OwnerAccountId.eq(view.account_id.as_str()))
                    .add(scopes::Column::AccountId.eq(view.account_id.as_str())),
            )
            .all(&self.db)
            .await?;
        Ok(rows
            .into_iter()
            .map(|row| (row.account_id, row.region))
            .collect())
    }

    /// The replicated control statuses of the pairs `view` counts, by security control id.
    async fn status_rows(&self, view: &View) -> Result<StatusRows> {
        let pairs = self.linked_pairs(view).await?;
        let accounts: BTreeSet<&str> = pairs.iter().map(|(account, _)| account.as_str()).collect();
        let mut by_control: StatusRows = BTreeMap::new();
        for chunk in accounts.into_iter().collect::<Vec<_>>().chunks(500) {
            let rows = statuses::Entity::find()
                .filter(statuses::Column::AccountId.is_in(chunk.iter().map(|id| id.to_string())))
                .all(&self.db)
                .await?;
            for row in rows {
                if pairs.contains(&(row.account_id.clone(), row.region.clone())) {
                    by_control
                        .entry(row.security_control_id.clone())
                        .or_default()
                        .push(row);
                }
            }
        }
        Ok(by_control)
    }

    /// How many aggregated control findings `view` sees per control and bucket.
    async fn finding_counts(&self, view: &View) -> Result<BTreeMap<String, Counts>> {
        let filters = seen_by(Filters::default(), view);
        let finding_query = FindingQuery {
            filters: &filters,
            accounts: None,
            now_micros: now_micros(),
        };
        let backend = self.db.get_database_backend();
        let control = Expr::col(("f", "compliance_security_control_id"));
        let bucket = Expr::col(("f", "control_bucket"));
        let select = Query::select()
            .from_as(TABLES.findings, "f")
            .cond_where(condition(&TABLES, backend, &finding_query))
            .and_where(bucket.clone().ne(""))
            .expr_as(control.clone(), "control")
            .expr_as(bucket.clone(), "bucket")
            .expr_as(Expr::cust("COUNT(*)"), "n")
            .group_by_col(("f", "compliance_security_control_id"))
            .group_by_col(("f", "control_bucket"))
            .to_owned();
        let mut counts: BTreeMap<String, Counts> = BTreeMap::new();
        for row in self.db.query_all(&select).await? {
            let control: String = row.try_get("", "control")?;
            let bucket: String = row.try_get("", "bucket")?;
            let n: i64 = row.try_get("", "n")?;
            if let Some(bucket) = Bucket::parse(&bucket) {
                counts.entry(control).or_default().add(bucket, n);
            }
        }
        Ok(counts)
    }

    /// The named security controls across the aggregated set; unknown ids are reported apart.
    pub async fn batch_get_security_controls(
        &self,
        query: ControlsQuery,
    ) -> Result<(
        Vec<collector_pb::SecurityControl>,
        Vec<collector_pb::UnprocessedSecurityControl>,
    )> {
        let rows = self.status_rows(&query.view).await?;
        let counts = self.finding_counts(&query.view).await?;
        let mut found = Vec::new();
        let mut unprocessed = Vec::new();
        for id in &query.ids {
            let Some(control) = security_control(id) else {
                unprocessed.push(collector_pb::UnprocessedSecurityControl {
                    security_control_id: id.clone(),
                    error_code: "NOT_FOUND".into(),
                    error_reason: "no security control has this id; ids look like S3.1".into(),
                });
                continue;
            };
            let (enabled, status) = aggregated_status(rows.get(control.id));
            let counted = counts.get(control.id).copied().unwrap_or_default();
            found.push(collector_pb::SecurityControl {
                security_control_id: control.id.to_string(),
                security_control_arn: security_control_arn(
                    &query.view.home_region,
                    &query.view.account_id,
                    control.id,
                ),
                title: control.title.to_string(),
                description: control.description(),
                remediation_url: control.remediation_url(),
                severity_rating: control.severity.to_string(),
                security_control_status: if enabled {
                    collector_pb::ControlStatus::Enabled
                } else {
                    collector_pb::ControlStatus::Disabled
                } as i32,
                update_status: "READY".into(),
                compliance_status: if enabled {
                    compliance_status(status)
                } else {
                    collector_pb::ControlComplianceStatus::Disabled
                } as i32,
                passed_findings: counted.passed,
                failed_findings: counted.failed,
                unknown_findings: counted.unknown,
            });
        }
        Ok((found, unprocessed))
    }

    /// Security scores across the aggregated set `view` sees.
    pub async fn security_scores(&self, view: &View) -> Result<Scores> {
        let rows = self.status_rows(view).await?;
        // Which standards each control is enabled in, anywhere in the set.
        let mut enabled_in: BTreeMap<&str, BTreeSet<&'static str>> = BTreeMap::new();
        for (control_id, control_rows) in &rows {
            for row in control_rows {
                for arn in enabled_standards(row)? {
                    if let Some(standard) = standard_of(&arn) {
                        enabled_in
                            .entry(control_id.as_str())
                            .or_default()
                            .insert(standard.id);
                    }
                }
            }
        }
        let enabled_standards: BTreeSet<&'static str> =
            enabled_in.values().flatten().copied().collect();
        let mut standards = Vec::new();
        let mut pooled_controls = BTreeSet::new();
        for standard in STANDARDS {
            if !enabled_standards.contains(standard.id) {
                continue;
            }
            let mut tally = Tally::default();
            for (_, security_id) in standard.controls {
                let enabled = enabled_in
                    .get(security_id)
                    .is_some_and(|standards| standards.contains(standard.id));
                let (_, status) = aggregated_status(rows.get(*security_id));
                tally.add(enabled, status);
                if enabled {
                    pooled_controls.insert(*security_id);
                }
            }
            standards.push(StandardScore { standard, tally });
        }
        let mut pooled = Tally::default();
        for control_id in pooled_controls {
            pooled.add(true, aggregated_status(rows.get(control_id)).1);
        }
        Ok(Scores {
            overall: mean_score(standards.iter().map(|score| score.tally.score())),
            pooled: pooled.score(),
            standards,
        })
    }
}

fn enabled_standards(row: &statuses::Model) -> Result<Vec<String>> {
    serde_json::from_str(&row.enabled_standards).map_err(|error| {
        Error::Corrupt(format!(
            "control status {} of {} in {}: {error}",
            row.security_control_id, row.account_id, row.region
        ))
    })
}

/// Whether a control is enabled anywhere in the set, and its combined status where it is:
/// FAILED in any account and region wins, then UNKNOWN, then PASSED (spec §3.11).
fn aggregated_status(rows: Option<&Vec<statuses::Model>>) -> (bool, DataStatus) {
    let enabled: Vec<&statuses::Model> = rows
        .into_iter()
        .flatten()
        .filter(|row| row.enabled_standards != "[]" && !row.enabled_standards.is_empty())
        .collect();
    let status = DataStatus::combine(
        enabled
            .iter()
            .map(|row| DataStatus::parse(&row.status).unwrap_or(DataStatus::NoData)),
    );
    (!enabled.is_empty(), status)
}
