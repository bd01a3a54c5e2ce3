//! Customer updates of findings (BatchUpdateFindings, spec §3.7): which fields a request may set,
//! how they are checked and how they change a finding. Each region's collector and the home
//! region's aggregator accept the same request, so both use this one definition.

use std::collections::BTreeMap;

use prost::Message;
use tributary_proto::collector::v1 as pb;
use tributary_runtime::Violations;

/// Finding identifiers per BatchUpdateFindings call.
pub const MAX_IDENTIFIERS: usize = 100;
/// The largest encoded finding (240 KB, as AWS).
pub const MAX_FINDING_BYTES: usize = 240 * 1024;

/// Why one finding of a batch was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The AWS error code, e.g. `InvalidInput`, `FindingSizeExceeded`, `FindingNotFound`.
    pub code: &'static str,
    /// What to fix.
    pub message: String,
}

impl Refusal {
    /// An `InvalidInput` refusal.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self {
            code: "InvalidInput",
            message: message.into(),
        }
    }
}

/// The label a normalized score stands for.
pub fn label_of_normalized(normalized: i32) -> pb::SeverityLabel {
    match normalized {
        i32::MIN..=0 => pb::SeverityLabel::Informational,
        1..=39 => pb::SeverityLabel::Low,
        40..=69 => pb::SeverityLabel::Medium,
        70..=89 => pb::SeverityLabel::High,
        _ => pb::SeverityLabel::Critical,
    }
}

/// The normalized score a label stands for.
pub fn normalized_of_label(label: pb::SeverityLabel) -> i32 {
    match label {
        pb::SeverityLabel::Unspecified | pb::SeverityLabel::Informational => 0,
        pb::SeverityLabel::Low => 1,
        pb::SeverityLabel::Medium => 40,
        pb::SeverityLabel::High => 70,
        pb::SeverityLabel::Critical => 90,
    }
}

/// A new severity.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SeverityChange {
    pub label: Option<pb::SeverityLabel>,
    pub normalized: Option<i32>,
    pub product: Option<f64>,
}

/// What a BatchUpdateFindings request sets; `None` (or empty) leaves a field alone.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Changes {
    pub note: Option<(String, String)>,
    pub severity: Option<SeverityChange>,
    pub verification_state: Option<i32>,
    pub confidence: Option<i32>,
    pub criticality: Option<i32>,
    pub types: Option<Vec<String>>,
    pub user_defined_fields: BTreeMap<String, String>,
    pub workflow: Option<i32>,
    pub related_findings: Option<Vec<pb::FindingRelatedFinding>>,
}

/// A validated BatchUpdateFindings request.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchUpdate {
    /// The findings, as (id, product ARN), in request order.
    pub identifiers: Vec<(String, String)>,
    /// What to set on each.
    pub changes: Changes,
}

/// Adds a violation unless `value` has `min`-`max` characters and is not blank.
pub fn text(violations: &mut Violations, field: &str, value: &str, min: usize, max: usize) {
    let length = value.chars().count();
    if length < min || length > max || (min > 0 && value.trim().is_empty()) {
        violations.add(
            field,
            format!("must be {min}-{max} characters and not blank"),
        );
    }
}

/// Adds a violation unless `value` is absent or 0-100.
pub fn score(violations: &mut Violations, field: &str, value: Option<i32>) {
    if value.is_some_and(|value| !(0..=100).contains(&value)) {
        violations.add(field, "must be 0-100");
    }
}

impl BatchUpdate {
    /// Checks every field of `request`, adding each bad one to `violations` (the caller finishes
    /// them with its service's reason); the result is meaningful only when none was added.
    pub fn check(violations: &mut Violations, request: pb::BatchUpdateFindingsRequest) -> Self {
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
            text(violations, &format!("{field}.id"), &identifier.id, 1, 512);
            text(
                violations,
                &format!("{field}.product_arn"),
                &identifier.product_arn,
                12,
                2048,
            );
        }
        let note = request.note.map(|note| {
            text(violations, "note.text", &note.text, 1, 512);
            text(violations, "note.updated_by", &note.updated_by, 1, 512);
            (note.text, note.updated_by)
        });
        let severity = request.severity.map(|severity| {
            let label = match pb::SeverityLabel::try_from(severity.label) {
                Ok(pb::SeverityLabel::Unspecified) => None,
                Ok(label) => Some(label),
                Err(_) => {
                    violations.add("severity.label", "is not a known label");
                    None
                }
            };
            score(violations, "severity.normalized", severity.normalized);
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
        let verification_state = match pb::VerificationState::try_from(request.verification_state) {
            Ok(pb::VerificationState::Unspecified) => None,
            Ok(state) => Some(state as i32),
            Err(_) => {
                violations.add("verification_state", "is not a known state");
                None
            }
        };
        score(violations, "confidence", request.confidence);
        score(violations, "criticality", request.criticality);
        if request.types.len() > 50 {
            violations.add("types", "must hold at most 50 types");
        }
        for (index, kind) in request.types.iter().enumerate() {
            text(violations, &format!("types[{index}]"), kind, 1, 512);
        }
        if request.user_defined_fields.len() > 50 {
            violations.add("user_defined_fields", "must hold at most 50 pairs");
        }
        for (key, value) in &request.user_defined_fields {
            text(violations, "user_defined_fields key", key, 1, 128);
            if value.chars().count() > 1024 {
                violations.add(
                    format!("user_defined_fields[{key}]"),
                    "must be at most 1024 characters",
                );
            }
        }
        let workflow = request.workflow.and_then(|workflow| {
            match pb::WorkflowStatus::try_from(workflow.status) {
                Ok(pb::WorkflowStatus::Unspecified) | Err(_) => {
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
                violations,
                &format!("related_findings[{index}].product_arn"),
                &related.product_arn,
                1,
                2048,
            );
            text(
                violations,
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
        Self {
            identifiers: request
                .finding_identifiers
                .into_iter()
                .map(|identifier| (identifier.id, identifier.product_arn))
                .collect(),
            changes,
        }
    }
}

impl Changes {
    /// Applies the changes to `finding`, with `now` as the note's time. Refuses a result with
    /// more than 50 user-defined fields or above the finding size limit.
    pub fn apply(
        &self,
        finding: &mut pb::Finding,
        now: prost_types::Timestamp,
    ) -> std::result::Result<(), Refusal> {
        if let Some((text, updated_by)) = &self.note {
            finding.note = Some(pb::FindingNote {
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
            finding.workflow = Some(pb::FindingWorkflow { status });
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
