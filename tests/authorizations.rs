//! End-to-end tests of `AggregationAuthorizationService` (the source side of Config aggregation:
//! authorizations, pending requests, tags) over real gRPC, on SQLite and PostgreSQL.

// A panic in a test is a failed assertion with a location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::{Backend, TestCluster, account_principal, reason, violated_fields};
use tonic::Code;
use tributary_proto::{membership::v1 as pb, types::v1::Tag};

on_both_backends!(
    authorizations_are_put_idempotently_described_and_deleted,
    authorization_input_is_validated_and_rejected_calls_write_nothing,
    only_accounts_act_on_authorizations,
    authorization_listings_page_with_tokens,
    tags_are_added_listed_and_removed,
    tagging_errors_name_the_problem_and_write_nothing,
    pending_requests_are_shown_declined_and_answered,
    a_deleted_authorization_revokes_the_pair,
    regions_named_by_authorizations_cannot_be_deregistered,
);

const OWNER: &str = "111111111111";
const SOURCE: &str = "222222222222";
const OTHER: &str = "333333333333";
const HOME: &str = "us-east-1";
const EU: &str = "eu-west-1";

type Client = pb::aggregation_authorization_service_client::AggregationAuthorizationServiceClient<
    support::Authed,
>;

async fn start(backend: Backend) -> TestCluster {
    TestCluster::builder(backend)
        .collector(HOME)
        .collector(EU)
        .start()
        .await
}

/// A client acting as `account_id`.
async fn client_for(cluster: &TestCluster, account_id: &str) -> Client {
    let (key, _) = cluster.create_key(account_principal(account_id)).await;
    cluster.authorizations(&key)
}

fn tag(key: &str, value: &str) -> Tag {
    Tag {
        key: key.into(),
        value: value.into(),
    }
}

fn put_request(
    region: &str,
    authorized_account: &str,
    authorized_region: &str,
) -> pb::PutAggregationAuthorizationRequest {
    pb::PutAggregationAuthorizationRequest {
        region: region.into(),
        authorized_account_id: authorized_account.into(),
        authorized_aws_region: authorized_region.into(),
        tags: Vec::new(),
    }
}

async fn put(
    client: &mut Client,
    request: pb::PutAggregationAuthorizationRequest,
) -> pb::AggregationAuthorization {
    client
        .put_aggregation_authorization(request)
        .await
        .expect("the authorization is put")
        .into_inner()
        .aggregation_authorization
        .expect("the authorization")
}

/// Every authorization the client has in `region`, as (authorized account, authorized region).
async fn described(client: &mut Client, region: &str) -> Vec<(String, String)> {
    let response = client
        .describe_aggregation_authorizations(pb::DescribeAggregationAuthorizationsRequest {
            region: region.into(),
            page_size: 0,
            page_token: String::new(),
        })
        .await
        .expect("the authorizations are described")
        .into_inner();
    assert!(response.next_page_token.is_empty());
    response
        .aggregation_authorizations
        .into_iter()
        .map(|grant| (grant.authorized_account_id, grant.authorized_aws_region))
        .collect()
}

async fn tags_of(client: &mut Client, arn: &str) -> Vec<(String, String)> {
    let response = client
        .list_tags_for_resource(pb::ListTagsForResourceRequest {
            resource_arn: arn.into(),
            page_size: 0,
            page_token: String::new(),
        })
        .await
        .expect("the tags are listed")
        .into_inner();
    assert!(response.next_page_token.is_empty());
    response
        .tags
        .into_iter()
        .map(|tag| (tag.key, tag.value))
        .collect()
}

/// The pending requests of the client in `region`, as (requester account, requester region).
async fn pending(client: &mut Client, region: &str) -> Vec<pb::PendingAggregationRequest> {
    let response = client
        .describe_pending_aggregation_requests(pb::DescribePendingAggregationRequestsRequest {
            region: region.into(),
            page_size: 0,
            page_token: String::new(),
        })
        .await
        .expect("the pending requests are described")
        .into_inner();
    assert!(response.next_page_token.is_empty());
    response.pending_aggregation_requests
}

fn requesters(requests: &[pb::PendingAggregationRequest]) -> Vec<(String, String)> {
    requests
        .iter()
        .map(|request| {
            (
                request.requester_account_id.clone(),
                request.requester_aws_region.clone(),
            )
        })
        .collect()
}

