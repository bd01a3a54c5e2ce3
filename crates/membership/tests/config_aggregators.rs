//! Config aggregator declarations and aggregation authorizations against a real database, on
//! SQLite and PostgreSQL: every rule of entitlement resolution and pending requests, with a clock
//! the tests move instead of sleeping.

// A panic in a test is a failed assertion with a location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use chrono::TimeDelta;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection};
use sea_orm_migration::MigratorTrait;
use tempfile::TempDir;
use tributary_membership::{
    Error,
    authorizations::{Authorizations, PutAuthorization, Tag},
    clock::ManualClock,
    config_aggregators::{
        AggregationSettings, ConfigAggregatorDeclaration, ConfigAggregators, DeclaredRegions,
        DeclaredSource,
    },
    entitlements::PairStatus,
    events::Changes,
    organizations::{AccountStatus, FeatureSet, NewAccount, Organizations},
    regions::{Regions, RegisterRegion},
    store::Migrator,
};
use tributary_runtime::{
    auth::{Caller, Principal},
    paging::PageTokens,
};

/// Which store a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backend {
    Sqlite,
    Postgres,
}

macro_rules! on_both_backends {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(super::Backend::Sqlite).await;
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(super::Backend::Postgres).await;
                }
            )+
        }
    };
}

on_both_backends!(
    an_authorization_made_before_the_declaration_authorizes_at_once,
    a_pending_request_is_shown_until_the_source_authorizes,
    a_declined_request_disappears_and_the_pair_is_declined,
    an_unanswered_request_expires_after_the_window,
    a_deleted_authorization_resolves_as_revoked_until_authorized_again,
    adding_an_account_again_restarts_its_window,
    all_regions_includes_a_region_registered_later,
    opt_in_regions_count_only_once_enabled,
    the_owner_needs_no_authorization,
    missing_and_suspended_accounts_are_not_enabled,
    organization_sources_follow_joins_and_leaves,
    organization_sources_check_the_owner_and_the_organization,
    an_owner_that_loses_its_role_gets_not_a_member_pairs,
    sources_cannot_switch_kind_and_limits_hold,
    withdrawing_removes_pairs_and_pending_requests,
    pending_requests_are_grouped_per_requester_and_paged,
    declarations_and_grants_hold_their_regions,
    revisions_follow_changes_and_rejected_calls_write_nothing,
);

const OWNER: &str = "111111111111";
const SOURCE: &str = "222222222222";
const OTHER: &str = "333333333333";
const HOME: &str = "us-east-1";
const EU: &str = "eu-west-1";

/// Membership's domain on a fresh database with a manual clock.
struct Fixture {
    clock: ManualClock,
    db: DatabaseConnection,
    changes: Changes,
    regions: Regions,
    directory: Organizations,
    aggregators: Arc<ConfigAggregators>,
    authorizations: Authorizations,
    _directory: TempDir,
    _postgres: Option<PostgresDatabase>,
}

async fn fixture(backend: Backend) -> Fixture {
    fixture_with(backend, AggregationSettings::default()).await
}

async fn fixture_with(backend: Backend, settings: AggregationSettings) -> Fixture {
    let directory = tempfile::tempdir().unwrap();
    let (url, postgres) = match backend {
        Backend::Sqlite => (
            tributary_runtime::db::sqlite_url(&directory.path().join("membership.db")),
            None,
        ),
        Backend::Postgres => {
            let database = PostgresDatabase::create().await;
            (database.url.clone(), Some(database))
        }
    };
    let db = tributary_runtime::db::connect(&url).await.unwrap();
    Migrator::up(&db, None).await.unwrap();
    let changes = Changes::new(db.clone()).await.unwrap();
    let page_tokens = PageTokens::new(b"test secret");
    let clock = ManualClock::new(tributary_runtime::time::now());
    let aggregators = Arc::new(ConfigAggregators::new(
        changes.clone(),
        settings,
        clock.clock(),
    ));
    let fixture = Fixture {
        regions: Regions::new(changes.clone(), page_tokens.clone()),
        directory: Organizations::new(changes.clone(), page_tokens.clone()),
        authorizations: Authorizations::new(
            changes.clone(),
            page_tokens,
            aggregators.clone(),
            clock.clock(),
        ),
        aggregators,
        clock,
        db,
        changes,
        _directory: directory,
        _postgres: postgres,
    };
    for region in [HOME, EU] {
        fixture.register_region(region, false).await;
    }
    for account in [OWNER, SOURCE, OTHER] {
        fixture.create_account(account, None).await;
    }
    fixture
}

fn operator() -> Caller {
    Caller {
        key_id: "operator".into(),
        principal: Principal::Operator,
    }
}

