//! Validation of aggregated-view requests: each wire request becomes a query naming its aggregator
//! and carrying checked filters. Shape violations are `ValidationException` with every bad field.

use tributary_proto::{aggregator::v1 as pb, collector::v1 as collector_pb};
use tributary_runtime::{
    Violations,
    compliance::ComplianceType,
    ids::{validate_account_id, validate_region_name},
};

use crate::{
    config_aggregators::inputs::{reason, validate_named, validate_resource_type},
    error::{Error, Result},
};

/// The most identifiers one BatchGetAggregateResourceConfig call may name.
pub const MAX_BATCH_IDENTIFIERS: usize = 100;
const MAX_RULE_NAME: usize = 128;
const MAX_PACK_NAME: usize = 256;
const MAX_RESOURCE_ID: usize = 768;
const MAX_RESOURCE_NAME: usize = 256;

/// The aggregator a view reads, as the request names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The owner as named (empty: the caller's own account).
    pub requested_owner: String,
    /// The home region.
    pub home_region: String,
    /// The aggregator's name.
    pub name: String,
}

impl Target {
    fn new(owner: String, region: String, name: String) -> Result<Self> {
        validate_named(&owner, &region, &name)?;
        Ok(Self {
            requested_owner: owner,
            home_region: region,
            name,
        })
    }
}

/// Paging fields as the request sent them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Paging {
    pub page_size: i32,
    pub page_token: String,
}

fn optional_account(violations: &mut Violations, field: &str, account_id: &str) {
    if !account_id.is_empty() {
        violations.check(field, validate_account_id(account_id));
    }
}

fn optional_region(violations: &mut Violations, field: &str, region: &str) {
    if !region.is_empty() {
        violations.check(field, validate_region_name(region));
    }
}

fn at_most(violations: &mut Violations, field: &str, value: &str, max: usize) {
    let length = value.chars().count();
    if length > max {
        violations.add(
            field,
            format!("has {length} characters; Member must have length less than or equal to {max}"),
        );
    }
}

fn required(violations: &mut Violations, field: &str, value: &str, max: usize) {
    if value.is_empty() {
        violations.add(field, "is required");
    } else {
        at_most(violations, field, value, max);
    }
}

/// Reads a compliance filter: unset, or one of `allowed`.
fn compliance_filter(
    violations: &mut Violations,
    field: &str,
    value: i32,
    allowed: &[ComplianceType],
) -> Option<ComplianceType> {
    if value == collector_pb::ComplianceType::Unspecified as i32 {
        return None;
    }
    match ComplianceType::from_proto(value) {
        Some(kind) if allowed.contains(&kind) => Some(kind),
        _ => {
            let names: Vec<&str> = allowed.iter().map(|kind| kind.as_str()).collect();
            violations.add(
                field,
                format!("must be one of {}, or unset", names.join(", ")),
            );
            None
        }
    }
}

/// DescribeAggregateComplianceByConfigRules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleComplianceQuery {
    pub target: Target,
    pub config_rule_name: String,
    pub compliance_type: Option<ComplianceType>,
    pub account_id: String,
    pub aws_region: String,
    pub paging: Paging,
}

impl TryFrom<pb::DescribeAggregateComplianceByConfigRulesRequest> for RuleComplianceQuery {
    type Error = Error;

    fn try_from(request: pb::DescribeAggregateComplianceByConfigRulesRequest) -> Result<Self> {
        let target = Target::new(
            request.owner_account_id,
            request.region,
            request.configuration_aggregator_name,
        )?;
        let filters = request.filters.unwrap_or_default();
        let mut violations = Violations::new();
        at_most(
            &mut violations,
            "filters.config_rule_name",
            &filters.config_rule_name,
            MAX_RULE_NAME,
        );
        let compliance_type = compliance_filter(
            &mut violations,
            "filters.compliance_type",
            filters.compliance_type,
            &[ComplianceType::Compliant, ComplianceType::NonCompliant],
        );
        optional_account(&mut violations, "filters.account_id", &filters.account_id);
        optional_region(&mut violations, "filters.aws_region", &filters.aws_region);
        violations.finish_with(reason::VALIDATION)?;
        Ok(Self {
            target,
            config_rule_name: filters.config_rule_name,
            compliance_type,
            account_id: filters.account_id,
            aws_region: filters.aws_region,
            paging: Paging {
                page_size: request.page_size,
                page_token: request.page_token,
            },
        })
    }
}

