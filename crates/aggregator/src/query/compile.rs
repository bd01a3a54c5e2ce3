//! Compiles a checked [`Query`] into one parameterised statement for SQLite or PostgreSQL over
//! `aggregate_config_items`, limited to the pairs the aggregator is entitled to.
//!
//! How properties become SQL:
//! - top-level fields are columns (`resourceType` is `i.resource_type`; `awsRegion` is the
//!   source region, or `global` for global resource types);
//! - a path inside a document is a chain of JSON table functions (`json_each` on SQLite,
//!   `jsonb_each`/`jsonb_array_elements` on PostgreSQL) that matches each segment against the
//!   object's keys ignoring case and walks through arrays at every level, so one property yields
//!   every value it reaches. A predicate is `EXISTS` over that chain (true when any value passes:
//!   AWS's array semantics, each predicate on its own), a GROUP BY key joins the chain's distinct
//!   values, an ORDER BY key its smallest (ASC) or largest (DESC) value.
//! - JSON values sort and group by a (rank, number, text) triple that both backends compute the
//!   same way: numbers, then strings, then booleans, then objects and arrays; a missing value
//!   sorts last in either direction.
//!
//! Paging is keyset over the sort columns, always ending in a unique key (the item's primary key,
//! or every GROUP BY key), so pages neither skip nor repeat rows.
//!
//! Speed notes (DESIGN §9; benchmarked separately): scope and top-level filters hit the
//! `(account_id, region, resource_type)` and `(resource_type, account_id, region)` indexes through
//! the entitlement join; a `configuration.*` filter reads each candidate row's JSON. Ways to make
//! common JSON paths index-backed later: expression indexes on the exact extraction of frequent
//! paths (`json_extract(configuration, '$.instanceType')`, `(configuration::jsonb ->>
//! 'instanceType')`) selected by a catalogue of key spellings per resource type; a `jsonb` column
//! with a GIN `jsonb_path_ops` index on PostgreSQL; or a side table of (item, lower-case path,
//! value) rows filled when an item is applied, which also serves arrays and case-insensitivity.

use sea_orm::{DatabaseBackend, Value};
use serde::{Deserialize, Serialize};

use super::{
    ast::{
        Aggregate, AggregateFunction, Comparison, Condition, DocumentRoot, Field, FieldType,
        LikePattern, Literal, OrderKey, Predicate, PropertyKind, Query, RELATIONSHIP_FIELDS,
        SelectKind, Test,
    },
    parse::{integer_value, same_path, time_micros},
    sql::{Fragment, cat},
};

/// The aggregator whose view a query reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryScope {
    /// The aggregator's owner account.
    pub owner_account_id: String,
    /// The aggregator's home region.
    pub home_region: String,
    /// The aggregator's name.
    pub aggregator_name: String,
    /// The resource types the aggregator includes; `None` for all.
    pub resource_types: Option<Vec<String>>,
}

/// Item statuses a query sees: current, recorded items (AWS never returns `ResourceNotRecorded`
/// and deleted resources to advanced queries).
pub const VISIBLE_STATUSES: [&str; 2] = ["OK", "ResourceDiscovered"];
/// The entitlement status that shows a pair's data.
const AUTHORIZED: &str = "AUTHORIZED";
/// The configuration item schema version.
pub const ITEM_SCHEMA_VERSION: &str = "1.3";
/// The jsonpath that flattens nested arrays on PostgreSQL (eight levels deep).
const FLATTEN_ARRAYS: &str = "lax $[*][*][*][*][*][*][*][*]";
/// Resource types recorded once per account under `awsRegion = 'global'`.
const GLOBAL_TYPE_PREFIX: &str = "AWS::IAM::";

/// One value of a keyset position.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum KeyValue {
    /// A whole number.
    I(i64),
    /// A floating-point number.
    R(f64),
    /// Text.
    T(String),
}

impl KeyValue {
    fn to_value(&self) -> Value {
        match self {
            KeyValue::I(value) => Value::BigInt(Some(*value)),
            KeyValue::R(value) => Value::Double(Some(*value)),
            KeyValue::T(value) => Value::String(Some(value.clone())),
        }
    }

    fn has_type(&self, column_type: ColumnType) -> bool {
        matches!(
            (self, column_type),
            (KeyValue::I(_), ColumnType::Integer)
                | (KeyValue::R(_), ColumnType::Real)
                | (KeyValue::T(_), ColumnType::Text)
        )
    }
}

/// The SQL type a result column is read as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    /// 64-bit integer.
    Integer,
    /// Double.
    Real,
    /// Text.
    Text,
}

/// A column the rows are ordered by; never NULL.
#[derive(Debug, Clone)]
struct SortColumn {
    expression: Fragment,
    column_type: ColumnType,
    descending: bool,
}

/// How to read one GROUP BY key from a grouped row.
#[derive(Debug, Clone, PartialEq)]
pub enum KeyColumns {
    /// A top-level field in column `k{index}`.
    Field(Field),
    /// A JSON value as the triple `k{index}r`, `k{index}n`, `k{index}t`.
    Json,
}

/// How to read one aggregate from a grouped row (column `a{index}`).
#[derive(Debug, Clone, PartialEq)]
pub struct AggregateColumn {
    /// The aggregate.
    pub aggregate: Aggregate,
    /// How the column is read.
    pub column_type: ColumnType,
    /// The field the aggregate reads, for MIN/MAX of times (rendered as times).
    pub field: Option<Field>,
}

/// What the statement returns and how to read it.
#[derive(Debug, Clone, PartialEq)]
pub enum Shape {
    /// One row per item: the item columns, the documents named, and the sort columns.
    Items {
        /// Which documents were selected (their columns are present).
        documents: Vec<DocumentRoot>,
        /// Whether the item's protobuf column `item` is present.
        item_blob: bool,
    },
    /// One row per group: keys `k*`, aggregates `a*`, sort columns.
    Groups {
        /// The GROUP BY keys in order.
        keys: Vec<KeyColumns>,
        /// The aggregates of SELECT and ORDER BY in order.
        aggregates: Vec<AggregateColumn>,
    },
}

/// A compiled query.
#[derive(Debug, Clone)]
pub struct Compiled {
    /// The statement: the page plus one row to tell whether more follow.
    pub statement: Fragment,
    /// What it returns.
    pub shape: Shape,
    /// The types of the sort columns `s0, s1, ...`: a keyset position has one value per column.
    pub sort_types: Vec<ColumnType>,
}

/// A keyset position that does not fit the query (a token from another version of the query).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PositionMismatch;

/// The last element of a JSON chain, as SQL expressions.
#[derive(Debug, Clone)]
enum Element {
    /// SQLite: the `json_each` type name, the SQL value of a primitive, the JSON text of a
    /// container.
    Sqlite {
        kind: String,
        atom: String,
        value: String,
    },
    /// PostgreSQL: a `jsonb` expression.
    Postgres { value: String },
}

/// Where a multi-valued property's values come from: a FROM list of JSON table functions
/// (correlated to the item `i`), the conditions that select the path, and the value reached.
#[derive(Debug, Clone)]
struct Source {
    from: Fragment,
    conditions: Vec<Fragment>,
    element: Element,
}

