//! Standards, controls, control status and security scores (spec §3.11, §3.12): the built-in
//! catalogue (a subset of AWS Foundational Security Best Practices and CIS AWS Foundations
//! 1.2.0), the ARNs of standards, subscriptions and controls, how control findings make a control
//! PASSED, FAILED, UNKNOWN or NO_DATA, and how scores follow from control statuses.

/// How one control finding counts towards its control's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Bucket {
    /// Compliance PASSED.
    Passed,
    /// Compliance FAILED.
    Failed,
    /// Compliance WARNING or NOT_AVAILABLE.
    Unknown,
}

impl Bucket {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Bucket::Passed => "PASSED",
            Bucket::Failed => "FAILED",
            Bucket::Unknown => "UNKNOWN",
        }
    }

    /// Reads a stored name; empty (no contribution) is `None`.
    pub fn parse(stored: &str) -> Option<Self> {
        [Bucket::Passed, Bucket::Failed, Bucket::Unknown]
            .into_iter()
            .find(|bucket| bucket.as_str() == stored)
    }
}

/// How many counting findings a control has in each bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counts {
    /// PASSED findings.
    pub passed: i64,
    /// FAILED findings.
    pub failed: i64,
    /// WARNING or NOT_AVAILABLE findings.
    pub unknown: i64,
}

impl Counts {
    /// Adds `delta` findings to `bucket`.
    pub fn add(&mut self, bucket: Bucket, delta: i64) {
        match bucket {
            Bucket::Passed => self.passed += delta,
            Bucket::Failed => self.failed += delta,
            Bucket::Unknown => self.unknown += delta,
        }
    }

    /// The status these findings give their control.
    pub fn status(&self) -> DataStatus {
        if self.failed > 0 {
            DataStatus::Failed
        } else if self.unknown > 0 {
            DataStatus::Unknown
        } else if self.passed > 0 {
            DataStatus::Passed
        } else {
            DataStatus::NoData
        }
    }
}

/// A control's status from its findings (spec §3.11).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DataStatus {
    /// Every counting finding PASSED.
    Passed,
    /// At least one finding FAILED.
    Failed,
    /// None FAILED, at least one WARNING or NOT_AVAILABLE.
    Unknown,
    /// No counting findings (none, or all archived or suppressed).
    NoData,
}

impl DataStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            DataStatus::Passed => "PASSED",
            DataStatus::Failed => "FAILED",
            DataStatus::Unknown => "UNKNOWN",
            DataStatus::NoData => "NO_DATA",
        }
    }

    /// Reads a stored name.
    pub fn parse(stored: &str) -> Option<Self> {
        [
            DataStatus::Passed,
            DataStatus::Failed,
            DataStatus::Unknown,
            DataStatus::NoData,
        ]
        .into_iter()
        .find(|status| status.as_str() == stored)
    }

    /// The status of one control seen in several places (accounts, regions): FAILED anywhere
    /// wins, then UNKNOWN, then PASSED; NO_DATA only when there is no data anywhere.
    pub fn combine(statuses: impl IntoIterator<Item = DataStatus>) -> DataStatus {
        statuses
            .into_iter()
            .fold(DataStatus::NoData, |combined, status| {
                let rank = |status: DataStatus| match status {
                    DataStatus::Failed => 3,
                    DataStatus::Unknown => 2,
                    DataStatus::Passed => 1,
                    DataStatus::NoData => 0,
                };
                if rank(status) > rank(combined) {
                    status
                } else {
                    combined
                }
            })
    }
}

/// A security control of the catalogue.
#[derive(Debug, PartialEq, Eq)]
pub struct SecurityControl {
    /// The cross-standard id, such as `S3.1`; control findings carry it as
    /// `Compliance.SecurityControlId`.
    pub id: &'static str,
    /// The title.
    pub title: &'static str,
    /// `LOW`, `MEDIUM`, `HIGH` or `CRITICAL`.
    pub severity: &'static str,
}

