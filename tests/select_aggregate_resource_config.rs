//! End-to-end test of SelectAggregateResourceConfig: configuration items written into two
//! regions' collectors reach the aggregator through replication, and advanced queries over real
//! gRPC see exactly the entitled items, page by page, with AWS's errors for bad input. On SQLite
//! and PostgreSQL.

// A panic in a test is a failed assertion with a location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use serde_json::{Value, json};
use support::{Authed, Backend, TestCluster, eventually, reason};
use tonic::Code;
use tributary_proto::{
    aggregator::v1 as pb, collector::v1 as collector_pb, membership::v1 as membership_pb,
    types::v1 as types_pb,
};

on_both_backends! {
    advanced_queries_read_the_entitled_items_over_grpc,
}

const HOME: &str = "us-east-1";
const OTHER: &str = "eu-west-1";
const OWNER: &str = "111111111111";
const SOURCE: &str = "222222222222";
const INSTANCE: &str = "AWS::EC2::Instance";
const BUCKET: &str = "AWS::S3::Bucket";
const REPLICATION_DEADLINE: Duration = Duration::from_secs(60);

type Client = pb::config_aggregator_service_client::ConfigAggregatorServiceClient<Authed>;

/// (account, region, type, id, instance type or bucket versioning) of every item written.
fn resources() -> Vec<(
    &'static str,
    &'static str,
    &'static str,
    String,
    &'static str,
)> {
    let mut resources = Vec::new();
    for account in [OWNER, SOURCE] {
        for region in [HOME, OTHER] {
            for (n, instance_type) in ["t3.micro", "m5.large", "t3.micro"].into_iter().enumerate() {
                resources.push((
                    account,
                    region,
                    INSTANCE,
                    format!("i-{account}-{region}-{n}"),
                    instance_type,
                ));
            }
            resources.push((
                account,
                region,
                BUCKET,
                format!("bucket-{account}-{region}"),
                "Enabled",
            ));
        }
    }
    resources
}

/// The source authorized the owner in the home region only; the owner's own account is always in.
fn entitled(account_id: &str, region: &str) -> bool {
    account_id == OWNER || region == HOME
}

async fn write_items(cluster: &TestCluster) {
    let key = cluster.service_key();
    for region in [HOME, OTHER] {
        for account_id in [OWNER, SOURCE] {
            let mut config = cluster.config(region, key);
            config
                .put_configuration_recorder(collector_pb::PutConfigurationRecorderRequest {
                    account_id: account_id.into(),
                    configuration_recorder: Some(collector_pb::ConfigurationRecorder {
                        name: "default".into(),
                        recording_group: None,
                    }),
                })
                .await
                .unwrap();
            config
                .start_configuration_recorder(collector_pb::StartConfigurationRecorderRequest {
                    account_id: account_id.into(),
                    configuration_recorder_name: "default".into(),
                })
                .await
                .unwrap();
        }
    }
    for (account_id, region, resource_type, resource_id, detail) in resources() {
        let (configuration, supplementary) = if resource_type == INSTANCE {
            (
                json!({"instanceType": detail, "blockDeviceMappings": [{"deviceName": "/dev/xvda"}]}),
                Default::default(),
            )
        } else {
            (
                json!({"name": resource_id}),
                [(
                    "BucketVersioningConfiguration".to_string(),
                    json!({"status": detail}).to_string(),
                )]
                .into_iter()
                .collect(),
            )
        };
        cluster
            .config(region, key)
            .put_configuration_items(collector_pb::PutConfigurationItemsRequest {
                account_id: account_id.into(),
                items: vec![collector_pb::ConfigurationItemInput {
                    resource_type: resource_type.into(),
                    resource_id: resource_id.clone(),
                    resource_name: resource_id.clone(),
                    configuration_item_status: collector_pb::ConfigurationItemStatus::Ok as i32,
                    configuration_item_capture_time: Some(prost_types::Timestamp {
                        seconds: 1_700_000_000,
                        nanos: 0,
                    }),
                    configuration: configuration.to_string(),
                    supplementary_configuration: supplementary,
                    tags: vec![types_pb::Tag {
                        key: "Stage".into(),
                        value: if account_id == OWNER { "prod" } else { "dev" }.into(),
                    }],
                    ..Default::default()
                }],
            })
            .await
            .unwrap();
    }
}

fn request(
    expression: &str,
    page_size: i32,
    page_token: &str,
) -> pb::SelectAggregateResourceConfigRequest {
    pb::SelectAggregateResourceConfigRequest {
        region: HOME.into(),
        configuration_aggregator_name: "audit".into(),
        expression: expression.into(),
        page_size,
        page_token: page_token.into(),
        ..Default::default()
    }
}

/// Every result of `expression`, read `page_size` rows at a time, and the select fields.
async fn select_all(
    client: &mut Client,
    expression: &str,
    page_size: i32,
) -> (Vec<Value>, Vec<String>) {
    let mut rows = Vec::new();
    let mut token = String::new();
    let mut fields = Vec::new();
    loop {
        let page = client
            .select_aggregate_resource_config(request(expression, page_size, &token))
            .await
            .unwrap()
            .into_inner();
        if fields.is_empty() {
            fields = page
                .query_info
                .unwrap_or_default()
                .select_fields
                .into_iter()
                .map(|field| field.name)
                .collect();
        }
        rows.extend(
            page.results
                .iter()
                .map(|row| serde_json::from_str::<Value>(row).unwrap()),
        );
        if page.next_page_token.is_empty() {
            return (rows, fields);
        }
        token = page.next_page_token;
    }
}

