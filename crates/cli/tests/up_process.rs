//! The real `tributary up` binary: serves every endpoint, writes up.json, stops on SIGTERM within
//! 5 s even with a stream open, and keeps its data and operator key across restarts.

// A panic in a test is a failed assertion with a location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    io::{Read, Write},
    path::Path,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};
use tributary_cli::up::{UpFile, read_up_file};
use tributary_proto::{collector::v1 as collector_pb, membership::v1 as membership_pb};
use tributary_runtime::{
    client::{BearerToken, lazy_channel},
    test_support::{free_address, terminate, wait_serving},
};

const BINARY: &str = env!("CARGO_BIN_EXE_tributary");

/// Starts `tributary up` on free ports with one region and waits until every service serves.
async fn start_up(data_dir: &Path) -> (Child, UpFile) {
    let ports: Vec<String> = (0..4).map(|_| free_address().port().to_string()).collect();
    // A stale up.json from a previous run must not be mistaken for this run's.
    let previous = read_up_file(data_dir).unwrap();
    let mut child = Command::new(BINARY)
        .args(["up", "--data-dir"])
        .arg(data_dir)
        .args([
            "--membership-port",
            &ports[0],
            "--aggregator-port",
            &ports[1],
            "--collector-port",
            &ports[2],
        ])
        .args(["--metrics-port", &ports[3], "--regions", "us-east-1"])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let up_file = loop {
        if let Some(up_file) = read_up_file(data_dir).ok().flatten()
            && Some(&up_file) != previous.as_ref()
        {
            break up_file;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "tributary up exited early"
        );
        assert!(Instant::now() < deadline, "no up.json within 30 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let mut addresses = vec![up_file.membership.clone(), up_file.aggregator.clone()];
    addresses.extend(up_file.collectors.values().cloned());
    for address in addresses {
        wait_serving(
            &mut child,
            address.parse().unwrap(),
            Duration::from_secs(20),
        )
        .await
        .unwrap();
    }
    (child, up_file)
}

fn regions_client(
    up_file: &UpFile,
) -> membership_pb::region_service_client::RegionServiceClient<
    tonic::service::interceptor::InterceptedService<tonic::transport::Channel, BearerToken>,
> {
    membership_pb::region_service_client::RegionServiceClient::with_interceptor(
        lazy_channel(&format!("http://{}", up_file.membership)).unwrap(),
        BearerToken::new(&up_file.operator_api_key).unwrap(),
    )
}

fn http_get(address: &str, path: &str) -> String {
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

#[tokio::test]
async fn up_serves_stops_on_sigterm_and_keeps_its_key_across_restarts() {
    let directory = tempfile::tempdir().unwrap();
    let data_dir = directory.path().join("data");

    let (mut child, first) = start_up(&data_dir).await;
    assert!(first.operator_api_key.starts_with("trb_"));
    let collector_address = &first.collectors["us-east-1"];
    let info = collector_pb::collector_service_client::CollectorServiceClient::with_interceptor(
        lazy_channel(&format!("http://{collector_address}")).unwrap(),
        BearerToken::new(&first.operator_api_key).unwrap(),
    )
    .get_info(collector_pb::GetInfoRequest {})
    .await
    .expect("the operator key works on the collector")
    .into_inner();
    assert_eq!(info.region, "us-east-1");

    regions_client(&first)
        .register_region(membership_pb::RegisterRegionRequest {
            region_name: "sa-east-1".into(),
            collector_endpoint: "http://127.0.0.1:1".into(),
            opt_in: true,
        })
        .await
        .expect("the operator registers a region");

    let metrics = http_get(
        first.metrics.as_deref().expect("metrics are served"),
        "/metrics",
    );
    assert!(
        metrics.contains("tributary_rpc_duration_seconds"),
        "{metrics}"
    );

    // A stream left open must not hold shutdown past the grace period.
    let mut watch =
        HealthClient::new(lazy_channel(&format!("http://{}", first.membership)).unwrap())
            .watch(HealthCheckRequest {
                service: String::new(),
            })
            .await
            .unwrap()
            .into_inner();
    watch
        .message()
        .await
        .unwrap()
        .expect("the first health update");

    let (status, elapsed) = terminate(&mut child, Duration::from_secs(5)).await.unwrap();
    assert!(status.success(), "clean exit after SIGTERM: {status}");
    assert!(elapsed < Duration::from_secs(5), "stopped in {elapsed:?}");

    let (mut child, second) = start_up(&data_dir).await;
    assert_eq!(
        second.operator_api_key, first.operator_api_key,
        "the operator key survives a restart"
    );
    assert_eq!(second.service_api_key, first.service_api_key);
    let regions: Vec<String> = regions_client(&second)
        .list_regions(membership_pb::ListRegionsRequest::default())
        .await
        .expect("the kept operator key works")
        .into_inner()
        .regions
        .into_iter()
        .map(|region| region.region_name)
        .collect();
    assert_eq!(
        regions,
        ["sa-east-1", "us-east-1"],
        "data survives a restart"
    );
    let (status, _) = terminate(&mut child, Duration::from_secs(5)).await.unwrap();
    assert!(status.success());
}
