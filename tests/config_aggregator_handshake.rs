//! End-to-end tests of the Config aggregator handshake as a user sees it, over real gRPC on SQLite
//! and PostgreSQL: an aggregator asks its account sources, each source authorizes or declines, and
//! the aggregator's views (resource listings and counts, source status) show exactly the sources
//! that said yes; an organization aggregator follows the organization's membership; an all-regions
//! aggregator follows the registered regions; a revoked authorization hides the source's data.

// A panic in a test is a failed assertion with a location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::{
    collections::{BTreeMap, BTreeSet},
    time::Duration,
};

use support::{Authed, Backend, TestCluster, eventually};
use tributary_proto::{
    aggregator::v1 as pb, collector::v1 as collector_pb, membership::v1 as membership_pb,
};

on_both_backends! {
    an_authorized_source_appears_and_a_declining_source_never_does,
    an_authorization_made_before_the_aggregator_counts_at_once,
    an_organization_aggregator_follows_the_organization_membership,
    an_all_regions_aggregator_picks_up_a_region_registered_later,
    a_revoked_authorization_hides_the_source_data,
}

const HOME: &str = "us-east-1";
const OTHER: &str = "eu-west-1";
const LATER: &str = "ap-south-1";
const OWNER: &str = "111111111111";
const SOURCE: &str = "222222222222";
const DECLINER: &str = "333333333333";
const JOINER: &str = "444444444444";
const BUCKET: &str = "AWS::S3::Bucket";
const NAME: &str = "audit";
const WAIT: Duration = Duration::from_secs(15);

type Client = pb::config_aggregator_service_client::ConfigAggregatorServiceClient<Authed>;
type Config = collector_pb::config_service_client::ConfigServiceClient<Authed>;

/// A visible resource: (account, region, resource id).
type Seen = BTreeSet<(String, String, String)>;

async fn start(backend: Backend) -> TestCluster {
    TestCluster::builder(backend)
        .collector(HOME)
        .collector(OTHER)
        .start()
        .await
}

