//! Turns result rows into AWS-shaped JSON documents: selected paths nest the way they are
//! written (`configuration.instanceType` becomes `{"configuration":{"instanceType":...}}`), arrays
//! on the way keep their shape, aggregates are keyed by their text (`COUNT(*)`).

use chrono::{DateTime, SecondsFormat, Utc};
use prost::Message;
use sea_orm::{DbErr, QueryResult};
use serde_json::{Map, Value};
use tributary_proto::collector::v1 as collector_pb;

use super::{
    ast::{DocumentRoot, Field, PropertyKind, Query, SelectKind},
    compile::{AggregateColumn, ColumnType, ITEM_SCHEMA_VERSION, KeyColumns, KeyValue},
    parse::same_path,
};

/// The names `QueryInfo.SelectFields` lists: the items as written, `*` expanded to its fields.
pub fn select_fields(query: &Query) -> Vec<String> {
    let mut names = Vec::new();
    for item in &query.select {
        match item.kind {
            SelectKind::All => names.extend(Field::STAR.map(|field| field.name().to_string())),
            _ => names.push(item.name.clone()),
        }
    }
    names
}

/// Which parts of an item a plain query returns: a tree of path segments; a node marked `whole`
/// returns everything below it.
#[derive(Debug, Default, Clone)]
pub struct Projection {
    root: Node,
}

#[derive(Debug, Default, Clone)]
struct Node {
    whole: bool,
    children: Vec<Child>,
}

#[derive(Debug, Clone)]
struct Child {
    written: String,
    node: Node,
}

impl Node {
    fn add(&mut self, path: &[String]) {
        let Some((first, rest)) = path.split_first() else {
            self.whole = true;
            return;
        };
        let position = self
            .children
            .iter()
            .position(|child| child.written.eq_ignore_ascii_case(first));
        let child = match position {
            Some(index) => &mut self.children[index],
            None => {
                self.children.push(Child {
                    written: first.clone(),
                    node: Node::default(),
                });
                let last = self.children.len() - 1;
                &mut self.children[last]
            }
        };
        child.node.add(rest);
    }

    #[cfg(test)]
    fn child(&self, name: &str) -> Option<&Node> {
        self.children
            .iter()
            .find(|child| child.written.eq_ignore_ascii_case(name))
            .map(|child| &child.node)
    }
}

impl Projection {
    /// The projection of a plain query's SELECT list.
    pub fn new(query: &Query) -> Self {
        let mut root = Node::default();
        for item in &query.select {
            match &item.kind {
                SelectKind::All => {
                    for field in Field::STAR {
                        root.add(&[field.name().to_string()]);
                    }
                }
                SelectKind::Property(property) => root.add(&canonical_path(&property.kind)),
                SelectKind::Aggregate(_) => {}
            }
        }
        Self { root }
    }

    /// The result document of one item row.
    pub fn item(&self, row: &QueryResult) -> Result<Value, DbErr> {
        let item = ItemColumns::read(row)?;
        let mut document = Map::new();
        let blob = match row.try_get::<Option<Vec<u8>>>("", "item") {
            Ok(Some(bytes)) => collector_pb::ConfigurationItem::decode(bytes.as_slice()).ok(),
            _ => None,
        };
        for child in &self.root.children {
            if let Some(field) = Field::from_name(&child.written) {
                if let Some(value) = item.field(field, blob.as_ref()) {
                    document.insert(field.name().to_string(), value);
                }
                continue;
            }
            let Some((root, name)) = DocumentRoot::ALL
                .into_iter()
                .find(|(_, name)| name.eq_ignore_ascii_case(&child.written))
            else {
                continue;
            };
            let column: Option<String> = row.try_get("", document_column(root))?;
            let Some(text) = column else { continue };
            let Ok(stored) = serde_json::from_str::<Value>(&text) else {
                continue;
            };
            let value = match root {
                DocumentRoot::Tags => project_tags(&stored, &child.node),
                DocumentRoot::SupplementaryConfiguration => {
                    project(&decode_supplementary(stored), &child.node)
                }
                DocumentRoot::Configuration | DocumentRoot::Relationships => {
                    project(&stored, &child.node)
                }
            };
            if let Some(value) = value {
                document.insert(name.to_string(), value);
            }
        }
        Ok(Value::Object(document))
    }
}

