//! End-to-end tests of the aggregated views: data written into two regions' collectors reaches the
//! aggregator through replication, and every view shows exactly the entitled part of it, as
//! computed independently here from what was written. Over real gRPC on SQLite and PostgreSQL.

// A panic in a test is a failed assertion with a location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::{collections::BTreeMap, time::Duration};

use support::{Authed, Backend, TestCluster, eventually, reason};
use tonic::Code;
use tributary_proto::{
    aggregator::v1 as pb, collector::v1 as collector_pb, membership::v1 as membership_pb,
    types::v1 as types_pb,
};

on_both_backends! {
    views_show_exactly_the_entitled_data_of_every_region,
}

const HOME: &str = "us-east-1";
const OTHER: &str = "eu-west-1";
const OWNER: &str = "111111111111";
const SOURCE: &str = "222222222222";
const PENDING: &str = "333333333333";
const STRANGER: &str = "444444444444";
const BUCKET: &str = "AWS::S3::Bucket";
const INSTANCE: &str = "AWS::EC2::Instance";
const REPLICATION_DEADLINE: Duration = Duration::from_secs(60);

type Client = pb::config_aggregator_service_client::ConfigAggregatorServiceClient<Authed>;

/// One resource written to a collector.
struct Resource {
    account_id: &'static str,
    region: &'static str,
    resource_type: &'static str,
    resource_id: &'static str,
    name: &'static str,
    deleted: bool,
}

/// One evaluation result written to a collector.
struct Evaluation {
    account_id: &'static str,
    region: &'static str,
    rule: &'static str,
    resource_type: &'static str,
    resource_id: &'static str,
    compliance: collector_pb::ComplianceType,
}

/// One conformance pack written to a collector.
struct Pack {
    account_id: &'static str,
    region: &'static str,
    name: &'static str,
    rules: &'static [&'static str],
}

const fn resource(
    account_id: &'static str,
    region: &'static str,
    resource_type: &'static str,
    resource_id: &'static str,
    name: &'static str,
    deleted: bool,
) -> Resource {
    Resource {
        account_id,
        region,
        resource_type,
        resource_id,
        name,
        deleted,
    }
}

fn resources() -> Vec<Resource> {
    vec![
        resource(OWNER, HOME, BUCKET, "b1", "one", false),
        resource(OWNER, HOME, BUCKET, "b2", "two", true),
        resource(OWNER, HOME, INSTANCE, "i1", "", false),
        resource(OWNER, OTHER, BUCKET, "b3", "three", false),
        resource(SOURCE, HOME, BUCKET, "b4", "logs", false),
        resource(SOURCE, HOME, INSTANCE, "i2", "", false),
        resource(SOURCE, HOME, INSTANCE, "i3", "", false),
        resource(SOURCE, OTHER, BUCKET, "b5", "unauthorized", false),
        resource(PENDING, HOME, BUCKET, "b6", "pending", false),
    ]
}

fn evaluations() -> Vec<Evaluation> {
    use collector_pb::ComplianceType::{Compliant, NonCompliant, NotApplicable};
    let evaluation =
        |account_id, region, rule, resource_type, resource_id, compliance| Evaluation {
            account_id,
            region,
            rule,
            resource_type,
            resource_id,
            compliance,
        };
    vec![
        evaluation(OWNER, HOME, "r1", BUCKET, "b1", NonCompliant),
        evaluation(OWNER, HOME, "r1", INSTANCE, "i1", Compliant),
        evaluation(OWNER, HOME, "r2", BUCKET, "b1", NotApplicable),
        evaluation(OWNER, OTHER, "r2", BUCKET, "b3", Compliant),
        evaluation(SOURCE, HOME, "r1", BUCKET, "b4", Compliant),
        evaluation(SOURCE, HOME, "r1", INSTANCE, "i2", Compliant),
        evaluation(SOURCE, OTHER, "r3", BUCKET, "b5", NonCompliant),
        evaluation(PENDING, HOME, "r1", BUCKET, "b6", NonCompliant),
    ]
}

fn conformance_packs() -> Vec<Pack> {
    vec![
        Pack {
            account_id: OWNER,
            region: HOME,
            name: "p1",
            rules: &["r1", "r2"],
        },
        Pack {
            account_id: OWNER,
            region: OTHER,
            name: "p2",
            rules: &["r2"],
        },
        Pack {
            account_id: SOURCE,
            region: HOME,
            name: "p3",
            rules: &["r1"],
        },
        Pack {
            account_id: SOURCE,
            region: OTHER,
            name: "p4",
            rules: &["r3"],
        },
        Pack {
            account_id: PENDING,
            region: HOME,
            name: "p5",
            rules: &["r1"],
        },
    ]
}

