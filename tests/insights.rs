//! End-to-end tests of the collector's Security Hub insights over real gRPC, on SQLite and
//! PostgreSQL: custom insight lifecycle and its change records, the per-account limit, managed
//! insights, and grouped results checked against counts computed here.

// A panic in a test is a failed assertion with a location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::{BTreeMap, BTreeSet};

use support::{Backend, TestCluster, make_enabled_member, reason, violated_fields};
use tonic::Code;
use tributary_proto::collector::v1 as pb;

on_both_backends!(
    custom_insights_are_kept_and_logged,
    accounts_hold_at_most_100_custom_insights,
    results_count_matching_findings_per_group,
);

const REGION: &str = "us-east-1";
const ACCOUNT: &str = "111111111111";
const OTHER: &str = "222222222222";
const MANAGED_RESOURCES: &str = "arn:aws:securityhub:::insight/securityhub/default/1";
const MANAGED_SEVERITY: &str = "arn:aws:securityhub:::insight/securityhub/default/29";

fn equals(value: &str) -> pb::StringFilter {
    pb::StringFilter {
        value: value.into(),
        comparison: pb::StringFilterComparison::Equals as i32,
    }
}

fn critical() -> pb::FindingFilters {
    pb::FindingFilters {
        severity_label: vec![equals("CRITICAL")],
        ..Default::default()
    }
}

fn create(name: &str, filters: pb::FindingFilters, group_by: &str) -> pb::CreateInsightRequest {
    pb::CreateInsightRequest {
        name: name.into(),
        filters: Some(filters),
        group_by_attribute: group_by.into(),
        account_id: String::new(),
    }
}

async fn list(
    cluster: &TestCluster,
    key: &str,
    arns: &[&str],
) -> Result<Vec<pb::Insight>, tonic::Status> {
    cluster
        .findings(REGION, key)
        .get_insights(pb::GetInsightsRequest {
            insight_arns: arns.iter().map(|arn| arn.to_string()).collect(),
            ..Default::default()
        })
        .await
        .map(|response| response.into_inner().insights)
}

