//! The aggregator replicates every region's Config data it is entitled to: snapshots back-fill
//! newly entitled accounts, the change log keeps them current, revoked pairs are hidden and later
//! purged, removed ones are dropped at once, an unreachable collector fails only its region, a
//! source without a running recorder is CONFIG_NOT_ENABLED, and a crash loses and duplicates
//! nothing; over real gRPC on SQLite and PostgreSQL.

// A panic in a test is a failed assertion with a location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::{collections::BTreeMap, time::Duration};

use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
};
use support::{
    Authed, Backend, Standalone, TestCluster, bearer, channel, config_aggregator_reference,
    eventually, wait_serving,
};
use tributary_aggregator::{
    config::ReplicationSettings,
    store::{
        aggregate_config_items as items, aggregator_entitlements as entitlements,
        config_aggregators, replication_pairs as pairs, replication_regions as regions,
    },
};
use tributary_proto::{
    aggregator::v1 as aggregator_pb, collector::v1 as pb, membership::v1 as membership_pb,
};

on_both_backends! {
    configuration_items_of_two_regions_reach_the_replica,
    a_newly_authorized_account_is_back_filled_from_a_snapshot,
    a_revoked_pair_is_hidden_then_purged_after_the_retention_window,
    a_removed_account_and_a_deleted_aggregator_are_dropped_at_once,
    an_unreachable_collector_fails_only_its_region_until_it_returns,
    a_source_without_a_running_recorder_is_config_not_enabled,
    a_crash_mid_replication_loses_and_duplicates_nothing,
    one_replica_replicates_and_another_takes_over,
    a_source_trailing_beyond_the_freshness_target_is_outdated_until_it_catches_up,
}

const EAST: &str = "us-east-1";
const WEST: &str = "eu-west-1";
const OWNER: &str = "111111111111";
const SOURCE: &str = "222222222222";
const LATE: &str = "333333333333";
const NAME: &str = "everything";
const INSTANCE: &str = "AWS::EC2::Instance";
const WAIT: Duration = Duration::from_secs(30);

type Config = pb::config_service_client::ConfigServiceClient<Authed>;

/// Opens the aggregator's database from the test.
async fn open(url: &str) -> DatabaseConnection {
    tributary_runtime::db::connect(url)
        .await
        .expect("the aggregator's database opens")
}

/// Records the Config aggregator `NAME` of `OWNER` in `EAST` in the aggregator's own table, as
/// PutConfigurationAggregator does, so replication knows it exists.
async fn add_config_aggregator(db: &DatabaseConnection) {
    config_aggregators::Entity::insert(config_aggregators::ActiveModel {
        owner_account_id: Set(OWNER.into()),
        home_region: Set(EAST.into()),
        name: Set(NAME.into()),
        arn: Set(format!(
            "arn:aws:config:{EAST}:{OWNER}:config-aggregator/config-aggregator-test"
        )),
        created_at_micros: Set(0),
        updated_at_micros: Set(0),
        organization_source: Set(false),
        all_regions: Set(false),
        definition: Set(Vec::new()),
    })
    .exec_without_returning(db)
    .await
    .expect("the aggregator row is stored");
}

/// Declares `NAME` with membership covering `accounts` in `regions` (every account authorizing).
async fn declare(cluster: &TestCluster, accounts: &[&str], regions: &[&str]) {
    cluster
        .entitled_config_aggregator(OWNER, EAST, NAME, accounts, regions)
        .await;
}

/// Declares `NAME` without authorizing anything (listed accounts become PENDING).
async fn redeclare(cluster: &TestCluster, accounts: &[&str], regions: &[&str]) {
    cluster
        .entitlements(cluster.service_key())
        .declare_config_aggregator(membership_pb::DeclareConfigAggregatorRequest {
            declaration: Some(membership_pb::ConfigAggregatorDeclaration {
                owner_account_id: OWNER.into(),
                home_region: EAST.into(),
                aggregator_name: NAME.into(),
                account_ids: accounts.iter().map(|id| id.to_string()).collect(),
                organization_source: false,
                all_regions: false,
                regions: regions.iter().map(|region| region.to_string()).collect(),
            }),
        })
        .await
        .expect("the aggregator is declared");
}

