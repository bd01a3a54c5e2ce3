//! The real `tributary-collector` binary: refuses to start without a region, serves with one, and
//! stops on SIGTERM within the grace period.

// A panic in a test is a failed assertion with a location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    process::{Command, Stdio},
    time::Duration,
};

use tributary_runtime::test_support::{free_address, terminate, wait_serving};

const BINARY: &str = env!("CARGO_BIN_EXE_tributary-collector");

#[test]
fn a_missing_region_is_a_clear_start_up_error() {
    let directory = tempfile::tempdir().unwrap();
    let url = tributary_runtime::db::sqlite_url(&directory.path().join("collector.db"));
    let output = Command::new(BINARY)
        .args([
            "--database-url",
            &url,
            "--listen",
            &free_address().to_string(),
        ])
        .env("TRIBUTARY_SERVICE_API_KEY", "service-key-0123456789")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("region"), "{stderr}");
}

#[tokio::test]
async fn serves_its_region_and_stops_on_sigterm() {
    let directory = tempfile::tempdir().unwrap();
    let url = tributary_runtime::db::sqlite_url(&directory.path().join("collector.db"));
    let address = free_address();
    let mut child = Command::new(BINARY)
        .args([
            "--region",
            "eu-west-1",
            "--listen",
            &address.to_string(),
            "--database-url",
            &url,
        ])
        .env("TRIBUTARY_SERVICE_API_KEY", "service-key-0123456789")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    wait_serving(&mut child, address, Duration::from_secs(20))
        .await
        .unwrap();
    let (status, elapsed) = terminate(&mut child, Duration::from_secs(5)).await.unwrap();
    assert!(status.success(), "clean exit after SIGTERM: {status}");
    assert!(elapsed < Duration::from_secs(5), "stopped in {elapsed:?}");
    assert!(
        directory.path().join("collector.db").exists(),
        "migrated on start"
    );
}
