//! Domain tests on a real SQLite store: quotas (with small configured limits), automatic
//! enablement against the stored limit, and the read helpers the entitlement resolver uses.

use tributary_proto::membership::v1 as pb;
use tributary_runtime::{
    auth::{Caller, Principal},
    paging::PageTokens,
};

use super::{
    MemberStatus, SecurityHub, administrator_of, hub_enabled, inputs, is_member,
    member_relationships,
};
use crate::{
    config::SecurityHubLimits,
    error::Error,
    events::Changes,
    organizations::{FeatureSet, NewAccount, Organizations},
    regions::{Regions, RegisterRegion},
};

const US: &str = "us-east-1";
const EU: &str = "eu-west-1";
const ADMIN: &str = "111111111111";

/// A migrated SQLite store with two regions, and the domains over it.
struct Fixture {
    _directory: tempfile::TempDir,
    changes: Changes,
    security_hub: SecurityHub,
    organizations: Organizations,
}

fn operator() -> Caller {
    Caller {
        key_id: "key-operator".into(),
        principal: Principal::Operator,
    }
}

fn account(account_id: &str) -> Caller {
    Caller {
        key_id: format!("key-{account_id}"),
        principal: Principal::Account {
            account_id: account_id.into(),
        },
    }
}

async fn fixture(limits: SecurityHubLimits) -> Fixture {
    let directory = tempfile::tempdir().unwrap();
    let url = tributary_runtime::db::sqlite_url(&directory.path().join("membership.db"));
    let db = tributary_runtime::db::connect(&url).await.unwrap();
    <crate::store::Migrator as sea_orm_migration::MigratorTrait>::up(&db, None)
        .await
        .unwrap();
    let changes = Changes::new(db).await.unwrap();
    let page_tokens = PageTokens::new(b"test secret");
    let regions = Regions::new(changes.clone(), page_tokens.clone());
    for region in [US, EU] {
        regions
            .register(
                &operator(),
                RegisterRegion::new(region.into(), "http://127.0.0.1:1".into(), false).unwrap(),
            )
            .await
            .unwrap();
    }
    let security_hub = SecurityHub::open(changes.clone(), page_tokens.clone(), limits)
        .await
        .unwrap();
    let organizations = Organizations::new(changes.clone(), page_tokens);
    Fixture {
        _directory: directory,
        changes,
        security_hub,
        organizations,
    }
}

impl Fixture {
    async fn create_account(&self, account_id: &str, organization_id: &str) {
        self.organizations
            .create_account(
                &operator(),
                NewAccount::new(
                    account_id.into(),
                    format!("account {account_id}"),
                    String::new(),
                    organization_id.into(),
                )
                .unwrap(),
            )
            .await
            .unwrap();
    }

    async fn enable_hub(&self, account_id: &str, region: &str) {
        self.security_hub
            .enable_hub(
                &account(account_id),
                inputs::EnableHub::try_from(pb::EnableSecurityHubRequest {
                    region: region.into(),
                    ..Default::default()
                })
                .unwrap(),
            )
            .await
            .unwrap();
    }

    async fn create_members(
        &self,
        admin: &str,
        region: &str,
        members: &[&str],
    ) -> Result<Vec<String>, Error> {
        let input = inputs::CreateMembersInput::try_from(pb::CreateMembersRequest {
            region: region.into(),
            account_details: members
                .iter()
                .map(|member| pb::AccountDetails {
                    account_id: member.to_string(),
                    email: String::new(),
                })
                .collect(),
        })
        .unwrap();
        let unprocessed = self
            .security_hub
            .create_members(&account(admin), input)
            .await?;
        Ok(unprocessed
            .into_iter()
            .map(|account| account.account_id)
            .collect())
    }

    async fn invite(
        &self,
        admin: &str,
        region: &str,
        members: &[&str],
    ) -> Result<Vec<String>, Error> {
        let input = list(region, members);
        let unprocessed = self
            .security_hub
            .invite_members(&account(admin), input)
            .await?;
        Ok(unprocessed
            .into_iter()
            .map(|account| account.account_id)
            .collect())
    }

    async fn statuses(&self, admin: &str, region: &str) -> Vec<(String, MemberStatus)> {
        let (members, _) = self
            .security_hub
            .list_members(&account(admin), region, false, 0, "")
            .await
            .unwrap();
        members
            .into_iter()
            .map(|member| (member.account_id, member.status))
            .collect()
    }

