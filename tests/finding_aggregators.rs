//! Finding aggregators over real gRPC: the four linking modes and their region rules, one
//! aggregator per account, members and accounts without a hub refused, updates and deletes only
//! from the home region, listing and paging, other accounts kept out, and membership's
//! entitlements following every change; on SQLite and PostgreSQL.

// A panic in a test is a failed assertion with a location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::{Backend, TestCluster, make_enabled_member, reason, violated_fields};
use tonic::Code;
use tributary_proto::{aggregator::v1 as pb, membership::v1 as membership_pb};

on_both_backends!(
    every_linking_mode_is_declared_and_resolved_by_membership,
    region_lists_follow_the_rules_of_each_mode,
    an_account_has_one_aggregator_and_members_or_accounts_without_a_hub_have_none,
    updates_and_deletes_come_only_from_the_home_region,
    listing_pages_and_other_accounts_are_kept_out,
);

const HOME: &str = "us-east-1";
const LINKED: &str = "eu-west-1";
/// Registered without a collector; tests register it when they need a third region.
const THIRD: &str = "ap-southeast-2";

use membership_pb::PairStatus::{Authorized, NotEnabled};
use pb::RegionLinkingMode::{AllRegions, AllRegionsExceptSpecified, NoRegions, SpecifiedRegions};

async fn start(backend: Backend) -> TestCluster {
    TestCluster::builder(backend)
        .collector(HOME)
        .collector(LINKED)
        .start()
        .await
}

async fn register_region(cluster: &TestCluster, region: &str) {
    cluster
        .regions(cluster.operator_key())
        .register_region(membership_pb::RegisterRegionRequest {
            region_name: region.into(),
            collector_endpoint: "http://127.0.0.1:1".into(),
            opt_in: false,
        })
        .await
        .expect("the operator registers a region");
}

/// Creates the account and a key for it, with the hub enabled in `regions`.
async fn account_with_hub(cluster: &TestCluster, account_id: &str, regions: &[&str]) -> String {
    let key = cluster.account_key(account_id).await;
    for region in regions {
        cluster
            .securityhub(&key)
            .enable_security_hub(membership_pb::EnableSecurityHubRequest {
                region: region.to_string(),
                ..Default::default()
            })
            .await
            .expect("the hub is enabled");
    }
    key
}

fn strings(values: &[&str]) -> Vec<String> {
    values.iter().map(|value| value.to_string()).collect()
}

fn create_request(
    mode: pb::RegionLinkingMode,
    regions: &[&str],
) -> pb::CreateFindingAggregatorRequest {
    pb::CreateFindingAggregatorRequest {
        owner_account_id: String::new(),
        region: HOME.into(),
        region_linking_mode: mode as i32,
        regions: strings(regions),
        backfill_existing_findings: false,
    }
}

async fn create(
    cluster: &TestCluster,
    key: &str,
    request: pb::CreateFindingAggregatorRequest,
) -> Result<pb::CreateFindingAggregatorResponse, tonic::Status> {
    cluster
        .finding_aggregators(key)
        .create_finding_aggregator(request)
        .await
        .map(tonic::Response::into_inner)
}

async fn get(
    cluster: &TestCluster,
    key: &str,
    arn: &str,
) -> Result<pb::GetFindingAggregatorResponse, tonic::Status> {
    cluster
        .finding_aggregators(key)
        .get_finding_aggregator(pb::GetFindingAggregatorRequest {
            finding_aggregator_arn: arn.into(),
        })
        .await
        .map(tonic::Response::into_inner)
}

async fn update(
    cluster: &TestCluster,
    key: &str,
    arn: &str,
    region: &str,
    mode: pb::RegionLinkingMode,
    regions: &[&str],
) -> Result<pb::UpdateFindingAggregatorResponse, tonic::Status> {
    cluster
        .finding_aggregators(key)
        .update_finding_aggregator(pb::UpdateFindingAggregatorRequest {
            finding_aggregator_arn: arn.into(),
            region: region.into(),
            region_linking_mode: mode as i32,
            regions: strings(regions),
        })
        .await
        .map(tonic::Response::into_inner)
}

