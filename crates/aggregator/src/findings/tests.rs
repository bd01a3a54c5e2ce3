//! The aggregated findings store against a real SQLite database, driven the way the replication
//! engine and the gRPC layer drive it.

use prost::Message;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, DatabaseConnection, EntityTrait};
use tributary_proto::{aggregator::v1 as pb, collector::v1 as collector_pb};
use tributary_runtime::{
    auth::{Caller, Principal},
    version::Version,
};
use tributary_securityhub::merge::{FieldGroup, FieldVersions};

use super::{
    AggregatedFindings,
    apply::apply,
    inputs::{BatchUpdate, FindingsQuery},
    outbox::OutboxHandle,
    replication::{MIRROR_NAME, backfilled, reconcile},
};
use crate::{
    replica::Outcome,
    store::{
        aggregated_finding_scopes as scopes, aggregator_entitlements as entitlements,
        finding_aggregators, finding_update_outbox as outbox, replication_pairs as pairs,
    },
};

const OWNER: &str = "111111111111";
const MEMBER: &str = "222222222222";
const HOME: &str = "us-east-1";
const LINKED: &str = "eu-west-1";

async fn store() -> (
    tempfile::TempDir,
    DatabaseConnection,
    std::sync::Arc<AggregatedFindings>,
) {
    let directory = tempfile::tempdir().unwrap();
    let settings = tributary_runtime::config::ServerSettings::with_defaults(
        ([127, 0, 0, 1], 0).into(),
        &directory.path().join("aggregator.db").display().to_string(),
    );
    let (db, page_tokens) = tributary_runtime::db::open::<crate::store::Migrator>(&settings)
        .await
        .unwrap();
    let findings = AggregatedFindings::new(db.clone(), page_tokens, OutboxHandle::detached());
    (directory, db, findings)
}

async fn aggregator(db: &DatabaseConnection, backfill: bool) {
    finding_aggregators::ActiveModel {
        owner_account_id: Set(OWNER.into()),
        aggregator_id: Set("id".into()),
        arn: Set(format!(
            "arn:aws:securityhub:{HOME}:{OWNER}:finding-aggregator/id"
        )),
        home_region: Set(HOME.into()),
        region_linking_mode: Set("ALL_REGIONS".into()),
        regions: Set("[]".into()),
        backfill_existing_findings: Set(backfill),
        created_at_micros: Set(0),
        updated_at_micros: Set(0),
    }
    .insert(db)
    .await
    .unwrap();
}

/// Sets the mirror's row of (account, region) for the owner's aggregator; `None` removes it.
async fn mirror(db: &DatabaseConnection, account_id: &str, region: &str, status: Option<&str>) {
    entitlements::Entity::delete_by_id((
        OWNER.to_string(),
        HOME.to_string(),
        MIRROR_NAME.to_string(),
        account_id.to_string(),
        region.to_string(),
    ))
    .exec(db)
    .await
    .unwrap();
    if let Some(status) = status {
        entitlements::ActiveModel {
            owner_account_id: Set(OWNER.into()),
            home_region: Set(HOME.into()),
            aggregator_name: Set(MIRROR_NAME.into()),
            account_id: Set(account_id.into()),
            region: Set(region.into()),
            status: Set(status.into()),
            reason: Set(String::new()),
            changed_at_micros: Set(0),
        }
        .insert(db)
        .await
        .unwrap();
    }
}

async fn live_pair(db: &DatabaseConnection, account_id: &str, region: &str, applied_seq: i64) {
    pairs::ActiveModel {
        account_id: Set(account_id.into()),
        region: Set(region.into()),
        state: Set("live".into()),
        status: Set("SUCCEEDED".into()),
        last_attempt_micros: Set(None),
        last_success_micros: Set(None),
        applied_seq: Set(applied_seq),
        lag_ms: Set(None),
        error_code: Set(None),
        error_message: Set(None),
        hidden_since_micros: Set(None),
    }
    .insert(db)
    .await
    .unwrap();
}

