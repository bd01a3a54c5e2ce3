//! Parses an advanced query with `sqlparser` and checks it against the supported subset (AWS
//! Config's advanced query language), producing our own [`Query`]. Every rejection names the
//! construct and, where the parser knows it, its line and column.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use sqlparser::{
    ast::{
        self, BinaryOperator, Expr, FunctionArg, FunctionArgExpr, FunctionArguments, GroupByExpr,
        OrderByKind, SelectFlavor, SelectItem as SqlSelectItem, SetExpr, Spanned, Statement,
        UnaryOperator, Value,
    },
    dialect::GenericDialect,
    keywords::Keyword,
    parser::{Parser, ParserError},
    tokenizer::{Span, Token, Tokenizer},
};

use super::ast::{
    Aggregate, AggregateFunction, Comparison, Condition, DocumentRoot, Field, FieldType,
    LikePattern, Literal, OrderItem, OrderKey, Predicate, Property, PropertyKind, Query,
    RELATIONSHIP_FIELDS, SelectItem, SelectKind, TAG_FIELDS, Test,
};

/// The longest expression accepted, in characters.
pub const MAX_EXPRESSION_LENGTH: usize = 4096;
/// The most GROUP BY properties.
pub const MAX_GROUP_BY: usize = 3;
/// The shortest literal prefix of a LIKE pattern.
pub const MIN_LIKE_PREFIX: usize = 3;

/// Why an expression was rejected; becomes `InvalidExpressionException`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidExpression(pub String);

impl std::fmt::Display for InvalidExpression {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(&self.0)
    }
}

type Checked<T> = Result<T, InvalidExpression>;

fn reject<T>(message: impl Into<String>) -> Checked<T> {
    Err(InvalidExpression(message.into()))
}

/// " at line L, column C", or nothing when the parser does not know where.
fn at(span: Span) -> String {
    if span.start.line == 0 {
        String::new()
    } else {
        format!(" at line {}, column {}", span.start.line, span.start.column)
    }
}

/// Keywords of SQL that the language does not have, with what to say about them. The AWS list
/// (ALL, AS, DISTINCT, FROM, HAVING, JOIN, UNION; NULL comparisons) comes first.
fn unsupported_keyword(keyword: Keyword) -> Option<&'static str> {
    Some(match keyword {
        Keyword::ALL => "ALL is not supported",
        Keyword::AS => "AS (aliases) is not supported",
        Keyword::DISTINCT => "DISTINCT is not supported",
        Keyword::FROM => {
            "FROM is not supported: a query always reads the aggregator's configuration items"
        }
        Keyword::HAVING => "HAVING is not supported",
        Keyword::JOIN => "JOIN is not supported",
        Keyword::UNION => "UNION is not supported",
        Keyword::NULL | Keyword::IS => "NULL comparisons are not supported",
        Keyword::INTERSECT | Keyword::EXCEPT => "set operations are not supported",
        Keyword::LIMIT | Keyword::OFFSET | Keyword::FETCH | Keyword::TOP => {
            "LIMIT is not supported: use the page size"
        }
        Keyword::WITH => "WITH is not supported",
        Keyword::CASE => "CASE is not supported",
        Keyword::CAST => "CAST is not supported",
        Keyword::EXISTS => "EXISTS (subqueries) is not supported",
        Keyword::OVER | Keyword::WINDOW | Keyword::QUALIFY => "window functions are not supported",
        Keyword::ILIKE | Keyword::SIMILAR | Keyword::REGEXP | Keyword::RLIKE => {
            "only LIKE is supported for patterns"
        }
        Keyword::ESCAPE => "LIKE ... ESCAPE is not supported",
        Keyword::INTO => "INTO is not supported",
        _ => return None,
    })
}

/// Parses and checks `expression`.
pub fn parse(expression: &str) -> Checked<Query> {
    let length = expression.chars().count();
    if expression.trim().is_empty() {
        return reject(
            "the expression is empty; write a SELECT such as SELECT resourceId WHERE resourceType = 'AWS::EC2::Instance'",
        );
    }
    if length > MAX_EXPRESSION_LENGTH {
        return reject(format!(
            "the expression has {length} characters; at most {MAX_EXPRESSION_LENGTH} are allowed"
        ));
    }
    let dialect = GenericDialect {};
    let tokens = Tokenizer::new(&dialect, expression)
        .tokenize_with_location()
        .map_err(|error| {
            InvalidExpression(format!(
                "syntax error: {} at line {}, column {}",
                error.message, error.location.line, error.location.column
            ))
        })?;
    scan_keywords(&tokens)?;
    let statements = Parser::parse_sql(&dialect, expression).map_err(|error| {
        InvalidExpression(match error {
            ParserError::RecursionLimitExceeded => {
                "the expression nests too deeply; use fewer parentheses".to_string()
            }
            ParserError::TokenizerError(message) | ParserError::ParserError(message) => {
                format!("syntax error: {message}")
            }
        })
    })?;
    let [statement] = statements.as_slice() else {
        return reject(format!(
            "the expression must be exactly one SELECT, found {} statements",
            statements.len()
        ));
    };
    let Statement::Query(query) = statement else {
        return reject(format!("only SELECT is supported{}", at(statement.span())));
    };
    convert_query(query)
}

/// Rejects keywords the language does not have before parsing, so the message names the construct
/// and its exact position. A word right after `.` is a path segment, and quoted words are
/// identifiers; neither counts.
fn scan_keywords(tokens: &[sqlparser::tokenizer::TokenWithSpan]) -> Checked<()> {
    let mut previous: Option<&Token> = None;
    for token in tokens {
        if matches!(token.token, Token::Whitespace(_)) {
            continue;
        }
        if let Token::Word(word) = &token.token
            && word.quote_style.is_none()
            && !matches!(previous, Some(Token::Period))
            && let Some(message) = unsupported_keyword(word.keyword)
        {
            return reject(format!("{message} (`{}`{})", word.value, at(token.span)));
        }
        if matches!(token.token, Token::SemiColon) {
            // A trailing semicolon is harmless; a second statement is rejected after parsing.
        }
        previous = Some(&token.token);
    }
    Ok(())
}

