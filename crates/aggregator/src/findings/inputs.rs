//! Validation of the aggregated-findings requests: wire messages become domain inputs here,
//! reporting every bad field at once with Security Hub's `InvalidInputException`. The filter
//! language and sort keys are validated by `tributary_securityhub::filter`, as in each
//! collector; BatchUpdateFindings follows the collector's rules field for field.

use tributary_proto::{aggregator::v1 as pb, collector::v1 as collector_pb};
use tributary_runtime::{
    Violations,
    auth::Caller,
    ids::{truncate_for_message, validate_account_id, validate_region_name},
    paging::page_size,
};
use tributary_securityhub::filter::{Filters, INVALID_INPUT, Sort};

use crate::{
    error::{Error, Result},
    finding_aggregators::inputs::own_account,
};

/// GetFindings' and GetInsights' default and largest page.
pub const MAX_PAGE: u32 = 100;
/// Insight ARNs per GetInsights call.
pub const MAX_INSIGHT_ARNS: usize = 100;
/// Security control ids per BatchGetSecurityControls call.
pub const MAX_SECURITY_CONTROLS: usize = 100;
/// Whose view a call reads or changes: an account in a home region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct View {
    /// The account the call acts for.
    pub account_id: String,
    /// The home region the call is made in.
    pub home_region: String,
}

/// Checks `region` and `account_id` of a request and decides the account it acts for: an account
/// key's own, or the one a service or operator key names.
fn view(
    violations: &mut Violations,
    caller: &Caller,
    region: &str,
    account_id: &str,
) -> Result<Option<View>> {
    let region_ok = match validate_region_name(region) {
        Ok(()) => true,
        Err(problem) => {
            violations.add("region", problem);
            false
        }
    };
    let account = match own_account(caller) {
        Some(own) if account_id.is_empty() || account_id == own => Some(own.to_string()),
        Some(own) => {
            return Err(Error::access_denied(format!(
                "this key acts for account {own} and may not read or change the aggregated \
                 findings of account {}",
                truncate_for_message(account_id)
            )));
        }
        None if account_id.is_empty() => {
            violations.add(
                "account_id",
                "is required for service and operator keys: name the 12-digit account whose \
                 aggregated findings to use",
            );
            None
        }
        None => match validate_account_id(account_id) {
            Ok(()) => Some(account_id.to_string()),
            Err(problem) => {
                violations.add("account_id", problem);
                None
            }
        },
    };
    Ok(account.filter(|_| region_ok).map(|account_id| View {
        account_id,
        home_region: region.to_string(),
    }))
}

fn finish(violations: Violations) -> Result<()> {
    Ok(violations.finish_with(INVALID_INPUT)?)
}

fn lost_violation() -> Error {
    Error::Corrupt("a validated field was lost".into())
}

/// Runs the shared filter and sort validation, keeping every violation together with ours.
fn merge_violations<T>(
    violations: &mut Violations,
    result: Result<T, tributary_runtime::Error>,
) -> Option<T> {
    match result {
        Ok(value) => Some(value),
        Err(tributary_runtime::Error::InvalidInput {
            violations: found, ..
        }) => {
            for violation in found {
                violations.add(violation.field, violation.description);
            }
            None
        }
        Err(other) => {
            violations.add("filters", other.to_string());
            None
        }
    }
}

/// A validated GetFindings.
#[derive(Debug, Clone, PartialEq)]
pub struct FindingsQuery {
    /// Whose view.
    pub view: View,
    /// The filters.
    pub filters: Filters,
    /// The order.
    pub sort: Sort,
    /// The page size.
    pub limit: u32,
    /// The page token.
    pub page_token: String,
}

impl FindingsQuery {
    /// Validates `request` from `caller`.
    pub fn parse(caller: &Caller, request: pb::GetFindingsRequest) -> Result<Self> {
        let mut violations = Violations::new();
        let view = view(
            &mut violations,
            caller,
            &request.region,
            &request.account_id,
        )?;
        let filters = merge_violations(
            &mut violations,
            Filters::parse(&request.filters.unwrap_or_default(), "filters"),
        );
        let sort = merge_violations(&mut violations, Sort::parse(&request.sort_criteria));
        finish(violations)?;
        let limit = page_size(request.page_size, MAX_PAGE, MAX_PAGE)?;
        Ok(Self {
            view: view.ok_or_else(lost_violation)?,
            filters: filters.ok_or_else(lost_violation)?,
            sort: sort.ok_or_else(lost_violation)?,
            limit,
            page_token: request.page_token,
        })
    }
}