async fn custom_insights_are_kept_and_logged(backend: Backend) {
    let cluster = TestCluster::builder(backend)
        .collector(REGION)
        .start()
        .await;
    let key = cluster.hub_account_key(ACCOUNT, REGION).await;
    let other = cluster.hub_account_key(OTHER, REGION).await;
    let before = cluster.change_log_head(REGION).await;
    let mut hub = cluster.findings(REGION, &key);

    let arn = hub
        .create_insight(create("Critical by resource", critical(), "ResourceId"))
        .await
        .expect("the insight is created")
        .into_inner()
        .insight_arn;
    let prefix = format!("arn:aws:securityhub:{REGION}:{ACCOUNT}:insight/{ACCOUNT}/custom/");
    let id = arn.strip_prefix(&prefix).expect("a custom insight ARN");
    assert_eq!(id.len(), 36, "a UUID: {id}");

    let listed = list(&cluster, &key, &[]).await.unwrap();
    assert_eq!(
        listed.len(),
        1,
        "only custom insights are listed without ARNs"
    );
    assert_eq!(listed[0].name, "Critical by resource");
    assert_eq!(listed[0].filters, Some(critical()));
    let named = list(&cluster, &key, &[&arn, MANAGED_RESOURCES])
        .await
        .unwrap();
    let arns: Vec<&str> = named
        .iter()
        .map(|insight| insight.insight_arn.as_str())
        .collect();
    assert_eq!(
        arns,
        [MANAGED_RESOURCES, arn.as_str()],
        "named insights, in ARN order"
    );
    assert_eq!(named[0].group_by_attribute, "ResourceId");

    let duplicate = hub
        .create_insight(create(
            "Critical by resource",
            pb::FindingFilters::default(),
            "Type",
        ))
        .await
        .expect_err("names are unique per account");
    assert_eq!(duplicate.code(), Code::AlreadyExists);
    assert_eq!(reason(&duplicate), "ResourceConflictException");
    let bad_group = hub
        .create_insight(create(
            "Tags",
            pb::FindingFilters::default(),
            "ResourceTags",
        ))
        .await
        .expect_err("maps do not group");
    assert_eq!(reason(&bad_group), "InvalidInputException");
    assert_eq!(violated_fields(&bad_group), ["group_by_attribute"]);
    let bad_filters = hub
        .create_insight(create(
            "Mixed",
            pb::FindingFilters {
                title: vec![
                    equals("a"),
                    pb::StringFilter {
                        value: "b".into(),
                        comparison: pb::StringFilterComparison::Contains as i32,
                    },
                ],
                ..Default::default()
            },
            "Type",
        ))
        .await
        .expect_err("filters follow the GetFindings rules");
    assert_eq!(violated_fields(&bad_filters), ["filters.title"]);
    let unnamed = hub
        .create_insight(create(" ", pb::FindingFilters::default(), "Type"))
        .await
        .expect_err("a name is required");
    assert_eq!(violated_fields(&unnamed), ["name"]);

    hub.update_insight(pb::UpdateInsightRequest {
        insight_arn: arn.clone(),
        name: "Critical by type".into(),
        group_by_attribute: "Type".into(),
        filters: None,
    })
    .await
    .expect("the insight is updated");
    let updated = &list(&cluster, &key, &[&arn]).await.unwrap()[0];
    assert_eq!(
        (updated.name.as_str(), updated.group_by_attribute.as_str()),
        ("Critical by type", "Type")
    );
    assert_eq!(updated.filters, Some(critical()), "unset fields stay");

    let managed = hub
        .update_insight(pb::UpdateInsightRequest {
            insight_arn: MANAGED_RESOURCES.into(),
            name: "mine".into(),
            ..Default::default()
        })
        .await
        .expect_err("managed insights cannot change");
    assert_eq!(managed.code(), Code::InvalidArgument);
    let managed = hub
        .delete_insight(pb::DeleteInsightRequest {
            insight_arn: MANAGED_RESOURCES.into(),
        })
        .await
        .expect_err("managed insights cannot be deleted");
    assert_eq!(managed.code(), Code::InvalidArgument);
    let unknown = format!("{prefix}00000000-0000-4000-8000-000000000000");
    let missing = list(&cluster, &key, &[&unknown])
        .await
        .expect_err("unknown insights");
    assert_eq!(missing.code(), Code::NotFound);
    assert_eq!(reason(&missing), "ResourceNotFoundException");

    let foreign = list(&cluster, &other, &[&arn])
        .await
        .expect_err("not the other account's");
    assert_eq!(foreign.code(), Code::PermissionDenied);
    let foreign = cluster
        .findings(REGION, &other)
        .delete_insight(pb::DeleteInsightRequest {
            insight_arn: arn.clone(),
        })
        .await
        .expect_err("another account cannot delete it");
    assert_eq!(foreign.code(), Code::PermissionDenied);
    let nameless = cluster
        .findings(REGION, cluster.service_key())
        .get_insights(pb::GetInsightsRequest::default())
        .await
        .expect_err("a service key names the account");
    assert_eq!(violated_fields(&nameless), ["account_id"]);
    let service = cluster
        .findings(REGION, cluster.service_key())
        .get_insights(pb::GetInsightsRequest {
            account_id: ACCOUNT.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(service.insights.len(), 1);
    let hubless = cluster.account_key("333333333333").await;
    let refused = list(&cluster, &hubless, &[])
        .await
        .expect_err("the hub must be enabled");
    assert_eq!(refused.code(), Code::FailedPrecondition);
    assert_eq!(reason(&refused), "InvalidAccessException");

    let deleted = hub
        .delete_insight(pb::DeleteInsightRequest {
            insight_arn: arn.clone(),
        })
        .await
        .expect("the insight is deleted")
        .into_inner();
    assert_eq!(deleted.insight_arn, arn);
    assert!(list(&cluster, &key, &[]).await.unwrap().is_empty());
    let again = hub
        .delete_insight(pb::DeleteInsightRequest {
            insight_arn: arn.clone(),
        })
        .await
        .expect_err("it is gone");
    assert_eq!(again.code(), Code::NotFound);

    let records = cluster
        .change_records(
            REGION,
            ACCOUNT,
            "insights",
            &[pb::ChangeKind::Insight],
            before,
        )
        .await;
    let summary: Vec<(pb::ChangeOp, Option<String>)> = records
        .iter()
        .map(|record| {
            assert_eq!(record.key, arn);
            let name = match &record.payload {
                Some(pb::change_record::Payload::Insight(insight)) => Some(insight.name.clone()),
                None => None,
                other => panic!("an insight payload, got {other:?}"),
            };
            (record.op(), name)
        })
        .collect();
    assert_eq!(
        summary,
        [
            (
                pb::ChangeOp::Upsert,
                Some("Critical by resource".to_string())
            ),
            (pb::ChangeOp::Upsert, Some("Critical by type".to_string())),
            (pb::ChangeOp::Delete, None),
        ]
    );
    cluster.shutdown().await;
}

async fn accounts_hold_at_most_100_custom_insights(backend: Backend) {
    let cluster = TestCluster::builder(backend)
        .collector(REGION)
        .start()
        .await;
    let key = cluster.hub_account_key(ACCOUNT, REGION).await;
    let mut hub = cluster.findings(REGION, &key);
    for index in 0..100 {
        hub.create_insight(create(
            &format!("insight {index}"),
            critical(),
            "ResourceId",
        ))
        .await
        .expect("up to 100 insights are created");
    }
    let refused = hub
        .create_insight(create("one too many", critical(), "ResourceId"))
        .await
        .expect_err("the 101st is refused");
    assert_eq!(refused.code(), Code::ResourceExhausted);
    assert_eq!(reason(&refused), "LimitExceededException");

    let mut seen = BTreeSet::new();
    let mut page_token = String::new();
    loop {
        let page = hub
            .get_insights(pb::GetInsightsRequest {
                page_size: 30,
                page_token,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert!(page.insights.len() <= 30);
        seen.extend(page.insights.into_iter().map(|insight| insight.insight_arn));
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    assert_eq!(seen.len(), 100, "every insight, once, across pages");
    let other = cluster.hub_account_key(OTHER, REGION).await;
    cluster
        .findings(REGION, &other)
        .create_insight(create("insight 0", critical(), "ResourceId"))
        .await
        .expect("the limit and names are per account");
    cluster.shutdown().await;
}

fn resource(kind: &str, id: &str) -> pb::FindingResource {
    pb::FindingResource {
        r#type: kind.into(),
        id: id.into(),
        ..Default::default()
    }
}

/// One finding to import: id, severity, resources (type, id), archived.
type Planned = (
    &'static str,
    pb::SeverityLabel,
    &'static [(&'static str, &'static str)],
    bool,
);

/// Findings whose resources and severities make distinct group sizes.
fn findings(account: &str) -> Vec<pb::Finding> {
    let plan: [Planned; 8] = [
        (
            "a",
            pb::SeverityLabel::High,
            &[("AwsS3Bucket", "bucket-1")],
            false,
        ),
        (
            "b",
            pb::SeverityLabel::High,
            &[("AwsS3Bucket", "bucket-1"), ("AwsIamAccessKey", "key-1")],
            false,
        ),
        (
            "c",
            pb::SeverityLabel::Critical,
            &[("AwsS3Bucket", "bucket-1")],
            false,
        ),
        (
            "d",
            pb::SeverityLabel::Low,
            &[("AwsEc2Instance", "i-1"), ("AwsEc2Instance", "i-2")],
            false,
        ),
        (
            "e",
            pb::SeverityLabel::Low,
            &[("AwsEc2Instance", "i-1")],
            false,
        ),
        (
            "f",
            pb::SeverityLabel::Low,
            &[("AwsS3Bucket", "bucket-2")],
            false,
        ),
        (
            "g",
            pb::SeverityLabel::Critical,
            &[("AwsS3Bucket", "bucket-2")],
            true,
        ),
        ("h", pb::SeverityLabel::Medium, &[("Other", "thing")], false),
    ];
    plan.iter()
        .map(|(id, label, resources, archived)| {
            let mut finding = support::sample_finding(REGION, account, id, *label, 1_700_000_000);
            finding.resources = resources
                .iter()
                .map(|(kind, id)| resource(kind, id))
                .collect();
            if *archived {
                finding.record_state = pb::RecordState::Archived as i32;
            }
            finding
        })
        .collect()
}

async fn results(cluster: &TestCluster, key: &str, arn: &str) -> Vec<(String, i64)> {
    let results = cluster
        .findings(REGION, key)
        .get_insight_results(pb::GetInsightResultsRequest {
            insight_arn: arn.into(),
            account_id: String::new(),
        })
        .await
        .expect("the results are computed")
        .into_inner()
        .insight_results
        .expect("results");
    assert_eq!(results.insight_arn, arn);
    results
        .result_values
        .into_iter()
        .map(|value| (value.group_by_attribute_value, value.count))
        .collect()
}

/// Groups as the spec counts them: each matching finding once per distinct value, largest first,
/// ties by value, at most 100.
fn grouped<'a>(values: impl IntoIterator<Item = Vec<&'a str>>) -> Vec<(String, i64)> {
    let mut counts: BTreeMap<String, i64> = BTreeMap::new();
    for finding_values in values {
        for value in finding_values.into_iter().collect::<BTreeSet<_>>() {
            *counts.entry(value.to_string()).or_default() += 1;
        }
    }
    let mut groups: Vec<(String, i64)> = counts.into_iter().collect();
    groups.sort_by(|left, right| right.1.cmp(&left.1).then(left.0.cmp(&right.0)));
    groups.truncate(100);
    groups
}

async fn results_count_matching_findings_per_group(backend: Backend) {
    let cluster = TestCluster::builder(backend)
        .collector(REGION)
        .start()
        .await;
    let key = cluster.hub_account_key(ACCOUNT, REGION).await;
    let imported = findings(ACCOUNT);
    cluster
        .findings(REGION, &key)
        .batch_import_findings(pb::BatchImportFindingsRequest {
            findings: imported.clone(),
        })
        .await
        .unwrap();
    let active: Vec<&pb::Finding> = imported
        .iter()
        .filter(|finding| finding.record_state != pb::RecordState::Archived as i32)
        .collect();

    // Managed: every resource of a matching finding counts (spec §3.10).
    assert_eq!(
        results(&cluster, &key, MANAGED_RESOURCES).await,
        grouped(active.iter().map(|finding| {
            finding
                .resources
                .iter()
                .map(|resource| resource.id.as_str())
                .collect()
        }))
    );
    assert_eq!(
        results(&cluster, &key, MANAGED_RESOURCES).await[0],
        ("bucket-1".to_string(), 3)
    );
    let labels = |finding: &pb::Finding| {
        finding
            .severity
            .as_ref()
            .unwrap()
            .label()
            .as_str_name()
            .trim_start_matches("SEVERITY_LABEL_")
            .to_string()
    };
    let active_labels: Vec<String> = active.iter().map(|finding| labels(finding)).collect();
    assert_eq!(
        results(&cluster, &key, MANAGED_SEVERITY).await,
        grouped(active_labels.iter().map(|label| vec![label.as_str()]))
    );

    let buckets = results(
        &cluster,
        &key,
        "arn:aws:securityhub:::insight/securityhub/default/30",
    )
    .await;
    assert!(
        buckets.contains(&("key-1".to_string(), 1)),
        "every resource of a matching finding counts, not only S3 buckets: {buckets:?}"
    );

    // Custom: filters narrow, the group-by attribute counts.
    let mut hub = cluster.findings(REGION, &key);
    let by_type = hub
        .create_insight(create(
            "S3 and EC2 by resource type",
            pb::FindingFilters {
                severity_label: vec![equals("HIGH"), equals("LOW")],
                ..Default::default()
            },
            "ResourceType",
        ))
        .await
        .unwrap()
        .into_inner()
        .insight_arn;
    let want = grouped(
        imported
            .iter()
            .filter(|finding| ["HIGH", "LOW"].contains(&labels(finding).as_str()))
            .map(|finding| {
                finding
                    .resources
                    .iter()
                    .map(|resource| resource.r#type.as_str())
                    .collect()
            }),
    );
    assert_eq!(results(&cluster, &key, &by_type).await, want);
    assert_eq!(
        want[0],
        ("AwsS3Bucket".to_string(), 3),
        "the expectation discriminates"
    );

    // Results follow customer updates: suppressed findings leave the managed insights.
    hub.batch_update_findings(pb::BatchUpdateFindingsRequest {
        finding_identifiers: ["a", "b"]
            .iter()
            .map(|id| pb::FindingIdentifier {
                id: id.to_string(),
                product_arn: imported[0].product_arn.clone(),
            })
            .collect(),
        workflow: Some(pb::FindingWorkflow {
            status: pb::WorkflowStatus::Suppressed as i32,
        }),
        ..Default::default()
    })
    .await
    .expect("the findings are updated");
    let open: Vec<&&pb::Finding> = active
        .iter()
        .filter(|finding| !["a", "b"].contains(&finding.id.as_str()))
        .collect();
    assert_eq!(
        results(&cluster, &key, MANAGED_RESOURCES).await,
        grouped(open.iter().map(|finding| {
            finding
                .resources
                .iter()
                .map(|resource| resource.id.as_str())
                .collect()
        }))
    );

    // At most 100 groups, the largest.
    let many: Vec<pb::Finding> = (0..120)
        .map(|index| {
            let mut finding = support::sample_finding(
                REGION,
                ACCOUNT,
                &format!("many-{index}"),
                pb::SeverityLabel::Low,
                1_700_000_000,
            );
            finding.resources = vec![resource("Other", &format!("r-{:03}", index % 110))];
            finding
        })
        .collect();
    for batch in many.chunks(60) {
        hub.batch_import_findings(pb::BatchImportFindingsRequest {
            findings: batch.to_vec(),
        })
        .await
        .unwrap();
    }
    let by_resource = hub
        .create_insight(create(
            "Other resources",
            pb::FindingFilters {
                resource_type: vec![equals("Other")],
                id: vec![pb::StringFilter {
                    value: "many-".into(),
                    comparison: pb::StringFilterComparison::Prefix as i32,
                }],
                ..Default::default()
            },
            "ResourceId",
        ))
        .await
        .unwrap()
        .into_inner()
        .insight_arn;
    let groups = results(&cluster, &key, &by_resource).await;
    assert_eq!(groups.len(), 100);
    assert_eq!(
        groups,
        grouped(
            many.iter()
                .map(|finding| vec![finding.resources[0].id.as_str()])
        )
    );
    assert_eq!(groups[0], ("r-000".to_string(), 2));

    // An administrator's insight naming its member covers the member's findings.
    let member_key = cluster.hub_account_key(OTHER, REGION).await;
    cluster
        .findings(REGION, &member_key)
        .batch_import_findings(pb::BatchImportFindingsRequest {
            findings: findings(OTHER),
        })
        .await
        .unwrap();
    make_enabled_member(&cluster, &key, ACCOUNT, OTHER, &member_key, REGION).await;
    let both = hub
        .create_insight(create(
            "Both accounts",
            pb::FindingFilters {
                aws_account_id: vec![equals(ACCOUNT), equals(OTHER)],
                ..Default::default()
            },
            "AwsAccountId",
        ))
        .await
        .unwrap()
        .into_inner()
        .insight_arn;
    support::eventually(
        "the member's findings count",
        std::time::Duration::from_secs(15),
        || {
            let (cluster, key, both) = (&cluster, &key, both.clone());
            async move {
                let groups = cluster
                    .findings(REGION, key)
                    .get_insight_results(pb::GetInsightResultsRequest {
                        insight_arn: both,
                        account_id: String::new(),
                    })
                    .await
                    .map_err(|status| status.to_string())?
                    .into_inner()
                    .insight_results
                    .unwrap()
                    .result_values;
                let groups: Vec<(String, i64)> = groups
                    .into_iter()
                    .map(|value| (value.group_by_attribute_value, value.count))
                    .collect();
                if groups == [(ACCOUNT.to_string(), 128), (OTHER.to_string(), 8)] {
                    Ok(())
                } else {
                    Err(format!("{groups:?}"))
                }
            }
        },
    )
    .await;
    cluster.shutdown().await;
}