async fn delete(
    cluster: &TestCluster,
    key: &str,
    arn: &str,
    region: &str,
) -> Result<(), tonic::Status> {
    cluster
        .finding_aggregators(key)
        .delete_finding_aggregator(pb::DeleteFindingAggregatorRequest {
            finding_aggregator_arn: arn.into(),
            region: region.into(),
        })
        .await
        .map(|_| ())
}

async fn list(
    cluster: &TestCluster,
    key: &str,
    owner_account_id: &str,
    page_size: i32,
    page_token: &str,
) -> Result<pb::ListFindingAggregatorsResponse, tonic::Status> {
    cluster
        .finding_aggregators(key)
        .list_finding_aggregators(pb::ListFindingAggregatorsRequest {
            owner_account_id: owner_account_id.into(),
            page_size,
            page_token: page_token.into(),
        })
        .await
        .map(tonic::Response::into_inner)
}

/// Membership's answer for the owner's finding aggregator: (account, region, status) in order.
async fn resolve(
    cluster: &TestCluster,
    owner: &str,
) -> Result<Vec<(String, String, membership_pb::PairStatus)>, tonic::Status> {
    let response = cluster
        .entitlements(cluster.service_key())
        .resolve_entitlements(membership_pb::ResolveEntitlementsRequest {
            aggregator: Some(membership_pb::AggregatorReference {
                aggregator: Some(
                    membership_pb::aggregator_reference::Aggregator::FindingAggregatorOwnerAccountId(
                        owner.into(),
                    ),
                ),
            }),
        })
        .await?
        .into_inner();
    Ok(response
        .pairs
        .into_iter()
        .map(|pair| (pair.account_id.clone(), pair.region.clone(), pair.status()))
        .collect())
}

fn pair(
    account_id: &str,
    region: &str,
    status: membership_pb::PairStatus,
) -> (String, String, membership_pb::PairStatus) {
    (account_id.into(), region.into(), status)
}

fn expect_error(result: Result<impl std::fmt::Debug, tonic::Status>, what: &str) -> tonic::Status {
    match result {
        Ok(value) => panic!("{what}: expected an error, got {value:?}"),
        Err(status) => status,
    }
}

fn assert_invalid_input(status: &tonic::Status, fields: &[&str]) {
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    assert_eq!(reason(status), "InvalidInputException", "{status:?}");
    assert_eq!(violated_fields(status), fields, "{status:?}");
}