/// The pairs the aggregator is entitled to: the owner everywhere (no authorization needed) and
/// the source where it authorized; the pending account never authorizes.
fn entitled(account_id: &str, region: &str) -> bool {
    account_id == OWNER || (account_id == SOURCE && region == HOME)
}

/// Summarises results as AWS does: any NON_COMPLIANT wins, then any COMPLIANT, else no data.
fn summarise(results: impl IntoIterator<Item = collector_pb::ComplianceType>) -> (i32, i32) {
    let (mut compliant, mut non_compliant) = (0, 0);
    for result in results {
        match result {
            collector_pb::ComplianceType::Compliant => compliant += 1,
            collector_pb::ComplianceType::NonCompliant => non_compliant += 1,
            _ => {}
        }
    }
    let kind = if non_compliant > 0 {
        collector_pb::ComplianceType::NonCompliant
    } else if compliant > 0 {
        collector_pb::ComplianceType::Compliant
    } else {
        collector_pb::ComplianceType::InsufficientData
    };
    (kind as i32, non_compliant)
}

/// Expected rule rows: (rule, account, region) -> (compliance, non-compliant resources).
fn expected_rules() -> BTreeMap<(String, String, String), (i32, i32)> {
    let mut grouped: BTreeMap<(String, String, String), Vec<collector_pb::ComplianceType>> =
        BTreeMap::new();
    for evaluation in evaluations()
        .into_iter()
        .filter(|evaluation| entitled(evaluation.account_id, evaluation.region))
    {
        grouped
            .entry((
                evaluation.rule.into(),
                evaluation.account_id.into(),
                evaluation.region.into(),
            ))
            .or_default()
            .push(evaluation.compliance);
    }
    grouped
        .into_iter()
        .map(|(key, results)| (key, summarise(results)))
        .collect()
}

