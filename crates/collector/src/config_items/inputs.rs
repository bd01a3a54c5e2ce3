//! Validated inputs of the configuration item calls. Every wire request becomes one of these
//! through `TryFrom`, which reports every bad field at once (`ValidationException`).

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, Utc};
use tributary_proto::collector::v1 as pb;
use tributary_proto::types::v1 as types_pb;
use tributary_runtime::{Violations, ids::validate_account_id};

use crate::error::{Error, Result, reason};

/// At most this many items per PutConfigurationItems call.
pub const MAX_BATCH_ITEMS: usize = 100;
/// At most this many keys per BatchGetResourceConfig call (AWS).
pub const MAX_BATCH_GET_KEYS: usize = 100;
/// At most this many tags per resource (AWS).
pub const MAX_TAGS: usize = 50;
/// At most this many resource ids per ListDiscoveredResources call (AWS).
pub const MAX_LISTED_IDS: usize = 20;
/// At most this many resource types per GetDiscoveredResourceCounts call (AWS).
pub const MAX_COUNTED_TYPES: usize = 100;
/// The longest configuration document accepted, in characters (AWS: 1,000,000).
pub const MAX_CONFIGURATION_LENGTH: usize = 1_000_000;
/// At most this many supplementary configuration entries per item.
pub const MAX_SUPPLEMENTARY_ENTRIES: usize = 50;
/// At most this many relationships per item.
pub const MAX_RELATIONSHIPS: usize = 1_000;
const MAX_RESOURCE_ID: usize = 768;
const MAX_RESOURCE_NAME: usize = 768;
const MAX_ARN: usize = 1024;
const MAX_AVAILABILITY_ZONE: usize = 64;

/// What a configuration item records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemStatus {
    /// Updated.
    Ok,
    /// Newly discovered.
    ResourceDiscovered,
    /// Discovered, type not recorded.
    ResourceNotRecorded,
    /// Deleted.
    ResourceDeleted,
    /// Deleted, type not recorded.
    ResourceDeletedNotRecorded,
}

impl ItemStatus {
    /// True for the two deletion statuses.
    pub fn is_deleted(self) -> bool {
        matches!(
            self,
            ItemStatus::ResourceDeleted | ItemStatus::ResourceDeletedNotRecorded
        )
    }

    /// The wire form.
    pub fn to_proto(self) -> pb::ConfigurationItemStatus {
        match self {
            ItemStatus::Ok => pb::ConfigurationItemStatus::Ok,
            ItemStatus::ResourceDiscovered => pb::ConfigurationItemStatus::ResourceDiscovered,
            ItemStatus::ResourceNotRecorded => pb::ConfigurationItemStatus::ResourceNotRecorded,
            ItemStatus::ResourceDeleted => pb::ConfigurationItemStatus::ResourceDeleted,
            ItemStatus::ResourceDeletedNotRecorded => {
                pb::ConfigurationItemStatus::ResourceDeletedNotRecorded
            }
        }
    }

    fn from_proto(value: i32) -> Option<Self> {
        match pb::ConfigurationItemStatus::try_from(value).ok()? {
            pb::ConfigurationItemStatus::Unspecified => None,
            pb::ConfigurationItemStatus::Ok => Some(ItemStatus::Ok),
            pb::ConfigurationItemStatus::ResourceDiscovered => Some(ItemStatus::ResourceDiscovered),
            pb::ConfigurationItemStatus::ResourceNotRecorded => {
                Some(ItemStatus::ResourceNotRecorded)
            }
            pb::ConfigurationItemStatus::ResourceDeleted => Some(ItemStatus::ResourceDeleted),
            pb::ConfigurationItemStatus::ResourceDeletedNotRecorded => {
                Some(ItemStatus::ResourceDeletedNotRecorded)
            }
        }
    }
}

