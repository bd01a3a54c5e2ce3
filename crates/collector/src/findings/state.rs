//! The automatic state rules of findings (spec §3.8) and severity completion, as pure functions.

use tributary_proto::collector::v1 as pb;

/// What the rules look at in a stored finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stored {
    /// The stored workflow status.
    pub workflow: pb::WorkflowStatus,
    /// The stored record state.
    pub record_state: pb::RecordState,
    /// The stored compliance status.
    pub compliance: pb::ComplianceStatus,
}

/// The workflow status a deprecated workflow state stands for.
pub fn status_of_state(state: pb::WorkflowState) -> pb::WorkflowStatus {
    match state {
        pb::WorkflowState::Unspecified | pb::WorkflowState::New => pb::WorkflowStatus::New,
        pb::WorkflowState::Assigned | pb::WorkflowState::InProgress => pb::WorkflowStatus::Notified,
        pb::WorkflowState::Deferred => pb::WorkflowStatus::Suppressed,
        pb::WorkflowState::Resolved => pb::WorkflowStatus::Resolved,
    }
}

/// The workflow status after an import: `previous` is the stored finding (None on creation, where
/// `initial` is what the provider asked for), `record_state` and `compliance` the incoming values.
///
/// NOTIFIED or RESOLVED reopen as NEW when the record goes ARCHIVED→ACTIVE or compliance goes from
/// PASSED to FAILED, WARNING or NOT_AVAILABLE; SUPPRESSED stays. A control finding (one with a
/// compliance status) that PASSED becomes RESOLVED unless it is SUPPRESSED.
pub fn next_workflow(
    previous: Option<Stored>,
    initial: pb::WorkflowStatus,
    record_state: pb::RecordState,
    compliance: pb::ComplianceStatus,
) -> pb::WorkflowStatus {
    let mut status = match previous {
        None if initial == pb::WorkflowStatus::Unspecified => pb::WorkflowStatus::New,
        None => initial,
        Some(stored) => {
            let reactivated = stored.record_state == pb::RecordState::Archived
                && record_state == pb::RecordState::Active;
            let failed_again = stored.compliance == pb::ComplianceStatus::Passed
                && matches!(
                    compliance,
                    pb::ComplianceStatus::Failed
                        | pb::ComplianceStatus::Warning
                        | pb::ComplianceStatus::NotAvailable
                );
            let reopenable = matches!(
                stored.workflow,
                pb::WorkflowStatus::Notified | pb::WorkflowStatus::Resolved
            );
            if reopenable && (reactivated || failed_again) {
                pb::WorkflowStatus::New
            } else {
                stored.workflow
            }
        }
    };
    if compliance == pb::ComplianceStatus::Passed && status != pb::WorkflowStatus::Suppressed {
        status = pb::WorkflowStatus::Resolved;
    }
    status
}

pub use tributary_securityhub::update::{label_of_normalized, normalized_of_label};

/// Fills the missing half of a severity (label from score or score from label).
pub fn complete_severity(severity: &mut pb::FindingSeverity) {
    let label = pb::SeverityLabel::try_from(severity.label).unwrap_or_default();
    match (label, severity.normalized) {
        (pb::SeverityLabel::Unspecified, Some(normalized)) => {
            severity.label = label_of_normalized(normalized) as i32;
        }
        (label, None) if label != pb::SeverityLabel::Unspecified => {
            severity.normalized = Some(normalized_of_label(label));
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pb::{ComplianceStatus as C, RecordState as R, WorkflowStatus as W};

    fn stored(workflow: W, record_state: R, compliance: C) -> Option<Stored> {
        Some(Stored {
            workflow,
            record_state,
            compliance,
        })
    }

    #[test]
    fn new_findings_start_new_or_as_asked() {
        assert_eq!(
            next_workflow(None, W::Unspecified, R::Active, C::Unspecified),
            W::New
        );
        assert_eq!(
            next_workflow(None, W::Notified, R::Active, C::Failed),
            W::Notified
        );
        assert_eq!(
            next_workflow(None, W::New, R::Active, C::Passed),
            W::Resolved
        );
    }

    #[test]
    fn reactivation_and_failing_again_reopen_but_not_suppressed() {
        for workflow in [W::Notified, W::Resolved] {
            assert_eq!(
                next_workflow(
                    stored(workflow, R::Archived, C::Unspecified),
                    W::Unspecified,
                    R::Active,
                    C::Unspecified
                ),
                W::New
            );
            for compliance in [C::Failed, C::Warning, C::NotAvailable] {
                assert_eq!(
                    next_workflow(
                        stored(workflow, R::Active, C::Passed),
                        W::Unspecified,
                        R::Active,
                        compliance
                    ),
                    W::New
                );
            }
        }
        assert_eq!(
            next_workflow(
                stored(W::Suppressed, R::Archived, C::Passed),
                W::Unspecified,
                R::Active,
                C::Failed
            ),
            W::Suppressed
        );
        assert_eq!(
            next_workflow(
                stored(W::Notified, R::Active, C::Failed),
                W::Unspecified,
                R::Active,
                C::Failed
            ),
            W::Notified
        );
    }

    #[test]
    fn passed_control_findings_resolve_unless_suppressed() {
        assert_eq!(
            next_workflow(
                stored(W::New, R::Active, C::Failed),
                W::Unspecified,
                R::Archived,
                C::Passed
            ),
            W::Resolved
        );
        assert_eq!(
            next_workflow(
                stored(W::Suppressed, R::Active, C::Failed),
                W::Unspecified,
                R::Active,
                C::Passed
            ),
            W::Suppressed
        );
    }

    #[test]
    fn severity_halves_complete_each_other() {
        let mut only_score = pb::FindingSeverity {
            normalized: Some(75),
            ..Default::default()
        };
        complete_severity(&mut only_score);
        assert_eq!(only_score.label, pb::SeverityLabel::High as i32);
        let mut only_label = pb::FindingSeverity {
            label: pb::SeverityLabel::Medium as i32,
            ..Default::default()
        };
        complete_severity(&mut only_label);
        assert_eq!(only_label.normalized, Some(40));
        for (score, label) in [
            (0, pb::SeverityLabel::Informational),
            (39, pb::SeverityLabel::Low),
            (69, pb::SeverityLabel::Medium),
            (90, pb::SeverityLabel::Critical),
        ] {
            assert_eq!(label_of_normalized(score), label);
        }
        assert_eq!(status_of_state(pb::WorkflowState::Deferred), W::Suppressed);
    }
}
