//! End-to-end tests of the foundation every service shares: health, reflection, authentication,
//! page tokens, the region registry and API keys, over real gRPC on loopback, on SQLite and
//! PostgreSQL.

// A panic in a test is a failed assertion with a location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use support::{
    Backend, TestCluster, account_principal, channel, eventually, reason, violated_fields,
};
use tonic::Code;
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};
use tributary_proto::{
    aggregator::v1 as aggregator_pb, collector::v1 as collector_pb, membership::v1 as membership_pb,
};

on_both_backends! {
    every_service_answers_health_and_describes_itself,
    reflection_lists_each_services_own_apis_in_v1_and_v1alpha,
    calls_without_a_valid_key_are_unauthenticated_everywhere,
    a_revoked_key_stops_working,
    bad_page_tokens_and_limits_are_invalid_arguments,
    regions_register_page_and_deregister,
    region_input_is_validated_and_rejected_calls_write_nothing,
    api_keys_are_created_listed_and_checked_by_principal,
}

const REGIONS: [&str; 2] = ["us-east-1", "eu-west-1"];

async fn start(backend: Backend) -> TestCluster {
    let mut builder = TestCluster::builder(backend);
    for region in REGIONS {
        builder = builder.collector(region);
    }
    builder.start().await
}

async fn every_service_answers_health_and_describes_itself(backend: Backend) {
    let cluster = start(backend).await;
    for (name, address) in cluster.all_addresses() {
        let status = HealthClient::new(channel(address))
            .check(HealthCheckRequest {
                service: String::new(),
            })
            .await
            .unwrap_or_else(|error| panic!("{name} answers health: {error}"))
            .into_inner()
            .status;
        assert_eq!(status, ServingStatus::Serving as i32, "{name} is SERVING");
    }
    let named = HealthClient::new(channel(cluster.membership_address()))
        .check(HealthCheckRequest {
            service: "tributary.membership.v1.AccessService".into(),
        })
        .await
        .expect("membership reports its services by name")
        .into_inner();
    assert_eq!(named.status, ServingStatus::Serving as i32);

    for region in REGIONS {
        let info = cluster
            .collector(region, cluster.operator_key())
            .get_info(collector_pb::GetInfoRequest {})
            .await
            .expect("the collector describes itself")
            .into_inner();
        assert_eq!(info.region, region);
        assert_eq!(info.version, env!("CARGO_PKG_VERSION"));
        assert_eq!(
            info.change_log_head, 0,
            "a new collector has an empty change log"
        );
        assert!(info.started_at.is_some());
    }
    let info = cluster
        .aggregator(cluster.operator_key())
        .get_info(aggregator_pb::GetInfoRequest {})
        .await
        .expect("the aggregator describes itself")
        .into_inner();
    assert_eq!(info.version, env!("CARGO_PKG_VERSION"));
    assert!(info.cursors.is_empty(), "nothing replicated yet");

    let me = cluster
        .access(cluster.operator_key())
        .who_am_i(membership_pb::WhoAmIRequest {})
        .await
        .expect("the operator key works")
        .into_inner();
    assert_eq!(
        me.principal.expect("a principal").kind(),
        membership_pb::PrincipalKind::Operator
    );
    cluster.shutdown().await;
}

async fn list_services_v1(address: std::net::SocketAddr) -> Vec<String> {
    use tonic_reflection::pb::v1::{
        ServerReflectionRequest, server_reflection_client::ServerReflectionClient,
        server_reflection_request::MessageRequest, server_reflection_response::MessageResponse,
    };
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut responses = ServerReflectionClient::new(channel(address))
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .expect("reflection v1 answers without a key")
        .into_inner();
    match responses
        .message()
        .await
        .expect("a response")
        .and_then(|response| response.message_response)
    {
        Some(MessageResponse::ListServicesResponse(list)) => list
            .service
            .into_iter()
            .map(|service| service.name)
            .collect(),
        other => panic!("expected a service list, got {other:?}"),
    }
}

