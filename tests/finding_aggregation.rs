//! Finding aggregation over real gRPC, on SQLite and PostgreSQL: findings of linked regions reach
//! the aggregator's home region with their origin, updates flow both ways and concurrent ones
//! converge, each linking mode (and a region registered later) decides what is aggregated,
//! members contribute only where they are members, back-fill happens only when asked, unlinking
//! keeps what was copied, insights, control statuses and scores cover the aggregated set, and an
//! aggregator restarted in the middle of replicating or delivering updates loses and duplicates
//! nothing.

// A panic in a test is a failed assertion with a location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::{
    collections::{BTreeMap, BTreeSet},
    time::Duration,
};

use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter};
use support::{
    Authed, Backend, Standalone, TestCluster, eventually, make_enabled_member, wait_serving,
};
use tributary_aggregator::store::{
    aggregated_finding_scopes as scopes, aggregated_findings, finding_update_outbox,
};
use tributary_proto::{
    aggregator::v1 as pb, collector::v1 as collector_pb, membership::v1 as membership_pb,
};

on_both_backends!(
    findings_of_linked_regions_reach_the_home_region_and_updates_flow_both_ways,
    each_linking_mode_aggregates_its_regions_and_all_regions_takes_a_region_registered_later,
    members_contribute_only_where_they_are_members_and_stop_when_disassociated,
    existing_findings_are_back_filled_only_when_asked_and_deleting_keeps_copies,
    insights_controls_and_scores_cover_the_aggregated_set,
    concurrent_updates_in_both_regions_converge_through_disconnects_and_restarts,
    an_aggregator_restarted_mid_replication_and_mid_delivery_loses_and_duplicates_nothing,
);

const HOME: &str = "us-east-1";
const WEST: &str = "eu-west-1";
const SOUTH: &str = "ap-southeast-2";
const ADMIN: &str = "111111111111";
const MEMBER: &str = "222222222222";
const WAIT: Duration = Duration::from_secs(60);

type Aggregator = pb::finding_aggregator_service_client::FindingAggregatorServiceClient<Authed>;

async fn start(backend: Backend) -> TestCluster {
    TestCluster::builder(backend)
        .collector(HOME)
        .collector(WEST)
        .collector(SOUTH)
        .start()
        .await
}

/// A key for `account_id` (created when missing) with the hub enabled in `regions`.
async fn account_with_hub(cluster: &TestCluster, account_id: &str, regions: &[&str]) -> String {
    cluster.ensure_account(account_id).await;
    let key = cluster.account_key(account_id).await;
    for region in regions {
        cluster.enable_hub(&key, region).await;
    }
    key
}

async fn create(
    aggregator: &mut Aggregator,
    mode: pb::RegionLinkingMode,
    regions: &[&str],
    backfill: bool,
) -> String {
    aggregator
        .create_finding_aggregator(pb::CreateFindingAggregatorRequest {
            owner_account_id: String::new(),
            region: HOME.into(),
            region_linking_mode: mode as i32,
            regions: regions.iter().map(|region| region.to_string()).collect(),
            backfill_existing_findings: backfill,
        })
        .await
        .expect("the finding aggregator is created")
        .into_inner()
        .finding_aggregator_arn
}

/// Waits until the aggregator replicates exactly `regions` as linked regions.
async fn wait_linked(aggregator: &Aggregator, arn: &str, regions: &[&str]) {
    let wanted: BTreeSet<String> = regions.iter().map(|region| region.to_string()).collect();
    eventually("the linked regions replicate", WAIT, || {
        let mut aggregator = aggregator.clone();
        let wanted = wanted.clone();
        async move {
            let found: BTreeSet<String> = aggregator
                .get_finding_aggregator(pb::GetFindingAggregatorRequest {
                    finding_aggregator_arn: arn.into(),
                })
                .await
                .map_err(|status| status.to_string())?
                .into_inner()
                .linked_region_status
                .into_iter()
                .map(|status| status.region)
                .collect();
            if found == wanted {
                Ok(())
            } else {
                Err(format!("{found:?}"))
            }
        }
    })
    .await;
}

async fn import(
    cluster: &TestCluster,
    region: &str,
    key: &str,
    findings: Vec<collector_pb::Finding>,
) {
    let response = cluster
        .findings(region, key)
        .batch_import_findings(collector_pb::BatchImportFindingsRequest { findings })
        .await
        .expect("the findings are imported")
        .into_inner();
    assert_eq!(response.failed_count, 0, "{:?}", response.failed_findings);
}

fn finding(region: &str, account: &str, id: &str, updated: i64) -> collector_pb::Finding {
    support::sample_finding(
        region,
        account,
        id,
        collector_pb::SeverityLabel::High,
        updated,
    )
}

/// Every aggregated finding `aggregator`'s account sees in the home region, by id.
async fn aggregated(
    aggregator: &Aggregator,
) -> Result<BTreeMap<String, collector_pb::Finding>, String> {
    let mut aggregator = aggregator.clone();
    let mut found = BTreeMap::new();
    let mut page_token = String::new();
    loop {
        let page = aggregator
            .get_findings(pb::GetFindingsRequest {
                region: HOME.into(),
                page_token,
                ..Default::default()
            })
            .await
            .map_err(|status| status.to_string())?
            .into_inner();
        for finding in page.findings {
            found.insert(finding.id.clone(), finding);
        }
        if page.next_page_token.is_empty() {
            return Ok(found);
        }
        page_token = page.next_page_token;
    }
}

/// Waits until the aggregated ids are exactly `ids`, and returns the findings.
async fn wait_aggregated(
    aggregator: &Aggregator,
    ids: &[&str],
) -> BTreeMap<String, collector_pb::Finding> {
    let wanted: BTreeSet<String> = ids.iter().map(|id| id.to_string()).collect();
    eventually("the aggregated findings", WAIT, || {
        let wanted = wanted.clone();
        async move {
            let found = aggregated(aggregator).await?;
            let ids: BTreeSet<String> = found.keys().cloned().collect();
            if ids == wanted {
                Ok(found)
            } else {
                Err(format!("{ids:?}"))
            }
        }
    })
    .await
}

