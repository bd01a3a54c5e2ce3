//! Organizations, accounts, trusted access, delegated administrators and opt-in regions over real
//! gRPC, on SQLite and PostgreSQL.

// A panic in a test is a failed assertion with a location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::{Backend, TestCluster, account_principal, reason, violated_fields};
use tonic::Code;
use tributary_proto::membership::v1 as pb;

on_both_backends!(
    organizations_group_accounts_and_are_deleted_only_when_empty,
    account_input_conflicts_and_permissions_are_enforced,
    service_access_and_delegated_administrators,
    accounts_are_suspended_reactivated_and_closed,
    opt_in_regions_are_enabled_per_account,
);

async fn start(backend: Backend) -> TestCluster {
    TestCluster::builder(backend)
        .collector("us-east-1")
        .start()
        .await
}

async fn list_all(cluster: &TestCluster, key: &str, organization_id: &str) -> Vec<String> {
    let mut ids = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = cluster
            .organizations(key)
            .list_accounts(pb::ListAccountsRequest {
                organization_id: organization_id.into(),
                page_size: 2,
                page_token,
            })
            .await
            .expect("accounts are listed")
            .into_inner();
        assert!(page.accounts.len() <= 2);
        ids.extend(page.accounts.into_iter().map(|account| account.account_id));
        if page.next_page_token.is_empty() {
            return ids;
        }
        page_token = page.next_page_token;
    }
}