/// Compiles `query` over `scope` for `backend`, continuing after `after` (a previous page's last
/// sort values), returning at most `limit + 1` rows.
pub fn compile(
    query: &Query,
    scope: &QueryScope,
    backend: DatabaseBackend,
    after: Option<&[KeyValue]>,
    limit: u64,
) -> Result<Compiled, PositionMismatch> {
    let mut compiler = Compiler {
        backend,
        next_alias: 0,
    };
    if query.is_aggregate() {
        compiler.grouped(query, scope, after, limit)
    } else {
        compiler.items(query, scope, after, limit)
    }
}

struct Compiler {
    backend: DatabaseBackend,
    next_alias: usize,
}

impl Compiler {
    fn postgres(&self) -> bool {
        self.backend == DatabaseBackend::Postgres
    }

    fn alias(&mut self, prefix: &str) -> String {
        self.next_alias += 1;
        format!("{prefix}{}", self.next_alias)
    }

    fn cast(&self, expression: &Fragment, column_type: ColumnType) -> Fragment {
        let sql_type = match (column_type, self.postgres()) {
            (ColumnType::Integer, true) => "BIGINT",
            (ColumnType::Integer, false) => "INTEGER",
            (ColumnType::Real, true) => "DOUBLE PRECISION",
            (ColumnType::Real, false) => "REAL",
            (ColumnType::Text, _) => "TEXT",
        };
        cat(&[
            Fragment::sql("CAST("),
            expression.clone(),
            Fragment::sql(format!(" AS {sql_type})")),
        ])
    }

    /// `FROM items JOIN entitlements WHERE <scope>` as the FROM clause plus the scope conditions.
    fn scope(&self, scope: &QueryScope) -> (Fragment, Vec<Fragment>) {
        let mut from = Fragment::sql(
            "aggregate_config_items AS i JOIN aggregator_entitlements AS e \
             ON e.account_id = i.account_id AND e.region = i.region AND e.owner_account_id = ",
        );
        from.push_value(scope.owner_account_id.as_str())
            .push_sql(" AND e.home_region = ")
            .push_value(scope.home_region.as_str())
            .push_sql(" AND e.aggregator_name = ")
            .push_value(scope.aggregator_name.as_str())
            .push_sql(" AND e.status = ")
            .push_value(AUTHORIZED);
        let mut conditions = vec![cat(&[
            Fragment::sql("i.deleted = "),
            Fragment::value(false),
        ])];
        let mut statuses = Fragment::sql("i.item_status IN (");
        statuses.push_joined(&VISIBLE_STATUSES.map(Fragment::value), ", ");
        statuses.push_sql(")");
        conditions.push(statuses);
        if let Some(types) = &scope.resource_types {
            if types.is_empty() {
                conditions.push(Fragment::sql("1 = 0"));
            } else {
                let mut included = Fragment::sql("i.resource_type IN (");
                let values: Vec<Fragment> = types
                    .iter()
                    .map(|value| Fragment::value(value.as_str()))
                    .collect();
                included.push_joined(&values, ", ");
                included.push_sql(")");
                conditions.push(included);
            }
        }
        (from, conditions)
    }

    // ----- plain queries -----

    fn items(
        &mut self,
        query: &Query,
        scope: &QueryScope,
        after: Option<&[KeyValue]>,
        limit: u64,
    ) -> Result<Compiled, PositionMismatch> {
        let (mut from, mut conditions) = self.scope(scope);
        if let Some(filter) = &query.filter {
            conditions.push(self.condition(filter));
        }
        let mut sort = Vec::new();
        for item in &query.order_by {
            let OrderKey::Property(property) = &item.key else {
                continue;
            };
            match &property.kind {
                PropertyKind::Field(field) => {
                    sort.extend(self.field_sort(
                        &self.field_expression(*field),
                        *field,
                        item.descending,
                    ));
                }
                PropertyKind::Document { root, path } => {
                    let alias = self.alias("o");
                    from.push(&self.first_value_join(*root, path, &alias, item.descending));
                    sort.extend(self.json_sort(&alias, item.descending));
                }
            }
        }
        // The pair columns come from the entitlement side of the join: walking the aggregator's
        // entitlements in key order and each pair's items by primary key then yields rows already
        // in this order, so a page stops after `limit` rows instead of sorting every match.
        for column in [
            "e.account_id",
            "e.region",
            "i.resource_type",
            "i.resource_id",
        ] {
            sort.push(SortColumn {
                expression: Fragment::sql(column),
                column_type: ColumnType::Text,
                descending: false,
            });
        }
        let keyset = match after {
            None => None,
            Some(position) => Some(keyset(&sort, position)?),
        };
        conditions.extend(keyset);

        let mut documents = Vec::new();
        let mut item_blob = false;
        for item in &query.select {
            match &item.kind {
                SelectKind::All => item_blob = true,
                SelectKind::Property(property) => match &property.kind {
                    PropertyKind::Field(Field::ResourceCreationTime | Field::Version) => {
                        item_blob = true;
                    }
                    PropertyKind::Field(_) => {}
                    PropertyKind::Document { root, .. } => {
                        if !documents.contains(root) {
                            documents.push(*root);
                        }
                    }
                },
                SelectKind::Aggregate(_) => {}
            }
        }
        let mut statement = Fragment::sql(
            "SELECT i.account_id AS account_id, i.region AS region, i.resource_type AS \
             resource_type, i.resource_id AS resource_id, i.resource_name AS resource_name, \
             i.arn AS arn, i.availability_zone AS availability_zone, i.item_status AS \
             item_status, i.capture_time_micros AS capture_time_micros, i.seq AS seq",
        );
        for root in &documents {
            let column = document_column(*root);
            statement.push_sql(format!(", i.{column} AS {column}"));
        }
        if item_blob {
            statement.push_sql(", i.item AS item");
        }
        for (index, column) in sort.iter().enumerate() {
            statement
                .push_sql(", ")
                .push(&self.cast(&column.expression, column.column_type))
                .push_sql(format!(" AS s{index}"));
        }
        statement.push_sql(" FROM ").push(&from);
        statement
            .push_sql(" WHERE ")
            .push(&Fragment::joined(&conditions, " AND ", "TRUE"));
        statement.push_sql(" ORDER BY ").push(&order_by(&sort));
        statement
            .push_sql(" LIMIT ")
            .push_value(i64::try_from(limit.saturating_add(1)).unwrap_or(i64::MAX));
        Ok(Compiled {
            statement,
            shape: Shape::Items {
                documents,
                item_blob,
            },
            sort_types: sort.iter().map(|column| column.column_type).collect(),
        })
    }

    // ----- grouped queries -----