/// One validated configuration item as delivered.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemInput {
    /// The resource type.
    pub resource_type: String,
    /// The resource id.
    pub resource_id: String,
    /// The resource name; may be empty.
    pub resource_name: String,
    /// The ARN; may be empty.
    pub arn: String,
    /// The availability zone; may be empty.
    pub availability_zone: String,
    /// When the resource was created.
    pub resource_creation_time: Option<DateTime<Utc>>,
    /// What the item records.
    pub status: ItemStatus,
    /// When the state was captured.
    pub capture_time: DateTime<Utc>,
    /// The configuration JSON (empty only for deletions).
    pub configuration: String,
    /// Supplementary configuration JSON by name.
    pub supplementary_configuration: BTreeMap<String, String>,
    /// Tags in the given order.
    pub tags: Vec<(String, String)>,
    /// Relationships as given.
    pub relationships: Vec<pb::Relationship>,
}

/// A validated PutConfigurationItems.
#[derive(Debug, Clone, PartialEq)]
pub struct PutItems {
    /// The owning account.
    pub account_id: String,
    /// 1-100 items, one per resource.
    pub items: Vec<ItemInput>,
}

impl TryFrom<pb::PutConfigurationItemsRequest> for PutItems {
    type Error = Error;

    fn try_from(message: pb::PutConfigurationItemsRequest) -> Result<Self> {
        let mut violations = Violations::new();
        violations.check("account_id", validate_account_id(&message.account_id));
        if message.items.is_empty() || message.items.len() > MAX_BATCH_ITEMS {
            violations.add(
                "items",
                format!(
                    "must hold 1-{MAX_BATCH_ITEMS} items, got {}",
                    message.items.len()
                ),
            );
        }
        let mut seen = HashSet::new();
        let mut items = Vec::with_capacity(message.items.len());
        for (index, item) in message.items.into_iter().enumerate() {
            let field = format!("items[{index}]");
            if !seen.insert((item.resource_type.clone(), item.resource_id.clone())) {
                violations.add(
                    format!("{field}.resource_id"),
                    "repeats a resource of an earlier item; send one item per resource per batch",
                );
            }
            if let Some(item) = item_input(&field, item, &mut violations) {
                items.push(item);
            }
        }
        violations.finish_with(reason::VALIDATION)?;
        Ok(Self {
            account_id: message.account_id,
            items,
        })
    }
}

fn item_input(
    field: &str,
    item: pb::ConfigurationItemInput,
    violations: &mut Violations,
) -> Option<ItemInput> {
    violations.check(
        format!("{field}.resource_type"),
        validate_resource_type(&item.resource_type),
    );
    violations.check(
        format!("{field}.resource_id"),
        validate_resource_id(&item.resource_id),
    );
    violations.check(
        format!("{field}.resource_name"),
        validate_max_length(&item.resource_name, MAX_RESOURCE_NAME),
    );
    violations.check(
        format!("{field}.arn"),
        validate_max_length(&item.arn, MAX_ARN),
    );
    violations.check(
        format!("{field}.availability_zone"),
        validate_max_length(&item.availability_zone, MAX_AVAILABILITY_ZONE),
    );
    let status = ItemStatus::from_proto(item.configuration_item_status);
    if status.is_none() {
        violations.add(
            format!("{field}.configuration_item_status"),
            "must be OK, RESOURCE_DISCOVERED, RESOURCE_NOT_RECORDED, RESOURCE_DELETED or \
             RESOURCE_DELETED_NOT_RECORDED",
        );
    }
    let capture_time = timestamp(
        item.configuration_item_capture_time.as_ref(),
        &format!("{field}.configuration_item_capture_time"),
        true,
        violations,
    );
    let resource_creation_time = timestamp(
        item.resource_creation_time.as_ref(),
        &format!("{field}.resource_creation_time"),
        false,
        violations,
    );
    let deleted = status.is_some_and(ItemStatus::is_deleted);
    if !(deleted && item.configuration.is_empty()) {
        violations.check(
            format!("{field}.configuration"),
            validate_configuration(&item.configuration),
        );
    }
    if item.supplementary_configuration.len() > MAX_SUPPLEMENTARY_ENTRIES {
        violations.add(
            format!("{field}.supplementary_configuration"),
            format!("must hold at most {MAX_SUPPLEMENTARY_ENTRIES} entries"),
        );
    }
    let supplementary_configuration: BTreeMap<String, String> =
        item.supplementary_configuration.into_iter().collect();
    for (name, value) in &supplementary_configuration {
        let entry = format!("{field}.supplementary_configuration[{name}]");
        if name.is_empty() || name.chars().count() > 256 {
            violations.add(entry.clone(), "names must be 1-256 characters");
        }
        violations.check(entry, validate_json(value));
    }
    validate_tags(&format!("{field}.tags"), &item.tags, violations);
    if item.relationships.len() > MAX_RELATIONSHIPS {
        violations.add(
            format!("{field}.relationships"),
            format!("must hold at most {MAX_RELATIONSHIPS} relationships"),
        );
    }
    for (index, relationship) in item.relationships.iter().enumerate() {
        let entry = format!("{field}.relationships[{index}]");
        violations.check(
            format!("{entry}.resource_type"),
            validate_resource_type(&relationship.resource_type),
        );
        violations.check(
            format!("{entry}.resource_id"),
            validate_resource_id(&relationship.resource_id),
        );
        violations.check(
            format!("{entry}.relationship_name"),
            validate_max_length(&relationship.relationship_name, 256),
        );
    }
    Some(ItemInput {
        resource_type: item.resource_type,
        resource_id: item.resource_id,
        resource_name: item.resource_name,
        arn: item.arn,
        availability_zone: item.availability_zone,
        resource_creation_time,
        status: status?,
        capture_time: capture_time?,
        configuration: item.configuration,
        supplementary_configuration,
        tags: item
            .tags
            .into_iter()
            .map(|tag| (tag.key, tag.value))
            .collect(),
        relationships: item.relationships,
    })
}