/// Starts a recorder for `account_id` and records one bucket per id.
async fn record(mut config: Config, account_id: &str, resource_ids: &[&str]) {
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
    config
        .put_configuration_items(collector_pb::PutConfigurationItemsRequest {
            account_id: account_id.into(),
            items: resource_ids
                .iter()
                .map(|id| collector_pb::ConfigurationItemInput {
                    resource_type: BUCKET.into(),
                    resource_id: id.to_string(),
                    resource_name: format!("bucket {id}"),
                    configuration_item_status:
                        collector_pb::ConfigurationItemStatus::ResourceDiscovered as i32,
                    configuration_item_capture_time: Some(prost_types::Timestamp {
                        seconds: 1_700_000_000,
                        nanos: 0,
                    }),
                    configuration: format!(r#"{{"id": "{id}"}}"#),
                    ..Default::default()
                })
                .collect(),
        })
        .await
        .unwrap();
}

fn seen(rows: &[(&str, &str, &str)]) -> Seen {
    rows.iter()
        .map(|(account, region, id)| (account.to_string(), region.to_string(), id.to_string()))
        .collect()
}

fn account_sources(accounts: &[&str], regions: &[&str]) -> pb::PutConfigurationAggregatorRequest {
    pb::PutConfigurationAggregatorRequest {
        region: HOME.into(),
        configuration_aggregator_name: NAME.into(),
        account_aggregation_sources: vec![pb::AccountAggregationSource {
            account_ids: accounts.iter().map(|account| account.to_string()).collect(),
            all_aws_regions: regions.is_empty(),
            aws_regions: regions.iter().map(|region| region.to_string()).collect(),
        }],
        ..Default::default()
    }
}

async fn put(client: &mut Client, request: pb::PutConfigurationAggregatorRequest) {
    client.put_configuration_aggregator(request).await.unwrap();
}

async fn authorize(cluster: &TestCluster, key: &str, region: &str) {
    cluster
        .authorizations(key)
        .put_aggregation_authorization(membership_pb::PutAggregationAuthorizationRequest {
            region: region.into(),
            authorized_account_id: OWNER.into(),
            authorized_aws_region: HOME.into(),
            tags: Vec::new(),
        })
        .await
        .unwrap();
}

async fn pending(cluster: &TestCluster, key: &str, region: &str) -> Vec<(String, String)> {
    cluster
        .authorizations(key)
        .describe_pending_aggregation_requests(
            membership_pb::DescribePendingAggregationRequestsRequest {
                region: region.into(),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .into_inner()
        .pending_aggregation_requests
        .into_iter()
        .map(|request| (request.requester_account_id, request.requester_aws_region))
        .collect()
}

/// Every bucket the aggregator lists, one small page at a time.
async fn listed(client: &mut Client) -> Result<Seen, String> {
    let mut listed = Seen::new();
    let mut page_token = String::new();
    loop {
        let page = client
            .list_aggregate_discovered_resources(pb::ListAggregateDiscoveredResourcesRequest {
                region: HOME.into(),
                configuration_aggregator_name: NAME.into(),
                resource_type: BUCKET.into(),
                page_size: 2,
                page_token: page_token.clone(),
                ..Default::default()
            })
            .await
            .map_err(|status| status.to_string())?
            .into_inner();
        listed.extend(
            page.resource_identifiers
                .into_iter()
                .map(|id| (id.source_account_id, id.source_region, id.resource_id)),
        );
        if page.next_page_token.is_empty() {
            return Ok(listed);
        }
        page_token = page.next_page_token;
    }
}

/// The discovered-resource counts per account.
async fn counts(client: &mut Client) -> Result<BTreeMap<String, i64>, String> {
    let response = client
        .get_aggregate_discovered_resource_counts(pb::GetAggregateDiscoveredResourceCountsRequest {
            region: HOME.into(),
            configuration_aggregator_name: NAME.into(),
            group_by_key: pb::ResourceCountGroupKey::AccountId as i32,
            ..Default::default()
        })
        .await
        .map_err(|status| status.to_string())?
        .into_inner();
    let groups: BTreeMap<String, i64> = response
        .grouped_resource_counts
        .into_iter()
        .map(|group| (group.group_name, group.resource_count))
        .collect();
    if groups.values().sum::<i64>() != response.total_discovered_resources {
        return Err(format!(
            "the total {} is not the sum of {groups:?}",
            response.total_discovered_resources
        ));
    }
    Ok(groups)
}

/// Waits until both views show exactly `expected`.
async fn wait_for_views(client: &Client, what: &str, expected: &Seen) {
    let mut by_account: BTreeMap<String, i64> = BTreeMap::new();
    for (account, _, _) in expected {
        *by_account.entry(account.clone()).or_default() += 1;
    }
    eventually(what, WAIT, || {
        let mut client = client.clone();
        let by_account = by_account.clone();
        async move {
            let observed = (listed(&mut client).await?, counts(&mut client).await?);
            if &observed.0 == expected && observed.1 == by_account {
                Ok(())
            } else {
                Err(format!("{observed:?}"))
            }
        }
    })
    .await;
}

/// The source status rows: (source, region) -> (status, error code).
async fn statuses(
    client: &mut Client,
) -> Result<BTreeMap<(String, String), (i32, String)>, String> {
    Ok(client
        .describe_configuration_aggregator_sources_status(
            pb::DescribeConfigurationAggregatorSourcesStatusRequest {
                region: HOME.into(),
                configuration_aggregator_name: NAME.into(),
                ..Default::default()
            },
        )
        .await
        .map_err(|status| status.to_string())?
        .into_inner()
        .aggregated_source_status_list
        .into_iter()
        .map(|row| {
            (
                (row.source_id, row.aws_region),
                (row.last_update_status, row.last_error_code),
            )
        })
        .collect())
}

fn succeeded() -> (i32, String) {
    (
        pb::AggregatedSourceStatusType::Succeeded as i32,
        String::new(),
    )
}

fn unauthorized() -> (i32, String) {
    (
        pb::AggregatedSourceStatusType::Failed as i32,
        "AUTHORIZATION_NOT_FOUND".into(),
    )
}

/// Waits until the status of each listed (source, region) is as given.
async fn wait_for_statuses(client: &Client, what: &str, expected: &[(&str, &str, (i32, String))]) {
    eventually(what, WAIT, || {
        let mut client = client.clone();
        async move {
            let observed = statuses(&mut client).await?;
            let matches = expected.iter().all(|(source, region, status)| {
                observed.get(&(source.to_string(), region.to_string())) == Some(status)
            });
            if matches {
                Ok(())
            } else {
                Err(format!("{observed:?}"))
            }
        }
    })
    .await;
}

async fn an_authorized_source_appears_and_a_declining_source_never_does(backend: Backend) {
    let cluster = start(backend).await;
    let owner_key = cluster.account_key(OWNER).await;
    let source_key = cluster.account_key(SOURCE).await;
    let decliner_key = cluster.account_key(DECLINER).await;
    let key = cluster.service_key();
    record(cluster.config(HOME, key), OWNER, &["o1"]).await;
    record(cluster.config(HOME, key), SOURCE, &["s1", "s2"]).await;
    record(cluster.config(HOME, key), DECLINER, &["d1"]).await;
    let mut client = cluster.config_aggregators(&owner_key);
    put(
        &mut client,
        account_sources(&[OWNER, SOURCE, DECLINER], &[HOME]),
    )
    .await;

    // Each listed source sees the request; until answered only the owner's own data shows.
    let request = vec![(OWNER.to_string(), HOME.to_string())];
    assert_eq!(pending(&cluster, &source_key, HOME).await, request);
    assert_eq!(pending(&cluster, &decliner_key, HOME).await, request);
    assert!(pending(&cluster, &source_key, OTHER).await.is_empty());
    wait_for_views(
        &client,
        "the owner's data shows",
        &seen(&[(OWNER, HOME, "o1")]),
    )
    .await;
    wait_for_statuses(
        &client,
        "the unanswered sources are not authorized",
        &[
            (OWNER, HOME, succeeded()),
            (SOURCE, HOME, unauthorized()),
            (DECLINER, HOME, unauthorized()),
        ],
    )
    .await;

    // One source authorizes, the other declines.
    authorize(&cluster, &source_key, HOME).await;
    assert!(pending(&cluster, &source_key, HOME).await.is_empty());
    cluster
        .authorizations(&decliner_key)
        .delete_pending_aggregation_request(membership_pb::DeletePendingAggregationRequestRequest {
            region: HOME.into(),
            requester_account_id: OWNER.into(),
            requester_aws_region: HOME.into(),
        })
        .await
        .unwrap();
    assert!(pending(&cluster, &decliner_key, HOME).await.is_empty());

    let expected = seen(&[
        (OWNER, HOME, "o1"),
        (SOURCE, HOME, "s1"),
        (SOURCE, HOME, "s2"),
    ]);
    wait_for_views(&client, "the authorized source's data shows", &expected).await;
    wait_for_statuses(
        &client,
        "the authorized source succeeds and the declining one does not",
        &[
            (OWNER, HOME, succeeded()),
            (SOURCE, HOME, succeeded()),
            (DECLINER, HOME, unauthorized()),
        ],
    )
    .await;

    // More data of the declining source still never shows, while the authorized source's does.
    record(cluster.config(HOME, key), DECLINER, &["d2"]).await;
    record(cluster.config(HOME, key), SOURCE, &["s3"]).await;
    let mut expected = expected;
    expected.insert((SOURCE.into(), HOME.into(), "s3".into()));
    wait_for_views(
        &client,
        "new data of the authorized source shows",
        &expected,
    )
    .await;
    assert_eq!(listed(&mut client).await.unwrap(), expected);
    cluster.shutdown().await;
}

async fn an_authorization_made_before_the_aggregator_counts_at_once(backend: Backend) {
    let cluster = start(backend).await;
    let owner_key = cluster.account_key(OWNER).await;
    let source_key = cluster.account_key(SOURCE).await;
    let key = cluster.service_key();
    record(cluster.config(HOME, key), SOURCE, &["s1"]).await;
    record(cluster.config(OTHER, key), SOURCE, &["s2"]).await;
    // The source authorizes the owner's home region in both of its regions, up front.
    authorize(&cluster, &source_key, HOME).await;
    authorize(&cluster, &source_key, OTHER).await;

    let mut client = cluster.config_aggregators(&owner_key);
    put(&mut client, account_sources(&[SOURCE], &[])).await;
    // Nothing is left for the source to answer.
    for region in [HOME, OTHER] {
        assert!(
            pending(&cluster, &source_key, region).await.is_empty(),
            "{region}"
        );
    }
    wait_for_views(
        &client,
        "the pre-authorized source's data shows",
        &seen(&[(SOURCE, HOME, "s1"), (SOURCE, OTHER, "s2")]),
    )
    .await;
    wait_for_statuses(
        &client,
        "the pre-authorized source succeeds in both regions",
        &[(SOURCE, HOME, succeeded()), (SOURCE, OTHER, succeeded())],
    )
    .await;
    cluster.shutdown().await;
}

async fn an_organization_aggregator_follows_the_organization_membership(backend: Backend) {
    let cluster = start(backend).await;
    let (organization_id, _) = cluster.create_organization(OWNER).await;
    cluster.create_account(SOURCE, &organization_id).await;
    // JOINER is standalone for now.
    cluster.create_account(JOINER, "").await;
    let owner_key = cluster.account_key(OWNER).await;
    let key = cluster.service_key();
    record(cluster.config(HOME, key), OWNER, &["o1"]).await;
    record(cluster.config(HOME, key), SOURCE, &["s1"]).await;
    record(cluster.config(OTHER, key), SOURCE, &["s2"]).await;
    record(cluster.config(HOME, key), JOINER, &["j1"]).await;

    let mut client = cluster.config_aggregators(&owner_key);
    put(
        &mut client,
        pb::PutConfigurationAggregatorRequest {
            region: HOME.into(),
            configuration_aggregator_name: NAME.into(),
            organization_aggregation_source: Some(pb::OrganizationAggregationSource {
                role_arn: format!("arn:aws:iam::{OWNER}:role/aws-service-role/config"),
                aws_regions: Vec::new(),
                all_aws_regions: true,
            }),
            ..Default::default()
        },
    )
    .await;

    // The organization's accounts show without any authorization.
    let members = seen(&[
        (OWNER, HOME, "o1"),
        (SOURCE, HOME, "s1"),
        (SOURCE, OTHER, "s2"),
    ]);
    wait_for_views(&client, "the organization's accounts show", &members).await;
    wait_for_statuses(
        &client,
        "the member succeeds in both regions",
        &[(SOURCE, HOME, succeeded()), (SOURCE, OTHER, succeeded())],
    )
    .await;

    // An account that joins shows without touching the aggregator.
    let mut organizations = cluster.organizations(cluster.operator_key());
    organizations
        .add_account_to_organization(membership_pb::AddAccountToOrganizationRequest {
            organization_id: organization_id.clone(),
            account_id: JOINER.into(),
        })
        .await
        .unwrap();
    let mut joined = members.clone();
    joined.insert((JOINER.into(), HOME.into(), "j1".into()));
    wait_for_views(&client, "the joining account shows", &joined).await;

    // An account that leaves disappears.
    organizations
        .remove_account_from_organization(membership_pb::RemoveAccountFromOrganizationRequest {
            organization_id: organization_id.clone(),
            account_id: SOURCE.into(),
        })
        .await
        .unwrap();
    wait_for_views(
        &client,
        "the leaving account disappears",
        &seen(&[(OWNER, HOME, "o1"), (JOINER, HOME, "j1")]),
    )
    .await;
    cluster.shutdown().await;
}

async fn an_all_regions_aggregator_picks_up_a_region_registered_later(backend: Backend) {
    let cluster = start(backend).await;
    let owner_key = cluster.account_key(OWNER).await;
    let source_key = cluster.account_key(SOURCE).await;
    let key = cluster.service_key();
    record(cluster.config(HOME, key), OWNER, &["o1"]).await;
    record(cluster.config(HOME, key), SOURCE, &["s1"]).await;
    authorize(&cluster, &source_key, HOME).await;
    let mut client = cluster.config_aggregators(&owner_key);
    put(&mut client, account_sources(&[OWNER, SOURCE], &[])).await;
    wait_for_views(
        &client,
        "the first regions' data shows",
        &seen(&[(OWNER, HOME, "o1"), (SOURCE, HOME, "s1")]),
    )
    .await;

    // A new region comes up; the aggregator is not touched.
    let later = cluster.standalone_collector(LATER).await;
    // The listed source is asked there too, and authorizes.
    eventually("the source is asked in the new region", WAIT, || async {
        let requests = pending(&cluster, &source_key, LATER).await;
        if requests == [(OWNER.to_string(), HOME.to_string())] {
            Ok(())
        } else {
            Err(format!("{requests:?}"))
        }
    })
    .await;
    authorize(&cluster, &source_key, LATER).await;
    record(cluster.standalone_config(&later, key), OWNER, &["o2"]).await;
    record(cluster.standalone_config(&later, key), SOURCE, &["s2"]).await;
    wait_for_views(
        &client,
        "the new region's data shows",
        &seen(&[
            (OWNER, HOME, "o1"),
            (OWNER, LATER, "o2"),
            (SOURCE, HOME, "s1"),
            (SOURCE, LATER, "s2"),
        ]),
    )
    .await;
    wait_for_statuses(
        &client,
        "the new region's sources succeed",
        &[(OWNER, LATER, succeeded()), (SOURCE, LATER, succeeded())],
    )
    .await;
    cluster.shutdown().await;
    drop(later);
}

async fn a_revoked_authorization_hides_the_source_data(backend: Backend) {
    let cluster = start(backend).await;
    let owner_key = cluster.account_key(OWNER).await;
    let source_key = cluster.account_key(SOURCE).await;
    let key = cluster.service_key();
    record(cluster.config(HOME, key), OWNER, &["o1"]).await;
    record(cluster.config(HOME, key), SOURCE, &["s1"]).await;
    record(cluster.config(OTHER, key), SOURCE, &["s2"]).await;
    authorize(&cluster, &source_key, HOME).await;
    authorize(&cluster, &source_key, OTHER).await;
    let mut client = cluster.config_aggregators(&owner_key);
    put(&mut client, account_sources(&[OWNER, SOURCE], &[])).await;
    wait_for_views(
        &client,
        "the authorized data shows",
        &seen(&[
            (OWNER, HOME, "o1"),
            (SOURCE, HOME, "s1"),
            (SOURCE, OTHER, "s2"),
        ]),
    )
    .await;

    // Revoking in one region hides that region's data only.
    cluster
        .authorizations(&source_key)
        .delete_aggregation_authorization(membership_pb::DeleteAggregationAuthorizationRequest {
            region: OTHER.into(),
            authorized_account_id: OWNER.into(),
            authorized_aws_region: HOME.into(),
        })
        .await
        .unwrap();
    wait_for_views(
        &client,
        "the revoked region's data disappears",
        &seen(&[(OWNER, HOME, "o1"), (SOURCE, HOME, "s1")]),
    )
    .await;
    wait_for_statuses(
        &client,
        "the revoked pair is not authorized",
        &[(SOURCE, HOME, succeeded()), (SOURCE, OTHER, unauthorized())],
    )
    .await;
    // A revoked pair is not a new request: the source is not asked again there.
    assert!(pending(&cluster, &source_key, OTHER).await.is_empty());
    cluster.shutdown().await;
}
