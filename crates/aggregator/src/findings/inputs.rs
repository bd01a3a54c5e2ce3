//! Validation of the aggregated-findings requests: wire messages become domain inputs here,
//! reporting every bad field at once with Security Hub's `InvalidInputException`. The filter
//! language and sort keys are validated by `tributary_securityhub::filter`, as in each
//! collector; BatchUpdateFindings follows the collector's rules field for field.

use std::collections::BTreeMap;

use prost::Message;
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
/// Finding identifiers per BatchUpdateFindings call.
pub const MAX_IDENTIFIERS: usize = 100;
/// Insight ARNs per GetInsights call.
pub const MAX_INSIGHT_ARNS: usize = 100;
/// Security control ids per BatchGetSecurityControls call.
pub const MAX_SECURITY_CONTROLS: usize = 100;
/// The largest finding, encoded (AWS's 240 KB).
pub const MAX_FINDING_BYTES: usize = 240 * 1024;

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

/// A new severity.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SeverityChange {
    label: Option<collector_pb::SeverityLabel>,
    normalized: Option<i32>,
    product: Option<f64>,
}

/// What a BatchUpdateFindings request sets; `None` (or empty) leaves a field alone.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Changes {
    note: Option<(String, String)>,
    severity: Option<SeverityChange>,
    verification_state: Option<i32>,
    confidence: Option<i32>,
    criticality: Option<i32>,
    types: Option<Vec<String>>,
    user_defined_fields: BTreeMap<String, String>,
    workflow: Option<i32>,
    related_findings: Option<Vec<collector_pb::FindingRelatedFinding>>,
}

/// Why one finding of a batch was not updated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// `FindingNotFound`, `DuplicatedFindingIdentifier`, `InvalidInput` or
    /// `FindingSizeExceeded`.
    pub code: &'static str,
    /// What went wrong.
    pub message: String,
}

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

fn text(violations: &mut Violations, field: &str, value: &str, min: usize, max: usize) {
    let length = value.chars().count();
    if length < min || length > max || (min > 0 && value.trim().is_empty()) {
        violations.add(
            field,
            format!("must be {min}-{max} characters and not blank"),
        );
    }
}

fn score(violations: &mut Violations, field: &str, value: Option<i32>) {
    if value.is_some_and(|value| !(0..=100).contains(&value)) {
        violations.add(field, "must be 0-100");
    }
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
        if request.finding_identifiers.is_empty()
            || request.finding_identifiers.len() > MAX_IDENTIFIERS
        {
            violations.add(
                "finding_identifiers",
                format!("must hold 1-{MAX_IDENTIFIERS} findings"),
            );
        }
        for (index, identifier) in request.finding_identifiers.iter().enumerate() {
            let field = format!("finding_identifiers[{index}]");
            text(
                &mut violations,
                &format!("{field}.id"),
                &identifier.id,
                1,
                512,
            );
            text(
                &mut violations,
                &format!("{field}.product_arn"),
                &identifier.product_arn,
                12,
                2048,
            );
        }
        let note = request.note.map(|note| {
            text(&mut violations, "note.text", &note.text, 1, 512);
            text(&mut violations, "note.updated_by", &note.updated_by, 1, 512);
            (note.text, note.updated_by)
        });
        let severity = request.severity.map(|severity| {
            let label = match collector_pb::SeverityLabel::try_from(severity.label) {
                Ok(collector_pb::SeverityLabel::Unspecified) => None,
                Ok(label) => Some(label),
                Err(_) => {
                    violations.add("severity.label", "is not a known label");
                    None
                }
            };
            score(&mut violations, "severity.normalized", severity.normalized);
            if label.is_none() && severity.normalized.is_none() && severity.product.is_none() {
                violations.add(
                    "severity",
                    "must set at least one of label, normalized and product",
                );
            }
            if severity.product.is_some_and(|product| !product.is_finite()) {
                violations.add("severity.product", "must be a finite number");
            }
            SeverityChange {
                label,
                normalized: severity.normalized,
                product: severity.product,
            }
        });
        let verification_state =
            match collector_pb::VerificationState::try_from(request.verification_state) {
                Ok(collector_pb::VerificationState::Unspecified) => None,
                Ok(state) => Some(state as i32),
                Err(_) => {
                    violations.add("verification_state", "is not a known state");
                    None
                }
            };
        score(&mut violations, "confidence", request.confidence);
        score(&mut violations, "criticality", request.criticality);
        if request.types.len() > 50 {
            violations.add("types", "must hold at most 50 types");
        }
        for (index, kind) in request.types.iter().enumerate() {
            text(&mut violations, &format!("types[{index}]"), kind, 1, 512);
        }
        if request.user_defined_fields.len() > 50 {
            violations.add("user_defined_fields", "must hold at most 50 pairs");
        }
        for (key, value) in &request.user_defined_fields {
            text(&mut violations, "user_defined_fields key", key, 1, 128);
            if value.chars().count() > 1024 {
                violations.add(
                    format!("user_defined_fields[{key}]"),
                    "must be at most 1024 characters",
                );
            }
        }
        let workflow = request.workflow.and_then(|workflow| {
            match collector_pb::WorkflowStatus::try_from(workflow.status) {
                Ok(collector_pb::WorkflowStatus::Unspecified) | Err(_) => {
                    violations.add(
                        "workflow.status",
                        "must be NEW, NOTIFIED, RESOLVED or SUPPRESSED",
                    );
                    None
                }
                Ok(status) => Some(status as i32),
            }
        });
        if request.related_findings.len() > 10 {
            violations.add("related_findings", "must hold at most 10 findings");
        }
        for (index, related) in request.related_findings.iter().enumerate() {
            text(
                &mut violations,
                &format!("related_findings[{index}].product_arn"),
                &related.product_arn,
                1,
                2048,
            );
            text(
                &mut violations,
                &format!("related_findings[{index}].id"),
                &related.id,
                1,
                512,
            );
        }
        let changes = Changes {
            note,
            severity,
            verification_state,
            confidence: request.confidence,
            criticality: request.criticality,
            types: (!request.types.is_empty()).then_some(request.types),
            user_defined_fields: request.user_defined_fields.into_iter().collect(),
            workflow,
            related_findings: (!request.related_findings.is_empty())
                .then_some(request.related_findings),
        };
        if changes == Changes::default() {
            violations.add(
                "finding_identifiers",
                "the request must set at least one field: note, severity, verification_state, \
                 confidence, criticality, types, user_defined_fields, workflow or \
                 related_findings",
            );
        }
        finish(violations)?;
        Ok(Self {
            view: view.ok_or_else(lost_violation)?,
            identifiers: request
                .finding_identifiers
                .into_iter()
                .map(|identifier| (identifier.id, identifier.product_arn))
                .collect(),
            changes,
        })
    }
}

