//! Validated inputs of the compliance calls. Every wire request becomes one of these through
//! `TryFrom`, which reports every bad field at once (`ValidationException`).

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use tributary_proto::collector::v1 as pb;
use tributary_runtime::{Violations, ids::validate_account_id};

use super::summary::ComplianceType;
use crate::{
    config_items::validate_resource_type,
    error::{Error, Result, reason},
};

/// At most this many evaluations per PutEvaluations call (AWS).
pub const MAX_EVALUATIONS: usize = 100;
/// At most this many names in a DescribeConfigRules / DescribeComplianceByConfigRule /
/// DescribeConformancePacks filter (AWS).
pub const MAX_NAME_FILTER: usize = 25;
/// At most this many rules in one conformance pack, and in its compliance filter.
pub const MAX_PACK_RULES: usize = 1000;
/// At most this many resource types in a rule's scope (AWS).
pub const MAX_SCOPE_TYPES: usize = 100;
const MAX_RULE_NAME: usize = 128;
const MAX_DESCRIPTION: usize = 256;
const MAX_SOURCE_IDENTIFIER: usize = 256;
const MAX_INPUT_PARAMETERS: usize = 1024;
const MAX_TAG_KEY: usize = 128;
const MAX_TAG_VALUE: usize = 256;
const MAX_RESOURCE_ID: usize = 768;
const MAX_ANNOTATION: usize = 256;
const MAX_PACK_NAME: usize = 256;

/// A wire timestamp as a time, if it is one.
fn from_timestamp(timestamp: &prost_types::Timestamp) -> Option<DateTime<Utc>> {
    let nanos = u32::try_from(timestamp.nanos).ok()?;
    DateTime::from_timestamp(timestamp.seconds, nanos)
}

/// A rule name: 1-128 characters, not only whitespace, no control characters.
pub fn validate_rule_name(name: &str) -> Result<(), String> {
    tributary_runtime::ids::validate_label(name, MAX_RULE_NAME)?;
    if name.trim().is_empty() {
        return Err("must contain a character other than whitespace".into());
    }
    Ok(())
}

/// A conformance pack name: 1-256 characters, a letter followed by letters, digits and hyphens.
pub fn validate_pack_name(name: &str) -> Result<(), String> {
    let length = name.chars().count();
    let shaped = name
        .bytes()
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic())
        && name
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-');
    if length == 0 || length > MAX_PACK_NAME {
        Err(format!(
            "must be 1-{MAX_PACK_NAME} characters, got {length}"
        ))
    } else if !shaped {
        Err(
            "must be a letter followed by letters, digits and hyphens ([a-zA-Z][-a-zA-Z0-9]*)"
                .into(),
        )
    } else {
        Ok(())
    }
}

fn validate_resource_id(resource_id: &str) -> Result<(), String> {
    let length = resource_id.chars().count();
    if length == 0 || length > MAX_RESOURCE_ID {
        Err(format!(
            "must be 1-{MAX_RESOURCE_ID} characters, got {length}"
        ))
    } else {
        Ok(())
    }
}

fn at_most(value: &str, max: usize) -> Result<(), String> {
    let length = value.chars().count();
    if length > max {
        Err(format!("must be at most {max} characters, got {length}"))
    } else {
        Ok(())
    }
}

/// Checks a list of names: at most `max`, each valid, none twice.
fn check_names(
    violations: &mut Violations,
    field: &str,
    names: &[String],
    max: usize,
    validate: fn(&str) -> Result<(), String>,
) {
    if names.len() > max {
        violations.add(field, format!("must hold at most {max} names"));
    }
    let mut seen = HashSet::new();
    for (index, name) in names.iter().enumerate() {
        violations.check(format!("{field}[{index}]"), validate(name));
        if !seen.insert(name.as_str()) {
            violations.add(format!("{field}[{index}]"), "must not repeat a name");
        }
    }
}