fn service() -> Caller {
    Caller {
        key_id: "service".into(),
        principal: Principal::Service {
            name: "tributary".into(),
        },
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

fn accounts_declaration(
    accounts: &[&str],
    regions: DeclaredRegions,
) -> ConfigAggregatorDeclaration {
    ConfigAggregatorDeclaration {
        owner_account_id: OWNER.into(),
        home_region: HOME.into(),
        aggregator_name: "main".into(),
        source: DeclaredSource::Accounts(accounts.iter().map(|id| id.to_string()).collect()),
        regions,
    }
}

fn listed(regions: &[&str]) -> DeclaredRegions {
    DeclaredRegions::Listed(regions.iter().map(|region| region.to_string()).collect())
}

fn organization_declaration(owner: &str) -> ConfigAggregatorDeclaration {
    ConfigAggregatorDeclaration {
        owner_account_id: owner.into(),
        home_region: HOME.into(),
        aggregator_name: "organization".into(),
        source: DeclaredSource::Organization,
        regions: DeclaredRegions::All,
    }
}

/// The AWS exception name of an error.
fn reason_of(error: &Error) -> &'static str {
    match error {
        Error::Runtime(tributary_runtime::Error::InvalidInput { reason, .. })
        | Error::Runtime(tributary_runtime::Error::PermissionDenied { reason, .. })
        | Error::NotFound { reason, .. }
        | Error::AlreadyExists { reason, .. }
        | Error::FailedPrecondition { reason, .. }
        | Error::PermissionDenied { reason, .. }
        | Error::LimitExceeded { reason, .. } => reason,
        other => panic!("unexpected error {other:?}"),
    }
}

fn violated_fields(error: &Error) -> Vec<String> {
    match error {
        Error::Runtime(tributary_runtime::Error::InvalidInput { violations, .. }) => violations
            .iter()
            .map(|violation| violation.field.clone())
            .collect(),
        other => panic!("expected invalid input, got {other:?}"),
    }
}

impl Fixture {
    async fn register_region(&self, name: &str, opt_in: bool) {
        self.regions
            .register(
                &operator(),
                RegisterRegion::new(name.into(), "http://127.0.0.1:1".into(), opt_in).unwrap(),
            )
            .await
            .unwrap();
    }

    async fn create_account(&self, account_id: &str, organization_id: Option<&str>) {
        self.directory
            .create_account(
                &operator(),
                NewAccount::new(
                    account_id.into(),
                    format!("account {account_id}"),
                    String::new(),
                    organization_id.unwrap_or_default().into(),
                )
                .unwrap(),
            )
            .await
            .unwrap();
    }

    async fn declare(&self, declaration: ConfigAggregatorDeclaration) -> u64 {
        self.aggregators
            .declare(&service(), declaration)
            .await
            .unwrap()
    }

    /// The status of every pair of aggregator `name` of `owner`, as (account, region, status).
    async fn statuses(&self, owner: &str, name: &str) -> Vec<(String, String, PairStatus)> {
        let (pairs, _) = self.aggregators.resolve(owner, HOME, name).await.unwrap();
        pairs
            .into_iter()
            .map(|pair| (pair.account_id, pair.region, pair.status))
            .collect()
    }

    async fn status_of(&self, account_id: &str, region: &str) -> PairStatus {
        self.statuses(OWNER, "main")
            .await
            .into_iter()
            .find(|(account, pair_region, _)| account == account_id && pair_region == region)
            .map(|(_, _, status)| status)
            .unwrap_or_else(|| panic!("no pair for {account_id} in {region}"))
    }

    async fn authorize(&self, source: &str, region: &str) {
        self.authorizations
            .put(
                &account(source),
                PutAuthorization {
                    region: region.into(),
                    authorized_account_id: OWNER.into(),
                    authorized_region: HOME.into(),
                    tags: Vec::new(),
                },
            )
            .await
            .unwrap();
    }

    /// The requesters pending for `source` in `region`, as (account, region).
    async fn pending(&self, source: &str, region: &str) -> Vec<(String, String)> {
        let (requests, next) = self
            .authorizations
            .describe_pending(&account(source), region, 0, "")
            .await
            .unwrap();
        assert!(next.is_empty());
        requests
            .into_iter()
            .map(|request| (request.requester_account_id, request.requester_region))
            .collect()
    }

    async fn create_organization(&self, management: &str, feature_set: FeatureSet) -> String {
        self.directory
            .create_organization(&operator(), management, feature_set)
            .await
            .unwrap()
            .organization_id
    }

    async fn event_kinds(&self) -> Vec<&'static str> {
        self.changes
            .read(0, 10_000)
            .await
            .unwrap()
            .into_iter()
            .map(|event| event.kind)
            .collect()
    }

    async fn count(&self, table: &str) -> i64 {
        let row = self
            .db
            .query_one_raw(sea_orm::Statement::from_string(
                self.db.get_database_backend(),
                format!("SELECT COUNT(*) AS n FROM {table}"),
            ))
            .await
            .unwrap()
            .unwrap();
        row.try_get::<i64>("", "n").unwrap()
    }
}

fn requester() -> (String, String) {
    (OWNER.to_string(), HOME.to_string())
}

async fn an_authorization_made_before_the_declaration_authorizes_at_once(backend: Backend) {
    let fixture = fixture(backend).await;
    fixture.authorize(SOURCE, EU).await;
    fixture
        .declare(accounts_declaration(&[SOURCE], listed(&[HOME, EU])))
        .await;
    assert_eq!(fixture.status_of(SOURCE, EU).await, PairStatus::Authorized);
    // The grant is per source region: the other region still waits.
    assert_eq!(fixture.status_of(SOURCE, HOME).await, PairStatus::Pending);
    assert_eq!(fixture.pending(SOURCE, EU).await, []);
    assert_eq!(fixture.pending(SOURCE, HOME).await, [requester()]);
}