    fn grouped(
        &mut self,
        query: &Query,
        scope: &QueryScope,
        after: Option<&[KeyValue]>,
        limit: u64,
    ) -> Result<Compiled, PositionMismatch> {
        let (mut from, mut conditions) = self.scope(scope);
        if let Some(filter) = &query.filter {
            conditions.push(self.condition(filter));
        }
        let mut columns: Vec<Fragment> = Vec::new();
        let mut group_columns = 0;
        let mut keys = Vec::new();
        for (index, property) in query.group_by.iter().enumerate() {
            match &property.kind {
                PropertyKind::Field(field) => {
                    let column_type = field_column_type(*field);
                    columns.push(cat(&[
                        self.cast(&self.field_expression(*field), column_type),
                        Fragment::sql(format!(" AS k{index}")),
                    ]));
                    group_columns += 1;
                    keys.push(KeyColumns::Field(*field));
                }
                PropertyKind::Document { root, path } => {
                    let alias = self.alias("g");
                    from.push(&self.distinct_values_join(*root, path, &alias));
                    let (rank, number, text) = self.joined_triple(&alias);
                    for (suffix, expression, column_type) in [
                        ("r", rank, ColumnType::Integer),
                        ("n", number, ColumnType::Real),
                        ("t", text, ColumnType::Text),
                    ] {
                        columns.push(cat(&[
                            self.cast(&expression, column_type),
                            Fragment::sql(format!(" AS k{index}{suffix}")),
                        ]));
                    }
                    group_columns += 3;
                    keys.push(KeyColumns::Json);
                }
            }
        }
        let mut aggregates: Vec<AggregateColumn> = Vec::new();
        let mentioned = query
            .select
            .iter()
            .filter_map(|item| match &item.kind {
                SelectKind::Aggregate(aggregate) => Some(aggregate),
                _ => None,
            })
            .chain(query.order_by.iter().filter_map(|item| match &item.key {
                OrderKey::Aggregate(aggregate) => Some(aggregate),
                OrderKey::Property(_) => None,
            }));
        for aggregate in mentioned {
            if aggregates
                .iter()
                .any(|known| same_aggregate(&known.aggregate, aggregate))
            {
                continue;
            }
            let (expression, column_type, field) = self.aggregate(aggregate);
            columns.push(cat(&[
                self.cast(&expression, column_type),
                Fragment::sql(format!(" AS a{}", aggregates.len())),
            ]));
            aggregates.push(AggregateColumn {
                aggregate: aggregate.clone(),
                column_type,
                field,
            });
        }

        // Sort: ORDER BY keys first, then every GROUP BY key ascending, which makes rows unique.
        let mut sort = Vec::new();
        let mut ordered_keys = Vec::new();
        for item in &query.order_by {
            match &item.key {
                OrderKey::Property(property) => {
                    if let Some(index) = query
                        .group_by
                        .iter()
                        .position(|group| same_path(&group.segments, &property.segments))
                        && !ordered_keys.contains(&index)
                    {
                        ordered_keys.push(index);
                        sort.extend(self.group_key_sort(&keys[index], index, item.descending));
                    }
                }
                OrderKey::Aggregate(aggregate) => {
                    if let Some(index) = aggregates
                        .iter()
                        .position(|known| same_aggregate(&known.aggregate, aggregate))
                    {
                        sort.extend(aggregate_sort(&aggregates[index], index, item.descending));
                    }
                }
            }
        }
        for (index, key) in keys.iter().enumerate() {
            if !ordered_keys.contains(&index) {
                sort.extend(self.group_key_sort(key, index, false));
            }
        }

        let mut inner = Fragment::sql("SELECT ");
        if columns.is_empty() {
            inner.push_sql("1 AS one");
        } else {
            inner.push_joined(&columns, ", ");
        }
        inner.push_sql(" FROM ").push(&from);
        inner
            .push_sql(" WHERE ")
            .push(&Fragment::joined(&conditions, " AND ", "TRUE"));
        if group_columns > 0 {
            let ordinals: Vec<String> = (1..=group_columns).map(|n| n.to_string()).collect();
            inner.push_sql(format!(" GROUP BY {}", ordinals.join(", ")));
        }

        let mut statement = Fragment::sql("SELECT q.*");
        for (index, column) in sort.iter().enumerate() {
            statement
                .push_sql(", ")
                .push(&self.cast(&column.expression, column.column_type))
                .push_sql(format!(" AS s{index}"));
        }
        statement
            .push_sql(" FROM (")
            .push(&inner)
            .push_sql(") AS q");
        if let Some(position) = after {
            statement
                .push_sql(" WHERE ")
                .push(&keyset(&sort, position)?);
        }
        if !sort.is_empty() {
            statement.push_sql(" ORDER BY ").push(&order_by(&sort));
        }
        statement
            .push_sql(" LIMIT ")
            .push_value(i64::try_from(limit.saturating_add(1)).unwrap_or(i64::MAX));
        Ok(Compiled {
            statement,
            shape: Shape::Groups { keys, aggregates },
            sort_types: sort.iter().map(|column| column.column_type).collect(),
        })
    }

    fn group_key_sort(&self, key: &KeyColumns, index: usize, descending: bool) -> Vec<SortColumn> {
        match key {
            KeyColumns::Field(field) => {
                self.field_sort(&Fragment::sql(format!("q.k{index}")), *field, descending)
            }
            KeyColumns::Json => self.triple_sort(
                &format!("q.k{index}r"),
                &format!("q.k{index}n"),
                &format!("q.k{index}t"),
                descending,
            ),
        }
    }

    /// The SQL of an aggregate over the grouped rows, its type, and the field it reads.
    fn aggregate(&mut self, aggregate: &Aggregate) -> (Fragment, ColumnType, Option<Field>) {
        let Some(property) = &aggregate.argument else {
            return (Fragment::sql("COUNT(*)"), ColumnType::Integer, None);
        };
        match &property.kind {
            PropertyKind::Field(field) => {
                let expression = self.field_expression(*field);
                let optional = is_optional(*field);
                match aggregate.function {
                    AggregateFunction::Count => {
                        let counted = if optional {
                            cat(&[
                                Fragment::sql("SUM(CASE WHEN "),
                                expression,
                                Fragment::sql(" <> '' THEN 1 ELSE 0 END)"),
                            ])
                        } else {
                            Fragment::sql("COUNT(*)")
                        };
                        (counted, ColumnType::Integer, None)
                    }
                    AggregateFunction::Sum => (
                        cat(&[
                            Fragment::sql("COALESCE(SUM("),
                            expression,
                            Fragment::sql("), 0)"),
                        ]),
                        ColumnType::Real,
                        None,
                    ),
                    AggregateFunction::Avg => (
                        cat(&[Fragment::sql("AVG("), expression, Fragment::sql(")")]),
                        ColumnType::Real,
                        None,
                    ),
                    AggregateFunction::Min | AggregateFunction::Max => {
                        let function = if aggregate.function == AggregateFunction::Min {
                            "MIN"
                        } else {
                            "MAX"
                        };
                        let argument = if optional {
                            cat(&[Fragment::sql("NULLIF("), expression, Fragment::sql(", '')")])
                        } else {
                            expression
                        };
                        (
                            cat(&[
                                Fragment::sql(format!("{function}(")),
                                argument,
                                Fragment::sql(")"),
                            ]),
                            field_column_type(*field),
                            Some(*field),
                        )
                    }
                }
            }
            PropertyKind::Document { root, path } => {
                let source = self.source(*root, path);
                let count_values = self.per_item(&source, "COUNT(*)", false);
                let count_numbers = self.per_item(&source, "COUNT(*)", true);
                let number = self.number_of(&source.element);
                let sum = self.per_item(&source, &format!("SUM({number})"), true);
                let min = self.per_item(&source, &format!("MIN({number})"), true);
                let max = self.per_item(&source, &format!("MAX({number})"), true);
                match aggregate.function {
                    AggregateFunction::Count => (
                        cat(&[
                            Fragment::sql("COALESCE(SUM("),
                            count_values,
                            Fragment::sql("), 0)"),
                        ]),
                        ColumnType::Integer,
                        None,
                    ),
                    AggregateFunction::Sum => (
                        cat(&[Fragment::sql("COALESCE(SUM("), sum, Fragment::sql("), 0)")]),
                        ColumnType::Real,
                        None,
                    ),
                    AggregateFunction::Avg => (
                        cat(&[
                            Fragment::sql("SUM("),
                            sum,
                            Fragment::sql(") / NULLIF(SUM("),
                            count_numbers,
                            Fragment::sql("), 0)"),
                        ]),
                        ColumnType::Real,
                        None,
                    ),
                    AggregateFunction::Min => (
                        cat(&[Fragment::sql("MIN("), min, Fragment::sql(")")]),
                        ColumnType::Real,
                        None,
                    ),
                    AggregateFunction::Max => (
                        cat(&[Fragment::sql("MAX("), max, Fragment::sql(")")]),
                        ColumnType::Real,
                        None,
                    ),
                }
            }
        }
    }