/// Reads a compliance type filter: distinct values, each allowed by `allowed`.
fn compliance_filter(
    violations: &mut Violations,
    field: &str,
    values: &[i32],
    allowed: &[ComplianceType],
) -> Vec<ComplianceType> {
    let mut parsed = Vec::with_capacity(values.len());
    for (index, value) in values.iter().enumerate() {
        match ComplianceType::from_proto(*value) {
            Some(kind) if allowed.contains(&kind) => {
                if parsed.contains(&kind) {
                    violations.add(format!("{field}[{index}]"), "must not repeat a type");
                } else {
                    parsed.push(kind);
                }
            }
            _ => violations.add(
                format!("{field}[{index}]"),
                format!(
                    "must be one of {}",
                    allowed
                        .iter()
                        .map(|kind| kind.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ),
        }
    }
    parsed
}

/// The summaries a summary filter may name (never NOT_APPLICABLE).
const SUMMARY_TYPES: [ComplianceType; 3] = [
    ComplianceType::Compliant,
    ComplianceType::NonCompliant,
    ComplianceType::InsufficientData,
];

/// Who provides a rule's logic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceOwner {
    /// An AWS managed rule.
    Aws,
    /// A Lambda-backed custom rule.
    CustomLambda,
    /// A Guard policy rule.
    CustomPolicy,
}

/// A validated PutConfigRule: the wire rule with its output-only fields cleared.
#[derive(Debug, Clone, PartialEq)]
pub struct PutConfigRule {
    /// The owning account.
    pub account_id: String,
    /// The rule as given; `config_rule_arn`, `config_rule_id`, `config_rule_state` and
    /// `created_time` are filled in when it is stored.
    pub rule: pb::ConfigRule,
}

impl TryFrom<pb::PutConfigRuleRequest> for PutConfigRule {
    type Error = Error;

    fn try_from(message: pb::PutConfigRuleRequest) -> Result<Self> {
        let mut violations = Violations::new();
        violations.check("account_id", validate_account_id(&message.account_id));
        let Some(mut rule) = message.config_rule else {
            violations.add("config_rule", "is required");
            violations.finish_with(reason::VALIDATION)?;
            return Err(Error::Corrupt("a recorded violation was lost".into()));
        };
        violations.check(
            "config_rule.config_rule_name",
            validate_rule_name(&rule.config_rule_name),
        );
        violations.check(
            "config_rule.description",
            at_most(&rule.description, MAX_DESCRIPTION),
        );
        match &rule.source {
            None => violations.add("config_rule.source", "is required"),
            Some(source) => {
                let owner = match pb::ConfigRuleSourceOwner::try_from(source.owner) {
                    Ok(pb::ConfigRuleSourceOwner::Aws) => Some(SourceOwner::Aws),
                    Ok(pb::ConfigRuleSourceOwner::CustomLambda) => Some(SourceOwner::CustomLambda),
                    Ok(pb::ConfigRuleSourceOwner::CustomPolicy) => Some(SourceOwner::CustomPolicy),
                    _ => {
                        violations.add(
                            "config_rule.source.owner",
                            "must be AWS, CUSTOM_LAMBDA or CUSTOM_POLICY",
                        );
                        None
                    }
                };
                let field = "config_rule.source.source_identifier";
                violations.check(
                    field,
                    at_most(&source.source_identifier, MAX_SOURCE_IDENTIFIER),
                );
                if matches!(owner, Some(SourceOwner::Aws | SourceOwner::CustomLambda))
                    && source.source_identifier.is_empty()
                {
                    violations.add(
                        field,
                        "is required for AWS (the managed rule identifier) and CUSTOM_LAMBDA (the \
                         function ARN) rules",
                    );
                }
            }
        }
        if let Some(scope) = &rule.scope {
            let field = "config_rule.scope";
            if scope.compliance_resource_types.len() > MAX_SCOPE_TYPES {
                violations.add(
                    format!("{field}.compliance_resource_types"),
                    format!("must hold at most {MAX_SCOPE_TYPES} types"),
                );
            }
            let mut seen = HashSet::new();
            for (index, resource_type) in scope.compliance_resource_types.iter().enumerate() {
                let item = format!("{field}.compliance_resource_types[{index}]");
                violations.check(item.clone(), validate_resource_type(resource_type));
                if !seen.insert(resource_type.as_str()) {
                    violations.add(item, "must not repeat a type");
                }
            }
            violations.check(
                format!("{field}.tag_key"),
                at_most(&scope.tag_key, MAX_TAG_KEY),
            );
            violations.check(
                format!("{field}.tag_value"),
                at_most(&scope.tag_value, MAX_TAG_VALUE),
            );
            if !scope.tag_value.is_empty() && scope.tag_key.is_empty() {
                violations.add(format!("{field}.tag_key"), "is required with tag_value");
            }
            if !scope.compliance_resource_id.is_empty() {
                violations.check(
                    format!("{field}.compliance_resource_id"),
                    validate_resource_id(&scope.compliance_resource_id),
                );
                if scope.compliance_resource_types.len() != 1 {
                    violations.add(
                        format!("{field}.compliance_resource_id"),
                        "needs exactly one entry in compliance_resource_types",
                    );
                }
            }
        }
        if !rule.input_parameters.is_empty() {
            let field = "config_rule.input_parameters";
            if rule.input_parameters.chars().count() > MAX_INPUT_PARAMETERS {
                violations.add(
                    field,
                    format!("must be at most {MAX_INPUT_PARAMETERS} characters"),
                );
            } else if !serde_json::from_str::<serde_json::Value>(&rule.input_parameters)
                .is_ok_and(|value| value.is_object())
            {
                violations.add(field, "must be a JSON object");
            }
        }
        if pb::MaximumExecutionFrequency::try_from(rule.maximum_execution_frequency).is_err() {
            violations.add(
                "config_rule.maximum_execution_frequency",
                "must be a MaximumExecutionFrequency value",
            );
        }
        violations.finish_with(reason::VALIDATION)?;
        rule.config_rule_arn.clear();
        rule.config_rule_id.clear();
        rule.config_rule_state = pb::ConfigRuleState::Unspecified as i32;
        rule.created_time = None;
        Ok(Self {
            account_id: message.account_id,
            rule,
        })
    }
}

/// Validates a request's account id and one name (`ValidationException`).
pub fn validate_account_and_name(
    account_id: &str,
    field: &str,
    name: &str,
    validate: fn(&str) -> Result<(), String>,
) -> Result<()> {
    let mut violations = Violations::new();
    violations.check("account_id", validate_account_id(account_id));
    violations.check(field, validate(name));
    Ok(violations.finish_with(reason::VALIDATION)?)
}

/// A named listing: DescribeConfigRules or DescribeConformancePacks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedListing {
    /// The account read.
    pub account_id: String,
    /// Only these names, sorted; empty for all.
    pub names: Vec<String>,
    /// The requested page size.
    pub page_size: i32,
    /// The page token.
    pub page_token: String,
}

