//! Config aggregators and their aggregated views against a real database, on SQLite and
//! PostgreSQL, without servers: membership is a recording stand-in and the replica's rows are
//! written directly, so every rule of the views is checked against data the test controls.

// A panic in a test is a failed assertion with a location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{
    Arc, Mutex,
    atomic::{AtomicUsize, Ordering},
};

use prost::Message;
use sea_orm::{ActiveValue::Set, ConnectionTrait, Database, DatabaseConnection, EntityTrait};
use sea_orm_migration::MigratorTrait;
use tempfile::TempDir;
use tributary_aggregator::{
    Error,
    config_aggregators::{
        AggregatorLimits, AggregatorScope, ConfigAggregators, DescribeAggregators, Directory,
        PutAggregator, SourcesStatusQuery, inputs::AggregatorKey,
    },
    store::{
        Migrator, aggregate_config_items as items, aggregate_conformance_packs as packs,
        aggregate_evaluations as evaluations, aggregator_entitlements as entitlements,
        replication_pairs as pairs, replication_regions as regions,
    },
    views::{
        AggregateViews, BatchGetQuery, GetResourceQuery, ListResourcesQuery, PackComplianceQuery,
        ResourceCountsQuery, RuleComplianceQuery, RuleDetailsQuery, SummaryQuery,
    },
};
use tributary_proto::{
    aggregator::v1 as pb, collector::v1 as collector_pb, membership::v1 as membership_pb,
    types::v1 as types_pb,
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
    puts_replace_sources_keep_the_arn_and_declare_to_membership,
    validation_limits_and_source_kinds_are_enforced_before_membership_is_asked,
    a_failed_store_undoes_a_new_declaration,
    deleting_withdraws_and_hides_everything_at_once,
    accounts_manage_and_read_only_their_own_aggregators,
    tags_merge_overwrite_and_are_limited,
    compliance_views_show_only_authorized_pairs,
    conformance_pack_views_follow_their_rules,
    resource_views_count_list_and_get_current_resources,
    resource_type_filters_narrow_every_view,
    replacing_sources_hides_dropped_accounts_and_regions_at_once,
    sources_status_reports_entitlement_and_replication,
    pages_are_keyset_cut_and_tokens_bound_to_their_request,
);

const OWNER: &str = "111111111111";
const SOURCE: &str = "222222222222";
const PENDING: &str = "333333333333";
const STRANGER: &str = "444444444444";
const HOME: &str = "us-east-1";
const OTHER: &str = "eu-west-1";
const BUCKET: &str = "AWS::S3::Bucket";
const INSTANCE: &str = "AWS::EC2::Instance";

/// Membership as the test scripts it: registered regions, recorded declarations and withdrawals,
/// and an optional refusal of organization sources.
#[derive(Default)]
struct FakeDirectory {
    declared: Mutex<Vec<membership_pb::ConfigAggregatorDeclaration>>,
    withdrawn: Mutex<Vec<AggregatorKey>>,
    refuse_organizations: Mutex<Option<tonic::Status>>,
}

#[tonic::async_trait]
impl Directory for FakeDirectory {
    async fn registered_regions(&self) -> tributary_aggregator::error::Result<Vec<String>> {
        Ok(vec![HOME.into(), OTHER.into(), "ap-southeast-2".into()])
    }

    async fn declare(
        &self,
        declaration: membership_pb::ConfigAggregatorDeclaration,
    ) -> tributary_aggregator::error::Result<()> {
        if declaration.organization_source
            && let Some(status) = self.refuse_organizations.lock().unwrap().clone()
        {
            return Err(
                tributary_aggregator::config_aggregators::directory::from_membership(status),
            );
        }
        self.declared.lock().unwrap().push(declaration);
        Ok(())
    }

    async fn withdraw(&self, key: &AggregatorKey) -> tributary_aggregator::error::Result<()> {
        self.withdrawn.lock().unwrap().push(key.clone());
        Ok(())
    }

    async fn organization_of(
        &self,
        _account_id: &str,
    ) -> tributary_aggregator::error::Result<Option<String>> {
        Ok(Some("o-abcdefghij".into()))
    }
}

struct Fixture {
    db: DatabaseConnection,
    aggregators: ConfigAggregators,
    views: AggregateViews,
    directory: Arc<FakeDirectory>,
    changed: Arc<AtomicUsize>,
    _guard: Guard,
}