async fn every_linking_mode_is_declared_and_resolved_by_membership(backend: Backend) {
    let cluster = start(backend).await;
    let owner = "810000000001";
    let key = account_with_hub(&cluster, owner, &[HOME, LINKED]).await;
    let arn_prefix = format!("arn:aws:securityhub:{HOME}:{owner}:finding-aggregator/");

    // ALL_REGIONS: every registered region, and a region registered later without touching it.
    let mut all = create_request(AllRegions, &[]);
    all.backfill_existing_findings = true;
    let created = create(&cluster, &key, all).await.unwrap();
    assert!(
        created.finding_aggregator_arn.starts_with(&arn_prefix),
        "{created:?}"
    );
    let id = &created.finding_aggregator_arn[arn_prefix.len()..];
    assert_eq!(id.len(), 36, "a UUID: {id}");
    assert_eq!(created.finding_aggregation_region, HOME);
    assert_eq!(created.region_linking_mode(), AllRegions);
    assert!(created.regions.is_empty());
    assert!(created.backfill_existing_findings);
    assert!(
        created.linked_region_status.is_empty(),
        "filled once replication runs"
    );
    assert_eq!(created.create_time, created.update_time);
    let read = get(&cluster, &key, &created.finding_aggregator_arn)
        .await
        .unwrap();
    assert_eq!(read.finding_aggregator_arn, created.finding_aggregator_arn);
    assert_eq!(read.finding_aggregation_region, HOME);
    assert_eq!(read.region_linking_mode(), AllRegions);
    assert!(read.backfill_existing_findings);
    assert_eq!(read.create_time, created.create_time);
    assert_eq!(
        resolve(&cluster, owner).await.unwrap(),
        [
            pair(owner, LINKED, Authorized),
            pair(owner, HOME, Authorized)
        ]
    );
    register_region(&cluster, THIRD).await;
    assert_eq!(
        resolve(&cluster, owner).await.unwrap(),
        [
            pair(owner, THIRD, NotEnabled),
            pair(owner, LINKED, Authorized),
            pair(owner, HOME, Authorized)
        ],
        "a region registered later is linked at once"
    );
    delete(&cluster, &key, &created.finding_aggregator_arn, HOME)
        .await
        .unwrap();

    // The other modes, each created afresh (one aggregator per account).
    for (mode, regions, resolved) in [
        (
            AllRegionsExceptSpecified,
            &[LINKED][..],
            vec![
                pair(owner, THIRD, NotEnabled),
                pair(owner, HOME, Authorized),
            ],
        ),
        (
            SpecifiedRegions,
            &[LINKED],
            vec![
                pair(owner, LINKED, Authorized),
                pair(owner, HOME, Authorized),
            ],
        ),
        (NoRegions, &[], vec![pair(owner, HOME, Authorized)]),
    ] {
        let created = create(&cluster, &key, create_request(mode, regions))
            .await
            .unwrap_or_else(|status| panic!("{mode:?} is created: {status:?}"));
        assert_eq!(created.region_linking_mode(), mode);
        assert_eq!(created.regions, strings(regions));
        assert!(!created.backfill_existing_findings, "off by default");
        let read = get(&cluster, &key, &created.finding_aggregator_arn)
            .await
            .unwrap();
        assert_eq!(read.region_linking_mode(), mode);
        assert_eq!(read.regions, strings(regions));
        assert_eq!(
            resolve(&cluster, owner).await.unwrap(),
            resolved,
            "{mode:?}"
        );
        delete(&cluster, &key, &created.finding_aggregator_arn, HOME)
            .await
            .unwrap();
    }
    let withdrawn = expect_error(resolve(&cluster, owner).await, "withdrawn");
    assert_eq!(withdrawn.code(), Code::NotFound);
    cluster.shutdown().await;
}

async fn region_lists_follow_the_rules_of_each_mode(backend: Backend) {
    let cluster = start(backend).await;
    let owner = "820000000001";
    let key = account_with_hub(&cluster, owner, &[HOME]).await;

    for (mode, regions) in [
        (AllRegions, &[LINKED][..]),
        (NoRegions, &[LINKED]),
        (AllRegionsExceptSpecified, &[]),
        (SpecifiedRegions, &[]),
    ] {
        let refused = expect_error(
            create(&cluster, &key, create_request(mode, regions)).await,
            "a list that breaks the mode's rule",
        );
        assert_invalid_input(&refused, &["regions"]);
    }
    let unspecified = expect_error(
        create(
            &cluster,
            &key,
            create_request(pb::RegionLinkingMode::Unspecified, &[]),
        )
        .await,
        "no mode",
    );
    assert_invalid_input(&unspecified, &["region_linking_mode"]);
    let listed = expect_error(
        create(
            &cluster,
            &key,
            create_request(SpecifiedRegions, &[HOME, LINKED, LINKED, "Mars"]),
        )
        .await,
        "home, duplicate and malformed regions",
    );
    assert_invalid_input(&listed, &["regions[0]", "regions[2]", "regions[3]"]);
    let unregistered = expect_error(
        create(
            &cluster,
            &key,
            create_request(AllRegionsExceptSpecified, &[LINKED, "sa-east-1"]),
        )
        .await,
        "an unregistered region",
    );
    assert_invalid_input(&unregistered, &["regions[1]"]);
    let mut elsewhere = create_request(NoRegions, &[]);
    elsewhere.region = "sa-east-1".into();
    let unknown_home = expect_error(
        create(&cluster, &key, elsewhere).await,
        "an unregistered home region",
    );
    assert_eq!(unknown_home.code(), Code::NotFound);
    assert_eq!(reason(&unknown_home), "ResourceNotFoundException");

    // Nothing was created or declared by any of them.
    assert!(
        list(&cluster, &key, "", 0, "")
            .await
            .unwrap()
            .finding_aggregators
            .is_empty()
    );
    assert_eq!(
        expect_error(resolve(&cluster, owner).await, "nothing declared").code(),
        Code::NotFound
    );
    cluster.shutdown().await;
}

