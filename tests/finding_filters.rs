//! End-to-end tests of GetFindings' AWS filter language over real gRPC, on SQLite and
//! PostgreSQL: every operator and combination rule, hand-picked and randomised, checked against
//! a reference evaluation written here in plain Rust over the stored findings; sorting both ways;
//! paging; refused filters; the account scope; and the back-fill of findings stored before the
//! filter index existed.

// A panic in a test is a failed assertion with a location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::{
    collections::BTreeMap,
    net::IpAddr,
    time::{SystemTime, UNIX_EPOCH},
};

use sea_orm::{ConnectionTrait, Statement};
use sea_orm_migration::MigratorTrait;
use support::{Backend, TestCluster, make_enabled_member, postgres::TestDatabases, reason};
use tonic::Code;
use tributary_proto::collector::v1 as pb;

use pb::StringFilterComparison as C;

on_both_backends!(
    every_operator_matches_the_reference,
    sorting_paging_and_refusals,
    accounts_scope_the_search,
    findings_stored_before_the_index_are_backfilled,
);

const REGION: &str = "us-east-1";
const ACCOUNT: &str = "111111111111";
const MEMBER: &str = "222222222222";
const DAY: i64 = 86_400;

/// A small deterministic generator, so every run sees the same findings and filters.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    fn pick<T: Clone>(&mut self, items: &[T]) -> T {
        items[usize::try_from(self.below(items.len() as u64)).unwrap()].clone()
    }
}

fn now() -> i64 {
    i64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap()
}

fn at(seconds: i64) -> Option<prost_types::Timestamp> {
    Some(prost_types::Timestamp { seconds, nanos: 0 })
}

fn text(value: &str) -> prost_types::Value {
    prost_types::Value {
        kind: Some(prost_types::value::Kind::StringValue(value.into())),
    }
}

fn object(fields: Vec<(&str, prost_types::Value)>) -> prost_types::Value {
    prost_types::Value {
        kind: Some(prost_types::value::Kind::StructValue(prost_types::Struct {
            fields: fields
                .into_iter()
                .map(|(key, value)| (key.to_string(), value))
                .collect(),
        })),
    }
}

fn list(values: Vec<String>) -> prost_types::Value {
    prost_types::Value {
        kind: Some(prost_types::value::Kind::ListValue(
            prost_types::ListValue {
                values: values.iter().map(|value| text(value)).collect(),
            },
        )),
    }
}

const LONG: &str =
    "a-long-shared-beginning-that-is-longer-than-the-indexed-head-of-sixty-four-chars";

const TITLES: [&str; 9] = [
    "Alpha",
    "alpha",
    "Alphabet soup",
    "Beta",
    "beta test",
    "Gamma ray",
    "S3 bucket open",
    "Ärger über Öl",
    LONG,
];
const TYPES: [&str; 6] = [
    "TTPs",
    "TTPs/Discovery/Recon",
    "Effects/Data Exposure",
    "Software and Configuration Checks",
    "Software and Configuration Checks/Vulnerabilities/CVE",
    "Unusual Behaviors/VM",
];
const RESOURCE_TYPES: [&str; 4] = ["AwsS3Bucket", "AwsEc2Instance", "AwsIamAccessKey", "Other"];
const LABELS: [pb::SeverityLabel; 5] = [
    pb::SeverityLabel::Informational,
    pb::SeverityLabel::Low,
    pb::SeverityLabel::Medium,
    pb::SeverityLabel::High,
    pb::SeverityLabel::Critical,
];

/// The findings every test imports: varied in every filterable attribute.
fn findings(count: usize, now: i64) -> Vec<pb::Finding> {
    let mut rng = Rng(7);
    (0..count)
        .map(|index| {
            let mut finding = support::sample_finding(
                REGION,
                ACCOUNT,
                &format!("f{index:02}"),
                rng.pick(&LABELS),
                now - i64::try_from(rng.below(9)).unwrap() * DAY
                    - 3_600 * (1 + (index as i64 % 20)),
            );
            finding.title = if index % 7 == 3 {
                format!("{LONG}-{}", index % 2)
            } else {
                (rng.pick(&TITLES)).to_string()
            };
            finding.description = rng
                .pick(&["a short one", "the description of it", "Data!"])
                .to_string();
            finding.generator_id = rng
                .pick(&[
                    "check-1",
                    "check-2",
                    "arn:aws:securityhub:::ruleset/cis-aws-foundations-benchmark/v/1.2.0/rule/1.1",
                    "security-control/S3.1",
                ])
                .to_string();
            let types = 1 + rng.below(3);
            finding.types = (0..types).map(|_| rng.pick(&TYPES).to_string()).collect();
            if rng.chance(30) {
                finding.severity = Some(pb::FindingSeverity {
                    normalized: Some(i32::try_from(rng.below(101)).unwrap()),
                    ..Default::default()
                });
            }
            finding.confidence = rng
                .chance(60)
                .then(|| i32::try_from(rng.below(101)).unwrap());
            finding.criticality = rng
                .chance(50)
                .then(|| i32::try_from(rng.below(101)).unwrap());
            finding.created_at =
                at(now - 20 * DAY + i64::try_from(rng.below(10)).unwrap() * DAY + 7_200);
            if rng.chance(70) {
                finding.first_observed_at =
                    at(now - i64::try_from(rng.below(12)).unwrap() * DAY - 5_400);
            }
            if rng.chance(50) {
                finding.last_observed_at =
                    at(now - i64::try_from(rng.below(4)).unwrap() * DAY - 1_800);
            }
            if rng.chance(25) {
                finding.record_state = pb::RecordState::Archived as i32;
            }
            if rng.chance(60) {
                finding.workflow = Some(pb::FindingWorkflow {
                    status: rng.pick(&[
                        pb::WorkflowStatus::New as i32,
                        pb::WorkflowStatus::Notified as i32,
                        pb::WorkflowStatus::Suppressed as i32,
                    ]),
                });
            }
            finding.verification_state = i32::try_from(rng.below(5)).unwrap();
            if rng.chance(50) {
                finding.compliance = Some(pb::FindingCompliance {
                    status: i32::try_from(1 + rng.below(4)).unwrap(),
                    security_control_id: rng.pick(&["S3.1", "S3.2", "IAM.1", ""]).to_string(),
                    associated_standards: vec![pb::FindingAssociatedStandard {
                        standards_id: rng
                            .pick(&[
                                "standards/aws-foundational-security-best-practices/v/1.0.0",
                                "ruleset/cis-aws-foundations-benchmark/v/1.2.0",
                            ])
                            .to_string(),
                    }],
                    ..Default::default()
                });
            }
            let resources = 1 + rng.below(3);
            finding.resources = (0..resources)
                .map(|number| {
                    let kind = rng.pick(&RESOURCE_TYPES);
                    let id = if rng.chance(30) {
                        format!("{LONG}/{}", rng.below(3))
                    } else {
                        format!("arn:aws:{}:::{}-{}", kind.to_lowercase(), index, number)
                    };
                    let mut tags = BTreeMap::new();
                    if rng.chance(70) {
                        tags.insert(
                            "env".to_string(),
                            rng.pick(&["prod", "dev", "test"]).to_string(),
                        );
                    }
                    if rng.chance(50) {
                        tags.insert("team".to_string(), rng.pick(&["red", "blue"]).to_string());
                    }
                    if rng.chance(20) {
                        tags.insert(format!("{LONG}-key"), format!("{LONG}-{}", rng.below(2)));
                    }
                    let mut details = Vec::new();
                    if kind == "AwsEc2Instance" {
                        details.push((
                            "AwsEc2Instance",
                            object(vec![
                                ("ImageId", text(&format!("ami-{}", rng.below(4)))),
                                (
                                    "IpV4Addresses",
                                    list(vec![format!("10.0.{}.{}", rng.below(3), rng.below(250))]),
                                ),
                                (
                                    "IpV6Addresses",
                                    list(vec![format!(
                                        "2001:db8:{}::{}",
                                        rng.below(3),
                                        rng.below(9)
                                    )]),
                                ),
                            ]),
                        ));
                    }
                    if rng.chance(30) {
                        details.push((
                            "Other",
                            object(vec![("stage", text(rng.pick::<&str>(&["one", "two"])))]),
                        ));
                    }
                    pb::FindingResource {
                        r#type: kind.into(),
                        id,
                        partition: rng.pick(&["aws", "aws-cn", ""]).to_string(),
                        region: rng.pick(&["us-east-1", "eu-west-1", ""]).to_string(),
                        tags: tags.into_iter().collect(),
                        details: (!details.is_empty()).then(|| prost_types::Struct {
                            fields: details
                                .into_iter()
                                .map(|(key, value)| (key.to_string(), value))
                                .collect(),
                        }),
                    }
                })
                .collect();
            if rng.chance(60) {
                finding.product_fields.insert(
                    "vendor/product/mode".into(),
                    rng.pick(&["audit", "enforce"]).to_string(),
                );
            }
            if rng.chance(40) {
                finding
                    .user_defined_fields
                    .insert("owner".into(), rng.pick(&["alice", "bob"]).to_string());
            }
            if rng.chance(40) {
                finding.note = Some(pb::FindingNote {
                    text: rng.pick(&["look at this", "false alarm"]).to_string(),
                    updated_by: rng.pick(&["alice", "bob"]).to_string(),
                    updated_at: at(now - i64::try_from(rng.below(6)).unwrap() * DAY - 600),
                });
            }
            if rng.chance(30) {
                finding.related_findings = vec![pb::FindingRelatedFinding {
                    product_arn: "arn:aws:securityhub:us-east-1::product/aws/guardduty".into(),
                    id: format!("related-{}", rng.below(3)),
                }];
            }
            if rng.chance(50) {
                finding.source_url = format!("https://example.com/{}", rng.below(3));
            }
            if rng.chance(40) {
                finding.remediation = Some(pb::FindingRemediation {
                    recommendation: Some(pb::FindingRecommendation {
                        text: rng
                            .pick(&["Block public access", "Rotate keys"])
                            .to_string(),
                        url: String::new(),
                    }),
                });
            }
            finding.sample = rng.chance(30);
            finding
        })
        .collect()
}