enum Guard {
    Sqlite(#[allow(dead_code)] TempDir),
    Postgres(#[allow(dead_code)] PostgresDatabase),
}

async fn fixture(backend: Backend) -> Fixture {
    fixture_with(backend, AggregatorLimits::default()).await
}

async fn fixture_with(backend: Backend, limits: AggregatorLimits) -> Fixture {
    let (url, guard) = match backend {
        Backend::Sqlite => {
            let directory = tempfile::tempdir().unwrap();
            let url = tributary_runtime::db::sqlite_url(&directory.path().join("aggregator.db"));
            (url, Guard::Sqlite(directory))
        }
        Backend::Postgres => {
            let database = PostgresDatabase::create().await;
            (database.url.clone(), Guard::Postgres(database))
        }
    };
    let db = tributary_runtime::db::connect(&url).await.unwrap();
    Migrator::up(&db, None).await.unwrap();
    let directory = Arc::new(FakeDirectory::default());
    let changed = Arc::new(AtomicUsize::new(0));
    let counter = changed.clone();
    let page_tokens = PageTokens::new(b"secret");
    let aggregators = ConfigAggregators::new(
        db.clone(),
        page_tokens.clone(),
        directory.clone(),
        limits,
        Arc::new(move || {
            counter.fetch_add(1, Ordering::SeqCst);
        }),
    )
    .with_freshness_target_ms(1_000);
    let views = AggregateViews::new(db.clone(), page_tokens);
    Fixture {
        db,
        aggregators,
        views,
        directory,
        changed,
        _guard: guard,
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

fn service() -> Caller {
    Caller {
        key_id: "service".into(),
        principal: Principal::Service {
            name: "tributary".into(),
        },
    }
}

fn put_request(
    name: &str,
    accounts: &[&str],
    regions: &[&str],
) -> pb::PutConfigurationAggregatorRequest {
    pb::PutConfigurationAggregatorRequest {
        owner_account_id: String::new(),
        region: HOME.into(),
        configuration_aggregator_name: name.into(),
        account_aggregation_sources: vec![pb::AccountAggregationSource {
            account_ids: accounts.iter().map(|account| account.to_string()).collect(),
            all_aws_regions: regions.is_empty(),
            aws_regions: regions.iter().map(|region| region.to_string()).collect(),
        }],
        organization_aggregation_source: None,
        tags: Vec::new(),
        aggregator_filters: None,
    }
}

fn tag(key: &str, value: &str) -> types_pb::Tag {
    types_pb::Tag {
        key: key.into(),
        value: value.into(),
    }
}

impl Fixture {
    async fn put(
        &self,
        request: pb::PutConfigurationAggregatorRequest,
    ) -> Result<pb::ConfigurationAggregator, Error> {
        let input = PutAggregator::try_from(request)?;
        self.aggregators.put(&account(OWNER), input).await
    }

    async fn scope(&self, name: &str) -> AggregatorScope {
        self.aggregators
            .scope(&account(OWNER), "", HOME, name)
            .await
            .unwrap()
    }

    async fn entitle(&self, name: &str, account_id: &str, region: &str, status: &str) {
        self.entitle_for(OWNER, name, account_id, region, status)
            .await;
    }

    async fn entitle_for(
        &self,
        owner: &str,
        name: &str,
        account_id: &str,
        region: &str,
        status: &str,
    ) {
        entitlements::Entity::insert(entitlements::ActiveModel {
            owner_account_id: Set(owner.into()),
            home_region: Set(HOME.into()),
            aggregator_name: Set(name.into()),
            account_id: Set(account_id.into()),
            region: Set(region.into()),
            status: Set(status.into()),
            reason: Set(format!("{status} for the test")),
            changed_at_micros: Set(1_000_000),
        })
        .exec(&self.db)
        .await
        .unwrap();
    }

    async fn item(
        &self,
        account_id: &str,
        region: &str,
        resource_type: &str,
        resource_id: &str,
        name: &str,
        deleted: bool,
    ) {
        let status = if deleted {
            collector_pb::ConfigurationItemStatus::ResourceDeleted
        } else {
            collector_pb::ConfigurationItemStatus::Ok
        };
        let item = collector_pb::ConfigurationItem {
            version: "1.3".into(),
            account_id: account_id.into(),
            configuration_item_capture_time: Some(prost_types::Timestamp {
                seconds: 100,
                nanos: 0,
            }),
            configuration_item_status: status as i32,
            configuration_state_id: 7,
            arn: format!("arn:aws:test:{region}:{account_id}:{resource_id}"),
            resource_type: resource_type.into(),
            resource_id: resource_id.into(),
            resource_name: name.into(),
            aws_region: region.into(),
            availability_zone: String::new(),
            resource_creation_time: None,
            tags: vec![tag("team", "audit")],
            relationships: vec![collector_pb::Relationship {
                resource_type: INSTANCE.into(),
                resource_id: "i-related".into(),
                resource_name: String::new(),
                relationship_name: "Is attached to Instance".into(),
            }],
            configuration: r#"{"encrypted":true}"#.into(),
            supplementary_configuration: Default::default(),
        };
        items::Entity::insert(items::ActiveModel {
            account_id: Set(account_id.into()),
            region: Set(region.into()),
            resource_type: Set(resource_type.into()),
            resource_id: Set(resource_id.into()),
            resource_name: Set(name.into()),
            arn: Set(item.arn.clone()),
            availability_zone: Set(String::new()),
            item_status: Set(if deleted { "ResourceDeleted" } else { "OK" }.into()),
            deleted: Set(deleted),
            capture_time_micros: Set(100_000_000),
            tags: Set(r#"{"team":"audit"}"#.into()),
            configuration: Set(item.configuration.clone()),
            supplementary_configuration: Set("{}".into()),
            relationships: Set("[]".into()),
            seq: Set(7),
            version: Set("0".repeat(32)),
            item: Set(item.encode_to_vec()),
        })
        .exec(&self.db)
        .await
        .unwrap();
    }

    async fn evaluation(
        &self,
        account_id: &str,
        region: &str,
        rule: &str,
        resource_type: &str,
        resource_id: &str,
        compliance: collector_pb::ComplianceType,
    ) {
        let name = match compliance {
            collector_pb::ComplianceType::Compliant => "COMPLIANT",
            collector_pb::ComplianceType::NonCompliant => "NON_COMPLIANT",
            collector_pb::ComplianceType::NotApplicable => "NOT_APPLICABLE",
            _ => "INSUFFICIENT_DATA",
        };
        let result = collector_pb::EvaluationResult {
            config_rule_name: rule.into(),
            config_rule_id: format!("config-rule-{rule}"),
            compliance_resource_type: resource_type.into(),
            compliance_resource_id: resource_id.into(),
            compliance_type: compliance as i32,
            annotation: format!("{resource_id} is {name}"),
            ordering_timestamp: Some(prost_types::Timestamp {
                seconds: 50,
                nanos: 0,
            }),
            result_recorded_time: Some(prost_types::Timestamp {
                seconds: 60,
                nanos: 0,
            }),
        };
        evaluations::Entity::insert(evaluations::ActiveModel {
            account_id: Set(account_id.into()),
            region: Set(region.into()),
            config_rule_name: Set(rule.into()),
            resource_type: Set(resource_type.into()),
            resource_id: Set(resource_id.into()),
            config_rule_id: Set(result.config_rule_id.clone()),
            compliance_type: Set(name.into()),
            ordering_time_micros: Set(50_000_000),
            seq: Set(8),
            version: Set("0".repeat(32)),
            result: Set(result.encode_to_vec()),
        })
        .exec(&self.db)
        .await
        .unwrap();
    }

    async fn pack(&self, account_id: &str, region: &str, name: &str, rules: &[&str]) {
        let pack = collector_pb::ConformancePack {
            conformance_pack_name: name.into(),
            conformance_pack_arn: format!(
                "arn:aws:config:{region}:{account_id}:conformance-pack/{name}"
            ),
            conformance_pack_id: format!("conformance-pack-{name}"),
            config_rule_names: rules.iter().map(|rule| rule.to_string()).collect(),
            last_update_requested_time: None,
        };
        packs::Entity::insert(packs::ActiveModel {
            account_id: Set(account_id.into()),
            region: Set(region.into()),
            name: Set(name.into()),
            seq: Set(9),
            version: Set("0".repeat(32)),
            pack: Set(pack.encode_to_vec()),
        })
        .exec(&self.db)
        .await
        .unwrap();
    }

    async fn count(&self, table: &str) -> i64 {
        let row = self
            .db
            .query_one_raw(sea_orm::Statement::from_string(
                self.db.get_database_backend(),
                format!("SELECT COUNT(*) AS count FROM {table}"),
            ))
            .await
            .unwrap()
            .unwrap();
        row.try_get::<i64>("", "count").unwrap()
    }

    /// The standard data set: see the comments for what each view must show.
    async fn seed(&self, name: &str) {
        // Entitlements: the owner in both regions and the source in the home region are
        // authorized; the source's other region was revoked and a third account is pending.
        self.entitle(name, OWNER, HOME, "AUTHORIZED").await;
        self.entitle(name, OWNER, OTHER, "AUTHORIZED").await;
        self.entitle(name, SOURCE, HOME, "AUTHORIZED").await;
        self.entitle(name, SOURCE, OTHER, "REVOKED").await;
        self.entitle(name, PENDING, HOME, "PENDING").await;
        // Another owner's aggregator is authorized for the pending account: never visible here.
        self.entitle_for(STRANGER, "theirs", PENDING, HOME, "AUTHORIZED")
            .await;

        self.item(OWNER, HOME, BUCKET, "b1", "one", false).await;
        self.item(OWNER, HOME, BUCKET, "b2", "two", true).await;
        self.item(OWNER, HOME, INSTANCE, "i1", "", false).await;
        self.item(OWNER, OTHER, BUCKET, "b3", "three", false).await;
        self.item(SOURCE, HOME, BUCKET, "b4", "logs", false).await;
        self.item(SOURCE, HOME, INSTANCE, "i2", "", false).await;
        self.item(SOURCE, HOME, INSTANCE, "i3", "", false).await;
        self.item(SOURCE, OTHER, BUCKET, "b5", "revoked", false)
            .await;
        self.item(PENDING, HOME, BUCKET, "b6", "pending", false)
            .await;

        use collector_pb::ComplianceType::{Compliant, NonCompliant, NotApplicable};
        self.evaluation(OWNER, HOME, "r1", BUCKET, "b1", NonCompliant)
            .await;
        self.evaluation(OWNER, HOME, "r1", INSTANCE, "i1", Compliant)
            .await;
        self.evaluation(SOURCE, HOME, "r1", BUCKET, "b4", Compliant)
            .await;
        self.evaluation(SOURCE, HOME, "r1", INSTANCE, "i2", Compliant)
            .await;
        self.evaluation(OWNER, HOME, "r2", BUCKET, "b1", NotApplicable)
            .await;
        self.evaluation(OWNER, OTHER, "r2", BUCKET, "b3", Compliant)
            .await;
        self.evaluation(SOURCE, OTHER, "r3", BUCKET, "b5", NonCompliant)
            .await;
        self.evaluation(PENDING, HOME, "r1", BUCKET, "b6", NonCompliant)
            .await;

        self.pack(OWNER, HOME, "p1", &["r1", "r2"]).await;
        self.pack(OWNER, OTHER, "p2", &["r2"]).await;
        self.pack(SOURCE, HOME, "p3", &["r1", "missing"]).await;
        self.pack(SOURCE, OTHER, "p4", &["r3"]).await;
        self.pack(OWNER, HOME, "p5", &["r2"]).await;
        self.pack(PENDING, HOME, "p6", &["r1"]).await;
    }
}

fn reason_of(error: &Error) -> &'static str {
    match error {
        Error::Runtime(tributary_runtime::Error::InvalidInput { reason, .. })
        | Error::Runtime(tributary_runtime::Error::PermissionDenied { reason, .. })
        | Error::NotFound { reason, .. }
        | Error::LimitExceeded { reason, .. }
        | Error::FailedPrecondition { reason, .. }
        | Error::PermissionDenied { reason, .. } => reason,
        other => panic!("no reason in {other:?}"),
    }
}

fn fields_of(error: &Error) -> Vec<String> {
    match error {
        Error::Runtime(tributary_runtime::Error::InvalidInput { violations, .. }) => violations
            .iter()
            .map(|violation| violation.field.clone())
            .collect(),
        other => panic!("not a validation error: {other:?}"),
    }
}

async fn puts_replace_sources_keep_the_arn_and_declare_to_membership(backend: Backend) {
    let fixture = fixture(backend).await;
    let mut request = put_request("audit", &[SOURCE, OWNER, SOURCE], &[OTHER, HOME]);
    request.tags = vec![tag("team", "audit")];
    let created = fixture.put(request).await.unwrap();
    let arn = created.configuration_aggregator_arn.clone();
    let suffix = arn
        .strip_prefix(&format!(
            "arn:aws:config:{HOME}:{OWNER}:config-aggregator/config-aggregator-"
        ))
        .unwrap();
    assert_eq!(suffix.len(), 8);
    assert!(
        suffix
            .bytes()
            .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit())
    );
    assert_eq!(created.creation_time, created.last_updated_time);
    let source = &created.account_aggregation_sources[0];
    assert_eq!(source.account_ids, [OWNER, SOURCE]);
    assert_eq!(source.aws_regions, [OTHER, HOME]);
    assert!(!source.all_aws_regions);
    assert_eq!(
        (created.owner_account_id.as_str(), created.region.as_str()),
        (OWNER, HOME)
    );
    let declared = fixture
        .directory
        .declared
        .lock()
        .unwrap()
        .last()
        .cloned()
        .unwrap();
    assert_eq!(
        (
            declared.owner_account_id.as_str(),
            declared.home_region.as_str(),
            declared.aggregator_name.as_str()
        ),
        (OWNER, HOME, "audit")
    );
    assert_eq!(declared.account_ids, [OWNER, SOURCE]);
    assert_eq!(declared.regions, [OTHER, HOME]);
    assert_eq!(fixture.changed.load(Ordering::SeqCst), 1);

    // A replace swaps the whole source definition and keeps the ARN, creation time and tags.
    let mut replace = put_request("audit", &[PENDING], &[]);
    replace.tags = vec![tag("other", "ignored")];
    let replaced = fixture.put(replace).await.unwrap();
    assert_eq!(replaced.configuration_aggregator_arn, arn);
    assert_eq!(replaced.creation_time, created.creation_time);
    let moved = replaced.last_updated_time.unwrap();
    let before = created.last_updated_time.unwrap();
    assert!((moved.seconds, moved.nanos) >= (before.seconds, before.nanos));
    let source = &replaced.account_aggregation_sources[0];
    assert_eq!(source.account_ids, [PENDING]);
    assert!(source.all_aws_regions);
    assert!(source.aws_regions.is_empty());
    let declared = fixture
        .directory
        .declared
        .lock()
        .unwrap()
        .last()
        .cloned()
        .unwrap();
    assert!(declared.all_regions && declared.regions.is_empty());
    let (tags, _) = fixture
        .aggregators
        .list_tags(&account(OWNER), &arn, 0, "")
        .await
        .unwrap();
    assert_eq!(tags, [tag("team", "audit")]);

    let (described, next) = fixture
        .aggregators
        .describe(
            &account(OWNER),
            DescribeAggregators::try_from(pb::DescribeConfigurationAggregatorsRequest {
                region: HOME.into(),
                configuration_aggregator_names: vec!["audit".into()],
                ..Default::default()
            })
            .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(described, std::slice::from_ref(&replaced));
    assert!(next.is_empty());

    // An organization aggregator echoes its source with explicit region choices.
    let mut organization = put_request("org", &[], &[]);
    organization.account_aggregation_sources.clear();
    organization.organization_aggregation_source = Some(pb::OrganizationAggregationSource {
        role_arn: "arn:aws:iam::111111111111:role/config".into(),
        aws_regions: vec![HOME.into()],
        all_aws_regions: false,
    });
    let stored = fixture.put(organization).await.unwrap();
    let source = stored.organization_aggregation_source.unwrap();
    assert_eq!(source.aws_regions, [HOME]);
    assert!(!source.all_aws_regions);
    assert!(stored.account_aggregation_sources.is_empty());
    let declared = fixture
        .directory
        .declared
        .lock()
        .unwrap()
        .last()
        .cloned()
        .unwrap();
    assert!(declared.organization_source && declared.account_ids.is_empty());
}

async fn validation_limits_and_source_kinds_are_enforced_before_membership_is_asked(
    backend: Backend,
) {
    let fixture = fixture_with(
        backend,
        AggregatorLimits {
            max_aggregators_per_account: 2,
            max_accounts_per_aggregator: 3,
        },
    )
    .await;
    // Unregistered regions, by field.
    let error = fixture
        .put(put_request("audit", &[SOURCE], &[HOME, "sa-east-1"]))
        .await
        .unwrap_err();
    assert_eq!(reason_of(&error), "InvalidParameterValueException");
    assert_eq!(
        fields_of(&error),
        ["account_aggregation_sources[0].aws_regions"]
    );
    let mut unknown_home = put_request("audit", &[SOURCE], &[HOME]);
    unknown_home.region = "sa-east-1".into();
    let error = fixture.put(unknown_home).await.unwrap_err();
    assert_eq!(fields_of(&error), ["region"]);

    // Too many accounts, then too many aggregators in the region (another region has room).
    let error = fixture
        .put(put_request(
            "audit",
            &[OWNER, SOURCE, PENDING, STRANGER],
            &[HOME],
        ))
        .await
        .unwrap_err();
    assert_eq!(reason_of(&error), "LimitExceededException");
    fixture
        .put(put_request("one", &[SOURCE], &[HOME]))
        .await
        .unwrap();
    fixture
        .put(put_request("two", &[SOURCE], &[HOME]))
        .await
        .unwrap();
    let error = fixture
        .put(put_request("three", &[SOURCE], &[HOME]))
        .await
        .unwrap_err();
    assert_eq!(reason_of(&error), "LimitExceededException");
    fixture
        .put(put_request("two", &[OWNER], &[HOME]))
        .await
        .unwrap();
    let mut elsewhere = put_request("three", &[SOURCE], &[HOME]);
    elsewhere.region = OTHER.into();
    fixture.put(elsewhere).await.unwrap();

    // An aggregator keeps its source kind.
    let mut switch = put_request("one", &[], &[]);
    switch.account_aggregation_sources.clear();
    switch.organization_aggregation_source = Some(pb::OrganizationAggregationSource {
        role_arn: "arn:aws:iam::111111111111:role/config".into(),
        aws_regions: Vec::new(),
        all_aws_regions: true,
    });
    let error = fixture.put(switch).await.unwrap_err();
    assert_eq!(reason_of(&error), "InvalidParameterValueException");
    assert_eq!(fields_of(&error), ["organization_aggregation_source"]);

    // Membership's refusals of organization sources keep their names.
    for (status, expected) in [
        (
            tributary_runtime::error::status(
                tonic::Code::PermissionDenied,
                "OrganizationAccessDeniedException",
                "not the management account",
                &[],
            ),
            "OrganizationAccessDeniedException",
        ),
        (
            tributary_runtime::error::status(
                tonic::Code::FailedPrecondition,
                "NoAvailableOrganizationException",
                "no organization",
                &[],
            ),
            "NoAvailableOrganizationException",
        ),
        (
            tributary_runtime::error::status(
                tonic::Code::FailedPrecondition,
                "OrganizationAllFeaturesNotEnabledException",
                "billing only",
                &[],
            ),
            "OrganizationAllFeaturesNotEnabledException",
        ),
    ] {
        *fixture.directory.refuse_organizations.lock().unwrap() = Some(status);
        let mut organization = put_request("org", &[], &[]);
        organization.region = OTHER.into();
        organization.account_aggregation_sources.clear();
        organization.organization_aggregation_source = Some(pb::OrganizationAggregationSource {
            role_arn: "arn:aws:iam::111111111111:role/config".into(),
            aws_regions: Vec::new(),
            all_aws_regions: true,
        });
        let error = fixture.put(organization).await.unwrap_err();
        assert_eq!(reason_of(&error), expected);
    }
    // Nothing of the refused calls was stored.
    assert_eq!(fixture.count("config_aggregators").await, 3);
}

async fn a_failed_store_undoes_a_new_declaration(backend: Backend) {
    let fixture = fixture(backend).await;
    // Without its tags table the local write fails after membership accepted the declaration.
    fixture
        .db
        .execute_unprepared("DROP TABLE aggregator_tags")
        .await
        .unwrap();
    let mut request = put_request("audit", &[SOURCE], &[HOME]);
    request.tags = vec![tag("team", "audit")];
    let error = fixture.put(request).await.unwrap_err();
    assert!(matches!(error, Error::Database(_)), "{error:?}");
    assert_eq!(fixture.count("config_aggregators").await, 0);
    let withdrawn = fixture.directory.withdrawn.lock().unwrap().clone();
    assert_eq!(withdrawn.len(), 1);
    assert_eq!(withdrawn[0].name, "audit");
    assert_eq!(fixture.changed.load(Ordering::SeqCst), 0);
}

async fn deleting_withdraws_and_hides_everything_at_once(backend: Backend) {
    let fixture = fixture(backend).await;
    let mut request = put_request("audit", &[SOURCE], &[HOME]);
    request.tags = vec![tag("team", "audit")];
    let created = fixture.put(request).await.unwrap();
    fixture.seed("audit").await;
    fixture
        .put(put_request("kept", &[SOURCE], &[HOME]))
        .await
        .unwrap();
    fixture.entitle("kept", SOURCE, HOME, "AUTHORIZED").await;

    fixture
        .aggregators
        .delete(&account(OWNER), "", HOME, "audit")
        .await
        .unwrap();
    assert_eq!(fixture.directory.withdrawn.lock().unwrap()[0].name, "audit");
    assert_eq!(fixture.changed.load(Ordering::SeqCst), 3);
    // Its entitlement rows and tags are gone; the other aggregator's rows stay.
    assert_eq!(fixture.count("aggregator_tags").await, 0);
    assert_eq!(fixture.count("aggregator_entitlements").await, 2);
    let error = fixture
        .aggregators
        .scope(&account(OWNER), "", HOME, "audit")
        .await
        .unwrap_err();
    assert_eq!(reason_of(&error), "NoSuchConfigurationAggregatorException");
    let error = fixture
        .aggregators
        .delete(&account(OWNER), "", HOME, "audit")
        .await
        .unwrap_err();
    assert_eq!(reason_of(&error), "NoSuchConfigurationAggregatorException");
    let error = fixture
        .aggregators
        .list_tags(
            &account(OWNER),
            &created.configuration_aggregator_arn,
            0,
            "",
        )
        .await
        .unwrap_err();
    assert_eq!(reason_of(&error), "ResourceNotFoundException");
}

async fn accounts_manage_and_read_only_their_own_aggregators(backend: Backend) {
    let fixture = fixture(backend).await;
    fixture
        .put(put_request("audit", &[SOURCE], &[HOME]))
        .await
        .unwrap();
    let stranger = account(STRANGER);
    let error = fixture
        .aggregators
        .scope(&stranger, OWNER, HOME, "audit")
        .await
        .unwrap_err();
    assert_eq!(reason_of(&error), "AccessDeniedException");
    let error = fixture
        .aggregators
        .scope(&stranger, "", HOME, "audit")
        .await
        .unwrap_err();
    assert_eq!(reason_of(&error), "NoSuchConfigurationAggregatorException");
    let error = fixture
        .aggregators
        .delete(&stranger, OWNER, HOME, "audit")
        .await
        .unwrap_err();
    assert_eq!(reason_of(&error), "AccessDeniedException");
    // Services and operators name the owner.
    let error = fixture
        .aggregators
        .scope(&service(), "", HOME, "audit")
        .await
        .unwrap_err();
    assert_eq!(fields_of(&error), ["owner_account_id"]);
    let scope = fixture
        .aggregators
        .scope(&service(), OWNER, HOME, "audit")
        .await
        .unwrap();
    assert_eq!(scope.key.owner_account_id, OWNER);
    // Names are case-sensitive.
    let error = fixture
        .aggregators
        .scope(&account(OWNER), "", HOME, "Audit")
        .await
        .unwrap_err();
    assert_eq!(reason_of(&error), "NoSuchConfigurationAggregatorException");
}

async fn tags_merge_overwrite_and_are_limited(backend: Backend) {
    let fixture = fixture(backend).await;
    let mut request = put_request("audit", &[SOURCE], &[HOME]);
    request.tags = vec![tag("a", "1"), tag("b", "2")];
    let arn = fixture
        .put(request)
        .await
        .unwrap()
        .configuration_aggregator_arn;
    let owner = account(OWNER);
    fixture
        .aggregators
        .tag(&owner, &arn, vec![tag("b", "20"), tag("c", "3")])
        .await
        .unwrap();
    let (tags, _) = fixture
        .aggregators
        .list_tags(&owner, &arn, 0, "")
        .await
        .unwrap();
    assert_eq!(tags, [tag("a", "1"), tag("b", "20"), tag("c", "3")]);
    let (first, next) = fixture
        .aggregators
        .list_tags(&owner, &arn, 2, "")
        .await
        .unwrap();
    assert_eq!(first, [tag("a", "1"), tag("b", "20")]);
    let (rest, last) = fixture
        .aggregators
        .list_tags(&owner, &arn, 2, &next)
        .await
        .unwrap();
    assert_eq!((rest, last.as_str()), (vec![tag("c", "3")], ""));
    fixture
        .aggregators
        .untag(&owner, &arn, &["a".into(), "zzz".into()])
        .await
        .unwrap();
    let (tags, _) = fixture
        .aggregators
        .list_tags(&owner, &arn, 0, "")
        .await
        .unwrap();
    assert_eq!(tags, [tag("b", "20"), tag("c", "3")]);

    let many: Vec<types_pb::Tag> = (0..49)
        .map(|index| tag(&format!("k{index:02}"), ""))
        .collect();
    let error = fixture
        .aggregators
        .tag(&owner, &arn, many)
        .await
        .unwrap_err();
    assert_eq!(reason_of(&error), "TooManyTagsException");
    let error = fixture
        .aggregators
        .tag(&owner, &arn, vec![tag("Dup", ""), tag("dup", "")])
        .await
        .unwrap_err();
    assert_eq!(reason_of(&error), "ValidationException");
    assert_eq!(fields_of(&error), ["tags[1].key"]);
    for bad in [arn.replace(OWNER, STRANGER), "not-an-arn".to_string()] {
        let error = fixture
            .aggregators
            .tag(&owner, &bad, vec![tag("x", "")])
            .await
            .unwrap_err();
        assert_eq!(reason_of(&error), "ResourceNotFoundException");
        assert!(error.to_string().contains("does not exist"), "{error}");
    }
    let error = fixture
        .aggregators
        .tag(&account(STRANGER), &arn, vec![tag("x", "")])
        .await
        .unwrap_err();
    assert_eq!(reason_of(&error), "ResourceNotFoundException");
}

fn rule_query(name: &str) -> RuleComplianceQuery {
    RuleComplianceQuery::try_from(pb::DescribeAggregateComplianceByConfigRulesRequest {
        region: HOME.into(),
        configuration_aggregator_name: name.into(),
        ..Default::default()
    })
    .unwrap()
}

fn compliance_of(compliance: &Option<collector_pb::Compliance>) -> (i32, Option<(i32, bool)>) {
    let compliance = compliance.as_ref().unwrap();
    (
        compliance.compliance_type,
        compliance
            .compliance_contributor_count
            .as_ref()
            .map(|count| (count.capped_count, count.cap_exceeded)),
    )
}

const C: i32 = collector_pb::ComplianceType::Compliant as i32;
const NC: i32 = collector_pb::ComplianceType::NonCompliant as i32;
const ID: i32 = collector_pb::ComplianceType::InsufficientData as i32;

async fn rule_rows(
    fixture: &Fixture,
    scope: &AggregatorScope,
    query: RuleComplianceQuery,
) -> Vec<(String, String, String, i32, Option<(i32, bool)>)> {
    let (rows, next) = fixture
        .views
        .compliance_by_config_rules(scope, &query)
        .await
        .unwrap();
    assert!(next.is_empty());
    rows.into_iter()
        .map(|row| {
            let (kind, contributors) = compliance_of(&row.compliance);
            (
                row.config_rule_name,
                row.account_id,
                row.aws_region,
                kind,
                contributors,
            )
        })
        .collect()
}

fn row(
    rule: &str,
    account_id: &str,
    region: &str,
    kind: i32,
    contributors: Option<(i32, bool)>,
) -> (String, String, String, i32, Option<(i32, bool)>) {
    (
        rule.into(),
        account_id.into(),
        region.into(),
        kind,
        contributors,
    )
}

async fn summary_groups(
    fixture: &Fixture,
    scope: &AggregatorScope,
    group_by_key: pb::ConfigRuleComplianceSummaryGroupKey,
) -> Vec<(String, i32, i32)> {
    let query = SummaryQuery::try_from(pb::GetAggregateConfigRuleComplianceSummaryRequest {
        region: HOME.into(),
        configuration_aggregator_name: scope.key.name.clone(),
        group_by_key: group_by_key as i32,
        ..Default::default()
    })
    .unwrap();
    let (groups, _) = fixture
        .views
        .config_rule_compliance_summary(scope, &query)
        .await
        .unwrap();
    groups
        .into_iter()
        .map(|group| {
            let summary = group.compliance_summary.unwrap();
            (
                group.group_name,
                summary.compliant_resource_count.unwrap().capped_count,
                summary.non_compliant_resource_count.unwrap().capped_count,
            )
        })
        .collect()
}

async fn compliance_views_show_only_authorized_pairs(backend: Backend) {
    let fixture = fixture(backend).await;
    fixture
        .put(put_request(
            "audit",
            &[OWNER, SOURCE, PENDING],
            &[HOME, OTHER],
        ))
        .await
        .unwrap();
    fixture.seed("audit").await;
    let scope = fixture.scope("audit").await;

    // One row per (rule, account, region) with results; the revoked and pending pairs are hidden.
    assert_eq!(
        rule_rows(&fixture, &scope, rule_query("audit")).await,
        [
            row("r1", OWNER, HOME, NC, Some((1, false))),
            row("r1", SOURCE, HOME, C, None),
            row("r2", OWNER, OTHER, C, None),
            row("r2", OWNER, HOME, ID, None),
        ]
    );
    let mut non_compliant = rule_query("audit");
    non_compliant.compliance_type =
        Some(tributary_runtime::compliance::ComplianceType::NonCompliant);
    assert_eq!(
        rule_rows(&fixture, &scope, non_compliant).await,
        [row("r1", OWNER, HOME, NC, Some((1, false)))]
    );
    let mut compliant = rule_query("audit");
    compliant.compliance_type = Some(tributary_runtime::compliance::ComplianceType::Compliant);
    compliant.account_id = OWNER.into();
    assert_eq!(
        rule_rows(&fixture, &scope, compliant).await,
        [row("r2", OWNER, OTHER, C, None)]
    );
    let mut by_region = rule_query("audit");
    by_region.aws_region = HOME.into();
    by_region.config_rule_name = "r1".into();
    assert_eq!(rule_rows(&fixture, &scope, by_region).await.len(), 2);

    // Rule counts per group; insufficient data counts on neither side.
    use pb::ConfigRuleComplianceSummaryGroupKey as Key;
    assert_eq!(
        summary_groups(&fixture, &scope, Key::AccountId).await,
        [(OWNER.to_string(), 1, 1), (SOURCE.to_string(), 1, 0)]
    );
    assert_eq!(
        summary_groups(&fixture, &scope, Key::AwsRegion).await,
        [(OTHER.to_string(), 1, 0), (HOME.to_string(), 1, 1)]
    );
    assert_eq!(
        summary_groups(&fixture, &scope, Key::Unspecified).await,
        [(String::new(), 2, 1)]
    );

    // A rule's results in one source: COMPLIANT and NON_COMPLIANT only, in resource order.
    let details = |rule: &str, account_id: &str, region: &str, compliance_type: i32| {
        RuleDetailsQuery::try_from(pb::GetAggregateComplianceDetailsByConfigRuleRequest {
            region: HOME.into(),
            configuration_aggregator_name: "audit".into(),
            config_rule_name: rule.into(),
            account_id: account_id.into(),
            aws_region: region.into(),
            compliance_type,
            ..Default::default()
        })
        .unwrap()
    };
    let (results, _) = fixture
        .views
        .compliance_details_by_config_rule(&scope, &details("r1", OWNER, HOME, 0))
        .await
        .unwrap();
    let seen: Vec<(String, i32, String)> = results
        .iter()
        .map(|result| {
            let qualifier = result
                .evaluation_result_identifier
                .as_ref()
                .unwrap()
                .evaluation_result_qualifier
                .as_ref()
                .unwrap();
            (
                qualifier.resource_id.clone(),
                result.compliance_type,
                result.annotation.clone(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("i1".to_string(), C, "i1 is COMPLIANT".to_string()),
            ("b1".to_string(), NC, "b1 is NON_COMPLIANT".to_string()),
        ]
    );
    assert_eq!(results[0].account_id, OWNER);
    assert_eq!(results[0].result_recorded_time.unwrap().seconds, 60);
    let (only_bad, _) = fixture
        .views
        .compliance_details_by_config_rule(&scope, &details("r1", OWNER, HOME, NC))
        .await
        .unwrap();
    assert_eq!(only_bad.len(), 1);
    for hidden in [
        details("r2", OWNER, HOME, 0),
        details("r3", SOURCE, OTHER, 0),
        details("r1", PENDING, HOME, 0),
    ] {
        let (results, _) = fixture
            .views
            .compliance_details_by_config_rule(&scope, &hidden)
            .await
            .unwrap();
        assert!(results.is_empty(), "{hidden:?}");
    }
    // A not-applicable filter is refused.
    let error = RuleDetailsQuery::try_from(pb::GetAggregateComplianceDetailsByConfigRuleRequest {
        region: HOME.into(),
        configuration_aggregator_name: "audit".into(),
        config_rule_name: "r1".into(),
        account_id: OWNER.into(),
        aws_region: HOME.into(),
        compliance_type: collector_pb::ComplianceType::NotApplicable as i32,
        ..Default::default()
    })
    .unwrap_err();
    assert_eq!(fields_of(&error), ["compliance_type"]);
}

async fn conformance_pack_views_follow_their_rules(backend: Backend) {
    let fixture = fixture(backend).await;
    fixture
        .put(put_request(
            "audit",
            &[OWNER, SOURCE, PENDING],
            &[HOME, OTHER],
        ))
        .await
        .unwrap();
    fixture.seed("audit").await;
    let scope = fixture.scope("audit").await;
    let query = |compliance_type: i32| {
        PackComplianceQuery::try_from(pb::DescribeAggregateComplianceByConformancePacksRequest {
            region: HOME.into(),
            configuration_aggregator_name: "audit".into(),
            filters: Some(pb::ConformancePackComplianceFilters {
                compliance_type,
                ..Default::default()
            }),
            ..Default::default()
        })
        .unwrap()
    };
    let (rows, _) = fixture
        .views
        .compliance_by_conformance_packs(&scope, &query(0))
        .await
        .unwrap();
    let seen: Vec<(String, String, String, i32, i32, i32, i32)> = rows
        .into_iter()
        .map(|row| {
            let compliance = row.compliance.unwrap();
            (
                row.account_id,
                row.aws_region,
                row.conformance_pack_name,
                compliance.compliance_type,
                compliance.compliant_rule_count,
                compliance.non_compliant_rule_count,
                compliance.total_rule_count,
            )
        })
        .collect();
    let expected = |account_id: &str,
                    region: &str,
                    name: &str,
                    kind: i32,
                    compliant: i32,
                    non_compliant: i32,
                    total: i32| {
        (
            account_id.to_string(),
            region.to_string(),
            name.to_string(),
            kind,
            compliant,
            non_compliant,
            total,
        )
    };
    assert_eq!(
        seen,
        [
            expected(OWNER, OTHER, "p2", C, 1, 0, 1),
            expected(OWNER, HOME, "p1", NC, 0, 1, 2),
            expected(OWNER, HOME, "p5", ID, 0, 0, 1),
            expected(SOURCE, HOME, "p3", C, 1, 0, 2),
        ]
    );
    let (compliant, _) = fixture
        .views
        .compliance_by_conformance_packs(&scope, &query(C))
        .await
        .unwrap();
    let names: Vec<String> = compliant
        .into_iter()
        .map(|row| row.conformance_pack_name)
        .collect();
    assert_eq!(names, ["p2", "p3"]);

    let summary = |group_by_key: pb::ConformancePackComplianceSummaryGroupKey| {
        SummaryQuery::try_from(pb::GetAggregateConformancePackComplianceSummaryRequest {
            region: HOME.into(),
            configuration_aggregator_name: "audit".into(),
            group_by_key: group_by_key as i32,
            ..Default::default()
        })
        .unwrap()
    };
    use pb::ConformancePackComplianceSummaryGroupKey as Key;
    for (key, expected) in [
        (
            Key::AccountId,
            vec![(OWNER.to_string(), 1, 1), (SOURCE.to_string(), 1, 0)],
        ),
        (
            Key::AwsRegion,
            vec![(OTHER.to_string(), 1, 0), (HOME.to_string(), 1, 1)],
        ),
        (Key::Unspecified, vec![(String::new(), 2, 1)]),
    ] {
        let (groups, next) = fixture
            .views
            .conformance_pack_compliance_summary(&scope, &summary(key))
            .await
            .unwrap();
        assert!(next.is_empty());
        let seen: Vec<(String, i32, i32)> = groups
            .into_iter()
            .map(|group| {
                let counts = group.compliance_summary.unwrap();
                (
                    group.group_name,
                    counts.compliant_conformance_pack_count,
                    counts.non_compliant_conformance_pack_count,
                )
            })
            .collect();
        assert_eq!(seen, expected, "{key:?}");
    }
}

async fn resource_views_count_list_and_get_current_resources(backend: Backend) {
    let fixture = fixture(backend).await;
    fixture
        .put(put_request(
            "audit",
            &[OWNER, SOURCE, PENDING],
            &[HOME, OTHER],
        ))
        .await
        .unwrap();
    fixture.seed("audit").await;
    let scope = fixture.scope("audit").await;
    let counts = |group_by_key: pb::ResourceCountGroupKey, filters: pb::ResourceCountFilters| {
        ResourceCountsQuery::try_from(pb::GetAggregateDiscoveredResourceCountsRequest {
            region: HOME.into(),
            configuration_aggregator_name: "audit".into(),
            filters: Some(filters),
            group_by_key: group_by_key as i32,
            ..Default::default()
        })
        .unwrap()
    };
    use pb::ResourceCountGroupKey as Key;
    let grouped = |groups: Vec<pb::GroupedResourceCount>| -> Vec<(String, i64)> {
        groups
            .into_iter()
            .map(|group| (group.group_name, group.resource_count))
            .collect()
    };
    let (total, groups, _) = fixture
        .views
        .discovered_resource_counts(&scope, &counts(Key::Unspecified, Default::default()))
        .await
        .unwrap();
    assert_eq!((total, groups.len()), (6, 0));
    let (total, groups, _) = fixture
        .views
        .discovered_resource_counts(&scope, &counts(Key::ResourceType, Default::default()))
        .await
        .unwrap();
    assert_eq!(total, 6);
    assert_eq!(
        grouped(groups),
        [(INSTANCE.to_string(), 3), (BUCKET.to_string(), 3)]
    );
    let (_, groups, _) = fixture
        .views
        .discovered_resource_counts(&scope, &counts(Key::AccountId, Default::default()))
        .await
        .unwrap();
    assert_eq!(
        grouped(groups),
        [(OWNER.to_string(), 3), (SOURCE.to_string(), 3)]
    );
    let (total, groups, _) = fixture
        .views
        .discovered_resource_counts(
            &scope,
            &counts(
                Key::AwsRegion,
                pb::ResourceCountFilters {
                    resource_type: BUCKET.into(),
                    ..Default::default()
                },
            ),
        )
        .await
        .unwrap();
    assert_eq!(total, 3);
    assert_eq!(
        grouped(groups),
        [(OTHER.to_string(), 1), (HOME.to_string(), 2)]
    );

    let list = |filters: pb::ResourceFilters, page_size: i32, page_token: &str| {
        ListResourcesQuery::try_from(pb::ListAggregateDiscoveredResourcesRequest {
            region: HOME.into(),
            configuration_aggregator_name: "audit".into(),
            resource_type: BUCKET.into(),
            filters: Some(filters),
            page_size,
            page_token: page_token.into(),
            ..Default::default()
        })
        .unwrap()
    };
    let ids = |identifiers: &[pb::AggregateResourceIdentifier]| -> Vec<(String, String, String)> {
        identifiers
            .iter()
            .map(|id| {
                (
                    id.source_account_id.clone(),
                    id.source_region.clone(),
                    id.resource_id.clone(),
                )
            })
            .collect()
    };
    let (first, next) = fixture
        .views
        .list_discovered_resources(&scope, &list(Default::default(), 2, ""))
        .await
        .unwrap();
    assert_eq!(
        ids(&first),
        [
            (OWNER.to_string(), OTHER.to_string(), "b3".to_string()),
            (OWNER.to_string(), HOME.to_string(), "b1".to_string()),
        ]
    );
    assert_eq!(first[1].resource_name, "one");
    assert_eq!(first[1].resource_type, BUCKET);
    let (rest, last) = fixture
        .views
        .list_discovered_resources(&scope, &list(Default::default(), 2, &next))
        .await
        .unwrap();
    assert_eq!(
        ids(&rest),
        [(SOURCE.to_string(), HOME.to_string(), "b4".to_string())]
    );
    assert!(last.is_empty());
    let (named, _) = fixture
        .views
        .list_discovered_resources(
            &scope,
            &list(
                pb::ResourceFilters {
                    resource_name: "logs".into(),
                    resource_id: "b4".into(),
                    ..Default::default()
                },
                0,
                "",
            ),
        )
        .await
        .unwrap();
    assert_eq!(
        ids(&named),
        [(SOURCE.to_string(), HOME.to_string(), "b4".to_string())]
    );
    let (mismatch, _) = fixture
        .views
        .list_discovered_resources(
            &scope,
            &list(
                pb::ResourceFilters {
                    resource_name: "logs".into(),
                    resource_id: "b1".into(),
                    ..Default::default()
                },
                0,
                "",
            ),
        )
        .await
        .unwrap();
    assert!(mismatch.is_empty());

    let identifier = |account_id: &str, region: &str, resource_type: &str, resource_id: &str| {
        pb::AggregateResourceIdentifier {
            source_account_id: account_id.into(),
            source_region: region.into(),
            resource_id: resource_id.into(),
            resource_type: resource_type.into(),
            resource_name: String::new(),
        }
    };
    let get = |id: pb::AggregateResourceIdentifier| {
        GetResourceQuery::try_from(pb::GetAggregateResourceConfigRequest {
            region: HOME.into(),
            configuration_aggregator_name: "audit".into(),
            resource_identifier: Some(id),
            ..Default::default()
        })
        .unwrap()
    };
    let item = fixture
        .views
        .resource_config(&scope, &get(identifier(OWNER, HOME, BUCKET, "b1")))
        .await
        .unwrap();
    assert_eq!(
        (
            item.resource_id.as_str(),
            item.tags.len(),
            item.relationships.len()
        ),
        ("b1", 1, 1)
    );
    for hidden in [
        identifier(OWNER, HOME, BUCKET, "b2"),
        identifier(SOURCE, OTHER, BUCKET, "b5"),
        identifier(PENDING, HOME, BUCKET, "b6"),
        identifier(OWNER, HOME, BUCKET, "nope"),
    ] {
        let error = fixture
            .views
            .resource_config(&scope, &get(hidden.clone()))
            .await
            .unwrap_err();
        assert_eq!(
            reason_of(&error),
            "ResourceNotDiscoveredException",
            "{hidden:?}"
        );
    }

    let requested = vec![
        identifier(OWNER, HOME, BUCKET, "b2"),
        identifier(OWNER, HOME, BUCKET, "b1"),
        identifier(SOURCE, OTHER, BUCKET, "b5"),
        identifier(PENDING, HOME, BUCKET, "b6"),
        identifier(SOURCE, HOME, INSTANCE, "i2"),
        identifier(OWNER, HOME, BUCKET, "nope"),
    ];
    let query = BatchGetQuery::try_from(pb::BatchGetAggregateResourceConfigRequest {
        region: HOME.into(),
        configuration_aggregator_name: "audit".into(),
        resource_identifiers: requested.clone(),
        ..Default::default()
    })
    .unwrap();
    let (found, unprocessed) = fixture
        .views
        .batch_resource_config(&scope, &query)
        .await
        .unwrap();
    let found_ids: Vec<&str> = found.iter().map(|item| item.resource_id.as_str()).collect();
    assert_eq!(found_ids, ["b1", "i2"]);
    assert!(
        found
            .iter()
            .all(|item| item.tags.is_empty() && item.relationships.is_empty())
    );
    assert_eq!(
        unprocessed,
        [
            requested[0].clone(),
            requested[2].clone(),
            requested[3].clone(),
            requested[5].clone()
        ]
    );
    let error = BatchGetQuery::try_from(pb::BatchGetAggregateResourceConfigRequest {
        region: HOME.into(),
        configuration_aggregator_name: "audit".into(),
        resource_identifiers: vec![identifier(OWNER, HOME, BUCKET, "b1"); 101],
        ..Default::default()
    })
    .unwrap_err();
    assert_eq!(reason_of(&error), "ValidationException");
    assert!(error.to_string().contains("less than or equal to 100"));
}

async fn resource_type_filters_narrow_every_view(backend: Backend) {
    let fixture = fixture(backend).await;
    let mut request = put_request("buckets", &[OWNER, SOURCE, PENDING], &[HOME, OTHER]);
    request.aggregator_filters = Some(pb::AggregatorFilters {
        resource_type: Some(pb::AggregatorFilterResourceType {
            r#type: pb::AggregatorFilterType::Include as i32,
            value: vec![BUCKET.into()],
        }),
        service_principal: None,
    });
    fixture.put(request).await.unwrap();
    fixture.seed("buckets").await;
    let scope = fixture.scope("buckets").await;
    assert_eq!(scope.resource_types, [BUCKET]);
    let counts = ResourceCountsQuery::try_from(pb::GetAggregateDiscoveredResourceCountsRequest {
        region: HOME.into(),
        configuration_aggregator_name: "buckets".into(),
        group_by_key: pb::ResourceCountGroupKey::ResourceType as i32,
        ..Default::default()
    })
    .unwrap();
    let (total, groups, _) = fixture
        .views
        .discovered_resource_counts(&scope, &counts)
        .await
        .unwrap();
    assert_eq!(total, 3);
    assert_eq!(groups.len(), 1);
    // r1 in the source's home region evaluated a bucket and an instance; only the bucket counts.
    assert_eq!(
        rule_rows(&fixture, &scope, rule_query("buckets")).await,
        [
            row("r1", OWNER, HOME, NC, Some((1, false))),
            row("r1", SOURCE, HOME, C, None),
            row("r2", OWNER, OTHER, C, None),
            row("r2", OWNER, HOME, ID, None),
        ]
    );
    let list = ListResourcesQuery::try_from(pb::ListAggregateDiscoveredResourcesRequest {
        region: HOME.into(),
        configuration_aggregator_name: "buckets".into(),
        resource_type: INSTANCE.into(),
        ..Default::default()
    })
    .unwrap();
    let (instances, _) = fixture
        .views
        .list_discovered_resources(&scope, &list)
        .await
        .unwrap();
    assert!(instances.is_empty());
    let get = GetResourceQuery::try_from(pb::GetAggregateResourceConfigRequest {
        region: HOME.into(),
        configuration_aggregator_name: "buckets".into(),
        resource_identifier: Some(pb::AggregateResourceIdentifier {
            source_account_id: OWNER.into(),
            source_region: HOME.into(),
            resource_id: "i1".into(),
            resource_type: INSTANCE.into(),
            resource_name: String::new(),
        }),
        ..Default::default()
    })
    .unwrap();
    let error = fixture
        .views
        .resource_config(&scope, &get)
        .await
        .unwrap_err();
    assert_eq!(reason_of(&error), "ResourceNotDiscoveredException");
}

async fn replacing_sources_hides_dropped_accounts_and_regions_at_once(backend: Backend) {
    let fixture = fixture(backend).await;
    fixture
        .put(put_request(
            "audit",
            &[OWNER, SOURCE, PENDING],
            &[HOME, OTHER],
        ))
        .await
        .unwrap();
    fixture.seed("audit").await;
    let counts = ResourceCountsQuery::try_from(pb::GetAggregateDiscoveredResourceCountsRequest {
        region: HOME.into(),
        configuration_aggregator_name: "audit".into(),
        group_by_key: pb::ResourceCountGroupKey::AccountId as i32,
        ..Default::default()
    })
    .unwrap();
    let scope = fixture.scope("audit").await;
    let (total, _, _) = fixture
        .views
        .discovered_resource_counts(&scope, &counts)
        .await
        .unwrap();
    assert_eq!(total, 6);
    // Dropping the source account hides its data before replication re-resolves anything.
    fixture
        .put(put_request("audit", &[OWNER, PENDING], &[HOME, OTHER]))
        .await
        .unwrap();
    let (total, groups, _) = fixture
        .views
        .discovered_resource_counts(&scope, &counts)
        .await
        .unwrap();
    assert_eq!(total, 3);
    assert_eq!(groups.len(), 1);
    // Dropping a region hides it too; the other aggregator's rows are untouched.
    fixture
        .put(put_request("audit", &[OWNER, PENDING], &[HOME]))
        .await
        .unwrap();
    let (total, _, _) = fixture
        .views
        .discovered_resource_counts(&scope, &counts)
        .await
        .unwrap();
    assert_eq!(total, 2);
    assert_eq!(fixture.count("aggregator_entitlements").await, 3);
}

async fn sources_status_reports_entitlement_and_replication(backend: Backend) {
    let fixture = fixture(backend).await;
    fixture
        .put(put_request(
            "audit",
            &[OWNER, SOURCE, PENDING],
            &[HOME, OTHER],
        ))
        .await
        .unwrap();
    fixture.entitle("audit", OWNER, HOME, "AUTHORIZED").await;
    fixture.entitle("audit", OWNER, OTHER, "AUTHORIZED").await;
    fixture.entitle("audit", SOURCE, HOME, "AUTHORIZED").await;
    fixture.entitle("audit", PENDING, HOME, "PENDING").await;
    let pair = |account_id: &str, region: &str, status: &str, lag_ms: i64| pairs::ActiveModel {
        account_id: Set(account_id.into()),
        region: Set(region.into()),
        state: Set("live".into()),
        status: Set(status.into()),
        last_attempt_micros: Set(Some(5_000_000)),
        last_success_micros: Set(Some(4_000_000)),
        applied_seq: Set(3),
        lag_ms: Set(Some(lag_ms)),
        error_code: Set((status == "FAILED").then(|| "CollectorUnavailable".into())),
        error_message: Set((status == "FAILED").then(|| "connection refused".into())),
        hidden_since_micros: Set(None),
    };
    pairs::Entity::insert_many([
        pair(OWNER, HOME, "SUCCEEDED", 10),
        pair(OWNER, OTHER, "FAILED", 10),
        pair(SOURCE, HOME, "SUCCEEDED", 60_000),
    ])
    .exec(&fixture.db)
    .await
    .unwrap();
    regions::Entity::insert(regions::ActiveModel {
        region: Set(HOME.into()),
        applied_seq: Set(3),
        applied_at: Set(None),
        status: Set("SUCCEEDED".into()),
        error_code: Set(None),
        error_message: Set(None),
        last_attempt_micros: Set(Some(5_000_000)),
        last_success_micros: Set(Some(5_000_000)),
        lag_ms: Set(Some(5)),
    })
    .exec(&fixture.db)
    .await
    .unwrap();
    let query =
        |statuses: Vec<pb::AggregatedSourceStatusType>, page_size: i32, page_token: &str| {
            SourcesStatusQuery::try_from(pb::DescribeConfigurationAggregatorSourcesStatusRequest {
                region: HOME.into(),
                configuration_aggregator_name: "audit".into(),
                update_status: statuses.into_iter().map(|status| status as i32).collect(),
                page_size,
                page_token: page_token.into(),
                ..Default::default()
            })
            .unwrap()
        };
    let (rows, next) = fixture
        .aggregators
        .sources_status(&account(OWNER), query(Vec::new(), 0, ""))
        .await
        .unwrap();
    assert!(next.is_empty());
    use pb::AggregatedSourceStatusType as Status;
    let seen: Vec<(String, String, i32, String)> = rows
        .iter()
        .map(|row| {
            (
                row.source_id.clone(),
                row.aws_region.clone(),
                row.last_update_status,
                row.last_error_code.clone(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            (
                OWNER.to_string(),
                OTHER.to_string(),
                Status::Failed as i32,
                "CollectorUnavailable".to_string()
            ),
            (
                OWNER.to_string(),
                HOME.to_string(),
                Status::Succeeded as i32,
                String::new()
            ),
            (
                SOURCE.to_string(),
                HOME.to_string(),
                Status::Outdated as i32,
                String::new()
            ),
            (
                PENDING.to_string(),
                HOME.to_string(),
                Status::Failed as i32,
                "AUTHORIZATION_NOT_FOUND".to_string()
            ),
        ]
    );
    assert!(
        rows.iter()
            .all(|row| row.source_type == pb::AggregatedSourceType::Account as i32)
    );
    assert_eq!(rows[1].lag_ms, Some(10));
    assert_eq!(rows[1].last_success_time.unwrap().seconds, 4);
    assert_eq!(rows[1].last_update_time.unwrap().seconds, 5);

    let (failed, _) = fixture
        .aggregators
        .sources_status(&account(OWNER), query(vec![Status::Failed], 0, ""))
        .await
        .unwrap();
    assert_eq!(failed.len(), 2);
    let (first, next) = fixture
        .aggregators
        .sources_status(&account(OWNER), query(Vec::new(), 3, ""))
        .await
        .unwrap();
    assert_eq!(first.len(), 3);
    let (rest, last) = fixture
        .aggregators
        .sources_status(&account(OWNER), query(Vec::new(), 3, &next))
        .await
        .unwrap();
    assert_eq!(rest.len(), 1);
    assert_eq!(rest[0].source_id, PENDING);
    assert!(last.is_empty());

    // An organization aggregator also reports the organization per region.
    let mut organization = put_request("org", &[], &[]);
    organization.account_aggregation_sources.clear();
    organization.organization_aggregation_source = Some(pb::OrganizationAggregationSource {
        role_arn: "arn:aws:iam::111111111111:role/config".into(),
        aws_regions: vec![HOME.into(), OTHER.into()],
        all_aws_regions: false,
    });
    fixture.put(organization).await.unwrap();
    fixture.entitle("org", OWNER, HOME, "AUTHORIZED").await;
    fixture.entitle("org", SOURCE, HOME, "AUTHORIZED").await;
    fixture.entitle("org", OWNER, OTHER, "NOT_A_MEMBER").await;
    let org_query =
        SourcesStatusQuery::try_from(pb::DescribeConfigurationAggregatorSourcesStatusRequest {
            region: HOME.into(),
            configuration_aggregator_name: "org".into(),
            ..Default::default()
        })
        .unwrap();
    let (rows, _) = fixture
        .aggregators
        .sources_status(&account(OWNER), org_query)
        .await
        .unwrap();
    let seen: Vec<(i32, String, String, i32, i32)> = rows
        .iter()
        .map(|row| {
            (
                row.source_type,
                row.source_id.clone(),
                row.aws_region.clone(),
                row.last_update_status,
                row.entitled_account_count,
            )
        })
        .collect();
    let organization = pb::AggregatedSourceType::Organization as i32;
    let account_row = pb::AggregatedSourceType::Account as i32;
    assert_eq!(
        seen,
        [
            (
                organization,
                "o-abcdefghij".to_string(),
                OTHER.to_string(),
                Status::Failed as i32,
                0
            ),
            (
                organization,
                "o-abcdefghij".to_string(),
                HOME.to_string(),
                Status::Succeeded as i32,
                2
            ),
            (
                account_row,
                OWNER.to_string(),
                OTHER.to_string(),
                Status::Failed as i32,
                0
            ),
            (
                account_row,
                OWNER.to_string(),
                HOME.to_string(),
                Status::Succeeded as i32,
                0
            ),
            (
                account_row,
                SOURCE.to_string(),
                HOME.to_string(),
                Status::Outdated as i32,
                0
            ),
        ]
    );
    assert_eq!(rows[0].last_error_code, "ORGANIZATION_ACCESS_DENIED");
}

async fn pages_are_keyset_cut_and_tokens_bound_to_their_request(backend: Backend) {
    let fixture = fixture(backend).await;
    for name in ["a", "b", "c", "d", "e"] {
        fixture
            .put(put_request(name, &[SOURCE], &[HOME]))
            .await
            .unwrap();
    }
    let describe = |page_size: i32, page_token: &str, names: Vec<String>| {
        DescribeAggregators::try_from(pb::DescribeConfigurationAggregatorsRequest {
            region: HOME.into(),
            configuration_aggregator_names: names,
            page_size,
            page_token: page_token.into(),
            ..Default::default()
        })
        .unwrap()
    };
    let mut names = Vec::new();
    let mut token = String::new();
    loop {
        let (page, next) = fixture
            .aggregators
            .describe(&account(OWNER), describe(2, &token, Vec::new()))
            .await
            .unwrap();
        assert!(page.len() <= 2);
        names.extend(
            page.into_iter()
                .map(|aggregator| aggregator.configuration_aggregator_name),
        );
        if next.is_empty() {
            break;
        }
        token = next;
    }
    assert_eq!(names, ["a", "b", "c", "d", "e"]);
    let (_, token) = fixture
        .aggregators
        .describe(&account(OWNER), describe(2, "", Vec::new()))
        .await
        .unwrap();
    let error = fixture
        .aggregators
        .describe(&account(OWNER), describe(2, &token, vec!["a".into()]))
        .await
        .unwrap_err();
    assert_eq!(reason_of(&error), "InvalidNextTokenException");
    let error = fixture
        .aggregators
        .describe(&account(OWNER), describe(101, "", Vec::new()))
        .await
        .unwrap_err();
    assert_eq!(reason_of(&error), "InvalidLimitException");
    let error = fixture
        .aggregators
        .describe(
            &account(OWNER),
            describe(0, "", vec!["a".into(), "zz".into()]),
        )
        .await
        .unwrap_err();
    assert_eq!(reason_of(&error), "NoSuchConfigurationAggregatorException");
    assert!(error.to_string().contains("At least one"));
    let error = DescribeAggregators::try_from(pb::DescribeConfigurationAggregatorsRequest {
        region: HOME.into(),
        configuration_aggregator_names: (0..11).map(|index| format!("n{index}")).collect(),
        ..Default::default()
    })
    .unwrap_err();
    assert_eq!(reason_of(&error), "ValidationException");

    // View tokens are bound to their aggregator and filters, and page sizes to their maxima.
    fixture
        .put(put_request(
            "audit",
            &[OWNER, SOURCE, PENDING],
            &[HOME, OTHER],
        ))
        .await
        .unwrap();
    fixture.seed("audit").await;
    let scope = fixture.scope("audit").await;
    let mut query = rule_query("audit");
    query.paging.page_size = 1;
    let mut seen = Vec::new();
    loop {
        let (rows, next) = fixture
            .views
            .compliance_by_config_rules(&scope, &query)
            .await
            .unwrap();
        seen.extend(
            rows.into_iter()
                .map(|row| (row.config_rule_name, row.account_id, row.aws_region)),
        );
        if next.is_empty() {
            break;
        }
        query.paging.page_token = next;
    }
    assert_eq!(seen.len(), 4);
    let (_, token) = fixture
        .views
        .compliance_by_config_rules(
            &scope,
            &RuleComplianceQuery {
                paging: tributary_aggregator::views::inputs::Paging {
                    page_size: 1,
                    page_token: String::new(),
                },
                ..rule_query("audit")
            },
        )
        .await
        .unwrap();
    let mut filtered = rule_query("audit");
    filtered.account_id = OWNER.into();
    filtered.paging.page_token = token;
    let error = fixture
        .views
        .compliance_by_config_rules(&scope, &filtered)
        .await
        .unwrap_err();
    assert_eq!(reason_of(&error), "InvalidNextTokenException");
    let mut too_big = rule_query("audit");
    too_big.paging.page_size = 1001;
    let error = fixture
        .views
        .compliance_by_config_rules(&scope, &too_big)
        .await
        .unwrap_err();
    assert_eq!(reason_of(&error), "InvalidLimitException");
    let list = ListResourcesQuery::try_from(pb::ListAggregateDiscoveredResourcesRequest {
        region: HOME.into(),
        configuration_aggregator_name: "audit".into(),
        resource_type: BUCKET.into(),
        page_size: 101,
        ..Default::default()
    })
    .unwrap();
    let error = fixture
        .views
        .list_discovered_resources(&scope, &list)
        .await
        .unwrap_err();
    assert_eq!(reason_of(&error), "InvalidLimitException");
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
        let name = format!("trb_{}_aggregator", tributary_runtime::db::random_hex(6));
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
