//! End-to-end tests of the collector's `ConfigService`: recorders, configuration items, their
//! history and the reads over them, over real gRPC on SQLite and PostgreSQL.

// A panic in a test is a failed assertion with a location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::{Authed, Backend, TestCluster, account_principal, reason, violated_fields};
use tonic::Code;
use tributary_proto::{collector::v1 as pb, types::v1 as types_pb};

on_both_backends! {
    recorder_lifecycle_is_reported_and_a_stopped_recorder_blocks_items,
    items_are_recorded_with_history_and_read_back,
    history_is_ordered_both_ways_within_time_windows_and_pages,
    deleted_resources_leave_lists_and_counts_but_stay_in_history,
    global_resource_types_are_recorded_in_region_global,
    custom_resources_are_put_and_deleted,
    bad_input_is_rejected_by_field_and_writes_nothing,
    accounts_act_only_for_themselves,
    lists_and_counts_page_with_limits_and_tokens,
}

const REGION: &str = "us-east-1";
const ACCOUNT: &str = "111111111111";

type Config = pb::config_service_client::ConfigServiceClient<Authed>;

async fn start(backend: Backend) -> TestCluster {
    TestCluster::builder(backend)
        .collector(REGION)
        .start()
        .await
}

async fn account_client(cluster: &TestCluster, account_id: &str) -> Config {
    let (key, _) = cluster.create_key(account_principal(account_id)).await;
    cluster.config(REGION, &key)
}

/// Creates and starts a recorder that records every type, global ones included.
async fn start_recorder(config: &mut Config, account_id: &str) {
    config
        .put_configuration_recorder(pb::PutConfigurationRecorderRequest {
            account_id: account_id.into(),
            configuration_recorder: Some(pb::ConfigurationRecorder {
                name: "default".into(),
                recording_group: Some(pb::RecordingGroup {
                    all_supported: true,
                    include_global_resource_types: true,
                    resource_types: Vec::new(),
                }),
            }),
        })
        .await
        .unwrap();
    config
        .start_configuration_recorder(pb::StartConfigurationRecorderRequest {
            account_id: account_id.into(),
            configuration_recorder_name: "default".into(),
        })
        .await
        .unwrap();
}

fn at(seconds: i64) -> prost_types::Timestamp {
    prost_types::Timestamp { seconds, nanos: 0 }
}