/// The path a property's value is placed at: canonical names for fields and documents, the
/// written spelling below them.
fn canonical_path(kind: &PropertyKind) -> Vec<String> {
    match kind {
        PropertyKind::Field(field) => vec![field.name().to_string()],
        PropertyKind::Document { root, path } => {
            let mut canonical = vec![root.name().to_string()];
            canonical.extend(path.iter().cloned());
            canonical
        }
    }
}

fn document_column(root: DocumentRoot) -> &'static str {
    match root {
        DocumentRoot::Configuration => "configuration",
        DocumentRoot::SupplementaryConfiguration => "supplementary_configuration",
        DocumentRoot::Tags => "tags",
        DocumentRoot::Relationships => "relationships",
    }
}

/// Keeps the parts of `value` the node selects, walking through arrays; `None` when nothing is
/// left.
fn project(value: &Value, node: &Node) -> Option<Value> {
    if node.whole {
        return Some(value.clone());
    }
    match value {
        Value::Object(members) => {
            let mut kept = Map::new();
            for child in &node.children {
                let found = members
                    .iter()
                    .find(|(key, _)| key.eq_ignore_ascii_case(&child.written));
                if let Some((_, member)) = found
                    && let Some(projected) = project(member, &child.node)
                {
                    kept.insert(child.written.clone(), projected);
                }
            }
            (!kept.is_empty()).then_some(Value::Object(kept))
        }
        Value::Array(elements) => {
            let kept: Vec<Value> = elements
                .iter()
                .filter_map(|element| project(element, node))
                .collect();
            (!kept.is_empty()).then_some(Value::Array(kept))
        }
        _ => None,
    }
}

/// Tags as AWS lists them: `[{"key":..,"value":..}]`, ordered by key; the derived `tag`
/// (`key=value`) only when selected by name.
fn project_tags(stored: &Value, node: &Node) -> Option<Value> {
    let Value::Object(tags) = stored else {
        return None;
    };
    let mut pairs: Vec<(&String, &Value)> = tags.iter().collect();
    pairs.sort_by(|left, right| left.0.cmp(right.0));
    if node.whole {
        return Some(Value::Array(
            pairs
                .into_iter()
                .map(|(key, value)| serde_json::json!({"key": key, "value": value}))
                .collect(),
        ));
    }
    let elements: Vec<Value> = pairs
        .into_iter()
        .map(|(key, value)| {
            let text = value
                .as_str()
                .map_or_else(|| value.to_string(), str::to_string);
            serde_json::json!({"key": key, "value": value, "tag": format!("{key}={text}")})
        })
        .collect();
    project(&Value::Array(elements), node)
}

/// Supplementary values are JSON documents stored as strings; parse those that hold an object
/// or array (the same rule the SQL uses).
fn decode_supplementary(stored: Value) -> Value {
    let Value::Object(members) = stored else {
        return stored;
    };
    Value::Object(
        members
            .into_iter()
            .map(|(name, value)| {
                let decoded = match &value {
                    Value::String(text) if text.trim_start().starts_with(['{', '[']) => {
                        serde_json::from_str(text).unwrap_or(value)
                    }
                    _ => value,
                };
                (name, decoded)
            })
            .collect(),
    )
}

/// The item columns every plain row has.
struct ItemColumns {
    account_id: String,
    region: String,
    resource_type: String,
    resource_id: String,
    resource_name: String,
    arn: String,
    availability_zone: String,
    item_status: String,
    capture_time_micros: i64,
    seq: i64,
}

