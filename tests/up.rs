//! `tributary up` in-process with its default region list: five endpoints serve, up.json lists
//! them, and a second start on the same data directory keeps keys and data.

// A panic in a test is a failed assertion with a location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};
use tributary_cli::up::{UpArgs, read_up_file, start};
use tributary_proto::membership::v1 as membership_pb;
use tributary_runtime::client::{BearerToken, lazy_channel};

fn args(data_dir: &std::path::Path) -> UpArgs {
    UpArgs {
        data_dir: data_dir.to_path_buf(),
        membership_port: 0,
        aggregator_port: 0,
        regions: vec![
            "us-east-1".into(),
            "eu-west-1".into(),
            "ap-southeast-2".into(),
        ],
        collector_port: 0,
        metrics_port: 0,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn up_serves_five_endpoints_and_a_restart_keeps_keys_and_data() {
    let directory = tempfile::tempdir().unwrap();
    let cluster = start(&args(directory.path()))
        .await
        .expect("tributary up starts");
    let up_file = read_up_file(directory.path())
        .unwrap()
        .expect("up.json is written");
    assert_eq!(
        up_file.collectors.keys().collect::<Vec<_>>(),
        ["ap-southeast-2", "eu-west-1", "us-east-1"]
    );
    let mut endpoints = vec![up_file.membership.clone(), up_file.aggregator.clone()];
    endpoints.extend(up_file.collectors.values().cloned());
    assert_eq!(endpoints.len(), 5);
    for endpoint in &endpoints {
        let status = HealthClient::new(lazy_channel(&format!("http://{endpoint}")).unwrap())
            .check(HealthCheckRequest {
                service: String::new(),
            })
            .await
            .unwrap()
            .into_inner()
            .status;
        assert_eq!(status, ServingStatus::Serving as i32, "{endpoint}");
    }
    let mut regions = membership_pb::region_service_client::RegionServiceClient::with_interceptor(
        lazy_channel(&format!("http://{}", up_file.membership)).unwrap(),
        BearerToken::new(&up_file.operator_api_key).unwrap(),
    );
    let registered = regions
        .list_regions(membership_pb::ListRegionsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .regions;
    for region in &registered {
        assert_eq!(
            format!("http://{}", up_file.collectors[&region.region_name]),
            region.collector_endpoint,
            "each region points at its collector"
        );
    }
    assert_eq!(registered.len(), 3);
    regions
        .deregister_region(membership_pb::DeregisterRegionRequest {
            region_name: "ap-southeast-2".into(),
        })
        .await
        .unwrap();
    cluster.shutdown().await.expect("a clean shutdown");

    let mut restart = args(directory.path());
    restart.regions = vec!["us-east-1".into()];
    let cluster = start(&restart).await.expect("tributary up starts again");
    let second = read_up_file(directory.path()).unwrap().unwrap();
    assert_eq!(second.operator_api_key, up_file.operator_api_key);
    let mut regions = membership_pb::region_service_client::RegionServiceClient::with_interceptor(
        lazy_channel(&format!("http://{}", second.membership)).unwrap(),
        BearerToken::new(&second.operator_api_key).unwrap(),
    );
    let names: Vec<String> = regions
        .list_regions(membership_pb::ListRegionsRequest::default())
        .await
        .expect("the first run's operator key works")
        .into_inner()
        .regions
        .into_iter()
        .map(|region| region.region_name)
        .collect();
    assert_eq!(
        names,
        ["eu-west-1", "us-east-1"],
        "the deregistration was kept"
    );
    tokio::time::timeout(Duration::from_secs(10), cluster.shutdown())
        .await
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn bad_up_arguments_are_refused_before_anything_starts() {
    let directory = tempfile::tempdir().unwrap();
    for regions in [
        vec![],
        vec!["moon-1".to_string()],
        vec!["us-east-1".to_string(), "us-east-1".to_string()],
    ] {
        let mut bad = args(&directory.path().join("never"));
        bad.regions = regions.clone();
        let error = start(&bad)
            .await
            .err()
            .unwrap_or_else(|| panic!("{regions:?} is refused"));
        assert!(error.to_string().contains("--regions"), "{error}");
        assert!(
            !directory.path().join("never").exists(),
            "nothing was created"
        );
    }
}
