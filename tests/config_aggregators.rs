//! End-to-end tests of the aggregator's Config aggregator lifecycle over real gRPC with a real
//! membership, on SQLite and PostgreSQL: put, describe, replace, delete, validation errors with
//! their AWS reasons and fields, limits, tags, organization sources and the pending requests
//! sources see.

// A panic in a test is a failed assertion with a location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::{Authed, Backend, TestCluster, reason, violated_fields};
use tonic::Code;
use tributary_proto::{
    aggregator::v1 as pb, membership::v1 as membership_pb, types::v1 as types_pb,
};

on_both_backends! {
    aggregators_are_put_described_replaced_and_deleted,
    bad_input_is_rejected_with_the_aws_reason_and_field_and_writes_nothing,
    limits_hold_per_account_and_region,
    listed_sources_see_pending_requests_until_dropped_or_deleted,
    organization_sources_need_the_management_account_or_a_delegated_administrator,
    tags_are_merged_removed_and_listed_by_the_owner_only,
    accounts_manage_only_their_own_aggregators,
}

const HOME: &str = "us-east-1";
const OTHER: &str = "eu-west-1";
const OWNER: &str = "111111111111";
const SOURCE: &str = "222222222222";
const STRANGER: &str = "444444444444";

type Client = pb::config_aggregator_service_client::ConfigAggregatorServiceClient<Authed>;

async fn start(backend: Backend) -> (TestCluster, Client) {
    let cluster = TestCluster::builder(backend)
        .collector(HOME)
        .collector(OTHER)
        .start()
        .await;
    let key = cluster.account_key(OWNER).await;
    let client = cluster.config_aggregators(&key);
    (cluster, client)
}

fn accounts_request(
    name: &str,
    accounts: &[&str],
    regions: &[&str],
) -> pb::PutConfigurationAggregatorRequest {
    pb::PutConfigurationAggregatorRequest {
        region: HOME.into(),
        configuration_aggregator_name: name.into(),
        account_aggregation_sources: vec![pb::AccountAggregationSource {
            account_ids: accounts.iter().map(|account| account.to_string()).collect(),
            all_aws_regions: regions.is_empty(),
            aws_regions: regions.iter().map(|region| region.to_string()).collect(),
        }],
        ..Default::default()
    }
}

fn organization_request(name: &str) -> pb::PutConfigurationAggregatorRequest {
    pb::PutConfigurationAggregatorRequest {
        region: HOME.into(),
        configuration_aggregator_name: name.into(),
        organization_aggregation_source: Some(pb::OrganizationAggregationSource {
            role_arn: "arn:aws:iam::111111111111:role/aws-service-role/config".into(),
            aws_regions: Vec::new(),
            all_aws_regions: true,
        }),
        ..Default::default()
    }
}

fn tag(key: &str, value: &str) -> types_pb::Tag {
    types_pb::Tag {
        key: key.into(),
        value: value.into(),
    }
}

async fn put(
    client: &mut Client,
    request: pb::PutConfigurationAggregatorRequest,
) -> pb::ConfigurationAggregator {
    client
        .put_configuration_aggregator(request)
        .await
        .unwrap()
        .into_inner()
        .configuration_aggregator
        .unwrap()
}

async fn describe(
    client: &mut Client,
    names: &[&str],
) -> Result<Vec<pb::ConfigurationAggregator>, tonic::Status> {
    client
        .describe_configuration_aggregators(pb::DescribeConfigurationAggregatorsRequest {
            region: HOME.into(),
            configuration_aggregator_names: names.iter().map(|name| name.to_string()).collect(),
            ..Default::default()
        })
        .await
        .map(|response| response.into_inner().configuration_aggregators)
}