fn convert_query(query: &ast::Query) -> Checked<Query> {
    let position = at(query.span());
    if query.with.is_some() {
        return reject(format!("WITH is not supported{position}"));
    }
    if query.limit_clause.is_some() || query.fetch.is_some() {
        return reject(format!(
            "LIMIT is not supported: use the page size{position}"
        ));
    }
    if !query.locks.is_empty()
        || query.for_clause.is_some()
        || query.settings.is_some()
        || query.format_clause.is_some()
        || !query.pipe_operators.is_empty()
    {
        return reject(format!(
            "only SELECT [WHERE] [GROUP BY] [ORDER BY] is supported{position}"
        ));
    }
    let select = match query.body.as_ref() {
        SetExpr::Select(select) => select,
        SetExpr::SetOperation { .. } => {
            return reject(format!(
                "set operations (UNION ...) are not supported{position}"
            ));
        }
        SetExpr::Query(_) => return reject(format!("subqueries are not supported{position}")),
        _ => return reject(format!("only SELECT is supported{position}")),
    };
    let select_position = at(select.span());
    if select.distinct.is_some() {
        return reject(format!("DISTINCT is not supported{select_position}"));
    }
    if !select.from.is_empty() {
        return reject(format!(
            "FROM is not supported: a query always reads the aggregator's configuration items{}",
            at(select.from[0].relation.span())
        ));
    }
    if select.having.is_some() {
        return reject(format!("HAVING is not supported{select_position}"));
    }
    if select.top.is_some()
        || select.select_modifiers.is_some()
        || select.exclude.is_some()
        || select.into.is_some()
        || !select.lateral_views.is_empty()
        || select.prewhere.is_some()
        || !select.connect_by.is_empty()
        || !select.cluster_by.is_empty()
        || !select.distribute_by.is_empty()
        || !select.sort_by.is_empty()
        || !select.named_window.is_empty()
        || select.qualify.is_some()
        || select.value_table_mode.is_some()
        || !select.optimizer_hints.is_empty()
        || select.flavor != SelectFlavor::Standard
    {
        return reject(format!(
            "only SELECT [WHERE] [GROUP BY] [ORDER BY] is supported{select_position}"
        ));
    }

    let mut items = Vec::with_capacity(select.projection.len());
    for item in &select.projection {
        items.push(convert_select_item(item)?);
    }
    let filter = select
        .selection
        .as_ref()
        .map(convert_condition)
        .transpose()?;
    let group_by = match &select.group_by {
        GroupByExpr::Expressions(expressions, modifiers) => {
            if !modifiers.is_empty() {
                return reject(format!(
                    "GROUP BY modifiers (ROLLUP, CUBE, ...) are not supported{select_position}"
                ));
            }
            expressions
                .iter()
                .map(|expression| {
                    let property = convert_property(expression, "GROUP BY")?;
                    usable(&property, "GROUP BY", expression.span())?;
                    Ok(property)
                })
                .collect::<Checked<Vec<_>>>()?
        }
        GroupByExpr::All(_) => {
            return reject(format!("GROUP BY ALL is not supported{select_position}"));
        }
    };
    let order_by = match &query.order_by {
        None => Vec::new(),
        Some(order_by) => {
            if order_by.interpolate.is_some() {
                return reject(format!("INTERPOLATE is not supported{position}"));
            }
            match &order_by.kind {
                OrderByKind::All(_) => {
                    return reject(format!("ORDER BY ALL is not supported{position}"));
                }
                OrderByKind::Expressions(expressions) => expressions
                    .iter()
                    .map(convert_order_item)
                    .collect::<Checked<Vec<_>>>()?,
            }
        }
    };
    let query = Query {
        select: items,
        filter,
        group_by,
        order_by,
    };
    check_query(&query)?;
    Ok(query)
}

fn convert_select_item(item: &SqlSelectItem) -> Checked<SelectItem> {
    match item {
        SqlSelectItem::Wildcard(options) => {
            if options.opt_ilike.is_some()
                || options.opt_exclude.is_some()
                || options.opt_except.is_some()
                || options.opt_replace.is_some()
                || options.opt_rename.is_some()
                || options.opt_alias.is_some()
            {
                return reject(format!("only a plain * is supported{}", at(item.span())));
            }
            Ok(SelectItem {
                name: "*".to_string(),
                kind: SelectKind::All,
            })
        }
        SqlSelectItem::QualifiedWildcard(..) => {
            reject(format!("only a plain * is supported{}", at(item.span())))
        }
        SqlSelectItem::ExprWithAlias { .. } | SqlSelectItem::ExprWithAliases { .. } => {
            reject(format!("aliases are not supported{}", at(item.span())))
        }
        SqlSelectItem::UnnamedExpr(expression) => match expression {
            Expr::Function(_) => {
                let aggregate = convert_aggregate(expression)?;
                Ok(SelectItem {
                    name: aggregate.name.clone(),
                    kind: SelectKind::Aggregate(aggregate),
                })
            }
            _ => {
                let property = convert_property(expression, "SELECT")?;
                Ok(SelectItem {
                    name: property.written.clone(),
                    kind: SelectKind::Property(property),
                })
            }
        },
    }
}

fn convert_order_item(item: &ast::OrderByExpr) -> Checked<OrderItem> {
    let position = at(item.span());
    if item.with_fill.is_some() {
        return reject(format!("WITH FILL is not supported{position}"));
    }
    if item.options.nulls_first.is_some() {
        return reject(format!("NULLS FIRST/LAST is not supported{position}"));
    }
    let descending = match &item.options.sort {
        None | Some(ast::OrderBySort::Asc) => false,
        Some(ast::OrderBySort::Desc) => true,
        Some(ast::OrderBySort::Using(_)) => {
            return reject(format!("ORDER BY ... USING is not supported{position}"));
        }
    };
    let key = match &item.expr {
        Expr::Function(_) => OrderKey::Aggregate(convert_aggregate(&item.expr)?),
        expression => {
            let property = convert_property(expression, "ORDER BY")?;
            usable(&property, "ORDER BY", expression.span())?;
            OrderKey::Property(property)
        }
    };
    Ok(OrderItem { key, descending })
}

