//! End-to-end tests of the collector's change log: Subscribe (catch-up, live tail, resume),
//! Snapshot, GetHead, compaction and the ordering guarantee under concurrent writers, over real
//! gRPC on SQLite and PostgreSQL. Every stream names a Config aggregator entitled to both test
//! accounts in the region.

// A panic in a test is a failed assertion with a location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::{collections::BTreeMap, time::Duration};

use support::{
    Authed, Backend, TestCluster, account_principal, config_aggregator_reference, reason,
    violated_fields,
};
use tonic::{Code, Streaming};
use tributary_proto::{collector::v1 as pb, membership::v1 as membership_pb};

on_both_backends! {
    subscribe_catches_up_from_zero_and_the_middle_then_tails_live,
    a_resumed_subscription_has_no_gap_and_no_duplicate,
    snapshot_plus_subscribe_from_its_seq_equals_the_full_state,
    compaction_keeps_the_latest_record_and_expires_older_cursors,
    concurrent_writers_never_let_a_reader_skip_a_seq,
    change_log_calls_need_a_service_or_operator_key,
    filters_select_accounts_and_kinds,
}

const REGION: &str = "us-east-1";
const ACCOUNT: &str = "111111111111";
const OTHER_ACCOUNT: &str = "222222222222";
const WAIT: Duration = Duration::from_secs(20);

type Config = pb::config_service_client::ConfigServiceClient<Authed>;
type ChangeLog = pb::change_log_service_client::ChangeLogServiceClient<Authed>;

const AGGREGATOR: &str = "change-log";

/// Starts the cluster and declares the aggregator every stream names, entitled to both accounts.
async fn start(backend: Backend) -> TestCluster {
    let cluster = TestCluster::builder(backend)
        .collector(REGION)
        .start()
        .await;
    cluster
        .entitled_config_aggregator(
            ACCOUNT,
            REGION,
            AGGREGATOR,
            &[ACCOUNT, OTHER_ACCOUNT],
            &[REGION],
        )
        .await;
    cluster
}

fn aggregator() -> Option<membership_pb::AggregatorReference> {
    Some(config_aggregator_reference(ACCOUNT, REGION, AGGREGATOR))
}

fn service_config(cluster: &TestCluster) -> Config {
    cluster.config(REGION, cluster.service_key())
}

fn change_log(cluster: &TestCluster) -> ChangeLog {
    cluster.change_log(REGION, cluster.service_key())
}

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

fn item(resource_id: &str, seconds: i64) -> pb::ConfigurationItemInput {
    pb::ConfigurationItemInput {
        resource_type: "AWS::EC2::Instance".into(),
        resource_id: resource_id.into(),
        configuration_item_status: pb::ConfigurationItemStatus::Ok as i32,
        configuration_item_capture_time: Some(prost_types::Timestamp { seconds, nanos: 0 }),
        configuration: format!(r#"{{"at": {seconds}}}"#),
        ..Default::default()
    }
}

fn deleted(resource_id: &str, seconds: i64) -> pb::ConfigurationItemInput {
    pb::ConfigurationItemInput {
        configuration_item_status: pb::ConfigurationItemStatus::ResourceDeleted as i32,
        configuration: String::new(),
        ..item(resource_id, seconds)
    }
}

async fn put(config: &mut Config, account_id: &str, items: Vec<pb::ConfigurationItemInput>) -> u64 {
    config
        .put_configuration_items(pb::PutConfigurationItemsRequest {
            account_id: account_id.into(),
            items,
        })
        .await
        .unwrap()
        .into_inner()
        .change_log_seq
}

async fn subscribe(
    client: &mut ChangeLog,
    from_seq: u64,
) -> Result<Streaming<pb::SubscribeResponse>, tonic::Status> {
    client
        .subscribe(pb::SubscribeRequest {
            from_seq,
            account_ids: Vec::new(),
            kinds: Vec::new(),
            aggregator: aggregator(),
            aggregators: Vec::new(),
        })
        .await
        .map(tonic::Response::into_inner)
}

/// Receives records until one at `through` or above arrives, failing after the deadline.
async fn receive_through(
    stream: &mut Streaming<pb::SubscribeResponse>,
    through: u64,
) -> Vec<pb::ChangeRecord> {
    let mut records: Vec<pb::ChangeRecord> = Vec::new();
    while records.last().is_none_or(|record| record.seq < through) {
        let batch = tokio::time::timeout(WAIT, stream.message())
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "no record up to {through} within {WAIT:?}; last seen {:?}",
                    records.last().map(|record| record.seq)
                )
            })
            .expect("the stream stays healthy")
            .expect("the stream stays open");
        assert!(!batch.records.is_empty() && batch.records.len() <= 500);
        assert!(batch.through_seq >= batch.records.last().unwrap().seq);
        records.extend(batch.records);
    }
    records
}

