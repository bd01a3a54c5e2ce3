//! End-to-end tests of the collector's standards, controls and security scores over real gRPC,
//! on SQLite and PostgreSQL: enabling and disabling standards and controls, control statuses that
//! follow control findings through imports and customer updates, their change records, and the
//! scores of spec §3.12.

// A panic in a test is a failed assertion with a location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::BTreeMap;

use support::{Backend, TestCluster, reason, violated_fields};
use tonic::Code;
use tributary_proto::collector::v1 as pb;

on_both_backends!(
    standards_and_controls_are_enabled_and_disabled,
    control_statuses_and_scores_follow_findings,
);

const REGION: &str = "us-east-1";
const ACCOUNT: &str = "111111111111";
const FSBP: &str =
    "arn:aws:securityhub:us-east-1::standards/aws-foundational-security-best-practices/v/1.0.0";
const CIS: &str = "arn:aws:securityhub:::ruleset/cis-aws-foundations-benchmark/v/1.2.0";

fn subscription(standard: &str) -> String {
    let path = standard
        .split_once("standards/")
        .or_else(|| standard.split_once("ruleset/"))
        .unwrap()
        .1;
    format!("arn:aws:securityhub:{REGION}:{ACCOUNT}:subscription/{path}")
}

fn control_arn(standard: &str, control: &str) -> String {
    format!(
        "{}/{control}",
        subscription(standard).replace(":subscription/", ":control/")
    )
}

async fn enable(
    cluster: &TestCluster,
    key: &str,
    standards: &[&str],
) -> Vec<pb::StandardsSubscription> {
    cluster
        .findings(REGION, key)
        .batch_enable_standards(pb::BatchEnableStandardsRequest {
            standards_subscription_requests: standards
                .iter()
                .map(|arn| pb::StandardsSubscriptionRequest {
                    standards_arn: arn.to_string(),
                    standards_input: Default::default(),
                })
                .collect(),
            account_id: String::new(),
        })
        .await
        .expect("the standards are enabled")
        .into_inner()
        .standards_subscriptions
}

async fn enabled(cluster: &TestCluster, key: &str) -> Vec<String> {
    cluster
        .findings(REGION, key)
        .get_enabled_standards(pb::GetEnabledStandardsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .standards_subscriptions
        .into_iter()
        .map(|subscription| subscription.standards_arn)
        .collect()
}

async fn controls_of(
    cluster: &TestCluster,
    key: &str,
    standard: &str,
    page_size: i32,
) -> Vec<pb::StandardsControl> {
    let mut controls = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = cluster
            .findings(REGION, key)
            .describe_standards_controls(pb::DescribeStandardsControlsRequest {
                standards_subscription_arn: subscription(standard),
                page_size,
                page_token,
            })
            .await
            .expect("the controls are described")
            .into_inner();
        controls.extend(page.controls);
        if page.next_page_token.is_empty() {
            return controls;
        }
        page_token = page.next_page_token;
    }
}

async fn set_control(
    cluster: &TestCluster,
    key: &str,
    arn: &str,
    status: pb::ControlStatus,
    disabled_reason: &str,
) -> Result<(), tonic::Status> {
    cluster
        .findings(REGION, key)
        .update_standards_control(pb::UpdateStandardsControlRequest {
            standards_control_arn: arn.into(),
            control_status: status as i32,
            disabled_reason: disabled_reason.into(),
        })
        .await
        .map(|_| ())
}

async fn security_controls(
    cluster: &TestCluster,
    key: &str,
    ids: &[&str],
) -> pb::BatchGetSecurityControlsResponse {
    cluster
        .findings(REGION, key)
        .batch_get_security_controls(pb::BatchGetSecurityControlsRequest {
            security_control_ids: ids.iter().map(|id| id.to_string()).collect(),
            account_id: String::new(),
        })
        .await
        .expect("the security controls are read")
        .into_inner()
}

