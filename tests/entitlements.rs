//! Finding aggregator entitlements over real gRPC: the owner's own regions, members only where
//! they are enabled members with the hub enabled, all-regions following newly registered regions,
//! disassociation, and who may ask; on SQLite and PostgreSQL.

// A panic in a test is a failed assertion with a location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::{Backend, TestCluster, reason, violated_fields};
use tonic::Code;
use tributary_proto::membership::v1 as pb;

on_both_backends!(
    finding_aggregators_hold_members_only_where_they_are_enabled_members,
    members_cannot_own_finding_aggregators_and_a_prior_one_is_not_revived,
    entitlement_calls_are_validated_and_need_service_keys,
);

const HOME: &str = "us-east-1";
const LINKED: &str = "eu-west-1";

async fn start(backend: Backend) -> TestCluster {
    TestCluster::builder(backend)
        .collector(HOME)
        .collector(LINKED)
        .start()
        .await
}

async fn enable_hub(cluster: &TestCluster, key: &str, region: &str) {
    cluster
        .securityhub(key)
        .enable_security_hub(pb::EnableSecurityHubRequest {
            region: region.into(),
            ..Default::default()
        })
        .await
        .expect("the hub is enabled");
}

/// Makes `member_id` an enabled member of the administrator in `region` by invitation.
async fn invite_and_accept(
    cluster: &TestCluster,
    administrator_key: &str,
    administrator_id: &str,
    member_id: &str,
    member_key: &str,
    region: &str,
) {
    let created = cluster
        .securityhub(administrator_key)
        .create_members(pb::CreateMembersRequest {
            region: region.into(),
            account_details: vec![pb::AccountDetails {
                account_id: member_id.into(),
                email: String::new(),
            }],
        })
        .await
        .expect("members are created")
        .into_inner();
    assert!(created.unprocessed_accounts.is_empty(), "{created:?}");
    let invited = cluster
        .securityhub(administrator_key)
        .invite_members(pb::InviteMembersRequest {
            region: region.into(),
            account_ids: vec![member_id.into()],
        })
        .await
        .expect("members are invited")
        .into_inner();
    assert!(invited.unprocessed_accounts.is_empty(), "{invited:?}");
    let invitation = cluster
        .securityhub(member_key)
        .list_invitations(pb::ListInvitationsRequest {
            region: region.into(),
            ..Default::default()
        })
        .await
        .expect("invitations are listed")
        .into_inner()
        .invitations
        .into_iter()
        .find(|invitation| invitation.account_id == administrator_id)
        .expect("the invitation is listed");
    cluster
        .securityhub(member_key)
        .accept_administrator_invitation(pb::AcceptAdministratorInvitationRequest {
            region: region.into(),
            administrator_id: administrator_id.into(),
            invitation_id: invitation.invitation_id,
        })
        .await
        .expect("the invitation is accepted");
}

async fn declare(
    cluster: &TestCluster,
    owner: &str,
    mode: pb::RegionLinkingMode,
    regions: &[&str],
) -> Result<u64, tonic::Status> {
    cluster
        .entitlements(cluster.service_key())
        .declare_finding_aggregator(pb::DeclareFindingAggregatorRequest {
            declaration: Some(pb::FindingAggregatorDeclaration {
                owner_account_id: owner.into(),
                home_region: HOME.into(),
                region_linking_mode: mode as i32,
                regions: regions.iter().map(|region| region.to_string()).collect(),
            }),
        })
        .await
        .map(|response| response.into_inner().revision)
}

async fn resolve(
    cluster: &TestCluster,
    owner: &str,
) -> Result<Vec<(String, String, pb::PairStatus)>, tonic::Status> {
    let response = cluster
        .entitlements(cluster.service_key())
        .resolve_entitlements(pb::ResolveEntitlementsRequest {
            aggregator: Some(pb::AggregatorReference {
                aggregator: Some(
                    pb::aggregator_reference::Aggregator::FindingAggregatorOwnerAccountId(
                        owner.into(),
                    ),
                ),
            }),
        })
        .await?
        .into_inner();
    assert!(response.revision > 0);
    Ok(response
        .pairs
        .into_iter()
        .map(|pair| (pair.account_id.clone(), pair.region.clone(), pair.status()))
        .collect())
}