impl ItemColumns {
    fn read(row: &QueryResult) -> Result<Self, DbErr> {
        Ok(Self {
            account_id: row.try_get("", "account_id")?,
            region: row.try_get("", "region")?,
            resource_type: row.try_get("", "resource_type")?,
            resource_id: row.try_get("", "resource_id")?,
            resource_name: row.try_get("", "resource_name")?,
            arn: row.try_get("", "arn")?,
            availability_zone: row.try_get("", "availability_zone")?,
            item_status: row.try_get("", "item_status")?,
            capture_time_micros: row.try_get("", "capture_time_micros")?,
            seq: row.try_get("", "seq")?,
        })
    }

    fn field(&self, field: Field, blob: Option<&collector_pb::ConfigurationItem>) -> Option<Value> {
        let text = |value: &str| (!value.is_empty()).then(|| Value::String(value.to_string()));
        match field {
            Field::AccountId => text(&self.account_id),
            Field::Arn => text(&self.arn),
            Field::AvailabilityZone => text(&self.availability_zone),
            Field::AwsRegion => Some(Value::String(aws_region(&self.resource_type, &self.region))),
            Field::ConfigurationItemCaptureTime => Some(time_value(self.capture_time_micros)),
            Field::ConfigurationItemStatus => text(&self.item_status),
            Field::ConfigurationStateId => Some(Value::String(self.seq.to_string())),
            Field::ResourceCreationTime => blob
                .and_then(|item| item.resource_creation_time.as_ref())
                .and_then(|time| {
                    DateTime::<Utc>::from_timestamp(
                        time.seconds,
                        u32::try_from(time.nanos).unwrap_or(0),
                    )
                })
                .map(|time| Value::String(time.to_rfc3339_opts(SecondsFormat::Millis, true))),
            Field::ResourceId => text(&self.resource_id),
            Field::ResourceName => text(&self.resource_name),
            Field::ResourceType => text(&self.resource_type),
            Field::Version => Some(Value::String(
                blob.map(|item| item.version.clone())
                    .filter(|version| !version.is_empty())
                    .unwrap_or_else(|| ITEM_SCHEMA_VERSION.to_string()),
            )),
        }
    }
}

/// `awsRegion` of an item: `global` for global resource types, else its source region (the same
/// rule the SQL uses).
pub fn aws_region(resource_type: &str, region: &str) -> String {
    if resource_type.starts_with("AWS::IAM::") {
        "global".to_string()
    } else {
        region.to_string()
    }
}

/// A time as AWS writes it: RFC 3339 in UTC with milliseconds.
pub fn time_value(micros: i64) -> Value {
    DateTime::<Utc>::from_timestamp_micros(micros).map_or(Value::Null, |time| {
        Value::String(time.to_rfc3339_opts(SecondsFormat::Millis, true))
    })
}

/// The result document of one grouped row.
pub fn group(
    query: &Query,
    keys: &[KeyColumns],
    aggregates: &[AggregateColumn],
    row: &QueryResult,
) -> Result<Value, DbErr> {
    let mut document = Map::new();
    for item in &query.select {
        match &item.kind {
            SelectKind::Property(property) => {
                let Some(index) = query
                    .group_by
                    .iter()
                    .position(|group| same_path(&group.segments, &property.segments))
                else {
                    continue;
                };
                let value = match &keys[index] {
                    KeyColumns::Field(field) => field_column(*field, row, &format!("k{index}"))?,
                    KeyColumns::Json => json_key(row, index)?,
                };
                if let Some(value) = value {
                    insert_path(&mut document, &canonical_path(&property.kind), value);
                }
            }
            SelectKind::Aggregate(aggregate) => {
                let Some(index) = aggregates.iter().position(|column| {
                    column.aggregate.function == aggregate.function
                        && match (&column.aggregate.argument, &aggregate.argument) {
                            (None, None) => true,
                            (Some(left), Some(right)) => same_path(&left.segments, &right.segments),
                            _ => false,
                        }
                }) else {
                    continue;
                };
                let value = aggregate_value(&aggregates[index], row, &format!("a{index}"))?;
                document.insert(item.name.clone(), value);
            }
            SelectKind::All => {}
        }
    }
    Ok(Value::Object(document))
}

