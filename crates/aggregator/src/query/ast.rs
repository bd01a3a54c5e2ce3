//! The advanced query language's own syntax tree: only what the supported subset can express, so
//! the compiler never meets a construct it does not handle. [`super::parse`] builds it from the
//! `sqlparser` tree and rejects everything else.

use std::fmt;

/// A checked query.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    /// The SELECT list, in query order.
    pub select: Vec<SelectItem>,
    /// The WHERE condition.
    pub filter: Option<Condition>,
    /// The GROUP BY properties (at most three).
    pub group_by: Vec<Property>,
    /// The ORDER BY keys, most significant first.
    pub order_by: Vec<OrderItem>,
}

impl Query {
    /// True for queries with GROUP BY or an aggregate function: they return groups, not items.
    pub fn is_aggregate(&self) -> bool {
        !self.group_by.is_empty()
            || self
                .select
                .iter()
                .any(|item| matches!(item.kind, SelectKind::Aggregate(_)))
    }
}

/// One item of the SELECT list.
#[derive(Debug, Clone, PartialEq)]
pub struct SelectItem {
    /// The item as written (normalised whitespace), used as `QueryInfo.SelectFields[].Name` and as
    /// the result key of aggregates.
    pub name: String,
    /// What it selects.
    pub kind: SelectKind,
}

/// What a SELECT item selects.
#[derive(Debug, Clone, PartialEq)]
pub enum SelectKind {
    /// `*`: the top-level scalar fields.
    All,
    /// A property or sub-document.
    Property(Property),
    /// An aggregate function.
    Aggregate(Aggregate),
}

/// An aggregate function call.
#[derive(Debug, Clone, PartialEq)]
pub struct Aggregate {
    /// The function.
    pub function: AggregateFunction,
    /// Its argument; `None` for `COUNT(*)`.
    pub argument: Option<Property>,
    /// The call as written (normalised whitespace), e.g. `COUNT(*)`.
    pub name: String,
}

/// The supported aggregate functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AggregateFunction {
    /// Number of items (`COUNT(*)`) or of values of a property.
    Count,
    /// Sum of the numeric values.
    Sum,
    /// Average of the numeric values.
    Avg,
    /// Smallest value.
    Min,
    /// Largest value.
    Max,
}

impl AggregateFunction {
    /// Resolves a function name, ignoring case.
    pub fn from_name(name: &str) -> Option<Self> {
        match name.to_ascii_uppercase().as_str() {
            "COUNT" => Some(Self::Count),
            "SUM" => Some(Self::Sum),
            "AVG" => Some(Self::Avg),
            "MIN" => Some(Self::Min),
            "MAX" => Some(Self::Max),
            _ => None,
        }
    }
}

/// A WHERE condition.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    /// Every condition holds.
    And(Vec<Condition>),
    /// At least one condition holds.
    Or(Vec<Condition>),
    /// The condition does not hold.
    Not(Box<Condition>),
    /// A test of one property.
    Predicate(Predicate),
}

/// A test of one property. On a multi-valued property (an array anywhere on its path, tags,
/// relationships) it holds when any single value passes the test.
#[derive(Debug, Clone, PartialEq)]
pub struct Predicate {
    /// The property tested.
    pub property: Property,
    /// The test.
    pub test: Test,
}

/// What a predicate tests.
#[derive(Debug, Clone, PartialEq)]
pub enum Test {
    /// `property <op> literal`.
    Compare(Comparison, Literal),
    /// `property IN (literal, ...)`.
    In(Vec<Literal>),
    /// `property BETWEEN low AND high`: one value within both bounds.
    Between(Literal, Literal),
    /// `property LIKE 'prefix%'`.
    Like(LikePattern),
}

/// A comparison operator. `!=`/`<>` are parsed as `NOT (=)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    /// `=`
    Equal,
    /// `<`
    Less,
    /// `<=`
    LessOrEqual,
    /// `>`
    Greater,
    /// `>=`
    GreaterOrEqual,
}