/// The values a stored finding has for an attribute, extracted independently of the server.
enum Values {
    Strings(Vec<String>),
    Number(Option<f64>),
    Date(Option<i64>),
    Map(Vec<(String, String)>),
    Boolean(bool),
    Ips(Vec<IpAddr>),
}

fn enum_name(full: &str, prefix: &str) -> Vec<String> {
    match full.strip_prefix(prefix) {
        Some("UNSPECIFIED") | None => Vec::new(),
        Some(name) => vec![name.to_string()],
    }
}

fn seconds(timestamp: Option<&prost_types::Timestamp>) -> Option<i64> {
    timestamp.map(|timestamp| timestamp.seconds)
}

fn detail_strings(finding: &pb::Finding, object: &str, field: &str) -> Vec<String> {
    let mut values = Vec::new();
    for resource in &finding.resources {
        let Some(details) = &resource.details else {
            continue;
        };
        let Some(prost_types::value::Kind::StructValue(inner)) = details
            .fields
            .get(object)
            .and_then(|value| value.kind.as_ref())
        else {
            continue;
        };
        match inner
            .fields
            .get(field)
            .and_then(|value| value.kind.as_ref())
        {
            Some(prost_types::value::Kind::StringValue(value)) => values.push(value.clone()),
            Some(prost_types::value::Kind::ListValue(list)) => {
                for value in &list.values {
                    if let Some(prost_types::value::Kind::StringValue(value)) = &value.kind {
                        values.push(value.clone());
                    }
                }
            }
            _ => {}
        }
    }
    values
}

