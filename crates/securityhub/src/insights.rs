//! Insights (spec §3.10): the managed catalogue, insight ARNs, the validation of custom insight
//! definitions, and their results (grouped counts computed by [`crate::query::group_counts`]).

use tributary_proto::collector::v1 as pb;
use tributary_runtime::{Error, Violations};

use crate::{
    attributes::attribute,
    filter::{Filters, INVALID_INPUT},
};

/// Custom insights per account and region.
pub const MAX_CUSTOM_INSIGHTS: u64 = 100;
/// Groups one GetInsightResults returns at most.
pub const MAX_RESULT_GROUPS: u64 = 100;
/// The longest insight name.
pub const MAX_NAME_CHARS: usize = 256;

const MANAGED_PREFIX: &str = "arn:aws:securityhub:::insight/securityhub/default/";

/// The ARN of managed insight `number`.
pub fn managed_arn(number: u32) -> String {
    format!("{MANAGED_PREFIX}{number}")
}

/// The ARN of a custom insight of `account_id` in `region` with id `id` (a UUID).
pub fn custom_arn(region: &str, account_id: &str, id: &str) -> String {
    format!("arn:aws:securityhub:{region}:{account_id}:insight/{account_id}/custom/{id}")
}

/// The account of a custom insight ARN of `region`.
pub fn parse_custom_arn(arn: &str, region: &str) -> Option<String> {
    let rest = arn.strip_prefix(&format!("arn:aws:securityhub:{region}:"))?;
    let (account_id, rest) = rest.split_once(":insight/")?;
    let id = rest.strip_prefix(account_id)?.strip_prefix("/custom/")?;
    (!account_id.is_empty() && !id.is_empty() && !id.contains('/')).then(|| account_id.to_string())
}

fn string(value: &str, comparison: pb::StringFilterComparison) -> pb::StringFilter {
    pb::StringFilter {
        value: value.into(),
        comparison: comparison as i32,
    }
}

fn equals(values: &[&str]) -> Vec<pb::StringFilter> {
    values
        .iter()
        .map(|value| string(value, pb::StringFilterComparison::Equals))
        .collect()
}

fn prefixes(values: &[&str]) -> Vec<pb::StringFilter> {
    values
        .iter()
        .map(|value| string(value, pb::StringFilterComparison::Prefix))
        .collect()
}

const BEST_PRACTICES: &str = "Software and Configuration Checks/Industry and Regulatory Standards/AWS Security Best Practices";
const NETWORK_REACHABILITY: &str =
    "Software and Configuration Checks/AWS Security Best Practices/Network Reachability";

/// One managed insight: its number, name, grouping, and the filters beyond the ones every managed
/// insight has (record state ACTIVE, workflow NEW or NOTIFIED).
struct Managed {
    number: u32,
    name: &'static str,
    group_by: &'static str,
    types_equal: &'static [&'static str],
    types_prefix: &'static [&'static str],
    resource_type: &'static str,
    failed_checks_of: Option<&'static str>,
}

const fn managed(number: u32, name: &'static str, group_by: &'static str) -> Managed {
    Managed {
        number,
        name,
        group_by,
        types_equal: &[],
        types_prefix: &[],
        resource_type: "",
        failed_checks_of: None,
    }
}

const fn of_type(mut insight: Managed, resource_type: &'static str) -> Managed {
    insight.resource_type = resource_type;
    insight
}

const fn typed(mut insight: Managed, prefixes: &'static [&'static str]) -> Managed {
    insight.types_prefix = prefixes;
    insight
}