/// Converts `COUNT(*)`, `SUM(configuration.size)`, ...
fn convert_aggregate(expression: &Expr) -> Checked<Aggregate> {
    let position = at(expression.span());
    let Expr::Function(function) = expression else {
        return reject(format!("expected an aggregate function{position}"));
    };
    let name = expression.to_string();
    let Some(aggregate_function) = function
        .name
        .0
        .as_slice()
        .first()
        .filter(|_| function.name.0.len() == 1)
        .and_then(|part| part.as_ident())
        .and_then(|ident| AggregateFunction::from_name(&ident.value))
    else {
        return reject(format!(
            "function {name} is not supported{position}; the only functions are the aggregates COUNT, SUM, AVG, MIN and MAX"
        ));
    };
    if function.uses_odbc_syntax
        || !matches!(function.parameters, FunctionArguments::None)
        || function.filter.is_some()
        || function.null_treatment.is_some()
        || function.over.is_some()
        || !function.within_group.is_empty()
    {
        return reject(format!(
            "{name}: only a plain aggregate call is supported{position}"
        ));
    }
    let FunctionArguments::List(arguments) = &function.args else {
        return reject(format!("{name} takes exactly one argument{position}"));
    };
    if arguments.duplicate_treatment.is_some() {
        return reject(format!(
            "DISTINCT and ALL inside aggregates are not supported{position}"
        ));
    }
    if !arguments.clauses.is_empty() {
        return reject(format!(
            "{name}: clauses inside aggregates are not supported{position}"
        ));
    }
    let [argument] = arguments.args.as_slice() else {
        return reject(format!(
            "aggregates take exactly one argument; {name} has {}{position}",
            arguments.args.len()
        ));
    };
    let argument = match argument {
        FunctionArg::Unnamed(FunctionArgExpr::Wildcard) => {
            if aggregate_function != AggregateFunction::Count {
                return reject(format!("only COUNT accepts *{position}"));
            }
            None
        }
        FunctionArg::Unnamed(FunctionArgExpr::Expr(argument)) => {
            if matches!(argument, Expr::Function(_)) {
                return reject(format!(
                    "functions nested inside aggregates are not supported{}",
                    at(argument.span())
                ));
            }
            let property = convert_property(argument, "an aggregate")?;
            usable(&property, "an aggregate", argument.span())?;
            if let PropertyKind::Field(field) = property.kind
                && matches!(
                    aggregate_function,
                    AggregateFunction::Sum | AggregateFunction::Avg
                )
                && field.value_type() != FieldType::Integer
            {
                return reject(format!("{name}: {} is not numeric{position}", field.name()));
            }
            Some(property)
        }
        _ => {
            return reject(format!(
                "{name}: the argument must be a property or *{position}"
            ));
        }
    };
    Ok(Aggregate {
        function: aggregate_function,
        argument,
        name,
    })
}

/// Resolves a property path (identifier or dotted identifier).
fn convert_property(expression: &Expr, context: &str) -> Checked<Property> {
    let position = at(expression.span());
    let segments: Vec<String> = match expression {
        Expr::Identifier(ident) => vec![ident.value.clone()],
        Expr::CompoundIdentifier(idents) => {
            idents.iter().map(|ident| ident.value.clone()).collect()
        }
        Expr::Value(_) | Expr::UnaryOp { .. } => {
            return reject(format!(
                "{context} expects a property, found the literal {expression}{position}"
            ));
        }
        Expr::Function(_) => {
            return reject(format!(
                "{context} does not accept the function {expression}{position}"
            ));
        }
        Expr::CompoundFieldAccess { .. } | Expr::JsonAccess { .. } => {
            return reject(format!(
                "array indexes are not supported ({expression}){position}; a condition on an array matches when any element does"
            ));
        }
        other => {
            return reject(format!(
                "{context} expects a property, found {}{position}",
                describe(other)
            ));
        }
    };
    resolve_property(segments)
        .map_err(|InvalidExpression(message)| InvalidExpression(format!("{message}{position}")))
}