fn item(resource_type: &str, resource_id: &str, seconds: i64) -> pb::ConfigurationItemInput {
    pb::ConfigurationItemInput {
        resource_type: resource_type.into(),
        resource_id: resource_id.into(),
        resource_name: format!("name-{resource_id}"),
        configuration_item_status: pb::ConfigurationItemStatus::Ok as i32,
        configuration_item_capture_time: Some(at(seconds)),
        configuration: format!(r#"{{"id": "{resource_id}", "at": {seconds}}}"#),
        tags: vec![types_pb::Tag {
            key: "env".into(),
            value: "prod".into(),
        }],
        ..Default::default()
    }
}

fn deleted(resource_type: &str, resource_id: &str, seconds: i64) -> pb::ConfigurationItemInput {
    pb::ConfigurationItemInput {
        configuration_item_status: pb::ConfigurationItemStatus::ResourceDeleted as i32,
        configuration: String::new(),
        ..item(resource_type, resource_id, seconds)
    }
}

async fn put(
    config: &mut Config,
    account_id: &str,
    items: Vec<pb::ConfigurationItemInput>,
) -> Result<pb::PutConfigurationItemsResponse, tonic::Status> {
    config
        .put_configuration_items(pb::PutConfigurationItemsRequest {
            account_id: account_id.into(),
            items,
        })
        .await
        .map(tonic::Response::into_inner)
}

async fn history(
    config: &mut Config,
    resource_id: &str,
    order: pb::ChronologicalOrder,
    window: (Option<i64>, Option<i64>),
    page_size: i32,
    page_token: String,
) -> Result<pb::GetResourceConfigHistoryResponse, tonic::Status> {
    config
        .get_resource_config_history(pb::GetResourceConfigHistoryRequest {
            account_id: ACCOUNT.into(),
            resource_type: "AWS::EC2::Instance".into(),
            resource_id: resource_id.into(),
            earlier_time: window.0.map(at),
            later_time: window.1.map(at),
            chronological_order: order as i32,
            page_size,
            page_token,
        })
        .await
        .map(tonic::Response::into_inner)
}

fn capture_seconds(items: &[pb::ConfigurationItem]) -> Vec<i64> {
    items
        .iter()
        .map(|item| item.configuration_item_capture_time.unwrap().seconds)
        .collect()
}

async fn head(cluster: &TestCluster) -> u64 {
    cluster
        .change_log(REGION, cluster.service_key())
        .get_head(pb::GetHeadRequest {})
        .await
        .unwrap()
        .into_inner()
        .head_seq
}

async fn list(config: &mut Config, resource_type: &str, include_deleted: bool) -> Vec<String> {
    config
        .list_discovered_resources(pb::ListDiscoveredResourcesRequest {
            account_id: ACCOUNT.into(),
            resource_type: resource_type.into(),
            include_deleted_resources: include_deleted,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .resource_identifiers
        .into_iter()
        .map(|identifier| identifier.resource_id)
        .collect()
}

async fn counts(config: &mut Config) -> (i64, Vec<(String, i64)>) {
    let response = config
        .get_discovered_resource_counts(pb::GetDiscoveredResourceCountsRequest {
            account_id: ACCOUNT.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    (
        response.total_discovered_resources,
        response
            .resource_counts
            .into_iter()
            .map(|count| (count.resource_type, count.count))
            .collect(),
    )
}

async fn recorder_lifecycle_is_reported_and_a_stopped_recorder_blocks_items(backend: Backend) {
    let cluster = start(backend).await;
    let mut config = account_client(&cluster, ACCOUNT).await;

    let none = config
        .describe_configuration_recorder_status(pb::DescribeConfigurationRecorderStatusRequest {
            account_id: ACCOUNT.into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(none.configuration_recorders_status.is_empty());

    // Without a recorder, and with a stopped one, nothing is accepted.
    let refused = put(
        &mut config,
        ACCOUNT,
        vec![item("AWS::EC2::Instance", "i-1", 100)],
    )
    .await
    .unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition);
    assert_eq!(reason(&refused), "NoRunningConfigurationRecorderException");

    let stored = config
        .put_configuration_recorder(pb::PutConfigurationRecorderRequest {
            account_id: ACCOUNT.into(),
            configuration_recorder: Some(pb::ConfigurationRecorder {
                name: String::new(),
                recording_group: None,
            }),
        })
        .await
        .unwrap()
        .into_inner()
        .configuration_recorder
        .unwrap();
    assert_eq!(stored.name, "default");
    assert!(stored.recording_group.unwrap().all_supported);
    let status = config
        .describe_configuration_recorder_status(pb::DescribeConfigurationRecorderStatusRequest {
            account_id: ACCOUNT.into(),
        })
        .await
        .unwrap()
        .into_inner()
        .configuration_recorders_status;
    assert_eq!(status.len(), 1);
    assert!(!status[0].recording);
    let refused = put(
        &mut config,
        ACCOUNT,
        vec![item("AWS::EC2::Instance", "i-1", 100)],
    )
    .await
    .unwrap_err();
    assert_eq!(reason(&refused), "NoRunningConfigurationRecorderException");

    // A second recorder name is over the limit of one per account and region.
    let second = config
        .put_configuration_recorder(pb::PutConfigurationRecorderRequest {
            account_id: ACCOUNT.into(),
            configuration_recorder: Some(pb::ConfigurationRecorder {
                name: "other".into(),
                recording_group: None,
            }),
        })
        .await
        .unwrap_err();
    assert_eq!(second.code(), Code::ResourceExhausted);
    assert_eq!(
        reason(&second),
        "MaxNumberOfConfigurationRecordersExceededException"
    );
    let unknown = config
        .start_configuration_recorder(pb::StartConfigurationRecorderRequest {
            account_id: ACCOUNT.into(),
            configuration_recorder_name: "other".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound);
    assert_eq!(reason(&unknown), "NoSuchConfigurationRecorderException");

    config
        .start_configuration_recorder(pb::StartConfigurationRecorderRequest {
            account_id: ACCOUNT.into(),
            configuration_recorder_name: "default".into(),
        })
        .await
        .unwrap();
    let status = config
        .describe_configuration_recorder_status(pb::DescribeConfigurationRecorderStatusRequest {
            account_id: ACCOUNT.into(),
        })
        .await
        .unwrap()
        .into_inner()
        .configuration_recorders_status
        .remove(0);
    assert!(status.recording);
    assert!(status.last_start_time.is_some());
    assert_eq!(status.last_status, pb::RecorderStatus::Pending as i32);

    put(
        &mut config,
        ACCOUNT,
        vec![item("AWS::EC2::Instance", "i-1", 100)],
    )
    .await
    .unwrap();
    // The default recording group leaves global types out.
    let not_recorded = put(
        &mut config,
        ACCOUNT,
        vec![item("AWS::IAM::Role", "r-1", 100)],
    )
    .await
    .unwrap_err();
    assert_eq!(not_recorded.code(), Code::InvalidArgument);
    assert_eq!(violated_fields(&not_recorded), ["items[0].resource_type"]);
    let status = config
        .describe_configuration_recorder_status(pb::DescribeConfigurationRecorderStatusRequest {
            account_id: ACCOUNT.into(),
        })
        .await
        .unwrap()
        .into_inner()
        .configuration_recorders_status
        .remove(0);
    assert_eq!(status.last_status, pb::RecorderStatus::Success as i32);

    config
        .stop_configuration_recorder(pb::StopConfigurationRecorderRequest {
            account_id: ACCOUNT.into(),
            configuration_recorder_name: "default".into(),
        })
        .await
        .unwrap();
    let status = config
        .describe_configuration_recorder_status(pb::DescribeConfigurationRecorderStatusRequest {
            account_id: ACCOUNT.into(),
        })
        .await
        .unwrap()
        .into_inner()
        .configuration_recorders_status
        .remove(0);
    assert!(!status.recording);
    assert!(status.last_stop_time.is_some());
    let before = head(&cluster).await;
    let refused = put(
        &mut config,
        ACCOUNT,
        vec![item("AWS::EC2::Instance", "i-2", 200)],
    )
    .await
    .unwrap_err();
    assert_eq!(reason(&refused), "NoRunningConfigurationRecorderException");
    assert_eq!(
        head(&cluster).await,
        before,
        "a refused batch writes nothing"
    );
    assert_eq!(list(&mut config, "AWS::EC2::Instance", true).await, ["i-1"]);
    cluster.shutdown().await;
}

async fn items_are_recorded_with_history_and_read_back(backend: Backend) {
    let cluster = start(backend).await;
    let mut config = account_client(&cluster, ACCOUNT).await;
    start_recorder(&mut config, ACCOUNT).await;

    let first = put(
        &mut config,
        ACCOUNT,
        vec![
            item("AWS::EC2::Instance", "i-1", 100),
            item("AWS::EC2::Instance", "i-2", 100),
            item("AWS::S3::Bucket", "bucket-1", 100),
        ],
    )
    .await
    .unwrap();
    assert_eq!(first.configuration_state_ids.len(), 3);
    assert!(
        first
            .configuration_state_ids
            .windows(2)
            .all(|pair| pair[0] < pair[1])
    );
    let second = put(
        &mut config,
        ACCOUNT,
        vec![item("AWS::EC2::Instance", "i-1", 200)],
    )
    .await
    .unwrap();
    assert!(second.configuration_state_ids[0] > first.configuration_state_ids[0]);
    assert_eq!(head(&cluster).await, second.change_log_seq);
    let info = cluster
        .collector(REGION, cluster.service_key())
        .get_info(pb::GetInfoRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(info.change_log_head, second.change_log_seq);

    let batch = config
        .batch_get_resource_config(pb::BatchGetResourceConfigRequest {
            account_id: ACCOUNT.into(),
            resource_keys: vec![
                pb::ResourceKey {
                    resource_type: "AWS::EC2::Instance".into(),
                    resource_id: "i-1".into(),
                },
                pb::ResourceKey {
                    resource_type: "AWS::EC2::Instance".into(),
                    resource_id: "i-missing".into(),
                },
                pb::ResourceKey {
                    resource_type: "AWS::S3::Bucket".into(),
                    resource_id: "bucket-1".into(),
                },
            ],
        })
        .await
        .unwrap()
        .into_inner();
    let current = &batch.base_configuration_items[0];
    assert_eq!(current.resource_id, "i-1");
    assert_eq!(
        current.configuration_state_id,
        second.configuration_state_ids[0]
    );
    assert_eq!(current.aws_region, REGION);
    assert_eq!(current.account_id, ACCOUNT);
    assert_eq!(current.version, "1.3");
    assert_eq!(current.resource_name, "name-i-1");
    assert_eq!(current.tags[0].key, "env");
    let configuration: serde_json::Value = serde_json::from_str(&current.configuration).unwrap();
    assert_eq!(configuration["at"], 200);
    assert_eq!(batch.base_configuration_items[1].resource_id, "bucket-1");
    assert_eq!(batch.unprocessed_resource_keys.len(), 1);
    assert_eq!(batch.unprocessed_resource_keys[0].resource_id, "i-missing");

    let versions = history(
        &mut config,
        "i-1",
        pb::ChronologicalOrder::Unspecified,
        (None, None),
        0,
        String::new(),
    )
    .await
    .unwrap();
    assert_eq!(capture_seconds(&versions.configuration_items), [200, 100]);
    let unknown = history(
        &mut config,
        "i-never",
        pb::ChronologicalOrder::Unspecified,
        (None, None),
        0,
        String::new(),
    )
    .await
    .unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound);
    assert_eq!(reason(&unknown), "ResourceNotDiscoveredException");

    assert_eq!(
        list(&mut config, "AWS::EC2::Instance", false).await,
        ["i-1", "i-2"]
    );
    let (total, per_type) = counts(&mut config).await;
    assert_eq!(total, 3);
    assert_eq!(
        per_type,
        [
            ("AWS::EC2::Instance".to_string(), 2),
            ("AWS::S3::Bucket".to_string(), 1)
        ]
    );
    cluster.shutdown().await;
}

async fn history_is_ordered_both_ways_within_time_windows_and_pages(backend: Backend) {
    let cluster = start(backend).await;
    let mut config = account_client(&cluster, ACCOUNT).await;
    start_recorder(&mut config, ACCOUNT).await;
    // Captured out of order: history orders by capture time, not by arrival.
    for seconds in [300, 100, 500, 200, 400] {
        put(
            &mut config,
            ACCOUNT,
            vec![item("AWS::EC2::Instance", "i-1", seconds)],
        )
        .await
        .unwrap();
    }
    let reverse = history(
        &mut config,
        "i-1",
        pb::ChronologicalOrder::Reverse,
        (None, None),
        0,
        String::new(),
    )
    .await
    .unwrap();
    assert_eq!(
        capture_seconds(&reverse.configuration_items),
        [500, 400, 300, 200, 100]
    );
    assert!(reverse.next_page_token.is_empty());
    let forward = history(
        &mut config,
        "i-1",
        pb::ChronologicalOrder::Forward,
        (None, None),
        0,
        String::new(),
    )
    .await
    .unwrap();
    assert_eq!(
        capture_seconds(&forward.configuration_items),
        [100, 200, 300, 400, 500]
    );
    let window = history(
        &mut config,
        "i-1",
        pb::ChronologicalOrder::Forward,
        (Some(200), Some(400)),
        0,
        String::new(),
    )
    .await
    .unwrap();
    assert_eq!(
        capture_seconds(&window.configuration_items),
        [200, 300, 400]
    );

    // Pages of two, newest first, with no repeats or gaps.
    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let page = history(
            &mut config,
            "i-1",
            pb::ChronologicalOrder::Unspecified,
            (None, None),
            2,
            token,
        )
        .await
        .unwrap();
        assert!(page.configuration_items.len() <= 2);
        seen.extend(capture_seconds(&page.configuration_items));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(seen, [500, 400, 300, 200, 100]);

    let inverted = history(
        &mut config,
        "i-1",
        pb::ChronologicalOrder::Forward,
        (Some(400), Some(200)),
        0,
        String::new(),
    )
    .await
    .unwrap_err();
    assert_eq!(inverted.code(), Code::InvalidArgument);
    assert_eq!(reason(&inverted), "InvalidTimeRangeException");
    let too_many = history(
        &mut config,
        "i-1",
        pb::ChronologicalOrder::Forward,
        (None, None),
        101,
        String::new(),
    )
    .await
    .unwrap_err();
    assert_eq!(reason(&too_many), "InvalidLimitException");
    let forged = history(
        &mut config,
        "i-1",
        pb::ChronologicalOrder::Forward,
        (None, None),
        2,
        "forged".into(),
    )
    .await
    .unwrap_err();
    assert_eq!(reason(&forged), "InvalidNextTokenException");
    cluster.shutdown().await;
}

async fn deleted_resources_leave_lists_and_counts_but_stay_in_history(backend: Backend) {
    let cluster = start(backend).await;
    let mut config = account_client(&cluster, ACCOUNT).await;
    start_recorder(&mut config, ACCOUNT).await;
    put(
        &mut config,
        ACCOUNT,
        vec![
            item("AWS::EC2::Instance", "i-1", 100),
            item("AWS::EC2::Instance", "i-2", 100),
        ],
    )
    .await
    .unwrap();
    put(
        &mut config,
        ACCOUNT,
        vec![deleted("AWS::EC2::Instance", "i-1", 200)],
    )
    .await
    .unwrap();

    assert_eq!(
        list(&mut config, "AWS::EC2::Instance", false).await,
        ["i-2"]
    );
    let with_deleted = config
        .list_discovered_resources(pb::ListDiscoveredResourcesRequest {
            account_id: ACCOUNT.into(),
            resource_type: "AWS::EC2::Instance".into(),
            include_deleted_resources: true,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .resource_identifiers;
    assert_eq!(with_deleted.len(), 2);
    assert_eq!(with_deleted[0].resource_id, "i-1");
    assert_eq!(with_deleted[0].resource_deletion_time, Some(at(200)));
    assert_eq!(with_deleted[1].resource_deletion_time, None);
    assert_eq!(counts(&mut config).await.0, 1);

    let batch = config
        .batch_get_resource_config(pb::BatchGetResourceConfigRequest {
            account_id: ACCOUNT.into(),
            resource_keys: vec![pb::ResourceKey {
                resource_type: "AWS::EC2::Instance".into(),
                resource_id: "i-1".into(),
            }],
        })
        .await
        .unwrap()
        .into_inner();
    assert!(batch.base_configuration_items.is_empty());
    assert_eq!(batch.unprocessed_resource_keys.len(), 1);

    let past = history(
        &mut config,
        "i-1",
        pb::ChronologicalOrder::Unspecified,
        (None, None),
        0,
        String::new(),
    )
    .await
    .unwrap()
    .configuration_items;
    assert_eq!(capture_seconds(&past), [200, 100]);
    assert_eq!(
        past[0].configuration_item_status,
        pb::ConfigurationItemStatus::ResourceDeleted as i32
    );
    cluster.shutdown().await;
}

async fn global_resource_types_are_recorded_in_region_global(backend: Backend) {
    let cluster = start(backend).await;
    let mut config = account_client(&cluster, ACCOUNT).await;
    start_recorder(&mut config, ACCOUNT).await;
    put(
        &mut config,
        ACCOUNT,
        vec![
            item("AWS::IAM::Role", "AROA1", 100),
            item("AWS::EC2::Instance", "i-1", 100),
        ],
    )
    .await
    .unwrap();
    let batch = config
        .batch_get_resource_config(pb::BatchGetResourceConfigRequest {
            account_id: ACCOUNT.into(),
            resource_keys: vec![
                pb::ResourceKey {
                    resource_type: "AWS::IAM::Role".into(),
                    resource_id: "AROA1".into(),
                },
                pb::ResourceKey {
                    resource_type: "AWS::EC2::Instance".into(),
                    resource_id: "i-1".into(),
                },
            ],
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(batch.base_configuration_items[0].aws_region, "global");
    assert_eq!(batch.base_configuration_items[1].aws_region, REGION);
    assert_eq!(list(&mut config, "AWS::IAM::Role", false).await, ["AROA1"]);
    cluster.shutdown().await;
}

async fn custom_resources_are_put_and_deleted(backend: Backend) {
    let cluster = start(backend).await;
    let mut config = account_client(&cluster, ACCOUNT).await;
    start_recorder(&mut config, ACCOUNT).await;
    let put_custom = |configuration: &str| pb::PutResourceConfigRequest {
        account_id: ACCOUNT.into(),
        resource_type: "MyCompany::Storage::Volume".into(),
        schema_version_id: "00000001".into(),
        resource_id: "vol-1".into(),
        resource_name: "volume one".into(),
        configuration: configuration.into(),
        tags: Vec::new(),
    };
    let first = config
        .put_resource_config(put_custom(r#"{"size": 1}"#))
        .await
        .unwrap()
        .into_inner()
        .configuration_state_id;
    let second = config
        .put_resource_config(put_custom(r#"{"size": 2}"#))
        .await
        .unwrap()
        .into_inner()
        .configuration_state_id;
    assert!(second > first);

    let reserved = config
        .put_resource_config(pb::PutResourceConfigRequest {
            resource_type: "AWS::EC2::Instance".into(),
            ..put_custom("{}")
        })
        .await
        .unwrap_err();
    assert_eq!(reserved.code(), Code::InvalidArgument);
    assert_eq!(reason(&reserved), "ValidationException");
    assert_eq!(violated_fields(&reserved), ["resource_type"]);

    config
        .delete_resource_config(pb::DeleteResourceConfigRequest {
            account_id: ACCOUNT.into(),
            resource_type: "MyCompany::Storage::Volume".into(),
            resource_id: "vol-1".into(),
        })
        .await
        .unwrap();
    let again = config
        .delete_resource_config(pb::DeleteResourceConfigRequest {
            account_id: ACCOUNT.into(),
            resource_type: "MyCompany::Storage::Volume".into(),
            resource_id: "vol-1".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(again.code(), Code::NotFound);
    assert_eq!(reason(&again), "ResourceNotDiscoveredException");

    let statuses: Vec<i32> = config
        .get_resource_config_history(pb::GetResourceConfigHistoryRequest {
            account_id: ACCOUNT.into(),
            resource_type: "MyCompany::Storage::Volume".into(),
            resource_id: "vol-1".into(),
            chronological_order: pb::ChronologicalOrder::Forward as i32,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .configuration_items
        .into_iter()
        .map(|item| item.configuration_item_status)
        .collect();
    assert_eq!(
        statuses,
        [
            pb::ConfigurationItemStatus::ResourceDiscovered as i32,
            pb::ConfigurationItemStatus::Ok as i32,
            pb::ConfigurationItemStatus::ResourceDeleted as i32,
        ]
    );
    cluster.shutdown().await;
}

async fn bad_input_is_rejected_by_field_and_writes_nothing(backend: Backend) {
    let cluster = start(backend).await;
    let mut config = account_client(&cluster, ACCOUNT).await;
    start_recorder(&mut config, ACCOUNT).await;
    let before = head(&cluster).await;

    let mut bad_type = item("AWS::EC2::Instance", "i-4", 100);
    bad_type.resource_type = "EC2Instance".into();
    let mut bad_id = item("AWS::EC2::Instance", "", 100);
    bad_id.resource_id = "x".repeat(769);
    let mut bad_json = item("AWS::EC2::Instance", "i-6", 100);
    bad_json.configuration = "{not json".into();
    let mut not_object = item("AWS::EC2::Instance", "i-7", 100);
    not_object.configuration = "[1, 2]".into();
    let mut no_status = item("AWS::EC2::Instance", "i-8", 100);
    no_status.configuration_item_status = 0;
    let mut no_time = item("AWS::EC2::Instance", "i-9", 100);
    no_time.configuration_item_capture_time = None;
    let mut many_tags = item("AWS::EC2::Instance", "i-10", 100);
    many_tags.tags = (0..51)
        .map(|index| types_pb::Tag {
            key: format!("k{index}"),
            value: "v".into(),
        })
        .collect();
    let mut long_tag = item("AWS::EC2::Instance", "i-11", 100);
    long_tag.tags = vec![types_pb::Tag {
        key: "k".repeat(129),
        value: "v".repeat(257),
    }];
    let mut bad_supplementary = item("AWS::EC2::Instance", "i-12", 100);
    bad_supplementary
        .supplementary_configuration
        .insert("BucketPolicy".into(), "{oops".into());
    let batch = vec![
        item("AWS::EC2::Instance", "i-good", 100),
        item("AWS::EC2::Instance", "i-good", 100),
        item("AWS::EC2::Instance", "i-2", 100),
        bad_type,
        bad_id,
        item("AWS::EC2::Instance", "i-5", 100),
        bad_json,
        not_object,
        no_status,
        no_time,
        many_tags,
        long_tag,
        bad_supplementary,
    ];
    let status = put(&mut config, ACCOUNT, batch).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(reason(&status), "ValidationException");
    let fields = violated_fields(&status);
    for expected in [
        "items[1].resource_id",
        "items[3].resource_type",
        "items[4].resource_id",
        "items[6].configuration",
        "items[7].configuration",
        "items[8].configuration_item_status",
        "items[9].configuration_item_capture_time",
        "items[10].tags",
        "items[11].tags[0].key",
        "items[11].tags[0].value",
        "items[12].supplementary_configuration[BucketPolicy]",
    ] {
        assert!(
            fields.iter().any(|field| field == expected),
            "{expected} is named in {fields:?}"
        );
    }
    assert_eq!(
        head(&cluster).await,
        before,
        "a rejected batch writes nothing"
    );
    assert!(
        list(&mut config, "AWS::EC2::Instance", true)
            .await
            .is_empty()
    );

    let empty = put(&mut config, ACCOUNT, Vec::new()).await.unwrap_err();
    assert_eq!(violated_fields(&empty), ["items"]);
    let oversized = put(
        &mut config,
        ACCOUNT,
        (0..101)
            .map(|index| item("AWS::EC2::Instance", &format!("i-{index}"), 100))
            .collect(),
    )
    .await
    .unwrap_err();
    assert_eq!(violated_fields(&oversized), ["items"]);
    let bad_account = put(
        &mut config,
        "12",
        vec![item("AWS::EC2::Instance", "i-1", 1)],
    )
    .await
    .unwrap_err();
    assert_eq!(bad_account.code(), Code::InvalidArgument);
    assert_eq!(violated_fields(&bad_account), ["account_id"]);

    let too_many_keys = config
        .batch_get_resource_config(pb::BatchGetResourceConfigRequest {
            account_id: ACCOUNT.into(),
            resource_keys: (0..101)
                .map(|index| pb::ResourceKey {
                    resource_type: "AWS::EC2::Instance".into(),
                    resource_id: format!("i-{index}"),
                })
                .collect(),
        })
        .await
        .unwrap_err();
    assert_eq!(reason(&too_many_keys), "ValidationException");
    assert_eq!(violated_fields(&too_many_keys), ["resource_keys"]);
    let both_filters = config
        .list_discovered_resources(pb::ListDiscoveredResourcesRequest {
            account_id: ACCOUNT.into(),
            resource_type: "AWS::EC2::Instance".into(),
            resource_ids: vec!["i-1".into()],
            resource_name: "name".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&both_filters), ["resource_name"]);
    let no_type = config
        .list_discovered_resources(pb::ListDiscoveredResourcesRequest {
            account_id: ACCOUNT.into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&no_type), ["resource_type"]);
    let bad_group = config
        .put_configuration_recorder(pb::PutConfigurationRecorderRequest {
            account_id: ACCOUNT.into(),
            configuration_recorder: Some(pb::ConfigurationRecorder {
                name: "default".into(),
                recording_group: Some(pb::RecordingGroup {
                    all_supported: false,
                    include_global_resource_types: false,
                    resource_types: Vec::new(),
                }),
            }),
        })
        .await
        .unwrap_err();
    assert_eq!(reason(&bad_group), "InvalidRecordingGroupException");
    assert_eq!(head(&cluster).await, before, "rejected calls write nothing");
    cluster.shutdown().await;
}

async fn accounts_act_only_for_themselves(backend: Backend) {
    let cluster = start(backend).await;
    let mut own = account_client(&cluster, ACCOUNT).await;
    start_recorder(&mut own, ACCOUNT).await;
    put(
        &mut own,
        ACCOUNT,
        vec![item("AWS::EC2::Instance", "i-1", 100)],
    )
    .await
    .unwrap();

    let mut other = account_client(&cluster, "222222222222").await;
    let denied = put(
        &mut other,
        ACCOUNT,
        vec![item("AWS::EC2::Instance", "i-2", 100)],
    )
    .await
    .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);
    assert_eq!(reason(&denied), "AccessDeniedException");
    let denied = other
        .list_discovered_resources(pb::ListDiscoveredResourcesRequest {
            account_id: ACCOUNT.into(),
            resource_type: "AWS::EC2::Instance".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);
    let denied = other
        .describe_configuration_recorder_status(pb::DescribeConfigurationRecorderStatusRequest {
            account_id: ACCOUNT.into(),
        })
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);

    // Services act for any account.
    let mut service = cluster.config(REGION, cluster.service_key());
    put(
        &mut service,
        ACCOUNT,
        vec![item("AWS::EC2::Instance", "i-3", 100)],
    )
    .await
    .unwrap();
    assert_eq!(
        list(&mut own, "AWS::EC2::Instance", false).await,
        ["i-1", "i-3"]
    );
    cluster.shutdown().await;
}

async fn lists_and_counts_page_with_limits_and_tokens(backend: Backend) {
    let cluster = start(backend).await;
    let mut config = account_client(&cluster, ACCOUNT).await;
    start_recorder(&mut config, ACCOUNT).await;
    let mut batch: Vec<_> = (0..7)
        .map(|index| item("AWS::EC2::Instance", &format!("i-{index}"), 100))
        .collect();
    for service in ["Lambda", "SQS", "SNS"] {
        batch.push(item(&format!("AWS::{service}::Thing"), "only", 100));
    }
    put(&mut config, ACCOUNT, batch).await.unwrap();

    let mut listed = Vec::new();
    let mut token = String::new();
    loop {
        let page = config
            .list_discovered_resources(pb::ListDiscoveredResourcesRequest {
                account_id: ACCOUNT.into(),
                resource_type: "AWS::EC2::Instance".into(),
                page_size: 3,
                page_token: token,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert!(page.resource_identifiers.len() <= 3);
        listed.extend(
            page.resource_identifiers
                .into_iter()
                .map(|resource| resource.resource_id),
        );
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(
        listed,
        (0..7).map(|index| format!("i-{index}")).collect::<Vec<_>>()
    );
    let filtered = config
        .list_discovered_resources(pb::ListDiscoveredResourcesRequest {
            account_id: ACCOUNT.into(),
            resource_type: "AWS::EC2::Instance".into(),
            resource_ids: vec!["i-3".into(), "i-5".into(), "i-none".into()],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .resource_identifiers;
    assert_eq!(filtered.len(), 2);
    let by_name = config
        .list_discovered_resources(pb::ListDiscoveredResourcesRequest {
            account_id: ACCOUNT.into(),
            resource_type: "AWS::EC2::Instance".into(),
            resource_name: "name-i-4".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .resource_identifiers;
    assert_eq!(by_name.len(), 1);
    assert_eq!(by_name[0].resource_id, "i-4");

    let mut counted = Vec::new();
    let mut token = String::new();
    loop {
        let page = config
            .get_discovered_resource_counts(pb::GetDiscoveredResourceCountsRequest {
                account_id: ACCOUNT.into(),
                page_size: 2,
                page_token: token,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(page.total_discovered_resources, 10);
        counted.extend(
            page.resource_counts
                .into_iter()
                .map(|count| (count.resource_type, count.count)),
        );
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(
        counted,
        [
            ("AWS::EC2::Instance".to_string(), 7),
            ("AWS::Lambda::Thing".to_string(), 1),
            ("AWS::SNS::Thing".to_string(), 1),
            ("AWS::SQS::Thing".to_string(), 1),
        ]
    );
    let only_some = config
        .get_discovered_resource_counts(pb::GetDiscoveredResourceCountsRequest {
            account_id: ACCOUNT.into(),
            resource_types: vec!["AWS::SQS::Thing".into(), "AWS::EC2::Instance".into()],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(only_some.total_discovered_resources, 8);
    assert_eq!(only_some.resource_counts.len(), 2);

    let too_large = config
        .list_discovered_resources(pb::ListDiscoveredResourcesRequest {
            account_id: ACCOUNT.into(),
            resource_type: "AWS::EC2::Instance".into(),
            page_size: 101,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(reason(&too_large), "InvalidLimitException");
    let forged = config
        .get_discovered_resource_counts(pb::GetDiscoveredResourceCountsRequest {
            account_id: ACCOUNT.into(),
            page_token: "bogus".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(reason(&forged), "InvalidNextTokenException");
    cluster.shutdown().await;
}