async fn tags_of(client: &mut Client, arn: &str) -> Vec<types_pb::Tag> {
    client
        .list_tags_for_resource(pb::ListTagsForResourceRequest {
            resource_arn: arn.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .tags
}

async fn pending_requests(cluster: &TestCluster, key: &str, region: &str) -> Vec<(String, String)> {
    cluster
        .authorizations(key)
        .describe_pending_aggregation_requests(
            membership_pb::DescribePendingAggregationRequestsRequest {
                region: region.into(),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .into_inner()
        .pending_aggregation_requests
        .into_iter()
        .map(|request| (request.requester_account_id, request.requester_aws_region))
        .collect()
}

async fn aggregators_are_put_described_replaced_and_deleted(backend: Backend) {
    let (cluster, mut client) = start(backend).await;
    let mut request = accounts_request("audit", &[SOURCE, OWNER], &[OTHER, HOME]);
    request.tags = vec![tag("team", "audit")];
    let created = put(&mut client, request).await;
    let arn = created.configuration_aggregator_arn.clone();
    let suffix = arn
        .strip_prefix("arn:aws:config:us-east-1:111111111111:config-aggregator/config-aggregator-")
        .unwrap();
    assert_eq!(suffix.len(), 8, "{arn}");
    assert_eq!(created.creation_time, created.last_updated_time);
    let source = &created.account_aggregation_sources[0];
    assert_eq!(source.account_ids, [OWNER, SOURCE]);
    assert_eq!(source.aws_regions, [OTHER, HOME]);
    assert!(!source.all_aws_regions);
    assert!(created.organization_aggregation_source.is_none());
    assert_eq!(
        describe(&mut client, &[]).await.unwrap(),
        std::slice::from_ref(&created)
    );

    // A replace swaps the whole definition; ARN, creation time and tags stay.
    let mut replace = accounts_request("audit", &[SOURCE], &[]);
    replace.tags = vec![tag("ignored", "on update")];
    let replaced = put(&mut client, replace).await;
    assert_eq!(replaced.configuration_aggregator_arn, arn);
    assert_eq!(replaced.creation_time, created.creation_time);
    let source = &replaced.account_aggregation_sources[0];
    assert_eq!(source.account_ids, [SOURCE]);
    assert!(source.all_aws_regions && source.aws_regions.is_empty());
    assert_eq!(describe(&mut client, &["audit"]).await.unwrap(), [replaced]);
    assert_eq!(tags_of(&mut client, &arn).await, [tag("team", "audit")]);

    client
        .delete_configuration_aggregator(pb::DeleteConfigurationAggregatorRequest {
            region: HOME.into(),
            configuration_aggregator_name: "audit".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let missing = describe(&mut client, &["audit"]).await.unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);
    assert_eq!(reason(&missing), "NoSuchConfigurationAggregatorException");
    assert!(
        missing
            .message()
            .contains("The configuration aggregator does not exist.")
    );
    let again = client
        .delete_configuration_aggregator(pb::DeleteConfigurationAggregatorRequest {
            region: HOME.into(),
            configuration_aggregator_name: "audit".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(reason(&again), "NoSuchConfigurationAggregatorException");
    let tags = client
        .list_tags_for_resource(pb::ListTagsForResourceRequest {
            resource_arn: arn.clone(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(reason(&tags), "ResourceNotFoundException");
    // Membership forgot the declaration too.
    let resolved = cluster
        .entitlements(cluster.service_key())
        .resolve_entitlements(membership_pb::ResolveEntitlementsRequest {
            aggregator: Some(support::config_aggregator_reference(OWNER, HOME, "audit")),
        })
        .await
        .unwrap_err();
    assert_eq!(resolved.code(), Code::NotFound);
    cluster.shutdown().await;
}

async fn bad_input_is_rejected_with_the_aws_reason_and_field_and_writes_nothing(backend: Backend) {
    let (cluster, mut client) = start(backend).await;
    put(
        &mut client,
        accounts_request("existing", &[SOURCE], &[HOME]),
    )
    .await;
    let mut long_name = accounts_request(&"n".repeat(257), &[SOURCE], &[HOME]);
    long_name.tags = Vec::new();
    let mut two_sources = accounts_request("x", &[SOURCE], &[HOME]);
    two_sources
        .account_aggregation_sources
        .push(two_sources.account_aggregation_sources[0].clone());
    let mut both_sources = organization_request("x");
    both_sources.account_aggregation_sources =
        accounts_request("x", &[SOURCE], &[HOME]).account_aggregation_sources;
    let mut neither = accounts_request("x", &[SOURCE], &[HOME]);
    neither.account_aggregation_sources.clear();
    let no_regions = accounts_request("x", &[SOURCE], &[]);
    let mut no_regions = no_regions;
    no_regions.account_aggregation_sources[0].all_aws_regions = false;
    let mut both_regions = accounts_request("x", &[SOURCE], &[HOME]);
    both_regions.account_aggregation_sources[0].all_aws_regions = true;
    let unregistered = accounts_request("x", &[SOURCE], &[HOME, "ap-northeast-3"]);
    let mut unregistered_home = accounts_request("x", &[SOURCE], &[HOME]);
    unregistered_home.region = "sa-east-1".into();
    let bad_account = accounts_request("x", &["12345"], &[HOME]);
    let mut no_role = organization_request("x");
    no_role
        .organization_aggregation_source
        .as_mut()
        .unwrap()
        .role_arn = String::new();
    let mut many_tags = accounts_request("x", &[SOURCE], &[HOME]);
    many_tags.tags = (0..51).map(|index| tag(&format!("k{index}"), "")).collect();
    let mut duplicate_tags = accounts_request("x", &[SOURCE], &[HOME]);
    duplicate_tags.tags = vec![tag("Env", "a"), tag("env", "b")];
    let mut bad_filter = accounts_request("x", &[SOURCE], &[HOME]);
    bad_filter.aggregator_filters = Some(pb::AggregatorFilters {
        resource_type: Some(pb::AggregatorFilterResourceType {
            r#type: 0,
            value: vec!["S3Bucket".into()],
        }),
        service_principal: None,
    });
    let switch = organization_request("existing");

    let cases: Vec<(
        &str,
        pb::PutConfigurationAggregatorRequest,
        &str,
        &str,
        &str,
    )> = vec![
        (
            "long name",
            long_name,
            "ValidationException",
            "configuration_aggregator_name",
            "configurationAggregatorName",
        ),
        (
            "two account sources",
            two_sources,
            "ValidationException",
            "account_aggregation_sources",
            "Member must have length less than or equal to 1",
        ),
        (
            "both sources",
            both_sources,
            "InvalidParameterValueException",
            "organization_aggregation_source",
            "AccountAggregationSource and the OrganizationAggregationSource",
        ),
        (
            "no source",
            neither,
            "InvalidParameterValueException",
            "account_aggregation_sources",
            "AccountAggregationSource or the OrganizationAggregationSource",
        ),
        (
            "no regions",
            no_regions,
            "InvalidParameterValueException",
            "account_aggregation_sources[0].aws_regions",
            "Your request does not specify any regions",
        ),
        (
            "both region choices",
            both_regions,
            "InvalidParameterValueException",
            "account_aggregation_sources[0].aws_regions",
            "You must choose one of these options",
        ),
        (
            "unregistered region",
            unregistered,
            "InvalidParameterValueException",
            "account_aggregation_sources[0].aws_regions",
            "ap-northeast-3 is not registered",
        ),
        (
            "unregistered home",
            unregistered_home,
            "InvalidParameterValueException",
            "region",
            "sa-east-1 is not registered",
        ),
        (
            "bad account",
            bad_account,
            "ValidationException",
            "account_aggregation_sources[0].account_ids[0]",
            "12-digit",
        ),
        (
            "no role",
            no_role,
            "InvalidRoleException",
            "organization_aggregation_source.role_arn",
            "role",
        ),
        (
            "51 tags",
            many_tags,
            "ValidationException",
            "tags",
            "Member must have length less than or equal to 50",
        ),
        (
            "duplicate tags",
            duplicate_tags,
            "ValidationException",
            "tags[1].key",
            "Duplicate tag keys found.",
        ),
        (
            "bad filter",
            bad_filter,
            "ValidationException",
            "aggregator_filters.resource_type.value[0]",
            "Member must satisfy regular expression pattern",
        ),
        (
            "source switch",
            switch,
            "InvalidParameterValueException",
            "organization_aggregation_source",
            "cannot switch",
        ),
    ];
    for (what, request, expected_reason, field, words) in cases {
        let status = client
            .put_configuration_aggregator(request)
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{what}: {status:?}");
        assert_eq!(reason(&status), expected_reason, "{what}: {status:?}");
        assert_eq!(violated_fields(&status), [field], "{what}: {status:?}");
        assert!(
            status.message().contains(words),
            "{what}: {}",
            status.message()
        );
    }
    let names: Vec<String> = describe(&mut client, &[])
        .await
        .unwrap()
        .into_iter()
        .map(|aggregator| aggregator.configuration_aggregator_name)
        .collect();
    assert_eq!(names, ["existing"]);
    // The refused switch left the existing aggregator as it was.
    let existing = &describe(&mut client, &["existing"]).await.unwrap()[0];
    assert_eq!(
        existing.account_aggregation_sources[0].account_ids,
        [SOURCE]
    );

    // Paging and name-list errors of Describe.
    let status = client
        .describe_configuration_aggregators(pb::DescribeConfigurationAggregatorsRequest {
            region: HOME.into(),
            page_size: 101,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(reason(&status), "InvalidLimitException");
    let status = client
        .describe_configuration_aggregators(pb::DescribeConfigurationAggregatorsRequest {
            region: HOME.into(),
            page_token: "forged".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(reason(&status), "InvalidNextTokenException");
    let status = describe(&mut client, &["existing", "missing"])
        .await
        .unwrap_err();
    assert_eq!(reason(&status), "NoSuchConfigurationAggregatorException");
    assert!(
        status
            .message()
            .contains("At least one of the configuration aggregators does not exist.")
    );
    let eleven: Vec<String> = (0..11).map(|index| format!("n{index}")).collect();
    let eleven: Vec<&str> = eleven.iter().map(String::as_str).collect();
    let status = describe(&mut client, &eleven).await.unwrap_err();
    assert_eq!(reason(&status), "ValidationException");
    cluster.shutdown().await;
}

async fn limits_hold_per_account_and_region(backend: Backend) {
    let (cluster, mut client) = start(backend).await;
    let accounts: Vec<String> = (0..10_001)
        .map(|index| format!("{:012}", 500_000_000_000_u64 + index))
        .collect();
    let accounts: Vec<&str> = accounts.iter().map(String::as_str).collect();
    let status = client
        .put_configuration_aggregator(accounts_request("huge", &accounts, &[HOME]))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted);
    assert_eq!(reason(&status), "LimitExceededException");
    assert!(status.message().contains("10000"), "{}", status.message());

    for index in 0..50 {
        put(
            &mut client,
            accounts_request(&format!("a{index:02}"), &[SOURCE], &[HOME]),
        )
        .await;
    }
    let status = client
        .put_configuration_aggregator(accounts_request("one-too-many", &[SOURCE], &[HOME]))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted);
    assert_eq!(reason(&status), "LimitExceededException");
    // Replacing an existing one is fine, and the limit is per region.
    put(&mut client, accounts_request("a00", &[OWNER], &[HOME])).await;
    let mut elsewhere = accounts_request("one-too-many", &[SOURCE], &[HOME]);
    elsewhere.region = OTHER.into();
    put(&mut client, elsewhere).await;
    // Describe pages through all fifty in name order.
    let mut names = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = client
            .describe_configuration_aggregators(pb::DescribeConfigurationAggregatorsRequest {
                region: HOME.into(),
                page_size: 20,
                page_token: page_token.clone(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert!(page.configuration_aggregators.len() <= 20);
        names.extend(
            page.configuration_aggregators
                .into_iter()
                .map(|aggregator| aggregator.configuration_aggregator_name),
        );
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    let expected: Vec<String> = (0..50).map(|index| format!("a{index:02}")).collect();
    assert_eq!(names, expected);
    cluster.shutdown().await;
}

async fn listed_sources_see_pending_requests_until_dropped_or_deleted(backend: Backend) {
    let (cluster, mut client) = start(backend).await;
    let source_key = cluster.account_key(SOURCE).await;
    put(
        &mut client,
        accounts_request("audit", &[OWNER, SOURCE], &[HOME, OTHER]),
    )
    .await;
    for region in [HOME, OTHER] {
        assert_eq!(
            pending_requests(&cluster, &source_key, region).await,
            [(OWNER.to_string(), HOME.to_string())],
            "{region}"
        );
    }
    // Dropping a region withdraws the request there.
    put(
        &mut client,
        accounts_request("audit", &[OWNER, SOURCE], &[HOME]),
    )
    .await;
    assert!(
        pending_requests(&cluster, &source_key, OTHER)
            .await
            .is_empty()
    );
    assert_eq!(pending_requests(&cluster, &source_key, HOME).await.len(), 1);
    // Dropping the account withdraws it everywhere; adding it back asks again.
    put(&mut client, accounts_request("audit", &[OWNER], &[HOME])).await;
    assert!(
        pending_requests(&cluster, &source_key, HOME)
            .await
            .is_empty()
    );
    put(
        &mut client,
        accounts_request("audit", &[OWNER, SOURCE], &[]),
    )
    .await;
    for region in [HOME, OTHER] {
        assert_eq!(
            pending_requests(&cluster, &source_key, region).await.len(),
            1,
            "{region}"
        );
    }
    client
        .delete_configuration_aggregator(pb::DeleteConfigurationAggregatorRequest {
            region: HOME.into(),
            configuration_aggregator_name: "audit".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    for region in [HOME, OTHER] {
        assert!(
            pending_requests(&cluster, &source_key, region)
                .await
                .is_empty(),
            "{region}"
        );
    }
    cluster.shutdown().await;
}

async fn organization_sources_need_the_management_account_or_a_delegated_administrator(
    backend: Backend,
) {
    let cluster = TestCluster::builder(backend).collector(HOME).start().await;
    // A standalone account has no organization.
    let standalone = cluster.account_key(STRANGER).await;
    let status = cluster
        .config_aggregators(&standalone)
        .put_configuration_aggregator(organization_request("org"))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert_eq!(reason(&status), "NoAvailableOrganizationException");

    let (organization_id, _) = cluster.create_organization(OWNER).await;
    cluster.create_account(SOURCE, &organization_id).await;
    let member_key = cluster.account_key(SOURCE).await;
    let mut member = cluster.config_aggregators(&member_key);
    // A member that is not a delegated administrator may not aggregate the organization.
    let status = member
        .put_configuration_aggregator(organization_request("org"))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    assert_eq!(reason(&status), "OrganizationAccessDeniedException");

    // The management account may (with an account key of its own), which enables trusted access.
    let owner_key = cluster.account_key(OWNER).await;
    let stored = put(
        &mut cluster.config_aggregators(&owner_key),
        organization_request("org"),
    )
    .await;
    let source = stored.organization_aggregation_source.unwrap();
    assert!(source.all_aws_regions && source.aws_regions.is_empty());
    assert!(stored.account_aggregation_sources.is_empty());

    // Registered as delegated administrator for Config, the member may too.
    cluster
        .organizations(cluster.operator_key())
        .register_delegated_administrator(membership_pb::RegisterDelegatedAdministratorRequest {
            organization_id: organization_id.clone(),
            account_id: SOURCE.into(),
            service_principal: "config.amazonaws.com".into(),
        })
        .await
        .unwrap();
    put(&mut member, organization_request("org")).await;

    // An organization with consolidated billing only is refused.
    let billing = cluster
        .organizations(cluster.operator_key())
        .create_organization(membership_pb::CreateOrganizationRequest {
            management_account_id: STRANGER.into(),
            feature_set: membership_pb::FeatureSet::ConsolidatedBilling as i32,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(billing.organization.is_some());
    let status = cluster
        .config_aggregators(&standalone)
        .put_configuration_aggregator(organization_request("org"))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert_eq!(
        reason(&status),
        "OrganizationAllFeaturesNotEnabledException"
    );
    cluster.shutdown().await;
}

async fn tags_are_merged_removed_and_listed_by_the_owner_only(backend: Backend) {
    let (cluster, mut client) = start(backend).await;
    let mut request = accounts_request("audit", &[SOURCE], &[HOME]);
    request.tags = vec![tag("a", "1"), tag("b", "2")];
    let arn = put(&mut client, request).await.configuration_aggregator_arn;
    client
        .tag_resource(pb::TagResourceRequest {
            resource_arn: arn.clone(),
            tags: vec![tag("b", "20"), tag("c", "3")],
        })
        .await
        .unwrap();
    assert_eq!(
        tags_of(&mut client, &arn).await,
        [tag("a", "1"), tag("b", "20"), tag("c", "3")]
    );
    let first = client
        .list_tags_for_resource(pb::ListTagsForResourceRequest {
            resource_arn: arn.clone(),
            page_size: 2,
            page_token: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(first.tags, [tag("a", "1"), tag("b", "20")]);
    let rest = client
        .list_tags_for_resource(pb::ListTagsForResourceRequest {
            resource_arn: arn.clone(),
            page_size: 2,
            page_token: first.next_page_token,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(rest.tags, [tag("c", "3")]);
    assert!(rest.next_page_token.is_empty());
    client
        .untag_resource(pb::UntagResourceRequest {
            resource_arn: arn.clone(),
            tag_keys: vec!["a".into(), "unknown".into()],
        })
        .await
        .unwrap();
    assert_eq!(
        tags_of(&mut client, &arn).await,
        [tag("b", "20"), tag("c", "3")]
    );

    let status = client
        .tag_resource(pb::TagResourceRequest {
            resource_arn: arn.clone(),
            tags: (0..49).map(|index| tag(&format!("k{index}"), "")).collect(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted);
    assert_eq!(reason(&status), "TooManyTagsException");
    let status = client
        .tag_resource(pb::TagResourceRequest {
            resource_arn: arn.clone(),
            tags: Vec::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(reason(&status), "ValidationException");
    let unknown = format!("{arn}x");
    let status = client
        .tag_resource(pb::TagResourceRequest {
            resource_arn: unknown.clone(),
            tags: vec![tag("x", "")],
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    assert_eq!(reason(&status), "ResourceNotFoundException");
    assert!(
        status
            .message()
            .contains(&format!("ResourceArn '{unknown}' does not exist"))
    );
    // Another account cannot see or change the owner's tags.
    let stranger_key = cluster.account_key(STRANGER).await;
    let mut stranger = cluster.config_aggregators(&stranger_key);
    let status = stranger
        .list_tags_for_resource(pb::ListTagsForResourceRequest {
            resource_arn: arn.clone(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(reason(&status), "ResourceNotFoundException");
    let status = stranger
        .untag_resource(pb::UntagResourceRequest {
            resource_arn: arn.clone(),
            tag_keys: vec!["b".into()],
        })
        .await
        .unwrap_err();
    assert_eq!(reason(&status), "ResourceNotFoundException");
    assert_eq!(tags_of(&mut client, &arn).await.len(), 2);
    cluster.shutdown().await;
}

async fn accounts_manage_only_their_own_aggregators(backend: Backend) {
    let (cluster, mut client) = start(backend).await;
    put(&mut client, accounts_request("audit", &[SOURCE], &[HOME])).await;
    let stranger_key = cluster.account_key(STRANGER).await;
    let mut stranger = cluster.config_aggregators(&stranger_key);
    // Naming another owner is denied; its own namespace has nothing of the owner's.
    let status = stranger
        .describe_configuration_aggregators(pb::DescribeConfigurationAggregatorsRequest {
            owner_account_id: OWNER.into(),
            region: HOME.into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    assert_eq!(reason(&status), "AccessDeniedException");
    assert!(describe(&mut stranger, &[]).await.unwrap().is_empty());
    let status = stranger
        .delete_configuration_aggregator(pb::DeleteConfigurationAggregatorRequest {
            owner_account_id: OWNER.into(),
            region: HOME.into(),
            configuration_aggregator_name: "audit".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(reason(&status), "AccessDeniedException");
    let status = stranger
        .get_aggregate_discovered_resource_counts(pb::GetAggregateDiscoveredResourceCountsRequest {
            owner_account_id: OWNER.into(),
            region: HOME.into(),
            configuration_aggregator_name: "audit".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(reason(&status), "AccessDeniedException");
    let status = stranger
        .get_aggregate_discovered_resource_counts(pb::GetAggregateDiscoveredResourceCountsRequest {
            region: HOME.into(),
            configuration_aggregator_name: "audit".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(reason(&status), "NoSuchConfigurationAggregatorException");
    let status = stranger
        .put_configuration_aggregator(pb::PutConfigurationAggregatorRequest {
            owner_account_id: OWNER.into(),
            ..accounts_request("audit", &[STRANGER], &[HOME])
        })
        .await
        .unwrap_err();
    assert_eq!(reason(&status), "AccessDeniedException");

    // Services and operators act for the account they name, and must name one.
    let mut service = cluster.config_aggregators(cluster.service_key());
    let status = describe(&mut service, &[]).await.unwrap_err();
    assert_eq!(violated_fields(&status), ["owner_account_id"]);
    let described = service
        .describe_configuration_aggregators(pb::DescribeConfigurationAggregatorsRequest {
            owner_account_id: OWNER.into(),
            region: HOME.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .configuration_aggregators;
    assert_eq!(described.len(), 1);
    let mut operator = cluster.config_aggregators(cluster.operator_key());
    put(
        &mut operator,
        pb::PutConfigurationAggregatorRequest {
            owner_account_id: STRANGER.into(),
            ..accounts_request("theirs", &[STRANGER], &[HOME])
        },
    )
    .await;
    assert_eq!(describe(&mut stranger, &[]).await.unwrap().len(), 1);
    cluster.shutdown().await;
}