/// A validated PutResourceConfig.
#[derive(Debug, Clone, PartialEq)]
pub struct PutCustomResource {
    /// The owning account.
    pub account_id: String,
    /// The custom resource type.
    pub resource_type: String,
    /// The type's schema version.
    pub schema_version_id: String,
    /// The resource id.
    pub resource_id: String,
    /// The resource name; may be empty.
    pub resource_name: String,
    /// The configuration JSON object.
    pub configuration: String,
    /// The tags.
    pub tags: Vec<(String, String)>,
}

impl TryFrom<pb::PutResourceConfigRequest> for PutCustomResource {
    type Error = Error;

    fn try_from(message: pb::PutResourceConfigRequest) -> Result<Self> {
        let mut violations = Violations::new();
        violations.check("account_id", validate_account_id(&message.account_id));
        violations.check(
            "resource_type",
            validate_custom_resource_type(&message.resource_type),
        );
        violations.check(
            "schema_version_id",
            tributary_runtime::ids::validate_label(&message.schema_version_id, 128),
        );
        violations.check("resource_id", validate_resource_id(&message.resource_id));
        violations.check(
            "resource_name",
            validate_max_length(&message.resource_name, MAX_RESOURCE_NAME),
        );
        violations.check(
            "configuration",
            validate_configuration(&message.configuration),
        );
        validate_tags("tags", &message.tags, &mut violations);
        violations.finish_with(reason::VALIDATION)?;
        Ok(Self {
            account_id: message.account_id,
            resource_type: message.resource_type,
            schema_version_id: message.schema_version_id,
            resource_id: message.resource_id,
            resource_name: message.resource_name,
            configuration: message.configuration,
            tags: message
                .tags
                .into_iter()
                .map(|tag| (tag.key, tag.value))
                .collect(),
        })
    }
}

/// A validated DeleteResourceConfig.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteCustomResource {
    /// The owning account.
    pub account_id: String,
    /// The custom resource type.
    pub resource_type: String,
    /// The resource id.
    pub resource_id: String,
}

impl TryFrom<pb::DeleteResourceConfigRequest> for DeleteCustomResource {
    type Error = Error;

    fn try_from(message: pb::DeleteResourceConfigRequest) -> Result<Self> {
        let mut violations = Violations::new();
        violations.check("account_id", validate_account_id(&message.account_id));
        violations.check(
            "resource_type",
            validate_custom_resource_type(&message.resource_type),
        );
        violations.check("resource_id", validate_resource_id(&message.resource_id));
        violations.finish_with(reason::VALIDATION)?;
        Ok(Self {
            account_id: message.account_id,
            resource_type: message.resource_type,
            resource_id: message.resource_id,
        })
    }
}

