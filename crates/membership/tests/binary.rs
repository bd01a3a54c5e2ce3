//! The real `tributary-membership` binary: migrates, bootstraps its keys, serves, and stops on
//! SIGTERM within the grace period.

// A panic in a test is a failed assertion with a location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    io::{BufRead, BufReader},
    process::{Command, Stdio},
    time::Duration,
};

use tributary_proto::membership::v1 as pb;
use tributary_runtime::{
    client::{BearerToken, lazy_channel},
    test_support::{free_address, terminate, wait_serving},
};

const BINARY: &str = env!("CARGO_BIN_EXE_tributary-membership");

fn access_client(
    address: std::net::SocketAddr,
    key: &str,
) -> pb::access_service_client::AccessServiceClient<
    tonic::service::interceptor::InterceptedService<tonic::transport::Channel, BearerToken>,
> {
    pb::access_service_client::AccessServiceClient::with_interceptor(
        lazy_channel(&format!("http://{address}")).unwrap(),
        BearerToken::new(key).unwrap(),
    )
}

#[tokio::test]
async fn migrate_subcommand_then_serve_with_a_configured_key_then_sigterm() {
    let directory = tempfile::tempdir().unwrap();
    let url = tributary_runtime::db::sqlite_url(&directory.path().join("membership.db"));

    let migrated = Command::new(BINARY)
        .args(["migrate", "--database-url", &url])
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        migrated.status.success(),
        "{}",
        String::from_utf8_lossy(&migrated.stderr)
    );

    let address = free_address();
    let operator_key = "operator-key-for-the-binary-test";
    let mut child = Command::new(BINARY)
        .args([
            "serve",
            "--listen",
            &address.to_string(),
            "--database-url",
            &url,
            "--migrate-on-start",
            "false",
        ])
        .env("TRIBUTARY_BOOTSTRAP_KEY", operator_key)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    wait_serving(&mut child, address, Duration::from_secs(20))
        .await
        .unwrap();

    let me = access_client(address, operator_key)
        .who_am_i(pb::WhoAmIRequest {})
        .await
        .expect("the configured operator key works")
        .into_inner();
    assert_eq!(me.principal.unwrap().kind(), pb::PrincipalKind::Operator);

    let (status, elapsed) = terminate(&mut child, Duration::from_secs(5)).await.unwrap();
    assert!(status.success(), "clean exit after SIGTERM: {status}");
    assert!(elapsed < Duration::from_secs(5), "stopped in {elapsed:?}");
}

#[tokio::test]
async fn first_start_prints_a_working_operator_key_once() {
    let directory = tempfile::tempdir().unwrap();
    let url = tributary_runtime::db::sqlite_url(&directory.path().join("membership.db"));
    let mut printed: Vec<String> = Vec::new();
    for _ in 0..2 {
        let address = free_address();
        let mut child = Command::new(BINARY)
            .args(["--listen", &address.to_string(), "--database-url", &url])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let lines = std::thread::spawn(move || {
            BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
                .collect::<Vec<_>>()
        });
        wait_serving(&mut child, address, Duration::from_secs(20))
            .await
            .unwrap();
        if let Some(key) = printed.first() {
            access_client(address, key)
                .who_am_i(pb::WhoAmIRequest {})
                .await
                .expect("the printed key still works after a restart");
        }
        let (status, _) = terminate(&mut child, Duration::from_secs(5)).await.unwrap();
        assert!(status.success());
        let keys: Vec<String> = lines
            .join()
            .unwrap()
            .into_iter()
            .filter_map(|line| {
                line.split_once("store it now): ")
                    .map(|(_, key)| key.to_string())
            })
            .collect();
        printed.extend(keys);
    }
    assert_eq!(
        printed.len(),
        1,
        "the generated key is printed on the first start only: {printed:?}"
    );
    assert!(printed[0].starts_with("trb_"));
}
