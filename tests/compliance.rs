//! End-to-end tests of the collector's `ComplianceService`: Config rules, evaluation results,
//! compliance summaries and conformance packs, over real gRPC on SQLite and PostgreSQL.

// A panic in a test is a failed assertion with a location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::{Authed, Backend, TestCluster, reason, violated_fields};
use tonic::Code;
use tributary_proto::collector::v1 as pb;

on_both_backends! {
    rules_are_put_described_replaced_and_deleted,
    evaluations_summarise_per_rule_and_resource,
    older_results_do_not_replace_newer_ones,
    contributor_counts_are_capped_at_one_hundred,
    conformance_packs_report_rule_compliance_and_hold_their_rules,
    bad_input_is_rejected_by_field_and_writes_nothing,
    accounts_act_only_for_themselves,
    compliance_changes_reach_the_change_log_stream_and_snapshot,
}

const REGION: &str = "us-east-1";
const ACCOUNT: &str = "111111111111";
const BUCKET: &str = "AWS::S3::Bucket";

type Client = pb::compliance_service_client::ComplianceServiceClient<Authed>;

async fn start(backend: Backend) -> (TestCluster, Client) {
    let cluster = TestCluster::builder(backend)
        .collector(REGION)
        .start()
        .await;
    let key = cluster.account_key(ACCOUNT).await;
    let client = cluster.compliance(REGION, &key);
    (cluster, client)
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

fn rule(name: &str) -> pb::ConfigRule {
    pb::ConfigRule {
        config_rule_name: name.into(),
        description: format!("checks {name}"),
        source: Some(pb::ConfigRuleSource {
            owner: pb::ConfigRuleSourceOwner::Aws as i32,
            source_identifier: "S3_BUCKET_VERSIONING_ENABLED".into(),
        }),
        scope: Some(pb::ConfigRuleScope {
            compliance_resource_types: vec![BUCKET.into()],
            ..Default::default()
        }),
        input_parameters: r#"{"days": "30"}"#.into(),
        maximum_execution_frequency: pb::MaximumExecutionFrequency::SixHours as i32,
        ..Default::default()
    }
}

async fn put_rule(client: &mut Client, name: &str) -> pb::ConfigRule {
    client
        .put_config_rule(pb::PutConfigRuleRequest {
            account_id: ACCOUNT.into(),
            config_rule: Some(rule(name)),
        })
        .await
        .unwrap()
        .into_inner()
        .config_rule
        .unwrap()
}

fn evaluation(
    rule: &str,
    resource_id: &str,
    compliance_type: pb::ComplianceType,
    seconds: i64,
) -> pb::EvaluationInput {
    pb::EvaluationInput {
        config_rule_name: rule.into(),
        compliance_resource_type: BUCKET.into(),
        compliance_resource_id: resource_id.into(),
        compliance_type: compliance_type as i32,
        annotation: format!("{resource_id} at {seconds}"),
        ordering_timestamp: Some(prost_types::Timestamp { seconds, nanos: 0 }),
    }
}

async fn put(
    client: &mut Client,
    evaluations: Vec<pb::EvaluationInput>,
) -> pb::PutEvaluationsResponse {
    client
        .put_evaluations(pb::PutEvaluationsRequest {
            account_id: ACCOUNT.into(),
            evaluations,
        })
        .await
        .unwrap()
        .into_inner()
}

async fn rule_compliance(
    client: &mut Client,
    types: Vec<pb::ComplianceType>,
) -> Vec<(String, pb::Compliance)> {
    client
        .describe_compliance_by_config_rule(pb::DescribeComplianceByConfigRuleRequest {
            account_id: ACCOUNT.into(),
            compliance_types: types.into_iter().map(|kind| kind as i32).collect(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .compliance_by_config_rules
        .into_iter()
        .map(|row| (row.config_rule_name, row.compliance.unwrap()))
        .collect()
}

fn kind(compliance: &pb::Compliance) -> pb::ComplianceType {
    pb::ComplianceType::try_from(compliance.compliance_type).unwrap()
}

async fn rules_are_put_described_replaced_and_deleted(backend: Backend) {
    let (cluster, mut client) = start(backend).await;
    let before = head(&cluster).await;
    let created = put_rule(&mut client, "s3-versioning").await;
    assert!(created.config_rule_id.starts_with("config-rule-"));
    let suffix = created.config_rule_id.trim_start_matches("config-rule-");
    assert_eq!(suffix.len(), 8);
    assert!(
        suffix
            .bytes()
            .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit())
    );
    assert_eq!(
        created.config_rule_arn,
        format!(
            "arn:aws:config:{REGION}:{ACCOUNT}:config-rule/{}",
            created.config_rule_id
        )
    );
    assert_eq!(
        created.config_rule_state,
        pb::ConfigRuleState::Active as i32
    );
    assert_eq!(
        head(&cluster).await,
        before + 1,
        "the put is in the change log"
    );

    let mut changed = rule("s3-versioning");
    changed.description = "replaced".into();
    let replaced = client
        .put_config_rule(pb::PutConfigRuleRequest {
            account_id: ACCOUNT.into(),
            config_rule: Some(changed),
        })
        .await
        .unwrap()
        .into_inner()
        .config_rule
        .unwrap();
    assert_eq!(replaced.config_rule_id, created.config_rule_id);
    assert_eq!(replaced.config_rule_arn, created.config_rule_arn);
    assert_eq!(replaced.description, "replaced");

    for index in 0..3 {
        put_rule(&mut client, &format!("rule-{index}")).await;
    }
    let first = client
        .describe_config_rules(pb::DescribeConfigRulesRequest {
            account_id: ACCOUNT.into(),
            page_size: 2,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let second = client
        .describe_config_rules(pb::DescribeConfigRulesRequest {
            account_id: ACCOUNT.into(),
            page_size: 2,
            page_token: first.next_page_token.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let names: Vec<String> = first
        .config_rules
        .iter()
        .chain(&second.config_rules)
        .map(|rule| rule.config_rule_name.clone())
        .collect();
    assert_eq!(names, ["rule-0", "rule-1", "rule-2", "s3-versioning"]);
    assert!(second.next_page_token.is_empty());
    let named = client
        .describe_config_rules(pb::DescribeConfigRulesRequest {
            account_id: ACCOUNT.into(),
            config_rule_names: vec!["s3-versioning".into()],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(named.config_rules, vec![replaced]);

    put(
        &mut client,
        vec![evaluation(
            "s3-versioning",
            "b1",
            pb::ComplianceType::Compliant,
            10,
        )],
    )
    .await;
    let before_delete = head(&cluster).await;
    client
        .delete_config_rule(pb::DeleteConfigRuleRequest {
            account_id: ACCOUNT.into(),
            config_rule_name: "s3-versioning".into(),
        })
        .await
        .unwrap();
    assert_eq!(
        head(&cluster).await,
        before_delete + 2,
        "a rule and a result delete record"
    );
    let gone = client
        .delete_config_rule(pb::DeleteConfigRuleRequest {
            account_id: ACCOUNT.into(),
            config_rule_name: "s3-versioning".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(gone.code(), Code::NotFound);
    assert_eq!(reason(&gone), "NoSuchConfigRuleException");
    let details = client
        .get_compliance_details_by_config_rule(pb::GetComplianceDetailsByConfigRuleRequest {
            account_id: ACCOUNT.into(),
            config_rule_name: "s3-versioning".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(reason(&details), "NoSuchConfigRuleException");
    let bad_token = client
        .describe_config_rules(pb::DescribeConfigRulesRequest {
            account_id: ACCOUNT.into(),
            page_token: "forged".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(reason(&bad_token), "InvalidNextTokenException");
    let bad_limit = client
        .describe_config_rules(pb::DescribeConfigRulesRequest {
            account_id: ACCOUNT.into(),
            page_size: 26,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(bad_limit.code(), Code::InvalidArgument);
    assert_eq!(reason(&bad_limit), "InvalidLimitException");
    cluster.shutdown().await;
}

async fn evaluations_summarise_per_rule_and_resource(backend: Backend) {
    use pb::ComplianceType::*;
    let (cluster, mut client) = start(backend).await;
    for name in [
        "encryption",
        "logging",
        "not-applicable",
        "unused",
        "versioning",
    ] {
        put_rule(&mut client, name).await;
    }
    put(
        &mut client,
        vec![
            evaluation("versioning", "b1", Compliant, 10),
            evaluation("versioning", "b2", NonCompliant, 10),
            evaluation("versioning", "b3", NotApplicable, 10),
            evaluation("encryption", "b1", Compliant, 10),
            evaluation("encryption", "b2", NotApplicable, 10),
            evaluation("logging", "b2", NonCompliant, 10),
            evaluation("not-applicable", "b3", NotApplicable, 10),
        ],
    )
    .await;
    let rules = rule_compliance(&mut client, Vec::new()).await;
    let summary: Vec<(&str, pb::ComplianceType)> = rules
        .iter()
        .map(|(name, compliance)| (name.as_str(), kind(compliance)))
        .collect();
    assert_eq!(
        summary,
        [
            ("encryption", Compliant),
            ("logging", NonCompliant),
            ("not-applicable", InsufficientData),
            ("unused", InsufficientData),
            ("versioning", NonCompliant),
        ]
    );
    let versioning = &rules[4].1;
    assert_eq!(
        versioning.compliance_contributor_count,
        Some(pb::ComplianceContributorCount {
            capped_count: 1,
            cap_exceeded: false
        })
    );
    assert_eq!(rules[0].1.compliance_contributor_count, None);
    let non_compliant = rule_compliance(&mut client, vec![NonCompliant]).await;
    assert_eq!(
        non_compliant
            .iter()
            .map(|(name, _)| name.as_str())
            .collect::<Vec<_>>(),
        ["logging", "versioning"]
    );

    let resources = client
        .describe_compliance_by_resource(pb::DescribeComplianceByResourceRequest {
            account_id: ACCOUNT.into(),
            resource_type: BUCKET.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .compliance_by_resources;
    let by_resource: Vec<(&str, pb::ComplianceType, Option<i32>)> = resources
        .iter()
        .map(|row| {
            let compliance = row.compliance.as_ref().unwrap();
            (
                row.resource_id.as_str(),
                kind(compliance),
                compliance
                    .compliance_contributor_count
                    .map(|count| count.capped_count),
            )
        })
        .collect();
    assert_eq!(
        by_resource,
        [
            ("b1", Compliant, None),
            ("b2", NonCompliant, Some(2)),
            ("b3", InsufficientData, None)
        ]
    );
    let only_b2 = client
        .describe_compliance_by_resource(pb::DescribeComplianceByResourceRequest {
            account_id: ACCOUNT.into(),
            resource_type: BUCKET.into(),
            resource_id: "b2".into(),
            compliance_types: vec![NonCompliant as i32],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .compliance_by_resources;
    assert_eq!(only_b2.len(), 1);

    let details = client
        .get_compliance_details_by_config_rule(pb::GetComplianceDetailsByConfigRuleRequest {
            account_id: ACCOUNT.into(),
            config_rule_name: "versioning".into(),
            page_size: 2,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        details
            .evaluation_results
            .iter()
            .map(|result| result.compliance_resource_id.as_str())
            .collect::<Vec<_>>(),
        ["b1", "b2"]
    );
    let rest = client
        .get_compliance_details_by_config_rule(pb::GetComplianceDetailsByConfigRuleRequest {
            account_id: ACCOUNT.into(),
            config_rule_name: "versioning".into(),
            page_size: 2,
            page_token: details.next_page_token,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(rest.evaluation_results.len(), 1);
    assert_eq!(
        rest.evaluation_results[0].compliance_type,
        NotApplicable as i32
    );
    assert!(rest.next_page_token.is_empty());
    let filtered = client
        .get_compliance_details_by_config_rule(pb::GetComplianceDetailsByConfigRuleRequest {
            account_id: ACCOUNT.into(),
            config_rule_name: "versioning".into(),
            compliance_types: vec![NonCompliant as i32],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(filtered.evaluation_results.len(), 1);
    assert_eq!(filtered.evaluation_results[0].compliance_resource_id, "b2");
    let too_many = client
        .get_compliance_details_by_config_rule(pb::GetComplianceDetailsByConfigRuleRequest {
            account_id: ACCOUNT.into(),
            config_rule_name: "versioning".into(),
            page_size: 101,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(reason(&too_many), "InvalidLimitException");
    cluster.shutdown().await;
}

async fn older_results_do_not_replace_newer_ones(backend: Backend) {
    use pb::ComplianceType::*;
    let (cluster, mut client) = start(backend).await;
    put_rule(&mut client, "versioning").await;
    let stored = put(
        &mut client,
        vec![evaluation("versioning", "b1", NonCompliant, 100)],
    )
    .await;
    assert!(stored.failed_evaluations.is_empty());
    assert_eq!(stored.change_log_seq, head(&cluster).await);
    let stale = put(
        &mut client,
        vec![
            evaluation("versioning", "b1", Compliant, 50),
            evaluation("versioning", "b2", Compliant, 50),
        ],
    )
    .await;
    assert_eq!(stale.failed_evaluations.len(), 1);
    assert_eq!(stale.failed_evaluations[0].index, 0);
    assert_eq!(
        stale.change_log_seq,
        stored.change_log_seq + 1,
        "only b2 was written"
    );
    let rules = rule_compliance(&mut client, Vec::new()).await;
    assert_eq!(kind(&rules[0].1), NonCompliant);
    let newer = put(
        &mut client,
        vec![evaluation("versioning", "b1", Compliant, 200)],
    )
    .await;
    assert!(newer.failed_evaluations.is_empty());
    let rules = rule_compliance(&mut client, Vec::new()).await;
    assert_eq!(kind(&rules[0].1), Compliant);
    cluster.shutdown().await;
}

async fn contributor_counts_are_capped_at_one_hundred(backend: Backend) {
    use pb::ComplianceType::*;
    let (cluster, mut client) = start(backend).await;
    put_rule(&mut client, "versioning").await;
    put(
        &mut client,
        (0..100)
            .map(|index| evaluation("versioning", &format!("b{index:03}"), NonCompliant, 1))
            .collect(),
    )
    .await;
    let at_cap = rule_compliance(&mut client, Vec::new()).await;
    assert_eq!(
        at_cap[0].1.compliance_contributor_count,
        Some(pb::ComplianceContributorCount {
            capped_count: 100,
            cap_exceeded: false
        })
    );
    put(
        &mut client,
        vec![evaluation("versioning", "b100", NonCompliant, 1)],
    )
    .await;
    let over = rule_compliance(&mut client, Vec::new()).await;
    assert_eq!(
        over[0].1.compliance_contributor_count,
        Some(pb::ComplianceContributorCount {
            capped_count: 100,
            cap_exceeded: true
        })
    );
    cluster.shutdown().await;
}

async fn conformance_packs_report_rule_compliance_and_hold_their_rules(backend: Backend) {
    use pb::ComplianceType::*;
    let (cluster, mut client) = start(backend).await;
    for name in ["encryption", "logging", "versioning"] {
        put_rule(&mut client, name).await;
    }
    put(
        &mut client,
        vec![
            evaluation("versioning", "b1", Compliant, 1),
            evaluation("encryption", "b1", NonCompliant, 1),
        ],
    )
    .await;
    let before = head(&cluster).await;
    let pack = client
        .put_conformance_pack(pb::PutConformancePackRequest {
            account_id: ACCOUNT.into(),
            conformance_pack_name: "Best-Practices".into(),
            config_rule_names: vec!["versioning".into(), "encryption".into(), "logging".into()],
        })
        .await
        .unwrap()
        .into_inner()
        .conformance_pack
        .unwrap();
    assert_eq!(head(&cluster).await, before + 1);
    let prefix = format!("arn:aws:config:{REGION}:{ACCOUNT}:conformance-pack/Best-Practices-");
    assert!(
        pack.conformance_pack_arn.starts_with(&prefix),
        "{}",
        pack.conformance_pack_arn
    );

    let compliance = client
        .describe_conformance_pack_compliance(pb::DescribeConformancePackComplianceRequest {
            account_id: ACCOUNT.into(),
            conformance_pack_name: "Best-Practices".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let rules: Vec<(&str, i32)> = compliance
        .conformance_pack_rule_compliance_list
        .iter()
        .map(|rule| (rule.config_rule_name.as_str(), rule.compliance_type))
        .collect();
    assert_eq!(
        rules,
        [
            ("encryption", NonCompliant as i32),
            ("logging", InsufficientData as i32),
            ("versioning", Compliant as i32),
        ]
    );
    assert_eq!(
        compliance.summary,
        Some(pb::ConformancePackComplianceSummary {
            compliance_type: NonCompliant as i32,
            compliant_rule_count: 1,
            non_compliant_rule_count: 1,
            total_rule_count: 3,
        })
    );
    let only_compliant = client
        .describe_conformance_pack_compliance(pb::DescribeConformancePackComplianceRequest {
            account_id: ACCOUNT.into(),
            conformance_pack_name: "Best-Practices".into(),
            compliance_types: vec![Compliant as i32],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        only_compliant.conformance_pack_rule_compliance_list.len(),
        1
    );

    let in_use = client
        .delete_config_rule(pb::DeleteConfigRuleRequest {
            account_id: ACCOUNT.into(),
            config_rule_name: "logging".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(in_use.code(), Code::FailedPrecondition);
    assert_eq!(reason(&in_use), "ResourceInUseException");

    let replaced = client
        .put_conformance_pack(pb::PutConformancePackRequest {
            account_id: ACCOUNT.into(),
            conformance_pack_name: "Best-Practices".into(),
            config_rule_names: vec!["versioning".into()],
        })
        .await
        .unwrap()
        .into_inner()
        .conformance_pack
        .unwrap();
    assert_eq!(replaced.conformance_pack_arn, pack.conformance_pack_arn);
    client
        .delete_config_rule(pb::DeleteConfigRuleRequest {
            account_id: ACCOUNT.into(),
            config_rule_name: "logging".into(),
        })
        .await
        .unwrap();
    let packs = client
        .describe_conformance_packs(pb::DescribeConformancePacksRequest {
            account_id: ACCOUNT.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .conformance_packs;
    assert_eq!(packs, vec![replaced]);
    let before_delete = head(&cluster).await;
    client
        .delete_conformance_pack(pb::DeleteConformancePackRequest {
            account_id: ACCOUNT.into(),
            conformance_pack_name: "Best-Practices".into(),
        })
        .await
        .unwrap();
    assert_eq!(head(&cluster).await, before_delete + 1);
    for status in [
        client
            .delete_conformance_pack(pb::DeleteConformancePackRequest {
                account_id: ACCOUNT.into(),
                conformance_pack_name: "Best-Practices".into(),
            })
            .await
            .unwrap_err(),
        client
            .describe_conformance_packs(pb::DescribeConformancePacksRequest {
                account_id: ACCOUNT.into(),
                conformance_pack_names: vec!["Best-Practices".into()],
                ..Default::default()
            })
            .await
            .unwrap_err(),
    ] {
        assert_eq!(status.code(), Code::NotFound);
        assert_eq!(reason(&status), "NoSuchConformancePackException");
    }
    cluster.shutdown().await;
}

async fn bad_input_is_rejected_by_field_and_writes_nothing(backend: Backend) {
    use pb::ComplianceType::*;
    let (cluster, mut client) = start(backend).await;
    put_rule(&mut client, "versioning").await;
    let before = head(&cluster).await;

    let mut bad_rule = rule("");
    bad_rule.input_parameters = "not json".into();
    let status = client
        .put_config_rule(pb::PutConfigRuleRequest {
            account_id: ACCOUNT.into(),
            config_rule: Some(bad_rule),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(reason(&status), "ValidationException");
    assert_eq!(
        violated_fields(&status),
        [
            "config_rule.config_rule_name",
            "config_rule.input_parameters"
        ]
    );

    let mut bad = evaluation("versioning", "", Compliant, 1);
    bad.annotation = "a".repeat(257);
    let status = client
        .put_evaluations(pb::PutEvaluationsRequest {
            account_id: ACCOUNT.into(),
            evaluations: vec![
                evaluation("versioning", "b1", Compliant, 1),
                evaluation("versioning", "b2", Compliant, 1),
                evaluation("versioning", "b3", Compliant, 1),
                bad,
                evaluation("versioning", "b1", NonCompliant, 1),
            ],
        })
        .await
        .unwrap_err();
    assert_eq!(reason(&status), "ValidationException");
    assert_eq!(
        violated_fields(&status),
        [
            "evaluations[3].compliance_resource_id",
            "evaluations[3].annotation",
            "evaluations[4].compliance_resource_id",
        ]
    );

    let status = client
        .put_evaluations(pb::PutEvaluationsRequest {
            account_id: ACCOUNT.into(),
            evaluations: vec![
                evaluation("versioning", "b1", Compliant, 1),
                evaluation("missing", "b1", Compliant, 1),
            ],
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    assert_eq!(reason(&status), "NoSuchConfigRuleException");

    let status = client
        .put_conformance_pack(pb::PutConformancePackRequest {
            account_id: ACCOUNT.into(),
            conformance_pack_name: "pack".into(),
            config_rule_names: vec!["versioning".into(), "missing".into()],
        })
        .await
        .unwrap_err();
    assert_eq!(reason(&status), "NoSuchConfigRuleException");
    let status = client
        .put_conformance_pack(pb::PutConformancePackRequest {
            account_id: ACCOUNT.into(),
            conformance_pack_name: "1-bad_name".into(),
            config_rule_names: Vec::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(
        violated_fields(&status),
        ["conformance_pack_name", "config_rule_names"]
    );
    let status = client
        .describe_compliance_by_config_rule(pb::DescribeComplianceByConfigRuleRequest {
            account_id: ACCOUNT.into(),
            compliance_types: vec![NotApplicable as i32],
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&status), ["compliance_types[0]"]);
    let status = client
        .describe_compliance_by_resource(pb::DescribeComplianceByResourceRequest {
            account_id: ACCOUNT.into(),
            resource_id: "b1".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&status), ["resource_type"]);
    let status = client
        .describe_conformance_pack_compliance(pb::DescribeConformancePackComplianceRequest {
            account_id: ACCOUNT.into(),
            conformance_pack_name: "nothing".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(reason(&status), "NoSuchConformancePackException");

    assert_eq!(head(&cluster).await, before, "rejected calls write nothing");
    let details = client
        .get_compliance_details_by_config_rule(pb::GetComplianceDetailsByConfigRuleRequest {
            account_id: ACCOUNT.into(),
            config_rule_name: "versioning".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(details.evaluation_results.is_empty());
    cluster.shutdown().await;
}

async fn accounts_act_only_for_themselves(backend: Backend) {
    let (cluster, mut client) = start(backend).await;
    put_rule(&mut client, "versioning").await;
    let other_key = cluster.account_key("222222222222").await;
    let mut other = cluster.compliance(REGION, &other_key);
    let before = head(&cluster).await;
    let denied = other
        .put_config_rule(pb::PutConfigRuleRequest {
            account_id: ACCOUNT.into(),
            config_rule: Some(rule("sneaky")),
        })
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);
    assert_eq!(reason(&denied), "AccessDeniedException");
    let denied = other
        .describe_config_rules(pb::DescribeConfigRulesRequest {
            account_id: ACCOUNT.into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);
    assert_eq!(head(&cluster).await, before);

    let mut operator = cluster.compliance(REGION, cluster.operator_key());
    let rules = operator
        .describe_config_rules(pb::DescribeConfigRulesRequest {
            account_id: ACCOUNT.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .config_rules;
    assert_eq!(rules.len(), 1);
    let own = other
        .describe_config_rules(pb::DescribeConfigRulesRequest {
            account_id: "222222222222".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .config_rules;
    assert!(own.is_empty());
    cluster.shutdown().await;
}

async fn compliance_changes_reach_the_change_log_stream_and_snapshot(backend: Backend) {
    let (cluster, mut client) = start(backend).await;
    put_rule(&mut client, "versioning").await;
    put(
        &mut client,
        vec![evaluation(
            "versioning",
            "bucket-a",
            pb::ComplianceType::NonCompliant,
            100,
        )],
    )
    .await;
    client
        .put_conformance_pack(pb::PutConformancePackRequest {
            account_id: ACCOUNT.into(),
            conformance_pack_name: "Temporary".into(),
            config_rule_names: vec!["versioning".into()],
        })
        .await
        .unwrap();
    client
        .delete_conformance_pack(pb::DeleteConformancePackRequest {
            account_id: ACCOUNT.into(),
            conformance_pack_name: "Temporary".into(),
        })
        .await
        .unwrap();
    let head = head(&cluster).await;

    let aggregator = cluster
        .entitled_config_aggregator(ACCOUNT, REGION, "compliance", &[ACCOUNT], &[REGION])
        .await;
    let kinds = vec![
        pb::ChangeKind::ConfigRule as i32,
        pb::ChangeKind::Evaluation as i32,
        pb::ChangeKind::ConformancePack as i32,
    ];
    let mut stream = cluster
        .change_log(REGION, cluster.service_key())
        .subscribe(pb::SubscribeRequest {
            from_seq: 0,
            account_ids: vec![ACCOUNT.into()],
            kinds: kinds.clone(),
            aggregator: Some(aggregator.clone()),
            aggregators: Vec::new(),
        })
        .await
        .unwrap()
        .into_inner();
    let mut records = Vec::new();
    tokio::time::timeout(std::time::Duration::from_secs(10), async {
        loop {
            let batch = stream
                .message()
                .await
                .unwrap()
                .expect("the stream stays open");
            records.extend(batch.records);
            if batch.through_seq >= head {
                break;
            }
        }
    })
    .await
    .expect("the stream catches up");

    let summary: Vec<(pb::ChangeKind, pb::ChangeOp)> = records
        .iter()
        .map(|record| (record.kind(), record.op()))
        .collect();
    assert_eq!(
        summary,
        [
            (pb::ChangeKind::ConfigRule, pb::ChangeOp::Upsert),
            (pb::ChangeKind::Evaluation, pb::ChangeOp::Upsert),
            (pb::ChangeKind::ConformancePack, pb::ChangeOp::Upsert),
            (pb::ChangeKind::ConformancePack, pb::ChangeOp::Delete),
        ]
    );
    match &records[0].payload {
        Some(pb::change_record::Payload::ConfigRule(rule)) => {
            assert_eq!(rule.config_rule_name, "versioning")
        }
        other => panic!("a rule payload, got {other:?}"),
    }
    match &records[1].payload {
        Some(pb::change_record::Payload::Evaluation(result)) => {
            assert_eq!(result.compliance_resource_id, "bucket-a");
            assert_eq!(result.compliance_type(), pb::ComplianceType::NonCompliant);
        }
        other => panic!("an evaluation payload, got {other:?}"),
    }

    // The snapshot holds the current rule and result, and not the deleted pack.
    let mut snapshot = cluster
        .change_log(REGION, cluster.service_key())
        .snapshot(pb::SnapshotRequest {
            account_ids: vec![ACCOUNT.into()],
            kinds,
            aggregator: Some(aggregator),
            aggregators: Vec::new(),
        })
        .await
        .unwrap()
        .into_inner();
    let mut current = Vec::new();
    while let Some(message) = snapshot.message().await.unwrap() {
        assert_eq!(message.seq, head);
        current.extend(message.records.into_iter().map(|record| record.kind()));
    }
    current.sort_by_key(|kind| *kind as i32);
    assert_eq!(
        current,
        [pb::ChangeKind::ConfigRule, pb::ChangeKind::Evaluation]
    );
    cluster.shutdown().await;
}