/// A validated GetResourceConfigHistory (paging is resolved by the domain).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryQuery {
    /// The owning account.
    pub account_id: String,
    /// The resource type.
    pub resource_type: String,
    /// The resource id.
    pub resource_id: String,
    /// Only items captured at or before this time.
    pub later_time: Option<DateTime<Utc>>,
    /// Only items captured at or after this time.
    pub earlier_time: Option<DateTime<Utc>>,
    /// Oldest first when true.
    pub forward: bool,
    /// The requested page size.
    pub page_size: i32,
    /// The page token.
    pub page_token: String,
}

impl TryFrom<pb::GetResourceConfigHistoryRequest> for HistoryQuery {
    type Error = Error;

    fn try_from(message: pb::GetResourceConfigHistoryRequest) -> Result<Self> {
        let mut violations = Violations::new();
        violations.check("account_id", validate_account_id(&message.account_id));
        violations.check(
            "resource_type",
            validate_resource_type(&message.resource_type),
        );
        violations.check("resource_id", validate_resource_id(&message.resource_id));
        let later_time = timestamp(
            message.later_time.as_ref(),
            "later_time",
            false,
            &mut violations,
        );
        let earlier_time = timestamp(
            message.earlier_time.as_ref(),
            "earlier_time",
            false,
            &mut violations,
        );
        let order = pb::ChronologicalOrder::try_from(message.chronological_order);
        if order.is_err() {
            violations.add(
                "chronological_order",
                "must be UNSPECIFIED, REVERSE or FORWARD",
            );
        }
        violations.finish_with(reason::VALIDATION)?;
        if let (Some(earlier), Some(later)) = (earlier_time, later_time)
            && earlier > later
        {
            return Err(Error::invalid_field(
                reason::INVALID_TIME_RANGE,
                "earlier_time",
                "must not be after later_time",
            ));
        }
        Ok(Self {
            account_id: message.account_id,
            resource_type: message.resource_type,
            resource_id: message.resource_id,
            later_time,
            earlier_time,
            forward: order == Ok(pb::ChronologicalOrder::Forward),
            page_size: message.page_size,
            page_token: message.page_token,
        })
    }
}

/// A validated BatchGetResourceConfig.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchGet {
    /// The owning account.
    pub account_id: String,
    /// 1-100 distinct (type, id) keys in request order.
    pub keys: Vec<(String, String)>,
}

impl TryFrom<pb::BatchGetResourceConfigRequest> for BatchGet {
    type Error = Error;

    fn try_from(message: pb::BatchGetResourceConfigRequest) -> Result<Self> {
        let mut violations = Violations::new();
        violations.check("account_id", validate_account_id(&message.account_id));
        if message.resource_keys.is_empty() || message.resource_keys.len() > MAX_BATCH_GET_KEYS {
            violations.add(
                "resource_keys",
                format!(
                    "must hold 1-{MAX_BATCH_GET_KEYS} keys, got {}",
                    message.resource_keys.len()
                ),
            );
        }
        let mut seen = HashSet::new();
        for (index, key) in message.resource_keys.iter().enumerate() {
            violations.check(
                format!("resource_keys[{index}].resource_type"),
                validate_resource_type(&key.resource_type),
            );
            violations.check(
                format!("resource_keys[{index}].resource_id"),
                validate_resource_id(&key.resource_id),
            );
            if !seen.insert((&key.resource_type, &key.resource_id)) {
                violations.add(
                    format!("resource_keys[{index}]"),
                    "repeats an earlier key; ask for each resource once",
                );
            }
        }
        violations.finish_with(reason::VALIDATION)?;
        Ok(Self {
            account_id: message.account_id,
            keys: message
                .resource_keys
                .into_iter()
                .map(|key| (key.resource_type, key.resource_id))
                .collect(),
        })
    }
}

/// A validated ListDiscoveredResources.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQuery {
    /// The owning account.
    pub account_id: String,
    /// The listed type.
    pub resource_type: String,
    /// Only these ids (empty: any).
    pub resource_ids: Vec<String>,
    /// Only this name (empty: any).
    pub resource_name: String,
    /// Deleted resources too.
    pub include_deleted: bool,
    /// The requested page size.
    pub page_size: i32,
    /// The page token.
    pub page_token: String,
}

impl TryFrom<pb::ListDiscoveredResourcesRequest> for ListQuery {
    type Error = Error;