    async fn accept(&self, member: &str, region: &str, admin: &str) {
        let (invitations, _) = self
            .security_hub
            .list_invitations(&account(member), region, 0, "")
            .await
            .unwrap();
        let invitation = invitations
            .into_iter()
            .find(|invitation| invitation.administrator_id == admin)
            .unwrap();
        self.security_hub
            .accept_invitation(
                &account(member),
                inputs::AcceptInvitation::new(
                    region.into(),
                    admin.into(),
                    invitation.invitation_id.unwrap(),
                )
                .unwrap(),
            )
            .await
            .unwrap();
    }
}

fn list(region: &str, account_ids: &[&str]) -> inputs::AccountList {
    inputs::AccountList::new(
        region.into(),
        account_ids.iter().map(|id| id.to_string()).collect(),
    )
    .unwrap()
}

fn assert_limit_exceeded<T: std::fmt::Debug>(result: Result<T, Error>) {
    match result {
        Err(Error::LimitExceeded { reason, .. }) => assert_eq!(reason, "LimitExceededException"),
        other => panic!("expected LimitExceededException, got {other:?}"),
    }
}

fn limits(members_per_administrator: u32, invitations_per_administrator: u32) -> SecurityHubLimits {
    SecurityHubLimits {
        members_per_administrator,
        invitations_per_administrator,
    }
}

#[tokio::test]
async fn the_members_limit_refuses_the_whole_call_and_writes_nothing() {
    let fixture = fixture(limits(2, 10)).await;
    for account_id in [ADMIN, "200000000001", "200000000002", "200000000003"] {
        fixture.create_account(account_id, "").await;
    }
    fixture.enable_hub(ADMIN, US).await;
    let head = fixture.changes.head();

    assert_limit_exceeded(
        fixture
            .create_members(ADMIN, US, &["200000000001", "200000000002", "200000000003"])
            .await,
    );
    assert!(fixture.statuses(ADMIN, US).await.is_empty());
    assert_eq!(
        fixture.changes.head(),
        head,
        "the refused call recorded nothing"
    );

    assert!(
        fixture
            .create_members(ADMIN, US, &["200000000001", "200000000002"])
            .await
            .unwrap()
            .is_empty()
    );
    assert_limit_exceeded(fixture.create_members(ADMIN, US, &["200000000003"]).await);
    // Unprocessed accounts take no slot: the call succeeds without adding anyone.
    assert_eq!(
        fixture
            .create_members(ADMIN, US, &["200000000001"])
            .await
            .unwrap(),
        ["200000000001"]
    );
    // The limit is per region.
    fixture.enable_hub(ADMIN, EU).await;
    assert!(
        fixture
            .create_members(ADMIN, EU, &["200000000003"])
            .await
            .unwrap()
            .is_empty()
    );

    // Deleting a member frees its slot.
    let unprocessed = fixture
        .security_hub
        .delete_members(&account(ADMIN), list(US, &["200000000002"]))
        .await
        .unwrap();
    assert!(unprocessed.is_empty());
    assert!(
        fixture
            .create_members(ADMIN, US, &["200000000003"])
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        fixture.statuses(ADMIN, US).await,
        [
            ("200000000001".to_string(), MemberStatus::Created),
            ("200000000003".to_string(), MemberStatus::Created),
        ]
    );
}

#[tokio::test]
async fn the_invitation_limit_counts_outstanding_invitations() {
    let fixture = fixture(limits(10, 1)).await;
    for account_id in [ADMIN, "200000000001", "200000000002"] {
        fixture.create_account(account_id, "").await;
    }
    fixture.enable_hub(ADMIN, US).await;
    fixture
        .create_members(ADMIN, US, &["200000000001", "200000000002"])
        .await
        .unwrap();

    assert_limit_exceeded(
        fixture
            .invite(ADMIN, US, &["200000000001", "200000000002"])
            .await,
    );
    assert_eq!(
        fixture.statuses(ADMIN, US).await,
        [
            ("200000000001".to_string(), MemberStatus::Created),
            ("200000000002".to_string(), MemberStatus::Created),
        ],
        "the refused call invited no one"
    );
    assert!(
        fixture
            .invite(ADMIN, US, &["200000000001"])
            .await
            .unwrap()
            .is_empty()
    );
    assert_limit_exceeded(fixture.invite(ADMIN, US, &["200000000002"]).await);

    // An answered invitation is no longer outstanding.
    fixture.enable_hub("200000000001", US).await;
    fixture.accept("200000000001", US, ADMIN).await;
    assert!(
        fixture
            .invite(ADMIN, US, &["200000000002"])
            .await
            .unwrap()
            .is_empty()
    );
    let declined = fixture
        .security_hub
        .decline_invitations(&account("200000000002"), list(US, &[ADMIN]))
        .await
        .unwrap();
    assert!(declined.is_empty());
    assert_eq!(
        fixture.statuses(ADMIN, US).await,
        [
            ("200000000001".to_string(), MemberStatus::Enabled),
            ("200000000002".to_string(), MemberStatus::Resigned),
        ]
    );
}

