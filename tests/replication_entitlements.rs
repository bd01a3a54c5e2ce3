//! Data never leaves a region without an entitlement: change-log streams carry only accounts the
//! named aggregator is entitled to in the collector's region, end when membership revokes one, and
//! administrators read (but never write) their members' configuration data; over real gRPC on
//! SQLite and PostgreSQL.

// A panic in a test is a failed assertion with a location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::{collections::BTreeSet, time::Duration};

use support::{Authed, Backend, TestCluster, config_aggregator_reference, reason, violated_fields};
use tonic::{Code, Streaming};
use tributary_proto::{collector::v1 as pb, membership::v1 as membership_pb};

on_both_backends! {
    an_entitled_account_streams_and_an_unentitled_one_is_refused,
    an_empty_account_list_streams_exactly_the_entitled_set_of_the_region,
    revoking_an_authorization_ends_an_open_subscription,
    an_unknown_aggregator_is_not_found,
    an_administrator_reads_its_members_items_but_writes_only_its_own,
}

const REGION: &str = "us-east-1";
const OTHER_REGION: &str = "eu-west-1";
const OWNER: &str = "111111111111";
const SOURCE: &str = "222222222222";
const OUTSIDER: &str = "333333333333";
const PENDING: &str = "444444444444";
const AGGREGATOR: &str = "replication";
const WAIT: Duration = Duration::from_secs(20);

type Config = pb::config_service_client::ConfigServiceClient<Authed>;

/// Starts two regions and declares an aggregator of `OWNER` in `REGION` covering `OWNER`,
/// `SOURCE` (authorized) and `PENDING` (listed, never authorized) in `REGION` only.
async fn start(backend: Backend) -> TestCluster {
    let cluster = TestCluster::builder(backend)
        .collector(REGION)
        .collector(OTHER_REGION)
        .start()
        .await;
    cluster
        .entitled_config_aggregator(OWNER, REGION, AGGREGATOR, &[OWNER, SOURCE], &[REGION])
        .await;
    cluster.ensure_account(PENDING).await;
    cluster
        .entitlements(cluster.service_key())
        .declare_config_aggregator(membership_pb::DeclareConfigAggregatorRequest {
            declaration: Some(membership_pb::ConfigAggregatorDeclaration {
                owner_account_id: OWNER.into(),
                home_region: REGION.into(),
                aggregator_name: AGGREGATOR.into(),
                account_ids: vec![OWNER.into(), SOURCE.into(), PENDING.into()],
                organization_source: false,
                all_regions: false,
                regions: vec![REGION.into()],
            }),
        })
        .await
        .expect("the aggregator is re-declared with a pending account");
    cluster
}

fn aggregator() -> Option<membership_pb::AggregatorReference> {
    Some(config_aggregator_reference(OWNER, REGION, AGGREGATOR))
}

/// Starts a recorder for `account_id` and records one item; returns the change-log seq.
async fn record(config: &mut Config, account_id: &str, resource_id: &str) -> u64 {
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
    put_item(config, account_id, resource_id).await.unwrap()
}

async fn put_item(
    config: &mut Config,
    account_id: &str,
    resource_id: &str,
) -> Result<u64, tonic::Status> {
    config
        .put_configuration_items(pb::PutConfigurationItemsRequest {
            account_id: account_id.into(),
            items: vec![pb::ConfigurationItemInput {
                resource_type: "AWS::EC2::Instance".into(),
                resource_id: resource_id.into(),
                configuration_item_status: pb::ConfigurationItemStatus::Ok as i32,
                configuration_item_capture_time: Some(prost_types::Timestamp {
                    seconds: 100,
                    nanos: 0,
                }),
                configuration: r#"{"size": "large"}"#.into(),
                ..Default::default()
            }],
        })
        .await
        .map(|response| response.into_inner().change_log_seq)
}

async fn subscribe(
    cluster: &TestCluster,
    region: &str,
    account_ids: &[&str],
) -> Result<Streaming<pb::SubscribeResponse>, tonic::Status> {
    cluster
        .change_log(region, cluster.service_key())
        .subscribe(pb::SubscribeRequest {
            from_seq: 0,
            account_ids: account_ids.iter().map(|id| id.to_string()).collect(),
            kinds: Vec::new(),
            aggregator: aggregator(),
            aggregators: Vec::new(),
        })
        .await
        .map(tonic::Response::into_inner)
}