async fn list_services_v1alpha(address: std::net::SocketAddr) -> Vec<String> {
    use tonic_reflection::pb::v1alpha::{
        ServerReflectionRequest, server_reflection_client::ServerReflectionClient,
        server_reflection_request::MessageRequest, server_reflection_response::MessageResponse,
    };
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut responses = ServerReflectionClient::new(channel(address))
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .expect("reflection v1alpha answers without a key")
        .into_inner();
    match responses
        .message()
        .await
        .expect("a response")
        .and_then(|response| response.message_response)
    {
        Some(MessageResponse::ListServicesResponse(list)) => list
            .service
            .into_iter()
            .map(|service| service.name)
            .collect(),
        other => panic!("expected a service list, got {other:?}"),
    }
}

async fn reflection_lists_each_services_own_apis_in_v1_and_v1alpha(backend: Backend) {
    let cluster = start(backend).await;
    // Each service lists its own package's APIs (and health), never another service's.
    let expected: [(std::net::SocketAddr, &str, &[&str]); 3] = [
        (
            cluster.membership_address(),
            "tributary.membership.",
            &[
                "tributary.membership.v1.RegionService",
                "tributary.membership.v1.AccessService",
            ],
        ),
        (
            cluster.aggregator_address(),
            "tributary.aggregator.",
            &["tributary.aggregator.v1.AggregatorService"],
        ),
        (
            cluster.collector_address("us-east-1"),
            "tributary.collector.",
            &["tributary.collector.v1.CollectorService"],
        ),
    ];
    for (address, own_package, required) in expected {
        for services in [
            list_services_v1(address).await,
            list_services_v1alpha(address).await,
        ] {
            for name in required.iter().chain(["grpc.health.v1.Health"].iter()) {
                assert!(
                    services.iter().any(|service| service == name),
                    "{name} listed at {address}: {services:?}"
                );
            }
            let foreign = services
                .iter()
                .filter(|service| {
                    service.starts_with("tributary.") && !service.starts_with(own_package)
                })
                .collect::<Vec<_>>();
            assert!(
                foreign.is_empty(),
                "only the service's own APIs are listed at {address}: {foreign:?}"
            );
        }
    }
    cluster.shutdown().await;
}

async fn calls_without_a_valid_key_are_unauthenticated_everywhere(backend: Backend) {
    let cluster = start(backend).await;
    let no_key = membership_pb::access_service_client::AccessServiceClient::new(channel(
        cluster.membership_address(),
    ))
    .who_am_i(membership_pb::WhoAmIRequest {})
    .await
    .expect_err("no key is refused");
    assert_eq!(no_key.code(), Code::Unauthenticated);
    assert_eq!(reason(&no_key), "MissingAuthenticationTokenException");

    let no_key = collector_pb::collector_service_client::CollectorServiceClient::new(channel(
        cluster.collector_address("eu-west-1"),
    ))
    .get_info(collector_pb::GetInfoRequest {})
    .await
    .expect_err("no key is refused by the collector");
    assert_eq!(no_key.code(), Code::Unauthenticated);

    let unknown = "trb_this_key_was_never_issued_0000";
    let errors = [
        cluster
            .access(unknown)
            .who_am_i(membership_pb::WhoAmIRequest {})
            .await
            .expect_err("membership"),
        cluster
            .collector("us-east-1", unknown)
            .get_info(collector_pb::GetInfoRequest {})
            .await
            .expect_err("collector"),
        cluster
            .aggregator(unknown)
            .get_info(aggregator_pb::GetInfoRequest {})
            .await
            .expect_err("aggregator"),
    ];
    for error in errors {
        assert_eq!(error.code(), Code::Unauthenticated, "{error:?}");
        assert_eq!(reason(&error), "UnrecognizedClientException");
    }
    cluster.shutdown().await;
}