/// Declares aggregator "main" of OWNER in HOME over `accounts` in `regions`, as the service.
async fn declare(cluster: &TestCluster, accounts: &[&str], regions: &[&str]) {
    cluster
        .entitlements(cluster.service_key())
        .declare_config_aggregator(pb::DeclareConfigAggregatorRequest {
            declaration: Some(pb::ConfigAggregatorDeclaration {
                owner_account_id: OWNER.into(),
                home_region: HOME.into(),
                aggregator_name: "main".into(),
                account_ids: accounts.iter().map(|id| id.to_string()).collect(),
                organization_source: false,
                all_regions: false,
                regions: regions.iter().map(|region| region.to_string()).collect(),
            }),
        })
        .await
        .expect("the service declares the aggregator");
}

/// The status of aggregator "main"'s pair (account, region).
async fn pair_status(cluster: &TestCluster, account_id: &str, region: &str) -> pb::PairStatus {
    let response = cluster
        .entitlements(cluster.service_key())
        .resolve_entitlements(pb::ResolveEntitlementsRequest {
            aggregator: Some(pb::AggregatorReference {
                aggregator: Some(pb::aggregator_reference::Aggregator::ConfigAggregator(
                    pb::ConfigAggregatorKey {
                        owner_account_id: OWNER.into(),
                        home_region: HOME.into(),
                        aggregator_name: "main".into(),
                    },
                )),
            }),
        })
        .await
        .expect("the entitlements resolve")
        .into_inner();
    response
        .pairs
        .into_iter()
        .find(|pair| pair.account_id == account_id && pair.region == region)
        .map(|pair| pair.status())
        .unwrap_or_else(|| panic!("no pair for {account_id} in {region}"))
}