fn pair(
    account_id: &str,
    region: &str,
    status: pb::PairStatus,
) -> (String, String, pb::PairStatus) {
    (account_id.into(), region.into(), status)
}

async fn finding_aggregators_hold_members_only_where_they_are_enabled_members(backend: Backend) {
    use pb::PairStatus::{Authorized, NotAMember, NotEnabled};
    let cluster = start(backend).await;
    let (administrator, member, home_only) = ("910000000001", "910000000002", "910000000003");
    let mut keys = Vec::new();
    for account_id in [administrator, member, home_only] {
        cluster.create_account(account_id, "").await;
        let key = cluster.account_key(account_id).await;
        for region in [HOME, LINKED] {
            enable_hub(&cluster, &key, region).await;
        }
        keys.push(key);
    }
    for region in [HOME, LINKED] {
        invite_and_accept(&cluster, &keys[0], administrator, member, &keys[1], region).await;
    }
    // A member in the home region only contributes nothing from the linked region.
    invite_and_accept(&cluster, &keys[0], administrator, home_only, &keys[2], HOME).await;

    declare(
        &cluster,
        administrator,
        pb::RegionLinkingMode::AllRegions,
        &[],
    )
    .await
    .expect("an administrator declares");
    assert_eq!(
        resolve(&cluster, administrator).await.unwrap(),
        [
            pair(administrator, LINKED, Authorized),
            pair(administrator, HOME, Authorized),
            pair(member, LINKED, Authorized),
            pair(member, HOME, Authorized),
            pair(home_only, HOME, Authorized),
        ]
    );

    // "All regions" follows the registry: a region registered later is covered at once.
    cluster
        .regions(cluster.operator_key())
        .register_region(pb::RegisterRegionRequest {
            region_name: "ap-southeast-2".into(),
            collector_endpoint: "http://127.0.0.1:1".into(),
            opt_in: false,
        })
        .await
        .unwrap();
    let with_new_region = resolve(&cluster, administrator).await.unwrap();
    assert!(
        with_new_region.contains(&pair(administrator, "ap-southeast-2", NotEnabled)),
        "{with_new_region:?}"
    );
    enable_hub(&cluster, &keys[0], "ap-southeast-2").await;
    assert!(
        resolve(&cluster, administrator)
            .await
            .unwrap()
            .contains(&pair(administrator, "ap-southeast-2", Authorized))
    );

    // Only the specified regions (plus home) once the mode says so.
    declare(
        &cluster,
        administrator,
        pb::RegionLinkingMode::NoRegions,
        &[],
    )
    .await
    .unwrap();
    assert_eq!(
        resolve(&cluster, administrator).await.unwrap(),
        [
            pair(administrator, HOME, Authorized),
            pair(member, HOME, Authorized),
            pair(home_only, HOME, Authorized)
        ]
    );
    declare(
        &cluster,
        administrator,
        pb::RegionLinkingMode::AllRegionsExceptSpecified,
        &["ap-southeast-2"],
    )
    .await
    .unwrap();

    // Disassociation in the linked region stops that pair only.
    cluster
        .securityhub(&keys[0])
        .disassociate_members(pb::DisassociateMembersRequest {
            region: LINKED.into(),
            account_ids: vec![member.into()],
        })
        .await
        .expect("the administrator disassociates the member");
    let after = resolve(&cluster, administrator).await.unwrap();
    assert!(
        after.contains(&pair(member, LINKED, NotAMember)),
        "{after:?}"
    );
    assert!(after.contains(&pair(member, HOME, Authorized)), "{after:?}");
    assert!(
        !after
            .iter()
            .any(|(_, region, _)| region == "ap-southeast-2"),
        "an excepted region is not covered: {after:?}"
    );
    cluster.shutdown().await;
}