fn values_of(finding: &pb::Finding, attribute: &str) -> Values {
    let strings = |values: Vec<&str>| {
        Values::Strings(
            values
                .into_iter()
                .filter(|value| !value.is_empty())
                .map(str::to_string)
                .collect(),
        )
    };
    let one = |value: &str| strings(vec![value]);
    let resources = |pick: fn(&pb::FindingResource) -> &str| {
        strings(finding.resources.iter().map(pick).collect())
    };
    let provider = finding.finding_provider_fields.clone().unwrap_or_default();
    let compliance = finding.compliance.clone().unwrap_or_default();
    let note = finding.note.clone();
    let severity = finding.severity.clone().unwrap_or_default();
    match attribute {
        "Title" => one(&finding.title),
        "Description" => one(&finding.description),
        "Id" => one(&finding.id),
        "AwsAccountId" => one(&finding.aws_account_id),
        "ProductArn" => one(&finding.product_arn),
        "ProductName" => one(&finding.product_name),
        "CompanyName" => one(&finding.company_name),
        "Region" => one(&finding.region),
        "GeneratorId" => one(&finding.generator_id),
        "SourceUrl" => one(&finding.source_url),
        "RecommendationText" => one(&finding
            .remediation
            .clone()
            .and_then(|remediation| remediation.recommendation)
            .map(|recommendation| recommendation.text)
            .unwrap_or_default()),
        "SeverityLabel" => {
            Values::Strings(enum_name(severity.label().as_str_name(), "SEVERITY_LABEL_"))
        }
        "RecordState" => Values::Strings(enum_name(
            finding.record_state().as_str_name(),
            "RECORD_STATE_",
        )),
        "WorkflowStatus" => Values::Strings(enum_name(
            finding.workflow.unwrap_or_default().status().as_str_name(),
            "WORKFLOW_STATUS_",
        )),
        "WorkflowState" => Values::Strings(enum_name(
            finding.workflow_state().as_str_name(),
            "WORKFLOW_STATE_",
        )),
        "VerificationState" => Values::Strings(enum_name(
            finding.verification_state().as_str_name(),
            "VERIFICATION_STATE_",
        )),
        "ComplianceStatus" => Values::Strings(enum_name(
            compliance.status().as_str_name(),
            "COMPLIANCE_STATUS_",
        )),
        "ComplianceSecurityControlId" => one(&compliance.security_control_id),
        "ComplianceAssociatedStandardsId" => strings(
            compliance
                .associated_standards
                .iter()
                .map(|standard| standard.standards_id.as_str())
                .collect(),
        ),
        "NoteText" => one(note.as_ref().map_or("", |note| note.text.as_str())),
        "NoteUpdatedBy" => one(note.as_ref().map_or("", |note| note.updated_by.as_str())),
        "NoteUpdatedAt" => Values::Date(
            note.as_ref()
                .and_then(|note| seconds(note.updated_at.as_ref())),
        ),
        "Type" => strings(finding.types.iter().map(String::as_str).collect()),
        "FindingProviderFieldsTypes" => {
            strings(provider.types.iter().map(String::as_str).collect())
        }
        "FindingProviderFieldsSeverityLabel" => Values::Strings(enum_name(
            provider
                .severity
                .clone()
                .unwrap_or_default()
                .label()
                .as_str_name(),
            "SEVERITY_LABEL_",
        )),
        "RelatedFindingsId" => strings(
            finding
                .related_findings
                .iter()
                .map(|related| related.id.as_str())
                .collect(),
        ),
        "RelatedFindingsProductArn" => strings(
            finding
                .related_findings
                .iter()
                .map(|related| related.product_arn.as_str())
                .collect(),
        ),
        "ResourceType" => resources(|resource| resource.r#type.as_str()),
        "ResourceId" => resources(|resource| resource.id.as_str()),
        "ResourcePartition" => resources(|resource| resource.partition.as_str()),
        "ResourceRegion" => resources(|resource| resource.region.as_str()),
        "ResourceAwsEc2InstanceImageId" => {
            Values::Strings(detail_strings(finding, "AwsEc2Instance", "ImageId"))
        }
        "ResourceAwsEc2InstanceIpV4Addresses" => Values::Ips(
            detail_strings(finding, "AwsEc2Instance", "IpV4Addresses")
                .iter()
                .filter_map(|address| address.parse().ok())
                .collect(),
        ),
        "ResourceAwsEc2InstanceIpV6Addresses" => Values::Ips(
            detail_strings(finding, "AwsEc2Instance", "IpV6Addresses")
                .iter()
                .filter_map(|address| address.parse().ok())
                .collect(),
        ),
        "ResourceTags" => Values::Map(
            finding
                .resources
                .iter()
                .flat_map(|resource| resource.tags.clone())
                .collect(),
        ),
        "ResourceDetailsOther" => Values::Map(
            detail_strings(finding, "Other", "stage")
                .into_iter()
                .map(|value| ("stage".to_string(), value))
                .collect(),
        ),
        "ProductFields" => Values::Map(finding.product_fields.clone().into_iter().collect()),
        "UserDefinedFields" => {
            Values::Map(finding.user_defined_fields.clone().into_iter().collect())
        }
        "SeverityNormalized" => Values::Number(severity.normalized.map(f64::from)),
        "Confidence" => Values::Number(finding.confidence.map(f64::from)),
        "Criticality" => Values::Number(finding.criticality.map(f64::from)),
        "FindingProviderFieldsConfidence" => Values::Number(provider.confidence.map(f64::from)),
        "CreatedAt" => Values::Date(seconds(finding.created_at.as_ref())),
        "UpdatedAt" => Values::Date(seconds(finding.updated_at.as_ref())),
        "FirstObservedAt" => Values::Date(seconds(finding.first_observed_at.as_ref())),
        "LastObservedAt" => Values::Date(seconds(finding.last_observed_at.as_ref())),
        "Sample" => Values::Boolean(finding.sample),
        other => panic!("the reference does not know {other}"),
    }
}

/// One attribute's filters, as the test builds them.
#[derive(Debug, Clone)]
enum Given {
    String(Vec<pb::StringFilter>),
    Map(Vec<pb::MapFilter>),
    Number(Vec<pb::NumberFilter>),
    Date(Vec<pb::DateFilter>),
    Boolean(Vec<pb::BooleanFilter>),
    Ip(Vec<pb::IpFilter>),
}

fn positive(comparison: i32) -> bool {
    matches!(
        C::try_from(comparison).unwrap(),
        C::Equals | C::Prefix | C::Contains
    )
}

fn string_test(comparison: i32, wanted: &str, candidate: &str) -> bool {
    match C::try_from(comparison).unwrap() {
        C::Equals | C::NotEquals => candidate == wanted,
        C::Prefix | C::PrefixNotEquals => candidate.starts_with(wanted),
        C::Contains | C::NotContains => candidate.contains(wanted),
        other => panic!("no reference for {other:?}"),
    }
}

fn in_network(address: IpAddr, cidr: &str) -> bool {
    let (network, length) = cidr.split_once('/').unwrap();
    let length: u32 = length.parse().unwrap();
    match (address, network.parse::<IpAddr>().unwrap()) {
        (IpAddr::V4(address), IpAddr::V4(network)) => {
            let shift = 32 - length;
            (u32::from(address).checked_shr(shift).unwrap_or(0))
                == (u32::from(network).checked_shr(shift).unwrap_or(0))
        }
        (IpAddr::V6(address), IpAddr::V6(network)) => {
            let shift = 128 - length;
            (u128::from(address).checked_shr(shift).unwrap_or(0))
                == (u128::from(network).checked_shr(shift).unwrap_or(0))
        }
        _ => false,
    }
}

/// Whether `finding` passes one attribute's filters, by the rules of the spec.
fn passes(finding: &pb::Finding, attribute: &str, given: &Given, now: i64) -> bool {
    match (values_of(finding, attribute), given) {
        (Values::Strings(values), Given::String(filters)) => {
            let (positives, negatives): (Vec<_>, Vec<_>) = filters
                .iter()
                .partition(|filter| positive(filter.comparison));
            let hit = |filter: &&pb::StringFilter| {
                values
                    .iter()
                    .any(|value| string_test(filter.comparison, &filter.value, value))
            };
            (positives.is_empty() || positives.iter().any(hit)) && !negatives.iter().any(hit)
        }
        (Values::Map(pairs), Given::Map(filters)) => {
            let (positives, negatives): (Vec<_>, Vec<_>) = filters
                .iter()
                .partition(|filter| positive(filter.comparison));
            let hit = |filter: &&pb::MapFilter| {
                pairs.iter().any(|(key, value)| {
                    *key == filter.key && string_test(filter.comparison, &filter.value, value)
                })
            };
            (positives.is_empty() || positives.iter().any(hit)) && !negatives.iter().any(hit)
        }
        (Values::Number(value), Given::Number(filters)) => value.is_some_and(|value| {
            filters.iter().any(|filter| {
                filter.gte.is_none_or(|bound| value >= bound)
                    && filter.lte.is_none_or(|bound| value <= bound)
                    && filter.gt.is_none_or(|bound| value > bound)
                    && filter.lt.is_none_or(|bound| value < bound)
                    && filter.eq.is_none_or(|bound| value == bound)
            })
        }),
        (Values::Date(value), Given::Date(filters)) => value.is_some_and(|value| {
            filters.iter().any(|filter| match &filter.date_range {
                Some(range) => {
                    let edge = now - i64::from(range.value) * DAY;
                    if range.comparison == pb::DateRangeComparison::OlderThan as i32 {
                        value < edge
                    } else {
                        value >= edge && value <= now
                    }
                }
                None => {
                    filter
                        .start
                        .as_ref()
                        .is_none_or(|start| value >= start.seconds)
                        && filter.end.as_ref().is_none_or(|end| value <= end.seconds)
                }
            })
        }),
        (Values::Boolean(value), Given::Boolean(filters)) => {
            filters.iter().any(|filter| filter.value == value)
        }
        (Values::Ips(addresses), Given::Ip(filters)) => filters.iter().any(|filter| {
            addresses
                .iter()
                .any(|address| in_network(*address, &filter.cidr))
        }),
        (_, given) => panic!("{attribute} does not take {given:?}"),
    }
}

macro_rules! set_fields {
    ($filters:expr, $name:expr, $given:expr; $($variant:ident { $($attribute:literal => $field:ident),* $(,)? })*) => {
        match ($name, $given) {
            $($(($attribute, Given::$variant(values)) => $filters.$field = values,)*)*
            (name, given) => panic!("no wire field for {name} with {given:?}"),
        }
    };
}

/// The wire filters of `criteria`.
fn wire(criteria: &[(&'static str, Given)]) -> pb::FindingFilters {
    let mut filters = pb::FindingFilters::default();
    for (name, given) in criteria {
        set_fields!(filters, *name, given.clone();
            String {
                "Title" => title, "Description" => description, "Id" => id,
                "AwsAccountId" => aws_account_id, "ProductArn" => product_arn,
                "ProductName" => product_name, "CompanyName" => company_name, "Region" => region,
                "GeneratorId" => generator_id, "SourceUrl" => source_url,
                "RecommendationText" => recommendation_text, "SeverityLabel" => severity_label,
                "RecordState" => record_state, "WorkflowStatus" => workflow_status,
                "WorkflowState" => workflow_state, "VerificationState" => verification_state,
                "ComplianceStatus" => compliance_status,
                "ComplianceSecurityControlId" => compliance_security_control_id,
                "ComplianceAssociatedStandardsId" => compliance_associated_standards_id,
                "NoteText" => note_text, "NoteUpdatedBy" => note_updated_by, "Type" => r#type,
                "FindingProviderFieldsTypes" => finding_provider_fields_types,
                "FindingProviderFieldsSeverityLabel" => finding_provider_fields_severity_label,
                "RelatedFindingsId" => related_findings_id,
                "RelatedFindingsProductArn" => related_findings_product_arn,
                "ResourceType" => resource_type, "ResourceId" => resource_id,
                "ResourcePartition" => resource_partition, "ResourceRegion" => resource_region,
                "ResourceAwsEc2InstanceImageId" => resource_aws_ec2_instance_image_id,
            }
            Map {
                "ResourceTags" => resource_tags, "ResourceDetailsOther" => resource_details_other,
                "ProductFields" => product_fields, "UserDefinedFields" => user_defined_fields,
            }
            Number {
                "SeverityNormalized" => severity_normalized, "Confidence" => confidence,
                "Criticality" => criticality,
                "FindingProviderFieldsConfidence" => finding_provider_fields_confidence,
            }
            Date {
                "CreatedAt" => created_at, "UpdatedAt" => updated_at,
                "FirstObservedAt" => first_observed_at, "LastObservedAt" => last_observed_at,
                "NoteUpdatedAt" => note_updated_at,
            }
            Boolean { "Sample" => sample }
            Ip {
                "ResourceAwsEc2InstanceIpV4Addresses" => resource_aws_ec2_instance_ip_v4_addresses,
                "ResourceAwsEc2InstanceIpV6Addresses" => resource_aws_ec2_instance_ip_v6_addresses,
            }
        );
    }
    filters
}

fn string(value: &str, comparison: C) -> pb::StringFilter {
    pb::StringFilter {
        value: value.into(),
        comparison: comparison as i32,
    }
}

fn map(key: &str, value: &str, comparison: C) -> pb::MapFilter {
    pb::MapFilter {
        key: key.into(),
        value: value.into(),
        comparison: comparison as i32,
    }
}

fn range(gte: Option<f64>, lte: Option<f64>) -> pb::NumberFilter {
    pb::NumberFilter {
        gte,
        lte,
        ..Default::default()
    }
}

fn within(days: i32, comparison: pb::DateRangeComparison) -> pb::DateFilter {
    pb::DateFilter {
        date_range: Some(pb::DateRange {
            value: days,
            unit: pb::DateRangeUnit::Days as i32,
            comparison: comparison as i32,
        }),
        ..Default::default()
    }
}

fn between(start: Option<i64>, end: Option<i64>) -> pb::DateFilter {
    pb::DateFilter {
        start: start.and_then(at),
        end: end.and_then(at),
        date_range: None,
    }
}

fn cidr(network: &str) -> pb::IpFilter {
    pb::IpFilter {
        cidr: network.into(),
    }
}

/// Every page of GetFindings for `filters` and `sort`, in order.
async fn search(
    cluster: &TestCluster,
    key: &str,
    filters: pb::FindingFilters,
    sort: Vec<pb::SortCriterion>,
    page_size: i32,
) -> Result<Vec<pb::Finding>, tonic::Status> {
    let mut found = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = cluster
            .findings(REGION, key)
            .get_findings(pb::GetFindingsRequest {
                filters: Some(filters.clone()),
                page_size,
                page_token,
                sort_criteria: sort.clone(),
            })
            .await?
            .into_inner();
        let limit = if page_size == 0 { 100 } else { page_size };
        assert!(page.findings.len() <= usize::try_from(limit).unwrap());
        found.extend(page.findings);
        if page.next_page_token.is_empty() {
            return Ok(found);
        }
        page_token = page.next_page_token;
    }
}

async fn ids_of(cluster: &TestCluster, key: &str, filters: pb::FindingFilters) -> Vec<String> {
    let mut ids: Vec<String> = search(cluster, key, filters, Vec::new(), 7)
        .await
        .expect("the search succeeds")
        .into_iter()
        .map(|finding| finding.id)
        .collect();
    ids.sort();
    ids
}

fn expected(stored: &[pb::Finding], criteria: &[(&'static str, Given)], now: i64) -> Vec<String> {
    let mut ids: Vec<String> = stored
        .iter()
        .filter(|finding| {
            criteria
                .iter()
                .all(|(name, given)| passes(finding, name, given, now))
        })
        .map(|finding| finding.id.clone())
        .collect();
    ids.sort();
    ids
}

/// Imports the findings and returns them as stored (server-set fields included).
async fn imported(cluster: &TestCluster, key: &str, count: usize, now: i64) -> Vec<pb::Finding> {
    for batch in findings(count, now).chunks(50) {
        let response = cluster
            .findings(REGION, key)
            .batch_import_findings(pb::BatchImportFindingsRequest {
                findings: batch.to_vec(),
            })
            .await
            .expect("the import succeeds")
            .into_inner();
        assert_eq!(response.failed_count, 0, "{:?}", response.failed_findings);
    }
    let stored = search(cluster, key, pb::FindingFilters::default(), Vec::new(), 100)
        .await
        .unwrap();
    assert_eq!(stored.len(), count);
    stored
}

/// Hand-picked cases: each operator of each filter type, and each combination rule.
fn cases(now: i64) -> Vec<Vec<(&'static str, Given)>> {
    use Given as G;
    let long_prefix = &LONG[..70];
    vec![
        vec![("Title", G::String(vec![string("Alpha", C::Equals)]))],
        vec![("Title", G::String(vec![string("Alpha", C::Prefix)]))],
        vec![("Title", G::String(vec![string("Alpha", C::NotEquals)]))],
        vec![("Title", G::String(vec![string("Al", C::PrefixNotEquals)]))],
        vec![("Title", G::String(vec![string("et", C::Contains)]))],
        vec![("Title", G::String(vec![string("a", C::NotContains)]))],
        vec![(
            "Title",
            G::String(vec![string("Alpha", C::Equals), string("Beta", C::Equals)]),
        )],
        vec![(
            "Title",
            G::String(vec![
                string("A", C::Prefix),
                string("b", C::Prefix),
                string("Alphabet soup", C::NotEquals),
                string("Alpha", C::PrefixNotEquals),
            ]),
        )],
        vec![(
            "Title",
            G::String(vec![
                string("Alpha", C::NotEquals),
                string("Beta", C::NotEquals),
            ]),
        )],
        vec![(
            "Title",
            G::String(vec![string("et", C::Contains), string("ph", C::Contains)]),
        )],
        vec![(
            "Title",
            G::String(vec![
                string("et", C::NotContains),
                string("ph", C::NotContains),
            ]),
        )],
        vec![("Title", G::String(vec![string("Ärger", C::Prefix)]))],
        vec![(
            "Title",
            G::String(vec![string(&format!("{LONG}-1"), C::Equals)]),
        )],
        vec![("Title", G::String(vec![string(long_prefix, C::Prefix)]))],
        vec![("Type", G::String(vec![string("TTPs", C::Prefix)]))],
        vec![("Type", G::String(vec![string("TTPs", C::Equals)]))],
        vec![("Type", G::String(vec![string("TTPs", C::NotEquals)]))],
        vec![(
            "Type",
            G::String(vec![string("Software", C::PrefixNotEquals)]),
        )],
        vec![("Type", G::String(vec![string("Data", C::Contains)]))],
        vec![("Type", G::String(vec![string("/", C::NotContains)]))],
        vec![(
            "Type",
            G::String(vec![
                string("Software", C::Prefix),
                string("Software and Configuration Checks", C::NotEquals),
            ]),
        )],
        vec![(
            "ResourceId",
            G::String(vec![string(long_prefix, C::Prefix)]),
        )],
        vec![(
            "ResourceId",
            G::String(vec![string(&format!("{LONG}/1"), C::Equals)]),
        )],
        vec![(
            "ResourceId",
            G::String(vec![string(&format!("{LONG}/1"), C::NotEquals)]),
        )],
        vec![
            (
                "ResourceType",
                G::String(vec![string("AwsS3Bucket", C::Equals)]),
            ),
            (
                "ResourceId",
                G::String(vec![string("arn:aws:awss3bucket", C::Prefix)]),
            ),
        ],
        vec![(
            "ResourcePartition",
            G::String(vec![string("aws-cn", C::Equals)]),
        )],
        vec![("ResourceRegion", G::String(vec![string("eu-", C::Prefix)]))],
        vec![("ResourceTags", G::Map(vec![map("env", "prod", C::Equals)]))],
        vec![(
            "ResourceTags",
            G::Map(vec![map("env", "prod", C::NotEquals)]),
        )],
        vec![("ResourceTags", G::Map(vec![map("team", "lu", C::Contains)]))],
        vec![(
            "ResourceTags",
            G::Map(vec![map("team", "e", C::NotContains)]),
        )],
        vec![(
            "ResourceTags",
            G::Map(vec![
                map("env", "prod", C::Equals),
                map("team", "red", C::Equals),
            ]),
        )],
        vec![(
            "ResourceTags",
            G::Map(vec![
                map("env", "dev", C::NotEquals),
                map("team", "blue", C::NotEquals),
            ]),
        )],
        vec![(
            "ResourceTags",
            G::Map(vec![map(
                &format!("{LONG}-key"),
                &format!("{LONG}-1"),
                C::Equals,
            )]),
        )],
        vec![(
            "ResourceDetailsOther",
            G::Map(vec![map("stage", "two", C::Equals)]),
        )],
        vec![(
            "ProductFields",
            G::Map(vec![map("vendor/product/mode", "audit", C::Equals)]),
        )],
        vec![(
            "UserDefinedFields",
            G::Map(vec![map("owner", "alice", C::Equals)]),
        )],
        vec![(
            "SeverityNormalized",
            G::Number(vec![range(Some(40.0), Some(69.0))]),
        )],
        vec![(
            "SeverityNormalized",
            G::Number(vec![range(None, Some(1.0)), range(Some(90.0), None)]),
        )],
        vec![(
            "SeverityNormalized",
            G::Number(vec![pb::NumberFilter {
                eq: Some(70.0),
                ..Default::default()
            }]),
        )],
        vec![(
            "Confidence",
            G::Number(vec![pb::NumberFilter {
                gt: Some(20.0),
                lt: Some(80.0),
                ..Default::default()
            }]),
        )],
        vec![("Criticality", G::Number(vec![range(None, Some(50.0))]))],
        vec![(
            "FindingProviderFieldsConfidence",
            G::Number(vec![range(Some(50.0), None)]),
        )],
        vec![(
            "CreatedAt",
            G::Date(vec![between(Some(now - 15 * DAY), None)]),
        )],
        vec![(
            "CreatedAt",
            G::Date(vec![between(Some(now - 18 * DAY), Some(now - 14 * DAY))]),
        )],
        vec![(
            "UpdatedAt",
            G::Date(vec![within(3, pb::DateRangeComparison::Within)]),
        )],
        vec![(
            "UpdatedAt",
            G::Date(vec![within(5, pb::DateRangeComparison::OlderThan)]),
        )],
        vec![(
            "UpdatedAt",
            G::Date(vec![
                within(1, pb::DateRangeComparison::Within),
                within(7, pb::DateRangeComparison::OlderThan),
            ]),
        )],
        vec![(
            "FirstObservedAt",
            G::Date(vec![within(4, pb::DateRangeComparison::Unspecified)]),
        )],
        vec![(
            "LastObservedAt",
            G::Date(vec![between(None, Some(now - 2 * DAY))]),
        )],
        vec![(
            "NoteUpdatedAt",
            G::Date(vec![within(3, pb::DateRangeComparison::Within)]),
        )],
        vec![(
            "Sample",
            G::Boolean(vec![pb::BooleanFilter { value: true }]),
        )],
        vec![(
            "Sample",
            G::Boolean(vec![pb::BooleanFilter { value: false }]),
        )],
        vec![(
            "ResourceAwsEc2InstanceIpV4Addresses",
            G::Ip(vec![cidr("10.0.1.0/24")]),
        )],
        vec![(
            "ResourceAwsEc2InstanceIpV4Addresses",
            G::Ip(vec![cidr("10.0.0.0/25"), cidr("10.0.2.128/25")]),
        )],
        vec![(
            "ResourceAwsEc2InstanceIpV6Addresses",
            G::Ip(vec![cidr("2001:db8:1::/48")]),
        )],
        vec![(
            "ResourceAwsEc2InstanceImageId",
            G::String(vec![string("ami-2", C::Equals)]),
        )],
        vec![
            ("RecordState", G::String(vec![string("ACTIVE", C::Equals)])),
            (
                "WorkflowStatus",
                G::String(vec![
                    string("NEW", C::Equals),
                    string("NOTIFIED", C::Equals),
                ]),
            ),
            (
                "SeverityLabel",
                G::String(vec![
                    string("HIGH", C::Equals),
                    string("CRITICAL", C::Equals),
                ]),
            ),
        ],
        vec![
            (
                "ComplianceStatus",
                G::String(vec![string("FAILED", C::Equals)]),
            ),
            (
                "ComplianceSecurityControlId",
                G::String(vec![string("S3.", C::Prefix)]),
            ),
        ],
        vec![(
            "ComplianceAssociatedStandardsId",
            G::String(vec![string("ruleset/", C::Prefix)]),
        )],
        vec![(
            "ComplianceStatus",
            G::String(vec![string("PASSED", C::NotEquals)]),
        )],
        vec![(
            "VerificationState",
            G::String(vec![string("TRUE_POSITIVE", C::Equals)]),
        )],
        vec![(
            "WorkflowState",
            G::String(vec![string("NEW", C::NotEquals)]),
        )],
        vec![("NoteText", G::String(vec![string("alarm", C::Contains)]))],
        vec![("NoteUpdatedBy", G::String(vec![string("bob", C::Equals)]))],
        vec![(
            "RelatedFindingsId",
            G::String(vec![string("related-1", C::Equals)]),
        )],
        vec![(
            "RelatedFindingsProductArn",
            G::String(vec![string("guardduty", C::Contains)]),
        )],
        vec![(
            "SourceUrl",
            G::String(vec![string("https://example.com/1", C::Prefix)]),
        )],
        vec![(
            "RecommendationText",
            G::String(vec![string("Rotate", C::Prefix)]),
        )],
        vec![(
            "GeneratorId",
            G::String(vec![string("arn:aws:securityhub:::ruleset/", C::Prefix)]),
        )],
        vec![("Description", G::String(vec![string("descr", C::Contains)]))],
        vec![("Region", G::String(vec![string(REGION, C::Equals)]))],
        vec![("Id", G::String(vec![string("f1", C::Prefix)]))],
        vec![("AwsAccountId", G::String(vec![string(ACCOUNT, C::Equals)]))],
        vec![("ProductName", G::String(vec![string("default", C::Equals)]))],
        vec![(
            "CompanyName",
            G::String(vec![string(ACCOUNT, C::NotEquals)]),
        )],
        vec![(
            "FindingProviderFieldsSeverityLabel",
            G::String(vec![string("LOW", C::Equals)]),
        )],
        vec![(
            "FindingProviderFieldsTypes",
            G::String(vec![string("Effects", C::Prefix)]),
        )],
    ]
}

/// A random valid filter object over the attributes the stored findings have.
fn random_criteria(rng: &mut Rng, stored: &[pb::Finding], now: i64) -> Vec<(&'static str, Given)> {
    const STRINGS: [&str; 14] = [
        "Title",
        "Type",
        "ResourceId",
        "ResourceType",
        "GeneratorId",
        "SeverityLabel",
        "WorkflowStatus",
        "RecordState",
        "ComplianceStatus",
        "ComplianceSecurityControlId",
        "NoteText",
        "ResourcePartition",
        "SourceUrl",
        "Description",
    ];
    const MAPS: [&str; 3] = ["ResourceTags", "ProductFields", "UserDefinedFields"];
    let mut criteria: Vec<(&'static str, Given)> = Vec::new();
    for _ in 0..1 + rng.below(4) {
        let kind = rng.below(10);
        let name: &'static str = match kind {
            0..=5 => rng.pick(&STRINGS),
            6 => rng.pick(&MAPS),
            7 => rng.pick(&["SeverityNormalized", "Confidence", "Criticality"]),
            8 => rng.pick(&["UpdatedAt", "CreatedAt", "FirstObservedAt"]),
            _ => rng.pick(&["Sample", "ResourceAwsEc2InstanceIpV4Addresses"]),
        };
        if criteria.iter().any(|(taken, _)| *taken == name) {
            continue;
        }
        let given = match values_of(
            &stored[usize::try_from(rng.below(stored.len() as u64)).unwrap()],
            name,
        ) {
            Values::Strings(values) => {
                let seed = values.first().cloned().unwrap_or_else(|| "zz".into());
                let mut candidates = vec![seed.clone(), "nothing-like-this".to_string()];
                let cut: String = seed
                    .chars()
                    .take(1 + usize::try_from(rng.below(6)).unwrap())
                    .collect();
                candidates.push(cut.clone());
                let middle: String = seed.chars().skip(1).take(3).collect();
                if !middle.trim().is_empty() {
                    candidates.push(middle);
                }
                let value = |rng: &mut Rng| rng.pick(&candidates);
                let filters: Vec<pb::StringFilter> = match rng.below(5) {
                    0 => (0..1 + rng.below(3))
                        .map(|_| string(&value(rng), rng.pick(&[C::Equals, C::Prefix])))
                        .collect(),
                    1 => (0..1 + rng.below(2))
                        .map(|_| string(&value(rng), C::Contains))
                        .collect(),
                    2 => (0..1 + rng.below(2))
                        .map(|_| string(&value(rng), C::NotContains))
                        .collect(),
                    3 => (0..1 + rng.below(3))
                        .map(|_| string(&value(rng), rng.pick(&[C::NotEquals, C::PrefixNotEquals])))
                        .collect(),
                    _ => {
                        let mut filters = vec![string(&cut, C::Prefix)];
                        filters.push(string(&seed, rng.pick(&[C::NotEquals, C::PrefixNotEquals])));
                        filters
                    }
                };
                Given::String(
                    filters
                        .into_iter()
                        .filter(|filter| !filter.value.trim().is_empty())
                        .collect(),
                )
            }
            Values::Map(pairs) => {
                let (key, value) = pairs
                    .first()
                    .cloned()
                    .unwrap_or_else(|| ("env".to_string(), "prod".to_string()));
                let comparison = rng.pick(&[C::Equals, C::NotEquals, C::Contains, C::NotContains]);
                let value = if matches!(comparison, C::Contains | C::NotContains) {
                    value.chars().skip(1).take(2).collect::<String>()
                } else {
                    value
                };
                Given::Map(vec![map(
                    &key,
                    if value.trim().is_empty() { "x" } else { &value },
                    comparison,
                )])
            }
            Values::Number(_) => {
                let low = f64::from(u32::try_from(rng.below(100)).unwrap());
                Given::Number(vec![range(
                    Some(low),
                    Some(low + f64::from(u32::try_from(rng.below(50)).unwrap())),
                )])
            }
            Values::Date(_) => Given::Date(vec![if rng.chance(50) {
                within(
                    i32::try_from(1 + rng.below(10)).unwrap(),
                    rng.pick(&[
                        pb::DateRangeComparison::Within,
                        pb::DateRangeComparison::OlderThan,
                    ]),
                )
            } else {
                let start = now - i64::try_from(rng.below(20)).unwrap() * DAY;
                between(
                    Some(start),
                    Some(start + i64::try_from(1 + rng.below(5)).unwrap() * DAY),
                )
            }]),
            Values::Boolean(value) => Given::Boolean(vec![pb::BooleanFilter {
                value: value ^ rng.chance(50),
            }]),
            Values::Ips(_) => Given::Ip(vec![cidr(&format!(
                "10.0.{}.0/{}",
                rng.below(3),
                rng.pick(&[16, 23, 24, 26])
            ))]),
        };
        let empty = match &given {
            Given::String(filters) => filters.is_empty(),
            _ => false,
        };
        if !empty {
            criteria.push((name, given));
        }
    }
    criteria
}

async fn every_operator_matches_the_reference(backend: Backend) {
    let cluster = TestCluster::builder(backend)
        .collector(REGION)
        .start()
        .await;
    let key = cluster.hub_account_key(ACCOUNT, REGION).await;
    let now = now();
    let stored = imported(&cluster, &key, 48, now).await;
    let mut nonempty = 0;
    for criteria in cases(now) {
        let want = expected(&stored, &criteria, now);
        let got = ids_of(&cluster, &key, wire(&criteria)).await;
        assert_eq!(got, want, "filters {criteria:?}");
        if !want.is_empty() && want.len() < stored.len() {
            nonempty += 1;
        }
    }
    assert!(
        nonempty > 60,
        "the hand-picked cases discriminate ({nonempty})"
    );
    let mut rng = Rng(42);
    for _ in 0..150 {
        let criteria = random_criteria(&mut rng, &stored, now);
        let want = expected(&stored, &criteria, now);
        let got = ids_of(&cluster, &key, wire(&criteria)).await;
        assert_eq!(got, want, "random filters {criteria:?}");
    }
    cluster.shutdown().await;
}

fn sort_key(field: &str, descending: bool) -> pb::SortCriterion {
    pb::SortCriterion {
        field: field.into(),
        sort_order: if descending {
            pb::SortOrder::Descending
        } else {
            pb::SortOrder::Ascending
        } as i32,
    }
}

/// A comparable stand-in for an attribute value: missing numbers and dates sort lowest.
#[derive(Debug, Clone, PartialEq, PartialOrd)]
enum SortValue {
    Text(String),
    Number(f64),
}

fn sort_value(finding: &pb::Finding, field: &str) -> SortValue {
    match values_of(finding, field) {
        Values::Strings(values) => SortValue::Text(values.first().cloned().unwrap_or_default()),
        Values::Number(value) => SortValue::Number(value.unwrap_or(f64::MIN)),
        Values::Date(value) => SortValue::Number(value.map_or(f64::MIN, |value| value as f64)),
        _ => panic!("{field} does not sort"),
    }
}

async fn sorting_paging_and_refusals(backend: Backend) {
    let cluster = TestCluster::builder(backend)
        .collector(REGION)
        .start()
        .await;
    let key = cluster.hub_account_key(ACCOUNT, REGION).await;
    let now = now();
    let stored = imported(&cluster, &key, 30, now).await;

    for keys in [
        vec![],
        vec![("Title", false)],
        vec![("Title", true)],
        vec![("SeverityNormalized", true), ("Title", false)],
        vec![("Confidence", false)],
        vec![("Confidence", true)],
        vec![("FirstObservedAt", true), ("Id", true)],
        vec![("UpdatedAt", false)],
    ] {
        let sort: Vec<pb::SortCriterion> = keys
            .iter()
            .map(|(field, descending)| sort_key(field, *descending))
            .collect();
        let keys = if keys.is_empty() {
            vec![("UpdatedAt", true)]
        } else {
            keys
        };
        let mut want = stored.clone();
        want.sort_by(|left, right| {
            for (field, descending) in &keys {
                let order = sort_value(left, field)
                    .partial_cmp(&sort_value(right, field))
                    .unwrap();
                let order = if *descending { order.reverse() } else { order };
                if order.is_ne() {
                    return order;
                }
            }
            (&left.aws_account_id, &left.product_arn, &left.id).cmp(&(
                &right.aws_account_id,
                &right.product_arn,
                &right.id,
            ))
        });
        let want: Vec<&str> = want.iter().map(|finding| finding.id.as_str()).collect();
        for page_size in [1, 4, 0] {
            let got = search(
                &cluster,
                &key,
                pb::FindingFilters::default(),
                sort.clone(),
                page_size,
            )
            .await
            .unwrap();
            let got: Vec<&str> = got.iter().map(|finding| finding.id.as_str()).collect();
            assert_eq!(got, want, "sorted by {keys:?}, pages of {page_size}");
        }
    }

    // A token continues only the filters and sort it was issued for.
    let first = cluster
        .findings(REGION, &key)
        .get_findings(pb::GetFindingsRequest {
            page_size: 2,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(!first.next_page_token.is_empty());
    for (filters, sort) in [
        (
            Some(wire(&[(
                "Title",
                Given::String(vec![string("A", C::Prefix)]),
            )])),
            Vec::new(),
        ),
        (None, vec![sort_key("Title", false)]),
    ] {
        let replayed = cluster
            .findings(REGION, &key)
            .get_findings(pb::GetFindingsRequest {
                filters,
                page_size: 2,
                page_token: first.next_page_token.clone(),
                sort_criteria: sort,
            })
            .await
            .expect_err("a token of other filters or another sort is refused");
        assert_eq!(reason(&replayed), "InvalidNextTokenException");
    }

    let one = |value: &str| vec![string(value, C::Equals)];
    let eleven = pb::FindingFilters {
        title: one("a"),
        description: one("a"),
        id: one("a"),
        region: one("a"),
        product_arn: one("a"),
        product_name: one("a"),
        company_name: one("a"),
        generator_id: one("a"),
        source_url: one("a"),
        note_text: one("a"),
        record_state: one("a"),
        ..Default::default()
    };
    let bad: Vec<(pb::FindingFilters, Vec<pb::SortCriterion>, Vec<&str>)> = vec![
        (
            wire(&[(
                "Title",
                Given::String(vec![string("a", C::Contains), string("b", C::Equals)]),
            )]),
            vec![],
            vec!["filters.title"],
        ),
        (
            wire(&[(
                "Title",
                Given::String(vec![string("a", C::Contains), string("b", C::NotContains)]),
            )]),
            vec![],
            vec!["filters.title"],
        ),
        (
            wire(&[(
                "Type",
                Given::String(vec![string("a", C::Equals), string("b", C::NotEquals)]),
            )]),
            vec![],
            vec!["filters.type"],
        ),
        (
            wire(&[(
                "Type",
                Given::String(vec![
                    string("a", C::Equals),
                    string("b", C::PrefixNotEquals),
                ]),
            )]),
            vec![],
            vec!["filters.type"],
        ),
        (
            wire(&[(
                "Title",
                Given::String(vec![string("a", C::NotContains), string("b", C::NotEquals)]),
            )]),
            vec![],
            vec!["filters.title"],
        ),
        (
            wire(&[(
                "ResourceTags",
                Given::Map(vec![
                    map("env", "a", C::Equals),
                    map("env", "b", C::NotEquals),
                ]),
            )]),
            vec![],
            vec!["filters.resource_tags"],
        ),
        (eleven, vec![], vec!["filters"]),
        (
            wire(&[("Title", Given::String(vec![string("a", C::Equals); 21]))]),
            vec![],
            vec!["filters.title"],
        ),
        (
            wire(&[("Title", Given::String(vec![string("a", C::ContainsWord)]))]),
            vec![],
            vec!["filters.title[0].comparison"],
        ),
        (
            wire(&[("Title", Given::String(vec![string("  ", C::Equals)]))]),
            vec![],
            vec!["filters.title[0].value"],
        ),
        (
            wire(&[(
                "ResourceAwsEc2InstanceIpV4Addresses",
                Given::Ip(vec![cidr("10.0.0.0/40")]),
            )]),
            vec![],
            vec!["filters.resource_aws_ec2_instance_ip_v4_addresses[0].cidr"],
        ),
        (
            wire(&[(
                "Confidence",
                Given::Number(vec![pb::NumberFilter::default()]),
            )]),
            vec![],
            vec!["filters.confidence[0]"],
        ),
        (
            wire(&[(
                "UpdatedAt",
                Given::Date(vec![pb::DateFilter {
                    start: at(now),
                    date_range: Some(pb::DateRange {
                        value: 1,
                        ..Default::default()
                    }),
                    ..Default::default()
                }]),
            )]),
            vec![],
            vec!["filters.updated_at[0]"],
        ),
        (
            wire(&[(
                "UpdatedAt",
                Given::Date(vec![within(0, pb::DateRangeComparison::Within)]),
            )]),
            vec![],
            vec!["filters.updated_at[0].date_range.value"],
        ),
        (
            pb::FindingFilters::default(),
            vec![sort_key("Type", false)],
            vec!["sort_criteria[0].field"],
        ),
        (
            pb::FindingFilters::default(),
            vec![sort_key("Nope", true)],
            vec!["sort_criteria[0].field"],
        ),
    ];
    for (filters, sort, fields) in bad {
        let status = search(&cluster, &key, filters.clone(), sort, 10)
            .await
            .expect_err("bad filters are refused");
        assert_eq!(status.code(), Code::InvalidArgument, "{filters:?}");
        assert_eq!(reason(&status), "InvalidInputException");
        assert_eq!(support::violated_fields(&status), fields, "{filters:?}");
    }
    cluster.shutdown().await;
}

async fn accounts_scope_the_search(backend: Backend) {
    let cluster = TestCluster::builder(backend)
        .collector(REGION)
        .start()
        .await;
    let key = cluster.hub_account_key(ACCOUNT, REGION).await;
    let member_key = cluster.hub_account_key(MEMBER, REGION).await;
    let now = now();
    imported(&cluster, &key, 3, now).await;
    let mut theirs = support::sample_finding(REGION, MEMBER, "m1", pb::SeverityLabel::High, now);
    theirs.title = "Alpha".into();
    cluster
        .findings(REGION, &member_key)
        .batch_import_findings(pb::BatchImportFindingsRequest {
            findings: vec![theirs],
        })
        .await
        .unwrap();

    let everything = pb::FindingFilters::default();
    assert_eq!(
        ids_of(&cluster, &key, everything.clone()).await,
        ["f00", "f01", "f02"]
    );
    assert_eq!(
        ids_of(&cluster, &member_key, everything.clone()).await,
        ["m1"]
    );
    let member_only = wire(&[(
        "AwsAccountId",
        Given::String(vec![string(MEMBER, C::Equals)]),
    )]);
    let refused = search(&cluster, &key, member_only.clone(), Vec::new(), 10)
        .await
        .expect_err("another account's findings are not readable");
    assert_eq!(refused.code(), Code::PermissionDenied);
    let prefix = wire(&[("AwsAccountId", Given::String(vec![string("2", C::Prefix)]))]);
    assert!(
        ids_of(&cluster, &key, prefix).await.is_empty(),
        "comparisons other than EQUALS stay within the caller's account"
    );

    make_enabled_member(&cluster, &key, ACCOUNT, MEMBER, &member_key, REGION).await;
    let both = wire(&[(
        "AwsAccountId",
        Given::String(vec![string(ACCOUNT, C::Equals), string(MEMBER, C::Equals)]),
    )]);
    support::eventually(
        "the administrator reads its member",
        std::time::Duration::from_secs(15),
        || {
            let (cluster, key, both) = (&cluster, &key, both.clone());
            async move {
                match search(cluster, key, both, Vec::new(), 10).await {
                    Ok(found) if found.len() == 4 => Ok(()),
                    other => Err(format!("{other:?}")),
                }
            }
        },
    )
    .await;
    assert_eq!(
        ids_of(&cluster, cluster.service_key(), everything)
            .await
            .len(),
        4
    );
    cluster.shutdown().await;
}

async fn findings_stored_before_the_index_are_backfilled(backend: Backend) {
    use tributary_collector::store::Migrator;
    let directory = tempfile::tempdir().unwrap();
    let databases = TestDatabases::new().await;
    let url = match backend {
        Backend::Sqlite => {
            tributary_runtime::db::sqlite_url(&directory.path().join("collector.db"))
        }
        Backend::Postgres => databases.create("collector").await,
    };
    let db = tributary_runtime::db::connect(&url).await.unwrap();
    let before_index = Migrator::migrations()
        .iter()
        .position(|migration| migration.name() == "m0005_add_finding_filter_index")
        .unwrap();
    Migrator::up(&db, Some(u32::try_from(before_index).unwrap()))
        .await
        .unwrap();
    let now = now();
    let mut old = support::sample_finding(REGION, ACCOUNT, "old-1", pb::SeverityLabel::High, now);
    old.title = "Stored before the index".into();
    old.region = REGION.into();
    old.resources[0].tags.insert("env".into(), "prod".into());
    old.compliance = Some(pb::FindingCompliance {
        status: pb::ComplianceStatus::Failed as i32,
        security_control_id: "S3.1".into(),
        ..Default::default()
    });
    let payload = prost::Message::encode_to_vec(&old);
    let insert = sea_orm::sea_query::Query::insert()
        .into_table("findings")
        .columns([
            "account_id",
            "product_arn",
            "finding_id",
            "record_state",
            "workflow_status",
            "severity_label",
            "updated_at_micros",
            "seq",
            "version",
            "finding",
        ])
        .values_panic([
            ACCOUNT.into(),
            old.product_arn.as_str().into(),
            "old-1".into(),
            "ACTIVE".into(),
            "NEW".into(),
            "HIGH".into(),
            (now * 1_000_000).into(),
            1i64.into(),
            format!("{:032x}", 1).into(),
            payload.into(),
        ])
        .to_owned();
    db.execute(&insert).await.unwrap();
    Migrator::up(&db, None).await.unwrap();

    use tributary_securityhub::{
        filter::{Filters, Sort},
        query::{FindingQuery, page},
    };
    let tables = tributary_collector::findings::query::TABLES;
    for criteria in [
        vec![(
            "Title",
            Given::String(vec![string("Stored before", C::Prefix)]),
        )],
        vec![(
            "ResourceTags",
            Given::Map(vec![map("env", "prod", C::Equals)]),
        )],
        vec![(
            "ComplianceSecurityControlId",
            Given::String(vec![string("S3.1", C::Equals)]),
        )],
    ] {
        let filters = Filters::parse(&wire(&criteria), "filters").unwrap();
        let query = FindingQuery {
            filters: &filters,
            accounts: Some(&[ACCOUNT.to_string()]),
            now_micros: now * 1_000_000,
        };
        let found = page(&db, &tables, &query, &Sort::default(), None, 10)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            found.payloads.len(),
            1,
            "{criteria:?} finds the old finding"
        );
    }
    let status = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT status, failed FROM control_status WHERE security_control_id = 'S3.1'",
        ))
        .await
        .unwrap()
        .expect("the control's status is back-filled");
    assert_eq!(status.try_get::<String>("", "status").unwrap(), "FAILED");
    assert_eq!(status.try_get::<i64>("", "failed").unwrap(), 1);
    db.close().await.unwrap();
}