impl TryFrom<pb::DescribeConfigRulesRequest> for NamedListing {
    type Error = Error;

    fn try_from(message: pb::DescribeConfigRulesRequest) -> Result<Self> {
        let mut violations = Violations::new();
        violations.check("account_id", validate_account_id(&message.account_id));
        check_names(
            &mut violations,
            "config_rule_names",
            &message.config_rule_names,
            MAX_NAME_FILTER,
            validate_rule_name,
        );
        violations.finish_with(reason::VALIDATION)?;
        let mut names = message.config_rule_names;
        names.sort();
        Ok(Self {
            account_id: message.account_id,
            names,
            page_size: message.page_size,
            page_token: message.page_token,
        })
    }
}

impl TryFrom<pb::DescribeConformancePacksRequest> for NamedListing {
    type Error = Error;

    fn try_from(message: pb::DescribeConformancePacksRequest) -> Result<Self> {
        let mut violations = Violations::new();
        violations.check("account_id", validate_account_id(&message.account_id));
        check_names(
            &mut violations,
            "conformance_pack_names",
            &message.conformance_pack_names,
            MAX_NAME_FILTER,
            validate_pack_name,
        );
        violations.finish_with(reason::VALIDATION)?;
        let mut names = message.conformance_pack_names;
        names.sort();
        Ok(Self {
            account_id: message.account_id,
            names,
            page_size: message.page_size,
            page_token: message.page_token,
        })
    }
}

