//! The real `tributary-aggregator` binary: needs its service key, serves, and stops on SIGTERM
//! within the grace period.

// A panic in a test is a failed assertion with a location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    process::{Command, Stdio},
    time::Duration,
};

use tributary_runtime::test_support::{free_address, terminate, wait_serving};

const BINARY: &str = env!("CARGO_BIN_EXE_tributary-aggregator");

#[test]
fn a_missing_service_key_is_a_clear_start_up_error() {
    let directory = tempfile::tempdir().unwrap();
    let url = tributary_runtime::db::sqlite_url(&directory.path().join("aggregator.db"));
    let output = Command::new(BINARY)
        .args([
            "--database-url",
            &url,
            "--listen",
            &free_address().to_string(),
        ])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("TRIBUTARY_SERVICE_API_KEY"), "{stderr}");
}

#[tokio::test]
async fn migrates_serves_and_stops_on_sigterm() {
    let directory = tempfile::tempdir().unwrap();
    let url = tributary_runtime::db::sqlite_url(&directory.path().join("aggregator.db"));
    let migrated = Command::new(BINARY)
        .args(["migrate", "--database-url", &url])
        .output()
        .unwrap();
    assert!(
        migrated.status.success(),
        "{}",
        String::from_utf8_lossy(&migrated.stderr)
    );

    let address = free_address();
    let mut child = Command::new(BINARY)
        .args([
            "--listen",
            &address.to_string(),
            "--database-url",
            &url,
            "--migrate-on-start",
            "false",
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
}
