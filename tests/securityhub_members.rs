//! End-to-end tests of `SecurityHubMembersService` over real gRPC on SQLite and PostgreSQL: hub
//! enablement, organization administrators and auto-enable, invitation-based members, the member
//! status table, the relationship rules, per-region scoping, paging, and that rejected calls
//! change nothing.

// A panic in a test is a failed assertion with a location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::fmt::Debug;

use support::{Authed, Backend, TestCluster, reason, violated_fields};
use tonic::{Code, Response, Status};
use tributary_proto::{membership::v1 as pb, types::v1 as types_pb};

use pb::{MemberStatus as S, security_hub_members_service_client::SecurityHubMembersServiceClient};

type Client = SecurityHubMembersServiceClient<Authed>;

on_both_backends!(
    hubs_are_enabled_described_updated_and_disabled,
    operators_and_services_cannot_act_as_an_account,
    bad_input_is_invalid_input_with_field_violations_and_writes_nothing,
    invitation_members_walk_the_status_table,
    relationships_are_per_region,
    an_account_cannot_be_administrator_and_member_or_have_two_administrators,
    disabling_the_hub_is_refused_while_relationships_need_it,
    the_management_account_designates_the_organization_administrator,
    organization_members_are_enabled_directly_and_managed_by_the_administrator,
    auto_enable_applies_to_accounts_that_join_later_and_leaving_removes_them,
    closing_accounts_ends_their_relationships_and_hubs,
    members_invitations_and_administrators_page_with_keyset_tokens,
    a_region_with_an_enabled_hub_cannot_be_deregistered,
);

const US: &str = "us-east-1";
const EU: &str = "eu-west-1";

const ADMIN: &str = "111111111111";
const MEMBER: &str = "222222222222";
const OTHER_ADMIN: &str = "333333333333";
const STRANGER: &str = "444444444444";
const MANAGEMENT: &str = "100000000000";

async fn start(backend: Backend) -> TestCluster {
    TestCluster::builder(backend)
        .collector(US)
        .collector(EU)
        .start()
        .await
}

/// An account with its own key.
struct Actor {
    id: String,
    client: Client,
}

impl Actor {
    fn hub(&self) -> Client {
        self.client.clone()
    }
}

async fn actor(cluster: &TestCluster, account_id: &str, organization_id: &str) -> Actor {
    cluster.create_account(account_id, organization_id).await;
    let key = cluster.account_key(account_id).await;
    Actor {
        id: account_id.to_string(),
        client: cluster.securityhub(&key),
    }
}

fn expect_error<T: Debug>(
    result: Result<Response<T>, Status>,
    code: Code,
    expected: &str,
) -> Status {
    match result {
        Ok(response) => panic!(
            "expected {code:?} {expected}, got success: {:?}",
            response.into_inner()
        ),
        Err(status) => {
            assert_eq!(status.code(), code, "{status:?}");
            assert_eq!(reason(&status), expected, "{status:?}");
            status
        }
    }
}

fn invalid_input<T: Debug>(result: Result<Response<T>, Status>, fields: &[&str]) {
    let status = expect_error(result, Code::InvalidArgument, "InvalidInputException");
    assert_eq!(violated_fields(&status), fields, "{status:?}");
}

async fn enable(actor: &Actor, region: &str) -> pb::Hub {
    actor
        .hub()
        .enable_security_hub(pb::EnableSecurityHubRequest {
            region: region.into(),
            ..Default::default()
        })
        .await
        .expect("the hub is enabled")
        .into_inner()
        .hub
        .expect("the hub")
}

fn ids(account_ids: &[&str]) -> Vec<String> {
    account_ids.iter().map(|id| id.to_string()).collect()
}

fn details(account_ids: &[&str]) -> Vec<pb::AccountDetails> {
    account_ids
        .iter()
        .map(|id| pb::AccountDetails {
            account_id: id.to_string(),
            email: String::new(),
        })
        .collect()
}

fn unprocessed(accounts: &[pb::UnprocessedAccount]) -> Vec<String> {
    accounts
        .iter()
        .map(|account| account.account_id.clone())
        .collect()
}

async fn create_members(
    admin: &Actor,
    region: &str,
    members: &[&str],
) -> Vec<pb::UnprocessedAccount> {
    admin
        .hub()
        .create_members(pb::CreateMembersRequest {
            region: region.into(),
            account_details: details(members),
        })
        .await
        .expect("CreateMembers answers")
        .into_inner()
        .unprocessed_accounts
}

async fn invite(admin: &Actor, region: &str, members: &[&str]) -> Vec<pb::UnprocessedAccount> {
    admin
        .hub()
        .invite_members(pb::InviteMembersRequest {
            region: region.into(),
            account_ids: ids(members),
        })
        .await
        .expect("InviteMembers answers")
        .into_inner()
        .unprocessed_accounts
}

/// The invitations `member` has in `region`, as (administrator, invitation id).
async fn invitations(member: &Actor, region: &str) -> Vec<(String, String)> {
    member
        .hub()
        .list_invitations(pb::ListInvitationsRequest {
            region: region.into(),
            ..Default::default()
        })
        .await
        .expect("ListInvitations answers")
        .into_inner()
        .invitations
        .into_iter()
        .map(|invitation| {
            assert_eq!(invitation.member_status, S::Invited as i32);
            assert!(invitation.invited_at.is_some());
            (invitation.account_id, invitation.invitation_id)
        })
        .collect()
}

async fn invitations_count(member: &Actor, region: &str) -> i32 {
    member
        .hub()
        .get_invitations_count(pb::GetInvitationsCountRequest {
            region: region.into(),
        })
        .await
        .expect("GetInvitationsCount answers")
        .into_inner()
        .invitations_count
}

async fn accept(
    member: &Actor,
    region: &str,
    administrator: &str,
) -> Result<Response<pb::AcceptAdministratorInvitationResponse>, Status> {
    let invitation_id = invitations(member, region)
        .await
        .into_iter()
        .find(|(admin, _)| admin == administrator)
        .map(|(_, invitation_id)| invitation_id)
        .expect("a pending invitation from the administrator");
    member
        .hub()
        .accept_administrator_invitation(pb::AcceptAdministratorInvitationRequest {
            region: region.into(),
            administrator_id: administrator.into(),
            invitation_id,
        })
        .await
}

/// Every member of `admin` in `region` with its status: only Enabled ones unless `all`.
async fn members(admin: &Actor, region: &str, all: bool) -> Vec<(String, S)> {
    admin
        .hub()
        .list_members(pb::ListMembersRequest {
            region: region.into(),
            only_associated: all.then_some(false),
            ..Default::default()
        })
        .await
        .expect("ListMembers answers")
        .into_inner()
        .members
        .into_iter()
        .map(|member| {
            assert_eq!(member.administrator_id, admin.id);
            (
                member.account_id,
                S::try_from(member.member_status).unwrap(),
            )
        })
        .collect()
}

/// The status of `member` in `admin`'s list in `region`, if it is listed.
async fn status_of(admin: &Actor, region: &str, member: &str) -> Option<S> {
    let answer = admin
        .hub()
        .get_members(pb::GetMembersRequest {
            region: region.into(),
            account_ids: ids(&[member]),
        })
        .await
        .expect("GetMembers answers")
        .into_inner();
    match answer.members.first() {
        Some(found) => Some(S::try_from(found.member_status).unwrap()),
        None => {
            assert_eq!(unprocessed(&answer.unprocessed_accounts), [member]);
            None
        }
    }
}

/// The caller's administrator in `region` and the relationship status.
async fn administrator(member: &Actor, region: &str) -> Option<(String, S)> {
    member
        .hub()
        .get_administrator_account(pb::GetAdministratorAccountRequest {
            region: region.into(),
        })
        .await
        .expect("GetAdministratorAccount answers")
        .into_inner()
        .administrator
        .map(|administrator| {
            (
                administrator.account_id,
                S::try_from(administrator.member_status).unwrap(),
            )
        })
}

async fn describe(actor: &Actor, region: &str) -> Result<pb::Hub, Status> {
    actor
        .hub()
        .describe_hub(pb::DescribeHubRequest {
            region: region.into(),
            hub_arn: String::new(),
        })
        .await
        .map(|response| response.into_inner().hub.expect("the hub"))
}

fn hub_tags() -> Vec<types_pb::Tag> {
    vec![
        types_pb::Tag {
            key: "team".into(),
            value: "security".into(),
        },
        types_pb::Tag {
            key: "cost-center".into(),
            value: String::new(),
        },
    ]
}