impl SecurityControl {
    /// What the control checks.
    pub fn description(&self) -> String {
        format!("This control checks that: {}.", self.title)
    }

    /// Where AWS documents the control (`.../s3-controls.html#s3-1`).
    pub fn remediation_url(&self) -> String {
        let (service, number) = self.id.split_once('.').unwrap_or((self.id, ""));
        let service = service.to_ascii_lowercase();
        format!(
            "https://docs.aws.amazon.com/securityhub/latest/userguide/{service}-controls.html#{service}-{number}"
        )
    }
}

macro_rules! controls {
    ($($id:literal $severity:literal $title:literal,)*) => {
        &[$(SecurityControl { id: $id, title: $title, severity: $severity }),*]
    };
}

/// Every security control, in id order.
pub static SECURITY_CONTROLS: &[SecurityControl] = controls![
    "Account.1" "MEDIUM" "Security contact information should be provided for an AWS account",
    "CloudTrail.1" "HIGH" "CloudTrail should be enabled and configured with at least one multi-Region trail that includes read and write management events",
    "CloudTrail.2" "MEDIUM" "CloudTrail should have encryption at-rest enabled",
    "CloudTrail.4" "LOW" "CloudTrail log file validation should be enabled",
    "CloudTrail.5" "LOW" "CloudTrail trails should be integrated with Amazon CloudWatch Logs",
    "CloudWatch.1" "LOW" "A log metric filter and alarm should exist for usage of the root user",
    "Config.1" "MEDIUM" "AWS Config should be enabled and use the service-linked role for resource recording",
    "EC2.19" "CRITICAL" "Security groups should not allow unrestricted access to ports with high risk",
    "EC2.2" "HIGH" "VPC default security groups should not allow inbound or outbound traffic",
    "EC2.6" "MEDIUM" "VPC flow logging should be enabled in all VPCs",
    "EC2.8" "HIGH" "EC2 instances should use Instance Metadata Service Version 2 (IMDSv2)",
    "GuardDuty.1" "HIGH" "GuardDuty should be enabled",
    "IAM.1" "HIGH" "IAM policies should not allow full administrative privileges",
    "IAM.15" "MEDIUM" "IAM password policies should require a minimum password length of 14 or greater",
    "IAM.2" "LOW" "IAM users should not have IAM policies attached",
    "IAM.3" "MEDIUM" "IAM users' access keys should be rotated every 90 days or less",
    "IAM.4" "CRITICAL" "IAM root user access key should not exist",
    "IAM.5" "MEDIUM" "MFA should be enabled for all IAM users that have a console password",
    "IAM.6" "CRITICAL" "Hardware MFA should be enabled for the root user",
    "IAM.8" "MEDIUM" "Unused IAM user credentials should be removed",
    "IAM.9" "CRITICAL" "MFA should be enabled for the root user",
    "KMS.4" "MEDIUM" "AWS KMS key rotation should be enabled",
    "Lambda.1" "CRITICAL" "Lambda function policies should prohibit public access",
    "RDS.1" "CRITICAL" "RDS snapshots should be private",
    "RDS.2" "CRITICAL" "RDS DB instances should prohibit public access",
    "RDS.3" "MEDIUM" "RDS DB instances should have encryption at-rest enabled",
    "S3.1" "MEDIUM" "S3 general purpose buckets should have block public access settings enabled",
    "S3.2" "CRITICAL" "S3 general purpose buckets should block public read access",
    "S3.3" "CRITICAL" "S3 general purpose buckets should block public write access",
    "S3.5" "MEDIUM" "S3 general purpose buckets should require requests to use SSL",
    "S3.8" "HIGH" "S3 general purpose buckets should block public access",
];

/// The security control with `id`.
pub fn security_control(id: &str) -> Option<&'static SecurityControl> {
    SECURITY_CONTROLS.iter().find(|control| control.id == id)
}