async fn write_sources(cluster: &TestCluster) {
    let key = cluster.service_key();
    for region in [HOME, OTHER] {
        for account_id in [OWNER, SOURCE, PENDING] {
            let mut config = cluster.config(region, key);
            config
                .put_configuration_recorder(collector_pb::PutConfigurationRecorderRequest {
                    account_id: account_id.into(),
                    configuration_recorder: Some(collector_pb::ConfigurationRecorder {
                        name: "default".into(),
                        recording_group: None,
                    }),
                })
                .await
                .unwrap();
            config
                .start_configuration_recorder(collector_pb::StartConfigurationRecorderRequest {
                    account_id: account_id.into(),
                    configuration_recorder_name: "default".into(),
                })
                .await
                .unwrap();
        }
    }
    for resource in resources() {
        let status = if resource.deleted {
            collector_pb::ConfigurationItemStatus::ResourceDeleted
        } else {
            collector_pb::ConfigurationItemStatus::Ok
        };
        let mut config = cluster.config(resource.region, key);
        let mut item = collector_pb::ConfigurationItemInput {
            resource_type: resource.resource_type.into(),
            resource_id: resource.resource_id.into(),
            resource_name: resource.name.into(),
            configuration_item_status: collector_pb::ConfigurationItemStatus::ResourceDiscovered
                as i32,
            configuration_item_capture_time: Some(prost_types::Timestamp {
                seconds: 100,
                nanos: 0,
            }),
            configuration: format!(r#"{{"id": "{}"}}"#, resource.resource_id),
            tags: vec![types_pb::Tag {
                key: "team".into(),
                value: "audit".into(),
            }],
            ..Default::default()
        };
        config
            .put_configuration_items(collector_pb::PutConfigurationItemsRequest {
                account_id: resource.account_id.into(),
                items: vec![item.clone()],
            })
            .await
            .unwrap();
        if resource.deleted {
            item.configuration_item_status = status as i32;
            item.configuration = String::new();
            item.configuration_item_capture_time = Some(prost_types::Timestamp {
                seconds: 200,
                nanos: 0,
            });
            config
                .put_configuration_items(collector_pb::PutConfigurationItemsRequest {
                    account_id: resource.account_id.into(),
                    items: vec![item],
                })
                .await
                .unwrap();
        }
    }
    let mut rules: BTreeMap<(&str, &str), Vec<&str>> = BTreeMap::new();
    for evaluation in evaluations() {
        rules
            .entry((evaluation.account_id, evaluation.region))
            .or_default()
            .push(evaluation.rule);
    }
    for pack in conformance_packs() {
        rules
            .entry((pack.account_id, pack.region))
            .or_default()
            .extend(pack.rules);
    }
    for ((account_id, region), mut names) in rules {
        names.sort();
        names.dedup();
        for name in names {
            cluster
                .compliance(region, key)
                .put_config_rule(collector_pb::PutConfigRuleRequest {
                    account_id: account_id.into(),
                    config_rule: Some(collector_pb::ConfigRule {
                        config_rule_name: name.into(),
                        source: Some(collector_pb::ConfigRuleSource {
                            owner: collector_pb::ConfigRuleSourceOwner::Aws as i32,
                            source_identifier: "S3_BUCKET_VERSIONING_ENABLED".into(),
                        }),
                        ..Default::default()
                    }),
                })
                .await
                .unwrap();
        }
    }
    for evaluation in evaluations() {
        cluster
            .compliance(evaluation.region, key)
            .put_evaluations(collector_pb::PutEvaluationsRequest {
                account_id: evaluation.account_id.into(),
                evaluations: vec![collector_pb::EvaluationInput {
                    config_rule_name: evaluation.rule.into(),
                    compliance_resource_type: evaluation.resource_type.into(),
                    compliance_resource_id: evaluation.resource_id.into(),
                    compliance_type: evaluation.compliance as i32,
                    annotation: format!("{} checked", evaluation.resource_id),
                    ordering_timestamp: Some(prost_types::Timestamp {
                        seconds: 150,
                        nanos: 0,
                    }),
                }],
            })
            .await
            .unwrap();
    }
    for pack in conformance_packs() {
        cluster
            .compliance(pack.region, key)
            .put_conformance_pack(collector_pb::PutConformancePackRequest {
                account_id: pack.account_id.into(),
                conformance_pack_name: pack.name.into(),
                config_rule_names: pack.rules.iter().map(|rule| rule.to_string()).collect(),
            })
            .await
            .unwrap();
    }
}

async fn total(
    client: &mut Client,
    group_by_key: pb::ResourceCountGroupKey,
) -> (i64, Vec<(String, i64)>) {
    let response = client
        .get_aggregate_discovered_resource_counts(pb::GetAggregateDiscoveredResourceCountsRequest {
            region: HOME.into(),
            configuration_aggregator_name: "audit".into(),
            group_by_key: group_by_key as i32,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    (
        response.total_discovered_resources,
        response
            .grouped_resource_counts
            .into_iter()
            .map(|group| (group.group_name, group.resource_count))
            .collect(),
    )
}

async fn rule_rows(client: &mut Client) -> BTreeMap<(String, String, String), (i32, i32)> {
    client
        .describe_aggregate_compliance_by_config_rules(
            pb::DescribeAggregateComplianceByConfigRulesRequest {
                region: HOME.into(),
                configuration_aggregator_name: "audit".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .into_inner()
        .aggregate_compliance_by_config_rules
        .into_iter()
        .map(|row| {
            let compliance = row.compliance.unwrap();
            (
                (row.config_rule_name, row.account_id, row.aws_region),
                (
                    compliance.compliance_type,
                    compliance
                        .compliance_contributor_count
                        .map_or(0, |count| count.capped_count),
                ),
            )
        })
        .collect()
}

async fn pack_rows(client: &mut Client) -> Vec<(String, String, String, i32, i32)> {
    client
        .describe_aggregate_compliance_by_conformance_packs(
            pb::DescribeAggregateComplianceByConformancePacksRequest {
                region: HOME.into(),
                configuration_aggregator_name: "audit".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .into_inner()
        .aggregate_compliance_by_conformance_packs
        .into_iter()
        .map(|row| {
            let compliance = row.compliance.unwrap();
            (
                row.account_id,
                row.aws_region,
                row.conformance_pack_name,
                compliance.compliance_type,
                compliance.total_rule_count,
            )
        })
        .collect()
}

async fn views_show_exactly_the_entitled_data_of_every_region(backend: Backend) {
    let cluster = TestCluster::builder(backend)
        .collector(HOME)
        .collector(OTHER)
        .start()
        .await;
    let owner_key = cluster.account_key(OWNER).await;
    let source_key = cluster.account_key(SOURCE).await;
    cluster.ensure_account(PENDING).await;
    // The source authorizes the owner's aggregators in the home region only.
    cluster
        .authorizations(&source_key)
        .put_aggregation_authorization(membership_pb::PutAggregationAuthorizationRequest {
            region: HOME.into(),
            authorized_account_id: OWNER.into(),
            authorized_aws_region: HOME.into(),
            tags: Vec::new(),
        })
        .await
        .unwrap();
    write_sources(&cluster).await;
    let mut client = cluster.config_aggregators(&owner_key);
    client
        .put_configuration_aggregator(pb::PutConfigurationAggregatorRequest {
            region: HOME.into(),
            configuration_aggregator_name: "audit".into(),
            account_aggregation_sources: vec![pb::AccountAggregationSource {
                account_ids: vec![OWNER.into(), SOURCE.into(), PENDING.into()],
                all_aws_regions: true,
                aws_regions: Vec::new(),
            }],
            ..Default::default()
        })
        .await
        .unwrap();

    // Expectations, from what was written.
    let current: Vec<Resource> = resources()
        .into_iter()
        .filter(|resource| !resource.deleted && entitled(resource.account_id, resource.region))
        .collect();
    let mut by_type: BTreeMap<String, i64> = BTreeMap::new();
    let mut by_account: BTreeMap<String, i64> = BTreeMap::new();
    let mut by_region: BTreeMap<String, i64> = BTreeMap::new();
    for resource in &current {
        *by_type.entry(resource.resource_type.into()).or_default() += 1;
        *by_account.entry(resource.account_id.into()).or_default() += 1;
        *by_region.entry(resource.region.into()).or_default() += 1;
    }
    let expected_total = i64::try_from(current.len()).unwrap();
    let expected_rule_rows = expected_rules();
    let expected_packs: Vec<(String, String, String, i32, i32)> = {
        let mut packs: Vec<_> = conformance_packs()
            .into_iter()
            .filter(|pack| entitled(pack.account_id, pack.region))
            .map(|pack| {
                let summaries: Vec<i32> = pack
                    .rules
                    .iter()
                    .map(|rule| {
                        expected_rule_rows
                            .get(&(
                                rule.to_string(),
                                pack.account_id.to_string(),
                                pack.region.to_string(),
                            ))
                            .map_or(
                                collector_pb::ComplianceType::InsufficientData as i32,
                                |summary| summary.0,
                            )
                    })
                    .collect();
                let kind = if summaries
                    .contains(&(collector_pb::ComplianceType::NonCompliant as i32))
                {
                    collector_pb::ComplianceType::NonCompliant
                } else if summaries.contains(&(collector_pb::ComplianceType::Compliant as i32)) {
                    collector_pb::ComplianceType::Compliant
                } else {
                    collector_pb::ComplianceType::InsufficientData
                };
                (
                    pack.account_id.to_string(),
                    pack.region.to_string(),
                    pack.name.to_string(),
                    kind as i32,
                    i32::try_from(pack.rules.len()).unwrap(),
                )
            })
            .collect();
        packs.sort();
        packs
    };

    // Replication brings the entitled data in, and nothing else.
    eventually(
        "the entitled data is replicated",
        REPLICATION_DEADLINE,
        || {
            let mut client = client.clone();
            let expected_rule_rows = expected_rule_rows.clone();
            let expected_packs = expected_packs.clone();
            async move {
                let observed = (
                    total(&mut client, pb::ResourceCountGroupKey::Unspecified)
                        .await
                        .0,
                    rule_rows(&mut client).await,
                    pack_rows(&mut client).await,
                );
                if observed == (expected_total, expected_rule_rows, expected_packs) {
                    Ok(())
                } else {
                    Err(format!("{observed:?}"))
                }
            }
        },
    )
    .await;

    let (count, groups) = total(&mut client, pb::ResourceCountGroupKey::ResourceType).await;
    assert_eq!(count, expected_total);
    assert_eq!(groups, by_type.into_iter().collect::<Vec<_>>());
    assert_eq!(
        total(&mut client, pb::ResourceCountGroupKey::AccountId)
            .await
            .1,
        by_account.into_iter().collect::<Vec<_>>()
    );
    assert_eq!(
        total(&mut client, pb::ResourceCountGroupKey::AwsRegion)
            .await
            .1,
        by_region.into_iter().collect::<Vec<_>>()
    );

    // Listing buckets, one page at a time.
    let mut listed = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = client
            .list_aggregate_discovered_resources(pb::ListAggregateDiscoveredResourcesRequest {
                region: HOME.into(),
                configuration_aggregator_name: "audit".into(),
                resource_type: BUCKET.into(),
                page_size: 1,
                page_token: page_token.clone(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        listed.extend(page.resource_identifiers.into_iter().map(|id| {
            (
                id.source_account_id,
                id.source_region,
                id.resource_id,
                id.resource_name,
            )
        }));
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    let mut expected_buckets: Vec<(String, String, String, String)> = current
        .iter()
        .filter(|resource| resource.resource_type == BUCKET)
        .map(|resource| {
            (
                resource.account_id.into(),
                resource.region.into(),
                resource.resource_id.into(),
                resource.name.into(),
            )
        })
        .collect();
    expected_buckets.sort();
    assert_eq!(listed, expected_buckets);

    // Single and batch reads of configuration items.
    let identifier = |account_id: &str, region: &str, resource_type: &str, resource_id: &str| {
        pb::AggregateResourceIdentifier {
            source_account_id: account_id.into(),
            source_region: region.into(),
            resource_id: resource_id.into(),
            resource_type: resource_type.into(),
            resource_name: String::new(),
        }
    };
    let item = client
        .get_aggregate_resource_config(pb::GetAggregateResourceConfigRequest {
            region: HOME.into(),
            configuration_aggregator_name: "audit".into(),
            resource_identifier: Some(identifier(SOURCE, HOME, BUCKET, "b4")),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .configuration_item
        .unwrap();
    assert_eq!(
        (item.account_id.as_str(), item.resource_name.as_str()),
        (SOURCE, "logs")
    );
    assert_eq!(item.tags.len(), 1);
    for hidden in [
        identifier(OWNER, HOME, BUCKET, "b2"),
        identifier(SOURCE, OTHER, BUCKET, "b5"),
        identifier(PENDING, HOME, BUCKET, "b6"),
    ] {
        let status = client
            .get_aggregate_resource_config(pb::GetAggregateResourceConfigRequest {
                region: HOME.into(),
                configuration_aggregator_name: "audit".into(),
                resource_identifier: Some(hidden.clone()),
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::NotFound, "{hidden:?}");
        assert_eq!(
            reason(&status),
            "ResourceNotDiscoveredException",
            "{hidden:?}"
        );
    }
    let batch = client
        .batch_get_aggregate_resource_config(pb::BatchGetAggregateResourceConfigRequest {
            region: HOME.into(),
            configuration_aggregator_name: "audit".into(),
            resource_identifiers: vec![
                identifier(OWNER, OTHER, BUCKET, "b3"),
                identifier(PENDING, HOME, BUCKET, "b6"),
                identifier(OWNER, HOME, INSTANCE, "i1"),
            ],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let found: Vec<&str> = batch
        .base_configuration_items
        .iter()
        .map(|item| item.resource_id.as_str())
        .collect();
    assert_eq!(found, ["b3", "i1"]);
    assert!(
        batch
            .base_configuration_items
            .iter()
            .all(|item| item.tags.is_empty())
    );
    assert_eq!(
        batch.unprocessed_resource_identifiers,
        [identifier(PENDING, HOME, BUCKET, "b6")]
    );

    // Per-resource results of one rule in one source, and the rule counts per region.
    let details = client
        .get_aggregate_compliance_details_by_config_rule(
            pb::GetAggregateComplianceDetailsByConfigRuleRequest {
                region: HOME.into(),
                configuration_aggregator_name: "audit".into(),
                config_rule_name: "r1".into(),
                account_id: SOURCE.into(),
                aws_region: HOME.into(),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .into_inner()
        .aggregate_evaluation_results;
    let mut expected_details: Vec<(String, String)> = evaluations()
        .into_iter()
        .filter(|evaluation| {
            evaluation.account_id == SOURCE && evaluation.region == HOME && evaluation.rule == "r1"
        })
        .map(|evaluation| {
            (
                evaluation.resource_type.to_string(),
                evaluation.resource_id.to_string(),
            )
        })
        .collect();
    expected_details.sort();
    let seen: Vec<(String, String)> = details
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
                qualifier.resource_type.clone(),
                qualifier.resource_id.clone(),
            )
        })
        .collect();
    assert_eq!(seen, expected_details);
    let summary = client
        .get_aggregate_config_rule_compliance_summary(
            pb::GetAggregateConfigRuleComplianceSummaryRequest {
                region: HOME.into(),
                configuration_aggregator_name: "audit".into(),
                group_by_key: pb::ConfigRuleComplianceSummaryGroupKey::AwsRegion as i32,
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .into_inner();
    let mut expected_summary: BTreeMap<String, (i32, i32)> = BTreeMap::new();
    for ((_, _, region), (kind, _)) in &expected_rule_rows {
        let entry = expected_summary.entry(region.clone()).or_default();
        if *kind == collector_pb::ComplianceType::Compliant as i32 {
            entry.0 += 1;
        } else if *kind == collector_pb::ComplianceType::NonCompliant as i32 {
            entry.1 += 1;
        }
    }
    let seen: BTreeMap<String, (i32, i32)> = summary
        .aggregate_compliance_counts
        .into_iter()
        .map(|group| {
            let counts = group.compliance_summary.unwrap();
            (
                group.group_name,
                (
                    counts.compliant_resource_count.unwrap().capped_count,
                    counts.non_compliant_resource_count.unwrap().capped_count,
                ),
            )
        })
        .collect();
    assert_eq!(seen, expected_summary);

    // The sources' status: entitled pairs replicate, the others say why they do not.
    eventually(
        "every entitled source succeeds",
        REPLICATION_DEADLINE,
        || {
            let mut client = client.clone();
            async move {
                let rows = client
                    .describe_configuration_aggregator_sources_status(
                        pb::DescribeConfigurationAggregatorSourcesStatusRequest {
                            region: HOME.into(),
                            configuration_aggregator_name: "audit".into(),
                            ..Default::default()
                        },
                    )
                    .await
                    .map_err(|status| status.to_string())?
                    .into_inner()
                    .aggregated_source_status_list;
                let observed: Vec<(String, String, i32, String)> = rows
                    .into_iter()
                    .map(|row| {
                        (
                            row.source_id,
                            row.aws_region,
                            row.last_update_status,
                            row.last_error_code,
                        )
                    })
                    .collect();
                let expected: Vec<(String, String, i32, String)> = [OWNER, SOURCE, PENDING]
                    .into_iter()
                    .flat_map(|account_id| [OTHER, HOME].map(move |region| (account_id, region)))
                    .map(|(account_id, region)| {
                        if entitled(account_id, region) {
                            (
                                account_id.to_string(),
                                region.to_string(),
                                pb::AggregatedSourceStatusType::Succeeded as i32,
                                String::new(),
                            )
                        } else {
                            (
                                account_id.to_string(),
                                region.to_string(),
                                pb::AggregatedSourceStatusType::Failed as i32,
                                "AUTHORIZATION_NOT_FOUND".to_string(),
                            )
                        }
                    })
                    .collect();
                if observed == expected {
                    Ok(())
                } else {
                    Err(format!("{observed:?}"))
                }
            }
        },
    )
    .await;

    // Another account sees none of it.
    let stranger_key = cluster.account_key(STRANGER).await;
    let status = cluster
        .config_aggregators(&stranger_key)
        .list_aggregate_discovered_resources(pb::ListAggregateDiscoveredResourcesRequest {
            owner_account_id: OWNER.into(),
            region: HOME.into(),
            configuration_aggregator_name: "audit".into(),
            resource_type: BUCKET.into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    assert_eq!(reason(&status), "AccessDeniedException");

    // Replacing the sources without the source account hides its data at once.
    client
        .put_configuration_aggregator(pb::PutConfigurationAggregatorRequest {
            region: HOME.into(),
            configuration_aggregator_name: "audit".into(),
            account_aggregation_sources: vec![pb::AccountAggregationSource {
                account_ids: vec![OWNER.into(), PENDING.into()],
                all_aws_regions: true,
                aws_regions: Vec::new(),
            }],
            ..Default::default()
        })
        .await
        .unwrap();
    let owners_only = i64::try_from(
        current
            .iter()
            .filter(|resource| resource.account_id == OWNER)
            .count(),
    )
    .unwrap();
    let (count, groups) = total(&mut client, pb::ResourceCountGroupKey::AccountId).await;
    assert_eq!(
        (count, groups),
        (owners_only, vec![(OWNER.to_string(), owners_only)])
    );
    assert!(
        rule_rows(&mut client)
            .await
            .keys()
            .all(|(_, account_id, _)| account_id == OWNER)
    );
    cluster.shutdown().await;
}
