//! Validation of Config aggregator requests: wire messages become domain inputs here, reporting
//! every bad field at once, in the order the spec gives: structural violations
//! (`ValidationException`), then the source and region choices (`InvalidParameterValueException`),
//! then the organization role (`InvalidRoleException`). Whether regions are registered and whether
//! limits hold needs the directory and the store, so the domain checks those afterwards.

use std::collections::BTreeSet;

use tributary_proto::aggregator::v1 as pb;
use tributary_runtime::{
    Violations,
    auth::{Caller, Principal},
    error::reason as runtime_reason,
    ids::{truncate_for_message, validate_account_id, validate_aggregator_name},
};

use crate::error::{Error, Result};

/// AWS exception names of Config aggregators besides the shared ones.
pub mod reason {
    /// A request breaks a documented limit or shape.
    pub const VALIDATION: &str = "ValidationException";
    /// The aggregator does not exist.
    pub const NO_SUCH_CONFIGURATION_AGGREGATOR: &str = "NoSuchConfigurationAggregatorException";
    /// Too many aggregators, or too many accounts in one.
    pub const LIMIT_EXCEEDED: &str = "LimitExceededException";
    /// An organization source without a usable role.
    pub const INVALID_ROLE: &str = "InvalidRoleException";
    /// The owner may not aggregate its organization.
    pub const ORGANIZATION_ACCESS_DENIED: &str = "OrganizationAccessDeniedException";
    /// The organization has consolidated billing only.
    pub const ORGANIZATION_ALL_FEATURES_NOT_ENABLED: &str =
        "OrganizationAllFeaturesNotEnabledException";
    /// The owner is not in an organization.
    pub const NO_AVAILABLE_ORGANIZATION: &str = "NoAvailableOrganizationException";
    /// A resource would carry more than 50 tags.
    pub const TOO_MANY_TAGS: &str = "TooManyTagsException";
    /// The resource is unknown, deleted or outside the aggregator's sources.
    pub const RESOURCE_NOT_DISCOVERED: &str = "ResourceNotDiscoveredException";
}

/// The most names one DescribeConfigurationAggregators call may list.
pub const MAX_DESCRIBED_NAMES: usize = 10;
/// Longest organization role ARN.
const MAX_ROLE_ARN: usize = 2048;
/// The most values one aggregator filter may list.
const MAX_FILTER_VALUES: usize = 100;

/// Which aggregator: (owner account, home region, name).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AggregatorKey {
    /// The owner account.
    pub owner_account_id: String,
    /// The home region.
    pub home_region: String,
    /// The aggregator's name.
    pub name: String,
}

impl std::fmt::Display for AggregatorKey {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            formatter,
            "configuration aggregator {:?} of account {} in {}",
            self.name, self.owner_account_id, self.home_region
        )
    }
}

/// Where an aggregator's accounts come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// These accounts (sorted, without duplicates).
    Accounts(Vec<String>),
    /// Every account of the owner's organization; the role is stored and echoed.
    Organization { role_arn: String },
}

/// Which regions an aggregator covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Regions {
    /// Every registered region, now and later.
    All,
    /// These regions (sorted, without duplicates).
    Listed(Vec<String>),
}

/// A validated PutConfigurationAggregator.
#[derive(Debug, Clone, PartialEq)]
pub struct PutAggregator {
    /// The owner as the request named it (empty: the caller's own account).
    pub requested_owner: String,
    /// The home region.
    pub home_region: String,
    /// The aggregator's name.
    pub name: String,
    /// The source.
    pub source: Source,
    /// The covered regions.
    pub regions: Regions,
    /// Tags to apply when the aggregator is created.
    pub tags: Vec<(String, String)>,
    /// The filters, normalised (INCLUDE made explicit); none when absent.
    pub filters: Option<pb::AggregatorFilters>,
}

