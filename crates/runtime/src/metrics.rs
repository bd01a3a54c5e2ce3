//! Prometheus metrics: the process-wide recorder, the `/metrics` side port, and the tower layer that
//! gives every RPC a tracing span and a latency histogram.

use std::{
    sync::OnceLock,
    task::{Context, Poll},
    time::Instant,
};

use http_body_util::Full;
use hyper::body::Bytes;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::body::Body;
use tower::{Layer, Service};
use tracing::Instrument;

/// Latency buckets in seconds, from 0.5 ms to 10 s.
const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The process-wide Prometheus recorder, installed on first use. Services running in one process
/// (`tributary up`) share it and tell their series apart by the `service` label.
pub fn prometheus() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".to_string()), LATENCY_BUCKETS)
            .expect("latency buckets are a non-empty constant")
            .build_recorder();
        let handle = recorder.handle();
        // Another recorder may already be installed (tests); ours still renders what it records.
        let _ = metrics::set_global_recorder(recorder);
        handle
    })
}

/// Serves `GET /metrics` in the Prometheus text format until `shutdown` is cancelled.
pub async fn serve_metrics(listener: TcpListener, shutdown: CancellationToken) {
    let handle = prometheus();
    loop {
        let stream = tokio::select! {
            _ = shutdown.cancelled() => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(error) => {
                    tracing::warn!(error = %error, "metrics accept failed");
                    continue;
                }
            },
        };
        let service =
            hyper::service::service_fn(move |request: http::Request<hyper::body::Incoming>| {
                let response = if request.uri().path() == "/metrics" {
                    http::Response::builder()
                        .header("content-type", "text/plain; version=0.0.4")
                        .body(Full::new(Bytes::from(handle.render())))
                } else {
                    http::Response::builder()
                        .status(http::StatusCode::NOT_FOUND)
                        .body(Full::new(Bytes::from_static(b"not found; try /metrics\n")))
                };
                std::future::ready(response)
            });
        tokio::spawn(async move {
            let io = hyper_util::rt::TokioIo::new(stream);
            if let Err(error) = hyper::server::conn::http1::Builder::new()
                .serve_connection(io, service)
                .await
            {
                tracing::debug!(error = %error, "metrics connection ended with an error");
            }
        });
    }
}

/// Gives every RPC a span (continuing the caller's W3C trace) and records
/// `tributary_rpc_duration_seconds{service, rpc, code}`.
#[derive(Clone)]
pub struct ObservabilityLayer {
    service_label: &'static str,
    known_services: std::sync::Arc<[&'static str]>,
}

impl ObservabilityLayer {
    /// Labels series with the Tributary service name (`membership`, `collector`, ...). Calls to
    /// gRPC services outside `known_services` share the `rpc="unknown"` series, so a client
    /// probing random paths cannot grow the metric without bound.
    pub fn new(service_label: &'static str, known_services: &[&'static str]) -> Self {
        let _ = prometheus();
        Self {
            service_label,
            known_services: known_services.into(),
        }
    }
}

impl<S> Layer<S> for ObservabilityLayer {
    type Service = ObservabilityService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ObservabilityService {
            inner,
            service_label: self.service_label,
            known_services: self.known_services.clone(),
        }
    }
}

/// The service [`ObservabilityLayer`] wraps around the routes.
#[derive(Clone)]
pub struct ObservabilityService<S> {
    inner: S,
    service_label: &'static str,
    known_services: std::sync::Arc<[&'static str]>,
}

impl<S> Service<http::Request<Body>> for ObservabilityService<S>
where
    S: Service<http::Request<Body>, Response = http::Response<Body>> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<Self::Response, Self::Error>> + Send>,
    >;

    fn poll_ready(&mut self, context: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(context)
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let service_label = self.service_label;
        let path = request.uri().path().to_string();
        let (rpc_service, rpc_method) = path
            .trim_start_matches('/')
            .split_once('/')
            .map(|(service, method)| (service.to_string(), method.to_string()))
            .unwrap_or_else(|| (path.clone(), String::new()));
        let rpc_label = if self.known_services.contains(&rpc_service.as_str()) {
            format!("{rpc_service}/{rpc_method}")
        } else {
            "unknown".to_string()
        };
        let span = tracing::info_span!(
            "rpc",
            otel.kind = "server",
            rpc.system = "grpc",
            rpc.service = %rpc_service,
            rpc.method = %rpc_method,
            rpc.grpc.status_code = tracing::field::Empty,
        );
        crate::telemetry::continue_trace(&span, request.headers());
        Box::pin(
            async move {
                let started = Instant::now();
                let result = inner.call(request).await;
                // Errors are sent trailers-only, so their code is in the headers; a missing
                // grpc-status header means the call succeeded or is a stream still running.
                let code = match &result {
                    Ok(response) => response
                        .headers()
                        .get("grpc-status")
                        .and_then(|value| value.to_str().ok())
                        .unwrap_or("0")
                        .to_string(),
                    Err(_) => "transport".to_string(),
                };
                tracing::Span::current().record("rpc.grpc.status_code", code.as_str());
                metrics::histogram!(
                    "tributary_rpc_duration_seconds",
                    "service" => service_label,
                    "rpc" => rpc_label,
                    "code" => code,
                )
                .record(started.elapsed().as_secs_f64());
                result
            }
            .instrument(span),
        )
    }
}