/// The managed insights of the 2023 catalogue, except number 26 (threat-intel indicators, which
/// findings here do not carry).
static MANAGED: &[Managed] = &[
    managed(1, "AWS resources with the most findings", "ResourceId"),
    of_type(
        managed(
            3,
            "AMIs that are generating the most findings",
            "ResourceAwsEc2InstanceImageId",
        ),
        "AwsEc2Instance",
    ),
    Managed {
        types_equal: &[BEST_PRACTICES],
        ..managed(
            6,
            "AWS resources instances that don't meet security standards / best practices",
            "ResourceId",
        )
    },
    typed(
        managed(
            7,
            "AWS resources associated with potential data exfiltration",
            "ResourceId",
        ),
        &["Effects/Data Exfiltration/"],
    ),
    typed(
        managed(
            8,
            "AWS resources associated with unauthorized resource consumption",
            "ResourceId",
        ),
        &["Effects/Resource Consumption"],
    ),
    of_type(
        managed(
            9,
            "AWS principals with suspicious access key activity",
            "ResourceAwsIamAccessKeyPrincipalName",
        ),
        "AwsIamAccessKey",
    ),
    of_type(
        typed(
            managed(
                10,
                "S3 buckets with public write or read permissions",
                "ResourceId",
            ),
            &["Effects/Data Exposure"],
        ),
        "AwsS3Bucket",
    ),
    Managed {
        types_equal: &[BEST_PRACTICES],
        resource_type: "AwsS3Bucket",
        ..managed(
            11,
            "S3 buckets that don't meet security standards / best practice",
            "ResourceId",
        )
    },
    of_type(
        typed(
            managed(12, "S3 buckets with sensitive data", "ResourceId"),
            &["Sensitive Data Identifications/"],
        ),
        "AwsS3Bucket",
    ),
    typed(
        managed(13, "Credentials that may have leaked", "ResourceId"),
        &["Sensitive Data Identifications/Passwords/"],
    ),
    of_type(
        typed(
            managed(
                14,
                "EC2 instances involved in known Tactics, Techniques, and Procedures (TTPs)",
                "ResourceId",
            ),
            &["TTPs"],
        ),
        "AwsEc2Instance",
    ),
    of_type(
        typed(
            managed(
                16,
                "EC2 instances that have missing security patches for important vulnerabilities",
                "ResourceId",
            ),
            &["Software and Configuration Checks/Vulnerabilities/CVE"],
        ),
        "AwsEc2Instance",
    ),
    of_type(
        typed(
            managed(
                17,
                "EC2 instances with general unusual behavior",
                "ResourceId",
            ),
            &["Unusual Behaviors"],
        ),
        "AwsEc2Instance",
    ),
    of_type(
        typed(
            managed(
                18,
                "EC2 instances that have ports accessible from the Internet",
                "ResourceId",
            ),
            &[NETWORK_REACHABILITY],
        ),
        "AwsEc2Instance",
    ),
    of_type(
        typed(
            managed(
                19,
                "EC2 instances that don't meet security standards / best practices",
                "ResourceId",
            ),
            &[
                "Software and Configuration Checks/Industry and Regulatory Standards/",
                "Software and Configuration Checks/AWS Security Best Practices",
            ],
        ),
        "AwsEc2Instance",
    ),
    of_type(
        typed(
            managed(
                21,
                "EC2 instances that are open to the Internet",
                "ResourceId",
            ),
            &[NETWORK_REACHABILITY],
        ),
        "AwsEc2Instance",
    ),
    of_type(
        typed(
            managed(
                22,
                "EC2 instances associated with adversary reconnaissance",
                "ResourceId",
            ),
            &["TTPs/Discovery/Recon"],
        ),
        "AwsEc2Instance",
    ),
    typed(
        managed(
            23,
            "AWS resources that are associated with malware",
            "ResourceId",
        ),
        &[
            "Effects/Data Exfiltration/Trojan",
            "TTPs/Initial Access/Trojan",
            "TTPs/Command and Control/Backdoor",
            "TTPs/Command and Control/Trojan",
            "Software and Configuration Checks/Backdoor",
            "Unusual Behaviors/VM/Backdoor",
        ],
    ),
    typed(
        managed(
            24,
            "AWS resources associated with cryptocurrency issues",
            "ResourceId",
        ),
        &[
            "Effects/Resource Consumption/Cryptocurrency",
            "TTPs/Command and Control/CryptoCurrency",
        ],
    ),
    typed(
        managed(
            25,
            "AWS resources with unauthorized access attempts",
            "ResourceId",
        ),
        &[
            "TTPs/Command and Control/UnauthorizedAccess",
            "TTPs/Initial Access/UnauthorizedAccess",
            "Effects/Data Exfiltration/UnauthorizedAccess",
            "Unusual Behaviors/User/UnauthorizedAccess",
            "Effects/Resource Consumption/UnauthorizedAccess",
        ],
    ),
    managed(27, "Top accounts by counts of findings", "AwsAccountId"),
    managed(28, "Top products by counts of findings", "ProductArn"),
    managed(29, "Severity by counts of findings", "SeverityLabel"),
    of_type(
        managed(30, "Top S3 buckets by counts of findings", "ResourceId"),
        "AwsS3Bucket",
    ),
    of_type(
        managed(31, "Top EC2 instances by counts of findings", "ResourceId"),
        "AwsEc2Instance",
    ),
    of_type(
        managed(
            32,
            "Top AMIs by counts of findings",
            "ResourceAwsEc2InstanceImageId",
        ),
        "AwsEc2Instance",
    ),
    of_type(
        managed(
            33,
            "Top IAM users by counts of findings",
            "ResourceAwsIamAccessKeyUserName",
        ),
        "AwsIamAccessKey",
    ),
    Managed {
        failed_checks_of: Some(
            "arn:aws:securityhub:::ruleset/cis-aws-foundations-benchmark/v/1.2.0/rule",
        ),
        ..managed(
            34,
            "Top resources by counts of failed CIS checks",
            "ResourceId",
        )
    },
    managed(35, "Top integrations by counts of findings", "ProductArn"),
    Managed {
        failed_checks_of: Some(""),
        ..managed(
            36,
            "Resources with the most failed security checks",
            "ResourceId",
        )
    },
    of_type(
        managed(
            37,
            "IAM users with suspicious activity",
            "ResourceAwsIamUserUserName",
        ),
        "AwsIamUser",
    ),
];