/// One validated evaluation result to record.
#[derive(Debug, Clone, PartialEq)]
pub struct EvaluationInput {
    /// The evaluating rule.
    pub config_rule_name: String,
    /// The evaluated resource's type.
    pub resource_type: String,
    /// The evaluated resource's id.
    pub resource_id: String,
    /// The outcome.
    pub compliance_type: ComplianceType,
    /// Why, for people.
    pub annotation: String,
    /// When the evaluation was made.
    pub ordering_time: DateTime<Utc>,
    /// The result as sent, returned when it is not stored.
    pub wire: pb::EvaluationInput,
}

/// A validated PutEvaluations.
#[derive(Debug, Clone, PartialEq)]
pub struct PutEvaluations {
    /// The account whose resources were evaluated.
    pub account_id: String,
    /// 1-100 results, each (rule, resource) once, in request order.
    pub evaluations: Vec<EvaluationInput>,
}

impl TryFrom<pb::PutEvaluationsRequest> for PutEvaluations {
    type Error = Error;

    fn try_from(message: pb::PutEvaluationsRequest) -> Result<Self> {
        let mut violations = Violations::new();
        violations.check("account_id", validate_account_id(&message.account_id));
        if message.evaluations.is_empty() || message.evaluations.len() > MAX_EVALUATIONS {
            violations.add(
                "evaluations",
                format!(
                    "must hold 1-{MAX_EVALUATIONS} evaluations, got {}",
                    message.evaluations.len()
                ),
            );
        }
        let mut seen = std::collections::HashMap::new();
        let mut evaluations = Vec::with_capacity(message.evaluations.len());
        for (index, wire) in message.evaluations.into_iter().enumerate() {
            let field = |name: &str| format!("evaluations[{index}].{name}");
            violations.check(
                field("config_rule_name"),
                validate_rule_name(&wire.config_rule_name),
            );
            violations.check(
                field("compliance_resource_type"),
                validate_resource_type(&wire.compliance_resource_type),
            );
            violations.check(
                field("compliance_resource_id"),
                validate_resource_id(&wire.compliance_resource_id),
            );
            let compliance_type = ComplianceType::from_proto(wire.compliance_type);
            if compliance_type.is_none() {
                violations.add(
                    field("compliance_type"),
                    "must be COMPLIANT, NON_COMPLIANT, NOT_APPLICABLE or INSUFFICIENT_DATA",
                );
            }
            violations.check(
                field("annotation"),
                at_most(&wire.annotation, MAX_ANNOTATION),
            );
            let ordering_time = match &wire.ordering_timestamp {
                None => {
                    violations.add(field("ordering_timestamp"), "is required");
                    None
                }
                Some(timestamp) => {
                    let parsed = from_timestamp(timestamp);
                    if parsed.is_none() {
                        violations.add(field("ordering_timestamp"), "must be a valid timestamp");
                    }
                    parsed
                }
            };
            let key = (
                wire.config_rule_name.clone(),
                wire.compliance_resource_type.clone(),
                wire.compliance_resource_id.clone(),
            );
            if let Some(first) = seen.insert(key, index) {
                violations.add(
                    field("compliance_resource_id"),
                    format!(
                        "repeats the rule and resource of evaluations[{first}]; send each (rule, \
                         resource) once per call"
                    ),
                );
            }
            if let (Some(compliance_type), Some(ordering_time)) = (compliance_type, ordering_time) {
                evaluations.push(EvaluationInput {
                    config_rule_name: wire.config_rule_name.clone(),
                    resource_type: wire.compliance_resource_type.clone(),
                    resource_id: wire.compliance_resource_id.clone(),
                    compliance_type,
                    annotation: wire.annotation.clone(),
                    ordering_time,
                    wire,
                });
            }
        }
        violations.finish_with(reason::VALIDATION)?;
        Ok(Self {
            account_id: message.account_id,
            evaluations,
        })
    }
}