impl Comparison {
    /// The SQL operator.
    pub fn sql(self) -> &'static str {
        match self {
            Comparison::Equal => "=",
            Comparison::Less => "<",
            Comparison::LessOrEqual => "<=",
            Comparison::Greater => ">",
            Comparison::GreaterOrEqual => ">=",
        }
    }

    /// True for `=`, false for the range operators.
    pub fn is_equality(self) -> bool {
        self == Comparison::Equal
    }
}

/// A literal value.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    /// A single-quoted string.
    String(String),
    /// A number, with its text as written (for comparisons with string values).
    Number {
        /// The value.
        value: f64,
        /// The text as written, e.g. `80` or `-1.5`.
        text: String,
    },
    /// `true` or `false`.
    Boolean(bool),
}

impl Literal {
    /// The literal's text: a string's content, a number as written, `true`/`false`.
    pub fn text(&self) -> String {
        match self {
            Literal::String(text) => text.clone(),
            Literal::Number { text, .. } => text.clone(),
            Literal::Boolean(value) => value.to_string(),
        }
    }
}

/// A `LIKE` pattern: a literal prefix of at least three characters followed only by wildcards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LikePattern {
    /// The literal prefix.
    pub prefix: String,
    /// How many `_` wildcards follow it (each exactly one character).
    pub single_characters: usize,
    /// True when a `%` follows it (any number of further characters).
    pub open_ended: bool,
}

impl LikePattern {
    /// The fewest characters a matching value has.
    pub fn minimum_length(&self) -> usize {
        self.prefix.chars().count() + self.single_characters
    }
}

/// A key of ORDER BY.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderItem {
    /// What is ordered on.
    pub key: OrderKey,
    /// True for `DESC`.
    pub descending: bool,
}

/// What ORDER BY orders on.
#[derive(Debug, Clone, PartialEq)]
pub enum OrderKey {
    /// A property.
    Property(Property),
    /// An aggregate (grouped queries only).
    Aggregate(Aggregate),
}

/// A property path, resolved against the configuration item's shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Property {
    /// The path as written, segments joined by `.`.
    pub written: String,
    /// The path's segments as written.
    pub segments: Vec<String>,
    /// What it refers to.
    pub kind: PropertyKind,
}

impl Property {
    /// True when the property can hold several values per item (arrays, tags, relationships).
    pub fn is_multi_valued(&self) -> bool {
        matches!(self.kind, PropertyKind::Document { .. })
    }

    /// True when the property names a whole document (`configuration`, `tags`, ...) rather than
    /// something a condition, group, order or aggregate can use.
    pub fn is_whole_document(&self) -> bool {
        matches!(&self.kind, PropertyKind::Document { path, .. } if path.is_empty())
    }
}

impl fmt::Display for Property {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.written)
    }
}

/// What a property path refers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PropertyKind {
    /// A top-level scalar field of the item.
    Field(Field),
    /// A path inside one of the item's documents; `path` is empty for the whole document.
    Document {
        /// The document.
        root: DocumentRoot,
        /// The segments below the document, as written.
        path: Vec<String>,
    },
}

/// The item's documents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentRoot {
    /// `configuration`: the resource's configuration (any nested path).
    Configuration,
    /// `supplementaryConfiguration`: further configuration by name.
    SupplementaryConfiguration,
    /// `tags`: a list of `{key, value, tag}` where `tag` is `key=value`.
    Tags,
    /// `relationships`: a list of `{resourceType, resourceId, resourceName, relationshipName}`.
    Relationships,
}