/// A security standard of the catalogue.
#[derive(Debug, PartialEq, Eq)]
pub struct Standard {
    /// The standard's id as control findings name it in `Compliance.AssociatedStandards` and as
    /// the resource part of its ARN, such as
    /// `standards/aws-foundational-security-best-practices/v/1.0.0`.
    pub id: &'static str,
    /// True when the standard's ARN names the region.
    pub regional: bool,
    /// The name.
    pub name: &'static str,
    /// What it is.
    pub description: &'static str,
    /// Whether AWS enables it when a hub is enabled.
    pub enabled_by_default: bool,
    /// Its controls: (the standard's own control id, the security control id).
    pub controls: &'static [(&'static str, &'static str)],
}

/// The built-in standards.
pub static STANDARDS: &[Standard] = &[
    Standard {
        id: "standards/aws-foundational-security-best-practices/v/1.0.0",
        regional: true,
        name: "AWS Foundational Security Best Practices v1.0.0",
        description: "Controls that detect when AWS accounts and deployed resources do not \
                      align with security best practices (a subset of the AWS standard).",
        enabled_by_default: true,
        controls: &[
            ("Account.1", "Account.1"),
            ("CloudTrail.1", "CloudTrail.1"),
            ("CloudTrail.2", "CloudTrail.2"),
            ("CloudTrail.4", "CloudTrail.4"),
            ("CloudTrail.5", "CloudTrail.5"),
            ("Config.1", "Config.1"),
            ("EC2.19", "EC2.19"),
            ("EC2.2", "EC2.2"),
            ("EC2.6", "EC2.6"),
            ("EC2.8", "EC2.8"),
            ("GuardDuty.1", "GuardDuty.1"),
            ("IAM.1", "IAM.1"),
            ("IAM.2", "IAM.2"),
            ("IAM.3", "IAM.3"),
            ("IAM.4", "IAM.4"),
            ("IAM.5", "IAM.5"),
            ("IAM.6", "IAM.6"),
            ("IAM.8", "IAM.8"),
            ("Lambda.1", "Lambda.1"),
            ("RDS.1", "RDS.1"),
            ("RDS.2", "RDS.2"),
            ("RDS.3", "RDS.3"),
            ("S3.1", "S3.1"),
            ("S3.2", "S3.2"),
            ("S3.3", "S3.3"),
            ("S3.5", "S3.5"),
            ("S3.8", "S3.8"),
        ],
    },
    Standard {
        id: "ruleset/cis-aws-foundations-benchmark/v/1.2.0",
        regional: false,
        name: "CIS AWS Foundations Benchmark v1.2.0",
        description: "The Center for Internet Security AWS Foundations Benchmark v1.2.0 (a \
                      subset): security configuration best practices for AWS.",
        enabled_by_default: true,
        controls: &[
            ("1.1", "CloudWatch.1"),
            ("1.2", "IAM.5"),
            ("1.3", "IAM.8"),
            ("1.4", "IAM.3"),
            ("1.9", "IAM.15"),
            ("1.12", "IAM.4"),
            ("1.13", "IAM.9"),
            ("1.14", "IAM.6"),
            ("1.16", "IAM.2"),
            ("1.22", "IAM.1"),
            ("2.1", "CloudTrail.1"),
            ("2.2", "CloudTrail.4"),
            ("2.4", "CloudTrail.5"),
            ("2.5", "Config.1"),
            ("2.7", "CloudTrail.2"),
            ("2.8", "KMS.4"),
            ("2.9", "EC2.6"),
            ("4.3", "EC2.2"),
        ],
    },
];