/// The account a request acts as: an account principal's own account (the request may name it or
/// leave it empty), or for service and operator principals the account the request names.
pub fn acting_owner(caller: &Caller, requested: &str) -> Result<String> {
    match &caller.principal {
        Principal::Account { account_id }
        | Principal::OrganizationManagement { account_id, .. } => {
            if requested.is_empty() || requested == account_id {
                Ok(account_id.clone())
            } else {
                Err(Error::access_denied(format!(
                    "this key acts for account {account_id} and may not manage or read the Config \
                     aggregators of account {}; leave owner_account_id empty or name your own \
                     account",
                    truncate_for_message(requested)
                )))
            }
        }
        Principal::Operator | Principal::Service { .. } => {
            if requested.is_empty() {
                return Err(Error::invalid_field(
                    reason::VALIDATION,
                    "owner_account_id",
                    "is required for service and operator keys: name the 12-digit account that \
                     owns the aggregator",
                ));
            }
            validate_account_id(requested).map_err(|message| {
                Error::invalid_field(reason::VALIDATION, "owner_account_id", message)
            })?;
            Ok(requested.to_string())
        }
    }
}

/// Checks the shape of the aggregator's key fields (owner, home region, name) under their request
/// names.
pub fn check_key(violations: &mut Violations, owner_account_id: &str, name: &str) {
    if !owner_account_id.is_empty() {
        violations.check("owner_account_id", validate_account_id(owner_account_id));
    }
    violations.check(
        "configuration_aggregator_name",
        validate_aggregator_name(name).map_err(|message| {
            format!("configurationAggregatorName {message}; Member must have length less than or equal to 256")
        }),
    );
}

/// Validates the key of a request that names one aggregator (`ValidationException` for a bad
/// owner or name, `InvalidParameterValueException` for a malformed region).
pub fn validate_named(owner_account_id: &str, region: &str, name: &str) -> Result<()> {
    let mut violations = Violations::new();
    check_key(&mut violations, owner_account_id, name);
    violations.finish_with(reason::VALIDATION)?;
    check_home_region(region)
}

/// A malformed home region is `InvalidParameterValueException`.
pub fn check_home_region(region: &str) -> Result<()> {
    tributary_runtime::ids::validate_region_name(region).map_err(|message| {
        Error::invalid_field(runtime_reason::INVALID_PARAMETER_VALUE, "region", message)
    })
}

impl TryFrom<pb::PutConfigurationAggregatorRequest> for PutAggregator {
    type Error = Error;