async fn snapshot_accounts(
    cluster: &TestCluster,
    region: &str,
    account_ids: &[&str],
) -> Result<(u64, BTreeSet<String>), tonic::Status> {
    let mut stream = cluster
        .change_log(region, cluster.service_key())
        .snapshot(pb::SnapshotRequest {
            account_ids: account_ids.iter().map(|id| id.to_string()).collect(),
            kinds: Vec::new(),
            aggregator: aggregator(),
            aggregators: Vec::new(),
        })
        .await?
        .into_inner();
    let mut accounts = BTreeSet::new();
    let mut seq = None;
    while let Some(batch) = tokio::time::timeout(WAIT, stream.message())
        .await
        .unwrap()?
    {
        seq = Some(batch.seq);
        accounts.extend(batch.records.into_iter().map(|record| record.account_id));
    }
    Ok((seq.expect("a snapshot sends a message"), accounts))
}

/// Receives records until one at `through` or above arrives.
async fn receive_through(
    stream: &mut Streaming<pb::SubscribeResponse>,
    through: u64,
) -> Vec<pb::ChangeRecord> {
    let mut records: Vec<pb::ChangeRecord> = Vec::new();
    while records.last().is_none_or(|record| record.seq < through) {
        let batch = tokio::time::timeout(WAIT, stream.message())
            .await
            .expect("a batch within the deadline")
            .expect("the stream stays healthy")
            .expect("the stream stays open");
        records.extend(batch.records);
    }
    records
}

fn accounts_of(records: &[pb::ChangeRecord]) -> BTreeSet<String> {
    records
        .iter()
        .map(|record| record.account_id.clone())
        .collect()
}

fn set(ids: &[&str]) -> BTreeSet<String> {
    ids.iter().map(|id| id.to_string()).collect()
}

fn assert_not_entitled(status: &tonic::Status, account_id: &str) {
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    assert_eq!(reason(status), "AuthorizationNotFoundException");
    assert!(status.message().contains(account_id), "{status:?}");
}

async fn an_entitled_account_streams_and_an_unentitled_one_is_refused(backend: Backend) {
    let cluster = start(backend).await;
    let mut config = cluster.config(REGION, cluster.service_key());
    record(&mut config, OUTSIDER, "i-outsider").await;
    let written = record(&mut config, SOURCE, "i-source").await;

    let mut stream = subscribe(&cluster, REGION, &[SOURCE]).await.unwrap();
    let records = receive_through(&mut stream, written).await;
    assert_eq!(accounts_of(&records), set(&[SOURCE]));
    assert_eq!(
        snapshot_accounts(&cluster, REGION, &[SOURCE])
            .await
            .unwrap()
            .1,
        set(&[SOURCE])
    );

    // An account outside the aggregator, one still pending, or one mixed in with an entitled
    // one: refused before anything is sent.
    for requested in [&[OUTSIDER][..], &[PENDING], &[SOURCE, OUTSIDER]] {
        let refused = subscribe(&cluster, REGION, requested).await.unwrap_err();
        assert_not_entitled(&refused, requested.last().unwrap());
        let refused = snapshot_accounts(&cluster, REGION, requested)
            .await
            .unwrap_err();
        assert_not_entitled(&refused, requested.last().unwrap());
    }
    // The entitlement is per region: this aggregator holds nothing in the other region.
    let refused = subscribe(&cluster, OTHER_REGION, &[SOURCE])
        .await
        .unwrap_err();
    assert_not_entitled(&refused, SOURCE);

    // The request must name an aggregator.
    let missing = cluster
        .change_log(REGION, cluster.service_key())
        .subscribe(pb::SubscribeRequest::default())
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Code::InvalidArgument);
    assert_eq!(violated_fields(&missing), ["aggregator"]);
    cluster.shutdown().await;
}