async fn a_pending_request_is_shown_until_the_source_authorizes(backend: Backend) {
    let fixture = fixture(backend).await;
    fixture
        .declare(accounts_declaration(&[SOURCE], listed(&[EU])))
        .await;
    assert_eq!(fixture.status_of(SOURCE, EU).await, PairStatus::Pending);
    let (requests, _) = fixture
        .authorizations
        .describe_pending(&account(SOURCE), EU, 0, "")
        .await
        .unwrap();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].requester_account_id, OWNER);
    assert_eq!(requests[0].requester_region, HOME);
    assert_eq!(requests[0].requested_at, fixture.clock.now());
    assert_eq!(
        requests[0].expires_at,
        fixture.clock.now() + TimeDelta::days(7)
    );
    // Not shown in a region the aggregator does not cover, nor to accounts it does not list.
    assert_eq!(fixture.pending(SOURCE, HOME).await, []);
    assert_eq!(fixture.pending(OTHER, EU).await, []);

    fixture.clock.advance(TimeDelta::days(6));
    fixture.authorize(SOURCE, EU).await;
    assert_eq!(fixture.status_of(SOURCE, EU).await, PairStatus::Authorized);
    assert_eq!(fixture.pending(SOURCE, EU).await, []);
    // Authorized pairs stay authorized after the window.
    fixture.clock.advance(TimeDelta::days(30));
    assert_eq!(fixture.status_of(SOURCE, EU).await, PairStatus::Authorized);
}

async fn a_declined_request_disappears_and_the_pair_is_declined(backend: Backend) {
    let fixture = fixture(backend).await;
    fixture
        .declare(accounts_declaration(&[SOURCE], listed(&[HOME, EU])))
        .await;
    fixture.clock.advance(TimeDelta::hours(1));
    fixture
        .authorizations
        .decline(&account(SOURCE), EU, OWNER, HOME)
        .await
        .unwrap();
    assert_eq!(fixture.status_of(SOURCE, EU).await, PairStatus::Declined);
    assert_eq!(fixture.pending(SOURCE, EU).await, []);
    // The decline is per region.
    assert_eq!(fixture.status_of(SOURCE, HOME).await, PairStatus::Pending);
    // Declining a request that is not pending changes nothing.
    let before = fixture.changes.head();
    fixture
        .authorizations
        .decline(&account(OTHER), EU, OWNER, HOME)
        .await
        .unwrap();
    fixture
        .authorizations
        .decline(&account(SOURCE), EU, OWNER, HOME)
        .await
        .unwrap();
    assert_eq!(fixture.changes.head(), before);
    assert_eq!(fixture.count("aggregation_request_declines").await, 1);
    // A decline stays after the window, and authorizing later clears it.
    fixture.clock.advance(TimeDelta::days(10));
    assert_eq!(fixture.status_of(SOURCE, EU).await, PairStatus::Declined);
    fixture.authorize(SOURCE, EU).await;
    assert_eq!(fixture.status_of(SOURCE, EU).await, PairStatus::Authorized);
    assert_eq!(fixture.count("aggregation_request_declines").await, 0);
}

async fn an_unanswered_request_expires_after_the_window(backend: Backend) {
    let settings = AggregationSettings {
        pending_request_ttl: TimeDelta::hours(2),
        ..AggregationSettings::default()
    };
    let fixture = fixture_with(backend, settings).await;
    fixture
        .declare(accounts_declaration(&[SOURCE], listed(&[EU])))
        .await;
    fixture
        .clock
        .advance(TimeDelta::hours(2) - TimeDelta::microseconds(1));
    assert_eq!(fixture.status_of(SOURCE, EU).await, PairStatus::Pending);
    assert_eq!(fixture.pending(SOURCE, EU).await, [requester()]);
    fixture.clock.advance(TimeDelta::microseconds(1));
    assert_eq!(fixture.status_of(SOURCE, EU).await, PairStatus::Expired);
    assert_eq!(fixture.pending(SOURCE, EU).await, []);
    // An expired request cannot be declined any more (nothing is pending) ...
    fixture
        .authorizations
        .decline(&account(SOURCE), EU, OWNER, HOME)
        .await
        .unwrap();
    assert_eq!(fixture.status_of(SOURCE, EU).await, PairStatus::Expired);
    // ... but the source may still authorize.
    fixture.authorize(SOURCE, EU).await;
    assert_eq!(fixture.status_of(SOURCE, EU).await, PairStatus::Authorized);
}

async fn a_deleted_authorization_resolves_as_revoked_until_authorized_again(backend: Backend) {
    let fixture = fixture(backend).await;
    fixture
        .declare(accounts_declaration(&[SOURCE], listed(&[EU])))
        .await;
    fixture.authorize(SOURCE, EU).await;
    let (first, _) = fixture
        .authorizations
        .describe(&account(SOURCE), EU, 0, "")
        .await
        .unwrap();
    fixture.clock.advance(TimeDelta::minutes(1));
    fixture
        .authorizations
        .delete(&account(SOURCE), EU, OWNER, HOME)
        .await
        .unwrap();
    assert_eq!(fixture.status_of(SOURCE, EU).await, PairStatus::Revoked);
    assert_eq!(fixture.pending(SOURCE, EU).await, []);
    let (listed_after, _) = fixture
        .authorizations
        .describe(&account(SOURCE), EU, 0, "")
        .await
        .unwrap();
    assert!(listed_after.is_empty());
    // Deleting again is a silent no-op.
    let head = fixture.changes.head();
    fixture
        .authorizations
        .delete(&account(SOURCE), EU, OWNER, HOME)
        .await
        .unwrap();
    assert_eq!(fixture.changes.head(), head);
    // Still revoked long after, until authorized again (with a new creation time).
    fixture.clock.advance(TimeDelta::days(30));
    assert_eq!(fixture.status_of(SOURCE, EU).await, PairStatus::Revoked);
    fixture.authorize(SOURCE, EU).await;
    assert_eq!(fixture.status_of(SOURCE, EU).await, PairStatus::Authorized);
    let (second, _) = fixture
        .authorizations
        .describe(&account(SOURCE), EU, 0, "")
        .await
        .unwrap();
    assert_eq!(second[0].arn, first[0].arn);
    assert!(second[0].created_at > first[0].created_at);
}