impl Standard {
    /// The path after the id's first segment (`aws-foundational-security-best-practices/v/1.0.0`),
    /// which subscription and control ARNs use.
    fn path(&self) -> &'static str {
        self.id.split_once('/').map_or(self.id, |(_, path)| path)
    }

    /// The standard's ARN in `region`.
    pub fn arn(&self, region: &str) -> String {
        if self.regional {
            format!("arn:aws:securityhub:{region}::{}", self.id)
        } else {
            format!("arn:aws:securityhub:::{}", self.id)
        }
    }

    /// The ARN of `account_id`'s subscription to the standard in `region`.
    pub fn subscription_arn(&self, region: &str, account_id: &str) -> String {
        format!(
            "arn:aws:securityhub:{region}:{account_id}:subscription/{}",
            self.path()
        )
    }

    /// The ARN of one of the standard's controls for `account_id` in `region`.
    pub fn control_arn(&self, region: &str, account_id: &str, control_id: &str) -> String {
        format!(
            "arn:aws:securityhub:{region}:{account_id}:control/{}/{control_id}",
            self.path()
        )
    }

    /// The security control id of the standard's control `control_id`.
    pub fn security_control_id(&self, control_id: &str) -> Option<&'static str> {
        self.controls
            .iter()
            .find(|(own, _)| *own == control_id)
            .map(|(_, security)| *security)
    }
}

/// The standard whose ARN in `region` is `arn`.
pub fn standard_by_arn(arn: &str, region: &str) -> Option<&'static Standard> {
    STANDARDS
        .iter()
        .find(|standard| standard.arn(region) == arn)
}

/// The account and standard of a subscription ARN in `region`.
pub fn parse_subscription_arn(arn: &str, region: &str) -> Option<(String, &'static Standard)> {
    let rest = arn.strip_prefix(&format!("arn:aws:securityhub:{region}:"))?;
    let (account_id, path) = rest.split_once(":subscription/")?;
    let standard = STANDARDS.iter().find(|standard| standard.path() == path)?;
    Some((account_id.to_string(), standard))
}

/// The account, standard and standard's control id of a standards-control ARN in `region`.
pub fn parse_control_arn(
    arn: &str,
    region: &str,
) -> Option<(String, &'static Standard, &'static str)> {
    let rest = arn.strip_prefix(&format!("arn:aws:securityhub:{region}:"))?;
    let (account_id, path) = rest.split_once(":control/")?;
    STANDARDS.iter().find_map(|standard| {
        let control_id = path.strip_prefix(standard.path())?.strip_prefix('/')?;
        let (own, _) = standard
            .controls
            .iter()
            .find(|(own, _)| *own == control_id)?;
        Some((account_id.to_string(), standard, *own))
    })
}

/// The ARN of security control `id` for `account_id` in `region`.
pub fn security_control_arn(region: &str, account_id: &str, id: &str) -> String {
    format!("arn:aws:securityhub:{region}:{account_id}:security-control/{id}")
}

/// The status of each control of a standard and the standard's score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Tally {
    /// PASSED controls.
    pub passed: u32,
    /// FAILED controls.
    pub failed: u32,
    /// UNKNOWN controls.
    pub unknown: u32,
    /// Enabled controls without data.
    pub no_data: u32,
    /// Disabled controls.
    pub disabled: u32,
}

impl Tally {
    /// Counts one control.
    pub fn add(&mut self, enabled: bool, status: DataStatus) {
        match (enabled, status) {
            (false, _) => self.disabled += 1,
            (true, DataStatus::Passed) => self.passed += 1,
            (true, DataStatus::Failed) => self.failed += 1,
            (true, DataStatus::Unknown) => self.unknown += 1,
            (true, DataStatus::NoData) => self.no_data += 1,
        }
    }

    /// `round(100 × passed / (passed + failed + unknown))`: disabled controls and controls
    /// without data do not count; `None` when no control has data.
    pub fn score(&self) -> Option<u32> {
        let with_data = self.passed + self.failed + self.unknown;
        (with_data > 0).then(|| (200 * self.passed + with_data) / (2 * with_data))
    }
}