    fn try_from(message: pb::ListDiscoveredResourcesRequest) -> Result<Self> {
        let mut violations = Violations::new();
        violations.check("account_id", validate_account_id(&message.account_id));
        violations.check(
            "resource_type",
            validate_resource_type(&message.resource_type),
        );
        if message.resource_ids.len() > MAX_LISTED_IDS {
            violations.add(
                "resource_ids",
                format!("must hold at most {MAX_LISTED_IDS} ids"),
            );
        }
        for (index, resource_id) in message.resource_ids.iter().enumerate() {
            violations.check(
                format!("resource_ids[{index}]"),
                validate_resource_id(resource_id),
            );
        }
        violations.check(
            "resource_name",
            validate_max_length(&message.resource_name, MAX_RESOURCE_NAME),
        );
        if !message.resource_ids.is_empty() && !message.resource_name.is_empty() {
            violations.add(
                "resource_name",
                "must be empty when resource_ids is given; filter by ids or by name, not both",
            );
        }
        violations.finish_with(reason::VALIDATION)?;
        let mut resource_ids = message.resource_ids;
        resource_ids.sort();
        resource_ids.dedup();
        Ok(Self {
            account_id: message.account_id,
            resource_type: message.resource_type,
            resource_ids,
            resource_name: message.resource_name,
            include_deleted: message.include_deleted_resources,
            page_size: message.page_size,
            page_token: message.page_token,
        })
    }
}

/// A validated GetDiscoveredResourceCounts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CountQuery {
    /// The owning account.
    pub account_id: String,
    /// Only these types, sorted (empty: all).
    pub resource_types: Vec<String>,
    /// The requested page size.
    pub page_size: i32,
    /// The page token.
    pub page_token: String,
}

impl TryFrom<pb::GetDiscoveredResourceCountsRequest> for CountQuery {
    type Error = Error;

    fn try_from(message: pb::GetDiscoveredResourceCountsRequest) -> Result<Self> {
        let mut violations = Violations::new();
        violations.check("account_id", validate_account_id(&message.account_id));
        if message.resource_types.len() > MAX_COUNTED_TYPES {
            violations.add(
                "resource_types",
                format!("must hold at most {MAX_COUNTED_TYPES} types"),
            );
        }
        for (index, resource_type) in message.resource_types.iter().enumerate() {
            violations.check(
                format!("resource_types[{index}]"),
                validate_resource_type(resource_type),
            );
        }
        violations.finish_with(reason::VALIDATION)?;
        let mut resource_types = message.resource_types;
        resource_types.sort();
        resource_types.dedup();
        Ok(Self {
            account_id: message.account_id,
            resource_types,
            page_size: message.page_size,
            page_token: message.page_token,
        })
    }
}

/// A resource type has the shape `Service::Category::Name`: three groups of 2-64 ASCII letters
/// and digits joined by "::".
pub fn validate_resource_type(resource_type: &str) -> Result<(), String> {
    let groups: Vec<&str> = resource_type.split("::").collect();
    let shaped = groups.len() == 3
        && groups.iter().all(|group| {
            (2..=64).contains(&group.len())
                && group.bytes().all(|byte| byte.is_ascii_alphanumeric())
        });
    if shaped {
        Ok(())
    } else {
        Err(format!(
            "must be a resource type such as \"AWS::EC2::Instance\" (three groups of 2-64 letters \
             and digits joined by \"::\"), got {:?}",
            tributary_runtime::ids::truncate_for_message(resource_type)
        ))
    }
}

/// A custom resource type: a resource type outside the `AWS`, `Alexa` and `Custom` namespaces.
pub fn validate_custom_resource_type(resource_type: &str) -> Result<(), String> {
    validate_resource_type(resource_type)?;
    let namespace = resource_type.split("::").next().unwrap_or_default();
    if ["AWS", "Alexa", "Custom"]
        .iter()
        .any(|reserved| namespace.eq_ignore_ascii_case(reserved))
    {
        return Err(format!(
            "must be a custom resource type; the {namespace} namespace is reserved (record AWS \
             resources with PutConfigurationItems)"
        ));
    }
    Ok(())
}