    /// `(SELECT <aggregate> FROM <source> WHERE <path> AND <value test>)` for one item.
    fn per_item(&self, source: &Source, aggregate: &str, numbers_only: bool) -> Fragment {
        let mut conditions = source.conditions.clone();
        conditions.push(if numbers_only {
            self.is_number(&source.element)
        } else {
            self.is_value(&source.element)
        });
        cat(&[
            Fragment::sql(format!(
                "(SELECT CAST({aggregate} AS {}) FROM ",
                self.real_type()
            )),
            source.from.clone(),
            Fragment::sql(" WHERE "),
            Fragment::joined(&conditions, " AND ", "TRUE"),
            Fragment::sql(")"),
        ])
    }

    fn real_type(&self) -> &'static str {
        if self.postgres() {
            "DOUBLE PRECISION"
        } else {
            "REAL"
        }
    }

    // ----- conditions -----

    fn condition(&mut self, condition: &Condition) -> Fragment {
        match condition {
            Condition::And(parts) => {
                let parts: Vec<Fragment> = parts.iter().map(|part| self.condition(part)).collect();
                Fragment::joined(&parts, " AND ", "TRUE")
            }
            Condition::Or(parts) => {
                let parts: Vec<Fragment> = parts.iter().map(|part| self.condition(part)).collect();
                Fragment::joined(&parts, " OR ", "FALSE")
            }
            Condition::Not(inner) => cat(&[
                Fragment::sql("NOT ("),
                self.condition(inner),
                Fragment::sql(")"),
            ]),
            Condition::Predicate(predicate) => self.predicate(predicate),
        }
    }

    fn predicate(&mut self, predicate: &Predicate) -> Fragment {
        match &predicate.property.kind {
            PropertyKind::Field(field) => self.field_test(*field, &predicate.test),
            PropertyKind::Document { root, path } => {
                let source = self.source(*root, path);
                let mut conditions = source.conditions.clone();
                conditions.push(self.element_test(&source.element, &predicate.test));
                cat(&[
                    Fragment::sql("EXISTS (SELECT 1 FROM "),
                    source.from,
                    Fragment::sql(" WHERE "),
                    Fragment::joined(&conditions, " AND ", "TRUE"),
                    Fragment::sql(")"),
                ])
            }
        }
    }

    // ----- top-level fields -----

    fn field_expression(&self, field: Field) -> Fragment {
        Fragment::sql(match field {
            Field::AccountId => "i.account_id".to_string(),
            Field::Arn => "i.arn".to_string(),
            Field::AvailabilityZone => "i.availability_zone".to_string(),
            Field::AwsRegion => format!(
                "(CASE WHEN substr(i.resource_type, 1, {}) = '{GLOBAL_TYPE_PREFIX}' THEN 'global' ELSE i.region END)",
                GLOBAL_TYPE_PREFIX.len()
            ),
            Field::ConfigurationItemCaptureTime => "i.capture_time_micros".to_string(),
            Field::ConfigurationItemStatus => "i.item_status".to_string(),
            Field::ConfigurationStateId => "i.seq".to_string(),
            // Rejected by the checker outside SELECT; selected values come from the item blob.
            Field::ResourceCreationTime => "NULL".to_string(),
            Field::ResourceId => "i.resource_id".to_string(),
            Field::ResourceName => "i.resource_name".to_string(),
            Field::ResourceType => "i.resource_type".to_string(),
            Field::Version => format!("'{ITEM_SCHEMA_VERSION}'"),
        })
    }

    /// A field's sort columns: optional fields sort a missing ('') value last in either direction.
    fn field_sort(&self, expression: &Fragment, field: Field, descending: bool) -> Vec<SortColumn> {
        let mut columns = Vec::new();
        if is_optional(field) {
            let (missing, present) = if descending { (0, 1) } else { (1, 0) };
            columns.push(SortColumn {
                expression: cat(&[
                    Fragment::sql("(CASE WHEN "),
                    expression.clone(),
                    Fragment::sql(format!(" = '' THEN {missing} ELSE {present} END)")),
                ]),
                column_type: ColumnType::Integer,
                descending,
            });
        }
        columns.push(SortColumn {
            expression: expression.clone(),
            column_type: field_column_type(field),
            descending,
        });
        columns
    }

    fn field_test(&self, field: Field, test: &Test) -> Fragment {
        let expression = self.field_expression(field);
        let value = |literal: &Literal| -> Fragment {
            match field.value_type() {
                FieldType::String => Fragment::value(literal.text()),
                FieldType::Time => Fragment::value(time_micros(literal).unwrap_or_default()),
                FieldType::Integer => Fragment::value(integer_value(literal).unwrap_or_default()),
            }
        };
        let test_sql = match test {
            Test::Compare(comparison, literal) => cat(&[
                expression.clone(),
                Fragment::sql(format!(" {} ", comparison.sql())),
                value(literal),
            ]),
            Test::In(literals) => {
                let values: Vec<Fragment> = literals.iter().map(value).collect();
                let mut list = expression.clone();
                list.push_sql(" IN (")
                    .push_joined(&values, ", ")
                    .push_sql(")");
                list
            }
            Test::Between(low, high) => cat(&[
                expression.clone(),
                Fragment::sql(" BETWEEN "),
                value(low),
                Fragment::sql(" AND "),
                value(high),
            ]),
            Test::Like(pattern) => like_sql(&expression, pattern),
        };
        if is_optional(field) {
            cat(&[
                Fragment::sql("("),
                expression,
                Fragment::sql(" <> '' AND "),
                test_sql,
                Fragment::sql(")"),
            ])
        } else {
            test_sql
        }
    }

    // ----- JSON sources -----

    /// The values of `root.path` for one item.
    fn source(&mut self, root: DocumentRoot, path: &[String]) -> Source {
        match root {
            DocumentRoot::Configuration | DocumentRoot::SupplementaryConfiguration => {
                self.path_source(root, path)
            }
            DocumentRoot::Tags => self.tags_source(path.first().map(String::as_str)),
            DocumentRoot::Relationships => {
                self.relationships_source(path.first().map(String::as_str))
            }
        }
    }

    /// The chain for `configuration.<path>` or `supplementaryConfiguration.<name>.<path>`.
    fn path_source(&mut self, root: DocumentRoot, path: &[String]) -> Source {
        let column = format!("i.{}", document_column(root));
        let prefix = self.alias("j");
        let mut from = Fragment::new();
        let mut conditions = Vec::new();
        // The node the next segment is looked up in: (SQLite type, SQLite value) or a jsonb value.
        let mut node: Option<(String, String)> = None;
        let mut element = None;
        for (index, segment) in path.iter().enumerate() {
            let member = format!("{prefix}m{index}");
            let flat = format!("{prefix}f{index}");
            if index > 0 {
                from.push_sql(", ");
            }
            conditions.push(cat(&[
                Fragment::sql(format!("lower({member}.key) = ")),
                Fragment::value(segment.to_ascii_lowercase()),
            ]));
            let decode = root == DocumentRoot::SupplementaryConfiguration && index == 0;
            if self.postgres() {
                let object = match &node {
                    // The replica stores a configuration that is not a JSON object as a JSON
                    // string; `jsonb_each` would fail on it, so such a root reads as `{}`.
                    None => format!(
                        "COALESCE(jsonb_path_query_first(CAST({column} AS jsonb), 'strict $ ? (@.type() == \"object\")'), '{{}}'::jsonb)"
                    ),
                    Some((_, value)) => format!(
                        "(CASE WHEN jsonb_typeof({value}) = 'object' THEN {value} ELSE '{{}}'::jsonb END)"
                    ),
                };
                from.push_sql(format!("jsonb_each({object}) AS {member}"));
                let member_value = if decode {
                    // Supplementary values are JSON documents stored as strings.
                    format!(
                        "(CASE WHEN jsonb_typeof({member}.value) = 'string' AND left(ltrim({member}.value #>> '{{}}', chr(32) || chr(9) || chr(10) || chr(13)), 1) IN ('{{', '[') THEN CAST({member}.value #>> '{{}}' AS jsonb) ELSE {member}.value END)"
                    )
                } else {
                    format!("{member}.value")
                };
                // Lax `[*]` yields an array's elements and any other value itself, so the chain
                // walks arrays (and arrays of arrays, up to the depth written here).
                from.push_sql(format!(
                    ", jsonb_path_query({member_value}, '{FLATTEN_ARRAYS}') AS {flat}(value)"
                ));
                node = Some((String::new(), format!("{flat}.value")));
                element = Some(Element::Postgres {
                    value: format!("{flat}.value"),
                });
            } else {
                let object = match &node {
                    None => column.clone(),
                    Some((kind, value)) => {
                        format!("(CASE WHEN {kind} = 'object' THEN {value} END)")
                    }
                };
                from.push_sql(format!("json_each({object}) AS {member}"));
                let (member_kind, member_value, member_atom) = if decode {
                    let stored_document = format!(
                        "({member}.type = 'text' AND substr(ltrim({member}.atom, char(32, 9, 10, 13)), 1, 1) IN ('{{', '[') AND json_valid({member}.atom))"
                    );
                    (
                        format!(
                            "(CASE WHEN {stored_document} THEN json_type({member}.atom) ELSE {member}.type END)"
                        ),
                        format!(
                            "(CASE WHEN {stored_document} THEN json({member}.atom) ELSE {member}.value END)"
                        ),
                        format!("(CASE WHEN {stored_document} THEN NULL ELSE {member}.atom END)"),
                    )
                } else {
                    (
                        format!("{member}.type"),
                        format!("{member}.value"),
                        format!("{member}.atom"),
                    )
                };
                // An array's elements at any depth are the `json_tree` nodes that are not arrays
                // and are reached through array indexes only (no `.key` in their path); any other
                // value stands for itself (the one-element '[0]' keeps the row).
                from.push_sql(format!(
                    ", json_tree(CASE WHEN {member_kind} = 'array' THEN {member_value} ELSE '[0]' END) AS {flat}"
                ));
                conditions.push(Fragment::sql(format!(
                    "({flat}.type <> 'array' AND instr({flat}.fullkey, '.') = 0)"
                )));
                let pick = |from_array: &str, own: &str| {
                    format!(
                        "(CASE WHEN {member_kind} = 'array' THEN {flat}.{from_array} ELSE {own} END)"
                    )
                };
                let kind = pick("type", &member_kind);
                let value = pick("value", &member_value);
                let atom = pick("atom", &member_atom);
                node = Some((kind.clone(), value.clone()));
                element = Some(Element::Sqlite { kind, atom, value });
            }
        }
        Source {
            from,
            conditions,
            element: element.unwrap_or_else(|| self.missing_element()),
        }
    }

    /// An element that never exists (for paths the checker already rejects).
    fn missing_element(&self) -> Element {
        if self.postgres() {
            Element::Postgres {
                value: "CAST(NULL AS jsonb)".to_string(),
            }
        } else {
            Element::Sqlite {
                kind: "NULL".to_string(),
                atom: "NULL".to_string(),
                value: "NULL".to_string(),
            }
        }
    }

    fn tags_source(&mut self, field: Option<&str>) -> Source {
        let tag = self.alias("t");
        let field = field.unwrap_or("key").to_ascii_lowercase();
        if self.postgres() {
            let value = match field.as_str() {
                "value" => format!("to_jsonb({tag}.value)"),
                "tag" => format!("to_jsonb({tag}.key || '=' || {tag}.value)"),
                _ => format!("to_jsonb({tag}.key)"),
            };
            Source {
                from: Fragment::sql(format!("jsonb_each_text(CAST(i.tags AS jsonb)) AS {tag}")),
                conditions: Vec::new(),
                element: Element::Postgres { value },
            }
        } else {
            let (kind, atom) = match field.as_str() {
                "value" => (format!("{tag}.type"), format!("{tag}.atom")),
                "tag" => (
                    "'text'".to_string(),
                    format!("({tag}.key || '=' || {tag}.atom)"),
                ),
                _ => ("'text'".to_string(), format!("{tag}.key")),
            };
            Source {
                from: Fragment::sql(format!("json_each(i.tags) AS {tag}")),
                conditions: Vec::new(),
                element: Element::Sqlite {
                    kind,
                    value: atom.clone(),
                    atom,
                },
            }
        }
    }

    fn relationships_source(&mut self, field: Option<&str>) -> Source {
        let relationship = self.alias("r");
        let field = field
            .and_then(|field| {
                RELATIONSHIP_FIELDS
                    .into_iter()
                    .find(|known| known.eq_ignore_ascii_case(field))
            })
            .unwrap_or("resourceId");
        if self.postgres() {
            Source {
                from: Fragment::sql(format!(
                    "jsonb_array_elements(CAST(i.relationships AS jsonb)) AS {relationship}"
                )),
                conditions: Vec::new(),
                element: Element::Postgres {
                    value: format!(
                        "(CASE WHEN jsonb_typeof({relationship}.value) = 'object' THEN {relationship}.value -> '{field}' END)"
                    ),
                },
            }
        } else {
            let object =
                format!("(CASE WHEN {relationship}.type = 'object' THEN {relationship}.value END)");
            Source {
                from: Fragment::sql(format!("json_each(i.relationships) AS {relationship}")),
                conditions: Vec::new(),
                element: Element::Sqlite {
                    kind: format!("json_type({object}, '$.{field}')"),
                    atom: format!("json_extract({object}, '$.{field}')"),
                    value: format!("json_extract({object}, '$.{field}')"),
                },
            }
        }
    }

    /// `LEFT JOIN` of the distinct values of a property as (rank, number, text) triples: one row
    /// per value, or one row of NULLs when the item has none.
    fn distinct_values_join(
        &mut self,
        root: DocumentRoot,
        path: &[String],
        alias: &str,
    ) -> Fragment {
        let source = self.source(root, path);
        let (rank, number, text) = self.triple(&source.element, 9);
        let mut conditions = source.conditions.clone();
        conditions.push(self.is_value(&source.element));
        if self.postgres() {
            cat(&[
                Fragment::sql(format!(
                    " LEFT JOIN LATERAL (SELECT DISTINCT {rank} AS r, {number} AS n, {text} AS t FROM "
                )),
                source.from,
                Fragment::sql(" WHERE "),
                Fragment::joined(&conditions, " AND ", "TRUE"),
                Fragment::sql(format!(") AS {alias} ON TRUE")),
            ])
        } else {
            cat(&[
                Fragment::sql(format!(
                    " LEFT JOIN json_each((SELECT json_group_array(DISTINCT json_array({rank}, {number}, {text})) FROM "
                )),
                source.from,
                Fragment::sql(" WHERE "),
                Fragment::joined(&conditions, " AND ", "TRUE"),
                Fragment::sql(format!(")) AS {alias} ON 1")),
            ])
        }
    }

    /// `LEFT JOIN` of the smallest (or, descending, largest) value of a property as a triple.
    fn first_value_join(
        &mut self,
        root: DocumentRoot,
        path: &[String],
        alias: &str,
        descending: bool,
    ) -> Fragment {
        let source = self.source(root, path);
        let (rank, number, text) = self.triple(&source.element, 9);
        let direction = if descending { "DESC" } else { "ASC" };
        let mut conditions = source.conditions.clone();
        conditions.push(self.is_value(&source.element));
        if self.postgres() {
            cat(&[
                Fragment::sql(format!(
                    " LEFT JOIN LATERAL (SELECT {rank} AS r, {number} AS n, {text} AS t FROM "
                )),
                source.from,
                Fragment::sql(" WHERE "),
                Fragment::joined(&conditions, " AND ", "TRUE"),
                Fragment::sql(format!(
                    " ORDER BY 1 {direction}, 2 {direction}, 3 {direction} LIMIT 1) AS {alias} ON TRUE"
                )),
            ])
        } else {
            cat(&[
                Fragment::sql(format!(
                    " LEFT JOIN json_each((SELECT json_array(json_array({rank}, {number}, {text})) FROM "
                )),
                source.from,
                Fragment::sql(" WHERE "),
                Fragment::joined(&conditions, " AND ", "TRUE"),
                Fragment::sql(format!(
                    " ORDER BY {rank} {direction}, {number} {direction}, {text} {direction} LIMIT 1)) AS {alias} ON 1"
                )),
            ])
        }
    }

    /// The (rank, number, text) columns of a joined triple; rank 0 means "no value".
    fn joined_triple(&self, alias: &str) -> (Fragment, Fragment, Fragment) {
        if self.postgres() {
            (
                Fragment::sql(format!("COALESCE({alias}.r, 0)")),
                Fragment::sql(format!("COALESCE({alias}.n, 0)")),
                Fragment::sql(format!("COALESCE({alias}.t, '')")),
            )
        } else {
            (
                Fragment::sql(format!("COALESCE(json_extract({alias}.value, '$[0]'), 0)")),
                Fragment::sql(format!(
                    "COALESCE(json_extract({alias}.value, '$[1]'), 0.0)"
                )),
                Fragment::sql(format!("COALESCE(json_extract({alias}.value, '$[2]'), '')")),
            )
        }
    }

    /// Sort columns of a JSON value joined under `alias` (plain queries).
    fn json_sort(&self, alias: &str, descending: bool) -> Vec<SortColumn> {
        let (rank, number, text) = self.joined_triple(alias);
        let rank = Fragment::sql(format!(
            "(CASE WHEN {} = 0 THEN {} ELSE {} END)",
            render_sql(&rank),
            if descending { 0 } else { 9 },
            render_sql(&rank)
        ));
        vec![
            SortColumn {
                expression: rank,
                column_type: ColumnType::Integer,
                descending,
            },
            SortColumn {
                expression: number,
                column_type: ColumnType::Real,
                descending,
            },
            SortColumn {
                expression: text,
                column_type: ColumnType::Text,
                descending,
            },
        ]
    }

    /// Sort columns of a triple already in columns (grouped queries); a missing value sorts last.
    fn triple_sort(
        &self,
        rank: &str,
        number: &str,
        text: &str,
        descending: bool,
    ) -> Vec<SortColumn> {
        vec![
            SortColumn {
                expression: Fragment::sql(format!(
                    "(CASE WHEN {rank} = 0 THEN {} ELSE {rank} END)",
                    if descending { 0 } else { 9 }
                )),
                column_type: ColumnType::Integer,
                descending,
            },
            SortColumn {
                expression: Fragment::sql(number),
                column_type: ColumnType::Real,
                descending,
            },
            SortColumn {
                expression: Fragment::sql(text),
                column_type: ColumnType::Text,
                descending,
            },
        ]
    }

    // ----- element expressions -----

    /// The (rank, number, text) of an element; `missing_rank` for no value.
    fn triple(&self, element: &Element, missing_rank: i64) -> (String, String, String) {
        match element {
            Element::Sqlite { kind, atom, value } => (
                format!(
                    "(CASE WHEN {kind} IN ('integer', 'real') THEN 1 WHEN {kind} = 'text' THEN 2 WHEN {kind} IN ('true', 'false') THEN 3 WHEN {kind} IN ('object', 'array') THEN 4 ELSE {missing_rank} END)"
                ),
                format!(
                    "(CASE WHEN {kind} IN ('integer', 'real') THEN CAST({atom} AS REAL) ELSE 0.0 END)"
                ),
                format!(
                    "(CASE WHEN {kind} = 'text' THEN {atom} WHEN {kind} IN ('integer', 'real') THEN CAST({atom} AS TEXT) WHEN {kind} IN ('true', 'false') THEN {kind} WHEN {kind} IN ('object', 'array') THEN {value} ELSE '' END)"
                ),
            ),
            Element::Postgres { value } => (
                format!(
                    "(CASE jsonb_typeof({value}) WHEN 'number' THEN 1 WHEN 'string' THEN 2 WHEN 'boolean' THEN 3 WHEN 'object' THEN 4 WHEN 'array' THEN 4 ELSE {missing_rank} END)"
                ),
                format!(
                    "(CASE WHEN jsonb_typeof({value}) = 'number' THEN CAST({value} #>> '{{}}' AS DOUBLE PRECISION) ELSE 0 END)"
                ),
                format!(
                    "(CASE WHEN jsonb_typeof({value}) IN ('string', 'number', 'boolean') THEN {value} #>> '{{}}' WHEN jsonb_typeof({value}) IN ('object', 'array') THEN CAST({value} AS TEXT) ELSE '' END)"
                ),
            ),
        }
    }

    fn is_value(&self, element: &Element) -> Fragment {
        Fragment::sql(match element {
            Element::Sqlite { kind, .. } => format!("({kind} IS NOT NULL AND {kind} <> 'null')"),
            Element::Postgres { value } => {
                format!("COALESCE(jsonb_typeof({value}) <> 'null', FALSE)")
            }
        })
    }

    fn is_number(&self, element: &Element) -> Fragment {
        Fragment::sql(match element {
            Element::Sqlite { kind, .. } => format!("{kind} IN ('integer', 'real')"),
            Element::Postgres { value } => {
                format!("COALESCE(jsonb_typeof({value}) = 'number', FALSE)")
            }
        })
    }

    /// The element as a double, for numeric elements.
    fn number_of(&self, element: &Element) -> String {
        match element {
            Element::Sqlite { atom, .. } => format!("CAST({atom} AS REAL)"),
            Element::Postgres { value } => format!(
                "(CASE WHEN jsonb_typeof({value}) = 'number' THEN CAST({value} #>> '{{}}' AS DOUBLE PRECISION) END)"
            ),
        }
    }

    fn element_test(&self, element: &Element, test: &Test) -> Fragment {
        match test {
            Test::Compare(comparison, literal) => {
                self.element_compare(element, *comparison, literal)
            }
            Test::In(literals) => {
                let parts: Vec<Fragment> = literals
                    .iter()
                    .map(|literal| self.element_compare(element, Comparison::Equal, literal))
                    .collect();
                Fragment::joined(&parts, " OR ", "FALSE")
            }
            Test::Between(low, high) => cat(&[
                Fragment::sql("("),
                self.element_compare(element, Comparison::GreaterOrEqual, low),
                Fragment::sql(" AND "),
                self.element_compare(element, Comparison::LessOrEqual, high),
                Fragment::sql(")"),
            ]),
            Test::Like(pattern) => {
                let (is_string, text) = self.element_text(element);
                cat(&[
                    Fragment::sql(format!("({is_string} AND ")),
                    like_sql(&Fragment::sql(text), pattern),
                    Fragment::sql(")"),
                ])
            }
        }
    }

    /// (the element is a string, its text).
    fn element_text(&self, element: &Element) -> (String, String) {
        match element {
            Element::Sqlite { kind, atom, .. } => (format!("{kind} = 'text'"), atom.clone()),
            Element::Postgres { value } => (
                format!("jsonb_typeof({value}) = 'string'"),
                format!("({value} #>> '{{}}')"),
            ),
        }
    }

    /// Compares an element with a literal: strings with strings, numbers with numbers, booleans
    /// with booleans; a numeric string also matches numbers, a number's text and `'true'`/`'false'`
    /// also match equal strings and booleans.
    fn element_compare(
        &self,
        element: &Element,
        comparison: Comparison,
        literal: &Literal,
    ) -> Fragment {
        let operator = comparison.sql();
        let mut parts = Vec::new();
        let (is_string, text) = self.element_text(element);
        let string_test = |value: &str| {
            cat(&[
                Fragment::sql(format!("({is_string} AND {text} {operator} ")),
                Fragment::value(value),
                Fragment::sql(")"),
            ])
        };
        let number_test = |value: f64| match element {
            Element::Sqlite { kind, atom, .. } => cat(&[
                Fragment::sql(format!(
                    "({kind} IN ('integer', 'real') AND {atom} {operator} "
                )),
                Fragment::value(value),
                Fragment::sql(")"),
            ]),
            Element::Postgres { value: json } => cat(&[
                Fragment::sql(format!(
                    "(CASE WHEN jsonb_typeof({json}) = 'number' THEN CAST({json} #>> '{{}}' AS DOUBLE PRECISION) {operator} "
                )),
                Fragment::value(value),
                Fragment::sql(" ELSE FALSE END)"),
            ]),
        };
        let boolean_test = |value: bool| {
            Fragment::sql(match element {
                Element::Sqlite { kind, .. } => format!("{kind} = '{value}'"),
                Element::Postgres { value: json } => {
                    format!("COALESCE({json} = '{value}'::jsonb, FALSE)")
                }
            })
        };
        match literal {
            Literal::String(value) => {
                parts.push(string_test(value));
                if let Some(number) = numeric_text(value) {
                    parts.push(number_test(number));
                }
                if comparison.is_equality() && (value == "true" || value == "false") {
                    parts.push(boolean_test(value == "true"));
                }
            }
            Literal::Number {
                value,
                text: written,
            } => {
                parts.push(number_test(*value));
                if comparison.is_equality() {
                    parts.push(string_test(written));
                }
            }
            Literal::Boolean(value) => {
                parts.push(boolean_test(*value));
                parts.push(string_test(&value.to_string()));
            }
        }
        Fragment::joined(&parts, " OR ", "FALSE")
    }
}