async fn scope(db: &DatabaseConnection, account_id: &str, region: &str) -> scopes::Model {
    scopes::Entity::find_by_id((
        OWNER.to_string(),
        HOME.to_string(),
        account_id.to_string(),
        region.to_string(),
    ))
    .one(db)
    .await
    .unwrap()
    .unwrap()
}

fn version(wall_ms: u64, node_id: u32) -> Version {
    Version {
        wall_ms,
        logical: 0,
        node_id,
    }
}

fn finding(account_id: &str, region: &str, id: &str, title: &str) -> collector_pb::Finding {
    collector_pb::Finding {
        id: id.into(),
        product_arn: format!(
            "arn:aws:securityhub:{region}:{account_id}:product/{account_id}/default"
        ),
        aws_account_id: account_id.into(),
        region: region.into(),
        title: title.into(),
        ..Default::default()
    }
}

/// A finding record whose groups all carry `group_version`, except those in `groups` which carry
/// `changed` (a write that set only them).
fn record(
    seq: u64,
    finding: &collector_pb::Finding,
    versions: &FieldVersions,
) -> collector_pb::ChangeRecord {
    collector_pb::ChangeRecord {
        seq,
        account_id: finding.aws_account_id.clone(),
        kind: collector_pb::ChangeKind::Finding as i32,
        key: format!("{}|{}", finding.product_arn, finding.id),
        version: versions.newest().map(Version::to_proto),
        op: collector_pb::ChangeOp::Upsert as i32,
        payload: Some(collector_pb::change_record::Payload::Finding(Box::new(
            finding.clone(),
        ))),
        finding_field_versions: Some(versions.to_proto()),
        ..Default::default()
    }
}

fn account(account_id: &str) -> Caller {
    Caller {
        key_id: "key".into(),
        principal: Principal::Account {
            account_id: account_id.into(),
        },
    }
}

async fn seen(findings: &AggregatedFindings, account_id: &str) -> Vec<(String, String)> {
    let query = FindingsQuery::parse(
        &account(account_id),
        pb::GetFindingsRequest {
            region: HOME.into(),
            ..Default::default()
        },
    )
    .unwrap();
    let (found, _) = findings.get_findings(query).await.unwrap();
    let mut seen: Vec<(String, String)> = found
        .into_iter()
        .map(|finding| (finding.aws_account_id, finding.id))
        .collect();
    seen.sort();
    seen
}

