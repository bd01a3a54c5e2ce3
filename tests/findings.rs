//! End-to-end tests of the collector's `SecurityHubService` import and query paths over real gRPC,
//! on SQLite and PostgreSQL.

// A panic in a test is a failed assertion with a location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::{Backend, TestCluster, reason, violated_fields};
use tonic::Code;
use tributary_proto::collector::v1 as pb;

on_both_backends!(
    imports_store_findings_and_fail_bad_ones_alone,
    older_updates_are_ignored_and_protected_fields_kept,
    get_findings_filters_and_pages,
    oversized_requests_and_foreign_accounts_are_refused,
);

const REGION: &str = "us-east-1";
const ACCOUNT: &str = "111111111111";
const OTHER: &str = "222222222222";

fn timestamp(seconds: i64) -> Option<prost_types::Timestamp> {
    Some(prost_types::Timestamp { seconds, nanos: 0 })
}

fn finding(account: &str, id: &str, label: pb::SeverityLabel, updated: i64) -> pb::Finding {
    pb::Finding {
        schema_version: "2018-10-08".into(),
        id: id.into(),
        product_arn: format!("arn:aws:securityhub:{REGION}:{account}:product/{account}/default"),
        generator_id: "check-1".into(),
        aws_account_id: account.into(),
        types: vec!["Software and Configuration Checks".into()],
        created_at: timestamp(1_700_000_000),
        updated_at: timestamp(updated),
        severity: Some(pb::FindingSeverity {
            label: label as i32,
            ..Default::default()
        }),
        title: format!("finding {id}"),
        description: "a test finding".into(),
        resources: vec![pb::FindingResource {
            r#type: "Other".into(),
            id: format!("resource-{id}"),
            ..Default::default()
        }],
        ..Default::default()
    }
}

async fn import(
    cluster: &TestCluster,
    key: &str,
    findings: Vec<pb::Finding>,
) -> pb::BatchImportFindingsResponse {
    cluster
        .findings(REGION, key)
        .batch_import_findings(pb::BatchImportFindingsRequest { findings })
        .await
        .expect("the import call succeeds")
        .into_inner()
}

async fn get(
    cluster: &TestCluster,
    key: &str,
    filters: pb::FindingFilters,
    page_size: i32,
    page_token: String,
) -> pb::GetFindingsResponse {
    cluster
        .findings(REGION, key)
        .get_findings(pb::GetFindingsRequest {
            filters: Some(filters),
            page_size,
            page_token,
            ..Default::default()
        })
        .await
        .expect("findings are listed")
        .into_inner()
}

fn equals(value: &str) -> pb::StringFilter {
    pb::StringFilter {
        value: value.into(),
        comparison: pb::StringFilterComparison::Equals as i32,
    }
}