#[tokio::test]
async fn auto_enable_stops_at_the_configured_members_limit() {
    let fixture = fixture(limits(1, 10)).await;
    let management = "100000000000";
    fixture.create_account(management, "").await;
    let organization = fixture
        .organizations
        .create_organization(&operator(), management, FeatureSet::All)
        .await
        .unwrap();
    let organization_id = organization.organization_id;
    fixture.create_account(ADMIN, &organization_id).await;
    fixture
        .security_hub
        .enable_organization_admin(
            &account(management),
            inputs::AdminAccount::new(US.into(), ADMIN.into()).unwrap(),
        )
        .await
        .unwrap();
    fixture
        .security_hub
        .update_organization_configuration(
            &account(ADMIN),
            inputs::OrganizationConfigurationUpdate::try_from(
                pb::UpdateOrganizationConfigurationRequest {
                    region: US.into(),
                    auto_enable: true,
                    auto_enable_standards: 0,
                },
            )
            .unwrap(),
        )
        .await
        .unwrap();
    let configuration = fixture
        .security_hub
        .describe_organization_configuration(&account(ADMIN), US)
        .await
        .unwrap();
    assert!(configuration.auto_enable);
    assert!(!configuration.member_account_limit_reached);

    fixture
        .create_account("200000000001", &organization_id)
        .await;
    fixture
        .create_account("200000000002", &organization_id)
        .await;
    assert_eq!(
        fixture.statuses(ADMIN, US).await,
        [("200000000001".to_string(), MemberStatus::Enabled)],
        "the second account found the limit reached"
    );
    assert!(
        !hub_enabled(fixture.changes.db(), "200000000002", US)
            .await
            .unwrap()
    );
    let configuration = fixture
        .security_hub
        .describe_organization_configuration(&account(ADMIN), US)
        .await
        .unwrap();
    assert!(configuration.member_account_limit_reached);
}

#[tokio::test]
async fn resolver_helpers_read_hubs_and_relationships_per_region() {
    let fixture = fixture(SecurityHubLimits::default()).await;
    let member = "200000000001";
    let pending = "200000000002";
    for account_id in [ADMIN, member, pending] {
        fixture.create_account(account_id, "").await;
    }
    for region in [US, EU] {
        fixture.enable_hub(ADMIN, region).await;
    }
    fixture.enable_hub(member, US).await;
    fixture
        .create_members(ADMIN, US, &[member, pending])
        .await
        .unwrap();
    fixture.invite(ADMIN, US, &[member]).await.unwrap();
    fixture.accept(member, US, ADMIN).await;
    fixture.create_members(ADMIN, EU, &[member]).await.unwrap();

    let db = fixture.changes.db();
    assert!(hub_enabled(db, member, US).await.unwrap());
    assert!(!hub_enabled(db, member, EU).await.unwrap());
    assert!(!hub_enabled(db, pending, US).await.unwrap());
    assert_eq!(
        administrator_of(db, member, US).await.unwrap().as_deref(),
        Some(ADMIN)
    );
    assert_eq!(administrator_of(db, member, EU).await.unwrap(), None);
    assert_eq!(administrator_of(db, pending, US).await.unwrap(), None);
    assert!(is_member(db, member, US).await.unwrap());
    assert!(!is_member(db, member, EU).await.unwrap());
    assert!(!is_member(db, ADMIN, US).await.unwrap());

    let relationships: Vec<_> = member_relationships(db, ADMIN)
        .await
        .unwrap()
        .into_iter()
        .map(|relationship| {
            (
                relationship.member_id,
                relationship.region,
                relationship.status,
            )
        })
        .collect();
    assert_eq!(
        relationships,
        [
            (member.to_string(), EU.to_string(), MemberStatus::Created),
            (member.to_string(), US.to_string(), MemberStatus::Enabled),
            (pending.to_string(), US.to_string(), MemberStatus::Created),
        ]
    );
    assert!(member_relationships(db, member).await.unwrap().is_empty());

    // A deleted relationship is still reported, with its status.
    fixture
        .security_hub
        .delete_members(&account(ADMIN), list(US, &[pending]))
        .await
        .unwrap();
    let statuses: Vec<_> = member_relationships(db, ADMIN)
        .await
        .unwrap()
        .into_iter()
        .map(|relationship| relationship.status)
        .collect();
    assert_eq!(
        statuses,
        [
            MemberStatus::Created,
            MemberStatus::Enabled,
            MemberStatus::Deleted
        ]
    );
}