/// The label a normalized score stands for.
fn label_of_normalized(normalized: i32) -> collector_pb::SeverityLabel {
    match normalized {
        i32::MIN..=0 => collector_pb::SeverityLabel::Informational,
        1..=39 => collector_pb::SeverityLabel::Low,
        40..=69 => collector_pb::SeverityLabel::Medium,
        70..=89 => collector_pb::SeverityLabel::High,
        _ => collector_pb::SeverityLabel::Critical,
    }
}

/// The normalized score a label stands for.
fn normalized_of_label(label: collector_pb::SeverityLabel) -> i32 {
    match label {
        collector_pb::SeverityLabel::Unspecified | collector_pb::SeverityLabel::Informational => 0,
        collector_pb::SeverityLabel::Low => 1,
        collector_pb::SeverityLabel::Medium => 40,
        collector_pb::SeverityLabel::High => 70,
        collector_pb::SeverityLabel::Critical => 90,
    }
}

impl Changes {
    /// Applies the changes to `finding`, with `now` as the note's time. Refuses a result with
    /// more than 50 user-defined fields or above the finding size limit.
    pub fn apply(
        &self,
        finding: &mut collector_pb::Finding,
        now: prost_types::Timestamp,
    ) -> std::result::Result<(), Refusal> {
        if let Some((text, updated_by)) = &self.note {
            finding.note = Some(collector_pb::FindingNote {
                text: text.clone(),
                updated_by: updated_by.clone(),
                updated_at: Some(now),
            });
        }
        if let Some(change) = self.severity {
            let severity = finding.severity.get_or_insert_with(Default::default);
            match (change.label, change.normalized) {
                (Some(label), Some(normalized)) => {
                    severity.label = label as i32;
                    severity.normalized = Some(normalized);
                }
                (Some(label), None) => {
                    severity.label = label as i32;
                    severity.normalized = Some(normalized_of_label(label));
                }
                (None, Some(normalized)) => {
                    severity.label = label_of_normalized(normalized) as i32;
                    severity.normalized = Some(normalized);
                }
                (None, None) => {}
            }
            if change.product.is_some() {
                severity.product = change.product;
            }
        }
        if let Some(state) = self.verification_state {
            finding.verification_state = state;
        }
        if self.confidence.is_some() {
            finding.confidence = self.confidence;
        }
        if self.criticality.is_some() {
            finding.criticality = self.criticality;
        }
        if let Some(types) = &self.types {
            finding.types.clone_from(types);
        }
        for (key, value) in &self.user_defined_fields {
            if value.is_empty() {
                finding.user_defined_fields.remove(key);
            } else {
                finding
                    .user_defined_fields
                    .insert(key.clone(), value.clone());
            }
        }
        if finding.user_defined_fields.len() > 50 {
            return Err(Refusal {
                code: "InvalidInput",
                message: "the finding would hold more than 50 user-defined fields".into(),
            });
        }
        if let Some(status) = self.workflow {
            finding.workflow = Some(collector_pb::FindingWorkflow { status });
        }
        if let Some(related) = &self.related_findings {
            finding.related_findings.clone_from(related);
        }
        if finding.encoded_len() > MAX_FINDING_BYTES {
            return Err(Refusal {
                code: "FindingSizeExceeded",
                message: format!(
                    "the finding would be larger than {MAX_FINDING_BYTES} bytes encoded"
                ),
            });
        }
        Ok(())
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