async fn adding_an_account_again_restarts_its_window(backend: Backend) {
    let fixture = fixture(backend).await;
    fixture
        .declare(accounts_declaration(&[SOURCE, OTHER], listed(&[EU])))
        .await;
    fixture.clock.advance(TimeDelta::hours(1));
    fixture
        .authorizations
        .decline(&account(SOURCE), EU, OWNER, HOME)
        .await
        .unwrap();
    fixture.clock.advance(TimeDelta::days(8));
    assert_eq!(fixture.status_of(SOURCE, EU).await, PairStatus::Declined);
    assert_eq!(fixture.status_of(OTHER, EU).await, PairStatus::Expired);
    // Keeping an account listed keeps its window.
    fixture
        .declare(accounts_declaration(&[SOURCE, OTHER], listed(&[EU])))
        .await;
    assert_eq!(fixture.status_of(OTHER, EU).await, PairStatus::Expired);
    // Dropping and adding them again makes a new request with a new window.
    fixture
        .declare(accounts_declaration(&[OWNER], listed(&[EU])))
        .await;
    assert_eq!(fixture.pending(SOURCE, EU).await, []);
    fixture.clock.advance(TimeDelta::seconds(1));
    fixture
        .declare(accounts_declaration(&[SOURCE, OTHER], listed(&[EU])))
        .await;
    assert_eq!(fixture.status_of(SOURCE, EU).await, PairStatus::Pending);
    assert_eq!(fixture.status_of(OTHER, EU).await, PairStatus::Pending);
    let (requests, _) = fixture
        .authorizations
        .describe_pending(&account(SOURCE), EU, 0, "")
        .await
        .unwrap();
    assert_eq!(requests[0].requested_at, fixture.clock.now());
    // A revocation before the account was added again does not count either.
    fixture.authorize(OTHER, EU).await;
    fixture.clock.advance(TimeDelta::seconds(1));
    fixture
        .authorizations
        .delete(&account(OTHER), EU, OWNER, HOME)
        .await
        .unwrap();
    assert_eq!(fixture.status_of(OTHER, EU).await, PairStatus::Revoked);
    fixture
        .declare(accounts_declaration(&[SOURCE], listed(&[EU])))
        .await;
    fixture.clock.advance(TimeDelta::seconds(1));
    fixture
        .declare(accounts_declaration(&[SOURCE, OTHER], listed(&[EU])))
        .await;
    assert_eq!(fixture.status_of(OTHER, EU).await, PairStatus::Pending);
}

async fn all_regions_includes_a_region_registered_later(backend: Backend) {
    let fixture = fixture(backend).await;
    fixture
        .declare(accounts_declaration(&[SOURCE], DeclaredRegions::All))
        .await;
    let regions: Vec<String> = fixture
        .statuses(OWNER, "main")
        .await
        .into_iter()
        .map(|(_, region, _)| region)
        .collect();
    assert_eq!(regions, [EU, HOME]);
    fixture.register_region("ap-southeast-2", false).await;
    let regions: Vec<String> = fixture
        .statuses(OWNER, "main")
        .await
        .into_iter()
        .map(|(_, region, _)| region)
        .collect();
    assert_eq!(regions, ["ap-southeast-2", EU, HOME]);
    assert_eq!(
        fixture.status_of(SOURCE, "ap-southeast-2").await,
        PairStatus::Pending
    );
    assert_eq!(
        fixture.pending(SOURCE, "ap-southeast-2").await,
        [requester()]
    );
    // "All regions" does not hold a region: it can still be deregistered.
    fixture
        .regions
        .deregister(&operator(), "ap-southeast-2")
        .await
        .unwrap();
    assert_eq!(fixture.statuses(OWNER, "main").await.len(), 2);
}

async fn opt_in_regions_count_only_once_enabled(backend: Backend) {
    let fixture = fixture(backend).await;
    fixture.register_region("af-south-1", true).await;
    fixture
        .declare(accounts_declaration(
            &[OWNER, SOURCE],
            listed(&["af-south-1"]),
        ))
        .await;
    fixture.authorize(SOURCE, "af-south-1").await;
    let (pairs, _) = fixture
        .aggregators
        .resolve(OWNER, HOME, "main")
        .await
        .unwrap();
    for pair in &pairs {
        assert_eq!(pair.status, PairStatus::NotEnabled, "{pair:?}");
        assert!(pair.reason.contains("opt-in region af-south-1"), "{pair:?}");
    }
    fixture
        .regions
        .enable_for_account(&operator(), SOURCE, "af-south-1")
        .await
        .unwrap();
    assert_eq!(
        fixture.status_of(SOURCE, "af-south-1").await,
        PairStatus::Authorized
    );
    assert_eq!(
        fixture.status_of(OWNER, "af-south-1").await,
        PairStatus::NotEnabled
    );
}

async fn the_owner_needs_no_authorization(backend: Backend) {
    let fixture = fixture(backend).await;
    fixture
        .declare(accounts_declaration(&[OWNER, SOURCE], DeclaredRegions::All))
        .await;
    fixture.clock.advance(TimeDelta::days(30));
    assert_eq!(fixture.status_of(OWNER, EU).await, PairStatus::Authorized);
    assert_eq!(fixture.status_of(OWNER, HOME).await, PairStatus::Authorized);
    assert_eq!(fixture.status_of(SOURCE, EU).await, PairStatus::Expired);
    // The owner is never asked.
    assert_eq!(fixture.pending(OWNER, EU).await, []);
}