async fn an_empty_account_list_streams_exactly_the_entitled_set_of_the_region(backend: Backend) {
    let cluster = start(backend).await;
    let mut config = cluster.config(REGION, cluster.service_key());
    record(&mut config, OUTSIDER, "i-outsider").await;
    record(&mut config, PENDING, "i-pending").await;
    record(&mut config, OWNER, "i-owner").await;
    let last_entitled = record(&mut config, SOURCE, "i-source").await;

    let mut stream = subscribe(&cluster, REGION, &[]).await.unwrap();
    let records = receive_through(&mut stream, last_entitled).await;
    assert_eq!(accounts_of(&records), set(&[OWNER, SOURCE]));
    // A later write of an account outside the set never arrives; the next entitled one does.
    put_item(&mut config, OUTSIDER, "i-outsider-2")
        .await
        .unwrap();
    let next = put_item(&mut config, OWNER, "i-owner-2").await.unwrap();
    let records = receive_through(&mut stream, next).await;
    assert_eq!(accounts_of(&records), set(&[OWNER]));

    let (_, snapshot) = snapshot_accounts(&cluster, REGION, &[]).await.unwrap();
    assert_eq!(snapshot, set(&[OWNER, SOURCE]));

    // In a region the aggregator does not cover, the entitled set is empty: the snapshot is one
    // empty message at the head even though that region holds data.
    let mut other = cluster.config(OTHER_REGION, cluster.service_key());
    let other_head = record(&mut other, OWNER, "i-elsewhere").await;
    let (seq, accounts) = snapshot_accounts(&cluster, OTHER_REGION, &[])
        .await
        .unwrap();
    assert_eq!((seq, accounts), (other_head, BTreeSet::new()));
    let mut empty = subscribe(&cluster, OTHER_REGION, &[]).await.unwrap();
    let nothing = tokio::time::timeout(Duration::from_millis(300), empty.message()).await;
    assert!(nothing.is_err(), "nothing is streamed: {nothing:?}");
    cluster.shutdown().await;
}

async fn revoking_an_authorization_ends_an_open_subscription(backend: Backend) {
    let cluster = start(backend).await;
    let mut config = cluster.config(REGION, cluster.service_key());
    record(&mut config, OWNER, "i-owner").await;
    let written = record(&mut config, SOURCE, "i-source").await;
    let mut source_stream = subscribe(&cluster, REGION, &[SOURCE]).await.unwrap();
    let mut owner_stream = subscribe(&cluster, REGION, &[OWNER]).await.unwrap();
    receive_through(&mut source_stream, written).await;

    let source_key = cluster.account_key(SOURCE).await;
    cluster
        .authorizations(&source_key)
        .delete_aggregation_authorization(membership_pb::DeleteAggregationAuthorizationRequest {
            region: REGION.into(),
            authorized_account_id: OWNER.into(),
            authorized_aws_region: REGION.into(),
        })
        .await
        .expect("the source revokes its authorization");

    // The open stream ends with PERMISSION_DENIED within the deadline, without sending any more
    // of the source's data.
    let ended = tokio::time::timeout(WAIT, async {
        loop {
            match source_stream.message().await {
                Ok(Some(batch)) => assert!(
                    batch.records.is_empty() || batch.records.iter().all(|r| r.seq <= written),
                    "no new data after the revocation: {batch:?}"
                ),
                Ok(None) => panic!("the stream ended without an error"),
                Err(status) => return status,
            }
        }
    })
    .await
    .expect("the stream ends within the deadline");
    assert_not_entitled(&ended, SOURCE);

    // Subscribing again for the source is refused; the owner's own stream is untouched.
    let refused = subscribe(&cluster, REGION, &[SOURCE]).await.unwrap_err();
    assert_not_entitled(&refused, SOURCE);
    let next = put_item(&mut config, OWNER, "i-owner-2").await.unwrap();
    let records = receive_through(&mut owner_stream, next).await;
    assert_eq!(accounts_of(&records), set(&[OWNER]));
    cluster.shutdown().await;
}