/// Resolves the segments of a path against the configuration item's shape, ignoring case.
pub fn resolve_property(segments: Vec<String>) -> Checked<Property> {
    let written = segments.join(".");
    let Some(first) = segments.first() else {
        return reject("empty property");
    };
    if segments.iter().any(String::is_empty) {
        return reject(format!("property {written:?} has an empty segment"));
    }
    let kind = if let Some(field) = Field::from_name(first) {
        if segments.len() > 1 {
            return reject(format!(
                "{} is a scalar property; {written} does not exist",
                field.name()
            ));
        }
        PropertyKind::Field(field)
    } else if let Some((root, _)) = DocumentRoot::ALL
        .into_iter()
        .find(|(_, name)| name.eq_ignore_ascii_case(first))
    {
        let path = segments[1..].to_vec();
        let allowed: Option<&[&str]> = match root {
            DocumentRoot::Tags => Some(&TAG_FIELDS),
            DocumentRoot::Relationships => Some(&RELATIONSHIP_FIELDS),
            _ => None,
        };
        if let Some(allowed) = allowed
            && (path.len() > 1
                || path.first().is_some_and(|name| {
                    !allowed.iter().any(|known| known.eq_ignore_ascii_case(name))
                }))
        {
            return reject(format!(
                "{written} does not exist; {} has {}",
                root.name(),
                allowed
                    .iter()
                    .map(|name| format!("{}.{name}", root.name()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        PropertyKind::Document { root, path }
    } else {
        return reject(format!(
            "unknown property {written}; properties are {}, configuration.<path>, \
             supplementaryConfiguration.<name>.<path>, tags, tags.key, tags.value, tags.tag, \
             relationships.resourceId, relationships.resourceName, relationships.resourceType and \
             relationships.relationshipName",
            Field::ALL.map(Field::name).join(", ")
        ));
    };
    Ok(Property {
        written,
        segments,
        kind,
    })
}

/// Rejects properties a condition, group, order or aggregate cannot use.
fn usable(property: &Property, context: &str, span: Span) -> Checked<()> {
    if property.is_whole_document() {
        return reject(format!(
            "{context} needs a property inside {}, not the whole document{}",
            property.written,
            at(span)
        ));
    }
    if property.kind == PropertyKind::Field(Field::ResourceCreationTime) {
        return reject(format!(
            "resourceCreationTime can be selected but not used in {context}{}",
            at(span)
        ));
    }
    Ok(())
}

fn convert_condition(expression: &Expr) -> Checked<Condition> {
    let position = at(expression.span());
    match expression {
        Expr::Nested(inner) => convert_condition(inner),
        Expr::BinaryOp { left, op, right } => match op {
            BinaryOperator::And | BinaryOperator::Or => {
                let mut parts = Vec::new();
                flatten(expression, op, &mut parts);
                let conditions = parts
                    .into_iter()
                    .map(convert_condition)
                    .collect::<Checked<Vec<_>>>()?;
                Ok(if *op == BinaryOperator::And {
                    Condition::And(conditions)
                } else {
                    Condition::Or(conditions)
                })
            }
            BinaryOperator::Eq
            | BinaryOperator::NotEq
            | BinaryOperator::Lt
            | BinaryOperator::LtEq
            | BinaryOperator::Gt
            | BinaryOperator::GtEq => {
                let comparison = match op {
                    BinaryOperator::Lt => Comparison::Less,
                    BinaryOperator::LtEq => Comparison::LessOrEqual,
                    BinaryOperator::Gt => Comparison::Greater,
                    BinaryOperator::GtEq => Comparison::GreaterOrEqual,
                    _ => Comparison::Equal,
                };
                if is_literal(left) && !is_literal(right) {
                    return reject(format!("write the property on the left of {op}{position}"));
                }
                let property = convert_property(left, "a condition")?;
                let literal = convert_literal(right)?;
                let predicate =
                    predicate(property, Test::Compare(comparison, literal), left.span())?;
                Ok(if *op == BinaryOperator::NotEq {
                    Condition::Not(Box::new(predicate))
                } else {
                    predicate
                })
            }
            other => reject(format!(
                "the operator {other} is not supported{position}; conditions use =, !=, <>, <, <=, >, >=, IN, BETWEEN, LIKE, AND, OR and NOT"
            )),
        },
        Expr::UnaryOp {
            op: UnaryOperator::Not,
            expr,
        } => Ok(Condition::Not(Box::new(convert_condition(expr)?))),
        Expr::InList {
            expr,
            list,
            negated,
        } => {
            let property = convert_property(expr, "IN")?;
            let literals = list
                .iter()
                .map(convert_literal)
                .collect::<Checked<Vec<_>>>()?;
            negate(
                *negated,
                predicate(property, Test::In(literals), expr.span())?,
            )
        }
        Expr::Between {
            expr,
            negated,
            low,
            high,
        } => {
            let property = convert_property(expr, "BETWEEN")?;
            let test = Test::Between(convert_literal(low)?, convert_literal(high)?);
            negate(*negated, predicate(property, test, expr.span())?)
        }
        Expr::Like {
            negated,
            any,
            expr,
            pattern,
            escape_char,
        } => {
            if *any {
                return reject(format!("LIKE ANY is not supported{position}"));
            }
            if escape_char.is_some() {
                return reject(format!("LIKE ... ESCAPE is not supported{position}"));
            }
            let property = convert_property(expr, "LIKE")?;
            let Literal::String(text) = convert_literal(pattern)? else {
                return reject(format!(
                    "LIKE needs a quoted pattern such as 'abc%'{}",
                    at(pattern.span())
                ));
            };
            let like = like_pattern(&text).map_err(|InvalidExpression(message)| {
                InvalidExpression(format!("{message}{}", at(pattern.span())))
            })?;
            negate(
                *negated,
                predicate(property, Test::Like(like), expr.span())?,
            )
        }
        Expr::IsNull(_) | Expr::IsNotNull(_) => {
            reject(format!("NULL comparisons are not supported{position}"))
        }
        Expr::Identifier(_) | Expr::CompoundIdentifier(_) | Expr::Value(_) => reject(format!(
            "a condition compares a property with a literal, e.g. resourceType = 'AWS::EC2::Instance'; found {expression}{position}"
        )),
        other => reject(format!("{} is not supported{position}", describe(other))),
    }
}

fn negate(negated: bool, condition: Condition) -> Checked<Condition> {
    Ok(if negated {
        Condition::Not(Box::new(condition))
    } else {
        condition
    })
}

/// Collects the operands of a chain of the same AND/OR operator.
fn flatten<'a>(expression: &'a Expr, operator: &BinaryOperator, parts: &mut Vec<&'a Expr>) {
    match expression {
        Expr::BinaryOp { left, op, right } if op == operator => {
            flatten(left, operator, parts);
            flatten(right, operator, parts);
        }
        other => parts.push(other),
    }
}

fn is_literal(expression: &Expr) -> bool {
    matches!(expression, Expr::Value(_))
        || matches!(expression, Expr::UnaryOp { op: UnaryOperator::Minus | UnaryOperator::Plus, expr } if matches!(expr.as_ref(), Expr::Value(_)))
}

/// Builds a predicate after checking the test suits the property.
fn predicate(property: Property, test: Test, span: Span) -> Checked<Condition> {
    usable(&property, "a condition", span)?;
    let position = at(span);
    let literals: Vec<&Literal> = match &test {
        Test::Compare(_, literal) => vec![literal],
        Test::In(literals) => literals.iter().collect(),
        Test::Between(low, high) => vec![low, high],
        Test::Like(_) => Vec::new(),
    };
    let ordered = matches!(
        test,
        Test::Between(..)
            | Test::Compare(
                Comparison::Less
                    | Comparison::LessOrEqual
                    | Comparison::Greater
                    | Comparison::GreaterOrEqual,
                _
            )
    );
    if ordered
        && literals
            .iter()
            .any(|literal| matches!(literal, Literal::Boolean(_)))
    {
        return reject(format!(
            "true and false only compare with =, != and IN{position}"
        ));
    }
    if let PropertyKind::Field(field) = property.kind {
        match field.value_type() {
            FieldType::String => {
                if literals
                    .iter()
                    .any(|literal| matches!(literal, Literal::Boolean(_)))
                {
                    return reject(format!(
                        "{} is a string; compare it with a quoted string{position}",
                        field.name()
                    ));
                }
            }
            FieldType::Time => {
                if matches!(test, Test::Like(_)) {
                    return reject(format!(
                        "{} is a time; LIKE applies to strings{position}",
                        field.name()
                    ));
                }
                for literal in &literals {
                    if time_micros(literal).is_none() {
                        return reject(format!(
                            "{} is a time; compare it with an ISO 8601 string such as '2024-05-01' or '2024-05-01T12:00:00Z', not {}{position}",
                            field.name(),
                            literal.text()
                        ));
                    }
                }
            }
            FieldType::Integer => {
                if matches!(test, Test::Like(_)) {
                    return reject(format!(
                        "{} is a number; LIKE applies to strings{position}",
                        field.name()
                    ));
                }
                for literal in &literals {
                    if integer_value(literal).is_none() {
                        return reject(format!(
                            "{} is a whole number; compare it with one, not {}{position}",
                            field.name(),
                            literal.text()
                        ));
                    }
                }
            }
        }
    }
    Ok(Condition::Predicate(Predicate { property, test }))
}

fn convert_literal(expression: &Expr) -> Checked<Literal> {
    let position = at(expression.span());
    match expression {
        Expr::Value(value) => match &value.value {
            Value::SingleQuotedString(text) => Ok(Literal::String(text.clone())),
            Value::Number(text, _) => number(text, &position),
            Value::Boolean(value) => Ok(Literal::Boolean(*value)),
            Value::Null => reject(format!("NULL comparisons are not supported{position}")),
            other => reject(format!(
                "the literal {other} is not supported{position}; literals are 'single-quoted strings', numbers, true and false"
            )),
        },
        Expr::UnaryOp {
            op: op @ (UnaryOperator::Minus | UnaryOperator::Plus),
            expr,
        } => match expr.as_ref() {
            Expr::Value(value) => match &value.value {
                Value::Number(text, _) => {
                    let text = if *op == UnaryOperator::Minus {
                        format!("-{text}")
                    } else {
                        text.clone()
                    };
                    number(&text, &position)
                }
                _ => reject(format!("expected a number after {op}{position}")),
            },
            _ => reject(format!("arithmetic is not supported{position}")),
        },
        Expr::Identifier(_) | Expr::CompoundIdentifier(_) => reject(format!(
            "expected a literal, found the property {expression}{position}; strings are written in single quotes"
        )),
        other => reject(format!(
            "expected a literal, found {}{position}",
            describe(other)
        )),
    }
}

fn number(text: &str, position: &str) -> Checked<Literal> {
    match text.parse::<f64>() {
        Ok(value) if value.is_finite() => Ok(Literal::Number {
            value,
            text: text.to_string(),
        }),
        _ => reject(format!("{text} is not a usable number{position}")),
    }
}

/// Checks a LIKE pattern: a literal prefix of at least three characters followed only by `%`
/// and `_` wildcards.
fn like_pattern(pattern: &str) -> Checked<LikePattern> {
    let prefix: String = pattern
        .chars()
        .take_while(|character| *character != '%' && *character != '_')
        .collect();
    let suffix = &pattern[prefix.len()..];
    if suffix.is_empty() {
        return reject(format!(
            "LIKE '{pattern}' has no wildcard; use = for an exact match, or end the pattern with % or _"
        ));
    }
    if !suffix
        .chars()
        .all(|character| character == '%' || character == '_')
    {
        return reject(format!(
            "LIKE '{pattern}': wildcards are supported only at the end of the pattern"
        ));
    }
    if prefix.chars().count() < MIN_LIKE_PREFIX {
        return reject(format!(
            "LIKE '{pattern}': the text before the first wildcard must be at least {MIN_LIKE_PREFIX} characters"
        ));
    }
    Ok(LikePattern {
        prefix,
        single_characters: suffix.chars().filter(|character| *character == '_').count(),
        open_ended: suffix.contains('%'),
    })
}

/// Whole-query rules: grouping, aggregates, ordering and consistent spelling.
fn check_query(query: &Query) -> Checked<()> {
    let aggregate = query.is_aggregate();
    if aggregate {
        if query
            .select
            .iter()
            .any(|item| matches!(item.kind, SelectKind::All))
        {
            return reject(
                "SELECT * cannot be combined with GROUP BY or aggregates; name the properties",
            );
        }
        if query.group_by.len() > MAX_GROUP_BY {
            return reject(format!(
                "GROUP BY has {} properties; at most {MAX_GROUP_BY} are allowed",
                query.group_by.len()
            ));
        }
        let orders_by_aggregate = query
            .order_by
            .iter()
            .any(|item| matches!(item.key, OrderKey::Aggregate(_)));
        if orders_by_aggregate && query.group_by.len() > 1 {
            return reject("GROUP BY may hold only one property when ORDER BY uses an aggregate");
        }
        for item in &query.select {
            if let SelectKind::Property(property) = &item.kind
                && !is_grouped(query, property)
            {
                return reject(format!(
                    "{} must appear in GROUP BY or inside an aggregate",
                    property.written
                ));
            }
        }
        for item in &query.order_by {
            if let OrderKey::Property(property) = &item.key
                && !is_grouped(query, property)
            {
                return reject(format!(
                    "ORDER BY {}: a grouped query orders by its GROUP BY properties or aggregates",
                    property.written
                ));
            }
        }
    } else if let Some(item) = query
        .order_by
        .iter()
        .find(|item| matches!(item.key, OrderKey::Aggregate(_)))
        && let OrderKey::Aggregate(aggregate) = &item.key
    {
        return reject(format!(
            "ORDER BY {} needs an aggregate query (GROUP BY or aggregates in SELECT)",
            aggregate.name
        ));
    }
    check_spelling(query)
}

fn is_grouped(query: &Query, property: &Property) -> bool {
    query
        .group_by
        .iter()
        .any(|group| same_path(&group.segments, &property.segments))
}

/// Compares two paths ignoring case.
pub fn same_path(left: &[String], right: &[String]) -> bool {
    left.len() == right.len()
        && left
            .iter()
            .zip(right)
            .all(|(left, right)| left.eq_ignore_ascii_case(right))
}

/// Property names are case-insensitive, but one query may not spell the same name two ways.
fn check_spelling(query: &Query) -> Checked<()> {
    let mut properties: Vec<&Property> = Vec::new();
    for item in &query.select {
        match &item.kind {
            SelectKind::Property(property) => properties.push(property),
            SelectKind::Aggregate(aggregate) => properties.extend(aggregate.argument.as_ref()),
            SelectKind::All => {}
        }
    }
    if let Some(filter) = &query.filter {
        collect_condition_properties(filter, &mut properties);
    }
    properties.extend(query.group_by.iter());
    for item in &query.order_by {
        match &item.key {
            OrderKey::Property(property) => properties.push(property),
            OrderKey::Aggregate(aggregate) => properties.extend(aggregate.argument.as_ref()),
        }
    }
    for (index, left) in properties.iter().enumerate() {
        for right in &properties[index + 1..] {
            for (left_segment, right_segment) in left.segments.iter().zip(&right.segments) {
                if !left_segment.eq_ignore_ascii_case(right_segment) {
                    break;
                }
                if left_segment != right_segment {
                    return reject(format!(
                        "{} and {} spell the same name two ways ({left_segment} and {right_segment}); use one spelling",
                        left.written, right.written
                    ));
                }
            }
        }
    }
    Ok(())
}

fn collect_condition_properties<'a>(condition: &'a Condition, properties: &mut Vec<&'a Property>) {
    match condition {
        Condition::And(parts) | Condition::Or(parts) => {
            for part in parts {
                collect_condition_properties(part, properties);
            }
        }
        Condition::Not(inner) => collect_condition_properties(inner, properties),
        Condition::Predicate(predicate) => properties.push(&predicate.property),
    }
}

/// Names an unsupported expression for an error message.
fn describe(expression: &Expr) -> String {
    match expression {
        Expr::Function(function) => format!("the function {}", function.name),
        Expr::Subquery(_) | Expr::InSubquery { .. } | Expr::Exists { .. } => {
            "a subquery".to_string()
        }
        Expr::BinaryOp { op, .. } => format!("the operator {op}"),
        Expr::UnaryOp { op, .. } => format!("the operator {op}"),
        Expr::Case { .. } => "CASE".to_string(),
        Expr::Cast { .. } => "CAST".to_string(),
        Expr::ILike { .. } => "ILIKE".to_string(),
        Expr::SimilarTo { .. } | Expr::RLike { .. } => "regular expressions".to_string(),
        Expr::IsNull(_) | Expr::IsNotNull(_) => "NULL comparisons".to_string(),
        Expr::IsTrue(_) | Expr::IsFalse(_) | Expr::IsNotTrue(_) | Expr::IsNotFalse(_) => {
            "IS TRUE/FALSE (use = true or = false)".to_string()
        }
        Expr::Tuple(_) => "a tuple".to_string(),
        Expr::Array(_) => "an array literal".to_string(),
        Expr::Interval(_) => "INTERVAL".to_string(),
        Expr::TypedString(_) => "a typed literal".to_string(),
        Expr::Wildcard(_) | Expr::QualifiedWildcard(..) => "*".to_string(),
        other => format!("`{other}`"),
    }
}

/// The microseconds since the epoch a time literal stands for: an RFC 3339 time, a date and time
/// without zone (UTC), or a date (midnight UTC).
pub fn time_micros(literal: &Literal) -> Option<i64> {
    let Literal::String(text) = literal else {
        return None;
    };
    let text = text.trim();
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Some(time.with_timezone(&Utc).timestamp_micros());
    }
    for format in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
        if let Ok(time) = NaiveDateTime::parse_from_str(text, format) {
            return Some(time.and_utc().timestamp_micros());
        }
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|date| date.and_hms_opt(0, 0, 0))
        .map(|time| time.and_utc().timestamp_micros())
}

/// The whole number a literal stands for: an integral number or a string holding one.
pub fn integer_value(literal: &Literal) -> Option<i64> {
    match literal {
        Literal::Number { value, text } => text
            .parse::<i64>()
            .ok()
            .or_else(|| (value.fract() == 0.0 && value.abs() < 9.0e15).then_some(*value as i64)),
        Literal::String(text) => text.trim().parse::<i64>().ok(),
        Literal::Boolean(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(expression: &str) -> Query {
        match parse(expression) {
            Ok(query) => query,
            Err(error) => panic!("{expression}: {error}"),
        }
    }

    fn rejected(expression: &str) -> String {
        match parse(expression) {
            Ok(query) => panic!("{expression} was accepted: {query:?}"),
            Err(InvalidExpression(message)) => message,
        }
    }

    fn property(path: &str) -> Property {
        resolve_property(path.split('.').map(str::to_string).collect()).unwrap()
    }

    #[test]
    fn parses_the_aws_examples() {
        let query = parsed("SELECT resourceId WHERE resourceType='AWS::EC2::Instance'");
        assert_eq!(query.select.len(), 1);
        assert_eq!(
            query.filter,
            Some(Condition::Predicate(Predicate {
                property: property("resourceType"),
                test: Test::Compare(
                    Comparison::Equal,
                    Literal::String("AWS::EC2::Instance".into())
                ),
            }))
        );
        let grouped = parsed(
            "SELECT configuration.complianceType, COUNT(*) WHERE resourceType = 'AWS::Config::ResourceCompliance' GROUP BY configuration.complianceType",
        );
        assert!(grouped.is_aggregate());
        assert_eq!(grouped.select[1].name, "COUNT(*)");
        assert_eq!(
            grouped.group_by,
            vec![property("configuration.complianceType")]
        );
        let lower = parsed("SELECT COUNT(*), accountId group by accountId");
        assert_eq!(lower.group_by, vec![property("accountId")]);
        parsed(
            "SELECT resourceId WHERE resourceType = 'AWS::EC2::EIP' AND relationships.resourceId = 'i-abcd1234'",
        );
        parsed(
            "SELECT COUNT(resourceId) WHERE resourceType = 'AWS::EC2::Instance' AND tags.key='Stage'",
        );
    }

    #[test]
    fn not_equal_and_negations_become_not() {
        let query = parsed(
            "SELECT resourceId WHERE resourceType != 'a' AND resourceId NOT IN ('x') AND configuration.size NOT BETWEEN 1 AND 5 AND resourceName NOT LIKE 'abc%' AND NOT (accountId <> '1')",
        );
        let Some(Condition::And(parts)) = query.filter else {
            panic!("expected AND")
        };
        assert_eq!(parts.len(), 5);
        assert!(
            parts[..4]
                .iter()
                .all(|part| matches!(part, Condition::Not(_)))
        );
        assert!(
            matches!(&parts[4], Condition::Not(inner) if matches!(inner.as_ref(), Condition::Not(_)))
        );
    }

    #[test]
    fn keywords_are_case_insensitive_and_paths_may_use_keywords() {
        let query = parsed(
            "select configuration.state.name, configuration.type where configuration.status = 'x' or configuration.value between 1 and 2 order by configuration.type desc",
        );
        assert_eq!(query.order_by.len(), 1);
        assert!(query.order_by[0].descending);
        assert!(matches!(query.filter, Some(Condition::Or(_))));
    }

    #[test]
    fn unsupported_keywords_name_the_construct_and_position() {
        let message = rejected("SELECT resourceId FROM items");
        assert!(message.contains("FROM is not supported"), "{message}");
        assert!(message.contains("line 1, column 19"), "{message}");
        for (expression, construct) in [
            ("SELECT DISTINCT resourceType", "DISTINCT"),
            ("SELECT resourceId AS id", "AS"),
            (
                "SELECT resourceType, COUNT(*) GROUP BY resourceType HAVING COUNT(*) > 1",
                "HAVING",
            ),
            ("SELECT resourceId UNION SELECT resourceId", "UNION"),
            ("SELECT ALL resourceId", "ALL"),
            ("SELECT resourceId WHERE resourceName IS NULL", "NULL"),
            ("SELECT resourceId WHERE resourceName = NULL", "NULL"),
            ("SELECT resourceId LIMIT 5", "LIMIT"),
            (
                "SELECT a.resourceId FROM x a JOIN y b ON a.id = b.id",
                "FROM",
            ),
        ] {
            let message = rejected(expression);
            assert!(message.contains(construct), "{expression}: {message}");
            assert!(
                message.contains("line 1, column"),
                "{expression}: {message}"
            );
        }
    }

    #[test]
    fn multi_line_positions_are_reported() {
        let message =
            rejected("SELECT resourceId\nWHERE resourceType = 'x'\n  AND UPPER(resourceId) = 'X'");
        assert!(message.contains("UPPER"), "{message}");
        assert!(message.contains("line 3, column 7"), "{message}");
    }

    #[test]
    fn functions_arithmetic_and_subqueries_are_rejected() {
        for (expression, fragment) in [
            ("SELECT LOWER(resourceId)", "function LOWER"),
            (
                "SELECT resourceId WHERE configuration.size + 1 > 2",
                "operator +",
            ),
            (
                "SELECT resourceId WHERE resourceId IN (SELECT resourceId)",
                "subquer",
            ),
            (
                "SELECT COUNT(resourceId, resourceType)",
                "exactly one argument",
            ),
            ("SELECT MAX(LENGTH(resourceId))", "nested inside aggregates"),
            ("SELECT SUM(*)", "only COUNT accepts *"),
            ("SELECT COUNT(DISTINCT resourceId)", "DISTINCT"),
            (
                "SELECT resourceId WHERE configuration.a[0] = 'x'",
                "array indexes",
            ),
            ("SELECT resourceId WHERE resourceId ILIKE 'abc%'", "LIKE"),
        ] {
            let message = rejected(expression);
            assert!(message.contains(fragment), "{expression}: {message}");
        }
    }

    #[test]
    fn like_patterns_follow_aws_rules() {
        let query = parsed("SELECT resourceId WHERE resourceType LIKE 'AWS::EC2::%'");
        let Some(Condition::Predicate(Predicate {
            test: Test::Like(like),
            ..
        })) = query.filter
        else {
            panic!("expected LIKE")
        };
        assert_eq!(like.prefix, "AWS::EC2::");
        assert!(like.open_ended);
        let underscore = like_pattern("abc__").unwrap();
        assert_eq!(
            (underscore.single_characters, underscore.open_ended),
            (2, false)
        );
        assert_eq!(underscore.minimum_length(), 5);
        assert!(rejected("SELECT resourceId WHERE resourceId LIKE 'ab%'").contains("at least 3"));
        assert!(
            rejected("SELECT resourceId WHERE resourceId LIKE '%::EC2'")
                .contains("only at the end")
        );
        assert!(
            rejected("SELECT resourceId WHERE resourceId LIKE 'abc%def'")
                .contains("only at the end")
        );
        assert!(
            rejected("SELECT resourceId WHERE resourceId LIKE 'abcdef'").contains("no wildcard")
        );
    }

    #[test]
    fn properties_resolve_ignoring_case_but_not_mixed_spellings() {
        let query =
            parsed("SELECT ResourceId, Configuration.InstanceType WHERE RESOURCETYPE = 'x'");
        assert!(matches!(
            &query.select[0].kind,
            SelectKind::Property(Property {
                kind: PropertyKind::Field(Field::ResourceId),
                ..
            })
        ));
        let message = rejected(
            "SELECT configuration.dbclusterIdentifier WHERE configuration.dBClusterIdentifier = 'x'",
        );
        assert!(message.contains("two ways"), "{message}");
        assert!(rejected("SELECT resourceid WHERE resourceId = 'x'").contains("two ways"));
        assert!(rejected("SELECT unknownThing").contains("unknown property"));
        assert!(rejected("SELECT tags.colour").contains("tags.key"));
        assert!(rejected("SELECT resourceId.x").contains("scalar"));
    }

    #[test]
    fn grouping_rules() {
        assert!(rejected("SELECT resourceId, COUNT(*) GROUP BY resourceType").contains("GROUP BY"));
        assert!(rejected("SELECT * GROUP BY resourceType").contains("SELECT *"));
        assert!(
            rejected("SELECT COUNT(*) GROUP BY accountId, awsRegion, resourceType, resourceName")
                .contains("at most 3")
        );
        assert!(rejected("SELECT accountId, awsRegion, COUNT(*) GROUP BY accountId, awsRegion ORDER BY COUNT(*) DESC").contains("only one property"));
        parsed("SELECT accountId, COUNT(*) GROUP BY accountId ORDER BY COUNT(*) DESC");
        parsed(
            "SELECT accountId, awsRegion, resourceType, COUNT(*) GROUP BY accountId, awsRegion, resourceType ORDER BY resourceType",
        );
        assert!(rejected("SELECT resourceId ORDER BY COUNT(*)").contains("aggregate query"));
        assert!(rejected("SELECT COUNT(*) GROUP BY configuration").contains("whole document"));
        assert!(rejected("SELECT SUM(resourceId)").contains("not numeric"));
    }

    #[test]
    fn literal_types_are_checked() {
        assert!(
            rejected("SELECT resourceId WHERE configurationItemCaptureTime > 'yesterday'")
                .contains("ISO 8601")
        );
        parsed("SELECT resourceId WHERE configurationItemCaptureTime > '2024-05-01'");
        parsed(
            "SELECT resourceId WHERE configurationItemCaptureTime BETWEEN '2024-05-01T00:00:00Z' AND '2024-05-02T00:00:00.5+02:00'",
        );
        assert!(
            rejected("SELECT resourceId WHERE configuration.encrypted > true")
                .contains("true and false")
        );
        assert!(rejected("SELECT resourceId WHERE resourceId = true").contains("string"));
        assert!(
            rejected("SELECT resourceId WHERE configurationStateId = 'abc'")
                .contains("whole number")
        );
        assert!(rejected("SELECT resourceId WHERE 'x' = resourceId").contains("left"));
        assert!(rejected("SELECT resourceId WHERE resourceId = \"x\"").contains("single quotes"));
        assert!(
            rejected("SELECT resourceId WHERE resourceCreationTime > '2024-01-01'")
                .contains("resourceCreationTime")
        );
        let negative = parsed("SELECT resourceId WHERE configuration.delta > -1.5");
        let Some(Condition::Predicate(Predicate {
            test: Test::Compare(_, Literal::Number { value, text }),
            ..
        })) = negative.filter
        else {
            panic!("expected a number")
        };
        assert_eq!((value, text.as_str()), (-1.5, "-1.5"));
    }

    #[test]
    fn length_limits_and_syntax_errors() {
        assert!(rejected("").contains("empty"));
        let long = format!(
            "SELECT resourceId WHERE resourceId = '{}'",
            "x".repeat(4096)
        );
        assert!(rejected(&long).contains("at most 4096"));
        assert!(rejected("SELECT resourceId WHERE").contains("syntax error"));
        assert!(
            rejected("SELECT resourceId WHERE resourceId = 'unterminated").contains("syntax error")
        );
        assert!(rejected("SELECT resourceId; SELECT resourceType").contains("exactly one"));
        assert!(rejected("DELETE FROM x").contains("FROM"));
        assert!(rejected("UPDATE x SET y = 1").contains("only SELECT"));
        let deep = format!(
            "SELECT resourceId WHERE {}resourceId = 'x'{}",
            "(".repeat(200),
            ")".repeat(200)
        );
        assert!(rejected(&deep).contains("nests too deeply"));
    }

    proptest::proptest! {
        #[test]
        fn any_text_is_answered_without_panicking(expression in "\\PC{0,200}") {
            let _ = parse(&expression);
        }

        #[test]
        fn query_shaped_text_is_answered_without_panicking(
            parts in proptest::collection::vec(
                proptest::sample::select(vec![
                    "SELECT", "WHERE", "GROUP BY", "ORDER BY", "AND", "OR", "NOT", "(", ")", ",",
                    "=", "<>", "<", ">=", "IN", "BETWEEN", "LIKE", "COUNT(*)", "SUM(", "*",
                    "resourceId", "configuration.a.b", "tags.key", "'abc%'", "'x'", "42", "-1.5",
                    "true", "DESC", "ASC", "FROM", "NULL", ";",
                ]),
                0..24,
            )
        ) {
            let _ = parse(&parts.join(" "));
        }
    }

    #[test]
    fn time_literals() {
        assert_eq!(
            time_micros(&Literal::String("1970-01-02".into())),
            Some(86_400_000_000)
        );
        assert_eq!(
            time_micros(&Literal::String("1970-01-01T00:00:01.5Z".into())),
            Some(1_500_000)
        );
        assert_eq!(
            time_micros(&Literal::String("1970-01-01T01:00:00+01:00".into())),
            Some(0)
        );
        assert_eq!(time_micros(&Literal::Boolean(true)), None);
    }
}