async fn a_revoked_key_stops_working(backend: Backend) {
    let cluster = TestCluster::builder(backend)
        .collector("us-east-1")
        .auth_cache_ttl(Duration::from_secs(1))
        .start()
        .await;
    let (secret, key_id) = cluster.create_key(account_principal("123456789012")).await;

    let me = cluster
        .access(&secret)
        .who_am_i(membership_pb::WhoAmIRequest {})
        .await
        .expect("a new key works")
        .into_inner();
    assert_eq!(me.key_id, key_id);
    assert_eq!(
        me.principal.expect("a principal").account_id,
        "123456789012"
    );
    cluster
        .collector("us-east-1", &secret)
        .get_info(collector_pb::GetInfoRequest {})
        .await
        .expect("a new key works on the collector");

    let revoked = cluster
        .access(cluster.operator_key())
        .revoke_api_key(membership_pb::RevokeApiKeyRequest {
            key_id: key_id.clone(),
        })
        .await
        .expect("the operator revokes the key")
        .into_inner()
        .api_key
        .expect("the revoked key");
    assert!(revoked.revoked_at.is_some());

    let refused = cluster
        .access(&secret)
        .who_am_i(membership_pb::WhoAmIRequest {})
        .await
        .expect_err("membership refuses at once");
    assert_eq!(refused.code(), Code::Unauthenticated);
    eventually(
        "the collector refuses the revoked key",
        Duration::from_secs(5),
        || {
            let mut collector = cluster.collector("us-east-1", &secret);
            async move {
                match collector.get_info(collector_pb::GetInfoRequest {}).await {
                    Err(status) if status.code() == Code::Unauthenticated => Ok(()),
                    other => Err(format!("{other:?}")),
                }
            }
        },
    )
    .await;

    let again = cluster
        .access(cluster.operator_key())
        .revoke_api_key(membership_pb::RevokeApiKeyRequest { key_id })
        .await
        .expect("revoking twice is a no-op")
        .into_inner()
        .api_key
        .expect("the key");
    assert_eq!(
        again.revoked_at, revoked.revoked_at,
        "the first revocation time stays"
    );

    let missing = cluster
        .access(cluster.operator_key())
        .revoke_api_key(membership_pb::RevokeApiKeyRequest {
            key_id: "key-0000000000000000".into(),
        })
        .await
        .expect_err("an unknown key is not found");
    assert_eq!(missing.code(), Code::NotFound);
    assert_eq!(reason(&missing), "ResourceNotFoundException");
    cluster.shutdown().await;
}

async fn bad_page_tokens_and_limits_are_invalid_arguments(backend: Backend) {
    let cluster = start(backend).await;
    let operator = cluster.operator_key().to_string();
    for token in ["garbage", "AQ", "eyJub3QiOiJvdXJzIn0"] {
        let error = cluster
            .regions(&operator)
            .list_regions(membership_pb::ListRegionsRequest {
                page_size: 1,
                page_token: token.into(),
            })
            .await
            .expect_err("a forged token is refused");
        assert_eq!(error.code(), Code::InvalidArgument);
        assert_eq!(reason(&error), "InvalidNextTokenException");
        assert_eq!(violated_fields(&error), ["page_token"]);
    }

    // A genuine token from one call is no good for another call.
    for index in 0..3 {
        cluster
            .create_key(account_principal(&format!("12345678901{index}")))
            .await;
    }
    let keys_token = cluster
        .access(&operator)
        .list_api_keys(membership_pb::ListApiKeysRequest {
            page_size: 1,
            ..Default::default()
        })
        .await
        .expect("keys are listed")
        .into_inner()
        .next_page_token;
    assert!(!keys_token.is_empty());
    let error = cluster
        .regions(&operator)
        .list_regions(membership_pb::ListRegionsRequest {
            page_size: 1,
            page_token: keys_token.clone(),
        })
        .await
        .expect_err("a token of another call is refused");
    assert_eq!(reason(&error), "InvalidNextTokenException");
    let error = cluster
        .access(&operator)
        .list_api_keys(membership_pb::ListApiKeysRequest {
            page_size: 1,
            page_token: keys_token,
            include_revoked: true,
        })
        .await
        .expect_err("a token of other filters is refused");
    assert_eq!(reason(&error), "InvalidNextTokenException");

    for page_size in [101, -1] {
        let error = cluster
            .access(&operator)
            .list_api_keys(membership_pb::ListApiKeysRequest {
                page_size,
                ..Default::default()
            })
            .await
            .expect_err("an out-of-range page size is refused");
        assert_eq!(error.code(), Code::InvalidArgument);
        assert_eq!(reason(&error), "InvalidLimitException");
    }
    cluster.shutdown().await;
}