/// A resource id is 1-768 characters.
pub fn validate_resource_id(resource_id: &str) -> Result<(), String> {
    let length = resource_id.chars().count();
    if (1..=MAX_RESOURCE_ID).contains(&length) {
        Ok(())
    } else {
        Err(format!(
            "must be 1-{MAX_RESOURCE_ID} characters, got {length}"
        ))
    }
}

fn validate_max_length(value: &str, max: usize) -> Result<(), String> {
    let length = value.chars().count();
    if length <= max {
        Ok(())
    } else {
        Err(format!("must be at most {max} characters, got {length}"))
    }
}

/// A configuration is a JSON object of at most 1,000,000 characters.
fn validate_configuration(configuration: &str) -> Result<(), String> {
    if configuration.len() > MAX_CONFIGURATION_LENGTH {
        return Err(format!(
            "must be at most {MAX_CONFIGURATION_LENGTH} characters"
        ));
    }
    match serde_json::from_str::<serde_json::Value>(configuration) {
        Ok(serde_json::Value::Object(_)) => Ok(()),
        Ok(_) => Err("must be a JSON object such as {\"key\": \"value\"}".to_string()),
        Err(error) => Err(format!("must be a JSON object: {error}")),
    }
}

fn validate_json(value: &str) -> Result<(), String> {
    if value.len() > MAX_CONFIGURATION_LENGTH {
        return Err(format!(
            "must be at most {MAX_CONFIGURATION_LENGTH} characters"
        ));
    }
    serde_json::from_str::<serde_json::Value>(value)
        .map(|_| ())
        .map_err(|error| format!("must be valid JSON: {error}"))
}

/// Tags follow AWS: at most 50, keys 1-128 characters and not starting with "aws:", values 0-256,
/// keys distinct ignoring case.
fn validate_tags(field: &str, tags: &[types_pb::Tag], violations: &mut Violations) {
    if tags.len() > MAX_TAGS {
        violations.add(
            field,
            format!("must hold at most {MAX_TAGS} tags, got {}", tags.len()),
        );
    }
    let mut seen = HashSet::new();
    for (index, tag) in tags.iter().enumerate() {
        let key_length = tag.key.chars().count();
        if !(1..=128).contains(&key_length) {
            violations.add(
                format!("{field}[{index}].key"),
                format!("must be 1-128 characters, got {key_length}"),
            );
        } else if tag.key.chars().any(char::is_control) {
            violations.add(
                format!("{field}[{index}].key"),
                "must not contain control characters",
            );
        } else if !seen.insert(tag.key.to_lowercase()) {
            violations.add(
                format!("{field}[{index}].key"),
                "repeats an earlier key (keys are compared ignoring case)",
            );
        }
        let value_length = tag.value.chars().count();
        if value_length > 256 {
            violations.add(
                format!("{field}[{index}].value"),
                format!("must be at most 256 characters, got {value_length}"),
            );
        }
    }
}

