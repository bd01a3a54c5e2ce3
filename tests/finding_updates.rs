//! End-to-end tests of finding updates over real gRPC on SQLite and PostgreSQL:
//! BatchUpdateFindings, field-group versions in the change log, GetFindingHistory,
//! ApplyReplicatedUpdates and finding retention.

// A panic in a test is a failed assertion with a location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use support::{Backend, TestCluster, eventually, make_enabled_member, reason, sample_finding};
use tonic::Code;
use tributary_proto::{
    collector::v1 as pb, membership::v1 as membership_pb, types::v1 as types_pb,
};

on_both_backends!(
    customer_updates_set_owned_fields_version_groups_and_survive_provider_updates,
    finding_history_lists_every_change_newest_first_in_pages,
    bad_update_requests_are_refused_whole,
    administrators_update_members_findings_and_hubless_accounts_are_refused,
    replicated_updates_merge_by_group_once,
    expired_findings_are_deleted_with_change_records,
);

const REGION: &str = "us-east-1";
const ACCOUNT: &str = "111111111111";
const MEMBER: &str = "222222222222";
const OUTSIDER: &str = "333333333333";

fn finding(account: &str, id: &str, updated: i64) -> pb::Finding {
    sample_finding(REGION, account, id, pb::SeverityLabel::High, updated)
}

fn identifier(account: &str, id: &str) -> pb::FindingIdentifier {
    pb::FindingIdentifier {
        id: id.into(),
        product_arn: finding(account, id, 0).product_arn,
    }
}

async fn import(cluster: &TestCluster, key: &str, findings: Vec<pb::Finding>) {
    let response = cluster
        .findings(REGION, key)
        .batch_import_findings(pb::BatchImportFindingsRequest { findings })
        .await
        .expect("the import call succeeds")
        .into_inner();
    assert_eq!(response.failed_count, 0, "{response:?}");
}

async fn update(
    cluster: &TestCluster,
    key: &str,
    request: pb::BatchUpdateFindingsRequest,
) -> pb::BatchUpdateFindingsResponse {
    cluster
        .findings(REGION, key)
        .batch_update_findings(request)
        .await
        .expect("the update call succeeds")
        .into_inner()
}

/// A cluster where ACCOUNT has its hub enabled and imported finding "a"; returns ACCOUNT's key.
async fn cluster_with_finding(backend: Backend) -> (TestCluster, String) {
    let cluster = TestCluster::builder(backend)
        .collector(REGION)
        .start()
        .await;
    let key = cluster.hub_account_key(ACCOUNT, REGION).await;
    import(&cluster, &key, vec![finding(ACCOUNT, "a", 1_700_000_100)]).await;
    (cluster, key)
}

/// A BatchUpdateFindings request setting the workflow status of `identifiers`.
fn set_workflow(
    identifiers: Vec<pb::FindingIdentifier>,
    status: pb::WorkflowStatus,
) -> pb::BatchUpdateFindingsRequest {
    pb::BatchUpdateFindingsRequest {
        finding_identifiers: identifiers,
        workflow: Some(pb::FindingWorkflow {
            status: status as i32,
        }),
        ..Default::default()
    }
}

async fn stored(cluster: &TestCluster, key: &str, account: &str, id: &str) -> pb::Finding {
    cluster
        .findings(REGION, key)
        .get_findings(pb::GetFindingsRequest {
            filters: Some(pb::FindingFilters {
                aws_account_id: vec![pb::StringFilter {
                    value: account.into(),
                    comparison: pb::StringFilterComparison::Equals as i32,
                }],
                ..Default::default()
            }),
            page_size: 100,
            ..Default::default()
        })
        .await
        .expect("findings are listed")
        .into_inner()
        .findings
        .into_iter()
        .find(|finding| finding.id == id)
        .expect("the finding is listed")
}

async fn head(cluster: &TestCluster) -> u64 {
    cluster
        .change_log(REGION, cluster.service_key())
        .get_head(pb::GetHeadRequest {})
        .await
        .unwrap()
        .into_inner()
        .head_seq
}