async fn missing_and_suspended_accounts_are_not_enabled(backend: Backend) {
    let fixture = fixture(backend).await;
    let unknown = "444444444444";
    fixture
        .declare(accounts_declaration(&[SOURCE, unknown], listed(&[EU])))
        .await;
    fixture.authorize(SOURCE, EU).await;
    let (pairs, _) = fixture
        .aggregators
        .resolve(OWNER, HOME, "main")
        .await
        .unwrap();
    assert_eq!(pairs[1].account_id, unknown);
    assert_eq!(pairs[1].status, PairStatus::NotEnabled);
    assert!(pairs[1].reason.contains("does not exist"));
    // A source the directory does not know sees no request.
    assert_eq!(fixture.pending(unknown, EU).await, []);

    fixture
        .directory
        .set_status(&operator(), SOURCE, AccountStatus::Suspended)
        .await
        .unwrap();
    assert_eq!(fixture.status_of(SOURCE, EU).await, PairStatus::NotEnabled);
    fixture
        .directory
        .set_status(&operator(), SOURCE, AccountStatus::Active)
        .await
        .unwrap();
    assert_eq!(fixture.status_of(SOURCE, EU).await, PairStatus::Authorized);
}

async fn organization_sources_follow_joins_and_leaves(backend: Backend) {
    let fixture = fixture(backend).await;
    let organization_id = fixture.create_organization(OWNER, FeatureSet::All).await;
    fixture
        .directory
        .add_account(&operator(), &organization_id, SOURCE)
        .await
        .unwrap();
    fixture.declare(organization_declaration(OWNER)).await;
    // Declaring as the management account enables trusted access for Config.
    let access = fixture
        .directory
        .list_service_access(&operator(), &organization_id)
        .await
        .unwrap();
    assert_eq!(access[0].service_principal, "config.amazonaws.com");
    assert!(
        fixture
            .event_kinds()
            .await
            .contains(&"organization.service_access_enabled")
    );
    let statuses = fixture.statuses(OWNER, "organization").await;
    assert_eq!(
        statuses,
        [
            (OWNER.into(), EU.into(), PairStatus::Authorized),
            (OWNER.into(), HOME.into(), PairStatus::Authorized),
            (SOURCE.into(), EU.into(), PairStatus::Authorized),
            (SOURCE.into(), HOME.into(), PairStatus::Authorized),
        ]
    );
    // No authorization is involved, so nothing is pending for members.
    assert_eq!(fixture.pending(SOURCE, EU).await, []);

    fixture
        .directory
        .add_account(&operator(), &organization_id, OTHER)
        .await
        .unwrap();
    fixture
        .directory
        .remove_account(&operator(), &organization_id, SOURCE)
        .await
        .unwrap();
    let accounts: Vec<String> = fixture
        .statuses(OWNER, "organization")
        .await
        .into_iter()
        .map(|(account, _, _)| account)
        .collect();
    assert_eq!(accounts, [OWNER, OWNER, OTHER, OTHER]);
    fixture
        .directory
        .set_status(&operator(), OTHER, AccountStatus::Suspended)
        .await
        .unwrap();
    let statuses = fixture.statuses(OWNER, "organization").await;
    assert_eq!(statuses[2].2, PairStatus::NotEnabled);
}