/// A validated DescribeComplianceByConfigRule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleComplianceQuery {
    /// The account read.
    pub account_id: String,
    /// Only these rules, sorted; empty for all.
    pub names: Vec<String>,
    /// Only these summaries; empty for all.
    pub compliance_types: Vec<ComplianceType>,
    /// The requested page size.
    pub page_size: i32,
    /// The page token.
    pub page_token: String,
}

impl TryFrom<pb::DescribeComplianceByConfigRuleRequest> for RuleComplianceQuery {
    type Error = Error;

    fn try_from(message: pb::DescribeComplianceByConfigRuleRequest) -> Result<Self> {
        let mut violations = Violations::new();
        violations.check("account_id", validate_account_id(&message.account_id));
        check_names(
            &mut violations,
            "config_rule_names",
            &message.config_rule_names,
            MAX_NAME_FILTER,
            validate_rule_name,
        );
        let compliance_types = compliance_filter(
            &mut violations,
            "compliance_types",
            &message.compliance_types,
            &SUMMARY_TYPES,
        );
        violations.finish_with(reason::VALIDATION)?;
        let mut names = message.config_rule_names;
        names.sort();
        Ok(Self {
            account_id: message.account_id,
            names,
            compliance_types,
            page_size: message.page_size,
            page_token: message.page_token,
        })
    }
}

/// A validated GetComplianceDetailsByConfigRule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleDetailsQuery {
    /// The account read.
    pub account_id: String,
    /// The rule.
    pub config_rule_name: String,
    /// Only these outcomes; empty for all.
    pub compliance_types: Vec<ComplianceType>,
    /// The requested page size.
    pub page_size: i32,
    /// The page token.
    pub page_token: String,
}

impl TryFrom<pb::GetComplianceDetailsByConfigRuleRequest> for RuleDetailsQuery {
    type Error = Error;

    fn try_from(message: pb::GetComplianceDetailsByConfigRuleRequest) -> Result<Self> {
        let mut violations = Violations::new();
        violations.check("account_id", validate_account_id(&message.account_id));
        violations.check(
            "config_rule_name",
            validate_rule_name(&message.config_rule_name),
        );
        let compliance_types = compliance_filter(
            &mut violations,
            "compliance_types",
            &message.compliance_types,
            &ComplianceType::ALL,
        );
        violations.finish_with(reason::VALIDATION)?;
        Ok(Self {
            account_id: message.account_id,
            config_rule_name: message.config_rule_name,
            compliance_types,
            page_size: message.page_size,
            page_token: message.page_token,
        })
    }
}

/// A validated DescribeComplianceByResource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceComplianceQuery {
    /// The account read.
    pub account_id: String,
    /// Only this type; empty for all.
    pub resource_type: String,
    /// Only this resource; empty for all.
    pub resource_id: String,
    /// Only these summaries; empty for all.
    pub compliance_types: Vec<ComplianceType>,
    /// The requested page size.
    pub page_size: i32,
    /// The page token.
    pub page_token: String,
}

impl TryFrom<pb::DescribeComplianceByResourceRequest> for ResourceComplianceQuery {
    type Error = Error;