async fn head(client: &mut ChangeLog) -> pb::GetHeadResponse {
    client
        .get_head(pb::GetHeadRequest {})
        .await
        .unwrap()
        .into_inner()
}

fn seqs(records: &[pb::ChangeRecord]) -> Vec<u64> {
    records.iter().map(|record| record.seq).collect()
}

/// Applies records to a state keyed by (account, kind, key); deletes remove the key.
fn apply(
    state: &mut BTreeMap<(String, i32, String), pb::ChangeRecord>,
    records: Vec<pb::ChangeRecord>,
) {
    for record in records {
        let key = (record.account_id.clone(), record.kind, record.key.clone());
        if record.op == pb::ChangeOp::Delete as i32 {
            state.remove(&key);
        } else {
            state.insert(key, record);
        }
    }
}

/// The payload a state entry holds, without the commit time Snapshot does not carry.
fn payloads(
    state: &BTreeMap<(String, i32, String), pb::ChangeRecord>,
) -> BTreeMap<(String, i32, String), (u64, Option<pb::change_record::Payload>)> {
    state
        .iter()
        .map(|(key, record)| (key.clone(), (record.seq, record.payload.clone())))
        .collect()
}

async fn subscribe_catches_up_from_zero_and_the_middle_then_tails_live(backend: Backend) {
    let cluster = start(backend).await;
    let mut config = service_config(&cluster);
    let mut client = change_log(&cluster);
    assert_eq!(head(&mut client).await.head_seq, 0);
    start_recorder(&mut config, ACCOUNT).await;
    let middle = put(
        &mut config,
        ACCOUNT,
        vec![item("i-1", 100), item("i-2", 100)],
    )
    .await;
    let written = put(&mut config, ACCOUNT, vec![item("i-1", 200)]).await;
    assert_eq!(head(&mut client).await.head_seq, written);

    let mut from_zero = subscribe(&mut client, 0).await.unwrap();
    let records = receive_through(&mut from_zero, written).await;
    assert_eq!(seqs(&records), (1..=written).collect::<Vec<_>>());
    let first_item = records
        .iter()
        .find(|record| record.kind == pb::ChangeKind::ConfigurationItem as i32)
        .unwrap();
    assert_eq!(first_item.key, "AWS::EC2::Instance|i-1");
    assert_eq!(first_item.account_id, ACCOUNT);
    assert!(first_item.version.is_some() && first_item.committed_at.is_some());
    match &first_item.payload {
        Some(pb::change_record::Payload::ConfigurationItem(item)) => {
            assert_eq!(item.configuration_state_id, first_item.seq);
        }
        other => panic!("expected a configuration item, got {other:?}"),
    }

    let mut from_middle = subscribe(&mut client, middle).await.unwrap();
    let records = receive_through(&mut from_middle, written).await;
    assert_eq!(seqs(&records), ((middle + 1)..=written).collect::<Vec<_>>());

    // A write after subscribing arrives on both live streams.
    let live = put(&mut config, ACCOUNT, vec![deleted("i-2", 300)]).await;
    for stream in [&mut from_zero, &mut from_middle] {
        let records = receive_through(stream, live).await;
        assert_eq!(seqs(&records), [live]);
        assert_eq!(records[0].op, pb::ChangeOp::Delete as i32);
        assert!(records[0].payload.is_none());
    }

    // Shutting the server down ends the streams.
    cluster.shutdown().await;
    let ended = tokio::time::timeout(WAIT, from_zero.message())
        .await
        .unwrap();
    assert!(
        !matches!(ended, Ok(Some(_))),
        "the stream ends, got {ended:?}"
    );
}

async fn a_resumed_subscription_has_no_gap_and_no_duplicate(backend: Backend) {
    let cluster = start(backend).await;
    let mut config = service_config(&cluster);
    let mut client = change_log(&cluster);
    start_recorder(&mut config, ACCOUNT).await;
    let first = put(&mut config, ACCOUNT, vec![item("i-1", 1), item("i-2", 1)]).await;

    let mut stream = subscribe(&mut client, 0).await.unwrap();
    let mut received = receive_through(&mut stream, first).await;
    drop(stream);

    // Writes while disconnected, then resume from the last seq received.
    let mut last = first;
    for round in 0..5 {
        last = put(
            &mut config,
            ACCOUNT,
            vec![item("i-1", 10 + round), item("i-3", 10 + round)],
        )
        .await;
    }
    let mut resumed = subscribe(&mut client, received.last().unwrap().seq)
        .await
        .unwrap();
    received.extend(receive_through(&mut resumed, last).await);
    let newest = put(&mut config, ACCOUNT, vec![item("i-4", 99)]).await;
    received.extend(receive_through(&mut resumed, newest).await);
    assert_eq!(seqs(&received), (1..=newest).collect::<Vec<_>>());
    cluster.shutdown().await;
}

