//! How evaluation results summarise into rule, resource and conformance pack compliance (spec
//! §4.8): the same rules for one region's collector and for an aggregator's views over many.
//! Pure functions over counts, so the rules are tested without a database.

use tributary_proto::collector::v1 as pb;

/// Contributors counted on a rule's summary (its non-compliant resources) are capped here.
pub const RESOURCE_CONTRIBUTOR_CAP: u64 = 100;
/// Contributors counted on a resource's summary (its non-compliant rules) are capped here.
pub const RULE_CONTRIBUTOR_CAP: u64 = 25;

/// The outcome of one evaluation, or a summary of several.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ComplianceType {
    /// Complies.
    Compliant,
    /// Does not comply.
    NonCompliant,
    /// The rule does not apply; counts for neither side.
    NotApplicable,
    /// No result that counts.
    InsufficientData,
}

impl ComplianceType {
    /// Every type.
    pub const ALL: [ComplianceType; 4] = [
        ComplianceType::Compliant,
        ComplianceType::NonCompliant,
        ComplianceType::NotApplicable,
        ComplianceType::InsufficientData,
    ];

    /// The stored (and AWS) name.
    pub fn as_str(self) -> &'static str {
        match self {
            ComplianceType::Compliant => "COMPLIANT",
            ComplianceType::NonCompliant => "NON_COMPLIANT",
            ComplianceType::NotApplicable => "NOT_APPLICABLE",
            ComplianceType::InsufficientData => "INSUFFICIENT_DATA",
        }
    }

    /// Reads a stored name.
    pub fn parse(stored: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == stored)
    }

    /// The wire form.
    pub fn to_proto(self) -> pb::ComplianceType {
        match self {
            ComplianceType::Compliant => pb::ComplianceType::Compliant,
            ComplianceType::NonCompliant => pb::ComplianceType::NonCompliant,
            ComplianceType::NotApplicable => pb::ComplianceType::NotApplicable,
            ComplianceType::InsufficientData => pb::ComplianceType::InsufficientData,
        }
    }

    /// Reads a wire value; None for UNSPECIFIED and unknown numbers.
    pub fn from_proto(value: i32) -> Option<Self> {
        match pb::ComplianceType::try_from(value).ok()? {
            pb::ComplianceType::Unspecified => None,
            pb::ComplianceType::Compliant => Some(ComplianceType::Compliant),
            pb::ComplianceType::NonCompliant => Some(ComplianceType::NonCompliant),
            pb::ComplianceType::NotApplicable => Some(ComplianceType::NotApplicable),
            pb::ComplianceType::InsufficientData => Some(ComplianceType::InsufficientData),
        }
    }
}

/// How many results of each type one rule (or one resource) has.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ResultCounts {
    /// COMPLIANT results.
    pub compliant: u64,
    /// NON_COMPLIANT results.
    pub non_compliant: u64,
    /// NOT_APPLICABLE results.
    pub not_applicable: u64,
    /// INSUFFICIENT_DATA results.
    pub insufficient_data: u64,
}

impl ResultCounts {
    /// Adds `count` results of `compliance_type`.
    pub fn add(&mut self, compliance_type: ComplianceType, count: u64) {
        let slot = match compliance_type {
            ComplianceType::Compliant => &mut self.compliant,
            ComplianceType::NonCompliant => &mut self.non_compliant,
            ComplianceType::NotApplicable => &mut self.not_applicable,
            ComplianceType::InsufficientData => &mut self.insufficient_data,
        };
        *slot = slot.saturating_add(count);
    }
}

/// A capped number of contributors to a NON_COMPLIANT summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContributorCount {
    /// The count, at most the cap.
    pub capped_count: u64,
    /// True when the real count exceeds the cap.
    pub cap_exceeded: bool,
}

/// Caps `count` at `cap`.
pub fn contributor_count(count: u64, cap: u64) -> ContributorCount {
    ContributorCount {
        capped_count: count.min(cap),
        cap_exceeded: count > cap,
    }
}

/// A summarised compliance: never NOT_APPLICABLE; contributors only when NON_COMPLIANT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    /// COMPLIANT, NON_COMPLIANT or INSUFFICIENT_DATA.
    pub compliance_type: ComplianceType,
    /// The non-compliant contributors, capped; only for NON_COMPLIANT.
    pub contributors: Option<ContributorCount>,
}

impl Summary {
    /// The wire form.
    pub fn to_proto(self) -> pb::Compliance {
        pb::Compliance {
            compliance_type: self.compliance_type.to_proto() as i32,
            compliance_contributor_count: self.contributors.map(|count| {
                pb::ComplianceContributorCount {
                    capped_count: i32::try_from(count.capped_count).unwrap_or(i32::MAX),
                    cap_exceeded: count.cap_exceeded,
                }
            }),
        }
    }
}

/// Summarises the results of one rule (contributors: non-compliant resources, `cap` 100) or of
/// one resource (contributors: non-compliant rules, `cap` 25): NON_COMPLIANT if any result is,
/// COMPLIANT if some result is COMPLIANT and none NON_COMPLIANT, INSUFFICIENT_DATA otherwise.
/// NOT_APPLICABLE and INSUFFICIENT_DATA results count for neither side.
pub fn summarize(counts: ResultCounts, cap: u64) -> Summary {
    if counts.non_compliant > 0 {
        Summary {
            compliance_type: ComplianceType::NonCompliant,
            contributors: Some(contributor_count(counts.non_compliant, cap)),
        }
    } else if counts.compliant > 0 {
        Summary {
            compliance_type: ComplianceType::Compliant,
            contributors: None,
        }
    } else {
        Summary {
            compliance_type: ComplianceType::InsufficientData,
            contributors: None,
        }
    }
}