/// The text of a fragment without values (used for compiler-written expressions only).
fn render_sql(fragment: &Fragment) -> String {
    fragment.render(DatabaseBackend::Sqlite).sql
}

/// The number a string literal holds, when it is written like a JSON number.
fn numeric_text(text: &str) -> Option<f64> {
    let looks_numeric = !text.is_empty()
        && text
            .chars()
            .all(|character| character.is_ascii_digit() || "+-.eE".contains(character))
        && text.chars().any(|character| character.is_ascii_digit());
    looks_numeric
        .then(|| text.parse::<f64>().ok())
        .flatten()
        .filter(|value| value.is_finite())
}

/// `LIKE 'prefix%'` as a prefix and length test (the same on both backends, case-sensitive).
fn like_sql(text: &Fragment, pattern: &LikePattern) -> Fragment {
    let prefix_length = pattern.prefix.chars().count();
    let length_test = if pattern.open_ended { ">=" } else { "=" };
    cat(&[
        Fragment::sql("(substr("),
        text.clone(),
        Fragment::sql(format!(", 1, {prefix_length}) = ")),
        Fragment::value(pattern.prefix.as_str()),
        Fragment::sql(" AND length("),
        text.clone(),
        Fragment::sql(format!(") {length_test} {})", pattern.minimum_length())),
    ])
}