async fn an_unknown_aggregator_is_not_found(backend: Backend) {
    let cluster = start(backend).await;
    let mut client = cluster.change_log(REGION, cluster.service_key());
    let unknown_config = client
        .subscribe(pb::SubscribeRequest {
            aggregator: Some(config_aggregator_reference(OWNER, REGION, "missing")),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(unknown_config.code(), Code::NotFound);
    assert_eq!(
        reason(&unknown_config),
        "NoSuchConfigurationAggregatorException"
    );
    let unknown_finding = client
        .snapshot(pb::SnapshotRequest {
            aggregator: Some(membership_pb::AggregatorReference {
                aggregator: Some(
                    membership_pb::aggregator_reference::Aggregator::FindingAggregatorOwnerAccountId(
                        OUTSIDER.into(),
                    ),
                ),
            }),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(unknown_finding.code(), Code::NotFound);
    assert_eq!(reason(&unknown_finding), "ResourceNotFoundException");
    cluster.shutdown().await;
}

async fn an_administrator_reads_its_members_items_but_writes_only_its_own(backend: Backend) {
    let cluster = start(backend).await;
    let administrator_key = cluster.account_key(OWNER).await;
    let member_key = cluster.account_key(SOURCE).await;
    let outsider_key = cluster.account_key(OUTSIDER).await;
    support::make_enabled_member(
        &cluster,
        &administrator_key,
        OWNER,
        SOURCE,
        &member_key,
        REGION,
    )
    .await;
    for region in [REGION, OTHER_REGION] {
        record(
            &mut cluster.config(region, cluster.service_key()),
            SOURCE,
            "i-member",
        )
        .await;
    }

    let mut administrator = cluster.config(REGION, &administrator_key);
    let listed = administrator
        .list_discovered_resources(pb::ListDiscoveredResourcesRequest {
            account_id: SOURCE.into(),
            resource_type: "AWS::EC2::Instance".into(),
            ..Default::default()
        })
        .await
        .expect("the administrator lists its member's resources")
        .into_inner();
    assert_eq!(listed.resource_identifiers.len(), 1);
    let batch = administrator
        .batch_get_resource_config(pb::BatchGetResourceConfigRequest {
            account_id: SOURCE.into(),
            resource_keys: vec![pb::ResourceKey {
                resource_type: "AWS::EC2::Instance".into(),
                resource_id: "i-member".into(),
            }],
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(batch.base_configuration_items.len(), 1);
    let history = administrator
        .get_resource_config_history(pb::GetResourceConfigHistoryRequest {
            account_id: SOURCE.into(),
            resource_type: "AWS::EC2::Instance".into(),
            resource_id: "i-member".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(history.configuration_items.len(), 1);
    let counts = administrator
        .get_discovered_resource_counts(pb::GetDiscoveredResourceCountsRequest {
            account_id: SOURCE.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(counts.total_discovered_resources, 1);
    let recorders = administrator
        .describe_configuration_recorder_status(pb::DescribeConfigurationRecorderStatusRequest {
            account_id: SOURCE.into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(recorders.configuration_recorders_status.len(), 1);

    // Writes to the member's account stay refused.
    let write = put_item(&mut administrator, SOURCE, "i-forged")
        .await
        .unwrap_err();
    assert_eq!(write.code(), Code::PermissionDenied);
    assert_eq!(reason(&write), "AccessDeniedException");
    let stop = administrator
        .stop_configuration_recorder(pb::StopConfigurationRecorderRequest {
            account_id: SOURCE.into(),
            configuration_recorder_name: "default".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(stop.code(), Code::PermissionDenied);

    // The relationship exists in REGION only, and never for an unrelated account or upwards.
    let elsewhere = cluster
        .config(OTHER_REGION, &administrator_key)
        .list_discovered_resources(pb::ListDiscoveredResourcesRequest {
            account_id: SOURCE.into(),
            resource_type: "AWS::EC2::Instance".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(elsewhere.code(), Code::PermissionDenied);
    assert_eq!(reason(&elsewhere), "AccessDeniedException");
    for (key, target) in [(&outsider_key, SOURCE), (&member_key, OWNER)] {
        let refused = cluster
            .config(REGION, key)
            .describe_configuration_recorders(pb::DescribeConfigurationRecordersRequest {
                account_id: target.into(),
            })
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::PermissionDenied);
        assert_eq!(reason(&refused), "AccessDeniedException");
    }
    cluster.shutdown().await;
}