/// The summary score: the mean of the standards' scores (those that have one), rounded; `None`
/// when none has.
pub fn mean_score(scores: impl IntoIterator<Item = Option<u32>>) -> Option<u32> {
    let scores: Vec<u32> = scores.into_iter().flatten().collect();
    let count = u32::try_from(scores.len())
        .ok()
        .filter(|count| *count > 0)?;
    let total: u32 = scores.iter().sum();
    Some((2 * total + count) / (2 * count))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_follow_the_worst_finding() {
        let counts = |passed, failed, unknown| Counts {
            passed,
            failed,
            unknown,
        };
        assert_eq!(counts(3, 1, 1).status(), DataStatus::Failed);
        assert_eq!(counts(3, 0, 1).status(), DataStatus::Unknown);
        assert_eq!(counts(3, 0, 0).status(), DataStatus::Passed);
        assert_eq!(counts(0, 0, 0).status(), DataStatus::NoData);
        assert_eq!(
            DataStatus::combine([DataStatus::Passed, DataStatus::NoData, DataStatus::Failed]),
            DataStatus::Failed
        );
        assert_eq!(DataStatus::combine([]), DataStatus::NoData);
        for status in [
            DataStatus::Passed,
            DataStatus::Failed,
            DataStatus::Unknown,
            DataStatus::NoData,
        ] {
            assert_eq!(DataStatus::parse(status.as_str()), Some(status));
        }
    }

    #[test]
    fn scores_exclude_disabled_and_no_data_and_round() {
        // The spec's example: 12 enabled, 6 passed, 2 without data → 6 / 10 = 60 %.
        let mut tally = Tally::default();
        for _ in 0..6 {
            tally.add(true, DataStatus::Passed);
        }
        for _ in 0..4 {
            tally.add(true, DataStatus::Failed);
        }
        for _ in 0..2 {
            tally.add(true, DataStatus::NoData);
        }
        tally.add(false, DataStatus::Failed);
        assert_eq!(tally.score(), Some(60));
        let two_of_three = Tally {
            passed: 2,
            unknown: 1,
            ..Default::default()
        };
        assert_eq!(two_of_three.score(), Some(67));
        assert_eq!(Tally::default().score(), None);
        assert_eq!(mean_score([Some(60), None, Some(67)]), Some(64));
        assert_eq!(mean_score([None]), None);
    }

    #[test]
    fn catalogue_is_consistent_and_arns_round_trip() {
        for pair in SECURITY_CONTROLS.windows(2) {
            assert!(pair[0].id < pair[1].id);
        }
        for standard in STANDARDS {
            for (own, security) in standard.controls {
                assert!(security_control(security).is_some(), "{security}");
                let arn = standard.control_arn("eu-west-1", "111111111111", own);
                let (account, parsed, control) = parse_control_arn(&arn, "eu-west-1").unwrap();
                assert_eq!(
                    (account.as_str(), parsed, control),
                    ("111111111111", standard, *own)
                );
            }
            let arn = standard.subscription_arn("eu-west-1", "111111111111");
            assert_eq!(
                parse_subscription_arn(&arn, "eu-west-1"),
                Some(("111111111111".to_string(), standard))
            );
            assert_eq!(
                standard_by_arn(&standard.arn("eu-west-1"), "eu-west-1"),
                Some(standard)
            );
        }
        assert_eq!(
            STANDARDS[0].arn("us-east-1"),
            "arn:aws:securityhub:us-east-1::standards/aws-foundational-security-best-practices/v/1.0.0"
        );
        assert_eq!(
            STANDARDS[1].arn("us-east-1"),
            "arn:aws:securityhub:::ruleset/cis-aws-foundations-benchmark/v/1.2.0"
        );
        assert_eq!(
            security_control("S3.1").unwrap().remediation_url(),
            "https://docs.aws.amazon.com/securityhub/latest/userguide/s3-controls.html#s3-1"
        );
        assert_eq!(
            parse_control_arn("arn:aws:securityhub:eu-west-1:1:control/x/1.1", "eu-west-1"),
            None
        );
    }
}