async fn authorizations_are_put_idempotently_described_and_deleted(backend: Backend) {
    let cluster = start(backend).await;
    let mut source = client_for(&cluster, SOURCE).await;
    let mut request = put_request(EU, OWNER, HOME);
    request.tags = vec![tag("team", "audit")];
    let created = put(&mut source, request).await;
    assert_eq!(
        created.aggregation_authorization_arn,
        format!("arn:aws:config:{EU}:{SOURCE}:aggregation-authorization/{OWNER}/{HOME}")
    );
    assert_eq!(created.authorized_account_id, OWNER);
    assert_eq!(created.authorized_aws_region, HOME);
    assert!(created.creation_time.is_some());

    // Repeating returns the same ARN and creation time, and leaves the tags alone.
    let mut again = put_request(EU, OWNER, HOME);
    again.tags = vec![tag("team", "other"), tag("extra", "x")];
    assert_eq!(put(&mut source, again).await, created);
    assert_eq!(
        tags_of(&mut source, &created.aggregation_authorization_arn).await,
        [("team".to_string(), "audit".to_string())]
    );

    // Grants live in their source region and account only.
    assert_eq!(
        described(&mut source, EU).await,
        [(OWNER.to_string(), HOME.to_string())]
    );
    assert_eq!(described(&mut source, HOME).await, []);
    let mut other = client_for(&cluster, OTHER).await;
    assert_eq!(described(&mut other, EU).await, []);
    let all = source
        .describe_aggregation_authorizations(pb::DescribeAggregationAuthorizationsRequest {
            region: EU.into(),
            page_size: 0,
            page_token: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        all.aggregation_authorizations,
        std::slice::from_ref(&created)
    );

    // Another account deleting "the same" grant deletes nothing of SOURCE's.
    other
        .delete_aggregation_authorization(pb::DeleteAggregationAuthorizationRequest {
            region: EU.into(),
            authorized_account_id: OWNER.into(),
            authorized_aws_region: HOME.into(),
        })
        .await
        .unwrap();
    assert_eq!(described(&mut source, EU).await.len(), 1);

    let delete = pb::DeleteAggregationAuthorizationRequest {
        region: EU.into(),
        authorized_account_id: OWNER.into(),
        authorized_aws_region: HOME.into(),
    };
    source
        .delete_aggregation_authorization(delete.clone())
        .await
        .unwrap();
    assert_eq!(described(&mut source, EU).await, []);
    // Deleting a grant that does not exist succeeds.
    source
        .delete_aggregation_authorization(delete)
        .await
        .unwrap();
    // A deleted grant's tags are gone with it.
    let error = source
        .list_tags_for_resource(pb::ListTagsForResourceRequest {
            resource_arn: created.aggregation_authorization_arn.clone(),
            page_size: 0,
            page_token: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(error.code(), Code::NotFound);

    // Authorizing again makes a new grant with the same ARN and a new creation time.
    let renewed = put(&mut source, put_request(EU, OWNER, HOME)).await;
    assert_eq!(
        renewed.aggregation_authorization_arn,
        created.aggregation_authorization_arn
    );
    assert!(
        renewed.creation_time.unwrap().seconds * 1_000_000_000
            + i64::from(renewed.creation_time.unwrap().nanos)
            > created.creation_time.unwrap().seconds * 1_000_000_000
                + i64::from(created.creation_time.unwrap().nanos)
    );
    assert_eq!(
        tags_of(&mut source, &renewed.aggregation_authorization_arn).await,
        []
    );
    cluster.shutdown().await;
}

async fn authorization_input_is_validated_and_rejected_calls_write_nothing(backend: Backend) {
    let cluster = start(backend).await;
    let mut source = client_for(&cluster, SOURCE).await;

    let error = source
        .put_aggregation_authorization(pb::PutAggregationAuthorizationRequest {
            region: String::new(),
            authorized_account_id: "12345".into(),
            authorized_aws_region: "Mars".into(),
            tags: vec![tag("", "v")],
        })
        .await
        .unwrap_err();
    assert_eq!(error.code(), Code::InvalidArgument);
    assert_eq!(reason(&error), "InvalidParameterValueException");
    assert_eq!(
        violated_fields(&error),
        [
            "region",
            "authorized_account_id",
            "authorized_aws_region",
            "tags[0].key"
        ]
    );

    // Well-formed but unregistered regions.
    let error = source
        .put_aggregation_authorization(put_request("ap-south-1", OWNER, "sa-east-1"))
        .await
        .unwrap_err();
    assert_eq!(error.code(), Code::InvalidArgument);
    assert_eq!(reason(&error), "InvalidParameterValueException");
    assert_eq!(violated_fields(&error), ["region", "authorized_aws_region"]);

    // Tags only: ValidationException, with the AWS wording clients match on.
    for (tags, fields, text) in [
        (
            vec![tag(&"k".repeat(129), "v")],
            vec!["tags[0].key"],
            "Member must have length less than or equal to 128",
        ),
        (
            vec![tag("k", &"v".repeat(257))],
            vec!["tags[0].value"],
            "Member must have length less than or equal to 256",
        ),
        (
            vec![tag("semi;colon", "v")],
            vec!["tags[0].key"],
            "Member must satisfy regular expression pattern:",
        ),
        (
            vec![tag("Env", "a"), tag("env", "b")],
            vec!["tags[1].key"],
            "Duplicate tag keys found.",
        ),
        (
            (0..51).map(|index| tag(&format!("k{index}"), "")).collect(),
            vec!["tags"],
            "Member must have length less than or equal to 50",
        ),
    ] {
        let mut request = put_request(EU, OWNER, HOME);
        request.tags = tags;
        let error = source
            .put_aggregation_authorization(request)
            .await
            .unwrap_err();
        assert_eq!(error.code(), Code::InvalidArgument, "{text}");
        assert_eq!(reason(&error), "ValidationException", "{text}");
        assert_eq!(violated_fields(&error), fields, "{text}");
        assert!(error.message().contains(text), "{}", error.message());
    }

    let error = source
        .delete_aggregation_authorization(pb::DeleteAggregationAuthorizationRequest {
            region: EU.into(),
            authorized_account_id: "abc".into(),
            authorized_aws_region: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(reason(&error), "InvalidParameterValueException");
    assert_eq!(
        violated_fields(&error),
        ["authorized_account_id", "authorized_aws_region"]
    );
    let error = source
        .delete_aggregation_authorization(pb::DeleteAggregationAuthorizationRequest {
            region: "ap-south-1".into(),
            authorized_account_id: OWNER.into(),
            authorized_aws_region: HOME.into(),
        })
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&error), ["region"]);
    for region in ["", "ap-south-1"] {
        let error = source
            .describe_aggregation_authorizations(pb::DescribeAggregationAuthorizationsRequest {
                region: region.into(),
                page_size: 0,
                page_token: String::new(),
            })
            .await
            .unwrap_err();
        assert_eq!(reason(&error), "InvalidParameterValueException");
        assert_eq!(violated_fields(&error), ["region"]);
        let error = source
            .describe_pending_aggregation_requests(pb::DescribePendingAggregationRequestsRequest {
                region: region.into(),
                page_size: 0,
                page_token: String::new(),
            })
            .await
            .unwrap_err();
        assert_eq!(violated_fields(&error), ["region"]);
    }
    let error = source
        .delete_pending_aggregation_request(pb::DeletePendingAggregationRequestRequest {
            region: EU.into(),
            requester_account_id: "x".into(),
            requester_aws_region: "y".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(reason(&error), "InvalidParameterValueException");
    assert_eq!(
        violated_fields(&error),
        ["requester_account_id", "requester_aws_region"]
    );

    // Nothing was written by any of them.
    for region in [EU, HOME] {
        assert_eq!(described(&mut source, region).await, []);
    }
    cluster.shutdown().await;
}

async fn only_accounts_act_on_authorizations(backend: Backend) {
    let cluster = start(backend).await;
    let arn = format!("arn:aws:config:{EU}:{SOURCE}:aggregation-authorization/{OWNER}/{HOME}");
    for key in [
        cluster.operator_key().to_string(),
        cluster.service_key().to_string(),
    ] {
        let mut client = cluster.authorizations(&key);
        let statuses = [
            client
                .put_aggregation_authorization(put_request(EU, OWNER, HOME))
                .await
                .unwrap_err(),
            client
                .describe_aggregation_authorizations(pb::DescribeAggregationAuthorizationsRequest {
                    region: EU.into(),
                    ..Default::default()
                })
                .await
                .unwrap_err(),
            client
                .delete_aggregation_authorization(pb::DeleteAggregationAuthorizationRequest {
                    region: EU.into(),
                    authorized_account_id: OWNER.into(),
                    authorized_aws_region: HOME.into(),
                })
                .await
                .unwrap_err(),
            client
                .describe_pending_aggregation_requests(
                    pb::DescribePendingAggregationRequestsRequest {
                        region: EU.into(),
                        ..Default::default()
                    },
                )
                .await
                .unwrap_err(),
            client
                .delete_pending_aggregation_request(pb::DeletePendingAggregationRequestRequest {
                    region: EU.into(),
                    requester_account_id: OWNER.into(),
                    requester_aws_region: HOME.into(),
                })
                .await
                .unwrap_err(),
            client
                .tag_resource(pb::TagResourceRequest {
                    resource_arn: arn.clone(),
                    tags: vec![tag("k", "v")],
                })
                .await
                .unwrap_err(),
            client
                .untag_resource(pb::UntagResourceRequest {
                    resource_arn: arn.clone(),
                    tag_keys: vec!["k".into()],
                })
                .await
                .unwrap_err(),
            client
                .list_tags_for_resource(pb::ListTagsForResourceRequest {
                    resource_arn: arn.clone(),
                    ..Default::default()
                })
                .await
                .unwrap_err(),
        ];
        for status in statuses {
            assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
            assert_eq!(reason(&status), "AccessDeniedException");
        }
    }

    // An organization's management principal acts as its management account.
    let (_, management_key) = cluster.create_organization(OTHER).await;
    let mut management = cluster.authorizations(&management_key);
    let grant = put(&mut management, put_request(EU, OWNER, HOME)).await;
    assert_eq!(
        grant.aggregation_authorization_arn,
        format!("arn:aws:config:{EU}:{OTHER}:aggregation-authorization/{OWNER}/{HOME}")
    );
    let mut as_account = client_for(&cluster, OTHER).await;
    assert_eq!(described(&mut as_account, EU).await.len(), 1);

    // No key at all.
    let mut anonymous =
        pb::aggregation_authorization_service_client::AggregationAuthorizationServiceClient::new(
            support::channel(cluster.membership_address()),
        );
    let error = anonymous
        .describe_aggregation_authorizations(pb::DescribeAggregationAuthorizationsRequest {
            region: EU.into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(error.code(), Code::Unauthenticated);
    cluster.shutdown().await;
}

async fn authorization_listings_page_with_tokens(backend: Backend) {
    let cluster = start(backend).await;
    let mut source = client_for(&cluster, SOURCE).await;
    let mut expected = Vec::new();
    for account in ["444444444444", OWNER, OTHER] {
        for region in [EU, HOME] {
            put(&mut source, put_request(EU, account, region)).await;
            expected.push((account.to_string(), region.to_string()));
        }
    }
    expected.sort();

    let mut seen = Vec::new();
    let mut token = String::new();
    let mut pages = 0;
    loop {
        let page = source
            .describe_aggregation_authorizations(pb::DescribeAggregationAuthorizationsRequest {
                region: EU.into(),
                page_size: 4,
                page_token: token.clone(),
            })
            .await
            .unwrap()
            .into_inner();
        pages += 1;
        assert!(page.aggregation_authorizations.len() <= 4);
        seen.extend(
            page.aggregation_authorizations
                .into_iter()
                .map(|grant| (grant.authorized_account_id, grant.authorized_aws_region)),
        );
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(pages, 2);
    assert_eq!(seen, expected);

    // A first-page token replayed against another region, a forged token, bad sizes.
    let first = source
        .describe_aggregation_authorizations(pb::DescribeAggregationAuthorizationsRequest {
            region: EU.into(),
            page_size: 1,
            page_token: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(!first.next_page_token.is_empty());
    for (region, page_token) in [
        (HOME, first.next_page_token.clone()),
        (EU, "not-a-token".to_string()),
        (EU, format!("{}x", first.next_page_token)),
    ] {
        let error = source
            .describe_aggregation_authorizations(pb::DescribeAggregationAuthorizationsRequest {
                region: region.into(),
                page_size: 1,
                page_token,
            })
            .await
            .unwrap_err();
        assert_eq!(error.code(), Code::InvalidArgument);
        assert_eq!(reason(&error), "InvalidNextTokenException");
        assert_eq!(violated_fields(&error), ["page_token"]);
    }
    // Another account cannot continue SOURCE's listing either.
    let mut other = client_for(&cluster, OTHER).await;
    let error = other
        .describe_aggregation_authorizations(pb::DescribeAggregationAuthorizationsRequest {
            region: EU.into(),
            page_size: 1,
            page_token: first.next_page_token.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(reason(&error), "InvalidNextTokenException");
    for page_size in [101, -1] {
        let error = source
            .describe_aggregation_authorizations(pb::DescribeAggregationAuthorizationsRequest {
                region: EU.into(),
                page_size,
                page_token: String::new(),
            })
            .await
            .unwrap_err();
        assert_eq!(error.code(), Code::InvalidArgument);
        assert_eq!(reason(&error), "InvalidLimitException");
        assert_eq!(violated_fields(&error), ["page_size"]);
    }
    let full = source
        .describe_aggregation_authorizations(pb::DescribeAggregationAuthorizationsRequest {
            region: EU.into(),
            page_size: 100,
            page_token: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(full.aggregation_authorizations.len(), 6);
    assert!(full.next_page_token.is_empty());
    cluster.shutdown().await;
}

async fn tags_are_added_listed_and_removed(backend: Backend) {
    let cluster = start(backend).await;
    let mut source = client_for(&cluster, SOURCE).await;
    let mut request = put_request(EU, OWNER, HOME);
    request.tags = vec![tag("team", "audit"), tag("env", "prod")];
    let arn = put(&mut source, request)
        .await
        .aggregation_authorization_arn;

    // TagResource merges: new keys added, existing keys overwritten, others untouched.
    source
        .tag_resource(pb::TagResourceRequest {
            resource_arn: arn.clone(),
            tags: vec![
                tag("env", "staging"),
                tag("cost center", "42"),
                tag("empty", ""),
            ],
        })
        .await
        .unwrap();
    assert_eq!(
        tags_of(&mut source, &arn).await,
        [
            ("cost center".to_string(), "42".to_string()),
            ("empty".to_string(), String::new()),
            ("env".to_string(), "staging".to_string()),
            ("team".to_string(), "audit".to_string()),
        ]
    );

    // Paging in key order.
    let first = source
        .list_tags_for_resource(pb::ListTagsForResourceRequest {
            resource_arn: arn.clone(),
            page_size: 3,
            page_token: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(first.tags.len(), 3);
    let second = source
        .list_tags_for_resource(pb::ListTagsForResourceRequest {
            resource_arn: arn.clone(),
            page_size: 3,
            page_token: first.next_page_token.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(second.tags, [tag("team", "audit")]);
    assert!(second.next_page_token.is_empty());

    // UntagResource removes the named keys and ignores unknown ones.
    source
        .untag_resource(pb::UntagResourceRequest {
            resource_arn: arn.clone(),
            tag_keys: vec!["env".into(), "absent".into(), "empty".into()],
        })
        .await
        .unwrap();
    assert_eq!(
        tags_of(&mut source, &arn).await,
        [
            ("cost center".to_string(), "42".to_string()),
            ("team".to_string(), "audit".to_string()),
        ]
    );
    source
        .untag_resource(pb::UntagResourceRequest {
            resource_arn: arn.clone(),
            tag_keys: vec!["absent".into()],
        })
        .await
        .unwrap();

    // Up to 50 tags in total.
    let fill: Vec<Tag> = (0..48)
        .map(|index| tag(&format!("k{index:02}"), "v"))
        .collect();
    source
        .tag_resource(pb::TagResourceRequest {
            resource_arn: arn.clone(),
            tags: fill,
        })
        .await
        .unwrap();
    assert_eq!(tags_of(&mut source, &arn).await.len(), 50);
    // Overwriting an existing key at the limit is fine.
    source
        .tag_resource(pb::TagResourceRequest {
            resource_arn: arn.clone(),
            tags: vec![tag("team", "security")],
        })
        .await
        .unwrap();
    cluster.shutdown().await;
}

async fn tagging_errors_name_the_problem_and_write_nothing(backend: Backend) {
    let cluster = start(backend).await;
    let mut source = client_for(&cluster, SOURCE).await;
    let arn = put(&mut source, put_request(EU, OWNER, HOME))
        .await
        .aggregation_authorization_arn;
    let full: Vec<Tag> = (0..50)
        .map(|index| tag(&format!("k{index:02}"), "v"))
        .collect();
    source
        .tag_resource(pb::TagResourceRequest {
            resource_arn: arn.clone(),
            tags: full,
        })
        .await
        .unwrap();

    // One more key would make 51.
    let error = source
        .tag_resource(pb::TagResourceRequest {
            resource_arn: arn.clone(),
            tags: vec![tag("k00", "changed"), tag("new", "v")],
        })
        .await
        .unwrap_err();
    assert_eq!(error.code(), Code::ResourceExhausted);
    assert_eq!(reason(&error), "TooManyTagsException");

    // Malformed requests.
    for (request, fields) in [
        (
            pb::TagResourceRequest {
                resource_arn: arn.clone(),
                tags: Vec::new(),
            },
            vec!["tags"],
        ),
        (
            pb::TagResourceRequest {
                resource_arn: String::new(),
                tags: vec![tag("aws:reserved", "v")],
            },
            vec!["resource_arn", "tags[0].key"],
        ),
        (
            pb::TagResourceRequest {
                resource_arn: "a".repeat(1001),
                tags: vec![tag("k", "v")],
            },
            vec!["resource_arn"],
        ),
    ] {
        let error = source.tag_resource(request).await.unwrap_err();
        assert_eq!(error.code(), Code::InvalidArgument);
        assert_eq!(reason(&error), "ValidationException");
        assert_eq!(violated_fields(&error), fields);
    }
    for (keys, fields) in [
        (Vec::new(), vec!["tag_keys"]),
        (
            vec![String::new(), "k".repeat(129)],
            vec!["tag_keys[0]", "tag_keys[1]"],
        ),
        (
            (0..51).map(|index| format!("k{index}")).collect(),
            vec!["tag_keys"],
        ),
    ] {
        let error = source
            .untag_resource(pb::UntagResourceRequest {
                resource_arn: arn.clone(),
                tag_keys: keys,
            })
            .await
            .unwrap_err();
        assert_eq!(error.code(), Code::InvalidArgument);
        assert_eq!(reason(&error), "ValidationException");
        assert_eq!(violated_fields(&error), fields);
    }
    for page_size in [101, -5] {
        let error = source
            .list_tags_for_resource(pb::ListTagsForResourceRequest {
                resource_arn: arn.clone(),
                page_size,
                page_token: String::new(),
            })
            .await
            .unwrap_err();
        assert_eq!(reason(&error), "InvalidLimitException");
    }
    let first = source
        .list_tags_for_resource(pb::ListTagsForResourceRequest {
            resource_arn: arn.clone(),
            page_size: 10,
            page_token: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    let mut other_request = put_request(HOME, OWNER, HOME);
    other_request.tags = vec![tag("k", "v")];
    let other_arn = put(&mut source, other_request)
        .await
        .aggregation_authorization_arn;
    let error = source
        .list_tags_for_resource(pb::ListTagsForResourceRequest {
            resource_arn: other_arn,
            page_size: 10,
            page_token: first.next_page_token,
        })
        .await
        .unwrap_err();
    assert_eq!(reason(&error), "InvalidNextTokenException");

    // Unknown, malformed, foreign and aggregator ARNs are all "not found".
    let mut other = client_for(&cluster, OTHER).await;
    let unknown = format!("arn:aws:config:{EU}:{SOURCE}:aggregation-authorization/{OTHER}/{HOME}");
    let aggregator =
        format!("arn:aws:config:{HOME}:{SOURCE}:config-aggregator/config-aggregator-abcdefgh");
    for (as_other, missing) in [
        (false, unknown.as_str()),
        (false, "not an arn"),
        (false, aggregator.as_str()),
        (true, arn.as_str()),
    ] {
        let client = if as_other { &mut other } else { &mut source };
        let errors = [
            client
                .tag_resource(pb::TagResourceRequest {
                    resource_arn: missing.into(),
                    tags: vec![tag("k", "v")],
                })
                .await
                .unwrap_err(),
            client
                .untag_resource(pb::UntagResourceRequest {
                    resource_arn: missing.into(),
                    tag_keys: vec!["k00".into()],
                })
                .await
                .unwrap_err(),
            client
                .list_tags_for_resource(pb::ListTagsForResourceRequest {
                    resource_arn: missing.into(),
                    ..Default::default()
                })
                .await
                .unwrap_err(),
        ];
        for error in errors {
            assert_eq!(error.code(), Code::NotFound, "{missing}");
            assert_eq!(reason(&error), "ResourceNotFoundException");
            assert!(
                error
                    .message()
                    .contains(&format!("ResourceArn '{missing}' does not exist")),
                "{}",
                error.message()
            );
        }
    }

    // None of the rejected calls changed the tags.
    let tags = tags_of(&mut source, &arn).await;
    assert_eq!(tags.len(), 50);
    assert!(tags.iter().all(|(_, value)| value == "v"));
    cluster.shutdown().await;
}

async fn pending_requests_are_shown_declined_and_answered(backend: Backend) {
    let cluster = start(backend).await;
    for account in [OWNER, SOURCE, OTHER] {
        cluster.create_account(account, "").await;
    }
    let mut source = client_for(&cluster, SOURCE).await;
    let mut other = client_for(&cluster, OTHER).await;
    let mut owner = client_for(&cluster, OWNER).await;
    declare(&cluster, &[OWNER, SOURCE, OTHER], &[EU]).await;

    let requests = pending(&mut source, EU).await;
    assert_eq!(
        requesters(&requests),
        [(OWNER.to_string(), HOME.to_string())]
    );
    let requested_at = requests[0].requested_at.unwrap();
    let expires_at = requests[0].expires_at.unwrap();
    assert_eq!(expires_at.seconds - requested_at.seconds, 7 * 24 * 60 * 60);
    assert_eq!(expires_at.nanos, requested_at.nanos);
    // Only in covered regions, and the owner is never asked.
    assert_eq!(pending(&mut source, HOME).await, []);
    assert_eq!(pending(&mut owner, EU).await, []);
    assert_eq!(
        pair_status(&cluster, OWNER, EU).await,
        pb::PairStatus::Authorized
    );
    assert_eq!(
        pair_status(&cluster, SOURCE, EU).await,
        pb::PairStatus::Pending
    );

    // Declining hides the request and marks the pair.
    let decline = pb::DeletePendingAggregationRequestRequest {
        region: EU.into(),
        requester_account_id: OWNER.into(),
        requester_aws_region: HOME.into(),
    };
    source
        .delete_pending_aggregation_request(decline.clone())
        .await
        .unwrap();
    assert_eq!(pending(&mut source, EU).await, []);
    assert_eq!(
        pair_status(&cluster, SOURCE, EU).await,
        pb::PairStatus::Declined
    );
    // Declining again, or a request that never existed, succeeds.
    source
        .delete_pending_aggregation_request(decline.clone())
        .await
        .unwrap();
    source
        .delete_pending_aggregation_request(pb::DeletePendingAggregationRequestRequest {
            region: HOME.into(),
            requester_account_id: "999999999999".into(),
            requester_aws_region: EU.into(),
        })
        .await
        .unwrap();

    // Authorizing answers the request.
    assert_eq!(requesters(&pending(&mut other, EU).await).len(), 1);
    put(&mut other, put_request(EU, OWNER, HOME)).await;
    assert_eq!(pending(&mut other, EU).await, []);
    assert_eq!(
        pair_status(&cluster, OTHER, EU).await,
        pb::PairStatus::Authorized
    );
    // A declined source may change its mind.
    put(&mut source, put_request(EU, OWNER, HOME)).await;
    assert_eq!(
        pair_status(&cluster, SOURCE, EU).await,
        pb::PairStatus::Authorized
    );

    // Paging rules.
    let error = source
        .describe_pending_aggregation_requests(pb::DescribePendingAggregationRequestsRequest {
            region: EU.into(),
            page_size: 21,
            page_token: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(error.code(), Code::InvalidArgument);
    assert_eq!(reason(&error), "InvalidLimitException");
    let error = source
        .describe_pending_aggregation_requests(pb::DescribePendingAggregationRequestsRequest {
            region: EU.into(),
            page_size: 20,
            page_token: "forged".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(reason(&error), "InvalidNextTokenException");
    cluster.shutdown().await;
}

async fn a_deleted_authorization_revokes_the_pair(backend: Backend) {
    let cluster = start(backend).await;
    for account in [OWNER, SOURCE] {
        cluster.create_account(account, "").await;
    }
    let mut source = client_for(&cluster, SOURCE).await;
    // Authorizing before the aggregator exists is the usual order.
    put(&mut source, put_request(EU, OWNER, HOME)).await;
    declare(&cluster, &[SOURCE], &[EU, HOME]).await;
    assert_eq!(
        pair_status(&cluster, SOURCE, EU).await,
        pb::PairStatus::Authorized
    );
    assert_eq!(
        pair_status(&cluster, SOURCE, HOME).await,
        pb::PairStatus::Pending
    );
    assert_eq!(
        requesters(&pending(&mut source, HOME).await),
        [(OWNER.to_string(), HOME.to_string())]
    );

    source
        .delete_aggregation_authorization(pb::DeleteAggregationAuthorizationRequest {
            region: EU.into(),
            authorized_account_id: OWNER.into(),
            authorized_aws_region: HOME.into(),
        })
        .await
        .unwrap();
    assert_eq!(
        pair_status(&cluster, SOURCE, EU).await,
        pb::PairStatus::Revoked
    );
    assert_eq!(pending(&mut source, EU).await, []);
    put(&mut source, put_request(EU, OWNER, HOME)).await;
    assert_eq!(
        pair_status(&cluster, SOURCE, EU).await,
        pb::PairStatus::Authorized
    );
    cluster.shutdown().await;
}

async fn regions_named_by_authorizations_cannot_be_deregistered(backend: Backend) {
    let cluster = start(backend).await;
    let mut regions = cluster.regions(cluster.operator_key());
    for region in ["ap-southeast-2", "sa-east-1"] {
        regions
            .register_region(pb::RegisterRegionRequest {
                region_name: region.into(),
                collector_endpoint: "http://127.0.0.1:1".into(),
                opt_in: false,
            })
            .await
            .unwrap();
    }
    let mut source = client_for(&cluster, SOURCE).await;
    put(
        &mut source,
        put_request("ap-southeast-2", OWNER, "sa-east-1"),
    )
    .await;
    for region in ["ap-southeast-2", "sa-east-1"] {
        let error = regions
            .deregister_region(pb::DeregisterRegionRequest {
                region_name: region.into(),
            })
            .await
            .unwrap_err();
        assert_eq!(error.code(), Code::FailedPrecondition, "{region}");
        assert_eq!(reason(&error), "ResourceInUseException");
        assert!(error.message().contains("aggregation authorization"));
    }
    source
        .delete_aggregation_authorization(pb::DeleteAggregationAuthorizationRequest {
            region: "ap-southeast-2".into(),
            authorized_account_id: OWNER.into(),
            authorized_aws_region: "sa-east-1".into(),
        })
        .await
        .unwrap();
    for region in ["ap-southeast-2", "sa-east-1"] {
        regions
            .deregister_region(pb::DeregisterRegionRequest {
                region_name: region.into(),
            })
            .await
            .unwrap();
    }
    cluster.shutdown().await;
}