fn document_column(root: DocumentRoot) -> &'static str {
    match root {
        DocumentRoot::Configuration => "configuration",
        DocumentRoot::SupplementaryConfiguration => "supplementary_configuration",
        DocumentRoot::Tags => "tags",
        DocumentRoot::Relationships => "relationships",
    }
}

/// Fields stored as '' when absent.
fn is_optional(field: Field) -> bool {
    matches!(
        field,
        Field::Arn | Field::AvailabilityZone | Field::ResourceName
    )
}

fn field_column_type(field: Field) -> ColumnType {
    match field.value_type() {
        FieldType::String => ColumnType::Text,
        FieldType::Time | FieldType::Integer => ColumnType::Integer,
    }
}

fn same_aggregate(left: &Aggregate, right: &Aggregate) -> bool {
    left.function == right.function
        && match (&left.argument, &right.argument) {
            (None, None) => true,
            (Some(left), Some(right)) => same_path(&left.segments, &right.segments),
            _ => false,
        }
}

/// Sort columns of an aggregate column `q.a{index}`; NULL (no values) sorts last.
fn aggregate_sort(column: &AggregateColumn, index: usize, descending: bool) -> Vec<SortColumn> {
    let name = format!("q.a{index}");
    if column.column_type == ColumnType::Integer && column.field.is_none() {
        return vec![SortColumn {
            expression: Fragment::sql(name),
            column_type: ColumnType::Integer,
            descending,
        }];
    }
    let (missing, present) = if descending { (0, 1) } else { (1, 0) };
    let empty = if column.column_type == ColumnType::Text {
        "''"
    } else {
        "0"
    };
    vec![
        SortColumn {
            expression: Fragment::sql(format!(
                "(CASE WHEN {name} IS NULL THEN {missing} ELSE {present} END)"
            )),
            column_type: ColumnType::Integer,
            descending,
        },
        SortColumn {
            expression: Fragment::sql(format!("COALESCE({name}, {empty})")),
            column_type: column.column_type,
            descending,
        },
    ]
}