async fn snapshot_plus_subscribe_from_its_seq_equals_the_full_state(backend: Backend) {
    let cluster = start(backend).await;
    let mut config = service_config(&cluster);
    let mut client = change_log(&cluster);
    start_recorder(&mut config, ACCOUNT).await;
    start_recorder(&mut config, OTHER_ACCOUNT).await;
    put(
        &mut config,
        ACCOUNT,
        vec![item("i-1", 1), item("i-2", 1), item("i-3", 1)],
    )
    .await;
    put(&mut config, OTHER_ACCOUNT, vec![item("i-9", 1)]).await;
    put(
        &mut config,
        ACCOUNT,
        vec![item("i-1", 2), deleted("i-2", 2)],
    )
    .await;

    let mut snapshot = client
        .snapshot(pb::SnapshotRequest {
            aggregator: aggregator(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let mut state = BTreeMap::new();
    let mut snapshot_seq = None;
    while let Some(batch) = tokio::time::timeout(WAIT, snapshot.message())
        .await
        .unwrap()
        .unwrap()
    {
        assert!(batch.records.len() <= 500);
        assert!(snapshot_seq.is_none_or(|seq| seq == batch.seq));
        snapshot_seq = Some(batch.seq);
        assert!(
            batch
                .records
                .iter()
                .all(|record| record.op == pb::ChangeOp::Upsert as i32)
        );
        apply(&mut state, batch.records);
    }
    let snapshot_seq = snapshot_seq.expect("a snapshot sends at least one message");
    assert_eq!(snapshot_seq, head(&mut client).await.head_seq);
    // Two recorders and three live items (i-2 is deleted).
    assert_eq!(state.len(), 5);

    // Changes after the snapshot, then the tail from its seq completes the state.
    let last = put(
        &mut config,
        ACCOUNT,
        vec![item("i-2", 3), deleted("i-3", 3), item("i-5", 3)],
    )
    .await;
    let mut tail = subscribe(&mut client, snapshot_seq).await.unwrap();
    apply(&mut state, receive_through(&mut tail, last).await);

    let mut everything = subscribe(&mut client, 0).await.unwrap();
    let mut full = BTreeMap::new();
    apply(&mut full, receive_through(&mut everything, last).await);
    assert_eq!(payloads(&state), payloads(&full));

    // A snapshot of one account and kind holds only that.
    let mut narrow = client
        .snapshot(pb::SnapshotRequest {
            account_ids: vec![OTHER_ACCOUNT.into()],
            kinds: vec![pb::ChangeKind::ConfigurationItem as i32],
            aggregator: aggregator(),
            aggregators: Vec::new(),
        })
        .await
        .unwrap()
        .into_inner();
    let batch = narrow.message().await.unwrap().unwrap();
    assert_eq!(batch.records.len(), 1);
    assert_eq!(batch.records[0].key, "AWS::EC2::Instance|i-9");
    cluster.shutdown().await;
}

async fn compaction_keeps_the_latest_record_and_expires_older_cursors(backend: Backend) {
    let cluster = start(backend).await;
    let mut config = service_config(&cluster);
    let mut client = change_log(&cluster);
    start_recorder(&mut config, ACCOUNT).await;
    let first = put(&mut config, ACCOUNT, vec![item("i-1", 1), item("i-2", 1)]).await;
    let last = put(&mut config, ACCOUNT, vec![item("i-1", 2)]).await;

    let denied = change_log(&cluster)
        .compact_change_log(pb::CompactChangeLogRequest {
            retention_seconds: Some(0),
        })
        .await
        .unwrap_err();
    assert_eq!(
        denied.code(),
        Code::PermissionDenied,
        "compaction is for operators"
    );
    // The default retention (7 days) keeps everything.
    let mut operator = cluster.change_log(REGION, cluster.operator_key());
    let kept = operator
        .compact_change_log(pb::CompactChangeLogRequest {
            retention_seconds: None,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!((kept.deleted_records, kept.compaction_horizon_seq), (0, 0));

    let compacted = operator
        .compact_change_log(pb::CompactChangeLogRequest {
            retention_seconds: Some(0),
        })
        .await
        .unwrap()
        .into_inner();
    // The recorder's first two states and the first record of i-1 were superseded; the batch
    // wrote i-1, i-2 and then the recorder's SUCCESS status, so i-1's first record is `first - 2`.
    assert_eq!(compacted.deleted_records, 3);
    let horizon = compacted.compaction_horizon_seq;
    assert_eq!(horizon, first - 2);
    let reported = head(&mut client).await;
    assert_eq!(
        (reported.head_seq, reported.compaction_horizon_seq),
        (last, horizon)
    );

    let expired = subscribe(&mut client, horizon - 1).await.unwrap_err();
    assert_eq!(expired.code(), Code::FailedPrecondition);
    assert_eq!(reason(&expired), "CursorExpiredException");

    // From the horizon on, the latest record of every key is still there.
    let mut stream = subscribe(&mut client, horizon).await.unwrap();
    let records = receive_through(&mut stream, last).await;
    assert_eq!(records.last().unwrap().seq, last);
    assert!(records.iter().all(|record| record.seq > horizon));
    let zero = subscribe(&mut client, 0).await.unwrap_err();
    assert_eq!(zero.code(), Code::FailedPrecondition);
    cluster.shutdown().await;
}

async fn concurrent_writers_never_let_a_reader_skip_a_seq(backend: Backend) {
    const WRITERS: usize = 4;
    const BATCHES: usize = 15;
    const ITEMS: usize = 4;
    let cluster = start(backend).await;
    let mut config = service_config(&cluster);
    let mut client = change_log(&cluster);
    start_recorder(&mut config, ACCOUNT).await;
    let start_seq = head(&mut client).await.head_seq;

    // The reader subscribes before the writers start and checks every seq it receives.
    let mut stream = subscribe(&mut client, start_seq).await.unwrap();
    let expected_records = u64::try_from(WRITERS * BATCHES * ITEMS).unwrap();
    // The recorder's last status flips to SUCCESS once, with one more record.
    let expected_head = start_seq + expected_records + 1;
    let reader = tokio::spawn(async move {
        let mut previous = start_seq;
        while previous < expected_head {
            let batch = tokio::time::timeout(WAIT, stream.message())
                .await
                .unwrap_or_else(|_| panic!("stalled after seq {previous}"))
                .expect("the stream stays healthy")
                .expect("the stream stays open");
            for record in batch.records {
                assert_eq!(record.seq, previous + 1, "seq after {previous}");
                previous = record.seq;
            }
        }
        previous
    });

    let mut writers = Vec::new();
    for writer in 0..WRITERS {
        let mut config = service_config(&cluster);
        writers.push(tokio::spawn(async move {
            for batch in 0..BATCHES {
                let items = (0..ITEMS)
                    .map(|index| item(&format!("w{writer}-b{batch}-i{index}"), 1))
                    .collect();
                put(&mut config, ACCOUNT, items).await;
            }
        }));
    }
    for writer in writers {
        writer.await.unwrap();
    }
    assert_eq!(head(&mut client).await.head_seq, expected_head);
    assert_eq!(reader.await.unwrap(), expected_head);
    cluster.shutdown().await;
}

async fn change_log_calls_need_a_service_or_operator_key(backend: Backend) {
    let cluster = start(backend).await;
    let (account_key, _) = cluster.create_key(account_principal(ACCOUNT)).await;
    let mut account_client = cluster.change_log(REGION, &account_key);
    let denied = account_client
        .get_head(pb::GetHeadRequest {})
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);
    assert_eq!(reason(&denied), "AccessDeniedException");
    let denied = subscribe(&mut account_client, 0).await.unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);
    let denied = account_client
        .snapshot(pb::SnapshotRequest {
            aggregator: aggregator(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);

    let mut operator = cluster.change_log(REGION, cluster.operator_key());
    assert_eq!(head(&mut operator).await.head_seq, 0);
    let bad = operator
        .subscribe(pb::SubscribeRequest {
            from_seq: 0,
            account_ids: vec!["nope".into()],
            kinds: vec![pb::ChangeKind::Unspecified as i32],
            aggregator: aggregator(),
            aggregators: Vec::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(bad.code(), Code::InvalidArgument);
    assert_eq!(violated_fields(&bad), ["account_ids[0]", "kinds[0]"]);
    cluster.shutdown().await;
}

async fn filters_select_accounts_and_kinds(backend: Backend) {
    let cluster = start(backend).await;
    let mut config = service_config(&cluster);
    let mut client = change_log(&cluster);
    start_recorder(&mut config, ACCOUNT).await;
    start_recorder(&mut config, OTHER_ACCOUNT).await;
    put(&mut config, ACCOUNT, vec![item("i-1", 1)]).await;
    let last = put(&mut config, OTHER_ACCOUNT, vec![item("i-2", 1)]).await;

    let mut stream = client
        .subscribe(pb::SubscribeRequest {
            from_seq: 0,
            account_ids: vec![OTHER_ACCOUNT.into()],
            kinds: vec![pb::ChangeKind::ConfigurationItem as i32],
            aggregator: aggregator(),
            aggregators: Vec::new(),
        })
        .await
        .unwrap()
        .into_inner();
    let batch = tokio::time::timeout(WAIT, stream.message())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(batch.records.len(), 1);
    assert_eq!(batch.records[0].key, "AWS::EC2::Instance|i-2");
    assert_eq!(batch.through_seq, last);
    cluster.shutdown().await;
}
