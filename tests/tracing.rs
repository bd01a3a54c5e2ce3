//! One trace across services: an aggregator request and a collector request each carry a W3C
//! `traceparent`; the membership calls they cause (key checks, declaring the aggregator, the
//! account's Security Hub status) join the same trace as children of the service's own RPC span.
//! Spans go over OTLP to a fake collector in this process.
//!
//! The subscriber and the exporter are process-wide and every service here runs in this process,
//! so spans are told apart by their `rpc.service`/`rpc.method` attributes, and the file holds a
//! single test.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use opentelemetry_proto::tonic::{
    collector::trace::v1::{
        ExportTraceServiceRequest, ExportTraceServiceResponse,
        trace_service_server::{TraceService, TraceServiceServer},
    },
    common::v1::any_value::Value,
    trace::v1::Span,
};
use support::{Backend, TestCluster};
use tokio::sync::mpsc;
use tributary_proto::{
    aggregator::v1 as aggregator_pb, collector::v1 as collector_pb, membership::v1 as membership_pb,
};
use tributary_runtime::telemetry::{TelemetryOptions, TraceExport};

const REGION: &str = "us-east-1";
const OWNER: &str = "111111111111";
const SOURCE: &str = "222222222222";
const AGGREGATOR_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const COLLECTOR_TRACE: &str = "0af7651916cd43dd8448eb211c80319c";
const CALLER_SPAN: &str = "00f067aa0ba902b7";

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

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn attribute<'a>(span: &'a Span, key: &str) -> Option<&'a str> {
    span.attributes
        .iter()
        .find(|attribute| attribute.key == key)
        .and_then(|attribute| attribute.value.as_ref())
        .and_then(|value| match &value.value {
            Some(Value::StringValue(text)) => Some(text.as_str()),
            _ => None,
        })
}

/// The one server span of `service`/`method` in `trace`.
fn rpc_span<'a>(spans: &'a [Span], trace: &str, service: &str, method: &str) -> &'a Span {
    let found: Vec<&Span> = spans
        .iter()
        .filter(|span| {
            span.name == "rpc"
                && hex(&span.trace_id) == trace
                && attribute(span, "rpc.service") == Some(service)
                && attribute(span, "rpc.method") == Some(method)
        })
        .collect();
    let summary: Vec<String> = spans
        .iter()
        .filter(|span| hex(&span.trace_id) == trace)
        .map(|span| {
            format!(
                "{}/{}",
                attribute(span, "rpc.service").unwrap_or("-"),
                attribute(span, "rpc.method").unwrap_or(&span.name)
            )
        })
        .collect();
    assert_eq!(
        found.len(),
        1,
        "one {service}/{method} span in trace {trace}; the trace has {summary:?}"
    );
    found[0]
}

/// Whether `ancestor` is `span`'s parent, grandparent, ... among the exported spans.
fn descends_from(spans: &[Span], span: &Span, ancestor: &Span) -> bool {
    let mut parent = span.parent_span_id.clone();
    while !parent.is_empty() {
        if parent == ancestor.span_id {
            return true;
        }
        parent = match spans.iter().find(|candidate| candidate.span_id == parent) {
            Some(found) => found.parent_span_id.clone(),
            None => return false,
        };
    }
    false
}

/// A request carrying a W3C trace context whose caller span is [`CALLER_SPAN`].
fn traced<T>(message: T, trace: &str) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request.metadata_mut().insert(
        "traceparent",
        format!("00-{trace}-{CALLER_SPAN}-01").parse().unwrap(),
    );
    request
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_trace_covers_a_request_and_the_membership_calls_it_causes() {
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
    let telemetry = tributary_runtime::telemetry::init_with(
        "tributary-test",
        TelemetryOptions {
            log_filter: Some("warn".into()),
            trace_export: TraceExport::Endpoint(format!("http://{otlp_address}")),
            ..TelemetryOptions::default()
        },
    )
    .unwrap();

    let cluster = TestCluster::builder(Backend::Sqlite)
        .collector(REGION)
        .start()
        .await;
    let owner_key = cluster.account_key(OWNER).await;
    cluster.ensure_account(SOURCE).await;
    cluster
        .securityhub(&owner_key)
        .enable_security_hub(membership_pb::EnableSecurityHubRequest {
            region: REGION.into(),
            ..Default::default()
        })
        .await
        .unwrap();

    // The aggregator checks the key with membership and declares the aggregator there.
    cluster
        .config_aggregators(&owner_key)
        .put_configuration_aggregator(traced(
            aggregator_pb::PutConfigurationAggregatorRequest {
                region: REGION.into(),
                configuration_aggregator_name: "traced".into(),
                account_aggregation_sources: vec![aggregator_pb::AccountAggregationSource {
                    account_ids: vec![SOURCE.into()],
                    all_aws_regions: false,
                    aws_regions: vec![REGION.into()],
                }],
                ..Default::default()
            },
            AGGREGATOR_TRACE,
        ))
        .await
        .unwrap();
    // The collector checks the key and asks membership whether the account's hub is enabled.
    cluster
        .findings(REGION, &owner_key)
        .describe_products(traced(
            collector_pb::DescribeProductsRequest::default(),
            COLLECTOR_TRACE,
        ))
        .await
        .unwrap();

    // Every span has ended once the services stop; shutting the exporter down flushes them.
    cluster.shutdown().await;
    tokio::task::spawn_blocking(move || telemetry.shutdown())
        .await
        .unwrap();
    let mut spans = Vec::new();
    while let Ok(export) = tokio::time::timeout(Duration::from_millis(200), exports_rx.recv()).await
    {
        let Some(export) = export else { break };
        for resource_spans in export.resource_spans {
            for scope_spans in resource_spans.scope_spans {
                spans.extend(scope_spans.spans);
            }
        }
    }

    let aggregator = rpc_span(
        &spans,
        AGGREGATOR_TRACE,
        "tributary.aggregator.v1.ConfigAggregatorService",
        "PutConfigurationAggregator",
    );
    assert_eq!(
        hex(&aggregator.parent_span_id),
        CALLER_SPAN,
        "the aggregator's span continues the caller's"
    );
    let authenticate = rpc_span(
        &spans,
        AGGREGATOR_TRACE,
        "tributary.membership.v1.AccessService",
        "Authenticate",
    );
    assert!(descends_from(&spans, authenticate, aggregator));
    let declare = rpc_span(
        &spans,
        AGGREGATOR_TRACE,
        "tributary.membership.v1.EntitlementService",
        "DeclareConfigAggregator",
    );
    assert!(
        descends_from(&spans, declare, aggregator),
        "membership's work for the aggregator is within the aggregator's span"
    );

    let collector = rpc_span(
        &spans,
        COLLECTOR_TRACE,
        "tributary.collector.v1.SecurityHubService",
        "DescribeProducts",
    );
    assert_eq!(hex(&collector.parent_span_id), CALLER_SPAN);
    let hub_status = rpc_span(
        &spans,
        COLLECTOR_TRACE,
        "tributary.membership.v1.AccessService",
        "DescribeHubStatus",
    );
    assert!(
        descends_from(&spans, hub_status, collector),
        "membership's work for the collector is within the collector's span"
    );
}