async fn ids(cluster: &TestCluster, key: &str, filters: pb::FindingFilters) -> Vec<String> {
    let mut ids: Vec<String> = get(cluster, key, filters, 100, String::new())
        .await
        .findings
        .into_iter()
        .map(|finding| finding.id)
        .collect();
    ids.sort();
    ids
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

async fn imports_store_findings_and_fail_bad_ones_alone(backend: Backend) {
    let cluster = TestCluster::builder(backend)
        .collector(REGION)
        .start()
        .await;
    let key = cluster.hub_account_key(ACCOUNT, REGION).await;
    let before = head(&cluster).await;
    let mut bad = finding(ACCOUNT, "bad", pb::SeverityLabel::Low, 1_700_000_100);
    bad.title.clear();
    let response = import(
        &cluster,
        &key,
        vec![
            finding(ACCOUNT, "a", pb::SeverityLabel::High, 1_700_000_100),
            bad,
            finding(ACCOUNT, "b", pb::SeverityLabel::Low, 1_700_000_100),
        ],
    )
    .await;
    assert_eq!((response.success_count, response.failed_count), (2, 1));
    assert_eq!(response.failed_findings.len(), 1);
    assert_eq!(response.failed_findings[0].id, "bad");
    assert_eq!(response.failed_findings[0].error_code, "InvalidInput");
    assert_eq!(
        head(&cluster).await,
        before + 2,
        "one change record per stored finding"
    );

    let stored = get(
        &cluster,
        &key,
        pb::FindingFilters::default(),
        0,
        String::new(),
    )
    .await
    .findings;
    assert_eq!(stored.len(), 2);
    for finding in &stored {
        assert_eq!(finding.region, REGION, "the origin region is kept");
        assert!(
            finding.processed_at.is_some(),
            "the server sets processed_at"
        );
        assert_eq!(
            finding.workflow.as_ref().map(|workflow| workflow.status()),
            Some(pb::WorkflowStatus::New)
        );
    }

    // The stored findings travel typed in the change log to an entitled aggregator.
    let aggregator = cluster
        .entitled_config_aggregator(ACCOUNT, REGION, "findings", &[ACCOUNT], &[REGION])
        .await;
    let mut stream = cluster
        .change_log(REGION, cluster.service_key())
        .subscribe(pb::SubscribeRequest {
            from_seq: before,
            account_ids: vec![ACCOUNT.into()],
            kinds: vec![pb::ChangeKind::Finding as i32],
            aggregator: Some(aggregator),
            aggregators: Vec::new(),
        })
        .await
        .unwrap()
        .into_inner();
    let mut streamed = Vec::new();
    while streamed.len() < 2 {
        let batch = tokio::time::timeout(std::time::Duration::from_secs(10), stream.message())
            .await
            .expect("the stream delivers")
            .unwrap()
            .expect("the stream stays open");
        for record in batch.records {
            match record.payload {
                Some(pb::change_record::Payload::Finding(finding)) => streamed.push(finding.id),
                other => panic!("a finding payload, got {other:?}"),
            }
        }
    }
    streamed.sort();
    assert_eq!(streamed, ["a", "b"]);
    cluster.shutdown().await;
}

async fn older_updates_are_ignored_and_protected_fields_kept(backend: Backend) {
    let cluster = TestCluster::builder(backend)
        .collector(REGION)
        .start()
        .await;
    let key = cluster.hub_account_key(ACCOUNT, REGION).await;
    import(
        &cluster,
        &key,
        vec![finding(
            ACCOUNT,
            "a",
            pb::SeverityLabel::High,
            1_700_000_200,
        )],
    )
    .await;
    let after_first = head(&cluster).await;

    let mut older = finding(ACCOUNT, "a", pb::SeverityLabel::Low, 1_700_000_100);
    older.title = "older title".into();
    let response = import(&cluster, &key, vec![older]).await;
    assert_eq!(
        (response.success_count, response.failed_count),
        (1, 0),
        "an older update counts as a success"
    );
    assert_eq!(
        head(&cluster).await,
        after_first,
        "an older update writes nothing"
    );

    let mut newer = finding(ACCOUNT, "a", pb::SeverityLabel::Critical, 1_700_000_300);
    newer.note = Some(pb::FindingNote {
        text: "provider note".into(),
        updated_by: "provider".into(),
        updated_at: timestamp(1_700_000_300),
    });
    newer
        .user_defined_fields
        .insert("owner".into(), "provider".into());
    import(&cluster, &key, vec![newer]).await;
    let stored = get(
        &cluster,
        &key,
        pb::FindingFilters::default(),
        0,
        String::new(),
    )
    .await
    .findings;
    assert_eq!(stored.len(), 1);
    let stored = &stored[0];
    assert_eq!(stored.title, "finding a");
    assert_eq!(
        stored.severity.as_ref().unwrap().label(),
        pb::SeverityLabel::Critical,
        "a newer update applies"
    );
    assert!(
        stored.note.is_none(),
        "providers cannot set the note on update"
    );
    assert!(
        stored.user_defined_fields.is_empty(),
        "providers cannot set user-defined fields on update"
    );
    cluster.shutdown().await;
}

async fn get_findings_filters_and_pages(backend: Backend) {
    let cluster = TestCluster::builder(backend)
        .collector(REGION)
        .start()
        .await;
    let key = cluster.hub_account_key(ACCOUNT, REGION).await;
    let labels = [
        pb::SeverityLabel::Low,
        pb::SeverityLabel::High,
        pb::SeverityLabel::Critical,
    ];
    let findings = (0..9)
        .map(|index| {
            finding(
                ACCOUNT,
                &format!("f{index}"),
                labels[index % 3],
                1_700_000_000 + index as i64,
            )
        })
        .collect();
    import(&cluster, &key, findings).await;

    let high = ids(
        &cluster,
        &key,
        pb::FindingFilters {
            severity_label: vec![equals("HIGH")],
            ..Default::default()
        },
    )
    .await;
    assert_eq!(high, ["f1", "f4", "f7"]);
    let high_or_critical = ids(
        &cluster,
        &key,
        pb::FindingFilters {
            severity_label: vec![equals("HIGH"), equals("CRITICAL")],
            ..Default::default()
        },
    )
    .await;
    assert_eq!(high_or_critical.len(), 6, "values of one field are ORed");
    let none = ids(
        &cluster,
        &key,
        pb::FindingFilters {
            severity_label: vec![equals("HIGH")],
            record_state: vec![equals("ARCHIVED")],
            ..Default::default()
        },
    )
    .await;
    assert!(none.is_empty(), "fields are ANDed");

    let mut seen = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = get(&cluster, &key, pb::FindingFilters::default(), 4, page_token).await;
        assert!(page.findings.len() <= 4);
        seen.extend(page.findings.into_iter().map(|finding| finding.id));
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    assert_eq!(
        seen,
        ["f8", "f7", "f6", "f5", "f4", "f3", "f2", "f1", "f0"],
        "newest first, every finding once"
    );

    let bad_token = cluster
        .findings(REGION, &key)
        .get_findings(pb::GetFindingsRequest {
            filters: None,
            page_size: 10,
            page_token: "forged".into(),
            ..Default::default()
        })
        .await
        .expect_err("a forged token is refused");
    assert_eq!(reason(&bad_token), "InvalidNextTokenException");
    let bad_size = cluster
        .findings(REGION, &key)
        .get_findings(pb::GetFindingsRequest {
            filters: None,
            page_size: 101,
            page_token: String::new(),
            ..Default::default()
        })
        .await
        .expect_err("more than 100 per page is refused");
    assert_eq!(bad_size.code(), Code::InvalidArgument);
    cluster.shutdown().await;
}

async fn oversized_requests_and_foreign_accounts_are_refused(backend: Backend) {
    let cluster = TestCluster::builder(backend)
        .collector(REGION)
        .start()
        .await;
    let key = cluster.hub_account_key(ACCOUNT, REGION).await;
    cluster.hub_account_key(OTHER, REGION).await;
    let before = head(&cluster).await;

    let too_many = (0..101)
        .map(|index| {
            finding(
                ACCOUNT,
                &format!("x{index}"),
                pb::SeverityLabel::Low,
                1_700_000_000,
            )
        })
        .collect();
    let refused = cluster
        .findings(REGION, &key)
        .batch_import_findings(pb::BatchImportFindingsRequest { findings: too_many })
        .await
        .expect_err("more than 100 findings are refused");
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert_eq!(reason(&refused), "InvalidInputException");
    assert_eq!(violated_fields(&refused), ["findings"]);

    let mut huge = finding(ACCOUNT, "huge", pb::SeverityLabel::Low, 1_700_000_000);
    huge.description = "x".repeat(250 * 1024);
    let response = import(
        &cluster,
        &key,
        vec![
            huge,
            finding(OTHER, "foreign", pb::SeverityLabel::Low, 1_700_000_000),
        ],
    )
    .await;
    assert_eq!((response.success_count, response.failed_count), (0, 2));
    let codes: Vec<&str> = response
        .failed_findings
        .iter()
        .map(|failure| failure.error_code.as_str())
        .collect();
    assert_eq!(codes, ["FindingSizeExceeded", "AccessDeniedException"]);
    assert_eq!(
        head(&cluster).await,
        before,
        "refused findings write nothing"
    );

    let service = import(
        &cluster,
        cluster.service_key(),
        vec![finding(
            OTHER,
            "central",
            pb::SeverityLabel::Low,
            1_700_000_000,
        )],
    )
    .await;
    assert_eq!(
        service.success_count, 1,
        "a service key imports for any account"
    );
    cluster.shutdown().await;
}