async fn hubs_are_enabled_described_updated_and_disabled(backend: Backend) {
    let cluster = start(backend).await;
    let admin = actor(&cluster, ADMIN, "").await;

    let hub = admin
        .hub()
        .enable_security_hub(pb::EnableSecurityHubRequest {
            region: US.into(),
            tags: hub_tags(),
            enable_default_standards: Some(false),
            control_finding_generator: pb::ControlFindingGenerator::StandardControl as i32,
        })
        .await
        .unwrap()
        .into_inner()
        .hub
        .unwrap();
    assert_eq!(
        hub.hub_arn,
        format!("arn:aws:securityhub:{US}:{ADMIN}:hub/default")
    );
    assert_eq!((hub.account_id.as_str(), hub.region.as_str()), (ADMIN, US));
    assert!(hub.subscribed_at.is_some());
    assert!(hub.auto_enable_controls);
    assert!(!hub.default_standards_enabled);
    assert_eq!(
        hub.control_finding_generator,
        pb::ControlFindingGenerator::StandardControl as i32
    );
    let tag_keys: Vec<_> = hub.tags.iter().map(|tag| tag.key.as_str()).collect();
    assert_eq!(tag_keys, ["cost-center", "team"]);

    expect_error(
        admin
            .hub()
            .enable_security_hub(pb::EnableSecurityHubRequest {
                region: US.into(),
                ..Default::default()
            })
            .await,
        Code::AlreadyExists,
        "ResourceConflictException",
    );
    assert_eq!(
        describe(&admin, US).await.unwrap(),
        hub,
        "the second enable changed nothing"
    );

    let by_arn = admin
        .hub()
        .describe_hub(pb::DescribeHubRequest {
            region: US.into(),
            hub_arn: hub.hub_arn.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .hub
        .unwrap();
    assert_eq!(by_arn, hub);
    for foreign_arn in [
        format!("arn:aws:securityhub:{US}:{MEMBER}:hub/default"),
        format!("arn:aws:securityhub:{EU}:{ADMIN}:hub/default"),
    ] {
        expect_error(
            admin
                .hub()
                .describe_hub(pb::DescribeHubRequest {
                    region: US.into(),
                    hub_arn: foreign_arn,
                })
                .await,
            Code::NotFound,
            "ResourceNotFoundException",
        );
    }
    let not_enabled = describe(&admin, EU).await.unwrap_err();
    assert_eq!(not_enabled.code(), Code::FailedPrecondition);
    assert_eq!(reason(&not_enabled), "InvalidAccessException");
    assert!(
        not_enabled.message().contains("not subscribed"),
        "{not_enabled:?}"
    );
    let unregistered = describe(&admin, "ap-south-1").await.unwrap_err();
    assert_eq!(unregistered.code(), Code::NotFound);
    assert_eq!(reason(&unregistered), "ResourceNotFoundException");

    let updated = admin
        .hub()
        .update_security_hub_configuration(pb::UpdateSecurityHubConfigurationRequest {
            region: US.into(),
            auto_enable_controls: Some(false),
            control_finding_generator: pb::ControlFindingGenerator::SecurityControl as i32,
        })
        .await
        .unwrap()
        .into_inner()
        .hub
        .unwrap();
    assert!(!updated.auto_enable_controls);
    assert_eq!(
        updated.control_finding_generator,
        pb::ControlFindingGenerator::SecurityControl as i32
    );
    assert_eq!(updated.subscribed_at, hub.subscribed_at);
    assert_eq!(describe(&admin, US).await.unwrap(), updated);
    // Unset fields keep the current settings.
    let unchanged = admin
        .hub()
        .update_security_hub_configuration(pb::UpdateSecurityHubConfigurationRequest {
            region: US.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .hub
        .unwrap();
    assert_eq!(unchanged, updated);
    expect_error(
        admin
            .hub()
            .update_security_hub_configuration(pb::UpdateSecurityHubConfigurationRequest {
                region: EU.into(),
                auto_enable_controls: Some(true),
                ..Default::default()
            })
            .await,
        Code::FailedPrecondition,
        "InvalidAccessException",
    );

    let europe = enable(&admin, EU).await;
    assert!(
        europe.default_standards_enabled,
        "default standards are on by default"
    );
    assert_eq!(
        europe.control_finding_generator,
        pb::ControlFindingGenerator::SecurityControl as i32
    );

    admin
        .hub()
        .disable_security_hub(pb::DisableSecurityHubRequest { region: US.into() })
        .await
        .unwrap();
    assert_eq!(
        describe(&admin, US).await.unwrap_err().code(),
        Code::FailedPrecondition
    );
    assert_eq!(
        describe(&admin, EU).await.unwrap(),
        europe,
        "other regions are untouched"
    );
    expect_error(
        admin
            .hub()
            .disable_security_hub(pb::DisableSecurityHubRequest { region: US.into() })
            .await,
        Code::FailedPrecondition,
        "InvalidAccessException",
    );
    let again = enable(&admin, US).await;
    assert!(again.tags.is_empty());

    // A closed account keeps its key but cannot enable a hub.
    let closed_key = cluster.account_key("999999999999").await;
    cluster
        .organizations(cluster.operator_key())
        .close_account(pb::CloseAccountRequest {
            account_id: "999999999999".into(),
        })
        .await
        .expect("the operator closes the account");
    expect_error(
        cluster
            .securityhub(&closed_key)
            .enable_security_hub(pb::EnableSecurityHubRequest {
                region: US.into(),
                ..Default::default()
            })
            .await,
        Code::FailedPrecondition,
        "InvalidAccessException",
    );
    cluster.shutdown().await;
}

async fn operators_and_services_cannot_act_as_an_account(backend: Backend) {
    let cluster = start(backend).await;
    cluster.create_account(ADMIN, "").await;
    for key in [
        cluster.operator_key().to_string(),
        cluster.service_key().to_string(),
    ] {
        let mut client = cluster.securityhub(&key);
        let denied = |result: Result<(), Status>| {
            let status = result.expect_err("the call is refused");
            assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
            assert_eq!(reason(&status), "AccessDeniedException");
        };
        let region = || US.to_string();
        denied(
            client
                .enable_security_hub(pb::EnableSecurityHubRequest {
                    region: region(),
                    ..Default::default()
                })
                .await
                .map(drop),
        );
        denied(
            client
                .disable_security_hub(pb::DisableSecurityHubRequest { region: region() })
                .await
                .map(drop),
        );
        denied(
            client
                .describe_hub(pb::DescribeHubRequest {
                    region: region(),
                    hub_arn: String::new(),
                })
                .await
                .map(drop),
        );
        denied(
            client
                .update_security_hub_configuration(pb::UpdateSecurityHubConfigurationRequest {
                    region: region(),
                    ..Default::default()
                })
                .await
                .map(drop),
        );
        denied(
            client
                .enable_organization_admin_account(pb::EnableOrganizationAdminAccountRequest {
                    region: region(),
                    admin_account_id: ADMIN.into(),
                })
                .await
                .map(drop),
        );
        denied(
            client
                .disable_organization_admin_account(pb::DisableOrganizationAdminAccountRequest {
                    region: region(),
                    admin_account_id: ADMIN.into(),
                })
                .await
                .map(drop),
        );
        denied(
            client
                .list_organization_admin_accounts(pb::ListOrganizationAdminAccountsRequest {
                    region: region(),
                    ..Default::default()
                })
                .await
                .map(drop),
        );
        denied(
            client
                .update_organization_configuration(pb::UpdateOrganizationConfigurationRequest {
                    region: region(),
                    ..Default::default()
                })
                .await
                .map(drop),
        );
        denied(
            client
                .describe_organization_configuration(pb::DescribeOrganizationConfigurationRequest {
                    region: region(),
                })
                .await
                .map(drop),
        );
        denied(
            client
                .create_members(pb::CreateMembersRequest {
                    region: region(),
                    account_details: details(&[MEMBER]),
                })
                .await
                .map(drop),
        );
        denied(
            client
                .invite_members(pb::InviteMembersRequest {
                    region: region(),
                    account_ids: ids(&[MEMBER]),
                })
                .await
                .map(drop),
        );
        denied(
            client
                .list_invitations(pb::ListInvitationsRequest {
                    region: region(),
                    ..Default::default()
                })
                .await
                .map(drop),
        );
        denied(
            client
                .get_invitations_count(pb::GetInvitationsCountRequest { region: region() })
                .await
                .map(drop),
        );
        denied(
            client
                .accept_administrator_invitation(pb::AcceptAdministratorInvitationRequest {
                    region: region(),
                    administrator_id: ADMIN.into(),
                    invitation_id: "0".repeat(32),
                })
                .await
                .map(drop),
        );
        denied(
            client
                .decline_invitations(pb::DeclineInvitationsRequest {
                    region: region(),
                    account_ids: ids(&[ADMIN]),
                })
                .await
                .map(drop),
        );
        denied(
            client
                .delete_invitations(pb::DeleteInvitationsRequest {
                    region: region(),
                    account_ids: ids(&[MEMBER]),
                })
                .await
                .map(drop),
        );
        denied(
            client
                .disassociate_from_administrator_account(
                    pb::DisassociateFromAdministratorAccountRequest { region: region() },
                )
                .await
                .map(drop),
        );
        denied(
            client
                .disassociate_members(pb::DisassociateMembersRequest {
                    region: region(),
                    account_ids: ids(&[MEMBER]),
                })
                .await
                .map(drop),
        );
        denied(
            client
                .delete_members(pb::DeleteMembersRequest {
                    region: region(),
                    account_ids: ids(&[MEMBER]),
                })
                .await
                .map(drop),
        );
        denied(
            client
                .list_members(pb::ListMembersRequest {
                    region: region(),
                    ..Default::default()
                })
                .await
                .map(drop),
        );
        denied(
            client
                .get_members(pb::GetMembersRequest {
                    region: region(),
                    account_ids: ids(&[MEMBER]),
                })
                .await
                .map(drop),
        );
        denied(
            client
                .get_administrator_account(pb::GetAdministratorAccountRequest { region: region() })
                .await
                .map(drop),
        );
    }
    cluster.shutdown().await;
}

async fn bad_input_is_invalid_input_with_field_violations_and_writes_nothing(backend: Backend) {
    let cluster = start(backend).await;
    let admin = actor(&cluster, ADMIN, "").await;
    let mut client = admin.hub();

    invalid_input(
        client
            .enable_security_hub(pb::EnableSecurityHubRequest {
                region: String::new(),
                tags: vec![
                    types_pb::Tag {
                        key: "aws:owner".into(),
                        value: "x".into(),
                    },
                    types_pb::Tag {
                        key: "ok".into(),
                        value: "v".repeat(257),
                    },
                ],
                enable_default_standards: None,
                control_finding_generator: 9,
            })
            .await,
        &[
            "region",
            "tags[0].key",
            "tags[1].value",
            "control_finding_generator",
        ],
    );
    invalid_input(
        client
            .enable_security_hub(pb::EnableSecurityHubRequest {
                region: US.into(),
                tags: (0..51)
                    .map(|index| types_pb::Tag {
                        key: format!("k{index}"),
                        value: String::new(),
                    })
                    .collect(),
                ..Default::default()
            })
            .await,
        &["tags"],
    );
    assert_eq!(
        describe(&admin, US).await.unwrap_err().code(),
        Code::FailedPrecondition,
        "a rejected enable wrote nothing"
    );
    enable(&admin, US).await;

    invalid_input(
        client
            .disable_security_hub(pb::DisableSecurityHubRequest {
                region: "US-EAST-1".into(),
            })
            .await,
        &["region"],
    );
    invalid_input(
        client
            .describe_hub(pb::DescribeHubRequest {
                region: US.into(),
                hub_arn: "arn:aws:securityhub:us-east-1:1:hub/default".into(),
            })
            .await,
        &["hub_arn"],
    );
    invalid_input(
        client
            .update_security_hub_configuration(pb::UpdateSecurityHubConfigurationRequest {
                region: US.into(),
                auto_enable_controls: Some(false),
                control_finding_generator: 42,
            })
            .await,
        &["control_finding_generator"],
    );
    assert!(
        describe(&admin, US).await.unwrap().auto_enable_controls,
        "a rejected update wrote nothing"
    );
    invalid_input(
        client
            .enable_organization_admin_account(pb::EnableOrganizationAdminAccountRequest {
                region: "global".into(),
                admin_account_id: "12".into(),
            })
            .await,
        &["region", "admin_account_id"],
    );
    invalid_input(
        client
            .disable_organization_admin_account(pb::DisableOrganizationAdminAccountRequest {
                region: US.into(),
                admin_account_id: String::new(),
            })
            .await,
        &["admin_account_id"],
    );
    invalid_input(
        client
            .list_organization_admin_accounts(pb::ListOrganizationAdminAccountsRequest {
                region: String::new(),
                ..Default::default()
            })
            .await,
        &["region"],
    );
    invalid_input(
        client
            .update_organization_configuration(pb::UpdateOrganizationConfigurationRequest {
                region: US.into(),
                auto_enable: true,
                auto_enable_standards: 5,
            })
            .await,
        &["auto_enable_standards"],
    );
    invalid_input(
        client
            .describe_organization_configuration(pb::DescribeOrganizationConfigurationRequest {
                region: "x".into(),
            })
            .await,
        &["region"],
    );
    invalid_input(
        client
            .create_members(pb::CreateMembersRequest {
                region: US.into(),
                account_details: vec![],
            })
            .await,
        &["account_details"],
    );
    invalid_input(
        client
            .create_members(pb::CreateMembersRequest {
                region: US.into(),
                account_details: vec![
                    pb::AccountDetails {
                        account_id: MEMBER.into(),
                        email: "not an email".into(),
                    },
                    pb::AccountDetails {
                        account_id: "2222".into(),
                        email: String::new(),
                    },
                    pb::AccountDetails {
                        account_id: MEMBER.into(),
                        email: String::new(),
                    },
                ],
            })
            .await,
        &[
            "account_details[0].email",
            "account_details[1].account_id",
            "account_details[2].account_id",
        ],
    );
    let fifty_one: Vec<String> = (1..=51).map(|index| format!("{index:012}")).collect();
    invalid_input(
        client
            .create_members(pb::CreateMembersRequest {
                region: US.into(),
                account_details: fifty_one
                    .iter()
                    .map(|account_id| pb::AccountDetails {
                        account_id: account_id.clone(),
                        email: String::new(),
                    })
                    .collect(),
            })
            .await,
        &["account_details"],
    );
    invalid_input(
        client
            .invite_members(pb::InviteMembersRequest {
                region: US.into(),
                account_ids: ids(&["1"]),
            })
            .await,
        &["account_ids[0]"],
    );
    invalid_input(
        client
            .invite_members(pb::InviteMembersRequest {
                region: US.into(),
                account_ids: fifty_one.clone(),
            })
            .await,
        &["account_ids"],
    );
    invalid_input(
        client
            .list_invitations(pb::ListInvitationsRequest {
                region: "eu".into(),
                ..Default::default()
            })
            .await,
        &["region"],
    );
    invalid_input(
        client
            .get_invitations_count(pb::GetInvitationsCountRequest {
                region: String::new(),
            })
            .await,
        &["region"],
    );
    invalid_input(
        client
            .accept_administrator_invitation(pb::AcceptAdministratorInvitationRequest {
                region: US.into(),
                administrator_id: String::new(),
                invitation_id: "nope".into(),
            })
            .await,
        &["administrator_id", "invitation_id"],
    );
    invalid_input(
        client
            .decline_invitations(pb::DeclineInvitationsRequest {
                region: US.into(),
                account_ids: vec![],
            })
            .await,
        &["account_ids"],
    );
    invalid_input(
        client
            .delete_invitations(pb::DeleteInvitationsRequest {
                region: US.into(),
                account_ids: ids(&[MEMBER, MEMBER]),
            })
            .await,
        &["account_ids[1]"],
    );
    invalid_input(
        client
            .disassociate_from_administrator_account(
                pb::DisassociateFromAdministratorAccountRequest {
                    region: "us_east_1".into(),
                },
            )
            .await,
        &["region"],
    );
    invalid_input(
        client
            .disassociate_members(pb::DisassociateMembersRequest {
                region: US.into(),
                account_ids: vec![],
            })
            .await,
        &["account_ids"],
    );
    invalid_input(
        client
            .delete_members(pb::DeleteMembersRequest {
                region: US.into(),
                account_ids: ids(&["abcdefghijkl"]),
            })
            .await,
        &["account_ids[0]"],
    );
    invalid_input(
        client
            .list_members(pb::ListMembersRequest {
                region: String::new(),
                ..Default::default()
            })
            .await,
        &["region"],
    );
    invalid_input(
        client
            .get_members(pb::GetMembersRequest {
                region: US.into(),
                account_ids: vec![],
            })
            .await,
        &["account_ids"],
    );
    invalid_input(
        client
            .get_administrator_account(pb::GetAdministratorAccountRequest { region: "1".into() })
            .await,
        &["region"],
    );

    // Paging follows the shared conventions.
    let too_big = expect_error(
        client
            .list_members(pb::ListMembersRequest {
                region: US.into(),
                page_size: 51,
                ..Default::default()
            })
            .await,
        Code::InvalidArgument,
        "InvalidLimitException",
    );
    assert_eq!(violated_fields(&too_big), ["page_size"]);
    expect_error(
        client
            .list_invitations(pb::ListInvitationsRequest {
                region: US.into(),
                page_size: 51,
                ..Default::default()
            })
            .await,
        Code::InvalidArgument,
        "InvalidLimitException",
    );
    expect_error(
        client
            .list_organization_admin_accounts(pb::ListOrganizationAdminAccountsRequest {
                region: US.into(),
                page_size: 11,
                ..Default::default()
            })
            .await,
        Code::InvalidArgument,
        "InvalidLimitException",
    );
    let forged = expect_error(
        client
            .list_members(pb::ListMembersRequest {
                region: US.into(),
                page_token: "forged".into(),
                ..Default::default()
            })
            .await,
        Code::InvalidArgument,
        "InvalidNextTokenException",
    );
    assert_eq!(violated_fields(&forged), ["page_token"]);

    // Nothing the rejected member calls named was written.
    assert!(members(&admin, US, true).await.is_empty());
    cluster.create_account(MEMBER, "").await;
    assert!(members(&admin, US, true).await.is_empty());
    assert_eq!(status_of(&admin, US, MEMBER).await, None);
    cluster.shutdown().await;
}

async fn invitation_members_walk_the_status_table(backend: Backend) {
    let cluster = start(backend).await;
    let admin = actor(&cluster, ADMIN, "").await;
    let member = actor(&cluster, MEMBER, "").await;
    enable(&admin, US).await;

    // Created: listed only when asking for every status.
    let created = admin
        .hub()
        .create_members(pb::CreateMembersRequest {
            region: US.into(),
            account_details: vec![pb::AccountDetails {
                account_id: MEMBER.into(),
                email: "sec@member.example".into(),
            }],
        })
        .await
        .unwrap()
        .into_inner();
    assert!(created.unprocessed_accounts.is_empty());
    assert!(
        members(&admin, US, false).await.is_empty(),
        "OnlyAssociated defaults to true"
    );
    assert_eq!(
        members(&admin, US, true).await,
        [(MEMBER.to_string(), S::Created)]
    );
    let listed = admin
        .hub()
        .get_members(pb::GetMembersRequest {
            region: US.into(),
            account_ids: ids(&[MEMBER, STRANGER]),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.members.len(), 1);
    let listed_member = &listed.members[0];
    assert_eq!(listed_member.email, "sec@member.example");
    assert_eq!(listed_member.administrator_id, ADMIN);
    assert_eq!(
        listed_member.relationship_type,
        pb::RelationshipType::Invitation as i32
    );
    assert!(listed_member.invited_at.is_none());
    assert!(listed_member.updated_at.is_some());
    assert_eq!(unprocessed(&listed.unprocessed_accounts), [STRANGER]);
    assert!(
        invitations(&member, US).await.is_empty(),
        "no invitation before InviteMembers"
    );

    // Invited.
    assert!(invite(&admin, US, &[MEMBER]).await.is_empty());
    assert_eq!(status_of(&admin, US, MEMBER).await, Some(S::Invited));
    assert_eq!(invitations_count(&member, US).await, 1);
    let first_invitation = invitations(&member, US).await;
    assert_eq!(first_invitation[0].0, ADMIN);
    assert_eq!(first_invitation[0].1.len(), 32);
    assert_eq!(
        unprocessed(&invite(&admin, US, &[MEMBER]).await),
        [MEMBER],
        "already invited"
    );

    // Accepting needs the member's own hub, and the right invitation.
    expect_error(
        accept(&member, US, ADMIN).await,
        Code::FailedPrecondition,
        "InvalidAccessException",
    );
    enable(&member, US).await;
    expect_error(
        member
            .hub()
            .accept_administrator_invitation(pb::AcceptAdministratorInvitationRequest {
                region: US.into(),
                administrator_id: ADMIN.into(),
                invitation_id: "0123456789abcdef0123456789abcdef".into(),
            })
            .await,
        Code::NotFound,
        "ResourceNotFoundException",
    );
    assert_eq!(status_of(&admin, US, MEMBER).await, Some(S::Invited));

    // Enabled.
    accept(&member, US, ADMIN).await.unwrap();
    assert_eq!(status_of(&admin, US, MEMBER).await, Some(S::Enabled));
    assert_eq!(
        members(&admin, US, false).await,
        [(MEMBER.to_string(), S::Enabled)]
    );
    assert_eq!(
        administrator(&member, US).await,
        Some((ADMIN.to_string(), S::Enabled))
    );
    assert_eq!(
        invitations_count(&member, US).await,
        0,
        "the accepted invitation is not counted"
    );
    let details = member
        .hub()
        .get_administrator_account(pb::GetAdministratorAccountRequest { region: US.into() })
        .await
        .unwrap()
        .into_inner()
        .administrator
        .unwrap();
    assert_eq!(details.invitation_id, first_invitation[0].1);
    assert!(details.invited_at.is_some());
    assert_eq!(
        unprocessed(&create_members(&admin, US, &[MEMBER]).await),
        [MEMBER],
        "already a member"
    );
    let not_deletable = admin
        .hub()
        .delete_members(pb::DeleteMembersRequest {
            region: US.into(),
            account_ids: ids(&[MEMBER]),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(unprocessed(&not_deletable.unprocessed_accounts), [MEMBER]);
    assert!(
        not_deletable.unprocessed_accounts[0]
            .processing_result
            .contains("disassociate")
    );
    assert_eq!(status_of(&admin, US, MEMBER).await, Some(S::Enabled));

    // Resigned: the member leaves; invited again, it declines.
    member
        .hub()
        .disassociate_from_administrator_account(pb::DisassociateFromAdministratorAccountRequest {
            region: US.into(),
        })
        .await
        .unwrap();
    assert_eq!(status_of(&admin, US, MEMBER).await, Some(S::Resigned));
    assert_eq!(administrator(&member, US).await, None);
    expect_error(
        member
            .hub()
            .disassociate_from_administrator_account(
                pb::DisassociateFromAdministratorAccountRequest { region: US.into() },
            )
            .await,
        Code::NotFound,
        "ResourceNotFoundException",
    );
    assert_eq!(
        unprocessed(&create_members(&admin, US, &[MEMBER]).await),
        [MEMBER],
        "a resigned invitation member is invited again, not created"
    );
    assert!(invite(&admin, US, &[MEMBER]).await.is_empty());
    let second_invitation = invitations(&member, US).await;
    assert_ne!(
        second_invitation[0].1, first_invitation[0].1,
        "each invitation has a new id"
    );
    expect_error(
        member
            .hub()
            .accept_administrator_invitation(pb::AcceptAdministratorInvitationRequest {
                region: US.into(),
                administrator_id: ADMIN.into(),
                invitation_id: first_invitation[0].1.clone(),
            })
            .await,
        Code::NotFound,
        "ResourceNotFoundException",
    );
    let declined = member
        .hub()
        .decline_invitations(pb::DeclineInvitationsRequest {
            region: US.into(),
            account_ids: ids(&[ADMIN, OTHER_ADMIN]),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(unprocessed(&declined.unprocessed_accounts), [OTHER_ADMIN]);
    assert_eq!(status_of(&admin, US, MEMBER).await, Some(S::Resigned));
    assert!(invitations(&member, US).await.is_empty());

    // Invited again, then the administrator withdraws the invitation: Created.
    assert!(invite(&admin, US, &[MEMBER]).await.is_empty());
    let withdrawn = admin
        .hub()
        .delete_invitations(pb::DeleteInvitationsRequest {
            region: US.into(),
            account_ids: ids(&[MEMBER, STRANGER]),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(unprocessed(&withdrawn.unprocessed_accounts), [STRANGER]);
    assert_eq!(status_of(&admin, US, MEMBER).await, Some(S::Created));
    assert_eq!(invitations_count(&member, US).await, 0);

    // Removed: the administrator disassociates an Enabled member.
    assert!(invite(&admin, US, &[MEMBER]).await.is_empty());
    accept(&member, US, ADMIN).await.unwrap();
    admin
        .hub()
        .disassociate_members(pb::DisassociateMembersRequest {
            region: US.into(),
            account_ids: ids(&[MEMBER]),
        })
        .await
        .unwrap();
    assert_eq!(status_of(&admin, US, MEMBER).await, Some(S::Removed));
    assert_eq!(administrator(&member, US).await, None);
    // Disassociating again is harmless; a stranger fails the whole call and changes nothing.
    admin
        .hub()
        .disassociate_members(pb::DisassociateMembersRequest {
            region: US.into(),
            account_ids: ids(&[MEMBER]),
        })
        .await
        .unwrap();
    expect_error(
        admin
            .hub()
            .disassociate_members(pb::DisassociateMembersRequest {
                region: US.into(),
                account_ids: ids(&[MEMBER, STRANGER]),
            })
            .await,
        Code::NotFound,
        "ResourceNotFoundException",
    );
    assert_eq!(status_of(&admin, US, MEMBER).await, Some(S::Removed));

    // Deleted: gone from the list; starting over needs CreateMembers.
    let deleted = admin
        .hub()
        .delete_members(pb::DeleteMembersRequest {
            region: US.into(),
            account_ids: ids(&[MEMBER, STRANGER]),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(unprocessed(&deleted.unprocessed_accounts), [STRANGER]);
    assert_eq!(status_of(&admin, US, MEMBER).await, None);
    assert!(members(&admin, US, true).await.is_empty());
    assert_eq!(unprocessed(&invite(&admin, US, &[MEMBER]).await), [MEMBER]);
    assert!(create_members(&admin, US, &[MEMBER]).await.is_empty());
    assert_eq!(status_of(&admin, US, MEMBER).await, Some(S::Created));
    cluster.shutdown().await;
}

async fn relationships_are_per_region(backend: Backend) {
    let cluster = start(backend).await;
    let admin = actor(&cluster, ADMIN, "").await;
    let member = actor(&cluster, MEMBER, "").await;
    for region in [US, EU] {
        enable(&admin, region).await;
        enable(&member, region).await;
    }
    assert!(create_members(&admin, US, &[MEMBER]).await.is_empty());
    assert!(invite(&admin, US, &[MEMBER]).await.is_empty());
    assert!(
        invitations(&member, EU).await.is_empty(),
        "the invitation exists only in us-east-1"
    );
    assert_eq!(invitations_count(&member, EU).await, 0);
    accept(&member, US, ADMIN).await.unwrap();

    assert_eq!(
        administrator(&member, US).await,
        Some((ADMIN.to_string(), S::Enabled))
    );
    assert_eq!(
        administrator(&member, EU).await,
        None,
        "a member in us-east-1 only"
    );
    assert_eq!(
        members(&admin, US, false).await,
        [(MEMBER.to_string(), S::Enabled)]
    );
    assert!(members(&admin, EU, true).await.is_empty());
    assert_eq!(status_of(&admin, EU, MEMBER).await, None);
    expect_error(
        member
            .hub()
            .disassociate_from_administrator_account(
                pb::DisassociateFromAdministratorAccountRequest { region: EU.into() },
            )
            .await,
        Code::NotFound,
        "ResourceNotFoundException",
    );
    // In eu-west-1 the member is standalone: it may administer members there, and disable its hub.
    let stranger = actor(&cluster, STRANGER, "").await;
    assert!(create_members(&member, EU, &[STRANGER]).await.is_empty());
    assert_eq!(status_of(&member, EU, STRANGER).await, Some(S::Created));
    expect_error(
        member
            .hub()
            .create_members(pb::CreateMembersRequest {
                region: US.into(),
                account_details: details(&[STRANGER]),
            })
            .await,
        Code::FailedPrecondition,
        "InvalidInputException",
    );
    // Disabling the hub in eu-west-1 removes the relationships it administered there.
    member
        .hub()
        .disable_security_hub(pb::DisableSecurityHubRequest { region: EU.into() })
        .await
        .unwrap();
    assert_eq!(
        administrator(&member, US).await,
        Some((ADMIN.to_string(), S::Enabled))
    );
    enable(&member, EU).await;
    assert_eq!(status_of(&member, EU, STRANGER).await, None);
    assert!(invitations(&stranger, EU).await.is_empty());
    cluster.shutdown().await;
}

async fn an_account_cannot_be_administrator_and_member_or_have_two_administrators(
    backend: Backend,
) {
    let cluster = start(backend).await;
    let admin = actor(&cluster, ADMIN, "").await;
    let member = actor(&cluster, MEMBER, "").await;
    let other_admin = actor(&cluster, OTHER_ADMIN, "").await;
    let stranger = actor(&cluster, STRANGER, "").await;
    for actor in [&admin, &member, &other_admin, &stranger] {
        enable(actor, US).await;
    }

    // Per-account refusals of CreateMembers.
    let refused = create_members(&admin, US, &[ADMIN, "555555555555", MEMBER]).await;
    assert_eq!(unprocessed(&refused), [ADMIN, "555555555555"]);
    assert!(refused[0].processing_result.contains("its own member"));
    assert!(refused[1].processing_result.contains("does not exist"));
    assert_eq!(status_of(&admin, US, MEMBER).await, Some(S::Created));
    assert!(invite(&admin, US, &[MEMBER]).await.is_empty());
    accept(&member, US, ADMIN).await.unwrap();

    // A member cannot manage members.
    expect_error(
        member
            .hub()
            .create_members(pb::CreateMembersRequest {
                region: US.into(),
                account_details: details(&[STRANGER]),
            })
            .await,
        Code::FailedPrecondition,
        "InvalidInputException",
    );
    expect_error(
        member
            .hub()
            .invite_members(pb::InviteMembersRequest {
                region: US.into(),
                account_ids: ids(&[STRANGER]),
            })
            .await,
        Code::FailedPrecondition,
        "InvalidInputException",
    );

    // A member has one administrator: another invitation can be sent but not accepted.
    assert!(create_members(&other_admin, US, &[MEMBER]).await.is_empty());
    assert!(invite(&other_admin, US, &[MEMBER]).await.is_empty());
    assert_eq!(invitations_count(&member, US).await, 1);
    expect_error(
        accept(&member, US, OTHER_ADMIN).await,
        Code::FailedPrecondition,
        "InvalidInputException",
    );
    assert_eq!(
        status_of(&other_admin, US, MEMBER).await,
        Some(S::Invited),
        "the refused accept changed nothing"
    );
    assert_eq!(
        administrator(&member, US).await,
        Some((ADMIN.to_string(), S::Enabled))
    );

    // An administrator with Enabled members cannot become a member.
    assert!(create_members(&other_admin, US, &[ADMIN]).await.is_empty());
    assert!(invite(&other_admin, US, &[ADMIN]).await.is_empty());
    expect_error(
        accept(&admin, US, OTHER_ADMIN).await,
        Code::FailedPrecondition,
        "InvalidInputException",
    );
    assert_eq!(administrator(&admin, US).await, None);

    // A member's invitation to others cannot make them its members.
    assert!(
        create_members(&stranger, US, &[OTHER_ADMIN])
            .await
            .is_empty()
    );
    assert!(invite(&stranger, US, &[OTHER_ADMIN]).await.is_empty());
    assert!(
        create_members(&other_admin, US, &[STRANGER])
            .await
            .is_empty()
    );
    assert!(invite(&other_admin, US, &[STRANGER]).await.is_empty());
    accept(&stranger, US, OTHER_ADMIN).await.unwrap();
    expect_error(
        accept(&other_admin, US, STRANGER).await,
        Code::FailedPrecondition,
        "InvalidInputException",
    );
    assert_eq!(administrator(&other_admin, US).await, None);

    // Once free, the member may accept the other administrator.
    member
        .hub()
        .disassociate_from_administrator_account(pb::DisassociateFromAdministratorAccountRequest {
            region: US.into(),
        })
        .await
        .unwrap();
    accept(&member, US, OTHER_ADMIN).await.unwrap();
    assert_eq!(
        administrator(&member, US).await,
        Some((OTHER_ADMIN.to_string(), S::Enabled))
    );
    cluster.shutdown().await;
}

async fn disabling_the_hub_is_refused_while_relationships_need_it(backend: Backend) {
    let cluster = start(backend).await;
    let admin = actor(&cluster, ADMIN, "").await;
    let member = actor(&cluster, MEMBER, "").await;
    let pending = actor(&cluster, STRANGER, "").await;
    enable(&admin, US).await;
    enable(&member, US).await;
    assert!(
        create_members(&admin, US, &[MEMBER, STRANGER])
            .await
            .is_empty()
    );
    assert!(invite(&admin, US, &[MEMBER, STRANGER]).await.is_empty());
    accept(&member, US, ADMIN).await.unwrap();

    let disable = |actor: &Actor| {
        let mut client = actor.hub();
        async move {
            client
                .disable_security_hub(pb::DisableSecurityHubRequest { region: US.into() })
                .await
        }
    };
    let refused = expect_error(
        disable(&admin).await,
        Code::FailedPrecondition,
        "InvalidInputException",
    );
    assert!(refused.message().contains("Enabled member"), "{refused:?}");
    let refused = expect_error(
        disable(&member).await,
        Code::FailedPrecondition,
        "InvalidInputException",
    );
    assert!(
        refused.message().contains("member of administrator"),
        "{refused:?}"
    );
    assert!(describe(&admin, US).await.is_ok());
    assert!(describe(&member, US).await.is_ok());
    assert_eq!(status_of(&admin, US, STRANGER).await, Some(S::Invited));

    // Once the member is disassociated the administrator may disable: its list goes away.
    admin
        .hub()
        .disassociate_members(pb::DisassociateMembersRequest {
            region: US.into(),
            account_ids: ids(&[MEMBER]),
        })
        .await
        .unwrap();
    disable(&member).await.unwrap();
    disable(&admin).await.unwrap();
    assert!(
        invitations(&pending, US).await.is_empty(),
        "pending invitations went with the list"
    );
    enable(&admin, US).await;
    assert!(members(&admin, US, true).await.is_empty());
    assert_eq!(status_of(&admin, US, STRANGER).await, None);
    cluster.shutdown().await;
}

async fn the_management_account_designates_the_organization_administrator(backend: Backend) {
    let cluster = start(backend).await;
    let (organization_id, management_key) = cluster.create_organization(MANAGEMENT).await;
    let management = cluster.securityhub(&management_key);
    let admin = actor(&cluster, ADMIN, &organization_id).await;
    let member = actor(&cluster, MEMBER, &organization_id).await;
    let outsider = actor(&cluster, STRANGER, "").await;

    let designate = |mut client: Client, admin_account_id: &str, region: &str| {
        let request = pb::EnableOrganizationAdminAccountRequest {
            region: region.into(),
            admin_account_id: admin_account_id.into(),
        };
        async move { client.enable_organization_admin_account(request).await }
    };
    // Only the management account designates.
    expect_error(
        designate(member.hub(), ADMIN, US).await,
        Code::PermissionDenied,
        "AccessDeniedException",
    );
    expect_error(
        designate(outsider.hub(), ADMIN, US).await,
        Code::NotFound,
        "AWSOrganizationsNotInUseException",
    );
    expect_error(
        designate(management.clone(), STRANGER, US).await,
        Code::NotFound,
        "ResourceNotFoundException",
    );
    expect_error(
        designate(management.clone(), ADMIN, "ap-south-1").await,
        Code::NotFound,
        "ResourceNotFoundException",
    );
    assert!(
        describe(&admin, US).await.is_err(),
        "rejected designations enabled nothing"
    );

    let designated = designate(management.clone(), ADMIN, US)
        .await
        .unwrap()
        .into_inner();
    assert_eq!(designated.admin_account_id, ADMIN);
    let hub = describe(&admin, US)
        .await
        .expect("the designated account's hub is enabled");
    assert!(hub.default_standards_enabled);
    assert!(
        describe(&admin, EU).await.is_err(),
        "designation is per region"
    );
    designate(management.clone(), ADMIN, US)
        .await
        .expect("designating again is a no-op");
    expect_error(
        designate(management.clone(), MEMBER, US).await,
        Code::AlreadyExists,
        "ResourceConflictException",
    );

    // The first designation registered the delegated administrator and trusted access.
    let delegated = cluster
        .organizations(&management_key)
        .list_delegated_administrators(pb::ListDelegatedAdministratorsRequest {
            organization_id: organization_id.clone(),
            service_principal: "securityhub.amazonaws.com".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .delegated_administrators;
    let delegated: Vec<_> = delegated
        .iter()
        .map(|registration| registration.account_id.as_str())
        .collect();
    assert_eq!(delegated, [ADMIN]);
    let access = cluster
        .organizations(&management_key)
        .list_service_access(pb::ListServiceAccessRequest {
            organization_id: organization_id.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .enabled_services;
    assert!(
        access
            .iter()
            .any(|service| service.service_principal == "securityhub.amazonaws.com")
    );

    // The management account's ACCOUNT key acts as the management account too.
    let management_account_key = cluster.account_key(MANAGEMENT).await;
    let listed = cluster
        .securityhub(&management_account_key)
        .list_organization_admin_accounts(pb::ListOrganizationAdminAccountsRequest {
            region: US.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        listed.admin_accounts,
        [pb::OrganizationAdminAccount {
            account_id: ADMIN.into(),
            status: pb::OrganizationAdminStatus::Enabled as i32
        }]
    );
    assert!(listed.next_page_token.is_empty());
    let europe = management
        .clone()
        .list_organization_admin_accounts(pb::ListOrganizationAdminAccountsRequest {
            region: EU.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(europe.admin_accounts.is_empty());
    expect_error(
        admin
            .hub()
            .list_organization_admin_accounts(pb::ListOrganizationAdminAccountsRequest {
                region: US.into(),
                ..Default::default()
            })
            .await,
        Code::PermissionDenied,
        "AccessDeniedException",
    );
    // A different administrator in another region is the API's choice to make.
    designate(cluster.securityhub(&management_account_key), MEMBER, EU)
        .await
        .unwrap();

    // The organization configuration belongs to the administrator of each region.
    let configuration = admin
        .hub()
        .describe_organization_configuration(pb::DescribeOrganizationConfigurationRequest {
            region: US.into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(!configuration.auto_enable);
    assert!(!configuration.member_account_limit_reached);
    assert_eq!(
        configuration.auto_enable_standards,
        pb::AutoEnableStandards::Default as i32
    );
    for (actor, region) in [(&member, US), (&admin, EU), (&outsider, US)] {
        expect_error(
            actor
                .hub()
                .describe_organization_configuration(pb::DescribeOrganizationConfigurationRequest {
                    region: region.into(),
                })
                .await,
            Code::PermissionDenied,
            "AccessDeniedException",
        );
        expect_error(
            actor
                .hub()
                .update_organization_configuration(pb::UpdateOrganizationConfigurationRequest {
                    region: region.into(),
                    auto_enable: true,
                    ..Default::default()
                })
                .await,
            Code::PermissionDenied,
            "AccessDeniedException",
        );
    }
    expect_error(
        management
            .clone()
            .update_organization_configuration(pb::UpdateOrganizationConfigurationRequest {
                region: US.into(),
                auto_enable: true,
                ..Default::default()
            })
            .await,
        Code::PermissionDenied,
        "AccessDeniedException",
    );

    // The designated administrator cannot disable its hub.
    expect_error(
        admin
            .hub()
            .disable_security_hub(pb::DisableSecurityHubRequest { region: US.into() })
            .await,
        Code::FailedPrecondition,
        "InvalidInputException",
    );

    // Disabling: the wrong account is not found; the right one ends the designation.
    expect_error(
        management
            .clone()
            .disable_organization_admin_account(pb::DisableOrganizationAdminAccountRequest {
                region: US.into(),
                admin_account_id: MEMBER.into(),
            })
            .await,
        Code::NotFound,
        "ResourceNotFoundException",
    );
    expect_error(
        member
            .hub()
            .disable_organization_admin_account(pb::DisableOrganizationAdminAccountRequest {
                region: US.into(),
                admin_account_id: ADMIN.into(),
            })
            .await,
        Code::PermissionDenied,
        "AccessDeniedException",
    );
    management
        .clone()
        .disable_organization_admin_account(pb::DisableOrganizationAdminAccountRequest {
            region: US.into(),
            admin_account_id: ADMIN.into(),
        })
        .await
        .unwrap();
    let listed = management
        .clone()
        .list_organization_admin_accounts(pb::ListOrganizationAdminAccountsRequest {
            region: US.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(listed.admin_accounts.is_empty());
    assert!(
        describe(&admin, US).await.is_ok(),
        "the former administrator keeps its hub"
    );
    admin
        .hub()
        .disable_security_hub(pb::DisableSecurityHubRequest { region: US.into() })
        .await
        .expect("a former administrator without members may disable its hub");
    // Now another account may be designated in us-east-1.
    designate(management.clone(), MEMBER, US).await.unwrap();
    cluster.shutdown().await;
}

async fn organization_members_are_enabled_directly_and_managed_by_the_administrator(
    backend: Backend,
) {
    let cluster = start(backend).await;
    let (organization_id, management_key) = cluster.create_organization(MANAGEMENT).await;
    let management = cluster.securityhub(&management_key);
    let admin = actor(&cluster, ADMIN, &organization_id).await;
    let member = actor(&cluster, MEMBER, &organization_id).await;
    let outsider = actor(&cluster, OTHER_ADMIN, "").await;
    let suspended = actor(&cluster, STRANGER, &organization_id).await;
    management
        .clone()
        .enable_organization_admin_account(pb::EnableOrganizationAdminAccountRequest {
            region: US.into(),
            admin_account_id: ADMIN.into(),
        })
        .await
        .unwrap();
    admin
        .hub()
        .update_security_hub_configuration(pb::UpdateSecurityHubConfigurationRequest {
            region: US.into(),
            control_finding_generator: pb::ControlFindingGenerator::StandardControl as i32,
            ..Default::default()
        })
        .await
        .unwrap();
    cluster
        .organizations(cluster.operator_key())
        .suspend_account(pb::SuspendAccountRequest {
            account_id: STRANGER.into(),
        })
        .await
        .unwrap();

    // Organization accounts become Enabled at once (their hub enabled with the administrator's
    // generator); the management account must enable its own hub; outsiders are Created.
    assert!(describe(&member, US).await.is_err());
    let refused = create_members(&admin, US, &[MEMBER, MANAGEMENT, OTHER_ADMIN, STRANGER]).await;
    assert_eq!(unprocessed(&refused), [MANAGEMENT]);
    assert!(
        refused[0].processing_result.contains("enable Security Hub"),
        "{refused:?}"
    );
    assert_eq!(
        members(&admin, US, true).await,
        [
            (MEMBER.to_string(), S::Enabled),
            (OTHER_ADMIN.to_string(), S::Created),
            (STRANGER.to_string(), S::AccountSuspended),
        ]
    );
    assert_eq!(
        members(&admin, US, false).await,
        [(MEMBER.to_string(), S::Enabled)]
    );
    let member_hub = describe(&member, US)
        .await
        .expect("the organization member's hub was enabled");
    assert_eq!(
        member_hub.control_finding_generator,
        pb::ControlFindingGenerator::StandardControl as i32
    );
    assert!(
        describe(&suspended, US).await.is_err(),
        "a suspended account gets no hub"
    );
    assert_eq!(
        administrator(&member, US).await,
        Some((ADMIN.to_string(), S::Enabled))
    );
    let listed = admin
        .hub()
        .get_members(pb::GetMembersRequest {
            region: US.into(),
            account_ids: ids(&[MEMBER]),
        })
        .await
        .unwrap()
        .into_inner()
        .members;
    assert_eq!(
        listed[0].relationship_type,
        pb::RelationshipType::Organization as i32
    );
    assert!(listed[0].invited_at.is_none());
    assert!(
        invitations(&member, US).await.is_empty(),
        "organization accounts receive no invitation"
    );
    let management_account = actor_for_key(&cluster, MANAGEMENT).await;
    enable(&management_account, US).await;
    assert!(create_members(&admin, US, &[MANAGEMENT]).await.is_empty());
    assert_eq!(status_of(&admin, US, MANAGEMENT).await, Some(S::Enabled));

    // A suspended organization account is enabled again after reactivation.
    assert_eq!(
        unprocessed(&create_members(&admin, US, &[STRANGER]).await),
        [STRANGER]
    );
    cluster
        .organizations(cluster.operator_key())
        .reactivate_account(pb::ReactivateAccountRequest {
            account_id: STRANGER.into(),
        })
        .await
        .unwrap();
    assert!(create_members(&admin, US, &[STRANGER]).await.is_empty());
    assert_eq!(status_of(&admin, US, STRANGER).await, Some(S::Enabled));
    assert!(describe(&suspended, US).await.is_ok());

    // Organization members are not invited, not deleted, and do not leave on their own.
    assert_eq!(unprocessed(&invite(&admin, US, &[MEMBER]).await), [MEMBER]);
    let not_deleted = admin
        .hub()
        .delete_members(pb::DeleteMembersRequest {
            region: US.into(),
            account_ids: ids(&[MEMBER]),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(unprocessed(&not_deleted.unprocessed_accounts), [MEMBER]);
    expect_error(
        member
            .hub()
            .disassociate_from_administrator_account(
                pb::DisassociateFromAdministratorAccountRequest { region: US.into() },
            )
            .await,
        Code::FailedPrecondition,
        "InvalidInputException",
    );
    // Their control finding generator follows the administrator.
    expect_error(
        member
            .hub()
            .update_security_hub_configuration(pb::UpdateSecurityHubConfigurationRequest {
                region: US.into(),
                control_finding_generator: pb::ControlFindingGenerator::SecurityControl as i32,
                ..Default::default()
            })
            .await,
        Code::PermissionDenied,
        "AccessDeniedException",
    );
    member
        .hub()
        .update_security_hub_configuration(pb::UpdateSecurityHubConfigurationRequest {
            region: US.into(),
            auto_enable_controls: Some(false),
            ..Default::default()
        })
        .await
        .expect("other settings are the member's own");
    admin
        .hub()
        .update_security_hub_configuration(pb::UpdateSecurityHubConfigurationRequest {
            region: US.into(),
            control_finding_generator: pb::ControlFindingGenerator::SecurityControl as i32,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        describe(&member, US)
            .await
            .unwrap()
            .control_finding_generator,
        pb::ControlFindingGenerator::SecurityControl as i32
    );
    // An organization member cannot accept an outside invitation.
    enable(&outsider, US).await;
    assert!(create_members(&outsider, US, &[MEMBER]).await.is_empty());
    assert!(invite(&outsider, US, &[MEMBER]).await.is_empty());
    expect_error(
        accept(&member, US, OTHER_ADMIN).await,
        Code::FailedPrecondition,
        "InvalidInputException",
    );

    // The administrator disassociates an organization member (Removed) and enables it again.
    admin
        .hub()
        .disassociate_members(pb::DisassociateMembersRequest {
            region: US.into(),
            account_ids: ids(&[MEMBER]),
        })
        .await
        .unwrap();
    assert_eq!(status_of(&admin, US, MEMBER).await, Some(S::Removed));
    assert!(create_members(&admin, US, &[MEMBER]).await.is_empty());
    assert_eq!(status_of(&admin, US, MEMBER).await, Some(S::Enabled));

    // An account that accepted an invitation cannot be enabled by the organization administrator.
    admin
        .hub()
        .disassociate_members(pb::DisassociateMembersRequest {
            region: US.into(),
            account_ids: ids(&[MEMBER]),
        })
        .await
        .unwrap();
    accept(&member, US, OTHER_ADMIN).await.unwrap();
    let refused = create_members(&admin, US, &[MEMBER]).await;
    assert_eq!(unprocessed(&refused), [MEMBER]);
    assert!(
        refused[0].processing_result.contains("disassociated first"),
        "{refused:?}"
    );
    assert_eq!(status_of(&admin, US, MEMBER).await, Some(S::Removed));

    // Ending the designation removes the organization members; they keep their hubs.
    management
        .clone()
        .disable_organization_admin_account(pb::DisableOrganizationAdminAccountRequest {
            region: US.into(),
            admin_account_id: ADMIN.into(),
        })
        .await
        .unwrap();
    assert_eq!(status_of(&admin, US, STRANGER).await, Some(S::Removed));
    assert_eq!(status_of(&admin, US, MANAGEMENT).await, Some(S::Removed));
    assert_eq!(
        status_of(&admin, US, OTHER_ADMIN).await,
        Some(S::Created),
        "invitation members stay"
    );
    assert_eq!(administrator(&suspended, US).await, None);
    assert!(describe(&suspended, US).await.is_ok());
    assert_eq!(
        administrator(&member, US).await,
        Some((OTHER_ADMIN.to_string(), S::Enabled))
    );
    cluster.shutdown().await;
}

/// An actor for an account that already exists.
async fn actor_for_key(cluster: &TestCluster, account_id: &str) -> Actor {
    let key = cluster.account_key(account_id).await;
    Actor {
        id: account_id.to_string(),
        client: cluster.securityhub(&key),
    }
}

async fn auto_enable_applies_to_accounts_that_join_later_and_leaving_removes_them(
    backend: Backend,
) {
    let cluster = start(backend).await;
    let (organization_id, management_key) = cluster.create_organization(MANAGEMENT).await;
    let management = cluster.securityhub(&management_key);
    let admin = actor(&cluster, ADMIN, &organization_id).await;
    let existing = actor(&cluster, MEMBER, &organization_id).await;
    management
        .clone()
        .enable_organization_admin_account(pb::EnableOrganizationAdminAccountRequest {
            region: US.into(),
            admin_account_id: ADMIN.into(),
        })
        .await
        .unwrap();
    let organizations = cluster.organizations(&management_key);

    // Without auto-enable, a new account is not a member.
    let early = actor(&cluster, "555555555555", &organization_id).await;
    assert_eq!(administrator(&early, US).await, None);
    assert!(describe(&early, US).await.is_err());

    admin
        .hub()
        .update_organization_configuration(pb::UpdateOrganizationConfigurationRequest {
            region: US.into(),
            auto_enable: true,
            auto_enable_standards: pb::AutoEnableStandards::None as i32,
        })
        .await
        .unwrap();
    let configuration = admin
        .hub()
        .describe_organization_configuration(pb::DescribeOrganizationConfigurationRequest {
            region: US.into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(configuration.auto_enable);
    assert_eq!(
        configuration.auto_enable_standards,
        pb::AutoEnableStandards::None as i32
    );
    // UNSPECIFIED keeps the standards choice.
    admin
        .hub()
        .update_organization_configuration(pb::UpdateOrganizationConfigurationRequest {
            region: US.into(),
            auto_enable: true,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        admin
            .hub()
            .describe_organization_configuration(pb::DescribeOrganizationConfigurationRequest {
                region: US.into()
            })
            .await
            .unwrap()
            .into_inner()
            .auto_enable_standards,
        pb::AutoEnableStandards::None as i32
    );

    // Existing accounts are not affected.
    assert_eq!(administrator(&existing, US).await, None);

    // An account created in the organization joins as an Enabled member, with its hub.
    let created = actor(&cluster, "666666666666", &organization_id).await;
    assert_eq!(
        administrator(&created, US).await,
        Some((ADMIN.to_string(), S::Enabled))
    );
    let hub = describe(&created, US)
        .await
        .expect("auto-enable enabled the hub");
    assert!(!hub.default_standards_enabled, "AutoEnableStandards NONE");
    assert_eq!(
        administrator(&created, EU).await,
        None,
        "auto-enable is per region"
    );
    assert!(describe(&created, EU).await.is_err());

    // A standalone account added to the organization joins too.
    let added = actor(&cluster, OTHER_ADMIN, "").await;
    organizations
        .clone()
        .add_account_to_organization(pb::AddAccountToOrganizationRequest {
            organization_id: organization_id.clone(),
            account_id: OTHER_ADMIN.into(),
        })
        .await
        .unwrap();
    assert_eq!(
        administrator(&added, US).await,
        Some((ADMIN.to_string(), S::Enabled))
    );

    // An account that is an invitation member of someone else is not taken over.
    let outside_admin = actor(&cluster, STRANGER, "").await;
    let invited = actor(&cluster, "777777777777", "").await;
    enable(&outside_admin, US).await;
    enable(&invited, US).await;
    assert!(
        create_members(&outside_admin, US, &["777777777777"])
            .await
            .is_empty()
    );
    assert!(
        invite(&outside_admin, US, &["777777777777"])
            .await
            .is_empty()
    );
    accept(&invited, US, STRANGER).await.unwrap();
    organizations
        .clone()
        .add_account_to_organization(pb::AddAccountToOrganizationRequest {
            organization_id: organization_id.clone(),
            account_id: "777777777777".into(),
        })
        .await
        .unwrap();
    assert_eq!(
        administrator(&invited, US).await,
        Some((STRANGER.to_string(), S::Enabled))
    );
    assert_eq!(status_of(&admin, US, "777777777777").await, None);

    // Leaving the organization removes the organization membership; the hub stays.
    organizations
        .clone()
        .remove_account_from_organization(pb::RemoveAccountFromOrganizationRequest {
            organization_id: organization_id.clone(),
            account_id: OTHER_ADMIN.into(),
        })
        .await
        .unwrap();
    assert_eq!(administrator(&added, US).await, None);
    assert_eq!(status_of(&admin, US, OTHER_ADMIN).await, Some(S::Removed));
    assert!(describe(&added, US).await.is_ok());
    // Outside the organization it starts over by invitation.
    assert_eq!(
        unprocessed(&invite(&admin, US, &[OTHER_ADMIN]).await),
        [OTHER_ADMIN]
    );
    assert!(create_members(&admin, US, &[OTHER_ADMIN]).await.is_empty());
    assert_eq!(status_of(&admin, US, OTHER_ADMIN).await, Some(S::Created));
    assert!(invite(&admin, US, &[OTHER_ADMIN]).await.is_empty());
    assert_eq!(status_of(&admin, US, OTHER_ADMIN).await, Some(S::Invited));
    assert_eq!(
        members(&admin, US, false)
            .await
            .iter()
            .map(|(id, _)| id.as_str())
            .collect::<Vec<_>>(),
        ["666666666666"]
    );

    // The administrator leaving the organization ends its designation.
    organizations
        .clone()
        .remove_account_from_organization(pb::RemoveAccountFromOrganizationRequest {
            organization_id: organization_id.clone(),
            account_id: ADMIN.into(),
        })
        .await
        .unwrap();
    assert_eq!(administrator(&created, US).await, None);
    let listed = management
        .clone()
        .list_organization_admin_accounts(pb::ListOrganizationAdminAccountsRequest {
            region: US.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(listed.admin_accounts.is_empty());
    let joined_later = actor(&cluster, "888888888888", &organization_id).await;
    assert_eq!(
        administrator(&joined_later, US).await,
        None,
        "no designation, no auto-enable"
    );
    cluster.shutdown().await;
}

async fn closing_accounts_ends_their_relationships_and_hubs(backend: Backend) {
    let cluster = start(backend).await;
    let (organization_id, management_key) = cluster.create_organization(MANAGEMENT).await;
    let admin = actor(&cluster, ADMIN, &organization_id).await;
    let organization_member = actor(&cluster, MEMBER, &organization_id).await;
    let invited_admin = actor(&cluster, OTHER_ADMIN, "").await;
    let invited_member = actor(&cluster, STRANGER, "").await;
    cluster
        .securityhub(&management_key)
        .enable_organization_admin_account(pb::EnableOrganizationAdminAccountRequest {
            region: US.into(),
            admin_account_id: ADMIN.into(),
        })
        .await
        .unwrap();
    assert!(create_members(&admin, US, &[MEMBER]).await.is_empty());
    enable(&invited_admin, US).await;
    enable(&invited_member, US).await;
    assert!(
        create_members(&invited_admin, US, &[STRANGER])
            .await
            .is_empty()
    );
    assert!(invite(&invited_admin, US, &[STRANGER]).await.is_empty());
    accept(&invited_member, US, OTHER_ADMIN).await.unwrap();

    let close = |account_id: &str| {
        let mut organizations = cluster.organizations(cluster.operator_key());
        let request = pb::CloseAccountRequest {
            account_id: account_id.into(),
        };
        async move { organizations.close_account(request).await.unwrap() }
    };
    // A closed organization member is removed and its hub disabled.
    close(MEMBER).await;
    assert_eq!(status_of(&admin, US, MEMBER).await, Some(S::Removed));
    assert!(describe(&organization_member, US).await.is_err());
    // A closed invitation administrator's list goes away; its member is standalone again.
    close(OTHER_ADMIN).await;
    assert_eq!(administrator(&invited_member, US).await, None);
    invited_member
        .hub()
        .disable_security_hub(pb::DisableSecurityHubRequest { region: US.into() })
        .await
        .expect("the former member may disable its hub");
    // A closed organization administrator loses its designation and its hubs.
    close(ADMIN).await;
    let listed = cluster
        .securityhub(&management_key)
        .list_organization_admin_accounts(pb::ListOrganizationAdminAccountsRequest {
            region: US.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(listed.admin_accounts.is_empty());
    // With every hub gone, nothing holds the region.
    cluster
        .regions(cluster.operator_key())
        .deregister_region(pb::DeregisterRegionRequest {
            region_name: US.into(),
        })
        .await
        .expect("no hub is left in us-east-1");
    cluster.shutdown().await;
}

async fn members_invitations_and_administrators_page_with_keyset_tokens(backend: Backend) {
    let cluster = start(backend).await;
    let (organization_id, management_key) = cluster.create_organization(MANAGEMENT).await;
    let admin = actor(&cluster, ADMIN, &organization_id).await;
    let accounts = ["200000000001", "200000000002", "200000000003"];
    for account_id in accounts {
        cluster.create_account(account_id, &organization_id).await;
    }
    cluster
        .securityhub(&management_key)
        .enable_organization_admin_account(pb::EnableOrganizationAdminAccountRequest {
            region: US.into(),
            admin_account_id: ADMIN.into(),
        })
        .await
        .unwrap();
    assert!(create_members(&admin, US, &accounts).await.is_empty());

    let mut seen = Vec::new();
    let mut token = String::new();
    let mut pages = 0;
    loop {
        let page = admin
            .hub()
            .list_members(pb::ListMembersRequest {
                region: US.into(),
                only_associated: None,
                page_size: 2,
                page_token: token.clone(),
            })
            .await
            .unwrap()
            .into_inner();
        pages += 1;
        seen.extend(page.members.into_iter().map(|member| member.account_id));
        if page.next_page_token.is_empty() {
            break;
        }
        // A token is bound to its filters.
        expect_error(
            admin
                .hub()
                .list_members(pb::ListMembersRequest {
                    region: US.into(),
                    only_associated: Some(false),
                    page_size: 2,
                    page_token: page.next_page_token.clone(),
                })
                .await,
            Code::InvalidArgument,
            "InvalidNextTokenException",
        );
        token = page.next_page_token;
    }
    assert_eq!(pages, 2);
    assert_eq!(seen, accounts);

    // Three administrators invite one account: its invitations page in administrator order.
    let invited = actor(&cluster, "300000000000", "").await;
    let mut administrators = Vec::new();
    for account_id in ["400000000001", "400000000002", "400000000003"] {
        let inviter = actor(&cluster, account_id, "").await;
        enable(&inviter, EU).await;
        assert!(
            create_members(&inviter, EU, &["300000000000"])
                .await
                .is_empty()
        );
        assert!(invite(&inviter, EU, &["300000000000"]).await.is_empty());
        administrators.push(account_id.to_string());
    }
    let first = invited
        .hub()
        .list_invitations(pb::ListInvitationsRequest {
            region: EU.into(),
            page_size: 2,
            page_token: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(first.invitations.len(), 2);
    let second = invited
        .hub()
        .list_invitations(pb::ListInvitationsRequest {
            region: EU.into(),
            page_size: 2,
            page_token: first.next_page_token.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(second.next_page_token.is_empty());
    let listed: Vec<_> = first
        .invitations
        .iter()
        .chain(second.invitations.iter())
        .map(|invitation| invitation.account_id.clone())
        .collect();
    assert_eq!(listed, administrators);
    assert_eq!(invitations_count(&invited, EU).await, 3);
    // Another account cannot use the token.
    expect_error(
        admin
            .hub()
            .list_invitations(pb::ListInvitationsRequest {
                region: EU.into(),
                page_size: 2,
                page_token: first.next_page_token,
            })
            .await,
        Code::InvalidArgument,
        "InvalidNextTokenException",
    );
    cluster.shutdown().await;
}

async fn a_region_with_an_enabled_hub_cannot_be_deregistered(backend: Backend) {
    let cluster = start(backend).await;
    let admin = actor(&cluster, ADMIN, "").await;
    enable(&admin, EU).await;
    let mut regions = cluster.regions(cluster.operator_key());
    let refused = expect_error(
        regions
            .deregister_region(pb::DeregisterRegionRequest {
                region_name: EU.into(),
            })
            .await,
        Code::FailedPrecondition,
        "ResourceInUseException",
    );
    assert!(refused.message().contains("Security Hub"), "{refused:?}");
    admin
        .hub()
        .disable_security_hub(pb::DisableSecurityHubRequest { region: EU.into() })
        .await
        .unwrap();
    regions
        .deregister_region(pb::DeregisterRegionRequest {
            region_name: EU.into(),
        })
        .await
        .expect("no hub holds eu-west-1 any more");
    cluster.shutdown().await;
}
