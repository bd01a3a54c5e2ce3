//! Prometheus `/metrics`, scraped over HTTP like Prometheus does: the RPC latency histogram has a
//! series per method and status code, and the collector publishes its change-log head per region.
//!
//! The recorder is process-wide, as in `tributary up`, so each backend's collector serves its own
//! region and counts are compared before and after the calls a test makes.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::{net::SocketAddr, time::Duration};

use support::{Backend, TestCluster, eventually};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::sync::CancellationToken;
use tonic::Code;
use tributary_proto::collector::v1 as pb;

const ACCOUNT: &str = "123456789012";

/// The body of `GET /metrics`, checking the status line and content type.
async fn scrape(address: SocketAddr) -> String {
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: metrics\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: text/plain; version=0.0.4"),
        "{head}"
    );
    body.to_string()
}

/// The value of the sample `name{labels}` (labels exactly as rendered), if present.
fn sample(body: &str, name: &str, labels: &str) -> Option<f64> {
    let series = format!("{name}{{{labels}}} ");
    body.lines()
        .find_map(|line| line.strip_prefix(&series))
        .map(|value| value.trim().parse().unwrap())
}

fn rpc_labels(rpc: &str, code: &str) -> String {
    format!("service=\"collector\",rpc=\"tributary.collector.v1.{rpc}\",code=\"{code}\"")
}

fn count(body: &str, rpc: &str, code: &str) -> f64 {
    sample(
        body,
        "tributary_rpc_duration_seconds_count",
        &rpc_labels(rpc, code),
    )
    .unwrap_or(0.0)
}

/// The account's recorder, recording everything or only EC2 instances.
fn recorder_request(everything: bool) -> pb::PutConfigurationRecorderRequest {
    pb::PutConfigurationRecorderRequest {
        account_id: ACCOUNT.into(),
        configuration_recorder: Some(pb::ConfigurationRecorder {
            name: "default".into(),
            recording_group: Some(pb::RecordingGroup {
                all_supported: everything,
                include_global_resource_types: everything,
                resource_types: if everything {
                    Vec::new()
                } else {
                    vec!["AWS::EC2::Instance".into()]
                },
            }),
        }),
    }
}

async fn rpc_latency_and_change_log_head_are_scraped(backend: Backend) {
    // One region per backend: both may run in one process and share the recorder.
    let region = match backend {
        Backend::Sqlite => "eu-west-1",
        Backend::Postgres => "eu-west-2",
    };
    let cluster = TestCluster::builder(backend)
        .collector(region)
        .start()
        .await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let metrics = listener.local_addr().unwrap();
    let stop = CancellationToken::new();
    tokio::spawn(tributary_runtime::metrics::serve_metrics(
        listener,
        stop.clone(),
    ));
    let before = scrape(metrics).await;

    let key = cluster.account_key(ACCOUNT).await;
    let mut config = cluster.config(region, &key);
    config
        .put_configuration_recorder(recorder_request(true))
        .await
        .unwrap();
    let refused = config
        .put_configuration_recorder(pb::PutConfigurationRecorderRequest {
            account_id: ACCOUNT.into(),
            configuration_recorder: None,
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument);
    let head = cluster
        .change_log(region, cluster.service_key())
        .get_head(pb::GetHeadRequest {})
        .await
        .unwrap()
        .into_inner()
        .head_seq;
    assert!(head > 0, "the recorder was written to the change log");

    let after = scrape(metrics).await;
    let put = "ConfigService/PutConfigurationRecorder";
    assert!(
        count(&after, put, "0") - count(&before, put, "0") >= 1.0,
        "a successful call is counted under code 0:\n{after}"
    );
    assert!(
        count(&after, put, "3") - count(&before, put, "3") >= 1.0,
        "an INVALID_ARGUMENT call is counted under code 3:\n{after}"
    );
    assert!(
        count(&after, "ChangeLogService/GetHead", "0") >= 1.0,
        "each method has its own series:\n{after}"
    );
    // A histogram: cumulative buckets up to +Inf, which equals the count.
    let labels = rpc_labels(put, "0");
    let infinite = sample(
        &after,
        "tributary_rpc_duration_seconds_bucket",
        &format!("{labels},le=\"+Inf\""),
    )
    .expect("a +Inf bucket");
    assert_eq!(infinite, count(&after, put, "0"));
    assert!(
        sample(
            &after,
            "tributary_rpc_duration_seconds_bucket",
            &format!("{labels},le=\"0.0005\"")
        )
        .is_some(),
        "the smallest latency bucket is 0.5 ms:\n{after}"
    );

    let head_labels = format!("region=\"{region}\"");
    eventually(
        "the change-log head gauge shows the collector's head",
        Duration::from_secs(5),
        || {
            let head_labels = head_labels.clone();
            async move {
                let body = scrape(metrics).await;
                match sample(&body, "tributary_change_log_head_seq", &head_labels) {
                    Some(value) if value == head as f64 => Ok(()),
                    other => Err(format!("{other:?}, head {head}")),
                }
            }
        },
    )
    .await;

    // The gauge follows later commits too.
    config
        .put_configuration_recorder(recorder_request(false))
        .await
        .unwrap();
    let later = cluster
        .change_log(region, cluster.service_key())
        .get_head(pb::GetHeadRequest {})
        .await
        .unwrap()
        .into_inner()
        .head_seq;
    assert!(later > head, "changing the recorder is a new change");
    eventually(
        "the gauge follows a later commit",
        Duration::from_secs(5),
        || {
            let head_labels = head_labels.clone();
            async move {
                let body = scrape(metrics).await;
                match sample(&body, "tributary_change_log_head_seq", &head_labels) {
                    Some(value) if value == later as f64 => Ok(()),
                    other => Err(format!("{other:?}, head {later}")),
                }
            }
        },
    )
    .await;

    stop.cancel();
    cluster.shutdown().await;
}

on_both_backends!(rpc_latency_and_change_log_head_are_scraped);