/// Every finding change record of `account` above `from` until the head, in order.
async fn finding_records(cluster: &TestCluster, account: &str, from: u64) -> Vec<pb::ChangeRecord> {
    let until = head(cluster).await;
    let aggregator = cluster
        .entitled_config_aggregator(account, REGION, "updates", &[account], &[REGION])
        .await;
    let mut stream = cluster
        .change_log(REGION, cluster.service_key())
        .subscribe(pb::SubscribeRequest {
            from_seq: from,
            account_ids: vec![account.into()],
            kinds: vec![pb::ChangeKind::Finding as i32],
            aggregator: Some(aggregator),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let mut records = Vec::new();
    let mut through = from;
    while through < until {
        let batch = tokio::time::timeout(Duration::from_secs(10), stream.message())
            .await
            .expect("the stream delivers")
            .unwrap()
            .expect("the stream stays open");
        through = batch.through_seq;
        records.extend(batch.records);
    }
    records
}

fn group_version(
    record: &pb::ChangeRecord,
    group: pb::FindingFieldGroup,
) -> pb::FindingFieldVersion {
    record
        .finding_field_versions
        .as_ref()
        .expect("finding records carry field versions")
        .groups
        .iter()
        .find(|version| version.group == group as i32)
        .cloned()
        .unwrap_or_else(|| panic!("{group:?} has a version"))
}

fn ordered(version: &pb::FindingFieldVersion) -> (u64, u32, u32) {
    let version = version.version.as_ref().expect("a version");
    (version.wall_ms, version.logical, version.node_id)
}

async fn customer_updates_set_owned_fields_version_groups_and_survive_provider_updates(
    backend: Backend,
) {
    let (cluster, key) = cluster_with_finding(backend).await;
    let before = head(&cluster).await;

    let response = update(
        &cluster,
        &key,
        pb::BatchUpdateFindingsRequest {
            finding_identifiers: vec![
                identifier(ACCOUNT, "a"),
                identifier(ACCOUNT, "missing"),
                identifier(ACCOUNT, "twice"),
                identifier(ACCOUNT, "twice"),
            ],
            note: Some(pb::FindingNoteUpdate {
                text: "looked at it".into(),
                updated_by: "analyst".into(),
            }),
            severity: Some(pb::FindingSeverityUpdate {
                label: pb::SeverityLabel::Low as i32,
                ..Default::default()
            }),
            verification_state: pb::VerificationState::TruePositive as i32,
            confidence: Some(80),
            types: vec!["TTPs/Discovery".into()],
            user_defined_fields: [("owner".to_string(), "team-a".to_string())]
                .into_iter()
                .collect(),
            workflow: Some(pb::FindingWorkflow {
                status: pb::WorkflowStatus::Notified as i32,
            }),
            related_findings: vec![pb::FindingRelatedFinding {
                product_arn: finding(ACCOUNT, "b", 0).product_arn,
                id: "b".into(),
            }],
            ..Default::default()
        },
    )
    .await;
    assert_eq!(response.processed_findings, [identifier(ACCOUNT, "a")]);
    let unprocessed: Vec<(&str, &str)> = response
        .unprocessed_findings
        .iter()
        .map(|failure| {
            (
                failure.finding_identifier.as_ref().unwrap().id.as_str(),
                failure.error_code.as_str(),
            )
        })
        .collect();
    assert_eq!(
        unprocessed,
        [
            ("missing", "FindingNotFound"),
            ("twice", "DuplicatedFindingIdentifier"),
            ("twice", "DuplicatedFindingIdentifier")
        ]
    );
    assert_eq!(head(&cluster).await, before + 1, "one change record");

    let updated = stored(&cluster, &key, ACCOUNT, "a").await;
    assert_eq!(
        updated.workflow.unwrap().status(),
        pb::WorkflowStatus::Notified
    );
    let note = updated.note.clone().unwrap();
    assert_eq!(
        (note.text.as_str(), note.updated_by.as_str()),
        ("looked at it", "analyst")
    );
    assert!(note.updated_at.is_some(), "the server sets the note's time");
    let severity = updated.severity.clone().unwrap();
    assert_eq!(
        (severity.label(), severity.normalized),
        (pb::SeverityLabel::Low, Some(1))
    );
    assert_eq!(
        updated.verification_state(),
        pb::VerificationState::TruePositive
    );
    assert_eq!(updated.confidence, Some(80));
    assert_eq!(updated.types, ["TTPs/Discovery"]);
    assert_eq!(updated.user_defined_fields["owner"], "team-a");
    assert_eq!(updated.related_findings.len(), 1);
    assert_eq!(
        updated.updated_at.as_ref().unwrap().seconds,
        1_700_000_100,
        "updated_at tracks provider updates only"
    );

    // The change record carries the new versions: customer-modified groups are newer than the
    // provider fields, which kept the import's version.
    let records = finding_records(&cluster, ACCOUNT, before - 1).await;
    assert_eq!(records.len(), 2, "the import and the update");
    let (imported, changed) = (&records[0], &records[1]);
    for group in [
        pb::FindingFieldGroup::Workflow,
        pb::FindingFieldGroup::Note,
        pb::FindingFieldGroup::Severity,
        pb::FindingFieldGroup::VerificationState,
        pb::FindingFieldGroup::Classification,
        pb::FindingFieldGroup::UserDefinedFields,
        pb::FindingFieldGroup::RelatedFindings,
    ] {
        let version = group_version(changed, group);
        assert!(version.customer_modified, "{group:?}");
        assert!(
            ordered(&version) > ordered(&group_version(imported, group)),
            "{group:?}"
        );
    }
    for group in [
        pb::FindingFieldGroup::RecordState,
        pb::FindingFieldGroup::ProviderFields,
    ] {
        assert_eq!(
            group_version(changed, group),
            group_version(imported, group)
        );
    }

    // A newer provider update keeps what the customer owns and changed; its values go to the
    // provider fields.
    let mut newer = finding(ACCOUNT, "a", 1_700_000_200);
    newer.severity = Some(pb::FindingSeverity {
        label: pb::SeverityLabel::Critical as i32,
        ..Default::default()
    });
    newer.title = "renamed".into();
    newer.note = Some(pb::FindingNote {
        text: "provider note".into(),
        updated_by: "provider".into(),
        updated_at: Some(prost_types::Timestamp {
            seconds: 1_700_000_200,
            nanos: 0,
        }),
    });
    import(&cluster, &key, vec![newer]).await;
    let after_import = stored(&cluster, &key, ACCOUNT, "a").await;
    assert_eq!(after_import.title, "renamed");
    assert_eq!(
        after_import.severity.unwrap().label(),
        pb::SeverityLabel::Low
    );
    assert_eq!(
        after_import
            .finding_provider_fields
            .unwrap()
            .severity
            .unwrap()
            .label(),
        pb::SeverityLabel::Critical
    );
    assert_eq!(after_import.note, updated.note);
    assert_eq!(
        after_import.workflow.unwrap().status(),
        pb::WorkflowStatus::Notified
    );
    assert_eq!(after_import.types, ["TTPs/Discovery"]);

    // Asking for what is already there is processed without a write.
    let unchanged_head = head(&cluster).await;
    let again = update(
        &cluster,
        &key,
        pb::BatchUpdateFindingsRequest {
            finding_identifiers: vec![identifier(ACCOUNT, "a")],
            confidence: Some(80),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(again.processed_findings.len(), 1);
    assert_eq!(head(&cluster).await, unchanged_head);
    cluster.shutdown().await;
}

async fn finding_history_lists_every_change_newest_first_in_pages(backend: Backend) {
    let (cluster, key) = cluster_with_finding(backend).await;
    update(
        &cluster,
        &key,
        set_workflow(
            vec![identifier(ACCOUNT, "a")],
            pb::WorkflowStatus::Suppressed,
        ),
    )
    .await;
    let mut newer = finding(ACCOUNT, "a", 1_700_000_200);
    newer.title = "renamed".into();
    import(&cluster, &key, vec![newer]).await;

    let mut records = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = cluster
            .findings(REGION, &key)
            .get_finding_history(pb::GetFindingHistoryRequest {
                finding_identifier: Some(identifier(ACCOUNT, "a")),
                page_size: 1,
                page_token,
                ..Default::default()
            })
            .await
            .expect("the history is listed")
            .into_inner();
        assert!(page.records.len() <= 1);
        records.extend(page.records);
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    assert_eq!(records.len(), 3, "{records:#?}");
    let source =
        |record: &pb::FindingHistoryRecord| record.update_source.as_ref().unwrap().r#type();
    let fields = |record: &pb::FindingHistoryRecord| -> Vec<(String, String, String)> {
        record
            .updates
            .iter()
            .map(|update| {
                (
                    update.updated_field.clone(),
                    update.old_value.clone(),
                    update.new_value.clone(),
                )
            })
            .collect()
    };
    // Newest first: the provider update, the customer update, the creation.
    assert_eq!(
        source(&records[0]),
        pb::FindingHistoryUpdateSourceType::BatchImportFindings
    );
    assert_eq!(
        fields(&records[0]),
        [(
            "Title".to_string(),
            "finding a".to_string(),
            "renamed".to_string()
        )],
        "timestamps are not history fields"
    );
    assert_eq!(
        source(&records[1]),
        pb::FindingHistoryUpdateSourceType::BatchUpdateFindings
    );
    assert_eq!(
        fields(&records[1]),
        [(
            "Workflow.Status".to_string(),
            "NEW".to_string(),
            "SUPPRESSED".to_string()
        )]
    );
    assert_eq!(
        records[1].update_source.as_ref().unwrap().identity,
        format!(
            "account/{ACCOUNT} ({})",
            cluster
                .access(&key)
                .who_am_i(membership_pb::WhoAmIRequest {})
                .await
                .unwrap()
                .into_inner()
                .key_id
        )
    );
    assert!(records[2].finding_created && records[2].updates.is_empty());
    assert!(!records[0].finding_created);
    let times: Vec<i64> = records
        .iter()
        .map(|record| record.update_time.as_ref().unwrap().seconds)
        .collect();
    assert!(times.windows(2).all(|pair| pair[0] >= pair[1]), "{times:?}");

    // A window after every change is empty; a start after the end is refused.
    let later = prost_types::Timestamp {
        seconds: times[0] + 3600,
        nanos: 0,
    };
    let empty = cluster
        .findings(REGION, &key)
        .get_finding_history(pb::GetFindingHistoryRequest {
            finding_identifier: Some(identifier(ACCOUNT, "a")),
            start_time: Some(later),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(empty.records.is_empty());
    let refused = cluster
        .findings(REGION, &key)
        .get_finding_history(pb::GetFindingHistoryRequest {
            finding_identifier: Some(identifier(ACCOUNT, "a")),
            start_time: Some(later),
            end_time: Some(prost_types::Timestamp {
                seconds: times[0],
                nanos: 0,
            }),
            ..Default::default()
        })
        .await
        .expect_err("a window that ends before it starts is refused");
    assert_eq!(reason(&refused), "InvalidInputException");

    // Another account sees no history of a finding it cannot read.
    let outsider = cluster.hub_account_key(OUTSIDER, REGION).await;
    let hidden = cluster
        .findings(REGION, &outsider)
        .get_finding_history(pb::GetFindingHistoryRequest {
            finding_identifier: Some(identifier(ACCOUNT, "a")),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(hidden.records.is_empty());
    cluster.shutdown().await;
}

async fn bad_update_requests_are_refused_whole(backend: Backend) {
    let (cluster, key) = cluster_with_finding(backend).await;
    let before = head(&cluster).await;
    let cases = [
        (
            pb::BatchUpdateFindingsRequest {
                finding_identifiers: (0..101)
                    .map(|index| identifier(ACCOUNT, &format!("f{index}")))
                    .collect(),
                confidence: Some(10),
                ..Default::default()
            },
            vec!["finding_identifiers"],
        ),
        (
            pb::BatchUpdateFindingsRequest {
                finding_identifiers: vec![identifier(ACCOUNT, "a")],
                ..Default::default()
            },
            vec!["finding_identifiers"],
        ),
        (
            pb::BatchUpdateFindingsRequest {
                finding_identifiers: vec![identifier(ACCOUNT, "a")],
                confidence: Some(101),
                criticality: Some(-1),
                note: Some(pb::FindingNoteUpdate {
                    text: String::new(),
                    updated_by: "me".into(),
                }),
                ..Default::default()
            },
            vec!["note.text", "confidence", "criticality"],
        ),
    ];
    for (request, fields) in cases {
        let refused = cluster
            .findings(REGION, &key)
            .batch_update_findings(request)
            .await
            .expect_err("bad input is refused");
        assert_eq!(refused.code(), Code::InvalidArgument);
        assert_eq!(reason(&refused), "InvalidInputException");
        assert_eq!(support::violated_fields(&refused), fields);
    }
    assert_eq!(
        head(&cluster).await,
        before,
        "a refused request writes nothing"
    );
    cluster.shutdown().await;
}

async fn administrators_update_members_findings_and_hubless_accounts_are_refused(backend: Backend) {
    let cluster = TestCluster::builder(backend)
        .collector(REGION)
        .start()
        .await;
    let administrator = cluster.account_key(ACCOUNT).await;
    let member = cluster.account_key(MEMBER).await;
    make_enabled_member(&cluster, &administrator, ACCOUNT, MEMBER, &member, REGION).await;
    let outsider = cluster.hub_account_key(OUTSIDER, REGION).await;
    import(&cluster, &member, vec![finding(MEMBER, "m", 1_700_000_100)]).await;

    let notified = |identifiers| set_workflow(identifiers, pb::WorkflowStatus::Notified);
    let by_administrator = update(
        &cluster,
        &administrator,
        notified(vec![identifier(MEMBER, "m")]),
    )
    .await;
    assert_eq!(
        by_administrator.processed_findings,
        [identifier(MEMBER, "m")]
    );
    assert_eq!(
        stored(&cluster, &administrator, MEMBER, "m")
            .await
            .workflow
            .unwrap()
            .status(),
        pb::WorkflowStatus::Notified,
        "the administrator reads and updates its member's finding"
    );
    let by_outsider = update(&cluster, &outsider, notified(vec![identifier(MEMBER, "m")])).await;
    assert!(by_outsider.processed_findings.is_empty());
    assert_eq!(
        by_outsider.unprocessed_findings[0].error_code,
        "AccessDeniedException"
    );
    let by_member = update(&cluster, &member, notified(vec![identifier(MEMBER, "m")])).await;
    assert_eq!(by_member.processed_findings.len(), 1);

    // Membership describes hubs to services only.
    let described = cluster
        .access(cluster.service_key())
        .describe_hub_status(membership_pb::DescribeHubStatusRequest {
            account_id: MEMBER.into(),
            region: REGION.into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(described.hub_enabled);
    assert_eq!(described.administrator_account_id, ACCOUNT);
    let denied = cluster
        .access(&member)
        .describe_hub_status(membership_pb::DescribeHubStatusRequest {
            account_id: MEMBER.into(),
            region: REGION.into(),
        })
        .await
        .expect_err("accounts do not ask membership about hubs");
    assert_eq!(denied.code(), Code::PermissionDenied);

    // An account without a hub here is refused, and cannot receive imports.
    let hubless = cluster.account_key("444444444444").await;
    let refused = cluster
        .findings(REGION, &hubless)
        .batch_update_findings(notified(vec![identifier(MEMBER, "m")]))
        .await
        .expect_err("a hubless account is refused");
    assert_eq!(refused.code(), Code::FailedPrecondition);
    assert_eq!(reason(&refused), "InvalidAccessException");
    assert!(
        refused
            .message()
            .contains("not subscribed to AWS Security Hub")
    );
    let imported = cluster
        .findings(REGION, &hubless)
        .batch_import_findings(pb::BatchImportFindingsRequest {
            findings: vec![finding("444444444444", "h", 1_700_000_100)],
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(imported.failed_findings[0].error_code, "InvalidAccess");
    cluster.shutdown().await;
}

fn replicated(
    id: &str,
    group: pb::FindingFieldGroup,
    wall_ms: u64,
    values: pb::Finding,
) -> pb::ReplicatedFindingUpdate {
    pb::ReplicatedFindingUpdate {
        aws_account_id: ACCOUNT.into(),
        product_arn: finding(ACCOUNT, id, 0).product_arn,
        id: id.into(),
        values: Some(values),
        field_versions: Some(pb::FindingFieldVersions {
            groups: vec![pb::FindingFieldVersion {
                group: group as i32,
                version: Some(types_pb::Version {
                    wall_ms,
                    logical: 0,
                    node_id: 42,
                }),
                customer_modified: true,
            }],
        }),
        update_source: Some(pb::FindingHistoryUpdateSource {
            r#type: pb::FindingHistoryUpdateSourceType::BatchUpdateFindings as i32,
            identity: "account/111111111111 in the home region".into(),
        }),
    }
}

async fn replicated_updates_merge_by_group_once(backend: Backend) {
    let (cluster, key) = cluster_with_finding(backend).await;
    // A local edit of another group, which the replicated note must not undo.
    update(
        &cluster,
        &key,
        set_workflow(vec![identifier(ACCOUNT, "a")], pb::WorkflowStatus::Resolved),
    )
    .await;
    let before = head(&cluster).await;
    let now_ms = u64::try_from(wall_clock_ms()).unwrap();
    let home_note = pb::Finding {
        note: Some(pb::FindingNote {
            text: "from the home region".into(),
            updated_by: "analyst".into(),
            updated_at: Some(prost_types::Timestamp {
                seconds: 1_700_000_500,
                nanos: 0,
            }),
        }),
        // Ignored: the update does not set the workflow group.
        workflow: Some(pb::FindingWorkflow {
            status: pb::WorkflowStatus::New as i32,
        }),
        ..Default::default()
    };
    let stale_workflow = pb::Finding {
        workflow: Some(pb::FindingWorkflow {
            status: pb::WorkflowStatus::Suppressed as i32,
        }),
        ..Default::default()
    };
    let request = pb::ApplyReplicatedUpdatesRequest {
        updates: vec![
            replicated(
                "a",
                pb::FindingFieldGroup::Note,
                now_ms + 1_000,
                home_note.clone(),
            ),
            replicated("a", pb::FindingFieldGroup::Workflow, 1, stale_workflow),
            replicated(
                "unknown",
                pb::FindingFieldGroup::Note,
                now_ms,
                home_note.clone(),
            ),
        ],
    };
    let apply = || {
        let request = request.clone();
        let mut client = cluster.change_log(REGION, cluster.service_key());
        async move {
            client
                .apply_replicated_updates(request)
                .await
                .expect("a service applies replicated updates")
                .into_inner()
        }
    };
    let first = apply().await;
    let outcomes: Vec<pb::ReplicatedUpdateOutcome> = first
        .results
        .iter()
        .map(|result| result.outcome())
        .collect();
    assert_eq!(
        outcomes,
        [
            pb::ReplicatedUpdateOutcome::Applied,
            pb::ReplicatedUpdateOutcome::Ignored,
            pb::ReplicatedUpdateOutcome::NotFound
        ]
    );
    assert_eq!(
        first.results[0].applied_groups,
        [pb::FindingFieldGroup::Note as i32]
    );
    assert_eq!(first.change_log_seq, before + 1, "one change record");
    let merged = stored(&cluster, &key, ACCOUNT, "a").await;
    assert_eq!(merged.note, home_note.note);
    assert_eq!(
        merged.workflow.unwrap().status(),
        pb::WorkflowStatus::Resolved,
        "the concurrent local edit of another group survives"
    );

    // The change record carries the home region's version of the note.
    let records = finding_records(&cluster, ACCOUNT, before).await;
    assert_eq!(records.len(), 1);
    let note_version = group_version(&records[0], pb::FindingFieldGroup::Note);
    assert_eq!(ordered(&note_version), (now_ms + 1_000, 0, 42));

    // Applying the same updates again changes nothing and writes nothing.
    let second = apply().await;
    assert!(
        second
            .results
            .iter()
            .take(2)
            .all(|result| result.outcome() == pb::ReplicatedUpdateOutcome::Ignored)
    );
    assert_eq!(head(&cluster).await, before + 1);

    // A local edit after the replicated one wins over it, whatever the clocks say.
    update(
        &cluster,
        &key,
        pb::BatchUpdateFindingsRequest {
            finding_identifiers: vec![identifier(ACCOUNT, "a")],
            note: Some(pb::FindingNoteUpdate {
                text: "local reply".into(),
                updated_by: "owner".into(),
            }),
            ..Default::default()
        },
    )
    .await;
    let records = finding_records(&cluster, ACCOUNT, before + 1).await;
    assert!(
        ordered(&group_version(&records[0], pb::FindingFieldGroup::Note)) > ordered(&note_version)
    );

    // The replicated update is in the history with the home region's identity.
    let history = cluster
        .findings(REGION, &key)
        .get_finding_history(pb::GetFindingHistoryRequest {
            finding_identifier: Some(identifier(ACCOUNT, "a")),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .records;
    assert_eq!(
        history[1].update_source.as_ref().unwrap().identity,
        "account/111111111111 in the home region"
    );

    // Only services apply replicated updates; malformed ones are refused whole.
    for caller in [key.as_str(), cluster.operator_key()] {
        let denied = cluster
            .change_log(REGION, caller)
            .apply_replicated_updates(request.clone())
            .await
            .expect_err("only services apply replicated updates");
        assert_eq!(denied.code(), Code::PermissionDenied);
        assert_eq!(reason(&denied), "AccessDeniedException");
    }
    let mut foreign = replicated("a", pb::FindingFieldGroup::Note, now_ms, home_note);
    foreign.product_arn = foreign.product_arn.replace(REGION, "eu-west-1");
    let refused = cluster
        .change_log(REGION, cluster.service_key())
        .apply_replicated_updates(pb::ApplyReplicatedUpdatesRequest {
            updates: vec![foreign],
        })
        .await
        .expect_err("an update of another region's finding is refused");
    assert_eq!(reason(&refused), "InvalidInputException");
    assert_eq!(
        support::violated_fields(&refused),
        ["updates[0].product_arn"]
    );
    cluster.shutdown().await;
}

fn wall_clock_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| i64::try_from(elapsed.as_millis()).unwrap())
        .unwrap()
}

async fn expired_findings_are_deleted_with_change_records(backend: Backend) {
    const RETAINING: &str = "eu-central-1";
    let cluster = TestCluster::builder(backend)
        .collector(REGION)
        .start()
        .await;
    let collector = cluster
        .start_collector(RETAINING, |config| {
            config.finding_retention_archived_seconds = 1;
            config.finding_retention_active_seconds = 3600;
            config.finding_retention_interval_seconds = 1;
        })
        .await;
    let key = cluster.hub_account_key(ACCOUNT, RETAINING).await;
    let active = sample_finding(
        RETAINING,
        ACCOUNT,
        "active",
        pb::SeverityLabel::Low,
        1_700_000_000,
    );
    let mut archived = sample_finding(
        RETAINING,
        ACCOUNT,
        "archived",
        pb::SeverityLabel::Low,
        1_700_000_000,
    );
    archived.record_state = pb::RecordState::Archived as i32;
    let imported = collector
        .findings(&key)
        .batch_import_findings(pb::BatchImportFindingsRequest {
            findings: vec![active, archived.clone()],
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(imported.success_count, 2, "{imported:?}");

    let ids = || {
        let mut client = collector.findings(&key);
        async move {
            let mut ids: Vec<String> = client
                .get_findings(pb::GetFindingsRequest::default())
                .await
                .map_err(|status| status.to_string())?
                .into_inner()
                .findings
                .into_iter()
                .map(|finding| finding.id)
                .collect();
            ids.sort();
            Ok::<_, String>(ids)
        }
    };
    eventually(
        "the archived finding expires",
        Duration::from_secs(20),
        || async {
            let ids = ids().await?;
            if ids == ["active"] {
                Ok(())
            } else {
                Err(format!("{ids:?}"))
            }
        },
    )
    .await;

    // The deletion is in the change log, after the two imports.
    let aggregator = cluster
        .entitled_config_aggregator(ACCOUNT, RETAINING, "retention", &[ACCOUNT], &[RETAINING])
        .await;
    let mut stream = collector
        .change_log(cluster.service_key())
        .subscribe(pb::SubscribeRequest {
            from_seq: imported.change_log_seq,
            account_ids: vec![ACCOUNT.into()],
            kinds: vec![pb::ChangeKind::Finding as i32],
            aggregator: Some(aggregator),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let batch = tokio::time::timeout(Duration::from_secs(10), stream.message())
        .await
        .expect("the stream delivers")
        .unwrap()
        .expect("the stream stays open");
    let deleted = &batch.records[0];
    assert_eq!(deleted.op(), pb::ChangeOp::Delete);
    assert_eq!(deleted.key, format!("{}|archived", archived.product_arn));
    assert!(deleted.payload.is_none());
    let history = collector
        .findings(&key)
        .get_finding_history(pb::GetFindingHistoryRequest {
            finding_identifier: Some(pb::FindingIdentifier {
                id: "archived".into(),
                product_arn: archived.product_arn.clone(),
            }),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(
        history.records.is_empty(),
        "the history goes with the finding"
    );
    drop(stream);
    collector.stop().await;
    cluster.shutdown().await;
}