async fn members_cannot_own_finding_aggregators_and_a_prior_one_is_not_revived(backend: Backend) {
    use pb::PairStatus::Authorized;
    let cluster = start(backend).await;
    let (administrator, member) = ("920000000001", "920000000002");
    cluster.create_account(administrator, "").await;
    cluster.create_account(member, "").await;
    let administrator_key = cluster.account_key(administrator).await;
    let member_key = cluster.account_key(member).await;
    enable_hub(&cluster, &administrator_key, HOME).await;
    enable_hub(&cluster, &member_key, HOME).await;

    declare(&cluster, member, pb::RegionLinkingMode::NoRegions, &[])
        .await
        .expect("a standalone account declares");
    assert_eq!(
        resolve(&cluster, member).await.unwrap(),
        [pair(member, HOME, Authorized)]
    );

    invite_and_accept(
        &cluster,
        &administrator_key,
        administrator,
        member,
        &member_key,
        HOME,
    )
    .await;
    let refused = declare(&cluster, member, pb::RegionLinkingMode::AllRegions, &[])
        .await
        .expect_err("a member cannot declare an aggregator");
    assert_eq!(refused.code(), Code::PermissionDenied);
    assert_eq!(reason(&refused), "AccessDeniedException");
    let inherited = resolve(&cluster, member).await;
    assert!(
        !matches!(&inherited, Ok(pairs) if pairs.iter().any(|(_, _, status)| *status == Authorized)),
        "a member's own aggregator holds nothing: {inherited:?}"
    );

    cluster
        .securityhub(&member_key)
        .disassociate_from_administrator_account(pb::DisassociateFromAdministratorAccountRequest {
            region: HOME.into(),
        })
        .await
        .expect("the member leaves");
    let after = resolve(&cluster, member).await;
    assert!(
        !matches!(&after, Ok(pairs) if pairs.iter().any(|(_, _, status)| *status == Authorized)),
        "the earlier aggregator is not revived by disassociation: {after:?}"
    );
    declare(
        &cluster,
        administrator,
        pb::RegionLinkingMode::NoRegions,
        &[],
    )
    .await
    .unwrap();
    assert_eq!(
        resolve(&cluster, administrator).await.unwrap(),
        [
            pair(administrator, HOME, Authorized),
            pair(member, HOME, pb::PairStatus::NotAMember)
        ],
        "the former member is no longer aggregated by the administrator"
    );
    cluster.shutdown().await;
}

async fn entitlement_calls_are_validated_and_need_service_keys(backend: Backend) {
    let cluster = start(backend).await;
    cluster.create_account("930000000001", "").await;
    let account_key = cluster.account_key("930000000001").await;

    let denied = cluster
        .entitlements(&account_key)
        .resolve_entitlements(pb::ResolveEntitlementsRequest {
            aggregator: Some(pb::AggregatorReference {
                aggregator: Some(
                    pb::aggregator_reference::Aggregator::FindingAggregatorOwnerAccountId(
                        "930000000001".into(),
                    ),
                ),
            }),
        })
        .await
        .expect_err("accounts do not resolve entitlements");
    assert_eq!(denied.code(), Code::PermissionDenied);

    let missing = resolve(&cluster, "930000000001")
        .await
        .expect_err("no aggregator declared");
    assert_eq!(missing.code(), Code::NotFound);
    assert_eq!(reason(&missing), "ResourceNotFoundException");

    let invalid = cluster
        .entitlements(cluster.service_key())
        .declare_finding_aggregator(pb::DeclareFindingAggregatorRequest {
            declaration: Some(pb::FindingAggregatorDeclaration {
                owner_account_id: "93".into(),
                home_region: HOME.into(),
                region_linking_mode: pb::RegionLinkingMode::AllRegions as i32,
                regions: vec![LINKED.into()],
            }),
        })
        .await
        .expect_err("bad declarations are refused");
    assert_eq!(invalid.code(), Code::InvalidArgument);
    assert_eq!(reason(&invalid), "InvalidInputException");
    assert_eq!(
        violated_fields(&invalid),
        ["declaration.owner_account_id", "declaration.regions"]
    );

    let unknown = declare(
        &cluster,
        "939999999999",
        pb::RegionLinkingMode::AllRegions,
        &[],
    )
    .await
    .expect_err("an unknown owner is refused");
    assert_eq!(unknown.code(), Code::NotFound);
    assert_eq!(reason(&unknown), "AccountNotFoundException");

    let missing_declaration = cluster
        .entitlements(cluster.service_key())
        .declare_finding_aggregator(pb::DeclareFindingAggregatorRequest { declaration: None })
        .await
        .expect_err("a declaration is required");
    assert_eq!(violated_fields(&missing_declaration), ["declaration"]);
    cluster.shutdown().await;
}
