//! With `OTEL_EXPORTER_OTLP_ENDPOINT` set, the real binary exports a span per RPC over OTLP/gRPC,
//! continuing the caller's W3C trace, and flushes it on SIGTERM.

// A panic in a test is a failed assertion with a location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    process::{Command, Stdio},
    time::Duration,
};

use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
    trace_service_server::{TraceService, TraceServiceServer},
};
use tokio::sync::mpsc;
use tributary_proto::membership::v1 as pb;
use tributary_runtime::{
    client::{BearerToken, lazy_channel},
    test_support::{free_address, terminate, wait_serving},
};

const BINARY: &str = env!("CARGO_BIN_EXE_tributary-membership");

/// An OTLP trace receiver that forwards every export to the test.
struct Receiver(mpsc::UnboundedSender<ExportTraceServiceRequest>);

#[tonic::async_trait]
impl TraceService for Receiver {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let _ = self.0.send(request.into_inner());
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rpc_spans_are_exported_and_continue_the_callers_trace() {
    let (exports_tx, mut exports_rx) = mpsc::unbounded_channel();
    let otlp_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let otlp_address = otlp_listener.local_addr().unwrap();
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(Receiver(exports_tx)))
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(
                otlp_listener,
            )),
    );

    let directory = tempfile::tempdir().unwrap();
    let url = tributary_runtime::db::sqlite_url(&directory.path().join("membership.db"));
    let address = free_address();
    let operator_key = "operator-key-for-the-tracing-test";
    let mut child = Command::new(BINARY)
        .args(["--listen", &address.to_string(), "--database-url", &url])
        .env("TRIBUTARY_BOOTSTRAP_KEY", operator_key)
        .env(
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            format!("http://{otlp_address}"),
        )
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    wait_serving(&mut child, address, Duration::from_secs(20))
        .await
        .unwrap();

    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let mut request = tonic::Request::new(pb::WhoAmIRequest {});
    request.metadata_mut().insert(
        "traceparent",
        format!("00-{trace_id}-00f067aa0ba902b7-01")
            .parse()
            .unwrap(),
    );
    pb::access_service_client::AccessServiceClient::with_interceptor(
        lazy_channel(&format!("http://{address}")).unwrap(),
        BearerToken::new(operator_key).unwrap(),
    )
    .who_am_i(request)
    .await
    .unwrap();

    // SIGTERM flushes the batch exporter.
    let (status, _) = terminate(&mut child, Duration::from_secs(5)).await.unwrap();
    assert!(status.success());

    let mut spans = Vec::new();
    while let Ok(export) = exports_rx.try_recv() {
        for resource_spans in export.resource_spans {
            for scope_spans in resource_spans.scope_spans {
                spans.extend(scope_spans.spans);
            }
        }
    }
    let rpc_span = spans
        .iter()
        .find(|span| {
            span.name == "rpc"
                && span.attributes.iter().any(|attribute| {
                    attribute.key == "rpc.method"
                        && format!("{:?}", attribute.value).contains("WhoAmI")
                })
        })
        .unwrap_or_else(|| {
            panic!(
                "an rpc span for WhoAmI was exported; got {} spans",
                spans.len()
            )
        });
    let exported_trace_id: String = rpc_span
        .trace_id
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    assert_eq!(
        exported_trace_id, trace_id,
        "the server span continues the caller's trace"
    );
}