    fn try_from(request: pb::PutConfigurationAggregatorRequest) -> Result<Self> {
        // Structural violations first.
        let mut structural = Violations::new();
        check_key(
            &mut structural,
            &request.owner_account_id,
            &request.configuration_aggregator_name,
        );
        if request.account_aggregation_sources.len() > 1 {
            structural.add(
                "account_aggregation_sources",
                format!(
                    "lists {} sources; Member must have length less than or equal to 1",
                    request.account_aggregation_sources.len()
                ),
            );
        }
        for (index, source) in request.account_aggregation_sources.iter().enumerate() {
            let field = format!("account_aggregation_sources[{index}].account_ids");
            if source.account_ids.is_empty() {
                structural.add(&field, "must list at least one 12-digit account");
            }
            for (position, account_id) in source.account_ids.iter().enumerate() {
                structural.check(
                    format!("{field}[{position}]"),
                    validate_account_id(account_id),
                );
            }
        }
        if let Some(organization) = &request.organization_aggregation_source
            && organization.role_arn.chars().count() > MAX_ROLE_ARN
        {
            structural.add(
                "organization_aggregation_source.role_arn",
                format!("Member must have length less than or equal to {MAX_ROLE_ARN}"),
            );
        }
        let tag_pairs: Vec<(&str, &str)> = request
            .tags
            .iter()
            .map(|tag| (tag.key.as_str(), tag.value.as_str()))
            .collect();
        tributary_runtime::tags::check_tags(&mut structural, "tags", &tag_pairs, false);
        let filters = request
            .aggregator_filters
            .map(|filters| check_filters(&mut structural, filters));
        structural.finish_with(reason::VALIDATION)?;

        // Then the source and region choices.
        let mut choices = Violations::new();
        check_home_region_into(&mut choices, &request.region);
        let account_source = request.account_aggregation_sources.into_iter().next();
        let (source, all_regions, listed_regions, regions_field) =
            match (account_source, request.organization_aggregation_source) {
                (Some(_), Some(_)) => {
                    choices.add(
                        "organization_aggregation_source",
                        "You cannot specify both the AccountAggregationSource and the \
                         OrganizationAggregationSource; choose one",
                    );
                    return Err(finish_choices(choices));
                }
                (None, None) => {
                    choices.add(
                        "account_aggregation_sources",
                        "You must specify either the AccountAggregationSource or the \
                         OrganizationAggregationSource",
                    );
                    return Err(finish_choices(choices));
                }
                (Some(accounts), None) => {
                    let unique: BTreeSet<String> = accounts.account_ids.into_iter().collect();
                    (
                        Source::Accounts(unique.into_iter().collect()),
                        accounts.all_aws_regions,
                        accounts.aws_regions,
                        "account_aggregation_sources[0]",
                    )
                }
                (None, Some(organization)) => (
                    Source::Organization {
                        role_arn: organization.role_arn,
                    },
                    organization.all_aws_regions,
                    organization.aws_regions,
                    "organization_aggregation_source",
                ),
            };
        let regions = match (all_regions, listed_regions.is_empty()) {
            (true, false) => {
                choices.add(
                    format!("{regions_field}.aws_regions"),
                    "You must choose one of these options: all_aws_regions, or a list of \
                     aws_regions; not both",
                );
                Regions::All
            }
            (true, true) => Regions::All,
            (false, true) => {
                choices.add(
                    format!("{regions_field}.aws_regions"),
                    "Your request does not specify any regions: set all_aws_regions or list at \
                     least one region",
                );
                Regions::Listed(Vec::new())
            }
            (false, false) => {
                for (index, region) in listed_regions.iter().enumerate() {
                    choices.check(
                        format!("{regions_field}.aws_regions[{index}]"),
                        tributary_runtime::ids::validate_region_name(region),
                    );
                }
                let unique: BTreeSet<String> = listed_regions.into_iter().collect();
                Regions::Listed(unique.into_iter().collect())
            }
        };
        choices.finish()?;

        if let Source::Organization { role_arn } = &source
            && role_arn.trim().is_empty()
        {
            let mut role = Violations::new();
            role.add(
                "organization_aggregation_source.role_arn",
                "is required: name the IAM role that reads the organization",
            );
            role.finish_with(reason::INVALID_ROLE)?;
        }

        Ok(Self {
            requested_owner: request.owner_account_id,
            home_region: request.region,
            name: request.configuration_aggregator_name,
            source,
            regions,
            tags: request
                .tags
                .into_iter()
                .map(|tag| (tag.key, tag.value))
                .collect(),
            filters,
        })
    }
}

fn finish_choices(choices: Violations) -> Error {
    match choices.finish() {
        Err(error) => Error::Runtime(error),
        Ok(()) => Error::Corrupt("a recorded violation was lost".into()),
    }
}

fn check_home_region_into(violations: &mut Violations, region: &str) {
    violations.check(
        "region",
        tributary_runtime::ids::validate_region_name(region),
    );
}

/// A resource type in filters: three groups of 2-64 letters and digits joined by "::".
pub fn validate_resource_type(value: &str) -> std::result::Result<(), String> {
    let groups: Vec<&str> = value.split("::").collect();
    let shaped = groups.len() == 3
        && groups.iter().all(|group| {
            (2..=64).contains(&group.len())
                && group.bytes().all(|byte| byte.is_ascii_alphanumeric())
        });
    if shaped {
        Ok(())
    } else {
        Err(format!(
            "Member must satisfy regular expression pattern: \
             [a-zA-Z0-9]{{2,64}}::[a-zA-Z0-9]{{2,64}}::[a-zA-Z0-9]{{2,64}} (such as \
             \"AWS::EC2::Instance\"), got {:?}",
            truncate_for_message(value)
        ))
    }
}

/// A service principal in filters: 1-128 characters of letters, digits and `_+=,.@-`.
fn validate_service_principal(value: &str) -> std::result::Result<(), String> {
    let shaped = (1..=128).contains(&value.len())
        && value
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || b"_+=,.@-".contains(&byte));
    if shaped {
        Ok(())
    } else {
        Err(format!(
            "Member must satisfy regular expression pattern: [\\w+=,.@-]+ with 1-128 characters, \
             got {:?}",
            truncate_for_message(value)
        ))
    }
}