/// A validated GetInsights.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InsightsQuery {
    /// Whose view.
    pub view: View,
    /// The named insights, sorted and unique; empty for every custom insight.
    pub arns: Vec<String>,
    /// The page size.
    pub limit: u32,
    /// The page token.
    pub page_token: String,
}

impl InsightsQuery {
    /// Validates `request` from `caller`.
    pub fn parse(caller: &Caller, request: pb::GetInsightsRequest) -> Result<Self> {
        let mut violations = Violations::new();
        let view = view(
            &mut violations,
            caller,
            &request.region,
            &request.account_id,
        )?;
        if request.insight_arns.len() > MAX_INSIGHT_ARNS {
            violations.add(
                "insight_arns",
                format!("must hold at most {MAX_INSIGHT_ARNS} ARNs"),
            );
        }
        for (index, arn) in request.insight_arns.iter().enumerate() {
            if arn.trim().is_empty() || arn.len() > 256 {
                violations.add(
                    format!("insight_arns[{index}]"),
                    "must be an insight ARN of 1-256 characters",
                );
            }
        }
        finish(violations)?;
        let limit = page_size(request.page_size, MAX_PAGE, MAX_PAGE)?;
        let mut arns = request.insight_arns;
        arns.sort();
        arns.dedup();
        Ok(Self {
            view: view.ok_or_else(lost_violation)?,
            arns,
            limit,
            page_token: request.page_token,
        })
    }
}

/// A validated GetInsightResults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InsightResultsQuery {
    /// Whose view.
    pub view: View,
    /// The insight.
    pub arn: String,
}

impl InsightResultsQuery {
    /// Validates `request` from `caller`.
    pub fn parse(caller: &Caller, request: pb::GetInsightResultsRequest) -> Result<Self> {
        let mut violations = Violations::new();
        let view = view(
            &mut violations,
            caller,
            &request.region,
            &request.account_id,
        )?;
        if request.insight_arn.trim().is_empty() || request.insight_arn.len() > 256 {
            violations.add("insight_arn", "must be an insight ARN of 1-256 characters");
        }
        finish(violations)?;
        Ok(Self {
            view: view.ok_or_else(lost_violation)?,
            arn: request.insight_arn,
        })
    }
}

/// A validated BatchGetSecurityControls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControlsQuery {
    /// Whose view.
    pub view: View,
    /// The ids, in request order.
    pub ids: Vec<String>,
}

impl ControlsQuery {
    /// Validates `request` from `caller`.
    pub fn parse(caller: &Caller, request: pb::BatchGetSecurityControlsRequest) -> Result<Self> {
        let mut violations = Violations::new();
        let view = view(
            &mut violations,
            caller,
            &request.region,
            &request.account_id,
        )?;
        if request.security_control_ids.is_empty()
            || request.security_control_ids.len() > MAX_SECURITY_CONTROLS
        {
            violations.add(
                "security_control_ids",
                format!("must hold 1-{MAX_SECURITY_CONTROLS} ids"),
            );
        }
        finish(violations)?;
        Ok(Self {
            view: view.ok_or_else(lost_violation)?,
            ids: request.security_control_ids,
        })
    }
}

/// Validates GetSecurityScores from `caller`.
pub fn scores_view(caller: &Caller, request: &pb::GetSecurityScoresRequest) -> Result<View> {
    let mut violations = Violations::new();
    let view = view(
        &mut violations,
        caller,
        &request.region,
        &request.account_id,
    )?;
    finish(violations)?;
    view.ok_or_else(lost_violation)
}

use tributary_securityhub::update;
pub use tributary_securityhub::update::{Changes, Refusal};

/// A validated BatchUpdateFindings.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchUpdate {
    /// Whose view.
    pub view: View,
    /// The findings, as (id, product ARN), in request order.
    pub identifiers: Vec<(String, String)>,
    /// What to set on each.
    pub changes: Changes,
}

impl BatchUpdate {
    /// Validates `request` from `caller`, reporting every bad field.
    pub fn parse(caller: &Caller, request: pb::BatchUpdateFindingsRequest) -> Result<Self> {
        let mut violations = Violations::new();
        let view = view(
            &mut violations,
            caller,
            &request.region,
            &request.account_id,
        )?;
        let update = update::BatchUpdate::check(
            &mut violations,
            collector_pb::BatchUpdateFindingsRequest {
                finding_identifiers: request.finding_identifiers,
                note: request.note,
                severity: request.severity,
                verification_state: request.verification_state,
                confidence: request.confidence,
                criticality: request.criticality,
                types: request.types,
                user_defined_fields: request.user_defined_fields,
                workflow: request.workflow,
                related_findings: request.related_findings,
            },
        );
        finish(violations)?;
        Ok(Self {
            view: view.ok_or_else(lost_violation)?,
            identifiers: update.identifiers,
            changes: update.changes,
        })
    }
}