impl Managed {
    fn insight(&self) -> pb::Insight {
        let mut filters = pb::FindingFilters {
            record_state: equals(&["ACTIVE"]),
            workflow_status: equals(&["NEW", "NOTIFIED"]),
            ..Default::default()
        };
        filters.r#type = equals(self.types_equal);
        filters.r#type.extend(prefixes(self.types_prefix));
        if !self.resource_type.is_empty() {
            filters.resource_type = equals(&[self.resource_type]);
        }
        if let Some(generator_prefix) = self.failed_checks_of {
            if !generator_prefix.is_empty() {
                filters.generator_id = prefixes(&[generator_prefix]);
            }
            filters.compliance_status = equals(&["FAILED"]);
            filters.updated_at = vec![pb::DateFilter {
                date_range: Some(pb::DateRange {
                    value: 1,
                    unit: pb::DateRangeUnit::Days as i32,
                    comparison: pb::DateRangeComparison::Within as i32,
                }),
                ..Default::default()
            }];
        }
        pb::Insight {
            insight_arn: managed_arn(self.number),
            name: self.name.to_string(),
            filters: Some(filters),
            group_by_attribute: self.group_by.to_string(),
        }
    }
}

/// Every managed insight, in ARN-number order.
pub fn managed_insights() -> Vec<pb::Insight> {
    MANAGED.iter().map(Managed::insight).collect()
}

/// The managed insight with `arn`.
pub fn managed_insight(arn: &str) -> Option<pb::Insight> {
    let number: u32 = arn.strip_prefix(MANAGED_PREFIX)?.parse().ok()?;
    MANAGED
        .iter()
        .find(|managed| managed.number == number)
        .map(Managed::insight)
}

/// Records what is wrong with a name.
fn check_name(name: &str, violations: &mut Violations) {
    if name.trim().is_empty() || name.chars().count() > MAX_NAME_CHARS {
        violations.add(
            "name",
            format!("must be 1-{MAX_NAME_CHARS} characters and not blank"),
        );
    }
}

/// Records what is wrong with a group-by attribute.
fn check_group_by(group_by: &str, violations: &mut Violations) {
    if !attribute(group_by).is_some_and(|attribute| attribute.groupable()) {
        violations.add(
            "group_by_attribute",
            format!(
                "{group_by:?} is not an attribute insights group by; use a string attribute \
                 such as ResourceId, ResourceType, AwsAccountId, ProductName, SeverityLabel or \
                 Type"
            ),
        );
    }
}

/// Validates a custom insight definition (fields as in CreateInsight; UpdateInsight passes
/// `None` for what it keeps); fails with `InvalidInputException`.
pub fn validate(
    name: Option<&str>,
    filters: Option<&pb::FindingFilters>,
    group_by: Option<&str>,
) -> Result<(), Error> {
    let mut violations = Violations::new();
    if let Some(name) = name {
        check_name(name, &mut violations);
    }
    if let Some(group_by) = group_by {
        check_group_by(group_by, &mut violations);
    }
    violations.finish_with(INVALID_INPUT)?;
    if let Some(filters) = filters {
        Filters::parse(filters, "filters")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn managed_insights_are_valid_and_numbered_as_aws_numbers_them() {
        let insights = managed_insights();
        let numbers: Vec<u32> = MANAGED.iter().map(|managed| managed.number).collect();
        let mut expected: Vec<u32> = [1, 3]
            .into_iter()
            .chain(6..=14)
            .chain(16..=19)
            .chain(21..=37)
            .filter(|number| *number != 26)
            .collect();
        expected.sort_unstable();
        assert_eq!(numbers, expected);
        for insight in &insights {
            validate(
                Some(&insight.name),
                insight.filters.as_ref(),
                Some(&insight.group_by_attribute),
            )
            .unwrap_or_else(|error| panic!("{}: {error}", insight.insight_arn));
            assert_eq!(
                managed_insight(&insight.insight_arn).as_ref(),
                Some(insight)
            );
        }
        assert_eq!(managed_insight(&managed_arn(26)), None);
        assert_eq!(
            managed_insight("arn:aws:securityhub:::insight/securityhub/default/x"),
            None
        );
    }

    #[test]
    fn custom_arns_name_their_account() {
        let arn = custom_arn(
            "eu-west-1",
            "111111111111",
            "4c7d2f4e-0000-4000-8000-000000000001",
        );
        assert_eq!(
            parse_custom_arn(&arn, "eu-west-1").as_deref(),
            Some("111111111111")
        );
        assert_eq!(parse_custom_arn(&arn, "us-east-1"), None);
        assert_eq!(parse_custom_arn(&managed_arn(1), "eu-west-1"), None);
        assert_eq!(
            parse_custom_arn(
                "arn:aws:securityhub:eu-west-1:111111111111:insight/222222222222/custom/x",
                "eu-west-1"
            ),
            None
        );
    }

    #[test]
    fn definitions_need_a_name_and_a_groupable_attribute() {
        assert!(validate(Some("mine"), None, Some("ResourceType")).is_ok());
        for (name, group_by) in [
            (" ", "ResourceType"),
            ("mine", "ResourceTags"),
            ("mine", "Nope"),
        ] {
            assert!(
                validate(Some(name), None, Some(group_by)).is_err(),
                "{name} {group_by}"
            );
        }
    }
}