/// Checks the filters and makes INCLUDE explicit.
fn check_filters(
    violations: &mut Violations,
    mut filters: pb::AggregatorFilters,
) -> pb::AggregatorFilters {
    if filters.resource_type.is_none() && filters.service_principal.is_none() {
        violations.add(
            "aggregator_filters",
            "must set resource_type, service_principal or both when present",
        );
    }
    if let Some(resource_type) = &mut filters.resource_type {
        check_filter_values(
            violations,
            "aggregator_filters.resource_type.value",
            &resource_type.value,
            validate_resource_type,
        );
        resource_type.r#type = pb::AggregatorFilterType::Include as i32;
    }
    if let Some(service_principal) = &mut filters.service_principal {
        check_filter_values(
            violations,
            "aggregator_filters.service_principal.value",
            &service_principal.value,
            validate_service_principal,
        );
        service_principal.r#type = pb::AggregatorFilterType::Include as i32;
    }
    filters
}

fn check_filter_values(
    violations: &mut Violations,
    field: &str,
    values: &[String],
    validate: fn(&str) -> std::result::Result<(), String>,
) {
    if values.is_empty() || values.len() > MAX_FILTER_VALUES {
        violations.add(
            field,
            format!(
                "must list 1-{MAX_FILTER_VALUES} values, got {}",
                values.len()
            ),
        );
    }
    let mut seen = BTreeSet::new();
    for (index, value) in values.iter().enumerate() {
        violations.check(format!("{field}[{index}]"), validate(value));
        if !seen.insert(value.as_str()) {
            violations.add(format!("{field}[{index}]"), "repeats an earlier value");
        }
    }
}

/// A validated DescribeConfigurationAggregators.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescribeAggregators {
    pub requested_owner: String,
    pub home_region: String,
    /// Sorted, without duplicates.
    pub names: Vec<String>,
    pub page_size: i32,
    pub page_token: String,
}

impl TryFrom<pb::DescribeConfigurationAggregatorsRequest> for DescribeAggregators {
    type Error = Error;

    fn try_from(request: pb::DescribeConfigurationAggregatorsRequest) -> Result<Self> {
        let mut violations = Violations::new();
        if !request.owner_account_id.is_empty() {
            violations.check(
                "owner_account_id",
                validate_account_id(&request.owner_account_id),
            );
        }
        if request.configuration_aggregator_names.len() > MAX_DESCRIBED_NAMES {
            violations.add(
                "configuration_aggregator_names",
                format!(
                    "lists {} names; Member must have length less than or equal to \
                     {MAX_DESCRIBED_NAMES}",
                    request.configuration_aggregator_names.len()
                ),
            );
        }
        for (index, name) in request.configuration_aggregator_names.iter().enumerate() {
            violations.check(
                format!("configuration_aggregator_names[{index}]"),
                validate_aggregator_name(name),
            );
        }
        violations.finish_with(reason::VALIDATION)?;
        check_home_region(&request.region)?;
        let names: BTreeSet<String> = request.configuration_aggregator_names.into_iter().collect();
        Ok(Self {
            requested_owner: request.owner_account_id,
            home_region: request.region,
            names: names.into_iter().collect(),
            page_size: request.page_size,
            page_token: request.page_token,
        })
    }
}

/// A validated DescribeConfigurationAggregatorSourcesStatus.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourcesStatusQuery {
    pub requested_owner: String,
    pub home_region: String,
    pub name: String,
    /// The wanted statuses; empty means all.
    pub statuses: Vec<pb::AggregatedSourceStatusType>,
    pub page_size: i32,
    pub page_token: String,
}

impl TryFrom<pb::DescribeConfigurationAggregatorSourcesStatusRequest> for SourcesStatusQuery {
    type Error = Error;