    fn try_from(message: pb::DescribeComplianceByResourceRequest) -> Result<Self> {
        let mut violations = Violations::new();
        violations.check("account_id", validate_account_id(&message.account_id));
        if !message.resource_type.is_empty() {
            violations.check(
                "resource_type",
                validate_resource_type(&message.resource_type),
            );
        }
        if !message.resource_id.is_empty() {
            violations.check("resource_id", validate_resource_id(&message.resource_id));
            if message.resource_type.is_empty() {
                violations.add("resource_type", "is required with resource_id");
            }
        }
        let compliance_types = compliance_filter(
            &mut violations,
            "compliance_types",
            &message.compliance_types,
            &SUMMARY_TYPES,
        );
        violations.finish_with(reason::VALIDATION)?;
        Ok(Self {
            account_id: message.account_id,
            resource_type: message.resource_type,
            resource_id: message.resource_id,
            compliance_types,
            page_size: message.page_size,
            page_token: message.page_token,
        })
    }
}

/// A validated PutConformancePack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PutConformancePack {
    /// The owning account.
    pub account_id: String,
    /// The pack's name.
    pub name: String,
    /// Its rules, in request order.
    pub rule_names: Vec<String>,
}

impl TryFrom<pb::PutConformancePackRequest> for PutConformancePack {
    type Error = Error;

    fn try_from(message: pb::PutConformancePackRequest) -> Result<Self> {
        let mut violations = Violations::new();
        violations.check("account_id", validate_account_id(&message.account_id));
        violations.check(
            "conformance_pack_name",
            validate_pack_name(&message.conformance_pack_name),
        );
        if message.config_rule_names.is_empty() {
            violations.add("config_rule_names", "must name at least one rule");
        }
        check_names(
            &mut violations,
            "config_rule_names",
            &message.config_rule_names,
            MAX_PACK_RULES,
            validate_rule_name,
        );
        violations.finish_with(reason::VALIDATION)?;
        Ok(Self {
            account_id: message.account_id,
            name: message.conformance_pack_name,
            rule_names: message.config_rule_names,
        })
    }
}

/// A validated DescribeConformancePackCompliance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackComplianceQuery {
    /// The account read.
    pub account_id: String,
    /// The pack.
    pub name: String,
    /// Only these rules, sorted; empty for all.
    pub rule_names: Vec<String>,
    /// Only these summaries; empty for all.
    pub compliance_types: Vec<ComplianceType>,
    /// The requested page size.
    pub page_size: i32,
    /// The page token.
    pub page_token: String,
}

impl TryFrom<pb::DescribeConformancePackComplianceRequest> for PackComplianceQuery {
    type Error = Error;