fn field_column(field: Field, row: &QueryResult, column: &str) -> Result<Option<Value>, DbErr> {
    Ok(match field {
        Field::ConfigurationItemCaptureTime => {
            row.try_get::<Option<i64>>("", column)?.map(time_value)
        }
        Field::ConfigurationStateId => row
            .try_get::<Option<i64>>("", column)?
            .map(|value| Value::String(value.to_string())),
        _ => row
            .try_get::<Option<String>>("", column)?
            .filter(|value| !value.is_empty())
            .map(Value::String),
    })
}

/// A JSON group key from its (rank, number, text) triple; `None` for items without a value.
fn json_key(row: &QueryResult, index: usize) -> Result<Option<Value>, DbErr> {
    let rank: i64 = row.try_get("", &format!("k{index}r"))?;
    let number: f64 = row.try_get("", &format!("k{index}n"))?;
    let text: String = row.try_get("", &format!("k{index}t"))?;
    Ok(match rank {
        1 => Some(
            serde_json::from_str::<Value>(&text)
                .ok()
                .filter(Value::is_number)
                .unwrap_or_else(|| number_value(number)),
        ),
        2 => Some(Value::String(text)),
        3 => Some(Value::Bool(text == "true")),
        4 => serde_json::from_str(&text).ok(),
        _ => None,
    })
}

fn aggregate_value(
    column: &AggregateColumn,
    row: &QueryResult,
    name: &str,
) -> Result<Value, DbErr> {
    Ok(match column.column_type {
        ColumnType::Integer => match column.field {
            Some(Field::ConfigurationItemCaptureTime) => row
                .try_get::<Option<i64>>("", name)?
                .map_or(Value::Null, time_value),
            Some(Field::ConfigurationStateId) => row
                .try_get::<Option<i64>>("", name)?
                .map_or(Value::Null, |value| Value::String(value.to_string())),
            _ => row
                .try_get::<Option<i64>>("", name)?
                .map_or(Value::Null, Value::from),
        },
        ColumnType::Real => {
            let value: Option<f64> = row.try_get("", name)?;
            match value {
                None => Value::Null,
                Some(value) if column.aggregate.function == super::ast::AggregateFunction::Avg => {
                    serde_json::Number::from_f64(value).map_or(Value::Null, Value::Number)
                }
                Some(value) => number_value(value),
            }
        }
        ColumnType::Text => row
            .try_get::<Option<String>>("", name)?
            .map_or(Value::Null, Value::String),
    })
}

/// A number as JSON: whole numbers without a fraction.
fn number_value(value: f64) -> Value {
    if value.fract() == 0.0 && value.abs() < 9.0e15 {
        Value::from(value as i64)
    } else {
        serde_json::Number::from_f64(value).map_or(Value::Null, Value::Number)
    }
}

fn insert_path(document: &mut Map<String, Value>, path: &[String], value: Value) {
    let Some((first, rest)) = path.split_first() else {
        return;
    };
    if rest.is_empty() {
        document.insert(first.clone(), value);
        return;
    }
    let entry = document
        .entry(first.clone())
        .or_insert_with(|| Value::Object(Map::new()));
    if !entry.is_object() {
        *entry = Value::Object(Map::new());
    }
    if let Value::Object(inner) = entry {
        insert_path(inner, rest, value);
    }
}