async fn organization_sources_check_the_owner_and_the_organization(backend: Backend) {
    let fixture = fixture(backend).await;
    // Not in an organization.
    let error = fixture
        .aggregators
        .declare(&service(), organization_declaration(OWNER))
        .await
        .unwrap_err();
    assert_eq!(reason_of(&error), "NoAvailableOrganizationException");
    let error = fixture
        .aggregators
        .declare(&service(), organization_declaration("555555555555"))
        .await
        .unwrap_err();
    assert_eq!(reason_of(&error), "NoAvailableOrganizationException");

    // A member that is not a delegated administrator.
    let organization_id = fixture.create_organization(OWNER, FeatureSet::All).await;
    fixture
        .directory
        .add_account(&operator(), &organization_id, SOURCE)
        .await
        .unwrap();
    let error = fixture
        .aggregators
        .declare(&service(), organization_declaration(SOURCE))
        .await
        .unwrap_err();
    assert!(matches!(error, Error::PermissionDenied { .. }));
    assert_eq!(reason_of(&error), "OrganizationAccessDeniedException");

    // A delegated administrator for another service does not count; for Config it needs trusted
    // access, which only the management account turns on.
    fixture
        .directory
        .register_delegated_administrator(
            &operator(),
            &organization_id,
            SOURCE,
            "securityhub.amazonaws.com",
        )
        .await
        .unwrap();
    let error = fixture
        .aggregators
        .declare(&service(), organization_declaration(SOURCE))
        .await
        .unwrap_err();
    assert_eq!(reason_of(&error), "OrganizationAccessDeniedException");
    fixture
        .directory
        .register_delegated_administrator(
            &operator(),
            &organization_id,
            SOURCE,
            "config.amazonaws.com",
        )
        .await
        .unwrap();
    let error = fixture
        .aggregators
        .declare(&service(), organization_declaration(SOURCE))
        .await
        .unwrap_err();
    assert_eq!(reason_of(&error), "OrganizationAccessDeniedException");
    assert!(error.to_string().contains("trusted access"), "{error}");
    fixture
        .directory
        .set_service_access(&operator(), &organization_id, "config.amazonaws.com", true)
        .await
        .unwrap();
    fixture.declare(organization_declaration(SOURCE)).await;
    assert_eq!(fixture.statuses(SOURCE, "organization").await.len(), 4);

    // Consolidated billing only.
    let billing_only = fixture
        .create_organization(OTHER, FeatureSet::ConsolidatedBilling)
        .await;
    let error = fixture
        .aggregators
        .declare(&service(), organization_declaration(OTHER))
        .await
        .unwrap_err();
    assert!(matches!(error, Error::FailedPrecondition { .. }));
    assert_eq!(
        reason_of(&error),
        "OrganizationAllFeaturesNotEnabledException"
    );
    assert!(
        fixture
            .directory
            .list_service_access(&operator(), &billing_only)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn an_owner_that_loses_its_role_gets_not_a_member_pairs(backend: Backend) {
    let fixture = fixture(backend).await;
    let organization_id = fixture.create_organization(OWNER, FeatureSet::All).await;
    fixture
        .directory
        .add_account(&operator(), &organization_id, SOURCE)
        .await
        .unwrap();
    fixture
        .directory
        .register_delegated_administrator(
            &operator(),
            &organization_id,
            SOURCE,
            "config.amazonaws.com",
        )
        .await
        .unwrap();
    fixture
        .directory
        .set_service_access(&operator(), &organization_id, "config.amazonaws.com", true)
        .await
        .unwrap();
    fixture.declare(organization_declaration(SOURCE)).await;
    assert!(
        fixture
            .statuses(SOURCE, "organization")
            .await
            .iter()
            .all(|(_, _, status)| *status == PairStatus::Authorized)
    );

    fixture
        .directory
        .deregister_delegated_administrator(
            &operator(),
            &organization_id,
            SOURCE,
            "config.amazonaws.com",
        )
        .await
        .unwrap();
    let (pairs, _) = fixture
        .aggregators
        .resolve(SOURCE, HOME, "organization")
        .await
        .unwrap();
    assert_eq!(pairs.len(), 4);
    for pair in &pairs {
        assert_eq!(pair.status, PairStatus::NotAMember);
        assert!(pair.reason.contains("delegated administrator"), "{pair:?}");
    }

    // Restored standing restores the pairs; disabling trusted access takes them away again.
    fixture
        .directory
        .register_delegated_administrator(
            &operator(),
            &organization_id,
            SOURCE,
            "config.amazonaws.com",
        )
        .await
        .unwrap();
    assert!(
        fixture
            .statuses(SOURCE, "organization")
            .await
            .iter()
            .all(|(_, _, status)| *status == PairStatus::Authorized)
    );
    fixture
        .directory
        .set_service_access(&operator(), &organization_id, "config.amazonaws.com", false)
        .await
        .unwrap();
    let (pairs, _) = fixture
        .aggregators
        .resolve(SOURCE, HOME, "organization")
        .await
        .unwrap();
    assert!(pairs.iter().all(
        |pair| pair.status == PairStatus::NotAMember && pair.reason.contains("trusted access")
    ));

    // An owner that left the organization cannot re-declare it either.
    fixture
        .directory
        .set_service_access(&operator(), &organization_id, "config.amazonaws.com", true)
        .await
        .unwrap();
    fixture
        .directory
        .remove_account(&operator(), &organization_id, SOURCE)
        .await
        .unwrap();
    let (pairs, _) = fixture
        .aggregators
        .resolve(SOURCE, HOME, "organization")
        .await
        .unwrap();
    assert!(
        pairs
            .iter()
            .all(|pair| pair.status == PairStatus::NotAMember
                && pair.reason.contains("no longer in organization"))
    );
    let other_organization = fixture.create_organization(SOURCE, FeatureSet::All).await;
    let error = fixture
        .aggregators
        .declare(&service(), organization_declaration(SOURCE))
        .await
        .unwrap_err();
    assert_eq!(reason_of(&error), "OrganizationAccessDeniedException");
    assert!(error.to_string().contains(&other_organization), "{error}");
}

async fn sources_cannot_switch_kind_and_limits_hold(backend: Backend) {
    let settings = AggregationSettings {
        max_accounts_per_aggregator: 2,
        ..AggregationSettings::default()
    };
    let fixture = fixture_with(backend, settings).await;
    let error = fixture
        .aggregators
        .declare(
            &service(),
            accounts_declaration(&[OWNER, SOURCE, OTHER], listed(&[EU])),
        )
        .await
        .unwrap_err();
    assert!(matches!(error, Error::LimitExceeded { .. }));
    assert_eq!(reason_of(&error), "LimitExceededException");
    assert_eq!(fixture.count("config_aggregator_declarations").await, 0);

    fixture
        .declare(accounts_declaration(&[SOURCE], listed(&[EU])))
        .await;
    fixture.create_organization(OWNER, FeatureSet::All).await;
    let mut switched = organization_declaration(OWNER);
    switched.aggregator_name = "main".into();
    let error = fixture
        .aggregators
        .declare(&service(), switched)
        .await
        .unwrap_err();
    assert_eq!(reason_of(&error), "InvalidParameterValueException");
    assert_eq!(violated_fields(&error), ["declaration.organization_source"]);
    assert_eq!(fixture.status_of(SOURCE, EU).await, PairStatus::Pending);

    // Only services and operators declare, withdraw and (through the adapter) resolve.
    let error = fixture
        .aggregators
        .declare(
            &account(OWNER),
            accounts_declaration(&[SOURCE], listed(&[EU])),
        )
        .await
        .unwrap_err();
    assert_eq!(reason_of(&error), "AccessDeniedException");
    let error = fixture
        .aggregators
        .withdraw(&account(OWNER), OWNER, HOME, "main")
        .await
        .unwrap_err();
    assert_eq!(reason_of(&error), "AccessDeniedException");
    fixture
        .aggregators
        .declare(
            &operator(),
            accounts_declaration(&[SOURCE, OTHER], listed(&[EU])),
        )
        .await
        .unwrap();
}

async fn withdrawing_removes_pairs_and_pending_requests(backend: Backend) {
    let fixture = fixture(backend).await;
    fixture
        .declare(accounts_declaration(&[SOURCE], listed(&[EU])))
        .await;
    assert_eq!(fixture.pending(SOURCE, EU).await, [requester()]);
    fixture
        .aggregators
        .withdraw(&service(), OWNER, HOME, "main")
        .await
        .unwrap();
    assert_eq!(fixture.pending(SOURCE, EU).await, []);
    let error = fixture
        .aggregators
        .resolve(OWNER, HOME, "main")
        .await
        .unwrap_err();
    assert!(matches!(error, Error::NotFound { .. }));
    assert_eq!(reason_of(&error), "NoSuchConfigurationAggregatorException");
    assert_eq!(fixture.count("config_aggregator_accounts").await, 0);
    assert_eq!(fixture.count("config_aggregator_regions").await, 0);
    // Withdrawing again is a no-op that records nothing.
    let head = fixture.changes.head();
    fixture
        .aggregators
        .withdraw(&service(), OWNER, HOME, "main")
        .await
        .unwrap();
    assert_eq!(fixture.changes.head(), head);
    let error = fixture
        .aggregators
        .withdraw(&service(), "1", "nowhere", "bad name")
        .await
        .unwrap_err();
    assert_eq!(
        violated_fields(&error),
        ["owner_account_id", "home_region", "aggregator_name"]
    );
    let error = fixture
        .aggregators
        .resolve("1", HOME, "main")
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&error), ["owner_account_id"]);
}