#[tokio::test]
async fn linked_pairs_count_changes_from_their_start_and_merge_by_group() {
    let (_directory, db, findings) = store().await;
    aggregator(&db, false).await;
    mirror(&db, OWNER, LINKED, Some("AUTHORIZED")).await;
    mirror(&db, MEMBER, LINKED, Some("AUTHORIZED")).await;
    live_pair(&db, OWNER, LINKED, 10).await;
    reconcile(&db, LINKED).await.unwrap();
    assert_eq!(scope(&db, OWNER, LINKED).await.started_seq, Some(10));
    assert_eq!(scope(&db, MEMBER, LINKED).await.started_seq, None);

    let all_at = |wall_ms| FieldVersions::all_at(version(wall_ms, 1));
    let old = finding(OWNER, LINKED, "old", "before linking");
    assert_eq!(
        apply(&db, LINKED, &record(5, &old, &all_at(5)))
            .await
            .unwrap(),
        Outcome::Ignored,
        "a change from before the link is not aggregated"
    );
    let new = finding(OWNER, LINKED, "new", "after linking");
    assert_eq!(
        apply(&db, LINKED, &record(11, &new, &all_at(11)))
            .await
            .unwrap(),
        Outcome::Applied
    );
    let member = finding(MEMBER, LINKED, "m", "member");
    assert_eq!(
        apply(&db, LINKED, &record(12, &member, &all_at(12)))
            .await
            .unwrap(),
        Outcome::Ignored,
        "the member's pair starts when its back-fill completes"
    );
    backfilled(&db, LINKED, &[MEMBER.to_string()], 20)
        .await
        .unwrap();
    assert_eq!(
        apply(&db, LINKED, &record(21, &member, &all_at(21)))
            .await
            .unwrap(),
        Outcome::Applied
    );
    assert_eq!(
        seen(&findings, OWNER).await,
        [
            (OWNER.to_string(), "new".to_string()),
            (MEMBER.to_string(), "m".to_string())
        ]
    );
    assert_eq!(
        seen(&findings, MEMBER).await,
        [(MEMBER.to_string(), "m".to_string())],
        "a member sees only its own copies"
    );

    // A newer note merges in; the same write again, or an older one, changes nothing.
    let mut noted = new.clone();
    noted.note = Some(collector_pb::FindingNote {
        text: "looked at".into(),
        updated_by: "analyst".into(),
        updated_at: None,
    });
    let mut versions = all_at(11);
    versions.set(
        FieldGroup::Note,
        tributary_securityhub::merge::GroupVersion {
            version: version(30, 2),
            customer_modified: true,
        },
    );
    let noted_record = record(31, &noted, &versions);
    assert_eq!(
        apply(&db, LINKED, &noted_record).await.unwrap(),
        Outcome::Applied
    );
    assert_eq!(
        apply(&db, LINKED, &noted_record).await.unwrap(),
        Outcome::Stale
    );
    let mut stale = new.clone();
    stale.title = "an older title".into();
    assert_eq!(
        apply(&db, LINKED, &record(32, &stale, &all_at(9)))
            .await
            .unwrap(),
        Outcome::Stale
    );
    let copy = super::load_copy(&db, OWNER, &new.product_arn, "new")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(copy.versioned.finding.title, "after linking");
    assert_eq!(copy.versioned.finding.note, noted.note);
    assert_eq!(copy.region, LINKED);
}