/// The finding `id` of `account` as its origin region's collector holds it.
async fn at_origin(
    cluster: &TestCluster,
    region: &str,
    key: &str,
    id: &str,
) -> collector_pb::Finding {
    cluster
        .findings(region, key)
        .get_findings(collector_pb::GetFindingsRequest {
            filters: Some(collector_pb::FindingFilters {
                id: vec![collector_pb::StringFilter {
                    value: id.into(),
                    comparison: collector_pb::StringFilterComparison::Equals as i32,
                }],
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .expect("the origin lists the finding")
        .into_inner()
        .findings
        .pop()
        .expect("the finding exists at its origin")
}

fn identifier(finding: &collector_pb::Finding) -> collector_pb::FindingIdentifier {
    collector_pb::FindingIdentifier {
        id: finding.id.clone(),
        product_arn: finding.product_arn.clone(),
    }
}

async fn findings_of_linked_regions_reach_the_home_region_and_updates_flow_both_ways(
    backend: Backend,
) {
    let metrics = tributary_runtime::metrics::prometheus();
    let cluster = start(backend).await;
    let key = account_with_hub(&cluster, ADMIN, &[HOME, WEST, SOUTH]).await;
    let mut aggregator = cluster.finding_aggregators(&key);
    let arn = create(
        &mut aggregator,
        pb::RegionLinkingMode::SpecifiedRegions,
        &[WEST],
        false,
    )
    .await;
    wait_linked(&aggregator, &arn, &[WEST]).await;

    import(
        &cluster,
        SOUTH,
        &key,
        vec![finding(SOUTH, ADMIN, "south", 1_700_000_100)],
    )
    .await;
    import(
        &cluster,
        HOME,
        &key,
        vec![finding(HOME, ADMIN, "home", 1_700_000_100)],
    )
    .await;
    import(
        &cluster,
        WEST,
        &key,
        vec![finding(WEST, ADMIN, "west", 1_700_000_100)],
    )
    .await;
    let found = wait_aggregated(&aggregator, &["home", "west"]).await;
    // Copies keep their origin region and product.
    assert_eq!(found["west"].region, WEST);
    assert_eq!(
        found["west"].product_arn,
        format!("arn:aws:securityhub:{WEST}:{ADMIN}:product/{ADMIN}/default")
    );
    assert_eq!(found["home"].region, HOME);
    // The shared filter language: the origin region is a filter like any other.
    let mut filtered = aggregator
        .get_findings(pb::GetFindingsRequest {
            region: HOME.into(),
            filters: Some(collector_pb::FindingFilters {
                region: vec![collector_pb::StringFilter {
                    value: WEST.into(),
                    comparison: collector_pb::StringFilterComparison::Equals as i32,
                }],
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .findings;
    assert_eq!(filtered.len(), 1);
    assert_eq!(filtered.pop().unwrap().id, "west");

    // An update in the linked region reaches the home copy.
    let west = found["west"].clone();
    cluster
        .findings(WEST, &key)
        .batch_update_findings(collector_pb::BatchUpdateFindingsRequest {
            finding_identifiers: vec![identifier(&west)],
            note: Some(collector_pb::FindingNoteUpdate {
                text: "seen in the west".into(),
                updated_by: "analyst".into(),
            }),
            ..Default::default()
        })
        .await
        .unwrap();
    eventually("the origin's note reaches the home copy", WAIT, || async {
        let copy = aggregated(&aggregator)
            .await?
            .remove("west")
            .unwrap_or_default();
        match copy.note {
            Some(note) if note.text == "seen in the west" => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;

    // A home update reaches the origin, and both keep both changes.
    let updated = aggregator
        .batch_update_findings(pb::BatchUpdateFindingsRequest {
            region: HOME.into(),
            finding_identifiers: vec![identifier(&west)],
            workflow: Some(collector_pb::FindingWorkflow {
                status: collector_pb::WorkflowStatus::Resolved as i32,
            }),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(updated.processed_findings, [identifier(&west)]);
    assert!(updated.unprocessed_findings.is_empty());
    eventually("the home update reaches the origin", WAIT, || async {
        let origin = at_origin(&cluster, WEST, &key, "west").await;
        let resolved = origin.workflow.as_ref().map(|workflow| workflow.status)
            == Some(collector_pb::WorkflowStatus::Resolved as i32);
        if resolved
            && origin
                .note
                .as_ref()
                .is_some_and(|note| note.text == "seen in the west")
        {
            Ok(())
        } else {
            Err(format!("{origin:?}"))
        }
    })
    .await;
    eventually("both copies are equal", WAIT, || async {
        let origin = at_origin(&cluster, WEST, &key, "west").await;
        let copy = aggregated(&aggregator)
            .await?
            .remove("west")
            .unwrap_or_default();
        if copy == origin {
            Ok(())
        } else {
            Err(format!("home {copy:?} origin {origin:?}"))
        }
    })
    .await;
    let history = cluster
        .findings(WEST, &key)
        .get_finding_history(collector_pb::GetFindingHistoryRequest {
            finding_identifier: Some(identifier(&west)),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .records;
    assert!(
        history.iter().any(|record| record
            .update_source
            .as_ref()
            .is_some_and(|source| source.identity.starts_with(&format!("account/{ADMIN}")))
            && record
                .updates
                .iter()
                .any(|update| update.updated_field.starts_with("Workflow"))),
        "{history:?}"
    );

    // An account without an aggregator or membership sees nothing here; another account's view
    // is refused.
    let stranger = account_with_hub(&cluster, "333333333333", &[HOME]).await;
    assert!(
        aggregated(&cluster.finding_aggregators(&stranger))
            .await
            .unwrap()
            .is_empty()
    );
    let refused = cluster
        .finding_aggregators(&stranger)
        .get_findings(pb::GetFindingsRequest {
            region: HOME.into(),
            account_id: ADMIN.into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::PermissionDenied);

    let rendered = metrics.render();
    let series = format!("tributary_finding_aggregation_lag_seconds{{region=\"{WEST}\"}}");
    assert!(rendered.contains(&series), "{series} in {rendered}");
    cluster.shutdown().await;
}

async fn update_linking(
    aggregator: &mut Aggregator,
    arn: &str,
    mode: pb::RegionLinkingMode,
    regions: &[&str],
) {
    aggregator
        .update_finding_aggregator(pb::UpdateFindingAggregatorRequest {
            finding_aggregator_arn: arn.into(),
            region: HOME.into(),
            region_linking_mode: mode as i32,
            regions: regions.iter().map(|region| region.to_string()).collect(),
        })
        .await
        .expect("the finding aggregator is updated");
}

/// Opens the database of the cluster's aggregator.
async fn aggregator_db(cluster: &TestCluster) -> DatabaseConnection {
    tributary_runtime::db::connect(&cluster.aggregator_database_url())
        .await
        .expect("the aggregator's database opens")
}

/// Waits until the aggregated set of `ADMIN`'s aggregator holds (account, region) in `state`, and
/// (for "linked") counts its changes.
async fn wait_scope(db: &DatabaseConnection, account_id: &str, region: &str, state: &str) {
    eventually(
        &format!("({account_id}, {region}) is {state}"),
        WAIT,
        || async {
            let row = scopes::Entity::find_by_id((
                ADMIN.to_string(),
                HOME.to_string(),
                account_id.to_string(),
                region.to_string(),
            ))
            .one(db)
            .await
            .map_err(|error| error.to_string())?;
            match row {
                Some(row)
                    if row.state == state && (state != "linked" || row.started_seq.is_some()) =>
                {
                    Ok(())
                }
                other => Err(format!("{other:?}")),
            }
        },
    )
    .await;
}

async fn each_linking_mode_aggregates_its_regions_and_all_regions_takes_a_region_registered_later(
    backend: Backend,
) {
    let cluster = start(backend).await;
    let db = aggregator_db(&cluster).await;
    let key = account_with_hub(&cluster, ADMIN, &[HOME, WEST, SOUTH]).await;
    let mut aggregator = cluster.finding_aggregators(&key);
    let arn = create(
        &mut aggregator,
        pb::RegionLinkingMode::AllRegionsExceptSpecified,
        &[SOUTH],
        false,
    )
    .await;
    wait_linked(&aggregator, &arn, &[WEST]).await;
    import(
        &cluster,
        SOUTH,
        &key,
        vec![finding(SOUTH, ADMIN, "south-1", 1_700_000_100)],
    )
    .await;
    import(
        &cluster,
        WEST,
        &key,
        vec![finding(WEST, ADMIN, "west-1", 1_700_000_100)],
    )
    .await;
    import(
        &cluster,
        HOME,
        &key,
        vec![finding(HOME, ADMIN, "home-1", 1_700_000_100)],
    )
    .await;
    wait_aggregated(&aggregator, &["home-1", "west-1"]).await;

    // Only the listed region: the other one's copies stay, nothing new comes from it.
    update_linking(
        &mut aggregator,
        &arn,
        pb::RegionLinkingMode::SpecifiedRegions,
        &[SOUTH],
    )
    .await;
    wait_linked(&aggregator, &arn, &[SOUTH]).await;
    wait_scope(&db, ADMIN, WEST, "stopped").await;
    import(
        &cluster,
        WEST,
        &key,
        vec![finding(WEST, ADMIN, "west-2", 1_700_000_100)],
    )
    .await;
    import(
        &cluster,
        SOUTH,
        &key,
        vec![finding(SOUTH, ADMIN, "south-2", 1_700_000_100)],
    )
    .await;
    let found = wait_aggregated(&aggregator, &["home-1", "west-1", "south-2"]).await;
    assert_eq!(found["south-2"].region, SOUTH);

    // Every region, including one registered afterwards.
    update_linking(
        &mut aggregator,
        &arn,
        pb::RegionLinkingMode::AllRegions,
        &[],
    )
    .await;
    wait_linked(&aggregator, &arn, &[WEST, SOUTH]).await;
    let later_region = "ca-central-1";
    let mut later = cluster.standalone_collector(later_region).await;
    cluster.enable_hub(&key, later_region).await;
    wait_linked(&aggregator, &arn, &[WEST, SOUTH, later_region]).await;
    let response =
        collector_pb::security_hub_service_client::SecurityHubServiceClient::with_interceptor(
            support::channel(later.address),
            support::bearer(&key),
        )
        .batch_import_findings(collector_pb::BatchImportFindingsRequest {
            findings: vec![finding(later_region, ADMIN, "later-1", 1_700_000_100)],
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(response.failed_count, 0, "{response:?}");
    import(
        &cluster,
        WEST,
        &key,
        vec![finding(WEST, ADMIN, "west-3", 1_700_000_100)],
    )
    .await;
    let found = wait_aggregated(
        &aggregator,
        &["home-1", "west-1", "south-2", "later-1", "west-3"],
    )
    .await;
    assert_eq!(found["later-1"].region, later_region);

    // No linked region: only the home region's findings keep coming; every copy stays.
    update_linking(&mut aggregator, &arn, pb::RegionLinkingMode::NoRegions, &[]).await;
    for region in [WEST, SOUTH, later_region] {
        wait_scope(&db, ADMIN, region, "stopped").await;
    }
    wait_linked(&aggregator, &arn, &[]).await;
    import(
        &cluster,
        WEST,
        &key,
        vec![finding(WEST, ADMIN, "west-4", 1_700_000_100)],
    )
    .await;
    import(
        &cluster,
        HOME,
        &key,
        vec![finding(HOME, ADMIN, "home-2", 1_700_000_100)],
    )
    .await;
    wait_aggregated(
        &aggregator,
        &["home-1", "home-2", "west-1", "south-2", "later-1", "west-3"],
    )
    .await;
    later.stop().await;
    cluster.shutdown().await;
}

async fn members_contribute_only_where_they_are_members_and_stop_when_disassociated(
    backend: Backend,
) {
    let cluster = start(backend).await;
    let db = aggregator_db(&cluster).await;
    let admin = account_with_hub(&cluster, ADMIN, &[HOME, WEST, SOUTH]).await;
    let member = account_with_hub(&cluster, MEMBER, &[HOME, WEST, SOUTH]).await;
    // A member in the home region and in WEST, not in SOUTH.
    for region in [HOME, WEST] {
        make_enabled_member(&cluster, &admin, ADMIN, MEMBER, &member, region).await;
    }
    let mut aggregator = cluster.finding_aggregators(&admin);
    let arn = create(
        &mut aggregator,
        pb::RegionLinkingMode::AllRegions,
        &[],
        false,
    )
    .await;
    wait_linked(&aggregator, &arn, &[WEST, SOUTH]).await;
    for region in [HOME, WEST] {
        wait_scope(&db, MEMBER, region, "linked").await;
    }

    for region in [HOME, WEST, SOUTH] {
        import(
            &cluster,
            region,
            &member,
            vec![finding(
                region,
                MEMBER,
                &format!("member-{region}"),
                1_700_000_100,
            )],
        )
        .await;
    }
    // The administrator's own finding after the member's in SOUTH: once it is here, the
    // member's would be too, had it been aggregated.
    import(
        &cluster,
        SOUTH,
        &admin,
        vec![finding(SOUTH, ADMIN, "admin-south", 1_700_000_100)],
    )
    .await;
    let member_home = format!("member-{HOME}");
    let member_west = format!("member-{WEST}");
    wait_aggregated(&aggregator, &[&member_home, &member_west, "admin-south"]).await;
    // The member sees its own copies in its administrator's home region, and nothing else.
    let member_view = cluster.finding_aggregators(&member);
    wait_aggregated(&member_view, &[&member_home, &member_west]).await;

    // Disassociated in WEST: the administrator no longer sees its copies from there, and
    // nothing new comes; the member still sees its own.
    cluster
        .securityhub(&admin)
        .disassociate_members(membership_pb::DisassociateMembersRequest {
            region: WEST.into(),
            account_ids: vec![MEMBER.into()],
        })
        .await
        .expect("the member is disassociated");
    wait_scope(&db, MEMBER, WEST, "hidden").await;
    wait_aggregated(&aggregator, &[&member_home, "admin-south"]).await;
    import(
        &cluster,
        WEST,
        &member,
        vec![finding(WEST, MEMBER, "member-west-2", 1_700_000_100)],
    )
    .await;
    import(
        &cluster,
        WEST,
        &admin,
        vec![finding(WEST, ADMIN, "admin-west", 1_700_000_100)],
    )
    .await;
    wait_aggregated(&aggregator, &[&member_home, "admin-south", "admin-west"]).await;
    wait_aggregated(&member_view, &[&member_home, &member_west]).await;
    cluster.shutdown().await;
}

async fn existing_findings_are_back_filled_only_when_asked_and_deleting_keeps_copies(
    backend: Backend,
) {
    let cluster = start(backend).await;
    let db = aggregator_db(&cluster).await;
    let key = account_with_hub(&cluster, ADMIN, &[HOME, WEST]).await;
    import(
        &cluster,
        WEST,
        &key,
        vec![finding(WEST, ADMIN, "old-west", 1_700_000_100)],
    )
    .await;
    import(
        &cluster,
        HOME,
        &key,
        vec![finding(HOME, ADMIN, "old-home", 1_700_000_100)],
    )
    .await;
    let mut aggregator = cluster.finding_aggregators(&key);
    let arn = create(
        &mut aggregator,
        pb::RegionLinkingMode::SpecifiedRegions,
        &[WEST],
        false,
    )
    .await;
    wait_linked(&aggregator, &arn, &[WEST]).await;
    // No back-fill: the linked region's existing finding is missing (the home region's own are
    // always there) until it is updated.
    import(
        &cluster,
        WEST,
        &key,
        vec![finding(WEST, ADMIN, "new-west", 1_700_000_100)],
    )
    .await;
    wait_aggregated(&aggregator, &["old-home", "new-west"]).await;
    import(
        &cluster,
        WEST,
        &key,
        vec![finding(WEST, ADMIN, "old-west", 1_700_000_200)],
    )
    .await;
    wait_aggregated(&aggregator, &["old-home", "new-west", "old-west"]).await;

    // Deleted: the copies stay visible and nothing new arrives.
    aggregator
        .delete_finding_aggregator(pb::DeleteFindingAggregatorRequest {
            finding_aggregator_arn: arn.clone(),
            region: HOME.into(),
        })
        .await
        .unwrap();
    wait_scope(&db, ADMIN, WEST, "stopped").await;
    import(
        &cluster,
        WEST,
        &key,
        vec![finding(WEST, ADMIN, "while-deleted", 1_700_000_100)],
    )
    .await;
    assert_eq!(
        aggregated(&aggregator).await.unwrap().len(),
        3,
        "deleting the aggregator keeps its copies"
    );

    // A new aggregator that asks for back-fill copies what exists when the region is linked.
    let arn = create(
        &mut aggregator,
        pb::RegionLinkingMode::SpecifiedRegions,
        &[WEST],
        true,
    )
    .await;
    wait_linked(&aggregator, &arn, &[WEST]).await;
    wait_aggregated(
        &aggregator,
        &["old-home", "new-west", "old-west", "while-deleted"],
    )
    .await;
    cluster.shutdown().await;
}

fn fsbp(region: &str) -> String {
    format!(
        "arn:aws:securityhub:{region}::standards/aws-foundational-security-best-practices/v/1.0.0"
    )
}

fn control_finding(
    region: &str,
    account: &str,
    id: &str,
    control: &str,
    status: collector_pb::ComplianceStatus,
) -> collector_pb::Finding {
    let mut finding = support::sample_finding(
        region,
        account,
        id,
        collector_pb::SeverityLabel::Medium,
        1_700_000_100,
    );
    finding.generator_id = format!("security-control/{control}");
    finding.compliance = Some(collector_pb::FindingCompliance {
        status: status as i32,
        security_control_id: control.into(),
        associated_standards: vec![collector_pb::FindingAssociatedStandard {
            standards_id: "standards/aws-foundational-security-best-practices/v/1.0.0".into(),
        }],
        ..Default::default()
    });
    finding
}

async fn create_insight(
    cluster: &TestCluster,
    region: &str,
    key: &str,
    name: &str,
    filters: collector_pb::FindingFilters,
) -> String {
    cluster
        .findings(region, key)
        .create_insight(collector_pb::CreateInsightRequest {
            name: name.into(),
            filters: Some(filters),
            group_by_attribute: "AwsAccountId".into(),
            account_id: String::new(),
        })
        .await
        .expect("the insight is created")
        .into_inner()
        .insight_arn
}

async fn insight_results(
    aggregator: &Aggregator,
    arn: &str,
) -> Result<BTreeMap<String, i64>, String> {
    Ok(aggregator
        .clone()
        .get_insight_results(pb::GetInsightResultsRequest {
            region: HOME.into(),
            account_id: String::new(),
            insight_arn: arn.into(),
        })
        .await
        .map_err(|status| status.to_string())?
        .into_inner()
        .insight_results
        .unwrap_or_default()
        .result_values
        .into_iter()
        .map(|value| (value.group_by_attribute_value, value.count))
        .collect())
}

/// What the aggregated scores should be, from the expected control statuses: per FSBP control
/// of the catalogue, PASSED / FAILED / UNKNOWN as listed and NO_DATA otherwise.
fn expected_score(statuses: &BTreeMap<&str, &str>) -> (i32, [i32; 4]) {
    let fsbp = &tributary_securityhub::controls::STANDARDS[0];
    let mut counts = [0; 4];
    for (_, security_id) in fsbp.controls {
        let slot = match statuses.get(security_id).copied() {
            Some("PASSED") => 0,
            Some("FAILED") => 1,
            Some("UNKNOWN") => 2,
            _ => 3,
        };
        counts[slot] += 1;
    }
    let with_data = f64::from(counts[0] + counts[1] + counts[2]);
    #[allow(clippy::cast_possible_truncation)]
    let score = (100.0 * f64::from(counts[0]) / with_data).round() as i32;
    (score, counts)
}

async fn insights_controls_and_scores_cover_the_aggregated_set(backend: Backend) {
    use collector_pb::ComplianceStatus::{Failed, Passed, Warning};
    let cluster = start(backend).await;
    let admin = account_with_hub(&cluster, ADMIN, &[HOME, WEST]).await;
    let member = account_with_hub(&cluster, MEMBER, &[HOME, WEST]).await;
    for region in [HOME, WEST] {
        make_enabled_member(&cluster, &admin, ADMIN, MEMBER, &member, region).await;
        for key in [&admin, &member] {
            cluster
                .findings(region, key)
                .batch_enable_standards(collector_pb::BatchEnableStandardsRequest {
                    standards_subscription_requests: vec![
                        collector_pb::StandardsSubscriptionRequest {
                            standards_arn: fsbp(region),
                            standards_input: Default::default(),
                        },
                    ],
                    account_id: String::new(),
                })
                .await
                .expect("the standard is enabled");
        }
    }
    let by_account = create_insight(&cluster, HOME, &admin, "by account", Default::default()).await;
    let west_only = create_insight(
        &cluster,
        HOME,
        &admin,
        "west only",
        collector_pb::FindingFilters {
            region: vec![collector_pb::StringFilter {
                value: WEST.into(),
                comparison: collector_pb::StringFilterComparison::Equals as i32,
            }],
            ..Default::default()
        },
    )
    .await;
    // Insights of another region are not the home region's.
    create_insight(&cluster, WEST, &admin, "elsewhere", Default::default()).await;

    let mut aggregator = cluster.finding_aggregators(&admin);
    let arn = create(
        &mut aggregator,
        pb::RegionLinkingMode::SpecifiedRegions,
        &[WEST],
        true,
    )
    .await;
    wait_linked(&aggregator, &arn, &[WEST]).await;
    import(
        &cluster,
        HOME,
        &admin,
        vec![
            control_finding(HOME, ADMIN, "a-s3", "S3.1", Passed),
            control_finding(HOME, ADMIN, "a-iam", "IAM.1", Passed),
        ],
    )
    .await;
    import(
        &cluster,
        WEST,
        &admin,
        vec![
            control_finding(WEST, ADMIN, "a-s3-west", "S3.1", Failed),
            finding(WEST, ADMIN, "a-plain", 1_700_000_100),
        ],
    )
    .await;
    import(
        &cluster,
        WEST,
        &member,
        vec![
            control_finding(WEST, MEMBER, "m-iam-west", "IAM.1", Passed),
            control_finding(WEST, MEMBER, "m-ec2-west", "EC2.2", Warning),
        ],
    )
    .await;
    import(
        &cluster,
        HOME,
        &member,
        vec![
            control_finding(HOME, MEMBER, "m-ec2", "EC2.2", Passed),
            finding(HOME, MEMBER, "m-plain", 1_700_000_100),
        ],
    )
    .await;
    wait_aggregated(
        &aggregator,
        &[
            "a-s3",
            "a-iam",
            "a-s3-west",
            "a-plain",
            "m-iam-west",
            "m-ec2-west",
            "m-ec2",
            "m-plain",
        ],
    )
    .await;

    // Custom insights of the home region, over every region unless they filter on one.
    let listed: BTreeSet<String> = aggregator
        .get_insights(pb::GetInsightsRequest {
            region: HOME.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .insights
        .into_iter()
        .map(|insight| insight.name)
        .collect();
    assert_eq!(
        listed,
        BTreeSet::from(["by account".to_string(), "west only".to_string()])
    );
    let counts = |pairs: &[(&str, i64)]| -> BTreeMap<String, i64> {
        pairs
            .iter()
            .map(|(value, count)| (value.to_string(), *count))
            .collect()
    };
    assert_eq!(
        insight_results(&aggregator, &by_account).await.unwrap(),
        counts(&[(ADMIN, 4), (MEMBER, 4)])
    );
    assert_eq!(
        insight_results(&aggregator, &west_only).await.unwrap(),
        counts(&[(ADMIN, 2), (MEMBER, 2)])
    );
    // A managed insight: active findings whose workflow is NEW or NOTIFIED (passed control
    // findings are RESOLVED), by severity.
    assert_eq!(
        insight_results(
            &aggregator,
            "arn:aws:securityhub:::insight/securityhub/default/29"
        )
        .await
        .unwrap(),
        counts(&[("HIGH", 2), ("MEDIUM", 2)])
    );
    // The member counts only its own copies.
    assert_eq!(
        insight_results(
            &cluster.finding_aggregators(&member),
            "arn:aws:securityhub:::insight/securityhub/default/29"
        )
        .await
        .unwrap(),
        counts(&[("HIGH", 1), ("MEDIUM", 1)])
    );

    // Control statuses: failing in any account and region fails.
    let expected: BTreeMap<&str, &str> = BTreeMap::from([
        ("S3.1", "FAILED"),
        ("IAM.1", "PASSED"),
        ("EC2.2", "UNKNOWN"),
    ]);
    let read_controls = |aggregator: Aggregator| async move {
        aggregator
            .clone()
            .batch_get_security_controls(pb::BatchGetSecurityControlsRequest {
                region: HOME.into(),
                account_id: String::new(),
                security_control_ids: vec![
                    "S3.1".into(),
                    "IAM.1".into(),
                    "EC2.2".into(),
                    "GuardDuty.1".into(),
                    "KMS.4".into(),
                    "Nope.1".into(),
                ],
            })
            .await
            .map_err(|status| status.to_string())
            .map(tonic::Response::into_inner)
    };
    let controls = eventually("the aggregated control statuses", WAIT, || async {
        let read = read_controls(aggregator.clone()).await?;
        let statuses: BTreeMap<String, i32> = read
            .security_controls
            .iter()
            .map(|control| {
                (
                    control.security_control_id.clone(),
                    control.compliance_status,
                )
            })
            .collect();
        let wanted: BTreeMap<String, i32> = [
            ("S3.1", collector_pb::ControlComplianceStatus::Failed),
            ("IAM.1", collector_pb::ControlComplianceStatus::Passed),
            ("EC2.2", collector_pb::ControlComplianceStatus::Unknown),
            ("GuardDuty.1", collector_pb::ControlComplianceStatus::NoData),
            // Only in CIS, which nobody enabled.
            ("KMS.4", collector_pb::ControlComplianceStatus::Disabled),
        ]
        .into_iter()
        .map(|(id, status)| (id.to_string(), status as i32))
        .collect();
        if statuses == wanted {
            Ok(read)
        } else {
            Err(format!("{statuses:?}"))
        }
    })
    .await;
    assert_eq!(controls.unprocessed_ids.len(), 1);
    assert_eq!(controls.unprocessed_ids[0].security_control_id, "Nope.1");
    let s3 = &controls.security_controls[0];
    assert_eq!(
        (s3.passed_findings, s3.failed_findings, s3.unknown_findings),
        (1, 1, 0)
    );
    assert_eq!(
        s3.security_control_arn,
        format!("arn:aws:securityhub:{HOME}:{ADMIN}:security-control/S3.1")
    );
    let ec2 = &controls.security_controls[2];
    assert_eq!(
        (
            ec2.passed_findings,
            ec2.failed_findings,
            ec2.unknown_findings
        ),
        (1, 0, 1)
    );

    // Scores follow the aggregated statuses.
    let scores = aggregator
        .get_security_scores(pb::GetSecurityScoresRequest {
            region: HOME.into(),
            account_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    let (score, [passed, failed, unknown, no_data]) = expected_score(&expected);
    assert_eq!(scores.standards.len(), 1, "{scores:?}");
    let standard = &scores.standards[0];
    assert_eq!(standard.standards_arn, fsbp(HOME));
    assert_eq!(standard.score, Some(score));
    assert_eq!(
        (
            standard.passed_controls,
            standard.failed_controls,
            standard.unknown_controls,
            standard.no_data_controls,
            standard.disabled_controls
        ),
        (passed, failed, unknown, no_data, 0)
    );
    assert_eq!(scores.overall_score, Some(score));
    assert_eq!(scores.pooled_score, Some(score));

    // The member's own view: its statuses only.
    let member_expected: BTreeMap<&str, &str> =
        BTreeMap::from([("IAM.1", "PASSED"), ("EC2.2", "UNKNOWN")]);
    let member_scores = cluster
        .finding_aggregators(&member)
        .get_security_scores(pb::GetSecurityScoresRequest {
            region: HOME.into(),
            account_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        member_scores.overall_score,
        Some(expected_score(&member_expected).0)
    );

    // Unlinking WEST takes it out of the statuses and scores; its copies stay.
    update_linking(&mut aggregator, &arn, pb::RegionLinkingMode::NoRegions, &[]).await;
    let db = aggregator_db(&cluster).await;
    wait_scope(&db, ADMIN, WEST, "stopped").await;
    wait_scope(&db, MEMBER, WEST, "stopped").await;
    let home_only: BTreeMap<&str, &str> =
        BTreeMap::from([("S3.1", "PASSED"), ("IAM.1", "PASSED"), ("EC2.2", "PASSED")]);
    let scores = aggregator
        .get_security_scores(pb::GetSecurityScoresRequest {
            region: HOME.into(),
            account_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(scores.overall_score, Some(expected_score(&home_only).0));
    assert_eq!(aggregated(&aggregator).await.unwrap().len(), 8);
    cluster.shutdown().await;
}

/// A region served by a collector the test stops and starts.
const ORIGIN: &str = "sa-east-1";

/// An aggregator on its own runtime and database, which the test crashes and restarts.
async fn standalone_aggregator(cluster: &TestCluster) -> (Standalone, DatabaseConnection) {
    let url = cluster.extra_database_url("aggregator-standalone").await;
    let mut config = cluster.standalone_aggregator_config(url.clone());
    config.replication.replication_lease_seconds = 1;
    config.replication.replication_max_backoff_seconds = 1;
    let aggregator = Standalone::start(move |listener, shutdown| {
        let config = config.clone();
        Box::pin(async move {
            tributary_aggregator::serve(config, listener, shutdown)
                .await
                .expect("the aggregator serves");
        })
    });
    wait_serving(aggregator.address).await;
    let db = tributary_runtime::db::connect(&url)
        .await
        .expect("the aggregator's database opens");
    (aggregator, db)
}

fn aggregator_at(address: std::net::SocketAddr, key: &str) -> Aggregator {
    pb::finding_aggregator_service_client::FindingAggregatorServiceClient::with_interceptor(
        support::channel(address),
        support::bearer(key),
    )
}

fn findings_at(
    address: std::net::SocketAddr,
    key: &str,
) -> collector_pb::security_hub_service_client::SecurityHubServiceClient<Authed> {
    collector_pb::security_hub_service_client::SecurityHubServiceClient::with_interceptor(
        support::channel(address),
        support::bearer(key),
    )
}

/// The customer fields one update sets: (group, seed) picks a group and a value.
#[derive(Debug, Clone, Copy)]
enum Op {
    /// BatchUpdateFindings on the aggregator (the home region).
    Home(u8, u8),
    /// BatchUpdateFindings on the origin region's collector.
    Origin(u8, u8),
    StopOrigin,
    StartOrigin,
    CrashAggregator,
    StartAggregator,
}

/// The change of group `group` with `seed`, as a collector request (the aggregator's request
/// carries the same fields).
fn change(group: u8, seed: u8) -> collector_pb::BatchUpdateFindingsRequest {
    let mut request = collector_pb::BatchUpdateFindingsRequest::default();
    match group % 5 {
        0 => {
            request.note = Some(collector_pb::FindingNoteUpdate {
                text: format!("note {seed}"),
                updated_by: "analyst".into(),
            });
        }
        1 => {
            request.workflow = Some(collector_pb::FindingWorkflow {
                status: i32::from(seed % 4) + 1,
            });
        }
        2 => request.verification_state = i32::from(seed % 4) + 1,
        3 => request.confidence = Some(i32::from(seed % 101)),
        _ => {
            request
                .user_defined_fields
                .insert("ticket".into(), format!("T-{seed}"));
        }
    }
    request
}

fn home_request(
    identifier: collector_pb::FindingIdentifier,
    group: u8,
    seed: u8,
) -> pb::BatchUpdateFindingsRequest {
    let change = change(group, seed);
    pb::BatchUpdateFindingsRequest {
        region: HOME.into(),
        account_id: String::new(),
        finding_identifiers: vec![identifier],
        note: change.note,
        severity: change.severity,
        verification_state: change.verification_state,
        confidence: change.confidence,
        criticality: change.criticality,
        types: change.types,
        user_defined_fields: change.user_defined_fields,
        workflow: change.workflow,
        related_findings: change.related_findings,
    }
}

/// The value of group `group` in `finding`, as text.
fn group_value(finding: &collector_pb::Finding, group: u8) -> String {
    match group % 5 {
        0 => format!("{:?}", finding.note.as_ref().map(|note| &note.text)),
        1 => format!(
            "{:?}",
            finding.workflow.as_ref().map(|workflow| workflow.status)
        ),
        2 => format!("{}", finding.verification_state),
        3 => format!("{:?}", finding.confidence),
        _ => format!("{:?}", finding.user_defined_fields.get("ticket")),
    }
}

/// What group `group` reads after a write with `seed`.
fn written_value(group: u8, seed: u8) -> String {
    let mut finding = collector_pb::Finding::default();
    let change = change(group, seed);
    finding.note = change.note.map(|note| collector_pb::FindingNote {
        text: note.text,
        ..Default::default()
    });
    finding.workflow = change.workflow;
    finding.verification_state = change.verification_state;
    finding.confidence = change.confidence;
    finding.user_defined_fields = change.user_defined_fields;
    group_value(&finding, group)
}

/// Services that go down and come back during the test.
struct Moving {
    origin: Standalone,
    origin_up: bool,
    aggregator: Standalone,
    aggregator_up: bool,
}

impl Moving {
    async fn all_up(&mut self) {
        if !self.origin_up {
            self.origin.start_again().await;
            self.origin_up = true;
        }
        if !self.aggregator_up {
            self.aggregator.start_again().await;
            self.aggregator_up = true;
        }
    }
}

async fn run_case(key: &str, moving: &std::sync::Mutex<Option<Moving>>, case: usize, ops: &[Op]) {
    let mut services = moving
        .lock()
        .unwrap()
        .take()
        .expect("the services are there");
    services.all_up().await;
    let aggregator = aggregator_at(services.aggregator.address, key);
    let origin_address = services.origin.address;
    let id = format!("converge-{case}");
    let imported = finding(ORIGIN, ADMIN, &id, 1_700_000_100);
    let response = findings_at(origin_address, key)
        .batch_import_findings(collector_pb::BatchImportFindingsRequest {
            findings: vec![imported.clone()],
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(response.failed_count, 0);
    let initial = eventually("the new finding reaches the home region", WAIT, || async {
        aggregated(&aggregator)
            .await?
            .remove(&id)
            .ok_or_else(|| "not yet".to_string())
    })
    .await;

    // The last value each side wrote to each group.
    let mut home_writes: BTreeMap<u8, String> = BTreeMap::new();
    let mut origin_writes: BTreeMap<u8, String> = BTreeMap::new();
    for op in ops {
        match *op {
            Op::Home(group, seed) if services.aggregator_up => {
                let response = aggregator
                    .clone()
                    .batch_update_findings(home_request(identifier(&imported), group, seed))
                    .await
                    .unwrap()
                    .into_inner();
                assert_eq!(response.processed_findings.len(), 1, "{response:?}");
                home_writes.insert(group % 5, written_value(group, seed));
            }
            Op::Origin(group, seed) if services.origin_up => {
                let mut request = change(group, seed);
                request.finding_identifiers = vec![identifier(&imported)];
                let response = findings_at(origin_address, key)
                    .batch_update_findings(request)
                    .await
                    .unwrap()
                    .into_inner();
                assert_eq!(response.processed_findings.len(), 1, "{response:?}");
                origin_writes.insert(group % 5, written_value(group, seed));
            }
            Op::StopOrigin if services.origin_up => {
                services.origin.stop().await;
                services.origin_up = false;
            }
            Op::StartOrigin if !services.origin_up => {
                services.origin.start_again().await;
                services.origin_up = true;
            }
            Op::CrashAggregator if services.aggregator_up => {
                services.aggregator.crash();
                services.aggregator_up = false;
            }
            Op::StartAggregator if !services.aggregator_up => {
                services.aggregator.start_again().await;
                services.aggregator_up = true;
            }
            _ => {}
        }
    }
    services.all_up().await;

    // Every copy ends equal, each group holding the newest write of it: a group only one side
    // wrote holds that side's last value.
    let converged = eventually("the home copy and the origin converge", WAIT, || async {
        let home = aggregated(&aggregator)
            .await?
            .remove(&id)
            .unwrap_or_default();
        let origin = findings_at(origin_address, key)
            .get_findings(collector_pb::GetFindingsRequest {
                filters: Some(collector_pb::FindingFilters {
                    id: vec![collector_pb::StringFilter {
                        value: id.clone(),
                        comparison: collector_pb::StringFilterComparison::Equals as i32,
                    }],
                    ..Default::default()
                }),
                ..Default::default()
            })
            .await
            .map_err(|status| status.to_string())?
            .into_inner()
            .findings
            .pop()
            .unwrap_or_default();
        if home == origin {
            Ok(home)
        } else {
            Err(format!("home {home:?}\norigin {origin:?}"))
        }
    })
    .await;
    for group in 0..5 {
        let value = group_value(&converged, group);
        match (home_writes.get(&group), origin_writes.get(&group)) {
            (Some(home), None) => assert_eq!(&value, home, "group {group}: {ops:?}"),
            (None, Some(origin)) => assert_eq!(&value, origin, "group {group}: {ops:?}"),
            (Some(home), Some(origin)) => assert!(
                value == *home || value == *origin,
                "group {group} holds {value}, neither {home} nor {origin}: {ops:?}"
            ),
            (None, None) => assert_eq!(value, group_value(&initial, group)),
        }
    }
    *moving.lock().unwrap() = Some(services);
}

async fn concurrent_updates_in_both_regions_converge_through_disconnects_and_restarts(
    backend: Backend,
) {
    use proptest::{
        prelude::*,
        test_runner::{Config, TestRunner},
    };
    let cluster = start(backend).await;
    let origin = cluster.standalone_collector(ORIGIN).await;
    let key = account_with_hub(&cluster, ADMIN, &[HOME, ORIGIN]).await;
    let (aggregator, _db) = standalone_aggregator(&cluster).await;
    let arn = create(
        &mut aggregator_at(aggregator.address, &key),
        pb::RegionLinkingMode::SpecifiedRegions,
        &[ORIGIN],
        false,
    )
    .await;
    wait_linked(&aggregator_at(aggregator.address, &key), &arn, &[ORIGIN]).await;
    let moving = std::sync::Mutex::new(Some(Moving {
        origin,
        origin_up: true,
        aggregator,
        aggregator_up: true,
    }));

    let op = prop_oneof![
        4 => (0u8..5, any::<u8>()).prop_map(|(group, seed)| Op::Home(group, seed)),
        4 => (0u8..5, any::<u8>()).prop_map(|(group, seed)| Op::Origin(group, seed)),
        1 => Just(Op::StopOrigin),
        1 => Just(Op::StartOrigin),
        1 => Just(Op::CrashAggregator),
        1 => Just(Op::StartAggregator),
    ];
    let mut runner = TestRunner::new(Config {
        cases: 3,
        max_shrink_iters: 0,
        failure_persistence: None,
        ..Config::default()
    });
    let case = std::sync::atomic::AtomicUsize::new(0);
    let handle = tokio::runtime::Handle::current();
    tokio::task::block_in_place(|| {
        runner
            .run(&prop::collection::vec(op, 2..8), |ops| {
                let case = case.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                handle.block_on(run_case(&key, &moving, case, &ops));
                Ok(())
            })
            .unwrap();
    });
    let mut services = moving.into_inner().unwrap().unwrap();
    services.aggregator.stop().await;
    services.origin.stop().await;
    cluster.shutdown().await;
}

async fn an_aggregator_restarted_mid_replication_and_mid_delivery_loses_and_duplicates_nothing(
    backend: Backend,
) {
    const FINDINGS: usize = 1000;
    let cluster = start(backend).await;
    let mut origin = cluster.standalone_collector(ORIGIN).await;
    let key = account_with_hub(&cluster, ADMIN, &[HOME, ORIGIN]).await;
    let (mut aggregator, db) = standalone_aggregator(&cluster).await;
    let client = aggregator_at(aggregator.address, &key);
    let arn = create(
        &mut client.clone(),
        pb::RegionLinkingMode::SpecifiedRegions,
        &[ORIGIN],
        false,
    )
    .await;
    wait_linked(&client, &arn, &[ORIGIN]).await;
    let copies = || async {
        aggregated_findings::Entity::find()
            .filter(aggregated_findings::Column::Region.eq(ORIGIN))
            .count(&db)
            .await
            .unwrap()
    };

    // A backlog builds up while the aggregator is away; it comes back and dies part-way.
    aggregator.stop().await;
    let mut ids = Vec::new();
    for batch in 0..FINDINGS / 100 {
        let findings: Vec<collector_pb::Finding> = (0..100)
            .map(|index| {
                finding(
                    ORIGIN,
                    ADMIN,
                    &format!("r-{batch:02}-{index:03}"),
                    1_700_000_100,
                )
            })
            .collect();
        ids.extend(findings.iter().map(|finding| finding.id.clone()));
        let response = findings_at(origin.address, &key)
            .batch_import_findings(collector_pb::BatchImportFindingsRequest { findings })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(response.failed_count, 0);
    }
    aggregator.start_again().await;
    eventually("part of the backlog is applied", WAIT, || async {
        if copies().await > 0 {
            Ok(())
        } else {
            Err("nothing yet".into())
        }
    })
    .await;
    aggregator.crash();
    aggregator.start_again().await;
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    wait_aggregated(&client, &ids).await;
    assert_eq!(copies().await, FINDINGS as u64);

    // Home updates queue while the origin is down; the aggregator dies with them queued, and
    // again while delivering.
    origin.stop().await;
    for chunk in ids.chunks(100) {
        let updated = client
            .clone()
            .batch_update_findings(pb::BatchUpdateFindingsRequest {
                region: HOME.into(),
                finding_identifiers: chunk
                    .iter()
                    .map(|id| collector_pb::FindingIdentifier {
                        id: id.to_string(),
                        product_arn: format!(
                            "arn:aws:securityhub:{ORIGIN}:{ADMIN}:product/{ADMIN}/default"
                        ),
                    })
                    .collect(),
                note: Some(collector_pb::FindingNoteUpdate {
                    text: "triaged at home".into(),
                    updated_by: "analyst".into(),
                }),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(updated.processed_findings.len(), chunk.len());
    }
    let queued = || async {
        finding_update_outbox::Entity::find()
            .count(&db)
            .await
            .unwrap()
    };
    assert_eq!(queued().await, FINDINGS as u64);
    aggregator.crash();
    origin.start_again().await;
    let head_before_delivery =
        collector_pb::change_log_service_client::ChangeLogServiceClient::with_interceptor(
            support::channel(origin.address),
            support::bearer(cluster.service_key()),
        )
        .get_head(collector_pb::GetHeadRequest {})
        .await
        .unwrap()
        .into_inner()
        .head_seq;
    aggregator.start_again().await;
    eventually("delivery starts", WAIT, || async {
        if queued().await < FINDINGS as u64 {
            Ok(())
        } else {
            Err("nothing delivered".into())
        }
    })
    .await;
    aggregator.crash();
    aggregator.start_again().await;
    eventually("every update is delivered", WAIT, || async {
        match queued().await {
            0 => Ok(()),
            left => Err(format!("{left} queued")),
        }
    })
    .await;

    // Each origin finding took the update exactly once: one change record each since the origin
    // came back.
    let mut change_log =
        collector_pb::change_log_service_client::ChangeLogServiceClient::with_interceptor(
            support::channel(origin.address),
            support::bearer(cluster.service_key()),
        );
    let head = change_log
        .get_head(collector_pb::GetHeadRequest {})
        .await
        .unwrap()
        .into_inner()
        .head_seq;
    let mut stream = change_log
        .subscribe(collector_pb::SubscribeRequest {
            from_seq: head_before_delivery,
            account_ids: vec![ADMIN.into()],
            kinds: vec![collector_pb::ChangeKind::Finding as i32],
            aggregator: Some(membership_pb::AggregatorReference {
                aggregator: Some(
                    membership_pb::aggregator_reference::Aggregator::FindingAggregatorOwnerAccountId(
                        ADMIN.into(),
                    ),
                ),
            }),
            aggregators: Vec::new(),
        })
        .await
        .unwrap()
        .into_inner();
    let mut changed = Vec::new();
    let mut through = head_before_delivery;
    while through < head {
        let batch = tokio::time::timeout(WAIT, stream.message())
            .await
            .expect("the origin's change log streams")
            .unwrap()
            .expect("the stream stays open");
        through = batch.through_seq;
        changed.extend(batch.records.into_iter().map(|record| record.key));
    }
    let distinct: BTreeSet<&String> = changed.iter().collect();
    assert_eq!((changed.len(), distinct.len()), (FINDINGS, FINDINGS));
    // And the home copies are the origin's.
    eventually("the copies match their origin", WAIT, || async {
        let copies = aggregated(&client).await?;
        let noted = copies
            .values()
            .filter(|finding| {
                finding
                    .note
                    .as_ref()
                    .is_some_and(|note| note.text == "triaged at home")
            })
            .count();
        if copies.len() == FINDINGS && noted == FINDINGS {
            Ok(())
        } else {
            Err(format!("{} copies, {noted} noted", copies.len()))
        }
    })
    .await;
    aggregator.stop().await;
    origin.stop().await;
    cluster.shutdown().await;
}