async fn pending_requests_are_grouped_per_requester_and_paged(backend: Backend) {
    let fixture = fixture(backend).await;
    let first_added = fixture.clock.now();
    fixture
        .declare(accounts_declaration(&[SOURCE], listed(&[EU])))
        .await;
    fixture.clock.advance(TimeDelta::hours(1));
    let mut second = accounts_declaration(&[SOURCE], DeclaredRegions::All);
    second.aggregator_name = "second".into();
    fixture.declare(second).await;
    // Another owner, and the same owner in another home region.
    let mut other_owner = accounts_declaration(&[SOURCE], listed(&[EU]));
    other_owner.owner_account_id = OTHER.into();
    fixture.declare(other_owner).await;
    let mut other_home = accounts_declaration(&[SOURCE], listed(&[EU]));
    other_home.home_region = EU.into();
    fixture.declare(other_home).await;

    let (requests, _) = fixture
        .authorizations
        .describe_pending(&account(SOURCE), EU, 0, "")
        .await
        .unwrap();
    let requesters: Vec<(String, String)> = requests
        .iter()
        .map(|request| {
            (
                request.requester_account_id.clone(),
                request.requester_region.clone(),
            )
        })
        .collect();
    assert_eq!(
        requesters,
        [
            (OWNER.into(), EU.into()),
            (OWNER.into(), HOME.into()),
            (OTHER.into(), HOME.into()),
        ]
    );
    // Two aggregators of one requester make one request spanning both windows.
    assert_eq!(requests[1].requested_at, first_added);
    assert_eq!(
        requests[1].expires_at,
        first_added + TimeDelta::hours(1) + TimeDelta::days(7)
    );

    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let (page, next) = fixture
            .authorizations
            .describe_pending(&account(SOURCE), EU, 2, &token)
            .await
            .unwrap();
        assert!(page.len() <= 2);
        seen.extend(page.into_iter().map(|request| request.requester_account_id));
        if next.is_empty() {
            break;
        }
        token = next;
    }
    assert_eq!(seen, [OWNER, OWNER, OTHER]);
    let error = fixture
        .authorizations
        .describe_pending(
            &account(SOURCE),
            HOME,
            2,
            &token_for_other_region(&fixture).await,
        )
        .await
        .unwrap_err();
    assert_eq!(reason_of(&error), "InvalidNextTokenException");
    let error = fixture
        .authorizations
        .describe_pending(&account(SOURCE), EU, 21, "")
        .await
        .unwrap_err();
    assert_eq!(reason_of(&error), "InvalidLimitException");
}

/// A valid page token of the EU listing, which the HOME listing must refuse.
async fn token_for_other_region(fixture: &Fixture) -> String {
    let (_, next) = fixture
        .authorizations
        .describe_pending(&account(SOURCE), EU, 1, "")
        .await
        .unwrap();
    assert!(!next.is_empty());
    next
}