async fn regions_register_page_and_deregister(backend: Backend) {
    let cluster = start(backend).await;
    let mut regions = cluster.regions(cluster.operator_key());
    for (index, name) in ["ap-southeast-2", "sa-east-1", "ca-central-1"]
        .into_iter()
        .enumerate()
    {
        let response = regions
            .register_region(membership_pb::RegisterRegionRequest {
                region_name: name.into(),
                collector_endpoint: format!("http://127.0.0.1:{}", 60000 + index),
                opt_in: name == "ap-southeast-2",
            })
            .await
            .expect("the operator registers a region")
            .into_inner();
        assert!(response.created);
    }
    let updated = regions
        .register_region(membership_pb::RegisterRegionRequest {
            region_name: "sa-east-1".into(),
            collector_endpoint: "https://collector.sa.example:443".into(),
            opt_in: false,
        })
        .await
        .expect("registering again updates")
        .into_inner();
    assert!(!updated.created);
    assert_eq!(
        updated.region.expect("the region").collector_endpoint,
        "https://collector.sa.example:443"
    );

    let mut names = Vec::new();
    let mut page_token = String::new();
    let mut pages = 0;
    loop {
        let page = regions
            .list_regions(membership_pb::ListRegionsRequest {
                page_size: 2,
                page_token: page_token.clone(),
            })
            .await
            .expect("regions are listed")
            .into_inner();
        pages += 1;
        assert!(page.regions.len() <= 2);
        names.extend(page.regions.into_iter().map(|region| region.region_name));
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    assert_eq!(
        names,
        [
            "ap-southeast-2",
            "ca-central-1",
            "eu-west-1",
            "sa-east-1",
            "us-east-1"
        ]
    );
    assert_eq!(pages, 3);

    regions
        .deregister_region(membership_pb::DeregisterRegionRequest {
            region_name: "ca-central-1".into(),
        })
        .await
        .expect("the operator deregisters a region");
    let missing = regions
        .deregister_region(membership_pb::DeregisterRegionRequest {
            region_name: "ca-central-1".into(),
        })
        .await
        .expect_err("deregistering twice is not found");
    assert_eq!(missing.code(), Code::NotFound);
    assert_eq!(reason(&missing), "ResourceNotFoundException");

    let listed = regions
        .list_regions(membership_pb::ListRegionsRequest::default())
        .await
        .expect("regions are listed")
        .into_inner();
    assert_eq!(listed.regions.len(), 4);
    assert!(listed.next_page_token.is_empty());
    cluster.shutdown().await;
}

async fn region_input_is_validated_and_rejected_calls_write_nothing(backend: Backend) {
    let cluster = start(backend).await;
    let before = cluster
        .regions(cluster.operator_key())
        .list_regions(membership_pb::ListRegionsRequest::default())
        .await
        .expect("regions are listed")
        .into_inner()
        .regions;

    let error = cluster
        .regions(cluster.operator_key())
        .register_region(membership_pb::RegisterRegionRequest {
            region_name: "Mars-North".into(),
            collector_endpoint: "collector:50061".into(),
            opt_in: false,
        })
        .await
        .expect_err("bad input is refused");
    assert_eq!(error.code(), Code::InvalidArgument);
    assert_eq!(reason(&error), "InvalidParameterValueException");
    assert_eq!(
        violated_fields(&error),
        ["region_name", "collector_endpoint"]
    );

    let (account_key, _) = cluster.create_key(account_principal("210987654321")).await;
    let denied = cluster
        .regions(&account_key)
        .register_region(membership_pb::RegisterRegionRequest {
            region_name: "sa-east-1".into(),
            collector_endpoint: "http://127.0.0.1:60001".into(),
            opt_in: false,
        })
        .await
        .expect_err("an account may not register regions");
    assert_eq!(denied.code(), Code::PermissionDenied);
    assert_eq!(reason(&denied), "AccessDeniedException");
    let denied = cluster
        .regions(&account_key)
        .deregister_region(membership_pb::DeregisterRegionRequest {
            region_name: "us-east-1".into(),
        })
        .await
        .expect_err("an account may not deregister regions");
    assert_eq!(denied.code(), Code::PermissionDenied);

    let after = cluster
        .regions(&account_key)
        .list_regions(membership_pb::ListRegionsRequest::default())
        .await
        .expect("any principal lists regions")
        .into_inner()
        .regions;
    assert_eq!(before, after, "rejected calls changed nothing");
    cluster.shutdown().await;
}

async fn api_keys_are_created_listed_and_checked_by_principal(backend: Backend) {
    let cluster = start(backend).await;
    let operator = cluster.operator_key().to_string();

    let error = cluster
        .access(&operator)
        .create_api_key(membership_pb::CreateApiKeyRequest {
            name: String::new(),
            principal: Some(membership_pb::Principal {
                kind: membership_pb::PrincipalKind::OrganizationManagement as i32,
                account_id: "12345".into(),
                organization_id: "org-1".into(),
                service_name: String::new(),
            }),
        })
        .await
        .expect_err("bad input is refused");
    assert_eq!(error.code(), Code::InvalidArgument);
    assert_eq!(
        violated_fields(&error),
        ["name", "principal.account_id", "principal.organization_id"]
    );
    let unknown = cluster
        .access(&operator)
        .create_api_key(membership_pb::CreateApiKeyRequest {
            name: "nobody".into(),
            principal: Some(account_principal("999999999999")),
        })
        .await
        .expect_err("a key for an unknown account is refused");
    assert_eq!(unknown.code(), Code::NotFound);
    assert_eq!(reason(&unknown), "AccountNotFoundException");
    let error = cluster
        .access(&operator)
        .create_api_key(membership_pb::CreateApiKeyRequest {
            name: "x".into(),
            principal: None,
        })
        .await
        .expect_err("a principal is required");
    assert_eq!(violated_fields(&error), ["principal"]);

    let (account_key, account_key_id) = cluster.create_key(account_principal("123456789012")).await;
    let (service_key, _) = cluster
        .create_key(membership_pb::Principal {
            kind: membership_pb::PrincipalKind::Service as i32,
            service_name: "aggregator".into(),
            ..Default::default()
        })
        .await;

    let denied = cluster
        .access(&account_key)
        .create_api_key(membership_pb::CreateApiKeyRequest {
            name: "escalation".into(),
            principal: Some(membership_pb::Principal {
                kind: membership_pb::PrincipalKind::Operator as i32,
                ..Default::default()
            }),
        })
        .await
        .expect_err("an account may not create keys");
    assert_eq!(denied.code(), Code::PermissionDenied);
    assert_eq!(reason(&denied), "AccessDeniedException");
    let denied = cluster
        .access(&account_key)
        .authenticate(membership_pb::AuthenticateRequest {
            api_key: service_key.clone(),
        })
        .await
        .expect_err("an account may not check other keys");
    assert_eq!(denied.code(), Code::PermissionDenied);

    let answer = cluster
        .access(&service_key)
        .authenticate(membership_pb::AuthenticateRequest {
            api_key: account_key.clone(),
        })
        .await
        .expect("a service checks keys")
        .into_inner();
    assert!(answer.authenticated);
    assert_eq!(answer.key_id, account_key_id);
    assert_eq!(
        answer.principal.expect("a principal").account_id,
        "123456789012"
    );
    let answer = cluster
        .access(&service_key)
        .authenticate(membership_pb::AuthenticateRequest {
            api_key: "trb_unknown_key_0000000000".into(),
        })
        .await
        .expect("an unknown key is an answer, not an error")
        .into_inner();
    assert!(!answer.authenticated);
    assert!(answer.principal.is_none());

    cluster
        .access(&operator)
        .revoke_api_key(membership_pb::RevokeApiKeyRequest {
            key_id: account_key_id.clone(),
        })
        .await
        .expect("revoked");
    let active = all_keys(&cluster, false).await;
    let every = all_keys(&cluster, true).await;
    assert!(!active.iter().any(|key| key.key_id == account_key_id));
    assert!(
        every
            .iter()
            .any(|key| key.key_id == account_key_id && key.revoked_at.is_some())
    );
    // Two bootstrap keys, the service key made here, and the revoked account key.
    assert_eq!((active.len(), every.len()), (3, 4));
    cluster.shutdown().await;
}

async fn all_keys(cluster: &TestCluster, include_revoked: bool) -> Vec<membership_pb::ApiKey> {
    let mut keys = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = cluster
            .access(cluster.operator_key())
            .list_api_keys(membership_pb::ListApiKeysRequest {
                page_size: 1,
                page_token,
                include_revoked,
            })
            .await
            .expect("keys are listed")
            .into_inner();
        keys.extend(page.api_keys);
        if page.next_page_token.is_empty() {
            return keys;
        }
        page_token = page.next_page_token;
    }
}