    fn try_from(request: pb::DescribeConfigurationAggregatorSourcesStatusRequest) -> Result<Self> {
        validate_named(
            &request.owner_account_id,
            &request.region,
            &request.configuration_aggregator_name,
        )?;
        let mut violations = Violations::new();
        let mut statuses = Vec::new();
        for (index, value) in request.update_status.iter().enumerate() {
            match pb::AggregatedSourceStatusType::try_from(*value) {
                Ok(pb::AggregatedSourceStatusType::Unspecified) | Err(_) => violations.add(
                    format!("update_status[{index}]"),
                    "must be SUCCEEDED, FAILED or OUTDATED",
                ),
                Ok(status) if statuses.contains(&status) => violations.add(
                    format!("update_status[{index}]"),
                    "repeats an earlier status",
                ),
                Ok(status) => statuses.push(status),
            }
        }
        violations.finish()?;
        Ok(Self {
            requested_owner: request.owner_account_id,
            home_region: request.region,
            name: request.configuration_aggregator_name,
            statuses,
            page_size: request.page_size,
            page_token: request.page_token,
        })
    }
}

/// Checks a tagging request's ARN: 1-1000 characters (`ValidationException`).
pub fn check_arn(violations: &mut Violations, arn: &str) {
    let length = arn.chars().count();
    if length == 0 || length > 1000 {
        violations.add(
            "resource_arn",
            format!("must be 1-1000 characters, got {length}"),
        );
    }
}

