//! `tributary select`: an advanced query over a Config aggregator
//! (`SelectAggregateResourceConfig`), e.g.
//! `tributary select --name organization --region us-east-1 "SELECT resourceType, COUNT(*) GROUP BY resourceType"`.

use anyhow::Context as _;
use serde_json::Value;
use tributary_proto::aggregator::v1 as pb;

use crate::{
    commands::config_aggregators::AggregatorName,
    context::Context,
    output::{table, with_more},
    paging::{PageArgs, fetch},
};

/// Options of `tributary select`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub aggregator: AggregatorName,
    /// The query: AWS Config's SELECT without FROM.
    pub expression: String,
    #[command(flatten)]
    pub page: PageArgs,
}

/// Runs a query and prints its rows.
pub async fn run(context: &Context, args: Args) -> anyhow::Result<()> {
    let client = context.config_aggregator_client()?;
    let response = fetch(&args.page, |page_token| {
        let mut client = client.clone();
        let request = pb::SelectAggregateResourceConfigRequest {
            owner_account_id: args.aggregator.owner.clone(),
            region: args.aggregator.region.clone(),
            configuration_aggregator_name: args.aggregator.name.clone(),
            expression: args.expression.clone(),
            page_size: args.page.page_size,
            page_token,
            max_results: 0,
        };
        async move { client.select_aggregate_resource_config(request).await }
    })
    .await
    .with_context(|| format!("querying aggregator {}", args.aggregator.name))?;
    context.output().message(&response, render)
}

fn render(response: &pb::SelectAggregateResourceConfigResponse) -> String {
    let columns: Vec<String> = response
        .query_info
        .as_ref()
        .map(|info| {
            info.select_fields
                .iter()
                .map(|field| field.name.clone())
                .collect()
        })
        .unwrap_or_default();
    let header: Vec<&str> = columns.iter().map(String::as_str).collect();
    let mut rows = table(&header);
    for result in &response.results {
        let parsed: Value = serde_json::from_str(result).unwrap_or(Value::String(result.clone()));
        rows.add_row(
            columns
                .iter()
                .map(|column| cell(&parsed, column))
                .collect::<Vec<_>>(),
        );
    }
    format!(
        "{}\n{} rows",
        with_more(rows, &response.next_page_token),
        response.results.len()
    )
}

/// The value at a selected path of a result row: aggregates are keyed by their text, properties
/// by their dotted path (arrays on the way collect every value).
fn cell(row: &Value, column: &str) -> String {
    if let Some(value) = row.get(column) {
        return scalar(value);
    }
    let mut values = vec![row];
    for segment in column.split('.') {
        let mut next = Vec::new();
        for value in values {
            collect(value, segment, &mut next);
        }
        values = next;
    }
    values
        .into_iter()
        .map(scalar)
        .collect::<Vec<_>>()
        .join(", ")
}

fn collect<'a>(value: &'a Value, segment: &str, into: &mut Vec<&'a Value>) {
    match value {
        Value::Array(items) => {
            for item in items {
                collect(item, segment, into);
            }
        }
        Value::Object(fields) => {
            if let Some((_, found)) = fields
                .iter()
                .find(|(key, _)| key.eq_ignore_ascii_case(segment))
            {
                into.push(found);
            }
        }
        _ => {}
    }
}

fn scalar(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_follow_paths_through_arrays() {
        let row: Value = serde_json::json!({
            "resourceId": "i-1",
            "configuration": {"instanceType": "t3.micro"},
            "tags": [{"key": "Stage", "value": "prod"}, {"key": "Team", "value": "pay"}],
            "COUNT(*)": 3
        });
        assert_eq!(cell(&row, "resourceId"), "i-1");
        assert_eq!(cell(&row, "configuration.instanceType"), "t3.micro");
        assert_eq!(cell(&row, "tags.key"), "Stage, Team");
        assert_eq!(cell(&row, "COUNT(*)"), "3");
    }
}