async fn advanced_queries_read_the_entitled_items_over_grpc(backend: Backend) {
    let cluster = TestCluster::builder(backend)
        .collector(HOME)
        .collector(OTHER)
        .start()
        .await;
    let owner_key = cluster.account_key(OWNER).await;
    let source_key = cluster.account_key(SOURCE).await;
    cluster
        .authorizations(&source_key)
        .put_aggregation_authorization(membership_pb::PutAggregationAuthorizationRequest {
            region: HOME.into(),
            authorized_account_id: OWNER.into(),
            authorized_aws_region: HOME.into(),
            tags: Vec::new(),
        })
        .await
        .unwrap();
    write_items(&cluster).await;
    let mut client = cluster.config_aggregators(&owner_key);
    client
        .put_configuration_aggregator(pb::PutConfigurationAggregatorRequest {
            region: HOME.into(),
            configuration_aggregator_name: "audit".into(),
            account_aggregation_sources: vec![pb::AccountAggregationSource {
                account_ids: vec![OWNER.into(), SOURCE.into()],
                all_aws_regions: true,
                aws_regions: Vec::new(),
            }],
            ..Default::default()
        })
        .await
        .unwrap();

    let mut visible: Vec<(String, String, String, String)> = resources()
        .into_iter()
        .filter(|(account, region, ..)| entitled(account, region))
        .map(|(account, region, resource_type, resource_id, _)| {
            (
                account.to_string(),
                region.to_string(),
                resource_type.to_string(),
                resource_id,
            )
        })
        .collect();
    visible.sort();
    let expected_count = visible.len();
    eventually(
        "the entitled items are replicated",
        REPLICATION_DEADLINE,
        || {
            let mut client = client.clone();
            async move {
                let (rows, _) = select_all(&mut client, "SELECT COUNT(*)", 0).await;
                if rows == vec![json!({"COUNT(*)": expected_count})] {
                    Ok(())
                } else {
                    Err(format!("{rows:?}"))
                }
            }
        },
    )
    .await;

    // A plain query, one row per page: the entitled instances in key order.
    let (rows, fields) = select_all(
        &mut client,
        "SELECT resourceId, accountId, awsRegion, configuration.instanceType WHERE resourceType = 'AWS::EC2::Instance' AND configuration.instanceType = 't3.micro'",
        1,
    )
    .await;
    assert_eq!(
        fields,
        [
            "resourceId",
            "accountId",
            "awsRegion",
            "configuration.instanceType"
        ]
    );
    let expected: Vec<Value> = visible
        .iter()
        .filter(|(_, _, resource_type, resource_id)| {
            resource_type == INSTANCE && !resource_id.ends_with("-1")
        })
        .map(|(account, region, _, resource_id)| {
            json!({"resourceId": resource_id, "accountId": account, "awsRegion": region, "configuration": {"instanceType": "t3.micro"}})
        })
        .collect();
    assert_eq!(rows, expected);

    // Grouped, with a supplementary configuration filter and a tag filter.
    let (rows, _) = select_all(
        &mut client,
        "SELECT accountId, awsRegion, COUNT(*) WHERE supplementaryConfiguration.BucketVersioningConfiguration.status = 'Enabled' OR tags.tag = 'Stage=dev' GROUP BY accountId, awsRegion",
        0,
    )
    .await;
    let mut expected: Vec<Value> = Vec::new();
    for (account, region) in [(OWNER, OTHER), (OWNER, HOME), (SOURCE, HOME)] {
        let count = visible
            .iter()
            .filter(|(item_account, item_region, resource_type, _)| {
                item_account == account
                    && item_region == region
                    && (resource_type == BUCKET || account == SOURCE)
            })
            .count();
        expected.push(json!({"accountId": account, "awsRegion": region, "COUNT(*)": count}));
    }
    assert_eq!(rows, expected);

    // MaxResults is a synonym of the page size.
    let page = client
        .select_aggregate_resource_config(pb::SelectAggregateResourceConfigRequest {
            max_results: 2,
            ..request("SELECT resourceId", 0, "")
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(page.results.len(), 2);
    assert!(!page.next_page_token.is_empty());

    // Bad input: the construct and its position, the page size, the token, the aggregator.
    let status = client
        .select_aggregate_resource_config(request("SELECT resourceId FROM items", 0, ""))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(reason(&status), "InvalidExpressionException");
    assert!(
        status.message().contains("line 1, column 19"),
        "{}",
        status.message()
    );
    let status = client
        .select_aggregate_resource_config(request("SELECT resourceId", 101, ""))
        .await
        .unwrap_err();
    assert_eq!(reason(&status), "InvalidLimitException");
    let status = client
        .select_aggregate_resource_config(pb::SelectAggregateResourceConfigRequest {
            max_results: 3,
            ..request("SELECT resourceId", 2, "")
        })
        .await
        .unwrap_err();
    assert_eq!(reason(&status), "InvalidLimitException");
    let status = client
        .select_aggregate_resource_config(request("SELECT resourceType", 1, &page.next_page_token))
        .await
        .unwrap_err();
    assert_eq!(reason(&status), "InvalidNextTokenException");
    let status = client
        .select_aggregate_resource_config(pb::SelectAggregateResourceConfigRequest {
            configuration_aggregator_name: "missing".into(),
            ..request("SELECT resourceId", 0, "")
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    assert_eq!(reason(&status), "NoSuchConfigurationAggregatorException");

    // Another account cannot read the owner's aggregator.
    let mut stranger = cluster.config_aggregators(&source_key);
    let status = stranger
        .select_aggregate_resource_config(pb::SelectAggregateResourceConfigRequest {
            owner_account_id: OWNER.into(),
            ..request("SELECT resourceId", 0, "")
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);

    cluster.shutdown().await;
}