/// Checks the keys of an UntagResource call.
pub fn check_tag_keys(violations: &mut Violations, keys: &[String]) {
    use tributary_runtime::tags::{MAX_TAG_KEY, MAX_TAGS};
    if keys.is_empty() || keys.len() > MAX_TAGS {
        violations.add(
            "tag_keys",
            format!(
                "must list 1-{MAX_TAGS} keys, got {}; Member must have length less than or equal \
                 to {MAX_TAGS}",
                keys.len()
            ),
        );
    }
    for (index, key) in keys.iter().enumerate() {
        let length = key.chars().count();
        if length == 0 || length > MAX_TAG_KEY {
            violations.add(
                format!("tag_keys[{index}]"),
                format!(
                    "has {length} characters; Member must have length between 1 and {MAX_TAG_KEY}"
                ),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> pb::PutConfigurationAggregatorRequest {
        pb::PutConfigurationAggregatorRequest {
            owner_account_id: String::new(),
            region: "us-east-1".into(),
            configuration_aggregator_name: "audit".into(),
            account_aggregation_sources: vec![pb::AccountAggregationSource {
                account_ids: vec![
                    "222222222222".into(),
                    "111111111111".into(),
                    "222222222222".into(),
                ],
                all_aws_regions: false,
                aws_regions: vec!["eu-west-1".into(), "us-east-1".into()],
            }],
            organization_aggregation_source: None,
            tags: Vec::new(),
            aggregator_filters: None,
        }
    }

    fn reason_and_fields(error: Error) -> (&'static str, Vec<String>) {
        match error {
            Error::Runtime(tributary_runtime::Error::InvalidInput {
                reason, violations, ..
            }) => (
                reason,
                violations
                    .into_iter()
                    .map(|violation| violation.field)
                    .collect(),
            ),
            other => panic!("expected invalid input, got {other:?}"),
        }
    }

    #[test]
    fn account_sources_are_sorted_and_merged() {
        let input = PutAggregator::try_from(request()).unwrap();
        assert_eq!(
            input.source,
            Source::Accounts(vec!["111111111111".into(), "222222222222".into()])
        );
        assert_eq!(
            input.regions,
            Regions::Listed(vec!["eu-west-1".into(), "us-east-1".into()])
        );
    }

    #[test]
    fn structural_violations_come_before_choices() {
        let mut bad = request();
        bad.configuration_aggregator_name = "x".repeat(257);
        bad.organization_aggregation_source = Some(pb::OrganizationAggregationSource {
            role_arn: "arn".into(),
            aws_regions: Vec::new(),
            all_aws_regions: true,
        });
        let (reason, fields) = reason_and_fields(PutAggregator::try_from(bad).unwrap_err());
        assert_eq!(reason, reason::VALIDATION);
        assert_eq!(fields, ["configuration_aggregator_name"]);
    }

    #[test]
    fn exactly_one_source_and_one_region_choice() {
        let mut both = request();
        both.organization_aggregation_source = Some(pb::OrganizationAggregationSource {
            role_arn: "arn".into(),
            aws_regions: Vec::new(),
            all_aws_regions: true,
        });
        let (reason, _) = reason_and_fields(PutAggregator::try_from(both).unwrap_err());
        assert_eq!(reason, runtime_reason::INVALID_PARAMETER_VALUE);

        let mut neither = request();
        neither.account_aggregation_sources.clear();
        let (_, fields) = reason_and_fields(PutAggregator::try_from(neither).unwrap_err());
        assert_eq!(fields, ["account_aggregation_sources"]);

        let mut no_regions = request();
        no_regions.account_aggregation_sources[0]
            .aws_regions
            .clear();
        let error = PutAggregator::try_from(no_regions).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("Your request does not specify any regions")
        );

        let mut both_regions = request();
        both_regions.account_aggregation_sources[0].all_aws_regions = true;
        let error = PutAggregator::try_from(both_regions).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("You must choose one of these options")
        );
    }

    #[test]
    fn an_organization_source_needs_a_role() {
        let mut organization = request();
        organization.account_aggregation_sources.clear();
        organization.organization_aggregation_source = Some(pb::OrganizationAggregationSource {
            role_arn: " ".into(),
            aws_regions: Vec::new(),
            all_aws_regions: true,
        });
        let (reason, fields) =
            reason_and_fields(PutAggregator::try_from(organization).unwrap_err());
        assert_eq!(reason, reason::INVALID_ROLE);
        assert_eq!(fields, ["organization_aggregation_source.role_arn"]);
    }

    #[test]
    fn filters_are_checked_and_include_is_explicit() {
        let mut filtered = request();
        filtered.aggregator_filters = Some(pb::AggregatorFilters {
            resource_type: Some(pb::AggregatorFilterResourceType {
                r#type: 0,
                value: vec!["AWS::EC2::Instance".into()],
            }),
            service_principal: None,
        });
        let input = PutAggregator::try_from(filtered.clone()).unwrap();
        let resource_type = input.filters.unwrap().resource_type.unwrap();
        assert_eq!(
            resource_type.r#type,
            pb::AggregatorFilterType::Include as i32
        );

        filtered.aggregator_filters = Some(pb::AggregatorFilters {
            resource_type: Some(pb::AggregatorFilterResourceType {
                r#type: 0,
                value: vec![
                    "EC2Instance".into(),
                    "AWS::EC2::Instance".into(),
                    "AWS::EC2::Instance".into(),
                ],
            }),
            service_principal: Some(pb::AggregatorFilterServicePrincipal {
                r#type: 0,
                value: Vec::new(),
            }),
        });
        let (reason, fields) =
            reason_and_fields(PutAggregator::try_from(filtered.clone()).unwrap_err());
        assert_eq!(reason, reason::VALIDATION);
        assert_eq!(
            fields,
            [
                "aggregator_filters.resource_type.value[0]",
                "aggregator_filters.resource_type.value[2]",
                "aggregator_filters.service_principal.value",
            ]
        );
        filtered.aggregator_filters = Some(pb::AggregatorFilters::default());
        let (_, fields) = reason_and_fields(PutAggregator::try_from(filtered).unwrap_err());
        assert_eq!(fields, ["aggregator_filters"]);
    }

    #[test]
    fn accounts_act_only_as_themselves() {
        let account = Caller {
            key_id: "key".into(),
            principal: Principal::Account {
                account_id: "111111111111".into(),
            },
        };
        assert_eq!(acting_owner(&account, "").unwrap(), "111111111111");
        assert_eq!(
            acting_owner(&account, "111111111111").unwrap(),
            "111111111111"
        );
        assert!(acting_owner(&account, "222222222222").is_err());
        let service = Caller {
            key_id: "key".into(),
            principal: Principal::Service {
                name: "tributary".into(),
            },
        };
        assert!(acting_owner(&service, "").is_err());
        assert_eq!(
            acting_owner(&service, "222222222222").unwrap(),
            "222222222222"
        );
    }
}