/// GetAggregateComplianceDetailsByConfigRule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleDetailsQuery {
    pub target: Target,
    pub config_rule_name: String,
    pub account_id: String,
    pub aws_region: String,
    pub compliance_type: Option<ComplianceType>,
    pub paging: Paging,
}

impl TryFrom<pb::GetAggregateComplianceDetailsByConfigRuleRequest> for RuleDetailsQuery {
    type Error = Error;

    fn try_from(request: pb::GetAggregateComplianceDetailsByConfigRuleRequest) -> Result<Self> {
        let target = Target::new(
            request.owner_account_id,
            request.region,
            request.configuration_aggregator_name,
        )?;
        let mut violations = Violations::new();
        required(
            &mut violations,
            "config_rule_name",
            &request.config_rule_name,
            MAX_RULE_NAME,
        );
        violations.check("account_id", validate_account_id(&request.account_id));
        violations.check("aws_region", validate_region_name(&request.aws_region));
        let compliance_type = compliance_filter(
            &mut violations,
            "compliance_type",
            request.compliance_type,
            &[ComplianceType::Compliant, ComplianceType::NonCompliant],
        );
        violations.finish_with(reason::VALIDATION)?;
        Ok(Self {
            target,
            config_rule_name: request.config_rule_name,
            account_id: request.account_id,
            aws_region: request.aws_region,
            compliance_type,
            paging: Paging {
                page_size: request.page_size,
                page_token: request.page_token,
            },
        })
    }
}

/// How the summary calls group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GroupBy {
    /// One group with an empty name.
    Nothing,
    /// Per source account.
    Account,
    /// Per source region.
    Region,
    /// Per resource type (resource counts only).
    ResourceType,
}

/// GetAggregateConfigRuleComplianceSummary and GetAggregateConformancePackComplianceSummary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SummaryQuery {
    pub target: Target,
    pub account_id: String,
    pub aws_region: String,
    pub group_by: GroupBy,
    pub paging: Paging,
}

fn summary_filters(
    violations: &mut Violations,
    filters: Option<pb::ComplianceSummaryFilters>,
) -> pb::ComplianceSummaryFilters {
    let filters = filters.unwrap_or_default();
    optional_account(violations, "filters.account_id", &filters.account_id);
    optional_region(violations, "filters.aws_region", &filters.aws_region);
    filters
}

impl TryFrom<pb::GetAggregateConfigRuleComplianceSummaryRequest> for SummaryQuery {
    type Error = Error;

    fn try_from(request: pb::GetAggregateConfigRuleComplianceSummaryRequest) -> Result<Self> {
        let target = Target::new(
            request.owner_account_id,
            request.region,
            request.configuration_aggregator_name,
        )?;
        let mut violations = Violations::new();
        let filters = summary_filters(&mut violations, request.filters);
        use pb::ConfigRuleComplianceSummaryGroupKey as Key;
        let group_by = match Key::try_from(request.group_by_key) {
            Ok(Key::Unspecified) => GroupBy::Nothing,
            Ok(Key::AccountId) => GroupBy::Account,
            Ok(Key::AwsRegion) => GroupBy::Region,
            Err(_) => {
                violations.add("group_by_key", "must be ACCOUNT_ID, AWS_REGION or unset");
                GroupBy::Nothing
            }
        };
        violations.finish_with(reason::VALIDATION)?;
        Ok(Self {
            target,
            account_id: filters.account_id,
            aws_region: filters.aws_region,
            group_by,
            paging: Paging {
                page_size: request.page_size,
                page_token: request.page_token,
            },
        })
    }
}

impl TryFrom<pb::GetAggregateConformancePackComplianceSummaryRequest> for SummaryQuery {
    type Error = Error;

    fn try_from(request: pb::GetAggregateConformancePackComplianceSummaryRequest) -> Result<Self> {
        let target = Target::new(
            request.owner_account_id,
            request.region,
            request.configuration_aggregator_name,
        )?;
        let mut violations = Violations::new();
        let filters = summary_filters(&mut violations, request.filters);
        use pb::ConformancePackComplianceSummaryGroupKey as Key;
        let group_by = match Key::try_from(request.group_by_key) {
            Ok(Key::Unspecified) => GroupBy::Nothing,
            Ok(Key::AccountId) => GroupBy::Account,
            Ok(Key::AwsRegion) => GroupBy::Region,
            Err(_) => {
                violations.add("group_by_key", "must be ACCOUNT_ID, AWS_REGION or unset");
                GroupBy::Nothing
            }
        };
        violations.finish_with(reason::VALIDATION)?;
        Ok(Self {
            target,
            account_id: filters.account_id,
            aws_region: filters.aws_region,
            group_by,
            paging: Paging {
                page_size: request.page_size,
                page_token: request.page_token,
            },
        })
    }
}

