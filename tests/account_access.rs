//! `AccessService.CheckAccountAccess` over real gRPC: an account reads itself, a Security Hub
//! administrator reads its Enabled members only in the region of the relationship, an
//! organization's management account and its delegated administrators for AWS Config read its
//! accounts, nobody else does; only service and operator keys may ask; on SQLite and PostgreSQL.

// A panic in a test is a failed assertion with a location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::{Backend, TestCluster, reason, violated_fields};
use tonic::Code;
use tributary_proto::membership::v1 as pb;

on_both_backends!(
    accounts_read_themselves_and_hub_administrators_read_members_in_that_region,
    organization_administrators_read_their_accounts,
    account_access_checks_need_service_keys_and_valid_input,
);

const HOME: &str = "us-east-1";
const OTHER_REGION: &str = "eu-west-1";
const ADMINISTRATOR: &str = "111111111111";
const MEMBER: &str = "222222222222";
const STRANGER: &str = "333333333333";

async fn start(backend: Backend) -> TestCluster {
    TestCluster::builder(backend)
        .collector(HOME)
        .collector(OTHER_REGION)
        .start()
        .await
}

async fn check(
    cluster: &TestCluster,
    reader: &str,
    target: &str,
    region: &str,
) -> pb::CheckAccountAccessResponse {
    cluster
        .access(cluster.service_key())
        .check_account_access(pb::CheckAccountAccessRequest {
            caller_account_id: reader.into(),
            target_account_id: target.into(),
            region: region.into(),
        })
        .await
        .expect("the service asks")
        .into_inner()
}

async fn accounts_read_themselves_and_hub_administrators_read_members_in_that_region(
    backend: Backend,
) {
    let cluster = start(backend).await;
    let administrator_key = cluster.account_key(ADMINISTRATOR).await;
    let member_key = cluster.account_key(MEMBER).await;
    cluster.ensure_account(STRANGER).await;

    let own = check(&cluster, MEMBER, MEMBER, HOME).await;
    assert!(own.allowed, "{own:?}");
    let before = check(&cluster, ADMINISTRATOR, MEMBER, HOME).await;
    assert!(!before.allowed, "{before:?}");

    support::make_enabled_member(
        &cluster,
        &administrator_key,
        ADMINISTRATOR,
        MEMBER,
        &member_key,
        HOME,
    )
    .await;
    let allowed = check(&cluster, ADMINISTRATOR, MEMBER, HOME).await;
    assert!(allowed.allowed, "{allowed:?}");
    assert!(allowed.reason.contains("administrator"), "{allowed:?}");
    // The relationship exists in one region only.
    assert!(
        !check(&cluster, ADMINISTRATOR, MEMBER, OTHER_REGION)
            .await
            .allowed
    );
    // It goes one way, and strangers see nothing.
    assert!(!check(&cluster, MEMBER, ADMINISTRATOR, HOME).await.allowed);
    assert!(!check(&cluster, STRANGER, MEMBER, HOME).await.allowed);
    // An unknown account is simply not allowed.
    assert!(
        !check(&cluster, ADMINISTRATOR, "999999999999", HOME)
            .await
            .allowed
    );

    // Disassociating ends the access.
    cluster
        .securityhub(&administrator_key)
        .disassociate_members(pb::DisassociateMembersRequest {
            region: HOME.into(),
            account_ids: vec![MEMBER.into()],
        })
        .await
        .expect("the member is disassociated");
    assert!(!check(&cluster, ADMINISTRATOR, MEMBER, HOME).await.allowed);
    cluster.shutdown().await;
}

async fn organization_administrators_read_their_accounts(backend: Backend) {
    let cluster = start(backend).await;
    let (organization_id, management_key) = cluster.create_organization(ADMINISTRATOR).await;
    cluster.create_account(MEMBER, &organization_id).await;
    cluster.create_account(STRANGER, &organization_id).await;

    let management = check(&cluster, ADMINISTRATOR, MEMBER, OTHER_REGION).await;
    assert!(management.allowed, "{management:?}");
    assert!(management.reason.contains("management"), "{management:?}");
    // A fellow member is no administrator until registered as one for AWS Config.
    assert!(!check(&cluster, STRANGER, MEMBER, HOME).await.allowed);
    let mut organizations = cluster.organizations(&management_key);
    organizations
        .enable_service_access(pb::EnableServiceAccessRequest {
            organization_id: organization_id.clone(),
            service_principal: "config.amazonaws.com".into(),
        })
        .await
        .expect("trusted access is enabled");
    organizations
        .register_delegated_administrator(pb::RegisterDelegatedAdministratorRequest {
            organization_id: organization_id.clone(),
            account_id: STRANGER.into(),
            service_principal: "config.amazonaws.com".into(),
        })
        .await
        .expect("the delegated administrator is registered");
    let delegated = check(&cluster, STRANGER, MEMBER, HOME).await;
    assert!(delegated.allowed, "{delegated:?}");
    // Nobody administers the management account from below.
    assert!(!check(&cluster, MEMBER, ADMINISTRATOR, HOME).await.allowed);
    cluster.shutdown().await;
}

async fn account_access_checks_need_service_keys_and_valid_input(backend: Backend) {
    let cluster = start(backend).await;
    let account_key = cluster.account_key(ADMINISTRATOR).await;
    let denied = cluster
        .access(&account_key)
        .check_account_access(pb::CheckAccountAccessRequest {
            caller_account_id: ADMINISTRATOR.into(),
            target_account_id: MEMBER.into(),
            region: HOME.into(),
        })
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);
    assert_eq!(reason(&denied), "AccessDeniedException");

    let operator_answer = cluster
        .access(cluster.operator_key())
        .check_account_access(pb::CheckAccountAccessRequest {
            caller_account_id: ADMINISTRATOR.into(),
            target_account_id: ADMINISTRATOR.into(),
            region: HOME.into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(operator_answer.allowed);

    let bad = cluster
        .access(cluster.service_key())
        .check_account_access(pb::CheckAccountAccessRequest {
            caller_account_id: "1".into(),
            target_account_id: String::new(),
            region: "Mars".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(bad.code(), Code::InvalidArgument);
    assert_eq!(
        violated_fields(&bad),
        ["caller_account_id", "target_account_id", "region"]
    );
    cluster.shutdown().await;
}