fn order_by(sort: &[SortColumn]) -> Fragment {
    let parts: Vec<Fragment> = sort
        .iter()
        .map(|column| {
            cat(&[
                column.expression.clone(),
                Fragment::sql(if column.descending { " DESC" } else { " ASC" }),
            ])
        })
        .collect();
    let mut fragment = Fragment::new();
    fragment.push_joined(&parts, ", ");
    fragment
}

/// "Strictly after `position`" over the sort columns: `(c1 beyond v1) OR (c1 = v1 AND (...))`.
fn keyset(sort: &[SortColumn], position: &[KeyValue]) -> Result<Fragment, PositionMismatch> {
    if position.len() != sort.len()
        || sort
            .iter()
            .zip(position)
            .any(|(column, value)| !value.has_type(column.column_type))
    {
        return Err(PositionMismatch);
    }
    let mut condition: Option<Fragment> = None;
    for (column, value) in sort.iter().zip(position).rev() {
        let beyond = cat(&[
            column.expression.clone(),
            Fragment::sql(if column.descending { " < " } else { " > " }),
            Fragment::value(value.to_value()),
        ]);
        condition = Some(match condition {
            None => beyond,
            Some(rest) => cat(&[
                Fragment::sql("("),
                beyond,
                Fragment::sql(" OR ("),
                column.expression.clone(),
                Fragment::sql(" = "),
                Fragment::value(value.to_value()),
                Fragment::sql(" AND "),
                rest,
                Fragment::sql("))"),
            ]),
        });
    }
    Ok(condition.unwrap_or_else(|| Fragment::sql("TRUE")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::parse::parse;

    fn scope() -> QueryScope {
        QueryScope {
            owner_account_id: "111111111111".into(),
            home_region: "us-east-1".into(),
            aggregator_name: "main".into(),
            resource_types: None,
        }
    }

    fn sql(expression: &str, backend: DatabaseBackend) -> sea_orm::Statement {
        let query = parse(expression).unwrap();
        compile(&query, &scope(), backend, None, 25)
            .unwrap()
            .statement
            .render(backend)
    }

    #[test]
    fn user_text_is_bound_never_pasted() {
        let hostile = "x') OR 1=1 --";
        for backend in [DatabaseBackend::Sqlite, DatabaseBackend::Postgres] {
            let statement = sql(
                &format!(
                    "SELECT resourceId WHERE resourceId = '{0}' AND configuration.a.b = '{0}' AND tags.tag LIKE '{0}%' AND configuration.\"{0}\" = 1",
                    hostile.replace('\'', "''")
                ),
                backend,
            );
            assert!(!statement.sql.contains("OR 1=1"), "{}", statement.sql);
            let values = statement.values.unwrap().0;
            assert!(values.contains(&Value::String(Some(hostile.to_string()))));
        }
    }

    #[test]
    fn scope_and_visibility_are_always_applied() {
        let statement = sql("SELECT resourceId", DatabaseBackend::Postgres);
        assert!(statement.sql.contains("JOIN aggregator_entitlements AS e"));
        assert!(statement.sql.contains("i.deleted = $5"));
        let values = statement.values.unwrap().0;
        assert_eq!(values[0], Value::String(Some("111111111111".into())));
        assert_eq!(values[3], Value::String(Some("AUTHORIZED".into())));
    }

    #[test]
    fn positions_must_fit_the_sort_columns() {
        let query = parse("SELECT resourceId ORDER BY configuration.size DESC").unwrap();
        let compiled = compile(&query, &scope(), DatabaseBackend::Sqlite, None, 25).unwrap();
        assert_eq!(compiled.sort_types.len(), 7);
        let wrong = [KeyValue::I(1)];
        assert!(compile(&query, &scope(), DatabaseBackend::Sqlite, Some(&wrong), 25).is_err());
    }

    proptest::proptest! {
        #[test]
        fn literal_text_is_always_bound(text in "[^']{0,40}") {
            // The marker never occurs in compiler-written SQL, so finding it means pasted text.
            let text = format!("\u{a7}{text}");
            let expression = format!(
                "SELECT resourceId WHERE resourceId = '{text}' OR configuration.x = '{text}' OR tags.value IN ('{text}')"
            );
            for backend in [DatabaseBackend::Sqlite, DatabaseBackend::Postgres] {
                let statement = sql(&expression, backend);
                proptest::prop_assert!(!statement.sql.contains('\u{a7}'), "{}", statement.sql);
                let values = statement.values.unwrap().0;
                proptest::prop_assert!(values.contains(&Value::String(Some(text.clone()))));
            }
        }
    }

    #[test]
    fn numeric_strings() {
        assert_eq!(numeric_text("80"), Some(80.0));
        assert_eq!(numeric_text("-1.5e2"), Some(-150.0));
        assert_eq!(numeric_text("inf"), None);
        assert_eq!(numeric_text("1-2"), None);
        assert_eq!(numeric_text("t3.micro"), None);
    }
}