impl DocumentRoot {
    /// Every document, with its name.
    pub const ALL: [(DocumentRoot, &'static str); 4] = [
        (DocumentRoot::Configuration, "configuration"),
        (
            DocumentRoot::SupplementaryConfiguration,
            "supplementaryConfiguration",
        ),
        (DocumentRoot::Tags, "tags"),
        (DocumentRoot::Relationships, "relationships"),
    ];

    /// The document's name in results.
    pub fn name(self) -> &'static str {
        match self {
            DocumentRoot::Configuration => "configuration",
            DocumentRoot::SupplementaryConfiguration => "supplementaryConfiguration",
            DocumentRoot::Tags => "tags",
            DocumentRoot::Relationships => "relationships",
        }
    }
}

/// The fields of `tags` elements.
pub const TAG_FIELDS: [&str; 3] = ["key", "value", "tag"];
/// The fields of `relationships` elements.
pub const RELATIONSHIP_FIELDS: [&str; 4] = [
    "resourceType",
    "resourceId",
    "resourceName",
    "relationshipName",
];

/// The top-level scalar fields of a configuration item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// `accountId`
    AccountId,
    /// `arn`
    Arn,
    /// `availabilityZone`
    AvailabilityZone,
    /// `awsRegion` (`global` for global resource types)
    AwsRegion,
    /// `configurationItemCaptureTime`
    ConfigurationItemCaptureTime,
    /// `configurationItemStatus`
    ConfigurationItemStatus,
    /// `configurationStateId`
    ConfigurationStateId,
    /// `resourceCreationTime`
    ResourceCreationTime,
    /// `resourceId`
    ResourceId,
    /// `resourceName`
    ResourceName,
    /// `resourceType`
    ResourceType,
    /// `version`
    Version,
}

impl Field {
    /// Every field, in the order `SELECT *` returns them.
    pub const ALL: [Field; 12] = [
        Field::AccountId,
        Field::AwsRegion,
        Field::Arn,
        Field::AvailabilityZone,
        Field::ConfigurationItemCaptureTime,
        Field::ResourceCreationTime,
        Field::ResourceId,
        Field::ResourceName,
        Field::ResourceType,
        Field::Version,
        Field::ConfigurationItemStatus,
        Field::ConfigurationStateId,
    ];

    /// What `SELECT *` returns (AWS: the top-level scalar properties except the item's status and
    /// state id).
    pub const STAR: [Field; 10] = [
        Field::AccountId,
        Field::AwsRegion,
        Field::Arn,
        Field::AvailabilityZone,
        Field::ConfigurationItemCaptureTime,
        Field::ResourceCreationTime,
        Field::ResourceId,
        Field::ResourceName,
        Field::ResourceType,
        Field::Version,
    ];

    /// The field's name in queries and results.
    pub fn name(self) -> &'static str {
        match self {
            Field::AccountId => "accountId",
            Field::Arn => "arn",
            Field::AvailabilityZone => "availabilityZone",
            Field::AwsRegion => "awsRegion",
            Field::ConfigurationItemCaptureTime => "configurationItemCaptureTime",
            Field::ConfigurationItemStatus => "configurationItemStatus",
            Field::ConfigurationStateId => "configurationStateId",
            Field::ResourceCreationTime => "resourceCreationTime",
            Field::ResourceId => "resourceId",
            Field::ResourceName => "resourceName",
            Field::ResourceType => "resourceType",
            Field::Version => "version",
        }
    }

    /// Resolves a field name, ignoring case.
    pub fn from_name(name: &str) -> Option<Self> {
        Field::ALL
            .into_iter()
            .find(|field| field.name().eq_ignore_ascii_case(name))
    }

    /// How the field's values compare.
    pub fn value_type(self) -> FieldType {
        match self {
            Field::ConfigurationItemCaptureTime | Field::ResourceCreationTime => FieldType::Time,
            Field::ConfigurationStateId => FieldType::Integer,
            _ => FieldType::String,
        }
    }
}

/// How a top-level field's values compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    /// Text.
    String,
    /// A point in time; literals are ISO 8601 strings.
    Time,
    /// A whole number.
    Integer,
}