/// Reads the sort columns `s0, s1, ...` of a row: the keyset position after it.
pub fn position(row: &QueryResult, types: &[ColumnType]) -> Result<Vec<KeyValue>, DbErr> {
    types
        .iter()
        .enumerate()
        .map(|(index, column_type)| {
            let name = format!("s{index}");
            Ok(match column_type {
                ColumnType::Integer => KeyValue::I(row.try_get("", &name)?),
                ColumnType::Real => KeyValue::R(row.try_get("", &name)?),
                ColumnType::Text => KeyValue::T(row.try_get("", &name)?),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::parse::parse;
    use serde_json::json;

    fn projected(expression: &str, document: Value, root: &str) -> Option<Value> {
        let query = parse(expression).unwrap();
        let projection = Projection::new(&query);
        projection
            .root
            .child(root)
            .and_then(|node| project(&document, node))
    }

    #[test]
    fn projection_nests_paths_and_walks_arrays() {
        let configuration = json!({
            "instanceType": "t3.micro",
            "placement": {"tenancy": "default", "zone": "a"},
            "blockDeviceMappings": [
                {"deviceName": "/dev/xvda", "ebs": {"volumeSize": 8}},
                {"deviceName": "/dev/xvdb"},
                "odd"
            ]
        });
        assert_eq!(
            projected(
                "SELECT configuration.instanceType, configuration.placement.tenancy, configuration.blockDeviceMappings.ebs.volumeSize",
                configuration.clone(),
                "configuration"
            ),
            Some(json!({
                "instanceType": "t3.micro",
                "placement": {"tenancy": "default"},
                "blockDeviceMappings": [{"ebs": {"volumeSize": 8}}]
            }))
        );
        assert_eq!(
            projected(
                "SELECT configuration.INSTANCETYPE",
                configuration.clone(),
                "configuration"
            ),
            Some(json!({"INSTANCETYPE": "t3.micro"}))
        );
        assert_eq!(
            projected(
                "SELECT configuration.missing",
                configuration.clone(),
                "configuration"
            ),
            None
        );
        assert_eq!(
            projected(
                "SELECT configuration, configuration.instanceType",
                configuration.clone(),
                "configuration"
            ),
            Some(configuration)
        );
    }

    #[test]
    fn tags_list_key_and_value_unless_tag_is_selected() {
        let tags = json!({"Stage": "prod", "Name": "web"});
        let whole = Projection::new(&parse("SELECT tags").unwrap());
        assert_eq!(
            project_tags(&tags, whole.root.child("tags").unwrap()),
            Some(json!([{"key": "Name", "value": "web"}, {"key": "Stage", "value": "prod"}]))
        );
        let tag = Projection::new(&parse("SELECT tags.tag").unwrap());
        assert_eq!(
            project_tags(&tags, tag.root.child("tags").unwrap()),
            Some(json!([{"tag": "Name=web"}, {"tag": "Stage=prod"}]))
        );
    }

    #[test]
    fn supplementary_documents_are_decoded() {
        let stored =
            json!({"BucketPolicy": "{\"policyText\": \"x\"}", "IsRequesterPaysEnabled": "false"});
        assert_eq!(
            decode_supplementary(stored),
            json!({"BucketPolicy": {"policyText": "x"}, "IsRequesterPaysEnabled": "false"})
        );
    }

    #[test]
    fn select_fields_expand_the_star() {
        let query = parse("SELECT *, tags").unwrap();
        let fields = select_fields(&query);
        assert_eq!(fields.len(), 11);
        assert_eq!(fields[0], "accountId");
        assert_eq!(fields[10], "tags");
    }

    #[test]
    fn numbers_and_times_render_like_aws() {
        assert_eq!(number_value(4.0), json!(4));
        assert_eq!(number_value(2.5), json!(2.5));
        assert_eq!(
            time_value(1_582_270_783_771_000),
            json!("2020-02-21T07:39:43.771Z")
        );
        let mut document = Map::new();
        insert_path(
            &mut document,
            &["configuration".into(), "a".into()],
            json!(1),
        );
        insert_path(
            &mut document,
            &["configuration".into(), "b".into()],
            json!(2),
        );
        assert_eq!(
            Value::Object(document),
            json!({"configuration": {"a": 1, "b": 2}})
        );
    }
}