#[tokio::test]
async fn back_fill_takes_existing_findings_and_the_home_region_always_does() {
    let (_directory, db, _findings) = store().await;
    aggregator(&db, false).await;
    mirror(&db, OWNER, HOME, Some("AUTHORIZED")).await;
    mirror(&db, OWNER, LINKED, Some("AUTHORIZED")).await;
    reconcile(&db, HOME).await.unwrap();
    reconcile(&db, LINKED).await.unwrap();
    assert!(scope(&db, OWNER, HOME).await.backfill);
    assert!(!scope(&db, OWNER, LINKED).await.backfill);
    let versions = FieldVersions::all_at(version(3, 1));
    // Snapshot records of a pair still back-filling: only the home region takes them.
    let home = finding(OWNER, HOME, "h", "home");
    assert_eq!(
        apply(&db, HOME, &record(3, &home, &versions))
            .await
            .unwrap(),
        Outcome::Applied
    );
    let linked = finding(OWNER, LINKED, "l", "linked");
    assert_eq!(
        apply(&db, LINKED, &record(3, &linked, &versions))
            .await
            .unwrap(),
        Outcome::Ignored
    );

    // An aggregator that asks for back-fill sends an already live pair back to snapshot.
    let (_directory, db, _findings) = store().await;
    aggregator(&db, true).await;
    mirror(&db, OWNER, LINKED, Some("AUTHORIZED")).await;
    live_pair(&db, OWNER, LINKED, 40).await;
    reconcile(&db, LINKED).await.unwrap();
    let pair = pairs::Entity::find_by_id((OWNER.to_string(), LINKED.to_string()))
        .one(&db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(pair.state, "snapshot");
    assert_eq!(scope(&db, OWNER, LINKED).await.started_seq, None);
    assert_eq!(
        apply(&db, LINKED, &record(3, &linked, &versions))
            .await
            .unwrap(),
        Outcome::Applied
    );
    backfilled(&db, LINKED, &[OWNER.to_string()], 41)
        .await
        .unwrap();
    let started = scope(&db, OWNER, LINKED).await;
    assert_eq!((started.started_seq, started.backfill), (Some(41), false));
}

#[tokio::test]
async fn a_member_that_leaves_is_hidden_from_the_owner_and_unlinking_keeps_copies() {
    let (_directory, db, findings) = store().await;
    aggregator(&db, true).await;
    mirror(&db, OWNER, LINKED, Some("AUTHORIZED")).await;
    mirror(&db, MEMBER, LINKED, Some("AUTHORIZED")).await;
    reconcile(&db, LINKED).await.unwrap();
    backfilled(&db, LINKED, &[OWNER.to_string(), MEMBER.to_string()], 1)
        .await
        .unwrap();
    let versions = FieldVersions::all_at(version(2, 1));
    for finding in [
        finding(OWNER, LINKED, "o", "owner's"),
        finding(MEMBER, LINKED, "m", "member's"),
    ] {
        assert_eq!(
            apply(&db, LINKED, &record(2, &finding, &versions))
                .await
                .unwrap(),
            Outcome::Applied
        );
    }
    assert_eq!(seen(&findings, OWNER).await.len(), 2);

    // The member is disassociated: membership stops listing it while the region stays linked.
    mirror(&db, MEMBER, LINKED, None).await;
    reconcile(&db, LINKED).await.unwrap();
    assert_eq!(scope(&db, MEMBER, LINKED).await.state, scopes::HIDDEN);
    assert_eq!(
        seen(&findings, OWNER).await,
        [(OWNER.to_string(), "o".to_string())]
    );
    assert_eq!(
        seen(&findings, MEMBER).await.len(),
        1,
        "its own copies stay its own"
    );
    let later = finding(MEMBER, LINKED, "m2", "after leaving");
    assert_eq!(
        apply(
            &db,
            LINKED,
            &record(3, &later, &FieldVersions::all_at(version(3, 1)))
        )
        .await
        .unwrap(),
        Outcome::Ignored
    );

    // The region is unlinked: nothing new arrives, the copies stay visible.
    mirror(&db, OWNER, LINKED, None).await;
    reconcile(&db, LINKED).await.unwrap();
    assert_eq!(scope(&db, OWNER, LINKED).await.state, scopes::STOPPED);
    assert_eq!(seen(&findings, OWNER).await.len(), 1);
    let after = finding(OWNER, LINKED, "o2", "after unlinking");
    assert_eq!(
        apply(
            &db,
            LINKED,
            &record(4, &after, &FieldVersions::all_at(version(4, 1)))
        )
        .await
        .unwrap(),
        Outcome::Ignored
    );

    // Linked again: the member is back and counting starts afresh.
    mirror(&db, OWNER, LINKED, Some("AUTHORIZED")).await;
    mirror(&db, MEMBER, LINKED, Some("AUTHORIZED")).await;
    reconcile(&db, LINKED).await.unwrap();
    assert_eq!(scope(&db, MEMBER, LINKED).await.state, scopes::LINKED);
    assert_eq!(scope(&db, MEMBER, LINKED).await.started_seq, None);
    assert_eq!(seen(&findings, OWNER).await.len(), 2);
}

#[tokio::test]
async fn home_updates_get_new_versions_queue_for_the_origin_and_come_back_as_no_ops() {
    let (_directory, db, findings) = store().await;
    aggregator(&db, true).await;
    mirror(&db, OWNER, LINKED, Some("AUTHORIZED")).await;
    mirror(&db, MEMBER, LINKED, Some("AUTHORIZED")).await;
    reconcile(&db, LINKED).await.unwrap();
    backfilled(&db, LINKED, &[OWNER.to_string(), MEMBER.to_string()], 1)
        .await
        .unwrap();
    let original = finding(MEMBER, LINKED, "m", "member's");
    let origin_versions = FieldVersions::all_at(version(5, 7));
    apply(&db, LINKED, &record(2, &original, &origin_versions))
        .await
        .unwrap();

    // The administrator updates its member's copy; a stranger cannot see it.
    let request = |account_id: &str| pb::BatchUpdateFindingsRequest {
        region: HOME.into(),
        account_id: account_id.into(),
        finding_identifiers: vec![collector_pb::FindingIdentifier {
            id: "m".into(),
            product_arn: original.product_arn.clone(),
        }],
        workflow: Some(collector_pb::FindingWorkflow {
            status: collector_pb::WorkflowStatus::Resolved as i32,
        }),
        ..Default::default()
    };
    let stranger = findings
        .batch_update(
            &account("333333333333"),
            BatchUpdate::parse(&account("333333333333"), request("")).unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(stranger.unprocessed[0].1.code, "FindingNotFound");
    let outcome = findings
        .batch_update(
            &account(OWNER),
            BatchUpdate::parse(&account(OWNER), request("")).unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(outcome.processed.len(), 1, "{outcome:?}");
    let copy = super::load_copy(&db, MEMBER, &original.product_arn, "m")
        .await
        .unwrap()
        .unwrap();
    let workflow = copy.versioned.versions.get(FieldGroup::Workflow).unwrap();
    assert!(workflow.version > version(5, 7) && workflow.customer_modified);
    assert_eq!(
        copy.versioned
            .versions
            .get(FieldGroup::Note)
            .unwrap()
            .version,
        version(5, 7),
        "unchanged groups keep their versions"
    );

    let queued = outbox::Entity::find().all(&db).await.unwrap();
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].region, LINKED);
    let update =
        collector_pb::ReplicatedFindingUpdate::decode(queued[0].update.as_slice()).unwrap();
    let groups: Vec<i32> = update
        .field_versions
        .as_ref()
        .unwrap()
        .groups
        .iter()
        .map(|group| group.group)
        .collect();
    assert_eq!(groups, [collector_pb::FindingFieldGroup::Workflow as i32]);
    assert_eq!(
        update.update_source.unwrap().identity,
        format!("account/{OWNER} (key)")
    );

    // The origin applies it and appends the merged finding: coming back, it changes nothing.
    let echoed = record(3, &copy.versioned.finding, &copy.versioned.versions);
    assert_eq!(apply(&db, LINKED, &echoed).await.unwrap(), Outcome::Stale);
    // A concurrent origin change of another group survives next to the home one.
    let mut origin = original.clone();
    origin.verification_state = collector_pb::VerificationState::TruePositive as i32;
    let mut concurrent = origin_versions.clone();
    concurrent.set(
        FieldGroup::VerificationState,
        tributary_securityhub::merge::GroupVersion {
            version: version(6, 7),
            customer_modified: true,
        },
    );
    assert_eq!(
        apply(&db, LINKED, &record(4, &origin, &concurrent))
            .await
            .unwrap(),
        Outcome::Applied
    );
    let merged = super::load_copy(&db, MEMBER, &original.product_arn, "m")
        .await
        .unwrap()
        .unwrap()
        .versioned
        .finding;
    assert_eq!(
        merged.workflow.unwrap().status,
        collector_pb::WorkflowStatus::Resolved as i32
    );
    assert_eq!(
        merged.verification_state,
        collector_pb::VerificationState::TruePositive as i32
    );

    // A copy whose region is no longer linked is updated here only.
    mirror(&db, MEMBER, LINKED, Some("NOT_A_MEMBER")).await;
    reconcile(&db, LINKED).await.unwrap();
    let mut as_member = request("");
    as_member.confidence = Some(10);
    let outcome = findings
        .batch_update(
            &account(MEMBER),
            BatchUpdate::parse(&account(MEMBER), as_member).unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(outcome.processed.len(), 1);
    assert_eq!(outbox::Entity::find().all(&db).await.unwrap().len(), 1);
}