async fn organizations_group_accounts_and_are_deleted_only_when_empty(backend: Backend) {
    let cluster = start(backend).await;
    let operator = cluster.operator_key().to_string();
    let (organization_id, management_key) = cluster.create_organization("100000000000").await;
    let member = cluster
        .create_account("100000000001", &organization_id)
        .await;
    assert_eq!(member.organization_id, organization_id);
    assert!(member.joined_at.is_some());
    cluster.create_account("100000000002", "").await;
    cluster.create_account("100000000003", "").await;
    let added = cluster
        .organizations(&management_key)
        .add_account_to_organization(pb::AddAccountToOrganizationRequest {
            organization_id: organization_id.clone(),
            account_id: "100000000002".into(),
        })
        .await
        .expect("the management account adds a standalone account")
        .into_inner()
        .account
        .unwrap();
    assert_eq!(added.organization_id, organization_id);

    assert_eq!(
        list_all(&cluster, &management_key, "").await,
        ["100000000000", "100000000001", "100000000002"],
        "a management key lists its own organization"
    );
    assert_eq!(
        list_all(&cluster, &operator, "").await,
        [
            "100000000000",
            "100000000001",
            "100000000002",
            "100000000003"
        ]
    );

    let (member_key, _) = cluster.create_key(account_principal("100000000001")).await;
    let seen = cluster
        .organizations(&member_key)
        .describe_organization(pb::DescribeOrganizationRequest::default())
        .await
        .expect("a member sees its organization")
        .into_inner()
        .organization
        .unwrap();
    assert_eq!(seen.management_account_id, "100000000000");
    assert_eq!(
        seen.arn,
        format!("arn:aws:organizations::100000000000:organization/{organization_id}")
    );
    assert_eq!(seen.feature_set(), pb::FeatureSet::All);
    let (outsider_key, _) = cluster.create_key(account_principal("100000000003")).await;
    let denied = cluster
        .organizations(&outsider_key)
        .describe_organization(pb::DescribeOrganizationRequest {
            organization_id: organization_id.clone(),
        })
        .await
        .expect_err("an outsider does not see the organization");
    assert_eq!(denied.code(), Code::PermissionDenied);
    let not_in_use = cluster
        .organizations(&outsider_key)
        .describe_organization(pb::DescribeOrganizationRequest::default())
        .await
        .expect_err("a standalone account has no organization");
    assert_eq!(reason(&not_in_use), "AWSOrganizationsNotInUseException");

    let not_empty = cluster
        .organizations(&management_key)
        .delete_organization(pb::DeleteOrganizationRequest {
            organization_id: organization_id.clone(),
        })
        .await
        .expect_err("an organization with members is not deleted");
    assert_eq!(not_empty.code(), Code::FailedPrecondition);
    assert_eq!(reason(&not_empty), "OrganizationNotEmptyException");

    for account_id in ["100000000001", "100000000002"] {
        let removed = cluster
            .organizations(&management_key)
            .remove_account_from_organization(pb::RemoveAccountFromOrganizationRequest {
                organization_id: organization_id.clone(),
                account_id: account_id.into(),
            })
            .await
            .expect("members are removed")
            .into_inner()
            .account
            .unwrap();
        assert!(removed.organization_id.is_empty());
        assert!(removed.joined_at.is_none());
    }
    cluster
        .organizations(&management_key)
        .delete_organization(pb::DeleteOrganizationRequest {
            organization_id: organization_id.clone(),
        })
        .await
        .expect("an empty organization is deleted");
    let management = cluster
        .organizations(&operator)
        .describe_account(pb::DescribeAccountRequest {
            account_id: "100000000000".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .account
        .unwrap();
    assert!(
        management.organization_id.is_empty(),
        "the management account is standalone again"
    );
    let gone = cluster
        .organizations(&operator)
        .describe_organization(pb::DescribeOrganizationRequest { organization_id })
        .await
        .expect_err("the organization is gone");
    assert_eq!(gone.code(), Code::NotFound);
    cluster.shutdown().await;
}

async fn account_input_conflicts_and_permissions_are_enforced(backend: Backend) {
    let cluster = start(backend).await;
    let operator = cluster.operator_key().to_string();
    let (organization_id, management_key) = cluster.create_organization("200000000000").await;
    let (other_organization, _) = cluster.create_organization("200000000009").await;
    let before = list_all(&cluster, &operator, "").await;

    let invalid = cluster
        .organizations(&operator)
        .create_account(pb::CreateAccountRequest {
            account_id: "2000".into(),
            name: String::new(),
            email: "not-an-email".into(),
            organization_id: "org".into(),
        })
        .await
        .expect_err("bad input is refused");
    assert_eq!(invalid.code(), Code::InvalidArgument);
    assert_eq!(reason(&invalid), "InvalidParameterValueException");
    assert_eq!(
        violated_fields(&invalid),
        ["account_id", "name", "email", "organization_id"]
    );

    let duplicate = cluster
        .organizations(&operator)
        .create_account(pb::CreateAccountRequest {
            account_id: "200000000000".into(),
            name: "again".into(),
            ..Default::default()
        })
        .await
        .expect_err("an existing id is refused");
    assert_eq!(duplicate.code(), Code::AlreadyExists);
    assert_eq!(reason(&duplicate), "DuplicateAccountException");

    let foreign = cluster
        .organizations(&management_key)
        .create_account(pb::CreateAccountRequest {
            account_id: "200000000001".into(),
            name: "elsewhere".into(),
            email: String::new(),
            organization_id: other_organization.clone(),
        })
        .await
        .expect_err("a management key cannot create accounts in another organization");
    assert_eq!(foreign.code(), Code::PermissionDenied);
    assert_eq!(reason(&foreign), "AccessDeniedException");
    let standalone = cluster
        .organizations(&management_key)
        .create_account(pb::CreateAccountRequest {
            account_id: "200000000001".into(),
            name: "x".into(),
            ..Default::default()
        })
        .await
        .expect_err("standalone accounts are for operators");
    assert_eq!(standalone.code(), Code::PermissionDenied);

    let (account_key, _) = cluster.create_key(account_principal("200000000000")).await;
    let denied = cluster
        .organizations(&account_key)
        .list_accounts(pb::ListAccountsRequest::default())
        .await
        .expect_err("an account key does not list accounts");
    assert_eq!(denied.code(), Code::PermissionDenied);

    let missing = cluster
        .organizations(&operator)
        .describe_account(pb::DescribeAccountRequest {
            account_id: "299999999999".into(),
        })
        .await
        .expect_err("an unknown account is not found");
    assert_eq!(missing.code(), Code::NotFound);
    assert_eq!(reason(&missing), "AccountNotFoundException");

    let already = cluster
        .organizations(&operator)
        .add_account_to_organization(pb::AddAccountToOrganizationRequest {
            organization_id: organization_id.clone(),
            account_id: "200000000009".into(),
        })
        .await
        .expect_err("an account in another organization is not added");
    assert_eq!(already.code(), Code::AlreadyExists);
    assert_eq!(reason(&already), "AlreadyInOrganizationException");

    let management = cluster
        .organizations(&management_key)
        .remove_account_from_organization(pb::RemoveAccountFromOrganizationRequest {
            organization_id: organization_id.clone(),
            account_id: "200000000000".into(),
        })
        .await
        .expect_err("the management account cannot leave");
    assert_eq!(management.code(), Code::FailedPrecondition);
    assert_eq!(reason(&management), "ConstraintViolationException");

    let bad_token = cluster
        .organizations(&operator)
        .list_accounts(pb::ListAccountsRequest {
            page_token: "forged".into(),
            ..Default::default()
        })
        .await
        .expect_err("a forged token is refused");
    assert_eq!(reason(&bad_token), "InvalidNextTokenException");
    let bad_limit = cluster
        .organizations(&operator)
        .list_accounts(pb::ListAccountsRequest {
            page_size: 21,
            ..Default::default()
        })
        .await
        .expect_err("more than 20 per page is refused");
    assert_eq!(reason(&bad_limit), "InvalidLimitException");

    let not_management = cluster
        .access(&operator)
        .create_api_key(pb::CreateApiKeyRequest {
            name: "impostor".into(),
            principal: Some(pb::Principal {
                kind: pb::PrincipalKind::OrganizationManagement as i32,
                account_id: "200000000009".into(),
                organization_id: organization_id.clone(),
                service_name: String::new(),
            }),
        })
        .await
        .expect_err("a management key must name the management account");
    assert_eq!(not_management.code(), Code::InvalidArgument);
    assert_eq!(violated_fields(&not_management), ["principal.account_id"]);

    assert_eq!(
        list_all(&cluster, &operator, "").await,
        before,
        "rejected calls changed nothing"
    );
    cluster.shutdown().await;
}

async fn service_access_and_delegated_administrators(backend: Backend) {
    let cluster = start(backend).await;
    let (organization_id, management_key) = cluster.create_organization("300000000000").await;
    cluster
        .create_account("300000000001", &organization_id)
        .await;
    cluster.create_account("300000000002", "").await;
    let mut organizations = cluster.organizations(&management_key);

    for _ in 0..2 {
        organizations
            .enable_service_access(pb::EnableServiceAccessRequest {
                organization_id: organization_id.clone(),
                service_principal: "config.amazonaws.com".into(),
            })
            .await
            .expect("enabling trusted access is idempotent");
    }
    let bad = organizations
        .enable_service_access(pb::EnableServiceAccessRequest {
            organization_id: organization_id.clone(),
            service_principal: "Config Service".into(),
        })
        .await
        .expect_err("a malformed principal is refused");
    assert_eq!(violated_fields(&bad), ["service_principal"]);
    let enabled = organizations
        .list_service_access(pb::ListServiceAccessRequest {
            organization_id: organization_id.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .enabled_services;
    assert_eq!(enabled.len(), 1);
    assert_eq!(enabled[0].service_principal, "config.amazonaws.com");

    let registration = organizations
        .register_delegated_administrator(pb::RegisterDelegatedAdministratorRequest {
            organization_id: organization_id.clone(),
            account_id: "300000000001".into(),
            service_principal: "config.amazonaws.com".into(),
        })
        .await
        .expect("a member becomes delegated administrator")
        .into_inner()
        .delegated_administrator
        .unwrap();
    assert_eq!(registration.account_id, "300000000001");
    let twice = organizations
        .register_delegated_administrator(pb::RegisterDelegatedAdministratorRequest {
            organization_id: organization_id.clone(),
            account_id: "300000000001".into(),
            service_principal: "config.amazonaws.com".into(),
        })
        .await
        .expect_err("registering twice is refused");
    assert_eq!(reason(&twice), "AccountAlreadyRegisteredException");
    for (account_id, why) in [
        ("300000000000", "the management account"),
        ("300000000002", "an outsider"),
    ] {
        let refused = organizations
            .register_delegated_administrator(pb::RegisterDelegatedAdministratorRequest {
                organization_id: organization_id.clone(),
                account_id: account_id.into(),
                service_principal: "config.amazonaws.com".into(),
            })
            .await
            .expect_err(why);
        assert_eq!(refused.code(), Code::FailedPrecondition, "{why}");
        assert_eq!(reason(&refused), "ConstraintViolationException");
    }
    let (member_key, _) = cluster.create_key(account_principal("300000000001")).await;
    let denied = cluster
        .organizations(&member_key)
        .register_delegated_administrator(pb::RegisterDelegatedAdministratorRequest {
            organization_id: organization_id.clone(),
            account_id: "300000000001".into(),
            service_principal: "securityhub.amazonaws.com".into(),
        })
        .await
        .expect_err("only the management account registers");
    assert_eq!(denied.code(), Code::PermissionDenied);
    let listed = cluster
        .organizations(&member_key)
        .list_delegated_administrators(pb::ListDelegatedAdministratorsRequest {
            organization_id: organization_id.clone(),
            service_principal: "config.amazonaws.com".into(),
        })
        .await
        .expect("members see the registrations")
        .into_inner()
        .delegated_administrators;
    assert_eq!(listed.len(), 1);

    organizations
        .remove_account_from_organization(pb::RemoveAccountFromOrganizationRequest {
            organization_id: organization_id.clone(),
            account_id: "300000000001".into(),
        })
        .await
        .unwrap();
    let after = organizations
        .list_delegated_administrators(pb::ListDelegatedAdministratorsRequest {
            organization_id: organization_id.clone(),
            service_principal: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .delegated_administrators;
    assert!(
        after.is_empty(),
        "leaving the organization ends the registration"
    );
    let unknown = organizations
        .deregister_delegated_administrator(pb::DeregisterDelegatedAdministratorRequest {
            organization_id: organization_id.clone(),
            account_id: "300000000001".into(),
            service_principal: "config.amazonaws.com".into(),
        })
        .await
        .expect_err("nothing to deregister");
    assert_eq!(unknown.code(), Code::NotFound);
    assert_eq!(reason(&unknown), "AccountNotRegisteredException");

    organizations
        .disable_service_access(pb::DisableServiceAccessRequest {
            organization_id: organization_id.clone(),
            service_principal: "config.amazonaws.com".into(),
        })
        .await
        .unwrap();
    let none = organizations
        .list_service_access(pb::ListServiceAccessRequest { organization_id })
        .await
        .unwrap()
        .into_inner()
        .enabled_services;
    assert!(none.is_empty());
    cluster.shutdown().await;
}

async fn accounts_are_suspended_reactivated_and_closed(backend: Backend) {
    let cluster = start(backend).await;
    let (organization_id, management_key) = cluster.create_organization("400000000000").await;
    cluster
        .create_account("400000000001", &organization_id)
        .await;
    let mut organizations = cluster.organizations(&management_key);

    let suspended = organizations
        .suspend_account(pb::SuspendAccountRequest {
            account_id: "400000000001".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .account
        .unwrap();
    assert_eq!(suspended.status(), pb::AccountStatus::Suspended);
    let active = organizations
        .reactivate_account(pb::ReactivateAccountRequest {
            account_id: "400000000001".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .account
        .unwrap();
    assert_eq!(active.status(), pb::AccountStatus::Active);

    let management = organizations
        .close_account(pb::CloseAccountRequest {
            account_id: "400000000000".into(),
        })
        .await
        .expect_err("the management account is not closed while the organization exists");
    assert_eq!(reason(&management), "ConstraintViolationException");

    let closed = organizations
        .close_account(pb::CloseAccountRequest {
            account_id: "400000000001".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .account
        .unwrap();
    assert_eq!(closed.status(), pb::AccountStatus::Closed);
    assert!(
        closed.organization_id.is_empty(),
        "a closed account leaves its organization"
    );
    let reopened = cluster
        .organizations(cluster.operator_key())
        .reactivate_account(pb::ReactivateAccountRequest {
            account_id: "400000000001".into(),
        })
        .await
        .expect_err("a closed account stays closed");
    assert_eq!(reopened.code(), Code::FailedPrecondition);
    assert_eq!(reason(&reopened), "AccountClosedException");
    cluster.shutdown().await;
}

async fn opt_in_regions_are_enabled_per_account(backend: Backend) {
    let cluster = start(backend).await;
    let operator = cluster.operator_key().to_string();
    cluster
        .regions(&operator)
        .register_region(pb::RegisterRegionRequest {
            region_name: "ap-east-1".into(),
            collector_endpoint: "http://127.0.0.1:1".into(),
            opt_in: true,
        })
        .await
        .unwrap();
    cluster.create_account("500000000001", "").await;
    cluster.create_account("500000000002", "").await;
    let (account_key, _) = cluster.create_key(account_principal("500000000001")).await;
    let mut regions = cluster.regions(&account_key);

    let before = regions
        .list_account_regions(pb::ListAccountRegionsRequest {
            account_id: "500000000001".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .region_names;
    assert_eq!(before, ["us-east-1"], "opt-in regions start disabled");
    regions
        .enable_region(pb::EnableRegionRequest {
            account_id: "500000000001".into(),
            region_name: "ap-east-1".into(),
        })
        .await
        .expect("an account enables an opt-in region for itself");
    let after = regions
        .list_account_regions(pb::ListAccountRegionsRequest {
            account_id: "500000000001".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .region_names;
    assert_eq!(after, ["ap-east-1", "us-east-1"]);

    let other = regions
        .enable_region(pb::EnableRegionRequest {
            account_id: "500000000002".into(),
            region_name: "ap-east-1".into(),
        })
        .await
        .expect_err("an account cannot change another account's regions");
    assert_eq!(other.code(), Code::PermissionDenied);
    let not_opt_in = regions
        .disable_region(pb::DisableRegionRequest {
            account_id: "500000000001".into(),
            region_name: "us-east-1".into(),
        })
        .await
        .expect_err("a region that is not opt-in cannot be disabled");
    assert_eq!(not_opt_in.code(), Code::InvalidArgument);
    assert_eq!(violated_fields(&not_opt_in), ["region_name"]);
    let unknown = regions
        .enable_region(pb::EnableRegionRequest {
            account_id: "500000000001".into(),
            region_name: "eu-south-9".into(),
        })
        .await
        .expect_err("an unregistered region is not found");
    assert_eq!(unknown.code(), Code::NotFound);

    let in_use = cluster
        .regions(&operator)
        .deregister_region(pb::DeregisterRegionRequest {
            region_name: "ap-east-1".into(),
        })
        .await
        .expect_err("a region an account enabled is in use");
    assert_eq!(in_use.code(), Code::FailedPrecondition);
    assert_eq!(reason(&in_use), "ResourceInUseException");
    regions
        .disable_region(pb::DisableRegionRequest {
            account_id: "500000000001".into(),
            region_name: "ap-east-1".into(),
        })
        .await
        .unwrap();
    cluster
        .regions(&operator)
        .deregister_region(pb::DeregisterRegionRequest {
            region_name: "ap-east-1".into(),
        })
        .await
        .expect("an unused region is deregistered");
    cluster.shutdown().await;
}