async fn standards_and_controls_are_enabled_and_disabled(backend: Backend) {
    let cluster = TestCluster::builder(backend)
        .collector(REGION)
        .start()
        .await;
    let key = cluster.hub_account_key(ACCOUNT, REGION).await;
    let mut hub = cluster.findings(REGION, &key);

    let described = hub
        .describe_standards(pb::DescribeStandardsRequest {
            page_size: 1,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(described.standards.len(), 1);
    let rest = hub
        .describe_standards(pb::DescribeStandardsRequest {
            page_size: 1,
            page_token: described.next_page_token,
        })
        .await
        .unwrap()
        .into_inner();
    let arns = [
        described.standards[0].standards_arn.as_str(),
        rest.standards[0].standards_arn.as_str(),
    ];
    assert_eq!(arns, [CIS, FSBP]);
    assert!(rest.next_page_token.is_empty());

    assert!(enabled(&cluster, &key).await.is_empty());
    let subscriptions = enable(&cluster, &key, &[FSBP]).await;
    assert_eq!(subscriptions.len(), 1);
    assert_eq!(
        subscriptions[0].standards_subscription_arn,
        subscription(FSBP)
    );
    assert_eq!(
        subscriptions[0].standards_status(),
        pb::StandardsStatus::Ready
    );
    enable(&cluster, &key, &[FSBP]).await;
    assert_eq!(
        enabled(&cluster, &key).await,
        [FSBP],
        "enabling twice keeps one subscription"
    );

    let controls = controls_of(&cluster, &key, FSBP, 10).await;
    assert_eq!(controls.len(), 27, "every control, once, across pages");
    let s3 = controls
        .iter()
        .find(|control| control.control_id == "S3.1")
        .unwrap();
    assert_eq!(s3.standards_control_arn, control_arn(FSBP, "S3.1"));
    assert_eq!(s3.control_status(), pb::ControlStatus::Enabled);
    assert_eq!(s3.compliance_status(), pb::ControlComplianceStatus::NoData);
    assert_eq!(s3.severity_rating, "MEDIUM");
    assert!(s3.control_status_updated_at.is_none());

    let unreasoned = set_control(
        &cluster,
        &key,
        &control_arn(FSBP, "S3.1"),
        pb::ControlStatus::Disabled,
        "",
    )
    .await
    .expect_err("disabling needs a reason");
    assert_eq!(violated_fields(&unreasoned), ["disabled_reason"]);
    set_control(
        &cluster,
        &key,
        &control_arn(FSBP, "S3.1"),
        pb::ControlStatus::Disabled,
        "not used",
    )
    .await
    .unwrap();
    let s3 = controls_of(&cluster, &key, FSBP, 0)
        .await
        .into_iter()
        .find(|control| control.control_id == "S3.1")
        .unwrap();
    assert_eq!(s3.control_status(), pb::ControlStatus::Disabled);
    assert_eq!(s3.disabled_reason, "not used");
    assert_eq!(
        s3.compliance_status(),
        pb::ControlComplianceStatus::Disabled
    );
    assert!(s3.control_status_updated_at.is_some());

    let read = security_controls(&cluster, &key, &["S3.1", "S3.2", "Nope.1"]).await;
    let statuses: Vec<(&str, pb::ControlStatus)> = read
        .security_controls
        .iter()
        .map(|control| {
            (
                control.security_control_id.as_str(),
                control.security_control_status(),
            )
        })
        .collect();
    assert_eq!(
        statuses,
        [
            ("S3.1", pb::ControlStatus::Disabled),
            ("S3.2", pb::ControlStatus::Enabled)
        ]
    );
    assert_eq!(
        read.security_controls[1].security_control_arn,
        format!("arn:aws:securityhub:{REGION}:{ACCOUNT}:security-control/S3.2")
    );
    assert_eq!(read.unprocessed_ids.len(), 1);
    assert_eq!(read.unprocessed_ids[0].error_code, "NOT_FOUND");

    let not_enabled = hub
        .describe_standards_controls(pb::DescribeStandardsControlsRequest {
            standards_subscription_arn: subscription(CIS),
            ..Default::default()
        })
        .await
        .expect_err("CIS is not enabled");
    assert_eq!(not_enabled.code(), Code::NotFound);
    let unknown = hub
        .batch_enable_standards(pb::BatchEnableStandardsRequest {
            standards_subscription_requests: vec![pb::StandardsSubscriptionRequest {
                standards_arn: "arn:aws:securityhub:::standards/nope".into(),
                standards_input: Default::default(),
            }],
            account_id: String::new(),
        })
        .await
        .expect_err("unknown standards are refused");
    assert_eq!(reason(&unknown), "InvalidInputException");
    assert_eq!(
        violated_fields(&unknown),
        ["standards_subscription_requests[0].standards_arn"]
    );
    let bad_status = set_control(
        &cluster,
        &key,
        &control_arn(FSBP, "S3.1"),
        pb::ControlStatus::Unspecified,
        "",
    )
    .await
    .expect_err("a status is required");
    assert_eq!(violated_fields(&bad_status), ["control_status"]);

    enable(&cluster, &key, &[CIS]).await;
    let cis = controls_of(&cluster, &key, CIS, 100).await;
    assert_eq!(cis.len(), 18);
    assert_eq!(
        cis.iter()
            .find(|control| control.control_id == "2.9")
            .unwrap()
            .security_control_id,
        "EC2.6"
    );
    let disabled = hub
        .batch_disable_standards(pb::BatchDisableStandardsRequest {
            standards_subscription_arns: vec![subscription(CIS)],
        })
        .await
        .unwrap()
        .into_inner()
        .standards_subscriptions;
    assert_eq!(
        disabled[0].standards_status(),
        pb::StandardsStatus::Deleting
    );
    assert_eq!(enabled(&cluster, &key).await, [FSBP]);
    let gone = hub
        .batch_disable_standards(pb::BatchDisableStandardsRequest {
            standards_subscription_arns: vec![subscription(CIS)],
        })
        .await
        .expect_err("a subscription is disabled once");
    assert_eq!(gone.code(), Code::NotFound);

    let other = cluster.hub_account_key("222222222222", REGION).await;
    let foreign = set_control(
        &cluster,
        &other,
        &control_arn(FSBP, "S3.2"),
        pb::ControlStatus::Disabled,
        "mine",
    )
    .await
    .expect_err("another account cannot change the controls");
    assert_eq!(foreign.code(), Code::PermissionDenied);
    cluster.shutdown().await;
}

fn control_finding(
    id: &str,
    control: &str,
    status: pb::ComplianceStatus,
    updated: i64,
) -> pb::Finding {
    let mut finding =
        support::sample_finding(REGION, ACCOUNT, id, pb::SeverityLabel::Medium, updated);
    finding.generator_id = format!("security-control/{control}");
    finding.compliance = Some(pb::FindingCompliance {
        status: status as i32,
        security_control_id: control.into(),
        associated_standards: vec![pb::FindingAssociatedStandard {
            standards_id: "standards/aws-foundational-security-best-practices/v/1.0.0".into(),
        }],
        ..Default::default()
    });
    finding
}

async fn import(cluster: &TestCluster, key: &str, findings: Vec<pb::Finding>) {
    let response = cluster
        .findings(REGION, key)
        .batch_import_findings(pb::BatchImportFindingsRequest { findings })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(response.failed_count, 0, "{:?}", response.failed_findings);
}

async fn scores(
    cluster: &TestCluster,
    key: &str,
) -> (
    BTreeMap<String, (Option<i32>, [i32; 5])>,
    Option<i32>,
    Option<i32>,
) {
    let scores = cluster
        .findings(REGION, key)
        .get_security_scores(pb::GetSecurityScoresRequest::default())
        .await
        .expect("the scores are computed")
        .into_inner();
    let standards = scores
        .standards
        .into_iter()
        .map(|standard| {
            (
                standard.standards_arn,
                (
                    standard.score,
                    [
                        standard.passed_controls,
                        standard.failed_controls,
                        standard.unknown_controls,
                        standard.no_data_controls,
                        standard.disabled_controls,
                    ],
                ),
            )
        })
        .collect();
    (standards, scores.overall_score, scores.pooled_score)
}

async fn compliance(
    cluster: &TestCluster,
    key: &str,
    ids: &[&str],
) -> Vec<(pb::ControlComplianceStatus, [i64; 3])> {
    security_controls(cluster, key, ids)
        .await
        .security_controls
        .iter()
        .map(|control| {
            (
                control.compliance_status(),
                [
                    control.passed_findings,
                    control.failed_findings,
                    control.unknown_findings,
                ],
            )
        })
        .collect()
}

async fn control_statuses_and_scores_follow_findings(backend: Backend) {
    use pb::{ComplianceStatus as S, ControlComplianceStatus as Status};
    let cluster = TestCluster::builder(backend)
        .collector(REGION)
        .start()
        .await;
    let key = cluster.hub_account_key(ACCOUNT, REGION).await;
    let before = cluster.change_log_head(REGION).await;
    enable(&cluster, &key, &[FSBP]).await;
    let mut archived = control_finding("rds-1", "RDS.1", S::Failed, 100);
    archived.record_state = pb::RecordState::Archived as i32;
    let mut suppressed = control_finding("lambda-1", "Lambda.1", S::Failed, 100);
    suppressed.workflow = Some(pb::FindingWorkflow {
        status: pb::WorkflowStatus::Suppressed as i32,
    });
    import(
        &cluster,
        &key,
        vec![
            control_finding("s3-1-a", "S3.1", S::Passed, 100),
            control_finding("s3-1-b", "S3.1", S::Failed, 100),
            control_finding("s3-2-a", "S3.2", S::Passed, 100),
            control_finding("s3-2-b", "S3.2", S::Passed, 100),
            control_finding("iam-1", "IAM.1", S::Warning, 100),
            control_finding("ec2-2-a", "EC2.2", S::NotAvailable, 100),
            control_finding("ec2-2-b", "EC2.2", S::Passed, 100),
            archived,
            suppressed,
        ],
    )
    .await;
    let ids = ["S3.1", "S3.2", "IAM.1", "EC2.2", "RDS.1", "Lambda.1"];
    assert_eq!(
        compliance(&cluster, &key, &ids).await,
        [
            (Status::Failed, [1, 1, 0]),
            (Status::Passed, [2, 0, 0]),
            (Status::Unknown, [0, 0, 1]),
            (Status::Unknown, [1, 0, 1]),
            (Status::NoData, [0, 0, 0]),
            (Status::NoData, [0, 0, 0]),
        ]
    );
    let (standards, overall, pooled) = scores(&cluster, &key).await;
    assert_eq!(
        standards[FSBP],
        (Some(25), [1, 1, 2, 23, 0]),
        "1 passed of 4 with data"
    );
    assert_eq!((overall, pooled), (Some(25), Some(25)));

    // A newer import passes the failed check.
    import(
        &cluster,
        &key,
        vec![control_finding("s3-1-b", "S3.1", S::Passed, 200)],
    )
    .await;
    assert_eq!(
        compliance(&cluster, &key, &["S3.1"]).await,
        [(Status::Passed, [2, 0, 0])]
    );
    assert_eq!(scores(&cluster, &key).await.0[FSBP].0, Some(50));

    // Suppressing the only warning leaves IAM.1 without data.
    cluster
        .findings(REGION, &key)
        .batch_update_findings(pb::BatchUpdateFindingsRequest {
            finding_identifiers: vec![pb::FindingIdentifier {
                id: "iam-1".into(),
                product_arn: format!(
                    "arn:aws:securityhub:{REGION}:{ACCOUNT}:product/{ACCOUNT}/default"
                ),
            }],
            workflow: Some(pb::FindingWorkflow {
                status: pb::WorkflowStatus::Suppressed as i32,
            }),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        compliance(&cluster, &key, &["IAM.1"]).await,
        [(Status::NoData, [0, 0, 0])]
    );
    assert_eq!(
        scores(&cluster, &key).await.0[FSBP],
        (Some(67), [2, 0, 1, 24, 0])
    );

    // A disabled control is not scored.
    set_control(
        &cluster,
        &key,
        &control_arn(FSBP, "S3.1"),
        pb::ControlStatus::Disabled,
        "exception",
    )
    .await
    .unwrap();
    assert_eq!(
        compliance(&cluster, &key, &["S3.1"]).await,
        [(Status::Disabled, [2, 0, 0])]
    );
    assert_eq!(
        scores(&cluster, &key).await.0[FSBP],
        (Some(50), [1, 0, 1, 24, 1])
    );

    // The summary is the mean of the standards' scores; the pooled score counts each control once.
    enable(&cluster, &key, &[CIS]).await;
    let (standards, overall, pooled) = scores(&cluster, &key).await;
    assert_eq!(
        standards[CIS],
        (Some(0), [0, 0, 1, 17, 0]),
        "EC2.2 (4.3) is unknown"
    );
    assert_eq!((overall, pooled), (Some(25), Some(50)));

    let records = cluster
        .change_records(
            REGION,
            ACCOUNT,
            "controls",
            &[pb::ChangeKind::ControlStatus],
            before,
        )
        .await;
    let mut last: BTreeMap<String, (Status, Vec<String>)> = BTreeMap::new();
    let mut s3_history = Vec::new();
    for record in &records {
        let Some(pb::change_record::Payload::ControlStatus(status)) = &record.payload else {
            panic!("a control status payload, got {record:?}");
        };
        assert_eq!(record.key, status.security_control_id);
        if record.key == "S3.1" {
            s3_history.push(status.status());
        }
        last.insert(
            record.key.clone(),
            (status.status(), status.enabled_standards_arns.clone()),
        );
    }
    assert_eq!(
        s3_history,
        [
            Status::NoData,
            Status::Passed,
            Status::Failed,
            Status::Passed,
            Status::Passed
        ],
        "enabled, first finding, second finding, fixed, disabled"
    );
    assert_eq!(
        last["S3.1"],
        (Status::Passed, Vec::<String>::new()),
        "disabled everywhere"
    );
    assert_eq!(
        last["EC2.2"],
        (Status::Unknown, vec![CIS.to_string(), FSBP.to_string()])
    );
    assert_eq!(last["IAM.1"].0, Status::NoData);
    assert_eq!(
        last["RDS.1"],
        (Status::NoData, vec![FSBP.to_string()]),
        "archived findings never count"
    );

    let mut snapshot = cluster
        .change_log(REGION, cluster.service_key())
        .snapshot(pb::SnapshotRequest {
            account_ids: vec![ACCOUNT.into()],
            kinds: vec![pb::ChangeKind::ControlStatus as i32],
            aggregator: Some(support::config_aggregator_reference(
                ACCOUNT, REGION, "controls",
            )),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let mut current = BTreeMap::new();
    while let Some(batch) = snapshot.message().await.unwrap() {
        for record in batch.records {
            if let Some(pb::change_record::Payload::ControlStatus(status)) = record.payload {
                current.insert(status.security_control_id.clone(), status.status());
            }
        }
    }
    assert_eq!(
        current.len(),
        last.len(),
        "the snapshot holds every control's status"
    );
    for (control, (status, _)) in &last {
        assert_eq!(current[control], *status, "{control}");
    }
    cluster.shutdown().await;
}