/// DescribeAggregateComplianceByConformancePacks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackComplianceQuery {
    pub target: Target,
    pub conformance_pack_name: String,
    pub compliance_type: Option<ComplianceType>,
    pub account_id: String,
    pub aws_region: String,
    pub paging: Paging,
}

impl TryFrom<pb::DescribeAggregateComplianceByConformancePacksRequest> for PackComplianceQuery {
    type Error = Error;

    fn try_from(request: pb::DescribeAggregateComplianceByConformancePacksRequest) -> Result<Self> {
        let target = Target::new(
            request.owner_account_id,
            request.region,
            request.configuration_aggregator_name,
        )?;
        let filters = request.filters.unwrap_or_default();
        let mut violations = Violations::new();
        at_most(
            &mut violations,
            "filters.conformance_pack_name",
            &filters.conformance_pack_name,
            MAX_PACK_NAME,
        );
        let compliance_type = compliance_filter(
            &mut violations,
            "filters.compliance_type",
            filters.compliance_type,
            &[
                ComplianceType::Compliant,
                ComplianceType::NonCompliant,
                ComplianceType::InsufficientData,
            ],
        );
        optional_account(&mut violations, "filters.account_id", &filters.account_id);
        optional_region(&mut violations, "filters.aws_region", &filters.aws_region);
        violations.finish_with(reason::VALIDATION)?;
        Ok(Self {
            target,
            conformance_pack_name: filters.conformance_pack_name,
            compliance_type,
            account_id: filters.account_id,
            aws_region: filters.aws_region,
            paging: Paging {
                page_size: request.page_size,
                page_token: request.page_token,
            },
        })
    }
}

/// GetAggregateDiscoveredResourceCounts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceCountsQuery {
    pub target: Target,
    pub resource_type: String,
    pub account_id: String,
    pub aws_region: String,
    pub group_by: GroupBy,
    pub paging: Paging,
}

impl TryFrom<pb::GetAggregateDiscoveredResourceCountsRequest> for ResourceCountsQuery {
    type Error = Error;

    fn try_from(request: pb::GetAggregateDiscoveredResourceCountsRequest) -> Result<Self> {
        let target = Target::new(
            request.owner_account_id,
            request.region,
            request.configuration_aggregator_name,
        )?;
        let filters = request.filters.unwrap_or_default();
        let mut violations = Violations::new();
        if !filters.resource_type.is_empty() {
            violations.check(
                "filters.resource_type",
                validate_resource_type(&filters.resource_type),
            );
        }
        optional_account(&mut violations, "filters.account_id", &filters.account_id);
        optional_region(&mut violations, "filters.region", &filters.region);
        use pb::ResourceCountGroupKey as Key;
        let group_by = match Key::try_from(request.group_by_key) {
            Ok(Key::Unspecified) => GroupBy::Nothing,
            Ok(Key::ResourceType) => GroupBy::ResourceType,
            Ok(Key::AccountId) => GroupBy::Account,
            Ok(Key::AwsRegion) => GroupBy::Region,
            Err(_) => {
                violations.add(
                    "group_by_key",
                    "must be RESOURCE_TYPE, ACCOUNT_ID, AWS_REGION or unset",
                );
                GroupBy::Nothing
            }
        };
        violations.finish_with(reason::VALIDATION)?;
        Ok(Self {
            target,
            resource_type: filters.resource_type,
            account_id: filters.account_id,
            aws_region: filters.region,
            group_by,
            paging: Paging {
                page_size: request.page_size,
                page_token: request.page_token,
            },
        })
    }
}

/// ListAggregateDiscoveredResources.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListResourcesQuery {
    pub target: Target,
    pub resource_type: String,
    pub account_id: String,
    pub resource_id: String,
    pub resource_name: String,
    pub aws_region: String,
    pub paging: Paging,
}

impl TryFrom<pb::ListAggregateDiscoveredResourcesRequest> for ListResourcesQuery {
    type Error = Error;