async fn an_account_has_one_aggregator_and_members_or_accounts_without_a_hub_have_none(
    backend: Backend,
) {
    let cluster = start(backend).await;
    let (administrator, member, hubless) = ("830000000001", "830000000002", "830000000003");
    let administrator_key = account_with_hub(&cluster, administrator, &[HOME, LINKED]).await;
    let member_key = cluster.account_key(member).await;
    let hubless_key = cluster.account_key(hubless).await;

    let no_hub = expect_error(
        create(&cluster, &hubless_key, create_request(AllRegions, &[])).await,
        "no hub in the home region",
    );
    assert_eq!(no_hub.code(), Code::FailedPrecondition);
    assert_eq!(reason(&no_hub), "InvalidAccessException");
    assert!(no_hub.message().contains("not subscribed"), "{no_hub:?}");

    make_enabled_member(
        &cluster,
        &administrator_key,
        administrator,
        member,
        &member_key,
        HOME,
    )
    .await;
    let refused = expect_error(
        create(&cluster, &member_key, create_request(NoRegions, &[])).await,
        "a member",
    );
    assert_eq!(refused.code(), Code::FailedPrecondition);
    assert_eq!(reason(&refused), "InvalidInputException");
    assert_eq!(
        refused.message(),
        "A finding aggregator cannot be created by a member account."
    );
    assert_eq!(
        expect_error(resolve(&cluster, member).await, "nothing declared").code(),
        Code::NotFound
    );

    // The administrator's aggregator covers its member, and is its only one.
    let created = create(
        &cluster,
        &administrator_key,
        create_request(AllRegions, &[]),
    )
    .await
    .unwrap();
    assert_eq!(
        resolve(&cluster, administrator).await.unwrap(),
        [
            pair(administrator, LINKED, Authorized),
            pair(administrator, HOME, Authorized),
            pair(member, HOME, Authorized),
        ]
    );
    for region in [HOME, LINKED] {
        let mut again = create_request(NoRegions, &[]);
        again.region = region.into();
        let second = expect_error(
            create(&cluster, &administrator_key, again).await,
            "a second aggregator",
        );
        assert_eq!(second.code(), Code::ResourceExhausted, "{region}");
        assert_eq!(reason(&second), "LimitExceededException");
        assert!(
            second.message().contains(&created.finding_aggregator_arn),
            "{second:?}"
        );
    }
    assert_eq!(
        resolve(&cluster, administrator).await.unwrap().len(),
        3,
        "the refused creates left the declaration alone"
    );
    let listed = list(&cluster, &administrator_key, "", 0, "").await.unwrap();
    assert_eq!(listed.finding_aggregators.len(), 1);
    cluster.shutdown().await;
}