/// Puts a running recorder for `account_id`.
async fn start_recorder(config: &mut Config, account_id: &str) {
    config
        .put_configuration_recorder(pb::PutConfigurationRecorderRequest {
            account_id: account_id.into(),
            configuration_recorder: Some(pb::ConfigurationRecorder {
                name: "default".into(),
                recording_group: Some(pb::RecordingGroup {
                    all_supported: true,
                    include_global_resource_types: false,
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

fn item(resource_id: &str, status: pb::ConfigurationItemStatus) -> pb::ConfigurationItemInput {
    pb::ConfigurationItemInput {
        resource_type: INSTANCE.into(),
        resource_id: resource_id.into(),
        resource_name: format!("name-{resource_id}"),
        arn: format!("arn:aws:ec2:us-east-1:111111111111:instance/{resource_id}"),
        availability_zone: "us-east-1a".into(),
        configuration_item_status: status as i32,
        configuration_item_capture_time: Some(prost_types::Timestamp {
            seconds: 1_700_000_000,
            nanos: 0,
        }),
        configuration: format!(r#"{{"instanceType": "t3.large", "id": "{resource_id}"}}"#),
        tags: vec![tributary_proto::types::v1::Tag {
            key: "team".into(),
            value: "blue".into(),
        }],
        relationships: vec![pb::Relationship {
            resource_type: "AWS::EC2::Volume".into(),
            resource_id: "vol-1".into(),
            resource_name: String::new(),
            relationship_name: "Is attached to Volume".into(),
        }],
        ..Default::default()
    }
}

/// Records items `resource_ids` of `account_id` (the recorder must run); returns the log head.
async fn put_items(config: &mut Config, account_id: &str, resource_ids: &[String]) -> u64 {
    config
        .put_configuration_items(pb::PutConfigurationItemsRequest {
            account_id: account_id.into(),
            items: resource_ids
                .iter()
                .map(|id| item(id, pb::ConfigurationItemStatus::Ok))
                .collect(),
        })
        .await
        .expect("the items are recorded")
        .into_inner()
        .change_log_seq
}

/// Starts a recorder and records one item per id.
async fn record(config: &mut Config, account_id: &str, resource_ids: &[&str]) {
    start_recorder(config, account_id).await;
    let ids: Vec<String> = resource_ids.iter().map(|id| id.to_string()).collect();
    put_items(config, account_id, &ids).await;
}

async fn items_of(db: &DatabaseConnection, account_id: &str, region: &str) -> Vec<items::Model> {
    items::Entity::find()
        .filter(items::Column::AccountId.eq(account_id))
        .filter(items::Column::Region.eq(region))
        .all(db)
        .await
        .unwrap()
}

async fn pair(db: &DatabaseConnection, account_id: &str, region: &str) -> Option<pairs::Model> {
    pairs::Entity::find_by_id((account_id.to_string(), region.to_string()))
        .one(db)
        .await
        .unwrap()
}

async fn region_row(db: &DatabaseConnection, region: &str) -> Option<regions::Model> {
    regions::Entity::find_by_id(region.to_string())
        .one(db)
        .await
        .unwrap()
}

async fn entitlement_status(
    db: &DatabaseConnection,
    account_id: &str,
    region: &str,
) -> Option<String> {
    entitlements::Entity::find_by_id((
        OWNER.to_string(),
        EAST.to_string(),
        NAME.to_string(),
        account_id.to_string(),
        region.to_string(),
    ))
    .one(db)
    .await
    .unwrap()
    .map(|row| row.status)
}

/// Waits until `account_id` has exactly `expected` (sorted) resource ids replicated from
/// `region`.
async fn wait_for_items(
    db: &DatabaseConnection,
    account_id: &str,
    region: &str,
    expected: &[&str],
) {
    eventually(
        &format!("{account_id} in {region} holds {expected:?}"),
        WAIT,
        || async {
            let mut ids: Vec<String> = items_of(db, account_id, region)
                .await
                .into_iter()
                .map(|row| row.resource_id)
                .collect();
            ids.sort();
            if ids == expected {
                Ok(())
            } else {
                Err(format!("{ids:?}"))
            }
        },
    )
    .await;
}

/// Waits until the pair's status (and error code) is as expected.
async fn wait_for_pair_status(
    db: &DatabaseConnection,
    account_id: &str,
    region: &str,
    status: &str,
    error_code: Option<&str>,
) -> pairs::Model {
    eventually(
        &format!("{account_id} in {region} is {status} {error_code:?}"),
        WAIT,
        || async {
            match pair(db, account_id, region).await {
                Some(row) if row.status == status && row.error_code.as_deref() == error_code => {
                    Ok(row)
                }
                other => Err(format!("{other:?}")),
            }
        },
    )
    .await
}

/// Starts an aggregator of its own (settings tuned by `tune`) against the cluster.
async fn standalone_aggregator(
    cluster: &TestCluster,
    tune: impl FnOnce(&mut ReplicationSettings),
) -> (Standalone, DatabaseConnection) {
    let url = cluster.extra_database_url("aggregator-replica").await;
    let aggregator = aggregator_replica(cluster, &url, tune).await;
    (aggregator, open(&url).await)
}

/// Starts an aggregator replica storing into `url`.
async fn aggregator_replica(
    cluster: &TestCluster,
    url: &str,
    tune: impl FnOnce(&mut ReplicationSettings),
) -> Standalone {
    let mut config = cluster.standalone_aggregator_config(url.to_string());
    tune(&mut config.replication);
    let aggregator = Standalone::start(move |listener, shutdown| {
        let config = config.clone();
        Box::pin(async move {
            tributary_aggregator::serve(config, listener, shutdown)
                .await
                .expect("the aggregator serves");
        })
    });
    wait_serving(aggregator.address).await;
    aggregator
}

fn info_client(
    address: std::net::SocketAddr,
    key: &str,
) -> aggregator_pb::aggregator_service_client::AggregatorServiceClient<Authed> {
    aggregator_pb::aggregator_service_client::AggregatorServiceClient::with_interceptor(
        channel(address),
        bearer(key),
    )
}

async fn configuration_items_of_two_regions_reach_the_replica(backend: Backend) {
    // The process-wide recorder is in place before anything replicates.
    let metrics = tributary_runtime::metrics::prometheus();
    let cluster = TestCluster::builder(backend)
        .collector(EAST)
        .collector(WEST)
        .start()
        .await;
    let db = open(&cluster.aggregator_database_url()).await;
    add_config_aggregator(&db).await;
    declare(&cluster, &[OWNER, SOURCE], &[EAST, WEST]).await;
    for region in [EAST, WEST] {
        let mut config = cluster.config(region, cluster.service_key());
        record(&mut config, OWNER, &[&format!("i-owner-{region}")]).await;
        record(&mut config, SOURCE, &[&format!("i-source-{region}")]).await;
    }
    for region in [EAST, WEST] {
        wait_for_items(&db, OWNER, region, &[&format!("i-owner-{region}")]).await;
        wait_for_items(&db, SOURCE, region, &[&format!("i-source-{region}")]).await;
    }

    // The derived columns carry what views filter and query on.
    let row = items_of(&db, SOURCE, WEST).await.remove(0);
    assert_eq!(row.resource_type, INSTANCE);
    assert_eq!(row.resource_name, "name-i-source-eu-west-1");
    assert_eq!(row.availability_zone, "us-east-1a");
    assert_eq!(row.item_status, "OK");
    assert!(!row.deleted);
    assert_eq!(row.capture_time_micros, 1_700_000_000_000_000);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&row.tags).unwrap(),
        serde_json::json!({"team": "blue"})
    );
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&row.configuration).unwrap()["instanceType"],
        "t3.large"
    );
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&row.relationships).unwrap(),
        serde_json::json!([{"resourceType": "AWS::EC2::Volume", "resourceId": "vol-1",
            "resourceName": "", "relationshipName": "Is attached to Volume"}])
    );
    assert_eq!(row.supplementary_configuration, "{}");
    assert_eq!(row.version.len(), 32);
    assert!(row.seq > 0);

    // Live changes follow: a deletion marks the item deleted, a new item appears.
    let mut west = cluster.config(WEST, cluster.service_key());
    west.put_configuration_items(pb::PutConfigurationItemsRequest {
        account_id: SOURCE.into(),
        items: vec![item(
            "i-source-eu-west-1",
            pb::ConfigurationItemStatus::ResourceDeleted,
        )],
    })
    .await
    .unwrap();
    put_items(&mut west, OWNER, &["i-owner-late".into()]).await;
    wait_for_items(&db, OWNER, WEST, &["i-owner-eu-west-1", "i-owner-late"]).await;
    eventually("the deleted item is marked deleted", WAIT, || async {
        let row = items_of(&db, SOURCE, WEST).await.remove(0);
        if row.deleted && row.item_status == "ResourceDeleted" {
            Ok(())
        } else {
            Err(format!("{row:?}"))
        }
    })
    .await;

    for region in [EAST, WEST] {
        for account_id in [OWNER, SOURCE] {
            let row = wait_for_pair_status(&db, account_id, region, "SUCCEEDED", None).await;
            assert_eq!(row.state, "live");
            assert!(row.last_success_micros.is_some() && row.last_attempt_micros.is_some());
        }
    }
    let info = info_client(cluster.aggregator_address(), cluster.operator_key())
        .get_info(aggregator_pb::GetInfoRequest {})
        .await
        .unwrap()
        .into_inner();
    let regions: Vec<_> = info
        .cursors
        .iter()
        .map(|cursor| cursor.region.as_str())
        .collect();
    assert_eq!(regions, [WEST, EAST]);
    for cursor in &info.cursors {
        assert!(cursor.applied_seq > 0, "{cursor:?}");
        assert_eq!(cursor.status, "SUCCEEDED", "{cursor:?}");
        assert!(cursor.error_code.is_empty(), "{cursor:?}");
        assert!(
            cursor.lag_ms.is_some() && cursor.last_success_at.is_some(),
            "{cursor:?}"
        );
    }
    let rendered = metrics.render();
    for region in [EAST, WEST] {
        for metric in [
            "tributary_replication_applied_total",
            "tributary_replication_lag_seconds",
        ] {
            let series = format!("{metric}{{region=\"{region}\"}}");
            assert!(rendered.contains(&series), "{series} in {rendered}");
        }
    }
    cluster.shutdown().await;
}

async fn a_newly_authorized_account_is_back_filled_from_a_snapshot(backend: Backend) {
    let cluster = TestCluster::builder(backend).collector(EAST).start().await;
    let db = open(&cluster.aggregator_database_url()).await;
    add_config_aggregator(&db).await;
    declare(&cluster, &[OWNER], &[EAST]).await;
    let mut config = cluster.config(EAST, cluster.service_key());
    record(&mut config, OWNER, &["i-owner"]).await;
    // LATE's data exists before it authorizes the aggregator.
    cluster.ensure_account(LATE).await;
    record(&mut config, LATE, &["i-late-1", "i-late-2", "i-late-3"]).await;
    wait_for_items(&db, OWNER, EAST, &["i-owner"]).await;

    redeclare(&cluster, &[OWNER, LATE], &[EAST]).await;
    eventually("LATE is pending", WAIT, || async {
        match entitlement_status(&db, LATE, EAST).await.as_deref() {
            Some("PENDING") => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    assert!(items_of(&db, LATE, EAST).await.is_empty());
    assert!(pair(&db, LATE, EAST).await.is_none());

    let late_key = cluster.account_key(LATE).await;
    cluster
        .authorizations(&late_key)
        .put_aggregation_authorization(membership_pb::PutAggregationAuthorizationRequest {
            region: EAST.into(),
            authorized_account_id: OWNER.into(),
            authorized_aws_region: EAST.into(),
            tags: Vec::new(),
        })
        .await
        .unwrap();
    wait_for_items(&db, LATE, EAST, &["i-late-1", "i-late-2", "i-late-3"]).await;
    wait_for_pair_status(&db, LATE, EAST, "SUCCEEDED", None).await;
    // After the back-fill the account follows the log like the others.
    put_items(&mut config, LATE, &["i-late-4".into()]).await;
    put_items(&mut config, OWNER, &["i-owner-2".into()]).await;
    wait_for_items(
        &db,
        LATE,
        EAST,
        &["i-late-1", "i-late-2", "i-late-3", "i-late-4"],
    )
    .await;
    wait_for_items(&db, OWNER, EAST, &["i-owner", "i-owner-2"]).await;
    cluster.shutdown().await;
}

async fn a_revoked_pair_is_hidden_then_purged_after_the_retention_window(backend: Backend) {
    let cluster = TestCluster::builder(backend).collector(EAST).start().await;
    let (mut aggregator, db) = standalone_aggregator(&cluster, |settings| {
        settings.revoked_data_retention_seconds = 3;
    })
    .await;
    add_config_aggregator(&db).await;
    declare(&cluster, &[OWNER, SOURCE], &[EAST]).await;
    let mut config = cluster.config(EAST, cluster.service_key());
    record(&mut config, OWNER, &["i-owner"]).await;
    record(&mut config, SOURCE, &["i-source"]).await;
    wait_for_items(&db, SOURCE, EAST, &["i-source"]).await;
    wait_for_items(&db, OWNER, EAST, &["i-owner"]).await;

    let source_key = cluster.account_key(SOURCE).await;
    cluster
        .authorizations(&source_key)
        .delete_aggregation_authorization(membership_pb::DeleteAggregationAuthorizationRequest {
            region: EAST.into(),
            authorized_account_id: OWNER.into(),
            authorized_aws_region: EAST.into(),
        })
        .await
        .unwrap();
    // Hidden at once (views show only AUTHORIZED pairs), but still stored.
    eventually("SOURCE is revoked", WAIT, || async {
        match entitlement_status(&db, SOURCE, EAST).await.as_deref() {
            Some("REVOKED") => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    assert_eq!(items_of(&db, SOURCE, EAST).await.len(), 1);
    let hidden = eventually("the pair is hidden", WAIT, || async {
        match pair(&db, SOURCE, EAST).await {
            Some(row) if row.state == "hidden" => Ok(row),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    assert!(hidden.hidden_since_micros.is_some());
    assert_eq!(items_of(&db, SOURCE, EAST).await.len(), 1);
    // Purged once the window ends; the owner's data stays.
    eventually("SOURCE's data is purged", WAIT, || async {
        let left = items_of(&db, SOURCE, EAST).await.len();
        let row = pair(&db, SOURCE, EAST).await;
        if left == 0 && row.is_none() {
            Ok(())
        } else {
            Err(format!("{left} items, {row:?}"))
        }
    })
    .await;
    let purged_at = tributary_runtime::time::now().timestamp_micros();
    assert!(purged_at - hidden.hidden_since_micros.unwrap() >= 3_000_000);
    wait_for_items(&db, OWNER, EAST, &["i-owner"]).await;
    aggregator.stop().await;
    cluster.shutdown().await;
}

async fn a_removed_account_and_a_deleted_aggregator_are_dropped_at_once(backend: Backend) {
    let cluster = TestCluster::builder(backend)
        .collector(EAST)
        .collector(WEST)
        .start()
        .await;
    // The default retention is a day: only an immediate drop passes.
    let db = open(&cluster.aggregator_database_url()).await;
    add_config_aggregator(&db).await;
    declare(&cluster, &[OWNER, SOURCE], &[EAST, WEST]).await;
    for region in [EAST, WEST] {
        let mut config = cluster.config(region, cluster.service_key());
        record(&mut config, OWNER, &["i-owner"]).await;
        record(&mut config, SOURCE, &["i-source"]).await;
        wait_for_items(&db, SOURCE, region, &["i-source"]).await;
        wait_for_items(&db, OWNER, region, &["i-owner"]).await;
    }

    // SOURCE leaves the aggregator: its data goes in every region; WEST leaves too.
    redeclare(&cluster, &[OWNER], &[EAST]).await;
    for region in [EAST, WEST] {
        wait_for_items(&db, SOURCE, region, &[]).await;
        assert!(pair(&db, SOURCE, region).await.is_none());
        assert!(entitlement_status(&db, SOURCE, region).await.is_none());
    }
    wait_for_items(&db, OWNER, WEST, &[]).await;
    wait_for_items(&db, OWNER, EAST, &["i-owner"]).await;

    // The aggregator is deleted: everything goes.
    config_aggregators::Entity::delete_many()
        .exec(&db)
        .await
        .unwrap();
    cluster
        .entitlements(cluster.service_key())
        .withdraw_config_aggregator(membership_pb::WithdrawConfigAggregatorRequest {
            owner_account_id: OWNER.into(),
            home_region: EAST.into(),
            aggregator_name: NAME.into(),
        })
        .await
        .unwrap();
    wait_for_items(&db, OWNER, EAST, &[]).await;
    eventually("nothing is left", WAIT, || async {
        let rows = items::Entity::find().count(&db).await.unwrap()
            + pairs::Entity::find().count(&db).await.unwrap()
            + entitlements::Entity::find().count(&db).await.unwrap();
        if rows == 0 {
            Ok(())
        } else {
            Err(format!("{rows} rows"))
        }
    })
    .await;
    cluster.shutdown().await;
}

async fn an_unreachable_collector_fails_only_its_region_until_it_returns(backend: Backend) {
    let cluster = TestCluster::builder(backend).collector(EAST).start().await;
    let mut west = cluster.standalone_collector(WEST).await;
    let (mut aggregator, db) = standalone_aggregator(&cluster, |settings| {
        settings.replication_max_backoff_seconds = 1;
    })
    .await;
    add_config_aggregator(&db).await;
    declare(&cluster, &[OWNER], &[EAST, WEST]).await;
    let mut east_config = cluster.config(EAST, cluster.service_key());
    record(&mut east_config, OWNER, &["i-east-1"]).await;
    record(
        &mut cluster.standalone_config(&west, cluster.service_key()),
        OWNER,
        &["i-west-1"],
    )
    .await;
    wait_for_items(&db, OWNER, WEST, &["i-west-1"]).await;
    wait_for_pair_status(&db, OWNER, WEST, "SUCCEEDED", None).await;

    west.stop().await;
    let failed =
        wait_for_pair_status(&db, OWNER, WEST, "FAILED", Some("CollectorUnavailable")).await;
    let message = failed.error_message.unwrap();
    assert!(message.contains(WEST), "{message}");
    let region = region_row(&db, WEST).await.unwrap();
    assert_eq!(region.status, "FAILED");
    assert_eq!(region.error_code.as_deref(), Some("CollectorUnavailable"));
    // The region's data stays, and the other region keeps replicating.
    assert_eq!(items_of(&db, OWNER, WEST).await.len(), 1);
    put_items(&mut east_config, OWNER, &["i-east-2".into()]).await;
    wait_for_items(&db, OWNER, EAST, &["i-east-1", "i-east-2"]).await;
    wait_for_pair_status(&db, OWNER, EAST, "SUCCEEDED", None).await;
    let info = info_client(aggregator.address, cluster.operator_key())
        .get_info(aggregator_pb::GetInfoRequest {})
        .await
        .unwrap()
        .into_inner();
    let by_region: BTreeMap<_, _> = info
        .cursors
        .into_iter()
        .map(|cursor| (cursor.region.clone(), cursor))
        .collect();
    assert_eq!(by_region[WEST].status, "FAILED");
    assert_eq!(by_region[WEST].error_code, "CollectorUnavailable");
    assert!(!by_region[WEST].error_message.is_empty());
    assert_eq!(by_region[EAST].status, "SUCCEEDED");

    west.start_again().await;
    put_items(
        &mut cluster.standalone_config(&west, cluster.service_key()),
        OWNER,
        &["i-west-2".into()],
    )
    .await;
    wait_for_items(&db, OWNER, WEST, &["i-west-1", "i-west-2"]).await;
    wait_for_pair_status(&db, OWNER, WEST, "SUCCEEDED", None).await;
    aggregator.stop().await;
    west.stop().await;
    cluster.shutdown().await;
}

async fn a_source_without_a_running_recorder_is_config_not_enabled(backend: Backend) {
    let cluster = TestCluster::builder(backend).collector(EAST).start().await;
    let db = open(&cluster.aggregator_database_url()).await;
    add_config_aggregator(&db).await;
    declare(&cluster, &[OWNER, SOURCE], &[EAST]).await;
    let mut config = cluster.config(EAST, cluster.service_key());
    record(&mut config, OWNER, &["i-owner"]).await;
    record(&mut config, SOURCE, &["i-source"]).await;
    wait_for_pair_status(&db, SOURCE, EAST, "SUCCEEDED", None).await;

    config
        .stop_configuration_recorder(pb::StopConfigurationRecorderRequest {
            account_id: SOURCE.into(),
            configuration_recorder_name: "default".into(),
        })
        .await
        .unwrap();
    let failed =
        wait_for_pair_status(&db, SOURCE, EAST, "FAILED", Some("CONFIG_NOT_ENABLED")).await;
    assert!(failed.error_message.unwrap().contains("recorder"));
    // The data stays; other sources are unaffected.
    assert_eq!(items_of(&db, SOURCE, EAST).await.len(), 1);
    wait_for_pair_status(&db, OWNER, EAST, "SUCCEEDED", None).await;

    start_recorder(&mut config, SOURCE).await;
    wait_for_pair_status(&db, SOURCE, EAST, "SUCCEEDED", None).await;
    cluster.shutdown().await;
}

async fn a_crash_mid_replication_loses_and_duplicates_nothing(backend: Backend) {
    let cluster = TestCluster::builder(backend).collector(EAST).start().await;
    let (mut aggregator, db) = standalone_aggregator(&cluster, |settings| {
        settings.replication_lease_seconds = 1;
        settings.replication_max_backoff_seconds = 1;
    })
    .await;
    add_config_aggregator(&db).await;
    declare(&cluster, &[OWNER], &[EAST]).await;
    let mut config = cluster.config(EAST, cluster.service_key());
    record(&mut config, OWNER, &["i-0"]).await;
    wait_for_items(&db, OWNER, EAST, &["i-0"]).await;
    wait_for_pair_status(&db, OWNER, EAST, "SUCCEEDED", None).await;

    // A backlog builds up while the aggregator is away.
    aggregator.stop().await;
    let before = region_row(&db, EAST).await.unwrap().applied_seq;
    let mut head = 0;
    for batch in 0..60 {
        let ids: Vec<String> = (0..100).map(|index| format!("i-{batch}-{index}")).collect();
        head = put_items(&mut config, OWNER, &ids).await;
    }
    let head = i64::try_from(head).unwrap();

    // It comes back, applies part of the backlog, and dies mid-way.
    aggregator.start_again().await;
    eventually("part of the backlog is applied", WAIT, || async {
        match region_row(&db, EAST).await {
            Some(row) if row.applied_seq > before => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    aggregator.crash();
    let at_crash = region_row(&db, EAST).await.unwrap().applied_seq;
    assert!(
        at_crash < head,
        "the crash came after the whole backlog ({at_crash} of {head})"
    );

    aggregator.start_again().await;
    eventually("the whole backlog is applied", WAIT, || async {
        match region_row(&db, EAST).await {
            Some(row) if row.applied_seq >= head => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;

    // Every item is there once, at the collector's version.
    let snapshot = {
        let mut stream = cluster
            .change_log(EAST, cluster.service_key())
            .snapshot(pb::SnapshotRequest {
                account_ids: vec![OWNER.into()],
                kinds: vec![pb::ChangeKind::ConfigurationItem as i32],
                aggregator: Some(config_aggregator_reference(OWNER, EAST, NAME)),
                aggregators: Vec::new(),
            })
            .await
            .unwrap()
            .into_inner();
        let mut versions = BTreeMap::new();
        while let Some(message) = stream.message().await.unwrap() {
            for record in message.records {
                versions.insert(
                    record.key.split_once('|').unwrap().1.to_string(),
                    tributary_aggregator::replica::encode_version(record.version.as_ref()),
                );
            }
        }
        versions
    };
    assert_eq!(snapshot.len(), 6001);
    let replicated: BTreeMap<String, String> = items_of(&db, OWNER, EAST)
        .await
        .into_iter()
        .map(|row| (row.resource_id, row.version))
        .collect();
    assert_eq!(replicated.len(), 6001);
    assert!(
        replicated == snapshot,
        "replicated versions differ from the collector's"
    );
    aggregator.stop().await;
    cluster.shutdown().await;
}

/// How many replicas hold the replication lease right now.
async fn lease_holders(db: &DatabaseConnection, backend: Backend) -> i64 {
    use sea_orm::{ConnectionTrait, Statement};
    match backend {
        Backend::Sqlite => {
            let now = tributary_runtime::time::now().timestamp_micros();
            let rows = tributary_aggregator::store::replication_lease::Entity::find()
                .all(db)
                .await
                .unwrap();
            i64::try_from(
                rows.iter()
                    .filter(|row| row.expires_at_micros > now)
                    .count(),
            )
            .unwrap()
        }
        Backend::Postgres => db
            .query_one_raw(Statement::from_string(
                sea_orm::DatabaseBackend::Postgres,
                "SELECT count(DISTINCT pid) AS holders FROM pg_locks WHERE locktype = 'advisory' \
                 AND granted AND database = (SELECT oid FROM pg_database \
                 WHERE datname = current_database())",
            ))
            .await
            .unwrap()
            .unwrap()
            .try_get::<i64>("", "holders")
            .unwrap(),
    }
}

async fn one_replica_replicates_and_another_takes_over(backend: Backend) {
    let cluster = TestCluster::builder(backend).collector(EAST).start().await;
    let url = cluster.extra_database_url("aggregator-replicas").await;
    let tune = |settings: &mut ReplicationSettings| settings.replication_lease_seconds = 1;
    let mut first = aggregator_replica(&cluster, &url, tune).await;
    let mut second = aggregator_replica(&cluster, &url, tune).await;
    let db = open(&url).await;
    add_config_aggregator(&db).await;
    declare(&cluster, &[OWNER], &[EAST]).await;
    let mut config = cluster.config(EAST, cluster.service_key());
    record(&mut config, OWNER, &["i-1"]).await;
    wait_for_items(&db, OWNER, EAST, &["i-1"]).await;
    assert_eq!(lease_holders(&db, backend).await, 1);

    // Whichever replica held the lease, the other one carries on without it.
    first.stop().await;
    put_items(&mut config, OWNER, &["i-2".into()]).await;
    wait_for_items(&db, OWNER, EAST, &["i-1", "i-2"]).await;
    eventually("one replica holds the lease", WAIT, || async {
        match lease_holders(&db, backend).await {
            1 => Ok(()),
            holders => Err(format!("{holders} holders")),
        }
    })
    .await;
    first.start_again().await;
    second.stop().await;
    put_items(&mut config, OWNER, &["i-3".into()]).await;
    wait_for_items(&db, OWNER, EAST, &["i-1", "i-2", "i-3"]).await;
    assert_eq!(lease_holders(&db, backend).await, 1);
    assert_eq!(items::Entity::find().count(&db).await.unwrap(), 3);
    first.stop().await;
    cluster.shutdown().await;
}

async fn a_source_trailing_beyond_the_freshness_target_is_outdated_until_it_catches_up(
    backend: Backend,
) {
    let cluster = TestCluster::builder(backend).collector(EAST).start().await;
    let (mut aggregator, db) = standalone_aggregator(&cluster, |settings| {
        settings.freshness_target_seconds = 1;
    })
    .await;
    add_config_aggregator(&db).await;
    declare(&cluster, &[OWNER], &[EAST]).await;
    let mut config = cluster.config(EAST, cluster.service_key());
    record(&mut config, OWNER, &["i-1"]).await;
    wait_for_pair_status(&db, OWNER, EAST, "SUCCEEDED", None).await;

    // Changes committed while the aggregator is away arrive older than the target.
    aggregator.stop().await;
    put_items(&mut config, OWNER, &["i-2".into()]).await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    aggregator.start_again().await;
    let outdated = wait_for_pair_status(&db, OWNER, EAST, "OUTDATED", None).await;
    assert!(outdated.lag_ms.unwrap() >= 2000, "{outdated:?}");
    wait_for_items(&db, OWNER, EAST, &["i-1", "i-2"]).await;
    let caught_up = wait_for_pair_status(&db, OWNER, EAST, "SUCCEEDED", None).await;
    assert_eq!(caught_up.lag_ms, Some(0));
    aggregator.stop().await;
    cluster.shutdown().await;
}