    fn try_from(request: pb::ListAggregateDiscoveredResourcesRequest) -> Result<Self> {
        let target = Target::new(
            request.owner_account_id,
            request.region,
            request.configuration_aggregator_name,
        )?;
        let filters = request.filters.unwrap_or_default();
        let mut violations = Violations::new();
        violations.check(
            "resource_type",
            validate_resource_type(&request.resource_type),
        );
        optional_account(&mut violations, "filters.account_id", &filters.account_id);
        at_most(
            &mut violations,
            "filters.resource_id",
            &filters.resource_id,
            MAX_RESOURCE_ID,
        );
        at_most(
            &mut violations,
            "filters.resource_name",
            &filters.resource_name,
            MAX_RESOURCE_NAME,
        );
        optional_region(&mut violations, "filters.region", &filters.region);
        violations.finish_with(reason::VALIDATION)?;
        Ok(Self {
            target,
            resource_type: request.resource_type,
            account_id: filters.account_id,
            resource_id: filters.resource_id,
            resource_name: filters.resource_name,
            aws_region: filters.region,
            paging: Paging {
                page_size: request.page_size,
                page_token: request.page_token,
            },
        })
    }
}

/// A resource of a source, as Get and BatchGet name it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResourceKey {
    pub account_id: String,
    pub region: String,
    pub resource_type: String,
    pub resource_id: String,
}

fn check_identifier(
    violations: &mut Violations,
    field: &str,
    identifier: &pb::AggregateResourceIdentifier,
) {
    violations.check(
        format!("{field}.source_account_id"),
        validate_account_id(&identifier.source_account_id),
    );
    violations.check(
        format!("{field}.source_region"),
        validate_region_name(&identifier.source_region),
    );
    required(
        violations,
        &format!("{field}.resource_id"),
        &identifier.resource_id,
        MAX_RESOURCE_ID,
    );
    violations.check(
        format!("{field}.resource_type"),
        validate_resource_type(&identifier.resource_type),
    );
}

impl From<&pb::AggregateResourceIdentifier> for ResourceKey {
    fn from(identifier: &pb::AggregateResourceIdentifier) -> Self {
        Self {
            account_id: identifier.source_account_id.clone(),
            region: identifier.source_region.clone(),
            resource_type: identifier.resource_type.clone(),
            resource_id: identifier.resource_id.clone(),
        }
    }
}

/// GetAggregateResourceConfig.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetResourceQuery {
    pub target: Target,
    pub resource: ResourceKey,
}

impl TryFrom<pb::GetAggregateResourceConfigRequest> for GetResourceQuery {
    type Error = Error;

    fn try_from(request: pb::GetAggregateResourceConfigRequest) -> Result<Self> {
        let target = Target::new(
            request.owner_account_id,
            request.region,
            request.configuration_aggregator_name,
        )?;
        let mut violations = Violations::new();
        let identifier = request.resource_identifier.unwrap_or_default();
        check_identifier(&mut violations, "resource_identifier", &identifier);
        violations.finish_with(reason::VALIDATION)?;
        Ok(Self {
            target,
            resource: ResourceKey::from(&identifier),
        })
    }
}

/// BatchGetAggregateResourceConfig.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchGetQuery {
    pub target: Target,
    pub identifiers: Vec<pb::AggregateResourceIdentifier>,
}

impl TryFrom<pb::BatchGetAggregateResourceConfigRequest> for BatchGetQuery {
    type Error = Error;

    fn try_from(request: pb::BatchGetAggregateResourceConfigRequest) -> Result<Self> {
        let target = Target::new(
            request.owner_account_id,
            request.region,
            request.configuration_aggregator_name,
        )?;
        let mut violations = Violations::new();
        if request.resource_identifiers.is_empty()
            || request.resource_identifiers.len() > MAX_BATCH_IDENTIFIERS
        {
            violations.add(
                "resource_identifiers",
                format!(
                    "lists {} identifiers; Member must have length greater than or equal to 1 \
                     and less than or equal to {MAX_BATCH_IDENTIFIERS}",
                    request.resource_identifiers.len()
                ),
            );
        } else {
            for (index, identifier) in request.resource_identifiers.iter().enumerate() {
                check_identifier(
                    &mut violations,
                    &format!("resource_identifiers[{index}]"),
                    identifier,
                );
            }
        }
        violations.finish_with(reason::VALIDATION)?;
        Ok(Self {
            target,
            identifiers: request.resource_identifiers,
        })
    }
}