async fn updates_and_deletes_come_only_from_the_home_region(backend: Backend) {
    let cluster = start(backend).await;
    let owner = "840000000001";
    let key = account_with_hub(&cluster, owner, &[HOME, LINKED]).await;
    let created = create(&cluster, &key, create_request(NoRegions, &[]))
        .await
        .unwrap();
    let arn = created.finding_aggregator_arn.clone();
    assert_eq!(
        resolve(&cluster, owner).await.unwrap(),
        [pair(owner, HOME, Authorized)]
    );

    let elsewhere = expect_error(
        update(&cluster, &key, &arn, LINKED, AllRegions, &[]).await,
        "an update outside the home region",
    );
    assert_invalid_input(&elsewhere, &["region"]);
    let bad_list = expect_error(
        update(&cluster, &key, &arn, HOME, SpecifiedRegions, &[HOME]).await,
        "the home region listed",
    );
    assert_invalid_input(&bad_list, &["regions[0]"]);
    let unregistered = expect_error(
        update(&cluster, &key, &arn, HOME, SpecifiedRegions, &[THIRD]).await,
        "an unregistered region",
    );
    assert_invalid_input(&unregistered, &["regions[0]"]);
    let malformed = expect_error(
        update(
            &cluster,
            &key,
            "arn:aws:securityhub:nowhere",
            HOME,
            AllRegions,
            &[],
        )
        .await,
        "a malformed ARN",
    );
    assert_invalid_input(&malformed, &["finding_aggregator_arn"]);
    let unknown_arn = format!(
        "arn:aws:securityhub:{HOME}:{owner}:finding-aggregator/00000000-0000-4000-8000-000000000000"
    );
    let unknown = expect_error(
        update(&cluster, &key, &unknown_arn, HOME, AllRegions, &[]).await,
        "an unknown ARN",
    );
    assert_eq!(unknown.code(), Code::NotFound);
    assert_eq!(reason(&unknown), "ResourceNotFoundException");
    assert_eq!(
        resolve(&cluster, owner).await.unwrap(),
        [pair(owner, HOME, Authorized)],
        "refused updates change nothing"
    );

    // A valid update replaces the list; the ARN and home region stay.
    register_region(&cluster, THIRD).await;
    let updated = update(
        &cluster,
        &key,
        &arn,
        HOME,
        SpecifiedRegions,
        &[THIRD, LINKED],
    )
    .await
    .unwrap();
    assert_eq!(updated.finding_aggregator_arn, arn);
    assert_eq!(updated.finding_aggregation_region, HOME);
    assert_eq!(updated.region_linking_mode(), SpecifiedRegions);
    assert_eq!(updated.regions, [THIRD, LINKED], "sorted");
    assert_eq!(updated.create_time, created.create_time);
    assert!(updated.update_time.as_ref().unwrap().seconds >= created.update_time.unwrap().seconds);
    assert_eq!(
        resolve(&cluster, owner).await.unwrap(),
        [
            pair(owner, THIRD, NotEnabled),
            pair(owner, LINKED, Authorized),
            pair(owner, HOME, Authorized)
        ]
    );
    let read = get(&cluster, &key, &arn).await.unwrap();
    assert_eq!(read.regions, [THIRD, LINKED]);
    update(
        &cluster,
        &key,
        &arn,
        HOME,
        AllRegionsExceptSpecified,
        &[THIRD],
    )
    .await
    .unwrap();
    assert_eq!(
        resolve(&cluster, owner).await.unwrap(),
        [
            pair(owner, LINKED, Authorized),
            pair(owner, HOME, Authorized)
        ]
    );

    // Deleting works only from the home region, and only once.
    let refused = expect_error(
        delete(&cluster, &key, &arn, LINKED).await,
        "a delete outside the home region",
    );
    assert_invalid_input(&refused, &["region"]);
    assert!(get(&cluster, &key, &arn).await.is_ok(), "still there");
    delete(&cluster, &key, &arn, HOME).await.unwrap();
    let gone = expect_error(get(&cluster, &key, &arn).await, "deleted");
    assert_eq!(gone.code(), Code::NotFound);
    assert_eq!(reason(&gone), "ResourceNotFoundException");
    let again = expect_error(delete(&cluster, &key, &arn, HOME).await, "deleted twice");
    assert_eq!(again.code(), Code::NotFound);
    assert_eq!(
        expect_error(resolve(&cluster, owner).await, "withdrawn").code(),
        Code::NotFound
    );

    // A new home region after delete: a new ARN; the old one stays unknown.
    let mut moved = create_request(AllRegions, &[]);
    moved.region = LINKED.into();
    let recreated = create(&cluster, &key, moved).await.unwrap();
    assert_eq!(recreated.finding_aggregation_region, LINKED);
    assert!(
        recreated
            .finding_aggregator_arn
            .starts_with(&format!("arn:aws:securityhub:{LINKED}:{owner}:"))
    );
    assert_eq!(
        expect_error(get(&cluster, &key, &arn).await, "the old ARN").code(),
        Code::NotFound
    );
    let wrong_home = expect_error(
        update(
            &cluster,
            &key,
            &recreated.finding_aggregator_arn,
            HOME,
            NoRegions,
            &[],
        )
        .await,
        "the old home region",
    );
    assert_invalid_input(&wrong_home, &["region"]);
    cluster.shutdown().await;
}