async fn declarations_and_grants_hold_their_regions(backend: Backend) {
    let fixture = fixture(backend).await;
    fixture.register_region("ap-southeast-2", false).await;
    fixture.register_region("sa-east-1", false).await;
    fixture.register_region("ca-central-1", false).await;
    let mut declaration = accounts_declaration(&[SOURCE], listed(&["ap-southeast-2"]));
    declaration.home_region = "sa-east-1".into();
    fixture.declare(declaration).await;
    fixture
        .authorizations
        .put(
            &account(SOURCE),
            PutAuthorization {
                region: "ca-central-1".into(),
                authorized_account_id: OWNER.into(),
                authorized_region: HOME.into(),
                tags: vec![Tag {
                    key: "team".into(),
                    value: "audit".into(),
                }],
            },
        )
        .await
        .unwrap();
    for (region, expected) in [
        ("ap-southeast-2", "list it"),
        ("sa-east-1", "live in it"),
        ("ca-central-1", "aggregation authorization"),
    ] {
        let error = fixture
            .regions
            .deregister(&operator(), region)
            .await
            .unwrap_err();
        assert_eq!(reason_of(&error), "ResourceInUseException", "{region}");
        assert!(error.to_string().contains(expected), "{region}: {error}");
    }
    // Released regions can go; a revoked grant does not hold its region.
    fixture
        .authorizations
        .delete(&account(SOURCE), "ca-central-1", OWNER, HOME)
        .await
        .unwrap();
    fixture
        .regions
        .deregister(&operator(), "ca-central-1")
        .await
        .unwrap();
    fixture
        .aggregators
        .withdraw(&service(), OWNER, "sa-east-1", "main")
        .await
        .unwrap();
    fixture
        .regions
        .deregister(&operator(), "ap-southeast-2")
        .await
        .unwrap();
    fixture
        .regions
        .deregister(&operator(), "sa-east-1")
        .await
        .unwrap();
    // Declarations must name registered regions.
    let mut unknown = accounts_declaration(&[SOURCE], listed(&[EU, "me-south-1"]));
    unknown.home_region = "sa-east-1".into();
    let error = fixture
        .aggregators
        .declare(&service(), unknown)
        .await
        .unwrap_err();
    assert_eq!(
        violated_fields(&error),
        ["declaration.home_region", "declaration.regions[1]"]
    );
}

async fn revisions_follow_changes_and_rejected_calls_write_nothing(backend: Backend) {
    let fixture = fixture(backend).await;
    let declared = fixture
        .declare(accounts_declaration(&[SOURCE], listed(&[EU])))
        .await;
    assert_eq!(declared, fixture.changes.head());
    let (_, resolved_at) = fixture
        .aggregators
        .resolve(OWNER, HOME, "main")
        .await
        .unwrap();
    assert_eq!(resolved_at, declared);
    // An identical declaration changes nothing.
    let again = fixture
        .declare(accounts_declaration(&[SOURCE], listed(&[EU])))
        .await;
    assert_eq!(again, declared);
    fixture.authorize(SOURCE, EU).await;
    let (_, resolved_at) = fixture
        .aggregators
        .resolve(OWNER, HOME, "main")
        .await
        .unwrap();
    assert_eq!(resolved_at, declared + 1);
    // Putting the same authorization again records nothing.
    fixture.authorize(SOURCE, EU).await;
    assert_eq!(fixture.changes.head(), declared + 1);
    let kinds = fixture.event_kinds().await;
    assert_eq!(
        &kinds[kinds.len() - 2..],
        ["config_aggregator.declared", "authorization.put"]
    );

    let before = (
        fixture.changes.head(),
        fixture.count("aggregation_authorizations").await,
        fixture.count("aggregation_authorization_tags").await,
    );
    let error = fixture
        .authorizations
        .put(
            &account(SOURCE),
            PutAuthorization {
                region: "me-south-1".into(),
                authorized_account_id: OWNER.into(),
                authorized_region: "me-central-1".into(),
                tags: vec![Tag {
                    key: "k".into(),
                    value: "v".into(),
                }],
            },
        )
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&error), ["region", "authorized_aws_region"]);
    let error = fixture
        .authorizations
        .put(
            &operator(),
            PutAuthorization {
                region: EU.into(),
                authorized_account_id: OWNER.into(),
                authorized_region: HOME.into(),
                tags: Vec::new(),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(reason_of(&error), "AccessDeniedException");
    assert_eq!(
        before,
        (
            fixture.changes.head(),
            fixture.count("aggregation_authorizations").await,
            fixture.count("aggregation_authorization_tags").await,
        )
    );
}

/// A PostgreSQL database created for one test and dropped afterwards. The server comes from
/// `TRIBUTARY_TEST_DATABASE_URL` (default `postgres://postgres@127.0.0.1:5432/test`).
struct PostgresDatabase {
    name: String,
    url: String,
}

fn admin_url() -> String {
    std::env::var("TRIBUTARY_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string())
}

impl PostgresDatabase {
    async fn create() -> Self {
        let admin = admin_url();
        let name = format!("trb_{}_membership", tributary_runtime::db::random_hex(6));
        let connection = Database::connect(admin.as_str())
            .await
            .unwrap_or_else(|error| panic!("PostgreSQL at {admin} is reachable: {error}"));
        connection
            .execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await
            .unwrap();
        connection.close().await.ok();
        let base = admin.split('?').next().unwrap_or(&admin);
        let server = base.rsplit_once('/').map_or(base, |(server, _)| server);
        let url = format!("{server}/{name}");
        Self { name, url }
    }
}

impl Drop for PostgresDatabase {
    fn drop(&mut self) {
        let name = self.name.clone();
        // Drop runs inside the test's runtime, so the cleanup gets a runtime of its own.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async {
                let connection = Database::connect(admin_url().as_str()).await.ok()?;
                let _ = connection
                    .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .await;
                connection.close().await.ok()
            })
        })
        .join();
    }
}