#[cfg(test)]
mod tests {
    use tributary_runtime::auth::Principal;

    use super::*;

    fn account(account_id: &str) -> Caller {
        Caller {
            key_id: "key".into(),
            principal: Principal::Account {
                account_id: account_id.into(),
            },
        }
    }

    fn violated(error: Error) -> Vec<String> {
        match error {
            Error::Runtime(tributary_runtime::Error::InvalidInput { violations, .. }) => violations
                .into_iter()
                .map(|violation| violation.field)
                .collect(),
            other => panic!("expected InvalidInputException, got {other:?}"),
        }
    }

    fn update() -> pb::BatchUpdateFindingsRequest {
        pb::BatchUpdateFindingsRequest {
            region: "us-east-1".into(),
            finding_identifiers: vec![collector_pb::FindingIdentifier {
                id: "f-1".into(),
                product_arn: "arn:aws:securityhub:eu-west-1::product/aws/guardduty".into(),
            }],
            ..Default::default()
        }
    }

    #[test]
    fn an_account_key_acts_for_itself_and_services_must_name_an_account() {
        let mut request = update();
        request.confidence = Some(50);
        let parsed = BatchUpdate::parse(&account("111111111111"), request.clone()).unwrap();
        assert_eq!(parsed.view.account_id, "111111111111");
        assert_eq!(parsed.view.home_region, "us-east-1");
        request.account_id = "222222222222".into();
        assert!(matches!(
            BatchUpdate::parse(&account("111111111111"), request.clone()),
            Err(Error::Runtime(
                tributary_runtime::Error::PermissionDenied { .. }
            ))
        ));
        let service = Caller {
            key_id: "key".into(),
            principal: Principal::Service {
                name: "tributary".into(),
            },
        };
        request.account_id = String::new();
        assert_eq!(
            violated(BatchUpdate::parse(&service, request).unwrap_err()),
            ["account_id"]
        );
    }

    #[test]
    fn every_bad_field_is_reported_and_an_empty_update_is_refused() {
        let mut request = update();
        request.region = "nowhere".into();
        request.confidence = Some(101);
        request.workflow = Some(collector_pb::FindingWorkflow { status: 0 });
        request.finding_identifiers[0].id = String::new();
        assert_eq!(
            violated(BatchUpdate::parse(&account("111111111111"), request).unwrap_err()),
            [
                "region",
                "finding_identifiers[0].id",
                "confidence",
                "workflow.status"
            ]
        );
        assert_eq!(
            violated(BatchUpdate::parse(&account("111111111111"), update()).unwrap_err()),
            ["finding_identifiers"]
        );
    }

    #[test]
    fn changes_fill_the_missing_half_of_a_severity_and_keep_other_fields() {
        let mut request = update();
        request.severity = Some(collector_pb::FindingSeverityUpdate {
            label: collector_pb::SeverityLabel::High as i32,
            ..Default::default()
        });
        request.user_defined_fields = [("team".to_string(), "blue".to_string())].into();
        let parsed = BatchUpdate::parse(&account("111111111111"), request).unwrap();
        let mut finding = collector_pb::Finding {
            title: "kept".into(),
            ..Default::default()
        };
        parsed
            .changes
            .apply(&mut finding, prost_types::Timestamp::default())
            .unwrap();
        let severity = finding.severity.unwrap();
        assert_eq!(severity.label, collector_pb::SeverityLabel::High as i32);
        assert_eq!(severity.normalized, Some(70));
        assert_eq!(finding.user_defined_fields["team"], "blue");
        assert_eq!(finding.title, "kept");
    }

    #[test]
    fn filters_are_checked_by_the_shared_filter_language() {
        let request = pb::GetFindingsRequest {
            region: "us-east-1".into(),
            filters: Some(collector_pb::FindingFilters {
                title: vec![collector_pb::StringFilter {
                    value: "x".into(),
                    comparison: collector_pb::StringFilterComparison::ContainsWord as i32,
                }],
                ..Default::default()
            }),
            ..Default::default()
        };
        let fields = violated(FindingsQuery::parse(&account("111111111111"), request).unwrap_err());
        assert!(
            fields
                .iter()
                .all(|field| field.starts_with("filters.title")),
            "{fields:?}"
        );
        assert!(!fields.is_empty());
    }
}