/// The compliance of a conformance pack over its rules' summaries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PackSummary {
    /// NON_COMPLIANT if any rule is, COMPLIANT if every rule with data is, INSUFFICIENT_DATA when
    /// no rule has data.
    pub compliance_type: ComplianceType,
    /// COMPLIANT rules.
    pub compliant_rules: u64,
    /// NON_COMPLIANT rules.
    pub non_compliant_rules: u64,
    /// Every rule: compliant + non-compliant + insufficient-data.
    pub total_rules: u64,
}

impl PackSummary {
    /// The wire form.
    pub fn to_proto(self) -> pb::ConformancePackComplianceSummary {
        let count = |value: u64| i32::try_from(value).unwrap_or(i32::MAX);
        pb::ConformancePackComplianceSummary {
            compliance_type: self.compliance_type.to_proto() as i32,
            compliant_rule_count: count(self.compliant_rules),
            non_compliant_rule_count: count(self.non_compliant_rules),
            total_rule_count: count(self.total_rules),
        }
    }
}

/// Summarises a pack from the summaries of its rules.
pub fn summarize_pack(rule_summaries: impl IntoIterator<Item = ComplianceType>) -> PackSummary {
    let mut summary = PackSummary {
        compliance_type: ComplianceType::InsufficientData,
        compliant_rules: 0,
        non_compliant_rules: 0,
        total_rules: 0,
    };
    for rule in rule_summaries {
        summary.total_rules += 1;
        match rule {
            ComplianceType::Compliant => summary.compliant_rules += 1,
            ComplianceType::NonCompliant => summary.non_compliant_rules += 1,
            // A rule summary is never NOT_APPLICABLE; were it, it would have no data either.
            ComplianceType::NotApplicable | ComplianceType::InsufficientData => {}
        }
    }
    summary.compliance_type = if summary.non_compliant_rules > 0 {
        ComplianceType::NonCompliant
    } else if summary.compliant_rules > 0 {
        ComplianceType::Compliant
    } else {
        ComplianceType::InsufficientData
    };
    summary
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(compliant: u64, non_compliant: u64, not_applicable: u64) -> ResultCounts {
        ResultCounts {
            compliant,
            non_compliant,
            not_applicable,
            insufficient_data: 0,
        }
    }

    #[test]
    fn any_non_compliant_result_makes_the_rule_non_compliant() {
        let summary = summarize(counts(5, 2, 3), RESOURCE_CONTRIBUTOR_CAP);
        assert_eq!(summary.compliance_type, ComplianceType::NonCompliant);
        assert_eq!(
            summary.contributors,
            Some(ContributorCount {
                capped_count: 2,
                cap_exceeded: false
            })
        );
    }

    #[test]
    fn not_applicable_counts_for_neither_side() {
        let only_not_applicable = summarize(counts(0, 0, 4), RESOURCE_CONTRIBUTOR_CAP);
        assert_eq!(
            only_not_applicable.compliance_type,
            ComplianceType::InsufficientData
        );
        assert_eq!(only_not_applicable.contributors, None);
        let with_compliant = summarize(counts(1, 0, 4), RESOURCE_CONTRIBUTOR_CAP);
        assert_eq!(with_compliant.compliance_type, ComplianceType::Compliant);
        assert_eq!(with_compliant.contributors, None);
    }

    #[test]
    fn no_results_is_insufficient_data() {
        let summary = summarize(ResultCounts::default(), RESOURCE_CONTRIBUTOR_CAP);
        assert_eq!(summary.compliance_type, ComplianceType::InsufficientData);
        let mut insufficient = ResultCounts::default();
        insufficient.add(ComplianceType::InsufficientData, 3);
        assert_eq!(
            summarize(insufficient, RESOURCE_CONTRIBUTOR_CAP).compliance_type,
            ComplianceType::InsufficientData
        );
    }

    #[test]
    fn contributors_are_capped() {
        assert_eq!(
            contributor_count(100, 100),
            ContributorCount {
                capped_count: 100,
                cap_exceeded: false
            }
        );
        assert_eq!(
            contributor_count(101, 100),
            ContributorCount {
                capped_count: 100,
                cap_exceeded: true
            }
        );
        let resource = summarize(counts(0, 30, 0), RULE_CONTRIBUTOR_CAP);
        assert_eq!(
            resource.contributors,
            Some(ContributorCount {
                capped_count: 25,
                cap_exceeded: true
            })
        );
    }

    #[test]
    fn packs_follow_their_rules() {
        use ComplianceType::*;
        let mixed = summarize_pack([Compliant, NonCompliant, InsufficientData]);
        assert_eq!(mixed.compliance_type, NonCompliant);
        assert_eq!(
            (
                mixed.compliant_rules,
                mixed.non_compliant_rules,
                mixed.total_rules
            ),
            (1, 1, 3)
        );
        assert_eq!(
            summarize_pack([Compliant, InsufficientData]).compliance_type,
            Compliant
        );
        assert_eq!(
            summarize_pack([InsufficientData, InsufficientData]).compliance_type,
            InsufficientData
        );
        assert_eq!(summarize_pack([]).total_rules, 0);
    }

    #[test]
    fn compliance_types_round_trip() {
        for kind in ComplianceType::ALL {
            assert_eq!(ComplianceType::parse(kind.as_str()), Some(kind));
            assert_eq!(
                ComplianceType::from_proto(kind.to_proto() as i32),
                Some(kind)
            );
        }
        assert_eq!(ComplianceType::from_proto(0), None);
        assert_eq!(ComplianceType::from_proto(99), None);
    }
}