    fn try_from(message: pb::DescribeConformancePackComplianceRequest) -> Result<Self> {
        let mut violations = Violations::new();
        violations.check("account_id", validate_account_id(&message.account_id));
        violations.check(
            "conformance_pack_name",
            validate_pack_name(&message.conformance_pack_name),
        );
        check_names(
            &mut violations,
            "config_rule_names",
            &message.config_rule_names,
            MAX_PACK_RULES,
            validate_rule_name,
        );
        let compliance_types = compliance_filter(
            &mut violations,
            "compliance_types",
            &message.compliance_types,
            &SUMMARY_TYPES,
        );
        violations.finish_with(reason::VALIDATION)?;
        let mut rule_names = message.config_rule_names;
        rule_names.sort();
        Ok(Self {
            account_id: message.account_id,
            name: message.conformance_pack_name,
            rule_names,
            compliance_types,
            page_size: message.page_size,
            page_token: message.page_token,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(error: Error) -> Vec<String> {
        match error {
            Error::Runtime(tributary_runtime::Error::InvalidInput {
                reason, violations, ..
            }) => {
                assert_eq!(reason, "ValidationException");
                violations
                    .into_iter()
                    .map(|violation| violation.field)
                    .collect()
            }
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    fn evaluation(rule: &str, resource_id: &str) -> pb::EvaluationInput {
        pb::EvaluationInput {
            config_rule_name: rule.into(),
            compliance_resource_type: "AWS::S3::Bucket".into(),
            compliance_resource_id: resource_id.into(),
            compliance_type: pb::ComplianceType::Compliant as i32,
            annotation: String::new(),
            ordering_timestamp: Some(prost_types::Timestamp {
                seconds: 100,
                nanos: 0,
            }),
        }
    }

    #[test]
    fn rule_names_follow_aws() {
        assert!(validate_rule_name("s3-versioning").is_ok());
        assert!(validate_rule_name("with space").is_ok());
        assert!(validate_rule_name("").is_err());
        assert!(validate_rule_name("   ").is_err());
        assert!(validate_rule_name(&"r".repeat(129)).is_err());
        assert!(validate_rule_name("tab\tname").is_err());
    }

    #[test]
    fn pack_names_start_with_a_letter() {
        assert!(validate_pack_name("Operational-Best-Practices-1").is_ok());
        for bad in ["", "1pack", "pack_name", "pack name", &"p".repeat(257)] {
            assert!(validate_pack_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn bad_rules_name_every_field() {
        let request = pb::PutConfigRuleRequest {
            account_id: "1234".into(),
            config_rule: Some(pb::ConfigRule {
                config_rule_name: String::new(),
                description: "d".repeat(257),
                scope: Some(pb::ConfigRuleScope {
                    compliance_resource_types: vec!["Bad".into()],
                    tag_key: String::new(),
                    tag_value: "v".into(),
                    compliance_resource_id: String::new(),
                }),
                source: Some(pb::ConfigRuleSource {
                    owner: pb::ConfigRuleSourceOwner::Aws as i32,
                    source_identifier: String::new(),
                }),
                input_parameters: "[1]".into(),
                maximum_execution_frequency: 42,
                ..Default::default()
            }),
        };
        assert_eq!(
            fields(PutConfigRule::try_from(request).unwrap_err()),
            [
                "account_id",
                "config_rule.config_rule_name",
                "config_rule.description",
                "config_rule.source.source_identifier",
                "config_rule.scope.compliance_resource_types[0]",
                "config_rule.scope.tag_key",
                "config_rule.input_parameters",
                "config_rule.maximum_execution_frequency",
            ]
        );
    }

    #[test]
    fn evaluations_are_checked_by_index_and_duplicates_are_rejected() {
        let mut bad = evaluation("rule", "");
        bad.compliance_type = 0;
        bad.ordering_timestamp = None;
        let request = pb::PutEvaluationsRequest {
            account_id: "111111111111".into(),
            evaluations: vec![
                evaluation("rule", "a"),
                bad,
                evaluation("rule", "a"),
                evaluation("other", "a"),
            ],
        };
        assert_eq!(
            fields(PutEvaluations::try_from(request).unwrap_err()),
            [
                "evaluations[1].compliance_resource_id",
                "evaluations[1].compliance_type",
                "evaluations[1].ordering_timestamp",
                "evaluations[2].compliance_resource_id",
            ]
        );
        let too_many = pb::PutEvaluationsRequest {
            account_id: "111111111111".into(),
            evaluations: (0..101)
                .map(|index| evaluation("rule", &index.to_string()))
                .collect(),
        };
        assert_eq!(
            fields(PutEvaluations::try_from(too_many).unwrap_err()),
            ["evaluations"]
        );
    }

    #[test]
    fn summary_filters_reject_not_applicable() {
        let request = pb::DescribeComplianceByConfigRuleRequest {
            account_id: "111111111111".into(),
            compliance_types: vec![
                pb::ComplianceType::NotApplicable as i32,
                pb::ComplianceType::Compliant as i32,
                pb::ComplianceType::Compliant as i32,
            ],
            ..Default::default()
        };
        assert_eq!(
            fields(RuleComplianceQuery::try_from(request).unwrap_err()),
            ["compliance_types[0]", "compliance_types[2]"]
        );
    }
}