async fn listing_pages_and_other_accounts_are_kept_out(backend: Backend) {
    let cluster = start(backend).await;
    let owners = ["850000000001", "850000000002", "850000000003"];
    let mut keys = Vec::new();
    let mut arns = Vec::new();
    for owner in owners {
        let key = account_with_hub(&cluster, owner, &[HOME]).await;
        let created = create(&cluster, &key, create_request(NoRegions, &[]))
            .await
            .unwrap();
        keys.push(key);
        arns.push(created.finding_aggregator_arn);
    }
    let operator = cluster.operator_key().to_string();

    // Operators page through every account's aggregator, in owner order.
    let first = list(&cluster, &operator, "", 2, "").await.unwrap();
    assert_eq!(first.finding_aggregators.len(), 2);
    assert!(!first.next_page_token.is_empty());
    let second = list(&cluster, &operator, "", 2, &first.next_page_token)
        .await
        .unwrap();
    assert_eq!(second.finding_aggregators.len(), 1);
    assert!(second.next_page_token.is_empty());
    let paged: Vec<String> = first
        .finding_aggregators
        .into_iter()
        .chain(second.finding_aggregators)
        .map(|summary| summary.finding_aggregator_arn)
        .collect();
    assert_eq!(paged, arns);
    let narrowed = list(&cluster, &operator, owners[1], 0, "").await.unwrap();
    assert_eq!(narrowed.finding_aggregators.len(), 1);
    assert_eq!(
        narrowed.finding_aggregators[0].finding_aggregator_arn,
        arns[1]
    );
    let too_big = expect_error(list(&cluster, &operator, "", 101, "").await, "page size");
    assert_eq!(too_big.code(), Code::InvalidArgument);
    assert_eq!(reason(&too_big), "InvalidLimitException");
    let foreign_token = expect_error(
        list(&cluster, &operator, owners[0], 2, &first.next_page_token).await,
        "a token of other filters",
    );
    assert_eq!(reason(&foreign_token), "InvalidNextTokenException");

    // An account sees only its own, whatever it asks.
    let own = list(&cluster, &keys[0], "", 0, "").await.unwrap();
    assert_eq!(
        own.finding_aggregators
            .iter()
            .map(|summary| summary.finding_aggregator_arn.clone())
            .collect::<Vec<_>>(),
        [arns[0].clone()]
    );
    let others = expect_error(
        list(&cluster, &keys[0], owners[1], 0, "").await,
        "another account's list",
    );
    assert_eq!(others.code(), Code::PermissionDenied);
    assert_eq!(reason(&others), "AccessDeniedException");

    // Another account can neither read, change nor delete it, nor create one in its name.
    let denied = [
        expect_error(get(&cluster, &keys[1], &arns[0]).await, "get"),
        expect_error(
            update(&cluster, &keys[1], &arns[0], HOME, AllRegions, &[]).await,
            "update",
        ),
        expect_error(delete(&cluster, &keys[1], &arns[0], HOME).await, "delete"),
        expect_error(
            create(
                &cluster,
                &keys[1],
                pb::CreateFindingAggregatorRequest {
                    owner_account_id: owners[0].into(),
                    ..create_request(AllRegions, &[])
                },
            )
            .await,
            "create for another account",
        ),
    ];
    for status in &denied {
        assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
        assert_eq!(reason(status), "AccessDeniedException");
    }
    let untouched = get(&cluster, &keys[0], &arns[0]).await.unwrap();
    assert_eq!(untouched.region_linking_mode(), NoRegions);

    // Operators and services act for any account, naming it on create.
    assert!(get(&cluster, &operator, &arns[2]).await.is_ok());
    let unnamed = expect_error(
        create(&cluster, &operator, create_request(AllRegions, &[])).await,
        "an operator without an owner",
    );
    assert_invalid_input(&unnamed, &["owner_account_id"]);
    let service = cluster.service_key().to_string();
    delete(&cluster, &service, &arns[2], HOME).await.unwrap();
    let recreated = create(
        &cluster,
        &service,
        pb::CreateFindingAggregatorRequest {
            owner_account_id: owners[2].into(),
            ..create_request(SpecifiedRegions, &[LINKED])
        },
    )
    .await
    .unwrap();
    assert!(recreated.finding_aggregator_arn.contains(owners[2]));
    assert_eq!(
        resolve(&cluster, owners[2]).await.unwrap(),
        [
            pair(owners[2], LINKED, NotEnabled),
            pair(owners[2], HOME, Authorized)
        ]
    );
    cluster.shutdown().await;
}