/// Converts a wire timestamp, recording a violation when it is missing but required or out of
/// range.
fn timestamp(
    value: Option<&prost_types::Timestamp>,
    field: &str,
    required: bool,
    violations: &mut Violations,
) -> Option<DateTime<Utc>> {
    match value {
        None => {
            if required {
                violations.add(field, "is required");
            }
            None
        }
        Some(timestamp) => {
            let converted = u32::try_from(timestamp.nanos)
                .ok()
                .and_then(|nanos| DateTime::from_timestamp(timestamp.seconds, nanos))
                .and_then(|time| DateTime::from_timestamp_micros(time.timestamp_micros()));
            if converted.is_none() {
                violations.add(field, "must be a valid timestamp");
            }
            converted
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(resource_id: &str) -> pb::ConfigurationItemInput {
        pb::ConfigurationItemInput {
            resource_type: "AWS::EC2::Instance".into(),
            resource_id: resource_id.into(),
            configuration_item_status: pb::ConfigurationItemStatus::Ok as i32,
            configuration_item_capture_time: Some(prost_types::Timestamp {
                seconds: 1_700_000_000,
                nanos: 0,
            }),
            configuration: "{}".into(),
            ..Default::default()
        }
    }

    fn violations_of(error: Error) -> (&'static str, Vec<String>) {
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
    fn resource_types_have_three_groups() {
        for good in ["AWS::EC2::Instance", "AWS::IAM::Role", "My1::Storage::Vol2"] {
            assert!(validate_resource_type(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "AWS::EC2",
            "AWS::EC2::Instance::X",
            "A::EC2::Instance",
            "AWS::EC-2::Instance",
            "AWS:EC2:Instance",
        ] {
            assert!(validate_resource_type(bad).is_err(), "{bad}");
        }
        assert!(validate_custom_resource_type("AWS::EC2::Instance").is_err());
        assert!(validate_custom_resource_type("Custom::My::Thing").is_err());
        assert!(validate_custom_resource_type("MyCo::Storage::Volume").is_ok());
    }

    #[test]
    fn every_bad_item_field_is_named_by_index() {
        let mut bad = item("");
        bad.resource_type = "nope".into();
        bad.configuration = "[1]".into();
        bad.configuration_item_status = 0;
        bad.configuration_item_capture_time = None;
        bad.tags = (0..51)
            .map(|index| types_pb::Tag {
                key: format!("k{index}"),
                value: String::new(),
            })
            .collect();
        let request = pb::PutConfigurationItemsRequest {
            account_id: "111111111111".into(),
            items: vec![item("i-1"), bad],
        };
        let (reason, fields) = violations_of(PutItems::try_from(request).unwrap_err());
        assert_eq!(reason, reason::VALIDATION);
        for expected in [
            "items[1].resource_type",
            "items[1].resource_id",
            "items[1].configuration",
            "items[1].configuration_item_status",
            "items[1].configuration_item_capture_time",
            "items[1].tags",
        ] {
            assert!(
                fields.iter().any(|field| field == expected),
                "{expected} in {fields:?}"
            );
        }
    }

    #[test]
    fn duplicates_and_oversized_batches_are_rejected() {
        let request = pb::PutConfigurationItemsRequest {
            account_id: "111111111111".into(),
            items: vec![item("i-1"), item("i-1")],
        };
        let (_, fields) = violations_of(PutItems::try_from(request).unwrap_err());
        assert_eq!(fields, ["items[1].resource_id"]);
        let request = pb::PutConfigurationItemsRequest {
            account_id: "111111111111".into(),
            items: (0..101).map(|index| item(&format!("i-{index}"))).collect(),
        };
        let (_, fields) = violations_of(PutItems::try_from(request).unwrap_err());
        assert_eq!(fields, ["items"]);
    }

    #[test]
    fn deleted_items_may_omit_their_configuration() {
        let mut deleted = item("i-1");
        deleted.configuration_item_status = pb::ConfigurationItemStatus::ResourceDeleted as i32;
        deleted.configuration = String::new();
        let request = pb::PutConfigurationItemsRequest {
            account_id: "111111111111".into(),
            items: vec![deleted],
        };
        assert!(PutItems::try_from(request).is_ok());
    }

    #[test]
    fn tag_keys_are_unique_ignoring_case() {
        let mut tagged = item("i-1");
        tagged.tags = vec![
            types_pb::Tag {
                key: "Env".into(),
                value: "a".into(),
            },
            types_pb::Tag {
                key: "env".into(),
                value: "b".into(),
            },
        ];
        let request = pb::PutConfigurationItemsRequest {
            account_id: "111111111111".into(),
            items: vec![tagged],
        };
        let (_, fields) = violations_of(PutItems::try_from(request).unwrap_err());
        assert_eq!(fields, ["items[0].tags[1].key"]);
    }

    #[test]
    fn history_windows_must_not_end_before_they_start() {
        let request = pb::GetResourceConfigHistoryRequest {
            account_id: "111111111111".into(),
            resource_type: "AWS::EC2::Instance".into(),
            resource_id: "i-1".into(),
            earlier_time: Some(prost_types::Timestamp {
                seconds: 20,
                nanos: 0,
            }),
            later_time: Some(prost_types::Timestamp {
                seconds: 10,
                nanos: 0,
            }),
            ..Default::default()
        };
        let (reason, fields) = violations_of(HistoryQuery::try_from(request).unwrap_err());
        assert_eq!(reason, reason::INVALID_TIME_RANGE);
        assert_eq!(fields, ["earlier_time"]);
    }
}
